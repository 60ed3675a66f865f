#!/usr/bin/env bash
# t630: opsctl cleanup rotate on real files with Debian's logrotate: by size,
# keep N, zstd and gzip, create (owner and mode kept), copytruncate with a
# writer appending throughout (its loss window measured), the reload command
# run as an argv without a shell, a SIGKILL mid-run leaving a valid state
# file, dry run, and bad keys refused with exit 78 before anything runs.
. "$(dirname "$0")/../lib/common.sh"
tool=$(missing_tool logrotate zstd gzip python3 setsid) && bail_out "$tool (scripts/setup)"
[ -x /usr/sbin/logrotate ] || bail_out "logrotate at /usr/sbin/logrotate (scripts/setup)"

L="$T/logs"
mkdir -p "$L"
chmod 755 "$L"
STATE="$OPSCTL_STATE_DIR/logrotate.status"

# conf FILE [LINE ...]: the base configuration with LINEs replacing or
# adding keys (a key set twice in one file is a warning on stderr).
conf() {
	local f=$1 l
	shift
	{
		echo "[cleanup]"
		echo "rotate_logs = $L/*.log"
		echo "rotate_size = 1K"
		echo "rotate_keep = 3"
		echo "rotate_compress = zstd"
		echo "rotate_delay_compress = no"
	} >"$f"
	for l in "$@"; do
		grep -v "^${l%% =*} = " "$f" >"$f.new"
		echo "$l" >>"$f.new"
		mv "$f.new" "$f"
	done
}
# fill FILE BYTES: printable random bytes, lines of 76.
fill() { head -c "$2" /dev/urandom | base64 >"$1"; }

# ---- rotate by size, zstd, create with owner and mode kept ----
conf "$T/zstd.conf"
fill "$L/app.log" 6000
cp "$L/app.log" "$T/app.orig"
echo "small" >"$L/small.log"
: >"$L/empty.log"
chown 65534:65534 "$L/app.log"
chmod 640 "$L/app.log"
journal_mark
run "$OPSCTL" --config "$T/zstd.conf" cleanup rotate -o json
expect_rc 0 "a log over cleanup.rotate_size is rotated"
expect_json_true 'd["rotated"] == ["'"$L"'/app.log"] and d["files_rotated"] == 1' \
	"the report names the rotated log, and only it (small and empty logs stay)"
expect_json_true 'd["logs_considered"] == 3 and d["compress"] == "zstd" and d["mode"] == "create"' \
	"the report gives the logs considered, the compression and the mode"
[ -f "$L/app.log.1.zst" ] && [ ! -e "$L/app.log.1" ] && [ ! -e "$L/small.log.1" ] &&
	[ ! -e "$L/small.log.1.zst" ] && [ ! -e "$L/empty.log.1.zst" ]
check $? "app.log.1.zst written; small.log and empty.log not rotated"
zstd -t -q "$L/app.log.1.zst" && zstd -dc "$L/app.log.1.zst" | cmp -s - "$T/app.orig"
check $? "the .zst passes zstd -t and holds the log's exact bytes"
[ -f "$L/app.log" ] && [ ! -s "$L/app.log" ] &&
	[ "$(stat -c '%a %u %g' "$L/app.log")" = "640 65534 65534" ]
check $? "create: a new empty app.log with the old owner and mode ($(stat -c '%a %u %g' "$L/app.log" 2>&1))"
expect_journal_added 1 "the run is journalled"
expect_journal_last 'j["command"] == "cleanup rotate" and j["figures"]["opsctl_cleanup_rotate_files_rotated"] == 1' \
	"the journal line carries opsctl_cleanup_rotate_files_rotated"
grep -q '^opsctl_cleanup_rotate_files_rotated{task="cleanup_rotate"} 1$' "$OPSCTL_STATE_DIR/opsctl.prom" &&
	grep -q '^# HELP opsctl_cleanup_rotate_files_rotated ' "$OPSCTL_STATE_DIR/opsctl.prom"
