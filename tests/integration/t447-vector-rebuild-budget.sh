#!/usr/bin/env bash
# t447: `vector rebuild` with vector.factory = auto chooses the index within
# vector.memory_budget (issue 18), through the one planner that `vector
# optimize -t advanced` uses: 4000 vectors of 24 dimensions whose exact index
# (416 KB) does not fit a 400,000-byte budget get the most exact IVF kind
# that does, trained on the sample the plan leaves room for; --dry-run
# reports the same plan; a budget too small for any kind is exit 78 naming
# vector.memory_budget, the live index untouched; an explicit factory is
# used as given.  The dimension is the source's first vector's (rows with a
# NULL or an empty embedding before it are passed over), in PostgreSQL and
# in SQLite.
. "$(dirname "$0")/../lib/common.sh"
. "$ROOT/tests/lib/pg.sh"
pg_start || bail_out "PostgreSQL starts"
DB=t447
PGOPTIONS='-c client_min_messages=warning' psql_q "drop database if exists $DB" >/dev/null
psql_q "create database $DB" >/dev/null
at_exit "psql_q 'drop database if exists $DB'"
# Rows 1 and 2 hold no vector (NULL, an empty array) and come first.
psql -XAtq -v ON_ERROR_STOP=1 -d "$DB" >/dev/null <<'SQL' || bail_out "the sample table"
create table document_chunks (id bigint primary key, embedding real[]);
insert into document_chunks values (1, null), (2, '{}');
select setseed(0.447);
insert into document_chunks
select g, (select array_agg((random() - 0.5)::real) from generate_series(1, 24) where g > 0)
from generate_series(3, 4002) g;
SQL
IDX="$T/idx/index.faiss"
cat >"$T/opsctl.conf" <<CONF
[general]
environment = dev
[vector]
database = $DB
index_path = $IDX
backup_dir = $T/vbackups
metric = l2
CONF
export OPSCTL_CONFIG="$T/opsctl.conf"
derive_conf "$T/opsctl.conf" "$T/small.conf" "memory_budget = 400000"
derive_conf "$T/opsctl.conf" "$T/tiny.conf" "memory_budget = 50000"
derive_conf "$T/small.conf" "$T/given.conf" "factory = IDMap,Flat" "index_path = $T/given/index.faiss"

# ---- the default budget (8G): exact, as before, with its plan ----
run "$OPSCTL" --output json vector rebuild --dry-run
expect_rc 0 "rebuild --dry-run, factory auto, the default budget: exit 0"
expect_json_true 'd["factory"] == "IDMap,Flat" == d["memory_plan"]["type"] and d["memory_plan"]["budget_bytes"] == 8 * 1024**3 and d["memory_plan"]["rejected"] == [] and d["memory_plan"]["training_vectors"] == 0' \
	"4000 vectors fit 8G: exact, the plan reported"

# ---- a budget the exact index does not fit ----
OPSCTL_CONFIG="$T/small.conf" run "$OPSCTL" --output json vector rebuild --dry-run
expect_rc 0 "rebuild --dry-run under 400000 bytes: exit 0"
cp "$OUT" "$T/dry.json"
expect_json_true 'd["factory"] == d["memory_plan"]["type"] == "IVF128,SQ8"' "dry run: IVF128,SQ8, the planner's choice, is the factory"
expect_json_true 'd["memory_plan"]["budget_bytes"] == 400000 and d["memory_plan"]["memory_bytes"] <= 400000 and d["memory_plan"]["index_bytes"] + d["memory_plan"]["training_bytes"] == d["memory_plan"]["memory_bytes"]' \
	"dry run: the plan's memory is within the budget"
expect_json_true '[r["type"] for r in d["memory_plan"]["rejected"]] == ["IDMap,Flat", "IVF128,Flat"] and all(r["memory_bytes"] > 400000 for r in d["memory_plan"]["rejected"])' \
	"dry run: the exact and IVF,Flat kinds rejected, each needing more than the budget"
expect_json_true '1280 <= d["memory_plan"]["training_vectors"] < 4000 and d["memory_plan"]["training_bytes"] == d["memory_plan"]["training_vectors"] * 24 * 8' \
	"dry run: the training sample cut to what fits (10 a list at least)"
if [ ! -e "$T/idx" ]; then ok "the dry run wrote nothing"; else not_ok "the dry run wrote nothing"; fi

OPSCTL_CONFIG="$T/small.conf" run "$OPSCTL" --output json vector rebuild --force -v
expect_rc 0 "rebuild --force under 400000 bytes: exit 0"
cp "$ERR" "$T/rebuild.err"
expect_json_true 'd["factory"] == d["memory_plan"]["type"] == "IVF128,SQ8" and d["vectors"] == 4000 and d["dimension"] == 24' \
	"rebuild builds the planned IVF128,SQ8 with every vector"
