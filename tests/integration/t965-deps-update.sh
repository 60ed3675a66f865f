#!/usr/bin/env bash
# t965: opsctl deps without -c: the pins rewritten (requirements lines with
# their extras, markers, comments and --hash layout; package-lock.json's
# version, resolved and integrity in npm's own layout; package.json's range
# when the new version is outside it), -b, -s, the install and test commands
# run in the project directory, and a failing one rolling every manifest back
# byte for byte; a hash the index lacks refuses that package only; nothing
# outside deps.project_dir is read for rewriting or written; bad inputs.
. "$(dirname "$0")/../lib/common.sh"
. "$ROOT/tests/lib/deps.sh"
tool=$(missing_tool python3 npm curl) && bail_out "$tool (scripts/setup)"

deps_fixture || bail_out "the registries did not start (scripts/setup: tests/npm)"
cp -a "$P" "$T/pristine"
fresh() { rm -rf "$P" && cp -a "$T/pristine" "$P"; }

# The commands: each records where it ran, and fails on demand.
mkdir -p "$T/outside"
echo "outside, never touched" >"$T/outside/requirements.txt"
cat >"$T/cmd.sh" <<'EOF'
#!/bin/sh
echo "$1 ran in $(pwd)" >>"$CMD_LOG"
echo "output of $1"
[ -f "$CMD_FAIL.$1" ] && exit "$(cat "$CMD_FAIL.$1")"
[ -f "$CMD_SLEEP" ] && sleep 5
exit 0
EOF
chmod +x "$T/cmd.sh"
export CMD_LOG="$T/cmd.log" CMD_FAIL="$T/fail" CMD_SLEEP="$T/sleep"
cat >>"$OPSCTL_CONFIG" <<EOF
install_command = $T/cmd.sh, install
test_command = $T/cmd.sh, test
EOF
OUTSIDE=$(tree_sum "$T/outside")
PK='json.load(open("'"$P"'/package-lock.json"))["packages"]["node_modules/leftpad-lite"]'
INTEGRITY=$(curl -sf "$NPM_REG/leftpad-lite" | python3 -c 'import json,sys; print(json.load(sys.stdin)["versions"]["1.1.0"]["dist"]["integrity"])')

# ---- -t minor -b: everything allowed, installed, tested ----
journal_mark
run "$OPSCTL" --output json deps -t minor -b
expect_rc 0 "updated; the advisories are fixed by the new versions: exit 0"
expect_json_true 'len(d["updated"]) == 5 and d["rolled_back"] == False and d["refused"] == []' "five pins updated, none refused"
expect_json_true 'd["install"]["exit_code"] == 0 and d["test"]["exit_code"] == 0 and "output of test" in d["test"]["output_tail"]' \
	"install and test ran, their output captured"
