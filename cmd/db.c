/*
 * `opsctl db`: the front end of lib/dbmaint.  Each subcommand is a table row
 * and a few lines that turn parsed options into a library call; running over
 * the databases of -d, the lock, journal and output are the runner's
 * (runner.c).  No SQL lives here.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "opsmaint/dbmaint.h"
#include "opsmaint/log.h"

#define OPT_DATABASE \
	CLI_OPT_STRING('d', "database", "NAME", \
		       "database name, postgresql:// URI, sqlite:PATH or FILE.db; a comma list runs " \
		       "each in turn; without it db.databases, else db.name", \
		       .complete = CLI_C_DATABASE)
#define OPT_VERBOSE CLI_OPT_VERBOSE('v')
#define OPT_DRY_RUN CLI_OPT_DRY_RUN("show what would be done and change nothing")
#define OPT_FORCE \
	CLI_OPT_FORCE("run outside the maintenance window and without confirmation")
#define OPT_TABLES(what) \
	CLI_OPT_LIST(0, "table", "TABLE", \
		     what " only TABLE (schema.table allowed); repeat or comma-separate for several", \
		     .complete = CLI_C_TABLE)
#define OPT_LIMIT \
	CLI_OPT_INT(0, "limit", "N", 1, 1000, "show the top N", .def = "10")

/* Every op runs once per database of -d (CLI_EACH_DATABASE): inv->target. */
#define DB_CTX(run) { .run = (run) }

static ops_code op_maintain(struct cli_inv *inv, const ops_run *run, cJSON **report,
			    ops_error *err)
{
	ops_dbm_ctx ctx = DB_CTX(run);
	unsigned tasks = 0;
	char **list = cli_list(inv, "tasks");
	size_t i;

	for (i = 0; list && list[i]; i++) {
		unsigned t = 0;
		ops_code rc = ops_dbm_parse_tasks(list[i], &t, err);

		if (rc != OPS_OK)
			return rc;
		tasks |= t;
	}
	return ops_dbm_maintain(&ctx, inv->target, tasks ? tasks : OPS_TASK_ALL, report, err);
}

static ops_code op_vacuum(struct cli_inv *inv, const ops_run *run, cJSON **report,
			  ops_error *err)
{
	ops_dbm_ctx ctx = DB_CTX(run);
	ops_vacuum_opts o = {0};

	o.full = cli_flag(inv, "full");
	o.analyze = !cli_flag(inv, "no-analyze");
	o.jobs = (int)cli_num(inv, "jobs");
	o.skip_locked = cli_flag(inv, "skip-locked");
	o.tables = cli_list(inv, "table");
	return ops_dbm_vacuum(&ctx, inv->target, &o, report, err);
}

static ops_code op_analyze(struct cli_inv *inv, const ops_run *run, cJSON **report,
			   ops_error *err)
{
	ops_dbm_ctx ctx = DB_CTX(run);

	return ops_dbm_analyze(&ctx, inv->target, cli_list(inv, "table"), report, err);
}

static ops_code op_reindex(struct cli_inv *inv, const ops_run *run, cJSON **report,
			   ops_error *err)
{
	ops_dbm_ctx ctx = DB_CTX(run);
	ops_reindex_opts o = {0};

	o.tables = cli_list(inv, "table");
	o.database = cli_flag(inv, "all");
	o.concurrently = cli_flag(inv, "concurrently");
	if (o.tables && o.database)
		return ops_error_set(err, OPS_EUSAGE, "--table and --all cannot be used together");
	return ops_dbm_reindex(&ctx, inv->target, &o, report, err);
}

static ops_code op_connections(struct cli_inv *inv, const ops_run *run, cJSON **report,
			       ops_error *err)
{
	ops_dbm_ctx ctx = DB_CTX(run);

	return ops_dbm_connections(&ctx, inv->target, cli_num(inv, "idle-for"),
				   cli_flag(inv, "terminate"), report, err);
}

static ops_code op_bloat(struct cli_inv *inv, const ops_run *run, cJSON **report,
			 ops_error *err)
{
	ops_dbm_ctx ctx = DB_CTX(run);

	return ops_dbm_bloat(&ctx, inv->target, (int)cli_num(inv, "limit"), report, err);
}

/* A check whose extension is missing ran nothing: say so where cron mail
 * shows it, though the run did not fail. */
static void warn_unavailable(const cJSON *report)
{
	const cJSON *a = report ? cJSON_GetObjectItemCaseSensitive(report, "available") : NULL;

	if (cJSON_IsFalse(a))
		ops_log_warn("%s is not available in database '%s': nothing was checked; "
			     "to enable it: %s",
			     cJSON_GetStringValue(cJSON_GetObjectItem(report, "extension")),
			     cJSON_GetStringValue(cJSON_GetObjectItem(report, "database")),
			     cJSON_GetStringValue(cJSON_GetObjectItem(report, "to_enable")));
}

