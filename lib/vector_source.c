/*
 * The embeddings an index is built from and checked against, streamed.
 * PostgreSQL: COPY (SELECT id, embedding ...) TO STDOUT (FORMAT binary),
 * parsed here: the binary form is what makes a rebuild as fast as the COPY
 * itself (no float printing and parsing), and it carries the array's own
 * dimension, so a row of another dimension is found, not misread.  SQLite:
 * a BLOB of little-endian float32 per row.
 */
#include <endian.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "dbmaint_internal.h"
#include "opsmaint/db.h"
#include "vector_internal.h"

enum emb_kind { EMB_REAL_ARRAY, EMB_DOUBLE_ARRAY, EMB_BYTEA, EMB_PGVECTOR, EMB_BLOB };

struct vsrc {
	ops_db *db;
	int ids_only;		/* stream ids of rows with an embedding, no vectors */
	char *extra;		/* "id IN (...)" for a sample, or NULL */
	enum emb_kind kind;
	int dim;
	long long nulls;
	char *desc;
	/* PostgreSQL */
	PGconn *pg;
	char *row;		/* the current CopyData message */
	int header_done, ended;
	/* SQLite */
	sqlite3_stmt *st;
};

static uint16_t rd16(const char *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return be16toh(v);
}

static uint32_t rd32(const char *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return be32toh(v);
}

static uint64_t rd64(const char *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return be64toh(v);
}

static ops_code pg_open_copy(vsrc *s, const ops_config *cfg, ops_error *err)
{
	const char *table = ops_config_get(cfg, "vector.table");
	const char *idcol = ops_config_get(cfg, "vector.id_column");
	const char *ecol = ops_config_get(cfg, "vector.embedding_column");
	const char *filter = ops_config_get(cfg, "vector.filter");
	char *qtable = NULL, *qid = NULL, *qemb = NULL, *sql = NULL;
	const char *params[2];
	ops_rows *rows = NULL;
	ops_code rc;
	PGresult *res;
	const char *type, *idtype;

	rc = ops_dbm_pg_resolve_table(s->db, table, &qtable, err);
	if (rc != OPS_OK)
		return rc;
	params[0] = qtable;
	params[1] = ecol;
	rc = ops_db_query(s->db,
			  "SELECT pg_catalog.format_type(a.atttypid, NULL),"
			  " (SELECT pg_catalog.format_type(b.atttypid, NULL) FROM pg_catalog.pg_attribute b"
			  "  WHERE b.attrelid = a.attrelid AND b.attname = $3 AND NOT b.attisdropped AND b.attnum > 0)"
			  " FROM pg_catalog.pg_attribute a WHERE a.attrelid = $1::pg_catalog.regclass"
			  " AND a.attname = $2 AND NOT a.attisdropped AND a.attnum > 0",
			  3, (const char *const[]){qtable, ecol, idcol}, &rows, err);
	(void)params;
	if (rc != OPS_OK)
		goto out;
	if (ops_rows_count(rows) == 0) {
		rc = ops_error_set(err, OPS_EFAIL, "table %s has no column '%s'", qtable, ecol);
		goto out;
	}
	type = ops_rows_value(rows, 0, 0);
	idtype = ops_rows_value(rows, 0, 1);
	if (!idtype || !*idtype) {
		rc = ops_error_set(err, OPS_EFAIL, "table %s has no column '%s'", qtable, idcol);
		goto out;
	}
	if (strcmp(idtype, "integer") != 0 && strcmp(idtype, "bigint") != 0 && strcmp(idtype, "smallint") != 0) {
		rc = ops_error_set(err, OPS_EUSAGE, "id column %s.%s is %s; index ids must be integers",
				   qtable, idcol, idtype);
		goto out;
	}
	if (strcmp(type, "real[]") == 0)
		s->kind = EMB_REAL_ARRAY;
	else if (strcmp(type, "double precision[]") == 0)
		s->kind = EMB_DOUBLE_ARRAY;
	else if (strcmp(type, "bytea") == 0)
		s->kind = EMB_BYTEA;
	else if (strcmp(type, "vector") == 0)
		s->kind = EMB_PGVECTOR;
	else {
		rc = ops_error_set(err, OPS_EUSAGE,
				   "embedding column %s.%s is %s; real[], double precision[], bytea or vector expected",
				   qtable, ecol, type);
		goto out;
	}
	qid = ops_db_quote_ident(s->db, idcol);
	qemb = ops_db_quote_ident(s->db, ecol);
	if (!qid || !qemb ||
	    asprintf(&sql, "COPY (SELECT %s, %s%s FROM %s WHERE true%s%s%s%s%s%s) TO STDOUT (FORMAT binary)",
		     qid, qemb, s->ids_only ? " IS NULL" : "", qtable,
		     filter && *filter ? " AND (" : "", filter && *filter ? filter : "",
		     filter && *filter ? ")" : "",
		     s->extra ? " AND (" : "", s->extra ? s->extra : "", s->extra ? ")" : "") < 0 ||
	    asprintf(&s->desc, "%s.%s (%s)", qtable, ecol, type) < 0) {
		sql = NULL;
		rc = ops_error_oom(err);
		goto out;
	}
	s->pg = ops_db_handle(s->db);
	res = PQexec(s->pg, sql);
	if (PQresultStatus(res) != PGRES_COPY_OUT) {
		char msg[300];

		snprintf(msg, sizeof msg, "%s", PQresultErrorMessage(res));
		msg[strcspn(msg, "\n")] = '\0';
		rc = ops_error_set(err, OPS_EFAIL, "reading %s: %s", s->desc, msg);
	}
	PQclear(res);
out:
	ops_rows_free(rows);
	free(qtable);
	free(qid);
	free(qemb);
	free(sql);
	return rc;
}

