# Sourced by the deps tests (t960, t965, t968) after common.sh: real
# registries on loopback, never mocks.
#
#   deps_npm_start        Verdaccio (tests/npm, `npm ci` by scripts/setup) on a
#                         free port, temp storage, no uplinks, a test user;
#                         sets NPM_REG and NPM_TOKEN
#   deps_npm_publish NAME VERSION...   publishes tiny packages with npm publish
#   deps_pypi_start       a PEP 503 simple index: $T/pypi/simple/NAME/index.html
#                         over real wheels and sdists built here (real
#                         sha256), served by python3 -m http.server; sets PYPI
#   deps_pypi_add NAME VERSION [yanked|nohash]   one wheel and one sdist of NAME
#                         (yanked, or listed without their sha256)
#   deps_pypi_index       (re)writes every simple/NAME/index.html
#   deps_osv FILE JSON    writes an OSV advisory into $T/osv

VERDACCIO="$ROOT/tests/npm/node_modules/.bin/verdaccio"

_deps_free_port() {
	python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

deps_npm_start() {
	local port tries
	[ -x "$VERDACCIO" ] || { echo "# verdaccio not installed: run scripts/setup (npm ci in tests/npm)" >&2; return 1; }
	mkdir -p "$T/verdaccio/storage"
	for tries in 1 2 3 4 5; do
		port=$(_deps_free_port) || return 1
		cat >"$T/verdaccio/config.yaml" <<EOF
storage: $T/verdaccio/storage
auth:
  htpasswd:
    file: $T/verdaccio/htpasswd
    max_users: 10
uplinks: {}
packages:
  '@*/*':
    access: \$all
    publish: \$authenticated
  '**':
    access: \$all
    publish: \$authenticated
log: { type: stdout, format: pretty, level: warn }
EOF
		bg "$VERDACCIO" --config "$T/verdaccio/config.yaml" --listen "127.0.0.1:$port"
		if wait_for 30 curl -sf -o /dev/null "http://127.0.0.1:$port/-/ping"; then
			NPM_REG="http://127.0.0.1:$port"
			# The user, and its token, as `npm adduser` makes them.
			NPM_TOKEN=$(curl -sf -X PUT -H 'Content-Type: application/json' \
				-d '{"name":"tester","password":"tester-pass-1"}' \
				"$NPM_REG/-/user/org.couchdb.user:tester" |
				python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])') || return 1
			printf '//127.0.0.1:%s/:_authToken=%s\nregistry=%s/\n' "$port" "$NPM_TOKEN" "$NPM_REG" \
				>"$T/npmrc"
			export NPM_CONFIG_USERCONFIG="$T/npmrc" npm_config_cache="$T/npm-cache"
			export npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false
			return 0
		fi
		bg_kill "$BG_PID"
	done
	return 1
}

# deps_npm_publish NAME VERSION...: each version a package of one file.
deps_npm_publish() {
	local name=$1 v d
	shift
	for v in "$@"; do
		d="$T/npm-src/$name/$v"
		mkdir -p "$d"
		printf '{"name":"%s","version":"%s","main":"index.js","license":"MIT"}\n' "$name" "$v" >"$d/package.json"
		printf 'module.exports = "%s@%s";\n' "$name" "$v" >"$d/index.js"
		(cd "$d" && npm publish --registry "$NPM_REG/" --access public >"$T/npm-publish.log" 2>&1) ||
			{ cat "$T/npm-publish.log" >&2; return 1; }
	done
}

