/*
 * `opsctl db`: the front end of lib/dbmaint.  Each subcommand is a table row
 * and a few lines that turn parsed options into a library call; running over
 * several databases, the task lock, journal and JSON/text output are shared
 * by all of them in run_per_database().  No SQL lives here.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "opsmaint/dbmaint.h"
#include "opsmaint/journal.h"
#include "opsmaint/log.h"
#include "prompt.h"
#include "opsmaint/task.h"

#define OPT_DATABASE \
	{"database", 'd', CLI_STRING, "NAME", "from config", NULL, 0, 0, CLI_C_DATABASE, \
	 "database name, postgresql:// URI, sqlite:PATH or FILE.db; a comma list runs each in turn"}
#define OPT_VERBOSE \
	{"verbose", 'v', CLI_FLAG, NULL, NULL, NULL, 0, 0, CLI_C_NONE, \
	 "enable verbose output: the server's own progress messages"}
#define OPT_DRY_RUN \
	{"dry-run", 0, CLI_FLAG, NULL, NULL, NULL, 0, 0, CLI_C_NONE, \
	 "show what would be done and change nothing"}
#define OPT_FORCE \
	{"force", 'f', CLI_FLAG, NULL, NULL, NULL, 0, 0, CLI_C_NONE, \
	 "run outside the maintenance window and without confirmation"}
#define OPT_TABLES(what) \
	{"table", 0, CLI_LIST, "TABLE", NULL, NULL, 0, 0, CLI_C_NONE, \
	 what " only TABLE (schema.table allowed); repeat or comma-separate for several"}
#define OPT_LIMIT \
	{"limit", 0, CLI_INT, "N", "10", NULL, 1, 1000, CLI_C_NONE, "show the top N"}

/* One database's work: fill *report (may stay NULL) and return a code. */
typedef ops_code (*db_op)(struct cli_inv *inv, const ops_dbm_ctx *ctx,
			  const char *target, cJSON **report, ops_error *err);