check $? "the textfile exports opsctl_cleanup_rotate_files_rotated with its HELP"
[ "$(stat -c %a "$OPSCTL_STATE_DIR/cleanup-rotate.conf")" = 600 ] &&
	grep -qx '    create' "$OPSCTL_STATE_DIR/cleanup-rotate.conf"
check $? "the generated configuration is mode 0600 and says create"
head -n 1 "$STATE" | grep -qx 'logrotate state -- version 2' && grep -q "^\"$L/app.log\" " "$STATE"
check $? "logrotate's state is opsctl's own file in the state directory"

# Nothing due: nothing rotated, text output.
run "$OPSCTL" --config "$T/zstd.conf" cleanup rotate
expect_rc 0 "a second run with nothing due succeeds"
grep -Eq "^files rotated: +0$" "$OUT"
check $? "text output: nothing rotated"

# ---- keep N: the N+1th copy is removed ----
for i in 1 2 3 4; do
	fill "$L/app.log" 3000
	echo "generation $i" >>"$L/app.log"
	run "$OPSCTL" --config "$T/zstd.conf" cleanup rotate -o json
done
expect_rc 0 "four more rotations"
expect_json_true 'd["removed"] == ["'"$L"'/app.log.4.zst"] and d["files_removed"] == 1' \
	"the last run reports the copy beyond cleanup.rotate_keep = 3 as removed"
[ -f "$L/app.log.1.zst" ] && [ -f "$L/app.log.2.zst" ] && [ -f "$L/app.log.3.zst" ] &&
	[ ! -e "$L/app.log.4.zst" ] && [ ! -e "$L/app.log.5.zst" ]
check $? "exactly three copies kept: .1 .2 .3 ($(cd "$L" && echo app.log.*))"
zstd -dc "$L/app.log.1.zst" | tail -n 1 | grep -qx 'generation 4' &&
	zstd -dc "$L/app.log.3.zst" | tail -n 1 | grep -qx 'generation 2'
check $? "the newest copy is .1, the oldest kept is .3"

# ---- gzip ----
G="$T/glogs"
mkdir -p "$G"
conf "$T/gzip.conf" "rotate_logs = $G/*.log" "rotate_compress = gzip"
fill "$G/web.log" 5000
cp "$G/web.log" "$T/web.orig"
run "$OPSCTL" --config "$T/gzip.conf" cleanup rotate -o json
expect_rc 0 "gzip: rotated"
gzip -t "$G/web.log.1.gz" && gzip -dc "$G/web.log.1.gz" | cmp -s - "$T/web.orig"
check $? "gzip: web.log.1.gz passes gzip -t and holds the log's bytes"

# ---- dry run and --force ----
fill "$G/web.log" 200
cp "$STATE" "$T/state.before"
journal_mark
run "$OPSCTL" --config "$T/gzip.conf" cleanup rotate --dry-run --force -o json
expect_rc 0 "dry run with --force"
expect_json_true 'd["dry_run"] and d["forced"] and "'"$G"'/web.log" in d["rotated"]' \
	"the dry run lists the small log --force would rotate"
[ ! -e "$G/web.log.2.gz" ] && [ -s "$G/web.log" ] && cmp -s "$STATE" "$T/state.before"
check $? "the dry run changed no log and not the state file"
expect_journal_added 0 "a dry run is not journalled"
run "$OPSCTL" --config "$T/gzip.conf" cleanup rotate --dry-run -v -o json
expect_json_true 'any(l.startswith("considering log ") for l in d["logrotate_messages"])' \
	"-v: the report carries logrotate's own messages"
run "$OPSCTL" --config "$T/gzip.conf" cleanup rotate -f -o json
expect_json_true '"'"$G"'/web.log" in d["rotated"]' "-f rotates a log under the size and interval"
[ -f "$G/web.log.2.gz" ] && [ -f "$G/web.log.1.gz" ]
check $? "-f: the copies shifted to .2.gz"

