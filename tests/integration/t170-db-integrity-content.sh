#!/usr/bin/env bash
# t170: `db integrity` (SQLite integrity_check, PostgreSQL amcheck) and
# `db content-check` (guide 003: empty and duplicate content).
. "$(dirname "$0")/../lib/common.sh"
. "$ROOT/tests/lib/pg.sh"

# Member names are the library's; find counts by what the name says.
count_of() {	# count_of WORD: the first numeric member whose name contains WORD
	python3 -c '
import json, sys
def walk(x):
    if isinstance(x, dict):
        for k, v in x.items():
            if sys.argv[1] in k.lower() and isinstance(v, (int, float)) and not isinstance(v, bool):
                yield v
            yield from walk(v)
    elif isinstance(x, list):
        for v in x:
            yield from walk(v)
d = json.load(open(sys.argv[2]))
print(next(walk(d["databases"][0]), "none"))
' "$1" "$OUT" 2>/dev/null
}

# ---- SQLite integrity ----
sqlite_make_sample_db "$T/kh.db"
run "$OPSCTL" db integrity -d "sqlite:$T/kh.db"
expect_rc 0 "db integrity on a sound SQLite file: exit 0"
expect_out_contains "ok" "the output says ok"

cp "$T/kh.db" "$T/corrupt.db"
python3 - "$T/corrupt.db" <<'PY'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(4096 * 3)
    f.write(bytes((i * 7 + 13) % 256 for i in range(8192)))
PY
cp "$T/corrupt.db" "$T/corrupt.orig"
run "$OPSCTL" db integrity -d "sqlite:$T/corrupt.db"
expect_fail 65 "db integrity on a corrupt SQLite file: exit 65" "corrupt.db"
if cmp -s "$T/corrupt.db" "$T/corrupt.orig"; then ok "the corrupt file is unchanged"; else not_ok "the corrupt file is unchanged"; fi

# An index whose declared columns no longer match its contents: a file that
# opens, with one problem per row (damaged pages are no good here: SQLite's
# own integrity_check then fails with "malformed" on some runs and not on
# others).  One problem per line, no "*** in database" heading, and an error
# line that says how many and the first.
sqlite3 "$T/cells.db" "create table t(a integer primary key, b text);
with recursive c(x) as (select 1 union all select x + 1 from c where x < 50)
insert into t(b) select 'row ' || x from c;
create index ib on t(b);
pragma writable_schema = on;
update sqlite_master set sql = 'CREATE INDEX ib ON t(a)' where name = 'ib';" || bail_out "the damaged index"
run "$OPSCTL" --output json db integrity -d "sqlite:$T/cells.db"
expect_rc 65 "an index out of step with its table: exit 65"
expect_json_true 'len(d["databases"][0]["problems"]) > 1 and all("\n" not in p and not p.startswith("***") for p in d["databases"][0]["problems"])' "one problem per line, the schema heading dropped"
expect_json_true '__import__("re").match(r"integrity check failed for .*cells.db.: 50 problems, the first: row 1 missing from index ib$", d["error"])' "the error counts the problems and gives the first"
run "$OPSCTL" db integrity -d "sqlite:$T/cells.db"
expect_err_one_line "text: the error is one line"
if [ "$(grep -cE '^  row [0-9]+ missing from index ib$' "$OUT")" = 50 ]; then ok "text: every problem indented in the problems list"; else not_ok "text: every problem indented in the problems list"; diag_run; fi

# ---- SQLite content check ----
run "$OPSCTL" --output json db content-check -d "sqlite:$T/kh.db"
expect_rc 1 "content-check finds the planted rows: exit 1"
expect_json "content-check prints JSON"
n=$(count_of empty)
if [ "$n" = 2 ]; then ok "2 empty content rows (NULL and '')"; else not_ok "2 empty content rows (NULL and '') (got $n)"; diag_run; fi
n=$(count_of dup)
if [ "$n" = 2 ]; then ok "2 rows duplicating another row's content"; else not_ok "2 rows duplicating another row's content (got $n)"; diag_run; fi
expect_json_true '"Reset your password" in json.dumps(d)' "the most duplicated value is shown"

run "$OPSCTL" db content-check -d "sqlite:$T/kh.db"
expect_rc 1 "text content-check: exit 1"
expect_out_contains "empty" "text output mentions empty rows"
expect_out_contains "duplicate" "text output mentions duplicates"
expect_err_one_line "text content-check: one error line"

