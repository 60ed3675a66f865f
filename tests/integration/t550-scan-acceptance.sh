#!/usr/bin/env bash
# t550: issue 14's acceptance test.  One deployment made weak on purpose
# (PostgreSQL with a trust rule and a superuser login, Redis without a
# password, an expired certificate in scan.cert_files, a compose file with a
# privileged container, a repo with a planted AWS key and a 0644 .env, an
# API without HSTS), scanned by ONE `opsctl scan` of every type: each
# planted problem found exactly once at its severity, within a bounded time,
# no planted secret in any output.  Then -s critical, SARIF 2.1.0 validated
# against the schema, and the hardened twin (each problem fixed) yielding
# none of the planted rules.  The set-ups are t544's (cluster, Redis),
# t548's (test CA, tests/lib/api_peer.py) and t540's (schema).
. "$(dirname "$0")/../lib/common.sh"
. "$ROOT/tests/lib/tls.sh"
. "$ROOT/tests/lib/pg.sh"
tool=$(missing_tool redis-server redis-cli openssl psql python3 npm) && bail_out "$tool (scripts/setup)"
SCHEMA="$(npm root -g 2>/dev/null)/@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json"
[ -f "$SCHEMA" ] || bail_out "the SARIF 2.1.0 schema at $SCHEMA (scripts/setup installs @microsoft/jest-sarif)"
PY=python3
/usr/bin/python3 -c 'import jsonschema' 2>/dev/null && PY=/usr/bin/python3
$PY -c 'import jsonschema' 2>/dev/null || bail_out "python3's jsonschema (scripts/setup: python3-jsonschema)"

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Built from pieces so that this script itself holds no scannable secret.
AKID="AKIA""T5L0QW8ZRNX3KD7M"
ASK="pV7mR2xK9tQ4""wN6yB1zC5hD8fG3jL0sE7aU2iO9e"
ENV_PW="Gq4!vT9z""Lx2#Rm7kWp"
PG_PW=pg-$$-Hv8pw REDIS_PW=redis-$$-Yt5pw
API_SECRET='Sup3rS3cretDbPassw0rd!'	# what api_peer.py's leaky /health leaks
SECRETS=("$AKID" "$ASK" "$ENV_PW" "$PG_PW" "$REDIS_PW" "$API_SECRET")

# ---- a test CA and its certificates (t548's) ----
P="$T/tls"
tls_peer_set "$P" "opsctl t550 CA" 2>"$T/openssl.log" ||
	{ sed 's/^/#   /' "$T/openssl.log"; bail_out "openssl makes the test CA and certificates"; }

# ---- the API (t548's peer): "leaky" has no HSTS, "hardened" has it ----
bg python3 "$ROOT/tests/lib/api_peer.py" "$T/ports" "$P"
wait_for 15 test -s "$T/ports" || { sed 's/^/#   /' "$BG_LOG"; bail_out "the API peer starts"; }
port() { awk -v n="$1" '$1 == n { print $2 }' "$T/ports"; }

# ---- PostgreSQL: its own cluster, one trust rule, a superuser login ----
unset OPSCTL_TEST_PG_STARTED
pg_start || bail_out "PostgreSQL starts"
DATA="$PG_TEST_DIR/data"
hba() {	# hba LINES: pg_hba.conf, reloaded
	printf '%s\n' "$@" >"$T/pg_hba"
	install -m 600 -o postgres -g postgres "$T/pg_hba" "$DATA/pg_hba.conf" 2>/dev/null ||
		cp "$T/pg_hba" "$DATA/pg_hba.conf"
}
psql_q "alter role postgres password '$PG_PW'" &&
	psql_q "create role admin login superuser" || bail_out "the weak roles"
hba "local all all scram-sha-256" "host all all 127.0.0.1/32 trust"
psql_q "select pg_reload_conf()" >/dev/null || bail_out "pg_hba.conf reloaded"

# ---- Redis: without a password, and its twin with one ----
P_WEAK=$(free_port) P_HARD=$(free_port)
mkdir -p "$T/rweak" "$T/rhard"
bg redis-server --port "$P_WEAK" --bind 127.0.0.1 --dir "$T/rweak" --save "" --appendonly no
bg redis-server --port "$P_HARD" --bind 127.0.0.1 --dir "$T/rhard" --save "" --appendonly no \
	--requirepass "$REDIS_PW"
wait_for 10 redis-cli -p "$P_WEAK" ping || bail_out "redis-server (no password) starts"
wait_for 10 env REDISCLI_AUTH="$REDIS_PW" redis-cli -p "$P_HARD" ping || bail_out "redis-server (requirepass) starts"

# ---- compose files: a privileged container, and the same without ----
DIGEST=sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
mkdir -p "$T/deploy-weak" "$T/deploy-hard"
compose() {	# compose EXTRA-LINE: a compose file that is clean but for EXTRA-LINE
	cat <<EOF
services:
  api:
    image: ghcr.io/example/rag-api:1.4.2@$DIGEST
    user: "10001:10001"
$1
    ports:
      - "127.0.0.1:8000:8000"
    healthcheck:
      test: ["CMD", "curl", "-f", "http://localhost:8000/health"]
    mem_limit: 1g
EOF
}
compose "    privileged: true" >"$T/deploy-weak/compose.yaml"
compose "    read_only: true" >"$T/deploy-hard/compose.yaml"

