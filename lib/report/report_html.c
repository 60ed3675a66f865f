/*
 * The report's HTML page (opsmaint/report_html.h): a reader of the report's
 * JSON that writes one self-contained page with inline SVG charts.
 *
 * It draws what the report says and computes nothing of its own beyond
 * placing points: the fits, fill dates and verdicts come from the report.
 * The capacity projection is the report's line through the last sample
 * (current, growth_per_day), drawn back over the samples and on to the fill
 * date; a trend's line is its slope through the samples' centre, which is
 * where a least-squares line passes.  It does not fetch, embed or link
 * anything: no <script>, no font, no URL.
 *
 * The page is written with stdio into an open_memstream buffer, as the
 * other builders of text in lib/ do.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "opsmaint/clock.h"
#include "opsmaint/json.h"
#include "opsmaint/output.h"
#include "opsmaint/report_html.h"

#define DAY 86400.0
/* Times outside year 1970..9999 are not dates any chart can label; values
 * beyond V_MAX are no size or latency, and their differences would overflow. */
#define T_MAX 253402300799.0
#define V_MAX 1e100

/* The chart's box (viewBox units) and its plot area. */
#define CW 720.0
#define CH 300.0
#define PL 84.0
#define PR 44.0
#define PT 34.0
#define PB 52.0

typedef struct pt {
	double t, v;
} pt;

typedef struct html {
	FILE *f;
	int charts;	/* charts written so far: ids chart-N */
} html;

/* ---- text ---- */

/* s for HTML text and attribute values alike: & < > " ' as references,
 * control characters and bytes that are not UTF-8 as U+FFFD. */
static void esc(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	int n;

	while (*p) {
		switch (*p) {
		case '&': fputs("&amp;", f); p++; continue;
		case '<': fputs("&lt;", f); p++; continue;
		case '>': fputs("&gt;", f); p++; continue;
		case '"': fputs("&quot;", f); p++; continue;
		case '\'': fputs("&#39;", f); p++; continue;
		case '\t': case '\n': fputc(' ', f); p++; continue;
		default: break;
		}
		if (*p < 0x20 || *p == 0x7f) {
			fputs("\xef\xbf\xbd", f);
			p++;
			continue;
		}
		n = ops_utf8_seq_len(p);
		if (n == 0) {
			fputs("\xef\xbf\xbd", f);
			p++;
			continue;
		}
		fwrite(p, 1, (size_t)n, f);
		p += n;
	}
}

/* open, then text escaped ("-" when NULL), then close. */
static void put(FILE *f, const char *open, const char *text, const char *close)
{
	fputs(open, f);
	esc(f, text ? text : "-");
	fputs(close, f);
}

static const char *str(const cJSON *o, const char *name)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(m) && m->valuestring ? m->valuestring : NULL;
}

/* 1 and *v when member name is a finite number. */
static int num(const cJSON *o, const char *name, double *v)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, name);

	if (!cJSON_IsNumber(m) || !isfinite(m->valuedouble))
		return 0;
	*v = m->valuedouble;
	return 1;
}

static double num0(const cJSON *o, const char *name)
{
	double v = 0;

	return num(o, name, &v) ? v : 0;
}

/* "2026-12-23" or "2026-12-03T06:00:00Z" as seconds, or NAN. */
static double day_or_time(const char *s)
{
	ops_time_parsed p;

	if (ops_time_parse_iso(s, OPS_TIME_DATE_ONLY | OPS_TIME_ASSUME_UTC, &p) != OPS_TIME_OK)
		return NAN;
	return (double)p.t;
}

static const char *date_of(double t, char *buf, size_t len)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (!isfinite(t) || t < 0 || t > T_MAX || !gmtime_r(&tt, &tm) ||
	    !strftime(buf, len, "%Y-%m-%d", &tm))
		snprintf(buf, len, "-");
	return buf;
}

/* ---- units ---- */

typedef enum unit { U_NUMBER, U_BYTES, U_SECONDS, U_RATIO } unit;

static unit unit_of(const char *s)
{
	if (!s)
		return U_NUMBER;
	if (!strcmp(s, "bytes"))
		return U_BYTES;
	if (!strcmp(s, "seconds"))
		return U_SECONDS;
	if (!strcmp(s, "ratio"))
		return U_RATIO;
	return U_NUMBER;
}

/* A value as the text output shows it: 12.3 GiB, 1.25 s, 0.987, 12,345. */
static const char *value_text(unit u, double v, char *buf, size_t len)
{
	char tmp[48];

	if (!isfinite(v)) {
		snprintf(buf, len, "-");
		return buf;
	}
	if (fabs(v) >= 1e21) {
		snprintf(buf, len, "%.3g%s", v, u == U_BYTES ? " B" : u == U_SECONDS ? " s" : "");
		return buf;
	}
	switch (u) {
	case U_BYTES:
		return ops_human_bytes(v, buf, len);
	case U_SECONDS:
		snprintf(buf, len, "%s%s", v < 0 ? "-" : "", ops_human_seconds(fabs(v), tmp, sizeof tmp));
		return buf;
	case U_RATIO:
		snprintf(buf, len, "%.3f", v);
		return buf;
	case U_NUMBER:
		break;
	}
	if (fabs(v) >= 1e6)
		snprintf(buf, len, "%.4g M", v / 1e6);
	else if (v == floor(v))
		snprintf(buf, len, "%.0f", v);
	else
		snprintf(buf, len, "%.3g", v);
	return buf;
}

/* A rate per day with its sign: "+1.0 GiB/day"; "-" when there is none. */
static const char *rate_text(unit u, double v, char *buf, size_t len)
{
	char tmp[32];

	if (u == U_RATIO && isfinite(v))
		snprintf(tmp, sizeof tmp, "%.4f", fabs(v));
	else
		value_text(u, fabs(v), tmp, sizeof tmp);
	snprintf(buf, len, "%s%s%s", !isfinite(v) ? "" : v < 0 ? "-" : "+", tmp,
		 isfinite(v) ? "/day" : "");
	return buf;
}

