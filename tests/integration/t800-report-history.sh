#!/usr/bin/env bash
# t800: the report's history (STATE_DIR/history.db): real runs against
# SQLite and PostgreSQL record their figures and durations, every recorded
# run samples the disks and the services' memory (a real process, by pidfile
# and by name), the documented schema, the daily prune, and a history that
# cannot be written: a warning, the run still ok and journaled.
. "$(dirname "$0")/../lib/common.sh"
. "$ROOT/tests/lib/pg.sh"
tool=$(missing_tool sqlite3 python3) && bail_out "$tool (scripts/setup)"

export OPSCTL_CONFIG="$T/opsctl.conf"
H="$OPSCTL_STATE_DIR/history.db"
q() { sqlite3 "$H" "$@"; }
ck() {	# ck 'SHELL CONDITION' DESC
	local c=$1
	shift
	if eval "$c"; then ok "$@"; else not_ok "$@"; fi
}
mkdir -p "$T/data"
bg sleep 600
SLEEP_PID=$BG_PID
echo "$SLEEP_PID" >"$T/sleeper.pid"
cat >"$OPSCTL_CONFIG" <<CONF
[health]
disk_paths = $T/data
[report]
services = sleeper=$T/sleeper.pid, sleep, ghost=$T/no-such.pid, nothing_runs_as_this
CONF

# ---- SQLite: db size twice ----
sqlite_make_sample_db "$T/hub.db" || bail_out "sample SQLite database"
run "$OPSCTL" db size -d "$T/hub.db"
expect_rc 0 "db size on the SQLite hub"
expect_err_empty "no warning when the history is written"
run "$OPSCTL" db size -d "$T/hub.db"
size=$(stat -c %s "$T/hub.db")
n=$(q "select count(*) from samples where name='opsctl_db_size_bytes' and task='db size' and labels='target=\"sqlite:$T/hub.db\"' and value=$size")
ck "[ '$n' = 2 ]" "two db size runs: two samples of opsctl_db_size_bytes, the file's size, labelled with the canonical target ($n)"
n=$(q "select count(*) from samples where name='opsctl_run_duration_seconds' and task='db size' and value >= 0 and value < 60")
ck "[ '$n' = 2 ]" "each run's duration recorded ($n)"

# ---- the schema, as the man page documents it ----
ck "[ \"\$(q 'pragma user_version')\" = 1 ]" "PRAGMA user_version is 1"
ck "[ \"\$(q 'pragma journal_mode')\" = wal ]" "WAL mode"
cols=$(q "select group_concat(name || ' ' || type, ', ') from pragma_table_info('samples')")
ck "[ '$cols' = 'time INTEGER, task TEXT, name TEXT, labels TEXT, value REAL' ]" "samples(time INTEGER, task TEXT, name TEXT, labels TEXT, value REAL) ($cols)"
idx=$(q "select group_concat(name, ',') from pragma_index_info('samples_series')")
ck "[ '$idx' = 'name,labels,time' ]" "indexed on (name, labels, time) ($idx)"
now=$(date +%s)
t=$(q "select max(time) from samples")
ck "[ \$(( now - t )) -ge 0 ] && [ \$(( now - t )) -lt 120 ]" "time is unix seconds of the run ($t)"

# ---- system samples ----
dev_used=$(python3 -c "import os; s=os.statvfs('$T/data'); print((s.f_blocks-s.f_bfree)*s.f_frsize)")
dev_size=$(python3 -c "import os; s=os.statvfs('$T/data'); print((s.f_blocks-s.f_bfree+s.f_bavail)*s.f_frsize)")
used=$(q "select cast(value as integer) from samples where name='opsctl_disk_used_bytes' and labels='path=\"$T/data\"' order by time desc limit 1")
size=$(q "select cast(value as integer) from samples where name='opsctl_disk_size_bytes' and labels='path=\"$T/data\"' order by time desc limit 1")
ck "python3 -c 'import sys; sys.exit(0 if abs($used - $dev_used) < 64 * 2**20 else 1)'" "disk used of health.disk_paths as df counts it ($used ~ $dev_used)"
ck "[ '$size' = '$dev_size' ]" "disk size is used + available ($size)"
rss=$(awk '/^VmRSS:/ {print $2 * 1024}' "/proc/$SLEEP_PID/status")
got=$(q "select cast(value as integer) from samples where name='opsctl_service_memory_bytes' and labels='service=\"sleeper\"' order by time desc limit 1")
ck "[ -n '$got' ] && [ '$got' -gt 0 ] && [ \$(( got - rss )) -lt 1048576 ] && [ \$(( rss - got )) -lt 1048576 ]" "NAME=PIDFILE: the process's VmRSS ($got ~ $rss)"
got=$(q "select cast(value as integer) from samples where name='opsctl_service_memory_bytes' and labels='service=\"sleep\"' order by time desc limit 1")
ck "[ -n '$got' ] && [ '$got' -ge '$rss' ]" "NAME alone: summed over every process called sleep ($got >= $rss)"
n=$(q "select count(*) from samples where labels in ('service=\"ghost\"', 'service=\"nothing_runs_as_this\"')")
ck "[ '$n' = 0 ]" "a service not running is not sampled"
n=$(q "select count(*) from samples where name in ('opsctl_disk_used_bytes','opsctl_service_memory_bytes') and task != ''")
ck "[ '$n' = 0 ]" "system samples belong to no task"

