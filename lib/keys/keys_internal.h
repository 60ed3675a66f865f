/*
 * The keys domain's private interface (rotate-keys, issue 13).
 *
 * A credential ("cred") is one secret some system checks and the
 * application holds: a PostgreSQL login role (or an alternating pair), a
 * Redis ACL user, an API key, a JWT signing secret.  keys.c runs every
 * credential through one protocol, the four steps of AWS Secrets Manager's
 * rotation with a durable record between them:
 *
 *   create   a new random secret, PENDING, sealed into the state directory
 *            before anything else sees it (so a crash can resume with it)
 *   set      the system that checks it accepts PENDING too (or instead,
 *            where it cannot hold two: a single PostgreSQL role)
 *   test     a real login / check with PENDING on that system
 *   deliver  the application's secret store (the env file, Vault) gets
 *            PENDING; then the reload command and the health URL must pass
 *   promote  PENDING becomes CURRENT, the old one PREVIOUS until
 *            keys.grace_period ends; a later run retires it on the system
 *
 * A failed test, reload or health check rolls back: the store gets the old
 * value again, the system stops accepting PENDING, the state returns to
 * CURRENT.  A run killed anywhere resumes at the recorded phase on the next
 * run (every step can be repeated).  The state never holds a secret in
 * clear: fingerprints (HMAC-SHA256 under the seal key) and times only; the
 * sealed PENDING and the sealed value it replaces (for the rollback) exist
 * only while a rotation is under way.
 *
 * A driver is the part that knows one kind of system.  Drivers never print,
 * never log a secret and never put one on argv: they get and give secrets as
 * keys_secret, which keys.c wipes.
 */
#ifndef KEYS_INTERNAL_H
#define KEYS_INTERNAL_H

#include <stddef.h>
#include <sys/stat.h>
#include <time.h>
#include <cjson/cJSON.h>
#include "opsmaint/config.h"
#include "opsmaint/error.h"
#include "opsmaint/keys.h"
#include "opsmaint/run.h"

/* ---- secrets in memory ---- */

/* A secret's bytes, NUL-terminated text (a password, a key, a PEM).  Freed
 * only with keys_secret_wipe, which cleanses it. */
typedef struct keys_secret {
	char *text;
	size_t len;
} keys_secret;

void keys_secret_wipe(keys_secret *s);
/* A random password: n bytes from OpenSSL's RNG as URL-safe base64 without
 * padding (n = 32: 43 characters, only [A-Za-z0-9_-], safe in an env file,
 * a URI and a shell word). */
ops_code keys_secret_random(size_t n, keys_secret *out, ops_error *err);
ops_code keys_secret_dup(const char *text, keys_secret *out, ops_error *err);
/* n bytes as base64url without padding (RFC 4648 section 5, as JOSE writes
 * it) into out, which holds KEYS_B64URL_LEN(n) + 1; returns the length. */
#define KEYS_B64URL_LEN(n) (((n) * 4 + 2) / 3)
size_t keys_b64url(const unsigned char *raw, size_t n, char *out);

/* ---- the env file (keys_envfile.c) ---- */

/*
 * A KEY=VALUE file as docker compose, podman-compose and systemd read it:
 * comments, blank lines, `export KEY=VALUE`, single- and double-quoted
 * values.  Rewritten with every other line, comment and the order kept byte
 * for byte; a changed value is written unquoted when it is only
 * [A-Za-z0-9_./:@+=-], else in single quotes, and in double quotes with
 * \\ \" \$ \n \r escapes when it holds a single quote or a line break (or
 * ends in a backslash).
 */
typedef struct keys_envfile keys_envfile;

/*
 * Read path.  OPS_EPERM (exit 77) when it is readable or writable by group
 * or others (a secrets file must be 0600 or 0400) or a symbolic link,
 * OPS_ECONFIG when missing or not a regular file, OPS_EDATA over 1 MiB or
 * naming the line and variable (never the value) for a line it cannot
 * parse (nothing is rewritten then).  Of duplicate names the last counts.
 */
