#!/usr/bin/env bash
# t968: issue 17's acceptance, its deps half: "`deps -c` lists the available
# updates and the planted advisory; `deps -t minor -b` updates within minor
# versions, runs the install and test commands, and rolls back when the test
# command fails".  Against Verdaccio and a directory simple index on loopback.
. "$(dirname "$0")/../lib/common.sh"
. "$ROOT/tests/lib/deps.sh"
tool=$(missing_tool python3 npm curl) && bail_out "$tool (scripts/setup)"

deps_fixture || bail_out "the registries did not start (scripts/setup: tests/npm)"
# an install that leaves a marker in the project, a test that needs it
printf '%s\n' "open('installed', 'w').write('ok')" >"$T/install.py"
printf '%s\n' "import sys" "sys.exit(0 if open('installed').read() == 'ok' else 5)" >"$T/test.py"
printf '%s\n' "install_command = python3, $T/install.py" "test_command = python3, $T/test.py" >>"$OPSCTL_CONFIG"

# deps -c: the updates and the planted advisory
run "$OPSCTL" deps -c
expect_rc 1 "deps -c: the planted advisory fails the check"
expect_out_contains "requests-lite  python     2.30.0   2.32.0" "the available update is listed"
expect_out_contains "GHSA-dp01-0001-0001" "the planted advisory is listed"
BEFORE=$(tree_sum "$P")

# deps -t minor -b: updated within minor versions, installed, tested
run "$OPSCTL" --output json deps -t minor -b
expect_rc 0 "deps -t minor -b succeeds"
expect_json_true 'sorted((u["package"], u["to"]) for u in d["updated"]) == [("@acme/widget", "0.4.3"), ("hashpkg", "1.1.0"), ("leftpad-lite", "1.1.0"), ("requests-lite", "2.32.0"), ("zeropkg", "0.4.3")]' \
	"every pin moved within its minor version (0.x within its patch)"
expect_json_true 'd["install"]["exit_code"] == 0 and d["test"]["exit_code"] == 0 and d["rolled_back"] == False' \
	"the install and test commands ran and passed"
if [ -f "$P/installed" ] && grep -q '==2.32.0' "$P/requirements.txt"; then ok "the install ran in the project and the pin is rewritten"; else
	not_ok "no install marker or pin"; fi
expect_json_true 'len(__import__("os").listdir(d["backup"])) == 5' "the backup holds the four manifests and SHA256SUMS"

# the test command fails: rolled back
cp -a "$P" "$T/updated"
rm -f "$P/installed"
cp -a "$T/updated" "$T/expect"
rm -f "$T/expect/installed"
printf '%s\n' "import sys" "sys.exit(4)" >"$T/test.py"
run "$OPSCTL" --output json deps -t major -b
expect_rc 1 "a failing test command: exit 1"
expect_json_true 'd["rolled_back"] == True and "test command" in d["error"] and "(exit 4)" in d["error"]' \
	"the report names the failing command and says rolled back"
rm -f "$P/installed"
if [ "$(tree_sum "$P")" = "$(tree_sum "$T/expect")" ]; then ok "the manifests are as before the run, byte for byte"; else
	not_ok "the manifests changed"; fi
[ "$(tree_sum "$P")" != "$BEFORE" ] && ok "(the first update stayed: only the failed one was undone)" || not_ok "the first update was lost"
expect_journal_last 'j["figures"]["opsctl_deps_rolled_back"] == 1' "the journal line says rolled back"

done_testing
