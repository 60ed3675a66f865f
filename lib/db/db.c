/*
 * The database interface: which databases a command runs over and what kind
 * each is, one handle type over two engines (libpq and SQLite), results as
 * text rows, connections cancelled with the run, and the few jobs every
 * domain needs from a connection: a table name looked up as a name, the
 * parameter dialect, a consistent SQLite copy.  What every caller gets for
 * free is listed in db.h: an empty search_path on PostgreSQL, passwords only
 * from libpq's own sources, quoting with the engine's own escaping.  This
 * module runs no maintenance (lib/dbmaint does) and knows no domain.
 */
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <openssl/crypto.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "opsmaint/cancel.h"
#include "opsmaint/config.h"
#include "opsmaint/db.h"
#include "opsmaint/log.h"

struct ops_rows {
	int nrows, ncols;
	char **names;		/* ncols */
	char **cells;		/* nrows * ncols, NULL for SQL NULL */
};

struct ops_db {
	ops_db_kind kind;
	char *name;		/* display name, no credentials */
	char *path;		/* SQLite file */
	PGconn *pg;
	PGcancel *cancel;
	sqlite3 *lite;
	int version;
	char sqlstate[6];
	ops_db_notice_fn notice_fn;
	void *notice_arg;
	int cancel_hook;	/* cancel.h: the query is cancelled with the run;
				 * -1 on a cleanup connection */
};

static int has_suffix(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

ops_code ops_db_targets(const ops_config *cfg, const char *flag_value,
			char ***out, ops_error *err)
{
	char **v;
	const char *name;

	*out = NULL;
	if (flag_value && *flag_value)
		v = ops_split_list(flag_value);
	else {
		v = ops_config_list(cfg, "db.databases");
		if (v && !v[0] && (name = ops_config_get(cfg, "db.name")) && *name) {
			ops_strv_free(v);
			v = ops_split_list(name);
		}
	}
	if (!v)
		return ops_error_oom(err);
	if (!v[0]) {
		ops_strv_free(v);
		ops_error_set(err, OPS_ECONFIG, "no database given");
		ops_error_hint(err, "use -d NAME, set DB_NAME, or set db.name or db.databases "
			       "in the configuration");
		return OPS_ECONFIG;
	}
	*out = v;
	return OPS_OK;
}

ops_code ops_db_target_kind(const char *target, ops_db_kind *kind,
			    char **path_out, ops_error *err)
{
	const char *path = NULL;

	if (path_out)
		*path_out = NULL;
	if (!target || !*target)
		return ops_error_set(err, OPS_EUSAGE, "empty database name");
	if (strncmp(target, "postgresql://", 13) == 0 || strncmp(target, "postgres://", 11) == 0) {
		*kind = OPS_DB_POSTGRES;
		return OPS_OK;
	}
	if (strncmp(target, "sqlite:", 7) == 0)
		path = target + 7;
	else if (has_suffix(target, ".db") || has_suffix(target, ".sqlite") ||
		 has_suffix(target, ".sqlite3"))
		path = target;
	if (path) {
		if (!*path)
			return ops_error_set(err, OPS_EUSAGE, "'sqlite:' needs a file path");
		*kind = OPS_DB_SQLITE;
		if (path_out && !(*path_out = strdup(path)))
			return ops_error_oom(err);
		return OPS_OK;
	}
	/* Anything else is a database name, taken literally: a conninfo string
	 * ("host=x password=y") is never expanded, so none can arrive on argv. */
	*kind = OPS_DB_POSTGRES;
	return OPS_OK;
}

/* "postgresql://user:secret@host/db" -> the database part, never the secret. */
static char *display_name(const char *target)
{
	const char *p, *slash, *q;

	if (strncmp(target, "postgres", 8) != 0 || !(p = strstr(target, "://")))
		return strdup(target);
	p += 3;
	slash = strchr(p, '/');
	if (!slash || !slash[1])
		return strdup("postgres");
	q = strpbrk(slash + 1, "?#");
	return q ? strndup(slash + 1, (size_t)(q - slash - 1)) : strdup(slash + 1);
}

static int uri_has_password(const char *target)
{
	const char *p = strstr(target, "://"), *at, *colon;

	if (!p)
		return 0;
	p += 3;
	at = strchr(p, '@');
	if (!at)
		return 0;
	colon = memchr(p, ':', (size_t)(at - p));
	return colon != NULL;
}

static void db_free(ops_db *db)
{
	if (!db)
		return;
	ops_cancel_hook_remove(db->cancel_hook);
	if (db->cancel)
		PQfreeCancel(db->cancel);
	if (db->pg)
		PQfinish(db->pg);
	if (db->lite)
		sqlite3_close_v2(db->lite);
	free(db->name);
	free(db->path);
	free(db);
}

void ops_db_close(ops_db *db)
{
	db_free(db);
}

/* ---- PostgreSQL ---- */

static void pg_notice(void *arg, const PGresult *res)
{
	ops_db *db = arg;
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	char buf[2048];

	if (!msg)
		msg = PQresultErrorMessage(res);
	snprintf(buf, sizeof buf, "%s", msg ? msg : "");
	buf[strcspn(buf, "\n")] = '\0';
	if (db->notice_fn)
		db->notice_fn(db->notice_arg, buf);
	else
		ops_log_debug("%s: %s", db->name, buf);
}

static void first_line(const char *in, char *out, size_t len)
{
	const char *p = in ? in : "";

	if (strncmp(p, "connection to server", 20) == 0 && strstr(p, "failed: "))
		p = strstr(p, "failed: ") + 8;
	/* The severity is ours to say; libpq's "FATAL:  " is noise in one line. */
	if (strncmp(p, "FATAL:  ", 8) == 0 || strncmp(p, "ERROR:  ", 8) == 0)
		p += 8;
	snprintf(out, len, "%s", p);
	out[strcspn(out, "\n")] = '\0';
}

static ops_code pg_result_error(ops_db *db, PGresult *res, ops_error *err);

static ops_code pg_set(ops_db *db, const char *name, const char *value, ops_error *err)
{
	const char *params[2] = {name, value};
	PGresult *res = PQexecParams(db->pg, "SELECT pg_catalog.set_config($1, $2, false)",
				     2, NULL, params, NULL, NULL, 0);
	ops_code rc = OPS_OK;

	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		rc = ops_error_set(err, OPS_EFAIL, "cannot set %s on database '%s': %s", name,
				   db->name, PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY));
	PQclear(res);
	return rc;
}

