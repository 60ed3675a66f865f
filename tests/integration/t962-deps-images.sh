#!/usr/bin/env bash
# t962: opsctl deps on container images: every service's image: in the
# compose files, against real registries (Debian's docker-registry on
# loopback, images pushed through the registry API): version tags by kind
# with the same suffix only, the tag list followed across Link pages, the
# digest drift of a pinned `latest`, the update rewriting image values in
# place (quotes and comments kept, digests replaced by the new ones), the
# roll back when the test command fails, bad references naming FILE:LINE,
# an unreachable registry (69), and a registry behind htpasswd (77 without
# credentials, 0 with deps.registry_auth_file's).
. "$(dirname "$0")/../lib/common.sh"
. "$ROOT/tests/lib/deps.sh"
tool=$(missing_tool python3 curl docker-registry htpasswd) && bail_out "$tool (scripts/setup)"

deps_registry_start pub || bail_out "docker-registry did not start"
PUB=$REG_URL
deps_registry_start priv alice 'al1ce-s3cret' || bail_out "docker-registry (htpasswd) did not start"
PRIV=$REG_URL

push() { deps_image_push "$PUB" "$@"; }
for v in 1.2.3 1.2.4 1.3.0 2.0.0 v9 1.3.0-rc1; do push app "$v" >/dev/null || bail_out "push app:$v"; done
for v in 15-alpine 16-alpine 15.3-alpine 16 17-alpine; do push db "$v" >/dev/null || bail_out "push db:$v"; done
WEB123=$(push web 1.2.3) && WEB124=$(push web 1.2.4) && WEB130=$(push web 1.3.0) || bail_out "push web"
TOOL_A=$(push tool latest A) || bail_out "push tool"
TOOL_B=$(python3 -c 'print("sha256:" + "0" * 64)')
for i in $(seq 0 59); do push many "1.0.$i" same >/dev/null || bail_out "push many"; done
for v in 1.0.0 1.1.0; do deps_image_push "$PRIV" team/api "$v" "" 'alice:al1ce-s3cret' >/dev/null ||
	bail_out "push to the htpasswd registry"; done

P="$T/app"
mkdir -p "$P"
cat >"$P/compose.yaml" <<EOF
# the deployment
services:
  api:
    image: localhost:5000/app:1.2.3   # the API, app:1.2.3
  db:
    image: "localhost:5000/db:15-alpine"
  tool:
    image: 'localhost:5000/tool:latest@$TOOL_A'
  web:
    image: localhost:5000/web:1.2.3@$WEB123
  many: {image: localhost:5000/many:1.0.0}
  built:
    build: .
  env:
    image: \${APP_IMAGE:-localhost:5000/app:1.2.3}
EOF
cp "$P/compose.yaml" "$T/compose.orig"
export OPSCTL_CONFIG="$T/opsctl.conf"
printf '%s\n' '[deps]' "project_dir = $P" "image_registries = localhost:5000=$PUB, private.test:5001=$PRIV/" \
	>"$OPSCTL_CONFIG"
row() { echo 'next(r for r in d["dependencies"] if r["package"] == "localhost:5000/'"$1"'")'; }

# ---- -c: what could change, by kind ----
run "$OPSCTL" --output json deps -c
expect_rc 0 "-c: exit 0, no advisory"
expect_json_true 'd["manifests"] == ["compose.yaml"] and len(d["dependencies"]) == 6' \
	"compose.yaml found by its name, six images (the build-only service has none)"
expect_json_true "$(row app)"'["allowed_update"] == "1.3.0" and '"$(row app)"'["kind"] == "minor" and '"$(row app)"'["latest"] == "2.0.0" and '"$(row app)"'["ecosystem"] == "image" and '"$(row app)"'["line"] == 4' \
	"app:1.2.3 -> 1.3.0 (minor), 2.0.0 newest; v9 and 1.3.0-rc1 are not of its shape"
expect_json_true "$(row db)"'["allowed_update"] is None and '"$(row db)"'["latest"] == "17-alpine"' \
	"db:15-alpine: only -alpine tags of one number are candidates (not 15.3-alpine, not 16); 16-alpine is major"
expect_json_true "$(row web)"'["allowed_update"] == "1.3.0" and '"$(row web)"'["spec"].endswith("'"$WEB123"'")' \
	"web pinned with a digest: its tag moves too"
