/*
 * PostgreSQL login roles for rotate-keys (-t database, keys.database).
 *
 * Two strategies.  One role (ROLE[@DB]:PASSWORD_VAR): ALTER ROLE gives it the
 * new password, so a client that reconnects between that and the reload of
 * the application fails once; the old password cannot be kept beside it
 * (a role has one).  Two roles used in turn (A/B[@DB]:PASSWORD_VAR:USER_VAR,
 * both members of one group that holds the grants): the idle one, the one
 * USER_VAR does not name, gets the new password, the application moves to
 * it, and the one it left keeps its password, and its sessions, until the
 * grace period ends; then its password is removed (PASSWORD NULL: sessions
 * go on, new logins fail).  No login ever fails.
 *
 * The password reaches the server only as a SCRAM-SHA-256 verifier computed
 * here (ops_db_password_verifier), so the server log, even with
 * log_statement = all, never holds it; the admin connection is opsctl's own
 * (db.host, db.user, ~/.pgpass).  Roles are checked to exist before anything
 * is altered, since ALTER ROLE on a missing role would fail half-way through
 * a pair.
 *
 * Which role holds PENDING is worked out from the store every time, never
 * remembered across runs: the idle role, unless the store already holds
 * PENDING (a delivery that a killed run finished), in which case it is the
 * role USER_VAR names.  So every step can be repeated by a resumed run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "keys/keys_internal.h"
#include "opsmaint/cancel.h"
#include "opsmaint/config.h"
#include "opsmaint/db.h"

/* PostgreSQL's NAMEDATALEN - 1. */
/* The login test's waits between tries, seconds: about 2 s in all, for a
 * replica or a pooler (PgBouncer's auth_query) to see the new password. */
static const double test_waits[] = {0.1, 0.2, 0.4, 0.6, 0.8};

struct pg_priv {
	ops_db *db;		/* the admin connection, opened on first use */
	char *was_current;	/* alternating: the role PENDING's role replaces */
};

static int secret_is(const char *text, const keys_secret *s)
{
	size_t n = text ? strlen(text) : 0;

	return text && s && s->text && n == s->len && CRYPTO_memcmp(text, s->text, n) == 0;
}

/* The database the roles log in to: ROLE@DB, else db.name. */
static const char *database_of(const keys_cred *c)
{
	return c->target ? c->target : keys_cfg(c, "db.name");
}

#define PG_GRAMMAR "Write ROLE[@DATABASE]:PASSWORD_VAR, or " \
		   "ROLE_A/ROLE_B[@DATABASE]:PASSWORD_VAR:USER_VAR for two roles used in turn."

/* "item 'SPEC': WHAT 'TEXT'" with the grammar as the hint. */
static ops_code bad_item(keys_cred *c, ops_error *err, const char *what, const char *text,
			 size_t n)
{
	if (text)
		ops_error_set(err, OPS_ECONFIG, "item '%s': %s '%.*s'", c->spec, what, (int)n,
			      text);
	else
		ops_error_set(err, OPS_ECONFIG, "item '%s': %s", c->spec, what);
	ops_error_hint(err, PG_GRAMMAR);
	return OPS_ECONFIG;
}

