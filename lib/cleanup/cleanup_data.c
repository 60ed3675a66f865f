/*
 * `cleanup data`: the guides' retention on rows (cleanup_data.h), done in
 * batches that never hold a lock for long, with archived rows written to
 * the backup store before they are deleted.
 *
 * Batches find their rows by physical address (ctid on PostgreSQL, rowid on
 * SQLite) rather than by a key, so any table works, primary key or not;
 * `ctid = ANY(ARRAY(subquery))` is a TID scan, so a batch costs its own
 * rows, not a scan of the table.  The cut-off is fixed once per rule, from
 * the run's clock, so rows inserted while the rule runs are never old enough
 * to go.  Not done here: partitioned tables (a ctid is unique only within
 * one partition; name the partitions as rules) and timestamps stored as
 * text on PostgreSQL.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "opsmaint/backup.h"
#include "opsmaint/cleanup_data.h"
#include "opsmaint/clock.h"
#include "opsmaint/config.h"
#include "opsmaint/db.h"
#include "opsmaint/hash.h"
#include "opsmaint/store.h"

/* ---- rules ---- */

void ops_cleanup_data_rules_free(ops_cleanup_data_rule **rules)
{
	size_t i;

	for (i = 0; rules && rules[i]; i++) {
		free(rules[i]->text);
		free(rules[i]->table);
		free(rules[i]->column);
		free(rules[i]->prefix);
		free(rules[i]);
	}
	free(rules);
}

/* Letters, digits and '_', a letter or '_' first: a name we never need to
 * trust the catalog lookup alone for, and one a message can show as is. */
static int ident_ok(const char *s)
{
	const char *p;

	if (!s || !(isalpha((unsigned char)*s) || *s == '_'))
		return 0;
	for (p = s; *p; p++)
		if (!(isalnum((unsigned char)*p) || *p == '_' || *p == '.'))
			return 0;
	return p - s < 64 * 2 + 1;
}

static ops_code parse_one(const char *text, ops_code code, ops_cleanup_data_rule *r,
			  ops_error *err)
{
	char *copy = strdup(text), *f[6] = {0}, *save = NULL, *tok, *s;
	size_t n = 0, len;
	ops_error e;
	ops_code rc = OPS_OK;

	if (!copy)
		return ops_error_oom(err);
	r->text = strdup(text);
	len = strlen(copy);
	if (len > 2 && strcmp(copy + len - 2, "()") == 0) {
		copy[len - 2] = '\0';
		if (!ident_ok(copy) || strchr(copy, '.')) {
			rc = ops_error_set(err, code, "cleanup rule '%s': '%s' is not a function name",
					   text, copy);
			goto out;
		}
		r->action = OPS_CLEANUP_DATA_CALL;
		r->table = strdup(copy);
		goto out;
	}
	for (s = copy; (tok = strtok_r(s, ":", &save)) != NULL && n < 6; s = NULL)
		f[n++] = tok;
	if (n < 4 || n > 5) {
		rc = ops_error_set(err, code, "cleanup rule '%s': not TABLE:COLUMN:AGE:ACTION"
				   "[:PREFIX] or FUNCTION()", text);
		goto out;
	}
	if (!ident_ok(f[0]) || !ident_ok(f[1]) || strchr(f[1], '.')) {
		rc = ops_error_set(err, code, "cleanup rule '%s': '%s' is not a table and column "
				   "name", text, !ident_ok(f[0]) ? f[0] : f[1]);
		goto out;
	}
	if (ops_parse_duration(f[2], &r->age, &e) != OPS_OK || r->age <= 0) {
		rc = ops_error_set(err, code, "cleanup rule '%s': '%s' is not an age (examples: "
				   "90d, 30d, 12h)", text, f[2]);
		goto out;
	}
	if (strcmp(f[3], "delete") == 0)
		r->action = OPS_CLEANUP_DATA_DELETE;
	else if (strcmp(f[3], "archive") == 0)
		r->action = OPS_CLEANUP_DATA_ARCHIVE;
	else {
		rc = ops_error_set(err, code, "cleanup rule '%s': action '%s' is not delete or "
				   "archive", text, f[3]);
		goto out;
	}
	if (n == 5 && r->action != OPS_CLEANUP_DATA_ARCHIVE) {
		rc = ops_error_set(err, code, "cleanup rule '%s': only archive takes a prefix", text);
		goto out;
	}
	r->table = strdup(f[0]);
	r->column = strdup(f[1]);
	if (r->action == OPS_CLEANUP_DATA_ARCHIVE) {
		char probe[512];

		if (n == 5)
			r->prefix = strdup(f[4]);
		else if (asprintf(&r->prefix, "cleanup/%s", f[0]) < 0)
			r->prefix = NULL;
		snprintf(probe, sizeof probe, "%s/x", r->prefix ? r->prefix : "");
		if (r->prefix && !ops_store_key_valid(probe)) {
			rc = ops_error_set(err, code, "cleanup rule '%s': '%s' is not a store prefix "
					   "(letters, digits, '.', '_', '-' between '/')", text,
					   r->prefix);
			goto out;
		}
	}
	if (!r->table || !r->column || (r->action == OPS_CLEANUP_DATA_ARCHIVE && !r->prefix))
		rc = ops_error_oom(err);
out:
	if (rc == OPS_OK && (!r->text || !r->table))
		rc = ops_error_oom(err);
	free(copy);
	return rc;
}

