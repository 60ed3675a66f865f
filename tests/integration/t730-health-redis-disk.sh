#!/usr/bin/env bash
# t730: opsctl health's redis and disk components.  redis against real
# redis-servers on loopback (one open with DEBUG enabled, one with
# requirepass), a closed port and a listener that never answers; disk
# against this machine's file systems, its figures compared with df's.
. "$(dirname "$0")/../lib/common.sh"
tool=$(missing_tool redis-server redis-cli df python3) && bail_out "$tool (scripts/setup)"
export OPSCTL_ENV=dev

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

P_OPEN=$(free_port) P_AUTH=$(free_port) P_DOWN=$(free_port) P_SILENT=$(free_port)
PW=t730-$$-pw
mkdir -p "$T/open" "$T/auth"
bg redis-server --port "$P_OPEN" --bind 127.0.0.1 --dir "$T/open" --save "" \
	--appendonly no --enable-debug-command yes --maxmemory-policy noeviction
bg redis-server --port "$P_AUTH" --bind 127.0.0.1 --dir "$T/auth" --save "" \
	--appendonly no --requirepass "$PW"
# Accepts connections (the kernel's backlog) and never says a word.
bg python3 -c 'import socket,time,sys
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(16); time.sleep(3600)' "$P_SILENT"
CLI=(redis-cli -p "$P_OPEN")
wait_for 10 "${CLI[@]}" ping || bail_out "redis-server (open) starts"
wait_for 10 env REDISCLI_AUTH="$PW" redis-cli -p "$P_AUTH" ping ||
	bail_out "redis-server (requirepass) starts"

export OPSCTL_CONFIG="$T/opsctl.conf"
# conf [LINE ...]: an opsctl.conf of the given lines (section headers included).
conf() { printf '%s\n' "$@" >"$OPSCTL_CONFIG"; }
comp() { echo "find(d[\"components\"], \"component\", \"$1\")"; }
R=$(comp redis) D=$(comp disk)

# ---- redis: not configured ----
conf '[health]' 'disk_paths ='
run "$OPSCTL" --output json health
expect_json_true "$R[\"state\"] == \"SKIPPED\"" "redis with neither cache.redis_url nor backup.redis_url: skipped under all"
run "$OPSCTL" health -c redis
expect_rc 3 "redis named with -c but not configured: UNKNOWN"
expect_out_contains "not configured: neither cache.redis_url nor backup.redis_url is set" "the status line says why"

# ---- redis: up and healthy ----
conf '[cache]' "redis_url = redis://127.0.0.1:$P_OPEN"
run "$OPSCTL" --output json health -c redis
expect_rc 0 "a healthy Redis is OK"
expect_json_true "$R[\"state\"] == \"OK\" and $R[\"redis\"] == \"127.0.0.1:$P_OPEN\"" "the component names the server"
expect_json_true "$R[\"maxmemory_bytes\"] == 0 and $R[\"redis_memory_pct\"] is None and \"redis_memory_pct\" not in d[\"perfdata\"]" "maxmemory 0 is no limit: memory not judged, no perfdata for it"
expect_json_true "$R[\"evicted_keys\"] == 0 and $R[\"rejected_connections\"] == 0 and $R[\"used_memory_bytes\"] > 0" "evicted_keys, rejected_connections and used memory in the report"
expect_json_true "\"'redis_time'=\" in d[\"perfdata\"] and $R[\"redis_time\"] < 5" "perfdata redis_time"
run "$OPSCTL" health -c redis
expect_rc 0 "text mode, OK"
if head -n 1 "$OUT" | grep -qE "^OPSCTL HEALTH OK - .*\| .*'redis_time'=[0-9.]+s;;;0;"; then
	ok "the status line carries redis_time in seconds"
else
	not_ok "the status line carries redis_time in seconds"; diag_run
fi

# backup.redis_url when cache.redis_url is unset (guide 004: one Redis).
conf '[backup]' "redis_url = redis://127.0.0.1:$P_OPEN"
run "$OPSCTL" --output json health -c redis
expect_json_true "d[\"exit_code\"] == 0 and $R[\"redis\"] == \"127.0.0.1:$P_OPEN\"" "backup.redis_url serves when cache.redis_url is unset"

