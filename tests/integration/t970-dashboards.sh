#!/usr/bin/env bash
# t970: `opsctl dashboards` (update-dashboards.sh) into a real provisioning
# directory: the source's validation (each problem exit 65 with a one-line
# message naming the file, nothing changed), the plan by uid, the install,
# an idempotent second run, -b's archive and its content, the removal rule
# (only what the last run installed, unchanged since), a moved file, and
# the all-or-nothing install when one rename fails.
. "$(dirname "$0")/../lib/common.sh"
tool=$(missing_tool python3 tar zstd sha256sum) && bail_out "$tool (scripts/setup)"

S="$T/src"
D="$T/grafana/dashboards"
B="$T/monitoring-backups"
mkdir -p "$S/team"
export OPSCTL_CONFIG="$T/opsctl.conf"
cat >"$OPSCTL_CONFIG" <<EOF
[dashboards]
source = $S
destination = $D
datasources = prom-main, Loki
[backup]
monitoring_dir = $B
EOF

# dash FILE UID TITLE [PANELS_JSON [EXTRA_JSON]]: write a dashboard.
dash() {
	python3 - "$@" <<'PY'
import json, sys
f, uid, title = sys.argv[1:4]
panels = json.loads(sys.argv[4]) if len(sys.argv) > 4 and sys.argv[4] else []
extra = json.loads(sys.argv[5]) if len(sys.argv) > 5 else {}
d = {"id": None, "uid": uid, "title": title, "schemaVersion": 39, "version": 1, "panels": panels}
d.update(extra)
open(f, "w").write(json.dumps(d, indent=2) + "\n")
PY
}
P1='[{"id": 1, "title": "Requests", "type": "timeseries", "datasource": {"type": "prometheus", "uid": "prom-main"}, "targets": [{"refId": "A", "expr": "rate(http_requests_total[5m])"}]},
     {"id": 2, "title": "Latency", "type": "timeseries", "datasource": "prom-main"},
     {"id": 3, "title": "Logs row", "type": "row", "collapsed": true, "panels": [{"id": 4, "title": "Errors", "type": "logs", "datasource": {"type": "loki", "uid": "Loki"}}]}]'
dash "$S/api.json" api-overview "API overview" "$P1"
dash "$S/team/db.json" db-health "Database health" '[{"id": 1, "title": "Connections", "datasource": null}]'
# A .git directory and a non-JSON file are not dashboards.
mkdir -p "$S/.git" && echo '{' >"$S/.git/x.json" && echo 'notes' >"$S/README.md"

snap() { (cd "$T" && find grafana monitoring-backups state/dashboards -type f 2>/dev/null | sort | xargs -r sha256sum); }
leftovers() { find "$D" -name '*.tmp.*' -o -name '*.opsctl-old.*' 2>/dev/null | wc -l; }

# ---- configuration and usage errors ----
run env OPSCTL_CONFIG=/dev/null "$OPSCTL" dashboards -f
expect_error 78 "no dashboards.source and no -s: exit 78 naming the key" "dashboards.source"
run "$OPSCTL" dashboards -f -s "$T/nope"
expect_error 64 "-s naming a missing directory: exit 64" "$T/nope"
run "$OPSCTL" dashboards -f -s "$S" -d "$S"
expect_error 64 "source and destination the same: exit 64" "same directory"
mkdir -p "$T/empty"
run "$OPSCTL" dashboards -f -s "$T/empty"
expect_error 65 "an empty source is refused, not taken as 'remove everything'" "no dashboards"

# ---- dry run: the plan, nothing written ----
run "$OPSCTL" --output json dashboards --dry-run
expect_rc 0 "--dry-run exits 0"
expect_json_true 'd["new"] == 2 and d["installed"] == 0 and d["dry_run"] is True' "--dry-run: two new, none installed"
expect_json_true '[r["file"] for r in d["dashboards"]] == ["api.json", "team/db.json"]' "subdirectories read, .git and non-JSON skipped, sorted"
if [ ! -e "$D" ]; then ok "--dry-run writes nothing, not even the destination"; else not_ok "--dry-run wrote $D"; fi

