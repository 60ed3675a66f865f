#!/usr/bin/env bash
# t910: opsctl schedule install --systemd into a root (systemctl --root, as an
# image build does): units that systemd-analyze verify accepts, OnCalendar=
# values whose next elapse is show's next run, timers enabled as links, a
# second install that changes nothing; then check as the issue's acceptance
# asks: it passes with the jobs' successes in the textfile (written by the
# real commands), fails naming a timer that was disabled or removed, calls a
# job late whose last success is older than its period (run under
# libfaketime), and one that never succeeded once its first period passed;
# remove leaves only what opsctl did not write.  Without --root on a host
# where systemd is not running, the units are written with a warning.
. "$(dirname "$0")/../lib/common.sh"
tool=$(missing_tool python3 systemd-analyze systemctl faketime) && bail_out "$tool (scripts/setup)"

R="$T/root"
U="$R/etc/systemd/system"
W="$U/timers.target.wants"
BIN=$(readlink -f "$OPSCTL")
mkdir -p "$T/tmp" "$T/data" "$T/man/man1"
ln -s "$ROOT/man/opsctl-schedule.1" "$T/man/man1/opsctl-schedule.1"
cat >sd.conf <<EOF
[schedule]
binary = $BIN
[cleanup]
temp_dir = $T/tmp
[health]
disk_paths = $T/data
disk_warn_pct = 100
disk_critical_pct = 100
inode_warn_pct = 100
inode_critical_pct = 100
EOF
export OPSCTL_CONFIG="$T/sd.conf"
unset PGDATABASE PGHOST PGPORT PGUSER

# ---- install ----
run "$OPSCTL" -o json schedule install --systemd --root "$R"
expect_json_true 'd["status"] == "ok" and len(d["files"]) == 16 and len(d["enabled"]) == 8 and d["warnings"] == []' \
	"install --systemd --root: 8 services and 8 timers, 8 enabled"
n=$(ls "$U" | grep -c '^opsctl-.*\.\(service\|timer\)$')
[ "$n" -eq 16 ]
check $? "16 unit files in ROOT/etc/systemd/system (daily is off: none for it)"
[ ! -e "$U/opsctl-daily.timer" ]
check $? "no timer for daily (off)"
ok_links=1
for j in backup wal cleanup health cache weekly monthly quarterly; do
	[ "$(readlink "$W/opsctl-$j.timer")" = "/etc/systemd/system/opsctl-$j.timer" ] || ok_links=0
done
[ $ok_links = 1 ]
check $? "each timer enabled: a link in timers.target.wants to its unit"

grep -qx 'OnCalendar=Sat \*-\*-01..07 10:00:00' "$U/opsctl-monthly.timer"
check $? "monthly: OnCalendar=Sat *-*-01..07 10:00:00 (the first Saturday)"
grep -qx 'OnCalendar=Sat \*-03,06,09,12-08..14 10:00:00' "$U/opsctl-quarterly.timer"
check $? "quarterly: the second Saturday of March, June, September, December"
grep -qx 'Persistent=true' "$U/opsctl-weekly.timer" && grep -qx 'RandomizedDelaySec=300' "$U/opsctl-weekly.timer"
check $? "timers: Persistent=true, RandomizedDelaySec=300 (schedule.randomized_delay 5m)"
grep -qx "ExecStart=$BIN backup create --type full" "$U/opsctl-backup.service" &&
	grep -qx 'Type=oneshot' "$U/opsctl-backup.service" &&
	grep -qx 'EnvironmentFile=-/etc/opsctl/opsctl.env' "$U/opsctl-backup.service" &&
	grep -qx 'TimeoutStartSec=21600' "$U/opsctl-backup.service" &&
	grep -qx 'IOSchedulingClass=idle' "$U/opsctl-backup.service"
check $? "backup service: oneshot, ExecStart, EnvironmentFile=-, TimeoutStartSec, idle I/O"
! grep -q 'IOSchedulingClass' "$U/opsctl-health.service"
check $? "health service: no idle I/O class (only backups)"

