#!/usr/bin/env bash
# t540: opsctl scan's own part, whatever the checks find: security-scan.sh's
# flags, the results file (JSON, and SARIF 2.1.0 validated against the
# schema @microsoft/jest-sarif ships, installed by scripts/setup), the
# severity floor and the exit status, --exit-zero, fingerprints stable from
# run to run, and the baseline file (suppression, expiry, stale entries,
# errors naming the line).  The findings come from a small tree with a
# planted AWS key and a 0644 .env (the code checks).
. "$(dirname "$0")/../lib/common.sh"
tool=$(missing_tool python3 npm) && bail_out "$tool (scripts/setup)"
SCHEMA="$(npm root -g 2>/dev/null)/@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json"
[ -f "$SCHEMA" ] || bail_out "the SARIF 2.1.0 schema at $SCHEMA (scripts/setup installs @microsoft/jest-sarif)"
PY=python3
/usr/bin/python3 -c 'import jsonschema' 2>/dev/null && PY=/usr/bin/python3
$PY -c 'import jsonschema' 2>/dev/null || bail_out "python3's jsonschema (scripts/setup: python3-jsonschema)"

run "$OPSCTL" scan --help
expect_rc 0 "scan --help exits 0"
expect_out_contains "-t, --type TYPE" "--help shows security-scan.sh's -t"
expect_out_contains "-o, --output FILE" "...its -o FILE"
expect_out_contains "-s, --severity LEVEL" "...and its -s LEVEL"
run "$OPSCTL" scan -t bogus
expect_error 64 "-t bogus: exit 64" "bogus"
run "$OPSCTL" scan -s severe
expect_error 64 "-s severe: exit 64" "severe"

run "$OPSCTL" --output json scan --list-rules
expect_json_true "len(d['rules']) >= 20 and all(r['rule'].split('.')[0] in ('code', 'infra', 'container', 'api', 'dependencies') and r['severity'] in ('critical', 'high', 'medium', 'low', 'info') and r['title'] and r['help'] for r in d['rules'])" \
	"--list-rules lists every rule with its type, severity, title and help"
[ ! -e "$T/security-scan-results.json" ]
check $? "...and scans nothing (no results file)"

# ---- a tree with planted problems ----
R="$T/repo"
mkdir -p "$R/app"
# An AWS key pair in a config file (AWS's documentation example values).
cat >"$R/app/settings.py" <<'EOF'
AWS_ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
AWS_SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
EOF
printf 'DB_PASSWORD=Zr8uQ2m9Xc4TvPq7\n' >"$R/.env"
chmod 644 "$R/.env"
printf '[scan]\ncode_paths = %s\n' "$R" >"$T/scan.conf"
export OPSCTL_CONFIG="$T/scan.conf"
cd "$T" || bail_out "cd"

run "$OPSCTL" scan -t code -s low
[ "$RC" = 1 ] && ok "findings at or above the floor: exit 1" || { not_ok "exit 1 with findings (exit $RC)"; diag_run; }
if [ -f "$T/security-scan-results.json" ]; then ok "the results file defaults to security-scan-results.json, in the directory the scan ran in"
else not_ok "security-scan-results.json written"; fi
if ! ls "$T" | grep -q '\.tmp\|\.new'; then ok "...and no temporary file is left beside it"; else not_ok "no temporary file left"; ls "$T" | sed 's/^/#   /'; fi
cp "$T/security-scan-results.json" "$T/first.json"
$PY - "$T/first.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
f = d["findings"]
assert f, "no findings"
for x in f:
    for k in ("rule", "severity", "title", "target", "evidence", "remediation", "fingerprint"):
        assert k in x, (k, x)
    assert len(x["fingerprint"]) == 32
order = ["critical", "high", "medium", "low", "info"]
assert [order.index(x["severity"]) for x in f] == sorted(order.index(x["severity"]) for x in f)
PY
check $? "every finding has rule, severity, title, target, evidence, remediation and a fingerprint; the most severe first"
if ! grep -qF 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' "$T/first.json" "$OUT" "$ERR" && ! grep -qF 'Zr8uQ2m9Xc4TvPq7' "$T/first.json" "$OUT" "$ERR"; then
	ok "no planted secret appears in clear in the results or the output"
else not_ok "secrets redacted"; fi

expect_out_contains "severity  rule" "on a terminal the findings are one table: severity, rule, where"
expect_out_contains "app/settings.py:" "...where is FILE:LINE"
expect_out_not_contains "remediation" "...and the remediation paragraphs wait for -v"
run "$OPSCTL" -v scan -t code -s low -o "$T/v.json"
expect_out_contains "remediation" "-v shows each finding whole, remediation included"
run "$OPSCTL" scan -t code -s low -o "$T/second.json"
$PY - "$T/first.json" "$T/second.json" <<'PY'
import json, sys
a = sorted(x["fingerprint"] for x in json.load(open(sys.argv[1]))["findings"])
b = sorted(x["fingerprint"] for x in json.load(open(sys.argv[2]))["findings"])
assert a == b, (a, b)
PY
check $? "-o FILE: the same findings with the same fingerprints on the next run"

