/*
 * Reading backups back: one pass over a backup's archive that verify
 * (verify-db-backup.sh), s3-verify (verify-s3-backup.sh) and restore
 * (backup_restore.c) share.  Every member is hashed as it streams and
 * compared with the manifest before the pass moves on, and the stored
 * object's digest is compared at the end, so damage anywhere is found and
 * named.  A PostgreSQL database is streamed into pg_restore writing a
 * database of our own (backup_tempdb.c), which verify checks and drops and
 * restore hands to its pg_put hook; a SQLite copy goes to a temporary file
 * first.  The pass stops between reads once cancellation is requested, and
 * its normal error path drops what it made.
 *
 * What restore does with a finished copy (the swap) is restore's: the pass
 * calls it through a hook, so neither module depends on the other's code.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "backup/backup_internal.h"
#include "opsmaint/dbmaint.h"
#include "opsmaint/fileio.h"
#include "opsmaint/log.h"

static ssize_t find_file(const ops_manifest *m, const char *path)
{
	size_t i;

	for (i = 0; i < m->nfiles; i++)
		if (strcmp(m->files[i].path, path) == 0)
			return (ssize_t)i;
	return -1;
}

/*
 * The archive's next member must be the manifest's next file: the members
 * are the manifest's, each once, in the order they were written.  Order
 * matters beyond the set: a dump's chunks are one stream, restored in the
 * order they come.  A member out of place is named with what the manifest
 * expected there, so a missing member is found where it should have been,
 * not only by a count at the end.
 */
static ops_code member_in_place(const ops_manifest *m, size_t next, const char *path,
				long long size, ops_error *err)
{
	ssize_t at = find_file(m, path);

	if (at < 0)
		return ops_error_set(err, OPS_EDATA,
				     "archive member '%s' is not in the manifest", path);
	if ((size_t)at < next)
		return ops_error_set(err, OPS_EDATA,
				     "archive member '%s' appears more than once", path);
	if ((size_t)at != next)
		return ops_error_set(err, OPS_EDATA, "archive member '%s' comes where the "
				     "manifest lists '%s' (missing or out of order)", path,
				     m->files[next].path);
	if (m->files[at].size != size)
		return ops_error_set(err, OPS_EDATA, "archive member '%s' is %lld bytes, "
				     "the manifest says %lld", path, size, m->files[at].size);
	return OPS_OK;
}

/* The database a NAME.dump stem belongs to, from the manifest. */
static const char *db_of_stem(const ops_manifest *m, const char *stem)
{
	size_t i;

	for (i = 0; m->databases && m->databases[i]; i++) {
		char *s = bk_member_stem(m->databases[i]);
		int same = s && strncmp(s, stem, strlen(s)) == 0 &&
			   (strcmp(stem + strlen(s), ".dump") == 0 ||
			    strcmp(stem + strlen(s), ".dir") == 0);

		free(s);
		if (same)
			return m->databases[i];
	}
	return NULL;
}

/* The SQLite database of the manifest whose member is path: NAME or
 * NAME.db, NAME the stem of the file's name ("hub.db3.db"), or NULL. */
static const char *sqlite_db_of(const ops_manifest *m, const char *path)
{
	size_t i;

	for (i = 0; m->databases && m->databases[i]; i++) {
		const char *b = strrchr(m->databases[i], '/');
		char *s = bk_member_stem(b ? b + 1 : m->databases[i]);
		size_t sl = s ? strlen(s) : 0;
		int same = s && strncmp(path, s, sl) == 0 &&
			   (path[sl] == '\0' || strcmp(path + sl, ".db") == 0);

		free(s);
		if (same)
			return m->databases[i];
	}
	return NULL;
}

/* The database an archive member belongs to: NAME.dump/CHUNK or a SQLite
 * member (members with no '/' are SQLite copies); NULL for files/, redis/... */
static const char *db_of_member(const ops_manifest *m, const char *path)
{
	const char *slash = strchr(path, '/');
	char stem[300];

	if (!slash)
		return sqlite_db_of(m, path);
	snprintf(stem, sizeof stem, "%.*s", (int)(slash - path), path);
	return db_of_stem(m, stem);
}

static int chosen(char *const *only, const char *db)
{
	size_t i;

	if (!only)
		return 1;
	for (i = 0; only[i]; i++)
		if (strcmp(only[i], db) == 0)
			return 1;
	return 0;
}

/*
 * verify restores into -t NAME and drops it afterwards, so NAME must never
 * be a database that matters: not one the backup holds or backs up (and,
 * when it exists, one an earlier verify made: bk_tempdb_create).
 */
static ops_code temp_db_allowed(const ops_config *cfg, const ops_manifest *m, const char *name,
				ops_error *err)
{
	char **configured = ops_config_list(cfg, "backup.databases");
	ops_code rc = OPS_OK;
	size_t i;

	for (i = 0; m->databases && m->databases[i]; i++)
		if (strcmp(m->databases[i], name) == 0)
			rc = ops_error_set(err, OPS_EUSAGE,
					   "--temp-db %s is a database the backup holds", name);
	for (i = 0; rc == OPS_OK && configured && configured[i]; i++)
		if (strcmp(configured[i], name) == 0)
			rc = ops_error_set(err, OPS_EUSAGE,
					   "--temp-db %s is a database backup.databases names",
					   name);
	ops_strv_free(configured);
	return rc;
}

/* The pass's connection to the maintenance database, opened before it
 * makes anything; the first thing done with it is to clear away what
 * interrupted runs left. */
static ops_code admin(bk_pass *p, ops_error *err)
{
	ops_error serr;
	ops_code rc;

	if (p->admin)
		return OPS_OK;
	if ((rc = bk_admin_open(p->ctx->run->cfg, &p->admin, err)) != OPS_OK)
		return rc;
	if (bk_tempdb_sweep(p->admin, p->report, &serr) != OPS_OK)
		ops_log_warn("cannot look for databases that interrupted runs left: %s",
			     serr.message);
	return OPS_OK;
}

/* Bytes of dump stream stem in the archive (its chunks' sizes). */
static long long stem_size(const ops_manifest *m, const char *stem)
{
	size_t i, sl = strlen(stem);
	long long n = 0;

	for (i = 0; i < m->nfiles; i++)
		if (strncmp(m->files[i].path, stem, sl) == 0 && m->files[i].path[sl] == '/')
			n += m->files[i].size;
	return n;
}

/*
 * pg_restore -j reads a seekable file, never a pipe, so a parallel restore
 * first spools the whole dump, and the spool is time in which nothing is
 * restored.  Measured on 2 cores (tests/bench/backup-restore-results.md):
 * spool + pg_restore -j2 took 2x the stream at 48 MB and tied with it at
 * 416 MB, so by default (backup.restore_spool_min 1G) only large dumps are
 * spooled; more cores and more tables move the break-even down.
 */
static int spool_wanted(bk_pass *p, const char *stem)
{
	const ops_config *cfg = p->ctx->run->cfg;

	if (!p->jobs)
		p->jobs = bk_jobs(cfg, "backup.restore_jobs");
	return p->jobs > 1 && stem_size(p->m, stem) >= ops_config_int(cfg, "backup.restore_spool_min");
}

