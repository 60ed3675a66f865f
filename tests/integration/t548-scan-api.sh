#!/usr/bin/env bash
# t548: `scan -t api` against a Python API peer (tests/lib/api_peer.py) with
# certificates from a test CA made here: a leaky profile (TLS 1.0/1.1, no
# HSTS or other headers, CORS * with credentials, banners, open auth
# endpoints, a health endpoint leaking a secret), its hardened twin,
# expired, wrong-host, self-signed and soon-expiring certificates, plain
# HTTP with and without a redirect, and unreachable APIs (closed port, a
# listener that never answers) that must end in time.
. "$(dirname "$0")/../lib/common.sh"
. "$ROOT/tests/lib/tls.sh"

tool=$(missing_tool openssl python3) &&
	bail_out "$tool is needed to make the test CA and run the API peer"

# ---- a test CA and its certificates ----
P="$T/tls"
if tls_peer_set "$P" "opsctl test CA" 2>"$T/openssl.log"; then
	ok "a test CA signed good, expired, other-host and expiring certificates; one self-signed"
else
	not_ok "the test CA and certificates"
	sed 's/^/#   /' "$T/openssl.log"
	done_testing
fi

bg python3 "$ROOT/tests/lib/api_peer.py" "$T/ports" "$P"
wait_for 15 test -s "$T/ports" || { sed 's/^/#   /' "$BG_LOG"; bail_out "the API peer starts"; }
port() { awk -v n="$1" '$1 == n { print $2 }' "$T/ports"; }
CLOSED=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
SECRET='Sup3rS3cretDbPassw0rd!'

# conf NAME URL [KEY = VALUE lines...]: $T/NAME.conf for an API at URL.
conf() {
	local name=$1 url=$2
	shift 2
	{
		echo "[scan]"
		echo "api_url = $url"
		echo "api_ca_file = $P/ca.pem"
		echo "api_http_url = http://127.0.0.1:$(port redirect)/"
		echo "api_auth_endpoints = /admin,/api/documents"
		echo "api_timeout = ${TIMEOUT:-3s}"
		printf '%s\n' "$@"
	} >"$T/$name.conf"
}
# scan NAME: scan -t api with $T/NAME.conf into $T/NAME.json, every finding.
scan() {
	run env OPSCTL_CONFIG="$T/$1.conf" "$OPSCTL" scan -t api -o "$T/$1.json" -s info --exit-zero
}
# count FILE RULE [SEVERITY]: how many findings of RULE (at SEVERITY) FILE holds.
count() {
	python3 - "$@" <<'EOF'
import json, sys
f = json.load(open(sys.argv[1]))
fs = f["findings"] if isinstance(f, dict) else f
print(sum(1 for x in fs if x["rule"] == sys.argv[2] and (len(sys.argv) < 4 or x["severity"] == sys.argv[3])))
EOF
}
# once FILE RULE SEVERITY DESC
once() {
	local n
	n=$(count "$1" "$2" "$3" 2>/dev/null)
	if [ "$n" = 1 ]; then ok "$4"; else not_ok "$4 ($2 at $3: ${n:-no results file} times)"; diag_run; fi
}
# api_rules FILE: the api.* rules FILE holds, sorted, one per line.
api_rules() {
	python3 -c '
import json, sys
f = json.load(open(sys.argv[1]))
fs = f["findings"] if isinstance(f, dict) else f
print("\n".join(sorted(x["rule"] for x in fs if x["rule"].startswith("api."))))' "$1" 2>/dev/null
}

