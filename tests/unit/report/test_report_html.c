/*
 * The report's HTML page (lib/report/report_html.c) rendered from fixture
 * reports built here: one chart per entry with two finite samples and one
 * for the task runs, strings from the report inert, nothing fetched, the
 * page valid UTF-8, odd series (NaN, one point, flat, one instant, huge)
 * drawn without a NaN in any coordinate, a report with nothing in it a page
 * that says so, and the errors for a report of the wrong shape.
 *
 * Given a directory (argv[1] or OPS_TEST_HTML_DIR) it also writes each
 * fixture there as NAME.json and NAME.html, for t820 to render in Chromium.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opsmaint/json.h"
#include "opsmaint/report_html.h"
#include "unit.h"

#define T0 1793577600.0	/* 2026-11-02T00:00:00Z */
#define DAY 86400.0
#define HOSTILE "<script>alert(\"x\")</script> & 'q' </figure>"

static const char *outdir;

static cJSON *series(int n, double t0, double step, double v0, double dv)
{
	cJSON *s = cJSON_CreateArray();
	int i;

	for (i = 0; i < n; i++) {
		cJSON *p = cJSON_CreateArray();

		cJSON_AddItemToArray(p, cJSON_CreateNumber(t0 + i * step));
		/* a little wobble, so the line is not a ruler */
		cJSON_AddItemToArray(p, cJSON_CreateNumber(v0 + dv * i + (i % 3) * dv * 0.4));
		cJSON_AddItemToArray(s, p);
	}
	return s;
}

static cJSON *pair(double t, double v)
{
	cJSON *p = cJSON_CreateArray();

	cJSON_AddItemToArray(p, cJSON_CreateNumber(t));
	cJSON_AddItemToArray(p, cJSON_CreateNumber(v));
	return p;
}

static void finding(cJSON *arr, const char *sev, const char *kind, const char *subject,
		    const char *text)
{
	cJSON *f = cJSON_CreateObject();

	cJSON_AddStringToObject(f, "severity", sev);
	cJSON_AddStringToObject(f, "kind", kind);
	cJSON_AddStringToObject(f, "subject", subject);
	cJSON_AddStringToObject(f, "text", text);
	cJSON_AddItemToArray(arr, f);
}

static cJSON *task(const char *name, const char *target, int ok, int failed, int interrupted,
		   const char *error)
{
	cJSON *t = cJSON_CreateObject(), *fl = cJSON_CreateArray();

	cJSON_AddStringToObject(t, "task", name);
	cJSON_AddStringToObject(t, "target", target);
	cJSON_AddNumberToObject(t, "runs", ok + failed + interrupted);
	cJSON_AddNumberToObject(t, "ok", ok);
	cJSON_AddNumberToObject(t, "failed", failed);
	cJSON_AddNumberToObject(t, "interrupted", interrupted);
	cJSON_AddNumberToObject(t, "skipped", 0);
	cJSON_AddNumberToObject(t, "warning", 0);
	cJSON_AddNumberToObject(t, "critical", 0);
	cJSON_AddStringToObject(t, "last_run", "2026-12-02T06:00:00Z");
	cJSON_AddStringToObject(t, "last_status", failed ? "failed" : "ok");
	cJSON_AddNumberToObject(t, "mean_duration_seconds", 41.2);
	if (error) {
		cJSON *f = cJSON_CreateObject();

		cJSON_AddStringToObject(f, "time", "2026-11-20T06:00:03Z");
		cJSON_AddStringToObject(f, "error", error);
		cJSON_AddItemToArray(fl, f);
	}
	cJSON_AddItemToObject(t, "failures", fl);
	return t;
}

static cJSON *capacity(const char *kind, const char *name, const char *unit, double current,
		       double growth, double size, const char *fill, double days, cJSON *s)
{
	cJSON *c = cJSON_CreateObject();

	cJSON_AddStringToObject(c, "kind", kind);
	cJSON_AddStringToObject(c, "name", name);
	cJSON_AddStringToObject(c, "unit", unit);
	cJSON_AddNumberToObject(c, "current", current);
	cJSON_AddNumberToObject(c, "growth_per_day", growth);
	cJSON_AddNumberToObject(c, "r2", 0.99);
	cJSON_AddNumberToObject(c, "samples", cJSON_GetArraySize(s));
	if (size > 0) {
		cJSON_AddNumberToObject(c, "size", size);
		cJSON_AddNumberToObject(c, "free", size - current);
	}
	if (fill) {
		cJSON_AddStringToObject(c, "fill_date", fill);
		cJSON_AddNumberToObject(c, "days_to_full", days);
	} else {
		cJSON_AddNullToObject(c, "fill_date");
		cJSON_AddNullToObject(c, "days_to_full");
	}
	cJSON_AddItemToObject(c, "series", s);
	return c;
}

