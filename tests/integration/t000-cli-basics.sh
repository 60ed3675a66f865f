#!/usr/bin/env bash
# t000: the command line itself: --version, --help, dispatch, usage errors
# (exit 64, one line on stderr, nothing on stdout, "did you mean"), and the
# stdout check (a full disk or closed stdout is never a silent success).
. "$(dirname "$0")/../lib/common.sh"
. "$ROOT/tests/lib/pg.sh"

run "$OPSCTL" --version
expect_rc 0 "--version exits 0"
if [ "$(head -n 1 "$OUT")" = "opsctl 0.1.0" ]; then ok "--version begins 'opsctl 0.1.0'"; else not_ok "--version begins 'opsctl 0.1.0'"; diag_run; fi
expect_err_empty "--version writes nothing on stderr"
# As curl -V: the libraries with their versions, and the features.
missing=""
for lib in libpq SQLite OpenSSL libcurl libarchive zstd FAISS; do
	grep -qE "^ +$lib +[^ ]" "$OUT" || missing="$missing $lib"
done
if [ -z "$missing" ]; then ok "--version lists each library with its version"; else not_ok "--version lists each library with its version (missing:$missing)"; diag_run; fi
if grep -qE '^ +libpq +[0-9]+\.[0-9]+ +run time$' "$OUT" && grep -qE '^ +SQLite +3\.[0-9.]+ +run time$' "$OUT"; then
	ok "--version reads libpq's and SQLite's versions at run time"
else not_ok "--version reads libpq's and SQLite's versions at run time"; diag_run; fi
if grep -qE '^ +libcurl +[0-9.]+ +build$' "$OUT" && grep -qE '^ +FAISS .*loaded on first use$' "$OUT"; then
	ok "--version names the lazily loaded libraries' build versions without loading them"
else not_ok "--version names the lazily loaded libraries' build versions without loading them"; diag_run; fi
expect_out_contains "features:" "--version lists the features"
run "$OPSCTL" -v --version
if grep -qE '^ +libcurl +[0-9.]+ +run time$' "$OUT" && grep -qE '^ +zstd +[0-9]+\.[0-9.]+ +run time$' "$OUT"; then
	ok "-v --version loads libcurl and libarchive and reads their versions (zstd's through libarchive)"
else not_ok "-v --version loads libcurl and libarchive and reads their versions"; diag_run; fi
run "$OPSCTL" --output json --version
expect_json_true 'd["version"] == "0.1.0" and {"name", "version", "source"} <= set(d["libraries"][0]) and "SQLite" in [l["name"] for l in d["libraries"]] and "S3 (AWS SigV4)" in d["features"]' \
	"--output json --version: version, libraries and features"
run "$OPSCTL" -V
if [ "$RC" -eq 0 ] && [ "$(head -n 1 "$OUT")" = "opsctl 0.1.0" ]; then ok "-V is --version"; else not_ok "-V is --version"; diag_run; fi
run "$OPSCTL" version
if [ "$RC" -eq 0 ] && [ "$(head -n 1 "$OUT")" = "opsctl 0.1.0" ] && grep -q "libraries:" "$OUT"; then
	ok "'opsctl version' is --version"; else not_ok "'opsctl version' is --version"; diag_run; fi
run "$OPSCTL" version --output json
expect_json_true 'd["version"] == "0.1.0"' "'opsctl version --output json' prints the JSON object"

run "$OPSCTL" --help
expect_rc 0 "--help exits 0"
expect_out_contains "usage: opsctl" "--help shows the usage line"
expect_out_contains "db" "--help lists the db command"
expect_out_contains "--config" "--help lists the global options"

run "$OPSCTL"
expect_rc 64 "no command is a usage error"
expect_out_empty "no command: help goes to stderr, not stdout"

run "$OPSCTL" db --help
expect_rc 0 "db --help exits 0"
for sub in maintain vacuum analyze reindex connections bloat slow-queries config health size integrity content-check migrate; do
	grep -qE "^ +$sub " "$OUT" || missing_sub="${missing_sub:-} $sub"
done
if [ -z "${missing_sub:-}" ]; then ok "db --help lists every db subcommand"; else not_ok "db --help lists every db subcommand (missing:$missing_sub)"; diag_run; fi

subs=$(sed -n '/^commands:/,/^$/p' "$OUT" | awk 'NR > 1 && /^    [a-z]/ { print $1 }')  # a wrapped summary's lines are indented further
bad=""
for sub in $subs; do
	run "$OPSCTL" db "$sub" --help
	if [ "$RC" -ne 0 ] || ! head -n 1 "$OUT" | grep -q "^usage: opsctl db $sub"; then bad="$bad $sub"; fi
	run "$OPSCTL" db "$sub" -h
	[ "$RC" -eq 0 ] || bad="$bad $sub(-h)"
done
if [ -n "$subs" ] && [ -z "$bad" ]; then ok "every 'db SUB --help' and -h exits 0 with a usage line"; else not_ok "every 'db SUB --help' exits 0 with a usage line (bad:${bad:- no subcommands parsed})"; fi