/* as_user/as_password: a login test (ops_db_open_as), NULL otherwise. */
static ops_code pg_open(const ops_config *cfg, const char *target, const char *as_user,
			const char *as_password, ops_db *db, ops_error *err)
{
	const char *keys[12], *vals[12];
	char timeout[32], msg[512], where[300];
	int n = 0;
	const char *host = cfg ? ops_config_get(cfg, "db.host") : NULL;
	const char *port = cfg ? ops_config_get(cfg, "db.port") : NULL;
	const char *v;
	long t;

	if (uri_has_password(target))
		ops_log_info("the database URI carries a password; "
			     "~/.pgpass keeps it off command lines");
	if (host && *host) { keys[n] = "host"; vals[n++] = host; }
	if (port && *port) { keys[n] = "port"; vals[n++] = port; }
	if (cfg && (v = ops_config_get(cfg, "db.user")) && *v) { keys[n] = "user"; vals[n++] = v; }
	if (cfg && (v = ops_config_get(cfg, "db.sslmode")) && *v) {
		keys[n] = "sslmode"; vals[n++] = v;
	}
	t = cfg ? ops_config_int(cfg, "db.connect_timeout") : 10;
	snprintf(timeout, sizeof timeout, "%ld", t > 0 ? t : 10);
	keys[n] = "connect_timeout"; vals[n++] = timeout;
	if (cfg && (v = ops_config_get(cfg, "db.application_name")) && *v) {
		keys[n] = "application_name"; vals[n++] = v;
	}
	keys[n] = "fallback_application_name"; vals[n++] = "opsctl";
	/* Last, so that what a URI says (its user, host, port) overrides the
	 * defaults from the configuration and the environment (PGUSER...):
	 * libpq lets an expanded dbname override the keywords before it. */
	keys[n] = "dbname"; vals[n++] = target;
	/* After dbname: a login test is as this user, whatever a URI says. */
	if (as_user) {
		keys[n] = "user"; vals[n++] = as_user;
		keys[n] = "password"; vals[n++] = as_password;
	}
	keys[n] = NULL; vals[n] = NULL;

	/* Only a URI is expanded; a plain name is a name even if it holds '='. */
	db->pg = PQconnectdbParams(keys, vals,
				   strncmp(target, "postgres", 8) == 0 && strstr(target, "://"));
	if (!db->pg)
		return ops_error_oom(err);
	if (PQstatus(db->pg) != CONNECTION_OK) {
		const char *e = PQerrorMessage(db->pg);

		first_line(e, msg, sizeof msg);
		if (strstr(e, "does not exist") && strstr(e, "database \""))
			return ops_error_set(err, OPS_EFAIL, "database '%s' does not exist",
					     db->name);
		if (PQconnectionNeedsPassword(db->pg) ||
		    strstr(e, "password authentication failed") ||
		    strstr(e, "no password supplied") ||
		    (strstr(e, "role \"") && strstr(e, "does not exist")) ||
		    strstr(e, "no pg_hba.conf entry")) {
			if (as_user)
				return ops_error_set(err, OPS_EPERM,
						     "cannot connect to database '%s' as '%s': %s",
						     db->name, as_user, msg);
			ops_error_set(err, OPS_EPERM, "cannot connect to database '%s': %s",
				      db->name, msg);
			/* The fix depends on what the server refused. */
			if (strstr(e, "role \"") && strstr(e, "does not exist"))
				ops_error_hint(err, "connect as a role that exists (db.user, PGUSER, "
					       "or the user in -d's URI), or create this one");
			else if (strstr(e, "no pg_hba.conf entry"))
				ops_error_hint(err, "the server's pg_hba.conf admits no such "
					       "connection: add a line for this host, user and "
					       "database, then reload PostgreSQL");
			else
				ops_error_hint(err, "put the password in ~/.pgpass (mode 0600) "
					       "or the service file");
			return OPS_EPERM;
		}
		v = PQhost(db->pg);
		snprintf(where, sizeof where, "%s:%s", v && *v ? v : "localhost",
			 PQport(db->pg) && *PQport(db->pg) ? PQport(db->pg) : "5432");
		return ops_error_set(err, OPS_EUNAVAIL, "cannot connect to PostgreSQL at %s: %s",
				     where, msg);
	}
	PQsetNoticeReceiver(db->pg, pg_notice, db);
	db->cancel = PQgetCancel(db->pg);
	db->version = PQserverVersion(db->pg);
	/* CVE-2018-1058: nothing a database user created may shadow what we
	 * call.  Sent as literal SQL, the statement vacuumdb sends. */
	{
		PGresult *res = PQexec(db->pg,
				       "SELECT pg_catalog.set_config('search_path', '', false)");
		ops_code rc = PQresultStatus(res) == PGRES_TUPLES_OK ? OPS_OK
				: pg_result_error(db, res, err);

		PQclear(res);
		if (rc != OPS_OK)
			return rc;
	}
	if (cfg && (t = ops_config_int(cfg, "db.statement_timeout")) > 0) {
		snprintf(timeout, sizeof timeout, "%lds", t);
		if (pg_set(db, "statement_timeout", timeout, err) != OPS_OK)
			return err ? err->code : OPS_EFAIL;
	}
	if (cfg && (t = ops_config_int(cfg, "db.lock_timeout")) > 0) {
		snprintf(timeout, sizeof timeout, "%lds", t);
		if (pg_set(db, "lock_timeout", timeout, err) != OPS_OK)
			return err ? err->code : OPS_EFAIL;
	}
	return OPS_OK;
}