# ---- repos: a planted AWS key and a 0644 .env, and the hardened twin ----
R="$T/repo-weak" H="$T/repo-hard"
mkdir -p "$R/app" "$H/app"
printf 'import os\nKEY_ID = "%s"\nSECRET_ACCESS_KEY = "%s"\n' "$AKID" "$ASK" >"$R/app/settings.py"
printf 'JWT_SECRET=%s\n' "$ENV_PW" >"$R/.env"
chmod 644 "$R/.env"
printf 'import os\nKEY_ID = os.environ["AWS_ACCESS_KEY_ID"]\nSECRET_ACCESS_KEY = os.environ["AWS_SECRET_ACCESS_KEY"]\n' >"$H/app/settings.py"
printf 'JWT_SECRET=${JWT_SECRET}\n' >"$H/.env"
chmod 600 "$H/.env"

conf() {	# conf NAME REDIS-PORT CERT DEPLOY REPO API: $T/NAME.conf
	write_config "$T/$1.conf" <<EOF
[db]
databases = postgres
[cache]
redis_url = redis://127.0.0.1:$2
[redis]
connect_timeout = 5s
[scan]
cert_files = $P/$3.pem
compose_files = $T/$4/compose.yaml
dockerfiles = $T/$4
code_paths = $T/$5
lynis = no
api_url = https://localhost:$(port "$6")/
api_ca_file = $P/ca.pem
api_http_url = http://127.0.0.1:$(port redirect)/
api_timeout = 3s
EOF
	chmod 600 "$T/$1.conf"
}
# opsctl makes its state directory 0755 on first use (the metrics textfile
# must be readable); infra accepts that, so two scans of one deployment
# agree whether the state directory existed before the first or not.
conf weak "$P_WEAK" expired deploy-weak repo-weak leaky
conf hard "$P_HARD" good deploy-hard repo-hard hardened

# The planted problems: rule severity target-suffix (or file:line suffix),
# one finding each.
cat >"$T/planted" <<EOF
infra.pg.hba-trust critical postgresql://127.0.0.1:$PGPORT
infra.pg.privileged-role high admin
infra.redis.no-password critical user default
infra.cert.expired critical expired.pem
container.compose.privileged critical api
code.secret.aws-access-key critical settings.py:2
code.file.secret-readable high .env
api.headers.no-hsts medium localhost:$(port leaky)/
EOF
# planted FILE: a line per planted problem not found exactly once at its
# severity and target (by rule id, with the count of each).
planted() {
	$PY - "$1" "$T/planted" <<'PY'
import json, sys
fs = json.load(open(sys.argv[1]))["findings"]
for l in open(sys.argv[2]):
    rule, sev, tgt = l.split(None, 2)
    tgt = tgt.strip()
    of_rule = [f for f in fs if f["rule"] == rule]
    m = [f for f in of_rule if f["severity"] == sev and (f["target"].endswith(tgt) or
         ("%s:%s" % (f.get("file", ""), f.get("line", ""))).endswith(tgt))]
    if len(of_rule) != 1 or len(m) != 1:
        print("%s: %d findings, %d at %s on ...%s: %s" % (rule, len(of_rule), len(m), sev, tgt,
              [(f["severity"], f["target"]) for f in of_rule]))
PY
}
no_secret_in() {	# no_secret_in DESC FILE...
	local desc=$1 s f bad=""
	shift
	for f in "$@"; do
		for s in "${SECRETS[@]}"; do
			grep -qF -- "$s" "$f" && bad="${bad:+$bad; }$(basename "$f") has ${s:0:4}..."
		done
	done
	if [ -z "$bad" ]; then ok "$desc"; else not_ok "$desc ($bad)"; fi
}

# ---- ONE scan of every type over the weak deployment ----
start=$(date +%s)
run timeout 120 env OPSCTL_CONFIG="$T/weak.conf" "$OPSCTL" scan -s low -o "$T/weak.json"
took=$(($(date +%s) - start))
expect_rc 1 "opsctl scan (every type, -s low) on the weak deployment: exit 1"
cp "$OUT" "$T/weak.out"
cp "$ERR" "$T/weak.err"
[ "$took" -lt 60 ]
check $? "...finished in ${took}s (under 60 s)"
[ -f "$T/weak.json" ] && $PY -c 'import json,sys; json.load(open(sys.argv[1]))["findings"]' "$T/weak.json"
check $? "-o FILE: the JSON results file is written"
planted "$T/weak.json" >"$T/planted.out" 2>&1
if [ -s "$T/planted.out" ]; then
	not_ok "each of the 8 planted problems found exactly once, at its severity and target"
	sed 's/^/#   /' "$T/planted.out"
else
	ok "each of the 8 planted problems found exactly once, at its severity and target"
