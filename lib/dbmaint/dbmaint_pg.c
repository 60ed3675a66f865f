/*
 * PostgreSQL maintenance: guide 000 section 2 (VACUUM ANALYZE, REINDEX of the
 * key tables, idle sessions, bloat, pg_stat_statements, the settings review),
 * guide 001's health thresholds and guide 004's sizes.  Every session arrives
 * here with an empty search_path (db.c), so all SQL names pg_catalog objects
 * explicitly and user tables are resolved through the catalog with the name
 * as a parameter.  Parallel VACUUM drives several libpq connections from one
 * thread, as vacuumdb's parallel slots do; no threads.
 */
#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dbmaint/dbmaint_internal.h"
#include "opsmaint/log.h"

/* Add every column of row as a member, numbers as numbers. */
static cJSON *row_object(const ops_rows *r, int row, const char *const *numeric)
{
	cJSON *o = cJSON_CreateObject();
	int c;

	for (c = 0; o && c < ops_rows_columns(r); c++) {
		const char *name = ops_rows_column_name(r, c), *v = ops_rows_value(r, row, c);
		size_t k;
		int isnum = 0;

		for (k = 0; numeric && numeric[k]; k++)
			if (strcmp(numeric[k], name) == 0)
				isnum = 1;
		if (!v)
			cJSON_AddNullToObject(o, name);
		else if (isnum)
			cJSON_AddNumberToObject(o, name, strtod(v, NULL));
		else if (strcmp(v, "t") == 0 || strcmp(v, "f") == 0)
			cJSON_AddBoolToObject(o, name, v[0] == 't');
		else
			cJSON_AddStringToObject(o, name, v);
	}
	return o;
}

/*
 * Run sql and add its rows to report as the array key, one object a row
 * (row_object).  *keep (may be NULL) receives the rows; else they are freed.
 */
static ops_code rows_array(ops_db *db, const char *sql, int n, const char *const *p,
			   const char *const *numeric, cJSON *report, const char *key,
			   ops_rows **keep, ops_error *err)
{
	ops_rows *rows = NULL;
	cJSON *list;
	ops_code rc = ops_db_query(db, sql, n, p, &rows, err);
	int i;

	if (rc != OPS_OK)
		return rc;
	list = cJSON_AddArrayToObject(report, key);
	for (i = 0; list && i < ops_rows_count(rows); i++)
		cJSON_AddItemToArray(list, row_object(rows, i, numeric));
	if (!list)
		rc = ops_error_oom(err);
	if (keep && rc == OPS_OK)
		*keep = rows;
	else
		ops_rows_free(rows);
	return rc;
}

/*
 * Server messages during VACUUM and ANALYZE.  A table the role may not
 * vacuum is skipped with only a WARNING, and the statement still succeeds:
 * those warnings are kept apart so that a skipped table is a failure, not a
 * silent success.  Shared catalogs that only a superuser may vacuum are
 * skipped for every database owner and are not worth failing a run over.
 */
struct notices {
	cJSON *messages;	/* all of them, with -v and JSON output; else NULL */
	cJSON *denied;		/* tables skipped for lack of privilege */
	cJSON *locked;		/* tables SKIP_LOCKED passed over */
	int stream;		/* -v in text: each line as the server sends it */
};

/* -v: a person watching sees the server's progress as vacuumdb shows it,
 * while it happens; a program gets the lines in the report. */
static void notices_init(struct notices *n, const ops_run *run, cJSON *report)
{
	n->denied = cJSON_CreateArray();
	n->locked = cJSON_CreateArray();
	n->stream = run->verbose && run->output != OPS_OUT_JSON;
	n->messages = run->verbose && !n->stream ? cJSON_AddArrayToObject(report, "messages")
		      : NULL;
}

static void collect_notice(void *arg, const char *message)
{
	struct notices *n = arg;

	if (n->stream)
		ops_log_info("%s", message);
	else if (n->messages)
		cJSON_AddItemToArray(n->messages, cJSON_CreateString(message));
	/* "skipping vacuum of \"t\" --- lock not available": SKIP_LOCKED's
	 * doing, not a missing privilege. */
	if (strstr(message, "lock not available"))
		cJSON_AddItemToArray(n->locked, cJSON_CreateString(message));
	else if ((strncmp(message, "skipping \"", 10) == 0 && !strstr(message, "only superuser")) ||
	    strncmp(message, "permission denied to vacuum", 27) == 0 ||
	    strncmp(message, "permission denied to analyze", 28) == 0)
		cJSON_AddItemToArray(n->denied, cJSON_CreateString(message));
}

/* OPS_EPERM naming the first skipped table, when any was skipped. */
static ops_code denied_error(const char *verb, struct notices *n, cJSON *report, ops_error *err)
{
	int count = cJSON_GetArraySize(n->denied);

	if (count == 0)
		return OPS_OK;
	cJSON_AddItemToObject(report, "denied", cJSON_Duplicate(n->denied, 1));
	return ops_error_set(err, OPS_EPERM, "%s skipped %d table%s: %s", verb, count,
			     count == 1 ? "" : "s",
			     cJSON_GetStringValue(cJSON_GetArrayItem(n->denied, 0)));
}

/* Window and confirmation before destructive work. */
static ops_code allowed(const ops_dbm_ctx *ctx, const char *what, const char *question,
			ops_error *err)
{
	/* The clock now, not when the run began: a run over several
	 * databases must stop at the window's end (run->now: tests only). */
	return ops_run_permit(ctx->run, what, question, err);
}

/*
 * "Run VACUUM FULL on chatbot_db (public.documents, public.queries and 2
 * more)? TAIL": the question names the database and the tables, so that a
 * yes is given to this work and not to some other.
 */
static void ask_about(char *q, size_t size, const char *verb, ops_db *db, char *const *tables,
		      const char *tail)
{
	size_t n = ops_strv_len(tables), i, used;

	used = (size_t)snprintf(q, size, "Run %s on %s", verb, ops_db_name(db));
	for (i = 0; i < n && i < 3 && used < size; i++)
		used += (size_t)snprintf(q + used, size - used, "%s%s", i ? ", " : " (", tables[i]);
	if (n > 3 && used < size)
		used += (size_t)snprintf(q + used, size - used, " and %zu more", n - 3);
	if (n && used < size)
		used += (size_t)snprintf(q + used, size - used, ")");
	if (used < size)
		snprintf(q + used, size - used, "? %s", tail);
}

/* Resolve each name; missing ones go to skipped when skip_missing. */
/* Names a user typed (schema NULL) are looked up in every schema; names from
 * configuration in db.schema. */
static ops_code resolve_all(ops_db *db, char *const *names, const char *schema, int skip_missing,
			    char ***out, cJSON *skipped, ops_error *err)
{
	size_t n = ops_strv_len(names), i, k = 0;
	char **v = calloc(n + 1, sizeof *v);
	ops_code rc = OPS_OK;

	if (!v)
		return ops_error_oom(err);
	for (i = 0; i < n; i++) {
		ops_error e;

		rc = ops_db_resolve_table(db, names[i], schema, &v[k], &e);
		if (rc == OPS_OK) {
			k++;
			continue;
		}
		if (skip_missing && rc == OPS_EFAIL && strstr(e.message, "does not exist")) {
			cJSON_AddItemToArray(skipped, cJSON_CreateString(names[i]));
			rc = OPS_OK;
			continue;
		}
		*err = e;
		ops_strv_free(v);
		return rc;
	}
	*out = v;
	return rc;
}

/* ---- VACUUM ---- */

struct slot {
	ops_db *db;
	PGconn *conn;
	int busy;
	size_t table;	/* index into the work list */
	double t0;
};