# ---- install ----
journal_mark
run "$OPSCTL" --output json dashboards
expect_rc 0 "first install (no terminal, no -f: goes on, as cron would)"
expect_json_true 'd["new"] == 2 and d["installed"] == 2 and d["backup"] is None' "two installed, no backup without -b"
if cmp -s "$S/api.json" "$D/api.json" && cmp -s "$S/team/db.json" "$D/team/db.json"; then ok "the files are installed byte for byte at their relative paths"; else not_ok "installed files differ"; fi
expect_journal_added 1 "one journal line"
expect_journal_last 'j["command"] == "dashboards" and j["figures"]["opsctl_dashboards_installed"] == 2 and j["figures"]["opsctl_dashboards_invalid"] == 0' "the journal has the figures"
expect_file_contains "$OPSCTL_STATE_DIR/opsctl.prom" 'opsctl_dashboards_installed{task="dashboards"} 2' "the textfile has opsctl_dashboards_installed"
expect_json_true 'd["datasources_checked"] is True' "datasources were checked"

# ---- second run: unchanged ----
before=$(stat -c %Y.%i "$D/api.json")
run "$OPSCTL" --output json dashboards
expect_rc 0 "second run exits 0"
expect_json_true 'd["unchanged"] == 2 and d["installed"] == 0 and d["new"] == 0 and d["changed"] == 0' "second run: both unchanged, nothing installed"
if [ "$(stat -c %Y.%i "$D/api.json")" = "$before" ]; then ok "an unchanged file is not rewritten"; else not_ok "an unchanged file was rewritten"; fi
# Grafana's id and version, and the formatting, are not changes.
python3 -c "import json;d=json.load(open('$S/api.json'));d['id']=42;d['version']=9;open('$S/api.json','w').write(json.dumps(d))"
run "$OPSCTL" --output json dashboards --dry-run
expect_json_true 'find(d["dashboards"], "uid", "api-overview")["action"] == "unchanged"' "id, version and formatting alone: unchanged"

# ---- a changed set with -b ----
cp "$D/api.json" "$T/api.before"
python3 - "$S/api.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["panels"][1]["title"] = "Latency p95"
d["panels"][2]["panels"] = []
d["panels"].append({"id": 5, "title": "Saturation", "datasource": "prom-main"})
open(sys.argv[1], "w").write(json.dumps(d, indent=2))
PY
run "$OPSCTL" --output json dashboards -b
expect_rc 0 "-b with a changed dashboard exits 0"
A='find(d["dashboards"], "uid", "api-overview")'
expect_json_true "$A[\"action\"] == \"changed\" and $A[\"changes\"] == \"panels +1 -1 ~1\"" "the summary: one panel added, one removed, one changed"
expect_json_true 'sorted((c["change"], c["panel"]) for c in d["panel_changes"]) == [("added", "5 '"'Saturation'"'"), ("changed", "2 '"'Latency p95'"'"), ("removed", "4 '"'Errors'"'")]' "panel_changes name each panel by id and title (a row's nested panel too)"
expect_json_true 'find(d["dashboards"], "uid", "db-health")["action"] == "unchanged"' "the other dashboard: unchanged"
bid=$(json_get 'd["backup"]["id"]')
arch=$(json_get 'd["backup"]["archive"]')
if [[ "$bid" =~ ^monitoring_dashboards_[0-9]{8}T[0-9]{6}Z$ ]] && [ -f "$B/$bid.tar.zst" ] && [ "$arch" = "$B/$bid.tar.zst" ]; then ok "the backup id names monitoring_dashboards_STAMP.tar.zst in backup.monitoring_dir"; else not_ok "backup id '$bid' archive '$arch'"; ls "$B" | sed 's/^/#   /'; fi
if (cd "$B" && sha256sum -c --quiet "$bid.tar.zst.sha256"); then ok "its .sha256 checks (as backup monitoring writes it)"; else not_ok "its .sha256 checks"; fi
mkdir -p "$T/x" && tar --zstd -xf "$B/$bid.tar.zst" -C "$T/x"
if cmp -s "$T/x/dashboards/api.json" "$T/api.before" && [ -f "$T/x/dashboards/team/db.json" ]; then ok "the archive holds the dashboards as they were before the install"; else not_ok "the archive's content"; find "$T/x" | sed 's/^/#   /'; fi
if cmp -s "$S/api.json" "$D/api.json"; then ok "the changed dashboard is installed"; else not_ok "the changed dashboard is installed"; fi
run "$OPSCTL" --output json dashboards -b
expect_json_true 'd["backup"] is None and d["unchanged"] == 2' "-b with nothing to change: no backup"

