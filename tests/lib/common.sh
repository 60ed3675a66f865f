# Sourced by every integration test (tests/integration/t*.sh).
#
# Gives each script a private temp dir $T (removed on exit), a private state
# directory, a clean environment (no DB_*, OPSCTL_*, no user's config), and
# TAP-ish helpers: each check prints "ok N - desc", "not ok N - desc" (with
# "# " diagnostic lines after it) or "ok N - desc # SKIP reason".
# done_testing prints the plan and exits 1 when any check failed.
#
#   run "$OPSCTL" db size -d sqlite:x.db   # stdout in $OUT, stderr in $ERR (files), status in $RC
#   expect_rc 0 "size of the sample database"
#   expect_json_true 'd["status"] == "ok"' "json status ok"

set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# OPSCTL_TEST_BIN runs the tests against another binary (an installed one,
# or a snapshot while the tree is being rebuilt).
OPSCTL=${OPSCTL_TEST_BIN:-$ROOT/opsctl}
TEST_NAME=$(basename "$0" .sh)

T=$(mktemp -d "${TMPDIR:-/tmp}/opsctl-$TEST_NAME.XXXXXX")
OUT="$T/stdout"
ERR="$T/stderr"
RC=0
: > "$OUT"
: > "$ERR"
# Readable by the postgres user too (migration files, server-side paths).
chmod 755 "$T"

# ---- a clean, predictable environment ----
for _v in $(compgen -e); do
	case "$_v" in
	OPSCTL_TEST_*) ;;
	OPSCTL_* | DB_* | ENVIRONMENT | MIGRATION_DIR) unset "$_v" ;;
	PG_LOG | PG_TEST_DIR | PG_BIN) ;;
	PG*)
		# The runner's shared cluster exports PGHOST/PGPORT/...; keep those,
		# drop anything a developer's shell carries.
		[ -n "${OPSCTL_TEST_PG_STARTED:-}" ] || unset "$_v" ;;
	esac
done
unset _v
unset PGPASSWORD PGPASSFILE PGSERVICE PGSERVICEFILE PGOPTIONS PGAPPNAME PGSSLMODE PGCONNECT_TIMEOUT
# The alert channels and the LLM check read these: a developer's own must not reach a test.
unset SMTP_PASSWORD SLACK_WEBHOOK_URL PAGERDUTY_ROUTING_KEY LLM_API_KEY OPENAI_API_KEY
export OPSCTL_STATE_DIR="$T/state"
export TZ=UTC LC_ALL=C.UTF-8 LANG=C.UTF-8
export MANPAGER=cat PAGER=cat MANWIDTH=80
export HOME="$T/home"
mkdir -p "$HOME"
cd "$T" || exit 1

