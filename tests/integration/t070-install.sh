#!/usr/bin/env bash
# t070: packaging.  `make install DESTDIR=` puts the binary, the sample
# configuration, the systemd units, the logrotate snippet and the crontab
# example where they belong, with the binary's installed path in the units;
# the units pass `systemd-analyze verify`, the snippet `logrotate -d`, the
# sample `opsctl config check`; `make uninstall` removes every file again
# and leaves an operator's own opsctl.conf alone.
. "$(dirname "$0")/../lib/common.sh"

R="$T/root"
if ! make -C "$ROOT" -s install DESTDIR="$R" >"$T/install.log" 2>&1; then
	not_ok "make install DESTDIR=..."
	sed 's/^/#   /' "$T/install.log" | tail -n 20
	done_testing
fi
ok "make install DESTDIR=..."

for f in usr/local/bin/opsctl etc/opsctl/opsctl.conf.sample etc/logrotate.d/opsctl \
	usr/local/share/doc/opsctl/crontab.example usr/local/share/doc/opsctl/opsctl.conf.sample \
	usr/local/lib/systemd/system/opsctl-backup.service usr/local/lib/systemd/system/opsctl-backup.timer \
	usr/local/lib/systemd/system/opsctl-db-maintain.service \
	usr/local/lib/systemd/system/opsctl-db-maintain.timer \
	usr/local/lib/systemd/system/opsctl-vector-rebuild.service \
	usr/local/lib/systemd/system/opsctl-vector-rebuild.timer \
	usr/local/share/man/man1/opsctl-config.1 usr/local/share/man/man5/opsctl.conf.5; do
	if [ -f "$R/$f" ]; then ok "installed /$f"; else not_ok "installed /$f"; fi
done
if [ "$(stat -c %a "$R/etc/opsctl/opsctl.conf.sample")" = 644 ] &&
	[ "$(stat -c %a "$R/usr/local/lib/systemd/system/opsctl-backup.service")" = 644 ]; then
	ok "sample and units are mode 644"
else not_ok "sample and units are mode 644"; fi
[ -e "$R/etc/opsctl/opsctl.conf" ] && not_ok "install never writes opsctl.conf itself" ||
	ok "install never writes opsctl.conf itself"

# The timers follow the guides' schedule (guide 000 sections 2.4, 3, 7).
expect_file_contains "$R/usr/local/lib/systemd/system/opsctl-backup.timer" \
	"OnCalendar=*-*-* 01:00:00" "backup: daily at 1 AM"
expect_file_contains "$R/usr/local/lib/systemd/system/opsctl-db-maintain.timer" \
	"OnCalendar=Sun *-*-* 02:00:00" "db maintain: Sundays at 2 AM, in the prod window"
expect_file_contains "$R/usr/local/lib/systemd/system/opsctl-vector-rebuild.timer" \
	"OnCalendar=*-01,04,07,10-01 02:00:00" "vector rebuild: 2 AM on the first day of the quarter"
expect_file_contains "$R/usr/local/lib/systemd/system/opsctl-vector-rebuild.service" \
	"ExecStart=/usr/local/bin/opsctl vector rebuild --backup --force" \
	"vector rebuild runs as the guide's cron line does"

# systemd-analyze verify: the units with the DESTDIR binary standing in for
# /usr/local/bin/opsctl (verify checks that ExecStart exists), and the
# installed man pages on MANPATH (verify runs man for Documentation=).
if tool=$(missing_tool systemd-analyze); then
	skip "systemd-analyze verify" "$tool not installed"
else
	mkdir -p "$T/units"
	for u in "$R"/usr/local/lib/systemd/system/opsctl-*; do
		sed "s|/usr/local/bin/opsctl|$R/usr/local/bin/opsctl|" "$u" >"$T/units/${u##*/}"
	done
	if MANPATH="$R/usr/local/share/man" systemd-analyze verify "$T"/units/opsctl-* \
		>"$T/verify.log" 2>&1 && [ ! -s "$T/verify.log" ]; then
		ok "systemd-analyze verify: every unit, no warning"
	else
		not_ok "systemd-analyze verify: every unit, no warning"
		sed 's/^/#   /' "$T/verify.log"
	fi
	# A broken unit is caught, so the check above means something.
	sed 's/^OnCalendar=.*/OnCalendar=Someday 25:00/' "$T/units/opsctl-backup.timer" \
		>"$T/units/opsctl-broken.timer"
	cp "$T/units/opsctl-backup.service" "$T/units/opsctl-broken.service"
	if MANPATH="$R/usr/local/share/man" systemd-analyze verify "$T/units/opsctl-broken.timer" \
		>"$T/verify.log" 2>&1 && [ ! -s "$T/verify.log" ]; then
		not_ok "systemd-analyze verify refuses a bad OnCalendar"
	else ok "systemd-analyze verify refuses a bad OnCalendar"; fi
