/*
 * scan -t infra (issue 14): the deployment's servers and files as they are
 * configured now.  PostgreSQL over libpq (the cluster's settings and
 * pg_hba.conf once per server, grants and guide 004's access review once per
 * database), the Redis opsctl is configured for, the TLS certificate files
 * of scan.cert_files, the permissions of the state dir, the backups and the
 * configuration file, and Lynis's report when there is one.
 *
 * Cluster-wide settings are checked once per server however many of its
 * databases are scanned, so that one pg_hba line is one finding.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "opsmaint/db.h"
#include "opsmaint/fileio.h"
#include "opsmaint/log.h"
#include "opsmaint/redis.h"
#include "scan/scan_internal.h"

/* One finding; sev < 0: the rule's default. */
static ops_code add(scan_ctx *s, const char *rule, int sev, const char *target,
		    const char *file, const char *fp_extra, ops_error *err, const char *fmt, ...)
	__attribute__((format(printf, 8, 9)));

static ops_code add(scan_ctx *s, const char *rule, int sev, const char *target,
		    const char *file, const char *fp_extra, ops_error *err, const char *fmt, ...)
{
	scan_finding f = {0};
	char evidence[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(evidence, sizeof evidence, fmt, ap);
	va_end(ap);
	f.rule = rule;
	f.use_rule_severity = sev < 0;
	f.severity = sev < 0 ? OPS_SEV_INFO : (ops_severity)sev;
	f.target = target;
	f.file = file;
	f.evidence = evidence;
	f.fp_extra = fp_extra;
	return scan_add(s, &f, err);
}

/* A check that could not run (no privilege to read pg_hba_file_rules): an
 * info finding, so that a clean result is never mistaken for a checked one. */
static ops_code unchecked(scan_ctx *s, const char *target, const char *what,
			  const ops_error *why, ops_error *err)
{
	ops_log_warn("scan: %s: cannot check %s: %s", target, what, why->message);
	return add(s, "infra.unchecked", -1, target, NULL, what, err, "cannot check %s: %s",
		   what, why->message);
}

/* ---- PostgreSQL ---- */

static const char *val(const ops_rows *r, int row, int col)
{
	const char *v = ops_rows_value(r, row, col);

	return v ? v : "";
}

static int is_true(const char *v)
{
	return v && (strcmp(v, "t") == 0 || strcmp(v, "on") == 0);
}

static ops_code pg_hba(scan_ctx *s, ops_db *db, const char *server, ops_error *err)
{
	ops_rows *r = NULL;
	ops_error e = {0};
	ops_code rc = OPS_OK;
	const char *hba_file = NULL;
	int i;

	if (ops_db_query(db, "SELECT line_number, type, "
			 "pg_catalog.array_to_string(database, ','), "
			 "pg_catalog.array_to_string(user_name, ','), "
			 "coalesce(address, ''), coalesce(netmask, ''), coalesce(auth_method, ''), "
			 "pg_catalog.current_setting('hba_file') "
			 "FROM pg_catalog.pg_hba_file_rules WHERE error IS NULL ORDER BY line_number",
			 0, NULL, &r, &e) != OPS_OK)
		return unchecked(s, server, "pg_hba.conf (pg_hba_file_rules)", &e, err);
	for (i = 0; rc == OPS_OK && i < ops_rows_count(r); i++) {
		const char *line = val(r, i, 0), *type = val(r, i, 1), *dbs = val(r, i, 2);
		const char *users = val(r, i, 3), *addr = val(r, i, 4), *mask = val(r, i, 5);
		const char *method = val(r, i, 6);
		char text[512];
		int local = strcmp(type, "local") == 0;

		hba_file = val(r, i, 7);
		snprintf(text, sizeof text, "%s %s %s%s%s%s%s %s", type, dbs, users, *addr ? " " : "",
			 addr, *mask ? "/" : "", mask, method);
		if (strcmp(method, "trust") == 0)
			rc = add(s, "infra.pg.hba-trust", local ? OPS_SEV_HIGH : OPS_SEV_CRITICAL,
				 server, hba_file, text, err, "pg_hba.conf line %s: %s", line, text);
		if (rc == OPS_OK && (strcmp(method, "md5") == 0 || strcmp(method, "password") == 0))
			rc = add(s, "infra.pg.hba-weak-auth",
				 strcmp(method, "password") == 0 ? OPS_SEV_HIGH : -1, server,
				 hba_file, text, err, "pg_hba.conf line %s: %s", line, text);
		if (rc == OPS_OK && !local &&
		    (strcmp(addr, "all") == 0 ||
		     (strcmp(addr, "0.0.0.0") == 0 && strcmp(mask, "0.0.0.0") == 0) ||
		     (strcmp(addr, "::") == 0 && strcmp(mask, "::") == 0)))
			rc = add(s, "infra.pg.hba-open-address", -1, server, hba_file, text, err,
				 "pg_hba.conf line %s: %s", line, text);
	}
	ops_rows_free(r);
	return rc;
}

/* The settings and roles of the cluster db is on. */
static ops_code pg_cluster(scan_ctx *s, ops_db *db, const char *server, ops_error *err)
{
	ops_rows *r = NULL;
	ops_error e = {0};
	ops_code rc;
	int i;

	if (ops_db_query(db, "SELECT pg_catalog.current_setting('ssl'), "
			 "pg_catalog.current_setting('password_encryption'), "
			 "pg_catalog.current_setting('listen_addresses'), "
			 "pg_catalog.current_setting('log_connections')", 0, NULL, &r, &e) != OPS_OK)
		return unchecked(s, server, "the server's settings", &e, err);
	rc = OPS_OK;
	if (!is_true(val(r, 0, 0)))
		rc = add(s, "infra.pg.ssl-off", -1, server, NULL, NULL, err, "ssl = %s", val(r, 0, 0));
	if (rc == OPS_OK && strcmp(val(r, 0, 1), "scram-sha-256") != 0)
		rc = add(s, "infra.pg.password-encryption", -1, server, NULL, NULL, err,
			 "password_encryption = %s", val(r, 0, 1));
	if (rc == OPS_OK) {
		char *la = strdup(val(r, 0, 2)), *tok, *save = NULL;
		int all = 0;

		if (!la) {
			ops_rows_free(r);
			return ops_error_oom(err);
		}
		for (tok = strtok_r(la, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save))
			if (!strcmp(tok, "*") || !strcmp(tok, "0.0.0.0") || !strcmp(tok, "::"))
				all = 1;
		free(la);
		if (all)
			rc = add(s, "infra.pg.listen-all", -1, server, NULL, NULL, err,
				 "listen_addresses = '%s'", val(r, 0, 2));
	}
	if (rc == OPS_OK && !is_true(val(r, 0, 3)))
		rc = add(s, "infra.pg.log-connections-off", -1, server, NULL, NULL, err,
			 "log_connections = %s", val(r, 0, 3));
	ops_rows_free(r);
	r = NULL;
	if (rc != OPS_OK || (rc = pg_hba(s, db, server, err)) != OPS_OK)
		return rc;
	/* oid 10 is the bootstrap superuser initdb made, whatever its name. */
	if (ops_db_query(db, "SELECT rolname, rolsuper, rolcreaterole FROM pg_catalog.pg_roles "
			 "WHERE rolcanlogin AND (rolsuper OR rolcreaterole) AND oid <> 10 "
			 "ORDER BY rolname", 0, NULL, &r, &e) != OPS_OK)
		return unchecked(s, server, "the login roles", &e, err);
	for (i = 0; rc == OPS_OK && i < ops_rows_count(r); i++) {
		char target[1024];

		snprintf(target, sizeof target, "%s role %s", server, val(r, i, 0));
		rc = add(s, "infra.pg.privileged-role", -1, target, NULL, NULL, err,
			 "login role %s has %s", val(r, i, 0),
			 is_true(val(r, i, 1)) ? "SUPERUSER" : "CREATEROLE");
	}
	ops_rows_free(r);
	return rc;
}

/* Guide 004's access review, on the application's own users table. */
static ops_code pg_access_review(scan_ctx *s, ops_db *db, const char *where, ops_error *err)
{
	const char *table = ops_config_get(scan_cfg(s), "scan.users_table");
	const char *params[2];
	char days[32], *sql = NULL;
	ops_rows *r = NULL;
	ops_error e = {0};
	ops_code rc = OPS_OK;
	int i;

	if (!table || !*table)
		return OPS_OK;
	params[0] = table;
	if (ops_db_query(db, "SELECT pg_catalog.to_regclass($1)::text", 1, params, &r, &e) != OPS_OK)
		return unchecked(s, where, "the users table", &e, err);
	if (!ops_rows_value(r, 0, 0)) {
		ops_rows_free(r);
		return OPS_OK;	/* not this database's table */
	}
	if (asprintf(&sql, "SELECT username::text, last_login_at IS NULL, "
		     "last_login_at < pg_catalog.now() - pg_catalog.make_interval(days => $1::int), "
		     "pg_catalog.to_char(last_login_at, 'YYYY-MM-DD'), "
		     "coalesce(roles::text, '') ILIKE '%%admin%%', coalesce(status::text, '') "
		     "FROM %s ORDER BY username", val(r, 0, 0)) < 0) {
		ops_rows_free(r);
		return ops_error_oom(err);
	}
	ops_rows_free(r);
	r = NULL;
	snprintf(days, sizeof days, "%ld", ops_config_int(scan_cfg(s), "scan.inactive_days"));
	params[0] = days;
	if (ops_db_query(db, sql, 1, params, &r, &e) != OPS_OK) {
		free(sql);
		return unchecked(s, where, "the users table (username, roles, status, last_login_at)",
				 &e, err);
	}
	free(sql);
	for (i = 0; rc == OPS_OK && i < ops_rows_count(r); i++) {
		char target[1024];

		snprintf(target, sizeof target, "%s user %s", where, val(r, i, 0));
		if (is_true(val(r, i, 1)))
			rc = add(s, "infra.access.inactive-user", -1, target, NULL, NULL, err,
				 "never logged in (status %s)", val(r, i, 5));
		else if (is_true(val(r, i, 2)))
			rc = add(s, "infra.access.inactive-user", -1, target, NULL, NULL, err,
				 "last login %s, more than %s days ago (status %s)", val(r, i, 3),
				 days, val(r, i, 5));
		if (rc == OPS_OK && is_true(val(r, i, 4)))
			rc = add(s, "infra.access.admin-user", -1, target, NULL, NULL, err,
				 "an admin user (status %s)", val(r, i, 5));
	}
	ops_rows_free(r);
	return rc;
}

static ops_code pg_database(scan_ctx *s, const char *dbname, char ***seen, ops_error *err)
{
	ops_db *db = NULL;
	ops_rows *r = NULL;
	ops_error e = {0};
	ops_code rc;
	char server[300], where[600], what[300];
	size_t n;

	snprintf(what, sizeof what, "PostgreSQL %s", dbname);
	if (ops_db_open(scan_cfg(s), dbname, &db, &e) != OPS_OK)
		return scan_unreachable(s, "infra", what, &e, err);
	if (ops_db_query(db, "SELECT 'postgresql://' || coalesce(pg_catalog.host("
			 "pg_catalog.inet_server_addr()), 'localhost') || ':' || "
			 "pg_catalog.current_setting('port'), pg_catalog.current_database()",
			 0, NULL, &r, &e) != OPS_OK) {
		ops_db_close(db);
		return scan_unreachable(s, "infra", what, &e, err);
	}
	snprintf(server, sizeof server, "%s", val(r, 0, 0));
	snprintf(where, sizeof where, "%s/%s", server, val(r, 0, 1));
	ops_rows_free(r);
	r = NULL;
	rc = OPS_OK;
	for (n = 0; *seen && (*seen)[n]; n++)
		if (strcmp((*seen)[n], server) == 0)
			break;
	if (!*seen || !(*seen)[n]) {
		char **grown = realloc(*seen, (n + 2) * sizeof *grown);

		if (!grown || !(grown[n] = strdup(server))) {
			if (grown)
				*seen = grown;
			ops_db_close(db);
			return ops_error_oom(err);
		}
		grown[n + 1] = NULL;
		*seen = grown;
		rc = pg_cluster(s, db, server, err);
	}
	if (rc == OPS_OK) {
		if (ops_db_query(db, "SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = 'public' "
				 "AND pg_catalog.has_schema_privilege('public', oid, 'CREATE')",
				 0, NULL, &r, &e) != OPS_OK)
			rc = unchecked(s, where, "the grants on schema public", &e, err);
		else if (ops_rows_count(r) > 0)
			rc = add(s, "infra.pg.public-schema-create", -1, where, NULL, NULL, err,
				 "PUBLIC has CREATE on schema public");
		ops_rows_free(r);
	}
	if (rc == OPS_OK)
		rc = pg_access_review(s, db, where, err);
	ops_db_close(db);
	return rc;
}

static ops_code check_postgres(scan_ctx *s, ops_error *err)
{
	char **targets = NULL, **seen = NULL;
	ops_error e = {0};
	ops_code rc = OPS_OK;
	size_t i;

	/* No database configured: nothing of PostgreSQL to check, the rest goes on. */
	if (ops_db_targets(scan_cfg(s), NULL, &targets, &e) != OPS_OK) {
		ops_log_info("scan: no PostgreSQL checks: %s", e.message);
		return OPS_OK;
	}
	for (i = 0; rc == OPS_OK && targets[i]; i++) {
		ops_db_kind kind;

		if (ops_db_target_kind(targets[i], &kind, NULL, &e) != OPS_OK || kind != OPS_DB_POSTGRES)
			continue;
		if ((rc = ops_run_check_cancel(scan_run(s), err)) == OPS_OK)
			rc = pg_database(s, targets[i], &seen, err);
	}
	ops_strv_free(targets);
	ops_strv_free(seen);
	return rc;
}

/* ---- Redis ---- */

static const char *const dangerous[][4] = {
	/* the command, and arguments for ACL DRYRUN (a subcommand that changes things) */
	{"FLUSHALL", NULL}, {"FLUSHDB", NULL}, {"CONFIG", "SET", "maxmemory", "0"},
	{"DEBUG", "SLEEP", "0", NULL}, {"KEYS", "*", NULL},
};

static int word_in(const char *list, const char *word)
{
	size_t n = strlen(word);
	const char *p = list;

	while ((p = strstr(p, word))) {
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return 1;
		p += n;
	}
	return 0;
}

static ops_code redis_checks(scan_ctx *s, ops_redis *rd, const char *server, ops_error *err)
{
	ops_redis_reply *acl = NULL, *rep = NULL;
	ops_error e = {0};
	ops_code rc = OPS_OK;
	char *v = NULL, target[1024];
	size_t i, u;

	/* Users: ACL LIST shows each user's password state and rules. */
	if (ops_redis_call(rd, &acl, &e, "ACL", "LIST", NULL) != OPS_OK) {
		if ((rc = unchecked(s, server, "the ACL users (ACL LIST)", &e, err)) != OPS_OK)
			return rc;
		acl = NULL;
	}
	for (u = 0; acl && acl->type == OPS_REDIS_ARRAY && rc == OPS_OK && u < acl->elements; u++) {
		const char *line = acl->element[u]->str ? acl->element[u]->str : "";
		char user[128] = "";

		sscanf(line, "user %127s", user);
		if (word_in(line, "on") && word_in(line, "nopass")) {
			snprintf(target, sizeof target, "%s user %s", server, user);
			rc = add(s, "infra.redis.no-password", -1, target, NULL, NULL, err,
				 "user %s on nopass", user);
		}
	}
	/* Settings. */
	if (rc == OPS_OK && ops_redis_config_get(rd, "protected-mode", &v, &e) == OPS_OK) {
		if (strcasecmp(v, "no") == 0)
			rc = add(s, "infra.redis.protected-mode-off", -1, server, NULL, NULL, err,
				 "protected-mode no");
		free(v);
		v = NULL;
	} else if (rc == OPS_OK) {
		rc = unchecked(s, server, "the settings (CONFIG GET)", &e, err);
		goto out;	/* no CONFIG GET: the other settings cannot be read either */
	}
	if (rc == OPS_OK && ops_redis_config_get(rd, "bind", &v, &e) == OPS_OK) {
		char *tok, *save = NULL, *copy = strdup(v);
		int all = 0;

		for (tok = copy ? strtok_r(copy, " ", &save) : NULL; tok; tok = strtok_r(NULL, " ", &save)) {
			if (*tok == '-')
				tok++;
			if (!strcmp(tok, "*") || !strcmp(tok, "0.0.0.0") || !strcmp(tok, "::") ||
			    !strcmp(tok, "::*"))
				all = 1;
		}
		if (all || !*v)
			rc = add(s, "infra.redis.bind-all", -1, server, NULL, NULL, err, "bind '%s'", v);
		free(copy);
		free(v);
		v = NULL;
	}
	if (rc == OPS_OK && ops_redis_config_get(rd, "port", &v, &e) == OPS_OK) {
		char *tls = NULL;

		if (strcmp(v, "0") != 0) {
			if (ops_redis_config_get(rd, "tls-port", &tls, &e) != OPS_OK || !tls ||
			    strcmp(tls, "0") == 0)
				rc = add(s, "infra.redis.tls-off", -1, server, NULL, NULL, err,
					 "port %s without TLS, no tls-port", v);
			else
				rc = add(s, "infra.redis.tls-off", -1, server, NULL, NULL, err,
					 "plain port %s open beside tls-port %s", v, tls);
		}
		free(tls);
		free(v);
		v = NULL;
	}
	/* Dangerous commands: absent when renamed or disabled (rename-command),
	 * else refused to every enabled user by ACL rules (ACL DRYRUN). */
	for (i = 0; rc == OPS_OK && i < sizeof dangerous / sizeof dangerous[0]; i++) {
		char users[300] = "", lower[16];
		size_t k, j;
		int argc;
		const char *argv[8];

		for (k = 0; dangerous[i][0][k] && k < sizeof lower - 1; k++)
			lower[k] = (char)(dangerous[i][0][k] | 0x20);
		lower[k] = '\0';
		if (ops_redis_call(rd, &rep, &e, "COMMAND", "INFO", lower, NULL) != OPS_OK) {
			rc = unchecked(s, server, "the dangerous commands (COMMAND INFO)", &e, err);
			break;
		}
		k = rep->type == OPS_REDIS_ARRAY && rep->elements == 1 &&
		    rep->element[0]->type == OPS_REDIS_ARRAY;
		ops_redis_reply_free(rep);
		rep = NULL;
		if (!k)
			continue;	/* renamed or disabled */
		if (strcmp(dangerous[i][0], "DEBUG") == 0 &&
		    ops_redis_config_get(rd, "enable-debug-command", &v, &e) == OPS_OK) {
			int off = strcmp(v, "no") == 0;

			free(v);
			v = NULL;
			if (off)
				continue;
		}
		for (u = 0; acl && acl->type == OPS_REDIS_ARRAY && u < acl->elements; u++) {
			const char *line = acl->element[u]->str ? acl->element[u]->str : "";
			char user[128] = "";

			if (sscanf(line, "user %127s", user) != 1 || !word_in(line, "on"))
				continue;
			argc = 0;
			argv[argc++] = "ACL";
			argv[argc++] = "DRYRUN";
			argv[argc++] = user;
			for (j = 0; j < 4 && dangerous[i][j]; j++)
				argv[argc++] = dangerous[i][j];
			if (ops_redis_command(rd, argc, argv, NULL, &rep, &e) != OPS_OK) {
				rc = unchecked(s, server, "the dangerous commands (ACL DRYRUN)", &e, err);
				goto out;
			}
			/* +OK: allowed; a text reply: refused; an error (Redis 6 has no
			 * DRYRUN, or no right to it): counted as allowed, not assumed safe. */
			if ((rep->type == OPS_REDIS_STATUS || rep->type == OPS_REDIS_ERROR) &&
			    strlen(users) + strlen(user) + 3 < sizeof users)
				snprintf(users + strlen(users), sizeof users - strlen(users), "%s%s",
					 *users ? ", " : "", user);
			ops_redis_reply_free(rep);
			rep = NULL;
		}
		/* Without ACL LIST (Redis < 6 or no right to it) a present command counts. */
		if (*users || !acl) {
			snprintf(target, sizeof target, "%s command %s", server, dangerous[i][0]);
			rc = add(s, "infra.redis.dangerous-command", -1, target, NULL, NULL, err,
				 "%s is available%s%s", dangerous[i][0], *users ? " to " : "", users);
		}
	}
out:
	ops_redis_reply_free(acl);
	return rc;
}

static ops_code check_redis(scan_ctx *s, ops_error *err)
{
	static const char *const keys[] = {"cache.redis_url", "backup.redis_url", "keys.redis_url"};
	const ops_config *cfg = scan_cfg(s);
	ops_redis *rd = NULL;
	ops_error e = {0};
	ops_code rc;
	char server[300];
	size_t i;

	for (i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		const char *url = ops_config_get(cfg, keys[i]);

		if (url && *url)
			break;
	}
	if (i == sizeof keys / sizeof keys[0])
		return OPS_OK;	/* no Redis configured */
	if (ops_redis_connect_config(cfg, keys[i], &rd, &e) != OPS_OK)
		return scan_unreachable(s, "infra", "Redis", &e, err);
	snprintf(server, sizeof server, "%s://%s", ops_redis_tls_version(rd) ? "rediss" : "redis",
		 ops_redis_where(rd));
	rc = redis_checks(s, rd, server, err);
	ops_redis_close(rd);
	return rc;
}

/* ---- TLS certificate files ---- */

static ops_code check_cert(scan_ctx *s, const char *path, ops_error *err)
{
	const ops_config *cfg = scan_cfg(s);
	const char *env = scan_run(s)->environment;
	FILE *fp = fopen(path, "r");
	X509 *x = NULL;
	EVP_PKEY *key;
	ops_code rc = OPS_OK;
	int days = 0, secs = 0, nid;
	long warn = ops_config_int(cfg, "scan.cert_warn_days");
	long crit = ops_config_int(cfg, "scan.cert_crit_days");
	char subject[256] = "";

	if (fp) {
		x = PEM_read_X509(fp, NULL, NULL, NULL);
		fclose(fp);
	}
	if (!x) {
		const char *why = fp ? "no PEM certificate in it" : strerror(errno);

		return add(s, "infra.cert.unreadable", -1, path, path, NULL, err,
			   "cannot read a certificate: %s", why);
	}
	X509_NAME_oneline(X509_get_subject_name(x), subject, sizeof subject);
	if (!ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(x)))
		rc = add(s, "infra.cert.unreadable", -1, path, path, NULL, err,
			 "%s: unreadable expiry date", subject);
	else if (days < 0 || secs < 0 || (days == 0 && secs == 0))
		rc = add(s, "infra.cert.expired", -1, path, path, NULL, err,
			 "%s expired %d day%s ago", subject, -days, -days == 1 ? "" : "s");
	else if (days < crit)
		rc = add(s, "infra.cert.expiring", OPS_SEV_HIGH, path, path, NULL, err,
			 "%s expires in %d day%s (scan.cert_crit_days %ld)", subject, days,
			 days == 1 ? "" : "s", crit);
	else if (days < warn)
		rc = add(s, "infra.cert.expiring", -1, path, path, NULL, err,
			 "%s expires in %d days (scan.cert_warn_days %ld)", subject, days, warn);
	if (rc == OPS_OK && (key = X509_get0_pubkey(x)) && EVP_PKEY_base_id(key) == EVP_PKEY_RSA &&
	    EVP_PKEY_get_bits(key) < 2048)
		rc = add(s, "infra.cert.weak-key", -1, path, path, NULL, err, "%s: RSA %d bits",
			 subject, EVP_PKEY_get_bits(key));
	nid = X509_get_signature_nid(x);
	if (rc == OPS_OK && (nid == NID_sha1WithRSAEncryption || nid == NID_ecdsa_with_SHA1 ||
			     nid == NID_dsaWithSHA1 || nid == NID_md5WithRSAEncryption))
		rc = add(s, "infra.cert.weak-signature", -1, path, path, NULL, err,
			 "%s: signed with %s", subject, OBJ_nid2ln(nid));
	if (rc == OPS_OK && env && strcmp(env, "prod") == 0 && X509_check_issued(x, x) == X509_V_OK)
		rc = add(s, "infra.cert.self-signed", -1, path, path, NULL, err,
			 "%s is its own issuer (environment prod)", subject);
	X509_free(x);
	return rc;
}

