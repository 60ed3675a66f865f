/*
 * API keys kept as rows of a key table (keys.api_keys items
 * table:TABLE[@DATABASE]:NAME:VAR, -t api-keys).
 *
 * The application checks a presented key by looking its hash up in TABLE;
 * the client that presents it (a service calling the API) reads it from VAR
 * in the env file.  A table holds as many keys per name as it has rows, so
 * no client is ever refused: set adds a row for the new key beside the old
 * one's (copying keys.api_key_copy_columns, its scopes or owner, from it),
 * the env file gets the new key, and after keys.grace_period a later run
 * sets the old row's revoked_at.  The table holds only hashes (SHA-256 or
 * SHA-512 as lowercase hex, keys.api_key_hash); the clear key goes to the
 * env file (and Vault) alone, never into a statement, so a server logging
 * every statement logs hashes.
 *
 * Which row is which is worked out from the hashes every time, never
 * remembered: the old row is the one holding the hash of the key VAR has
 * before delivery (that hash is the retire hint: not a secret, the table
 * holds it too), the new one the hash of PENDING.  So every step can be
 * repeated by a resumed run: set adds no second row for a hash already
 * present, unset deletes only PENDING's row, retire never revokes the row
 * of the key VAR holds now.
 *
 * The SQL is written once for PostgreSQL and SQLite (ops_db_param_prefix,
 * CURRENT_TIMESTAMP); on SQLite the times are compared as CURRENT_TIMESTAMP
 * writes them, 'YYYY-MM-DD HH:MM:SS' in UTC.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "keys/keys_internal.h"
#include "opsmaint/config.h"
#include "opsmaint/db.h"

#define NAME_MAX_LEN 200
#define HASH_HEX_MAX (EVP_MAX_MD_SIZE * 2 + 1)

enum { COL_NAME, COL_HASH, COL_CREATED, COL_EXPIRES, COL_REVOKED, NCOLS };

struct table_priv {
	ops_db *db;		/* opened on first use */
	char *qtable;		/* resolved and quoted */
	char *qcol[NCOLS];
	char *copy_list;	/* keys.api_key_copy_columns quoted, each after ", " */
};

#define GRAMMAR "Write table:TABLE[@DATABASE]:NAME:VAR (the row named NAME in TABLE holds " \
		"the hash of the key VAR holds in the env file)."

static const char *database_of(const keys_cred *c)
{
	return c->target ? c->target : keys_cfg(c, "db.name");
}

static int valid_env_name(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > 200 || (s[0] >= '0' && s[0] <= '9'))
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	return 1;
}

/* TABLE or SCHEMA.TABLE. */
static int valid_table(const char *s, size_t n)
{
	const char *dot = memchr(s, '.', n);

	if (!dot)
		return keys_sql_ident_valid(s, n);
	return keys_sql_ident_valid(s, (size_t)(dot - s)) &&
	       keys_sql_ident_valid(dot + 1, n - (size_t)(dot + 1 - s));
}

static int valid_key_name(const char *s, size_t n)
{
	return n > 0 && n <= NAME_MAX_LEN &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") >= n;
}

static ops_code bad_item(keys_cred *c, ops_error *err, const char *what, const char *text,
			 size_t n)
{
	if (text)
		ops_error_set(err, OPS_ECONFIG, "item '%s': %s '%.*s'", c->spec, what, (int)n,
			      text);
	else
		ops_error_set(err, OPS_ECONFIG, "item '%s': %s", c->spec, what);
	ops_error_hint(err, GRAMMAR);
	return OPS_ECONFIG;
}

/* keys.api_key_columns and keys.api_key_copy_columns are checked with the
 * first item, so a typo there changes nothing either. */
static ops_code check_columns(keys_cred *c, ops_error *err)
{
	static const char *const keys[] = {"keys.api_key_columns", "keys.api_key_copy_columns"};
	ops_code rc = OPS_OK;
	size_t k, i, n;

	for (k = 0; k < 2 && rc == OPS_OK; k++) {
		char **v = ops_config_list(c->run->cfg, keys[k]);

		if (!v)
			return ops_error_oom(err);
		n = ops_strv_len(v);
		if (k == 0 && n != NCOLS) {
			rc = ops_error_set(err, OPS_ECONFIG, "keys.api_key_columns names %zu "
					   "column%s, not 5", n, n == 1 ? "" : "s");
			ops_error_hint(err, "Write NAME,KEY_HASH,CREATED_AT,EXPIRES_AT,REVOKED_AT: "
				       "the columns of the key table in this order.");
		}
		for (i = 0; rc == OPS_OK && i < n; i++)
			if (!keys_sql_ident_valid(v[i], strlen(v[i])))
				rc = ops_error_set(err, OPS_ECONFIG, "%s: not a column name '%s'",
						   keys[k], v[i]);
		ops_strv_free(v);
	}
	return rc;
}

