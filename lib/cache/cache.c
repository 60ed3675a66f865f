/*
 * `cache stats` (guide 001's daily Redis checks: INFO memory, LASTSAVE,
 * SLOWLOG GET 10; weekly MEMORY DOCTOR and a look at the keys) and what the
 * cache commands share.  Every figure comes from the server in one pass;
 * the guide's bars (hit ratio above 90%, memory below 75%) are judged here
 * so that cron and CI get an exit status, not a page to read.
 *
 * It does not list keys with KEYS (one O(N) command that stalls the
 * server): the largest keys are found among a bounded SCAN sample, and the
 * report says whether the sample covered the whole keyspace.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache/cache_internal.h"
#include "opsmaint/clock.h"
#include "opsmaint/config.h"
#include "opsmaint/json.h"

/* ---- shared ---- */

ops_code cx_connect(const ops_run *run, ops_redis **r, cJSON *rep, ops_error *err)
{
	const char *key = "cache.redis_url";
	const char *url = ops_config_get(run->cfg, key);
	const char *tls;
	ops_code rc;

	*r = NULL;
	if (!url || !*url) {
		url = ops_config_get(run->cfg, "backup.redis_url");
		if (!url || !*url) {
			rc = ops_error_set(err, OPS_ECONFIG, "no Redis configured for the cache");
			ops_error_hint(err, "Set cache.redis_url (or REDIS_URL), e.g. "
				       "redis://localhost:6379/0.");
			return rc;
		}
		key = "backup.redis_url";
	}
	if ((rc = ops_redis_connect_config(run->cfg, key, r, err)) != OPS_OK)
		return rc;
	cJSON_AddStringToObject(rep, "redis", ops_redis_where(*r));
	cJSON_AddStringToObject(rep, "user", ops_redis_user(*r));
	tls = ops_redis_tls_version(*r);
	if (tls)
		cJSON_AddStringToObject(rep, "tls", tls);
	else
		cJSON_AddNullToObject(rep, "tls");
	return OPS_OK;
}

double cx_info_number(const ops_redis_info *info, const char *name)
{
	double d;

	return ops_redis_info_number(info, name, &d) ? d : -1;
}

ops_code cx_info_field(ops_redis *r, const char *section, const char *name, double *out,
		       ops_error *err)
{
	ops_redis_info *info = NULL;
	ops_code rc = ops_redis_info_get(r, section, &info, err);

	if (rc != OPS_OK)
		return rc;
	*out = cx_info_number(info, name);
	ops_redis_info_free(info);
	return OPS_OK;
}

/* ---- findings ---- */

/* ---- the parts of the report ---- */

/* A figure from INFO as a whole number, or null when the server lacks it. */
static void add_info_int(cJSON *rep, const char *name, const ops_redis_info *info,
			 const char *field)
{
	double v = cx_info_number(info, field);

	if (v >= 0)
		cJSON_AddNumberToObject(rep, name, v);
	else
		cJSON_AddNullToObject(rep, name);
}

/* "db0:keys=3,expires=1,avg_ttl=0" lines: each database, and the sums. */
static void add_keyspace(cJSON *rep, const ops_redis_info *info, double *keys, double *expires)
{
	cJSON *list = cJSON_CreateArray();
	size_t i;

	*keys = *expires = 0;
	for (i = 0; list && i < info->count; i++) {
		const ops_redis_info_field *f = &info->field[i];
		long long k = 0, e = 0;
		cJSON *db;

		if (strcmp(f->section, "keyspace") != 0 ||
		    sscanf(f->value, "keys=%lld,expires=%lld", &k, &e) != 2)
			continue;
		db = cJSON_CreateObject();
		cJSON_AddStringToObject(db, "db", f->name);
		cJSON_AddNumberToObject(db, "keys", (double)k);
		cJSON_AddNumberToObject(db, "keys_with_expiry", (double)e);
		cJSON_AddItemToArray(list, db);
		*keys += (double)k;
		*expires += (double)e;
	}
	cJSON_AddNumberToObject(rep, "keys", *keys);
	cJSON_AddNumberToObject(rep, "keys_with_expiry", *expires);
	cJSON_AddItemToObject(rep, "keyspace", list);
}

/* "SET key ..." from a slow-log entry's arguments: the command and its key,
 * never the values, which may be anyone's data. */
static void slow_command(const ops_redis_reply *args, char *out, size_t len)
{
	size_t i, used = 0;

	out[0] = '\0';
	for (i = 0; args && args->type == OPS_REDIS_ARRAY && i < args->elements && i < 2; i++) {
		const ops_redis_reply *a = args->element[i];
		int w;

		if (!a || a->type != OPS_REDIS_STRING)
			break;
		w = snprintf(out + used, len - used, "%s%.*s", i ? " " : "",
			     (int)(a->len > 120 ? 120 : a->len), a->str);
		if (w < 0 || (size_t)w >= len - used)
			return;
		used += (size_t)w;
	}
	if (args && args->elements > 2)
		snprintf(out + used, len - used, " ... (%zu arguments)", args->elements - 1);
}

