#!/usr/bin/env bash
# t130: `db analyze` (ANALYZE VERBOSE with -v) and `db reindex` (the key
# tables of guide 000, --table, --all, --concurrently); table names are
# looked up as names, never run as SQL.
. "$(dirname "$0")/../lib/common.sh"
. "$ROOT/tests/lib/pg.sh"
pg_start || bail_out "PostgreSQL starts"
# A plain REINDEX blocks writes and waits for the window; the dev window is
# always open.  The window cases below say --env prod.
export OPSCTL_ENV=dev
pg_make_sample_db t130 || bail_out "sample database t130"

analyzed() { [ "$(psql_q -d "$1" "select last_analyze is not null from pg_stat_user_tables where relname = '$2'")" = t ]; }
filenode() { psql_q -d "$1" "select pg_relation_filenode('public.$2')"; }

# ---- analyze ----
journal_mark
pg_log_mark
run "$OPSCTL" db analyze -d t130
expect_rc 0 "db analyze exits 0"
sql=$(opsctl_sql)
if grep -qiE '^analyze' <<<"$sql"; then ok "the server received ANALYZE"; else not_ok "the server received ANALYZE"; diag "$sql"; fi
missing=""
for t in documents document_chunks queries; do analyzed t130 "$t" || missing="$missing $t"; done
if [ -z "$missing" ]; then ok "every table analyzed"; else not_ok "every table analyzed (not:$missing)"; fi
expect_journal_added 1 "db analyze writes one journal line"
expect_journal_last 'j["command"] == "db analyze"' "journal: db analyze"

psql_q -d t130 "select pg_stat_reset()" >/dev/null
run "$OPSCTL" db analyze --table documents -d t130
expect_rc 0 "db analyze --table documents exits 0"
if analyzed t130 documents && ! analyzed t130 queries; then ok "--table analyzes only that table"; else not_ok "--table analyzes only that table"; fi

pg_log_mark
run "$OPSCTL" db analyze -v -d t130
expect_rc 0 "db analyze -v exits 0"
if grep -qiE '^analyze.*verbose|^analyze \(verbose' <<<"$(opsctl_sql)"; then ok "-v sends ANALYZE VERBOSE"; else not_ok "-v sends ANALYZE VERBOSE"; diag "$(opsctl_sql)"; fi
if grep -qi 'analyzing' "$OUT" "$ERR"; then ok "-v shows the server's analyzing messages"; else not_ok "-v shows the server's analyzing messages"; diag_run; fi

run "$OPSCTL" db analyze --table nope_table -d t130
expect_fail 1 "analyze --table that does not exist: exit 1" "table 'nope_table' does not exist"

# ---- reindex ----
before_d=$(filenode t130 idx_documents_title)
before_q=$(filenode t130 idx_queries_created_at)
journal_mark
pg_log_mark
run "$OPSCTL" db reindex -d t130
expect_rc 0 "db reindex exits 0"
sql=$(opsctl_sql)
for t in documents document_chunks queries; do
	if grep -qiE "^reindex .*table .*\"?$t\"?" <<<"$sql"; then ok "the server received REINDEX TABLE $t"; else not_ok "the server received REINDEX TABLE $t"; diag "$sql"; fi
done
if [ "$(filenode t130 idx_documents_title)" != "$before_d" ] && [ "$(filenode t130 idx_queries_created_at)" != "$before_q" ]; then
	ok "the indexes were rebuilt (new relfilenodes)"
else
	not_ok "the indexes were rebuilt (new relfilenodes)"
fi
expect_journal_added 1 "db reindex writes one journal line"

pg_log_mark
run "$OPSCTL" db reindex --table queries -d t130
expect_rc 0 "db reindex --table queries exits 0"
sql=$(opsctl_sql)
if grep -qiE '^reindex .*queries' <<<"$sql" && ! grep -qiE '^reindex .*documents' <<<"$sql"; then ok "--table reindexes only that table"; else not_ok "--table reindexes only that table"; diag "$sql"; fi

pg_log_mark
run "$OPSCTL" db reindex --all -d t130
expect_rc 0 "db reindex --all exits 0"
if grep -qiE '^reindex .*database' <<<"$(opsctl_sql)"; then ok "--all sends REINDEX DATABASE"; else not_ok "--all sends REINDEX DATABASE"; diag "$(opsctl_sql)"; fi

