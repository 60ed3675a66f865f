/*
 * Redis ACL users for rotate-keys (-t database, keys.redis: USER:PASSWORD_VAR).
 *
 * A Redis user holds several passwords at once, so no client is ever locked
 * out: ACL SETUSER USER on >NEW adds the new one beside the old, a fresh
 * connection proves it (AUTH USER NEW, PING), and after the grace period
 * ACL SETUSER USER !SHA256(OLD) removes the old one by its hash, which is
 * all the state keeps.  User "default" is requirepass's user: on Redis 6
 * and 7 the same commands change it (a requirepass line in redis.conf would
 * bring the old password back at the next restart unless CONFIG REWRITE or
 * the file is updated: that file is the operator's).
 *
 * The admin connection is keys.redis_url's, else cache.redis_url's, else
 * backup.redis_url's, with the password from REDISCLI_AUTH as everywhere.
 * Passwords travel only inside commands (never argv, never a log line);
 * Redis 7 itself shows AUTH and ACL SETUSER arguments as "(redacted)" in
 * SLOWLOG and keeps ACL commands out of MONITOR.  Its error replies to
 * ACL SETUSER, however, quote the modifier ("Error in ACL SETUSER modifier
 * '<secret'"), so those replies are never passed on whole.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "keys/keys_internal.h"
#include "opsmaint/config.h"
#include "opsmaint/hash.h"
#include "opsmaint/redis.h"

#define USER_MAX 127

struct redis_priv {
	ops_redis *r;		/* the admin connection, opened on first use */
	const char *url_key;
	char old_hash[65];	/* SHA-256 of the password PENDING replaces; "" unknown */
};

static int secret_is(const char *text, const keys_secret *s)
{
	size_t n = text ? strlen(text) : 0;

	return text && s && s->text && n == s->len && CRYPTO_memcmp(text, s->text, n) == 0;
}

static int valid_user(const char *s, size_t n)
{
	return n > 0 && n <= USER_MAX &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") >= n;
}

static ops_code redis_parse(keys_cred *c, ops_error *err)
{
	const char *s = c->spec, *colon = strchr(s, ':');
	size_t ulen = colon ? (size_t)(colon - s) : strlen(s);

	if (!colon || !keys_env_name_valid(colon + 1, strlen(colon + 1)) || !valid_user(s, ulen)) {
		if (colon && valid_user(s, ulen))
			ops_error_set(err, OPS_ECONFIG, "item '%s': not a variable name '%s'", s,
				      colon + 1);
		else if (colon)
			ops_error_set(err, OPS_ECONFIG, "item '%s': not a Redis user name "
				      "(letters, digits, '_', '.' and '-', at most %d bytes) '%.*s'", s,
				      USER_MAX, (int)ulen, s);
		else
			ops_error_set(err, OPS_ECONFIG, "item '%s' names no PASSWORD_VAR", s);
		ops_error_hint(err, "Write USER:PASSWORD_VAR (default:REDIS_PASSWORD for "
			       "requirepass).");
		return OPS_ECONFIG;
	}
	if (!(c->role[0] = strndup(s, ulen)) || !(c->var = strdup(colon + 1)))
		return ops_error_oom(err);
	if (asprintf(&c->id, "redis:%s", c->role[0]) < 0) {
		c->id = NULL;
		return ops_error_oom(err);
	}
	if (asprintf(&c->display, "Redis user %s", c->role[0]) < 0) {
		c->display = NULL;
		return ops_error_oom(err);
	}
	return OPS_OK;
}

static struct redis_priv *priv_of(keys_cred *c)
{
	if (!c->priv)
		c->priv = calloc(1, sizeof(struct redis_priv));
	return c->priv;
}

