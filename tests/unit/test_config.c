/* Unit tests for lib/config.c: defaults, INI files, environment, precedence. */
#include <stdio.h>
#include <unistd.h>

#include "unit.h"
#include "opsmaint/config.h"

static char *write_conf(const char *dir, const char *text)
{
	char *path = malloc(strlen(dir) + 16);
	FILE *fp;

	sprintf(path, "%s/test.conf", dir);
	fp = fopen(path, "w");
	fputs(text, fp);
	fclose(fp);
	return path;
}

TEST(defaults_come_from_the_key_table)
{
	ops_config *cfg = ops_config_new();

	CHECK_STR(ops_config_get(cfg, "general.environment"), "prod");
	CHECK_INT(ops_config_int(cfg, "db.idle_timeout"), 3600);
	CHECK_INT(ops_config_int(cfg, "health.connections_pct"), 80);
	CHECK_INT(ops_config_int(cfg, "health.long_query"), 5);
	CHECK_STR(ops_config_get(cfg, "window.prod"), "Sun 02:00-04:00, Sat 02:00-04:00");
	CHECK(ops_config_get(cfg, "db.host") == NULL);
	CHECK(ops_config_get(cfg, "no.such") == NULL);
	CHECK_STR(ops_config_origin(cfg, "db.idle_timeout"), "default");
	ops_config_free(cfg);
}

TEST(file_sets_values_and_records_origin)
{
	char *dir = unit_tmpdir();
	char *path = write_conf(dir,
		"# comment\n; another\n[general]\nenvironment = staging\n\n"
		"[db]\nhost = \"db.example \\\"q\\\"\"   \nport = 5433 # trailing comment\n"
		"idle_timeout = 15m\n[window]\nprod = Sun 01:00-05:00\n");
	ops_config *cfg = ops_config_new();
	ops_error err;
	char origin[512];

	CHECK_INT(ops_config_load_file(cfg, path, 1, &err), OPS_OK);
	CHECK_STR(ops_config_get(cfg, "general.environment"), "staging");
	CHECK_STR(ops_config_get(cfg, "db.host"), "db.example \"q\"");
	CHECK_INT(ops_config_int(cfg, "db.port"), 5433);
	CHECK_INT(ops_config_int(cfg, "db.idle_timeout"), 900);
	CHECK_STR(ops_config_get(cfg, "window.prod"), "Sun 01:00-05:00");
	snprintf(origin, sizeof origin, "%s:8", path);
	CHECK_STR(ops_config_origin(cfg, "db.port"), origin);
	ops_config_free(cfg);
	free(path);
	unit_rmrf(dir);
	free(dir);
}

static void expect_file_error(const char *text, ops_code code, const char *needle)
{
	char *dir = unit_tmpdir();
	char *path = write_conf(dir, text);
	ops_config *cfg = ops_config_new();
	ops_error err;

	CHECK_INT(ops_config_load_file(cfg, path, 1, &err), code);
	CHECK_CONTAINS(err.message, needle);
	CHECK_CONTAINS(err.message, path);
	ops_config_free(cfg);
	free(path);
	unit_rmrf(dir);
	free(dir);
}

TEST(file_errors_name_file_line_and_key)
{
	expect_file_error("[db]\nhots = x\n", OPS_ECONFIG, ":2: unknown key 'db.hots' (did you mean 'db.host'?)");
	expect_file_error("[db]\n\nport = 99999\n", OPS_ECONFIG, ":3: bad value for 'db.port'");
	expect_file_error("[db]\nport = abc\n", OPS_ECONFIG, "'abc' is not a whole number");
	expect_file_error("[db]\njust words\n", OPS_ECONFIG, ":2: expected 'key = value'");
	expect_file_error("host = x\n", OPS_ECONFIG, ":1: key 'host' outside any [section]");
	expect_file_error("[db\nhost = x\n", OPS_ECONFIG, ":1: bad section header");
	expect_file_error("[db]\nhost = \"open\n", OPS_ECONFIG, ":2: unterminated quoted value");
	expect_file_error("[general]\nenvironment = qa\n", OPS_ECONFIG, "'qa' is not one of dev,staging,prod");
	expect_file_error("[window]\nprod = Sun 2-4\n", OPS_ECONFIG, "bad value for 'window.prod'");
	expect_file_error("[db]\nidle_timeout = 1h30m\n", OPS_ECONFIG, "not a duration");
}

TEST(missing_file)
{
	ops_config *cfg = ops_config_new();
	ops_error err;

	CHECK_INT(ops_config_load_file(cfg, "/nonexistent/opsctl.conf", 0, &err), OPS_OK);
	CHECK_INT(ops_config_load_file(cfg, "/nonexistent/opsctl.conf", 1, &err), OPS_ECONFIG);
	CHECK_CONTAINS(err.message, "cannot read configuration '/nonexistent/opsctl.conf'");
	ops_config_free(cfg);
}

