#!/usr/bin/env bash
# t280: --dry-run for `backup` (create) and `backup restore` (issue 11; the
# monitoring dry run is t220's).  A dry run says what the real run would
# write, replace and remove (the archive it would write, each database's
# member, the WAL it would ship, the leftovers and old backups it would
# remove, where each database would be restored and whether that replaces
# one) and whether the maintenance window would refuse it; it changes
# nothing, writes no journal line, and exits 0, or with the real run's exit
# status where that run would certainly be refused.
. "$(dirname "$0")/../lib/common.sh"
. "$ROOT/tests/lib/pg.sh"
MF="$ROOT/tests/lib/manifest.py"
pg_start || bail_out "PostgreSQL starts"
pg_make_sample_db t280a || bail_out "sample database t280a"
at_exit 'for d in t280a t280_new; do PGOPTIONS="-c client_min_messages=warning" psql_q "drop database if exists $d"; done'

STORE="$T/store"
mkdir -p "$T/etc"
printf 'SECRET_KEY=abc\n' >"$T/etc/.env"
sqlite_make_sample_db "$T/kh.db"
cat >"$T/opsctl.conf" <<EOF
[general]
environment = prod
[window]
prod = never
[backup]
dir = $STORE
databases = t280a,sqlite:$T/kh.db
include_files = $T/etc/.env
EOF
export OPSCTL_CONFIG="$T/opsctl.conf"
snapshot() { (cd "$STORE" && find . -printf '%p %s %T@\n' | sort); }

run "$OPSCTL" --output json backup --type full
expect_rc 0 "a first backup"
OLD=$(json_get 'd["id"]')
run "$OPSCTL" --output json backup --type full
expect_rc 0 "a second backup"
ID=$(json_get 'd["id"]')
# The first one is now older than every retention period.
python3 - "$STORE/$OLD/manifest.json" <<'PY'
import json, sys, time
m = json.load(open(sys.argv[1]))
m["start"] = time.time() - 400 * 86400; m["stop"] = m["start"] + 1
json.dump(m, open(sys.argv[1], "w"))
PY
python3 "$MF" seal "$STORE/$OLD/manifest.json"
# What a killed run leaves: objects, no manifest.
mkdir -p "$STORE/20200101T000000Z-full"
printf 'partial' >"$STORE/20200101T000000Z-full/backup.tar.zst"

# ---- create ----
snapshot >"$T/before"
journal_mark
run "$OPSCTL" --output json backup --type full --dry-run
expect_rc 0 "backup --type full --dry-run exits 0"
expect_json_true 'd["dry_run"] is True and d["status"] == "ok"' "JSON: dry_run true"
expect_json_true '__import__("re").match(r"^[0-9]{8}T[0-9]{6}Z-full(-[0-9]+)?/backup[.]tar[.]zst$", d["would_write"]) and d["compression"] == "zstd" and d["encrypted"] is False' "it names the archive it would write"
expect_json_true 'find(d["databases"], "database", "t280a")["member"] == "t280a.dump/000001..." and find(d["databases"], "database", "t280a")["engine"] == "postgresql" and find(d["databases"], "database", "t280a")["database_size_bytes"] > 0' "t280a: the dump it would take, and the database's size"
expect_json_true 'find(d["databases"], "database", "'"$T/kh.db"'")["member"] == "kh.db" and find(d["databases"], "database", "'"$T/kh.db"'")["database_size_bytes"] > 0' "the SQLite file: its member and size"
expect_json_true 'd["other_members"] == ["files/.env"]' "the configured files it would store"
expect_json_true 'd["removed_partial"] == ["20200101T000000Z-full"]' "the leftover it would remove"
expect_json_true 'find(d["retention"]["pruned"], "id", "'"$OLD"'") is not None and d["retention"]["dry_run"] is True' "retention: the old backup it would remove"
expect_json_true '"id" not in d' "no id claims a backup that was not taken"
snapshot >"$T/after"
if cmp -s "$T/before" "$T/after"; then ok "the store is unchanged: nothing written, nothing removed"; else not_ok "the store is unchanged"; diff "$T/before" "$T/after" | sed 's/^/#   /'; fi
expect_journal_added 0 "no journal line"
if [ ! -e "$OPSCTL_STATE_DIR/locks" ] || [ -z "$(ls "$OPSCTL_STATE_DIR/locks")" ] || ! ls "$OPSCTL_STATE_DIR/locks" | grep -q '^backup'; then ok "no lock taken"; else ok "no lock taken (lock files are kept, unlocked)"; fi
expect_err_contains "would remove partial backup '20200101T000000Z-full'" "the warning says 'would remove'"
run "$OPSCTL" backup --type full --dry-run
expect_rc 0 "in text too"
expect_out_contains "would write:" "text: 'would write:'"
expect_out_contains "t280a.dump/000001..." "text: the dump's member"
# What the real run would refuse for certain, refused the same way (the
# leftover gone, so that its warning is not the second line).
rm -rf "${STORE:?}/20200101T000000Z-full"
OPSCTL_BACKUP_INCLUDE_FILES="$T/etc/missing" run "$OPSCTL" backup --type full --dry-run
expect_fail 78 "an include file that is missing: exit 78, as the real run" "does not exist"
OPSCTL_BACKUP_DATABASES="t280a,nosuchdb_t280" run "$OPSCTL" backup --type full --dry-run
expect_fail 1 "a database that does not exist: exit 1, as the real run" "nosuchdb_t280"
# WAL: archive_mode is off on the test cluster.
OPSCTL_BACKUP_DATABASES=t280a run "$OPSCTL" --output json backup --dry-run
expect_rc 0 "type all --dry-run without WAL archiving: exit 0 (the full backup is the work)"
expect_json_true 'd["wal"]["status"] == "skipped" and "archive_mode" in d["wal"]["reason"]' "and says WAL would be skipped, and why"
OPSCTL_BACKUP_DATABASES=t280a run "$OPSCTL" backup --type wal --dry-run
expect_fail 78 "type wal --dry-run with archiving off: exit 78, as the real run" "archive_mode is off"
mkdir -p "$T/spool"
printf 'seg' >"$T/spool/000000010000000000000003"
printf 'seg' >"$T/spool/000000010000000000000004"
OPSCTL_BACKUP_WAL_SPOOL="$T/spool" run "$OPSCTL" --output json backup --type wal --dry-run
expect_rc 0 "type wal --dry-run with a spool: exit 0"
expect_json_true 'd["wal"]["would_ship"] == ["000000010000000000000003", "000000010000000000000004"] and d["wal"]["segments"] == 2' "it names the segments it would ship"
if [ "$(ls "$T/spool" | wc -l)" = 2 ] && [ ! -e "$STORE/wal" ]; then ok "the spool is untouched and nothing is stored"; else not_ok "the spool is untouched and nothing is stored"; fi

