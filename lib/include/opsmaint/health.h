/*
 * The whole system's health (guide 000 section 8.5 health-check.sh, guides
 * 003 and 004 daily_health_check.sh, guide 001's morning checks and
 * `health-check.sh --full`, guide 002's auto_restart_if_needed), as a
 * monitoring check in the monitoring-plugins convention: state 0 OK,
 * 1 WARNING, 2 CRITICAL, 3 UNKNOWN, and one status line
 * "OPSCTL HEALTH STATE - summary" with perfdata
 * 'label'=value[UOM];warn;crit;min;max.
 *
 * Components (each on its own bit):
 *   api      GET health.api_url: status, latency against health.api_warn and
 *            health.api_critical, health.api_expect in the body, and the TLS
 *            certificate's days left against health.cert_warn_days and
 *            health.cert_critical_days.
 *   db       db health (dbmaint.h) of each configured database.
 *   vector   the index present, its manifest checksum (quick check), ntotal
 *            against the source rows, the age of the last rebuild.
 *   llm      one minimal authenticated request to health.llm_url
 *            (OpenAI-compatible or Ollama), latency, error rate.
 *   redis    PING, memory against maxmemory, hit ratio.
 *   disk     free space and inodes of health.disk_paths.
 *   logs     new ERROR/CRITICAL lines in health.log_files since the last run,
 *            the position remembered per file, rotation followed.
 *   backups  the newest good backup's age; WAL archiver failures since the
 *            last run (pg_stat_archiver).
 * full adds the slow checks: a vector search self-test, db bloat.
 *
 * A component whose destination is not configured is skipped when the mask
 * is "all" and UNKNOWN when named alone.  Every check runs within its own
 * timeout and within what is left of health.timeout for the whole run; a
 * component that could not start before that is UNKNOWN, and the others are
 * still reported.  A stalled or flooding endpoint is CRITICAL with the
 * reason.
 *
 * State kept between runs (STATE_DIR/health/state.json, written atomically
 * under a lock): each component's state and how many runs in a row it has
 * been CRITICAL, what was last notified, the log positions, the restarts of
 * the last hour.
 */
#ifndef OPSMAINT_HEALTH_H
#define OPSMAINT_HEALTH_H
#include "opsmaint/api.h"
OPS_API_BEGIN

#include <cjson/cJSON.h>
#include "opsmaint/error.h"
#include "opsmaint/run.h"

enum {
	OPS_HEALTH_API = 1 << 0,
	OPS_HEALTH_DB = 1 << 1,
	OPS_HEALTH_VECTOR = 1 << 2,
	OPS_HEALTH_LLM = 1 << 3,
	OPS_HEALTH_REDIS = 1 << 4,
	OPS_HEALTH_DISK = 1 << 5,
	OPS_HEALTH_LOGS = 1 << 6,
	OPS_HEALTH_BACKUPS = 1 << 7,
	OPS_HEALTH_ALL = 0xff
};

/* The plugin states. */
enum { OPS_HEALTH_OK = 0, OPS_HEALTH_WARNING = 1, OPS_HEALTH_CRITICAL = 2, OPS_HEALTH_UNKNOWN = 3 };

typedef struct ops_health_opts {
	unsigned components;	/* OPS_HEALTH_* bits; OPS_HEALTH_ALL: every configured one */
	int full;		/* --full: the slow checks too */
	/* -n: notify through the alert channels (health.notify_channels) when
	 * the state is not OK, once per problem, and once on recovery. */
	int notify;
} ops_health_opts;

/* "api,db" (and "all") into component bits; OPS_EUSAGE naming an unknown name. */
ops_code ops_health_parse_components(char *const *names, unsigned *mask, ops_error *err);

/*
 * Run the checks.  *report: "state" ("OK" ... "UNKNOWN"), "summary",
 * "perfdata", "components": [{"component", "state", "summary",
 * "duration_seconds", then the component's own figures}], "notification"
 * (what -n did, or null), "restart" (what auto-restart did, or null), and
 * for the runner _state, _summary (the status line) and _perfdata, and
 * _figures.  OPS_OK at OK; at WARNING or CRITICAL OPS_EFAIL carrying the
 * status line; UNKNOWN only when no component could be checked at all
 * (the error says why).  The report is filled in every case.
 */
ops_code ops_health_check(const ops_run *run, const ops_health_opts *o, cJSON **report,
			  ops_error *err);

OPS_API_END
#endif