/* ---- axes ---- */

typedef struct axis {
	double lo, hi, step;	/* in the report's unit */
	double div;		/* tick labels show value / div ... */
	const char *suffix;	/* ... followed by this */
	int decimals;
} axis;

static double nice_step(double range, int target)
{
	double raw = range / target, mag = pow(10, floor(log10(raw))), f = raw / mag;

	return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10) * mag;
}

/* The unit of the tick labels for values up to m in magnitude. */
static void axis_unit(axis *a, unit u, double m)
{
	static const char *const bin[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
	int k = 0;

	a->div = 1;
	a->suffix = "";
	switch (u) {
	case U_BYTES:
		while (k < 6 && m / a->div >= 1024) {
			a->div *= 1024;
			k++;
		}
		a->suffix = bin[k];
		break;
	case U_SECONDS:
		if (m < 1)
			a->div = 0.001, a->suffix = "ms";
		else if (m < 600)
			a->suffix = "s";
		else if (m < 7200)
			a->div = 60, a->suffix = "min";
		else
			a->div = 3600, a->suffix = "h";
		break;
	case U_RATIO:
		break;
	case U_NUMBER:
		if (m >= 1e9)
			a->div = 1e9, a->suffix = "G";
		else if (m >= 1e6)
			a->div = 1e6, a->suffix = "M";
		else if (m >= 1e4)
			a->div = 1e3, a->suffix = "k";
		break;
	}
}

/* Round [lo, hi] out to about five ticks; a flat or empty range is widened
 * first so that nothing divides by zero. */
static void axis_fit(axis *a, unit u, double lo, double hi)
{
	double m, s;

	if (!(hi - lo > fabs(hi) * 1e-9)) {
		double pad = fabs(hi) > 0 ? fabs(hi) * 0.1 : 1;

		lo -= pad;
		hi += pad;
		if (lo < 0 && u != U_NUMBER && hi - pad >= 0)
			lo = 0;
	}
	m = fmax(fabs(lo), fabs(hi));
	axis_unit(a, u, m);
	s = nice_step((hi - lo) / a->div, 5);
	a->step = s * a->div;
	a->lo = floor(lo / a->step) * a->step;
	a->hi = ceil(hi / a->step) * a->step;
	if (a->hi <= a->lo)
		a->hi = a->lo + a->step;
	/* as many decimals as the step needs: 2.5 GiB steps show 7.5 */
	for (a->decimals = 0; a->decimals < 6; a->decimals++) {
		double x = s * pow(10, a->decimals);

		if (fabs(x - round(x)) < 1e-6 * x)
			break;
	}
}

static void tick_label(const axis *a, double v, char *buf, size_t len)
{
	double x = v / a->div;

	if (fabs(x) < 1e-9 * (a->step / a->div))
		x = 0;
	snprintf(buf, len, "%.*f%s%s", a->decimals, x, *a->suffix ? " " : "", a->suffix);
}

/* Time ticks: the smallest step from this list giving at most six. */
static double time_step(double span)
{
	static const double steps[] = {
		60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, DAY, 2 * DAY,
		7 * DAY, 14 * DAY, 28 * DAY, 56 * DAY, 91 * DAY, 182 * DAY, 364 * DAY,
	};
	size_t i;

	for (i = 0; i < sizeof steps / sizeof *steps; i++)
		if (span / steps[i] <= 6)
			return steps[i];
	return ceil(span / 6 / (364 * DAY)) * 364 * DAY;
}

/* ---- series ---- */

static int pt_cmp(const void *a, const void *b)
{
	double x = ((const pt *)a)->t, y = ((const pt *)b)->t;

	return (x > y) - (x < y);
}

/* The finite [t, v] pairs of array s, in time order; *n of them.  NULL with
 * *n 0 when there are none; *bad counts the pairs left out. */
static pt *series_points(const cJSON *s, int *n, int *bad, int *oom)
{
	const cJSON *it;
	pt *v;
	int cap = cJSON_GetArraySize(s), k = 0;

	*n = *bad = 0;
	if (!cJSON_IsArray(s) || cap <= 0)
		return NULL;
	if (!(v = malloc((size_t)cap * sizeof *v))) {
		*oom = 1;
		return NULL;
	}
	cJSON_ArrayForEach(it, s) {
		const cJSON *a = cJSON_GetArrayItem(it, 0), *b = cJSON_GetArrayItem(it, 1);

		if (!cJSON_IsArray(it) || !cJSON_IsNumber(a) || !cJSON_IsNumber(b) ||
		    !isfinite(a->valuedouble) || !isfinite(b->valuedouble) ||
		    a->valuedouble < 0 || a->valuedouble > T_MAX || fabs(b->valuedouble) > V_MAX) {
			(*bad)++;
			continue;
		}
		v[k].t = a->valuedouble;
		v[k].v = b->valuedouble;
		k++;
	}
	qsort(v, (size_t)k, sizeof *v, pt_cmp);
	*n = k;
	return v;
}

/* ---- one line chart ---- */

typedef struct line_spec {
	const char *title;	/* <title>, also the figure's heading */
	const char *caption;	/* <figcaption> */
	unit u;
	const pt *p;
	int n;
	int zero;		/* include 0 in the value axis */
	int has_fit;		/* a dashed line from (t0, v0) to (t1, v1) */
	double ft0, fv0, ft1, fv1;
	const char *fit_label;
	int has_limit;		/* a dashed horizontal line at limit */
	double limit;
	const char *limit_label;
	double t_end;		/* the time axis reaches at least this (or NAN) */
	double mark_t;		/* a dotted vertical line here (or NAN) ... */
	const char *mark_label;	/* ... labelled so */
} line_spec;

typedef struct plot {
	double x0, x1;
	axis y;
} plot;

static double px(const plot *g, double t)
{
	return PL + (t - g->x0) / (g->x1 - g->x0) * (CW - PL - PR);
}

static double py(const plot *g, double v)
{
	return PT + (g->y.hi - v) / (g->y.hi - g->y.lo) * (CH - PT - PB);
}

static void chart_open(html *w, const char *title, const char *desc, double height)
{
	int id = ++w->charts;

	fprintf(w->f, "<figure class=\"chart\" id=\"chart-%d\">\n"
		"<svg role=\"img\" viewBox=\"0 0 %.0f %.0f\" aria-labelledby=\"chart-%d-t chart-%d-d\" "
		"font-family=\"system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif\" "
		"font-size=\"12\">\n<title id=\"chart-%d-t\">", id, CW, height, id, id, id);
	esc(w->f, title);
	fprintf(w->f, "</title>\n<desc id=\"chart-%d-d\">", id);
	esc(w->f, desc);
	fputs("</desc>\n", w->f);
}

static void chart_close(html *w, const char *caption)
{
	fputs("</svg>\n<figcaption>", w->f);
	esc(w->f, caption);
	fputs("</figcaption>\n</figure>\n", w->f);
}

static void axes(html *w, const plot *g)
{
	FILE *f = w->f;
	double step = time_step(g->x1 - g->x0), t, v;
	char lab[64];
	int i;

	fprintf(f, "<rect class=\"plot\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
		"fill=\"#ffffff\" stroke=\"#555555\"/>\n", PL, PT, CW - PL - PR, CH - PT - PB);
	for (i = 0; i <= 40; i++) {
		v = g->y.lo + i * g->y.step;
		if (v > g->y.hi + g->y.step * 1e-6)
			break;
		tick_label(&g->y, v, lab, sizeof lab);
		fprintf(f, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#dddddd\"/>"
			"<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" fill=\"#222222\">%s</text>\n",
			PL, CW - PR, py(g, v), py(g, v), PL - 6, py(g, v) + 4, lab);
	}
	t = ceil(g->x0 / step) * step;
	for (i = 0; i < 40 && t <= g->x1 + 1e-6; i++, t += step) {
		struct tm tm;
		time_t tt = (time_t)t;
		double x = px(g, t);

		if (!gmtime_r(&tt, &tm))
			continue;
		fprintf(f, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#555555\"/>",
			x, x, CH - PB, CH - PB + 5);
		strftime(lab, sizeof lab, "%Y-%m-%d", &tm);
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#222222\">%s",
			x, CH - PB + 18, lab);
		if (step < DAY) {
			strftime(lab, sizeof lab, "%H:%M", &tm);
			fprintf(f, "<tspan x=\"%.1f\" dy=\"14\">%s</tspan>", x, lab);
		}
		fputs("</text>\n", f);
	}
}

