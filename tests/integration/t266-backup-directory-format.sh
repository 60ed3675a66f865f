#!/usr/bin/env bash
# t266: a database over backup.parallel_threshold is dumped by pg_dump -j in
# directory format (issue 18): one archive member NAME.dir/FILE per file,
# toc.dat last, each in the manifest with its digest; no spool left in the
# state directory; verify (a test restore with pg_restore -j) passes; restore
# --as gives the same rows; the stock-tool recipe of opsctl-backup(1)
# restores it by hand; a damaged member fails verify naming it (65) and
# leaves no temporary database; SIGTERM mid-dump exits 143 leaving no spool,
# no manifest and no pg_dump; bad values of the new keys exit 78.
. "$(dirname "$0")/../lib/common.sh"
. "$ROOT/tests/lib/pg.sh"
pg_start || bail_out "PostgreSQL starts"
pg_make_sample_db t266 || bail_out "sample database t266"
at_exit 'for d in t266 t266_copy t266_hand t266_verify; do PGOPTIONS="-c client_min_messages=warning" psql_q "drop database if exists $d"; done'

STORE="$T/store"
cat >"$T/opsctl.conf" <<EOF
[backup]
dir = $STORE
databases = t266
parallel_threshold = 1k
dump_jobs = 2
verify_temp_db = t266_verify
EOF
export OPSCTL_CONFIG="$T/opsctl.conf"
counts() {
	psql_q -d "$1" "select 'documents', count(*) from documents union all select 'document_chunks', count(*) from document_chunks union all select 'queries', count(*) from queries order by 1"
}

