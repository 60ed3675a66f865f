#!/usr/bin/env bash
# t191: db/redis, the Redis connection every command shares, against real
# redis-servers on loopback: one without a password (also on a unix socket),
# one with requirepass, two ACL users and a TLS port whose certificate a test
# CA made here signed, and one that wants a client certificate.  The unit
# suite build/unit/db/test_redis runs against them (also under ASan), then
# `opsctl backup` reaches Redis over TLS as an ACL user, through a unix
# socket and with a client certificate, and fails as documented: down 69,
# wrong password 77 (never echoed), an unknown CA or a password in opsctl.conf 78.
. "$(dirname "$0")/../lib/common.sh"
tool=$(missing_tool redis-server redis-cli redis-check-rdb openssl) && bail_out "$tool (scripts/setup)"

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# ---- a test CA, a server certificate for localhost and 127.0.0.1 only, a
# client certificate, and a second CA that signed none of them ----
mkdir -p "$T/tls"
cd "$T/tls" || bail_out "cd $T/tls"
ca() {	# ca NAME: NAME.key, NAME.pem (self-signed)
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.pem" -days 2 \
		-subj "/CN=opsctl test $1" >/dev/null 2>&1
}
signed() {	# signed NAME SUBJECT EXTFILE-TEXT: NAME.key, NAME.pem signed by ca
	openssl req -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "$2" >/dev/null 2>&1 &&
		printf '%s\n' "$3" >"$1.ext" &&
		openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
			-extfile "$1.ext" -out "$1.pem" >/dev/null 2>&1
}
if ca ca && ca other &&
	signed server "/CN=localhost" "subjectAltName=DNS:localhost,IP:127.0.0.1" &&
	signed client "/CN=opsctl" "extendedKeyUsage=clientAuth"; then
	ok "a test CA signed a server certificate (localhost, 127.0.0.1) and a client certificate"
else
	bail_out "openssl makes the test certificates"
