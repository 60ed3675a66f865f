/*
 * Configuration: the key table from config_keys.def, an INI reader, the
 * environment and typed getters.  Values are kept as validated text in one
 * slot per declared key (plus the parsed number), so a lookup is a scan over
 * ~40 names and loading costs nothing measurable at start-up.
 *
 * Later wins: defaults; the generic variables the guides' systems already
 * export (DB_HOST, PG*, ENVIRONMENT, AWS_*), which only fill keys nothing
 * else set; the file; OPSCTL_* variables; flags.  A variable is opsctl's own
 * when its name starts with OPSCTL_, so config_keys.def needs no column for
 * it.  The few alternative spellings of enum values (production for prod)
 * are mapped here, to the canonical value, before anything reads them.
 *
 * This module does not know what any key means, the modules that read them
 * do; it does not read flags either, the front end calls ops_config_set().
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/stat.h>

#include "opsmaint/config.h"
#include "opsmaint/log.h"
#include "opsmaint/suggest.h"
#include "opsmaint/window.h"

static const ops_key_def key_table[] = {
#define KEY(name, type, def, allowed, min, max, env, help) \
	{name, type, def, allowed, min, max, env, help},
#include "core/config_keys.def"
#undef KEY
	{NULL, OPS_K_STRING, NULL, NULL, 0, 0, NULL, NULL}
};
#define NKEYS (sizeof key_table / sizeof key_table[0] - 1)

#define SYSTEM_CONFIG OPS_CONFIG_SYSTEM_FILE
#define OWN_PREFIX "OPSCTL_"
#define OWN_PREFIX_LEN (sizeof OWN_PREFIX - 1)

/*
 * Other spellings of enum values, as containers and the guides' .env files
 * write them (ENVIRONMENT=production).  A key listed here is matched without
 * regard to case, its canonical values too; what is stored, and what every
 * module reads, is the canonical value.  The key's help text names them.
 */
static const struct spelling {
	const char *key, *text, *value;
} spellings[] = {
	{"general.environment", "production", "prod"},
	{"general.environment", "stage", "staging"},
	{"general.environment", "development", "dev"},
};
#define NSPELLINGS (sizeof spellings / sizeof spellings[0])

struct ops_config {
	char *value[NKEYS];	/* NULL: not set, the default applies */
	char *origin[NKEYS];
	long num[NKEYS];	/* parsed INT/SIZE/DURATION, BOOL as 0/1; valid when value set */
	char *file;		/* the file read, for config show */
	int collect;		/* config check: note every problem, go on */
	char **problems;	/* NULL-terminated, in the order found */
	size_t nproblems;
};

/*
 * OPSCTL_ variables that are not a key's: the file to read, and the two the
 * vector plugin loader reads (vecfaiss.c, vector_index.c).  OPSCTL_TEST_ is
 * the test suite's own prefix.
 */
static const char *const other_own_vars[] = {
	"OPSCTL_CONFIG", "OPSCTL_FAISS_PLUGIN", "OPSCTL_INDEX_CHECK_NO_RLIMIT", NULL
};
#define TEST_PREFIX "OPSCTL_TEST_"

const ops_key_def *ops_config_keys(void)
{
	return key_table;
}

static long key_index(const char *name)
{
	size_t i;

	if (!name)
		return -1;
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
	free(cfg->file);
	ops_strv_free(cfg->problems);
	free(cfg);
}

void ops_config_collect(ops_config *cfg)
{
	if (cfg)
		cfg->collect = 1;
}

char *const *ops_config_problems(const ops_config *cfg)
{
	static char *const none[] = {NULL};

	return cfg && cfg->problems ? cfg->problems : none;
}

const char *ops_config_file(const ops_config *cfg)
{
	return cfg ? cfg->file : NULL;
}

/*
 * In a strict check, keep err's message (and its hint, which is where
 * ops_config_set puts the suggestion) and return OPS_OK so that the caller
 * goes on; otherwise return err's code.  Only running out of memory stops a
 * check.
 */