static int run_per_database(struct cli_inv *inv, db_op op)
{
	ops_dbm_ctx ctx = {0};
	ops_run run;
	ops_task *task = NULL;
	ops_error err, first_err;
	char **targets = NULL;
	cJSON *all = NULL, *list, *figures = NULL;
	ops_code rc, worst = OPS_OK;
	int dry = cli_has_opt(inv, "dry-run") && cli_flag(inv, "dry-run");
	/* Listing sessions or reading statistics changes nothing; only
	 * --terminate and --reset make those commands a run to record. */
	int changes = (inv->cmd->flags & CLI_CHANGES) && !dry &&
		      !(cli_has_opt(inv, "terminate") && !cli_flag(inv, "terminate")) &&
		      !(cli_has_opt(inv, "reset") && !cli_flag(inv, "reset"));
	int status = 0, nfailed = 0;
	size_t i;

	ops_error_clear(&first_err);
	ops_run_init(&run, inv->cfg);
	ctx.run = &run;
	run.verbose = cli_has_opt(inv, "verbose") && cli_flag(inv, "verbose");
	run.force = cli_has_opt(inv, "force") && cli_flag(inv, "force");
	run.dry_run = dry;
	if (run.verbose)
		ops_log_set_level(OPS_LOG_INFO);
	if (ops_is_interactive())
		run.confirm = cli_ask;

	rc = ops_db_targets(inv->cfg, cli_str(inv, "database"), &targets, &err);
	if (rc != OPS_OK)
		return cli_error(inv, &err);
	if (changes && ops_task_begin(inv->cfg, inv->path + 7, &task, &err) != OPS_OK) {
		ops_strv_free(targets);
		return cli_error(inv, &err);
	}
	all = cJSON_CreateObject();
	list = cJSON_AddArrayToObject(all, "databases");
	cJSON_AddStringToObject(all, "command", inv->path + 7);
	if (!list) {
		ops_error_oom(&err);
		status = cli_error(inv, &err);
		goto out;
	}

	for (i = 0; targets[i]; i++) {
		cJSON *report = NULL;
		int nothing_done;

		if (ops_cancelled()) {	/* interrupted: the next databases are not started */
			int said = rc == OPS_EINTR;	/* by the last database's line */

			worst = rc = ops_cancel_check(&err);
			first_err = err;
			if (!said)
				cli_error(inv, &err);
			break;
		}
		ops_error_clear(&err);
		rc = op(inv, &ctx, targets[i], &report, &err);
		if (rc != OPS_OK && ops_cancelled())
			rc = ops_cancel_check(&err);
		nothing_done = report == NULL;	/* the error line says it all */
		if (!report) {
			char *shown = ops_redact_arg(NULL, targets[i]);

			report = cJSON_CreateObject();
			cJSON_AddStringToObject(report, "database", shown ? shown : "");
			free(shown);
		}
		/* One "status" per database, the run's own: never a duplicate key. */
		cJSON_DeleteItemFromObjectCaseSensitive(report, "status");
		cJSON_AddStringToObject(report, "status", rc == OPS_OK ? "ok" : "failed");
		if (rc != OPS_OK) {
			cJSON_AddStringToObject(report, "error", err.message);
			nfailed++;
			if (worst == OPS_OK) {
				worst = rc;
				first_err = err;
			}
		}
		if (inv->out == OPS_OUT_TEXT && !nothing_done) {
			if (i > 0 && !inv->quiet)
				fputc('\n', stdout);
			if (cli_emit(inv, report) != 0)
				status = ops_code_exit_status(OPS_EIO);
		}
		/* Each failing database gets its own line, in order, as it happens. */
		if (rc != OPS_OK) {
			fflush(stdout);
			cli_error(inv, &err);
		}
		cJSON_AddItemToArray(list, report);
	}
	cJSON_AddStringToObject(all, "status", worst == OPS_OK ? "ok" : "failed");
	/* Keep "command" and "status" first for people reading the JSON. */
	cJSON_DetachItemViaPointer(all, list);
	cJSON_AddItemToObject(all, "databases", list);
	if (inv->out == OPS_OUT_JSON && cli_emit(inv, all) != 0)
		status = ops_code_exit_status(OPS_EIO);
	if (worst != OPS_OK)
		status = ops_code_exit_status(worst);

out:
	if (task) {
		figures = cJSON_CreateObject();
		cJSON_AddNumberToObject(figures, "databases", (double)ops_strv_len(targets));
		cJSON_AddNumberToObject(figures, "failed", nfailed);
		status = cli_finish_task(inv, task, worst, status,
					 worst == OPS_OK ? NULL : first_err.message, figures);
	}
	cJSON_Delete(figures);
	cJSON_Delete(all);
	ops_strv_free(targets);
	return status;
}

/* ---- the subcommands ---- */

static ops_code op_maintain(struct cli_inv *inv, const ops_dbm_ctx *ctx,
			    const char *target, cJSON **report, ops_error *err)
{
	unsigned tasks = OPS_TASK_ALL;
	char **list = cli_list(inv, "tasks");
	size_t i;

	if (list) {
		tasks = 0;
		for (i = 0; list[i]; i++) {
			unsigned t = 0;
			ops_code rc = ops_dbm_parse_tasks(list[i], &t, err);

			if (rc != OPS_OK)
				return rc;
			tasks |= t;
		}
	}
	return ops_dbm_maintain(ctx, target, tasks, report, err);
}

static ops_code op_vacuum(struct cli_inv *inv, const ops_dbm_ctx *ctx,
			  const char *target, cJSON **report, ops_error *err)
{
	ops_vacuum_opts o = {0};

	o.full = cli_flag(inv, "full");
	o.analyze = !cli_flag(inv, "no-analyze");
	o.jobs = (int)cli_num(inv, "jobs");
	o.tables = cli_list(inv, "table");
	return ops_dbm_vacuum(ctx, target, &o, report, err);
}

static ops_code op_analyze(struct cli_inv *inv, const ops_dbm_ctx *ctx,
			   const char *target, cJSON **report, ops_error *err)
{
	return ops_dbm_analyze(ctx, target, cli_list(inv, "table"), report, err);
}

static ops_code op_reindex(struct cli_inv *inv, const ops_dbm_ctx *ctx,
			   const char *target, cJSON **report, ops_error *err)
{
	ops_reindex_opts o = {0};

	o.tables = cli_list(inv, "table");
	o.database = cli_flag(inv, "all");
	o.concurrently = cli_flag(inv, "concurrently");
	if (o.tables && o.database)
		return ops_error_set(err, OPS_EUSAGE, "--table and --all cannot be used together");
	return ops_dbm_reindex(ctx, target, &o, report, err);
}

