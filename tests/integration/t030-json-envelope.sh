#!/usr/bin/env bash
# t030: one JSON envelope for every command.  Each leaf command (from
# `opsctl __complete commands`, so a new command is walked without editing
# this file) runs with --output json against a small SQLite deployment, an
# empty local store and no index; whether it succeeds or fails, stdout must
# be one JSON object beginning with command, status, exit_code,
# duration_seconds, error, with those types, exit_code equal to the real exit
# status, status "ok" exactly when it is 0, and error null exactly then.
# A locked run, a bad configuration and a usage error print it too.
. "$(dirname "$0")/../lib/common.sh"

cp "$ROOT/tests/lib/knowledge_hub.sql" "$T/hub.sql"
sqlite3 "$T/hub.db" <"$T/hub.sql" || bail_out "sqlite3 builds the sample database"
mkdir -p "$T/migrations/v1" "$T/mon/prometheus"
echo "create table if not exists t030 (id integer);" >"$T/migrations/v1/001.sql"
echo "global: {}" >"$T/mon/prometheus/prometheus.yml"
write_config "$T/opsctl.conf" <<CONF
[general]
environment = dev
[db]
databases = sqlite:$T/hub.db
backup_dir = $T/dbcopies
[backup]
dir = $T/store
databases = sqlite:$T/hub.db
monitoring_dir = $T/monbackups
monitoring_paths = prometheus=$T/mon/prometheus
[vector]
index_path = $T/none/index.faiss
database = sqlite:$T/hub.db
backup_dir = $T/vbackups
CONF
export OPSCTL_CONFIG="$T/opsctl.conf"

# check_envelope DESC: stdout is one envelope agreeing with $RC.
check_envelope() {
	if python3 - "$RC" "$OUT" <<'PY' 2>"$T/why"; then ok "$1"; else not_ok "$1 ($(cat "$T/why"))"; diag_run; fi
import json, sys
rc, path = int(sys.argv[1]), sys.argv[2]
text = open(path).read()
d = json.loads(text)			# exactly one JSON value
assert isinstance(d, dict), "not an object"
keys = list(d)[:5]
assert keys == ["command", "status", "exit_code", "duration_seconds", "error"], f"first members {keys}"
assert isinstance(d["command"], str) and d["command"], "command"
assert d["exit_code"] == rc, f"exit_code {d['exit_code']} but the process exited {rc}"
assert isinstance(d["duration_seconds"], (int, float)) and d["duration_seconds"] >= 0, "duration"
if rc == 0:
    assert d["status"] == "ok" and d["error"] is None, f"status {d['status']}, error {d['error']!r} at exit 0"
else:
    # a monitoring check at WARNING (exit 1) did its work: "warning"
    assert d["status"] == "failed" or (d["status"] == "warning" and rc == 1), f"status {d['status']} at exit {rc}"
    assert isinstance(d["error"], str) and d["error"] and "\n" not in d["error"], "error not one line"
PY
}

args_for() {	# positional arguments a command needs
	case "$1" in
	"db migrate") echo "1 --dir $T/migrations" ;;
	"backup restore" | "backup pin") echo "nosuchbackup" ;;
	"backup wal-push") echo "$T/no-such-segment" ;;
	"backup wal-fetch") echo "000000010000000000000001 $T/walout" ;;
	"help" | "completion") echo "SKIP" ;;
	esac
}

cmds=$("$OPSCTL" __complete commands)
[ -n "$cmds" ] || bail_out "opsctl __complete commands lists the commands"
n=0
while IFS= read -r cmd; do
	extra=$(args_for "$cmd")
	[ "$extra" = SKIP ] && continue
	# shellcheck disable=SC2086
	run "$OPSCTL" --output json $cmd $extra
	check_envelope "$cmd: the envelope (exit $RC)"
	n=$((n + 1))
done <<<"$cmds"
if [ "$n" -ge 30 ]; then ok "walked $n commands"; else not_ok "walked only $n commands"; fi

# JSON mode still records the run's figures (the envelope takes the report's
# members; the journal and the textfile must not lose them).
journal_mark
run "$OPSCTL" --output json db maintain -d "sqlite:$T/hub.db"
expect_rc 0 "db maintain in JSON mode"
expect_journal_last 'j["figures"].get("opsctl_databases") == 1 and j["figures"].get("opsctl_databases_failed") == 0' "JSON mode: the journal line keeps the figures"

# The envelope after the command, too.
run "$OPSCTL" db size --output json
check_envelope "--output json after the command"
run "$OPSCTL" db size -o json -d "sqlite:$T/hub.db"
check_envelope "-o json after the command"