cp "$T/kh.db" "$T/clean.db"
sqlite3 "$T/clean.db" "delete from content where content is null or content = '' or title like 'Copied FAQ %'"
run "$OPSCTL" db content-check -d "sqlite:$T/clean.db"
expect_rc 0 "content-check on clean data: exit 0"
expect_err_empty "clean data: nothing on stderr"

sqlite3 "$T/clean.db" "insert into content (title, content) values ('Blank', '   ')"
run "$OPSCTL" --output json db content-check -d "sqlite:$T/clean.db"
expect_rc 1 "white space only content counts as empty"

run "$OPSCTL" --output json db content-check -d "sqlite:$T/kh.db" --table users --column name
expect_rc 0 "--table users --column name: all distinct, exit 0"
sqlite3 "$T/kh.db" "insert into users (email, name) values ('dup@example.com', 'User 7')"
run "$OPSCTL" --output json db content-check -d "sqlite:$T/kh.db" --table users --column name
expect_rc 1 "--table/--column find a duplicate name"

run "$OPSCTL" db content-check -d "sqlite:$T/kh.db" --table nope_table
expect_fail 1 "content-check --table that does not exist" "table 'nope_table' does not exist"
run "$OPSCTL" db content-check -d "sqlite:$T/kh.db" --column "content; drop table users"
expect_fail 1 "content-check --column with SQL in it: exit 1" "does not exist"
if [ "$(sqlite3 "$T/kh.db" "select count(*) from sqlite_master where name = 'users'")" = 1 ]; then ok "users still exists after the injection attempt"; else not_ok "users still exists after the injection attempt"; fi

printf '[db]\ncontent_table = users\ncontent_column = email\n' >"$T/cc.conf"
run "$OPSCTL" --config "$T/cc.conf" --output json db content-check -d "sqlite:$T/kh.db"
expect_rc 0 "db.content_table/db.content_column from the config (emails are unique): exit 0"

# ---- PostgreSQL ----
pg_start || bail_out "PostgreSQL starts"
pg_make_sample_db t170 || bail_out "sample database t170"
run "$OPSCTL" --output json db integrity -d t170
expect_rc 0 "db integrity without amcheck: not a failed run (exit 0)"
expect_json_true 'd["databases"][0]["available"] is False and "CREATE EXTENSION amcheck" in d["databases"][0]["to_enable"]' "JSON: amcheck not available, and how to enable it"
expect_err_contains "amcheck is not available in database 't170': nothing was checked" "a warning line says nothing was checked"
psql_q -d t170 "create extension amcheck" >/dev/null
pg_log_mark
run "$OPSCTL" db integrity -d t170
expect_rc 0 "db integrity with amcheck: exit 0"
if grep -qi 'bt_index_check' <<<"$(opsctl_sql)"; then ok "the server ran bt_index_check"; else not_ok "the server ran bt_index_check"; diag "$(opsctl_sql)"; fi

run "$OPSCTL" db content-check -d t170
expect_fail 1 "PostgreSQL content-check of a missing default table 'content'" "table 'content' does not exist"
run "$OPSCTL" --output json db content-check -d t170 --table documents --column content
expect_rc 0 "documents.content has no empty or duplicate rows: exit 0"
psql_q -d t170 "insert into documents (title, content) select title, content from documents where id <= 3; insert into documents (title, content) values ('e', ''), ('n', null)" >/dev/null
run "$OPSCTL" --output json db content-check -d t170 --table documents --column content
expect_rc 1 "after planting 3 duplicates and 2 empty rows: exit 1"
n=$(count_of empty)
if [ "$n" = 2 ]; then ok "PostgreSQL: 2 empty rows"; else not_ok "PostgreSQL: 2 empty rows (got $n)"; diag_run; fi
n=$(count_of dup)
if [ "$n" = 3 ]; then ok "PostgreSQL: 3 duplicate rows"; else not_ok "PostgreSQL: 3 duplicate rows (got $n)"; diag_run; fi
run "$OPSCTL" db content-check -d t170 --table documents --column 'content"; drop table queries; --'
expect_fail 1 "PostgreSQL --column injection attempt: exit 1" "does not exist"
if [ "$(psql_q -d t170 "select to_regclass('public.queries') is not null")" = t ]; then ok "queries still exists"; else not_ok "queries still exists"; fi

done_testing
