#!/usr/bin/env bash
# t500: opsctl rotate-keys on the credentials only the application checks
# (an API key and a JWT HMAC secret in guide 004's .env): the protocol's
# record and its faults without a database in the way.  The reload command
# is a script that logs each call; the health URL is tests/lib/http_peer.py.
# Checked: the env file's other lines byte for byte, mode and owner kept,
# VAR_PREVIOUS kept for the grace period and retired after it, --due,
# --dry-run, the window, rollback on a failing reload or health check,
# kill -9 after every phase and the rerun that resumes with the same secret,
# two runs at once, bad input, and no secret in any output, the journal,
# the textfile or the state directory.
. "$(dirname "$0")/../lib/common.sh"
tool=$(missing_tool python3 setsid) && bail_out "$tool (scripts/setup)"

bg python3 "$ROOT/tests/lib/http_peer.py" "$T/ports" plain
wait_for 10 test -s "$T/ports" || bail_out "the HTTP peer starts"
HP=$(awk '$1 == "plain" { print $2 }' "$T/ports")

APP="$T/app"
mkdir -p "$APP"
ENVF="$APP/.env"
ORIG_API='old-api-key-7f3a9c'
ORIG_JWT='old-jwt-secret-c0ffee'
write_env() {
	cat >"$ENVF" <<EOF
# guide 004's compose environment
POSTGRES_HOST=postgres
export LOG_LEVEL=info   # trailing comment stays
API_KEY=$ORIG_API

JWT_SECRET='$ORIG_JWT'
FRONTEND_URL="http://localhost:3000"
EOF
	chmod 600 "$ENVF"
}
write_env

# The reload command: logs each call; fails while $T/reload-fails exists;
# sleeps while $T/reload-sleeps exists (for the lock test).
cat >"$T/reload.sh" <<EOF
#!/bin/sh
echo "reload \$*" >>"$T/reload.log"
ulimit -c >"$T/reload.core"
env >"$T/reload.env"
tr '\\0' ' ' </proc/\$\$/cmdline >"$T/reload.cmdline"
[ -e "$T/reload-sleeps" ] && sleep 3
[ -e "$T/reload-fails" ] && { echo "api: restart failed" >&2; exit 3; }
exit 0
EOF
chmod 755 "$T/reload.sh"