# ---- the reload command: an argv, no shell, only after a rotation ----
R="$T/rlogs"
mkdir -p "$R"
cat >"$T/reload.sh" <<'EOF'
#!/bin/sh
for a in "$@"; do printf '[%s]\n' "$a"; done >>"$RELOAD_OUT"
echo run >>"$RELOAD_OUT.count"
exit "${RELOAD_EXIT:-0}"
EOF
chmod 755 "$T/reload.sh"
export RELOAD_OUT="$T/reload.out"
conf "$T/reload.conf" "rotate_logs = $R/*.log" \
	"rotate_reload_command = $T/reload.sh, --signal=HUP;touch $T/pwned, \$(touch $T/pwned2), two words"
fill "$R/api.log" 3000
run "$OPSCTL" --config "$T/reload.conf" cleanup rotate -o json
expect_rc 0 "rotation with a reload command"
printf '[%s]\n' "--signal=HUP;touch $T/pwned" "\$(touch $T/pwned2)" "two words" >"$T/reload.want"
cmp -s "$T/reload.out" "$T/reload.want" && [ ! -e "$T/pwned" ] && [ ! -e "$T/pwned2" ]
check $? "the reload command got its three arguments verbatim; ; and \$( ) were not interpreted"
expect_json_true 'd["reload"]["result"] == "ok" and d["reload"]["command"][0] == "'"$T"'/reload.sh"' \
	"the report gives the reload command and its result"
run "$OPSCTL" --config "$T/reload.conf" cleanup rotate -o json
[ "$(wc -l <"$T/reload.out.count")" -eq 1 ]
check $? "nothing rotated: the reload command is not run"
expect_json_true 'd["reload"] is None' "the report says no reload ran (null)"
fill "$R/api.log" 3000
RELOAD_EXIT=3 run env RELOAD_EXIT=3 "$OPSCTL" --config "$T/reload.conf" cleanup rotate
expect_fail 1 "a failing reload command fails the run" "reload command" "exit 3"
[ -f "$R/api.log.2.zst" ]
check $? "the rotation before the failed reload stands"

# ---- copytruncate with a writer appending throughout ----
C="$T/clogs"
mkdir -p "$C"
conf "$T/ct.conf" "rotate_logs = $C/*.log" "rotate_mode = copytruncate" "rotate_compress = none" \
	"rotate_size = 100M"
cat >"$T/writer.sh" <<'EOF'
#!/bin/bash
# One open descriptor in append mode, as a daemon's log: after the
# truncation its writes land at the new end of file.
exec 3>>"$1"
i=0
while :; do
	echo "line $i" >&3
	i=$((i + 1))
done
EOF
chmod 755 "$T/writer.sh"
: >"$C/worker.log"
ino=$(stat -c %i "$C/worker.log")
bg "$T/writer.sh" "$C/worker.log"
WRITER=$BG_PID
wait_for 10 test "$(wc -l <"$C/worker.log")" -gt 20000 || true
# Every line up to this one was written before logrotate started copying.
before=$(tail -n 2 "$C/worker.log" | head -n 1 | sed 's/^line //')
run "$OPSCTL" --config "$T/ct.conf" cleanup rotate -f -o json
sleep 0.2
bg_kill "$WRITER"
expect_rc 0 "copytruncate rotation while a writer appends"
[ "$(stat -c %i "$C/worker.log")" = "$ino" ]
check $? "copytruncate keeps the live file (same inode)"
python3 - "$C/worker.log.1" "$C/worker.log" "$before" >"$T/ct.result" <<'EOF'
import sys
def nums(path):
    out = []
    for l in open(path, errors="replace").read().split("\n"):
        if l.startswith("line ") and l[5:].isdigit():
            out.append(int(l[5:]))
    return out
