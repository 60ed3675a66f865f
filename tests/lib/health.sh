# Helpers for the `opsctl health` tests (t7xx), sourced after common.sh.
#
#   expect_health RC STATE DESC [SUBSTRING...]
#       the last `run` exited RC and stdout's first line is the plugin status
#       line "OPSCTL HEALTH STATE - ..." containing every SUBSTRING
#   expect_perf REGEX DESC
#       the status line's perfdata (after " | ") matches the extended REGEX

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
