/*
 * Database maintenance entry points: task names, and dispatch to the engine modules (dbmaint_pg.c,
 * dbmaint_sqlite.c).  The composition of db-maintenance.sh (vacuum, analyze,
 * reindex in order, continuing past failures) and guide 003's content check,
 * which is the same SQL on both engines, live here too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dbmaint/dbmaint_internal.h"
#include "opsmaint/log.h"
#include "opsmaint/suggest.h"

ops_code ops_dbm_parse_tasks(const char *list, unsigned *tasks, ops_error *err)
{
	static const struct { const char *name; unsigned bit; } names[] = {
		{"vacuum", OPS_TASK_VACUUM}, {"analyze", OPS_TASK_ANALYZE},
		{"reindex", OPS_TASK_REINDEX}, {"all", OPS_TASK_ALL},
	};
	char **v = ops_split_list(list);
	size_t i, k;
	unsigned bits = 0;
	ops_code rc = OPS_OK;

	if (!v)
		return ops_error_oom(err);
	if (!v[0])
		rc = ops_error_set(err, OPS_EUSAGE, "no task given; expected vacuum, analyze, reindex or all");
	for (i = 0; v[i] && rc == OPS_OK; i++) {
		int found = 0;
		const char *best = NULL;

		for (k = 0; k < 4; k++) {
			if (strcmp(v[i], names[k].name) == 0) {
				bits |= names[k].bit;
				found = 1;
			} else if (ops_edit_distance(v[i], names[k].name) <= 2) {
				best = names[k].name;
			}
		}
		if (!found) {
			if (best)
				rc = ops_error_set(err, OPS_EUSAGE, "unknown task '%s' (did you mean '%s'?)",
						   v[i], best);
			else
				rc = ops_error_set(err, OPS_EUSAGE,
						   "unknown task '%s'; expected vacuum, analyze, reindex or all",
						   v[i]);
		}
	}
	ops_strv_free(v);
	if (rc == OPS_OK)
		*tasks = bits;
	return rc;
}

/* Open, build the report head, run fn, add the duration, close. */
typedef ops_code (*engine_fn)(const ops_dbm_ctx *ctx, ops_db *db, const char *target,
			      void *arg, cJSON *report, ops_error *err);

static ops_code with_db(const ops_dbm_ctx *ctx, const char *target, const char *what,
			int pg_only, engine_fn fn, void *arg, cJSON **report, ops_error *err)
{
	ops_db *db = NULL;
	cJSON *r = NULL;
	ops_code rc;
	double t0 = ops_clock();

	*report = NULL;
	rc = ops_db_open(ctx->run->cfg, target, &db, err);
	if (rc != OPS_OK)
		return rc;
	if (pg_only && ops_db_kind_of(db) == OPS_DB_SQLITE) {
		rc = ops_error_set(err, OPS_EUSAGE, "'db %s' is not available on SQLite", what);
		goto out;
	}
	r = cJSON_CreateObject();
	if (!r || !cJSON_AddStringToObject(r, "database", ops_db_name(db)) ||
	    !cJSON_AddStringToObject(r, "engine", ops_db_kind_of(db) == OPS_DB_POSTGRES ?
				     "postgresql" : "sqlite")) {
		rc = ops_error_oom(err);
		goto out;
	}
	rc = fn(ctx, db, target, arg, r, err);
	cJSON_AddNumberToObject(r, "duration_seconds", ops_clock() - t0);
	*report = r;
	r = NULL;
out:
	cJSON_Delete(r);
	ops_db_close(db);
	return rc;
}

/* ---- maintain ---- */

struct maintain_arg { unsigned tasks; };

static void task_entry(cJSON *list, const char *task, ops_code rc, double t0,
		       const ops_error *err, const char *status_override)
{
	cJSON *e = cJSON_CreateObject();

	cJSON_AddStringToObject(e, "task", task);
	cJSON_AddStringToObject(e, "status", status_override ? status_override :
				rc == OPS_OK ? "ok" : "failed");
	cJSON_AddNumberToObject(e, "duration_seconds", ops_clock() - t0);
	if (rc != OPS_OK && err)
		cJSON_AddStringToObject(e, "error", err->message);
	cJSON_AddItemToArray(list, e);
}