static ops_code op_slow_queries(struct cli_inv *inv, const ops_run *run, cJSON **report,
				ops_error *err)
{
	ops_dbm_ctx ctx = DB_CTX(run);
	ops_code rc = ops_dbm_slow_queries(&ctx, inv->target, (int)cli_num(inv, "limit"),
					   cli_flag(inv, "reset"), report, err);

	warn_unavailable(*report);
	return rc;
}

static ops_code op_config(struct cli_inv *inv, const ops_run *run, cJSON **report,
			  ops_error *err)
{
	ops_dbm_ctx ctx = DB_CTX(run);
	ops_code rc;

	if (cli_given(inv, "memory") &&
	    (rc = ops_parse_size(cli_str(inv, "memory"), &ctx.memory_bytes, err)) != OPS_OK) {
		ops_error_prefix(err, "--memory");
		return rc;
	}

	return ops_dbm_config_review(&ctx, inv->target, report, err);
}

static ops_code op_health(struct cli_inv *inv, const ops_run *run, cJSON **report,
			  ops_error *err)
{
	ops_dbm_ctx ctx = DB_CTX(run);
	int level = 0;
	ops_code rc = ops_dbm_health(&ctx, inv->target, &level, report, err);
	const char *name;
	char *perf;

	if (rc != OPS_OK || !*report)
		return rc;
	/* The runner speaks the check_* convention from these (CLI_PLUGIN):
	 * a warning is the state of a check that ran, not a failed run. */
	name = cJSON_GetStringValue(cJSON_GetObjectItem(*report, "database"));
	perf = ops_dbm_health_perfdata(*report, name ? name : inv->target);
	if (!perf)
		return ops_error_oom(err);
	cJSON_AddNumberToObject(*report, "_state", level);
	cJSON_AddStringToObject(*report, "_perfdata", perf);
	free(perf);
	if (level > 0) {
		cJSON_AddStringToObject(*report, "_summary", err->message);
		ops_error_clear(err);
	}
	return OPS_OK;
}

/*
 * Figures of a read-only check for the textfile (CLI_RECORD): each report
 * member named in pairs[] (member, gauge, ...) that is a number, or an
 * array (counted), becomes the gauge; the runner sums them over databases.
 */
static void add_figures(cJSON *report, const char *const *pairs)
{
	cJSON *fig;

	if (!report || !(fig = cJSON_AddObjectToObject(report, "_figures")))
		return;
	for (; pairs[0]; pairs += 2) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(report, pairs[0]);

		if (cJSON_IsNumber(v))
			cJSON_AddNumberToObject(fig, pairs[1], v->valuedouble);
		else if (cJSON_IsArray(v))
			cJSON_AddNumberToObject(fig, pairs[1], cJSON_GetArraySize(v));
	}
}

static ops_code op_size(struct cli_inv *inv, const ops_run *run, cJSON **report,
			ops_error *err)
{
	static const char *const figures[] = {"size_bytes", "opsctl_db_size_bytes", NULL};
	ops_dbm_ctx ctx = DB_CTX(run);
	ops_code rc = ops_dbm_size(&ctx, inv->target, report, err);

	if (rc == OPS_OK)
		add_figures(*report, figures);
	return rc;
}

static ops_code op_integrity(struct cli_inv *inv, const ops_run *run, cJSON **report,
			     ops_error *err)
{
	/* PostgreSQL's damaged indexes, SQLite's integrity_check lines. */
	static const char *const figures[] = {"indexes_failed", "opsctl_db_integrity_problems",
					      "problems", "opsctl_db_integrity_problems", NULL};
	ops_dbm_ctx ctx = DB_CTX(run);
	ops_code rc = ops_dbm_integrity(&ctx, inv->target, report, err);

	warn_unavailable(*report);
	/* Damage found (65) is a finding worth its gauge too. */
	if (rc == OPS_OK || rc == OPS_EDATA)
		add_figures(*report, figures);
	return rc;
}

static ops_code op_content_check(struct cli_inv *inv, const ops_run *run, cJSON **report,
				 ops_error *err)
{
	ops_dbm_ctx ctx = DB_CTX(run);

	static const char *const figures[] = {"empty", "opsctl_db_content_empty_rows",
					      "duplicates", "opsctl_db_content_duplicate_rows",
					      NULL};
	ops_code rc;

	/* Only a --table typed here is looked up in every schema. */
	rc = ops_dbm_content_check(&ctx, inv->target,
				   cli_given(inv, "table") ? cli_str(inv, "table") : NULL,
				   cli_str(inv, "column"), report, err);
	add_figures(*report, figures);
	return rc;
}

