#!/usr/bin/env bash
# t180: `db migrate VERSION` (guide 004 migrate_schema.sh): DIR/vVERSION/*.sql
# in name order, each in its own transaction, recorded so a re-run applies
# nothing; a failing file rolls back and stops (1); a changed applied file
# stops with 65; a VERSION that escapes DIR is a usage error (64).
. "$(dirname "$0")/../lib/common.sh"
. "$ROOT/tests/lib/pg.sh"
pg_start || bail_out "PostgreSQL starts"
psql_q "create database t180" >/dev/null || bail_out "database t180"

M="$T/migrations"
mkdir -p "$M/v1.0" "$M/v1.1" "$M/v2.0"
cat >"$M/v1.0/001_documents.sql" <<'SQL'
create table public.documents (id serial primary key, title text not null);
insert into public.documents (title) values ('first');
SQL
cat >"$M/v1.0/002_add_status.sql" <<'SQL'
alter table public.documents add column status text not null default 'new';
SQL
# Name order, not creation order: 010 after 002.
cat >"$M/v1.0/010_index.sql" <<'SQL'
create index documents_status_idx on public.documents (status);
SQL
cat >"$M/v1.1/001_ok.sql" <<'SQL'
create table public.tags (id serial primary key, name text);
SQL
cat >"$M/v1.1/002_fails.sql" <<'SQL'
create table public.half_done (id int);
insert into public.no_such_table values (1);
SQL
cat >"$M/v1.1/003_after.sql" <<'SQL'
create table public.never_applied (id int);
SQL
cat >"$M/v2.0/001_dry.sql" <<'SQL'
create table public.dry_table (id int);
SQL
echo "not sql" >"$M/v1.0/README.txt"
exists() { [ "$(psql_q -d t180 "select to_regclass('public.$1') is not null")" = t ]; }

journal_mark
pg_log_mark
run "$OPSCTL" db migrate 1.0 --dir "$M" -d t180
expect_rc 0 "db migrate 1.0 exits 0"
if exists documents && [ "$(psql_q -d t180 "select status from documents")" = new ] && exists documents_status_idx; then
	ok "all three files of v1.0 applied"
else
	not_ok "all three files of v1.0 applied"; diag_run
fi
order=$(opsctl_sql | grep -oE 'create table public.documents|alter table public.documents|create index documents_status_idx' | tr '\n' ',')
if [ "$order" = "create table public.documents,alter table public.documents,create index documents_status_idx," ]; then
	ok "files applied in name order (001, 002, 010)"
else
	not_ok "files applied in name order (got: $order)"
fi
n=$(psql_q -d t180 "select count(*) from public.opsctl_schema_migrations" 2>/dev/null)
if [ "$n" = 3 ]; then ok "opsctl_schema_migrations records 3 files"; else not_ok "opsctl_schema_migrations records 3 files (got '$n')"; fi
expect_journal_added 1 "db migrate writes one journal line"
expect_journal_last 'j["command"] == "db migrate" and j["status"] == "ok"' "journal: db migrate ok"
expect_out_contains "001_documents.sql" "the output names the applied files"

# Re-run: nothing applied twice.
pg_log_mark
run "$OPSCTL" db migrate 1.0 --dir "$M" -d t180
expect_rc 0 "re-running 1.0 exits 0"
if grep -qiE 'create table public.documents|alter table' <<<"$(opsctl_sql)"; then not_ok "re-running applies nothing"; diag "$(opsctl_sql)"; else ok "re-running applies nothing"; fi
if [ "$(psql_q -d t180 "select count(*) from documents")" = 1 ]; then ok "the data is as after the first run"; else not_ok "the data is as after the first run"; fi

# MIGRATION_DIR (guide 004) and db.migrations_dir give the directory.
MIGRATION_DIR="$M" run "$OPSCTL" db migrate 1.0 -d t180
expect_rc 0 "MIGRATION_DIR gives the directory"
printf '[db]\nmigrations_dir = %s\n' "$M" >"$T/mig.conf"
run "$OPSCTL" --config "$T/mig.conf" db migrate 1.0 -d t180
expect_rc 0 "db.migrations_dir gives the directory"

# A failing file: rolled back, the run stops, earlier files stay applied.
journal_mark
run "$OPSCTL" db migrate 1.1 --dir "$M" -d t180
expect_fail 1 "a failing migration file: exit 1 naming it" "002_fails.sql"
if exists tags; then ok "the file before the failure stays applied"; else not_ok "the file before the failure stays applied"; fi
if exists half_done; then not_ok "the failing file was rolled back (half_done absent)"; else ok "the failing file was rolled back (half_done absent)"; fi
if exists never_applied; then not_ok "files after the failure are not applied"; else ok "files after the failure are not applied"; fi
expect_journal_last 'j["status"] == "failed" and j["exit"] == 1' "journal: failed, exit 1"

# Fix the file and re-run: 002 and 003 now apply, 001 is not repeated.
printf 'create table public.half_done (id int);\n' >"$M/v1.1/002_fails.sql"
run "$OPSCTL" db migrate 1.1 --dir "$M" -d t180
expect_rc 0 "after fixing the file the rest applies"
if exists half_done && exists never_applied; then ok "002 and 003 applied"; else not_ok "002 and 003 applied"; fi

# A changed applied file: 65, nothing applied.
echo "-- edited after it was applied" >>"$M/v1.0/002_add_status.sql"
pg_log_mark
run "$OPSCTL" db migrate 1.0 --dir "$M" -d t180
expect_fail 65 "an applied file changed since: exit 65 naming it" "002_add_status.sql"

# A file with its own COMMIT ends opsctl's transaction: 65, and the run stops.
mkdir -p "$M/v3.0"
printf 'create table public.self_committed (id int);\ncommit;\n' >"$M/v3.0/001_commits.sql"
printf 'create table public.after_commit (id int);\n' >"$M/v3.0/002_after.sql"
run "$OPSCTL" db migrate 3.0 --dir "$M" -d t180
expect_fail 65 "a migration with its own COMMIT: exit 65 naming it" "001_commits.sql" "COMMIT"
if exists after_commit; then not_ok "the run stopped after the file that committed"; else ok "the run stopped after the file that committed"; fi

# --dry-run applies nothing.
journal_mark
run "$OPSCTL" db migrate 2.0 --dir "$M" -d t180 --dry-run
expect_rc 0 "--dry-run exits 0"
expect_out_contains "001_dry.sql" "--dry-run names the file it would apply"
if exists dry_table; then not_ok "--dry-run applies nothing"; else ok "--dry-run applies nothing"; fi
expect_journal_added 0 "--dry-run writes no journal line"

# VERSION must not escape DIR.
for v in ../x ../../etc 1.0/../../x /etc ''; do
	run "$OPSCTL" db migrate "$v" --dir "$M" -d t180
	expect_error 64 "version '$v' is a usage error"
done

run "$OPSCTL" db migrate 9.9 --dir "$M" -d t180
if [ "$RC" -ne 0 ]; then ok "a version without a directory fails (exit $RC)"; else not_ok "a version without a directory fails"; diag_run; fi
expect_err_contains "v9.9" "the error names the missing vVERSION directory"

run "$OPSCTL" db migrate 1.0 --dir "$T/nope" -d t180
if [ "$RC" -ne 0 ]; then ok "a missing --dir fails (exit $RC)"; else not_ok "a missing --dir fails"; diag_run; fi

done_testing
