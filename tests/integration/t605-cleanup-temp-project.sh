#!/usr/bin/env bash
# t605: cleanup temp's scratch and pycache types, guide 003's
# weekly_cleanup.sh in the project directory:
#     find . -name "*.tmp" -mtime +1 -delete
#     find . -name "__pycache__" -type d -exec rm -rf {} +
# as `opsctl cleanup temp -p DIR -t scratch,pycache`.  Old *.tmp files go
# anywhere in the tree, new ones stay; every __pycache__ goes whole whatever
# its age, its parents stay; no other directory goes, a .pyc outside a
# __pycache__ stays, a file open for writing keeps its __pycache__, a link
# inside one goes as a name.  And -p is one target and one lock however it
# is typed (relative, absolute, with a trailing slash).
. "$(dirname "$0")/../lib/common.sh"

P="$T/proj"
# The directory as the runner names it (T may sit behind a symlink).
real() { python3 -c 'import os, sys; print(os.path.realpath(sys.argv[1]))' "$1"; }

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
tree_list() { (cd "$1" && find . | sort); }

# The project tree: scratch files old and new, __pycache__ at three depths
# (one holding a directory of its own), a .pyc outside any __pycache__, an
# empty directory, a __pycache__ with a link to /etc.
make_project() {
	rm -rf "$P"
	mkdir -p "$P/src/deep" "$P/__pycache__" "$P/pkg/__pycache__/nested" \
		"$P/pkg/sub/mod/__pycache__" "$P/emptydir" "$P/links/__pycache__" "$P/busy/__pycache__"
	printf 'old scratch\n' >"$P/old.tmp"
	printf 'new scratch\n' >"$P/new.tmp"
	printf 'deep\n' >"$P/src/deep/old2.tmp"
	printf 'not scratch\n' >"$P/src/notes.txt"
	printf 'a\n' >"$P/__pycache__/app.cpython-311.pyc"
	printf 'b\n' >"$P/pkg/__pycache__/b.cpython-311.pyc"
	printf 'd\n' >"$P/pkg/__pycache__/nested/d.pyc"
	printf 'c\n' >"$P/pkg/sub/mod/__pycache__/c.cpython-311.pyc"
	printf 'x\n' >"$P/pkg/sub/mod/x.pyc"
	printf 'py\n' >"$P/pkg/sub/mod/x.py"
	printf 'held\n' >"$P/busy/__pycache__/held.pyc"
	ln -s /etc "$P/links/__pycache__/etc"
	touch -d '3 days ago' "$P/old.tmp" "$P/src/deep/old2.tmp" "$P/src/notes.txt" \
		"$P/pkg/sub/mod/x.pyc" "$P/pkg/sub/mod/__pycache__/c.cpython-311.pyc" \
		"$P/pkg/sub/mod/__pycache__" "$P/emptydir"
	touch -h -d '3 days ago' "$P/links/__pycache__/etc"
}

# ---- the dry run counts and lists, removes nothing ----
make_project
bg sh -c "exec 3>>'$P/busy/__pycache__/held.pyc'; exec sleep 60"
holder=$BG_PID
wait_for 5 sh -c "ls -l /proc/$holder/fd 2>/dev/null | grep -q held.pyc"
before=$(tree_list "$P")
run "$OPSCTL" --output json cleanup temp -p "$P" -t scratch,pycache --dry-run
expect_rc 0 "cleanup temp -t scratch,pycache --dry-run exits 0"
expect_json_true '[t["type"] for t in d["types"]] == ["scratch", "pycache"]' \
	"the JSON lists the two types chosen, in order"
expect_json_true 'find(d["types"], "type", "scratch")["files"] == 2 and find(d["types"], "type", "scratch")["directories"] == 0 and find(d["types"], "type", "scratch")["days"] == 1' \
	"scratch: 2 old *.tmp files, no directory, 1 day"
expect_json_true 'find(d["types"], "type", "pycache")["files"] == 5 and find(d["types"], "type", "pycache")["directories"] == 5 and find(d["types"], "type", "pycache")["days"] == 0' \
	"pycache: 5 entries and 5 __pycache__ directories (the one with a file open for writing not counted), any age"