static ops_code lite_open_stmt(vsrc *s, const ops_config *cfg, ops_error *err)
{
	const char *table = ops_config_get(cfg, "vector.table");
	const char *idcol = ops_config_get(cfg, "vector.id_column");
	const char *ecol = ops_config_get(cfg, "vector.embedding_column");
	const char *filter = ops_config_get(cfg, "vector.filter");
	char *qt = ops_db_quote_ident(s->db, table), *qi = ops_db_quote_ident(s->db, idcol);
	char *qe = ops_db_quote_ident(s->db, ecol), *sql = NULL;
	ops_code rc = OPS_OK;
	int r;

	s->kind = EMB_BLOB;
	if (!qt || !qi || !qe ||
	    asprintf(&sql, "SELECT %s, %s%s FROM %s WHERE true%s%s%s%s%s%s", qi, qe,
		     s->ids_only ? " IS NULL" : "", qt,
		     filter && *filter ? " AND (" : "", filter && *filter ? filter : "",
		     filter && *filter ? ")" : "",
		     s->extra ? " AND (" : "", s->extra ? s->extra : "", s->extra ? ")" : "") < 0 ||
	    asprintf(&s->desc, "%s.%s (BLOB)", table, ecol) < 0) {
		sql = NULL;
		rc = ops_error_oom(err);
		goto out;
	}
	r = sqlite3_prepare_v2(ops_db_handle(s->db), sql, -1, &s->st, NULL);
	if (r != SQLITE_OK)
		rc = ops_error_set(err, OPS_EFAIL, "reading %s: %s", s->desc,
				   sqlite3_errmsg(ops_db_handle(s->db)));
out:
	free(qt);
	free(qi);
	free(qe);
	free(sql);
	return rc;
}

static const char *target_of(const ops_config *cfg, const char *database)
{
	const char *t = database && *database ? database : ops_config_get(cfg, "vector.database");

	return t && *t ? t : ops_config_get(cfg, "db.name");
}

/* "ID IN (1,2,3)" with the quoted id column: our own numbers only. */
static char *ids_condition(const char *qid, const long long *only, size_t n)
{
	char *buf = NULL;
	size_t len = 0, i;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	fprintf(f, "%s IN (", qid);
	for (i = 0; i < n; i++)
		fprintf(f, "%s%lld", i ? "," : "", only[i]);
	fputs(")", f);
	fclose(f);
	return buf;
}