static ops_code pg_result_error(ops_db *db, PGresult *res, ops_error *err)
{
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
	const char *hint = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_HINT) : NULL;
	char msg[512];

	snprintf(db->sqlstate, sizeof db->sqlstate, "%s", state ? state : "");
	if (PQstatus(db->pg) == CONNECTION_BAD) {
		first_line(PQerrorMessage(db->pg), msg, sizeof msg);
		return ops_error_set(err, OPS_EUNAVAIL, "connection to database '%s' lost: %s",
				     db->name, msg);
	}
	/* 42501 insufficient_privilege, 28xxx invalid authorization: exit 77. */
	if (primary)
		ops_error_set(err, state && (strcmp(state, "42501") == 0 ||
					     strncmp(state, "28", 2) == 0)
			      ? OPS_EPERM : OPS_EFAIL, "%s", primary);
	else {
		first_line(PQerrorMessage(db->pg), msg, sizeof msg);
		ops_error_set(err, OPS_EFAIL, "%s", msg);
	}
	if (detail)
		ops_error_detail(err, "%s", detail);
	if (hint)
		ops_error_hint(err, "%s", hint);
	return err ? err->code : OPS_EFAIL;
}

/* ---- SQLite ---- */

static ops_code lite_error(ops_db *db, int rc, ops_error *err)
{
	int primary = rc & 0xff;

	if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED)
		return ops_error_set(err, OPS_ELOCKED, "database '%s' is locked by another process",
				     db->name);
	if (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB)
		return ops_error_set(err, OPS_EDATA, "database '%s' is damaged: %s", db->name,
				     sqlite3_errmsg(db->lite));
	if (primary == SQLITE_FULL || primary == SQLITE_IOERR)
		return ops_error_set(err, OPS_EIO, "%s: %s", db->name, sqlite3_errmsg(db->lite));
	if (primary == SQLITE_READONLY || primary == SQLITE_PERM || primary == SQLITE_AUTH)
		return ops_error_set(err, OPS_EPERM, "%s: %s", db->name, sqlite3_errmsg(db->lite));
	return ops_error_set(err, OPS_EFAIL, "%s", sqlite3_errmsg(db->lite));
}