/*
 * The spool: an unnamed file (O_TMPFILE) in the state directory's tmp, so
 * that no exit, not even SIGKILL, leaves it behind; pg_restore opens it as
 * /proc/PID/fd/N.  Where the file system has no unnamed files it is named
 * and unlinked by spool_close.  With too little room the dump streams into
 * one pg_restore instead: slower, never a failure.
 */
static ops_code spool_open(bk_pass *p, const char *stem, ops_error *err)
{
	char *dir = ops_path_join(ops_config_get(p->ctx->run->cfg, "general.state_dir"), "tmp");
	long long need = stem_size(p->m, stem) + (64LL << 20);
	struct statvfs vfs;
	ops_code rc;

	p->spool_fd = -1;
	if (!dir)
		return ops_error_oom(err);
	if ((rc = ops_mkdir_p(dir, 0700, err)) != OPS_OK)
		goto out;
	if (statvfs(dir, &vfs) != 0) {
		rc = ops_error_errno(err, errno, "cannot look at the free space of", dir);
		goto out;
	}
	if ((long long)vfs.f_bavail * (long long)vfs.f_frsize < need) {
		ops_log_info("%s has less than %lld MiB free: '%s' streams into one pg_restore",
			     dir, need >> 20, p->cur_db);
		goto out;
	}
	p->spool_fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (p->spool_fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
		if (asprintf(&p->spool_path, "%s/restore-%ld.dump", dir, (long)getpid()) < 0) {
			p->spool_path = NULL;
			rc = ops_error_oom(err);
			goto out;
		}
		unlink(p->spool_path);
		p->spool_fd = open(p->spool_path, O_CREAT | O_EXCL | O_RDWR | O_NOFOLLOW |
				   O_CLOEXEC, 0600);
	}
	if (p->spool_fd < 0) {
		rc = ops_error_errno(err, errno, "cannot create a spool file in", dir);
		free(p->spool_path);
		p->spool_path = NULL;
		goto out;
	}
	ops_log_info("spooling '%s' for pg_restore -j %d into database '%s'", p->cur_db,
		     p->jobs, p->cur_into);
out:
	free(dir);
	return rc;
}

static void spool_close(bk_pass *p)
{
	if (p->spool_fd >= 0)
		close(p->spool_fd);
	p->spool_fd = -1;
	if (p->spool_path)
		unlink(p->spool_path);
	free(p->spool_path);
	p->spool_path = NULL;
}

/* pg_restore -j from the spool, whose every chunk has matched its digest. */
static ops_code spool_restore(bk_pass *p, ops_error *err)
{
	const ops_config *cfg = p->ctx->run->cfg;
	char dbarg[96], jarg[32], file[64], **env = bk_pg_env(cfg, p->cur_into);
	char *argv[] = {"pg_restore", "--exit-on-error", "--no-password", dbarg, jarg,
			NULL, NULL, NULL, NULL};
	int argc = 5;
	ops_code rc;

	if (!env)
		return ops_error_oom(err);
	snprintf(dbarg, sizeof dbarg, "--dbname=%s", p->cur_into);
	snprintf(jarg, sizeof jarg, "--jobs=%d", p->jobs);
	if (p->mode == BK_PASS_VERIFY) {
		argv[argc++] = "--no-owner";
		argv[argc++] = "--no-privileges";
	}
	if (p->spool_path)
		argv[argc++] = p->spool_path;
	else {
		snprintf(file, sizeof file, "/proc/%ld/fd/%d", (long)getpid(), p->spool_fd);
		argv[argc++] = file;
	}
	ops_log_info("restoring '%s' into database '%s' (pg_restore -j %d)", p->cur_db,
		     p->cur_into, p->jobs);
	rc = ops_proc_start(ops_config_get(cfg, "backup.pg_bindir"), argv, env, 0, NULL, NULL,
			    &p->proc, err);
	ops_strv_free(env);
	if (rc == OPS_OK)
		rc = ops_proc_wait(p->proc, err);
	p->proc = NULL;
	return rc;
}

static int is_dir_stem(const char *stem)
{
	size_t n = strlen(stem);

	return n > 4 && strcmp(stem + n - 4, ".dir") == 0;
}

static ops_code start_restore(bk_pass *p, const char *stem, ops_error *err)
{
	const ops_config *cfg = p->ctx->run->cfg;
	const char *dbname = db_of_stem(p->m, stem);
	char into[64], **env = NULL;
	char *argv[] = {"pg_restore", "--exit-on-error", "--no-password",
			NULL, NULL, NULL, NULL, NULL};
	char dbarg[96];
	ops_code rc;
	int argc = 3;

	if (!dbname)
		return ops_error_set(err, OPS_EDATA,
				     "archive stream '%s' belongs to no database in the manifest",
				     stem);
	p->cur_stem = strdup(stem);
	p->cur_db = strdup(dbname);
	p->skipping = p->mode == BK_PASS_RESTORE && !chosen(p->only, dbname);
	if (p->skipping || p->mode == BK_PASS_CHECKSUMS)
		return OPS_OK;
	if (p->mode == BK_PASS_VERIFY) {
		snprintf(into, sizeof into, "%s", p->temp_db);
		/* Roles may not exist where a verify runs; ownership is not
		 * what a verify checks. */
		argv[argc++] = "--no-owner";
		argv[argc++] = "--no-privileges";
	} else if (p->copies++) {
		/* Every copy waits for the end of the archive: one name each. */
		snprintf(into, sizeof into, "opsctl_restore_%ld_%d", (long)getpid(), p->copies);
	} else {
		snprintf(into, sizeof into, "opsctl_restore_%ld", (long)getpid());
	}
	/* A name of ours (checked to be plain): -d is safe. */
	snprintf(dbarg, sizeof dbarg, "--dbname=%s", into);
	argv[argc++] = dbarg;
	if (p->mode == BK_PASS_VERIFY && (rc = temp_db_allowed(cfg, p->m, into, err)) != OPS_OK)
		return rc;
	if ((rc = admin(p, err)) != OPS_OK)
		return rc;
	rc = bk_tempdb_create(p->admin, into, p->mode == BK_PASS_VERIFY ? BK_MARK_VERIFY
			      : BK_MARK_RESTORE, err);
	if (rc == OPS_EUSAGE && p->mode == BK_PASS_VERIFY)
		ops_error_hint(err, "choose another --temp-db, "
			       "or drop it yourself if it is a leftover");
	if (rc != OPS_OK)
		return rc;
	p->cur_into = strdup(into);
	p->stream_failed = 0;
	env = bk_pg_env(cfg, into);
	if (!env || !p->cur_into)
		rc = ops_error_oom(err);
	if (rc == OPS_OK && is_dir_stem(stem)) {
		/* pg_restore -Fd runs at the end, on all of the files. */
		memcpy(p->dir_argv, argv, sizeof p->dir_argv);
		p->dir_argv[argc - 1] = p->dir_dbarg;
		snprintf(p->dir_dbarg, sizeof p->dir_dbarg, "%s", dbarg);
		rc = bk_spool_new(cfg, "restore", &p->cur_spool, err);
	} else {
		/* A custom-format stream: spooled for pg_restore -j when large
		 * (spool_wanted), else straight into one pg_restore. */
		if (rc == OPS_OK && spool_wanted(p, stem))
			rc = spool_open(p, stem, err);
		if (rc == OPS_OK && p->spool_fd < 0) {
			ops_log_info("restoring '%s' into database '%s'", dbname, into);
			rc = ops_proc_start(ops_config_get(cfg, "backup.pg_bindir"), argv, env,
					    OPS_PROC_PIPE_IN, &p->to_restore, NULL, &p->proc, err);
		}
	}
	ops_strv_free(env);
	if (rc != OPS_OK) {
		ops_error ignored;

		bk_tempdb_drop(p->admin, into, &ignored);
		free(p->cur_into);
		p->cur_into = NULL;
	}
	return rc;
}

