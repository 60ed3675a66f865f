#!/usr/bin/env bash
# t215: point-in-time recovery with `opsctl backup restore ID --datadir DIR
# [--target-time TIME | --target-lsn LSN | ...]` from a physical base backup
# and archived WAL, into second clusters started with the command it prints:
# a target time between two batches of rows keeps the first and not the
# second, no target replays all archived WAL, and every refusal (a non-empty
# or running directory, a time without a zone or before the backup, a
# logical backup, root, damage) exits with its code and leaves nothing.
. "$(dirname "$0")/../lib/common.sh"
. "$ROOT/tests/lib/pg.sh"

PGB=/usr/lib/postgresql/15/bin
[ -x "$PGB/initdb" ] || bail_out "PostgreSQL 15 binaries (scripts/setup)"
[ "$(id -u)" -eq 0 ] || bail_out "runs as root, to start servers as postgres and to check the root refusal"
as_pg() { runuser -u postgres -- "$@"; }

W="$T/pitr"
pg_physical_conf "$W"
run_pg() { run as_pg env OPSCTL_CONFIG="$OPSCTL_CONFIG" OPSCTL_STATE_DIR="$STATE_PG" PGPORT="$PORT" "$@"; }
# A directory and everything under it, for "nothing written" checks.
tree() { if [ -e "$1" ]; then find "$1" -printf '%p %s %m\n' | sort; else echo absent; fi; }

pg_archiving_start "$W"
psql -XAtq -c "create table t (id int, batch text)" >/dev/null
psql -XAtq -c "insert into t select g, 'base' from generate_series(1, 100) g" >/dev/null

run_pg "$OPSCTL" --output json backup --type full
expect_rc 0 "physical base backup"
BID=$(json_get 'd["id"]')
STOP=$(python3 -c 'import json,sys,datetime; m=json.load(open(sys.argv[1])); print(datetime.datetime.fromtimestamp(m["stop"], datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))' "$STORE/$BID/manifest.json")

# Batch A, the moment after it, then batch B a second later, all archived.
psql -XAtq -c "insert into t select g, 'A' from generate_series(101, 1100) g" >/dev/null
TA=$(psql -XAtq -c "select now()")
sleep 1
psql -XAtq -c "insert into t select g, 'B' from generate_series(1101, 1600) g" >/dev/null
run_pg "$OPSCTL" --output json backup --type wal
expect_rc 0 "the WAL holding both batches is archived"
NEWEST=$(ls "$STORE/wal" | grep -E '^[0-9A-F]{24}\.json$' | sort | tail -n 1 | cut -c1-24)

# A logical backup in the same store, for the refusal.
run_pg env OPSCTL_BACKUP_METHOD=logical "$OPSCTL" --output json backup --type full
expect_rc 0 "a logical backup beside it"
LID=$(json_get 'd["id"]')

# ---- refusals: each with its exit code, and nothing written ----
as_pg mkdir -m 700 "$W/full"
as_pg touch "$W/full/keep"
before=$(tree "$W/full")
run_pg "$OPSCTL" backup restore "$BID" --datadir "$W/full" --target-time "$TA"
expect_error 64 "a non-empty directory: exit 64" "$W/full" "not empty"
[ "$(tree "$W/full")" = "$before" ] && ok "the non-empty directory is as it was" || not_ok "the non-empty directory is as it was"

sum_before=$(md5sum "$W/data/postgresql.auto.conf")
run_pg "$OPSCTL" backup restore "$BID" --datadir "$W/data"
expect_error 77 "a running server's data directory: exit 77" "$W/data" "running server"
if [ "$(md5sum "$W/data/postgresql.auto.conf")" = "$sum_before" ] && [ ! -e "$W/data/recovery.signal" ]; then
	ok "the live cluster's settings are untouched, no recovery.signal"
else
	not_ok "the live cluster's settings are untouched, no recovery.signal"
fi

