#!/usr/bin/env bash
# t110: `db maintain` on PostgreSQL (guide 000 db-maintenance.sh, guide 004's
# several databases): VACUUM, ANALYZE, REINDEX as the server logged them,
# -t subsets, -d a,b, defaults from config/env, journal and metrics.
. "$(dirname "$0")/../lib/common.sh"
. "$ROOT/tests/lib/pg.sh"
pg_start || bail_out "PostgreSQL starts"
pg_make_sample_db t110_a || bail_out "sample database t110_a"
pg_make_sample_db t110_b || bail_out "sample database t110_b"

stat_nulls() {	# stat_nulls DB COLUMN: tables of the sample whose COLUMN is null
	psql_q -d "$1" "select count(*) from pg_stat_user_tables where relname in ('documents','document_chunks','queries') and $2 is null"
}

journal_mark
pg_log_mark
run "$OPSCTL" db maintain -d t110_a
expect_rc 0 "db maintain -d t110_a exits 0"
sql=$(opsctl_sql)
if grep -qiE '^vacuum' <<<"$sql"; then ok "the server received VACUUM"; else not_ok "the server received VACUUM"; diag "$sql"; fi
if grep -qiE '^analyze|^vacuum \(?.*analyze' <<<"$sql"; then ok "the server received ANALYZE"; else not_ok "the server received ANALYZE"; diag "$sql"; fi
for t in documents document_chunks queries; do
	if grep -qiE "^reindex .*table .*\"?$t\"?" <<<"$sql"; then ok "the server received REINDEX TABLE $t"; else not_ok "the server received REINDEX TABLE $t"; diag "$sql"; fi
done
n=$(stat_nulls t110_a last_vacuum)
if [ "$n" = 0 ]; then ok "pg_stat_user_tables: every sample table vacuumed"; else not_ok "pg_stat_user_tables: every sample table vacuumed ($n not)"; fi
n=$(stat_nulls t110_a last_analyze)
if [ "$n" = 0 ]; then ok "pg_stat_user_tables: every sample table analyzed"; else not_ok "pg_stat_user_tables: every sample table analyzed ($n not)"; fi
dead=$(psql_q -d t110_a "select coalesce(sum(n_dead_tup), 0) from pg_stat_user_tables")
if [ "$dead" = 0 ]; then ok "no dead tuples left after VACUUM"; else not_ok "no dead tuples left after VACUUM ($dead)"; fi
for t in vacuum analyze reindex; do
	expect_out_contains "$t" "the text output names the $t task"
done

expect_journal_added 1 "one journal line"
expect_journal_last 'j["command"] == "db maintain" and j["status"] == "ok" and j["exit"] == 0 and j["duration_seconds"] >= 0' "journal: db maintain ok exit 0 with a duration"
expect_journal_last '"t110_a" in j["args"]' "journal: the arguments"
prom="$OPSCTL_STATE_DIR/opsctl.prom"
for series in opsctl_last_run_timestamp_seconds opsctl_last_success_timestamp_seconds opsctl_last_duration_seconds; do
	expect_file_contains "$prom" "$series{task=\"db_maintain\",target=\"t110_a\"}" "opsctl.prom has $series{task=\"db_maintain\",target=\"t110_a\"}"
done
ts=$(sed -n 's/^opsctl_last_success_timestamp_seconds{task="db_maintain",target="t110_a"} \([0-9.e+]*\).*/\1/p' "$prom")
if python3 -c "import sys,time; sys.exit(0 if abs(time.time() - float('$ts')) < 120 else 1)" 2>/dev/null; then
	ok "last success timestamp is now"
else
	not_ok "last success timestamp is now ($ts)"
fi
if command -v promtool >/dev/null; then
	if lint=$(promtool check metrics <"$prom" 2>&1); then ok "promtool check metrics accepts opsctl.prom"; else not_ok "promtool check metrics accepts opsctl.prom"; diag "$lint"; fi
else
	skip "promtool check metrics" "promtool not installed"
fi

# -t subsets: only what was asked for.
pg_log_mark
run "$OPSCTL" db maintain -t analyze -d t110_a
expect_rc 0 "db maintain -t analyze exits 0"
sql=$(opsctl_sql)
if grep -qiE '^analyze' <<<"$sql" && ! grep -qiE '^(vacuum|reindex)' <<<"$sql"; then ok "-t analyze runs ANALYZE and no VACUUM or REINDEX"; else not_ok "-t analyze runs ANALYZE and no VACUUM or REINDEX"; diag "$sql"; fi

pg_log_mark
run "$OPSCTL" db maintain --tasks vacuum,reindex -d t110_a
expect_rc 0 "db maintain --tasks vacuum,reindex exits 0"
sql=$(opsctl_sql)
if grep -qiE '^vacuum' <<<"$sql" && grep -qiE '^reindex' <<<"$sql"; then ok "--tasks vacuum,reindex runs both"; else not_ok "--tasks vacuum,reindex runs both"; diag "$sql"; fi

