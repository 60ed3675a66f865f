#!/usr/bin/env bash
# t790: issue 15's acceptance.  The API endpoint stalled (tests/lib/http_peer.py
# /stall), the LLM endpoint answering 500 (tests/lib/llm_peer.py), Redis down
# (nothing on its port), and the rest healthy (disk, logs, a SQLite
# database): `opsctl health` prints CRITICAL naming each cause with valid
# perfdata and exits 2 within its time limit; -n delivers one notification
# to a real Alertmanager (read back from its API) and one email (stored by a
# real SMTP server, aiosmtpd, over STARTTLS with a test CA); a second run
# sends nothing; after recovery one resolved notice, and then nothing.
. "$(dirname "$0")/../lib/common.sh"
. "$ROOT/tests/lib/tls.sh"
. "$ROOT/tests/lib/alerts.sh"
. "$ROOT/tests/lib/health.sh"

PY=/usr/bin/python3	# where Debian's python3-aiosmtpd lives
tool=$(missing_tool openssl redis-server redis-cli sqlite3 "$PY") && bail_out "$tool (scripts/setup)"
"$PY" -c 'import aiosmtpd' 2>/dev/null || bail_out "python3-aiosmtpd is installed (scripts/setup)"
# Only the database this test makes: not the runner's shared cluster.
unset PGDATABASE PGHOST PGPORT PGUSER
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
port_of() { awk -v n="$2" '$1 == n { print $2 }' "$1"; }

# ---- the peers ----
tls_peer_set "$T/tls" "opsctl t790 CA" 2>"$T/openssl.log" >&2 || bail_out "the test CA"
bg python3 "$ROOT/tests/lib/http_peer.py" "$T/api.ports" plain
wait_for 10 test -s "$T/api.ports" || bail_out "the API stand-in starts"
API=http://127.0.0.1:$(port_of "$T/api.ports" plain)
LLM_KEY=sk-t790-$$-never-shown
LLM_PEER_KEY=$LLM_KEY bg python3 "$ROOT/tests/lib/llm_peer.py" "$T/llm.ports" plain
wait_for 10 test -s "$T/llm.ports" || bail_out "the LLM stand-in starts"
LLM=http://127.0.0.1:$(port_of "$T/llm.ports" plain)
SMTP_PW=t790-smtp-$$-pw
printf '%s\n' "$SMTP_PW" >"$T/smtp.pw"
chmod 600 "$T/smtp.pw"
mkdir -p "$T/mail"
bg "$PY" "$ROOT/tests/lib/smtp_peer.py" --dir "$T/mail" --ports "$T/smtp.ports" \
	--user alerts --password-file "$T/smtp.pw" "mx:starttls:$T/tls/good.pem:$T/tls/good.key"
wait_for 10 test -s "$T/smtp.ports" || bail_out "the SMTP server starts"
bg python3 "$ROOT/tests/lib/alert_peer.py" "$T/hook.ports" "$T/hook.jsonl" /services/x x plain
wait_for 10 test -s "$T/hook.ports" || bail_out "Alertmanager's webhook receiver starts"
am_start "http://127.0.0.1:$(port_of "$T/hook.ports" plain)/am-webhook"
REDIS_PORT=$(free_port)	# nothing there yet: Redis is down

# ---- the healthy rest ----
sqlite3 "$T/hub.db" <"$ROOT/tests/lib/knowledge_hub.sql"
mkdir -p "$T/logs" "$T/data"
printf '2026-12-02 06:00:00 INFO started\n' >"$T/logs/app.log"

# conf API_URL LLM_URL: the whole configuration, with those two endpoints.
conf() {
	cat >"$T/opsctl.conf" <<EOF
[general]
environment = staging
[db]
databases = sqlite:$T/hub.db
[cache]
redis_url = redis://127.0.0.1:$REDIS_PORT
[health]
timeout = 20s
check_timeout = 2s
api_url = $1
llm_url = $2
llm_samples = 2
disk_paths = $T/data
disk_warn_pct = 100
disk_critical_pct = 100
log_files = $T/logs/app.log
notify_channels = email,alertmanager
[alerts]
timeout = 5s
ca_file = $T/tls/ca.pem
smtp_url = smtp://localhost:$(port_of "$T/smtp.ports" mx)
smtp_user = alerts
smtp_password_file = $T/smtp.pw
email_to = ops@example.org
alertmanager_url = $AM
EOF
}
export LLM_API_KEY=$LLM_KEY
mails() { find "$T/mail" -name 'mail-*.json' | wc -l; }
last_subject() {
	"$PY" - "$T/mail" <<'PY'
import email, email.policy, glob, json, os, sys
files = sorted(glob.glob(os.path.join(sys.argv[1], "mail-*.json")), key=os.path.getmtime)
m = json.load(open(files[-1]))
print(email.message_from_string(m["data"], policy=email.policy.default)["Subject"])
PY
}
# am_health EXPR: EXPR over a, the alerts Alertmanager lists for OpsctlHealth.
am_health() {
	listed 'alertname="OpsctlHealth"' >"$T/am.json" &&
		python3 -c 'import json, sys; a = json.load(open(sys.argv[1])); sys.exit(0 if eval(sys.argv[2]) else 1)' \
			"$T/am.json" "$1"
}
keep() { cat "$OUT" "$ERR" >>"$T/all-output"; }

