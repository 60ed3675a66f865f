#!/usr/bin/env bash
# t610: opsctl cache stats|purge|warm against real redis-servers on loopback:
# one without a password (DEBUG enabled, to load 200,000 keys and to stop
# active expiry), one with requirepass, ACL users that may run only what
# each command needs, and a TLS port whose certificate a test CA made here
# signed.  warm reads its queries from a SQLite database and replays them
# through a small HTTP peer (python3 http.server) or an argv command.
. "$(dirname "$0")/../lib/common.sh"
tool=$(missing_tool redis-server redis-cli openssl sqlite3) && bail_out "$tool (scripts/setup)"

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# ---- a test CA and a server certificate for localhost ----
mkdir -p "$T/tls"
(
	cd "$T/tls" &&
		openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 \
			-subj "/CN=opsctl t610 ca" &&
		openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr \
			-subj "/CN=localhost" &&
		printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >server.ext &&
		openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
			-extfile server.ext -out server.pem
) >/dev/null 2>&1 || bail_out "openssl makes the test certificates"
chmod 600 "$T"/tls/*.key

# ---- the servers ----
P_PLAIN=$(free_port) P_AUTH=$(free_port) P_TLS=$(free_port)
PW=default-$$-pw MON_PW=mon-$$-pw PURGE_PW=purge-$$-pw NOSLOW_PW=noslow-$$-pw
mkdir -p "$T/plain" "$T/auth"
bg redis-server --port "$P_PLAIN" --bind 127.0.0.1 --dir "$T/plain" --save "" \
	--appendonly no --enable-debug-command yes
cat >"$T/auth/redis.conf" <<CONF
port $P_AUTH
tls-port $P_TLS
bind 127.0.0.1
dir $T/auth
save ""
appendonly no
requirepass $PW
tls-cert-file $T/tls/server.pem
tls-key-file $T/tls/server.key
tls-ca-cert-file $T/tls/ca.pem
tls-auth-clients no
user cachemon on >$MON_PW ~* +@connection +info +lastsave +slowlog|get +memory|doctor +memory|usage +scan
user purger on >$PURGE_PW ~* +@connection +info +scan +unlink +memory|purge
user noslow on >$NOSLOW_PW ~* +@connection +info +lastsave +memory|doctor +memory|usage +scan
CONF
bg redis-server "$T/auth/redis.conf"
PLAIN=(redis-cli -p "$P_PLAIN")
AUTHCLI=(env REDISCLI_AUTH="$PW" redis-cli -p "$P_AUTH")
wait_for 10 "${PLAIN[@]}" ping || bail_out "redis-server (no password) starts"
wait_for 10 "${AUTHCLI[@]}" ping || bail_out "redis-server (requirepass, ACL users, TLS) starts"

# conf URL [LINE ...]: opsctl.conf with cache.redis_url = URL.
conf() {
	local url=$1 l
	shift
	{
		printf '[cache]\n'
		[ -n "$url" ] && printf 'redis_url = %s\n' "$url"
		for l in "$@"; do printf '%s\n' "$l"; done
		printf '[redis]\nconnect_timeout = 5s\n'
	} >"$T/opsctl.conf"
}
export OPSCTL_CONFIG="$T/opsctl.conf"
PROM="$OPSCTL_STATE_DIR/opsctl.prom"

# ---- stats ----
conf "redis://127.0.0.1:$P_PLAIN"
journal_mark
run "$OPSCTL" --output json cache stats
expect_rc 0 "cache stats on a fresh server: no lookups yet, nothing to judge"
expect_json_true 'd["status"] == "ok" and d["command"] == "cache stats" and d["error"] is None' "the JSON envelope"
expect_json_true 'd["hit_ratio"] is None and d["hit_ratio_bar"] == 0.9' "hit ratio null before the first lookup, the bar 0.90 (guide 001)"
expect_json_true 'd["used_memory_bytes"] > 0 and d["fragmentation_ratio"] > 0 and d["maxmemory_bytes"] == 0 and d["memory_used_ratio"] is None' "INFO memory: used, fragmentation, no maxmemory"
expect_json_true 'isinstance(d["last_save_age_seconds"], (int, float)) and d["last_save"].endswith("Z")' "LASTSAVE and its age"
expect_json_true 'isinstance(d["slowlog"], list) and isinstance(d["memory_doctor"], str) and d["memory_doctor"]' "SLOWLOG GET and MEMORY DOCTOR"
expect_json_true 'd["redis"] == "127.0.0.1:'"$P_PLAIN"'" and d["user"] == "default" and d["tls"] is None' "names the server and the user"
expect_journal_added 1 "stats is recorded in the journal (read-only, but monitored)"
expect_journal_last 'j["command"] == "cache stats" and j["figures"]["opsctl_cache_keys"] == 0' "the journal line carries the figures"
expect_file_contains "$PROM" "# HELP opsctl_cache_used_memory_bytes Memory Redis had allocated" "the textfile has opsctl_cache_used_memory_bytes with its own HELP"

# Hits and misses: 100 hits, 1000 misses is a ratio of 0.09.
{
	printf 'SET hot v\r\n'
	for i in $(seq 1 100); do printf 'GET hot\r\n'; done
	for i in $(seq 1 1000); do printf 'GET miss:%d\r\n' "$i"; done
} | "${PLAIN[@]}" --pipe >/dev/null
"${PLAIN[@]}" config set slowlog-log-slower-than 0 >/dev/null
"${PLAIN[@]}" set "secret:key" "the-value-$$" >/dev/null
head -c 200000 /dev/zero | tr '\0' x | "${PLAIN[@]}" -x set big:one >/dev/null
run "$OPSCTL" --output json cache stats
expect_rc 1 "a hit ratio below the 90% bar is exit 1 (a problem found)"
expect_json_true 'd["status"] == "failed" and abs(d["hit_ratio"] - 100/1100) < 0.001' "hit_ratio is hits over hits and misses"
expect_json_true 'len(d["problems"]) == 1 and "hit ratio" in d["problems"][0]' "the problem is listed"
expect_err_contains "cache hit ratio 0.091 is below cache.hit_ratio_bar 0.90" "...and named in the one error line"
expect_json_true 'd["largest_keys"][0]["key"] == "big:one" and d["largest_keys"][0]["memory_bytes"] >= 200000' "the largest key is found by sampling (MEMORY USAGE)"
expect_json_true 'd["sample_complete"] is True and d["sampled_keys"] == d["keys"]' "a small keyspace is sampled whole"
expect_json_true 'any(e["command"].upper().startswith("SET SECRET:KEY ...") for e in d["slowlog"])' "the slow log shows a command and its key"
if grep -q "the-value-$$" "$OUT"; then not_ok "...never the value"; else ok "...never the value"; fi
expect_file_contains "$PROM" "opsctl_cache_hit_ratio" "the textfile has the hit ratio"

run "$OPSCTL" cache stats
expect_fail 1 "text mode: the same problem, one error line" "below cache.hit_ratio_bar"
expect_out_contains "hit ratio:" "text mode shows the report"
expect_out_contains "largest keys:" "...with the largest keys"

OPSCTL_CACHE_HIT_RATIO_MIN_LOOKUPS=5000 run "$OPSCTL" cache stats
expect_rc 0 "below cache.hit_ratio_min_lookups the ratio is not judged (a server just restarted)"
OPSCTL_CACHE_HIT_RATIO_BAR=5 run "$OPSCTL" cache stats
expect_rc 0 "cache.hit_ratio_bar sets the bar"

"${PLAIN[@]}" config set maxmemory 1200000 >/dev/null
OPSCTL_CACHE_HIT_RATIO_BAR=5 run "$OPSCTL" --output json cache stats
expect_rc 1 "memory above 75% of maxmemory is exit 1 (guide 001)"
expect_json_true 'd["memory_used_ratio"] > 0.75 and "of maxmemory" in d["problems"][0]' "...with the ratio and the problem"
"${PLAIN[@]}" config set maxmemory 0 >/dev/null

# ---- purge: the acceptance, 200,000 keys ----
"${PLAIN[@]}" flushall >/dev/null
"${PLAIN[@]}" debug populate 100000 cache >/dev/null
"${PLAIN[@]}" debug populate 100000 keep >/dev/null
"${PLAIN[@]}" mset cachex:1 a xcache:1 b cache c "cache:odd key" d >/dev/null
count() { "${PLAIN[@]}" --scan --pattern "$1" | wc -l; }
before_cache=$(count 'cache:*') before_keep=$(count 'keep:*') before_all=$("${PLAIN[@]}" dbsize)
if [ "$before_cache" -eq 100001 ] && [ "$before_keep" -eq 100000 ] && [ "$before_all" -eq 200004 ]; then
	ok "a real redis-server holds 200,004 keys (100,001 cache:*, 100,000 keep:*)"
else
	not_ok "the server holds the keys (cache:* $before_cache, keep:* $before_keep, all $before_all)"
fi

export OPSCTL_ENV=dev
run "$OPSCTL" --output json cache purge --pattern 'cache:*' --dry-run
expect_rc 0 "purge --dry-run"
expect_json_true 'd["would_remove_keys"] >= 100001 and d["window"] == "open"' "...counts the pattern's keys and says the window is open"
if [ "$(count 'cache:*')" -eq 100001 ]; then ok "...and removes nothing"; else not_ok "the dry run removed keys"; fi

journal_mark
t0=$(date +%s%N)
run "$OPSCTL" --output json cache purge --pattern 'cache:*'
ms=$((($(date +%s%N) - t0) / 1000000))
expect_rc 0 "purge --pattern 'cache:*' on 200,004 keys (${ms} ms)"
expect_json_true 'd["removed_keys"] == 100001 and d["mode"] == "pattern"' "removed_keys is exactly the pattern's 100,001"
after_cache=$(count 'cache:*') after_keep=$(count 'keep:*') after_all=$("${PLAIN[@]}" dbsize)
if [ "$after_cache" -eq 0 ] && [ "$after_keep" -eq 100000 ] && [ "$after_all" -eq 100003 ]; then
	ok "exactly the pattern's keys are gone: cache:* 0, keep:* 100000, 100003 in all"
else
	not_ok "exactly the pattern's keys are gone (cache:* $after_cache, keep:* $after_keep, all $after_all)"
fi
if [ "$("${PLAIN[@]}" mget cachex:1 xcache:1 cache | tr '\n' ' ')" = "a b c " ]; then
	ok "keys that only look alike (cachex:1, xcache:1, cache) are untouched"
else
	not_ok "keys that only look alike are untouched"
fi
expect_json_true 'd["used_memory_before_bytes"] > d["used_memory_after_bytes"] and d["freed_bytes"] > 0' "used memory before and after, bytes freed"
expect_journal_added 1 "the purge is journalled"
expect_journal_last 'j["figures"]["opsctl_cache_purged_keys"] == 100001' "...with opsctl_cache_purged_keys"
expect_file_contains "$PROM" "opsctl_cache_purged_keys" "the textfile has opsctl_cache_purged_keys"
"${PLAIN[@]}" config set slowlog-log-slower-than 10000 >/dev/null
"${PLAIN[@]}" slowlog reset >/dev/null
"${PLAIN[@]}" config set slowlog-log-slower-than 0 >/dev/null
run "$OPSCTL" cache purge --pattern 'keep:1*' -b 500
"${PLAIN[@]}" config set slowlog-log-slower-than 10000 >/dev/null
cmds=$("${PLAIN[@]}" slowlog get 1000 | grep -aiE '^(scan|unlink|keys|flushall|flushdb|del)$' | tr 'a-z' 'A-Z' | sort -u | tr '\n' ' ')
if [ "$cmds" = "SCAN UNLINK " ]; then ok "the server saw only SCAN and UNLINK (never KEYS, FLUSHALL or DEL)"; else
	not_ok "the server saw only SCAN and UNLINK (saw: $cmds)"; fi

# Refusals, none of which touches a key.
n0=$("${PLAIN[@]}" dbsize)
run "$OPSCTL" cache purge
expect_error 64 "purge with nothing to purge is exit 64" "nothing to purge"
run "$OPSCTL" cache purge --all
expect_error 64 "--all off a terminal without --yes is exit 64" "no terminal to ask"
run "$OPSCTL" cache purge --all --pattern 'x*'
expect_error 64 "--all with --pattern is exit 64" "--all"
run "$OPSCTL" cache purge --pattern ''
expect_error 64 "an empty pattern is exit 64" "empty"
OPSCTL_ENV=prod OPSCTL_WINDOW_PROD=never run "$OPSCTL" cache purge --pattern 'keep:*'
expect_fail 1 "outside the maintenance window a purge is refused (exit 1)" "outside the prod maintenance window"
if [ "$("${PLAIN[@]}" dbsize)" -eq "$n0" ]; then ok "...and no refusal removed a key"; else not_ok "a refusal removed keys"; fi
OPSCTL_ENV=prod OPSCTL_WINDOW_PROD=never run "$OPSCTL" cache purge --pattern 'keep:2*' --force
expect_rc 0 "--force purges outside the window"

# The expired-key sweep: with active expiry off, expired keys linger until touched.
"${PLAIN[@]}" flushall >/dev/null
"${PLAIN[@]}" debug set-active-expire 0 >/dev/null
for i in $(seq 1 500); do printf 'SET ttl:%d v PX 50\r\nSET live:%d v\r\n' "$i" "$i"; done | "${PLAIN[@]}" --pipe >/dev/null
sleep 0.3
lingering=$("${PLAIN[@]}" dbsize)
OPSCTL_ENV=prod OPSCTL_WINDOW_PROD=never run "$OPSCTL" --output json cache purge --expired
expect_rc 0 "purge --expired needs no window (it removes only what has expired)"
expect_json_true 'd["expired_keys_reclaimed"] == 500 and d["removed_keys"] == 0' "the sweep reclaimed the 500 expired keys and unlinked none"
if [ "$lingering" -eq 1000 ] && [ "$("${PLAIN[@]}" dbsize)" -eq 500 ] && [ "$(count 'live:*')" -eq 500 ]; then
	ok "1000 keys before (500 expired), the 500 live ones after"
else
	not_ok "the sweep kept the live keys (before $lingering, after $("${PLAIN[@]}" dbsize))"
fi
"${PLAIN[@]}" debug set-active-expire 1 >/dev/null

run "$OPSCTL" --output json cache purge --all --dry-run
expect_json_true 'd["would_remove_keys"] == 500' "--all --dry-run counts every key"
run "$OPSCTL" --output json cache purge --all --yes
expect_rc 0 "--all --yes: FLUSHDB ASYNC"
if [ "$("${PLAIN[@]}" dbsize)" -eq 0 ]; then ok "...empties the database"; else not_ok "--all empties the database"; fi

# ---- purge stopped by SIGTERM: what went is counted, the rest stays ----
# A proxy between opsctl and Redis holds back the reply to the 50th UNLINK
# after passing the command on, so the signal lands exactly where a count
# can be lost: the keys go on the server while opsctl waits for the reply.
cat >"$T/hold.py" <<'PY'
import os, socket, sys, threading, time
port_file, upstream, hold_at, held_file = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
def serve(c):
    u = socket.create_connection(("127.0.0.1", upstream))
    st = {"unlinks": 0, "hold": False}
    def up():
        while (b := c.recv(65536)):
            if b"UNLINK" in b.upper():
                st["unlinks"] += 1
                st["hold"] = st["unlinks"] == hold_at
            u.sendall(b)
        u.shutdown(socket.SHUT_WR)
    threading.Thread(target=up, daemon=True).start()
    while (b := u.recv(65536)):
        if st["hold"]:
            st["hold"] = False
            open(held_file, "w").close()
            time.sleep(3)
        try:
            c.sendall(b)
        except OSError:
            break
    c.close()
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen()
open(port_file + ".tmp", "w").write(str(s.getsockname()[1]))
os.rename(port_file + ".tmp", port_file)
while True:
    threading.Thread(target=serve, args=(s.accept()[0],), daemon=True).start()
PY
bg python3 "$T/hold.py" "$T/hold.port" "$P_PLAIN" 50 "$T/held"
wait_for 10 test -s "$T/hold.port" || bail_out "the holding proxy starts"
"${PLAIN[@]}" debug populate 100000 cache >/dev/null
"${PLAIN[@]}" debug populate 100000 keep >/dev/null
"${PLAIN[@]}" mset cachex:1 a xcache:1 b cache c >/dev/null
n_before=$("${PLAIN[@]}" dbsize)
conf "redis://127.0.0.1:$(cat "$T/hold.port")"
journal_mark
"$OPSCTL" cache purge --pattern 'cache:*' >"$T/sig.out" 2>"$T/sig.err" &
SIGPID=$!
wait_for 30 test -e "$T/held" || diag "the 50th UNLINK was not reached"
kill -TERM "$SIGPID"
wait "$SIGPID"
RC=$?
n_after=$("${PLAIN[@]}" dbsize)
gone=$((n_before - n_after))
if [ "$RC" = 143 ] && [ "$gone" -gt 0 ] && [ "$(count 'cache:*')" -gt 0 ]; then
	ok "SIGTERM mid-purge: exit 143, $gone of 100,000 keys gone, the rest still there"
else
	not_ok "SIGTERM mid-purge: exit 143 with part removed (exit $RC, $gone gone)"
	sed 's/^/#   /' "$T/sig.err"
fi
expect_journal_added 1 "the interrupted purge is journalled"
expect_journal_last "j['status'] == 'interrupted' and j['exit'] == 143 and j['figures'].get('opsctl_cache_purged_keys') == $gone" \
	"the journal says interrupted, with every key that went (DBSIZE fell by $gone, the held batch included)"
if [ "$(count 'keep:*')" -eq 100000 ] && [ "$("${PLAIN[@]}" mget cachex:1 xcache:1 cache | tr '\n' ' ')" = "a b c " ]; then
	ok "SIGTERM: every key outside the pattern is still there"
else
	not_ok "SIGTERM: every key outside the pattern is still there"
fi
conf "redis://127.0.0.1:$P_PLAIN"
left=$(count 'cache:*')
run "$OPSCTL" --output json cache purge --pattern 'cache:*'
expect_rc 0 "the next run takes the lock and purges the rest"
expect_json_true "d['removed_keys'] == $left" "...removing the $left keys left"
if [ "$(count 'cache:*')" -eq 0 ] && [ "$("${PLAIN[@]}" dbsize)" -eq 100003 ]; then
	ok "...and only those"
else
	not_ok "the rerun removed exactly the rest (cache:* $(count 'cache:*'), all $("${PLAIN[@]}" dbsize))"
fi
"${PLAIN[@]}" flushall >/dev/null

# ---- AUTH, ACL users, TLS, and the failures ----
conf "redis://127.0.0.1:$P_AUTH"
REDISCLI_AUTH="$PW" run "$OPSCTL" --output json cache stats
expect_rc 0 "stats with AUTH (the password from REDISCLI_AUTH)"
REDISCLI_AUTH="Wr0ng-$$" run "$OPSCTL" cache stats
expect_fail 77 "a wrong password is exit 77" "refused user 'default'"
if grep -q "Wr0ng-$$" "$ERR" "$OUT"; then not_ok "the wrong password is not echoed"; else ok "the wrong password is not echoed"; fi
run "$OPSCTL" cache stats
expect_fail 77 "no password for a server that wants one is exit 77" "requires a password"

conf "rediss://cachemon@localhost:$P_TLS" "[redis]" "tls_ca_file = $T/tls/ca.pem"
REDISCLI_AUTH="$MON_PW" run "$OPSCTL" --output json cache stats
expect_rc 0 "stats over TLS as ACL user 'cachemon', who may run only INFO LASTSAVE SLOWLOG GET MEMORY DOCTOR|USAGE SCAN"
expect_json_true 'd["tls"].startswith("TLS") and d["user"] == "cachemon"' "...and the report says TLS and the user"
conf "rediss://noslow@localhost:$P_TLS" "[redis]" "tls_ca_file = $T/tls/ca.pem"
REDISCLI_AUTH="$NOSLOW_PW" run "$OPSCTL" cache stats
expect_fail 77 "an ACL user without +slowlog|get is exit 77 naming the user and the command" "user 'noslow'" "SLOWLOG GET"

"${AUTHCLI[@]}" mset tmp:1 a tmp:2 b other:1 c >/dev/null
conf "rediss://purger@localhost:$P_TLS" "[redis]" "tls_ca_file = $T/tls/ca.pem"
REDISCLI_AUTH="$PURGE_PW" run "$OPSCTL" --output json cache purge --pattern 'tmp:*'
expect_rc 0 "purge over TLS as ACL user 'purger' (+scan +unlink +memory|purge +info only)"
if [ "$("${AUTHCLI[@]}" --scan --pattern 'tmp:*' | wc -l)" -eq 0 ] && [ "$("${AUTHCLI[@]}" get other:1)" = c ]; then
	ok "...removed tmp:* and kept other:1"
else
	not_ok "the ACL user's purge removed exactly tmp:*"
fi
conf "rediss://localhost:$P_TLS" "[redis]" "tls_ca_file = $T/tls/server.pem"
REDISCLI_AUTH="$PW" run "$OPSCTL" cache stats
expect_fail 78 "a server certificate that does not chain to redis.tls_ca_file is exit 78" "certificate"

conf "redis://127.0.0.1:$(free_port)"
run "$OPSCTL" --output json cache stats
expect_rc 69 "Redis down is exit 69"
expect_json_true 'd["status"] == "failed" and "cannot connect to Redis" in d["error"]' "...with the JSON envelope on stdout"
run "$OPSCTL" cache purge --pattern 'x*'
expect_fail 69 "purge with Redis down is exit 69" "cannot connect to Redis"
conf "redis://user:pw-in-file@127.0.0.1:$P_AUTH"
run "$OPSCTL" cache stats
expect_fail 78 "a password in opsctl.conf's URL is exit 78" "REDISCLI_AUTH"
conf ""
run "$OPSCTL" cache stats
expect_fail 78 "no Redis configured is exit 78" "no Redis configured"
REDIS_URL="redis://127.0.0.1:$P_PLAIN" run "$OPSCTL" --output json cache stats
expect_json_true 'd["redis"] == "127.0.0.1:'"$P_PLAIN"'"' "REDIS_URL, the variable the application already has, is read"
OPSCTL_BACKUP_REDIS_URL="redis://127.0.0.1:$P_PLAIN" run "$OPSCTL" --output json cache stats
expect_json_true 'd["redis"] == "127.0.0.1:'"$P_PLAIN"'"' "without cache.redis_url, backup.redis_url is the cache's Redis"

# ---- warm ----
sqlite3 "$T/app.db" "create table queries (id integer primary key, query_text text,
	created_at text default (datetime('now')));" || bail_out "sqlite3 makes the queries table"
{
	for i in 1 2 3 4 5; do echo "insert into queries (query_text) values ('how do I reset my password');"; done
	for i in 1 2 3 4; do echo "insert into queries (query_text) values ('pricing; rm -rf \$HOME');"; done
	for i in 1 2 3; do echo "insert into queries (query_text) values ('what is RAG?');"; done
	for i in 1 2; do echo "insert into queries (query_text) values ('vacation policy');"; done
	echo "insert into queries (query_text) values ('once');"
	for i in 1 2 3 4 5 6 7 8; do echo "insert into queries (query_text, created_at) values ('last year', '2001-01-01 00:00:00');"; done
} | sqlite3 "$T/app.db"
cat >"$T/peer.py" <<'PY'
import http.server, json, os, sys
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open(sys.argv[2], "a") as f:
            f.write(json.dumps({"path": self.path, "type": self.headers.get("Content-Type"),
                                "body": json.loads(body)}) + "\n")
        code = 500 if self.path.startswith("/fail") else 200
        self.send_response(code)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1] + ".tmp", "w").write(str(s.server_address[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
s.serve_forever()
PY
bg python3 "$T/peer.py" "$T/peer.port" "$T/peer.log"
wait_for 10 test -s "$T/peer.port" || bail_out "the HTTP peer starts"
PEER=$(cat "$T/peer.port")
conf "redis://127.0.0.1:$P_PLAIN" "warm_database = $T/app.db" "warm_url = http://127.0.0.1:$PEER/warm"

run "$OPSCTL" --output json cache warm --dry-run
expect_rc 0 "warm --dry-run"
expect_json_true '[q["query"] for q in d["queries"]] == ["how do I reset my password", "pricing; rm -rf $HOME", "what is RAG?", "vacation policy", "once"]' "lists the recent queries, most frequent first (last year's left out)"
if [ ! -s "$T/peer.log" ]; then ok "...and sends nothing"; else not_ok "the dry run sent requests"; fi

journal_mark
t0=$(date +%s%N)
run "$OPSCTL" --output json cache warm --limit 4 --rate 2
ms=$((($(date +%s%N) - t0) / 1000000))
expect_rc 0 "warm through the HTTP endpoint"
expect_json_true 'd["warmed"] == 4 and d["failed"] == 0 and d["endpoint"] == "http://127.0.0.1:'"$PEER"'"' "4 queries warmed (--limit 4)"
if python3 -c '
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
want = ["how do I reset my password", "pricing; rm -rf $HOME", "what is RAG?", "vacation policy"]
sys.exit(0 if [l["body"]["query"] for l in lines] == want and all(l["type"] == "application/json" and l["path"] == "/warm" for l in lines) else 1)
' "$T/peer.log"; then ok "the peer got each query once, in order, as JSON {\"query\": ...}"; else
	not_ok "the peer got the queries as JSON"; sed 's/^/#   /' "$T/peer.log"; fi
if [ "$ms" -ge 1400 ]; then ok "--rate 2 spaced 4 requests over ${ms} ms (>= 1.5 s)"; else not_ok "--rate 2 spaced the requests (took $ms ms)"; fi
expect_journal_added 1 "warm is journalled"
expect_journal_last 'j["figures"]["opsctl_cache_warm_queries"] == 4' "...with opsctl_cache_warm_queries"

conf "redis://127.0.0.1:$P_PLAIN" "warm_database = $T/app.db" "warm_url = http://127.0.0.1:$PEER/fail"
run "$OPSCTL" --output json cache warm --limit 2
expect_rc 1 "an endpoint answering 500 is exit 1"
expect_json_true 'd["failed"] == 2 and "HTTP 500" in d["error"]' "...counting and naming the failures"
conf "redis://127.0.0.1:$P_PLAIN" "warm_database = $T/app.db" "warm_url = http://127.0.0.1:$(free_port)/warm"
run "$OPSCTL" cache warm --limit 1
expect_rc 69 "an endpoint nobody listens on is exit 69"

# An argv, no shell: the query is one argument, its ';' and '$HOME' inert.
cat >"$T/record.sh" <<'SH'
#!/bin/sh
printf '%s|%s\n' "$1" "$2" >>"$REC"
SH
chmod +x "$T/record.sh"
export REC="$T/rec.log"
conf "redis://127.0.0.1:$P_PLAIN" "warm_database = $T/app.db" "warm_command = $T/record.sh,--q,{query}"
run "$OPSCTL" cache warm --rate 100
expect_rc 0 "warm through an argv command"
if [ "$(sed -n 2p "$REC")" = '--q|pricing; rm -rf $HOME' ] && [ "$(wc -l <"$REC")" -eq 5 ]; then
	ok "each query is one argument in place of {query}, never seen by a shell"
else
	not_ok "the command got the queries as arguments"; sed 's/^/#   /' "$REC"
fi
# A command stuck on one query: stopped at cache.warm_timeout with whatever
# it started, counted failed, and the other queries still go.
cat >"$T/stuck.sh" <<'SH'
#!/bin/sh
if [ "$1" = 'what is RAG?' ] || [ -n "${STUCK_ALL:-}" ]; then
	sleep 30 &
	echo $! >"$STUCK_PID"
	wait
fi
printf '%s\n' "$1" >>"$STUCK_REC"
SH
chmod +x "$T/stuck.sh"
export STUCK_PID="$T/stuck.pid" STUCK_REC="$T/stuck.rec"
# running PID: a live process (a zombie nobody reaps has ended).
running() { local s; s=$(ps -o stat= -p "$1" 2>/dev/null) && [ "${s#Z}" = "$s" ]; }
stopped() { ! running "$1"; }
conf "redis://127.0.0.1:$P_PLAIN" "warm_database = $T/app.db" "warm_command = $T/stuck.sh" "warm_timeout = 1s"
journal_mark
t0=$(date +%s%N)
run "$OPSCTL" --output json cache warm --rate 100
ms=$((($(date +%s%N) - t0) / 1000000))
if [ "$ms" -lt 20000 ]; then ok "a warm command stuck on one query ends within the bound (${ms} ms for a 1 s timeout, < 20 s)"; else
	not_ok "a stuck warm command ends within 20 s (took $ms ms)"; fi
expect_rc 1 "...and the run exits 1, as for any failed query"
expect_json_true 'd["failed"] == 1 and d["warmed"] == 4' "...the stuck query counted failed, the other 4 warmed"
expect_json_true 'find(d["queries"], "query", "what is RAG?")["result"].endswith("stuck.sh timed out after 1 s")' "...its result names the timeout"
expect_json_true '"stuck.sh timed out after 1 s" in d["error"]' "...and so does the error line"
if [ "$(wc -l <"$STUCK_REC")" -eq 4 ] && [ -s "$STUCK_PID" ] && wait_for 2 stopped "$(cat "$STUCK_PID")"; then
	ok "the queries after it ran, and the command's own child (sleep 30) was stopped with it"
else not_ok "the queries after it ran and its child was stopped"; fi
expect_journal_last 'j["status"] == "failed" and j["figures"]["opsctl_cache_warm_failed"] == 1 and j["figures"]["opsctl_cache_warm_queries"] == 4' "the journal has the figures"

# SIGTERM while a command runs: it is stopped, the run ends as interrupted.
conf "redis://127.0.0.1:$P_PLAIN" "warm_database = $T/app.db" "warm_command = $T/stuck.sh" "warm_timeout = 60s"
rm -f "$STUCK_PID" "$STUCK_REC"
journal_mark
STUCK_ALL=1 "$OPSCTL" cache warm --rate 100 >"$T/term.out" 2>"$T/term.err" &
WPID=$!
wait_for 10 test -s "$STUCK_PID" || diag "the warm command did not start"
t0=$(date +%s%N)
kill -TERM "$WPID"
wait "$WPID"
RC=$?
ms=$((($(date +%s%N) - t0) / 1000000))
if [ "$RC" = 143 ] && [ "$ms" -lt 5000 ]; then ok "SIGTERM while a warm command runs: exit 143 after ${ms} ms"; else
	not_ok "SIGTERM while a warm command runs: exit 143 at once (exit $RC after $ms ms)"; sed 's/^/#   /' "$T/term.err"; fi
if wait_for 2 stopped "$(cat "$STUCK_PID")"; then ok "...and the command's child (sleep 30) was stopped too"; else
	not_ok "the command's child (sleep 30) was stopped too"; fi
expect_journal_last 'j["status"] == "interrupted" and j["exit"] == 143' "...journalled as interrupted"

conf "redis://127.0.0.1:$P_PLAIN" "warm_database = $T/app.db" "warm_command = $T/record.sh" "warm_url = http://127.0.0.1:$PEER/warm"
run "$OPSCTL" cache warm
expect_error 78 "both warm_url and warm_command set is exit 78" "both"
conf "redis://127.0.0.1:$P_PLAIN" "warm_database = $T/app.db"
run "$OPSCTL" cache warm
expect_error 78 "neither set is exit 78" "nowhere to send"

done_testing