static ops_code list_tables(ops_db *db, char ***out, ops_error *err)
{
	ops_rows *rows = NULL;
	ops_code rc;
	char **v;
	int i;

	/* Largest first, so the long ones do not start last (vacuumdb does the same). */
	rc = ops_db_query(db,
		"SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) "
		"FROM pg_catalog.pg_class c "
		"JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
		"WHERE c.relkind IN ('r', 'm') AND c.relpersistence <> 't' "
		"AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
		"AND n.nspname NOT LIKE 'pg\\_toast%' "
		"ORDER BY c.relpages DESC, 1", 0, NULL, &rows, err);
	if (rc != OPS_OK)
		return rc;
	v = calloc((size_t)ops_rows_count(rows) + 1, sizeof *v);
	for (i = 0; v && i < ops_rows_count(rows); i++)
		if (!(v[i] = strdup(ops_rows_value(rows, i, 0)))) {
			ops_strv_free(v);
			v = NULL;
		}
	ops_rows_free(rows);
	if (!v)
		return ops_error_oom(err);
	*out = v;
	return OPS_OK;
}

static char *vacuum_sql(const ops_vacuum_opts *o, int verbose, const char *table)
{
	char opts[64] = "", *sql = NULL;

	if (o->full)
		strcat(opts, "FULL, ");
	if (o->analyze)
		strcat(opts, "ANALYZE, ");
	if (o->skip_locked)
		strcat(opts, "SKIP_LOCKED, ");
	if (verbose)
		strcat(opts, "VERBOSE, ");
	if (*opts)
		opts[strlen(opts) - 2] = '\0';
	if (asprintf(&sql, "VACUUM%s%s%s%s%s", *opts ? " (" : "", opts, *opts ? ")" : "",
		     table ? " " : "", table ? table : "") < 0)
		return NULL;
	return sql;
}

static void table_result(cJSON *list, const char *table, double secs, const char *status,
			 const char *error)
{
	cJSON *e = cJSON_CreateObject();

	cJSON_AddStringToObject(e, "table", table);
	cJSON_AddStringToObject(e, "status", status);
	cJSON_AddNumberToObject(e, "duration_seconds", secs);
	if (error)
		cJSON_AddStringToObject(e, "error", error);
	cJSON_AddItemToArray(list, e);
}

/*
 * VACUUM of a list of tables on `jobs` connections at once, as vacuumdb's
 * parallel slots do.  No table starts once the window has closed (VACUUM
 * FULL: the rest waits for the next window) or the run has been cancelled
 * (the statements running are cancelled with it); either way the slots
 * still busy are waited for, so no connection is left with a statement.
 */
struct parallel {
	const ops_dbm_ctx *ctx;
	const ops_vacuum_opts *o;
	ops_db *db;		/* the first slot's, for messages */
	char **tables;
	size_t ntables;		/* the tables to run; cut short by a stop */
	size_t next, done;
	cJSON *list;
	int failed;
	char first_failure[1024];
	int stopped;		/* stop says why the rest was not started */
	ops_error stop;
};

/* 0 when no further table may start: the rest is reported skipped. */
static int may_start(struct parallel *v)
{
	size_t i;

	if (ops_run_check_cancel(v->ctx->run, &v->stop) != OPS_OK)
		v->stopped = 1;
	else if (v->o->full && v->next > 0 && !v->ctx->run->force &&
		 ops_run_window_check(v->ctx->run, "VACUUM FULL", &v->stop) != OPS_OK)
		v->stopped = 1;
	if (!v->stopped)
		return 1;
	for (i = v->next; i < v->ntables; i++)
		table_result(v->list, v->tables[i], 0, "skipped", v->stop.message);
	v->ntables = v->next;
	return 0;
}

static ops_code lost(const struct parallel *v, struct slot *sl, ops_error *err)
{
	return ops_error_set(err, OPS_EUNAVAIL, "connection to database '%s' lost: %s",
			     ops_db_name(v->db), PQerrorMessage(sl->conn));
}

static ops_code dispatch(struct parallel *v, struct slot *sl, ops_error *err)
{
	char *sql = vacuum_sql(v->o, v->ctx->run->verbose, v->tables[v->next]);
	int sent;

	if (!sql)
		return ops_error_oom(err);
	ops_log_debug("%s", sql);
	sent = PQsendQuery(sl->conn, sql);
	free(sql);
	if (!sent)
		return lost(v, sl, err);
	/* A cancellation that came while the statement was on its way found
	 * the connection idle, where the server ignores it: again, now. */
	if (ops_cancelled())
		ops_db_cancel(sl->db);
	sl->busy = 1;
	sl->table = v->next++;
	sl->t0 = ops_clock();
	return OPS_OK;
}

/* The result of a busy slot whose statement has ended. */
static ops_code collect(struct parallel *v, struct slot *sl, ops_error *err)
{
	const char *table = v->tables[sl->table];
	char msg[512] = "";
	PGresult *res;
	int ok = 1;

	if (!PQconsumeInput(sl->conn))
		return lost(v, sl, err);
	if (PQisBusy(sl->conn))
		return OPS_OK;
	while ((res = PQgetResult(sl->conn))) {
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			const char *m = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

			ok = 0;
			snprintf(msg, sizeof msg, "%s", m ? m : PQresultErrorMessage(res));
		}
		PQclear(res);
	}
	sl->busy = 0;
	v->done++;
	/* Cancelled with the run: not a failure of the table. */
	if (!ok && ops_cancelled()) {
		table_result(v->list, table, ops_clock() - sl->t0, "interrupted", msg);
		return OPS_OK;
	}
	table_result(v->list, table, ops_clock() - sl->t0, ok ? "ok" : "failed", ok ? NULL : msg);
	if (!ok) {
		if (!v->failed)
			snprintf(v->first_failure, sizeof v->first_failure, "%.300s: %.500s",
				 table, msg);
		v->failed++;
		ops_log_info("VACUUM of %s failed: %s", table, msg);
	}
	return OPS_OK;
}

/* The one error line says why, not just how many. */
static ops_code parallel_outcome(struct parallel *v, ops_error *err)
{
	if (v->failed == 1)
		return ops_error_set(err, OPS_EFAIL, "VACUUM of %s", v->first_failure);
	if (v->failed)
		return ops_error_set(err, OPS_EFAIL,
				     "VACUUM failed on %d of %zu tables in '%s', first %s",
				     v->failed, v->ntables, ops_db_name(v->db), v->first_failure);
	if (!v->stopped)
		return OPS_OK;
	*err = v->stop;
	if (v->stop.code != OPS_EINTR)
		ops_error_prefix(err, "%zu tables left for the next window",
				 ops_strv_len(v->tables) - v->ntables);
	return err->code;
}

/* Run the list on `jobs` connections at once; db is the first of them. */
static ops_code vacuum_parallel(const ops_dbm_ctx *ctx, ops_db *db, const char *target,
				const ops_vacuum_opts *o, char **tables, cJSON *list,
				struct notices *notes, ops_error *err)
{
	struct parallel v = {.ctx = ctx, .o = o, .db = db, .tables = tables,
			     .ntables = ops_strv_len(tables), .list = list};
	int jobs = o->jobs, s;
	struct slot *slots;
	ops_code rc = OPS_OK;

	if ((size_t)jobs > v.ntables)
		jobs = (int)(v.ntables ? v.ntables : 1);
	slots = calloc((size_t)jobs, sizeof *slots);
	if (!slots)
		return ops_error_oom(err);
	slots[0].db = db;
	for (s = 1; s < jobs && rc == OPS_OK; s++)
		rc = ops_db_open(ctx->run->cfg, target, &slots[s].db, err);
	for (s = 0; s < jobs && rc == OPS_OK; s++) {
		slots[s].conn = ops_db_handle(slots[s].db);
		ops_db_set_notice_handler(slots[s].db, collect_notice, notes);
	}
	while (rc == OPS_OK && v.done < v.ntables) {
		struct pollfd pfd[64];
		int n = 0;

		for (s = 0; s < jobs && rc == OPS_OK; s++)
			if (!slots[s].busy && v.next < v.ntables && may_start(&v))
				rc = dispatch(&v, &slots[s], err);
		for (s = 0; s < jobs && n < 64; s++, n++) {
			pfd[n].fd = PQsocket(slots[s].conn);
			pfd[n].events = POLLIN;
			pfd[n].revents = 0;
		}
		if (rc == OPS_OK && poll(pfd, (nfds_t)n, 1000) < 0 && errno != EINTR)
			rc = ops_error_errno(err, errno, "poll", NULL);
		for (s = 0; s < jobs && rc == OPS_OK; s++)
			if (slots[s].busy)
				rc = collect(&v, &slots[s], err);
	}
	if (rc == OPS_OK)
		rc = parallel_outcome(&v, err);
	for (s = 1; s < jobs; s++)
		ops_db_close(slots[s].db);
	free(slots);
	return rc;
}