/* A legend entry at x: a line sample in colour/dash and its name. */
static double legend(html *w, double x, const char *colour, const char *dash, const char *name)
{
	fprintf(w->f, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"14\" y2=\"14\" stroke=\"%s\" "
		"stroke-width=\"2.5\"%s%s%s/><text x=\"%.1f\" y=\"18\" fill=\"#222222\">",
		x, x + 24, colour, dash ? " stroke-dasharray=\"" : "", dash ? dash : "",
		dash ? "\"" : "", x + 30);
	esc(w->f, name);
	fputs("</text>\n", w->f);
	return x + 30 + 7.0 * (double)strlen(name) + 22;
}

static void line_chart(html *w, const line_spec *s)
{
	FILE *f = w->f;
	plot g;
	double lo = s->p[0].v, hi = lo, x;
	char desc[1024], a[48], b[48], c[48], d[48];
	int i;

	for (i = 1; i < s->n; i++) {
		lo = fmin(lo, s->p[i].v);
		hi = fmax(hi, s->p[i].v);
	}
	g.x0 = s->p[0].t;
	g.x1 = s->p[s->n - 1].t;
	if (isfinite(s->t_end) && s->t_end > g.x1)
		g.x1 = s->t_end;
	if (s->has_fit) {
		lo = fmin(lo, fmin(s->fv0, s->fv1));
		hi = fmax(hi, fmax(s->fv0, s->fv1));
		g.x1 = fmax(g.x1, s->ft1);
	}
	if (s->has_limit) {
		lo = fmin(lo, s->limit);
		hi = fmax(hi, s->limit);
	}
	if (s->zero) {
		lo = fmin(lo, 0);
		hi = fmax(hi, 0);
	}
	if (!(g.x1 - g.x0 > 0)) {
		g.x0 -= DAY / 2;
		g.x1 += DAY / 2;
	}
	axis_fit(&g.y, s->u, lo, hi);

	snprintf(desc, sizeof desc, "Line chart of %d samples from %s to %s, values from %s to %s%s%s%s%s.",
		 s->n, date_of(s->p[0].t, a, sizeof a), date_of(s->p[s->n - 1].t, b, sizeof b),
		 value_text(s->u, lo, c, sizeof c), value_text(s->u, hi, d, sizeof d),
		 s->has_fit ? "; dashed: " : "", s->has_fit ? s->fit_label : "",
		 s->has_limit ? "; dashed horizontal: " : "", s->has_limit ? s->limit_label : "");
	chart_open(w, s->title, desc, CH);
	axes(w, &g);

	if (s->has_limit) {
		fprintf(f, "<path class=\"limit\" d=\"M%.1f %.1fH%.1f\" stroke=\"#b71c1c\" "
			"stroke-width=\"2\" stroke-dasharray=\"9 5\" fill=\"none\"/>"
			"<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" fill=\"#b71c1c\">",
			PL, py(&g, s->limit), CW - PR, CW - PR - 4, py(&g, s->limit) - 5);
		esc(f, s->limit_label);
		fputs("</text>\n", f);
	}
	if (isfinite(s->mark_t) && s->mark_t >= g.x0 && s->mark_t <= g.x1) {
		fprintf(f, "<path class=\"mark\" d=\"M%.1f %.1fV%.1f\" stroke=\"#b71c1c\" "
			"stroke-width=\"1.5\" stroke-dasharray=\"2 3\" fill=\"none\"/>"
			"<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" fill=\"#b71c1c\">",
			px(&g, s->mark_t), PT, CH - PB, px(&g, s->mark_t) - 4, CH - PB - 6);
		esc(f, s->mark_label);
		fputs("</text>\n", f);
	}
	if (s->has_fit)
		fprintf(f, "<path class=\"fit\" d=\"M%.1f %.1fL%.1f %.1f\" stroke=\"#e65100\" "
			"stroke-width=\"2\" stroke-dasharray=\"6 4\" fill=\"none\"/>\n",
			px(&g, s->ft0), py(&g, s->fv0), px(&g, s->ft1), py(&g, s->fv1));
	fputs("<path class=\"series\" fill=\"none\" stroke=\"#1565c0\" stroke-width=\"2\" "
	      "stroke-linejoin=\"round\" d=\"", f);
	for (i = 0; i < s->n; i++)
		fprintf(f, "%s%.1f %.1f", i ? "L" : "M", px(&g, s->p[i].t), py(&g, s->p[i].v));
	fputs("\"/>\n", f);
	if (s->n <= 60)
		for (i = 0; i < s->n; i++)
			fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"#1565c0\"/>",
				px(&g, s->p[i].t), py(&g, s->p[i].v));
	fputs("\n", f);

	x = legend(w, PL, "#1565c0", NULL, "measured");
	if (s->has_fit)
		x = legend(w, x, "#e65100", "6 4", s->fit_label);
	if (s->has_limit)
		legend(w, x, "#b71c1c", "9 5", "disk size");
	chart_close(w, s->caption);
}