fi
$PY - "$T/weak.json" <<'PY'
import json, sys
fs = json.load(open(sys.argv[1]))["findings"]
types = {f["rule"].split(".")[0] for f in fs}
assert {"code", "infra", "container", "api"} <= types, types
need = ("rule", "severity", "title", "target", "evidence", "remediation", "fingerprint")
assert all(all(f.get(k) for k in need) for f in fs)
assert len({f["fingerprint"] for f in fs}) == len(fs)
PY
check $? "...every type ran; each finding has rule, severity, title, target, evidence, remediation and its own fingerprint"
for t in code infra container api; do grep -q "$t\." "$T/weak.out"; done
check $? "the text output names the findings"
no_secret_in "no planted secret in the results file, stdout or stderr" "$T/weak.json" "$T/weak.out" "$T/weak.err"

# ---- -s critical: the output and the exit filter, the file keeps everything ----
run env OPSCTL_CONFIG="$T/weak.conf" "$OPSCTL" --output json scan -s critical -o "$T/crit.json"
expect_rc 1 "-s critical with critical findings: exit 1"
cp "$OUT" "$T/crit.out"
expect_json_true 'd["findings"] and all(f["severity"] == "critical" for f in d["findings"]) and {"infra.pg.hba-trust", "infra.redis.no-password", "infra.cert.expired", "container.compose.privileged", "code.secret.aws-access-key"} <= {f["rule"] for f in d["findings"]}' \
	"-s critical: the output holds the critical findings only, the five planted ones among them"
$PY - "$T/weak.json" "$T/crit.json" <<'PY'
import json, sys
a = sorted((f["rule"], f["fingerprint"]) for f in json.load(open(sys.argv[1]))["findings"] if f["rule"] not in ("code.env.sensitive",))
b = sorted((f["rule"], f["fingerprint"]) for f in json.load(open(sys.argv[2]))["findings"] if f["rule"] not in ("code.env.sensitive",))
assert a == b, (set(a) ^ set(b))
PY
check $? "...while its results file keeps every finding of the -s low run, with the same fingerprints"
no_secret_in "...and no planted secret in it" "$T/crit.json" "$T/crit.out" "$ERR"

# ---- SARIF 2.1.0 of the same deployment ----
run env OPSCTL_CONFIG="$T/weak.conf" "$OPSCTL" scan -s low --format sarif -o "$T/weak.sarif"
expect_rc 1 "--format sarif: exit 1 as well"
$PY - "$SCHEMA" "$T/weak.sarif" "$T/planted" <<'PY'
import json, sys, jsonschema
doc = json.load(open(sys.argv[2]))
jsonschema.validate(doc, json.load(open(sys.argv[1])))
run = doc["runs"][0]
ids = {r["id"] for r in run["tool"]["driver"]["rules"]}
got = [r["ruleId"] for r in run["results"]]
for l in open(sys.argv[3]):
    assert got.count(l.split()[0]) == 1, l
for r in run["results"]:
    assert r["ruleId"] in ids and r["partialFingerprints"] and r["locations"], r
    # GitHub code scanning refuses a result without a repository-relative physical location.
    uri = r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri and "://" not in uri and not uri.startswith("/"), uri
PY
check $? "the SARIF file validates against the SARIF 2.1.0 schema, has each planted rule once, and every result (servers, URLs, files outside the tree too) a repository-relative physical location, as GitHub code scanning needs"
no_secret_in "...and no planted secret in it" "$T/weak.sarif" "$OUT" "$ERR"

# ---- the hardened twin: none of the planted rules ----
psql_q "drop role admin" || bail_out "the superuser login dropped"
hba "local all all scram-sha-256" "host all all 127.0.0.1/32 scram-sha-256"
PGPASSWORD=$PG_PW psql_q "select pg_reload_conf()" >/dev/null || bail_out "pg_hba.conf reloaded (scram)"
run timeout 120 env OPSCTL_CONFIG="$T/hard.conf" PGPASSWORD="$PG_PW" REDISCLI_AUTH="$REDIS_PW" \
	"$OPSCTL" scan -s low -o "$T/hard.json" --exit-zero
expect_rc 0 "the hardened twin: the scan runs"
cp "$OUT" "$T/hard.out"
$PY - "$T/hard.json" "$T/planted" >"$T/hard.got" <<'PY'
import json, sys
rules = {l.split()[0] for l in open(sys.argv[2])}
for f in json.load(open(sys.argv[1]))["findings"]:
    if f["rule"] in rules or f["rule"].endswith(".unreachable") or f["rule"] == "infra.unchecked":
        print(f["rule"], f["severity"], f["target"], f["evidence"])
PY
if [ -f "$T/hard.json" ] && [ ! -s "$T/hard.got" ]; then
	ok "the hardened twin: none of the planted rules, every target reached"
else
	not_ok "the hardened twin: none of the planted rules, every target reached"
	sed 's/^/#   /' "$T/hard.got"
fi
no_secret_in "...and no secret in its results or output" "$T/hard.json" "$T/hard.out" "$ERR"

done_testing
