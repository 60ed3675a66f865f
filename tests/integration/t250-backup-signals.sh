#!/usr/bin/env bash
# t250: SIGTERM during `backup --type full`, `backup verify` and `backup
# restore --force` against a real PostgreSQL 15.  pg_dump and pg_restore are
# slowed deterministically (a wrapper trickles their stream at ~640 KiB/s),
# so the signal always lands mid-stream.  Each run exits 143, journals
# "interrupted", records no success, frees its lock, and leaves no temporary
# object or database behind; the database a restore was replacing keeps its
# rows.  The next run drops temporary databases that dead runs of this host
# left and carry opsctl's mark, reports old copies a restore left, and never
# touches a database without the mark.
. "$(dirname "$0")/../lib/common.sh"
. "$ROOT/tests/lib/pg.sh"
pg_start || bail_out "PostgreSQL starts"
DB=t250a
PGOPTIONS='-c client_min_messages=warning' psql_q "drop database if exists $DB" >/dev/null
psql_q "create database $DB" >/dev/null || bail_out "database $DB"
# About 7 MB of dump: ten seconds at the wrapper's pace.
psql_q -d "$DB" "create table big (id int primary key, body text);
	insert into big select g, repeat(md5(g::text), 40) from generate_series(1, 5000) g" >/dev/null
at_exit "PGOPTIONS='-c client_min_messages=warning' psql_q \"select pg_terminate_backend(pid) from pg_stat_activity where datname like 'opsctl\\_%' or datname like 't250%'\"; for d in \$(psql_q \"select datname from pg_database where datname like 'opsctl\\_%' or datname like 't250%'\"); do psql_q \"drop database if exists \\\"\$d\\\"\"; done"

STORE="$T/store"
cat >"$T/opsctl.conf" <<EOF
[general]
environment = dev
[backup]
dir = $STORE
databases = $DB
chunk_size = 1048576
EOF
export OPSCTL_CONFIG="$T/opsctl.conf"
PROM="$OPSCTL_STATE_DIR/opsctl.prom"
HOST=$(uname -n)

# ---- the slow tools ----
mkdir -p "$T/slowbin"
for tool in pg_dump pg_restore; do
	real=$(command -v "$tool") || bail_out "$tool is installed"
	cat >"$T/slowbin/$tool" <<EOF
#!/usr/bin/python3
# $tool, slowed: the stream between opsctl and the real tool trickles, so a
# test can interrupt it mid-way.  Ends on SIGTERM like the real one.
import os, subprocess, sys, time
open("$T/started.$tool", "w").close()
if "$tool" == "pg_dump":
    p = subprocess.Popen(["$real"] + sys.argv[1:], stdout=subprocess.PIPE)
    src, dst = p.stdout.fileno(), 1
else:
    p = subprocess.Popen(["$real"] + sys.argv[1:], stdin=subprocess.PIPE)
    src, dst = 0, p.stdin.fileno()
while True:
    b = os.read(src, 65536)
    if not b:
        break
    while b:
        b = b[os.write(dst, b):]
    time.sleep(0.1)
os.close(dst)
sys.exit(p.wait())
EOF
	chmod +x "$T/slowbin/$tool"
done

