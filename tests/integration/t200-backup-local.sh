#!/usr/bin/env bash
# t200: `opsctl backup` into the local store against a real PostgreSQL 15:
# a full backup restores with stock tar/zstd/pg_restore into a fresh database
# with identical row counts; verify passes, records its result, and exits 65
# after one byte is flipped; list, manifest, journal and metrics; restore
# replaces a database only after pg_restore succeeded; SQLite files.
. "$(dirname "$0")/../lib/common.sh"
. "$ROOT/tests/lib/pg.sh"
# The manifest edits below are sealed again on purpose (a new checksum, the
# copy rewritten): an edit alone is now refused as damage (t260).
MF="$ROOT/tests/lib/manifest.py"
pg_start || bail_out "PostgreSQL starts"
pg_make_sample_db t200a || bail_out "sample database t200a"
pg_make_sample_db t200b || bail_out "sample database t200b"
at_exit 'PGOPTIONS="-c client_min_messages=warning" psql_q "drop database if exists t200a" ; psql_q "drop database if exists t200b"; psql_q "drop database if exists t200_fresh"; psql_q "drop database if exists verify_restore"'

STORE="$T/store"
mkdir -p "$T/etc"
printf 'SECRET_KEY=abc\n' >"$T/etc/.env"
printf 'services: {}\n' >"$T/etc/docker-compose.yml"
cat >"$T/opsctl.conf" <<EOF
[general]
environment = dev
[backup]
dir = $STORE
databases = t200a,t200b
include_files = $T/etc/.env,$T/etc/docker-compose.yml
chunk_size = 1048576
EOF
export OPSCTL_CONFIG="$T/opsctl.conf"

counts() {	# counts DB: "table rows" lines, sorted
	psql_q -d "$1" "select 'documents', count(*) from documents union all select 'document_chunks', count(*) from document_chunks union all select 'queries', count(*) from queries order by 1"
}
# Enough rows that the dump spans several 1 MiB chunks.
psql_q -d t200a "insert into documents (title, content) select 'bulk ' || g, repeat(md5(g::text), 40) from generate_series(1, 3000) g" >/dev/null

# ---- a full backup ----
journal_mark
run "$OPSCTL" --output json backup --type full
expect_rc 0 "backup --type full exits 0"
expect_json "backup prints JSON"
ID=$(json_get 'd["id"]')
expect_json_true 'd["status"] == "ok" and d["method"] == "logical"' "status ok, logical method"
expect_json_true '[x["database"] for x in d["databases"]] == ["t200a", "t200b"]' "both configured databases were dumped"
expect_json_true 'all(x["size_bytes"] > 0 and x["duration_seconds"] >= 0 and "seconds" not in x for x in d["databases"])' "each database's size_bytes and duration_seconds"
expect_json_true 'd["size_bytes"] > 0 and d["compression"] == "zstd" and d["encrypted"] is False' "size, zstd, not encrypted"
expect_json_true 'd["archive_members"] >= 4' "the large dump spans several chunk members"
expect_journal_added 1 "one journal line"
OBJ="$STORE/$ID/backup.tar.zst"
if [ -f "$OBJ" ] && [ -f "$STORE/$ID/manifest.json" ]; then ok "archive and manifest are in the store"; else not_ok "archive and manifest are in the store"; ls -lR "$STORE" | sed 's/^/#   /'; fi
if [ "$(stat -c %a "$OBJ")" = 600 ]; then ok "archive is owner-only (0600)"; else not_ok "archive is owner-only (mode $(stat -c %a "$OBJ"))"; fi

OUT_SAVE=$OUT
OUT="$STORE/$ID/manifest.json"
expect_json_true 'd["format"] == 1 and d["type"] == "full" and d["status"] == "complete"' "manifest: format 1, full, complete"
expect_json_true 'd["server_version"].startswith("15") and d["tool_version"]' "manifest: server and tool versions"
expect_json_true 'len(d["members"]) == 1 and len(d["members"][0]["sha256"]) == 64' "manifest: one archive object with its SHA-256"
expect_json_true 'any(f["path"] == "files/.env" for f in d["files"]) and any(f["path"] == "files/docker-compose.yml" for f in d["files"])' "manifest: the configured files are members"
expect_json_true 'find(d["tables"], "table", "public.documents")["rows"] == 5000' "manifest: row count of documents recorded (5000)"
OUT=$OUT_SAVE
want=$(sha256sum "$OBJ" | cut -d' ' -f1)
if grep -q "$want" "$STORE/$ID/manifest.json"; then ok "manifest SHA-256 is the archive's (sha256sum agrees)"; else not_ok "manifest SHA-256 is the archive's"; fi

