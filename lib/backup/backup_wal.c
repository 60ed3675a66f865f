/*
 * WAL archiving: wal-push as archive_command, wal-fetch as restore_command,
 * and the `--type wal` step of backup-database.sh.  A segment is stored as
 * wal/NAME.zst (a bare zstd frame that stock `zstd -d` opens, core/archive's
 * ops_archive_zstd_frame) and then wal/NAME.json recording both digests;
 * the record is written last, so a segment without one was never
 * acknowledged and is pushed again by PostgreSQL's retry.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup/backup_internal.h"
#include "opsmaint/archive.h"
#include "opsmaint/db.h"
#include "opsmaint/fileio.h"
#include "opsmaint/json.h"
#include "opsmaint/log.h"

#define SEGMENT_MAX (1u << 30)

/* 000000010000000000000003, 00000002.history, ...0003.00000028.backup, ...partial */
static int wal_name_ok(const char *name)
{
	size_t i, hex = 0;

	for (i = 0; name[i] && i < 24; i++)
		if ((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'A' && name[i] <= 'F'))
			hex++;
	if (hex == 24 && (name[24] == '\0' || strcmp(name + 24, ".partial") == 0 ||
			  (name[24] == '.' && strstr(name + 25, ".backup"))))
		return ops_store_key_valid(name);
	return hex == 8 && strcmp(name + 8, ".history") == 0;
}

/* data compressed as one raw zstd frame into out. */
static ops_code compress_raw(const ops_config *cfg, const char *data, size_t len, bk_out *out,
			     ops_error *err)
{
	ops_code rc = ops_archive_zstd_frame(data, len,
					     (int)ops_config_int(cfg, "backup.compression_level"),
					     bk_out_sink, out, err);

	if (rc == OPS_EINTERNAL)
		ops_error_prefix(err, "WAL");
	return rc;
}

/* Where a fetched segment goes: hashed, then written to the temp file. */
struct fetch_sink {
	ops_sha256 *h;
	ops_afile *af;
};

static ops_code fetch_write(void *arg, const void *buf, size_t len, ops_error *err)
{
	struct fetch_sink *f = arg;

	ops_sha256_update(f->h, buf, len);
	return ops_afile_write(f->af, buf, len, err);
}

static ops_code record_key(const char *name, char *key, size_t len)
{
	snprintf(key, len, "wal/%s.json", name);
	return OPS_OK;
}

/* The stored record of a segment: *found 0 when there is none. */
static ops_code read_record(const ops_backup_ctx *ctx, const char *name, cJSON **rec, int *found,
			    ops_error *err)
{
	char key[128], buf[4096];
	ops_store_entry st;
	ops_store_reader *r = NULL;
	size_t len = 0, got = 0;
	ops_code rc;

	*rec = NULL;
	*found = 0;
	record_key(name, key, sizeof key);
	rc = ops_store_stat(ctx->store, key, &st, found, err);
	if (rc != OPS_OK || !*found)
		return rc;
	free(st.key);
	rc = ops_store_get_begin(ctx->store, key, &r, err);
	while (rc == OPS_OK) {
		rc = ops_store_read(r, buf + len, sizeof buf - 1 - len, &got, err);
		if (got == 0 || len + got >= sizeof buf - 1) {
			len += got;
			break;
		}
		len += got;
	}
	ops_store_get_end(r);
	if (rc != OPS_OK)
		return rc;
	*rec = cJSON_ParseWithLength(buf, len);
	if (!cJSON_IsObject(*rec) ||
	    !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(*rec, "object")) ||
	    !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(*rec, "sha256")) ||
	    !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(*rec, "plain_sha256"))) {
		cJSON_Delete(*rec);
		*rec = NULL;
		return ops_error_set(err, OPS_EDATA, "the record of WAL segment %s is damaged",
				     name);
	}
	return OPS_OK;
}