/* Row counts of the restored copy against the manifest's. */
static ops_code compare_rows(bk_pass *p, const char *target, const char *dbname,
			     cJSON *rep, ops_error *err)
{
	ops_db *db = NULL;
	ops_code rc = ops_db_open(p->ctx->run->cfg, target, &db, err);
	int checked = 0, bad = 0;
	size_t i;

	for (i = 0; rc == OPS_OK && i < p->m->ntables; i++) {
		const ops_manifest_table *t = &p->m->tables[i];
		ops_rows *rows = NULL;
		char *sql = NULL;
		long long got;

		if (strcmp(t->database, dbname) != 0)
			continue;
		if (ops_db_kind_of(db) == OPS_DB_SQLITE) {
			char *q = ops_db_quote_ident(db, t->table);

			if (!q || asprintf(&sql, "SELECT count(*) FROM %s", q) < 0)
				sql = NULL;
			free(q);
		} else {
			/* "schema.table" as recorded by format('%I.%I'), but the
			 * manifest is only JSON: the name goes through to_regclass
			 * (a name, never SQL) and what is counted is the table
			 * the server names back. */
			const char *pn[1] = {t->table};

			rc = ops_db_query(db, "SELECT c.oid::pg_catalog.regclass::text"
					  " FROM pg_catalog.pg_class c"
					  " WHERE c.oid = pg_catalog.to_regclass($1)"
					  " AND c.relkind IN ('r', 'p', 'm')", 1, pn, &rows, err);
			if (rc != OPS_OK || ops_rows_count(rows) != 1 ||
			    !ops_rows_value(rows, 0, 0)) {
				ops_rows_free(rows);
				rc = ops_error_set(err, OPS_EFAIL, "table %s of '%s' is missing "
						   "from the restored copy", t->table, dbname);
				break;
			}
			if (asprintf(&sql, "SELECT pg_catalog.count(*) FROM %s",
				     ops_rows_value(rows, 0, 0)) < 0)
				sql = NULL;
			ops_rows_free(rows);
			rows = NULL;
		}
		if (!sql) {
			rc = ops_error_oom(err);
			break;
		}
		rc = ops_db_query(db, sql, 0, NULL, &rows, err);
		free(sql);
		if (rc != OPS_OK) {
			rc = ops_error_set(err, OPS_EFAIL,
					   "table %s of '%s' is missing from the restored copy",
					   t->table, dbname);
			break;
		}
		if (ops_rows_count(rows) != 1 || ops_rows_int64(rows, 0, 0, &got, NULL) != OPS_OK)
			got = -1;
		ops_rows_free(rows);
		checked++;
		if (got != t->rows) {
			if (!bad)
				ops_error_set(err, OPS_EFAIL, "table %s of '%s' has %lld rows "
					      "after restore, %lld at backup time",
					      t->table, dbname, got, t->rows);
			bad++;
		}
	}
	ops_db_close(db);
	cJSON_AddNumberToObject(rep, "tables_checked", checked);
	cJSON_AddNumberToObject(rep, "tables_mismatched", bad);
	if (rc == OPS_OK && bad)
		rc = OPS_EFAIL;
	return rc;
}

static void note_failure(bk_pass *p, cJSON *rep, const ops_error *err)
{
	cJSON_AddStringToObject(rep, "status", "failed");
	cJSON_AddStringToObject(rep, "error", err->message);
	if (!p->failures++)
		p->first = *err;
}

/* verify: the restored copy's row counts, and amcheck where it can be had
 * (its absence is not a failure). */
static ops_code check_restored(bk_pass *p, cJSON *rep, ops_error *err)
{
	const ops_config *cfg = p->ctx->run->cfg;
	ops_dbm_ctx dctx = {0};
	cJSON *irep = NULL;
	ops_db *tdb = NULL;
	ops_error ierr;
	ops_code irc, rc = compare_rows(p, p->cur_into, p->cur_db, rep, err);

	if (rc != OPS_OK)
		return rc;
	dctx.run = p->ctx->run;
	if (ops_db_open(cfg, p->cur_into, &tdb, &ierr) == OPS_OK)
		ops_db_exec(tdb, "CREATE EXTENSION IF NOT EXISTS amcheck", &ierr);
	ops_db_close(tdb);
	irc = ops_dbm_integrity(&dctx, p->cur_into, &irep, &ierr);
	if (irc == OPS_EDATA)
		rc = ops_error_set(err, OPS_EDATA,
				   "amcheck found damaged indexes in the restored copy of '%s'",
				   p->cur_db);
	else if (irc == OPS_OK &&
		 !cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(irep, "available")))
		cJSON_AddStringToObject(rep, "amcheck", "ok");
	else	/* not installable here: a check not made, not a failure */
		cJSON_AddStringToObject(rep, "amcheck", "not available");
	cJSON_Delete(irep);
	return rc;
}

/* The size of a restored copy, for the restore time per GB (RTO). */
static void count_restored(bk_pass *p, const char *into)
{
	const char *pv[1] = {into};
	ops_rows *rows = NULL;
	ops_error ignored;
	long long n = 0;

	if (ops_db_query(p->admin, "SELECT pg_catalog.pg_database_size($1)", 1, pv, &rows,
			 &ignored) == OPS_OK && ops_rows_count(rows) == 1 &&
	    ops_rows_int64(rows, 0, 0, &n, NULL) == OPS_OK)
		p->restored_bytes += n;
	ops_rows_free(rows);
}

/* A checked copy waiting for the end of the archive; copy and target are
 * taken (copied), rep owned from now on. */
static ops_code add_pending(bk_pass *p, const char *copy, const char *target, int sqlite,
			    cJSON *rep, ops_error *err)
{
	struct bk_pending *v = realloc(p->pending, (p->npending + 1) * sizeof *v);

	if (!v)
		return ops_error_oom(err);
	p->pending = v;
	v += p->npending;
	v->copy = strdup(copy);
	v->target = strdup(target);
	v->sqlite = sqlite;
	v->rep = rep;
	if (!v->copy || !v->target) {
		free(v->copy);
		free(v->target);
		return ops_error_oom(err);
	}
	p->npending++;
	return OPS_OK;
}

/* pg_restore has all of the stream (or the pass is ending early): wait for
 * it, then check or put in place, and drop whatever is not wanted. */
