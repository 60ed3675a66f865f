/*
 * Configuration: the key table from config_keys.def, an INI reader, the
 * environment overlay and typed getters.  Values are kept as validated text
 * in one slot per declared key, so a lookup is a table scan over ~40 names and
 * loading costs nothing measurable at start-up.  This module does not know
 * what any key means; the modules that read them do.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opsmaint/config.h"
#include "opsmaint/suggest.h"
#include "opsmaint/window.h"

static const ops_key_def key_table[] = {
#define KEY(name, type, def, allowed, min, max, env, help) \
	{name, type, def, allowed, min, max, env, help},
#include "config_keys.def"
#undef KEY
	{NULL, OPS_K_STRING, NULL, NULL, 0, 0, NULL, NULL}
};
#define NKEYS (sizeof key_table / sizeof key_table[0] - 1)

struct ops_config {
	char *value[NKEYS];	/* NULL: the default */
	char *origin[NKEYS];
	long num[NKEYS];	/* parsed INT/DURATION, BOOL as 0/1 */
	int has_num[NKEYS];
};

const ops_key_def *ops_config_keys(void)
{
	return key_table;
}

static long key_index(const char *name)
{
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if (strcmp(key_table[i].name, name) == 0)
			return (long)i;
	return -1;
}

const ops_key_def *ops_config_key(const char *name)
{
	long i = key_index(name);

	return i < 0 ? NULL : &key_table[i];
}

ops_config *ops_config_new(void)
{
	return calloc(1, sizeof(ops_config));
}

void ops_config_free(ops_config *cfg)
{
	size_t i;

	if (!cfg)
		return;
	for (i = 0; i < NKEYS; i++) {
		free(cfg->value[i]);
		free(cfg->origin[i]);
	}
	free(cfg);
}

/* ---- lists ---- */

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

char **ops_split_list(const char *text)
{
	char *copy = strdup(text ? text : ""), *p, *tok, *save = NULL;
	char **v;
	size_t n = 0, cap = 1;

	if (!copy)
		return NULL;
	for (p = copy; *p; p++)
		if (*p == ',')
			cap++;
	v = calloc(cap + 1, sizeof *v);
	if (!v) {
		free(copy);
		return NULL;
	}
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *t = trim(tok);

		if (!*t)
			continue;
		if (!(v[n] = strdup(t))) {
			ops_strv_free(v);
			free(copy);
			return NULL;
		}
		n++;
	}
	free(copy);
	return v;
}

void ops_strv_free(char **v)
{
	size_t i;

	if (!v)
		return;
	for (i = 0; v[i]; i++)
		free(v[i]);
	free(v);
}

size_t ops_strv_len(char *const *v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}

/* ---- value parsers ---- */

ops_code ops_parse_long(const char *text, long min, long max, long *out,
			ops_error *err)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(text, &end, 10);
	if (!*text || *end || errno == ERANGE || isspace((unsigned char)*text))
		return ops_error_set(err, OPS_EUSAGE, "'%s' is not a whole number", text);
	if (min != max && (v < min || v > max))
		return ops_error_set(err, OPS_EUSAGE, "'%s' is out of range %ld..%ld",
				     text, min, max);
	*out = v;
	return OPS_OK;
}

ops_code ops_parse_duration(const char *text, long *seconds, ops_error *err)
{
	char *end;
	long v, mult = 1;

	errno = 0;
	v = strtol(text, &end, 10);
	if (!*text || end == text || errno == ERANGE || v < 0 || !isdigit((unsigned char)*text))
		goto bad;
	switch (*end) {
	case '\0':
	case 's':
		break;
	case 'm':
		mult = 60;
		break;
	case 'h':
		mult = 3600;
		break;
	case 'd':
		mult = 86400;
		break;
	case 'w':
		mult = 604800;
		break;
	default:
		goto bad;
	}
	if (*end && end[1])
		goto bad;
	if (v > 0 && mult > 0 && v > 0x7fffffffL / mult)
		goto bad;
	*seconds = v * mult;
	return OPS_OK;
bad:
	return ops_error_set(err, OPS_EUSAGE,
			     "'%s' is not a duration (examples: 90, 90s, 15m, 1h, 2d)", text);
}