# victim CMD...: CMD in the background with the slow tools; its pid in
# $VICTIM, and once it ends "exit N" or "signal N" in $T/victim.rc.
victim() {
	rm -f "$T"/started.* "$T/victim.rc" "$T/victim.pid"
	OPSCTL_PG_BINDIR="$T/slowbin" python3 -c '
import subprocess, sys
pre = sys.argv[1]
p = subprocess.Popen(sys.argv[2:], stdin=subprocess.DEVNULL,
                     stdout=open(pre + ".out", "w"), stderr=open(pre + ".err", "w"))
open(pre + ".pid", "w").write(str(p.pid))
rc = p.wait()
open(pre + ".rc", "w").write("exit %d" % rc if rc >= 0 else "signal %d" % -rc)
' "$T/victim" "$@" &
	VICTIM_WAIT=$!
	wait_for 5 test -s "$T/victim.pid"
	VICTIM=$(cat "$T/victim.pid")
}
# interrupt TOOL DESC [DBNAME MARK]: once TOOL has streamed for a second,
# SIGTERM the victim (still running: checked; DBNAME there with MARK as
# its comment) and wait for it to end.
interrupt() {
	local tool=$1 desc=$2 dbname=${3:-} mark=${4:-} got
	if wait_for 30 test -e "$T/started.$tool"; then
		sleep 1
		if [ -e "$T/victim.rc" ]; then
			not_ok "$desc is still running after a second of $tool"
			diag "$(cat "$T/victim.rc"; cat "$T/victim.err")"
		else
			ok "$desc is in progress ($tool streaming)"
		fi
		if [ -n "$dbname" ]; then
			got=$(psql_q "select shobj_description(oid, 'pg_database') from pg_database where datname = '$dbname'")
			if [ "$got" = "$mark" ]; then ok "$desc writes into $dbname, marked '$mark'"; else
				not_ok "$desc writes into $dbname, marked '$mark' (comment '$got')"
			fi
		fi
	else
		not_ok "$desc starts $tool"
		diag "$(cat "$T/victim.err" 2>/dev/null)"
	fi
	kill -TERM "$VICTIM" 2>/dev/null
	if wait_for 30 test -s "$T/victim.rc"; then :; else
		not_ok "$desc ends within 30 s of SIGTERM"
		kill -KILL "$VICTIM" 2>/dev/null
		wait_for 5 test -s "$T/victim.rc"
	fi
	wait "$VICTIM_WAIT"
	RC_LINE=$(cat "$T/victim.rc" 2>/dev/null)
	if [ "$RC_LINE" = "exit 143" ]; then ok "$desc: SIGTERM exits 143"; else
		not_ok "$desc: SIGTERM exits 143 (got '$RC_LINE')"
		diag "$(cat "$T/victim.err")"
	fi
	if [ "$(wc -l <"$T/victim.err")" -eq 1 ] && grep -q '^opsctl: error: .*interrupted by SIGTERM' "$T/victim.err"; then
		ok "$desc: one error line naming the signal"
	else
		not_ok "$desc: one error line naming the signal"
		sed 's/^/#   /' "$T/victim.err"
	fi
}
# Every last-success series of the textfile, as "NAME{LABELS} SECONDS" with
# the value rounded to the millisecond (a rewrite may print it shorter).
successes() {
	python3 -c '
import re, sys
for line in sorted(open(sys.argv[1])):
    m = re.match(r"^(\w*last_success_timestamp_seconds\{[^}]*\}) (\S+)$", line.strip())
    if m:
        print(m.group(1), "%.3f" % float(m.group(2)))
' "$PROM" 2>/dev/null
}
# expect_no_success BEFORE DESC: no last-success series is new or advanced
# (one may go: the textfile keeps a failed run's figures out).
expect_no_success() {
	local before=$1 new
	new=$(comm -13 <(echo "$before") <(successes))
	if [ -n "$before" ] && [ -z "$new" ] && [[ "$(successes)" == *'opsctl_last_success_timestamp_seconds{task="backup'* ]]; then
		ok "$2: no success recorded"
	else
		not_ok "$2: no success recorded"
		diag "before: $1"
		diag "after: $(successes)"
	fi
}
temp_dbs() { psql_q "select string_agg(datname, ' ' order by datname) from pg_database where datname like 'opsctl\\_%' or datname = 'verify_restore'"; }
expect_no_temp_db() {
	local left
	left=$(temp_dbs)
	if [ -z "$left" ]; then ok "$1: no temporary database left"; else not_ok "$1: no temporary database left ($left)"; fi
}
temp_objects() { find "$STORE" -name '*.tmp*' 2>/dev/null; }
rows() { psql_q -d "$DB" "select count(*) from big"; }

run "$OPSCTL" --output json backup --type full
expect_rc 0 "a first full backup"
GOOD=$(json_get 'd["id"]')
ok_count() { "$OPSCTL" --output json backup list | python3 -c 'import json,sys; print(sum(1 for b in json.load(sys.stdin)["backups"] if b["status"] in ("complete", "verified")))'; }

