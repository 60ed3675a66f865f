#!/usr/bin/env bash
# t260: backups that pass verify are whole (issue 10).  The archive's members
# are the manifest's, each exactly once (a repeated, missing or extra member
# is exit 65 for verify and restore, and restore writes nothing); the
# manifest carries a checksum and a copy beside it; list shows a truncated
# or missing archive as damaged without reading it; include_files names with
# a space or a newline are stored and restored byte-exact; what the
# configuration can make fail is refused before anything is dumped; a swept
# temp takes its emptied backup-id directory with it, never the store root.
. "$(dirname "$0")/../lib/common.sh"
. "$ROOT/tests/lib/pg.sh"
MF="$ROOT/tests/lib/manifest.py"

STORE="$T/store"
mkdir -p "$T/etc" "$T/other"
NL=$'line\nbreak.env'
printf 'notes with a space\n' >"$T/etc/my notes.txt"
printf 'NEWLINE=1\n\001\377binary\n' >"$T/etc/$NL"
printf 'SECRET_KEY=abc\n' >"$T/etc/.env"
printf 'notes\n' >"$T/etc/notes.txt"
printf 'services: {}\n' >"$T/etc/compose.yml"
printf 'OTHER=1\n' >"$T/other/.env"
sqlite_make_sample_db "$T/kh.db"
cat >"$T/opsctl.conf" <<EOF
[general]
environment = dev
[backup]
dir = $STORE
databases = sqlite:$T/kh.db
EOF
export OPSCTL_CONFIG="$T/opsctl.conf"
export OPSCTL_BACKUP_INCLUDE_FILES="$T/etc/notes.txt,$T/etc/compose.yml,$T/etc/.env"
rows() { sqlite3 "$T/kh.db" "select count(*) from content"; }

# ---- one backup, plain names, for the checks that follow ----
run "$OPSCTL" --output json backup --type full
expect_rc 0 "a full backup exits 0"
ID=$(json_get 'd["id"]')
OBJ="$STORE/$ID/backup.tar.zst"

# ---- the manifest's checksum and copy ----
if [ -f "$STORE/$ID/manifest.json.copy" ] && cmp -s "$STORE/$ID/manifest.json" "$STORE/$ID/manifest.json.copy"; then ok "a copy of the manifest is written beside it"; else not_ok "a copy of the manifest is written beside it"; ls "$STORE/$ID" | sed 's/^/#   /'; fi
if python3 "$MF" check "$STORE/$ID/manifest.json"; then ok "its checksum holds, computed independently (zeros in its place, sha256)"; else not_ok "its checksum holds, computed independently"; fi
sum=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["checksum"])' "$STORE/$ID/manifest.json")
if [ "$(sed "s/$sum/$(printf '0%.0s' $(seq 64))/" "$STORE/$ID/manifest.json" | sha256sum | cut -d' ' -f1)" = "$sum" ]; then ok "sed and sha256sum check it by hand"; else not_ok "sed and sha256sum check it by hand"; fi
cp -a "$STORE/$ID" "$T/pristine"
restore_pristine() { rm -rf "${STORE:?}/$ID" && cp -a "$T/pristine" "$STORE/$ID"; }

edit_rows() {	# edit_rows FILE...: a valid-JSON edit of a row count, checksum left alone
	local f
	for f in "$@"; do
		python3 - "$f" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
m["tables"][0]["rows"] += 1
json.dump(m, open(sys.argv[1], "w"))
PY
	done
}
edit_rows "$STORE/$ID/manifest.json"
run "$OPSCTL" --output json backup verify -b "$ID"
expect_rc 0 "an edited manifest with a good copy: verify uses the copy and passes"
expect_err_contains "using its copy" "and says so with a warning"
if python3 "$MF" check "$STORE/$ID/manifest.json"; then ok "verify's verdict rewrote the manifest whole"; else not_ok "verify's verdict rewrote the manifest whole"; fi
restore_pristine

