#!/usr/bin/env bash
# t265: restore reads the archive once (issue 18).  Digests are checked as the
# dump streams into pg_restore (or into the spool pg_restore -j reads), and
# nothing is put in place before the last digest has matched: damage at the
# start, middle or end of a member, a truncated archive and a manifest whose
# digest is wrong, each sealed so that only the member digest can find it,
# leave every live database as it was, no copy and no review directory, with
# streaming and with the spool (where pg_restore never even starts).  A good
# restore and a verify record their time per GB (journal, textfile), and the
# report shows the expected restore time.
. "$(dirname "$0")/../lib/common.sh"
. "$ROOT/tests/lib/pg.sh"
MF="$ROOT/tests/lib/manifest.py"
pg_start || bail_out "PostgreSQL starts"
pg_make_sample_db t265a || bail_out "sample database t265a"
pg_make_sample_db t265b || bail_out "sample database t265b"
at_exit 'PGOPTIONS="-c client_min_messages=warning" psql_q "drop database if exists t265a" ; psql_q "drop database if exists t265b"; psql_q "drop database if exists verify_restore"'

STORE="$T/store"
mkdir -p "$T/etc" "$T/bin"
printf 'SECRET_KEY=abc\n' >"$T/etc/.env"
cat >"$T/opsctl.conf" <<EOF
[general]
environment = dev
[backup]
dir = $STORE
databases = t265a,t265b
include_files = $T/etc/.env
chunk_size = 1048576
compression = zstd
EOF
export OPSCTL_CONFIG="$T/opsctl.conf"
# A pg_restore that notes each start, then is the real one.
REAL=$(command -v pg_restore)
printf '#!/bin/sh\necho "$@" >>"%s"\nexec "%s" "$@"\n' "$T/pgr.log" "$REAL" >"$T/bin/pg_restore"
chmod +x "$T/bin/pg_restore"
export OPSCTL_PG_BINDIR="$T/bin"
# pg_dump and pg_basebackup from the same place as the real pg_restore.
for t in pg_dump pg_basebackup; do ln -sf "$(dirname "$REAL")/$t" "$T/bin/$t"; done

counts() { psql_q -d "$1" "select (select count(*) from documents) || '/' || (select count(*) from document_chunks) || '/' || (select count(*) from queries)"; }
psql_q -d t265a "insert into documents (title, content) select 'bulk ' || g, repeat(md5(g::text), 40) from generate_series(1, 3000) g" >/dev/null

run "$OPSCTL" --output json backup --type full
expect_rc 0 "a full backup of two databases"
ID=$(json_get 'd["id"]')
OBJ=$(ls "$STORE/$ID"/backup.tar*)
cp -a "$STORE/$ID" "$T/pristine"
pristine() { rm -rf "${STORE:?}/$ID" && cp -a "$T/pristine" "$STORE/$ID"; }

# After the backup: a row in each database that a restore would remove.
psql_q -d t265a "insert into queries (query_text) values ('after the backup')" >/dev/null
psql_q -d t265b "insert into queries (query_text) values ('after the backup')" >/dev/null
live_a=$(counts t265a)
live_b=$(counts t265b)
untouched() {	# untouched DESC: both databases as they were, no copy, no review dir
	local copies
	copies=$(psql_q "select string_agg(datname, ',') from pg_database where datname like 'opsctl\_%'")
	if [ "$(counts t265a)" = "$live_a" ] && [ "$(counts t265b)" = "$live_b" ] && [ -z "$copies" ] &&
		[ ! -e "$OPSCTL_STATE_DIR/restore/$ID" ] && [ -z "$(ls -A "$OPSCTL_STATE_DIR/restore" 2>/dev/null)" ] &&
		[ -z "$(find "$OPSCTL_STATE_DIR/tmp" -type f 2>/dev/null)" ]; then
		ok "$1: nothing reached a live database, no copy, no file left"
	else
		not_ok "$1: nothing reached a live database, no copy, no file left"
		diag "a: $(counts t265a) (was $live_a), b: $(counts t265b) (was $live_b), copies: $copies"
		find "$OPSCTL_STATE_DIR/restore" "$OPSCTL_STATE_DIR/tmp" 2>/dev/null | sed 's/^/#   /'
	fi
}