ops_code vsrc_open(const ops_config *cfg, const char *database, int ids_only, const long long *only,
		   size_t nonly, vsrc **out, ops_error *err)
{
	vsrc *s = calloc(1, sizeof *s);
	const char *target = target_of(cfg, database);
	ops_code rc;

	*out = NULL;
	if (!s)
		return ops_error_oom(err);
	s->ids_only = ids_only;
	if (!target || !*target) {
		free(s);
		ops_error_set(err, OPS_ECONFIG, "no database holds the embeddings");
		ops_error_hint(err, "set vector.database or db.name, or give -d");
		return OPS_ECONFIG;
	}
	rc = ops_db_open(cfg, target, &s->db, err);
	if (rc == OPS_OK && only) {
		char *q = ops_db_quote_ident(s->db, ops_config_get(cfg, "vector.id_column"));

		s->extra = q ? ids_condition(q, only, nonly ? nonly : 0) : NULL;
		free(q);
		if (!s->extra)
			rc = ops_error_oom(err);
	}
	if (rc == OPS_OK)
		rc = ops_db_kind_of(s->db) == OPS_DB_POSTGRES ? pg_open_copy(s, cfg, err)
							       : lite_open_stmt(s, cfg, err);
	if (rc != OPS_OK) {
		vsrc_close(s);
		return rc;
	}
	*out = s;
	return OPS_OK;
}

/* Check one vector's values: NaN or infinity is bad data, named by row. */
static ops_code check_finite(const float *v, int d, long long id, ops_error *err)
{
	int i;

	for (i = 0; i < d; i++)
		if (!isfinite(v[i]))
			return ops_error_set(err, OPS_EDATA, "row id %lld has a %s value at position %d",
					     id, isnan(v[i]) ? "NaN" : "infinite", i);
	return OPS_OK;
}

/* The dimension of this row, fixing it on the first row. */
static ops_code take_dim(vsrc *s, int d, long long id, float **x, size_t *xcap, size_t max,
			 ops_error *err)
{
	if (d <= 0)
		return ops_error_set(err, OPS_EDATA, "row id %lld has an empty embedding", id);
	if (s->dim == 0) {
		s->dim = d;
		if (*xcap < max * (size_t)d) {
			float *grown = realloc(*x, max * (size_t)d * sizeof **x);

			if (!grown)
				return ops_error_oom(err);
			*x = grown;
			*xcap = max * (size_t)d;
		}
	}
	if (d != s->dim)
		return ops_error_set(err, OPS_EDATA, "row id %lld has dimension %d, the others %d",
				     id, d, s->dim);
	return OPS_OK;
}

/* One binary COPY row: id, embedding.  *got 1 for a row, 0 for a skipped
 * NULL embedding. */
static ops_code pg_row(vsrc *s, const char *p, int len, long long *id, float **x, size_t *xcap,
		       size_t max, size_t slot, int *got, ops_error *err)
{
	const char *end = p + len;
	int32_t flen;
	int d, i;
	float *v;

	*got = 0;
	if (end - p < 2)
		goto short_row;
	if ((int16_t)rd16(p) == -1) {
		s->ended = 1;
		return OPS_OK;
	}
	p += 2;
	flen = (int32_t)rd32(p);
	p += 4;
	if (flen == 2)
		*id = (int16_t)rd16(p);
	else if (flen == 4)
		*id = (int32_t)rd32(p);
	else if (flen == 8)
		*id = (int64_t)rd64(p);
	else
		return ops_error_set(err, OPS_EDATA, "a row has a NULL or malformed id");
	p += flen;
	if (s->ids_only) {
		/* The second field is "embedding IS NULL": one bool byte. */
		if (end - p < 5 || (int32_t)rd32(p) != 1)
			goto short_row;
		if (p[4]) {
			s->nulls++;
			return OPS_OK;
		}
		*got = 1;
		return OPS_OK;
	}
	flen = (int32_t)rd32(p);
	p += 4;
	if (flen < 0) {
		s->nulls++;
		return OPS_OK;
	}
	if (end - p < flen)
		goto short_row;
	switch (s->kind) {
	case EMB_REAL_ARRAY:
	case EMB_DOUBLE_ARRAY: {
		int ndim = (int32_t)rd32(p), esz = s->kind == EMB_REAL_ARRAY ? 4 : 8;
		const char *q;

		if (ndim == 0) {
			s->nulls++;	/* '{}' holds no vector either */
			return OPS_OK;
		}
		if (ndim != 1)
			return ops_error_set(err, OPS_EDATA, "row id %lld has a %d-dimensional array", *id, ndim);
		d = (int32_t)rd32(p + 12);
		if (take_dim(s, d, *id, x, xcap, max, err) != OPS_OK)
			return err->code;
		v = *x + slot * (size_t)s->dim;
		q = p + 20;
		for (i = 0; i < d; i++) {
			int32_t el;

			if (end - q < 4)
				goto short_row;
			el = (int32_t)rd32(q);
			q += 4;
			if (el != esz)
				return ops_error_set(err, OPS_EDATA, "row id %lld has a NULL element at position %d",
						     *id, i);
			if (esz == 4) {
				uint32_t u = rd32(q);

				memcpy(&v[i], &u, 4);
			} else {
				uint64_t u = rd64(q);
				double dv;

				memcpy(&dv, &u, 8);
				v[i] = (float)dv;
			}
			q += esz;
		}
		break;
	}
	case EMB_BYTEA:
		if (flen % 4)
			return ops_error_set(err, OPS_EDATA, "row id %lld: bytea of %d bytes is not float32s", *id, flen);
		d = flen / 4;
		if (take_dim(s, d, *id, x, xcap, max, err) != OPS_OK)
			return err->code;
		v = *x + slot * (size_t)s->dim;
		for (i = 0; i < d; i++) {
			uint32_t u;

			memcpy(&u, p + 4 * i, 4);
			u = le32toh(u);
			memcpy(&v[i], &u, 4);
		}
		break;
	case EMB_PGVECTOR:
		d = rd16(p);
		if (flen != 4 + 4 * d)
			goto short_row;
		if (take_dim(s, d, *id, x, xcap, max, err) != OPS_OK)
			return err->code;
		v = *x + slot * (size_t)s->dim;
		for (i = 0; i < d; i++) {
			uint32_t u = rd32(p + 4 + 4 * i);

			memcpy(&v[i], &u, 4);
		}
		break;
	default:
		return ops_error_set(err, OPS_EINTERNAL, "unknown embedding kind");
	}
	if (check_finite(v, s->dim, *id, err) != OPS_OK)
		return err->code;
	*got = 1;
	return OPS_OK;
short_row:
	return ops_error_set(err, OPS_EDATA, "a COPY row from %s is truncated", s->desc);
}

