/*
 * keys/spec: the configured credentials, through keys_creds_load over a
 * configuration built here, so that every driver's parse callback is
 * reached the way rotate-keys reaches it.  Good items of keys.database,
 * keys.redis, keys.api_keys (an env variable, or table:...) and keys.jwt
 * give the ids, names and fields the engine and the state files rely on;
 * bad ones give the exact one-line error (and its hint), and nothing is
 * returned.  Also: the order, -t's type filter, each type's maximum age,
 * the JWT grace period, an item configured twice, and keys_file_name.
 * No server is needed: parsing never connects.
 */
#include <stdarg.h>

#include "keys/keys_internal.h"
#include "unit.h"

static ops_config *cfg;
static ops_run run;
static ops_error err;
static keys_cred **creds;

/* A fresh configuration: pairs of key, value, NULL-terminated. */
static void setup(const char *key, ...)
{
	va_list ap;
	const char *k, *v;
	ops_error e;

	keys_creds_free(creds);
	creds = NULL;
	ops_config_free(cfg);
	cfg = ops_config_new();
	va_start(ap, key);
	for (k = key; k; k = va_arg(ap, const char *)) {
		v = va_arg(ap, const char *);
		if (ops_config_set(cfg, k, v, "test", &e) != OPS_OK)
			fprintf(stderr, "config %s: %s\n", k, e.message);
	}
	va_end(ap);
	ops_run_init(&run, cfg);
	ops_error_clear(&err);
}

static ops_code load(unsigned types)
{
	keys_creds_free(creds);
	creds = NULL;
	ops_error_clear(&err);
	return keys_creds_load(&run, types, &creds, &err);
}

static size_t count(void)
{
	size_t n = 0;

	while (creds && creds[n])
		n++;
	return n;
}

/* key = item fails with exactly message (and hint, when not NULL). */
static int fails(const char *key, const char *item, const char *message, const char *hint)
{
	int ok;

	setup(key, item, (const char *)NULL);
	ok = load(0) == OPS_ECONFIG && creds == NULL && strcmp(err.message, message) == 0 &&
	     (!hint || strcmp(err.hint, hint) == 0);
	if (!ok)
		fprintf(stderr, "  %s = %s\n  got:  %s\n  hint: %s\n  want: %s\n", key, item,
			err.message, err.hint, message);
	return ok;
}

#define PG_HINT "Write ROLE[@DATABASE]:PASSWORD_VAR, or " \
		"ROLE_A/ROLE_B[@DATABASE]:PASSWORD_VAR:USER_VAR for two roles used in turn."
#define TABLE_HINT "Write table:TABLE[@DATABASE]:NAME:VAR (the row named NAME in TABLE " \
		   "holds the hash of the key VAR holds in the env file)."

TEST(nothing_configured)
{
	setup(NULL);
	CHECK_INT(load(0), OPS_OK);
	CHECK(creds != NULL);
	CHECK_INT(count(), 0);
}

TEST(database_good)
{
	setup("keys.database", "rag_app@rag_db:DB_PASSWORD, rot_a/rot_b:APP_PW:APP_USER",
	      "db.name", "chatbot_db", (const char *)NULL);
	CHECK_INT(load(0), OPS_OK);
	CHECK_INT(count(), 2);
	if (count() != 2)
		return;
	CHECK(creds[0]->driver == &keys_driver_postgres);
	CHECK_INT(creds[0]->type, KEYS_DATABASE);
	CHECK_STR(creds[0]->id, "database:rag_app@rag_db");
	CHECK_STR(creds[0]->display, "PostgreSQL role rag_app on rag_db");
	CHECK_STR(creds[0]->role[0], "rag_app");
	CHECK(creds[0]->role[1] == NULL);
	CHECK_STR(creds[0]->target, "rag_db");
	CHECK_STR(creds[0]->var, "DB_PASSWORD");
	CHECK(creds[0]->user_var == NULL);
	CHECK_STR(creds[0]->spec, "rag_app@rag_db:DB_PASSWORD");
	CHECK_STR(creds[0]->file, "database_rag_app_rag_db-20b85d7a");
	/* No @DATABASE: db.name is where the login is tested. */
	CHECK_STR(creds[1]->id, "database:rot_a/rot_b@chatbot_db");
	CHECK_STR(creds[1]->display, "PostgreSQL roles rot_a/rot_b on chatbot_db");
	CHECK_STR(creds[1]->role[1], "rot_b");
	CHECK(creds[1]->target == NULL);
	CHECK_STR(creds[1]->user_var, "APP_USER");
	CHECK_INT(creds[0]->max_age, 180L * 86400);
	CHECK_INT(creds[0]->grace, 86400);
}