static cJSON *trend(const char *kind, const char *name, const char *unit, double slope,
		    const char *verdict, cJSON *s)
{
	cJSON *t = cJSON_CreateObject(), *ci = cJSON_CreateArray();

	cJSON_AddStringToObject(t, "kind", kind);
	cJSON_AddStringToObject(t, "name", name);
	cJSON_AddStringToObject(t, "metric", kind);
	cJSON_AddStringToObject(t, "unit", unit);
	cJSON_AddNumberToObject(t, "slope_per_day", slope);
	cJSON_AddItemToArray(ci, cJSON_CreateNumber(slope * 0.8));
	cJSON_AddItemToArray(ci, cJSON_CreateNumber(slope * 1.2));
	cJSON_AddItemToObject(t, "slope_ci95", ci);
	cJSON_AddNumberToObject(t, "relative_per_day", 0.012);
	cJSON_AddNumberToObject(t, "r2", 0.93);
	cJSON_AddNumberToObject(t, "samples", cJSON_GetArraySize(s) * 24);
	cJSON_AddStringToObject(t, "verdict", verdict);
	cJSON_AddItemToObject(t, "series", s);
	return t;
}

static cJSON *envelope(void)
{
	cJSON *r = cJSON_CreateObject();

	cJSON_AddStringToObject(r, "command", "report");
	cJSON_AddStringToObject(r, "status", "warning");
	cJSON_AddNumberToObject(r, "exit_code", 1);
	cJSON_AddNumberToObject(r, "duration_seconds", 0.2);
	cJSON_AddNullToObject(r, "error");
	cJSON_AddStringToObject(r, "since", "2026-11-03T00:00:00Z");
	cJSON_AddStringToObject(r, "until", "2026-12-03T00:00:00Z");
	cJSON_AddNumberToObject(r, "period_days", 30);
	return r;
}

/* Thirty days of a system that is filling its disk and leaking memory:
 * 6 charts (tasks, 3 capacity with series, 2 trends with series). */
