#!/usr/bin/env bash
# t525: opsctl rotate-keys on JWT signing key pairs (keys.jwt rs256:DIR:VAR
# and es256:DIR:VAR), published as a JWK Set in DIR/jwks.json.  No server:
# verifiers are played by openssl(1) with a public key rebuilt from the
# JWKS entry (a small DER builder below), so every check goes through the
# published n/e or x/y as a relying party reads them.  Checked: the env file
# names the new key file and its kid; the kid is the RFC 7638 thumbprint; a
# token signed with the old key before the rotation still verifies with the
# new jwks.json; after the grace period the old kid leaves the JWKS and
# opsctl's key files are deleted (also after two rotations inside one grace
# period); kill -9 after every phase leaves a JWKS publishing the key the
# env file names, and the rerun finishes with the same key; a failing reload
# takes the new kid and file back; modes 0600/0644; bad input; no private
# key line in any output, the journal or the state directory.
. "$(dirname "$0")/../lib/common.sh"
tool=$(missing_tool python3 openssl) && bail_out "$tool (scripts/setup)"

APP="$T/app"
RS="$T/jwt-rs"
ES="$T/jwt-es"
mkdir -p "$APP" "$RS" "$ES"
ENVF="$APP/.env"
# The application's keys before opsctl: made by hand with openssl, not in
# any JWKS yet.
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$RS/initial.pem" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$ES/initial.pem" 2>/dev/null
chmod 600 "$RS/initial.pem" "$ES/initial.pem"
cat >"$ENVF" <<EOF
# guide 004's compose environment
POSTGRES_HOST=postgres
JWT_SIGNING_KEY_FILE=$RS/initial.pem
ES_KEY_FILE=$ES/initial.pem
EOF
chmod 600 "$ENVF"

cat >"$T/reload.sh" <<EOF
#!/bin/sh
echo "reload \$*" >>"$T/reload.log"
[ -e "$T/reload-fails" ] && { echo "api: restart failed" >&2; exit 3; }
exit 0
EOF
chmod 755 "$T/reload.sh"

C="$T/opsctl.conf"
conf() {
	cat >"$C" <<EOF
[keys]
env_file = $ENVF
jwt = rs256:$RS:JWT_SIGNING_KEY_FILE, es256:$ES/:ES_KEY_FILE
reload_command = $T/reload.sh,api
grace_period = ${GRACE:-5s}
jwt_token_lifetime = 0
EOF
	for l in "$@"; do
		grep -v "^${l%% =*} = " "$C" >"$C.new"
		echo "$l" >>"$C.new"
		mv "$C.new" "$C"
	done
}
conf
export OPSCTL_CONFIG="$C" OPSCTL_ENV=dev
val() { sed -n "s/^$1=//p" "$ENVF" | tail -n 1; }

# The relying party: JWKS entries as PEM public keys, thumbprints, kids.
cat >"$T/jwk.py" <<'PY'
import base64, hashlib, json, sys

def b64d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))