/* Keep the most specific failure: a lost server matters more than "failed". */
static void worse(ops_code *worst, ops_error *first, ops_code rc, const ops_error *err)
{
	if (rc == OPS_OK)
		return;
	if (*worst == OPS_OK || (*worst == OPS_EFAIL && rc != OPS_EFAIL)) {
		*worst = rc;
		*first = *err;
	}
}

/* -v: the server's own messages from a task, appended to the report's. */
static void carry_messages(cJSON *report, const cJSON *scratch)
{
	const cJSON *m, *src = cJSON_GetObjectItemCaseSensitive(scratch, "messages");
	cJSON *dst;

	if (!cJSON_GetArraySize(src))
		return;
	dst = cJSON_GetObjectItemCaseSensitive(report, "messages");
	if (!dst)
		dst = cJSON_AddArrayToObject(report, "messages");
	cJSON_ArrayForEach(m, src)
		cJSON_AddItemToArray(dst, cJSON_Duplicate(m, 1));
}

/*
 * Guide 003: a SQLite file is never changed without a fresh copy to go
 * back to, nor when integrity_check fails (VACUUM could spread the
 * damage).  tasks (may be NULL) gets an entry for each step.
 */
static ops_code lite_safeguard(const ops_dbm_ctx *ctx, ops_db *db, cJSON *report, cJSON *tasks,
			       ops_error *err)
{
	char *path = NULL;
	ops_error terr;
	double t0 = ops_clock();
	cJSON *scratch;
	ops_code rc;

	rc = ops_dbm_sqlite_backup(ctx, db, &path, &terr);
	if (tasks)
		task_entry(tasks, "backup", rc, t0, &terr, NULL);
	if (rc != OPS_OK) {
		*err = terr;
		return rc;
	}
	cJSON_AddStringToObject(report, "backup_path", path);
	free(path);
	t0 = ops_clock();
	scratch = cJSON_CreateObject();
	rc = ops_dbm_sqlite_integrity(ctx, db, scratch, &terr);
	cJSON_Delete(scratch);
	if (tasks)
		task_entry(tasks, "integrity_check", rc, t0, &terr, NULL);
	if (rc != OPS_OK)
		*err = terr;
	return rc;
}

