#!/usr/bin/env bash
# t900: opsctl schedule show and the cron side of install, check and remove:
# the default job table (guides 000, 002, 003), overrides from the file and
# the environment, bad calendars (exit 78 naming key, place and field), one
# cron.d file whose lines parse back to the configured calendars and whose
# weekday guard really runs in sh, a second install that changes nothing, a
# changed key seen by check, a foreign file never replaced or removed, and
# usage errors.
. "$(dirname "$0")/../lib/common.sh"
tool=$(missing_tool python3 sh date) && bail_out "$tool (scripts/setup)"

CRON="$T/cron.d/opsctl"
export OPSCTL_SCHEDULE_CRON_FILE="$CRON"

# ---- show: the defaults ----
run "$OPSCTL" schedule show
expect_rc 0 "schedule show with the defaults"
for row in "backup     0 1 * * *" "wal        0 * * * *" "cleanup    0 4 * * *" \
	"health     0 6 * * *" "cache      0 */6 * * *" "daily      off" \
	"weekly     0 14 * * 0" "monthly    0 10 1-7 * 6" "quarterly  0 10 8-14 3,6,9,12 6"; do
	expect_out_contains "$row" "show: ${row%% *} at its default"
done
run "$OPSCTL" schedule
expect_rc 0 "schedule with no subcommand is show"
expect_out_contains "vector cache-rebuild" "show: the command each job runs"

run "$OPSCTL" -o json schedule show
expect_json_true 'd["status"] == "ok" and len(d["jobs"]) == 9 and [j["job"] for j in d["jobs"]] == ["backup","wal","cleanup","health","cache","daily","weekly","monthly","quarterly"]' \
	"show JSON: the nine jobs in table order"
expect_json_true 'find(d["jobs"],"job","daily")["next_run"] is None and find(d["jobs"],"job","daily")["when"] == "off"' \
	"show JSON: daily is off, with no next run"
expect_json_true 'find(d["jobs"],"job","health")["command"] == "health -n" and find(d["jobs"],"job","backup")["command"] == "backup create --type full" and find(d["jobs"],"job","wal")["command"] == "backup create --type wal"' \
	"show JSON: the commands of the table"
# The next runs against python's own calendar arithmetic (UTC here),
# minute by minute: both day fields must match.
python3 - "$OUT" <<'PY'
import datetime as dt, json, sys
d = json.load(open(sys.argv[1]))
now = dt.datetime.now(dt.timezone.utc)
def nxt(ok):
    t = (now + dt.timedelta(minutes=1)).replace(second=0, microsecond=0)
    while not ok(t):
        t += dt.timedelta(minutes=1)
    return t.strftime("%Y-%m-%d %H:%M UTC")
want = {
    "monthly": nxt(lambda t: t.minute == 0 and t.hour == 10 and t.day <= 7 and t.weekday() == 5),
    "quarterly": nxt(lambda t: t.minute == 0 and t.hour == 10 and 8 <= t.day <= 14
                     and t.month in (3, 6, 9, 12) and t.weekday() == 5),
    "cache": nxt(lambda t: t.minute == 0 and t.hour % 6 == 0),
    "weekly": nxt(lambda t: t.minute == 0 and t.hour == 14 and t.weekday() == 6),
}
got = {j["job"]: j["next_run"] for j in d["jobs"]}
bad = [(k, got[k], v) for k, v in want.items() if got[k] != v]
print(bad if bad else "", end="")
sys.exit(1 if bad else 0)
PY
check $? "show: next runs of the first Saturday, the quarter's second Saturday, every 6 h, Sunday 2 PM"

# ---- overrides ----
cat >over.conf <<'EOF'
[schedule]
weekly = 30 3 * * sun
daily = @daily
health = off
EOF
run "$OPSCTL" --config over.conf -o json schedule show
expect_json_true 'find(d["jobs"],"job","weekly")["when"] == "30 3 * * sun" and find(d["jobs"],"job","daily")["when"] == "@daily" and find(d["jobs"],"job","health")["next_run"] is None' \
	"show: schedule.* from the configuration file"
expect_json_true 'find(d["jobs"],"job","daily")["next_run"].endswith("00:00 UTC")' \
	"show: @daily runs at midnight"
OPSCTL_SCHEDULE_CACHE="15 */2 * * *" run "$OPSCTL" -o json schedule show
expect_json_true 'find(d["jobs"],"job","cache")["when"] == "15 */2 * * *" and find(d["jobs"],"job","cache")["next_run"][14:16] == "15"' \
	"show: OPSCTL_SCHEDULE_CACHE overrides the default"

