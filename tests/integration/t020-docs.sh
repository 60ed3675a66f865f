#!/usr/bin/env bash
# t020: man pages and shell completions, generated from the option tables,
# are present, lint clean, current, and agree with --help.
. "$(dirname "$0")/../lib/common.sh"

# Render a man page as plain text (no overstrike, no hyphenation).
render() { mandoc -T ascii -O width=200 "$1" 2>/dev/null | sed 's/.\x08//g'; }

# A page per command and per leaf (git's git-commit-graph(1) way): the leaves
# that `opsctl __complete commands` lists, and each top-level command.
pages="man/opsctl.1 man/opsctl.conf.5"
for leaf in $("$OPSCTL" __complete commands | tr ' ' '-'); do pages="$pages man/opsctl-$leaf.1"; done
for top in $("$OPSCTL" __complete commands | awk '{ print $1 }' | sort -u); do
	case " $pages " in *" man/opsctl-$top.1 "*) ;; *) pages="$pages man/opsctl-$top.1" ;; esac
done
for page in $pages; do
	if [ ! -f "$ROOT/$page" ]; then
		not_ok "$page exists"
		continue
	fi
	lint=$(mandoc -Tlint -W warning "$ROOT/$page" 2>&1)
	st=$?
	if [ "$st" -eq 0 ] && [ -z "$lint" ]; then ok "$page exists and mandoc -Tlint -W warning is clean"; else
		not_ok "mandoc -Tlint -W warning $page is clean (exit $st)"; diag "$lint"
	fi
done

# The generator removes the page of a command that no longer exists, and
# nothing else.
mkdir -p "$T/man"
touch "$T/man/opsctl-gone.1" "$T/man/opsctl-db-gone.1" "$T/man/other.1"
"$OPSCTL" __gen man "$T/man"
if [ ! -e "$T/man/opsctl-gone.1" ] && [ ! -e "$T/man/opsctl-db-gone.1" ] && [ -e "$T/man/other.1" ] &&
	[ -e "$T/man/opsctl-db-vacuum.1" ] && cmp -s "$T/man/opsctl-db-vacuum.1" "$ROOT/man/opsctl-db-vacuum.1"; then
	ok "__gen man removes stale opsctl-*.1 pages, keeps the rest"
else not_ok "__gen man removes stale opsctl-*.1 pages, keeps the rest"; ls "$T/man" | head | sed 's/^/#   /'; fi
if [ "$(ls "$ROOT/man" | grep -c '^opsctl-')" -eq "$(ls "$T/man" | grep -c '^opsctl-')" ]; then
	ok "man/ holds exactly the generated pages"
else not_ok "man/ holds exactly the generated pages"; fi

# Quotes: `opsctl backup` becomes \(oq...\(cq, never \(oq on both sides.
bad=$(cd "$ROOT/man" && for f in *; do
	o=$(grep -o '\\(oq' "$f" | wc -l) c=$(grep -o '\\(cq' "$f" | wc -l)
	[ "$o" -eq "$c" ] || echo "$f: $o opening, $c closing"
done)
if [ -z "$bad" ]; then ok "every opening quote in the man pages is closed with \\(cq"
else not_ok "every opening quote in the man pages is closed with \\(cq"; diag "$bad"; fi
# SEE ALSO of opsctl(1) and opsctl.conf(5) name every top-level page.
for page in opsctl.1 opsctl.conf.5; do
	see=$(sed -n '/^\.SH SEE ALSO/,$p' "$ROOT/man/$page")
	missing=""
	for top in $("$OPSCTL" __complete commands | awk '{ print $1 }' | sort -u) help completion; do
		grep -qF ".BR opsctl\\-$top (1)" <<<"$see" || missing="$missing $top"
	done
	if [ -z "$missing" ]; then ok "SEE ALSO of $page names every command's page"
	else not_ok "SEE ALSO of $page names every command's page (missing:$missing)"; fi
done
see=$(sed -n '/^\.SH SEE ALSO/,$p' "$ROOT/man/opsctl-db.1")
if grep -qF '.BR opsctl\-db\-vacuum (1)' <<<"$see" && grep -qF '.BR opsctl\-db\-maintain (1)' <<<"$see"; then
	ok "SEE ALSO of opsctl-db(1) names its leaf pages"