static ops_code finish_restore(bk_pass *p, int ok_so_far, ops_error *err)
{
	cJSON *rep;
	ops_code rc = OPS_OK;
	int keep;
	ops_error ignored;

	if (!p->cur_stem)
		return OPS_OK;
	rep = cJSON_CreateObject();
	cJSON_AddStringToObject(rep, "database", p->cur_db);
	if (p->skipping || p->mode == BK_PASS_CHECKSUMS || !p->cur_into) {
		if (p->skipping == 2 || (!p->skipping && p->mode != BK_PASS_CHECKSUMS)) {
			cJSON_Delete(rep);	/* its failure is reported already */
			rep = NULL;
		} else {
			cJSON_AddStringToObject(rep, "status", p->skipping ? "skipped" : "ok");
		}
		goto out;
	}
	if (p->to_restore >= 0)
		close(p->to_restore);
	p->to_restore = -1;
	/* A directory-format dump is complete and checked: restore it now. */
	if (p->cur_spool && ok_so_far && !p->stream_failed &&
	    bk_dir_restore_start(p, p->dir_argv, &p->stream_err) != OPS_OK)
		p->stream_failed = 1;
	if (p->stream_failed) {
		spool_close(p);
		bk_tempdb_drop(p->admin, p->cur_into, &ignored);
		note_failure(p, rep, &p->stream_err);
		goto out;
	}
	if (!ok_so_far) {
		ops_proc_kill(p->proc);
		p->proc = NULL;
		spool_close(p);
		bk_tempdb_drop(p->admin, p->cur_into, &ignored);
		cJSON_Delete(rep);
		rep = NULL;
		goto out;
	}
	if (p->spool_fd >= 0)
		rc = spool_restore(p, err);
	else
		rc = ops_proc_wait(p->proc, err);
	p->proc = NULL;
	spool_close(p);
	/* Nothing is checked or put in place once the run is cancelled. */
	if (rc == OPS_OK)
		rc = ops_cancel_check(err);
	if (rc == OPS_OK)
		count_restored(p, p->cur_into);
	if (rc == OPS_OK && p->mode == BK_PASS_VERIFY)
		rc = check_restored(p, rep, err);
	if (rc == OPS_OK && p->mode == BK_PASS_RESTORE) {
		/* Put in place only once the whole archive has matched its
		 * digests (bk_pass_commit); until then the copy waits. */
		rc = add_pending(p, p->cur_into, p->cur_db, 0, rep, err);
		if (rc == OPS_OK) {
			p->cur_into = NULL;	/* the pending list's now */
			rep = NULL;
			goto out;
		}
	}
	if (p->mode == BK_PASS_RESTORE)
		keep = 0;
	else
		keep = p->keep_temp && !ops_cancelled();
	if (!keep)
		bk_tempdb_drop(p->admin, p->cur_into, &ignored);
	else if (p->mode == BK_PASS_VERIFY)
		/* Kept on purpose: no longer a leftover for a later run to drop,
		 * still one a later verify may replace. */
		bk_db_comment_set(p->admin, p->cur_into, BK_MARK_VERIFY, &ignored);
	if (rc == OPS_OK)
		cJSON_AddStringToObject(rep, "status", "ok");
	else
		note_failure(p, rep, err);
out:
	if (rep)
		cJSON_AddItemToArray(p->dbs, rep);
	bk_spool_remove(p->cur_spool);
	free(p->cur_spool);
	p->cur_spool = NULL;
	free(p->cur_stem);
	free(p->cur_db);
	free(p->cur_into);
	p->cur_stem = p->cur_db = p->cur_into = NULL;
	return OPS_OK;	/* per-database failures are counted, the pass goes on */
}

static ops_code write_all_fd(int fd, const void *buf, size_t len, const char *what, ops_error *err)
{
	if (ops_write_all(fd, buf, len) != 0)
		return ops_error_errno(err, errno, "cannot write to", what);
	return OPS_OK;
}

/* A member only read, its digest compared: a checksum pass, or a database
 * a restore skips. */
static ops_code read_member(ops_archive_reader *ar, const char *path,
			    const ops_manifest_file *mf, ops_error *err)
{
	char buf[65536], hex[65];
	size_t got = 0;
	ops_code rc;

	do
		rc = ops_archive_read(ar, buf, sizeof buf, &got, err);
	while (rc == OPS_OK && got > 0);
	if (rc == OPS_OK) {
		ops_archive_member_sha256(ar, hex);
		if (strcmp(hex, mf->sha256) != 0)
			rc = ops_error_set(err, OPS_EDATA, "archive member '%s' does not match "
					   "its SHA-256 (damaged)", path);
	}
	return rc;
}

/*
 * Where a SQLite member is written before it is checked or put in place:
 * beside the live file (or the --as file) for a restore, so the rename stays
 * on one file system (a protected path is refused), in the state directory
 * for verify.
 */
static ops_code sqlite_copy_path(bk_pass *p, const char *dbpath, char **tmp, ops_error *err)
{
	const ops_config *cfg = p->ctx->run->cfg;
	ops_code rc = OPS_OK;

	*tmp = NULL;
	if (p->mode == BK_PASS_RESTORE && p->as)
		dbpath = p->as;
	if (p->mode == BK_PASS_RESTORE) {
		char **prot = ops_config_list(cfg, "general.protected_paths");
		int is_prot = ops_path_is_protected(dbpath, prot);

		ops_strv_free(prot);
		if (is_prot)
			return ops_error_set(err, OPS_EPERM,
					     "'%s' is a protected path; not overwriting it",
					     dbpath);
		if (asprintf(tmp, "%s.opsctl-restore.%ld", dbpath, (long)getpid()) < 0)
			*tmp = NULL;
	} else {
		char *dir = ops_path_join(ops_config_get(cfg, "general.state_dir"), "tmp");

		rc = dir ? ops_mkdir_p(dir, 0700, err) : ops_error_oom(err);
		if (rc == OPS_OK && asprintf(tmp, "%s/verify-%ld.db", dir, (long)getpid()) < 0)
			*tmp = NULL;
		free(dir);
	}
	if (rc == OPS_OK && !*tmp)
		rc = ops_error_oom(err);
	return rc;
}

/* The member's bytes into a new file at tmp, synced, its digest checked:
 * never act on a copy whose digest is not the recorded one. */
static ops_code write_member(ops_archive_reader *ar, const char *path,
			     const ops_manifest_file *mf, const char *tmp, ops_error *err)
{
	char buf[65536], hex[65];
	size_t got = 0;
	ops_code rc = OPS_OK;
	int fd;

	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return ops_error_errno(err, errno, "cannot create", tmp);
	do {
		rc = ops_archive_read(ar, buf, sizeof buf, &got, err);
		if (rc == OPS_OK && got)
			rc = write_all_fd(fd, buf, got, tmp, err);
	} while (rc == OPS_OK && got > 0);
	if (rc == OPS_OK && fsync(fd) != 0)
		rc = ops_error_errno(err, errno, "cannot sync", tmp);
	close(fd);
	if (rc == OPS_OK) {
		ops_archive_member_sha256(ar, hex);
		if (strcmp(hex, mf->sha256) != 0)
			rc = ops_error_set(err, OPS_EDATA,
					   "archive member '%s' does not match its SHA-256", path);
	}
	return rc;
}

