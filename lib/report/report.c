/*
 * The maintenance report over a period: what ran and what failed (the
 * journal), how fast storage grows and when a disk fills (capacity), which
 * series drift (memory leaks, latency and recall regressions, slower
 * backups), what the application logs complain of, and the findings an
 * operator must act on.  It reads what opsctl recorded (journal.jsonl,
 * history.db) and the configured logs; it measures nothing itself and
 * changes nothing.  A trend is judged by its fitted slope's 95% interval
 * and its growth relative to its mean, never by one sample over a bar.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "opsmaint/clock.h"
#include "opsmaint/fileio.h"
#include "opsmaint/journal.h"
#include "opsmaint/output.h"
#include "opsmaint/report.h"
#include "report/report_internal.h"

#define DAY 86400.0
/* The contract: a series has at most this many points. */
#define SERIES_MAX 400
/* Failures kept per task (the newest); all are counted. */
#define FAILURES_MAX 20

/* ---- time ---- */

/* "2026-12-03T06:00:00Z" added to o under name; null for t <= 0. */
static void rp_add_time(cJSON *o, const char *name, double t)
{
	char buf[OPS_TIME_ISO_SIZE];

	if (t > 0)
		cJSON_AddStringToObject(o, name, ops_time_iso((time_t)t, buf));
	else
		cJSON_AddNullToObject(o, name);
}

/* "2026-12-03", "2026-12-03T06:00:00Z", "2026-12-03T06:00:00.123+01:00" or
 * "2026-12-03 06:00:00" (no zone: UTC); -1 when it is none of them. */
static time_t parse_date(const char *s)
{
	ops_time_parsed p;

	return ops_time_parse_iso(s, OPS_TIME_DATE_ONLY | OPS_TIME_SPACE | OPS_TIME_ASSUME_UTC,
				  &p) == OPS_TIME_OK ? p.t : -1;
}

ops_code ops_report_parse_since(const char *text, time_t now, time_t *since, ops_error *err)
{
	ops_error ignored;
	long secs;
	time_t t;

	if (text && *text && text[0] != '-' &&
	    ops_parse_duration(text, &secs, &ignored) == OPS_OK && secs > 0) {
		*since = now - secs;
		return OPS_OK;
	}
	t = parse_date(text);
	if (t < 0) {
		ops_error_set(err, OPS_EUSAGE, "--since '%s': not a duration (30d, 12h) or a "
			      "date (2026-11-01)", text ? text : "");
		return OPS_EUSAGE;
	}
	if (t >= now)
		return ops_error_set(err, OPS_EUSAGE, "--since '%s' is not in the past", text);
	*since = t;
	return OPS_OK;
}

/* ---- thresholds ---- */

struct limits {
	double leak_pct, regression_pct;
	long min_samples, warn_days, crit_days;
};

static ops_code percent_key(const ops_config *cfg, const char *key, double *out, ops_error *err)
{
	const char *s = ops_config_get(cfg, key);
	char *end = NULL;

	*out = s ? strtod(s, &end) : NAN;
	if (!s || end == s || *end || !(*out >= 0) || *out > 1000)
		return ops_error_set(err, OPS_ECONFIG, "%s: '%s' is not a percentage (0 to 1000)",
				     key, s ? s : "");
	return OPS_OK;
}

/* ---- series ---- */

static double span(const rp_series *s)
{
	return s->n ? s->t[s->n - 1] - s->t[0] : 0;
}

/* [[t, v], ...] in time order, averaged into at most SERIES_MAX buckets. */
static cJSON *series_json(const rp_series *s)
{
	cJSON *a = cJSON_CreateArray();
	double t0, width;
	size_t i = 0;

	if (!a || !s->n)
		return a;
	t0 = s->t[0];
	width = s->n <= SERIES_MAX ? 0 : span(s) / SERIES_MAX;
	while (i < s->n) {
		double st = 0, sv = 0, edge;
		size_t k = 0;
		cJSON *pt;

		if (width > 0) {
			double b = floor((s->t[i] - t0) / width);

			/* the last bucket takes the end of the series */
			edge = b >= SERIES_MAX - 1 ? INFINITY : t0 + width * (b + 1);
			while (i < s->n && (s->t[i] < edge || k == 0)) {
				st += s->t[i];
				sv += s->v[i++];
				k++;
			}
		} else {
			st = s->t[i];
			sv = s->v[i++];
			k = 1;
		}
		pt = cJSON_CreateArray();
		cJSON_AddItemToArray(pt, cJSON_CreateNumber(floor(st / (double)k + 0.5)));
		cJSON_AddItemToArray(pt, cJSON_CreateNumber(sv / (double)k));
		cJSON_AddItemToArray(a, pt);
	}
	return a;
}

