/*
 * Schema migrations, guide 004's migrate_schema.sh made safe to re-run:
 * the .sql files of DIR/vVERSION in name order, each file in its own
 * transaction, each applied file recorded with its SHA-256 in
 * opsctl_schema_migrations so that a second run applies nothing twice and
 * notices a file edited after it was applied.  A cancelled run starts no
 * further file and rolls back the one in progress, which is then not
 * recorded.  It does not write migrations or take the backup the guide
 * takes first; `opsctl backup` does that.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "dbmaint/dbmaint_internal.h"
#include "opsmaint/clock.h"
#include "opsmaint/fileio.h"
#include "opsmaint/hash.h"
#include "opsmaint/log.h"

#define MIGRATION_MAX (64u << 20)

static int cmp_names(const void *a, const void *b)
{
	return strverscmp(*(char *const *)a, *(char *const *)b);
}

static ops_code list_files(const char *dir, char ***out, size_t *n, ops_error *err)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **v = NULL;
	size_t cnt = 0;

	*out = NULL;
	*n = 0;
	if (!d)
		return ops_error_errno(err, errno, "cannot read migration directory", dir);
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		char **nv;

		if (l < 5 || strcmp(e->d_name + l - 4, ".sql") != 0 || e->d_name[0] == '.')
			continue;
		nv = realloc(v, (cnt + 2) * sizeof *nv);
		if (!nv || !(nv[cnt] = strdup(e->d_name))) {
			closedir(d);
			if (nv)
				v = nv;
			while (cnt)
				free(v[--cnt]);
			free(v);
			return ops_error_oom(err);
		}
		v = nv;
		v[++cnt] = NULL;
	}
	closedir(d);
	if (cnt)
		qsort(v, cnt, sizeof *v, cmp_names);
	*out = v;
	*n = cnt;
	return OPS_OK;
}

/* One run over DIR/vVERSION on one database. */
struct migration {
	const ops_dbm_ctx *ctx;
	ops_db *db;
	const char *version;
	char vname[300];	/* "vVERSION", as files are shown */
	const char *table;	/* where applied files are recorded */
	const char *ph;		/* the parameter prefix, "$" or "?" */
};

/*
 * The SHA-256 recorded for file, in sha; "" when it was never applied.  On
 * a dry run the table may not exist yet, and then nothing was applied.
 */
static ops_code applied_sha(const struct migration *m, const char *file, char sha[65],
			    ops_error *err)
{
	const char *p[2] = {m->version, file};
	int dry = m->ctx->run->dry_run;
	ops_rows *rows = NULL;
	char sql[256];
	ops_code rc;

	sha[0] = '\0';
	snprintf(sql, sizeof sql, "SELECT sha256 FROM %s WHERE version = %s1 AND filename = %s2",
		 m->table, m->ph, m->ph);
	rc = ops_db_query(m->db, sql, 2, p, &rows, dry ? NULL : err);
	if (rc != OPS_OK)
		return dry ? OPS_OK : rc;
	if (ops_rows_count(rows) > 0 && ops_rows_value(rows, 0, 0))
		snprintf(sha, 65, "%s", ops_rows_value(rows, 0, 0));
	ops_rows_free(rows);
	return OPS_OK;
}

/*
 * After a failed or cancelled file: ROLLBACK, on a connection the
 * cancellation no longer reaches (db.h), so that the rollback itself is not
 * cut short; the failure becomes the run's error.
 */
static ops_code roll_back(const struct migration *m, const char *shown, ops_code rc,
			  cJSON *entry, ops_error *err)
{
	char msg[OPS_ERROR_MSG_MAX];

	snprintf(msg, sizeof msg, "%s", err->message);
	ops_db_set_cleanup(m->db);
	ops_db_exec(m->db, "ROLLBACK", NULL);
	if (ops_cancelled()) {
		cJSON_AddStringToObject(entry, "status", "rolled back");
		return ops_cancel_check(err);
	}
	cJSON_AddStringToObject(entry, "status", "failed");
	if (rc == OPS_EUNAVAIL)
		return rc;
	return ops_error_set(err, OPS_EFAIL, "migration '%s' failed: %s", shown, msg);
}