# ---- help: each default once, the configuration key apart, 80 columns off a terminal ----
run "$OPSCTL" db connections --help
expect_rc 0 "db connections --help exits 0"
if tr -s ' \n' ' ' <"$OUT" | grep -qF "(default: 1h; config: db.idle_timeout)"; then
	ok "--idle-for names its default once and its configuration key apart"
else
	not_ok "--idle-for names its default once and its configuration key apart"; diag_run
fi
if [ "$(grep -c 'default' "$OUT")" -eq "$(grep -o 'default: ' "$OUT" | wc -l)" ] && ! grep -q 'default db\.' "$OUT"; then
	ok "no option repeats a default in its own words"
else
	not_ok "no option repeats a default in its own words"; diag_run
fi
wide=""
for cmd in "db connections" "backup create" "vector backup" "vector rebuild" "db migrate"; do
	# shellcheck disable=SC2086
	# A path or digest longer than the width stands alone on its line, never cut.
	"$OPSCTL" $cmd --help | awk -v c="$cmd" 'length > 80 && NF > 1 { print c ": " $0 }' >>"$T/wide"
done
wide=$(cat "$T/wide")
if [ -z "$wide" ]; then ok "help is wrapped to 80 columns off a terminal"; else not_ok "help is wrapped to 80 columns off a terminal"; diag "$wide"; fi
# $COLUMNS, when set, is the width (as argparse and less read it).
: >"$T/wide"
for cmd in "db connections" "backup create" "vector backup" "db migrate" "completion" ""; do
	# shellcheck disable=SC2086
	COLUMNS=60 "$OPSCTL" $cmd --help | awk -v c="$cmd" 'length > 60 && NF > 1 { print c ": " $0 }' >>"$T/wide"
done
wide=$(cat "$T/wide")
if [ -z "$wide" ]; then ok "help is wrapped to \$COLUMNS (60)"; else not_ok "help is wrapped to \$COLUMNS (60)"; diag "$wide"; fi
# A leaf's --help ends with its examples; a long command is continued with
# a backslash, so that it still pastes into a shell whole.
run "$OPSCTL" db migrate --help
expect_out_contains "examples:" "a leaf's --help shows its examples"
if sed -n '/^examples:/,/^$/p' "$OUT" | grep -v '^examples:' | tr -d '\n' | sed 's/ \\ */ /g' |
	grep -qF 'opsctl db migrate 2.1 --dir /opt/rag-interface/deployment/database/migrations'; then
	ok "a long example command is continued with a backslash, not cut"
else not_ok "a long example command is continued with a backslash, not cut"; diag_run; fi
# completion --help says where to put the script for each shell.
run "$OPSCTL" completion --help
for want in "/usr/share/bash-completion/completions/opsctl" "~/.config/fish/completions/opsctl.fish" \
	'"${fpath[1]}/_opsctl"'; do
	expect_out_contains "$want" "completion --help says how to install: $want"
done
run "$OPSCTL" db size --ouput json
expect_error 64 "a misspelt global option after the command gets its suggestion" "did you mean '--output'"

# ---- usage errors ----
run "$OPSCTL" dbb
expect_error 64 "unknown command: exit 64, one line" "unknown command 'dbb'"
if [ "$(cat "$ERR")" = "opsctl: error: unknown command 'dbb' (did you mean 'db'?)" ]; then
	ok "unknown command: exactly \"opsctl: error: unknown command 'dbb' (did you mean 'db'?)\""
else
	not_ok "unknown command: exact message with the suggestion on the same line"; diag_run
fi

run "$OPSCTL" xyzzyq
expect_error 64 "far-off unknown command: exit 64, one line" "'xyzzyq'"
if grep -q "did you mean" "$ERR"; then not_ok "no suggestion for a far-off command"; diag_run; else ok "no suggestion for a far-off command"; fi

run "$OPSCTL" db maintian
expect_error 64 "unknown db subcommand suggests the near miss" "maintian" "did you mean" "maintain"

run "$OPSCTL" db
expect_rc 64 "'db' without a subcommand is a usage error"
expect_out_empty "'db' without a subcommand prints nothing on stdout"

run "$OPSCTL" db maintain --bogus
expect_error 64 "unknown option: exit 64, one line naming it" "'--bogus'"

run "$OPSCTL" db maintain --task vacuum
expect_error 64 "near-miss option suggests --tasks" "'--task'" "--tasks"

run "$OPSCTL" db maintain -t vacum
expect_error 64 "bad option value names it and suggests the allowed one" "'vacum'" "vacuum"

run "$OPSCTL" db maintain --tasks=vacuum,bogus
expect_error 64 "one bad element of a list value" "'bogus'"

run "$OPSCTL" db maintain -t
expect_error 64 "option without its value" "-t"

run "$OPSCTL" db vacuum -j 0
expect_error 64 "-j 0 is out of range"

run "$OPSCTL" db bloat --limit abc
expect_error 64 "--limit abc is not a number" "limit"

