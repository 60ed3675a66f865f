/*
 * The databases restore and verify make on the PostgreSQL server: the copy
 * a restore writes before it is swapped in (opsctl_restore_PID), verify's
 * test restore (-t NAME), and the old database a swap renames aside
 * (opsctl_old_PID) until it is dropped.  Each carries a mark in its comment
 * naming the host and process that made it, so that what an interrupted or
 * killed run left can be told apart from everything else: the next run drops
 * the temporary ones whose process is gone and reports the old ones with the
 * commands to deal with them.  A database without our mark is never dropped.
 *
 * Statements here run on one connection to the maintenance database that
 * the caller opens before the work starts and keeps until its cleanup is
 * done: a cancel request (cancel.h) reaches each connection once, and a
 * statement it happens to hit during cleanup is run again.
 *
 * It does not restore, check or swap anything itself.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backup/backup_internal.h"
#include "opsmaint/log.h"

/* query_canceled: what a statement hit by PQcancel fails with. */
#define SQLSTATE_CANCELED "57014"

ops_code bk_admin_open(const ops_config *cfg, ops_db **db, ops_error *err)
{
	return ops_db_open(cfg, "postgres", db, err);
}

/* sql on db, run again when a cancel request meant for earlier work hit it. */
static ops_code exec_cleanup_safe(ops_db *db, const char *sql, ops_error *err)
{
	ops_code rc;
	int tries = 0;

	do
		rc = ops_db_exec(db, sql, err);
	while (rc != OPS_OK && ++tries < 3 && ops_cancelled() &&
	       strcmp(ops_db_last_sqlstate(db), SQLSTATE_CANCELED) == 0);
	return rc;
}

ops_code bk_admin_exec(ops_db *db, const char *fmt, const char *a, const char *b,
		       ops_error *err)
{
	char *qa = ops_db_quote_ident(db, a), *qb = b ? ops_db_quote_ident(db, b) : strdup("");
	char *sql = NULL;
	ops_code rc;

	if (!qa || !qb || asprintf(&sql, fmt, qa, qb) < 0) {
		sql = NULL;
		rc = ops_error_oom(err);
	} else {
		rc = exec_cleanup_safe(db, sql, err);
	}
	free(sql);
	free(qa);
	free(qb);
	return rc;
}

ops_code bk_end_sessions(ops_db *db, const char *name, ops_error *err)
{
	const char *p[1] = {name};
	ops_rows *rows = NULL;
	ops_code rc = ops_db_query(db, "SELECT pg_catalog.pg_terminate_backend(pid)"
				   " FROM pg_catalog.pg_stat_activity"
				   " WHERE datname = $1 AND pid <> pg_catalog.pg_backend_pid()",
				   1, p, &rows, err);

	ops_rows_free(rows);
	return rc;
}

ops_code bk_db_comment_get(ops_db *db, const char *name, int *exists, char **comment,
			   ops_error *err)
{
	const char *p[1] = {name};
	ops_rows *rows = NULL;
	ops_code rc = ops_db_query(db, "SELECT pg_catalog.shobj_description(oid, 'pg_database')"
				   " FROM pg_catalog.pg_database WHERE datname = $1",
				   1, p, &rows, err);

	*exists = 0;
	*comment = NULL;
	if (rc == OPS_OK && ops_rows_count(rows) == 1) {
		*exists = 1;
		if (ops_rows_value(rows, 0, 0) && !(*comment = strdup(ops_rows_value(rows, 0, 0))))
			rc = ops_error_oom(err);
	}
	ops_rows_free(rows);
	return rc;
}

ops_code bk_db_comment_set(ops_db *db, const char *name, const char *comment, ops_error *err)
{
	/* The server quotes both, so neither a name nor a host can be SQL. */
	const char *p[2] = {name, comment};
	ops_rows *rows = NULL;
	ops_code rc = ops_db_query(db, "SELECT pg_catalog.format('COMMENT ON DATABASE %I IS %L',"
				   " $1::text, $2::text)", 2, p, &rows, err);

	if (rc == OPS_OK)
		rc = exec_cleanup_safe(db, ops_rows_value(rows, 0, 0), err);
	ops_rows_free(rows);
	return rc;
}

