/*
 * `opsctl schedule`: the front end of lib/sched/schedule.c (guide 000
 * section 7, guide 003's setup_maintenance_automation.sh): show the jobs,
 * install or remove them as cron lines or systemd timers, check them.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "opsmaint/schedule.h"

/* --cron or --systemd: exactly one where need is set, at most one else. */
static ops_code kind_of(struct cli_inv *inv, int need, ops_sched_opts *o, ops_error *err)
{
	int cron = cli_flag(inv, "cron"), sd = cli_flag(inv, "systemd");

	memset(o, 0, sizeof *o);
	if (cron && sd)
		return ops_error_set(err, OPS_EUSAGE, "%s: give --cron or --systemd, not both",
				     inv->name);
	if (need && !cron && !sd)
		return ops_error_set(err, OPS_EUSAGE, "%s needs --cron or --systemd", inv->name);
	o->kind = cron ? OPS_SCHED_CRON : sd ? OPS_SCHED_SYSTEMD : OPS_SCHED_AUTO;
	if (cli_has_opt(inv, "root"))
		o->root = cli_str(inv, "root");
	if (o->root && o->kind == OPS_SCHED_CRON)
		return ops_error_set(err, OPS_EUSAGE, "%s: --root is for --systemd; set "
				     "schedule.cron_file for another cron file", inv->name);
	return OPS_OK;
}

static ops_code op_show(struct cli_inv *inv, const ops_run *run, cJSON **report, ops_error *err)
{
	(void)inv;
	return ops_schedule_show(run, report, err);
}

typedef ops_code (*sched_fn)(const ops_run *run, const ops_sched_opts *o, cJSON **report,
			    ops_error *err);

/* install and remove need --cron or --systemd; check takes either or none. */
static ops_code with_kind(struct cli_inv *inv, const ops_run *run, cJSON **report,
			  ops_error *err, int need, sched_fn fn)
{
	ops_sched_opts o;

	if (kind_of(inv, need, &o, err) != OPS_OK)
		return err->code;
	return fn(run, &o, report, err);
}

static ops_code op_install(struct cli_inv *inv, const ops_run *run, cJSON **report,
			   ops_error *err)
{
	return with_kind(inv, run, report, err, 1, ops_schedule_install);
}

static ops_code op_remove(struct cli_inv *inv, const ops_run *run, cJSON **report,
			  ops_error *err)
{
	return with_kind(inv, run, report, err, 1, ops_schedule_remove);
}

static ops_code op_check(struct cli_inv *inv, const ops_run *run, cJSON **report,
			 ops_error *err)
{
	return with_kind(inv, run, report, err, 0, ops_schedule_check);
}

#define OPT_CRON(what) CLI_OPT_FLAG(0, "cron", what)
#define OPT_SYSTEMD(what) CLI_OPT_FLAG(0, "systemd", what)
#define OPT_ROOT \
	CLI_OPT_STRING(0, "root", "DIR", "work on the systemd units below DIR (an image or a " \
		       "test root), through systemctl --root", .complete = CLI_C_DIR)

static const struct cli_opt show_opts[] = {
	CLI_OPT_END
};

static const struct cli_opt install_opts[] = {
	OPT_CRON("install as cron lines: schedule.cron_file as root, else your crontab"),
	OPT_SYSTEMD("install as systemd service and timer units in schedule.unit_dir, enabled"),
	OPT_ROOT,
	CLI_OPT_DRY_RUN("say which files would change, and change nothing"),
	CLI_OPT_END
};

static const struct cli_opt remove_opts[] = {
	OPT_CRON("remove the cron file or crontab block install --cron wrote"),
	OPT_SYSTEMD("disable and remove the units install --systemd wrote"),
	OPT_ROOT,
	CLI_OPT_END
};

static const struct cli_opt check_opts[] = {
	OPT_CRON("check the cron lines only"),
	OPT_SYSTEMD("check the systemd timers only"),
	OPT_ROOT,
	CLI_OPT_END
};