expect_json_true "$(row many)"'["allowed_update"] == "1.0.59"' "60 tags: the list followed across its Link pages"
expect_json_true "$(row tool)"'["allowed_update"] is None and '"$(row tool)"'["kind"] == "none"' \
	"tool:latest pinned at the digest it still has: nothing to do"
expect_json_true 'any(r["package"].startswith("${APP_IMAGE") and "interpolation" in r["note"] for r in d["dependencies"])' \
	"\${VAR:-default}: listed with a note, not resolved"
run "$OPSCTL" --output json deps -c -t major
expect_json_true "$(row db)"'["allowed_update"] == "17-alpine" and '"$(row db)"'["kind"] == "major" and '"$(row app)"'["allowed_update"] == "2.0.0"' \
	"-t major: 17-alpine, app 2.0.0"

# ---- the digest of latest moves ----
TOOL_B=$(push tool latest B)
run "$OPSCTL" --output json deps -c
expect_json_true "$(row tool)"'["allowed_update"] == "latest" and '"$(row tool)"'["kind"] == "digest" and "'"$TOOL_B"'" in '"$(row tool)"'["note"]' \
	"latest re-pushed: digest drift reported with the new digest"
run "$OPSCTL" deps -c
expect_rc 0 "text -c: exit 0"
expect_out_contains "localhost:5000/tool" "text: the image listed"

# ---- the test command fails: rolled back byte for byte ----
printf '%s\n' "test_command = /bin/false" >>"$OPSCTL_CONFIG"
run "$OPSCTL" --output json deps -t minor
expect_rc 1 "failing test command: exit 1"
expect_json_true 'd["rolled_back"] == True and d["restored"] == ["compose.yaml"]' "rolled back"
if cmp -s "$T/compose.orig" "$P/compose.yaml"; then ok "compose.yaml back byte for byte"; else not_ok "compose.yaml not restored"; fi
sed -i '/^test_command/d' "$OPSCTL_CONFIG"

# ---- update: values rewritten in place ----
run "$OPSCTL" --output json deps -t minor -b
expect_rc 0 "update: exit 0"
expect_json_true 'sorted(u["package"] for u in d["updated"]) == ["localhost:5000/app", "localhost:5000/many", "localhost:5000/tool", "localhost:5000/web"]' \
	"four images updated (db has no minor update)"
sed -e "s|app:1.2.3   #|app:1.3.0   #|" -e "s|tool:latest@$TOOL_A|tool:latest@$TOOL_B|" \
	-e "s|web:1.2.3@$WEB123|web:1.3.0@$WEB130|" -e "s|many:1.0.0|many:1.0.59|" "$T/compose.orig" >"$T/compose.want"
if cmp -s "$T/compose.want" "$P/compose.yaml"; then
	ok "compose.yaml: tags and digests replaced, quotes, comments and layout kept"
else not_ok "compose.yaml differs"; diff "$T/compose.want" "$P/compose.yaml" | sed 's/^/#   /'; fi
if grep -q "app:1.2.3}" "$P/compose.yaml" && grep -q "# the API, app:1.2.3" "$P/compose.yaml"; then
	ok "the interpolated image and the comment naming the old tag are left alone"; else not_ok "other text changed"; fi
B=$(json_get 'd["backup"]')
if cmp -s "$B/compose.yaml" "$T/compose.orig"; then ok "-b: the compose file backed up as it was"; else not_ok "backup"; fi
run "$OPSCTL" --output json deps -c -t minor
expect_json_true 'd["updates_available"] == 0' "after the update nothing more at -t minor"

