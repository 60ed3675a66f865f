#!/usr/bin/env bash
# t420: the index loader and the COPY row parser under libFuzzer for a
# bounded time (issue 4).  Loader: seeds
# are real indexes of every type the guides use (Python faiss writes them);
# libFuzzer damages them; opsctl must answer OK or 65 for each, never crash.
# Then the same damage through the real binary: random, truncated and
# bit-flipped files of each type exit 65 or verify, never a signal.
. "$(dirname "$0")/../lib/common.sh"
PY=/usr/bin/python3
FUZZ="$ROOT/build/fuzz/fuzz_index_load"
[ -x "$FUZZ" ] || bail_out "build/fuzz/fuzz_index_load (make fuzz)"
$PY -c 'import faiss' 2>/dev/null || bail_out "python3-faiss (scripts/setup)"
mkdir -p "$T/seeds" "$T/corpus"
$PY - "$T/seeds" <<'PY'
import sys, faiss, numpy as np
d = sys.argv[1]
x = np.random.default_rng(1).standard_normal((300, 8)).astype('float32')
ids = np.arange(1000, 1300).astype('int64')
for name in ["Flat", "IDMap,Flat", "IVF4,Flat", "IVF4,PQ2", "IDMap,HNSW8", "IDMap,SQ8"]:
    idx = faiss.index_factory(8, name)
    if not idx.is_trained:
        idx.train(x)
    if "IDMap" in name or "IVF" in name:
        idx.add_with_ids(x, ids)
    else:
        idx.add(x)
    faiss.write_index(idx, "%s/%s.faiss" % (d, name.replace(",", "_")))
PY
n=$(ls "$T/seeds" | wc -l)
if [ "$n" -eq 6 ]; then ok "six seed indexes written by Python faiss"; else not_ok "six seed indexes (got $n)"; fi
cp "$T/seeds"/* "$T/corpus/"
secs=${OPSCTL_TEST_FUZZ_SECONDS:-45}
# Damaged files make FAISS crash or ask for absurd memory in the loader's
# child process (whose libFuzzer hooks then print their own reports): the
# verdict is the fuzzing process's, which must finish every run.
if (cd "$T" && ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1 OPSCTL_FAISS_PLUGIN="$ROOT/opsctl-faiss.so" \
	"$FUZZ" -max_total_time="$secs" -timeout=90 -rss_limit_mb=4096 -print_final_stats=1 corpus >"$T/fuzz.log" 2>&1) &&
	grep -q '^Done [0-9]* runs' "$T/fuzz.log"; then
	ok "libFuzzer ran ${secs}s over the loader without a crash ($(grep -o '^Done [0-9]* runs' "$T/fuzz.log"))"
else
	not_ok "libFuzzer found a crash in the loader"
	tail -n 30 "$T/fuzz.log" | sed 's/^/#   /'
fi

# The real binary on damaged files of every type.
bad=0
for s in "$T"/seeds/*.faiss; do
	size=$(stat -c %s "$s")
	for kind in trunc flip zero; do
		case $kind in
		trunc) head -c $((size / 3)) "$s" >"$T/d.faiss" ;;
		flip) cp "$s" "$T/d.faiss"; printf '\xff\xff\xff\xff' | dd of="$T/d.faiss" bs=1 seek=$((size / 4)) conv=notrunc status=none ;;
		zero) cp "$s" "$T/d.faiss"; dd if=/dev/zero of="$T/d.faiss" bs=1 seek=40 count=64 conv=notrunc status=none ;;
		esac
		"$OPSCTL" vector stats -p "$T/d.faiss" >/dev/null 2>"$T/d.err"
		rc=$?
		if [ "$rc" -ne 0 ] && [ "$rc" -ne 65 ]; then
			bad=$((bad + 1))
			diag "$(basename "$s") $kind: exit $rc: $(head -c 200 "$T/d.err")"
		fi
	done
done
if [ "$bad" -eq 0 ]; then ok "18 damaged files through opsctl: each loads or exits 65, never a signal"; else not_ok "$bad damaged files ended otherwise than 0 or 65"; fi

# ---- the COPY row parser (tests/fuzz/fuzz_copy_row.c) ----
# Seeds: one well-formed row of each column type the source reads (real[],
# double precision[], bytea, pgvector's vector, text, jsonb), a NULL, an
# ids-only row, a header before a row, and the trailer.
FUZZ_ROW="$ROOT/build/fuzz/fuzz_copy_row"
[ -x "$FUZZ_ROW" ] || bail_out "build/fuzz/fuzz_copy_row (make fuzz)"
mkdir -p "$T/rows"
$PY - "$T/rows" <<'PY'
import struct, sys
def row(rid, field):
    return (struct.pack('>hiq', 2, 8, rid) +
            (struct.pack('>i', len(field)) + field if field is not None else struct.pack('>i', -1)))
def arr(vals, elem):
    esz, oid = (4, 700) if elem == 'f' else (8, 701)
    return struct.pack('>iiiii', 1, 0, oid, len(vals), 1) + b''.join(struct.pack('>i', esz) + struct.pack('>' + elem, v) for v in vals)
hdr = b'PGCOPY\n\xff\r\n\x00' + struct.pack('>ii', 0, 0)
seeds = {
    'real': bytes([0]) + row(7, arr([0.5, 1.5, -2.0], 'f')),
    'real_header': bytes([16]) + hdr + row(7, arr([0.5, 1.5, -2.0], 'f')),
    'double': bytes([1]) + row(8, arr([0.25, 3.0], 'd')),
    'bytea': bytes([2]) + row(9, struct.pack('<3f', 1, 2, 3)),
    'vector': bytes([3]) + row(10, struct.pack('>hh3f', 3, 0, 1, 2, 3)),
    'text': bytes([4]) + row(11, b'[0.5, 1e-3, -2]'),
    'text_array': bytes([4]) + row(11, b'{0.5,1,2}'),
    'jsonb': bytes([5]) + row(12, b'\x01[1, 2, 3]'),
    'null': bytes([0]) + row(13, None),
    'ids_only': bytes([8]) + struct.pack('>hiqi', 2, 8, 5, 1) + b'\x00',
    'trailer': bytes([0]) + struct.pack('>h', -1),
}
for name, data in seeds.items():
    open('%s/%s' % (sys.argv[1], name), 'wb').write(data)
PY
rsecs=${OPSCTL_TEST_FUZZ_ROW_SECONDS:-20}
if (cd "$T" && "$FUZZ_ROW" -max_total_time="$rsecs" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=256 \
	-print_final_stats=1 rows >"$T/fuzzrow.log" 2>&1) && grep -q '^Done [0-9]* runs' "$T/fuzzrow.log"; then
	ok "libFuzzer ran ${rsecs}s over the COPY row parser (11 seeds, six column types) without a fault ($(grep -o '^Done [0-9]* runs' "$T/fuzzrow.log"))"
else
	not_ok "libFuzzer found a fault in the COPY row parser"
	tail -n 30 "$T/fuzzrow.log" | sed 's/^/#   /'
fi

done_testing
