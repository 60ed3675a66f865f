/*
 * Secrets only the application itself checks: its API key (keys.api_keys,
 * VAR) and its JWT HMAC secret (keys.jwt, hs256:VAR).  Nothing outside the
 * application accepts them, so there is nothing to set or test on another
 * system: the rotation is the store's.  The new value goes to VAR and the
 * old one to VAR_PREVIOUS, which the application accepts too (an API key
 * a client still sends; a token signed before the rotation) until the
 * grace period ends and a later run removes it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys/keys_internal.h"

static ops_code set_names(keys_cred *c, const char *var, const char *kind, const char *what,
			  ops_error *err)
{
	if (!keys_env_name_valid(var, strlen(var)) || strlen(var) > 200)
		return ops_error_set(err, OPS_ECONFIG, "'%s' is not %s: VAR must be an environment "
				     "variable name ([A-Za-z_][A-Za-z0-9_]*)", c->spec, what);
	if (!(c->var = strdup(var)) || asprintf(&c->id, "%s:%s", kind, var) < 0 ||
	    asprintf(&c->display, "%s %s", what, var) < 0) {
		c->id = c->display = NULL;
		return ops_error_oom(err);
	}
	return OPS_OK;
}

static ops_code api_parse(keys_cred *c, ops_error *err)
{
	return set_names(c, c->spec, "api-key", "the API key", err);
}

static ops_code jwt_parse(keys_cred *c, ops_error *err)
{
	long life;

	if (strncmp(c->spec, "hs256:", 6) != 0)
		return ops_error_set(err, OPS_ECONFIG, "'%s' is not a JWT secret: write hs256:VAR, "
				     "rs256:DIR[:VAR] or es256:DIR[:VAR]", c->spec);
	/* Tokens signed with the old secret verify for as long as they live. */
	life = ops_config_int(c->run->cfg, "keys.jwt_token_lifetime");
	if (life > c->grace)
		c->grace = life;
	return set_names(c, c->spec + 6, "jwt-secret", "the JWT secret", err);
}

static char *previous_name(const keys_cred *c)
{
	char *name = NULL;

	return asprintf(&name, "%s_PREVIOUS", c->var) < 0 ? NULL : name;
}

static ops_code app_current(keys_cred *c, const keys_values *store, keys_secret *out,
			    ops_error *err)
{
	const char *v = keys_values_get(store, c->var);

	if (!v || !*v)
		return ops_error_set(err, OPS_ECONFIG, "%s is not set in %s; set it to the value "
				     "in use first", c->var,
				     ops_config_get(c->run->cfg, "keys.env_file"));
	return keys_secret_dup(v, out, err);
}

static ops_code app_deliver(keys_cred *c, const keys_secret *pending, const keys_values *store,
			    keys_values *out, ops_error *err)
{
	char *prev = previous_name(c);
	ops_code rc;

	if (!prev)
		return ops_error_oom(err);
	rc = keys_values_add(out, c->var, pending->text, err);
	if (rc == OPS_OK)
		rc = keys_values_add(out, prev, keys_values_get(store, c->var), err);
	free(prev);
	return rc;
}

static ops_code app_retire_store(keys_cred *c, keys_values *out, ops_error *err)
{
	char *prev = previous_name(c);
	ops_code rc;

	if (!prev)
		return ops_error_oom(err);
	rc = keys_values_add(out, prev, NULL, err);
	free(prev);
	return rc;
}

const keys_driver keys_driver_api_key_env = {
	.kind = "api-key",
	.type = KEYS_API_KEYS,
	.parse = api_parse,
	.current = app_current,
	.deliver = app_deliver,
	.retire_store = app_retire_store,
};

const keys_driver keys_driver_jwt_hs256 = {
	.kind = "jwt-hs256",
	.type = KEYS_JWT,
	.parse = jwt_parse,
	.current = app_current,
	.deliver = app_deliver,
	.retire_store = app_retire_store,
};
