/*
 * config: defaults from the key table, the INI reader (sections, comments,
 * quoting, every error with its exact "FILE:LINE: ..." message), the
 * environment and its order, every precedence pair of default < generic
 * variable < file < OPSCTL_* < set with its origin, the spellings of
 * general.environment, the non-root state directory (as a real non-root
 * process), ops_config_load_default, and the shared value parsers.
 * Environment arrays are always built here; the real environ is never read.
 */
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "opsmaint/config.h"
#include "opsmaint/log.h"
#include "unit.h"

/* One temporary directory per test; conf() writes NAME in it. */
static char *tmp;

static void tmp_begin(void)
{
	tmp = unit_tmpdir();
	if (!tmp) {
		fprintf(stderr, "cannot create a temporary directory\n");
		exit(2);
	}
}

static void tmp_end(void)
{
	unit_rmrf(tmp);
	free(tmp);
	tmp = NULL;
}

/* Write text to TMP/name and return the path (static buffer, one at a time). */
static const char *conf(const char *name, const char *text)
{
	static char path[4200];
	FILE *fp;

	snprintf(path, sizeof path, "%s/%s", tmp, name);
	fp = fopen(path, "w");
	if (!fp || fputs(text, fp) == EOF || fclose(fp) != 0) {
		fprintf(stderr, "cannot write %s\n", path);
		exit(2);
	}
	return path;
}

/* Load text as a file; expect failure with exactly "PATH:" + tail. */
static void expect_file_error(const char *text, const char *tail)
{
	const char *path = conf("bad.conf", text);
	char want[4800];
	ops_config *cfg = ops_config_new();
	ops_error err;

	ops_error_clear(&err);
	snprintf(want, sizeof want, "%s:%s", path, tail);
	CHECK_INT(ops_config_load_file(cfg, path, 1, &err), OPS_ECONFIG);
	CHECK_INT(err.code, OPS_ECONFIG);
	CHECK_STR(err.message, want);
	ops_config_free(cfg);
}

/* As above, but only the start of the message is fixed (text from window.c). */
static void expect_file_error_prefix(const char *text, const char *tail)
{
	const char *path = conf("bad.conf", text);
	char want[4800];
	ops_config *cfg = ops_config_new();
	ops_error err;

	ops_error_clear(&err);
	snprintf(want, sizeof want, "%s:%s", path, tail);
	CHECK_INT(ops_config_load_file(cfg, path, 1, &err), OPS_ECONFIG);
	CHECK(strncmp(err.message, want, strlen(want)) == 0);
	if (strncmp(err.message, want, strlen(want)) != 0)
		fprintf(stderr, "  message \"%s\"\n  expected to start \"%s\"\n",
			err.message, want);
	ops_config_free(cfg);
}

/* ---- defaults and the key table ---- */

TEST(defaults_come_from_the_key_table)
{
	ops_config *cfg = ops_config_new();
	char **v;

	CHECK(cfg != NULL);
	CHECK_STR(ops_config_get(cfg, "general.environment"), "prod");
	CHECK_INT(ops_config_int(cfg, "db.idle_timeout"), 3600);	/* "1h" */
	CHECK_INT(ops_config_int(cfg, "health.connections_pct"), 80);
	CHECK_INT(ops_config_int(cfg, "health.long_query"), 5);	/* "5s" */
	CHECK_INT(ops_config_int(cfg, "db.backup_retention"), 30 * 86400);	/* "30d" */
	CHECK_INT(ops_config_int(cfg, "db.connect_timeout"), 10);
	CHECK_INT(ops_config_int(cfg, "health.xid_age_warning"), 1200000000);
	CHECK_STR(ops_config_get(cfg, "window.prod"), "Sun 02:00-04:00, Sat 02:00-04:00");
	CHECK_STR(ops_config_get(cfg, "window.dev"), "any");
	CHECK_STR(ops_config_get(cfg, "general.log_level"), "warning");
	CHECK_STR(ops_config_get(cfg, "db.application_name"), "opsctl");
	CHECK_INT(ops_config_bool(cfg, "general.syslog"), 0);
	CHECK_STR(ops_config_origin(cfg, "db.idle_timeout"), "default");
	/* No default: NULL text and 0. */
	CHECK(ops_config_get(cfg, "db.host") == NULL);
	CHECK(ops_config_get(cfg, "db.port") == NULL);
	CHECK_INT(ops_config_int(cfg, "db.port"), 0);
	/* Unknown keys: NULL and 0, never a crash. */
	CHECK(ops_config_get(cfg, "no.such") == NULL);
	CHECK(ops_config_origin(cfg, "no.such") == NULL);
	CHECK_INT(ops_config_int(cfg, "no.such"), 0);
	/* A LIST default splits into its elements. */
	v = ops_config_list(cfg, "db.reindex_tables");
	CHECK_INT(ops_strv_len(v), 3);
	if (ops_strv_len(v) == 3) {
		CHECK_STR(v[0], "documents");
		CHECK_STR(v[1], "document_chunks");
		CHECK_STR(v[2], "queries");
	}
	ops_strv_free(v);
	v = ops_config_list(cfg, "db.databases");
	CHECK(v != NULL);
	CHECK_INT(ops_strv_len(v), 0);
	ops_strv_free(v);
	ops_config_free(cfg);
}

TEST(key_table_lookup)
{
	const ops_key_def *k = ops_config_key("db.port"), *all;
	size_t n = 0;

	CHECK(k != NULL);
	if (k) {
		CHECK_STR(k->name, "db.port");
		CHECK_INT(k->type, OPS_K_INT);
		CHECK_INT(k->min, 1);
		CHECK_INT(k->max, 65535);
		CHECK_STR(k->env, "DB_PORT,PGPORT");
	}
	CHECK(ops_config_key("db.hots") == NULL);
	/* Every name is "section.key" and has a help sentence. */
	for (all = ops_config_keys(); all->name; all++, n++) {
		const char *dot = strchr(all->name, '.');

		CHECK(dot && dot > all->name && dot[1] && !strchr(dot + 1, '.'));
		CHECK(all->help && *all->help);
		CHECK(ops_config_key(all->name) == all);
	}
	CHECK(n > 30);
}

TEST(every_default_is_valid)
{
	const ops_key_def *k;
	ops_config *cfg = ops_config_new();
	ops_error err;

	/* A default the validator would refuse is a bug in config_keys.def. */
	for (k = ops_config_keys(); k->name; k++) {
		if (!k->def)
			continue;
		if (ops_config_set(cfg, k->name, k->def, "default", &err) != OPS_OK) {
			fprintf(stderr, "default of %s: %s\n", k->name, err.message);
			CHECK(0);
		}
	}
	ops_config_free(cfg);
}

/* ---- INI files ---- */