run "$OPSCTL" db maintain --verbose=yes
expect_error 64 "a flag given a value" "verbose"

run "$OPSCTL" --output yaml db size
expect_error 64 "--output yaml: exit 64 naming 'yaml'" "'yaml'"

run "$OPSCTL" -o json db size
expect_rc 0 "-o json is --output json (health-check.sh's spelling)"
expect_json_true 'd["command"] == "db size" and d["status"] == "ok"' "-o json prints the envelope"

run "$OPSCTL" --env qa db size
expect_error 64 "--env qa: exit 64 naming 'qa'" "'qa'"

run "$OPSCTL" db size extra-arg
expect_error 64 "db size takes no positional argument" "extra-arg"

run "$OPSCTL" db migrate
expect_error 64 "db migrate without VERSION" "VERSION"

run "$OPSCTL" help dbb
expect_error 64 "help for an unknown command" "dbb"

run "$OPSCTL" db size --help extra
expect_rc 0 "--help wins over other arguments"

# ---- output: text, JSON, quiet, and stdout that cannot be written ----
sqlite_make_sample_db "$T/kh.db"
run "$OPSCTL" db size -d "sqlite:$T/kh.db"
expect_rc 0 "db size on a SQLite file"
expect_out_contains "content" "db size lists the content table"

run "$OPSCTL" --output json db size -d "sqlite:$T/kh.db"
expect_rc 0 "--output json db size exits 0"
expect_json "--output json prints one JSON document"
expect_json_true 'd["command"] == "db size" and d["status"] == "ok"' "JSON has command 'db size' and status ok"
expect_json_true 'len(d["databases"]) == 1 and db(0)["engine"] == "sqlite"' "JSON databases[0].engine is sqlite"
expect_json_true 'list(d.keys())[:2] == ["command", "status"]' "JSON begins with command and status"

run "$OPSCTL" -q db size -d "sqlite:$T/kh.db"
expect_rc 0 "-q db size exits 0"
expect_out_empty "-q prints nothing in text mode"
run "$OPSCTL" -q db size -d "sqlite:$T/missing.db"
if [ "$RC" -ne 0 ] && [ ! -s "$OUT" ] && [ "$(wc -l <"$ERR")" -eq 1 ]; then ok "-q still reports an error on stderr"; else not_ok "-q still reports an error on stderr"; diag_run; fi
run "$OPSCTL" --quiet --output json db size -d "sqlite:$T/kh.db"
expect_json "--quiet does not silence --output json"

RUN_CMD="opsctl db size -d sqlite:kh.db >/dev/full"
"$OPSCTL" db size -d "sqlite:$T/kh.db" >/dev/full 2>"$ERR"
RC=$?
: >"$OUT"
expect_rc 74 "stdout on a full disk (/dev/full): exit 74"
expect_err_contains "write error on standard output: No space left on device" "stdout full: stderr says 'write error' and why"
expect_err_one_line "stdout full: one line on stderr"

RUN_CMD="opsctl --output json db size -d sqlite:kh.db >/dev/full"
"$OPSCTL" --output json db size -d "sqlite:$T/kh.db" >/dev/full 2>"$ERR"
RC=$?
expect_rc 74 "JSON to a full disk: exit 74"
expect_err_contains "write error on standard output: No space left on device" "JSON to a full disk: the reason"

RUN_CMD="opsctl db size -d sqlite:kh.db,sqlite:kh.db >/dev/full"
"$OPSCTL" db size -d "sqlite:$T/kh.db,sqlite:$T/kh.db" >/dev/full 2>"$ERR"
RC=$?
expect_rc 74 "two databases to a full disk: exit 74"
expect_err_contains "write error on standard output: No space left on device" "two databases to a full disk: the first write's reason, not a stale errno"

RUN_CMD="opsctl --version >&-"
"$OPSCTL" --version >&- 2>"$ERR"
RC=$?
if [ "$RC" -ne 0 ]; then ok "--version with stdout closed exits non-zero ($RC)"; else not_ok "--version with stdout closed exits non-zero"; diag_run; fi

RUN_CMD="opsctl --help >/dev/full"
"$OPSCTL" --help >/dev/full 2>"$ERR"
RC=$?
if [ "$RC" -ne 0 ]; then ok "--help to a full disk exits non-zero ($RC)"; else not_ok "--help to a full disk exits non-zero"; diag_run; fi

# Start-up stays light: libarchive, libcurl and FAISS are loaded only by the
# commands that use them (lib/core/lazylib.c, the FAISS plugin).
loaded=$(LD_DEBUG=libs "$OPSCTL" --version 2>&1 >/dev/null | grep -oE 'calling init: [^ ]*(libarchive|libcurl|libfaiss|opsctl-faiss|libopenblas|libgomp)[^ ]*' | sort -u)
if [ -z "$loaded" ]; then ok "opsctl --version loads neither libarchive, libcurl nor FAISS"; else not_ok "opsctl --version loads neither libarchive, libcurl nor FAISS"; diag "$loaded"; fi

done_testing