# ---- redis: memory against maxmemory ----
"${CLI[@]}" debug populate 20000 t730key 64 >/dev/null
used=$("${CLI[@]}" info memory | tr -d '\r' | sed -n 's/^used_memory://p')
conf '[cache]' "redis_url = redis://127.0.0.1:$P_OPEN"
"${CLI[@]}" config set maxmemory $((used * 100 / 82)) >/dev/null
run "$OPSCTL" --output json health -c redis
expect_rc 1 "memory near 82% of maxmemory: WARNING (health.redis_memory_pct 75)"
expect_json_true "$R[\"summary\"].startswith(\"memory 8\") and \"% of maxmemory\" in $R[\"summary\"] and 80 < $R[\"redis_memory_pct\"] < 85" "the summary and the figure say how full"
expect_json_true "\"'redis_memory_pct'=8\" in d[\"perfdata\"] and \"%;75;90;0;100\" in d[\"perfdata\"]" "perfdata redis_memory_pct with the thresholds"
"${CLI[@]}" config set maxmemory $((used * 100 / 96)) >/dev/null
run "$OPSCTL" --output json health -c redis
expect_rc 2 "memory near 96% of maxmemory: CRITICAL (health.redis_memory_critical_pct 90)"
conf '[cache]' "redis_url = redis://127.0.0.1:$P_OPEN" '[health]' 'redis_memory_critical_pct = 99' 'redis_memory_pct = 98'
run "$OPSCTL" --output json health -c redis
expect_rc 0 "the same memory under raised thresholds: OK"
"${CLI[@]}" config set maxmemory 0 >/dev/null

# ---- redis: hit ratio ----
"${CLI[@]}" config resetstat >/dev/null
for i in $(seq 1 10); do echo "GET t730key:$i"; done | "${CLI[@]}" >/dev/null
for i in $(seq 1 90); do echo "GET nosuch:$i"; done | "${CLI[@]}" >/dev/null
"${CLI[@]}" get t730key:1 >/dev/null
conf '[cache]' "redis_url = redis://127.0.0.1:$P_OPEN" 'hit_ratio_min_lookups = 50'
run "$OPSCTL" --output json health -c redis
expect_rc 1 "a hit ratio below health.redis_hit_ratio_pct after 101 lookups: WARNING"
expect_json_true "\"hit ratio\" in $R[\"summary\"] and \"below 90%\" in $R[\"summary\"] and $R[\"keyspace_misses\"] >= 90" "the summary names the ratio, the bar and the counts"
expect_json_true "\"'redis_hit_ratio'=\" in d[\"perfdata\"] and \"%;90:;;0;100\" in d[\"perfdata\"]" "perfdata redis_hit_ratio as a lower bound (90:)"
conf '[cache]' "redis_url = redis://127.0.0.1:$P_OPEN" 'hit_ratio_min_lookups = 1000'
run "$OPSCTL" --output json health -c redis
expect_rc 0 "fewer lookups than cache.hit_ratio_min_lookups: the ratio is not judged"
conf '[cache]' "redis_url = redis://127.0.0.1:$P_OPEN" 'hit_ratio_min_lookups = 50' '[health]' 'redis_hit_ratio_pct = 0'
run "$OPSCTL" --output json health -c redis
expect_rc 0 "health.redis_hit_ratio_pct 0: never below"

# ---- redis: down, silent ----
conf '[cache]' "redis_url = redis://127.0.0.1:$P_DOWN"
run "$OPSCTL" --output json health -c redis
expect_rc 2 "a refused connection is CRITICAL"
expect_json_true "\"127.0.0.1:$P_DOWN\" in $R[\"summary\"] and \"refused\" in $R[\"summary\"].lower()" "the summary names host:port and the cause"
expect_json_true "\"'redis_time'=\" in d[\"perfdata\"]" "redis_time is in the perfdata of a failed check too"
# redis.connect_timeout and redis.timeout are 10 s: the check's own 2 s wins.
conf '[cache]' "redis_url = redis://127.0.0.1:$P_SILENT" '[health]' 'check_timeout = 2s'
t0=$(date +%s.%N)
run "$OPSCTL" --output json health -c redis
t1=$(date +%s.%N)
expect_rc 2 "a server that never answers is CRITICAL"
expect_json_true "\"127.0.0.1:$P_SILENT\" in $R[\"summary\"] and __import__(\"re\").search(r\"within (2|1\\.9[0-9]*) s\", $R[\"summary\"])" "the summary names host:port and the wait"
if [ "$RC" -eq 2 ] && python3 -c "import sys; sys.exit(0 if $t1 - $t0 < 5 else 1)"; then
	ok "within health.check_timeout (2 s), not redis.timeout (10 s)"
else
	not_ok "within health.check_timeout: took $(python3 -c "print(round($t1 - $t0, 1))") s"
fi

# ---- redis: a refused password is opsctl's configuration, UNKNOWN ----
conf '[cache]' "redis_url = redis://127.0.0.1:$P_AUTH"
REDISCLI_AUTH=wrong-pw run "$OPSCTL" --output json health -c redis
expect_rc 3 "a wrong password (REDISCLI_AUTH) is UNKNOWN, not CRITICAL"
expect_json_true "$R[\"state\"] == \"UNKNOWN\" and \"default\" in $R[\"summary\"]" "the summary names the user"
if grep -q "wrong-pw" "$OUT" "$ERR"; then not_ok "the password appears nowhere"; else ok "the password appears nowhere"; fi
run "$OPSCTL" --output json health -c redis
expect_rc 3 "no password for a server that needs one: UNKNOWN"
REDISCLI_AUTH="$PW" run "$OPSCTL" --output json health -c redis
expect_rc 0 "the right password: OK"

