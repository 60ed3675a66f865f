#!/usr/bin/env bash
# t950: opsctl run TIER (guide 003's run_maintenance.sh) on a test
# deployment, the SQLite knowledge hub that scripts/demo builds.  Issue 16's
# acceptance: `run weekly` runs every task and reports the one planted
# failure while finishing the rest.  Also: the window skips a destructive
# task and --force runs it (with --force); --dry-run runs nothing; a bad
# tier is 64, a bad task in run.weekly 78 naming the key and the word; a
# second run of the same tier 75; a task over run.task_timeout is "timeout"
# and the tier goes on; SIGTERM stops the running task and the tier (143);
# the journal's tier line, its figures and last_success; the JSON envelope;
# the destructive list agrees with every command whose --force overrides
# the window.
. "$(dirname "$0")/../lib/common.sh"
tool=$(missing_tool python3 sqlite3) && bail_out "$tool (scripts/setup)"
unset PGDATABASE PGHOST PGPORT PGUSER
PROM="$OPSCTL_STATE_DIR/opsctl.prom"
JOURNAL="$OPSCTL_STATE_DIR/journal.jsonl"

sqlite3 -bail hub.db <"$ROOT/tests/lib/knowledge_hub.sql" || bail_out "the sample hub is created"
HUB="sqlite:$T/hub.db"

# conf FILE WINDOW WEEKLY [more lines]: prod, its window, run.weekly.
conf() {
	local f=$1 w=$2 weekly=$3
	shift 3
	{
		printf '[general]\nenvironment = prod\n[window]\nprod = %s\n[run]\nweekly = %s\n' "$w" "$weekly"
		printf '%s\n' "$@"
	} >"$f"
}
WEEKLY="db maintain -d $HUB; db integrity -d sqlite:$T/missing.db; db analyze -d $HUB; db vacuum --full -d $HUB; db size -d $HUB"
conf never.conf never "$WEEKLY"
conf any.conf any "$WEEKLY"
# journal_since N: the journal's lines after the first N, one JSON a line.
journal_lines() { tail -n +"$((JOURNAL_MARK + 1))" "$JOURNAL"; }
# jcount EXPR: how many new journal lines make EXPR (over j) true.
jcount() {
	journal_lines | python3 -c '
import json, sys
print(sum(1 for l in sys.stdin if l.strip() and eval(sys.argv[1], {"j": json.loads(l)})))' "$1"
}

# ---- the acceptance: every task runs, the planted failure is reported ----
journal_mark
run "$OPSCTL" --config never.conf run weekly
expect_rc 1 "run weekly with one failing task: exit 1"
[ "$(grep -c '^opsctl: error: ' "$ERR")" -eq 1 ] &&
	grep -q "^opsctl: error: weekly: 1 of 5 tasks failed, first 'db integrity -d sqlite:$T/missing.db' (exit 1: database file '.*missing.db' does not exist)$" "$ERR"
check $? "one error line naming the failed task, its exit and its own error"
expect_out_contains "db maintain -d $HUB" "text: the table lists the first task"
grep -Eq "^ +db integrity -d sqlite:$T/missing.db +failed .* 1$" "$OUT"
check $? "text: the planted task's row says failed and exit 1"
grep -Eq "^ +db size -d $HUB +ok .* 0$" "$OUT"
check $? "text: the last task still ran and is ok"
grep -Eq "^ +db vacuum --full -d $HUB +skipped " "$OUT"
check $? "text: VACUUM FULL outside the window is skipped"
expect_out_contains "missing.db' does not exist" "text: the failed task's own error line under problems"
expect_err_contains "opsctl: warning: weekly: 'db vacuum --full -d $HUB' skipped: outside the prod maintenance window" \
	"a warning line for the skipped task"