else not_ok "SEE ALSO of opsctl-db(1) names its leaf pages"; fi
# opsctl.conf(5): each [section] once; environment lists read "A, B".
dups=$(grep '^\.SS \[' "$ROOT/man/opsctl.conf.5" | sort | uniq -d)
if [ -z "$dups" ]; then ok "opsctl.conf(5) has each section once"; else not_ok "opsctl.conf(5) has each section once (twice: $dups)"; fi
if grep -qF 'OPSCTL_ENV, ENVIRONMENT' "$ROOT/man/opsctl.conf.5" && grep -qF 'OPSCTL_ENV, ENVIRONMENT' "$ROOT/man/opsctl.1" &&
	! grep -E '^(Environment: |\.B )[A-Z_]+,[A-Z]' "$ROOT/man/opsctl.conf.5" "$ROOT/man/opsctl.1"; then
	ok "environment variable lists are written 'A, B'"
else not_ok "environment variable lists are written 'A, B'"; fi
# Exit statuses: the README's table and opsctl(1) list the same codes.
readme=$(sed -n '/^### Exit status/,/^## /p' "$ROOT/README.md" | grep -oE '^\| [0-9]+' | tr -d '| ' | sort -n | tr '\n' ' ')
man=$(sed -n '/^\.SH EXIT STATUS/,/^\.SH /p' "$ROOT/man/opsctl.1" | grep -A1 '^\.TP' | grep -oE '^\.B [0-9]+' | tr -d '.B ' | sort -n | tr '\n' ' ')
if [ -n "$man" ] && [ "$readme" = "$man" ]; then ok "README and opsctl(1) document the same exit statuses ($man)"
else not_ok "README and opsctl(1) document the same exit statuses (README: $readme; opsctl(1): $man)"; fi

# Every long option that --help prints is documented in the man page.
check_help_in_man() {	# check_help_in_man PAGE DESC CMD...
	local page=$1 desc=$2 text opt missing=""
	shift 2
	run "$@" --help
	if [ "$RC" -ne 0 ]; then not_ok "$desc (--help exit $RC)"; diag_run; return; fi
	text=$(render "$ROOT/$page")
	for opt in $(grep -oE -- '--[a-z][a-z0-9-]*' "$OUT" | sort -u); do
		[ "$opt" = "--help" ] && continue
		grep -qF -- "$opt" <<<"$text" || missing="$missing $opt"
	done
	if [ -z "$missing" ]; then ok "$desc"; else not_ok "$desc (missing:$missing)"; fi
}
if [ -f "$ROOT/man/opsctl.1" ]; then
	check_help_in_man man/opsctl.1 "every global option of 'opsctl --help' is in opsctl(1)" "$OPSCTL"
fi
if [ -f "$ROOT/man/opsctl-db.1" ]; then
	run "$OPSCTL" db --help
	subs=$(sed -n '/^commands:/,/^$/p' "$OUT" | awk 'NR > 1 && /^    [a-z]/ { print $1 }')  # a wrapped summary's lines are indented further
	[ -n "$subs" ] || not_ok "db --help lists subcommands"
	dbtext=$(render "$ROOT/man/opsctl-db.1")
	for sub in $subs; do
		check_help_in_man man/opsctl-db.1 "every option of 'db $sub --help' is in opsctl-db(1)" "$OPSCTL" db "$sub"
		if grep -qE "db $sub" <<<"$dbtext"; then ok "opsctl-db(1) has a section for 'db $sub'"; else not_ok "opsctl-db(1) has a section for 'db $sub'"; fi
	done
fi
if [ -f "$ROOT/man/opsctl.1" ]; then
	text=$(render "$ROOT/man/opsctl.1")
	missing=""
	for code in 64 65 69 74 75 77 78; do
		grep -qwF "$code" <<<"$text" || missing="$missing $code"
	done
	if [ -z "$missing" ]; then ok "opsctl(1) documents exit statuses 64 65 69 74 75 77 78"; else not_ok "opsctl(1) documents every exit status (missing:$missing)"; fi