static ops_code pg_vacuum(const ops_dbm_ctx *ctx, ops_db *db, const char *target,
			   const ops_vacuum_opts *opts, cJSON *report, ops_error *err)
{
	ops_vacuum_opts o = *opts;
	cJSON *list, *skipped = cJSON_CreateArray();
	struct notices notes;
	char **tables = NULL;
	ops_code rc = OPS_OK;
	double t0 = ops_clock();

	if (o.jobs < 1)
		o.jobs = 1;
	cJSON_AddStringToObject(report, "operation", "vacuum");
	cJSON_AddBoolToObject(report, "full", o.full);
	cJSON_AddBoolToObject(report, "analyze", o.analyze);
	if (o.skip_locked && ops_db_server_version(db) < 120000) {
		o.skip_locked = 0;
		cJSON_AddStringToObject(report, "note", "the server is older than PostgreSQL 12: "
					"VACUUM without SKIP_LOCKED");
	}
	cJSON_AddBoolToObject(report, "skip_locked", o.skip_locked);
	cJSON_AddNumberToObject(report, "jobs", o.jobs);
	list = cJSON_AddArrayToObject(report, "tables");
	notices_init(&notes, ctx->run, report);
	if (o.tables && o.tables[0])
		rc = resolve_all(db, o.tables, NULL, 0, &tables, skipped, err);
	else if (o.jobs > 1)
		rc = list_tables(db, &tables, err);
	if (rc != OPS_OK)
		goto out;
	/* VACUUM FULL takes an exclusive lock per table: maintenance window only. */
	if (o.full && ctx->run->dry_run) {
		ops_run_would_permit(ctx->run, "VACUUM FULL", report);
	} else if (o.full) {
		char q[512];

		ask_about(q, sizeof q, "VACUUM FULL", db, tables,
			  "Each table is locked while it is rewritten.");
		if ((rc = allowed(ctx, "VACUUM FULL", q, err)) != OPS_OK)
			goto out;
	}
	if (ctx->run->dry_run) {
		cJSON *plan = cJSON_AddArrayToObject(report, "would_run");
		size_t i;
		char *sql;

		for (i = 0; tables && tables[i]; i++)
			if ((sql = vacuum_sql(&o, 0, tables[i]))) {
				cJSON_AddItemToArray(plan, cJSON_CreateString(sql));
				free(sql);
			}
		if (!tables && (sql = vacuum_sql(&o, 0, NULL))) {
			cJSON_AddItemToArray(plan, cJSON_CreateString(sql));
			free(sql);
		}
		goto out;
	}
	if (!tables) {
		char *sql = vacuum_sql(&o, ctx->run->verbose, NULL);

		if (!sql) {
			rc = ops_error_oom(err);
			goto out;
		}
		ops_db_set_notice_handler(db, collect_notice, &notes);
		rc = ops_db_exec(db, sql, err);
		ops_db_set_notice_handler(db, NULL, NULL);
		table_result(list, "(all)", ops_clock() - t0, rc == OPS_OK ? "ok" :
			     ops_cancelled() ? "interrupted" : "failed",
			     rc == OPS_OK ? NULL : err->message);
		free(sql);
	} else {
		rc = vacuum_parallel(ctx, db, target, &o, tables, list, &notes, err);
		ops_db_set_notice_handler(db, NULL, NULL);
	}
	if (cJSON_GetArraySize(notes.locked) > 0) {
		ops_log_warn("VACUUM skipped %d locked table%s (--skip-locked): %s",
			     cJSON_GetArraySize(notes.locked),
			     cJSON_GetArraySize(notes.locked) == 1 ? "" : "s",
			     cJSON_GetStringValue(cJSON_GetArrayItem(notes.locked, 0)));
		cJSON_AddItemToObject(report, "skipped_locked", notes.locked);
		notes.locked = NULL;
	}
	if (rc == OPS_OK)
		rc = denied_error("VACUUM", &notes, report, err);
out:
	cJSON_Delete(notes.locked);
	cJSON_Delete(notes.denied);
	cJSON_Delete(skipped);
	ops_strv_free(tables);
	return rc;
}

/*
 * "VERB TABLE" for each resolved table in turn, stopping at the first
 * failure or when the run is cancelled; each table done is added to done.
 */
static ops_code each_table(const ops_dbm_ctx *ctx, ops_db *db, const char *verb,
			   char *const *tables, cJSON *done, ops_error *err)
{
	ops_code rc = OPS_OK;
	char *sql;
	size_t i;

	for (i = 0; tables[i] && rc == OPS_OK; i++) {
		if ((rc = ops_run_check_cancel(ctx->run, err)) != OPS_OK)
			break;
		if (asprintf(&sql, "%s %s", verb, tables[i]) < 0)
			return ops_error_oom(err);
		rc = ops_db_exec(db, sql, err);
		free(sql);
		if (rc == OPS_OK)
			cJSON_AddItemToArray(done, cJSON_CreateString(tables[i]));
	}
	return rc;
}

/* ---- ANALYZE ---- */

static ops_code pg_analyze(const ops_dbm_ctx *ctx, ops_db *db,
			    char *const *tables, cJSON *report, ops_error *err)
{
	const char *verb = ctx->run->verbose ? "ANALYZE VERBOSE" : "ANALYZE";
	cJSON *done, *skipped = cJSON_CreateArray();
	struct notices notes;
	char **resolved = NULL;
	ops_code rc = OPS_OK;

	cJSON_AddStringToObject(report, "operation", "analyze");
	done = cJSON_AddArrayToObject(report, "tables");
	notices_init(&notes, ctx->run, report);
	ops_db_set_notice_handler(db, collect_notice, &notes);
	if (tables && tables[0] &&
	    (rc = resolve_all(db, tables, NULL, 0, &resolved, skipped, err)) != OPS_OK)
		goto out;
	if (ctx->run->dry_run)
		goto out;
	if (resolved) {
		rc = each_table(ctx, db, verb, resolved, done, err);
	} else {
		rc = ops_db_exec(db, verb, err);
		if (rc == OPS_OK)
			cJSON_AddItemToArray(done, cJSON_CreateString("(all)"));
	}
	if (rc == OPS_OK)
		rc = denied_error("ANALYZE", &notes, report, err);
out:
	ops_db_set_notice_handler(db, NULL, NULL);
	cJSON_Delete(notes.locked);
	cJSON_Delete(notes.denied);
	cJSON_Delete(skipped);
	ops_strv_free(resolved);
	return rc;
}

/* ---- REINDEX ---- */

/*
 * Indexes a failed or cancelled REINDEX CONCURRENTLY left behind: invalid,
 * named *_ccnew[N] or *_ccold[N].  Every write still maintains them and no
 * query uses them; PostgreSQL itself never reports or removes them.
 */
static ops_code invalid_leftovers(ops_db *db, ops_rows **out, ops_error *err)
{
	return ops_db_query(db,
		"SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) "
		"FROM pg_catalog.pg_index i "
		"JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid "
		"JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
		"WHERE NOT i.indisvalid AND c.relname ~ '_cc(new|old)[0-9]*$' ORDER BY 1",
		0, NULL, out, err);
}

/* List them in report; with --force (not a dry run) drop them, without
 * blocking writes, before the reindex makes new ones. */
