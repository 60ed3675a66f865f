#!/usr/bin/env bash
# t430: SIGTERM and SIGINT during vector runs (issue 9).  A rebuild stopped
# while both of its readers stream exits 143 with one error line, leaves the
# live index and its manifest byte for byte, no temp file beside them, no
# COPY on the server, the lock free, a journal line "interrupted" and no
# success metric; the next run sweeps the temps a killed run left (dead
# pids only); SIGTERM at any moment of a rebuild leaves an index that
# verifies; SIGINT during verify exits 130.
. "$(dirname "$0")/../lib/common.sh"
. "$ROOT/tests/lib/pg.sh"
pg_start || bail_out "PostgreSQL starts"
DB=t430
PGOPTIONS='-c client_min_messages=warning' psql_q "drop database if exists $DB" >/dev/null
psql_q "create database $DB" >/dev/null
at_exit "psql_q 'drop database if exists $DB'"
# 6000 chunks of 384 dimensions: about 1200 pages, so vector.read_jobs (2)
# readers each stream a block range.
psql -XAtq -v ON_ERROR_STOP=1 -d "$DB" >/dev/null <<'SQL' || bail_out "the sample table"
create table document_chunks (id bigint primary key, embedding real[]);
insert into document_chunks
select g, (select array_agg(random()::real) from generate_series(1, 384) where g > 0)
from generate_series(1, 6000) g;
SQL
IDX="$T/idx/index.faiss"
# A fixed factory: auto counts the rows first, and the slowed filter below
# would slow the count too.  Two readers whatever the cores free (read_jobs
# 0 would choose from them).
cat >"$T/opsctl.conf" <<CONF
[vector]
database = $DB
index_path = $IDX
backup_dir = $T/vbackups
metric = l2
factory = IDMap,Flat
read_jobs = 2
CONF
export OPSCTL_CONFIG="$T/opsctl.conf"
# 2 ms a row: each reader's 3000 rows take 6 s, so a signal lands mid-stream.
cp "$T/opsctl.conf" "$T/slow.conf"
printf 'filter = pg_catalog.pg_sleep(0.002) IS NOT NULL\n' >>"$T/slow.conf"
PROM="$OPSCTL_STATE_DIR/opsctl.prom"

