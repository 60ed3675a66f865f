/*
 * SQLite maintenance, as guide 003 does it for the knowledge hub: a
 * consistent online copy before anything else (the guide's `cp` can copy a
 * file mid-write; the backup API cannot), PRAGMA integrity_check, VACUUM,
 * ANALYZE with PRAGMA optimize, and real per-table row counts (the guide's
 * GROUP BY over sqlite_master counts one per table).  Operations that do not
 * exist on SQLite are refused in dbmaint.c, not here.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dbmaint/dbmaint_internal.h"
#include "opsmaint/fileio.h"
#include "opsmaint/walk.h"

static ops_code count_of(ops_db *db, const char *sql, double *out, ops_error *err)
{
	ops_rows *rows = NULL;
	ops_code rc = ops_db_query(db, sql, 0, NULL, &rows, err);

	if (rc == OPS_OK) {
		const char *v = ops_rows_value(rows, 0, 0);

		*out = v ? strtod(v, NULL) : 0;
	}
	ops_rows_free(rows);
	return rc;
}

static double file_bytes(ops_db *db)
{
	struct stat st;

	return stat(ops_db_path(db), &st) == 0 ? (double)st.st_size : 0;
}

/* NAME from "dir/NAME.db". */
static char *base_name(const char *path)
{
	const char *b = strrchr(path, '/');
	char *name, *dot;

	name = strdup(b ? b + 1 : path);
	if (name && (dot = strrchr(name, '.')) && dot != name)
		*dot = '\0';
	return name;
}

/* Does fname look like NAME_YYYYMMDD_HHMMSS[-N].db? */
static int is_copy_of(const char *fname, const char *name)
{
	size_t n = strlen(name), i;
	const char *p;

	if (strncmp(fname, name, n) != 0 || fname[n] != '_')
		return 0;
	p = fname + n + 1;
	for (i = 0; i < 15; i++) {
		if (i == 8) {
			if (p[i] != '_')
				return 0;
		} else if (p[i] < '0' || p[i] > '9') {
			return 0;
		}
	}
	p += 15;
	if (*p == '-')
		while (*++p >= '0' && *p <= '9')
			;
	return strcmp(p, ".db") == 0;
}

/* db.backup_dir, or STATE_DIR/backups; newly allocated. */
static char *backup_dir(const ops_dbm_ctx *ctx)
{
	const char *dir = ops_config_get(ctx->run->cfg, "db.backup_dir");

	return dir && *dir ? strdup(dir)
		: ops_path_join(ops_config_get(ctx->run->cfg, "general.state_dir"), "backups");
}

struct copies {
	const char *name;	/* the database's NAME */
	const char *keep;	/* the base name of the copy just made, or NULL */
};

static int old_copy(void *arg, const ops_walk_entry *e)
{
	const struct copies *c = arg;

	return is_copy_of(e->name, c->name) && !(c->keep && strcmp(e->name, c->keep) == 0);
}

ops_code ops_dbm_sqlite_prune(const ops_dbm_ctx *ctx, ops_db *db, const char *keep,
			      cJSON *report, ops_error *err)
{
	char **prot = ops_config_list(ctx->run->cfg, "general.protected_paths");
	char *dir = backup_dir(ctx), *name = base_name(ops_db_path(db));
	struct copies c;
	ops_walk_opts o;
	ops_code rc;

	if (!dir || !name) {
		rc = ops_error_oom(err);
		goto out;
	}
	c.name = name;
	c.keep = keep ? strrchr(keep, '/') ? strrchr(keep, '/') + 1 : keep : NULL;
	ops_walk_opts_init(&o);
	o.max_depth = 1;
	o.older_than = ops_run_now(ctx->run) - ops_config_int(ctx->run->cfg, "db.backup_retention");
	o.dry_run = ctx->run->dry_run;
	o.protected_paths = prot;
	o.state_dir = ops_config_get(ctx->run->cfg, "general.state_dir");
	o.select = old_copy;
	o.arg = &c;
	rc = ops_walk_prune(dir, &o, report, err);
out:
	ops_strv_free(prot);
	free(dir);
	free(name);
	return rc;
}

