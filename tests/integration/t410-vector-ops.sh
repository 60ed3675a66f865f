#!/usr/bin/env bash
# t410: `opsctl vector optimize`, `eval`, `backup`, `verify-backup` and
# `purge` against PostgreSQL 15: orphans removed and nprobe tuned against
# exact search, recall and latency measured, backups that restore and
# verify (and fail on one flipped byte), purge refused on a protected store.
. "$(dirname "$0")/../lib/common.sh"
. "$ROOT/tests/lib/pg.sh"
pg_start || bail_out "PostgreSQL starts"
DB=t410
PGOPTIONS='-c client_min_messages=warning' psql_q "drop database if exists $DB" >/dev/null
psql_q "create database $DB" >/dev/null
at_exit "psql_q 'drop database if exists $DB'"
psql -XAtq -v ON_ERROR_STOP=1 -d "$DB" >/dev/null <<'SQL' || bail_out "the sample table"
create table document_chunks (id bigserial primary key, embedding real[]);
insert into document_chunks (embedding)
select (select array_agg((random() - 0.5)::real) from generate_series(1, 24) where g > 0) from generate_series(1, 4000) g;
SQL
IDX="$T/idx/index.faiss"
cat >"$T/opsctl.conf" <<CONF
[general]
environment = dev
[vector]
database = $DB
index_path = $IDX
backup_dir = $T/vbackups
factory = IVF32,Flat
metric = l2
CONF
export OPSCTL_CONFIG="$T/opsctl.conf"

run "$OPSCTL" --output json vector rebuild --force
expect_rc 0 "an IVF32,Flat index is built"
psql_q -d "$DB" "delete from document_chunks where id <= 10" >/dev/null

# ---- optimize ----
run "$OPSCTL" --output json vector optimize --force --backup
expect_rc 0 "vector optimize --force --backup exits 0"
expect_json_true 'd["orphans_removed"] == 10 and d["vectors"] == 3990' "the 10 ids whose rows are gone are removed"
expect_json_true 'd["optimization"] == "basic" and d["type"].startswith("IVF") and "index_type" not in d' "type is the index type, as stats says it; the optimization has its own name"
expect_json_true 'd["recall_at_10"] >= 0.95 and 1 <= d["nprobe"] <= 32' "nprobe tuned to keep recall@10 >= 0.95"
expect_json_true 'd["tuning"] == sorted(d["tuning"], key=lambda e: e["nprobe"]) and all(e["recall_at_10"] < 0.95 for e in d["tuning"][:-1])' "the lowest nprobe that reaches the bar was chosen"
expect_json_true 'd["backup"].endswith("_pre-optimize.faiss")' "the old index was backed up first"
nprobe=$(json_get 'd["nprobe"]')
OUT_SAVE=$OUT; OUT="$IDX.manifest.json"
expect_json_true "d['search_parameters']['nprobe'] == $nprobe and d['vectors'] == 3990" "the manifest records nprobe and the new ntotal"
OUT=$OUT_SAVE
run "$OPSCTL" --output json vector stats
expect_json_true "d['nprobe'] == $nprobe" "the tuned nprobe is stored in the index file itself"
run "$OPSCTL" vector verify
expect_rc 0 "the optimized index verifies"
# advanced: a type chosen for the size and memory budget, measured against the old.
run "$OPSCTL" --output json vector optimize -t advanced
expect_rc 0 "optimize -t advanced exits 0"
expect_json_true 'd["after"]["type"] == "IDMap,Flat" and d["before"]["type"].startswith("IVF")' "4000 vectors fit: the exact type is chosen"
expect_json_true 'all(k in d["before"] for k in ("recall_at_10", "latency_ms_p50", "latency_ms_p95", "size_bytes")) and d["after"]["recall_at_10"] == 1.0' "before and after: recall@10, latency, size"
expect_json_true 'd["decision"].startswith("replaced")' "the exact index is not worse, so it replaces the old one"
expect_json_true 'd["optimization"] == "advanced" and "type" not in d' "advanced: the optimization named, the index types under before and after"
run "$OPSCTL" --output json vector stats
expect_json_true 'd["type"] == "IDMap,Flat"' "the live index is now exact"
run "$OPSCTL" vector verify
expect_rc 0 "and verifies"
cp "$T/opsctl.conf" "$T/tiny.conf"
# 400,000 bytes: the exact index (415 KB) does not fit; IVF with a byte a
# dimension (8-bit scalar codes) and a smaller training sample does.
printf 'memory_budget = 400000\n' >>"$T/tiny.conf"
cp "$IDX" "$IDX.flat" && cp "$IDX.manifest.json" "$IDX.flat.manifest"
OPSCTL_CONFIG="$T/tiny.conf" run "$OPSCTL" --output json vector optimize -t advanced
expect_rc 0 "optimize -t advanced with a small memory budget exits 0"
expect_json_true 'd["after"]["type"] == "IVF128,SQ8" and d["memory_plan"]["memory_bytes"] <= 400000 and d["memory_plan"]["training_vectors"] < 3990 and [r["type"] for r in d["memory_plan"]["rejected"]] == ["IDMap,Flat", "IVF128,Flat"]' "the most exact type whose codes, centroids and training sample fit is chosen"
expect_json_true 'd["before"]["measured"] is False and "recall_at_10" not in d["before"] and d["after"]["recall_at_10"] >= 0.9 and d["decision"].startswith("replaced: the live index does not fit vector.memory_budget")' "a live index larger than the budget is not loaded; the candidate reaching vector.recall_bar replaces it"
cp "$T/opsctl.conf" "$T/tinier.conf"
printf 'memory_budget = 50000\n' >>"$T/tinier.conf"
before=$(sha256sum "$IDX")
OPSCTL_CONFIG="$T/tinier.conf" run "$OPSCTL" vector optimize -t advanced
expect_fail 78 "a budget too small for any index: exit 78" "vector.memory_budget 48.8 KiB is too small for any index of 3990 vectors of 24 dimensions"
if [ "$(sha256sum "$IDX")" = "$before" ] && [ ! -e "$IDX.candidate" ]; then ok "the live index is unchanged and the candidate removed"; else not_ok "the live index is unchanged and the candidate removed"; fi
cp "$IDX.flat" "$IDX" && cp "$IDX.flat.manifest" "$IDX.manifest.json" && rm -f "$IDX.flat" "$IDX.flat.manifest"