ops_code keys_envfile_load(const char *path, keys_envfile **out, ops_error *err);
void keys_envfile_free(keys_envfile *f);	/* cleanses the values */
/* 1 when s[0..n) is a variable name the file may set ([A-Za-z_][A-Za-z0-9_]*):
 * what every driver checks its spec's VAR items with. */
int keys_env_name_valid(const char *s, size_t n);
/* The value of name (unquoted), or NULL when the file does not set it. */
const char *keys_envfile_get(const keys_envfile *f, const char *name);
/* Set name (its last line; appended at the end when absent); value NULL
 * removes every line setting it.  A name not [A-Za-z_][A-Za-z0-9_]* is
 * OPS_EINTERNAL. */
ops_code keys_envfile_set(keys_envfile *f, const char *name, const char *value, ops_error *err);
/*
 * Write the file back atomically (temporary file in the same directory,
 * fsync, rename, fsync of the directory) with the original's mode and
 * owner, set before the first byte.  Unchanged content is not rewritten.
 * A file changed on disk since load is OPS_ELOCKED (load it again); on any
 * failure the file is as it was and no temporary file remains.
 */
ops_code keys_envfile_save(keys_envfile *f, ops_error *err);


/* ---- Vault KV v2 (keys_vault.c) ---- */

typedef struct keys_vault keys_vault;

/* From keys.vault_addr, keys.vault_mount, keys.vault_namespace (sent as
 * X-Vault-Namespace), keys.vault_ca_file, and the token: $VAULT_TOKEN as the
 * vault CLI reads it, else keys.vault_token_file (checked as the env file:
 * a link or a group/other mode is OPS_EPERM); never argv.  OPS_ECONFIG when
 * not configured or no token is found. */
ops_code keys_vault_open(const ops_config *cfg, keys_vault **out, ops_error *err);
void keys_vault_free(keys_vault *v);
/*
 * Read the secret at path (its latest version): *data an object of strings
 * (the caller's, to wipe), *version its version (0 when the path has none
 * yet: *data is then an empty object; a deleted latest version keeps its
 * number, which the next write's cas must name).  Errors as for write.
 */
ops_code keys_vault_read(keys_vault *v, const char *path, cJSON **data, long *version,
			 ops_error *err);
/*
 * Write data as a new version with check-and-set cas (the version read;
 * 0: only when none exists).  A lost race (Vault's "check-and-set
 * parameter did not match") is OPS_ELOCKED (exit 75: try later), so a
 * concurrent writer is never overwritten.  Unreachable, or 503 (sealed,
 * standby): OPS_EUNAVAIL; 401/403: OPS_EPERM; other answers OPS_EFAIL with
 * Vault's "errors" text.  Messages name MOUNT/PATH, never a value or the token.
 */
ops_code keys_vault_write(keys_vault *v, const char *path, const cJSON *data, long cas,
			  long *new_version, ops_error *err);

/* ---- credentials ---- */

typedef enum keys_type {
	KEYS_DATABASE = 1,	/* -t database: PostgreSQL roles and Redis users */
	KEYS_API_KEYS = 2,	/* -t api-keys */
	KEYS_JWT = 4		/* -t jwt-secret */
} keys_type;

typedef struct keys_cred keys_cred;
typedef struct keys_driver keys_driver;

/* What delivers a credential: NAME=VALUE pairs for the env file (and the
 * same names in Vault).  Values are secrets or not (a user name). */
typedef struct keys_values {
	char *name[4];
	keys_secret value[4];
	size_t n;
} keys_values;

/* Add a pair; value NULL means "remove the variable" in a change. */
ops_code keys_values_add(keys_values *v, const char *name, const char *value, ops_error *err);
/* The value of name, NULL when absent (or to be removed). */
const char *keys_values_get(const keys_values *v, const char *name);
void keys_values_wipe(keys_values *v);