/* verify: integrity_check and the row counts of the copy at tmp. */
static ops_code check_sqlite_copy(bk_pass *p, const char *tmp, const char *dbpath, cJSON *rep,
				  ops_error *err)
{
	ops_dbm_ctx dctx = {0};
	cJSON *irep = NULL;
	char *target = NULL;
	ops_code rc;

	if (asprintf(&target, "sqlite:%s", tmp) < 0)
		return ops_error_oom(err);
	dctx.run = p->ctx->run;
	rc = ops_dbm_integrity(&dctx, target, &irep, err);
	cJSON_Delete(irep);
	if (rc == OPS_OK)
		rc = compare_rows(p, target, dbpath, rep, err);
	free(target);
	return rc;
}

/* A SQLite copy: to a temp file, then checked (verify) or put in place. */
static ops_code sqlite_member(bk_pass *p, ops_archive_reader *ar, const char *path,
			      const ops_manifest_file *mf, ops_error *err)
{
	const char *dbpath = sqlite_db_of(p->m, path);
	char *tmp = NULL;
	ops_code rc;
	cJSON *rep = cJSON_CreateObject();

	cJSON_AddStringToObject(rep, "database", dbpath ? dbpath : path);
	if (p->mode == BK_PASS_CHECKSUMS ||
	    (p->mode == BK_PASS_RESTORE && (!dbpath || !chosen(p->only, dbpath)))) {
		rc = read_member(ar, path, mf, err);
		if (rc == OPS_OK)
			cJSON_AddStringToObject(rep, "status",
						p->mode == BK_PASS_CHECKSUMS ? "ok" : "skipped");
		goto out;
	}
	if ((rc = sqlite_copy_path(p, dbpath, &tmp, err)) != OPS_OK) {
		ops_error derr;

		read_member(ar, path, mf, &derr);	/* past it: the pass goes on */
		note_failure(p, rep, err);
		goto out;
	}
	rc = write_member(ar, path, mf, tmp, err);
	if (rc == OPS_OK) {
		struct stat st;

		if (stat(tmp, &st) == 0)
			p->restored_bytes += st.st_size;
	}
	if (rc == OPS_OK && p->mode == BK_PASS_VERIFY && dbpath)
		rc = check_sqlite_copy(p, tmp, dbpath, rep, err);
	/* Put in place only once the whole archive has matched its digests
	 * (bk_pass_commit), and nothing once the run is cancelled. */
	if (rc == OPS_OK && p->mode == BK_PASS_RESTORE && (rc = ops_cancel_check(err)) == OPS_OK &&
	    (rc = add_pending(p, tmp, dbpath, 1, rep, err)) == OPS_OK) {
		free(tmp);	/* the pending list has it */
		return OPS_OK;
	}
	if (rc == OPS_OK)
		cJSON_AddStringToObject(rep, "status", "ok");
	else if (rc != OPS_EDATA)
		note_failure(p, rep, err);
out:
	if (tmp)
		unlink(tmp);
	free(tmp);
	cJSON_AddItemToArray(p->dbs, rep);
	/* Damage and cancellation end the pass; anything else was counted. */
	return rc == OPS_EDATA || rc == OPS_EIO || rc == OPS_EINTR ? rc : OPS_OK;
}

/* files/... and redis/...: checked, and on restore written for review. */
static ops_code plain_member(bk_pass *p, ops_archive_reader *ar, const char *path, ops_error *err)
{
	char buf[65536], *dest = NULL;
	size_t got = 0;
	ops_afile *af = NULL;
	ops_code rc = OPS_OK;

	if (p->mode == BK_PASS_RESTORE && p->restore_dir) {
		char *dir, **v;
		size_t n = ops_strv_len(p->staged);

		/* Staged beside restore_dir until the whole archive has matched
		 * its digests (bk_pass_commit). */
		if (!p->stage_dir && asprintf(&p->stage_dir, "%s.part-%ld", p->restore_dir,
					      (long)getpid()) < 0) {
			p->stage_dir = NULL;
			return ops_error_oom(err);
		}
		v = realloc(p->staged, (n + 2) * sizeof *v);
		if (!v)
			return ops_error_oom(err);
		p->staged = v;
		v[n] = v[n + 1] = NULL;
		if (!(v[n] = strdup(path)))
			return ops_error_oom(err);
		dest = ops_path_join(p->stage_dir, path);
		dir = dest ? ops_path_dir(dest) : NULL;
		if (!dest || !dir)
			rc = ops_error_oom(err);
		else
			rc = ops_mkdir_p(dir, 0700, err);
		free(dir);
		/* A temp file renamed into place: a link already there is
		 * replaced, never written through. */
		if (rc == OPS_OK)
			rc = ops_afile_open(dest, 0600, &af, err);
	}
	do {
		if (rc != OPS_OK)
			break;
		rc = ops_archive_read(ar, buf, sizeof buf, &got, err);
		if (rc == OPS_OK && got && af)
			rc = ops_afile_write(af, buf, got, err);
	} while (got > 0);
	if (rc == OPS_OK && af) {
		rc = ops_afile_commit(af, err);
		af = NULL;
	}
	ops_afile_abort(af);
	free(dest);
	return rc;
}

static ops_code feed_restore(bk_pass *p, ops_archive_reader *ar, ops_error *err)
{
	char buf[65536];
	size_t got = 0;
	ops_code rc;

	do {
		rc = ops_archive_read(ar, buf, sizeof buf, &got, err);
		if (rc == OPS_OK && got && p->spool_fd >= 0 && !p->stream_failed &&
		    ops_write_all(p->spool_fd, buf, got) != 0) {
			/* A full disk: this database fails, the archive is read on. */
			ops_error_errno(&p->stream_err, errno, "cannot write the spool file of",
					p->cur_db);
			p->stream_failed = 1;
		} else if (rc == OPS_OK && got && p->proc && !p->skipping && !p->stream_failed &&
		    ops_write_all(p->to_restore, buf, got) != 0) {
			/* pg_restore stopped reading: its own error says why.
			 * The archive is read on, to check the rest of it. */
			ops_proc_wait(p->proc, &p->stream_err);
			p->proc = NULL;
			p->stream_failed = 1;
		}
	} while (rc == OPS_OK && got > 0);
	return rc;
}

/* A member of a database's dump (NAME.dump/NNNNNN or NAME.dir/FILE): a new
 * stem ends the database before and starts its restore.  Not OPS_OK only
 * when the pass must end. */
