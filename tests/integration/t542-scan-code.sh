#!/usr/bin/env bash
# t542: opsctl scan -t code on a planted tree and its hardened twin: each
# planted secret, permission and environment problem found exactly once at
# its severity, nothing of the code rules on the twin, skipped directories,
# symlinks, binary and oversized files, the allow-list, bandit's findings
# merged when bandit is installed, and no secret in clear in any output.
. "$(dirname "$0")/../lib/common.sh"

# Built from pieces so that this script itself holds no scannable secret.
AKID="AKIA""Q3EGRT7ZPLX4WM2B"
ASK="kJ8vN2xQ9rT4""wL6yP1zB5mC7dF3gH0sA8eR2uI9o"
GHP="ghp_""R8vT2kL9mQ4xW7zP1nB6yC3dF5gH0jS8aE2u"
JWT="eyJhbGciOiJIUzI1NiJ9"".eyJzdWIiOiJ0NTQyIiwiYWRtaW4iOnRydWV9"".Qm9vZ3VzU2lnbmF0dXJlRm9yVDU0MnRlc3Q"
PW="Zx9#kQ2v!Lm7""pR4tWq"
SECRETS=("$AKID" "$ASK" "$GHP" "$JWT" "$PW" "s3cr3t-env-value-t542")

R="$T/repo"
mkdir -p "$R/src" "$R/.git" "$R/node_modules/m" "$R/venv/lib" "$R/__pycache__" "$R/conf"
printf 'import os\nREGION = "eu-west-1"\nKEY_ID = "%s"\n# the pair\nSECRET_ACCESS_KEY = "%s"\n' \
	"$AKID" "$ASK" >"$R/src/aws.py"
printf -- '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n' >"$R/conf/deploy_key"
chmod 600 "$R/conf/deploy_key"
printf 'ci:\n  github_token: %s\n' "$GHP" >"$R/conf/ci.yaml"
printf 'curl -H "Authorization: Bearer %s" http://x\n' "$JWT" >"$R/src/call.sh"
printf 'DB_PASSWORD=changeme\nREDIS_PASSWORD=${REDIS_PASSWORD}\nJWT_SECRET=%s\nAPI_TOKEN=xxxxxxxxxxxx\n' "$PW" >"$R/.env"
chmod 644 "$R/.env"
echo 'shared notes' >"$R/notes.txt"
chmod 666 "$R/notes.txt"
printf 'import subprocess\n\ndef run(cmd):\n    return subprocess.call(cmd, shell=True)\n' >"$R/src/tool.py"
# Not entered: other tools' trees.
for d in .git node_modules/m venv/lib __pycache__; do printf 'k = "%s"\n' "$AKID" >"$R/$d/f.txt"; done
# Not followed: a link to a secret outside the tree.
mkdir -p "$T/outside"
printf 'k = "%s"\n' "$GHP" >"$T/outside/leak.txt"
ln -s "$T/outside/leak.txt" "$R/link.txt"
ln -s "$T/outside" "$R/linkdir"
# Binary (a NUL early) and oversized files are skipped, each counted.
printf 'BIN\0%s\n' "$AKID" >"$R/blob.bin"
{ head -c 3000 /dev/zero | tr '\0' 'a'; printf '\n%s\n' "$GHP"; } >"$R/big.log"

# The hardened twin: the same tree with references instead of values.
H="$T/hardened"
mkdir -p "$H/src" "$H/conf"
printf 'import os\nKEY_ID = os.environ["AWS_ACCESS_KEY_ID"]\nSECRET_ACCESS_KEY = os.environ["AWS_SECRET_ACCESS_KEY"]\n' >"$H/src/aws.py"
printf 'ci:\n  github_token: ${{ secrets.GITHUB_TOKEN }}\n' >"$H/conf/ci.yaml"
printf 'DB_PASSWORD=changeme\nREDIS_PASSWORD=${REDIS_PASSWORD}\nJWT_SECRET=${JWT_SECRET}\n' >"$H/.env"
chmod 600 "$H/.env"
echo 'shared notes' >"$H/notes.txt"
chmod 644 "$H/notes.txt"

