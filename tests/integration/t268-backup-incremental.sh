#!/usr/bin/env bash
# t268: physical incremental and differential backups (issue 18), on a real
# PostgreSQL 15 cluster with archiving on: `backup -t incr` stores only what
# changed since the newest good physical backup and `-t diff` what changed
# since the newest full; restoring one assembles its chain (and removes what
# the last backup no longer lists) into a cluster that starts with the rows
# of the moment it was taken; a file rewritten under an old mtime fails the
# backup (65) and writes nothing; retention keeps what a kept backup needs;
# damage to any member of a chain fails restore (65) leaving the directory as
# it was, and verify names the bad member; with no usable prior a full is
# taken with a warning; GNU tar over the chain's base.tar gives the files.
. "$(dirname "$0")/../lib/common.sh"
. "$ROOT/tests/lib/pg.sh"

PGB=/usr/lib/postgresql/15/bin
[ -x "$PGB/initdb" ] || bail_out "PostgreSQL 15 binaries (scripts/setup)"
[ "$(id -u)" -eq 0 ] || bail_out "runs as root, to start servers as postgres"
as_pg() { runuser -u postgres -- "$@"; }
MF="$ROOT/tests/lib/manifest.py"

W="$T/incr"
pg_physical_conf "$W"
run_pg() { run as_pg env OPSCTL_CONFIG="$OPSCTL_CONFIG" OPSCTL_STATE_DIR="$STATE_PG" PGPORT="$PORT" "$@"; }
# The backups in the store (the WAL directory aside).
ids() { ls "$STORE" | grep -v '^wal$' | sort; }
# mf ID EXPR: a python expression over m, the backup's manifest, and
# f(path), its "pgdata" entry for path (None when absent); prints the value.
mf() {
	python3 - "$STORE/$1/manifest.json" "$2" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
files = {e["path"]: e for e in (m.get("pgdata") or {}).get("files", [])}
def f(p): return files.get(p)
v = eval(sys.argv[2])
print(v if isinstance(v, str) else json.dumps(v))
PY
}
# flip ID: one byte in the middle of backup ID's stored object flipped (a
# copy kept); unflip ID puts the object back.
flip() {
	local obj
	obj=$(ls "$STORE/$1"/backup.tar* | head -n 1)
	cp "$obj" "$W/$1.keep"
	python3 - "$obj" <<'PY'
import os, sys
with open(sys.argv[1], "r+b") as f:
    at = os.path.getsize(sys.argv[1]) // 2
    f.seek(at); b = f.read(1); f.seek(at); f.write(bytes([b[0] ^ 0xff]))
PY
}
unflip() { cp "$W/$1.keep" "$(ls "$STORE/$1"/backup.tar* | head -n 1)"; }
# edit_manifest ID PYTHON: run PYTHON on m, backup ID's manifest, and reseal
# it (and its copy) as opsctl would.
edit_manifest() {
	python3 - "$STORE/$1/manifest.json" "$2" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
exec(sys.argv[2])
json.dump(m, open(sys.argv[1], "w"))
PY
	python3 "$MF" seal "$STORE/$1/manifest.json"
}
# plant FILE TIME: 4096 new random bytes in FILE, the postgres user's, its
# mtime set to TIME (touch -d); prints their SHA-256.
plant() {
	as_pg sh -c "head -c 4096 /dev/urandom >'$1'" && as_pg touch -d "$2" "$1" && sha256sum "$1" | cut -d' ' -f1
}
# T268_SHOW=1: print what the last command said on stderr (warnings, errors).
show() { [ -z "${T268_SHOW:-}" ] || diag "stderr: $(cat "$ERR")"; }
expect_mf() {	# expect_mf ID EXPR DESC
	local id=$1 expr=$2 got
	shift 2
	got=$(mf "$id" "$expr" 2>&1)
	if [ "$got" = true ]; then ok "$@"; else not_ok "$* (false: $expr)"; diag "$(printf '%s' "$got" | tail -n 3)"; fi
}
# sql PORT QUERY: one value from the server on PORT.
sql() { psql -XAtq -h 127.0.0.1 -p "$1" -d postgres -c "$2" 2>/dev/null; }
# Row counts and a digest of every table the test made, to compare clusters.
STATE_SQL="select (select count(*) from t) || ':' || (select count(*) from t2) || ':' || (select count(*) from big) || ':' || (select md5(string_agg(md5(payload), '' order by id)) from big)"