ops_code ops_cleanup_data_rules_parse(char *const *rules, ops_code code,
				      ops_cleanup_data_rule ***out, ops_error *err)
{
	size_t n = ops_strv_len(rules), i;
	ops_cleanup_data_rule **v = calloc(n + 1, sizeof *v);
	ops_code rc = OPS_OK;

	*out = NULL;
	if (!v)
		return ops_error_oom(err);
	for (i = 0; i < n && rc == OPS_OK; i++) {
		if (!(v[i] = calloc(1, sizeof *v[i])))
			rc = ops_error_oom(err);
		else
			rc = parse_one(rules[i], code, v[i], err);
	}
	if (rc == OPS_OK && n == 0) {
		rc = ops_error_set(err, code, "no cleanup rules given");
		ops_error_hint(err, "Set cleanup.data_rules, or give --rule TABLE:COLUMN:AGE:ACTION.");
	}
	if (rc != OPS_OK) {
		ops_cleanup_data_rules_free(v);
		return rc;
	}
	*out = v;
	return OPS_OK;
}

/* ---- one database ---- */

struct job {
	const ops_run *run;
	const ops_cleanup_data_opts *o;
	ops_db *db;
	int pg;
	long batch;
	long lock_ms;
	ops_store *store;	/* opened at the first archive batch */
	char dbkey[96];		/* the database as a store key component */
	char stamp[OPS_TIME_ISO_SIZE];	/* 20261202T142500Z: the run's start */
	long archives;		/* objects written in the run, for unique keys */
	const char *rid;	/* SQLite: the rule's table's name for its rowid */
};

/* The cut-off as the column's engines compare it, in UTC. */
static void cutoff_text(time_t t, int pg, char *buf, size_t size)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, size, pg ? "%Y-%m-%d %H:%M:%S+00" : "%Y-%m-%d %H:%M:%S", &tm);
}

/*
 * The WHERE clause of a rule, its parameters being the cut-off ($1) and, on
 * SQLite, the cut-off in epoch seconds (?2): SQLite compares a number with
 * text as always smaller, so a column of epoch numbers compared with a date
 * would match every row; each storage class is compared with its own kind.
 */
static char *where_clause(const struct job *j, const char *col)
{
	char *w = NULL;

	if (j->pg) {
		if (asprintf(&w, "%s < $1", col) < 0)
			return NULL;
	} else if (asprintf(&w, "((typeof(%s) = 'text' AND %s < ?1) OR "
			    "(typeof(%s) IN ('integer', 'real') AND %s < CAST(?2 AS INTEGER)))",
			    col, col, col, col) < 0)
		return NULL;
	return w;
}

static ops_code begin_batch(struct job *j, ops_error *err)
{
	char sql[96];

	if (!j->pg)	/* the write lock now, not at the first write: no upgrade deadlock */
		return ops_db_exec(j->db, "BEGIN IMMEDIATE", err);
	/* A batch waits at most this long for a row lock, then fails rather
	 * than queue the application's writes behind it. */
	snprintf(sql, sizeof sql, "BEGIN; SET LOCAL lock_timeout = '%ldms'", j->lock_ms);
	return ops_db_exec(j->db, sql, err);
}

static void rollback(struct job *j)
{
	if (!ops_db_in_transaction(j->db))
		return;
	if (ops_cancelled())	/* the ROLLBACK itself must not be cancelled */
		ops_db_set_cleanup(j->db);
	ops_db_exec(j->db, "ROLLBACK", NULL);
}

/* One CSV field: quoted when it must be; NULL is an empty unquoted field
 * and "" a quoted empty one, as PostgreSQL's COPY CSV writes them. */