static void add_num_or_null(cJSON *o, const char *name, double v)
{
	if (isfinite(v))
		cJSON_AddNumberToObject(o, name, v);
	else
		cJSON_AddNullToObject(o, name);
}

static int enough(const rp_series *s, const struct limits *lim)
{
	return s->n >= (size_t)lim->min_samples && span(s) >= DAY;
}

/* ---- findings ---- */

static void finding(cJSON *findings, const char *severity, const char *kind,
		    const char *subject, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void finding(cJSON *findings, const char *severity, const char *kind,
		    const char *subject, const char *fmt, ...)
{
	cJSON *f = cJSON_CreateObject();
	char text[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	cJSON_AddStringToObject(f, "severity", severity);
	cJSON_AddStringToObject(f, "kind", kind);
	cJSON_AddStringToObject(f, "subject", subject);
	cJSON_AddStringToObject(f, "text", text);
	cJSON_AddItemToArray(findings, f);
}

static int severity_rank(const char *s)
{
	return !s ? 0 : strcmp(s, "critical") == 0 ? 3 : strcmp(s, "warning") == 0 ? 2 :
	       strcmp(s, "info") == 0 ? 1 : 0;
}

int ops_report_count(const cJSON *report, const char *severity)
{
	const cJSON *f;
	int n = 0, floor_rank = severity_rank(severity);

	cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(report, "findings"))
		if (severity_rank(cJSON_GetStringValue(cJSON_GetObjectItem(f, "severity"))) >=
		    floor_rank)
			n++;
	return n;
}

/* ---- tasks, from the journal ---- */

struct task {
	char *command, *target;
	long runs, ok, failed, interrupted, skipped, warning, critical;
	double last_run, dur_sum, before;
	char *last_status;
	cJSON *failures;	/* newest FAILURES_MAX */
	long nfailures;
	double db_size, db_size_time;	/* newest opsctl_db_size_bytes */
};

struct tasks {
	struct task *v;
	size_t n, cap;
	time_t since, until;
	cJSON *rto;		/* the newest restore time measured (restore_time) */
	double rto_time;
};

/* A restore's or verify's time per GB (backup_verify.c), the newest kept. */
static void note_rto(struct tasks *ts, const cJSON *o, const char *cmd, const char *tgt,
		     double t)
{
	const cJSON *fig = cJSON_GetObjectItemCaseSensitive(o, "figures");
	const cJSON *spg = cJSON_GetObjectItemCaseSensitive(fig,
							    "opsctl_restore_seconds_per_gigabyte");
	const cJSON *bytes = cJSON_GetObjectItemCaseSensitive(fig, "opsctl_restore_bytes");
	const cJSON *secs = cJSON_GetObjectItemCaseSensitive(fig, "opsctl_restore_seconds");
	cJSON *r;

	if (!cJSON_IsNumber(spg) || !cJSON_IsNumber(bytes) || !cJSON_IsNumber(secs) ||
	    t < ts->rto_time || !(r = cJSON_CreateObject()))
		return;
	cJSON_AddStringToObject(r, "task", cmd);
	if (*tgt)
		cJSON_AddStringToObject(r, "target", tgt);
	rp_add_time(r, "time", t);
	cJSON_AddNumberToObject(r, "seconds_per_gigabyte", spg->valuedouble);
	cJSON_AddNumberToObject(r, "restored_bytes", bytes->valuedouble);
	cJSON_AddNumberToObject(r, "seconds", secs->valuedouble);
	cJSON_Delete(ts->rto);
	ts->rto = r;
	ts->rto_time = t;
}

/*
 * The expected restore time: the newest time per GB times the databases'
 * size now (the newest `db size` of each), or, with no db size run in the
 * journal, the size that restore made.
 */
static void add_restore_time(cJSON *r, struct tasks *ts)
{
	double size = 0;
	size_t i;
	cJSON *rto = ts->rto;

	if (!rto)
		return;
	ts->rto = NULL;
	for (i = 0; i < ts->n; i++)
		size += ts->v[i].db_size;
	cJSON_AddStringToObject(rto, "size_from", size > 0 ? "db size" : "the restore");
	if (size <= 0)
		size = cJSON_GetNumberValue(cJSON_GetObjectItem(rto, "restored_bytes"));
	cJSON_AddNumberToObject(rto, "database_bytes", size);
	cJSON_AddNumberToObject(rto, "expected_seconds",
				cJSON_GetNumberValue(cJSON_GetObjectItem(rto, "seconds_per_gigabyte")) *
				size / 1e9);
	cJSON_AddItemToObject(r, "restore_time", rto);
}

static double line_time(const cJSON *o)
{
	const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "time"));
	return (double)parse_date(s);
}