/*
 * Apply one file in its own transaction and record it in the same one: the
 * file is applied and recorded, or neither.
 */
static ops_code apply_one(const struct migration *m, const char *file, const char *shown,
			  const char *text, const char *sha, cJSON *entry, ops_error *err)
{
	char ms[32], when[OPS_TIME_ISO_SIZE], sql[256];
	const char *p[5] = {m->version, file, sha, when, ms};
	double t0 = ops_clock();
	time_t now;
	ops_rows *rows = NULL;
	ops_code rc;

	ops_log_info("running migration %s", shown);
	rc = ops_db_exec(m->db, "BEGIN", err);
	/* Polled once more: a request now would find the connection idle. */
	if (rc == OPS_OK)
		rc = ops_run_check_cancel(m->ctx->run, err);
	if (rc == OPS_OK)
		rc = ops_db_exec(m->db, text, err);
	/* A file with its own COMMIT or ROLLBACK has ended our transaction:
	 * what it did can no longer be undone as one, so stop loudly. */
	if (rc == OPS_OK && !ops_db_in_transaction(m->db)) {
		cJSON_AddStringToObject(entry, "status", "ended the transaction");
		rc = ops_error_set(err, OPS_EDATA, "migration '%s' ends opsctl's transaction with "
				   "its own COMMIT or ROLLBACK; check what it applied", shown);
		ops_error_hint(err, "remove BEGIN, COMMIT and ROLLBACK from migration files");
		return rc;
	}
	if (rc == OPS_OK) {
		snprintf(ms, sizeof ms, "%.0f", (ops_clock() - t0) * 1000);
		now = time(NULL);
		ops_time_iso(now, when);
		snprintf(sql, sizeof sql, "INSERT INTO %s VALUES (%s1, %s2, %s3, %s4, %s5)",
			 m->table, m->ph, m->ph, m->ph, m->ph, m->ph);
		rc = ops_db_query(m->db, sql, 5, p, &rows, err);
		ops_rows_free(rows);
	}
	if (rc == OPS_OK)
		rc = ops_db_exec(m->db, "COMMIT", err);
	if (rc != OPS_OK)
		return roll_back(m, shown, rc, entry, err);
	cJSON_AddStringToObject(entry, "status", "applied");
	return OPS_OK;
}

/* Read, hash and list one file; apply it unless it was applied before. */
static ops_code one_file(const struct migration *m, const char *vdir, const char *file,
			 cJSON *list, int *applied, int *skipped, ops_error *err)
{
	char *path = ops_path_join(vdir, file), *text = NULL, hex[65], sha[65], shown[600];
	size_t len = 0;
	struct stat st;
	cJSON *e;
	ops_code rc;

	snprintf(shown, sizeof shown, "%s/%s", m->vname, file);
	if (!path)
		return ops_error_oom(err);
	if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
		rc = ops_error_set(err, OPS_EDATA, "migration '%s' is not a regular file", shown);
		goto out;
	}
	if ((rc = ops_read_file(path, MIGRATION_MAX, &text, &len, err)) != OPS_OK)
		goto out;
	ops_sha256_hex(text, len, hex);
	e = cJSON_CreateObject();
	cJSON_AddStringToObject(e, "file", file);
	cJSON_AddStringToObject(e, "sha256", hex);
	cJSON_AddItemToArray(list, e);
	if ((rc = applied_sha(m, file, sha, err)) != OPS_OK)
		goto out;
	if (*sha && strcmp(sha, hex) != 0) {
		cJSON_AddStringToObject(e, "status", "changed");
		rc = ops_error_set(err, OPS_EDATA, "migration '%s' changed since it was applied",
				   shown);
		ops_error_hint(err, "put changes in a new file or a new version");
	} else if (*sha) {
		cJSON_AddStringToObject(e, "status", "already applied");
		(*skipped)++;
	} else if (m->ctx->run->dry_run) {
		cJSON_AddStringToObject(e, "status", "pending");
	} else if ((rc = apply_one(m, file, shown, text, hex, e, err)) == OPS_OK) {
		(*applied)++;
	}