static ops_code check_certs(scan_ctx *s, ops_error *err)
{
	char **files = ops_config_list(scan_cfg(s), "scan.cert_files");
	ops_code rc = OPS_OK;
	size_t i;

	for (i = 0; files && files[i] && rc == OPS_OK; i++)
		rc = check_cert(s, files[i], err);
	ops_strv_free(files);
	return rc;
}

/* ---- file permissions ---- */

/* readable_ok: a directory others may list by design (opsctl's state
 * directory holds the textfile node_exporter reads); only writing is checked. */
static ops_code check_dir(scan_ctx *s, const char *what, const char *path, int readable_ok,
			  ops_error *err)
{
	struct stat st;

	if (!path || !*path || stat(path, &st) != 0)
		return OPS_OK;	/* not made yet: nothing in it to expose */
	if ((st.st_mode & S_IWOTH) && !(st.st_mode & S_ISVTX))
		return add(s, "infra.perm.world-writable", -1, path, path, NULL, err,
			   "%s mode %04o: anyone may replace what is in it", what,
			   (unsigned)(st.st_mode & 07777));
	if (!readable_ok && (st.st_mode & (S_IROTH | S_IXOTH)))
		return add(s, "infra.perm.dir-open", -1, path, path, NULL, err,
			   "%s mode %04o: other users may read it", what,
			   (unsigned)(st.st_mode & 07777));
	return OPS_OK;
}