# ---- a cluster with archiving, a few MB that mostly do not change ----
# wal_recycle off: a WAL segment is new and zero-filled, not an old one's bytes.
pg_archiving_start "$W" "autovacuum = off
wal_recycle = off"
psql -XAtq -v ON_ERROR_STOP=1 >/dev/null <<'SQL' || bail_out "the tables are made"
create table big (id int primary key, payload bytea);
insert into big select g, decode(md5(g::text) || md5((g * 7)::text) || md5((g * 13)::text) || md5((g * 31)::text), 'hex')
  from generate_series(1, 120000) g;
create table t (id int, batch text);
insert into t select g, 'base' from generate_series(1, 100) g;
create table t2 (id int);
create table gone (id int, filler text);
insert into gone select g, repeat('x', 200) from generate_series(1, 2000) g;
vacuum freeze;
checkpoint;
SQL
# The full starts in a later second than the files were written: a file
# written in the second a backup starts is not "unchanged" for the next one.
sleep 1.1
BIGFILE=$(sql "$PORT" "select pg_relation_filepath('big')")
TFILE=$(sql "$PORT" "select pg_relation_filepath('t')")
GONEFILE=$(sql "$PORT" "select pg_relation_filepath('gone')")
SYSID=$(sql "$PORT" "select system_identifier from pg_control_system()")
# A file of the operator's in PGDATA, with an old mtime (the mtime-lie probe).
PROBE="$W/data/opsctl_t268_probe"
PROBE_SHA=$(plant "$PROBE" '2020-01-01 00:00:00 UTC')

# ---- 1. full, then an incremental on top of it ----
run_pg "$OPSCTL" --output json backup -t full
expect_rc 0 "physical full backup"
FID=$(json_get 'd["id"]')
FULL_SIZE=$(json_get 'd["size_bytes"]')
case "$FID" in *Z-full | *Z-full-[0-9]*) ok "the full's id is of kind full ($FID)" ;; *) not_ok "the full's id is of kind full ($FID)" ;; esac
expect_mf "$FID" 'm["type"] == "full" and not m.get("prior") and m["pgdata"]["system_id"] == "'"$SYSID"'" and isinstance(m["pgdata"]["clock_start"], (int, float))' \
	"the full's manifest: type full, no prior, the cluster's system identifier, clock_start"
expect_mf "$FID" 'f("opsctl_t268_probe") is not None and f("opsctl_t268_probe")["sha256"] == "'"$PROBE_SHA"'" and f("opsctl_t268_probe")["size"] == 4096 and f("opsctl_t268_probe")["in"] == "'"$FID"'"' \
	"the full's manifest lists the probe file with its size, SHA-256 and in = the full"
expect_mf "$FID" 'f("'"$BIGFILE"'")["in"] == "'"$FID"'" and f("base")["type"] == "dir" and f("PG_VERSION")["size"] == 3' \
	"the full's manifest: files with their backup, directories as type dir"

psql -XAtq -c "insert into t select g, 'A' from generate_series(101, 1100) g" >/dev/null
run_pg "$OPSCTL" --output json backup -t incr
expect_rc 0 "incremental backup I1"
I1=$(json_get 'd["id"]')
cp "$OUT" "$W/i1.json"
case "$I1" in *Z-incr | *Z-incr-[0-9]*) ok "I1's id is of kind incr ($I1)" ;; *) not_ok "I1's id is of kind incr ($I1)" ;; esac
expect_json_true 'd["backup_type"] == "incr" and d["prior"] == "'"$FID"'"' "I1: backup_type incr, prior = the full"
# The file counts: top level as the spec lists them, or in the cluster's entry.
R='(lambda r: EXPR)(lambda k: d[k] if k in d else db(0)[k])'
expect_json_true "${R/EXPR/0 < r(\"files_stored\") < r(\"files_total\") and r(\"files_unchanged\") > 0 and r(\"files_stored\") + r(\"files_unchanged\") == r(\"files_total\")}" \
	"I1: some files stored, most unchanged, stored + unchanged = total"