pg_log_mark
before_d=$(filenode t130 idx_documents_title)
run "$OPSCTL" db reindex --concurrently --table documents -d t130
expect_rc 0 "db reindex --concurrently exits 0"
if grep -qiE '^reindex .*concurrently' <<<"$(opsctl_sql)"; then ok "--concurrently sends REINDEX ... CONCURRENTLY"; else not_ok "--concurrently sends REINDEX ... CONCURRENTLY"; diag "$(opsctl_sql)"; fi
if [ "$(filenode t130 idx_documents_title)" != "$before_d" ]; then ok "--concurrently rebuilt the index"; else not_ok "--concurrently rebuilt the index"; fi
invalid=$(psql_q -d t130 "select count(*) from pg_index where not indisvalid")
if [ "$invalid" = 0 ]; then ok "no invalid index left behind"; else not_ok "no invalid index left behind ($invalid)"; fi

run "$OPSCTL" db reindex --all --table documents -d t130
expect_error 64 "--all with --table is a usage error" "--all"

run "$OPSCTL" db reindex --table nope_table -d t130
expect_fail 1 "reindex --table that does not exist: exit 1" "table 'nope_table' does not exist"

# A default table missing is skipped, not an error.
pg_make_sample_db t130_noq >/dev/null
psql_q -d t130_noq "drop table queries" >/dev/null
pg_log_mark
run "$OPSCTL" db reindex -d t130_noq
expect_rc 0 "a missing default table (queries) is skipped: exit 0"
expect_out_contains "queries" "the output reports the skipped table"
if grep -qiE '^reindex .*documents' <<<"$(opsctl_sql)"; then ok "the other default tables are reindexed"; else not_ok "the other default tables are reindexed"; diag "$(opsctl_sql)"; fi

# Names are names, not SQL.
evil='x"; DROP TABLE documents; --'
run "$OPSCTL" db reindex --table "$evil" -d t130
expect_fail 1 "reindex --table with quotes and a semicolon: exit 1" "does not exist"
if [ "$(psql_q -d t130 "select to_regclass('public.documents') is not null")" = t ]; then ok "documents still exists after the injection attempt"; else not_ok "documents still exists after the injection attempt"; fi
run "$OPSCTL" db analyze --table "documents; DROP TABLE queries" -d t130
expect_fail 1 "analyze --table with a semicolon: exit 1" "does not exist"
run "$OPSCTL" db vacuum --table "queries); DROP TABLE queries; --" -d t130
expect_fail 1 "vacuum --table with a parenthesis: exit 1" "does not exist"
if [ "$(psql_q -d t130 "select to_regclass('public.queries') is not null")" = t ]; then ok "queries still exists after the injection attempts"; else not_ok "queries still exists after the injection attempts"; fi

# A table whose real name needs quoting works.
psql_q -d t130 'create table "Mixed Case" (id int primary key)' >/dev/null
run "$OPSCTL" db reindex --table "Mixed Case" -d t130
expect_rc 0 "a table name that needs quoting is reindexed"

# A second schema with a table of a default name (anyone with CREATE on a
# schema can make one): the defaults resolve in db.schema (public), so weekly
# maintenance goes on; a name typed on the command line stays ambiguous.
psql_q -d t130 "create schema other; create table other.documents (id int primary key, content text)" >/dev/null
pkey() { psql_q -d t130 "select pg_relation_filenode('$1_pkey')"; }
before=$(pkey public.documents) other=$(pkey other.documents)
run "$OPSCTL" --output json db reindex -d t130
expect_rc 0 "db reindex with documents in two schemas: the default names resolve in public"
if [ "$(pkey public.documents)" != "$before" ]; then ok "public.documents' index was rebuilt"; else not_ok "public.documents' index was rebuilt"; fi
if [ "$(pkey other.documents)" = "$other" ]; then ok "other.documents is left alone"; else not_ok "other.documents is left alone"; fi
expect_json_true '"public.documents" in d["databases"][0]["tables"]' "the report names public.documents"
run "$OPSCTL" db maintain -d t130
expect_rc 0 "db maintain goes on with documents in two schemas"
printf '[general]\nenvironment = dev\n[db]\ncontent_table = documents\n' >"$T/content.conf"
run "$OPSCTL" --config "$T/content.conf" db content-check -d t130
if [ "$RC" -le 1 ] && ! grep -q "several schemas" "$ERR"; then ok "db content-check (configured table) is not refused as ambiguous"; else not_ok "db content-check (configured table) is not refused as ambiguous (exit $RC)"; diag_run; fi
run "$OPSCTL" db reindex --table documents -d t130
expect_fail 64 "reindex --table documents (typed, in two schemas): exit 64" "name it as schema.table"
run "$OPSCTL" db reindex --table other.documents -d t130
expect_rc 0 "reindex --table other.documents: the qualified name works"
printf '[general]\nenvironment = dev\n[db]\nschema = other\nreindex_tables = documents\n' >"$T/other.conf"
run "$OPSCTL" --config "$T/other.conf" --output json db reindex -d t130
expect_rc 0 "db.schema = other: the default names resolve there"
expect_json_true 'd["databases"][0]["tables"] == ["other.documents"]' "db.schema = other: other.documents is reindexed"
psql_q -d t130 "drop schema other cascade" >/dev/null

