/*
 * restore_backup.sh, made safe, reading the archive once: each chosen
 * database is restored into a copy of its own (the pass in backup_verify.c,
 * restoring into opsctl_restore_PID[_N]) while every digest is checked, and
 * the copies replace the old databases only once the whole archive has
 * matched (bk_pass_commit); SQLite files are written beside the original
 * and renamed over it.  A failed or interrupted restore loses nothing: the
 * old database or file is as it was.
 *
 * It never runs outside the maintenance window without --force, and never
 * writes stored files (files/) over the live configuration: they go to a
 * directory for review.  With --as it touches nothing that exists: the one
 * database goes to a new database or file, so it needs no window.
 *
 * The manifest is checked before it is trusted, but the checksum proves
 * only that nobody changed it without also resealing it: a SQLite path it
 * names is a restore target only when the configuration names it too.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "backup/backup_internal.h"
#include "opsmaint/fileio.h"
#include "opsmaint/log.h"

/*
 * Put the restored copy in the place of target with no moment in which
 * neither exists: in one transaction target is renamed aside (marked as the
 * old copy) and the copy renamed to its name, so a failure, a cancel or a
 * kill before COMMIT leaves target as it was and the copy for the caller to
 * drop.  Only then is the old one dropped; if that fails, or never happens
 * (a second signal, a crash), it stays as opsctl_old_PID, which this run or
 * the next one reports with the commands that put it back.
 */
static ops_code swap_into_place(bk_pass *p, const char *copy, const char *target, cJSON *rep,
				ops_error *err)
{
	ops_db *db = p->admin;
	char aside[64], mark[512], *comment = NULL, *old = NULL;
	int exists = 0;
	ops_error e2;
	ops_code rc;

	snprintf(aside, sizeof aside, "opsctl_old_%ld", (long)getpid());
	bk_mark(BK_MARK_OLD, mark, sizeof mark);
	if (asprintf(&old, "%s of database %s", mark, target) < 0)
		return ops_error_oom(err);
	rc = bk_db_comment_get(db, target, &exists, &comment, err);
	/* Whoever found the fresh copy (a monitor) would block its rename. */
	if (rc == OPS_OK)
		rc = bk_end_sessions(db, copy, err);
	if (rc == OPS_OK && exists && p->ctx->run->force)
		rc = bk_end_sessions(db, target, err);
	if (rc == OPS_OK)
		rc = ops_db_exec(db, "BEGIN", err);
	if (rc != OPS_OK)
		goto out;
	if (exists) {
		rc = bk_admin_exec(db, "ALTER DATABASE %s RENAME TO %s", target, aside, err);
		if (rc == OPS_OK)
			rc = bk_db_comment_set(db, aside, old, err);
	}
	if (rc == OPS_OK)
		rc = bk_admin_exec(db, "ALTER DATABASE %s RENAME TO %s", copy, target, err);
	/* The restored database has the old one's comment, not our mark. */
	if (rc == OPS_OK)
		rc = bk_db_comment_set(db, target, comment, err);
	if (rc == OPS_OK)
		rc = ops_db_exec(db, "COMMIT", err);
	if (rc != OPS_OK) {
		ops_db_exec(db, "ROLLBACK", &e2);
		goto out;
	}
	if (exists && bk_tempdb_drop(db, aside, &e2) != OPS_OK) {
		ops_log_warn("restored; the old database is kept as '%s': %s", aside, e2.message);
		cJSON_AddStringToObject(rep, "old_database_kept_as", aside);
	}
out:
	free(comment);
	free(old);
	return rc;
}

/*
 * Before a restored SQLite file replaces dbpath: the live database's WAL is
 * checkpointed and truncated, or SQLite would replay the old file's pending
 * changes onto the restored one; a WAL that cannot be emptied (the
 * database is in use) stops the restore.  The copy takes the live file's
 * mode and owner, so the application can still open it.
 */
