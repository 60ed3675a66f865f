#!/usr/bin/env bash
# t440: the search checks of `vector verify` and `vector rebuild` measure
# recall@10 against exact search (issue 10).  On random (hard) data an IVF
# index at nprobe 1 finds every stored vector in its own list (the old
# self-search passed it) while its real recall is low: rebuild must raise
# nprobe until it clears vector.recall_bar, store it, or refuse the index
# (exit 65, the live one untouched); verify must report recall@10 at the
# stored parameters and fail below the bar (exit 65).  Also: a rebuild
# killed with SIGKILL leaves a temp the next run sweeps, and a rebuild into
# a directory it cannot write fails (exit 77) before any database work.
. "$(dirname "$0")/../lib/common.sh"
. "$ROOT/tests/lib/pg.sh"
PY=/usr/bin/python3
$PY -c 'import faiss, numpy, psycopg2' 2>/dev/null || bail_out "python3-faiss, python3-numpy, python3-psycopg2 (scripts/setup)"
pg_start || bail_out "PostgreSQL starts"
DB=t440
PGOPTIONS='-c client_min_messages=warning' psql_q "drop database if exists $DB" >/dev/null
psql_q "create database $DB" >/dev/null
at_exit "psql_q 'drop database if exists $DB'"
# 10000 points uniform in the 32-dimensional cube: no clusters for IVF's
# lists to follow, so a query's neighbours are spread over many lists.
psql -XAtq -v ON_ERROR_STOP=1 -d "$DB" >/dev/null <<'SQL' || bail_out "the sample table"
create table document_chunks (id bigint primary key, embedding real[]);
insert into document_chunks
select g, (select array_agg(random()::real) from generate_series(1, 32) where g > 0)
from generate_series(1, 10000) g;
SQL
IDX="$T/idx/index.faiss"
cat >"$T/opsctl.conf" <<CONF
[vector]
database = $DB
index_path = $IDX
backup_dir = $T/vbackups
metric = l2
factory = IVF64,Flat
CONF
export OPSCTL_CONFIG="$T/opsctl.conf"
export OPSCTL_FAISS_PLUGIN="$ROOT/opsctl-faiss.so"

# pyrecall INDEX: recall@10 of the index file as Python faiss searches it
# (its stored nprobe), for 200 new random points, against exact search
# over the table; prints "recall nprobe".
pyrecall() {
	$PY - "$DB" "$1" <<'PY'
import sys, faiss, numpy as np, psycopg2
cur = psycopg2.connect(dbname=sys.argv[1]).cursor()
cur.execute("select id, embedding from document_chunks order by id")
rows = cur.fetchall()
ids = np.array([r[0] for r in rows], dtype="int64")
x = np.array([r[1] for r in rows], dtype="float32")
exact = faiss.IndexIDMap(faiss.IndexFlatL2(x.shape[1]))
exact.add_with_ids(x, ids)
q = np.random.default_rng(8).random((200, x.shape[1]), dtype="float32")
_, want = exact.search(q, 10)
idx = faiss.read_index(sys.argv[2])
_, got = idx.search(q, 10)
hits = sum(len(set(a) & set(b)) for a, b in zip(want, got))
ivf = faiss.extract_index_ivf(idx)
print("%.3f %d" % (hits / want.size, ivf.nprobe))
PY
}

# ---- rebuild: nprobe 1 is not enough on this data, so it is raised ----
run "$OPSCTL" --output json vector rebuild --force
expect_rc 0 "rebuild of IVF64,Flat exits 0"
expect_json_true 'd["tuning"][0]["nprobe"] == 1 and d["tuning"][0]["recall_at_10"] < 0.9' "at nprobe 1 its recall@10 is below the bar (the data is hard), though every stored vector is found: self_recall $(json_get 'd.get("self_recall")')"
expect_json_true 'd["recall_at_10"] >= 0.9 and d["search_parameters"]["nprobe"] > 1 and d["nprobe"] == d["search_parameters"]["nprobe"]' "nprobe raised until recall@10 clears the bar: $(json_get 'd.get("search_parameters")') recall $(json_get 'd.get("recall_at_10")')"
expect_json_true 'd["k"] == 10 and d["recall_bar"] == 0.9 and d["recall_queries"] == 100 and "noise" in d["recall_measured"]' "the report names k, the bar (vector.recall_bar 90), the queries and how they were made"
nprobe=$(json_get 'd["search_parameters"]["nprobe"]')
OUT_SAVE=$OUT; OUT="$IDX.manifest.json"
expect_json_true "d['search_parameters'] == {'nprobe': $nprobe}" "the manifest records nprobe $nprobe"
OUT=$OUT_SAVE
run "$OPSCTL" --output json vector stats
expect_json_true "d['nprobe'] == $nprobe" "and the index file itself searches with it"
read -r pyr pyn < <(pyrecall "$IDX")
if [ "$pyn" = "$nprobe" ] && awk -v r="$pyr" 'BEGIN { exit !(r >= 0.85) }'; then
	ok "Python faiss, with queries of its own, finds recall@10 $pyr at nprobe $pyn: the claim holds"
