/*
 * `opsctl report`: the front end of lib/report (guide 002's
 * generate_maintenance_report and trend_analysis.py, guide 001's capacity
 * report and log analyzer, guide 003's monthly performance report).  Its
 * -o/--output is the file the report is written to, as scan's is; the
 * global -o/--output text|json gives way here (DESIGN).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "opsmaint/fileio.h"
#include "opsmaint/report.h"
#include "opsmaint/report_html.h"

/* DIR/ as guides 003 and 002 name their reports, dated by the period's end. */
static char *output_path(const char *out, const char *format, time_t until)
{
	struct stat st;
	size_t len = strlen(out);
	char name[64], date[16];
	struct tm tm;

	if (!(len && out[len - 1] == '/') && !(stat(out, &st) == 0 && S_ISDIR(st.st_mode)))
		return strdup(out);
	gmtime_r(&until, &tm);
	strftime(date, sizeof date, "%Y%m%d", &tm);
	if (strcmp(format, "json") == 0)
		snprintf(name, sizeof name, "monthly_performance_%s.json", date);
	else
		snprintf(name, sizeof name, "maintenance_report_%s.%s", date,
			 strcmp(format, "markdown") == 0 ? "md" :
			 strcmp(format, "html") == 0 ? "html" : "txt");
	return ops_path_join(out, name);
}

/* The document in format, in memory. */
static ops_code render(const cJSON *rep, const char *format, char **doc, size_t *len,
		       ops_error *err)
{
	ops_report_format fmt = strcmp(format, "json") == 0 ? OPS_REPORT_JSON :
				strcmp(format, "markdown") == 0 ? OPS_REPORT_MARKDOWN :
				OPS_REPORT_TEXT;
	FILE *fp;
	ops_code rc;

	*doc = NULL;
	*len = 0;
	if (strcmp(format, "html") == 0)
		return ops_report_html(rep, doc, len, err);
	if (!(fp = open_memstream(doc, len)))
		return ops_error_oom(err);
	rc = ops_report_render(fp, rep, fmt, err);
	if (fclose(fp) != 0 && rc == OPS_OK)
		rc = ops_error_oom(err);
	if (rc != OPS_OK) {
		free(*doc);
		*doc = NULL;
	}
	return rc;
}

ops_code cli_op_report(struct cli_inv *inv, const ops_run *run, cJSON **report, ops_error *err)
{
	const char *since_s = cli_str(inv, "since"), *format = cli_str(inv, "format");
	const char *out = cli_str(inv, "output"), *fail_on = cli_str(inv, "fail-on");
	ops_report_opts o = {0};
	time_t now = ops_run_now(run);
	cJSON *rep = NULL;
	char *doc = NULL, *path = NULL;
	size_t len = 0;
	ops_code rc;
	int n;

	if (since_s && cli_given(inv, "period-days"))
		return ops_error_set(err, OPS_EUSAGE, "--since and --period-days both say where "
				     "the period starts; give one");
	if (since_s)
		rc = ops_report_parse_since(since_s, now, &o.since, err);
	else
		o.since = now - (time_t)cli_num(inv, "period-days") * 86400;
	o.until = now;
	if (since_s && rc != OPS_OK)
		return rc;
	if ((rc = ops_report_build(run, &o, &rep, err)) != OPS_OK)
		return rc;
	if (out || inv->out == OPS_OUT_TEXT)
		rc = render(rep, format, &doc, &len, err);
	if (rc == OPS_OK && out) {
		if (!(path = output_path(out, format, o.until)))
			rc = ops_error_oom(err);
		else {
			char *dir = ops_path_dir(path);

			rc = dir ? ops_mkdir_p(dir, 0755, err) : ops_error_oom(err);
			if (rc == OPS_OK)
				rc = ops_write_file_atomic(path, doc, len, 0644, err);
			free(dir);
		}
	}
	if (rc != OPS_OK)
		goto out;
	if (inv->out == OPS_OUT_JSON) {
		if (path)
			cJSON_AddStringToObject(rep, "file", path);
		*report = rep;
		rep = NULL;
	} else {
		/* The figures for the record; the document is the output. */
		*report = cJSON_CreateObject();
		if (*report && path) {
			cJSON_AddStringToObject(*report, "file", path);
			cJSON_AddNumberToObject(*report, "findings", ops_report_count(rep, "info"));
			cJSON_AddNumberToObject(*report, "critical", ops_report_count(rep, "critical"));
		} else if (*report && !inv->quiet) {
			fwrite(doc, 1, len, stdout);
		}
		if (*report)
			cJSON_AddItemToObject(*report, "_figures", cJSON_DetachItemFromObject(rep,
										  "_figures"));
	}
	if (fail_on && (n = ops_report_count(*report && inv->out == OPS_OUT_JSON ? *report : rep,
					      fail_on)) > 0)
		rc = ops_error_set(err, OPS_EFAIL, "%d finding%s at or above %s", n,
				   n == 1 ? "" : "s", fail_on);
out:
	cJSON_Delete(rep);
	free(doc);
	free(path);
	return rc;
}

