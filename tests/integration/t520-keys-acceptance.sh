#!/usr/bin/env bash
# t520: issue 13's acceptance.  `opsctl rotate-keys --all -f` against a
# PostgreSQL with guide 004's five databases and its two alternating login
# roles (group app_rw, CONNECT on all five), a Redis with an ACL user, and
# one env file that also holds an API key and a JWT secret, while an
# application (tests/lib/keys_client.py) reads the env file afresh every
# 50 ms and opens a NEW PostgreSQL connection (SCRAM over TCP, SELECT 1, the
# next of the five databases each time) and a NEW Redis connection (AUTH,
# PING).  Two rotations, keys.grace_period 2 s apart, then a run that
# retires.  Checked: the application never saw a failed login; every old
# credential stops working once its grace period has ended and a run has
# retired it; no password ever held appears in the server log
# (log_statement = all, log_connections on), opsctl's outputs, journal,
# textfile or state directory, the client's log, or the argv of opsctl and
# of the reload command while they ran.
. "$(dirname "$0")/../lib/common.sh"
. "$ROOT/tests/lib/keys_db.sh"
tool=$(missing_tool redis-server redis-cli psql python3 setsid) && bail_out "$tool (scripts/setup)"
DBS=(rag_integration_db error_reporting_db user_management_db verification_db correction_engine_db)
keys_db_start "${DBS[@]}" || bail_out "PostgreSQL (SCRAM) with guide 004's five databases and roles, and Redis, start"
psql_q "alter system set log_connections = on" >/dev/null && psql_q "select pg_reload_conf()" >/dev/null ||
	bail_out "log_connections on"

ENVF="$T/app/.env"
mkdir -p "$T/app"
cat >"$ENVF" <<ENV
# guide 004: the RAG interface's environment
DB_HOST=127.0.0.1
DB_USER=rot_a
DB_PASSWORD=$OLD_A
REDIS_USER=app
REDIS_PASSWORD=$OLD_R
API_KEY=old-api-key-$$-Zq81
JWT_SECRET=old-jwt-secret-$$-Lx03
ENV
chmod 600 "$ENVF"
envval() { sed -n "s/^$1=//p" "$ENVF"; }
SECRETS="$T/secrets"
printf '%s\n' "$OLD_A" "$OLD_B" "$OLD_S" "$OLD_R" >"$SECRETS"
remember() {
	{ envval DB_PASSWORD; envval REDIS_PASSWORD; envval API_KEY; envval JWT_SECRET; } >>"$SECRETS"
	sort -u -o "$SECRETS" "$SECRETS"
}
remember

# The reload command does nothing but log that it ran, with its argv as
# its /proc/PID/cmdline shows it, and stay long enough (0.2 s) for the
# test's sampler to see it from outside too.
cat >"$T/reload.sh" <<EOF
#!/bin/sh
echo "reload \$(date +%s.%N) \$(tr '\\0' ' ' </proc/\$\$/cmdline)" >>"$T/reload.log"
sleep 0.2
EOF
chmod 755 "$T/reload.sh"
keys_conf "rot_a/rot_b@rag_integration_db:DB_PASSWORD:DB_USER" "app:REDIS_PASSWORD" \
	"api_keys = API_KEY" "jwt = hs256:JWT_SECRET" "jwt_token_lifetime = 0"
export OPSCTL_CONFIG="$T/opsctl.conf" OPSCTL_ENV=dev

# ---- the application ----
CLOG="$T/client.log"
bg python3 "$ROOT/tests/lib/keys_client.py" "$ENVF" "$PGPORT" "$(IFS=,; echo "${DBS[*]}")" "$RPORT" "$CLOG"
CLIENT=$BG_PID
client_ok() { [ "$(grep -c ' pg ok ' "$CLOG" 2>/dev/null)" -ge "$1" ]; }
wait_for 10 client_ok 5 || bail_out "the test client logs in before any rotation"