void bk_mark(const char *what, char *out, size_t len)
{
	char host[256];

	if (gethostname(host, sizeof host) != 0)
		snprintf(host, sizeof host, "unknown");
	host[sizeof host - 1] = '\0';
	snprintf(out, len, "%s (host %s, pid %ld)", what, host, (long)getpid());
}

/*
 * "WHAT (host H, pid N)[ REST]" -> host, pid and REST; 0 when comment is
 * not such a mark of one of ours.
 */
static int parse_mark(const char *comment, const char *what, char *host, size_t hostlen,
		      long *pid, const char **rest)
{
	const char *p, *comma, *end;
	char *stop;
	size_t wl = strlen(what);

	if (!comment || strncmp(comment, what, wl) != 0 || strncmp(comment + wl, " (host ", 7) != 0)
		return 0;
	p = comment + wl + 7;
	comma = strstr(p, ", pid ");
	if (!comma || (size_t)(comma - p) >= hostlen || comma == p)
		return 0;
	snprintf(host, hostlen, "%.*s", (int)(comma - p), p);
	errno = 0;
	*pid = strtol(comma + 6, &stop, 10);
	if (errno || stop == comma + 6 || *stop != ')' || *pid <= 0 || *pid > INT_MAX)
		return 0;
	end = stop + 1;
	*rest = end;
	return 1;
}

/* Whether pid is an opsctl process of this host still running. */
static int live_opsctl(long pid)
{
	char path[64], comm[64] = "", self[64] = "";
	FILE *f;

	/* The sweep runs before this run makes anything: a mark with our own
	 * pid was left by an earlier process that had it. */
	if (pid == (long)getpid())
		return 0;
	if (kill((pid_t)pid, 0) != 0 && errno == ESRCH)
		return 0;
	snprintf(path, sizeof path, "/proc/%ld/comm", pid);
	if (!(f = fopen(path, "r")))
		return 1;	/* cannot tell: assume it is */
	if (!fgets(comm, sizeof comm, f))
		comm[0] = '\0';
	fclose(f);
	comm[strcspn(comm, "\n")] = '\0';
	if ((f = fopen("/proc/self/comm", "r"))) {
		if (!fgets(self, sizeof self, f))
			self[0] = '\0';
		fclose(f);
		self[strcspn(self, "\n")] = '\0';
	}
	return strcmp(comm, "opsctl") == 0 || (self[0] && strcmp(comm, self) == 0);
}

ops_code bk_tempdb_drop(ops_db *db, const char *name, ops_error *err)
{
	/* pg_restore was stopped, but its session may still be ending. */
	ops_code rc = bk_end_sessions(db, name, err);

	if (rc == OPS_OK)
		rc = bk_admin_exec(db, "DROP DATABASE IF EXISTS %s%s", name, NULL, err);
	return rc;
}

ops_code bk_tempdb_create(ops_db *db, const char *name, const char *what, ops_error *err)
{
	char mark[512], *comment = NULL;
	int exists = 0;
	ops_code rc = bk_db_comment_get(db, name, &exists, &comment, err);

	/* Only a database an earlier run of the same kind made is replaced. */
	if (rc == OPS_OK && exists && (!comment || strncmp(comment, what, strlen(what)) != 0)) {
		rc = ops_error_set(err, OPS_EUSAGE, "database '%s' exists and was not made by "
				   "%.*s; it is not dropped", name, (int)strcspn(what, ":"), what);
		ops_error_hint(err, "drop or rename it yourself if it is a leftover");
	}
	free(comment);
	if (rc == OPS_OK && exists)
		rc = bk_tempdb_drop(db, name, err);
	if (rc == OPS_OK)
		rc = bk_admin_exec(db, "CREATE DATABASE %s%s", name, NULL, err);
	bk_mark(what, mark, sizeof mark);
	if (rc == OPS_OK && (rc = bk_db_comment_set(db, name, mark, err)) != OPS_OK) {
		ops_error ignored;

		bk_tempdb_drop(db, name, &ignored);
	}
	return rc;
}

