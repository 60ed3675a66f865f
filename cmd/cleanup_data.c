/*
 * `opsctl cleanup data`: the front end of lib/cleanup/cleanup_data.c; its
 * row for the `cleanup` group is CLI_CLEANUP_DATA_ROW (cleanup_data.h).
 */
#include "cleanup_data.h"
#include "opsmaint/cleanup_data.h"

ops_code cli_op_cleanup_data(struct cli_inv *inv, const ops_run *run, cJSON **report,
			     ops_error *err)
{
	ops_cleanup_data_opts o = {0};

	o.rules_from_flag = cli_given(inv, "rule");
	o.rules = o.rules_from_flag ? cli_list(inv, "rule") : NULL;
	o.batch = cli_num(inv, "batch-size");
	o.s3 = cli_flag(inv, "s3");
	return ops_cleanup_data(run, inv->target, &o, report, err);
}

const struct cli_opt cli_cleanup_data_opts[] = {
	CLI_OPT_STRING('d', "database", "NAME",
		       "database name, postgresql:// URI, sqlite:PATH or FILE.db; a comma list runs "
		       "each in turn; without it db.databases, else db.name",
		       .complete = CLI_C_DATABASE),
	CLI_OPT_LIST(0, "rule", "RULE",
		     "apply RULE (TABLE:COLUMN:AGE:delete, TABLE:COLUMN:AGE:archive[:PREFIX] or "
		     "FUNCTION()) instead of the configured rules; repeat or comma-separate",
		     .key = "cleanup.data_rules"),
	CLI_OPT_INT('b', "batch-size", "N", 1, 1000000,
		    "rows deleted per transaction: smaller batches hold row locks for less time",
		    .key = "cleanup.data_batch"),
	CLI_OPT_FLAG(0, "s3", "write archived rows to the S3 store rather than the local one"),
	CLI_OPT_DRY_RUN("count the rows each rule would delete or archive, and say whether the "
			"window would let the real run through; change nothing"),
	CLI_OPT_FORCE("run outside the maintenance window too, and without asking"),
	CLI_OPT_YES,
	CLI_OPT_VERBOSE('v'),
	CLI_OPT_END
};

const char cli_cleanup_data_description[] =
	"Applies the retention rules of cleanup.data_rules to each database: guide 001's Monday "
	"clean-up (chat_logs older than 90 days deleted, conversations archived after 30 days), "
	"guide 004's audit logs (error_audit_logs, user_audit_logs older than 90 days) and its "
	"SELECT cleanup_expired_cache(), and guide 003's search_log older than 90 days. A rule is "
	"TABLE:COLUMN:AGE:delete, TABLE:COLUMN:AGE:archive[:PREFIX] or FUNCTION(); --rule replaces "
	"the configured list for one run. A table or function a database lacks is skipped with a "
	"note, so one rule set serves every database of the deployment; a malformed rule stops the "
	"run before anything is touched (exit 78 from the configuration, 64 from --rule).\n\n"
	"Rows go in batches of -b rows (cleanup.data_batch), each batch its own transaction: on "
	"PostgreSQL DELETE ... WHERE ctid = ANY(ARRAY(SELECT ctid ... LIMIT N)) under a "
	"lock_timeout (cleanup.data_lock_timeout), on SQLite by rowid under BEGIN IMMEDIATE, so the "
	"application keeps writing between batches. The cut-off is fixed when a rule starts, so "
	"rows inserted meanwhile never go. SIGINT or SIGTERM stops the run between batches; what "
	"finished batches deleted is reported.\n\n"
	"archive writes each batch's rows, locked, as CSV with a header line (NULL as an empty "
	"field, as PostgreSQL's COPY CSV) into the backup store (backup.dir, or S3 with --s3) as "
	"PREFIX/DATABASE/TIME-TABLE-N.csv with a sha256sum line beside it (.csv.sha256), and "
	"deletes the rows only once both objects are durable; a failed write deletes nothing.\n\n"
	"Deleting is destructive: it runs inside the environment's maintenance window unless -f "
	"and asks on a terminal (--yes answers). --dry-run counts the rows each rule would take "
	"and says whether the window would let the real run through. The report gives each "
	"rule's rows deleted and archived, batches and archive objects; the journal and the "
	"textfile get opsctl_cleanup_data_rows_deleted, opsctl_cleanup_data_rows_archived, "
	"opsctl_cleanup_data_rules_skipped and opsctl_cleanup_data_rules_failed, and per rule "
	"opsctl_cleanup_data_rule_rows_deleted and opsctl_cleanup_data_rule_rows_archived, "
	"labelled rule=\"TABLE\" (or \"FUNCTION()\").";

const char cli_cleanup_data_examples[] =
	"Count what the guides' retention would remove\nopsctl cleanup data --dry-run\n"
	"Monday clean-up (guide 001), from cron\n0 3 * * 1 opsctl cleanup data --force\n"
	"Guide 004's audit logs\nopsctl cleanup data -d error_reporting_db,user_management_db\n"
	"One rule, smaller batches\n"
	"opsctl cleanup data --rule chat_logs:created_at:90d:delete -b 1000";
