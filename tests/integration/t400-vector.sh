#!/usr/bin/env bash
# t400: `opsctl vector` against a real PostgreSQL 15 and Python faiss
# (Debian's python3-faiss, run with /usr/bin/python3): rebuild, verify and
# stats; indexes written by Python faiss verify and what opsctl writes loads
# in faiss.read_index; the faults of issue 4 (damaged files, other
# dimensions, NULL, NaN, mixed dimensions, missing tables, SIGKILL mid-
# rebuild, two rebuilds at once).
. "$(dirname "$0")/../lib/common.sh"
. "$ROOT/tests/lib/pg.sh"
PY=/usr/bin/python3
$PY -c 'import faiss, numpy, psycopg2' 2>/dev/null || bail_out "python3-faiss, python3-numpy, python3-psycopg2 (scripts/setup)"
pg_start || bail_out "PostgreSQL starts"
DB=t400
PGOPTIONS='-c client_min_messages=warning' psql_q "drop database if exists $DB" >/dev/null
psql_q "create database $DB" >/dev/null
at_exit "psql_q 'drop database if exists $DB'"
# 3000 chunks of 32 dimensions, unit length (inner product = cosine).
psql -XAtq -v ON_ERROR_STOP=1 -d "$DB" >/dev/null <<'SQL' || bail_out "the sample table"
create table document_chunks (id bigserial primary key, content text, embedding real[]);
insert into document_chunks (content, embedding)
select 'chunk ' || g, (select array_agg(v / norm)::real[] from (
	select v, sqrt(sum(v * v) over ()) as norm from (
		select random() - 0.5 + g * 0 as v from generate_series(1, 32)) r) s)
from generate_series(1, 3000) g;
SQL
# Derived configurations (derive_conf, tests/lib/common.sh) replace the keys
# they change: a key set twice is warned about, a second stderr line.

IDX="$T/idx/index.faiss"
cat >"$T/opsctl.conf" <<CONF
[vector]
database = $DB
index_path = $IDX
backup_dir = $T/vbackups
CONF
export OPSCTL_CONFIG="$T/opsctl.conf"
export OPSCTL_FAISS_PLUGIN="$ROOT/opsctl-faiss.so"

# ---- rebuild, stats, verify ----
journal_mark
run "$OPSCTL" --output json vector rebuild --force
expect_rc 0 "vector rebuild --force exits 0"
expect_json_true 'd["factory"] == "IDMap,Flat" and d["vectors"] == 3000 and d["dimension"] == 32' "3000 vectors of 32 dimensions in IDMap,Flat"
expect_json_true 'd["found"] == d["searched"] == 20 and d["self_recall"] == 1.0 and d["found_within_top"] == 1' "the new index finds its sample at rank 1"
expect_json_true 'isinstance(d["duration_seconds"], (int, float)) and not any(k in d for k in ("ntotal", "seconds", "recall_at_1"))' "rebuild: vectors and duration_seconds, the words every command uses"
expect_journal_added 1 "a journal line"
if [ -f "$IDX" ] && [ -f "$IDX.manifest.json" ]; then ok "index and manifest written"; else not_ok "index and manifest written"; fi
OUT_SAVE=$OUT; OUT="$IDX.manifest.json"
expect_json_true 'd["vectors"] == 3000 and d["dimension"] == 32 and d["metric"] == "ip" and "previous_sha256" not in d' "manifest: vectors, dimension, metric; the swap finished"
expect_json_true "d['sha256'] == '$(sha256sum "$IDX" | cut -d' ' -f1)'" "manifest SHA-256 is the file's"
expect_json_true '__import__("re").fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", d["built_at"]) and "ntotal" not in d' "manifest: built_at is ISO 8601 UTC, the count is vectors"
OUT=$OUT_SAVE
run "$OPSCTL" --output json vector stats
expect_rc 0 "vector stats exits 0"
expect_json_true 'd["type"] == "IDMap,Flat" and d["vectors"] == 3000 and d["manifest"]["vectors"] == 3000' "stats: type, vectors, manifest"
run "$OPSCTL" --output json vector verify
expect_rc 0 "vector verify exits 0"
expect_json_true 'd["missing_ids"] == 0 and d["orphan_ids"] == 0 and d["self_recall"] == 1.0 and d["findings"] == []' "no findings"
expect_json_true 'd["found"] == d["searched"] == 100 and d["found_within_top"] == 1 and not any(k in d for k in ("found_at_rank_1", "recall_at_1", "seconds"))' "verify: every sampled vector found at rank 1, named as rebuild names it"
expect_json_true "d['manifest']['sha256'] == d['sha256'] == '$(sha256sum "$IDX" | cut -d' ' -f1)'" "verify: the manifest it checked against, as stats shows it"
expect_file_contains "$OPSCTL_STATE_DIR/opsctl.prom" "opsctl_vector_index_vectors{task=\"vector_verify\",target=\"$IDX\"} 3000" "the textfile has opsctl_vector_index_vectors, labelled with the index"
expect_file_contains "$OPSCTL_STATE_DIR/opsctl.prom" "opsctl_vector_recall_at_10_ratio{task=\"vector_verify\",target=\"$IDX\"} 1" "and the measured recall as opsctl_vector_recall_at_10_ratio (its k in its name)"
if ! grep -qE '^opsctl_vector_(ntotal|recall)\{' "$OPSCTL_STATE_DIR/opsctl.prom"; then ok "no opsctl_vector_ntotal or bare opsctl_vector_recall"; else not_ok "the old metric names are gone"; grep -E '^opsctl_vector_(ntotal|recall)\{' "$OPSCTL_STATE_DIR/opsctl.prom" | sed 's/^/#   /'; fi
# Times in text as in JSON: ISO 8601 UTC, never an epoch (issue 11).
run "$OPSCTL" vector stats
if grep -qE '^ *built at: +[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$' "$OUT"; then ok "vector stats prints built at as ISO 8601 UTC"; else not_ok "vector stats prints built at as ISO 8601 UTC"; diag_run; fi
# A manifest written before (epoch built_at, ntotal) is shown in today's words.
cp "$IDX" "$T/oldm.faiss"
python3 - "$IDX.manifest.json" "$T/oldm.faiss.manifest.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
m["built_at"] = 1796172666; m["ntotal"] = m.pop("vectors")
json.dump(m, open(sys.argv[2], "w"))
PY
run "$OPSCTL" --output json vector stats -p "$T/oldm.faiss"
expect_json_true 'd["manifest"]["built_at"] == "2026-12-02T00:51:06Z" and d["manifest"]["vectors"] == 3000 and "ntotal" not in d["manifest"]' "an older manifest's epoch built_at and ntotal are shown as ISO 8601 and vectors"