ops_code ops_backup_wal_push(const ops_backup_ctx *ctx, const char *path, ops_error *err)
{
	const char *name = strrchr(path, '/');
	unsigned char key[OPS_CRYPT_KEY_LEN];
	char *data = NULL, *text = NULL, plain[65], stored[65], object[128], rkey[128], kid[17];
	size_t len = 0;
	int have = 0, found = 0;
	cJSON *rec = NULL;
	bk_out out;
	ops_code rc;

	name = name ? name + 1 : path;
	if (!wal_name_ok(name))
		return ops_error_set(err, OPS_EUSAGE,
				     "'%s' is not a WAL segment or history file name", name);
	rc = ops_read_file(path, SEGMENT_MAX, &data, &len, err);
	if (rc != OPS_OK)
		return rc;
	ops_sha256_hex(data, len, plain);
	rc = read_record(ctx, name, &rec, &found, err);
	if (rc != OPS_OK)
		goto out;
	if (found) {
		/* PostgreSQL retries a push whose acknowledgement it missed. */
		const char *had = cJSON_GetStringValue(
			cJSON_GetObjectItemCaseSensitive(rec, "plain_sha256"));

		if (strcmp(had, plain) == 0) {
			ops_log_info("WAL segment %s is already stored", name);
			goto out;
		}
		rc = ops_error_set(err, OPS_EFAIL,
				   "WAL segment %s is already stored with different content", name);
		ops_error_hint(err, "two clusters may be archiving into one store; "
			       "check s3.prefix and backup.dir");
		goto out;
	}
	if ((rc = bk_load_key(ctx->run->cfg, key, &have, err)) != OPS_OK)
		goto out;
	snprintf(object, sizeof object, "wal/%s.zst%s", name, have ? ".enc" : "");
	{
		ops_backup_ctx quiet = *ctx;
		ops_run quiet_run = *ctx->run;

		quiet_run.progress = NULL;
		quiet.run = &quiet_run;
		rc = bk_out_begin(&quiet, object, have ? key : NULL, &out, err);
	}
	if (rc != OPS_OK)
		goto out;
	rc = compress_raw(ctx->run->cfg, data, len, &out, err);
	if (rc != OPS_OK) {
		bk_out_abort(&out);
		goto out;
	}
	if ((rc = bk_out_commit(&out, stored, err)) != OPS_OK)
		goto out;
	rec = cJSON_CreateObject();
	cJSON_AddStringToObject(rec, "object", object);
	cJSON_AddNumberToObject(rec, "size", (double)out.size);
	cJSON_AddStringToObject(rec, "sha256", stored);
	cJSON_AddNumberToObject(rec, "plain_size", (double)len);
	cJSON_AddStringToObject(rec, "plain_sha256", plain);
	if (have) {
		ops_crypt_key_id(key, kid);
		cJSON_AddStringToObject(rec, "encryption", kid);
	} else {
		cJSON_AddNullToObject(rec, "encryption");
	}
	cJSON_AddNumberToObject(rec, "time", ops_wall_clock());
	text = ops_json_utf8(rec) == 0 ? cJSON_PrintUnformatted(rec) : NULL;
	if (!text) {
		rc = ops_error_oom(err);
		goto out;
	}
	record_key(name, rkey, sizeof rkey);
	{
		ops_store_writer *w = NULL;

		rc = ops_store_put_begin(ctx->store, rkey, &w, err);
		if (rc == OPS_OK)
			rc = ops_store_write(w, text, strlen(text), err);
		if (rc == OPS_OK)
			rc = ops_store_put_commit(w, err);
		else
			ops_store_put_abort(w);
	}
	if (rc == OPS_OK)
		ops_log_info("WAL segment %s stored (%zu bytes, %lld stored)", name, len, out.size);
out:
	cJSON_Delete(rec);
	free(text);
	free(data);
	return rc;
}

