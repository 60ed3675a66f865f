#!/usr/bin/env bash
# t195: db commands stopped by SIGTERM or SIGINT (issue 9): exit 143 or 130,
# one error line naming the signal, the journal line says "interrupted", the
# task lock is free, no success is recorded, and nothing is left half done:
# the statement is cancelled on the server, parallel VACUUM starts no further
# table, a SQLite copy being written is removed, a multi-database run starts
# no further database, a migration file in progress is rolled back.
. "$(dirname "$0")/../lib/common.sh"
. "$ROOT/tests/lib/pg.sh"
pg_start || bail_out "PostgreSQL starts"
pg_kill_test_sessions
pg_make_sample_db t195 || bail_out "sample database t195"
pg_make_sample_db t195_b || bail_out "sample database t195_b"

# that DESC CMD...: ok when CMD succeeds.
that() {
	local desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}
# start_opsctl ARGS...: opsctl in the background in a session of its own,
# stdout into $OUT and stderr into $ERR; its pid in OPS_PID.
start_opsctl() {
	RUN_CMD="$*"
	setsid "$OPSCTL" "$@" >"$OUT" 2>"$ERR" </dev/null &
	OPS_PID=$!
}
# stop_opsctl SIG: send SIG and wait for the exit; status in RC, the
# seconds it took in STOP_SECS.
stop_opsctl() {
	local t0=$SECONDS
	kill -"$1" "$OPS_PID"
	wait "$OPS_PID"
	RC=$?
	STOP_SECS=$((SECONDS - t0))
}
q() { psql_q "$@"; }
no_opsctl_session() {	# opsctl holds no connection on the server
	[ "$(q "select count(*) from pg_stat_activity where application_name = 'opsctl'")" = 0 ]
}
waiting_on_lock() {	# waiting_on_lock N: N opsctl sessions wait on a lock
	[ "$(q "select count(*) from pg_stat_activity where application_name = 'opsctl'
		and wait_event_type = 'Lock'")" -ge "$1" ]
}
lock_free() { flock -n "$OPSCTL_STATE_DIR/locks/$1.lock" true; }
success_line() {
	grep "task=\"$1\"" "$OPSCTL_STATE_DIR/opsctl.prom" 2>/dev/null | grep last_success
}
# hold DB TABLES: a session that holds SHARE UPDATE EXCLUSIVE on TABLES
# (VACUUM and VACUUM FULL both wait for it) until bg_kill "$BG_PID".
hold() {
	bg env PGAPPNAME=opsctl-test-holder psql -X -d "$1" \
		-c "begin; lock table $2 in share update exclusive mode; select pg_sleep(600)"
	wait_for 10 holding || bail_out "a session holds the lock on $2"
}
holding() {
	[ "$(q "select count(*) from pg_locks l join pg_stat_activity a using (pid)
		where a.application_name = 'opsctl-test-holder' and l.granted
		and l.mode = 'ShareUpdateExclusiveLock'")" -ge 1 ]
}
filenode() { q -d t195 "select pg_relation_filenode('public.documents')"; }

# ---- SIGTERM during VACUUM FULL blocked on a lock ----
run "$OPSCTL" db vacuum -d t195
expect_rc 0 "a first db vacuum succeeds (a success series to keep)"
before=$(success_line db_vacuum)
that "opsctl.prom has a db_vacuum success line" [ -n "$before" ]
node=$(filenode)
sleep 1.1	# a success now would show as a new second
hold t195 documents
journal_mark
start_opsctl db vacuum --full --force -d t195
wait_for 15 waiting_on_lock 1 || not_ok "VACUUM FULL waits on the lock"
stop_opsctl TERM
expect_fail 143 "SIGTERM: exit 143, one error line naming SIGTERM" "interrupted by SIGTERM"
that "it stopped at once (${STOP_SECS}s)" [ "$STOP_SECS" -le 5 ]
expect_journal_added 1 "SIGTERM: one journal line"
expect_journal_last 'j["command"] == "db vacuum" and j["status"] == "interrupted"' \
	"journal: db vacuum interrupted"
