/*
 * The Redis member of a full backup (guide 004 daily_backup.sh: BGSAVE,
 * then copy dump.rdb).  The guide sleeps 10 seconds and hopes; here the
 * save is started, waited for through INFO persistence until Redis reports
 * it finished and succeeded, and only then is the file read, through one
 * open descriptor so that a later save renaming a new file over it cannot
 * mix two snapshots.  The connection (URL, TLS, AUTH, timeouts) is
 * db/redis's; this file only knows what a backup asks of Redis.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backup/backup_internal.h"
#include "opsmaint/cancel.h"
#include "opsmaint/fileio.h"
#include "opsmaint/redis.h"

/*
 * Poll INFO persistence until no save (nor an AOF rewrite, which also
 * blocks BGSAVE) is running.  *ok says whether the last save succeeded.
 * what names the wait in the timeout message.
 */
static ops_code wait_idle(ops_redis *r, double t0, long timeout, const char *what, int *ok,
			  ops_error *err)
{
	for (;;) {
		ops_redis_info *info = NULL;
		double rdb = -1, aof = 0;
		const char *status;
		ops_code rc;

		if ((rc = ops_redis_info_get(r, "persistence", &info, err)) != OPS_OK)
			return rc;
		ops_redis_info_number(info, "rdb_bgsave_in_progress", &rdb);
		ops_redis_info_number(info, "aof_rewrite_in_progress", &aof);
		status = ops_redis_info_value(info, "rdb_last_bgsave_status");
		if (ok)
			*ok = status && strcmp(status, "ok") == 0;
		ops_redis_info_free(info);
		if (rdb == 0 && aof == 0)
			return OPS_OK;
		if (rdb < 0)
			return ops_error_set(err, OPS_EFAIL, "Redis at '%s' reports no "
					     "rdb_bgsave_in_progress in INFO", ops_redis_where(r));
		if (ops_clock() - t0 > (double)timeout)
			return ops_error_set(err, OPS_EFAIL, "Redis at '%s': %s within %ld s",
					     ops_redis_where(r), what, timeout);
		if ((rc = ops_cancel_check(err)) != OPS_OK)
			return rc;
		usleep(100000);
	}
}

/* BGSAVE, letting a save that another client started finish first. */
static ops_code start_save(ops_redis *r, double t0, long timeout, ops_error *err)
{
	static const char *const bgsave[] = {"BGSAVE"};
	int tries;

	for (tries = 0; tries < 2; tries++) {
		ops_redis_reply *rep = NULL;
		ops_code rc = ops_redis_command(r, 1, bgsave, NULL, &rep, err);
		int busy;

		if (rc != OPS_OK)
			return rc;
		if (rep->type != OPS_REDIS_ERROR) {
			ops_redis_reply_free(rep);
			return OPS_OK;
		}
		busy = strstr(rep->str, "in progress") != NULL;
		if (!busy)
			rc = ops_redis_reply_error(r, rep, "BGSAVE", err);
		ops_redis_reply_free(rep);
		if (!busy)
			return rc;
		rc = wait_idle(r, t0, timeout, "a save already in progress did not end", NULL, err);
		if (rc != OPS_OK)
			return rc;
	}
	return ops_error_set(err, OPS_EFAIL, "Redis at '%s' still had a save in progress after "
			     "waiting twice; BGSAVE did not start", ops_redis_where(r));
}

/* Where the server writes its dump: CONFIG GET dir and dbfilename. */
static ops_code dump_path(ops_redis *r, char **path, ops_error *err)
{
	char *dir = NULL, *file = NULL;
	ops_error sub;
	ops_code rc;

	ops_error_clear(&sub);
	rc = ops_redis_config_get(r, "dir", &dir, &sub);
	if (rc == OPS_OK)
		rc = ops_redis_config_get(r, "dbfilename", &file, &sub);
	if (rc == OPS_EINTR || rc == OPS_EUNAVAIL || rc == OPS_EINTERNAL) {
		*err = sub;
	} else if (rc != OPS_OK) {
		rc = ops_error_set(err, OPS_ECONFIG, "cannot ask Redis where its dump is; "
				   "set backup.redis_rdb");
		ops_error_detail(err, "%s", sub.message);
	} else if (!(*path = ops_path_join(dir, file))) {
		rc = ops_error_oom(err);
	}
	free(dir);
	free(file);
	return rc;
}

ops_code bk_redis_snapshot(const ops_config *cfg, char **rdb_path, cJSON *report, ops_error *err)
{
	const char *fixed = ops_config_get(cfg, "backup.redis_rdb");
	long timeout = ops_config_int(cfg, "backup.redis_timeout");
	double t0 = ops_clock();
	ops_redis *r = NULL;
	int good = 0;
	ops_code rc;

	*rdb_path = NULL;
	if ((rc = ops_redis_connect_config(cfg, "backup.redis_url", &r, err)) != OPS_OK)
		return rc;
	if ((rc = start_save(r, t0, timeout, err)) != OPS_OK)
		goto out;
	rc = wait_idle(r, t0, timeout, "BGSAVE did not finish", &good, err);
	if (rc != OPS_OK)
		goto out;
	if (!good) {
		rc = ops_error_set(err, OPS_EFAIL, "Redis at '%s' reports its BGSAVE failed "
				   "(rdb_last_bgsave_status)", ops_redis_where(r));
		goto out;
	}
	if (fixed && *fixed)
		rc = (*rdb_path = strdup(fixed)) ? OPS_OK : ops_error_oom(err);
	else
		rc = dump_path(r, rdb_path, err);
	if (rc != OPS_OK)
		goto out;
	cJSON_AddStringToObject(report, "redis", *rdb_path);
	cJSON_AddNumberToObject(report, "redis_save_seconds", ops_clock() - t0);
out:
	ops_redis_close(r);
	return rc;
}

ops_code bk_redis_check(const ops_config *cfg, ops_error *err)
{
	ops_redis *r = NULL;
	ops_code rc = ops_redis_connect_config(cfg, "backup.redis_url", &r, err);

	ops_redis_close(r);
	return rc;
}
