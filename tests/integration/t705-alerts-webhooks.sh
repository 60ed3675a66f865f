#!/usr/bin/env bash
# opsctl alerts to Slack (incoming webhook) and PagerDuty (Events API v2),
# against tests/lib/alert_peer.py, which checks each request against the
# services' documented format and answers as they do (Slack 200 "ok" / 400 /
# 404 "no_service"; PagerDuty 202 success / 400 with errors): delivery
# proven, a test tagged and (PagerDuty) resolved with its trigger's dedup
# key, failures named by status, a stalled peer bounded by alerts.timeout and
# sent to once, TLS verified (wrong host and expired certificates named),
# and the webhook URL and routing key in no output, log or journal line.
. "$(dirname "$0")/../lib/common.sh"
. "$ROOT/tests/lib/alerts.sh"
. "$ROOT/tests/lib/tls.sh"

HOST=$(hostname)
P="$T/pki"
tls_peer_set "$P" "t705 test CA" 2>"$T/pki.log" || { sed 's/^/#   /' "$T/pki.log"; bail_out "test CA and certificates"; }

# The secrets: distinctive, so that any leak is found by grep.
HOOK_SECRET="hb705$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
HOOK_PATH="/services/T0705TEST/B0705TEST/$HOOK_SECRET"
ROUTING_KEY=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
REC="$T/requests.jsonl"
: >"$REC"

bg python3 "$ROOT/tests/lib/alert_peer.py" "$T/ports" "$REC" "$HOOK_PATH" "$ROUTING_KEY" plain \
	"good:$P/good.pem:$P/good.key" "expired:$P/expired.pem:$P/expired.key" \
	"otherhost:$P/otherhost.pem:$P/otherhost.key"
wait_for 10 test -s "$T/ports" || { sed 's/^/#   /' "$BG_LOG"; bail_out "the alert peer starts"; }
port() { awk -v n="$1" '$1 == n { print $2 }' "$T/ports"; }
PLAIN=$(port plain) GOOD=$(port good) EXPIRED=$(port expired) OTHER=$(port otherhost)

# Everything opsctl printed or logged, for the secrets check at the end.
ALL="$T/all-output"
: >"$ALL"
r() { run "$OPSCTL" "$@"; cat "$OUT" "$ERR" >>"$ALL"; }

secret_file() {	# secret_file NAME VALUE
	(umask 077 && printf '%s\n' "$2" >"$T/$1")
}
secret_file slack.url "http://127.0.0.1:$PLAIN$HOOK_PATH"
secret_file pd.key "$ROUTING_KEY"
write_config "$T/opsctl.conf" <<EOF
[alerts]
timeout = 2s
slack_webhook_file = $T/slack.url
pagerduty_routing_key_file = $T/pd.key
pagerduty_url = http://127.0.0.1:$PLAIN/v2/enqueue
EOF
C=(--config "$T/opsctl.conf")
# The requests the peer recorded since mark, as JSON lines.
mark() { MARK=$(wc -l <"$REC"); }
since() { tail -n +"$((MARK + 1))" "$REC"; }
# rec_true EXPR DESC: EXPR over R, the list of requests recorded since mark.
rec_true() {
	if since | python3 -c '
import json, sys
R = [json.loads(l) for l in sys.stdin if l.strip()]
sys.exit(0 if eval(sys.argv[1]) else 1)
' "$1" 2>"$T/rec_err"; then ok "$2"; else
		not_ok "$2 (false: $1)"
		[ -s "$T/rec_err" ] && diag "$(tail -n 1 "$T/rec_err")"
		since | head -c 2000 | sed 's/^/#     /'
	fi
}

# ---- the peer itself refuses what the services refuse ----
peer_post() {	# peer_post PATH CONTENT_TYPE BODY: prints "STATUS BODY"
	python3 - "$1" "$2" "$3" <<PY
import sys, urllib.request, urllib.error
req = urllib.request.Request("http://127.0.0.1:$PLAIN" + sys.argv[1], data=sys.argv[3].encode(),
                             headers={"Content-Type": sys.argv[2]})
try:
    with urllib.request.urlopen(req) as f:
        print(f.status, f.read().decode())
except urllib.error.HTTPError as e:
    print(e.code, e.read().decode())
PY
}
got=$(peer_post "$HOOK_PATH" application/json '{"txt": "x"}')
[ "$got" = "400 no_text" ]; check $? "the Slack stand-in refuses a payload without text ($got)"
got=$(peer_post "$HOOK_PATH" text/plain 'hello')
[ "$got" = "400 invalid_payload" ]; check $? "the Slack stand-in refuses a body that is not JSON ($got)"
got=$(peer_post /v2/enqueue application/json "{\"routing_key\": \"$ROUTING_KEY\", \"event_action\": \"trigger\", \"payload\": {\"summary\": \"x\", \"source\": \"h\", \"severity\": \"fatal\"}}")
case $got in "400 "*severity*) true ;; *) false ;; esac
check $? "the PagerDuty stand-in refuses an unknown severity (${got:0:80})"
mark