rot, cur, before = nums(sys.argv[1]), nums(sys.argv[2]), int(sys.argv[3])
ok = rot == list(range(len(rot))) and cur == list(range(cur[0], cur[0] + len(cur)))
lost = cur[0] - rot[-1] - 1
print(f"rotated 0..{rot[-1]}, current {cur[0]}..{cur[-1]}, lost {lost}, before copy {before}")
sys.exit(0 if ok and rot[-1] >= before and lost >= 0 else 1)
EOF
check $? "every line written before the copy is in the rotated file; the current file continues without gaps: $(cat "$T/ct.result")"
if grep -q 'lost 0,' "$T/ct.result"; then
	ok "copytruncate's window: no line fell between copy and truncate this time # the window is a race; $(cat "$T/ct.result")"
else
	ok "copytruncate's window: the lines lost are exactly those written between the end of the copy and the truncation ($(cat "$T/ct.result"))"
fi

# ---- a SIGKILL mid-run leaves a valid state file ----
K="$T/klogs"
mkdir -p "$K"
conf "$T/kill.conf" "rotate_logs = $K/*.log" "rotate_compress = gzip"
for i in $(seq 1 150); do fill "$K/k$i.log" 400000; done
run "$OPSCTL" --config "$T/kill.conf" cleanup rotate --dry-run
# A first real run creates every log's state line.
fill "$K/seed.log" 10
run "$OPSCTL" --config "$T/kill.conf" cleanup rotate -o json
# shellcheck disable=SC2012
valid_state() {
	python3 - "$STATE" <<'EOF'
import re, sys
lines = open(sys.argv[1], "rb").read().decode().split("\n")
assert lines[0] == "logrotate state -- version 2", lines[0]
assert lines[-1] == ""
for l in lines[1:-1]:
    assert re.fullmatch(r'"[^"]+" \d{4}-\d{1,2}-\d{1,2}-\d{1,2}:\d{1,2}:\d{1,2}', l), l
EOF
}
valid_state
check $? "state file valid before the kill"
for i in $(seq 1 150); do fill "$K/k$i.log" 400000; echo "END k$i gen 2" >>"$K/k$i.log"; done
bg "$OPSCTL" --config "$T/kill.conf" cleanup rotate --force
KPID=$BG_PID
# The first run rotated every k*.log to .1.gz; this one shifts them to .2.gz.
wait_for 20 sh -c "ls '$K' | grep -q '^k.*log\.2\.gz'" || true
kill -KILL -- "-$KPID" 2>/dev/null
wait "$KPID" 2>/dev/null
done_now=$(ls "$K" | grep -c '^k[0-9]*\.log\.2\.gz$')
if [ "$done_now" -gt 0 ] && [ "$done_now" -lt 150 ]; then
	ok "SIGKILL landed mid-run ($done_now of 150 logs rotated)"
else
	ok "SIGKILL timing # SKIP $done_now of 150 logs rotated when the kill landed"
fi
valid_state
check $? "after SIGKILL of opsctl and logrotate the state file is complete and valid"
run "$OPSCTL" --config "$T/kill.conf" cleanup rotate -o json
expect_rc 0 "the next run after the kill succeeds (no stale lock)"
valid_state && [ "$(grep -c "^\"$K/k" "$STATE")" -eq 150 ]
check $? "the state file after the next run is valid and names every log"
# The kill interrupted a compression: logrotate alone would shift the partial
# .gz along and, at the log's next rotation, rename the log over the
# uncompressed copy.  opsctl compresses that copy again first.
[ "$done_now" -eq 0 ] || [ "$done_now" -eq 150 ] ||
	expect_json_true 'len(d["compression_finished"]) >= 1' \
		"the run after the kill finished the interrupted compression ($(json_get 'd["compression_finished"]'))"
bad=""
for i in $(seq 1 150); do
	gzip -t "$K/k$i.log.1.gz" 2>/dev/null && [ ! -e "$K/k$i.log.1" ] &&
		gzip -dc "$K/k$i.log.1.gz" | tail -n 1 | grep -qx "END k$i gen 2" || bad="$bad k$i"
done
[ -z "$bad" ]
check $? "after the kill and one more run every log's killed generation is whole in .1.gz${bad:+ (not:$bad)}"