/*
 * The online backup API into a new file at path (created owner-only, never
 * over an existing one), then quick_check of the copy: a copy that cannot
 * be read back is not a backup.  The caller syncs and renames.
 */
ops_code ops_dbm_sqlite_copy(ops_db *db, const char *tmp, ops_error *err)
{
	sqlite3 *dst = NULL;
	sqlite3_backup *bk = NULL;
	ops_code code = OPS_OK;
	int rc, fd;

	/* Create the temp file ourselves: O_EXCL|O_NOFOLLOW, owner-only. */
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		code = ops_error_errno(err, errno, "cannot create backup", tmp);
		goto out;
	}
	close(fd);
	rc = sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE, NULL);
	if (rc == SQLITE_OK) {
		bk = sqlite3_backup_init(dst, "main", ops_db_handle(db), "main");
		if (!bk)
			rc = sqlite3_errcode(dst);
	}
	if (bk) {
		do {
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

		/* A copy that cannot be read back is not a backup. */
		rc = sqlite3_prepare_v2(dst, "PRAGMA quick_check", -1, &st, NULL);
		if (rc == SQLITE_OK) {
			const unsigned char *v = NULL;

			/* Only a row saying "ok" passes: an error is not a pass. */
			if (sqlite3_step(st) != SQLITE_ROW || !(v = sqlite3_column_text(st, 0)) ||
			    strcmp((const char *)v, "ok") != 0)
				rc = SQLITE_CORRUPT;
		}
		sqlite3_finalize(st);
	}
	if (rc != SQLITE_OK) {
		int primary = rc & 0xff;

		if (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB)
			code = ops_error_set(err, OPS_EDATA, "'%s' is damaged: %s; nothing was changed",
					     ops_db_path(db), sqlite3_errstr(rc));
		else
			code = ops_error_set(err, primary == SQLITE_FULL || primary == SQLITE_IOERR
					     ? OPS_EIO : OPS_EFAIL, "backup of '%s' failed: %s",
					     ops_db_path(db), sqlite3_errstr(rc));
		goto out;
	}
out:
	if (dst)
		sqlite3_close_v2(dst);
	return code;
}

ops_code ops_dbm_sqlite_backup(const ops_dbm_ctx *ctx, ops_db *db,
			       char **path_out, ops_error *err)
{
	char *dir = NULL, *name = NULL, *final = NULL, *tmp = NULL;
	char stamp[32];
	struct tm tm;
	time_t now = time(NULL);
	ops_code code = OPS_OK;
	int fd, n;

	*path_out = NULL;
	dir = backup_dir(ctx);
	name = base_name(ops_db_path(db));
	if (!dir || !name) {
		code = ops_error_oom(err);
		goto out;
	}
	if ((code = ops_mkdir_p(dir, 0700, err)) != OPS_OK)
		goto out;
	localtime_r(&now, &tm);
	strftime(stamp, sizeof stamp, "%Y%m%d_%H%M%S", &tm);
	for (n = 0; n < 100; n++) {
		char fname[512];
		struct stat st;

		if (n == 0)
			snprintf(fname, sizeof fname, "%s_%s.db", name, stamp);
		else
			snprintf(fname, sizeof fname, "%s_%s-%d.db", name, stamp, n);
		free(final);
		final = ops_path_join(dir, fname);
		if (!final) {
			code = ops_error_oom(err);
			goto out;
		}
		if (lstat(final, &st) != 0)
			break;
	}
	if (asprintf(&tmp, "%s.tmp.%ld", final, (long)getpid()) < 0) {
		tmp = NULL;
		code = ops_error_oom(err);
		goto out;
	}
	if ((code = ops_dbm_sqlite_copy(db, tmp, err)) != OPS_OK)
		goto out;
	fd = open(tmp, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) != 0) {
		code = ops_error_errno(err, errno, "cannot sync backup", tmp);
		if (fd >= 0)
			close(fd);
		goto out;
	}
	close(fd);
	if (rename(tmp, final) != 0) {
		code = ops_error_errno(err, errno, "cannot rename backup to", final);
		goto out;
	}
	free(tmp);
	tmp = NULL;
	if ((code = ops_fsync_dir(dir, err)) != OPS_OK)
		goto out;
	*path_out = final;
	final = NULL;