static ops_code op_migrate(struct cli_inv *inv, const ops_run *run, cJSON **report,
			   ops_error *err)
{
	ops_dbm_ctx ctx = DB_CTX(run);

	return ops_dbm_migrate(&ctx, inv->target, inv->args[0], cli_str(inv, "dir"),
			       report, err);
}

/* ---- the tables ---- */

static const struct cli_opt maintain_opts[] = {
	CLI_OPT_ENUMLIST('t', "tasks", "TASKS", "vacuum,analyze,reindex,all",
			 "comma-separated list of tasks: vacuum,analyze,reindex,all", .def = "all"),
	OPT_DATABASE,
	OPT_VERBOSE,
	OPT_DRY_RUN,
	CLI_OPT_END
};

static const struct cli_opt vacuum_opts[] = {
	OPT_DATABASE,
	CLI_OPT_FLAG(0, "full", "VACUUM FULL: rewrite tables to return space to the system "
		     "(maintenance window only)"),
	OPT_FORCE,
	CLI_OPT_YES,
	CLI_OPT_INT('j', "jobs", "N", 1, 64,
		    "vacuum N tables at once on N connections, like vacuumdb --jobs", .def = "1"),
	OPT_TABLES("vacuum"),
	CLI_OPT_FLAG(0, "no-analyze", "do not update planner statistics (plain VACUUM)"),
	CLI_OPT_FLAG(0, "skip-locked", "skip tables another session holds a conflicting lock on, "
		     "and report them, instead of waiting (PostgreSQL 12 and later)"),
	OPT_VERBOSE,
	OPT_DRY_RUN,
	CLI_OPT_END
};

static const struct cli_opt analyze_opts[] = {
	OPT_DATABASE,
	OPT_TABLES("analyze"),
	OPT_VERBOSE,
	CLI_OPT_END
};

static const struct cli_opt reindex_opts[] = {
	OPT_DATABASE,
	OPT_TABLES("reindex"),
	CLI_OPT_FLAG(0, "all", "REINDEX DATABASE: every index of the database"),
	CLI_OPT_FLAG(0, "concurrently", "rebuild without blocking writes (PostgreSQL 12 and "
		     "later); a plain REINDEX blocks writes, so it waits for the maintenance window"),
	OPT_FORCE,
	CLI_OPT_YES,
	OPT_VERBOSE,
	OPT_DRY_RUN,
	CLI_OPT_END
};

static const struct cli_opt connections_opts[] = {
	OPT_DATABASE,
	CLI_OPT_DURATION(0, "idle-for", "DURATION",
			 "list sessions idle longer than DURATION (90s, 15m, 1h)",
			 .key = "db.idle_timeout"),
	CLI_OPT_FLAG(0, "terminate",
		     "terminate the sessions listed (never opsctl's own; maintenance window only)"),
	OPT_FORCE,
	CLI_OPT_YES,
	OPT_VERBOSE,
	OPT_DRY_RUN,
	CLI_OPT_END
};

static const struct cli_opt bloat_opts[] = { OPT_DATABASE, OPT_LIMIT, CLI_OPT_END };

static const struct cli_opt slow_opts[] = {
	OPT_DATABASE,
	OPT_LIMIT,
	CLI_OPT_FLAG(0, "reset",
		     "reset pg_stat_statements after reading, to start the next review period"),
	CLI_OPT_END
};

static const struct cli_opt database_only_opts[] = { OPT_DATABASE, CLI_OPT_END };

static const struct cli_opt config_opts[] = {
	OPT_DATABASE,
	CLI_OPT_STRING(0, "memory", "SIZE", "size the advice for SIZE of memory (16G, 64G), "
		       "when the server's cannot be read from here"),
	CLI_OPT_END
};

static const struct cli_opt integrity_opts[] = { OPT_DATABASE, OPT_VERBOSE, CLI_OPT_END };

static const struct cli_opt content_opts[] = {
	OPT_DATABASE,
	CLI_OPT_STRING(0, "table", "TABLE", "table to check", .key = "db.content_table",
		       .complete = CLI_C_TABLE),
	CLI_OPT_STRING(0, "column", "COLUMN", "column to check for empty and duplicate values",
		       .key = "db.content_column"),
	CLI_OPT_END
};