expect_err_contains "the window never opens" "the skip says when the window opens (never)"
expect_journal_added 5 "journal: the tier's line and one line each for the four tasks that ran"
[ "$(jcount 'j["command"] == "run"')" -eq 1 ]
check $? "journal: one line of the tier itself"
[ "$(jcount 'j["command"].startswith("db ")')" -eq 4 ]
check $? "journal: each task that ran wrote its own line (db maintain, integrity, analyze, size)"
[ "$(jcount 'j["command"] == "db integrity" and j["status"] == "failed"')" -eq 1 ]
check $? "journal: the planted failure's own line is failed"
expect_journal_last 'j["command"] == "run" and j["target"] == "weekly" and j["status"] == "failed" and j["exit"] == 1 and j["figures"]["opsctl_run_tasks"] == 5 and j["figures"]["opsctl_run_tasks_failed"] == 1 and j["figures"]["opsctl_run_tasks_skipped"] == 1' \
	"journal: the tier's line last: task run, target weekly, failed, the three figures"
grep -q '^opsctl_run_tasks_failed{task="run",target="weekly"} 1$' "$PROM"
check $? "textfile: opsctl_run_tasks_failed{task=\"run\",target=\"weekly\"} 1"
grep -q '^opsctl_run_tasks_skipped{task="run",target="weekly"} 1$' "$PROM"
check $? "textfile: opsctl_run_tasks_skipped 1"
! grep -q '^opsctl_last_success_timestamp_seconds{task="run",target="weekly"}' "$PROM"
check $? "textfile: a tier with a failed task has no last success"
grep -q '^# HELP opsctl_run_tasks ' "$PROM"
check $? "textfile: the tier's figures have their HELP line"

# ---- JSON: the envelope and one entry per task ----
run "$OPSCTL" --config never.conf run weekly -o json
expect_rc 1 "-o json: still exit 1"
expect_json_true 'd["command"] == "run" and d["status"] == "failed" and d["exit_code"] == 1 and "1 of 5 tasks failed" in d["error"] and isinstance(d["duration_seconds"], (int, float))' \
	"envelope: command run, status failed, exit_code 1, the error"
expect_json_true 'd["tier"] == "weekly" and d["tasks_total"] == 5 and d["tasks_failed"] == 1 and d["tasks_skipped"] == 1 and [t["status"] for t in d["tasks"]] == ["ok", "failed", "ok", "skipped", "ok"]' \
	"tasks: five entries in order, ok failed ok skipped ok"
expect_json_true 'd["tasks"][1]["exit_code"] == 1 and "missing.db" in d["tasks"][1]["error"] and d["tasks"][1]["command"] == "db integrity" and any("missing.db" in l for l in d["tasks"][1]["output"])' \
	"the failed task: exit_code 1, its error line, its last output lines"
expect_json_true 'd["tasks"][0]["argv"][:2] == ["--config", "never.conf"] and d["tasks"][0]["argv"][2:4] == ["db", "maintain"] and d["tasks"][0]["exit_code"] == 0 and d["tasks"][0]["error"] is None' \
	"each task gets the tier's --config before its words"
expect_json_true 'd["tasks"][3]["destructive"] is True and d["tasks"][3]["exit_code"] is None and "never opens" in d["tasks"][3]["error"] and not any(t["destructive"] for i, t in enumerate(d["tasks"]) if i != 3)' \
	"only VACUUM FULL is destructive; skipped, with the reason"
expect_json_true '"_figures" not in d' "no internal members in the JSON"

# ---- --force: the destructive task runs, and is given --force ----
journal_mark
run "$OPSCTL" --config never.conf run weekly --force -o json
expect_rc 1 "--force outside the window: the planted failure still fails the tier"
expect_json_true 'd["tasks"][3]["status"] == "ok" and d["tasks"][3]["argv"][-1] == "--force" and d["tasks_skipped"] == 0' \
	"--force: VACUUM FULL ran, with --force passed to it"
expect_json_true 'all("--force" not in t["argv"] for i, t in enumerate(d["tasks"]) if i != 3)' \
	"--force goes to destructive tasks only"
[ "$(jcount 'j["command"] == "db vacuum" and j["status"] == "ok"')" -eq 1 ]
check $? "journal: db vacuum wrote its own ok line"

# ---- inside the window: it runs without --force ----
run "$OPSCTL" --config any.conf run weekly -o json
expect_json_true 'd["tasks"][3]["status"] == "ok" and "--force" not in d["tasks"][3]["argv"]' \
	"window any: VACUUM FULL runs without --force"