# ---- a group-writable log directory: logrotate's refusal, then su ----
W="$T/wlogs"
mkdir -p "$W"
chown 65534:65534 "$W"
chmod 775 "$W"
fill "$W/w.log" 3000
conf "$T/w.conf" "rotate_logs = $W/*.log"
run "$OPSCTL" --config "$T/w.conf" cleanup rotate
expect_fail 1 "a log logrotate refuses fails the run with logrotate's reason" \
	"$W/w.log" "insecure permissions" "hint: Set cleanup.rotate_su"
run "$OPSCTL" --config "$T/w.conf" cleanup rotate -o json
expect_json_true 'd["status"] == "failed" and len(d["errors"]) == 1 and d["rotated"] == []' \
	"JSON: the envelope and the report's errors list"
conf "$T/w.conf" "rotate_logs = $W/*.log" "rotate_su = nobody $(id -gn 65534)"
run "$OPSCTL" --config "$T/w.conf" cleanup rotate -o json
expect_json_true 'd["status"] == "ok" and d["rotated"] == ["'"$W"'/w.log"]' \
	"with cleanup.rotate_su the log is rotated as that user"
conf "$T/w.conf" "rotate_logs = $W/*.log" "rotate_su = nobody"
run "$OPSCTL" --config "$T/w.conf" cleanup rotate
expect_error 78 "cleanup.rotate_su without a group is refused" "cleanup.rotate_su" "USER GROUP"

# ---- bad configuration: exit 78 naming the key, nothing run ----
B="$T/blogs"
mkdir -p "$B"
fill "$B/x.log" 5000
rm -f "$OPSCTL_STATE_DIR/cleanup-rotate.conf"
conf "$T/bad1.conf" "rotate_logs = $B/*.log" "rotate_compress = lz4"
run "$OPSCTL" --config "$T/bad1.conf" cleanup rotate
expect_error 78 "an unknown compression is refused" "cleanup.rotate_compress" "lz4"
conf "$T/bad2.conf" "rotate_logs = logs/*.log"
run "$OPSCTL" --config "$T/bad2.conf" cleanup rotate
expect_error 78 "a relative glob is refused" "cleanup.rotate_logs" "logs/*.log" "not an absolute path"
conf "$T/bad3.conf" "rotate_logs = $B/*.log" "rotate_mode = move"
run "$OPSCTL" --config "$T/bad3.conf" cleanup rotate
expect_error 78 "an unknown mode is refused" "cleanup.rotate_mode"
conf "$T/bad4.conf" "rotate_logs = $B/*.log" "rotate_kep = 3"
run "$OPSCTL" --config "$T/bad4.conf" cleanup rotate
expect_error 78 "a misspelt key is refused" "cleanup.rotate_kep"
conf "$T/bad5.conf" "rotate_logs = $B/\"x\".log"
run "$OPSCTL" --config "$T/bad5.conf" cleanup rotate -o json
expect_rc 78 "a glob logrotate cannot quote is refused"
expect_json_true 'd["status"] == "failed" and "cleanup.rotate_logs" in d["error"]' \
	"JSON: the envelope names the key"
conf "$T/bad6.conf" "rotate_logs = $B/*.log" "rotate_logrotate = $T/no-logrotate"
run "$OPSCTL" --config "$T/bad6.conf" cleanup rotate
expect_error 69 "logrotate missing is exit 69" "logrotate not found"
[ ! -e "$OPSCTL_STATE_DIR/cleanup-rotate.conf" ] && [ ! -e "$B/x.log.1.zst" ] && [ ! -e "$B/x.log.1" ]
check $? "no refused run wrote a configuration or rotated anything"

# ---- help and man ----
run "$OPSCTL" cleanup rotate --help
expect_out_contains "--dry-run" "--help lists --dry-run"
run "$OPSCTL" help cleanup rotate
expect_out_contains "copytruncate" "the man page explains copytruncate's window"

done_testing