deps_pypi_add() {	# deps_pypi_add NAME VERSION [yanked|nohash]
	python3 - "$T/pypi" "$@" <<'PY'
import hashlib, io, json, os, re, sys, tarfile, zipfile
root, name, version = sys.argv[1:4]
yanked = sys.argv[4:] == ["yanked"]
nohash = sys.argv[4:] == ["nohash"]
norm = re.sub(r"[-_.]+", "-", name).lower()
dist = re.sub(r"[-_.]+", "_", name)
os.makedirs(f"{root}/files", exist_ok=True)
meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
whl = f"{dist}-{version}-py3-none-any.whl"
with zipfile.ZipFile(f"{root}/files/{whl}", "w") as z:
    z.writestr(f"{dist}/__init__.py", f"VERSION = {version!r}\n")
    z.writestr(f"{dist}-{version}.dist-info/METADATA", meta)
    z.writestr(f"{dist}-{version}.dist-info/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
    z.writestr(f"{dist}-{version}.dist-info/RECORD", "")
sdist = f"{dist}-{version}.tar.gz"
with tarfile.open(f"{root}/files/{sdist}", "w:gz") as t:
    data = meta.encode()
    ti = tarfile.TarInfo(f"{dist}-{version}/PKG-INFO"); ti.size = len(data)
    t.addfile(ti, io.BytesIO(data))
db = f"{root}/files.json"
entries = json.load(open(db)) if os.path.exists(db) else []
for fn in (whl, sdist):
    sha = hashlib.sha256(open(f"{root}/files/{fn}", "rb").read()).hexdigest()
    entries.append({"project": norm, "filename": fn, "sha256": None if nohash else sha, "yanked": yanked})
json.dump(entries, open(db, "w"))
PY
}

deps_pypi_index() {
	python3 - "$T/pypi" <<'PY'
import json, os, sys
root = sys.argv[1]
by = {}
for e in json.load(open(f"{root}/files.json")):
    by.setdefault(e["project"], []).append(e)
for proj, files in by.items():
    os.makedirs(f"{root}/simple/{proj}", exist_ok=True)
    rows = []
    for e in files:
        y = ' data-yanked=""' if e["yanked"] else ""
        frag = f'#sha256={e["sha256"]}' if e["sha256"] else ""
        rows.append(f'    <a href="../../files/{e["filename"]}{frag}"{y}>{e["filename"]}</a><br/>')
    open(f"{root}/simple/{proj}/index.html", "w").write(
        "<!DOCTYPE html>\n<html>\n  <head><meta name=\"pypi:repository-version\" content=\"1.0\">"
        f"<title>Links for {proj}</title></head>\n  <body>\n" + "\n".join(rows) + "\n  </body>\n</html>\n")
PY
}

# deps_sha NAME VERSION: the sha256 of NAME's files of VERSION, one a line.
deps_sha() {
	python3 -c '
import json, re, sys
norm = re.sub(r"[-_.]+", "-", sys.argv[2]).lower()
for e in json.load(open(sys.argv[1])):
    if e["project"] == norm and e["filename"].split("-")[1].replace(".tar.gz", "") == sys.argv[3]:
        print(e["sha256"] or "")' "$T/pypi/files.json" "$1" "$2"
}

deps_pypi_start() {
	local port tries
	deps_pypi_index
	for tries in 1 2 3 4 5; do
		port=$(_deps_free_port) || return 1
		bg python3 -m http.server --bind 127.0.0.1 --directory "$T/pypi" "$port"
		if wait_for 15 curl -sf -o /dev/null "http://127.0.0.1:$port/simple/"; then
			PYPI="http://127.0.0.1:$port/simple"
			return 0
		fi
		bg_kill "$BG_PID"
	done
	return 1
}

deps_osv() {	# deps_osv FILE JSON
	mkdir -p "$T/osv"
	printf '%s\n' "$2" >"$T/osv/$1"
}

# A sha256 of every file under DIR (path and content), to prove nothing changed.
tree_sum() {
	(cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum) | sha256sum | cut -d' ' -f1
}

# deps_fixture: the project every deps test works on, $P, and $OPSCTL_CONFIG
# pointing deps at the registries and $T/osv.  Python: Requests_Lite pinned
# at 2.30.0 (a high advisory, fixed in 2.31.0) with extras, a marker and a
# comment; an -r include with a hashed pin (hashpkg) and a 0.x pin (zeropkg);
# flask unpinned and unknown to the index.  Node: leftpad-lite ^1.0.0 locked
# at 1.0.0 (a critical advisory, fixed in 1.0.1) and @acme/widget ~0.4.1.
deps_fixture() {
	deps_npm_start || return 1
	deps_npm_publish leftpad-lite 1.0.0 || return 1
	deps_npm_publish @acme/widget 0.4.1 || return 1

	P="$T/app"
	mkdir -p "$P"
	cat >"$P/package.json" <<'EOF'
{
  "name": "app",
  "version": "1.0.0",
  "private": true,
  "dependencies": {
    "leftpad-lite": "^1.0.0",
    "@acme/widget": "~0.4.1"
  }
}
EOF
	# npm's own lock, made while only the old versions exist
	(cd "$P" && npm install --package-lock-only --registry "$NPM_REG/" >"$T/npm-lock.log" 2>&1) ||
		{ tail -n 3 "$T/npm-lock.log" >&2; return 1; }
	deps_npm_publish leftpad-lite 1.0.1 1.1.0 2.0.0 || return 1
	deps_npm_publish @acme/widget 0.4.3 0.5.0 || return 1

	for v in 2.30.0 2.31.0 2.32.0 2.33.0rc1 3.0.0 3.1.0b1; do deps_pypi_add Requests_Lite $v; done
	deps_pypi_add requests-lite 2.32.1 yanked
	for v in 1.0.0 1.0.1 1.1.0; do deps_pypi_add hashpkg $v; done
	for v in 0.4.1 0.4.3 0.5.0; do deps_pypi_add zeropkg $v; done
	deps_pypi_start || return 1

	mapfile -t H <<<"$(deps_sha hashpkg 1.0.0)"
	printf '%s\n' '# the application' \
		'Requests_Lite[socks]==2.30.0 ; python_version >= "3.8"  # the HTTP client' \
		'-r requirements-dev.txt' 'flask>=2.0' >"$P/requirements.txt"
	printf '%s\n' "hashpkg==1.0.0 \\" "    --hash=sha256:${H[0]} \\" "    --hash=sha256:${H[1]}" \
		'    # via -r requirements.in' 'zeropkg==0.4.1' >"$P/requirements-dev.txt"

	NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
	deps_osv GHSA-dp01.json '{"id":"GHSA-dp01-0001-0001","modified":"'"$NOW"'","aliases":["CVE-2099-0001"],
	 "summary":"requests-lite leaks the proxy credentials","affected":[{"package":{"ecosystem":"PyPI","name":"requests-lite"},
	 "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"2.31.0"}]}],
	 "database_specific":{"severity":"HIGH"}}]}'
	deps_osv npm-leftpad.json '{"id":"GHSA-dp02-0002-0002","modified":"'"$NOW"'","summary":"leftpad-lite prototype pollution",
	 "severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
	 "affected":[{"package":{"ecosystem":"npm","name":"leftpad-lite"},
	 "ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.0.1"}]}]}]}'
	deps_osv zero-old.json '{"id":"PYSEC-dp03","modified":"'"$NOW"'","summary":"zeropkg before 0.4.1",
	 "affected":[{"package":{"ecosystem":"PyPI","name":"zeropkg"},
	 "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"last_affected":"0.4.0"}]}]}]}'
	deps_osv other.json '{"id":"GHSA-dp04","modified":"2020-01-01T00:00:00Z","summary":"another package",
	 "affected":[{"package":{"ecosystem":"npm","name":"requests-lite"},"versions":["2.30.0"]}]}'

	export OPSCTL_CONFIG="$T/opsctl.conf"
	printf '%s\n' '[deps]' "project_dir = $P" "pypi_index = $PYPI" "npm_registry = $NPM_REG" \
		"advisories_dir = $T/osv" >"$OPSCTL_CONFIG"
}