# ---- bad calendars: exit 78 naming the key, where, and the field ----
printf '[schedule]\nweekly = 0 14 * * 8\n' >bad.conf
run "$OPSCTL" --config bad.conf schedule show
expect_error 78 "bad day-of-week: exit 78" "bad.conf:2" "schedule.weekly" "day-of-week field '8'"
printf '[schedule]\nmonthly = 0 10 1-7 *\n' >bad4.conf
run "$OPSCTL" --config bad4.conf schedule show
expect_error 78 "four fields: exit 78" "schedule.monthly" "4 fields, not five"
OPSCTL_SCHEDULE_BACKUP="0 25 * * *" run "$OPSCTL" schedule install --cron
expect_error 78 "bad hour from the environment: exit 78, nothing installed" "schedule.backup" \
	"hour field '25'" "OPSCTL_SCHEDULE_BACKUP"
[ ! -e "$CRON" ]
check $? "bad calendar: no cron file written"
OPSCTL_SCHEDULE_CLEANUP="0 0 31 feb *" run "$OPSCTL" schedule check
expect_error 78 "a day that never comes: exit 78" "schedule.cleanup" "would never run"
OPSCTL_SCHEDULE_WAL="@sometimes" run "$OPSCTL" schedule show
expect_error 78 "unknown alias: exit 78" "schedule.wal" "unknown alias '@sometimes'"

# ---- usage ----
run "$OPSCTL" schedule install
expect_error 64 "install without --cron or --systemd: exit 64" "--cron or --systemd"
run "$OPSCTL" schedule install --cron --systemd
expect_error 64 "install --cron --systemd: exit 64" "not both"
run "$OPSCTL" schedule remove
expect_error 64 "remove without --cron or --systemd: exit 64"
run "$OPSCTL" schedule install --cron --root "$T/r"
expect_error 64 "--root with --cron: exit 64" "--root is for --systemd"

# ---- nothing installed yet ----
run "$OPSCTL" schedule check
expect_fail 1 "check before any install: exit 1" "not installed"
run "$OPSCTL" -o json schedule check
expect_json_true 'd["status"] == "failed" and d["installed"] == "none" and len(d["problems"]) == 8 and find(d["jobs"],"job","daily")["state"] == "off"' \
	"check JSON: the eight enabled jobs missing, daily off"

# ---- install --cron ----
run "$OPSCTL" schedule install --cron --dry-run
expect_rc 0 "install --dry-run"
expect_out_contains "changed: 1" "dry run: says the file would change"
[ ! -e "$CRON" ]
check $? "dry run: no file written"

run "$OPSCTL" -o json schedule install --cron
expect_json_true 'd["status"] == "ok" and d["changed"] == 1 and d["files"] == ["'"$CRON"'"]' \
	"install --cron: one file written"
head -n 1 "$CRON" | grep -q '^# Generated by opsctl schedule install --cron'
check $? "cron file: the generated header first"
grep -qx 'SHELL=/bin/sh' "$CRON" && grep -q '^PATH=/' "$CRON"
check $? "cron file: SHELL=/bin/sh and PATH="
! grep -q ' run daily' "$CRON"
check $? "cron file: no line for daily (off)"

# Parse every line back: fields, user, command; the calendar of each job
# against python's reading of the key (AND of both day fields).
python3 - "$CRON" "$OPSCTL" >"$T/parse.out" 2>&1 <<'PY'
import re, sys
path, opsctl = sys.argv[1], sys.argv[2]
import os
opsctl = os.path.realpath(opsctl)
want = {"backup": ("0 1 * * *", "backup create --type full"),
        "wal": ("0 * * * *", "backup create --type wal"),
        "cleanup": ("0 4 * * *", "cleanup temp"),
        "health": ("0 6 * * *", "health -n"),
        "cache": ("0 */6 * * *", "vector cache-rebuild"),
        "weekly": ("0 14 * * 0", "run weekly"),
        "monthly": ("0 10 1-7 * *", "run monthly"),
        "quarterly": ("0 10 8-14 3,6,9,12 *", "run quarterly")}
guard = {"monthly": '[ "$(date +\\%u)" = 6 ] && ', "quarterly": '[ "$(date +\\%u)" = 6 ] && '}
lines = open(path).read().splitlines()
seen = {}
for i, l in enumerate(lines):
    m = re.match(r"# job (\w+): schedule\.(\w+) = ", l)
    if not m:
        continue
    job = m.group(1)
    f = lines[i + 1].split(None, 6)
    fields, user, rest = " ".join(f[:5]), f[5], f[6]
    cmd = guard.get(job, "") + "timeout 21600 %s %s" % (opsctl, want[job][1])
    if fields != want[job][0] or user != "root" or rest != cmd:
        print("bad line for", job, repr(lines[i + 1]), "want", repr(want[job][0]), repr(cmd))
        sys.exit(1)
    seen[job] = 1
