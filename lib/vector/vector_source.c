/*
 * The embeddings an index is built from and checked against, streamed.
 * PostgreSQL: COPY (SELECT id, embedding ...) TO STDOUT (FORMAT binary),
 * parsed here: the binary form is what makes a rebuild as fast as the COPY
 * itself (no float printing and parsing), and it carries the array's own
 * dimension, so a row of another dimension is found, not misread.  SQLite:
 * a BLOB of little-endian float32 per row.
 *
 * On a large table the server's work of forming the COPY rows, not the
 * network or this process, is what a pass waits for; so the table is split
 * into vector.read_jobs block ranges (TID range scans, PostgreSQL 14 and
 * later) read by as many connections sharing one exported snapshot, the way
 * pg_dump -j reads one consistent state.  Each range is parsed by its own
 * thread into chunks of CHUNK_ROWS rows, and the consumer takes them round
 * robin, so the order of rows (and so the index file) is the same on every
 * run over the same table.
 */
#include <endian.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "opsmaint/cancel.h"
#include "opsmaint/db.h"
#include "opsmaint/log.h"
#include "vector/vector_internal.h"

#define CHUNK_ROWS 1024
#define QUEUE_DEPTH 4
/* Below 8 MiB of heap one stream is as quick as several. */
#define PARALLEL_MIN_PAGES 1024
/* The most readers vector.read_jobs = 0 (chosen from the free cores)
 * starts. */
#define AUTO_JOBS_MAX 4
/* How long a reader waits for the table's lock before the table is read
 * in one stream instead (see pg_start_readers). */
#define READER_LOCK_TIMEOUT "SET LOCAL lock_timeout = '1s'"

enum emb_kind {
	EMB_REAL_ARRAY, EMB_DOUBLE_ARRAY, EMB_BYTEA, EMB_PGVECTOR, EMB_TEXT, EMB_JSONB, EMB_BLOB
};

/* One COPY (or SQLite statement) being read. */
struct cstream {
	PGconn *pg;
	int header_done, ended;
	long long nulls;
	int lock_busy;		/* its COPY could not lock the table in time */
	char *text;		/* a text embedding, NUL-terminated for parsing */
	size_t textcap;
};

struct chunk {
	size_t n;
	long long ids[CHUNK_ROWS];
	float *x;
	size_t xcap;
};

/* A thread reading one block range over its own connection. */
struct reader {
	struct vsrc *s;
	ops_db *db;		/* reader 0 uses the vsrc's own connection */
	struct cstream cs;
	pthread_t thread;
	int started;
	struct chunk q[QUEUE_DEPTH];
	size_t head, count;	/* filled chunks: q[head] .. q[head + count - 1] */
	int done, exhausted;	/* done: no more chunks; exhausted: and all taken */
	long long nulls;	/* cs.nulls as of the last chunk, under the vsrc's mu */
	ops_code rc;
	ops_error err;
};

