#!/usr/bin/env bash
# t240: the Redis member of a full backup (guide 004 daily_backup.sh): a real
# redis-server on loopback, BGSAVE waited for, redis/dump.rdb in the archive
# and accepted by redis-check-rdb; Redis down is exit 69.
. "$(dirname "$0")/../lib/common.sh"
command -v redis-server >/dev/null || bail_out "redis-server (scripts/setup)"

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$T/redis"
bg redis-server --port "$PORT" --bind 127.0.0.1 --dir "$T/redis" --dbfilename dump.rdb --save "" --appendonly no
wait_for 10 redis-cli -p "$PORT" ping || bail_out "redis-server starts"
for i in $(seq 1 500); do printf 'SET cache:%d value-%d\r\n' "$i" "$i"; done | redis-cli -p "$PORT" --pipe >/dev/null

sqlite3 "$T/kh.db" "create table content (id integer primary key, content text); insert into content (content) values ('x');"
cat >"$T/opsctl.conf" <<CONF
[backup]
dir = $T/store
databases = sqlite:$T/kh.db
redis_url = redis://127.0.0.1:$PORT
CONF
export OPSCTL_CONFIG="$T/opsctl.conf"

run "$OPSCTL" --output json backup --type full
expect_rc 0 "a full backup with the Redis member exits 0"
ID=$(json_get 'd["id"]')
expect_json_true 'd["redis"].endswith("/redis/dump.rdb")' "the dump path was asked of Redis (CONFIG GET dir, dbfilename)"
if tar --zstd -tf "$T/store/$ID/backup.tar.zst" | grep -qx 'redis/dump.rdb'; then ok "redis/dump.rdb is an archive member"; else not_ok "redis/dump.rdb is an archive member"; fi
mkdir "$T/x"
tar --zstd -xf "$T/store/$ID/backup.tar.zst" -C "$T/x" redis/dump.rdb
if redis-check-rdb "$T/x/redis/dump.rdb" >"$T/check.out" 2>&1 && grep -q "RDB looks OK" "$T/check.out"; then ok "redis-check-rdb accepts the archived dump"; else not_ok "redis-check-rdb accepts the archived dump"; sed 's/^/#   /' "$T/check.out"; fi
if grep -q "keys read" "$T/check.out" && grep -E "keys read" "$T/check.out" | grep -q 500; then ok "all 500 keys are in it"; else not_ok "all 500 keys are in it"; grep keys "$T/check.out" | sed 's/^/#   /'; fi
run "$OPSCTL" --output json backup verify -b "$ID"
expect_rc 0 "the backup with the Redis member verifies"

# Restore writes the dump for review, never over the live one.
before=$(sha256sum "$T/redis/dump.rdb")
run "$OPSCTL" --output json backup restore "$ID" --force
expect_rc 0 "restore exits 0"
if [ -f "$OPSCTL_STATE_DIR/restore/$ID/redis/dump.rdb" ] && [ "$(sha256sum "$T/redis/dump.rdb")" = "$before" ]; then ok "the dump goes to the review directory; the live one is untouched"; else not_ok "the dump goes to the review directory; the live one is untouched"; fi

closed=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
sed -i "s|redis_url = .*|redis_url = redis://127.0.0.1:$closed|" "$T/opsctl.conf"
run "$OPSCTL" backup --type full
expect_fail 69 "Redis down: exit 69" "cannot connect to Redis"
sed -i "s|redis_url = .*|redis_url = redis://u:secret@127.0.0.1:$PORT|" "$T/opsctl.conf"
run "$OPSCTL" backup --type full
expect_fail 78 "a password in backup.redis_url is refused: exit 78" "REDISCLI_AUTH"
if grep -q secret "$ERR"; then not_ok "the password is not echoed"; else ok "the password is not echoed"; fi

done_testing
