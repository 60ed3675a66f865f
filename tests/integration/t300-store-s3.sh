#!/usr/bin/env bash
# t300: the S3 storage driver against s3rver on loopback: the storage
# conformance suite (also under ASan and through a proxy failing every third
# request), multipart uploads, 500 answers retried, an unreachable endpoint,
# credentials.  s3rver checks the access key id but not the SigV4 signature
# (DESIGN.md): this proves the protocol flow, not the signing.
. "$(dirname "$0")/../lib/common.sh"
. "$ROOT/tests/lib/s3.sh"
s3_start || bail_out "s3rver starts"

# run_unit BINARY: the conformance suite against OPSCTL_S3_ENDPOINT, output in $T/unit.out
run_unit() {
	OPSCTL_TEST_S3_ENDPOINT=$OPSCTL_S3_ENDPOINT OPSCTL_TEST_S3_BUCKET=$S3_BUCKET "$1" >"$T/unit.out" 2>&1
}

UNIT="$ROOT/build/unit/store/test_store"
[ -x "$UNIT" ] || bail_out "build/unit/store/test_store (make unit)"
if run_unit "$UNIT"; then
	ok "the storage conformance suite passes against S3 ($(grep -c '^ok' "$T/unit.out") checks)"
else
	not_ok "the storage conformance suite passes against S3"
	sed 's/^/#   /' "$T/unit.out"
fi
if grep -q "^# S3 driver at" "$T/unit.out" && grep -q "^ok large_objects_round_trip" "$T/unit.out" &&
	[ "$(grep -c '^ok large_objects_round_trip' "$T/unit.out")" -eq 2 ]; then
	ok "the S3 run included the multipart round trip (12 MiB in 5 MiB parts)"
else
	not_ok "the S3 run included the multipart round trip"
fi

ASAN_UNIT="$ROOT/build-asan/unit/store/test_store"
if [ -x "$ASAN_UNIT" ]; then
	if run_unit "$ASAN_UNIT" && ! grep -q "Sanitizer" "$T/unit.out"; then
		ok "the suite against S3 is clean under ASan/UBSan/LSan"
	else
		not_ok "the suite against S3 is clean under ASan/UBSan/LSan"
		grep -v '^ok' "$T/unit.out" | head -n 40 | sed 's/^/#   /'
	fi
else
	skip "the suite against S3 under ASan" "build-asan/unit/store/test_store not built (make unit-asan)"
fi

# Every third request answered 500: every kind of request (PUT, multipart
# parts and completion, ranged GET, HEAD, list, DELETE) is retried.
s3_fault_proxy every 3 || bail_out "the fault proxy starts"
if run_unit "$UNIT"; then ok "the whole suite passes with every third S3 request failing"; else
	not_ok "the whole suite passes with every third S3 request failing"
	grep -v '^ok' "$T/unit.out" | head -n 40 | sed 's/^/#   /'
fi
n500=$(awk '$3 == 500' "$S3_PROXY_LOG" | wc -l)
methods=$(awk '$3 == 500 { print $1 }' "$S3_PROXY_LOG" | sort -u | tr '\n' ' ')
if [ "$n500" -ge 20 ] && [ "$methods" = "DELETE GET HEAD POST PUT " ]; then
	ok "the proxy failed $n500 requests of every method ($methods)"
else
	not_ok "the proxy failed requests of every method (saw $n500 failures: $methods)"
fi
if grep -q "succeeded after 1 retry (first failure: HTTP 500)" "$T/unit.out"; then ok "a retried request logs one warning line"; else
	not_ok "a retried request logs one warning line"
	grep -v '^ok' "$T/unit.out" | head -n 10 | sed 's/^/#   /'
fi
s3_proxy_stop

# The first two requests answered 500: the suite's first S3 request, a PUT,
# is retried twice and succeeds (s3.retries = 2 in the suite).
s3_fault_proxy first 2 || bail_out "the fault proxy starts"
if run_unit "$UNIT"; then ok "the suite passes with its first two S3 requests failing"; else
	not_ok "the suite passes with its first two S3 requests failing"
	grep -v '^ok' "$T/unit.out" | head -n 20 | sed 's/^/#   /'
fi
if head -n 3 "$S3_PROXY_LOG" | awk '$1 != "PUT" || $2 !~ /db\/one\.txt$/ { bad = 1 }
	NR < 3 && $3 != 500 { bad = 1 } NR == 3 && $3 != 200 { bad = 1 } END { exit bad || NR != 3 }'; then
	ok "a PUT answered 500, 500, then 200 stored the object ($(head -n 1 "$S3_PROXY_LOG" | cut -d' ' -f2))"