/* ---- sections ---- */

static const char *const severities[] = {"critical", "warning", "info"};

static void section_findings(html *w, const cJSON *arr)
{
	FILE *f = w->f;
	const cJSON *it;
	size_t k;

	fputs("<section id=\"findings\">\n<h2>Findings</h2>\n", f);
	if (cJSON_GetArraySize(arr) == 0) {
		fputs("<p class=\"none\">No findings: nothing needs attention in this period.</p>\n</section>\n", f);
		return;
	}
	fputs("<ul class=\"findings\">\n", f);
	/* Critical first, then warning, info, and anything else as given. */
	for (k = 0; k <= 3; k++) {
		cJSON_ArrayForEach(it, arr) {
			const char *sev = str(it, "severity"), *cls;
			size_t j;

			for (j = 0; j < 3 && !(sev && !strcmp(sev, severities[j])); j++)
				;
			if (j != k)
				continue;
			cls = j < 3 ? severities[j] : "other";
			fprintf(f, "<li class=\"sev-%s\"><span class=\"badge\">", cls);
			if (j < 3) {
				static const char *const label[] = {"CRITICAL", "WARNING", "INFO"};

				fputs(label[j], f);
			} else {
				esc(f, sev ? sev : "unknown");
			}
			fputs("</span> ", f);
			if (str(it, "kind"))
				put(f, "<span class=\"kind\">", str(it, "kind"), "</span> ");
			if (str(it, "subject"))
				put(f, "<strong>", str(it, "subject"), "</strong>: ");
			put(f, "", str(it, "text"), "</li>\n");
		}
	}
	fputs("</ul>\n</section>\n", f);
}

static void td_num(FILE *f, double v)
{
	fprintf(f, "<td class=\"n\">%.0f</td>", v);
}

static void td_text(FILE *f, const char *s)
{
	put(f, "<td>", s, "</td>");
}

/* The stacked bars of task runs: one row per task, a segment per status. */
static void tasks_chart(html *w, const cJSON *arr)
{
	static const struct {
		const char *name, *colour;
	} seg[] = {
		{"ok", "#2e7d32"}, {"warning", "#f9a825"}, {"critical", "#6a1b9a"},
		{"failed", "#c62828"}, {"interrupted", "#757575"}, {"skipped", "#b0bec5"},
	};
	enum { NSEG = sizeof seg / sizeof *seg };
	FILE *f = w->f;
	const cJSON *it;
	double max = 0, total[NSEG] = {0}, row = 44, top = 40, height, x, scale;
	char desc[1024], part[64];
	size_t i, used = 0;
	int n = 0;

	cJSON_ArrayForEach(it, arr) {
		double sum = 0;

		for (i = 0; i < NSEG; i++) {
			double v = fmax(0, num0(it, seg[i].name));

			sum += v;
			total[i] += v;
		}
		max = fmax(max, sum);
		n++;
	}
	if (!(max > 0))
		return;
	snprintf(desc, sizeof desc, "Bar chart of the runs of %d task%s by status; in all:", n,
		 n == 1 ? "" : "s");
	for (i = 0; i < NSEG; i++)
		if (total[i] > 0) {
			used = strlen(desc);
			snprintf(desc + used, sizeof desc - used, " %.0f %s,", total[i], seg[i].name);
		}
	desc[strlen(desc) - 1] = '.';
	height = top + row * n + 10;
	chart_open(w, "Task runs by status", desc, height);
	/* The legend names every status drawn, so colour is never the only key. */
	x = 14;
	for (i = 0; i < NSEG; i++) {
		if (!(total[i] > 0))
			continue;
		fprintf(f, "<rect x=\"%.1f\" y=\"8\" width=\"12\" height=\"12\" fill=\"%s\"/>"
			"<text x=\"%.1f\" y=\"18\" fill=\"#222222\">%s</text>\n",
			x, seg[i].colour, x + 16, seg[i].name);
		x += 16 + 7.0 * (double)strlen(seg[i].name) + 18;
	}
	scale = (CW - 20 - 150) / max;
	n = 0;
	cJSON_ArrayForEach(it, arr) {
		double y = top + row * n, bx = 14;
		const char *task = str(it, "task"), *target = str(it, "target");

		fprintf(f, "<text x=\"14\" y=\"%.1f\" fill=\"#222222\">", y + 10);
		esc(f, task ? task : "-");
		if (target) {
			fputs(" \xc2\xb7 ", f);
			esc(f, target);
		}
		fputs("</text>\n", f);
		*desc = 0;
		for (i = 0; i < NSEG; i++) {
			double v = fmax(0, num0(it, seg[i].name));

			if (!(v > 0))
				continue;
			fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"16\" fill=\"%s\">"
				"<title>%.0f %s</title></rect>", bx, y + 16, v * scale, seg[i].colour,
				v, seg[i].name);
			bx += v * scale;
			snprintf(part, sizeof part, "%s%.0f %s", *desc ? ", " : "", v, seg[i].name);
			used = strlen(desc);
			snprintf(desc + used, sizeof desc - used, "%s", part);
		}
		fprintf(f, "\n<text x=\"%.1f\" y=\"%.1f\" fill=\"#222222\">%s</text>\n",
			bx + 6, y + 28, *desc ? desc : "no runs");
		n++;
	}
	chart_close(w, "Runs of each task in the period, by status (numbers beside each bar).");
}