TEST(file_sections_comments_and_quotes)
{
	const char *path;
	char origin[4300];
	ops_config *cfg = ops_config_new();
	ops_error err;

	tmp_begin();
	path = conf("opsctl.conf",
		"# comment\n"					/* 1 */
		"; another comment\n"				/* 2 */
		"   # indented comment\n"			/* 3 */
		"\n"						/* 4 */
		"[general]\n"					/* 5 */
		"environment = staging\n"			/* 6 */
		"syslog = yes\n"				/* 7 */
		"[ db ]\n"					/* 8 */
		"host = \"db.example \\\"q\\\" # not a comment\"   # real one\n"	/* 9 */
		"port = 5433 # trailing comment\n"		/* 10 */
		"user = app ; trailing semicolon comment\n"	/* 11 */
		"name = a#b;c\n"				/* 12 */
		"idle_timeout = 15m\n"				/* 13 */
		"content_table=\"back\\\\slash\"\n"		/* 14 */
		"\t application_name \t=\t tool \t\r\n"		/* 15 */
		"databases = one, two ,three\n"			/* 16 */
		"[window]\n"					/* 17 */
		"prod = Sun 01:00-05:00\n"			/* 18 */
		"[db]\n"					/* 19 */
		"port = 6000\n");				/* 20 */

	CHECK_INT(ops_config_load_file(cfg, path, 1, &err), OPS_OK);
	CHECK_STR(ops_config_get(cfg, "general.environment"), "staging");
	CHECK_INT(ops_config_bool(cfg, "general.syslog"), 1);
	CHECK_STR(ops_config_get(cfg, "db.host"), "db.example \"q\" # not a comment");
	CHECK_STR(ops_config_get(cfg, "db.user"), "app");
	CHECK_STR(ops_config_get(cfg, "db.name"), "a#b;c");	/* no space before '#' */
	CHECK_INT(ops_config_int(cfg, "db.idle_timeout"), 900);
	CHECK_STR(ops_config_get(cfg, "db.idle_timeout"), "15m");
	CHECK_STR(ops_config_get(cfg, "db.content_table"), "back\\slash");
	CHECK_STR(ops_config_get(cfg, "db.application_name"), "tool");
	CHECK_STR(ops_config_get(cfg, "window.prod"), "Sun 01:00-05:00");
	/* A section may be reopened; the later line wins. */
	CHECK_INT(ops_config_int(cfg, "db.port"), 6000);
	snprintf(origin, sizeof origin, "%s:20", path);
	CHECK_STR(ops_config_origin(cfg, "db.port"), origin);
	snprintf(origin, sizeof origin, "%s:9", path);
	CHECK_STR(ops_config_origin(cfg, "db.host"), origin);
	/* Keys the file does not name keep their defaults. */
	CHECK_STR(ops_config_get(cfg, "general.log_level"), "warning");
	CHECK_STR(ops_config_origin(cfg, "general.log_level"), "default");
	{
		char **v = ops_config_list(cfg, "db.databases");

		CHECK_INT(ops_strv_len(v), 3);
		if (ops_strv_len(v) == 3) {
			CHECK_STR(v[0], "one");
			CHECK_STR(v[1], "two");
			CHECK_STR(v[2], "three");
		}
		ops_strv_free(v);
	}
	ops_config_free(cfg);
	tmp_end();
}

TEST(file_errors_name_file_line_and_key)
{
	tmp_begin();
	expect_file_error("[db]\nhots = x\n",
			  "2: unknown key 'db.hots' (did you mean 'db.host'?)");
	expect_file_error("[db]\nzzzzzzzz = x\n", "2: unknown key 'db.zzzzzzzz'");
	/* Keys are lowercase; another case is still a near miss. */
	expect_file_error("[DB]\nName = x\n",
			  "2: unknown key 'DB.Name' (did you mean 'db.name'?)");
	expect_file_error("[nosuch]\nhost = x\n",
			  "2: unknown key 'nosuch.host'");
	expect_file_error("[db]\n\nport = 99999\n",
			  "3: bad value for 'db.port': '99999' is out of range 1..65535");
	expect_file_error("[db]\nport = abc\n",
			  "2: bad value for 'db.port': 'abc' is not a whole number");
	expect_file_error("[db]\njust words\n", "2: expected 'key = value'");
	expect_file_error("[db]\n= value\n", "2: expected 'key = value'");
	expect_file_error("host = x\n", "1: key 'host' outside any [section]");
	expect_file_error("# c\n\nhost = x\n[db]\n", "3: key 'host' outside any [section]");
	expect_file_error("[db\nhost = x\n", "1: bad section header '[db'");
	expect_file_error("[]\nhost = x\n", "1: bad section header '[]'");
	expect_file_error("[db]x\nhost = x\n", "1: bad section header '[db]x'");
	expect_file_error("[db]\nhost = \"open\n", "2: unterminated quoted value");
	expect_file_error("[db]\nhost = \"ends in escape\\\"\n", "2: unterminated quoted value");
	expect_file_error("[db]\nhost = \"a\"b\n", "2: text after the closing quote");
	expect_file_error("[general]\nenvironment = qa\n",
			  "2: bad value for 'general.environment': 'qa' is not one of dev,staging,prod");
	expect_file_error("[general]\nsyslog = maybe\n",
			  "2: bad value for 'general.syslog': 'maybe' is not a boolean (true/false, yes/no, on/off, 1/0)");
	expect_file_error("[db]\nidle_timeout = 1h30m\n",
			  "2: bad value for 'db.idle_timeout': '1h30m' is not a duration (examples: 90, 90s, 15m, 1h, 2d)");
	expect_file_error("[db]\nconnect_timeout = 0\n",
			  "2: bad value for 'db.connect_timeout': '0' is out of range 1s..3600s");
	/* The window text comes from window.c; the shape is config's. */
	expect_file_error_prefix("[window]\nprod = \"Sun 2-4\"\n",
				 "2: bad value for 'window.prod': ");
	expect_file_error_prefix("[window]\nprod = Sun 2-4\n",
				 "2: bad value for 'window.prod': ");
	tmp_end();
}

TEST(failed_value_leaves_previous_value)
{
	const char *path;
	ops_config *cfg = ops_config_new();
	ops_error err;

	tmp_begin();
	CHECK_INT(ops_config_set(cfg, "window.prod", "Sun 01:00-03:00", "--test", &err), OPS_OK);
	path = conf("w.conf", "[window]\nprod = Sun 2-4\n");
	CHECK_INT(ops_config_load_file(cfg, path, 1, &err), OPS_ECONFIG);
	CHECK_STR(ops_config_get(cfg, "window.prod"), "Sun 01:00-03:00");
	CHECK_STR(ops_config_origin(cfg, "window.prod"), "--test");
	ops_config_free(cfg);
	tmp_end();
}

/*
 * config.h: "'#' and ';' start comments", and a value line may end in
 * " # x"; a section line with a trailing comment should be read the same way.
 */
TEST(section_header_takes_a_trailing_comment)
{
	const char *path;
	ops_config *cfg = ops_config_new();
	ops_error err;

	tmp_begin();
	path = conf("c.conf", "[db]   # primary cluster\nhost = h1\n[general] ; x\nenvironment = dev\n");
	ops_error_clear(&err);
	CHECK_INT(ops_config_load_file(cfg, path, 1, &err), OPS_OK);
	if (err.code != OPS_OK)
		fprintf(stderr, "  error: %s\n", err.message);
	CHECK_STR(ops_config_get(cfg, "db.host"), "h1");
	CHECK_STR(ops_config_get(cfg, "general.environment"), "dev");
	ops_config_free(cfg);
	tmp_end();
}

TEST(missing_and_unreadable_files)
{
	ops_config *cfg = ops_config_new();
	ops_error err;

	tmp_begin();
	ops_error_clear(&err);
	CHECK_INT(ops_config_load_file(cfg, "/nonexistent/opsctl.conf", 0, &err), OPS_OK);
	CHECK_INT(err.code, OPS_OK);
	CHECK_STR(ops_config_origin(cfg, "db.port"), "default");
	CHECK_INT(ops_config_load_file(cfg, "/nonexistent/opsctl.conf", 1, &err), OPS_ECONFIG);
	CHECK_INT(err.code, OPS_ECONFIG);
	CHECK_STR(err.message,
		  "cannot read configuration '/nonexistent/opsctl.conf': No such file or directory");
	/* A directory is not a missing file, even when must_exist is 0. */
	CHECK_INT(ops_config_load_file(cfg, tmp, 0, &err), OPS_EIO);
	CHECK_CONTAINS(err.message, tmp);
	/* Permission denied is OPS_EPERM (root reads anything: skipped). */
	if (geteuid() != 0) {
		const char *path = conf("secret.conf", "[db]\nhost = x\n");

		chmod(path, 0);
		CHECK_INT(ops_config_load_file(cfg, path, 0, &err), OPS_EPERM);
		CHECK_CONTAINS(err.message, path);
	}
	ops_config_free(cfg);
	tmp_end();
}