expect_json_true "${R/EXPR/r(\"unchanged_bytes\") >= $(stat -c %s "$W/data/$BIGFILE")}" "I1: unchanged_bytes counts at least the big table's file"
expect_json_true 'd["size_bytes"] > 0 and d["size_bytes"] < 0.5 * '"${FULL_SIZE:-0}" "I1 stores less than half the full ($FULL_SIZE bytes)"
expect_mf "$I1" 'm["type"] == "incr" and m["prior"] == "'"$FID"'" and m["pgdata"]["system_id"] == "'"$SYSID"'"' "I1's manifest: type incr, prior the full"
expect_mf "$I1" 'f("'"$BIGFILE"'")["in"] == "'"$FID"'" and f("'"$TFILE"'")["in"] == "'"$I1"'"' \
	"I1's manifest: the unchanged big table is in the full, the changed table in I1"
expect_mf "$I1" 'all(e.get("type") in ("dir", "link") or (len(e["sha256"]) == 64 and e["in"] in ("'"$FID"'", "'"$I1"'")) for e in m["pgdata"]["files"])' \
	"I1's manifest: every file has a SHA-256 and lives in the full or in I1"
n_full=$(mf "$FID" 'len(m["pgdata"]["files"])')
n_i1=$(mf "$I1" 'len(m["pgdata"]["files"])')
[ -n "$n_full" ] && [ "$n_i1" -ge $((n_full * 9 / 10)) ] 2>/dev/null && ok "I1's manifest lists every entry, not only the stored ones ($n_i1 vs $n_full)" ||
	not_ok "I1's manifest lists every entry, not only the stored ones ($n_i1 vs $n_full)"

# ---- 2. more rows, a table dropped, one made and dropped; I2 and D ----
psql -XAtq -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
insert into t select g, 'B' from generate_series(1101, 1600) g;
insert into t2 select generate_series(1, 50);
drop table gone;
create table tmp_made as select generate_series(1, 1000) id;
drop table tmp_made;
SQL
run_pg "$OPSCTL" --output json backup -t incr
expect_rc 0 "incremental backup I2"
I2=$(json_get 'd["id"]')
expect_json_true 'd["backup_type"] == "incr" and d["prior"] == "'"$I1"'"' "I2: prior = I1, the newest physical backup"
SRC_STATE=$(sql "$PORT" "$STATE_SQL")
run_pg "$OPSCTL" --output json backup --type diff
expect_rc 0 "differential backup D (--type diff)"
D=$(json_get 'd["id"]')
case "$D" in *Z-diff | *Z-diff-[0-9]*) ok "D's id is of kind diff ($D)" ;; *) not_ok "D's id is of kind diff ($D)" ;; esac
expect_json_true 'd["backup_type"] == "diff" and d["prior"] == "'"$FID"'"' "D: prior = the full, not I2"
expect_mf "$D" 'm["type"] == "diff" and m["prior"] == "'"$FID"'" and f("'"$TFILE"'")["in"] == "'"$D"'" and f("'"$BIGFILE"'")["in"] == "'"$FID"'"' \
	"D's manifest: the table changed since the full is in D, the big one in the full"
expect_mf "$I2" 'f("'"$GONEFILE"'") is None and f("'"$TFILE"'")["in"] == "'"$I2"'"' "I2's manifest no longer lists the dropped table's file"

run_pg "$OPSCTL" --output json backup list
expect_json_true '[find(d["backups"], "id", x)["type"] for x in ("'"$FID"'", "'"$I1"'", "'"$I2"'", "'"$D"'")] == ["full", "incr", "incr", "diff"]' "list: each backup's type (JSON)"
run_pg "$OPSCTL" backup list
# Text: records of "key: value" lines, each starting with its id.
if python3 - "$OUT" "$FID=full" "$I1=incr" "$I2=incr" "$D=diff" <<'PY'; then
import re, sys
types, cur = {}, None
for line in open(sys.argv[1]):
    m = re.match(r"\s*(id|type):\s+(\S+)\s*$", line)
    if m and m.group(1) == "id":
        cur = m.group(2)
    elif m and cur:
        types.setdefault(cur, m.group(2))
sys.exit(0 if all(types.get(a.split("=")[0]) == a.split("=")[1] for a in sys.argv[2:]) else 1)
PY
	ok "list: each backup's type (text)"
else
	not_ok "list: each backup's type (text)"; diag_run
fi

