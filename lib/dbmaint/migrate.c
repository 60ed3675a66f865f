/*
 * Schema migrations, guide 004's migrate_schema.sh made safe to re-run:
 * the .sql files of DIR/vVERSION in name order, each file in its own transaction, each
 * applied file recorded with its SHA-256 in opsctl_schema_migrations so that
 * a second run applies nothing twice and notices a file edited after it was
 * applied.  It does not write migrations or take the backup the guide takes
 * first; `opsctl backup` does that.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "dbmaint/dbmaint_internal.h"
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

ops_code ops_dbm_migrate_run(const ops_dbm_ctx *ctx, ops_db *db, const char *version,
			     const char *dir, cJSON *report, ops_error *err)
{
	int pg = ops_db_kind_of(db) == OPS_DB_POSTGRES;
	const char *ph = ops_db_param_prefix(db);
	const char *table = pg ? "public.opsctl_schema_migrations" : "opsctl_schema_migrations";
	char *vdir = NULL, **files = NULL, vname[300], sql[1024];
	size_t nfiles = 0, i;
	cJSON *list;
	ops_code rc = OPS_OK;
	int locked = 0, applied = 0, skipped = 0;
	struct stat st;

	snprintf(vname, sizeof vname, "v%s", version);
	vdir = ops_path_join(dir, vname);
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

	/* Two migrations at once would interleave; the second waits for nothing. */
	if (pg) {
		ops_rows *rows = NULL;

		rc = ops_db_query(db, "SELECT pg_catalog.pg_try_advisory_lock(pg_catalog.hashtext('opsctl_schema_migrations'))",
				  0, NULL, &rows, err);
		if (rc != OPS_OK)
			goto out;
		locked = ops_rows_value(rows, 0, 0) && strcmp(ops_rows_value(rows, 0, 0), "t") == 0;
		ops_rows_free(rows);
		if (!locked) {
			rc = ops_error_set(err, OPS_ELOCKED, "another migration is running on database '%s'",
					   ops_db_name(db));
			goto out;
		}
	}
	snprintf(sql, sizeof sql,
		 "CREATE TABLE IF NOT EXISTS %s (version text NOT NULL, filename text NOT NULL, "
		 "sha256 text NOT NULL, applied_at text NOT NULL, duration_ms bigint NOT NULL, "
		 "PRIMARY KEY (version, filename))", table);
	if (!ctx->run->dry_run && (rc = ops_db_exec(db, sql, err)) != OPS_OK)
		goto out;

	for (i = 0; i < nfiles; i++) {
		char *path = ops_path_join(vdir, files[i]), *text = NULL, hex[65], shown[600];
		const char *params[5];
		ops_rows *rows = NULL;
		size_t len = 0;
		cJSON *e;
		struct timespec t0, t1;
		char ms[32], when[40];
		time_t now;
		struct tm tm;

		snprintf(shown, sizeof shown, "%s/%s", vname, files[i]);
		if (!path) {
			rc = ops_error_oom(err);
			goto out;
		}
		if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
			free(path);
			rc = ops_error_set(err, OPS_EDATA, "migration '%s' is not a regular file", shown);
			goto out;
		}
		rc = ops_read_file(path, MIGRATION_MAX, &text, &len, err);
		free(path);
		if (rc != OPS_OK)
			goto out;
		ops_sha256_hex(text, len, hex);
		e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "file", files[i]);
		cJSON_AddStringToObject(e, "sha256", hex);
		cJSON_AddItemToArray(list, e);

		params[0] = version;
		params[1] = files[i];
		snprintf(sql, sizeof sql, "SELECT sha256 FROM %s WHERE version = %s1 AND filename = %s2",
			 table, ph, ph);
		rows = NULL;
		if (ctx->run->dry_run) {
			/* The table may not exist yet on a dry run. */
			if (ops_db_query(db, sql, 2, params, &rows, NULL) != OPS_OK)
				rows = NULL;
		} else if ((rc = ops_db_query(db, sql, 2, params, &rows, err)) != OPS_OK) {
			free(text);
			goto out;
		}
		if (ops_rows_count(rows) > 0) {
			int same = strcmp(ops_rows_value(rows, 0, 0), hex) == 0;

			ops_rows_free(rows);
			free(text);
			if (!same) {
				cJSON_AddStringToObject(e, "status", "changed");
				rc = ops_error_set(err, OPS_EDATA,
						   "migration '%s' changed since it was applied", shown);
				ops_error_hint(err, "put changes in a new file or a new version");
				goto out;
			}
			cJSON_AddStringToObject(e, "status", "already applied");
			skipped++;
			continue;
		}
		ops_rows_free(rows);
		if (ctx->run->dry_run) {
			cJSON_AddStringToObject(e, "status", "pending");
			free(text);
			continue;
		}
		ops_log_info("running migration %s", shown);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		rc = ops_db_exec(db, "BEGIN", err);
		if (rc == OPS_OK)
			rc = ops_db_exec(db, text, err);
		free(text);
		/* A file with its own COMMIT or ROLLBACK has ended our transaction:
		 * what it did can no longer be undone as one, so stop loudly. */
		if (rc == OPS_OK && !ops_db_in_transaction(db)) {
			cJSON_AddStringToObject(e, "status", "ended the transaction");
			rc = ops_error_set(err, OPS_EDATA,
					   "migration '%s' ends opsctl's transaction with its own COMMIT or ROLLBACK; "
					   "check what it applied", shown);
			ops_error_hint(err, "remove BEGIN, COMMIT and ROLLBACK from migration files");
			goto out;
		}
		if (rc == OPS_OK) {
			clock_gettime(CLOCK_MONOTONIC, &t1);
			snprintf(ms, sizeof ms, "%ld", (long)((t1.tv_sec - t0.tv_sec) * 1000 +
							     (t1.tv_nsec - t0.tv_nsec) / 1000000));
			now = time(NULL);
			gmtime_r(&now, &tm);
			strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
			params[2] = hex;
			params[3] = when;
			params[4] = ms;
			/* The columns' types convert the text values on both engines. */
			snprintf(sql, sizeof sql, "INSERT INTO %s VALUES (%s1, %s2, %s3, %s4, %s5)",
				 table, ph, ph, ph, ph, ph);
			rc = ops_db_query(db, sql, 5, params, &rows, err);
			ops_rows_free(rows);
			rows = NULL;
		}
		if (rc == OPS_OK)
			rc = ops_db_exec(db, "COMMIT", err);
		if (rc != OPS_OK) {
			char msg[OPS_ERROR_MSG_MAX];

			snprintf(msg, sizeof msg, "%s", err->message);
			ops_db_exec(db, "ROLLBACK", NULL);
			cJSON_AddStringToObject(e, "status", "failed");
			if (rc != OPS_EUNAVAIL)
				rc = ops_error_set(err, OPS_EFAIL, "migration '%s' failed: %s", shown, msg);
			goto out;
		}
		cJSON_AddStringToObject(e, "status", "applied");
		applied++;
	}
out:
	if (locked)
		ops_db_exec(db, "SELECT pg_catalog.pg_advisory_unlock(pg_catalog.hashtext('opsctl_schema_migrations'))", NULL);
	cJSON_AddNumberToObject(report, "applied", applied);
	cJSON_AddNumberToObject(report, "already_applied", skipped);
	for (i = 0; files && files[i]; i++)
		free(files[i]);
	free(files);
	free(vdir);
	return rc;
}
