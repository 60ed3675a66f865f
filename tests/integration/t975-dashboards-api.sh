#!/usr/bin/env bash
# t975: `opsctl dashboards` with dashboards.mode = api, against
# tests/lib/grafana_peer.py (Grafana is not installable here: the peer
# implements the documented endpoints opsctl calls).  The plan read from
# GET /api/dashboards/uid/UID, POST /api/dashboards/db with id null, the
# folder's uid, overwrite and a message, the read-back of the version, the
# token only in the header, and each refusal: 401, 400, 412, a version that
# does not read back, Grafana unreachable, a folder that does not exist.
. "$(dirname "$0")/../lib/common.sh"
tool=$(missing_tool python3 curl) && bail_out "$tool (scripts/setup)"

S="$T/src"
mkdir -p "$S"
TOKEN="glsa_t975_$(date +%s%N)"
printf '%s\n' "$TOKEN" >"$T/token"
chmod 600 "$T/token"
printf '[{"dashboard": {"uid": "db-health", "title": "Database health", "schemaVersion": 39, "panels": [{"id": 1, "title": "Connections"}]}, "folderUid": "ops"}]\n' >"$T/seed.json"
bg python3 "$ROOT/tests/lib/grafana_peer.py" "$T/ports" main --token "$TOKEN" \
	--folder ops:Operations --folder other:Other --seed "$T/seed.json" \
	--reject-uid rejected --stale-read-uid stale
wait_for 10 test -s "$T/ports" || { sed 's/^/#   /' "$BG_LOG"; bail_out "the Grafana peer starts"; }
G="http://127.0.0.1:$(awk '$1 == "main" {print $2}' "$T/ports")"

export OPSCTL_CONFIG="$T/opsctl.conf"
conf() {
	printf '%s\n' '[dashboards]' "source = $S" 'mode = api' "grafana_url = $G" \
		"grafana_token_file = $T/token" 'datasources = prom-main' "$@" \
		'[backup]' "monitoring_dir = $T/bk" >"$OPSCTL_CONFIG"
}
conf 'folder = Operations'
dash() {
	python3 - "$@" <<'PY'
import json, sys
f, uid, title = sys.argv[1:4]
panels = json.loads(sys.argv[4]) if len(sys.argv) > 4 else []
open(f, "w").write(json.dumps({"id": 7, "uid": uid, "title": title, "schemaVersion": 39,
                               "version": 3, "panels": panels}, indent=2))
PY
}
dash "$S/api.json" api-overview "API overview" '[{"id": 1, "title": "Requests", "datasource": "prom-main"}]'
dash "$S/db.json" db-health "Database health" '[{"id": 1, "title": "Connections"}, {"id": 2, "title": "Locks"}]'
peer() { curl -s "$G/_peer/$1"; }