static ops_code sqlite_make_room(const char *dbpath, const char *tmp, ops_error *err)
{
	struct stat st, wst;
	char wal[4096];
	sqlite3 *live = NULL;
	int r = SQLITE_OK;

	if (stat(dbpath, &st) != 0)
		return OPS_OK;	/* nothing there to replace */
	snprintf(wal, sizeof wal, "%s-wal", dbpath);
	/* A statement, not sqlite3_wal_checkpoint_v2: the file is opened
	 * lazily, and before it is the call finds no WAL to checkpoint. */
	if (sqlite3_open_v2(dbpath, &live, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK) {
		sqlite3_stmt *ck = NULL;

		r = sqlite3_prepare_v2(live, "PRAGMA wal_checkpoint(TRUNCATE)", -1, &ck, NULL);
		if (r == SQLITE_OK)
			r = sqlite3_step(ck) == SQLITE_ROW && sqlite3_column_int(ck, 0) == 0
				? SQLITE_OK : SQLITE_BUSY;
		sqlite3_finalize(ck);
	}
	sqlite3_close(live);
	if (r != SQLITE_OK || (stat(wal, &wst) == 0 && wst.st_size > 0))
		return ops_error_set(err, OPS_EFAIL, "%s is in use: its write-ahead log could "
				     "not be emptied; nothing was replaced", dbpath);
	if (chmod(tmp, st.st_mode & 07777) != 0 ||
	    (geteuid() == 0 && chown(tmp, st.st_uid, st.st_gid) != 0))
		return ops_error_errno(err, errno, "cannot give the restored copy the mode and "
				       "owner of", dbpath);
	return OPS_OK;
}

/* A checked SQLite copy renamed over dbpath, and the rename made durable. */
static ops_code sqlite_put(bk_pass *p, const char *copy, const char *dbpath, ops_error *err)
{
	ops_code rc = sqlite_make_room(dbpath, copy, err);
	char *dir;

	(void)p;
	if (rc != OPS_OK)
		return rc;
	if (rename(copy, dbpath) != 0)
		return ops_error_errno(err, errno, "cannot put the restored copy in place at",
				       dbpath);
	dir = ops_path_dir(dbpath);
	if (!dir)
		return ops_error_oom(err);
	rc = ops_fsync_dir(dir, err);
	free(dir);
	return rc;
}

/*
 * --as: a copy restored as opsctl_restore_PID becomes the new database.
 * Renamed and unmarked in one transaction: a kill in between leaves the
 * marked copy, which the next run's sweep drops, never a new database
 * carrying a temporary mark.  A database of that name made since the
 * check makes the rename fail, and the copy is dropped.
 */
static ops_code rename_as(bk_pass *p, const char *copy, const char *target, cJSON *rep,
			  ops_error *err)
{
	ops_db *db = p->admin;
	char note[512];
	ops_error e2;
	ops_code rc;

	snprintf(note, sizeof note, "restored by opsctl from backup %s (database %s)",
		 p->m->id, target);
	rc = bk_end_sessions(db, copy, err);
	if (rc == OPS_OK)
		rc = ops_db_exec(db, "BEGIN", err);
	if (rc != OPS_OK)
		return rc;
	rc = bk_admin_exec(db, "ALTER DATABASE %s RENAME TO %s", copy, p->as, err);
	if (rc == OPS_OK)
		rc = bk_db_comment_set(db, p->as, note, err);
	if (rc == OPS_OK)
		rc = ops_db_exec(db, "COMMIT", err);
	if (rc != OPS_OK) {
		ops_db_exec(db, "ROLLBACK", &e2);
		return rc;
	}
	cJSON_AddStringToObject(rep, "restored_as", p->as);
	return OPS_OK;
}

/* --as for SQLite: the checked copy linked to its new name, which fails
 * rather than replace a file that appeared since the check. */
static ops_code sqlite_put_as(bk_pass *p, const char *copy, const char *dbpath, ops_error *err)
{
	char *dir;
	ops_code rc;

	(void)dbpath;
	if (link(copy, p->as) != 0) {
		if (errno == EEXIST)
			return ops_error_set(err, OPS_EUSAGE, "'%s' exists; --as restores into a "
					     "new file only", p->as);
		return ops_error_errno(err, errno, "cannot write the restored copy to", p->as);
	}
	dir = ops_path_dir(p->as);
	if (!dir)
		return ops_error_oom(err);
	rc = ops_fsync_dir(dir, err);
	free(dir);
	return rc;
}

/* Every database the caller chose is in the backup. */
static ops_code chosen_exist(const ops_manifest *m, const char *id, char *const *databases,
			     ops_error *err)
{
	size_t i, j;

	for (i = 0; databases && databases[i]; i++) {
		int found = 0;

		for (j = 0; m->databases && m->databases[j]; j++)
			found |= strcmp(m->databases[j], databases[i]) == 0;
		if (!found)
			return ops_error_set(err, OPS_EUSAGE, "backup '%s' holds no database '%s'",
					     id, databases[i]);
	}
	return OPS_OK;
}

static int chosen(char *const *databases, const char *db)
{
	size_t i;

	for (i = 0; databases && databases[i]; i++)
		if (strcmp(databases[i], db) == 0)
			return 1;
	return !databases;
}

/* Whether SQLite paths a and b name one file: the same inode, or, for a
 * file not there (yet), the same name in the same directory.  Anything
 * that cannot be looked at is not the same. */
static int same_file(const char *a, const char *b)
{
	struct stat sa, sb;
	const char *ba = strrchr(a, '/'), *bb = strrchr(b, '/');
	char *da, *db;
	int same;

	if (strcmp(a, b) == 0)
		return 1;
	if (stat(a, &sa) == 0 && stat(b, &sb) == 0)
		return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
	if (strcmp(ba ? ba + 1 : a, bb ? bb + 1 : b) != 0)
		return 0;
	da = ops_path_dir(a);
	db = ops_path_dir(b);
	same = da && db && stat(da, &sa) == 0 && stat(db, &sb) == 0 &&
	       sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
	free(da);
	free(db);
	return same;
}

/*
 * The SQLite files a restore would write over are the manifest's paths.  A
 * resealed manifest could name any file the user can write, so each is a
 * target only when the configuration's backup databases name it, and never
 * when protected; --as, the operator's own choice, needs neither.
 */
static ops_code sqlite_targets_trusted(const ops_backup_ctx *ctx, const ops_manifest *m,
				       char *const *databases, ops_error *err)
{
	const ops_config *cfg = ctx->run->cfg;
	char **prot = ops_config_list(cfg, "general.protected_paths");
	char **conf = NULL;
	ops_error ignored;
	ops_code rc = OPS_OK;
	size_t i, j;

	for (i = 0; rc == OPS_OK && m->databases && m->databases[i]; i++) {
		const char *db = m->databases[i];
		int named = 0;

		if (!chosen(databases, db) || !bk_db_is_sqlite(m, db))
			continue;
		if (!conf)
			conf = bk_backup_targets(cfg, &ignored);
		for (j = 0; !named && conf && conf[j]; j++) {
			ops_db_kind kind;
			char *path = NULL;

			if (ops_db_target_kind(conf[j], &kind, &path, &ignored) == OPS_OK &&
			    kind == OPS_DB_SQLITE)
				named = same_file(db, path);
			free(path);
		}
		if (!named) {
			rc = ops_error_set(err, OPS_EDATA, "backup '%s' would restore to '%s', "
					   "which no configured backup database names", m->id, db);
			ops_error_hint(err, "restore it to a file you name: -d '%s' --as PATH", db);
		} else if (ops_path_is_protected(db, prot)) {
			rc = ops_error_set(err, OPS_EDATA, "backup '%s' would restore to '%s', "
					   "a protected path", m->id, db);
			ops_error_hint(err, "restore it to a file you name: -d '%s' --as PATH", db);
		}
	}
	ops_strv_free(conf);
	ops_strv_free(prot);
	return rc;
}

/* A target of --as for database db: a new PostgreSQL database or file. */
static ops_code as_target_free(const ops_backup_ctx *ctx, const char *db, int sqlite,
			       const char *as, ops_error *err)
{
	char **prot;
	struct stat st;
	ops_db *admin = NULL;
	ops_db_kind kind;
	char *comment = NULL;
	int exists = 0, prot_hit;
	ops_code rc;

	if (sqlite) {
		prot = ops_config_list(ctx->run->cfg, "general.protected_paths");
		prot_hit = ops_path_is_protected(as, prot);
		ops_strv_free(prot);
		if (prot_hit)
			return ops_error_set(err, OPS_EPERM, "--as %s is a protected path; not "
					     "writing it", as);
		if (lstat(as, &st) == 0)
			return ops_error_set(err, OPS_EUSAGE, "'%s' exists; --as restores into a "
					     "new file only", as);
		return OPS_OK;
	}
	if (!*as || strlen(as) > 63)
		return ops_error_set(err, OPS_EUSAGE, "--as '%s' is not a PostgreSQL database "
				     "name (1 to 63 bytes)", as);
	if (ops_db_target_kind(as, &kind, NULL, NULL) == OPS_OK && kind == OPS_DB_SQLITE)
		return ops_error_set(err, OPS_EUSAGE, "--as %s is a file; '%s' is a PostgreSQL "
				     "database, restored into a new database NAME", as, db);
	if ((rc = bk_admin_open(ctx->run->cfg, &admin, err)) != OPS_OK)
		return rc;
	rc = bk_db_comment_get(admin, as, &exists, &comment, err);
	free(comment);
	ops_db_close(admin);
	if (rc == OPS_OK && exists)
		rc = ops_error_set(err, OPS_EUSAGE, "database '%s' exists; --as restores into a "
				   "new database only", as);
	return rc;
}

/* --as takes one database: the one -d chose, or the backup's only one. */
static ops_code as_database(const ops_manifest *m, const char *id, char *const *databases,
			    const char **db, ops_error *err)
{
	char *const *from = databases ? databases : m->databases;
	size_t n = ops_strv_len(from);

	*db = n == 1 ? from[0] : NULL;
	if (n == 1)
		return OPS_OK;
	ops_error_set(err, OPS_EUSAGE, "--as restores one database; %s %zu",
		      databases ? "-d chose" : "the backup holds", n);
	ops_error_hint(err, "choose it with -d NAME (backup %s: `opsctl backup list`)", id);
	return OPS_EUSAGE;
}

/*
 * The one pass over the archive: every database restored into a copy and
 * every file staged while the digests are checked, and all of it put in
 * place only once the last digest, the object's, has matched.  A pass that
 * fails has put nothing in place; a counted failure (one database) becomes
 * the error.
 */
static ops_code run_pass(bk_pass *p, const unsigned char *key, ops_error *err)
{
	ops_code rc = bk_pass_run(p, key, err);

	if (rc == OPS_OK)
		bk_pass_commit(p);
	else if (rc != OPS_EINTR)
		ops_error_prefix(err, "nothing was restored");
	bk_pass_end(p);
	if (rc == OPS_OK && p->failures) {
		*err = p->first;
		rc = err->code == OPS_OK ? OPS_EFAIL : err->code;
	}
	return rc;
}

/*
 * --dry-run: where each database would go and whether that replaces
 * something, what goes where else, and whether the window would let the
 * real run through.  The archive is not read: that is verify's work.
 */
static ops_code plan_restore(const ops_backup_ctx *ctx, const ops_manifest *m,
			     char *const *databases, const char *as, const char *restore_dir,
			     cJSON *rep, ops_error *err)
{
	cJSON *list = cJSON_AddArrayToObject(rep, "databases");
	ops_db *admin = NULL;
	ops_code rc = OPS_OK;
	size_t i, files = 0;

	for (i = 0; rc == OPS_OK && m->databases && m->databases[i]; i++) {
		const char *db = m->databases[i];
		int sqlite = bk_db_is_sqlite(m, db), exists = 0;
		cJSON *d;

		if (!chosen(databases, db))
			continue;
		d = cJSON_CreateObject();
		cJSON_AddItemToArray(list, d);
		cJSON_AddStringToObject(d, "database", db);
		cJSON_AddStringToObject(d, "engine", sqlite ? "sqlite" : "postgresql");
		cJSON_AddStringToObject(d, "target", as ? as : db);
		if (as) {
			exists = 0;	/* checked already: a new one */
		} else if (sqlite) {
			exists = access(db, F_OK) == 0;
		} else {
			char *comment = NULL;

			if (!admin)
				rc = bk_admin_open(ctx->run->cfg, &admin, err);
			if (rc == OPS_OK)
				rc = bk_db_comment_get(admin, db, &exists, &comment, err);
			free(comment);
		}
		cJSON_AddStringToObject(d, "action", exists ? "replace" : "create");
	}
	ops_db_close(admin);
	for (i = 0; i < m->nfiles; i++)
		files += strncmp(m->files[i].path, "files/", 6) == 0;
	if (rc == OPS_OK && files && restore_dir)
		cJSON_AddStringToObject(rep, "files_dir", restore_dir);
	if (rc == OPS_OK && as)
		cJSON_AddStringToObject(rep, "window", "not needed (--as replaces nothing)");
	else if (rc == OPS_OK)
		ops_run_would_permit(ctx->run, "restore", rep);
	return rc;
}

ops_code ops_backup_restore(const ops_backup_ctx *ctx, const ops_restore_opts *o,
			    cJSON **report, ops_error *err)
{
	ops_manifest *m = NULL;
	unsigned char key[OPS_CRYPT_KEY_LEN];
	int have = 0;
	bk_pass p;
	char q[512], sub[300], *restore_dir = NULL, *latest = NULL, *as = NULL;
	char *const *databases = o->databases;
	const char *id = o->id, *as_db = NULL;
	ops_code rc;
	cJSON *rep = NULL;
	double t0;

	*report = NULL;
	memset(&p, 0, sizeof p);
	/* "latest", as verify's default: the newest complete, good backup.
	 * No backup id can be spelt so (they begin with the date). */
	if (strcmp(id, "latest") == 0) {
		if ((rc = ops_backup_latest(ctx, &latest, err)) != OPS_OK)
			return rc;
		id = latest;
	}
	rc = bk_pass_load(ctx, id, &m, err);
	if (rc != OPS_OK) {
		free(latest);
		return rc;
	}
	/* A physical backup is a whole cluster: it goes into a data directory
	 * of its own (backup_pitr.c), never over databases. */
	if (bk_pitr_asked(o) || (m->method && strcmp(m->method, "physical") == 0)) {
		rc = bk_pitr_restore(ctx, o, m, report, err);
		goto out;
	}
	if ((rc = chosen_exist(m, id, databases, err)) != OPS_OK)
		goto out;
	if (o->as) {
		int sqlite;

		if ((rc = as_database(m, id, databases, &as_db, err)) != OPS_OK)
			goto out;
		sqlite = bk_db_is_sqlite(m, as_db);
		/* A file may be given as a target is: sqlite:PATH. */
		as = strdup(sqlite && strncmp(o->as, "sqlite:", 7) == 0 ? o->as + 7 : o->as);
		if (!as) {
			rc = ops_error_oom(err);
			goto out;
		}
		if ((rc = as_target_free(ctx, as_db, sqlite, as, err)) != OPS_OK)
			goto out;
	} else if ((rc = sqlite_targets_trusted(ctx, m, databases, err)) != OPS_OK) {
		goto out;
	}
	rep = cJSON_CreateObject();
	*report = rep;
	cJSON_AddStringToObject(rep, "id", id);
	if (as) {
		cJSON_AddStringToObject(rep, "database", as_db);
		cJSON_AddStringToObject(rep, "restored_as", as);
	}
	if ((rc = bk_pass_key(ctx, m, key, &have, err)) != OPS_OK)
		goto out;
	snprintf(sub, sizeof sub, "restore/%s", id);
	/* --as brings back one database; the stored files are only checked. */
	if (!as)
		restore_dir = ops_path_join(ops_config_get(ctx->run->cfg, "general.state_dir"),
					    sub);
	if (ctx->run->dry_run) {
		cJSON_AddBoolToObject(rep, "dry_run", 1);
		rc = plan_restore(ctx, m, databases, as, restore_dir, rep, err);
		goto out;
	}
	if (!as) {
		snprintf(q, sizeof q, "Replace %s with the contents of backup %s?",
			 databases ? "the chosen databases" : "every database in it", id);
		if ((rc = ops_run_permit(ctx->run, "restore", q, err)) != OPS_OK)
			goto out;
	}
	t0 = ops_clock();	/* the restore time: not the prompt's */
	p.ctx = ctx;
	p.m = m;
	p.mode = BK_PASS_RESTORE;
	p.report = rep;
	p.only = databases;
	p.restore_dir = restore_dir;
	p.as = as;
	p.pg_put = as ? rename_as : swap_into_place;
	p.sqlite_put = as ? sqlite_put_as : sqlite_put;
	p.dbs = cJSON_AddArrayToObject(rep, "databases");
	rc = run_pass(&p, have ? key : NULL, err);
	if (rc == OPS_OK)
		bk_report_rto(rep, ops_clock() - t0, p.restored_bytes);
	if (restore_dir && access(restore_dir, F_OK) == 0)
		cJSON_AddStringToObject(rep, "files_dir", restore_dir);
out:
	free(restore_dir);
	ops_manifest_free(m);
	free(latest);
	free(as);
	return rc;
}