static void section_tasks(html *w, const cJSON *arr)
{
	FILE *f = w->f;
	const cJSON *it, *fl;
	char a[48];
	int anyfail = 0;

	fputs("<section id=\"tasks\">\n<h2>Tasks</h2>\n", f);
	if (cJSON_GetArraySize(arr) == 0) {
		fputs("<p class=\"none\">No task runs were recorded in this period.</p>\n</section>\n", f);
		return;
	}
	fputs("<table>\n<thead><tr><th>task</th><th>target</th><th>runs</th><th>ok</th>"
	      "<th>failed</th><th>other</th><th>last run</th><th>last status</th>"
	      "<th>mean duration</th></tr></thead>\n<tbody>\n", f);
	cJSON_ArrayForEach(it, arr) {
		double mean;
		const char *ls = str(it, "last_status");

		fputs("<tr>", f);
		td_text(f, str(it, "task"));
		td_text(f, str(it, "target"));
		td_num(f, num0(it, "runs"));
		td_num(f, num0(it, "ok"));
		td_num(f, num0(it, "failed"));
		td_num(f, num0(it, "interrupted") + num0(it, "skipped") + num0(it, "warning") +
			  num0(it, "critical"));
		td_text(f, str(it, "last_run"));
		put(f, ls && !strcmp(ls, "ok") ? "<td class=\"st-ok\">" : "<td class=\"st-bad\">", ls,
		    "</td>");
		td_text(f, num(it, "mean_duration_seconds", &mean) ?
			   value_text(U_SECONDS, mean, a, sizeof a) : NULL);
		fputs("</tr>\n", f);
		if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(it, "failures")) > 0)
			anyfail = 1;
	}
	fputs("</tbody>\n</table>\n", f);
	tasks_chart(w, arr);
	if (anyfail) {
		fputs("<h3>Failures</h3>\n<ul class=\"failures\">\n", f);
		cJSON_ArrayForEach(it, arr) {
			cJSON_ArrayForEach(fl, cJSON_GetObjectItemCaseSensitive(it, "failures")) {
				put(f, "<li><span class=\"when\">", str(fl, "time"), "</span> ");
				put(f, "<strong>", str(it, "task"), "");
				if (str(it, "target"))
					put(f, " ", str(it, "target"), "");
				put(f, "</strong>: <code>", str(fl, "error"), "</code></li>\n");
			}
		}
		fputs("</ul>\n", f);
	}
	fputs("</section>\n", f);
}

/* An entry without two usable samples: its caption as a paragraph and why
 * there is no chart.  Frees p. */
static int no_chart(FILE *f, const char *caption, pt *p, int n, int bad)
{
	put(f, "<p>", caption, "</p>\n");
	fprintf(f, "<p class=\"nochart\">No chart: %d usable sample%s", n, n == 1 ? "" : "s");
	if (bad)
		fprintf(f, " (%d left out: not finite or not a time)", bad);
	fputs(", two are needed.</p>\n", f);
	free(p);
	return 0;
}

/* A chart of the n samples p, nothing else on it yet. */
static void spec_init(line_spec *s, const char *title, const char *caption, unit u,
		      const pt *p, int n)
{
	*s = (line_spec){.title = title, .caption = caption, .u = u, .p = p, .n = n,
			 .t_end = NAN, .mark_t = NAN};
}

static void entry_heading(FILE *f, const char *kind, const char *name)
{
	put(f, "<h3>", name, "");
	if (kind)
		put(f, " <span class=\"kind\">", kind, "</span>");
	fputs("</h3>\n", f);
}

