#!/usr/bin/env bash
# t750: the health engine, driven through the disk component (whose states
# the thresholds can force on any machine): the plugin exit codes and status
# line, perfdata syntax, components skipped or UNKNOWN when not configured,
# the JSON envelope, the journal and the textfile, the state file (damaged,
# locked), and guide 002's auto-restart (after N CRITICAL runs, at most M an
# hour, an argv without a shell and without credentials).
. "$(dirname "$0")/../lib/common.sh"
. "$ROOT/tests/lib/health.sh"
tool=$(missing_tool python3 promtool) && bail_out "$tool (scripts/setup)"

# No database either: the runner's shared cluster exports PG*, which
# configure the db component through db.name's PGDATABASE.
unset PGDATABASE PGHOST PGPORT PGUSER
PROM="$OPSCTL_STATE_DIR/opsctl.prom"
mkdir -p "$T/data"
# conf FILE LINE...: an opsctl.conf whose [health] has the lines given.
conf() {
	local f=$1
	shift
	{
		echo "[health]"
		printf '%s\n' "$@"
	} >"$f"
}
conf ok.conf "disk_paths = $T/data" "disk_warn_pct = 100" "disk_critical_pct = 100" \
	"inode_warn_pct = 100" "inode_critical_pct = 100"
conf warn.conf "disk_paths = $T/data" "disk_warn_pct = 1" "disk_critical_pct = 100" \
	"inode_warn_pct = 100" "inode_critical_pct = 100"
conf crit.conf "disk_paths = $T/data" "disk_warn_pct = 1" "disk_critical_pct = 1" \
	"inode_warn_pct = 100" "inode_critical_pct = 100"
conf none.conf "disk_paths ="
# ---- the three states, as a monitoring system reads them ----
run "$OPSCTL" --config ok.conf health -c disk
expect_rc 0 "disk below its thresholds: exit 0"
head -n 1 "$OUT" | grep -q "^OPSCTL HEALTH OK - 1 component ok (disk) | "
check $? "first line: OPSCTL HEALTH OK naming the component"
expect_perf_valid "perfdata: every item 'label'=value[UOM];warn;crit;min;max"
expect_out_contains "disk" "a line per component after the status line"
expect_err_empty "OK: nothing on stderr"

run "$OPSCTL" --config warn.conf health -c disk
expect_rc 1 "disk above health.disk_warn_pct: exit 1 (WARNING)"
head -n 1 "$OUT" | grep -q "^OPSCTL HEALTH WARNING - disk: "
check $? "first line: OPSCTL HEALTH WARNING - disk: ..."
expect_perf_valid "perfdata still valid at WARNING"

run "$OPSCTL" --config crit.conf health -c disk
expect_rc 2 "disk above health.disk_critical_pct: exit 2 (CRITICAL)"
head -n 1 "$OUT" | grep -q "^OPSCTL HEALTH CRITICAL - disk: "
check $? "first line: OPSCTL HEALTH CRITICAL - disk: ..."
expect_journal_last 'j["command"] == "health" and j["status"] == "critical" and j["exit"] == 2' \
	"journal: the run recorded as critical, exit 2"
grep -q '^opsctl_health_state{.*} 2$' "$PROM"
check $? "textfile: opsctl_health_state 2"
grep -q '^opsctl_health_component_state{.*component="disk".*} 2$' "$PROM"
check $? "textfile: opsctl_health_component_state{component=\"disk\"} 2"
promtool check metrics <"$PROM"
check $? "promtool accepts the textfile"

# ---- JSON: the envelope, then state, summary, perfdata, components ----
run "$OPSCTL" --config warn.conf health -c disk -o json
expect_rc 1 "-o json after the command: still exit 1"
expect_json_true 'd["command"] == "health" and d["status"] == "warning" and d["exit_code"] == 1' \
	"envelope: command health, status warning, exit_code 1"
expect_json_true 'd["state"] == "WARNING" and d["summary"].startswith("OPSCTL HEALTH WARNING - disk: ")' \
	"state and summary"
expect_json_true 'find(d["components"], "component", "disk")["state"] == "WARNING" and isinstance(find(d["components"], "component", "disk")["duration_seconds"], (int, float))' \
	"the disk component's entry: state and duration"
expect_json_true 'd["notification"] is None and d["restart"] is None' "no -n, no restart command: both null"
expect_json_true '"_state" not in d and "_summary" not in d' "no internal members in the JSON"

# ---- not configured: skipped under all, UNKNOWN when named ----
run "$OPSCTL" --config ok.conf health -c llm
expect_rc 3 "-c llm without health.llm_url: exit 3 (UNKNOWN)"
head -n 1 "$OUT" | grep -q "^OPSCTL HEALTH UNKNOWN - llm: not configured: .*health.llm_url"
check $? "the status line says what is not set"
run "$OPSCTL" --config ok.conf health -o json
expect_rc 0 "-c all with only disk configured: exit 0"
expect_json_true 'find(d["components"], "component", "llm")["state"] == "SKIPPED" and find(d["components"], "component", "disk")["state"] == "OK"' \
	"-c all: llm SKIPPED, disk OK"
run "$OPSCTL" --config none.conf health
expect_rc 3 "nothing configured at all: exit 3"
head -n 1 "$OUT" | grep -q "^OPSCTL HEALTH UNKNOWN - nothing to check"
check $? "UNKNOWN - nothing to check"

