/*
 * The report for people: text (sections Findings, Tasks, Capacity, Trends,
 * Logs with aligned columns, for a terminal or cron mail; guide 002's
 * maintenance_report.txt) and Markdown (the same sections as headings and
 * tables), and the report's JSON itself.  Both are drawn from the built
 * report alone, so a saved JSON report renders the same later.  The HTML
 * with charts is lib/report/report_html.c's.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opsmaint/output.h"
#include "opsmaint/report.h"

#define COLS 10
#define CELL 160

/* A table: rows of cells, widths from the widest; text pads, Markdown pipes. */
struct table {
	int ncols, nrows, cap;
	char (*cells)[COLS][CELL];
	int right[COLS];
};

static void t_row(struct table *t, ...)
{
	va_list ap;
	int c;

	if (t->nrows == t->cap) {
		int ncap = t->cap ? t->cap * 2 : 16;
		void *nv = realloc(t->cells, (size_t)ncap * sizeof *t->cells);

		if (!nv)
			return;
		t->cells = nv;
		t->cap = ncap;
	}
	va_start(ap, t);
	for (c = 0; c < t->ncols; c++) {
		const char *s = va_arg(ap, const char *);

		snprintf(t->cells[t->nrows][c], CELL, "%s", s ? s : "-");
	}
	va_end(ap);
	t->nrows++;
}

static void t_print(FILE *fp, struct table *t, int md)
{
	int w[COLS] = {0}, r, c;

	for (r = 0; r < t->nrows; r++)
		for (c = 0; c < t->ncols; c++) {
			int l = (int)strlen(t->cells[r][c]);

			if (l > w[c])
				w[c] = l;
		}
	for (r = 0; r < t->nrows; r++) {
		if (md)
			fputs("|", fp);
		else
			fputs("  ", fp);
		for (c = 0; c < t->ncols; c++) {
			const char *s = t->cells[r][c];

			if (md)
				fprintf(fp, " %s |", s);
			else if (c == t->ncols - 1 && !t->right[c])
				fprintf(fp, "%s", s);
			else
				fprintf(fp, t->right[c] ? "%*s%s" : "%-*s%s", w[c], s,
					c == t->ncols - 1 ? "" : "  ");
		}
		fputc('\n', fp);
		if (md && r == 0) {
			fputs("|", fp);
			for (c = 0; c < t->ncols; c++)
				fputs(t->right[c] ? " ---: |" : " --- |", fp);
			fputc('\n', fp);
		}
	}
	free(t->cells);
	t->cells = NULL;
	t->nrows = t->cap = 0;
}

static const char *str(const cJSON *o, const char *name)
{
	const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, name));

	return s ? s : "-";
}

static double num(const cJSON *o, const char *name)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsNumber(m) ? m->valuedouble : NAN;
}

static const char *fmt_num(double v, const char *fmt, char *buf, size_t size)
{
	if (isnan(v))
		snprintf(buf, size, "-");
	else
		snprintf(buf, size, fmt, v);
	return buf;
}

static const char *amount(const char *unit, double v, char *buf, size_t size)
{
	if (isnan(v))
		return strcpy(buf, "-");
	if (strcmp(unit, "bytes") == 0) {
		buf[0] = '-';
		ops_human_bytes(fabs(v), buf + (v < 0), size - 1);
	} else if (strcmp(unit, "seconds") == 0) {
		snprintf(buf, size, fabs(v) < 1 ? "%.1f ms" : "%.2f s", fabs(v) < 1 ? v * 1000 : v);
	} else if (strcmp(unit, "ratio") == 0) {
		snprintf(buf, size, "%.4f", v);
	} else {
		snprintf(buf, size, "%.0f", v);
	}
	return buf;
}

static void heading(FILE *fp, int md, const char *title)
{
	if (md)
		fprintf(fp, "\n## %s\n\n", title);
	else
		fprintf(fp, "\n%s\n", title);
}

static void render_findings(FILE *fp, const cJSON *r, int md)
{
	const cJSON *f, *all = cJSON_GetObjectItemCaseSensitive(r, "findings");
	struct table t = {.ncols = 3};
	char sev[16];
	size_t i;

	heading(fp, md, "Findings");
	if (!cJSON_GetArraySize(all)) {
		fprintf(fp, "%snone\n", md ? "" : "  ");
		return;
	}
	if (md)
		t_row(&t, "Severity", "Kind", "Finding");
	cJSON_ArrayForEach(f, all) {
		snprintf(sev, sizeof sev, "%s", str(f, "severity"));
		for (i = 0; sev[i]; i++)
			sev[i] = (char)(sev[i] >= 'a' && sev[i] <= 'z' ? sev[i] - 32 : sev[i]);
		t_row(&t, sev, str(f, "kind"), str(f, "text"));
	}
	t_print(fp, &t, md);
}

