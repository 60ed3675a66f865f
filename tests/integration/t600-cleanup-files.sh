#!/usr/bin/env bash
# t600: cleanup logs and cleanup temp on real trees: exactly the old files
# of the chosen types go and everything else stays byte-identical; links are
# never followed (a link to /etc, a directory swapped for a link while the
# walk runs), mount points are not crossed, files open for writing stay,
# roots that must never be cleaned are refused before anything is removed,
# odd names come out exact in JSON, an unreadable directory is reported and
# the rest cleaned, the cap refuses the whole run, and a terminal is asked.
. "$(dirname "$0")/../lib/common.sh"

L="$T/logs"
TMPD="$T/tmp"
cat >"$T/opsctl.conf" <<EOF
[cleanup]
log_dir = $L
temp_dir = $TMPD
EOF
export OPSCTL_CONFIG="$T/opsctl.conf"

# old FILE...: last modified 40 days ago (links themselves, with -h)
old() { touch -h -d '40 days ago' "$@"; }
# tree_sums DIR: every file's checksum and every entry's type and target
tree_sums() {
	(cd "$1" && find . -xdev \( -type f -printf '%p f ' -exec sha256sum {} \; \) -o \
		\( -type l -printf '%p l %l\n' \) -o -printf '%p %y\n' 2>/dev/null | sort)
}
present() { [ -e "$1" ] || [ -L "$1" ]; }
expect_gone() {	# expect_gone DESC PATH...
	local desc=$1 p bad=""
	shift
	for p in "$@"; do present "$p" && bad="$bad ${p#"$T"/}"; done
	if [ -z "$bad" ]; then ok "$desc"; else not_ok "$desc (still there:$bad)"; diag_run; fi
}
expect_kept() {	# expect_kept DESC PATH...
	local desc=$1 p bad=""
	shift
	for p in "$@"; do present "$p" || bad="$bad ${p#"$T"/}"; done
	if [ -z "$bad" ]; then ok "$desc"; else not_ok "$desc (gone:$bad)"; diag_run; fi
}

make_logs() {
	rm -rf "$L"
	mkdir -p "$L/system" "$L/archive"
	printf 'old app\n' >"$L/app.log"
	printf 'rotated\n' >"$L/app.log.1"
	printf 'rotated gz\n' >"$L/app.log.2.gz"
	printf 'fresh\n' >"$L/current.log"
	printf 'not a log\n' >"$L/notes.txt"
	printf 'old archived\n' >"$L/archive/2020.log"
	printf 'old system\n' >"$L/system/nginx.log"
	printf 'fresh system\n' >"$L/system/worker.log"
	old "$L/app.log" "$L/app.log.1" "$L/app.log.2.gz" "$L/notes.txt" "$L/archive/2020.log" \
		"$L/system/nginx.log" "$L/archive" "$L/system"
}

# ---- the basic selection, dry run first ----
make_logs
before=$(tree_sums "$L")
run "$OPSCTL" --output json cleanup logs --dry-run
expect_rc 0 "cleanup logs --dry-run exits 0"
expect_json_true 'd["dry_run"] is True and d["files"] == 5 and d["size_bytes"] == 8+8+11+13+11' \
	"dry run counts the 5 old logs and their bytes"
expect_json_true 'sorted(x["path"].rsplit("/logs/",1)[1] for x in d["would_remove"]) == ["app.log", "app.log.1", "app.log.2.gz", "archive/2020.log", "system/nginx.log"]' \
	"dry run lists exactly the old logs"
expect_json_true '[(t["type"], t["files"]) for t in d["types"]] == [("application", 4), ("system", 1)]' \
	"counts per type: application 4, system 1"
if [ "$(tree_sums "$L")" = "$before" ]; then ok "dry run removes nothing"; else not_ok "dry run removes nothing"; fi

journal_mark
run "$OPSCTL" cleanup logs -t application
expect_rc 0 "cleanup logs -t application (no terminal: no question) exits 0"
expect_gone "the old application logs are gone" "$L/app.log" "$L/app.log.1" "$L/app.log.2.gz" "$L/archive/2020.log"
expect_kept "fresh logs, other names and the system type stay" "$L/current.log" "$L/notes.txt" "$L/system/nginx.log" "$L/system/worker.log"
expect_journal_added 1 "one journal line"
expect_journal_last 'j["command"] == "cleanup logs" and j["figures"]["opsctl_cleanup_files_removed"] == 4 and j["figures"]["opsctl_cleanup_bytes_removed"] == 40' \
	"the journal has the files and bytes removed"