static cJSON *fixture_full(void)
{
	cJSON *r = envelope(), *a;
	cJSON *logs, *lf, *kinds, *k;

	a = cJSON_AddArrayToObject(r, "findings");
	finding(a, "info", "stale", "vector_rebuild", "last rebuild 9 days ago");
	finding(a, "critical", "disk_fill", "/var/lib/postgresql",
		"disk full on 2026-12-23 (in 19.6 days) at +1.0 GiB/day");
	finding(a, "warning", "leak", "api-server", "memory grows 11.4 MiB/day (R\xc2\xb2 0.93)");
	finding(a, "warning", "failures", "backup create", "3 of 30 runs failed");

	a = cJSON_AddArrayToObject(r, "tasks");
	cJSON_AddItemToArray(a, task("backup create", "chatbot_db", 27, 3, 0,
				     "pg_dump: error: connection to server " HOSTILE));
	cJSON_AddItemToArray(a, task("db vacuum", "chatbot_db", 30, 0, 0, NULL));
	cJSON_AddItemToArray(a, task("vector rebuild", "faiss.index", 3, 0, 1, NULL));

	a = cJSON_AddArrayToObject(r, "capacity");
	cJSON_AddItemToArray(a, capacity("disk", "/var/lib/postgresql", "bytes", 479e9, 1.07e9,
					 500e9, "2026-12-23", 19.6,
					 series(90, T0, DAY / 3, 447e9, 0.357e9)));
	cJSON_AddItemToArray(a, capacity("database", "chatbot_db", "bytes", 12.4e9, 0.05e9, 0,
					 NULL, 0, series(30, T0, DAY, 11e9, 0.05e9)));
	cJSON_AddItemToArray(a, capacity("index", "faiss.index", "vectors", 1.24e6, 2100, 0,
					 NULL, 0, series(30, T0, DAY, 1.18e6, 2100)));
	cJSON_AddItemToArray(a, capacity("backup", "backups/", "bytes", 3e9, 0, 0, NULL, 0,
					 series(1, T0, DAY, 3e9, 0)));

	a = cJSON_AddArrayToObject(r, "trends");
	cJSON_AddItemToArray(a, trend("memory", "api-server", "bytes", 1.2e7, "leak",
				      series(90, T0, DAY / 3, 900e6, 4e6)));
	cJSON_AddItemToArray(a, trend("backup_duration", "chatbot_db", "seconds", 0.3, "steady",
				      series(30, T0, DAY, 40, 0.3)));
	cJSON_AddItemToArray(a, trend("search_latency", "faiss.index", "seconds", 0, "too_few_samples",
				      cJSON_CreateArray()));

	logs = cJSON_AddArrayToObject(r, "logs");
	lf = cJSON_CreateObject();
	cJSON_AddStringToObject(lf, "file", "/var/log/app/app.log");
	cJSON_AddNumberToObject(lf, "errors", 42);
	cJSON_AddStringToObject(lf, "since", "2026-11-03T00:00:00Z");
	kinds = cJSON_AddArrayToObject(lf, "kinds");
	k = cJSON_CreateObject();
	cJSON_AddStringToObject(k, "kind", "ConnectionError: connection refused to N");
	cJSON_AddNumberToObject(k, "count", 30);
	cJSON_AddStringToObject(k, "example", "ERROR ConnectionError: connection refused to 10.0.0.5 "
				HOSTILE);
	cJSON_AddItemToArray(kinds, k);
	cJSON_AddItemToArray(logs, lf);
	return r;
}

/* Nothing happened in the period. */
static cJSON *fixture_empty(void)
{
	cJSON *r = envelope();

	cJSON_AddArrayToObject(r, "findings");
	cJSON_AddArrayToObject(r, "tasks");
	cJSON_AddArrayToObject(r, "capacity");
	cJSON_AddArrayToObject(r, "trends");
	cJSON_AddArrayToObject(r, "logs");
	return r;
}

/* Every awkward value a chart can be handed: 5 charts (a flat series, one
 * instant, huge values, negatives, NaN and inf among good points) and 3
 * entries with no chart (one point, only NaN, not a series). */
static cJSON *fixture_hostile(void)
{
	cJSON *r = envelope(), *a, *s;

	cJSON_ReplaceItemInObject(r, "since", cJSON_CreateString(HOSTILE));
	a = cJSON_AddArrayToObject(r, "findings");
	finding(a, HOSTILE, HOSTILE, "bad \xff\xfe utf-8 \x01 control", HOSTILE);
	a = cJSON_AddArrayToObject(r, "tasks");
	cJSON_AddItemToArray(a, task(HOSTILE, HOSTILE, 0, 0, 0, HOSTILE));
	a = cJSON_AddArrayToObject(r, "capacity");
	/* flat: every value the same */
	cJSON_AddItemToArray(a, capacity("disk", HOSTILE, "bytes", 5e9, 0, 5e9, NULL, 0,
					 series(10, T0, DAY, 5e9, 0)));
	/* one instant: two samples at the same second */
	s = cJSON_CreateArray();
	cJSON_AddItemToArray(s, pair(T0, 1));
	cJSON_AddItemToArray(s, pair(T0, 2));
	cJSON_AddItemToArray(a, capacity("database", "same-second", "bytes", 2, NAN, 0, NULL, 0, s));
	/* one point only */
	cJSON_AddItemToArray(a, capacity("index", "one-point", "vectors", 1, 1, 0, NULL, 0,
					 series(1, T0, DAY, 1, 0)));
	/* a fill date far in the future and shrinking with a size */
	cJSON_AddItemToArray(a, capacity("disk", "far-fill", "bytes", 1e12, 1, 2e12, "9999-12-31",
					 1e9, series(5, T0, DAY, 1e12, 1)));
	a = cJSON_AddArrayToObject(r, "trends");
	/* NaN and inf among good points: left out */
	s = series(5, T0, DAY, 0.2, 0.01);
	cJSON_AddItemToArray(s, pair(T0 + 10 * DAY, NAN));
	cJSON_AddItemToArray(s, pair(INFINITY, 0.3));
	cJSON_AddItemToArray(s, pair(-5, 0.3));
	cJSON_AddItemToArray(s, cJSON_CreateString("not a pair"));
	cJSON_AddItemToArray(a, trend("latency", "api-server", "seconds", NAN, HOSTILE, s));
	/* only NaN */
	s = cJSON_CreateArray();
	cJSON_AddItemToArray(s, pair(NAN, NAN));
	cJSON_AddItemToArray(s, pair(T0, NAN));
	cJSON_AddItemToArray(s, pair(T0, 1e300));
	cJSON_AddItemToArray(a, trend("recall", "nan-only", "ratio", 0, "steady", s));
	/* huge and negative values, out of order, a slope past any axis */
	s = cJSON_CreateArray();
	cJSON_AddItemToArray(s, pair(T0 + DAY, 9e18));
	cJSON_AddItemToArray(s, pair(T0, -9e18));
	cJSON_AddItemToArray(a, trend("memory", "huge", "bytes", 1e305, "leak", s));
	/* series that is not one */
	cJSON_AddItemToArray(a, trend("memory", "no-series", "bytes", 1, "leak",
				      cJSON_CreateString("x")));
	cJSON_AddArrayToObject(r, "logs");
	return r;
}