# ---- cleanup: functions registered with at_exit run in reverse order ----
_AT_EXIT=()
at_exit() { _AT_EXIT+=("$*"); }
_BG_PIDS=()
# bg CMD...: start CMD in the background in its own process group (setsid),
# output into $T/bg.N.log (never the runner's pipe), killed with its whole
# group at exit.  Sets BG_PID and BG_LOG.
bg() {
	BG_LOG="$T/bg.${#_BG_PIDS[@]}.log"
	setsid "$@" >"$BG_LOG" 2>&1 </dev/null &
	BG_PID=$!
	_BG_PIDS+=("$BG_PID")
}
# bg_kill PID: end one background job and its group now.
bg_kill() {
	kill -TERM -- "-$1" 2>/dev/null || kill -TERM "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}
_common_cleanup() {
	local i rc=$?
	for i in "${_BG_PIDS[@]}"; do
		kill -TERM -- "-$i" 2>/dev/null || kill -TERM "$i" 2>/dev/null || true
	done
	for i in "${_BG_PIDS[@]}"; do
		wait "$i" 2>/dev/null || true
	done
	for ((i = ${#_AT_EXIT[@]} - 1; i >= 0; i--)); do
		eval "${_AT_EXIT[i]}" >/dev/null 2>&1 || true
	done
	cd / && rm -rf "$T"
	return $rc
}
trap _common_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- TAP-ish reporting ----
TEST_N=0
TEST_FAILED=0
ok() {
	TEST_N=$((TEST_N + 1))
	echo "ok $TEST_N - $*"
}
not_ok() {
	TEST_N=$((TEST_N + 1))
	TEST_FAILED=$((TEST_FAILED + 1))
	echo "not ok $TEST_N - $*"
}
skip() {	# skip DESC REASON
	TEST_N=$((TEST_N + 1))
	echo "ok $TEST_N - $1 # SKIP ${2:-}"
}
diag() {
	local l
	while IFS= read -r l; do printf '#   %s\n' "$l"; done <<<"$*"
}
# Show what the last `run` did, after a failed check.
diag_run() {
	diag "command: ${RUN_CMD:-}"
	diag "exit: $RC"
	if [ -s "$OUT" ]; then diag "stdout:"; head -c 1500 "$OUT" | awk '{ print "#     " $0 }'; fi
	if [ -s "$ERR" ]; then diag "stderr:"; head -c 1500 "$ERR" | awk '{ print "#     " $0 }'; fi
}
# check COND_STATUS DESC: ok when the previous command succeeded.
check() {
	local st=$1
	shift
	if [ "$st" -eq 0 ]; then ok "$@"; else not_ok "$@"; diag_run; fi
}

# Every error line the script saw, in git's style (STYLE.md): the failing
# thing first, no full stop at the end, no libpq/SQLite severity prefixes or
# doubled spaces leaking through.
check_error_style() {
	local bad
	[ -s "$T/error-lines" ] || return 0
	bad=$(grep -E '\.$|(FATAL|ERROR|WARNING|DETAIL|HINT):|  |^opsctl: error: *$' "$T/error-lines" | sort -u)
	if [ -z "$bad" ]; then
		ok "error messages are single clean lines ($(sort -u "$T/error-lines" | wc -l) distinct)"
	else
		not_ok "error messages are single clean lines (no full stop, no FATAL:/ERROR: prefixes, no double spaces)"
		diag "$bad"
	fi
}

done_testing() {
	check_error_style
	echo "1..$TEST_N"
	if [ "$TEST_FAILED" -gt 0 ]; then
		echo "# $TEST_FAILED of $TEST_N failed"
		exit 1
	fi
	exit 0
}

# Stop here: nothing else can be tested.
bail_out() {
	not_ok "$*"
	done_testing
}

# ---- running commands ----
# run CMD...: stdout -> $OUT, stderr -> $ERR, exit status -> $RC.  stdin is
# /dev/null so nothing ever waits for a terminal.
run() {
	RUN_CMD="$*"
	"$@" >"$OUT" 2>"$ERR" </dev/null
	RC=$?
	return 0
}
# run_in INPUT CMD...: as run, with INPUT on stdin.
run_in() {
	local input=$1
	shift
	RUN_CMD="$*"
	"$@" >"$OUT" 2>"$ERR" <<<"$input"
	RC=$?
	return 0
}

expect_rc() {	# expect_rc N DESC
	local want=$1
	shift
	if [ "$RC" -eq "$want" ]; then ok "$@"; else not_ok "$* (exit $RC, expected $want)"; diag_run; fi
}
expect_out_contains() {	# expect_out_contains STRING DESC
	local s=$1
	shift
	if grep -qiF -- "$s" "$OUT"; then ok "$@"; else not_ok "$* (stdout lacks '$s')"; diag_run; fi
}
expect_out_not_contains() {
	local s=$1
	shift
	if ! grep -qiF -- "$s" "$OUT"; then ok "$@"; else not_ok "$* (stdout has '$s')"; diag_run; fi
}
expect_err_contains() {	# expect_err_contains STRING DESC
	local s=$1
	shift
	if grep -qiF -- "$s" "$ERR"; then ok "$@"; else not_ok "$* (stderr lacks '$s')"; diag_run; fi
}
expect_out_empty() {
	if [ ! -s "$OUT" ]; then ok "$@"; else not_ok "$* (stdout not empty)"; diag_run; fi
}
expect_err_empty() {
	if [ ! -s "$ERR" ]; then ok "$@"; else not_ok "$* (stderr not empty)"; diag_run; fi
}
# stderr is exactly one error line (and at most one "hint: " line after it)
expect_err_one_line() {
	local n
	n=$(grep -vc '^hint: ' "$ERR")
	if [ "$n" -eq 1 ] && [ "$(grep -c '^hint: ' "$ERR")" -le 1 ] &&
		[ "$(tail -c 1 "$ERR" | od -An -c | tr -d ' ')" = '\n' ]; then
		ok "$@"
	else
		not_ok "$* (stderr has $n lines)"
		diag_run
	fi
}
# The error contract: exit N, one line on stderr starting "opsctl: error: "
# and containing every further argument, nothing on stdout.
expect_error() {	# expect_error N DESC [SUBSTRING...]
	local want=$1 desc=$2 s bad=""
	shift 2
	[ "$RC" -eq "$want" ] || bad="exit $RC, expected $want"
	# One error line, then at most a hint line (printed on a terminal or not).
	if [ "$(grep -vc '^hint: ' "$ERR")" -ne 1 ] || [ "$(grep -c '^hint: ' "$ERR")" -gt 1 ]; then
		bad="${bad:+$bad; }stderr has $(wc -l <"$ERR") lines"
	elif ! head -n 1 "$ERR" | grep -q '^opsctl: error: '; then
		bad="${bad:+$bad; }stderr does not begin 'opsctl: error: '"
	fi
	[ ! -s "$OUT" ] || bad="${bad:+$bad; }stdout not empty"
	for s in "$@"; do
		grep -qiF -- "$s" "$ERR" || bad="${bad:+$bad; }stderr lacks '$s'"
	done
	if [ -z "$bad" ]; then ok "$desc"; else not_ok "$desc ($bad)"; diag_run; fi
	head -n 1 "$ERR" >>"$T/error-lines"
}

# The same for errors found while running, where a partial report on stdout
# is allowed: exit N, one "opsctl: error: " line on stderr with the substrings.
expect_fail() {	# expect_fail N DESC [SUBSTRING...]
	local want=$1 desc=$2 s bad=""
	shift 2
	[ "$RC" -eq "$want" ] || bad="exit $RC, expected $want"
	# One error line, then at most a hint line (printed on a terminal or not).
	if [ "$(grep -vc '^hint: ' "$ERR")" -ne 1 ] || [ "$(grep -c '^hint: ' "$ERR")" -gt 1 ]; then
		bad="${bad:+$bad; }stderr has $(wc -l <"$ERR") lines"
	elif ! head -n 1 "$ERR" | grep -q '^opsctl: error: '; then
		bad="${bad:+$bad; }stderr does not begin 'opsctl: error: '"
	fi
	for s in "$@"; do
		grep -qiF -- "$s" "$ERR" || bad="${bad:+$bad; }stderr lacks '$s'"
	done
	if [ -z "$bad" ]; then ok "$desc"; else not_ok "$desc ($bad)"; diag_run; fi
	head -n 1 "$ERR" >>"$T/error-lines"
}

expect_json() {
	if python3 -c 'import json,sys; json.load(sys.stdin)' <"$OUT" 2>/dev/null; then
		ok "$@"
	else
		not_ok "$* (stdout is not JSON)"
		diag_run
	fi
}
# json_get EXPR: evaluate a python expression with d = the parsed stdout;
# strings print bare, everything else as JSON.  Exit 1 on any error.
json_get() {
	python3 -c '
import json, sys
d = json.load(open(sys.argv[2]))
v = eval(sys.argv[1])
print(v if isinstance(v, str) else json.dumps(v))
' "$1" "${2:-$OUT}" 2>/dev/null
}
# expect_json_true EXPR DESC: the python expression over d is truthy.
# Helpers available in EXPR: db(i) the i-th database report, find(list, key, value).
expect_json_true() {
	local expr=$1
	shift
	if python3 -c '
import json, re, sys
d = json.load(open(sys.argv[2]))
def db(i=0): return d["databases"][i]
def find(lst, key, value):
    for x in lst or []:
        if isinstance(x, dict) and x.get(key) == value: return x
    return None
sys.exit(0 if eval(sys.argv[1]) else 1)
' "$expr" "$OUT" 2>"$T/json_err"; then
		ok "$@"
	else
		not_ok "$* (false: $expr)"
		[ -s "$T/json_err" ] && diag "$(tail -n 1 "$T/json_err")"
		diag_run
	fi
}

# expect_file_contains FILE STRING DESC
expect_file_contains() {
	local f=$1 s=$2
	shift 2
	if [ -f "$f" ] && grep -qF -- "$s" "$f"; then ok "$@"; else
		not_ok "$* ('$f' lacks '$s')"
		[ -f "$f" ] && tail -n 5 "$f" | sed 's/^/#     /'
	fi
}

# need CMD...: skip-worthy tools; prints the first one missing.
missing_tool() {
	local c
	for c in "$@"; do command -v "$c" >/dev/null 2>&1 || { echo "$c"; return 0; }; done
	return 1
}

# A config file: write_config FILE <<'EOF' ... EOF
write_config() { cat >"$1"; }

# wait_for SECONDS CMD...: poll CMD every 0.1 s until it succeeds.
wait_for() {
	local limit=$1 i
	shift
	for ((i = 0; i < limit * 10; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# The journal's line count (0 when there is no journal yet).
journal_count() {
	if [ -f "$OPSCTL_STATE_DIR/journal.jsonl" ]; then
		wc -l <"$OPSCTL_STATE_DIR/journal.jsonl"
	else
		echo 0
	fi
}
# expect_journal_added N DESC: the journal grew by N lines since journal_mark.
journal_mark() { JOURNAL_MARK=$(journal_count); }

# derive_conf SRC DST "key = value"...: SRC with those keys replaced.
derive_conf() {
	python3 - "$@" <<'PY'
import sys
src, dst, *lines = sys.argv[1:]
keys = {l.split("=")[0].strip() for l in lines}
kept = [l for l in open(src).read().splitlines() if "=" not in l or l.split("=")[0].strip() not in keys]
open(dst, "w").write("\n".join(kept + lines) + "\n")
PY
}

# expect_lock_file TASK TARGET DESC: exactly one lock file of TASK on TARGET
# (lib/run/lock.c's name: the target's safe bytes, '_' for the others, at
# most 51 of them, then a digest), its path in LOCK_FILE.
expect_lock_file() {
	local slug
	slug=$(printf '%s' "$2" | tr -c 'A-Za-z0-9._-' '_' | cut -c1-51)
	local desc=$3
	set -- "$OPSCTL_STATE_DIR"/locks/"$1@$slug"-*.lock
	LOCK_FILE=$1
	if [ $# -eq 1 ] && [ -f "$1" ]; then ok "$desc ($(basename "$1"))"; else
		not_ok "$desc (found: $*)"; ls "$OPSCTL_STATE_DIR/locks" | sed 's/^/#   /'; fi
}
expect_journal_added() {
	local want=$1 got
	shift
	got=$(($(journal_count) - ${JOURNAL_MARK:-0}))
	if [ "$got" -eq "$want" ]; then ok "$@"; else
		not_ok "$* (journal grew by $got lines, expected $want)"
		diag_run
		[ -f "$OPSCTL_STATE_DIR/journal.jsonl" ] && tail -n 2 "$OPSCTL_STATE_DIR/journal.jsonl" | sed 's/^/#     journal: /'
	fi
}
# expect_journal_last EXPR DESC: EXPR over j, the journal's last line.
expect_journal_last() {
	local expr=$1
	shift
	if [ -f "$OPSCTL_STATE_DIR/journal.jsonl" ] && python3 -c '
import json, sys
lines = open(sys.argv[2]).read().splitlines()
j = json.loads(lines[-1])
sys.exit(0 if eval(sys.argv[1]) else 1)
' "$expr" "$OPSCTL_STATE_DIR/journal.jsonl" 2>"$T/json_err"; then
		ok "$@"
	else
		not_ok "$* (false: $expr)"
		[ -s "$T/json_err" ] && diag "$(tail -n 1 "$T/json_err")"
		[ -f "$OPSCTL_STATE_DIR/journal.jsonl" ] && tail -n 1 "$OPSCTL_STATE_DIR/journal.jsonl" | sed 's/^/#     journal: /'
	fi
}

[ -x "$OPSCTL" ] || { echo "# $OPSCTL is not built (run make)"; bail_out "opsctl binary exists"; }