if grep -q "^opsctl_cleanup_files_removed{task=\"cleanup_logs\",target=\"$L\"} 4" "$OPSCTL_STATE_DIR/opsctl.prom"; then
	ok "the textfile has opsctl_cleanup_files_removed for task cleanup_logs"
else not_ok "the textfile has opsctl_cleanup_files_removed for task cleanup_logs"; grep cleanup "$OPSCTL_STATE_DIR/opsctl.prom" | sed 's/^/#   /'; fi
if grep -q '^# HELP opsctl_cleanup_bytes_removed Bytes' "$OPSCTL_STATE_DIR/opsctl.prom"; then
	ok "the figures have their own HELP"; else not_ok "the figures have their own HELP"; fi
run "$OPSCTL" -q cleanup logs -t system
expect_rc 0 "cleanup logs -q -t system exits 0"
expect_out_empty "-q prints nothing"
expect_gone "the old system log is gone" "$L/system/nginx.log"
expect_kept "the fresh system log stays" "$L/system/worker.log"

# ---- links: a link to /etc goes as a name, /etc stays byte-identical ----
make_logs
mkdir -p "$T/outside"
printf 'precious\n' >"$T/outside/victim.log"
old "$T/outside/victim.log"
ln -s /etc "$L/etc.log"
ln -s "$T/outside/victim.log" "$L/victim.log"
ln -s /etc "$L/system"/etc-dir
old "$L/etc.log" "$L/victim.log"
etc_before=$(tree_sums /etc | sha256sum)
out_before=$(tree_sums "$T/outside")
run "$OPSCTL" --output json cleanup logs -f
expect_rc 0 "cleanup over links exits 0"
expect_gone "the old links themselves go" "$L/etc.log" "$L/victim.log"
if [ "$(tree_sums /etc | sha256sum)" = "$etc_before" ]; then ok "/etc is byte-identical"; else not_ok "/etc is byte-identical"; fi
if [ "$(tree_sums "$T/outside")" = "$out_before" ]; then ok "a link's target outside the tree is byte-identical"; else not_ok "a link's target outside the tree is byte-identical"; fi
expect_kept "a link to a directory is never entered (and is no log name)" "$L/system/etc-dir"

