#!/usr/bin/env bash
# t040: the record of a run never lies or vanishes.  A run whose stdout is a
# closed pipe or a full disk still journals the work it did (SIGPIPE is
# ignored; the write error is exit 74 and its own line), the journal's status
# and exit agree, and a failed backup keeps the last success's gauges in the
# textfile, where the alert built on them needs them.
. "$(dirname "$0")/../lib/common.sh"

sqlite3 "$T/hub.db" <"$ROOT/tests/lib/knowledge_hub.sql" || bail_out "sqlite3 builds the sample database"
write_config "$T/opsctl.conf" <<CONF
[general]
environment = dev
[backup]
dir = $T/store
databases = sqlite:$T/hub.db
CONF
export OPSCTL_CONFIG="$T/opsctl.conf"
PROM="$OPSCTL_STATE_DIR/opsctl.prom"

# stdout a pipe whose reader is already gone: the first write is EPIPE.
closed_pipe() {
	python3 - "$@" <<'PY'
import os, subprocess, sys
r, w = os.pipe()
os.close(r)
p = subprocess.run(sys.argv[1:], stdout=w, stderr=subprocess.PIPE)
sys.stderr.buffer.write(p.stderr)
sys.exit(p.returncode if p.returncode >= 0 else 128 - p.returncode)
PY
}

journal_mark
closed_pipe "$OPSCTL" backup --type full 2>"$T/err"
rc=$?
if [ "$rc" -eq 74 ]; then ok "a backup into a closed pipe exits 74, not 141"; else not_ok "a backup into a closed pipe exits 74 (exit $rc)"; cat "$T/err" | sed 's/^/#   /'; fi
if grep -q "write error on standard output" "$T/err"; then ok "the write error has its line"; else not_ok "the write error has its line"; fi
expect_journal_added 1 "the backup is journalled although stdout was closed"
expect_journal_last 'j["command"] == "backup" and j["status"] == "ok" and j["exit"] == 0' "journal: the work's own status and exit, which agree"
expect_file_contains "$PROM" 'opsctl_backup_size_bytes{task="backup",target="local:' "the textfile has the backup's size"
run "$OPSCTL" --output json backup list
expect_json_true 'len(d["backups"]) == 1' "and the backup is listed"

journal_mark
"$OPSCTL" db maintain -d "sqlite:$T/hub.db" >/dev/full 2>"$T/err"
rc=$?
if [ "$rc" -eq 74 ]; then ok "db maintain onto /dev/full exits 74"; else not_ok "db maintain onto /dev/full exits 74 (exit $rc)"; fi
expect_journal_added 1 "db maintain onto /dev/full is journalled"
expect_journal_last '(j["status"] == "ok") == (j["exit"] == 0)' "journal: status and exit agree"

# A failed backup keeps the last success's gauges.
size=$(grep '^opsctl_backup_size_bytes{' "$PROM")
printf '[general]\nenvironment = dev\n[backup]\ndir = %s/store\ndatabases = sqlite:%s/missing.db\n' "$T" "$T" >"$T/bad.conf"
run "$OPSCTL" --config "$T/bad.conf" backup --type full
expect_rc 1 "a backup of a missing file fails"
if [ -n "$size" ] && grep -qxF "$size" "$PROM"; then
	ok "the failed run leaves the last success's size gauge as it was"
else
	not_ok "the failed run leaves the last success's size gauge as it was"; diag "before: $size"; diag "after: $(grep '^opsctl_backup_size_bytes' "$PROM")"
fi
expect_file_contains "$PROM" 'opsctl_last_exit_status{task="backup",target="local:' "the failure itself is in the textfile"
if grep -q '^opsctl_last_exit_status{task="backup",.*} 1$' "$PROM"; then ok "its exit status 1"; else not_ok "its exit status 1"; diag "$(grep exit_status "$PROM")"; fi

done_testing