const struct cli_opt cli_report_opts[] = {
	CLI_OPT_STRING(0, "since", "WHEN", "start of the period: a duration back from now "
		       "(30d, 12h) or a date (2026-11-01)"),
	CLI_OPT_INT(0, "period-days", "DAYS", 1, 3650, "the period in days back from now, when "
		    "--since is not given", .key = "report.period_days", .def = "30"),
	CLI_OPT_ENUM(0, "format", "FORMAT", "text,json,markdown,html",
		     "the document: text with aligned columns, the report's JSON, Markdown "
		     "tables, or HTML with charts", .def = "text"),
	CLI_OPT_STRING('o', "output", "FILE", "write the document to FILE (atomically, mode "
		       "0644) instead of standard output; a directory (DIR/) gets the guides' "
		       "names", .complete = CLI_C_FILE),
	CLI_OPT_ENUM(0, "fail-on", "SEVERITY", "warning,critical",
		     "exit 1 when a finding at or above SEVERITY exists (default: exit 0 "
		     "whatever the findings)"),
	CLI_OPT_END
};

const char cli_report_description[] =
	"The maintenance report over a period (default the last 30 days, report.period_days): "
	"guide 002's maintenance_report.txt and trend_analysis.py (slow memory leaks, "
	"performance regressions), guide 001's capacity report and log analyzer, guide 003's "
	"monthly performance report. It reads what opsctl recorded and measures nothing itself.\n\n"
	"Sections: Findings (what to act on, critical first), Tasks (each task and target from "
	"the journal: runs, ok, failed, warnings, the last run, the mean duration, and every "
	"failure with its error line), Capacity (each database's size, the index's size and "
	"vectors, the backups' size and each disk's use, with the fitted growth a day and, for "
	"a disk rising for sure, the date its use reaches its size), Trends (services' memory, "
	"the API and LLM latencies of opsctl health, vector search latency and recall of "
	"vector eval, backup durations, each with its fitted slope, its 95% confidence "
	"interval, its growth relative to its mean and a verdict), Logs (error lines of "
	"health.log_files and report.log_files by kind, the ten most frequent of each file).\n\n"
	"A trend is a leak (memory) or a regression when the 95% interval of its least-squares "
	"slope lies wholly above 0 (for recall, below) and it grows by more than "
	"report.leak_percent_per_day (report.regression_percent_per_day) of its mean a day; "
	"never because one sample passed a bar. A series with fewer than report.min_samples "
	"samples, or spanning less than a day, is too_few_samples. Findings: each leak and "
	"regression (warning); a disk that fills within report.fill_warn_days (warning) or "
	"report.fill_critical_days (critical); a task with failed or interrupted runs "
	"(warning; critical when its last run failed too); a task that ran before the period "
	"and not in it (stale, warning); a log with error lines (info).\n\n"
	"The history is STATE_DIR/history.db, SQLite in WAL mode, which every recorded run "
	"(the journal's) adds to: table samples (time INTEGER unix seconds, task TEXT, name "
	"TEXT, labels TEXT, value REAL), indexed on (name, labels, time), PRAGMA user_version "
	"1. name is the figure's (opsctl_db_size_bytes, opsctl_backup_duration_seconds, "
	"opsctl_vector_recall_at_10_ratio, ...), plus opsctl_run_duration_seconds of every run, "
	"and the system samples of every run: opsctl_disk_used_bytes and opsctl_disk_size_bytes "
	"{path} per file system of health.disk_paths, the index's and backups' directories and "
	"the SQLite databases' (df's count), opsctl_vector_index_size_bytes {path}, and "
	"opsctl_service_memory_bytes {service} of report.services (VmRSS). labels are "
	"key=\"value\" pairs as in the Prometheus textfile, target=\"...\" first. Samples "
	"older than report.history_days go at most once a day; report.history_max_rows caps "
	"the rows. A history that cannot be written is a warning on standard error, never a "
	"failed run; report.history = false turns it off.\n\n"
	"Output: --format text (the default on a terminal or in mail), markdown, json (the "
	"report itself) or html (with charts). With the global --output json the envelope "
	"carries the report (since, until, period_days, findings, tasks, capacity, trends, "
	"logs; series as [unix seconds, value] pairs, at most 400). -o FILE writes the document "
	"to FILE atomically instead of standard output; -o DIR/ writes "
	"DIR/monthly_performance_YYYYMMDD.json (guide 003) or "
	"DIR/maintenance_report_YYYYMMDD.txt, .md or .html (guide 002). Exit status: 0 "
	"whatever the findings (a report is not a check), or 1 with --fail-on when a finding "
	"at or above that severity exists; 64 for a bad --since; journal lines that cannot be "
	"read are skipped and counted.";

const char cli_report_examples[] =
	"The last 30 days, on the terminal\n"
	"opsctl report\n"
	"Guide 003's monthly performance report, from cron on the 1st\n"
	"opsctl report --since 30d --format json -o reports/\n"
	"The week as Markdown for the team's wiki\n"
	"opsctl report --since 7d --format markdown -o weekly.md\n"
	"One page with charts, to mail or print (no script, font or URL in it)\n"
	"opsctl report --format html -o reports/\n"
	"Fail a CI step when something is critical\n"
	"opsctl report --fail-on critical";