conf() {	# conf PATHS [EXTRA LINES...]
	{
		echo '[scan]'
		echo "code_paths = $1"
		echo 'code_max_file_size = 2K'
		shift
		printf '%s\n' "$@"
	} >"$T/opsctl.conf"
}
# A clean environment plus what the test plants.
scan() {
	run env -i PATH="$PATH" HOME="$HOME" TZ=UTC LC_ALL=C.UTF-8 OPSCTL_STATE_DIR="$OPSCTL_STATE_DIR" \
		OPSCTL_CONFIG="$T/opsctl.conf" ${SCAN_ENV:-} "$OPSCTL" scan -t code "$@"
}
count() {	# count RULE [SEVERITY] [FILE]: findings of RULE in the JSON results
	python3 - "$1" "${2:-}" "${3:-$T/res.json}" <<'EOF'
import json, sys
d = json.load(open(sys.argv[3]))
print(sum(1 for f in d["findings"] if f["rule"] == sys.argv[1] and (not sys.argv[2] or f["severity"] == sys.argv[2])))
EOF
}
expect_count() {	# expect_count N RULE SEVERITY DESC [FILE]
	local n
	n=$(count "$2" "$3" "${5:-$T/res.json}")
	if [ "$n" = "$1" ]; then ok "$4"; else not_ok "$4 ($n findings of $2 at ${3:-any}, expected $1)"; fi
}
no_secret_in() {	# no_secret_in DESC FILE...
	local desc=$1 s f bad=""
	shift
	for f in "$@"; do
		for s in "${SECRETS[@]}"; do
			grep -qF -- "$s" "$f" && bad="${bad:+$bad; }$(basename "$f") has ${s:0:6}..."
		done
	done
	if [ -z "$bad" ]; then ok "$desc"; else not_ok "$desc ($bad)"; fi
}

# ---- the planted tree ----
conf "$R"
SCAN_ENV="DB_PASSWORD=s3cr3t-env-value-t542 API_TOKEN=s3cr3t-env-value-t542"
scan -o "$T/res.json" -s low --exit-zero
SCAN_ENV=
expect_rc 0 "planted tree, --exit-zero: exit 0"
cp "$OUT" "$T/text.out"
expect_count 1 code.secret.aws-access-key critical "the AWS key id with its secret key 2 lines on: once, critical"
expect_count 0 code.secret.aws-secret-key "" "...its secret key not reported a second time"
expect_count 1 code.secret.private-key critical "the OpenSSH private key: once, critical"
expect_count 1 code.secret.token high "the GitHub token in ci.yaml: once, high (not the one behind the link, nor big.log's)"
expect_count 1 code.secret.jwt high "the JWT in a script: once, high"
expect_count 1 code.secret.assignment high "JWT_SECRET=<random> in .env: once (changeme, \${VAR}, xxxx not reported)"
expect_count 1 code.file.secret-readable high "the 0644 .env: once, high"
expect_count 1 code.file.world-writable medium "the 0666 file: once, medium"
expect_count 1 code.env.sensitive low "DB_PASSWORD in the environment: low"
expect_count 1 code.env.sensitive info "API_TOKEN in the environment: info"
expect_count 1 code.skip.too-large info "the file over code_max_file_size: one info finding"
expect_count 1 code.skip.binary info "the binary file: counted in one info finding"
if python3 - "$T/res.json" <<'EOF'; then ok "file, line, column, evidence and fingerprint on the AWS finding"; else not_ok "file, line, column, evidence and fingerprint on the AWS finding"; fi
import json, sys
d = json.load(open(sys.argv[1]))
f = [f for f in d["findings"] if f["rule"] == "code.secret.aws-access-key"][0]
assert f["file"].endswith("src/aws.py") and f["line"] == 3 and f["column"] == 11, f
assert "AKIA" in f["evidence"] and "****" in f["evidence"] and len(f["fingerprint"]) == 32, f
EOF
grep -q 'env_value\|DB_PASSWORD is set' "$T/res.json" && ok "the environment finding names the variable" ||
	not_ok "the environment finding names the variable"
no_secret_in "no secret in clear in the JSON file or on the terminal" "$T/res.json" "$T/text.out"
scan -o "$T/res.sarif" --format sarif -s low --exit-zero
no_secret_in "...nor in the SARIF file" "$T/res.sarif"
if python3 - "$T/res.json" <<'EOF'; then
import json, re, sys
d = json.load(open(sys.argv[1]))
files = [f.get("file", "") for f in d["findings"]]
sys.exit(0 if files and not any(re.search(r"/(\.git|node_modules|venv|__pycache__)/", x) for x in files) else 1)
EOF
	ok ".git, node_modules, venv and __pycache__ not entered"
else
	not_ok ".git, node_modules, venv and __pycache__ not entered"
fi
if grep -q 'link' "$T/res.json"; then not_ok "symlinks not followed"; else ok "symlinks not followed"; fi

if missing_tool bandit >/dev/null; then
	skip "bandit's B602 merged as code.bandit, high" "bandit is not installed"
else
	n=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(sum(1 for f in d["findings"] if f["rule"] == "code.bandit" and "B602" in f["evidence"] and f["severity"] == "high" and f["file"].endswith("tool.py") and f["line"] == 4))' "$T/res.json")
	[ "$n" = 1 ] && ok "bandit's B602 (shell=True) merged once as code.bandit, high, at tool.py:4" ||
		not_ok "bandit's B602 merged once as code.bandit, high ($n)"