# ---- stock tools read it ----
if zstd -tq "$OBJ" 2>/dev/null; then ok "zstd -t accepts the archive"; else not_ok "zstd -t accepts the archive"; fi
if tar --zstd -tf "$OBJ" >"$T/members" 2>"$T/tar.err"; then ok "tar --zstd -t lists the archive"; else not_ok "tar --zstd -t lists the archive"; sed 's/^/#   /' "$T/tar.err"; fi
if grep -qx 't200a.dump/000001' "$T/members" && grep -qx 'files/.env' "$T/members"; then ok "members are NAME.dump/NNNNNN and files/..."; else not_ok "members are NAME.dump/NNNNNN and files/..."; sed 's/^/#   /' "$T/members"; fi
PGOPTIONS='-c client_min_messages=warning' psql_q "drop database if exists t200_fresh" >/dev/null
psql_q "create database t200_fresh" >/dev/null
if tar --zstd -xOf "$OBJ" --wildcards 't200a.dump/0*' | pg_restore --no-owner -d t200_fresh 2>"$T/pgr.err"; then ok "stock pg_restore restores the tar -xO stream"; else not_ok "stock pg_restore restores the tar -xO stream"; sed 's/^/#   /' "$T/pgr.err"; fi
if [ "$(counts t200a)" = "$(counts t200_fresh)" ]; then ok "restored row counts are identical"; else not_ok "restored row counts are identical"; diag "$(counts t200a) vs $(counts t200_fresh)"; fi

# ---- list ----
run "$OPSCTL" --output json backup list
expect_rc 0 "backup list exits 0"
expect_json_true "find(d['backups'], 'id', '$ID')['status'] == 'complete' and find(d['backups'], 'id', '$ID')['verified'] is False" "list shows the backup, complete, not verified (a boolean)"
expect_json_true "find(d['backups'], 'id', '$ID')['databases'] == ['t200a', 't200b']" "list names the backup's databases (a list, as everywhere)"
run "$OPSCTL" backup list
expect_rc 0 "backup list (text) exits 0"
expect_out_contains "$ID" "text list names the id"

# ---- verify ----
journal_mark
run "$OPSCTL" --output json backup verify
expect_rc 0 "backup verify (latest) exits 0"
expect_json_true "d['id'] == '$ID' and d['status'] == 'ok' and 'result' not in d" "verify checks the latest backup and passes"
expect_json_true 'all(x["status"] == "ok" and x["tables_mismatched"] == 0 and x["tables_checked"] >= 3 for x in d["databases"])' "every database restored with matching row counts"
expect_journal_added 1 "verify writes a journal line"
if [ "$(psql_q "select count(*) from pg_database where datname = 'verify_restore'")" = 0 ]; then ok "the temporary database is dropped"; else not_ok "the temporary database is dropped"; fi
run "$OPSCTL" --output json backup list
expect_json_true "find(d['backups'], 'id', '$ID')['verified'] is True and find(d['backups'], 'id', '$ID')['status'] == 'verified'" "the manifest records the verification"

run "$OPSCTL" --output json backup verify -b "$ID" -t t200_verify_tmp --keep-temp
expect_rc 0 "verify -b ID -t NAME --keep-temp exits 0"
if [ "$(psql_q "select count(*) from pg_database where datname = 't200_verify_tmp'")" = 1 ]; then ok "--keep-temp keeps the temporary database"; else not_ok "--keep-temp keeps the temporary database"; fi
run "$OPSCTL" backup verify -b "$ID" -t t200_verify_tmp
expect_rc 0 "a later verify replaces the copy an earlier one kept (it carries verify's mark)"
PGOPTIONS="-c client_min_messages=warning" psql_q "drop database if exists t200_verify_tmp" >/dev/null
# -t never names a database that matters: it is dropped afterwards.
before_a=$(counts t200a)
run "$OPSCTL" backup verify -b "$ID" -t t200a
expect_fail 64 "verify -t with a database the backup holds: exit 64, nothing dropped" "t200a is a database the backup holds"
PGOPTIONS="-c client_min_messages=warning" psql_q "drop database if exists t200_other" >/dev/null
psql_q "create database t200_other" >/dev/null
at_exit "psql_q 'drop database if exists t200_other'"
run "$OPSCTL" backup verify -b "$ID" -t t200_other
expect_fail 64 "verify -t with a database opsctl did not make: exit 64" "was not made by opsctl backup verify"
if [ "$(counts t200a)" = "$before_a" ] && [ "$(psql_q "select count(*) from pg_database where datname = 't200_other'")" = 1 ]; then
	ok "both databases are still there"
else
	not_ok "both databases are still there"
fi

run "$OPSCTL" backup verify -b 20200101T000000Z-full
expect_fail 1 "verify of an id that does not exist: exit 1, one line" "no backup '20200101T000000Z-full'"
run "$OPSCTL" backup verify -b '../etc'
expect_fail 64 "verify of a malformed id: exit 64" "not a backup id"

# ---- damage ----
cp -a "$STORE/$ID" "$T/pristine"
# A manifest is JSON anyone with write access could edit: a table name in it
# is a name, never SQL that verify runs.
python3 - "$STORE/$ID/manifest.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
for t in m["tables"]:
    if t["database"] == "t200a":
        t["table"] = "(SELECT pg_catalog.current_setting('port')) AS injected"
        break