struct keys_cred {
	const keys_driver *driver;
	keys_type type;
	char *id;		/* stable, for the state file: "database:rag_app@rag_db" */
	char *file;		/* the id as a file name (keys_spec.c makes it) */
	char *display;		/* for people: "PostgreSQL role rag_app on rag_db" */
	char *spec;		/* the configuration item as written */
	/* Parsed from the spec by the driver (keys_spec.c fills the common ones). */
	char *target;		/* database name, or NULL: the configured one */
	char *role[2];		/* role or roles; [1] non-NULL: alternating */
	char *var;		/* env variable holding the secret */
	char *user_var;		/* alternating: env variable naming the current role */
	char *extra;		/* driver-specific remainder of the spec */
	long max_age;		/* seconds: due when CURRENT is older */
	long grace;		/* seconds PREVIOUS keeps working (keys.grace_period) */
	const ops_run *run;
	void *priv;		/* the driver's connection, opened lazily */
};

struct keys_driver {
	const char *kind;	/* "postgres", "redis", "api-key", "jwt-hs256" */
	keys_type type;
	/* Parse c->spec into c's fields (OPS_ECONFIG naming the item). */
	ops_code (*parse)(keys_cred *c, ops_error *err);
	/* Before anything changes, for every credential of the run: it can be
	 * rotated (the server answers, the role or user exists).  NULL: nothing
	 * to check beyond current(). */
	ops_code (*check)(keys_cred *c, const keys_values *store, ops_error *err);
	/* The secret the application holds now, as the store has it (for the
	 * fingerprint and the rollback); values has the store's current pairs. */
	ops_code (*current)(keys_cred *c, const keys_values *store, keys_secret *out,
			    ops_error *err);
	/* A new secret; NULL: keys_secret_random(keys.password_bytes). */
	ops_code (*generate)(keys_cred *c, keys_secret *out, ops_error *err);
	/* The system accepts pending (and still current where it can hold two).
	 * NULL: nothing checks it but the application (an API key, a JWT secret). */
	ops_code (*set)(keys_cred *c, const keys_secret *pending, const keys_values *store,
			ops_error *err);
	/* A real login with pending.  NULL: nothing to test (a file the
	 * application alone reads). */
	ops_code (*test)(keys_cred *c, const keys_secret *pending, const keys_values *store,
			 ops_error *err);
	/* The pairs that deliver pending to the application's store. */
	ops_code (*deliver)(keys_cred *c, const keys_secret *pending, const keys_values *store,
			    keys_values *out, ops_error *err);
	/* Rollback: the system no longer accepts pending; current still works. */
	ops_code (*unset)(keys_cred *c, const keys_secret *pending, const keys_secret *current,
			  const keys_values *store, ops_error *err);
	/* After the grace period: the previous secret, known by its
	 * fingerprint's record (prev_hint, driver-written at promote), stops
	 * working.  NULL: nothing to do (the store no longer has it). */
	ops_code (*retire)(keys_cred *c, const char *prev_hint, const keys_values *store,
			   ops_error *err);
	/* With retire: variables the store drops then (VAR_PREVIOUS), as
	 * pairs with value NULL.  NULL: none. */
	ops_code (*retire_store)(keys_cred *c, keys_values *out, ops_error *err);
	/* What the driver will need to retire today's CURRENT once it is PREVIOUS
	 * (the role the store names now, a key row's id, a password's hash),
	 * never a secret.  Called when a rotation is created, with the store as it
	 * is before any change, and kept in the state until the retirement; ""
	 * for none (NULL is out of memory). */
	char *(*retire_hint)(keys_cred *c, const keys_values *store);
	void (*close)(keys_cred *c);	/* free priv */
};

/* ---- state between runs (keys_state.c) ---- */

#define KEYS_FP_SIZE 17