static ops_code pg_next(vsrc *s, size_t max, long long *ids, float **x, size_t *xcap, size_t *n,
			ops_error *err)
{
	*n = 0;
	while (*n < max && !s->ended) {
		char *buf = NULL;
		int len = PQgetCopyData(s->pg, &buf, 0), got = 0, off = 0;
		ops_code rc;

		if (len == -1) {	/* done: collect the command's result */
			PGresult *res = PQgetResult(s->pg);
			ops_code r2 = PQresultStatus(res) == PGRES_COMMAND_OK ? OPS_OK
				: ops_error_set(err, OPS_EFAIL, "reading %s: %s", s->desc, PQresultErrorMessage(res));

			PQclear(res);
			while ((res = PQgetResult(s->pg)))
				PQclear(res);
			s->ended = 1;
			if (r2 != OPS_OK)
				return r2;
			break;
		}
		if (len < 0)
			return ops_error_set(err, OPS_EUNAVAIL, "reading %s: %s", s->desc, PQerrorMessage(s->pg));
		if (!s->header_done) {
			if (len < 19 || memcmp(buf, "PGCOPY\n\377\r\n\0", 11) != 0) {
				PQfreemem(buf);
				return ops_error_set(err, OPS_EDATA, "COPY from %s did not start with a binary header", s->desc);
			}
			off = 19 + (int)rd32(buf + 15);
			s->header_done = 1;
			if (off >= len) {
				PQfreemem(buf);
				continue;
			}
		}
		rc = pg_row(s, buf + off, len - off, &ids[*n], x, xcap, max, *n, &got, err);
		PQfreemem(buf);
		if (rc != OPS_OK)
			return rc;
		*n += (size_t)got;
	}
	return OPS_OK;
}