# ---- the maintenance window (guide 000 section 1.3): changing the live index
# outside it takes --force, as the guide's quarterly cron line has ----
{ cat "$T/opsctl.conf"; printf '[window]\nprod = never\n'; } >"$T/never.conf"
before=$(sha256sum "$IDX")
for cmd in "rebuild" "optimize" "optimize -t advanced" "purge --ids 70"; do
	# shellcheck disable=SC2086
	OPSCTL_CONFIG="$T/never.conf" run "$OPSCTL" --env prod vector $cmd
	expect_fail 1 "vector $cmd outside the prod window without --force: exit 1" "${cmd%% *}: outside the prod maintenance window"
done
if [ "$(sha256sum "$IDX")" = "$before" ]; then ok "and the live index is unchanged"; else not_ok "outside the window the live index is unchanged"; fi
OPSCTL_CONFIG="$T/never.conf" run "$OPSCTL" --env prod vector rebuild -p "$T/other/index.faiss" --backup --force
expect_rc 0 "rebuild --backup --force runs outside the window (the quarterly cron line)"

# ---- eval ----
run "$OPSCTL" --output json vector eval --queries 50
expect_rc 0 "vector eval exits 0"
expect_json_true 'd["queries"] == 50 and d["recall_at_10"] >= 0.95' "recall@10 on 50 queries"
expect_json_true '0 < d["latency_ms_p50"] <= d["latency_ms_p95"] <= d["latency_ms_p99"] and d["qps"] > 0' "latency percentiles and QPS"

python3 - "$T/queries.json" <<'PY'
import json, random, sys
random.seed(5)
json.dump([[random.random() - 0.5 for _ in range(24)] for _ in range(20)], open(sys.argv[1], "w"))
PY
run "$OPSCTL" --output json vector eval --queries-file "$T/queries.json"
expect_rc 0 "vector eval --queries-file FILE (predefined queries) exits 0"
expect_json_true 'd["queries"] == 20 and d["queries_from"].endswith("queries.json") and d["recall_at_10"] >= 0.9' "20 queries from the file, recall@10 measured"
for o in "-f $T/queries.json" "-q 5"; do
	# shellcheck disable=SC2086
	run "$OPSCTL" vector eval $o
	[ "$RC" -eq 64 ] && ok "vector eval $o: exit 64 (-f and -q are --force and the global --quiet elsewhere)" || { not_ok "vector eval ${o%% *} is not a short option of eval"; diag_run; }
