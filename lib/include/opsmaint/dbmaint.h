/*
 * Database maintenance as the guides describe it: 000 section 2 and
 * db-maintenance.sh, 001 DATABASE MAINTENANCE and Database Health, 003 weekly
 * SQLite maintenance and content checks, 004 weekly maintenance over five
 * databases and migrate_schema.sh.
 *
 * Every operation takes a context and one target (see db.h; ops_db_targets
 * lists a command's targets), builds a cJSON report (see output.h for how it
 * is rendered) and returns an ops_code.  The report is returned even when the
 * operation fails part way, so the caller can show what was done; *report is
 * NULL only on OOM or when nothing was done.  An operation that does not
 * exist on the target's engine is OPS_EUSAGE with "'db X' is not available
 * on SQLite".
 *
 * Destructive work (VACUUM FULL, terminating sessions) checks the maintenance
 * window unless force is set, and asks run->confirm when set (run.h).
 * Nothing here prints; progress goes through ops_log.
 *
 * A cancelled run (cancel.h) is OPS_EINTR "interrupted by SIGTERM": the
 * statement running is cancelled on the server, no further table, task,
 * migration file or database is started (an operation called after the
 * request opens nothing), parallel VACUUM waits for the statements it had
 * started, a migration file in progress is rolled back and not recorded,
 * and a SQLite copy being written is removed.  The report says what was
 * done: the task or table that was stopped is "interrupted", the tables not
 * started "skipped", the migration file "rolled back".
 */
#ifndef OPSMAINT_DBMAINT_H
#define OPSMAINT_DBMAINT_H

#include "opsmaint/api.h"
OPS_API_BEGIN

#include <time.h>
#include <cjson/cJSON.h>
#include "opsmaint/config.h"
#include "opsmaint/db.h"	/* targets: ops_db_targets */
#include "opsmaint/error.h"
#include "opsmaint/run.h"

/*
 * run: configuration, -v (server notices collected into the report), force
 * (skip the window check and confirmations), dry_run, the clock for window
 * checks and the confirm callback, shared with every command (run.h).
 */
typedef struct ops_dbm_ctx {
	const ops_run *run;
	long long memory_bytes;	/* db config --memory; 0: ask the server */
} ops_dbm_ctx;

enum {
	OPS_TASK_VACUUM = 1 << 0,
	OPS_TASK_ANALYZE = 1 << 1,
	OPS_TASK_REINDEX = 1 << 2,
	OPS_TASK_ALL = OPS_TASK_VACUUM | OPS_TASK_ANALYZE | OPS_TASK_REINDEX
};
/* "vacuum,analyze" -> bits; unknown names are OPS_EUSAGE naming the name. */
ops_code ops_dbm_parse_tasks(const char *list, unsigned *tasks, ops_error *err);

/*
 * db-maintenance.sh: the chosen tasks in order vacuum, analyze, reindex.
 * On SQLite (guide 003): an online backup of the file into db.backup_dir
 * first, then PRAGMA integrity_check (a failure stops the run, OPS_EDATA),
 * VACUUM, ANALYZE, PRAGMA optimize, then sizes and row counts.
 * Report: {"database", "engine", "backup_path"?, "tasks":[{"task","status",
 * "duration_seconds","detail"?}], "size_bytes", "tables":[...]}.
 */
ops_code ops_dbm_maintain(const ops_dbm_ctx *ctx, const char *target,
			  unsigned tasks, cJSON **report, ops_error *err);

typedef struct ops_vacuum_opts {
	int full;		/* VACUUM FULL: window or force */
	int analyze;		/* VACUUM (ANALYZE): default on */
	int jobs;		/* >1: tables in parallel on that many connections */
	int skip_locked;	/* SKIP_LOCKED (PostgreSQL 12+): a locked table is
				 * skipped and reported, not waited for */
	char *const *tables;	/* NULL: every table in the database */
} ops_vacuum_opts;
ops_code ops_dbm_vacuum(const ops_dbm_ctx *ctx, const char *target,
			const ops_vacuum_opts *opts, cJSON **report,
			ops_error *err);

ops_code ops_dbm_analyze(const ops_dbm_ctx *ctx, const char *target,
			 char *const *tables, cJSON **report, ops_error *err);