run_pg "$OPSCTL" backup restore "$BID" --datadir "$W/r0" --target-time "2026-12-02 10:15:00"
expect_error 64 "a target time without a zone: exit 64" "no time zone"
expect_err_contains "hint: add one" "the hint says how to write the zone"
[ ! -e "$W/r0" ] && ok "nothing created for a time without a zone" || not_ok "nothing created for a time without a zone"

run_pg "$OPSCTL" backup restore "$BID" --datadir "$W/r0" --target-time 2000-01-01T00:00:00Z
expect_error 64 "a target time before the backup ended: exit 64" "2000-01-01 00:00:00+00" "${STOP%Z}" "$BID"
[ ! -e "$W/r0" ] && ok "nothing created for a time before the backup" || not_ok "nothing created for a time before the backup"

run_pg "$OPSCTL" backup restore "$BID" --datadir "$W/r0" --target-time "yesterday noon"
expect_error 64 "a target time that is not ISO 8601: exit 64" "not an ISO 8601 time"

run_pg "$OPSCTL" backup restore "$BID" --datadir "$W/r0" --target-time 2026-02-30T10:00:00Z
expect_error 64 "a day February does not have: exit 64" "not an ISO 8601 time"

run_pg "$OPSCTL" backup restore "$LID" --datadir "$W/r0"
expect_error 64 "a logical backup with --datadir: exit 64" "backup '$LID' is logical: point-in-time recovery needs backup.method = physical"
run_pg "$OPSCTL" backup restore "$LID" --target-time "$TA"
expect_error 64 "a logical backup with --target-time: exit 64" "is logical"
[ ! -e "$W/r0" ] && ok "nothing created for a logical backup" || not_ok "nothing created for a logical backup"

run_pg "$OPSCTL" backup restore "$BID"
expect_error 64 "a physical backup without --datadir: exit 64" "--datadir DIR"
run_pg "$OPSCTL" backup restore "$BID" --target-time "$TA"
expect_error 64 "a target without --datadir: exit 64" "need --datadir"
run_pg "$OPSCTL" backup restore "$BID" --datadir "$W/r0" --target-time "$TA" --target-lsn 0/3000000
expect_error 64 "two targets: exit 64" "one recovery target"
run_pg "$OPSCTL" backup restore "$BID" --datadir "$W/r0" --target-action promote
expect_error 64 "--target-action without a target: exit 64" "--target-action"
run_pg "$OPSCTL" backup restore "$BID" --datadir "$W/r0" --target-lsn 3000000
expect_error 64 "an LSN that is not one: exit 64" "not an LSN"
run_pg "$OPSCTL" backup restore "$BID" --datadir "$W/r0" --target-action later
expect_error 64 "an unknown --target-action: exit 64" "later"
run env OPSCTL_STATE_DIR="$T/rootstate" "$OPSCTL" backup restore "$BID" --datadir "$W/r0"
expect_error 77 "as root: exit 77, the files would be root's" "as root"
[ ! -e "$W/r0" ] && ok "nothing created by any refusal" || not_ok "nothing created by any refusal"

# ---- the dry run ----
journal_mark
run_pg "$OPSCTL" --output json backup restore "$BID" --datadir "$W/r1" --target-time "$TA" --dry-run
expect_rc 0 "dry run exits 0"
expect_json_true 'd["dry_run"] is True and d["datadir"] == "'"$W/r1"'" and d["datadir_action"] == "create"' "dry run: the directory it would create"
expect_json_true 'any(l.startswith("recovery_target_time = ") and "+00" in l for l in d["settings"]) and any(l.startswith("restore_command = ") for l in d["settings"])' "dry run: the settings it would write"
expect_json_true '"pg_ctl -D" in d["start_command"] and d["target_action"] == "pause"' "dry run: the start command and the action at the target"
[ ! -e "$W/r1" ] && ok "the dry run creates nothing" || not_ok "the dry run creates nothing"
expect_journal_added 0 "the dry run adds no journal line"
run_pg "$OPSCTL" backup restore "$BID" --datadir "$W/r1" --target-time 2999-01-01T00:00:00+01:00 --dry-run
expect_rc 0 "a target after the archived WAL: a warning, exit 0"
expect_err_contains "$NEWEST" "the warning names the newest archived segment ($NEWEST)"
expect_out_contains "start command:" "text output gives the start command"
expect_out_contains "recovery_target_time = '2998-12-31 23:00:00+00'" "text output shows the time as UTC"