expect_json_true 'sorted(x["path"].split("/proj/",1)[1] for x in d["would_remove"]) == ["__pycache__/app.cpython-311.pyc", "links/__pycache__/etc", "old.tmp", "pkg/__pycache__/b.cpython-311.pyc", "pkg/__pycache__/nested/d.pyc", "pkg/sub/mod/__pycache__/c.cpython-311.pyc", "src/deep/old2.tmp"]' \
	"would_remove lists exactly the old *.tmp files and what is inside the __pycache__ directories"
expect_json_true 'any(s["path"].endswith("/busy/__pycache__/held.pyc") and s["reason"].startswith("open for writing") for s in d["skipped"])' \
	"the .pyc open for writing is listed as skipped"
if [ "$(tree_list "$P")" = "$before" ]; then ok "the dry run removes nothing"; else not_ok "the dry run removes nothing"; fi
run "$OPSCTL" cleanup temp -p "$P" -t scratch,pycache --dry-run
expect_rc 0 "the text dry run exits 0"
expect_out_contains "$P/links/__pycache__/etc" "the text dry run names the entries"

# ---- -t scratch only ----
run "$OPSCTL" --output json cleanup temp -p "$P" -t scratch
expect_rc 0 "cleanup temp -t scratch exits 0"
expect_gone "old *.tmp files go, at the root and deep below it" "$P/old.tmp" "$P/src/deep/old2.tmp"
expect_kept "a new *.tmp, other old names and every __pycache__ stay" "$P/new.tmp" "$P/src/notes.txt" \
	"$P/__pycache__/app.cpython-311.pyc" "$P/pkg/sub/mod/__pycache__/c.cpython-311.pyc"
expect_kept "scratch removes no directory, even one it emptied" "$P/src/deep"
expect_json_true '[t["type"] for t in d["types"]] == ["scratch"] and d["files"] == 2 and d["directories"] == 0' \
	"the JSON has only scratch, 2 files"

# ---- -t pycache only ----
etc_before=$(cd /etc && find . -xdev -printf '%p %y %s %T@\n' 2>/dev/null | sort | sha256sum)
run "$OPSCTL" --output json cleanup temp -p "$P" -t pycache
expect_rc 0 "cleanup temp -t pycache exits 0"
expect_gone "every __pycache__ goes whole, at three depths, fresh or old, with a directory inside" \
	"$P/__pycache__" "$P/pkg/__pycache__" "$P/pkg/sub/mod/__pycache__"
expect_kept "their parents stay" "$P/pkg" "$P/pkg/sub/mod" "$P/pkg/sub/mod/x.py"
expect_kept "a .pyc outside a __pycache__ stays (by directory, not by *.pyc)" "$P/pkg/sub/mod/x.pyc"
expect_kept "an empty directory of another name stays, and so does a scratch one" "$P/emptydir" "$P/src/deep"
expect_kept "a file open for writing stays, and so does its __pycache__" "$P/busy/__pycache__/held.pyc"
expect_kept "the new *.tmp is not pycache's" "$P/new.tmp"
expect_gone "a link to /etc inside a __pycache__ goes as a name, and its directory with it" \
	"$P/links/__pycache__/etc" "$P/links/__pycache__"
if [ -d /etc ] && [ "$(cd /etc && find . -xdev -printf '%p %y %s %T@\n' 2>/dev/null | sort | sha256sum)" = "$etc_before" ]; then
	ok "/etc is untouched"; else not_ok "/etc is untouched"; fi
expect_json_true '[t["type"] for t in d["types"]] == ["pycache"] and d["files"] == 5 and d["directories"] == 5 and d["skipped_open"] == 1' \
	"the JSON has only pycache: 5 entries, 5 directories, 1 skipped open"
bg_kill "$holder"
run "$OPSCTL" cleanup temp -p "$P" -t pycache
expect_rc 0 "once the writer is gone, cleanup temp -t pycache exits 0"
expect_gone "and its __pycache__ goes" "$P/busy/__pycache__"
expect_kept "its parent stays" "$P/busy"