json.dump(m, open(sys.argv[1], "w"))
PY
python3 "$MF" seal "$STORE/$ID/manifest.json"
pg_log_mark
run "$OPSCTL" backup verify -b "$ID"
expect_fail 1 "a manifest table name that is SQL: verify exits 1, the table is missing" "is missing from the restored copy"
python3 - "$STORE/$ID/manifest.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
m["databases"].append("ghost")
json.dump(m, open(sys.argv[1], "w"))
PY
python3 "$MF" seal "$STORE/$ID/manifest.json"
run "$OPSCTL" backup verify -b "$ID"
expect_fail 65 "a database the manifest names but the archive lacks: verify exits 65 naming it" "database 'ghost'" "has nothing in its archive"
if pg_log_since | grep -q "FROM (SELECT pg_catalog.current_setting"; then not_ok "the name from the manifest was never run as SQL"; else ok "the name from the manifest was never run as SQL"; fi
rm -rf "${STORE:?}/$ID" && cp -a "$T/pristine" "$STORE/$ID"
size=$(stat -c %s "$OBJ")
python3 - "$OBJ" "$((size / 2))" <<'PY'
import sys
p, off = sys.argv[1], int(sys.argv[2])
with open(p, "r+b") as f:
    f.seek(off); b = f.read(1); f.seek(off); f.write(bytes([b[0] ^ 0x01]))
PY
run "$OPSCTL" backup verify -b "$ID" --checksums-only
expect_fail 65 "one flipped byte: verify exits 65" "member"
if grep -q "t200\|files/" "$ERR"; then ok "the error names the damaged member"; else not_ok "the error names the damaged member"; diag_run; fi
run "$OPSCTL" --output json backup list
expect_json_true "find(d['backups'], 'id', '$ID')['status'] == 'verify-failed' and find(d['backups'], 'id', '$ID')['verified'] is False" "the failed verification is recorded"
rm -rf "${STORE:?}/$ID" && cp -a "$T/pristine" "$STORE/$ID"
# Damage near the end (t200b's part): restore checks the whole archive
# first, so t200a, which comes before it, is not replaced either.
psql_q -d t200a "insert into queries (query_text) values ('after the backup')" >/dev/null
now_a=$(counts t200a)
python3 - "$OBJ" "$((size - 2000))" <<'PY'
import sys
p, off = sys.argv[1], int(sys.argv[2])
with open(p, "r+b") as f:
    f.seek(off); b = f.read(1); f.seek(off); f.write(bytes([b[0] ^ 0x01]))
PY
run "$OPSCTL" backup restore "$ID" --force
expect_fail 65 "damage late in the archive: restore exits 65" "nothing was restored"
if [ "$(counts t200a)" = "$now_a" ] && [ "$(psql_q "select count(*) from pg_database where datname like 'opsctl\_%'")" = 0 ]; then
	ok "no database was replaced before the damage was found"
else
	not_ok "no database was replaced before the damage was found"; diag "$(counts t200a)"
fi
psql_q -d t200a "delete from queries where query_text = 'after the backup'" >/dev/null
rm -rf "${STORE:?}/$ID" && cp -a "$T/pristine" "$STORE/$ID"

head -c "$((size - 100))" "$T/pristine/backup.tar.zst" >"$OBJ"
run "$OPSCTL" backup verify -b "$ID" --checksums-only
expect_fail 65 "a truncated archive: verify exits 65"
rm -rf "${STORE:?}/$ID" && cp -a "$T/pristine" "$STORE/$ID"

rm "$STORE/$ID/manifest.json" "$STORE/$ID/manifest.json.copy"
run "$OPSCTL" backup verify -b "$ID"
expect_fail 65 "a missing manifest (and copy): exit 65" "no manifest"
rm -rf "${STORE:?}/$ID" && cp -a "$T/pristine" "$STORE/$ID"