# ---- the leaky API ----
conf leaky "https://localhost:$(port leaky)" "api_http_url = http://127.0.0.1:$(port plain)/"
scan leaky
expect_rc 0 "leaky API: the scan runs (--exit-zero)"
J="$T/leaky.json"
once "$J" api.tls.legacy-protocol high "TLS 1.0/1.1 accepted: high"
once "$J" api.headers.no-hsts medium "no HSTS on https: medium"
once "$J" api.headers.no-content-type-options low "no X-Content-Type-Options: low"
once "$J" api.headers.no-csp low "no Content-Security-Policy: low"
once "$J" api.headers.no-frame-options low "no frame options: low"
once "$J" api.cors.wildcard-credentials high "CORS * with credentials: high"
once "$J" api.tls.no-https-redirect medium "plain HTTP twin without a redirect: medium"
[ "$(count "$J" api.headers.version-banner low)" = 2 ]
check $? "Server version and X-Powered-By: one low finding each"
[ "$(count "$J" api.auth.unauthenticated critical)" = 2 ]
check $? "/admin and /api/documents open without credentials: one critical each"
[ "$(count "$J" api.health.leak medium)" = 4 ]
check $? "the health endpoint: stack trace, secret field, version, host name (4 medium findings)"
python3 - "$J" <<'EOF'
import json, sys
f = json.load(open(sys.argv[1]))
fs = f["findings"] if isinstance(f, dict) else f
need = {"rule", "severity", "title", "target", "evidence", "remediation", "fingerprint"}
sys.exit(0 if fs and all(need <= set(x) for x in fs) else 1)
EOF
check $? "the results file's findings have rule, severity, title, target, evidence, remediation, fingerprint"
! grep -qF "$SECRET" "$J" "$OUT" "$ERR"
check $? "the health endpoint's password appears nowhere in the results, stdout or stderr"
grep -qF 'db_password: Sup3' "$J"
check $? "...its key is named with the value redacted"
fps=$(python3 -c '
import json, sys
f = json.load(open(sys.argv[1]))
fs = f["findings"] if isinstance(f, dict) else f
print(len(fs) - len({x["fingerprint"] for x in fs}))' "$J")
[ "$fps" = 0 ]
check $? "every finding has its own fingerprint"

run env OPSCTL_CONFIG="$T/leaky.conf" "$OPSCTL" scan -t api -o "$T/leaky2.json"
expect_rc 1 "leaky API at the default floor (high): exit 1"
grep -q "api.auth.unauthenticated" "$OUT" "$ERR"
check $? "...the text output names the open endpoint's rule"
run env OPSCTL_CONFIG="$T/leaky.conf" "$OPSCTL" -o json scan -t api -o "$T/leaky3.json" -s critical --exit-zero
expect_json_true 'all(x["severity"] == "critical" for x in d["findings"]) and len(d["findings"]) == 2' \
	"-o json -s critical: only the two open endpoints"
! grep -qF "$SECRET" "$OUT" "$ERR"
check $? "...and no secret in the JSON output either"

# ---- the hardened twin ----
conf hardened "https://localhost:$(port hardened)/"
scan hardened
expect_rc 0 "hardened API: the scan runs"
rules=$(api_rules "$T/hardened.json")
[ -f "$T/hardened.json" ] && [ -z "$rules" ]
check $? "hardened API: no api finding (got: ${rules:-none})"

# ---- certificates ----
for c in expired:api.tls.cert-expired:critical otherhost:api.tls.hostname-mismatch:critical \
	selfsigned:api.tls.untrusted-chain:critical expiring:api.tls.cert-expiring:high; do
	IFS=: read -r name rule sev <<<"$c"
	conf "$name" "https://localhost:$(port "$name")"
	scan "$name"
	once "$T/$name.json" "$rule" "$sev" "$name certificate: $rule at $sev"
	rules=$(api_rules "$T/$name.json")
	[ "$rules" = "$rule" ]
	check $? "...and nothing else (got: $(echo $rules))"
done
conf expiring2 "https://localhost:$(port expiring)" "cert_crit_days = 2"
scan expiring2
once "$T/expiring2.json" api.tls.cert-expiring medium "expiring in 3 days with crit 2, warn 30: medium"

# ---- plain http:// API ----
conf plainapi "http://127.0.0.1:$(port plain)/"
scan plainapi
once "$T/plainapi.json" api.tls.no-https high "scan.api_url over plain HTTP: high"
[ "$(count "$T/plainapi.json" api.headers.no-hsts)" = 0 ]
check $? "...and no HSTS finding for plain HTTP"

# ---- unreachable, never a hang ----
conf closed "https://localhost:$CLOSED"
scan closed
expect_rc 0 "closed port: the scan goes on"
once "$T/closed.json" api.unreachable info "closed port: one info finding"
TIMEOUT=2s conf silent "https://localhost:$(port silent)"
start=$(date +%s)
run timeout 30 env OPSCTL_CONFIG="$T/silent.conf" "$OPSCTL" scan -t api -o "$T/silent.json" -s info --exit-zero
took=$(($(date +%s) - start))
[ "$RC" = 0 ] && [ "$took" -le 10 ]
check $? "a listener that never answers: done in ${took}s with a 2s timeout (no hang)"
once "$T/silent.json" api.unreachable info "...one info finding"
conf closedfail "https://localhost:$CLOSED" "unreachable = fail"
run env OPSCTL_CONFIG="$T/closedfail.conf" "$OPSCTL" scan -t api -o "$T/cf.json"
expect_error 69 "scan.unreachable = fail: exit 69" "api"

# ---- bad configuration ----
printf '[scan]\n' >"$T/nourl.conf"
run env OPSCTL_CONFIG="$T/nourl.conf" "$OPSCTL" scan -t api -o "$T/nourl.json"
expect_error 78 "-t api without scan.api_url: exit 78" "scan.api_url"
[ ! -e "$T/nourl.json" ]
check $? "...and no results file"
printf '[scan]\napi_url = ftp://x.example/\n' >"$T/ftp.conf"
run env OPSCTL_CONFIG="$T/ftp.conf" "$OPSCTL" scan -t api -o "$T/ftp.json"
expect_error 78 "an ftp:// scan.api_url: exit 78" "ftp://"

printf '[scan]\napi_url = https://admin:Hunter2Hunter2@localhost:%s/\n' "$(port hardened)" >"$T/cred.conf"
run env OPSCTL_CONFIG="$T/cred.conf" "$OPSCTL" scan -t api -o "$T/cred.json"
expect_error 78 "credentials in scan.api_url: exit 78" "credentials"
! grep -qF Hunter2Hunter2 "$OUT" "$ERR" && [ ! -e "$T/cred.json" ]
check $? "...the password is not echoed and no results file is written"

done_testing