static ops_code lite_open(const char *path, ops_db *db, ops_error *err)
{
	struct stat st;
	int rc;

	if (stat(path, &st) != 0) {
		if (errno == ENOENT)
			return ops_error_set(err, OPS_EFAIL, "database file '%s' does not exist",
					     path);
		return ops_error_errno(err, errno, "cannot open database file", path);
	}
	if (!S_ISREG(st.st_mode))
		return ops_error_set(err, OPS_EDATA, "'%s' is not a regular file", path);
	/* Never SQLITE_OPEN_CREATE: a mistyped path must not become an empty database. */
	rc = sqlite3_open_v2(path, &db->lite, SQLITE_OPEN_READWRITE | SQLITE_OPEN_EXRESCODE, NULL);
	if (rc != SQLITE_OK) {
		if ((rc & 0xff) == SQLITE_CANTOPEN || (rc & 0xff) == SQLITE_PERM)
			return ops_error_set(err, OPS_EPERM, "cannot open database file '%s': %s",
					     path, db->lite ? sqlite3_errmsg(db->lite)
					     : "unknown error");
		return lite_error(db, rc, err);
	}
	sqlite3_busy_timeout(db->lite, 5000);
	rc = sqlite3_exec(db->lite, "PRAGMA schema_version", NULL, NULL, NULL);
	if ((rc & 0xff) == SQLITE_NOTADB)
		return ops_error_set(err, OPS_EDATA, "'%s' is not an SQLite database", path);
	if (rc != SQLITE_OK)
		return lite_error(db, rc, err);
	db->version = sqlite3_libversion_number();
	return OPS_OK;
}

/* ---- the interface ---- */

static void cancel_hook(void *arg)
{
	ops_db_cancel(arg);
}

static ops_code db_open(const ops_config *cfg, const char *target, const char *as_user,
			const char *as_password, int cleanup, ops_db **out, ops_error *err)
{
	ops_db *db;
	ops_code rc;
	char *path = NULL;
	ops_db_kind kind;

	*out = NULL;
	if ((rc = ops_db_target_kind(target, &kind, &path, err)) != OPS_OK)
		return rc;
	db = calloc(1, sizeof *db);
	if (!db) {
		free(path);
		return ops_error_oom(err);
	}
	db->kind = kind;
	db->path = path;
	db->cancel_hook = -1;
	db->name = kind == OPS_DB_SQLITE ? strdup(path) : display_name(target);
	if (!db->name) {
		db_free(db);
		return ops_error_oom(err);
	}
	if (as_user && kind != OPS_DB_POSTGRES) {
		db_free(db);
		return ops_error_set(err, OPS_EUSAGE, "'%s' is not a PostgreSQL database: "
				     "SQLite has no logins", target);
	}
	rc = kind == OPS_DB_SQLITE ? lite_open(path, db, err)
				   : pg_open(cfg, target, as_user, as_password, db, err);
	if (rc != OPS_OK) {
		db_free(db);
		return rc;
	}
	/* An interrupted run stops the statement the server is running now
	 * (PQcancel and sqlite3_interrupt are both thread-safe). */
	if (!cleanup)
		db->cancel_hook = ops_cancel_hook_add(cancel_hook, db);
	*out = db;
	return OPS_OK;
}

ops_code ops_db_open(const ops_config *cfg, const char *target, ops_db **out,
		     ops_error *err)
{
	return db_open(cfg, target, NULL, NULL, 0, out, err);
}

ops_code ops_db_open_as(const ops_config *cfg, const char *target, const char *user,
			const char *password, ops_db **out, ops_error *err)
{
	*out = NULL;
	/* libpq takes an empty keyword as unset and would fall back to
	 * PGPASSWORD and ~/.pgpass: a test of this password must use it. */
	if (!user || !*user || !password || !*password)
		return ops_error_set(err, OPS_EUSAGE, "a login test needs a user and a password");
	return db_open(cfg, target, user, password, 0, out, err);
}