static ops_code enter_stem(bk_pass *p, const char *path, const char *slash, ops_error *err)
{
	char stem[300];
	ops_code rc;

	snprintf(stem, sizeof stem, "%.*s", (int)(slash - path), path);
	if (p->cur_stem && strcmp(p->cur_stem, stem) == 0)
		return OPS_OK;
	finish_restore(p, 1, err);
	rc = start_restore(p, stem, err);
	if (rc != OPS_OK) {
		cJSON *rep = cJSON_CreateObject();

		cJSON_AddStringToObject(rep, "database", p->cur_db ? p->cur_db : stem);
		note_failure(p, rep, err);
		cJSON_AddItemToArray(p->dbs, rep);
		if (rc == OPS_EDATA || rc == OPS_EINTR)
			return rc;
		p->skipping = 2;	/* read past the rest of it */
	}
	return OPS_OK;
}

/* A PostgreSQL dump stream's chunk (NAME.dump/NNNNNN), fed to its pg_restore. */
static ops_code dump_member(bk_pass *p, ops_archive_reader *ar, const char *path,
			    const char *slash, ops_error *err)
{
	ops_code rc = enter_stem(p, path, slash, err);

	return rc != OPS_OK ? rc : feed_restore(p, ar, err);
}

/* A file of a directory-format dump (NAME.dir/FILE): gathered in the
 * spool; pg_restore runs on them when the database's members end. */
static ops_code dir_member(bk_pass *p, ops_archive_reader *ar, const char *path,
			   const char *slash, ops_error *err)
{
	ops_code rc = enter_stem(p, path, slash, err);

	return rc != OPS_OK ? rc : bk_dir_member_write(p, ar, slash + 1, err);
}

/* A chunk of a physical backup's base.tar, handed on as it is read. */
static ops_code base_member(bk_pass *p, ops_archive_reader *ar, ops_error *err)
{
	char buf[65536];
	size_t got = 0;
	ops_code rc;

	do {
		rc = ops_archive_read(ar, buf, sizeof buf, &got, err);
		if (rc == OPS_OK && got)
			rc = p->base_sink(p->base_ctx, buf, got, err);
	} while (rc == OPS_OK && got > 0);
	return rc;
}

/* One archive member, by kind, its digest compared with the manifest's. */
static ops_code one_member(bk_pass *p, ops_archive_reader *ar, const char *path,
			   const ops_manifest_file *mf, ops_error *err)
{
	const char *slash = strchr(path, '/');
	size_t len = strlen(path);
	char hex[65];
	ops_code rc;

	if (p->base_sink && strncmp(path, "base.tar/", 9) == 0) {
		rc = base_member(p, ar, err);
	} else if (slash && slash - path > 5 && strncmp(slash - 5, ".dump", 5) == 0) {
		rc = dump_member(p, ar, path, slash, err);
	} else if (slash && slash - path > 4 && strncmp(slash - 4, ".dir", 4) == 0) {
		rc = dir_member(p, ar, path, slash, err);
	} else if (!slash && ((len > 3 && strcmp(path + len - 3, ".db") == 0) ||
			      sqlite_db_of(p->m, path))) {
		finish_restore(p, 1, err);
		return sqlite_member(p, ar, path, mf, err);	/* compares its own */
	} else {
		rc = plain_member(p, ar, path, err);
	}
	if (rc != OPS_OK)
		return rc;
	ops_archive_member_sha256(ar, hex);
	if (strcmp(hex, mf->sha256) != 0)
		return ops_error_set(err, OPS_EDATA,
				     "archive member '%s' does not match its SHA-256 (damaged)",
				     path);
	return OPS_OK;
}

ops_code bk_pass_run(bk_pass *p, const unsigned char *key, ops_error *err)
{
	const ops_manifest *m = p->m;
	const ops_manifest_member *obj = &m->members[0];
	ops_archive_reader *ar = NULL;
	char okey[400], hex[65];
	size_t seen = 0;
	bk_in in;
	ops_code rc;
	struct sigaction ign, old;

	memset(&ign, 0, sizeof ign);
	ign.sa_handler = SIG_IGN;
	/* A dead pg_restore is an error, not a signal. */
	sigaction(SIGPIPE, &ign, &old);
	p->to_restore = -1;
	p->spool_fd = -1;
	snprintf(okey, sizeof okey, "%s/%s", m->id, obj->name);
	rc = bk_in_begin(p->ctx, okey, key, obj->size, &in, err);
	if (rc != OPS_OK)
		goto out_sig;
	rc = ops_archive_reader_new(bk_in_source, &in, &ar, err);
	while (rc == OPS_OK) {
		const ops_manifest_file *mf;
		const char *path;
		long long size;
		int end = 0;

		if ((rc = ops_cancel_check(err)) != OPS_OK)
			break;
		rc = ops_archive_next(ar, &path, &size, &end, err);
		if (rc != OPS_OK || end)
			break;
		if (seen == m->nfiles) {
			rc = find_file(m, path) >= 0
				? ops_error_set(err, OPS_EDATA, "archive member '%s' appears more "
						"than once", path)
				: ops_error_set(err, OPS_EDATA, "archive member '%s' is not in "
						"the manifest", path);
			break;
		}
		rc = member_in_place(m, seen, path, size, err);
		mf = &m->files[seen];
		if (rc == OPS_OK)
			rc = one_member(p, ar, path, mf, err);
		seen++;
	}
	/* Short of members is as damaged as a wrong one, and known before
	 * the last database is restored or put in place. */
	if (rc == OPS_OK && seen != m->nfiles)
		rc = ops_error_set(err, OPS_EDATA, "archive of backup '%s' lacks member '%s' "
				   "(it holds %zu of the %zu its manifest lists)", m->id,
				   m->files[seen].path, seen, m->nfiles);
	if (rc == OPS_OK)
		finish_restore(p, 1, err);
	else if (p->cur_stem)
		finish_restore(p, 0, err);
	if (rc == OPS_OK)
		rc = bk_in_drain(&in, err);
	ops_archive_reader_free(ar);
	bk_in_end(&in, hex);
	if (rc == OPS_OK && (strcmp(hex, obj->sha256) != 0))
		rc = ops_error_set(err, OPS_EDATA,
				   "object '%s' does not match its SHA-256 (damaged)", okey);
out_sig:
	sigaction(SIGPIPE, &old, NULL);
	return rc;
}

int bk_db_is_sqlite(const ops_manifest *m, const char *db)
{
	size_t j;

	for (j = 0; j < m->nfiles; j++)
		if (!strchr(m->files[j].path, '/') && db_of_member(m, m->files[j].path) &&
		    strcmp(db_of_member(m, m->files[j].path), db) == 0)
			return 1;
	return 0;
}

/*
 * A logical backup holds each database it names: a dump stream NAME.dump/
 * or a SQLite member NAME.db.  Otherwise verify would check, and restore
 * restore, the others and say nothing of the missing one.
 */
static ops_code every_database_stored(const ops_manifest *m, ops_error *err)
{
	size_t i, j;

	if (m->method && strcmp(m->method, "logical") != 0)
		return OPS_OK;	/* physical: one cluster, base.tar */
	for (i = 0; m->databases && m->databases[i]; i++) {
		int found = 0;

		for (j = 0; !found && j < m->nfiles; j++)
			found = db_of_member(m, m->files[j].path) == m->databases[i];
		if (!found)
			return ops_error_set(err, OPS_EDATA, "database '%s' of backup '%s' has "
					     "nothing in its archive", m->databases[i], m->id);
	}
	return OPS_OK;
}