# ---- plan ----
run "$OPSCTL" --output json dashboards --dry-run
expect_rc 0 "api --dry-run exits 0"
expect_json_true 'd["mode"] == "api" and d["grafana"] == "'"$G"'" and d["folder_uid"] == "ops"' "the report names Grafana and the folder, found by its title"
expect_json_true 'find(d["dashboards"], "uid", "api-overview")["action"] == "new" and find(d["dashboards"], "uid", "db-health")["action"] == "changed"' "the plan: new, and changed against what Grafana holds"
expect_json_true 'find(d["dashboards"], "uid", "db-health")["changes"] == "panels +1 -0 ~0"' "the changed one's panel summary"
if [ "$(peer state | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 1 ]; then ok "--dry-run saves nothing"; else not_ok "--dry-run saved something"; fi

# ---- install ----
journal_mark
run "$OPSCTL" --output json dashboards -b
expect_rc 0 "api install exits 0"
expect_json_true 'd["installed"] == 2 and find(d["dashboards"], "uid", "api-overview")["version"] == 1 and find(d["dashboards"], "uid", "db-health")["version"] == 2' "both saved, each with the version Grafana answered"
peer state >"$T/state.json"
if python3 - "$T/state.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
a, b = s["api-overview"], s["db-health"]
assert a["folderUid"] == "ops" and b["folderUid"] == "ops", "folder"
assert a["dashboard"]["title"] == "API overview" and len(b["dashboard"]["panels"]) == 2, "content"
assert a["messages"][-1].startswith("opsctl dashboards: api.json from "), a["messages"]
PY
then ok "Grafana holds them in the folder, with a message naming the file"; else not_ok "Grafana's state after the install"; sed 's/^/#   /' "$T/state.json"; fi
bid=$(json_get 'd["backup"]["id"]')
if [ -n "$bid" ] && tar --zstd -xOf "$T/bk/$bid.tar.zst" dashboards/db-health.json | grep -q '"Connections"'; then ok "-b archived the version Grafana held of the changed dashboard ($bid)"; else not_ok "-b archive '$bid'"; fi
peer requests >"$T/req.json"
if python3 - "$T/req.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
posts = [x for x in r if x["method"] == "POST"]
assert len(posts) == 2 and all(x["path"] == "/api/dashboards/db" for x in posts)
assert all(x["authorized"] for x in r), "a request without the token"
PY
then ok "two POSTs to /api/dashboards/db, every request with the Bearer token"; else not_ok "the requests"; sed 's/^/#   /' "$T/req.json"; fi
if grep -rqF "$TOKEN" "$OPSCTL_STATE_DIR" "$OUT" "$ERR"; then not_ok "the token leaked into the journal or output"; else ok "the token is in no journal line, output or state"; fi
expect_journal_last 'j["figures"]["opsctl_dashboards_installed"] == 2' "the journal's figures"

run "$OPSCTL" --output json dashboards
expect_json_true 'd["unchanged"] == 2 and d["installed"] == 0' "second run: unchanged (id and version are Grafana's, not changes)"

# Another folder configured: saved again into it.
conf 'folder = other'
run "$OPSCTL" --output json dashboards -f
expect_json_true 'd["changed"] == 2 and "to folder other" in find(d["dashboards"], "uid", "api-overview")["changes"]' "a dashboard in another folder is saved into the configured one"
conf 'folder = Operations'
run "$OPSCTL" dashboards -f

# ---- refusals ----
printf 'glsa_wrong\n' >"$T/token"
run "$OPSCTL" dashboards -f
expect_fail 77 "a token Grafana refuses (401): exit 77" "HTTP 401" "Unauthorized"
printf '%s\n' "$TOKEN" >"$T/token"
chmod 644 "$T/token"
run "$OPSCTL" dashboards -f
expect_error 77 "a token file others can read: exit 77 naming it" "$T/token"
chmod 600 "$T/token"
conf 'folder = Nowhere'
run "$OPSCTL" dashboards -f
expect_fail 78 "a folder Grafana does not have: exit 78 naming dashboards.folder" "dashboards.folder" "Nowhere"
conf 'folder = Operations'

dash "$S/zz.json" rejected "Rejected"
run "$OPSCTL" --output json dashboards -f
expect_json_true 'd["exit_code"] == 65 and "HTTP 400" in d["error"] and "rejected" in d["error"]' "a dashboard Grafana refuses (400): exit 65 naming it and Grafana's words"
rm "$S/zz.json"

# 412: a dashboard of another uid holds the title in the folder -- with
# overwrite Grafana replaces it, so opsctl's overwrite: true is proved by
# the save going through.
printf '[{"dashboard": {"uid": "old-api", "title": "API overview", "schemaVersion": 39}, "folderUid": "ops"}]\n' >"$T/seed2.json"
bg python3 "$ROOT/tests/lib/grafana_peer.py" "$T/ports2" second --token "$TOKEN" --folder ops:Operations --seed "$T/seed2.json"
wait_for 10 test -s "$T/ports2" || bail_out "the second peer starts"
G2="http://127.0.0.1:$(awk '$1 == "second" {print $2}' "$T/ports2")"
curl -s -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
	-d '{"dashboard": {"uid": "new-api", "title": "API overview"}, "folderUid": "ops", "overwrite": false}' \
	-o "$T/412.json" -w '%{http_code}' "$G2/api/dashboards/db" >"$T/412.code"
if [ "$(cat "$T/412.code")" = 412 ] && grep -q name-exists "$T/412.json"; then ok "the peer answers 412 name-exists without overwrite, as Grafana"; else not_ok "peer 412"; fi
sed -i "s#^grafana_url = .*#grafana_url = $G2#" "$OPSCTL_CONFIG"
run "$OPSCTL" --output json dashboards -f
expect_json_true 'd["exit_code"] == 0 and find(d["dashboards"], "uid", "api-overview")["action"] == "new"' "opsctl sends overwrite: true, so the same title of another uid does not stop it"
sed -i "s#^grafana_url = .*#grafana_url = $G#" "$OPSCTL_CONFIG"

# A save whose version does not read back.
dash "$S/stale.json" stale "Stale read"
run "$OPSCTL" dashboards -f
expect_rc 0 "a new dashboard saved at version 1"
dash "$S/stale.json" stale "Stale read" '[{"id": 1, "title": "New"}]'
run "$OPSCTL" dashboards -f
expect_fail 1 "a version that does not read back: exit 1" "stale" "reads back version 1"
rm "$S/stale.json"

# Unreachable.
kill_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
sed -i "s#^grafana_url = .*#grafana_url = http://127.0.0.1:$kill_port#" "$OPSCTL_CONFIG"
run "$OPSCTL" dashboards -f
expect_rc 69 "Grafana unreachable: exit 69"
expect_err_contains "opsctl: error: listing folders: unable to access 'http://127.0.0.1:$kill_port'" "the error names what it was doing and Grafana's origin (after core/http's retry warning)"
sed -i "s#^grafana_url = .*#grafana_url = ftp://x#" "$OPSCTL_CONFIG"
run "$OPSCTL" dashboards -f
expect_error 78 "a grafana_url that is not http(s): exit 78" "dashboards.grafana_url"
conf
mv "$T/token" "$T/token.kept"
run "$OPSCTL" dashboards -f
expect_error 78 "a token file that does not exist: exit 78 naming it" "$T/token"
sed -i '/^grafana_token_file/d' "$OPSCTL_CONFIG"
run "$OPSCTL" dashboards -f
expect_error 78 "no token at all: exit 78 naming GRAFANA_TOKEN and the key" "GRAFANA_TOKEN" "dashboards.grafana_token_file"
run env GRAFANA_TOKEN="$TOKEN" "$OPSCTL" --output json dashboards -f
expect_json_true 'd["exit_code"] == 0' "GRAFANA_TOKEN from the environment works"

done_testing
