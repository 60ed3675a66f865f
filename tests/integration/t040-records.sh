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
if grep -q "write error on standard output: Broken pipe" "$T/err"; then ok "the write error has its line, with its reason"; else not_ok "the write error has its line, with its reason"; sed 's/^/#   /' "$T/err"; fi
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

# The default type (all) on a SQLite-only host (guide 003): the full backup,
# and WAL skipped with a reason, not "no database given" (exit 78).
run "$OPSCTL" --output json backup
expect_rc 0 "backup (type all) on a SQLite-only host: exit 0"
expect_json_true 'd["wal"]["status"] == "skipped" and "SQLite databases only" in d["wal"]["reason"]' "JSON: WAL skipped, because the databases are SQLite"
if grep -q "no database given" "$ERR"; then not_ok "no 'no database given' with a hint for a -d backup lacks"; diag_run; else ok "no 'no database given' with a hint for a -d backup lacks"; fi

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
expect_file_contains "$PROM" 'opsctl_build_info{version="' "the textfile says which opsctl wrote it (opsctl_build_info)"
if grep -q '^opsctl_figures_stale{task="backup",target="local:.*/store"} 1$' "$PROM"; then ok "the kept figures are marked stale (opsctl_figures_stale 1)"; else not_ok "the kept figures are marked stale"; diag "$(grep stale "$PROM")"; fi
run "$OPSCTL" backup --type full
if grep -q '^opsctl_figures_stale{task="backup",target="local:.*/store"} 0$' "$PROM"; then ok "a good run clears the mark (0)"; else not_ok "a good run clears the mark"; diag "$(grep stale "$PROM")"; fi

# A file size limit (ulimit -f; systemd LimitFSIZE) reached while the archive is
# written: write() fails with EFBIG, which is exit 74 with its journal line and
# no temp file left, not a core dump by SIGXFSZ (exit 153).
python3 - "$T/big.db" <<'PY' || bail_out "python3 builds a 2 MiB database"
import os, sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("CREATE TABLE blobs (id INTEGER PRIMARY KEY, b BLOB)")
for i in range(32):
    c.execute("INSERT INTO blobs (b) VALUES (?)", (os.urandom(65536),))
c.commit()
PY
printf '[general]\nenvironment = dev\n[backup]\ndir = %s/fsz\ndatabases = sqlite:%s/big.db\n' "$T" "$T" >"$T/fsz.conf"
journal_mark
(ulimit -f 512; exec "$OPSCTL" --config "$T/fsz.conf" backup --type full) >"$T/out" 2>"$T/err"
rc=$?
if [ "$rc" -eq 74 ]; then ok "a backup past the file size limit exits 74, not 153 (SIGXFSZ)"; else not_ok "a backup past the file size limit exits 74 (exit $rc)"; sed 's/^/#   /' "$T/err"; fi
if grep -q "File too large" "$T/err"; then ok "the error names the limit (File too large)"; else not_ok "the error names the limit"; sed 's/^/#   /' "$T/err"; fi
expect_journal_added 1 "the failed backup is journalled"
expect_journal_last 'j["command"] == "backup" and j["status"] == "failed" and j["exit"] == 74' "journal: status failed, exit 74"
left=$(find "$T/fsz" -name '*.tmp*' 2>/dev/null | wc -l)
if [ "$left" -eq 0 ]; then ok "no temp file is left in the store"; else not_ok "no temp file is left in the store"; find "$T/fsz" | sed 's/^/#   /'; fi

done_testing