# ---- interoperability with Python faiss ----
if $PY - "$IDX" "$DB" >"$T/py.out" 2>&1 <<'PY'
import sys, faiss, numpy as np, psycopg2
idx = faiss.read_index(sys.argv[1])
assert idx.ntotal == 3000 and idx.d == 32, (idx.ntotal, idx.d)
conn = psycopg2.connect(dbname=sys.argv[2])
cur = conn.cursor()
cur.execute("select id, embedding from document_chunks where id in (5, 1234, 2999)")
for rid, emb in cur.fetchall():
    D, I = idx.search(np.array([emb], dtype='float32'), 1)
    assert I[0][0] == rid, (rid, I)
print("ok")
PY
then ok "faiss.read_index loads what rebuild wrote, and its ids are the row ids"; else not_ok "faiss.read_index loads what rebuild wrote"; sed 's/^/#   /' "$T/py.out"; fi

pyindex() {	# pyindex FACTORY PATH: Python faiss builds an index of the table
	$PY - "$DB" "$1" "$2" <<'PY'
import sys, faiss, numpy as np, psycopg2
conn = psycopg2.connect(dbname=sys.argv[1])
cur = conn.cursor()
cur.execute("select id, embedding from document_chunks where embedding is not null order by id")
rows = cur.fetchall()
ids = np.array([r[0] for r in rows], dtype='int64')
x = np.array([r[1] for r in rows], dtype='float32')
idx = faiss.index_factory(x.shape[1], sys.argv[2], faiss.METRIC_INNER_PRODUCT)
if not idx.is_trained:
    idx.train(x)
idx.add_with_ids(x, ids)
# Search parameters that keep recall@10 well above vector.recall_bar on any
# draw of this random table: verify measures the recall at the parameters
# stored in the file, and this loop is about reading Python's files (t440
# is about recall).
if "IVF" in sys.argv[2]:
    faiss.ParameterSpace().set_index_parameter(idx, "nprobe", 16)  # every list
if "HNSW" in sys.argv[2]:
    faiss.ParameterSpace().set_index_parameter(idx, "efSearch", 128)
faiss.write_index(idx, sys.argv[3])
PY
}
for factory in "IDMap,Flat" "IVF16,Flat" "IDMap,HNSW32" "IVF16,PQ8"; do
	p="$T/py-$(echo "$factory" | tr ',' '_').faiss"
	if ! pyindex "$factory" "$p" 2>"$T/pyerr"; then not_ok "Python faiss builds $factory"; sed 's/^/#   /' "$T/pyerr"; continue; fi
	conf=$OPSCTL_CONFIG
	if [ "$factory" = "IVF16,PQ8" ]; then
		# 8 bytes for 32 random dimensions is lossy: the bar is the data's, not the reader's.
		cp "$T/opsctl.conf" "$T/pq.conf"
		printf 'recall_bar = 20\n' >>"$T/pq.conf"
		conf="$T/pq.conf"
	fi
	OPSCTL_CONFIG=$conf run "$OPSCTL" --output json vector verify -p "$p"
	expect_rc 0 "an index Python faiss wrote ($factory) verifies"
	expect_json_true 'd["manifest"] is None and d["missing_ids"] == 0 and d["orphan_ids"] == 0' "$factory: no manifest, ids agree"
done

# ---- damaged files ----
cp "$IDX" "$T/keep.faiss"
$PY - "$IDX" <<'PY'
import os, sys
p = sys.argv[1]; off = os.path.getsize(p) // 2
with open(p, "r+b") as f:
    f.seek(off); b = f.read(1); f.seek(off); f.write(bytes([b[0] ^ 0x01]))
