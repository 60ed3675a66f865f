#!/usr/bin/env bash
# t810: opsctl report over real runs: the journal summary (a real failure
# with its error line, counted per task and target), the formats (text,
# Markdown, JSON), -o FILE and -o DIR/ (the guides' names, atomic, 0644),
# --since (durations, dates, bad values: 64), --fail-on, corrupt journal
# lines skipped and counted, and the log analysis by kind.
. "$(dirname "$0")/../lib/common.sh"
tool=$(missing_tool sqlite3 python3) && bail_out "$tool (scripts/setup)"

export OPSCTL_CONFIG="$T/opsctl.conf"
mkdir -p "$T/logs"
cat >"$OPSCTL_CONFIG" <<CONF
[health]
disk_paths = $T
log_files = $T/logs/*.log
CONF
sqlite_make() { sqlite3 "$1" "create table content(id integer primary key, body text); insert into content(body) values ('a'),('b');"; }
sqlite_make "$T/hub.db"

# ---- real runs: two good, one failing ----
run "$OPSCTL" db size -d "$T/hub.db"
expect_rc 0 "db size ok"
head -c 64M /dev/zero >"$T/grown"	# the disk grows between the runs' samples
sync "$T/grown"; sleep 1.2	# a second apart: a time axis to fit on
run "$OPSCTL" db integrity -d "$T/hub.db"
expect_rc 0 "db integrity ok"
rm -f "$T/grown"
printf 'this is not a database, only text long enough to be read as a header of one....' >"$T/broken.db"
run "$OPSCTL" db integrity -d "$T/broken.db"
check "$([ "$RC" -ne 0 ]; echo $?)" "db integrity of a file that is not a database fails ($RC)"
broken_err=$(head -n 1 "$ERR" | sed 's/^opsctl: error: //')

# ---- logs: ERROR lines by kind, old ones left out ----
old=$(date -u -d '-40 days' '+%Y-%m-%d %H:%M:%S')
new=$(date -u -d '-1 hour' '+%Y-%m-%d %H:%M:%S')
{
	for i in 1 2 3; do echo "$new ERROR ConnectionError: connection refused to 10.0.0.$i:5432"; done
	echo "$new INFO all good"
	echo "$new ERROR upload 'report-$RANDOM.pdf' failed for user 4e1f9a2c-7b3d-4c1e-9f00-1234567890ab"
	echo "$new ERROR upload 'other.pdf' failed for user 0b1f9a2c-7b3d-4c1e-9f00-1234567890cd"
	echo "$old ERROR ConnectionError: connection refused to 10.0.0.9:5432"
	echo "Traceback (most recent call last):"
} >"$T/logs/app.log"

run "$OPSCTL" --output json report
expect_rc 0 "report over the runs"
expect_json "JSON envelope"
expect_json_true "d['command'] == 'report' and d['status'] == 'ok' and d['error'] is None" "the envelope"
expect_json_true "(lambda k: k['runs'] == 1 and k['ok'] == 1 and k['failed'] == 0 and k['last_status'] == 'ok')(find(d['tasks'], 'task', 'db size'))" "db size: one run, ok"
expect_json_true "(lambda k: k['runs'] == 1 and k['failed'] == 1 and k['failures'][0]['error'] == '''$broken_err''')([t for t in d['tasks'] if t['task'] == 'db integrity' and 'broken' in t['target']][0])" "the failed integrity run, its error line as the journal has it"
expect_json_true "[f['severity'] for f in d['findings'] if f['kind'] == 'failures'] == ['critical']" "a task whose last run failed: a critical finding"
expect_json_true "d['journal_skipped_lines'] == 0" "no journal line skipped"
L="find(d['logs'], 'file', '$T/logs/app.log')"
expect_json_true "$L['errors'] == 6" "6 error lines in the period (the 40-day-old one left out, a Traceback counted)"
expect_json_true "$L['kinds'][0]['kind'] == 'ERROR ConnectionError: connection refused to N:N' and $L['kinds'][0]['count'] == 3" "numbers (an address too) made N: the three refusals are one kind"
expect_json_true "find($L['kinds'], 'kind', 'ERROR upload \"…\" failed for user X')['count'] == 2" "quoted strings and UUIDs made generic: the two uploads are one kind"
expect_json_true "find($L['kinds'], 'count', 3)['example'].endswith('10.0.0.1:5432')" "a kind keeps a raw example line"
expect_json_true "any(f['kind'] == 'logs' and f['severity'] == 'info' for f in d['findings'])" "a log with errors: an info finding"
expect_json_true "find(d['capacity'], 'name', '$T')['kind'] == 'disk'" "the disk of health.disk_paths, sampled by the runs"
expect_json_true "all(c['growth_per_day'] is None and c['fill_date'] is None for c in d['capacity'])" "samples seconds apart: no growth a day is extrapolated from them"
expect_json_true "'_figures' not in d" "no _figures in the JSON"

# ---- the report's own journal line ----
last=$(tail -n 1 "$OPSCTL_STATE_DIR/journal.jsonl")
check "$(python3 -c "import json,sys; l=json.loads(sys.argv[1]); sys.exit(0 if l['command']=='report' and l['figures']['opsctl_report_findings']['severity']['critical']==1 else 1)" "$last"; echo $?)" "report is journaled with opsctl_report_findings by severity"
grep -q '^opsctl_report_findings{task="report",severity="critical"} 1' "$OPSCTL_STATE_DIR/opsctl.prom"
check $? "the textfile has opsctl_report_findings{severity=\"critical\"}"

# ---- text and Markdown ----
run "$OPSCTL" report
expect_rc 0 "text"
expect_out_contains "Maintenance report " "text: the title"
expect_out_contains "failures of db integrity sqlite:$T/broken.db:" "text: the failures under the tasks"
expect_out_contains "ERROR ConnectionError: connection refused to N:N" "text: the top log kind"
run "$OPSCTL" report --format markdown
expect_rc 0 "markdown"
expect_out_contains "# Maintenance report" "markdown: the heading"
expect_out_contains "| --- |" "markdown: tables"
expect_out_contains "## Capacity" "markdown: sections"
run "$OPSCTL" report --format json
expect_rc 0 "--format json on stdout"
expect_json_true "'findings' in d and 'command' not in d" "--format json is the report itself, without the envelope"

# ---- -o FILE and -o DIR/ ----
run "$OPSCTL" report --format markdown -o "$T/out/week.md"
expect_rc 0 "-o FILE in a directory not yet made"
expect_file_contains "$T/out/week.md" "## Findings" "the Markdown is in the file"
expect_out_contains "$T/out/week.md" "stdout says where it went"
check "$([ "$(stat -c %a "$T/out/week.md")" = 644 ]; echo $?)" "the file is mode 0644"
check "$(ls -a "$T/out" | grep -c '^\.' | grep -qx 2; echo $?)" "no temporary file left beside it"
mkdir -p "$T/reports"
today=$(date -u +%Y%m%d)
run "$OPSCTL" report --format json -o "$T/reports/"
expect_rc 0 "-o DIR/ with --format json"
check "$(python3 -c "import json; json.load(open('$T/reports/monthly_performance_$today.json'))"; echo $?)" "DIR/monthly_performance_YYYYMMDD.json (guide 003), valid JSON"
run "$OPSCTL" report -o "$T/reports"
expect_rc 0 "-o DIR (an existing directory) with text"
expect_file_contains "$T/reports/maintenance_report_$today.txt" "Maintenance report" "DIR/maintenance_report_YYYYMMDD.txt (guide 002)"
run "$OPSCTL" --output json report --format markdown -o "$T/reports/"
expect_json_true "d['file'] == '$T/reports/maintenance_report_$today.md' and 'findings' in d" "JSON output with -o: the envelope names the file"

# ---- bad input: 64, one line, nothing written ----
# 2025-02-29 and 2025-11-1 are read strictly (no February 29 in 2025, no
# one-digit day), not as March 1 and November 1.
for bad in yesterday 30x 2026-13-01 -5d 2999-01-01 2025-02-29 2025-11-1 2025-11-01T00:00:00Zjunk \
	2025-11-01T24:00:00Z 2025-11-01T00:00:00+16:00; do
	run "$OPSCTL" report --since "$bad" -o "$T/bad.txt"
	expect_error 64 "--since $bad: exit 64" "--since"
done
check "$([ ! -e "$T/bad.txt" ]; echo $?)" "nothing written for a bad --since"
run "$OPSCTL" report --since 7d --period-days 7
expect_error 64 "--since and --period-days together: 64" "give one"
run "$OPSCTL" report --format pdf
expect_error 64 "--format pdf: 64" "pdf"
run "$OPSCTL" report --period-days 0
expect_error 64 "--period-days 0: 64" "period-days"
run "$OPSCTL" report --format html -o "$T/r.html"
expect_rc 0 "--format html -o FILE: exit 0"
check "$(grep -q '<figure class="chart"' "$T/r.html" && ! grep -qi '<script' "$T/r.html"; echo $?)" "the HTML file has its charts and no script (t820 renders it in Chromium)"
printf '[report]\nleak_percent_per_day = lots\n' >>"$OPSCTL_CONFIG"
run "$OPSCTL" report
expect_fail 78 "report.leak_percent_per_day not a number: 78" "report.leak_percent_per_day" "lots"
sed -i '/^\[report\]/,$d' "$OPSCTL_CONFIG"

# ---- --since: a duration and a date ----
run "$OPSCTL" --output json report --since 12h
expect_json_true "d['period_days'] == 0.5" "--since 12h: half a day"
run "$OPSCTL" --output json report --since "$(date -u -d '-3 days' +%Y-%m-%d)"
expect_json_true "3 <= d['period_days'] < 4.1" "--since DATE: from that midnight UTC"
run "$OPSCTL" --output json report --since "$(date -u -d '-3 days' +%Y-%m-%d)T00:00:00+12:00"
expect_json_true "3.5 <= d['period_days'] < 4.6" "--since TIME+12:00: the offset applied (noon UTC the day before)"
run "$OPSCTL" --output json report --period-days 2
expect_json_true "d['period_days'] == 2" "--period-days 2"

# ---- --fail-on ----
run "$OPSCTL" report --fail-on critical
expect_rc 1 "--fail-on critical with a critical finding: exit 1"
expect_err_contains "at or above critical" "the error line says why"
expect_out_contains "Findings" "the report is still printed"

# ---- corrupt journal lines: skipped and counted ----
printf '{"time": "torn\n\nnot json at all\n[1,2]\n' >>"$OPSCTL_STATE_DIR/journal.jsonl"
run "$OPSCTL" --output json report
expect_rc 0 "a journal with corrupt lines still reports"
expect_json_true "d['journal_skipped_lines'] == 4" "the four bad lines are skipped and counted"
run "$OPSCTL" report
expect_out_contains "4 journal lines could not be read" "text says so"

# ---- an old run outside the period: left out; a task that stopped: stale ----
python3 - "$OPSCTL_STATE_DIR/journal.jsonl" <<'PY'
import json, sys, time
t = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() - 50 * 86400))
open(sys.argv[1], "a").write(json.dumps({"time": t, "command": "cleanup logs", "target": "/var/log/app", "status": "failed", "error": "old", "exit": 1, "duration_seconds": 1}) + "\n")
PY
run "$OPSCTL" --output json report
expect_json_true "find(d['tasks'], 'task', 'cleanup logs')['runs'] == 0 and find(d['tasks'], 'task', 'cleanup logs')['failures'] == []" "a failure before the period is not counted"
expect_json_true "[f['subject'] for f in d['findings'] if f['kind'] == 'stale'] == ['cleanup logs /var/log/app']" "a task that ran before the period and not in it is stale"

# ---- log line times with an offset: the instant they name ----
# The "-05:00" line is an hour old, the "+05:00" one three hours: read as UTC,
# their clock text would put them 6 h back and 2 h ahead.
{
	echo "$(date -u -d '-6 hours' '+%Y-%m-%dT%H:%M:%S')-05:00 ERROR west of Greenwich"
	echo "$(date -u -d '+2 hours' '+%Y-%m-%dT%H:%M:%S.123+05:00') ERROR east of Greenwich"
} >"$T/logs/zone.log"
run "$OPSCTL" --output json report --since 2h
Z="find(d['logs'], 'file', '$T/logs/zone.log')"
expect_json_true "$Z['errors'] == 1 and $Z['kinds'][0]['kind'] == 'ERROR west of Greenwich'" "log times with offsets: only the line within the last 2 h counted"
rm -f "$T/logs/zone.log"

check_error_style
done_testing