# ---- a tier where everything succeeds: exit 0 and a last success ----
conf good.conf never "db size -d $HUB; db analyze -d $HUB; db vacuum --full -d $HUB"
run "$OPSCTL" --config good.conf run weekly
expect_rc 0 "every task ok, one skipped by the window: exit 0"
expect_err_contains "skipped" "a skipped task is still a warning line"
grep -q '^opsctl_last_success_timestamp_seconds{task="run",target="weekly"} ' "$PROM"
check $? "textfile: opsctl_last_success_timestamp_seconds{task=\"run\",target=\"weekly\"} exists"

# ---- --dry-run: the plan, nothing run, nothing journalled ----
journal_mark
before=$(stat -c %Y.%s hub.db)
copies=$(find "$OPSCTL_STATE_DIR" -name '*.db*' | wc -l)
run "$OPSCTL" --config never.conf run weekly --dry-run -o json
expect_rc 0 "--dry-run: exit 0"
expect_json_true '[t["status"] for t in d["tasks"]] == ["would run", "would run", "would run", "would be skipped", "would run"] and d["tasks"][1]["argv"][-2:] == ["-d", "sqlite:" + __import__("os").getcwd() + "/missing.db"]' \
	"--dry-run: each task's argv and whether the window would skip it"
expect_journal_added 0 "--dry-run: no journal line at all"
[ "$(stat -c %Y.%s hub.db)" = "$before" ] && [ "$(find "$OPSCTL_STATE_DIR" -name '*.db*' | wc -l)" -eq "$copies" ]
check $? "--dry-run: the database untouched, no pre-maintenance copy"

# ---- usage and configuration errors ----
run "$OPSCTL" run weeky
expect_error 64 "a bad tier: exit 64 with the nearest" "unknown TIER 'weeky'" "did you mean 'weekly'"
run "$OPSCTL" run weekly monthly
expect_error 64 "two tiers: exit 64" "takes no argument 'monthly'"
journal_mark
conf bad.conf never "db size -d $HUB; vectr verify"
run "$OPSCTL" --config bad.conf run weekly
expect_error 78 "an unknown command in run.weekly: exit 78 naming the key and the word" \
	"run.weekly" "vectr" "did you mean 'vector'"
expect_journal_added 1 "a bad task: no task ran; the tier's own failed line only"
expect_journal_last 'j["command"] == "run" and j["exit"] == 78' "journal: the tier failed with 78 (monitoring sees it)"
# bad_weekly DESC VALUE SUBSTRING...: run.weekly = VALUE is exit 78 saying each.
bad_weekly() {
	local desc=$1 value=$2
	shift 2
	conf bad.conf never "$value"
	run "$OPSCTL" --config bad.conf run weekly
	expect_error 78 "$desc" run.weekly "$@"
}
bad_weekly "an unknown option in run.weekly: exit 78 naming the key" "db size -d $HUB --frobnicate" "frobnicate"
bad_weekly "an unterminated quote in run.weekly: exit 78" "db size -d $HUB; \"db size" "unterminated quote"
bad_weekly "a tier inside a tier: exit 78" "run daily" "'run' cannot be a task"
bad_weekly "a group without its command: exit 78" "db" "needs a command"
conf bad6.conf never "db size" "task_timeout = 0"
run "$OPSCTL" --config bad6.conf run weekly
expect_error 78 "run.task_timeout 0: exit 78 naming the key" "run.task_timeout"
# The shipped defaults name real commands: every tier resolves.
for tier in daily weekly monthly quarterly; do
	run "$OPSCTL" run "$tier" --dry-run -o json
	expect_json_true 'd["exit_code"] == 0 and len(d["tasks"]) >= 3' "the default run.$tier resolves: a plan of its tasks"
done