run "$OPSCTL" --output json backup --type full
expect_rc 0 "a full backup of a database over backup.parallel_threshold"
expect_json_true 'd["databases"][0]["format"] == "directory" and d["databases"][0]["member"] == "t266.dir" and d["databases"][0]["dump_jobs"] == 2' "JSON: directory format, member t266.dir, 2 jobs"
ID=$(json_get 'd["id"]')
M="$STORE/$ID/manifest.json"
members=$(python3 -c 'import json,sys
m = json.load(open(sys.argv[1]))
print("\n".join(f["path"] for f in m["files"]))' "$M")
diag "members: $(echo $members)"
if [ "$(echo "$members" | grep -c '^t266\.dir/[0-9]*\.dat$')" -ge 3 ]; then ok "one member per table file (t266.dir/NNNN.dat, at least the three tables)"; else not_ok "one member per table file"; fi
if [ "$(echo "$members" | grep '^t266\.dir/' | tail -1)" = "t266.dir/toc.dat" ]; then ok "toc.dat is the dump's last member"; else not_ok "toc.dat is the dump's last member"; fi
if ! echo "$members" | grep -q '\.dump/'; then ok "no custom-format stream beside it"; else not_ok "no custom-format stream beside it"; fi
if [ -z "$(ls -A "$OPSCTL_STATE_DIR/tmp" 2>/dev/null)" ]; then ok "no spool left in the state directory"; else not_ok "no spool left in the state directory ($(ls "$OPSCTL_STATE_DIR/tmp"))"; fi
if tar --zstd -tf "$STORE/$ID/backup.tar.zst" | diff - <(echo "$members") >/dev/null; then ok "the archive holds exactly the manifest's members, in order"; else not_ok "the archive holds exactly the manifest's members"; fi

run "$OPSCTL" --output json backup verify -b "$ID"
expect_rc 0 "verify restores the directory dump (pg_restore -j) and compares every count"
expect_json_true 'd["databases"][0]["status"] == "ok" and d["databases"][0]["tables_checked"] == 3 and d["databases"][0]["tables_mismatched"] == 0' "JSON: three tables checked, none mismatched"
if [ -z "$(ls -A "$OPSCTL_STATE_DIR/tmp" 2>/dev/null)" ]; then ok "verify leaves no spool"; else not_ok "verify leaves no spool"; fi

backed=$(counts t266)
psql_q -d t266 "delete from queries" >/dev/null
run "$OPSCTL" backup restore "$ID" -d t266 --as t266_copy
expect_rc 0 "restore --as t266_copy"
if [ "$(counts t266_copy)" = "$backed" ]; then ok "t266_copy holds the backup's rows"; else not_ok "t266_copy holds the backup's rows"; fi

# The stock-tool recipe of opsctl-backup(1).
mkdir -p "$T/hand"
if tar --zstd -xf "$STORE/$ID/backup.tar.zst" -C "$T/hand" t266.dir &&
	psql_q "create database t266_hand" >/dev/null &&
	pg_restore -j 2 -d t266_hand "$T/hand/t266.dir" 2>"$T/hand.err" &&
	[ "$(counts t266_hand)" = "$backed" ]; then
	ok "the man page's stock-tool recipe (tar -xf, pg_restore -j) restores it"
else
	not_ok "the man page's stock-tool recipe restores it"; diag "$(cat "$T/hand.err")"
fi
if man -l "$ROOT/man/opsctl-backup.1" 2>/dev/null | tr -s ' \n' ' ' | grep -q 'pg_restore -j 2 -d newdb DIR/chatbot_db.dir'; then ok "the recipe is in opsctl-backup(1)"; else not_ok "the recipe is in opsctl-backup(1)"; fi

# A damaged member: one byte of the largest table file changed, the archive
# rebuilt around it (same names, sizes and order).
python3 - "$STORE/$ID/backup.tar.zst" >/dev/null <<'PY' || bail_out "damage a member"
import io, subprocess, sys, tarfile
path = sys.argv[1]
raw = subprocess.run(["zstd", "-dc", path], check=True, capture_output=True).stdout
src = tarfile.open(fileobj=io.BytesIO(raw))
out = io.BytesIO()
dst = tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT)
members = src.getmembers()
big = max((m for m in members if m.name.endswith(".dat") and m.name != "t266.dir/toc.dat"), key=lambda m: m.size)
for m in members:
    data = bytearray(src.extractfile(m).read())
    if m is big:
        data[len(data) // 2] ^= 0x20
    dst.addfile(m, io.BytesIO(bytes(data)))
dst.close()
open(sys.argv[1] + ".damaged", "wb").write(subprocess.run(["zstd", "-q", "-c"], input=out.getvalue(), check=True, capture_output=True).stdout)
print(big.name)
PY
DAMAGED=$(python3 -c 'import io,subprocess,sys,tarfile
raw = subprocess.run(["zstd","-dc",sys.argv[1]],check=True,capture_output=True).stdout
t = tarfile.open(fileobj=io.BytesIO(raw))
print(max((m for m in t.getmembers() if m.name.endswith(".dat") and m.name != "t266.dir/toc.dat"), key=lambda m: m.size).name)' "$STORE/$ID/backup.tar.zst")
mv "$STORE/$ID/backup.tar.zst.damaged" "$STORE/$ID/backup.tar.zst"
run "$OPSCTL" backup verify -b "$ID"
expect_rc 65 "verify of a damaged member exits 65"
expect_err_contains "$DAMAGED" "the error names the damaged member ($DAMAGED)"
expect_err_contains "SHA-256" "the error says the digest does not match"
if [ "$(psql_q "select count(*) from pg_database where datname = 't266_verify'")" = 0 ]; then ok "no temporary database is left"; else not_ok "no temporary database is left"; fi
if [ -z "$(ls -A "$OPSCTL_STATE_DIR/tmp" 2>/dev/null)" ]; then ok "no spool is left after the damaged verify"; else not_ok "no spool is left after the damaged verify"; fi

# SIGTERM while the directory dump runs: pg_dump (here one that has written
# its files and lingers, its output still open) is stopped, the spool is
# removed, no backup is left that could pass for a good one.
mkdir -p "$T/slowbin"
cat >"$T/slowbin/pg_dump" <<EOF
#!/bin/sh
"$(command -v pg_dump)" "\$@" || exit \$?
echo \$\$ >"$T/dumped.tmp" && mv "$T/dumped.tmp" "$T/dumped"
exec sleep 60
EOF
chmod +x "$T/slowbin/pg_dump"
before=$(ls "$STORE" | sort)
OPSCTL_PG_BINDIR="$T/slowbin" "$OPSCTL" backup --type full >"$T/term.out" 2>"$T/term.err" &
victim=$!
wait_for 30 test -e "$T/dumped" || bail_out "the slow pg_dump has written its files"
kill -TERM "$victim"
wait "$victim"
RC=$?
if [ "$RC" = 143 ]; then ok "SIGTERM during the directory dump exits 143"; else not_ok "SIGTERM during the directory dump exits 143 (got $RC)"; diag "$(cat "$T/term.err")"; fi
if [ -z "$(ls -A "$OPSCTL_STATE_DIR/tmp" 2>/dev/null)" ]; then ok "the interrupted dump leaves no spool"; else not_ok "the interrupted dump leaves no spool ($(ls "$OPSCTL_STATE_DIR/tmp"))"; fi
new_ids=$(comm -13 <(echo "$before") <(ls "$STORE" | sort))
if [ -z "$new_ids" ] || ! ls "$STORE/$new_ids/manifest.json" >/dev/null 2>&1; then ok "no manifest for the interrupted backup"; else not_ok "no manifest for the interrupted backup"; fi
if ! kill -0 "$(cat "$T/dumped")" 2>/dev/null; then ok "the slow pg_dump is gone"; else not_ok "the slow pg_dump is gone"; fi

# The new keys' bad values.
printf '[backup]\ndir = %s\nparallel_threshold = lots\n' "$STORE" >"$T/bad1.conf"
run env OPSCTL_CONFIG="$T/bad1.conf" "$OPSCTL" backup --type full
expect_rc 78 "parallel_threshold = lots exits 78"
expect_err_contains "parallel_threshold" "the error names the key"
printf '[backup]\ndir = %s\ndump_jobs = 500\n' "$STORE" >"$T/bad2.conf"
run env OPSCTL_CONFIG="$T/bad2.conf" "$OPSCTL" backup --type full
expect_rc 78 "dump_jobs = 500 exits 78"
expect_err_contains "dump_jobs" "the error names the key"
done_testing
