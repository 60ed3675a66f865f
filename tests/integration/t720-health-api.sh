#!/usr/bin/env bash
# t720: `opsctl health -c api` (guide 000 section 8.5 health-check.sh, guide
# 003's API availability) against scripted endpoints on loopback
# (tests/lib/http_peer.py): healthy, slow (warning, critical), stalled,
# flooding, HTTP 500/503, an answer without the expected text, a closed
# port, and over TLS with certificates from a test CA (tests/lib/tls.sh):
# good (days left in the perfdata), expiring soon, expired, for another host.
# The plugin contract: status line "OPSCTL HEALTH STATE - ...", exit 0/1/2/3.
. "$(dirname "$0")/../lib/common.sh"
. "$ROOT/tests/lib/tls.sh"
. "$ROOT/tests/lib/pg.sh"	# pg_free_port
. "$ROOT/tests/lib/health.sh"

tool=$(missing_tool openssl python3) && bail_out "$tool is needed for the test CA and the peer"

P="$T/tls"
mkdir -p "$P"
if tls_peer_set "$P" "opsctl t720 CA" 2>"$T/openssl.log"; then
	ok "a test CA signed a good, an expiring, an expired and an other-host certificate"
else
	not_ok "the test CA and certificates"
	sed 's/^/#   /' "$T/openssl.log"
	done_testing
fi

bg python3 "$ROOT/tests/lib/http_peer.py" "$T/ports" plain \
	"good:$P/good.pem:$P/good.key" "expiring:$P/expiring.pem:$P/expiring.key" \
	"expired:$P/expired.pem:$P/expired.key" "otherhost:$P/otherhost.pem:$P/otherhost.key"
wait_for 10 test -s "$T/ports" || { sed 's/^/#   /' "$BG_LOG"; bail_out "the HTTP peer starts"; }
port() { awk -v n="$1" '$1 == n { print $2 }' "$T/ports"; }
H="http://127.0.0.1:$(port plain)"

# conf KEY=VALUE...: the [health] section with a short check timeout, and those keys.
conf() {
	{
		echo "[health]"
		echo "check_timeout = 2s"
		for kv in "$@"; do echo "$kv"; done
	} >"$T/c.conf"
}
hc() { run "$OPSCTL" --config "$T/c.conf" health -c api "$@"; }

# ---- healthy ----
conf "api_url = $H/ok" "api_expect = ok"
hc
expect_health 0 OK "a 2xx answer with the expected text, fast: OK" "api"
expect_perf "^'api_time'=[0-9.]+s;1(\.0*)?;5(\.0*)?;0" "perfdata 'api_time'=Ns;1;5;0 (seconds, thresholds from api_warn_ms, api_critical_ms)"
if grep -q "'api_time'=" <<<"$(head -n 1 "$OUT")" && ! grep -q "api_cert_days" <<<"$(head -n 1 "$OUT")"; then
	ok "plain HTTP: api_time but no api_cert_days"
else not_ok "plain HTTP: api_time but no api_cert_days"; diag_run; fi
prom="$OPSCTL_STATE_DIR/opsctl.prom"
expect_file_contains "$prom" "opsctl_health_api_response_seconds" "the textfile has opsctl_health_api_response_seconds"
if grep -q '^# HELP opsctl_health_api_response_seconds Time the API' "$prom" 2>/dev/null; then
	ok "its HELP line comes from figures.def"
else not_ok "its HELP line comes from figures.def"; fi

hc -o json
expect_json_true 'find(d["components"], "component", "api")["state"] == "OK"' "JSON: the api component is OK"
expect_json_true 'find(d["components"], "component", "api")["http_status"] == 200' "JSON: http_status 200"
expect_json_true 'find(d["components"], "component", "api")["url"] == "'"$H"'/ok"' "JSON: the url, origin and path"
expect_json_true '0 <= find(d["components"], "component", "api")["api_time"] < 1' "JSON: api_time, the seconds the answer took"