static ops_code maintain_fn(const ops_dbm_ctx *ctx, ops_db *db, const char *target,
			    void *varg, cJSON *report, ops_error *err)
{
	struct maintain_arg *a = varg;
	cJSON *tasks = cJSON_AddArrayToObject(report, "tasks");
	ops_code rc, worst = OPS_OK;
	ops_error terr, first;
	double t0;
	int lite = ops_db_kind_of(db) == OPS_DB_SQLITE;
	cJSON *scratch;

	ops_error_clear(&first);
	if (!tasks)
		return ops_error_oom(err);
	if (ctx->run->dry_run) {
		cJSON *plan = cJSON_AddArrayToObject(report, "would_run");

		if (lite) {
			cJSON_AddItemToArray(plan, cJSON_CreateString("backup"));
			cJSON_AddItemToArray(plan, cJSON_CreateString("integrity_check"));
		}
		if (a->tasks & OPS_TASK_VACUUM)
			cJSON_AddItemToArray(plan, cJSON_CreateString("vacuum"));
		if (a->tasks & OPS_TASK_ANALYZE)
			cJSON_AddItemToArray(plan, cJSON_CreateString("analyze"));
		if (a->tasks & OPS_TASK_REINDEX)
			cJSON_AddItemToArray(plan, cJSON_CreateString("reindex"));
		return OPS_OK;
	}
	if (lite && (rc = lite_safeguard(ctx, db, report, tasks, err)) != OPS_OK)
		return rc;
	if (a->tasks & OPS_TASK_VACUUM) {
		ops_vacuum_opts vo = {0};

		/* Analyze separately when it is also chosen, as the guide lists it. */
		vo.analyze = !(a->tasks & OPS_TASK_ANALYZE);
		vo.jobs = 1;
		t0 = ops_clock();
		scratch = cJSON_CreateObject();
		rc = lite ? ops_dbm_sqlite_vacuum(ctx, db, &vo, scratch, &terr)
			  : ops_dbm_pg_vacuum(ctx, db, target, &vo, scratch, &terr);
		task_entry(tasks, "vacuum", rc, t0, &terr, NULL);
		carry_messages(report, scratch);
		if (cJSON_GetObjectItem(scratch, "reclaimed_bytes"))
			cJSON_AddNumberToObject(report, "reclaimed_bytes",
						cJSON_GetObjectItem(scratch, "reclaimed_bytes")->valuedouble);
		cJSON_Delete(scratch);
		worse(&worst, &first, rc, &terr);
		if (rc == OPS_EUNAVAIL)
			goto out;
	}
	if ((a->tasks & OPS_TASK_ANALYZE) && lite) {
		/* Guide 003 runs ANALYZE, then PRAGMA optimize: two tasks. */
		t0 = ops_clock();
		rc = ops_db_exec(db, "ANALYZE", &terr);
		task_entry(tasks, "analyze", rc, t0, &terr, NULL);
		worse(&worst, &first, rc, &terr);
		t0 = ops_clock();
		rc = ops_db_exec(db, "PRAGMA optimize", &terr);
		task_entry(tasks, "optimize", rc, t0, &terr, NULL);
		worse(&worst, &first, rc, &terr);
	} else if (a->tasks & OPS_TASK_ANALYZE) {
		t0 = ops_clock();
		scratch = cJSON_CreateObject();
		rc = ops_dbm_pg_analyze(ctx, db, NULL, scratch, &terr);
		carry_messages(report, scratch);
		cJSON_Delete(scratch);
		task_entry(tasks, "analyze", rc, t0, &terr, NULL);
		worse(&worst, &first, rc, &terr);
		if (rc == OPS_EUNAVAIL)
			goto out;
	}
	if (a->tasks & OPS_TASK_REINDEX) {
		ops_reindex_opts ro = {0};

		t0 = ops_clock();
		scratch = cJSON_CreateObject();
		rc = lite ? ops_dbm_sqlite_reindex(ctx, db, &ro, scratch, &terr)
			  : ops_dbm_pg_reindex(ctx, db, &ro, scratch, &terr);
		task_entry(tasks, "reindex", rc, t0, &terr, NULL);
		{
			cJSON *sk = cJSON_GetObjectItem(scratch, "skipped");

			if (cJSON_GetArraySize(sk) > 0)
				cJSON_AddItemToObject(report, "reindex_skipped",
						      cJSON_Duplicate(sk, 1));
		}
		cJSON_Delete(scratch);
		worse(&worst, &first, rc, &terr);
		if (rc == OPS_EUNAVAIL)
			goto out;
	}
	/* Sizes and row counts close the weekly run (guides 003 and 004). */
	scratch = cJSON_CreateObject();
	rc = lite ? ops_dbm_sqlite_size(ctx, db, scratch, &terr)
		  : ops_dbm_pg_size(ctx, db, scratch, &terr);
	if (rc == OPS_OK) {
		cJSON *m;

		cJSON_ArrayForEach(m, scratch)
			cJSON_AddItemToObject(report, m->string, cJSON_Duplicate(m, 1));
	} else {
		worse(&worst, &first, rc, &terr);
	}
	cJSON_Delete(scratch);
out:
	if (worst != OPS_OK)
		*err = first;
	return worst;
}

ops_code ops_dbm_maintain(const ops_dbm_ctx *ctx, const char *target,
			  unsigned tasks, cJSON **report, ops_error *err)
{
	struct maintain_arg a = {tasks ? tasks : OPS_TASK_ALL};

	return with_db(ctx, target, "maintain", 0, maintain_fn, &a, report, err);
}

/* ---- single operations ---- */

static ops_code vacuum_fn(const ops_dbm_ctx *ctx, ops_db *db, const char *target,
			  void *arg, cJSON *r, ops_error *err)
{
	ops_code rc;

	if (ops_db_kind_of(db) != OPS_DB_SQLITE)
		return ops_dbm_pg_vacuum(ctx, db, target, arg, r, err);
	/* DESIGN: SQLite VACUUM rewrites the file, so a backup first. */
	if (!ctx->run->dry_run && (rc = lite_safeguard(ctx, db, r, NULL, err)) != OPS_OK)
		return rc;
	return ops_dbm_sqlite_vacuum(ctx, db, arg, r, err);
}

ops_code ops_dbm_vacuum(const ops_dbm_ctx *ctx, const char *target,
			const ops_vacuum_opts *opts, cJSON **report, ops_error *err)
{
	return with_db(ctx, target, "vacuum", 0, vacuum_fn, (void *)opts, report, err);
}