run_pg "$OPSCTL" --output json backup restore "$BID" --datadir "$W/r1" --target-immediate --target-action promote --dry-run
expect_json_true 'd["settings"][-2:] == ["recovery_target = '"'immediate'"'", "recovery_target_action = '"'promote'"'"] and not any(l.startswith("recovery_target_inclusive") for l in d["settings"])' "--target-immediate: recovery_target = 'immediate', set after the emptied ones, and the action"
run_pg "$OPSCTL" --output json backup restore "$BID" --datadir "$W/r1" --target-name before_b --target-exclusive --dry-run
expect_json_true '"recovery_target_name = '"'before_b'"'" in d["settings"] and "recovery_target_inclusive = '"'off'"'" in d["settings"]' "--target-name with --target-exclusive: the name, inclusive off"
# A store the environment chose is pinned in restore_command: the server
# runs it with an environment of its own.
run_pg env OPSCTL_BACKUP_DIR="$STORE" "$OPSCTL" --output json backup restore "$BID" --datadir "$W/r1" --dry-run
expect_json_true 'd["settings"][0].startswith("restore_command = '"'env OPSCTL_BACKUP_DIR=$STORE "'") and d["settings"][0].endswith(" backup wal-fetch %f %p'"'"'")' "a store from OPSCTL_BACKUP_DIR is pinned in restore_command"

# ---- recovery to the time between the batches ----
journal_mark
run_pg "$OPSCTL" --output json backup restore "$BID" --datadir "$W/r1" --target-time "$TA"
expect_rc 0 "restore to a target time exits 0"
START=$(json_get 'd["start_command"]')
expect_json_true 'd["target"].startswith("time ") and d["settings_file"].endswith("/postgresql.auto.conf") and d["signal_file"].endswith("/recovery.signal")' "the report says what was written"
expect_journal_added 1 "the restore adds one journal line"
expect_journal_last 'j.get("exit") == 0 or j.get("status") == "ok"' "the journal line records success"
if [ "$(stat -c '%a %U' "$W/r1")" = "700 postgres" ] && [ -f "$W/r1/recovery.signal" ] && [ -f "$W/r1/PG_VERSION" ]; then
	ok "a data directory of mode 0700, the server user's, with recovery.signal"
else
	not_ok "a data directory of mode 0700, the server user's, with recovery.signal ($(stat -c '%a %U' "$W/r1"))"
fi
expect_file_contains "$W/r1/postgresql.auto.conf" "Do not edit this file manually" "the base backup's postgresql.auto.conf is kept"
expect_file_contains "$W/r1/postgresql.auto.conf" "restore_command = '$OPSCTL --config $W/opsctl.conf backup wal-fetch %f %p'" "restore_command runs this opsctl with this configuration"
expect_file_contains "$W/r1/postgresql.auto.conf" "recovery_target_action = 'pause'" "the target action is written"
PORT2=$(pg_free_port)
printf 'port = %s\narchive_mode = off\n' "$PORT2" >>"$W/r1/postgresql.conf"
if as_pg bash -c "$START -w -t 60" >/dev/null 2>&1; then ok "the printed command starts the recovered server"; else not_ok "the printed command starts the recovered server: $START"; tail -n 20 "$W/r1/recovery.log" | sed 's/^/#   /'; fi
at_exit "runuser -u postgres -- $PGB/pg_ctl -D $W/r1 -m immediate stop"
wait_for 30 psql -XAtq -p "$PORT2" -c "select 1" || true
# Paused at the target: wait until replay has stopped there.
wait_for 30 sh -c "[ \"\$(psql -XAtq -p $PORT2 -c 'select pg_get_wal_replay_pause_state()')\" = paused ]" || true
got=$(psql -XAtq -p "$PORT2" -c "select string_agg(batch || '=' || n, ',' order by batch) from (select batch, count(*) n from t group by batch) s" 2>/dev/null)
if [ "$got" = "A=1000,base=100" ]; then ok "batch A is there and batch B is not (recovered to $TA)"; else not_ok "batch A is there and batch B is not (got '$got')"; tail -n 20 "$W/r1/recovery.log" | sed 's/^/#   /'; fi
if grep -q "recovery stopping before commit\|recovery stopping after\|pausing at the end of recovery\|recovery has paused" "$W/r1/recovery.log"; then ok "the server log shows recovery stopping at the target"; else not_ok "the server log shows recovery stopping at the target"; tail -n 20 "$W/r1/recovery.log" | sed 's/^/#   /'; fi
as_pg "$PGB/pg_ctl" -D "$W/r1" -m fast stop >/dev/null 2>&1