ops_code ops_db_open_cleanup(const ops_config *cfg, const char *target, ops_db **out,
			     ops_error *err)
{
	return db_open(cfg, target, NULL, NULL, 1, out, err);
}

void ops_db_set_cleanup(ops_db *db)
{
	/* Once removed, the hook is neither running nor about to run. */
	ops_cancel_hook_remove(db->cancel_hook);
	db->cancel_hook = -1;
}

ops_db_kind ops_db_kind_of(const ops_db *db) { return db->kind; }
const char *ops_db_name(const ops_db *db) { return db->name; }
int ops_db_server_version(const ops_db *db) { return db->version; }
const char *ops_db_path(const ops_db *db) { return db->kind == OPS_DB_SQLITE ? db->path : NULL; }
const char *ops_db_last_sqlstate(const ops_db *db) { return db->sqlstate; }
void *ops_db_handle(ops_db *db)
{
	return db->kind == OPS_DB_SQLITE ? (void *)db->lite : (void *)db->pg;
}

int ops_db_in_transaction(ops_db *db)
{
	if (db->kind == OPS_DB_SQLITE)
		return !sqlite3_get_autocommit(db->lite);
	return PQtransactionStatus(db->pg) == PQTRANS_INTRANS ||
	       PQtransactionStatus(db->pg) == PQTRANS_INERROR;
}

void ops_db_set_notice_handler(ops_db *db, ops_db_notice_fn fn, void *arg)
{
	db->notice_fn = fn;
	db->notice_arg = arg;
}

void ops_db_cancel(ops_db *db)
{
	char buf[256];

	if (db->kind == OPS_DB_SQLITE)
		sqlite3_interrupt(db->lite);
	else if (db->cancel)
		PQcancel(db->cancel, buf, sizeof buf);
}

ops_code ops_db_exec(ops_db *db, const char *sql, ops_error *err)
{
	db->sqlstate[0] = '\0';
	if (db->kind == OPS_DB_POSTGRES) {
		PGresult *res = PQexec(db->pg, sql);
		ExecStatusType st = PQresultStatus(res);
		ops_code rc = OPS_OK;

		if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY)
			rc = pg_result_error(db, res, err);
		PQclear(res);
		return rc;
	} else {
		int rc = sqlite3_exec(db->lite, sql, NULL, NULL, NULL);

		return rc == SQLITE_OK ? OPS_OK : lite_error(db, rc, err);
	}
}

static ops_rows *rows_new(int nrows, int ncols)
{
	ops_rows *r = calloc(1, sizeof *r);

	if (!r)
		return NULL;
	r->nrows = nrows;
	r->ncols = ncols;
	r->names = calloc((size_t)ncols + 1, sizeof *r->names);
	r->cells = calloc((size_t)nrows * (size_t)ncols + 1, sizeof *r->cells);
	if (!r->names || !r->cells) {
		ops_rows_free(r);
		return NULL;
	}
	return r;
}

void ops_rows_free(ops_rows *r)
{
	int i;

	if (!r)
		return;
	for (i = 0; r->names && i < r->ncols; i++)
		free(r->names[i]);
	for (i = 0; r->cells && i < r->nrows * r->ncols; i++)
		free(r->cells[i]);
	free(r->names);
	free(r->cells);
	free(r);
}

static ops_code pg_query(ops_db *db, const char *sql, int nparams,
			 const char *const *params, ops_rows **out, ops_error *err)
{
	PGresult *res = PQexecParams(db->pg, sql, nparams, NULL, params, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(res);
	ops_rows *r;
	int i, j;
	ops_code rc = OPS_OK;

	if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
		rc = pg_result_error(db, res, err);
		PQclear(res);
		return rc;
	}
	r = rows_new(PQntuples(res), PQnfields(res));
	if (!r) {
		PQclear(res);
		return ops_error_oom(err);
	}
	for (j = 0; j < r->ncols; j++)
		if (!(r->names[j] = strdup(PQfname(res, j))))
			goto oom;
	for (i = 0; i < r->nrows; i++)
		for (j = 0; j < r->ncols; j++)
			if (!PQgetisnull(res, i, j) &&
			    !(r->cells[i * r->ncols + j] = strdup(PQgetvalue(res, i, j))))
				goto oom;
	PQclear(res);
	*out = r;
	return OPS_OK;
oom:
	PQclear(res);
	ops_rows_free(r);
	return ops_error_oom(err);
}

