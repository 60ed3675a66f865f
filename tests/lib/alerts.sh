# Helpers of the alert tests (t705, t710, and health -n), sourced after common.sh.
#
#   expect_alert_fail N DESC SUBSTRING...
#       a run whose channel failed: exit N, exactly one "opsctl: error: " line
#       on stderr containing every substring, the only other lines being
#       warnings about alerts (the dispatcher's "alert to CHANNEL not
#       delivered: ...", core/http's "alerts CHANNEL ...: failed after 1
#       retry") and a hint; a partial report on stdout is allowed.
#   am_start WEBHOOK_URL
#       a real Alertmanager (Debian's prometheus-alertmanager) on a loopback
#       port, its storage in $T/am, no gossip, routing every alert at once to
#       WEBHOOK_URL (resolved ones too); bails out unless it becomes ready.
#       Sets AM (its base URL), AM_PORT, AM_LOG, AM_VERSION.
#   am_get PATH            its answer to GET PATH on stdout, or failure
#   received STATUS        its count of alerts received with STATUS (firing, resolved)
#   listed FILTER...       the alerts it lists matching the filters, as JSON

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

am_start() {
	local bin=/usr/bin/prometheus-alertmanager
	[ -x "$bin" ] || bail_out "prometheus-alertmanager is installed (scripts/setup)"
	AM_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	AM="http://127.0.0.1:$AM_PORT"
	mkdir -p "$T/am"
	cat >"$T/am/alertmanager.yml" <<EOF
route:
  receiver: peer
  group_by: [alertname, test_id]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: peer
    webhook_configs:
      - url: $1
        send_resolved: true
EOF
	bg "$bin" --config.file="$T/am/alertmanager.yml" --storage.path="$T/am/data" \
		--web.listen-address="127.0.0.1:$AM_PORT" --cluster.listen-address= --log.level=warn
	AM_LOG=$BG_LOG
	AM_VERSION=$("$bin" --version 2>&1 | awk 'NR == 1 { print $3 }')
	wait_for 30 am_get /-/ready || { sed 's/^/#   /' "$AM_LOG"; bail_out "Alertmanager starts"; }
}
am_get() {
	python3 -c '
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=5) as f:
    sys.stdout.write(f.read().decode())
' "$AM$1"
}
received() {
	am_get /metrics | awk -v s="$1" '$1 ~ "^alertmanager_alerts_received_total\\{status=\"" s "\",version=\"v2\"\\}" { print $2 }'
}
listed() {
	local q="" f
	for f in "$@"; do q="$q&filter=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$f")"; done
	am_get "/api/v2/alerts?${q#&}"
}