# ---- PostgreSQL ----
pg_start || bail_out "PostgreSQL starts"
pg_make_sample_db t800 || bail_out "sample database t800"
run "$OPSCTL" db size -d t800
expect_rc 0 "db size on PostgreSQL"
pgsize=$(psql_q -d t800 "select pg_database_size('t800')")
got=$(q "select cast(value as integer) from samples where name='opsctl_db_size_bytes' and labels='target=\"t800\"'")
ck "[ -n '$got' ] && [ \$(( got - pgsize )) -lt 1048576 ] && [ \$(( pgsize - got )) -lt 1048576 ]" "PostgreSQL's size recorded under target=\"t800\" ($got ~ $pgsize)"

# ---- a failed run is recorded too, with its duration ----
run "$OPSCTL" db size -d "$T/missing.db"
ck "[ '$RC' -ne 0 ]" "db size of a missing file fails"
n=$(q "select count(*) from samples where name='opsctl_run_duration_seconds' and labels='target=\"sqlite:$T/missing.db\"'")
ck "[ '$n' = 1 ]" "the failed run's duration is in the history ($n)"

# ---- the daily prune ----
q "insert into samples values (1000, 'old', 'opsctl_db_size_bytes', 'target=\"ancient\"', 1)"
run "$OPSCTL" db size -d "$T/hub.db"
n=$(q "select count(*) from samples where labels='target=\"ancient\"'")
ck "[ '$n' = 1 ]" "pruned at most once a day: the old row stays until the next day's prune"
q "update meta set value = value - 90000 where key = 'last_prune'"
run "$OPSCTL" db size -d "$T/hub.db"
n=$(q "select count(*) from samples where labels='target=\"ancient\"'")
ck "[ '$n' = 0 ]" "a day later, samples older than report.history_days are pruned"

# ---- report.history = false ----
before=$(q "select count(*) from samples")
printf '[report]\nhistory = false\n' >>"$OPSCTL_CONFIG"
run "$OPSCTL" db size -d "$T/hub.db"
after=$(q "select count(*) from samples")
ck "[ '$before' = '$after' ]" "report.history = false: nothing recorded"
sed -i '$d' "$OPSCTL_CONFIG"; sed -i '$d' "$OPSCTL_CONFIG"

# ---- a history that cannot be written ----
mv "$H" "$T/history.keep"
rm -f "$H-wal" "$H-shm"
mkdir "$H"
journal_mark
run "$OPSCTL" db size -d "$T/hub.db"
expect_rc 0 "history.db unwritable (a directory in its place): the run still succeeds"
expect_err_contains "history not recorded" "a warning says the history was not recorded"
ck "[ \$(journal_count) -eq \$(( JOURNAL_MARK + 1 )) ]" "the run is still journaled"
rmdir "$H"
mv "$T/history.keep" "$H"
q "pragma user_version = 7"
run "$OPSCTL" db size -d "$T/hub.db"
expect_rc 0 "a history of a newer schema: the run still succeeds"
expect_err_contains "schema version 7" "the warning names the schema version"
run "$OPSCTL" report
expect_rc 65 "report over a history of a newer schema: exit 65"
expect_err_contains "opsctl: error: history '$H' has schema version 7" "the error names the file and its version"

done_testing