/* The seal key: keys.seal_key_file, or STATE_DIR/keys/seal.key made on first use. */
ops_code keys_seal_key(const ops_config *cfg, unsigned char key[32], ops_error *err);
/* 16 hex digits of HMAC-SHA256(seal key, context || secret); "" when out of memory. */
void keys_fingerprint(const unsigned char key[32], const char *secret, char out[KEYS_FP_SIZE]);
/* STATE_DIR/keys/FILE.WHAT.sealed: text sealed under key, written atomically, 0600. */
ops_code keys_seal(const ops_config *cfg, const unsigned char key[32], const keys_cred *c,
		   const char *what, const char *text, ops_error *err);
ops_code keys_unseal(const ops_config *cfg, const unsigned char key[32], const keys_cred *c,
		     const char *what, keys_secret *out, ops_error *err);
void keys_unlink_sealed(const ops_config *cfg, const keys_cred *c, const char *what);
/* The same for any path (the -b backups); key_name names the key in errors. */
ops_code keys_seal_file(const unsigned char key[32], const char *path, const char *text,
			ops_error *err);
ops_code keys_unseal_file(const unsigned char key[32], const char *path, const char *key_name,
			  keys_secret *out, ops_error *err);
/* cJSON_Delete after cleansing every string in j (it held secrets). */
void keys_json_wipe_delete(cJSON *j);
/* The credential's state object ({"id", "phase": "current"} when it has none yet). */
ops_code keys_state_load(const ops_config *cfg, const keys_cred *c, cJSON **out, ops_error *err);
ops_code keys_state_save(const ops_config *cfg, const keys_cred *c, const cJSON *st,
			 ops_error *err);

/* ---- -b and restore (keys_backup.c) ---- */

/* Seal set ({"created", "env_file", "credentials": {ID: {VAR: value}}}) as a
 * new backup; id gets "keys-STAMP". */
ops_code keys_backup_save(const ops_config *cfg, const cJSON *set, char id[64], ops_error *err);
/* The backup want ("keys-STAMP", or NULL/"latest": the newest); free *set
 * with keys_json_wipe_delete. */
ops_code keys_backup_load(const ops_config *cfg, const char *want, cJSON **set, char id[64],
			  ops_error *err);

/* ---- the configured credentials (keys_spec.c) ---- */

/* The credentials of types (a KEYS_* mask, 0: all), NULL-terminated, each
 * parsed by its driver.  OPS_ECONFIG naming the first bad item. */
ops_code keys_creds_load(const ops_run *run, unsigned types, keys_cred ***out, ops_error *err);
void keys_creds_free(keys_cred **creds);
/* Helpers the drivers share. */
/* A configuration value, NULL when unset or empty. */
const char *keys_cfg(const keys_cred *c, const char *key);
/* An identifier as PostgreSQL and SQLite write one unquoted, at most 63
 * bytes (it is quoted all the same): a role, a table, a column. */
int keys_sql_ident_valid(const char *s, size_t n);
/* OPS_ECONFIG: name is not set in the env file, with a hint naming the
 * credential and the configuration list (items_key) that named name. */
ops_code keys_missing_var(const keys_cred *c, const char *name, const char *items_key,
			  ops_error *err);
/* "rag_app@db" -> "rag_app_db": [A-Za-z0-9._-] kept, others '_', plus a
 * short hash of the whole when anything was replaced (no two ids collide). */
char *keys_file_name(const char *id);

/* ---- JWT key pairs (keys_jwt.c) ---- */

/* The RFC 7638 thumbprint of a public JWK (kty RSA or EC and its required
 * members), base64url: the kid.  -1 when a member is missing. */
int keys_jwk_thumbprint(const cJSON *jwk, char kid[44]);

extern const keys_driver keys_driver_postgres;
extern const keys_driver keys_driver_redis;
extern const keys_driver keys_driver_api_key_env;
extern const keys_driver keys_driver_api_key_table;
extern const keys_driver keys_driver_jwt_hs256;
extern const keys_driver keys_driver_jwt_rs256;
extern const keys_driver keys_driver_jwt_es256;

#endif
