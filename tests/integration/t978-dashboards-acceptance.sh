#!/usr/bin/env bash
# t978: issue 17's acceptance for dashboards: "`dashboards -b -f` installs a
# changed set and refuses one with a duplicate uid (exit 65, nothing
# changed)", into a real provisioning directory, as an operator runs it
# with the guide's flags (-s, -d, -b, -f).
. "$(dirname "$0")/../lib/common.sh"
tool=$(missing_tool python3 tar zstd) && bail_out "$tool (scripts/setup)"

S="$T/repo/infrastructure/monitoring/grafana/dashboards"
D="$T/etc/grafana/provisioning/dashboards"
mkdir -p "$S" "$D"
printf '%s\n' '[dashboards]' 'datasources = prometheus' '[backup]' "monitoring_dir = $T/backups/monitoring" >"$T/opsctl.conf"
export OPSCTL_CONFIG="$T/opsctl.conf"
w() {	# w FILE UID TITLE PANEL_TITLE
	printf '{"uid": "%s", "title": "%s", "schemaVersion": 39, "panels": [{"id": 1, "title": "%s", "datasource": {"type": "prometheus", "uid": "prometheus"}}]}\n' "$2" "$3" "$4" >"$1"
}
w "$S/rag.json" rag-overview "RAG overview" "Queries"
w "$S/vector.json" vector-search "Vector search" "Latency"
# What Grafana reads today: an older version of one, a hand-made other.
w "$D/rag.json" rag-overview "RAG overview" "Queries (old)"
w "$D/hand.json" hand "Hand made" "Mine"
cp "$D/rag.json" "$T/rag.old"

run "$OPSCTL" --output json dashboards -s "$S" -d "$D" -b -f
expect_rc 0 "dashboards -b -f installs the changed set"
expect_json_true 'd["new"] == 1 and d["changed"] == 1 and d["installed"] == 2' "one new, one changed, both installed"
if cmp -s "$S/rag.json" "$D/rag.json" && cmp -s "$S/vector.json" "$D/vector.json" && [ -f "$D/hand.json" ]; then ok "the destination holds the new set, the hand-made dashboard kept"; else not_ok "the destination after the install"; fi
bid=$(json_get 'd["backup"]["id"]')
if tar --zstd -xOf "$T/backups/monitoring/$bid.tar.zst" dashboards/rag.json | cmp -s - "$T/rag.old"; then ok "-b: backup $bid holds the version that was replaced"; else not_ok "-b: backup '$bid' content"; fi

pre=$(cd "$T" && find etc backups -type f | sort | xargs sha256sum; cat "$OPSCTL_STATE_DIR/dashboards/state.json")
w "$S/rag.json" rag-overview "RAG overview" "Queries v3"
w "$S/copy.json" vector-search "Vector search copy" "Latency"
run "$OPSCTL" dashboards -s "$S" -d "$D" -b -f
expect_fail 65 "a set with a duplicate uid is refused: exit 65 naming both files" "copy.json" "vector-search" "vector.json"
post=$(cd "$T" && find etc backups -type f | sort | xargs sha256sum; cat "$OPSCTL_STATE_DIR/dashboards/state.json")
if [ "$pre" = "$post" ]; then ok "nothing changed: the destination, the backups and the record are as before"; else not_ok "something changed after the refusal"; fi

done_testing