/* Empty values are allowed for text keys and refused where a number is needed. */
TEST(empty_values_bom_and_long_lines)
{
	const char *path;
	char *longline;
	size_t n = 10000;
	FILE *fp;
	ops_config *cfg = ops_config_new();
	ops_error err;

	tmp_begin();
	path = conf("e.conf", "\xEF\xBB\xBF[db]\nhost =\nname = \"\"\n");
	CHECK_INT(ops_config_load_file(cfg, path, 1, &err), OPS_OK);
	CHECK_STR(ops_config_get(cfg, "db.host"), "");
	CHECK_STR(ops_config_get(cfg, "db.name"), "");
	expect_file_error("[db]\nport =\n",
			  "2: bad value for 'db.port': '' is not a whole number");
	/* A line longer than any fixed buffer is read whole. */
	longline = malloc(n + 32);
	CHECK(longline != NULL);
	if (longline) {
		path = conf("long.conf", "");
		fp = fopen(path, "w");
		if (fp) {
			memset(longline, 'x', n);
			longline[n] = '\0';
			fprintf(fp, "[db]\nhost = %s\n", longline);
			fclose(fp);
		}
		CHECK_INT(ops_config_load_file(cfg, path, 1, &err), OPS_OK);
		CHECK_STR(ops_config_get(cfg, "db.host"), longline);
		free(longline);
	}
	ops_config_free(cfg);
	tmp_end();
}

TEST(env_empty_own_variable_falls_back_to_legacy)
{
	char *env[] = {"OPSCTL_DB_HOST=", "DB_HOST=legacy", NULL};
	ops_config *cfg = ops_config_new();
	ops_error err;

	CHECK_INT(ops_config_load_env(cfg, env, &err), OPS_OK);
	CHECK_STR(ops_config_get(cfg, "db.host"), "legacy");
	CHECK_STR(ops_config_origin(cfg, "db.host"), "DB_HOST");
	/* A name that merely starts like a variable does not match it. */
	{
		char *env2[] = {"DB_HOSTX=no", "DB_HOS=no", NULL};
		ops_config *c2 = ops_config_new();

		CHECK_INT(ops_config_load_env(c2, env2, &err), OPS_OK);
		CHECK(ops_config_get(c2, "db.host") == NULL);
		ops_config_free(c2);
	}
	ops_config_free(cfg);
}

TEST(set_refuses_missing_arguments)
{
	ops_config *cfg = ops_config_new();
	ops_error err;

	CHECK_INT(ops_config_set(cfg, "db.host", NULL, "--x", &err), OPS_EINTERNAL);
	CHECK_INT(ops_config_set(NULL, "db.host", "h", "--x", &err), OPS_EINTERNAL);
	CHECK(ops_config_get(cfg, "db.host") == NULL);
	/* set with a NULL origin still records something printable. */
	CHECK_INT(ops_config_set(cfg, "db.host", "h", NULL, &err), OPS_OK);
	CHECK_STR(ops_config_origin(cfg, "db.host"), "");
	ops_config_free(cfg);
}

/* ---- environment ---- */

TEST(env_sets_keys_and_records_the_variable)
{
	char *env[] = {"PATH=/bin", "DB_HOST=db-host", "DB_USERNAME=app",
		       "PGPORT=5433", "OPSCTL_HEALTH_CONNECTIONS_PCT=90",
		       "OPSCTL_ENV=staging", "DB_HOSTNAME=not-this", NULL};
	ops_config *cfg = ops_config_new();
	ops_error err;

	CHECK_INT(ops_config_load_env(cfg, env, &err), OPS_OK);
	CHECK_STR(ops_config_get(cfg, "db.host"), "db-host");
	CHECK_STR(ops_config_origin(cfg, "db.host"), "DB_HOST");
	CHECK_STR(ops_config_get(cfg, "db.user"), "app");
	CHECK_STR(ops_config_origin(cfg, "db.user"), "DB_USERNAME");
	CHECK_INT(ops_config_int(cfg, "db.port"), 5433);
	CHECK_STR(ops_config_origin(cfg, "db.port"), "PGPORT");
	/* OPSCTL_SECTION_KEY works for keys without their own variables. */
	CHECK_INT(ops_config_int(cfg, "health.connections_pct"), 90);
	CHECK_STR(ops_config_origin(cfg, "health.connections_pct"),
		  "OPSCTL_HEALTH_CONNECTIONS_PCT");
	CHECK_STR(ops_config_get(cfg, "general.environment"), "staging");
	CHECK_STR(ops_config_origin(cfg, "general.environment"), "OPSCTL_ENV");
	/* Untouched keys stay at their defaults. */
	CHECK(ops_config_get(cfg, "db.name") == NULL);
	CHECK_STR(ops_config_origin(cfg, "db.name"), "default");
	ops_config_free(cfg);
}

TEST(env_order_pghost_db_host_opsctl)
{
	char *pg_only[] = {"PGHOST=pg-host", NULL};
	/* PGHOST listed first in the array: the key's order decides, not envp's. */
	char *both[] = {"PGHOST=pg-host", "DB_HOST=db-host", NULL};
	char *all3[] = {"PGHOST=pg-host", "DB_HOST=db-host", "OPSCTL_DB_HOST=own", NULL};
	char *empty_db[] = {"DB_HOST=", "PGHOST=pg-host", NULL};
	ops_config *cfg;
	ops_error err;

	cfg = ops_config_new();
	CHECK_INT(ops_config_load_env(cfg, pg_only, &err), OPS_OK);
	CHECK_STR(ops_config_get(cfg, "db.host"), "pg-host");
	CHECK_STR(ops_config_origin(cfg, "db.host"), "PGHOST");
	ops_config_free(cfg);

	cfg = ops_config_new();
	CHECK_INT(ops_config_load_env(cfg, both, &err), OPS_OK);
	CHECK_STR(ops_config_get(cfg, "db.host"), "db-host");
	CHECK_STR(ops_config_origin(cfg, "db.host"), "DB_HOST");
	ops_config_free(cfg);

	cfg = ops_config_new();
	CHECK_INT(ops_config_load_env(cfg, all3, &err), OPS_OK);
	CHECK_STR(ops_config_get(cfg, "db.host"), "own");
	CHECK_STR(ops_config_origin(cfg, "db.host"), "OPSCTL_DB_HOST");
	ops_config_free(cfg);

	/* An empty variable counts as unset. */
	cfg = ops_config_new();
	CHECK_INT(ops_config_load_env(cfg, empty_db, &err), OPS_OK);
	CHECK_STR(ops_config_get(cfg, "db.host"), "pg-host");
	CHECK_STR(ops_config_origin(cfg, "db.host"), "PGHOST");
	ops_config_free(cfg);
}