static ops_code lite_query(ops_db *db, const char *sql, int nparams,
			   const char *const *params, ops_rows **out, ops_error *err)
{
	sqlite3_stmt *st = NULL;
	ops_rows *r = NULL;
	char **cells = NULL;
	int rc, i, ncols, nrows = 0, cap = 0;
	ops_code code = OPS_OK;

	rc = sqlite3_prepare_v2(db->lite, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return lite_error(db, rc, err);
	for (i = 0; i < nparams; i++)
		if (sqlite3_bind_text(st, i + 1, params[i], -1, SQLITE_TRANSIENT) != SQLITE_OK) {
			code = lite_error(db, sqlite3_errcode(db->lite), err);
			goto out;
		}
	ncols = sqlite3_column_count(st);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((nrows + 1) * ncols > cap) {
			int ncap = cap ? cap * 2 : 64 * (ncols ? ncols : 1);
			char **nc;

			while (ncap < (nrows + 1) * ncols)
				ncap *= 2;
			nc = realloc(cells, (size_t)ncap * sizeof *nc);
			if (!nc)
				goto oom;
			memset(nc + cap, 0, (size_t)(ncap - cap) * sizeof *nc);
			cells = nc;
			cap = ncap;
		}
		for (i = 0; i < ncols; i++) {
			const unsigned char *t = sqlite3_column_text(st, i);

			if (t && !(cells[nrows * ncols + i] = strdup((const char *)t)))
				goto oom;
		}
		nrows++;
	}
	if (rc != SQLITE_DONE) {
		code = lite_error(db, rc, err);
		goto out;
	}
	r = rows_new(0, ncols);
	if (!r)
		goto oom;
	free(r->cells);
	r->cells = cells ? cells : calloc(1, sizeof *r->cells);
	cells = NULL;
	r->nrows = nrows;
	for (i = 0; i < ncols; i++)
		if (!(r->names[i] = strdup(sqlite3_column_name(st, i))))
			goto oom;
	*out = r;
	r = NULL;
	goto out;
oom:
	code = ops_error_oom(err);
out:
	if (cells) {
		for (i = 0; i < nrows * ncols + ncols; i++)
			if (i < cap)
				free(cells[i]);
		free(cells);
	}
	ops_rows_free(r);
	sqlite3_finalize(st);
	return code;
}

ops_code ops_db_query(ops_db *db, const char *sql, int nparams,
		      const char *const *params, ops_rows **out, ops_error *err)
{
	*out = NULL;
	db->sqlstate[0] = '\0';
	if (db->kind == OPS_DB_POSTGRES)
		return pg_query(db, sql, nparams, params, out, err);
	return lite_query(db, sql, nparams, params, out, err);
}

const char *ops_db_param_prefix(const ops_db *db)
{
	return db->kind == OPS_DB_POSTGRES ? "$" : "?";
}

int ops_rows_count(const ops_rows *r) { return r ? r->nrows : 0; }
int ops_rows_columns(const ops_rows *r) { return r ? r->ncols : 0; }

const char *ops_rows_column_name(const ops_rows *r, int col)
{
	return r && col >= 0 && col < r->ncols ? r->names[col] : NULL;
}

int ops_rows_column(const ops_rows *r, const char *name)
{
	int i;

	for (i = 0; r && i < r->ncols; i++)
		if (strcmp(r->names[i], name) == 0)
			return i;
	return -1;
}

const char *ops_rows_value(const ops_rows *r, int row, int col)
{
	if (!r || row < 0 || row >= r->nrows || col < 0 || col >= r->ncols)
		return NULL;
	return r->cells[row * r->ncols + col];
}

char *ops_db_quote_ident(const ops_db *db, const char *ident)
{
	size_t n = strlen(ident), i, o = 0;
	char *q;

	if (db && db->kind == OPS_DB_POSTGRES && db->pg) {
		char *pq = PQescapeIdentifier(db->pg, ident, n);
		char *copy = pq ? strdup(pq) : NULL;

		PQfreemem(pq);
		return copy;
	}
	q = malloc(2 * n + 3);
	if (!q)
		return NULL;
	q[o++] = '"';
	for (i = 0; i < n; i++) {
		if (ident[i] == '"')
			q[o++] = '"';
		q[o++] = ident[i];
	}
	q[o++] = '"';
	q[o] = '\0';
	return q;
}