static ops_code table_parse(keys_cred *c, ops_error *err)
{
	const char *rest = c->spec + 6, *last, *prev, *at, *p;
	size_t tlen;
	const char *db;

	/* From the right: NAME and VAR hold no ':', a DATABASE (sqlite:PATH) may. */
	if (!(last = strrchr(rest, ':')))
		return bad_item(c, err, "no NAME:VAR after the table", NULL, 0);
	for (prev = last; prev > rest && prev[-1] != ':'; prev--)
		;
	if (prev == rest)
		return bad_item(c, err, "no NAME:VAR after the table", NULL, 0);
	if (!valid_env_name(last + 1, strlen(last + 1)))
		return bad_item(c, err, "not a variable name", last + 1, strlen(last + 1));
	if (!valid_key_name(prev, (size_t)(last - prev)))
		return bad_item(c, err, "not a key name (letters, digits, '_', '.' and '-')", prev,
				(size_t)(last - prev));
	p = prev - 1;	/* the ':' ending TABLE[@DATABASE] */
	at = memchr(rest, '@', (size_t)(p - rest));
	tlen = (size_t)((at ? at : p) - rest);
	if (!valid_table(rest, tlen))
		return bad_item(c, err, "not a table name (TABLE or SCHEMA.TABLE)", rest, tlen);
	if (at && at + 1 == p)
		return bad_item(c, err, "no database after '@'", NULL, 0);
	if (at && strstr(at + 1, "://")) {
		/* Not the item whole: a URI may carry a password. */
		ops_error_set(err, OPS_ECONFIG, "item 'table:%.*s@...:%.*s:%s': DATABASE is a URI; "
			      "name the database or write sqlite:PATH", (int)tlen, rest,
			      (int)(last - prev), prev, last + 1);
		ops_error_hint(err, "Host, port and user come from [db].");
		return OPS_ECONFIG;
	}
	if (!(c->extra = strndup(rest, tlen)) ||
	    !(c->role[0] = strndup(prev, (size_t)(last - prev))) || !(c->var = strdup(last + 1)) ||
	    (at && !(c->target = strndup(at + 1, (size_t)(p - at - 1)))))
		return ops_error_oom(err);
	if (check_columns(c, err) != OPS_OK)
		return OPS_ECONFIG;
	db = database_of(c);
	if (asprintf(&c->id, "api-key-table:%s:%s%s%s", c->extra, c->role[0], db ? "@" : "",
		     db ? db : "") < 0) {
		c->id = NULL;
		return ops_error_oom(err);
	}
	if (asprintf(&c->display, "API key %s in table %s%s%s", c->role[0], c->extra,
		     db ? " on " : "", db ? db : "") < 0) {
		c->display = NULL;
		return ops_error_oom(err);
	}
	return OPS_OK;
}