PY
run "$OPSCTL" vector verify
expect_fail 65 "one flipped byte in the index: verify exits 65" "does not match its manifest"
cp "$T/keep.faiss" "$IDX"
head -c 100000 /dev/urandom >"$T/random.faiss"
run "$OPSCTL" vector verify -p "$T/random.faiss"
expect_fail 65 "a file of random bytes (no manifest): exit 65, no crash" "is not a FAISS index"
# A damaged file is named for what is wrong with it, in every command that
# reads an index, never with FAISS's source location or a stale errno
# ("... 4918 != 640000 (No such file or directory)", issue 11).
head -c 5000 "$IDX" >"$T/trunc.faiss"
: >"$T/empty.faiss"
cp "$IDX" "$T/truncm.faiss"
cp "$IDX.manifest.json" "$T/truncm.faiss.manifest.json"
truncate -s 300000 "$T/truncm.faiss"
for cmd in "stats" "verify" "eval --queries 5" "optimize --force" "purge --ids 1 --force" "backup -d $T/vb-trunc" \
	"rebuild --dry-run"; do
	# shellcheck disable=SC2086
	run "$OPSCTL" vector $cmd -p "$T/trunc.faiss"
	case $cmd in
	"rebuild --dry-run") expect_rc 0 "vector rebuild --dry-run does not read the old index" ;;
	*) expect_fail 65 "vector ${cmd%% *} of a truncated index (no manifest): exit 65 saying so" "index '$T/trunc.faiss' is truncated: the file ends (at 5000 bytes)" ;;
	esac
	if grep -qE 'No such file|index_read\.cpp|Error in ' "$ERR"; then not_ok "vector ${cmd%% *}: no FAISS source location or stale errno"; diag_run; fi
done
run "$OPSCTL" vector stats -p "$T/empty.faiss"
expect_fail 65 "an empty file: exit 65 saying so" "index '$T/empty.faiss' is empty (0 bytes)"
run "$OPSCTL" vector verify -p "$T/truncm.faiss"
expect_fail 65 "a truncated index with its manifest: exit 65 with both sizes" "is truncated: 300000 of the" "bytes its manifest records"
expect_err_contains "hint: restore a copy from vector.backup_dir" "with a hint on what to do"
mkdir -p "$T/vbackups"
cp "$T/trunc.faiss" "$T/vbackups/index_20991231T000000Z_daily.faiss"
run "$OPSCTL" vector verify-backup -b index_20991231T000000Z_daily.faiss
expect_fail 65 "verify-backup of a truncated backup: exit 65 naming the backup" "backup 'index_20991231T000000Z_daily.faiss'" "is truncated"
rm -f "$T/vbackups/index_20991231T000000Z_daily.faiss"
run "$OPSCTL" vector verify -p "$T/none.faiss"
expect_fail 1 "no index at the path: exit 1 (DESIGN: the operation failed)" "no index at '$T/none.faiss'"
expect_err_contains "hint: check vector.index_path" "with a hint"
mkdir -p "$T/locked" && cp "$IDX" "$T/locked/index.faiss" && chmod 700 "$T/locked"
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	run setpriv --reuid=nobody --regid=nogroup --clear-groups env OPSCTL_STATE_DIR="$T/nobody-state" "$OPSCTL" vector stats -p "$T/locked/index.faiss"
	expect_fail 77 "an index in a directory opsctl's user cannot enter: exit 77, not 'no index'" "cannot read index" "Permission denied"
else
	skip "an unreadable index: exit 77" "needs root and setpriv to run as another user"
fi

# ---- the index and the table disagree ----
$PY - "$T/d16.faiss" <<'PY'
import sys, faiss, numpy as np
idx = faiss.IndexIDMap(faiss.IndexFlatIP(16))
idx.add_with_ids(np.random.rand(10, 16).astype('float32'), np.arange(10).astype('int64'))
faiss.write_index(idx, sys.argv[1])
PY
run "$OPSCTL" --output json vector verify -p "$T/d16.faiss"
expect_rc 65 "an index of another dimension: exit 65, bad data (DESIGN's exit table)"
expect_json_true 'any("16 dimensions, the source 32" in x for x in d["findings"])' "the finding names both dimensions"
psql_q -d "$DB" "delete from document_chunks where id between 101 and 110" >/dev/null
run "$OPSCTL" --output json vector verify
expect_rc 1 "rows deleted after the build: verify exits 1"
expect_json_true 'd["orphan_ids"] == 10 and d["missing_ids"] == 0 and d["orphan_sample"][0] == 101' "10 orphan ids, listed"
expect_err_contains "index ids have no row" "the error line names the finding"

# NULL embeddings are skipped and counted.
psql_q -d "$DB" "update document_chunks set embedding = null where id between 201 and 205" >/dev/null
run "$OPSCTL" --output json vector rebuild --force --backup
expect_rc 0 "rebuild with NULL embeddings exits 0"
expect_json_true 'd["null_embeddings"] == 5 and d["vectors"] == 2985' "5 NULL embeddings skipped and counted"
expect_json_true 're.search(r"_pre-rebuild(-[0-9]+)?\.faiss$", d["backup"])' "--backup copied the old index first"
if ls "$T"/vbackups/index_*_pre-rebuild*.faiss >/dev/null 2>&1; then ok "the backup is in vector.backup_dir"; else not_ok "the backup is in vector.backup_dir"; fi
run "$OPSCTL" vector verify
expect_rc 0 "and the rebuilt index verifies"
# An empty array holds no vector either, and verify must count it the same way.
psql_q -d "$DB" "create table saved_206 as select embedding from document_chunks where id = 206; update document_chunks set embedding = '{}' where id = 206" >/dev/null
run "$OPSCTL" --output json vector rebuild --force
expect_json_true 'd["null_embeddings"] == 6 and d["vectors"] == 2984' "an empty array is skipped and counted like NULL"
run "$OPSCTL" --output json vector verify
expect_rc 0 "and verify does not count it as a missing row"
psql_q -d "$DB" "update document_chunks set embedding = (select embedding from saved_206) where id = 206; drop table saved_206" >/dev/null
run "$OPSCTL" vector rebuild --force
expect_rc 0 "rebuilt with it restored"