done
printf '[[1, 2, 3]]' >"$T/badq.json"
run "$OPSCTL" vector eval --queries-file "$T/badq.json"
expect_fail 65 "a queries file of the wrong dimension: exit 65" "not a vector of 24 numbers"
psql_q -d "$DB" "create table chunks8 (id bigint primary key, embedding real[]); insert into chunks8 select g, array_fill(0.5::real, array[8]) from generate_series(1, 50) g" >/dev/null
{ cat "$T/opsctl.conf"; echo "table = chunks8"; } >"$T/c8.conf"
OPSCTL_CONFIG="$T/c8.conf" run "$OPSCTL" vector eval --queries-file "$T/queries.json"
expect_fail 65 "queries that fit the index but not the source: exit 65 naming both dimensions" "24 dimensions" "chunks8.embedding (real[]) 8"

# ---- backup and verify-backup ----
run "$OPSCTL" --output json vector backup --compress
expect_rc 0 "vector backup --compress exits 0"
B=$(json_get 'd["backup"]')
if [ -f "$B" ] && zstd -tq "$B"; then ok "the backup is a zstd file stock zstd accepts"; else not_ok "the backup is a zstd file"; fi
if [[ $(basename "$B") =~ ^index_[0-9]{8}T[0-9]{6}Z_(daily|weekly)\.faiss\.zst$ ]]; then ok "its name's time is UTC, ISO 8601 basic form ($(basename "$B"))"; else not_ok "the backup's name is index_YYYYMMDDTHHMMSSZ_TAG.faiss.zst ($B)"; fi
run "$OPSCTL" --output json vector verify-backup -b latest
expect_rc 0 "verify-backup -b latest (the default) restores the newest backup and verifies it"
expect_json_true 'd["verified"] is True and d["verify"]["orphan_ids"] == 0' "verified against the source"
psql_q -d "$DB" "delete from document_chunks where id <= 20" >/dev/null
run "$OPSCTL" vector verify-backup
expect_fail 1 "a backup that no longer matches the rows: exit 1" "index ids have no row"
zstd -q -d -c "$B" >"$T/plain.faiss"
python3 - "$T/plain.faiss" <<'PY'
import os, sys
p = sys.argv[1]; off = os.path.getsize(p) // 2
with open(p, "r+b") as f:
    f.seek(off); b = f.read(1); f.seek(off); f.write(bytes([b[0] ^ 1]))
PY
zstd -q -f -o "$B" "$T/plain.faiss"
run "$OPSCTL" vector verify-backup
expect_fail 65 "one flipped byte in the backup: exit 65" "does not match its manifest"
run "$OPSCTL" vector verify-backup -b index_nope.faiss
expect_fail 1 "a backup name that does not exist: exit 1" "no vector index backup"

# Retention (guide 000 section 5.3): daily 7 days, weekly 30, pre-rebuild 90.
mk() { printf 'x' >"$T/vbackups/$1"; touch -d "$2 days ago" "$T/vbackups/$1"; }
mk index_20200101_000000_daily.faiss 10
mk index_20200102_000000_daily.faiss 5
mk index_20200103_000000_weekly.faiss 20
mk index_20200104_000000_weekly.faiss 40
mk index_20200105_000000_pre-rebuild.faiss 60
mk index_20200106_000000_pre-rebuild.faiss 100
# The names written since issue 11 (UTC, ISO 8601 basic) by the same rules.
mk index_20200101T000000Z_daily.faiss 10
mk index_20200102T000000Z_daily.faiss 5
mk index_20200104T000000Z_weekly.faiss 40
mk index_20200105T000000Z_pre-optimize.faiss 60
mk index_20200106T000000Z_pre-rebuild.faiss 100
run "$OPSCTL" --output json vector backup
expect_rc 0 "vector backup (without -r) exits 0"
expect_json_true 'sorted(d["pruned"]) == ["index_20200101T000000Z_daily.faiss", "index_20200101_000000_daily.faiss", "index_20200104T000000Z_weekly.faiss", "index_20200104_000000_weekly.faiss", "index_20200106T000000Z_pre-rebuild.faiss", "index_20200106_000000_pre-rebuild.faiss"]' "daily over 7 days, weekly over 30, pre-rebuild over 90 are pruned, in the old names and the new"
if [ -e "$T/vbackups/index_20200102_000000_daily.faiss" ] && [ -e "$T/vbackups/index_20200103_000000_weekly.faiss" ] && [ -e "$T/vbackups/index_20200105_000000_pre-rebuild.faiss" ] &&
	[ -e "$T/vbackups/index_20200102T000000Z_daily.faiss" ] && [ -e "$T/vbackups/index_20200105T000000Z_pre-optimize.faiss" ]; then ok "younger copies stay, in both names"; else not_ok "younger copies stay"; ls "$T/vbackups" | sed 's/^/#   /'; fi
