/*
 * `opsctl config show` and `opsctl config check`: the configuration as
 * opsctl sees it, for an operator asking "which value, from where?" and for
 * CI asking "is this file right?".  The facts (values, origins, the file
 * read, every problem) come from lib/core/config.c; this file only words
 * them.  Values are masked as the journal masks arguments (ops_redact_arg),
 * so a URL's password never reaches a terminal or a CI log.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "opsmaint/journal.h"
#include "opsmaint/suggest.h"

extern char **environ;

/* "db" of "db.host"; buf holds it. */
static const char *section_of(const char *key, char *buf, size_t len)
{
	const char *dot = strchr(key, '.');

	snprintf(buf, len, "%.*s", dot ? (int)(dot - key) : (int)strlen(key), key);
	return buf;
}

/* The value as it may be shown: a secret-looking key's value is "***", a
 * URI's password or a conninfo password=... is masked.  Only free text can
 * hold a secret: a duration, a path or a list of variable names under a
 * secret-looking name (keys.jwt_token_lifetime, keys.vault_token_file,
 * keys.api_keys) is shown, so that `config show` reads back as the same
 * configuration. */
static char *shown_value(const char *key, const char *value)
{
	char opt[96];
	const char *dot = strchr(key, '.');
	const ops_key_def *def = ops_config_key(key);

	if (!value)
		return NULL;
	snprintf(opt, sizeof opt, "--%s", def && def->type != OPS_K_STRING ? "value"
		 : dot ? dot + 1 : key);
	return ops_redact_arg(opt, value);
}

/* Does word name this key, or its section? */
static int selects(const char *word, const char *key)
{
	size_t n = strlen(word);

	return strcmp(word, key) == 0 || (strncmp(word, key, n) == 0 && key[n] == '.');
}

/* Each KEY argument must be a key or a section: a typo is a usage error
 * with the nearest name, not an empty listing. */
static ops_code check_words(struct cli_inv *inv, ops_error *err)
{
	const ops_key_def *k;
	const char *names[256], *best;
	char sections[64][32];
	size_t ns = 0, nn = 0, j;
	int i;

	for (k = ops_config_keys(); k->name && nn < 190; k++) {
		char sec[32];

		names[nn++] = k->name;
		section_of(k->name, sec, sizeof sec);
		for (j = 0; j < ns && strcmp(sections[j], sec) != 0; j++)
			;
		if (j == ns && ns < 64)
			memcpy(sections[ns++], sec, sizeof sec);
	}
	for (j = 0; j < ns; j++)
		names[nn++] = sections[j];
	names[nn] = NULL;
	for (i = 0; i < inv->nargs; i++) {
		int found = 0;

		for (k = ops_config_keys(); k->name && !found; k++)
			found = selects(inv->args[i], k->name);
		if (found)
			continue;
		best = ops_suggest(inv->args[i], names);
		ops_error_set(err, OPS_EUSAGE, "unknown key '%s'%s%s%s", inv->args[i],
			      best ? " (did you mean '" : "", best ? best : "", best ? "'?)" : "");
		return OPS_EUSAGE;
	}
	return OPS_OK;
}

static int wanted(const struct cli_inv *inv, const char *key)
{
	int i;

	if (inv->nargs == 0)
		return 1;
	for (i = 0; i < inv->nargs; i++)
		if (selects(inv->args[i], key))
			return 1;
	return 0;
}

/* A value that would not read back the same from the file is quoted. */
static int needs_quotes(const char *v)
{
	size_t n = strlen(v);

	return n && (v[0] == ' ' || v[n - 1] == ' ' || v[0] == '"' || strstr(v, " #") ||
		     strstr(v, " ;") || strstr(v, "\t#") || strstr(v, "\t;"));
}

/* "..." with \" and \\ escaped, as the file's reader takes them back. */
static void print_quoted(const char *v)
{
	putchar('"');
	for (; *v; v++) {
		if (*v == '"' || *v == '\\')
			putchar('\\');
		putchar(*v);
	}
	putchar('"');
}

/*
 * Text: an INI file one could paste, grouped by section (each once, in the
 * key table's order of first appearance), keys aligned, the origin after
 * each value as a comment; an unset key is a comment "# key = (unset)".
 */