# Bad rows stop a rebuild and name the row; the live index stays.
before=$(sha256sum "$IDX")
psql_q -d "$DB" "insert into document_chunks (id, content, embedding) values (900001, 'short', array_fill(0.1::real, array[8]))" >/dev/null
run "$OPSCTL" vector rebuild --force
expect_fail 65 "a row of another dimension: exit 65 naming it" "900001"
psql_q -d "$DB" "update document_chunks set embedding = array_fill('NaN'::real, array[32]) where id = 900001" >/dev/null
run "$OPSCTL" vector rebuild --force
expect_fail 65 "a NaN value: exit 65 naming the row" "row id 900001 has a NaN"
psql_q -d "$DB" "delete from document_chunks where id = 900001" >/dev/null
if [ "$(sha256sum "$IDX")" = "$before" ]; then ok "failed rebuilds left the live index as it was"; else not_ok "failed rebuilds left the live index as it was"; fi
if ! ls "$T/idx/" | grep -q tmp; then ok "and no temp file behind"; else not_ok "and no temp file behind"; fi

cp "$T/opsctl.conf" "$T/bad.conf"
printf 'table = no_such_table\n' >>"$T/bad.conf"
OPSCTL_CONFIG="$T/bad.conf" run "$OPSCTL" vector rebuild --force
expect_fail 1 "a missing table: exit 1 naming it" "no_such_table"
cp "$T/opsctl.conf" "$T/bad.conf"
printf 'embedding_column = no_such_column\n' >>"$T/bad.conf"
OPSCTL_CONFIG="$T/bad.conf" run "$OPSCTL" vector rebuild --force
expect_fail 1 "a missing column: exit 1 naming it" "no_such_column"
cp "$T/opsctl.conf" "$T/bad.conf"
printf 'embedding_column = id\n' >>"$T/bad.conf"
OPSCTL_CONFIG="$T/bad.conf" run "$OPSCTL" vector rebuild --force
expect_fail 64 "a column of another type: exit 64 naming the type" "bigint"
psql_q -d "$DB" "create table empty_chunks (id bigint, embedding real[])" >/dev/null
cp "$T/opsctl.conf" "$T/bad.conf"
printf 'table = empty_chunks\n' >>"$T/bad.conf"
OPSCTL_CONFIG="$T/bad.conf" run "$OPSCTL" vector rebuild --force
expect_fail 1 "an empty table: exit 1, the index is not replaced by an empty one" "no rows"

# bytea of little-endian float32 (the other storage the guides use).
$PY - "$DB" <<'PY'
import sys, numpy as np, psycopg2
conn = psycopg2.connect(dbname=sys.argv[1]); cur = conn.cursor()
cur.execute("create table chunks_b (id int primary key, emb bytea)")
rng = np.random.default_rng(3)
for i in range(1, 501):
    v = rng.standard_normal(24).astype('<f4')
    cur.execute("insert into chunks_b values (%s, %s)", (i, psycopg2.Binary(v.tobytes())))
conn.commit()
PY
cp "$T/opsctl.conf" "$T/b.conf"
printf 'table = chunks_b\nembedding_column = emb\nindex_path = %s\n' "$T/b/index.faiss" >>"$T/b.conf"
OPSCTL_CONFIG="$T/b.conf" run "$OPSCTL" --output json vector rebuild --force
expect_rc 0 "bytea embeddings rebuild"
expect_json_true 'd["vectors"] == 500 and d["dimension"] == 24' "500 vectors of 24 dimensions from bytea"
OPSCTL_CONFIG="$T/b.conf" run "$OPSCTL" vector verify
expect_rc 0 "and verify"

# SQLite: a BLOB of little-endian float32 per row (guide 003's store).
python3 - "$T/kh.db" <<'PY'
import random, sqlite3, struct, sys
random.seed(9)
db = sqlite3.connect(sys.argv[1])
db.execute("create table chunks (id integer primary key, embedding blob)")
for i in range(1, 301):
    db.execute("insert into chunks values (?, ?)", (i, struct.pack("<16f", *[random.random() for _ in range(16)])))
db.execute("insert into chunks values (301, null)")
db.execute("create table chunks_json (id integer primary key, embedding text)")
for i in range(1, 51):
    db.execute("insert into chunks_json values (?, ?)", (i, "[" + ", ".join(str(i + k / 2) for k in range(16)) + "]"))
db.commit()
PY
cat >"$T/lite.conf" <<CONF
[vector]
database = sqlite:$T/kh.db
table = chunks
index_path = $T/lite/index.faiss
metric = l2
CONF
OPSCTL_CONFIG="$T/lite.conf" run "$OPSCTL" --output json vector rebuild --force
expect_rc 0 "a SQLite BLOB source rebuilds"
expect_json_true 'd["vectors"] == 300 and d["dimension"] == 16 and d["null_embeddings"] == 1' "300 vectors of 16 dimensions, the NULL one counted"
OPSCTL_CONFIG="$T/lite.conf" run "$OPSCTL" --output json vector verify
expect_rc 0 "and verifies"
expect_json_true 'd["null_embeddings"] == 1 and d["self_recall"] == 1.0' "verify counts the NULL and finds every sample"

