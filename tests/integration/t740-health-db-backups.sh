#!/usr/bin/env bash
# t740: opsctl health's db and backups components against a PostgreSQL 15
# cluster of this test's own (archive_mode needs a restart, and the server
# is stopped at the end) and a SQLite database: db OK, WARNING (a threshold
# forced), UNKNOWN (a check that cannot be made), --full bloat, CRITICAL
# (server stopped); backups none, fresh, old (the manifest's time moved
# back and resealed, as the catalog reads it), and the WAL archiver
# (archive_command = false, pg_switch_wal()): remembered on the first run,
# stuck CRITICAL, new failures WARNING, then OK.
. "$(dirname "$0")/../lib/common.sh"
. "$ROOT/tests/lib/pg.sh"
MF="$ROOT/tests/lib/manifest.py"
# Never the runner's shared cluster: this one is reconfigured and stopped.
unset OPSCTL_TEST_PG_STARTED
pg_start || bail_out "PostgreSQL starts"
pg_make_sample_db t740 || bail_out "sample database t740"
sqlite_make_sample_db "$T/kh.db" || bail_out "sample SQLite database"
psql_q -d t740 "vacuum analyze" >/dev/null
export OPSCTL_ENV=dev

cat >"$T/opsctl.conf" <<EOF
[db]
databases = t740,$T/kh.db
[backup]
dir = $T/store
EOF
export OPSCTL_CONFIG="$T/opsctl.conf"
# conf FILE LINE...: opsctl.conf with these [health] lines added.
conf() {
	local f=$1
	shift
	{ cat "$OPSCTL_CONFIG"; echo "[health]"; printf '%s\n' "$@"; } >"$f"
}
first() { head -n 1 "$OUT"; }
perf_ok() {
	first | python3 -c '
import re, sys
line = sys.stdin.read().rstrip("\n")
if " | " not in line: sys.exit(1)
item = re.compile(r"^\x27[a-z0-9_.]+\x27=-?[0-9.]+(s|%|B|c)?(;(-?[0-9.]+:?)?){0,4}$")
sys.exit(0 if all(item.match(i) for i in line.split(" | ", 1)[1].split(" ")) else 1)'
}

# ---- db ----
run "$OPSCTL" health -c db
expect_rc 0 "db: both databases healthy: exit 0"
first | grep -q "^OPSCTL HEALTH OK - "
check $? "first line: OPSCTL HEALTH OK"
first | grep -q "'db_t740_connections'=[0-9.]*%;80;95;;" && first | grep -q "'db_kh.db_free_pages'=[0-9.]*%;20;"
check $? "perfdata: db health's checks, labelled db_DATABASE_CHECK, with their thresholds"
perf_ok
check $? "perfdata: every item well formed"
run "$OPSCTL" --output json health -c db
expect_json_true 'len(d["components"][0]["databases"]) == 2 and d["components"][0]["databases"][0]["health"] == "ok"' "JSON: each database's db health report"

conf warn.conf "connections_pct = 1"
run "$OPSCTL" --config warn.conf health -c db
expect_rc 1 "db: health.connections_pct = 1 forces WARNING: exit 1"
first | grep -q "^OPSCTL HEALTH WARNING - db: database 't740' is degraded: connections (warning)"
check $? "the summary names the database and the check"

# Dead tuples in the largest table (autovacuum is off in the test cluster).
psql_q -d t740 "update document_chunks set chunk_index = chunk_index" >/dev/null
conf bloat.conf "dead_tuples_pct = 1"
run "$OPSCTL" --config bloat.conf health -c db
expect_rc 1 "dead tuples above 1%: WARNING"
expect_out_not_contains "largest tables" "without --full no bloat check"
run "$OPSCTL" --config bloat.conf health -c db --full
expect_rc 1 "--full: bloat WARNING"
expect_out_contains "largest tables have more than 1% dead tuples" "--full names the bloated large tables"
first | grep -q "'db_t740_bloat_pct'=[0-9.]*%;1;;0;100"
check $? "--full: perfdata db_t740_bloat_pct"

cat >"$T/nosuch.conf" <<EOF
[db]
databases = nosuch_t740
EOF
run "$OPSCTL" --config "$T/nosuch.conf" health -c db
expect_rc 3 "db: a check that cannot be made (no such database): UNKNOWN, exit 3"
first | grep -q "^OPSCTL HEALTH UNKNOWN - db: cannot check database 'nosuch_t740': database 'nosuch_t740' does not exist"
check $? "UNKNOWN names the database and why"