static void show_text(const struct cli_inv *inv, const cJSON *keys)
{
	char done[64][32], sec[32], other[32];
	size_t nd = 0, j;
	const cJSON *k, *m;

	cJSON_ArrayForEach(k, keys) {
		int kw = 0, vw = 0;

		section_of(cJSON_GetObjectItem(k, "key")->valuestring, sec, sizeof sec);
		for (j = 0; j < nd && strcmp(done[j], sec) != 0; j++)
			;
		if (j < nd || nd == 64)
			continue;
		memcpy(done[nd++], sec, sizeof sec);
		/* Column widths of this section, values capped so that one long
		 * path does not push every comment off the screen. */
		cJSON_ArrayForEach(m, keys) {
			const char *name = cJSON_GetObjectItem(m, "key")->valuestring;
			const cJSON *v = cJSON_GetObjectItem(m, "value");
			int len;

			if (strcmp(section_of(name, other, sizeof other), sec) != 0)
				continue;
			if ((int)strlen(name) - (int)strlen(sec) - 1 > kw)
				kw = (int)strlen(name) - (int)strlen(sec) - 1;
			len = cJSON_IsString(v) ? (int)strlen(v->valuestring) : 0;
			if (len > vw && len <= 40)
				vw = len;
		}
		printf("%s[%s]\n", nd > 1 ? "\n" : "", sec);
		cJSON_ArrayForEach(m, keys) {
			const char *name = cJSON_GetObjectItem(m, "key")->valuestring;
			const cJSON *v = cJSON_GetObjectItem(m, "value");
			const char *origin = cJSON_GetObjectItem(m, "origin")->valuestring;
			const char *val = cJSON_IsString(v) ? v->valuestring : "";
			int q = needs_quotes(val);

			if (strcmp(section_of(name, other, sizeof other), sec) != 0)
				continue;
			/* Commented out, so that the text reads back as a file. */
			if (!cJSON_IsString(v)) {
				printf("# %s = (unset)\n", name + strlen(sec) + 1);
				continue;
			}
			printf("%-*s = ", kw, name + strlen(sec) + 1);
			if (q)
				print_quoted(val);
			else
				fputs(val, stdout);
			printf("%*s  # %s\n", vw - (int)strlen(val) - (q ? 2 : 0) > 0
			       ? vw - (int)strlen(val) - (q ? 2 : 0) : 0, "", origin);
		}
	}
	(void)inv;
}

static ops_code op_show(struct cli_inv *inv, const ops_run *run, cJSON **report,
			ops_error *err)
{
	const char *file = ops_config_file(inv->cfg);
	const ops_key_def *k;
	cJSON *out, *keys;
	ops_code rc;

	(void)run;
	if ((rc = check_words(inv, err)) != OPS_OK)
		return rc;
	out = cJSON_CreateObject();
	if (!out || !(file ? cJSON_AddStringToObject(out, "config_file", file)
			    : cJSON_AddNullToObject(out, "config_file")) ||
	    !(keys = cJSON_AddArrayToObject(out, "keys"))) {
		cJSON_Delete(out);
		return ops_error_oom(err);
	}
	for (k = ops_config_keys(); k->name; k++) {
		const char *value = ops_config_get(inv->cfg, k->name);
		char *shown = shown_value(k->name, value);
		cJSON *o;

		if (!wanted(inv, k->name)) {
			free(shown);
			continue;
		}
		o = cJSON_CreateObject();
		if (o)
			cJSON_AddItemToArray(keys, o);
		if (!o || !cJSON_AddStringToObject(o, "key", k->name) ||
		    !(shown ? cJSON_AddStringToObject(o, "value", shown)
			    : cJSON_AddNullToObject(o, "value")) ||
		    !cJSON_AddStringToObject(o, "origin", ops_config_origin(inv->cfg, k->name))) {
			free(shown);
			cJSON_Delete(out);
			return ops_error_oom(err);
		}
		free(shown);
	}
	if (inv->out == OPS_OUT_JSON) {
		*report = out;
		return OPS_OK;
	}
	if (!inv->quiet) {
		if (inv->nargs == 0)
			printf("# configuration file: %s\n\n", file ? file :
			       "none (" OPS_CONFIG_SYSTEM_FILE " does not exist)");
		show_text(inv, keys);
	}
	cJSON_Delete(out);
	return OPS_OK;
}

/*
 * config check loads the configuration itself (the row is CLI_NO_CONFIG):
 * in strict mode, so that every problem is found, not the first.
 */