ops_code ops_backup_wal_fetch(const ops_backup_ctx *ctx, const char *name, const char *dest,
			      ops_error *err)
{
	unsigned char key[OPS_CRYPT_KEY_LEN];
	const char *object, *want, *want_plain, *enc;
	ops_afile *af = NULL;
	ops_sha256 *h = NULL;
	cJSON *rec = NULL;
	char stored[65], plain[65];
	int found = 0, have = 0;
	bk_in in;
	ops_code rc;

	memset(&in, 0, sizeof in);
	if (!wal_name_ok(name))
		return ops_error_set(err, OPS_EUSAGE,
				     "'%s' is not a WAL segment or history file name", name);
	rc = read_record(ctx, name, &rec, &found, err);
	if (rc != OPS_OK)
		return rc;
	if (!found)
		return ops_error_set(err, OPS_EFAIL, "WAL segment %s is not in %s", name,
				     ops_store_describe(ctx->store));
	object = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rec, "object"));
	want = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rec, "sha256"));
	want_plain = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rec, "plain_sha256"));
	enc = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rec, "encryption"));
	if (enc && ((rc = bk_load_key(ctx->run->cfg, key, &have, err)) != OPS_OK || !have)) {
		if (rc == OPS_OK)
			rc = ops_error_set(err, OPS_ECONFIG, "WAL segment %s is encrypted; "
					   "set backup.encryption_key_file", name);
		goto out;
	}
	{
		ops_backup_ctx quiet = *ctx;
		ops_run quiet_run = *ctx->run;

		quiet_run.progress = NULL;
		quiet.run = &quiet_run;
		rc = bk_in_begin(&quiet, object, have ? key : NULL, 0, &in, err);
	}
	if (rc != OPS_OK)
		goto out;
	h = ops_sha256_new();
	if (!h) {
		rc = ops_error_oom(err);
		goto out;
	}
	rc = ops_afile_open(dest, 0600, &af, err);
	if (rc == OPS_OK) {
		struct fetch_sink f = {h, af};
		char what[96];

		snprintf(what, sizeof what, "stored WAL segment %s", name);
		rc = ops_archive_unzstd_frame(bk_in_source, &in, fetch_write, &f, what, err);
	}
	if (rc == OPS_OK)
		rc = bk_in_drain(&in, err);
	ops_sha256_final_hex(h, plain);
	bk_in_end(&in, stored);
	if (rc == OPS_OK && (strcmp(stored, want) != 0 || strcmp(plain, want_plain) != 0))
		rc = ops_error_set(err, OPS_EDATA,
				   "stored WAL segment %s does not match its SHA-256", name);
	if (rc == OPS_OK) {
		rc = ops_afile_commit(af, err);
		af = NULL;
	}
out:
	ops_afile_abort(af);
	bk_in_end(&in, stored);
	ops_sha256_free(h);
	cJSON_Delete(rec);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Segments archive_command copied into the spool, oldest first. */
static ops_code ship_spool(const ops_backup_ctx *ctx, const char *spool, cJSON *report,
			   ops_error *err)
{
	DIR *d = opendir(spool);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, i;
	ops_code rc = OPS_OK;
	/* A dry run names the segments it would ship, and ships none. */
	cJSON *shipped = cJSON_AddArrayToObject(report, ctx->run->dry_run ? "would_ship"
						: "shipped");

	if (!d)
		return ops_error_errno(err, errno, "cannot open WAL spool", spool);
	while ((de = readdir(d))) {
		char **grown;

		if (!wal_name_ok(de->d_name))
			continue;
		grown = realloc(names, (n + 1) * sizeof *grown);
		if (!grown || !(grown[n] = strdup(de->d_name))) {
			if (grown)
				names = grown;
			rc = ops_error_oom(err);
			break;
		}
		names = grown;
		n++;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof *names, cmp_str);
	for (i = 0; rc == OPS_OK && i < n && ctx->run->dry_run; i++)
		cJSON_AddItemToArray(shipped, cJSON_CreateString(names[i]));
	for (i = 0; rc == OPS_OK && i < n && !ctx->run->dry_run; i++) {
		char *path = ops_path_join(spool, names[i]);

		if (path && (rc = ops_cancel_check(err)) == OPS_OK)
			rc = ops_backup_wal_push(ctx, path, err);
		else if (!path)
			rc = ops_error_oom(err);
		/* Gone from the spool only once stored. */
		if (rc == OPS_OK && unlink(path) != 0)
			rc = ops_error_errno(err, errno, "cannot remove shipped segment", path);
		if (rc == OPS_OK)
			cJSON_AddItemToArray(shipped, cJSON_CreateString(names[i]));
		free(path);
	}
	if (rc == OPS_OK && n && !ctx->run->dry_run)
		rc = ops_fsync_dir(spool, err);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	cJSON_AddNumberToObject(report, "segments", cJSON_GetArraySize(shipped));
	return rc;
}

