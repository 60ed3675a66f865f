/*
 * What a component calls to report (health_internal.h): its state and
 * reasons, its perfdata, its figures.  Apart from the engine so that the
 * components and the engine depend on this leaf, never on each other.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "health_internal.h"
#include "opsmaint/clock.h"

/* Worst first as the plugins aggregate: CRITICAL, UNKNOWN, WARNING, OK. */
static int rank(int state)
{
	static const int r[] = {0, 1, 3, 2};

	return r[state & 3];
}

int health_worse(int a, int b)
{
	return rank(b) > rank(a) ? b : a;
}

double health_time_left(const health_ctx *ctx, double cap)
{
	double left = ctx->deadline - ops_clock();

	if (cap <= 0)
		cap = (double)ops_config_int(ctx->cfg, "health.check_timeout");
	if (left > cap)
		left = cap;
	return left < 0.1 ? 0.1 : left;
}

static void appendf(char *buf, size_t size, const char *fmt, va_list ap)
{
	size_t used = strlen(buf);

	if (used + 1 < size)
		vsnprintf(buf + used, size - used, fmt, ap);
}

void health_append(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	appendf(buf, size, fmt, ap);
	va_end(ap);
}

void health_raise(health_result *r, int state, const char *fmt, ...)
{
	va_list ap;

	r->state = health_worse(r->state, state & 3);
	if (*r->summary)
		health_append(r->summary, sizeof r->summary, ", ");
	va_start(ap, fmt);
	appendf(r->summary, sizeof r->summary, fmt, ap);
	va_end(ap);
}

/* A number as perfdata writes it: no exponent, no trailing zeros. */
static void perf_num(char *buf, size_t size, double v)
{
	char *p;

	if (isnan(v)) {
		*buf = '\0';
		return;
	}
	snprintf(buf, size, "%.6f", v);
	p = buf + strlen(buf) - 1;
	while (p > buf && *p == '0')
		*p-- = '\0';
	if (*p == '.')
		*p = '\0';
}

static void perf_item(health_result *r, const char *label, double value, const char *uom,
		      double warn, double crit, double min, double max, int low)
{
	char v[48], w[48], c[48], lo[48], hi[48];

	perf_num(v, sizeof v, value);
	perf_num(w, sizeof w, warn);
	perf_num(c, sizeof c, crit);
	perf_num(lo, sizeof lo, min);
	perf_num(hi, sizeof hi, max);
	/* A lower bound is the range "N:" (alert when below N). */
	if (low && *w)
		strcat(w, ":");
	if (low && *c)
		strcat(c, ":");
	health_append(r->perf, sizeof r->perf, "%s'%s'=%s%s;%s;%s;%s;%s", *r->perf ? " " : "", label, v,
	       uom ? uom : "", w, c, lo, hi);
	if (!isnan(value))
		cJSON_AddNumberToObject(r->report, label, value);
}

void health_perf(health_result *r, const char *label, double value, const char *uom,
		 double warn, double crit, double min, double max)
{
	perf_item(r, label, value, uom, warn, crit, min, max, 0);
}

void health_perf_low(health_result *r, const char *label, double value, const char *uom,
		     double warn, double crit, double min, double max)
{
	perf_item(r, label, value, uom, warn, crit, min, max, 1);
}

cJSON *health_report(health_result *r)
{
	return r->report;
}

void health_skip(health_result *r, const char *why)
{
	r->skipped = 1;
	snprintf(r->why, sizeof r->why, "%s", why ? why : "not configured");
}

void health_figure(health_result *r, const char *name, double value)
{
	cJSON_DeleteItemFromObjectCaseSensitive(r->figures, name);
	cJSON_AddNumberToObject(r->figures, name, value);
}