(cd "$U" && MANPATH="$T/man" systemd-analyze verify opsctl-*.service opsctl-*.timer) >"$T/verify.out" 2>&1
rc=$?
[ $rc -eq 0 ] && [ ! -s "$T/verify.out" ]
check $? "systemd-analyze verify accepts every unit, silently"
[ -s "$T/verify.out" ] && diag "$(head -n 5 "$T/verify.out")"

# Every OnCalendar= as systemd reads it: normalized the same, next elapse
# the same minute as schedule show's next run.
run "$OPSCTL" -o json schedule show
cp "$OUT" show.json
python3 - "$U" show.json <<'PY' >"$T/cal.out" 2>&1
import json, re, subprocess, sys
unitdir, show = sys.argv[1], json.load(open(sys.argv[2]))
bad = []
for j in show["jobs"]:
    if j["when"] == "off":
        continue
    cal = re.search(r"^OnCalendar=(.*)$", open("%s/opsctl-%s.timer" % (unitdir, j["job"])).read(), re.M).group(1)
    out = subprocess.run(["systemd-analyze", "calendar", cal], capture_output=True, text=True,
                         env={"TZ": "UTC", "PATH": "/usr/bin:/bin"}).stdout
    norm = re.search(r"Normalized form: (.*)", out).group(1)
    nxt = re.search(r"Next elapse: \w+ (\d+-\d+-\d+ \d+:\d+):00 UTC", out).group(1)
    if norm != cal or nxt + " UTC" != j["next_run"]:
        bad.append((j["job"], cal, norm, nxt, j["next_run"]))
print(bad if bad else "", end="")
sys.exit(1 if bad else 0)
PY
check $? "systemd-analyze calendar: each OnCalendar= is normal and next elapses when show says"
[ -s "$T/cal.out" ] && diag "$(cat "$T/cal.out")"

# ---- idempotent ----
stat -c '%n %y' "$U"/opsctl-* >mtimes.before
sleep 1
run "$OPSCTL" -o json schedule install --systemd --root "$R"
expect_json_true 'd["changed"] == 0 and d["enabled"] == []' "second install: changed 0, nothing enabled again"
stat -c '%n %y' "$U"/opsctl-* >mtimes.after
cmp -s mtimes.before mtimes.after
check $? "second install: every unit's mtime unchanged"

# ---- check: the acceptance ----
run "$OPSCTL" schedule check --root "$R"
expect_rc 0 "check right after install: exit 0"
# Successes written by the real commands: cleanup temp and health.
run "$OPSCTL" cleanup temp -f
expect_rc 0 "cleanup temp runs"
run "$OPSCTL" health -c disk
expect_rc 0 "health runs"
run "$OPSCTL" -o json schedule check --systemd --root "$R"
expect_json_true 'd["status"] == "ok" and d["installed"] == "systemd" and find(d["jobs"],"job","cleanup")["state"] == "ok" and find(d["jobs"],"job","health")["state"] == "ok" and find(d["jobs"],"job","cleanup")["last_success"] is not None' \
	"check: cleanup and health ok with their last success from the textfile"
expect_json_true 'find(d["jobs"],"job","weekly")["state"] == "pending" and find(d["jobs"],"job","weekly")["period_seconds"] == 7*86400 and find(d["jobs"],"job","monthly")["period_seconds"] == 35*86400' \
	"check: weekly pending (never ran, installed now), periods of 7 and 35 days"

systemctl --root="$R" disable opsctl-weekly.timer >/dev/null 2>&1
run "$OPSCTL" schedule check --root "$R"
expect_fail 1 "a disabled timer: check exits 1 naming it" "opsctl-weekly.timer" "not enabled"
run "$OPSCTL" schedule install --systemd --root "$R"
run "$OPSCTL" schedule check --root "$R"
expect_rc 0 "install again: enabled, check exit 0"
rm "$U/opsctl-monthly.timer" "$W/opsctl-monthly.timer"
run "$OPSCTL" schedule check --systemd --root "$R"
expect_fail 1 "a removed timer: check exits 1 naming it" "monthly" "opsctl-monthly.timer is missing"
run "$OPSCTL" -o json schedule check --root "$R"
expect_json_true 'find(d["jobs"],"job","monthly")["state"] == "missing" and len(d["problems"]) == 1 and d["problems"][0].startswith("monthly: ")' \
	"check JSON: monthly missing, the only problem"
