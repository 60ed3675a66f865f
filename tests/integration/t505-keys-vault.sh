#!/usr/bin/env bash
# t505: keys/vault, rotate-keys' HashiCorp Vault KV version 2 client, against
# a scripted peer on loopback (tests/lib/vault_peer.py: no Vault server can be
# installed here), plain HTTP and TLS with a certificate from a test CA made
# here with openssl.  The cases are in build/unit/keys/test_keys_vault, which
# skips the peer's cases (saying why) when these addresses are not exported;
# here each case is one check, run plain and under ASan/UBSan/LSan.  Then the
# token and the written values are looked for in every output and in the
# peer's record of the requests.
. "$(dirname "$0")/../lib/common.sh"

tool=$(missing_tool openssl python3) &&
	bail_out "$tool is needed to make the test CA and run the peer"
UNIT="$ROOT/build/unit/keys/test_keys_vault"
[ -x "$UNIT" ] || bail_out "build/unit/keys/test_keys_vault (make unit)"

# ---- a test CA and the peer's certificate ----
P="$T/tls"
mkdir -p "$P"
cat >"$P/ext.cnf" <<'EOF'
subjectAltName = DNS:localhost,IP:127.0.0.1
EOF
if (cd "$P" &&
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key \
		-out ca.pem -days 30 -subj "/CN=opsctl test Vault CA" &&
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout vault.key \
		-out vault.csr -subj "/CN=localhost" &&
	openssl x509 -req -in vault.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 \
		-extfile ext.cnf -out vault.pem) >"$T/openssl.log" 2>&1; then
	ok "a test CA signed the peer's certificate"
else
	not_ok "the test CA and certificate"
	sed 's/^/#   /' "$T/openssl.log"
	done_testing
fi

# ---- the peer ----
TOKEN="hvs.t505-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
VAULT_PEER_TOKEN=$TOKEN bg python3 "$ROOT/tests/lib/vault_peer.py" "$T/ports" plain \
	"tls:$P/vault.pem:$P/vault.key"
PEER_LOG=$BG_LOG PEER_PID=$BG_PID
wait_for 10 test -s "$T/ports" || { sed 's/^/#   /' "$PEER_LOG"; bail_out "the Vault peer starts"; }
port() { awk -v n="$1" '$1 == n { print $2 }' "$T/ports"; }
export OPSCTL_TEST_VAULT_URL="http://127.0.0.1:$(port plain)"
export OPSCTL_TEST_VAULT_TLS_URL="https://localhost:$(port tls)"
export OPSCTL_TEST_VAULT_CA="$P/ca.pem" OPSCTL_TEST_VAULT_TOKEN="$TOKEN"

# The peer itself, as the documentation describes Vault: checked with curl so
# that a wrong peer cannot make a wrong client pass.
V=$OPSCTL_TEST_VAULT_URL
H="X-Vault-Token: $TOKEN"
c() { curl -s -o "$T/c.out" -w '%{http_code}' "$@"; }
if [ "$(c -H "$H" "$V/v1/secret/data/peer/check")" = 404 ] &&
	[ "$(c -H "$H" -X POST -d '{"options":{"cas":0},"data":{"k":"v1"}}' "$V/v1/secret/data/peer/check")" = 200 ] &&
	grep -q '"version": 1' "$T/c.out" &&
	[ "$(c -H "$H" -X POST -d '{"options":{"cas":0},"data":{"k":"v2"}}' "$V/v1/secret/data/peer/check")" = 400 ] &&
	grep -q 'check-and-set parameter did not match the current version' "$T/c.out" &&
	[ "$(c -H "$H" -X POST -d '{"options":{"cas":1},"data":{"k":"v2"}}' "$V/v1/secret/data/peer/check")" = 200 ] &&
	[ "$(c -H "$H" "$V/v1/secret/data/peer/check?version=1")" = 200 ] &&
	grep -q '"k": "v1"' "$T/c.out" &&
	[ "$(c -H "$H" "$V/v1/secret/metadata/peer/check")" = 200 ] &&
	grep -q '"current_version": 2' "$T/c.out" &&
	[ "$(c "$V/v1/secret/data/peer/check")" = 403 ] &&
	grep -q 'permission denied' "$T/c.out" &&
	[ "$(c -H "X-Vault-Token: nope" "$V/v1/secret/data/peer/check")" = 403 ] &&
	[ "$(c --cacert "$P/ca.pem" -H "$H" "$OPSCTL_TEST_VAULT_TLS_URL/v1/secret/data/peer/check")" = 200 ]; then
	ok "the peer answers KV v2 reads, versions, metadata, check-and-set and 403 as Vault documents them"