static ops_code analyze_fn(const ops_dbm_ctx *ctx, ops_db *db, const char *target,
			   void *arg, cJSON *r, ops_error *err)
{
	char *const *tables = arg;

	return ops_db_kind_of(db) == OPS_DB_SQLITE
		? ops_dbm_sqlite_analyze(ctx, db, tables, r, err)
		: ops_dbm_pg_analyze(ctx, db, tables, r, err);
}

ops_code ops_dbm_analyze(const ops_dbm_ctx *ctx, const char *target,
			 char *const *tables, cJSON **report, ops_error *err)
{
	return with_db(ctx, target, "analyze", 0, analyze_fn, (void *)tables, report, err);
}

static ops_code reindex_fn(const ops_dbm_ctx *ctx, ops_db *db, const char *target,
			   void *arg, cJSON *r, ops_error *err)
{
	ops_code rc;

	if (ops_db_kind_of(db) != OPS_DB_SQLITE)
		return ops_dbm_pg_reindex(ctx, db, arg, r, err);
	if (!ctx->run->dry_run && (rc = lite_safeguard(ctx, db, r, NULL, err)) != OPS_OK)
		return rc;
	return ops_dbm_sqlite_reindex(ctx, db, arg, r, err);
}

ops_code ops_dbm_reindex(const ops_dbm_ctx *ctx, const char *target,
			 const ops_reindex_opts *opts, cJSON **report, ops_error *err)
{
	return with_db(ctx, target, "reindex", 0, reindex_fn, (void *)opts, report, err);
}

struct conn_arg { long idle; int terminate; };

static ops_code connections_fn(const ops_dbm_ctx *ctx, ops_db *db, const char *target,
			       void *arg, cJSON *r, ops_error *err)
{
	struct conn_arg *a = arg;

	return ops_dbm_pg_connections(ctx, db, a->idle, a->terminate, r, err);
}

ops_code ops_dbm_connections(const ops_dbm_ctx *ctx, const char *target,
			     long idle_seconds, int terminate, cJSON **report,
			     ops_error *err)
{
	struct conn_arg a = {idle_seconds, terminate};

	return with_db(ctx, target, "connections", 1, connections_fn, &a, report, err);
}

static ops_code bloat_fn(const ops_dbm_ctx *ctx, ops_db *db, const char *target,
			 void *arg, cJSON *r, ops_error *err)
{
	return ops_dbm_pg_bloat(ctx, db, *(int *)arg, r, err);
}

ops_code ops_dbm_bloat(const ops_dbm_ctx *ctx, const char *target, int limit,
		       cJSON **report, ops_error *err)
{
	return with_db(ctx, target, "bloat", 1, bloat_fn, &limit, report, err);
}

struct slow_arg { int limit, reset; };

static ops_code slow_fn(const ops_dbm_ctx *ctx, ops_db *db, const char *target,
			void *arg, cJSON *r, ops_error *err)
{
	struct slow_arg *a = arg;

	return ops_dbm_pg_slow_queries(ctx, db, a->limit, a->reset, r, err);
}

ops_code ops_dbm_slow_queries(const ops_dbm_ctx *ctx, const char *target,
			      int limit, int reset, cJSON **report, ops_error *err)
{
	struct slow_arg a = {limit, reset};

	return with_db(ctx, target, "slow-queries", 1, slow_fn, &a, report, err);
}

static ops_code config_fn(const ops_dbm_ctx *ctx, ops_db *db, const char *target,
			  void *arg, cJSON *r, ops_error *err)
{
	return ops_dbm_pg_config_review(ctx, db, r, err);
}

ops_code ops_dbm_config_review(const ops_dbm_ctx *ctx, const char *target,
			       cJSON **report, ops_error *err)
{
	return with_db(ctx, target, "config", 1, config_fn, NULL, report, err);
}

static ops_code health_fn(const ops_dbm_ctx *ctx, ops_db *db, const char *target,
			  void *arg, cJSON *r, ops_error *err)
{
	return ops_db_kind_of(db) == OPS_DB_SQLITE
		? ops_dbm_sqlite_health(ctx, db, arg, r, err)
		: ops_dbm_pg_health(ctx, db, arg, r, err);
}

ops_code ops_dbm_health(const ops_dbm_ctx *ctx, const char *target, int *level,
			cJSON **report, ops_error *err)
{
	*level = 0;
	return with_db(ctx, target, "health", 0, health_fn, level, report, err);
}

