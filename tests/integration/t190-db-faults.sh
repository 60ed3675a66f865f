#!/usr/bin/env bash
# t190: failures cron and operators must be able to tell apart: server down
# (69), missing database (1), task locked (75), injection attempts through
# names, no password on argv, and every PostgreSQL session emptying
# search_path before anything else.
. "$(dirname "$0")/../lib/common.sh"
. "$ROOT/tests/lib/pg.sh"
pg_start || bail_out "PostgreSQL starts"
pg_make_sample_db t190 || bail_out "sample database t190"

# ---- server down ----
closed=$(pg_free_port)
for cmd in "db size" "db maintain" "db vacuum"; do
	# shellcheck disable=SC2086
	run env PGPORT="$closed" "$OPSCTL" $cmd -d t190
	expect_fail 69 "$cmd with the server down: exit 69"
done
# db health is a monitoring check: a check that could not run is UNKNOWN (3).
run env PGPORT="$closed" "$OPSCTL" db health -d t190
expect_fail 3 "db health with the server down: exit 3 (UNKNOWN)" "cannot connect"
if head -n 1 "$OUT" | grep -q "^DB HEALTH UNKNOWN - cannot connect to PostgreSQL"; then ok "db health: first line DB HEALTH UNKNOWN"; else not_ok "db health: first line DB HEALTH UNKNOWN"; diag_run; fi
run env PGPORT="$closed" "$OPSCTL" db maintain -d t190
expect_journal_last 'j["status"] == "failed" and j["exit"] == 69' "journal records the unreachable server"
run env PGPORT="$closed" "$OPSCTL" db size -d "postgresql://postgres:hunter2secret@127.0.0.1:$closed/t190"
expect_fail 69 "unreachable URI target: exit 69"
if grep -q hunter2secret "$ERR" "$OUT"; then not_ok "the URI's password is not in the error"; diag_run; else ok "the URI's password is not in the error"; fi
run env PGHOST=host.invalid "$OPSCTL" db size -d t190
expect_fail 69 "an unresolvable host: exit 69"

# ---- a database that does not exist ----
run "$OPSCTL" db size -d nope
expect_fail 1 "a missing database: exit 1" "database 'nope' does not exist"

# ---- no password on the command line ----
run "$OPSCTL" db size --password hunter2secret -d t190
expect_error 64 "--password is refused: exit 64" "--password"
if grep -q hunter2secret "$ERR"; then not_ok "the refused password is not echoed"; diag_run; else ok "the refused password is not echoed"; fi
run "$OPSCTL" db maintain --password=hunter2secret -d t190
expect_error 64 "--password=X is refused: exit 64" "--password"
if grep -q hunter2secret "$ERR"; then not_ok "--password=X: not echoed"; diag_run; else ok "--password=X: not echoed"; fi
run "$OPSCTL" --password hunter2secret db size -d t190
expect_error 64 "a global --password is refused: exit 64"

# ---- the task lock, per task and target ----
mkdir -p "$OPSCTL_STATE_DIR/locks"
bg flock "$OPSCTL_STATE_DIR/locks/db_maintain@t190.lock" sleep 60
locked() { ! flock -n "$OPSCTL_STATE_DIR/locks/db_maintain@t190.lock" true; }
wait_for 10 locked || not_ok "flock(1) holds the db_maintain lock of t190"
pg_log_mark
journal_mark
run "$OPSCTL" db maintain -d t190
expect_fail 75 "db maintain while the lock is held: exit 75" "already running"
if grep -qiE '^(vacuum|analyze|reindex)' <<<"$(opsctl_sql)"; then not_ok "nothing is done while locked"; diag "$(opsctl_sql)"; else ok "nothing is done while locked"; fi
expect_err_contains "on 't190'" "the lock error names the database"
run "$OPSCTL" db analyze -d t190
expect_rc 0 "another task (db analyze) is not blocked by db_maintain's lock"
# Guide 004's cron lines, one per database: another database is not blocked.
sqlite3 "$T/other.db" "create table t (x); insert into t values (1);"
run "$OPSCTL" db maintain -d "sqlite:$T/other.db"
expect_rc 0 "db maintain of another database runs while t190's is locked"
run "$OPSCTL" db maintain -d "t190,sqlite:$T/other.db"
expect_fail 75 "a run over both databases waits for none: exit 75 on t190's lock" "on 't190'"
bg_kill "$BG_PID"
run "$OPSCTL" db maintain -t analyze -d t190
expect_rc 0 "once the lock is released db maintain runs"

# The lock held by another opsctl: the message names its pid.
bg env PGAPPNAME=opsctl-test-blocker psql -X -d t190 -c "begin; lock table documents in access exclusive mode; select pg_sleep(60)"
holding() { [ "$(psql_q "select count(*) from pg_locks l join pg_stat_activity a using (pid) where a.application_name = 'opsctl-test-blocker' and l.mode = 'AccessExclusiveLock' and l.granted")" -ge 1 ]; }
wait_for 10 holding || not_ok "a session holds a lock on documents"
OPSCTL_STATE_DIR=$OPSCTL_STATE_DIR setsid "$OPSCTL" db maintain -t vacuum -d t190 >"$T/first.out" 2>&1 </dev/null &
first=$!
vacuum_waiting() { [ "$(psql_q "select count(*) from pg_stat_activity where application_name like 'opsctl%' and application_name not like 'opsctl-test%' and wait_event_type = 'Lock'")" -ge 1 ]; }
wait_for 10 vacuum_waiting || not_ok "the first opsctl waits on the table lock"
run "$OPSCTL" db maintain -t vacuum -d t190
expect_fail 75 "a second opsctl db maintain: exit 75 naming the holder and its start" "already running on 't190' (pid $first, since 20"
pg_kill_test_sessions
wait "$first"
rc=$?
if [ "$rc" -eq 0 ]; then ok "the first run finishes once the table is free"; else not_ok "the first run finishes once the table is free (exit $rc)"; sed 's/^/#     /' "$T/first.out"; fi