ops_code ops_parse_bool(const char *text, int *out, ops_error *err)
{
	static const char *const yes[] = {"true", "yes", "on", "1", NULL};
	static const char *const no[] = {"false", "no", "off", "0", NULL};
	size_t i;

	for (i = 0; yes[i]; i++)
		if (strcasecmp(text, yes[i]) == 0)
			return (*out = 1), OPS_OK;
	for (i = 0; no[i]; i++)
		if (strcasecmp(text, no[i]) == 0)
			return (*out = 0), OPS_OK;
	return ops_error_set(err, OPS_EUSAGE,
			     "'%s' is not a boolean (true/false, yes/no, on/off, 1/0)", text);
}

static int in_allowed(const char *allowed, const char *value)
{
	char **v = ops_split_list(allowed);
	size_t i;
	int found = 0;

	for (i = 0; v && v[i]; i++)
		if (strcmp(v[i], value) == 0)
			found = 1;
	ops_strv_free(v);
	return found;
}

/* Validate value for key k; on success store parsed number in *num. */
static ops_code validate(const ops_key_def *k, const char *value, long *num,
			 ops_error *err)
{
	ops_code rc = OPS_OK;
	int b;
	char **list;
	size_t i;

	*num = 0;
	switch (k->type) {
	case OPS_K_STRING:
	case OPS_K_PATH:
		break;
	case OPS_K_INT:
		rc = ops_parse_long(value, k->min, k->max, num, err);
		break;
	case OPS_K_DURATION:
		rc = ops_parse_duration(value, num, err);
		if (rc == OPS_OK && k->min != k->max && (*num < k->min || *num > k->max))
			rc = ops_error_set(err, OPS_EUSAGE,
					   "'%s' is out of range %lds..%lds", value, k->min, k->max);
		break;
	case OPS_K_BOOL:
		rc = ops_parse_bool(value, &b, err);
		*num = b;
		break;
	case OPS_K_ENUM:
		if (!in_allowed(k->allowed, value))
			rc = ops_error_set(err, OPS_EUSAGE, "'%s' is not one of %s",
					   value, k->allowed);
		break;
	case OPS_K_LIST:
		if (!k->allowed)
			break;
		list = ops_split_list(value);
		if (!list)
			return ops_error_oom(err);
		for (i = 0; list[i] && rc == OPS_OK; i++)
			if (!in_allowed(k->allowed, list[i]))
				rc = ops_error_set(err, OPS_EUSAGE, "'%s' is not one of %s",
						   list[i], k->allowed);
		ops_strv_free(list);
		break;
	case OPS_K_WINDOW: {
		ops_window *w = NULL;

		rc = ops_window_parse(value, &w, err);
		ops_window_free(w);
		break;
	}
	}
	return rc;
}

static ops_code store(ops_config *cfg, long idx, const char *value,
		      const char *origin, ops_error *err)
{
	const ops_key_def *k = &key_table[idx];
	long num;
	char *v, *o;
	ops_code rc = validate(k, value, &num, err);

	if (rc != OPS_OK) {
		ops_error_prefix(err, "bad value for '%s'", k->name);
		return err ? (err->code = OPS_ECONFIG) : OPS_ECONFIG;
	}
	v = strdup(value);
	o = strdup(origin ? origin : "");
	if (!v || !o) {
		free(v);
		free(o);
		return ops_error_oom(err);
	}
	free(cfg->value[idx]);
	free(cfg->origin[idx]);
	cfg->value[idx] = v;
	cfg->origin[idx] = o;
	cfg->num[idx] = num;
	cfg->has_num[idx] = 1;
	return OPS_OK;
}

static const char *suggest_key(const char *name)
{
	const char *names[NKEYS + 1];
	size_t i;

	for (i = 0; i < NKEYS; i++)
		names[i] = key_table[i].name;
	names[NKEYS] = NULL;
	return ops_suggest(name, names);
}

