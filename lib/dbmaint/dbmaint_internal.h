/*
 * Private contract between dbmaint.c (public entry points, target handling,
 * dispatch by engine) and the engine modules dbmaint_pg.c and
 * dbmaint_sqlite.c.  dbmaint.c opens the database, creates the report object
 * with "database" and "engine" already set, calls the engine function, and
 * closes the database.  Engine functions add members to report and return an
 * ops_code; they never free report.  target is passed so that an engine can
 * open further connections (parallel VACUUM).
 */
#ifndef OPSMAINT_DBMAINT_INTERNAL_H
#define OPSMAINT_DBMAINT_INTERNAL_H

#include <cjson/cJSON.h>
#include "opsmaint/db.h"
#include "opsmaint/dbmaint.h"

/* PostgreSQL (dbmaint_pg.c) */
ops_code ops_dbm_pg_vacuum(const ops_dbm_ctx *ctx, ops_db *db, const char *target,
			   const ops_vacuum_opts *opts, cJSON *report, ops_error *err);
ops_code ops_dbm_pg_analyze(const ops_dbm_ctx *ctx, ops_db *db,
			    char *const *tables, cJSON *report, ops_error *err);
ops_code ops_dbm_pg_reindex(const ops_dbm_ctx *ctx, ops_db *db,
			    const ops_reindex_opts *opts, cJSON *report, ops_error *err);
ops_code ops_dbm_pg_connections(const ops_dbm_ctx *ctx, ops_db *db,
				long idle_seconds, int terminate, cJSON *report,
				ops_error *err);
ops_code ops_dbm_pg_bloat(const ops_dbm_ctx *ctx, ops_db *db, int limit,
			  cJSON *report, ops_error *err);
ops_code ops_dbm_pg_slow_queries(const ops_dbm_ctx *ctx, ops_db *db, int limit,
				 int reset, cJSON *report, ops_error *err);
ops_code ops_dbm_pg_config_review(const ops_dbm_ctx *ctx, ops_db *db,
				  cJSON *report, ops_error *err);
ops_code ops_dbm_pg_health(const ops_dbm_ctx *ctx, ops_db *db, int *level,
			   cJSON *report, ops_error *err);
ops_code ops_dbm_pg_size(const ops_dbm_ctx *ctx, ops_db *db, cJSON *report,
			 ops_error *err);
ops_code ops_dbm_pg_integrity(const ops_dbm_ctx *ctx, ops_db *db, cJSON *report,
			      ops_error *err);

/* SQLite (dbmaint_sqlite.c) */
/* Guide 003 pre-maintenance copy through the SQLite online backup API into
 * db.backup_dir (default STATE_DIR/backups) as NAME_YYYYMMDD_HHMMSS.db,
 * written atomically; also removes copies older than db.backup_retention.
 * *path_out newly allocated. */
ops_code ops_dbm_sqlite_backup(const ops_dbm_ctx *ctx, ops_db *db,
			       char **path_out, ops_error *err);
ops_code ops_dbm_sqlite_vacuum(const ops_dbm_ctx *ctx, ops_db *db,
			       const ops_vacuum_opts *opts, cJSON *report,
			       ops_error *err);
ops_code ops_dbm_sqlite_analyze(const ops_dbm_ctx *ctx, ops_db *db,
				char *const *tables, cJSON *report, ops_error *err);
ops_code ops_dbm_sqlite_reindex(const ops_dbm_ctx *ctx, ops_db *db,
				const ops_reindex_opts *opts, cJSON *report,
				ops_error *err);
ops_code ops_dbm_sqlite_size(const ops_dbm_ctx *ctx, ops_db *db, cJSON *report,
			     ops_error *err);
ops_code ops_dbm_sqlite_integrity(const ops_dbm_ctx *ctx, ops_db *db,
				  cJSON *report, ops_error *err);
ops_code ops_dbm_sqlite_health(const ops_dbm_ctx *ctx, ops_db *db, int *level,
			       cJSON *report, ops_error *err);

/* Schema migrations (migrate.c), on either engine; version already checked. */
ops_code ops_dbm_migrate_run(const ops_dbm_ctx *ctx, ops_db *db, const char *version,
			     const char *dir, cJSON *report, ops_error *err);

#endif
