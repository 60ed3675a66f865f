#!/usr/bin/env bash
# t755: what a server says never breaks opsctl health's plugin output.  A
# monitoring system reads everything after the first '|' of any line as
# perfdata and each newline as another line, so in the status line, the
# component lines, -v's blocks and an UNKNOWN line a '|' from an HTTP body,
# a log line or a configured path is '/', and a newline a space.  JSON keeps
# the text as it came (its escapes are enough).
. "$(dirname "$0")/../lib/common.sh"
. "$ROOT/tests/lib/health.sh"
tool=$(missing_tool python3) && bail_out "$tool is needed for the peer"

bg python3 "$ROOT/tests/lib/http_peer.py" "$T/ports" plain
wait_for 10 test -s "$T/ports" || { sed 's/^/#   /' "$BG_LOG"; bail_out "the HTTP peer starts"; }
H="http://127.0.0.1:$(awk '$1 == "plain" { print $2 }' "$T/ports")"
export OPSCTL_CONFIG="$T/opsctl.conf"
conf() { printf '%s\n' '[health]' 'check_timeout = 2s' "$@" >"$OPSCTL_CONFIG"; }

# plugin_ok DESC: the first line has no '|' but the one before its perfdata
# (" | 'label'=..."), every other line none.
plugin_ok() {
	local bad=""
	if head -n 1 "$OUT" | sed "s/ | '[a-z0-9_.]*'=.*//" | grep -q '|'; then
		bad="a '|' in the status text"
	fi
	if tail -n +2 "$OUT" | grep -q '|'; then bad="${bad:+$bad; }a '|' after the first line"; fi
	if [ -z "$bad" ]; then ok "$1"; else not_ok "$1 ($bad)"; diag_run; fi
}

# ---- an API whose error body has a '|' and a newline ----
conf "api_url = $H/status/503?body=a%7Cb%0Ac"
run "$OPSCTL" health -c api
expect_health 2 CRITICAL "an HTTP 503: CRITICAL, the reason quotes the body on one line" "HTTP 503: a/b c"
expect_perf "^'api_time'=" "the perfdata still follows the one '|'"
plugin_ok "the body's '|' is '/' in the status line and the component line"
grep -q "^api  *CRITICAL  HTTP 503: a/b c$" "$OUT"
check $? "the component line: the body's newline is a space, its '|' a '/'"
if grep -qx 'c' "$OUT"; then not_ok "no line of the output is the rest of the body"; diag_run; else
	ok "no line of the output is the rest of the body"; fi
run "$OPSCTL" -o json health -c api
expect_json_true 'find(d["components"], "component", "api")["summary"] == "HTTP 503: a|b c"' \
	"JSON: the summary keeps the '|' (one line: the newline is a space there too)"

# ---- a log line with a '|', shown by -v ----
mkdir -p "$T/logs"
conf "log_files = $T/logs/app.log" "log_warn = 1"
printf '%s\n' 'ERROR upstream said a|b' 'ERROR twice | again' >"$T/logs/app.log"
run "$OPSCTL" health -c logs -v
expect_health 1 WARNING "two new error lines above log_warn 1: WARNING" "logs: 2 new error lines"
grep -q "ERROR upstream said a/b" "$OUT"
check $? "-v shows the sample line, its '|' as '/'"
plugin_ok "-v: no '|' in any line after the status line"

# ---- UNKNOWN: a configured value with a '|' in a reason ----
conf "disk_paths = $T/no|such"
run "$OPSCTL" health -c disk
expect_health 3 UNKNOWN "a disk path that does not exist: UNKNOWN" "no/such does not exist"
plugin_ok "the path's '|' is '/' in the UNKNOWN status line"

# ---- UNKNOWN before any check: the runner's own line ----
printf '[health]\ntimeout = 5|x\n' >"$OPSCTL_CONFIG"
run "$OPSCTL" health -c disk
expect_rc 3 "a configuration that cannot be read: UNKNOWN, exit 3"
if head -n 1 "$OUT" | grep -q '^OPSCTL HEALTH UNKNOWN - ' || head -n 1 "$OUT" | grep -q '^HEALTH UNKNOWN - '; then
	ok "the UNKNOWN line is on stdout"
else not_ok "the UNKNOWN line is on stdout"; diag_run; fi
plugin_ok "no '|' in the UNKNOWN line"

done_testing
