#!/usr/bin/env bash
# t230: `opsctl backup --s3` against s3rver and a real PostgreSQL 15 (the
# issue's acceptance): a full backup restores with stock tar/zstd/pg_restore
# into a fresh database with identical row counts, verifies with a test
# restore, and exits 65 once one byte of the stored object is flipped;
# restore, WAL push/fetch and s3-verify through S3.
. "$(dirname "$0")/../lib/common.sh"
. "$ROOT/tests/lib/pg.sh"
. "$ROOT/tests/lib/s3.sh"
pg_start || bail_out "PostgreSQL starts"
s3_start || bail_out "s3rver starts"
pg_make_sample_db t230 || bail_out "sample database t230"
at_exit 'psql_q "drop database if exists t230"; psql_q "drop database if exists t230_fresh"; psql_q "drop database if exists verify_restore"'
# Random text, so that the compressed archive still needs several 5 MiB parts.
psql_q -d t230 "insert into documents (title, content) select 'bulk ' || g, md5(random()::text) || md5(random()::text) || md5(random()::text) from generate_series(1, 250000) g" >/dev/null

cat >"$T/opsctl.conf" <<CONF
[general]
environment = dev
[backup]
databases = t230
[s3]
prefix = rag/backups
part_size = 5242880
CONF
export OPSCTL_CONFIG="$T/opsctl.conf"
counts() {
	psql_q -d "$1" "select 'documents', count(*) from documents union all select 'document_chunks', count(*) from document_chunks union all select 'queries', count(*) from queries order by 1"
}

run "$OPSCTL" --output json backup --type full --s3
expect_rc 0 "backup --type full --s3 exits 0"
ID=$(json_get 'd["id"]')
expect_json_true 'd["store"].startswith("s3://opsctl-test/rag/backups/")' "the store is the bucket and prefix"
expect_json_true 'd["size_bytes"] > 5242880' "the archive is larger than one part (multipart upload)"
OBJ="$S3_DIR/opsctl-test/rag/backups/$ID/backup.tar.zst._S3rver_object"
if [ -f "$OBJ" ]; then ok "the object is in the bucket under the prefix"; else not_ok "the object is in the bucket under the prefix"; find "$S3_DIR" -type f | sed 's/^/#   /' | head; fi

# Stock tools on the stored bytes.
if zstd -tq "$OBJ" && tar --zstd -tf "$OBJ" >/dev/null; then ok "stock zstd and tar open the object"; else not_ok "stock zstd and tar open the object"; fi
PGOPTIONS='-c client_min_messages=warning' psql_q "drop database if exists t230_fresh" >/dev/null
psql_q "create database t230_fresh" >/dev/null
if tar --zstd -xOf "$OBJ" --wildcards 't230.dump/0*' | pg_restore --no-owner -d t230_fresh 2>"$T/pgr.err"; then ok "stock pg_restore restores it into a fresh database"; else not_ok "stock pg_restore restores it"; sed 's/^/#   /' "$T/pgr.err"; fi
if [ "$(counts t230)" = "$(counts t230_fresh)" ]; then ok "identical row counts"; else not_ok "identical row counts"; fi

run "$OPSCTL" --output json backup list --s3
expect_json_true "find(d['backups'], 'id', '$ID')['status'] == 'complete'" "list --s3 shows it"
run "$OPSCTL" --output json backup verify --s3
expect_rc 0 "verify --s3 passes (checksums, test restore, row counts)"
expect_json_true 'd["databases"][0]["status"] == "ok" and d["databases"][0]["tables_mismatched"] == 0' "row counts match"

cp "$OBJ" "$T/object.keep"
python3 - "$OBJ" <<'PY'
import os, sys
p = sys.argv[1]
off = os.path.getsize(p) // 3
with open(p, "r+b") as f:
    f.seek(off); b = f.read(1); f.seek(off); f.write(bytes([b[0] ^ 0x01]))
PY
run "$OPSCTL" backup verify --s3 -b "$ID"
expect_fail 65 "one flipped byte in the stored object: verify exits 65 naming the member" "t230.dump/"
# A truncated object shows in the listing's sizes, before any verify.
head -c 1000 "$T/object.keep" >"$OBJ"
run "$OPSCTL" --output json backup list --s3
expect_json_true "find(d['backups'], 'id', '$ID')['status'] == 'damaged' and '1000 bytes' in find(d['backups'], 'id', '$ID')['error']" "list --s3 shows a truncated object as damaged"
cp "$T/object.keep" "$OBJ"
run "$OPSCTL" --output json backup list --s3
expect_json_true "find(d['backups'], 'id', '$ID')['status'] != 'damaged'" "and whole again once the object is"

# Restore through S3.
psql_q -d t230 "delete from queries" >/dev/null
run "$OPSCTL" --output json backup restore "$ID" --s3 --force
expect_rc 0 "restore --s3 exits 0"
if [ "$(counts t230)" = "$(counts t230_fresh)" ]; then ok "the restored database has the backed-up rows"; else not_ok "the restored database has the backed-up rows"; fi

# WAL through S3.
head -c 1048576 /dev/urandom >"$T/000000010000000000000042"
run "$OPSCTL" backup wal-push --s3 "$T/000000010000000000000042"
expect_rc 0 "wal-push --s3"
run "$OPSCTL" backup wal-fetch --s3 000000010000000000000042 "$T/back"
expect_rc 0 "wal-fetch --s3"
if cmp -s "$T/000000010000000000000042" "$T/back"; then ok "the segment comes back identical"; else not_ok "the segment comes back identical"; fi

# s3-verify: s3rver cannot enable versioning, the proxy can pretend it did.
run "$OPSCTL" --output json backup s3-verify
expect_rc 1 "s3-verify on a bucket without versioning: exit 1"
expect_json_true 'd["versioning"] == "disabled" and d["newest_backup"]["status"] == "ok"' "versioning reported disabled, objects read back fine"
s3_fault_proxy versioned 0
run "$OPSCTL" --output json backup s3-verify
expect_rc 0 "s3-verify with versioning enabled: exit 0"
expect_json_true 'd["versioning"] == "enabled"' "versioning enabled"
s3_proxy_stop

run "$OPSCTL" backup verify --s3 -b 20200101T000000Z-full
expect_fail 1 "a backup id that does not exist in S3: exit 1" "no backup"

done_testing