C="$T/opsctl.conf"
conf() {
	cat >"$C" <<EOF
[keys]
env_file = $ENVF
api_keys = API_KEY
jwt = hs256:JWT_SECRET
reload_command = $T/reload.sh,api
health_url = http://127.0.0.1:$HP/ok
health_timeout = 3s
grace_period = ${GRACE:-6s}
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
val() { python3 - "$ENVF" "$1" <<'PY'
import sys
v = None
for line in open(sys.argv[1]):
    line = line.strip()
    if line.startswith("export "):
        line = line[7:]
    if "=" in line and not line.startswith("#"):
        k, _, x = line.partition("=")
        x = x.split("   #")[0].strip()
        if len(x) >= 2 and x[0] == x[-1] and x[0] in "'\"":
            x = x[1:-1]
        if k == sys.argv[2]:
            v = x
print("" if v is None else v)
PY
}
# Every value ever held, to grep the outputs and the state for.
SECRETS="$T/secrets"
: >"$SECRETS"
remember() { val API_KEY >>"$SECRETS"; val JWT_SECRET >>"$SECRETS"; sort -u -o "$SECRETS" "$SECRETS"; }
remember
no_secret_in() {	# no_secret_in DESC FILE...
	local desc=$1 s f hit=
	shift
	while IFS= read -r s; do
		[ -n "$s" ] || continue
		for f in "$@"; do
			[ -e "$f" ] || continue
			if grep -rqF -- "$s" "$f" 2>/dev/null; then hit="$hit $f"; fi
		done
	done <"$SECRETS"
	if [ -z "$hit" ]; then ok "$desc"; else not_ok "$desc (found in:$hit)"; fi
}

# ---- status and the plan change nothing ----
run "$OPSCTL" --output json rotate-keys status
expect_rc 0 "rotate-keys status exits 0"
expect_json_true "[c['credential'] for c in d['credentials']] == ['api-key:API_KEY', 'jwt-secret:JWT_SECRET'] and all(c['due'] and c['phase'] == 'current' and c['age_seconds'] is None for c in d['credentials'])" \
	"status lists both credentials, never rotated by opsctl, so due"
cp -p "$ENVF" "$T/env.before"
run "$OPSCTL" --output json rotate-keys --all --dry-run
expect_rc 0 "--dry-run exits 0"
expect_json_true "[c['action'] for c in d['credentials']] == ['rotate', 'rotate'] and d['window'] == 'open'" "the plan says both would be rotated and the window is open"
if cmp -s "$ENVF" "$T/env.before" && [ ! -e "$T/reload.log" ] && [ ! -e "$OPSCTL_STATE_DIR/keys" ]; then
	ok "the dry run changed nothing: env file, reload, state"
else not_ok "the dry run changed nothing"; fi

# ---- the window ----
run env OPSCTL_ENV=prod OPSCTL_WINDOW_PROD=never "$OPSCTL" rotate-keys --all
if [ "$RC" -ne 0 ] && cmp -s "$ENVF" "$T/env.before"; then ok "prod outside its window without -f is refused (exit $RC), nothing changed"
else not_ok "prod outside its window refused"; diag_run; fi
run "$OPSCTL" rotate-keys --all -e prod --dry-run --output json
expect_json_true "d['window'] in ('open', 'closed')" "-e/--environment is accepted as the guide spells it"

# ---- a rotation ----
journal_mark
stat -c '%a %U' "$ENVF" >"$T/mode.before"
# Core dumps allowed for opsctl itself, so that the check below sees opsctl turn them off.
run sh -c 'ulimit -c unlimited && exec "$@"' sh "$OPSCTL" --output json rotate-keys --all -f
expect_rc 0 "rotate-keys --all -f exits 0"
remember
new_api=$(val API_KEY) new_jwt=$(val JWT_SECRET)
if [ ${#new_api} -eq 43 ] && [ "$new_api" != "$ORIG_API" ] && [ ${#new_jwt} -eq 43 ] && [ "$new_jwt" != "$ORIG_JWT" ]; then
	ok "API_KEY and JWT_SECRET are new 43-character secrets (32 random bytes)"
else not_ok "new secrets in the env file (API_KEY ${#new_api} chars)"; fi
if [ "$(val API_KEY_PREVIOUS)" = "$ORIG_API" ] && [ "$(val JWT_SECRET_PREVIOUS)" = "$ORIG_JWT" ]; then
	ok "the old values stay as API_KEY_PREVIOUS and JWT_SECRET_PREVIOUS for the grace period"
else not_ok "the old values kept as _PREVIOUS"; fi
grep -v '^API_KEY\|^JWT_SECRET' "$ENVF" >"$T/rest.after"
grep -v '^API_KEY\|^JWT_SECRET' "$T/env.before" >"$T/rest.before"
if cmp -s "$T/rest.before" "$T/rest.after"; then ok "every other line, comment and blank line is byte-identical, in order"
else not_ok "other lines untouched"; diff "$T/rest.before" "$T/rest.after" | sed 's/^/#   /'; fi
if [ "$(stat -c '%a %U' "$ENVF")" = "$(cat "$T/mode.before")" ]; then ok "the env file keeps its mode and owner ($(cat "$T/mode.before"))"
else not_ok "mode and owner kept ($(stat -c '%a %U' "$ENVF"))"; fi
if [ "$(cat "$T/reload.core")" = 0 ]; then ok "rotate-keys runs without core dumps (the reload command inherits ulimit -c 0)"
else not_ok "core dumps off (ulimit -c in the child: $(cat "$T/reload.core"))"; fi
if [ "$(grep -c '^reload api$' "$T/reload.log")" = 1 ]; then ok "the reload command ran once for both credentials, as an argv"
else not_ok "the reload ran once"; cat "$T/reload.log" | sed 's/^/#   /'; fi
expect_json_true "d['rotated'] == 2 and all(c['outcome'] == 'rotated' and c['phase'] == 'current' for c in d['credentials'])" "the report says both were rotated"
expect_journal_added 1 "one journal line"
expect_journal_last "j['command'] == 'rotate-keys' and j['figures']['opsctl_keys_rotated'] == 2 and j['figures']['opsctl_keys_credential_age_seconds']['credential']['api-key:API_KEY'] == 0" \
	"the journal has the rotation count and each credential's age"
prom="$OPSCTL_STATE_DIR/opsctl.prom"
expect_file_contains "$prom" 'opsctl_keys_credential_age_seconds{task="rotate_keys",credential="jwt-secret:JWT_SECRET"} 0' "the textfile has each credential's age, labelled"
no_secret_in "no secret, old or new, in the output, the journal, the textfile or the state directory" \
	"$OUT" "$ERR" "$OPSCTL_STATE_DIR"

cp -p "$ENVF" "$T/env.rotated"
run "$OPSCTL" rotate-keys --all -f
expect_fail 1 "rotating again within the grace period: exit 1" "grace period" "API key API_KEY"
run "$OPSCTL" --output json rotate-keys --all -f
expect_json_true "all(c['outcome'] == 'in its grace period' and c['action'].startswith('none: the previous secret is valid until') for c in d['credentials'])" \
	"...each credential says until when its previous secret is valid"
if cmp -s "$ENVF" "$T/env.rotated"; then ok "...and nothing changed: the previous keys keep their grace"; else not_ok "nothing changed within the grace period"; fi
run "$OPSCTL" --output json rotate-keys --due -f
expect_rc 0 "--due right after a rotation exits 0"
expect_json_true "d['rotated'] == 0 and all(c['outcome'] == 'not due' for c in d['credentials'])" "...and rotates nothing: nothing is due"
if [ "$(val API_KEY)" = "$new_api" ]; then ok "...and the env file is unchanged"; else not_ok "--due changed nothing"; fi

# ---- the grace period ends: PREVIOUS is retired ----
# (6 s after the rotation: the checks between take about 1 s.)
python3 - "$OPSCTL_STATE_DIR"/keys/api-key_API_KEY-*.json <<'PY'
import json, sys, time
left = json.load(open(sys.argv[1]))["previous"]["retire_after"] + 0.3 - time.time()
time.sleep(max(0, left))
PY
: >"$T/reload.log"
run "$OPSCTL" --output json rotate-keys --due -f
expect_rc 0 "a run after the grace period exits 0"
if [ -z "$(val API_KEY_PREVIOUS)" ] && [ -z "$(val JWT_SECRET_PREVIOUS)" ] && ! grep -q _PREVIOUS "$ENVF"; then
	ok "the _PREVIOUS variables are removed once the grace period ended"
else not_ok "_PREVIOUS removed after the grace period"; fi
expect_json_true "d['retired'] == 2" "the report counts 2 retired"
if [ "$(grep -c reload "$T/reload.log")" = 1 ]; then ok "...and the application was reloaded to drop them"; else not_ok "reload after retiring"; fi

# ---- a failing reload rolls back ----
cp -p "$ENVF" "$T/env.before"
touch "$T/reload-fails"
run "$OPSCTL" --output json rotate-keys -t api-keys -f
rm -f "$T/reload-fails"
expect_rc 1 "a failing reload command: exit 1"
expect_json_true "'keys.reload_command' in d['error'] and 'exit 3' in d['error'] and d['credentials'][0]['outcome'] == 'failed'" "the error names the reload command and its exit"
if cmp -s "$ENVF" "$T/env.before"; then ok "the env file is back to its old values byte for byte"; else not_ok "rollback restored the env file"; diff "$T/env.before" "$ENVF" | sed 's/^/#   /'; fi
run "$OPSCTL" --output json rotate-keys status
expect_json_true "find(d['credentials'], 'credential', 'api-key:API_KEY')['phase'] == 'current'" "the record is back at current"
if ! ls "$OPSCTL_STATE_DIR/keys/" | grep -q sealed; then ok "no sealed secret is left behind"; else not_ok "sealed files removed"; ls "$OPSCTL_STATE_DIR/keys/" | sed 's/^/#   /'; fi

# ---- a failing health check rolls back ----
conf "health_url = http://127.0.0.1:$HP/status/503" "health_timeout = 2s"
run "$OPSCTL" --output json rotate-keys -t jwt-secret -f
expect_rc 1 "a health URL that answers 503: exit 1"
expect_json_true "'HTTP 503' in d['error']" "the error says what the health URL answered"
if cmp -s "$ENVF" "$T/env.before"; then ok "...and the env file is rolled back"; else not_ok "health rollback"; fi
conf

# ---- kill -9 after every phase; the rerun resumes with the same secret ----
for phase in created set tested delivered; do
	cp -p "$ENVF" "$T/env.before"
	api_before=$(val API_KEY)
	run env OPSCTL_TEST_KEYS_CRASH_AFTER=$phase "$OPSCTL" rotate-keys -t api-keys -f --end-grace
	if [ "$RC" = 137 ]; then ok "killed after '$phase' (exit 137)"; else not_ok "killed after '$phase' (exit $RC)"; diag_run; fi
	if [ "$(stat -c %a "$ENVF")" = 600 ] && [ -n "$(val API_KEY)" ] && [ -n "$(val POSTGRES_HOST)" ]; then
		ok "after the kill the env file is whole, parseable and 0600"
	else not_ok "env file whole after the kill"; fi
	mid=$(val API_KEY)
	if [ "$phase" = delivered ]; then want_mid=new; else want_mid=$api_before; fi
	if { [ "$want_mid" = new ] && [ "$mid" != "$api_before" ]; } || [ "$mid" = "$want_mid" ]; then
		ok "after '$phase' the env file holds the $([ "$want_mid" = new ] && echo new || echo old) key, which works"
	else not_ok "env file state after '$phase'"; fi
	run "$OPSCTL" --output json rotate-keys status
	expect_json_true "find(d['credentials'], 'credential', 'api-key:API_KEY')['phase'] == '$phase'" "status shows the rotation left at '$phase'"
	run env OPSCTL_LOG_LEVEL=debug "$OPSCTL" -v --output json rotate-keys -t api-keys -f
	expect_rc 0 "the rerun after '$phase' finishes (exit 0)"
	expect_json_true "d['credentials'][0]['resumed_from'] == '$phase' and d['credentials'][0]['outcome'] == 'rotated'" "...resuming from '$phase', not starting afresh"
	expect_err_contains "resuming" "...and says so on stderr"
	remember
	if [ "$phase" = delivered ] && [ "$(val API_KEY)" != "$mid" ]; then not_ok "the resumed rotation kept the secret already delivered"
	elif [ "$(val API_KEY_PREVIOUS)" = "$api_before" ] && [ "$(val API_KEY)" != "$api_before" ]; then ok "the key is rotated once: the old one is API_KEY_PREVIOUS"
	else not_ok "rotated once after the resume"; fi
done
no_secret_in "no secret in the state directory after the crashes (only sealed)" "$OPSCTL_STATE_DIR"/keys/*.json "$OPSCTL_STATE_DIR/journal.jsonl"
no_secret_in "no secret in the last rerun's output with -v and debug logging" "$OUT" "$ERR"

# ---- abort: a rotation left under way is taken back instead of resumed ----
for phase in set delivered; do
	cp -p "$ENVF" "$T/env.before"
	run env OPSCTL_TEST_KEYS_CRASH_AFTER=$phase "$OPSCTL" rotate-keys -t api-keys -f --end-grace
	[ "$phase" = delivered ] && remember
	: >"$T/reload.log"
	run "$OPSCTL" --output json rotate-keys abort -f
	expect_rc 0 "rotate-keys abort after a kill at '$phase' exits 0"
	expect_json_true "d['rolled_back'] == 1 and find(d['credentials'], 'credential', 'api-key:API_KEY')['outcome'] == 'rolled back' and find(d['credentials'], 'credential', 'jwt-secret:JWT_SECRET')['action'] == 'none: no rotation under way'" \
		"...it rolls back the one under way and leaves the other alone"
	if [ "$(val API_KEY)" = "$(grep '^API_KEY=' "$T/env.before" | cut -d= -f2-)" ] && ! ls "$OPSCTL_STATE_DIR/keys/" | grep -q sealed; then
		ok "...the env file's key is the one before the rotation, no sealed secret is left"
	else not_ok "abort after '$phase' restored the key"; fi
	if [ "$phase" = delivered ]; then
		if grep -q reload "$T/reload.log"; then ok "...and the application was reloaded to read it back"; else not_ok "abort after delivery reloads"; fi
	fi
	run "$OPSCTL" --output json rotate-keys status
	expect_json_true "find(d['credentials'], 'credential', 'api-key:API_KEY')['phase'] == 'current'" "...the record is back at current"
done
run "$OPSCTL" --output json rotate-keys abort -f
expect_rc 0 "abort with nothing under way exits 0"
expect_json_true "d['rolled_back'] == 0" "...and rolls back nothing"

# ---- SIGTERM while the application reloads: the record says where, the next run finishes ----
touch "$T/reload-sleeps"
rm -f "$T/reload.log"
journal_mark
"$OPSCTL" rotate-keys -t api-keys -f --end-grace >"$T/term.out" 2>"$T/term.err" </dev/null &
term_pid=$!
wait_for 10 test -s "$T/reload.log" || diag "the rotation did not reach its reload"
kill -TERM "$term_pid"
wait "$term_pid"
term_rc=$?
rm -f "$T/reload-sleeps"
[ "$term_rc" = 143 ]
check $? "SIGTERM during the reload: exit 143"
expect_journal_added 1 "...one journal line"
expect_journal_last "j['status'] == 'interrupted'" "...saying the run was interrupted"
run "$OPSCTL" --output json rotate-keys status
expect_json_true "find(d['credentials'], 'credential', 'api-key:API_KEY')['phase'] == 'delivered'" "...the record waits at 'delivered' (the env file has the new key, the old one still works)"
if ! find "$APP" "$OPSCTL_STATE_DIR" -name '*.tmp.*' | grep -q .; then ok "...and no temporary file is left in the env file's directory or the state"
else not_ok "no temporary file left after SIGTERM"; find "$APP" "$OPSCTL_STATE_DIR" -name '*.tmp.*' | sed 's/^/#   /'; fi
run "$OPSCTL" --output json rotate-keys -t api-keys -f
expect_rc 0 "the next run finishes"
expect_json_true "d['credentials'][0]['resumed_from'] == 'delivered' and d['credentials'][0]['outcome'] == 'rotated'" "...reloading and promoting what the interrupted run delivered"
remember

# ---- two rotations at once ----
touch "$T/reload-sleeps"
rm -f "$T/reload.log"
bg "$OPSCTL" rotate-keys -t jwt-secret -f
first=$BG_PID
wait_for 5 test -s "$T/reload.log" || diag "the first rotation did not reach its reload"
run "$OPSCTL" rotate-keys -t api-keys -f
expect_rc 75 "a second rotation while one runs exits 75"
expect_err_contains "already running" "...saying another run holds it"
wait "$first" 2>/dev/null
rm -f "$T/reload-sleeps"

# ---- -b saves the set, encrypted; restore brings it back through the protocol ----
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$T/backup.key"
chmod 600 "$T/backup.key"
conf "backup_key_file = $T/backup.key"
before_b=$(val API_KEY)
run "$OPSCTL" --output json rotate-keys -t api-keys -b -f --end-grace
expect_rc 0 "rotate-keys -b exits 0"
remember
bid=$(json_get "d['backup']")
after_b=$(val API_KEY)
if [ -f "$OPSCTL_STATE_DIR/keys/backups/$bid.sealed" ] && [ "$(stat -c %a "$OPSCTL_STATE_DIR/keys/backups/$bid.sealed")" = 600 ]; then
	ok "the backup $bid is in STATE_DIR/keys/backups, mode 0600"
else not_ok "the backup file ($bid)"; fi
no_secret_in "the backup holds no secret in clear" "$OPSCTL_STATE_DIR/keys/backups"
run "$OPSCTL" --output json rotate-keys restore "$bid" -t api-keys -f --end-grace
expect_rc 0 "rotate-keys restore $bid exits 0"
if [ "$(val API_KEY)" = "$before_b" ] && [ "$(val API_KEY_PREVIOUS)" = "$after_b" ]; then
	ok "restore sets the saved key back, the one it replaces kept as API_KEY_PREVIOUS"
else not_ok "restore brought the saved key back"; fi
expect_json_true "d['restore_from'] == '$bid' and d['credentials'][0]['action'] == 'restore' and d['credentials'][0]['outcome'] == 'rotated'" "the report names the backup restored"
run "$OPSCTL" rotate-keys restore keys-20000101T000000Z -f
expect_error 64 "restoring a backup that does not exist: exit 64" "no credential backup"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$T/other.key"
chmod 600 "$T/other.key"
conf "backup_key_file = $T/other.key"
run "$OPSCTL" rotate-keys restore latest -f
expect_error 65 "a backup under another key: exit 65, nothing changed" "does not open"
conf

# ---- Vault KV v2 as a second store (tests/lib/vault_peer.py: no Vault server can be installed here) ----
VTOKEN="hvs.t500-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
echo "$VTOKEN" >>"$SECRETS"
VAULT_PEER_TOKEN=$VTOKEN bg python3 "$ROOT/tests/lib/vault_peer.py" "$T/vports" plain
wait_for 10 test -s "$T/vports" || bail_out "the Vault peer starts"
VURL="http://127.0.0.1:$(awk '$1 == "plain" { print $2 }' "$T/vports")"
vault_val() { curl -s "$VURL/_peer/state" | python3 -c "
import json, sys
versions = json.load(sys.stdin)['store'].get('secret/rag-interface/app') or [{}]
print(versions[-1].get('data', {}).get('$1', ''))
"; }
conf "vault_addr = $VURL" "vault_path = rag-interface/app"
export VAULT_TOKEN=$VTOKEN
run "$OPSCTL" --output json rotate-keys -t api-keys -f --end-grace
expect_rc 0 "rotate-keys with keys.vault_addr set exits 0"
remember
if [ -n "$(vault_val API_KEY)" ] && [ "$(vault_val API_KEY)" = "$(val API_KEY)" ] && [ "$(vault_val API_KEY_PREVIOUS)" = "$(val API_KEY_PREVIOUS)" ]; then
	ok "Vault's secret holds the same API_KEY and API_KEY_PREVIOUS as the env file"
else not_ok "Vault got the new key (vault '$(vault_val API_KEY | cut -c1-6)...', env '$(val API_KEY | cut -c1-6)...')"; curl -s "$VURL/_peer/state" | head -c 600 | sed 's/^/#   /'; fi
cp -p "$ENVF" "$T/env.before"
vault_before=$(vault_val API_KEY)
touch "$T/reload-fails"
run "$OPSCTL" --output json rotate-keys -t api-keys -f --end-grace
rm -f "$T/reload-fails"
expect_rc 1 "a failing reload with Vault configured: exit 1"
# (--end-grace retired API_KEY_PREVIOUS first: that is not undone, the rotation is.)
if [ "$(vault_val API_KEY)" = "$vault_before" ] && [ "$(val API_KEY)" = "$vault_before" ]; then
	ok "...and both Vault and the env file are rolled back"
else not_ok "Vault rolled back"; fi
# Three 503s: core/http retries a 503 twice before it gives up.
cp -p "$ENVF" "$T/env.before"
curl -s -X POST "$VURL/_peer/fail?status=503&n=3" >/dev/null
run "$OPSCTL" --output json rotate-keys -t api-keys -f --end-grace
expect_rc 69 "Vault sealed (503) when the values are delivered: exit 69"
if cmp -s "$ENVF" "$T/env.before"; then ok "...the env file was not changed"; else not_ok "env file untouched when Vault refused"; fi
run "$OPSCTL" --output json rotate-keys status
expect_json_true "find(d['credentials'], 'credential', 'api-key:API_KEY')['phase'] == 'tested'" "...and the record waits at 'tested'"
run "$OPSCTL" --output json rotate-keys -t api-keys -f --end-grace
expect_rc 0 "the rerun delivers to both and finishes"
remember
if [ "$(vault_val API_KEY)" = "$(val API_KEY)" ] && [ "$(val API_KEY)" != "$vault_before" ]; then ok "...Vault and the env file agree on the new key"; else not_ok "Vault and env agree after the rerun"; fi
no_secret_in "neither the Vault token nor any key in the outputs, journal or state" "$OUT" "$ERR" "$OPSCTL_STATE_DIR" "$T/error-lines"
if [ -s "$T/reload.env" ] && ! grep -q VAULT_TOKEN "$T/reload.env" && grep -q '^PATH=' "$T/reload.env"; then
	ok "the reload command's environment has no VAULT_TOKEN (opsctl had one), the rest is there"
else not_ok "VAULT_TOKEN kept out of the reload command's environment"; fi
no_secret_in "no secret in the reload command's environment or command line" "$T/reload.env" "$T/reload.cmdline"
unset VAULT_TOKEN
conf

# ---- bad input ----
chmod 644 "$ENVF"
run "$OPSCTL" rotate-keys -f
expect_error 77 "an env file readable by others: exit 77" "0644"
chmod 600 "$ENVF"
conf "api_keys = MISSING_KEY"
run "$OPSCTL" rotate-keys -t api-keys -f
expect_error 78 "a variable the env file lacks: exit 78, before anything changes" "MISSING_KEY"
conf "jwt = rs512:JWT_SECRET"
run "$OPSCTL" rotate-keys -f
expect_error 78 "an unknown JWT algorithm: exit 78" "hs256:VAR"
conf "api_keys = API_KEY, API_KEY"
run "$OPSCTL" rotate-keys -f
expect_error 78 "a credential configured twice: exit 78" "twice"
conf
run "$OPSCTL" rotate-keys -t bogus
expect_error 64 "-t bogus: exit 64" "bogus"
printf '[keys]\nenv_file = %s\n' "$ENVF" >"$T/empty.conf"
run env OPSCTL_CONFIG="$T/empty.conf" "$OPSCTL" rotate-keys -f
expect_error 78 "no credentials configured: exit 78" "no credentials"
run env OPSCTL_CONFIG="$T/empty.conf" OPSCTL_KEYS_ENV_FILE="$T/none/.env" "$OPSCTL" rotate-keys status
[ "$RC" -ne 0 ] && ok "a missing env file is an error (exit $RC)" || not_ok "missing env file refused"
no_secret_in "no secret in any error output either" "$OUT" "$ERR" "$T/error-lines"

done_testing