static ops_code pg_parse(keys_cred *c, ops_error *err)
{
	const char *s = c->spec, *colon, *at, *slash, *var, *uvar, *q;
	size_t rlen, n;
	const char *db;
	int r;

	if (!(colon = strchr(s, ':')))
		return bad_item(c, err, "no PASSWORD_VAR after the role", NULL, 0);
	at = memchr(s, '@', (size_t)(colon - s));
	rlen = (size_t)((at ? at : colon) - s);
	slash = memchr(s, '/', rlen);
	var = colon + 1;
	uvar = strchr(var, ':');
	n = uvar ? (size_t)(uvar - var) : strlen(var);
	if (!keys_env_name_valid(var, n))
		return bad_item(c, err, "not a variable name:", var, n);
	if (uvar && !keys_env_name_valid(uvar + 1, strlen(uvar + 1)))
		return bad_item(c, err, "not a variable name:", uvar + 1, strlen(uvar + 1));
	if (slash && !uvar)
		return bad_item(c, err, "two roles need a USER_VAR naming the current one",
				NULL, 0);
	if (!slash && uvar)
		return bad_item(c, err, "a USER_VAR is only for two roles (ROLE_A/ROLE_B)",
				NULL, 0);
	if (at && (colon == at + 1 || ((q = strpbrk(at + 1, "@/")) && q < colon)))
		return bad_item(c, err, "not a database name:", at + 1, (size_t)(colon - at - 1));
	for (r = 0; r < (slash ? 2 : 1); r++) {
		const char *p = r == 0 ? s : slash + 1;
		size_t len = r == 0 ? (slash ? (size_t)(slash - s) : rlen)
				    : rlen - (size_t)(slash + 1 - s);

		if (!keys_sql_ident_valid(p, len))
			return bad_item(c, err, "not a role name (letters, digits, _ and $, "
					"at most 63 bytes):", p, len);
		if (!(c->role[r] = strndup(p, len)))
			return ops_error_oom(err);
	}
	if (slash && strcmp(c->role[0], c->role[1]) == 0)
		return bad_item(c, err, "the two roles must differ", NULL, 0);
	if ((at && !(c->target = strndup(at + 1, (size_t)(colon - at - 1)))) ||
	    !(c->var = strndup(var, n)) || (uvar && !(c->user_var = strdup(uvar + 1))))
		return ops_error_oom(err);
	db = database_of(c);
	if (asprintf(&c->id, "database:%s%s%s%s%s", c->role[0], slash ? "/" : "",
		     slash ? c->role[1] : "", db ? "@" : "", db ? db : "") < 0) {
		c->id = NULL;
		return ops_error_oom(err);
	}
	if (asprintf(&c->display, "PostgreSQL role%s %s%s%s%s%s", slash ? "s" : "", c->role[0],
		     slash ? "/" : "", slash ? c->role[1] : "", db ? " on " : "",
		     db ? db : "") < 0) {
		c->display = NULL;
		return ops_error_oom(err);
	}
	return OPS_OK;
}

static struct pg_priv *priv_of(keys_cred *c)
{
	if (!c->priv)
		c->priv = calloc(1, sizeof(struct pg_priv));
	return c->priv;
}

/* The admin connection, with both roles checked to exist: nothing is altered
 * for a pair of which one is missing. */
static ops_code admin(keys_cred *c, ops_db **out, ops_error *err)
{
	struct pg_priv *p = priv_of(c);
	const char *db = database_of(c);
	ops_rows *rows = NULL;
	ops_code rc;
	int r;

	*out = NULL;
	if (!p)
		return ops_error_oom(err);
	if (p->db) {
		*out = p->db;
		return OPS_OK;
	}
	if (!db) {
		ops_error_set(err, OPS_ECONFIG, "no database for %s", c->display);
		ops_error_hint(err, "Write ROLE@DATABASE in keys.database, or set db.name.");
		return OPS_ECONFIG;
	}
	if ((rc = ops_db_open(c->run->cfg, db, &p->db, err)) != OPS_OK)
		return rc;
	if (ops_db_kind_of(p->db) != OPS_DB_POSTGRES) {
		ops_db_close(p->db);
		p->db = NULL;
		return ops_error_set(err, OPS_ECONFIG, "'%s' is not a PostgreSQL database: "
				     "%s needs one", db, c->display);
	}
	for (r = 0; r < 2 && c->role[r]; r++) {
		const char *params[1] = {c->role[r]};

		rc = ops_db_query(p->db, "SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1",
				  1, params, &rows, err);
		if (rc == OPS_OK && ops_rows_count(rows) == 0) {
			ops_error_set(err, OPS_ECONFIG, "role '%s' does not exist on %s",
				      c->role[r], db);
			ops_error_hint(err, "Create the role (CREATE ROLE %s LOGIN) or correct "
				       "keys.database; nothing was changed.", c->role[r]);
			rc = OPS_ECONFIG;
		}
		ops_rows_free(rows);
		rows = NULL;
		if (rc != OPS_OK) {
			ops_db_close(p->db);
			p->db = NULL;
			return rc;
		}
	}
	*out = p->db;
	return OPS_OK;
}

/* ALTER ROLE role [WITH LOGIN] PASSWORD verifier-of-password, or PASSWORD
 * NULL when password is NULL. */