# ---- 3. restore I2 and D, started: the rows of the moment, the chain ----
R1PORT=$(pg_free_port)
run_pg "$OPSCTL" --output json backup restore "$I2" --datadir "$W/r1" --start "$R1PORT"
expect_rc 0 "restore I2 --datadir --start"
at_exit "runuser -u postgres -- $PGB/pg_ctl -D $W/r1 -m immediate stop"
expect_json_true 'd["chain"] == ["'"$FID"'", "'"$I1"'", "'"$I2"'"] and d["files_checked"] > 0' "restore I2: chain [full, I1, I2], files checked"
NFILES_I2=$(mf "$I2" 'len([e for e in m["pgdata"]["files"] if e.get("type") not in ("dir", "link")])')
expect_json_true 'd["files_checked"] == '"${NFILES_I2:-0}" "restore I2: every file of I2's manifest checked ($NFILES_I2)"
[ "$RC" -ne 0 ] || wait_for 30 sh -c "[ \"\$(psql -XAtq -h 127.0.0.1 -p $R1PORT -c 'select pg_is_in_recovery()')\" = f ]" || true
got=$(sql "$R1PORT" "$STATE_SQL")
if [ -n "$got" ] && [ "$got" = "$SRC_STATE" ]; then ok "restored I2: row counts and the big table's digest are the source's"; else
	not_ok "restored I2: row counts and the big table's digest are the source's (got '$got', want '$SRC_STATE')"
	tail -n 10 "$W/r1/recovery.log" 2>/dev/null | sed 's/^/#   /'
fi
[ "$(sql "$R1PORT" "select to_regclass('gone') is null and to_regclass('tmp_made') is null")" = t ] &&
	ok "restored I2: the dropped tables are absent" || not_ok "restored I2: the dropped tables are absent"
[ ! -e "$W/r1/$GONEFILE" ] && ok "restore removed the dropped table's file the full held ($GONEFILE)" ||
	not_ok "restore removed the dropped table's file the full held ($GONEFILE)"
as_pg "$PGB/pg_ctl" -D "$W/r1" -m fast stop >/dev/null 2>&1

R2PORT=$(pg_free_port)
run_pg "$OPSCTL" --output json backup restore "$D" --datadir "$W/r2" --start "$R2PORT"
expect_rc 0 "restore D --datadir --start"
at_exit "runuser -u postgres -- $PGB/pg_ctl -D $W/r2 -m immediate stop"
expect_json_true 'd["chain"] == ["'"$FID"'", "'"$D"'"] and d["files_checked"] > 0' "restore D: chain [full, D]"
[ "$RC" -ne 0 ] || wait_for 30 sh -c "[ \"\$(psql -XAtq -h 127.0.0.1 -p $R2PORT -c 'select pg_is_in_recovery()')\" = f ]" || true
got=$(sql "$R2PORT" "$STATE_SQL")
[ -n "$got" ] && [ "$got" = "$SRC_STATE" ] && ok "restored D: the same rows" || not_ok "restored D: the same rows (got '$got', want '$SRC_STATE')"
as_pg "$PGB/pg_ctl" -D "$W/r2" -m fast stop >/dev/null 2>&1

# ---- 8. the stock-tool recipe: GNU tar over each member's base.tar, in order ----
mkdir "$W/g"
for id in "$FID" "$I1" "$I2"; do
	obj=$(ls "$STORE/$id"/backup.tar* 2>/dev/null | head -n 1)
	tar -xOf "$obj" --wildcards 'base.tar/*' 2>>"$T/gtar.err" | tar -xf - -C "$W/g" 2>>"$T/gtar.err"
done
if python3 - "$STORE/$I2/manifest.json" "$W/g" <<'PY'; then
import hashlib, json, os, sys
m = json.load(open(sys.argv[1]))
files = [e for e in m["pgdata"]["files"] if e.get("type") not in ("dir", "link")]
bad = [e["path"] for e in files
       if not os.path.isfile(os.path.join(sys.argv[2], e["path"]))
       or hashlib.sha256(open(os.path.join(sys.argv[2], e["path"]), "rb").read()).hexdigest() != e["sha256"]]
if bad or not files:
    print("# differ: %s" % bad[:5])
    sys.exit(1)
PY
	ok "GNU tar over the chain's base.tar in order gives every file of I2's manifest, byte for byte"
else
	not_ok "GNU tar over the chain's base.tar in order gives every file of I2's manifest, byte for byte"
	head -n 5 "$T/gtar.err" 2>/dev/null | sed 's/^/#   /'
fi

