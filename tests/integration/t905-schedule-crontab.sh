#!/usr/bin/env bash
# t905: opsctl schedule install --cron for a user who is not root: the jobs go
# into that user's own crontab (crontab(1), Debian's cron package) as one
# marked block, the user's other lines kept as they were; a second install
# changes nothing; check reads the block back; remove takes the block out and
# nothing else.  A crontab that cannot be read is an error, never read as an
# empty one (that would replace the user's lines with the block alone).
# Runs opsctl as the user nobody, whose crontab it removes at the end.
. "$(dirname "$0")/../lib/common.sh"
tool=$(missing_tool crontab runuser) && bail_out "$tool (scripts/setup: cron)"
[ "$(id -u)" -eq 0 ] || bail_out "t905 runs opsctl as nobody through runuser: run it as root (CI does)"
crontab -u nobody -l >/dev/null 2>&1 && bail_out "nobody already has a crontab; t905 would replace it"

chmod 755 "$T"
NB="$T/nobody"
mkdir -p "$NB/state"
chown -R nobody "$NB"
at_exit "crontab -u nobody -r 2>/dev/null"
as_nobody() { run runuser -u nobody -- env OPSCTL_STATE_DIR="$NB/state" OPSCTL_CONFIG=/dev/null "$OPSCTL" "$@"; }
mine=$'# nobody\'s own job, not opsctl\'s\n17 3 * * * /bin/true mine'
printf '%s\n' "$mine" | crontab -u nobody -

# ---- install: one block, the user's lines kept ----
as_nobody schedule install --cron
expect_rc 0 "install --cron as a user who is not root: exit 0"
crontab -u nobody -l >"$T/tab1" 2>&1
check "$(grep -qxF '17 3 * * * /bin/true mine' "$T/tab1"; echo $?)" "the user's own line is kept"
check "$(grep -cE '^# (BEGIN|END) opsctl schedule' "$T/tab1" | grep -qx 2; echo $?)" "one block between its BEGIN and END lines"
check "$(grep -qE "^0 14 \* \* 0 timeout [0-9]+ .*opsctl run weekly$" "$T/tab1"; echo $?)" "the weekly job, without a user field (a user's crontab has none)"
check "$(grep -qF '[ "$(date +\%u)" = 6 ] && timeout' "$T/tab1"; echo $?)" "the first-Saturday job carries its weekday guard"
as_nobody -o json schedule install --cron
expect_json_true 'd["changed"] == 0' "a second install changes nothing"
crontab -u nobody -l >"$T/tab2" 2>&1
check "$(cmp -s "$T/tab1" "$T/tab2"; echo $?)" "and the crontab is byte for byte the same"

# ---- check reads the block back ----
as_nobody -o json schedule check --cron
expect_json_true 'd["status"] in ("ok", "warning") and all(j.get("installed", True) for j in d["jobs"] if j["when"] != "off")' \
	"check: every enabled job is installed in the user's crontab"

# ---- remove: the block only ----
as_nobody schedule remove --cron
expect_rc 0 "remove --cron: exit 0"
crontab -u nobody -l >"$T/tab3" 2>&1
check "$(diff <(printf '%s\n' "$mine") "$T/tab3" >/dev/null; echo $?)" "the crontab is the user's own lines again, as they were"

# ---- a crontab that cannot be read is not an empty one ----
printf '%s\n' "$mine" | crontab -u nobody -
if [ ! -e /etc/cron.deny ]; then
	at_exit "rm -f /etc/cron.deny"
	echo nobody >/etc/cron.deny
	as_nobody schedule install --cron
	expect_fail 1 "crontab(1) refused to the user: install fails" "crontab"
	rm -f /etc/cron.deny
	crontab -u nobody -l >"$T/tab4" 2>&1
	check "$(diff <(printf '%s\n' "$mine") "$T/tab4" >/dev/null; echo $?)" "and the user's crontab is untouched"
else
	not_ok "/etc/cron.deny exists on this machine: the refused-crontab case needs it absent"
fi

done_testing