# ---- search_path first, in every opsctl session ----
pg_log_mark
run "$OPSCTL" db maintain -d t190
expect_rc 0 "db maintain for the search_path check"
run "$OPSCTL" db vacuum -j 2 -d t190
expect_rc 0 "db vacuum -j 2 for the search_path check"
# Every other command too (their outcome does not matter here).
psql_q -d t190 "create extension if not exists pg_stat_statements; create extension if not exists amcheck" >/dev/null
for cmd in "db analyze" "db reindex" "db connections" "db bloat" "db slow-queries" "db config" \
	"db health" "db size" "db integrity" "db content-check --table documents"; do
	# shellcheck disable=SC2086
	"$OPSCTL" $cmd -d t190 >/dev/null 2>&1
done
mkdir -p "$T/mig/v1"
echo "create table public.t190_mig (id int);" >"$T/mig/v1/001.sql"
"$OPSCTL" db migrate 1 --dir "$T/mig" -d t190 >/dev/null 2>&1
verdict=$(pg_statements opsctl | python3 -c '
import sys
first, sessions, bad = {}, set(), []
for line in sys.stdin:
    pid, app, db, sql = line.rstrip("\n").split("\t", 3)
    sessions.add(pid)
    if pid not in first:
        first[pid] = sql
for pid, sql in first.items():
    if "set_config(\x27search_path\x27, \x27\x27, false)" not in sql:
        bad.append(pid + ": " + sql[:100])
print(len(sessions), len(bad))
for b in bad:
    print(b)
')
sessions=$(head -n 1 <<<"$verdict" | cut -d' ' -f1)
nbad=$(head -n 1 <<<"$verdict" | cut -d' ' -f2)
if [ "${sessions:-0}" -ge 12 ] && [ "$nbad" = 0 ]; then
	ok "each of $sessions opsctl sessions sent set_config('search_path', '', false) first"
else
	not_ok "every opsctl session sends set_config('search_path', '', false) first ($sessions sessions, $nbad without)"
	diag "$verdict"
fi

# ---- names are names ----
for evil in "t190; drop database t190" "t190' or '1'='1" 't190"; drop table documents; --'; do
	run "$OPSCTL" db size -d "$evil"
	expect_fail 1 "database name with SQL in it: exit 1 ($evil)" "does not exist"
done
if [ "$(psql_q "select count(*) from pg_database where datname = 't190'")" = 1 ] &&
	[ "$(psql_q -d t190 "select to_regclass('public.documents') is not null")" = t ]; then
	ok "t190 and its documents survive the attempts"
else
	not_ok "t190 and its documents survive the attempts"
fi

# ---- permission: a role that does not own the tables ----
psql_q "create role t190_ro login" >/dev/null
psql_q -d t190 "select pg_stat_reset()" >/dev/null
run env PGUSER=t190_ro "$OPSCTL" db vacuum --table documents -d t190
vac=$(psql_q -d t190 "select last_vacuum is not null from pg_stat_user_tables where relname = 'documents'")
if [ "$RC" -ne 0 ] || [ "$vac" = t ]; then
	ok "VACUUM the server skipped for lack of ownership is not reported as success"
else
	not_ok "VACUUM the server skipped for lack of ownership is not reported as success (exit 0, documents not vacuumed)"; diag_run
fi
expect_fail 77 "vacuum by a role that does not own the table: exit 77 (permission)" "documents"
run env PGUSER=t190_ro "$OPSCTL" db reindex --table documents --force -d t190
expect_fail 77 "reindex by a role that does not own the table: exit 77 (permission)" "documents"
run env PGUSER=nosuchrole_t190 "$OPSCTL" db size -d t190
expect_fail 77 "a role that does not exist: exit 77 (authentication)" "nosuchrole_t190"
expect_err_contains "hint: connect as a role that exists" "a role that does not exist: the hint is about the role, not a password"

# ---- permission (77) ----
# Root may write anywhere, so as root the run drops to the unprivileged user
# 'nobody' (as CI runs as root, a skip here would never test anything).
ro=$(mktemp -d "${TMPDIR:-/tmp}/opsctl-t190-ro.XXXXXX")
at_exit rm -rf "$ro"
chmod 555 "$ro"
if [ "$(id -u)" -ne 0 ]; then
	run env OPSCTL_STATE_DIR="$ro/state" "$OPSCTL" db analyze -d t190
else
	chmod 755 "$ROOT" 2>/dev/null || true
	run runuser -u nobody -- env OPSCTL_STATE_DIR="$ro/state" "$OPSCTL" db analyze -d t190
fi
expect_fail 77 "a state directory that cannot be created: exit 77"

# ---- the state dir is a file (not a directory) ----
: >"$T/statefile"
run env OPSCTL_STATE_DIR="$T/statefile" "$OPSCTL" db analyze -d t190
if [ "$RC" -ne 0 ] && [ "$RC" -ne 1 ]; then ok "a state dir that is a file fails with a specific status ($RC)"; else not_ok "a state dir that is a file fails with a specific status (exit $RC)"; diag_run; fi
expect_err_one_line "a state dir that is a file: one error line"

done_testing
