#!/usr/bin/env bash
# t310: core/http, the libcurl wrapper behind S3 (and health, alerts, scan
# next), against a scripted peer on loopback (tests/lib/http_peer.py): plain
# HTTP, and TLS with certificates from a test CA made here with openssl (a
# good one, an expired one, one for another host name, one port that wants
# a client certificate).  The cases are in build/unit/core/test_http, which
# skips them (saying why) when these URLs are not exported; here each case
# is one check, run plain and under ASan/UBSan/LSan.
. "$(dirname "$0")/../lib/common.sh"
. "$ROOT/tests/lib/tls.sh"

tool=$(missing_tool openssl python3) &&
	bail_out "$tool is needed to make the test CA and run the peer"
UNIT="$ROOT/build/unit/core/test_http"
[ -x "$UNIT" ] || bail_out "build/unit/core/test_http (make unit)"

# ---- a test CA and its certificates ----
P="$T/tls"
mkdir -p "$P/cadir"
if { tls_ca "$P" "opsctl test CA" &&
	tls_sign "$P" good localhost loopback &&
	tls_sign "$P" expired localhost loopback 20200101000000Z 20200102000000Z &&
	tls_sign "$P" otherhost other.example otherhost &&
	tls_sign "$P" client opsctl-client client &&
	cp "$P/ca.pem" "$P/cadir/" && openssl rehash "$P/cadir"; } 2>"$T/openssl.log" >&2; then
	ok "a test CA signed a good, an expired, an other-host and a client certificate"
else
	not_ok "the test CA and certificates"
	sed 's/^/#   /' "$T/openssl.log"
	done_testing
fi
if openssl verify -CAfile "$P/ca.pem" "$P/expired.pem" 2>&1 |
	grep -q "certificate has expired"; then
	ok "openssl itself calls the expired certificate expired"
else
	not_ok "openssl itself calls the expired certificate expired"
fi

# ---- the peer ----
bg python3 "$ROOT/tests/lib/http_peer.py" "$T/ports" plain \
	"good:$P/good.pem:$P/good.key" "expired:$P/expired.pem:$P/expired.key" \
	"otherhost:$P/otherhost.pem:$P/otherhost.key" "mtls:$P/good.pem:$P/good.key:$P/ca.pem"
wait_for 10 test -s "$T/ports" || { sed 's/^/#   /' "$BG_LOG"; bail_out "the HTTP peer starts"; }
port() { awk -v n="$1" '$1 == n { print $2 }' "$T/ports"; }
export OPSCTL_TEST_HTTP_URL="http://127.0.0.1:$(port plain)"
export OPSCTL_TEST_HTTPS_URL="https://127.0.0.1:$(port good)"
export OPSCTL_TEST_HTTPS_EXPIRED_URL="https://127.0.0.1:$(port expired)"
export OPSCTL_TEST_HTTPS_OTHERHOST_URL="https://127.0.0.1:$(port otherhost)"
export OPSCTL_TEST_HTTPS_MTLS_URL="https://127.0.0.1:$(port mtls)"
export OPSCTL_TEST_HTTP_CA="$P/ca.pem" OPSCTL_TEST_HTTP_CA_DIR="$P/cadir"
export OPSCTL_TEST_HTTP_CLIENT_CERT="$P/client.pem" OPSCTL_TEST_HTTP_CLIENT_KEY="$P/client.key"
OPSCTL_TEST_HTTP_CERT_EXPIRY=$(date -u -d "$(openssl x509 -enddate -noout -in "$P/good.pem" |
	cut -d= -f2)" +%s)
export OPSCTL_TEST_HTTP_CERT_EXPIRY
if curl -sf -o /dev/null "$OPSCTL_TEST_HTTP_URL/ok" &&
	curl -sf -o /dev/null --cacert "$P/ca.pem" "$OPSCTL_TEST_HTTPS_URL/ok"; then
	ok "the peer answers plain and TLS (curl with the test CA)"
else
	not_ok "the peer answers plain and TLS"
	sed 's/^/#   /' "$BG_LOG"
fi

# report LABEL: one check per case in $T/unit.out, and the binary's own verdict.
report() {
	local label=$1 rc=$2 line n=0
	while IFS= read -r line; do
		case "$line" in
		"ok "*" # SKIP"*) not_ok "$label: ${line#ok } (the peer's URLs are exported: nothing may skip)" ;;
		"ok "*) ok "$label: ${line#ok }"; n=$((n + 1)) ;;
		"not ok "*)
			not_ok "$label: ${line#not ok }"
			grep -v '^ok \|^not ok \|^unit: ' "$T/unit.out" | head -n 30 | sed 's/^/#   /' ;;
		esac
	done <"$T/unit.out"
	# The peer's cases must have run: a build that skipped them cannot pass.
	if [ "$rc" -eq 0 ] && [ "$n" -ge 29 ] && grep -q "^unit: $n passed, 0 failed" "$T/unit.out"; then
		ok "$label: $n cases ran and passed"
	else
		not_ok "$label: every case ran and passed (exit $rc, $n passed)"
		tail -n 20 "$T/unit.out" | sed 's/^/#   /'
	fi
}

"$UNIT" >"$T/unit.out" 2>&1
report "http" $?

ASAN_UNIT="$ROOT/build-asan/unit/core/test_http"
if [ -x "$ASAN_UNIT" ]; then
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		"$ASAN_UNIT" >"$T/unit.out" 2>&1
	rc=$?
	if grep -q "Sanitizer" "$T/unit.out"; then
		not_ok "http under ASan/UBSan/LSan: no sanitizer report"
		grep -A 20 "Sanitizer" "$T/unit.out" | head -n 40 | sed 's/^/#   /'
	fi
	report "http (ASan)" "$rc"
else
	skip "the cases under ASan/UBSan/LSan" "build-asan/unit/core/test_http not built (make unit-asan)"
fi

done_testing