sys.exit(0 if sorted(seen) == sorted(want) else 1)
PY
check $? "cron file: each job's line parses back to its fields, root, the timeout and the command"
[ -s "$T/parse.out" ] && diag "$(cat "$T/parse.out")"

# The guard of the first Saturday, run by sh as cron runs it ('\%' is '%').
G=$(grep ' run monthly$' "$CRON" | sed 's/^\([^ ]* \)\{6\}//; s/timeout .*//; s/\\%/%/g')
if sh -c "${G}exit 0"; then got=yes; else got=no; fi
want=$([ "$(date +%u)" = 6 ] && echo yes || echo no)
[ "$got" = "$want" ]
check $? "monthly's weekday guard passes in sh exactly on a Saturday (today: $want)"
printf '[schedule]\nweekly = 0 2 1-7 * %s,%s\n' "$(date +%a)" "$(date -d tomorrow +%a)" >today.conf
run "$OPSCTL" --config today.conf schedule install --cron --dry-run
expect_rc 0 "a calendar with two weekdays and days of the month"

# ---- idempotent ----
M1=$(stat -c %y "$CRON")
sleep 1
run "$OPSCTL" -o json schedule install --cron
expect_json_true 'd["changed"] == 0' "second install: changed 0"
[ "$(stat -c %y "$CRON")" = "$M1" ]
check $? "second install: the file's mtime unchanged"

# ---- check ----
run "$OPSCTL" schedule check --cron
expect_rc 0 "check --cron right after install: every job pending, no problem"
run "$OPSCTL" -o json schedule check
expect_json_true 'd["installed"] == "cron" and d["problems"] == [] and find(d["jobs"],"job","backup")["state"] == "pending"' \
	"check JSON: installed cron, no problems"
grep -q '^opsctl_schedule_problems{task="schedule_check"} 0$' "$OPSCTL_STATE_DIR/opsctl.prom"
check $? "check: opsctl_schedule_problems 0 in the textfile"
grep -q '^opsctl_schedule_jobs{task="schedule_check"} 8$' "$OPSCTL_STATE_DIR/opsctl.prom"
check $? "check: opsctl_schedule_jobs 8 in the textfile"

# A key changed after install: that job differs; install again puts it right.
OPSCTL_SCHEDULE_WEEKLY="0 15 * * 0" run "$OPSCTL" schedule check
expect_fail 1 "check after schedule.weekly changed: exit 1" "weekly" "another calendar"
OPSCTL_SCHEDULE_DAILY="0 3 * * *" run "$OPSCTL" -o json schedule check
expect_json_true 'find(d["jobs"],"job","daily")["state"] == "missing" and len(d["problems"]) == 1' \
	"check: a job turned on but not installed is missing"
grep -q '^opsctl_schedule_problems{task="schedule_check"} 1$' "$OPSCTL_STATE_DIR/opsctl.prom"
check $? "check: the problem counted in the textfile"
OPSCTL_SCHEDULE_WEEKLY="0 15 * * 0" run "$OPSCTL" -o json schedule install --cron
expect_json_true 'd["changed"] == 1' "install after a change: the file changes"
grep -q '^0 15 \* \* 0 root .* run weekly$' "$CRON"
check $? "the new weekly line"
run "$OPSCTL" schedule check
expect_fail 1 "check with the old key again: weekly differs" "weekly"
# A line edited by hand is seen too.
run "$OPSCTL" schedule install --cron
sed -i 's/ run weekly$/ run monthly/' "$CRON"
run "$OPSCTL" schedule check
expect_fail 1 "a hand-edited command: exit 1" "weekly" "runs '"
run "$OPSCTL" schedule install --cron
sed -i '/ run quarterly$/d' "$CRON"
run "$OPSCTL" schedule check
expect_fail 1 "a deleted line: exit 1 naming the job" "quarterly" "missing"

# ---- remove ----
run "$OPSCTL" -o json schedule remove --cron
expect_json_true 'd["removed"] == ["'"$CRON"'"]' "remove --cron: the file removed"
[ ! -e "$CRON" ]
check $? "remove: the cron file is gone"
run "$OPSCTL" -o json schedule remove --cron
expect_json_true 'd["status"] == "ok" and d["removed"] == []' "remove again: nothing to do, exit 0"

# A file of that name opsctl did not write: never replaced, never removed.
printf '0 0 * * * root /usr/local/bin/their-job\n' >"$CRON"
run "$OPSCTL" schedule install --cron
expect_fail 1 "install over a foreign file: exit 1" "$CRON" "not written by opsctl"
grep -q their-job "$CRON"
check $? "the foreign file is unchanged"
run "$OPSCTL" schedule remove --cron
expect_rc 0 "remove with a foreign file there"
grep -q their-job "$CRON"
check $? "remove left the foreign file alone"

done_testing
