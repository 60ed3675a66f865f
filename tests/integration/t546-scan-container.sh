#!/usr/bin/env bash
# t546: scan -t container.  A compose file and a Dockerfile with planted
# problems (a privileged container, the host's network, the Docker and
# Podman sockets, PostgreSQL published on every address, secrets in
# environment:, ENV and ARG, images on latest, ADD of a URL, root), each
# found once at its severity with its file and line; hardened twins that
# yield nothing; trivy's JSON report merged from a fixture (trivy's database
# cannot be downloaded here); no secret in any output.
. "$(dirname "$0")/../lib/common.sh"

FIX="$ROOT/tests/fixtures"
mkdir -p bad good
cat >bad/compose.yaml <<'EOF'
x-common: &common
  healthcheck:
    test: ["CMD", "true"]
  mem_limit: 512m

services:
  api:
    image: ghcr.io/example/rag-api:latest
    privileged: true
    network_mode: host
    volumes:
      - /var/run/docker.sock:/var/run/docker.sock
      - ./data:/data
    environment:
      OPENAI_API_KEY: sk-plantedComposeKey1234567890
      LOG_LEVEL: info
  db:
    image: postgres:16
    user: "999:999"
    ports:
      - "5432:5432"
    environment:
      - POSTGRES_PASSWORD=${POSTGRES_PASSWORD}
    healthcheck:
      test: ["CMD", "pg_isready"]
    deploy:
      resources:
        limits:
          memory: 1g
  worker:
    <<: *common
    image: python
    user: root
    volumes:
      - type: bind
        source: /run/podman/podman.sock
        target: /run/podman/podman.sock
    environment:
      - DATABASE_URL=postgresql://app:pl4ntedUrlPassword@db/chatbot
    ports:
      - "127.0.0.1:6379:6379"
EOF
cat >bad/Dockerfile <<'EOF'
# syntax=docker/dockerfile:1
FROM python:latest AS build
RUN pip wheel -w /w .

FROM build
ADD https://example.com/model.tar.gz /opt/model/
ENV API_TOKEN=plantedDockerToken123456 \
    LOG_LEVEL=info
ARG DB_PASSWORD=plantedArgPassword99
COPY --from=build /w /w
CMD ["python", "-m", "app"]
EOF
DIGEST=sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
cat >good/podman-compose.yml <<EOF
services:
  api:
    image: ghcr.io/example/rag-api:1.4.2@$DIGEST
    user: "10001:10001"
    environment:
      OPENAI_API_KEY: \${OPENAI_API_KEY}
      LOG_LEVEL: info
      DB_PASSWORD: ~
      REDIS_PASSWORD:
    ports:
      - "8000:8000"
    healthcheck:
      test: ["CMD", "curl", "-f", "http://localhost:8000/health"]
    deploy:
      resources:
        limits:
          cpus: "2"
          memory: 2g
  db:
    image: postgres:16.4@$DIGEST
    user: "999:999"
    ports:
      - "127.0.0.1:5432:5432"
    environment:
      - POSTGRES_PASSWORD=\${POSTGRES_PASSWORD}
      - POSTGRES_PASSWORD_FILE=/run/secrets/db_password
    volumes:
      - pgdata:/var/lib/postgresql/data
    healthcheck:
      test: ["CMD", "pg_isready"]
    mem_limit: 1g
volumes:
  pgdata: {}
EOF
cat >good/Containerfile <<EOF
FROM python:3.12-slim@$DIGEST AS build
USER root
RUN pip wheel -w /w .
FROM build
ADD app.tar.gz /opt/app/
ENV API_TOKEN=\${API_TOKEN} LOG_LEVEL=info
ARG DB_PASSWORD
USER 10001:10001
EOF
# the final stage inherits the USER of the named stage it starts from
cat >good/worker.dockerfile <<EOF
FROM python:3.12-slim@$DIGEST AS runtime
USER 10001
FROM runtime
CMD ["python", "-m", "worker"]
EOF
SECRETS="sk-plantedComposeKey1234567890 pl4ntedUrlPassword plantedDockerToken123456 plantedArgPassword99"

write_config "$T/bad.conf" <<EOF
[scan]
compose_files = $T/bad
dockerfiles = $T/bad
EOF
write_config "$T/good.conf" <<EOF
[scan]
compose_files = $T/good
dockerfiles = $T/good
EOF