edit_rows "$STORE/$ID/manifest.json" "$STORE/$ID/manifest.json.copy"
run "$OPSCTL" backup verify -b "$ID"
expect_fail 65 "manifest and copy both edited: verify exits 65" "does not match its checksum" "copy is damaged too"
sqlite3 "$T/kh.db" "insert into content (title, content) values ('after', 'the backup')"
before=$(rows)
run "$OPSCTL" backup restore "$ID" --force
expect_fail 65 "restore exits 65 as well" "does not match its checksum"
if [ "$(rows)" = "$before" ] && [ ! -e "$OPSCTL_STATE_DIR/restore/$ID" ]; then ok "and restores nothing"; else not_ok "and restores nothing"; fi
run "$OPSCTL" --output json backup list
expect_json_true "find(d['backups'], 'id', '$ID')['status'] == 'invalid'" "list shows it invalid"
restore_pristine

edit_rows "$STORE/$ID/manifest.json"
rm "$STORE/$ID/manifest.json.copy"
run "$OPSCTL" backup verify -b "$ID" --checksums-only
expect_fail 65 "an edited manifest and no copy: exit 65" "does not match its checksum"
restore_pristine

rm "$STORE/$ID/manifest.json"
run "$OPSCTL" --output json backup list
expect_json_true "find(d['backups'], 'id', '$ID')['status'] == 'complete'" "a lost manifest: list reads the copy"
expect_err_contains "lost its manifest" "with a warning"
run "$OPSCTL" --output json backup --type full
expect_rc 0 "the next backup runs"
if [ -f "$STORE/$ID/manifest.json.copy" ] && [ -f "$OBJ" ]; then ok "and does not take a backup with only its copy for a partial one"; else not_ok "and does not take a backup with only its copy for a partial one"; fi
rm -rf "${STORE:?}/$(json_get 'd["id"]')"
restore_pristine

# Written by an earlier version: no checksum, no copy.  Still readable.
python3 - "$STORE/$ID/manifest.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1])); del m["checksum"]
json.dump(m, open(sys.argv[1], "w"))
PY
rm "$STORE/$ID/manifest.json.copy"
run "$OPSCTL" --output json backup list
expect_json_true "find(d['backups'], 'id', '$ID')['status'] == 'complete'" "an old manifest without a checksum is still read"
expect_err_contains "no checksum" "with a warning that it is unprotected"
run "$OPSCTL" --output json backup --type full
expect_rc 0 "a backup with old backups in the store runs"
if grep -q "no checksum" "$ERR"; then not_ok "and does not warn about each of them (cron stays quiet)"; diag_run; else ok "and does not warn about each of them (cron stays quiet)"; fi
rm -rf "${STORE:?}/$(json_get 'd["id"]')"
run "$OPSCTL" backup verify -b "$ID" --checksums-only
expect_rc 0 "and an old backup still verifies"
if python3 "$MF" check "$STORE/$ID/manifest.json" && [ -f "$STORE/$ID/manifest.json.copy" ]; then ok "its verdict is written with a checksum and a copy"; else not_ok "its verdict is written with a checksum and a copy"; fi
# A checksum removed from one edited while its copy keeps one: the copy wins.
restore_pristine
python3 - "$STORE/$ID/manifest.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1])); del m["checksum"]; m["tables"][0]["rows"] += 1
json.dump(m, open(sys.argv[1], "w"))
PY
run "$OPSCTL" backup verify -b "$ID"
expect_rc 0 "a manifest stripped of its checksum beside a sealed copy: the copy is used"
expect_err_contains "its copy has" "and the warning says why"
restore_pristine