ops_code ops_config_set(ops_config *cfg, const char *key, const char *value,
			const char *origin, ops_error *err)
{
	long idx = key_index(key);

	if (idx < 0) {
		const char *s = suggest_key(key);

		ops_error_set(err, OPS_ECONFIG, "unknown key '%s'", key);
		if (s)
			ops_error_hint(err, "did you mean '%s'?", s);
		return OPS_ECONFIG;
	}
	return store(cfg, idx, value, origin, err);
}

const char *ops_config_get(const ops_config *cfg, const char *key)
{
	long idx = key_index(key);

	if (idx < 0)
		return NULL;
	if (cfg && cfg->value[idx])
		return cfg->value[idx];
	return key_table[idx].def;
}

const char *ops_config_origin(const ops_config *cfg, const char *key)
{
	long idx = key_index(key);

	if (idx < 0)
		return NULL;
	return cfg && cfg->origin[idx] ? cfg->origin[idx] : "default";
}

long ops_config_int(const ops_config *cfg, const char *key)
{
	long idx = key_index(key), v = 0;
	const ops_key_def *k;

	if (idx < 0)
		return 0;
	if (cfg && cfg->has_num[idx])
		return cfg->num[idx];
	k = &key_table[idx];
	if (!k->def)
		return 0;
	if (k->type == OPS_K_DURATION)
		ops_parse_duration(k->def, &v, NULL);
	else if (k->type == OPS_K_BOOL) {
		int b = 0;

		ops_parse_bool(k->def, &b, NULL);
		v = b;
	} else
		v = strtol(k->def, NULL, 10);
	return v;
}

int ops_config_bool(const ops_config *cfg, const char *key)
{
	return ops_config_int(cfg, key) != 0;
}

char **ops_config_list(const ops_config *cfg, const char *key)
{
	return ops_split_list(ops_config_get(cfg, key));
}

/* ---- INI files ---- */

/* Strip a trailing " # comment" outside quotes and unquote; in place. */
static ops_code parse_value(char *raw, char **out, const char *path, int line,
			    ops_error *err)
{
	char *v = trim(raw), *w, *r;

	if (*v == '"') {
		for (r = v + 1, w = v; *r && *r != '"'; r++) {
			if (*r == '\\' && (r[1] == '"' || r[1] == '\\'))
				r++;
			*w++ = *r;
		}
		if (*r != '"')
			return ops_error_set(err, OPS_ECONFIG, "%s:%d: unterminated quoted value",
					     path, line);
		*w = '\0';
		r = trim(r + 1);
		if (*r && *r != '#' && *r != ';')
			return ops_error_set(err, OPS_ECONFIG,
					     "%s:%d: text after the closing quote", path, line);
		*out = v;
		return OPS_OK;
	}
	for (r = v; *r; r++)
		if ((*r == '#' || *r == ';') && r > v && isspace((unsigned char)r[-1])) {
			*r = '\0';
			break;
		}
	*out = trim(v);
	return OPS_OK;
}