static int capacity_entry(html *w, const cJSON *e, double until)
{
	FILE *f = w->f;
	const char *kind = str(e, "kind"), *name = str(e, "name"), *fill = str(e, "fill_date");
	unit u = unit_of(str(e, "unit"));
	double cur = NAN, g = NAN, size = NAN, free_ = NAN, r2 = NAN, days = NAN, tf = NAN, cap;
	char title[512], cap_text[1024], fit_label[128], lim[96], mark[64], a[48], b[48], c[48];
	line_spec s;
	int n, bad, oom = 0;
	pt *p;

	num(e, "current", &cur);
	num(e, "growth_per_day", &g);
	num(e, "size", &size);
	num(e, "free", &free_);
	num(e, "r2", &r2);
	num(e, "days_to_full", &days);
	entry_heading(f, kind, name);
	p = series_points(cJSON_GetObjectItemCaseSensitive(e, "series"), &n, &bad, &oom);
	if (oom)
		return -1;

	snprintf(cap_text, sizeof cap_text, "%s%s%s%s: %s now, growing %s (R\xc2\xb2 %s, %.0f samples)",
		 name ? name : "-", kind ? " (" : "", kind ? kind : "", kind ? ")" : "",
		 value_text(u, cur, a, sizeof a), rate_text(u, g, b, sizeof b),
		 isfinite(r2) ? (snprintf(c, sizeof c, "%.2f", r2), c) : "-", num0(e, "samples"));
	if (fill) {
		tf = day_or_time(fill);
		snprintf(title, sizeof title, "; full on %s", fill);
		strncat(cap_text, title, sizeof cap_text - strlen(cap_text) - 1);
		if (isfinite(days)) {
			snprintf(title, sizeof title, " (in %.1f days)", days);
			strncat(cap_text, title, sizeof cap_text - strlen(cap_text) - 1);
		}
	} else if (isfinite(size)) {
		strncat(cap_text, "; not projected to fill", sizeof cap_text - strlen(cap_text) - 1);
	}
	strncat(cap_text, ".", sizeof cap_text - strlen(cap_text) - 1);
	snprintf(title, sizeof title, "Size of %s%s%s%s over time", name ? name : "-",
		 kind ? " (" : "", kind ? kind : "", kind ? ")" : "");

	if (n < 2)
		return no_chart(f, cap_text, p, n, bad);
	spec_init(&s, title, cap_text, u, p, n);
	s.zero = 1;
	s.t_end = until;
	if (isfinite(cur) && isfinite(g)) {
		double last = p[n - 1].t, span = last - p[0].t, end;

		/* To the fill date, or the end of the period; a fill date
		 * far beyond the samples would squash them into a corner. */
		cap = last + fmax(4 * span, 30 * DAY);
		end = isfinite(tf) ? tf : (isfinite(until) && until > last ? until : last);
		if (end > cap) {
			end = cap;
			strncat(cap_text, " The fill date lies beyond the chart.",
				sizeof cap_text - strlen(cap_text) - 1);
		}
		if (end < last)
			end = last;
		s.ft0 = p[0].t;
		s.fv0 = cur + g * (p[0].t - last) / DAY;
		s.ft1 = end;
		s.fv1 = cur + g * (end - last) / DAY;
		s.has_fit = fabs(s.fv0) <= V_MAX && fabs(s.fv1) <= V_MAX;
		snprintf(fit_label, sizeof fit_label, "projection %s", rate_text(u, g, a, sizeof a));
		s.fit_label = fit_label;
		if (s.has_fit && end == tf) {
			s.mark_t = tf;
			snprintf(mark, sizeof mark, "full %s", date_of(tf, a, sizeof a));
			s.mark_label = mark;
		}
	}
	if (isfinite(size) && size > 0) {
		s.has_limit = 1;
		s.limit = size;
		snprintf(lim, sizeof lim, "disk size %s", value_text(u, size, a, sizeof a));
		s.limit_label = lim;
	}
	line_chart(w, &s);
	free(p);
	return 0;
}

static int section_capacity(html *w, const cJSON *arr, double until)
{
	FILE *f = w->f;
	const cJSON *e;
	char a[48];
	double v;

	fputs("<section id=\"capacity\">\n<h2>Capacity</h2>\n", f);
	if (cJSON_GetArraySize(arr) == 0) {
		fputs("<p class=\"none\">No capacity data in this period.</p>\n</section>\n", f);
		return 0;
	}
	fputs("<table>\n<thead><tr><th>name</th><th>kind</th><th>current</th><th>growth</th>"
	      "<th>R\xc2\xb2</th><th>size</th><th>free</th><th>full on</th><th>days left</th>"
	      "</tr></thead>\n<tbody>\n", f);
	cJSON_ArrayForEach(e, arr) {
		unit u = unit_of(str(e, "unit"));

		fputs("<tr>", f);
		td_text(f, str(e, "name"));
		td_text(f, str(e, "kind"));
		td_text(f, num(e, "current", &v) ? value_text(u, v, a, sizeof a) : NULL);
		td_text(f, num(e, "growth_per_day", &v) ? rate_text(u, v, a, sizeof a) : NULL);
		td_text(f, num(e, "r2", &v) ? (snprintf(a, sizeof a, "%.2f", v), a) : NULL);
		td_text(f, num(e, "size", &v) ? value_text(u, v, a, sizeof a) : NULL);
		td_text(f, num(e, "free", &v) ? value_text(u, v, a, sizeof a) : NULL);
		td_text(f, str(e, "fill_date"));
		td_text(f, num(e, "days_to_full", &v) ? (snprintf(a, sizeof a, "%.1f", v), a) : NULL);
		fputs("</tr>\n", f);
	}
	fputs("</tbody>\n</table>\n", f);
	cJSON_ArrayForEach(e, arr)
		if (capacity_entry(w, e, until) < 0)
			return -1;
	fputs("</section>\n", f);
	return 0;
}

static const char *trend_what(const char *kind)
{
	static const struct {
		const char *kind, *what;
	} k[] = {
		{"memory", "Memory"}, {"latency", "Latency"}, {"search_latency", "Search latency"},
		{"recall", "Recall"}, {"backup_duration", "Backup duration"},
	};
	size_t i;

	for (i = 0; kind && i < sizeof k / sizeof *k; i++)
		if (!strcmp(kind, k[i].kind))
			return k[i].what;
	return kind ? kind : "Trend";
}

