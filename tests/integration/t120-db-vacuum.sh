#!/usr/bin/env bash
# t120: `db vacuum`: VACUUM (ANALYZE) as the server logged it, --no-analyze,
# --table, -j N, --dry-run, and VACUUM FULL only inside the maintenance
# window unless --force (guide 000 sections 1.3 and 2.2).
. "$(dirname "$0")/../lib/common.sh"
. "$ROOT/tests/lib/pg.sh"
pg_start || bail_out "PostgreSQL starts"
pg_make_sample_db t120 || bail_out "sample database t120"
printf '[window]\nprod = never\n' >"$T/never.conf"

vacuumed() {	# vacuumed DB TABLE: last_vacuum is set
	[ "$(psql_q -d "$1" "select last_vacuum is not null from pg_stat_user_tables where relname = '$2'")" = t ]
}
full_rewritten() {	# the relfilenode changed since the saved one
	[ "$(psql_q -d t120 "select pg_relation_filenode('public.documents')")" != "$1" ]
}

journal_mark
pg_log_mark
run "$OPSCTL" db vacuum -d t120
expect_rc 0 "db vacuum exits 0"
sql=$(opsctl_sql)
if grep -qiE '^vacuum' <<<"$sql"; then ok "the server received VACUUM"; else not_ok "the server received VACUUM"; diag "$sql"; fi
if grep -qiE '^vacuum.*analyze' <<<"$sql"; then ok "VACUUM with ANALYZE by default"; else not_ok "VACUUM with ANALYZE by default"; diag "$sql"; fi
if grep -qiE '^vacuum.*full' <<<"$sql"; then not_ok "no VACUUM FULL without --full"; diag "$sql"; else ok "no VACUUM FULL without --full"; fi
missing=""
for t in documents document_chunks queries; do vacuumed t120 "$t" || missing="$missing $t"; done
if [ -z "$missing" ]; then ok "every table vacuumed (pg_stat_user_tables.last_vacuum)"; else not_ok "every table vacuumed (not:$missing)"; fi
expect_journal_added 1 "db vacuum writes one journal line"
expect_journal_last 'j["command"] == "db vacuum" and j["status"] == "ok"' "journal: db vacuum ok"
expect_file_contains "$OPSCTL_STATE_DIR/opsctl.prom" 'opsctl_last_success_timestamp_seconds{task="db_vacuum",target="t120"}' "opsctl.prom: db_vacuum success series"

psql_q -d t120 "select pg_stat_reset()" >/dev/null
pg_log_mark
run "$OPSCTL" db vacuum --no-analyze --table queries -d t120
expect_rc 0 "db vacuum --no-analyze --table queries exits 0"
sql=$(opsctl_sql)
if grep -qiE '^vacuum.*queries' <<<"$sql" && ! grep -qiE '^vacuum.*analyze|^analyze' <<<"$sql"; then ok "--no-analyze: plain VACUUM of queries"; else not_ok "--no-analyze: plain VACUUM of queries"; diag "$sql"; fi
if vacuumed t120 queries && ! vacuumed t120 documents; then ok "--table vacuums only that table"; else not_ok "--table vacuums only that table"; fi

run "$OPSCTL" db vacuum --table documents,queries --table document_chunks -d t120
expect_rc 0 "--table repeated and comma-separated"

run "$OPSCTL" db vacuum --table public.documents -d t120
expect_rc 0 "--table schema.table"

run "$OPSCTL" db vacuum --table nope_table -d t120
expect_fail 1 "--table that does not exist: exit 1" "table 'nope_table' does not exist"

# --dry-run
psql_q -d t120 "select pg_stat_reset()" >/dev/null
journal_mark
pg_log_mark
run "$OPSCTL" db vacuum --dry-run -d t120
expect_rc 0 "--dry-run exits 0"
sql=$(opsctl_sql)
if grep -qiE '^vacuum' <<<"$sql"; then not_ok "--dry-run sends no VACUUM"; diag "$sql"; else ok "--dry-run sends no VACUUM"; fi
expect_out_contains "vacuum" "--dry-run says what it would do"
expect_journal_added 0 "--dry-run writes no journal line"