static int csv_field(FILE *fp, const char *v)
{
	const char *p;

	if (!v)
		return 0;
	if (!*v || strpbrk(v, ",\"\r\n") || isspace((unsigned char)v[0])) {
		if (fputc('"', fp) == EOF)
			return -1;
		for (p = v; *p; p++)
			if ((*p == '"' && fputc('"', fp) == EOF) || fputc(*p, fp) == EOF)
				return -1;
		return fputc('"', fp) == EOF ? -1 : 0;
	}
	return fputs(v, fp) == EOF ? -1 : 0;
}

/* rows as CSV with a header, skipping column skip (the row address). */
static ops_code rows_csv(const ops_rows *rows, int skip, char **buf, size_t *len, ops_error *err)
{
	FILE *fp = open_memstream(buf, len);
	int r, c, n = ops_rows_count(rows), nc = ops_rows_columns(rows), bad = 0, first;

	if (!fp)
		return ops_error_oom(err);
	for (r = -1; r < n && !bad; r++) {
		first = 1;
		for (c = 0; c < nc && !bad; c++) {
			if (c == skip)
				continue;
			if (!first && fputc(',', fp) == EOF)
				bad = 1;
			first = 0;
			bad = bad || csv_field(fp, r < 0 ? ops_rows_column_name(rows, c)
						   : ops_rows_value(rows, r, c)) != 0;
		}
		bad = bad || fputs("\r\n", fp) == EOF;
	}
	if (fclose(fp) != 0 || bad) {
		free(*buf);
		*buf = NULL;
		return ops_error_oom(err);
	}
	return OPS_OK;
}

static ops_code put_object(ops_store *store, const char *key, const char *data, size_t len,
			   ops_error *err)
{
	ops_store_writer *w = NULL;
	ops_code rc = ops_store_put_begin(store, key, &w, err);

	if (rc == OPS_OK && (rc = ops_store_write(w, data, len, err)) != OPS_OK) {
		ops_store_put_abort(w);
		return rc;
	}
	return rc == OPS_OK ? ops_store_put_commit(w, err) : rc;
}

/*
 * Write one batch's rows and their SHA-256 (a sha256sum line, so that
 * `sha256sum -c` checks a downloaded pair) into the store.  Both commits
 * return only once the object is durable (store.h: local fsync and rename,
 * S3's acknowledged upload); the caller deletes the rows after that.
 */
static ops_code archive_rows(struct job *j, const ops_cleanup_data_rule *r, const ops_rows *rows,
			     int skip, cJSON *list, ops_error *err)
{
	char *csv = NULL, *key = NULL, *sumkey = NULL, *sumline = NULL, hex[65];
	const char *base;
	size_t len = 0;
	ops_code rc;

	if (!j->store && (rc = ops_backup_open_store(j->run->cfg, j->o->s3, &j->store, err)) != OPS_OK)
		return rc;
	if ((rc = rows_csv(rows, skip, &csv, &len, err)) != OPS_OK)
		return rc;
	ops_sha256_hex(csv, len, hex);
	j->archives++;
	if (asprintf(&key, "%s/%s/%s-%s-%06ld.csv", r->prefix, j->dbkey, j->stamp, r->table,
		     j->archives) < 0 || asprintf(&sumkey, "%s.sha256", key) < 0) {
		rc = ops_error_oom(err);
		goto out;
	}
	base = strrchr(key, '/') + 1;
	if (asprintf(&sumline, "%s  %s\n", hex, base) < 0) {
		rc = ops_error_oom(err);
		goto out;
	}
	if ((rc = put_object(j->store, key, csv, len, err)) != OPS_OK ||
	    (rc = put_object(j->store, sumkey, sumline, strlen(sumline), err)) != OPS_OK) {
		ops_error_prefix(err, "archive of %s rows not written, nothing deleted",
				 r->table);
		goto out;
	}
	{
		cJSON *a = cJSON_CreateObject();

		cJSON_AddStringToObject(a, "key", key);
		cJSON_AddNumberToObject(a, "rows", ops_rows_count(rows));
		cJSON_AddNumberToObject(a, "size_bytes", (double)len);
		cJSON_AddStringToObject(a, "sha256", hex);
		cJSON_AddItemToArray(list, a);
	}
out:
	free(csv);
	free(key);
	free(sumkey);
	free(sumline);
	return rc;
}