static void add_old(cJSON *report, ops_db *db, const char *name, const char *of, long pid)
{
	cJSON *list = cJSON_GetObjectItemCaseSensitive(report, "old_databases_kept"), *o;
	char *aside = NULL, *qn = ops_db_quote_ident(db, name), *qo = ops_db_quote_ident(db, of);
	char *qa = NULL, *back = NULL;

	if (!list)
		list = cJSON_AddArrayToObject(report, "old_databases_kept");
	if (asprintf(&aside, "%s_restored", of) < 0)
		aside = NULL;
	qa = aside ? ops_db_quote_ident(db, aside) : NULL;
	if (!qn || !qo || !qa || asprintf(&back, "ALTER DATABASE %s RENAME TO %s; "
				       "ALTER DATABASE %s RENAME TO %s", qo, qa, qn, qo) < 0)
		back = NULL;
	ops_log_warn("database '%s' is the old copy of '%s' that a restore (pid %ld) replaced; "
		     "drop it once the restore is confirmed, or put it back with: %s",
		     name, of, pid, back ? back : "ALTER DATABASE ... RENAME TO ...");
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "database", name);
	cJSON_AddStringToObject(o, "replaced_by_restore_of", of);
	if (back)
		cJSON_AddStringToObject(o, "put_back", back);
	cJSON_AddItemToArray(list, o);
	free(back);
	free(qa);
	free(aside);
	free(qn);
	free(qo);
}

ops_code bk_tempdb_sweep(ops_db *db, cJSON *report, ops_error *err)
{
	ops_rows *rows = NULL;
	char myhost[256];
	cJSON *removed = NULL;
	ops_code rc;
	int i;

	if (gethostname(myhost, sizeof myhost) != 0)
		snprintf(myhost, sizeof myhost, "unknown");
	myhost[sizeof myhost - 1] = '\0';
	rc = ops_db_query(db, "SELECT d.datname, pg_catalog.shobj_description(d.oid, 'pg_database')"
			  " FROM pg_catalog.pg_database d"
			  " WHERE pg_catalog.shobj_description(d.oid, 'pg_database')"
			  " LIKE 'opsctl backup %' ORDER BY 1", 0, NULL, &rows, err);
	for (i = 0; rc == OPS_OK && i < ops_rows_count(rows); i++) {
		const char *name = ops_rows_value(rows, i, 0);
		const char *comment = ops_rows_value(rows, i, 1), *rest = NULL;
		char host[256];
		long pid = 0;
		int temp, old;
		ops_error derr;

		temp = (parse_mark(comment, BK_MARK_RESTORE, host, sizeof host, &pid, &rest) ||
			parse_mark(comment, BK_MARK_VERIFY, host, sizeof host, &pid, &rest)) &&
		       *rest == '\0';
		old = !temp && parse_mark(comment, BK_MARK_OLD, host, sizeof host, &pid, &rest) &&
		      strncmp(rest, " of database ", 13) == 0 && rest[13];
		/* Another host's runs cannot be judged from here. */
		if ((!temp && !old) || strcmp(host, myhost) != 0 || live_opsctl(pid))
			continue;
		if (old) {
			add_old(report, db, name, rest + 13, pid);
			continue;
		}
		if (bk_tempdb_drop(db, name, &derr) != OPS_OK) {
			ops_log_warn("cannot drop database '%s' left by an interrupted run: %s",
				     name, derr.message);
			continue;
		}
		ops_log_warn("dropped database '%s' left by an interrupted run (pid %ld)",
			     name, pid);
		if (!removed)
			removed = cJSON_AddArrayToObject(report, "removed_leftovers");
		cJSON_AddItemToArray(removed, cJSON_CreateString(name));
	}
	ops_rows_free(rows);
	return rc;
}
