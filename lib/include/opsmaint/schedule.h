/*
 * The schedule of maintenance jobs (guide 000 section 7, guide 002's
 * scheduled_maintenance.py, guide 003's setup_maintenance_automation.sh):
 * a fixed table of jobs, each with a schedule.NAME key holding its calendar
 * (opsmaint/calendar.h), shown, installed as one cron.d file, a block of the
 * user's crontab or systemd timers, removed, and checked: what is installed
 * against the configuration, and every enabled job's last success in the
 * Prometheus textfile against its longest gap plus schedule.grace (a dead
 * man's switch).
 *
 * Generated files begin with a header that says so; remove deletes only
 * files that have it.  Install writes a file only when its content changes
 * (a second install changes nothing) and records when each job was first
 * installed with its calendar in STATE_DIR/schedule.json, so that a job
 * that never ran is a problem only once its first period has passed.
 */
#ifndef OPSMAINT_SCHEDULE_H
#define OPSMAINT_SCHEDULE_H
#include "opsmaint/api.h"
OPS_API_BEGIN

#include <cjson/cJSON.h>
#include "opsmaint/error.h"
#include "opsmaint/run.h"

/* One job of the table. */
typedef struct ops_sched_job {
	const char *name;		/* "backup" */
	const char *key;		/* "schedule.backup" */
	const char *const *argv;	/* what runs, after the opsctl binary */
	const char *metric;		/* the textfile series its success sets */
	const char *task;		/* ... its task label */
	const char *target;		/* ... its target label; NULL: any target */
} ops_sched_job;

/* The jobs, terminated by an entry with name NULL. */
const ops_sched_job *ops_schedule_jobs(void);

typedef enum ops_sched_kind {
	OPS_SCHED_AUTO = 0,	/* check: whatever is installed */
	OPS_SCHED_CRON,
	OPS_SCHED_SYSTEMD
} ops_sched_kind;

typedef struct ops_sched_opts {
	ops_sched_kind kind;
	const char *root;	/* systemd: an image or test root (systemctl --root) */
} ops_sched_opts;

/*
 * Every job: name, calendar, command, next run (report "jobs").  A
 * schedule.NAME that does not parse is OPS_ECONFIG naming the key, where it
 * was set and the field.
 */
ops_code ops_schedule_show(const ops_run *run, cJSON **report, ops_error *err);

/*
 * Install the jobs not "off" (run->dry_run: say what would change, write
 * nothing).  Cron: schedule.cron_file as root, or when the key is set; else
 * the user's crontab (crontab -l / crontab -), its other lines kept and
 * ours between marker comments.  Systemd: NAME.service and NAME.timer in
 * (root)schedule.unit_dir, then enabled: systemctl --root=ROOT enable with a
 * root, else daemon-reload and enable --now; when systemd is not running,
 * the units are written and not enabled (a warning in the report).
 * Report: "changed" files, "files", "warnings".
 */
ops_code ops_schedule_install(const ops_run *run, const ops_sched_opts *o, cJSON **report,
			      ops_error *err);

/* Remove what install wrote (files with the generated header), disabling
 * timers first.  Report: "removed" files. */
ops_code ops_schedule_remove(const ops_run *run, const ops_sched_opts *o, cJSON **report,
			     ops_error *err);

/*
 * Compare what is installed with the configuration (a job missing, not
 * enabled, different, or installed but off) and each enabled job's last
 * success with its period plus schedule.grace.  Report: "jobs" (each with
 * its state and reason), "problems" (one line each), _figures
 * opsctl_schedule_jobs and opsctl_schedule_problems.  OPS_EFAIL when there
 * is any problem.
 */
ops_code ops_schedule_check(const ops_run *run, const ops_sched_opts *o, cJSON **report,
			    ops_error *err);

OPS_API_END
#endif