sed 's/^table = chunks$/table = chunks_json/; s#^index_path = .*#index_path = '"$T"'/litej/index.faiss#' "$T/lite.conf" >"$T/litej.conf"
OPSCTL_CONFIG="$T/litej.conf" run "$OPSCTL" --output json vector rebuild --force
expect_rc 0 "a SQLite column of JSON text rebuilds"
expect_json_true 'd["vectors"] == 50 and d["dimension"] == 16' "50 vectors of 16 dimensions from JSON text"
OPSCTL_CONFIG="$T/litej.conf" run "$OPSCTL" vector verify
expect_rc 0 "and verifies"

# An IVF index through factory = auto above vector.flat_max (trained first).
cp "$T/opsctl.conf" "$T/ivf.conf"
printf 'flat_max = 1000\nindex_path = %s\n' "$T/ivf/index.faiss" >>"$T/ivf.conf"
OPSCTL_CONFIG="$T/ivf.conf" run "$OPSCTL" --output json vector rebuild --force
expect_rc 0 "auto above flat_max builds an IVF index"
expect_json_true 'd["factory"].startswith("IVF") and d["vectors"] == 2985' "trained IVF with every vector"
OPSCTL_CONFIG="$T/ivf.conf" run "$OPSCTL" --output json vector verify
expect_json_true 'd["type"].startswith("IVF") and d["missing_ids"] == 0' "verify reads the IVF ids"
expect_json_true 'd["found_within_top"] == 10 and d["self_recall"] >= 0.9' "an approximate index is searched for its top 10, and says so"

# pgvector's vector type, as it arrives in COPY (FORMAT binary): int16
# dimension, int16 unused, float4s in network order.  pgvector is not a
# Debian package, so the test declares a type named vector whose binary
# form is its bytes (bytea's I/O functions) and stores pgvector's layout in
# it: the wire is what opsctl reads, and it is the same.
psql -XAtq -v ON_ERROR_STOP=1 -d "$DB" >/dev/null 2>&1 <<'SQL' || not_ok "a type named vector for the pgvector wire format"
create schema pgv;
create type pgv.vector;
create function pgv.vector_in(cstring) returns pgv.vector as 'byteain' language internal immutable strict;
create function pgv.vector_out(pgv.vector) returns cstring as 'byteaout' language internal immutable strict;
create function pgv.vector_recv(internal) returns pgv.vector as 'bytearecv' language internal immutable strict;
create function pgv.vector_send(pgv.vector) returns bytea as 'byteasend' language internal immutable strict;
create type pgv.vector (input = pgv.vector_in, output = pgv.vector_out, receive = pgv.vector_recv,
	send = pgv.vector_send, internallength = variable, storage = extended);
create table chunks_v (id bigint primary key, embedding pgv.vector);
insert into chunks_v
select g, pgv.vector_in(('\x0018' || '0000' || (select string_agg(encode(float4send((g * 100 + i)::real / 7::real), 'hex'), '' order by i)
	from generate_series(1, 24) i))::cstring)
from generate_series(1, 400) g;
insert into chunks_v values (401, null);
SQL
derive_conf "$T/opsctl.conf" "$T/v.conf" "table = chunks_v" "index_path = $T/v/index.faiss" "metric = l2"
OPSCTL_CONFIG="$T/v.conf" run "$OPSCTL" --output json vector rebuild --force
expect_rc 0 "pgvector's vector column rebuilds"
expect_json_true 'd["vectors"] == 400 and d["dimension"] == 24 and d["null_embeddings"] == 1 and d["source"].endswith("(pgv.vector)")' "400 vectors of 24 dimensions from pgv.vector, the NULL one counted"
if $PY - "$T/v/index.faiss" >"$T/py.out" 2>&1 <<'PY'
import sys, faiss, numpy as np
idx = faiss.read_index(sys.argv[1])
sub = faiss.downcast_index(idx.index)
x = faiss.rev_swig_ptr(sub.get_xb(), idx.ntotal * idx.d).reshape(idx.ntotal, idx.d)
ids = faiss.vector_to_array(idx.id_map)
for row, rid in enumerate(ids):
    want = np.array([np.float32(rid * 100 + i) / np.float32(7) for i in range(1, 25)], dtype='float32')
    assert np.array_equal(x[row], want), (rid, x[row][:3], want[:3])
print("ok")
PY
then ok "every value read from the vector wire format is the one stored, under its row id"; else not_ok "values read from the vector wire format"; sed 's/^/#   /' "$T/py.out"; fi
OPSCTL_CONFIG="$T/v.conf" run "$OPSCTL" vector verify
expect_rc 0 "and verifies"
psql_q -d "$DB" "insert into chunks_v values (402, pgv.vector_in('\\x001800003f800000'::cstring))" >/dev/null
OPSCTL_CONFIG="$T/v.conf" run "$OPSCTL" vector rebuild --force
expect_fail 65 "a vector whose length disagrees with its dimension: exit 65" "truncated"

