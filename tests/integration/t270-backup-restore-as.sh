#!/usr/bin/env bash
# t270: `opsctl backup restore ID --as NEWDB` (issue 11) restores one
# database next to the live one and never touches the live one: PostgreSQL
# into a new database, SQLite into a new file; an existing NEWDB or file is
# refused (exit 64) naming it, a protected path too (77), and it needs no
# maintenance window.  Text and JSON say where it went; a journal line.
# And the manifest's SQLite paths are not trusted as restore targets: a
# resealed manifest naming a path no configured backup database names, or a
# protected one, is refused (exit 65) naming it, unless --as gives the
# target.
. "$(dirname "$0")/../lib/common.sh"
. "$ROOT/tests/lib/pg.sh"
MF="$ROOT/tests/lib/manifest.py"
pg_start || bail_out "PostgreSQL starts"
pg_make_sample_db t270a || bail_out "sample database t270a"
pg_make_sample_db t270b || bail_out "sample database t270b"
at_exit 'for d in t270a t270b t270_copy t270_other; do PGOPTIONS="-c client_min_messages=warning" psql_q "drop database if exists $d"; done'

STORE="$T/store"
mkdir -p "$T/etc"
printf 'SECRET_KEY=abc\n' >"$T/etc/.env"
cat >"$T/opsctl.conf" <<EOF
[general]
environment = prod
[window]
prod = never
[backup]
dir = $STORE
databases = t270a,t270b
include_files = $T/etc/.env
EOF
export OPSCTL_CONFIG="$T/opsctl.conf"
counts() {	# counts DB: "table rows" lines, sorted
	psql_q -d "$1" "select 'documents', count(*) from documents union all select 'document_chunks', count(*) from document_chunks union all select 'queries', count(*) from queries order by 1"
}
dbexists() { [ "$(psql_q "select count(*) from pg_database where datname = '$1'")" = 1 ]; }

run "$OPSCTL" --output json backup --type full
expect_rc 0 "a full backup of t270a and t270b"
ID=$(json_get 'd["id"]')
backed=$(counts t270a)
# The live database moves on after the backup.
psql_q -d t270a "delete from queries; insert into documents (title) values ('after the backup')" >/dev/null
live=$(counts t270a)
oid=$(psql_q "select oid from pg_database where datname = 't270a'")

# ---- PostgreSQL: --as a new database ----
journal_mark
run "$OPSCTL" --output json backup restore "$ID" -d t270a --as t270_copy
expect_rc 0 "restore -d t270a --as t270_copy exits 0 (outside the prod window: it replaces nothing)"
if dbexists t270_copy && [ "$(counts t270_copy)" = "$backed" ]; then ok "t270_copy holds the backup's rows"; else not_ok "t270_copy holds the backup's rows"; diag "$(counts t270_copy 2>&1)"; fi
if [ "$(counts t270a)" = "$live" ] && [ "$(psql_q "select oid from pg_database where datname = 't270a'")" = "$oid" ]; then ok "the live t270a is untouched (same rows, same database)"; else not_ok "the live t270a is untouched"; fi
expect_json_true 'd["status"] == "ok" and d["restored_as"] == "t270_copy" and d["database"] == "t270a"' "JSON: restored_as t270_copy, from t270a"
expect_json_true 'find(d["databases"], "database", "t270a")["restored_as"] == "t270_copy" and find(d["databases"], "database", "t270b")["status"] == "skipped"' "JSON: per database, where it went; t270b skipped"
expect_json_true '"files_dir" not in d' "JSON: the stored files are not written out (only checked)"
if [ ! -e "$OPSCTL_STATE_DIR/restore/$ID" ]; then ok "no review directory for --as"; else not_ok "no review directory for --as"; fi
expect_journal_added 1 "one journal line"
expect_journal_last 'j["status"] == "ok" and "--as" in j["args"] and "t270_copy" in j["args"]' "the journal line records --as t270_copy"
cmt=$(psql_q "select shobj_description(oid, 'pg_database') from pg_database where datname = 't270_copy'")
if [[ "$cmt" == "restored by opsctl from backup $ID (database t270a)" ]]; then ok "t270_copy says where it came from (and carries no temporary mark)"; else not_ok "t270_copy says where it came from ($cmt)"; fi
if [ "$(psql_q "select count(*) from pg_database where datname like 'opsctl_%'")" = 0 ]; then ok "no temporary database is left"; else not_ok "no temporary database is left"; fi
# A later restore's sweep leaves it alone: it is no leftover.
run "$OPSCTL" backup verify -b "$ID"
expect_rc 0 "a verify afterwards (which sweeps leftovers) exits 0"
if dbexists t270_copy; then ok "the sweep does not take the restored copy"; else not_ok "the sweep does not take the restored copy"; fi

