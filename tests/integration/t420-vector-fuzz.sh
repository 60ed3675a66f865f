#!/usr/bin/env bash
# t420: the index loader under libFuzzer for a bounded time (issue 4): seeds
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

done_testing