fi
if [ -f "$ROOT/man/opsctl.conf.5" ]; then
	text=$(render "$ROOT/man/opsctl.conf.5")
	missing=""
	for key in $(grep -oE '^KEY\("[a-z_]+\.[a-z_]+"' "$ROOT/lib/core/config_keys.def" | sed 's/^KEY("//; s/"$//'); do
		short=${key#*.}
		grep -qF -- "$key" <<<"$text" || grep -qwF -- "$short" <<<"$text" || missing="$missing $key"
	done
	if [ -z "$missing" ]; then ok "every key of lib/core/config_keys.def is in opsctl.conf(5)"; else not_ok "every configuration key is in opsctl.conf(5) (missing:$missing)"; fi
fi

# `opsctl help db` shows the man page.
if missing=$(missing_tool man mandoc); then
	skip "opsctl help db shows the manual" "$missing not installed"
else
	run "$OPSCTL" help db
	expect_rc 0 "opsctl help db exits 0"
	expect_out_contains "maintain" "opsctl help db shows the page that describes maintain"
	run "$OPSCTL" help db vacuum
	expect_rc 0 "opsctl help db vacuum exits 0"
	expect_out_contains "opsctl-db-vacuum" "opsctl help db vacuum shows opsctl-db-vacuum(1)"
	run "$OPSCTL" help completion
	expect_rc 0 "opsctl help completion exits 0"
	expect_out_contains "opsctl-completion" "opsctl help completion shows opsctl-completion(1)"
	for word in opsctl.conf conf; do
		run "$OPSCTL" help "$word"
		expect_rc 0 "opsctl help $word exits 0"
		expect_out_contains "OPSCTL.CONF(5)" "opsctl help $word shows opsctl.conf(5)"
	done
	run "$OPSCTL" help db vacum
	expect_error 64 "help for a misspelt subcommand suggests it" "'db vacum'" "did you mean 'db vacuum'"
	run "$OPSCTL" help status x
	expect_error 64 "help for a subcommand of a leaf" "'status' has no subcommands"
fi

# ---- the textfile's HELP lines ----
# Every figure a task reports has its own HELP in lib/run/figures.def (the
# fixed families are metrics.c's own; opsctl_schema_migrations is a table;
# opsctl_faiss_* are the FAISS plugin's symbols).
fixed=$(grep -oE '^	\{"opsctl_[a-z0-9_]+"' "$ROOT/lib/run/metrics.c" | tr -d '\t{"' | tr '\n' ' ')
missing=""
for name in $(grep -rhoE '"opsctl_[a-z0-9_]+"' "$ROOT/lib" "$ROOT/cmd" | tr -d '"' | sort -u); do
	case " $fixed opsctl_schema_migrations " in *" $name "*) continue ;; esac
	case $name in opsctl_faiss_*) continue ;; esac
	grep -qF "FIGURE(\"$name\"," "$ROOT/lib/run/figures.def" || missing="$missing $name"
done
if [ -n "$fixed" ] && [ -z "$missing" ]; then ok "every figure written to the textfile has its HELP in lib/run/figures.def"
else not_ok "every figure written to the textfile has its HELP in lib/run/figures.def (missing:$missing)"; fi