# Hostile archives: a member that climbs out, an absolute name, a symlink
# pointing out of the target.  Each is refused before anything is written.
hostile() {	# hostile KIND: a backup 20990101T000000Z-full whose archive holds it
	rm -rf "${STORE:?}/20990101T000000Z-full"
	mkdir -p "$STORE/20990101T000000Z-full"
	python3 - "$STORE/20990101T000000Z-full" "$1" "$T" <<'PY'
import hashlib, io, json, subprocess, sys, tarfile
d, kind, tmp = sys.argv[1], sys.argv[2], sys.argv[3]
buf = io.BytesIO()
data = b"owned\n"
with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as t:
    if kind == "symlink":
        ti = tarfile.TarInfo("files/escape"); ti.type = tarfile.SYMTYPE; ti.linkname = "/etc/passwd"
        t.addfile(ti)
    else:
        ti = tarfile.TarInfo("../../x" if kind == "dotdot" else tmp + "/abs-x"); ti.size = len(data)
        t.addfile(ti, io.BytesIO(data))
z = subprocess.run(["zstd", "-q", "-c"], input=buf.getvalue(), stdout=subprocess.PIPE, check=True).stdout
open(d + "/backup.tar.zst", "wb").write(z)
m = {"format": 1, "id": "20990101T000000Z-full", "type": "full", "status": "complete",
     "databases": ["t200a"], "server_version": "15", "tool_version": "x", "start": 1, "stop": 2,
     "wal_start": None, "wal_stop": None, "method": "logical", "compression": "zstd",
     "members": [{"name": "backup.tar.zst", "size": len(z), "sha256": hashlib.sha256(z).hexdigest()}],
     "files": [{"member": "backup.tar.zst", "path": "t200a.dump/000001", "size": 6,
                "sha256": hashlib.sha256(data).hexdigest()}], "tables": []}
open(d + "/manifest.json", "w").write(json.dumps(m))
PY
python3 "$MF" seal "$STORE/20990101T000000Z-full/manifest.json"
}
hostile dotdot
run "$OPSCTL" backup restore 20990101T000000Z-full --force
expect_fail 65 "an archive member named ../../x: restore exits 65" "../../x"
hostile absolute
run "$OPSCTL" backup restore 20990101T000000Z-full --force
expect_fail 65 "an archive member with an absolute name: restore exits 65" "$T/abs-x"
hostile symlink
run "$OPSCTL" backup restore 20990101T000000Z-full --force
expect_fail 65 "a symlink member pointing outside: restore exits 65" "files/escape"
run "$OPSCTL" backup verify -b 20990101T000000Z-full --checksums-only
expect_fail 65 "verify refuses it too: exit 65" "not a regular file"
if [ ! -e "$T/x" ] && [ ! -e "$STORE/x" ] && [ ! -e "$OPSCTL_STATE_DIR/x" ] && [ ! -e "$T/abs-x" ] &&
	[ ! -e "$OPSCTL_STATE_DIR/restore/20990101T000000Z-full/files/escape" ]; then ok "nothing was written anywhere"; else not_ok "nothing was written anywhere"; fi
if [ "$(counts t200a)" = "$(counts t200_fresh)" ]; then ok "the database is untouched"; else not_ok "the database is untouched"; fi
rm -rf "${STORE:?}/20990101T000000Z-full"

# ---- restore ----
before=$(counts t200a)
psql_q -d t200a "delete from queries; delete from document_chunks" >/dev/null
{ cat "$OPSCTL_CONFIG"; printf '[window]\nprod = never\n'; } >"$T/never.conf"
OPSCTL_CONFIG="$T/never.conf" run "$OPSCTL" --env prod backup restore "$ID" -d t200a
expect_fail 1 "restore outside the prod window without --force: exit 1" "restore: outside the prod maintenance window"
run "$OPSCTL" --output json backup restore "$ID" -d t200a --force
expect_rc 0 "restore -d t200a --force exits 0"
if [ "$(counts t200a)" = "$before" ]; then ok "restore brings the rows back"; else not_ok "restore brings the rows back"; diag "$(counts t200a)"; fi
expect_json_true 'find(d["databases"], "database", "t200b")["status"] == "skipped"' "databases not chosen are skipped"
expect_json_true 'd["files_dir"].endswith("restore/'"$ID"'")' "files go to a review directory"
if [ -f "$OPSCTL_STATE_DIR/restore/$ID/files/.env" ]; then ok "the .env is there for review"; else not_ok "the .env is there for review"; fi
# "latest", as verify takes it: the newest good backup (a new one here:
# the earlier ones were damaged on purpose above).
run "$OPSCTL" --output json backup --type full
LATEST=$(json_get 'd["id"]')
run "$OPSCTL" --output json backup restore latest -d t200a --force
expect_rc 0 "backup restore latest: exit 0"
expect_json_true 'd["id"] == "'"$LATEST"'"' "restore latest restored the newest good backup ($LATEST)"
# A session on the database: without --force the swap is refused and
# nothing is lost; with --force the session is ended and the swap done.
psql_q -d t200a "delete from queries" >/dev/null
bg bash -c "(echo 'select 1;'; sleep 60) | PGAPPNAME=opsctl-test-holder psql -X -d t200a"
holder_idle() { [ -n "$(psql_q "select pid from pg_stat_activity where application_name = 'opsctl-test-holder' and state = 'idle'")" ]; }
wait_for 10 holder_idle || not_ok "a session holds t200a"
mid=$(counts t200a)
run "$OPSCTL" backup restore "$ID" -d t200a
expect_fail 1 "restore while a session uses the database, without --force: exit 1" "being accessed by other users"
leftover=$(psql_q "select count(*) from pg_database where datname like 'opsctl\_%'")
if [ "$(counts t200a)" = "$mid" ] && [ "$leftover" = 0 ]; then ok "the database is as it was, and no temporary or old copy is left"; else not_ok "nothing changed and nothing left behind"; diag "leftover $leftover; $(counts t200a)"; fi
run "$OPSCTL" backup restore "$ID" -d t200a --force
expect_rc 0 "with --force the session is ended and the copy swapped in"
leftover=$(psql_q "select count(*) from pg_database where datname like 'opsctl\_%'")
if [ "$(counts t200a)" = "$before" ] && [ "$leftover" = 0 ]; then ok "the rows are back and the old database is dropped"; else not_ok "the rows are back and the old database dropped"; diag "leftover $leftover"; fi
run "$OPSCTL" backup restore "$ID" -d nosuchdb --force
expect_fail 64 "restore of a database the backup lacks: exit 64" "nosuchdb"

