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
# Names carry UTC in ISO 8601's basic form, as backup ids do, whatever TZ
# says (the names used to be local time, unmarked).
if ls "$DEST" | grep -Eq '^monitoring_prometheus_[0-9]{8}T[0-9]{6}Z\.tar\.zst$'; then ok "archive names are monitoring_COMPONENT_YYYYMMDDTHHMMSSZ.tar.zst"; else not_ok "archive names are monitoring_COMPONENT_YYYYMMDDTHHMMSSZ.tar.zst"; ls "$DEST" | sed 's/^/#   /'; fi
TZDEST="$T/tzdest"
before=$(date -u +%Y%m%dT%H%M%SZ)
TZ=America/New_York run "$OPSCTL" --output json backup monitoring -d "$TZDEST" -c grafana
after=$(date -u +%Y%m%dT%H%M%SZ)
name=$(basename "$(json_get 'd["components"][0]["archive"]')")
stamp=${name#monitoring_grafana_}
stamp=${stamp%.tar.zst}
if [[ "$stamp" > "$before" || "$stamp" == "$before" ]] && [[ "$stamp" < "$after" || "$stamp" == "$after" ]]; then ok "TZ=America/New_York: the name's stamp is UTC ($stamp)"; else not_ok "TZ=America/New_York: the name's stamp is UTC ($stamp not within $before..$after)"; fi
if (cd "$TZDEST" && sha256sum -c --quiet "$name.sha256"); then ok "the .sha256 names the new file name"; else not_ok "the .sha256 names the new file name"; fi
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
oldnew="$DEST/monitoring_prometheus_20200101T000000Z.tar.zst"
printf 'old' >"$oldnew"
touch -d '100 days ago' "$oldnew"
recentnew="$DEST/monitoring_grafana_20260101T000000Z.tar.zst"
printf 'recent' >"$recentnew"
touch -d '10 days ago' "$recentnew"
recent="$DEST/monitoring_prometheus_20260101_000000.tar.zst"
printf 'recent' >"$recent"
touch -d '10 days ago' "$recent"
printf 'keep' >"$DEST/notes.txt"
touch -d '400 days ago' "$DEST/notes.txt"
run "$OPSCTL" --output json backup monitoring -d "$DEST" -r 90
expect_rc 0 "backup monitoring -r 90 exits 0"
if [ ! -e "$old" ] && [ -e "$recent" ] && [ -e "$DEST/notes.txt" ]; then ok "only archives older than 90 days are removed"; else not_ok "only archives older than 90 days are removed"; ls -l "$DEST" | sed 's/^/#   /'; fi
expect_json_true '"monitoring_prometheus_20200101_000000.tar.zst" in d["pruned"]' "the report names what was pruned"
if [ ! -e "$oldnew" ] && [ -e "$recentnew" ]; then ok "retention ages out the UTC names the same way (old one gone, recent one kept)"; else not_ok "retention ages out the UTC names the same way"; ls -l "$DEST" | sed 's/^/#   /'; fi

run "$OPSCTL" backup monitoring -d "$DEST" -r 0
expect_error 64 "-r 0: exit 64" "retention"

# --dry-run (core/walk): no destination made, no archive written, nothing
# removed; the report names what retention would remove.
DRY="$T/drydest"
run "$OPSCTL" --output json backup monitoring --dry-run -d "$DRY"
expect_rc 0 "backup monitoring --dry-run exits 0"
if [ ! -e "$DRY" ]; then ok "--dry-run does not create the destination"; else not_ok "--dry-run does not create the destination"; fi
expect_json_true 'd["dry_run"] is True and all(c["status"] == "ok" and c["would_archive"] is True for c in d["components"]) and d["pruned"] == []' "--dry-run: every component would be archived, nothing to prune"
expect_json_true 'd["would_create_destination"] is True and all(__import__("re").match(__import__("re").escape(d["destination"]) + "/monitoring_" + c["component"] + r"_[0-9]{8}T[0-9]{6}Z[.]tar[.]zst$", c["archive"]) for c in d["components"])' "--dry-run names the destination it would create and each archive it would write"
rm -rf "$DEST" && mkdir -p "$DEST"
mkold() { printf '%s' "$2" >"$DEST/$1"; touch -d "${3:-100} days ago" "$DEST/$1"; }
mkold monitoring_grafana_20200101_000000.tar.zst 'old archive'
mkold monitoring_grafana_20200101_000000.tar.zst.sha256 'old sum'
mkold "$(printf 'monitoring_odd\nname\377.tar.zst')" 'odd'
mkold monitoring_recent_20260101_000000.tar.zst 'recent' 10
mkold unrelated.tar.zst 'not ours'
printf 'outside' >"$T/outside.tar.zst"
touch -d '100 days ago' "$T/outside.tar.zst"
ln -s "$T/outside.tar.zst" "$DEST/monitoring_link_20200101_000000.tar.zst"
touch -h -d '100 days ago' "$DEST/monitoring_link_20200101_000000.tar.zst"
mkdir "$DEST/monitoring_dir_20200101_000000.tar.zst"
mkold monitoring_dir_20200101_000000.tar.zst/monitoring_inner.tar.zst 'inner'
touch -d '100 days ago' "$DEST/monitoring_dir_20200101_000000.tar.zst"
(cd "$DEST" && find . -printf '%p %s %T@\n' | sort) >"$T/dest-before"
run "$OPSCTL" --output json backup monitoring --dry-run -d "$DEST" -r 90
expect_rc 0 "--dry-run with old archives exits 0"
expect_json "--dry-run: an odd file name still makes valid JSON"
expect_json_true 'sorted(d["pruned"]) == ["monitoring_grafana_20200101_000000.tar.zst", "monitoring_grafana_20200101_000000.tar.zst.sha256", "monitoring_odd\\x0aname\\xff.tar.zst"]' "--dry-run names the old archives, their sums and the odd name (quoted)"
expect_json_true 'd["pruned_size_bytes"] == 11 + 7 + 3 and d["prune_errors"] == []' "--dry-run: pruned_size_bytes counts them exactly"
if (cd "$DEST" && find . -printf '%p %s %T@\n' | sort) | cmp -s - "$T/dest-before"; then ok "--dry-run writes no archive and removes nothing"; else not_ok "--dry-run writes no archive and removes nothing"; fi
run "$OPSCTL" --output json backup monitoring -d "$DEST" -r 90
expect_rc 0 "backup monitoring with old archives exits 0"
expect_json_true 'sorted(d["pruned"]) == ["monitoring_grafana_20200101_000000.tar.zst", "monitoring_grafana_20200101_000000.tar.zst.sha256", "monitoring_odd\\x0aname\\xff.tar.zst"]' "the real run removes what the dry run named"
if [ ! -e "$DEST/monitoring_grafana_20200101_000000.tar.zst" ] && [ ! -e "$DEST/monitoring_grafana_20200101_000000.tar.zst.sha256" ] && [ "$(find "$DEST" -maxdepth 1 -name 'monitoring_odd*' | wc -l)" = 0 ]; then ok "the old archives and their sums are gone"; else not_ok "the old archives and their sums are gone"; ls -lb "$DEST" | sed 's/^/#   /'; fi
if [ -e "$DEST/monitoring_recent_20260101_000000.tar.zst" ] && [ -e "$DEST/unrelated.tar.zst" ]; then ok "a recent archive and a file not ours stay"; else not_ok "a recent archive and a file not ours stay"; fi
if [ -L "$DEST/monitoring_link_20200101_000000.tar.zst" ] && [ "$(cat "$T/outside.tar.zst")" = outside ]; then ok "a symlink named like an old archive stays, and its target too"; else not_ok "a symlink named like an old archive stays, and its target too"; fi
if [ -f "$DEST/monitoring_dir_20200101_000000.tar.zst/monitoring_inner.tar.zst" ]; then ok "a directory named like an archive is neither entered nor removed"; else not_ok "a directory named like an archive is neither entered nor removed"; fi
mkold monitoring_stuck_20200101_000000.tar.zst 'stuck'
if chattr +i "$DEST/monitoring_stuck_20200101_000000.tar.zst" 2>/dev/null; then
	at_exit "chattr -i '$DEST/monitoring_stuck_20200101_000000.tar.zst'"
	run "$OPSCTL" --output json backup monitoring -d "$DEST" -r 90
	expect_rc 0 "an archive that cannot be removed does not fail the backup"
	expect_json_true 'len(d["prune_errors"]) == 1 and d["prune_errors"][0].startswith("cannot remove ") and "monitoring_stuck_20200101_000000.tar.zst" in d["prune_errors"][0]' "the report names it and why (this loop used to only log it)"
	expect_err_contains "warning: 1 old entry in '$DEST' could not be removed" "one warning on stderr"
	chattr -i "$DEST/monitoring_stuck_20200101_000000.tar.zst"
else
	skip "an archive that cannot be removed is reported" "chattr +i is not supported on this file system"
	skip "the report names it and why" "chattr +i is not supported on this file system"
	skip "one warning on stderr" "chattr +i is not supported on this file system"
fi
printf '[general]\nprotected_paths = %s\n' "$DEST" >"$T/prot.conf"
cat "$T/opsctl.conf" >>"$T/prot.conf"
touch -d '100 days ago' "$DEST/monitoring_stuck_20200101_000000.tar.zst"
OPSCTL_CONFIG="$T/prot.conf" run "$OPSCTL" --output json backup monitoring -d "$DEST" -r 90
expect_rc 0 "a protected destination: the archives are still written"
expect_json_true 'd["pruned"] == [] and len(d["prune_errors"]) == 1 and "protected path" in d["prune_errors"][0]' "a protected destination: retention refuses and says so"
if [ -e "$DEST/monitoring_stuck_20200101_000000.tar.zst" ]; then ok "a protected destination: nothing removed"; else not_ok "a protected destination: nothing removed"; fi

done_testing
