/*
 * Private contract between dbmaint.c (the public entry points) and the
 * engine modules dbmaint_pg.c and dbmaint_sqlite.c, in the manner of git's
 * struct ref_storage_be: each engine fills one table of operations, NULL
 * where the operation does not exist on that engine, and dbmaint.c never
 * asks which engine it holds.  dbmaint.c opens the database, picks the
 * table, creates the report with "database" and "engine" already set, calls
 * the operation and closes the database.  Operations add members to report
 * and return an ops_code; they never free report.  target is passed so that
 * an engine can open further connections (parallel VACUUM).
 */
#ifndef OPSMAINT_DBMAINT_INTERNAL_H
#define OPSMAINT_DBMAINT_INTERNAL_H

#include <cjson/cJSON.h>
#include "opsmaint/db.h"
#include "opsmaint/dbmaint.h"

struct dbm_engine {
	const char *name;	/* "SQLite": in "'db bloat' is not available on SQLite" */
	const char *engine;	/* the report's "engine" */

	/*
	 * A copy to go back to before anything changes the database (guide
	 * 003: a SQLite file is never changed without one), into db.backup_dir
	 * as NAME_YYYYMMDD_HHMMSS.db.  *path_out newly allocated.  NULL: the engine
	 * needs none (PostgreSQL has its backups).  An engine with it also
	 * checks integrity before any change (VACUUM could spread damage).
	 */
	ops_code (*backup)(const ops_dbm_ctx *ctx, ops_db *db, char **path_out,
			   ops_error *err);
	/*
	 * Retention of those copies (core/walk): the copies older than
	 * db.backup_retention go, except keep (the one just made; NULL on a dry
	 * run, which removes nothing).  report gets "pruned",
	 * "pruned_size_bytes" and "prune_errors"; only cancellation and
	 * out-of-memory are returned.  NULL with backup NULL.
	 */
	ops_code (*prune)(const ops_dbm_ctx *ctx, ops_db *db, const char *keep, cJSON *report,
			  ops_error *err);

	ops_code (*vacuum)(const ops_dbm_ctx *ctx, ops_db *db, const char *target,
			   const ops_vacuum_opts *opts, cJSON *report, ops_error *err);
	ops_code (*analyze)(const ops_dbm_ctx *ctx, ops_db *db, char *const *tables,
			    cJSON *report, ops_error *err);
	/* What follows ANALYZE on this engine (SQLite: PRAGMA optimize); NULL: nothing. */
	ops_code (*optimize)(const ops_dbm_ctx *ctx, ops_db *db, ops_error *err);
	ops_code (*reindex)(const ops_dbm_ctx *ctx, ops_db *db, const ops_reindex_opts *opts,
			    cJSON *report, ops_error *err);
	ops_code (*connections)(const ops_dbm_ctx *ctx, ops_db *db, long idle_seconds,
				int terminate, cJSON *report, ops_error *err);
	ops_code (*bloat)(const ops_dbm_ctx *ctx, ops_db *db, int limit, cJSON *report,
			  ops_error *err);
	ops_code (*slow_queries)(const ops_dbm_ctx *ctx, ops_db *db, int limit, int reset,
				 cJSON *report, ops_error *err);
	ops_code (*config_review)(const ops_dbm_ctx *ctx, ops_db *db, cJSON *report,
				  ops_error *err);
	ops_code (*health)(const ops_dbm_ctx *ctx, ops_db *db, int *level, cJSON *report,
			   ops_error *err);
	ops_code (*size)(const ops_dbm_ctx *ctx, ops_db *db, cJSON *report, ops_error *err);
	ops_code (*integrity)(const ops_dbm_ctx *ctx, ops_db *db, cJSON *report,
			      ops_error *err);
};

extern const struct dbm_engine ops_dbm_pg_engine;	/* dbmaint_pg.c */
extern const struct dbm_engine ops_dbm_sqlite_engine;	/* dbmaint_sqlite.c */


/* Schema migrations (migrate.c), on either engine; version already checked. */
ops_code ops_dbm_migrate_run(const ops_dbm_ctx *ctx, ops_db *db, const char *version,
			     const char *dir, cJSON *report, ops_error *err);

#endif