/* The staged files, and the directories made for them, removed. */
static void stage_remove(bk_pass *p)
{
	size_t i;

	for (i = 0; p->stage_dir && p->staged && p->staged[i]; i++) {
		char *f = ops_path_join(p->stage_dir, p->staged[i]), *d;

		if (f)
			unlink(f);
		/* Its directories up to the stage, those now empty. */
		while (f && (d = ops_path_dir(f)) && strlen(d) > strlen(p->stage_dir)) {
			rmdir(d);
			free(f);
			f = d;
		}
		free(f);
	}
	if (p->stage_dir)
		rmdir(p->stage_dir);
	ops_strv_free(p->staged);
	free(p->stage_dir);
	p->staged = NULL;
	p->stage_dir = NULL;
}

/* Each staged file renamed to its place under restore_dir, as one file at
 * a time was before: a link already there is replaced, never written
 * through. */
static ops_code stage_commit(bk_pass *p, ops_error *err)
{
	ops_code rc = OPS_OK;
	size_t i;

	for (i = 0; rc == OPS_OK && p->staged && p->staged[i]; i++) {
		char *from = ops_path_join(p->stage_dir, p->staged[i]);
		char *to = ops_path_join(p->restore_dir, p->staged[i]);
		char *dir = to ? ops_path_dir(to) : NULL;

		if (!from || !to || !dir)
			rc = ops_error_oom(err);
		if (rc == OPS_OK)
			rc = ops_mkdir_p(dir, 0700, err);
		if (rc == OPS_OK && rename(from, to) != 0)
			rc = ops_error_errno(err, errno, "cannot put the restored file in place at",
					     to);
		if (rc == OPS_OK)
			rc = ops_fsync_dir(dir, err);
		free(from);
		free(to);
		free(dir);
	}
	return rc;
}

/* A pending copy dropped (not put in place, or put and failed). */
static void pending_drop(bk_pass *p, struct bk_pending *q)
{
	ops_error ignored;

	if (q->sqlite)
		unlink(q->copy);
	else if (p->admin)
		bk_tempdb_drop(p->admin, q->copy, &ignored);
	cJSON_Delete(q->rep);
	free(q->copy);
	free(q->target);
	q->copy = q->target = NULL;
	q->rep = NULL;
}

void bk_pass_commit(bk_pass *p)
{
	ops_error e;
	ops_code rc;
	size_t i;

	for (i = 0; i < p->npending; i++) {
		struct bk_pending *q = &p->pending[i];

		ops_error_clear(&e);
		/* Nothing replaces a live database once the run is cancelled. */
		rc = ops_cancel_check(&e);
		if (rc == OPS_OK && q->sqlite)
			rc = p->sqlite_put(p, q->copy, q->target, &e);
		else if (rc == OPS_OK)
			rc = p->pg_put(p, q->copy, q->target, q->rep, &e);
		if (rc == OPS_OK && q->sqlite && p->as)
			cJSON_AddStringToObject(q->rep, "restored_as", p->as);
		if (rc == OPS_OK)
			cJSON_AddStringToObject(q->rep, "status", "ok");
		else
			note_failure(p, q->rep, &e);
		cJSON_AddItemToArray(p->dbs, q->rep);
		q->rep = NULL;
		/* A database put in place is no copy any more; a SQLite copy
		 * renamed is gone, one linked (--as) is removed. */
		if (rc == OPS_OK && !q->sqlite) {
			free(q->copy);
			q->copy = NULL;
		}
		if (q->copy)
			pending_drop(p, q);
		free(q->target);
		q->target = NULL;
	}
	p->npending = 0;
	if (p->staged && (rc = stage_commit(p, &e)) != OPS_OK && !p->failures++)
		p->first = e;
}

void bk_report_rto(cJSON *rep, double seconds, long long bytes)
{
	cJSON *fig = cJSON_GetObjectItemCaseSensitive(rep, "_figures");

	if (bytes <= 0)
		return;	/* nothing restored: no rate to give */
	if (!fig)
		fig = cJSON_AddObjectToObject(rep, "_figures");
	cJSON_AddNumberToObject(rep, "restored_bytes", (double)bytes);
	cJSON_AddNumberToObject(rep, "restore_seconds_per_gigabyte", seconds / (bytes / 1e9));
	cJSON_AddNumberToObject(fig, "opsctl_restore_seconds", seconds);
	cJSON_AddNumberToObject(fig, "opsctl_restore_bytes", (double)bytes);
	cJSON_AddNumberToObject(fig, "opsctl_restore_seconds_per_gigabyte",
				seconds / (bytes / 1e9));
}

void bk_pass_end(bk_pass *p)
{
	size_t i;

	if (p->to_restore >= 0 && p->proc)
		close(p->to_restore);
	ops_proc_kill(p->proc);
	spool_close(p);
	/* What was made and not put in place goes (a failed or cut pass). */
	for (i = 0; i < p->npending; i++)
		pending_drop(p, &p->pending[i]);
	free(p->pending);
	p->pending = NULL;
	p->npending = 0;
	stage_remove(p);
	ops_db_close(p->admin);
	bk_spool_remove(p->cur_spool);
	free(p->cur_spool);
	p->cur_spool = NULL;
	free(p->cur_stem);
	free(p->cur_db);
	free(p->cur_into);
	p->proc = NULL;
	p->admin = NULL;
	p->cur_stem = p->cur_db = p->cur_into = NULL;
}

ops_code bk_pass_load(const ops_backup_ctx *ctx, const char *id, ops_manifest **m,
		      ops_error *err)
{
	ops_code rc = bk_catalog_manifest(ctx, id, m, err);

	if (rc == OPS_OK && (*m)->nmembers != 1)
		rc = ops_error_set(err, OPS_EDATA, "manifest of backup '%s' lists %zu objects; "
				   "one archive expected", id, (*m)->nmembers);
	if (rc == OPS_OK)
		rc = every_database_stored(*m, err);
	if (rc != OPS_OK) {
		ops_manifest_free(*m);
		*m = NULL;
	}
	return rc;
}

ops_code bk_pass_key(const ops_backup_ctx *ctx, const ops_manifest *m,
		     unsigned char key[OPS_CRYPT_KEY_LEN], int *have, ops_error *err)
{
	char id[17];

	*have = 0;
	if (!m->encryption)
		return OPS_OK;
	if (bk_load_key(ctx->run->cfg, key, have, err) != OPS_OK)
		return err->code;
	if (!*have)
		return ops_error_set(err, OPS_ECONFIG,
				     "backup '%s' is encrypted; set backup.encryption_key_file",
				     m->id);
	ops_crypt_key_id(key, id);
	if (strcmp(id, m->encryption) != 0)
		return ops_error_set(err, OPS_ECONFIG, "backup '%s' was encrypted with key %s; "
				     "the configured key is %s", m->id, m->encryption, id);
	return OPS_OK;
}

/* Whether name can be verify's temporary database: a plain name of ours. */
static int temp_name_ok(const char *name)
{
	return *name && strlen(name) <= 63 &&
	       strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") == strlen(name);
}

