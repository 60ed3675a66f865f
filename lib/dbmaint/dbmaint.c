/*
 * Database maintenance entry points: task names, one session per operation
 * (open, report head, the engine's operation from its table in
 * dbmaint_internal.h, close) and the work that is the same on both engines:
 * the composition of db-maintenance.sh (vacuum, analyze, reindex in order,
 * continuing past failures, stopping when the run is cancelled), the copy
 * and integrity check before a SQLite file is changed, guide 003's content
 * check and the failing line of db health.  Which databases a command runs
 * over is lib/db's (ops_db_targets); the SQL of each engine is in
 * dbmaint_pg.c and dbmaint_sqlite.c.
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
		rc = ops_error_set(err, OPS_EUSAGE,
				   "no task given; expected vacuum, analyze, reindex or all");
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
				rc = ops_error_set(err, OPS_EUSAGE, "unknown task '%s' "
						   "(did you mean '%s'?)", v[i], best);
			else
				rc = ops_error_set(err, OPS_EUSAGE, "unknown task '%s'; expected "
						   "vacuum, analyze, reindex or all", v[i]);
		}
	}
	ops_strv_free(v);
	if (rc == OPS_OK)
		*tasks = bits;
	return rc;
}

/* ---- one operation on one database ---- */

struct session {
	const ops_dbm_ctx *ctx;
	ops_db *db;
	const struct dbm_engine *be;
	cJSON *report;
	double t0;
	ops_code rc;
};

/*
 * Open target, pick its engine's table and start the report with
 * "database" and "engine".  1 when that worked; else 0, with s->rc the
 * error.  A cancelled run opens nothing: the databases after the one it was
 * stopped in are never started.
 */
static int session_open(const ops_dbm_ctx *ctx, const char *target, struct session *s,
			ops_error *err)
{
	memset(s, 0, sizeof *s);
	s->ctx = ctx;
	s->t0 = ops_clock();
	if ((s->rc = ops_run_check_cancel(ctx->run, err)) != OPS_OK ||
	    (s->rc = ops_db_open(ctx->run->cfg, target, &s->db, err)) != OPS_OK)
		return 0;
	s->be = ops_db_kind_of(s->db) == OPS_DB_SQLITE ? &ops_dbm_sqlite_engine
						       : &ops_dbm_pg_engine;
	s->report = cJSON_CreateObject();
	if (!s->report || !cJSON_AddStringToObject(s->report, "database", ops_db_name(s->db)) ||
	    !cJSON_AddStringToObject(s->report, "engine", s->be->engine)) {
		s->rc = ops_error_oom(err);
		return 0;
	}
	return 1;
}

/* 1 if the engine has the operation; else 0, OPS_EUSAGE and no report. */
static int session_has(struct session *s, int has, const char *what, ops_error *err)
{
	if (has)
		return 1;
	s->rc = ops_error_set(err, OPS_EUSAGE, "'db %s' is not available on %s", what, s->be->name);
	cJSON_Delete(s->report);
	s->report = NULL;
	return 0;
}

/*
 * Hand the report over (with the duration; also after a failure, to show
 * what was done), close the database and return the outcome.  A failure
 * after a cancellation is the cancellation, whatever the engine made of the
 * statement it had stopped.
 */
static ops_code session_close(struct session *s, cJSON **report, ops_error *err)
{
	if (s->rc != OPS_OK && s->rc != OPS_EINTR && ops_cancelled())
		s->rc = ops_cancel_check(err);
	if (s->report)
		cJSON_AddNumberToObject(s->report, "duration_seconds", ops_clock() - s->t0);
	*report = s->report;
	ops_db_close(s->db);
	return s->rc;
}

/* ---- maintain ---- */