else
	not_ok "the peer answers as Vault documents"
	sed 's/^/#   /' "$T/c.out" "$PEER_LOG"
fi

# report LABEL RC: one check per case in $T/unit.out, and the binary's own verdict.
report() {
	local label=$1 rc=$2 line n=0
	while IFS= read -r line; do
		case "$line" in
		"ok "*) ok "$label: ${line#ok }"; n=$((n + 1)) ;;
		"not ok "*)
			not_ok "$label: ${line#not ok }"
			grep -v '^ok \|^not ok \|^unit: ' "$T/unit.out" | head -n 30 | sed 's/^/#   /' ;;
		esac
	done <"$T/unit.out"
	# The peer's cases must have run: a build that skipped them cannot pass.
	if [ "$rc" -eq 0 ] && [ "$n" -ge 10 ] && grep -q "^unit: $n passed, 0 failed" "$T/unit.out"; then
		ok "$label: $n cases ran and passed"
	else
		not_ok "$label: every case ran and passed (exit $rc, $n passed)"
		tail -n 20 "$T/unit.out" | sed 's/^/#   /'
	fi
}

# no_secret LABEL FILE...: neither the token nor a value the cases write is in the files.
no_secret() {
	local label=$1
	shift
	if grep -l -e "$TOKEN" -e "s3cr3t-Value-9f2c" "$@" >"$T/leak" 2>/dev/null; then
		not_ok "$label: the token or a secret value leaked"
		sed 's/^/#   in /' "$T/leak"
	else
		ok "$label: neither the token nor a secret value in the output"
	fi
}

"$UNIT" >"$T/unit.out" 2>"$T/unit.err"
rc=$?
cat "$T/unit.err" >>"$T/unit.out"
report "vault" "$rc"
no_secret "vault" "$T/unit.out"

# The peer saw a token on every request but keeps none; its log has none either.
curl -s "$V/_peer/state" >"$T/state.json"
if python3 - "$T/state.json" <<'EOF'; then
import json, sys
s = json.load(open(sys.argv[1]))
reqs = s["requests"]
assert len(reqs) > 10, len(reqs)
assert any(r["token_sent"] for r in reqs)
assert s["store"]["secret/rag-interface/app"][-1]["data"]["DB_PASSWORD"] == "second-value"
EOF
	ok "the peer recorded the client's requests and stored what it wrote"
else
	not_ok "the peer's state after the cases"
	head -c 2000 "$T/state.json" | sed 's/^/#   /'
fi
no_secret "the peer's log" "$PEER_LOG"

ASAN_UNIT="$ROOT/build-asan/unit/keys/test_keys_vault"
if [ -x "$ASAN_UNIT" ]; then
	# A fresh peer: the cases expect an empty store.
	bg_kill "$PEER_PID"
	rm -f "$T/ports"
	VAULT_PEER_TOKEN=$TOKEN bg python3 "$ROOT/tests/lib/vault_peer.py" "$T/ports" plain \
		"tls:$P/vault.pem:$P/vault.key"
	wait_for 10 test -s "$T/ports" || bail_out "the Vault peer starts again"
	export OPSCTL_TEST_VAULT_URL="http://127.0.0.1:$(port plain)"
	export OPSCTL_TEST_VAULT_TLS_URL="https://localhost:$(port tls)"
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		"$ASAN_UNIT" >"$T/unit.out" 2>&1
	rc=$?
	if grep -q "Sanitizer" "$T/unit.out"; then
		not_ok "vault under ASan/UBSan/LSan: no sanitizer report"
		grep -A 20 "Sanitizer" "$T/unit.out" | head -n 40 | sed 's/^/#   /'
	fi
	report "vault (ASan)" "$rc"
else
	skip "the cases under ASan/UBSan/LSan" "build-asan/unit/keys/test_keys_vault not built (make unit-asan)"
fi

done_testing
