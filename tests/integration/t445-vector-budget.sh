#!/usr/bin/env bash
# t445: `vector optimize -t advanced` under vector.memory_budget (issue 18).
# 50,000 clustered vectors of 384 dimensions; the live index is exact
# (IDMap,Flat, 77 MB), larger than a 64 MiB budget.  The candidate must be
# the most exact type whose codes, ids, centroids and training sample fit
# (IVF with 8-bit scalar codes here: whole vectors do not fit), reach
# recall@10 0.95, and replace the live index; the run's peak RSS, measured
# by /usr/bin/time, stays within the budget plus a margin for the process
# itself; the live index too large for the budget is never loaded (a dry run
# stays below its size); a budget too small for any index is exit 78 naming
# vector.memory_budget, with nothing changed.
. "$(dirname "$0")/../lib/common.sh"
. "$ROOT/tests/lib/pg.sh"
PY=/usr/bin/python3
$PY -c 'import numpy' 2>/dev/null || bail_out "python3-numpy (scripts/setup)"
[ -x /usr/bin/time ] || bail_out "/usr/bin/time (scripts/setup: time)"
pg_start || bail_out "PostgreSQL starts"
DB=t445
PGOPTIONS='-c client_min_messages=warning' psql_q "drop database if exists $DB" >/dev/null
psql_q "create database $DB" >/dev/null
at_exit "psql_q 'drop database if exists $DB'"
psql -XAtq -v ON_ERROR_STOP=1 -d "$DB" -c "create table document_chunks (id bigint, embedding bytea)" >/dev/null ||
	bail_out "the sample table"
$PY "$ROOT/tests/lib/vector_gen.py" 50000 384 |
	psql -XAtq -v ON_ERROR_STOP=1 -d "$DB" -c "copy document_chunks from stdin (format binary)" >/dev/null ||
	bail_out "the sample rows"
psql -XAtq -v ON_ERROR_STOP=1 -d "$DB" -c "alter table document_chunks add primary key (id)" \
	-c "analyze document_chunks" >/dev/null || bail_out "the sample table's key"
IDX="$T/idx/index.faiss"
cat >"$T/opsctl.conf" <<CONF
[vector]
database = $DB
index_path = $IDX
backup_dir = $T/vbackups
factory = IDMap,Flat
backup_before_rebuild = false
CONF
export OPSCTL_CONFIG="$T/opsctl.conf"
export OPSCTL_FAISS_PLUGIN="$(dirname "$OPSCTL")/opsctl-faiss.so"
BUDGET=$((64 * 1048576))
{ cat "$T/opsctl.conf"; echo "memory_budget = 64M"; } >"$T/budget.conf"
{ cat "$T/opsctl.conf"; echo "memory_budget = 1M"; } >"$T/tiny.conf"

# rss_below FILE BYTES DESC: the peak RSS /usr/bin/time -v wrote to FILE is
# at most BYTES.
rss_below() {
	local kib
	kib=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$1")
	if [ -n "$kib" ] && [ "$((kib * 1024))" -le "$2" ]; then
		ok "$3 (peak RSS $kib KiB, at most $(($2 / 1024)) KiB)"
	else
		not_ok "$3 (peak RSS ${kib:-?} KiB, more than $(($2 / 1024)) KiB)"
	fi
}

run "$OPSCTL" vector rebuild --force
expect_rc 0 "the exact live index is built"
size=$(stat -c %s "$IDX")
if [ "$size" -gt "$BUDGET" ]; then ok "the exact index ($size bytes) is larger than the 64 MiB budget"; else not_ok "the exact index ($size bytes) is larger than the 64 MiB budget"; fi

if nm -D --defined-only "$OPSCTL_FAISS_PLUGIN" | grep -qw opsctl_faiss_reserve_lists; then
	ok "the FAISS plugin exports opsctl_faiss_reserve_lists"
else
	not_ok "the FAISS plugin exports opsctl_faiss_reserve_lists"
fi