static void task_entry(cJSON *list, const char *task, ops_code rc, double t0,
		       const ops_error *err)
{
	cJSON *e = cJSON_CreateObject();

	cJSON_AddStringToObject(e, "task", task);
	cJSON_AddStringToObject(e, "status", rc == OPS_OK ? "ok" :
				rc == OPS_EINTR ? "interrupted" : "failed");
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

/* A task's failure once the run was cancelled is the cancellation. */
static ops_code task_outcome(ops_code rc, ops_error *err)
{
	return rc != OPS_OK && rc != OPS_EINTR && ops_cancelled() ? ops_cancel_check(err) : rc;
}

/*
 * An engine that keeps a copy before any change (guide 003: SQLite) takes
 * it now, and refuses to change a database that fails its integrity check
 * (VACUUM could spread the damage).  tasks (may be NULL) gets an entry for
 * each step.  Nothing on a dry run or an engine without copies.
 */
static ops_code safeguard(struct session *s, cJSON *tasks, ops_error *err)
{
	char *path = NULL;
	ops_error terr;
	double t0 = ops_clock();
	cJSON *scratch;
	ops_code rc;

	if (!s->be->backup || s->ctx->run->dry_run)
		return OPS_OK;
	rc = task_outcome(s->be->backup(s->ctx, s->db, &path, &terr), &terr);
	if (tasks)
		task_entry(tasks, "backup", rc, t0, &terr);
	if (rc == OPS_OK) {
		cJSON_AddStringToObject(s->report, "backup_path", path);
		if (s->be->prune)
			rc = s->be->prune(s->ctx, s->db, path, s->report, &terr);
		free(path);
		if (rc != OPS_OK) {
			*err = terr;
			return rc;
		}
		t0 = ops_clock();
		scratch = cJSON_CreateObject();
		rc = ops_run_check_cancel(s->ctx->run, &terr);
		if (rc == OPS_OK)
			rc = task_outcome(s->be->integrity(s->ctx, s->db, scratch, &terr), &terr);
		cJSON_Delete(scratch);
		if (tasks)
			task_entry(tasks, "integrity_check", rc, t0, &terr);
	}
	if (rc != OPS_OK)
		*err = terr;
	return rc;
}

static ops_code maintain_plan(const struct session *s, unsigned tasks, ops_error *err)
{
	cJSON *plan = cJSON_AddArrayToObject(s->report, "would_run");
	ops_code rc;

	if (s->be->backup) {
		cJSON_AddItemToArray(plan, cJSON_CreateString("backup"));
		cJSON_AddItemToArray(plan, cJSON_CreateString("integrity_check"));
	}
	/* What retention of the copies would remove. */
	if (s->be->prune && (rc = s->be->prune(s->ctx, s->db, NULL, s->report, err)) != OPS_OK)
		return rc;
	if (tasks & OPS_TASK_VACUUM)
		cJSON_AddItemToArray(plan, cJSON_CreateString("vacuum"));
	if (tasks & OPS_TASK_ANALYZE)
		cJSON_AddItemToArray(plan, cJSON_CreateString("analyze"));
	if (tasks & OPS_TASK_REINDEX)
		cJSON_AddItemToArray(plan, cJSON_CreateString("reindex"));
	return OPS_OK;
}

/* Merge the members of scratch that the weekly run reports into report. */
static void keep_from(cJSON *report, const cJSON *scratch, const char *task)
{
	const cJSON *m;

	if (strcmp(task, "vacuum") == 0 && (m = cJSON_GetObjectItem(scratch, "reclaimed_bytes")))
		cJSON_AddNumberToObject(report, "reclaimed_bytes", m->valuedouble);
	if (strcmp(task, "reindex") == 0 &&
	    cJSON_GetArraySize(m = cJSON_GetObjectItem(scratch, "skipped")) > 0)
		cJSON_AddItemToObject(report, "reindex_skipped", cJSON_Duplicate(m, 1));
	if (strcmp(task, "size") == 0)
		cJSON_ArrayForEach(m, scratch)
			cJSON_AddItemToObject(report, m->string, cJSON_Duplicate(m, 1));
}

/*
 * db-maintenance.sh: each chosen task in turn, continuing past a failed one
 * (the first, most specific failure is the run's), but not past a lost
 * server or a cancelled run.  Sizes and row counts close the weekly run
 * (guides 003 and 004).
 */
static ops_code maintain(struct session *s, const char *target, unsigned chosen, ops_error *err)
{
	const struct dbm_engine *be = s->be;
	cJSON *tasks = cJSON_AddArrayToObject(s->report, "tasks");
	ops_vacuum_opts vo = {0};
	/* Weekly maintenance must not block writes: CONCURRENTLY where the
	 * server has it (12+); a plain REINDEX waits for the window. */
	ops_reindex_opts ro = {.concurrently = 1};
	ops_code rc, worst = OPS_OK;
	ops_error terr, first;
	int step;

	ops_error_clear(&first);
	if (!tasks)
		return ops_error_oom(err);
	if (s->ctx->run->dry_run)
		return maintain_plan(s, chosen, err);
	if ((rc = safeguard(s, tasks, err)) != OPS_OK)
		return rc;
	/* Analyze separately when it is also chosen, as the guide lists it. */
	vo.analyze = !(chosen & OPS_TASK_ANALYZE);
	vo.jobs = 1;
	for (step = 0; step < 5; step++) {
		static const char *const names[] = {"vacuum", "analyze", "optimize", "reindex",
						    "size"};
		static const unsigned bits[] = {OPS_TASK_VACUUM, OPS_TASK_ANALYZE, OPS_TASK_ANALYZE,
						OPS_TASK_REINDEX, OPS_TASK_ALL};
		cJSON *scratch;
		double t0 = ops_clock();

		if (!(chosen & bits[step]) || (step == 2 && !be->optimize))
			continue;
		if ((rc = ops_run_check_cancel(s->ctx->run, &terr)) != OPS_OK) {
			worse(&worst, &first, rc, &terr);
			break;
		}
		if (!(scratch = cJSON_CreateObject())) {
			rc = ops_error_oom(&terr);
			worse(&worst, &first, rc, &terr);
			break;
		}
		switch (step) {
		case 0: rc = be->vacuum(s->ctx, s->db, target, &vo, scratch, &terr); break;
		case 1: rc = be->analyze(s->ctx, s->db, NULL, scratch, &terr); break;
		case 2: rc = be->optimize(s->ctx, s->db, &terr); break;
		case 3: rc = be->reindex(s->ctx, s->db, &ro, scratch, &terr); break;
		default: rc = be->size(s->ctx, s->db, scratch, &terr); break;
		}
		rc = task_outcome(rc, &terr);
		/* The sizes are figures of the report, not a task of their own. */
		if (step < 4)
			task_entry(tasks, names[step], rc, t0, &terr);
		carry_messages(s->report, scratch);
		if (rc == OPS_OK || step < 4)
			keep_from(s->report, scratch, names[step]);
		cJSON_Delete(scratch);
		worse(&worst, &first, rc, &terr);
		if (rc == OPS_EUNAVAIL || rc == OPS_EINTR)
			break;
	}
	if (worst != OPS_OK)
		*err = first;
	return worst;
}

ops_code ops_dbm_maintain(const ops_dbm_ctx *ctx, const char *target,
			  unsigned tasks, cJSON **report, ops_error *err)
{
	struct session s;

	if (session_open(ctx, target, &s, err))
		s.rc = maintain(&s, target, tasks ? tasks : OPS_TASK_ALL, err);
	return session_close(&s, report, err);
}

/* ---- single operations: the engine's, or "not available on" it ---- */

ops_code ops_dbm_vacuum(const ops_dbm_ctx *ctx, const char *target,
			const ops_vacuum_opts *opts, cJSON **report, ops_error *err)
{
	struct session s;

	/* A copy first where VACUUM rewrites the file (SQLite). */
	if (session_open(ctx, target, &s, err) && (s.rc = safeguard(&s, NULL, err)) == OPS_OK)
		s.rc = s.be->vacuum(ctx, s.db, target, opts, s.report, err);
	return session_close(&s, report, err);
}

ops_code ops_dbm_analyze(const ops_dbm_ctx *ctx, const char *target,
			 char *const *tables, cJSON **report, ops_error *err)
{
	struct session s;

	if (session_open(ctx, target, &s, err))
		s.rc = s.be->analyze(ctx, s.db, tables, s.report, err);
	if (s.rc == OPS_OK && s.be->optimize && !ctx->run->dry_run)
		s.rc = s.be->optimize(ctx, s.db, err);
	return session_close(&s, report, err);
}

ops_code ops_dbm_reindex(const ops_dbm_ctx *ctx, const char *target,
			 const ops_reindex_opts *opts, cJSON **report, ops_error *err)
{
	struct session s;

	if (session_open(ctx, target, &s, err) && (s.rc = safeguard(&s, NULL, err)) == OPS_OK)
		s.rc = s.be->reindex(ctx, s.db, opts, s.report, err);
	return session_close(&s, report, err);
}

ops_code ops_dbm_connections(const ops_dbm_ctx *ctx, const char *target,
			     long idle_seconds, int terminate, cJSON **report,
			     ops_error *err)
{
	struct session s;

	if (session_open(ctx, target, &s, err) &&
	    session_has(&s, s.be->connections != NULL, "connections", err))
		s.rc = s.be->connections(ctx, s.db, idle_seconds, terminate, s.report, err);
	return session_close(&s, report, err);
}

ops_code ops_dbm_bloat(const ops_dbm_ctx *ctx, const char *target, int limit,
		       cJSON **report, ops_error *err)
{
	struct session s;

	if (session_open(ctx, target, &s, err) &&
	    session_has(&s, s.be->bloat != NULL, "bloat", err))
		s.rc = s.be->bloat(ctx, s.db, limit, s.report, err);
	return session_close(&s, report, err);
}

ops_code ops_dbm_slow_queries(const ops_dbm_ctx *ctx, const char *target,
			      int limit, int reset, cJSON **report, ops_error *err)
{
	struct session s;

	if (session_open(ctx, target, &s, err) &&
	    session_has(&s, s.be->slow_queries != NULL, "slow-queries", err))
		s.rc = s.be->slow_queries(ctx, s.db, limit, reset, s.report, err);
	return session_close(&s, report, err);
}

ops_code ops_dbm_config_review(const ops_dbm_ctx *ctx, const char *target,
			       cJSON **report, ops_error *err)
{
	struct session s;

	if (session_open(ctx, target, &s, err) &&
	    session_has(&s, s.be->config_review != NULL, "config", err))
		s.rc = s.be->config_review(ctx, s.db, s.report, err);
	return session_close(&s, report, err);
}

/*
 * The one line a degraded database fails with, naming every check above
 * ok: "database 'x' is degraded: connections (warning), dead_tuples
 * (warning)".
 */
static void health_error(const struct session *s, int level, ops_error *err)
{
	char failing[400] = "";
	size_t used = 0;
	const cJSON *c;

	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(s->report, "checks")) {
		const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(c, "check"));
		const char *st = cJSON_GetStringValue(cJSON_GetObjectItem(c, "status"));
		int w;

		if (!name || !st || strcmp(st, "ok") == 0)
			continue;
		w = snprintf(failing + used, sizeof failing - used, "%s%s (%s)",
			     used ? ", " : "", name, st);
		if (w < 0 || (size_t)w >= sizeof failing - used)
			break;
		used += (size_t)w;
	}
	ops_error_set(err, OPS_EFAIL, "database '%s' is %s: %s", ops_db_name(s->db),
		      level >= 2 ? "critical" : "degraded", failing);
}