# ---- Slack ----
r "${C[@]}" alerts test -c slack
expect_rc 0 "alerts test -c slack: delivered"
expect_out_contains "delivered" "the report says delivered"
expect_out_contains "HTTP 200 ok" "the report shows Slack's answer"
rec_true 'len(R) == 1 and R[0]["service"] == "slack" and R[0]["status"] == 200' \
	"one request reached the webhook and was accepted"
rec_true '"[TEST]" in R[0]["body"]["text"] and "INFO" in R[0]["body"]["text"]' \
	"the Slack text is tagged [TEST] and names the severity"
rec_true '"'"$HOST"'" in R[0]["body"]["text"] and "prod" in R[0]["body"]["text"]' \
	"the Slack text names the host and the environment"

mark
r "${C[@]}" -o json alerts send -c slack -s critical -m 'disk <90% & falling > fast' --about health
expect_rc 0 "alerts send -c slack with < > & in the message: delivered"
expect_json_true 'd["channels"][0]["status"] == "delivered" and d["channels"][0]["detail"] == "HTTP 200 ok"' \
	"JSON: slack delivered, detail HTTP 200 ok"
rec_true '"disk &lt;90% &amp; falling &gt; fast" in R[0]["body"]["text"] and "CRITICAL" in R[0]["body"]["text"]' \
	"the Slack text escapes < > & as mrkdwn wants and says CRITICAL"

# The environment beats the file; a revoked webhook is 404 no_service.
SLACK_WEBHOOK_URL="http://127.0.0.1:$PLAIN/services/T0705TEST/B0705TEST/revoked$HOOK_SECRET" \
	r "${C[@]}" alerts test -c slack
expect_alert_fail 1 "a webhook Slack does not know fails naming HTTP 404 and no_service" \
	"slack" "HTTP 404" "no_service"
SLACK_WEBHOOK_URL="http://127.0.0.1:$PLAIN/status/400$HOOK_PATH" r "${C[@]}" alerts test -c slack
expect_alert_fail 1 "a 400 from Slack is named with its word" "HTTP 400" "invalid_payload"
SLACK_WEBHOOK_URL="http://127.0.0.1:$PLAIN/status/500$HOOK_PATH" r "${C[@]}" -o json alerts test -c slack
expect_rc 1 "a 500 from Slack fails the run"
expect_json_true 'd["channels"][0]["status"] == "failed" and "HTTP 500" in d["channels"][0]["error"]' \
	"JSON: the channel failed, its error names HTTP 500"

# A stalled webhook: bounded by alerts.timeout (2 s), and not posted twice.
mark
t0=$(date +%s.%N)
SLACK_WEBHOOK_URL="http://127.0.0.1:$PLAIN/stall$HOOK_PATH" r "${C[@]}" alerts test -c slack
el=$(echo "$(date +%s.%N) - $t0" | bc)
expect_alert_fail 1 "a stalled webhook fails naming the timeout" "slack" "timed out"
[ "$(echo "$el >= 1.5 && $el < 6" | bc)" = 1 ]; check $? "and gives up after alerts.timeout (2 s), not before and not much later (${el}s)"
rec_true 'len(R) == 1 and R[0]["status"] == "stalled"' \
	"a notification that may have arrived is not sent a second time"

# The secret file must be private.
secret_file loose.url "http://127.0.0.1:$PLAIN$HOOK_PATH"
chmod 644 "$T/loose.url"
derive_conf "$T/opsctl.conf" "$T/loose.conf" "slack_webhook_file = $T/loose.url"
r --config "$T/loose.conf" alerts test -c slack
expect_alert_fail 1 "a webhook file readable by others is refused, naming the file" "loose.url"

# ---- PagerDuty ----
mark
r "${C[@]}" -o json alerts test -c pagerduty
expect_rc 0 "alerts test -c pagerduty: delivered"
expect_json_true '[s["step"] for s in d["channels"][0]["steps"]] == ["trigger", "resolve"] and all(s["status"] == "delivered" and s["detail"].startswith("HTTP 202") for s in d["channels"][0]["steps"])' \
	"JSON: two steps, trigger and resolve, each HTTP 202"
