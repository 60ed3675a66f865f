#!/usr/bin/env bash
# t510: opsctl rotate-keys -t database against a real PostgreSQL and Redis:
# guide 004's two alternating login roles in one group (app_rw), a single
# login role, and a Redis ACL user, all held by a 0600 env file.  After a
# rotation the env file holds the new passwords and they log in; the old ones
# still work until keys.grace_period (2 s here) has passed and a later run
# retires them.  No password, old or new, ever reaches the server log
# (log_statement = all), opsctl's output, journal or state, or the argv and
# environment of the reload command it runs; a role or user that does not
# exist is a clear error with nothing changed.
#
# Its own cluster, not the runner's shared one (tests/lib/keys_db.sh):
# pg_hba.conf must ask these roles for a SCRAM password.
. "$(dirname "$0")/../lib/common.sh"
. "$ROOT/tests/lib/keys_db.sh"
tool=$(missing_tool redis-server redis-cli psql) && bail_out "$tool (scripts/setup)"
# Redis: requirepass for the administrator, an ACL user for the application.
keys_db_start rag_db || bail_out "PostgreSQL (SCRAM) and Redis start with guide 004's roles"
RCLI=(rcli)

# ---- the env file and the configuration ----
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

# The reload command records its argv and environment, for the leak checks.
cat >"$T/reload.sh" <<'SH'
#!/bin/sh
tr '\0' ' ' </proc/$$/cmdline >>"$RELOAD_LOG"
echo >>"$RELOAD_LOG"
env >>"$RELOAD_LOG"
SH
chmod 755 "$T/reload.sh"
export RELOAD_LOG="$T/reload.log"

conf() { keys_conf "$@"; }
export OPSCTL_CONFIG="$T/opsctl.conf" OPSCTL_ENV=dev
conf "rot_a/rot_b@rag_db:DB_PASSWORD:DB_USER, single_app@rag_db:SINGLE_PASSWORD" "app:REDIS_PASSWORD"

# ---- a role that does not exist: nothing changes ----
conf "rot_a/ghost@rag_db:DB_PASSWORD:DB_USER" ""
sum_before=$(sha256sum "$ENVF")
pg_log_mark
run "$OPSCTL" rotate-keys -t database -f
if [ "$RC" -eq 78 ] || [ "$RC" -eq 1 ]; then ok "a missing role fails (exit $RC)"; else
	not_ok "a missing role fails with 78 or 1 (exit $RC)"; diag_run; fi
expect_err_contains "role 'ghost' does not exist on rag_db" "...naming the role and the database"
[ "$(sha256sum "$ENVF")" = "$sum_before" ]
check $? "...the env file is untouched"
! pg_log_since | grep -qi "alter role"
check $? "...and no ALTER ROLE reached the server (the pair is checked before either is altered)"
login rot_a "$OLD_A" && login rot_b "$OLD_B"
check $? "...both roles keep their passwords"

conf "" "ghost:REDIS_PASSWORD"
run "$OPSCTL" rotate-keys -t database -f
if [ "$RC" -eq 78 ] || [ "$RC" -eq 1 ]; then ok "a missing Redis user fails (exit $RC)"; else
	not_ok "a missing Redis user fails with 78 or 1 (exit $RC)"; diag_run; fi
expect_err_contains "Redis user 'ghost' does not exist" "...naming the user"
[ "$("${RCLI[@]}" acl getuser ghost)" = "" ]
check $? "...who is not created (ACL SETUSER would have)"
[ "$(sha256sum "$ENVF")" = "$sum_before" ]
check $? "...and the env file is untouched"

# ---- the rotation ----
conf "rot_a/rot_b@rag_db:DB_PASSWORD:DB_USER, single_app@rag_db:SINGLE_PASSWORD" "app:REDIS_PASSWORD"
pg_log_mark
: >"$RELOAD_LOG"
"$OPSCTL" rotate-keys -t database -f >"$OUT" 2>"$ERR" </dev/null &
pid=$!
: >"$T/cmdlines"
while kill -0 "$pid" 2>/dev/null; do
	for p in $pid $(pgrep -P "$pid" 2>/dev/null); do
		tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline" >>"$T/cmdlines" && echo >>"$T/cmdlines"
		tr '\0' '\n' 2>/dev/null <"/proc/$p/environ" >>"$T/cmdlines"
	done
	sleep 0.02