ops_code ops_config_load_file(ops_config *cfg, const char *path, int must_exist,
			      ops_error *err)
{
	FILE *fp = fopen(path, "re");
	char *line = NULL, section[64] = "";
	size_t cap = 0;
	int lineno = 0;
	ops_code rc = OPS_OK;

	if (!fp) {
		if (errno == ENOENT && !must_exist)
			return OPS_OK;
		if (errno == EACCES)
			return ops_error_set(err, OPS_EPERM, "cannot read configuration '%s': %s",
					     path, strerror(errno));
		return ops_error_set(err, OPS_ECONFIG, "cannot read configuration '%s': %s",
				     path, strerror(errno));
	}
	while (getline(&line, &cap, fp) != -1) {
		char *s = trim(line), *eq, *key, *value = NULL, full[160], origin[600];
		long idx;

		lineno++;
		if (!*s || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			char *end = strchr(s, ']');

			if (!end || trim(end + 1)[0] != '\0' || end - s - 1 <= 0 ||
			    end - s - 1 >= (long)sizeof section) {
				rc = ops_error_set(err, OPS_ECONFIG, "%s:%d: bad section header '%s'",
						   path, lineno, s);
				goto out;
			}
			*end = '\0';
			snprintf(section, sizeof section, "%s", trim(s + 1));
			continue;
		}
		eq = strchr(s, '=');
		if (!eq) {
			rc = ops_error_set(err, OPS_ECONFIG, "%s:%d: expected 'key = value'",
					   path, lineno);
			goto out;
		}
		*eq = '\0';
		key = trim(s);
		if (!*key) {
			rc = ops_error_set(err, OPS_ECONFIG, "%s:%d: expected 'key = value'",
					   path, lineno);
			goto out;
		}
		if (!section[0]) {
			rc = ops_error_set(err, OPS_ECONFIG,
					   "%s:%d: key '%s' outside any [section]", path, lineno, key);
			goto out;
		}
		snprintf(full, sizeof full, "%s.%s", section, key);
		idx = key_index(full);
		if (idx < 0) {
			const char *sug = suggest_key(full);

			if (sug)
				rc = ops_error_set(err, OPS_ECONFIG,
						   "%s:%d: unknown key '%s' (did you mean '%s'?)",
						   path, lineno, full, sug);
			else
				rc = ops_error_set(err, OPS_ECONFIG, "%s:%d: unknown key '%s'",
						   path, lineno, full);
			goto out;
		}
		if ((rc = parse_value(eq + 1, &value, path, lineno, err)) != OPS_OK)
			goto out;
		snprintf(origin, sizeof origin, "%s:%d", path, lineno);
		if ((rc = store(cfg, idx, value, origin, err)) != OPS_OK) {
			ops_error_prefix(err, "%s:%d", path, lineno);
			goto out;
		}
	}
	if (ferror(fp))
		rc = ops_error_errno(err, errno, "cannot read configuration", path);
out:
	free(line);
	fclose(fp);
	return rc;
}

/* ---- environment ---- */

static const char *env_lookup(char *const *envp, const char *name)
{
	size_t n = strlen(name);

	for (; envp && *envp; envp++)
		if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
			return *envp + n + 1;
	return NULL;
}

ops_code ops_config_load_env(ops_config *cfg, char *const *envp, ops_error *err)
{
	size_t i;

	for (i = 0; i < NKEYS; i++) {
		const ops_key_def *k = &key_table[i];
		char own[96], *p;
		const char *val = NULL, *from = NULL;
		char **names;
		size_t j;

		/* OPSCTL_DB_HOST beats DB_HOST and PGHOST. */
		snprintf(own, sizeof own, "OPSCTL_%s", k->name);
		for (p = own; *p; p++)
			*p = *p == '.' ? '_' : (char)toupper((unsigned char)*p);
		val = env_lookup(envp, own);
		if (val && *val)
			from = own;
		if (!from && k->env) {
			names = ops_split_list(k->env);
			if (!names)
				return ops_error_oom(err);
			for (j = 0; names[j] && !from; j++) {
				val = env_lookup(envp, names[j]);
				if (val && *val) {
					if (store(cfg, (long)i, val, names[j], err) != OPS_OK) {
						ops_error_prefix(err, "environment variable %s", names[j]);
						ops_strv_free(names);
						return OPS_ECONFIG;
					}
					from = names[j];
				}
			}
			ops_strv_free(names);
			continue;
		}
		if (from && store(cfg, (long)i, val, from, err) != OPS_OK) {
			ops_error_prefix(err, "environment variable %s", from);
			return OPS_ECONFIG;
		}
	}
	return OPS_OK;
}

ops_code ops_config_load_default(ops_config *cfg, const char *explicit_path,
				 char *const *envp, ops_error *err)
{
	const char *path = explicit_path;
	ops_code rc;

	if (!path) {
		path = env_lookup(envp, "OPSCTL_CONFIG");
		if (path && !*path)
			path = NULL;
	}
	if (path)
		rc = ops_config_load_file(cfg, path, 1, err);
	else
		rc = ops_config_load_file(cfg, "/etc/opsctl/opsctl.conf", 0, err);
	if (rc != OPS_OK)
		return rc;
	return ops_config_load_env(cfg, envp, err);
}