# deps_registry_start NAME [USER PASSWORD]: a real OCI registry (Debian's
# docker-registry, distribution 2.8) on a free loopback port with its storage
# in $T/registry-NAME; with USER and PASSWORD it asks for them (htpasswd auth,
# bcrypt by htpasswd -B).  Sets REG_URL (http://127.0.0.1:PORT).
deps_registry_start() {
	local name=$1 user=${2:-} pass=${3:-} port tries dir="$T/registry-$1" auth=""
	command -v docker-registry >/dev/null || { echo "# docker-registry missing: run scripts/setup" >&2; return 1; }
	mkdir -p "$dir/storage"
	if [ -n "$user" ]; then
		htpasswd -Bbn "$user" "$pass" >"$dir/htpasswd" || return 1
		auth=$(printf 'auth:\n  htpasswd:\n    realm: test\n    path: %s\n' "$dir/htpasswd")
	fi
	for tries in 1 2 3 4 5; do
		port=$(_deps_free_port) || return 1
		cat >"$dir/config.yml" <<EOF
version: 0.1
log: { level: error, accesslog: { disabled: true } }
storage:
  filesystem: { rootdirectory: $dir/storage }
  delete: { enabled: true }
http:
  addr: 127.0.0.1:$port
$auth
EOF
		bg docker-registry serve "$dir/config.yml"
		if wait_for 20 curl -s -o /dev/null "http://127.0.0.1:$port/v2/"; then
			REG_URL="http://127.0.0.1:$port"
			return 0
		fi
		bg_kill "$BG_PID"
	done
	return 1
}