fi

if tool=$(missing_tool logrotate); then
	skip "logrotate -d" "$tool not installed"
else
	mkdir -p "$T/lr/state"
	printf '{"time":"x"}\n' >"$T/lr/state/journal.jsonl"
	sed "s|/var/lib/opsctl|$T/lr/state|" "$R/etc/logrotate.d/opsctl" >"$T/lr/opsctl"
	if logrotate -d -s "$T/lr/status" "$T/lr/opsctl" >"$T/lr.log" 2>&1 &&
		grep -q "considering log $T/lr/state/journal.jsonl" "$T/lr.log" &&
		! grep -qi "error" "$T/lr.log"; then
		ok "logrotate -d reads the snippet and considers the journal"
	else
		not_ok "logrotate -d reads the snippet and considers the journal"
		sed 's/^/#   /' "$T/lr.log"
	fi
	# Force one rotation for real: the journal moves away, and the next
	# opsctl run creates a fresh one.
	logrotate -f -s "$T/lr/status" "$T/lr/opsctl" >/dev/null 2>&1
	if [ -f "$T/lr/state/journal.jsonl.1" ] && [ ! -e "$T/lr/state/journal.jsonl" ]; then
		ok "a forced rotation moves the journal aside (nocreate)"
	else not_ok "a forced rotation moves the journal aside (nocreate)"; ls -la "$T/lr/state" | sed 's/^/#   /'; fi
fi

# The sample: every key of the table, every section once; it passes config
# check as shipped and with every "#key = default" line uncommented.
S="$R/etc/opsctl/opsctl.conf.sample"
want=$(grep -c '^KEY(' "$ROOT/lib/core/config_keys.def")
got=$(grep -cE '^#[a-z_]+ =' "$S")
if [ "$got" -eq "$want" ]; then ok "the sample names every key ($want)"
else not_ok "the sample names every key ($got of $want)"; fi
if [ "$(grep -c '^\[' "$S")" -eq "$(grep '^\[' "$S" | sort -u | wc -l)" ]; then
	ok "each section once in the sample"
else not_ok "each section once in the sample"; fi
run "$OPSCTL" --config "$S" config check
expect_rc 0 "the sample as shipped passes config check"
sed -E 's/^#([a-z_]+ = .+)$/\1/' "$S" >"$T/uncommented.conf"
run "$OPSCTL" --config "$T/uncommented.conf" config check
expect_rc 0 "the sample with every default uncommented passes config check"
if cmp -s "$S" "$ROOT/contrib/opsctl.conf.sample" &&
	"$OPSCTL" __gen conf "$T" && cmp -s "$T/opsctl.conf.sample" "$S"; then
	ok "the shipped sample is what the key table generates"
else not_ok "the shipped sample is what the key table generates"; fi

# The crontab example: every line's command is a real opsctl command.
bad=""
while read -r m h dom mon dow user cmd; do
	case "$m" in '' | '#'* | SHELL=* | PATH=*) continue ;; esac
	words=${cmd#*opsctl }
	words=$(echo "$words" | sed -E 's/ -.*//')
	# shellcheck disable=SC2086
	"$OPSCTL" $words --help >/dev/null 2>&1 || bad="$bad [$words]"
done <"$R/usr/local/share/doc/opsctl/crontab.example"
if [ -z "$bad" ]; then ok "every crontab line runs an existing command"
else not_ok "every crontab line runs an existing command (unknown:$bad)"; fi

# uninstall: every installed file goes; the operator's opsctl.conf stays.
echo '[db]' >"$R/etc/opsctl/opsctl.conf"
make -C "$ROOT" -s uninstall DESTDIR="$R" >"$T/uninstall.log" 2>&1
left=$(cd "$R" && find . -type f ! -path ./etc/opsctl/opsctl.conf | sort)
if [ -z "$left" ]; then ok "make uninstall removes every installed file"
else not_ok "make uninstall removes every installed file"; echo "$left" | sed 's/^/#   left: /'; fi
if [ -f "$R/etc/opsctl/opsctl.conf" ]; then ok "uninstall keeps the operator's opsctl.conf"
else not_ok "uninstall keeps the operator's opsctl.conf"; fi

done_testing
