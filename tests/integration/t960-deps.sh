#!/usr/bin/env bash
# t960: opsctl deps -c (update-dependencies.sh --check-only, guide 000 section
# 8.3; guide 003's weekly pip-audit and pip list --outdated) against real
# registries on loopback: Verdaccio serving npm packages published here with
# npm publish, and a PEP 503 simple index of real wheels and sdists (one of
# them yanked) served from a directory; OSV advisories written here.
# The newest allowed version per -t, PEP 440 and semver rules, 0.x, yanked and
# pre-releases, advisories matched with their severity and fixed version, the
# table and the JSON envelope, scan -t dependencies, stale advisories,
# nothing written by a check.
. "$(dirname "$0")/../lib/common.sh"
. "$ROOT/tests/lib/deps.sh"
tool=$(missing_tool python3 npm curl) && bail_out "$tool (scripts/setup)"

deps_fixture || bail_out "the registries did not start (scripts/setup: tests/npm)"
D() { echo "find(d[\"dependencies\"], \"package\", \"$1\")"; }
BEFORE=$(tree_sum "$P")

# ---- -c: the updates -t minor allows, and the advisories ----
journal_mark
run "$OPSCTL" --output json deps -c
expect_rc 1 "a high advisory affects a version in use: exit 1"
expect_json_true 'd["command"] == "deps" and d["status"] == "failed" and d["exit_code"] == 1' "the JSON envelope"
expect_json_true 'd["error"] == "2 advisories at or above high affect versions in use"' "the error counts them"
expect_json_true 'sorted(d["manifests"]) == ["package-lock.json", "package.json", "requirements-dev.txt", "requirements.txt"]' \
	"the manifests found, the -r include among them"
expect_json_true "$(D requests-lite)[\"current\"] == \"2.30.0\" and $(D requests-lite)[\"allowed_update\"] == \"2.32.0\"" \
	"minor: 2.32.0 (2.32.1 is yanked, 2.33.0rc1 a pre-release, 3.0.0 major)"
expect_json_true "$(D requests-lite)[\"latest\"] == \"3.0.0\" and $(D requests-lite)[\"kind\"] == \"minor\"" \
	"latest 3.0.0 (not the beta), a minor change"
expect_json_true "$(D requests-lite)[\"manifest\"] == \"requirements.txt\" and $(D requests-lite)[\"line\"] == 2" \
	"the PEP 503 name, its manifest and line"
expect_json_true "$(D hashpkg)[\"allowed_update\"] == \"1.1.0\" and $(D hashpkg)[\"manifest\"] == \"requirements-dev.txt\"" \
	"a hashed pin across continuation lines is read"
expect_json_true "$(D zeropkg)[\"allowed_update\"] == \"0.4.3\" and $(D zeropkg)[\"latest\"] == \"0.5.0\"" \
	"0.x: 0.4.1 -> 0.4.3 under minor, 0.5.0 is major"
expect_json_true "$(D leftpad-lite)[\"current\"] == \"1.0.0\" and $(D leftpad-lite)[\"allowed_update\"] == \"1.1.0\" and $(D leftpad-lite)[\"latest\"] == \"2.0.0\"" \
	"npm: the lock's 1.0.0, 1.1.0 allowed, 2.0.0 latest"
expect_json_true "$(D @acme/widget)[\"current\"] == \"0.4.1\" and $(D @acme/widget)[\"allowed_update\"] == \"0.4.3\"" \
	"a scoped npm package (encoded in the URL), 0.x rule"
expect_json_true "$(D flask)[\"current\"] is None and \"not found\" in $(D flask)[\"note\"]" \
	"an unpinned requirement the index lacks: reported with why, the run goes on"
F='find(d["findings"], "advisory", "GHSA-dp01-0001-0001")'
expect_json_true "$F[\"severity\"] == \"high\" and $F[\"fixed\"] == \"2.31.0\" and $F[\"file\"] == \"requirements.txt\" and $F[\"line\"] == 2" \
	"the planted advisory: severity from database_specific, fixed version, FILE:LINE"
expect_json_true "$F[\"rule\"] == \"dependencies.advisory\" and $F[\"aliases\"] == [\"CVE-2099-0001\"] and \"leaks\" in $F[\"summary\"]" \
	"the scan finding model: rule, aliases, summary"
G='find(d["findings"], "advisory", "GHSA-dp02-0002-0002")'
expect_json_true "$G[\"severity\"] == \"critical\" and $G[\"cvss_score\"] == 9.8 and $G[\"fixed\"] == \"1.0.1\"" \
	"severity from the CVSS v3.1 vector: 9.8, critical"