# ---- backups: none, fresh, old ----
run "$OPSCTL" health -c backups
expect_rc 2 "backups: none at all: CRITICAL"
expect_out_contains "no complete backup in" "CRITICAL says there is no backup"
run "$OPSCTL" backup --type full
expect_rc 0 "opsctl backup --type full"
run "$OPSCTL" health -c backups
expect_rc 0 "backups: a fresh backup: OK"
first | grep -q "'backups_age'=[0-9.]*s;93600;180000;0;"
check $? "perfdata: 'backups_age'=Ns;W;C;0"
first | grep -q "'backups_wal_failures'=0;0;"
check $? "perfdata: 'backups_wal_failures'=0"
perf_ok
check $? "perfdata well formed"
# The catalog reads the manifest's times: move them back and reseal it.
age_backup() {
	local m
	m=$(ls "$T"/store/*-full/manifest.json | tail -n 1)
	python3 - "$m" "$1" <<'PY'
import json, sys, time
m = json.load(open(sys.argv[1]))
m["start"] = time.time() - float(sys.argv[2]); m["stop"] = m["start"] + 1
json.dump(m, open(sys.argv[1], "w"))
PY
	python3 "$MF" seal "$m"
}
age_backup $((30 * 3600))
run "$OPSCTL" health -c backups
expect_rc 1 "backups: newest 30 h old (> 26 h): WARNING"
expect_out_contains "newest backup in" "WARNING names the store and the age"
age_backup $((60 * 3600))
run "$OPSCTL" health -c backups
expect_rc 2 "backups: newest 60 h old (> 50 h): CRITICAL"
conf age.conf "backup_max_age = 3d" "backup_critical_age = 4d"
run "$OPSCTL" --config age.conf health -c backups
expect_rc 0 "the same backup within health.backup_max_age = 3d: OK"
run "$OPSCTL" backup --type full
expect_rc 0 "a new backup"

# ---- the WAL archiver ----
_pg_as sh -c "cat >> '$PG_TEST_DIR/data/postgresql.conf'" <<'CONF'
archive_mode = on
archive_command = 'true'
CONF
_pg_as "$PG_BIN/pg_ctl" -D "$PG_TEST_DIR/data" -l "$PG_LOG" -w restart >/dev/null || bail_out "restart with archive_mode = on"
set_archive() {
	psql_q "alter system set archive_command = '$1'" >/dev/null && psql_q "select pg_reload_conf()" >/dev/null
}
switch_wal() { psql_q -d t740 "insert into queries (query_text) values ('x'); select pg_switch_wal()" >/dev/null; }
failed_count() { psql_q "select failed_count from pg_stat_archiver"; }
failed_more_than() { [ "$(failed_count)" -gt "$1" ]; }
archived_some() { [ "$(psql_q "select archived_count from pg_stat_archiver")" -ge 1 ]; }
archived_after_failure() { [ "$(psql_q "select coalesce(last_archived_time > last_failed_time, false) from pg_stat_archiver")" = t ]; }
switch_wal
wait_for 10 archived_some || not_ok "the archiver archived"
run "$OPSCTL" --output json health -c backups
expect_rc 0 "archiver healthy, first run: OK"
expect_json_true 'd["components"][0]["wal_archiver"][0]["first_run"] is True and d["components"][0]["wal_archiver"][0]["new_failures"] == 0' "the first run remembers the count"
# Failures between two runs, archiving working again by the second.
set_archive false
switch_wal
wait_for 15 failed_more_than 0 || not_ok "the archiver failed"
set_archive true
wait_for 90 archived_after_failure || not_ok "the archiver recovered"
run "$OPSCTL" health -c backups
expect_rc 1 "failures since the last run, archiving again: WARNING"
first | grep -Eq "[0-9]+ WAL archive failures? on 't740' since the last run \(last failed segment [0-9A-F]{24}\)"
check $? "WARNING counts the new failures and names the last failed segment"
first | grep -q "'backups_wal_failures'=[1-9]"
check $? "perfdata: the new failures counted"
run "$OPSCTL" health -c backups
expect_rc 0 "no new failure since: OK"
# Another state directory: a first run with failures in the history only.
run env OPSCTL_STATE_DIR="$T/state2" "$OPSCTL" health -c backups
expect_rc 0 "first run, failures only in the history: OK (remembered, not alerted)"
# Failing now: nothing archived since the last failure.
set_archive false
switch_wal
before=$(failed_count)
wait_for 15 failed_more_than "$before" || not_ok "the archiver failed again"
run "$OPSCTL" health -c backups
expect_rc 2 "archive_command = false: archiving stuck: CRITICAL"
first | grep -Eq "WAL archiving of 't740' is stuck: segment [0-9A-F]{24} failed at"
check $? "CRITICAL names the failed segment"

# ---- db and backups with the server stopped ----
_pg_as "$PG_BIN/pg_ctl" -D "$PG_TEST_DIR/data" -m fast -w stop >/dev/null
conf fast.conf "check_timeout = 5s"
t0=$(date +%s)
run "$OPSCTL" --config fast.conf health -c db,backups
expect_rc 2 "server stopped: CRITICAL"
first | grep -q "database 't740' is unreachable: cannot connect to PostgreSQL"
check $? "CRITICAL names the unreachable database"
expect_out_contains "cannot check the WAL archiver of 't740'" "the archiver that could not be read is named too"
[ $(($(date +%s) - t0)) -lt 30 ]
check $? "within the time budget"
done_testing