# ---- the dry run ----
before=$(ids)
run_pg "$OPSCTL" --output json backup -t incr --dry-run
expect_rc 0 "incr --dry-run exits 0"
expect_json_true 'd["backup_type"] == "incr" and d["prior"] == "'"$D"'"' "dry run: an incr, on the newest physical backup (D)"
[ "$(ids)" = "$before" ] && ok "the dry run writes no backup" || not_ok "the dry run writes no backup"

# ---- 4. a file rewritten under its old mtime ----
plant "$PROBE" '2020-01-01 00:00:00 UTC' >/dev/null
[ "$(sha256sum "$PROBE" | cut -d' ' -f1)" != "$PROBE_SHA" ] && [ "$(stat -c '%s %Y' "$PROBE")" = "4096 1577836800" ] &&
	ok "the probe holds other bytes, same size, same 2020 mtime" || not_ok "the probe holds other bytes, same size, same 2020 mtime"
before=$(ids)
run_pg "$OPSCTL" backup -t incr
expect_fail 65 "a file changed under its old mtime: exit 65 naming it" "opsctl_t268_probe"
show
[ "$(ids)" = "$before" ] && ok "and no new backup is in the store" || { not_ok "and no new backup is in the store"; diff <(echo "$before") <(ids) | sed 's/^/#   /'; }
run_pg "$OPSCTL" backup -t diff
expect_fail 65 "a diff over the same lie: exit 65 naming it" "opsctl_t268_probe"
show
[ "$(ids)" = "$before" ] && ok "and no new backup either" || not_ok "and no new backup either"
rm -f "$PROBE"
# A file whose mtime is not before the second its prior began (a day ahead
# here) is copied again by the next incr even when size and mtime match.
FUT=$(($(date +%s) + 86400))
PROBE2="$W/data/opsctl_t268_future"
plant "$PROBE2" "@$FUT" >/dev/null

run_pg "$OPSCTL" --output json backup -t incr
expect_rc 0 "incr I3 once the probe is gone"
I3=$(json_get 'd["id"]')
expect_json_true 'd["backup_type"] == "incr" and d["prior"] == "'"$D"'"' "I3: prior = D, the newest physical backup of any type"
expect_mf "$I3" 'f("opsctl_t268_probe") is None' "I3's manifest does not list the removed file"
PROBE2_SHA=$(plant "$PROBE2" "@$FUT")
run_pg "$OPSCTL" --output json backup -t incr
expect_rc 0 "incr I4: a file rewritten, same size, an mtime not before I3 began: exit 0, not a lie"
I4=$(json_get 'd["id"]')
expect_json_true 'd["prior"] == "'"$I3"'"' "I4: prior = I3"
expect_mf "$I4" 'f("opsctl_t268_future")["in"] == "'"$I4"'" and f("opsctl_t268_future")["sha256"] == "'"$PROBE2_SHA"'"' "I4 holds the file's new bytes"
rm -f "$PROBE2"

# ---- 6. damage: a byte of the full's object flipped ----
flip "$FID"
run_pg "$OPSCTL" backup restore "$I2" --datadir "$W/r3"
expect_fail 65 "restore of I2 with its full damaged: exit 65"
show
[ ! -e "$W/r3" ] && ok "the directory it created is removed" || not_ok "the directory it created is removed ($(ls "$W/r3" | head -3 | tr '\n' ' '))"
as_pg mkdir -m 700 "$W/r4"
run_pg "$OPSCTL" backup restore "$I2" --datadir "$W/r4"
expect_fail 65 "restore of I2 into an empty directory, full damaged: exit 65"
show
[ -d "$W/r4" ] && [ -z "$(ls -A "$W/r4")" ] && ok "the empty directory given is empty again" || not_ok "the empty directory given is empty again"
run_pg "$OPSCTL" backup verify -b "$I2"
if [ "$RC" -ne 0 ] && grep -qF "$FID" "$ERR"; then ok "verify I2 fails naming the damaged full ($FID) (exit $RC)"; else
	not_ok "verify I2 fails naming the damaged full ($FID) (exit $RC)"; diag_run; fi