# Text: pgvector's text form (a JSON array) in text and jsonb columns, and
# an array's text form; '[]' and NULL hold no vector.
psql -XAtq -v ON_ERROR_STOP=1 -d "$DB" >/dev/null <<'SQL' || not_ok "the text embeddings table"
create table chunks_t (id int primary key, emb text, emb_j jsonb);
insert into chunks_t
select g, '[' || string_agg(((g * 8 + i) / 4.0)::text, ', ' order by i) || ']',
	('[' || string_agg(((g * 8 + i) / 4.0)::text, ',' order by i) || ']')::jsonb
from generate_series(1, 200) g, generate_series(1, 8) i group by g;
update chunks_t set emb = '{' || trim(both '[]' from emb) || '}' where id % 2 = 0;
insert into chunks_t values (201, null, null), (202, '[]', '[]');
SQL
pytext_check() {	# pytext_check INDEX: every vector is (id*8+i)/4 for i in 1..8
	$PY - "$1" <<'PY'
import sys, faiss, numpy as np
idx = faiss.read_index(sys.argv[1])
sub = faiss.downcast_index(idx.index)
x = faiss.rev_swig_ptr(sub.get_xb(), idx.ntotal * idx.d).reshape(idx.ntotal, idx.d)
ids = faiss.vector_to_array(idx.id_map)
assert idx.ntotal == 200 and idx.d == 8, (idx.ntotal, idx.d)
for row, rid in enumerate(ids):
    assert np.array_equal(x[row], np.array([(rid * 8 + i) / 4 for i in range(1, 9)], dtype='float32')), rid
print("ok")
PY
}
for col in emb emb_j; do
	derive_conf "$T/opsctl.conf" "$T/t.conf" "table = chunks_t" "embedding_column = $col" \
		"index_path = $T/t/$col.faiss" "metric = l2"
	OPSCTL_CONFIG="$T/t.conf" run "$OPSCTL" --output json vector rebuild --force
	expect_rc 0 "a $col column of '[0.25, ...]' text rebuilds"
	expect_json_true 'd["vectors"] == 200 and d["dimension"] == 8 and d["null_embeddings"] == 2' "200 vectors of 8 dimensions; NULL and '[]' skipped and counted"
	if pytext_check "$T/t/$col.faiss" >"$T/py.out" 2>&1; then ok "every value parsed exactly, under its row id"; else not_ok "text values parsed exactly"; sed 's/^/#   /' "$T/py.out"; fi
	OPSCTL_CONFIG="$T/t.conf" run "$OPSCTL" vector verify
	expect_rc 0 "and verifies"
done
psql_q -d "$DB" "insert into chunks_t values (203, '[1, 2, three]', null)" >/dev/null
derive_conf "$T/opsctl.conf" "$T/t.conf" "table = chunks_t" "embedding_column = emb" "index_path = $T/t/emb.faiss"
OPSCTL_CONFIG="$T/t.conf" run "$OPSCTL" vector rebuild --force
expect_fail 65 "text that is not a list of numbers: exit 65 naming the row and the byte" "row id 203" "at byte 7"
psql_q -d "$DB" "insert into chunks_t values (204, '[[]]', null)" >/dev/null
# (one sampled vector, a good one: a sampled bad row would be exit 65)
{ cat "$T/t.conf"; echo "sample = 1"; } >"$T/t1.conf"
OPSCTL_CONFIG="$T/t1.conf" run "$OPSCTL" --output json vector verify
expect_json_true 'd["missing_sample"] == [203, 204] and d["null_embeddings"] == 2' "verify counts rows as rebuild does: bad text is a row missing from the index, not a NULL"

# ---- a large table, read in block ranges by two connections ----
# 6000 chunks of 384 dimensions: about 1200 pages, above the 1024 from
# which vector.read_jobs (default 2) splits the table.
psql -XAtq -v ON_ERROR_STOP=1 -d "$DB" >/dev/null <<'SQL' || bail_out "the large table"
create table big_chunks (id bigint primary key, embedding real[]);
insert into big_chunks
select g, (select array_agg(random()::real) from generate_series(1, 384) where g > 0)
from generate_series(1, 6000) g;
SQL
# (read_jobs = 2: the default, 0, chooses from the cores free at the time,
# which under a busy make check may be one)
derive_conf "$T/opsctl.conf" "$T/big.conf" "table = big_chunks" "index_path = $T/big/index.faiss" "metric = l2" "read_jobs = 2"
export OPSCTL_CONFIG="$T/big.conf"
pg_log_mark
run timeout 120 "$OPSCTL" --output json vector rebuild --force
expect_rc 0 "a large table rebuilds"
expect_json_true 'd["vectors"] == 6000 and d["dimension"] == 384' "6000 vectors of 384 dimensions"
nranges=$(pg_log_since | grep -c "COPY (SELECT .* ctid >= '(")
if [ "$nranges" -eq 2 ] && pg_log_since | grep -q "SET TRANSACTION SNAPSHOT"; then
	ok "read as two block ranges of one exported snapshot"
else
	not_ok "read as two block ranges of one exported snapshot"; diag "$(pg_log_since | grep -E 'COPY|SNAPSHOT' | cut -c1-300)"