# A restore that fails leaves the database as it was.
mkdir -p "$T/badbin"
printf '#!/bin/sh\ncat >/dev/null\necho "pg_restore: error: simulated failure" >&2\nexit 1\n' >"$T/badbin/pg_restore"
chmod +x "$T/badbin/pg_restore"
psql_q -d t200a "insert into queries (query_text) values ('marker')" >/dev/null
marked=$(counts t200a)
OPSCTL_PG_BINDIR="$T/badbin" run "$OPSCTL" backup restore "$ID" -d t200a --force
expect_fail 1 "a failing pg_restore: exit 1 with its message" "simulated failure"
if [ "$(counts t200a)" = "$marked" ]; then ok "the old database survives a failed restore"; else not_ok "the old database survives a failed restore"; fi

# ---- faults while backing up ----
printf '#!/bin/sh\necho "pg_dump: error: simulated dump failure" >&2\nexit 1\n' >"$T/badbin/pg_dump"
chmod +x "$T/badbin/pg_dump"
n_before=$(ls "$STORE" | wc -l)
OPSCTL_PG_BINDIR="$T/badbin" run "$OPSCTL" backup --type full
expect_fail 1 "pg_dump failing: exit 1 with its stderr" "simulated dump failure"
if [ "$(ls "$STORE" | wc -l)" = "$n_before" ]; then ok "a failed backup leaves nothing in the store"; else not_ok "a failed backup leaves nothing in the store"; ls "$STORE" | sed 's/^/#   /'; fi
OPSCTL_PG_BINDIR="$T/nonexistent" run "$OPSCTL" backup --type full
expect_fail 69 "pg_dump missing: exit 69" "pg_dump not found"
OPSCTL_BACKUP_DATABASES=t200_no_such_db run "$OPSCTL" backup --type full
expect_fail 1 "a database that does not exist: exit 1" "t200_no_such_db"

# Killed mid-backup: the partial is reported and removed by the next run.
mkdir -p "$STORE/20250101T000000Z-full"
printf 'partial' >"$STORE/20250101T000000Z-full/backup.tar.zst"
run "$OPSCTL" --output json backup list
expect_json_true "find(d['backups'], 'id', '20250101T000000Z-full')['status'] == 'incomplete'" "a backup without manifest is listed as incomplete"
run "$OPSCTL" --output json backup --type full
expect_rc 0 "the next backup succeeds"
expect_json_true "d['removed_partial'] == ['20250101T000000Z-full']" "and reports the partial it removed"
if [ ! -e "$STORE/20250101T000000Z-full" ]; then ok "the partial is gone"; else not_ok "the partial is gone"; fi
ID2=$(json_get 'd["id"]')

# Killed for real, mid-stream: the next run removes what it left.
psql_q -d t200b "insert into documents (title, content) select 'big ' || g, md5(random()::text) || repeat(md5(random()::text), 30) from generate_series(1, 60000) g" >/dev/null
n_listed=$("$OPSCTL" --output json backup list | python3 -c 'import json,sys; print(json.load(sys.stdin)["count"])')
# setsid -f: not a job of this shell, so its death is not announced.
OPSCTL_BACKUP_DATABASES=t200b setsid -f sh -c 'echo $$ >"$1"; exec "$2" backup --type full' sh "$T/victim.pid" "$OPSCTL" >"$T/killed.out" 2>&1 </dev/null
wait_for 5 test -s "$T/victim.pid"
victim=$(cat "$T/victim.pid")
has_temp() { find "$STORE" -name '*.tmp.*' | grep -q .; }
if wait_for 20 has_temp; then ok "a backup in progress writes to a temp file"; else not_ok "a backup in progress writes to a temp file"; fi
kill -9 "$victim"
gone() { ! kill -0 "$victim" 2>/dev/null; }
wait_for 10 gone
if has_temp; then ok "SIGKILL leaves the temp file behind"; else not_ok "SIGKILL leaves the temp file behind"; fi
run "$OPSCTL" --output json backup list
expect_json_true "d['count'] == $n_listed" "the killed backup is not listed at all"
find "$STORE" -name '*.tmp.*' -exec touch -d '5 minutes ago' {} +
run "$OPSCTL" --output json backup --type full
expect_rc 0 "the next backup succeeds"
expect_err_contains "interrupted write" "and says it removed what the killed run left"
if has_temp; then not_ok "no temp file is left"; find "$STORE" -name '*.tmp.*' | sed 's/^/#   /'; else ok "no temp file is left"; fi

# Disk full: a 512 KiB tmpfs as the store.
if [ "$(id -u)" -eq 0 ]; then
	mkdir -p "$T/full"
	if mount -t tmpfs -o size=512k tmpfs "$T/full"; then
		at_exit "umount -l '$T/full'"
		OPSCTL_BACKUP_DIR="$T/full/store" run "$OPSCTL" backup --type full
		expect_fail 74 "disk full during a backup: exit 74" "No space left"
		if [ -z "$(find "$T/full/store" -type f 2>/dev/null)" ]; then ok "nothing half-written is left on the full disk"; else not_ok "nothing half-written is left on the full disk"; find "$T/full" | sed 's/^/#   /'; fi
		if [ -s "$STORE/$ID2/manifest.json" ]; then ok "earlier backups elsewhere are untouched"; else not_ok "earlier backups are untouched"; fi
	else
		not_ok "mount a tmpfs for the disk-full test"
	fi