unflip "$FID"
# A byte of I1's object, the middle member of the chain.
flip "$I1"
run_pg "$OPSCTL" backup restore "$I2" --datadir "$W/r3"
expect_fail 65 "restore of I2 with I1 damaged: exit 65"
show
[ ! -e "$W/r3" ] && ok "nothing left of it" || not_ok "nothing left of it"
run_pg "$OPSCTL" backup verify -b "$I2"
if [ "$RC" -ne 0 ] && grep -qF "$I1" "$ERR"; then ok "verify I2 fails naming the damaged I1 (exit $RC)"; else
	not_ok "verify I2 fails naming the damaged I1 ($I1) (exit $RC)"; diag_run; fi
unflip "$I1"
# A file whose bytes are not what the last manifest says (its SHA-256 edited
# there, the manifest resealed): the check after assembling fails it.
cp "$STORE/$I2/manifest.json" "$W/i2-manifest.keep"
cp "$STORE/$I2/manifest.json.copy" "$W/i2-manifest-copy.keep" 2>/dev/null
edit_manifest "$I2" 'for e in m["pgdata"]["files"]:
    if e["path"] == "'"$TFILE"'": e["sha256"] = "0" * 64'
run_pg "$OPSCTL" backup restore "$I2" --datadir "$W/r3"
expect_fail 65 "restore of I2 with a file not matching its manifest's SHA-256: exit 65 naming it" "$TFILE"
show
[ ! -e "$W/r3" ] && ok "nothing left of it" || not_ok "nothing left of it"
cp "$W/i2-manifest.keep" "$STORE/$I2/manifest.json"
[ -f "$W/i2-manifest-copy.keep" ] && cp "$W/i2-manifest-copy.keep" "$STORE/$I2/manifest.json.copy"
run_pg "$OPSCTL" backup verify -b "$I2"
expect_rc 0 "verify I2 with the full repaired: exit 0"
mv "$STORE/$I1" "$W/I1.aside"
run_pg "$OPSCTL" backup verify -b "$I2"
if [ "$RC" -ne 0 ] && grep -qF "$I1" "$ERR"; then ok "verify I2 with its prior missing fails naming it (exit $RC)"; else
	not_ok "verify I2 with its prior missing fails naming it ($I1, exit $RC)"; diag_run; fi
run_pg "$OPSCTL" backup restore "$I2" --datadir "$W/r3"
if [ "$RC" -ne 0 ] && grep -qF "$I1" "$ERR" && [ ! -e "$W/r3" ]; then ok "restore of I2 with its prior missing fails naming it, nothing left"; else
	not_ok "restore of I2 with its prior missing fails naming it, nothing left ($I1, exit $RC)"; diag_run; fi
mv "$W/I1.aside" "$STORE/$I1"
# With D missing, I3 and I4 cannot be restored: retention's newest good
# backup, like `latest`, is the newest whose chain is whole and good, I1
# (the verify above marked I2 failed).
mv "$STORE/$D" "$W/D.aside"
run_pg env OPSCTL_BACKUP_RETENTION_DAILY=0 OPSCTL_BACKUP_RETENTION_WEEKLY=0 OPSCTL_BACKUP_RETENTION_MONTHLY=0 "$OPSCTL" --output json backup prune --dry-run
expect_json_true "[k['id'] for k in d['kept'] if k['reason'] == 'newest good backup'] == ['$I1'] and '$I4' in [k['id'] for k in d['kept']]" "with D missing, retention's newest good backup is I1, not I4 whose chain is broken (I4 kept all the same)"
mv "$W/D.aside" "$STORE/$D"