static ops_code op_connections(struct cli_inv *inv, const ops_dbm_ctx *ctx,
			       const char *target, cJSON **report, ops_error *err)
{
	long idle = cli_get(inv, "idle-for")->set
		? cli_num(inv, "idle-for")
		: ops_config_int(inv->cfg, "db.idle_timeout");

	return ops_dbm_connections(ctx, target, idle, cli_flag(inv, "terminate"),
				   report, err);
}

static ops_code op_bloat(struct cli_inv *inv, const ops_dbm_ctx *ctx,
			 const char *target, cJSON **report, ops_error *err)
{
	return ops_dbm_bloat(ctx, target, (int)cli_num(inv, "limit"), report, err);
}

static ops_code op_slow_queries(struct cli_inv *inv, const ops_dbm_ctx *ctx,
				const char *target, cJSON **report, ops_error *err)
{
	return ops_dbm_slow_queries(ctx, target, (int)cli_num(inv, "limit"),
				    cli_flag(inv, "reset"), report, err);
}

static ops_code op_config(struct cli_inv *inv, const ops_dbm_ctx *ctx,
			  const char *target, cJSON **report, ops_error *err)
{
	return ops_dbm_config_review(ctx, target, report, err);
}

static ops_code op_health(struct cli_inv *inv, const ops_dbm_ctx *ctx,
			  const char *target, cJSON **report, ops_error *err)
{
	const cJSON *c;
	char failing[400] = "";
	size_t used = 0;
	int level = 0;
	ops_code rc = ops_dbm_health(ctx, target, &level, report, err);

	if (rc != OPS_OK || level == 0)
		return rc;
	/* Name every check at or above warning in the one error line. */
	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(*report, "checks")) {
		const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "check"));
		const char *st = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "status"));
		int w;

		if (!name || !st || strcmp(st, "ok") == 0)
			continue;
		w = snprintf(failing + used, sizeof failing - used, "%s%s (%s)",
			     used ? ", " : "", name, st);
		if (w < 0 || (size_t)w >= sizeof failing - used)
			break;
		used += (size_t)w;
	}
	return ops_error_set(err, OPS_EFAIL, "database '%s' is %s: %s",
			     target, level >= 2 ? "critical" : "degraded", failing);
}

static ops_code op_size(struct cli_inv *inv, const ops_dbm_ctx *ctx,
			const char *target, cJSON **report, ops_error *err)
{
	return ops_dbm_size(ctx, target, report, err);
}

static ops_code op_integrity(struct cli_inv *inv, const ops_dbm_ctx *ctx,
			     const char *target, cJSON **report, ops_error *err)
{
	return ops_dbm_integrity(ctx, target, report, err);
}

static ops_code op_content_check(struct cli_inv *inv, const ops_dbm_ctx *ctx,
				 const char *target, cJSON **report, ops_error *err)
{
	return ops_dbm_content_check(ctx, target, cli_str(inv, "table"),
				     cli_str(inv, "column"), report, err);
}

static ops_code op_migrate(struct cli_inv *inv, const ops_dbm_ctx *ctx,
			   const char *target, cJSON **report, ops_error *err)
{
	return ops_dbm_migrate(ctx, target, inv->args[0], cli_str(inv, "dir"),
			       report, err);
}

#define RUNNER(name) \
	static int run_##name(struct cli_inv *inv) { return run_per_database(inv, op_##name); }
RUNNER(maintain)
RUNNER(vacuum)
RUNNER(analyze)
RUNNER(reindex)
RUNNER(connections)
RUNNER(bloat)
RUNNER(slow_queries)
RUNNER(config)
RUNNER(health)
RUNNER(size)
RUNNER(integrity)
RUNNER(content_check)
RUNNER(migrate)

/* ---- the tables ---- */

static const struct cli_opt maintain_opts[] = {
	{"tasks", 't', CLI_ENUMLIST, "TASKS", "all", "vacuum,analyze,reindex,all", 0, 0,
	 CLI_C_VALUES, "comma-separated list of tasks: vacuum,analyze,reindex,all"},
	OPT_DATABASE,
	OPT_VERBOSE,
	OPT_DRY_RUN,
	{0}
};

