/*
 * The Prometheus textfile that lets monitoring alert on a task that did not
 * run.  Per-task state is kept in STATE_DIR/metrics.json and the whole
 * textfile is regenerated from it after every run, written atomically (temp,
 * fsync, rename), so node_exporter never reads half a file and tasks never
 * overwrite each other's series.
 *
 * Series, labelled {task="db_maintain",target="chatbot_db"} (command words
 * joined by '_'; target only when the run has one), one set per task and
 * target, so an ad-hoc run against another database or index never
 * overwrites the series of the configured one:
 *   opsctl_last_run_timestamp_seconds      start of the last run
 *   opsctl_last_success_timestamp_seconds  start of the last successful run
 *   opsctl_last_duration_seconds           duration of the last run
 *   opsctl_last_exit_status                exit status of the last run
 * plus any task gauges given (name -> value), written as
 *   NAME{task="...",target="..."} VALUE
 * and labelled gauges (name -> {"LABEL": {"VALUE": number, ...}}), figures
 * counted per item of a run (a retention rule, a credential), written as
 *   NAME{task="...",target="...",LABEL="VALUE"} number
 * each family with the HELP that lib/run/figures.def gives its name (a
 * generic one for a name it lacks).
 * `promtool check metrics` accepts the file.
 */
#ifndef OPSMAINT_METRICS_H
#define OPSMAINT_METRICS_H
#include "opsmaint/api.h"
OPS_API_BEGIN

#include <time.h>
#include <cjson/cJSON.h>
#include "opsmaint/error.h"

typedef struct ops_task_result {
	const char *task;	/* [a-zA-Z_][a-zA-Z0-9_]* after '-'/' ' become '_' */
	const char *target;	/* any text; NULL or "" for none */
	double start;		/* unix seconds */
	double duration;	/* seconds */
	int success;
	int exit_status;
	/* object of metric-name -> number, or -> {"LABEL": {"VALUE": number}};
	 * names and LABEL must match [a-zA-Z_][a-zA-Z0-9_]* (promtool's lint
	 * refuses ':'; such names are skipped with a warning); LABEL may not be
	 * task, target or start with "__"; may be NULL */
	const cJSON *gauges;
} ops_task_result;

/*
 * Record result in state_path (JSON) and regenerate prom_path from it.  Both
 * written atomically; a lock on state_path + ".lock" serialises concurrent
 * runs of different tasks.
 */
ops_code ops_metrics_record(const char *state_path, const char *prom_path,
			    const ops_task_result *result, ops_error *err);

OPS_API_END
#endif
