/*
 * A task run: the bookkeeping every run that changes something shares.  begin
 * takes the task's lock (a second run gets OPS_ELOCKED naming the holder);
 * finish appends the journal line, refreshes the Prometheus textfile and
 * releases the lock.  Paths come from the configuration: general.state_dir
 * (journal.jsonl, metrics.json, locks/) and general.metrics_file (default
 * STATE_DIR/opsctl.prom).
 */
#ifndef OPSMAINT_TASK_H
#define OPSMAINT_TASK_H
#include "opsmaint/api.h"
OPS_API_BEGIN

#include <cjson/cJSON.h>
#include "opsmaint/config.h"
#include "opsmaint/error.h"

typedef struct ops_task ops_task;

/* What a run is, for its lock, journal line and metrics. */
typedef struct ops_task_spec {
	const char *name;	/* "vector rebuild": journal command; metric task "vector_rebuild" */
	const char *lock;	/* lock to take ("vector_index": rebuild, optimize and purge
				 * exclude each other); NULL: the name's */
	const char *target;	/* what the run works on: a database, an index path, a store;
				 * its own metric series and lock; NULL or "" for none */
	char *const *targets;	/* a run over several databases: one lock each (NULL-
				 * terminated; NULL: target's); target names the series */
	int no_lock;		/* read-only runs (db health from a monitoring system
				 * every minute) are recorded but never exclude each other */
} ops_task_spec;

ops_code ops_task_begin(const ops_config *cfg, const ops_task_spec *spec, ops_task **out,
			ops_error *err);

/*
 * Record the outcome and free the task.  figures (may be NULL) go into the
 * journal line; its members named opsctl_* that are numbers, or labelled
 * numbers {"LABEL": {"VALUE": n}} (see metrics.h), also become gauges in the
 * textfile.  Returns the first bookkeeping failure (the run's own status is
 * not changed by it; the caller decides how to report both).
 */
ops_code ops_task_finish(ops_task *task, int argc, char *const *argv,
			 ops_code status, int exit_status, const char *error,
			 const cJSON *figures, ops_error *err);

/*
 * Add figures to into, as a run over several targets reports them: numbers
 * summed by name, labelled numbers ({"LABEL": {"VALUE": n}}) by name and
 * value; other members left out.  -1 when out of memory (into is then
 * partly added to).
 */
int ops_task_figures_add(cJSON *into, const cJSON *figures);

/*
 * The run is a check that ran and found something (a monitoring plugin's
 * WARNING or CRITICAL: outcome "warning" or "critical"): finish records it
 * under that status instead of "failed", as a success for the textfile (its
 * figures were measured now, so they are not stale), with its exit status
 * and error as given.
 */
void ops_task_set_outcome(ops_task *task, const char *outcome);

/* Release without recording (dry runs); NULL accepted. */
void ops_task_abandon(ops_task *task);

OPS_API_END
#endif