static const struct cli_opt vacuum_opts[] = {
	OPT_DATABASE,
	{"full", 0, CLI_FLAG, NULL, NULL, NULL, 0, 0, CLI_C_NONE,
	 "VACUUM FULL: rewrite tables to return space to the system (maintenance window only)"},
	OPT_FORCE,
	{"jobs", 'j', CLI_INT, "N", "1", NULL, 1, 64, CLI_C_NONE,
	 "vacuum N tables at once on N connections, like vacuumdb --jobs"},
	OPT_TABLES("vacuum"),
	{"no-analyze", 0, CLI_FLAG, NULL, NULL, NULL, 0, 0, CLI_C_NONE,
	 "do not update planner statistics (plain VACUUM)"},
	OPT_VERBOSE,
	OPT_DRY_RUN,
	{0}
};

static const struct cli_opt analyze_opts[] = {
	OPT_DATABASE,
	OPT_TABLES("analyze"),
	OPT_VERBOSE,
	{0}
};

static const struct cli_opt reindex_opts[] = {
	OPT_DATABASE,
	OPT_TABLES("reindex"),
	{"all", 0, CLI_FLAG, NULL, NULL, NULL, 0, 0, CLI_C_NONE,
	 "REINDEX DATABASE: every index of the database"},
	{"concurrently", 0, CLI_FLAG, NULL, NULL, NULL, 0, 0, CLI_C_NONE,
	 "rebuild without blocking writes (PostgreSQL 12 and later)"},
	OPT_VERBOSE,
	{0}
};

static const struct cli_opt connections_opts[] = {
	OPT_DATABASE,
	{"idle-for", 0, CLI_DURATION, "DURATION", "1h", NULL, 0, 0, CLI_C_NONE,
	 "list sessions idle longer than DURATION (90s, 15m, 1h; default db.idle_timeout)"},
	{"terminate", 0, CLI_FLAG, NULL, NULL, NULL, 0, 0, CLI_C_NONE,
	 "terminate the sessions listed (never opsctl's own; maintenance window only)"},
	OPT_FORCE,
	OPT_VERBOSE,
	{0}
};

static const struct cli_opt bloat_opts[] = { OPT_DATABASE, OPT_LIMIT, {0} };

static const struct cli_opt slow_opts[] = {
	OPT_DATABASE,
	OPT_LIMIT,
	{"reset", 0, CLI_FLAG, NULL, NULL, NULL, 0, 0, CLI_C_NONE,
	 "reset pg_stat_statements after reading, to start the next review period"},
	{0}
};

static const struct cli_opt database_only_opts[] = { OPT_DATABASE, {0} };

static const struct cli_opt integrity_opts[] = { OPT_DATABASE, OPT_VERBOSE, {0} };

static const struct cli_opt content_opts[] = {
	OPT_DATABASE,
	{"table", 0, CLI_STRING, "TABLE", "content", NULL, 0, 0, CLI_C_NONE,
	 "table to check (default db.content_table)"},
	{"column", 0, CLI_STRING, "COLUMN", "content", NULL, 0, 0, CLI_C_NONE,
	 "column to check for empty and duplicate values (default db.content_column)"},
	{0}
};

static const struct cli_opt migrate_opts[] = {
	OPT_DATABASE,
	{"dir", 0, CLI_STRING, "DIR", "db.migrations_dir", NULL, 0, 0, CLI_C_DIR,
	 "directory holding vVERSION/*.sql"},
	OPT_DRY_RUN,
	OPT_VERBOSE,
	{0}
};