/* One delete batch: the number of rows it deleted in *n. */
static ops_code delete_batch(struct job *j, const char *qt, const char *where,
			     const char *const *params, int np, long long *n, ops_error *err)
{
	char *sql = NULL;
	ops_rows *rows = NULL;
	ops_code rc;

	if (j->pg ? asprintf(&sql, "WITH d AS (DELETE FROM %s WHERE ctid = ANY(ARRAY("
			     "SELECT ctid FROM %s WHERE %s LIMIT %ld)) RETURNING 1) "
			     "SELECT count(*) FROM d", qt, qt, where, j->batch) < 0
		  : asprintf(&sql, "DELETE FROM %s WHERE %s IN (SELECT %s FROM %s "
			     "WHERE %s LIMIT %ld) RETURNING 1", qt, j->rid, j->rid, qt, where,
			     j->batch) < 0)
		return ops_error_oom(err);
	if ((rc = begin_batch(j, err)) == OPS_OK &&
	    (rc = ops_db_query(j->db, sql, np, params, &rows, err)) == OPS_OK) {
		if (j->pg)
			rc = ops_rows_int64(rows, 0, 0, n, err);
		else
			*n = ops_rows_count(rows);
	}
	if (rc == OPS_OK)
		rc = ops_db_exec(j->db, "COMMIT", err);
	if (rc != OPS_OK)
		rollback(j);
	ops_rows_free(rows);
	free(sql);
	return rc;
}

/*
 * One archive batch: lock the batch's rows (FOR UPDATE on PostgreSQL;
 * BEGIN IMMEDIATE holds SQLite's write lock), write them to the store,
 * and only when that returned (durable) delete exactly those rows and
 * commit.  A failure before the delete's COMMIT rolls back: the rows stay,
 * at worst also archived, never lost.
 */
static ops_code archive_batch(struct job *j, const ops_cleanup_data_rule *r, const char *qt,
			      const char *where, const char *const *params, int np,
			      cJSON *list, long long *n, ops_error *err)
{
	char *sel = NULL, *del = NULL, *ids = NULL;
	ops_rows *rows = NULL, *drows = NULL;
	const char *dparams[1];
	size_t cap = 0, used = 0;
	int i, count;
	ops_code rc;

	*n = 0;
	if (j->pg ? asprintf(&sel, "SELECT ctid::text AS opsctl_ctid, t.* FROM %s t WHERE %s "
			     "LIMIT %ld FOR UPDATE", qt, where, j->batch) < 0
		  : asprintf(&sel, "SELECT %s AS opsctl_rowid, * FROM %s WHERE %s "
			     "ORDER BY %s LIMIT %ld", j->rid, qt, where, j->rid, j->batch) < 0)
		return ops_error_oom(err);
	if ((rc = begin_batch(j, err)) != OPS_OK ||
	    (rc = ops_db_query(j->db, sel, np, params, &rows, err)) != OPS_OK)
		goto out;
	if ((count = ops_rows_count(rows)) == 0) {
		rc = ops_db_exec(j->db, "COMMIT", err);
		goto out;
	}
	if ((rc = archive_rows(j, r, rows, 0, list, err)) != OPS_OK)
		goto out;
	if ((rc = ops_run_check_cancel(j->run, err)) != OPS_OK)
		goto out;
	if (j->pg) {
		char *arr = NULL;

		/* Exactly the rows written: their ctids, locked since the SELECT
		 * (server text such as "(0,1)", sent as one array parameter). */
		for (i = 0; i < count; i++) {
			const char *v = ops_rows_value(rows, i, 0);
			size_t need = used + strlen(v) + 4;

			if (need + 2 > cap) {
				char *nb;

				cap = (need + 2) * 2;
				if (!(nb = realloc(ids, cap))) {
					rc = ops_error_oom(err);
					goto out;
				}
				ids = nb;
			}
			used += (size_t)snprintf(ids + used, cap - used, "%s\"%s\"", i ? "," : "", v);
		}
		if (asprintf(&arr, "{%s}", ids) < 0 ||
		    asprintf(&del, "WITH d AS (DELETE FROM %s WHERE ctid = ANY($1::pg_catalog.tid[]) "
			     "RETURNING 1) SELECT count(*) FROM d", qt) < 0) {
			free(arr);
			rc = ops_error_oom(err);
			goto out;
		}
		dparams[0] = arr;
		rc = ops_db_query(j->db, del, 1, dparams, &drows, err);
		free(arr);
		if (rc == OPS_OK)
			rc = ops_rows_int64(drows, 0, 0, n, err);
	} else {
		/* The same selection again: BEGIN IMMEDIATE has kept every other
		 * writer out since the SELECT, so it names the same rows, and no
		 * value read from the table is ever spliced into SQL. */
		if (asprintf(&del, "DELETE FROM %s WHERE %s IN (SELECT %s FROM %s WHERE %s "
			     "ORDER BY %s LIMIT %ld) RETURNING 1", qt, j->rid, j->rid, qt, where,
			     j->rid, j->batch) < 0) {
			rc = ops_error_oom(err);
			goto out;
		}
		rc = ops_db_query(j->db, del, np, params, &drows, err);
		if (rc == OPS_OK)
			*n = ops_rows_count(drows);
	}
	/* A count that differs keeps the rows: archived twice is fine, lost is not. */
	if (rc == OPS_OK && *n != count)
		rc = ops_error_set(err, OPS_EFAIL, "%s: %d rows archived but %lld would be "
				   "deleted; rolled back", r->table, count, *n);
	if (rc == OPS_OK)
		rc = ops_db_exec(j->db, "COMMIT", err);
out:
	if (rc != OPS_OK) {
		rollback(j);
		*n = 0;
	}
	ops_rows_free(rows);
	ops_rows_free(drows);
	free(sel);
	free(del);
	free(ids);
	return rc;
}