static ops_code size_fn(const ops_dbm_ctx *ctx, ops_db *db, const char *target,
			void *arg, cJSON *r, ops_error *err)
{
	return ops_db_kind_of(db) == OPS_DB_SQLITE
		? ops_dbm_sqlite_size(ctx, db, r, err)
		: ops_dbm_pg_size(ctx, db, r, err);
}

ops_code ops_dbm_size(const ops_dbm_ctx *ctx, const char *target,
		      cJSON **report, ops_error *err)
{
	return with_db(ctx, target, "size", 0, size_fn, NULL, report, err);
}

static ops_code integrity_fn(const ops_dbm_ctx *ctx, ops_db *db, const char *target,
			     void *arg, cJSON *r, ops_error *err)
{
	return ops_db_kind_of(db) == OPS_DB_SQLITE
		? ops_dbm_sqlite_integrity(ctx, db, r, err)
		: ops_dbm_pg_integrity(ctx, db, r, err);
}

ops_code ops_dbm_integrity(const ops_dbm_ctx *ctx, const char *target,
			   cJSON **report, ops_error *err)
{
	return with_db(ctx, target, "integrity", 0, integrity_fn, NULL, report, err);
}

/* ---- content check (guide 003), the same SQL on both engines ---- */

struct content_arg { const char *table, *column; };

static ops_code scalar(ops_db *db, const char *sql, int n, const char *const *p,
		       double *out, ops_error *err)
{
	ops_rows *rows = NULL;
	ops_code rc = ops_db_query(db, sql, n, p, &rows, err);
	const char *v;

	if (rc != OPS_OK)
		return rc;
	v = ops_rows_value(rows, 0, 0);
	*out = v ? strtod(v, NULL) : 0;
	ops_rows_free(rows);
	return OPS_OK;
}

static ops_code content_fn(const ops_dbm_ctx *ctx, ops_db *db, const char *target,
			   void *varg, cJSON *r, ops_error *err)
{
	struct content_arg *a = varg;
	int pg = ops_db_kind_of(db) == OPS_DB_POSTGRES;
	char *qtable = NULL, *qcol = NULL, *sql = NULL;
	ops_rows *rows = NULL;
	double total = 0, empty = 0, dups = 0, found = 0;
	const char *p[2];
	cJSON *groups;
	ops_code rc;
	int i;

	/* Names are looked up as parameters, then quoted: never run as SQL. */
	if (pg) {
		rc = ops_db_resolve_table(db, a->table, &qtable, err);
		if (rc != OPS_OK)
			goto out;
		p[0] = qtable;
		p[1] = a->column;
		rc = scalar(db, "SELECT count(*) FROM pg_catalog.pg_attribute "
			    "WHERE attrelid = $1::pg_catalog.regclass AND attname = $2 "
			    "AND attnum > 0 AND NOT attisdropped", 2, p, &found, err);
	} else {
		p[0] = a->table;
		rc = scalar(db, "SELECT count(*) FROM sqlite_master WHERE type IN ('table','view') "
			    "AND name = ?1", 1, p, &found, err);
		if (rc == OPS_OK && found == 0) {
			rc = ops_error_set(err, OPS_EFAIL, "table '%s' does not exist", a->table);
			goto out;
		}
		qtable = ops_db_quote_ident(db, a->table);
		if (!qtable) {
			rc = ops_error_oom(err);
			goto out;
		}
		p[0] = a->table;
		p[1] = a->column;
		if (rc == OPS_OK)
			rc = scalar(db, "SELECT count(*) FROM pragma_table_info(?1) WHERE name = ?2",
				    2, p, &found, err);
	}
	if (rc != OPS_OK)
		goto out;
	if (found == 0) {
		rc = ops_error_set(err, OPS_EFAIL, "column '%s' does not exist in table '%s'",
				   a->column, a->table);
		goto out;
	}
	qcol = ops_db_quote_ident(db, a->column);
	if (!qcol || asprintf(&sql,
		     "SELECT count(*), "
		     "sum(CASE WHEN %s IS NULL OR trim(CAST(%s AS TEXT)) = '' THEN 1 ELSE 0 END), "
		     "count(CASE WHEN %s IS NOT NULL AND trim(CAST(%s AS TEXT)) <> '' THEN 1 END) - "
		     "count(DISTINCT CASE WHEN %s IS NOT NULL AND trim(CAST(%s AS TEXT)) <> '' THEN %s END) "
		     "FROM %s", qcol, qcol, qcol, qcol, qcol, qcol, qcol, qtable) < 0) {
		sql = NULL;
		rc = ops_error_oom(err);
		goto out;
	}
	rc = ops_db_query(db, sql, 0, NULL, &rows, err);
	if (rc != OPS_OK)
		goto out;
	total = ops_rows_value(rows, 0, 0) ? strtod(ops_rows_value(rows, 0, 0), NULL) : 0;
	empty = ops_rows_value(rows, 0, 1) ? strtod(ops_rows_value(rows, 0, 1), NULL) : 0;
	dups = ops_rows_value(rows, 0, 2) ? strtod(ops_rows_value(rows, 0, 2), NULL) : 0;
	ops_rows_free(rows);
	rows = NULL;
	free(sql);
	if (asprintf(&sql, "SELECT substr(CAST(%s AS TEXT), 1, 80), count(*) FROM %s "
		     "WHERE %s IS NOT NULL AND trim(CAST(%s AS TEXT)) <> '' "
		     "GROUP BY %s HAVING count(*) > 1 ORDER BY count(*) DESC LIMIT 10",
		     qcol, qtable, qcol, qcol, qcol) < 0) {
		sql = NULL;
		rc = ops_error_oom(err);
		goto out;
	}
	rc = ops_db_query(db, sql, 0, NULL, &rows, err);
	if (rc != OPS_OK)
		goto out;
	cJSON_AddStringToObject(r, "table", a->table);
	cJSON_AddStringToObject(r, "column", a->column);
	cJSON_AddNumberToObject(r, "rows", total);
	cJSON_AddNumberToObject(r, "empty", empty);
	cJSON_AddNumberToObject(r, "duplicates", dups);
	groups = cJSON_AddArrayToObject(r, "duplicate_groups");
	for (i = 0; i < ops_rows_count(rows); i++) {
		cJSON *g = cJSON_CreateObject();

		cJSON_AddStringToObject(g, "value", ops_rows_value(rows, i, 0) ? ops_rows_value(rows, i, 0) : "");
		cJSON_AddNumberToObject(g, "count", strtod(ops_rows_value(rows, i, 1), NULL));
		cJSON_AddItemToArray(groups, g);
	}
	if (empty > 0 || dups > 0)
		rc = ops_error_set(err, OPS_EFAIL, "found %.0f empty and %.0f duplicate rows in '%s'",
				   empty, dups, a->table);
out:
	ops_rows_free(rows);
	free(sql);
	free(qtable);
	free(qcol);
	return rc;
}