static ops_code add_slowlog(ops_redis *r, long count, cJSON *rep, ops_error *err)
{
	ops_redis_reply *rep_ = NULL;
	cJSON *list;
	char n[24];
	size_t i;
	ops_code rc;

	snprintf(n, sizeof n, "%ld", count);
	if ((rc = ops_redis_call(r, &rep_, err, "SLOWLOG", "GET", n, NULL)) != OPS_OK)
		return rc;
	list = cJSON_AddArrayToObject(rep, "slowlog");
	for (i = 0; list && rep_->type == OPS_REDIS_ARRAY && i < rep_->elements; i++) {
		const ops_redis_reply *e = rep_->element[i];
		char when[OPS_TIME_ISO_SIZE], cmd[300];
		cJSON *o;

		if (!e || e->type != OPS_REDIS_ARRAY || e->elements < 4 ||
		    e->element[1]->type != OPS_REDIS_INTEGER ||
		    e->element[2]->type != OPS_REDIS_INTEGER)
			continue;
		slow_command(e->element[3], cmd, sizeof cmd);
		o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "id", (double)e->element[0]->integer);
		cJSON_AddStringToObject(o, "time", ops_time_iso((time_t)e->element[1]->integer, when));
		cJSON_AddNumberToObject(o, "duration_seconds", (double)e->element[2]->integer / 1e6);
		cJSON_AddStringToObject(o, "command", cmd);
		if (e->elements > 4 && e->element[4]->type == OPS_REDIS_STRING)
			cJSON_AddStringToObject(o, "client", e->element[4]->str);
		cJSON_AddItemToArray(list, o);
	}
	ops_redis_reply_free(rep_);
	return OPS_OK;
}

static ops_code add_doctor(ops_redis *r, cJSON *rep, ops_error *err)
{
	ops_redis_reply *d = NULL;
	ops_code rc = ops_redis_call(r, &d, err, "MEMORY", "DOCTOR", NULL);
	size_t n;

	if (rc != OPS_OK)
		return rc;
	if (d->str) {
		for (n = d->len; n > 0 && (d->str[n - 1] == '\n' || d->str[n - 1] == '\r' ||
					   d->str[n - 1] == ' '); n--)
			;
		d->str[n] = '\0';
		cJSON_AddStringToObject(rep, "memory_doctor", d->str);
	}
	ops_redis_reply_free(d);
	return OPS_OK;
}

/* ---- the largest keys, by a bounded sample ---- */

struct big {
	char *key;
	long long bytes;
};

/* Keep top[0 .. n) sorted, largest first; *used of them filled. */
static int big_add(struct big *top, size_t n, size_t *used, const ops_redis_reply *key,
		   long long bytes)
{
	size_t at;
	char *copy;

	if (*used == n && bytes <= top[n - 1].bytes)
		return 0;
	if (!(copy = strndup(key->str, key->len)))
		return -1;
	if (*used == n)
		free(top[--*used].key);
	for (at = *used; at > 0 && top[at - 1].bytes < bytes; at--)
		top[at] = top[at - 1];
	top[at].key = copy;
	top[at].bytes = bytes;
	++*used;
	return 0;
}

static ops_code memory_usage(ops_redis *r, const ops_redis_reply *key, long long *bytes,
			     ops_error *err)
{
	const char *argv[3] = {"MEMORY", "USAGE", key->str};
	const size_t len[3] = {6, 5, key->len};
	ops_redis_reply *u = NULL;
	ops_code rc = ops_redis_command(r, 3, argv, len, &u, err);

	*bytes = -1;	/* gone since SCAN named it */
	if (rc != OPS_OK)
		return rc;
	if (u->type == OPS_REDIS_ERROR)
		rc = ops_redis_reply_error(r, u, "MEMORY USAGE", err);
	else if (u->type == OPS_REDIS_INTEGER)
		*bytes = u->integer;
	ops_redis_reply_free(u);
	return rc;
}