static void render_tasks(FILE *fp, const cJSON *r, int md)
{
	const cJSON *k, *f, *all = cJSON_GetObjectItemCaseSensitive(r, "tasks");
	struct table t = {.ncols = 9, .right = {0, 0, 1, 1, 1, 1, 0, 0, 1}};
	char a[5][32];

	heading(fp, md, "Tasks");
	if (!cJSON_GetArraySize(all)) {
		fprintf(fp, "%sno runs recorded in the period\n", md ? "" : "  ");
		return;
	}
	t_row(&t, "TASK", "TARGET", "RUNS", "OK", "FAILED", "WARN/CRIT", "LAST RUN", "LAST",
	      "MEAN");
	cJSON_ArrayForEach(k, all) {
		snprintf(a[0], 32, "%.0f", num(k, "runs"));
		snprintf(a[1], 32, "%.0f", num(k, "ok"));
		snprintf(a[2], 32, "%.0f", num(k, "failed") + num(k, "interrupted"));
		snprintf(a[3], 32, "%.0f/%.0f", num(k, "warning"), num(k, "critical"));
		amount("seconds", num(k, "mean_duration_seconds"), a[4], 32);
		t_row(&t, str(k, "task"), str(k, "target"), a[0], a[1], a[2], a[3],
		      str(k, "last_run"), str(k, "last_status"), a[4]);
	}
	t_print(fp, &t, md);
	/* Each failure with its error line: what cron mail's reader needs. */
	cJSON_ArrayForEach(k, all) {
		const cJSON *fs = cJSON_GetObjectItemCaseSensitive(k, "failures");

		if (!cJSON_GetArraySize(fs))
			continue;
		fprintf(fp, md ? "\nFailures of `%s%s%s`:\n\n" : "\n  failures of %s%s%s:\n",
			str(k, "task"), cJSON_IsString(cJSON_GetObjectItem(k, "target")) ? " " : "",
			cJSON_IsString(cJSON_GetObjectItem(k, "target")) ? str(k, "target") : "");
		cJSON_ArrayForEach(f, fs)
			fprintf(fp, md ? "- %s: %s\n" : "    %s  %s\n", str(f, "time"), str(f, "error"));
	}
}

static void render_capacity(FILE *fp, const cJSON *r, int md)
{
	const cJSON *e, *all = cJSON_GetObjectItemCaseSensitive(r, "capacity");
	struct table t = {.ncols = 8, .right = {0, 0, 1, 1, 1, 1, 0, 1}};
	char a[6][48];

	heading(fp, md, "Capacity");
	if (!cJSON_GetArraySize(all)) {
		fprintf(fp, "%sno samples in the history for the period\n", md ? "" : "  ");
		return;
	}
	t_row(&t, "KIND", "NAME", "CURRENT", "GROWTH/DAY", "SIZE", "R2", "FULL ON", "DAYS");
	cJSON_ArrayForEach(e, all) {
		const char *unit = str(e, "unit");

		amount(unit, num(e, "current"), a[0], 48);
		amount(unit, num(e, "growth_per_day"), a[1], 48);
		amount(unit, num(e, "size"), a[2], 48);
		fmt_num(num(e, "r2"), "%.2f", a[3], 48);
		fmt_num(num(e, "days_to_full"), "%.1f", a[4], 48);
		t_row(&t, str(e, "kind"), str(e, "name"), a[0], a[1], a[2], a[3],
		      str(e, "fill_date"), a[4]);
	}
	t_print(fp, &t, md);
}