TEST(database_bad)
{
	CHECK(fails("keys.database", "rag_app",
		    "keys.database: item 'rag_app': no PASSWORD_VAR after the role", PG_HINT));
	CHECK(fails("keys.database", "rag_app:1PW",
		    "keys.database: item 'rag_app:1PW': not a variable name: '1PW'", PG_HINT));
	CHECK(fails("keys.database", "a/b:PW:9U",
		    "keys.database: item 'a/b:PW:9U': not a variable name: '9U'", PG_HINT));
	CHECK(fails("keys.database", "a/b@db:PW",
		    "keys.database: item 'a/b@db:PW': two roles need a USER_VAR naming the "
		    "current one", PG_HINT));
	CHECK(fails("keys.database", "a@db:PW:USER",
		    "keys.database: item 'a@db:PW:USER': a USER_VAR is only for two roles "
		    "(ROLE_A/ROLE_B)", PG_HINT));
	CHECK(fails("keys.database", "a@:PW",
		    "keys.database: item 'a@:PW': not a database name: ''", PG_HINT));
	CHECK(fails("keys.database", "a@x@y:PW",
		    "keys.database: item 'a@x@y:PW': not a database name: 'x@y'", PG_HINT));
	CHECK(fails("keys.database", "1role:PW",
		    "keys.database: item '1role:PW': not a role name (letters, digits, _ and $, "
		    "at most 63 bytes): '1role'", PG_HINT));
	CHECK(fails("keys.database", "a/a:PW:U",
		    "keys.database: item 'a/a:PW:U': the two roles must differ", PG_HINT));
}

TEST(redis_good)
{
	setup("keys.redis", "default:REDIS_PASSWORD, app.user-1:APP_REDIS_PW", (const char *)NULL);
	CHECK_INT(load(0), OPS_OK);
	CHECK_INT(count(), 2);
	if (count() != 2)
		return;
	CHECK(creds[0]->driver == &keys_driver_redis);
	CHECK_INT(creds[0]->type, KEYS_DATABASE);
	CHECK_STR(creds[0]->id, "redis:default");
	CHECK_STR(creds[0]->display, "Redis user default");
	CHECK_STR(creds[0]->role[0], "default");
	CHECK_STR(creds[0]->var, "REDIS_PASSWORD");
	CHECK_STR(creds[1]->id, "redis:app.user-1");
	CHECK_INT(creds[1]->max_age, 180L * 86400);
}

TEST(redis_bad)
{
	const char *hint = "Write USER:PASSWORD_VAR (default:REDIS_PASSWORD for requirepass).";

	CHECK(fails("keys.redis", "app", "keys.redis: item 'app' names no PASSWORD_VAR", hint));
	CHECK(fails("keys.redis", "app:1X", "keys.redis: item 'app:1X': not a variable name '1X'",
		    hint));
	CHECK(fails("keys.redis", "app user:PW",
		    "keys.redis: item 'app user:PW': not a Redis user name (letters, digits, '_', "
		    "'.' and '-', at most 127 bytes) 'app user'", hint));
	CHECK(fails("keys.redis", ":PW",
		    "keys.redis: item ':PW': not a Redis user name (letters, digits, '_', '.' and "
		    "'-', at most 127 bytes) ''", hint));
}

TEST(api_keys_env_good)
{
	setup("keys.api_keys", "API_KEY, _Internal_Key2", (const char *)NULL);
	CHECK_INT(load(0), OPS_OK);
	CHECK_INT(count(), 2);
	if (count() != 2)
		return;
	CHECK(creds[0]->driver == &keys_driver_api_key_env);
	CHECK_INT(creds[0]->type, KEYS_API_KEYS);
	CHECK_STR(creds[0]->id, "api-key:API_KEY");
	CHECK_STR(creds[0]->display, "the API key API_KEY");
	CHECK_STR(creds[0]->var, "API_KEY");
	CHECK_STR(creds[1]->var, "_Internal_Key2");
	CHECK_INT(creds[0]->max_age, 90L * 86400);
}