static ops_code alter_password(keys_cred *c, const char *role, const char *password, int login,
			       ops_error *err)
{
	ops_db *db;
	char *verifier = NULL, *lit = NULL, *qrole = NULL, *sql = NULL;
	ops_code rc;

	if ((rc = admin(c, &db, err)) != OPS_OK)
		return rc;
	if (password &&
	    (rc = ops_db_password_verifier(db, role, password, &verifier, err)) != OPS_OK)
		return rc;
	if ((password && !(lit = ops_db_quote_literal(db, verifier))) ||
	    !(qrole = ops_db_quote_ident(db, role)) ||
	    asprintf(&sql, "ALTER ROLE %s%s PASSWORD %s", qrole, login ? " WITH LOGIN" : "",
		     lit ? lit : "NULL") < 0) {
		sql = NULL;
		rc = ops_error_oom(err);
		goto out;
	}
	/* The server's message names the role, never the statement: its
	 * verifier stays out of errors (and the statement out of our logs). */
	if ((rc = ops_db_exec(db, sql, err)) != OPS_OK)
		ops_error_prefix(err, password ? "cannot set the password of role '%s'"
				      : "cannot remove the password of role '%s'", role);
out:
	if (verifier)
		OPENSSL_cleanse(verifier, strlen(verifier));
	if (lit)
		OPENSSL_cleanse(lit, strlen(lit));
	if (sql)
		OPENSSL_cleanse(sql, strlen(sql));
	free(verifier);
	free(lit);
	free(qrole);
	free(sql);
	return rc;
}

static const char *other_role(const keys_cred *c, const char *role)
{
	return strcmp(role, c->role[0]) == 0 ? c->role[1] : c->role[0];
}

/* The role USER_VAR names now: one of the pair. */
static ops_code named_role(keys_cred *c, const keys_values *store, const char **out,
			   ops_error *err)
{
	const char *cur = keys_values_get(store, c->user_var);

	*out = NULL;
	if (!cur)
		return keys_missing_var(c, c->user_var, "keys.database", err);
	if (strcmp(cur, c->role[0]) != 0 && strcmp(cur, c->role[1]) != 0) {
		ops_error_set(err, OPS_ECONFIG, "%s names role '%s', which is neither %s nor %s",
			      c->user_var, cur, c->role[0], c->role[1]);
		ops_error_hint(err, "Set %s to the role the application logs in as now.",
			       c->user_var);
		return OPS_ECONFIG;
	}
	*out = strcmp(cur, c->role[0]) == 0 ? c->role[0] : c->role[1];
	return OPS_OK;
}

/*
 * The role that gets (or has) PENDING: the single role; of a pair, the idle
 * one, or the one USER_VAR names when the store holds PENDING already.  The
 * other one is remembered as the role to retire.
 */
static ops_code pending_role(keys_cred *c, const keys_secret *pending, const keys_values *store,
			     const char **out, ops_error *err)
{
	struct pg_priv *p;
	const char *named;
	ops_code rc;

	*out = c->role[0];
	if (!c->role[1])
		return OPS_OK;
	if ((rc = named_role(c, store, &named, err)) != OPS_OK)
		return rc;
	*out = pending && secret_is(keys_values_get(store, c->var), pending) ? named
	       : other_role(c, named);
	if (!(p = priv_of(c)))
		return ops_error_oom(err);
	free(p->was_current);
	if (!(p->was_current = strdup(other_role(c, *out))))
		return ops_error_oom(err);
	return OPS_OK;
}

/* Before anything changes: the server answers, the roles exist, USER_VAR
 * names one of the pair. */
static ops_code pg_check(keys_cred *c, const keys_values *store, ops_error *err)
{
	const char *named;
	ops_db *db;
	ops_code rc;

	if ((rc = admin(c, &db, err)) != OPS_OK)
		return rc;
	return c->role[1] ? named_role(c, store, &named, err) : OPS_OK;
}

static ops_code pg_current(keys_cred *c, const keys_values *store, keys_secret *out,
			   ops_error *err)
{
	const char *v = keys_values_get(store, c->var);

	if (!v)
		return keys_missing_var(c, c->var, "keys.database", err);
	return keys_secret_dup(v, out, err);
}

static ops_code pg_set(keys_cred *c, const keys_secret *pending, const keys_values *store,
		       ops_error *err)
{
	const char *role;
	ops_db *db;
	ops_code rc;

	/* Both roles exist before either is touched. */
	if ((rc = admin(c, &db, err)) != OPS_OK ||
	    (rc = pending_role(c, pending, store, &role, err)) != OPS_OK)
		return rc;
	return alter_password(c, role, pending->text, c->role[1] != NULL, err);
}

static void pause_for(double seconds)
{
	struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};

	nanosleep(&ts, NULL);
}