# ---- completions ----
for pair in bash:completions/opsctl.bash zsh:completions/_opsctl fish:completions/opsctl.fish; do
	shell=${pair%%:*} file=${pair#*:}
	run "$OPSCTL" completion "$shell"
	expect_rc 0 "opsctl completion $shell exits 0"
	if [ -f "$ROOT/$file" ] && cmp -s "$OUT" "$ROOT/$file"; then
		ok "$file is current (same as 'opsctl completion $shell')"
	else
		not_ok "$file is current (same as 'opsctl completion $shell')"
		[ -f "$ROOT/$file" ] && diff "$ROOT/$file" "$OUT" | head -n 10 | sed 's/^/#     /'
	fi
done
run "$OPSCTL" completion tcsh
expect_error 64 "completion for an unknown shell is a usage error" "tcsh"

if [ -f "$ROOT/completions/_opsctl" ] && command -v zsh >/dev/null; then
	if lint=$(zsh -n "$ROOT/completions/_opsctl" 2>&1); then ok "zsh -n completions/_opsctl parses"; else not_ok "zsh -n completions/_opsctl parses"; diag "$lint"; fi
	# Run the completion function with zsh's completion builtins replaced by
	# printers, so what it would offer can be read (compsys needs a terminal).
	zout=$(zsh -f -c '
		compadd() { print -r -- "compadd: $*"; }
		compset() { :; }
		_describe() { print -l -- "${(@P)4}"; }
		compdef() { :; }
		source "$1"
		words=(opsctl db m); CURRENT=3; _opsctl
		words=(opsctl db maintain -t ""); CURRENT=5; _opsctl
		words=(opsctl --output ""); CURRENT=3; _opsctl
	' zsh "$ROOT/completions/_opsctl" 2>&1)
	if grep -q '^maintain:' <<<"$zout" && grep -q '^migrate:' <<<"$zout"; then
		ok "zsh completion of 'opsctl db m' offers maintain and migrate"
	else
		not_ok "zsh completion of 'opsctl db m' offers maintain and migrate"; diag "$zout"
	fi
	if grep -q 'compadd: .*vacuum analyze reindex all' <<<"$zout" && grep -q 'compadd: -- text json' <<<"$zout"; then
		ok "zsh completion offers option values (-t, --output)"
	else
		not_ok "zsh completion offers option values (-t, --output)"; diag "$zout"
	fi
else
	skip "zsh -n completions/_opsctl parses" "zsh or the file missing"
fi
if [ -f "$ROOT/completions/opsctl.fish" ] && command -v fish >/dev/null; then
	if lint=$(fish -n "$ROOT/completions/opsctl.fish" 2>&1); then ok "fish -n completions/opsctl.fish parses"; else not_ok "fish -n completions/opsctl.fish parses"; diag "$lint"; fi
	fout=$(fish -c "source '$ROOT/completions/opsctl.fish'; complete -C 'opsctl db m'; complete -C 'opsctl db maintain --tasks vacuum,'" 2>&1)
	if grep -q '^maintain' <<<"$fout" && grep -q '^migrate' <<<"$fout" && grep -q '^vacuum,analyze' <<<"$fout"; then
		ok "fish completion offers maintain, migrate and task lists"
	else
		not_ok "fish completion offers maintain, migrate and task lists"; diag "$fout"
	fi
	# A value is described by the metavar, not by the option's whole sentence.
	fout=$(fish -c "source '$ROOT/completions/opsctl.fish'; complete -C 'opsctl --output '; complete -C 'opsctl --outp'" 2>&1)
	if grep -qx $'json\tFORMAT' <<<"$fout" && grep -qx $'text\tFORMAT' <<<"$fout" &&
		grep -q $'^--output\twrite results' <<<"$fout"; then
		ok "fish: enum values without the option's description, the option with it"
	else
		not_ok "fish: enum values without the option's description, the option with it"; diag "$fout"
	fi
else
	skip "fish -n completions/opsctl.fish parses" "fish or the file missing"
fi
if [ -f "$ROOT/completions/opsctl.bash" ]; then
	if lint=$(bash -n "$ROOT/completions/opsctl.bash" 2>&1); then ok "bash -n completions/opsctl.bash parses"; else not_ok "bash -n completions/opsctl.bash parses"; diag "$lint"; fi
fi

# Bash completion, as bash-completion drives it: COMP_WORDS/COMP_CWORD, the
# function that `complete -p opsctl` names, then COMPREPLY.
complete_bash() {	# complete_bash WORD...: prints COMPREPLY, one per line
	PATH="$ROOT:$PATH" bash --norc --noprofile -c '
		[ -f /usr/share/bash-completion/bash_completion ] && . /usr/share/bash-completion/bash_completion
		. "$1/completions/opsctl.bash" || exit 2
		shift
		spec=$(complete -p opsctl 2>/dev/null) || exit 3
		fn=$(sed -n "s/.*-F \([^ ]*\).*/\1/p" <<<"$spec")
		[ -n "$fn" ] || exit 4
		COMP_WORDS=("$@")
		COMP_CWORD=$(($# - 1))
		COMP_LINE="$*"
		COMP_POINT=${#COMP_LINE}
		"$fn" opsctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
		printf "%s\n" "${COMPREPLY[@]}"
	' complete_bash "$ROOT" "$@"
}
expect_completion() {	# expect_completion DESC "EXPECTED..." WORD...
	local desc=$1 want=$2 got w missing=""
	shift 2
	got=$(complete_bash "$@" 2>&1; echo "rc=$?")
	for w in $want; do
		grep -qxF -- "$w" <<<"$got" || grep -qxF -- "$w " <<<"$got" || grep -qxF -- "$w=" <<<"$got" || missing="$missing $w"
	done
	if [ -z "$missing" ]; then ok "$desc"; else not_ok "$desc (missing:$missing)"; diag "$got"; fi
}
if [ -f "$ROOT/completions/opsctl.bash" ]; then
	expect_completion "bash completes 'opsctl db m' to maintain and migrate" "maintain migrate" opsctl db m
	got=$(complete_bash opsctl db m 2>&1)
	if grep -qvE '^(maintain|migrate) ?$' <<<"$got"; then not_ok "'opsctl db m' offers nothing but maintain and migrate"; diag "$got"; else ok "'opsctl db m' offers nothing but maintain and migrate"; fi
	expect_completion "bash completes 'opsctl d' to db" "db" opsctl d
	expect_completion "bash completes 'db maintain --t' to --tasks" "--tasks" opsctl db maintain --t
	expect_completion "bash completes the values of -t" "vacuum analyze reindex all" opsctl db maintain -t ""
	expect_completion "bash completes the values of --output" "text json" opsctl --output ""
	expect_completion "bash completes the options of db vacuum" "--full --force --jobs --table --no-analyze --dry-run" opsctl db vacuum --
else
	not_ok "completions/opsctl.bash exists"
fi

# ---- values known at run time, in all three shells ----
# A store with two backups, a SQLite file and a directory beside other
# files, and configured tables, all found through `opsctl __complete KIND`.
mkdir -p "$T/cw/dir"
sqlite3 "$T/cw/hub.db" "CREATE TABLE content (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO content (body) VALUES ('a');"
touch "$T/cw/notes.txt"
cat >"$T/cw/opsctl.conf" <<EOF
[db]
databases = chatbot_db
reindex_tables = documents, audit_log
content_table = articles
[backup]
databases = sqlite:$T/cw/hub.db
EOF
for i in 1 2; do "$OPSCTL" --config "$T/cw/opsctl.conf" backup --type full >/dev/null 2>&1; done
ids=$("$OPSCTL" --config "$T/cw/opsctl.conf" __complete backups)
if [ "$(wc -l <<<"$ids")" -eq 2 ] && grep -qE '^[0-9]{8}T[0-9]{6}Z-full' <<<"$ids"; then
	ok "__complete backups lists the store's two backup ids"
else not_ok "__complete backups lists the store's two backup ids"; diag "$ids"; fi
id1=$(head -n 1 <<<"$ids")
id2=$(tail -n 1 <<<"$ids")
tables=$("$OPSCTL" --config "$T/cw/opsctl.conf" __complete tables | tr '\n' ' ')
if [ "$tables" = "documents audit_log articles document_chunks " ]; then
	ok "__complete tables lists the configured tables, each once"
else not_ok "__complete tables lists the configured tables, each once"; diag "$tables"; fi
run "$OPSCTL" __complete nosuchkind
if [ "$RC" -eq 0 ] && [ ! -s "$OUT" ]; then ok "__complete of an unknown kind prints nothing, exit 0"
else not_ok "__complete of an unknown kind prints nothing, exit 0"; diag_run; fi

# expect_offers SHELL DESC "WANTED..." "UNWANTED..." < candidates, one a
# line (a tab and a description may follow each)
expect_offers() {
	local sh=$1 desc=$2 want=$3 unwanted=$4 got w bad=""
	got=$(cut -f1 | sed 's/ *$//')
	for w in $want; do grep -qxF -- "$w" <<<"$got" || bad="$bad missing $w;"; done
	for w in $unwanted; do grep -qxF -- "$w" <<<"$got" && bad="$bad offers $w;"; done
	if [ -z "$bad" ]; then ok "$sh: $desc"; else not_ok "$sh: $desc ($bad)"; diag "$got"; fi
}
# `complete_SHELL ... | expect_offers ...`: the check must count in this shell.
shopt -s lastpipe
cd "$T/cw" || bail_out "cd $T/cw"
export OPSCTL_CONFIG="$T/cw/opsctl.conf"
if [ -f "$ROOT/completions/opsctl.bash" ]; then
	complete_bash opsctl backup -- | expect_offers bash "'backup --' offers create's options" \
		"--type --retention --s3 --no-compress --verify --help" ""
	complete_bash opsctl backup --type "" | expect_offers bash "'backup --type' offers create's types" "full wal all" ""
	complete_bash opsctl backup --type=w | expect_offers bash "'backup --type=w' offers wal" "wal" ""
	complete_bash opsctl backup "" | expect_offers bash "'backup' still offers its subcommands" "create list restore" ""
	complete_bash opsctl db maintain -t vacuum, | expect_offers bash "'-t vacuum,' offers the other tasks only" \
		"vacuum,analyze vacuum,reindex" "vacuum,vacuum vacuum,all"
	complete_bash opsctl db maintain --tasks=vacuum,analyze, | expect_offers bash "'--tasks=vacuum,analyze,' offers reindex only" \
		"vacuum,analyze,reindex" "vacuum,analyze,vacuum vacuum,analyze,analyze vacuum,analyze,all"
	complete_bash opsctl db maintain -t all, | expect_offers bash "'-t all,' offers nothing" "" "all,vacuum all,all"
	complete_bash opsctl backup restore "" | expect_offers bash "'backup restore' offers latest and the backup ids" "latest $id1 $id2" ""
	complete_bash opsctl backup pin "" | expect_offers bash "'backup pin' offers latest and the backup ids" "latest $id1 $id2" ""
	complete_bash opsctl backup verify -b "" | expect_offers bash "'backup verify -b' offers latest and the backup ids" "latest $id1 $id2" ""
	complete_bash opsctl backup verify --backup-id= | expect_offers bash "'backup verify --backup-id=' offers the backup ids" "latest $id1" ""
	complete_bash opsctl db size -d "" | expect_offers bash "'-d' offers database names, *.db files and directories" \
		"chatbot_db hub.db dir" "notes.txt opsctl.conf"
	complete_bash opsctl db vacuum --table "" | expect_offers bash "'--table' offers the configured tables" "documents audit_log articles" ""
	complete_bash opsctl db vacuum --table documents, | expect_offers bash "'--table documents,' offers the other tables" \
		"documents,audit_log" "documents,documents"
	complete_bash opsctl db content-check --table "" | expect_offers bash "content-check's '--table' offers the configured tables" "articles" ""
fi

if [ -f "$ROOT/completions/_opsctl" ] && command -v zsh >/dev/null; then
	# compsys needs a terminal; its builtins are replaced by printers that
	# do what they would (compset -P moves the matched prefix to IPREFIX).
	complete_zsh() {	# complete_zsh WORD...: prints what would be offered
		PATH="$ROOT:$PATH" zsh -f -c '
			compadd() {
				local -a a
				a=("$@")
				while (( $#a )) && [[ $a[1] == -* && $a[1] != -- ]]; do
					[[ $a[1] == -[SPJ] ]] && shift a
					shift a
				done
				[[ $a[1] == -- ]] && shift a
				(( $#a )) && print -rl -- "${(@)a/#/$IPREFIX}"
			}
			compset() {
				local m
				[[ $1 == -P ]] || return 1
				m=${(M)PREFIX##${~2}}
				[[ -n $m ]] || return 1
				IPREFIX+=$m
				PREFIX=${PREFIX#$m}
			}
			_describe() { print -rl -- "${(@P)4}" | sed "s/:.*//"; }
			_files() {
				local f
				for f in ${PREFIX}*(N/); do print -r -- "$IPREFIX$f/"; done
				[[ $* == *.db* ]] && for f in ${PREFIX}*.db(N.); do print -r -- "$IPREFIX$f"; done
			}
			compdef() { :; }
			source "$1"; shift
			words=("$@"); CURRENT=$#; PREFIX=${words[CURRENT]}; IPREFIX=
			_opsctl
		' complete_zsh "$ROOT/completions/_opsctl" "$@" 2>&1
	}
	complete_zsh opsctl backup -- | expect_offers zsh "'backup --' offers create's options" "--type --retention --s3 --verify" ""
	complete_zsh opsctl backup --type "" | expect_offers zsh "'backup --type' offers create's types" "full wal all" ""
	complete_zsh opsctl db maintain -t vacuum, | expect_offers zsh "'-t vacuum,' offers the other tasks only" \
		"vacuum,analyze vacuum,reindex" "vacuum,vacuum vacuum,all"
	complete_zsh opsctl db maintain --tasks=all, | expect_offers zsh "'--tasks=all,' offers nothing" "" "--tasks=all,vacuum all,vacuum"
	complete_zsh opsctl backup restore "" | expect_offers zsh "'backup restore' offers latest and the backup ids" "latest $id1 $id2" ""
	complete_zsh opsctl backup pin "" | expect_offers zsh "'backup pin' offers latest and the backup ids" "latest $id1 $id2" ""
	complete_zsh opsctl backup verify -b "" | expect_offers zsh "'backup verify -b' offers latest and the backup ids" "latest $id1 $id2" ""
	complete_zsh opsctl db size -d "" | expect_offers zsh "'-d' offers database names, *.db files and directories" \
		"chatbot_db hub.db dir/" "notes.txt"
	complete_zsh opsctl db size -d sqlite:h | expect_offers zsh "'-d sqlite:h' offers sqlite:hub.db" "sqlite:hub.db" ""
	complete_zsh opsctl db vacuum --table documents, | expect_offers zsh "'--table documents,' offers the other tables" \
		"documents,audit_log documents,articles" "documents,documents"
fi

if [ -f "$ROOT/completions/opsctl.fish" ] && command -v fish >/dev/null; then
	complete_fish() {	# complete_fish LINE: what fish offers, "value<TAB>description"
		PATH="$ROOT:$PATH" fish -c "source '$ROOT/completions/opsctl.fish'; complete -C '$1'" </dev/null 2>&1
	}
	complete_fish "opsctl backup --" | expect_offers fish "'backup --' offers create's options" "--type --retention --s3 --verify" ""
	complete_fish "opsctl backup --type " | expect_offers fish "'backup --type' offers create's types" "full wal all" ""
	complete_fish "opsctl db maintain -t vacuum," | expect_offers fish "'-t vacuum,' offers the other tasks only" \
		"vacuum,analyze vacuum,reindex" "vacuum,vacuum vacuum,all"
	complete_fish "opsctl db maintain --tasks=all," | expect_offers fish "'--tasks=all,' offers nothing" "" "--tasks=all,vacuum"
	complete_fish "opsctl backup restore " | expect_offers fish "'backup restore' offers latest and the backup ids" "latest $id1 $id2" ""
	complete_fish "opsctl backup pin " | expect_offers fish "'backup pin' offers latest and the backup ids" "latest $id1 $id2" ""
	complete_fish "opsctl backup verify -b " | expect_offers fish "'backup verify -b' offers latest and the backup ids" "latest $id1 $id2" ""
	complete_fish "opsctl db size -d " | expect_offers fish "'-d' offers database names, *.db files and directories" \
		"chatbot_db hub.db dir/" "notes.txt"
	complete_fish "opsctl db vacuum --table documents," | expect_offers fish "'--table documents,' offers the other tables" \
		"documents,audit_log documents,articles" "documents,documents"
	# No value carries the option's sentence: each is labelled by a word.
	got=$(complete_fish "opsctl backup verify -b "; complete_fish "opsctl db size -d "; complete_fish "opsctl db maintain -t ")
	if grep -q $'\t.* ' <<<"$got"; then not_ok "fish: values are labelled by a word (ID, NAME, TASKS), not the option's help"; diag "$got"
	else ok "fish: values are labelled by a word (ID, NAME, TASKS), not the option's help"; fi
fi
unset OPSCTL_CONFIG
cd "$T" || bail_out "cd $T"

done_testing