# ---- a stalled task: the lock, the timeout, SIGTERM ----
bg python3 "$ROOT/tests/lib/http_peer.py" "$T/ports" plain
wait_for 10 test -s "$T/ports" || { sed 's/^/#   /' "$BG_LOG"; bail_out "the HTTP peer starts"; }
STALL="http://127.0.0.1:$(awk '$1 == "plain" { print $2 }' "$T/ports")/stall"
conf slow.conf never "health -c api; db size -d $HUB" "task_timeout = 60s" \
	"[health]" "api_url = $STALL" "check_timeout = 60s" "timeout = 120s"
conf timeout.conf never "health -c api; db size -d $HUB" "task_timeout = 2s" \
	"[health]" "api_url = $STALL" "check_timeout = 60s" "timeout = 120s"

"$OPSCTL" --config slow.conf run weekly -o json >slow.out 2>slow.err </dev/null &
SLOW=$!
# The tier holds its lock while its first task waits on the stalled API.
wait_for 10 test -n "$(ls "$OPSCTL_STATE_DIR"/locks/run@weekly*.lock 2>/dev/null)"
check $? "the tier takes its lock run@weekly"
sleep 0.5
run "$OPSCTL" --config slow.conf run weekly
expect_error 75 "a second run of the same tier: exit 75 naming the holder" "run" "pid $SLOW"
journal_mark
kill -TERM "$SLOW"
wait "$SLOW"
RC=$?
[ "$RC" -eq 143 ]
check $? "SIGTERM to the tier: exit 143 (got $RC)"
grep -q "interrupted by SIGTERM" slow.err
check $? "SIGTERM: the error line names SIGTERM"
cp slow.out "$OUT"
expect_json_true 'd["exit_code"] == 143 and [t["status"] for t in d["tasks"]] == ["interrupted", "not run"]' \
	"SIGTERM: the running task interrupted, the rest not run"
[ "$(jcount 'j["command"] == "health" and j["status"] == "interrupted"')" -eq 1 ] &&
	[ "$(jcount 'j["command"] == "run" and j["status"] == "interrupted" and j["exit"] == 143')" -eq 1 ] &&
	[ "$(jcount 'j["command"] == "db size"')" -eq 0 ]
check $? "journal: the stopped task's line, the tier's interrupted line, nothing of the task not run"
[ $? -eq 0 ] || journal_lines | sed 's/^/#   /'
! pgrep -f "slow.conf.*health" >/dev/null
check $? "no task left running after SIGTERM"
run "$OPSCTL" --config good.conf run weekly
expect_rc 0 "after SIGTERM the tier's lock is free again"

t0=$(date +%s)
run "$OPSCTL" --config timeout.conf run weekly -o json
t1=$(date +%s)
expect_rc 1 "a task over run.task_timeout: the tier exits 1"
expect_json_true 'd["tasks"][0]["status"] == "timeout" and "timed out after 2 s" in d["tasks"][0]["error"] and d["tasks"][1]["status"] == "ok"' \
	"the stalled task is timeout with the limit; the next task still runs"
expect_json_true '2 <= d["tasks"][0]["duration_seconds"] < 10' "the timeout stopped it within the grace"
[ $((t1 - t0)) -lt 20 ]
check $? "the whole tier ended long before the stalled API would have answered"

# ---- the destructive list agrees with the commands ----
# Every command whose -f/--force overrides the maintenance window must be
# one the tier skips outside it (otherwise the child, not the tier, would
# refuse it: a failure instead of a skip).
lines=""
while read -r cmd; do
	if "$OPSCTL" $cmd --help | grep -A1 -- "-f, --force" | tr -s ' \n' ' ' | grep -q "maintenance window"; then
		extra=""
		case "$cmd" in
		run) continue ;;
		"backup restore") extra=" latest" ;;
		"db vacuum") extra=" --full" ;;
		"db connections") extra=" --terminate" ;;
		esac
		lines="${lines:+$lines; }$cmd$extra"
	fi
done < <("$OPSCTL" __complete commands)
conf every.conf never "$lines"
run "$OPSCTL" --config every.conf run weekly --dry-run -o json
expect_json_true 'len(d["tasks"]) >= 10 and all(t["status"] == "would be skipped" for t in d["tasks"])' \
	"every command whose --force overrides the window is skipped by the tier outside it ($lines)"

check_error_style
done_testing