rec_true '[x["body"]["event_action"] for x in R] == ["trigger", "resolve"] and all(x["status"] == 202 for x in R)' \
	"PagerDuty got a trigger then a resolve, both accepted (202)"
rec_true 'R[0]["body"]["dedup_key"] == R[1]["body"]["dedup_key"] != ""' \
	"the resolve carries the trigger's dedup key"
rec_true 'R[0]["body"]["payload"]["source"] == "'"$HOST"'" and R[0]["body"]["payload"]["severity"] == "info"' \
	"payload: source is the host, severity info"
rec_true 'R[0]["body"]["payload"]["custom_details"]["test"] is True and R[0]["body"]["payload"]["custom_details"]["environment"] == "prod" and R[0]["body"]["payload"]["custom_details"]["command"] == "opsctl alerts test"' \
	"custom_details: test true, environment, command"
rec_true '"[TEST]" in R[0]["body"]["payload"]["summary"] and R[0]["body"]["payload"]["component"] and R[0]["body"]["payload"]["class"] == "OpsctlTestAlert"' \
	"the summary is tagged [TEST]; component and class are set"

# A long message: PagerDuty takes at most 1024 characters of summary.
mark
long=$(printf 'é%.0s' $(seq 1 1500))
r "${C[@]}" alerts send -c pagerduty -s warning -m "$long" --name OpsctlHealth --about health \
	--dedup-key "t705-health-$$"
expect_rc 0 "a 1500-character message is delivered (the summary cut to PagerDuty's limit)"
rec_true 'len(R[0]["body"]["payload"]["summary"]) <= 1024 and R[0]["body"]["payload"]["severity"] == "warning" and R[0]["body"]["dedup_key"] == "t705-health-'$$'"' \
	"summary <= 1024 characters, severity warning, the dedup key given"
mark
r "${C[@]}" alerts send -c pagerduty -m "recovered" --resolved --name OpsctlHealth --dedup-key "t705-health-$$"
expect_rc 0 "a recovery is delivered"
rec_true 'len(R) == 1 and R[0]["body"]["event_action"] == "resolve" and R[0]["body"]["dedup_key"] == "t705-health-'$$'"' \
	"a recovery is one resolve with the problem's dedup key"

PAGERDUTY_ROUTING_KEY=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n') \
	r "${C[@]}" alerts test -c pagerduty
expect_alert_fail 1 "a routing key PagerDuty refuses fails naming HTTP 400 and its error" \
	"pagerduty" "trigger" "HTTP 400" "Invalid routing key"
derive_conf "$T/opsctl.conf" "$T/pd500.conf" "pagerduty_url = http://127.0.0.1:$PLAIN/status/500/v2/enqueue"
r --config "$T/pd500.conf" alerts test -c pagerduty
expect_alert_fail 1 "a 500 from PagerDuty is named" "pagerduty" "HTTP 500"
derive_conf "$T/opsctl.conf" "$T/pdstall.conf" "pagerduty_url = http://127.0.0.1:$PLAIN/stall/v2/enqueue"
t0=$(date +%s.%N)
r --config "$T/pdstall.conf" alerts test -c pagerduty
el=$(echo "$(date +%s.%N) - $t0" | bc)
expect_alert_fail 1 "a stalled PagerDuty fails naming the timeout" "pagerduty" "timed out"
[ "$(echo "$el >= 1.5 && $el < 6" | bc)" = 1 ]; check $? "and gives up after alerts.timeout (2 s), not before and not much later (${el}s)"

# ---- both at once: one failing does not stop the other ----
mark
SLACK_WEBHOOK_URL="http://127.0.0.1:$PLAIN/status/404$HOOK_PATH" r "${C[@]}" -o json alerts test -c slack,pagerduty
expect_rc 1 "slack failing, pagerduty delivered: exit 1"
expect_json_true 'find(d["channels"], "channel", "slack")["status"] == "failed" and find(d["channels"], "channel", "pagerduty")["status"] == "delivered"' \
	"JSON: slack failed, pagerduty still delivered"

# ---- email half configured: never skipped in silence ----
derive_conf "$T/opsctl.conf" "$T/halfmail.conf" "email_to = ops@example.org"
mark
r --config "$T/halfmail.conf" -o json alerts test
expect_rc 78 "all, with alerts.email_to but no alerts.smtp_url: exit 78"
expect_json_true 'find(d["channels"], "channel", "email")["status"] == "failed" and find(d["channels"], "channel", "email")["error"].startswith("alerts.smtp_url is not set")' \
	"JSON: email failed, naming the missing alerts.smtp_url"