out:
	if (tmp)
		unlink(tmp);
	free(tmp);
	free(final);
	free(dir);
	free(name);
	return code;
}

ops_code ops_dbm_sqlite_integrity(const ops_dbm_ctx *ctx, ops_db *db,
				  cJSON *report, ops_error *err)
{
	ops_rows *rows = NULL;
	ops_code rc = ops_db_query(db, "PRAGMA integrity_check(100)", 0, NULL, &rows, err);
	cJSON *msgs;
	int i, ok;

	if (rc != OPS_OK) {
		if (rc == OPS_EFAIL || rc == OPS_EDATA) {
			char msg[OPS_ERROR_MSG_MAX];

			snprintf(msg, sizeof msg, "%s", err->message);
			return ops_error_set(err, OPS_EDATA, "integrity check failed for '%s': %s",
					     ops_db_path(db), msg);
		}
		return rc;
	}
	ok = ops_rows_count(rows) == 1 && ops_rows_value(rows, 0, 0) &&
	     strcmp(ops_rows_value(rows, 0, 0), "ok") == 0;
	cJSON_AddStringToObject(report, "check", "PRAGMA integrity_check");
	cJSON_AddBoolToObject(report, "ok", ok);
	msgs = cJSON_AddArrayToObject(report, "problems");
	for (i = 0; !ok && i < ops_rows_count(rows); i++)
		cJSON_AddItemToArray(msgs, cJSON_CreateString(ops_rows_value(rows, i, 0)
							       ? ops_rows_value(rows, i, 0) : ""));
	if (!ok)
		rc = ops_error_set(err, OPS_EDATA, "integrity check failed for '%s': %s",
				   ops_db_path(db), ops_rows_value(rows, 0, 0)
				   ? ops_rows_value(rows, 0, 0) : "no result");
	ops_rows_free(rows);
	return rc;
}

ops_code ops_dbm_sqlite_vacuum(const ops_dbm_ctx *ctx, ops_db *db,
			       const ops_vacuum_opts *opts, cJSON *report,
			       ops_error *err)
{
	double before = file_bytes(db), after;
	ops_code rc;

	if (opts && opts->tables && opts->tables[0])
		return ops_error_set(err, OPS_EUSAGE,
				     "VACUUM of single tables is not available on SQLite");
	cJSON_AddStringToObject(report, "operation", "vacuum");
	if (opts && (opts->full || opts->jobs > 1))
		cJSON_AddStringToObject(report, "note", "SQLite's VACUUM always rebuilds the whole file; --full and --jobs change nothing");
	if (ctx->run->dry_run) {
		cJSON_AddStringToObject(report, "would_run", "VACUUM");
		return OPS_OK;
	}
	rc = ops_db_exec(db, "VACUUM", err);
	if (rc == OPS_OK && opts && opts->analyze)
		rc = ops_db_exec(db, "ANALYZE; PRAGMA optimize", err);
	after = file_bytes(db);
	cJSON_AddNumberToObject(report, "before_bytes", before);
	cJSON_AddNumberToObject(report, "after_bytes", after);
	cJSON_AddNumberToObject(report, "reclaimed_bytes", before > after ? before - after : 0);
	return rc;
}