that "the db_vacuum lock is free" lock_free db_vacuum
after=$(success_line db_vacuum)
that "opsctl_last_success for db_vacuum is unchanged" [ "$after" = "$before" ]
that "no opsctl session is left on the server" no_opsctl_session
that "documents was not rewritten" [ "$(filenode)" = "$node" ]

# ---- SIGINT: the same, 130 ----
journal_mark
start_opsctl db vacuum --full --force -d t195
wait_for 15 waiting_on_lock 1 || not_ok "VACUUM FULL waits on the lock again"
stop_opsctl INT
expect_fail 130 "SIGINT: exit 130, one error line naming SIGINT" "interrupted by SIGINT"
expect_journal_last 'j["status"] == "interrupted"' "journal: interrupted"
that "SIGINT: the db_vacuum lock is free" lock_free db_vacuum

# ---- a two-database db maintain interrupted in the first ----
pg_log_mark
start_opsctl db maintain -d t195,t195_b
wait_for 15 waiting_on_lock 1 || not_ok "db maintain waits on the lock in t195"
stop_opsctl TERM
expect_fail 143 "db maintain over two databases: exit 143, one line" "interrupted by SIGTERM"
in_db() { pg_statements opsctl | awk -F'\t' -v db="$1" '$3 == db { print $4 }'; }
n=$(in_db t195_b | wc -l)
that "the second database was never started ($n statements in t195_b)" [ "$n" -eq 0 ]
that "the first database got its VACUUM" grep -qi vacuum <<<"$(in_db t195)"
that "the db_maintain lock is free" lock_free db_maintain
bg_kill "$BG_PID"

# ---- VACUUM -j: no table starts after the signal, the slots are waited for ----
q "create database t195_j" >/dev/null
psql -XAtq -v ON_ERROR_STOP=1 -d t195_j >/dev/null <<'SQL'
create table a1 as select g as id, md5(g::text) as v from generate_series(1, 40000) g;
create table a2 as select g as id, md5(g::text) as v from generate_series(1, 30000) g;
create table a3 as select g as id, md5(g::text) as v from generate_series(1, 20000) g;
create table a4 as select g as id, md5(g::text) as v from generate_series(1, 10000) g;
create table a5 as select g as id from generate_series(1, 100) g;
vacuum analyze;
SQL
hold t195_j "a1, a2"
pg_log_mark
start_opsctl --output json db vacuum -j 2 -d t195_j
wait_for 15 waiting_on_lock 2 || not_ok "-j 2: both connections wait on the locked tables"
stop_opsctl TERM
expect_rc 143 "-j 2: exit 143"
started=$(opsctl_sql | grep -ciE '^vacuum.*(a3|a4|a5)')
that "-j 2: no further table was started after the signal ($started)" [ "$started" -eq 0 ]
expect_json_true 'd["status"] == "failed"' "-j 2: JSON says the run failed"
tables_with() {	# the JSON's tables with status $1, without their schema
	echo "sorted(t['table'].split('.')[-1] for t in db(0)['tables'] if t['status'] == '$1')"
}
expect_json_true "$(tables_with interrupted) == ['a1', 'a2']" \
	"-j 2: the two running tables are 'interrupted'"
expect_json_true "$(tables_with skipped) == ['a3', 'a4', 'a5']" \
	"-j 2: the three others are 'skipped'"
that "-j 2: both connections were closed" no_opsctl_session
bg_kill "$BG_PID"

# ---- SQLite db maintain interrupted while its copy is written ----
sqlite3 "$T/big.db" "create table content (id integer primary key, body blob);
	with recursive c(i) as (select 1 union all select i + 1 from c where i < 20000)
	insert into content (body) select randomblob(4000) from c;" ||
	bail_out "a large SQLite file"