else
	not_ok "Python faiss confirms the recall (got $pyr at nprobe $pyn)"
fi
run "$OPSCTL" vector rebuild --force
expect_rc 0 "rebuild in text mode exits 0"
expect_out_contains "recall at 10:" "the text report carries recall@10"
expect_out_contains "recall bar:" "and the bar"
expect_out_contains "nprobe" "and the search parameter"

# ---- verify measures at the stored parameters ----
run "$OPSCTL" --output json vector verify
expect_rc 0 "verify of the tuned index exits 0"
expect_json_true "d['recall_at_10'] >= 0.9 and d['search_parameters'] == {'nprobe': $nprobe} and d['k'] == 10 and d['recall_bar'] == 0.9" "verify: recall@10 at the stored nprobe, k and the bar"
expect_file_contains "$OPSCTL_STATE_DIR/opsctl.prom" "opsctl_vector_recall_at_10_ratio{task=\"vector_verify\"" "opsctl_vector_recall_at_10_ratio is the measured recall"

# An IVF index at nprobe 1 (Python faiss writes one as the guide's script
# would): every stored vector is found in its own list, yet it fails.
$PY - "$DB" "$T/py1.faiss" <<'PY' || not_ok "Python faiss writes an IVF64,Flat index at nprobe 1"
import sys, faiss, numpy as np, psycopg2
cur = psycopg2.connect(dbname=sys.argv[1]).cursor()
cur.execute("select id, embedding from document_chunks order by id")
rows = cur.fetchall()
x = np.array([r[1] for r in rows], dtype="float32")
idx = faiss.index_factory(x.shape[1], "IVF64,Flat", faiss.METRIC_L2)
idx.train(x)
idx.add_with_ids(x, np.array([r[0] for r in rows], dtype="int64"))
faiss.write_index(idx, sys.argv[2])
PY
run "$OPSCTL" --output json vector verify -p "$T/py1.faiss"
expect_rc 65 "verify of an IVF index at nprobe 1 on hard data: exit 65"
expect_json_true 'd["self_recall"] == 1.0 and d["recall_at_10"] < 0.9 and d["search_parameters"] == {"nprobe": 1}' "every stored vector is found (self_recall 1), recall@10 $(json_get 'd.get("recall_at_10")') at nprobe 1 is not"
expect_json_true 'any("recall@10" in f and "recall_bar" in f for f in d["findings"])' "the finding names recall@10 and the bar"
run "$OPSCTL" vector verify -p "$T/py1.faiss"
expect_fail 65 "in text mode: one error line naming the recall, nprobe and the bar" "recall@10" "nprobe 1" "vector.recall_bar 0.90"

# ---- rebuild refuses an index that cannot reach the bar ----
before=$(sha256sum "$IDX" "$IDX.manifest.json")
derive_conf "$T/opsctl.conf" "$T/pq.conf" "factory = IVF64,PQ4"
OPSCTL_CONFIG="$T/pq.conf" run "$OPSCTL" --output json vector rebuild --force
expect_rc 65 "IVF64,PQ4 (4 bytes for 32 dimensions) cannot reach recall 0.9: exit 65"
expect_json_true 'd["tuning"][-1]["nprobe"] == 64 and d["recall_at_10"] < 0.9' "tuned up to nprobe 64 (every list) first: recall@10 $(json_get 'd.get("recall_at_10")')"
OPSCTL_CONFIG="$T/pq.conf" run "$OPSCTL" vector rebuild --force
expect_fail 65 "in text mode: one error line, the live index unchanged" "below vector.recall_bar 0.90" "not replacing"
if [ "$(sha256sum "$IDX" "$IDX.manifest.json")" = "$before" ] && [ -z "$(find "$T/idx" -name '*.tmp.*')" ]; then
	ok "the live index and its manifest are as they were, no temp left"