# ---- removal: only ours, and only unchanged since ----
dash "$D/hand.json" hand-made "Made by hand"
dash "$S/gone.json" gone "To be removed"
dash "$S/edited.json" edited "Edited in place"
run "$OPSCTL" --output json dashboards
expect_json_true 'd["new"] == 2 and find(d["dashboards"], "uid", "hand-made")["action"] == "not managed"' "a hand-made file is not managed"
rm "$S/gone.json" "$S/edited.json"
python3 -c "import json;d=json.load(open('$D/edited.json'));d['description']='tuned on the server';open('$D/edited.json','w').write(json.dumps(d))"
run "$OPSCTL" --output json dashboards
expect_rc 0 "a run with dashboards gone from the source exits 0"
expect_json_true 'find(d["dashboards"], "uid", "gone")["action"] == "removed" and d["removed"] == 1' "installed by the last run and unchanged: removed"
if [ ! -e "$D/gone.json" ]; then ok "its file is gone"; else not_ok "gone.json still there"; fi
expect_json_true 'find(d["dashboards"], "uid", "edited")["action"] == "not managed" and "changed since" in find(d["dashboards"], "uid", "edited")["changes"]' "changed by hand since it was installed: kept, and said why"
if [ -f "$D/edited.json" ] && [ -f "$D/hand.json" ]; then ok "the edited and the hand-made files are kept"; else not_ok "a file not ours was removed"; fi
run "$OPSCTL" --output json dashboards
expect_json_true 'd["removed"] == 0 and find(d["dashboards"], "uid", "hand-made")["action"] == "not managed"' "the next run removes nothing more"

# ---- moved: same uid at another path ----
mkdir -p "$S/platform" && mv "$S/team/db.json" "$S/platform/db.json"
run "$OPSCTL" --output json dashboards
expect_json_true 'find(d["dashboards"], "file", "platform/db.json")["action"] == "changed" and "moved from team/db.json" in find(d["dashboards"], "file", "platform/db.json")["changes"]' "a moved dashboard is changed, moved from its old path"
if [ -f "$D/platform/db.json" ] && [ ! -e "$D/team/db.json" ]; then ok "the old copy is removed (Grafana refuses two of one uid)"; else not_ok "moved: old copy still there or new one missing"; fi