const struct cli_cmd cli_db_subs[] = {
	{"maintain", "run routine maintenance tasks (db-maintenance.sh)", NULL, 0, 0, CLI_C_NONE,
	 maintain_opts, NULL, NULL, run_maintain, CLI_CHANGES,
	 "Performs routine database maintenance, as db-maintenance.sh does (guide 000 section 8.1): "
	 "the chosen tasks in the order vacuum, analyze, reindex, on each database in turn, "
	 "continuing past a failed task and exiting 1 if any failed.\n\n"
	 "On PostgreSQL, vacuum is VACUUM (ANALYZE when analyze is not also chosen), analyze is "
	 "ANALYZE, and reindex rebuilds the indexes of db.reindex_tables (documents, "
	 "document_chunks and queries by default; tables that do not exist are skipped).\n\n"
	 "On SQLite (guide 003), a consistent copy of the file is first written with SQLite's "
	 "online backup API into db.backup_dir, and nothing else happens if that fails; then "
	 "PRAGMA integrity_check (a corrupt file stops the run with exit 65 and is left "
	 "untouched), VACUUM, ANALYZE and PRAGMA optimize, REINDEX, and the file size and row "
	 "count of every table. Copies older than db.backup_retention (30 days) are removed.",
	 "Weekly maintenance of every configured database\nopsctl db maintain\n"
	 "Only vacuum and analyze one database, verbosely\nopsctl db maintain -t vacuum,analyze -d chatbot_db -v\n"
	 "Guide 004's five databases\nopsctl db maintain -d error_reporting_db,user_management_db,verification_db,correction_engine_db,rag_integration_db\n"
	 "The knowledge hub's SQLite file\nopsctl db maintain -d sqlite:ai_knowledge_hub/knowledge_hub.db"},
	{"vacuum", "VACUUM ANALYZE; VACUUM FULL inside the window", NULL, 0, 0, CLI_C_NONE,
	 vacuum_opts, NULL, NULL, run_vacuum, CLI_CHANGES,
	 "Runs VACUUM (ANALYZE) to reclaim storage and update statistics (guide 000 section 2.1). "
	 "With --jobs N, tables are vacuumed N at a time on N connections, largest first, as "
	 "vacuumdb --jobs does. --full rewrites each table (VACUUM FULL, guide 000 section 2.2), "
	 "which locks it exclusively: it runs only inside the environment's maintenance window "
	 "unless --force is given, and asks first on a terminal. On SQLite, VACUUM rebuilds the "
	 "whole file.", "Reclaim space in one bloated table during the window\nopsctl db vacuum --full --table documents"},
	{"analyze", "update planner statistics (ANALYZE VERBOSE with -v)", NULL, 0, 0, CLI_C_NONE,
	 analyze_opts, NULL, NULL, run_analyze, CLI_CHANGES,
	 "Runs ANALYZE on the database or the given tables (guide 000 section 2.2: ANALYZE "
	 "VERBOSE monthly); with -v the server's progress messages are shown. On SQLite, ANALYZE "
	 "is followed by PRAGMA optimize.", NULL},
	{"reindex", "rebuild indexes of the key tables or the whole database", NULL, 0, 0, CLI_C_NONE,
	 reindex_opts, NULL, NULL, run_reindex, CLI_CHANGES,
	 "Rebuilds the indexes of db.reindex_tables (guide 000 section 2.1: documents, "
	 "document_chunks, queries) or of the given tables; --all runs REINDEX DATABASE (guide 001). "
	 "--concurrently avoids blocking writes where the server supports it (PostgreSQL 12 and "
	 "later); REINDEX DATABASE CONCURRENTLY skips the system catalogs.", NULL},
	{"connections", "list idle sessions; terminate them with --terminate", NULL, 0, 0, CLI_C_NONE,
	 connections_opts, NULL, NULL, run_connections, CLI_CHANGES,
	 "Lists sessions that have been idle longer than --idle-for (guide 000 section 2.1: one "
	 "hour) and, with --terminate, ends them with pg_terminate_backend. opsctl's own session "
	 "is never terminated. Terminating respects the maintenance window unless --force is given. "
	 "PostgreSQL only.", NULL},
	{"bloat", "largest tables: table, index and dead-tuple share", NULL, 0, 0, CLI_C_NONE,
	 bloat_opts, NULL, NULL, run_bloat, 0,
	 "Shows the top tables by total size with their table, index and TOAST sizes and the "
	 "share of dead tuples (guide 000 section 2.2), the tables where VACUUM FULL would help. "
	 "PostgreSQL only.", NULL},
	{"slow-queries", "top queries by mean time from pg_stat_statements", NULL, 0, 0, CLI_C_NONE,
	 slow_opts, NULL, NULL, run_slow_queries, CLI_CHANGES,
	 "Shows the queries with the highest mean execution time from pg_stat_statements "
	 "(guide 000 section 2.2, guide 001 query optimization), on servers that name the columns "
	 "total_time or total_exec_time; --reset clears the statistics after reading. The "
	 "extension must be preloaded and created in the database. PostgreSQL only.", NULL},
	{"config", "review memory and connection settings", NULL, 0, 0, CLI_C_NONE,
	 database_only_opts, NULL, NULL, run_config, 0,
	 "Shows shared_buffers, work_mem, maintenance_work_mem, effective_cache_size and "
	 "max_connections (guide 000 section 2.3) beside recommendations for this machine's "
	 "memory. PostgreSQL only.", NULL},
	{"health", "connections, long queries, replication lag, dead tuples, locks, wraparound", NULL, 0, 0, CLI_C_NONE,
	 database_only_opts, NULL, NULL, run_health, 0,
	 "Checks the database against the [health] thresholds (guide 001 Database Health): "
	 "active connections below 80% of max_connections, no query running longer than 5 "
	 "seconds, replication lag under 1 second, the share of dead tuples, sessions waiting on "
	 "locks, and transaction-ID wraparound age. Exits 1 when any check is at warning or "
	 "critical. On SQLite: a quick integrity check and the share of free pages.",
	 "A monitoring check with machine-readable output\nopsctl --output json db health -d chatbot_db"},
	{"size", "database size and rows per table", NULL, 0, 0, CLI_C_NONE,
	 database_only_opts, NULL, NULL, run_size, 0,
	 "Shows the database size (guide 004) and the row count and size of every table; on "
	 "PostgreSQL large tables show the planner's estimate rather than a full count.", NULL},
	{"integrity", "SQLite integrity_check, PostgreSQL amcheck", NULL, 0, 0, CLI_C_NONE,
	 integrity_opts, NULL, NULL, run_integrity, 0,
	 "On SQLite runs PRAGMA integrity_check (guide 003 daily check). On PostgreSQL checks "
	 "every B-tree index with amcheck's bt_index_check, which needs CREATE EXTENSION amcheck. "
	 "Corruption found exits 65.", NULL},
	{"content-check", "find empty and duplicate content rows", NULL, 0, 0, CLI_C_NONE,
	 content_opts, NULL, NULL, run_content_check, 0,
	 "Counts rows whose content is empty (NULL, empty or only white space) and rows that "
	 "duplicate another row's content (guide 003 monthly content quality check), and shows "
	 "the most duplicated values. Exits 1 when any are found.", NULL},
	{"migrate", "apply schema migrations for VERSION (migrate_schema.sh)", "VERSION", 1, 1, CLI_C_NONE,
	 migrate_opts, NULL, NULL, run_migrate, CLI_CHANGES,
	 "Applies DIR/vVERSION/*.sql in name order (guide 004 migrate_schema.sh), each file in "
	 "its own transaction, recording every applied file and its SHA-256 in the table "
	 "opsctl_schema_migrations so that a re-run applies nothing twice. A failing file is "
	 "rolled back and stops the run (exit 1); a file changed since it was applied stops it "
	 "with exit 65, and so does a file whose own COMMIT or ROLLBACK ends opsctl's "
	 "transaction. Take a backup first, "
	 "as the guide does.", "Apply version 2.1's migrations\nopsctl db migrate 2.1 --dir /opt/rag-interface/deployment/database/migrations"},
	{0}
};

const char cli_db_description[] =
	"Database maintenance as the operations guides describe it: weekly VACUUM ANALYZE and "
	"reindexing, monthly statistics, bloat and slow-query reviews, quarterly configuration "
	"review, daily health checks, content quality checks and schema migrations.\n\n"
	"A database is named by -d: a PostgreSQL database name (host, port and user from "
	"the configuration, DB_HOST/DB_USERNAME or libpq's PG* variables), a postgresql:// URI, "
	"sqlite:PATH, or a path ending in .db. Without -d, the databases listed in db.databases "
	"are used, else db.name. The same command works on both engines where the operation "
	"exists on both; otherwise it says so.\n\n"
	"Passwords are never taken from the command line: libpq reads them from ~/.pgpass, the "
	"service file or PGPASSWORD. Every PostgreSQL session first empties search_path, as "
	"pg_dump and vacuumdb do, and table names are looked up as names, never run as SQL.";