typedef struct ops_reindex_opts {
	char *const *tables;	/* NULL: db.reindex_tables (missing ones skipped) */
	int database;		/* REINDEX DATABASE instead */
	int concurrently;	/* CONCURRENTLY when the server has it (>= 12) */
} ops_reindex_opts;
ops_code ops_dbm_reindex(const ops_dbm_ctx *ctx, const char *target,
			 const ops_reindex_opts *opts, cJSON **report,
			 ops_error *err);

/* Sessions idle longer than idle_seconds; terminate them when asked (never
 * our own).  PostgreSQL only. */
ops_code ops_dbm_connections(const ops_dbm_ctx *ctx, const char *target,
			     long idle_seconds, int terminate, cJSON **report,
			     ops_error *err);

/* Top `limit` tables by total size: table vs index size, dead-tuple %. */
ops_code ops_dbm_bloat(const ops_dbm_ctx *ctx, const char *target, int limit,
		       cJSON **report, ops_error *err);

/* pg_stat_statements top `limit` by mean time (total_time / total_exec_time
 * naming handled), optionally pg_stat_statements_reset() afterwards.  The
 * extension absent is OPS_EFAIL with a hint on enabling it. */
ops_code ops_dbm_slow_queries(const ops_dbm_ctx *ctx, const char *target,
			      int limit, int reset, cJSON **report,
			      ops_error *err);

/* pg_settings review with recommendations for this machine's memory. */
ops_code ops_dbm_config_review(const ops_dbm_ctx *ctx, const char *target,
			       cJSON **report, ops_error *err);

/*
 * Health checks with thresholds from [health].  Report has "health":
 * "ok"/"warning"/"critical" and "checks":[{"check","status","value",
 * "threshold","message"}].  Returns OPS_OK even when checks fail: the status
 * is in *level (0 ok, 1 warning, 2 critical), for the caller to map.  When
 * *level is above 0, err is also filled (code OPS_EFAIL) with the one line
 * to fail with, naming every check above ok in report order:
 * "database 'chatbot_db' is degraded: connections (warning), dead_tuples
 * (warning)" ("is critical" at level 2; the database's display name, never
 * a URI's credentials).  Any other return is a failure to check, with err
 * as usual and *level 0.
 */
ops_code ops_dbm_health(const ops_dbm_ctx *ctx, const char *target, int *level,
			cJSON **report, ops_error *err);
/*
 * The checks of one health report as monitoring-plugin perfdata, one
 * 'DB/CHECK'=VALUE[UNIT];WARN;CRIT per numeric check, space-separated
 * ("'chatbot_db/connections'=12.5%;80;95 'chatbot_db/long_queries'=0;0;").
 * Newly allocated; NULL on OOM.
 */
char *ops_dbm_health_perfdata(const cJSON *report, const char *dbname);

/* Database size and per-table row counts and sizes. */
ops_code ops_dbm_size(const ops_dbm_ctx *ctx, const char *target,
		      cJSON **report, ops_error *err);

/* SQLite PRAGMA integrity_check; PostgreSQL amcheck (bt_index_check on every
 * btree index) when the extension is installed, else OPS_EFAIL with a hint.
 * Problems found are OPS_EDATA. */
ops_code ops_dbm_integrity(const ops_dbm_ctx *ctx, const char *target,
			   cJSON **report, ops_error *err);

/* Guide 003: empty (NULL or '') and duplicate values of table.column.
 * Findings are OPS_EFAIL with the report filled. */
ops_code ops_dbm_content_check(const ops_dbm_ctx *ctx, const char *target,
			       const char *table, const char *column,
			       cJSON **report, ops_error *err);

/*
 * Guide 004 migrate_schema.sh: apply DIR/vVERSION/ *.sql in name order, each
 * file in its own transaction, recording applied files (name and SHA-256) in
 * the table opsctl_schema_migrations so a re-run applies nothing twice.  A
 * recorded file whose content changed since is OPS_EDATA.  A failing file
 * rolls back and stops the run (files before it stay applied).
 */
ops_code ops_dbm_migrate(const ops_dbm_ctx *ctx, const char *target,
			 const char *version, const char *dir, cJSON **report,
			 ops_error *err);

OPS_API_END
#endif
