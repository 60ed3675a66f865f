/*
 * `cache purge`: keys by pattern (SCAN MATCH, then UNLINK of each batch),
 * guide 001's weekly expired-key clean-up, and guide 004's MEMORY PURGE.
 *
 * Guide 001 cleans expired keys with FLUSHDB ASYNC, which removes every key,
 * expired or not; here the sweep SCANs the keyspace instead, and Redis drops
 * each expired key that SCAN touches (its lazy expiry), so nothing that is
 * still valid goes.  FLUSHDB ASYNC stays available as `all`, confirmed.
 * Never KEYS (one command that blocks the server for the whole keyspace)
 * and never FLUSHALL (every database, not only the cache's).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache/cache_internal.h"
#include "opsmaint/clock.h"
#include "opsmaint/config.h"

struct purge {
	const ops_run *run;
	ops_redis *r;
	const char *pattern;	/* NULL: every key */
	long batch;
	int unlink;		/* 0: only walk (dry run, sweep) */
	double matched, removed;
};

/* UNLINK the keys of one SCAN answer; adds to p->removed. */
static ops_code unlink_keys(struct purge *p, const ops_redis_reply *keys, ops_error *err)
{
	const char **argv = calloc(keys->elements + 1, sizeof *argv);
	size_t *len = calloc(keys->elements + 1, sizeof *len);
	ops_redis_reply *u = NULL;
	size_t i;
	int n = 1;
	ops_code rc;

	if (!argv || !len) {
		free(argv);
		free(len);
		return ops_error_oom(err);
	}
	argv[0] = "UNLINK";
	len[0] = 6;
	for (i = 0; i < keys->elements; i++) {
		if (keys->element[i]->type != OPS_REDIS_STRING)
			continue;
		argv[n] = keys->element[i]->str;
		len[n++] = keys->element[i]->len;
	}
	rc = n > 1 ? ops_redis_command(p->r, n, argv, len, &u, err) : OPS_OK;
	if (rc == OPS_OK && u && u->type == OPS_REDIS_ERROR)
		rc = ops_redis_reply_error(p->r, u, "UNLINK", err);
	else if (rc == OPS_OK && u && u->type == OPS_REDIS_INTEGER)
		p->removed += (double)u->integer;
	ops_redis_reply_free(u);
	free(argv);
	free(len);
	return rc;
}

/* SCAN the keyspace (MATCH p->pattern), unlinking each batch when asked. */
static ops_code walk(struct purge *p, ops_error *err)
{
	char cursor[32] = "0", count[24];
	double t0 = ops_clock();
	ops_code rc = OPS_OK;

	snprintf(count, sizeof count, "%ld", p->batch);
	do {
		const char *argv[6] = {"SCAN", cursor, "COUNT", count, "MATCH", p->pattern};
		ops_redis_reply *s = NULL;

		if ((rc = ops_run_check_cancel(p->run, err)) != OPS_OK)
			break;
		rc = ops_redis_command(p->r, p->pattern ? 6 : 4, argv, NULL, &s, err);
		if (rc != OPS_OK)
			break;
		if (s->type == OPS_REDIS_ERROR) {
			rc = ops_redis_reply_error(p->r, s, "SCAN", err);
		} else if (s->type != OPS_REDIS_ARRAY || s->elements != 2 ||
			   s->element[0]->type != OPS_REDIS_STRING ||
			   s->element[1]->type != OPS_REDIS_ARRAY) {
			rc = ops_error_set(err, OPS_EFAIL, "Redis at '%s' answered SCAN with "
					   "something else than a cursor and keys",
					   ops_redis_where(p->r));
		} else {
			snprintf(cursor, sizeof cursor, "%s", s->element[0]->str);
			p->matched += (double)s->element[1]->elements;
			if (p->unlink)
				rc = unlink_keys(p, s->element[1], err);
		}
		ops_redis_reply_free(s);
		ops_run_progress(p->run, p->unlink ? "unlinking" : "scanning",
				 p->unlink ? p->removed : p->matched, 0, "keys", t0, 0);
	} while (rc == OPS_OK && strcmp(cursor, "0") != 0);
	ops_run_progress(p->run, p->unlink ? "unlinking" : "scanning",
			 p->unlink ? p->removed : p->matched, 0, "keys", t0, 1);
	return rc;
}

static ops_code dbsize(ops_redis *r, double *n, ops_error *err)
{
	ops_redis_reply *d = NULL;
	ops_code rc = ops_redis_call(r, &d, err, "DBSIZE", NULL);

	if (rc == OPS_OK)
		*n = d->type == OPS_REDIS_INTEGER ? (double)d->integer : 0;
	ops_redis_reply_free(d);
	return rc;
}