/* A perfdata label: quoted, its own quotes doubled, '=' kept out. */
static int put_label(FILE *f, const char *db, const char *check)
{
	const char *parts[2] = {db, check};
	int i;

	fputc('\'', f);
	for (i = 0; i < 2; i++) {
		const char *p;

		if (i)
			fputc('/', f);
		for (p = parts[i]; *p; p++) {
			if (*p == '\'')
				fputs("''", f);
			else
				fputc(*p == '=' ? '_' : *p, f);
		}
	}
	return fputc('\'', f) == EOF ? -1 : 0;
}

char *ops_dbm_health_perfdata(const cJSON *report, const char *dbname)
{
	const cJSON *c;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(report, "checks")) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(c, "value");
		const cJSON *w = cJSON_GetObjectItemCaseSensitive(c, "warning_above");
		const cJSON *k = cJSON_GetObjectItemCaseSensitive(c, "critical_above");
		const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(c, "check"));
		const char *unit = cJSON_GetStringValue(cJSON_GetObjectItem(c, "unit"));

		if (!cJSON_IsNumber(v) || !name)	/* integrity's "ok" is not a figure */
			continue;
		if (ftell(f) > 0)
			fputc(' ', f);
		put_label(f, dbname, name);
		fprintf(f, "=%.15g%s;", v->valuedouble, unit ? unit : "");
		if (cJSON_IsNumber(w))
			fprintf(f, "%.15g", w->valuedouble);
		fputc(';', f);
		if (cJSON_IsNumber(k))
			fprintf(f, "%.15g", k->valuedouble);
	}
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