else
	skip "disk full during a backup" "needs root to mount a small tmpfs (CI runs as root)"
fi

# gzip instead of zstd.
cp "$T/opsctl.conf" "$T/gzip.conf"
printf 'compression = gzip\n' >>"$T/gzip.conf"
OPSCTL_CONFIG="$T/gzip.conf" run "$OPSCTL" --output json backup --type full
expect_rc 0 "backup.compression = gzip"
GID=$(json_get 'd["id"]')
if tar -tzf "$STORE/$GID/backup.tar.gz" | grep -q '^t200a.dump/000001$'; then ok "tar -tz reads the gzip archive"; else not_ok "tar -tz reads the gzip archive"; fi
OPSCTL_CONFIG="$T/gzip.conf" run "$OPSCTL" backup verify -b "$GID" --checksums-only
expect_rc 0 "the gzip backup verifies"

# The default type, all, on a server without WAL archiving (this test's
# cluster): the full backup is the work; WAL is a warning, not a failure.
run "$OPSCTL" --output json backup
expect_rc 0 "backup (type all) without archiving: exit 0, the full backup was written"
expect_json_true 'd["wal"]["status"] == "skipped" and "archive_mode is off" in d["wal"]["reason"] and "archive_command" in d["wal"]["hint"]' "JSON: wal skipped, the reason, and the setting to change"
expect_err_contains "full backup done; WAL not archived: archive_mode is off" "a warning line says so"
expect_file_contains "$OPSCTL_STATE_DIR/opsctl.prom" 'opsctl_backup_wal_archived{task="backup",' "the textfile has opsctl_backup_wal_archived"
if grep -q '^opsctl_backup_wal_archived{task="backup",.*} 0$' "$OPSCTL_STATE_DIR/opsctl.prom"; then ok "opsctl_backup_wal_archived 0"; else not_ok "opsctl_backup_wal_archived 0"; fi
run "$OPSCTL" backup --type wal
expect_fail 78 "backup --type wal, asked for explicitly, without archiving: exit 78" "archive_mode is off"

# Two at once on one store: the second exits 75.  The lock is the store's
# (backup@local_..., left by the runs above), not every store's.
expect_lock_file backup "local:$STORE" "one backup lock for the store"
STORE_LOCK=$LOCK_FILE
bg flock "$STORE_LOCK" sleep 60
locked() { ! flock -n "$STORE_LOCK" true; }
wait_for 10 locked || not_ok "flock(1) holds the store's backup lock"
run "$OPSCTL" backup --type full
expect_fail 75 "a second backup while one runs: exit 75" "already running"
bg_kill "$BG_PID"

# Progress on a terminal, silence off one (cron).
if command -v script >/dev/null; then
	script -qec "$OPSCTL backup --type full" /dev/null >"$T/tty.out" 2>&1
	if grep -q 'backup.tar.zst' "$T/tty.out" && grep -q '/s' "$T/tty.out"; then ok "a terminal gets a progress line (bytes and rate)"; else not_ok "a terminal gets a progress line"; sed 's/^/#   /' "$T/tty.out" | head -5; fi
else
	not_ok "script(1) is available for the terminal test (util-linux)"
fi
run "$OPSCTL" -q backup --type full
if [ "$RC" -eq 0 ] && [ ! -s "$OUT" ] && [ ! -s "$ERR" ]; then ok "off a terminal with -q a backup prints nothing at all"; else not_ok "off a terminal with -q a backup prints nothing at all"; diag_run; fi

# ---- metrics ----
PROM="$OPSCTL_STATE_DIR/opsctl.prom"
for m in opsctl_backup_last_success_timestamp_seconds opsctl_backup_size_bytes opsctl_backup_duration_seconds; do
	expect_file_contains "$PROM" "$m{task=\"backup\",target=\"local:" "textfile has $m, labelled with the store"
done
if command -v promtool >/dev/null && promtool check metrics <"$PROM" >/dev/null 2>&1; then ok "promtool accepts the textfile"; else not_ok "promtool accepts the textfile"; fi

# ---- -n/--no-compress and -v/--verify ----
run "$OPSCTL" --output json backup --type full --no-compress --verify
expect_rc 0 "backup --no-compress --verify exits 0"
ID3=$(json_get 'd["id"]')
expect_json_true 'd["compression"] == "none" and d["verify"]["status"] == "ok"' "uncompressed, and verified right after"
if tar -tf "$STORE/$ID3/backup.tar" >/dev/null 2>&1; then ok "plain tar reads the uncompressed archive"; else not_ok "plain tar reads the uncompressed archive"; fi