static ops_code task_line(void *arg, const cJSON *o, ops_error *err)
{
	struct tasks *ts = arg;
	const char *cmd = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "command"));
	const char *tgt = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "target"));
	const char *status = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "status"));
	const cJSON *dur = cJSON_GetObjectItemCaseSensitive(o, "duration_seconds");
	double t = line_time(o);
	struct task *k;
	size_t i;

	if (!tgt)
		tgt = "";
	if (t < 0 || t > (double)ts->until)
		return OPS_OK;
	for (i = 0; i < ts->n; i++)
		if (strcmp(ts->v[i].command, cmd) == 0 && strcmp(ts->v[i].target, tgt) == 0)
			break;
	if (i == ts->n) {
		if (ts->n == ts->cap) {
			size_t ncap = ts->cap ? ts->cap * 2 : 16;
			struct task *nv = realloc(ts->v, ncap * sizeof *nv);

			if (!nv)
				return ops_error_oom(err);
			ts->v = nv;
			ts->cap = ncap;
		}
		memset(&ts->v[i], 0, sizeof ts->v[i]);
		ts->n++;
		ts->v[i].command = strdup(cmd);
		ts->v[i].target = strdup(tgt);
		ts->v[i].failures = cJSON_CreateArray();
		if (!ts->v[i].command || !ts->v[i].target || !ts->v[i].failures)
			return ops_error_oom(err);
	}
	k = &ts->v[i];
	if (strcmp(status, "ok") == 0) {
		const cJSON *sz = cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(o, "figures"), "opsctl_db_size_bytes");

		note_rto(ts, o, cmd, tgt, t);
		if (cJSON_IsNumber(sz) && t >= k->db_size_time) {
			k->db_size = sz->valuedouble;
			k->db_size_time = t;
		}
	}
	if (t < (double)ts->since) {
		if (t > k->before)
			k->before = t;
		return OPS_OK;
	}
	k->runs++;
	if (strcmp(status, "ok") == 0)
		k->ok++;
	else if (strcmp(status, "interrupted") == 0)
		k->interrupted++;
	else if (strcmp(status, "skipped") == 0)
		k->skipped++;
	else if (strcmp(status, "warning") == 0)
		k->warning++;
	else if (strcmp(status, "critical") == 0)
		k->critical++;
	else
		k->failed++;
	if (cJSON_IsNumber(dur))
		k->dur_sum += dur->valuedouble;
	if (t >= k->last_run) {
		char *s = strdup(status);

		if (!s)
			return ops_error_oom(err);
		free(k->last_status);
		k->last_status = s;
		k->last_run = t;
	}
	if (strcmp(status, "ok") != 0 && strcmp(status, "warning") != 0 &&
	    strcmp(status, "critical") != 0 && strcmp(status, "skipped") != 0) {
		const char *e = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "error"));
		cJSON *f = cJSON_CreateObject();
		char line[512];

		if (!f)
			return ops_error_oom(err);
		snprintf(line, sizeof line, "%s", e ? e : status);
		line[strcspn(line, "\n")] = '\0';
		rp_add_time(f, "time", t);
		cJSON_AddStringToObject(f, "error", line);
		cJSON_AddItemToArray(k->failures, f);
		if (cJSON_GetArraySize(k->failures) > FAILURES_MAX)
			cJSON_DeleteItemFromArray(k->failures, 0);
		k->nfailures++;
	}
	return OPS_OK;
}

