#!/usr/bin/env bash
# t605: cleanup temp on a project directory: -p is one target and one lock
# however it is typed (relative, absolute, with a trailing slash).
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

# ---- the documentation says it ----
run "$OPSCTL" cleanup temp --help
if tr -s ' \n' ' ' <"$OUT" | grep -qF -- "--type TYPE file types to clean: a comma list of uploads,processing,cache,all (default: all)"; then
	ok "--help lists the -t values, from the option's row"; else not_ok "--help lists the -t values, from the option's row"; diag_run; fi
if grep -q 'a comma list of uploads,processing,cache,all' "$ROOT/man/opsctl-cleanup-temp.1"; then
	ok "and so does the man page"; else not_ok "and so does the man page"; fi

done_testing