char *ops_db_quote_literal(const ops_db *db, const char *text)
{
	size_t n = strlen(text), i, o = 0;
	char *q;

	if (db && db->kind == OPS_DB_POSTGRES && db->pg) {
		char *pq = PQescapeLiteral(db->pg, text, n);
		char *copy = pq ? strdup(pq) : NULL;

		/* The literal may be a password verifier: leave no copy behind. */
		if (pq) {
			OPENSSL_cleanse(pq, strlen(pq));
			PQfreemem(pq);
		}
		return copy;
	}
	q = malloc(2 * n + 3);
	if (!q)
		return NULL;
	q[o++] = '\'';
	for (i = 0; i < n; i++) {
		if (text[i] == '\'')
			q[o++] = '\'';
		q[o++] = text[i];
	}
	q[o++] = '\'';
	q[o] = '\0';
	return q;
}

ops_code ops_db_password_verifier(ops_db *db, const char *role, const char *password,
				  char **verifier, ops_error *err)
{
	char *v, msg[512];

	*verifier = NULL;
	if (db->kind != OPS_DB_POSTGRES)
		return ops_error_set(err, OPS_EUSAGE, "'%s' is not a PostgreSQL database: "
				     "SQLite has no roles", db->name);
	/* The algorithm named, libpq asks the server nothing: the salt and
	 * the 4096 iterations are computed here. */
	v = PQencryptPasswordConn(db->pg, password, role, "scram-sha-256");
	if (!v) {
		first_line(PQerrorMessage(db->pg), msg, sizeof msg);
		return ops_error_set(err, OPS_EFAIL, "cannot compute the password verifier of "
				     "role '%s': %s", role, *msg ? msg : "out of memory");
	}
	*verifier = strdup(v);
	OPENSSL_cleanse(v, strlen(v));
	PQfreemem(v);
	return *verifier ? OPS_OK : ops_error_oom(err);
}

ops_code ops_db_resolve_table(ops_db *db, const char *name, const char *in_schema, char **out,
			      ops_error *err)
{
	const char *dot = db->kind == OPS_DB_POSTGRES ? strchr(name, '.') : NULL;
	char *schema = NULL;
	const char *p[2];
	ops_rows *rows = NULL;
	ops_code rc;

	*out = NULL;
	if (dot) {
		schema = strndup(name, (size_t)(dot - name));
		if (!schema)
			return ops_error_oom(err);
		p[0] = dot + 1;
		p[1] = schema;
	} else {
		p[0] = name;
		p[1] = db->kind == OPS_DB_POSTGRES && in_schema && *in_schema ? in_schema : NULL;
	}
	if (db->kind == OPS_DB_SQLITE)
		rc = ops_db_query(db, "SELECT name FROM sqlite_master "
				  "WHERE type = 'table' AND name = ?1", 1, p, &rows, err);
	else
		rc = ops_db_query(db,
			"SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) "
			"FROM pg_catalog.pg_class c "
			"JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
			"WHERE c.relname = $1 AND c.relkind IN ('r', 'm', 'p') "
			"AND ($2::text IS NULL "
			"     AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
			"     AND n.nspname NOT LIKE 'pg\\_toast%' "
			"     AND n.nspname NOT LIKE 'pg\\_temp%' "
			"     OR n.nspname = $2) ORDER BY 1",
			2, p, &rows, err);
	if (rc != OPS_OK)
		goto out;
	if (ops_rows_count(rows) == 0 && !dot && p[1])
		rc = ops_error_set(err, OPS_EFAIL, "table '%s' does not exist in schema '%s'",
				   name, p[1]);
	else if (ops_rows_count(rows) == 0)
		rc = ops_error_set(err, OPS_EFAIL, "table '%s' does not exist", name);
	else if (ops_rows_count(rows) > 1)
		rc = ops_error_set(err, OPS_EUSAGE, "table '%s' exists in several schemas; "
				   "name it as schema.table", name);
	else if (!(*out = db->kind == OPS_DB_SQLITE ? ops_db_quote_ident(db, name)
						    : strdup(ops_rows_value(rows, 0, 0))))
		rc = ops_error_oom(err);
out:
	ops_rows_free(rows);
	free(schema);
	return rc;
}

static void interrupt_hook(void *arg)
{
	sqlite3_interrupt(arg);
}