static void tasks_free(struct tasks *ts)
{
	size_t i;

	for (i = 0; i < ts->n; i++) {
		free(ts->v[i].command);
		free(ts->v[i].target);
		free(ts->v[i].last_status);
		cJSON_Delete(ts->v[i].failures);
	}
	free(ts->v);
	cJSON_Delete(ts->rto);
	ts->rto = NULL;
}

static int by_command(const void *a, const void *b)
{
	const struct task *x = a, *y = b;
	int c = strcmp(x->command, y->command);

	return c ? c : strcmp(x->target, y->target);
}

static void subject_of(const struct task *k, char *buf, size_t size)
{
	snprintf(buf, size, "%s%s%s", k->command, *k->target ? " " : "", k->target);
}

static ops_code build_tasks(const char *journal, struct tasks *ts, cJSON *out, cJSON *findings,
			    size_t *skipped, ops_error *err)
{
	ops_code rc = ops_journal_each(journal, task_line, ts, skipped, err);
	char subj[512], when[OPS_TIME_ISO_SIZE];
	size_t i;

	if (rc != OPS_OK)
		return rc;
	qsort(ts->v, ts->n, sizeof *ts->v, by_command);
	for (i = 0; i < ts->n; i++) {
		struct task *k = &ts->v[i];
		cJSON *o;

		subject_of(k, subj, sizeof subj);
		if (k->runs == 0) {
			/* Ran before the period and not in it: a schedule that stopped. */
			if (k->before > 0)
				finding(findings, "warning", "stale", subj,
					"%s did not run in the period; its last run was %s", subj,
					ops_time_iso((time_t)k->before, when));
			else
				continue;
		}
		if (!(o = cJSON_CreateObject()))
			return ops_error_oom(err);
		cJSON_AddItemToArray(out, o);
		cJSON_AddStringToObject(o, "task", k->command);
		if (*k->target)
			cJSON_AddStringToObject(o, "target", k->target);
		else
			cJSON_AddNullToObject(o, "target");
		cJSON_AddNumberToObject(o, "runs", (double)k->runs);
		cJSON_AddNumberToObject(o, "ok", (double)k->ok);
		cJSON_AddNumberToObject(o, "failed", (double)k->failed);
		cJSON_AddNumberToObject(o, "interrupted", (double)k->interrupted);
		cJSON_AddNumberToObject(o, "skipped", (double)k->skipped);
		cJSON_AddNumberToObject(o, "warning", (double)k->warning);
		cJSON_AddNumberToObject(o, "critical", (double)k->critical);
		rp_add_time(o, "last_run", k->runs ? k->last_run : k->before);
		if (k->last_status)
			cJSON_AddStringToObject(o, "last_status", k->last_status);
		else
			cJSON_AddNullToObject(o, "last_status");
		add_num_or_null(o, "mean_duration_seconds",
				k->runs ? floor(k->dur_sum / (double)k->runs * 1000 + 0.5) / 1000
					: NAN);
		cJSON_AddItemToObject(o, "failures", k->failures);
		k->failures = NULL;
		if (k->failed + k->interrupted > 0) {
			const cJSON *lastf = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "failures"),
								 cJSON_GetArraySize(cJSON_GetObjectItem(o, "failures")) - 1);
			int still = k->last_status && strcmp(k->last_status, "ok") != 0 &&
				    strcmp(k->last_status, "warning") != 0 &&
				    strcmp(k->last_status, "critical") != 0;

			finding(findings, still ? "critical" : "warning", "failures", subj,
				"%s failed %ld of %ld runs%s; last failure %s: %s", subj,
				k->failed + k->interrupted, k->runs,
				still ? ", the last one too" : "",
				cJSON_GetStringValue(cJSON_GetObjectItem(lastf, "time")),
				cJSON_GetStringValue(cJSON_GetObjectItem(lastf, "error")));
		}
	}
	return OPS_OK;
}

/* ---- capacity ---- */

static const char *human(const char *unit, double v, char *buf, size_t size)
{
	if (strcmp(unit, "bytes") == 0)
		return ops_human_bytes(v, buf, size);
	if (strcmp(unit, "seconds") == 0) {
		if (fabs(v) < 1)
			snprintf(buf, size, "%.1f ms", v * 1000);
		else
			snprintf(buf, size, "%.2f s", v);
		return buf;
	}
	if (strcmp(unit, "ratio") == 0) {
		snprintf(buf, size, "%.4f", v);
		return buf;
	}
	snprintf(buf, size, "%.0f", v);
	return buf;
}