# no secret in clear in any output
no_secrets() {	# no_secrets DESC FILE...
	local desc=$1 f s bad=
	shift
	for f in "$@"; do
		for s in $SECRETS; do
			grep -qF -- "$s" "$f" && bad="${bad:+$bad; }$s in $(basename "$f")"
		done
	done
	if [ -z "$bad" ]; then ok "$desc"; else not_ok "$desc ($bad)"; fi
}

# ---- the planted problems ----
run "$OPSCTL" --config "$T/bad.conf" scan -t container -o "$T/bad.json" -s low --exit-zero
expect_rc 0 "planted problems with --exit-zero: exit 0"
expect_out_contains "container.compose.privileged" "text output names the rules"
cp "$OUT" "$T/bad.txt"

# one line per expected finding: rule severity file line target-suffix
cat >"$T/expected" <<'EOF'
container.compose.privileged critical bad/compose.yaml 9 api
container.compose.host-network high bad/compose.yaml 10 api
container.compose.socket-mount critical bad/compose.yaml 12 api
container.secret.environment high bad/compose.yaml 15 api
container.image.latest medium bad/compose.yaml 8 api
container.user.root medium bad/compose.yaml 7 api
container.compose.no-healthcheck low bad/compose.yaml 7 api
container.compose.no-limits low bad/compose.yaml 7 api
container.compose.store-port-public high bad/compose.yaml 21 db
container.image.unpinned low bad/compose.yaml 18 db
container.image.latest medium bad/compose.yaml 32 worker
container.user.root medium bad/compose.yaml 33 worker
container.compose.socket-mount critical bad/compose.yaml 35 worker
container.secret.environment high bad/compose.yaml 39 worker
container.image.latest medium bad/Dockerfile 2 bad/Dockerfile
container.dockerfile.add-url medium bad/Dockerfile 6 bad/Dockerfile
container.secret.environment high bad/Dockerfile 7 bad/Dockerfile
container.secret.environment high bad/Dockerfile 9 bad/Dockerfile
container.user.root medium bad/Dockerfile 5 bad/Dockerfile
EOF
python3 - "$T/bad.json" "$T/expected" >"$T/check.out" 2>&1 <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
fs = doc["findings"] if isinstance(doc, dict) else doc
exp = [l.split() for l in open(sys.argv[2]) if l.strip()]
for rule, sev, file, line, tgt in exp:
    m = [f for f in fs if f["rule"] == rule and f.get("file") == file and f.get("line") == int(line)]
    if len(m) != 1:
        print(f"not found once ({len(m)}): {rule} {file}:{line}")
        continue
    f = m[0]
    if f["severity"] != sev:
        print(f"{rule} {file}:{line}: severity {f['severity']}, wanted {sev}")
    if not f["target"].endswith(tgt):
        print(f"{rule} {file}:{line}: target {f['target']}")
    for k in ("title", "evidence", "remediation", "fingerprint"):
        if not f.get(k):
            print(f"{rule} {file}:{line}: no {k}")
mine = [f for f in fs if f["rule"].startswith("container.")]
if len(mine) != len(exp):
    print(f"{len(mine)} container findings, wanted {len(exp)}:")
    for f in mine:
        print("  ", f["rule"], f.get("file"), f.get("line"))
PY
if [ -s "$T/check.out" ]; then not_ok "each planted problem found once, at its severity, file and line"; sed 's/^/#   /' "$T/check.out"
else ok "each planted problem found once, at its severity, file and line"; fi
run python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); fs=d["findings"] if isinstance(d,dict) else d; print(json.dumps([f["evidence"] for f in fs if f["rule"]=="container.secret.environment"]))' "$T/bad.json"
expect_out_contains 'OPENAI_API_KEY=sk-p' "compose secret evidence names the variable, redacted"
expect_out_contains 'postgresql://app:' "a URL's password is redacted, the rest kept"
expect_out_contains 'DB_PASSWORD=' "ARG secret named"

run "$OPSCTL" --config "$T/bad.conf" --output json scan -t container -o "$T/bad.sarif" --format sarif -s low --exit-zero
expect_rc 0 "SARIF run: exit 0"
cp "$OUT" "$T/bad-stdout.json"
run python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
for r in d["runs"][0]["results"]:
    if r["ruleId"] == "container.compose.privileged":
        l = r["locations"][0]["physicalLocation"]
        print(l["artifactLocation"]["uri"], l["region"]["startLine"])
' "$T/bad.sarif"
expect_out_contains "bad/compose.yaml 9" "SARIF: the privileged finding's location is bad/compose.yaml line 9"
no_secrets "no planted secret in the text, JSON, SARIF or results file" \
	"$T/bad.txt" "$T/bad.json" "$T/bad.sarif" "$T/bad-stdout.json"