/* The verdict in the manifest; a verdict that cannot be recorded still
 * reports it, and fails the run if it was good. */
static ops_code record_verdict(const ops_backup_ctx *ctx, ops_manifest *m, ops_code rc,
			       ops_error *err)
{
	ops_error serr;
	ops_code sc;

	ops_manifest_set(&m->status, rc == OPS_OK ? "verified" : "verify-failed", &serr);
	ops_manifest_set(&m->verify_error, rc == OPS_OK ? NULL : err->message, &serr);
	m->verified_at = ops_wall_clock();
	sc = ops_manifest_save(ctx->store, m, &serr);
	if (sc != OPS_OK && rc == OPS_OK) {
		*err = serr;
		rc = sc;
	}
	return rc;
}

/* The checksums of every backup an incremental or differential one builds
 * on: a verify that passed says the backup can be restored, and it cannot
 * be without them.  Their ids into rep's "chain", oldest first. */
static ops_code verify_chain(const ops_backup_ctx *ctx, const ops_manifest *m, cJSON *rep,
			     ops_error *err)
{
	ops_manifest **chain = NULL;
	size_t n = 0, i;
	cJSON *ids = cJSON_AddArrayToObject(rep, "chain"), *scratch = cJSON_CreateObject();
	ops_code rc = bk_chain_load(ctx, m, &chain, &n, err);

	for (i = 0; rc == OPS_OK && i < n; i++) {
		unsigned char key[OPS_CRYPT_KEY_LEN];
		int have = 0;
		bk_pass p;

		memset(&p, 0, sizeof p);
		cJSON_AddItemToArray(ids, cJSON_CreateString(chain[i]->id));
		if ((rc = bk_pass_key(ctx, chain[i], key, &have, err)) != OPS_OK)
			break;
		p.ctx = ctx;
		p.m = chain[i];
		p.report = scratch;
		p.mode = BK_PASS_CHECKSUMS;
		p.dbs = cJSON_AddArrayToObject(scratch, chain[i]->id);
		rc = bk_pass_run(&p, have ? key : NULL, err);
		bk_pass_end(&p);
		if (rc == OPS_OK && p.failures) {
			*err = p.first;
			rc = err->code == OPS_OK ? OPS_EFAIL : err->code;
		}
		if (rc != OPS_OK && rc != OPS_EINTR)
			ops_error_prefix(err, "backup %s builds on %s", m->id, chain[i]->id);
	}
	cJSON_Delete(scratch);
	bk_chain_free(chain, n);
	return rc;
}

ops_code ops_backup_verify(const ops_backup_ctx *ctx, const ops_verify_opts *o,
			   cJSON **report, ops_error *err)
{
	ops_manifest *m = NULL;
	char *latest = NULL;
	unsigned char key[OPS_CRYPT_KEY_LEN];
	int have = 0;
	bk_pass p;
	ops_code rc;
	cJSON *rep;
	double t0 = ops_clock();

	*report = NULL;
	memset(&p, 0, sizeof p);
	if (!o->id && (rc = ops_backup_latest(ctx, &latest, err)) != OPS_OK)
		return rc;
	rc = bk_pass_load(ctx, o->id ? o->id : latest, &m, err);
	free(latest);
	if (rc != OPS_OK)
		return rc;
	rep = cJSON_CreateObject();
	*report = rep;
	cJSON_AddStringToObject(rep, "id", m->id);
	cJSON_AddStringToObject(rep, "check", o->checksums_only ? "checksums"
				: "checksums and test restore");
	if ((rc = bk_pass_key(ctx, m, key, &have, err)) != OPS_OK)
		goto out;
	p.ctx = ctx;
	p.m = m;
	p.report = rep;
	p.mode = o->checksums_only || (m->method && strcmp(m->method, "physical") == 0)
		? BK_PASS_CHECKSUMS : BK_PASS_VERIFY;
	p.temp_db = o->temp_db ? o->temp_db
		    : ops_config_get(ctx->run->cfg, "backup.verify_temp_db");
	p.keep_temp = o->keep_temp;
	p.dbs = cJSON_AddArrayToObject(rep, "databases");
	if (p.mode == BK_PASS_VERIFY && !temp_name_ok(p.temp_db)) {
		rc = ops_error_set(err, OPS_EUSAGE, "bad temporary database name '%s' "
				   "(lowercase letters, digits and _)", p.temp_db);
		goto out;
	}
	rc = bk_pass_run(&p, have ? key : NULL, err);
	bk_pass_end(&p);
	if (rc == OPS_OK && p.failures) {
		*err = p.first;
		rc = err->code == OPS_OK ? OPS_EFAIL : err->code;
	}
	/* An incremental backup restores only with the backups it builds on. */
	if (rc == OPS_OK && m->prior)
		rc = verify_chain(ctx, m, rep, err);
	cJSON_AddNumberToObject(rep, "members_checked", (double)m->nfiles);
	cJSON_AddNumberToObject(rep, "read_bytes", (double)ops_manifest_size(m));
	cJSON_AddNumberToObject(rep, "duration_seconds", ops_clock() - t0);
	if (rc == OPS_OK && p.mode == BK_PASS_VERIFY)
		bk_report_rto(rep, ops_clock() - t0, p.restored_bytes);
	/* An interrupted verify found nothing either way. */
	if (!ops_cancelled())
		rc = record_verdict(ctx, m, rc, err);
	/* At the top the front end's envelope says it again; nested in create
	 * --verify and s3-verify this is the verify's own outcome. */
	cJSON_AddStringToObject(rep, "status", rc == OPS_OK ? "ok" : "failed");
out:
	ops_manifest_free(m);
	return rc;
}

ops_code ops_backup_s3_verify(const ops_backup_ctx *ctx, cJSON **report, ops_error *err)
{
	ops_verify_opts vo = {0};
	cJSON *rep, *vrep = NULL;
	char *newest = NULL;
	int enabled = 0;
	ops_code rc;

	*report = NULL;
	rc = ops_store_s3_versioning(ctx->store, &enabled, err);
	if (rc != OPS_OK)
		return rc;
	rep = cJSON_CreateObject();
	*report = rep;
	cJSON_AddStringToObject(rep, "store", ops_store_describe(ctx->store));
	cJSON_AddStringToObject(rep, "versioning", enabled ? "enabled" : "disabled");
	vo.checksums_only = 1;
	/* The newest backup whatever its last verdict: this is the re-check. */
	rc = ops_backup_newest(ctx, 0, &newest, err);
	vo.id = newest;
	if (rc == OPS_OK)
		rc = ops_backup_verify(ctx, &vo, &vrep, err);
	free(newest);
	if (vrep)
		cJSON_AddItemToObject(rep, "newest_backup", vrep);
	if (rc == OPS_OK && !enabled) {
		ops_error_set(err, OPS_EFAIL, "versioning is not enabled on %s; a deleted or "
			      "overwritten backup cannot be recovered",
			      ops_store_describe(ctx->store));
		ops_error_hint(err, "aws s3api put-bucket-versioning "
			       "--versioning-configuration Status=Enabled");
		rc = OPS_EFAIL;
	}
	return rc;
}
