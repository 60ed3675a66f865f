#!/usr/bin/env bash
# t320: retention through core/walk next to mount points, as root: a file
# bind-mounted over a name retention would remove (backup monitoring, db
# maintain) is left alone, without an error, and the file behind it stays
# byte-identical.  Each case runs in its own mount namespace (unshare -m), so
# nothing is left mounted if the test dies.  The walk's own cases (directory
# bind mounts, tmpfs, symlink swaps) are in tests/unit/core/test_walk.c.
. "$(dirname "$0")/../lib/common.sh"

if [ "$(id -u)" -ne 0 ]; then
	skip "mount points in retention" "needs root for mount --bind"
	done_testing
fi
if ! unshare -m true 2>/dev/null; then
	skip "mount points in retention" "unshare -m is not permitted here"
	done_testing
fi

# in_ns SCRIPT: run a shell script in a private mount namespace; its exit
# status, stdout in $OUT, stderr in $ERR.
in_ns() {
	RUN_CMD="unshare -m sh -ec '$1'"
	unshare -m sh -ec "mount --make-rprivate /; $1" >"$OUT" 2>"$ERR" </dev/null
	RC=$?
}

# ---- backup monitoring ----
mkdir -p "$T/src/prometheus" "$T/dest" "$T/outside"
printf 'global: {}\n' >"$T/src/prometheus/prometheus.yml"
cat >"$T/opsctl.conf" <<EOF
[backup]
monitoring_paths = prometheus=$T/src/prometheus
EOF
export OPSCTL_CONFIG="$T/opsctl.conf"
printf 'not an archive, and not to be removed' >"$T/outside/precious"
touch -d '200 days ago' "$T/outside/precious"
sum=$(sha256sum "$T/outside/precious")
bound="$T/dest/monitoring_prometheus_20200101_000000.tar.zst"
: >"$bound"
touch -d '200 days ago' "$bound"
printf 'old' >"$T/dest/monitoring_prometheus_20200102_000000.tar.zst"
touch -d '200 days ago' "$T/dest/monitoring_prometheus_20200102_000000.tar.zst"
in_ns "mount --bind '$T/outside/precious' '$bound'
'$OPSCTL' --output json backup monitoring -d '$T/dest' -r 90
cmp -s '$bound' '$T/outside/precious'"
expect_rc 0 "backup monitoring with a file bind-mounted over an old archive name exits 0"
expect_json_true 'd["pruned"] == ["monitoring_prometheus_20200102_000000.tar.zst"]' "only the real old archive is pruned"
expect_json_true 'd["prune_errors"] == []' "the mount point is left without an error (no EBUSY from unlink)"
if [ "$(sha256sum "$T/outside/precious")" = "$sum" ]; then ok "the bind-mounted file is byte-identical"; else not_ok "the bind-mounted file is byte-identical"; fi
if [ -e "$bound" ] && [ ! -e "$T/dest/monitoring_prometheus_20200102_000000.tar.zst" ]; then ok "outside the namespace: the placeholder stays, the old archive is gone"; else not_ok "outside the namespace: the placeholder stays, the old archive is gone"; fi
if grep -q " $T/dest/" /proc/self/mountinfo; then not_ok "nothing stays mounted after the namespace ends"; else ok "nothing stays mounted after the namespace ends"; fi

# ---- db maintain (SQLite copies) ----
sqlite3 "$T/hub.db" 'create table content (id integer primary key, body text); insert into content (body) values (1), (2);' || bail_out "a SQLite database"
B="$OPSCTL_STATE_DIR/backups"
mkdir -p "$B"
bound="$B/hub_20200101_000000.db"
: >"$bound"
touch -d '200 days ago' "$bound"
cp "$T/hub.db" "$B/hub_20200102_000000.db"
touch -d '200 days ago' "$B/hub_20200102_000000.db"
in_ns "mount --bind '$T/outside/precious' '$bound'
'$OPSCTL' --output json db maintain -t analyze -d 'sqlite:$T/hub.db'"
expect_rc 0 "db maintain with a file bind-mounted over an old copy name exits 0"
expect_json_true 'db(0)["pruned"] == ["hub_20200102_000000.db"] and db(0)["prune_errors"] == []' "only the real old copy is pruned, without an error"
if [ "$(sha256sum "$T/outside/precious")" = "$sum" ]; then ok "the bind-mounted file is byte-identical"; else not_ok "the bind-mounted file is byte-identical"; fi

done_testing