TEST(env_bad_value_names_the_variable)
{
	char *bad[] = {"DB_PORT=eighty", "PGPORT=5432", NULL};
	char *bad_own[] = {"OPSCTL_DB_PORT=70000", NULL};
	char *bad_own_env[] = {"OPSCTL_ENV=qa", NULL};
	char *bad_sslmode[] = {"PGSSLMODE=sometimes", NULL};
	ops_config *cfg = ops_config_new();
	ops_error err;

	CHECK_INT(ops_config_load_env(cfg, bad, &err), OPS_ECONFIG);
	CHECK_INT(err.code, OPS_ECONFIG);
	CHECK_STR(err.message,
		  "environment variable DB_PORT: bad value for 'db.port': 'eighty' is not a whole number");
	CHECK(ops_config_get(cfg, "db.port") == NULL);	/* PGPORT did not stand in */
	CHECK_INT(ops_config_load_env(cfg, bad_own, &err), OPS_ECONFIG);
	CHECK_STR(err.message,
		  "environment variable OPSCTL_DB_PORT: bad value for 'db.port': '70000' is out of range 1..65535");
	/* Only ENVIRONMENT is let off (below); opsctl's own name is not. */
	CHECK_INT(ops_config_load_env(cfg, bad_own_env, &err), OPS_ECONFIG);
	CHECK_STR(err.message, "environment variable OPSCTL_ENV: bad value for "
		  "'general.environment': 'qa' is not one of dev,staging,prod");
	/* A generic variable that picks the server is never guessed around. */
	CHECK_INT(ops_config_load_env(cfg, bad_sslmode, &err), OPS_ECONFIG);
	CHECK_CONTAINS(err.message, "environment variable PGSSLMODE: bad value for 'db.sslmode'");
	ops_config_free(cfg);
}

/* ops_log sink for the tests: keeps the last warning. */
static char last_warning[1024];
static int warnings;

static void keep_warning(void *arg, ops_loglevel level, const char *line)
{
	(void)arg;
	if (level != OPS_LOG_WARNING)
		return;
	warnings++;
	snprintf(last_warning, sizeof last_warning, "%s", line);
}

TEST(env_bad_ENVIRONMENT_is_a_warning_not_an_error)
{
	char *qa[] = {"ENVIRONMENT=qa", "DB_HOST=h", NULL};
	char *qa_own[] = {"ENVIRONMENT=qa", "OPSCTL_ENV=dev", NULL};
	const char *path;
	ops_config *cfg;
	ops_error err;

	ops_log_set_sink(keep_warning, NULL);
	warnings = 0;
	cfg = ops_config_new();
	CHECK_INT(ops_config_load_env(cfg, qa, &err), OPS_OK);
	CHECK_STR(ops_config_get(cfg, "general.environment"), "prod");
	CHECK_STR(ops_config_origin(cfg, "general.environment"), "default");
	CHECK_STR(ops_config_get(cfg, "db.host"), "h");	/* the rest still loads */
	CHECK_INT(warnings, 1);
	CHECK_STR(last_warning, "environment variable ENVIRONMENT: bad value for "
		  "'general.environment': 'qa' is not one of dev,staging,prod; "
		  "ignored: general.environment stays 'prod'");
	ops_config_free(cfg);

	/* Not even read, so not warned about, when something above it is set:
	 * opsctl's own variable, or the file. */
	warnings = 0;
	cfg = ops_config_new();
	CHECK_INT(ops_config_load_env(cfg, qa_own, &err), OPS_OK);
	CHECK_STR(ops_config_get(cfg, "general.environment"), "dev");
	CHECK_STR(ops_config_origin(cfg, "general.environment"), "OPSCTL_ENV");
	ops_config_free(cfg);
	tmp_begin();
	path = conf("e.conf", "[general]\nenvironment = staging\n");
	cfg = ops_config_new();
	CHECK_INT(ops_config_load_file(cfg, path, 1, &err), OPS_OK);
	CHECK_INT(ops_config_load_env(cfg, qa, &err), OPS_OK);
	CHECK_STR(ops_config_get(cfg, "general.environment"), "staging");
	ops_config_free(cfg);
	tmp_end();
	CHECK_INT(warnings, 0);
	ops_log_set_sink(NULL, NULL);
}

/*
 * One key (db.host) through every pair of the order, later wins: default <
 * generic variable < file < OPSCTL_* < set; each step checks the value and
 * the origin that names it.
 */
TEST(precedence_every_pair_with_origins)
{
	const char *path;
	char *generic[] = {"DB_HOST=generic-host", "PGHOST=pg-host", NULL};
	char *own[] = {"OPSCTL_DB_HOST=own-host", "DB_HOST=generic-host", NULL};
	char *own_alias[] = {"OPSCTL_S3_ENDPOINT=http://own", "AWS_ENDPOINT_URL=http://aws", NULL};
	char origin[4300];
	ops_config *cfg;
	ops_error err;

	tmp_begin();
	path = conf("p.conf", "[db]\nhost = file-host\nport = 5000\n"
			      "[s3]\nendpoint = http://file\n");
	snprintf(origin, sizeof origin, "%s:2", path);

	/* default < generic variable */
	cfg = ops_config_new();
	CHECK(ops_config_get(cfg, "db.host") == NULL);
	CHECK_STR(ops_config_origin(cfg, "db.host"), "default");
	CHECK_INT(ops_config_load_env(cfg, generic, &err), OPS_OK);
	CHECK_STR(ops_config_get(cfg, "db.host"), "generic-host");
	CHECK_STR(ops_config_origin(cfg, "db.host"), "DB_HOST");
	/* generic variable < set */
	CHECK_INT(ops_config_set(cfg, "db.host", "flag-host", "--host", &err), OPS_OK);
	CHECK_STR(ops_config_get(cfg, "db.host"), "flag-host");
	CHECK_STR(ops_config_origin(cfg, "db.host"), "--host");
	ops_config_free(cfg);

	/* default < file */
	cfg = ops_config_new();
	CHECK_INT(ops_config_load_file(cfg, path, 1, &err), OPS_OK);
	CHECK_STR(ops_config_get(cfg, "db.host"), "file-host");
	CHECK_STR(ops_config_origin(cfg, "db.host"), origin);
	/* generic variable < file: the variable does not replace it */
	CHECK_INT(ops_config_load_env(cfg, generic, &err), OPS_OK);
	CHECK_STR(ops_config_get(cfg, "db.host"), "file-host");
	CHECK_STR(ops_config_origin(cfg, "db.host"), origin);
	/* file < OPSCTL_* (OPSCTL_SECTION_KEY) */
	CHECK_INT(ops_config_load_env(cfg, own, &err), OPS_OK);
	CHECK_STR(ops_config_get(cfg, "db.host"), "own-host");
	CHECK_STR(ops_config_origin(cfg, "db.host"), "OPSCTL_DB_HOST");
	/* OPSCTL_* < set */
	CHECK_INT(ops_config_set(cfg, "db.host", "flag-host", "--host", &err), OPS_OK);
	CHECK_STR(ops_config_get(cfg, "db.host"), "flag-host");
	CHECK_STR(ops_config_origin(cfg, "db.host"), "--host");
	/* file < set */
	CHECK_INT(ops_config_set(cfg, "db.port", "7000", "--port", &err), OPS_OK);
	CHECK_INT(ops_config_int(cfg, "db.port"), 7000);
	ops_config_free(cfg);

	/* An OPSCTL_ name from the key's own list is above the file too; the
	 * AWS_* names beside it in that list are below. */
	cfg = ops_config_new();
	CHECK_INT(ops_config_load_file(cfg, path, 1, &err), OPS_OK);
	{
		char *aws[] = {"AWS_ENDPOINT_URL=http://aws", NULL};

		CHECK_INT(ops_config_load_env(cfg, aws, &err), OPS_OK);
		CHECK_STR(ops_config_get(cfg, "s3.endpoint"), "http://file");
		CHECK_INT(ops_config_load_env(cfg, own_alias, &err), OPS_OK);
		CHECK_STR(ops_config_get(cfg, "s3.endpoint"), "http://own");
		CHECK_STR(ops_config_origin(cfg, "s3.endpoint"), "OPSCTL_S3_ENDPOINT");
	}
	ops_config_free(cfg);

	/* generic variable < OPSCTL_*, with no file at all */
	cfg = ops_config_new();
	CHECK_INT(ops_config_load_env(cfg, own, &err), OPS_OK);
	CHECK_STR(ops_config_get(cfg, "db.host"), "own-host");
	CHECK_STR(ops_config_origin(cfg, "db.host"), "OPSCTL_DB_HOST");
	ops_config_free(cfg);
	tmp_end();
}