copies() { psql_q -d "$DB" "select count(*) from pg_stat_activity where query like 'COPY (SELECT%' and pid <> pg_backend_pid()"; }
two_copies() { [ "$(copies)" = 2 ]; }
no_copy_left() { [ "$(copies)" = 0 ]; }
locks_free() {
	local f
	for f in "$OPSCTL_STATE_DIR"/locks/*.lock; do
		[ -e "$f" ] || continue
		flock -n "$f" true || return 1
	done
	return 0
}
# The rebuild's series in the textfile (task "vector", or "vector_rebuild"
# once the runner names it by its subcommand).
rebuild_metric() { grep -E "^$1\{task=\"vector(_rebuild)?\"" "$PROM" 2>/dev/null; }
temps() { find "$T/idx" -name '*.tmp.*' | sort; }
# bg_signal SIG CONF ARGS...: start opsctl ARGS in the background with SIG at
# its default disposition (a shell's background jobs ignore SIGINT), wait
# until both readers' COPYs run, send SIG, wait; $OUT/$ERR/$RC as run sets.
bg_signal() {
	local sig=$1 conf=$2 pid t0
	shift 2
	RUN_CMD="$* (with $sig while it streams)"
	OPSCTL_CONFIG=$conf env --default-signal=INT,TERM "$OPSCTL" "$@" >"$OUT" 2>"$ERR" </dev/null &
	pid=$!
	if ! wait_for 20 two_copies; then
		not_ok "both readers stream before the signal"
		diag "COPYs running: $(copies)"
	fi
	t0=$(date +%s%N)
	kill -"$sig" "$pid"
	wait "$pid"
	RC=$?
	SIGNAL_MS=$((($(date +%s%N) - t0) / 1000000))
}

# ---- a live index to protect ----
t0=$(date +%s%N)
run "$OPSCTL" vector rebuild --force
REBUILD_MS=$((($(date +%s%N) - t0) / 1000000))
expect_rc 0 "the live index is built"
idx_sha=$(sha256sum <"$IDX")
man_sha=$(sha256sum <"$IDX.manifest.json")
success_before=$(rebuild_metric opsctl_last_success_timestamp_seconds)
[ -n "$success_before" ] || not_ok "the textfile records the rebuild's success"

# ---- SIGTERM while both readers stream ----
journal_mark
bg_signal TERM "$T/slow.conf" vector rebuild --force
expect_fail 143 "SIGTERM while it streams: exit 143, one error line naming SIGTERM" "interrupted by SIGTERM"
if [ "$SIGNAL_MS" -lt 3000 ]; then ok "it stopped within 3 s of the signal (${SIGNAL_MS} ms), not at the end of the stream"; else not_ok "it stopped promptly (took ${SIGNAL_MS} ms)"; fi
if [ "$(sha256sum <"$IDX")" = "$idx_sha" ] && [ "$(sha256sum <"$IDX.manifest.json")" = "$man_sha" ]; then
	ok "the live index and its manifest are byte for byte as they were"
else
	not_ok "the live index and its manifest are unchanged"
fi
if [ -z "$(temps)" ]; then ok "no temp file beside the index"; else not_ok "no temp file beside the index"; diag "$(temps)"; fi
if wait_for 10 no_copy_left; then ok "no COPY left running on the server"; else not_ok "no COPY left running on the server"; diag "$(psql_q -d "$DB" "select pid, state, left(query, 80) from pg_stat_activity where query like 'COPY%'")"; fi
expect_journal_added 1 "one journal line"
expect_journal_last 'j["status"] == "interrupted"' "its status is interrupted"
if locks_free; then ok "the lock is free"; else not_ok "the lock is free"; fi
if [ "$(rebuild_metric opsctl_last_success_timestamp_seconds)" = "$success_before" ]; then
	ok "no success metric for the interrupted rebuild"
else
	not_ok "no success metric for the interrupted rebuild"; diag "before: $success_before"; diag "after: $(rebuild_metric opsctl_last_success_timestamp_seconds)"
fi
if rebuild_metric opsctl_last_exit_status | grep -q ' 143$'; then ok "its last exit status is 143"; else not_ok "the textfile's last exit status is 143"; diag "$(rebuild_metric opsctl_last_exit_status)"; fi
run "$OPSCTL" vector verify
expect_rc 0 "vector verify passes on the live index"

# ---- the next run sweeps what a killed run left ----
dead=99999
while kill -0 "$dead" 2>/dev/null; do dead=$((dead + 1)); done
sleep 300 &
live=$!
at_exit "kill $live"
for f in "$IDX.tmp.$dead" "$IDX.manifest.json.tmp.$dead.0a1b2c3d" "$IDX.tmp.$live"; do
	printf 'partial' >"$f"
	touch -d '2 minutes ago' "$f"
done
printf partial >"$IDX.tmp.${dead}x"	# not a temp name: not ours to judge
touch -d "2 minutes ago" "$IDX.tmp.${dead}x"
run "$OPSCTL" vector rebuild --force
expect_rc 0 "the next rebuild runs"
if [ ! -e "$IDX.tmp.$dead" ] && [ ! -e "$IDX.manifest.json.tmp.$dead.0a1b2c3d" ]; then
	ok "the index and manifest temps of a dead pid are removed"
else
	not_ok "the temps of a dead pid are removed"; diag "$(temps)"
fi
expect_err_contains "left by an interrupted run" "and the removal is warned about"
if [ -e "$IDX.tmp.$live" ] && [ -e "$IDX.tmp.${dead}x" ]; then ok "a live pid's temp, and a name that is no temp, are left alone"; else not_ok "a live pid's temp is left alone"; fi
kill "$live" 2>/dev/null
rm -f "$IDX.tmp.$live" "$IDX.tmp.${dead}x"

# ---- SIGTERM once the new index is being written ----
# The temp file appears when FAISS starts writing; the signal lands while it
# is written, synced or read back, before the swap begins.
before_idx=$(sha256sum <"$IDX")
before_man=$(sha256sum <"$IDX.manifest.json")
journal_mark
"$OPSCTL" vector rebuild --force >"$OUT" 2>"$ERR" </dev/null &
pid=$!
while kill -0 "$pid" 2>/dev/null && [ ! -e "$IDX.tmp.$pid" ]; do :; done
kill -TERM "$pid" 2>/dev/null
wait "$pid"
RC=$?
RUN_CMD="vector rebuild --force (SIGTERM while the new index is written)"
expect_fail 143 "SIGTERM while the new index is written: exit 143" "interrupted by SIGTERM"
if [ "$(sha256sum <"$IDX")$(sha256sum <"$IDX.manifest.json")" = "$before_idx$before_man" ] && [ -z "$(temps)" ]; then
	ok "the half-written index is removed; the live one and its manifest are as they were"
else
	not_ok "the half-written index is removed; the live one and its manifest are as they were"; diag "$(temps)"
fi
expect_journal_last 'j["status"] == "interrupted"' "journalled as interrupted"

# ---- SIGTERM at any moment of a rebuild ----
# Six moments spread over one rebuild's duration (streaming, adding, the
# check search, writing, syncing, reading back, the swap).
# Measured warm, right here: the first rebuild above also paid for a cold
# page cache and plugin, and moments scaled to it could all fall after the end.
t0=$(date +%s%N)
"$OPSCTL" vector rebuild --force >/dev/null 2>&1 </dev/null
REBUILD_MS=$((($(date +%s%N) - t0) / 1000000))
interrupted=0 finished=0 bad=""
for k in 1 2 3 4 5 6; do
	delay=$(awk -v ms="$REBUILD_MS" -v k="$k" 'BEGIN { printf "%.3f", ms * k / 7000 }')
	before_idx=$(sha256sum <"$IDX")
	before_man=$(sha256sum <"$IDX.manifest.json")
	env --default-signal=TERM "$OPSCTL" vector rebuild --force >/dev/null 2>"$T/d.err" </dev/null &
	pid=$!
	sleep "$delay"
	kill -TERM "$pid" 2>/dev/null
	wait "$pid"
	rc=$?
	case $rc in
	143)
		interrupted=$((interrupted + 1))
		[ "$(sha256sum <"$IDX")$(sha256sum <"$IDX.manifest.json")" = "$before_idx$before_man" ] ||
			bad="$bad; after ${delay}s: interrupted, yet the index or manifest changed" ;;
	0) finished=$((finished + 1)) ;;
	*) bad="$bad; after ${delay}s: exit $rc: $(head -c 200 "$T/d.err")" ;;
	esac
	[ -z "$(temps)" ] || bad="$bad; after ${delay}s: temps left: $(temps | tr '\n' ' ')"
	"$OPSCTL" vector verify >/dev/null 2>"$T/v.err" || bad="$bad; after ${delay}s: verify failed: $(head -c 200 "$T/v.err")"
done
if [ -z "$bad" ] && [ "$interrupted" -gt 0 ]; then
	ok "SIGTERM at six moments of a ${REBUILD_MS} ms rebuild ($interrupted interrupted, $finished finished first): exit 143 or 0, no temps, the index verifies"
else
	not_ok "SIGTERM at any moment of a rebuild ($interrupted interrupted, $finished finished)"; diag "${bad#; }"
fi

# ---- SIGINT during verify ----
journal_mark
bg_signal INT "$T/slow.conf" vector verify
expect_fail 130 "SIGINT during verify: exit 130, one error line naming SIGINT" "interrupted by SIGINT"
if wait_for 10 no_copy_left; then ok "no COPY left running on the server"; else not_ok "no COPY left running after verify"; fi
expect_journal_added 1 "one journal line"
expect_journal_last 'j["status"] == "interrupted"' "its status is interrupted"
if locks_free; then ok "the lock is free"; else not_ok "the lock is free after verify"; fi
run "$OPSCTL" vector verify
expect_rc 0 "and an uninterrupted verify passes"

done_testing