# A plain REINDEX blocks writes: the window's work, like VACUUM FULL.
printf '[window]\nprod = never\n' >"$T/never.conf"
before=$(pkey public.documents)
run "$OPSCTL" --config "$T/never.conf" --env prod db reindex --table documents -d t130
expect_fail 1 "plain REINDEX outside the prod window: exit 1" "REINDEX: outside the prod maintenance window"
if [ "$(pkey public.documents)" = "$before" ]; then ok "outside the window no index is rebuilt"; else not_ok "outside the window no index is rebuilt"; fi
run "$OPSCTL" --config "$T/never.conf" --env prod --output json db reindex --table documents --dry-run -d t130
expect_rc 0 "--dry-run outside the window: exit 0"
expect_json_true 'd["databases"][0]["would_run"] == ["REINDEX TABLE public.documents"] and d["databases"][0]["window"] == "closed"' "--dry-run: the statement it would run, and that the window is closed"
run "$OPSCTL" --config "$T/never.conf" --env prod db reindex --table documents --concurrently -d t130
expect_rc 0 "REINDEX CONCURRENTLY does not block writes: no window needed"
run "$OPSCTL" --config "$T/never.conf" --env prod db reindex --table documents --force -d t130
expect_rc 0 "plain REINDEX --force outside the window: exit 0"
run "$OPSCTL" --config "$T/never.conf" --env prod db maintain -t reindex -d t130
expect_rc 0 "db maintain reindexes CONCURRENTLY: not held to the window"

# A failed REINDEX CONCURRENTLY leaves invalid *_ccnew indexes nobody reports.
psql_q -d t130 "create table t130_dups (x int); insert into t130_dups values (1), (1)" >/dev/null
psql_q -d t130 "create unique index concurrently t130_dups_x_ccnew on t130_dups (x)" >/dev/null 2>&1
if [ "$(psql_q -d t130 "select count(*) from pg_index where not indisvalid and indexrelid = 'public.t130_dups_x_ccnew'::regclass")" = 1 ]; then ok "an invalid t130_dups_x_ccnew is left behind"; else not_ok "an invalid t130_dups_x_ccnew is left behind"; fi
run "$OPSCTL" --output json db health -d t130
expect_json_true 'find(d["databases"][0]["checks"], "check", "invalid_indexes")["status"] == "warning"' "db health reports the invalid index (warning)"
expect_json_true '"t130_dups_x_ccnew" in find(d["databases"][0]["checks"], "check", "invalid_indexes")["message"]' "db health names it"
run "$OPSCTL" --output json db reindex --table documents --concurrently -d t130
expect_rc 0 "db reindex without --force: exit 0"
expect_json_true 'd["databases"][0]["invalid_indexes"] == ["public.t130_dups_x_ccnew"]' "db reindex lists it"
expect_err_contains "opsctl db reindex --force drops it" "and a warning says how to drop it"
run "$OPSCTL" --output json db reindex --table documents --concurrently --force -d t130
expect_rc 0 "db reindex --force: exit 0"
expect_json_true 'd["databases"][0]["dropped_invalid_indexes"] == ["public.t130_dups_x_ccnew"]' "--force drops it"
if [ "$(psql_q -d t130 "select to_regclass('public.t130_dups_x_ccnew') is null")" = t ]; then ok "the invalid index is gone"; else not_ok "the invalid index is gone"; fi
psql_q -d t130 "drop table t130_dups" >/dev/null

# SQLite
sqlite_make_sample_db "$T/kh.db"
run "$OPSCTL" db analyze -d "sqlite:$T/kh.db"
expect_rc 0 "db analyze on SQLite exits 0"
if [ "$(sqlite3 "$T/kh.db" "select count(*) from sqlite_master where name = 'sqlite_stat1'")" = 1 ]; then ok "SQLite: sqlite_stat1 exists after analyze"; else not_ok "SQLite: sqlite_stat1 exists after analyze"; fi
run "$OPSCTL" db reindex -d "sqlite:$T/kh.db"
expect_rc 0 "db reindex on SQLite exits 0"

# REINDEX DATABASE names the database connected to, also for a URI target.
run "$OPSCTL" --output json db reindex --all -d "postgresql://$PGUSER@$PGHOST:$PGPORT/t%31%33%30"
expect_rc 0 "db reindex --all with a percent-encoded URI exits 0 (REINDEX DATABASE of the database connected to)"

done_testing