static ops_code add_largest(const ops_run *run, ops_redis *r, cJSON *rep, ops_error *err)
{
	long want = ops_config_int(run->cfg, "cache.sample_keys");
	long ntop = ops_config_int(run->cfg, "cache.largest_keys");
	double limit = (double)ops_config_int(run->cfg, "cache.sample_time");
	double t0 = ops_clock();
	struct big *top = calloc((size_t)(ntop > 0 ? ntop : 1), sizeof *top);
	char cursor[32] = "0";
	size_t used = 0, i;
	long sampled = 0;
	int complete = 0;
	cJSON *list;
	ops_code rc = OPS_OK;

	if (!top)
		return ops_error_oom(err);
	while (sampled < want && !complete && ops_clock() - t0 < limit) {
		const char *argv[4] = {"SCAN", cursor, "COUNT", "100"};
		ops_redis_reply *s = NULL;
		const ops_redis_reply *keys;

		if ((rc = ops_redis_command(r, 4, argv, NULL, &s, err)) != OPS_OK)
			break;
		if (s->type == OPS_REDIS_ERROR) {
			rc = ops_redis_reply_error(r, s, "SCAN", err);
			ops_redis_reply_free(s);
			break;
		}
		if (s->type != OPS_REDIS_ARRAY || s->elements != 2 ||
		    s->element[0]->type != OPS_REDIS_STRING ||
		    s->element[1]->type != OPS_REDIS_ARRAY) {
			ops_redis_reply_free(s);
			rc = ops_error_set(err, OPS_EFAIL, "Redis at '%s' answered SCAN with "
					   "something else than a cursor and keys",
					   ops_redis_where(r));
			break;
		}
		snprintf(cursor, sizeof cursor, "%s", s->element[0]->str);
		complete = strcmp(cursor, "0") == 0;
		keys = s->element[1];
		for (i = 0; rc == OPS_OK && i < keys->elements && sampled < want; i++) {
			long long bytes;

			if (keys->element[i]->type != OPS_REDIS_STRING)
				continue;
			rc = memory_usage(r, keys->element[i], &bytes, err);
			if (rc == OPS_OK && bytes >= 0) {
				sampled++;
				if (big_add(top, (size_t)ntop, &used, keys->element[i], bytes) < 0)
					rc = ops_error_oom(err);
			}
		}
		/* A sample cut short inside a batch did not see the rest. */
		if (i < keys->elements)
			complete = 0;
		ops_redis_reply_free(s);
		if (rc != OPS_OK)
			break;
	}
	if (rc == OPS_OK) {
		cJSON_AddNumberToObject(rep, "sampled_keys", (double)sampled);
		cJSON_AddBoolToObject(rep, "sample_complete", complete);
		list = cJSON_AddArrayToObject(rep, "largest_keys");
		for (i = 0; list && i < used; i++) {
			cJSON *o = cJSON_CreateObject();

			cJSON_AddStringToObject(o, "key", top[i].key);
			cJSON_AddNumberToObject(o, "memory_bytes", (double)top[i].bytes);
			cJSON_AddItemToArray(list, o);
		}
	}
	for (i = 0; i < used; i++)
		free(top[i].key);
	free(top);
	return rc;
}

/* ---- stats ---- */

