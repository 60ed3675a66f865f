/*
 * Maintenance tiers: guide 003's run_maintenance.sh (`daily`, `weekly`,
 * `monthly`, `quarterly`) and guide 000 section 7's task tables.  A tier is
 * a list of opsctl command lines, from the configuration key run.TIER; each
 * task runs as a child process of the running binary (argv only, no shell),
 * with standard input /dev/null, its output captured, under a time limit.
 * The tier goes on past a failed task and reports every one.
 *
 * Destructive tasks (a vector rebuild, VACUUM FULL, a key rotation...) run
 * only inside the environment's maintenance window, or everywhere with
 * force, which is then passed on to them; outside it they are skipped with
 * the reason and when the window next opens.  The list of what is
 * destructive lives here, once (ops_tier_destructive).
 *
 * What the words of a task mean (which command, which options) is the
 * front end's: it resolves them through a callback, so the library holds no
 * copy of the command table.
 */
#ifndef OPSMAINT_TIER_H
#define OPSMAINT_TIER_H
#include "opsmaint/api.h"
OPS_API_BEGIN

#include <cjson/cJSON.h>
#include "opsmaint/error.h"
#include "opsmaint/run.h"

/* The tiers, in the guides' order: daily, weekly, monthly, quarterly; NULL-terminated. */
extern const char *const ops_tier_names[];

/* One task of a tier: its words as configured. */
typedef struct ops_tier_task {
	char *line;		/* the task as written, blanks normalised */
	char **words;		/* NULL-terminated */
	char command[96];	/* the command path the words name ("vector rebuild"),
				 * filled by the resolver */
} ops_tier_task;

/*
 * Split a run.TIER value into tasks: command lines separated by ';', words
 * separated by blanks, a double-quoted word may hold blanks (inside quotes
 * \" and \\ stand for " and \).  Empty tasks are dropped.  An unterminated
 * quote is OPS_ECONFIG naming key.  *tasks is an array of *n (free with
 * ops_tier_tasks_free).
 */
ops_code ops_tier_parse(const char *key, const char *value, ops_tier_task **tasks, size_t *n,
			ops_error *err);
void ops_tier_tasks_free(ops_tier_task *tasks, size_t n);

/*
 * Why the task needs the maintenance window ("vector rebuild", "db vacuum
 * --full"), or NULL when it may run at any time.  Reads task->command and
 * the words: db vacuum is destructive with --full only, db reindex unless
 * --concurrently, db connections with --terminate only; a task that is a
 * --dry-run never is.
 */
const char *ops_tier_destructive(const ops_tier_task *task);

/*
 * The front end's check of a task's words: fill task->command with the
 * command path they name, or fail with a one-line message naming the word
 * ("unknown command 'vectr' (did you mean 'vector'?)"); the tier prefixes
 * the key and makes it OPS_ECONFIG.
 */
typedef ops_code (*ops_tier_resolve_fn)(void *arg, ops_tier_task *task, ops_error *err);

typedef struct ops_tier_opts {
	const char *tier;		/* one of ops_tier_names */
	ops_tier_resolve_fn resolve;
	void *resolve_arg;
	char *const *pass;		/* options every task gets before its words
					 * (--config FILE, --env ENV, -v); may be NULL */
	const char *self;		/* the binary to run; NULL: this process's own */
	long task_timeout;		/* seconds; 0: run.task_timeout */
} ops_tier_opts;

/*
 * Load run.TIER, resolve every task (a bad one fails the whole tier before
 * anything runs, OPS_ECONFIG naming the key and the word), then run the
 * tasks in order.  *report: tier, window, tasks (each task, command, argv,
 * status ok/failed/timeout/skipped/interrupted/not run, duration_seconds,
 * exit_code, error, output: its last lines), tasks_total, tasks_failed,
 * tasks_skipped, and _figures (opsctl_run_tasks, opsctl_run_tasks_failed,
 * opsctl_run_tasks_skipped).  A dry run (run->dry_run) resolves and plans
 * (status "would run" or "would be skipped") and runs nothing.
 *
 * Returns OPS_OK when no task failed (skipped ones are not failures),
 * OPS_EFAIL "N of M tasks failed: TASK (...)" when some did, OPS_EINTR when
 * the run was cancelled (the running task is stopped, the rest are "not
 * run").
 */
ops_code ops_tier_run(const ops_run *run, const ops_tier_opts *opts, cJSON **report,
		      ops_error *err);

OPS_API_END
#endif
