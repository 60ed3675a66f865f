/*
 * Inside lib/health: the engine (health.c: the order, the time budget, the
 * states, the status line and perfdata, the state file, -n and the
 * auto-restart) and one module per kind of component, each a function of
 * the health_fn type:
 *
 *   health_http.c    api, llm            (core/http.h)
 *   health_local.c   redis, disk, logs   (db/redis.h, statvfs, the log files)
 *   health_data.c    db, vector, backups (dbmaint.h, vector.h, backup.h)
 *
 * A component decides its own state from what it measured, through
 * health_raise(): an unreachable, stalled or flooding endpoint is CRITICAL
 * (the service is down), a threshold crossed WARNING or CRITICAL.  It
 * returns an error only when it could not check at all (a configuration it
 * cannot use, a failure of opsctl's own): the engine reports that component
 * UNKNOWN with the error's message.  A component never prints.
 */
#ifndef OPSMAINT_HEALTH_INTERNAL_H
#define OPSMAINT_HEALTH_INTERNAL_H

#include <cjson/cJSON.h>
#include "opsmaint/config.h"
#include "opsmaint/error.h"
#include "opsmaint/health.h"
#include "opsmaint/run.h"

typedef struct health_ctx {
	const ops_run *run;
	const ops_config *cfg;
	int full;		/* --full: the slow checks too */
	int named;		/* the component was asked for by name, not by "all" */
	double deadline;	/* ops_clock() by which the component must have ended */
	/*
	 * The component's own object in the state file, kept from run to run
	 * (the logs' positions, the archiver's failed_count): read it, change
	 * it in place; the engine saves it after the run.  Never NULL.
	 */
	cJSON *state;
} health_ctx;

/* One component's outcome, filled through the functions below
 * (health_result.c); the engine reads it. */
typedef struct health_result {
	int state;
	int skipped;
	char why[256];		/* health_skip's reason */
	char summary[1024];	/* the reasons, ", " between them */
	char perf[2048];
	cJSON *report;		/* the component's own figures */
	cJSON *figures;		/* textfile gauges */
} health_result;

/*
 * Seconds the component may still spend: the least of cap (its own
 * timeout, health.check_timeout when 0), and what is left before the
 * deadline; at least 0.1 so that a request can still fail cleanly.
 */
double health_time_left(const health_ctx *ctx, double cap);

/*
 * A problem found: the component's state rises to state (never falls), and
 * the reason, one short clause without the component's name ("timed out
 * after 5.0 s", "HTTP 500", "memory 92% of maxmemory"), is added to its
 * summary.  printf-style.
 */
void health_raise(health_result *r, int state, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * One perfdata item 'label'=value[uom];warn;crit;min;max (NAN leaves a
 * field empty; uom "s", "%", "B", "c" or ""), and the same number in the
 * component's report as label.  Labels: lower case, [a-z0-9_.], the
 * component first ("api_time", "disk_root_used_pct").
 */
void health_perf(health_result *r, const char *label, double value, const char *uom,
		 double warn, double crit, double min, double max);

/* The same for a figure that is bad when low (days left on a certificate,
 * a hit ratio): warn and crit are written as ranges "W:" and "C:". */
void health_perf_low(health_result *r, const char *label, double value, const char *uom,
		     double warn, double crit, double min, double max);

/* The component's report object: add its own figures here (shared
 * vocabulary: *_seconds, *_bytes, *_pct, *_count). */
cJSON *health_report(health_result *r);

/*
 * The component is not configured (why: "health.api_url is not set"):
 * skipped under "all", UNKNOWN when it was named.  Call it first and
 * return OPS_OK.
 */
void health_skip(health_result *r, const char *why);

/* A textfile gauge of the run, named opsctl_health_COMPONENT_WHAT;
 * every name needs a HELP line in lib/run/figures.def. */
void health_figure(health_result *r, const char *name, double value);

/* The worse of two plugin states (CRITICAL > UNKNOWN > WARNING > OK). */
int health_worse(int a, int b);
/* printf at the end of buf's string, never past size. */
void health_append(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

typedef ops_code (*health_fn)(const health_ctx *ctx, health_result *r, ops_error *err);

/* health_http.c */
ops_code health_api(const health_ctx *ctx, health_result *r, ops_error *err);
ops_code health_llm(const health_ctx *ctx, health_result *r, ops_error *err);
/* health_local.c */
ops_code health_redis(const health_ctx *ctx, health_result *r, ops_error *err);
ops_code health_disk(const health_ctx *ctx, health_result *r, ops_error *err);
ops_code health_logs(const health_ctx *ctx, health_result *r, ops_error *err);
/* health_data.c */
ops_code health_db(const health_ctx *ctx, health_result *r, ops_error *err);
ops_code health_vector(const health_ctx *ctx, health_result *r, ops_error *err);
ops_code health_backups(const health_ctx *ctx, health_result *r, ops_error *err);

#endif
