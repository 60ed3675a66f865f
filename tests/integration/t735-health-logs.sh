#!/usr/bin/env bash
# t735: opsctl health's logs component: only the error lines added since the
# last run are counted (guide 003 greps ERROR in logs/), whole words and
# case-sensitively; rotation (mv + a new file), copytruncate, a last line not
# yet ended, globs, health.max_body as a cap per file and run, an unreadable
# file, a file not yet created.
. "$(dirname "$0")/../lib/common.sh"
tool=$(missing_tool python3) && bail_out "$tool (scripts/setup)"

export OPSCTL_CONFIG="$T/opsctl.conf"
L="$T/logs"
mkdir -p "$L"
conf() { printf '%s\n' '[health]' "$@" >"$OPSCTL_CONFIG"; }
conf "log_files = $L/*.log, $T/later/app.log"
LG='find(d["components"], "component", "logs")'
F() { echo "find($LG[\"files\"], \"path\", \"$1\")"; }
A=$(F "$L/app.log")
check_logs() {	# check_logs N DESC: one run; the new error lines counted are N
	local n=$1
	shift
	run "$OPSCTL" --output json health -c logs
	expect_json_true "$LG[\"errors_count\"] == $n" "$* ($n)"
}

# ---- not configured ----
conf 'log_files ='
run "$OPSCTL" health -c logs
expect_rc 3 "logs named with health.log_files empty: UNKNOWN"
expect_out_contains "health.log_files is empty" "the status line says why"
conf "log_files = $L/*.log, $T/later/app.log"

# ---- first run: whole words, case-sensitive, a partial last line ----
printf '%s\n' '2024-01-01 ERROR db down' 'INFO fine' 'ERRORS: 0 (a plural is not the word)' \
	'NO_ERROR here' 'error in lower case' '[ERROR] bracketed' 'CRITICAL: disk' 'ERROR:colon' \
	'xERROR glued' >"$L/app.log"
printf 'ERROR not yet ended' >>"$L/app.log"
check_logs 4 "first sight: ERROR, [ERROR], CRITICAL:, ERROR: count; ERRORS, NO_ERROR, xERROR, error do not; the unended line waits"
expect_rc 0 "4 lines, not above health.log_warn 10: OK"
expect_json_true "$A[\"status\"] == \"new\" and $A[\"partial_line_bytes\"] == len(\"ERROR not yet ended\")" "the unended line is left for later, said in the report"
expect_json_true "$A[\"samples\"][0] == \"2024-01-01 ERROR db down\" and len($A[\"samples\"]) == 4" "the report keeps the sample lines"
expect_json_true "find($LG[\"files\"], \"path\", \"$T/later/app.log\")[\"status\"] == \"missing\"" "a log not yet created is not an error, said in the report"
expect_json_true "\"'logs_errors'=4;10;100;0;\" in d[\"perfdata\"]" "perfdata logs_errors=N;10;100;0"

check_logs 0 "nothing new: nothing counted"
printf ' now\nERROR two\n' >>"$L/app.log"
check_logs 2 "the line ended since, and one more"
expect_json_true "$A[\"samples\"][0] == \"ERROR not yet ended now\"" "the completed line is counted whole"

# ---- rotation: mv app.log app.log.1, a new app.log ----
printf 'ERROR written before the rotation\n' >>"$L/app.log"
mv "$L/app.log" "$L/app.log.1"
printf 'ERROR in the new file\nINFO ok\n' >"$L/app.log"
check_logs 2 "rotated: the old file finished from its offset, then the new one from 0"
expect_json_true "$A[\"status\"] == \"rotated\" and $A[\"rotated_from\"] == \"$L/app.log.1\"" "the report says where the old file went"
check_logs 0 "after the rotation nothing is counted twice"
# logrotate's dateext, then the old file deleted: only the new file is known.
printf 'ERROR before dateext\n' >>"$L/app.log"
mv "$L/app.log" "$L/app.log-20240102"
printf 'ERROR after\n' >"$L/app.log"
check_logs 2 "rotated to app.log-DATE: found beside it too"
printf 'ERROR lost with the old file\n' >>"$L/app.log"
# The new file is made before the old one goes, so it cannot reuse its inode.
printf 'ERROR fresh\n' >"$L/new.tmp"
rm -f "$L/app.log" "$L/app.log-20240102" "$L/app.log.1"
mv "$L/new.tmp" "$L/app.log"
check_logs 1 "rotated and the old file gone: the new file from 0"
expect_json_true "$A[\"note\"] == \"rotated; the old file was not found beside it\"" "the report says the old file was not found"

# ---- copytruncate: the same inode, shorter than the offset ----
printf 'INFO padding line number one\nINFO padding line number two\n' >>"$L/app.log"
check_logs 0 "padding only"
cp "$L/app.log" "$L/app.log.1"
: >"$L/app.log"
printf 'ERROR after truncation\n' >>"$L/app.log"
check_logs 1 "truncated in place: read again from 0"
expect_json_true "$A[\"status\"] == \"truncated\"" "the report says truncated"
rm -f "$L/app.log.1"
# Truncated and written past the old offset before the run: the same inode,
# longer than before, but no longer beginning as it did (also the case of a
# new file given a deleted one's inode).
printf 'INFO a line to read\n' >"$L/app.log"
check_logs 0 "rewritten, nothing yet"
printf 'ERROR new head\nERROR and more past the old offset\n' | dd of="$L/app.log" conv=notrunc status=none
check_logs 2 "rewritten in place past the old offset: read again from 0"
expect_json_true "$A[\"status\"] == \"truncated\"" "the report says truncated"

