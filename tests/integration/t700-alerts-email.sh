#!/usr/bin/env bash
# t700: email alerts (`opsctl alerts test -c email`, lib/alerts/alerts_email.c
# over lib/core/smtp.c) against a real SMTP server: Debian's python3-aiosmtpd
# on loopback (tests/lib/smtp_peer.py) with STARTTLS and certificates from a
# test CA made here, AUTH PLAIN and LOGIN, and every message it accepted
# stored as a file.  Delivery is proven by the server's 250 and by the
# message the server stored; each failure (AUTH, RCPT, no STARTTLS, a
# certificate that does not verify, nobody listening, a silent server) is
# named, and the password is nowhere.  core/smtp's own cases
# (build/unit/core/test_smtp) run against the same server, plain and under
# ASan/UBSan/LSan.
. "$(dirname "$0")/../lib/common.sh"
. "$ROOT/tests/lib/tls.sh"

# aiosmtpd is Debian's package, installed for /usr/bin/python3.
PY=/usr/bin/python3
tool=$(missing_tool openssl "$PY") && bail_out "$tool is needed for the test CA and the SMTP server"
"$PY" -c 'import aiosmtpd' 2>/dev/null || bail_out "python3-aiosmtpd is installed (scripts/setup)"

# ---- a test CA, another CA, and their certificates ----
P="$T/tls"
if { tls_peer_set "$P" "opsctl test CA" &&
	tls_ca "$T/other" "another CA" && tls_sign "$T/other" good localhost loopback &&
	chmod 600 "$T/other"/*.key; } 2>"$T/openssl.log" >&2; then
	ok "a test CA signed a good, an expired and an other-host certificate; another CA a good one"
else
	not_ok "the test CAs and certificates"
	sed 's/^/#   /' "$T/openssl.log"
	done_testing
fi

# ---- the SMTP server ----
PASSWORD='Pw-t700-7f3a9c-never-shown'
printf '%s\n' "$PASSWORD" >"$T/smtp.pw"
chmod 600 "$T/smtp.pw"
MAIL="$T/mail"
mkdir -p "$MAIL"
bg "$PY" "$ROOT/tests/lib/smtp_peer.py" --dir "$MAIL" --ports "$T/ports" \
	--user alerts --password-file "$T/smtp.pw" \
	"starttls:starttls:$P/good.pem:$P/good.key" "login:login:$P/good.pem:$P/good.key" \
	"smtps:smtps:$P/good.pem:$P/good.key" plain:plain stall:stall \
	"expired:starttls:$P/expired.pem:$P/expired.key" \
	"otherhost:starttls:$P/otherhost.pem:$P/otherhost.key" \
	"otherca:starttls:$T/other/good.pem:$T/other/good.key"
PEER_LOG=$BG_LOG
wait_for 10 test -s "$T/ports" || { sed 's/^/#   /' "$PEER_LOG"; bail_out "the SMTP server starts"; }
port() { awk -v n="$1" '$1 == n { print $2 }' "$T/ports"; }
export HOST
HOST=$(hostname)

# conf FILE URL [KEY=VALUE...]: the [alerts] section for one listener, from
# these defaults; KEY= leaves the key out.
conf() {
	"$PY" - "$@" <<PY
import sys
f, url, *changes = sys.argv[1:]
keys = {"smtp_url": url, "smtp_user": "alerts", "smtp_password_file": "$T/smtp.pw",
        "email_to": "ops@example.org", "ca_file": "$P/ca.pem", "timeout": "5s"}
for c in changes:
    k, v = c.split("=", 1)
    keys[k] = v
with open(f, "w") as out:
    out.write("[alerts]\n" + "".join("%s = %s\n" % (k, v) for k, v in keys.items() if v))
PY
}
# Everything opsctl printed, for the password check at the end.
keep() { cat "$OUT" "$ERR" >>"$T/all-output"; }
mails() { find "$MAIL" -name 'mail-*.json' | wc -l; }
# last_mail EXPR: EXPR over m (the stored JSON) and e (its data, parsed as email).
last_mail() {
	"$PY" - "$MAIL" "$1" <<'PY'
import email, email.policy, glob, json, os, sys
files = sorted(glob.glob(os.path.join(sys.argv[1], "mail-*.json")), key=os.path.getmtime)
m = json.load(open(files[-1]))
e = email.message_from_string(m["data"], policy=email.policy.default)
body = e.get_content()
sys.exit(0 if eval(sys.argv[2]) else 1)
PY
}
expect_mail() {	# expect_mail EXPR DESC
	if last_mail "$1" 2>"$T/mail_err"; then ok "$2"; else
		not_ok "$2 (false: $1)"
		[ -s "$T/mail_err" ] && diag "$(tail -n 1 "$T/mail_err")"
		ls -t "$MAIL"/mail-*.json 2>/dev/null | head -n 1 | xargs -r cat | head -c 1500 | sed 's/^/#   /'
	fi
}
# saw LISTENER TEXT: the server's record of that listener has TEXT.
saw() { grep -qF -- "$2" "$MAIL/$1.log"; }
# fail_case DESC SUBSTRING...: exit 1 (FAIL_RC: a configuration opsctl cannot
# use is 78), the error line on stderr naming them
# (with -q: the one line), the JSON report saying failed, nothing stored.
fail_case() {
	local desc=$1 before
	shift
	before=$(mails)
	run "$OPSCTL" -q --config "$T/c.conf" alerts test -c email
	keep
	expect_fail "${FAIL_RC:-1}" "$desc: exit ${FAIL_RC:-1} and one error line naming the cause" "$@"
	run "$OPSCTL" --config "$T/c.conf" -o json alerts test -c email
	keep
	expect_json_true 'd["status"] == "failed" and d["exit_code"] == '"${FAIL_RC:-1}"' and d["channels"][0]["status"] == "failed" and d["failed"] == 1' \
		"$desc: JSON says failed"
	if [ "$(mails)" -eq "$before" ]; then ok "$desc: the server stored nothing"; else
		not_ok "$desc: the server stored nothing ($(mails) messages, $before before)"; fi
}

# ---- delivered, with the server's 250 ----
conf "$T/c.conf" "smtp://localhost:$(port starttls)"
run "$OPSCTL" --env staging --config "$T/c.conf" alerts test -c email -s warning \
	-m "t700 disk /var/lib almost full"
keep
expect_rc 0 "STARTTLS + AUTH: exit 0"
expect_out_contains "delivered" "text report says delivered"
expect_out_contains "250 2.0.0 Ok: queued as peer-" "text report shows the server's 250"
expect_mail 'm["rcpt_tos"] == ["ops@example.org"] and m["tls"] and m["auth_user"] == "alerts"' \
	"the server stored it for ops@example.org, received over TLS after AUTH"
expect_mail '"[TEST]" in e["subject"] and "WARNING" in e["subject"] and "t700 disk /var/lib almost full" in e["subject"]' \
	"its subject is tagged [TEST] with the severity and the -m message"
expect_mail 'os.environ["HOST"] in e["subject"] and "staging" in e["subject"]' \
	"its subject names the host and the environment" 
expect_mail '"t700 disk /var/lib almost full" in body and ("host: " + os.environ["HOST"]) in body and "environment: staging" in body' \
	"its body has the message, the host and the environment"
expect_mail 'm["mail_from"] == "opsctl@" + os.environ["HOST"] and e["from"].addresses[0].addr_spec == m["mail_from"]' \
	"without alerts.email_from the sender is opsctl@HOST"
if saw starttls "C: STARTTLS" && ! grep -v '(TLS)' "$MAIL/starttls.log" | grep -q '^MAIL FROM'; then
	ok "the server saw STARTTLS, and MAIL FROM only inside TLS"
else
	not_ok "the server saw STARTTLS, and MAIL FROM only inside TLS"
	sed 's/^/#   /' "$MAIL/starttls.log"
fi

conf "$T/j.conf" "smtp://localhost:$(port starttls)" "email_from=alerts@ops.example" \
	"email_to=ops@example.org, oncall@example.org"
run "$OPSCTL" --config "$T/j.conf" -o json alerts test -c email
keep
expect_rc 0 "JSON run: exit 0"
expect_json_true 'd["status"] == "ok" and d["delivered"] == 1 and d["failed"] == 0' "JSON envelope ok, 1 delivered"
expect_json_true 'd["channels"][0]["channel"] == "email" and d["channels"][0]["status"] == "delivered" and d["channels"][0]["detail"].startswith("250 2.0.0 Ok: queued as peer-") and d["channels"][0]["error"] is None' \
	"JSON channel report: delivered, detail is the server's 250"
expect_mail 'm["mail_from"] == "alerts@ops.example" and sorted(m["rcpt_tos"]) == ["oncall@example.org", "ops@example.org"]' \
	"alerts.email_from is the sender; both recipients received it"

# The password from the environment instead of the file, and AUTH LOGIN.
conf "$T/l.conf" "smtp://localhost:$(port login)" "smtp_password_file="
SMTP_PASSWORD=$PASSWORD run "$OPSCTL" --config "$T/l.conf" alerts test -c email
keep
expect_rc 0 "AUTH LOGIN with the password from SMTP_PASSWORD: exit 0"
if saw login "AUTH LOGIN ok"; then ok "the server accepted AUTH LOGIN"; else
	not_ok "the server accepted AUTH LOGIN"; sed 's/^/#   /' "$MAIL/login.log"; fi

# smtps://: TLS from the first byte.
conf "$T/c.conf" "smtps://localhost:$(port smtps)"
run "$OPSCTL" --config "$T/c.conf" alerts test -c email
keep
expect_rc 0 "smtps:// (implicit TLS): exit 0"
expect_mail 'm["listener"] == "smtps" and m["tls"] and m["auth_user"] == "alerts"' \
	"smtps://: the server stored it, received over TLS after AUTH"

# alerts.smtp_tls = none: a relay on loopback, no TLS, no AUTH.
conf "$T/c.conf" "smtp://127.0.0.1:$(port plain)" "smtp_tls=none" "smtp_user=" \
	"smtp_password_file="
run "$OPSCTL" --config "$T/c.conf" alerts test -c email
keep
expect_rc 0 "smtp_tls = none to a loopback relay: exit 0"
expect_mail 'm["listener"] == "plain" and not m["tls"] and m["auth_user"] is None' \
	"the relay stored it, in clear and without AUTH as configured"

# ---- refused ----
conf "$T/c.conf" "smtp://localhost:$(port starttls)"
SMTP_PASSWORD=wrong-password fail_case "a wrong password" "AUTH refused: 535 5.7.8"

echo '{"refuse_auth": "454 4.7.0 Temporary authentication failure"}' >"$MAIL/control.json"
fail_case "AUTH refused with 454" "AUTH refused: 454 4.7.0"
rm -f "$MAIL/control.json"

echo '{"refuse_rcpt": {"nobody@example.org": "550 5.1.1 <nobody@example.org>: user unknown"}}' \
	>"$MAIL/control.json"
conf "$T/c.conf" "smtp://localhost:$(port starttls)" "email_to=ops@example.org, nobody@example.org"
fail_case "a refused recipient" "RCPT TO:<nobody@example.org>" "550 5.1.1"
rm -f "$MAIL/control.json"

conf "$T/c.conf" "smtp://localhost:$(port plain)"
fail_case "a server without STARTTLS" "offers no STARTTLS" "nothing sent without TLS"
# The one MAIL FROM there is the smtp_tls = none relay run's, before these.
if [ "$(grep -c '^C: MAIL FROM' "$MAIL/plain.log")" -eq 1 ] && ! saw plain "AUTH"; then
	ok "the client sent the server without STARTTLS no MAIL FROM and no AUTH"
else
	not_ok "the client sent the server without STARTTLS no MAIL FROM and no AUTH"
	sed 's/^/#   /' "$MAIL/plain.log"
fi

echo '{"refuse_starttls": "454 4.7.0 TLS not available due to temporary reason"}' >"$MAIL/control.json"
conf "$T/c.conf" "smtp://localhost:$(port starttls)"
mail_from_before=$(grep -c '^C: MAIL FROM' "$MAIL/starttls.log")
fail_case "a server that refuses STARTTLS" "refused STARTTLS: 454 4.7.0" "nothing sent without TLS"
rm -f "$MAIL/control.json"
if [ "$(grep -c '^C: MAIL FROM' "$MAIL/starttls.log")" -eq "$mail_from_before" ]; then
	ok "after the refused STARTTLS the client sent no MAIL FROM"
else
	not_ok "after the refused STARTTLS the client sent no MAIL FROM"
	tail -n 12 "$MAIL/starttls.log" | sed 's/^/#   /'
fi

conf "$T/c.conf" "smtp://localhost:$(port otherca)"
fail_case "a certificate from another CA" "cannot verify the TLS certificate" "unknown CA"
conf "$T/c.conf" "smtp://localhost:$(port otherhost)"
fail_case "a certificate for another host name" "the certificate is for another host name"
conf "$T/c.conf" "smtp://localhost:$(port expired)"
fail_case "an expired certificate" "the certificate has expired"
bad=""
for l in otherca otherhost expired; do
	saw "$l" "AUTH" && bad="$bad $l: AUTH"
	saw "$l" "MAIL FROM" && bad="$bad $l: MAIL FROM"
done
if [ -z "$bad" ]; then ok "no AUTH and no MAIL FROM past a certificate that did not verify"; else
	not_ok "no AUTH and no MAIL FROM past a bad certificate:$bad"; fi

conf "$T/c.conf" "smtp://127.0.0.1:1"
fail_case "nobody listening" "connection refused"

conf "$T/c.conf" "smtp://localhost:$(port stall)" "timeout=1s"
start=$(date +%s)
run "$OPSCTL" -q --config "$T/c.conf" alerts test -c email
keep
expect_fail 1 "a server that never answers: exit 1 naming the timeout" "no answer within 1s"
if [ $(($(date +%s) - start)) -le 4 ]; then ok "alerts.timeout bounds it (1s)"; else
	not_ok "alerts.timeout bounds it (took $(($(date +%s) - start))s)"; fi

# SIGTERM ends a stalled exchange at once, not after alerts.timeout.
conf "$T/c.conf" "smtp://localhost:$(port stall)" "timeout=30s"
start=$(date +%s)
"$OPSCTL" -q --config "$T/c.conf" alerts test -c email >"$OUT" 2>"$ERR" </dev/null &
pid=$!
wait_for 5 grep -q connect "$MAIL/stall.log"
sleep 0.3
# What ps would show of it while it holds the password in memory.
tr '\0' ' ' <"/proc/$pid/cmdline" >"$T/argv" 2>/dev/null
if [ -s "$T/argv" ] && ! grep -qF -- "$PASSWORD" "$T/argv"; then
	ok "the password is not in the running process's argv"
else
	not_ok "the password is not in the running process's argv ($(cat "$T/argv"))"
fi
kill -TERM "$pid"
wait "$pid"
RC=$?
RUN_CMD="opsctl alerts test -c email, SIGTERM while the server is silent"
keep
expect_rc 143 "SIGTERM during a silent exchange: exit 143"
if [ $(($(date +%s) - start)) -le 5 ]; then ok "SIGTERM ends it at once, not after the 30s timeout"; else
	not_ok "SIGTERM ends it at once (took $(($(date +%s) - start))s)"; fi

# Plain SMTP elsewhere than loopback is refused before connecting.
conf "$T/c.conf" "smtp://192.0.2.1:25" "smtp_tls=none" "smtp_user="
FAIL_RC=78 fail_case "smtp_tls = none to a non-loopback host" "plain SMTP only to a loopback address"

# ---- the password's own problems, named without it ----
conf "$T/c.conf" "smtp://localhost:$(port starttls)" "smtp_password_file="
FAIL_RC=78 fail_case "no password anywhere" "SMTP_PASSWORD is unset" "alerts.smtp_password_file"
cp "$T/smtp.pw" "$T/open.pw"
chmod 644 "$T/open.pw"
conf "$T/c.conf" "smtp://localhost:$(port starttls)" "smtp_password_file=$T/open.pw"
fail_case "a password file readable by others" "$T/open.pw"

# ---- half configured: the missing key named, exit 78 ----
conf "$T/c.conf" "smtp://localhost:$(port starttls)" "email_to="
n0=$(mails)
run "$OPSCTL" --config "$T/c.conf" alerts test -c email
keep
expect_fail 78 "smtp_url without email_to: exit 78, naming the missing key" \
	"alerts.email_to is not set, but alerts.smtp_url is"
conf "$T/c.conf" ""
run "$OPSCTL" --config "$T/c.conf" alerts test
keep
expect_fail 78 "email_to without smtp_url, under all: exit 78, naming the missing key" \
	"alerts.smtp_url is not set, but alerts.email_to is"
run "$OPSCTL" --config "$T/c.conf" -o json alerts test
expect_json_true 'find(d["channels"], "channel", "email")["status"] == "failed" and "alerts.smtp_url is not set" in find(d["channels"], "channel", "email")["error"]' \
	"JSON: the email channel failed, its error naming alerts.smtp_url"
[ "$(mails)" -eq "$n0" ]; check $? "no mail was sent by a half-configured channel"
conf "$T/c.conf" "" "email_to=" "smtp_user=" "smtp_password_file="
run "$OPSCTL" --config "$T/c.conf" alerts test -c email
keep
expect_error 78 "neither key: the email channel is not configured (exit 78)" "no alert channel is configured" "alerts.smtp_url and alerts.email_to"

# ---- the password is nowhere ----
cat "$PEER_LOG" "$MAIL"/*.log "$MAIL"/mail-*.json >"$T/server-side"
find "$OPSCTL_STATE_DIR" -type f -exec cat {} + >"$T/state-files" 2>/dev/null
if grep -lF -- "$PASSWORD" "$T/all-output" "$T/server-side" "$T/state-files" >"$T/leaks"; then
	not_ok "the password appears nowhere (output, journal, metrics, server records)"
	sed 's/^/#   leaked in: /' "$T/leaks"
else
	ok "the password appears nowhere: $(wc -l <"$T/all-output") lines of output, the journal and metrics, the server's records"
fi
if [ -s "$OPSCTL_STATE_DIR/journal.jsonl" ] && grep -q '"alerts test"' "$OPSCTL_STATE_DIR/journal.jsonl"; then
	ok "the runs are journalled"
else
	not_ok "the runs are journalled"
fi

# ---- core/smtp's own cases against the same server ----
export OPSCTL_TEST_SMTP_STARTTLS="smtp://localhost:$(port starttls)"
export OPSCTL_TEST_SMTP_SMTPS="smtps://localhost:$(port smtps)"
export OPSCTL_TEST_SMTP_PLAIN="smtp://127.0.0.1:$(port plain)"
export OPSCTL_TEST_SMTP_EXPIRED="smtp://localhost:$(port expired)"
export OPSCTL_TEST_SMTP_OTHERHOST="smtp://localhost:$(port otherhost)"
export OPSCTL_TEST_SMTP_CA="$P/ca.pem" OPSCTL_TEST_SMTP_DIR="$MAIL" OPSCTL_TEST_SMTP_PASSWORD="$PASSWORD"
# unit LABEL BINARY: one check per case, and every case must have run.
unit() {
	local label=$1 bin=$2 rc line n=0
	if [ ! -x "$bin" ]; then
		skip "$label" "$bin not built (make unit unit-asan)"
		return
	fi
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		"$bin" >"$T/unit.out" 2>&1
	rc=$?
	while IFS= read -r line; do
		case "$line" in
		"ok "*) n=$((n + 1)) ;;
		"not ok "*) not_ok "$label: ${line#not ok }" ;;
		esac
	done <"$T/unit.out"
	if [ "$rc" -eq 0 ] && [ "$n" -ge 11 ] && ! grep -q Sanitizer "$T/unit.out" &&
		grep -q "^unit: $n passed, 0 failed" "$T/unit.out"; then
		ok "$label: $n cases ran and passed"
	else
		not_ok "$label: every case ran and passed (exit $rc, $n passed)"
		tail -n 30 "$T/unit.out" | sed 's/^/#   /'
	fi
}
unit "core/smtp" "$ROOT/build/unit/core/test_smtp"
unit "core/smtp (ASan)" "$ROOT/build-asan/unit/core/test_smtp"

done_testing
