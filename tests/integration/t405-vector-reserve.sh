#!/usr/bin/env bash
# t405: the rebuild reserves room in the index for the rows it is about to
# add (FAISS would otherwise grow it by doubling: twice the page faults and a
# copy of the index at each doubling; tests/bench/vector-results.md).  The
# room comes from the planner's row estimate, which may be stale in either
# direction, missing, or absurd: the index must hold exactly the table's
# rows whatever it says.
. "$(dirname "$0")/../lib/common.sh"
. "$ROOT/tests/lib/pg.sh"
pg_start || bail_out "PostgreSQL starts"
DB=t405
PGOPTIONS='-c client_min_messages=warning' psql_q "drop database if exists $DB" >/dev/null
psql_q "create database $DB" >/dev/null
at_exit "psql_q 'drop database if exists $DB'"
# No autovacuum on the table, so that the estimate stays as each case leaves it.
psql -XAtq -v ON_ERROR_STOP=1 -d "$DB" >/dev/null <<'SQL' || bail_out "the sample table"
create table document_chunks (id bigint primary key, embedding real[])
	with (autovacuum_enabled = off);
SQL
add_rows() {	# add_rows FROM TO
	psql -XAtq -v ON_ERROR_STOP=1 -d "$DB" -c "insert into document_chunks
		select g, (select array_agg(random()::real) from generate_series(1, 16) where g > 0)
		from generate_series($1, $2) g" >/dev/null
}
estimate() { psql -XAtq -d "$DB" -c "select reltuples::bigint from pg_class where relname = 'document_chunks'"; }

IDX="$T/idx/index.faiss"
cat >"$T/opsctl.conf" <<CONF
[general]
log_level = debug
[vector]
database = $DB
index_path = $IDX
factory = IDMap,Flat
CONF
export OPSCTL_CONFIG="$T/opsctl.conf" OPSCTL_ENV=dev

if nm -D --defined-only "$ROOT/opsctl-faiss.so" | grep -qw opsctl_faiss_reserve; then
	ok "the FAISS plugin exports opsctl_faiss_reserve"
else
	not_ok "the FAISS plugin exports opsctl_faiss_reserve"
fi

rebuild_said() {	# rebuild_said STRING DESC: the last rebuild's debug log has it
	if grep -qF -- "$1" "$T/rebuild.err"; then ok "$2"; else not_ok "$2"; diag "$(cat "$T/rebuild.err")"; fi
}
rebuild_holds() {	# rebuild_holds N DESC
	run "$OPSCTL" --output json vector rebuild --force
	expect_rc 0 "$2: rebuild exits 0"
	expect_json_true "d['vectors'] == $1" "$2: the index holds the table's $1 rows"
	cp "$ERR" "$T/rebuild.err"
	run "$OPSCTL" --output json vector verify
	expect_rc 0 "$2: verify finds nothing missing or extra"
}

# Never analyzed: reltuples is -1, no estimate, nothing reserved.
add_rows 1 1000
[ "$(estimate)" -le 0 ] && ok "a new table has no estimate" || not_ok "a new table has no estimate ($(estimate))"
rebuild_holds 1000 "no estimate"
if grep -q "room reserved" "$T/rebuild.err"; then not_ok "no estimate: no room reserved"; else ok "no estimate: no room reserved"; fi

# Exact.
psql -XAtq -d "$DB" -c "analyze document_chunks" >/dev/null
rebuild_holds 1000 "exact estimate"
rebuild_said "room reserved for 1000 vectors (the planner's estimate)" "exact estimate: room for 1000 vectors"

# Stale low: 1500 rows more since the last ANALYZE.
add_rows 1001 2500
rebuild_holds 2500 "estimate too low"
rebuild_said "room reserved for 1000 vectors" "estimate too low: room for the 1000 it expected"

# Stale high: most rows deleted since.
psql -XAtq -d "$DB" -c "analyze document_chunks; delete from document_chunks where id > 300" >/dev/null
rebuild_holds 300 "estimate too high"
rebuild_said "room reserved for 2500 vectors" "estimate too high: room for the 2500 it expected"

# Absurd: more than this machine can address.  The reservation fails, is
# logged, and the rebuild goes on without it.
psql -XAtq -d "$DB" -c "update pg_class set reltuples = 1e15 where relname = 'document_chunks'" >/dev/null
rebuild_holds 300 "absurd estimate"
rebuild_said "no room reserved for 9999999" "absurd estimate: the failed reservation is logged, not fatal"

# Beyond bigint: the estimate is capped, not an error that stops the rebuild.
psql -XAtq -d "$DB" -c "update pg_class set reltuples = 1e30 where relname = 'document_chunks'" >/dev/null
rebuild_holds 300 "estimate beyond bigint"
rebuild_said "no room reserved for 9999999" "estimate beyond bigint: capped, the reservation fails and is logged"

# factory auto counts the rows first: that count is reserved, not the estimate.
sed -i 's/^factory = .*/factory = auto/' "$T/opsctl.conf"
rebuild_holds 300 "factory auto"
rebuild_said "room reserved for 300 vectors (counted)" "factory auto: room for the rows counted"

done_testing