# watched N ARGS...: opsctl ARGS with its output in $T/run.N.{out,err}, the
# argv (/proc/PID/cmdline) of it and of every child it starts sampled every
# 10 ms into $T/cmdlines while it runs.
watched() {
	local n=$1 pid p
	shift
	"$OPSCTL" "$@" >"$T/run.$n.out" 2>"$T/run.$n.err" </dev/null &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		for p in $pid $(pgrep -P "$pid" 2>/dev/null); do
			tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline" >>"$T/cmdlines" && echo >>"$T/cmdlines"
		done
		sleep 0.01
	done
	wait "$pid"
	RC=$? RUN_CMD="opsctl $*"
	cp "$T/run.$n.out" "$OUT"
	cp "$T/run.$n.err" "$ERR"
}
# past_grace: sleep until every PREVIOUS of the state can be retired.
past_grace() {
	python3 - "$OPSCTL_STATE_DIR"/keys/*.json <<'PY'
import json, sys, time
after = [json.load(open(f)).get("previous", {}).get("retire_after", 0) for f in sys.argv[1:]]
time.sleep(max(0, max(after) + 0.2 - time.time()))
PY
}

# ---- two rotations of everything, the grace period apart ----
watched 1 --output json rotate-keys --all -f
expect_rc 0 "rotate-keys --all -f, the first rotation, exits 0"
expect_json_true "d['rotated'] == 4 and all(c['outcome'] == 'rotated' for c in d['credentials'])" \
	"...all four credentials rotated (the pair, the Redis user, the API key, the JWT secret)"
remember
USER1=$(envval DB_USER) PW1=$(envval DB_PASSWORD) R1=$(envval REDIS_PASSWORD)
[ "$USER1" = rot_b ] && [ "$PW1" != "$OLD_A" ] && [ "$R1" != "$OLD_R" ]
check $? "...the env file names rot_b with a new password and a new Redis password"
past_grace
watched 2 --output json rotate-keys --all -f
expect_rc 0 "the second rotation, after the grace period, exits 0"
expect_json_true "d['rotated'] == 4 and d['retired'] == 4" "...it retired the four previous credentials first, then rotated all four"
remember
USER2=$(envval DB_USER) PW2=$(envval DB_PASSWORD) R2=$(envval REDIS_PASSWORD)
[ "$USER2" = rot_a ] && [ "$PW2" != "$OLD_A" ] && [ "$PW2" != "$PW1" ] && [ "$R2" != "$R1" ]
check $? "...the env file is back on rot_a, with a password it never had"
past_grace
watched 3 --output json rotate-keys --all --due -f
expect_rc 0 "a run after the grace period (--due: nothing due) exits 0"
expect_json_true "d['rotated'] == 0 and d['retired'] == 4" "...and retires the previous credentials"
sleep 0.5	# the client's last attempts after the last run
kill -TERM "$CLIENT" 2>/dev/null
wait "$CLIENT" 2>/dev/null

# ---- the application never noticed ----
pg_ok=$(grep -c ' pg ok ' "$CLOG") redis_ok=$(grep -c ' redis ok ' "$CLOG")
fails=$(grep -c ' FAIL ' "$CLOG")
[ "$fails" -eq 0 ]
check $? "the application saw no failed login in $pg_ok PostgreSQL and $redis_ok Redis logins, before, during and after the rotations"
[ "$fails" -eq 0 ] || diag "$(grep ' FAIL ' "$CLOG" | head -n 5)"
[ "$pg_ok" -ge 50 ] && [ "$redis_ok" -ge 50 ]
check $? "...it really kept logging in (at least 50 of each)"
for u in rot_a rot_b; do for db in "${DBS[@]}"; do
	grep -q " pg ok $u $db\$" "$CLOG" || echo "$u@$db"
done; done >"$T/missing"
[ ! -s "$T/missing" ]
check $? "...as both roles of the pair, on all five databases (it followed the env file)"
[ -s "$T/missing" ] && diag "never logged in: $(tr '\n' ' ' <"$T/missing")"
grep -q 'connection authenticated: identity="rot_b" method=scram-sha-256' "$PG_LOG" &&
	grep -q 'connection authenticated: identity="rot_a" method=scram-sha-256' "$PG_LOG"
check $? "the server logged its SCRAM logins (log_connections)"

# ---- the old credentials stop working ----
! login rot_a "$OLD_A" && ! login rot_b "$OLD_B" && ! login rot_b "$PW1"
check $? "no old database password logs in: the first two, and rot_b's from the first rotation (retired)"
[ "$(psql_q "select rolpassword is null from pg_authid where rolname = 'rot_b'")" = t ]
check $? "...the idle role rot_b has no password at all"
login rot_a "$PW2"
check $? "...and the current one does"
! rlogin app "$OLD_R" && ! rlogin app "$R1" && rlogin app "$R2" && [ "$(rcli acl getuser app | grep -c '^[0-9a-f]\{64\}$')" = 1 ]
check $? "the Redis user accepts only the current password (one hash left)"
! grep -q '_PREVIOUS=' "$ENVF"
check $? "the env file holds no API_KEY_PREVIOUS or JWT_SECRET_PREVIOUS any more"
[ "$(wc -l <"$T/reload.log")" -eq 4 ]
check $? "the reload command ran 4 times (each rotation, and after each retirement that changed the env file)"
[ "$(wc -l <"$T/reload.log")" -eq 4 ] || diag "$(wc -l <"$T/reload.log") times"

# ---- nothing secret anywhere ----
grep -q "$T/reload.sh" "$T/cmdlines"
check $? "the reload command's argv was sampled while it ran"
hits=$(grep -rlF -f "$SECRETS" "$PG_LOG" "$T"/run.* "$OPSCTL_STATE_DIR" "$CLOG" "$T/cmdlines" "$T/reload.log" 2>/dev/null)
[ -z "$hits" ]
check $? "no password ever held ($(wc -l <"$SECRETS")) in the server log, opsctl's outputs, journal, textfile, state directory, the client's log, or the argv of opsctl and the reload command"
[ -z "$hits" ] || diag "$hits"
[ -s "$OPSCTL_STATE_DIR/journal.jsonl" ] && [ -s "$OPSCTL_STATE_DIR/opsctl.prom" ]
check $? "...(the journal and the textfile exist, so they were searched)"
! rcli slowlog get 1000 | grep -qF -f "$SECRETS"
check $? "Redis's slow log (every command) shows no password either"

done_testing