ops_code ops_dbm_health(const ops_dbm_ctx *ctx, const char *target, int *level,
			cJSON **report, ops_error *err)
{
	struct session s;

	*level = 0;
	if (session_open(ctx, target, &s, err))
		s.rc = s.be->health(ctx, s.db, level, s.report, err);
	if (s.rc == OPS_OK && *level > 0)
		health_error(&s, *level, err);
	return session_close(&s, report, err);
}

ops_code ops_dbm_size(const ops_dbm_ctx *ctx, const char *target,
		      cJSON **report, ops_error *err)
{
	struct session s;

	if (session_open(ctx, target, &s, err))
		s.rc = s.be->size(ctx, s.db, s.report, err);
	return session_close(&s, report, err);
}

ops_code ops_dbm_integrity(const ops_dbm_ctx *ctx, const char *target,
			   cJSON **report, ops_error *err)
{
	struct session s;

	if (session_open(ctx, target, &s, err))
		s.rc = s.be->integrity(ctx, s.db, s.report, err);
	return session_close(&s, report, err);
}

/* ---- content check (guide 003), the same SQL on both engines ---- */

static ops_code content_check(ops_db *db, const char *table, const char *schema,
			      const char *column, cJSON *r, ops_error *err)
{
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
		rc = ops_db_resolve_table(db, table, schema, &qtable, err);
		if (rc != OPS_OK)
			goto out;
		p[0] = qtable;
		p[1] = column;
		rc = ops_db_query_number(db, "SELECT count(*) FROM pg_catalog.pg_attribute "
					  "WHERE attrelid = $1::pg_catalog.regclass "
					  "AND attname = $2 AND attnum > 0 AND NOT attisdropped",
					  2, p, &found, err);
	} else {
		p[0] = table;
		rc = ops_db_query_number(db, "SELECT count(*) FROM sqlite_master "
					  "WHERE type IN ('table','view') AND name = ?1",
					  1, p, &found, err);
		if (rc == OPS_OK && found == 0) {
			rc = ops_error_set(err, OPS_EFAIL, "table '%s' does not exist", table);
			goto out;
		}
		qtable = ops_db_quote_ident(db, table);
		if (!qtable) {
			rc = ops_error_oom(err);
			goto out;
		}
		p[0] = table;
		p[1] = column;
		if (rc == OPS_OK)
			rc = ops_db_query_number(db, "SELECT count(*) FROM pragma_table_info(?1) "
						  "WHERE name = ?2", 2, p, &found, err);
	}
	if (rc != OPS_OK)
		goto out;
	if (found == 0) {
		rc = ops_error_set(err, OPS_EFAIL, "column '%s' does not exist in table '%s'",
				   column, table);
		goto out;
	}
	qcol = ops_db_quote_ident(db, column);
	if (!qcol || asprintf(&sql,
		     "SELECT count(*), "
		     "sum(CASE WHEN %s IS NULL OR trim(CAST(%s AS TEXT)) = '' THEN 1 ELSE 0 END), "
		     "count(CASE WHEN %s IS NOT NULL AND trim(CAST(%s AS TEXT)) <> '' "
		     "      THEN 1 END) - "
		     "count(DISTINCT CASE WHEN %s IS NOT NULL AND trim(CAST(%s AS TEXT)) <> '' "
		     "      THEN %s END) "
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
	cJSON_AddStringToObject(r, "table", table);
	cJSON_AddStringToObject(r, "column", column);
	cJSON_AddNumberToObject(r, "rows", total);
	cJSON_AddNumberToObject(r, "empty", empty);
	cJSON_AddNumberToObject(r, "duplicates", dups);
	groups = cJSON_AddArrayToObject(r, "duplicate_groups");
	for (i = 0; i < ops_rows_count(rows); i++) {
		cJSON *g = cJSON_CreateObject();

		const char *v = ops_rows_value(rows, i, 0);

		cJSON_AddStringToObject(g, "value", v ? v : "");
		cJSON_AddNumberToObject(g, "count", strtod(ops_rows_value(rows, i, 1), NULL));
		cJSON_AddItemToArray(groups, g);
	}
	if (empty > 0 || dups > 0)
		rc = ops_error_set(err, OPS_EFAIL, "found %.0f empty and %.0f duplicate rows "
				   "in '%s'", empty, dups, table);
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
	struct session s;
	const char *schema = NULL;	/* a table the user named: any schema */

	if (!table) {
		table = ops_config_get(ctx->run->cfg, "db.content_table");
		schema = ops_config_get(ctx->run->cfg, "db.schema");
	}
	if (!column)
		column = ops_config_get(ctx->run->cfg, "db.content_column");
	if (session_open(ctx, target, &s, err))
		s.rc = content_check(s.db, table, schema, column, s.report, err);
	return session_close(&s, report, err);
}

/* ---- migrate: the engine work is in migrate.c ---- */

/* VERSION becomes part of a path: nothing that could climb out of DIR. */
static ops_code check_version(const char *version, ops_error *err)
{
	size_t i;

	if (!version || !*version || strcmp(version, ".") == 0 || strcmp(version, "..") == 0)
		return ops_error_set(err, OPS_EUSAGE, "bad migration version '%s'",
				     version ? version : "");
	for (i = 0; version[i]; i++) {
		char c = version[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return ops_error_set(err, OPS_EUSAGE, "bad migration version '%s': "
					     "use letters, digits, '.', '_' and '-'", version);
	}
	if (strstr(version, ".."))
		return ops_error_set(err, OPS_EUSAGE, "bad migration version '%s'", version);
	return OPS_OK;
}

ops_code ops_dbm_migrate(const ops_dbm_ctx *ctx, const char *target,
			 const char *version, const char *dir, cJSON **report,
			 ops_error *err)
{
	struct session s;

	*report = NULL;
	if ((s.rc = check_version(version, err)) != OPS_OK)
		return s.rc;
	if (!dir)
		dir = ops_config_get(ctx->run->cfg, "db.migrations_dir");
	if (session_open(ctx, target, &s, err))
		s.rc = ops_dbm_migrate_run(ctx, s.db, version, dir, s.report, err);
	return session_close(&s, report, err);
}