static ops_code leftovers(const ops_dbm_ctx *ctx, ops_db *db, cJSON *report, ops_error *err)
{
	ops_rows *bad = NULL;
	cJSON *list = cJSON_AddArrayToObject(report, "invalid_indexes"), *dropped = NULL;
	ops_code rc = invalid_leftovers(db, &bad, err);
	int i, n = rc == OPS_OK ? ops_rows_count(bad) : 0;

	for (i = 0; i < n; i++)
		cJSON_AddItemToArray(list, cJSON_CreateString(ops_rows_value(bad, i, 0)));
	if (n && ctx->run->force && !ctx->run->dry_run) {
		dropped = cJSON_AddArrayToObject(report, "dropped_invalid_indexes");
		for (i = 0; i < n && rc == OPS_OK; i++) {
			char *sql = NULL;

			/* The name came back from format('%I.%I'): quoted already. */
			if (asprintf(&sql, "DROP INDEX CONCURRENTLY IF EXISTS %s",
				     ops_rows_value(bad, i, 0)) < 0)
				rc = ops_error_oom(err);
			else if ((rc = ops_db_exec(db, sql, err)) == OPS_OK)
				cJSON_AddItemToArray(dropped,
						     cJSON_CreateString(ops_rows_value(bad, i, 0)));
			free(sql);
		}
	} else if (n) {
		ops_log_warn("%d invalid index%s left by a failed REINDEX CONCURRENTLY in %s "
			     "(%s%s): opsctl db reindex --force drops %s", n, n == 1 ? "" : "es",
			     ops_db_name(db), ops_rows_value(bad, 0, 0), n > 1 ? ", ..." : "",
			     n == 1 ? "it" : "them");
	}
	ops_rows_free(bad);
	return rc;
}

static ops_code pg_reindex(const ops_dbm_ctx *ctx, ops_db *db,
			    const ops_reindex_opts *opts, cJSON *report, ops_error *err)
{
	int concurrently = opts->concurrently && ops_db_server_version(db) >= 120000;
	cJSON *done, *skipped;
	char **names = NULL, **resolved = NULL, *sql = NULL, *qdb = NULL;
	ops_code rc = OPS_OK;

	cJSON_AddStringToObject(report, "operation", "reindex");
	cJSON_AddBoolToObject(report, "concurrently", concurrently);
	if (opts->concurrently && !concurrently)
		cJSON_AddStringToObject(report, "note", "the server is older than PostgreSQL 12: "
					"REINDEX without CONCURRENTLY");
	if ((rc = leftovers(ctx, db, report, err)) != OPS_OK)
		goto out;
	if (opts->database) {
		cJSON_AddStringToObject(report, "scope", "database");
		/* The database connected to, not the target's display name
		 * (a URI's path is percent-encoded, or absent). */
		qdb = ops_db_quote_ident(db, PQdb(ops_db_handle(db)));
		if (!qdb || asprintf(&sql, "REINDEX DATABASE%s %s",
				     concurrently ? " CONCURRENTLY" : "", qdb) < 0) {
			sql = NULL;
			rc = ops_error_oom(err);
			goto out;
		}
		if (ctx->run->dry_run) {
			cJSON_AddItemToArray(cJSON_AddArrayToObject(report, "would_run"),
					     cJSON_CreateString(sql));
			if (!concurrently)
				ops_run_would_permit(ctx->run, "REINDEX", report);
			goto out;
		}
		/* A plain REINDEX blocks writes to each table: the window's work. */
		if (!concurrently) {
			char q[512];

			ask_about(q, sizeof q, "REINDEX DATABASE", db, NULL,
				  "Writes to each table wait while its indexes are rebuilt.");
			if ((rc = allowed(ctx, "REINDEX", q, err)) != OPS_OK)
				goto out;
		}
		rc = ops_db_exec(db, sql, err);
		goto out;
	}
	done = cJSON_AddArrayToObject(report, "tables");
	skipped = cJSON_AddArrayToObject(report, "skipped");
	if (opts->tables && opts->tables[0]) {
		rc = resolve_all(db, opts->tables, NULL, 0, &resolved, skipped, err);
	} else {
		/* Guide 000: documents, document_chunks, queries; a system without
		 * one of them is not an error. */
		names = ops_config_list(ctx->run->cfg, "db.reindex_tables");
		if (!names) {
			rc = ops_error_oom(err);
			goto out;
		}
		rc = resolve_all(db, names, ops_config_get(ctx->run->cfg, "db.schema"), 1,
				 &resolved, skipped, err);
	}
	if (rc != OPS_OK)
		goto out;
	if (ctx->run->dry_run) {
		cJSON *plan = cJSON_AddArrayToObject(report, "would_run");
		size_t i;

		for (i = 0; resolved && resolved[i]; i++) {
			free(sql);
			if (asprintf(&sql, "REINDEX TABLE%s %s", concurrently ? " CONCURRENTLY" : "",
				     resolved[i]) < 0) {
				sql = NULL;
				rc = ops_error_oom(err);
				goto out;
			}
			cJSON_AddItemToArray(plan, cJSON_CreateString(sql));
		}
		if (!concurrently && resolved && resolved[0])
			ops_run_would_permit(ctx->run, "REINDEX", report);
		goto out;
	}
	if (!concurrently && resolved && resolved[0]) {
		char q[512];

		ask_about(q, sizeof q, "REINDEX", db, resolved,
			  "Writes to each table wait while its indexes are rebuilt.");
		if ((rc = allowed(ctx, "REINDEX", q, err)) != OPS_OK)
			goto out;
	}
	rc = each_table(ctx, db, concurrently ? "REINDEX TABLE CONCURRENTLY" : "REINDEX TABLE",
			resolved, done, err);
out:
	ops_strv_free(names);
	ops_strv_free(resolved);
	free(sql);
	free(qdb);
	return rc;
}

/* ---- idle sessions ---- */

/*
 * End the listed session pid if it is still the same idle one: the listing
 * is older than the question on a terminal, and a session that has started
 * a query since, or a pid reused, is left alone.  item gets "terminated".
 */
static ops_code terminate_idle(ops_db *db, const char *pid, const char *secs, cJSON *item,
			       int *terminated, ops_error *err)
{
	const char *p[2] = {pid, secs};
	ops_rows *t = NULL;
	int ok;

	if (ops_db_query(db, "SELECT pg_catalog.pg_terminate_backend(pid) "
			 "FROM pg_catalog.pg_stat_activity "
			 "WHERE pid = $1::integer AND state = 'idle' "
			 "AND pg_catalog.now() - state_change "
			 "> pg_catalog.make_interval(secs => $2::double precision)",
			 2, p, &t, err) != OPS_OK) {
		cJSON_AddBoolToObject(item, "terminated", 0);
		cJSON_AddStringToObject(item, "error", err->message);
		return err->code;
	}
	ok = ops_rows_count(t) == 1 && ops_rows_value(t, 0, 0) &&
	     strcmp(ops_rows_value(t, 0, 0), "t") == 0;
	cJSON_AddBoolToObject(item, "terminated", ok);
	if (!ok && ops_rows_count(t) == 0)
		cJSON_AddStringToObject(item, "skipped", "no longer idle");
	*terminated += ok;
	ops_rows_free(t);
	return OPS_OK;
}