# ---- the archive's members are the manifest's, each once ----
rearchive() {	# rearchive INDEX...: the archive rebuilt from the pristine one's members
	python3 - "$T/pristine/backup.tar.zst" "$STORE/$ID" "$@" <<'PY'
import hashlib, io, json, subprocess, sys, tarfile
src, d, picks = sys.argv[1], sys.argv[2], sys.argv[3:]
raw = subprocess.run(["zstd", "-dqc", src], stdout=subprocess.PIPE, check=True).stdout
members = []
with tarfile.open(fileobj=io.BytesIO(raw)) as t:
    for ti in t.getmembers():
        members.append((ti, t.extractfile(ti).read()))
out = io.BytesIO()
with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as t:
    for p in picks:
        if p == "extra":
            ti = tarfile.TarInfo("files/extra"); data = b"extra\n"; ti.size = len(data)
        else:
            ti, data = members[int(p)]
        t.addfile(ti, io.BytesIO(data))
z = subprocess.run(["zstd", "-q", "-c"], input=out.getvalue(), stdout=subprocess.PIPE, check=True).stdout
open(d + "/backup.tar.zst", "wb").write(z)
# The object's size and digest updated and the manifest sealed again: only
# the member check can tell.
m = json.load(open(d + "/manifest.json"))
m["members"][0]["size"] = len(z); m["members"][0]["sha256"] = hashlib.sha256(z).hexdigest()
json.dump(m, open(d + "/manifest.json", "w"))
PY
	python3 "$MF" seal "$STORE/$ID/manifest.json"
}
# Members: 0 kh.db, 1 files/notes.txt, 2 files/compose.yml, 3 files/.env
rearchive 0 1 2 2
run "$OPSCTL" backup verify -b "$ID" --checksums-only
expect_fail 65 "one member twice and another missing: verify exits 65" "appears more than once"
sqlite3 "$T/kh.db" "insert into content (title, content) values ('after', 'again')"
before=$(rows)
run "$OPSCTL" backup restore "$ID" --force
expect_fail 65 "restore exits 65" "appears more than once" "nothing was restored"
if [ "$(rows)" = "$before" ] && [ ! -e "$OPSCTL_STATE_DIR/restore/$ID" ]; then ok "and writes nothing, not even the members it had"; else not_ok "and writes nothing"; find "$OPSCTL_STATE_DIR/restore" | sed 's/^/#   /'; fi
rearchive 0 1 2
run "$OPSCTL" backup verify -b "$ID" --checksums-only
expect_fail 65 "the last member missing: exit 65 naming it" "lacks member 'files/.env'"
run "$OPSCTL" backup restore "$ID" --force
expect_fail 65 "restore of it exits 65" "lacks member"
if [ ! -e "$OPSCTL_STATE_DIR/restore/$ID" ]; then ok "and writes nothing"; else not_ok "and writes nothing"; fi
rearchive 0 2 3
run "$OPSCTL" backup verify -b "$ID" --checksums-only
expect_fail 65 "a member missing in the middle: exit 65 naming it" "files/notes.txt" "missing or out of order"
rearchive 0 1 2 3 extra
run "$OPSCTL" backup verify -b "$ID" --checksums-only
expect_fail 65 "an extra member: exit 65" "'files/extra' is not in the manifest"
rearchive 0 1 2 3
run "$OPSCTL" backup verify -b "$ID" --checksums-only
expect_rc 0 "the same members rebuilt in order verify (the test's rebuild is faithful)"
restore_pristine

# ---- list sees a truncated or missing archive ----
size=$(stat -c %s "$OBJ")
head -c "$((size - 100))" "$T/pristine/backup.tar.zst" >"$OBJ"
run "$OPSCTL" --output json backup list
expect_json_true "find(d['backups'], 'id', '$ID')['status'] == 'damaged' and find(d['backups'], 'id', '$ID')['verified'] is False" "a truncated archive is listed as damaged before any verify"
expect_json_true "'$((size - 100)) bytes' in find(d['backups'], 'id', '$ID')['error']" "with the sizes that differ"
run "$OPSCTL" backup list
expect_out_contains "damaged" "the text list says damaged too"
rm "$OBJ"
run "$OPSCTL" --output json backup list
expect_json_true "find(d['backups'], 'id', '$ID')['status'] == 'damaged' and 'missing' in find(d['backups'], 'id', '$ID')['error']" "a missing archive is damaged too"
run "$OPSCTL" --output json backup prune --dry-run
expect_json_true "find(d['kept'], 'id', '$ID')['reason'] == 'damaged and no newer good backup'" "retention does not count it as a good backup"
restore_pristine