# ---- credentials in the URL are never shown ----
conf "api_url = http://monitor:pw-t720-secret@127.0.0.1:$(port plain)/ok?token=tok-t720-secret"
journal_mark
hc -o json
expect_json_true 'find(d["components"], "component", "api")["url"] == "'"$H"'/ok"' "a URL's user information and query are not in the report"
if [ "$RC" -eq 0 ] && ! grep -rqE 'pw-t720-secret|tok-t720-secret' "$OUT" "$ERR" "$OPSCTL_STATE_DIR"; then
	ok "the check passed with that URL, and its password and token are in no output, journal, state or textfile"
else
	not_ok "the URL's password and token are in no output, journal, state or textfile"
	grep -rlE 'pw-t720-secret|tok-t720-secret' "$OUT" "$ERR" "$OPSCTL_STATE_DIR" | sed 's/^/#   /'
fi

# ---- slow ----
conf "api_url = $H/slow/400" "api_warn_ms = 150" "api_critical_ms = 1500"
hc
expect_health 1 WARNING "an answer slower than api_warn_ms: WARNING" "answered in" "warning above 0.15 s"
conf "api_url = $H/slow/400" "api_warn_ms = 100" "api_critical_ms = 200"
hc
expect_health 2 CRITICAL "an answer slower than api_critical_ms: CRITICAL" "critical above 0.20 s"
expect_perf "^'api_time'=0\.[4-9][0-9]*s;0\.1;0\.2;0" "perfdata carries the slow time and the thresholds (0.1, 0.2)"

# ---- stalled: accepts, reads, never answers ----
conf "api_url = $H/stall"
t0=$EPOCHREALTIME
hc
t1=$EPOCHREALTIME
expect_health 2 CRITICAL "a stalled endpoint is CRITICAL" "timed out after 2.0 s"
elapsed=$(python3 -c "print(round($t1 - $t0, 2))")
if python3 -c "import sys; sys.exit(0 if 1.8 <= $t1 - $t0 < 4.5 else 1)"; then
	ok "... within the check timeout (2 s; took $elapsed s, bound 4.5 s)"
else not_ok "... within the check timeout (2 s; took $elapsed s, bound 4.5 s)"; fi

# ---- flooding: an endless body ----
conf "api_url = $H/flood" "max_body = 64K"
hc
expect_health 2 CRITICAL "an endpoint that floods is CRITICAL naming the cap" "answer larger than 65536 bytes"

# ---- HTTP errors, one request each (no retries) ----
conf "api_url = $H/flaky/t720a?fail=5&status=500"
hc
expect_health 2 CRITICAL "HTTP 500 is CRITICAL" "HTTP 500"
if [ "$(curl -s "$H/count/t720a")" = 1 ]; then ok "... after one request: a health check does not retry"; else
	not_ok "... after one request (the peer saw $(curl -s "$H/count/t720a"))"; fi
conf "api_url = $H/status/503"
hc
expect_health 2 CRITICAL "HTTP 503 is CRITICAL" "HTTP 503"
conf "api_url = $H/status/404"
hc -o json
expect_json_true 'find(d["components"], "component", "api")["state"] == "CRITICAL" and "HTTP 404" in find(d["components"], "component", "api")["summary"]' "JSON: HTTP 404 is CRITICAL, the summary says so"
expect_json_true 'd["exit_code"] == 2' "JSON: exit_code 2"

# ---- the expected text ----
conf "api_url = $H/ok" "api_expect = healthy"
hc
expect_health 2 CRITICAL "a 2xx answer without health.api_expect is CRITICAL" "lacks 'healthy'"

# ---- nobody listening ----
conf "api_url = http://127.0.0.1:$(pg_free_port)/health"
hc
expect_health 2 CRITICAL "a closed port is CRITICAL" "connection refused"

# ---- TLS ----
conf "api_url = https://127.0.0.1:$(port good)/ok" "api_ca_file = $P/ca.pem"
hc
expect_health 0 OK "https with a good certificate from the configured CA: OK"
expect_perf "'api_cert_days'=(89|90);30:;7:" "perfdata 'api_cert_days'=89;30:;7: (days left, low-is-bad ranges)"
hc -o json
expect_json_true 'find(d["components"], "component", "api")["api_cert_days"] in (89, 90)' "JSON: api_cert_days, the certificate's days left"