# VACUUM FULL and the window.
node=$(psql_q -d t120 "select pg_relation_filenode('public.documents')")
pg_log_mark
run "$OPSCTL" --config "$T/never.conf" --env prod db vacuum --full --table documents -d t120
expect_fail 1 "--full outside the prod window: exit 1" "outside the prod maintenance window"
sql=$(opsctl_sql)
if grep -qiE '^vacuum' <<<"$sql"; then not_ok "outside the window no VACUUM is sent"; diag "$sql"; else ok "outside the window no VACUUM is sent"; fi
if full_rewritten "$node"; then not_ok "outside the window documents is not rewritten"; else ok "outside the window documents is not rewritten"; fi

# --dry-run outside the window says the real run would be refused; --yes
# answers the question but does not open the window.
run "$OPSCTL" --config "$T/never.conf" --env prod --output json db vacuum --full --dry-run --table documents -d t120
expect_rc 0 "--full --dry-run outside the window: exit 0 (nothing was run)"
expect_json_true 'd["databases"][0]["window"] == "closed" and "outside the prod maintenance window" in d["databases"][0]["would_be_refused"]' "--dry-run: the window is closed, the real run would be refused"
expect_err_contains "the real run would be refused" "--dry-run: a warning line says so"
run "$OPSCTL" --config "$T/never.conf" --env prod db vacuum --full --yes --table documents -d t120
expect_fail 1 "--full --yes outside the window: still refused (exit 1)" "outside the prod maintenance window"
if full_rewritten "$node"; then not_ok "--yes: documents is not rewritten"; else ok "--yes: documents is not rewritten"; fi
# The question names the database and the table (answered by a pty).
if command -v script >/dev/null; then
	journal_mark
	cp "$OPSCTL_STATE_DIR/opsctl.prom" "$T/prom.before" 2>/dev/null || : >"$T/prom.before"
	printf 'n\n' | script -qec "$OPSCTL --env dev db vacuum --full --table documents -d t120" /dev/null >"$T/pty.out" 2>&1
	rc=$?
	if [ "$rc" -eq 1 ] && grep -q "VACUUM FULL cancelled; nothing was changed" "$T/pty.out"; then ok "answered no: exit 1, nothing was changed"; else not_ok "answered no: exit 1, nothing was changed (exit $rc)"; sed 's/^/#   /' "$T/pty.out"; fi
	expect_journal_added 0 "answered no: not recorded as a failed run (no journal line)"
	if cmp -s "$T/prom.before" "$OPSCTL_STATE_DIR/opsctl.prom" || { [ ! -s "$T/prom.before" ] && [ ! -e "$OPSCTL_STATE_DIR/opsctl.prom" ]; }; then ok "answered no: the textfile is untouched"; else not_ok "answered no: the textfile is untouched"; diff "$T/prom.before" "$OPSCTL_STATE_DIR/opsctl.prom" | sed 's/^/#   /'; fi
	if grep -q "Run VACUUM FULL on t120 (public.documents)?" "$T/pty.out"; then ok "the question names the database and table"; else not_ok "the question names the database and table"; sed 's/^/#   /' "$T/pty.out"; fi
	if full_rewritten "$node"; then not_ok "answered no: documents is not rewritten"; else ok "answered no: documents is not rewritten"; fi
else
	not_ok "script(1) is installed (util-linux)"
fi

pg_log_mark
run "$OPSCTL" --config "$T/never.conf" --env prod db vacuum --full --force --table documents -d t120
expect_rc 0 "--full --force outside the window exits 0"
sql=$(opsctl_sql)
if grep -qiE '^vacuum.*full' <<<"$sql"; then ok "--force: the server received VACUUM (FULL ...)"; else not_ok "--force: the server received VACUUM (FULL ...)"; diag "$sql"; fi
if full_rewritten "$node"; then ok "--force: documents was rewritten (new relfilenode)"; else not_ok "--force: documents was rewritten (new relfilenode)"; fi

node=$(psql_q -d t120 "select pg_relation_filenode('public.documents')")
run "$OPSCTL" --config "$T/never.conf" --env prod db vacuum --full -f --table documents -d t120
expect_rc 0 "-f is --force"

node=$(psql_q -d t120 "select pg_relation_filenode('public.documents')")
run "$OPSCTL" --config "$T/never.conf" --env dev db vacuum --full --table documents -d t120
expect_rc 0 "--env dev (window any): --full without --force exits 0"
if full_rewritten "$node"; then ok "--env dev: documents was rewritten"; else not_ok "--env dev: documents was rewritten"; fi