static int count(const char *hay, const char *needle)
{
	int n = 0;
	size_t l = strlen(needle);

	while ((hay = strstr(hay, needle))) {
		n++;
		hay += l;
	}
	return n;
}

/* Every coordinate attribute holds a number (a path only numbers and
 * M/L/H/V): no "nan", "inf" or "e+300" reached the SVG. */
static int coords_clean(const char *html)
{
	static const char *const attr[] = {
		" d=\"", " x=\"", " y=\"", " x1=\"", " x2=\"", " y1=\"", " y2=\"", " cx=\"",
		" cy=\"", " width=\"", " height=\"",
	};
	size_t i;

	for (i = 0; i < sizeof attr / sizeof *attr; i++) {
		const char *p = html;

		while ((p = strstr(p, attr[i]))) {
			p += strlen(attr[i]);
			for (; *p && *p != '"'; p++)
				if (!strchr(i == 0 ? "0123456789.-MLHV " : "0123456789.-", *p)) {
					fprintf(stderr, "bad coordinate in %s: %.40s\n", attr[i], p);
					return 0;
				}
		}
	}
	return 1;
}

/* The HTML of report (never NULL when it rendered); written to outdir. */
static char *render(cJSON *report, const char *name)
{
	ops_error err = {0};
	char *html = NULL, path[4096];
	size_t len = 0;
	ops_code rc = ops_report_html(report, &html, &len, &err);
	FILE *f;

	CHECK_INT(rc, OPS_OK);
	if (rc != OPS_OK || !html) {
		fprintf(stderr, "%s: %s\n", name, err.message);
		return NULL;
	}
	CHECK_INT(len, strlen(html));
	if (outdir) {
		char *json = cJSON_Print(report);

		snprintf(path, sizeof path, "%s/%s.html", outdir, name);
		if ((f = fopen(path, "w"))) {
			fwrite(html, 1, len, f);
			CHECK(fclose(f) == 0);
		} else {
			CHECK(!"cannot write the HTML");
		}
		snprintf(path, sizeof path, "%s/%s.json", outdir, name);
		if (json && (f = fopen(path, "w"))) {
			fputs(json, f);
			CHECK(fclose(f) == 0);
		} else {
			CHECK(!"cannot write the JSON");
		}
		free(json);
	}
	return html;
}