# ---- 5. retention: what a kept backup needs is kept ----
NORET=(env OPSCTL_BACKUP_RETENTION_DAILY=0 OPSCTL_BACKUP_RETENTION_WEEKLY=0 OPSCTL_BACKUP_RETENTION_MONTHLY=0)
run_pg "$OPSCTL" backup pin "$I2"
expect_rc 0 "pin I2"
run_pg "${NORET[@]}" "$OPSCTL" --output json backup prune --dry-run
expect_rc 0 "prune --dry-run with no retention at all"
expect_json_true 'find(d["kept"], "id", "'"$I4"'")["reason"] == "newest good backup" and find(d["kept"], "id", "'"$I2"'")["reason"] == "pinned"' "the newest and the pinned one are kept"
expect_json_true 'find(d["kept"], "id", "'"$I3"'")["reason"] == "needed by '"$I4"'"' "I3 is kept: needed by I4"
expect_json_true 'find(d["kept"], "id", "'"$I1"'")["reason"] == "needed by '"$I2"'"' "I1 is kept: needed by the pinned I2"
expect_json_true 'find(d["kept"], "id", "'"$D"'")["reason"] == "needed by '"$I3"'"' "D is kept: needed by I3"
expect_json_true 'find(d["kept"], "id", "'"$FID"'")["reason"] in ("needed by '"$I1"'", "needed by '"$D"'", "needed by '"$I2"'", "needed by '"$I3"'", "needed by '"$I4"'")' "the full is kept, needed by a kept backup"
expect_json_true 'd["pruned"] == []' "nothing would be removed"
run_pg "$OPSCTL" backup pin "$I2" --unpin
expect_rc 0 "unpin I2"
run_pg "${NORET[@]}" "$OPSCTL" --output json backup prune
expect_rc 0 "prune with no retention at all"
expect_json_true 'sorted(x["id"] for x in d["pruned"]) == sorted(["'"$I1"'", "'"$I2"'"])' "I1 and I2 are removed, needed by nothing kept"
expect_json_true 'find(d["kept"], "id", "'"$FID"'")["reason"] == "needed by '"$D"'" and find(d["kept"], "id", "'"$D"'")["reason"] == "needed by '"$I3"'"' "the full (needed by D) and D (needed by I3) are kept"
expect_json_true 'find(d["kept"], "id", "'"$I3"'")["reason"] == "needed by '"$I4"'"' "I3 (needed by I4) is kept"
[ -d "$STORE/$FID" ] && [ -d "$STORE/$D" ] && [ -d "$STORE/$I3" ] && [ -d "$STORE/$I4" ] && [ ! -e "$STORE/$I1" ] && [ ! -e "$STORE/$I2" ] &&
	ok "the store holds the full, D, I3 and I4" || { not_ok "the store holds the full, D, I3 and I4"; ids | sed 's/^/#   /'; }
run_pg "$OPSCTL" --output json backup restore "$I4" --datadir "$W/r5"
expect_rc 0 "restore I4 after prune"
expect_json_true 'd["chain"] == ["'"$FID"'", "'"$D"'", "'"$I3"'", "'"$I4"'"] and d["files_checked"] > 0' "restore I4: chain [full, D, I3, I4]"
[ -f "$W/r5/$BIGFILE" ] && [ ! -e "$W/r5/opsctl_t268_probe" ] && ok "I4's restore has the big table and not the removed probe" ||
	not_ok "I4's restore has the big table and not the removed probe"
[ "$(sha256sum "$W/r5/opsctl_t268_future" 2>/dev/null | cut -d' ' -f1)" = "$PROBE2_SHA" ] &&
	ok "I4's restore has the rewritten file's new bytes" || not_ok "I4's restore has the rewritten file's new bytes"
run_pg "$OPSCTL" backup verify -b "$I4"
expect_rc 0 "verify I4: its chain is present and good"

# ---- 7. bad input, and no usable prior ----
run_pg env OPSCTL_BACKUP_METHOD=logical "$OPSCTL" backup -t incr
expect_error 64 "-t incr with backup.method = logical: exit 64" "backup.method"
run_pg env OPSCTL_BACKUP_METHOD=logical "$OPSCTL" backup -t diff
expect_error 64 "-t diff with backup.method = logical: exit 64" "backup.method"
run_pg "$OPSCTL" backup -t bogus
expect_error 64 "-t bogus: exit 64" "bogus"
[ "$(ids | grep -c .)" -eq 4 ] && ok "no refusal wrote a backup" || not_ok "no refusal wrote a backup"