# Text says where it went.
run "$OPSCTL" backup restore latest -d t270b --as t270_other
expect_rc 0 "restore latest -d t270b --as t270_other (text) exits 0"
if grep -Eq '^restored as: +t270_other$' "$OUT"; then ok "text: 'restored as: t270_other'"; else not_ok "text: 'restored as: t270_other'"; diag_run; fi

# ---- refusals ----
run "$OPSCTL" backup restore "$ID" -d t270a --as t270_copy
expect_error 64 "--as an existing database: exit 64, naming it" "database 't270_copy' exists"
run "$OPSCTL" --output json backup restore "$ID" -d t270a --as t270b
expect_rc 64 "--as the other live database: exit 64"
if [ "$(counts t270b)" = "$(counts t270_other)" ]; then ok "t270b is untouched"; else not_ok "t270b is untouched"; fi
expect_json_true 'd["status"] == "failed" and "t270b" in d["error"]' "JSON: the envelope names it"
run "$OPSCTL" backup restore "$ID" --as t270_new
expect_error 64 "--as with two databases and no -d: exit 64" "--as restores one database"
if ! dbexists t270_new; then ok "nothing was made"; else not_ok "nothing was made"; fi
run "$OPSCTL" backup restore "$ID" -d t270a,t270b --as t270_new
expect_error 64 "--as with -d naming two: exit 64" "--as restores one database"
run "$OPSCTL" backup restore "$ID" -d t270a --as "$T/x.db"
expect_error 64 "--as a file path for a PostgreSQL database: exit 64" "is a file"
run "$OPSCTL" backup restore "$ID" -d t270a --as "$(printf 'x%.0s' $(seq 64))"
expect_error 64 "--as a name longer than 63 bytes: exit 64" "not a PostgreSQL database name"

# ---- SQLite: --as a new file ----
sqlite_make_sample_db "$T/kh.db"
printf '[backup]\ndatabases = sqlite:%s/kh.db\ndir = %s\n[general]\nenvironment = prod\n[window]\nprod = never\n' "$T" "$STORE" >"$T/sqlite.conf"
OPSCTL_CONFIG="$T/sqlite.conf" run "$OPSCTL" --output json backup --type full
expect_rc 0 "a SQLite backup"
SID=$(json_get 'd["id"]')
rows=$(sqlite3 "$T/kh.db" "select count(*) from content")
sqlite3 "$T/kh.db" "delete from content where rowid % 2 = 0"
live=$(sha256sum <"$T/kh.db")
mkdir -p "$T/restored"
OPSCTL_CONFIG="$T/sqlite.conf" run "$OPSCTL" --output json backup restore "$SID" --as "$T/restored/kh-copy.db"
expect_rc 0 "restore --as PATH exits 0 (outside the window)"
if [ "$(sqlite3 "$T/restored/kh-copy.db" "select count(*) from content")" = "$rows" ]; then ok "the new file holds the backup's rows"; else not_ok "the new file holds the backup's rows"; fi
if [ "$(sha256sum <"$T/kh.db")" = "$live" ]; then ok "the live file is untouched"; else not_ok "the live file is untouched"; fi
expect_json_true 'd["restored_as"] == "'"$T/restored/kh-copy.db"'" and d["databases"][0]["restored_as"] == "'"$T/restored/kh-copy.db"'"' "JSON: restored_as the new path"
if [ -z "$(find "$T/restored" -name '*opsctl-restore*')" ]; then ok "no temporary file is left beside it"; else not_ok "no temporary file is left beside it"; fi
OPSCTL_CONFIG="$T/sqlite.conf" run "$OPSCTL" backup restore "$SID" --as "sqlite:$T/restored/kh-2.db"
expect_rc 0 "--as sqlite:PATH is taken as the path"
if [ -f "$T/restored/kh-2.db" ]; then ok "the file is written at PATH"; else not_ok "the file is written at PATH"; fi
before=$(sha256sum <"$T/restored/kh-copy.db")
OPSCTL_CONFIG="$T/sqlite.conf" run "$OPSCTL" backup restore "$SID" --as "$T/restored/kh-copy.db"
expect_error 64 "--as an existing file: exit 64, naming it" "'$T/restored/kh-copy.db' exists"
if [ "$(sha256sum <"$T/restored/kh-copy.db")" = "$before" ]; then ok "the existing file is untouched"; else not_ok "the existing file is untouched"; fi
ln -s "$T/kh.db" "$T/restored/link.db"
OPSCTL_CONFIG="$T/sqlite.conf" run "$OPSCTL" backup restore "$SID" --as "$T/restored/link.db"
expect_error 64 "--as a symlink: exit 64 (never written through)" "exists"
printf '[backup]\ndatabases = sqlite:%s/kh.db\ndir = %s\n[general]\nprotected_paths = %s/prot\n' "$T" "$STORE" "$T" >"$T/prot.conf"
mkdir -p "$T/prot"
OPSCTL_CONFIG="$T/prot.conf" run "$OPSCTL" backup restore "$SID" --as "$T/prot/new.db"
expect_error 77 "--as a protected path: exit 77" "protected path"
if [ ! -e "$T/prot/new.db" ]; then ok "nothing is written there"; else not_ok "nothing is written there"; fi