/*
 * The reason for the order: PG* set for psql in an operator's shell must
 * not make cron and that shell maintain different databases.  And a
 * generic variable the file overrides is not read, so a bad one is no error.
 */
TEST(file_beats_PGDATABASE_and_a_bad_generic_value_under_it)
{
	const char *path;
	char *env[] = {"PGDATABASE=nosuch", "DB_PORT=abc", "PGUSER=psql-user", NULL};
	char origin[4300];
	ops_config *cfg = ops_config_new();
	ops_error err;

	tmp_begin();
	path = conf("p.conf", "[db]\nname = chatbot_db\nport = 5432\n");
	CHECK_INT(ops_config_load_file(cfg, path, 1, &err), OPS_OK);
	CHECK_INT(ops_config_load_env(cfg, env, &err), OPS_OK);
	CHECK_STR(ops_config_get(cfg, "db.name"), "chatbot_db");
	snprintf(origin, sizeof origin, "%s:2", path);
	CHECK_STR(ops_config_origin(cfg, "db.name"), origin);
	CHECK_INT(ops_config_int(cfg, "db.port"), 5432);
	/* What the file leaves unset still comes from the shell. */
	CHECK_STR(ops_config_get(cfg, "db.user"), "psql-user");
	CHECK_STR(ops_config_origin(cfg, "db.user"), "PGUSER");
	ops_config_free(cfg);
	tmp_end();
}

TEST(set_validates_like_the_file)
{
	ops_config *cfg = ops_config_new();
	ops_error err;

	CHECK_INT(ops_config_set(cfg, "db.port", "5432", "--port", &err), OPS_OK);
	CHECK_INT(ops_config_set(cfg, "db.port", "0", "--port", &err), OPS_ECONFIG);
	CHECK_INT(err.code, OPS_ECONFIG);
	CHECK_STR(err.message, "bad value for 'db.port': '0' is out of range 1..65535");
	CHECK_INT(ops_config_int(cfg, "db.port"), 5432);	/* unchanged */
	CHECK_INT(ops_config_set(cfg, "db.hots", "x", "--x", &err), OPS_ECONFIG);
	CHECK_STR(err.message, "unknown key 'db.hots'");
	CHECK_STR(err.hint, "did you mean 'db.host'?");
	CHECK_INT(ops_config_set(cfg, "db.sslmode", "sometimes", "--x", &err), OPS_ECONFIG);
	CHECK_CONTAINS(err.message, "'sometimes' is not one of disable,allow,prefer");
	CHECK_INT(ops_config_set(cfg, "window.prod", "Sun 2-4", "--x", &err), OPS_ECONFIG);
	CHECK(strncmp(err.message, "bad value for 'window.prod': ", 29) == 0);
	CHECK_STR(ops_config_get(cfg, "window.prod"), "Sun 02:00-04:00, Sat 02:00-04:00");
	CHECK_INT(ops_config_set(cfg, "general.syslog", "ON", "--syslog", &err), OPS_OK);
	CHECK_INT(ops_config_bool(cfg, "general.syslog"), 1);
	CHECK_INT(ops_config_set(cfg, "db.lock_timeout", "2m", "--x", &err), OPS_OK);
	CHECK_INT(ops_config_int(cfg, "db.lock_timeout"), 120);
	ops_config_free(cfg);
}

/* ---- spellings of general.environment ---- */

TEST(environment_spellings_from_every_source)
{
	static const char *const in[] = {"production", "PRODUCTION", "Prod", "prod",
					  "staging", "Stage", "STAGING", "development",
					  "Dev", "DEVELOPMENT", NULL};
	static const char *const out[] = {"prod", "prod", "prod", "prod", "staging",
					   "staging", "staging", "dev", "dev", "dev"};
	char *env_generic[] = {"ENVIRONMENT=Production", NULL};
	char *env_own[] = {"OPSCTL_ENV=stage", NULL};
	const char *path;
	char origin[4300];
	ops_config *cfg = ops_config_new();
	ops_error err;
	size_t i;

	/* set (--env goes through it) */
	for (i = 0; in[i]; i++) {
		CHECK_INT(ops_config_set(cfg, "general.environment", in[i], "--env", &err), OPS_OK);
		CHECK_STR(ops_config_get(cfg, "general.environment"), out[i]);
	}
	CHECK_STR(ops_config_origin(cfg, "general.environment"), "--env");
	/* Near misses stay errors that quote what was written. */
	CHECK_INT(ops_config_set(cfg, "general.environment", "produc", "--env", &err),
		  OPS_ECONFIG);
	CHECK_STR(err.message, "bad value for 'general.environment': 'produc' is not "
		  "one of dev,staging,prod");
	CHECK_INT(ops_config_set(cfg, "general.environment", " prod", "--env", &err),
		  OPS_ECONFIG);
	CHECK_STR(ops_config_get(cfg, "general.environment"), "dev");	/* unchanged */
	/* The spellings belong to that key alone. */
	CHECK_INT(ops_config_set(cfg, "backup.method", "Logical", "--x", &err), OPS_ECONFIG);
	CHECK_INT(ops_config_set(cfg, "general.log_level", "production", "--x", &err),
		  OPS_ECONFIG);
	ops_config_free(cfg);

	/* the file */
	tmp_begin();
	path = conf("s.conf", "[general]\nenvironment = Production\n");
	cfg = ops_config_new();
	CHECK_INT(ops_config_load_file(cfg, path, 1, &err), OPS_OK);
	CHECK_STR(ops_config_get(cfg, "general.environment"), "prod");
	snprintf(origin, sizeof origin, "%s:2", path);
	CHECK_STR(ops_config_origin(cfg, "general.environment"), origin);
	ops_config_free(cfg);
	expect_file_error("[general]\nenvironment = qa\n",
			  "2: bad value for 'general.environment': 'qa' is not one of "
			  "dev,staging,prod");
	tmp_end();

	/* ENVIRONMENT and OPSCTL_ENV */
	cfg = ops_config_new();
	CHECK_INT(ops_config_load_env(cfg, env_generic, &err), OPS_OK);
	CHECK_STR(ops_config_get(cfg, "general.environment"), "prod");
	CHECK_STR(ops_config_origin(cfg, "general.environment"), "ENVIRONMENT");
	CHECK_INT(ops_config_load_env(cfg, env_own, &err), OPS_OK);
	CHECK_STR(ops_config_get(cfg, "general.environment"), "staging");
	CHECK_STR(ops_config_origin(cfg, "general.environment"), "OPSCTL_ENV");
	ops_config_free(cfg);
}

/* ---- general.state_dir for root and for other users ---- */