/* keys.api_key_hash of text, lowercase hex. */
static ops_code key_hash(const keys_cred *c, const char *text, char out[HASH_HEX_MAX],
			 ops_error *err)
{
	const char *alg = keys_cfg(c, "keys.api_key_hash");
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;
	static const char hex[] = "0123456789abcdef";

	if (!EVP_Digest(text, strlen(text), md, &n,
			alg && strcmp(alg, "sha512") == 0 ? EVP_sha512() : EVP_sha256(), NULL))
		return ops_error_set(err, OPS_EINTERNAL, "cannot compute the hash of a key");
	for (i = 0; i < n; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[2 * n] = '\0';
	return OPS_OK;
}

static ops_code not_in_store(const keys_cred *c, ops_error *err)
{
	const char *file = keys_cfg(c, "keys.env_file");

	ops_error_set(err, OPS_ECONFIG, "%s is not set in the env file '%s'", c->var,
		      file ? file : "(keys.env_file unset)");
	ops_error_hint(err, "Add %s=... with the key the client presents now, for %s.", c->var,
		       c->display);
	return OPS_ECONFIG;
}

static void priv_free(struct table_priv *p)
{
	int i;

	if (!p)
		return;
	ops_db_close(p->db);
	free(p->qtable);
	for (i = 0; i < NCOLS; i++)
		free(p->qcol[i]);
	free(p->copy_list);
	free(p);
}

/* The table, resolved, with every configured column checked to exist. */
static ops_code open_table(keys_cred *c, struct table_priv **out, ops_error *err)
{
	struct table_priv *p = c->priv;
	const char *db = database_of(c);
	char **cols = NULL, **copy = NULL, *sql = NULL, *q;
	size_t n = 0, i;
	ops_rows *rows = NULL;
	FILE *f = NULL;
	ops_code rc;

	*out = NULL;
	if (p) {
		*out = p;
		return OPS_OK;
	}
	if (!db) {
		ops_error_set(err, OPS_ECONFIG, "no database for %s", c->display);
		ops_error_hint(err, "Write table:TABLE@DATABASE:NAME:VAR in keys.api_keys, or set "
			       "db.name.");
		return OPS_ECONFIG;
	}
	if (!(p = calloc(1, sizeof *p)) ||
	    !(cols = ops_config_list(c->run->cfg, "keys.api_key_columns")) ||
	    !(copy = ops_config_list(c->run->cfg, "keys.api_key_copy_columns"))) {
		rc = ops_error_oom(err);
		goto out;
	}
	if ((rc = ops_db_open(c->run->cfg, db, &p->db, err)) != OPS_OK)
		goto out;
	if ((rc = ops_db_resolve_table(p->db, c->extra, keys_cfg(c, "db.schema"), &p->qtable,
				       err)) != OPS_OK) {
		ops_error_prefix(err, "%s", c->display);
		goto out;
	}
	for (i = 0; i < NCOLS; i++)
		if (!(p->qcol[i] = ops_db_quote_ident(p->db, cols[i]))) {
			rc = ops_error_oom(err);
			goto out;
		}
	if (!(f = open_memstream(&p->copy_list, &n))) {
		rc = ops_error_oom(err);
		goto out;
	}
	for (i = 0; copy[i]; i++) {
		if (!(q = ops_db_quote_ident(p->db, copy[i])))
			break;
		fprintf(f, ", %s", q);
		free(q);
	}
	if (fclose(f) != 0 || copy[i] || !p->copy_list) {
		rc = ops_error_oom(err);
		goto out;
	}
	/* Every column named, in one statement that reads no row. */
	if (asprintf(&sql, "SELECT %s, %s, %s, %s, %s%s FROM %s WHERE 1 = 0", p->qcol[0],
		     p->qcol[1], p->qcol[2], p->qcol[3], p->qcol[4], p->copy_list,
		     p->qtable) < 0) {
		sql = NULL;
		rc = ops_error_oom(err);
		goto out;
	}
	if ((rc = ops_db_query(p->db, sql, 0, NULL, &rows, err)) != OPS_OK) {
		ops_error_prefix(err, "table %s on %s lacks a column that keys.api_key_columns or "
				 "keys.api_key_copy_columns names", c->extra, db);
		goto out;
	}
	c->priv = p;
	*out = p;
	p = NULL;
out:
	ops_rows_free(rows);
	free(sql);
	ops_strv_free(cols);
	ops_strv_free(copy);
	priv_free(p);
	return rc;
}

/* Rows of the key named NAME with hash, valid ones only when valid. */
static ops_code count_rows(keys_cred *c, struct table_priv *p, const char *hash, int valid,
			   double *n, ops_error *err)
{
	const char *params[2] = {c->role[0], hash}, *d = ops_db_param_prefix(p->db);
	const char *x = p->qcol[COL_EXPIRES];
	char *sql = NULL;
	ops_code rc;
	int r;

	if (valid)
		r = asprintf(&sql, "SELECT count(*) FROM %s WHERE %s = %s1 AND %s = %s2 AND %s IS NULL "
			     "AND (%s IS NULL OR %s > CURRENT_TIMESTAMP)", p->qtable,
			     p->qcol[COL_NAME], d, p->qcol[COL_HASH], d, p->qcol[COL_REVOKED], x, x);
	else
		r = asprintf(&sql, "SELECT count(*) FROM %s WHERE %s = %s1 AND %s = %s2", p->qtable,
			     p->qcol[COL_NAME], d, p->qcol[COL_HASH], d);
	if (r < 0)
		return ops_error_oom(err);
	rc = ops_db_query_number(p->db, sql, 2, params, n, err);
	free(sql);
	return rc;
}

static ops_code store_hash(keys_cred *c, const keys_values *store, char out[HASH_HEX_MAX],
			   ops_error *err)
{
	const char *v = keys_values_get(store, c->var);

	if (!v || !*v)
		return not_in_store(c, err);
	return key_hash(c, v, out, err);
}

static ops_code table_current(keys_cred *c, const keys_values *store, keys_secret *out,
			      ops_error *err)
{
	const char *v = keys_values_get(store, c->var);

	if (!v || !*v)
		return not_in_store(c, err);
	return keys_secret_dup(v, out, err);
}

/* Before anything changes: the table and its columns exist, and the key
 * VAR holds has a valid row there (else the client is refused already, and
 * a new row beside it would copy nothing). */
static ops_code table_check(keys_cred *c, const keys_values *store, ops_error *err)
{
	struct table_priv *p;
	char hash[HASH_HEX_MAX];
	double n = 0;
	ops_code rc;

	if ((rc = open_table(c, &p, err)) != OPS_OK || (rc = store_hash(c, store, hash, err)) ||
	    (rc = count_rows(c, p, hash, 1, &n, err)) != OPS_OK)
		return rc;
	if (n < 1) {
		ops_error_set(err, OPS_ECONFIG, "no valid row of %s holds the hash of the key in %s",
			      c->display, c->var);
		ops_error_hint(err, "The row named %s must hold the %s hex of %s's value, with "
			       "revoked_at unset and expires_at unset or ahead (keys.api_key_columns, "
			       "keys.api_key_hash).", c->role[0],
			       keys_cfg(c, "keys.api_key_hash") ? keys_cfg(c, "keys.api_key_hash")
							       : "sha256", c->var);
		return OPS_ECONFIG;
	}
	return OPS_OK;
}

static ops_code table_set(keys_cred *c, const keys_secret *pending, const keys_values *store,
			  ops_error *err)
{
	struct table_priv *p;
	char new_hash[HASH_HEX_MAX], old_hash[HASH_HEX_MAX], *sql = NULL;
	const char *params[3], *d;
	ops_rows *rows = NULL;
	double n = 0;
	ops_code rc;

	if ((rc = open_table(c, &p, err)) != OPS_OK ||
	    (rc = key_hash(c, pending->text, new_hash, err)) != OPS_OK ||
	    (rc = store_hash(c, store, old_hash, err)) != OPS_OK)
		return rc;
	/* A run killed after the INSERT and before its phase was saved. */
	if ((rc = count_rows(c, p, new_hash, 0, &n, err)) != OPS_OK || n >= 1)
		return rc;
	d = ops_db_param_prefix(p->db);
	/* Copied from the old row, so that the new key has its scopes; no old
	 * row, no new one. */
	if (asprintf(&sql, "INSERT INTO %s (%s, %s, %s%s) SELECT %s1, %s2, CURRENT_TIMESTAMP%s "
		     "FROM %s WHERE %s = %s1 AND %s = %s3 LIMIT 1", p->qtable, p->qcol[COL_NAME],
		     p->qcol[COL_HASH], p->qcol[COL_CREATED], p->copy_list, d, d, p->copy_list,
		     p->qtable, p->qcol[COL_NAME], d, p->qcol[COL_HASH], d) < 0) {
		sql = NULL;
		rc = ops_error_oom(err);
		goto out;
	}
	params[0] = c->role[0];
	params[1] = new_hash;
	params[2] = old_hash;
	if ((rc = ops_db_query(p->db, sql, 3, params, &rows, err)) != OPS_OK) {
		ops_error_prefix(err, "cannot add the new key's row to %s", c->extra);
		if (!*err->hint)
			ops_error_hint(err, "The table must take a second row named %s (the old "
				       "key stays valid until keys.grace_period ends).",
				       c->role[0]);
		goto out;
	}
	if ((rc = count_rows(c, p, new_hash, 0, &n, err)) == OPS_OK && n < 1)
		rc = ops_error_set(err, OPS_EFAIL, "no row of %s holds the hash of the key in %s "
				   "any more: nothing to issue the new key beside", c->display,
				   c->var);
out:
	ops_rows_free(rows);
	free(sql);
	return rc;
}

/* The application would take the new key: its row is there and valid. */
static ops_code table_test(keys_cred *c, const keys_secret *pending, const keys_values *store,
			   ops_error *err)
{
	struct table_priv *p;
	char hash[HASH_HEX_MAX];
	double n = 0;
	ops_code rc;

	(void)store;
	if ((rc = open_table(c, &p, err)) != OPS_OK ||
	    (rc = key_hash(c, pending->text, hash, err)) != OPS_OK ||
	    (rc = count_rows(c, p, hash, 1, &n, err)) != OPS_OK)
		return rc;
	if (n < 1)
		return ops_error_set(err, OPS_EFAIL, "the new key's row of %s is missing, revoked "
				     "or expired", c->display);
	return OPS_OK;
}

static ops_code table_deliver(keys_cred *c, const keys_secret *pending, const keys_values *store,
			      keys_values *out, ops_error *err)
{
	(void)store;
	return keys_values_add(out, c->var, pending->text, err);
}

/* Rollback: PENDING's row goes (it was never delivered for good). */
static ops_code table_unset(keys_cred *c, const keys_secret *pending, const keys_secret *current,
			    const keys_values *store, ops_error *err)
{
	struct table_priv *p;
	char hash[HASH_HEX_MAX], *sql;
	const char *params[2];
	ops_rows *rows = NULL;
	ops_code rc;

	(void)current;
	(void)store;
	if ((rc = open_table(c, &p, err)) != OPS_OK ||
	    (rc = key_hash(c, pending->text, hash, err)) != OPS_OK)
		return rc;
	if (asprintf(&sql, "DELETE FROM %s WHERE %s = %s1 AND %s = %s2", p->qtable,
		     p->qcol[COL_NAME], ops_db_param_prefix(p->db), p->qcol[COL_HASH],
		     ops_db_param_prefix(p->db)) < 0)
		return ops_error_oom(err);
	params[0] = c->role[0];
	params[1] = hash;
	if ((rc = ops_db_query(p->db, sql, 2, params, &rows, err)) != OPS_OK)
		ops_error_prefix(err, "cannot delete the new key's row from %s", c->extra);
	ops_rows_free(rows);
	free(sql);
	return rc;
}

/* The hash of the key being replaced: the row to revoke later.  "" when the
 * store has none (NULL would be out of memory). */
static char *table_retire_hint(keys_cred *c, const keys_values *store)
{
	char hash[HASH_HEX_MAX];
	ops_error e;

	ops_error_clear(&e);
	return strdup(store_hash(c, store, hash, &e) == OPS_OK ? hash : "");
}

static ops_code table_retire(keys_cred *c, const char *prev_hint, const keys_values *store,
			     ops_error *err)
{
	struct table_priv *p;
	char now_hash[HASH_HEX_MAX], *sql;
	const char *params[2];
	ops_rows *rows = NULL;
	ops_code rc;

	if (!prev_hint || !*prev_hint)
		return OPS_OK;
	if ((rc = open_table(c, &p, err)) != OPS_OK ||
	    (rc = store_hash(c, store, now_hash, err)) != OPS_OK)
		return rc;
	/* Never the key the client holds now, whatever the record says. */
	if (strcmp(now_hash, prev_hint) == 0) {
		ops_error_set(err, OPS_EFAIL, "not revoking the row of the key %s holds now",
			      c->var);
		ops_error_hint(err, "Check %s in the env file; the state of %s may be stale.",
			       c->var, c->id);
		return OPS_EFAIL;
	}
	if (asprintf(&sql, "UPDATE %s SET %s = CURRENT_TIMESTAMP WHERE %s = %s1 AND %s = %s2 "
		     "AND %s IS NULL", p->qtable, p->qcol[COL_REVOKED], p->qcol[COL_NAME],
		     ops_db_param_prefix(p->db), p->qcol[COL_HASH], ops_db_param_prefix(p->db),
		     p->qcol[COL_REVOKED]) < 0)
		return ops_error_oom(err);
	params[0] = c->role[0];
	params[1] = prev_hint;
	if ((rc = ops_db_query(p->db, sql, 2, params, &rows, err)) != OPS_OK)
		ops_error_prefix(err, "cannot revoke the previous key's row in %s", c->extra);
	ops_rows_free(rows);
	free(sql);
	return rc;
}

static void table_close(keys_cred *c)
{
	priv_free(c->priv);
	c->priv = NULL;
}

const keys_driver keys_driver_api_key_table = {
	.kind = "api-key-table",
	.type = KEYS_API_KEYS,
	.parse = table_parse,
	.check = table_check,
	.current = table_current,
	.set = table_set,
	.test = table_test,
	.deliver = table_deliver,
	.unset = table_unset,
	.retire = table_retire,
	.retire_hint = table_retire_hint,
	.close = table_close,
};