# Several databases, guide 004 style.
journal_mark
run "$OPSCTL" --output json db maintain -d t110_a,t110_b
expect_rc 0 "db maintain -d t110_a,t110_b exits 0"
expect_json_true '[x["database"] for x in d["databases"]] == ["t110_a", "t110_b"]' "JSON lists both databases in order"
expect_json_true 'all(x["engine"] == "postgresql" and x["status"] == "ok" for x in d["databases"])' "both postgresql, both ok"
n=$(stat_nulls t110_b last_vacuum)
if [ "$n" = 0 ]; then ok "the second database was vacuumed"; else not_ok "the second database was vacuumed"; fi
expect_journal_added 1 "several databases: still one journal line"

# Defaults: db.databases from the file, DB_NAME from the environment.
printf '[db]\ndatabases = t110_b, t110_a\n' >"$T/list.conf"
run env -u PGDATABASE "$OPSCTL" --config "$T/list.conf" --output json db maintain -t analyze
expect_json_true '[x["database"] for x in d["databases"]] == ["t110_b", "t110_a"]' "db.databases gives the default databases in order"
run env -u PGDATABASE DB_NAME=t110_b "$OPSCTL" --output json db maintain -t analyze
expect_json_true '[x["database"] for x in d["databases"]] == ["t110_b"]' "DB_NAME gives the default database"

# One database failing: the other still maintained, exit 1, journal failed.
psql_q -d t110_a "select pg_stat_reset()" >/dev/null
journal_mark
run "$OPSCTL" db maintain -t vacuum -d nope_t110,t110_a
expect_rc 1 "a missing database among several: exit 1"
expect_err_contains "nope_t110" "the error names the missing database"
n=$(stat_nulls t110_a last_vacuum)
if [ "$n" = 0 ]; then ok "the run went on to the next database"; else not_ok "the run went on to the next database"; fi
expect_journal_last 'j["status"] == "failed" and j["exit"] == 1' "journal: status failed, exit 1"
expect_file_contains "$prom" 'opsctl_last_exit_status{task="db_maintain",target="nope_t110,t110_a"} 1' "opsctl.prom: last exit status 1"

# A URI with a password: the password never shows.
run "$OPSCTL" db maintain -t analyze -d "postgresql://postgres:hunter2secret@127.0.0.1:$PGPORT/t110_a"
expect_rc 0 "a postgresql:// URI target works"
if grep -rq hunter2secret "$OPSCTL_STATE_DIR" "$OUT" "$ERR"; then not_ok "the URI's password appears in no output, journal or state file"; grep -r hunter2secret "$OPSCTL_STATE_DIR" "$OUT" "$ERR" | head -3 | sed 's/^/#     /'; else ok "the URI's password appears in no output, journal or state file"; fi

# Tasks never overwrite each other's series; every journal line is JSON.
run "$OPSCTL" db vacuum --table documents -d t110_a
expect_rc 0 "db vacuum after db maintain"
if grep -q 'opsctl_last_success_timestamp_seconds{task="db_maintain",target="t110_a"}' "$prom" &&
	grep -q 'opsctl_last_success_timestamp_seconds{task="db_vacuum",target="t110_a"}' "$prom"; then
	ok "opsctl.prom keeps db_maintain's series beside db_vacuum's"
else
	not_ok "opsctl.prom keeps db_maintain's series beside db_vacuum's"; sed 's/^/#     /' "$prom"
fi
if python3 -c '
import json, sys
for line in open(sys.argv[1]):
    json.loads(line)
' "$OPSCTL_STATE_DIR/journal.jsonl" 2>/dev/null; then ok "every journal line is one JSON object"; else not_ok "every journal line is one JSON object"; fi
run "$OPSCTL" --output json db maintain -t analyze -d nope_t110,t110_a
expect_json_true 'd["status"] == "failed" and [x["status"] for x in d["databases"]] == ["failed", "ok"]' "JSON: overall failed, per-database failed then ok"
expect_json_true '"does not exist" in db(0)["error"]' "JSON: the failed database carries its error"
run "$OPSCTL" db maintain -t analyze -d nope_t110,t110_a
if [ "$(tail -n 1 "$OUT")" = "2 databases: 1 ok, 1 failed" ]; then ok "text: a summary line ends a run over several databases"; else not_ok "text: a summary line ends a run over several databases"; diag_run; fi
expect_file_contains "$prom" 'opsctl_databases_failed{task="db_maintain",target="nope_t110,t110_a"} 1' "textfile: the databases that failed, a gauge to alert on"
expect_file_contains "$prom" 'opsctl_databases{task="db_maintain",target="nope_t110,t110_a"} 2' "textfile: the databases the run worked on"

# -v: the server's own progress messages.
run "$OPSCTL" db maintain -v -t vacuum -d t110_a
expect_rc 0 "db maintain -v exits 0"
if grep -qi "vacuuming" "$OUT" "$ERR"; then ok "-v shows the server's vacuuming messages"; else not_ok "-v shows the server's vacuuming messages"; diag_run; fi
# Text: streamed to stderr as the server sends them (as vacuumdb does), not
# held back for the report; JSON: in the report.
if grep -qi "vacuuming" "$ERR" && ! grep -qi "vacuuming" "$OUT"; then ok "-v in text: the messages stream on stderr"; else not_ok "-v in text: the messages stream on stderr"; diag_run; fi
run "$OPSCTL" --output json db vacuum -v -d t110_a
expect_json_true 'any("vacuuming" in m.lower() for m in db(0)["messages"])' "-v in JSON: the messages are in the report"

done_testing