/* What every page must be, whatever the report. */
static void page_rules(const char *html)
{
	int svgs = count(html, "<svg ");

	CHECK(!strncmp(html, "<!DOCTYPE html>\n", 16));
	CHECK(strstr(html, "</html>\n") && !strcmp(strstr(html, "</html>\n"), "</html>\n"));
	CHECK(ops_utf8_valid(html));
	CHECK(!strstr(html, "http://"));
	CHECK(!strstr(html, "https://"));
	CHECK(!strstr(html, "<script"));
	CHECK(!strstr(html, "<SCRIPT"));
	CHECK(!strstr(html, "url("));
	CHECK(!strstr(html, "@import"));
	CHECK(!strstr(html, "@font-face"));
	CHECK(!strstr(html, " src="));
	CHECK(!strstr(html, "<link"));
	CHECK_CONTAINS(html, "Content-Security-Policy\" content=\"default-src 'none'");
	CHECK_CONTAINS(html, "@media print");
	CHECK_CONTAINS(html, "<nav class=\"toc\"");
	CHECK_INT(count(html, "<svg role=\"img\" viewBox=\"0 0 "), svgs);
	CHECK_INT(count(html, "<figure class=\"chart\""), svgs);
	CHECK_INT(count(html, "<figcaption>"), svgs);
	CHECK_INT(count(html, "<title id=\"chart-"), svgs);
	CHECK_INT(count(html, "<desc id=\"chart-"), svgs);
	CHECK_INT(count(html, "</svg>"), svgs);
	CHECK(coords_clean(html));
}

/* Render fixture r (then freed) under name, checked by page_rules. */
static char *render_page(cJSON *r, const char *name)
{
	char *html = render(r, name);

	cJSON_Delete(r);
	if (html)
		page_rules(html);
	return html;
}

TEST(full_report_draws_a_chart_per_series)
{
	char *html = render_page(fixture_full(), "full");
	const char *find;

	if (!html)
		return;
	/* tasks, disk, database, index; memory, backup duration */
	CHECK_INT(count(html, "<svg "), 6);
	CHECK_INT(count(html, "class=\"series\""), 5);
	/* the backup with one sample and the latency without a series */
	CHECK_INT(count(html, "class=\"nochart\""), 2);
	/* projections: 3 capacity, 2 trends; one disk size line */
	CHECK_INT(count(html, "class=\"fit\""), 5);
	CHECK_INT(count(html, "class=\"limit\""), 1);
	CHECK_INT(count(html, "class=\"mark\""), 1);
	CHECK_CONTAINS(html, ">full 2026-12-23</text>");
	CHECK_CONTAINS(html, "disk size 465.7 GiB");
	CHECK_CONTAINS(html, "full on 2026-12-23 (in 19.6 days)");
	/* tick labels in human units and dates */
	CHECK_CONTAINS(html, " GiB</text>");
	CHECK_CONTAINS(html, ">2026-11-");
	CHECK_CONTAINS(html, ">2026-12-");
	CHECK_CONTAINS(html, " s</text>");
	/* findings first, critical before warning before info, written out */
	find = strstr(html, "<section id=\"findings\">");
	CHECK(find && find < strstr(html, "<section id=\"tasks\">"));
	CHECK(strstr(html, ">CRITICAL<") < strstr(html, ">WARNING<"));
	CHECK(strstr(html, ">WARNING<") < strstr(html, ">INFO<"));
	CHECK_INT(count(html, "<li class=\"sev-warning\">"), 2);
	/* the verdict is in the caption */
	CHECK_CONTAINS(html, "<figcaption>Memory of api-server: leak \xe2\x80\x94 +11.4 MiB/day");
	CHECK_CONTAINS(html, "<figcaption>Backup duration of chatbot_db: steady");
	/* bar chart: a rect per nonzero status of each task, the legend's */
	CHECK_CONTAINS(html, "<title>27 ok</title>");
	CHECK_CONTAINS(html, "<title>3 failed</title>");
	CHECK_CONTAINS(html, "<title>1 interrupted</title>");
	CHECK_CONTAINS(html, ">27 ok, 3 failed</text>");
	/* the error lines are text */
	CHECK_CONTAINS(html, "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39; "
		       "&lt;/figure&gt;");
	CHECK_INT(count(html, "&lt;script&gt;"), 2);
	CHECK(!strstr(html, "no data in this report"));
	free(html);
}

