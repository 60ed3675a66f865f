#!/usr/bin/env bash
# opsctl alerts to a real Prometheus Alertmanager (Debian's
# prometheus-alertmanager, started on loopback with a generated
# configuration routing to a webhook receiver, alert_peer.py, no gossip):
# a test is posted, read back from GET /api/v2/alerts and resolved, which
# Alertmanager's own counters and its webhook confirm; a problem sent is
# listed with its labels and a recovery resolves it whatever severity it
# fired with.  Failures: nothing listening, an HTTP 500, and an
# "Alertmanager" that answers 200 but never lists the alert, which the
# read-back catches within alerts.timeout.
. "$(dirname "$0")/../lib/common.sh"
. "$ROOT/tests/lib/alerts.sh"

HOST=$(hostname)
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# The webhook receiver Alertmanager routes to, and the Alertmanager stand-ins.
REC="$T/requests.jsonl"
: >"$REC"
bg python3 "$ROOT/tests/lib/alert_peer.py" "$T/ports" "$REC" /services/unused unused plain
wait_for 10 test -s "$T/ports" || { sed 's/^/#   /' "$BG_LOG"; bail_out "the alert peer starts"; }
PEER=$(awk '$1 == "plain" { print $2 }' "$T/ports")

am_start "http://127.0.0.1:$PEER/am-webhook"
ok "Alertmanager $AM_VERSION is ready on 127.0.0.1:$AM_PORT"

write_config "$T/opsctl.conf" <<EOF
[general]
environment = dev
[alerts]
timeout = 3s
alertmanager_url = $AM/
EOF
C=(--config "$T/opsctl.conf")

# ---- a test: post, read back, resolve ----
f0=$(received firing) r0=$(received resolved)
run "$OPSCTL" "${C[@]}" -o json alerts test -c alertmanager
expect_rc 0 "alerts test -c alertmanager: delivered"
expect_json_true '[s["step"] for s in d["channels"][0]["steps"]] == ["post", "read back", "resolve"] and all(s["status"] == "delivered" for s in d["channels"][0]["steps"])' \
	"JSON: three steps, post, read back and resolve, each delivered"
expect_json_true 'd["channels"][0]["steps"][1]["detail"].startswith("listed") and "no longer listed" in d["channels"][0]["steps"][2]["detail"]' \
	"the read-back found it listed; after the resolve it is no longer listed"
TEST_ID=$(json_get 'd["channels"][0]["test_id"]')
[ -n "$TEST_ID" ]; check $? "the report names the test's unique test_id ($TEST_ID)"
f1=$(received firing) r1=$(received resolved)
[ "$((f1 - f0))" -eq 1 ] && [ "$((r1 - r0))" -eq 1 ]
check $? "Alertmanager counted one firing and one resolved alert (firing $f0 -> $f1, resolved $r0 -> $r1)"
n=$(listed "test_id=\"$TEST_ID\"" | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))')
[ "$n" = 0 ]; check $? "the test alert is no longer active in Alertmanager ($n listed)"
# The route delivered it to the webhook receiver: what Alertmanager held, labels and all.
hook_has() {
	python3 - "$REC" "$TEST_ID" "$HOST" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["service"] != "am-webhook" or not isinstance(r["body"], dict):
        continue
    for a in r["body"].get("alerts", []):
        l = a["labels"]
        if (l.get("test_id") == sys.argv[2] and l.get("test") == "true" and
                l.get("alertname") == "OpsctlTestAlert" and l.get("job") == "opsctl" and
                l.get("instance") == sys.argv[3] and l.get("environment") == "dev" and
                l.get("severity") == "info" and "[TEST]" in a["annotations"].get("description", "") and
                a["annotations"].get("summary")):
            sys.exit(0)
sys.exit(1)
PY
}
wait_for 15 hook_has
check $? "Alertmanager routed it to its webhook receiver with labels alertname, severity, instance, environment, job, test, test_id and annotations"

# ---- a problem, then its recovery ----
run "$OPSCTL" "${C[@]}" alerts send -c alertmanager -s critical -m "api: HTTP 500 from /health" \
	--detail "the second line" --name T710Problem --about health