/* Load env into a fresh configuration; expect state_dir and its origin. */
static void expect_state_dir(char **env, const char *pre_file, const char *want,
			     const char *want_origin)
{
	ops_config *cfg = ops_config_new();
	ops_error err;

	if (pre_file)
		CHECK_INT(ops_config_set(cfg, "general.state_dir", pre_file, "FILE:1", &err),
			  OPS_OK);
	CHECK_INT(ops_config_load_env(cfg, env, &err), OPS_OK);
	CHECK_STR(ops_config_get(cfg, "general.state_dir"), want);
	CHECK_STR(ops_config_origin(cfg, "general.state_dir"), want_origin);
	ops_config_free(cfg);
}

/* The checks of a process that is not root. */
static void state_dir_not_root(void)
{
	char *both[] = {"XDG_STATE_HOME=/x/state", "HOME=/h", NULL};
	char *home[] = {"HOME=/h", NULL};
	char *relative[] = {"XDG_STATE_HOME=rel/state", "HOME=/h", NULL};
	char *empty[] = {"XDG_STATE_HOME=", "HOME=/h", NULL};
	char *none[] = {NULL};
	char *own[] = {"OPSCTL_STATE_DIR=/own", "XDG_STATE_HOME=/x/state", NULL};

	expect_state_dir(both, NULL, "/x/state/opsctl", "default (XDG_STATE_HOME)");
	expect_state_dir(home, NULL, "/h/.local/state/opsctl", "default (HOME)");
	expect_state_dir(relative, NULL, "/h/.local/state/opsctl", "default (HOME)");
	expect_state_dir(empty, NULL, "/h/.local/state/opsctl", "default (HOME)");
	expect_state_dir(none, NULL, "/var/lib/opsctl", "default");
	expect_state_dir(own, NULL, "/own", "OPSCTL_STATE_DIR");
	expect_state_dir(both, "/from/file", "/from/file", "FILE:1");
}

TEST(state_dir_default_for_root_and_for_other_users)
{
	char *both[] = {"XDG_STATE_HOME=/x/state", "HOME=/h", NULL};
	pid_t pid;
	int status = 0;

	if (geteuid() != 0) {
		state_dir_not_root();
		fprintf(stderr, "note: not root, so root's /var/lib/opsctl default is not checked\n");
		return;
	}
	expect_state_dir(both, NULL, "/var/lib/opsctl", "default");
	/* As a real non-root process: geteuid() is what the library asks. */
	fflush(NULL);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		if (setgid(65534) != 0 || setuid(65534) != 0) {
			fprintf(stderr, "cannot become uid 65534\n");
			_exit(2);
		}
		unit_current_failed = 0;
		state_dir_not_root();
		fflush(NULL);
		_exit(unit_current_failed ? 1 : 0);
	}
	if (pid > 0) {
		CHECK(waitpid(pid, &status, 0) == pid);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
}

/* ---- ops_config_load_default ---- */

TEST(load_default_explicit_path_and_OPSCTL_CONFIG)
{
	char a_path[4200], b_path[4200], envvar[4300], envvar2[4300];
	char *env[] = {envvar, "DB_USERNAME=u", NULL};
	char *env_own[] = {"OPSCTL_DB_USER=own", "DB_USERNAME=u", NULL};
	char *env_empty[] = {"OPSCTL_CONFIG=", NULL};
	char *env_missing[] = {"OPSCTL_CONFIG=/nonexistent/b.conf", NULL};
	ops_config *cfg;
	ops_error err;

	tmp_begin();
	snprintf(a_path, sizeof a_path, "%s", conf("a.conf", "[db]\nname = from_a\nuser = file-user\n"));
	snprintf(b_path, sizeof b_path, "%s", conf("b.conf", "[db]\nname = from_b\n"));
	snprintf(envvar, sizeof envvar, "OPSCTL_CONFIG=%s", b_path);

	/* OPSCTL_CONFIG when no explicit path; then the environment on top. */
	cfg = ops_config_new();
	CHECK_INT(ops_config_load_default(cfg, NULL, env, &err), OPS_OK);
	CHECK_STR(ops_config_get(cfg, "db.name"), "from_b");
	CHECK_STR(ops_config_get(cfg, "db.user"), "u");
	ops_config_free(cfg);

	/* The explicit path beats OPSCTL_CONFIG; the file beats DB_USERNAME,
	 * OPSCTL_DB_USER beats the file. */
	cfg = ops_config_new();
	CHECK_INT(ops_config_load_default(cfg, a_path, env, &err), OPS_OK);
	CHECK_STR(ops_config_get(cfg, "db.name"), "from_a");
	CHECK_STR(ops_config_get(cfg, "db.user"), "file-user");
	snprintf(envvar2, sizeof envvar2, "%s:3", a_path);
	CHECK_STR(ops_config_origin(cfg, "db.user"), envvar2);
	ops_config_free(cfg);
	cfg = ops_config_new();
	CHECK_INT(ops_config_load_default(cfg, a_path, env_own, &err), OPS_OK);
	CHECK_STR(ops_config_get(cfg, "db.user"), "own");
	CHECK_STR(ops_config_origin(cfg, "db.user"), "OPSCTL_DB_USER");
	ops_config_free(cfg);

	/* Both must exist. */
	cfg = ops_config_new();
	CHECK_INT(ops_config_load_default(cfg, "/nonexistent/a.conf", env, &err), OPS_ECONFIG);
	CHECK_CONTAINS(err.message, "'/nonexistent/a.conf'");
	ops_config_free(cfg);
	cfg = ops_config_new();
	CHECK_INT(ops_config_load_default(cfg, NULL, env_missing, &err), OPS_ECONFIG);
	CHECK_CONTAINS(err.message, "'/nonexistent/b.conf'");
	ops_config_free(cfg);

	/* Neither (or an empty OPSCTL_CONFIG): a missing system file is fine. */
	if (access("/etc/opsctl/opsctl.conf", F_OK) != 0) {
		char *none[] = {NULL};

		cfg = ops_config_new();
		CHECK_INT(ops_config_load_default(cfg, NULL, none, &err), OPS_OK);
		CHECK_STR(ops_config_get(cfg, "general.environment"), "prod");
		ops_config_free(cfg);
		cfg = ops_config_new();
		CHECK_INT(ops_config_load_default(cfg, NULL, env_empty, &err), OPS_OK);
		ops_config_free(cfg);
	} else {
		fprintf(stderr, "note: /etc/opsctl/opsctl.conf exists; missing-system-file case skipped\n");
	}
	tmp_end();
}

/* ---- lists and parsers ---- */

TEST(split_list_trims_and_drops_empty_elements)
{
	char **v = ops_split_list(" a, b ,,c ,");

	CHECK_INT(ops_strv_len(v), 3);
	if (ops_strv_len(v) == 3) {
		CHECK_STR(v[0], "a");
		CHECK_STR(v[1], "b");
		CHECK_STR(v[2], "c");
	}
	CHECK(v && v[3] == NULL);
	ops_strv_free(v);
	v = ops_split_list("one word,\tinner  space \t");
	CHECK_INT(ops_strv_len(v), 2);
	if (ops_strv_len(v) == 2) {
		CHECK_STR(v[0], "one word");
		CHECK_STR(v[1], "inner  space");
	}
	ops_strv_free(v);
	v = ops_split_list("single");
	CHECK_INT(ops_strv_len(v), 1);
	if (v && v[0])
		CHECK_STR(v[0], "single");
	ops_strv_free(v);
	v = ops_split_list("");
	CHECK(v != NULL);
	CHECK_INT(ops_strv_len(v), 0);
	ops_strv_free(v);
	v = ops_split_list(" , ,, ");
	CHECK(v != NULL);
	CHECK_INT(ops_strv_len(v), 0);
	ops_strv_free(v);
	CHECK_INT(ops_strv_len(NULL), 0);
}