TEST(empty_report_is_a_page_saying_so)
{
	char *html = render_page(fixture_empty(), "empty"), *h2;

	if (html) {
		CHECK_INT(count(html, "<svg "), 0);
		CHECK_CONTAINS(html, "There is no data in this report");
		CHECK_CONTAINS(html, "No findings");
		CHECK_CONTAINS(html, "No task runs were recorded");
		CHECK_CONTAINS(html, "Period: 2026-11-03T00:00:00Z \xe2\x80\x93 2026-12-03T00:00:00Z (30 days)");
		CHECK_CONTAINS(html, "<a href=\"#capacity\">Capacity</a> (0)");
	}
	/* an object with no members at all: the same page, no period */
	h2 = render_page(cJSON_CreateObject(), "bare");
	if (h2) {
		CHECK_CONTAINS(h2, "There is no data in this report");
		CHECK_CONTAINS(h2, "Period: not stated");
	}
	free(html);
	free(h2);
}

TEST(hostile_values_render_inert)
{
	char *html = render_page(fixture_hostile(), "hostile");

	if (!html)
		return;
	/* flat, same second, far fill; NaN among good points, huge */
	CHECK_INT(count(html, "<svg "), 5);
	/* one point, only NaN, not a series (tasks: no runs, no chart) */
	CHECK_INT(count(html, "class=\"nochart\""), 3);
	CHECK_CONTAINS(html, "No chart: 1 usable sample, two are needed.");
	CHECK_CONTAINS(html, "No chart: 0 usable samples (3 left out: not finite or not a time)");
	CHECK_CONTAINS(html, "No chart: 0 usable samples, two are needed.");
	/* the latency's four bad pairs are left out, its five good ones drawn */
	CHECK_CONTAINS(html, "Line chart of 5 samples from 2026-11-02 to 2026-11-06");
	CHECK_CONTAINS(html, "\xe2\x80\x94 no slope (+1.20 %/day)");
	/* the slope of 1e305 has no line, the values their axis */
	CHECK_INT(count(html, "class=\"fit\""), 2);
	CHECK_CONTAINS(html, ">-10 EiB</text>");
	CHECK_CONTAINS(html, ">10 EiB</text>");
	CHECK_CONTAINS(html, "The fill date lies beyond the chart.");
	CHECK(!strstr(html, "<script>"));
	CHECK(!strstr(html, "</script>"));
	CHECK(!strstr(html, "\"x\""));
	CHECK_CONTAINS(html, "bad \xef\xbf\xbd\xef\xbf\xbd utf-8 \xef\xbf\xbd control");
	/* the unknown severity is shown, escaped, not dropped */
	CHECK_CONTAINS(html, "<li class=\"sev-other\"><span class=\"badge\">&lt;script&gt;");
	free(html);
}

TEST(wrong_shapes_are_errors)
{
	ops_error err = {0};
	char *html = (char *)1;
	size_t len = 7;
	cJSON *arr = cJSON_CreateArray(), *r = fixture_empty();

	CHECK_INT(ops_report_html(arr, &html, &len, &err), OPS_EDATA);
	CHECK(html == NULL && len == 0);
	CHECK_STR(err.message, "the report is not a JSON object");
	CHECK_INT(ops_report_html(NULL, &html, &len, &err), OPS_EDATA);

	cJSON_ReplaceItemInObject(r, "tasks", cJSON_CreateString("x"));
	CHECK_INT(ops_report_html(r, &html, &len, &err), OPS_EDATA);
	CHECK_STR(err.message, "report member 'tasks' is not an array");
	CHECK(html == NULL);

	cJSON_ReplaceItemInObject(r, "tasks", cJSON_CreateArray());
	cJSON_AddItemToArray(cJSON_GetObjectItem(r, "trends"), cJSON_CreateObject());
	cJSON_AddItemToArray(cJSON_GetObjectItem(r, "trends"), cJSON_CreateNumber(1));
	CHECK_INT(ops_report_html(r, &html, &len, &err), OPS_EDATA);
	CHECK_STR(err.message, "report member 'trends[1]' is not an object");
	CHECK(html == NULL);
	cJSON_Delete(arr);
	cJSON_Delete(r);
}

int main(int argc, char **argv)
{
	outdir = argc > 1 ? argv[1] : getenv("OPS_TEST_HTML_DIR");
	if (outdir && !*outdir)
		outdir = NULL;
	RUN(full_report_draws_a_chart_per_series);
	RUN(empty_report_is_a_page_saying_so);
	RUN(hostile_values_render_inert);
	RUN(wrong_shapes_are_errors);
	return unit_done();
}