/*
 * SQLite: a name that means the table's rowid.  A column may take the name
 * rowid (or _rowid_, or oid) for itself, and a batch by that column could
 * delete rows younger than the cut-off that share its value; so the first
 * of the three no column shadows, and the rule fails when all three are.
 */
static ops_code pick_rowid(struct job *j, const ops_cleanup_data_rule *r, ops_error *err)
{
	static const char *const names[] = {"rowid", "_rowid_", "oid"};
	const char *p[2] = {r->table, NULL};
	ops_rows *rows = NULL;
	ops_code rc;
	size_t i;

	j->rid = NULL;
	for (i = 0; i < 3 && !j->rid; i++) {
		p[1] = names[i];
		rc = ops_db_query(j->db, "SELECT 1 FROM pragma_table_info(?1) "
				  "WHERE lower(name) = ?2", 2, p, &rows, err);
		if (rc != OPS_OK)
			return rc;
		if (ops_rows_count(rows) == 0)
			j->rid = names[i];
		ops_rows_free(rows);
		rows = NULL;
	}
	if (!j->rid)
		return ops_error_set(err, OPS_EFAIL, "cleanup rule '%s': %s has columns named "
				     "rowid, _rowid_ and oid, so its rows cannot be addressed",
				     r->text, r->table);
	return OPS_OK;
}

/* 1 when the table is partitioned (PostgreSQL), whose ctids repeat. */
static ops_code partitioned(struct job *j, const char *qt, int *yes, ops_error *err)
{
	const char *p[1] = {qt};
	ops_rows *rows = NULL;
	ops_code rc;

	*yes = 0;
	if (!j->pg)
		return OPS_OK;
	rc = ops_db_query(j->db, "SELECT relkind FROM pg_catalog.pg_class WHERE oid = "
			  "$1::pg_catalog.regclass", 1, p, &rows, err);
	if (rc == OPS_OK && ops_rows_count(rows) == 1)
		*yes = strcmp(ops_rows_value(rows, 0, 0), "p") == 0;
	ops_rows_free(rows);
	return rc;
}

/* Add or replace a number member. */
static void set_num(cJSON *obj, const char *name, double v)
{
	if (cJSON_GetObjectItemCaseSensitive(obj, name))
		cJSON_ReplaceItemInObjectCaseSensitive(obj, name, cJSON_CreateNumber(v));
	else
		cJSON_AddNumberToObject(obj, name, v);
}

static void note(cJSON *one, const char *status, const char *text)
{
	cJSON_ReplaceItemInObjectCaseSensitive(one, "status", cJSON_CreateString(status));
	cJSON_AddStringToObject(one, "note", text);
}

