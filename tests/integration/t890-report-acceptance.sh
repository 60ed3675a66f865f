#!/usr/bin/env bash
# t890: issue 16's acceptance for opsctl report.  A state directory holding 90
# days of history (written per the documented schema of history.db) and
# journal lines: api-server's memory leaks 8 MB a day (under 1% of it) under noise, worker's is
# steady under more noise (it must not be named), chatbot_db grows 1 GB a day
# on /data, which fills in 20 days, and three backups failed in the month.
# The report names the leak, the fill date within a day and the three
# failures, in text and in JSON.
. "$(dirname "$0")/../lib/common.sh"
tool=$(missing_tool python3 sqlite3) && bail_out "$tool (scripts/setup)"

export OPSCTL_CONFIG="$T/opsctl.conf"
printf '[report]\nhistory = false\n' >"$OPSCTL_CONFIG"	# only the planted history
mkdir -p "$OPSCTL_STATE_DIR"
NOW=$(date +%s)
python3 "$ROOT/tests/lib/report_history.py" "$OPSCTL_STATE_DIR" "$NOW" >"$T/expected"
FILL=$(sed -n 1p "$T/expected")
FAILS=$(sed -n 2p "$T/expected")
near_fill="abs((__import__('datetime').date.fromisoformat(e['fill_date']) - __import__('datetime').date.fromisoformat('$FILL')).days) <= 1"

# ---- JSON ----
run "$OPSCTL" --output json report
expect_rc 0 "a report with findings still exits 0"
expect_json "the envelope is JSON"
LEAK='[f for f in d["findings"] if f["kind"] == "leak"]'
expect_json_true "[f['subject'] for f in $LEAK] == ['api-server']" "the leak is named: api-server, and only it"
expect_json_true "not [f for f in d['findings'] if 'worker' in f['subject'] or 'worker' in f['text']]" "the steady, noisy worker is not named in any finding"
expect_json_true "find(d['trends'], 'name', 'worker')['verdict'] == 'steady'" "worker's verdict: steady"
expect_json_true "(lambda e: e['verdict'] == 'leak' and e['slope_ci95'][0] > 0 and 0.006 < e['relative_per_day'] < 0.012 and e['samples'] in (719, 720) and len(e['series']) <= 400)(find(d['trends'], 'name', 'api-server'))" "api-server: leak, interval above 0, 8 MB a day, ~0.8% of its month's mean, 30 days of hourly samples, series downsampled to 400 points at most"
expect_json_true "(lambda e: e is not None and $near_fill and 19 <= e['days_to_full'] <= 21 and abs(e['growth_per_day'] - 1e9) < 2e7)(find(d['capacity'], 'name', '/data'))" "/data fills on $FILL (within a day), in about 20 days, at 1 GB a day"
expect_json_true "[f['severity'] for f in d['findings'] if f['kind'] == 'disk_fill'] == ['warning']" "a disk full in 20 days is a warning (within report.fill_warn_days 30, beyond fill_critical_days 7)"
expect_json_true "(lambda e: abs(e['growth_per_day'] - 1e9) < 1e6 and e['fill_date'] is None)(find(d['capacity'], 'name', 'chatbot_db'))" "chatbot_db grows 1 GB a day"
B="find(d['tasks'], 'task', 'backup')"
expect_json_true "$B['runs'] == 30 and $B['failed'] == 3 and $B['ok'] == 27" "backup on chatbot_db: 30 runs in 30 days, 3 failed"
expect_json_true "sorted(f['time'] for f in $B['failures']) == '$FAILS'.split() and all('pg_dump: connection to server' in f['error'] for f in $B['failures'])" "the three failures, with their times and error lines"
expect_json_true "[f['subject'] for f in d['findings'] if f['kind'] == 'failures'] == ['backup chatbot_db']" "one failures finding for the backups"
expect_json_true "[f['subject'] for f in d['findings'] if f['kind'] == 'stale'] == ['vector rebuild /srv/index.faiss']" "the rebuild that stopped running is stale"
expect_json_true "d['period_days'] == 30 and d['since'].endswith('Z') and d['until'].endswith('Z')" "the period: 30 days, RFC 3339 UTC"
expect_json_true "find(d['trends'], 'name', 'chatbot_db')['verdict'] == 'steady'" "backup durations with noise and no drift: steady"

# ---- text ----
run "$OPSCTL" report
expect_rc 0 "text report"
expect_out_contains "api-server memory grows" "text: the leak's line names api-server"
expect_out_contains "a slow memory leak" "text: called a leak"
expect_out_not_contains "worker memory" "text: worker is not called anything"
expect_out_contains "($FILL)" "text: /data's fill date"
for f in $FAILS; do
	expect_out_contains "$f" "text: the failure at $f is listed"
done
expect_out_contains "failed 3 of 30 runs" "text: the failures finding counts them"
grep -q '^Findings$' "$OUT" && grep -q '^Tasks$' "$OUT" && grep -q '^Capacity$' "$OUT" && grep -q '^Trends$' "$OUT" && grep -q '^Logs$' "$OUT"
check $? "text: the five sections"

# ---- 90 days: every sample ----
run "$OPSCTL" --output json report --since 90d
expect_json_true "find(d['trends'], 'name', 'api-server')['samples'] in (2159, 2160) and [f['subject'] for f in d['findings'] if f['kind'] == 'leak'] == ['api-server']" "over 90 days: 2160 samples, still only api-server"

done_testing