# ---- bad input ----
run "$OPSCTL" --config ok.conf health -c disk,nosuch
expect_error 64 "an unknown component: usage error" "nosuch"
printf '[health]\ntimeout = forever\n' >bad.conf
run "$OPSCTL" --config bad.conf health -c disk
expect_rc 3 "a bad health.timeout: UNKNOWN (3) for a monitoring system, not 78"
grep -q "OPSCTL HEALTH UNKNOWN - .*health.timeout" "$OUT" "$ERR"
check $? "the status line names the key"

# ---- the state file: damaged, or held by another run ----
echo '{not json' >"$OPSCTL_STATE_DIR/health/state.json"
run "$OPSCTL" --config ok.conf health -c disk
expect_rc 0 "a damaged state file: the check still runs"
expect_err_contains "not valid JSON" "and says it started afresh"
python3 -c "import json; json.load(open('$OPSCTL_STATE_DIR/health/state.json'))"
check $? "the state file is valid JSON again"
test "$(stat -c %a "$OPSCTL_STATE_DIR/health/state.json")" = 600
check $? "the state file is mode 0600"
python3 - "$OPSCTL_STATE_DIR/health/state.lock" <<'PY' &
import fcntl, sys, time
f = open(sys.argv[1], "w"); fcntl.flock(f, fcntl.LOCK_EX); open(sys.argv[1] + ".held", "w").close(); time.sleep(20)
PY
HOLDER=$!
at_exit "kill $HOLDER 2>/dev/null"
wait_for 10 test -f "$OPSCTL_STATE_DIR/health/state.lock.held"
printf '[health]\ndisk_paths = %s\ntimeout = 5s\n' "$T/data" >short.conf
run "$OPSCTL" --config short.conf health -c disk
expect_rc 3 "another run holds the state for longer than a tenth of health.timeout: UNKNOWN"
expect_out_contains "another opsctl health run holds" "naming why"
kill $HOLDER 2>/dev/null
wait $HOLDER 2>/dev/null

# ---- auto-restart (guide 002): after 2 CRITICAL runs, at most 2 an hour ----
cat >"$T/restart.sh" <<EOF
#!/bin/sh
echo "restarted \$*" >>"$T/restarts.log"
env >"$T/restart.env"
EOF
chmod +x "$T/restart.sh"
conf restart.conf "disk_paths = $T/data" "disk_warn_pct = 1" "disk_critical_pct = 1" \
	"restart_command = $T/restart.sh,the service" "restart_components = disk" \
	"restart_after = 2" "restart_max_per_hour = 2"
export PGPASSWORD=t750-secret-pw
run "$OPSCTL" --config restart.conf health -c disk -o json
expect_json_true 'd["restart"] is None' "first CRITICAL run: no restart yet"
test ! -e "$T/restarts.log"
check $? "the command did not run"
run "$OPSCTL" --config restart.conf health -c disk -o json
expect_rc 2 "second CRITICAL run: still exit 2"
expect_json_true 'd["restart"]["status"] == "done" and "disk CRITICAL for 2 runs" in d["restart"]["reason"]' \
	"second CRITICAL run: restarted, the reason said"
test "$(cat "$T/restarts.log")" = "restarted the service"
check $? "the command ran once, its argv as configured (one argument with a blank)"
bash -c "! grep -q t750-secret-pw '$T/restart.env'"
check $? "no credential variable in its environment"
expect_journal_last 'j["status"] == "critical" and j["figures"]["opsctl_health_restarts"] == 1' \
	"journal: the restart in the run's figures"
run "$OPSCTL" --config restart.conf health -c disk -o json
expect_json_true 'd["restart"] is None' "the count starts again after a restart"
run "$OPSCTL" --config restart.conf health -c disk -o json
expect_json_true 'd["restart"]["status"] == "done"' "two more CRITICAL runs: the second restart"
run "$OPSCTL" --config restart.conf health -c disk
run "$OPSCTL" --config restart.conf health -c disk -o json
expect_json_true 'd["restart"]["status"] == "skipped" and d["restart"]["restarts_last_hour"] == 2' \
	"a third restart within the hour: skipped, health.restart_max_per_hour said"
test "$(wc -l <"$T/restarts.log")" -eq 2
check $? "the command ran twice in all"
unset PGPASSWORD
conf restart-bad.conf "disk_paths = $T/data" "disk_warn_pct = 1" "disk_critical_pct = 1" \
	"restart_command = /bin/false" "restart_components = disk" "restart_after = 1"
rm -f "$OPSCTL_STATE_DIR/health/state.json"
run "$OPSCTL" --config restart-bad.conf health -c disk -o json
expect_json_true 'd["restart"]["status"] == "failed" and "exit 1" in d["restart"]["error"]' \
	"a restart command that fails: reported failed with its exit"
expect_rc 2 "the check's own state is still the exit status"

# ---- make demo shows guide 003's daily health check ----
run env -u OPSCTL_STATE_DIR "$ROOT/scripts/demo" "$T/demo"
expect_rc 0 "scripts/demo exits 0"
grep -q "^OPSCTL HEALTH [A-Z]* - .*'logs_errors'=1;" "$OUT" &&
	grep -q "^OPSCTL HEALTH [A-Z]* - .*'logs_errors'=0;" "$OUT"
check $? "the demo's health runs: one new ERROR line, then none since"

done_testing