static ops_code check_files(scan_ctx *s, ops_error *err)
{
	const ops_config *cfg = scan_cfg(s);
	const char *state = ops_config_get(cfg, "general.state_dir");
	const char *bdir = ops_config_get(cfg, "backup.dir");
	const char *conf = ops_config_file(cfg);
	const char *key = ops_config_get(cfg, "backup.encryption_key_file");
	char *def = NULL;
	struct stat st;
	ops_code rc;

	/* The state directory is 0755 by design (the textfile, metrics.json);
	 * what in it must stay private has its own 0700 directory: keys/ (sealed
	 * rotations, the seal key) and backups/. */
	if ((rc = check_dir(s, "the state directory", state, 1, err)) != OPS_OK)
		return rc;
	if (state && (def = ops_path_join(state, "keys"))) {
		rc = check_dir(s, "rotate-keys' directory", def, 0, err);
		free(def);
		def = NULL;
		if (rc != OPS_OK)
			return rc;
	}
	if ((!bdir || !*bdir) && state && (def = ops_path_join(state, "backups")))
		bdir = def;
	rc = check_dir(s, "the backup directory", bdir, 0, err);
	if (rc == OPS_OK && bdir && stat(bdir, &st) == 0 && (!key || !*key))
		rc = add(s, "infra.backup.unencrypted", -1, bdir, NULL, NULL, err,
			 "backup.encryption_key_file is not set: backups are stored unencrypted");
	free(def);
	if (rc != OPS_OK || !conf || stat(conf, &st) != 0)
		return rc;
	if (st.st_mode & S_IWOTH)
		return add(s, "infra.perm.world-writable", -1, conf, conf, NULL, err,
			   "the configuration file mode %04o: anyone may change it",
			   (unsigned)(st.st_mode & 07777));
	return OPS_OK;
}

