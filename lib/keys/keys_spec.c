/*
 * The configured credentials: each item of keys.database, keys.redis,
 * keys.api_keys and keys.jwt becomes a keys_cred that its driver parses.
 * The order is the configuration's (database roles, Redis users, API keys,
 * JWT secrets), which is also the order a run rotates them in.  An API key
 * is an env variable (VAR) or a row of a key table (table:...), told apart
 * by the prefix, which no variable name can have.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys/keys_internal.h"
#include "opsmaint/hash.h"

/* keys.jwt items name their algorithm first; the rest are HS256's, whose
 * parse refuses what it does not know. */
static const struct by_prefix {
	const char *prefix;
	const keys_driver *driver;
} jwt_pairs[] = {
	{.prefix = "rs256:", .driver = &keys_driver_jwt_rs256},
	{.prefix = "es256:", .driver = &keys_driver_jwt_es256},
	{.prefix = NULL},
};
/* keys.api_keys items: table:... are rows of a key table, the rest env variables. */
static const struct by_prefix api_key_tables[] = {
	{.prefix = "table:", .driver = &keys_driver_api_key_table},
	{.prefix = NULL},
};

static const struct source {
	const char *key;
	const keys_driver *driver;	/* an item no by_prefix entry claims */
	const char *max_age_key;
	const struct by_prefix *by_prefix;
} sources[] = {
	{.key = "keys.database", .driver = &keys_driver_postgres,
	 .max_age_key = "keys.database_max_age"},
	{.key = "keys.redis", .driver = &keys_driver_redis, .max_age_key = "keys.database_max_age"},
	{.key = "keys.api_keys", .driver = &keys_driver_api_key_env,
	 .max_age_key = "keys.api_keys_max_age", .by_prefix = api_key_tables},
	{.key = "keys.jwt", .driver = &keys_driver_jwt_hs256, .max_age_key = "keys.jwt_max_age",
	 .by_prefix = jwt_pairs},
};

static const keys_driver *driver_for(const struct source *src, const char *item)
{
	const struct by_prefix *b;

	for (b = src->by_prefix; b && b->prefix; b++)
		if (strncmp(item, b->prefix, strlen(b->prefix)) == 0)
			return b->driver;
	return src->driver;
}

char *keys_file_name(const char *id)
{
	size_t n = strlen(id), i;
	char *out = malloc(n + 10), hex[65];
	int changed = 0;

	if (!out)
		return NULL;
	for (i = 0; i < n; i++) {
		char ch = id[i];

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		    ch == '.' || ch == '-' || ch == '_') {
			out[i] = ch;
		} else {
			out[i] = '_';
			changed = 1;
		}
	}
	out[n] = '\0';
	if (n && out[0] == '.')
		out[0] = '_', changed = 1;
	if (changed) {
		/* "a:b" and "a_b" must not share a file. */
		ops_sha256_hex(id, n, hex);
		snprintf(out + n, 10, "-%.8s", hex);
	}
	return out;
}

static void cred_free(keys_cred *c)
{
	if (!c)
		return;
	if (c->driver && c->driver->close)
		c->driver->close(c);
	free(c->id);
	free(c->file);
	free(c->display);
	free(c->spec);
	free(c->target);
	free(c->role[0]);
	free(c->role[1]);
	free(c->var);
	free(c->user_var);
	free(c->extra);
	free(c);
}

void keys_creds_free(keys_cred **creds)
{
	size_t i;

	for (i = 0; creds && creds[i]; i++)
		cred_free(creds[i]);
	free(creds);
}

ops_code keys_creds_load(const ops_run *run, unsigned types, keys_cred ***out, ops_error *err)
{
	keys_cred **list = NULL, **nl;
	size_t n = 0, s, i;
	ops_code rc = OPS_OK;

	*out = NULL;
	for (s = 0; s < sizeof sources / sizeof sources[0]; s++) {
		char **items;

		if (types && !(types & sources[s].driver->type))
			continue;
		if (!(items = ops_config_list(run->cfg, sources[s].key))) {
			rc = ops_error_oom(err);
			goto fail;
		}
		for (i = 0; items[i]; i++) {
			keys_cred *c = calloc(1, sizeof *c);

			if (!c || !(nl = realloc(list, (n + 2) * sizeof *list))) {
				free(c);
				ops_strv_free(items);
				rc = ops_error_oom(err);
				goto fail;
			}
			list = nl;
			list[n++] = c;
			list[n] = NULL;
			c->driver = driver_for(&sources[s], items[i]);
			c->type = (keys_type)c->driver->type;
			c->run = run;
			c->max_age = ops_config_int(run->cfg, sources[s].max_age_key);
			c->grace = ops_config_int(run->cfg, "keys.grace_period");
			if (!(c->spec = strdup(items[i]))) {
				ops_strv_free(items);
				rc = ops_error_oom(err);
				goto fail;
			}
			if ((rc = c->driver->parse(c, err)) != OPS_OK) {
				ops_strv_free(items);
				ops_error_prefix(err, "%s", sources[s].key);
				goto fail;
			}
			if (!(c->file = keys_file_name(c->id))) {
				ops_strv_free(items);
				rc = ops_error_oom(err);
				goto fail;
			}
		}
		ops_strv_free(items);
	}
	/* Two items for one credential would rotate it twice in one run, each
	 * undoing the other's record. */
	for (s = 0; s < n; s++)
		for (i = s + 1; i < n; i++)
			if (strcmp(list[s]->id, list[i]->id) == 0) {
				rc = ops_error_set(err, OPS_ECONFIG, "credential %s is configured twice "
						   "('%s' and '%s')", list[s]->id, list[s]->spec,
						   list[i]->spec);
				goto fail;
			}
	if (!list && !(list = calloc(1, sizeof *list)))
		return ops_error_oom(err);
	*out = list;
	return OPS_OK;
fail:
	keys_creds_free(list);
	return rc;
}