# ---- validation: each problem exit 65, one line naming the file, nothing changed ----
rm -f "$D/edited.json" "$D/hand.json"
invalid() {	# invalid DESC SUBSTRING... (the source already broken)
	local desc=$1
	shift
	local pre
	pre=$(snap)
	run "$OPSCTL" dashboards -f -b
	expect_fail 65 "$desc" "$@"
	if [ "$(snap)" = "$pre" ]; then ok "$desc: nothing changed, no backup"; else not_ok "$desc: the destination, backups or state changed"; fi
}
printf '{"uid": "x",\n  "title": "X",\n  "schemaVersion": 1,,\n}\n' >"$S/bad.json"
invalid "unparseable JSON" "bad.json" "line 3 column 23"
rm "$S/bad.json"
echo '[1, 2]' >"$S/bad.json"
invalid "not an object" "bad.json" "not a JSON object"
rm "$S/bad.json"
dash "$S/bad.json" "" "No uid"
invalid "an empty uid" "bad.json" "uid"
python3 -c "import json;json.dump({'title':'T','schemaVersion':1},open('$S/bad.json','w'))"
invalid "no uid" "bad.json" "no uid"
dash "$S/bad.json" "has space" "Bad uid"
invalid "a uid Grafana would refuse" "bad.json" "uid 'has space'"
dash "$S/bad.json" "u-$(printf 'x%.0s' {1..40})" "Long uid"
invalid "a uid over 40 characters" "bad.json" "1 to 40"
dash "$S/bad.json" notitle ""
invalid "an empty title" "bad.json" "no title"
python3 -c "import json;json.dump({'uid':'nv','title':'No version'},open('$S/bad.json','w'))"
invalid "no schemaVersion" "bad.json" "no schemaVersion"
dash "$S/bad.json" api-overview "Another title"
invalid "a duplicate uid names both files" "bad.json" "uid 'api-overview'" "api.json"
dash "$S/bad.json" other "API overview"
invalid "a duplicate title names both files" "bad.json" "title 'API overview'" "api.json"
dash "$S/bad.json" ds1 "DS string" '[{"id": 7, "title": "P", "datasource": "Prometheus"}]'
invalid "an unknown datasource name" "bad.json" "panel 7 'P'" "unknown datasource 'Prometheus'"
dash "$S/bad.json" ds2 "DS object" '[{"id": 7, "title": "P", "datasource": {"type": "prometheus", "uid": "prom-old"}}]'
invalid "an unknown datasource uid in a {type, uid} object" "bad.json" "unknown datasource 'prom-old'"
dash "$S/bad.json" ds3 "DS nested" '[{"id": 8, "type": "row", "title": "R", "panels": [{"id": 9, "title": "In row", "datasource": {"uid": "elastic"}}]}]'
invalid "an unknown datasource in a row's nested panel" "bad.json" "panel 9 'In row'" "elastic"
dash "$S/bad.json" ds4 "DS target" '[{"id": 7, "title": "P", "datasource": "prom-main", "targets": [{"refId": "B", "datasource": {"type": "loki", "uid": "loki-old"}}]}]'
invalid "an unknown datasource in a target" "bad.json" "target B" "loki-old"
dash "$S/bad.json" ds5 "DS templating" '[]' '{"templating": {"list": [{"name": "job", "type": "query", "datasource": "influx"}]}}'
invalid "an unknown datasource in templating" "bad.json" "templating variable 'job'" "influx"
dash "$S/bad.json" ds6 "DS annotation" '[]' '{"annotations": {"list": [{"name": "Deploys", "datasource": {"type": "loki", "uid": "gone"}}]}}'
invalid "an unknown datasource in an annotation" "bad.json" "annotation 'Deploys'" "gone"
dash "$S/bad.json" ds7 "Import input" '[{"id": 1, "title": "P", "datasource": "${DS_PROMETHEUS}"}]' '{"__inputs": [{"name": "DS_PROMETHEUS", "type": "datasource", "pluginId": "prometheus"}]}'
invalid "an import input (\${DS_X} of __inputs)" "bad.json" "import input"
dash "$S/bad.json" ds8 "Unknown var" '[{"id": 1, "title": "P", "datasource": {"type": "prometheus", "uid": "$nosuch"}}]'
invalid "a variable the dashboard does not define" "bad.json" "names no templating variable"
dash "$S/bad.json" ds9 "Bad ref" '[{"id": 1, "title": "P", "datasource": 3}]'
invalid "a datasource that is neither a string nor an object" "bad.json" "neither a name nor"
rm "$S/bad.json"
# Several problems: all in the report, the first in the error line.
dash "$S/bad1.json" "" "One"
dash "$S/bad2.json" ds10 "Two" '[{"id": 1, "title": "P", "datasource": "nope"}]'
run "$OPSCTL" --output json dashboards -f
expect_json_true 'd["exit_code"] == 65 and len(d["invalid"]) == 2 and d["installed"] == 0' "every problem is in the JSON report's invalid list"
expect_json_true '"_figures" not in d' "the envelope keeps _figures private"
expect_journal_last 'j["figures"]["opsctl_dashboards_invalid"] == 2 and j["exit"] == 65' "the journal records the invalid count"
rm "$S/bad1.json" "$S/bad2.json"

# ---- references that are fine ----
dash "$S/ok.json" okrefs "Good references" '[{"id": 1, "title": "A", "datasource": null},
 {"id": 2, "title": "B", "datasource": {"type": "prometheus"}},
 {"id": 3, "title": "C", "datasource": "-- Mixed --", "targets": [{"refId": "A", "datasource": {"type": "prometheus", "uid": "${ds}"}}, {"refId": "B", "datasource": {"type": "loki", "uid": "[[logs]]"}}]},
 {"id": 4, "title": "D", "datasource": {"type": "datasource", "uid": "grafana"}},
 {"id": 5, "title": "E", "datasource": {"type": "datasource", "uid": "-- Dashboard --"}},
 {"id": 6, "title": "F", "datasource": "$ds"},
 {"id": 7, "title": "G", "datasource": "Loki"}]' \
	'{"templating": {"list": [{"name": "ds", "type": "datasource", "query": "prometheus"}, {"name": "logs", "type": "datasource", "query": "loki"}]}, "annotations": {"list": [{"name": "A&A", "datasource": {"type": "grafana", "uid": "-- Grafana --"}}]}}'
run "$OPSCTL" --output json dashboards -f
expect_rc 0 "defaults, {type} alone, built-ins, variables, names and uids resolve"

