#!/usr/bin/env bash
# t210: WAL archiving and physical backups against a PostgreSQL 15 cluster of
# this test's own, with archive_command = 'opsctl backup wal-push %p':
# wal-push/wal-fetch round trips, `backup --type wal` (spool and archiver),
# a physical base backup, and point-in-time recovery from the base backup
# plus archived WAL into a second cluster, with restore_command = wal-fetch.
. "$(dirname "$0")/../lib/common.sh"
. "$ROOT/tests/lib/pg.sh"

PGB=/usr/lib/postgresql/15/bin
[ -x "$PGB/initdb" ] || bail_out "PostgreSQL 15 binaries (scripts/setup)"
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

W="$T/walt"
pg_physical_conf "$W"
run_pg() { run as_pg env OPSCTL_CONFIG="$OPSCTL_CONFIG" OPSCTL_STATE_DIR="$STATE_PG" PGPORT="$PORT" "$@"; }

pg_archiving_start "$W"
psql -XAtq -c "create table t (id int, note text)" >/dev/null
psql -XAtq -c "insert into t select g, 'before' from generate_series(1, 1000) g" >/dev/null

# ---- wal-push / wal-fetch by hand ----
head -c 16777216 /dev/urandom >"$W/000000010000000000000099"
chmod 644 "$W/000000010000000000000099"
run_pg "$OPSCTL" backup wal-push "$W/000000010000000000000099"
expect_rc 0 "wal-push of a segment exits 0"
if [ -f "$STORE/wal/000000010000000000000099.zst" ] && [ -f "$STORE/wal/000000010000000000000099.json" ]; then ok "segment and its record are stored"; else not_ok "segment and its record are stored"; fi
if zstd -dc "$STORE/wal/000000010000000000000099.zst" | cmp -s - "$W/000000010000000000000099"; then ok "stock zstd -d gives the segment back"; else not_ok "stock zstd -d gives the segment back"; fi
run_pg "$OPSCTL" backup wal-push "$W/000000010000000000000099"
expect_rc 0 "pushing the same segment again succeeds (PostgreSQL retries)"
mkdir -p "$W/other"
chmod 755 "$W/other"
head -c 16777216 /dev/urandom >"$W/other/000000010000000000000099"
chmod 644 "$W/other/000000010000000000000099"
run_pg "$OPSCTL" backup wal-push "$W/other/000000010000000000000099"
expect_fail 1 "the same name with other content: exit 1" "different content"
run_pg "$OPSCTL" backup wal-fetch 000000010000000000000099 "$W/fetched"
expect_rc 0 "wal-fetch exits 0"
if cmp -s "$W/fetched" "$W/000000010000000000000099"; then ok "wal-fetch gives back the identical segment"; else not_ok "wal-fetch gives back the identical segment"; fi
run_pg "$OPSCTL" backup wal-fetch 0000000100000000000000AA "$W/none"
expect_fail 1 "wal-fetch of a segment never stored: exit 1" "not in"
if [ ! -e "$W/none" ]; then ok "nothing is written for a missing segment"; else not_ok "nothing is written for a missing segment"; fi
run_pg "$OPSCTL" backup wal-push "$W/opsctl.conf"
expect_fail 64 "wal-push of a file that is not a segment: exit 64" "not a WAL segment"
# Damage in the store is refused, not handed to PostgreSQL.
cp "$STORE/wal/000000010000000000000099.zst" "$W/keep.zst"
printf '\x00' | dd of="$STORE/wal/000000010000000000000099.zst" bs=1 seek=1000 conv=notrunc status=none
run_pg "$OPSCTL" backup wal-fetch 000000010000000000000099 "$W/fetched2"
expect_fail 65 "a damaged stored segment: wal-fetch exits 65"
if [ ! -e "$W/fetched2" ]; then ok "no damaged segment is handed over"; else not_ok "no damaged segment is handed over"; fi
cp "$W/keep.zst" "$STORE/wal/000000010000000000000099.zst"
rm -f "$STORE/wal/000000010000000000000099".*

# ---- the archiver itself runs wal-push ----
run_pg "$OPSCTL" --output json backup --type wal
expect_rc 0 "backup --type wal: the switched segment is archived through wal-push"
expect_json_true 'd["wal"]["last_archived_wal"] >= d["wal"]["segment"]' "the archiver reports the segment stored"
expect_json_true 'd["wal"]["duration_seconds"] >= 0 and "seconds" not in d["wal"]' "the wait is reported as duration_seconds"
seg=$(json_get 'd["wal"]["segment"]')
if [ -f "$STORE/wal/$seg.json" ]; then ok "the segment $seg is in the store"; else not_ok "the segment $seg is in the store"; ls "$STORE/wal" | sed 's/^/#   /'; fi

# ---- a physical base backup ----
run_pg "$OPSCTL" --output json backup --type full
expect_rc 0 "physical full backup exits 0"
BID=$(json_get 'd["id"]')
expect_json_true 'd["method"] == "physical" and d["databases"][0]["wal_start"] and d["databases"][0]["wal_stop"]' "WAL start and stop recorded"
expect_json_true 'd["databases"][0]["size_bytes"] > 0 and d["databases"][0]["duration_seconds"] >= 0' "the base backup's size_bytes and duration_seconds"
OUT_SAVE=$OUT
OUT="$STORE/$BID/manifest.json"
expect_json_true 'd["method"] == "physical" and len(d["wal_start"]) == 24' "manifest: method physical, WAL start segment"
OUT=$OUT_SAVE
run_pg "$OPSCTL" --output json backup verify -b "$BID"
expect_rc 0 "the physical backup verifies (checksums)"

