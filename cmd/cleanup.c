/*
 * `opsctl cleanup`: the front end of lib/cleanup.  The group is one table;
 * each leaf is a row, its option table and an op of a few lines, so a leaf
 * is added (data, rotate) as a row and its own options without touching
 * the others.  The lock, journal and output are the runner's (runner.c).
 */
#include "cli.h"
#include "cleanup_data.h"
#include "cleanup_rotate.h"
#include "opsmaint/cleanup.h"

#define OPT_VERBOSE \
	CLI_OPT_FLAG('v', "verbose", "enable verbose output: list every file removed")
#define OPT_FORCE \
	CLI_OPT_FORCE("do not ask for confirmation (protected paths and the cap still apply)")
#define OPT_DRY_RUN \
	CLI_OPT_DRY_RUN("list what would go, with counts and bytes per type, and remove nothing")

static ops_code files_op(struct cli_inv *inv, const ops_run *run, ops_cleanup_kind kind,
			 cJSON **report, ops_error *err)
{
	ops_cleanup_req req = {0};

	req.run = run;
	req.kind = kind;
	req.path = cli_given(inv, "path") ? cli_str(inv, "path") : NULL;
	req.types = cli_list(inv, "type");
	req.days = cli_num(inv, "days");
	req.days_given = cli_given(inv, "days");
	return ops_cleanup_files(&req, report, err);
}

static ops_code op_logs(struct cli_inv *inv, const ops_run *run, cJSON **report, ops_error *err)
{
	return files_op(inv, run, OPS_CLEANUP_LOGS, report, err);
}

static ops_code op_temp(struct cli_inv *inv, const ops_run *run, cJSON **report, ops_error *err)
{
	return files_op(inv, run, OPS_CLEANUP_TEMP, report, err);
}

/* cleanup-logs.sh's usage block, flag for flag (guide 000 section 8). */
static const struct cli_opt logs_opts[] = {
	CLI_OPT_INT('d', "days", "DAYS", 0, 36500, "remove logs older than DAYS days",
		    .def = "30"),
	CLI_OPT_STRING('p', "path", "DIR", "log directory path", .key = "cleanup.log_dir",
		       .complete = CLI_C_DIR),
	CLI_OPT_ENUMLIST('t', "type", "TYPE", "application,system,all", "log types to clean",
			 .def = "all"),
	OPT_FORCE,
	CLI_OPT_YES,
	OPT_DRY_RUN,
	OPT_VERBOSE,
	CLI_OPT_END
};

/* cleanup-temp-files.sh's usage block, flag for flag. */
static const struct cli_opt temp_opts[] = {
	CLI_OPT_INT('d', "days", "DAYS", 0, 36500,
		    "remove files older than DAYS days (every type; without it cache files "
		    "go after cleanup.cache_age, pycache after cleanup.pycache_age)", .def = "1"),
	CLI_OPT_STRING('p', "path", "DIR", "temp directory path", .key = "cleanup.temp_dir",
		       .complete = CLI_C_DIR),
	CLI_OPT_ENUMLIST('t', "type", "TYPE", "uploads,processing,cache,scratch,pycache,all",
			 "file types to clean", .def = "all"),
	OPT_FORCE,
	CLI_OPT_YES,
	OPT_DRY_RUN,
	OPT_VERBOSE,
	CLI_OPT_END
};

#define SAFETY \
	"Symbolic links are removed as names and never followed; a directory swapped for a " \
	"link while the walk runs is not entered; mount points are not crossed; files that a " \
	"process holds open for writing are skipped and listed (as root every process is " \
	"checked, otherwise only the user's own). The root and every type directory are " \
	"refused, even with --force and before anything is removed, when they are /, a " \
	"directory that holds everything (/var, /home, /opt, /tmp, ...), under a system tree " \
	"(/etc, /usr, /boot, ...), the home directory, opsctl's state directory, a backup " \
	"directory (backup.dir, db.backup_dir, vector.backup_dir, backup.monitoring_dir), the " \
	"vector index's directory or a protected path (general.protected_paths): exit 64 when " \
	"the path came from -p, 78 when from the configuration; inside an accepted root those " \
	"are never entered.\n\n" \
	"The files are counted before the first is removed: more than cleanup.max_files (or " \
	"more bytes than cleanup.max_bytes) refuses the whole run, exit 1, nothing removed. On " \
	"a terminal the count is shown and confirmed unless -f or --yes; in cron (no terminal) " \
	"nothing is asked. The maintenance window does not apply: the guide runs it daily at " \
	"4 AM. --dry-run lists every file that would go, per type with counts and bytes, and " \
	"says whether the cap would refuse the run. An entry that cannot be read or removed " \
	"(an unreadable directory) is listed under problems, the rest is cleaned, and the run " \
	"exits 1. Names are shown quoted in text (\\xNN for a control character such as a " \
	"newline and for a byte that is not UTF-8, \\\\ for a backslash); in JSON they are " \
	"exact, with NAME_hex beside a name that is not UTF-8.\n\n" \
	"The figures go to the journal and the Prometheus textfile: " \
	"opsctl_cleanup_files_removed, opsctl_cleanup_bytes_removed, " \
	"opsctl_cleanup_directories_removed, opsctl_cleanup_files_skipped_open and " \
	"opsctl_cleanup_errors, their target the directory as an absolute path (-p logs from " \
	"/srv/hub and -p /srv/hub/logs are one series). One run per task and directory at a " \
	"time, the directory compared the same way (exit 75)."