# ---- -t all includes both; the guide's types still mean what they meant ----
make_project
mkdir -p "$P/uploads/__pycache__" "$P/cache"
printf 'u\n' >"$P/uploads/__pycache__/u.pyc"
printf 'u\n' >"$P/uploads/fresh.pdf"
printf 'c\n' >"$P/cache/c.tmp"
touch -d '3 days ago' "$P/cache/c.tmp"
run "$OPSCTL" --output json cleanup temp -p "$P"
expect_rc 0 "cleanup temp (all) on the project exits 0"
expect_json_true '[t["type"] for t in d["types"]] == ["uploads", "processing", "cache", "scratch", "pycache"]' \
	"-t all is uploads, processing, cache, scratch and pycache"
expect_gone "all: the old *.tmp and the __pycache__ go" "$P/old.tmp" "$P/pkg/__pycache__"
expect_kept "another type's directory is left to that type (a fresh upload, its __pycache__)" \
	"$P/uploads/fresh.pdf" "$P/uploads/__pycache__/u.pyc"
expect_kept "a cache file 3 days old stays under cache's 7 days, *.tmp or not" "$P/cache/c.tmp"

# ---- the ages: cleanup.pycache_age, -d, cleanup.scratch_patterns ----
make_project
run env OPSCTL_CLEANUP_PYCACHE_AGE=2d "$OPSCTL" cleanup temp -p "$P" -t pycache
expect_rc 0 "cleanup.pycache_age = 2d exits 0"
expect_gone "an old __pycache__ goes" "$P/pkg/sub/mod/__pycache__"
expect_kept "a fresh one stays" "$P/pkg/__pycache__/b.cpython-311.pyc" "$P/__pycache__"
run "$OPSCTL" cleanup temp -p "$P" -t pycache -d 1
expect_rc 0 "-t pycache -d 1 exits 0"
expect_kept "-d applies to pycache too: a fresh one stays" "$P/__pycache__/app.cpython-311.pyc"
make_project
printf 'bak\n' >"$P/src/old.bak"
touch -d '3 days ago' "$P/src/old.bak"
run env OPSCTL_CLEANUP_SCRATCH_PATTERNS='*.tmp,*.bak' "$OPSCTL" cleanup temp -p "$P" -t scratch
expect_rc 0 "cleanup.scratch_patterns = *.tmp,*.bak exits 0"
expect_gone "the configured patterns are scratch" "$P/src/old.bak" "$P/old.tmp"
run "$OPSCTL" cleanup temp -p "$P" -t scratch,nosuch
expect_error 64 "an unknown type is a usage error naming the types" "nosuch" "scratch" "pycache"

# ---- -p relative or absolute: one target in the journal, one lock ----
# (-t uploads: the target is the runner's, whatever the type)
make_project
cd "$T" || bail_out "cd $T"
journal_mark
run "$OPSCTL" cleanup temp -p proj -t uploads
expect_rc 0 "cleanup temp -p proj (relative) exits 0"
run "$OPSCTL" cleanup temp -p "$P/" -t uploads
expect_rc 0 "cleanup temp -p $P/ (absolute, trailing slash) exits 0"
run "$OPSCTL" cleanup temp -p ./proj/../proj -t uploads
expect_rc 0 "cleanup temp -p ./proj/../proj exits 0"
expect_journal_added 3 "three journal lines"
RP=$(real "$P")
if python3 - "$OPSCTL_STATE_DIR/journal.jsonl" "$RP" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]).read().splitlines()[-3:]]
sys.exit(0 if [l.get("target") for l in lines] == [sys.argv[2]] * 3 else 1)
PY
then ok "the three runs have one target, the absolute directory"; else
	not_ok "the three runs have one target, the absolute directory"; tail -n 3 "$OPSCTL_STATE_DIR/journal.jsonl" | sed 's/^/#   /'; fi
n=$(grep -c "^opsctl_last_success_timestamp_seconds{task=\"cleanup_temp\"" "$OPSCTL_STATE_DIR/opsctl.prom")
if [ "$n" = 1 ] && grep -qF "opsctl_last_success_timestamp_seconds{task=\"cleanup_temp\",target=\"$RP\"}" "$OPSCTL_STATE_DIR/opsctl.prom"; then
	ok "and one metrics series"; else not_ok "and one metrics series ($n)"; grep cleanup_temp "$OPSCTL_STATE_DIR/opsctl.prom" | sed 's/^/#   /'; fi
