#!/usr/bin/env bash
# t745: opsctl health's vector component over guide 000's document_chunks
# (pg_make_sample_db) and an index `opsctl vector rebuild` builds: not
# configured, missing, OK, drift (WARNING, then ten times the tolerance
# CRITICAL), stale (the manifest's built_at moved back), damage (a changed
# byte, a longer file), and --full's search self-test.
. "$(dirname "$0")/../lib/common.sh"
. "$ROOT/tests/lib/pg.sh"
pg_start || bail_out "PostgreSQL starts"
DB=t745
pg_make_sample_db "$DB" || bail_out "sample database $DB"
at_exit "psql_q 'drop database if exists $DB'"
export OPSCTL_FAISS_PLUGIN="$ROOT/opsctl-faiss.so"
IDX="$T/idx/index.faiss"
cat >"$T/opsctl.conf" <<EOF
[vector]
database = $DB
index_path = $IDX
EOF
export OPSCTL_CONFIG="$T/opsctl.conf"
first() { head -n 1 "$OUT"; }
rows() { psql_q -d "$DB" "select count(*) from document_chunks where embedding is not null"; }

# ---- not configured, missing ----
run env OPSCTL_CONFIG=/dev/null OPSCTL_VECTOR_INDEX= "$OPSCTL" health -c vector
expect_rc 3 "vector.index_path unset, nothing at its default: named, UNKNOWN (not configured)"
expect_out_contains "not configured: vector.index_path is not set" "the reason is said"
run "$OPSCTL" health -c vector
expect_rc 2 "no index at vector.index_path: CRITICAL"
first | grep -q "^OPSCTL HEALTH CRITICAL - vector: no index at '$IDX'"
check $? "CRITICAL names the path"

# ---- OK ----
run "$OPSCTL" vector rebuild --force
expect_rc 0 "vector rebuild --force"
N=$(rows)
run "$OPSCTL" health -c vector
expect_rc 0 "a fresh index matching its source: OK"
first | grep -q "'vector_count'=$N;;;0; 'vector_drift_pct'=0%;1;10;0; 'vector_age'=[0-9.]*s;691200;1296000;0;"
check $? "perfdata: vector_count, vector_drift_pct and vector_age with their thresholds"
run "$OPSCTL" --output json health -c vector
expect_json_true 'd["components"][0]["index"]["sha256_checked"] is True and d["components"][0]["index"]["rows"] == d["components"][0]["vector_count"]' "JSON: a small index's SHA-256 is checked on every run; rows and vectors"

# ---- drift ----
psql_q -d "$DB" "delete from document_chunks where id in (select id from document_chunks order by id limit $((N / 50)))" >/dev/null
run "$OPSCTL" health -c vector
expect_rc 1 "2% fewer rows than vectors (tolerance 1%): WARNING"
first | grep -q "index holds $N vectors, the source $((N - N / 50)) rows (2.0% apart, tolerance 1%)"
check $? "WARNING gives both counts and the tolerance"
psql_q -d "$DB" "delete from document_chunks where id in (select id from document_chunks order by id limit $((N / 10)))" >/dev/null
run "$OPSCTL" health -c vector
expect_rc 2 "12% apart (over ten times the tolerance): CRITICAL"
printf '[vector]\ndatabase = %s\nindex_path = %s\n[health]\nvector_count_tolerance_pct = 20\n' "$DB" "$IDX" >"$T/tol.conf"
run "$OPSCTL" --config "$T/tol.conf" health -c vector
expect_rc 0 "the same within health.vector_count_tolerance_pct = 20: OK"
run "$OPSCTL" vector rebuild --force
expect_rc 0 "rebuilt from the rows left"

# ---- stale: the manifest's built_at ----
built_ago() {
	python3 - "$IDX.manifest.json" "$1" <<'PY'
import json, sys, time
m = json.load(open(sys.argv[1]))
m["built_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - float(sys.argv[2])))
json.dump(m, open(sys.argv[1], "w"))
PY
}
cp "$IDX.manifest.json" "$T/manifest.saved"
built_ago $((10 * 86400))
run "$OPSCTL" health -c vector
expect_rc 1 "rebuilt 10 days ago (> 8d): WARNING"
expect_out_contains "index last rebuilt 10 d 0 h ago (more than 8 d 0 h)" "WARNING says how long ago"
built_ago $((20 * 86400))
run "$OPSCTL" health -c vector
expect_rc 2 "rebuilt 20 days ago (> 15d): CRITICAL"
cp "$T/manifest.saved" "$IDX.manifest.json"

# ---- damage ----
cp "$IDX" "$T/index.saved"
printf '\377' | dd of="$IDX" bs=1 seek=200 conv=notrunc 2>/dev/null
run "$OPSCTL" health -c vector
expect_rc 2 "a changed byte: CRITICAL"
expect_out_contains "does not match its manifest's SHA-256" "CRITICAL names the digest mismatch"
cp "$T/index.saved" "$IDX"
printf 'xx' >>"$IDX"
run "$OPSCTL" health -c vector
expect_rc 2 "a longer file: CRITICAL"
expect_out_contains "its manifest says $(stat -c %s "$T/index.saved")" "CRITICAL gives both sizes"
cp "$T/index.saved" "$IDX"
touch "$IDX.manifest.json"
run "$OPSCTL" health -c vector
expect_rc 0 "restored: OK again"

# ---- --full: the search self-test ----
run "$OPSCTL" --output json health -c vector --full
expect_rc 0 "--full: OK"
expect_json_true 'd["components"][0]["searched"] > 0 and d["components"][0]["found"] == d["components"][0]["searched"]' "--full: every sampled vector found"
run "$OPSCTL" --output json health -c vector
expect_json_true '"searched" not in d["components"][0]' "without --full no search"
done_testing