/* FUNCTION(): called when db.schema has it without arguments. */
static ops_code run_call(struct job *j, const ops_cleanup_data_rule *r, cJSON *one,
			 ops_error *err)
{
	const char *schema = ops_config_get(j->run->cfg, "db.schema");
	const char *p[2] = {r->table, schema ? schema : "public"};
	char *qs = NULL, *qf = NULL, *sql = NULL;
	ops_rows *rows = NULL;
	ops_code rc;

	if (!j->pg) {
		note(one, "skipped", "SQLite has no stored functions");
		return OPS_OK;
	}
	rc = ops_db_query(j->db, "SELECT 1 FROM pg_catalog.pg_proc f JOIN pg_catalog.pg_namespace n "
			  "ON n.oid = f.pronamespace WHERE f.proname = $1 AND n.nspname = $2 "
			  "AND f.pronargs = 0", 2, p, &rows, err);
	if (rc != OPS_OK)
		return rc;
	if (ops_rows_count(rows) == 0) {
		ops_rows_free(rows);
		note(one, "skipped", "no such function in this database");
		return OPS_OK;
	}
	ops_rows_free(rows);
	rows = NULL;
	if (j->run->dry_run) {
		cJSON_AddStringToObject(one, "note", "would be called");
		return OPS_OK;
	}
	qs = ops_db_quote_ident(j->db, p[1]);
	qf = ops_db_quote_ident(j->db, r->table);
	if (!qs || !qf || asprintf(&sql, "SELECT %s.%s()::text", qs, qf) < 0) {
		rc = ops_error_oom(err);
		goto out;
	}
	if ((rc = ops_db_query(j->db, sql, 0, NULL, &rows, err)) == OPS_OK) {
		const char *v = ops_rows_count(rows) ? ops_rows_value(rows, 0, 0) : NULL;
		long long k;
		ops_error ignored;

		/* 004's function returns the rows it removed, where it returns anything. */
		if (v && ops_parse_int64(v, 0, 0, &k, &ignored) == OPS_OK)
			set_num(one, "rows_deleted", (double)k);
		if (v)
			cJSON_AddStringToObject(one, "returned", v);
	}
out:
	ops_rows_free(rows);
	free(sql);
	free(qs);
	free(qf);
	return rc;
}

static ops_code run_rule(struct job *j, const ops_cleanup_data_rule *r, cJSON *one,
			 ops_error *err)
{
	const char *schema = ops_config_get(j->run->cfg, "db.schema");
	char cut[40], epoch[24], *qt = NULL, *qc = NULL, *where = NULL, *sql = NULL;
	const char *params[2];
	time_t t = ops_run_now(j->run) - r->age;
	long long n, deleted = 0, archived = 0, batches = 0;
	cJSON *list = NULL;
	double t0 = ops_clock();
	int part = 0;
	ops_error e;
	ops_code rc;

	ops_error_clear(&e);
	if ((rc = ops_db_resolve_table(j->db, r->table, schema, &qt, &e)) != OPS_OK) {
		/* Missing here is normal: one rule set serves every database. */
		if (rc == OPS_EFAIL && strstr(e.message, "does not exist")) {
			note(one, "skipped", "no such table in this database");
			return OPS_OK;
		}
		*err = e;
		return rc;
	}
	if ((rc = partitioned(j, qt, &part, err)) != OPS_OK ||
	    (!j->pg && (rc = pick_rowid(j, r, err)) != OPS_OK))
		goto out;
	if (part) {
		rc = ops_error_set(err, OPS_EFAIL, "cleanup rule '%s': %s is partitioned; give "
				   "its partitions as rules", r->text, r->table);
		goto out;
	}
	cutoff_text(t, j->pg, cut, sizeof cut);
	snprintf(epoch, sizeof epoch, "%lld", (long long)t);
	cJSON_AddStringToObject(one, "older_than", cut);
	params[0] = cut;
	params[1] = epoch;
	if (!(qc = ops_db_quote_ident(j->db, r->column)) || !(where = where_clause(j, qc))) {
		rc = ops_error_oom(err);
		goto out;
	}
	if (j->run->dry_run) {
		double cnt = 0;

		if (asprintf(&sql, "SELECT count(*) FROM %s WHERE %s", qt, where) < 0) {
			rc = ops_error_oom(err);
			goto out;
		}
		if ((rc = ops_db_query_number(j->db, sql, j->pg ? 1 : 2, params, &cnt, err)) ==
		    OPS_OK)
			cJSON_AddNumberToObject(one, r->action == OPS_CLEANUP_DATA_ARCHIVE ?
						"would_archive_rows" : "would_delete_rows", cnt);
		goto out;
	}
	if (r->action == OPS_CLEANUP_DATA_ARCHIVE)
		list = cJSON_AddArrayToObject(one, "archives");
	for (;;) {
		if ((rc = ops_run_check_cancel(j->run, err)) != OPS_OK)
			break;
		if (r->action == OPS_CLEANUP_DATA_ARCHIVE)
			rc = archive_batch(j, r, qt, where, params, j->pg ? 1 : 2, list, &n, err);
		else
			rc = delete_batch(j, qt, where, params, j->pg ? 1 : 2, &n, err);
		if (rc != OPS_OK || n == 0)
			break;
		batches++;
		deleted += n;
		if (r->action == OPS_CLEANUP_DATA_ARCHIVE)
			archived += n;
		ops_run_progress(j->run, r->table, (double)deleted, 0, "rows", t0, 0);
		if (n < j->batch)
			break;
	}
	ops_run_progress(j->run, r->table, (double)deleted, 0, "rows", t0, 1);
	/* What the finished batches removed is counted even after a failure. */
	set_num(one, "rows_deleted", (double)deleted);
	set_num(one, "rows_archived", (double)archived);
	cJSON_AddNumberToObject(one, "batches", (double)batches);
	if (rc != OPS_OK && rc != OPS_EINTR)
		ops_error_prefix(err, "cleanup rule '%s'", r->text);
out:
	free(qt);
	free(qc);
	free(where);
	free(sql);
	return rc;
}