static void dur_ok(const char *text, long want)
{
	long n = -12345;
	ops_error err;

	CHECK_INT(ops_parse_duration(text, &n, &err), OPS_OK);
	CHECK_INT(n, want);
}

static void dur_bad(const char *text)
{
	long n = -12345;
	ops_error err;
	char want[128];

	CHECK_INT(ops_parse_duration(text, &n, &err), OPS_EUSAGE);
	CHECK_INT(n, -12345);	/* untouched on error */
	snprintf(want, sizeof want, "'%s' is not a duration", text);
	CHECK_CONTAINS(err.message, want);
}

TEST(parse_duration)
{
	dur_ok("90", 90);
	dur_ok("90s", 90);
	dur_ok("0", 0);
	dur_ok("15m", 900);
	dur_ok("1h", 3600);
	dur_ok("2d", 172800);
	dur_ok("1w", 604800);
	dur_ok("2147483647", 2147483647L);
	dur_bad("");
	dur_bad("abc");
	dur_bad("5x");
	dur_bad("-1");
	dur_bad("1h30m");
	dur_bad("5ms");
	dur_bad("1.5h");
	dur_bad(" 5");
	dur_bad("5 ");
	dur_bad("h");
	dur_bad("99999999999999999999");
	dur_bad("9999999999w");
}

TEST(parse_long_ranges)
{
	long n = -1;
	ops_error err;

	CHECK_INT(ops_parse_long("64", 1, 64, &n, &err), OPS_OK);
	CHECK_INT(n, 64);
	CHECK_INT(ops_parse_long("1", 1, 64, &n, &err), OPS_OK);
	CHECK_INT(n, 1);
	CHECK_INT(ops_parse_long("-3", -5, 5, &n, &err), OPS_OK);
	CHECK_INT(n, -3);
	n = 7;
	CHECK_INT(ops_parse_long("65", 1, 64, &n, &err), OPS_EUSAGE);
	CHECK_STR(err.message, "'65' is out of range 1..64");
	CHECK_INT(n, 7);
	CHECK_INT(ops_parse_long("0", 1, 64, &n, &err), OPS_EUSAGE);
	CHECK_STR(err.message, "'0' is out of range 1..64");
	CHECK_INT(ops_parse_long("abc", 1, 64, &n, &err), OPS_EUSAGE);
	CHECK_STR(err.message, "'abc' is not a whole number");
	CHECK_INT(ops_parse_long("", 1, 64, &n, &err), OPS_EUSAGE);
	CHECK_INT(ops_parse_long("1e3", 1, 9999, &n, &err), OPS_EUSAGE);
	CHECK_INT(ops_parse_long("12abc", 1, 9999, &n, &err), OPS_EUSAGE);
	CHECK_INT(ops_parse_long(" 5", 1, 64, &n, &err), OPS_EUSAGE);
	CHECK_INT(ops_parse_long("5 ", 1, 64, &n, &err), OPS_EUSAGE);
	CHECK_INT(ops_parse_long("99999999999999999999", 0, 0, &n, &err), OPS_EUSAGE);
	CHECK_INT(n, 7);
}

/* The one integer parser: overflow, sign and trailing bytes are refused, never
 * clamped (strtoll alone turns 99999999999999999999 into LLONG_MAX). */
TEST(parse_int64)
{
	long long v = 7;
	ops_error err;

	CHECK_INT(ops_parse_int64("9223372036854775807", 0, LLONG_MAX, &v, &err), OPS_OK);
	CHECK(v == LLONG_MAX);
	v = 7;
	CHECK_INT(ops_parse_int64("99999999999999999999", 0, LLONG_MAX, &v, &err), OPS_EUSAGE);
	CHECK_STR(err.message, "'99999999999999999999' is too large for a 64-bit integer");
	CHECK_INT(ops_parse_int64("-99999999999999999999", 0, 0, &v, &err), OPS_EUSAGE);
	CHECK_STR(err.message, "'-99999999999999999999' is too small for a 64-bit integer");
	CHECK_INT(ops_parse_int64("-1", 0, LLONG_MAX, &v, &err), OPS_EUSAGE);
	CHECK_STR(err.message, "'-1' is out of range (0 or more)");
	CHECK_INT(ops_parse_int64("12x", 0, 0, &v, &err), OPS_EUSAGE);
	CHECK_STR(err.message, "'12x' is not a whole number");
	CHECK_INT(ops_parse_int64("-", 0, 0, &v, &err), OPS_EUSAGE);
	CHECK_INT(ops_parse_int64("\t3", 0, 0, &v, &err), OPS_EUSAGE);
	CHECK_INT(ops_parse_int64(NULL, 0, 0, &v, &err), OPS_EUSAGE);
	CHECK(v == 7);
	CHECK_INT(ops_parse_int64("-42", 0, 0, &v, &err), OPS_OK);
	CHECK(v == -42);
}

TEST(parse_bool)
{
	static const char *const yes[] = {"true", "yes", "on", "1", "TRUE", "Yes", NULL};
	static const char *const no[] = {"false", "no", "off", "0", "Off", "NO", NULL};
	size_t i;
	int b;
	ops_error err;

	for (i = 0; yes[i]; i++) {
		b = -1;
		CHECK_INT(ops_parse_bool(yes[i], &b, &err), OPS_OK);
		CHECK_INT(b, 1);
	}
	for (i = 0; no[i]; i++) {
		b = -1;
		CHECK_INT(ops_parse_bool(no[i], &b, &err), OPS_OK);
		CHECK_INT(b, 0);
	}
	b = -1;
	CHECK_INT(ops_parse_bool("maybe", &b, &err), OPS_EUSAGE);
	CHECK_STR(err.message, "'maybe' is not a boolean (true/false, yes/no, on/off, 1/0)");
	CHECK_INT(b, -1);
	CHECK_INT(ops_parse_bool("", &b, &err), OPS_EUSAGE);
	CHECK_INT(ops_parse_bool("y", &b, &err), OPS_EUSAGE);
	CHECK_INT(ops_parse_bool("2", &b, &err), OPS_EUSAGE);
}

TEST(parse_size)
{
	static const struct {
		const char *text;
		long long bytes;
	} good[] = {
		{"0", 0}, {"1048576", 1048576}, {"512K", 524288}, {"512k", 524288},
		{"16M", 16777216}, {"16MiB", 16777216}, {"16mb", 16777216}, {"8G", 8589934592LL},
		{"1T", 1099511627776LL}, {"100B", 100},
	};
	static const char *const bad[] = {"", "M", "16Q", "16 M", " 16M", "-1K", "1.5G",
					  "16MM", "16Mi", "9223372036854775807K", "8191P", NULL};
	long long v;
	ops_error err;
	size_t i;

	for (i = 0; i < sizeof good / sizeof good[0]; i++) {
		v = -1;
		CHECK_INT(ops_parse_size(good[i].text, &v, &err), OPS_OK);
		CHECK_INT(v, good[i].bytes);
	}
	for (i = 0; bad[i]; i++)
		CHECK_INT(ops_parse_size(bad[i], &v, &err), OPS_EUSAGE);
	CHECK_STR(err.message,
		  "'8191P' is not a size (examples: 1048576, 512K, 16M, 8G; K is 1024)");
}

