#!/usr/bin/env bash
# t150: the read-only reviews of guide 000 section 2.2/2.3 and guide 004:
# bloat (top N tables), size, config (pg_settings review), slow-queries
# (pg_stat_statements, --reset).  Read-only runs write no journal line.
. "$(dirname "$0")/../lib/common.sh"
. "$ROOT/tests/lib/pg.sh"
pg_start || bail_out "PostgreSQL starts"
pg_make_sample_db t150 || bail_out "sample database t150"
psql_q -d t150 "analyze" >/dev/null

# ---- bloat ----
journal_mark
run "$OPSCTL" --output json db bloat -d t150
expect_rc 0 "db bloat exits 0"
expect_json "db bloat prints JSON"
expect_json_true 'len(db(0)["tables"]) >= 3' "bloat lists the sample tables"
expect_json_true 'all(all(k in t for k in ("total_bytes", "table_bytes", "index_bytes", "dead_pct")) for t in db(0)["tables"])' "each table has total_bytes, table_bytes, index_bytes, dead_pct"
expect_json_true '[t["total_bytes"] for t in db(0)["tables"]] == sorted([t["total_bytes"] for t in db(0)["tables"]], reverse=True)' "tables ordered by total size, largest first"
expect_json_true 'any("documents" in json.dumps(t) and t["dead_pct"] > 20 for t in db(0)["tables"])' "documents shows its dead tuples (a third of it was updated)"
expect_json_true 'all(t["index_bytes"] > 0 for t in db(0)["tables"])' "index sizes are filled in"
expect_journal_added 0 "db bloat writes no journal line"

run "$OPSCTL" --output json db bloat -d t150 --limit 2
expect_json_true 'len(db(0)["tables"]) == 2' "--limit 2 shows two tables"

psql_q -d t150 "create table t_small_$(printf '%02d' 1) (id int)" >/dev/null
for i in $(seq 2 12); do psql_q -d t150 "create table t_small_$(printf '%02d' "$i") (id int)" >/dev/null; done
run "$OPSCTL" --output json db bloat -d t150
expect_json_true 'len(db(0)["tables"]) == 10' "the default limit is 10 (guide 000's LIMIT 10)"

run "$OPSCTL" db bloat -d t150
expect_rc 0 "db bloat text exits 0"
expect_out_contains "documents" "text output lists documents"

# ---- size ----
run "$OPSCTL" --output json db size -d t150
expect_rc 0 "db size exits 0"
expect_json_true 'db(0)["engine"] == "postgresql" and db(0)["size_bytes"] > 1000000' "size_bytes is the database size"
expect_json_true 'any("document_chunks" in json.dumps(t) for t in db(0)["tables"])' "size lists document_chunks"
want=$(psql_q -d t150 "select pg_database_size('t150')")
expect_json_true "abs(db(0)['size_bytes'] - $want) < 1048576" "size_bytes agrees with pg_database_size"

run "$OPSCTL" db size -d t150
expect_rc 0 "db size text exits 0"
expect_out_contains "MiB" "text output shows human sizes"

sqlite_make_sample_db "$T/kh.db"
run "$OPSCTL" --output json db size -d "sqlite:$T/kh.db"
expect_rc 0 "db size on SQLite exits 0"
expect_json_true "db(0)['size_bytes'] == $(stat -c %s "$T/kh.db")" "SQLite size_bytes is the file size"
expect_json_true 'any(305 in t.values() and "content" in t.values() for t in db(0)["tables"])' "SQLite: content has 305 rows"

# ---- config ----
journal_mark
run "$OPSCTL" db config -d t150
expect_rc 0 "db config exits 0"
for s in shared_buffers work_mem maintenance_work_mem effective_cache_size max_connections; do
	expect_out_contains "$s" "db config shows $s"
