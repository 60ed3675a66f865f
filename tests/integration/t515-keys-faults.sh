#!/usr/bin/env bash
# t515: rotate-keys -t database under the faults of issue 13, each against a
# real PostgreSQL (SCRAM over TCP) and Redis (an ACL user), with guide 004's
# two alternating login roles: the database going away between ALTER ROLE and
# the delivery, kill -9 after every phase and the rerun that resumes, a
# failing reload command and its rollback on every system, two runs at once,
# a role that does not exist, prod outside its window, and what the reload
# command's process can see (argv, environment).  After every fault the
# application logs in with exactly what the env file holds.
. "$(dirname "$0")/../lib/common.sh"
. "$ROOT/tests/lib/keys_db.sh"
tool=$(missing_tool redis-server redis-cli psql python3 setsid) && bail_out "$tool (scripts/setup)"
keys_db_start rag_db || bail_out "PostgreSQL (SCRAM) and Redis start with guide 004's roles"

ENVF="$T/app/.env"
mkdir -p "$T/app"
cat >"$ENVF" <<ENV
# guide 004: the application's secrets
DB_HOST=127.0.0.1
DB_USER=rot_a
DB_PASSWORD=$OLD_A
SINGLE_PASSWORD=$OLD_S
REDIS_PASSWORD=$OLD_R
ENV
chmod 600 "$ENVF"
envval() { sed -n "s/^$1=//p" "$ENVF"; }
# The file parses as the application's reader does (tests/lib/keys_client.py).
env_parses() {
	python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import keys_client as k
v = k.read_env(sys.argv[2]); sys.exit(0 if v.get("DB_USER") and v.get("DB_PASSWORD") and v.get("REDIS_PASSWORD") else 1)' \
		"$ROOT/tests/lib" "$ENVF"
}
# What the application does: log in with what the env file holds now.
app_logs_in() { login "$(envval DB_USER)" "$(envval DB_PASSWORD)" && rlogin app "$(envval REDIS_PASSWORD)"; }
# Every password ever held, for the leak checks.
SECRETS="$T/secrets"
printf '%s\n' "$OLD_A" "$OLD_B" "$OLD_S" "$OLD_R" >"$SECRETS"
remember() { { envval DB_PASSWORD; envval SINGLE_PASSWORD; envval REDIS_PASSWORD; } >>"$SECRETS"; sort -u -o "$SECRETS" "$SECRETS"; }
# verifier ROLE: the role's SCRAM verifier as the server stores it (changes iff its password does)
verifier() { psql_q -d rag_db "select coalesce(rolpassword, 'NULL') from pg_authid where rolname = '$1'"; }
idle_role() { [ "$(envval DB_USER)" = rot_a ] && echo rot_b || echo rot_a; }
state_phase() {	# state_phase CREDENTIAL
	"$OPSCTL" --output json rotate-keys status 2>/dev/null |
		python3 -c 'import json, sys; d = json.load(sys.stdin)
print([c["phase"] for c in d["credentials"] if c["credential"] == sys.argv[1]][0])' "$1"
}
PAIR=database:rot_a/rot_b@rag_db

# The reload command: records its argv and environment (as its own /proc
# files show them); copies the env file it was asked to load aside the first
# time ($T/delivered.env: how the test learns a delivered password); fails
# while $T/reload-fails exists, sleeps while $T/reload-sleeps does.
cat >"$T/reload.sh" <<EOF
#!/bin/sh
tr '\0' ' ' </proc/self/cmdline >>"$T/reload.argv"; echo >>"$T/reload.argv"
tr '\0' '\n' </proc/\$\$/environ >>"$T/reload.environ"
[ -e "$T/delivered.env" ] || cp "$ENVF" "$T/delivered.env"
[ -e "$T/reload-sleeps" ] && sleep 3
[ -e "$T/reload-fails" ] && { echo "api: restart failed" >&2; exit 3; }
exit 0
EOF
chmod 755 "$T/reload.sh"

KEYS_RELOAD="$T/reload.sh,api"
conf() { keys_conf "$@"; }
export OPSCTL_CONFIG="$T/opsctl.conf" OPSCTL_ENV=dev
conf "rot_a/rot_b@rag_db:DB_PASSWORD:DB_USER" "app:REDIS_PASSWORD"

# ---- a role that does not exist: exit 78, nothing changed anywhere ----
conf "rot_a/ghost@rag_db:DB_PASSWORD:DB_USER" "app:REDIS_PASSWORD"
cp -p "$ENVF" "$T/env.before"
acl_before=$(rcli acl getuser app | grep -c '^[0-9a-f]\{64\}$')
pg_log_mark
run "$OPSCTL" rotate-keys -t database -f --end-grace
expect_error 78 "a role that does not exist: exit 78, one line" "role 'ghost' does not exist on rag_db"
cmp -s "$ENVF" "$T/env.before" && ! pg_log_since | grep -qi 'alter role' &&
	[ "$(rcli acl getuser app | grep -c '^[0-9a-f]\{64\}$')" = "$acl_before" ] && [ ! -e "$T/reload.argv" ]