expect_lock_file cleanup_temp "$RP" "one lock file for the directory"
bg flock "$LOCK_FILE" sleep 60
locker=$BG_PID
locked() { ! flock -n "$LOCK_FILE" true; }
wait_for 10 locked || not_ok "flock(1) holds the cleanup_temp lock"
run "$OPSCTL" cleanup temp -p proj -t uploads
expect_fail 75 "while the directory's lock is held, -p proj (relative) exits 75" "already running"
run "$OPSCTL" cleanup temp -p "$P" -t uploads
expect_fail 75 "and -p with the absolute path exits 75 too" "already running"
bg_kill "$locker"
run "$OPSCTL" cleanup temp -p proj -t uploads
expect_rc 0 "once it is free, the run goes ahead"

# ---- make demo shows it ----
if missing=$(missing_tool sqlite3); then
	skip "the demo's cleanup temp step (3 checks)" "$missing not installed"
else
	run env -u OPSCTL_STATE_DIR "$ROOT/scripts/demo" "$T/demo"
	expect_rc 0 "scripts/demo exits 0"
	expect_out_contains "opsctl cleanup temp -p $T/demo/app -t scratch,pycache" "the demo runs guide 003's weekly cleanup as cleanup temp"
	if [ ! -e "$T/demo/app/export.tmp" ] && [ ! -e "$T/demo/app/search/__pycache__" ] &&
		[ -f "$T/demo/app/today.tmp" ] && [ -f "$T/demo/app/search/index.py" ] &&
		grep -q '"command":"cleanup temp".*"opsctl_cleanup_files_removed":2' "$T/demo/state/journal.jsonl"; then
		ok "it removes the old *.tmp and the __pycache__, keeps the rest, and journals 2 files"
	else not_ok "it removes the old *.tmp and the __pycache__, keeps the rest, and journals 2 files"; diag_run; fi
fi

# ---- the documentation says it ----
run "$OPSCTL" cleanup temp --help
if tr -s ' \n' ' ' <"$OUT" | grep -qF -- "--type TYPE file types to clean: a comma list of uploads,processing,cache,scratch,pycache,all (default: all)"; then
	ok "--help lists the -t values with scratch and pycache"; else not_ok "--help lists the -t values with scratch and pycache"; diag_run; fi
if grep -q 'a comma list of uploads,processing,cache,scratch,pycache,all' "$ROOT/man/opsctl-cleanup-temp.1"; then
	ok "and so does the man page"; else not_ok "and so does the man page"; fi
if grep -q 'scratch' "$ROOT/completions/opsctl.bash" && grep -q 'pycache' "$ROOT/completions/_opsctl" &&
	grep -q 'pycache' "$ROOT/completions/opsctl.fish"; then
	ok "bash, zsh and fish complete scratch and pycache"; else not_ok "bash, zsh and fish complete scratch and pycache"; fi
if grep -q 'scratch,pycache' "$ROOT/man/opsctl-cleanup-temp.1" && grep -q 'weekly_cleanup' "$ROOT/man/opsctl-cleanup-temp.1"; then
	ok "the man page gives guide 003's weekly_cleanup as cleanup temp -t scratch,pycache"; else
	not_ok "the man page gives guide 003's weekly_cleanup as cleanup temp -t scratch,pycache"; fi
if grep -q 'cleanup temp -p /opt/app -t scratch,pycache' "$ROOT/README.md" && grep -q 'weekly_cleanup' "$ROOT/README.md"; then
	ok "the README gives it too"; else not_ok "the README gives it too"; fi
if grep -q '^\.B pycache_age' "$ROOT/man/opsctl.conf.5" && grep -q '^\.B scratch_patterns' "$ROOT/man/opsctl.conf.5"; then
	ok "opsctl.conf(5) documents the new keys"; else not_ok "opsctl.conf(5) documents the new keys"; fi

done_testing