ops_code ops_cache_stats(const ops_run *run, cJSON **report, ops_error *err)
{
	const ops_config *cfg = run->cfg;
	double bar = (double)ops_config_int(cfg, "cache.hit_ratio_bar") / 100;
	double min_lookups = (double)ops_config_int(cfg, "cache.hit_ratio_min_lookups");
	double mem_bar = (double)ops_config_int(cfg, "cache.memory_bar") / 100;
	double frag, keys, expires;
	ops_redis_usage u;
	ops_redis_info *info = NULL;
	ops_redis_reply *ls = NULL;
	ops_redis *r = NULL;
	cJSON *rep = cJSON_CreateObject(), *problems, *fig;
	const char *v;
	char when[OPS_TIME_ISO_SIZE];
	ops_code rc;

	*report = rep;
	if (!rep)
		return ops_error_oom(err);
	if ((rc = cx_connect(run, &r, rep, err)) != OPS_OK)
		goto out;
	/* The default sections: server, memory, persistence, stats, keyspace... */
	if ((rc = ops_redis_info_get(r, NULL, &info, err)) != OPS_OK)
		goto out;
	if ((v = ops_redis_info_value(info, "redis_version")))
		cJSON_AddStringToObject(rep, "redis_version", v);
	add_info_int(rep, "uptime_seconds", info, "uptime_in_seconds");
	ops_redis_info_usage(info, &u);
	add_info_int(rep, "used_memory_bytes", info, "used_memory");
	add_info_int(rep, "used_memory_rss_bytes", info, "used_memory_rss");
	add_info_int(rep, "used_memory_peak_bytes", info, "used_memory_peak");
	add_info_int(rep, "maxmemory_bytes", info, "maxmemory");
	if (u.memory_ratio >= 0)
		cJSON_AddNumberToObject(rep, "memory_used_ratio", u.memory_ratio);
	else
		cJSON_AddNullToObject(rep, "memory_used_ratio");
	cJSON_AddNumberToObject(rep, "memory_used_bar", mem_bar);
	if ((v = ops_redis_info_value(info, "maxmemory_policy")))
		cJSON_AddStringToObject(rep, "maxmemory_policy", v);
	frag = cx_info_number(info, "mem_fragmentation_ratio");
	if (frag >= 0)
		cJSON_AddNumberToObject(rep, "fragmentation_ratio", frag);
	else
		cJSON_AddNullToObject(rep, "fragmentation_ratio");
	add_keyspace(rep, info, &keys, &expires);
	add_info_int(rep, "keyspace_hits", info, "keyspace_hits");
	add_info_int(rep, "keyspace_misses", info, "keyspace_misses");
	if (u.hit_ratio >= 0)
		cJSON_AddNumberToObject(rep, "hit_ratio", u.hit_ratio);
	else
		cJSON_AddNullToObject(rep, "hit_ratio");
	cJSON_AddNumberToObject(rep, "hit_ratio_bar", bar);
	add_info_int(rep, "evicted_keys", info, "evicted_keys");
	add_info_int(rep, "expired_keys", info, "expired_keys");

	if ((rc = ops_redis_call(r, &ls, err, "LASTSAVE", NULL)) != OPS_OK)
		goto out;
	if (ls->type == OPS_REDIS_INTEGER) {
		cJSON_AddStringToObject(rep, "last_save", ops_time_iso((time_t)ls->integer, when));
		cJSON_AddNumberToObject(rep, "last_save_age_seconds",
					(double)(ops_run_now(run) - (time_t)ls->integer));
	}
	if ((v = ops_redis_info_value(info, "rdb_last_bgsave_status")))
		cJSON_AddStringToObject(rep, "last_bgsave_status", v);
	if (ops_config_int(cfg, "cache.slowlog_count") > 0 &&
	    (rc = add_slowlog(r, ops_config_int(cfg, "cache.slowlog_count"), rep, err)) != OPS_OK)
		goto out;
	if ((rc = add_doctor(r, rep, err)) != OPS_OK)
		goto out;
	if (ops_config_int(cfg, "cache.sample_keys") > 0 &&
	    (rc = add_largest(run, r, rep, err)) != OPS_OK)
		goto out;

	problems = cJSON_AddArrayToObject(rep, "problems");
	if (ops_redis_usage_hit_ratio_judged(&u, min_lookups) && u.hit_ratio < bar)
		ops_json_add_stringf(problems, "cache hit ratio %.3f is below cache.hit_ratio_bar %.2f "
			    "(%.0f hits, %.0f misses)", u.hit_ratio, bar, u.hits, u.misses);
	if (u.memory_ratio > mem_bar)
		ops_json_add_stringf(problems, "Redis uses %.0f%% of maxmemory, above cache.memory_bar %.0f%%",
			    100 * u.memory_ratio, 100 * mem_bar);
	if ((v = ops_redis_info_value(info, "rdb_last_bgsave_status")) && strcmp(v, "ok") != 0)
		ops_json_add_stringf(problems, "the last background save failed (rdb_last_bgsave_status %s)",
			    v);

	fig = cJSON_AddObjectToObject(rep, "_figures");
	if (u.hit_ratio >= 0)
		cJSON_AddNumberToObject(fig, "opsctl_cache_hit_ratio", u.hit_ratio);
	if (u.used_memory >= 0)
		cJSON_AddNumberToObject(fig, "opsctl_cache_used_memory_bytes", u.used_memory);
	if (u.memory_ratio >= 0)
		cJSON_AddNumberToObject(fig, "opsctl_cache_memory_used_ratio", u.memory_ratio);
	if (frag >= 0)
		cJSON_AddNumberToObject(fig, "opsctl_cache_fragmentation_ratio", frag);
	cJSON_AddNumberToObject(fig, "opsctl_cache_keys", keys);
	if (cx_info_number(info, "evicted_keys") >= 0)
		cJSON_AddNumberToObject(fig, "opsctl_cache_evicted_keys",
					cx_info_number(info, "evicted_keys"));
	if (cx_info_number(info, "expired_keys") >= 0)
		cJSON_AddNumberToObject(fig, "opsctl_cache_expired_keys",
					cx_info_number(info, "expired_keys"));
	if (ls && ls->type == OPS_REDIS_INTEGER)
		cJSON_AddNumberToObject(fig, "opsctl_cache_last_save_age_seconds",
					(double)(ops_run_now(run) - (time_t)ls->integer));
	cJSON_AddNumberToObject(fig, "opsctl_cache_problems", cJSON_GetArraySize(problems));

	/* One line naming every problem, for cron mail and CI logs. */
	if (cJSON_GetArraySize(problems) > 0) {
		char line[sizeof err->message];

		rc = ops_error_set(err, OPS_EFAIL, "%s", ops_json_join(problems, line, sizeof line));
	}
out:
	ops_redis_reply_free(ls);
	ops_redis_info_free(info);
	ops_redis_close(r);
	return rc;
}