/* A signed human amount: "-1.2 MiB" */
static const char *shuman(const char *unit, double v, char *buf, size_t size)
{
	if (size < 2)
		return buf;
	buf[0] = '-';
	human(unit, fabs(v), buf + (v < 0), size - 1);
	return buf;
}

struct source {
	const char *kind;	/* capacity or trend kind */
	const char *metric;
	const char *label;	/* the label that names the entry */
	const char *unit;
	const char *fallback;	/* the name when the label is absent */
	int falling_bad;	/* recall: a falling series is the regression */
};

static const struct source capacity_sources[] = {
	{"database", "opsctl_db_size_bytes", "target", "bytes", "database", 0},
	{"index", "opsctl_vector_index_size_bytes", "path", "bytes", "index", 0},
	{"index", "opsctl_vector_index_vectors", "target", "vectors", "index", 0},
	{"backup", "opsctl_backup_size_bytes", "target", "bytes", "backups", 0},
	{"disk", "opsctl_disk_used_bytes", "path", "bytes", "disk", 0},
};

static const struct source trend_sources[] = {
	{"memory", "opsctl_service_memory_bytes", "service", "bytes", "service", 0},
	{"latency", "opsctl_health_api_response_seconds", "target", "seconds", "api", 0},
	{"latency", "opsctl_health_llm_response_seconds", "target", "seconds", "llm", 0},
	{"search_latency", "opsctl_vector_search_seconds", "target", "seconds", "index", 0},
	{"recall", "opsctl_vector_recall_at_10_ratio", "target", "ratio", "index", 1},
	{"backup_duration", "opsctl_backup_duration_seconds", "target", "seconds", "backups", 0},
};

static const char *entry_name(const struct source *src, const rp_series *s, char *buf,
			      size_t size)
{
	char l[160];
	int n;

	rp_label(s->labels, src->label, l, sizeof l);
	/* api on TARGET: the label alone would not say which endpoint */
	if (!*l)
		n = snprintf(buf, size, "%s", src->fallback);
	else if (strcmp(src->kind, "latency") == 0)
		n = snprintf(buf, size, "%s (%s)", src->fallback, l);
	else
		n = snprintf(buf, size, "%s", l);
	if (n < 0)
		buf[0] = '\0';
	return buf;
}

/* The newest opsctl_disk_size_bytes of the same path. */
static double disk_size(sqlite3 *db, const char *labels, time_t since, time_t until)
{
	rp_series *v = NULL;
	size_t n = 0, i;
	double size = NAN;
	ops_error ignored;

	if (rp_history_series(db, "opsctl_disk_size_bytes", since, until, &v, &n, &ignored) !=
	    OPS_OK)
		return NAN;
	for (i = 0; i < n; i++)
		if (strcmp(v[i].labels, labels) == 0 && v[i].n)
			size = v[i].v[v[i].n - 1];
	rp_series_free(v, n);
	return size;
}

/* One pass over the sources' series: fn adds one entry per series to
 * p->out (and its findings); -1 from fn is out of memory. */
struct pass {
	sqlite3 *db;
	const ops_report_opts *o;
	const struct limits *lim;
	cJSON *out, *findings;
};
typedef int (*entry_fn)(const struct pass *p, const struct source *src, const rp_series *s);

static ops_code each_series(const struct pass *p, const struct source *srcs, size_t nsrcs,
			    entry_fn fn, ops_error *err)
{
	size_t si, i, n;
	ops_code rc;

	for (si = 0; si < nsrcs; si++) {
		rp_series *v = NULL;

		rc = rp_history_series(p->db, srcs[si].metric, p->o->since, p->o->until, &v, &n, err);
		if (rc != OPS_OK)
			return rc;
		for (i = 0; i < n && rc == OPS_OK; i++)
			if (fn(p, &srcs[si], &v[i]) != 0)
				rc = ops_error_oom(err);
		rp_series_free(v, n);
		if (rc != OPS_OK)
			return rc;
	}
	return OPS_OK;
}