fi
sha1=$(sha256sum <"$T/big/index.faiss")
run timeout 120 "$OPSCTL" vector rebuild --force
expect_rc 0 "and again"
if [ "$(sha256sum <"$T/big/index.faiss")" = "$sha1" ]; then ok "the same table gives the same index file, byte for byte"; else not_ok "the same table gives the same index file"; fi
derive_conf "$T/big.conf" "$T/big1.conf" "read_jobs = 1" "index_path = $T/big1/index.faiss"
pg_log_mark
OPSCTL_CONFIG="$T/big1.conf" run timeout 120 "$OPSCTL" vector rebuild --force
expect_rc 0 "read_jobs = 1 rebuilds in one stream"
if ! pg_log_since | grep -q "ctid >="; then ok "with no block ranges"; else not_ok "read_jobs = 1 reads with no block ranges"; fi
# read_jobs = 0 (the default) chooses from the cores free: on one CPU
# (taskset), with the server on this host, one stream.
if command -v taskset >/dev/null; then
	derive_conf "$T/big.conf" "$T/big0.conf" "read_jobs = 0" "index_path = $T/big0/index.faiss"
	pg_log_mark
	OPSCTL_CONFIG="$T/big0.conf" run timeout 120 taskset -c 0 "$OPSCTL" --output json vector rebuild --force
	expect_rc 0 "read_jobs = 0 on one CPU rebuilds"
	expect_json_true 'd["read_jobs"] == 1' "in one stream, as the report says"
	if ! pg_log_since | grep -q "ctid >="; then ok "with no block ranges on the server"; else not_ok "read_jobs = 0 on one CPU reads with no block ranges"; fi
else
	skip "read_jobs = 0 on one CPU (3 checks)" "no taskset"
fi
if $PY - "$T/big/index.faiss" "$T/big1/index.faiss" >"$T/py.out" 2>&1 <<'PY'
import sys, faiss, numpy as np
def rows(path):
    idx = faiss.read_index(path)
    sub = faiss.downcast_index(idx.index)
    x = faiss.rev_swig_ptr(sub.get_xb(), idx.ntotal * idx.d).reshape(idx.ntotal, idx.d).copy()
    ids = faiss.vector_to_array(idx.id_map)
    order = np.argsort(ids)
    return ids[order], x[order]
a, xa = rows(sys.argv[1]); b, xb = rows(sys.argv[2])
assert len(a) == 6000 and np.array_equal(a, b) and np.array_equal(xa, xb)
print("ok")
PY
then ok "two streams and one give the same vectors under the same ids"; else not_ok "two streams and one give the same vectors"; sed 's/^/#   /' "$T/py.out"; fi
run timeout 120 "$OPSCTL" --output json vector verify
expect_rc 0 "verify reads the large table in ranges too"
expect_json_true 'd["source_rows"] == 6000 and d["missing_ids"] == 0 and d["orphan_ids"] == 0' "every id accounted for"
psql_q -d "$DB" "insert into big_chunks select 700001, embedding from big_chunks where id = 1" >/dev/null
run timeout 120 "$OPSCTL" --output json vector verify
expect_rc 1 "a row added after the rebuild: verify exits 1"
expect_json_true 'd["missing_ids"] == 1 and d["missing_sample"] == [700001]' "and names it, whichever range it is in"
psql_q -d "$DB" "delete from big_chunks where id = 700001" >/dev/null
before=$(sha256sum <"$T/big/index.faiss")
psql_q -d "$DB" "update big_chunks set embedding[7] = 'NaN' where id = 5900" >/dev/null
run timeout 120 "$OPSCTL" vector rebuild --force
expect_fail 65 "a NaN in one range stops the other reader too: exit 65 naming the row" "row id 5900 has a NaN"
psql_q -d "$DB" "update big_chunks set embedding = array_fill(0.5::real, array[3]) where id = 5900" >/dev/null
run timeout 120 "$OPSCTL" vector rebuild --force
expect_fail 65 "rows of two dimensions in two ranges: exit 65 naming the odd row" "5900"
psql_q -d "$DB" "update big_chunks set embedding = (select embedding from big_chunks where id = 1) where id = 5900" >/dev/null
if [ "$(sha256sum <"$T/big/index.faiss")" = "$before" ]; then ok "failed rebuilds left the live index as it was"; else not_ok "failed rebuilds left the live index as it was"; fi
# A role allowed one connection: the second reader cannot connect, so the
# table is read in one stream, with a warning, and the rebuild still works.
psql_q "drop role if exists t400_one" >/dev/null
psql_q -d "$DB" "create role t400_one login connection limit 1; grant select on big_chunks to t400_one" >/dev/null
at_exit "psql_q 'drop database if exists $DB'; psql_q 'drop role if exists t400_one'"
ONE_CONF_BASE="$T/big.conf"
# (a fixed factory: auto's row count on a connection of its own, closed just
# before the stream's opens, would race the server's count of the role's
# backends, which drops the closed one a moment later)
derive_conf "$ONE_CONF_BASE" "$T/one.conf" "database = postgresql://t400_one@$PGHOST:$PGPORT/$DB" \
	"index_path = $T/one/index.faiss" "factory = IDMap,Flat"