conf "api_url = https://127.0.0.1:$(port expiring)/ok" "api_ca_file = $P/ca.pem" "cert_critical_days = 1"
hc
expect_health 1 WARNING "a certificate expiring within cert_warn_days: WARNING" "certificate expires in 2 days"
expect_perf "'api_cert_days'=2;30:;1:" "perfdata 'api_cert_days'=2;30:;1:"
conf "api_url = https://127.0.0.1:$(port expiring)/ok" "api_ca_file = $P/ca.pem"
hc
expect_health 2 CRITICAL "... within cert_critical_days: CRITICAL" "certificate expires in 2 days"

conf "api_url = https://127.0.0.1:$(port expired)/ok" "api_ca_file = $P/ca.pem"
hc
expect_health 2 CRITICAL "an expired certificate is CRITICAL naming the cause" "certificate has expired"
conf "api_url = https://127.0.0.1:$(port otherhost)/ok" "api_ca_file = $P/ca.pem"
hc
expect_health 2 CRITICAL "a certificate for another host is CRITICAL naming the cause" "certificate is for another host"
conf "api_url = https://127.0.0.1:$(port good)/ok"
hc
expect_health 2 CRITICAL "a CA the system does not trust, none configured: CRITICAL" "unknown CA"

# ---- what opsctl cannot use: UNKNOWN ----
# Each error names the key and its value, on one line.
conf "api_url = https://127.0.0.1:$(port good)/ok" "api_ca_file = $T/no-such-ca.pem"
hc
expect_health 3 UNKNOWN "an unreadable api_ca_file is UNKNOWN, naming the key and the file" \
	"health.api_ca_file: cannot read '$T/no-such-ca.pem': No such file or directory"
echo "not a certificate" >"$T/garbage.pem"
conf "api_url = https://127.0.0.1:$(port good)/ok" "api_ca_file = $T/garbage.pem"
hc
expect_health 3 UNKNOWN "an api_ca_file that holds no certificate is UNKNOWN, naming the key and the file" \
	"health.api_ca_file: cannot use '$T/garbage.pem'"
conf "api_url = ftp://127.0.0.1/health"
hc
expect_health 3 UNKNOWN "a URL that is not http(s) is UNKNOWN, naming the key and the value" \
	"health.api_url: 'ftp://127.0.0.1/health' is not an http:// or https:// URL"
conf "api_url = http://[::1/health"
hc
expect_health 3 UNKNOWN "a URL that does not parse is UNKNOWN, naming the key and the value" \
	"health.api_url: 'http://[::1/health' is not a valid URL"
conf "api_url = http:///health"
hc
expect_health 3 UNKNOWN "a URL without a host is UNKNOWN, naming the key" "health.api_url: 'http:///health' has no host"
conf "api_url = ftp://monitor:pw-t720-bad@127.0.0.1/health?token=tok-t720-bad"
hc
expect_health 3 UNKNOWN "a bad URL with a password: the value is shown without it" \
	"health.api_url: 'ftp://127.0.0.1/health' is not"
if grep -qE 'pw-t720-bad|tok-t720-bad' "$OUT" "$ERR"; then not_ok "... its password and token are in no output"; else
	ok "... its password and token are in no output"; fi
conf "llm_url = ftp://127.0.0.1/v1"
LLM_API_KEY=t720-key run "$OPSCTL" --config "$T/c.conf" health -c llm
expect_health 3 UNKNOWN "an llm_url that is not http(s) is UNKNOWN, naming its key and value" \
	"health.llm_url: 'ftp://127.0.0.1/v1' is not an http:// or https:// URL"
conf
hc
expect_health 3 UNKNOWN "api asked for by name but health.api_url unset: UNKNOWN" "health.api_url is not set"

done_testing