static ops_code problem(ops_config *cfg, ops_error *err)
{
	char **v, *text = NULL;

	if (!cfg->collect || !err || err->code == OPS_EINTERNAL)
		return err ? err->code : OPS_ECONFIG;
	if (asprintf(&text, "%s%s%s%s", err->message, err->hint[0] ? " (" : "",
		     err->hint, err->hint[0] ? ")" : "") < 0)
		return ops_error_oom(err);
	v = realloc(cfg->problems, (cfg->nproblems + 2) * sizeof *v);
	if (!v) {
		free(text);
		return ops_error_oom(err);
	}
	v[cfg->nproblems++] = text;
	v[cfg->nproblems] = NULL;
	cfg->problems = v;
	ops_error_clear(err);
	return OPS_OK;
}

/* A warning in a normal run, a problem in a strict check. */
static ops_code warn_or_note(ops_config *cfg, ops_error *err)
{
	if (!cfg->collect) {
		ops_log_warn("%s", err->message);
		ops_error_clear(err);
		return OPS_OK;
	}
	return problem(cfg, err);
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

/*
 * Is word (len bytes) one element of the comma-separated list?  The lists
 * come from config_keys.def, so they hold no spaces; no allocation, because
 * validation runs for every key on every start.
 */
static int list_has(const char *list, const char *word, size_t len)
{
	const char *p = list;

	while (p && *p) {
		const char *q = strchrnul(p, ',');

		if ((size_t)(q - p) == len && strncmp(p, word, len) == 0)
			return 1;
		p = *q ? q + 1 : q;
	}
	return 0;
}

/* ---- value parsers ---- */

/*
 * The one integer parser: every flag, config value and number read back from
 * a file or a server goes through it, so that overflow (ERANGE), a sign where
 * none belongs, blanks and trailing garbage are refused alike instead of being
 * clamped or cut short by strtoll.
 */
ops_code ops_parse_int64(const char *text, long long min, long long max,
			 long long *out, ops_error *err)
{
	char *end;
	long long v;

	if (!text)
		text = "";
	errno = 0;
	v = strtoll(text, &end, 10);
	/* strtoll would skip leading blanks; a value with them is a typo. */
	if (!*text || *end || end == text || isspace((unsigned char)*text))
		return ops_error_set(err, OPS_EUSAGE, "'%s' is not a whole number", text);
	if (errno == ERANGE)
		return ops_error_set(err, OPS_EUSAGE, "'%s' is too %s for a 64-bit integer",
				     text, v < 0 ? "small" : "large");
	if (min != max && max == LLONG_MAX && v < min)
		return ops_error_set(err, OPS_EUSAGE, "'%s' is out of range (%lld or more)",
				     text, min);
	if (min != max && (v < min || v > max))
		return ops_error_set(err, OPS_EUSAGE, "'%s' is out of range %lld..%lld",
				     text, min, max);
	*out = v;
	return OPS_OK;
}

ops_code ops_parse_long(const char *text, long min, long max, long *out,
			ops_error *err)
{
	long long v;
	ops_code rc;

	if (min == max) {
		min = LONG_MIN;
		max = LONG_MAX;
	}
	rc = ops_parse_int64(text, min, max, &v, err);
	if (rc == OPS_OK)
		*out = (long)v;
	return rc;
}

ops_code ops_parse_duration(const char *text, long *seconds, ops_error *err)
{
	char *end;
	long v, mult = 1;

	if (!text)
		text = "";
	if (!isdigit((unsigned char)*text))
		goto bad;
	errno = 0;
	v = strtol(text, &end, 10);
	if (errno == ERANGE)
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
	/* Cap at INT_MAX seconds (68 years) so that the value fits every
	 * consumer, including time_t arithmetic and 32-bit libpq settings. */
	if (v > 0x7fffffffL / mult)
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

	if (!text)
		text = "";
	for (i = 0; yes[i]; i++)
		if (strcasecmp(text, yes[i]) == 0) {
			*out = 1;
			return OPS_OK;
		}
	for (i = 0; no[i]; i++)
		if (strcasecmp(text, no[i]) == 0) {
			*out = 0;
			return OPS_OK;
		}
	return ops_error_set(err, OPS_EUSAGE,
			     "'%s' is not a boolean (true/false, yes/no, on/off, 1/0)", text);
}

ops_code ops_parse_size(const char *text, long long *bytes, ops_error *err)
{
	static const char units[] = "KMGT";
	const char *u;
	char digits[32];
	size_t n;
	long long v, mult = 1;

	if (!text)
		text = "";
	n = strspn(text, "0123456789");
	if (n == 0 || n >= sizeof digits)
		goto bad;
	memcpy(digits, text, n);
	digits[n] = '\0';
	if (ops_parse_int64(digits, 0, 0, &v, NULL) != OPS_OK)
		goto bad;
	u = text + n;
	if (*u && (strchr(units, toupper((unsigned char)*u)) != NULL)) {
		int shift = 10 * (int)(strchr(units, toupper((unsigned char)*u)) - units + 1);

		mult = 1LL << shift;
		u++;
		if (strcasecmp(u, "iB") == 0 || strcasecmp(u, "B") == 0)
			u += strlen(u);
	} else if (strcasecmp(u, "B") == 0) {
		u++;
	}
	if (*u || v > LLONG_MAX / mult)
		goto bad;
	*bytes = v * mult;
	return OPS_OK;
bad:
	return ops_error_set(err, OPS_EUSAGE,
			     "'%s' is not a size (examples: 1048576, 512K, 16M, 8G; K is 1024)",
			     text);
}

/* Validate value for key k; on success the parsed number goes to *num. */
static ops_code validate(const ops_key_def *k, const char *value, long *num,
			 ops_error *err)
{
	ops_code rc = OPS_OK;
	const char *p, *q;
	int b = 0;

	*num = 0;
	switch (k->type) {
	case OPS_K_STRING:
	case OPS_K_PATH:
	case OPS_K_FILE:
	case OPS_K_DIR:
		break;
	case OPS_K_SIZE: {
		long long bytes = 0;

		rc = ops_parse_size(value, &bytes, err);
		if (rc == OPS_OK && k->max == LONG_MAX && bytes < k->min)
			rc = ops_error_set(err, OPS_EUSAGE,
					   "'%s' is out of range (%ld bytes or more)", value, k->min);
		else if (rc == OPS_OK && k->min != k->max && (bytes < k->min || bytes > k->max))
			rc = ops_error_set(err, OPS_EUSAGE, "'%s' is out of range %ld..%ld bytes",
					   value, k->min, k->max);
		*num = (long)bytes;
		break;
	}
	case OPS_K_INT:
		rc = ops_parse_long(value, k->min, k->max, num, err);
		break;
	case OPS_K_DURATION:
		rc = ops_parse_duration(value, num, err);
		if (rc == OPS_OK && k->min != k->max && (*num < k->min || *num > k->max))
			rc = ops_error_set(err, OPS_EUSAGE, "'%s' is out of range %lds..%lds",
					   value, k->min, k->max);
		break;
	case OPS_K_BOOL:
		rc = ops_parse_bool(value, &b, err);
		*num = b;
		break;
	case OPS_K_ENUM:
		if (!list_has(k->allowed, value, strlen(value)))
			rc = ops_error_set(err, OPS_EUSAGE, "'%s' is not one of %s",
					   value, k->allowed);
		break;
	case OPS_K_LIST:
		if (!k->allowed)
			break;
		/* Same element rules as ops_split_list: trimmed, empty ones dropped. */
		for (p = value; *p && rc == OPS_OK; p = *q ? q + 1 : q) {
			const char *s = p, *e;

			q = strchrnul(p, ',');
			while (s < q && isspace((unsigned char)*s))
				s++;
			for (e = q; e > s && isspace((unsigned char)e[-1]); e--)
				;
			if (e > s && !list_has(k->allowed, s, (size_t)(e - s)))
				rc = ops_error_set(err, OPS_EUSAGE, "'%.*s' is not one of %s",
						   (int)(e - s), s, k->allowed);
		}
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

/*
 * The canonical text of value for key k: the value a listed spelling stands
 * for, or an allowed value written in another case; otherwise value itself,
 * for validate() to judge.  buf (len bytes) may receive the lowered text.
 */
static const char *canonical(const ops_key_def *k, const char *value, char *buf,
			     size_t len)
{
	size_t i, n = strlen(value);
	int listed = 0;

	for (i = 0; i < NSPELLINGS; i++) {
		if (strcmp(spellings[i].key, k->name) != 0)
			continue;
		listed = 1;
		if (strcasecmp(spellings[i].text, value) == 0)
			return spellings[i].value;
	}
	if (!listed || n >= len)
		return value;
	for (i = 0; i <= n; i++)
		buf[i] = (char)tolower((unsigned char)value[i]);
	return list_has(k->allowed, buf, n) ? buf : value;
}

/* Validate and keep value for key idx; the previous value stays on error. */
static ops_code store(ops_config *cfg, long idx, const char *value,
		      const char *origin, ops_error *err)
{
	const ops_key_def *k = &key_table[idx];
	long num;
	char *v, *o, lowered[32];
	ops_code rc;

	/* Only a spelling that maps is replaced: an error quotes what was written. */
	value = canonical(k, value, lowered, sizeof lowered);
	rc = validate(k, value, &num, err);

	if (rc == OPS_EINTERNAL)
		return rc;
	if (rc != OPS_OK) {
		ops_error_prefix(err, "bad value for '%s'", k->name);
		if (err)
			err->code = OPS_ECONFIG;
		return OPS_ECONFIG;
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
	return OPS_OK;
}

static const char *suggest_key(const char *name)
{
	const char *names[NKEYS + 1];
	char lower[128];
	size_t i;

	/* Keys are lowercase: "[DB] Name" is db.name, whatever the distance. */
	for (i = 0; name[i] && i < sizeof lower - 1; i++)
		lower[i] = (char)tolower((unsigned char)name[i]);
	lower[i] = '\0';
	for (i = 0; i < NKEYS; i++)
		names[i] = key_table[i].name;
	names[NKEYS] = NULL;
	return ops_suggest(lower, names);
}

ops_code ops_config_set(ops_config *cfg, const char *key, const char *value,
			const char *origin, ops_error *err)
{
	long idx = key_index(key);

	if (!cfg || !key || !value)
		return ops_error_set(err, OPS_EINTERNAL, "config: no %s given to set",
				     !cfg ? "configuration" : !key ? "key" : "value");
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
	if (cfg && cfg->value[idx])
		return cfg->num[idx];
	/* Defaults are parsed on demand: most runs read few keys, and the
	 * unit test every_default_is_valid proves that they parse. */
	k = &key_table[idx];
	if (!k->def)
		return 0;
	if (validate(k, k->def, &v, NULL) != OPS_OK)
		return 0;
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

/*
 * Unquote a value and drop a trailing comment; in place.  Outside quotes a
 * comment starts at '#' or ';' after white space, so that "a#b" and URIs
 * with fragments survive.
 */
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

/* "[name]" with an optional trailing comment; 0 if the line is not that. */
static int parse_section(char *s, char *name, size_t len)
{
	char *end = strchr(s, ']'), *rest, *n;

	if (!end)
		return 0;
	rest = trim(end + 1);
	if (*rest && *rest != '#' && *rest != ';')
		return 0;
	*end = '\0';
	n = trim(s + 1);
	if (!*n || strlen(n) >= len || strpbrk(n, "[]")) {
		*end = ']';
		return 0;
	}
	memcpy(name, n, strlen(n) + 1);
	return 1;
}

ops_code ops_config_load_file(ops_config *cfg, const char *path, int must_exist,
			      ops_error *err)
{
	FILE *fp = NULL;
	char *line = NULL, *full = NULL, *origin = NULL, section[64] = "";
	size_t cap = 0;
	int lineno = 0, e, skip_section = 0;
	ops_code rc = OPS_OK;
	ops_error local;

	if (!err)
		err = &local;
	if (!cfg || !path)
		return ops_error_set(err, OPS_EINTERNAL, "config: no %s to load into",
				     !cfg ? "configuration" : "path");
	fp = fopen(path, "re");
	if (!fp) {
		e = errno;
		if (e == ENOENT && !must_exist)
			return OPS_OK;
		ops_error_set(err, e == EACCES || e == EPERM ? OPS_EPERM :
			      e == ENOENT || e == ENOTDIR ? OPS_ECONFIG : OPS_EIO,
			      "cannot read configuration '%s': %s", path, strerror(e));
		return problem(cfg, err);
	}
	free(cfg->file);
	if (!(cfg->file = strdup(path))) {
		fclose(fp);
		return ops_error_oom(err);
	}
	errno = 0;
	while (getline(&line, &cap, fp) != -1) {
		char *s = line, *eq, *key, *value = NULL;
		long idx;

		lineno++;
		/* Editors on other systems like to start files with a BOM. */
		if (lineno == 1 && strncmp(s, "\xEF\xBB\xBF", 3) == 0)
			s += 3;
		s = trim(s);
		if (!*s || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			skip_section = !parse_section(s, section, sizeof section);
			if (skip_section) {
				/* Its keys would be reported again, one by one. */
				rc = ops_error_set(err, OPS_ECONFIG,
						   "%s:%d: bad section header '%s'", path, lineno, s);
				goto bad;
			}
			continue;
		}
		if (skip_section)
			continue;
		eq = strchr(s, '=');
		if (!eq) {
			rc = ops_error_set(err, OPS_ECONFIG, "%s:%d: expected 'key = value'",
					   path, lineno);
			goto bad;
		}
		*eq = '\0';
		key = trim(s);
		if (!*key) {
			rc = ops_error_set(err, OPS_ECONFIG, "%s:%d: expected 'key = value'",
					   path, lineno);
			goto bad;
		}
		if (!section[0]) {
			rc = ops_error_set(err, OPS_ECONFIG, "%s:%d: key '%s' outside any [section]",
					   path, lineno, key);
			goto bad;
		}
		free(full);
		full = NULL;
		if (asprintf(&full, "%s.%s", section, key) < 0) {
			full = NULL;
			rc = ops_error_oom(err);
			goto out;
		}
		idx = key_index(full);
		if (idx < 0) {
			/* The suggestion goes in the message, not the hint: cron
			 * mail and scripts see only the one line. */
			const char *sug = suggest_key(full);

			if (sug)
				rc = ops_error_set(err, OPS_ECONFIG,
						   "%s:%d: unknown key '%s' (did you mean '%s'?)",
						   path, lineno, full, sug);
			else
				rc = ops_error_set(err, OPS_ECONFIG, "%s:%d: unknown key '%s'",
						   path, lineno, full);
			goto bad;
		}
		if ((rc = parse_value(eq + 1, &value, path, lineno, err)) != OPS_OK)
			goto bad;
		free(origin);
		origin = NULL;
		if (asprintf(&origin, "%s:%d", path, lineno) < 0) {
			origin = NULL;
			rc = ops_error_oom(err);
			goto out;
		}
		/* A key set twice in one file is usually an edit gone wrong: say
		 * which line wins instead of silently taking the last. */
		if (cfg->origin[idx] && strncmp(cfg->origin[idx], path, strlen(path)) == 0 &&
		    cfg->origin[idx][strlen(path)] == ':') {
			ops_error_set(err, OPS_ECONFIG, "%s: '%s' is set again (first at %s)%s",
				      origin, full, cfg->origin[idx],
				      cfg->collect ? "" : "; this line wins");
			if ((rc = warn_or_note(cfg, err)) != OPS_OK)
				goto out;
		}
		if ((rc = store(cfg, idx, value, origin, err)) != OPS_OK) {
			if (rc == OPS_ECONFIG)
				ops_error_prefix(err, "%s:%d", path, lineno);
			goto bad;
		}
		errno = 0;
		continue;
bad:
		/* A normal run stops at the first problem; a check notes it. */
		if ((rc = problem(cfg, err)) != OPS_OK)
			goto out;
		errno = 0;
	}
	if (ferror(fp)) {
		e = errno ? errno : EIO;
		ops_error_errno(err, e, "cannot read configuration", path);
		rc = problem(cfg, err);
	}
out:
	free(line);
	free(full);
	free(origin);
	fclose(fp);
	return rc;
}

/* ---- environment ---- */

static const char *env_lookup(char *const *envp, const char *name, size_t n)
{
	for (; envp && *envp; envp++)
		if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
			return *envp + n + 1;
	return NULL;
}

/* The first non-empty variable of list (comma-separated) whose name does
 * (own) or does not start with OPSCTL_; its name goes to from.  An empty
 * variable is how a shell unsets one for a single command. */
static const char *env_first(char *const *envp, const char *list, int own,
			     char *from, size_t fromlen)
{
	const char *p, *q, *val;

	for (p = list; p && *p; p = *q ? q + 1 : q) {
		size_t n;

		q = strchrnul(p, ',');
		n = (size_t)(q - p);
		if ((n > OWN_PREFIX_LEN && strncmp(p, OWN_PREFIX, OWN_PREFIX_LEN) == 0) != own)
			continue;
		val = env_lookup(envp, p, n);
		if (val && *val && n < fromlen) {
			snprintf(from, fromlen, "%.*s", (int)n, p);
			return val;
		}
	}
	return NULL;
}

/*
 * ENVIRONMENT belongs to whatever else runs in the container or the shell
 * (test, qa, local...).  opsctl cannot use such a value, and refusing to
 * run would stop every backup and health check over a variable opsctl does
 * not own; ignoring it leaves the default, prod, the strictest window.  A
 * bad DB_PORT or PGSSLMODE stays an error: guessing there would connect to
 * another server.
 */
static int ignorable(const ops_key_def *k, const char *from)
{
	return strcmp(k->name, "general.environment") == 0 &&
	       strcmp(from, "ENVIRONMENT") == 0;
}

/*
 * Not root and nothing set general.state_dir: the XDG base directory for
 * state, else ~/.local/state; a relative XDG_STATE_HOME is to be ignored,
 * says the specification.  Without HOME the table's default stays, and a
 * run that writes there is refused with a message naming it.
 */
static ops_code default_state_dir(ops_config *cfg, char *const *envp, ops_error *err)
{
	long idx = key_index("general.state_dir");
	const char *xdg = env_lookup(envp, "XDG_STATE_HOME", strlen("XDG_STATE_HOME"));
	const char *home = env_lookup(envp, "HOME", strlen("HOME"));
	char *path = NULL;
	int n;
	ops_code rc;

	if (idx < 0 || cfg->value[idx] || geteuid() == 0)
		return OPS_OK;
	if (xdg && *xdg == '/')
		n = asprintf(&path, "%s/opsctl", xdg);
	else if (home && *home == '/')
		n = asprintf(&path, "%s/.local/state/opsctl", home);
	else
		return OPS_OK;
	if (n < 0)
		return ops_error_oom(err);
	rc = store(cfg, idx, path, xdg && *xdg == '/' ? "default (XDG_STATE_HOME)"
						       : "default (HOME)", err);
	free(path);
	return rc;
}

/* OPSCTL_SECTION_KEY of key k into buf. */
static void own_name(const ops_key_def *k, char *buf, size_t len)
{
	size_t j;

	snprintf(buf, len, OWN_PREFIX "%s", k->name);
	for (j = OWN_PREFIX_LEN; buf[j]; j++)
		buf[j] = buf[j] == '.' ? '_' : (char)toupper((unsigned char)buf[j]);
}

/* Is name (n bytes) one of the comma-separated list? */
static int in_env_list(const char *list, const char *name, size_t n)
{
	return list && list_has(list, name, n);
}

/*
 * A misspelt OPSCTL_DB_HOTS would otherwise be silently ignored, and the
 * run would use another server than the operator meant: every variable with
 * opsctl's prefix must be one opsctl reads.  A warning in a normal run (the
 * variable may be meant for a newer opsctl), a problem in config check.
 */
static ops_code unknown_own_vars(ops_config *cfg, char *const *envp, ops_error *err)
{
	const char *known[NKEYS * 2 + 8];
	char names[NKEYS][96];
	size_t i, nk = 0;
	ops_code rc;

	for (i = 0; i < NKEYS; i++) {
		own_name(&key_table[i], names[i], sizeof names[i]);
		known[nk++] = names[i];
	}
	for (i = 0; other_own_vars[i]; i++)
		known[nk++] = other_own_vars[i];
	known[nk] = NULL;
	for (; envp && *envp; envp++) {
		const char *v = *envp, *eq = strchr(v, '=');
		size_t n = eq ? (size_t)(eq - v) : strlen(v), j;
		char name[128];
		const char *sug;
		int found = 0;
		ops_error e;

		if (strncmp(v, OWN_PREFIX, OWN_PREFIX_LEN) != 0 || n >= sizeof name ||
		    strncmp(v, TEST_PREFIX, strlen(TEST_PREFIX)) == 0)
			continue;
		memcpy(name, v, n);
		name[n] = '\0';
		for (j = 0; j < nk && !found; j++)
			found = strcmp(known[j], name) == 0;
		for (j = 0; j < NKEYS && !found; j++)
			found = in_env_list(key_table[j].env, name, n);
		if (found)
			continue;
		sug = ops_suggest(name, known);
		ops_error_set(&e, OPS_ECONFIG,
			      "environment variable %s is not one of opsctl's%s%s%s", name,
			      sug ? " (did you mean " : "", sug ? sug : "", sug ? "?)" : "");
		if ((rc = warn_or_note(cfg, &e)) != OPS_OK) {
			if (err)
				*err = e;
			return rc;
		}
	}
	return OPS_OK;
}

ops_code ops_config_load_env(ops_config *cfg, char *const *envp, ops_error *err)
{
	size_t i;
	ops_code rc;

	if (!cfg)
		return ops_error_set(err, OPS_EINTERNAL, "config: no configuration to load into");
	for (i = 0; i < NKEYS; i++) {
		const ops_key_def *k = &key_table[i];
		char own[128], from[128] = "";
		const char *val;
		ops_error e;

		/* OPSCTL_DB_HOST, then the key's other OPSCTL_ names: the tool's
		 * own variables override the file. */
		own_name(k, own, sizeof own);
		val = env_lookup(envp, own, strlen(own));
		if (val && *val)
			memcpy(from, own, sizeof own);
		else
			val = env_first(envp, k->env, 1, from, sizeof from);
		/* The generic names (DB_HOST, PGHOST, ENVIRONMENT, AWS_REGION)
		 * are fallbacks: the file, or whatever was set before, wins. */
		if (!val && !cfg->value[i])
			val = env_first(envp, k->env, 0, from, sizeof from);
		if (!val)
			continue;
		rc = store(cfg, (long)i, val, from, &e);
		if (rc == OPS_ECONFIG)
			ops_error_prefix(&e, "environment variable %s", from);
		if (rc == OPS_ECONFIG && ignorable(k, from)) {
			ops_log_warn("%s; ignored: %s stays '%s'", e.message, k->name,
				     ops_config_get(cfg, k->name));
			continue;
		}
		if (rc != OPS_OK && (rc = problem(cfg, &e)) != OPS_OK) {
			if (err)
				*err = e;
			return rc;
		}
	}
	if ((rc = unknown_own_vars(cfg, envp, err)) != OPS_OK)
		return rc;
	return default_state_dir(cfg, envp, err);
}

void ops_config_check(ops_config *cfg)
{
	struct stat st;
	size_t i;

	if (!cfg)
		return;
	for (i = 0; i < NKEYS; i++) {
		const ops_key_def *k = &key_table[i];
		const char *v = cfg->value[i], *what = NULL;
		ops_error e;

		if (!v || !*v || (k->type != OPS_K_FILE && k->type != OPS_K_DIR))
			continue;
		if (stat(v, &st) != 0)
			what = errno == ENOENT ? "does not exist" : strerror(errno);
		else if (k->type == OPS_K_FILE && S_ISDIR(st.st_mode))
			what = "is a directory, not a file";
		else if (k->type == OPS_K_DIR && !S_ISDIR(st.st_mode))
			what = "is not a directory";
		if (!what)
			continue;
		ops_error_set(&e, OPS_ECONFIG, "%s: %s '%s' %s", cfg->origin[i], k->name, v, what);
		if (problem(cfg, &e) != OPS_OK)
			return;
	}
}

ops_code ops_config_load_default(ops_config *cfg, const char *explicit_path,
				 char *const *envp, ops_error *err)
{
	const char *path = explicit_path;
	ops_code rc;

	if (!path) {
		path = env_lookup(envp, "OPSCTL_CONFIG", strlen("OPSCTL_CONFIG"));
		if (path && !*path)
			path = NULL;
	}
	if (path)
		rc = ops_config_load_file(cfg, path, 1, err);
	else
		rc = ops_config_load_file(cfg, SYSTEM_CONFIG, 0, err);
	if (rc != OPS_OK)
		return rc;
	return ops_config_load_env(cfg, envp, err);
}