TEST(environment_overlays_in_order)
{
	char *env1[] = {"PGHOST=pg-host", "DB_USERNAME=app", "PATH=/bin", NULL};
	char *env2[] = {"PGHOST=pg-host", "DB_HOST=db-host", NULL};
	char *env3[] = {"PGHOST=pg-host", "DB_HOST=db-host", "OPSCTL_DB_HOST=own", NULL};
	char *bad[] = {"DB_PORT=eighty", NULL};
	ops_config *cfg = ops_config_new();
	ops_error err;

	CHECK_INT(ops_config_load_env(cfg, env1, &err), OPS_OK);
	CHECK_STR(ops_config_get(cfg, "db.host"), "pg-host");
	CHECK_STR(ops_config_origin(cfg, "db.host"), "PGHOST");
	CHECK_STR(ops_config_get(cfg, "db.user"), "app");
	CHECK_INT(ops_config_load_env(cfg, env2, &err), OPS_OK);
	CHECK_STR(ops_config_get(cfg, "db.host"), "db-host");
	CHECK_INT(ops_config_load_env(cfg, env3, &err), OPS_OK);
	CHECK_STR(ops_config_get(cfg, "db.host"), "own");
	CHECK_STR(ops_config_origin(cfg, "db.host"), "OPSCTL_DB_HOST");
	CHECK_INT(ops_config_load_env(cfg, bad, &err), OPS_ECONFIG);
	CHECK_CONTAINS(err.message, "DB_PORT");
	/* Flags come last and win. */
	CHECK_INT(ops_config_set(cfg, "db.host", "flag-host", "--host", &err), OPS_OK);
	CHECK_STR(ops_config_get(cfg, "db.host"), "flag-host");
	CHECK_INT(ops_config_set(cfg, "db.hots", "x", "--x", &err), OPS_ECONFIG);
	CHECK_CONTAINS(err.hint, "db.host");
	ops_config_free(cfg);
}

TEST(load_default_prefers_explicit_then_OPSCTL_CONFIG)
{
	char *dir = unit_tmpdir();
	char *path = write_conf(dir, "[db]\nname = from_file\n");
	char envvar[4200];
	char *env[] = {envvar, "DB_USERNAME=u", NULL};
	char *env_none[] = {NULL};
	ops_config *cfg = ops_config_new();
	ops_error err;

	snprintf(envvar, sizeof envvar, "OPSCTL_CONFIG=%s", path);
	CHECK_INT(ops_config_load_default(cfg, NULL, env, &err), OPS_OK);
	CHECK_STR(ops_config_get(cfg, "db.name"), "from_file");
	CHECK_STR(ops_config_get(cfg, "db.user"), "u");
	ops_config_free(cfg);
	cfg = ops_config_new();
	CHECK_INT(ops_config_load_default(cfg, "/nonexistent.conf", env, &err), OPS_ECONFIG);
	ops_config_free(cfg);
	cfg = ops_config_new();
	/* Without either, a missing /etc/opsctl/opsctl.conf is fine. */
	if (access("/etc/opsctl/opsctl.conf", F_OK) != 0)
		CHECK_INT(ops_config_load_default(cfg, NULL, env_none, &err), OPS_OK);
	ops_config_free(cfg);
	free(path);
	unit_rmrf(dir);
	free(dir);
}

TEST(lists_and_parsers)
{
	char **v = ops_split_list(" a, b ,,c ,");
	long n = 0;
	int b = 0;
	ops_error err;

	CHECK_INT(ops_strv_len(v), 3);
	CHECK_STR(v[0], "a");
	CHECK_STR(v[1], "b");
	CHECK_STR(v[2], "c");
	ops_strv_free(v);
	v = ops_split_list("");
	CHECK_INT(ops_strv_len(v), 0);
	ops_strv_free(v);

	CHECK_INT(ops_parse_duration("90", &n, &err), OPS_OK); CHECK_INT(n, 90);
	CHECK_INT(ops_parse_duration("90s", &n, &err), OPS_OK); CHECK_INT(n, 90);
	CHECK_INT(ops_parse_duration("15m", &n, &err), OPS_OK); CHECK_INT(n, 900);
	CHECK_INT(ops_parse_duration("1h", &n, &err), OPS_OK); CHECK_INT(n, 3600);
	CHECK_INT(ops_parse_duration("2d", &n, &err), OPS_OK); CHECK_INT(n, 172800);
	CHECK_INT(ops_parse_duration("1w", &n, &err), OPS_OK); CHECK_INT(n, 604800);
	CHECK_INT(ops_parse_duration("", &n, &err), OPS_EUSAGE);
	CHECK_INT(ops_parse_duration("abc", &n, &err), OPS_EUSAGE);
	CHECK_INT(ops_parse_duration("5x", &n, &err), OPS_EUSAGE);
	CHECK_INT(ops_parse_duration("-1", &n, &err), OPS_EUSAGE);
	CHECK_INT(ops_parse_long("64", 1, 64, &n, &err), OPS_OK); CHECK_INT(n, 64);
	CHECK_INT(ops_parse_long("65", 1, 64, &n, &err), OPS_EUSAGE);
	CHECK_CONTAINS(err.message, "out of range 1..64");
	CHECK_INT(ops_parse_long("1e3", 1, 9999, &n, &err), OPS_EUSAGE);
	CHECK_INT(ops_parse_bool("yes", &b, &err), OPS_OK); CHECK_INT(b, 1);
	CHECK_INT(ops_parse_bool("Off", &b, &err), OPS_OK); CHECK_INT(b, 0);
	CHECK_INT(ops_parse_bool("maybe", &b, &err), OPS_EUSAGE);
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

int main(void)
{
	RUN(defaults_come_from_the_key_table);
	RUN(file_sets_values_and_records_origin);
	RUN(file_errors_name_file_line_and_key);
	RUN(missing_file);
	RUN(environment_overlays_in_order);
	RUN(load_default_prefers_explicit_then_OPSCTL_CONFIG);
	RUN(lists_and_parsers);
	RUN(every_default_is_valid);
	return unit_done();
}