else
	not_ok "a PUT answered 500, 500, then 200 stored the object"
	head -n 5 "$S3_PROXY_LOG" | sed 's/^/#   /'
fi
s3_proxy_stop

# An unknown access key is refused (s3rver checks the key id).
AWS_ACCESS_KEY_ID=AKIAWRONG AWS_SECRET_ACCESS_KEY=hunter2secret run "$OPSCTL" backup list --s3
expect_fail 77 "an unknown access key: S3 answers 403, exit 77" "access denied"
if grep -q "hunter2secret" "$ERR" "$OUT"; then not_ok "the secret is not echoed"; else ok "the secret is not echoed"; fi

run env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY "$OPSCTL" backup list --s3
expect_fail 78 "no credentials: exit 78" "no S3 credentials"
mkdir -p "$HOME/.aws"
printf '[default]\naws_access_key_id = S3RVER\naws_secret_access_key = S3RVER\n' >"$HOME/.aws/credentials"
run env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY "$OPSCTL" backup list --s3
expect_rc 0 "credentials from ~/.aws/credentials"
run env -u S3_BUCKET "$OPSCTL" backup list --s3
expect_fail 78 "no bucket: exit 78" "no S3 bucket"

# 500 then 200: retried, and the backup lands.
printf 'hello' >"$T/f.txt"
cat >"$T/opsctl.conf" <<CONF
[backup]
databases = sqlite:$T/kh.db
include_files = $T/f.txt
[s3]
retries = 4
CONF
export OPSCTL_CONFIG="$T/opsctl.conf"
sqlite3 "$T/kh.db" "create table content (id integer primary key, content text); insert into content (content) values ('a'), ('b');"
s3_fault_proxy first 2 || bail_out "the fault proxy starts"
run "$OPSCTL" --output json backup --type full --s3
expect_rc 0 "S3 answering 500 twice, then 200: the backup succeeds"
# The same request (method and path) three times: 500, 500, then 2xx.
if head -n 3 "$S3_PROXY_LOG" | awk 'NR == 1 { req = $1 " " $2 } $1 " " $2 != req { bad = 1 }
	NR < 3 && $3 != 500 { bad = 1 } NR == 3 && $3 !~ /^2/ { bad = 1 } END { exit bad || NR != 3 }'; then
	ok "the proxy saw the first request fail twice, then succeed ($(head -n 1 "$S3_PROXY_LOG" | cut -d' ' -f1-2))"
else
	not_ok "the proxy saw the first request fail twice, then succeed"
	head -n 5 "$S3_PROXY_LOG" | sed 's/^/#   /'
fi
if [ "$(grep -c 'after 2 retries' "$ERR")" -eq 1 ] && grep -q "succeeded after 2 retries (first failure: HTTP 500)" "$ERR"; then
	ok "one warning line, at the default log level, for the request retried twice"
else
	not_ok "one warning line, at the default log level, for the request retried twice"
	diag_run
fi
run "$OPSCTL" --output json backup verify --s3 --checksums-only
expect_rc 0 "the backup written through the failures verifies"
s3_proxy_stop

# Always 500: the retries run out with a clear error.
s3_fault_proxy every 1 || bail_out "the fault proxy starts"
run "$OPSCTL" -q backup --type full --s3
expect_fail 69 "S3 answering 500 every time: exit 69, unavailable, naming HTTP 500" "HTTP 500"
n=$(wc -l <"$S3_PROXY_LOG")
if [ "$n" -eq 5 ]; then ok "one try and s3.retries (4) retries, then gave up"; else not_ok "one try and s3.retries (4) retries (saw $n requests)"; sed 's/^/#   /' "$S3_PROXY_LOG"; fi
s3_proxy_stop

# Unreachable: a closed port, with s3.retries small.
closed=$(_s3_free_port)
start=$(date +%s%N)
OPSCTL_S3_RETRIES=1 OPSCTL_S3_ENDPOINT="http://127.0.0.1:$closed" run "$OPSCTL" -q backup list --s3
ms=$((($(date +%s%N) - start) / 1000000))
expect_fail 69 "S3 unreachable: exit 69 (OPS_EUNAVAIL)" "S3 endpoint http://127.0.0.1:$closed unreachable"
if [ "$ms" -lt 5000 ]; then ok "gives up after one retry within 5 s ($ms ms)"; else not_ok "gives up after one retry within 5 s (took $ms ms)"; fi

OPSCTL_S3_ENDPOINT="ftp://127.0.0.1:1" run "$OPSCTL" backup list --s3
expect_fail 78 "a non-HTTP endpoint: exit 78" "not an http"