rm -f "$T"/vbackups/index_2020*

# ---- the hot-chunk cache (guide 002) ----
run "$OPSCTL" vector cache-rebuild
expect_fail 78 "cache-rebuild without vector.cache_query: exit 78" "cache_query"
psql_q -d "$DB" "create table retrievals (chunk_id bigint); insert into retrievals select 100 + (g % 40) from generate_series(1, 2000) g; insert into retrievals select 500 from generate_series(1, 5000)" >/dev/null
cp "$T/opsctl.conf" "$T/cache.conf"
printf 'cache_query = SELECT chunk_id FROM retrievals GROUP BY chunk_id ORDER BY count(*) DESC\ncache_size = 25\n' >>"$T/cache.conf"
OPSCTL_CONFIG="$T/cache.conf" run "$OPSCTL" --output json vector cache-rebuild
expect_rc 0 "cache-rebuild exits 0"
expect_json_true 'd["hot_chunks"] == 25 and d["vectors"] == 25 and d["cache"].endswith("index.faiss.cache.faiss")' "the 25 most accessed chunks, in INDEX.cache.faiss"
python3 - "$IDX.cache.faiss.manifest.json" <<'PY' && ok "the cache has its manifest" || not_ok "the cache has its manifest"
import json, sys
m = json.load(open(sys.argv[1])); assert m["vectors"] == 25 and m["role"] == "hot-chunk cache"
PY
OPSCTL_CONFIG="$T/cache.conf" run "$OPSCTL" --output json vector stats -p "$IDX.cache.faiss"
expect_json_true 'd["vectors"] == 25 and d["type"] == "IDMap,Flat"' "the cache loads as an exact index of 25"

# ---- stress and performance (guide 002) ----
run "$OPSCTL" --output json vector bench -c 4 -n 50 -o "$T/bench"
expect_rc 0 "vector bench exits 0"
expect_json_true 'd["stress"]["threads"] == 4 and d["stress"]["queries"] == 200 and d["stress"]["errors"] == 0 and d["stress"]["qps"] > 0' "stress: 4 threads, 200 queries, no errors"
expect_json_true 'd["performance"]["queries"] == 50 and d["performance"]["latency_ms_p50"] <= d["performance"]["latency_ms_p99"]' "performance: latency percentiles"
if python3 -c 'import json,sys; [json.load(open(p)) for p in sys.argv[1:]]' "$T/bench/performance_results.json" "$T/bench/stress_test_results.json"; then ok "performance_results.json and stress_test_results.json written"; else not_ok "performance_results.json and stress_test_results.json written"; fi

# ---- the index snapshot in a full backup (guide 001) ----
cp "$T/opsctl.conf" "$T/bk.conf"
printf '[backup]\ndir = %s\ndatabases = %s\nvector_index = true\n' "$T/store" "$DB" >>"$T/bk.conf"
OPSCTL_CONFIG="$T/bk.conf" run "$OPSCTL" --output json backup --type full
expect_rc 0 "a full backup with backup.vector_index exits 0"
BID=$(json_get 'd["id"]')
if tar --zstd -tf "$T/store/$BID/backup.tar.zst" | grep -qx 'vector/index.faiss' &&
	tar --zstd -tf "$T/store/$BID/backup.tar.zst" | grep -qx 'vector/index.faiss.manifest.json'; then ok "the index and its manifest are archive members"; else not_ok "the index and its manifest are archive members"; fi