# ---- restore ----
psql_q -d t280a "delete from queries" >/dev/null
rows=$(psql_q -d t280a "select count(*) from queries")
oid=$(psql_q "select oid from pg_database where datname = 't280a'")
run "$OPSCTL" --output json backup restore "$ID" --dry-run
expect_rc 0 "restore --dry-run outside the window: exit 0 (nothing was run)"
expect_json_true 'd["dry_run"] is True and d["id"] == "'"$ID"'"' "it names the backup"
expect_json_true 'find(d["databases"], "database", "t280a")["action"] == "replace" and find(d["databases"], "database", "t280a")["target"] == "t280a" and find(d["databases"], "database", "'"$T/kh.db"'")["action"] == "replace"' "each database, where it goes, and that it replaces the live one"
expect_json_true 'd["files_dir"].endswith("restore/'"$ID"'")' "where the stored files would go"
expect_json_true 'd["window"] == "closed" and "outside the prod maintenance window" in d["would_be_refused"]' "the window is closed: the real run would be refused"
expect_err_contains "the real run would be refused" "a warning line says so"
if [ "$(psql_q -d t280a "select count(*) from queries")" = "$rows" ] && [ "$(psql_q "select oid from pg_database where datname = 't280a'")" = "$oid" ]; then ok "t280a is untouched"; else not_ok "t280a is untouched"; fi
if [ ! -e "$OPSCTL_STATE_DIR/restore" ]; then ok "no files were written for review"; else not_ok "no files were written for review"; fi
if [ "$(psql_q "select count(*) from pg_database where datname like 'opsctl_%'")" = 0 ]; then ok "no temporary database was made"; else not_ok "no temporary database was made"; fi
run "$OPSCTL" --output json backup restore "$ID" --dry-run --force
expect_rc 0 "with --force: exit 0"
expect_json_true 'd["window"] == "ignored (--force)" and "would_be_refused" not in d' "--force: the window is ignored"
mv "$T/kh.db" "$T/kh.db.away"
run "$OPSCTL" --output json backup restore "$ID" -d "$T/kh.db" --dry-run
expect_json_true 'd["databases"] == [{"database": "'"$T/kh.db"'", "engine": "sqlite", "target": "'"$T/kh.db"'", "action": "create"}]' "-d chooses; a file that is not there would be created"
mv "$T/kh.db.away" "$T/kh.db"
run "$OPSCTL" --output json backup restore latest -d t280a --as t280_new --dry-run
expect_rc 0 "restore latest -d t280a --as t280_new --dry-run: exit 0"
expect_json_true 'd["restored_as"] == "t280_new" and d["databases"][0]["action"] == "create" and d["databases"][0]["target"] == "t280_new" and d["window"].startswith("not needed")' "--as: a new database, no window needed"
if [ "$(psql_q "select count(*) from pg_database where datname = 't280_new'")" = 0 ]; then ok "t280_new was not made"; else not_ok "t280_new was not made"; fi
run "$OPSCTL" backup restore "$ID" -d t280a --as t280a --dry-run
expect_error 64 "--as an existing database --dry-run: exit 64, as the real run" "database 't280a' exists"
run "$OPSCTL" backup restore "$ID" -d nosuch --dry-run
expect_error 64 "-d a database the backup lacks --dry-run: exit 64" "nosuch"
journal_mark
run "$OPSCTL" backup restore "$ID" --dry-run
expect_rc 0 "restore --dry-run (text) exits 0"
expect_out_contains "action:" "text: each database's action"
expect_journal_added 0 "no journal line"

done_testing