done
wait "$pid"
RC=$? RUN_CMD="opsctl rotate-keys -t database -f"
expect_rc 0 "rotate-keys -t database rotates the two roles, the single role and the Redis user"
NEW_A=$(envval DB_PASSWORD) NEW_S=$(envval SINGLE_PASSWORD) NEW_R=$(envval REDIS_PASSWORD)
[ "$(envval DB_USER)" = rot_b ] && [ -n "$NEW_A" ] && [ "$NEW_A" != "$OLD_A" ]
check $? "the env file names the idle role (rot_b) and holds a new password for it"
[ -n "$NEW_S" ] && [ "$NEW_S" != "$OLD_S" ] && [ -n "$NEW_R" ] && [ "$NEW_R" != "$OLD_R" ]
check $? "...and new passwords for the single role and the Redis user"
[ "$(stat -c %a "$ENVF")" = 600 ] && grep -q '^# guide 004' "$ENVF" && grep -q '^DB_HOST=127.0.0.1$' "$ENVF"
check $? "...still 0600, its other lines kept"
login rot_b "$NEW_A"
check $? "rot_b logs in with the new password"
login rot_a "$OLD_A"
check $? "rot_a still logs in with the old one (grace period)"
login single_app "$NEW_S" && ! login single_app "$OLD_S"
check $? "the single role has the new password only (a role holds one)"
rlogin app "$NEW_R" && rlogin app "$OLD_R"
check $? "the Redis user takes the new password and, until the grace period ends, the old one"
[ "$("${RCLI[@]}" acl getuser app | grep -c '^[0-9a-f]\{64\}$')" -eq 2 ]
check $? "...two password hashes on the user"
pg_log_since | grep -q 'ALTER ROLE "rot_b" WITH LOGIN PASSWORD '"'"'SCRAM-SHA-256\$4096:'
check $? "the server received a SCRAM-SHA-256 verifier, computed by opsctl"

# ---- retirement after the grace period ----
sleep 2.5
run "$OPSCTL" rotate-keys -t database --due -f
expect_rc 0 "a run after the grace period (--due: nothing is due for rotation) retires the old credentials"
! login rot_a "$OLD_A"
check $? "rot_a no longer logs in with the old password"
pg_log_since | grep -q 'ALTER ROLE "rot_a" PASSWORD NULL'
check $? "...its password was removed (PASSWORD NULL: its sessions end on their own)"
login rot_b "$NEW_A" && login single_app "$NEW_S"
check $? "the current passwords still work"
! rlogin app "$OLD_R" && rlogin app "$NEW_R"
check $? "the old Redis password is removed, the new one works"
[ "$(envval DB_USER)" = rot_b ] && [ "$(envval DB_PASSWORD)" = "$NEW_A" ]
check $? "the env file is unchanged by the retirement"

# ---- nothing secret anywhere ----
leaks() {	# leaks FILE...: the passwords found in the files
	local pw f
	for pw in "$OLD_A" "$OLD_B" "$OLD_S" "$OLD_R" "$NEW_A" "$NEW_S" "$NEW_R"; do
		for f in "$@"; do
			[ -e "$f" ] && grep -rqF -- "$pw" "$f" && echo "$f: ${pw:0:6}..."
		done
	done
}
found=$(leaks "$PG_LOG")
[ -z "$found" ]
check $? "the server log (log_statement = all) holds no password, old or new"
[ -z "$found" ] || diag "$found"
found=$(leaks "$OUT" "$ERR" "$OPSCTL_STATE_DIR")
[ -z "$found" ]
check $? "opsctl's output, journal and state hold no password"
[ -z "$found" ] || diag "$found"
found=$(leaks "$T/cmdlines" "$RELOAD_LOG")
[ -s "$RELOAD_LOG" ] && [ -z "$found" ]
check $? "no password in the argv or environment of opsctl or the reload command it ran"
[ -z "$found" ] || diag "$found"
! "${RCLI[@]}" slowlog get 128 | grep -qF -e "$NEW_R" -e "$OLD_R"
check $? "Redis's slow log shows ACL SETUSER and AUTH arguments redacted"
if command -v journalctl >/dev/null 2>&1 && journalctl -n 1 >/dev/null 2>&1; then
	! journalctl --since "-5min" 2>/dev/null | grep -qF -e "$NEW_A" -e "$NEW_S" -e "$NEW_R"
	check $? "the system journal holds no password"
else
	skip "the system journal holds no password" "no journald here"
fi

done_testing