check $? "...nothing changed: env file byte-identical, no ALTER ROLE in the server log, the Redis user's passwords as they were, no reload"
! ls "$OPSCTL_STATE_DIR/keys" 2>/dev/null | grep -q '\.sealed$'
check $? "...and no rotation was recorded (no sealed PENDING)"

# ---- prod outside its window without --force: refused, nothing changed ----
conf "rot_a/rot_b@rag_db:DB_PASSWORD:DB_USER, single_app@rag_db:SINGLE_PASSWORD" "app:REDIS_PASSWORD"
pg_log_mark
run env OPSCTL_ENV=prod OPSCTL_WINDOW_PROD=never "$OPSCTL" rotate-keys --all
expect_error 1 "prod outside its window without --force: exit 1, one line" "outside the prod maintenance window"
cmp -s "$ENVF" "$T/env.before" && ! pg_log_since | grep -qi 'alter role' &&
	[ "$(rcli acl getuser app | grep -c '^[0-9a-f]\{64\}$')" = "$acl_before" ] && [ ! -e "$T/reload.argv" ]
check $? "...nothing changed: env file, roles, Redis user, no reload"

# ---- the reload command's process: no secret in its argv or environment ----
# opsctl itself runs with VAULT_TOKEN, REDISCLI_AUTH (the Redis admin's,
# which it uses) and PGPASSWORD set; the reload command needs none of them.
VT=hvs.t515-$$-vaultsecret PGPW=pgpw-$$-notforchildren
printf '%s\n' "$VT" "$PGPW" "$ADMIN_PW" >>"$SECRETS"
run env VAULT_TOKEN="$VT" PGPASSWORD="$PGPW" "$OPSCTL" rotate-keys -t database -f --end-grace
expect_rc 0 "a rotation of the pair, the single role and the Redis user exits 0"
remember
app_logs_in && login single_app "$(envval SINGLE_PASSWORD)"
check $? "...and the application logs in with the env file's new credentials"
[ -s "$T/reload.argv" ] && [ "$(head -n 1 "$T/reload.argv")" = "/bin/sh $T/reload.sh api " ]
check $? "the reload command ran as the configured argv"
hits=$(grep -lF -f "$SECRETS" "$T/reload.argv" "$T/reload.environ" 2>/dev/null)
[ -z "$hits" ]
check $? "no password, token or admin secret in the reload command's /proc/self/cmdline or environ"
[ -z "$hits" ] || diag "found in: $hits; variables: $(grep -F -f "$SECRETS" "$T/reload.environ" | cut -d= -f1 | sort -u | tr '\n' ' ')"
for v in VAULT_TOKEN REDISCLI_AUTH PGPASSWORD; do
	! grep -q "^$v=" "$T/reload.environ"
	check $? "...$v, which opsctl had, is not in the reload command's environment"
done
rm -f "$T/delivered.env"