# ---- names with a space and a newline ----
OPSCTL_BACKUP_INCLUDE_FILES="$T/etc/my notes.txt,$T/etc/$NL,$T/etc/.env" run "$OPSCTL" --output json backup --type full
expect_rc 0 "a backup whose include_files have a space and a newline in their names exits 0"
NID=$(json_get 'd["id"]')
OUT_SAVE=$OUT
OUT="$STORE/$NID/manifest.json"
expect_json_true '[f["path"] for f in d["files"]][1:] == ["files/my notes.txt", "files/line\nbreak.env", "files/.env"]' "the manifest lists both names as they are"
OUT=$OUT_SAVE
run "$OPSCTL" --output json backup restore "$NID" --force
expect_rc 0 "the backup restores"
R="$OPSCTL_STATE_DIR/restore/$NID/files"
if cmp -s "$R/my notes.txt" "$T/etc/my notes.txt" && cmp -s "$R/$NL" "$T/etc/$NL" && cmp -s "$R/.env" "$T/etc/.env"; then
	ok "each file comes back byte-exact under its own name"
else
	not_ok "each file comes back byte-exact under its own name"; ls -b "$R" | sed 's/^/#   /'
fi
rm -rf "$OPSCTL_STATE_DIR/restore"

# ---- configuration checked before anything is dumped ----
pg_start || bail_out "PostgreSQL starts"
pg_make_sample_db t260 || bail_out "sample database t260"
at_exit 'psql_q "drop database if exists t260"'
mkdir -p "$T/fakebin"
printf '#!/bin/sh\ntouch "%s/dumped"\nexit 1\n' "$T" >"$T/fakebin/pg_dump"
chmod +x "$T/fakebin/pg_dump"
export OPSCTL_PG_BINDIR="$T/fakebin" OPSCTL_BACKUP_DATABASES=t260
n_before=$(ls "$STORE" | wc -l)
nodump() {	# nodump DESC: no pg_dump ran and nothing is left in the store
	if [ ! -e "$T/dumped" ] && [ "$(ls "$STORE" | wc -l)" = "$n_before" ]; then ok "$1"; else not_ok "$1"; fi
	rm -f "$T/dumped"
}
OPSCTL_BACKUP_INCLUDE_FILES="$T/etc/.env,$T/etc/nope.yml" run "$OPSCTL" backup --type full
expect_fail 78 "a missing include file: exit 78 naming it" "nope.yml" "does not exist"
nodump "before any dump"
OPSCTL_BACKUP_INCLUDE_FILES="$T/etc/.env,$T/other/.env" run "$OPSCTL" backup --type full
expect_fail 78 "two include files of one name: exit 78" "would both be stored as 'files/.env'"
nodump "before any dump"
OPSCTL_BACKUP_INCLUDE_FILES="$T/etc" run "$OPSCTL" backup --type full
expect_fail 78 "a directory as include file: exit 78" "not a regular file"
nodump "before any dump"
nobody_uid=$(id -u nobody 2>/dev/null)
nobody_gid=$(id -g nobody 2>/dev/null)
if [ "$(id -u)" -ne 0 ]; then
	chmod 000 "$T/etc/.env"
	OPSCTL_BACKUP_INCLUDE_FILES="$T/etc/.env" run "$OPSCTL" backup --type full
	expect_fail 77 "an unreadable include file: exit 77" ".env"
	nodump "before any dump"
	chmod 600 "$T/etc/.env"