static ops_code per_table(ops_db *db, const char *verb, char *const *tables,
			  cJSON *done, cJSON *skipped, int missing_is_error,
			  ops_error *err)
{
	size_t i;
	ops_code rc = OPS_OK;

	for (i = 0; tables && tables[i] && rc == OPS_OK; i++) {
		const char *p[1] = {tables[i]};
		ops_rows *rows = NULL;
		char *q, *sql = NULL;

		rc = ops_db_query(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
				  1, p, &rows, err);
		if (rc != OPS_OK)
			break;
		if (ops_rows_count(rows) == 0) {
			ops_rows_free(rows);
			if (missing_is_error)
				return ops_error_set(err, OPS_EFAIL, "table '%s' does not exist", tables[i]);
			cJSON_AddItemToArray(skipped, cJSON_CreateString(tables[i]));
			continue;
		}
		ops_rows_free(rows);
		q = ops_db_quote_ident(db, tables[i]);
		if (!q || asprintf(&sql, "%s %s", verb, q) < 0) {
			free(q);
			return ops_error_oom(err);
		}
		rc = ops_db_exec(db, sql, err);
		if (rc == OPS_OK)
			cJSON_AddItemToArray(done, cJSON_CreateString(tables[i]));
		free(sql);
		free(q);
	}
	return rc;
}

ops_code ops_dbm_sqlite_analyze(const ops_dbm_ctx *ctx, ops_db *db,
				char *const *tables, cJSON *report, ops_error *err)
{
	cJSON *done, *skipped;
	ops_code rc;

	cJSON_AddStringToObject(report, "operation", "analyze");
	if (ctx->run->dry_run)
		return OPS_OK;
	if (!tables || !tables[0]) {
		rc = ops_db_exec(db, "ANALYZE", err);
	} else {
		done = cJSON_AddArrayToObject(report, "tables");
		skipped = cJSON_CreateArray();
		rc = per_table(db, "ANALYZE", tables, done, skipped, 1, err);
		cJSON_Delete(skipped);
	}
	/* PRAGMA optimize after ANALYZE, as guide 003's weekly script does. */
	if (rc == OPS_OK)
		rc = ops_db_exec(db, "PRAGMA optimize", err);
	return rc;
}

ops_code ops_dbm_sqlite_reindex(const ops_dbm_ctx *ctx, ops_db *db,
				const ops_reindex_opts *opts, cJSON *report,
				ops_error *err)
{
	cJSON *done, *skipped;
	ops_code rc;

	cJSON_AddStringToObject(report, "operation", "reindex");
	if (ctx->run->dry_run)
		return OPS_OK;
	if (opts->database) {
		cJSON_AddStringToObject(report, "scope", "database");
		return ops_db_exec(db, "REINDEX", err);
	}
	done = cJSON_AddArrayToObject(report, "tables");
	skipped = cJSON_AddArrayToObject(report, "skipped");
	if (opts->tables && opts->tables[0])
		return per_table(db, "REINDEX", opts->tables, done, skipped, 1, err);
	/* db.reindex_tables names guide 000's PostgreSQL tables; a SQLite file
	 * is small enough to rebuild every index, as REINDEX alone does. */
	rc = ops_db_exec(db, "REINDEX", err);
	if (rc == OPS_OK)
		cJSON_AddItemToArray(done, cJSON_CreateString("(all)"));
	return rc;
}