# ---- a directory swapped for a link while the walks run ----
# A swapper turns $L/archive into a link to $T/bait and back as fast as it
# can while cleanups run; every old log in bait must stay.  (The
# deterministic form, a swap from the descend hook, is in test_walk.c.)
make_logs
mkdir -p "$T/bait"
for i in $(seq 1 50); do printf 'bait %s\n' "$i" >"$T/bait/b$i.log"; done
old "$T/bait"/*.log
for i in $(seq 1 200); do : >"$L/archive/a$i.log"; done
old "$L/archive"/*.log
bait_before=$(tree_sums "$T/bait")
cat >"$T/swap.sh" <<EOF
while :; do
	mv "$L/archive" "$L/archive.real" 2>/dev/null && ln -s "$T/bait" "$L/archive" 2>/dev/null
	rm -f "$L/archive" 2>/dev/null; mv "$L/archive.real" "$L/archive" 2>/dev/null
done
EOF
bg sh "$T/swap.sh"
swapper=$BG_PID
for i in $(seq 1 20); do
	# Each run enters archive/ again (emptied or not): the race is at the entry.
	"$OPSCTL" cleanup logs -f -t application >/dev/null 2>&1
done
bg_kill "$swapper"
[ -d "$L/archive.real" ] && { rm -f "$L/archive"; mv "$L/archive.real" "$L/archive"; }
if [ "$(tree_sums "$T/bait")" = "$bait_before" ]; then
	ok "20 cleanups racing a directory/link swapper never touch the link's target"
else not_ok "20 cleanups racing a directory/link swapper never touch the link's target"; ls "$T/bait" | wc -l | sed 's/^/#   bait files left: /'; fi

# ---- mount points are not crossed ----
if [ "$(id -u)" -ne 0 ]; then
	skip "mount points are not crossed (4 checks)" "needs root to mount"
elif ! unshare -m true 2>/dev/null; then
	skip "mount points are not crossed (4 checks)" "unshare -m is not permitted here"
else
	make_logs
	mkdir -p "$L/mnt" "$L/bound" "$T/bindsrc"
	printf 'bind source\n' >"$T/bindsrc/src.log"
	old "$T/bindsrc/src.log"
	bind_before=$(tree_sums "$T/bindsrc")
	RUN_CMD="unshare -m: tmpfs and bind mount inside the log tree, then cleanup logs"
	unshare -m sh -ec "mount --make-rprivate /
		mount -t tmpfs none '$L/mnt'
		printf 'in tmpfs\n' >'$L/mnt/t.log'; touch -d '40 days ago' '$L/mnt/t.log'
		mount --bind '$T/bindsrc' '$L/bound'
		'$OPSCTL' --output json cleanup logs -f >'$OUT'
		test -e '$L/mnt/t.log' && echo tmpfs-kept >'$T/mnt.result'" 2>"$ERR" </dev/null
	RC=$?
	expect_rc 0 "cleanup with a tmpfs and a bind mount in the tree exits 0"
	if [ -f "$T/mnt.result" ]; then ok "the old log on the tmpfs stays"; else not_ok "the old log on the tmpfs stays"; diag_run; fi
	if [ "$(tree_sums "$T/bindsrc")" = "$bind_before" ]; then ok "the bind-mounted directory's files are byte-identical"; else not_ok "the bind-mounted directory's files are byte-identical"; fi
	expect_json_true 'd["types"][0]["skipped_mounts"] == 2 and d["files"] == 5' \
		"both mount points are counted as skipped, the 5 real old logs removed"
fi

# ---- refused roots: exit 64 from -p, 78 from the configuration, nothing removed ----
make_logs
mkdir -p "$HOME/logs" "$OPSCTL_STATE_DIR/logs" "$T/backups/logs" "$T/precious"
for d in "$HOME" "$OPSCTL_STATE_DIR/logs" "$T/backups/logs" "$T/precious"; do
	printf 'keep\n' >"$d/keep.log"
	old "$d/keep.log"
done
cat >"$T/guarded.conf" <<EOF
[general]
protected_paths = $T/precious
[backup]
dir = $T/backups
[cleanup]
log_dir = $L
EOF
guarded_sums() { local d; for d in "$L" "$HOME" "$OPSCTL_STATE_DIR/logs" "$T/backups" "$T/precious"; do echo "== $d"; tree_sums "$d"; done; }
sums_before=$(guarded_sums)
for p in / "$HOME" /etc /etc/cron.d /usr /var "$OPSCTL_STATE_DIR" "$OPSCTL_STATE_DIR/logs" \
	"$T/backups/logs" "$T/precious" "$T/nosuch"; do
	run env OPSCTL_CONFIG="$T/guarded.conf" "$OPSCTL" cleanup logs -f -p "$p"
	expect_error 64 "cleanup logs -f -p ${p#"$T"/} is refused, exit 64" "'$p'"
done
run "$OPSCTL" cleanup logs -f -p ""
expect_error 64 "cleanup logs -p '' is refused, exit 64"
for p in / /etc "$T/precious"; do
	run env OPSCTL_CONFIG="$T/guarded.conf" OPSCTL_CLEANUP_LOG_DIR="$p" "$OPSCTL" cleanup logs -f
	expect_error 78 "cleanup.log_dir = ${p#"$T"/} is refused, exit 78" "cleanup.log_dir"
done
run env OPSCTL_CONFIG="$T/guarded.conf" OPSCTL_CLEANUP_SYSTEM_DIR=../precious "$OPSCTL" cleanup logs -f
expect_error 78 "a type directory with .. is refused, exit 78" "cleanup.system_dir"
ln -s "$T/precious" "$L/system2"
run env OPSCTL_CONFIG="$T/guarded.conf" OPSCTL_CLEANUP_SYSTEM_DIR=system2 "$OPSCTL" cleanup logs -f
expect_error 78 "a type directory that is a link to a protected path is refused, exit 78" "protected"
rm "$L/system2"
if [ "$(guarded_sums)" = "$sums_before" ]; then ok "no refused run removed anything"; else not_ok "no refused run removed anything"; diff <(echo "$sums_before") <(guarded_sums) | head | sed 's/^/#   /'; fi
run "$OPSCTL" --output json cleanup logs -f -p /
expect_rc 64 "a refusal in JSON: exit 64"
expect_json_true 'd["status"] == "failed" and d["exit_code"] == 64 and "refusing" in d["error"]' "and the envelope says why"
# Inside an accepted root, a protected path and the backup dir are never entered.
mkdir -p "$L/precious"
printf 'p\n' >"$L/precious/p.log"
old "$L/precious/p.log"
printf '[general]\nprotected_paths = %s\n' "$L/precious" >"$T/inner.conf"
cat "$T/opsctl.conf" >>"$T/inner.conf"
run env OPSCTL_CONFIG="$T/inner.conf" "$OPSCTL" --output json cleanup logs -f
expect_rc 0 "a protected path inside the root: exit 0"
expect_kept "its old log stays" "$L/precious/p.log"
expect_json_true 'any(s["reason"] == "protected path" for s in d["skipped"])' "and it is listed as skipped"

# ---- files open for writing stay ----
make_logs
printf 'busy\n' >"$L/busy.log"
printf 'read\n' >"$L/reader.log"
old "$L/busy.log" "$L/reader.log"
bg sh -c "exec 3>>'$L/busy.log' 4<'$L/reader.log'; exec sleep 60"
holder=$BG_PID
wait_for 5 sh -c "ls -l /proc/$holder/fd 2>/dev/null | grep -q busy.log"
run "$OPSCTL" --output json cleanup logs -f
expect_rc 0 "cleanup with a log held open for writing exits 0"
expect_kept "the log open for writing stays" "$L/busy.log"
expect_gone "a log open only for reading goes" "$L/reader.log"
expect_json_true 'd["skipped_open"] == 1 and any(s["path"].endswith("/busy.log") and s["reason"].startswith("open for writing by pid") for s in d["skipped"])' \
	"it is listed as skipped, open for writing, with the pid"
bg_kill "$holder"

# ---- odd names ----
make_logs
nl=$'new\nline.log'
names=("$nl" "with space.log" "-leading-dash.log" $'bad\xff\xfeutf8.log' "--.log")
for n in "${names[@]}"; do printf 'odd\n' >"$L/$n"; old "$L/$n"; done
run "$OPSCTL" --output json cleanup logs --dry-run
expect_json "the dry run with odd names is valid JSON"
if python3 - "$OUT" "$L" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
got = set()
for x in d["would_remove"]:
    raw = bytes.fromhex(x["path_hex"]) if "path_hex" in x else x["path"].encode()
    got.add(raw)
want = {(sys.argv[2] + "/").encode() + n for n in
        [b"new\nline.log", b"with space.log", b"-leading-dash.log", b"bad\xff\xfeutf8.log", b"--.log"]}
sys.exit(0 if want <= got and any("path_hex" in x for x in d["would_remove"]) else 1)
PY
then ok "every odd name comes out exact (path_hex for the one that is not UTF-8)"; else not_ok "every odd name comes out exact (path_hex for the one that is not UTF-8)"; diag_run; fi
run "$OPSCTL" cleanup logs --dry-run
expect_out_contains 'new\x0aline.log' "text output quotes a newline as \\x0a"
expect_out_contains 'bad\xff\xfeutf8.log' "and bytes that are not UTF-8 as \\xNN"
run "$OPSCTL" cleanup logs -f
expect_rc 0 "cleanup of odd names exits 0"
bad=""
for n in "${names[@]}"; do present "$L/$n" && bad="$bad [$n]"; done
if [ -z "$bad" ]; then ok "every odd name is removed"; else not_ok "every odd name is removed (left:$bad)"; fi

# ---- an unreadable subdirectory: reported, the rest cleaned ----
nobody_uid=$(id -u nobody 2>/dev/null)
nobody_gid=$(id -g nobody 2>/dev/null)
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null && [ -n "$nobody_uid" ]; then
	make_logs
	mkdir -p "$L/locked" "$T/nobody/state"
	printf 'x\n' >"$L/locked/hidden.log"
	old "$L/locked/hidden.log"
	chown -R "$nobody_uid:$nobody_gid" "$L" "$T/nobody"
	chown root:root "$L/locked"
	chmod 700 "$L/locked"
	chmod 755 "$T"
	chmod 644 "$OPSCTL_CONFIG"
	RUN_CMD="opsctl cleanup logs -f (as nobody)"
	env OPSCTL_STATE_DIR="$T/nobody/state" HOME="$T/nobody" \
		setpriv --reuid="$nobody_uid" --regid="$nobody_gid" --clear-groups \
		"$OPSCTL" --output json cleanup logs -f >"$OUT" 2>"$ERR" </dev/null
	RC=$?
	expect_fail 1 "an unreadable subdirectory: exit 1, named" "locked" "Permission denied"
	expect_json_true 'd["files"] == 5 and d["errors"] == 1 and any("locked" in p for p in d["problems"])' \
		"the problem is listed and the 5 other old logs are removed"
	expect_gone "the readable old logs are gone" "$L/app.log" "$L/system/nginx.log"
	expect_kept "the unreadable directory's file stays" "$L/locked/hidden.log"
	chown -R root:root "$L"
else
	not_ok "an unreadable subdirectory (needs root, setpriv and a user nobody)"
fi

# ---- the cap refuses the whole run ----
make_logs
before=$(tree_sums "$L")
run env OPSCTL_CLEANUP_MAX_FILES=4 "$OPSCTL" cleanup logs -f
expect_fail 1 "5 files over cleanup.max_files = 4: exit 1" "cleanup.max_files" "nothing was removed"
if [ "$(tree_sums "$L")" = "$before" ]; then ok "the refused run removed nothing"; else not_ok "the refused run removed nothing"; fi
run env OPSCTL_CLEANUP_MAX_BYTES=20 "$OPSCTL" cleanup logs -f
expect_fail 1 "51 bytes over cleanup.max_bytes = 20: exit 1" "cleanup.max_bytes"
run env OPSCTL_CLEANUP_MAX_FILES=4 "$OPSCTL" --output json cleanup logs --dry-run
expect_rc 0 "the dry run over the cap exits 0"
expect_json_true '"cleanup.max_files" in d["would_be_refused"] and d["files"] == 5' "and says the run would be refused"
if [ "$(tree_sums "$L")" = "$before" ]; then ok "still nothing removed"; else not_ok "still nothing removed"; fi

# ---- a terminal is asked; no is nothing removed and nothing recorded ----
if command -v script >/dev/null; then
	make_logs
	before=$(tree_sums "$L")
	journal_mark
	printf 'n\n' | script -qec "$OPSCTL cleanup logs" /dev/null >"$T/pty.out" 2>&1
	RC=$?
	if [ "$RC" -eq 1 ] && grep -q 'Remove 5 old files (51 B) under' "$T/pty.out" && grep -q 'cancelled' "$T/pty.out"; then
		ok "on a terminal it asks with the count and bytes; no is exit 1, cancelled"
	else not_ok "on a terminal it asks with the count and bytes; no is exit 1, cancelled (exit $RC)"; sed 's/^/#   /' "$T/pty.out"; fi
	if [ "$(tree_sums "$L")" = "$before" ]; then ok "no removed nothing"; else not_ok "no removed nothing"; fi
	expect_journal_added 0 "and recorded nothing"
	printf 'y\n' | script -qec "$OPSCTL cleanup logs" /dev/null >"$T/pty.out" 2>&1
	RC=$?
	if [ "$RC" -eq 0 ] && [ ! -e "$L/app.log" ]; then ok "yes removes"; else not_ok "yes removes (exit $RC)"; sed 's/^/#   /' "$T/pty.out"; fi
	make_logs
	script -qec "$OPSCTL cleanup logs --yes" /dev/null </dev/null >"$T/pty.out" 2>&1
	if [ ! -e "$L/app.log" ] && ! grep -q 'Remove' "$T/pty.out"; then ok "--yes answers without asking"; else not_ok "--yes answers without asking"; sed 's/^/#   /' "$T/pty.out"; fi
else
	skip "the terminal question (4 checks)" "no script(1)"
fi

# ---- SIGTERM mid-walk: what went is gone, the rest stays, the record says so ----
SIG="$T/sig"
mkdir -p "$SIG"
python3 - "$SIG" <<'PY'
import os, sys, time
old = time.time() - 40 * 86400
for d in range(40):
    os.makedirs(f"{sys.argv[1]}/d{d:02}")
    for i in range(1000):
        p = f"{sys.argv[1]}/d{d:02}/f{i:04}.log"
        open(p, "w").close()
        os.utime(p, (old, old))
open(f"{sys.argv[1]}/new.log", "w").close()
PY
sig_left() { find "$SIG" -name 'f*.log' | wc -l; }
journal_mark
OPSCTL_CLEANUP_MAX_FILES=0 "$OPSCTL" cleanup logs -p "$SIG" -t application -f >"$T/sig.out" 2>"$T/sig.err" &
SIGPID=$!
sig_started() { [ "$(sig_left)" -lt 39000 ]; }
wait_for 30 sig_started || diag "the run did not start removing"
kill -TERM $SIGPID
wait $SIGPID
RC=$?
left=$(sig_left)
if [ "$RC" = 143 ] && [ "$left" -gt 0 ] && [ "$left" -lt 40000 ]; then
	ok "SIGTERM mid-walk: exit 143, $((40000 - left)) removed, $left left"
else not_ok "SIGTERM mid-walk: exit 143 with part removed (exit $RC, $left of 40000 left)"; sed 's/^/#   /' "$T/sig.err"; fi
expect_journal_last "j['status'] == 'interrupted' and j['exit'] == 143 and j['figures'].get('opsctl_cleanup_files_removed') == $((40000 - left))" \
	"the journal says interrupted, with the files that did go"
if [ -f "$SIG/new.log" ]; then ok "SIGTERM: the new log is untouched"; else not_ok "SIGTERM: the new log is untouched"; fi
run env OPSCTL_CLEANUP_MAX_FILES=0 "$OPSCTL" cleanup logs -p "$SIG" -t application -f
if [ "$RC" = 0 ] && [ "$(sig_left)" = 0 ] && [ -f "$SIG/new.log" ]; then ok "the next run takes the lock and finishes the job"; else not_ok "the next run finishes the job"; diag_run; fi

# ---- cleanup temp: 24 hours, cache 7 days, empty directories ----
rm -rf "$TMPD"
mkdir -p "$TMPD/uploads/u1" "$TMPD/uploads/u2" "$TMPD/processing" "$TMPD/cache" "$TMPD/other"
printf 'a\n' >"$TMPD/uploads/u1/a.pdf"
printf 'b\n' >"$TMPD/uploads/u2/b.pdf"
printf 'p\n' >"$TMPD/processing/p.tmp"
printf 'c3\n' >"$TMPD/cache/c3"
printf 'c8\n' >"$TMPD/cache/c8"
printf 'o\n' >"$TMPD/other/o"
touch -d '2 days ago' "$TMPD/uploads/u1/a.pdf" "$TMPD/uploads/u1" "$TMPD/processing/p.tmp" "$TMPD/other/o"
touch -d '3 days ago' "$TMPD/cache/c3"
touch -d '8 days ago' "$TMPD/cache/c8"
run "$OPSCTL" --output json cleanup temp
expect_rc 0 "cleanup temp exits 0"
expect_gone "uploads and processing files older than a day go, and the emptied old upload directory" \
	"$TMPD/uploads/u1/a.pdf" "$TMPD/processing/p.tmp" "$TMPD/cache/c8" "$TMPD/uploads/u1"
expect_kept "fresh uploads, cache younger than 7 days and other directories stay" \
	"$TMPD/uploads/u2/b.pdf" "$TMPD/cache/c3" "$TMPD/other/o" "$TMPD/uploads" "$TMPD/cache"
expect_json_true '[(t["type"], t["days"], t["files"]) for t in d["types"]] == [("uploads", 1, 1), ("processing", 1, 1), ("cache", 7, 1), ("scratch", 1, 0), ("pycache", 0, 0)] and d["directories"] == 1' \
	"per type: uploads 1 day, processing 1 day, cache 7 days, scratch 1 day, pycache any age; one directory"
run "$OPSCTL" cleanup temp -d 2 -t cache -f
expect_rc 0 "cleanup temp -d 2 -t cache exits 0"
expect_gone "-d applies to the cache too" "$TMPD/cache/c3"
run "$OPSCTL" cleanup temp -t nosuch
expect_error 64 "an unknown type is a usage error" "nosuch"

done_testing
