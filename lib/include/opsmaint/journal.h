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

OPS_API_END
#endif