# ---- no target: to the end of the archived WAL ----
run_pg "$OPSCTL" backup restore latest --datadir "$W/r2"
expect_error 64 "latest is the logical backup here: refused as logical" "is logical"
run_pg "$OPSCTL" --output json backup restore "$BID" --datadir "$W/r2"
expect_rc 0 "restore without a target exits 0"
expect_json_true 'd["target"] == "the end of the archived WAL" and "recovery_target_time = '"''"'" in d["settings"]' "no target: every recovery_target_* empty"
START=$(json_get 'd["start_command"]')
PORT3=$(pg_free_port)
printf 'port = %s\narchive_mode = off\n' "$PORT3" >>"$W/r2/postgresql.conf"
as_pg bash -c "$START -w -t 60" >/dev/null 2>&1
at_exit "runuser -u postgres -- $PGB/pg_ctl -D $W/r2 -m immediate stop"
wait_for 30 sh -c "[ \"\$(psql -XAtq -p $PORT3 -c 'select pg_is_in_recovery()')\" = f ]" || true
got=$(psql -XAtq -p "$PORT3" -c "select count(*) from t" 2>/dev/null)
if [ "$got" = 1600 ]; then ok "both batches recovered, and the server is out of recovery"; else not_ok "both batches recovered (got '$got')"; tail -n 20 "$W/r2/recovery.log" | sed 's/^/#   /'; fi
as_pg "$PGB/pg_ctl" -D "$W/r2" -m fast stop >/dev/null 2>&1

# ---- --start: opsctl starts the recovered server, waits, checks (issue 18) ----
PORT4=$(pg_free_port)
run_pg "$OPSCTL" --output json backup restore "$BID" --datadir "$W/r6" --target-time "$TA" --start "$PORT4"
expect_rc 0 "--start: restore to a target time, started and waited for, exits 0"
at_exit "runuser -u postgres -- $PGB/pg_ctl -D $W/r6 -m immediate stop"
expect_json_true 'd["recovery"]["state"] == "paused" and d["recovery"]["port"] == '"$PORT4"' and d["recovery"]["replayed_to"] is not None and "pg_wal_replay_resume" in d["then"]' "--start: the report says recovery paused at the target, where replay stopped"
got=$(psql -XAtq -h 127.0.0.1 -p "$PORT4" -c "select string_agg(batch || '=' || n, ',' order by batch) from (select batch, count(*) n from t group by batch) s" 2>/dev/null)
if [ "$got" = "A=1000,base=100" ]; then ok "--start: the running server holds batch A and not batch B"; else not_ok "--start: the running server holds batch A and not batch B (got '$got')"; tail -n 20 "$W/r6/recovery.log" | sed 's/^/#   /'; fi
if [ "$(psql -XAtq -h 127.0.0.1 -p "$PORT4" -c "show archive_mode")" = off ]; then ok "--start: archiving is off in the recovered server"; else not_ok "--start: archiving is off in the recovered server"; fi
as_pg "$PGB/pg_ctl" -D "$W/r6" -m fast stop >/dev/null 2>&1
PORT5=$(pg_free_port)
run_pg "$OPSCTL" --output json backup restore "$BID" --datadir "$W/r7" --target-time "$TA" --target-action promote --start "$PORT5"
expect_rc 0 "--start with --target-action promote exits 0"
at_exit "runuser -u postgres -- $PGB/pg_ctl -D $W/r7 -m immediate stop"
expect_json_true 'd["recovery"]["state"] == "promoted"' "--start promote: the report says promoted"
if psql -XAtq -h 127.0.0.1 -p "$PORT5" -c "insert into t (batch) values ('after')" >/dev/null 2>&1 &&
	[ "$(psql -XAtq -h 127.0.0.1 -p "$PORT5" -c "select count(*) from t where batch <> 'after'")" = 1100 ]; then ok "--start promote: open for writes, with the rows up to the target"; else not_ok "--start promote: open for writes, with the rows up to the target"; fi