if [ "$(cat "$CMD_LOG")" = "install ran in $P
test ran in $P" ]; then ok "install, then test, both in the project directory"; else
	not_ok "the commands ran as: $(cat "$CMD_LOG")"; fi
python3 - "$P" <<'EOF' >"$T/check.out" 2>&1
import sys
p = sys.argv[1]
want = '# the application\nRequests_Lite[socks]==2.32.0 ; python_version >= "3.8"  # the HTTP client\n-r requirements-dev.txt\nflask>=2.0\n'
got = open(p + "/requirements.txt").read()
assert got == want, repr(got)
EOF
if [ $? -eq 0 ]; then ok "requirements.txt: only the version changed; extras, marker, comment, other lines kept"; else
	not_ok "requirements.txt: $(cat "$T/check.out")"; fi
mapfile -t H <<<"$(deps_sha hashpkg 1.1.0)"
printf '%s\n' "hashpkg==1.1.0 \\" "    --hash=sha256:${H[0]} \\" "    --hash=sha256:${H[1]}" \
	'    # via -r requirements.in' 'zeropkg==0.4.3' >"$T/want-dev.txt"
if cmp -s "$T/want-dev.txt" "$P/requirements-dev.txt"; then ok "the --hash lines carry the new version's sha256 from the index, in their layout"; else
	not_ok "requirements-dev.txt differs"; diff "$T/want-dev.txt" "$P/requirements-dev.txt" | sed 's/^/#   /'; fi
if python3 -c "
import json
pk = $PK
assert pk['version'] == '1.1.0' and pk['resolved'].endswith('/leftpad-lite-1.1.0.tgz'), pk
assert pk['integrity'] == '$INTEGRITY', pk
"; then ok "package-lock.json: version, resolved and integrity from the packument"; else not_ok "package-lock.json's leftpad-lite entry"; fi
if python3 -c "
import json
t = open('$P/package-lock.json').read()
assert t == json.dumps(json.loads(t), indent=2, ensure_ascii=False) + '\n'
"; then ok "package-lock.json is still in npm's own layout"; else not_ok "package-lock.json was reformatted"; fi
if cmp -s "$T/pristine/package.json" "$P/package.json"; then ok "package.json kept: ^1.0.0 and ~0.4.1 still hold the new versions"; else
	not_ok "package.json changed"; fi
expect_json_true 'd["backup"].startswith("'"$OPSCTL_STATE_DIR"'/deps/backup-")' "-b: the backup in STATE_DIR/deps/"
B=$(json_get 'd["backup"]')
if cmp -s "$B/requirements.txt" "$T/pristine/requirements.txt" && cmp -s "$B/package-lock.json" "$T/pristine/package-lock.json" &&
	(cd "$B" && sha256sum -c --quiet SHA256SUMS); then ok "the backup holds the manifests as they were, with SHA256SUMS"; else
	not_ok "the backup"; fi
expect_journal_added 1 "one journal line"
expect_journal_last 'j["figures"]["opsctl_deps_updated"] == 5 and j["figures"]["opsctl_deps_rolled_back"] == 0' \
	"the journal says updated 5, not rolled back"

# ---- -t major with a failing test: everything back, byte for byte ----
BEFORE=$(tree_sum "$P")
cp "$P/package.json" "$T/pkg-before.json"
echo 3 >"$CMD_FAIL.test"
: >"$CMD_LOG"
run "$OPSCTL" --output json deps -t major
expect_rc 1 "the test command failed: exit 1"
expect_json_true 'd["error"] == "test command '"'$T/cmd.sh test'"' failed (exit 3); 4 manifests rolled back"' \
	"the error names the command and its exit status, and the roll-back"
expect_json_true 'd["rolled_back"] == True and sorted(d["restored"]) == ["package-lock.json", "package.json", "requirements-dev.txt", "requirements.txt"]' \
	"every rewritten manifest restored (package.json's range had changed too)"
if [ "$(tree_sum "$P")" = "$BEFORE" ]; then ok "the project is byte for byte as before"; else not_ok "the project changed"; fi
expect_journal_last 'j["status"] != "ok" and j["figures"]["opsctl_deps_rolled_back"] == 1 and j["figures"]["opsctl_deps_updated"] == 0' \
	"the journal says rolled back"
rm -f "$CMD_FAIL.test"

# package.json's range moves with a major update (the operator kept)
fresh
run "$OPSCTL" --output json deps -t major
expect_rc 0 "-t major applied"
if python3 -c "
import json
p = json.load(open('$P/package.json'))
assert p['dependencies'] == {'leftpad-lite': '^2.0.0', '@acme/widget': '~0.5.0'}, p
l = json.load(open('$P/package-lock.json'))['packages']['']['dependencies']
assert l == p['dependencies'], l
"; then ok "package.json and the lock's root: ^2.0.0 and ~0.5.0"; else not_ok "the ranges after -t major"; fi

# ---- the install command fails: the test does not run ----
fresh
BEFORE=$(tree_sum "$P")
echo 2 >"$CMD_FAIL.install"
: >"$CMD_LOG"
run "$OPSCTL" deps -t minor
expect_fail 1 "install failed: exit 1" "install command '$T/cmd.sh install' failed (exit 2)" "rolled back"
if [ "$(tree_sum "$P")" = "$BEFORE" ] && ! grep -q "^test" "$CMD_LOG"; then ok "restored, and the test command never ran"; else
	not_ok "after a failed install"; fi
rm -f "$CMD_FAIL.install"

# ---- a command that runs too long ----
touch "$CMD_SLEEP"
derive_conf "$OPSCTL_CONFIG" "$T/slow.conf" "command_timeout = 1s"
run "$OPSCTL" --config "$T/slow.conf" deps
expect_fail 1 "a command past deps.command_timeout is stopped" "timed out after 1 s" "rolled back"
if [ "$(tree_sum "$P")" = "$BEFORE" ]; then ok "and the manifests restored"; else not_ok "the project changed after a timeout"; fi
rm -f "$CMD_SLEEP"

# ---- -s: only what fixes an advisory ----
fresh
run "$OPSCTL" --output json deps -s
expect_rc 0 "-s applied"
expect_json_true 'sorted(u["package"] for u in d["updated"]) == ["leftpad-lite", "requests-lite"]' "only the two packages with advisories"
if cmp -s "$T/pristine/requirements-dev.txt" "$P/requirements-dev.txt"; then ok "-s left the other pins alone"; else not_ok "-s changed requirements-dev.txt"; fi

# ---- a hash the index does not give: that package is refused, the rest updated ----
fresh
deps_pypi_add nohash 1.0.0
deps_pypi_add nohash 1.0.1 nohash
deps_pypi_index
NH=$(deps_sha nohash 1.0.0 | head -n 1)
printf 'nohash==1.0.0 --hash=sha256:%s\n' "$NH" >>"$P/requirements-dev.txt"
cp "$P/requirements-dev.txt" "$T/dev-before.txt"
run "$OPSCTL" --output json deps
expect_rc 0 "the others are updated"
expect_json_true 'find(d["refused"], "package", "nohash")["reason"].startswith("the index gives no sha256")' "nohash refused, with the reason"
if grep -qx "nohash==1.0.0 --hash=sha256:$NH" "$P/requirements-dev.txt"; then ok "its pin and hash left as they were (never a stale hash)"; else
	not_ok "nohash's line changed"; fi

# ---- nothing outside the project ----
fresh
ln -s "$T/outside/requirements.txt" "$P/requirements-link.txt"
run "$OPSCTL" deps -c
expect_fail 78 "a manifest that links outside the project directory" "requirements-link.txt" "outside the project directory"
rm "$P/requirements-link.txt"
printf '%s\n' '-r ../outside/requirements.txt' >>"$P/requirements.txt"
run "$OPSCTL" deps
expect_fail 78 "an -r include outside the project directory, named by FILE:LINE" "requirements.txt:5" "outside the project directory"
if [ "$(tree_sum "$T/outside")" = "$OUTSIDE" ]; then ok "nothing outside deps.project_dir was written"; else not_ok "a file outside changed"; fi

# ---- bad inputs ----
fresh
printf 'broken==1.2.x\n' >>"$P/requirements-dev.txt"
BEFORE=$(tree_sum "$P")
run "$OPSCTL" deps
expect_fail 65 "a bad version string" "requirements-dev.txt:6: '1.2.x' is not a PEP 440 version"
if [ "$(tree_sum "$P")" = "$BEFORE" ]; then ok "nothing written"; else not_ok "a manifest changed after a bad version"; fi
fresh
derive_conf "$OPSCTL_CONFIG" "$T/missing.conf" "manifests = requirements.txt, requirements-gone.txt"
run "$OPSCTL" --config "$T/missing.conf" deps
expect_fail 65 "an unreadable manifest" "requirements-gone.txt"
mkdir "$P/requirements-dir.txt"
derive_conf "$OPSCTL_CONFIG" "$T/dir.conf" "manifests = requirements-dir.txt"
run "$OPSCTL" --config "$T/dir.conf" deps
expect_fail 65 "a manifest that is a directory" "requirements-dir.txt"
derive_conf "$OPSCTL_CONFIG" "$T/odd.conf" "manifests = Gemfile"
run "$OPSCTL" --config "$T/odd.conf" deps
expect_fail 78 "a manifest deps does not read" "'Gemfile' is not a manifest deps reads"
rmdir "$P/requirements-dir.txt"
printf '{"dependencies": {"x": "1.0.0"' >"$P/package.json"
run "$OPSCTL" deps -c
expect_fail 65 "package.json that is not JSON" "package.json: not valid JSON"
fresh
run "$OPSCTL" deps -t huge
expect_error 64 "an unknown -t" "huge"
if [ "$(tree_sum "$P")" = "$(tree_sum "$T/pristine")" ]; then ok "no bad input wrote anything"; else not_ok "the project changed"; fi

done_testing