expect_rc 0 "alerts send -c alertmanager -s critical: delivered"
listed 'alertname="T710Problem"' >"$T/held.json"
python3 - "$T/held.json" "$HOST" <<'PY'
import json, sys
a = json.load(open(sys.argv[1]))
assert len(a) == 1, a
l, an = a[0]["labels"], a[0]["annotations"]
assert l == {"alertname": "T710Problem", "severity": "critical", "instance": sys.argv[2],
             "environment": "dev", "job": "opsctl", "dedup_key": "opsctl-T710Problem-%s-dev" % sys.argv[2]}, l
assert an["summary"] == "api: HTTP 500 from /health", an
assert "the second line" in an["description"] and "opsctl health" in an["description"], an
assert a[0]["startsAt"] and a[0]["status"]["state"] == "active", a[0]
PY
check $? "Alertmanager lists it, active, with the labels (no test label) and annotations"
python3 - "$T/held.json" <<'PY'
import datetime, json, sys
a = json.load(open(sys.argv[1]))[0]
t = lambda s: datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))
held = (t(a["endsAt"]) - t(a["startsAt"])).total_seconds()
sys.exit(0 if abs(held - 25 * 3600) < 5 else "endsAt - startsAt = %s s" % held)
PY
check $? "it ends 25 h after it started (alerts.alertmanager_ends_after), not after Alertmanager's 5-minute resolve_timeout"
run "$OPSCTL" "${C[@]}" -o json alerts send -c alertmanager -m "api: healthy again" --resolved \
	--name T710Problem --about health
expect_rc 0 "the recovery (sent with the default severity, warning) is delivered"
expect_json_true 'd["channels"][0]["resolved_alerts"] == 1' "it resolved the one alert held, which fired as critical"
n=$(listed 'alertname="T710Problem"' | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))')
[ "$n" = 0 ]; check $? "Alertmanager no longer lists the problem ($n listed)"
run "$OPSCTL" "${C[@]}" -o json alerts send -c alertmanager -m "again" --resolved --name T710Problem
expect_rc 0 "a second recovery is still delivered"
expect_json_true 'd["channels"][0]["resolved_alerts"] == 0' "and says that nothing was held"

# ---- label values with '"' and '\' (item: matchers escape them) ----
QN='T710 "quoted" back\slash'
run "$OPSCTL" "${C[@]}" alerts send -c alertmanager -s warning -m "a name with a quote" --name "$QN"
expect_rc 0 "a problem whose name has a quote and a backslash is delivered"
n=$(listed 'alertname="T710 \"quoted\" back\\slash"' | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))')
[ "$n" = 1 ]; check $? "Alertmanager lists it under that name ($n listed)"
run "$OPSCTL" "${C[@]}" -o json alerts send -c alertmanager -m "better" --resolved --name "$QN"
expect_rc 0 "its recovery is delivered: the read of the held alerts escapes the quote and the backslash"
expect_json_true 'd["channels"][0]["resolved_alerts"] == 1' "it found and resolved the one alert held"
n=$(listed 'alertname="T710 \"quoted\" back\\slash"' | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))')
[ "$n" = 0 ]; check $? "Alertmanager no longer lists it ($n listed)"
run "$OPSCTL" "${C[@]}" -o json alerts send -c alertmanager -m "a key with a quote" --name T710Key --dedup-key 'k"710\x'
expect_rc 0 "a dedup key with a quote and a backslash is delivered"
run "$OPSCTL" "${C[@]}" -o json alerts send -c alertmanager -m "over" --resolved --name T710Key --dedup-key 'k"710\x'
expect_json_true 'd["exit_code"] == 0 and d["channels"][0]["resolved_alerts"] == 1' "and its recovery resolves it"