/* keys.redis_url, else the cache's, else the backup's Redis. */
static const char *url_key_of(const keys_cred *c)
{
	static const char *const keys[] = {"keys.redis_url", "cache.redis_url",
					   "backup.redis_url"};
	size_t i;

	for (i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (keys_cfg(c, keys[i]))
			return keys[i];
	return NULL;
}

/* The admin connection, with the user checked to exist: ACL SETUSER would
 * create a missing one. */
static ops_code admin(keys_cred *c, ops_redis **out, ops_error *err)
{
	struct redis_priv *p = priv_of(c);
	ops_redis_reply *rep = NULL;
	ops_code rc;

	*out = NULL;
	if (!p)
		return ops_error_oom(err);
	if (p->r) {
		*out = p->r;
		return OPS_OK;
	}
	if (!(p->url_key = url_key_of(c))) {
		ops_error_set(err, OPS_ECONFIG, "no Redis for %s", c->display);
		ops_error_hint(err, "Set keys.redis_url (or cache.redis_url), e.g. "
			       "redis://localhost:6379.");
		return OPS_ECONFIG;
	}
	if ((rc = ops_redis_connect_config(c->run->cfg, p->url_key, &p->r, err)) != OPS_OK)
		return rc;
	rc = ops_redis_call(p->r, &rep, err, "ACL", "GETUSER", c->role[0], NULL);
	if (rc == OPS_OK && rep->type == OPS_REDIS_NIL) {
		ops_error_set(err, OPS_ECONFIG, "Redis user '%s' does not exist at '%s'",
			      c->role[0], ops_redis_where(p->r));
		ops_error_hint(err, "Create it (ACL SETUSER %s on ...) or correct keys.redis; "
			       "nothing was changed.", c->role[0]);
		rc = OPS_ECONFIG;
	}
	ops_redis_reply_free(rep);
	if (rc != OPS_OK) {
		ops_redis_close(p->r);
		p->r = NULL;
		return rc;
	}
	*out = p->r;
	return OPS_OK;
}

/*
 * ACL SETUSER USER [on] MODIFIER, where the modifier carries a password or
 * its hash.  absent_ok: removing a password the user no longer has is done
 * already (a repeated step).
 */
static ops_code setuser(keys_cred *c, int on, char prefix, const char *value, int absent_ok,
			ops_error *err)
{
	ops_redis *r;
	ops_redis_reply *rep = NULL;
	const char *argv[5] = {"ACL", "SETUSER", c->role[0]};
	size_t n = strlen(value);
	char *mod, msg[300];
	const char *s, *why;
	int argc = 3;
	ops_code rc;

	if ((rc = admin(c, &r, err)) != OPS_OK)
		return rc;
	if (!(mod = malloc(n + 2)))
		return ops_error_oom(err);
	mod[0] = prefix;
	memcpy(mod + 1, value, n + 1);
	if (on)
		argv[argc++] = "on";
	argv[argc++] = mod;
	rc = ops_redis_command(r, argc, argv, NULL, &rep, err);
	OPENSSL_cleanse(mod, n + 1);
	free(mod);
	if (rc != OPS_OK)
		return rc;
	if (rep->type != OPS_REDIS_ERROR) {
		ops_redis_reply_free(rep);
		return OPS_OK;
	}
	s = rep->str ? rep->str : "";
	if (strncmp(s, "NOPERM", 6) == 0 || strncmp(s, "NOAUTH", 6) == 0) {
		rc = ops_redis_reply_error(r, rep, "ACL SETUSER", err);
	} else if (absent_ok && strstr(s, "does not exist")) {
		rc = OPS_OK;
	} else {
		/* "Error in ACL SETUSER modifier '<secret': why": only the why. */
		why = strstr(s, "modifier '") ? strstr(s, "': ") : NULL;
		snprintf(msg, sizeof msg, "%s", why ? why + 3 : strstr(s, value) ? "refused" : s);
		rc = ops_error_set(err, OPS_EFAIL, "cannot %s a password of Redis user '%s' at "
				   "'%s': %s", prefix == '>' ? "add" : "remove", c->role[0],
				   ops_redis_where(r), msg);
	}
	ops_redis_reply_free(rep);
	return rc;
}

/* Remember the hash of the password the store holds when it is not PENDING:
 * the one to retire once PENDING is current. */
static void note_old(keys_cred *c, const keys_secret *pending, const keys_values *store)
{
	struct redis_priv *p = priv_of(c);
	const char *old = keys_values_get(store, c->var);

	if (p && old && !secret_is(old, pending))
		ops_sha256_hex(old, strlen(old), p->old_hash);
}

/* Before anything changes: the server answers and the user exists. */
static ops_code redis_check(keys_cred *c, const keys_values *store, ops_error *err)
{
	ops_redis *r;

	return admin(c, &r, err);
}

static ops_code redis_current(keys_cred *c, const keys_values *store, keys_secret *out,
			      ops_error *err)
{
	const char *v = keys_values_get(store, c->var);

	if (!v)
		return keys_missing_var(c, c->var, "keys.redis", err);
	return keys_secret_dup(v, out, err);
}

static ops_code redis_set(keys_cred *c, const keys_secret *pending, const keys_values *store,
			  ops_error *err)
{
	note_old(c, pending, store);
	return setuser(c, 1, '>', pending->text, 0, err);
}

static ops_code redis_test(keys_cred *c, const keys_secret *pending, const keys_values *store,
			   ops_error *err)
{
	struct redis_priv *p = priv_of(c);
	ops_redis *r = NULL;
	ops_code rc;

	if (!p)
		return ops_error_oom(err);
	if (!p->url_key && !(p->url_key = url_key_of(c)))
		return ops_error_set(err, OPS_ECONFIG, "no Redis for %s", c->display);
	/* A new connection: the admin one proves nothing about this password. */
	rc = ops_redis_connect_config_as(c->run->cfg, p->url_key, c->role[0], pending->text, &r,
					 err);
	if (rc == OPS_OK)
		rc = ops_redis_call(r, NULL, err, "PING", NULL);
	ops_redis_close(r);
	if (rc != OPS_OK && rc != OPS_EINTR)
		ops_error_prefix(err, "login test with the new password failed");
	return rc;
}

static ops_code redis_deliver(keys_cred *c, const keys_secret *pending, const keys_values *store,
			      keys_values *out, ops_error *err)
{
	note_old(c, pending, store);
	return keys_values_add(out, c->var, pending->text, err);
}

static ops_code redis_unset(keys_cred *c, const keys_secret *pending, const keys_secret *current,
			    const keys_values *store, ops_error *err)
{
	/* The old password was never removed: taking the new one away is all. */
	return setuser(c, 0, '<', pending->text, 1, err);
}

static int is_hash(const char *s)
{
	return strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

/*
 * Called when the rotation is created, with the store as it is before it
 * (keys.c): the hash of the password the store holds, which PENDING
 * replaces.  "" when there is none (NULL would be out of memory).
 */
static char *redis_retire_hint(keys_cred *c, const keys_values *store)
{
	struct redis_priv *p = c->priv;
	const char *cur = keys_values_get(store, c->var);
	char hash[65];

	if (p && p->old_hash[0])
		return strdup(p->old_hash);
	if (!cur)
		return strdup("");
	ops_sha256_hex(cur, strlen(cur), hash);
	return strdup(hash);
}

static ops_code redis_retire(keys_cred *c, const char *prev_hint, const keys_values *store,
			     ops_error *err)
{
	const char *cur = keys_values_get(store, c->var);
	char keep[65];

	if (!prev_hint || !*prev_hint)
		return OPS_OK;
	if (!is_hash(prev_hint))
		return ops_error_set(err, OPS_EFAIL, "the recorded password hash to retire for %s "
				     "is not a SHA-256", c->display);
	if (!cur)
		return keys_missing_var(c, c->var, "keys.redis", err);
	ops_sha256_hex(cur, strlen(cur), keep);
	/* Never the password the application holds now: that would lock it
	 * out, whatever the record says. */
	if (strcmp(prev_hint, keep) == 0) {
		ops_error_set(err, OPS_EFAIL, "not retiring a password of Redis user '%s': it is "
			      "the one %s holds now", c->role[0], c->var);
		ops_error_hint(err, "The state of %s may be stale; check %s in the env file.",
			       c->id, c->var);
		return OPS_EFAIL;
	}
	return setuser(c, 0, '!', prev_hint, 1, err);
}

static void redis_close(keys_cred *c)
{
	struct redis_priv *p = c->priv;

	if (!p)
		return;
	ops_redis_close(p->r);
	free(p);
	c->priv = NULL;
}

const keys_driver keys_driver_redis = {
	.kind = "redis",
	.type = KEYS_DATABASE,
	.parse = redis_parse,
	.check = redis_check,
	.current = redis_current,
	.generate = NULL,
	.set = redis_set,
	.test = redis_test,
	.deliver = redis_deliver,
	.unset = redis_unset,
	.retire = redis_retire,
	.retire_hint = redis_retire_hint,
	.close = redis_close,
};