# ---- 1: three components down ----
conf "$API/stall" "$LLM/fail/v1"
t0=$(date +%s.%N)
run "$OPSCTL" --config "$T/opsctl.conf" health -n
t1=$(date +%s.%N)
keep
expect_health 2 CRITICAL "API stalled, LLM 500, Redis down: CRITICAL, exit 2" \
	"api: timed out" "llm: " "HTTP 500" "redis: "
expect_perf_valid "the perfdata is valid"
expect_perf "'api_time'=" "the stalled API still has its time in the perfdata"
python3 -c "import sys; sys.exit(0 if $t1 - $t0 < 15 else 1)"
check $? "the run ended within its time limit ($(python3 -c "print(round($t1 - $t0, 1))") s; health.timeout 20 s, each check 2 s)"
grep -q "^disk  *OK" "$OUT" && grep -q "^logs  *OK" "$OUT" && grep -q "^db  *OK" "$OUT"
check $? "the healthy components are reported OK beside them"
test "$(mails)" -eq 1
check $? "one email arrived"
last_subject | grep -q "CRITICAL" && last_subject | grep -q "OPSCTL HEALTH CRITICAL"
check $? "its subject carries CRITICAL and the status line"
wait_for 10 am_health 'len(a) == 1 and a[0]["labels"]["severity"] == "critical" and "api: timed out" in a[0]["annotations"]["summary"]'
check $? "Alertmanager lists one OpsctlHealth alert, critical, its summary naming the causes"
expect_journal_last 'j["status"] == "critical" and j["figures"]["opsctl_health_notifications_sent"] == 1' \
	"journal: critical, one notification sent"
FIRING=$(received firing)

# ---- 2: the same problem again: nothing sent ----
run "$OPSCTL" --config "$T/opsctl.conf" -o json health -n
keep
expect_rc 2 "second run: still CRITICAL"
expect_json_true 'd["notification"]["status"] == "already notified"' "second run: already notified"
test "$(mails)" -eq 1
check $? "no second email"
test "$(received firing)" = "$FIRING"
check $? "Alertmanager received nothing more"

# ---- 3: recovery: one resolved notice ----
bg redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$T"
wait_for 10 redis-cli -p "$REDIS_PORT" ping || bail_out "redis-server starts"
conf "$API/ok" "$LLM/ok/v1"
run "$OPSCTL" --config "$T/opsctl.conf" health -n
keep
expect_health 0 OK "everything back: OK, exit 0"
test "$(mails)" -eq 2 && last_subject | grep -q "RESOLVED"
check $? "one resolved email"
wait_for 10 am_health 'len(a) == 0'
check $? "Alertmanager no longer lists the alert"
expect_journal_last 'j["status"] == "ok" and j["figures"]["opsctl_health_notifications_sent"] == 1' \
	"journal: ok, the resolved notice sent"

# ---- 4: still healthy: nothing ----
run "$OPSCTL" --config "$T/opsctl.conf" -o json health -n
keep
expect_rc 0 "still OK"
expect_json_true 'd["notification"]["status"] == "not needed"' "nothing to notify"
test "$(mails)" -eq 2
check $? "no third email"

# ---- secrets ----
cat "$OPSCTL_STATE_DIR/journal.jsonl" "$OPSCTL_STATE_DIR/opsctl.prom" \
	"$OPSCTL_STATE_DIR/health/state.json" >>"$T/all-output"
! grep -qF -e "$SMTP_PW" -e "$LLM_KEY" "$T/all-output"
check $? "the SMTP password and the LLM key are in no output, journal, textfile or state"

done_testing