static ops_code lite_next(vsrc *s, size_t max, long long *ids, float **x, size_t *xcap, size_t *n,
			  ops_error *err)
{
	*n = 0;
	/* sqlite3_step after SQLITE_DONE would start the query again. */
	while (*n < max && !s->ended) {
		int r = sqlite3_step(s->st), bytes, d, i;
		const unsigned char *blob;
		float *v;
		long long id;

		if (r == SQLITE_DONE) {
			s->ended = 1;
			break;
		}
		if (r != SQLITE_ROW)
			return ops_error_set(err, OPS_EFAIL, "reading %s: %s", s->desc,
					     sqlite3_errmsg(ops_db_handle(s->db)));
		id = sqlite3_column_int64(s->st, 0);
		if (s->ids_only) {
			if (sqlite3_column_int(s->st, 1))
				s->nulls++;
			else
				ids[(*n)++] = id;
			continue;
		}
		if (sqlite3_column_type(s->st, 1) == SQLITE_NULL) {
			s->nulls++;
			continue;
		}
		blob = sqlite3_column_blob(s->st, 1);
		bytes = sqlite3_column_bytes(s->st, 1);
		if (bytes % 4)
			return ops_error_set(err, OPS_EDATA, "row id %lld: BLOB of %d bytes is not float32s", id, bytes);
		d = bytes / 4;
		if (take_dim(s, d, id, x, xcap, max, err) != OPS_OK)
			return err->code;
		v = *x + *n * (size_t)s->dim;
		for (i = 0; i < d; i++) {
			uint32_t u;

			memcpy(&u, blob + 4 * i, 4);
			u = le32toh(u);
			memcpy(&v[i], &u, 4);
		}
		if (check_finite(v, d, id, err) != OPS_OK)
			return err->code;
		ids[*n] = id;
		(*n)++;
	}
	return OPS_OK;
}

ops_code vsrc_next(vsrc *s, size_t max, long long *ids, float **x, size_t *xcap, size_t *n,
		   ops_error *err)
{
	return s->pg ? pg_next(s, max, ids, x, xcap, n, err) : lite_next(s, max, ids, x, xcap, n, err);
}

ops_code vsrc_count(const ops_config *cfg, const char *database, int nulls, long long *n,
		    ops_error *err)
{
	vsrc one = {0}, *s = &one;
	const char *target = target_of(cfg, database);
	const char *table = ops_config_get(cfg, "vector.table");
	const char *ecol = ops_config_get(cfg, "vector.embedding_column");
	const char *filter = ops_config_get(cfg, "vector.filter");
	char *qt = NULL, *qe = NULL, *sql = NULL;
	ops_rows *rows = NULL;
	ops_code rc = OPS_OK;

	*n = 0;
	if (!target || !*target)
		return ops_error_set(err, OPS_ECONFIG, "no database holds the embeddings");
	if ((rc = ops_db_open(cfg, target, &s->db, err)) != OPS_OK)
		return rc;
	qe = ops_db_quote_ident(s->db, ecol);
	if (ops_db_kind_of(s->db) == OPS_DB_POSTGRES)
		rc = ops_dbm_pg_resolve_table(s->db, table, &qt, err);
	else
		qt = ops_db_quote_ident(s->db, table);
	if (rc == OPS_OK && (!qt || !qe ||
			     asprintf(&sql, "SELECT count(*) FROM %s WHERE %s IS %sNULL%s%s%s", qt, qe,
				      nulls ? "" : "NOT ",
				      filter && *filter ? " AND (" : "", filter && *filter ? filter : "",
				      filter && *filter ? ")" : "") < 0)) {
		sql = NULL;
		rc = ops_error_oom(err);
	}
	if (rc == OPS_OK)
		rc = ops_db_query(s->db, sql, 0, NULL, &rows, err);
	if (rc == OPS_OK)
		*n = atoll(ops_rows_value(rows, 0, 0));
	ops_rows_free(rows);
	ops_db_close(s->db);
	free(qt);
	free(qe);
	free(sql);
	return rc;
}

int vsrc_dim(const vsrc *s)
{
	return s->dim;
}

long long vsrc_nulls(const vsrc *s)
{
	return s->nulls;
}

const char *vsrc_describe(const vsrc *s)
{
	return s->desc ? s->desc : "";
}

void vsrc_close(vsrc *s)
{
	if (!s)
		return;
	if (s->pg && !s->ended) {
		/* Abandon a COPY half-read: cancel, then drain. */
		PGresult *res;
		char *buf;

		ops_db_cancel(s->db);
		while (PQgetCopyData(s->pg, &buf, 0) >= 0)
			PQfreemem(buf);
		while ((res = PQgetResult(s->pg)))
			PQclear(res);
	}
	if (s->st)
		sqlite3_finalize(s->st);
	ops_db_close(s->db);
	free(s->desc);
	free(s->extra);
	free(s);
}