# ---- globs and thresholds ----
for i in $(seq 1 6); do echo "ERROR a$i"; done >"$L/a.log"
for i in $(seq 1 6); do echo "ERROR b$i"; done >"$L/b.log"
echo "ERROR not matched by the glob" >"$L/c.txt"
check_logs 12 "two files of the glob, 6 each; c.txt is not in it"
expect_rc 1 "12 new error lines, above health.log_warn 10: WARNING"
expect_json_true "$LG[\"summary\"] == \"12 new error lines\"" "the summary counts them"
expect_json_true "len($(F "$L/a.log")[\"samples\"]) == 5" "at most 5 samples per file"
python3 -c 'print("\n".join("CRITICAL c%d" % i for i in range(101)))' >>"$L/a.log"
check_logs 101 "101 new lines"
expect_rc 2 "above health.log_critical 100: CRITICAL"
conf "log_files = $L/*.log" 'log_patterns = FATAL' 'log_warn = 1'
printf 'ERROR not this time\nFATAL this one\nFATALITY no\n' >>"$L/b.log"
check_logs 1 "health.log_patterns FATAL: only FATAL lines"
python3 -c 'print("ERROR " + "x" * 500)' >>"$L/b.log"
conf "log_files = $L/*.log"
check_logs 1 "a long line"
expect_json_true "len($(F "$L/b.log")[\"samples\"][0]) == 200" "its sample is cut to 200 characters"

# ---- the cap: health.max_body per file per run ----
conf "log_files = $L/big.log" 'max_body = 1024' 'log_warn = 1000' 'log_critical = 1000'
: >"$L/big.log"
check_logs 0 "an empty log, first seen"
python3 -c 'print("\n".join("ERROR line %04d padded to forty bytes.." % i for i in range(100)))' >>"$L/big.log"
B=$(F "$L/big.log")
total=0 runs=0 capped=0
while [ $runs -lt 10 ]; do
	run "$OPSCTL" --output json health -c logs
	n=$(json_get '[c for c in d["components"] if c["component"] == "logs"][0]["errors_count"]')
	rb=$(json_get '[c for c in d["components"] if c["component"] == "logs"][0]["files"][0]["read_bytes"]')
	[ "${rb:-0}" -le 1024 ] || capped=1
	runs=$((runs + 1)) total=$((total + ${n:-0}))
	[ "${n:-0}" -gt 0 ] || break
	[ $runs -eq 1 ] && expect_json_true "$B[\"pending_bytes\"] > 0 and \"next run\" in $LG[\"note\"]" "the rest is left for the next run, said in the report"
done
[ $total -eq 100 ] && ok "over $runs runs, all 100 lines counted once" || not_ok "over $runs runs, $total of 100 lines counted"
[ $capped -eq 0 ] && [ $runs -gt 3 ] && ok "no run read more than health.max_body ($runs runs for 4000 bytes)" ||
	not_ok "no run read more than health.max_body (capped $capped, $runs runs for 4000 bytes)"
# A long history seen for the first time: only its last max_body bytes.
conf "log_files = $L/old.log" 'max_body = 1024' 'log_warn = 1000' 'log_critical = 1000'
python3 -c 'print("\n".join("ERROR old %04d padded to forty bytes...." % i for i in range(100)))' >"$L/old.log"
run "$OPSCTL" --output json health -c logs
O=$(F "$L/old.log")
expect_json_true "$O[\"skipped_bytes\"] > 0 and $LG[\"errors_count\"] == 1024 // 41 and $O[\"samples\"][0].startswith(\"ERROR old 0\")" "first sight of a long log: its last max_body bytes, from a whole line"

# ---- unreadable ----
conf "log_files = $L/*.log"
mkdir -p "$L/dir.log"
echo "ERROR still counted" >>"$L/a.log"
run "$OPSCTL" --output json health -c logs
expect_rc 3 "a log that cannot be read: UNKNOWN"
expect_json_true "\"cannot read $L/dir.log: not a regular file\" in $LG[\"summary\"] and $LG[\"errors_count\"] == 1" "named, and the other files still counted"
rmdir "$L/dir.log"
# Files of a glob that are gone are forgotten; a file left out of the
# configuration for a while keeps its place.
run "$OPSCTL" --output json health -c logs
expect_json_true "$LG[\"errors_count\"] == 0" "files left out of health.log_files for a few runs: their past is not counted again"
rm -f "$L/b.log"
run "$OPSCTL" --output json health -c logs
if python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); l=d["components"]["logs"]["data"]; sys.exit(0 if sys.argv[2] not in l and sys.argv[3] in l else 1)' \
	"$OPSCTL_STATE_DIR/health/state.json" "$L/b.log" "$L/a.log"; then
	ok "a deleted file's position is dropped from the state"
else
	not_ok "a deleted file's position is dropped from the state"
fi

done_testing