static int trend_entry(html *w, const cJSON *e)
{
	FILE *f = w->f;
	const char *name = str(e, "name"), *verdict = str(e, "verdict");
	unit u = unit_of(str(e, "unit"));
	double slope = NAN, rel = NAN, r2 = NAN;
	char title[512], cap[1024], fit_label[128], a[48], b[48];
	line_spec s;
	int n, bad, oom = 0, i;
	pt *p;

	num(e, "slope_per_day", &slope);
	num(e, "relative_per_day", &rel);
	num(e, "r2", &r2);
	snprintf(title, sizeof title, "%s of %s over time", trend_what(str(e, "kind")),
		 name ? name : "-");
	snprintf(cap, sizeof cap, "%s of %s: %s \xe2\x80\x94 %s", trend_what(str(e, "kind")),
		 name ? name : "-", verdict ? verdict : "no verdict",
		 isfinite(slope) ? rate_text(u, slope, a, sizeof a) : "no slope");
	if (isfinite(rel)) {
		snprintf(b, sizeof b, " (%+.2f %%/day)", rel * 100);
		strncat(cap, b, sizeof cap - strlen(cap) - 1);
	}
	snprintf(b, sizeof b, ", R\xc2\xb2 %.2f", isfinite(r2) ? r2 : 0);
	if (isfinite(r2))
		strncat(cap, b, sizeof cap - strlen(cap) - 1);
	snprintf(b, sizeof b, ", %.0f samples.", num0(e, "samples"));
	strncat(cap, b, sizeof cap - strlen(cap) - 1);

	entry_heading(f, str(e, "metric") ? str(e, "metric") : trend_what(str(e, "kind")), name);
	fprintf(f, "<p class=\"verdict-line\">Verdict: <span class=\"verdict v-%s\">",
		verdict && (!strcmp(verdict, "leak") || !strcmp(verdict, "regression")) ? "bad" : "ok");
	put(f, "", verdict ? verdict : "no verdict", "</span></p>\n");

	p = series_points(cJSON_GetObjectItemCaseSensitive(e, "series"), &n, &bad, &oom);
	if (oom)
		return -1;
	if (n < 2)
		return no_chart(f, cap, p, n, bad);
	spec_init(&s, title, cap, u, p, n);
	if (isfinite(slope) && !(verdict && !strcmp(verdict, "too_few_samples"))) {
		double mt = 0, mv = 0;

		for (i = 0; i < n; i++) {
			mt += p[i].t / n;
			mv += p[i].v / n;
		}
		s.ft0 = p[0].t;
		s.fv0 = mv + slope * (p[0].t - mt) / DAY;
		s.ft1 = p[n - 1].t;
		s.fv1 = mv + slope * (p[n - 1].t - mt) / DAY;
		s.has_fit = fabs(s.fv0) <= V_MAX && fabs(s.fv1) <= V_MAX;
		snprintf(fit_label, sizeof fit_label, "trend %s", rate_text(u, slope, a, sizeof a));
		s.fit_label = fit_label;
	}
	line_chart(w, &s);
	free(p);
	return 0;
}

static int section_trends(html *w, const cJSON *arr)
{
	FILE *f = w->f;
	const cJSON *e;

	fputs("<section id=\"trends\">\n<h2>Trends</h2>\n", f);
	if (cJSON_GetArraySize(arr) == 0) {
		fputs("<p class=\"none\">No trend data in this period.</p>\n</section>\n", f);
		return 0;
	}
	cJSON_ArrayForEach(e, arr)
		if (trend_entry(w, e) < 0)
			return -1;
	fputs("</section>\n", f);
	return 0;
}

static void section_logs(html *w, const cJSON *arr)
{
	FILE *f = w->f;
	const cJSON *e, *k;

	fputs("<section id=\"logs\">\n<h2>Logs</h2>\n", f);
	if (cJSON_GetArraySize(arr) == 0) {
		fputs("<p class=\"none\">No log errors were summarised in this period.</p>\n</section>\n", f);
		return;
	}
	cJSON_ArrayForEach(e, arr) {
		put(f, "<h3><code>", str(e, "file"), "</code>");
		fprintf(f, " <span class=\"kind\">%.0f error line%s", num0(e, "errors"),
			num0(e, "errors") == 1 ? "" : "s");
		if (str(e, "since"))
			put(f, " since ", str(e, "since"), "");
		fputs("</span></h3>\n", f);
		if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(e, "kinds")) == 0) {
			fputs("<p class=\"none\">No error kinds.</p>\n", f);
			continue;
		}
		fputs("<table>\n<thead><tr><th>count</th><th>kind</th><th>example</th></tr></thead>\n"
		      "<tbody>\n", f);
		cJSON_ArrayForEach(k, cJSON_GetObjectItemCaseSensitive(e, "kinds")) {
			fputs("<tr>", f);
			td_num(f, num0(k, "count"));
			td_text(f, str(k, "kind"));
			put(f, "<td><code>", str(k, "example"), "</code></td></tr>\n");
		}
		fputs("</tbody>\n</table>\n", f);
	}
	fputs("</section>\n", f);
}

/* ---- the page ---- */