static ops_code op_check(struct cli_inv *inv, const ops_run *run, cJSON **report,
			 ops_error *err)
{
	const struct cli_val *conf = cli_global(inv->gvals, "config");
	const struct cli_val *env = cli_global(inv->gvals, "env");
	ops_config *cfg = ops_config_new();
	char *const *p;
	cJSON *out = NULL, *list;
	size_t n = 0;
	ops_code rc;

	(void)run;
	if (!cfg)
		return ops_error_oom(err);
	ops_config_collect(cfg);
	rc = ops_config_load_default(cfg, conf->set ? conf->str : NULL, environ, err);
	if (rc == OPS_OK && env->set &&
	    ops_config_set(cfg, "general.environment", env->str, "--env", err) != OPS_OK) {
		ops_error_prefix(err, "--env");
		rc = err->code = OPS_EUSAGE;
	}
	if (rc != OPS_OK)
		goto out;
	ops_config_check(cfg);
	out = cJSON_CreateObject();
	if (!out || !(ops_config_file(cfg)
		      ? cJSON_AddStringToObject(out, "config_file", ops_config_file(cfg))
		      : cJSON_AddNullToObject(out, "config_file")) ||
	    !(list = cJSON_AddArrayToObject(out, "problems"))) {
		rc = ops_error_oom(err);
		goto out;
	}
	for (p = ops_config_problems(cfg); *p; p++, n++) {
		if (!cJSON_AddItemToArray(list, cJSON_CreateString(*p))) {
			rc = ops_error_oom(err);
			goto out;
		}
		if (inv->out == OPS_OUT_TEXT && !inv->quiet)
			printf("%s\n", *p);
	}
	if (inv->out == OPS_OUT_TEXT && !inv->quiet && n == 0)
		printf("configuration ok: %s\n", ops_config_file(cfg) ? ops_config_file(cfg) :
		       "no file (" OPS_CONFIG_SYSTEM_FILE " does not exist), "
		       "defaults and environment");
	if (n > 0) {
		rc = ops_error_set(err, OPS_ECONFIG, "%zu problem%s in the configuration", n,
				   n == 1 ? "" : "s");
		if (inv->out == OPS_OUT_TEXT)
			ops_error_hint(err, "each line above names the file and line, "
				       "or the variable");
	}
	if (inv->out == OPS_OUT_JSON) {
		*report = out;
		out = NULL;
	}
out:
	cJSON_Delete(out);
	ops_config_free(cfg);
	return rc;
}

static const struct cli_opt no_opts[] = {
	CLI_OPT_END
};

const struct cli_cmd cli_config_subs[] = {
	{.name = "show",
	 .summary = "print every key's effective value and where it came from",
	 .args = "[KEY|SECTION...]", .max_args = -1, .opts = no_opts, .op = op_show,
	 .description =
	 "Prints the configuration opsctl would run with, after the defaults, the generic "
	 "environment, the file, OPSCTL_* variables and --env, as an INI file grouped by "
	 "section: each key's value and, as a comment, where it came from: default, FILE:LINE, "
	 "the environment variable's name, or the flag. The first line names the file read, or "
	 "says that none was. KEY arguments (db.host) or sections (db) show only those. "
	 "Passwords in URLs and values of secret-looking keys are masked as in the journal. "
	 "With --output json: config_file (null when none) and keys, an array of key, value "
	 "(null when unset) and origin.",
	 .examples = "Where does the database host come from?\nopsctl config show db.host\n"
		     "Everything, for a program\nopsctl --output json config show"},
	{.name = "check",
	 .summary = "check the configuration strictly and list every problem (exit 78 if any)",
	 .opts = no_opts, .op = op_check, .flags = CLI_NO_CONFIG,
	 .description =
	 "Loads the configuration as every command does, but strictly and without stopping at "
	 "the first problem, and prints each problem on its own line: unknown keys (with the "
	 "nearest known one), bad values, lines that are not key = value, a key set twice in "
	 "one file, OPSCTL_* environment variables that opsctl does not read (a normal run "
	 "only warns about the last two), and file or directory keys (backup."
	 "encryption_key_file, s3.ca_file, redis.tls_*, backup.pg_bindir...) naming something "
	 "that does not exist. Exits 78 when there is any problem, 0 otherwise, so that CI can "
	 "run it on a configuration before it is deployed.",
	 .examples = "Check a file before deploying it\n"
		     "opsctl --config ./opsctl.conf config check"},
	{0}
};

const char cli_config_description[] =
	"Shows the effective configuration and where each value came from, and checks a "
	"configuration for every problem at once. The keys themselves are described in "
	"opsctl.conf(5); PostgreSQL's own settings are reviewed by opsctl db config.";
