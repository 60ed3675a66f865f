/*
 * The journal: one JSON line per run that changes something, appended to
 * STATE_DIR/journal.jsonl with a single write(2) on an O_APPEND descriptor and
 * fsynced, so concurrent runs never interleave half lines.  Arguments are
 * redacted before they are written: secrets never reach the journal.
 *
 * Line members: "time" (RFC 3339 UTC start), "command", "target" (when
 * there is one: a database, an index path, a store), "args" (array),
 * "environment", "host", "pid", "duration_seconds", "status" ("ok", "failed",
 * or "interrupted" by a signal),
 * "exit", "error" (message, when failed), "figures" (object).
 */
#ifndef OPSMAINT_JOURNAL_H
#define OPSMAINT_JOURNAL_H
#include "opsmaint/api.h"
OPS_API_BEGIN

#include <time.h>
#include <cjson/cJSON.h>
#include "opsmaint/error.h"

typedef struct ops_journal_entry {
	const char *command;		/* "db maintain" */
	const char *target;		/* what it worked on; NULL or "" for none */
	int argc;
	char *const *argv;		/* as given; redacted when written */
	const char *environment;	/* "prod" */
	struct timespec start;		/* CLOCK_REALTIME at start */
	double duration;		/* seconds */
	ops_code status;
	int exit_status;
	const char *error;		/* message when status != OPS_OK, or NULL */
	const char *outcome;		/* a check that ran and found something: "warning",
					 * "critical", the status written instead of "failed" */
	const cJSON *figures;		/* may be NULL */
} ops_journal_entry;

/* Append one line to path (created 0640 with parents if missing). */
ops_code ops_journal_append(const char *path, const ops_journal_entry *run, ops_error *err);

/*
 * Return a newly allocated copy of one argument with secrets masked:
 * "postgresql://u:pw@h/db" -> "postgresql://u:***@h/db"; "--password=x",
 * "password=x" (conninfo), "--token x" style values given as prev_arg/arg pairs
 * ("--password" then "x" -> "***").  prev may be NULL.
 */
char *ops_redact_arg(const char *prev, const char *arg);

/* The last run of one task on one target, as `opsctl status` shows it. */
typedef struct ops_journal_last {
	char *command;		/* "db maintain" */
	char *target;		/* "" for none */
	char *time;		/* the last run's "time" (RFC 3339 UTC) */
	char *status;		/* "ok", "warning", "critical", "failed", "interrupted" */
	int exit_status;
	double duration;	/* seconds */
	char *error;		/* the last run's error; NULL when it succeeded */
	char *last_success;	/* time of the newest run that did its work ("ok", or a
				 * check's "warning"/"critical"); NULL if none */
	long runs;		/* lines read for this task and target */
} ops_journal_last;

/*
 * Read the journal at path line by line (memory grows with the number of
 * task and target pairs, never with the journal's length) and return one
 * entry per pair, in the order each pair first appears, in *out (*n of them;
 * free with ops_journal_last_free).  A line that is not a journal object (a
 * torn write, an editor's stray line) is skipped and counted in *skipped.  A
 * missing journal is no runs: OPS_OK with *n = 0.  Unreadable: OPS_EPERM or
 * OPS_EIO naming the path.
 */
ops_code ops_journal_last_runs(const char *path, ops_journal_last **out, size_t *n,
			       size_t *skipped, ops_error *err);
void ops_journal_last_free(ops_journal_last *v, size_t n);

/*
 * The reader both of the above and `opsctl report` share: call fn with each
 * line of the journal at path that is a journal object (with string
 * "command", "time" and "status"), in file order, one line in memory at a
 * time; other lines are skipped and counted in *skipped.  fn returning
 * anything but OPS_OK stops the reading with that code.  A missing journal
 * is no lines (OPS_OK); unreadable: OPS_EPERM or OPS_EIO naming the path.
 */
typedef ops_code (*ops_journal_fn)(void *arg, const cJSON *line, ops_error *err);
ops_code ops_journal_each(const char *path, ops_journal_fn fn, void *arg, size_t *skipped,
			  ops_error *err);

OPS_API_END
#endif