static int capacity_entry(const struct pass *p, const struct source *src, const rp_series *s)
{
	const ops_report_opts *o = p->o;
	const struct limits *lim = p->lim;
	cJSON *findings = p->findings;
	sqlite3 *db = p->db;
	cJSON *e = cJSON_CreateObject();
	char name[256], a[48], b[48];
	double cur = s->v[s->n - 1], size = NAN, fill = NAN, days = NAN;
	ops_fit f;
	/* A growth a day is only said of samples that span a day at least:
	 * two runs a minute apart would extrapolate noise into gigabytes. */
	int fitted = enough(s, lim) && ops_fit_linear(s->t, s->v, s->n, &f) == 0;

	if (!e)
		return -1;
	cJSON_AddItemToArray(p->out, e);
	cJSON_AddStringToObject(e, "kind", src->kind);
	cJSON_AddStringToObject(e, "name", entry_name(src, s, name, sizeof name));
	cJSON_AddStringToObject(e, "unit", src->unit);
	cJSON_AddNumberToObject(e, "current", cur);
	add_num_or_null(e, "growth_per_day", fitted ? f.slope * DAY : NAN);
	add_num_or_null(e, "r2", fitted ? f.r2 : NAN);
	cJSON_AddNumberToObject(e, "samples", (double)s->n);
	if (strcmp(src->kind, "disk") == 0) {
		size = disk_size(db, s->labels, o->since, o->until);
		add_num_or_null(e, "size", size);
		add_num_or_null(e, "free", size - cur);
		/* Rising for sure (the interval above 0), judged on enough
		 * samples: then the day the fitted line meets the size. */
		if (fitted && isfinite(size) && f.ci_lo > 0 &&
		    ops_fit_reach(&f, size, &fill) == 0) {
			days = (fill - (double)o->until) / DAY;
			if (days < 0)
				days = 0;
		}
	}
	if (isfinite(days)) {
		char date[16];
		time_t ft = (time_t)fill;
		struct tm tm;

		gmtime_r(&ft, &tm);
		strftime(date, sizeof date, "%Y-%m-%d", &tm);
		cJSON_AddStringToObject(e, "fill_date", date);
		cJSON_AddNumberToObject(e, "days_to_full", floor(days * 10 + 0.5) / 10);
		if (days <= (double)lim->warn_days)
			finding(findings, days <= (double)lim->crit_days ? "critical"
				: "warning", "disk_fill", name,
				"%s fills in %.1f days (%s) at %s a day; %s free of %s",
				name, days, date, shuman(src->unit, f.slope * DAY, a,
							 sizeof a),
				human(src->unit, size - cur, b, sizeof b),
				human(src->unit, size, (char[48]){0}, 48));
	} else {
		cJSON_AddNullToObject(e, "fill_date");
		cJSON_AddNullToObject(e, "days_to_full");
	}
	cJSON_AddItemToObject(e, "series", series_json(s));
	return 0;
}

/* ---- trends ---- */

static const char *verdict(const struct source *src, const rp_series *s, const ops_fit *f,
			   int fitted, double rel_pct, const struct limits *lim)
{
	double bar = strcmp(src->kind, "memory") == 0 ? lim->leak_pct : lim->regression_pct;
	const char *bad = strcmp(src->kind, "memory") == 0 ? "leak" : "regression";
	int up, down;

	if (!fitted || !enough(s, lim) || isnan(f->ci_lo))
		return "too_few_samples";
	up = f->ci_lo > 0 && rel_pct > bar;
	down = f->ci_hi < 0 && -rel_pct > bar;
	if (src->falling_bad)
		return down ? bad : up ? "improving" : "steady";
	return up ? bad : down ? "improving" : "steady";
}