static const char *action_name(ops_cleanup_data_action a)
{
	return a == OPS_CLEANUP_DATA_DELETE ? "delete" : a == OPS_CLEANUP_DATA_ARCHIVE ?
	       "archive" : "call";
}

static long long count_of(const cJSON *one, const char *name)
{
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(one, name);

	return cJSON_IsNumber(n) ? (long long)n->valuedouble : 0;
}

/* "knowledge_hub", "chatbot_db": the database as one store key component. */
static void db_key(const ops_db *db, char *out, size_t size)
{
	const char *name = ops_db_name(db), *slash = strrchr(name, '/'), *dot;
	size_t i = 0, len;

	if (slash)
		name = slash + 1;
	len = strlen(name);
	if (ops_db_kind_of(db) == OPS_DB_SQLITE && (dot = strrchr(name, '.')) && dot != name)
		len = (size_t)(dot - name);
	for (; i < len && i + 1 < size; i++)
		out[i] = isalnum((unsigned char)name[i]) || name[i] == '_' || name[i] == '-' ||
			 name[i] == '.' ? name[i] : '_';
	out[i] = '\0';
	if (!i || out[0] == '.')
		snprintf(out, size, "db");
}

/* A rule's count under its table's name ("name()" for a function), two rules
 * on one table summed.  -1 when out of memory. */
static int add_to_rule(cJSON *per, const ops_cleanup_data_rule *r, long long n)
{
	char name[200];
	cJSON *have;

	snprintf(name, sizeof name, "%s%s", r->table,
		 r->action == OPS_CLEANUP_DATA_CALL ? "()" : "");
	if ((have = cJSON_GetObjectItemCaseSensitive(per, name))) {
		cJSON_SetNumberValue(have, have->valuedouble + (double)n);
		return 0;
	}
	return cJSON_AddNumberToObject(per, name, (double)n) ? 0 : -1;
}