fi

# The floor: -s critical shows the criticals and fails the run.
scan -o "$T/crit.json" -s critical
expect_rc 1 "-s critical with critical findings: exit 1"
expect_out_contains "code.secret.private-key" "...the private key on the terminal"
expect_out_not_contains "code.secret.jwt" "...the high JWT finding not"

# A fingerprint does not move with the line.
fp1=$(python3 -c 'import json,sys; print([f["fingerprint"] for f in json.load(open(sys.argv[1]))["findings"] if f["rule"]=="code.secret.jwt"][0])' "$T/res.json")
sed -i '1i # a new first line' "$R/src/call.sh"
scan -o "$T/res2.json" -s low --exit-zero
fp2=$(python3 -c 'import json,sys; print([f["fingerprint"] for f in json.load(open(sys.argv[1]))["findings"] if f["rule"]=="code.secret.jwt"][0])' "$T/res2.json")
[ -n "$fp1" ] && [ "$fp1" = "$fp2" ] && ok "a finding keeps its fingerprint when its line moves" ||
	not_ok "a finding keeps its fingerprint when its line moves ($fp1 / $fp2)"

# ---- the allow-list: a fingerprint, a path regex ----
conf "$R" "code_allow = $fp1, conf/ci\\.yaml\$"
scan -o "$T/res.json" -s low --exit-zero
expect_count 0 code.secret.jwt "" "scan.code_allow: the JWT listed by fingerprint is not reported"
expect_count 0 code.secret.token "" "...the token in the file the regex names is not"
expect_count 1 code.secret.private-key critical "...and the rest still is"
conf "$R" "code_allow = ([unclosed"
scan -o "$T/bad.json"
expect_error 78 "a code_allow entry that does not compile: exit 78 naming it" "scan.code_allow" "([unclosed"
[ -e "$T/bad.json" ] && not_ok "...and no results file written" || ok "...and no results file written"

# ---- the hardened twin: nothing of the code rules ----
conf "$H"
scan -o "$T/hard.json" -s info
expect_rc 0 "hardened twin: exit 0 at -s info"
n=$(python3 -c 'import json,sys; print(len([f for f in json.load(open(sys.argv[1]))["findings"] if f["rule"].startswith("code.")]))' "$T/hard.json")
[ "$n" = 0 ] && ok "hardened twin: no finding of the code rules" || { not_ok "hardened twin: no finding of the code rules ($n)"; cat "$T/hard.json" | head -40 | sed 's/^/#  /'; }

# ---- a path that does not exist: an info finding, the scan goes on ----
conf "$T/nowhere,$H"
scan -o "$T/nw.json" -s low
expect_rc 0 "a missing code path: not a failure at -s low"
expect_count 1 code.unreachable info "...one info finding code.unreachable naming it" "$T/nw.json"
grep -q 'nowhere' "$T/nw.json" && ok "...which names the path" || not_ok "...which names the path"
conf "$T/nowhere" "unreachable = fail"
scan -o "$T/nw2.json" -s low
expect_error 69 "scan.unreachable = fail: a missing code path exits 69" "nowhere"

# ---- unreadable files are counted ----
# Root reads every file, so as root the scan runs as 'nobody' (as t190 does).
mkdir -p "$T/ur/sub" "$T/ur-state"
chmod 755 "$T/ur" "$T/ur/sub"
chmod 777 "$T/ur-state"
echo 'nothing here' >"$T/ur/open.txt"
printf 'k = "%s"\n' "$AKID" >"$T/ur/closed.txt"
chmod 644 "$T/ur/open.txt"
chmod 000 "$T/ur/closed.txt"
conf "$T/ur"
chmod 644 "$T/opsctl.conf"
if [ "$(id -u)" -ne 0 ]; then
	as=()
elif command -v runuser >/dev/null && id nobody >/dev/null 2>&1; then
	chmod 755 "$ROOT" 2>/dev/null || true
	as=(runuser -u nobody --)
else
	as=(none)
fi
if [ "${as[0]:-}" = none ]; then
	skip "an unreadable file is counted" "root without runuser or a nobody user"
else
	run "${as[@]}" env -i PATH="$PATH" HOME=/tmp TZ=UTC LC_ALL=C.UTF-8 OPSCTL_STATE_DIR="$T/ur-state" \
		OPSCTL_CONFIG="$T/opsctl.conf" "$OPSCTL" scan -t code -o "$T/ur-state/ur.json" -s low --exit-zero
	expect_rc 0 "a tree with an unreadable file: the scan goes on"
	expect_out_contains "unreadable files:     1" "...and counts the unreadable file"
	expect_count 0 code.secret.aws-access-key "" "...whose content it could not see" "$T/ur-state/ur.json"
fi

done_testing