expect_json_true 'find(d["channels"], "channel", "slack")["status"] == "delivered" and find(d["channels"], "channel", "pagerduty")["status"] == "delivered"' \
	"JSON: slack and pagerduty were still delivered"
expect_json_true '"alerts.smtp_url is not set" in d["error"]' "the run's error names the missing key"
r "${C[@]}" -o json alerts test -c slack
expect_rc 0 "neither email key: email is not asked for, slack delivered, exit 0"

# ---- TLS: verified against alerts.ca_file, failures named ----
tls_conf() {	# tls_conf FILE PORT [CA]
	secret_file "$1.url" "https://localhost:$2$HOOK_PATH"
	write_config "$T/$1.conf" <<EOF
[alerts]
timeout = 2s
slack_webhook_file = $T/$1.url
${3:+ca_file = $3}
EOF
}
tls_conf good "$GOOD" "$P/ca.pem"
r --config "$T/good.conf" alerts test -c slack
expect_rc 0 "https with the test CA as alerts.ca_file: delivered"
tls_conf nocatrust "$GOOD"
r --config "$T/nocatrust.conf" alerts test -c slack
expect_alert_fail 1 "https without the CA trusted fails naming the certificate" "slack" "certificate" "unknown CA"
tls_conf expired "$EXPIRED" "$P/ca.pem"
r --config "$T/expired.conf" alerts test -c slack
expect_alert_fail 1 "an expired certificate fails naming it expired" "slack" "expired"
tls_conf other "$OTHER" "$P/ca.pem"
r --config "$T/other.conf" alerts test -c slack
expect_alert_fail 1 "a certificate for another host fails naming the host name" "slack" "another host name"

# ---- a configuration opsctl cannot use: exit 78, the key named ----
tls_conf noca "$GOOD" "$T/no-such-ca.pem"
r --config "$T/noca.conf" alerts test -c slack
expect_alert_fail 78 "an alerts.ca_file that does not exist: exit 78, naming the key and the file" \
	"alerts.ca_file: cannot read '$T/no-such-ca.pem'"
derive_conf "$T/opsctl.conf" "$T/pdurl.conf" "pagerduty_url = ftp://127.0.0.1:$PLAIN/v2/enqueue"
r --config "$T/pdurl.conf" alerts test -c pagerduty
expect_alert_fail 78 "a pagerduty_url that is not http(s): exit 78, naming the key and the value" \
	"alerts.pagerduty_url ('ftp://127.0.0.1:$PLAIN/v2/enqueue')" "not an http:// or https:// URL"
secret_file ftp.url "ftp://127.0.0.1:$PLAIN$HOOK_PATH"
derive_conf "$T/opsctl.conf" "$T/ftphook.conf" "slack_webhook_file = $T/ftp.url"
r --config "$T/ftphook.conf" alerts test -c slack
expect_alert_fail 78 "a Slack webhook URL that is not http(s): exit 78, naming where it comes from, not the URL" \
	"SLACK_WEBHOOK_URL or alerts.slack_webhook_file" "not an http:// or https:// URL"

# ---- the secrets are nowhere ----
{
	cat "$ALL"
	cat "$OPSCTL_STATE_DIR"/journal.jsonl 2>/dev/null
	cat "$OPSCTL_STATE_DIR"/*.prom "$OPSCTL_STATE_DIR"/*/*.prom 2>/dev/null
} >"$T/everything"
r "${C[@]}" -v alerts test -c slack,pagerduty
cat "$OUT" "$ERR" >>"$T/everything"
expect_rc 0 "alerts test -v: both delivered"
grep -qF "127.0.0.1:$PLAIN" "$T/everything"; check $? "messages name the webhook's origin"
if grep -qF -e "$HOOK_SECRET" -e "$ROUTING_KEY" "$T/everything"; then
	not_ok "the webhook path and the routing key appear in no output, log line or journal"
	grep -F -e "$HOOK_SECRET" -e "$ROUTING_KEY" "$T/everything" | head -n 5 | sed 's/^/#   /'
else
	ok "the webhook path and the routing key appear in no output, log line or journal ($(wc -l <"$T/everything") lines)"
fi
journal_mark
r "${C[@]}" alerts test -c slack
expect_journal_added 1 "each alerts test run is journalled"
expect_journal_last 'j.get("command") == "alerts test"' "the journal names the command"

done_testing
