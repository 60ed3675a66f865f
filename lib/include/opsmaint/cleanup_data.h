/*
 * Retention on database rows (`cleanup data`): guide 001's Monday clean-up
 * (chat logs older than 90 days, conversations archived after 30 days),
 * guide 004's audit logs older than 90 days and cleanup_expired_cache(), and
 * old search_log rows of guide 003's knowledge hub, on PostgreSQL and SQLite.
 *
 * A rule is one line of text, as cleanup.data_rules lists them:
 *
 *	TABLE:COLUMN:AGE:delete
 *	TABLE:COLUMN:AGE:archive[:PREFIX]
 *	FUNCTION()
 *
 * AGE is a duration (90d); rows whose COLUMN is older than now - AGE go.
 * archive first writes the rows into the backup store (backup.h's store) as
 * CSV under PREFIX (default cleanup/TABLE), one object per batch with a
 * SHA-256 beside it, and deletes them only once that object is durable.
 * FUNCTION() is called (PostgreSQL only) when db.schema has a function of
 * that name taking no argument (guide 004's cleanup_expired_cache()).  A
 * rule whose table or function the database lacks is skipped with a note:
 * one rule set serves every database of a deployment.
 *
 * Rows go in batches of bounded size, each batch its own short transaction
 * under a lock_timeout, so no lock is held for long and other sessions keep
 * writing; the run stops between batches when cancelled (cancel.h).  What a
 * finished batch deleted stays deleted and is counted.
 */
#ifndef OPSMAINT_CLEANUP_DATA_H
#define OPSMAINT_CLEANUP_DATA_H
#include "opsmaint/api.h"
OPS_API_BEGIN

#include <cjson/cJSON.h>
#include "opsmaint/error.h"
#include "opsmaint/run.h"

typedef enum ops_cleanup_data_action {
	OPS_CLEANUP_DATA_DELETE = 1,
	OPS_CLEANUP_DATA_ARCHIVE,
	OPS_CLEANUP_DATA_CALL
} ops_cleanup_data_action;

typedef struct ops_cleanup_data_rule {
	char *text;		/* the rule as written */
	char *table;		/* or the function's name, without "()" */
	char *column;
	long age;		/* seconds */
	ops_cleanup_data_action action;
	char *prefix;		/* archive: store key prefix */
} ops_cleanup_data_rule;

/*
 * Parse rules (NULL-terminated texts).  A malformed rule is code (the
 * caller's: OPS_ECONFIG for configuration, OPS_EUSAGE for a flag)
 * "cleanup rule 'TEXT': WHY".  *out is NULL-terminated; free with
 * ops_cleanup_data_rules_free.
 */
ops_code ops_cleanup_data_rules_parse(char *const *rules, ops_code code,
				      ops_cleanup_data_rule ***out, ops_error *err);
void ops_cleanup_data_rules_free(ops_cleanup_data_rule **rules);

typedef struct ops_cleanup_data_opts {
	char *const *rules;	/* texts; NULL: cleanup.data_rules */
	int rules_from_flag;	/* a bad rule is then OPS_EUSAGE, else OPS_ECONFIG */
	long batch;		/* rows per batch; 0: cleanup.data_batch */
	int s3;			/* archive into the S3 store rather than the local one */
} ops_cleanup_data_opts;

/*
 * Apply every rule to the database target (db.h's targets).  Deleting is
 * destructive work: the maintenance window and the question (ops_run_permit)
 * unless run->force.  With run->dry_run the rows each rule would remove are
 * counted, nothing is changed, and the report says whether the window would
 * let the real run through.  The report: "database", "rules" (each with
 * rule, table, action, status ok|skipped|failed, rows_deleted,
 * rows_archived, batches, archives, and note or error), and _figures
 * (opsctl_cleanup_data_rows_deleted, _rows_archived, _rules_skipped,
 * _rules_failed).  A rule that fails does not stop the next ones; the run
 * then fails naming the first.
 */
ops_code ops_cleanup_data(const ops_run *run, const char *target,
			  const ops_cleanup_data_opts *o, cJSON **report, ops_error *err);

OPS_API_END
#endif