run "$OPSCTL" --config "$T/bad.conf" scan -t container -o "$T/crit.json" -s critical
expect_rc 1 "-s critical with critical findings: exit 1"
run python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(sorted(set(f["severity"] for f in d["findings"])))' "$T/bad-stdout.json"
run "$OPSCTL" --config "$T/bad.conf" --output json scan -t container -o "$T/crit.json" -s critical --exit-zero
expect_json_true 'len(d["data"]["findings"] if "data" in d else d["findings"]) == 3' "-s critical shows the three critical findings only"

# ---- the hardened twins ----
run "$OPSCTL" --config "$T/good.conf" scan -t container -o "$T/good.json" -s low
expect_rc 0 "hardened compose file and Containerfile: exit 0 at -s low"
run python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); fs=d["findings"] if isinstance(d,dict) else d; print(len([f for f in fs if f["rule"].startswith("container.")]))' "$T/good.json"
expect_out_contains "0" "hardened twins: no container finding at all"

# ---- defaults: the current directory ----
mkdir -p cwd/deploy/podman cwd/node_modules/x
cp bad/compose.yaml cwd/deploy/podman/docker-compose.yml
cp bad/Dockerfile cwd/node_modules/x/Dockerfile
cd cwd && run "$OPSCTL" --output json scan -t container -o "$T/cwd.json" -s low --exit-zero
cd "$T" || exit 1
expect_json_true 'any(f.get("file") == "deploy/podman/docker-compose.yml" for f in (d["data"] if "data" in d else d)["findings"])' \
	"unset: the compose file is found below the current directory"
expect_json_true 'not any("node_modules" in f.get("file", "") for f in (d["data"] if "data" in d else d)["findings"])' \
	"node_modules is not searched"
mkdir -p empty
cd empty && run "$OPSCTL" --output json scan -t container -o "$T/empty.json" -s info --exit-zero
cd "$T" || exit 1
expect_rc 0 "nothing to check: exit 0"
expect_json_true 'any(f["rule"] == "container.none" for f in (d["data"] if "data" in d else d)["findings"])' \
	"nothing to check is said, not a silent clean result"

# ---- files that cannot be read ----
printf 'services:\n  api:\n    image: [unclosed\n' >broken.yaml
write_config "$T/broken.conf" <<EOF
[scan]
compose_files = $T/broken.yaml, $T/missing-compose.yaml
dockerfiles = $T/good
EOF
run "$OPSCTL" --config "$T/broken.conf" --output json scan -t container -o "$T/broken.json" -s info --exit-zero
expect_rc 0 "malformed and missing compose files are info findings: exit 0"
expect_json_true 'len([f for f in (d["data"] if "data" in d else d)["findings"] if f["rule"] == "container.unreachable"]) == 2' \
	"two container.unreachable findings"
expect_json_true 'any("broken.yaml:4:1: not YAML: " in u for u in (d["data"] if "data" in d else d)["unreachable"])' \
	"the malformed file is named with its line and column"
printf '[scan]\nunreachable = fail\ncompose_files = %s\n' "$T/missing-compose.yaml" >"$T/fail.conf"
run "$OPSCTL" --config "$T/fail.conf" scan -t container -o "$T/fail.json"
expect_error 69 "scan.unreachable = fail and a missing compose file: exit 69 naming it" "missing-compose.yaml"

# ---- trivy's report, from the fixture ----
write_config "$T/trivy.conf" <<EOF
[scan]
compose_files = $T/good
dockerfiles = $T/good
trivy_json = $FIX/trivy-image.json
EOF
run "$OPSCTL" --config "$T/trivy.conf" --output json scan -t container -o "$T/trivy.json" -s low --exit-zero
expect_rc 0 "trivy fixture merged: exit 0 with --exit-zero"
expect_json_true '[(f["evidence"].split()[0], f["severity"]) for f in (d["data"] if "data" in d else d)["findings"] if f["rule"] == "container.trivy"] == [("CVE-2024-45491", "critical"), ("CVE-2023-50495", "low"), ("CVE-2024-35195", "medium")] or sorted([(f["evidence"].split()[0], f["severity"]) for f in (d["data"] if "data" in d else d)["findings"] if f["rule"] == "container.trivy"]) == sorted([("CVE-2024-45491", "critical"), ("CVE-2023-50495", "low"), ("CVE-2024-35195", "medium")])' \
	"trivy's three vulnerabilities, each once, at trivy's severity"