# A locked run: exit 75, still the envelope.
mkdir -p "$OPSCTL_STATE_DIR/locks"
exec 9>"$OPSCTL_STATE_DIR/locks/db_maintain@t030.lock"
flock -n 9 || bail_out "flock the db_maintain lock of t030"
run "$OPSCTL" --output json db maintain -d t030
expect_rc 75 "a held lock: exit 75"
check_envelope "a held lock: the envelope"
expect_json_true 'd["error"].startswith("task") and "already running" in d["error"]' "a held lock: the error names the holder"
exec 9>&-

# A bad configuration: exit 78, still the envelope.
printf '[general]\nnosuchkey = 1\n' >"$T/bad.conf"
run "$OPSCTL" --output json --config "$T/bad.conf" db size
expect_rc 78 "a bad configuration: exit 78"
check_envelope "a bad configuration: the envelope"

# A usage error once the command is known: exit 64, still the envelope.
run "$OPSCTL" --output json db size --bogus
expect_rc 64 "an unknown option: exit 64"
check_envelope "an unknown option: the envelope"
expect_err_one_line "an unknown option: one error line on stderr too"

# Text mode: the error once, on stderr only; stdout has no error line.
run "$OPSCTL" backup restore nosuchbackup --force
expect_rc 1 "restoring a missing backup fails"
expect_err_contains "nosuchbackup" "the error names the backup"
expect_out_not_contains "nosuchbackup" "text mode: the error is not repeated on stdout"

# A multi-line library message: one error line, the rest as detail.
printf 'not a database file, but long enough to look like one\n%.0s' $(seq 1 300) >"$T/junk.db"
run "$OPSCTL" --output json db integrity -d "sqlite:$T/junk.db"
check_envelope "a damaged file: the envelope"
expect_err_one_line "a damaged file: one error line"

# A name that is not UTF-8 (a Latin-1 file name): every JSON string opsctl
# writes, on stdout and in the journal, is valid UTF-8, and the raw bytes are
# kept beside a repaired string as NAME_hex.
latin="$T/$(printf 'hub-\351t\351.db')"
cp "$T/hub.db" "$latin"
strict_utf8() {
	python3 - "$1" "$2" <<'PY'
import json, sys
raw = open(sys.argv[1], 'rb').read()
if sys.argv[2] == 'last':
    raw = raw.rstrip(b'\n').split(b'\n')[-1]
text = raw.decode('utf-8')            # strict: raises on any invalid byte
json.loads(text)
PY
}
has_hex() {
	python3 - "$1" "$2" <<'PY'
import json, os, sys
raw = open(sys.argv[1], 'rb').read().rstrip(b'\n').split(b'\n')
docs = [json.loads(l) for l in raw] if len(raw) > 1 and raw[0].startswith(b'{"') and raw[0].endswith(b'}') else [json.loads(b'\n'.join(raw))]
want = os.fsencode(sys.argv[2]).hex()
def walk(o):
    if isinstance(o, dict):
        return any((k.endswith('_hex') and isinstance(v, str) and want in v) or walk(v) for k, v in o.items())
    if isinstance(o, list):
        return any(walk(v) for v in o)
    return False
sys.exit(0 if any(walk(d) for d in docs) else 1)
PY
}
journal_mark
run "$OPSCTL" --output json db maintain -d "sqlite:$latin"
expect_rc 0 "a database whose file name is Latin-1 is maintained"
if strict_utf8 "$OUT" all; then ok "--output json: valid UTF-8 with a Latin-1 path"; else not_ok "--output json: valid UTF-8 with a Latin-1 path"; diag_run; fi
if has_hex "$OUT" "$(printf 'hub-\351t\351.db')"; then ok "--output json: the raw name is kept as _hex"; else not_ok "--output json: the raw name is kept as _hex"; diag_run; fi
if strict_utf8 "$OPSCTL_STATE_DIR/journal.jsonl" last; then ok "journal: the line is valid UTF-8"; else not_ok "journal: the line is valid UTF-8"; tail -1 "$OPSCTL_STATE_DIR/journal.jsonl" | od -c | head -5 | sed 's/^/#   /'; fi
if python3 -c 'import sys; open(sys.argv[1], "rb").read().decode("utf-8")' "$OPSCTL_STATE_DIR/opsctl.prom" 2>/dev/null; then ok "textfile: valid UTF-8"; else not_ok "textfile: valid UTF-8"; fi

done_testing