# A host clock 1 hour behind (libfaketime): S3 answers RequestTimeTooSkewed,
# which is a clock problem with the measured skew (exit 78), not "access denied".
if command -v faketime >/dev/null; then
	run env FAKETIME_DONT_FAKE_MONOTONIC=1 faketime -f -3600s "$OPSCTL" backup list --s3
	expect_fail 78 "a clock 1 h behind: exit 78, a clock problem" "clock is"
	if grep -Eq "clock is (359[0-9]|360[0-9]) s behind the server's" "$ERR"; then ok "the error gives the measured skew (about 3600 s behind)"; else not_ok "the error gives the measured skew"; diag_run; fi
	expect_err_contains "timedatectl" "the hint says how to check the clock"
else
	not_ok "faketime is installed (scripts/setup installs it)"
fi

# TLS with a private CA: s3rver on https with a certificate from a test CA.
# Unknown CA: a certificate error (69); trusted through $SSL_CERT_FILE,
# $CURL_CA_BUNDLE or s3.ca_file (AWS_CA_BUNDLE) the same listing works.
P="$T/tls"
mkdir -p "$P"
if (cd "$P" &&
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key \
		-out ca.pem -days 2 -subj "/CN=opsctl t300 test CA" &&
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout s3.key \
		-out s3.csr -subj "/CN=127.0.0.1" &&
	printf 'subjectAltName=IP:127.0.0.1\n' >ext.cnf &&
	openssl x509 -req -in s3.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
		-extfile ext.cnf -out s3.pem) >"$T/openssl.log" 2>&1; then
	ok "a test CA signed a certificate for 127.0.0.1"
else
	not_ok "a test CA signed a certificate for 127.0.0.1"; sed 's/^/#   /' "$T/openssl.log"
fi
tport=$(_s3_free_port)
mkdir -p "$T/s3tls"
bg s3rver -d "$T/s3tls" -a 127.0.0.1 -p "$tport" --silent --configure-bucket "$S3_BUCKET" \
	--key "$P/s3.key" --cert "$P/s3.pem"
TLS_PID=$BG_PID
wait_for 15 curl -s -k -o /dev/null "https://127.0.0.1:$tport/" || not_ok "s3rver answers on https"
turl="https://127.0.0.1:$tport"
OPSCTL_S3_RETRIES=0 OPSCTL_S3_ENDPOINT=$turl run env -u SSL_CERT_FILE -u CURL_CA_BUNDLE -u AWS_CA_BUNDLE "$OPSCTL" backup list --s3
expect_fail 69 "https with a private CA nobody trusts: exit 69" "certificate"
# AWS_CA_BUNDLE (s3.ca_file) outranks CURL_CA_BUNDLE, which outranks SSL_CERT_FILE.
OPSCTL_S3_ENDPOINT=$turl SSL_CERT_FILE="$P/ca.pem" run env -u AWS_CA_BUNDLE -u CURL_CA_BUNDLE "$OPSCTL" backup list --s3
expect_rc 0 "SSL_CERT_FILE names the private CA: the listing works"
OPSCTL_S3_ENDPOINT=$turl CURL_CA_BUNDLE="$P/ca.pem" run env -u AWS_CA_BUNDLE "$OPSCTL" backup list --s3
expect_rc 0 "CURL_CA_BUNDLE names the private CA: the listing works"
OPSCTL_S3_ENDPOINT=$turl AWS_CA_BUNDLE="$P/ca.pem" run "$OPSCTL" backup list --s3
expect_rc 0 "AWS_CA_BUNDLE (s3.ca_file) names the private CA: the listing works"
printf '[general]\nenvironment = dev\n[s3]\nca_file = %s\n' "$P/ca.pem" >"$T/ca.conf"
OPSCTL_S3_ENDPOINT=$turl run env -u AWS_CA_BUNDLE "$OPSCTL" --config "$T/ca.conf" backup list --s3
expect_rc 0 "s3.ca_file in the configuration: the listing works"
printf '[general]\nenvironment = dev\n[s3]\nca_file = %s\n' "$T/nope.pem" >"$T/ca.conf"
OPSCTL_S3_ENDPOINT=$turl run env -u AWS_CA_BUNDLE "$OPSCTL" --config "$T/ca.conf" backup list --s3
expect_fail 78 "s3.ca_file names a missing file: exit 78" "nope.pem"
bg_kill "$TLS_PID"

s3_stop
if [ -z "${OPSCTL_S3_ENDPOINT:-}" ] && ! curl -s -o /dev/null "http://127.0.0.1:$S3_PORT/"; then ok "s3_stop stops s3rver"; else not_ok "s3_stop stops s3rver"; fi

done_testing
