#!/usr/bin/env bash
# t140: `db connections` lists sessions idle longer than --idle-for (guide 000
# section 2.1: 1 hour) and with --terminate ends them, inside the window or
# with --force, never opsctl's own session.  Listing writes no journal line.
. "$(dirname "$0")/../lib/common.sh"
. "$ROOT/tests/lib/pg.sh"
pg_start || bail_out "PostgreSQL starts"
psql_q "create database t140" >/dev/null || bail_out "database t140"
printf '[window]\nprod = never\n' >"$T/never.conf"

# An idle session: psql reads one query, then waits on its stdin.
idle_session() {	# idle_session APPNAME: sets pid to its backend pid
	bg bash -c "(echo 'select 1;'; sleep 60) | PGAPPNAME=$1 psql -X -d t140"
	wait_for 10 is_idle "$1"
	pid=$(psql_q "select pid from pg_stat_activity where application_name = '$1'")
}
is_idle() { [ -n "$(psql_q "select pid from pg_stat_activity where application_name = '$1' and state = 'idle'")" ]; }
alive() { [ "$(psql_q "select count(*) from pg_stat_activity where pid = $1")" = 1 ]; }
gone() { ! alive "$1"; }

idle_session opsctl-test-idle1
[ -n "$pid" ] || bail_out "an idle session exists"
sleep 1.5

journal_mark
run "$OPSCTL" --output json db connections -d t140 --idle-for 1s
expect_rc 0 "db connections --idle-for 1s exits 0"
expect_json "db connections prints JSON"
if grep -qw "$pid" "$OUT"; then ok "the idle session's pid $pid is listed"; else not_ok "the idle session's pid $pid is listed"; diag_run; fi
expect_journal_added 0 "listing (no --terminate) writes no journal line"

run "$OPSCTL" db connections -d t140 --idle-for 1s
expect_rc 0 "text output exits 0"
if grep -qw "$pid" "$OUT"; then ok "text output lists pid $pid"; else not_ok "text output lists pid $pid"; diag_run; fi

run "$OPSCTL" db connections -d t140
expect_rc 0 "default --idle-for (1h) exits 0"
if grep -qw "$pid" "$OUT"; then not_ok "a session idle for seconds is not listed under the 1h default"; diag_run; else ok "a session idle for seconds is not listed under the 1h default"; fi

printf '[db]\nidle_timeout = 1s\n' >"$T/idle.conf"
run "$OPSCTL" --config "$T/idle.conf" db connections -d t140
if grep -qw "$pid" "$OUT"; then ok "db.idle_timeout from the config is the default"; else not_ok "db.idle_timeout from the config is the default"; diag_run; fi

run "$OPSCTL" db connections -d t140 --idle-for soon
expect_error 64 "--idle-for soon is a usage error" "soon"

# --terminate outside the window without --force: nothing terminated.
run "$OPSCTL" --config "$T/never.conf" --env prod db connections -d t140 --idle-for 1s --terminate
expect_fail 1 "--terminate outside the prod window: exit 1" "outside the prod maintenance window"
if alive "$pid"; then ok "outside the window the session survives"; else not_ok "outside the window the session survives"; fi
run "$OPSCTL" --config "$T/never.conf" --env prod --output json db connections -d t140 --idle-for 1s --terminate --dry-run
expect_rc 0 "--terminate --dry-run: exit 0"
expect_json_true 'd["databases"][0]["would_terminate"] >= 1 and d["databases"][0]["terminated"] == 0 and d["databases"][0]["window"] == "closed"' "--dry-run: would terminate, terminated none, the window is closed"
if alive "$pid"; then ok "--dry-run: the session survives"; else not_ok "--dry-run: the session survives"; fi
run "$OPSCTL" --config "$T/never.conf" --env prod db connections -d t140 --idle-for 1s --terminate --yes
expect_fail 1 "--terminate --yes outside the window: refused (exit 1)" "outside the prod maintenance window"
if alive "$pid"; then ok "--yes: the session survives"; else not_ok "--yes: the session survives"; fi

# Another database's idle session is not -d t140's to end.
psql_q "drop database if exists t140b" >/dev/null
psql_q "create database t140b" >/dev/null
at_exit "psql_q 'drop database if exists t140b'"
bg bash -c "(echo 'select 1;'; sleep 60) | PGAPPNAME=opsctl-test-other psql -X -d t140b"
wait_for 10 is_idle opsctl-test-other
other=$(psql_q "select pid from pg_stat_activity where application_name = 'opsctl-test-other'")

# --env dev: terminated, and opsctl's own session is never a victim.
journal_mark
run "$OPSCTL" --env dev db connections -d t140 --idle-for 1s --terminate
expect_rc 0 "--env dev --terminate exits 0"
wait_for 5 gone "$pid"
if alive "$pid"; then not_ok "the idle session was terminated"; else ok "the idle session was terminated"; fi
if [ -n "$other" ] && alive "$other"; then ok "an idle session in another database survives -d t140 --terminate"; else not_ok "an idle session in another database survives -d t140 --terminate"; fi
expect_journal_added 1 "--terminate writes one journal line"
expect_journal_last 'j["command"] == "db connections" and j["status"] == "ok"' "journal: db connections ok"

idle_session opsctl-test-idle2
sleep 1.5
run "$OPSCTL" --config "$T/never.conf" --env prod db connections -d t140 --idle-for 1s --terminate --force
expect_rc 0 "--terminate --force outside the window exits 0"
wait_for 5 gone "$pid"
if alive "$pid"; then not_ok "--force terminated the idle session"; else ok "--force terminated the idle session"; fi

# opsctl's own connection, even when idle-looking, is spared: a 0s threshold
# matches every idle session but opsctl must still finish cleanly.
run "$OPSCTL" --env dev db connections -d t140 --idle-for 0s --terminate
expect_rc 0 "--idle-for 0s --terminate does not kill opsctl's own session"

sqlite_make_sample_db "$T/kh.db"
run "$OPSCTL" db connections -d "sqlite:$T/kh.db"
expect_fail 64 "db connections on SQLite: exit 64" "SQLite"

done_testing