done
run "$OPSCTL" --output json db config -d t150
expect_json "db config --output json"
expect_json_true '"recommend" in json.dumps(d).lower()' "db config gives recommendations"
expect_json_true '"50" in json.dumps(d)' "db config shows the server's max_connections (50)"
expect_journal_added 0 "db config writes no journal line"
# Sized for the server's memory, and says where the figure came from.
expect_json_true 'd["databases"][0]["memory_from"] == "the server (/proc/meminfo)" and d["databases"][0]["memory_bytes"] > 0' "db config reads the server's own memory (a superuser may)"
expect_json_true 'all(s["recommended_bytes"] is None or (s["recommended_bytes"] == int(s["recommended_bytes"]) and s["recommended_bytes"] % 8192 == 0) for s in d["databases"][0]["settings"])' "recommendations are whole 8 kB pages, not fractional bytes"
run "$OPSCTL" --output json db config --memory 16G -d t150
expect_json_true 'd["databases"][0]["memory_from"] == "--memory" and d["databases"][0]["memory_bytes"] == 16 * 2**30' "--memory 16G: sized for 16 GiB"
expect_json_true 'find(d["databases"][0]["settings"], "name", "shared_buffers")["recommended_bytes"] == 4 * 2**30' "--memory 16G: shared_buffers 4 GiB (25%)"
run "$OPSCTL" db config --memory lots -d t150
expect_error 64 "--memory lots: exit 64" "--memory"
psql_q -d t150 "create role t150_ro login" >/dev/null 2>&1
run env PGUSER=t150_ro "$OPSCTL" --output json db config -d t150
expect_json_true 'd["databases"][0]["memory_from"] == "this machine (the server runs here)"' "a role that cannot read the server's file: this machine's memory, said so"

run "$OPSCTL" db config -d "sqlite:$T/kh.db"
expect_fail 64 "db config on SQLite: exit 64" "SQLite"

# ---- slow-queries ----
run "$OPSCTL" --output json db slow-queries -d t150
expect_rc 0 "slow-queries without the extension: not a failed run (exit 0)"
expect_json_true 'd["databases"][0]["available"] is False and d["databases"][0]["extension"] == "pg_stat_statements" and "CREATE EXTENSION" in d["databases"][0]["to_enable"]' "JSON: not available, and how to enable it"
expect_err_contains "pg_stat_statements is not available in database 't150'" "a warning line says so (cron mail)"

psql_q -d t150 "create extension pg_stat_statements" >/dev/null
# The statistics are cluster-wide: start from a clean slate.
psql_q -d t150 "select pg_stat_statements_reset()" >/dev/null
for i in 1 2 3; do
	psql_q -d t150 "select /* t150_marker */ count(*) from document_chunks c join documents d on d.id = c.document_id where d.title like '%$i%'" >/dev/null
done
psql_q -d t150 "select /* t150_sleep */ pg_sleep(0.2)" >/dev/null
journal_mark
run "$OPSCTL" --output json db slow-queries -d t150
expect_rc 0 "db slow-queries exits 0"
expect_json "db slow-queries prints JSON"
expect_json_true 'len(db(0)["queries"]) >= 2' "slow-queries lists queries"
expect_json_true '"pg_sleep" in json.dumps(db(0)["queries"][0])' "the slowest mean time (pg_sleep 0.2 s) comes first"
expect_journal_added 0 "slow-queries without --reset writes no journal line"

run "$OPSCTL" --output json db slow-queries -d t150 --limit 1
expect_json_true 'len(db(0)["queries"]) == 1' "--limit 1 lists one query"

run "$OPSCTL" db slow-queries -d t150
expect_rc 0 "text slow-queries exits 0"
expect_out_contains "pg_sleep" "text output shows the query"

journal_mark
run "$OPSCTL" db slow-queries -d t150 --reset
expect_rc 0 "slow-queries --reset exits 0"
n=$(psql_q -d t150 "select count(*) from pg_stat_statements where query like '%t150_marker%' or query like '%t150_sleep%'")
if [ "$n" = 0 ]; then ok "--reset cleared pg_stat_statements"; else not_ok "--reset cleared pg_stat_statements ($n left)"; fi
expect_journal_added 1 "--reset writes one journal line"

done_testing