elif command -v setpriv >/dev/null && [ -n "$nobody_uid" ]; then
	# Root reads every file: the run is nobody's, with a store and state
	# of its own, and the include file root's and unreadable.
	mkdir -p "$T/nobody/store" "$T/nobody/state"
	chown -R "$nobody_uid:$nobody_gid" "$T/nobody"
	chmod 644 "$OPSCTL_CONFIG"
	chmod 755 "$T" "$T/etc"
	chmod 000 "$T/etc/.env"
	RUN_CMD="opsctl backup --type full (as nobody)"
	env OPSCTL_BACKUP_INCLUDE_FILES="$T/etc/.env" OPSCTL_BACKUP_DIR="$T/nobody/store" \
		OPSCTL_STATE_DIR="$T/nobody/state" HOME="$T/nobody" \
		setpriv --reuid="$nobody_uid" --regid="$nobody_gid" --clear-groups \
		"$OPSCTL" backup --type full >"$OUT" 2>"$ERR" </dev/null
	RC=$?
	expect_fail 77 "an unreadable include file: exit 77" ".env"
	nodump "before any dump"
	chmod 600 "$T/etc/.env"
else
	not_ok "an unreadable include file: exit 77 (needs setpriv from util-linux and a user nobody)"
fi
OPSCTL_BACKUP_DATABASES="t260,sqlite:$T/gone.db" run "$OPSCTL" backup --type full
expect_fail 1 "a SQLite database that is not there: exit 1, as its copy would" "gone.db"
nodump "before any dump"
OPSCTL_BACKUP_METHOD=physical OPSCTL_BACKUP_DATABASES="sqlite:$T/kh.db" run "$OPSCTL" backup --type full
expect_fail 78 "backup.method = physical with a SQLite database: exit 78" "physical"
nodump "before any dump"
OPSCTL_BACKUP_VECTOR_INDEX=true OPSCTL_VECTOR_INDEX_PATH="$T/no.index" run "$OPSCTL" backup --type full
expect_fail 1 "backup.vector_index with no index: exit 1" "no index"
nodump "before any dump"
closed=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
OPSCTL_BACKUP_REDIS_URL="redis://127.0.0.1:$closed" run "$OPSCTL" backup --type full
expect_fail 69 "Redis down: exit 69" "Redis"
nodump "before any dump"
unset OPSCTL_PG_BINDIR OPSCTL_BACKUP_DATABASES

# ---- a swept temp takes its emptied backup-id directory ----
DEAD=2147483000	# no such process
mkdir -p "$STORE/20250101T000000Z-full" "$STORE/20250102T000000Z-full"
: >"$STORE/20250101T000000Z-full/backup.tar.zst.tmp.$DEAD.abcdef01"
: >"$STORE/20250102T000000Z-full/backup.tar.zst.tmp.$DEAD.abcdef02"
printf 'x' >"$STORE/20250102T000000Z-full/keep"
: >"$STORE/root.tmp.$DEAD.abcdef03"
find "$STORE" -name "*.tmp.$DEAD.*" -exec touch -d '5 minutes ago' {} +
run "$OPSCTL" --output json backup list
expect_rc 0 "list sweeps what interrupted writes left"
if [ ! -e "$STORE/20250101T000000Z-full" ]; then ok "the emptied backup-id directory is removed"; else not_ok "the emptied backup-id directory is removed"; ls -la "$STORE/20250101T000000Z-full" | sed 's/^/#   /'; fi
if [ -f "$STORE/20250102T000000Z-full/keep" ] && [ ! -e "$STORE/20250102T000000Z-full/backup.tar.zst.tmp.$DEAD.abcdef02" ]; then ok "one that still holds a file stays"; else not_ok "one that still holds a file stays"; fi
if [ -d "$STORE" ] && [ ! -e "$STORE/root.tmp.$DEAD.abcdef03" ] && [ -f "$STORE/$ID/manifest.json" ]; then ok "the store root stays, and the backups in it"; else not_ok "the store root stays"; fi
rm -rf "${STORE:?}/20250102T000000Z-full"

done_testing
