# The systems rotate-keys -t database works on, for its fault and acceptance
# tests (t515, t520): a private PostgreSQL cluster whose pg_hba.conf asks
# every role but postgres for a SCRAM password over TCP (the runner's shared
# cluster trusts everyone, where any password would "work"), and a Redis
# with requirepass for the administrator and an ACL user for the application.
# Sourced after common.sh.
#
# keys_db_start DB...      the cluster with databases DB..., guide 004's group
#                          app_rw (CONNECT on each) with two alternating login
#                          roles rot_a, rot_b and a single role single_app;
#                          then Redis (RPORT) with user app.  The first
#                          passwords are OLD_A OLD_B OLD_S OLD_R, Redis's
#                          requirepass ADMIN_PW (exported as REDISCLI_AUTH,
#                          which opsctl reads).  KEYS_DB is the first DB.
# keys_redis_start         Redis alone (again, after keys_redis_stop)
# login ROLE PASSWORD [DB] a real login over TCP (SCRAM), SELECT 1
# rlogin USER PASSWORD     a new Redis connection: AUTH USER PASSWORD, PING
# rcli ARGS...             redis-cli as the administrator
# quiet_sql ARGS...        psql with log_statement off: the harness's own
#                          passwords never reach the server log, so one
#                          found there later was put there by opsctl
# keys_conf DB_ITEMS REDIS_ITEMS [LINE...]
#                          $T/opsctl.conf for rotate-keys on these servers:
#                          [db] as postgres on KEYS_DB, [keys] with env_file
#                          $ENVF, the items, redis_url, grace_period 2s,
#                          reload_command $T/reload.sh (KEYS_RELOAD to change
#                          it), then each LINE appended to [keys]
. "$ROOT/tests/lib/pg.sh"

quiet_sql() { PGOPTIONS='-c log_statement=none' psql -XAtq -v ON_ERROR_STOP=1 "$@"; }

login() {
	PGPASSWORD=$2 PGCONNECT_TIMEOUT=5 psql -XAtq -h 127.0.0.1 -p "$PGPORT" -U "$1" \
		-d "${3:-$KEYS_DB}" -c 'select 1' >/dev/null 2>&1
}
rlogin() { [ "$(REDISCLI_AUTH=$2 redis-cli -p "$RPORT" --user "$1" ping 2>/dev/null)" = PONG ]; }
rcli() { REDISCLI_AUTH=$ADMIN_PW redis-cli -p "$RPORT" "$@"; }

keys_redis_start() {
	mkdir -p "$T/redis"
	cat >"$T/redis/redis.conf" <<CONF
port $RPORT
bind 127.0.0.1
dir $T/redis
save ""
appendonly no
slowlog-log-slower-than 0
requirepass $ADMIN_PW
user app on >$OLD_R ~* +@all
CONF
	bg redis-server "$T/redis/redis.conf"
	REDIS_PID=$BG_PID
	wait_for 10 rcli ping
}
keys_redis_stop() { bg_kill "$REDIS_PID"; }

keys_db_start() {
	local db grants=""
	KEYS_DB=$1
	OLD_A=olda-$$-x7Qz OLD_B=oldb-$$-p2Lm OLD_S=olds-$$-k9Wv OLD_R=oldr-$$-m4Tn
	ADMIN_PW=adm-$$-r5Hs
	unset OPSCTL_TEST_PG_STARTED
	pg_start || return 1
	_pg_as sh -c "cat > '$PG_TEST_DIR/data/pg_hba.conf'" <<'HBA'
local all all trust
host all postgres 127.0.0.1/32 trust
host all all 127.0.0.1/32 scram-sha-256
HBA
	psql_q "select pg_reload_conf()" >/dev/null || return 1
	for db in "$@"; do
		psql_q "create database $db" >/dev/null || return 1
		grants="$grants grant connect on database $db to app_rw;"
	done
	quiet_sql -d "$KEYS_DB" >/dev/null <<SQL || return 1
create role app_rw nologin;
$grants
grant usage on schema public to app_rw;
create role rot_a login password '$OLD_A' in role app_rw;
create role rot_b login password '$OLD_B' in role app_rw;
create role single_app login password '$OLD_S';
grant connect on database $KEYS_DB to single_app;
SQL
	login rot_a "$OLD_A" && login rot_b "$OLD_B" && login single_app "$OLD_S" || return 1
	! login rot_a wrong-password || return 1
	RPORT=$(pg_free_port)
	keys_redis_start && rlogin app "$OLD_R" || return 1
	export REDISCLI_AUTH=$ADMIN_PW
}

keys_conf() {
	local db_items=$1 redis_items=$2 l
	shift 2
	{
		cat <<CONF
[db]
host = 127.0.0.1
port = $PGPORT
user = postgres
name = $KEYS_DB
[keys]
env_file = $ENVF
database = $db_items
redis = $redis_items
redis_url = redis://127.0.0.1:$RPORT
grace_period = 2s
reload_command = ${KEYS_RELOAD:-$T/reload.sh}
CONF
		for l in "$@"; do echo "$l"; done
	} >"$T/opsctl.conf"
}