S2="$W/store2"
as_pg mkdir "$S2"
as_pg sh -c "head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >'$W/key-a'; head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >'$W/key-b'; chmod 600 '$W/key-a' '$W/key-b'"
run_pg env OPSCTL_BACKUP_DIR="$S2" OPSCTL_BACKUP_KEY_FILE="$W/key-a" "$OPSCTL" --output json backup -t incr --dry-run
expect_json_true 'd["backup_type"] == "full" and "prior" not in d' "dry run on an empty store: it would take a full"
[ -z "$(ls "$S2")" ] && ok "and writes nothing" || not_ok "and writes nothing"
run_pg env OPSCTL_BACKUP_DIR="$S2" OPSCTL_BACKUP_KEY_FILE="$W/key-a" "$OPSCTL" --output json backup -t incr
expect_rc 0 "-t incr on an empty store: exit 0"
expect_json_true 'd["backup_type"] == "full" and d["id"].split("Z-")[1].split("-")[0] == "full" and "prior" not in d' "a full is taken instead"
if [ "$RC" -eq 0 ] && grep -qi "full" "$ERR"; then ok "with a warning on stderr saying so"; else not_ok "with a warning on stderr saying so"; diag_run; fi
show
run_pg env OPSCTL_BACKUP_DIR="$S2" OPSCTL_BACKUP_KEY_FILE="$W/key-b" "$OPSCTL" --output json backup -t incr
expect_rc 0 "-t incr under key B, the newest backup under key A: exit 0"
expect_json_true 'd["backup_type"] == "full" and d["id"].split("Z-")[1].split("-")[0] == "full" and "prior" not in d' "a full is taken: the prior is encrypted with another key"
if [ "$RC" -eq 0 ] && grep -q "another key" "$ERR"; then ok "with a warning on stderr naming the key"; else not_ok "with a warning on stderr naming the key"; diag_run; fi
show
BF=$(json_get 'd["id"]')
run_pg env OPSCTL_BACKUP_DIR="$S2" OPSCTL_BACKUP_KEY_FILE="$W/key-b" "$OPSCTL" --output json backup -t incr
expect_rc 0 "-t incr under key B again: exit 0"
expect_json_true 'd["backup_type"] == "incr" and d["prior"] == "'"$BF"'"' "an incr on the key-B full"
run_pg env OPSCTL_BACKUP_DIR="$S2" OPSCTL_BACKUP_KEY_FILE="$W/key-a" "$OPSCTL" --output json backup -t diff
expect_rc 0 "-t diff under key A, the newest full under key B: exit 0"
expect_json_true 'd["backup_type"] == "full"' "a full is taken: the newest full is under another key"
if [ "$RC" -eq 0 ] && grep -q "another key" "$ERR"; then ok "with a warning on stderr naming the key"; else not_ok "with a warning on stderr naming the key"; diag_run; fi
show

# A full and a diff in the same second (ids S-full, S-diff): the diff is
# still the newer one, the prior of the next incr.
S3="$W/store3"
as_pg mkdir "$S3"
for try in 1 2 3 4 5 6 7 8; do
	as_pg find "$S3" -mindepth 1 -delete
	# Start just after a second begins, so that both fit in it.
	sleep "0.$(printf '%03d' $((999 - 10#$(date +%N | cut -c1-3))))"
	run_pg env OPSCTL_BACKUP_DIR="$S3" "$OPSCTL" --output json backup -t full
	SF=$(json_get 'd["id"]')
	run_pg env OPSCTL_BACKUP_DIR="$S3" "$OPSCTL" --output json backup -t diff
	SD=$(json_get 'd["id"]')
	[ "${SF%%-*}" = "${SD%%-*}" ] && break
done
if [ "${SF%%-*}" = "${SD%%-*}" ] && [ "$RC" -eq 0 ]; then ok "a full and a diff in the same second ($SF, $SD)"; else not_ok "a full and a diff in the same second ($SF, $SD)"; diag_run; fi
run_pg env OPSCTL_BACKUP_DIR="$S3" "$OPSCTL" --output json backup -t incr --dry-run
expect_json_true 'd["backup_type"] == "incr" and d["prior"] == "'"$SD"'"' "the next incr builds on the diff, the newer of the two"
run_pg env OPSCTL_BACKUP_DIR="$S3" "$OPSCTL" --output json backup list
expect_json_true '[b["id"] for b in d["backups"]] == ["'"$SF"'", "'"$SD"'"]' "list: the full first, then the diff taken after it"

# The newest backup made by another cluster (its system identifier edited,
# the manifest resealed): not a prior for this one.
edit_manifest "$I4" 'm["pgdata"]["system_id"] = "1234567890123456789"'
run_pg "$OPSCTL" --output json backup -t incr
expect_rc 0 "-t incr when the newest backup is another cluster's: exit 0"
expect_json_true 'd["backup_type"] == "full" and d["id"].split("Z-")[1].split("-")[0] == "full" and "prior" not in d' "a full is taken instead"
if [ "$RC" -eq 0 ] && grep -qi "system identifier\|cluster" "$ERR"; then ok "the warning says it is another cluster's"; else not_ok "the warning says it is another cluster's"; diag_run; fi
show

done_testing