# ---- SIGTERM during backup --type full ----
n_good=$(ok_count)
n_ids=$(ls "$STORE" | wc -l)
before=$(successes)
[ -n "$before" ] || not_ok "the first backup recorded its success in the textfile"
journal_mark
victim "$OPSCTL" backup --type full
interrupt pg_dump "backup --type full"
if [ "$(ok_count)" = "$n_good" ]; then ok "backup: backup list shows no new good backup"; else not_ok "backup: backup list shows no new good backup"; fi
if [ "$(ls "$STORE" | wc -l)" = "$n_ids" ] && [ -z "$(temp_objects)" ]; then ok "backup: the store holds no partial or temporary object"; else
	not_ok "backup: the store holds no partial or temporary object"
	find "$STORE" | sed 's/^/#   /'
fi
expect_journal_added 1 "backup: one journal line"
expect_journal_last 'j["status"] == "interrupted"' "backup: the journal says interrupted"
expect_no_success "$before" "backup"
if [ -z "$(find "$OPSCTL_STATE_DIR/tmp" -type f 2>/dev/null)" ]; then ok "backup: no temporary file in the state directory"; else not_ok "backup: no temporary file in the state directory"; fi
run "$OPSCTL" backup --type full
expect_rc 0 "backup: the lock is free, the next backup runs at once and succeeds"

# ---- SIGTERM during backup verify ----
run "$OPSCTL" --output json backup list
status_of() { json_get "[b for b in d['backups'] if b['id'] == '$1'][0]['status']"; }
LATEST=$(json_get '[b for b in d["backups"] if b["status"] in ("complete", "verified")][-1]["id"]')
st_before=$(status_of "$LATEST")
before=$(successes)
journal_mark
victim "$OPSCTL" backup verify
interrupt pg_restore "backup verify" verify_restore \
	"opsctl backup verify: temporary restore (host $HOST, pid $VICTIM)"
expect_no_temp_db "verify"
expect_journal_added 1 "verify: one journal line"
expect_journal_last 'j["status"] == "interrupted"' "verify: the journal says interrupted"
expect_no_success "$before" "verify"
run "$OPSCTL" --output json backup list
if [ "$(status_of "$LATEST")" = "$st_before" ]; then ok "verify: an interrupted verify records no verdict"; else not_ok "verify: an interrupted verify records no verdict ($(status_of "$LATEST"))"; fi
if [ -z "$(find "$OPSCTL_STATE_DIR/tmp" -type f 2>/dev/null)" ]; then ok "verify: no temporary file in the state directory"; else not_ok "verify: no temporary file in the state directory"; fi
run "$OPSCTL" backup verify
expect_rc 0 "verify: the lock is free, the next verify runs at once and succeeds"

# ---- SIGTERM during backup restore --force ----
psql_q -d "$DB" "insert into big values (100001, 'written after the backup')" >/dev/null
psql_q "comment on database $DB is 'the chatbot database'" >/dev/null
rows_before=$(rows)
comment_of() { psql_q "select shobj_description(oid, 'pg_database') from pg_database where datname = '$1'"; }
before=$(successes)
journal_mark
victim "$OPSCTL" backup restore "$GOOD" --force
interrupt pg_restore "backup restore" "opsctl_restore_$VICTIM" \
	"opsctl backup restore: temporary copy (host $HOST, pid $VICTIM)"
if [ "$(rows)" = "$rows_before" ]; then ok "restore: the database restored over still has its rows"; else not_ok "restore: the database restored over still has its rows ($(rows), expected $rows_before)"; fi
expect_no_temp_db "restore"
expect_journal_added 1 "restore: one journal line"
expect_journal_last 'j["status"] == "interrupted"' "restore: the journal says interrupted"
expect_no_success "$before" "restore"
run "$OPSCTL" backup restore "$GOOD" --force
expect_rc 0 "restore: the lock is free, the next restore runs at once and succeeds"
if [ "$(rows)" = "$((rows_before - 1))" ]; then ok "restore: it brings back the backup's rows"; else not_ok "restore: it brings back the backup's rows ($(rows))"; fi
# The copy was marked while it was a copy; the database it became must not
# be (a later run would take it for a leftover): it has the old comment.
if [ "$(comment_of "$DB")" = "the chatbot database" ]; then ok "restore: the restored database keeps the old one's comment, not the mark"; else
	not_ok "restore: the restored database keeps the old one's comment, not the mark ($(comment_of "$DB"))"
