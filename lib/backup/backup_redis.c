/*
 * The Redis member of a full backup (guide 004 daily_backup.sh: BGSAVE,
 * then copy dump.rdb).  The guide sleeps 10 seconds and hopes; here the
 * save is started, waited for through INFO persistence until Redis reports
 * it finished and succeeded, and only then is the file read, through one
 * open descriptor so that a later save renaming a new file over it cannot
 * mix two snapshots.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "backup/backup_internal.h"
#include "opsmaint/fileio.h"
#include "opsmaint/log.h"

/* "redis://[user@]host[:port][/db]" -> host, port.  No password in it:
 * REDISCLI_AUTH carries that, as for redis-cli. */
static ops_code parse_url(const char *url, char *host, size_t hlen, int *port, ops_error *err)
{
	const char *p = url, *at, *colon, *end;

	if (strncmp(p, "redis://", 8) != 0)
		return ops_error_set(err, OPS_ECONFIG, "backup.redis_url '%s' is not redis://HOST:PORT", url);
	p += 8;
	end = p + strcspn(p, "/");
	at = memchr(p, '@', (size_t)(end - p));
	if (at) {
		if (memchr(p, ':', (size_t)(at - p)))
			return ops_error_set(err, OPS_ECONFIG,
					     "backup.redis_url must not hold a password; set REDISCLI_AUTH");
		p = at + 1;
	}
	colon = memchr(p, ':', (size_t)(end - p));
	snprintf(host, hlen, "%.*s", (int)((colon ? colon : end) - p), p);
	*port = colon ? atoi(colon + 1) : 6379;
	if (!*host || *port <= 0 || *port > 65535)
		return ops_error_set(err, OPS_ECONFIG, "backup.redis_url '%s' is not redis://HOST:PORT", url);
	return OPS_OK;
}

static redisReply *cmd(redisContext *c, const char *fmt, const char *arg)
{
	return arg ? redisCommand(c, fmt, arg) : redisCommand(c, fmt);
}

/* An INFO persistence field as a number; -1 when absent. */
static long info_field(const char *info, const char *name)
{
	char key[64];
	const char *p;

	snprintf(key, sizeof key, "\n%s:", name);
	p = strstr(info, key);
	return p ? atol(p + strlen(key)) : -1;
}

static int info_says_ok(const char *info)
{
	const char *p = strstr(info, "\nrdb_last_bgsave_status:");

	return p && strncmp(p + 24, "ok", 2) == 0;
}

ops_code bk_redis_snapshot(const ops_config *cfg, char **rdb_path, cJSON *report, ops_error *err)
{
	const char *url = ops_config_get(cfg, "backup.redis_url");
	const char *fixed = ops_config_get(cfg, "backup.redis_rdb");
	const char *auth = getenv("REDISCLI_AUTH");
	long timeout = ops_config_int(cfg, "backup.redis_timeout");
	struct timeval tv = {10, 0};
	char host[256], *dir = NULL, *file = NULL;
	redisContext *c = NULL;
	redisReply *r = NULL;
	double t0 = ops_clock();
	int port = 0, tries;
	ops_code rc;

	*rdb_path = NULL;
	if ((rc = parse_url(url, host, sizeof host, &port, err)) != OPS_OK)
		return rc;
	c = redisConnectWithTimeout(host, port, tv);
	if (!c || c->err) {
		rc = ops_error_set(err, OPS_EUNAVAIL, "cannot connect to Redis at %s:%d: %s", host, port,
				   c ? c->errstr : "out of memory");
		goto out;
	}
	redisSetTimeout(c, tv);
	if (auth && *auth) {
		r = cmd(c, "AUTH %s", auth);
		if (!r || r->type == REDIS_REPLY_ERROR) {
			rc = ops_error_set(err, OPS_EPERM, "Redis at %s:%d refused the password in REDISCLI_AUTH",
					   host, port);
			goto out;
		}
		freeReplyObject(r);
		r = NULL;
	}
	/* A save already running started before us: let it end, then ours. */
	for (tries = 0; tries < 2; tries++) {
		r = cmd(c, "BGSAVE", NULL);
		if (!r) {
			rc = ops_error_set(err, OPS_EUNAVAIL, "Redis at %s:%d: %s", host, port, c->errstr);
			goto out;
		}
		if (r->type != REDIS_REPLY_ERROR)
			break;
		if (!strstr(r->str, "in progress")) {
			rc = ops_error_set(err, strstr(r->str, "NOAUTH") || strstr(r->str, "NOPERM") ? OPS_EPERM : OPS_EFAIL,
					   "Redis BGSAVE at %s:%d failed: %s", host, port, r->str);
			goto out;
		}
		freeReplyObject(r);
		r = NULL;
		for (;;) {
			redisReply *i = cmd(c, "INFO persistence", NULL);
			long busy = i && i->type == REDIS_REPLY_STRING ? info_field(i->str, "rdb_bgsave_in_progress") : -1;

			freeReplyObject(i);
			if (busy == 0)
				break;
			if (busy < 0 || ops_clock() - t0 > (double)timeout) {
				rc = ops_error_set(err, OPS_EFAIL, "Redis at %s:%d: a save already in progress did not end", host, port);
				goto out;
			}
			usleep(100000);
		}
	}
	freeReplyObject(r);
	r = NULL;
	for (;;) {
		redisReply *i = cmd(c, "INFO persistence", NULL);
		long busy = -1;
		int good = 0;

		if (i && i->type == REDIS_REPLY_STRING) {
			busy = info_field(i->str, "rdb_bgsave_in_progress");
			good = info_says_ok(i->str);
		}
		freeReplyObject(i);
		if (busy == 0) {
			if (!good) {
				rc = ops_error_set(err, OPS_EFAIL, "Redis at %s:%d reports its BGSAVE failed (rdb_last_bgsave_status)",
						   host, port);
				goto out;
			}
			break;
		}
		if (busy < 0 || ops_clock() - t0 > (double)timeout) {
			rc = ops_error_set(err, OPS_EFAIL, "Redis BGSAVE at %s:%d did not finish within %ld s", host, port,
					   timeout);
			goto out;
		}
		usleep(100000);
	}
	if (fixed && *fixed) {
		*rdb_path = strdup(fixed);
	} else {
		redisReply *d = cmd(c, "CONFIG GET dir", NULL), *f = cmd(c, "CONFIG GET dbfilename", NULL);

		if (d && d->type == REDIS_REPLY_ARRAY && d->elements == 2 && f &&
		    f->type == REDIS_REPLY_ARRAY && f->elements == 2) {
			dir = strdup(d->element[1]->str);
			file = strdup(f->element[1]->str);
		}
		freeReplyObject(d);
		freeReplyObject(f);
		if (!dir || !file) {
			rc = ops_error_set(err, OPS_ECONFIG, "cannot ask Redis where its dump is; set backup.redis_rdb");
			goto out;
		}
		*rdb_path = ops_path_join(dir, file);
	}
	if (!*rdb_path)
		rc = ops_error_oom(err);
	cJSON_AddStringToObject(report, "redis", *rdb_path ? *rdb_path : "");
	cJSON_AddNumberToObject(report, "redis_save_seconds", ops_clock() - t0);
out:
	freeReplyObject(r);
	if (c)
		redisFree(c);
	free(dir);
	free(file);
	return rc;
}