# ---- pin and prune ----
# Age two backups by rewriting their manifests' times.
age() {	# age ID DAYS
	python3 - "$STORE/$1/manifest.json" "$2" <<'PY'
import json, sys, time
p, days = sys.argv[1], float(sys.argv[2])
m = json.load(open(p))
m["start"] = time.time() - days * 86400; m["stop"] = m["start"] + 1
json.dump(m, open(p, "w"))
PY
	python3 "$MF" seal "$STORE/$1/manifest.json"
}
age "$ID" 400
age "$ID2" 380
run "$OPSCTL" backup pin "$ID2"
expect_rc 0 "pin exits 0"
run "$OPSCTL" --output json backup prune --dry-run
expect_rc 0 "prune --dry-run exits 0"
expect_json_true "find(d['pruned'], 'id', '$ID') is not None" "a 400-day-old backup would go"
expect_json_true "find(d['kept'], 'id', '$ID2')['reason'] == 'pinned'" "the pinned one stays"
expect_json_true "find(d['kept'], 'id', '$ID3')['reason'] == 'newest good backup'" "the newest good backup stays"
if [ -d "$STORE/$ID" ]; then ok "--dry-run removed nothing"; else not_ok "--dry-run removed nothing"; fi
run "$OPSCTL" --output json backup prune
expect_rc 0 "prune exits 0"
if [ ! -e "$STORE/$ID" ] && [ -d "$STORE/$ID2" ]; then ok "prune removed the old one, kept the pinned one"; else not_ok "prune removed the old one, kept the pinned one"; fi
# A failed verification with no newer good backup is kept, whatever its age.
FID=$(ls "$STORE" | sort | tail -n 1)
python3 - "$STORE/$FID/manifest.json" <<'PY'
import json, sys, time
p = sys.argv[1]
m = json.load(open(p))
m["status"] = "verify-failed"; m["start"] = time.time() - 500 * 86400; m["stop"] = m["start"] + 1
json.dump(m, open(p, "w"))
PY
python3 "$MF" seal "$STORE/$FID/manifest.json"
run "$OPSCTL" --output json backup prune --dry-run
expect_json_true "find(d['kept'], 'id', '$FID')['reason'] == 'failed verification and no newer good backup'" "a failed backup with no newer good one is kept"
run "$OPSCTL" backup pin "$ID2" --unpin
expect_rc 0 "--unpin exits 0"
run "$OPSCTL" backup pin 20200101T000000Z-full
expect_fail 1 "pin of an id that does not exist: exit 1" "no backup"
# "latest": the newest good backup, as restore and verify take it.
run "$OPSCTL" --output json backup --type full
PID_LATEST=$(json_get 'd["id"]')
run "$OPSCTL" --output json backup pin latest
expect_rc 0 "backup pin latest: exit 0"
expect_json_true 'd["id"] == "'"$PID_LATEST"'" and d["pinned"] is True' "pin latest pinned the newest good backup ($PID_LATEST)"
run "$OPSCTL" backup pin latest --unpin
expect_rc 0 "backup pin latest --unpin: exit 0"

# ---- SQLite (guide 003) ----
sqlite_make_sample_db "$T/kh.db"
rows=$(sqlite3 "$T/kh.db" "select count(*) from content")
OPSCTL_BACKUP_DATABASES="sqlite:$T/kh.db" run "$OPSCTL" --output json backup --type full
expect_rc 0 "a SQLite database backs up"
SID=$(json_get 'd["id"]')
expect_json_true 'd["databases"][0]["engine"] == "sqlite"' "engine sqlite"
run "$OPSCTL" --output json backup verify -b "$SID"
expect_rc 0 "the SQLite backup verifies (integrity_check and row counts)"
sqlite3 "$T/kh.db" "delete from content"
# The configuration that took the backup names the file: only a file a
# configured backup database names is a restore target (t270).
OPSCTL_BACKUP_DATABASES="sqlite:$T/kh.db" run "$OPSCTL" backup restore "$SID" --force
expect_rc 0 "the SQLite backup restores"
if [ "$(sqlite3 "$T/kh.db" "select count(*) from content")" = "$rows" ]; then ok "SQLite rows are back"; else not_ok "SQLite rows are back"; fi
# A writer that died with changes still in the WAL: restore empties the WAL
# first, or SQLite would replay the old changes onto the restored file; the
# file keeps its mode.
chmod 644 "$T/kh.db"
/usr/bin/python3 - "$T/kh.db" <<'PY'
import os, sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("pragma journal_mode=wal")
db.execute("pragma wal_autocheckpoint=0")
db.execute("delete from content")
db.execute("create table junk (x)")
os._exit(0)  # no close: the WAL keeps the changes
PY
if [ -s "$T/kh.db-wal" ]; then ok "a crashed writer left a WAL behind"; else not_ok "a crashed writer left a WAL behind"; fi
OPSCTL_BACKUP_DATABASES="sqlite:$T/kh.db" run "$OPSCTL" backup restore "$SID" --force
expect_rc 0 "restore over a database with a pending WAL exits 0"
if [ "$(sqlite3 "$T/kh.db" "select count(*) from content")" = "$rows" ] &&
	[ -z "$(sqlite3 "$T/kh.db" "select name from sqlite_master where name = 'junk'")" ]; then
	ok "the restored file is the backup's, with nothing of the old WAL replayed"