ops_code ops_backup_wal_ship(const ops_backup_ctx *ctx, cJSON *report, ops_error *err)
{
	const char *spool = ops_config_get(ctx->run->cfg, "backup.wal_spool");
	static const char status_sql[] =
		"SELECT pg_catalog.current_setting('archive_mode'),"
		" pg_catalog.current_setting('archive_command'),"
		" COALESCE(last_archived_wal, ''), failed_count, COALESCE(last_failed_wal, '')"
		" FROM pg_catalog.pg_stat_archiver";
	char **targets = NULL, *seg = NULL;
	ops_db *db = NULL;
	ops_rows *rows = NULL;
	long timeout = ops_config_int(ctx->run->cfg, "backup.wal_timeout");
	long long failed0, failed;
	double t0 = ops_clock();
	ops_code rc;

	if (spool && *spool)
		return ship_spool(ctx, spool, report, err);
	if ((rc = ops_db_targets(ctx->run->cfg, NULL, &targets, err)) != OPS_OK)
		return rc;
	rc = ops_db_open(ctx->run->cfg, targets[0], &db, err);
	if (rc == OPS_OK && ops_db_kind_of(db) != OPS_DB_POSTGRES)
		rc = ops_error_set(err, OPS_EUSAGE, "WAL archiving is a PostgreSQL feature; '%s' is SQLite",
				   targets[0]);
	if (rc == OPS_OK)
		rc = ops_db_query(db, status_sql, 0, NULL, &rows, err);
	if (rc != OPS_OK)
		goto out;
	if (strcmp(ops_rows_value(rows, 0, 0), "off") == 0) {
		rc = ops_error_set(err, OPS_ECONFIG,
				   "archive_mode is off on the server, so no WAL is archived");
		ops_error_hint(err, "set archive_mode = on and archive_command = "
			       "'opsctl backup wal-push %%p', then restart PostgreSQL");
		goto out;
	}
	if ((rc = ops_rows_int64(rows, 0, 3, &failed0, err)) != OPS_OK)
		goto out;
	cJSON_AddStringToObject(report, "archive_command", ops_rows_value(rows, 0, 1));
	ops_rows_free(rows);
	rows = NULL;
	/* Archiving is on: the real run would switch segments and wait. */
	if (ctx->run->dry_run) {
		cJSON_AddBoolToObject(report, "would_switch_segment", 1);
		goto out;
	}
	rc = ops_db_query(db, "SELECT pg_catalog.pg_walfile_name(pg_catalog.pg_switch_wal())",
			  0, NULL, &rows, err);
	if (rc != OPS_OK)
		goto out;
	seg = strdup(ops_rows_value(rows, 0, 0));
	cJSON_AddStringToObject(report, "segment", seg);
	for (;;) {
		ops_rows_free(rows);
		rows = NULL;
		if ((rc = ops_db_query(db, status_sql, 0, NULL, &rows, err)) != OPS_OK)
			goto out;
		if (strcmp(ops_rows_value(rows, 0, 2), seg) >= 0) {
			cJSON_AddStringToObject(report, "last_archived_wal",
						ops_rows_value(rows, 0, 2));
			break;
		}
		if ((rc = ops_rows_int64(rows, 0, 3, &failed, err)) != OPS_OK)
			goto out;
		if (failed > failed0 &&
		    strcmp(ops_rows_value(rows, 0, 4), seg) == 0) {
			rc = ops_error_set(err, OPS_EFAIL,
					   "archive_command failed for WAL segment %s", seg);
			ops_error_hint(err, "the PostgreSQL server log shows "
				       "the archive_command's error");
			goto out;
		}
		if ((rc = ops_cancel_check(err)) != OPS_OK)
			goto out;
		if (ops_clock() - t0 > (double)timeout) {
			rc = ops_error_set(err, OPS_EFAIL,
					   "WAL segment %s was not archived within %ld s",
					   seg, timeout);
			goto out;
		}
		usleep(200000);
	}
	cJSON_AddNumberToObject(report, "duration_seconds", ops_clock() - t0);
out:
	free(seg);
	ops_rows_free(rows);
	ops_db_close(db);
	ops_strv_free(targets);
	return rc;
}