fi
expect_no_temp_db "restore after the rerun"

# ---- what dead runs left: the mark decides ----
free_pid() { local p=$1; while kill -0 "$p" 2>/dev/null; do p=$((p - 1)); done; echo "$p"; }
P1=$(free_pid 99999)
P2=$(free_pid $((P1 - 1)))
P3=$(free_pid $((P2 - 1)))
# A live process that is an opsctl: its database is in use, not left.
mkdir -p "$T/alive" && cp "$(command -v sleep)" "$T/alive/opsctl"
bg "$T/alive/opsctl" 120
LIVE=$BG_PID
plant() {	# plant NAME COMMENT|""
	PGOPTIONS='-c client_min_messages=warning' psql_q "drop database if exists \"$1\"" >/dev/null
	psql_q "create database \"$1\"" >/dev/null
	[ -z "$2" ] || psql_q "comment on database \"$1\" is '$2'" >/dev/null
}
plant "opsctl_restore_$P1" "opsctl backup restore: temporary copy (host $HOST, pid $P1)"
plant "opsctl_restore_$P2" ""
plant t250_stale_verify "opsctl backup verify: temporary restore (host $HOST, pid $P2)"
plant t250_kept_verify "opsctl backup verify: temporary restore"
plant t250_other_host "opsctl backup restore: temporary copy (host not-$HOST, pid $P1)"
plant t250_live "opsctl backup restore: temporary copy (host $HOST, pid $LIVE)"
plant "opsctl_old_$P3" "opsctl backup restore: old copy (host $HOST, pid $P3) of database $DB"
run "$OPSCTL" --output json backup verify
expect_rc 0 "the next verify runs"
present() { [ "$(psql_q "select count(*) from pg_database where datname = '$1'")" = 1 ]; }
if ! present "opsctl_restore_$P1"; then ok "a marked opsctl_restore_$P1 of a dead pid is dropped"; else not_ok "a marked opsctl_restore_$P1 of a dead pid is dropped"; fi
if ! present t250_stale_verify; then ok "a verify temp marked with a dead pid is dropped"; else not_ok "a verify temp marked with a dead pid is dropped"; fi
if present "opsctl_restore_$P2"; then ok "opsctl_restore_$P2 without the mark is left alone"; else not_ok "opsctl_restore_$P2 without the mark is left alone"; fi
if present t250_kept_verify; then ok "a copy kept by --keep-temp (no pid) is left alone"; else not_ok "a copy kept by --keep-temp is left alone"; fi
if present t250_other_host; then ok "a mark of another host is left alone"; else not_ok "a mark of another host is left alone"; fi
if present t250_live; then ok "a mark of a running opsctl is left alone"; else not_ok "a mark of a running opsctl is left alone"; fi
if present "opsctl_old_$P3"; then ok "an old copy a restore left is never dropped"; else not_ok "an old copy a restore left is never dropped"; fi
if present "$DB" && [ "$(rows)" = "$((rows_before - 1))" ]; then ok "the restored database is left alone"; else not_ok "the restored database is left alone"; fi
expect_json_true "sorted(d['removed_leftovers']) == sorted(['opsctl_restore_$P1', 't250_stale_verify'])" "the report names exactly what was dropped"
expect_json_true "d['old_databases_kept'][0]['database'] == 'opsctl_old_$P3' and 'RENAME TO \"$DB\"' in d['old_databases_kept'][0]['put_back']" "the old copy is reported with the command that puts it back"
expect_err_contains "opsctl_old_$P3" "and a warning names it on stderr"
bg_kill "$LIVE"
for d in "opsctl_restore_$P2" t250_kept_verify t250_other_host t250_live "opsctl_old_$P3"; do
	PGOPTIONS='-c client_min_messages=warning' psql_q "drop database if exists \"$d\"" >/dev/null
done

done_testing
