#!/usr/bin/env bash
# t060: `opsctl status` reads the journal back: the last run of every task
# on every target (time in ISO 8601 UTC, status, exit, duration) and, when
# it failed, the last success; text (lib/core/output.c's layout, as every
# command's) and JSON; no journal is no tasks, exit 0; torn lines are
# skipped and counted; a large journal is streamed, not loaded whole.
. "$(dirname "$0")/../lib/common.sh"
. "$ROOT/tests/lib/pg.sh"

J="$OPSCTL_STATE_DIR/journal.jsonl"

run "$OPSCTL" status
expect_rc 0 "no journal: exit 0"
if grep -qE '^tasks: +none$' "$OUT"; then ok "no journal: no runs recorded"; else not_ok "no journal: no runs recorded"; diag_run; fi
if grep -qE "^journal: +$J\$" "$OUT"; then ok "no journal: the journal's path is named"; else not_ok "no journal: the journal's path is named"; diag_run; fi
expect_err_empty "no journal: nothing on stderr"
run "$OPSCTL" -o json status
expect_json_true 'd["status"] == "ok" and d["tasks"] == [] and d["journal"] == "'"$J"'"' \
	"no journal: JSON with an empty task list"

# Real runs: a success, then a failure of the same task and target, and
# another target that only ever failed.
sqlite_make_sample_db "$T/hub.db"
run "$OPSCTL" --env dev db maintain -d "$T/hub.db"
expect_rc 0 "a maintenance run that succeeds"
ok_time=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).read().splitlines()[-1])["time"])' "$J")
sleep 1
mv "$T/hub.db" "$T/hub.db.away"
run "$OPSCTL" --env dev db maintain -d "$T/hub.db"
expect_rc 1 "the same task on the same target fails"
fail_exit=$RC
run "$OPSCTL" --env dev db maintain -d "$T/none.db"
expect_rc 1 "another target that never succeeded"

run "$OPSCTL" status
expect_rc 0 "status: exit 0"
# The text is lib/core/output.c's layout, as every command's: the tasks as a
# table, or (wider than the line, as these paths make it) a block per task.
block() {	# block TARGET: the "name: value" lines of that target's task
	awk -v t="$1" '/^  task: / { b = "" } /^  / { b = b $0 "\n" } /^  target: / { hit = ($2 == t) }
		/^$/ && hit { printf "%s", b; hit = 0 } END { if (hit) printf "%s", b }' "$OUT"
}
b=$(block "sqlite:$T/hub.db")
if grep -qE '^  task: +db maintain$' <<<"$b" && grep -qE '^  last run: +[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z$' <<<"$b" &&
	grep -qE '^  status: +failed$' <<<"$b" && grep -qE "^  exit code: +$fail_exit\$" <<<"$b" &&
	grep -qE '^  duration: +[0-9.]+ (ms|s)$' <<<"$b" && grep -qE "^  last success: +$ok_time\$" <<<"$b"; then
	ok "the task: name, target, last run in UTC, failed, exit, duration, last success"
else
	not_ok "the task: name, target, last run in UTC, failed, exit, duration, last success"
	diag "block: $b"
	diag_run
fi
if grep -qF "  error:        database file '$T/hub.db' does not exist" <<<"$b"; then ok "a failed run's error with its task"
else not_ok "a failed run's error with its task"; diag "block: $b"; fi
if block "sqlite:$T/none.db" | grep -qE '^  last success: +-$'; then ok "a target that never succeeded has no last success"
else not_ok "a target that never succeeded has no last success"; diag_run; fi
if [ "$(grep -c '^  task: *db maintain$' "$OUT")" -eq 2 ]; then ok "one entry per task and target"
else not_ok "one entry per task and target"; diag_run; fi
run "$OPSCTL" -o json status
expect_json_true 'len(d["tasks"]) == 2' "JSON: one entry per task and target"
expect_json_true 'find(d["tasks"], "target", "sqlite:'"$T"'/hub.db")["last_success"] == "'"$ok_time"'" and find(d["tasks"], "target", "sqlite:'"$T"'/hub.db")["status"] == "failed" and find(d["tasks"], "target", "sqlite:'"$T"'/hub.db")["runs"] == 2' \
	"JSON: last run failed, last_success the earlier run, runs 2"
expect_json_true 'find(d["tasks"], "target", "sqlite:'"$T"'/none.db")["last_success"] is None and find(d["tasks"], "target", "sqlite:'"$T"'/none.db")["exit_code"] == 1' \
	"JSON: never succeeded is null"
expect_json_true 'all(set(t) == {"task", "target", "last_run", "status", "exit_code", "duration_seconds", "error", "last_success", "runs"} for t in d["tasks"])' \
	"JSON: every entry has the documented members"

# A torn line (a crash mid-write, an editor) is skipped and counted.
printf '{"time": "2026-\n' >>"$J"
run "$OPSCTL" status
expect_rc 0 "a torn line: still exit 0"
if grep -qE '^skipped lines: +1$' "$OUT"; then ok "a torn line is counted"; else not_ok "a torn line is counted"; diag_run; fi

# A large journal is read a line at a time: 300000 lines (about 150 MB)
# under a 64 MB address-space limit.
python3 - "$J" <<'EOF'
import json, sys
with open(sys.argv[1], "a") as f:
    line = {"time": "", "command": "", "target": "local:/b", "args": ["opsctl", "x" * 400],
            "environment": "prod", "host": "h", "pid": 1, "duration_seconds": 1.5,
            "status": "ok", "exit": 0, "figures": {}}
    for i in range(300000):
        line["command"] = ("backup", "vector rebuild")[i % 2]
        line["time"] = "2026-11-%02dT02:00:00.%03dZ" % (1 + i // 20000, i % 1000)
        f.write(json.dumps(line) + "\n")
EOF
size=$(stat -c %s "$J")
( ulimit -v 65536; "$OPSCTL" status >"$OUT" 2>"$ERR" ); RC=$?
expect_rc 0 "a $((size / 1048576)) MiB journal under a 64 MiB memory limit"
expect_out_contains "vector rebuild" "the large journal's tasks are listed"

done_testing