# Rows written after the base backup reach the recovered cluster through WAL.
psql -XAtq -c "insert into t select g, 'after' from generate_series(1001, 1500) g" >/dev/null
run_pg "$OPSCTL" backup --type wal
expect_rc 0 "WAL after the base backup is archived"

# ---- point-in-time recovery into a second cluster ----
R="$W/recovered"
as_pg mkdir -p "$R"
as_pg chmod 700 "$R"
if tar --zstd -xOf "$STORE/$BID/backup.tar.zst" --wildcards 'base.tar/0*' | as_pg tar -x -C "$R"; then ok "stock tar extracts the base backup"; else not_ok "stock tar extracts the base backup"; fi
if [ -f "$R/PG_VERSION" ] && [ -f "$R/backup_label" ]; then ok "it is a data directory with a backup_label"; else not_ok "it is a data directory with a backup_label"; fi
PORT2=$(pg_free_port)
cat >>"$R/postgresql.conf" <<EOF
port = $PORT2
archive_mode = off
restore_command = 'env OPSCTL_CONFIG=$W/opsctl.conf $OPSCTL backup wal-fetch %f %p'
EOF
as_pg touch "$R/recovery.signal"
if as_pg "$PGB/pg_ctl" -D "$R" -l "$W/recovered.log" -w -t 60 start >/dev/null; then ok "the recovered cluster starts, replaying archived WAL"; else not_ok "the recovered cluster starts"; tail -n 20 "$W/recovered.log" | sed 's/^/#   /'; fi
at_exit "as_pg $PGB/pg_ctl -D $R -m immediate stop"
wait_for 30 psql -XAtq -p "$PORT2" -c "select 1" || true
got=$(psql -XAtq -p "$PORT2" -c "select count(*) from t" 2>/dev/null)
if [ "$got" = 1500 ]; then ok "all 1500 rows, including those after the base backup, are recovered"; else not_ok "all 1500 rows are recovered (got '$got')"; tail -n 20 "$W/recovered.log" | sed 's/^/#   /'; fi
if grep -q "restored log file" "$W/recovered.log"; then ok "the server log shows segments restored through wal-fetch"; else not_ok "the server log shows segments restored through wal-fetch"; fi

# ---- a server that is down is named ----
as_pg "$PGB/pg_ctl" -D "$R" -m fast stop >/dev/null
run env PGPORT="$PORT2" "$OPSCTL" backup --type wal
expect_fail 69 "backup --type wal with the server down: exit 69"

# ---- a spool directory instead of the archiver ----
SPOOL="$W/spool"
mkdir -p "$SPOOL"
head -c 1048576 /dev/urandom >"$SPOOL/0000000100000000000000F1"
head -c 1048576 /dev/urandom >"$SPOOL/0000000100000000000000F2"
cp "$SPOOL/0000000100000000000000F2" "$W/f2"
printf 'not wal' >"$SPOOL/README"
chmod -R a+rwX "$SPOOL"
cat >"$W/spool.conf" <<EOF
[general]
state_dir = $STATE_PG
[backup]
dir = $STORE
wal_spool = $SPOOL
EOF
chmod 644 "$W/spool.conf"
run as_pg env OPSCTL_STATE_DIR="$STATE_PG" "$OPSCTL" --config "$W/spool.conf" --output json backup --type wal
expect_rc 0 "backup --type wal ships the spool"
expect_json_true 'd["wal"]["shipped"] == ["0000000100000000000000F1", "0000000100000000000000F2"]' "both segments shipped, oldest first, other files ignored"
if [ ! -e "$SPOOL/0000000100000000000000F1" ] && [ -e "$SPOOL/README" ]; then ok "shipped segments leave the spool, other files stay"; else not_ok "shipped segments leave the spool"; fi
run_pg "$OPSCTL" backup wal-fetch 0000000100000000000000F2 "$W/f2.back"
if cmp -s "$W/f2" "$W/f2.back"; then ok "a spooled segment is fetchable"; else not_ok "a spooled segment is fetchable"; fi

# ---- retention keeps the WAL the kept base backup needs ----
head -c 65536 /dev/urandom >"$W/000000010000000000000000"
chmod 644 "$W/000000010000000000000000"
run_pg "$OPSCTL" backup wal-push "$W/000000010000000000000000"
expect_rc 0 "an old segment is pushed"
wal_start=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["wal_start"])' "$STORE/$BID/manifest.json")
run_pg "$OPSCTL" --output json backup prune
expect_rc 0 "backup prune exits 0"
expect_json_true '"wal/000000010000000000000000.json" in d["wal_pruned"]' "WAL older than the kept base backup ($wal_start) is pruned"
expect_json_true 'all(k[4:28] < "'"$wal_start"'" for k in d["wal_pruned"])' "nothing the base backup needs is pruned"
if [ -f "$STORE/wal/$wal_start.json" ]; then ok "the base backup's first segment is still stored"; else not_ok "the base backup's first segment is still stored"; fi

done_testing