static ops_code pg_connections(const ops_dbm_ctx *ctx, ops_db *db,
				long idle_seconds, int terminate, cJSON *report,
				ops_error *err)
{
	static const char *const numeric[] = {"pid", "idle_seconds", NULL};
	char secs[32];
	const char *p[1] = {secs};
	ops_rows *rows = NULL;
	cJSON *list;
	ops_code rc;
	ops_error first;
	int i, terminated = 0, failed = 0;

	snprintf(secs, sizeof secs, "%ld", idle_seconds);
	cJSON_AddNumberToObject(report, "idle_for_seconds", (double)idle_seconds);
	/* Guide 000 section 2.1: state 'idle' for longer than the interval. */
	rc = rows_array(db,
		"SELECT pid, datname AS database, usename AS \"user\", "
		"application_name AS application, "
		"COALESCE(pg_catalog.host(client_addr), 'local') AS client, state, "
		"pg_catalog.round(EXTRACT(epoch FROM pg_catalog.now() - state_change))::bigint "
		"AS idle_seconds, "
		"pg_catalog.left(query, 200) AS query "
		"FROM pg_catalog.pg_stat_activity "
		"WHERE state = 'idle' AND pg_catalog.now() - state_change "
		"> pg_catalog.make_interval(secs => $1::double precision) "
		/* The guide's query spans the cluster; -d names one database, so
		 * only its client sessions (never a walsender's replication
		 * connection, nor our own). */
		"AND datname = pg_catalog.current_database() AND backend_type = 'client backend' "
		"AND pid <> pg_catalog.pg_backend_pid() ORDER BY state_change",
		1, p, numeric, report, "sessions", &rows, err);
	if (rc != OPS_OK)
		return rc;
	list = cJSON_GetObjectItemCaseSensitive(report, "sessions");
	if (terminate && ctx->run->dry_run) {
		cJSON_AddNumberToObject(report, "would_terminate", ops_rows_count(rows));
		ops_run_would_permit(ctx->run, "terminating sessions", report);
	} else if (terminate && ops_rows_count(rows) > 0) {
		char q[256];

		snprintf(q, sizeof q, "Terminate %d idle session%s on %s?", ops_rows_count(rows),
			 ops_rows_count(rows) == 1 ? "" : "s", ops_db_name(db));
		rc = allowed(ctx, "terminating sessions", q, err);
		for (i = 0; rc == OPS_OK && i < ops_rows_count(rows); i++) {
			ops_error e;

			if ((rc = ops_run_check_cancel(ctx->run, err)) != OPS_OK)
				break;
			/* One session we may not end (a superuser's, without the
			 * right) does not stop the others. */
			if (terminate_idle(db, ops_rows_value(rows, i, 0), secs,
					   cJSON_GetArrayItem(list, i), &terminated,
					   &e) != OPS_OK && failed++ == 0)
				first = e;
		}
	}
	cJSON_AddNumberToObject(report, "terminated", terminated);
	if (rc == OPS_OK && failed) {
		*err = first;
		ops_error_prefix(err, "%d session%s not terminated", failed,
				 failed == 1 ? "" : "s");
		rc = err->code;
	}
	ops_rows_free(rows);
	return rc;
}

/* ---- bloat ---- */

static ops_code pg_bloat(const ops_dbm_ctx *ctx, ops_db *db, int limit,
			  cJSON *report, ops_error *err)
{
	static const char *const numeric[] = {"total_bytes", "table_bytes", "index_bytes",
					      "toast_bytes", "live_tuples", "dead_tuples",
					      "dead_pct", NULL};
	char lim[16];
	const char *p[1] = {lim};

	snprintf(lim, sizeof lim, "%d", limit);
	/* Guide 000 section 2.2, with TOAST kept apart from the indexes. */
	return rows_array(db,
		"SELECT n.nspname AS schema, c.relname AS \"table\", "
		"pg_catalog.pg_total_relation_size(c.oid) AS total_bytes, "
		"pg_catalog.pg_relation_size(c.oid) AS table_bytes, "
		"pg_catalog.pg_indexes_size(c.oid) AS index_bytes, "
		"pg_catalog.pg_total_relation_size(c.oid) - pg_catalog.pg_relation_size(c.oid) "
		"  - pg_catalog.pg_indexes_size(c.oid) AS toast_bytes, "
		"COALESCE(s.n_live_tup, 0) AS live_tuples, "
		"COALESCE(s.n_dead_tup, 0) AS dead_tuples, "
		"CASE WHEN COALESCE(s.n_live_tup, 0) + COALESCE(s.n_dead_tup, 0) = 0 THEN 0 "
		"     ELSE pg_catalog.round(100.0 * s.n_dead_tup "
		"                           / (s.n_live_tup + s.n_dead_tup), 1) END AS dead_pct, "
		"pg_catalog.to_char(GREATEST(s.last_vacuum, s.last_autovacuum), "
		"                   'YYYY-MM-DD HH24:MI') AS last_vacuum "
		"FROM pg_catalog.pg_class c "
		"JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
		"LEFT JOIN pg_catalog.pg_stat_user_tables s ON s.relid = c.oid "
		"WHERE c.relkind IN ('r', 'm') "
		"AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
		"AND n.nspname NOT LIKE 'pg\\_toast%' "
		"ORDER BY pg_catalog.pg_total_relation_size(c.oid) DESC LIMIT $1::integer",
		1, p, numeric, report, "tables", NULL, err);
}

/* ---- optional extensions ---- */

/*
 * An extension the check needs is not there: that is a fact about the
 * server, said with how to enable it, not a failed run.  The report says so
 * ("available": false); the caller decides whether a person hears it.
 */
static ops_code not_available(ops_db *db, cJSON *report, const char *ext, const char *how)
{
	(void)db;
	cJSON_AddBoolToObject(report, "available", 0);
	cJSON_AddStringToObject(report, "extension", ext);
	cJSON_AddStringToObject(report, "to_enable", how);
	return OPS_OK;
}

/* ---- pg_stat_statements ---- */

static ops_code pg_slow_queries(const ops_dbm_ctx *ctx, ops_db *db, int limit,
				 int reset, cJSON *report, ops_error *err)
{
	static const char *const numeric[] = {"calls", "total_ms", "mean_ms", "rows", NULL};
	ops_rows *rows = NULL;
	char *schema = NULL, *sql = NULL, lim[16];
	const char *p[1] = {lim}, *total, *mean;
	int exec_names;
	ops_code rc;

	rc = ops_db_query(db, "SELECT n.nspname, "
			  "EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a "
			  "        JOIN pg_catalog.pg_class c ON c.oid = a.attrelid "
			  "        WHERE c.relname = 'pg_stat_statements' "
			  "        AND c.relnamespace = n.oid AND a.attname = 'total_exec_time') "
			  "FROM pg_catalog.pg_extension e "
			  "JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace "
			  "WHERE e.extname = 'pg_stat_statements'", 0, NULL, &rows, err);
	if (rc != OPS_OK)
		return rc;
	if (ops_rows_count(rows) == 0) {
		ops_rows_free(rows);
		return not_available(db, report, "pg_stat_statements",
				     "add pg_stat_statements to shared_preload_libraries, restart, "
				     "then CREATE EXTENSION pg_stat_statements");
	}
	cJSON_AddBoolToObject(report, "available", 1);
	schema = ops_db_quote_ident(db, ops_rows_value(rows, 0, 0));
	/* PostgreSQL 13 renamed total_time and mean_time. */
	exec_names = strcmp(ops_rows_value(rows, 0, 1), "t") == 0;
	ops_rows_free(rows);
	rows = NULL;
	total = exec_names ? "total_exec_time" : "total_time";
	mean = exec_names ? "mean_exec_time" : "mean_time";
	snprintf(lim, sizeof lim, "%d", limit);
	if (!schema || asprintf(&sql,
		"SELECT pg_catalog.left(query, 500) AS query, calls, "
		"pg_catalog.round(%s::numeric, 2) AS total_ms, "
		"pg_catalog.round(%s::numeric, 2) AS mean_ms, rows "
		"FROM %s.pg_stat_statements "
		/* The view covers the whole cluster; -d names one database. */
		"WHERE dbid = (SELECT oid FROM pg_catalog.pg_database "
		"              WHERE datname = pg_catalog.current_database()) "
		"ORDER BY %s DESC LIMIT $1::integer",
		total, mean, schema, mean) < 0) {
		sql = NULL;
		rc = ops_error_oom(err);
		goto out;
	}
	cJSON_AddStringToObject(report, "columns", exec_names ? "total_exec_time/mean_exec_time"
				: "total_time/mean_time");
	rc = rows_array(db, sql, 1, p, numeric, report, "queries", NULL, err);
	if (rc != OPS_OK) {
		ops_error_hint(err, "add pg_stat_statements to shared_preload_libraries "
			       "and restart the server");
		goto out;
	}
	if (reset && !ctx->run->dry_run) {
		free(sql);
		/* Since PostgreSQL 12 the reset can be limited to this database. */
		if (asprintf(&sql, ops_db_server_version(db) >= 120000
			     ? "SELECT %s.pg_stat_statements_reset(0, "
			       "(SELECT oid FROM pg_catalog.pg_database "
			       " WHERE datname = pg_catalog.current_database()), 0)"
			     : "SELECT %s.pg_stat_statements_reset()", schema) < 0) {
			sql = NULL;
			rc = ops_error_oom(err);
			goto out;
		}
		rc = ops_db_exec(db, sql, err);
		cJSON_AddBoolToObject(report, "reset", rc == OPS_OK);
	}
out:
	ops_rows_free(rows);
	free(schema);
	free(sql);
	return rc;
}