def tlv(tag, v):
    n = len(v)
    if n < 128:
        ln = bytes([n])
    else:
        b = n.to_bytes((n.bit_length() + 7) // 8, "big")
        ln = bytes([0x80 | len(b)]) + b
    return bytes([tag]) + ln + v

def der_int(b):
    b = b.lstrip(b"\0") or b"\0"
    return tlv(2, (b"\0" + b) if b[0] & 0x80 else b)

def spki(k):
    if k["kty"] == "RSA":
        alg = tlv(0x30, tlv(6, bytes.fromhex("2a864886f70d010101")) + tlv(5, b""))
        return tlv(0x30, alg + tlv(3, b"\0" + tlv(0x30, der_int(b64d(k["n"])) + der_int(b64d(k["e"])))))
    x, y = b64d(k["x"]), b64d(k["y"])
    assert k["crv"] == "P-256" and len(x) == 32 and len(y) == 32
    return bytes.fromhex("3059301306072a8648ce3d020106082a8648ce3d030107034200") + b"\x04" + x + y

def thumbprint(k):
    req = ["e", "kty", "n"] if k["kty"] == "RSA" else ["crv", "kty", "x", "y"]
    canon = json.dumps({m: k[m] for m in req}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(hashlib.sha256(canon.encode()).digest()).rstrip(b"=").decode()

cmd, path = sys.argv[1], sys.argv[2]
keys = json.load(open(path))["keys"]
if cmd == "kids":
    print(" ".join(k["kid"] for k in keys))
elif cmd == "pem":
    k = [k for k in keys if k["kid"] == sys.argv[3]]
    if not k:
        sys.exit(1)
    b = base64.b64encode(spki(k[0])).decode()
    print("-----BEGIN PUBLIC KEY-----")
    for i in range(0, len(b), 64):
        print(b[i:i + 64])
    print("-----END PUBLIC KEY-----")
elif cmd == "check":
    want = sys.argv[3]
    for k in keys:
        alg = {"RSA": "RS256", "EC": "ES256"}[k["kty"]]
        if k["kid"] != thumbprint(k) or k.get("use") != "sig" or k.get("alg") != alg or alg != want:
            print("bad entry", k["kid"])
            sys.exit(1)
PY
kids() { python3 "$T/jwk.py" kids "$1/jwks.json" 2>/dev/null; }
has_kid() { kids "$1" | tr ' ' '\n' | grep -qx -- "$2"; }
# verifies DIR KID KEYFILE: data signed with KEYFILE verifies with the JWKS entry KID.
verifies() {
	python3 "$T/jwk.py" pem "$1/jwks.json" "$2" >"$T/pub.pem" 2>/dev/null || return 1
	printf 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ0NTI1In0' >"$T/data"
	openssl dgst -sha256 -sign "$3" -out "$T/sig" "$T/data" 2>/dev/null &&
		openssl dgst -sha256 -verify "$T/pub.pem" -signature "$T/sig" "$T/data" 2>/dev/null | grep -q 'Verified OK'
}
# The kid opsctl should give a key file: its public key's thumbprint, from
# openssl's own encoding of it.
kid_of() {
	python3 - "$1" <<'PY'
import base64, hashlib, json, subprocess, sys
der = subprocess.run(["openssl", "pkey", "-in", sys.argv[1], "-pubout", "-outform", "DER"], capture_output=True, check=True).stdout
def b64(b): return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
if der.startswith(bytes.fromhex("3059301306072a8648ce3d0201")):
    pt = der[-64:]
    canon = {"crv": "P-256", "kty": "EC", "x": b64(pt[:32]), "y": b64(pt[32:])}
else:
    txt = subprocess.run(["openssl", "pkey", "-in", sys.argv[1], "-noout", "-text"], capture_output=True, check=True, text=True).stdout
    mod = "".join(l.strip() for l in txt.split("modulus:")[1].split("publicExponent")[0].splitlines()).replace(":", "")
    e = int(txt.split("publicExponent:")[1].split()[0])
    canon = {"e": b64(e.to_bytes((e.bit_length() + 7) // 8, "big")), "kty": "RSA", "n": b64(bytes.fromhex(mod).lstrip(b"\0"))}
print(b64(hashlib.sha256(json.dumps(canon, separators=(",", ":"), sort_keys=True).encode()).digest()))
PY
}
# Every private key line ever held, to grep the outputs and the state for.
SECRETS="$T/secrets"
: >"$SECRETS"
remember() {
	local f
	for f in "$RS"/*.pem "$ES"/*.pem; do
		[ -f "$f" ] && grep -v -- '-----' "$f" >>"$SECRETS"
	done
	sort -u -o "$SECRETS" "$SECRETS"
}
remember
no_secret_in() {	# no_secret_in DESC FILE...
	local desc=$1 f hit=
	shift
	for f in "$@"; do
		[ -e "$f" ] || continue
		if grep -rqF -f "$SECRETS" -- "$f" 2>/dev/null; then hit="$hit $f"; fi
	done
	if [ -z "$hit" ]; then ok "$desc"; else not_ok "$desc (found in:$hit)"; fi
}
# The JWKS of DIR publishes the key the env file's VAR names.
current_published() {	# current_published DIR VAR
	local f
	f=$(val "$2")
	[ -f "$f" ] && [ "$(stat -c %a "$f")" = 600 ] && has_kid "$1" "$(kid_of "$f")" && verifies "$1" "$(kid_of "$f")" "$f"
}

# ---- status, the plan ----
run "$OPSCTL" --output json rotate-keys status
expect_rc 0 "rotate-keys status exits 0"
expect_json_true "[c['credential'] for c in d['credentials']] == ['jwt-secret:JWT_SIGNING_KEY_FILE', 'jwt-secret:ES_KEY_FILE'] and all(c['type'] == 'jwt-secret' and c['due'] for c in d['credentials'])" \
	"status lists the RS256 and ES256 items as jwt-secret credentials, due"
run "$OPSCTL" --output json rotate-keys -t jwt-secret --dry-run
expect_rc 0 "--dry-run exits 0"
if [ ! -e "$RS/jwks.json" ] && [ "$(ls "$RS")" = initial.pem ]; then ok "the dry run wrote no key and no JWKS"; else not_ok "dry run changed nothing"; ls "$RS" | sed 's/^/#   /'; fi

# ---- the first rotation, from keys made by hand ----
old_rs_kid=$(kid_of "$RS/initial.pem") old_es_kid=$(kid_of "$ES/initial.pem")
# Tokens the application signed before the rotation: verified afterwards.
printf 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ0NTI1In0' >"$T/data"
cp -p "$ENVF" "$T/env.before"
journal_mark
run "$OPSCTL" --output json rotate-keys -t jwt-secret -f
expect_rc 0 "rotate-keys -t jwt-secret -f exits 0"
remember
expect_json_true "d['rotated'] == 2 and all(c['outcome'] == 'rotated' for c in d['credentials'])" "both key pairs rotated"
rs_kid=$(val JWT_SIGNING_KEY_KID) es_kid=$(val ES_KEY_KID)
if [ "$(val JWT_SIGNING_KEY_FILE)" = "$RS/$rs_kid.pem" ] && [ "$(val ES_KEY_FILE)" = "$ES/$es_kid.pem" ] && [ ${#rs_kid} = 43 ] && [ ${#es_kid} = 43 ]; then
	ok "the env file names DIR/KID.pem and the kid (VAR with _FILE made _KID)"
else not_ok "env file names the new key and kid"; diag "$(cat "$ENVF")"; fi
if [ "$(kid_of "$RS/$rs_kid.pem")" = "$rs_kid" ] && [ "$(kid_of "$ES/$es_kid.pem")" = "$es_kid" ]; then
	ok "each kid is the RFC 7638 thumbprint of its key (computed from openssl's encoding)"
else not_ok "kid = thumbprint"; fi
if openssl pkey -in "$RS/$rs_kid.pem" -noout -text 2>/dev/null | grep -q 'Private-Key: (2048 bit' &&
	openssl pkey -in "$ES/$es_kid.pem" -noout -text 2>/dev/null | grep -q 'ASN1 OID: prime256v1' &&
	head -n 1 "$RS/$rs_kid.pem" | grep -q 'BEGIN PRIVATE KEY'; then
	ok "the new keys are RSA 2048 and EC P-256, PKCS#8 PEM"
else not_ok "key types"; fi
if [ "$(stat -c %a "$RS/$rs_kid.pem")" = 600 ] && [ "$(stat -c %a "$ES/$es_kid.pem")" = 600 ] &&
	[ "$(stat -c %a "$RS/jwks.json")" = 644 ] && [ "$(stat -c %a "$ES/jwks.json")" = 644 ]; then
	ok "private key files 0600, jwks.json 0644"
else not_ok "modes ($(stat -c '%n %a' "$RS"/* "$ES"/* | tr '\n' ' '))"; fi
if python3 "$T/jwk.py" check "$RS/jwks.json" RS256 && python3 "$T/jwk.py" check "$ES/jwks.json" ES256; then
	ok "every JWKS entry has kid = its thumbprint, use sig and the item's alg"
else not_ok "JWKS entries well formed"; fi
if [ "$(kids "$RS")" = "$old_rs_kid $rs_kid" ] && [ "$(kids "$ES")" = "$old_es_kid $es_kid" ]; then
	ok "each jwks.json publishes the old key (now) and the new one"
else not_ok "both kids published (rs: $(kids "$RS"))"; fi
if verifies "$RS" "$old_rs_kid" "$RS/initial.pem" && verifies "$ES" "$old_es_kid" "$ES/initial.pem"; then
	ok "what the old keys sign verifies with the new jwks.json (RS256 and ES256)"
else not_ok "old key's tokens verify with the new JWKS"; fi
if verifies "$RS" "$rs_kid" "$(val JWT_SIGNING_KEY_FILE)" && verifies "$ES" "$es_kid" "$(val ES_KEY_FILE)"; then
	ok "what the key the env file names signs verifies with the JWKS entry of the kid it names"
else not_ok "new key verifies"; fi
if verifies "$RS" "$old_rs_kid" "$RS/$rs_kid.pem"; then not_ok "a signature of the new key verifies under the old kid"
else ok "...and not under another kid (the check can fail)"; fi
if [ "$(grep -c '^reload api$' "$T/reload.log")" = 1 ]; then ok "one reload for both"; else not_ok "one reload"; fi
if grep -v '^JWT_SIGNING_KEY\|^ES_KEY' "$ENVF" | cmp -s - <(grep -v '^JWT_SIGNING_KEY\|^ES_KEY' "$T/env.before"); then
	ok "the env file's other lines are untouched"
else not_ok "other lines untouched"; fi
expect_journal_added 1 "one journal line"
no_secret_in "no private key line in the output, the journal or the state directory" "$OUT" "$ERR" "$OPSCTL_STATE_DIR"

# ---- the grace period is the longer of grace_period and jwt_token_lifetime ----
retire_in() {	# seconds from the ES item's rotation to its previous key's retirement
	python3 -c 'import json, sys; st = json.load(open(sys.argv[1])); print(int(st["previous"]["retire_after"] - st["current"]["since"]))' "$OPSCTL_STATE_DIR"/keys/jwt-secret_ES_KEY_FILE-*.json
}
if [ "$(retire_in)" = 5 ]; then ok "the previous key is retired keys.grace_period (5 s) after the rotation, the token lifetime being 0"
else not_ok "retire_after - since = $(retire_in)"; fi

# ---- after the grace period the old kid leaves the JWKS ----
wait_retire() {
	python3 - "$OPSCTL_STATE_DIR"/keys/jwt-secret_JWT_SIGNING_KEY_FILE-*.json "$OPSCTL_STATE_DIR"/keys/jwt-secret_ES_KEY_FILE-*.json <<'PY'
import json, sys, time
left = max(json.load(open(p)).get("previous", {}).get("retire_after", 0) for p in sys.argv[1:]) + 0.3 - time.time()
time.sleep(max(0, left))
PY
}
wait_retire
run "$OPSCTL" --output json rotate-keys --due -f
expect_rc 0 "a run after the grace period exits 0"
expect_json_true "d['retired'] == 2 and d['rotated'] == 0" "it retires both previous keys and rotates nothing"
if [ "$(kids "$RS")" = "$rs_kid" ] && [ "$(kids "$ES")" = "$es_kid" ]; then ok "each JWKS now publishes only the current key"
else not_ok "old kids removed (rs: $(kids "$RS"))"; fi
if [ -f "$RS/initial.pem" ]; then ok "a key file opsctl did not make (initial.pem) is left alone"; else not_ok "initial.pem kept"; fi

# ---- a second rotation: the old key was opsctl's, so its file goes too ----
run "$OPSCTL" --output json rotate-keys -t jwt-secret -f
expect_rc 0 "a second rotation exits 0"
remember
rs2=$(val JWT_SIGNING_KEY_KID)
# ...and a third inside the grace period of the second: refused, since it
# would end early the grace of the key tokens may still carry.
run "$OPSCTL" --output json rotate-keys -t jwt-secret -f
expect_rc 1 "a third rotation inside the second's grace period is refused (exit 1)"
if [ "$(kids "$RS")" = "$rs_kid $rs2" ] && [ -f "$RS/$rs_kid.pem" ]; then
	ok "...and both keys stay published while their tokens may live"
else not_ok "two kids published ($(kids "$RS"))"; fi
run "$OPSCTL" --output json rotate-keys -t jwt-secret -f --end-grace
expect_rc 0 "--end-grace rotates it now"
remember
rs3=$(val JWT_SIGNING_KEY_KID)
if [ "$(kids "$RS")" = "$rs2 $rs3" ] && [ ! -e "$RS/$rs_kid.pem" ] && [ -f "$RS/$rs2.pem" ]; then
	ok "...retiring the oldest key first: the JWKS holds the previous and the new one"
else not_ok "end-grace retired the oldest ($(kids "$RS"); $(ls "$RS" | tr '\n' ' '))"; fi
wait_retire
run "$OPSCTL" --output json rotate-keys --due -f
expect_rc 0 "the retiring run exits 0"
if [ "$(kids "$RS")" = "$rs3" ] && [ ! -e "$RS/$rs_kid.pem" ] && [ ! -e "$RS/$rs2.pem" ] && [ -f "$RS/$rs3.pem" ]; then
	ok "the older keys leave the JWKS and their files are deleted (none outlives the grace period)"
else not_ok "older keys retired ($(kids "$RS"); $(ls "$RS" | tr '\n' ' '))"; fi

# ---- the new key file is the application's, as the one it replaces ----
if [ "$(id -u)" = 0 ]; then
	chown 65534:65534 "$(val JWT_SIGNING_KEY_FILE)"
	run "$OPSCTL" --output json rotate-keys -t jwt-secret -f
	remember
	if [ "$RC" = 0 ] && [ "$(stat -c %u:%g:%a "$(val JWT_SIGNING_KEY_FILE)")" = 65534:65534:600 ]; then
		ok "the new key file gets the owner and group of the one it replaces (65534), mode 0600"
	else not_ok "owner carried over (exit $RC, $(stat -c %u:%g:%a "$(val JWT_SIGNING_KEY_FILE)"))"; fi
	wait_retire
	run "$OPSCTL" --output json rotate-keys --due -f
	rs3=$(val JWT_SIGNING_KEY_KID)
else
	skip "the new key file keeps the application's owner" "needs root to chown"
fi

# ---- a failing reload takes the new kid and its file back ----
cp -p "$ENVF" "$T/env.before"
ls "$RS" "$ES" >"$T/files.before"
cp "$RS/jwks.json" "$T/rs-jwks.before"
touch "$T/reload-fails"
run "$OPSCTL" --output json rotate-keys -t jwt-secret -f
rm -f "$T/reload-fails"
remember
expect_rc 1 "a failing reload command: exit 1"
if cmp -s "$ENVF" "$T/env.before" && [ "$(ls "$RS" "$ES")" = "$(cat "$T/files.before")" ] && [ "$(kids "$RS")" = "$rs3" ]; then
	ok "the env file, the key files and the JWKS are as before"
else not_ok "rollback ($(kids "$RS"); $(ls "$RS" | tr '\n' ' '))"; fi

# ---- kill -9 after every phase: the JWKS always publishes the key in use ----
# One item at a time, so that the kill finds it, not its neighbour, at the phase.
for item in "rs256:$RS:JWT_SIGNING_KEY_FILE" "es256:$ES:ES_KEY_FILE"; do
	dir=${item#*:} dir=${dir%:*} var=${item##*:}
	conf "jwt = $item"
	for phase in created set tested delivered; do
		before=$(val "$var")
		ls "$dir" >"$T/files.before"
		run env OPSCTL_TEST_KEYS_CRASH_AFTER=$phase "$OPSCTL" rotate-keys -t jwt-secret -f --end-grace
		remember
		if [ "$RC" = 137 ]; then ok "${item%%:*}: killed after '$phase' (exit 137)"; else not_ok "killed after '$phase' (exit $RC)"; diag_run; fi
		if current_published "$dir" "$var" && [ "$(kid_of "$(val "$var")")" = "$(val "${var%_FILE}_KID")" ]; then
			ok "...the JWKS publishes the key the env file names, under the kid it names"
		else not_ok "current key published after '$phase'"; fi
		made=$(ls "$dir" | comm -13 "$T/files.before" -)
		run "$OPSCTL" --output json rotate-keys -t jwt-secret -f
		remember
		expect_rc 0 "...the rerun finishes (exit 0)"
		expect_json_true "d['credentials'][0]['resumed_from'] == '$phase' and d['credentials'][0]['outcome'] == 'rotated'" "...resuming from '$phase'"
		now=$(val "$var")
		if [ "$now" != "$before" ] && { [ "$phase" = created ] && [ -z "$made" ] || [ "$made" = "$(basename "$now")" ]; } &&
			current_published "$dir" "$var" && has_kid "$dir" "$(kid_of "$before")"; then
			ok "...with the key the killed run made, published beside the previous one"
		else not_ok "resumed with the same key (made '$made', now '$(basename "$now")')"; fi
	done
done
conf
no_secret_in "no private key line in the state directory after the crashes" "$OPSCTL_STATE_DIR"/keys/*.json "$OPSCTL_STATE_DIR/journal.jsonl" "$OUT" "$ERR"

# ---- -b, and restore refused for key pairs (a backup holds a file name) ----
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$T/backup.key"
chmod 600 "$T/backup.key"
conf "backup_key_file = $T/backup.key"
run "$OPSCTL" --output json rotate-keys -t jwt-secret -b -f --end-grace
expect_rc 0 "rotate-keys -b exits 0"
remember
bid=$(json_get "d['backup']")
# The grace period over and the previous keys retired, so that the refused
# restore below is the only thing that could change anything.
wait_retire
run "$OPSCTL" rotate-keys --due -f
cp -p "$ENVF" "$T/env.before"
ls "$RS" "$ES" >"$T/files.before"
run "$OPSCTL" --output json rotate-keys restore "$bid" -t jwt-secret -f
expect_rc 1 "restore of a key pair: exit 1"
expect_json_true "all('cannot be restored' in c['error'] for c in d['credentials'])" "...saying a backup holds the file's name, not the key"
if cmp -s "$ENVF" "$T/env.before" && [ "$(ls "$RS" "$ES")" = "$(cat "$T/files.before")" ] && ! ls "$OPSCTL_STATE_DIR/keys/" | grep -q sealed; then
	ok "...and nothing changed, nothing left sealed"
else not_ok "restore refused cleanly"; fi
run "$OPSCTL" --output json rotate-keys status
expect_json_true "all(c['phase'] == 'current' for c in d['credentials'])" "...the records stay at current"
conf

# ---- bad input, each before anything changes ----
cp -p "$ENVF" "$T/env.before"
conf "jwt = rs256:jwt-rs:JWT_SIGNING_KEY_FILE"
run "$OPSCTL" rotate-keys -f
expect_error 78 "a relative DIR: exit 78" "absolute"
conf "jwt = rs256:$T/none:JWT_SIGNING_KEY_FILE"
run "$OPSCTL" rotate-keys -f
expect_error 78 "a DIR that does not exist: exit 78" "$T/none"
conf "jwt = es256:$RS:JWT_SIGNING_KEY_FILE"
run "$OPSCTL" rotate-keys -f
expect_error 78 "es256 on an RSA key: exit 78" "EC P-256"
conf "jwt = rs256:$RS:JWT_SIGNING_KEY_FILE, es256:$RS:ES_KEY_FILE"
run "$OPSCTL" rotate-keys -f
expect_error 78 "two items sharing DIR: exit 78" "share"
conf "jwt = rs256:$RS:POSTGRES_HOST, hs256:POSTGRES_HOST"
run "$OPSCTL" rotate-keys -f
expect_error 78 "a key pair and an HMAC secret in one variable: exit 78" "twice"
conf "jwt = rs256:$RS:NO_SUCH_FILE"
run "$OPSCTL" rotate-keys -f
expect_error 78 "VAR missing from the env file: exit 78" "NO_SUCH_FILE"
conf "jwt = ps256:$RS"
run "$OPSCTL" rotate-keys -f
expect_error 78 "an unknown algorithm: exit 78, naming the three forms" "rs256:DIR"
conf
chmod 644 "$(val JWT_SIGNING_KEY_FILE)"
run "$OPSCTL" rotate-keys -f
expect_error 77 "a key file readable by others: exit 77" "0644"
chmod 600 "$(val JWT_SIGNING_KEY_FILE)"
cp "$RS/jwks.json" "$T/jwks.good"
echo '{"keys": {}}' >"$RS/jwks.json"
run "$OPSCTL" rotate-keys -f
expect_error 65 "a jwks.json that is not a JWK Set: exit 65" "JWK Set"
cp "$T/jwks.good" "$RS/jwks.json"
if cmp -s "$ENVF" "$T/env.before" && [ "$(ls "$RS" "$ES")" = "$(cat "$T/files.before")" ]; then ok "none of them changed anything"; else not_ok "bad input changed nothing"; fi
remember
no_secret_in "no private key line in any error output" "$OUT" "$ERR" "$T/error-lines"

done_testing