else
	not_ok "the live index and its manifest are as they were"
fi
derive_conf "$T/pq.conf" "$T/pq20.conf" "recall_bar = 10"
OPSCTL_CONFIG="$T/pq20.conf" run "$OPSCTL" --output json vector rebuild --force -p "$T/pq/index.faiss"
expect_rc 0 "with vector.recall_bar = 10 the same index is taken"
expect_json_true 'd["recall_bar"] == 0.1 and d["recall_at_10"] >= 0.1' "at the configured bar"

# ---- HNSW: efSearch is raised, stored in the manifest, and applied by verify ----
derive_conf "$T/opsctl.conf" "$T/hnsw.conf" "factory = IDMap,HNSW4" "index_path = $T/hnsw/index.faiss"
OPSCTL_CONFIG="$T/hnsw.conf" run "$OPSCTL" --output json vector rebuild --force
expect_rc 0 "rebuild of IDMap,HNSW4 exits 0"
expect_json_true 'd["recall_at_10"] >= 0.9 and d["search_parameters"]["efSearch"] >= 16' "efSearch set for recall@10 >= 0.9: $(json_get 'd.get("tuning")')"
ef=$(json_get 'd["search_parameters"]["efSearch"]')
OPSCTL_CONFIG="$T/hnsw.conf" run "$OPSCTL" --output json vector verify
expect_rc 0 "and verifies"
expect_json_true "d['search_parameters'] == {'efSearch': $ef} and d['recall_at_10'] >= 0.9" "verify searches at the manifest's efSearch $ef"

# ---- an exact index: recall 1 by construction, no measuring pass ----
derive_conf "$T/opsctl.conf" "$T/flat.conf" "factory = IDMap,Flat" "index_path = $T/flat/index.faiss"
OPSCTL_CONFIG="$T/flat.conf" run "$OPSCTL" --output json vector rebuild --force
expect_rc 0 "rebuild of IDMap,Flat exits 0"
expect_json_true 'd["recall_at_10"] == 1 and d["recall_measured"].startswith("exact") and d["search_parameters"] == {} and "tuning" not in d' "exact: recall@10 1 by construction"
pg_log_mark
OPSCTL_CONFIG="$T/flat.conf" run "$OPSCTL" --output json vector verify
expect_rc 0 "and verifies"
expect_json_true 'd["recall_at_10"] == 1 and d["found"] == d["searched"] == 100' "every sampled vector found at rank 1"
ncopy=$(opsctl_sql | grep -c '^COPY (SELECT')
if [ "$ncopy" -eq 2 ]; then ok "verify of an exact index reads the source twice (ids, then the sample), no exact-search pass"; else not_ok "verify of an exact index makes no extra pass ($ncopy COPYs)"; opsctl_sql | grep COPY | cut -c1-200 | sed 's/^/#   /'; fi

# ---- SIGKILL while the new index is written: the next run sweeps its temp ----
killed=""
for try in 1 2 3 4 5; do
	"$OPSCTL" vector rebuild --force >/dev/null 2>&1 </dev/null &
	pid=$!
	while kill -0 "$pid" 2>/dev/null && [ ! -e "$IDX.tmp.$pid" ]; do :; done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	if [ -e "$IDX.tmp.$pid" ]; then killed=$pid; break; fi
done
if [ -n "$killed" ]; then
	ok "a rebuild killed with SIGKILL while writing leaves $(basename "$IDX.tmp.$killed")"
	# (a writer's temp is judged abandoned once its pid is gone and it has
	# been left alone for a minute: one on another host may still write)
	touch -d '2 minutes ago' "$IDX.tmp.$killed"
	run "$OPSCTL" vector verify
	expect_rc 0 "the live index still verifies"
	run "$OPSCTL" vector rebuild --force
	expect_rc 0 "the next rebuild runs"
	if [ ! -e "$IDX.tmp.$killed" ]; then ok "and removed the killed run's temp"; else not_ok "the killed run's temp is removed"; fi
	expect_err_contains "left by an interrupted run" "saying so"
else
	not_ok "a rebuild killed while writing leaves its temp (5 tries)"
fi