# ---- bad references name FILE:LINE ----
mkdir -p "$T/bad"
cfgbad() { printf '%s\n' '[deps]' "project_dir = $T/bad" "image_registries = localhost:5000=$PUB" >"$T/bad.conf"; }
cfgbad
printf 'services:\n  a:\n    image: localhost:5000/app:1.2.3\n  b:\n    image: localhost:5000/App:1.0\n' >"$T/bad/compose.yaml"
cp "$T/bad/compose.yaml" "$T/bad.orig"
OPSCTL_CONFIG="$T/bad.conf" run "$OPSCTL" deps
expect_fail 65 "an upper-case repository" "compose.yaml:5:" "localhost:5000/App:1.0"
if cmp -s "$T/bad.orig" "$T/bad/compose.yaml"; then ok "nothing written on a bad reference"; else not_ok "bad file written"; fi
printf 'services:\n  a:\n    image: localhost:5000/app:1.2.3@sha256:abc\n' >"$T/bad/compose.yaml"
OPSCTL_CONFIG="$T/bad.conf" run "$OPSCTL" deps -c
expect_fail 65 "a short digest" "compose.yaml:3:" "digest"
printf 'services:\n  a:\n    image: [x]\n' >"$T/bad/compose.yaml"
OPSCTL_CONFIG="$T/bad.conf" run "$OPSCTL" deps -c
expect_fail 65 "image: not a string" "compose.yaml:3:" "not a string"
printf 'services:\n  a:\n    image: "x\n' >"$T/bad/compose.yaml"
OPSCTL_CONFIG="$T/bad.conf" run "$OPSCTL" deps -c
expect_fail 65 "not YAML: file, line and column" "compose.yaml:4:1: not YAML: "
printf 'services:\n  a:\n    image: localhost:5000/app:1.2.3\n' >"$T/bad/compose.yaml"
sed -i "s|^image_registries = .*|image_registries = localhost:5000|" "$T/bad.conf"
OPSCTL_CONFIG="$T/bad.conf" run "$OPSCTL" deps -c
expect_fail 78 "a registry mapping without =URL" "deps.image_registries" "HOST="

# ---- unreachable registry: 69 ----
DEAD=$(_deps_free_port)
sed -i "s|^image_registries = .*|image_registries = localhost:5000=http://127.0.0.1:$DEAD|" "$T/bad.conf"
OPSCTL_CONFIG="$T/bad.conf" run "$OPSCTL" deps -c
expect_rc 69 "an unreachable registry: exit 69"
expect_err_contains "error: image localhost:5000/app in the registry: unable to access 'http://127.0.0.1:$DEAD'" \
	"the error names the image and the registry"

# ---- htpasswd: 401 without credentials, 200 with them ----
mkdir -p "$T/priv"
printf 'services:\n  api:\n    image: private.test:5001/team/api:1.0.0\n' >"$T/priv/docker-compose.yml"
printf '%s\n' '[deps]' "project_dir = $T/priv" "image_registries = private.test:5001=$PRIV" >"$T/priv.conf"
OPSCTL_CONFIG="$T/priv.conf" run "$OPSCTL" deps -c
expect_fail 77 "no credentials: the registry's 401" "private.test:5001" "HTTP 401"
expect_err_contains "deps.registry_auth_file" "the hint names the key"
printf '{"auths": {"private.test:5001": {"auth": "%s"}}}\n' "$(printf 'alice:wrong' | base64)" >"$T/auth-bad.json"
OPSCTL_CONFIG="$T/priv.conf" OPSCTL_DEPS_REGISTRY_AUTH_FILE="$T/auth-bad.json" run "$OPSCTL" deps -c
expect_fail 77 "a wrong password" "HTTP 401"
printf '{"auths": {"private.test:5001": {"username": "alice", "password": "al1ce-s3cret"}}}\n' >"$T/auth.json"
chmod 600 "$T/auth.json"
printf '%s\n' "registry_auth_file = $T/auth.json" >>"$T/priv.conf"
OPSCTL_CONFIG="$T/priv.conf" run "$OPSCTL" --output json -v deps -c
expect_rc 0 "with deps.registry_auth_file's credentials: exit 0"
expect_json_true 'd["dependencies"][0]["allowed_update"] == "1.1.0" and d["manifests"] == ["docker-compose.yml"]' \
	"docker-compose.yml read, the private tags listed"
if grep -rq 'al1ce-s3cret' "$OUT" "$ERR" "$OPSCTL_STATE_DIR" 2>/dev/null; then not_ok "the password leaked"; else
	ok "the password appears in no output, log or journal"; fi
printf '{"auths": [1]}\n' >"$T/auth-junk.json"
OPSCTL_CONFIG="$T/priv.conf" OPSCTL_DEPS_REGISTRY_AUTH_FILE="$T/auth-junk.json" run "$OPSCTL" deps -c
expect_fail 78 "an auth file that is not a docker config.json" "deps.registry_auth_file"

done_testing