const struct cli_cmd cli_schedule_subs[] = {
	{.name = "show",
	 .summary = "show every job, when it runs, what it runs and its next run",
	 .opts = show_opts,
	 .op = op_show,
	 .description =
	 "Shows the job table with each job's calendar (its schedule.NAME key), the command "
	 "it runs and its next run in local time. A job whose key is off is listed with no next "
	 "run. A calendar that does not parse is exit 78 naming the key, where it was set and the "
	 "field.",
	 .examples = "The schedule at a glance\nopsctl schedule show\n"
		     "For a script\nopsctl schedule show -o json"},
	{.name = "install",
	 .summary = "install the jobs as cron lines or systemd timers (setup_maintenance_automation.sh)",
	 .opts = install_opts,
	 .op = op_install,
	 .task = "schedule install",
	 .lock = "schedule",
	 .flags = CLI_CHANGES,
	 .description =
	 "Installs every job that is not off. With --cron, as root (or when schedule.cron_file "
	 "is set) it writes one file, schedule.cron_file (/etc/cron.d/opsctl): a header saying it "
	 "is generated, SHELL=/bin/sh, PATH=, then per job a comment and the line "
	 "\"M H DOM MON DOW USER timeout SECONDS OPSCTL ARGS\" (schedule.user, schedule.timeout, "
	 "schedule.binary). Another user gets the same lines, without the user field, between "
	 "marker comments in their crontab (crontab -l, then crontab -), their other lines kept. "
	 "When a calendar restricts both the day of the month and the day of the week, the "
	 "line carries the days of the month and a weekday test before the command ('[ "
	 "\"$(date +\\%u)\" = 6 ] &&'), so that cron, which would run on either, runs on both.\n\n"
	 "With --systemd it writes NAME.service (Type=oneshot, User=, EnvironmentFile=- "
	 "schedule.environment_file, ExecStart=, TimeoutStartSec=, and for backups Nice=10 and "
	 "IOSchedulingClass=idle) and NAME.timer (OnCalendar=, Persistent=true, "
	 "RandomizedDelaySec= schedule.randomized_delay) in schedule.unit_dir, named "
	 "schedule.unit_prefix plus the job, and enables the timers: with --root DIR through "
	 "systemctl --root=DIR enable (offline, for images and tests), else systemctl "
	 "daemon-reload and enable --now. When systemd is not running, the units are written and "
	 "a warning says they are not enabled.\n\n"
	 "Files are written atomically and only when their content changes: a second install "
	 "reports changed: 0 and leaves every file as it was. A file of the same name that "
	 "opsctl did not write is never replaced (exit 1). The time each job was first installed "
	 "with its calendar is kept in STATE_DIR/schedule.json for schedule check.",
	 .examples = "Cron, as root (guide 003 used crontab -e)\nsudo opsctl schedule install --cron\n"
		     "What would change\nopsctl schedule install --systemd --dry-run\n"
		     "Into an image being built\nopsctl schedule install --systemd --root /mnt/image"},
	{.name = "remove",
	 .summary = "disable and remove what schedule install wrote",
	 .opts = remove_opts,
	 .op = op_remove,
	 .task = "schedule remove",
	 .lock = "schedule",
	 .flags = CLI_CHANGES,
	 .description =
	 "Removes the cron file or the crontab block, or disables the timers and removes the "
	 "units. Only files that begin with the generated header are touched; units of jobs "
	 "that have since been turned off go too.",
	 .examples = "Back to no schedule\nsudo opsctl schedule remove --systemd"},
	{.name = "check",
	 .summary = "compare the installed schedule with the configuration, and find late jobs",
	 .opts = check_opts,
	 .op = op_check,
	 .task = "schedule check",
	 .flags = CLI_RECORD,
	 .description =
	 "Compares what is installed (the cron lines read back, or the units and their timer "
	 "links; without --cron or --systemd whichever is installed) with the configuration: a "
	 "job missing, not enabled, with another calendar or command, or installed while its key "
	 "is off is a problem. Then, a dead man's switch: for every job not off, the newest "
	 "success in the Prometheus textfile (opsctl_last_success_timestamp_seconds of its task, "
	 "for run TIER the target TIER; for the full backup "
	 "opsctl_backup_last_success_timestamp_seconds) must be no older than the job's longest "
	 "gap between runs plus schedule.grace; a job that never succeeded is a problem once that "
	 "much time has passed since it was installed. The wal job is proven by any successful "
	 "backup run, since a WAL and a full backup share their series.\n\n"
	 "Exit 0 when every job is installed as configured and on time, 1 with one line per "
	 "problem otherwise. The run is recorded (opsctl_schedule_jobs, "
	 "opsctl_schedule_problems), so an alert can follow the check.",
	 .examples = "After installing\nopsctl schedule check\n"
		     "From monitoring\nopsctl schedule check -o json"},
	{0}
};

const char cli_schedule_description[] =
	"The maintenance schedule of guide 000 section 7, guide 002's scheduled_maintenance.py "
	"and guide 003's setup_maintenance_automation.sh, as one table of jobs whose calendars "
	"are configuration keys: backup (schedule.backup, daily 1 AM), wal (hourly), cleanup "
	"(4 AM), health (6 AM, with -n), cache (every 6 hours), daily (off: its tasks have their "
	"own times), weekly (Sundays 2 PM), monthly (the first Saturday, 10 AM) and quarterly "
	"(the second Saturday of March, June, September and December, 10 AM).\n\n"
	"A calendar is the five fields of a cron line (minute hour day-of-month month "
	"day-of-week: lists, ranges, steps, jan..dec, sun..sat, @hourly, @daily, @weekly, "
	"@monthly) or off. When both day fields are restricted a day must match both, as "
	"systemd's OnCalendar= and the guides mean it (0 10 1-7 * 6 is the first Saturday), "
	"not either, as Vixie cron would. Times are local; a time the clock skips when summer "
	"time begins is skipped that day, one it repeats runs once.";