expect_json_true "d['memory_plan'] == $(cat "$T/dry.json" | python3 -c 'import json,sys; print(repr(json.load(sys.stdin)["memory_plan"]))')" \
	"the real run's plan is the dry run's"
expect_json_true 'd["recall_at_10"] >= 0.9' "and it reaches vector.recall_bar"
train=$(json_get 'd["memory_plan"]["training_vectors"]')
if grep -qF "training IVF128,SQ8 on $train vectors" "$T/rebuild.err"; then
	ok "it trains on the plan's $train vectors"
else
	not_ok "it trains on the plan's $train vectors"; diag "$(grep -i training "$T/rebuild.err")"
fi
OUT_SAVE=$OUT; OUT="$IDX.manifest.json"
expect_json_true 'd["type"] == "IVF128,SQ8" and d["vectors"] == 4000' "the manifest records the planned kind"
OUT=$OUT_SAVE
size=$(stat -c %s "$IDX")
if [ "$size" -le 400000 ]; then ok "the index file ($size bytes) is within the budget"; else not_ok "the index file ($size bytes) is within the budget"; fi
run "$OPSCTL" --output json vector stats
expect_json_true 'd["type"].startswith("IVF128") and d["nlist"] == 128' "stats: the live index is the IVF of 128 lists"
run "$OPSCTL" vector verify
expect_rc 0 "and it verifies"

# ---- a budget too small for any kind: exit 78, nothing changed ----
# The files, not the directories: the run checks first that it could write
# them (a probe file made and removed, the backup directory made).
snap() { find "$T/idx" "$T/vbackups" -type f -printf '%p %s %T@\n' 2>/dev/null | sort; sha256sum "$IDX" "$IDX.manifest.json"; }
snap >"$T/before"
OPSCTL_CONFIG="$T/tiny.conf" run "$OPSCTL" vector rebuild --force
expect_fail 78 "rebuild under 50000 bytes: exit 78 naming the key" \
	"vector.memory_budget 48.8 KiB is too small for any index of" "vectors of 24 dimensions"
expect_err_contains "hint: raise vector.memory_budget" "with a hint"
snap >"$T/after"
if cmp -s "$T/before" "$T/after"; then ok "the live index, its manifest and the backups as they were"; else not_ok "the live index, its manifest and the backups as they were"; diff "$T/before" "$T/after" | sed 's/^/#   /'; fi
OPSCTL_CONFIG="$T/tiny.conf" run "$OPSCTL" --output json vector rebuild --force
expect_rc 78 "JSON: exit 78"
expect_json_true 'd["status"] == "failed" and d["exit_code"] == 78 and "vector.memory_budget" in d["error"]' "JSON: the envelope names vector.memory_budget"
OPSCTL_CONFIG="$T/tiny.conf" run "$OPSCTL" vector rebuild --dry-run
expect_fail 78 "the dry run refuses the same budget: exit 78" "vector.memory_budget"
snap >"$T/after"
if cmp -s "$T/before" "$T/after"; then ok "still nothing changed"; else not_ok "still nothing changed"; fi

# ---- an explicit factory is used as given ----
OPSCTL_CONFIG="$T/given.conf" run "$OPSCTL" --output json vector rebuild --force
expect_rc 0 "factory = IDMap,Flat under the same budget: exit 0"
expect_json_true 'd["factory"] == "IDMap,Flat" and "memory_plan" not in d and d["vectors"] == 4000' "the given factory, no plan"

# ---- SQLite: the first vector's dimension, past a NULL and an empty list ----
python3 - "$T/kh.db" <<'PY'
import random, sqlite3, sys
random.seed(5)
db = sqlite3.connect(sys.argv[1])
db.execute("create table chunks (id integer primary key, embedding text)")
db.execute("insert into chunks values (1, null)")
db.execute("insert into chunks values (2, ' [ ] ')")
for i in range(3, 53):
    db.execute("insert into chunks values (?, ?)", (i, "[" + ", ".join(str(random.random()) for _ in range(16)) + "]"))
db.commit()
PY
cat >"$T/lite.conf" <<CONF
[vector]
database = sqlite:$T/kh.db
table = chunks
index_path = $T/lite/index.faiss
memory_budget = 2000
CONF
OPSCTL_CONFIG="$T/lite.conf" run "$OPSCTL" vector rebuild --dry-run
expect_fail 78 "SQLite, 2000 bytes: exit 78, planned for the source's 16 dimensions" "vectors of 16 dimensions"
derive_conf "$T/lite.conf" "$T/lite2.conf" "memory_budget = 1M"
OPSCTL_CONFIG="$T/lite2.conf" run "$OPSCTL" --output json vector rebuild --force
expect_rc 0 "SQLite, 1M: exit 0"
expect_json_true 'd["factory"] == d["memory_plan"]["type"] == "IDMap,Flat" and d["vectors"] == 50 and d["dimension"] == 16' "SQLite: the exact index planned and built"

done_testing