/* ---- settings review ---- */

/*
 * The memory the advice is sized for, and where the figure came from: the
 * operator's --memory; the server's own /proc/meminfo (a superuser or
 * pg_read_server_files may read it); this machine's, only when the server
 * runs here (a socket or a loopback address).  0 when none: run from a
 * bastion, the local memory would be the wrong machine's.
 */
static double server_memory(const ops_dbm_ctx *ctx, ops_db *db, const char **source)
{
	const char *host = PQhost(ops_db_handle(db));
	ops_rows *rows = NULL;
	ops_error e;
	double kb = 0;

	if (ctx->memory_bytes > 0) {
		*source = "--memory";
		return (double)ctx->memory_bytes;
	}
	if (ops_db_query(db, "SELECT pg_catalog.pg_read_file('/proc/meminfo', 0, 256)", 0, NULL,
			 &rows, &e) == OPS_OK && ops_rows_value(rows, 0, 0)) {
		const char *m = strstr(ops_rows_value(rows, 0, 0), "MemTotal:");

		if (m && sscanf(m, "MemTotal: %lf kB", &kb) == 1 && kb > 0) {
			ops_rows_free(rows);
			*source = "the server (/proc/meminfo)";
			return kb * 1024;
		}
	}
	ops_rows_free(rows);
	if (!host || !*host || host[0] == '/' || strcmp(host, "localhost") == 0 ||
	    strncmp(host, "127.", 4) == 0 || strcmp(host, "::1") == 0) {
		*source = "this machine (the server runs here)";
		return (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE);
	}
	*source = NULL;
	return 0;
}

static ops_code pg_config_review(const ops_dbm_ctx *ctx, ops_db *db,
				  cJSON *report, ops_error *err)
{
	ops_rows *rows = NULL;
	const char *source;
	double mem = server_memory(ctx, db, &source);
	double maxconn = 100;
	cJSON *list;
	ops_code rc;
	int i;

	/* Guide 000 section 2.3's query, with values in bytes where they are memory. */
	rc = ops_db_query(db,
		"SELECT name, setting, unit, context, short_desc, "
		"CASE unit WHEN '8kB' THEN setting::numeric * 8192 "
		"          WHEN 'kB' THEN setting::numeric * 1024 "
		"          WHEN 'MB' THEN setting::numeric * 1048576 ELSE NULL END AS value_bytes "
		"FROM pg_catalog.pg_settings WHERE name IN ('shared_buffers', 'work_mem', "
		"'maintenance_work_mem', 'effective_cache_size', 'max_connections') ORDER BY name",
		0, NULL, &rows, err);
	if (rc != OPS_OK)
		return rc;
	for (i = 0; i < ops_rows_count(rows); i++)
		if (strcmp(ops_rows_value(rows, i, 0), "max_connections") == 0)
			maxconn = ops_rows_number(rows, i, 1);
	if (source) {
		cJSON_AddNumberToObject(report, "memory_bytes", mem);
		cJSON_AddStringToObject(report, "memory_from", source);
	} else {
		cJSON_AddNullToObject(report, "memory_bytes");
		cJSON_AddStringToObject(report, "memory_from", "unknown");
		ops_log_warn("the memory of the server behind '%s' is unknown (not readable from "
			     "here): no sizes are recommended; give --memory SIZE (e.g. 16G)",
			     ops_db_name(db));
	}
	list = cJSON_AddArrayToObject(report, "settings");
	for (i = 0; i < ops_rows_count(rows); i++) {
		const char *name = ops_rows_value(rows, i, 0);
		cJSON *s = cJSON_CreateObject();
		double value = ops_rows_number(rows, i, 5), rec = 0;
		const char *why = "";

		cJSON_AddStringToObject(s, "name", name);
		cJSON_AddStringToObject(s, "setting", ops_rows_value(rows, i, 1));
		cJSON_AddStringToObject(s, "unit", ops_rows_value(rows, i, 2)
					? ops_rows_value(rows, i, 2) : "");
		cJSON_AddStringToObject(s, "context", ops_rows_value(rows, i, 3));
		if (strcmp(name, "shared_buffers") == 0) {
			rec = mem * 0.25;
			why = "about 25% of memory";
		} else if (strcmp(name, "effective_cache_size") == 0) {
			rec = mem * 0.75;
			why = "about 75% of memory";
		} else if (strcmp(name, "maintenance_work_mem") == 0) {
			rec = mem * 0.05 > 2147483648.0 ? 2147483648.0 : mem * 0.05;
			why = "about 5% of memory, at most 2 GiB";
		} else if (strcmp(name, "work_mem") == 0) {
			rec = mem * 0.25 / (maxconn > 0 ? maxconn : 100);
			if (rec < 4194304)
				rec = 4194304;
			why = "a quarter of memory shared by max_connections, at least 4 MiB";
		}
		/* Whole bytes, rounded down to the 8 kB pages PostgreSQL counts in. */
		rec = floor(rec / 8192) * 8192;
		if (ops_rows_value(rows, i, 5) && source) {
			cJSON_AddNumberToObject(s, "value_bytes", value);
			cJSON_AddNumberToObject(s, "recommended_bytes", rec);
			cJSON_AddStringToObject(s, "status", value * 2 < rec || value > rec * 2
						? "review" : "ok");
			cJSON_AddStringToObject(s, "recommendation", why);
		} else if (ops_rows_value(rows, i, 5)) {
			cJSON_AddNumberToObject(s, "value_bytes", value);
			cJSON_AddNullToObject(s, "recommended_bytes");
			cJSON_AddStringToObject(s, "status", "unknown");
			cJSON_AddStringToObject(s, "recommendation", why);
		} else {
			cJSON_AddNullToObject(s, "value_bytes");
			cJSON_AddNullToObject(s, "recommended_bytes");
			cJSON_AddStringToObject(s, "status", "ok");
			cJSON_AddStringToObject(s, "recommendation",
						"size it to the connection pool, not the clients");
		}
		cJSON_AddStringToObject(s, "description", ops_rows_value(rows, i, 4));
		cJSON_AddItemToArray(list, s);
	}
	ops_rows_free(rows);
	return OPS_OK;
}

/* ---- health ---- */

/* The checks so far: the report's list and the worst level in it. */
struct checks {
	cJSON *list;
	int worst;
	const ops_config *cfg;
};

/* The levels a value is judged by, for monitoring's perfdata: unit ("%",
 * "s" or ""), warning above warn, critical above crit (crit < warn: none). */
struct limits {
	const char *unit;
	double warn, crit;
};

static void add_check(struct checks *c, const char *name, int level, double value,
		      double threshold, struct limits lim, const char *message)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "check", name);
	cJSON_AddStringToObject(o, "status", level == 0 ? "ok" : level == 1 ? "warning"
				: "critical");
	cJSON_AddNumberToObject(o, "value", value);
	cJSON_AddNumberToObject(o, "threshold", threshold);
	cJSON_AddStringToObject(o, "unit", lim.unit);
	cJSON_AddNumberToObject(o, "warning_above", lim.warn);
	if (lim.crit >= lim.warn)
		cJSON_AddNumberToObject(o, "critical_above", lim.crit);
	cJSON_AddStringToObject(o, "message", message);
	cJSON_AddItemToArray(c->list, o);
	if (level > c->worst)
		c->worst = level;
}

