/*
 * `opsctl report`: the maintenance report of guides 002 (maintenance_report.txt,
 * trend_analysis.py: slow memory leaks, performance regressions), 001 (capacity
 * report, log analyzer) and 003 (monthly performance report), built from what
 * opsctl itself recorded.
 *
 * Three parts:
 *   - the history, STATE_DIR/history.db: a small SQLite time series that every
 *     recorded run adds to (its figures, its duration, and cheap system
 *     samples: disk use, services' resident memory);
 *   - the fit: ordinary least squares of a series on time, with the slope's
 *     95% confidence interval, which is what tells a leak from noise;
 *   - the report: tasks from the journal, capacity, trends, log errors and
 *     findings over a period, as one cJSON object (the contract the HTML
 *     renderer draws), rendered here as text or Markdown.
 */
#ifndef OPSMAINT_REPORT_H
#define OPSMAINT_REPORT_H
#include "opsmaint/api.h"
OPS_API_BEGIN

#include <stdio.h>
#include <time.h>
#include <cjson/cJSON.h>
#include "opsmaint/config.h"
#include "opsmaint/error.h"
#include "opsmaint/run.h"

/* ---- history (lib/report/history.c) ---- */

/* PRAGMA user_version of the schema this build writes and reads. */
#define OPS_HISTORY_SCHEMA 1

/*
 * Record one run in STATE_DIR/history.db (created with its schema when
 * missing): every number of figures (name -> number, or a labelled
 * name -> {"LABEL": {"VALUE": number}}) as a sample named after it, the run's
 * duration as opsctl_run_duration_seconds, and the system samples
 * (opsctl_disk_used_bytes and opsctl_disk_size_bytes per file system of
 * health.disk_paths, the index and backup directories;
 * opsctl_vector_index_size_bytes; opsctl_service_memory_bytes per service of
 * report.services), all at time start (unix seconds), each labelled
 * target="TARGET" when the run has one.  Rows older than
 * report.history_days are pruned, at most once a day.  The caller treats a
 * failure as a warning: a run is never failed by its history.
 */
ops_code ops_history_record(const ops_config *cfg, const char *task, const char *target,
			    double start, double duration, const cJSON *figures,
			    ops_error *err);

/* ---- fit (lib/report/report_fit.c) ---- */

typedef struct ops_fit {
	size_t n;		/* points used */
	double slope;		/* value units per second */
	double intercept;	/* value at t = 0 (unix epoch); use ops_fit_at */
	double t_mean;		/* the centre the fit was computed about */
	double v_mean;
	double r2;		/* 1 for a perfect line; 0 when the series is constant */
	double slope_se;	/* standard error of the slope; 0 for n <= 2 */
	double ci_lo, ci_hi;	/* 95% confidence interval of the slope */
} ops_fit;

/*
 * Least squares of v on t over n points (t in seconds, any magnitude: the
 * fit is centred on the mean time first).  Returns -1 when fewer than two
 * points or every t is the same (no slope can be told), else 0.  A constant
 * series has slope 0, r2 0 and a zero-width interval.
 */
int ops_fit_linear(const double *t, const double *v, size_t n, ops_fit *out);

/* The fitted value at time t. */
double ops_fit_at(const ops_fit *f, double t);

/* The time the fitted line reaches limit when rising toward it; -1 when the
 * slope is not positive.  May be in the past (the line is already above). */
int ops_fit_reach(const ops_fit *f, double limit, double *t);

/* Two-sided 95% Student t quantile for df degrees of freedom (df >= 1):
 * the table to 30, the normal's 1.96 beyond. */
double ops_fit_t95(size_t df);

/* ---- the report (lib/report/report.c) ---- */

typedef struct ops_report_opts {
	time_t since;		/* period start (unix seconds) */
	time_t until;		/* period end; 0: ops_run_now */
} ops_report_opts;

/*
 * Parse --since: a duration back from now ("30d", "12h", "2w" as weeks is not
 * taken: use days) or a date ("2026-11-01", "2026-11-01T06:00:00Z") into
 * *since.  OPS_EUSAGE naming the text otherwise, or a date in the future.
 */
ops_code ops_report_parse_since(const char *text, time_t now, time_t *since, ops_error *err);

/*
 * Build the report over [since, until] (the JSON of
 * /work/helpers/I16-report-contract.md: since, until, period_days, findings,
 * tasks, capacity, trends, logs) plus "journal_skipped_lines" and private
 * "_figures" (opsctl_report_findings by severity).  Reads STATE_DIR's
 * journal.jsonl and history.db (a missing one is an empty history) and the
 * configured log files; thresholds from the report.* keys (a bad value is
 * OPS_ECONFIG naming the key).
 */
ops_code ops_report_build(const ops_run *run, const ops_report_opts *opts, cJSON **report,
			  ops_error *err);

/* The number of findings at or above severity ("info", "warning",
 * "critical") in a built report. */
int ops_report_count(const cJSON *report, const char *severity);

typedef enum ops_report_format {
	OPS_REPORT_TEXT = 0,	/* sections with aligned columns, for a terminal or a mail */
	OPS_REPORT_MARKDOWN,	/* headings and tables */
	OPS_REPORT_JSON		/* the report itself, pretty-printed */
} ops_report_format;

/* Write the report to fp in fmt.  A write error is OPS_EIO. */
ops_code ops_report_render(FILE *fp, const cJSON *report, ops_report_format fmt,
			   ops_error *err);

OPS_API_END
#endif