expect_json_true 'find(d["findings"], "advisory", "PYSEC-dp03") is None' "last_affected 0.4.0 does not affect 0.4.1"
expect_json_true 'find(d["findings"], "advisory", "GHSA-dp04") is None' "an advisory of another ecosystem does not match"
expect_json_true 'd["advisories"]["files"] == 4 and d["advisories"]["stale"] == False and d["advisories"]["age_seconds"] < 600' \
	"the advisory set's size and age"
expect_json_true 'd["updates_available"] == 5' "five updates available"
if [ "$(tree_sum "$P")" = "$BEFORE" ]; then ok "-c wrote nothing in the project"; else not_ok "-c changed the project"; fi
expect_journal_added 1 "the check is journalled"
expect_journal_last 'j["figures"]["opsctl_deps_updates_available"] == 5 and j["figures"]["opsctl_deps_advisories"] == 2' \
	"its figures in the journal"

# ---- -t major and all ----
run "$OPSCTL" --output json deps -c -t major
expect_json_true "$(D requests-lite)[\"allowed_update\"] == \"3.0.0\" and $(D leftpad-lite)[\"allowed_update\"] == \"2.0.0\" and $(D zeropkg)[\"allowed_update\"] == \"0.5.0\"" \
	"major: any newer stable release"
run "$OPSCTL" --output json deps -c -t all
expect_json_true "$(D requests-lite)[\"allowed_update\"] == \"3.1.0b1\" and $(D requests-lite)[\"kind\"] == \"major\"" \
	"all: pre-releases too"
run "$OPSCTL" deps -c -t patch
expect_error 64 "an unknown -t is a usage error" "patch"

# ---- text ----
run "$OPSCTL" deps -c
expect_rc 1 "text: exit 1 too"
expect_out_contains "allowed update" "the table has the allowed update column"
expect_out_contains "GHSA-dp01-0001-0001 (high)" "the advisories column"
expect_err_contains "2 advisories at or above high" "one error line"

# ---- the floor ----
derive_conf "$OPSCTL_CONFIG" "$T/crit.conf" "severity = critical"
run "$OPSCTL" --config "$T/crit.conf" --output json deps -c
expect_json_true 'd["advisories_at_or_above_floor"] == 1 and d["exit_code"] == 1' "deps.severity critical: only the critical one counts"
mkdir -p "$T/osv-none"
derive_conf "$OPSCTL_CONFIG" "$T/none.conf" "advisories_dir = $T/osv-none"
run "$OPSCTL" --config "$T/none.conf" --output json deps -c
expect_rc 0 "updates but no advisory: exit 0 (a check is a report)"
expect_err_contains "holds no advisory" "an empty advisories directory is warned about"

# ---- stale advisories ----
mkdir -p "$T/osv-old"
cp "$T/osv/other.json" "$T/osv-old/"
derive_conf "$OPSCTL_CONFIG" "$T/old.conf" "advisories_dir = $T/osv-old" "advisories_max_age = 7d"
run "$OPSCTL" --config "$T/old.conf" --output json deps -c
expect_json_true 'd["advisories"]["stale"] == True and d["advisories"]["age_seconds"] > 86400 * 365' "advisories from 2020 are stale"
expect_err_contains "older than deps.advisories_max_age" "a warning names the age"
expect_json_true 'any("old, older than deps.advisories_max_age" in w for w in d["warnings"])' "and the report says it"

# ---- scan includes the findings ----
run "$OPSCTL" --output json scan -t dependencies -o "$T/scan.json"
expect_rc 1 "scan -t dependencies: findings at or above high, exit 1"
expect_json_true 'd["types"] == ["dependencies"] and d["counts"]["critical"] == 1 and d["counts"]["high"] == 1' \
	"scan counts the advisories by severity"
expect_json_true 'find(d["findings"], "rule", "dependencies.advisory")["file"] in ("requirements.txt", "package.json")' \
	"as scan findings with their file"
run "$OPSCTL" scan --list-rules
expect_out_contains "dependencies.advisory" "the rule is declared"

# ---- an unreachable registry ----
derive_conf "$OPSCTL_CONFIG" "$T/down.conf" "npm_registry = http://127.0.0.1:9" "registry_timeout = 5s"
run "$OPSCTL" --config "$T/down.conf" deps -c
expect_rc 69 "an unreachable registry: exit 69"
expect_err_contains "error: package leftpad-lite in the registry: unable to access 'http://127.0.0.1:9'" "the error names the package and the registry"

done_testing