/* The copy's SQLite result as an error; a cancelled run says so instead. */
static ops_code copy_error(ops_db *db, sqlite3 *dst, const char *path, int rc, ops_error *err)
{
	int primary = rc & 0xff;
	int sys = dst ? sqlite3_system_errno(dst) : 0;

	if (ops_cancelled())
		return ops_cancel_check(err);
	if (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB)
		return ops_error_set(err, OPS_EDATA, "'%s' is damaged: %s; nothing was changed",
				     db->path, sqlite3_errstr(rc));
	/* "disk I/O error" alone hides whether the disk is full, the file size
	 * limit was reached or the copy's directory went away: name the cause. */
	if ((primary == SQLITE_FULL || primary == SQLITE_IOERR) && sys)
		return ops_error_set(err, OPS_EIO, "backup of '%s' failed writing '%s': %s",
				     db->path, path, strerror(sys));
	return ops_error_set(err, primary == SQLITE_FULL || primary == SQLITE_IOERR ? OPS_EIO
			     : OPS_EFAIL, "backup of '%s' failed: %s", db->path,
			     sqlite3_errstr(rc));
}

ops_code ops_db_sqlite_copy(ops_db *db, const char *path, ops_error *err)
{
	sqlite3 *dst = NULL;
	sqlite3_backup *bk = NULL;
	ops_code code = OPS_OK;
	int rc, fd, hook = -1;

	if (db->kind != OPS_DB_SQLITE)
		return ops_error_set(err, OPS_EUSAGE, "'%s' is not an SQLite database", db->name);
	/* Created here, O_EXCL|O_NOFOLLOW and owner-only, before SQLite opens it. */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return ops_error_errno(err, errno, "cannot create backup", path);
	close(fd);
	rc = sqlite3_open_v2(path, &dst, SQLITE_OPEN_READWRITE, NULL);
	if (rc == SQLITE_OK) {
		/* The read-back of a large copy takes a while too. */
		hook = ops_cancel_hook_add(interrupt_hook, dst);
		bk = sqlite3_backup_init(dst, "main", db->lite, "main");
		if (!bk)
			rc = sqlite3_errcode(dst);
	}
	if (bk) {
		/* The backup API reads pages, not statements: sqlite3_interrupt
		 * does not reach it, so the run is polled between steps. */
		do {
			if (ops_cancelled()) {
				rc = SQLITE_INTERRUPT;
				break;
			}
			rc = sqlite3_backup_step(bk, 256);
			if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
				sqlite3_sleep(50);
		} while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
		sqlite3_backup_finish(bk);
		if (rc == SQLITE_DONE)
			rc = sqlite3_errcode(dst);
	}
	if (rc == SQLITE_OK) {
		sqlite3_stmt *st = NULL;

		rc = sqlite3_prepare_v2(dst, "PRAGMA quick_check", -1, &st, NULL);
		if (rc == SQLITE_OK) {
			const unsigned char *v = NULL;

			/* Only a row saying "ok" passes: an error is not a pass. */
			rc = sqlite3_step(st);
			if (rc == SQLITE_ROW)
				v = sqlite3_column_text(st, 0);
			if (rc == SQLITE_ROW || rc == SQLITE_DONE)
				rc = v && strcmp((const char *)v, "ok") == 0 ? SQLITE_OK
				     : SQLITE_CORRUPT;
		}
		sqlite3_finalize(st);
	}
	if (rc != SQLITE_OK)
		code = copy_error(db, dst, path, rc, err);
	ops_cancel_hook_remove(hook);
	if (dst)
		sqlite3_close_v2(dst);
	return code;
}

double ops_rows_number(const ops_rows *rows, int row, int col)
{
	const char *v = ops_rows_value(rows, row, col);

	return v ? strtod(v, NULL) : 0;
}

ops_code ops_rows_int64(const ops_rows *rows, int row, int col, long long *out,
			ops_error *err)
{
	const char *v = ops_rows_value(rows, row, col);

	*out = 0;
	if (!v)
		return ops_error_set(err, OPS_EFAIL,
				     "the database returned no value where a whole number was expected");
	if (ops_parse_int64(v, 0, 0, out, NULL) != OPS_OK)
		return ops_error_set(err, OPS_EFAIL,
				     "the database returned '%s' where a whole number was expected", v);
	return OPS_OK;
}

ops_code ops_db_query_number(ops_db *db, const char *sql, int nparams, const char *const *params,
			     double *out, ops_error *err)
{
	ops_rows *rows = NULL;
	ops_code rc = ops_db_query(db, sql, nparams, params, &rows, err);

	*out = 0;
	if (rc == OPS_OK)
		*out = ops_rows_number(rows, 0, 0);
	ops_rows_free(rows);
	return rc;
}