mkdir -p "$T/copies"
printf '[db]\nbackup_dir = %s\n' "$T/copies" >"$T/copies.conf"
journal_mark
# Started from the watcher itself, so that the watcher is ready before the
# copy begins; SIGTERM as soon as the copy's temporary file appears.
RUN_CMD="db maintain -d sqlite:$T/big.db"
seen=$(python3 - "$T/copies" "$OUT" "$ERR" "$OPSCTL" --config "$T/copies.conf" db maintain \
	-d "sqlite:$T/big.db" <<'PY'
import os, signal, subprocess, sys, time
d, out, err, cmd = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
with open(out, "w") as o, open(err, "w") as e:
    p = subprocess.Popen(cmd, stdout=o, stderr=e, stdin=subprocess.DEVNULL,
                         start_new_session=True)
    seen = False
    end = time.time() + 60
    while p.poll() is None and time.time() < end:
        if any(".tmp." in n for n in os.listdir(d)):
            p.send_signal(signal.SIGTERM)
            seen = True
            break
        time.sleep(0.001)
    rc = p.wait()
print("seen" if seen else "missed", rc)
PY
)
RC=${seen#* }
that "SQLite: the signal came while the copy was in its temporary file" [ "${seen% *}" = seen ]
expect_fail 143 "SQLite db maintain: exit 143" "interrupted by SIGTERM"
left=$(ls -A "$T/copies")
that "SQLite: no copy, whole or half, is left in db.backup_dir ($left)" [ -z "$left" ]
expect_journal_last 'j["command"] == "db maintain" and j["status"] == "interrupted"' \
	"SQLite: journal interrupted"
whole=$(sqlite3 "$T/big.db" 'pragma integrity_check; select count(*) from content' | tr '\n' ' ')
that "SQLite: the database is whole ($whole)" [ "$whole" = "ok 20000 " ]
that "SQLite: the db_maintain lock is free" lock_free db_maintain

# ---- db migrate interrupted in the middle of a file ----
mkdir -p "$T/mig/v1"
printf 'create table public.mig_first (x int);\n' >"$T/mig/v1/001_first.sql"
printf '%s\n' 'create table public.mig_slow (x int);' 'insert into public.mig_slow values (1);' \
	'select pg_sleep(600);' >"$T/mig/v1/002_slow.sql"
sleeping() {
	[ "$(q "select count(*) from pg_stat_activity where application_name = 'opsctl'
		and query like '%pg_sleep(600)%' and state = 'active'")" -ge 1 ]
}
recorded() {
	q -d t195 "select string_agg(filename, ',' order by filename) from opsctl_schema_migrations"
}
file_status() { echo "find(db(0)['files'], 'file', '$1')['status'] == '$2'"; }
pg_log_mark
journal_mark
start_opsctl --output json db migrate 1 --dir "$T/mig" -d t195
wait_for 15 sleeping || not_ok "db migrate runs 002_slow.sql"
stop_opsctl TERM
expect_rc 143 "db migrate: exit 143"
expect_err_contains "interrupted by SIGTERM" "db migrate: the error names SIGTERM"
expect_json_true "$(file_status 001_first.sql applied)" "the file before is applied"
expect_json_true "$(file_status 002_slow.sql 'rolled back')" "the file in progress is 'rolled back'"
that "what 002_slow.sql did is rolled back" \
	[ "$(q -d t195 "select to_regclass('public.mig_slow') is null")" = t ]
that "the server received ROLLBACK" grep -qx ROLLBACK <<<"$(opsctl_sql)"
that "only 001_first.sql is recorded" [ "$(recorded)" = 001_first.sql ]
expect_journal_last 'j["command"] == "db migrate" and j["status"] == "interrupted"' \
	"db migrate: journal interrupted"
# The advisory lock went with the session: the next run goes ahead.
printf 'create table public.mig_slow (x int);\n' >"$T/mig/v1/002_slow.sql"
run "$OPSCTL" db migrate 1 --dir "$T/mig" -d t195
expect_rc 0 "the next db migrate applies the file"
that "both files are recorded now" [ "$(recorded)" = 001_first.sql,002_slow.sql ]

done_testing