/* ---- Lynis ---- */

static int on_path(const char *prog)
{
	const char *path = getenv("PATH");
	char *copy, *dir, *save = NULL, buf[4096];
	int found = 0;

	if (!path || !(copy = strdup(path)))
		return 0;
	for (dir = strtok_r(copy, ":", &save); dir && !found; dir = strtok_r(NULL, ":", &save)) {
		snprintf(buf, sizeof buf, "%s/%s", *dir ? dir : ".", prog);
		found = access(buf, X_OK) == 0;
	}
	free(copy);
	return found;
}

static ops_code check_lynis(scan_ctx *s, ops_error *err)
{
	const ops_config *cfg = scan_cfg(s);
	const char *mode = ops_config_get(cfg, "scan.lynis");
	const char *report = ops_config_get(cfg, "scan.lynis_report");
	int required = mode && strcmp(mode, "yes") == 0;
	char *text = NULL, *line, *save = NULL;
	size_t len;
	ops_error e = {0};
	ops_code rc = OPS_OK;

	if (mode && strcmp(mode, "no") == 0)
		return OPS_OK;
	if (!on_path("lynis")) {
		if (!required)
			return OPS_OK;
		ops_error_set(&e, OPS_EUNAVAIL, "lynis is not installed (scan.lynis = yes)");
		return scan_unreachable(s, "infra", "Lynis", &e, err);
	}
	if (ops_read_file(report, 64 << 20, &text, &len, &e) != OPS_OK) {
		if (!required)
			return OPS_OK;
		return scan_unreachable(s, "infra", "Lynis", &e, err);
	}
	/* lynis-report.dat: warning[]=TEST-ID|text|details|solution| */
	for (line = strtok_r(text, "\n", &save); line && rc == OPS_OK; line = strtok_r(NULL, "\n", &save)) {
		char *id, *msg, *rest, target[200];

		if (strncmp(line, "warning[]=", 10) != 0)
			continue;
		id = line + 10;
		if (!(msg = strchr(id, '|')))
			continue;
		*msg++ = '\0';
		if ((rest = strchr(msg, '|')))
			*rest = '\0';
		snprintf(target, sizeof target, "lynis %s", id);
		rc = add(s, "infra.lynis", -1, target, NULL, msg, err, "%s: %s", id, msg);
	}
	free(text);
	return rc;
}

ops_code scan_infra(scan_ctx *s, ops_error *err)
{
	ops_code rc;

	if ((rc = check_postgres(s, err)) != OPS_OK ||
	    (rc = ops_run_check_cancel(scan_run(s), err)) != OPS_OK ||
	    (rc = check_redis(s, err)) != OPS_OK ||
	    (rc = check_certs(s, err)) != OPS_OK ||
	    (rc = check_files(s, err)) != OPS_OK)
		return rc;
	return check_lynis(s, err);
}