expect_json_true 'all(f["target"] == "image ghcr.io/example/rag-api:1.4.2" for f in (d["data"] if "data" in d else d)["findings"] if f["rule"] == "container.trivy")' \
	"trivy findings name the image"
expect_json_true 'any("libexpat1 2.5.0-1 (fixed in 2.5.0-1+deb12u1)" in f["evidence"] for f in (d["data"] if "data" in d else d)["findings"])' \
	"evidence has the package, its version and the fixed version"
run "$OPSCTL" --config "$T/trivy.conf" scan -t container -o "$T/trivy2.json" -s low --exit-zero
run python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2])); print(sorted(f["fingerprint"] for f in a["findings"]) == sorted(f["fingerprint"] for f in b["findings"]))' "$T/trivy.json" "$T/trivy2.json"
expect_out_contains "True" "fingerprints are the same on a second run"
printf '{"SchemaVersion": 2, "Results": [' >"$T/trivy-broken.json"
printf '[scan]\ncompose_files = %s\ndockerfiles = %s\ntrivy_json = %s\n' "$T/good" "$T/good" "$T/trivy-broken.json" >"$T/tb.conf"
run "$OPSCTL" --config "$T/tb.conf" --output json scan -t container -o "$T/tb.json" -s low
expect_json_true 'any("trivy-broken.json" in u for u in (d["data"] if "data" in d else d)["unreachable"])' \
	"a truncated trivy report is an unreachable finding, not a crash"

# ---- trivy itself: a stand-in on PATH that writes the fixture where --output says ----
mkdir -p fakebin
cat >fakebin/trivy <<EOF
#!/bin/sh
echo "\$*" >>"$T/trivy-argv"
env >"$T/trivy-env"
[ -n "\${TRIVY_HANG:-}" ] && exec sleep 60
while [ \$# -gt 0 ]; do
	[ "\$1" = --output ] && cp "$FIX/trivy-image.json" "\$2"
	shift
done
exit 0
EOF
chmod +x fakebin/trivy
PATH="$T/fakebin:$PATH" PGPASSWORD=pgSecretNotForTrivy TRIVY_PASSWORD=registry-pass \
	run "$OPSCTL" --config "$T/good.conf" --output json scan -t container -o "$T/ft.json" -s low --exit-zero
expect_rc 0 "trivy on PATH: exit 0 with --exit-zero"
expect_file_contains "$T/trivy-argv" "image --quiet --format json --timeout 300s --output" "trivy image --format json is run"
expect_file_contains "$T/trivy-argv" "ghcr.io/example/rag-api:1.4.2@sha256:" "...for the compose file's image"
expect_file_contains "$T/trivy-argv" "python:3.12-slim@sha256:" "...and the Containerfile's base image"
expect_json_true 'sorted(set(f["target"] for f in d["findings"] if f["rule"] == "container.trivy")) == ["image ghcr.io/example/rag-api:1.4.2@'$DIGEST'", "image postgres:16.4@'$DIGEST'", "image python:3.12-slim@'$DIGEST'"]' \
	"each image's report merged under that image's name"
expect_json_true 'len([f for f in d["findings"] if f["rule"] == "container.trivy"]) == 9' \
	"...three vulnerabilities each, once"
run grep -c . "$T/trivy-argv"
expect_out_contains "3" "three images, each asked about once (postgres, rag-api, python)"
if grep -q pgSecretNotForTrivy "$T/trivy-env"; then not_ok "trivy does not get opsctl's credentials"; else ok "trivy does not get opsctl's credentials"; fi
expect_file_contains "$T/trivy-env" "TRIVY_PASSWORD=registry-pass" "trivy keeps its own TRIVY_ variables"
printf '[scan]\ncompose_files = %s\ndockerfiles = %s\ntrivy_timeout = 1s\n' "$T/good" "$T/good" >"$T/th.conf"
start=$(date +%s)
PATH="$T/fakebin:$PATH" TRIVY_HANG=1 \
	run "$OPSCTL" --config "$T/th.conf" --output json scan -t container -o "$T/th.json" -s info --exit-zero
took=$(( $(date +%s) - start ))
expect_rc 0 "a trivy that hangs: exit 0"
if [ "$took" -lt 40 ]; then ok "...stopped after its timeout (${took}s)"; else not_ok "...stopped after its timeout (${took}s)"; fi
expect_json_true 'any("trivy image" in u and "timed out" in u for u in d["unreachable"])' \
	"...and reported as an unreachable finding naming trivy and the image"

done_testing