# rework EXPR: the archive rewritten by EXPR (python over `members`, a list of
# [TarInfo, bytes]), recompressed, and the manifest's object digest and size
# and its member digests sealed again, so that only what EXPR meant to break
# is broken.  Variables: members, manifest (dict), fix_members (True: member
# digests follow the new bytes), truncate_in (a member the tar ends inside).
rework() {
	python3 - "$STORE/$ID" "$OBJ" "$1" <<'PY'
import hashlib, io, json, subprocess, sys, tarfile
d, obj, expr = sys.argv[1], sys.argv[2], sys.argv[3]
raw = subprocess.run(["zstd", "-dc", obj], check=True, capture_output=True).stdout
tin = tarfile.open(fileobj=io.BytesIO(raw))
members = [[ti, tin.extractfile(ti).read() if ti.isfile() else b""] for ti in tin.getmembers()]
manifest = json.load(open(d + "/manifest.json"))
fix_members = False
truncate_in = None
def flip(name, where):
    for m in members:
        if m[0].name == name:
            b = bytearray(m[1])
            off = {"start": 0, "middle": len(b) // 2, "end": len(b) - 1}[where]
            b[off] ^= 0x01
            m[1] = bytes(b)
            return
    raise SystemExit("no member " + name)
exec(expr)
out = io.BytesIO()
tout = tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT)
for ti, data in members:
    ti.size = len(data)
    tout.addfile(ti, io.BytesIO(data) if ti.isfile() else None)
tout.close()
tarbytes = out.getvalue()
if truncate_in is not None:	# cut in the middle of that member's data
    ti = tarfile.open(fileobj=io.BytesIO(tarbytes)).getmember(truncate_in)
    tarbytes = tarbytes[:ti.offset_data + ti.size // 2]
z = subprocess.run(["zstd", "-q", "-c"], input=tarbytes, check=True, capture_output=True).stdout
open(obj, "wb").write(z)
manifest["members"][0]["sha256"] = hashlib.sha256(z).hexdigest()
manifest["members"][0]["size"] = len(z)
if fix_members:
    for f in manifest["files"]:
        for ti, data in members:
            if ti.name == f["path"]:
                f["sha256"] = hashlib.sha256(data).hexdigest()
json.dump(manifest, open(d + "/manifest.json", "w"), indent="\t")
PY
	python3 "$MF" seal "$STORE/$ID/manifest.json"
}
edit_manifest() {	# edit_manifest EXPR: EXPR over the manifest m, then sealed again
	python3 -c 'import json, sys
m = json.load(open(sys.argv[1]))
exec(sys.argv[2])
json.dump(m, open(sys.argv[1], "w"), indent="\t")' "$STORE/$ID/manifest.json" "$1"
	python3 "$MF" seal "$STORE/$ID/manifest.json"
}
FIRST=$(python3 -c 'import json,sys; print([f["path"] for f in json.load(open(sys.argv[1]))["files"] if f["path"].startswith("t265a.dump/")][0])' "$STORE/$ID/manifest.json")
LASTA=$(python3 -c 'import json,sys; print([f["path"] for f in json.load(open(sys.argv[1]))["files"] if f["path"].startswith("t265a.dump/")][-1])' "$STORE/$ID/manifest.json")
LASTB=$(python3 -c 'import json,sys; print([f["path"] for f in json.load(open(sys.argv[1]))["files"] if f["path"].startswith("t265b.dump/")][-1])' "$STORE/$ID/manifest.json")
[ "$FIRST" != "$LASTA" ] || not_ok "t265a's dump spans several members"

# The reworked archive itself is sound: re-sealed untouched, it restores.
rework 'pass'
run "$OPSCTL" backup verify -b "$ID" --checksums-only
expect_rc 0 "the test's rework of an untouched archive verifies (the tool used below is sound)"
pristine

for mode in stream spool; do
	if [ $mode = spool ]; then
		export OPSCTL_BACKUP_RESTORE_SPOOL_MIN=0 OPSCTL_BACKUP_RESTORE_JOBS=2
	else
		export OPSCTL_BACKUP_RESTORE_SPOOL_MIN=1T
	fi
	for where in start middle end; do
		for member in "$FIRST" "$LASTA" "$LASTB"; do
			rework "flip('$member', '$where')"
			: >"$T/pgr.log"
			run "$OPSCTL" backup restore "$ID" --force
			expect_fail 65 "$mode: a byte flipped at the $where of $member: restore exits 65" "nothing was restored" "$member" "SHA-256"
			untouched "$mode, $where of $member"
			if [ $mode = spool ]; then
				if [ ! -s "$T/pgr.log" ] || [ "$member" = "$LASTB" ]; then ok "$mode, $where of $member: pg_restore never read a damaged dump"; else not_ok "$mode, $where of $member: pg_restore never read a damaged dump"; sed 's/^/#   /' "$T/pgr.log"; fi
			fi
			pristine
		done
	done
	# Truncated inside t265b's last member: the archive ends early.
	rework "truncate_in = '$LASTB'"
	run "$OPSCTL" backup restore "$ID" --force
	expect_fail 65 "$mode: an archive truncated inside its last dump member: restore exits 65" "nothing was restored"
	untouched "$mode, truncated archive"
	pristine
	# A wrong manifest: t265a's first digest edited, the manifest sealed again.
	edit_manifest '[f.update(sha256="0" * 64) for f in m["files"] if f["path"] == "'"$FIRST"'"]'
	run "$OPSCTL" backup restore "$ID" --force
	expect_fail 65 "$mode: a manifest with a wrong member digest: restore exits 65" "nothing was restored" "$FIRST"
	untouched "$mode, wrong manifest digest"
	pristine
	# A manifest whose object digest is wrong: found only at the very end.
	edit_manifest 'm["members"][0].update(sha256="f" * 64)'
	run "$OPSCTL" backup restore "$ID" --force
	expect_fail 65 "$mode: a manifest with a wrong object digest: restore exits 65" "nothing was restored" "does not match its SHA-256"
	untouched "$mode, wrong object digest"
	pristine

	# ---- a good restore of both, and its restore time ----
	: >"$T/pgr.log"
	journal_mark
	run "$OPSCTL" --output json backup restore "$ID" --force
	expect_rc 0 "$mode: the good archive restores"
	expect_json_true '[x["status"] for x in d["databases"]] == ["ok", "ok"]' "$mode: both databases ok"
	expect_json_true 'd["restored_bytes"] > 1e6 and 0 < d["restore_seconds_per_gigabyte"] < 1e5' "$mode: the report gives restored_bytes and seconds per GB"
	if [ "$(counts t265a)" != "$live_a" ] && [ "$(counts t265b)" != "$live_b" ] &&
		[ "$(psql_q -d t265a "select count(*) from queries where query_text = 'after the backup'")" = 0 ]; then ok "$mode: both databases are the backup's"; else not_ok "$mode: both databases are the backup's"; fi
	if [ -f "$OPSCTL_STATE_DIR/restore/$ID/files/.env" ] && [ -z "$(ls -d "$OPSCTL_STATE_DIR"/restore/*.part-* 2>/dev/null)" ]; then ok "$mode: the files are in the review directory, no stage left"; else not_ok "$mode: the files are in the review directory, no stage left"; find "$OPSCTL_STATE_DIR/restore" | sed 's/^/#   /'; fi
	if [ $mode = spool ]; then
		if grep -q -- '--jobs=2' "$T/pgr.log" && [ "$(grep -c . "$T/pgr.log")" = 2 ]; then ok "spool: pg_restore -j 2 ran once per database, from a file"; else not_ok "spool: pg_restore -j 2 ran once per database"; sed 's/^/#   /' "$T/pgr.log"; fi
	else
		if ! grep -q -- '--jobs' "$T/pgr.log"; then ok "stream: one pg_restore per database, fed by the stream"; else not_ok "stream: one pg_restore per database"; fi
	fi
	expect_journal_last 'j["figures"]["opsctl_restore_seconds_per_gigabyte"] > 0 and j["figures"]["opsctl_restore_bytes"] > 1e6 and j["figures"]["opsctl_restore_seconds"] > 0' "$mode: the journal line carries the restore time per GB"
	expect_file_contains "$OPSCTL_STATE_DIR/opsctl.prom" 'opsctl_restore_seconds_per_gigabyte{task="backup_restore"' "$mode: the textfile has opsctl_restore_seconds_per_gigabyte for backup_restore"
	psql_q -d t265a "insert into queries (query_text) values ('after the backup')" >/dev/null
	psql_q -d t265b "insert into queries (query_text) values ('after the backup')" >/dev/null
	live_a=$(counts t265a)
	live_b=$(counts t265b)
	rm -rf "$OPSCTL_STATE_DIR/restore"

	# ---- verify is a test restore: its time too ----
	run "$OPSCTL" --output json backup verify -b "$ID"
	expect_rc 0 "$mode: verify passes"
	expect_json_true 'd["restored_bytes"] > 1e6 and d["restore_seconds_per_gigabyte"] > 0' "$mode: verify reports its restore time per GB"
	expect_file_contains "$OPSCTL_STATE_DIR/opsctl.prom" 'opsctl_restore_seconds_per_gigabyte{task="backup_verify"' "$mode: the textfile has it for backup_verify"
done
unset OPSCTL_BACKUP_RESTORE_SPOOL_MIN OPSCTL_BACKUP_RESTORE_JOBS

# ---- a spool with no room: streamed instead, never a failure ----
# (the state directory on a 1 MiB tmpfs is not possible unprivileged; a
# spool minimum of 0 with one job streams, and says nothing of a spool)
: >"$T/pgr.log"
OPSCTL_BACKUP_RESTORE_SPOOL_MIN=0 OPSCTL_BACKUP_RESTORE_JOBS=1 run "$OPSCTL" backup restore "$ID" -d t265b --force
expect_rc 0 "restore_jobs = 1: restores"
if ! grep -q -- '--jobs' "$T/pgr.log"; then ok "restore_jobs = 1 streams into one pg_restore"; else not_ok "restore_jobs = 1 streams into one pg_restore"; fi

# ---- bad values of the new keys ----
OPSCTL_BACKUP_RESTORE_JOBS=-1 run "$OPSCTL" backup restore "$ID" --force
expect_fail 78 "backup.restore_jobs = -1: exit 78" "backup.restore_jobs"
OPSCTL_BACKUP_RESTORE_SPOOL_MIN=lots run "$OPSCTL" backup restore "$ID" --force
expect_fail 78 "backup.restore_spool_min = lots: exit 78" "backup.restore_spool_min"

# ---- the report shows the expected restore time ----
run "$OPSCTL" --output json report
expect_rc 0 "report exits 0"
expect_json_true 'd["restore_time"]["seconds_per_gigabyte"] > 0 and d["restore_time"]["task"] in ("backup restore", "backup verify") and d["restore_time"]["expected_seconds"] > 0' "report: restore_time gives seconds per GB and the expected restore time"
run "$OPSCTL" report
expect_out_contains "restore time" "the text report has a restore time line"

done_testing