if [ "$(tar --zstd -xOf "$T/store/$BID/backup.tar.zst" vector/index.faiss | sha256sum | cut -d' ' -f1)" = "$(sha256sum "$IDX" | cut -d' ' -f1)" ]; then ok "the archived index is the live one"; else not_ok "the archived index is the live one"; fi
OPSCTL_CONFIG="$T/bk.conf" run "$OPSCTL" backup verify -b "$BID" --checksums-only
expect_rc 0 "the backup with the index verifies"

# ---- one vocabulary (issue 9): the same word means the same thing and type in
# every vector command's JSON ----
cat >"$T/vocab.py" <<'PY'
import json, re, sys
banned = {"ntotal": "vectors", "seconds": "duration_seconds", "recall_at_1": "self_recall",
          "found_at_rank_1": "found", "result": "verified", "index_type": "type"}
bad = []
def walk(o, where):
    if isinstance(o, dict):
        for k, v in o.items():
            if k.endswith("_at") and not (isinstance(v, str) and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", v)):
                bad.append("%s.%s is not an ISO 8601 UTC time: %r" % (where, k, v))
            if k in banned:
                bad.append("%s.%s (say %s)" % (where, k, banned[k]))
            if k.endswith("_seconds") and not isinstance(v, (int, float)):
                bad.append("%s.%s is not a number" % (where, k))
            if k in ("vectors", "dimension", "searched", "found") and not isinstance(v, int):
                bad.append("%s.%s is not a whole number" % (where, k))
            if isinstance(v, str) and v.lower() in ("yes", "no", "true", "false"):
                bad.append("%s.%s is the string %r, not a boolean" % (where, k, v))
            walk(v, where + "." + k)
    elif isinstance(o, list):
        for i, v in enumerate(o):
            walk(v, "%s[%d]" % (where, i))
walk(json.load(open(sys.argv[1])), sys.argv[2])
print("\n".join(bad))
sys.exit(1 if bad else 0)
PY
vocab_bad=""
for cmd in "stats" "verify" "rebuild --force -p $T/vocab/index.faiss" "optimize --force" "eval --queries 5" \
	"backup" "verify-backup" "cache-rebuild" "bench -c 2 -n 5 -o $T/bench"; do
	# shellcheck disable=SC2086
	OPSCTL_CONFIG="$T/cache.conf" run "$OPSCTL" --output json vector $cmd
	if ! python3 "$T/vocab.py" "$OUT" "vector ${cmd%% *}" >"$T/vocab.out" 2>&1; then
		vocab_bad="$vocab_bad$(cat "$T/vocab.out")"$'\n'
	fi
done
if [ -z "$vocab_bad" ]; then ok "every vector command's JSON, manifests included: vectors, duration_seconds, self_recall, booleans, ISO 8601 times"; else not_ok "vector JSON vocabulary"; diag "$vocab_bad"; fi

# ---- purge ----
run "$OPSCTL" --output json vector purge --ids 50,51,52 -f
expect_rc 0 "purge --ids exits 0"
expect_json_true 'd["removed"] == 3' "three ids removed"
printf '[general]\nprotected_paths = %s\n' "$T/idx" >"$T/prot.conf"
cat "$T/opsctl.conf" >>"$T/prot.conf"
before=$(sha256sum "$IDX")
OPSCTL_CONFIG="$T/prot.conf" run "$OPSCTL" vector purge --ids 60 -f
expect_fail 77 "purge on a protected store: exit 77" "protected store"
if [ "$(sha256sum "$IDX")" = "$before" ]; then ok "the protected index is untouched"; else not_ok "the protected index is untouched"; fi
run "$OPSCTL" vector purge --ids abc -f
expect_fail 64 "purge of a non-numeric id: exit 64" "not an id"
# Ids through the one integer parser: overflow and negatives are refused,
# not clamped or wrapped to some other id; nothing is read or written.
before=$(stat -c '%i %Y %s' "$IDX" "$IDX.manifest.json"; sha256sum "$IDX" "$IDX.manifest.json")
run "$OPSCTL" vector purge --ids 99999999999999999999 -f
expect_fail 64 "--ids 99999999999999999999 (over 64 bits): exit 64" "not an id" "too large"
run "$OPSCTL" vector purge --ids -3 -f
expect_fail 64 "--ids -3: exit 64" "not an id" "'-3'"
run "$OPSCTL" vector purge --ids 1,x -f
expect_fail 64 "--ids 1,x: exit 64 naming the bad one" "not an id" "'x'"
# ids that are not in the index (50-52 are gone, 900000 never was): the
# index and its manifest are not rewritten.
sleep 1.1
run "$OPSCTL" --output json vector purge --ids 50,51,900000 -f
expect_rc 0 "purge of ids that are not in the index exits 0"
expect_json_true 'd["removed"] == 0 and d["requested"] == 3 and d["written"] is False' "nothing removed, nothing written"
if [ "$(stat -c '%i %Y %s' "$IDX" "$IDX.manifest.json"; sha256sum "$IDX" "$IDX.manifest.json")" = "$before" ]; then
	ok "the index and its manifest keep their inode, mtime and bytes"
else
	not_ok "the index and its manifest are not rewritten when nothing is removed"
fi

# vector backup --dry-run (core/walk): the index is checked, no copy is
# written, nothing is removed, and the report names what retention would
# remove; the same rules as the real run (daily 7, weekly 30, pre-rebuild 90).
mkdir -p "$T/vbackups"
mk index_20200101_000000_daily.faiss 10
mk index_20200101_000000_daily.faiss.manifest.json 10
mk index_20200102_000000_daily.faiss 5
mk index_20200104_000000_weekly.faiss 40
mk index_20200105_000000_pre-rebuild.faiss 60
ls -la --time-style=+%s "$T/vbackups" >"$T/vb-before"
run "$OPSCTL" --output json vector backup --dry-run
expect_rc 0 "vector backup --dry-run exits 0"
expect_json_true 'd["dry_run"] is True and d["would_backup"] is True and "backup" not in d and d["vectors"] > 0' "--dry-run: the index was checked, no copy made"
expect_json_true 'sorted(d["pruned"]) == ["index_20200101_000000_daily.faiss", "index_20200101_000000_daily.faiss.manifest.json", "index_20200104_000000_weekly.faiss"] and d["pruned_size_bytes"] == 3' "--dry-run names the expired copies by the guide's rules"
if ls -la --time-style=+%s "$T/vbackups" | cmp -s - "$T/vb-before"; then ok "--dry-run writes no copy and removes nothing"; else not_ok "--dry-run writes no copy and removes nothing"; diff "$T/vb-before" <(ls -la --time-style=+%s "$T/vbackups") | sed 's/^/#   /'; fi
run "$OPSCTL" --output json vector backup --dry-run -d "$T/vb-new"
expect_rc 0 "--dry-run to a new destination exits 0"
if [ ! -e "$T/vb-new" ]; then ok "--dry-run does not create the destination"; else not_ok "--dry-run does not create the destination"; fi
run "$OPSCTL" --output json vector backup -r 1
expect_rc 0 "vector backup -r 1 exits 0"
expect_json_true 'sorted(d["pruned"]) == ["index_20200101_000000_daily.faiss", "index_20200101_000000_daily.faiss.manifest.json", "index_20200102_000000_daily.faiss", "index_20200104_000000_weekly.faiss"] and d["prune_errors"] == []' "-r 1: daily copies over a day go, weekly and pre-rebuild ones keep their 30 and 90"
if [ -e "$T/vbackups/index_20200105_000000_pre-rebuild.faiss" ] && [ -f "$(json_get 'd["backup"]')" ]; then ok "the pre-rebuild copy and the new backup stay"; else not_ok "the pre-rebuild copy and the new backup stay"; fi


# ---- a copy of the live index before it is replaced (issue 11): rebuild
# copies it unless -n, as rebuild-vector-index.sh (whose -n skips it) does:
# vector.backup_before_rebuild, true; optimize only with -B, as
# optimize-vector-index.sh: vector.backup_before_optimize, false ----
BK="$T/bk/index.faiss"
derive_conf "$T/opsctl.conf" "$T/bk.conf" "factory = IDMap,Flat" "backup_dir = $T/bkcopies"
export OPSCTL_CONFIG="$T/bk.conf"
copies() { find "$T/bkcopies" -name "index_*_pre-$1*.faiss" 2>/dev/null | wc -l; }
run "$OPSCTL" --output json vector rebuild -p "$BK" --force
expect_json_true '"backup" not in d' "the first rebuild has no live index to copy"
run "$OPSCTL" --output json vector rebuild -p "$BK" --force
expect_rc 0 "rebuild over a live index, neither -B nor -n: exit 0"
expect_json_true 'd.get("backup", "").endswith("_pre-rebuild.faiss")' "without -B or -n the live index is copied first (vector.backup_before_rebuild = true)"
run "$OPSCTL" --output json vector rebuild -p "$BK" --force -n
expect_json_true '"backup" not in d' "-n/--no-backup: no copy"
run "$OPSCTL" --output json vector rebuild -p "$BK" --force --no-backup
if [ "$(copies rebuild)" -eq 1 ]; then ok "one pre-rebuild copy for three rebuilds over a live index, two of them with -n"; else not_ok "one pre-rebuild copy (found $(copies rebuild))"; fi
derive_conf "$T/bk.conf" "$T/bk-off.conf" "backup_before_rebuild = false"
OPSCTL_CONFIG="$T/bk-off.conf" run "$OPSCTL" --output json vector rebuild -p "$BK" --force
expect_json_true '"backup" not in d' "vector.backup_before_rebuild = false: no copy"
OPSCTL_CONFIG="$T/bk-off.conf" run "$OPSCTL" --output json vector rebuild -p "$BK" --force -B
expect_json_true 're.search(r"_pre-rebuild(-[0-9]+)?\.faiss$", d.get("backup", ""))' "-B copies whatever the key says (-2 when the copy before it fell in the same second)"
if [ "$(copies rebuild)" -eq 2 ]; then ok "and only -B added a copy"; else not_ok "only -B added a copy (found $(copies rebuild))"; fi
before=$(sha256sum "$BK")
for cmd in "rebuild" "optimize"; do
	run "$OPSCTL" vector $cmd -p "$BK" --force -B -n
	expect_fail 64 "vector $cmd -B with -n: exit 64" "--backup and --no-backup cannot be used together"
done
if [ "$(sha256sum "$BK")" = "$before" ]; then ok "and the index is untouched"; else not_ok "-B with -n leaves the index untouched"; fi
run "$OPSCTL" --output json vector optimize -p "$BK" --force
expect_rc 0 "optimize, neither -B nor -n: exit 0"
expect_json_true '"backup" not in d' "optimize copies nothing by default (vector.backup_before_optimize = false)"
derive_conf "$T/bk.conf" "$T/bk-opt.conf" "backup_before_optimize = true"
OPSCTL_CONFIG="$T/bk-opt.conf" run "$OPSCTL" --output json vector optimize -p "$BK" --force
expect_json_true 'd.get("backup", "").endswith("_pre-optimize.faiss")' "vector.backup_before_optimize = true: copied first"
OPSCTL_CONFIG="$T/bk-opt.conf" run "$OPSCTL" --output json vector optimize -p "$BK" --force -n
expect_json_true '"backup" not in d' "optimize -n: no copy, whatever the key says"
if [ "$(copies optimize)" -eq 1 ]; then ok "one pre-optimize copy"; else not_ok "one pre-optimize copy (found $(copies optimize))"; fi
# A copy taken in the same second as another gets "-2" and leaves the first
# as it was: two rebuilds in a row used to leave one copy.  The next ten
# seconds' names are taken beforehand, so the run falls on one of them.
now=$(date -u +%s)
for i in 0 1 2 3 4 5 6 7 8 9; do
	echo "taken $i" >"$T/bkcopies/index_$(date -u -d "@$((now + i))" +%Y%m%dT%H%M%SZ)_pre-rebuild.faiss"
done
OPSCTL_CONFIG="$T/bk.conf" run "$OPSCTL" --output json vector rebuild -p "$BK" --force
expect_json_true 'd.get("backup", "").endswith("_pre-rebuild-2.faiss")' "a copy in a second that already has one: named -2"
if [ "$(cat "$T"/bkcopies/index_*Z_pre-rebuild.faiss 2>/dev/null | grep -c '^taken ')" -eq 10 ] && [ -s "$(json_get 'd["backup"]').manifest.json" ]; then ok "the copy there first is left as it was, the new one has its manifest"; else not_ok "a same-second copy replaced the first, or lacks its manifest"; fi
rm -f "$T"/bkcopies/index_*Z_pre-rebuild.faiss "$T"/bkcopies/index_*Z_pre-rebuild-2.faiss*
run "$OPSCTL" vector rebuild --help
if tr -s ' \n' ' ' <"$OUT" | grep -qF "vector.backup_before_rebuild says (its default: true)"; then ok "rebuild's help names the key and its default"; else not_ok "rebuild's help names the key and its default"; diag_run; fi
export OPSCTL_CONFIG="$T/opsctl.conf"

# ---- --dry-run (issue 11): what rebuild, optimize and purge would do,
# whether the window would refuse the real run; nothing written, not even
# a temp file, no journal line ----
snap() { find "$T/idx" "$T/vbackups" -printf '%p %s %T@ %i\n' 2>/dev/null | sort; sha256sum "$IDX"; }
snap >"$T/snap-before"
journal_mark
OPSCTL_CONFIG="$T/never.conf" run "$OPSCTL" --env prod --output json vector rebuild --dry-run
expect_rc 0 "rebuild --dry-run outside the window: exit 0"
expect_json_true 'd["dry_run"] is True and d["source"].startswith("public.document_chunks.embedding") and d["source_rows"] == 3980 and d["factory"] == "IVF32,Flat" and d["index_exists"] is True' "it names the source, its rows and the factory"
expect_json_true 'd["would_backup"] is True and d["backup_dir"].endswith("/vbackups") and isinstance(d["pruned"], list)' "and the copy it would take first, with what retention would then remove"
expect_json_true 'd["window"] == "closed" and "outside the prod maintenance window" in d["would_be_refused"]' "and that the window would refuse the real run"
expect_err_contains "the real run would be refused" "a warning line says so too"
OPSCTL_CONFIG="$T/never.conf" run "$OPSCTL" --env prod --output json vector rebuild --dry-run -n -f
expect_json_true 'd["would_backup"] is False and d["window"] == "ignored (--force)"' "with -n no copy; with --force the window is ignored"
run "$OPSCTL" vector rebuild --dry-run
expect_rc 0 "rebuild --dry-run in text: exit 0"
expect_out_contains "would backup:" "the text says whether a copy would be taken"
run "$OPSCTL" --output json vector rebuild --dry-run -p "$T/newdir/sub/index.faiss"
expect_json_true 'd["index_exists"] is False and d["would_backup"] is False' "a new path: nothing to copy"
if [ ! -e "$T/newdir" ]; then ok "and its directory is not created"; else not_ok "rebuild --dry-run created a directory"; fi
psql_q -d "$DB" "delete from document_chunks where id between 30 and 34" >/dev/null
OPSCTL_CONFIG="$T/never.conf" run "$OPSCTL" --env prod --output json vector optimize --dry-run
expect_rc 0 "optimize --dry-run outside the window: exit 0"
expect_json_true 'd["dry_run"] is True and d["orphans"] == 5 and d["orphan_sample"] == [30, 31, 32, 33, 34] and d["window"] == "closed"' "it names the orphan ids it would remove, and the closed window"
expect_json_true 'd["would_backup"] is False' "and that no copy would be taken (vector.backup_before_optimize = false)"
run "$OPSCTL" --output json vector optimize --dry-run -t advanced -B
expect_rc 0 "optimize -t advanced --dry-run: exit 0"
expect_json_true 'd["candidate_type"] == "IDMap,Flat" and d["source_rows"] == 3975 and d["would_backup"] is True and d["window"] == "open"' "the candidate's type, the copy with -B, the open window"
OPSCTL_CONFIG="$T/never.conf" run "$OPSCTL" --env prod --output json vector purge --dry-run --ids 60,61,900000
expect_rc 0 "purge --dry-run outside the window: exit 0"
expect_json_true 'd["would_remove"] == 2 and d["would_remove_ids"] == [60, 61] and d["not_in_index_ids"] == [900000] and d["would_write"] is True and d["window"] == "closed"' "it names the ids the index would lose, and those it does not hold"
OPSCTL_CONFIG="$T/prot.conf" run "$OPSCTL" vector purge --dry-run --ids 60
expect_fail 77 "purge --dry-run on a protected store: refused as the real run is (77)" "protected store"
expect_journal_added 0 "no dry run wrote a journal line"
snap >"$T/snap-after"
if cmp -s "$T/snap-before" "$T/snap-after"; then ok "no dry run changed, added or removed a file (index, manifest, backups, temp files)"; else not_ok "dry runs changed files"; diff "$T/snap-before" "$T/snap-after" | sed 's/^/#   /'; fi

done_testing