run "$OPSCTL" schedule install --systemd --root "$R"
run "$OPSCTL" schedule check --root "$R"
expect_rc 0 "install puts the timer back"

# A changed key: the timer differs until installed again.
OPSCTL_SCHEDULE_CACHE="0 */4 * * *" run "$OPSCTL" schedule check --root "$R"
expect_fail 1 "schedule.cache changed: check names the cache timer" "opsctl-cache.timer differs"

# Late: cleanup's last success three days ago (the real command, an old clock).
run env FAKETIME_DONT_FAKE_MONOTONIC=1 faketime -f -3d "$OPSCTL" cleanup temp -f
expect_rc 0 "cleanup temp under a clock three days back"
run "$OPSCTL" -o json schedule check --root "$R"
expect_json_true 'd["status"] == "failed" and find(d["jobs"],"job","cleanup")["state"] == "late" and len(d["problems"]) == 1' \
	"check: cleanup late (3 days since success, period 1 day plus 1 h grace)"
run "$OPSCTL" schedule check --root "$R"
expect_fail 1 "late: exit 1, the job and the reason" "cleanup: late: last success" "ago, longer than its period 1 d 0 h plus schedule.grace"
OPSCTL_SCHEDULE_GRACE=4d run "$OPSCTL" schedule check --root "$R"
expect_rc 0 "schedule.grace 4d covers it"
run "$OPSCTL" cleanup temp -f
run "$OPSCTL" schedule check --root "$R"
expect_rc 0 "a new success: on time again"

# Never succeeded, once its first period has passed since install: the wal
# job (hourly) two hours from now.
run env FAKETIME_DONT_FAKE_MONOTONIC=1 faketime -f +2h "$OPSCTL" -o json schedule check --root "$R"
expect_json_true 'find(d["jobs"],"job","wal")["state"] == "never" and find(d["jobs"],"job","backup")["state"] == "pending" and find(d["jobs"],"job","cache")["state"] == "pending"' \
	"two hours on: wal never succeeded; the daily backup and 6-hourly cache still pending"
grep -q '^opsctl_schedule_problems{task="schedule_check"} 1$' "$OPSCTL_STATE_DIR/opsctl.prom"
check $? "the textfile counts the problem"

# ---- remove ----
printf '[Service]\nExecStart=/bin/true\n' >"$U/opsctl-mine.service"
run "$OPSCTL" -o json schedule remove --systemd --root "$R"
expect_json_true 'd["status"] == "ok" and len(d["removed"]) == 16' "remove --systemd: the 16 generated units"
[ -z "$(ls "$W" 2>/dev/null)" ]
check $? "remove: every timer link gone"
[ -f "$U/opsctl-mine.service" ] && [ "$(ls "$U" | grep -c '^opsctl-')" -eq 1 ]
check $? "remove: a unit opsctl did not write is left alone"
run "$OPSCTL" schedule check --systemd --root "$R"
expect_fail 1 "check after remove: the jobs are missing"

# ---- no --root, systemd not running: written, not enabled, said so ----
# (On a host where systemd runs, this part would enable timers for real.)
if [ ! -d /run/systemd/system ]; then
	OPSCTL_SCHEDULE_UNIT_DIR="$T/units" run "$OPSCTL" -o json schedule install --systemd
	expect_json_true 'd["status"] == "ok" and "not running" in d["warnings"][0] and d["enabled"] == []' \
		"systemd not running: a warning, nothing enabled"
	[ "$(ls "$T/units" | wc -l)" -eq 16 ]
	check $? "... and the units are written"
fi

done_testing