OPSCTL_CONFIG="$T/one.conf" run timeout 120 "$OPSCTL" --output json vector rebuild --force
expect_rc 0 "one connection allowed: the rebuild still works"
expect_json_true 'd["vectors"] == 6000' "with every vector"
if grep -q "in one stream" "$ERR"; then ok "and a warning says the table was read in one stream"; else not_ok "a warning says the table was read in one stream"; diag_run; fi
# A reader waits at most a second for the table's lock: a reader queued
# behind an ACCESS EXCLUSIVE request that itself waits for another reader
# would wait forever.  Here one session holds SHARE and a second asks for
# ACCESS EXCLUSIVE, so every new lock request queues: the readers give way
# and the table is read in one stream once the queue clears.
bg psql -XAtq -d "$DB" -c "begin; lock table big_chunks in share mode; select pg_sleep(4); commit"
share_held() { [ "$(psql_q -d "$DB" "select count(*) from pg_locks where relation = 'big_chunks'::regclass and mode = 'ShareLock' and granted")" = 1 ]; }
wait_for 10 share_held || not_ok "a session holds SHARE on big_chunks"
bg psql -XAtq -d "$DB" -c "begin; lock table big_chunks in access exclusive mode; commit"
exclusive_queued() { [ "$(psql_q -d "$DB" "select count(*) from pg_locks where relation = 'big_chunks'::regclass and mode = 'AccessExclusiveLock' and not granted")" = 1 ]; }
wait_for 10 exclusive_queued || not_ok "a second session queues for ACCESS EXCLUSIVE"
# (a fixed factory: auto would count the rows first, and wait there)
{ cat "$T/big.conf"; echo "factory = IDMap,Flat"; } >"$T/flat.conf"
OPSCTL_CONFIG="$T/flat.conf" run timeout 60 "$OPSCTL" --output json vector rebuild --force
expect_rc 0 "a table whose lock queue is blocked: the rebuild waits its turn and succeeds"
if grep -q "in one stream.*lock timeout" "$ERR"; then ok "after the readers gave way (lock timeout), in one stream"; else not_ok "the readers give way on a lock timeout"; diag_run; fi
no_copy_left() { [ "$(psql_q -d "$DB" "select count(*) from pg_stat_activity where query like 'COPY (SELECT%' and pid <> pg_backend_pid()")" = 0 ]; }
if wait_for 10 no_copy_left; then ok "and no COPY is left running on the server"; else not_ok "no COPY is left running on the server"; fi
# Slowed by a filter that sleeps 0.5 ms a row, so the kill lands while
# both COPYs are running.
cp "$T/big.conf" "$T/slow.conf"
printf 'filter = pg_catalog.pg_sleep(0.0005) IS NOT NULL\n' >>"$T/slow.conf"
OPSCTL_CONFIG="$T/slow.conf" setsid -f sh -c 'echo $$ >"$1"; exec "$2" vector rebuild --force' sh "$T/v.pid" "$OPSCTL" >/dev/null 2>&1 </dev/null
two_copies() { [ "$(psql_q -d "$DB" "select count(*) from pg_stat_activity where query like 'COPY (SELECT%ctid%'")" = 2 ]; }
if wait_for 10 two_copies; then ok "a slowed rebuild runs two COPYs at once"; else not_ok "a slowed rebuild runs two COPYs at once"; fi
kill -9 "$(cat "$T/v.pid")" 2>/dev/null
if wait_for 10 no_copy_left; then ok "a rebuild killed while both readers stream leaves no COPY on the server"; else not_ok "a killed parallel rebuild leaves no COPY on the server"; fi
run timeout 120 "$OPSCTL" vector verify
expect_rc 0 "and the live index still verifies"
rm -f "$T"/big/*.tmp.*
export OPSCTL_CONFIG="$T/opsctl.conf"

# ---- SIGKILL at any point of a rebuild: the live index still verifies ----
for delay in 0.05 0.15 0.3 0.5 0.8; do
	setsid -f sh -c 'echo $$ >"$1"; exec "$2" vector rebuild --force' sh "$T/v.pid" "$OPSCTL" >/dev/null 2>&1 </dev/null
	sleep "$delay"
	kill -9 "$(cat "$T/v.pid")" 2>/dev/null
	sleep 0.1
	run "$OPSCTL" vector verify
	if [ "$RC" -eq 0 ]; then ok "killed after ${delay}s: the live index and its manifest verify"; else not_ok "killed after ${delay}s: the live index verifies"; diag_run; fi
done
rm -f "$T"/idx/*.tmp.*

# ---- two rebuilds at once ----
# The lock is the index's: vector_index@ its path's safe bytes and a digest.
mkdir -p "$OPSCTL_STATE_DIR/locks"
expect_lock_file vector_index "$IDX" "one lock file for the index"
INDEX_LOCK=$LOCK_FILE
bg flock "$INDEX_LOCK" sleep 60
locked() { ! flock -n "$INDEX_LOCK" true; }
wait_for 10 locked || not_ok "flock(1) holds the vector lock"
run "$OPSCTL" vector rebuild --force
expect_fail 75 "a second rebuild while one runs: exit 75" "already running"
bg_kill "$BG_PID"

# ---- bad input ----
run "$OPSCTL" vector rebuild --force --backup --no-backup
expect_fail 64 "--backup with --no-backup: exit 64" "cannot be used together"
run "$OPSCTL" vector rebuild -b 0
expect_error 64 "--batch-size 0: exit 64" "batch-size"
OPSCTL_FAISS_PLUGIN=/nonexistent.so run "$OPSCTL" vector stats
expect_fail 69 "the FAISS plugin missing: exit 69" "not found"

done_testing
