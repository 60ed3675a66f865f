#!/usr/bin/env bash
# t220: `opsctl backup monitoring` (backup-monitoring-config.sh): one tar.zst
# per component with a sha256sum-format file beside it, -c choosing
# components, a missing source reported after the others are done, and
# retention of old archives.
. "$(dirname "$0")/../lib/common.sh"

SRC="$T/src"
mkdir -p "$SRC/prometheus/rules" "$SRC/grafana/dashboards" "$SRC/alertmanager"
printf 'global:\n  scrape_interval: 15s\n' >"$SRC/prometheus/prometheus.yml"
printf 'groups: []\n' >"$SRC/prometheus/rules/rag.yml"
printf '{"title": "RAG"}\n' >"$SRC/grafana/dashboards/rag.json"
printf 'route:\n  receiver: ops\n' >"$SRC/alertmanager/alertmanager.yml"
ln -s /etc/passwd "$SRC/prometheus/link-out"
cat >"$T/opsctl.conf" <<EOF
[backup]
monitoring_paths = prometheus=$SRC/prometheus,grafana=$SRC/grafana,alertmanager=$SRC/alertmanager
EOF
export OPSCTL_CONFIG="$T/opsctl.conf"
DEST="$T/dest"

journal_mark
run "$OPSCTL" --output json backup monitoring -d "$DEST"
expect_rc 0 "backup monitoring (all) exits 0"
expect_json_true '[c["component"] for c in d["components"]] == ["prometheus", "grafana", "alertmanager"]' "all three components"
expect_json_true 'all(c["status"] == "ok" for c in d["components"])' "each is ok"
expect_json_true 'find(d["components"], "component", "prometheus")["files"] == 2 and find(d["components"], "component", "prometheus")["skipped"] == 1' "prometheus: two files, the symlink skipped"
expect_journal_added 1 "one journal line"
n=$(ls "$DEST"/monitoring_*.tar.zst 2>/dev/null | wc -l)
if [ "$n" = 3 ]; then ok "three archives"; else not_ok "three archives (got $n)"; fi
if (cd "$DEST" && sha256sum -c --quiet ./*.sha256); then ok "sha256sum -c accepts every .sha256"; else not_ok "sha256sum -c accepts every .sha256"; fi
a=$(ls "$DEST"/monitoring_prometheus_*.tar.zst)
if tar --zstd -tf "$a" | sort | tr '\n' ' ' | grep -q "prometheus/prometheus.yml prometheus/rules/rag.yml"; then ok "the archive holds the configuration under COMPONENT/"; else not_ok "the archive holds the configuration"; tar --zstd -tf "$a" | sed 's/^/#   /'; fi
mkdir "$T/x" && tar --zstd -xf "$a" -C "$T/x"
if cmp -s "$T/x/prometheus/prometheus.yml" "$SRC/prometheus/prometheus.yml"; then ok "contents are identical after extraction"; else not_ok "contents are identical after extraction"; fi

rm -rf "$DEST"
run "$OPSCTL" --output json backup monitoring -d "$DEST" -c grafana,alertmanager
expect_rc 0 "-c grafana,alertmanager exits 0"
expect_json_true '[c["component"] for c in d["components"]] == ["grafana", "alertmanager"]' "only the chosen components"

run "$OPSCTL" backup monitoring -d "$DEST" -c loki
expect_error 64 "-c with an unknown component: exit 64" "loki"

# A missing source: the others are still archived, the run exits 1.
mv "$SRC/grafana" "$SRC/grafana.gone"
rm -rf "$DEST"
run "$OPSCTL" --output json backup monitoring -d "$DEST"
expect_rc 1 "a missing component source: exit 1"
expect_json_true 'find(d["components"], "component", "grafana")["status"] == "missing"' "grafana reported missing"
n=$(ls "$DEST"/monitoring_*.tar.zst 2>/dev/null | wc -l)
if [ "$n" = 2 ]; then ok "the other two are archived"; else not_ok "the other two are archived (got $n)"; fi
mv "$SRC/grafana.gone" "$SRC/grafana"

# Retention: archives older than -r DAYS go, newer ones and other files stay.
old="$DEST/monitoring_prometheus_20200101_000000.tar.zst"
printf 'old' >"$old"
touch -d '100 days ago' "$old"
recent="$DEST/monitoring_prometheus_20260101_000000.tar.zst"
printf 'recent' >"$recent"
touch -d '10 days ago' "$recent"
printf 'keep' >"$DEST/notes.txt"
touch -d '400 days ago' "$DEST/notes.txt"
run "$OPSCTL" --output json backup monitoring -d "$DEST" -r 90
expect_rc 0 "backup monitoring -r 90 exits 0"
if [ ! -e "$old" ] && [ -e "$recent" ] && [ -e "$DEST/notes.txt" ]; then ok "only archives older than 90 days are removed"; else not_ok "only archives older than 90 days are removed"; ls -l "$DEST" | sed 's/^/#   /'; fi
expect_json_true '"monitoring_prometheus_20200101_000000.tar.zst" in d["pruned"]' "the report names what was pruned"

run "$OPSCTL" backup monitoring -d "$DEST" -r 0
expect_error 64 "-r 0: exit 64" "retention"

done_testing