TEST(api_keys_env_bad)
{
	CHECK(fails("keys.api_keys", "1KEY",
		    "keys.api_keys: '1KEY' is not the API key: VAR must be an environment variable "
		    "name ([A-Za-z_][A-Za-z0-9_]*)", NULL));
	CHECK(fails("keys.api_keys", "API-KEY",
		    "keys.api_keys: 'API-KEY' is not the API key: VAR must be an environment "
		    "variable name ([A-Za-z_][A-Za-z0-9_]*)", NULL));
	/* Not the table prefix: an env variable name cannot hold ':'. */
	CHECK(fails("keys.api_keys", "tables:x:y:Z",
		    "keys.api_keys: 'tables:x:y:Z' is not the API key: VAR must be an environment "
		    "variable name ([A-Za-z_][A-Za-z0-9_]*)", NULL));
}

TEST(api_keys_table_good)
{
	setup("keys.api_keys",
	      "table:api_keys:svc:SVC_API_KEY, API_KEY, "
	      "table:auth.api_keys@sqlite:/srv/hub/knowledge_hub.db:hub-search.v2:HUB_KEY, "
	      "table:keys@rag_db:svc:RAG_KEY",
	      "db.name", "chatbot_db", (const char *)NULL);
	CHECK_INT(load(0), OPS_OK);
	CHECK_INT(count(), 4);
	if (count() != 4)
		return;
	CHECK(creds[0]->driver == &keys_driver_api_key_table);
	CHECK_INT(creds[0]->type, KEYS_API_KEYS);
	CHECK_STR(creds[0]->id, "api-key-table:api_keys:svc@chatbot_db");
	CHECK_STR(creds[0]->display, "API key svc in table api_keys on chatbot_db");
	CHECK_STR(creds[0]->extra, "api_keys");
	CHECK_STR(creds[0]->role[0], "svc");
	CHECK_STR(creds[0]->var, "SVC_API_KEY");
	CHECK(creds[0]->target == NULL);
	CHECK_INT(creds[0]->max_age, 90L * 86400);
	/* The plain item beside it keeps the env-file driver. */
	CHECK(creds[1]->driver == &keys_driver_api_key_env);
	/* A DATABASE may hold ':' (sqlite:PATH): NAME and VAR are taken from the right. */
	CHECK_STR(creds[2]->target, "sqlite:/srv/hub/knowledge_hub.db");
	CHECK_STR(creds[2]->extra, "auth.api_keys");
	CHECK_STR(creds[2]->role[0], "hub-search.v2");
	CHECK_STR(creds[2]->var, "HUB_KEY");
	CHECK_STR(creds[2]->id,
		  "api-key-table:auth.api_keys:hub-search.v2@sqlite:/srv/hub/knowledge_hub.db");
	CHECK(strchr(creds[2]->file, '/') == NULL && strchr(creds[2]->file, ':') == NULL);
	CHECK_STR(creds[3]->id, "api-key-table:keys:svc@rag_db");
	CHECK_STR(creds[3]->target, "rag_db");
	/* Without db.name the id names no database (it is checked when used). */
	setup("keys.api_keys", "table:api_keys:svc:K", (const char *)NULL);
	CHECK_INT(load(0), OPS_OK);
	if (count() == 1)
		CHECK_STR(creds[0]->id, "api-key-table:api_keys:svc");
}