# ---- the manifest's SQLite paths are not trusted as targets ----
# A manifest edited to name another file, and resealed (a new checksum, the
# copy rewritten) as whoever can write the store can do.
cp -a "$STORE/$SID" "$T/sid.pristine"
retarget() {	# retarget PATH: the SQLite backup's manifest now names PATH
	rm -rf "${STORE:?}/$SID" && cp -a "$T/sid.pristine" "$STORE/$SID"
	python3 - "$STORE/$SID/manifest.json" "$T/kh.db" "$1" <<'PY'
import json, sys
f, old, new = sys.argv[1:]
m = json.load(open(f))
m["databases"] = [new if d == old else d for d in m["databases"]]
for t in m.get("tables", []):
    if t["database"] == old:
        t["database"] = new
json.dump(m, open(f, "w"))
PY
	python3 "$MF" seal "$STORE/$SID/manifest.json"
}
# The member is still kh.db, which names the same stem: keep the stem.
mkdir -p "$T/elsewhere"
retarget "$T/elsewhere/kh.db"
sqlite3 "$T/elsewhere/kh.db" "create table other (x); insert into other values ('mine')"
other() { sqlite3 "$T/elsewhere/kh.db" "select x from other" 2>/dev/null; }
OPSCTL_CONFIG="$T/sqlite.conf" run "$OPSCTL" backup restore "$SID" --force
expect_error 65 "a resealed manifest naming a path outside backup.databases: exit 65, naming it" "$T/elsewhere/kh.db" "no configured backup database names"
if [ "$(other)" = mine ]; then ok "the SQLite database it named is untouched"; else not_ok "the SQLite database it named is untouched"; fi
OPSCTL_CONFIG="$T/sqlite.conf" run "$OPSCTL" --output json backup restore "$SID" --force --dry-run
expect_rc 65 "--dry-run refuses it the same way (exit 65)"
OPSCTL_CONFIG="$T/sqlite.conf" run "$OPSCTL" backup restore "$SID" -d "$T/elsewhere/kh.db" --as "$T/restored/from-tampered.db"
expect_rc 0 "with --as, the operator's own target, it restores"
if [ "$(sqlite3 "$T/restored/from-tampered.db" "select count(*) from content")" = "$rows" ] && [ "$(other)" = mine ]; then ok "into the file the operator named, and only there"; else not_ok "into the file the operator named, and only there"; fi
# The configured path reached another way (.. and a link) is the same file.
ln -s "$T" "$T/via"
retarget "$T/via/restored/../kh.db"
OPSCTL_CONFIG="$T/sqlite.conf" run "$OPSCTL" backup restore "$SID" --force
expect_rc 0 "a manifest path that resolves to the configured file is trusted"
rm -f "$T/kh.db"
OPSCTL_CONFIG="$T/sqlite.conf" run "$OPSCTL" backup restore "$SID" --force
expect_rc 0 "and so is it when the file is not there: the same name in the same directory"
if [ "$(sqlite3 "$T/kh.db" "select count(*) from content")" = "$rows" ]; then ok "the configured file is restored"; else not_ok "the configured file is restored"; fi
# A protected path, even one the configuration names too.
retarget "$T/kh.db"
printf '[backup]\ndatabases = sqlite:%s/kh.db\ndir = %s\n[general]\nprotected_paths = %s/kh.db\n' "$T" "$STORE" "$T" >"$T/prot.conf"
cp "$T/kh.db" "$T/kh.before"
OPSCTL_CONFIG="$T/prot.conf" run "$OPSCTL" backup restore "$SID" --force
expect_error 65 "a manifest path that is protected: exit 65, naming it" "$T/kh.db" "a protected path"
if cmp -s "$T/kh.db" "$T/kh.before"; then ok "the protected file is untouched"; else not_ok "the protected file is untouched"; fi

done_testing