static const char css[] =
	":root{color-scheme:light}\n"
	"body{font-family:system-ui,-apple-system,\"Segoe UI\",Roboto,\"Helvetica Neue\",Arial,"
	"sans-serif;color:#111;background:#fff;max-width:62rem;margin:1.5rem auto;padding:0 1rem;"
	"line-height:1.45}\n"
	"h1{font-size:1.6rem;margin-bottom:.2rem}h2{border-bottom:2px solid #ccc;padding-bottom:.2rem;"
	"margin-top:2rem}h3{font-size:1.05rem;margin:1.4rem 0 .4rem}\n"
	".kind{font-weight:normal;color:#555;font-size:.9em}\n"
	"nav.toc ol{padding-left:1.4rem}nav.toc a{color:#0d47a1}\n"
	"table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.92rem}\n"
	"th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}\n"
	"th{background:#f2f2f2}td.n{text-align:right;font-variant-numeric:tabular-nums}\n"
	"td.st-bad{color:#b71c1c;font-weight:bold}\n"
	"code{font-family:ui-monospace,\"DejaVu Sans Mono\",Menlo,Consolas,monospace;font-size:.88em;"
	"overflow-wrap:anywhere}\n"
	"ul.findings{list-style:none;padding:0}ul.findings li{margin:.3rem 0;padding:.35rem .6rem;"
	"border-left:6px solid #999;background:#f7f7f7}\n"
	".badge{display:inline-block;min-width:5.5em;font-weight:bold;font-size:.8em;"
	"letter-spacing:.04em;padding:.05rem .4rem;border-radius:3px;color:#fff;background:#555;"
	"text-align:center}\n"
	"li.sev-critical{border-left-color:#b71c1c}li.sev-critical .badge{background:#b71c1c}\n"
	"li.sev-warning{border-left-color:#e65100}li.sev-warning .badge{background:#a84300}\n"
	"li.sev-info{border-left-color:#1565c0}li.sev-info .badge{background:#1565c0}\n"
	".verdict{font-size:.85em;padding:.05rem .4rem;border:1px solid #999;border-radius:3px}\n"
	".v-bad{color:#b71c1c;border-color:#b71c1c;font-weight:bold}.v-ok{color:#2e7d32}\n"
	"figure.chart{margin:.6rem 0 1.4rem;break-inside:avoid;page-break-inside:avoid}\n"
	"figure.chart svg{width:100%;height:auto;max-width:720px;display:block}\n"
	"figcaption{font-size:.9rem;color:#333;margin-top:.2rem}\n"
	"p.none,p.nochart{color:#555;font-style:italic}\n"
	"footer{margin-top:2.5rem;color:#666;font-size:.85rem}\n"
	"@page{margin:14mm}\n"
	"@media print{body{max-width:none;margin:0;color:#000;background:#fff;font-size:10.5pt}"
	"a{color:#000;text-decoration:none}nav.toc{break-after:avoid}"
	"h2,h3{break-after:avoid;page-break-after:avoid}"
	"figure.chart,tr,li{break-inside:avoid;page-break-inside:avoid}"
	"ul.findings li,th{background:#fff}.kind,figcaption,p.none,p.nochart{color:#000}"
	"*{-webkit-print-color-adjust:exact;print-color-adjust:exact}}\n";

/* The section's array, or an error when it is there but not an array of
 * objects; NULL with 0 when missing. */
static int section(const cJSON *report, const char *name, const cJSON **arr, ops_error *err)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(report, name), *it;
	int i = 0;

	*arr = NULL;
	if (!a || cJSON_IsNull(a))
		return 0;
	if (!cJSON_IsArray(a)) {
		ops_error_set(err, OPS_EDATA, "report member '%s' is not an array", name);
		return -1;
	}
	cJSON_ArrayForEach(it, a) {
		if (!cJSON_IsObject(it)) {
			ops_error_set(err, OPS_EDATA, "report member '%s[%d]' is not an object", name, i);
			return -1;
		}
		i++;
	}
	*arr = a;
	return 0;
}

ops_code ops_report_html(const cJSON *report, char **out, size_t *len, ops_error *err)
{
	static const char *const names[] = {"findings", "tasks", "capacity", "trends", "logs"};
	static const char *const heads[] = {"Findings", "Tasks", "Capacity", "Trends", "Logs"};
	const cJSON *sec[5];
	const char *since, *until;
	html w = {0};
	char *buf = NULL;
	size_t n = 0, i;
	double pd, t_until;
	int total = 0, rc = 0;

	*out = NULL;
	*len = 0;
	if (!cJSON_IsObject(report))
		return ops_error_set(err, OPS_EDATA, "the report is not a JSON object");
	for (i = 0; i < 5; i++) {
		if (section(report, names[i], &sec[i], err) < 0)
			return err ? err->code : OPS_EDATA;
		total += cJSON_GetArraySize(sec[i]);
	}
	if (!(w.f = open_memstream(&buf, &n)))
		return ops_error_oom(err);
	since = str(report, "since");
	until = str(report, "until");
	t_until = day_or_time(until);

	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
	      "style-src 'unsafe-inline'; img-src data:\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	      "<meta name=\"generator\" content=\"opsctl\">\n<title>Maintenance report", w.f);
	if (since || until) {
		fputs(" ", w.f);
		esc(w.f, since ? since : "");
		fputs(" \xe2\x80\x93 ", w.f);
		esc(w.f, until ? until : "");
	}
	fprintf(w.f, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<header>\n"
		"<h1>Maintenance report</h1>\n<p class=\"period\">", css);
	if (since || until) {
		fputs("Period: ", w.f);
		esc(w.f, since ? since : "-");
		fputs(" \xe2\x80\x93 ", w.f);
		esc(w.f, until ? until : "-");
		if (num(report, "period_days", &pd))
			fprintf(w.f, " (%.0f day%s)", pd, pd == 1 ? "" : "s");
	} else {
		fputs("Period: not stated", w.f);
	}
	fputs("</p>\n</header>\n", w.f);
	if (total == 0)
		fputs("<p class=\"none\" id=\"no-data\">There is no data in this report: no findings, "
		      "task runs, capacity, trend or log figures were recorded in this period.</p>\n",
		      w.f);
	fputs("<nav class=\"toc\" aria-label=\"Contents\">\n<h2>Contents</h2>\n<ol>\n", w.f);
	for (i = 0; i < 5; i++)
		fprintf(w.f, "<li><a href=\"#%s\">%s</a> (%d)</li>\n", names[i], heads[i],
			cJSON_GetArraySize(sec[i]));
	fputs("</ol>\n</nav>\n<main>\n", w.f);

	section_findings(&w, sec[0]);
	section_tasks(&w, sec[1]);
	if (section_capacity(&w, sec[2], t_until) < 0 || section_trends(&w, sec[3]) < 0)
		rc = -1;
	else
		section_logs(&w, sec[4]);
	fprintf(w.f, "</main>\n<footer>Written by opsctl; %d chart%s. Self-contained: "
		"no scripts, fonts or links to fetch.</footer>\n</body>\n</html>\n",
		w.charts, w.charts == 1 ? "" : "s");
	if (ferror(w.f))
		rc = -1;
	if (fclose(w.f) != 0)
		rc = -1;
	if (rc < 0) {
		free(buf);
		return ops_error_oom(err);
	}
	*out = buf;
	*len = n;
	return OPS_OK;
}