# ---- the database goes away after ALTER ROLE, before the env file is promoted ----
# Checked: killed right after phase 'set' (the idle role has PENDING), then
# PostgreSQL stopped; a rerun with it down exits 69 and leaves the record at
# 'set' (the rollback it tries cannot reach the server either).  While it is
# down no login can be tried, so as soon as it is back, before any rerun:
# the env file's credential (CURRENT) logs in, and the idle role still holds
# the verifier set before the outage (PENDING, which only the sealed state
# knows in clear).  Then the rerun finishes without making a new PENDING: the
# env file's new password logs in to that role and its verifier is still
# the one from before the outage; the old credential works until the grace
# period ends.
conf "rot_a/rot_b@rag_db:DB_PASSWORD:DB_USER" "app:REDIS_PASSWORD"
sleep 2.1	# the last rotation's grace period: this run retires it first
idle=$(idle_role) cur_user=$(envval DB_USER) cur_pw=$(envval DB_PASSWORD)
run env OPSCTL_TEST_KEYS_CRASH_AFTER=set "$OPSCTL" rotate-keys -t database -f --end-grace
expect_rc 137 "killed by SIGKILL right after phase 'set'"
pending_verifier=$(verifier "$idle")
[ "$pending_verifier" != NULL ] && [ "$(envval DB_USER)" = "$cur_user" ]
check $? "...the idle role $idle has a new password (PENDING), the env file still names $cur_user"
_pg_as "$PG_BIN/pg_ctl" -D "$PG_TEST_DIR/data" -m fast -w stop >/dev/null 2>&1
! "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PGPORT"
check $? "PostgreSQL is stopped"
# With -v and debug logging: the most an operator can ask to see of a failing run.
run env OPSCTL_LOG_LEVEL=debug "$OPSCTL" -v --output json rotate-keys -t database -f --end-grace
expect_rc 69 "the rerun with PostgreSQL down: exit 69 (a service unreachable)"
! grep -qF -f "$SECRETS" "$OUT" "$ERR"
check $? "...and with -v and debug logging, no password in its output or error lines"
expect_json_true "find(d['credentials'], 'credential', '$PAIR')['resumed_from'] == 'set'" "...it resumed the rotation left at 'set'"
cmp -s <(envval DB_USER; envval DB_PASSWORD) <(echo "$cur_user"; echo "$cur_pw")
check $? "...the env file still holds the current database credential"
[ "$(stat -c %a "$ENVF")" = 600 ] && env_parses
check $? "...and it parses, mode 0600"
_pg_as "$PG_BIN/pg_ctl" -D "$PG_TEST_DIR/data" -l "$PG_LOG" -w -t 30 start >/dev/null 2>&1
wait_for 10 "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PGPORT" || bail_out "PostgreSQL starts again"
[ "$(state_phase "$PAIR")" = set ]
check $? "the record is still at 'set' after the failed rerun"
login "$cur_user" "$cur_pw"
check $? "PostgreSQL back: CURRENT (the env file's $cur_user) logs in, before any rerun"
[ "$(verifier "$idle")" = "$pending_verifier" ]
check $? "...and $idle still holds PENDING, the verifier set before the outage"
run "$OPSCTL" --output json rotate-keys -t database -f --end-grace
expect_rc 0 "the next rerun finishes"
expect_json_true "find(d['credentials'], 'credential', '$PAIR')['resumed_from'] == 'set' and find(d['credentials'], 'credential', '$PAIR')['outcome'] == 'rotated'" "...resuming from 'set'"
remember
[ "$(envval DB_USER)" = "$idle" ] && login "$idle" "$(envval DB_PASSWORD)" && [ "$(verifier "$idle")" = "$pending_verifier" ]
check $? "the env file names $idle, whose new password logs in and is the PENDING set before the outage (verifier unchanged)"
login "$cur_user" "$cur_pw"
check $? "the old credential ($cur_user) still logs in during the grace period"
rm -f "$T/delivered.env"

# ---- abort: a rotation killed after 'set' is taken back on the server ----
sleep 2.1	# the last rotation's grace period
idle=$(idle_role) cur_user=$(envval DB_USER) cur_pw=$(envval DB_PASSWORD)
acl_before=$(rcli acl getuser app | grep -c '^[0-9a-f]\{64\}$')
run env OPSCTL_TEST_KEYS_CRASH_AFTER=set "$OPSCTL" rotate-keys -t database -f --end-grace
[ "$(verifier "$idle")" != NULL ]
check $? "killed after 'set': the idle role $idle has the new password"
run "$OPSCTL" --output json rotate-keys abort -t database -f
expect_rc 0 "rotate-keys abort exits 0"
[ "$(verifier "$idle")" = NULL ] && [ "$(envval DB_USER)" = "$cur_user" ] && login "$cur_user" "$cur_pw"
check $? "...the idle role's password is NULL again, and the env file's $cur_user still logs in"
[ "$(state_phase "$PAIR")" = current ]
check $? "...and the record is back at current"
[ "$(rcli acl getuser app | grep -c '^[0-9a-f]\{64\}$')" -le "$acl_before" ]
check $? "...the Redis user holds no password the abort left behind"