out:
	free(text);
	free(path);
	return rc;
}

/* Two migrations at once would interleave; the second waits for nothing. */
static ops_code lock_migrations(const struct migration *m, int *locked, ops_error *err)
{
	ops_rows *rows = NULL;
	ops_code rc;

	*locked = 0;
	if (ops_db_kind_of(m->db) != OPS_DB_POSTGRES)
		return OPS_OK;	/* SQLite's BEGIN ... COMMIT serialise writers */
	rc = ops_db_query(m->db, "SELECT pg_catalog.pg_try_advisory_lock("
			  "pg_catalog.hashtext('opsctl_schema_migrations'))", 0, NULL, &rows, err);
	if (rc != OPS_OK)
		return rc;
	*locked = ops_rows_value(rows, 0, 0) && strcmp(ops_rows_value(rows, 0, 0), "t") == 0;
	ops_rows_free(rows);
	if (!*locked)
		return ops_error_set(err, OPS_ELOCKED,
				     "another migration is running on database '%s'",
				     ops_db_name(m->db));
	return OPS_OK;
}

ops_code ops_dbm_migrate_run(const ops_dbm_ctx *ctx, ops_db *db, const char *version,
			     const char *dir, cJSON *report, ops_error *err)
{
	struct migration m = {.ctx = ctx, .db = db, .version = version,
			      .ph = ops_db_param_prefix(db)};
	char *vdir = NULL, **files = NULL, sql[512];
	size_t nfiles = 0, i;
	cJSON *list;
	ops_code rc = OPS_OK;
	int locked = 0, applied = 0, skipped = 0;
	struct stat st;

	m.table = ops_db_kind_of(db) == OPS_DB_POSTGRES ? "public.opsctl_schema_migrations"
							: "opsctl_schema_migrations";
	snprintf(m.vname, sizeof m.vname, "v%s", version);
	vdir = ops_path_join(dir, m.vname);
	if (!vdir)
		return ops_error_oom(err);
	if (stat(vdir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		rc = ops_error_set(err, OPS_EFAIL, "no migration scripts for version '%s' in '%s'",
				   version, vdir);
		goto out;
	}
	if ((rc = list_files(vdir, &files, &nfiles, err)) != OPS_OK)
		goto out;
	cJSON_AddStringToObject(report, "version", version);
	cJSON_AddStringToObject(report, "directory", vdir);
	list = cJSON_AddArrayToObject(report, "files");
	if ((rc = lock_migrations(&m, &locked, err)) != OPS_OK)
		goto out;
	snprintf(sql, sizeof sql,
		 "CREATE TABLE IF NOT EXISTS %s (version text NOT NULL, filename text NOT NULL, "
		 "sha256 text NOT NULL, applied_at text NOT NULL, duration_ms bigint NOT NULL, "
		 "PRIMARY KEY (version, filename))", m.table);
	if (!ctx->run->dry_run && (rc = ops_db_exec(db, sql, err)) != OPS_OK)
		goto out;
	/* A cancelled run starts no further file; the one running is rolled back. */
	for (i = 0; i < nfiles && rc == OPS_OK; i++)
		if ((rc = ops_run_check_cancel(ctx->run, err)) == OPS_OK)
			rc = one_file(&m, vdir, files[i], list, &applied, &skipped, err);
out:
	if (locked)
		ops_db_exec(db, "SELECT pg_catalog.pg_advisory_unlock("
			    "pg_catalog.hashtext('opsctl_schema_migrations'))", NULL);
	cJSON_AddNumberToObject(report, "applied", applied);
	cJSON_AddNumberToObject(report, "already_applied", skipped);
	for (i = 0; files && files[i]; i++)
		free(files[i]);
	free(files);
	free(vdir);
	return rc;
}
