#!/usr/bin/env bash
# t100: `db maintain` on guide 003's SQLite knowledge hub: a backup copy
# first, then integrity_check, VACUUM, ANALYZE, PRAGMA optimize; a corrupt
# file stops with 65 and is left untouched; journal and metrics.
. "$(dirname "$0")/../lib/common.sh"
. "$ROOT/tests/lib/pg.sh"

counts() {	# row counts of the three tables, "content users search_log"
	sqlite3 "$1" "select (select count(*) from content) || ' ' || (select count(*) from users) || ' ' || (select count(*) from search_log)"
}

sqlite_make_sample_db "$T/knowledge_hub.db" || bail_out "sample knowledge hub"
want_counts=$(counts "$T/knowledge_hub.db")
[ "$(sqlite3 "$T/knowledge_hub.db" 'pragma freelist_count')" -gt 0 ] || bail_out "the sample has free pages"

journal_mark
run "$OPSCTL" db maintain -d "sqlite:$T/knowledge_hub.db"
expect_rc 0 "db maintain on a SQLite knowledge hub exits 0"
for task in backup integrity vacuum analyze optimize; do
	expect_out_contains "$task" "the text output names the $task task"
done
expect_out_contains "ok" "the text output shows task status"

backups=("$OPSCTL_STATE_DIR"/backups/knowledge_hub_*.db)
if [ ${#backups[@]} -eq 1 ] && [ -f "${backups[0]}" ]; then
	ok "one backup copy in STATE_DIR/backups"
	# ISO 8601 in UTC whatever TZ says, like the backup ids.
	if [[ $(basename "${backups[0]}") =~ ^knowledge_hub_([0-9]{8}T[0-9]{6})Z\.db$ ]] &&
		[ "$(date -u -d "$(sed -E 's/(....)(..)(..)T(..)(..)(..)/\1-\2-\3 \4:\5:\6/' <<<"${BASH_REMATCH[1]}") UTC" +%s)" -ge "$(($(date +%s) - 300))" ]; then
		ok "the backup is named NAME_YYYYMMDDTHHMMSSZ.db, in UTC"
	else
		not_ok "the backup is named NAME_YYYYMMDDTHHMMSSZ.db, in UTC ($(basename "${backups[0]}"))"
	fi
	if [ "$(sqlite3 "${backups[0]}" 'pragma integrity_check')" = ok ]; then ok "the backup is a valid SQLite database"; else not_ok "the backup is a valid SQLite database"; fi
	if [ "$(counts "${backups[0]}")" = "$want_counts" ]; then ok "the backup has the same row counts ($want_counts)"; else not_ok "the backup has the same row counts (got $(counts "${backups[0]}"), want $want_counts)"; fi
else
	not_ok "one backup copy in STATE_DIR/backups (found: $(ls "$OPSCTL_STATE_DIR/backups" 2>&1 | tr '\n' ' '))"
fi

if [ "$(sqlite3 "$T/knowledge_hub.db" 'pragma integrity_check')" = ok ] && [ "$(counts "$T/knowledge_hub.db")" = "$want_counts" ]; then
	ok "the database is intact with the same rows after maintenance"
else
	not_ok "the database is intact with the same rows after maintenance"
fi
fl=$(sqlite3 "$T/knowledge_hub.db" 'pragma freelist_count')
if [ "$fl" -eq 0 ]; then ok "VACUUM ran: no free pages left"; else not_ok "VACUUM ran: no free pages left ($fl)"; fi
if [ "$(sqlite3 "$T/knowledge_hub.db" "select count(*) from sqlite_master where name = 'sqlite_stat1'")" = 1 ]; then
	ok "ANALYZE ran: sqlite_stat1 exists"
else
	not_ok "ANALYZE ran: sqlite_stat1 exists"
fi
if [ -f "$T/knowledge_hub.db-journal" ] || [ -f "$T/knowledge_hub.db-wal" ]; then not_ok "no journal or WAL file left beside the database"; else ok "no journal or WAL file left beside the database"; fi

expect_journal_added 1 "one journal line per run"
expect_journal_last 'j["command"] == "db maintain" and j["status"] == "ok" and j["exit"] == 0' "journal: command db maintain, status ok, exit 0"
expect_journal_last 'all(k in j for k in ("time", "args", "environment", "duration_seconds"))' "journal: time, args, environment, duration_seconds"
prom="$OPSCTL_STATE_DIR/opsctl.prom"
# One series per task and target: the database as sqlite:ABSOLUTE_PATH.
for series in 'opsctl_last_run_timestamp_seconds{task="db_maintain",target="sqlite:' 'opsctl_last_success_timestamp_seconds{task="db_maintain",target="sqlite:' 'opsctl_last_duration_seconds{task="db_maintain",target="sqlite:'; do
	expect_file_contains "$prom" "$series" "opsctl.prom has $series"
done
if command -v promtool >/dev/null; then
	if lint=$(promtool check metrics <"$prom" 2>&1); then ok "promtool check metrics accepts opsctl.prom"; else not_ok "promtool check metrics accepts opsctl.prom"; diag "$lint"; fi
else
	skip "promtool check metrics accepts opsctl.prom" "promtool not installed"
fi

# JSON
run "$OPSCTL" --output json db maintain -d "sqlite:$T/knowledge_hub.db"
expect_rc 0 "--output json db maintain exits 0"
expect_json "--output json db maintain prints JSON"
expect_json_true 'd["command"] == "db maintain" and d["status"] == "ok" and db(0)["engine"] == "sqlite"' "JSON: command, status ok, engine sqlite"
expect_json_true 'len(db(0)["tasks"]) >= 3 and all(t["status"] == "ok" for t in db(0)["tasks"])' "JSON: every task ok"
expect_json_true 'any(305 in t.values() and "content" in t.values() for t in db(0)["tables"])' "JSON: the content table with its 305 rows"
expect_json_true 'db(0).get("backup_path", "").startswith(__import__("os").environ["OPSCTL_STATE_DIR"] + "/backups/")' "JSON: backup_path in STATE_DIR/backups"

# Retention (db.backup_retention, 30 days): old copies of this database go;
# recent ones, other databases' copies and other files stay.
B="$OPSCTL_STATE_DIR/backups"
cp "$T/knowledge_hub.db" "$B/knowledge_hub_20200101_000000.db"
cp "$T/knowledge_hub.db" "$B/knowledge_hub_20240101_000000.db"
cp "$T/knowledge_hub.db" "$B/knowledge_hub_20200102T000000Z.db"
cp "$T/knowledge_hub.db" "$B/knowledge_hub_extra_20200101_000000.db"
echo notes >"$B/notes.txt"
touch -d '40 days ago' "$B/knowledge_hub_20200101_000000.db" "$B/knowledge_hub_20200102T000000Z.db" "$B/knowledge_hub_extra_20200101_000000.db" "$B/notes.txt"
touch -d '10 days ago' "$B/knowledge_hub_20240101_000000.db"
run "$OPSCTL" db maintain -t analyze -d "sqlite:$T/knowledge_hub.db"
expect_rc 0 "db maintain with old copies in the backup directory"
if [ ! -e "$B/knowledge_hub_20200101_000000.db" ]; then ok "a copy older than 30 days is removed (the old local-time name)"; else not_ok "a copy older than 30 days is removed (the old local-time name)"; fi
if [ ! -e "$B/knowledge_hub_20200102T000000Z.db" ]; then ok "a copy older than 30 days is removed (UTC name)"; else not_ok "a copy older than 30 days is removed (UTC name)"; fi
if [ -e "$B/knowledge_hub_20240101_000000.db" ]; then ok "a copy 10 days old is kept"; else not_ok "a copy 10 days old is kept"; fi
if [ -e "$B/knowledge_hub_extra_20200101_000000.db" ]; then ok "an old copy of another database (knowledge_hub_extra) is kept"; else not_ok "an old copy of another database (knowledge_hub_extra) is kept"; fi
if [ -e "$B/notes.txt" ]; then ok "an unrelated old file is kept"; else not_ok "an unrelated old file is kept"; fi
printf '[db]\nbackup_dir = %s\n' "$T/elsewhere" >"$T/bdir.conf"
run "$OPSCTL" --config "$T/bdir.conf" db maintain -t analyze -d "sqlite:$T/knowledge_hub.db"
n=$(ls "$T"/elsewhere/knowledge_hub_*.db 2>/dev/null | wc -l)
if [ "$RC" -eq 0 ] && [ "$n" -eq 1 ]; then ok "db.backup_dir puts the copy elsewhere"; else not_ok "db.backup_dir puts the copy elsewhere ($n copies)"; diag_run; fi

# A plain path ending in .db, relative to the working directory.
run "$OPSCTL" db maintain -t vacuum -d knowledge_hub.db
expect_rc 0 "a relative path ending in .db is a SQLite target"

# Several files in turn.
cp "$T/knowledge_hub.db" "$T/second.db"
run "$OPSCTL" --output json db maintain -d "sqlite:$T/knowledge_hub.db,sqlite:$T/second.db"
expect_rc 0 "-d a.db,b.db maintains both"
expect_json_true '[x["database"][-6:] for x in d["databases"]] == ["hub.db", "ond.db"]' "both databases in order in the JSON"
n=$(ls "$OPSCTL_STATE_DIR"/backups/second_*.db 2>/dev/null | wc -l)
if [ "$n" -eq 1 ]; then ok "the second database was backed up too"; else not_ok "the second database was backed up too ($n copies)"; fi

# --dry-run changes nothing.
cp "$T/knowledge_hub.db" "$T/dry.db"
sqlite3 "$T/dry.db" "delete from search_log where id % 3 = 0"
cp "$T/dry.db" "$T/dry.orig"
journal_mark
run "$OPSCTL" db maintain --dry-run -d "sqlite:$T/dry.db"
expect_rc 0 "--dry-run exits 0"
if cmp -s "$T/dry.db" "$T/dry.orig"; then ok "--dry-run leaves the file unchanged"; else not_ok "--dry-run leaves the file unchanged"; fi
if ls "$OPSCTL_STATE_DIR"/backups/dry_* >/dev/null 2>&1; then not_ok "--dry-run writes no backup"; else ok "--dry-run writes no backup"; fi
expect_journal_added 0 "--dry-run writes no journal line"

# A corrupt file: exit 65, nothing changed, no half-done work.
cp "$T/knowledge_hub.db" "$T/corrupt.db"
pagesize=$(sqlite3 "$T/corrupt.db" 'pragma page_size')
# Overwrite two pages in the middle of the file (not the header) with garbage.
python3 - "$T/corrupt.db" "$pagesize" <<'PY'
import sys
path, ps = sys.argv[1], int(sys.argv[2])
with open(path, "r+b") as f:
    f.seek(ps * 3)
    f.write(bytes((i * 7 + 13) % 256 for i in range(ps * 2)))
PY
cp "$T/corrupt.db" "$T/corrupt.orig"
journal_mark
run "$OPSCTL" db maintain -d "sqlite:$T/corrupt.db"
expect_fail 65 "a corrupt SQLite file: exit 65 with one error line" "corrupt.db"
if cmp -s "$T/corrupt.db" "$T/corrupt.orig"; then ok "the corrupt file is left unchanged"; else not_ok "the corrupt file is left unchanged"; fi
expect_journal_added 1 "a failed run is journalled too"
expect_journal_last 'j["status"] == "failed" and j["exit"] == 65' "journal: status failed, exit 65"
expect_file_contains "$OPSCTL_STATE_DIR/opsctl.prom" "opsctl_last_exit_status{task=\"db_maintain\",target=\"sqlite:$T/corrupt.db\"} 65" "opsctl.prom: last exit status 65 for the corrupt file's own series"
if grep -q "opsctl_last_success_timestamp_seconds{task=\"db_maintain\",target=\"sqlite:$T/knowledge_hub.db\"}" "$OPSCTL_STATE_DIR/opsctl.prom"; then
	ok "the failure did not touch the good database's success series"
else
	not_ok "the failure did not touch the good database's success series"
fi

printf 'this is not a database, just text that is long enough to have a header..........................................\n' >"$T/text.db"
cp "$T/text.db" "$T/text.orig"
run "$OPSCTL" db maintain -d "$T/text.db"
expect_fail 65 "a text file named .db: exit 65"
if cmp -s "$T/text.db" "$T/text.orig"; then ok "the text file is left unchanged"; else not_ok "the text file is left unchanged"; fi

# A missing file is an error and is not created.
run "$OPSCTL" db maintain -d "sqlite:$T/nope.db"
if [ "$RC" -ne 0 ] && [ ! -e "$T/nope.db" ]; then ok "a missing SQLite file fails and is not created (exit $RC)"; else not_ok "a missing SQLite file fails and is not created"; diag_run; fi
expect_err_one_line "a missing SQLite file: one error line"
expect_err_contains "nope.db" "a missing SQLite file: the error names it"

# db vacuum and db reindex rewrite the file: a fresh copy first (DESIGN),
# and a file that fails integrity_check is not touched.
run "$OPSCTL" --output json db vacuum -d "sqlite:$T/knowledge_hub.db"
expect_rc 0 "db vacuum on SQLite exits 0"
bp=$(json_get 'd["databases"][0]["backup_path"]' 2>/dev/null || true)
if [ -n "$bp" ] && [ -s "$bp" ] && [ "$(counts "$bp")" = "$want_counts" ]; then ok "db vacuum made a backup copy first ($bp)"; else not_ok "db vacuum makes a backup copy first"; diag_run; fi
run "$OPSCTL" --output json db reindex -d "sqlite:$T/knowledge_hub.db"
expect_rc 0 "db reindex on SQLite exits 0"
if json_get 'd["databases"][0]["backup_path"]' >/dev/null 2>&1; then ok "db reindex made a backup copy first"; else not_ok "db reindex makes a backup copy first"; diag_run; fi

# Operations that exist only on PostgreSQL say so.
run "$OPSCTL" db bloat -d "sqlite:$T/knowledge_hub.db"
expect_fail 64 "db bloat on SQLite: exit 64" "SQLite"

# Retention through core/walk: --dry-run names the old copies and removes
# none; the real run removes them and says so; a copy that cannot be removed
# is reported (JSON and one warning) without failing the maintenance; a
# symlink named like an old copy is not a copy, and its target stays.
B="$OPSCTL_STATE_DIR/backups"
rm -f "$B"/knowledge_hub_*.db
cp "$T/knowledge_hub.db" "$B/knowledge_hub_20200101_000000.db"
cp "$T/knowledge_hub.db" "$B/knowledge_hub_20200102_000000-1.db"
touch -d '40 days ago' "$B/knowledge_hub_20200101_000000.db" "$B/knowledge_hub_20200102_000000-1.db"
old_bytes=$(($(stat -c %s "$B/knowledge_hub_20200101_000000.db") + $(stat -c %s "$B/knowledge_hub_20200102_000000-1.db")))
printf 'outside' >"$T/outside.db"
touch -d '40 days ago' "$T/outside.db"
ln -s "$T/outside.db" "$B/knowledge_hub_20200103_000000.db"
touch -h -d '40 days ago' "$B/knowledge_hub_20200103_000000.db"
ls "$B" >"$T/before-dry"
run "$OPSCTL" --output json db maintain --dry-run -d "sqlite:$T/knowledge_hub.db"
expect_rc 0 "db maintain --dry-run with old copies exits 0"
expect_json_true 'sorted(db(0)["pruned"]) == ["knowledge_hub_20200101_000000.db", "knowledge_hub_20200102_000000-1.db"]' "--dry-run names the two old copies retention would remove"
expect_json_true "db(0)[\"pruned_size_bytes\"] == $old_bytes and db(0)[\"prune_errors\"] == []" "--dry-run: pruned_size_bytes is their size, no errors"
if ls "$B" | cmp -s - "$T/before-dry"; then ok "--dry-run removes no copy and writes none"; else not_ok "--dry-run removes no copy and writes none"; diff "$T/before-dry" <(ls "$B") | sed 's/^/#   /'; fi
run "$OPSCTL" --output json db maintain -t analyze -d "sqlite:$T/knowledge_hub.db"
expect_rc 0 "db maintain removes the old copies"
expect_json_true 'sorted(db(0)["pruned"]) == ["knowledge_hub_20200101_000000.db", "knowledge_hub_20200102_000000-1.db"]' "the report names the copies removed"
if [ ! -e "$B/knowledge_hub_20200101_000000.db" ] && [ ! -e "$B/knowledge_hub_20200102_000000-1.db" ]; then ok "the old copies are gone"; else not_ok "the old copies are gone"; fi
if [ -L "$B/knowledge_hub_20200103_000000.db" ] && [ "$(cat "$T/outside.db")" = outside ]; then ok "a symlink named like an old copy stays, and so does its target"; else not_ok "a symlink named like an old copy stays, and so does its target"; fi
rm -f "$B/knowledge_hub_20200103_000000.db"
cp "$T/knowledge_hub.db" "$B/knowledge_hub_20200104_000000.db"
touch -d '40 days ago' "$B/knowledge_hub_20200104_000000.db"
if chattr +i "$B/knowledge_hub_20200104_000000.db" 2>/dev/null; then
	at_exit "chattr -i '$B/knowledge_hub_20200104_000000.db'"
	run "$OPSCTL" --output json db maintain -t analyze -d "sqlite:$T/knowledge_hub.db"
	expect_rc 0 "a copy that cannot be removed does not fail the maintenance"
	expect_json_true 'len(db(0)["prune_errors"]) == 1 and "cannot remove" in db(0)["prune_errors"][0] and "knowledge_hub_20200104_000000.db" in db(0)["prune_errors"][0] and db(0)["pruned"] == []' "the report names the copy that could not be removed, and why"
	expect_err_contains "warning: 1 old entry in '" "one warning on stderr says so"
	chattr -i "$B/knowledge_hub_20200104_000000.db"
else
	skip "a copy that cannot be removed is reported" "chattr +i is not supported on this file system"
	skip "the report names the copy that could not be removed" "chattr +i is not supported on this file system"
	skip "one warning on stderr says so" "chattr +i is not supported on this file system"
fi

done_testing