fi
chmod 600 ./*.key
cd "$T" || exit 1

# ---- the servers ----
P_PLAIN=$(free_port) P_AUTH=$(free_port) P_TLS=$(free_port) P_MTLS=$(free_port)
PW=default-$$-pw
APP_PW="s3cr@t/x:$$"	# '@', '/' and ':' must be percent-encoded in a URL
BACKUP_PW=backup-$$-pw
mkdir -p "$T/plain" "$T/auth" "$T/mtls"
bg redis-server --port "$P_PLAIN" --bind 127.0.0.1 --unixsocket "$T/plain/redis.sock" \
	--unixsocketperm 700 --dir "$T/plain" --dbfilename dump.rdb --save "" --appendonly no
cat >"$T/auth/redis.conf" <<CONF
port $P_AUTH
tls-port $P_TLS
bind 127.0.0.1 127.0.0.2
dir $T/auth
dbfilename dump.rdb
save ""
appendonly no
requirepass $PW
tls-cert-file $T/tls/server.pem
tls-key-file $T/tls/server.key
tls-ca-cert-file $T/tls/ca.pem
tls-auth-clients no
user app on >$APP_PW ~opsctl:* +@connection +get +set +acl|whoami
user backup on >$BACKUP_PW ~* +@connection +bgsave +info +config|get
CONF
bg redis-server "$T/auth/redis.conf"
bg redis-server --port 0 --tls-port "$P_MTLS" --bind 127.0.0.1 --dir "$T/mtls" \
	--dbfilename dump.rdb --save "" --appendonly no \
	--tls-cert-file "$T/tls/server.pem" --tls-key-file "$T/tls/server.key" \
	--tls-ca-cert-file "$T/tls/ca.pem" --tls-auth-clients yes
TLSCLI=(--tls --cacert "$T/tls/ca.pem" --cert "$T/tls/client.pem" --key "$T/tls/client.key")
wait_for 10 redis-cli -p "$P_PLAIN" ping || bail_out "redis-server (no password) starts"
wait_for 10 env REDISCLI_AUTH="$PW" redis-cli -p "$P_AUTH" ping ||
	bail_out "redis-server (requirepass, ACL users, TLS) starts"
wait_for 10 redis-cli -p "$P_MTLS" "${TLSCLI[@]}" ping || bail_out "redis-server (client certificates) starts"
if [ "$(REDISCLI_AUTH="$PW" redis-cli -p "$P_TLS" --tls --cacert "$T/tls/ca.pem" ping)" = PONG ]; then
	ok "redis-server speaks TLS on its --tls-port (redis-cli --tls agrees)"
else
	bail_out "redis-server speaks TLS (Debian's is built with it)"
fi
# 127.0.0.2 reaches the same server by an address its certificate lacks.
wait_for 5 env REDISCLI_AUTH="$PW" redis-cli -h 127.0.0.2 -p "$P_AUTH" ping ||
	bail_out "the server answers on 127.0.0.2 too"

# ---- the unit suite against them ----
export OPSCTL_TEST_REDIS_URL="redis://127.0.0.1:$P_PLAIN"
export OPSCTL_TEST_REDIS_UNIX_URL="unix://$T/plain/redis.sock"
export OPSCTL_TEST_REDIS_AUTH_URL="redis://127.0.0.1:$P_AUTH"
export OPSCTL_TEST_REDIS_PASSWORD="$PW"
export OPSCTL_TEST_REDIS_ACL_USER=app OPSCTL_TEST_REDIS_ACL_PASSWORD="$APP_PW"
export OPSCTL_TEST_REDIS_TLS_URL="rediss://localhost:$P_TLS"
export OPSCTL_TEST_REDIS_TLS_WRONG_URL="rediss://127.0.0.2:$P_TLS"
export OPSCTL_TEST_REDIS_TLS_CA="$T/tls/ca.pem" OPSCTL_TEST_REDIS_TLS_OTHER_CA="$T/tls/other.pem"
export OPSCTL_TEST_REDIS_MTLS_URL="rediss://127.0.0.1:$P_MTLS"
export OPSCTL_TEST_REDIS_TLS_CERT="$T/tls/client.pem" OPSCTL_TEST_REDIS_TLS_KEY="$T/tls/client.key"
export OPSCTL_TEST_REDIS_TLS_OTHER_KEY="$T/tls/other.key"

for variant in build build-asan; do
	UNIT="$ROOT/$variant/unit/db/test_redis"
	if [ ! -x "$UNIT" ]; then
		skip "the db/redis unit suite against live servers ($variant)" "$variant/unit/db/test_redis not built (make unit unit-asan)"
		continue
	fi
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		"$UNIT" >"$T/unit.out" 2>&1
	urc=$?
	n=$(grep -c '^ok live_' "$T/unit.out")
	if [ "$urc" -eq 0 ] && [ "$n" -ge 12 ] && ! grep -q -e '^not ok' -e 'skipped' -e 'Sanitizer' "$T/unit.out"; then
		ok "the db/redis unit suite passes against live servers ($variant: $(grep -c '^ok' "$T/unit.out") tests, $n live)"
	else
		not_ok "the db/redis unit suite passes against live servers ($variant, exit $urc, $n live)"
		grep -v '^ok' "$T/unit.out" | head -n 40 | sed 's/^/#   /'
	fi
done

# ---- opsctl backup end to end ----
sqlite3 "$T/kh.db" "create table content (id integer primary key, content text); insert into content (content) values ('x');"
for i in $(seq 1 200); do printf 'SET opsctl:%d v%d\r\n' "$i" "$i"; done |
	REDISCLI_AUTH="$PW" redis-cli -p "$P_AUTH" --pipe >/dev/null
KEYS=$(REDISCLI_AUTH="$PW" redis-cli -p "$P_AUTH" dbsize)
# conf URL [KEY=VALUE ...]: opsctl.conf with backup.redis_url = URL and [redis] settings.
conf() {
	local url=$1 kv
	shift
	{
		printf '[backup]\ndir = %s\ndatabases = sqlite:%s\n' "$T/store" "$T/kh.db"
		[ -n "$url" ] && printf 'redis_url = %s\n' "$url"
		printf '[redis]\nconnect_timeout = 5s\n'
		for kv in "$@"; do printf '%s\n' "$kv"; done
	} >"$T/opsctl.conf"
}
export OPSCTL_CONFIG="$T/opsctl.conf"
# member_ok ID DESC: redis/dump.rdb is in backup ID and redis-check-rdb likes it.
member_ok() {
	local id=$1 desc=$2
	rm -rf "$T/x" && mkdir "$T/x"
	if tar --zstd -xf "$T/store/$id/backup.tar.zst" -C "$T/x" redis/dump.rdb 2>/dev/null &&
		redis-check-rdb "$T/x/redis/dump.rdb" 2>&1 | grep -q "RDB looks OK"; then
		ok "$desc"
	else
		not_ok "$desc"
		tar --zstd -tf "$T/store/$id/backup.tar.zst" 2>&1 | sed 's/^/#   /'
	fi
}

conf "rediss://backup@localhost:$P_TLS" "tls_ca_file = $T/tls/ca.pem"
REDISCLI_AUTH="$BACKUP_PW" run "$OPSCTL" --output json backup --type full
expect_rc 0 "a full backup reaches Redis over TLS as ACL user 'backup' (password from REDISCLI_AUTH)"
ID=$(json_get 'd["id"]')
expect_json_true "d['redis'] == '$T/auth/dump.rdb'" "the dump path was asked of that server (CONFIG GET over TLS)"
member_ok "$ID" "redis/dump.rdb is in the archive and redis-check-rdb accepts it"
if [ "$KEYS" -ge 200 ] && redis-check-rdb "$T/x/redis/dump.rdb" 2>&1 | grep "keys read" | grep -qw "$KEYS"; then
	ok "the archived dump holds all $KEYS keys (200 written over plain TCP)"
else
	not_ok "the archived dump holds all $KEYS keys"
	redis-check-rdb "$T/x/redis/dump.rdb" 2>&1 | grep keys | sed 's/^/#   /'
fi

REDISCLI_AUTH="Wr0ngPassw0rd-$$" run "$OPSCTL" backup --type full
expect_fail 77 "a wrong password is exit 77 naming the user" "refused user 'backup'" "REDISCLI_AUTH"
if grep -q "Wr0ngPassw0rd" "$ERR" "$OUT"; then not_ok "the wrong password is not echoed"; else ok "the wrong password is not echoed"; fi

run "$OPSCTL" backup --type full
expect_fail 78 "an ACL user without a password is exit 78" "no password for user 'backup'"

conf "rediss://backup@localhost:$P_TLS" "tls_ca_file = $T/tls/other.pem"
REDISCLI_AUTH="$BACKUP_PW" run "$OPSCTL" backup --type full
expect_fail 78 "a server certificate from an unknown CA is exit 78" "cannot verify the TLS certificate" "certificate"

conf "rediss://backup@127.0.0.2:$P_TLS" "tls_ca_file = $T/tls/ca.pem"
REDISCLI_AUTH="$BACKUP_PW" run "$OPSCTL" backup --type full
expect_fail 78 "an address the certificate does not hold is exit 78" "IP address mismatch"

# A password in the URL: refused from opsctl.conf, taken from the environment.
enc_pw=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$BACKUP_PW")
conf "rediss://backup:$enc_pw@localhost:$P_TLS" "tls_ca_file = $T/tls/ca.pem"
run "$OPSCTL" backup --type full
expect_fail 78 "a password in opsctl.conf's URL is exit 78" "REDISCLI_AUTH" "OPSCTL_BACKUP_REDIS_URL"
if grep -q "$BACKUP_PW" "$ERR"; then not_ok "the password in the URL is not echoed"; else ok "the password in the URL is not echoed"; fi
conf "" "tls_ca_file = $T/tls/ca.pem"
OPSCTL_BACKUP_REDIS_URL="rediss://backup:$enc_pw@localhost:$P_TLS" run "$OPSCTL" --output json backup --type full
expect_rc 0 "the same URL from OPSCTL_BACKUP_REDIS_URL is used"
member_ok "$(json_get 'd["id"]')" "that backup holds redis/dump.rdb"

# A client certificate from [redis], and none.
conf "rediss://127.0.0.1:$P_MTLS" "tls_ca_file = $T/tls/ca.pem" \
	"tls_cert_file = $T/tls/client.pem" "tls_key_file = $T/tls/client.key"
run "$OPSCTL" --output json backup --type full
expect_rc 0 "a server that wants a client certificate gets redis.tls_cert_file's"
member_ok "$(json_get 'd["id"]')" "that backup holds redis/dump.rdb"
conf "rediss://127.0.0.1:$P_MTLS" "tls_ca_file = $T/tls/ca.pem"
run "$OPSCTL" backup --type full
expect_fail 77 "without a client certificate it is exit 77" "refused the TLS client certificate"

# A unix socket, and a server that is down.
conf "unix://$T/plain/redis.sock?db=0"
run "$OPSCTL" --output json backup --type full
expect_rc 0 "a full backup reaches Redis through its unix socket"
expect_json_true "d['redis'] == '$T/plain/dump.rdb'" "...and asks that server where its dump is"
conf "rediss://localhost:$(free_port)" "tls_ca_file = $T/tls/ca.pem"
run "$OPSCTL" backup --type full
expect_fail 69 "Redis down is exit 69" "cannot connect to Redis at 'localhost:"

# SIGTERM while Redis keeps a command waiting: the cancel hook shuts the
# socket down, so the run ends now, not after redis.timeout.
P_SILENT=$(free_port)
bg python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8); time.sleep(600)' "$P_SILENT"
wait_for 5 python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])))' "$P_SILENT" ||
	bail_out "a silent server listens"
conf "redis://127.0.0.1:$P_SILENT" "timeout = 120s"
journal_mark
"$OPSCTL" backup --type full >"$OUT" 2>"$ERR" </dev/null &
pid=$!
sleep 2
t0=$(date +%s%N)
kill -TERM "$pid"
wait "$pid"
RC=$?
ms=$((($(date +%s%N) - t0) / 1000000))
expect_rc 143 "SIGTERM while Redis is silent ends the backup with 143"
if [ "$ms" -lt 5000 ]; then ok "...within $ms ms of the signal, not redis.timeout's 120 s"; else
	not_ok "the backup ended within 5 s of SIGTERM (took $ms ms)"
fi
expect_journal_last 'j["status"] == "interrupted"' "the journal says interrupted"

done_testing