static ops_code pg_test(keys_cred *c, const keys_secret *pending, const keys_values *store,
			ops_error *err)
{
	const char *role, *db = database_of(c);
	ops_db *conn = NULL;
	double one = 0;
	size_t i;
	ops_code rc;

	if ((rc = pending_role(c, pending, store, &role, err)) != OPS_OK)
		return rc;
	if (!db)
		return ops_error_set(err, OPS_ECONFIG, "no database for %s", c->display);
	for (i = 0;; i++) {
		rc = ops_db_open_as(c->run->cfg, db, role, pending->text, &conn, err);
		if (rc == OPS_OK) {
			rc = ops_db_query_number(conn, "SELECT 1", 0, NULL, &one, err);
			ops_db_close(conn);
			conn = NULL;
			if (rc == OPS_OK && one == 1)
				return OPS_OK;
		}
		if (rc == OPS_EINTR || rc == OPS_EUSAGE || rc == OPS_ECONFIG ||
		    i == sizeof test_waits / sizeof test_waits[0] || ops_cancelled())
			break;
		pause_for(test_waits[i]);
	}
	if (rc == OPS_OK)
		rc = ops_error_set(err, OPS_EFAIL, "SELECT 1 as role '%s' on %s returned %g",
				   role, db, one);
	if (rc != OPS_EINTR)
		ops_error_prefix(err, "login test of role '%s' with the new password failed "
				 "(%zu tries)", role, i + 1);
	return rc;
}

static ops_code pg_deliver(keys_cred *c, const keys_secret *pending, const keys_values *store,
			   keys_values *out, ops_error *err)
{
	const char *role;
	ops_code rc;

	if ((rc = pending_role(c, pending, store, &role, err)) != OPS_OK)
		return rc;
	if (c->user_var && (rc = keys_values_add(out, c->user_var, role, err)) != OPS_OK)
		return rc;
	return keys_values_add(out, c->var, pending->text, err);
}

static ops_code pg_unset(keys_cred *c, const keys_secret *pending, const keys_secret *current,
			 const keys_values *store, ops_error *err)
{
	const char *role;
	ops_code rc;

	if (!c->role[1]) {
		/* One role holds one password: back to the one the store has. */
		if (!current || !current->text)
			return ops_error_set(err, OPS_EINTERNAL, "no current password to restore "
					     "for %s", c->display);
		return alter_password(c, c->role[0], current->text, 0, err);
	}
	if ((rc = pending_role(c, pending, store, &role, err)) != OPS_OK)
		return rc;
	return alter_password(c, role, NULL, 0, err);
}

/*
 * Called when the rotation is created, with the store as it is before it
 * (keys.c), after deliver() has worked out PENDING's role: the other one of
 * the pair is the role to retire.  "" for one role: nothing to retire (NULL
 * would be out of memory).
 */
static char *pg_retire_hint(keys_cred *c, const keys_values *store)
{
	struct pg_priv *p = c->priv;
	const char *named;
	ops_error e;

	if (!c->role[1])
		return strdup("");
	if (p && p->was_current)
		return strdup(p->was_current);
	ops_error_clear(&e);
	if (named_role(c, store, &named, &e) != OPS_OK)
		return strdup("");
	return strdup(named);
}

static ops_code pg_retire(keys_cred *c, const char *prev_hint, const keys_values *store,
			  ops_error *err)
{
	const char *named;
	ops_code rc;

	if (!c->role[1] || !prev_hint || !*prev_hint)
		return OPS_OK;
	if (strcmp(prev_hint, c->role[0]) != 0 && strcmp(prev_hint, c->role[1]) != 0)
		return ops_error_set(err, OPS_EFAIL, "the recorded role to retire, '%s', is "
				     "neither %s nor %s", prev_hint, c->role[0], c->role[1]);
	/* Never the role the application logs in as now, whatever the record
	 * says: that would lock it out. */
	if ((rc = named_role(c, store, &named, err)) != OPS_OK)
		return rc;
	if (strcmp(named, prev_hint) == 0) {
		ops_error_set(err, OPS_EFAIL, "not retiring role '%s': %s names it as the "
			      "current role", prev_hint, c->user_var);
		ops_error_hint(err, "Check %s in the env file; the state of %s may be stale.",
			       c->user_var, c->id);
		return OPS_EFAIL;
	}
	return alter_password(c, prev_hint, NULL, 0, err);
}

static void pg_close(keys_cred *c)
{
	struct pg_priv *p = c->priv;

	if (!p)
		return;
	ops_db_close(p->db);
	free(p->was_current);
	free(p);
	c->priv = NULL;
}

const keys_driver keys_driver_postgres = {
	.kind = "postgres",
	.type = KEYS_DATABASE,
	.parse = pg_parse,
	.check = pg_check,
	.current = pg_current,
	.generate = NULL,
	.set = pg_set,
	.test = pg_test,
	.deliver = pg_deliver,
	.unset = pg_unset,
	.retire = pg_retire,
	.retire_hint = pg_retire_hint,
	.close = pg_close,
};