/* sql's first value as a number, with param as its $1. */
static ops_code value_of(ops_db *db, const char *sql, long param, double *out, ops_error *err)
{
	char a[32];
	const char *p[1] = {a};

	snprintf(a, sizeof a, "%ld", param);
	return ops_db_query_number(db, sql, 1, p, out, err);
}

/* sql's first value as a number. */
static ops_code number(ops_db *db, const char *sql, double *out, ops_error *err)
{
	return ops_db_query_number(db, sql, 0, NULL, out, err);
}

/* 001: active connections should be < 80% of max. */
static ops_code check_connections(ops_db *db, struct checks *c, const void *arg, ops_error *err)
{
	long pct = ops_config_int(c->cfg, "health.connections_pct");
	double conns = 0, maxc = 0, used;
	char msg[256];
	ops_code rc;

	if ((rc = number(db, "SELECT count(*) FROM pg_catalog.pg_stat_activity "
			 "WHERE backend_type = 'client backend'", &conns, err)) != OPS_OK ||
	    (rc = number(db, "SELECT setting::numeric FROM pg_catalog.pg_settings "
			 "WHERE name = 'max_connections'", &maxc, err)) != OPS_OK)
		return rc;
	used = maxc > 0 ? 100.0 * conns / maxc : 0;
	snprintf(msg, sizeof msg, "%.0f of %.0f connections in use (%.0f%%)", conns, maxc, used);
	add_check(c, "connections", used > 95 ? 2 : used > (double)pct ? 1 : 0, used, (double)pct,
		  (struct limits){"%", (double)pct, 95}, msg);
	return OPS_OK;
}

/*
 * A check that warns when its query counts any session, given as $1 the
 * threshold in seconds from the configuration key; the message is the count,
 * one or many, and what they do longer than the threshold.
 */
struct count_check {
	const char *name, *key, *sql, *one, *many, *what;
};

/* 001: long-running queries (> 5 seconds). */
static const struct count_check long_queries = {
	.name = "long_queries", .key = "health.long_query",
	.sql = "SELECT count(*) FROM pg_catalog.pg_stat_activity "
	       "WHERE state = 'active' AND pid <> pg_catalog.pg_backend_pid() "
	       "AND backend_type = 'client backend' AND pg_catalog.now() - query_start "
	       "> pg_catalog.make_interval(secs => $1::double precision)",
	.one = "query", .many = "queries", .what = "running longer than",
};

/* 001 daily: lock conflicts. */
static const struct count_check lock_waits = {
	.name = "lock_waits", .key = "health.lock_wait",
	.sql = "SELECT count(*) FROM pg_catalog.pg_stat_activity "
	       "WHERE wait_event_type = 'Lock' "
	       "AND pg_catalog.now() - COALESCE(query_start, state_change) "
	       "> pg_catalog.make_interval(secs => $1::double precision)",
	.one = "session", .many = "sessions", .what = "waiting on a lock longer than",
};

static ops_code check_count(ops_db *db, struct checks *c, const void *arg, ops_error *err)
{
	const struct count_check *k = arg;
	long secs = ops_config_int(c->cfg, k->key);
	double v = 0;
	char msg[256], limit[32];
	ops_code rc;

	if ((rc = value_of(db, k->sql, secs, &v, err)) != OPS_OK)
		return rc;
	snprintf(msg, sizeof msg, "%.0f %s %s %s", v, v == 1 ? k->one : k->many, k->what,
		 ops_human_seconds((double)secs, limit, sizeof limit));
	add_check(c, k->name, v > 0 ? 1 : 0, v, (double)secs, (struct limits){"", 0, -1}, msg);
	return OPS_OK;
}

/* 001: replication lag (< 1 second), seen from the primary or a standby. */
static ops_code check_replication(ops_db *db, struct checks *c, const void *arg, ops_error *err)
{
	long lag_max = ops_config_int(c->cfg, "health.replication_lag");
	double v = 0, standby = 0;
	char msg[256];
	ops_code rc;

	if ((rc = number(db, "SELECT pg_catalog.pg_is_in_recovery()::integer", &standby,
			 err)) != OPS_OK)
		return rc;
	if (standby > 0)
		rc = number(db, "SELECT COALESCE(EXTRACT(epoch FROM pg_catalog.now() "
			    "- pg_catalog.pg_last_xact_replay_timestamp()), 0)", &v, err);
	else
		rc = number(db, "SELECT COALESCE(max(EXTRACT(epoch FROM replay_lag)), -1) "
			    "FROM pg_catalog.pg_stat_replication", &v, err);
	if (rc != OPS_OK)
		return rc;
	if (v < 0) {
		add_check(c, "replication", 0, 0, (double)lag_max,
			  (struct limits){"s", (double)lag_max, (double)lag_max * 10},
			  "no replicas connected");
		return OPS_OK;
	}
	snprintf(msg, sizeof msg, "replication lag %.2f s%s", v,
		 standby > 0 ? " (this server is a standby)" : "");
	add_check(c, "replication", v > (double)lag_max * 10 ? 2 : v > (double)lag_max ? 1 : 0,
		  v, (double)lag_max, (struct limits){"s", (double)lag_max, (double)lag_max * 10},
		  msg);
	return OPS_OK;
}

/* 001: dead tuples percentage, per table, where it is worth a VACUUM. */
static ops_code check_dead_tuples(ops_db *db, struct checks *c, const void *arg, ops_error *err)
{
	long pct = ops_config_int(c->cfg, "health.dead_tuples_pct");
	char a[32], msg[256];
	const char *p[1] = {a};
	ops_rows *dead = NULL;
	double v;
	ops_code rc;

	snprintf(a, sizeof a, "%ld", pct);
	rc = ops_db_query(db, "SELECT count(*), COALESCE(pg_catalog.string_agg("
			  "pg_catalog.format('%I.%I', schemaname, relname), ', ' "
			  "ORDER BY n_dead_tup DESC), '') "
			  "FROM pg_catalog.pg_stat_user_tables WHERE n_dead_tup >= 1000 "
			  "AND 100.0 * n_dead_tup / GREATEST(n_live_tup + n_dead_tup, 1) "
			  "    > $1::numeric",
			  1, p, &dead, err);
	if (rc != OPS_OK)
		return rc;
	v = ops_rows_number(dead, 0, 0);
	if (v > 0)
		snprintf(msg, sizeof msg, "%.0f tables with more than %ld%% dead tuples: %.180s",
			 v, pct, ops_rows_value(dead, 0, 1));
	else
		snprintf(msg, sizeof msg, "no table with more than %ld%% dead tuples", pct);
	ops_rows_free(dead);
	add_check(c, "dead_tuples", v > 0 ? 1 : 0, v, (double)pct, (struct limits){"", 0, -1}, msg);
	return OPS_OK;
}

/* Transaction-ID wraparound: the oldest unfrozen database. */
static ops_code check_wraparound(ops_db *db, struct checks *c, const void *arg, ops_error *err)
{
	long warn = ops_config_int(c->cfg, "health.xid_age_warning");
	long crit = ops_config_int(c->cfg, "health.xid_age_critical");
	double v = 0;
	char msg[256];
	ops_code rc;

	rc = number(db, "SELECT max(pg_catalog.age(datfrozenxid)) FROM pg_catalog.pg_database",
		    &v, err);
	if (rc != OPS_OK)
		return rc;
	snprintf(msg, sizeof msg, "oldest transaction-ID age %.0f", v);
	add_check(c, "wraparound", v > (double)crit ? 2 : v > (double)warn ? 1 : 0, v,
		  (double)warn, (struct limits){"", (double)warn, (double)crit}, msg);
	return OPS_OK;
}