TEST(size_keys_take_suffixes_and_plain_bytes)
{
	ops_config *cfg = ops_config_new();
	ops_error err;

	CHECK_INT(ops_config_key("backup.chunk_size")->type, OPS_K_SIZE);
	CHECK_INT(ops_config_key("s3.part_size")->type, OPS_K_SIZE);
	CHECK_INT(ops_config_key("vector.memory_budget")->type, OPS_K_SIZE);
	CHECK_INT(ops_config_int(cfg, "backup.chunk_size"), 16777216);
	CHECK_INT(ops_config_int(cfg, "vector.memory_budget"), 8589934592LL);
	CHECK_INT(ops_config_set(cfg, "backup.chunk_size", "32M", "t", &err), OPS_OK);
	CHECK_INT(ops_config_int(cfg, "backup.chunk_size"), 33554432);
	CHECK_INT(ops_config_set(cfg, "backup.chunk_size", "2097152", "t", &err), OPS_OK);
	CHECK_INT(ops_config_int(cfg, "backup.chunk_size"), 2097152);
	/* issue 18: 1G by default, 0 (off) to as large as a disk goes */
	CHECK_INT(ops_config_int(cfg, "backup.parallel_threshold"), 1073741824);
	CHECK_INT(ops_config_set(cfg, "backup.parallel_threshold", "0", "t", &err), OPS_OK);
	CHECK_INT(ops_config_int(cfg, "backup.parallel_threshold"), 0);
	CHECK_INT(ops_config_set(cfg, "backup.parallel_threshold", "4T", "t", &err), OPS_OK);
	CHECK_INT(ops_config_int(cfg, "backup.parallel_threshold"), 4398046511104LL);
	CHECK_INT(ops_config_set(cfg, "backup.parallel_threshold", "lots", "t", &err), OPS_ECONFIG);
	CHECK_INT(ops_config_set(cfg, "backup.dump_jobs", "65", "t", &err), OPS_ECONFIG);
	CHECK_INT(ops_config_set(cfg, "s3.part_size", "4M", "t", &err), OPS_ECONFIG);
	CHECK_STR(err.message, "bad value for 's3.part_size': '4M' is out of range "
		  "5242880..1073741824 bytes");
	CHECK_INT(ops_config_set(cfg, "vector.memory_budget", "512", "t", &err), OPS_ECONFIG);
	CHECK_STR(err.message, "bad value for 'vector.memory_budget': '512' is out of range "
		  "(1024 bytes or more)");
	CHECK_INT(ops_config_set(cfg, "vector.memory_budget", "64G", "t", &err), OPS_OK);
	CHECK_INT(ops_config_int(cfg, "vector.memory_budget"), 68719476736LL);
	ops_config_free(cfg);
}

/* config check: every problem of a file and the environment, in order. */
TEST(collect_notes_every_problem_and_goes_on)
{
	char *env[] = {"OPSCTL_DB_HOTS=x", "OPSCTL_DB_PORT=0", "OPSCTL_TEST_ANY=1",
		       "OPSCTL_FAISS_PLUGIN=/p.so", "OPSCTL_BACKUP_KEY_FILE=/nonexistent/k", NULL};
	const char *path;
	char want[4400];
	char *const *p;
	ops_config *cfg;
	ops_error err;
	size_t n;

	tmp_begin();
	path = conf("c.conf", "[db]\nhots = a\nport = x\nhost = h1\nhost = h2\n"
		    "[bad\nname = skipped\n[backup]\nchunk_size = 8M\nno equals\n");
	cfg = ops_config_new();
	ops_config_collect(cfg);
	CHECK_INT(ops_config_load_file(cfg, path, 1, &err), OPS_OK);
	CHECK_INT(ops_config_load_env(cfg, env, &err), OPS_OK);
	ops_config_check(cfg);
	p = ops_config_problems(cfg);
	for (n = 0; p[n]; n++)
		;
	CHECK_INT(n, 8);
	if (n == 8) {
		snprintf(want, sizeof want, "%s:2: unknown key 'db.hots' (did you mean 'db.host'?)",
			 path);
		CHECK_STR(p[0], want);
		snprintf(want, sizeof want,
			 "%s:3: bad value for 'db.port': 'x' is not a whole number", path);
		CHECK_STR(p[1], want);
		snprintf(want, sizeof want, "%s:5: 'db.host' is set again (first at %s:4)", path,
			 path);
		CHECK_STR(p[2], want);
		snprintf(want, sizeof want, "%s:6: bad section header '[bad'", path);
		CHECK_STR(p[3], want);
		snprintf(want, sizeof want, "%s:10: expected 'key = value'", path);
		CHECK_STR(p[4], want);
		CHECK_STR(p[5], "environment variable OPSCTL_DB_PORT: bad value for 'db.port': "
			  "'0' is out of range 1..65535");
		CHECK_STR(p[6], "environment variable OPSCTL_DB_HOTS is not one of opsctl's "
			  "(did you mean OPSCTL_DB_HOST?)");
		CHECK_STR(p[7], "OPSCTL_BACKUP_KEY_FILE: backup.encryption_key_file "
			  "'/nonexistent/k' does not exist");
	}
	/* What was right still loaded; the later host won. */
	CHECK_STR(ops_config_get(cfg, "db.host"), "h2");
	CHECK_INT(ops_config_int(cfg, "backup.chunk_size"), 8388608);
	CHECK_STR(ops_config_file(cfg), path);
	ops_config_free(cfg);
	tmp_end();
}

/* A normal run: the first problem stops it; an unknown OPSCTL_ variable
 * only warns. */
TEST(unknown_own_variable_warns_in_a_normal_run)
{
	char *env[] = {"OPSCTL_DB_HOTS=x", "OPSCTL_CONFIG=/x", "OPSCTL_TEST_Y=1", NULL};
	ops_config *cfg = ops_config_new();
	ops_error err;

	ops_log_set_sink(keep_warning, NULL);
	warnings = 0;
	CHECK_INT(ops_config_load_env(cfg, env, &err), OPS_OK);
	CHECK_INT(warnings, 1);
	CHECK_STR(last_warning, "environment variable OPSCTL_DB_HOTS is not one of opsctl's "
		  "(did you mean OPSCTL_DB_HOST?)");
	CHECK(ops_config_file(cfg) == NULL);
	CHECK(ops_config_problems(cfg)[0] == NULL);
	ops_log_set_sink(NULL, NULL);
	ops_config_free(cfg);
}

int main(void)
{
	RUN(defaults_come_from_the_key_table);
	RUN(key_table_lookup);
	RUN(every_default_is_valid);
	RUN(file_sections_comments_and_quotes);
	RUN(file_errors_name_file_line_and_key);
	RUN(failed_value_leaves_previous_value);
	RUN(section_header_takes_a_trailing_comment);
	RUN(missing_and_unreadable_files);
	RUN(empty_values_bom_and_long_lines);
	RUN(env_empty_own_variable_falls_back_to_legacy);
	RUN(set_refuses_missing_arguments);
	RUN(env_sets_keys_and_records_the_variable);
	RUN(env_order_pghost_db_host_opsctl);
	RUN(env_bad_value_names_the_variable);
	RUN(env_bad_ENVIRONMENT_is_a_warning_not_an_error);
	RUN(precedence_every_pair_with_origins);
	RUN(file_beats_PGDATABASE_and_a_bad_generic_value_under_it);
	RUN(environment_spellings_from_every_source);
	RUN(state_dir_default_for_root_and_for_other_users);
	RUN(set_validates_like_the_file);
	RUN(load_default_explicit_path_and_OPSCTL_CONFIG);
	RUN(split_list_trims_and_drops_empty_elements);
	RUN(parse_duration);
	RUN(parse_long_ranges);
	RUN(parse_int64);
	RUN(parse_bool);
	RUN(parse_size);
	RUN(size_keys_take_suffixes_and_plain_bytes);
	RUN(collect_notes_every_problem_and_goes_on);
	RUN(unknown_own_variable_warns_in_a_normal_run);
	return unit_done();
}