TEST(api_keys_table_bad)
{
	CHECK(fails("keys.api_keys", "table:api_keys",
		    "keys.api_keys: item 'table:api_keys': no NAME:VAR after the table", TABLE_HINT));
	CHECK(fails("keys.api_keys", "table:api_keys:K",
		    "keys.api_keys: item 'table:api_keys:K': no NAME:VAR after the table",
		    TABLE_HINT));
	CHECK(fails("keys.api_keys", "table:api_keys:svc:1K",
		    "keys.api_keys: item 'table:api_keys:svc:1K': not a variable name '1K'",
		    TABLE_HINT));
	CHECK(fails("keys.api_keys", "table:api_keys:svc:",
		    "keys.api_keys: item 'table:api_keys:svc:': not a variable name ''", TABLE_HINT));
	CHECK(fails("keys.api_keys", "table:api_keys:s v:K",
		    "keys.api_keys: item 'table:api_keys:s v:K': not a key name (letters, digits, "
		    "'_', '.' and '-') 's v'", TABLE_HINT));
	CHECK(fails("keys.api_keys", "table:api_keys::K",
		    "keys.api_keys: item 'table:api_keys::K': not a key name (letters, digits, "
		    "'_', '.' and '-') ''", TABLE_HINT));
	CHECK(fails("keys.api_keys", "table:1keys:svc:K",
		    "keys.api_keys: item 'table:1keys:svc:K': not a table name (TABLE or "
		    "SCHEMA.TABLE) '1keys'", TABLE_HINT));
	CHECK(fails("keys.api_keys", "table:a.b.c:svc:K",
		    "keys.api_keys: item 'table:a.b.c:svc:K': not a table name (TABLE or "
		    "SCHEMA.TABLE) 'a.b.c'", TABLE_HINT));
	CHECK(fails("keys.api_keys", "table::svc:K",
		    "keys.api_keys: item 'table::svc:K': not a table name (TABLE or "
		    "SCHEMA.TABLE) ''", TABLE_HINT));
	CHECK(fails("keys.api_keys", "table:keys@:svc:K",
		    "keys.api_keys: item 'table:keys@:svc:K': no database after '@'", TABLE_HINT));
	/* A URI may carry a password: the message leaves the item's middle out. */
	CHECK(fails("keys.api_keys", "table:keys@postgresql://u:pw-secret@h/db:svc:K",
		    "keys.api_keys: item 'table:keys@...:svc:K': DATABASE is a URI; name the "
		    "database or write sqlite:PATH", "Host, port and user come from [db]."));
	CHECK(strstr(err.message, "pw-secret") == NULL);
}

TEST(api_keys_table_columns)
{
	setup("keys.api_keys", "table:api_keys:svc:K", "keys.api_key_columns", "name,key_hash",
	      (const char *)NULL);
	CHECK_INT(load(0), OPS_ECONFIG);
	CHECK_STR(err.message, "keys.api_keys: keys.api_key_columns names 2 columns, not 5");
	CHECK_STR(err.hint, "Write NAME,KEY_HASH,CREATED_AT,EXPIRES_AT,REVOKED_AT: the columns "
		  "of the key table in this order.");
	setup("keys.api_keys", "table:api_keys:svc:K", "keys.api_key_columns",
	      "name,key_hash,created_at,expires-at,revoked_at", (const char *)NULL);
	CHECK_INT(load(0), OPS_ECONFIG);
	CHECK_STR(err.message, "keys.api_keys: keys.api_key_columns: not a column name "
		  "'expires-at'");
	setup("keys.api_keys", "table:api_keys:svc:K", "keys.api_key_copy_columns",
	      "scopes,owner;drop", (const char *)NULL);
	CHECK_INT(load(0), OPS_ECONFIG);
	CHECK_STR(err.message, "keys.api_keys: keys.api_key_copy_columns: not a column name "
		  "'owner;drop'");
	/* The columns matter only to table items. */
	setup("keys.api_keys", "API_KEY", "keys.api_key_columns", "name", (const char *)NULL);
	CHECK_INT(load(0), OPS_OK);
	setup("keys.api_keys", "table:api_keys:svc:K", "keys.api_key_columns",
	      "label,digest,issued,valid_until,revoked", "keys.api_key_copy_columns",
	      "scopes, owner_id", (const char *)NULL);
	CHECK_INT(load(0), OPS_OK);
}

TEST(jwt_good)
{
	setup("keys.jwt", "hs256:JWT_SECRET", "keys.jwt_token_lifetime", "2d",
	      "keys.grace_period", "1h", (const char *)NULL);
	CHECK_INT(load(0), OPS_OK);
	CHECK_INT(count(), 1);
	if (count() != 1)
		return;
	CHECK(creds[0]->driver == &keys_driver_jwt_hs256);
	CHECK_INT(creds[0]->type, KEYS_JWT);
	CHECK_STR(creds[0]->id, "jwt-secret:JWT_SECRET");
	CHECK_STR(creds[0]->display, "the JWT secret JWT_SECRET");
	CHECK_STR(creds[0]->var, "JWT_SECRET");
	/* Tokens signed with the old secret verify for as long as they live. */
	CHECK_INT(creds[0]->grace, 2 * 86400);
	CHECK_INT(creds[0]->max_age, 90L * 86400);
	setup("keys.jwt", "hs256:JWT_SECRET", "keys.jwt_token_lifetime", "1m",
	      "keys.grace_period", "1h", (const char *)NULL);
	CHECK_INT(load(0), OPS_OK);
	if (count() == 1)
		CHECK_INT(creds[0]->grace, 3600);
}