run "$OPSCTL" scan -t code -s low --exit-zero -o "$T/z.json"
expect_rc 0 "--exit-zero: exit 0 with findings"
run "$OPSCTL" scan -t code -s critical -o "$T/crit.json"
crit=$($PY -c "import json,sys; print(sum(1 for x in json.load(open(sys.argv[1]))['findings'] if x['severity']=='critical'))" "$T/crit.json")
if [ "$crit" = 0 ]; then expect_rc 0 "-s critical with no critical finding: exit 0"
else expect_rc 1 "-s critical with a critical finding: exit 1"; fi
all=$($PY -c "import json,sys; print(len(json.load(open(sys.argv[1]))['findings']))" "$T/crit.json")
[ "$all" -ge 2 ]
check $? "...while the results file still holds every finding ($all), whatever the floor"

# ---- SARIF 2.1.0 ----
run "$OPSCTL" scan -t code -s low --format sarif -o "$T/r.sarif"
$PY - "$SCHEMA" "$T/r.sarif" <<'PY'
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
doc = json.load(open(sys.argv[2]))
jsonschema.validate(doc, schema)
run = doc["runs"][0]
ids = {r["id"] for r in run["tool"]["driver"]["rules"]}
assert run["results"], "no results"
for r in run["results"]:
    assert r["ruleId"] in ids
    assert r["partialFingerprints"]
    assert r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
for r in run["tool"]["driver"]["rules"]:
    assert r["help"]["text"]
PY
check $? "--format sarif validates against the SARIF 2.1.0 schema; results name declared rules, files and fingerprints; rules carry help"

# ---- the baseline ----
fp=$($PY -c "import json,sys; print(json.load(open(sys.argv[1]))['findings'][0]['fingerprint'])" "$T/first.json")
n_before=$($PY -c "import json,sys; print(len(json.load(open(sys.argv[1]))['findings']))" "$T/first.json")
printf '# accepted\n%s 2999-12-31 demo credentials, rotated elsewhere\n0123456789abcdef0123456789abcdef gone since\n' "$fp" >"$T/baseline"
run "$OPSCTL" --output json scan -t code -s low --baseline "$T/baseline" -o "$T/b.json"
expect_json_true "d['suppressed'] == 1 and len(d['stale_suppressions']) == 1 and all(x['fingerprint'] != '$fp' for x in d['findings'])" \
	"a baselined finding is suppressed, an entry no finding matched is reported as stale"
$PY - "$T/b.json" "$fp" <<'PY'
import json, sys
f = [x for x in json.load(open(sys.argv[1]))["findings"] if x["fingerprint"] == sys.argv[2]]
assert f and f[0]["suppressed"] is True and f[0]["suppression_reason"].startswith("demo credentials")
PY
check $? "...the results file keeps it, marked suppressed with its reason"
printf '%s 2020-01-31 accepted until January 2020\n' "$fp" >"$T/baseline"
run "$OPSCTL" --output json scan -t code -s low --baseline "$T/baseline" -o "$T/b.json"
expect_json_true "d['suppressed'] == 0 and len(d['expired_suppressions']) == 1 and '2020-01-31' in d['expired_suppressions'][0] and any(x['fingerprint'] == '$fp' for x in d['findings'])" \
	"an expired suppression is reported and its finding counts again"
printf '# fine\nnot-a-fingerprint reason\n' >"$T/baseline"
run "$OPSCTL" scan -t code --baseline "$T/baseline"
expect_error 78 "a malformed baseline: exit 78 naming the file and line" "baseline:2"
printf '%s\n' "$fp" >"$T/baseline"
run "$OPSCTL" scan -t code --baseline "$T/baseline"
expect_error 78 "a suppression without a reason: exit 78" "reason"
printf '%s 2020-13-45 bad date\n' "$fp" >"$T/baseline"
run "$OPSCTL" scan -t code --baseline "$T/baseline"
expect_error 78 "a bad expiry date: exit 78" "2020-13-45"
printf '%s 2999-02-29 no such day\n' "$fp" >"$T/baseline"
run "$OPSCTL" scan -t code --baseline "$T/baseline"
expect_error 78 "an expiry on a day that does not exist: exit 78" "2999-02-29"
run "$OPSCTL" scan -t code --baseline "$T/none"
expect_error 78 "a --baseline that does not exist: exit 78" "none"

# ---- journal and textfile ----
journal_mark
run "$OPSCTL" scan -t code -s low -o "$T/j.json"
expect_journal_added 1 "a scan writes one journal line"
expect_journal_last "j['command'] == 'scan' and sum(j['figures']['opsctl_scan_findings']['severity'].values()) == $n_before" "...with the findings per severity"
expect_file_contains "$OPSCTL_STATE_DIR/opsctl.prom" 'opsctl_scan_findings_at_or_above_floor{task="scan"}' "the textfile has the count at or above the floor"

done_testing