static int trend_entry(const struct pass *p, const struct source *src, const rp_series *s)
{
	const struct limits *lim = p->lim;
	cJSON *findings = p->findings;
	cJSON *e = cJSON_CreateObject(), *ci;
	char name[256], a[48], lo[48], hi[48];
	ops_fit f;
	int fitted = ops_fit_linear(s->t, s->v, s->n, &f) == 0;
	double rel = fitted && f.v_mean != 0 ? f.slope * DAY / fabs(f.v_mean) : 0;
	const char *vd = verdict(src, s, &f, fitted, rel * 100, lim);

	if (!e)
		return -1;
	cJSON_AddItemToArray(p->out, e);
	cJSON_AddStringToObject(e, "kind", src->kind);
	cJSON_AddStringToObject(e, "name", entry_name(src, s, name, sizeof name));
	cJSON_AddStringToObject(e, "metric", src->metric);
	cJSON_AddStringToObject(e, "unit", src->unit);
	add_num_or_null(e, "slope_per_day", fitted ? f.slope * DAY : NAN);
	if (fitted && isfinite(f.ci_lo)) {
		ci = cJSON_AddArrayToObject(e, "slope_ci95");
		cJSON_AddItemToArray(ci, cJSON_CreateNumber(f.ci_lo * DAY));
		cJSON_AddItemToArray(ci, cJSON_CreateNumber(f.ci_hi * DAY));
	} else {
		cJSON_AddNullToObject(e, "slope_ci95");
	}
	add_num_or_null(e, "relative_per_day", fitted ? rel : NAN);
	add_num_or_null(e, "r2", fitted ? f.r2 : NAN);
	cJSON_AddNumberToObject(e, "samples", (double)s->n);
	cJSON_AddStringToObject(e, "verdict", vd);
	cJSON_AddItemToObject(e, "series", series_json(s));
	if (strcmp(vd, "leak") == 0 || strcmp(vd, "regression") == 0)
		finding(findings, "warning", vd, name,
			"%s %s %s %s a day (%+.2f%% of its mean, 95%% interval %s to "
			"%s, r2 %.2f, %zu samples): %s",
			name, strcmp(src->kind, "memory") == 0 ? "memory" :
			strcmp(src->kind, "recall") == 0 ? "recall" :
			strcmp(src->kind, "backup_duration") == 0 ? "backup duration" :
			"latency", f.slope < 0 ? "falls" : "grows",
			shuman(src->unit, fabs(f.slope) * DAY, a, sizeof a), rel * 100,
			shuman(src->unit, f.ci_lo * DAY, lo, sizeof lo),
			shuman(src->unit, f.ci_hi * DAY, hi, sizeof hi), f.r2, s->n,
			strcmp(vd, "leak") == 0 ? "a slow memory leak"
						 : "a performance regression");
	return 0;
}

/* ---- the whole ---- */

static int by_severity(const void *a, const void *b)
{
	const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;

	return severity_rank(cJSON_GetStringValue(cJSON_GetObjectItem(y, "severity"))) -
	       severity_rank(cJSON_GetStringValue(cJSON_GetObjectItem(x, "severity")));
}

/* Critical first, then warning, then info; stable within a severity. */
static void sort_findings(cJSON *findings)
{
	size_t n = (size_t)cJSON_GetArraySize(findings), i;
	cJSON **v = n ? malloc(n * sizeof *v) : NULL;
	cJSON *f;

	if (!v)
		return;
	for (i = 0; i < n; i++)
		v[i] = cJSON_DetachItemFromArray(findings, 0);
	/* qsort is not stable: rank ties by original position */
	for (i = 1; i < n; i++) {
		size_t j = i;

		f = v[i];
		while (j > 0 && by_severity(&v[j - 1], &f) > 0) {
			v[j] = v[j - 1];
			j--;
		}
		v[j] = f;
	}
	for (i = 0; i < n; i++)
		cJSON_AddItemToArray(findings, v[i]);
	free(v);
}

static char **log_files(const ops_config *cfg)
{
	char **a = ops_config_list(cfg, "health.log_files");
	char **b = ops_config_list(cfg, "report.log_files");
	size_t na = ops_strv_len(a), nb = ops_strv_len(b), i, j, n = 0;
	char **out = calloc(na + nb + 1, sizeof *out);

	for (i = 0; out && i < na + nb; i++) {
		char *f = i < na ? a[i] : b[i - na];

		for (j = 0; j < n && strcmp(out[j], f) != 0; j++)
			;
		if (j == n && *f)
			out[n++] = strdup(f);
	}
	ops_strv_free(a);
	ops_strv_free(b);
	return out;
}