ops_code ops_dbm_content_check(const ops_dbm_ctx *ctx, const char *target,
			       const char *table, const char *column,
			       cJSON **report, ops_error *err)
{
	struct content_arg a;

	a.table = table ? table : ops_config_get(ctx->run->cfg, "db.content_table");
	a.column = column ? column : ops_config_get(ctx->run->cfg, "db.content_column");
	return with_db(ctx, target, "content-check", 0, content_fn, &a, report, err);
}

/* ---- migrate: the engine work is in migrate.c ---- */

struct migrate_arg { const char *version, *dir; };

static ops_code migrate_fn(const ops_dbm_ctx *ctx, ops_db *db, const char *target,
			   void *varg, cJSON *r, ops_error *err)
{
	struct migrate_arg *a = varg;

	return ops_dbm_migrate_run(ctx, db, a->version, a->dir, r, err);
}

ops_code ops_dbm_migrate(const ops_dbm_ctx *ctx, const char *target,
			 const char *version, const char *dir, cJSON **report,
			 ops_error *err)
{
	struct migrate_arg a = {version, dir ? dir : ops_config_get(ctx->run->cfg, "db.migrations_dir")};
	size_t i;

	*report = NULL;
	/* VERSION becomes part of a path: nothing that could climb out of DIR. */
	if (!version || !*version || strcmp(version, ".") == 0 || strcmp(version, "..") == 0)
		return ops_error_set(err, OPS_EUSAGE, "bad migration version '%s'", version ? version : "");
	for (i = 0; version[i]; i++) {
		char c = version[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return ops_error_set(err, OPS_EUSAGE,
					     "bad migration version '%s': use letters, digits, '.', '_' and '-'",
					     version);
	}
	if (strstr(version, ".."))
		return ops_error_set(err, OPS_EUSAGE, "bad migration version '%s'", version);
	return with_db(ctx, target, "migrate", 0, migrate_fn, &a, report, err);
}
