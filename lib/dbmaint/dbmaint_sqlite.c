/*
 * SQLite maintenance, as guide 003 does it for the knowledge hub: a
 * consistent online copy before anything else (the guide's `cp` can copy a
 * file mid-write; the backup API cannot), PRAGMA integrity_check, VACUUM,
 * ANALYZE with PRAGMA optimize, and real per-table row counts (the guide's
 * GROUP BY over sqlite_master counts one per table).  Operations that do not
 * exist on SQLite are refused in dbmaint.c, not here.
 */
#include <dirent.h>
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
#include "opsmaint/log.h"

/* The number a PRAGMA returns. */
static ops_code pragma(ops_db *db, const char *sql, double *out, ops_error *err)
{
	return ops_db_query_number(db, sql, 0, NULL, out, err);
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
/*
 * NAME_20261202T005054Z.db (UTC), or NAME_20261201_195529.db as versions
 * before 0.2 named them in local time: retention keeps pruning those too.
 */
static int is_copy_of(const char *fname, const char *name)
{
	size_t n = strlen(name), i, len;
	const char *p;
	int iso;

	if (strncmp(fname, name, n) != 0 || fname[n] != '_')
		return 0;
	p = fname + n + 1;
	iso = strlen(p) >= 16 && p[8] == 'T' && p[15] == 'Z';
	len = iso ? 16 : 15;
	for (i = 0; i < len; i++) {
		if (i == 8) {
			if (p[i] != (iso ? 'T' : '_'))
				return 0;
		} else if (iso && i == 15) {
			continue;	/* the 'Z' checked above */
		} else if (p[i] < '0' || p[i] > '9') {
			return 0;
		}
	}
	p += len;
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

/* Retention of the copies (core/walk): this database's copies older than
 * db.backup_retention go, except keep (the one just made; may be NULL); on a
 * dry run nothing goes.  report gets "pruned", "pruned_size_bytes" and
 * "prune_errors"; only cancellation and out-of-memory are returned. */
static ops_code lite_prune(const ops_dbm_ctx *ctx, ops_db *db, const char *keep,
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

static ops_code lite_backup(const ops_dbm_ctx *ctx, ops_db *db, char **path_out, ops_error *err)
{
	char *dir = NULL, *name = NULL, *final = NULL, *tmp = NULL;
	char stamp[OPS_TIME_ISO_SIZE];
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
	ops_time_stamp(now, stamp);
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
	if ((code = ops_db_sqlite_copy(db, tmp, err)) != OPS_OK)
		goto out;
	fd = open(tmp, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) != 0) {
		code = ops_error_errno(err, errno, "cannot sync backup", tmp);
		if (fd >= 0)
			close(fd);
		goto out;
	}
	close(fd);
	/* Stopped now, the copy is whole but never shown: a cancelled run
	 * leaves no copy it did not finish, nor one it finished too late. */
	if ((code = ops_run_check_cancel(ctx->run, err)) != OPS_OK)
		goto out;
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

/*
 * One problem per line of integrity_check's answer: a row may hold several
 * lines, and the "*** in database main ***" lines only say which schema the
 * following ones are about, which for one database file is always the same.
 */
static void add_problem_lines(cJSON *msgs, const char *text)
{
	const char *p = text ? text : "", *nl;

	for (; *p; p = *nl ? nl + 1 : nl) {
		size_t len;
		char *line;
		cJSON *item;

		nl = strchr(p, '\n');
		if (!nl)
			nl = p + strlen(p);
		len = (size_t)(nl - p);
		while (len > 0 && (p[len - 1] == '\r' || p[len - 1] == ' '))
			len--;
		if (len == 0 || (len > 8 && strncmp(p, "*** in ", 7) == 0 &&
				 strncmp(p + len - 4, " ***", 4) == 0))
			continue;
		line = strndup(p, len);
		item = line ? cJSON_CreateString(line) : NULL;
		free(line);
		if (item)
			cJSON_AddItemToArray(msgs, item);
	}
}

static ops_code lite_integrity(const ops_dbm_ctx *ctx, ops_db *db,
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
		add_problem_lines(msgs, ops_rows_value(rows, i, 0));
	if (!ok) {
		const char *first = cJSON_GetStringValue(cJSON_GetArrayItem(msgs, 0));
		int n = cJSON_GetArraySize(msgs);

		rc = ops_error_set(err, OPS_EDATA, "integrity check failed for '%s': %d problem%s%s%s",
				   ops_db_path(db), n, n == 1 ? "" : "s",
				   first ? (n == 1 ? ": " : ", the first: ") : "", first ? first : "");
	}
	ops_rows_free(rows);
	return rc;
}

static ops_code lite_vacuum(const ops_dbm_ctx *ctx, ops_db *db, const char *target,
			   const ops_vacuum_opts *opts, cJSON *report, ops_error *err)
{
	double before = file_bytes(db), after;
	ops_code rc;

	if (opts && opts->tables && opts->tables[0])
		return ops_error_set(err, OPS_EUSAGE,
				     "VACUUM of single tables is not available on SQLite");
	cJSON_AddStringToObject(report, "operation", "vacuum");
	if (opts && (opts->full || opts->jobs > 1))
		cJSON_AddStringToObject(report, "note", "SQLite's VACUUM always rebuilds the whole "
					"file; --full and --jobs change nothing");
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

/* VERB TABLE for each table named (each must exist), in turn. */
static ops_code per_table(const ops_dbm_ctx *ctx, ops_db *db, const char *verb,
			  char *const *tables, cJSON *done, ops_error *err)
{
	size_t i;
	ops_code rc = OPS_OK;

	for (i = 0; tables && tables[i] && rc == OPS_OK; i++) {
		char *q = NULL, *sql = NULL;

		if ((rc = ops_run_check_cancel(ctx->run, err)) != OPS_OK ||
		    (rc = ops_db_resolve_table(db, tables[i], NULL, &q, err)) != OPS_OK)
			break;
		if (asprintf(&sql, "%s %s", verb, q) < 0) {
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

static ops_code lite_analyze(const ops_dbm_ctx *ctx, ops_db *db, char *const *tables,
			     cJSON *report, ops_error *err)
{
	cJSON_AddStringToObject(report, "operation", "analyze");
	if (ctx->run->dry_run)
		return OPS_OK;
	if (!tables || !tables[0])
		return ops_db_exec(db, "ANALYZE", err);
	return per_table(ctx, db, "ANALYZE", tables, cJSON_AddArrayToObject(report, "tables"), err);
}

/* PRAGMA optimize after ANALYZE, as guide 003's weekly script does. */
static ops_code lite_optimize(const ops_dbm_ctx *ctx, ops_db *db, ops_error *err)
{
	return ops_db_exec(db, "PRAGMA optimize", err);
}

static ops_code lite_reindex(const ops_dbm_ctx *ctx, ops_db *db,
				const ops_reindex_opts *opts, cJSON *report,
				ops_error *err)
{
	cJSON *done;
	ops_code rc;

	cJSON_AddStringToObject(report, "operation", "reindex");
	if (ctx->run->dry_run)
		return OPS_OK;
	if (opts->database) {
		cJSON_AddStringToObject(report, "scope", "database");
		return ops_db_exec(db, "REINDEX", err);
	}
	done = cJSON_AddArrayToObject(report, "tables");
	cJSON_AddArrayToObject(report, "skipped");
	if (opts->tables && opts->tables[0])
		return per_table(ctx, db, "REINDEX", opts->tables, done, err);
	/* db.reindex_tables names guide 000's PostgreSQL tables; a SQLite file
	 * is small enough to rebuild every index, as REINDEX alone does. */
	rc = ops_db_exec(db, "REINDEX", err);
	if (rc == OPS_OK)
		cJSON_AddItemToArray(done, cJSON_CreateString("(all)"));
	return rc;
}

static ops_code lite_size(const ops_dbm_ctx *ctx, ops_db *db, cJSON *report,
			     ops_error *err)
{
	ops_rows *tables = NULL, *bytes = NULL;
	double page_size = 0, freelist = 0;
	cJSON *list;
	ops_code rc;
	int i, have_dbstat;

	if ((rc = pragma(db, "PRAGMA page_size", &page_size, err)) != OPS_OK ||
	    (rc = pragma(db, "PRAGMA freelist_count", &freelist, err)) != OPS_OK)
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
		char *q = NULL, *sql = NULL;
		double n = 0;
		cJSON *t;
		int k;

		if ((rc = ops_run_check_cancel(ctx->run, err)) != OPS_OK)
			break;
		if (!(q = ops_db_quote_ident(db, name)) ||
		    asprintf(&sql, "SELECT count(*) FROM %s", q) < 0) {
			free(q);
			rc = ops_error_oom(err);
			break;
		}
		rc = ops_db_query_number(db, sql, 0, NULL, &n, err);
		free(sql);
		free(q);
		if (rc != OPS_OK)
			break;
		t = cJSON_CreateObject();
		cJSON_AddStringToObject(t, "table", name);
		cJSON_AddNumberToObject(t, "rows", n);
		for (k = 0; have_dbstat && k < ops_rows_count(bytes); k++)
			if (ops_rows_value(bytes, k, 0) &&
			    strcmp(ops_rows_value(bytes, k, 0), name) == 0)
				cJSON_AddNumberToObject(t, "total_bytes",
							strtod(ops_rows_value(bytes, k, 1), NULL));
		cJSON_AddItemToArray(list, t);
	}
	ops_rows_free(tables);
	ops_rows_free(bytes);
	return rc;
}

static ops_code lite_health(const ops_dbm_ctx *ctx, ops_db *db, int *level,
			       cJSON *report, ops_error *err)
{
	ops_rows *rows = NULL;
	double pages = 0, freelist = 0, pct;
	cJSON *checks = cJSON_AddArrayToObject(report, "checks"), *c;
	ops_code rc;
	int ok, worst = 0;

	rc = ops_db_query(db, "PRAGMA quick_check", 0, NULL, &rows, err);
	/* A check the run cancelled found no damage. */
	if (rc != OPS_OK && ((rc != OPS_EDATA && rc != OPS_EFAIL) || ops_cancelled()))
		return rc;
	ok = rc == OPS_OK && ops_rows_value(rows, 0, 0) &&
	     strcmp(ops_rows_value(rows, 0, 0), "ok") == 0;
	c = cJSON_CreateObject();
	cJSON_AddStringToObject(c, "check", "integrity");
	cJSON_AddStringToObject(c, "status", ok ? "ok" : "critical");
	cJSON_AddStringToObject(c, "value", ok ? "ok" : rc != OPS_OK ? err->message :
				ops_rows_value(rows, 0, 0) ? ops_rows_value(rows, 0, 0) : "");
	cJSON_AddStringToObject(c, "message", ok ? "PRAGMA quick_check passed"
				: "PRAGMA quick_check found damage");
	cJSON_AddItemToArray(checks, c);
	ops_rows_free(rows);
	if (!ok)
		worst = 2;
	ops_error_clear(err);
	if ((rc = pragma(db, "PRAGMA page_count", &pages, err)) != OPS_OK ||
	    (rc = pragma(db, "PRAGMA freelist_count", &freelist, err)) != OPS_OK)
		return rc;
	pct = pages > 0 ? 100.0 * freelist / pages : 0;
	c = cJSON_CreateObject();
	cJSON_AddStringToObject(c, "check", "free_pages");
	/* More than a fifth of the file unused: VACUUM would give it back. */
	cJSON_AddStringToObject(c, "status", pct > 20 ? "warning" : "ok");
	cJSON_AddNumberToObject(c, "value", pct);
	cJSON_AddNumberToObject(c, "threshold", 20);
	cJSON_AddStringToObject(c, "unit", "%");
	cJSON_AddNumberToObject(c, "warning_above", 20);
	cJSON_AddStringToObject(c, "message", pct > 20 ? "run opsctl db vacuum to return free pages"
				: "free pages below 20% of the file");
	cJSON_AddItemToArray(checks, c);
	if (pct > 20 && worst < 1)
		worst = 1;
	cJSON_AddNumberToObject(report, "size_bytes", file_bytes(db));
	cJSON_AddStringToObject(report, "health", worst == 0 ? "ok" : worst == 1 ? "warning"
				: "critical");
	*level = worst;
	return OPS_OK;
}

const struct dbm_engine ops_dbm_sqlite_engine = {
	.name = "SQLite",
	.engine = "sqlite",
	.backup = lite_backup,
	.prune = lite_prune,
	.vacuum = lite_vacuum,
	.analyze = lite_analyze,
	.optimize = lite_optimize,
	.reindex = lite_reindex,
	.health = lite_health,
	.size = lite_size,
	.integrity = lite_integrity,
};