ops_code ops_report_build(const ops_run *run, const ops_report_opts *opts, cJSON **report,
			  ops_error *err)
{
	const ops_config *cfg = run->cfg;
	const char *state = ops_config_get(cfg, "general.state_dir");
	ops_report_opts o = *opts;
	struct limits lim;
	struct tasks ts = {0};
	char *journal = NULL, *hpath = NULL, **logs = NULL;
	sqlite3 *db = NULL;
	cJSON *r = NULL, *findings, *fig, *sev;
	size_t skipped = 0;
	ops_code rc;

	*report = NULL;
	if (!o.until)
		o.until = ops_run_now(run);
	if ((rc = percent_key(cfg, "report.leak_percent_per_day", &lim.leak_pct, err)) != OPS_OK ||
	    (rc = percent_key(cfg, "report.regression_percent_per_day", &lim.regression_pct,
			      err)) != OPS_OK)
		return rc;
	lim.min_samples = ops_config_int(cfg, "report.min_samples");
	lim.warn_days = ops_config_int(cfg, "report.fill_warn_days");
	lim.crit_days = ops_config_int(cfg, "report.fill_critical_days");
	journal = ops_path_join(state ? state : "/var/lib/opsctl", "journal.jsonl");
	hpath = rp_history_path(cfg);
	r = cJSON_CreateObject();
	if (!journal || !hpath || !r) {
		rc = ops_error_oom(err);
		goto out;
	}
	rp_add_time(r, "since", (double)o.since);
	rp_add_time(r, "until", (double)o.until);
	cJSON_AddNumberToObject(r, "period_days",
				floor((double)(o.until - o.since) / DAY * 10 + 0.5) / 10);
	findings = cJSON_AddArrayToObject(r, "findings");
	ts.since = o.since;
	ts.until = o.until;
	rc = build_tasks(journal, &ts, cJSON_AddArrayToObject(r, "tasks"), findings, &skipped, err);
	if (rc == OPS_OK)
		rc = rp_history_open_read(hpath, &db, err);
	if (rc == OPS_OK) {
		struct pass p = {.db = db, .o = &o, .lim = &lim, .findings = findings,
				 .out = cJSON_AddArrayToObject(r, "capacity")};

		rc = each_series(&p, capacity_sources, sizeof capacity_sources /
				 sizeof capacity_sources[0], capacity_entry, err);
		p.out = cJSON_AddArrayToObject(r, "trends");
		if (rc == OPS_OK)
			rc = each_series(&p, trend_sources, sizeof trend_sources /
					 sizeof trend_sources[0], trend_entry, err);
	}
	if (rc == OPS_OK) {
		cJSON *la = cJSON_AddArrayToObject(r, "logs"), *l;

		logs = log_files(cfg);
		rc = rp_logs_analyse(logs, o.since, (long long)ops_config_int(cfg,
								"report.max_log_bytes"), la, err);
		cJSON_ArrayForEach(l, la) {
			const cJSON *errs = cJSON_GetObjectItem(l, "errors");
			const cJSON *top = cJSON_GetArrayItem(cJSON_GetObjectItem(l, "kinds"), 0);

			if (cJSON_IsNumber(errs) && errs->valuedouble > 0)
				finding(findings, "info", "logs",
					cJSON_GetStringValue(cJSON_GetObjectItem(l, "file")),
					"%s: %.0f error lines; most often (%.0f): %s",
					cJSON_GetStringValue(cJSON_GetObjectItem(l, "file")),
					errs->valuedouble,
					cJSON_GetNumberValue(cJSON_GetObjectItem(top, "count")),
					cJSON_GetStringValue(cJSON_GetObjectItem(top, "kind")));
		}
	}
	if (rc != OPS_OK)
		goto out;
	add_restore_time(r, &ts);
	sort_findings(findings);
	cJSON_AddNumberToObject(r, "journal_skipped_lines", (double)skipped);
	fig = cJSON_AddObjectToObject(r, "_figures");
	sev = cJSON_AddObjectToObject(cJSON_AddObjectToObject(fig, "opsctl_report_findings"),
				      "severity");
	cJSON_AddNumberToObject(sev, "critical", ops_report_count(r, "critical"));
	cJSON_AddNumberToObject(sev, "warning", ops_report_count(r, "warning") -
				ops_report_count(r, "critical"));
	cJSON_AddNumberToObject(sev, "info", ops_report_count(r, "info") -
				ops_report_count(r, "warning"));
	cJSON_AddNumberToObject(fig, "opsctl_report_journal_skipped_lines", (double)skipped);
	*report = r;
	r = NULL;
out:
	cJSON_Delete(r);
	sqlite3_close(db);
	tasks_free(&ts);
	ops_strv_free(logs);
	free(journal);
	free(hpath);
	return rc;
}