# db.lock_timeout: a VACUUM FULL blocked by another session gives up.
bg bash -c "(echo 'begin; lock table documents in access share mode; select 1;'; sleep 60) | PGAPPNAME=opsctl-test-reader psql -X -d t120"
reading() { [ "$(psql_q -d t120 "select count(*) from pg_locks l join pg_stat_activity a using (pid) where a.application_name = 'opsctl-test-reader' and l.granted and l.relation = 'public.documents'::regclass")" -ge 1 ]; }
wait_for 10 reading || not_ok "a reader holds a lock on documents"
printf '[db]\nlock_timeout = 1s\n' >"$T/lt.conf"
start=$(date +%s)
run "$OPSCTL" --config "$T/lt.conf" --env dev db vacuum --full --table documents -d t120
elapsed=$(($(date +%s) - start))
expect_fail 1 "VACUUM FULL blocked longer than db.lock_timeout: exit 1" "lock timeout"
if [ "$elapsed" -le 10 ]; then ok "it gave up after about a second (${elapsed}s)"; else not_ok "it gave up after about a second (${elapsed}s)"; fi
pg_kill_test_sessions

# --skip-locked: a table another session holds is skipped and named, not waited for.
bg bash -c "(echo 'begin; lock table documents in exclusive mode; select 1;'; sleep 60) | PGAPPNAME=opsctl-test-locker psql -X -d t120"
locking() { [ "$(psql_q -d t120 "select count(*) from pg_locks l join pg_stat_activity a using (pid) where a.application_name = 'opsctl-test-locker' and l.granted and l.mode = 'ExclusiveLock' and l.relation = 'public.documents'::regclass")" -ge 1 ]; }
wait_for 10 locking || not_ok "a session holds an exclusive lock on documents"
start=$(date +%s)
run "$OPSCTL" --output json db vacuum --skip-locked --table documents --table queries -d t120
elapsed=$(($(date +%s) - start))
expect_rc 0 "--skip-locked with documents locked: exit 0"
expect_json_true 'd["databases"][0]["skip_locked"] is True and len(d["databases"][0]["skipped_locked"]) == 1 and "documents" in d["databases"][0]["skipped_locked"][0]' "the locked table is named in skipped_locked"
expect_err_contains "VACUUM skipped 1 locked table (--skip-locked)" "a warning line names it"
if [ "$elapsed" -le 10 ]; then ok "it did not wait for the lock (${elapsed}s)"; else not_ok "it did not wait for the lock (${elapsed}s)"; fi
pg_kill_test_sessions

# -j: several tables at once on several connections.
psql_q "create database t120_j" >/dev/null
psql -XAtq -v ON_ERROR_STOP=1 -d t120_j >/dev/null <<'SQL'
create table a1 as select g as id, md5(g::text) as v from generate_series(1, 20000) g;
create table a2 as select g as id, md5(g::text) as v from generate_series(1, 15000) g;
create table a3 as select g as id, md5(g::text) as v from generate_series(1, 10000) g;
create table a4 as select g as id, md5(g::text) as v from generate_series(1, 5000) g;
create table a5 as select g as id from generate_series(1, 100) g;
delete from a1 where id % 2 = 0;
SQL
pg_log_mark
run "$OPSCTL" db vacuum -j 2 -d t120_j
expect_rc 0 "db vacuum -j 2 exits 0"
missing=""
for t in a1 a2 a3 a4 a5; do vacuumed t120_j "$t" || missing="$missing $t"; done
if [ -z "$missing" ]; then ok "-j 2: every table vacuumed"; else not_ok "-j 2: every table vacuumed (not:$missing)"; fi
pids=$(pg_statements opsctl | awk -F'\t' 'tolower($4) ~ /^vacuum/ { print $1 }' | sort -u | wc -l)
if [ "$pids" -ge 2 ]; then ok "-j 2: VACUUMs came from 2 sessions"; else not_ok "-j 2: VACUUMs came from 2 sessions ($pids)"; fi

# SQLite: VACUUM rebuilds the file.
sqlite_make_sample_db "$T/kh.db"
run "$OPSCTL" db vacuum -d "sqlite:$T/kh.db"
expect_rc 0 "db vacuum on SQLite exits 0"
if [ "$(sqlite3 "$T/kh.db" 'pragma freelist_count')" = 0 ]; then ok "SQLite: no free pages after VACUUM"; else not_ok "SQLite: no free pages after VACUUM"; fi

done_testing