# ---- kill -9 after every phase, for the pair and for the Redis user ----
# The credentials are rotated one after another: a kill after a phase stops
# the first credential there and leaves the next one earlier (after
# 'delivered': every credential is in the env file, the later ones at
# 'tested').  Redis alone gives it every phase too.
crash_loop() {	# crash_loop LABEL CREDENTIAL
	local label=$1 cred=$2 phase before
	for phase in created set tested delivered; do
		before=$(sha256sum <"$ENVF")
		run env OPSCTL_TEST_KEYS_CRASH_AFTER=$phase "$OPSCTL" rotate-keys -t database -f --end-grace
		expect_rc 137 "$label: killed after '$phase'"
		[ "$(stat -c %a "$ENVF")" = 600 ] && env_parses
		check $? "...the env file parses and is 0600"
		if [ "$phase" = delivered ]; then [ "$(sha256sum <"$ENVF")" != "$before" ]; else [ "$(sha256sum <"$ENVF")" = "$before" ]; fi
		check $? "...it holds the $([ $phase = delivered ] && echo new || echo old) credentials"
		remember
		app_logs_in
		check $? "...and the application logs in with exactly what it holds (SCRAM over TCP, Redis AUTH)"
		run "$OPSCTL" --output json rotate-keys -t database -f --end-grace
		expect_rc 0 "...the rerun finishes"
		expect_json_true "find(d['credentials'], 'credential', '$cred')['resumed_from'] == '$phase' and all(c['outcome'] == 'rotated' for c in d['credentials'])" \
			"...resuming $cred from '$phase' (resumed_from in the JSON)"
		expect_err_contains "resuming" "...and saying so on stderr"
		remember
		app_logs_in
		check $? "...then the env file's credentials log in"
	done
}
crash_loop "pair and Redis" "$PAIR"
conf "" "app:REDIS_PASSWORD"
crash_loop "Redis" redis:app
# Those rotations came within one another's grace period: the record has
# one PREVIOUS, so each rotation retires the one there first.
[ "$(rcli acl getuser app | grep -c '^[0-9a-f]\{64\}$')" = 2 ]
check $? "after a dozen rotations, each within the last one's grace period, the Redis user holds 2 passwords (current, previous), not one per rotation"
conf "rot_a/rot_b@rag_db:DB_PASSWORD:DB_USER, single_app@rag_db:SINGLE_PASSWORD" "app:REDIS_PASSWORD"

# ---- the reload command fails: everything rolls back ----
# The reload script copies the env file it was given aside, so the test
# knows the new passwords that were delivered and then taken back.
sleep 2.1	# the grace periods: this run retires, so the idle role has no password
run "$OPSCTL" rotate-keys -t database --due -f
remember
cp -p "$ENVF" "$T/env.before"
idle=$(idle_role)
rm -f "$T/delivered.env"
touch "$T/reload-fails"
run "$OPSCTL" --output json rotate-keys -t database -f --end-grace
rm -f "$T/reload-fails"
expect_rc 1 "a failing reload command: exit 1"
expect_json_true "'keys.reload_command' in d['error'] and all(c['outcome'] == 'failed' and c['phase'] == 'current' for c in d['credentials'])" \
	"...the error names the reload command, every credential is back at 'current'"
cmp -s "$ENVF" "$T/env.before"
check $? "the env file is byte-identical to before"
dval() { sed -n "s/^$1=//p" "$T/delivered.env"; }
[ -s "$T/delivered.env" ] && [ "$(dval DB_USER)" = "$idle" ] && [ -n "$(dval REDIS_PASSWORD)" ] &&
	[ "$(dval REDIS_PASSWORD)" != "$(envval REDIS_PASSWORD)" ]
check $? "the reload command had been given new credentials (delivered, then taken back)"
{ dval DB_PASSWORD; dval SINGLE_PASSWORD; dval REDIS_PASSWORD; } >>"$SECRETS"
! login "$idle" "$(dval DB_PASSWORD)" && [ "$(verifier "$idle")" = NULL ]
check $? "the idle role $idle no longer logs in with the new password: its password is NULL again"
! login single_app "$(dval SINGLE_PASSWORD)" && login single_app "$(envval SINGLE_PASSWORD)"
check $? "the single role has its old password again, the new one does not log in"
! rlogin app "$(dval REDIS_PASSWORD)" && [ "$(rcli acl getuser app | grep -c '^[0-9a-f]\{64\}$')" = 1 ]
check $? "the Redis user no longer accepts the new password (one password hash left)"
app_logs_in && login single_app "$(envval SINGLE_PASSWORD)"
check $? "the application logs in with the env file it was rolled back to"
! ls "$OPSCTL_STATE_DIR/keys" | grep -q '\.sealed$'
check $? "no sealed PENDING is left behind"

# ---- two rotations at once ----
touch "$T/reload-sleeps"
: >"$T/reload.argv"
bg "$OPSCTL" rotate-keys -t database -f --end-grace
first=$BG_PID
wait_for 10 test -s "$T/reload.argv" || diag "the first rotation did not reach its reload"
run "$OPSCTL" rotate-keys -t database -f --end-grace
expect_error 75 "a second rotation while the first one reloads: exit 75, one line" "already running"
wait "$first"
check $? "...the first one finishes (exit 0)"
rm -f "$T/reload-sleeps"
remember
app_logs_in
check $? "...and its credentials log in"

# ---- nothing secret in what opsctl wrote ----
hits=$(grep -rlF -f "$SECRETS" "$OPSCTL_STATE_DIR" "$OUT" "$ERR" "$T/error-lines" "$PG_LOG" 2>/dev/null)
[ -z "$hits" ]
check $? "no password ($(wc -l <"$SECRETS") held) in the state directory, journal, textfile, outputs or the server log"
[ -z "$hits" ] || diag "$hits"

done_testing