ops_code ops_cleanup_data(const ops_run *run, const char *target,
			  const ops_cleanup_data_opts *o, cJSON **report, ops_error *err)
{
	struct job j = {.run = run, .o = o};
	ops_cleanup_data_rule **rules = NULL;
	char **conf = NULL, question[600];
	long long total_del = 0, total_arch = 0, total_would = 0;
	int skipped = 0, failed = 0;
	cJSON *rep, *list, *fig;
	ops_code rc, first = OPS_OK;
	static const char *const counts[2] = {"rows_deleted", "rows_archived"};
	static const char *const per_rule_names[2] = {"opsctl_cleanup_data_rule_rows_deleted",
						      "opsctl_cleanup_data_rule_rows_archived"};
	cJSON *per_rule[2] = {cJSON_CreateObject(), cJSON_CreateObject()};
	ops_error e;
	time_t now;
	int k;
	size_t i;

	*report = NULL;
	if (!per_rule[0] || !per_rule[1]) {
		cJSON_Delete(per_rule[0]);
		cJSON_Delete(per_rule[1]);
		return ops_error_oom(err);
	}
	if (!o->rules && !(conf = ops_config_list(run->cfg, "cleanup.data_rules"))) {
		rc = ops_error_oom(err);
		goto out;
	}
	rc = ops_cleanup_data_rules_parse(o->rules ? o->rules : conf,
					  o->rules_from_flag ? OPS_EUSAGE : OPS_ECONFIG, &rules, err);
	ops_strv_free(conf);
	if (rc != OPS_OK)
		goto out;
	j.batch = o->batch > 0 ? o->batch : ops_config_int(run->cfg, "cleanup.data_batch");
	j.lock_ms = ops_config_int(run->cfg, "cleanup.data_lock_timeout") * 1000;
	now = ops_run_now(run);
	ops_time_stamp(now, j.stamp);
	if ((rc = ops_db_open(run->cfg, target, &j.db, err)) != OPS_OK)
		goto out;
	j.pg = ops_db_kind_of(j.db) == OPS_DB_POSTGRES;
	db_key(j.db, j.dbkey, sizeof j.dbkey);
	if (!(rep = *report = cJSON_CreateObject())) {
		rc = ops_error_oom(err);
		goto out;
	}
	cJSON_AddStringToObject(rep, "database", ops_db_name(j.db));
	cJSON_AddBoolToObject(rep, "dry_run", run->dry_run);
	cJSON_AddNumberToObject(rep, "batch_rows", (double)j.batch);
	if (run->dry_run) {
		ops_run_would_permit(run, "cleanup data", rep);
	} else {
		snprintf(question, sizeof question, "Delete the rows older than the cleanup rules' "
			 "ages from %s (%zu rules)?", ops_db_name(j.db), ops_strv_len((char **)rules));
		if ((rc = ops_run_permit(run, "cleanup data", question, err)) != OPS_OK)
			goto out;
	}
	list = cJSON_AddArrayToObject(rep, "rules");
	for (i = 0; rules[i]; i++) {
		const ops_cleanup_data_rule *r = rules[i];
		cJSON *one = cJSON_CreateObject();

		if (!one || !cJSON_AddItemToArray(list, one)) {
			cJSON_Delete(one);
			rc = ops_error_oom(err);
			goto out;
		}
		cJSON_AddStringToObject(one, "rule", r->text);
		cJSON_AddStringToObject(one, r->action == OPS_CLEANUP_DATA_CALL ? "function" : "table",
					r->table);
		cJSON_AddStringToObject(one, "action", action_name(r->action));
		cJSON_AddStringToObject(one, "status", "ok");
		if (ops_cancelled()) {
			rc = ops_cancel_check(err);
			break;
		}
		ops_error_clear(&e);
		rc = r->action == OPS_CLEANUP_DATA_CALL ? run_call(&j, r, one, &e)
							: run_rule(&j, r, one, &e);
		total_del += count_of(one, "rows_deleted");
		total_arch += count_of(one, "rows_archived");
		total_would += count_of(one, "would_delete_rows");
		total_would += count_of(one, "would_archive_rows");
		if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(one, "status")), "skipped") == 0)
			skipped++;
		else if (!run->dry_run)	/* the counts of every rule that ran, 0 included */
			for (k = 0; k < 2; k++) {
				if (!cJSON_GetObjectItemCaseSensitive(one, counts[k]))
					cJSON_AddNumberToObject(one, counts[k], 0);
				if (add_to_rule(per_rule[k], r, count_of(one, counts[k])) != 0) {
					rc = ops_error_oom(err);
					goto out;
				}
			}
		if (rc == OPS_OK)
			continue;
		cJSON_ReplaceItemInObjectCaseSensitive(one, "status", cJSON_CreateString("failed"));
		cJSON_AddStringToObject(one, "error", e.message);
		failed++;
		if (first == OPS_OK) {
			first = rc;
			*err = e;
		}
		if (rc == OPS_EINTR || rc == OPS_EUNAVAIL)	/* the next rules would fail too */
			break;
	}
	if (rc == OPS_OK || first != OPS_OK)
		rc = first;
	fig = cJSON_AddObjectToObject(rep, "_figures");
	if (!run->dry_run) {
		cJSON_AddNumberToObject(fig, "opsctl_cleanup_data_rows_deleted", (double)total_del);
		cJSON_AddNumberToObject(fig, "opsctl_cleanup_data_rows_archived", (double)total_arch);
		/* Per rule too, so that a dashboard shows which table grows; labelled
		 * gauges (run/metrics.h), and the journal line has the same object. */
		for (k = 0; k < 2; k++) {
			cJSON *g = cJSON_AddObjectToObject(fig, per_rule_names[k]);

			if (!g || !cJSON_AddItemToObject(g, "rule", per_rule[k])) {
				rc = ops_error_oom(err);
				goto out;
			}
			per_rule[k] = NULL;
		}
	}
	cJSON_AddNumberToObject(fig, "opsctl_cleanup_data_rules_skipped", skipped);
	cJSON_AddNumberToObject(fig, "opsctl_cleanup_data_rules_failed", failed);
	if (run->dry_run) {
		cJSON_AddNumberToObject(rep, "would_remove_rows", (double)total_would);
	} else {
		cJSON_AddNumberToObject(rep, "rows_deleted", (double)total_del);
		cJSON_AddNumberToObject(rep, "rows_archived", (double)total_arch);
	}
out:
	cJSON_Delete(per_rule[0]);
	cJSON_Delete(per_rule[1]);
	if (j.store)
		ops_store_free(j.store);
	ops_db_close(j.db);
	ops_cleanup_data_rules_free(rules);
	return rc;
}