# ---- the datasources file (Grafana's provisioning YAML) ----
cat >"$T/datasources.yaml" <<'EOF'
apiVersion: 1
datasources:
  - name: Prometheus
    uid: prom-main
    type: prometheus
  - &tempo
    name: Tempo
    uid: tempo1
    type: tempo
  - <<: *tempo
    name: Tempo EU
    uid: tempo-eu
EOF
printf '%s\n' '[dashboards]' "source = $S" "destination = $D" "datasources_file = $T/datasources.yaml" \
	'[backup]' "monitoring_dir = $B" >"$OPSCTL_CONFIG"
dash "$S/tempo.json" tempo "Traces" '[{"id": 1, "title": "T", "datasource": {"type": "tempo", "uid": "tempo1"}}, {"id": 2, "title": "N", "datasource": "Prometheus"}]'
rm "$S/ok.json"
dash "$S/api.json" api-overview "API overview" '[{"id": 1, "title": "R", "datasource": {"type": "prometheus", "uid": "prom-main"}}]'
run "$OPSCTL" --output json dashboards -f
expect_rc 0 "names and uids of the datasources file resolve"
dash "$S/bad.json" typ "Type" '[{"id": 1, "title": "T", "datasource": {"type": "loki", "uid": "tempo1"}}]'
invalid "a reference whose type differs from the datasources file's" "bad.json" "is of type tempo, not loki"
dash "$S/bad.json" typ "Type" '[{"id": 1, "title": "T", "datasource": {"type": "loki", "uid": "tempo-eu"}}]'
invalid "a datasource's type from a merge key (<<: *anchor) is read" "bad.json" "is of type tempo, not loki"
rm "$S/bad.json"
printf 'datasources:\n  - name: [unclosed\n' >"$T/datasources.yaml"
run "$OPSCTL" dashboards -f
expect_error 78 "a datasources file that is not YAML: exit 78 naming the key, file, line and column" \
	"dashboards.datasources_file: $T/datasources.yaml:3:1: not YAML: "
printf 'apiVersion: 1\n' >"$T/datasources.yaml"
run "$OPSCTL" dashboards -f
expect_error 78 "a YAML file without datasources: exit 78" "no datasources: list"
printf '%s\n' '[dashboards]' "source = $S" "destination = $D" '[backup]' "monitoring_dir = $B" >"$OPSCTL_CONFIG"
dash "$S/bad.json" any "Unchecked" '[{"id": 1, "title": "T", "datasource": "whatever"}]'
run "$OPSCTL" --output json dashboards -f
expect_json_true 'd["exit_code"] == 0 and d["datasources_checked"] is False' "no datasources configured: references not checked, and the report says so"
rm "$S/bad.json"
run "$OPSCTL" dashboards -f

# ---- all or nothing: one rename fails, the others are put back ----
cp "$D/api.json" "$T/api.installed"
python3 -c "import json;d=json.load(open('$S/api.json'));d['panels'][0]['title']='Changed again';open('$S/api.json','w').write(json.dumps(d))"
dash "$S/zz.json" zz "Last one"
mkdir -p "$D/zz.json"	# a directory where the new file must go: its rename fails
pre=$(cd "$D" && find . -type f | sort | xargs sha256sum)
run "$OPSCTL" --output json dashboards -f
expect_json_true 'd["exit_code"] != 0 and d["installed"] == 0 and "zz.json" in d["error"]' "a rename that fails: the run fails naming the file"
if cmp -s "$D/api.json" "$T/api.installed"; then ok "the file renamed before the failure is put back"; else not_ok "api.json was left changed"; fi
if [ "$(cd "$D" && find . -type f | sort | xargs sha256sum)" = "$pre" ]; then ok "the destination is exactly as before"; else not_ok "the destination changed"; fi
if [ "$(leftovers)" = 0 ]; then ok "no temporary or kept-old files are left"; else not_ok "leftovers: $(find "$D" -name '*.tmp.*' -o -name '*.opsctl-old.*')"; fi
rmdir "$D/zz.json"
run "$OPSCTL" --output json dashboards -f
expect_json_true 'd["exit_code"] == 0 and d["installed"] == 2' "once the obstacle is gone, both are installed"

# ---- text output ----
run "$OPSCTL" dashboards --dry-run
expect_out_contains "unchanged" "text: the plan table shows the actions"
run "$OPSCTL" dashboards --help
expect_out_contains "-s, --source DIR" "--help shows the guide's -s/--source"

done_testing