else
	not_ok "the restored file is the backup's, with nothing of the old WAL replayed"
fi
if [ "$(stat -c %a "$T/kh.db")" = 644 ]; then ok "the restored file keeps the old one's mode"; else not_ok "the restored file keeps the old one's mode ($(stat -c %a "$T/kh.db"))"; fi
# A file name with .db inside but not at the end (hub.db3) is still a
# SQLite database to verify and restore, not a plain file.
cp "$T/kh.db" "$T/hub.db3"
OPSCTL_BACKUP_DATABASES="sqlite:$T/hub.db3" run "$OPSCTL" --output json backup --type full
expect_rc 0 "hub.db3 backs up"
HID=$(json_get 'd["id"]')
run "$OPSCTL" --output json backup verify -b "$HID"
expect_json_true 'len(d["databases"]) == 1 and d["databases"][0]["database"].endswith("hub.db3") and d["databases"][0]["status"] == "ok"' "verify checks hub.db3 as a database"
sqlite3 "$T/hub.db3" "delete from content"
OPSCTL_BACKUP_DATABASES="sqlite:$T/hub.db3" run "$OPSCTL" backup restore "$HID" --force
expect_rc 0 "and restores it"
if [ "$(sqlite3 "$T/hub.db3" "select count(*) from content")" = "$rows" ]; then ok "hub.db3's rows are back"; else not_ok "hub.db3's rows are back"; fi

# ---- encryption at rest ----
openssl rand -hex 32 >"$T/backup.key"
chmod 644 "$T/backup.key"
OPSCTL_BACKUP_KEY_FILE="$T/backup.key" run "$OPSCTL" backup --type full
expect_fail 77 "a world-readable key file is refused: exit 77" "0644"
chmod 600 "$T/backup.key"
OPSCTL_BACKUP_KEY_FILE="$T/backup.key" run "$OPSCTL" --output json backup --type full
expect_rc 0 "an encrypted backup exits 0"
EID=$(json_get 'd["id"]')
expect_json_true 'd["encrypted"] is True' "reported as encrypted"
EOBJ="$STORE/$EID/backup.tar.zst.enc"
if [ -f "$EOBJ" ] && ! zstd -tq "$EOBJ" 2>/dev/null && ! grep -qa "CREATE TABLE" "$EOBJ"; then ok "the stored archive is ciphertext"; else not_ok "the stored archive is ciphertext"; fi
if grep -q '"encryption":[[:space:]]*"[0-9a-f]\{16\}"' "$STORE/$EID/manifest.json"; then ok "the manifest records the key fingerprint"; else not_ok "the manifest records the key fingerprint"; fi
if ! grep -q "$(cat "$T/backup.key")" "$STORE/$EID/manifest.json" "$OPSCTL_STATE_DIR/journal.jsonl"; then ok "the key appears in neither manifest nor journal"; else not_ok "the key appears in neither manifest nor journal"; fi
OPSCTL_BACKUP_KEY_FILE="$T/backup.key" run "$OPSCTL" --output json backup verify -b "$EID"
expect_rc 0 "the encrypted backup verifies with a test restore"
run "$OPSCTL" backup verify -b "$EID"
expect_fail 78 "verify without the key: exit 78" "encrypted"
openssl rand -hex 32 >"$T/other.key"
chmod 600 "$T/other.key"
OPSCTL_BACKUP_KEY_FILE="$T/other.key" run "$OPSCTL" backup verify -b "$EID" --checksums-only
expect_fail 78 "verify with another key: exit 78 naming both fingerprints" "was encrypted with key"
size=$(stat -c %s "$EOBJ")
python3 - "$EOBJ" "$((size / 2))" <<'PY'
import sys
p, off = sys.argv[1], int(sys.argv[2])
with open(p, "r+b") as f:
    f.seek(off); b = f.read(1); f.seek(off); f.write(bytes([b[0] ^ 0x01]))
PY
OPSCTL_BACKUP_KEY_FILE="$T/backup.key" run "$OPSCTL" backup verify -b "$EID" --checksums-only
expect_fail 65 "a flipped byte in the ciphertext: exit 65"

# `opsctl backup -h` shows create's flags too, as backup-database.sh -h did.
run "$OPSCTL" backup -h
if grep -q -- "--no-compress" "$OUT" && grep -q -- "--retention DAYS" "$OUT" && grep -q "wal-push" "$OUT"; then ok "backup -h lists the commands and create's options"; else not_ok "backup -h lists the commands and create's options"; diag_run; fi

# ---- bad input ----
run "$OPSCTL" backup --type weekly
expect_error 64 "an unknown --type: exit 64" "weekly"
run "$OPSCTL" backup --retention 0
expect_error 64 "--retention 0: exit 64" "retention"
run "$OPSCTL" backup create -c "$T/missing.conf"
expect_error 78 "-c with a missing file: exit 78" "missing.conf"

done_testing