as_pg "$PGB/pg_ctl" -D "$W/r7" -m fast stop >/dev/null 2>&1
run_pg "$OPSCTL" backup restore "$BID" --datadir "$W/r8" --target-time "$TA" --target-action shutdown --start "$PORT5"
expect_fail 64 "--start with --target-action shutdown: exit 64" "--target-action shutdown"
[ ! -e "$W/r8" ] && ok "and nothing was extracted" || not_ok "and nothing was extracted"
run_pg "$OPSCTL" backup restore "$BID" --datadir "$W/r8" --start 80
expect_fail 64 "--start 80 (a port below 1024): exit 64" "--start"
# A port taken by the original server: the start fails, the reason is named.
run_pg "$OPSCTL" backup restore "$BID" --datadir "$W/r9" --target-time "$TA" --start "$PORT"
expect_fail 1 "--start on a port in use: exit 1" "did not start on port $PORT"
if ! as_pg "$PGB/pg_ctl" -D "$W/r9" status >/dev/null 2>&1; then ok "and no server of it is left running"; else not_ok "and no server of it is left running"; as_pg "$PGB/pg_ctl" -D "$W/r9" -m immediate stop; fi

# ---- text output of a real run ----
run_pg "$OPSCTL" backup restore "$BID" --datadir "$W/r5" --target-immediate
expect_rc 0 "restore to the end of the backup itself exits 0"
expect_out_contains "start command:" "text: the start command"
expect_out_contains "pg_wal_replay_resume()" "text: what to do once paused at the target"
expect_out_contains "settings file:" "text: where the settings went"
expect_out_not_contains "target inclusive" "text: no inclusive for an immediate target"
[ -n "${T215_SHOW:-}" ] && sed 's/^/#   /' "$OUT"

# ---- refusals found while extracting remove what was extracted ----
run_pg "$OPSCTL" backup restore "$BID" --datadir "$W/r3" --target-lsn 0/1000000
expect_fail 64 "an LSN before the backup's end: exit 64" "before the end of backup"
[ ! -e "$W/r3" ] && ok "what was extracted for it is removed" || not_ok "what was extracted for it is removed ($(ls "$W/r3" | head -3))"
as_pg mkdir -m 700 "$W/r4"
ARCH=$(ls "$STORE/$BID"/backup.tar*)
cp "$ARCH" "$W/keep.tar"
size=$(stat -c %s "$ARCH")
printf '\xff\xff\xff\xff' | dd of="$ARCH" bs=1 seek=$((size / 2)) conv=notrunc status=none
run_pg "$OPSCTL" backup restore "$BID" --datadir "$W/r4"
if [ "$RC" -eq 65 ] || [ "$RC" -eq 1 ]; then ok "a damaged archive fails (exit $RC)"; else not_ok "a damaged archive fails (exit $RC)"; diag_run; fi
if [ -d "$W/r4" ] && [ -z "$(ls -A "$W/r4")" ]; then ok "the empty directory given is empty again"; else not_ok "the empty directory given is empty again"; fi
cp "$W/keep.tar" "$ARCH"

done_testing