struct vsrc {
	ops_db *db;
	int ids_only;		/* stream ids of rows with an embedding, no vectors */
	char *extra;		/* "id IN (...)" for a sample, or NULL */
	int first;		/* only the first row holding a vector (vsrc_first_dim) */
	enum emb_kind kind;
	int dim;		/* shared by the readers: __atomic */
	long long dim_row;	/* the row that fixed dim, for the error naming both */
	pthread_mutex_t dim_mu;	/* guards fixing dim and dim_row together */
	char *desc;
	long long estimate;	/* the planner's row count (PostgreSQL), else 0 */
	struct cstream one;	/* the single stream (PostgreSQL or SQLite) */
	/* PostgreSQL, several block ranges at once */
	struct reader *rd;
	int nrd, cur;
	size_t pos;		/* rows of rd[cur]'s head chunk already taken */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int sync_ready;		/* mu and cv initialized */
	int stop;
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

/* A failed statement's one line: the server's primary message (no severity,
 * no DETAIL or HINT lines, which belong to no error line), else libpq's. */
static void pg_message(const PGresult *res, PGconn *pg, char *out, size_t len)
{
	const char *m = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;

	snprintf(out, len, "%s", m ? m : res ? PQresultErrorMessage(res) : PQerrorMessage(pg));
	out[strcspn(out, "\n")] = '\0';
}

/* Start COPY (select [AND ctid range]) on db; lo/hi are block numbers,
 * hi < 0 for no upper bound, lo < 0 for the whole table. */
static ops_code pg_start_copy(vsrc *s, ops_db *db, struct cstream *cs, const char *select,
			      long long lo, long long hi, ops_error *err)
{
	char *sql = NULL;
	char range[96] = "";
	PGresult *res;
	ops_code rc = OPS_OK;

	if (lo >= 0 && hi >= 0)
		snprintf(range, sizeof range,
			 " AND ctid >= '(%lld,0)'::tid AND ctid < '(%lld,0)'::tid", lo, hi);
	else if (lo >= 0)
		snprintf(range, sizeof range, " AND ctid >= '(%lld,0)'::tid", lo);
	if (asprintf(&sql, "COPY (%s%s) TO STDOUT (FORMAT binary)", select, range) < 0)
		return ops_error_oom(err);
	cs->pg = ops_db_handle(db);
	res = PQexec(cs->pg, sql);
	if (PQresultStatus(res) != PGRES_COPY_OUT) {
		char msg[300];

		pg_message(res, cs->pg, msg, sizeof msg);
		rc = ops_error_set(err, OPS_EFAIL, "reading %s: %s", s->desc, msg);
		cs->ended = 1;	/* nothing to drain */
		cs->lock_busy = PQresultErrorField(res, PG_DIAG_SQLSTATE) &&
				strcmp(PQresultErrorField(res, PG_DIAG_SQLSTATE), "55P03") == 0;
	}
	PQclear(res);
	free(sql);
	return rc;
}

/* Abandon a COPY half-read: cancel it, then drain what is in flight. */
static void pg_abandon(ops_db *db, struct cstream *cs)
{
	PGresult *res;
	char *buf;

	if (!cs->pg || cs->ended)
		return;
	ops_db_cancel(db);
	while (PQgetCopyData(cs->pg, &buf, 0) >= 0)
		PQfreemem(buf);
	while ((res = PQgetResult(cs->pg)))
		PQclear(res);
}

static void *reader_main(void *arg);

/*
 * The snapshot the readers share, exported from a transaction on the vsrc's
 * own connection, in which the table's kind and size are then read (they
 * decide *jobs and *pages: ranges of ctid need a plain table or
 * materialized view, and below PARALLEL_MIN_PAGES one stream is as quick);
 * then the other readers' connections, each in a transaction on that
 * snapshot.  Every one of these transactions waits READER_LOCK_TIMEOUT at
 * most for a lock (see pg_start_readers).
 */
static ops_code pg_share_snapshot(vsrc *s, const ops_config *cfg, const char *target,
				  const char *qtable, int *jobs, long long *pages, ops_error *err)
{
	const char *params[1] = {qtable};
	ops_rows *rows = NULL;
	char snap[128], set[200];
	ops_code rc;
	int i;

	rc = ops_db_exec(s->db, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err);
	if (rc == OPS_OK)
		rc = ops_db_exec(s->db, READER_LOCK_TIMEOUT, err);
	if (rc == OPS_OK)
		rc = ops_db_query(s->db, "SELECT pg_catalog.pg_export_snapshot()", 0, NULL, &rows,
				  err);
	if (rc != OPS_OK)
		return rc;
	snprintf(snap, sizeof snap, "%s", ops_rows_value(rows, 0, 0));
	ops_rows_free(rows);
	rows = NULL;
	if (strspn(snap, "0123456789ABCDEFabcdef-") != strlen(snap))
		return ops_error_set(err, OPS_EFAIL, "unexpected snapshot name '%s'", snap);
	rc = ops_db_query(s->db,
			  "SELECT c.relkind::text, pg_catalog.pg_relation_size(c.oid)"
			  " / pg_catalog.current_setting('block_size')::bigint"
			  " FROM pg_catalog.pg_class c WHERE c.oid = $1::pg_catalog.regclass",
			  1, params, &rows, err);
	if (rc != OPS_OK)
		return rc;
	*pages = 0;
	if (ops_rows_count(rows) == 1 && (strcmp(ops_rows_value(rows, 0, 0), "r") == 0 ||
					  strcmp(ops_rows_value(rows, 0, 0), "m") == 0))
		rc = ops_rows_int64(rows, 0, 1, pages, err);
	ops_rows_free(rows);
	if (rc != OPS_OK)
		return rc;
	if (*pages < PARALLEL_MIN_PAGES) {
		*jobs = 1;
		return OPS_OK;
	}
	snprintf(set, sizeof set, "SET TRANSACTION SNAPSHOT '%s'", snap);
	for (i = 1; i < *jobs && rc == OPS_OK; i++) {
		rc = ops_db_open(cfg, target, &s->rd[i].db, err);
		if (rc == OPS_OK)
			rc = ops_db_exec(s->rd[i].db,
					 "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err);
		if (rc == OPS_OK)
			rc = ops_db_exec(s->rd[i].db, set, err);
		if (rc == OPS_OK)
			rc = ops_db_exec(s->rd[i].db, READER_LOCK_TIMEOUT, err);
	}
	return rc;
}

/* Give up the readers (their COPYs cancelled and drained, their
 * connections closed, the snapshot's transaction ended) and read the table
 * in one stream on the vsrc's own connection; why, when not NULL, is
 * warned about. */
static ops_code pg_fall_back(vsrc *s, const char *select, const char *why, ops_error *err)
{
	ops_error ignored;
	int i;

	/* A reader that failed because the run was cancelled is no reason to
	 * start another stream: vsrc_close ends the readers. */
	if (ops_cancelled())
		return ops_cancel_check(err);
	if (why)
		ops_log_warn("reading %s in one stream: %s", s->desc, why);
	for (i = 0; i < s->nrd; i++) {
		if (s->rd[i].db)
			pg_abandon(s->rd[i].db, &s->rd[i].cs);
		if (i > 0)
			ops_db_close(s->rd[i].db);
	}
	free(s->rd);
	s->rd = NULL;
	s->nrd = 0;
	ops_db_exec(s->db, "ROLLBACK", &ignored);
	return pg_start_copy(s, s->db, &s->one, select, -1, -1, err);
}

/*
 * One COPY on the vsrc's connection, or (on a large table) one per block
 * range on connections that share an exported snapshot, each read by a
 * thread; see the comment at the top.  When the extra connections cannot
 * be had (max_connections reached, a server that cannot export snapshots),
 * the table is read in one stream, as it would be with read_jobs = 1.
 */
/* Whether the server runs on this host: a socket, or a loopback name. */
static int server_is_local(PGconn *pg)
{
	const char *h = pg ? PQhost(pg) : NULL;

	return !h || !*h || *h == '/' || *h == '@' || strcmp(h, "localhost") == 0 ||
	       strncmp(h, "127.", 4) == 0 || strcmp(h, "::1") == 0;
}

/*
 * vector.read_jobs, or (0) as many readers as the cores free now can feed:
 * the cores this process may run on (sched_getaffinity) less the 1-minute
 * load average, of which the build's own adding takes about one, each
 * reader's parsing about a third, and, when the server is on this host,
 * each reader's COPY one more on the server's side.  On two idle cores
 * with a local server that is one reader: two would only have the servers'
 * backends and this process take turns on the same cores.
 */
static int reader_jobs(const ops_config *cfg, PGconn *pg)
{
	long want = ops_config_int(cfg, "vector.read_jobs");
	double load = 0, spare, per;
	cpu_set_t set;
	FILE *f;
	int cpus, jobs;

	if (want > 0)
		return (int)want;
	cpus = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 1;
	if ((f = fopen("/proc/loadavg", "re"))) {
		if (fscanf(f, "%lf", &load) != 1)
			load = 0;
		fclose(f);
	}
	spare = (double)cpus - load - 1.0;
	per = server_is_local(pg) ? 1.33 : 0.33;
	jobs = spare > per ? (int)(spare / per) : 1;
	jobs = jobs < 1 ? 1 : jobs > AUTO_JOBS_MAX ? AUTO_JOBS_MAX : jobs;
	ops_log_info("%d reader%s: %d cores, load %.2f, the server %s", jobs, jobs > 1 ? "s" : "",
		     cpus, load, server_is_local(pg) ? "on this host" : "elsewhere");
	return jobs;
}

static ops_code pg_start_readers(vsrc *s, const ops_config *cfg, const char *target,
				 const char *qtable, const char *select, ops_error *err)
{
	int jobs = s->extra || s->first ? 1 : reader_jobs(cfg, ops_db_handle(s->db)), i;
	long long pages = 0;
	ops_error why = {0};
	ops_code rc;

	/* A sample (extra) is a few rows, the probe one; TID range scans came in 14. */
	if (jobs <= 1 || s->extra || s->first || ops_db_server_version(s->db) < 140000)
		return pg_start_copy(s, s->db, &s->one, select, -1, -1, err);
	s->rd = calloc((size_t)jobs, sizeof *s->rd);
	if (!s->rd)
		return ops_error_oom(err);
	s->nrd = jobs;
	for (i = 0; i < jobs; i++) {
		s->rd[i].s = s;
		s->rd[i].cs.ended = 1;	/* until its COPY has started */
	}
	s->rd[0].db = s->db;
	if (pg_share_snapshot(s, cfg, target, qtable, &jobs, &pages, &why) != OPS_OK)
		return pg_fall_back(s, select, why.message, err);
	if (jobs <= 1)
		return pg_fall_back(s, select, NULL, err);
	/* Equal block ranges; the last one open, for rows beyond the size
	 * seen (the snapshot decides what is read). */
	for (i = 0, rc = OPS_OK; i < jobs && rc == OPS_OK; i++) {
		struct reader *r = &s->rd[i];

		r->cs.ended = 0;
		rc = pg_start_copy(s, r->db, &r->cs, select, pages * i / jobs,
				   i == jobs - 1 ? -1 : pages * (i + 1) / jobs, &why);
		/* Waiting for the table's lock while another reader holds it
		 * could wait forever behind an ACCESS EXCLUSIVE request that
		 * waits for that reader (a cycle the server cannot see), so
		 * readers wait READER_LOCK_TIMEOUT at most, then give way. */
		if (rc != OPS_OK && r->cs.lock_busy)
			return pg_fall_back(s, select, why.message, err);
		if (rc != OPS_OK)
			*err = why;
	}
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	s->sync_ready = 1;
	for (i = 0; i < jobs && rc == OPS_OK; i++) {
		if (pthread_create(&s->rd[i].thread, NULL, reader_main, &s->rd[i]) != 0)
			rc = ops_error_set(err, OPS_EINTERNAL, "cannot start a reader thread");
		else
			s->rd[i].started = 1;
	}
	return rc;
}

static ops_code pg_open_copy(vsrc *s, const ops_config *cfg, const char *target, ops_error *err)
{
	const char *table = ops_config_get(cfg, "vector.table");
	const char *idcol = ops_config_get(cfg, "vector.id_column");
	const char *ecol = ops_config_get(cfg, "vector.embedding_column");
	const char *filter = ops_config_get(cfg, "vector.filter");
	char *qtable = NULL, *qid = NULL, *qemb = NULL, *sql = NULL, *second = NULL, *tail = NULL;
	ops_rows *rows = NULL;
	ops_code rc;
	const char *type, *idtype;

	rc = ops_db_resolve_table(s->db, table, ops_config_get(cfg, "db.schema"), &qtable, err);
	if (rc != OPS_OK)
		return rc;
	rc = ops_db_query(s->db,
			  "SELECT pg_catalog.format_type(a.atttypid, NULL),"
			  " (SELECT pg_catalog.format_type(b.atttypid, NULL) FROM pg_catalog.pg_attribute b"
			  "  WHERE b.attrelid = a.attrelid AND b.attname = $3 AND NOT b.attisdropped AND b.attnum > 0),"
			  " (SELECT LEAST(c.reltuples, 1e15)::bigint FROM pg_catalog.pg_class c"
			  "  WHERE c.oid = a.attrelid)"
			  " FROM pg_catalog.pg_attribute a WHERE a.attrelid = $1::pg_catalog.regclass"
			  " AND a.attname = $2 AND NOT a.attisdropped AND a.attnum > 0",
			  3, (const char *const[]){qtable, ecol, idcol}, &rows, err);
	if (rc != OPS_OK)
		goto out;
	if (ops_rows_count(rows) == 0) {
		rc = ops_error_set(err, OPS_EFAIL, "table %s has no column '%s'", qtable, ecol);
		goto out;
	}
	type = ops_rows_value(rows, 0, 0);
	idtype = ops_rows_value(rows, 0, 1);
	/* -1 (never vacuumed or analyzed) or unreadable: no estimate. */
	if (!s->extra && ops_rows_int64(rows, 0, 2, &s->estimate, &(ops_error){0}) != OPS_OK)
		s->estimate = 0;
	if (!idtype || !*idtype) {
		rc = ops_error_set(err, OPS_EFAIL, "table %s has no column '%s'", qtable, idcol);
		goto out;
	}
	if (strcmp(idtype, "integer") != 0 && strcmp(idtype, "bigint") != 0 &&
	    strcmp(idtype, "smallint") != 0) {
		rc = ops_error_set(err, OPS_EUSAGE,
				   "id column %s.%s is %s; index ids must be integers", qtable,
				   idcol, idtype);
		goto out;
	}
	if (strcmp(type, "real[]") == 0)
		s->kind = EMB_REAL_ARRAY;
	else if (strcmp(type, "double precision[]") == 0)
		s->kind = EMB_DOUBLE_ARRAY;
	else if (strcmp(type, "bytea") == 0)
		s->kind = EMB_BYTEA;
	else if (strcmp(type, "vector") == 0 ||
		 (strlen(type) > 7 && strcmp(type + strlen(type) - 7, ".vector") == 0))
		/* pgvector's type, schema-qualified when its schema is not on
		 * our (empty) search_path: public.vector, extensions.vector. */
		s->kind = EMB_PGVECTOR;
	else if (strcmp(type, "text") == 0 || strcmp(type, "character varying") == 0 ||
		 strcmp(type, "json") == 0)
		s->kind = EMB_TEXT;	/* '[0.1, 0.2]': pgvector's text form, JSON */
	else if (strcmp(type, "jsonb") == 0)
		s->kind = EMB_JSONB;
	else {
		rc = ops_error_set(err, OPS_EUSAGE, "embedding column %s.%s is %s; real[], "
				   "double precision[], bytea, vector or text expected", qtable,
				   ecol, type);
		goto out;
	}
	qid = ops_db_quote_ident(s->db, idcol);
	qemb = ops_db_quote_ident(s->db, ecol);
	/* ids only: "holds no vector", as the full pass decides it (NULL, and
	 * for arrays and text an empty list), so verify counts the same rows;
	 * the probe (first) skips such rows and stops at one. */
	if (qemb && (s->ids_only || s->first) &&
	    asprintf(&second, s->kind == EMB_REAL_ARRAY || s->kind == EMB_DOUBLE_ARRAY
		     ? "(%s IS NULL OR pg_catalog.cardinality(%s) = 0)"
		     : s->kind == EMB_TEXT || s->kind == EMB_JSONB
		     ? "(%s IS NULL OR"
		       " pg_catalog.translate(%s::text, E' \\t\\r\\n', '') IN ('[]', '{}'))"
		     : "(%s IS NULL OR %s IS NULL)", qemb, qemb) < 0)
		second = NULL;
	if (s->first && second && asprintf(&tail, " AND NOT %s LIMIT 1", second) < 0)
		tail = NULL;
	if (!qid || !qemb || (s->ids_only && !second) || (s->first && !tail) ||
	    asprintf(&sql, "SELECT %s, %s FROM %s WHERE true%s%s%s%s%s%s%s",
		     qid, s->ids_only ? second : qemb, qtable,
		     filter && *filter ? " AND (" : "", filter && *filter ? filter : "",
		     filter && *filter ? ")" : "",
		     s->extra ? " AND (" : "", s->extra ? s->extra : "", s->extra ? ")" : "",
		     tail ? tail : "") < 0 ||
	    asprintf(&s->desc, "%s.%s (%s)", qtable, ecol, type) < 0) {
		sql = NULL;
		rc = ops_error_oom(err);
		goto out;
	}
	rc = pg_start_readers(s, cfg, target, qtable, sql, err);
out:
	ops_rows_free(rows);
	free(qtable);
	free(qid);
	free(qemb);
	free(second);
	free(tail);
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
	char *qe = ops_db_quote_ident(s->db, ecol), *sql = NULL, *second = NULL, *tail = NULL;
	ops_code rc = OPS_OK;
	int r;

	s->kind = EMB_BLOB;
	/* ids only: "holds no vector" as lite_next decides it; the probe
	 * (first) skips such rows and stops at one. */
	if (qe && (s->ids_only || s->first) &&
	    asprintf(&second, "(%s IS NULL OR (typeof(%s) = 'text' AND "
		     "replace(replace(replace(replace(%s, ' ', ''), char(9), ''), char(10), ''),"
		     " char(13), '')"
		     " IN ('[]', '{}')))", qe, qe, qe) < 0)
		second = NULL;
	if (s->first && second && asprintf(&tail, " AND NOT %s LIMIT 1", second) < 0)
		tail = NULL;
	if (!qt || !qi || !qe || (s->ids_only && !second) || (s->first && !tail) ||
	    asprintf(&sql, "SELECT %s, %s FROM %s WHERE true%s%s%s%s%s%s%s", qi,
		     s->ids_only ? second : qe, qt,
		     filter && *filter ? " AND (" : "", filter && *filter ? filter : "",
		     filter && *filter ? ")" : "",
		     s->extra ? " AND (" : "", s->extra ? s->extra : "", s->extra ? ")" : "",
		     tail ? tail : "") < 0 ||
	    asprintf(&s->desc, "%s.%s (BLOB or JSON text)", table, ecol) < 0) {
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
	free(second);
	free(tail);
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

static ops_code src_open(const ops_config *cfg, const char *database, int ids_only,
			 const long long *only, size_t nonly, int first, vsrc **out, ops_error *err)
{
	vsrc *s = calloc(1, sizeof *s);
	const char *target = target_of(cfg, database);
	ops_code rc;

	*out = NULL;
	if (!s)
		return ops_error_oom(err);
	s->ids_only = ids_only;
	s->first = first;
	if (!target || !*target) {
		free(s);
		ops_error_set(err, OPS_ECONFIG, "no database holds the embeddings");
		ops_error_hint(err, "set vector.database or db.name, or give -d");
		return OPS_ECONFIG;
	}
	pthread_mutex_init(&s->dim_mu, NULL);
	rc = ops_db_open(cfg, target, &s->db, err);
	if (rc == OPS_OK && only) {
		char *q = ops_db_quote_ident(s->db, ops_config_get(cfg, "vector.id_column"));

		s->extra = q ? ids_condition(q, only, nonly ? nonly : 0) : NULL;
		free(q);
		if (!s->extra)
			rc = ops_error_oom(err);
	}
	if (rc == OPS_OK)
		rc = ops_db_kind_of(s->db) == OPS_DB_POSTGRES ? pg_open_copy(s, cfg, target, err)
							       : lite_open_stmt(s, cfg, err);
	if (rc != OPS_OK) {
		vsrc_close(s);
		return rc;
	}
	*out = s;
	return OPS_OK;
}

ops_code vsrc_open(const ops_config *cfg, const char *database, int ids_only, const long long *only,
		   size_t nonly, vsrc **out, ops_error *err)
{
	return src_open(cfg, database, ids_only, only, nonly, 0, out, err);
}

ops_code vsrc_first_dim(const ops_config *cfg, const char *database, int *d, ops_error *err)
{
	long long id;
	float *x = NULL;
	size_t xcap = 0, n = 0;
	vsrc *s = NULL;
	ops_code rc;

	*d = 0;
	rc = src_open(cfg, database, 0, NULL, 0, 1, &s, err);
	if (rc == OPS_OK)
		rc = vsrc_next(s, 1, &id, &x, &xcap, &n, err);
	if (rc == OPS_OK && n > 0)
		*d = vsrc_dim(s);
	vsrc_close(s);
	free(x);
	return rc;
}

/* Check one vector's values: NaN or infinity is bad data, named by row. */
static ops_code check_finite(const float *v, int d, long long id, ops_error *err)
{
	int i;

	for (i = 0; i < d; i++)
		if (!isfinite(v[i]))
			return ops_error_set(err, OPS_EDATA,
					     "row id %lld has a %s value at position %d", id,
					     isnan(v[i]) ? "NaN" : "infinite", i);
	return OPS_OK;
}

static locale_t c_numeric;
static pthread_once_t c_numeric_once = PTHREAD_ONCE_INIT;

static void c_numeric_init(void)
{
	c_numeric = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
}

/*
 * An embedding written as text: "[0.1, -2e-3]" (pgvector's text form, a
 * JSON array) or "{0.1,-0.002}" (an array's).  t is NUL-terminated.  With v
 * NULL only counts the numbers into *d; otherwise parses them into v.
 * Returns 0, or -1 with *at the byte offset where it stops making sense.
 */
static int text_vector(const char *t, float *v, int *d, size_t *at)
{
	const char *p = t;
	char close;
	int n = 0;

	pthread_once(&c_numeric_once, c_numeric_init);
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	if (*p != '[' && *p != '{')
		goto bad;
	close = *p == '[' ? ']' : '}';
	p++;
	for (;;) {
		char *end;
		float f;

		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
			p++;
		if (*p == close && n == 0)
			break;
		f = strtof_l(p, &end, c_numeric ? c_numeric : LC_GLOBAL_LOCALE);
		if (end == p)
			goto bad;
		if (v)
			v[n] = f;
		n++;
		p = end;
		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
			p++;
		if (*p == close)
			break;
		if (*p != ',')
			goto bad;
		p++;
	}
	p++;
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	if (*p)
		goto bad;
	*d = n;
	return 0;
bad:
	*at = (size_t)(p - t);
	return -1;
}

/* The dimension of this row, fixing it on the first row any reader sees;
 * x then grows to hold max vectors. */
static ops_code take_dim(vsrc *s, int d, long long id, float **x, size_t *xcap, size_t max,
			 ops_error *err)
{
	int want = 0;

	if (d <= 0)
		return ops_error_set(err, OPS_EDATA, "row id %lld has an empty embedding", id);
	want = __atomic_load_n(&s->dim, __ATOMIC_ACQUIRE);
	if (want == 0) {
		/* The first row any reader sees fixes it, with its id. */
		pthread_mutex_lock(&s->dim_mu);
		if (s->dim == 0) {
			s->dim_row = id;
			__atomic_store_n(&s->dim, d, __ATOMIC_RELEASE);
		}
		pthread_mutex_unlock(&s->dim_mu);
		want = __atomic_load_n(&s->dim, __ATOMIC_ACQUIRE);
	}
	if (want != d)
		/* Both rows named: which one is odd is for the operator to see. */
		return ops_error_set(err, OPS_EDATA, "row id %lld has dimension %d, row id %lld %d",
				     id, d, s->dim_row, want);
	if (*xcap < max * (size_t)d) {
		float *grown = realloc(*x, max * (size_t)d * sizeof **x);

		if (!grown)
			return ops_error_oom(err);
		*x = grown;
		*xcap = max * (size_t)d;
	}
	return OPS_OK;
}

/* One embedding field of a binary COPY row, decoded into slot of *x. */
struct field {
	vsrc *s;
	struct cstream *cs;
	const char *p;		/* the field's bytes, len of them */
	int32_t len;
	long long id;		/* the row's */
	float **x;
	size_t *xcap, max, slot;
};

static ops_code short_row(const vsrc *s, ops_error *err)
{
	return ops_error_set(err, OPS_EDATA, "a COPY row from %s is truncated", s->desc);
}

/* The place of the row's d values in *x (take_dim fixes or checks d). */
static ops_code field_slot(struct field *fl, int d, float **v, ops_error *err)
{
	if (take_dim(fl->s, d, fl->id, fl->x, fl->xcap, fl->max, err) != OPS_OK)
		return err->code;
	*v = *fl->x + fl->slot * (size_t)d;
	return OPS_OK;
}

/*
 * The decoders, one per column type: each leaves the vector in *v and its
 * dimension in *d, or *d 0 for a value that holds no vector ('{}', '[]'),
 * which is counted as NULL.  Every length read is checked against the
 * field's bytes first.
 */

/* real[], double precision[]: array_send's ndim, flags, element type, one
 * (length, lower bound) per dimension, then a length and a value per
 * element. */
static ops_code dec_array(struct field *fl, float **v, int *d, ops_error *err)
{
	const char *end = fl->p + fl->len, *q;
	int esz = fl->s->kind == EMB_REAL_ARRAY ? 4 : 8, ndim, n, i;

	*d = 0;
	if (fl->len < 12)
		return short_row(fl->s, err);
	ndim = (int32_t)rd32(fl->p);
	if (ndim == 0)
		return OPS_OK;	/* '{}' holds no vector either */
	if (ndim != 1)
		return ops_error_set(err, OPS_EDATA, "row id %lld has a %d-dimensional array",
				     fl->id, ndim);
	if (fl->len < 20)
		return short_row(fl->s, err);
	n = (int32_t)rd32(fl->p + 12);
	/* Each element is a length and a value: a dimension the row's bytes
	 * cannot hold is damage, not a size to allocate for. */
	if (n > 0 && (long long)n * (4 + esz) > (long long)fl->len - 20)
		return short_row(fl->s, err);
	if (field_slot(fl, n, v, err) != OPS_OK)
		return err->code;
	q = fl->p + 20;
	for (i = 0; i < n; i++) {
		int32_t el;

		if (end - q < 4)
			return short_row(fl->s, err);
		el = (int32_t)rd32(q);
		q += 4;
		if (el != esz)
			return ops_error_set(err, OPS_EDATA,
					     "row id %lld has a NULL element at position %d",
					     fl->id, i);
		if (end - q < esz)
			return short_row(fl->s, err);
		if (esz == 4) {
			uint32_t u = rd32(q);

			memcpy(&(*v)[i], &u, 4);
		} else {
			uint64_t u = rd64(q);
			double dv;

			memcpy(&dv, &u, 8);
			(*v)[i] = (float)dv;
		}
		q += esz;
	}
	*d = n;
	return OPS_OK;
}

/* bytea: little-endian float32s, as numpy's tobytes() writes them. */
static ops_code dec_bytea(struct field *fl, float **v, int *d, ops_error *err)
{
	int n = fl->len / 4, i;

	*d = 0;
	if (fl->len % 4)
		return ops_error_set(err, OPS_EDATA,
				     "row id %lld: bytea of %d bytes is not float32s", fl->id,
				     fl->len);
	if (field_slot(fl, n, v, err) != OPS_OK)
		return err->code;
	for (i = 0; i < n; i++) {
		uint32_t u;

		memcpy(&u, fl->p + 4 * i, 4);
		u = le32toh(u);
		memcpy(&(*v)[i], &u, 4);
	}
	*d = n;
	return OPS_OK;
}

/* pgvector's vector_send: int16 dimension, int16 unused, float4s. */
static ops_code dec_pgvector(struct field *fl, float **v, int *d, ops_error *err)
{
	int n, i;

	*d = 0;
	if (fl->len < 4)
		return short_row(fl->s, err);
	n = rd16(fl->p);
	if (fl->len != 4 + 4 * n)
		return short_row(fl->s, err);
	if (field_slot(fl, n, v, err) != OPS_OK)
		return err->code;
	for (i = 0; i < n; i++) {
		uint32_t u = rd32(fl->p + 4 + 4 * i);

		memcpy(&(*v)[i], &u, 4);
	}
	*d = n;
	return OPS_OK;
}

/* text, json, jsonb (jsonb_send: a version byte 1, then the text):
 * "[0.1, ...]" or "{0.1,...}" (text_vector). */
static ops_code dec_text(struct field *fl, float **v, int *d, ops_error *err)
{
	struct cstream *cs = fl->cs;
	size_t at, skip = fl->s->kind == EMB_JSONB, tlen;
	int n;

	*d = 0;
	if (skip && (fl->len < 1 || fl->p[0] != 1))
		return ops_error_set(err, OPS_EDATA,
				     "row id %lld: jsonb in an unknown binary version", fl->id);
	if (cs->textcap < (size_t)fl->len + 1) {
		char *grown = realloc(cs->text, (size_t)fl->len + 1);

		if (!grown)
			return ops_error_oom(err);
		cs->text = grown;
		cs->textcap = (size_t)fl->len + 1;
	}
	tlen = (size_t)fl->len - skip;
	memcpy(cs->text, fl->p + skip, tlen);
	cs->text[tlen] = '\0';
	if (strlen(cs->text) != tlen || text_vector(cs->text, NULL, &n, &at) != 0)
		return ops_error_set(err, OPS_EDATA, "row id %lld: the embedding text is not a "
				     "list of numbers (at byte %zu)", fl->id,
				     strlen(cs->text) != tlen ? strlen(cs->text) : at);
	if (n == 0)
		return OPS_OK;	/* '[]' holds no vector either */
	if (field_slot(fl, n, v, err) != OPS_OK)
		return err->code;
	text_vector(cs->text, *v, &n, &at);
	*d = n;
	return OPS_OK;
}

static ops_code (*const decoders[EMB_BLOB + 1])(struct field *, float **, int *, ops_error *) = {
	[EMB_REAL_ARRAY] = dec_array,
	[EMB_DOUBLE_ARRAY] = dec_array,
	[EMB_BYTEA] = dec_bytea,
	[EMB_PGVECTOR] = dec_pgvector,
	[EMB_TEXT] = dec_text,
	[EMB_JSONB] = dec_text,
};

/* One binary COPY row: id, embedding.  *got 1 for a row, 0 for a skipped
 * NULL embedding (or the trailer, which ends cs). */
static ops_code pg_row(vsrc *s, struct cstream *cs, const char *p, int len, long long *id,
		       float **x, size_t *xcap, size_t max, size_t slot, int *got, ops_error *err)
{
	const char *end = p + len;
	struct field fl = {s, cs, NULL, 0, 0, x, xcap, max, slot};
	int32_t flen;
	float *v = NULL;
	int d = 0;

	*got = 0;
	if (end - p < 2)
		return short_row(s, err);
	if ((int16_t)rd16(p) == -1) {
		cs->ended = 1;
		return OPS_OK;
	}
	p += 2;
	if (end - p < 4)
		return short_row(s, err);
	flen = (int32_t)rd32(p);
	p += 4;
	if (flen > 0 && end - p < flen)
		return short_row(s, err);
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
			return short_row(s, err);
		if (p[4])
			cs->nulls++;
		else
			*got = 1;
		return OPS_OK;
	}
	if (end - p < 4)
		return short_row(s, err);
	flen = (int32_t)rd32(p);
	p += 4;
	if (flen < 0) {
		cs->nulls++;
		return OPS_OK;
	}
	if (end - p < flen)
		return short_row(s, err);
	if ((unsigned)s->kind > EMB_BLOB || !decoders[s->kind])
		return ops_error_set(err, OPS_EINTERNAL, "unknown embedding kind");
	fl.p = p;
	fl.len = flen;
	fl.id = *id;
	if (decoders[s->kind](&fl, &v, &d, err) != OPS_OK)
		return err->code;
	if (d == 0) {
		cs->nulls++;
		return OPS_OK;
	}
	if (check_finite(v, d, *id, err) != OPS_OK)
		return err->code;
	*got = 1;
	return OPS_OK;
}

/* The length of the binary COPY header at the start of buf (signature,
 * flags, extension area), or -1 when it is not one. */
static int copy_header_len(const char *buf, int len)
{
	if (len < 19 || memcmp(buf, "PGCOPY\n\377\r\n\0", 11) != 0 ||
	    rd32(buf + 15) > (uint32_t)(len - 19))
		return -1;
	return 19 + (int)rd32(buf + 15);
}

/*
 * Up to max rows of one COPY stream into ids/x.  A cancelled run stops at
 * the next row (its COPY is cancelled on the server by the connection's
 * hook, and vsrc_close drains what is in flight).
 */
static ops_code pg_fill(vsrc *s, struct cstream *cs, size_t max, long long *ids, float **x,
			size_t *xcap, size_t *n, ops_error *err)
{
	*n = 0;
	while (*n < max && !cs->ended) {
		char *buf = NULL;
		int len, got = 0, off = 0;
		ops_code rc;

		if (ops_cancelled())
			return ops_cancel_check(err);
		len = PQgetCopyData(cs->pg, &buf, 0);
		if (len == -1) {	/* done: collect the command's result */
			PGresult *res = PQgetResult(cs->pg);
			ops_code r2 = OPS_OK;
			char msg[300];

			if (PQresultStatus(res) != PGRES_COMMAND_OK && ops_cancelled()) {
				r2 = ops_cancel_check(err);
			} else if (PQresultStatus(res) != PGRES_COMMAND_OK) {
				pg_message(res, cs->pg, msg, sizeof msg);
				r2 = ops_error_set(err, OPS_EFAIL, "reading %s: %s", s->desc, msg);
			}

			PQclear(res);
			while ((res = PQgetResult(cs->pg)))
				PQclear(res);
			cs->ended = 1;
			if (r2 != OPS_OK)
				return r2;
			break;
		}
		if (len < 0) {
			char msg[300];

			pg_message(NULL, cs->pg, msg, sizeof msg);
			return ops_error_set(err, OPS_EUNAVAIL, "reading %s: %s", s->desc, msg);
		}
		if (!cs->header_done) {
			off = copy_header_len(buf, len);
			if (off < 0) {
				PQfreemem(buf);
				return ops_error_set(err, OPS_EDATA, "COPY from %s did not start "
						     "with a binary header", s->desc);
			}
			cs->header_done = 1;
			if (off >= len) {
				PQfreemem(buf);
				continue;
			}
		}
		rc = pg_row(s, cs, buf + off, len - off, &ids[*n], x, xcap, max, *n, &got, err);
		PQfreemem(buf);
		if (rc != OPS_OK)
			return rc;
		*n += (size_t)got;
	}
	return OPS_OK;
}

/* A reader thread: fill free chunks from its COPY until it ends, fails, or
 * the vsrc is closed. */
static void *reader_main(void *arg)
{
	struct reader *r = arg;
	vsrc *s = r->s;

	for (;;) {
		struct chunk *c;
		ops_code rc;

		pthread_mutex_lock(&s->mu);
		while (!s->stop && r->count == QUEUE_DEPTH)
			pthread_cond_wait(&s->cv, &s->mu);
		if (s->stop) {
			r->done = 1;
			pthread_mutex_unlock(&s->mu);
			break;
		}
		c = &r->q[(r->head + r->count) % QUEUE_DEPTH];
		pthread_mutex_unlock(&s->mu);
		rc = pg_fill(s, &r->cs, CHUNK_ROWS, c->ids, &c->x, &c->xcap, &c->n, &r->err);
		pthread_mutex_lock(&s->mu);
		r->nulls = r->cs.nulls;
		if (rc != OPS_OK)
			r->rc = rc;
		else if (c->n > 0)
			r->count++;
		if (rc != OPS_OK || r->cs.ended)
			r->done = 1;
		pthread_cond_broadcast(&s->cv);
		pthread_mutex_unlock(&s->mu);
		if (r->done)
			break;
	}
	return NULL;
}

/* The next rows from the readers: their chunks round robin, so the order
 * is fixed by the table, not by which thread ran first. */
static ops_code pg_next_parallel(vsrc *s, size_t max, long long *ids, float **x, size_t *xcap,
				 size_t *n, ops_error *err)
{
	ops_code rc = OPS_OK;

	*n = 0;
	pthread_mutex_lock(&s->mu);
	while (*n < max) {
		struct reader *r = NULL;
		struct chunk *c;
		size_t take;
		int i, left = 0, d;

		for (;;) {
			if (ops_cancelled()) {
				rc = ops_cancel_check(err);
				goto out;
			}
			for (i = 0; i < s->nrd; i++) {
				if (s->rd[i].rc != OPS_OK) {
					*err = s->rd[i].err;
					rc = s->rd[i].rc;
					goto out;
				}
				left += !s->rd[i].exhausted;
			}
			if (!left)
				goto out;
			r = &s->rd[s->cur];
			if (r->count > 0)
				break;
			if (r->done && !r->exhausted) {
				r->exhausted = 1;
				s->cur = (s->cur + 1) % s->nrd;
			} else if (r->exhausted) {
				s->cur = (s->cur + 1) % s->nrd;
			} else {
				pthread_cond_wait(&s->cv, &s->mu);
			}
			left = 0;
		}
		c = &r->q[r->head];
		pthread_mutex_unlock(&s->mu);
		take = c->n - s->pos < max - *n ? c->n - s->pos : max - *n;
		memcpy(ids + *n, c->ids + s->pos, take * sizeof *ids);
		d = __atomic_load_n(&s->dim, __ATOMIC_ACQUIRE);
		if (!s->ids_only && d > 0) {
			if (*xcap < max * (size_t)d) {
				float *grown = realloc(*x, max * (size_t)d * sizeof **x);

				if (!grown) {
					pthread_mutex_lock(&s->mu);
					rc = ops_error_oom(err);
					goto out;
				}
				*x = grown;
				*xcap = max * (size_t)d;
			}
			memcpy(*x + *n * (size_t)d, c->x + s->pos * (size_t)d,
			       take * (size_t)d * sizeof **x);
		}
		*n += take;
		s->pos += take;
		pthread_mutex_lock(&s->mu);
		if (s->pos == c->n) {
			r->head = (r->head + 1) % QUEUE_DEPTH;
			r->count--;
			s->pos = 0;
			s->cur = (s->cur + 1) % s->nrd;
			pthread_cond_broadcast(&s->cv);
		}
	}
out:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static ops_code lite_next(vsrc *s, size_t max, long long *ids, float **x, size_t *xcap, size_t *n,
			  ops_error *err)
{
	*n = 0;
	/* sqlite3_step after SQLITE_DONE would start the query again. */
	while (*n < max && !s->one.ended) {
		int r, bytes, d, i;
		const unsigned char *blob;
		float *v;
		long long id;

		if (ops_cancelled())
			return ops_cancel_check(err);
		r = sqlite3_step(s->st);
		if (r == SQLITE_DONE) {
			s->one.ended = 1;
			break;
		}
		if (r == SQLITE_INTERRUPT && ops_cancelled())
			return ops_cancel_check(err);
		if (r != SQLITE_ROW)
			return ops_error_set(err, OPS_EFAIL, "reading %s: %s", s->desc,
					     sqlite3_errmsg(ops_db_handle(s->db)));
		id = sqlite3_column_int64(s->st, 0);
		if (s->ids_only) {
			if (sqlite3_column_int(s->st, 1))
				s->one.nulls++;
			else
				ids[(*n)++] = id;
			continue;
		}
		if (sqlite3_column_type(s->st, 1) == SQLITE_NULL) {
			s->one.nulls++;
			continue;
		}
		if (sqlite3_column_type(s->st, 1) == SQLITE_TEXT) {
			/* JSON text, as many SQLite stores keep embeddings */
			const char *t = (const char *)sqlite3_column_text(s->st, 1);
			size_t at;

			if (!t || text_vector(t, NULL, &d, &at) != 0)
				return ops_error_set(err, OPS_EDATA, "row id %lld: the embedding "
						     "text is not a list of numbers (at byte %zu)",
						     id, t ? at : 0);
			if (d == 0) {
				s->one.nulls++;
				continue;
			}
			if (take_dim(s, d, id, x, xcap, max, err) != OPS_OK)
				return err->code;
			v = *x + *n * (size_t)d;
			text_vector(t, v, &d, &at);
			if (check_finite(v, d, id, err) != OPS_OK)
				return err->code;
			ids[*n] = id;
			(*n)++;
			continue;
		}
		blob = sqlite3_column_blob(s->st, 1);
		bytes = sqlite3_column_bytes(s->st, 1);
		if (bytes % 4)
			return ops_error_set(err, OPS_EDATA, "row id %lld: BLOB of %d bytes is not "
					     "float32s", id, bytes);
		d = bytes / 4;
		if (take_dim(s, d, id, x, xcap, max, err) != OPS_OK)
			return err->code;
		v = *x + *n * (size_t)d;
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
	if (s->rd)
		return pg_next_parallel(s, max, ids, x, xcap, n, err);
	if (s->one.pg)
		return pg_fill(s, &s->one, max, ids, x, xcap, n, err);
	return lite_next(s, max, ids, x, xcap, n, err);
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
		rc = ops_db_resolve_table(s->db, table, ops_config_get(cfg, "db.schema"), &qt, err);
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
		rc = ops_rows_int64(rows, 0, 0, n, err);
	ops_rows_free(rows);
	ops_db_close(s->db);
	free(qt);
	free(qe);
	free(sql);
	return rc;
}

int vsrc_dim(const vsrc *s)
{
	return __atomic_load_n(&s->dim, __ATOMIC_ACQUIRE);
}

long long vsrc_nulls(const vsrc *s)
{
	long long n = s->one.nulls;
	int i;

	if (s->rd) {
		pthread_mutex_lock((pthread_mutex_t *)&s->mu);
		for (i = 0; i < s->nrd; i++)
			n += s->rd[i].nulls;
		pthread_mutex_unlock((pthread_mutex_t *)&s->mu);
	}
	return n;
}

long long vsrc_rows_estimate(const vsrc *s)
{
	return s->estimate > 0 ? s->estimate : 0;
}

int vsrc_jobs(const vsrc *s)
{
	return s->nrd > 0 ? s->nrd : 1;
}

const char *vsrc_describe(const vsrc *s)
{
	return s->desc ? s->desc : "";
}

void vsrc_close(vsrc *s)
{
	int i;

	if (!s)
		return;
	free(s->one.text);
	if (s->rd) {
		if (s->sync_ready) {
			pthread_mutex_lock(&s->mu);
			s->stop = 1;
			pthread_cond_broadcast(&s->cv);
			/* A thread inside PQgetCopyData returns once its COPY
			 * is cancelled (PQcancel is safe beside it). */
			for (i = 0; i < s->nrd; i++)
				if (s->rd[i].started && !s->rd[i].done)
					ops_db_cancel(s->rd[i].db);
			pthread_mutex_unlock(&s->mu);
			for (i = 0; i < s->nrd; i++)
				if (s->rd[i].started)
					pthread_join(s->rd[i].thread, NULL);
		}
		for (i = 0; i < s->nrd; i++) {
			struct reader *r = &s->rd[i];
			int k;

			if (r->db)
				pg_abandon(r->db, &r->cs);
			for (k = 0; k < QUEUE_DEPTH; k++)
				free(r->q[k].x);
			free(r->cs.text);
			if (i > 0)
				ops_db_close(r->db);
		}
		free(s->rd);
		if (s->sync_ready) {
			pthread_mutex_destroy(&s->mu);
			pthread_cond_destroy(&s->cv);
		}
	}
	pg_abandon(s->db, &s->one);
	if (s->st)
		sqlite3_finalize(s->st);
	ops_db_close(s->db);
	pthread_mutex_destroy(&s->dim_mu);
	free(s->desc);
	free(s->extra);
	free(s);
}