# ---- the plan, without building: the live index is not loaded ----
OPSCTL_CONFIG="$T/budget.conf" run /usr/bin/time -v -o "$T/time.dry" "$OPSCTL" -o json vector optimize -t advanced --dry-run
expect_rc 0 "optimize -t advanced --dry-run under 64M: exit 0"
expect_json_true 'd["candidate_type"] == "IVF512,SQ8" and d["memory_plan"]["type"] == "IVF512,SQ8" and d["memory_plan"]["budget_bytes"] == 64 * 1048576 and d["memory_plan"]["memory_bytes"] <= d["memory_plan"]["budget_bytes"]' \
	"dry run: IVF512,SQ8 planned within the budget"
expect_json_true '[r["type"] for r in d["memory_plan"]["rejected"]] == ["IDMap,Flat", "IVF512,Flat"] and all(r["memory_bytes"] > 64 * 1048576 for r in d["memory_plan"]["rejected"])' \
	"dry run: the exact and IVF,Flat types rejected, each needing more than the budget"
expect_json_true 'd["memory_plan"]["index_bytes"] + d["memory_plan"]["training_bytes"] == d["memory_plan"]["memory_bytes"] and 5120 <= d["memory_plan"]["training_vectors"] < 50000 and d["memory_plan"]["training_bytes"] == d["memory_plan"]["training_vectors"] * 384 * 8' \
	"dry run: the training sample is cut to what fits beside the codes (10 a list at least)"
rss_below "$T/time.dry" "$((size - 1))" "dry run: the live index is not loaded"

# ---- the real run: built, measured and swapped within the budget ----
before=$(sha256sum <"$IDX")
OPSCTL_CONFIG="$T/budget.conf" run /usr/bin/time -v -o "$T/time.opt" "$OPSCTL" -o json vector optimize -t advanced --force
expect_rc 0 "optimize -t advanced under 64M: exit 0"
expect_json_true 'd["after"]["type"] == "IVF512,SQ8" and d["memory_plan"]["memory_bytes"] <= 64 * 1048576' "the chosen type fits the budget"
expect_json_true 'd["before"]["type"] == "IDMap,Flat" and d["before"]["measured"] is False and "recall_at_10" not in d["before"]' \
	"the live index, larger than the budget, is not loaded to be measured"
expect_json_true 'd["after"]["recall_at_10"] >= 0.95 and d["after"]["size_bytes"] < 64 * 1048576' \
	"the candidate reaches recall@10 0.95 against exact search and its file is within the budget"
expect_json_true 'd["not_worse"] is True and d["decision"].startswith("replaced: the live index does not fit vector.memory_budget")' \
	"it replaces the live index, saying why"
# The process itself (libpq, OpenBLAS, FAISS, buffers) is the margin: 64 MiB here, 256 at 2M.
rss_below "$T/time.opt" "$((BUDGET + 64 * 1048576))" "the run stays within the budget + 64 MiB"
if [ "$(sha256sum <"$IDX")" != "$before" ] && [ ! -e "$IDX.candidate" ]; then
	ok "the live index was replaced and no candidate is left"
else
	not_ok "the live index was replaced and no candidate is left"
fi
run "$OPSCTL" -o json vector stats
expect_json_true 'd["type"].startswith("IVF512,SQ8") or "SQ8" in json.dumps(d)' "stats: the live index is the scalar-quantized IVF"
run "$OPSCTL" vector verify
expect_rc 0 "and it verifies (recall at its stored nprobe)"

# ---- a budget too small for any index ----
before=$(sha256sum <"$IDX")
OPSCTL_CONFIG="$T/tiny.conf" run "$OPSCTL" vector optimize -t advanced --force
expect_fail 78 "a 1M budget: exit 78" "vector.memory_budget 1.0 MiB is too small for any index of 50000 vectors of 384 dimensions: the smallest, IVF512,PQ8"
expect_err_contains "hint: raise vector.memory_budget" "with a hint"
if [ "$(sha256sum <"$IDX")" = "$before" ] && [ ! -e "$IDX.candidate" ]; then
	ok "nothing changed: the live index as it was, no candidate"
else
	not_ok "nothing changed: the live index as it was, no candidate"
fi
OPSCTL_CONFIG="$T/tiny.conf" run "$OPSCTL" -o json vector optimize -t advanced --dry-run
expect_rc 78 "the dry run refuses the same budget: exit 78"
expect_json_true 'd["status"] == "failed" and "vector.memory_budget" in d["error"]' "JSON: the envelope names vector.memory_budget"

done_testing
