# Helpers for the `opsctl health` tests (t7xx), sourced after common.sh.
#
#   expect_health RC STATE DESC [SUBSTRING...]
#       the last `run` exited RC and stdout's first line is the plugin status
#       line "OPSCTL HEALTH STATE - ..." containing every SUBSTRING
#   expect_perf REGEX DESC
#       the status line's perfdata (after " | ") matches the extended REGEX
#   expect_perf_valid DESC
#       the status line has perfdata, and every item of it is
#       'label'=value[UOM];warn;crit;min;max as the plugin guidelines write it

expect_health() {
	local want=$1 state=$2 desc=$3 s bad="" line
	shift 3
	line=$(head -n 1 "$OUT")
	[ "$RC" -eq "$want" ] || bad="exit $RC, expected $want"
	case "$line" in
	"OPSCTL HEALTH $state - "*) ;;
	*) bad="${bad:+$bad; }status line is not 'OPSCTL HEALTH $state - ...'" ;;
	esac
	for s in "$@"; do
		grep -qF -- "$s" <<<"$line" || bad="${bad:+$bad; }status line lacks '$s'"
	done
	if [ -z "$bad" ]; then ok "$desc"; else not_ok "$desc ($bad)"; diag_run; fi
}

expect_perf() {
	local re=$1 perf
	shift
	perf=$(head -n 1 "$OUT" | sed -n 's/^[^|]* | //p')
	if grep -qE -- "$re" <<<"$perf"; then ok "$@"; else
		not_ok "$* (perfdata does not match $re)"
		diag "perfdata: $perf"
	fi
}

expect_perf_valid() {
	if head -n 1 "$OUT" | python3 -c '
import re, sys
line = sys.stdin.read().rstrip("\n")
if " | " not in line: sys.exit(1)
perf = line.split(" | ", 1)[1]
item = re.compile(r"^\x27[a-z0-9_.]+\x27=-?[0-9.]+(s|%|B|KB|MB|GB|TB|c)?(;(-?[0-9.]+:?)?){0,4}$")
items = perf.split(" ")
sys.exit(0 if items and all(item.match(i) for i in items) else 1)'; then
		ok "$@"
	else
		not_ok "$* (perfdata: $(head -n 1 "$OUT" | sed -n 's/^[^|]* | //p'))"
	fi
}
