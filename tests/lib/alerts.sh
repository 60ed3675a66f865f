# Helpers of the alert tests (t705, t710, and health -n), sourced after common.sh.
#
#   expect_alert_fail N DESC SUBSTRING...
#       a run whose channel failed: exit N, exactly one "opsctl: error: " line
#       on stderr containing every substring, the only other lines being
#       warnings about alerts (the dispatcher's "alert to CHANNEL not
#       delivered: ...", core/http's "alerts CHANNEL ...: failed after 1
#       retry") and a hint; a partial report on stdout is allowed.

expect_alert_fail() {
	local want=$1 desc=$2 s bad="" line
	shift 2
	[ "$RC" -eq "$want" ] || bad="exit $RC, expected $want"
	line=$(grep '^opsctl: error: ' "$ERR")
	[ "$(grep -c '^opsctl: error: ' "$ERR")" -eq 1 ] || bad="${bad:+$bad; }not one error line"
	[ -z "$(grep -v -e '^opsctl: error: ' -e '^opsctl: warning: alert to [a-z]* not delivered: ' \
		-e '^opsctl: warning: alerts [a-z]* ' \
		-e '^hint: ' "$ERR")" ] || bad="${bad:+$bad; }other lines on stderr"
	for s in "$@"; do
		grep -qiF -- "$s" <<<"$line" || bad="${bad:+$bad; }the error lacks '$s'"
	done
	if [ -z "$bad" ]; then ok "$desc"; else not_ok "$desc ($bad)"; diag_run; fi
	printf '%s\n' "$line" >>"$T/error-lines"
}