# ---- a directory the rebuild cannot write: exit 77 before any database work ----
nobody_uid=$(id -u nobody 2>/dev/null)
nobody_gid=$(id -g nobody 2>/dev/null)
if [ "$(id -u)" -ne 0 ]; then
	mkdir -p "$T/ro" && chmod 555 "$T/ro"
	as_user() { RUN_CMD="opsctl $*"; "$OPSCTL" "$@" >"$OUT" 2>"$ERR" </dev/null; RC=$?; }
elif command -v setpriv >/dev/null && [ -n "$nobody_uid" ]; then
	# root writes anywhere: the run is nobody's, in a directory root owns.
	mkdir -p "$T/ro" "$T/nobody/state"
	chown -R "$nobody_uid:$nobody_gid" "$T/nobody"
	chmod 644 "$T/opsctl.conf"
	as_user() {
		RUN_CMD="opsctl $* (as nobody)"
		env OPSCTL_STATE_DIR="$T/nobody/state" HOME="$T/nobody" \
			setpriv --reuid="$nobody_uid" --regid="$nobody_gid" --clear-groups \
			"$OPSCTL" "$@" >"$OUT" 2>"$ERR" </dev/null
		RC=$?
	}
else
	as_user=""
fi
if declare -F as_user >/dev/null; then
	for fac in "IVF64,Flat" "auto"; do
		derive_conf "$T/opsctl.conf" "$T/ro.conf" "index_path = $T/ro/sub/index.faiss" "factory = $fac"
		chmod 644 "$T/ro.conf"
		pg_log_mark
		OPSCTL_CONFIG="$T/ro.conf" as_user vector rebuild --force
		expect_fail 77 "factory $fac, an index directory it cannot create: exit 77" "cannot create" "$T/ro/sub"
		sleep 0.2
		if [ -z "$(pg_statements | cut -f4- | grep -i 'COPY\|count')" ]; then ok "before any database work (factory $fac)"; else not_ok "no database work before the check (factory $fac)"; pg_statements | cut -f4- | cut -c1-200 | sed 's/^/#   /'; fi
	done
	mkdir -p "$T/ro/sub"
	derive_conf "$T/opsctl.conf" "$T/ro.conf" "index_path = $T/ro/sub/index.faiss"
	chmod 644 "$T/ro.conf"
	pg_log_mark
	OPSCTL_CONFIG="$T/ro.conf" as_user vector rebuild --force
	expect_fail 77 "an index directory it cannot write: exit 77 naming it" "cannot write the index directory '$T/ro/sub'" "permission denied"
	if [ -z "$(pg_statements | cut -f4- | grep -i 'COPY')" ]; then ok "and no COPY reached the server"; else not_ok "no COPY before the check"; fi
	derive_conf "$T/opsctl.conf" "$T/rob.conf" "index_path = $T/nobody/idx/index.faiss" "backup_dir = $T/ro/sub"
	chmod 644 "$T/rob.conf"
	OPSCTL_CONFIG="$T/rob.conf" as_user vector rebuild --force
	expect_rc 0 "into a directory of its own the same user rebuilds"
	pg_log_mark
	OPSCTL_CONFIG="$T/rob.conf" as_user vector rebuild --force --backup
	expect_fail 77 "--backup into a directory it cannot write: exit 77 naming it" "cannot write the backup directory '$T/ro/sub'"
	if [ -z "$(pg_statements | cut -f4- | grep -i 'COPY')" ]; then ok "before the table is read"; else not_ok "no COPY before the backup directory's check"; fi
else
	skip "a directory the rebuild cannot write (9 checks)" "root, and no setpriv or no user nobody"
fi

# vector.table is resolved in db.schema (public): a document_chunks in another
# schema (anyone with CREATE there can make one) does not stop the rebuild.
psql -XAtq -v ON_ERROR_STOP=1 -d "$DB" >/dev/null <<'SQL' || not_ok "a second document_chunks in schema other"
create schema other;
create table other.document_chunks (id bigint primary key, embedding real[]);
insert into other.document_chunks values (1, array_fill(0::real, array[32]));
SQL
mkdir -p "$T/schema"
derive_conf "$T/opsctl.conf" "$T/schema.conf" "factory = IDMap,Flat" "index_path = $T/schema/index.faiss"
OPSCTL_CONFIG="$T/schema.conf" run "$OPSCTL" --output json vector rebuild --force
expect_rc 0 "vector rebuild with document_chunks in two schemas: the default resolves in public"
expect_json_true 'd["vectors"] == 10000' "the index holds public.document_chunks' 10000 rows"

done_testing