# deps_image_push URL REPO TAG [SEED [USER:PASSWORD]]: one tiny image (a config
# blob and a layer blob, uploaded through the registry API, then a Docker v2
# manifest) under TAG; SEED (default TAG) makes its content, so its digest.
# Prints the manifest's digest (sha256:...).
deps_image_push() {
	python3 - "$@" <<'PY'
import base64, hashlib, io, json, sys, tarfile, urllib.request
url, repo, tag = sys.argv[1:4]
seed = sys.argv[4] if len(sys.argv) > 4 and sys.argv[4] else tag
auth = {}
if len(sys.argv) > 5:
    auth = {"Authorization": "Basic " + base64.b64encode(sys.argv[5].encode()).decode()}
def req(method, u, data=None, headers=None):
    h = dict(auth)
    h.update(headers or {})
    return urllib.request.urlopen(urllib.request.Request(
        u if u.startswith("http") else url + u, data=data, method=method, headers=h))
def blob(data):
    d = "sha256:" + hashlib.sha256(data).hexdigest()
    loc = req("POST", "/v2/%s/blobs/uploads/" % repo).headers["Location"]
    req("PUT", loc + ("&" if "?" in loc else "?") + "digest=" + d, data,
        {"Content-Type": "application/octet-stream"})
    return {"digest": d, "size": len(data)}
tar = io.BytesIO()
with tarfile.open(fileobj=tar, mode="w") as t:
    body = ("image %s %s\n" % (repo, seed)).encode()
    info = tarfile.TarInfo("etc/version")
    info.size = len(body)
    t.addfile(info, io.BytesIO(body))
layer = tar.getvalue()
config = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Labels": {"seed": seed}},
                     "rootfs": {"type": "layers",
                                "diff_ids": ["sha256:" + hashlib.sha256(layer).hexdigest()]}}).encode()
c, l = blob(config), blob(layer)
m = json.dumps({"schemaVersion": 2,
                "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                "config": dict(mediaType="application/vnd.docker.container.image.v1+json", **c),
                "layers": [dict(mediaType="application/vnd.docker.image.rootfs.diff.tar", **l)]}).encode()
r = req("PUT", "/v2/%s/manifests/%s" % (repo, tag), m,
        {"Content-Type": "application/vnd.docker.distribution.manifest.v2+json"})
print(r.headers["Docker-Content-Digest"])
PY
}