static ops_code check_opts(const ops_run *run, const ops_cache_purge_opts *o, ops_error *err)
{
	ops_code rc;

	if (o->all && (o->pattern || o->expired))
		return ops_error_set(err, OPS_EUSAGE,
				     "--all removes every key: it takes no --pattern or --expired");
	if (!o->all && !o->pattern && !o->expired) {
		rc = ops_error_set(err, OPS_EUSAGE, "nothing to purge: no pattern given");
		ops_error_hint(err, "Give --pattern GLOB, --expired, or --all for every key.");
		return rc;
	}
	if (o->pattern && !*o->pattern)
		return ops_error_set(err, OPS_EUSAGE, "the pattern is empty");
	/* Every key of the cache, from cron by accident: never without a yes. */
	if (o->all && !run->dry_run && !run->force && !run->yes && !run->confirm) {
		rc = ops_error_set(err, OPS_EUSAGE, "--all removes every key of the database "
				   "and there is no terminal to ask; nothing was removed");
		ops_error_hint(err, "Add --yes to confirm, or count the keys first with --dry-run.");
		return rc;
	}
	return OPS_OK;
}

ops_code ops_cache_purge(const ops_run *run, const ops_cache_purge_opts *o, cJSON **report,
			 ops_error *err)
{
	struct purge p = {.run = run, .pattern = o->pattern};
	double before = -1, after = -1, exp_before = -1, exp_after = -1, n = 0;
	int destructive = o->all || (o->pattern && !o->expired);
	char question[600];
	cJSON *rep, *fig;
	ops_code rc;

	*report = NULL;
	if ((rc = check_opts(run, o, err)) != OPS_OK)
		return rc;
	if (!(rep = cJSON_CreateObject()))
		return ops_error_oom(err);
	*report = rep;
	p.batch = o->batch > 0 ? o->batch : ops_config_int(run->cfg, "cache.purge_batch");
	if ((rc = cx_connect(run, &p.r, rep, err)) != OPS_OK)
		goto out;
	/* An UNLINK cut short by SIGTERM may still run on the server: its
	 * reply is read, so removed_keys is what did go.  One batch is short;
	 * the walk stops before the next. */
	ops_redis_finish_on_cancel(p.r, 1);
	cJSON_AddStringToObject(rep, "mode", o->all ? "all" : o->expired ? "expired" : "pattern");
	if (o->pattern)
		cJSON_AddStringToObject(rep, "pattern", o->pattern);
	else
		cJSON_AddNullToObject(rep, "pattern");
	cJSON_AddBoolToObject(rep, "dry_run", run->dry_run);

	if (run->dry_run) {
		if (destructive)
			ops_run_would_permit(run, "cache purge", rep);
		/* A dry sweep would reclaim the expired keys it touched. */
		if (o->all || o->expired) {
			rc = dbsize(p.r, &n, err);
			cJSON_AddNumberToObject(rep, o->all ? "would_remove_keys" : "keys_to_sweep", n);
		} else {
			rc = walk(&p, err);
			/* SCAN may name a key twice while the table is resized. */
			cJSON_AddNumberToObject(rep, "would_remove_keys", p.matched);
		}
		goto out;
	}

	if (destructive) {
		if (o->all && (rc = dbsize(p.r, &n, err)) != OPS_OK)
			goto out;
		if (o->all)
			snprintf(question, sizeof question, "Remove every key (%.0f) of Redis at '%s' "
				 "with FLUSHDB ASYNC?", n, ops_redis_where(p.r));
		else
			snprintf(question, sizeof question, "Remove the keys matching '%s' from Redis "
				 "at '%s'?", o->pattern, ops_redis_where(p.r));
		if ((rc = ops_run_permit(run, "cache purge", question, err)) != OPS_OK)
			goto out;
	}
	if ((rc = cx_info_field(p.r, "memory", "used_memory", &before, err)) != OPS_OK ||
	    (rc = cx_info_field(p.r, "stats", "expired_keys", &exp_before, err)) != OPS_OK)
		goto out;
	if (o->all) {
		rc = ops_redis_call(p.r, NULL, err, "FLUSHDB", "ASYNC", NULL);
		p.matched = p.removed = n;
	} else {
		p.unlink = !o->expired;
		rc = walk(&p, err);
	}
	/* What was removed stays removed: the figures say so even when a
	 * later step fails. */
	cJSON_AddNumberToObject(rep, "matched_keys", p.matched);
	cJSON_AddNumberToObject(rep, "removed_keys", p.removed);
	if (rc != OPS_OK)
		goto figures;
	/* Guide 004: give the freed pages back to the system. */
	if ((rc = ops_redis_call(p.r, NULL, err, "MEMORY", "PURGE", NULL)) != OPS_OK ||
	    (rc = cx_info_field(p.r, "memory", "used_memory", &after, err)) != OPS_OK ||
	    (rc = cx_info_field(p.r, "stats", "expired_keys", &exp_after, err)) != OPS_OK)
		goto figures;
	cJSON_AddNumberToObject(rep, "expired_keys_reclaimed",
				exp_after >= exp_before && exp_before >= 0 ? exp_after - exp_before : 0);
	cJSON_AddNumberToObject(rep, "used_memory_before_bytes", before);
	cJSON_AddNumberToObject(rep, "used_memory_after_bytes", after);
	cJSON_AddNumberToObject(rep, "freed_bytes", before > after ? before - after : 0);
figures:
	fig = cJSON_AddObjectToObject(rep, "_figures");
	cJSON_AddNumberToObject(fig, "opsctl_cache_purged_keys", p.removed);
	if (before >= 0 && after >= 0)
		cJSON_AddNumberToObject(fig, "opsctl_cache_freed_bytes",
					before > after ? before - after : 0);
out:
	ops_redis_close(p.r);
	return rc;
}