TEST(jwt_bad)
{
	CHECK(fails("keys.jwt", "JWT_SECRET",
		    "keys.jwt: 'JWT_SECRET' is not a JWT secret: write hs256:VAR, rs256:DIR[:VAR] or "
		    "es256:DIR[:VAR]", NULL));
	/* A key pair's directory is a path, and an absolute one. */
	CHECK(fails("keys.jwt", "rs256:JWT_KEY",
		    "keys.jwt: 'rs256:JWT_KEY': DIR must be an absolute path; write rs256:DIR[:VAR]",
		    NULL));
	CHECK(fails("keys.jwt", "hs256:1X",
		    "keys.jwt: 'hs256:1X' is not the JWT secret: VAR must be an environment "
		    "variable name ([A-Za-z_][A-Za-z0-9_]*)", NULL));
}

TEST(order_types_and_twice)
{
	setup("keys.jwt", "hs256:JWT_SECRET", "keys.api_keys", "API_KEY, table:k:svc:SVC_KEY",
	      "keys.redis", "app:REDIS_PW", "keys.database", "rag_app@rag_db:DB_PW",
	      (const char *)NULL);
	CHECK_INT(load(0), OPS_OK);
	CHECK_INT(count(), 5);
	if (count() == 5) {
		CHECK_STR(creds[0]->id, "database:rag_app@rag_db");
		CHECK_STR(creds[1]->id, "redis:app");
		CHECK_STR(creds[2]->id, "api-key:API_KEY");
		CHECK_STR(creds[3]->id, "api-key-table:k:svc");
		CHECK_STR(creds[4]->id, "jwt-secret:JWT_SECRET");
	}
	CHECK_INT(load(KEYS_DATABASE), OPS_OK);
	CHECK_INT(count(), 2);
	CHECK_INT(load(KEYS_API_KEYS), OPS_OK);
	CHECK_INT(count(), 2);
	if (count() == 2)
		CHECK(creds[1]->driver == &keys_driver_api_key_table);
	CHECK_INT(load(KEYS_JWT | KEYS_DATABASE), OPS_OK);
	CHECK_INT(count(), 3);
	/* A bad item of a type not asked for is not parsed. */
	setup("keys.jwt", "nonsense", "keys.api_keys", "API_KEY", (const char *)NULL);
	CHECK_INT(load(KEYS_API_KEYS), OPS_OK);
	CHECK_INT(load(0), OPS_ECONFIG);

	CHECK(fails("keys.api_keys", "API_KEY, API_KEY",
		    "credential api-key:API_KEY is configured twice ('API_KEY' and 'API_KEY')",
		    NULL));
	CHECK(fails("keys.api_keys", "table:k:svc:A, table:k:svc:B",
		    "credential api-key-table:k:svc is configured twice ('table:k:svc:A' and "
		    "'table:k:svc:B')", NULL));
}

TEST(file_names)
{
	char *f = keys_file_name("jwt-secret_JWT.x");

	CHECK_STR(f, "jwt-secret_JWT.x");
	free(f);
	f = keys_file_name("a:b");
	CHECK(f && strncmp(f, "a_b-", 4) == 0 && strlen(f) == 12);
	{
		char *g = keys_file_name("a_b");

		/* "a:b" and "a_b" never share a state file. */
		CHECK(g && f && strcmp(f, g) != 0);
		free(g);
	}
	free(f);
	f = keys_file_name(".hidden");
	CHECK(f && f[0] == '_');
	free(f);
}

int main(void)
{
	RUN(nothing_configured);
	RUN(database_good);
	RUN(database_bad);
	RUN(redis_good);
	RUN(redis_bad);
	RUN(api_keys_env_good);
	RUN(api_keys_env_bad);
	RUN(api_keys_table_good);
	RUN(api_keys_table_bad);
	RUN(api_keys_table_columns);
	RUN(jwt_good);
	RUN(jwt_bad);
	RUN(order_types_and_twice);
	RUN(file_names);
	keys_creds_free(creds);
	ops_config_free(cfg);
	return unit_done();
}
