#!/usr/bin/env bash
# t757: opsctl health -n keeps what it notified per set of components, so
# that two cron lines (`health -c api -n`, `health -c disk -n`) never resolve
# or re-send each other's notifications; the report says which notification
# went out (sent, resolved, already notified, not needed, failed) and a
# failed one is a warning line.  The channel: Slack, played by
# tests/lib/alert_peer.py; the api behind tests/lib/http_peer.py.
. "$(dirname "$0")/../lib/common.sh"
tool=$(missing_tool python3) && bail_out "$tool is needed for the peers"

HOOK_PATH="/services/T0757TEST/B0757TEST/hook757secret"
ROUTING_KEY=0123456789abcdef0123456789abcdef
REC="$T/requests.jsonl"
: >"$REC"
bg python3 "$ROOT/tests/lib/alert_peer.py" "$T/alert.ports" "$REC" "$HOOK_PATH" "$ROUTING_KEY" plain
wait_for 10 test -s "$T/alert.ports" || { sed 's/^/#   /' "$BG_LOG"; bail_out "the alert peer starts"; }
bg python3 "$ROOT/tests/lib/http_peer.py" "$T/http.ports" plain
wait_for 10 test -s "$T/http.ports" || { sed 's/^/#   /' "$BG_LOG"; bail_out "the HTTP peer starts"; }
SLACK="http://127.0.0.1:$(awk '$1 == "plain" { print $2 }' "$T/alert.ports")"
H="http://127.0.0.1:$(awk '$1 == "plain" { print $2 }' "$T/http.ports")"
(umask 077 && echo "$SLACK$HOOK_PATH" >"$T/slack.url")

export OPSCTL_CONFIG="$T/opsctl.conf"
# conf API_PATH DISK_WARN_PCT [SLACK_URL_FILE]
conf() {
	cat >"$OPSCTL_CONFIG" <<EOF
[health]
check_timeout = 2s
api_url = $H$1
disk_paths = $T
disk_warn_pct = $2
disk_critical_pct = 100
notify_channels = slack
[alerts]
timeout = 2s
slack_webhook_file = ${3:-$T/slack.url}
EOF
}
slack_count() { grep -c '"path": "'"$HOOK_PATH"'"' "$REC" || true; }
last_text() { grep '"path": "'"$HOOK_PATH"'"' "$REC" | tail -n 1 | python3 -c 'import json, sys; print(json.loads(sys.stdin.read())["body"]["text"])'; }
# hc SET: one -n run of health -c SET in JSON
hc() { run "$OPSCTL" -o json health -c "$1" -n; }
NOTE='d["notification"]'

# ---- api down: its set notifies ----
conf /status/500 100
hc api
expect_rc 2 "api down: CRITICAL"
expect_json_true "$NOTE[\"status\"] == \"sent\" and $NOTE[\"set\"] == \"api\" and $NOTE[\"reason\"] == \"new problem\"" \
	"JSON: notification sent for the set api (a new problem)"
[ "$(slack_count)" -eq 1 ] && last_text | grep -q "OPSCTL HEALTH CRITICAL - api: HTTP 500"
check $? "Slack got one message, the api's CRITICAL"

# ---- the disk set is fine: it must not resolve the api's problem ----
hc disk
expect_rc 0 "disk: OK"
expect_json_true "$NOTE[\"status\"] == \"not needed\" and $NOTE[\"set\"] == \"disk\"" \
	"JSON: the disk set has nothing to notify"
[ "$(slack_count)" -eq 1 ]; check $? "no 'resolved' was sent for the api's problem by the disk's run ($(slack_count) messages)"

hc api
expect_rc 2 "api still down"
expect_json_true "$NOTE[\"status\"] == \"already notified\"" "the api's problem is still known as notified"
[ "$(slack_count)" -eq 1 ]; check $? "nothing sent again ($(slack_count) messages)"

# ---- the disk set's own problem, beside the api's ----
conf /status/500 1
hc disk
expect_rc 1 "disk above 1%: WARNING"
expect_json_true "$NOTE[\"status\"] == \"sent\" and $NOTE[\"set\"] == \"disk\"" "JSON: the disk's problem is sent"
[ "$(slack_count)" -eq 2 ] && last_text | grep -q "OPSCTL HEALTH WARNING - disk: "
check $? "Slack got the disk's WARNING"
hc api
expect_json_true "$NOTE[\"status\"] == \"already notified\"" "the api's set did not see the disk's problem as a change"
[ "$(slack_count)" -eq 2 ]; check $? "nothing more sent ($(slack_count) messages)"

# ---- api recovers: its resolved notice, and only its ----
conf /ok 1
run "$OPSCTL" health -c api -n
expect_rc 0 "api back: OK"
grep -q "resolved" "$OUT"; check $? "text: the notification block says resolved"
[ "$(slack_count)" -eq 3 ] && last_text | grep -q "RESOLVED" && last_text | grep -q "OPSCTL HEALTH OK"
check $? "Slack got one RESOLVED notice"
hc disk
expect_json_true "$NOTE[\"status\"] == \"already notified\"" "the disk's problem is still open after the api's recovery"
[ "$(slack_count)" -eq 3 ]; check $? "nothing sent for the disk ($(slack_count) messages)"
python3 - "$OPSCTL_STATE_DIR/health/state.json" <<'PY'
import json, sys
n = json.load(open(sys.argv[1]))["notifications"]
sys.exit(0 if n["api"]["open"] is False and n["disk"]["open"] is True else 1)
PY
check $? "state.json keeps notifications.api (closed) and notifications.disk (open)"

# ---- a notification that cannot be delivered: failed, and a warning ----
(umask 077 && echo "$SLACK/services/T0757TEST/B0757TEST/wrong" >"$T/bad.url")
conf /ok 100 "$T/bad.url"
hc disk
expect_rc 0 "disk back: OK"
expect_json_true "$NOTE[\"status\"] == \"failed\" and \"404\" in $NOTE[\"error\"]" "JSON: the resolved notice failed, the error naming Slack's 404"
grep -q "^opsctl: warning: health: notification not delivered: .*404" "$ERR"
check $? "stderr: 'health: notification not delivered: WHY'"
conf /ok 100
hc disk
expect_json_true "$NOTE[\"status\"] == \"resolved\"" "the next run delivers the resolved notice it owes"
[ "$(slack_count)" -eq 4 ] && last_text | grep -q "RESOLVED"
check $? "Slack got the disk's RESOLVED notice"

done_testing