const struct cli_cmd cli_cleanup_subs[] = {
	{.name = "logs",
	 .summary = "remove old log files (cleanup-logs.sh)",
	 .opts = logs_opts,
	 .op = op_logs,
	 .flags = CLI_CHANGES,
	 .description =
	 "Removes log files older than -d DAYS days (30; older means last modified more than "
	 "DAYS times 24 hours ago) below the log directory, cleanup.log_dir "
	 "(/var/log/document-management, guide 000 section 5.4) or -p DIR, as cleanup-logs.sh "
	 "does for the logs logrotate does not cover. Types: application, the files matching "
	 "cleanup.application_patterns (*.log and logrotate's leftovers) in "
	 "cleanup.application_dir (the root itself); system, cleanup.system_patterns in "
	 "cleanup.system_dir (system/). A type's directory inside another's is walked by its own "
	 "rules only. Directories are kept.\n\n" SAFETY,
	 .examples =
	 "What would go, without removing anything\nopsctl cleanup logs --dry-run\n"
	 "Guide 000 section 5.4, from cron\nopsctl cleanup logs --days 30\n"
	 "Guide 003's weekly cleanup (logs 7 days)\nopsctl cleanup logs -d 7 -p /srv/hub/logs -f"},
	{.name = "temp",
	 .summary = "remove old temporary files (cleanup-temp-files.sh)",
	 .opts = temp_opts,
	 .op = op_temp,
	 .flags = CLI_CHANGES,
	 .description =
	 "Removes temporary files below the temp directory, cleanup.temp_dir "
	 "(/opt/document-management/tmp) or -p DIR, as cleanup-temp-files.sh does (guide 000 "
	 "section 5.5): upload files (cleanup.uploads_dir, uploads/) and processing files "
	 "(processing/) older than -d DAYS days (1), and cached files (cache/) older than "
	 "cleanup.cache_age (7 days), or -d DAYS when it is given. Each type's names are chosen "
	 "by cleanup.TYPE_patterns (* by default). Directories below a type's directory that "
	 "are empty once their files are gone, and old enough, are removed too.\n\n"
	 "Guide 003's weekly_cleanup.sh adds two types over the whole tree (the other types' "
	 "directories are left to them): scratch, files named *.tmp "
	 "(cleanup.scratch_patterns) older than -d DAYS days anywhere below "
	 "cleanup.scratch_dir (the root itself), no directory removed; and pycache, every "
	 "__pycache__ directory removed whole whatever its age (cleanup.pycache_age 0, or -d "
	 "DAYS when it is given): each entry inside it, then the directory once empty. A "
	 "directory of any other name is never removed by pycache, a file in it open for "
	 "writing keeps it, and a link in it goes as a name. Both are part of -t all. "
	 "opsctl cleanup temp -p DIR -t scratch,pycache is guide 003's weekly_cleanup.sh run "
	 "in the project directory DIR.\n\n"
	 SAFETY,
	 .examples =
	 "Daily at 4 AM (guide 000 section 5.5)\n0 4 * * * opsctl cleanup temp\n"
	 "Only the cache, as JSON\nopsctl --output json cleanup temp -t cache\n"
	 "Guide 003's weekly_cleanup.sh (*.tmp older than a day, every __pycache__)\n"
	 "opsctl cleanup temp -p /opt/app -t scratch,pycache"},
	CLI_CLEANUP_DATA_ROW,
	CLI_CLEANUP_ROTATE_ROW,
	{0}
};

const char cli_cleanup_description[] =
	"Disk space taken back, with nothing precious lost (guide 000 sections 5.4 and 5.5, "
	"guide 002 \"Disk Full\", guide 003's weekly cleanup): old logs and temporary files, "
	"old rows under the guides' retention rules (cleanup data), and log rotation through "
	"Debian's logrotate (cleanup rotate). Which directories, names "
	"and rules each one means comes from the [cleanup] keys of opsctl.conf(5), with the "
	"guides' layout as the default.";