# ---- the read-back fails: the test alert is ended all the same ----
PLOG="$T/proxy.log"
: >"$PLOG"
bg python3 "$ROOT/tests/lib/am_readback_proxy.py" "$T/proxy.ports" "$AM_PORT" "$PLOG"
wait_for 10 test -s "$T/proxy.ports" || { sed 's/^/#   /' "$BG_LOG"; bail_out "the read-back proxy starts"; }
PROXY=$(awk '$1 == "proxy" { print $2 }' "$T/proxy.ports")
derive_conf "$T/opsctl.conf" "$T/proxy.conf" "alertmanager_url = http://127.0.0.1:$PROXY" "timeout = 2s"
f0=$(received firing) r0=$(received resolved)
run "$OPSCTL" --config "$T/proxy.conf" -o json alerts test -c alertmanager
expect_alert_fail 1 "a list of alerts that fails (HTTP 503): the test fails naming the read-back" \
	"alertmanager" "read back" "HTTP 503"
expect_json_true '[(s["step"], s["status"]) for s in d["channels"][0]["steps"]] == [("post", "delivered"), ("read back", "failed"), ("resolve", "delivered")]' \
	"JSON: post delivered, read back failed, resolve delivered"
PID=$(json_get 'd["channels"][0]["test_id"]')
grep -q "^GET /api/v2/alerts 503" "$PLOG"; check $? "the proxy refused the read-back"
f1=$(received firing) r1=$(received resolved)
[ "$((f1 - f0))" -eq 1 ] && [ "$((r1 - r0))" -eq 1 ]
check $? "Alertmanager received the test alert and its resolution (firing $f0 -> $f1, resolved $r0 -> $r1)"
n=$(listed "test_id=\"$PID\"" | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))')
[ "$n" = 0 ]; check $? "the test alert is not left firing in Alertmanager ($n active with test_id $PID)"

# ---- failures ----
DEAD=$(free_port)
derive_conf "$T/opsctl.conf" "$T/dead.conf" "alertmanager_url = http://127.0.0.1:$DEAD"
run "$OPSCTL" --config "$T/dead.conf" alerts test -c alertmanager
expect_alert_fail 1 "nothing listening: fails naming the origin" "alertmanager" "unable to access" "127.0.0.1:$DEAD"
derive_conf "$T/opsctl.conf" "$T/500.conf" "alertmanager_url = http://127.0.0.1:$PEER/status/500"
run "$OPSCTL" --config "$T/500.conf" alerts test -c alertmanager
expect_alert_fail 1 "an HTTP 500 is named" "alertmanager" "post" "HTTP 500"
derive_conf "$T/opsctl.conf" "$T/hole.conf" "alertmanager_url = http://127.0.0.1:$PEER" "timeout = 2s"
t0=$(date +%s.%N)
run "$OPSCTL" --config "$T/hole.conf" -o json alerts test -c alertmanager
el=$(echo "$(date +%s.%N) - $t0" | bc)
expect_alert_fail 1 "an Alertmanager that accepts but never lists the alert fails the read-back" \
	"alertmanager" "read back" "not in Alertmanager's list"
expect_json_true '[(s["step"], s["status"]) for s in d["channels"][0]["steps"]] == [("post", "delivered"), ("read back", "failed"), ("resolve", "delivered")]' \
	"JSON: post delivered, read back failed, and the alert resolved all the same"
[ "$(echo "$el >= 1.5 && $el < 6" | bc)" = 1 ]; check $? "the read-back polls until alerts.timeout (2 s) and no longer (${el}s)"
derive_conf "$T/opsctl.conf" "$T/noscheme.conf" "alertmanager_url = 127.0.0.1:$AM_PORT"
run "$OPSCTL" --config "$T/noscheme.conf" alerts test -c alertmanager
expect_alert_fail 78 "a URL without http:// is a configuration error naming the key and the value" \
	"alertmanager" "alerts.alertmanager_url ('127.0.0.1:$AM_PORT')" "not an http:// or https:// URL"
derive_conf "$T/opsctl.conf" "$T/badurl.conf" "alertmanager_url = http://[::1:$AM_PORT/"
run "$OPSCTL" --config "$T/badurl.conf" alerts test -c alertmanager
expect_alert_fail 78 "a URL that does not parse: exit 78, naming the key and the value" \
	"alerts.alertmanager_url ('http://[::1:$AM_PORT/')" "malformed URL"

done_testing