/* Leftovers of a failed REINDEX CONCURRENTLY (see invalid_leftovers). */
static ops_code check_invalid_indexes(ops_db *db, struct checks *c, const void *arg,
				      ops_error *err)
{
	ops_rows *bad = NULL;
	char msg[256];
	ops_code rc = invalid_leftovers(db, &bad, err);
	int n;

	if (rc != OPS_OK)
		return rc;
	n = ops_rows_count(bad);
	if (n)
		snprintf(msg, sizeof msg, "%d invalid index%s left by a failed REINDEX "
			 "CONCURRENTLY (%.120s%s): opsctl db reindex --force drops them", n,
			 n == 1 ? "" : "es", ops_rows_value(bad, 0, 0), n > 1 ? ", ..." : "");
	else
		snprintf(msg, sizeof msg, "no invalid index left by REINDEX CONCURRENTLY");
	ops_rows_free(bad);
	add_check(c, "invalid_indexes", n ? 1 : 0, n, 0, (struct limits){"", 0, -1}, msg);
	return OPS_OK;
}

static ops_code pg_health(const ops_dbm_ctx *ctx, ops_db *db, int *level,
			  cJSON *report, ops_error *err)
{
	static const struct {
		ops_code (*fn)(ops_db *db, struct checks *c, const void *arg, ops_error *err);
		const void *arg;
	} all[] = {
		{check_connections, NULL}, {check_count, &long_queries},
		{check_replication, NULL}, {check_dead_tuples, NULL},
		{check_count, &lock_waits}, {check_wraparound, NULL},
		{check_invalid_indexes, NULL},
	};
	struct checks c = {.list = cJSON_AddArrayToObject(report, "checks"),
			   .cfg = ctx->run->cfg};
	ops_code rc;
	size_t i;

	/* In guide 001's order, which is the order of the report. */
	for (i = 0; i < sizeof all / sizeof all[0]; i++)
		if ((rc = all[i].fn(db, &c, all[i].arg, err)) != OPS_OK)
			return rc;
	cJSON_AddStringToObject(report, "health", c.worst == 0 ? "ok" : c.worst == 1 ? "warning"
				: "critical");
	*level = c.worst;
	return OPS_OK;
}

/* ---- sizes ---- */

static ops_code pg_size(const ops_dbm_ctx *ctx, ops_db *db, cJSON *report,
			 ops_error *err)
{
	ops_rows *rows = NULL;
	double size = 0;
	cJSON *list;
	ops_code rc;
	int i;

	if ((rc = number(db, "SELECT pg_catalog.pg_database_size(pg_catalog.current_database())",
			 &size, err)) != OPS_OK)
		return rc;
	cJSON_AddNumberToObject(report, "size_bytes", size);
	rc = ops_db_query(db,
		"SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) AS tbl, c.reltuples, "
		"pg_catalog.pg_total_relation_size(c.oid) "
		"FROM pg_catalog.pg_class c "
		"JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
		"WHERE c.relkind IN ('r', 'm', 'p') "
		"AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
		"AND n.nspname NOT LIKE 'pg\\_toast%' AND c.relpersistence <> 't' "
		"ORDER BY pg_catalog.pg_total_relation_size(c.oid) DESC, 1", 0, NULL, &rows, err);
	if (rc != OPS_OK)
		return rc;
	list = cJSON_AddArrayToObject(report, "tables");
	for (i = 0; i < ops_rows_count(rows); i++) {
		const char *name = ops_rows_value(rows, i, 0);
		double est = ops_rows_number(rows, i, 1), n = est;
		int exact = 0;
		cJSON *t = cJSON_CreateObject();

		/* Counting a large table reads all of it; the estimate is enough
		 * there.  A cancelled run stops counting, not reporting. */
		if (est < 100000 && !ops_cancelled()) {
			char *sql = NULL;

			if (asprintf(&sql, "SELECT count(*) FROM %s", name) >= 0 &&
			    ops_db_query_number(db, sql, 0, NULL, &n, NULL) == OPS_OK)
				exact = 1;
			free(sql);
		}
		cJSON_AddStringToObject(t, "table", name);
		cJSON_AddNumberToObject(t, "rows", n < 0 ? 0 : n);
		cJSON_AddBoolToObject(t, "rows_exact", exact);
		cJSON_AddNumberToObject(t, "total_bytes", ops_rows_number(rows, i, 2));
		cJSON_AddItemToArray(list, t);
	}
	ops_rows_free(rows);
	return OPS_OK;
}

/* ---- amcheck ---- */

static ops_code pg_integrity(const ops_dbm_ctx *ctx, ops_db *db, cJSON *report,
			      ops_error *err)
{
	ops_rows *ext = NULL, *idx = NULL;
	char *schema = NULL, *sql = NULL;
	cJSON *failures;
	ops_code rc;
	int i, checked = 0, failed = 0;

	rc = ops_db_query(db, "SELECT n.nspname FROM pg_catalog.pg_extension e "
			  "JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace "
			  "WHERE e.extname = 'amcheck'",
			  0, NULL, &ext, err);
	if (rc != OPS_OK)
		return rc;
	if (ops_rows_count(ext) == 0) {
		ops_rows_free(ext);
		return not_available(db, report, "amcheck",
				     "CREATE EXTENSION amcheck (package postgresql-contrib)");
	}
	cJSON_AddBoolToObject(report, "available", 1);
	schema = ops_db_quote_ident(db, ops_rows_value(ext, 0, 0));
	ops_rows_free(ext);
	if (!schema)
		return ops_error_oom(err);
	rc = ops_db_query(db,
		"SELECT i.indexrelid::pg_catalog.regclass::text, i.indexrelid "
		"FROM pg_catalog.pg_index i "
		"JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid "
		"JOIN pg_catalog.pg_am am ON am.oid = c.relam "
		"JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
		"WHERE am.amname = 'btree' AND i.indisvalid AND i.indisready "
		"AND c.relpersistence <> 't' "
		"AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
		"AND n.nspname NOT LIKE 'pg\\_toast%' "
		"ORDER BY 1", 0, NULL, &idx, err);
	if (rc != OPS_OK)
		goto out;
	failures = cJSON_AddArrayToObject(report, "failures");
	if (asprintf(&sql, "SELECT %s.bt_index_check($1::pg_catalog.oid)", schema) < 0) {
		sql = NULL;
		rc = ops_error_oom(err);
		goto out;
	}
	for (i = 0; i < ops_rows_count(idx); i++) {
		const char *p[1] = {ops_rows_value(idx, i, 1)};
		ops_rows *r = NULL;
		ops_error e;

		if ((rc = ops_run_check_cancel(ctx->run, err)) != OPS_OK)
			goto out;
		if (ops_db_query(db, sql, 1, p, &r, &e) != OPS_OK) {
			cJSON *f = cJSON_CreateObject();

			/* A check the run cancelled found nothing wrong. */
			if (e.code == OPS_EUNAVAIL || ops_cancelled()) {
				cJSON_Delete(f);
				*err = e;
				rc = e.code;
				goto out;
			}
			cJSON_AddStringToObject(f, "index", ops_rows_value(idx, i, 0));
			cJSON_AddStringToObject(f, "error", e.message);
			cJSON_AddItemToArray(failures, f);
			failed++;
		}
		ops_rows_free(r);
		checked++;
	}
	cJSON_AddStringToObject(report, "check", "amcheck bt_index_check");
	cJSON_AddNumberToObject(report, "indexes_checked", checked);
	cJSON_AddNumberToObject(report, "indexes_failed", failed);
	if (failed)
		rc = ops_error_set(err, OPS_EDATA, "amcheck found %d damaged indexes in '%s'",
				   failed, ops_db_name(db));
out:
	ops_rows_free(idx);
	free(schema);
	free(sql);
	return rc;
}

const struct dbm_engine ops_dbm_pg_engine = {
	.name = "PostgreSQL",
	.engine = "postgresql",
	.vacuum = pg_vacuum,
	.analyze = pg_analyze,
	.reindex = pg_reindex,
	.connections = pg_connections,
	.bloat = pg_bloat,
	.slow_queries = pg_slow_queries,
	.config_review = pg_config_review,
	.health = pg_health,
	.size = pg_size,
	.integrity = pg_integrity,
};