static void render_trends(FILE *fp, const cJSON *r, int md)
{
	const cJSON *e, *all = cJSON_GetObjectItemCaseSensitive(r, "trends");
	struct table t = {.ncols = 7, .right = {0, 0, 1, 1, 1, 1, 0}};
	char a[4][48];

	heading(fp, md, "Trends");
	if (!cJSON_GetArraySize(all)) {
		fprintf(fp, "%sno samples in the history for the period\n", md ? "" : "  ");
		return;
	}
	t_row(&t, "KIND", "NAME", "SLOPE/DAY", "REL/DAY", "R2", "SAMPLES", "VERDICT");
	cJSON_ArrayForEach(e, all) {
		amount(str(e, "unit"), num(e, "slope_per_day"), a[0], 48);
		fmt_num(num(e, "relative_per_day") * 100, "%+.2f%%", a[1], 48);
		fmt_num(num(e, "r2"), "%.2f", a[2], 48);
		fmt_num(num(e, "samples"), "%.0f", a[3], 48);
		t_row(&t, str(e, "kind"), str(e, "name"), a[0], a[1], a[2], a[3], str(e, "verdict"));
	}
	t_print(fp, &t, md);
}

static void render_logs(FILE *fp, const cJSON *r, int md)
{
	const cJSON *l, *k, *all = cJSON_GetObjectItemCaseSensitive(r, "logs");
	struct table t = {.ncols = 2, .right = {1, 0}};
	char c[32];

	heading(fp, md, "Logs");
	if (!cJSON_GetArraySize(all)) {
		fprintf(fp, "%sno log files configured (health.log_files, report.log_files)\n",
			md ? "" : "  ");
		return;
	}
	cJSON_ArrayForEach(l, all) {
		if (cJSON_IsString(cJSON_GetObjectItem(l, "error"))) {
			fprintf(fp, md ? "- `%s`: %s\n" : "  %s: %s\n", str(l, "file"), str(l, "error"));
			continue;
		}
		fprintf(fp, md ? "\n`%s`: %.0f error lines%s\n\n" : "  %s: %.0f error lines%s\n",
			str(l, "file"), num(l, "errors"),
			cJSON_IsTrue(cJSON_GetObjectItem(l, "partial")) ? " (its last part read)" : "");
		if (!cJSON_GetArraySize(cJSON_GetObjectItem(l, "kinds")))
			continue;
		if (md)
			t_row(&t, "Count", "Kind");
		cJSON_ArrayForEach(k, cJSON_GetObjectItem(l, "kinds")) {
			snprintf(c, sizeof c, "%.0f", num(k, "count"));
			t_row(&t, c, str(k, "kind"));
		}
		if (!md)
			fputs("  ", fp);
		t_print(fp, &t, md);
	}
}

/* The newest restore time per GB and what it means for the databases now. */
static void render_restore_time(FILE *fp, const cJSON *r, int md)
{
	const cJSON *rt = cJSON_GetObjectItemCaseSensitive(r, "restore_time");
	char a[48], b[48];

	if (!rt)
		return;
	heading(fp, md, "Restore time");
	fprintf(fp, "%sexpected restore time %s for %s (%s), at %.1f s per GB measured by %s "
		"at %s\n", md ? "" : "  ", amount("seconds", num(rt, "expected_seconds"), a, 48),
		amount("bytes", num(rt, "database_bytes"), b, 48), str(rt, "size_from"),
		num(rt, "seconds_per_gigabyte"), str(rt, "task"), str(rt, "time"));
}

ops_code ops_report_render(FILE *fp, const cJSON *report, ops_report_format fmt,
			   ops_error *err)
{
	int md = fmt == OPS_REPORT_MARKDOWN;

	errno = 0;
	if (fmt == OPS_REPORT_JSON)
		return ops_output_render(fp, report, OPS_OUT_JSON, err);
	if (md)
		fprintf(fp, "# Maintenance report\n\n%s to %s (%.1f days)\n", str(report, "since"),
			str(report, "until"), num(report, "period_days"));
	else
		fprintf(fp, "Maintenance report %s to %s (%.1f days)\n", str(report, "since"),
			str(report, "until"), num(report, "period_days"));
	render_findings(fp, report, md);
	render_tasks(fp, report, md);
	render_capacity(fp, report, md);
	render_trends(fp, report, md);
	render_restore_time(fp, report, md);
	render_logs(fp, report, md);
	if (num(report, "journal_skipped_lines") > 0)
		fprintf(fp, "\n%.0f journal lines could not be read and were skipped\n",
			num(report, "journal_skipped_lines"));
	if (fflush(fp) != 0 || ferror(fp))
		return ops_error_set(err, OPS_EIO, "write error: %s", strerror(errno ? errno : EIO));
	return OPS_OK;
}