ops_code ops_dbm_sqlite_size(const ops_dbm_ctx *ctx, ops_db *db, cJSON *report,
			     ops_error *err)
{
	ops_rows *tables = NULL, *bytes = NULL;
	double pages = 0, page_size = 0, freelist = 0;
	cJSON *list;
	ops_code rc;
	int i, have_dbstat;

	if ((rc = count_of(db, "PRAGMA page_count", &pages, err)) != OPS_OK ||
	    (rc = count_of(db, "PRAGMA page_size", &page_size, err)) != OPS_OK ||
	    (rc = count_of(db, "PRAGMA freelist_count", &freelist, err)) != OPS_OK)
		return rc;
	cJSON_AddNumberToObject(report, "size_bytes", file_bytes(db));
	cJSON_AddNumberToObject(report, "free_bytes", freelist * page_size);
	rc = ops_db_query(db, "SELECT name FROM sqlite_master WHERE type = 'table' "
			  "AND name NOT LIKE 'sqlite_%' ORDER BY name", 0, NULL, &tables, err);
	if (rc != OPS_OK)
		return rc;
	/* dbstat is compiled into Debian's SQLite; without it, sizes are omitted. */
	have_dbstat = ops_db_query(db, "SELECT name, sum(pgsize) FROM dbstat GROUP BY name",
				   0, NULL, &bytes, NULL) == OPS_OK;
	list = cJSON_AddArrayToObject(report, "tables");
	for (i = 0; i < ops_rows_count(tables); i++) {
		const char *name = ops_rows_value(tables, i, 0);
		char *q = ops_db_quote_ident(db, name), *sql = NULL;
		double n = 0;
		cJSON *t;
		int k;

		if (!q || asprintf(&sql, "SELECT count(*) FROM %s", q) < 0) {
			free(q);
			rc = ops_error_oom(err);
			break;
		}
		rc = count_of(db, sql, &n, err);
		free(sql);
		free(q);
		if (rc != OPS_OK)
			break;
		t = cJSON_CreateObject();
		cJSON_AddStringToObject(t, "table", name);
		cJSON_AddNumberToObject(t, "rows", n);
		for (k = 0; have_dbstat && k < ops_rows_count(bytes); k++)
			if (ops_rows_value(bytes, k, 0) && strcmp(ops_rows_value(bytes, k, 0), name) == 0)
				cJSON_AddNumberToObject(t, "total_bytes",
							strtod(ops_rows_value(bytes, k, 1), NULL));
		cJSON_AddItemToArray(list, t);
	}
	ops_rows_free(tables);
	ops_rows_free(bytes);
	return rc;
}

ops_code ops_dbm_sqlite_health(const ops_dbm_ctx *ctx, ops_db *db, int *level,
			       cJSON *report, ops_error *err)
{
	ops_rows *rows = NULL;
	double pages = 0, freelist = 0, pct;
	cJSON *checks = cJSON_AddArrayToObject(report, "checks"), *c;
	ops_code rc;
	int ok, worst = 0;

	rc = ops_db_query(db, "PRAGMA quick_check", 0, NULL, &rows, err);
	if (rc != OPS_OK && rc != OPS_EDATA && rc != OPS_EFAIL)
		return rc;
	ok = rc == OPS_OK && ops_rows_value(rows, 0, 0) && strcmp(ops_rows_value(rows, 0, 0), "ok") == 0;
	c = cJSON_CreateObject();
	cJSON_AddStringToObject(c, "check", "integrity");
	cJSON_AddStringToObject(c, "status", ok ? "ok" : "critical");
	cJSON_AddStringToObject(c, "value", ok ? "ok" : rc != OPS_OK ? err->message :
				ops_rows_value(rows, 0, 0) ? ops_rows_value(rows, 0, 0) : "");
	cJSON_AddStringToObject(c, "message", ok ? "PRAGMA quick_check passed" : "PRAGMA quick_check found damage");
	cJSON_AddItemToArray(checks, c);
	ops_rows_free(rows);
	if (!ok)
		worst = 2;
	ops_error_clear(err);
	if ((rc = count_of(db, "PRAGMA page_count", &pages, err)) != OPS_OK ||
	    (rc = count_of(db, "PRAGMA freelist_count", &freelist, err)) != OPS_OK)
		return rc;
	pct = pages > 0 ? 100.0 * freelist / pages : 0;
	c = cJSON_CreateObject();
	cJSON_AddStringToObject(c, "check", "free_pages");
	/* More than a fifth of the file unused: VACUUM would give it back. */
	cJSON_AddStringToObject(c, "status", pct > 20 ? "warning" : "ok");
	cJSON_AddNumberToObject(c, "value", pct);
	cJSON_AddNumberToObject(c, "threshold", 20);
	cJSON_AddStringToObject(c, "message", pct > 20 ? "run opsctl db vacuum to return free pages"
				: "free pages below 20% of the file");
	cJSON_AddItemToArray(checks, c);
	if (pct > 20 && worst < 1)
		worst = 1;
	cJSON_AddNumberToObject(report, "size_bytes", file_bytes(db));
	cJSON_AddStringToObject(report, "health", worst == 0 ? "ok" : worst == 1 ? "warning" : "critical");
	*level = worst;
	return OPS_OK;
}