# ---- disk ----
pct() { df -P "$2" | awk 'NR == 2 { sub("%", "", $5); print $5 }'; }
ipct() { df -i "$1" | awk 'NR == 2 { sub("%", "", $5); print $5 }'; }
used=$(pct x /) iused=$(ipct /)
conf '[health]' "disk_paths = /"
run "$OPSCTL" --output json health -c disk
expect_json_true "$D[\"paths\"][0][\"used_pct\"] == $used" "used % of / as df counts it ($used%)"
if [ "$iused" = "-" ]; then
	expect_json_true "$D[\"paths\"][0][\"inodes_pct\"] is None" "a file system with no inode count: inodes not judged"
else
	expect_json_true "$D[\"paths\"][0][\"inodes_pct\"] == $iused" "inodes used % of / as df -i counts it ($iused%)"
fi
expect_json_true "0 < $D[\"paths\"][0][\"free_bytes\"] <= $D[\"paths\"][0][\"size_bytes\"]" "free bytes in the report"
expect_json_true "\"'disk_root_used_pct'=$used%;80;90;0;100\" in d[\"perfdata\"] and \"'disk_root_inodes_pct'=\" in d[\"perfdata\"]" "perfdata disk_root_used_pct=N%;80;90;0;100"
want=0
[ "$used" -gt 80 ] && want=1
[ "$used" -gt 90 ] && want=2
expect_rc "$want" "the state follows the default thresholds 80/90"

if [ "$used" -gt 1 ]; then
	conf '[health]' "disk_paths = /" 'disk_warn_pct = 1' 'disk_critical_pct = 100' 'inode_warn_pct = 100' 'inode_critical_pct = 100'
	run "$OPSCTL" health -c disk
	expect_rc 1 "used above disk_warn_pct 1: WARNING"
	expect_out_contains "/ space $used% used" "the status line names the path and the use"
	conf '[health]' "disk_paths = /" 'disk_warn_pct = 1' 'disk_critical_pct = 1'
	run "$OPSCTL" health -c disk
	expect_rc 2 "used above disk_critical_pct 1: CRITICAL"
else
	skip "used above disk_warn_pct 1: WARNING" "/ is ${used}% used"
	skip "the status line names the path and the use" "/ is ${used}% used"
	skip "used above disk_critical_pct 1: CRITICAL" "/ is ${used}% used"
fi
if [ "$iused" != "-" ] && [ "$iused" -gt 1 ]; then
	conf '[health]' "disk_paths = /" 'disk_warn_pct = 100' 'disk_critical_pct = 100' 'inode_warn_pct = 1' 'inode_critical_pct = 100'
	run "$OPSCTL" health -c disk
	expect_rc 1 "inodes above inode_warn_pct 1: WARNING"
	expect_out_contains "/ inodes $iused% used" "the status line names the inodes"
else
	skip "inodes above inode_warn_pct 1: WARNING" "inodes of / at ${iused}"
	skip "the status line names the inodes" "inodes of / at ${iused}"
fi

# Labels from the path; a missing path is UNKNOWN, the others still judged.
mkdir -p "$T/Data Dir"
conf '[health]' "disk_paths = /var/lib, $T/nosuch, $T/Data Dir" 'disk_warn_pct = 100' 'disk_critical_pct = 100'
run "$OPSCTL" --output json health -c disk
expect_rc 3 "a path that does not exist: UNKNOWN"
expect_json_true "\"$T/nosuch does not exist\" in $D[\"summary\"]" "the summary names the missing path"
expect_json_true "\"'disk_var_lib_used_pct'=\" in d[\"perfdata\"]" "/var/lib is labelled var_lib"
lab=$(printf '%s' "${T#/}/data dir" | tr 'A-Z' 'a-z' | sed 's/[^a-z0-9.]\{1,\}/_/g')
expect_json_true "\"'disk_${lab}_used_pct'=\" in d[\"perfdata\"] and len($D[\"paths\"]) == 3" "the other paths are still judged (label disk_${lab}_used_pct)"
expect_json_true "$D[\"paths\"][1][\"error\"] == \"does not exist\"" "the missing path's entry says so"
conf '[health]' "disk_paths = /var/lib, $T/nosuch" 'disk_warn_pct = 1' 'disk_critical_pct = 1'
run "$OPSCTL" --output json health -c disk
expect_rc 2 "a full disk beside a missing path: CRITICAL outranks UNKNOWN"
conf '[health]' 'disk_paths ='
run "$OPSCTL" health -c disk
expect_rc 3 "disk named with health.disk_paths empty: UNKNOWN"
expect_out_contains "health.disk_paths is empty" "the status line says why"

done_testing