static const struct cli_opt migrate_opts[] = {
	OPT_DATABASE,
	CLI_OPT_STRING(0, "dir", "DIR", "directory holding vVERSION/*.sql",
		       .key = "db.migrations_dir", .complete = CLI_C_DIR),
	OPT_DRY_RUN,
	OPT_VERBOSE,
	CLI_OPT_END
};

const struct cli_cmd cli_db_subs[] = {
	{.name = "maintain",
	 .summary = "run routine maintenance tasks (db-maintenance.sh)",
	 .opts = maintain_opts,
	 .op = op_maintain,
	 .flags = CLI_CHANGES | CLI_EACH_DATABASE,
	 .description =
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
	 .examples =
	 "Weekly maintenance of every configured database\nopsctl db maintain\n"
	 "Only vacuum and analyze one database, verbosely\nopsctl db maintain -t vacuum,analyze -d chatbot_db -v\n"
	 "Guide 004's five databases\nopsctl db maintain -d error_reporting_db,user_management_db,verification_db,correction_engine_db,rag_integration_db\n"
	 "The knowledge hub's SQLite file\nopsctl db maintain -d sqlite:ai_knowledge_hub/knowledge_hub.db"},
	{.name = "vacuum",
	 .summary = "VACUUM ANALYZE; VACUUM FULL inside the window",
	 .opts = vacuum_opts,
	 .op = op_vacuum,
	 .flags = CLI_CHANGES | CLI_EACH_DATABASE,
	 .description =
	 "Runs VACUUM (ANALYZE) to reclaim storage and update statistics (guide 000 section 2.1). "
	 "With --jobs N, tables are vacuumed N at a time on N connections, largest first, as "
	 "vacuumdb --jobs does. --full rewrites each table (VACUUM FULL, guide 000 section 2.2), "
	 "which locks it exclusively: it runs only inside the environment's maintenance window "
	 "unless --force is given, and asks first on a terminal. On SQLite, VACUUM rebuilds the "
	 "whole file.",
	 .examples =
	 "Reclaim space in one bloated table during the window\nopsctl db vacuum --full --table documents"},
	{.name = "analyze",
	 .summary = "update planner statistics (ANALYZE VERBOSE with -v)",
	 .opts = analyze_opts,
	 .op = op_analyze,
	 .flags = CLI_CHANGES | CLI_EACH_DATABASE,
	 .description =
	 "Runs ANALYZE on the database or the given tables (guide 000 section 2.2: ANALYZE "
	 "VERBOSE monthly); with -v the server's progress messages are shown. On SQLite, ANALYZE "
	 "is followed by PRAGMA optimize."},
	{.name = "reindex",
	 .summary = "rebuild indexes of the key tables or the whole database",
	 .opts = reindex_opts,
	 .op = op_reindex,
	 .flags = CLI_CHANGES | CLI_EACH_DATABASE,
	 .description =
	 "Rebuilds the indexes of db.reindex_tables (guide 000 section 2.1: documents, "
	 "document_chunks, queries) or of the given tables; --all runs REINDEX DATABASE (guide 001). "
	 "--concurrently avoids blocking writes where the server supports it (PostgreSQL 12 and "
	 "later); REINDEX DATABASE CONCURRENTLY skips the system catalogs. A plain REINDEX blocks "
	 "writes to each table, so like VACUUM FULL it runs only inside the maintenance window "
	 "unless --force is given, and asks first on a terminal (--yes answers; --dry-run shows "
	 "the statements and whether the window would let them run). Invalid *_ccnew/*_ccold "
	 "indexes left by a failed REINDEX CONCURRENTLY are listed (db health warns of them too) "
	 "and, with --force, dropped. db maintain reindexes CONCURRENTLY where the server can."},
	{.name = "connections",
	 .summary = "list idle sessions; terminate them with --terminate",
	 .opts = connections_opts,
	 .op = op_connections,
	 .changes_if = "terminate",
	 .flags = CLI_CHANGES | CLI_EACH_DATABASE,
	 .description =
	 "Lists sessions that have been idle longer than --idle-for (guide 000 section 2.1: one "
	 "hour) and, with --terminate, ends them with pg_terminate_backend. opsctl's own session "
	 "is never terminated. Terminating respects the maintenance window unless --force is given. "
	 "PostgreSQL only."},
	{.name = "bloat",
	 .summary = "largest tables: table, index and dead-tuple share",
	 .opts = bloat_opts,
	 .flags = CLI_EACH_DATABASE,
	 .op = op_bloat,
	 .description =
	 "Shows the top tables by total size with their table, index and TOAST sizes and the "
	 "share of dead tuples (guide 000 section 2.2), the tables where VACUUM FULL would help. "
	 "PostgreSQL only."},
	{.name = "slow-queries",
	 .summary = "top queries by mean time from pg_stat_statements",
	 .opts = slow_opts,
	 .op = op_slow_queries,
	 .changes_if = "reset",
	 .flags = CLI_CHANGES | CLI_EACH_DATABASE,
	 .description =
	 "Shows the queries with the highest mean execution time from pg_stat_statements "
	 "(guide 000 section 2.2, guide 001 query optimization), on servers that name the columns "
	 "total_time or total_exec_time; --reset clears the statistics after reading. The "
	 "extension must be preloaded and created in the database. PostgreSQL only."},
	{.name = "config",
	 .summary = "review memory and connection settings",
	 .opts = config_opts,
	 .flags = CLI_EACH_DATABASE,
	 .op = op_config,
	 .description =
	 "Shows shared_buffers, work_mem, maintenance_work_mem, effective_cache_size and "
	 "max_connections (guide 000 section 2.3) beside recommendations for the server's "
	 "memory: --memory, else the server's own /proc/meminfo (readable by a superuser or "
	 "pg_read_server_files), else this machine's when the server runs here; memory_from "
	 "says which. Run from elsewhere without either, it names no sizes. PostgreSQL only."},
	{.name = "health",
	 .summary = "connections, long queries, replication lag, dead tuples, locks, wraparound",
	 .opts = database_only_opts,
	 .flags = CLI_EACH_DATABASE | CLI_RECORD | CLI_PLUGIN,
	 .op = op_health,
	 .description =
	 "Checks the database against the [health] thresholds (guide 001 Database Health): "
	 "active connections below 80% of max_connections, no query running longer than 5 "
	 "seconds, replication lag under 1 second, the share of dead tuples, sessions waiting on "
	 "locks, and transaction-ID wraparound age. On SQLite: a quick integrity check and the "
	 "share of free pages. A monitoring check in the check_* plugin convention: exit 0 OK, "
	 "1 WARNING, 2 CRITICAL, 3 UNKNOWN (a database could not be checked; CRITICAL outranks "
	 "it), and the first line is the state, a summary and perfdata "
	 "('DB/CHECK'=VALUE;WARN;CRIT), so Icinga or Nagios can run it as it is.",
	 .examples =
	 "A monitoring check with machine-readable output\nopsctl --output json db health -d chatbot_db"},
	{.name = "size",
	 .summary = "database size and rows per table",
	 .opts = database_only_opts,
	 .flags = CLI_EACH_DATABASE | CLI_RECORD,
	 .op = op_size,
	 .description =
	 "Shows the database size (guide 004) and the row count and size of every table; on "
	 "PostgreSQL large tables show the planner's estimate rather than a full count."},
	{.name = "integrity",
	 .summary = "SQLite integrity_check, PostgreSQL amcheck",
	 .opts = integrity_opts,
	 .flags = CLI_EACH_DATABASE | CLI_RECORD,
	 .op = op_integrity,
	 .description =
	 "On SQLite runs PRAGMA integrity_check (guide 003 daily check). On PostgreSQL checks "
	 "every B-tree index with amcheck's bt_index_check, which needs CREATE EXTENSION amcheck. "
	 "Corruption found exits 65."},
	{.name = "content-check",
	 .summary = "find empty and duplicate content rows",
	 .opts = content_opts,
	 .flags = CLI_EACH_DATABASE | CLI_RECORD,
	 .op = op_content_check,
	 .description =
	 "Counts rows whose content is empty (NULL, empty or only white space) and rows that "
	 "duplicate another row's content (guide 003 monthly content quality check), and shows "
	 "the most duplicated values. Exits 1 when any are found."},
	{.name = "migrate",
	 .summary = "apply schema migrations for VERSION (migrate_schema.sh)",
	 .args = "VERSION",
	 .min_args = 1,
	 .max_args = 1,
	 .opts = migrate_opts,
	 .op = op_migrate,
	 .flags = CLI_CHANGES | CLI_EACH_DATABASE,
	 .description =
	 "Applies DIR/vVERSION/*.sql in name order (guide 004 migrate_schema.sh), each file in "
	 "its own transaction, recording every applied file and its SHA-256 in the table "
	 "opsctl_schema_migrations so that a re-run applies nothing twice. A failing file is "
	 "rolled back and stops the run (exit 1); a file changed since it was applied stops it "
	 "with exit 65, and so does a file whose own COMMIT or ROLLBACK ends opsctl's "
	 "transaction. Take a backup first, "
	 "as the guide does.",
	 .examples =
	 "Apply version 2.1's migrations\nopsctl db migrate 2.1 --dir /opt/rag-interface/deployment/database/migrations"},
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
