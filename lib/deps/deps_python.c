/*
 * The Python ecosystem of `opsctl deps`: requirements*.txt (pins
 * "name[extras]==1.2.3 ; marker", --hash options on continuation lines,
 * comments, -r/-c includes), pyproject.toml ([project] dependencies, and
 * [tool.poetry.dependencies] with the pins of poetry.lock beside it), and
 * a PEP 503 simple index (HTML, or PEP 691's JSON when the index offers it)
 * for versions and file hashes; yanked files (PEP 592) are never chosen.
 *
 * The TOML reader is the minimum these two files need: table headers,
 * "key = value" with strings, inline tables and arrays that may span lines.
 * poetry.lock is read, never written: its pins carry poetry's own content
 * hash, so an update of a poetry pin is refused with a reason (run `poetry
 * update NAME`), as is one of a requirement with hashes the index lacks.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deps/deps_internal.h"

enum { PY_REQUIREMENTS = 1, PY_PYPROJECT, PY_POETRY_LOCK };

static int py_claims(const char *base, int *role)
{
	size_t n = strlen(base);

	if (strncmp(base, "requirements", 12) == 0 && n >= 16 && strcmp(base + n - 4, ".txt") == 0)
		*role = PY_REQUIREMENTS;
	else if (strcmp(base, "pyproject.toml") == 0)
		*role = PY_PYPROJECT;
	else if (strcmp(base, "poetry.lock") == 0)
		*role = PY_POETRY_LOCK;
	else
		return 0;
	return 1;
}

/* ---- one requirement (PEP 508, the parts deps needs) ---- */

struct req {
	const char *name;	/* into the text */
	size_t name_len;
	const char *op;		/* the first specifier's operator, or NULL */
	const char *ver;	/* "==" pin: the version */
	size_t ver_len;
	int single;		/* the specifier is that one clause */
	int url;		/* "name @ url" */
};

static int name_char(int ch)
{
	return isalnum(ch) || ch == '-' || ch == '_' || ch == '.';
}

/* Parse "name [extras] spec ; marker" up to a '#' comment, an option or the end. */
static int parse_req(const char *s, struct req *r)
{
	const char *p = s;

	memset(r, 0, sizeof *r);
	while (*p == ' ' || *p == '\t')
		p++;
	if (!isalnum((unsigned char)*p))
		return -1;
	r->name = p;
	while (name_char((unsigned char)*p))
		p++;
	r->name_len = (size_t)(p - r->name);
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '[') {
		p = strchr(p, ']');
		if (!p)
			return -1;
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
	}
	if (*p == '@') {
		r->url = 1;
		return 0;
	}
	if (*p == '(')
		p++;
	if (strchr("=<>!~", *p) && *p) {
		const char *q;

		r->op = p;
		while (strchr("=<>!~", *p) && *p)
			p++;
		while (*p == ' ' || *p == '\t')
			p++;
		q = p;
		while (*q && !strchr(" \t;,\\#)\r\n", *q))
			q++;
		if (p - r->op >= 2 && strncmp(r->op, "==", 2) == 0 && r->op[2] != '=' &&
		    (p - r->op == 2 || isspace((unsigned char)r->op[2]))) {
			r->ver = p;
			r->ver_len = (size_t)(q - p);
			while (*q == ' ' || *q == '\t' || *q == ')')
				q++;
			r->single = *q != ',';
		}
	}
	return 0;
}

/* ---- the line rewriter ---- */

static const char *find_hash(const char *p)
{
	for (; (p = strstr(p, "--hash")); p += 6)
		if (p[6] == '=' || p[6] == ' ' || p[6] == '\t')
			return p;
	return NULL;
}

/* The end of the "--hash=ALGO:HEX" token starting at p, and where its hex starts. */
static const char *hash_token_end(const char *p, const char **hex)
{
	p += 6;
	while (*p == '=' || *p == ' ' || *p == '\t')
		p++;
	while (*p && *p != ':' && !isspace((unsigned char)*p))
		p++;
	if (*p == ':')
		p++;
	*hex = p;
	while (*p && !isspace((unsigned char)*p) && *p != '\\')
		p++;
	return p;
}

char *deps_req_rewrite_line(const char *line, const char *to, char *const *hashes)
{
	struct req r;
	const char *first, *last_end = NULL, *p, *hex, *prefix_end;
	char *out = NULL, *sep = NULL;
	size_t len = 0;
	FILE *f;
	int n = 0;

	if (parse_req(line, &r) || !r.ver || !r.single)
		return NULL;
	first = find_hash(r.ver + r.ver_len);
	if (first && (!hashes || !*hashes))
		return NULL;
	if (!(f = open_memstream(&out, &len)))
		return NULL;
	fwrite(line, 1, (size_t)(r.ver - line), f);
	fputs(to, f);
	if (!first) {
		fputs(r.ver + r.ver_len, f);
		fclose(f);
		return out;
	}
	fwrite(r.ver + r.ver_len, 1, (size_t)(first - (r.ver + r.ver_len)), f);
	/* the layout between two hashes: as written, or the gap before the first */
	prefix_end = hash_token_end(first, &hex);
	for (p = first; p; p = find_hash(last_end)) {
		const char *e = hash_token_end(p, &hex);

		if (n == 1 && !sep)
			sep = strndup(last_end, (size_t)(p - last_end));
		last_end = e;
		n++;
	}
	if (!sep) {
		const char *g = first;

		while (g > r.ver + r.ver_len && (isspace((unsigned char)g[-1]) || g[-1] == '\\'))
			g--;
		sep = strndup(g, (size_t)(first - g));
	}
	hash_token_end(first, &hex);
	for (n = 0; hashes[n]; n++) {
		if (n)
			fputs(sep ? sep : " ", f);
		fwrite(first, 1, (size_t)(hex - first), f);	/* "--hash=sha256:" as written */
		fputs(hashes[n], f);
	}
	(void)prefix_end;
	fputs(last_end, f);
	free(sep);
	fclose(f);
	return out;
}

/* ---- requirements*.txt ---- */

static ops_code add_req(deps_ctx *c, deps_manifest *m, long line, const char *text,
			size_t off, size_t len, ops_error *err)
{
	struct req r;
	char name[256], key[256], ver[128], spec[256];
	const char *semi;
	deps_dep *d;

	if (parse_req(text, &r))
		return ops_error_set(err, OPS_EDATA, "%s:%ld: cannot read the requirement '%.60s'",
				     m->rel, line, text);
	snprintf(name, sizeof name, "%.*s", (int)r.name_len, r.name);
	deps_pep503_name(name, key, sizeof key);
	semi = r.op ? r.op : "";
	snprintf(spec, sizeof spec, "%.*s", (int)strcspn(semi, ";#\\\r\n"), semi);
	while (*spec && isspace((unsigned char)spec[strlen(spec) - 1]))
		spec[strlen(spec) - 1] = '\0';
	if (r.ver) {
		snprintf(ver, sizeof ver, "%.*s", (int)r.ver_len, r.ver);
		if (!deps_pep440_valid(ver))
			return ops_error_set(err, OPS_EDATA, "%s:%ld: '%s' is not a PEP 440 version "
					     "(%s)", m->rel, line, ver, name);
	}
	if (!(d = deps_add(c, m, line, name, key, r.ver && r.single ? ver : NULL, spec)))
		return ops_error_oom(err);
	d->text_off = off;
	d->text_len = len;
	d->hashed = find_hash(text) != NULL;
	if (r.url)
		deps_refuse(d, "installed from a URL");
	else if (!r.ver || !r.single)
		deps_refuse(d, "not pinned with ==");
	else
		d->rewritable = 1;
	return OPS_OK;
}

static ops_code read_requirements(deps_ctx *c, deps_manifest *m, ops_error *err)
{
	const char *p = m->data, *end = m->data + m->len;
	long lineno = 1;
	ops_code rc = OPS_OK;

	while (p < end && rc == OPS_OK) {
		const char *start = p, *q;
		long first = lineno;
		char *logical;
		size_t ll, i, o = 0;
		char *t;

		/* the logical line: physical lines joined where one ends with '\' */
		for (q = p; q < end; q++) {
			if (*q == '\n') {
				const char *b = q;

				lineno++;
				if (b > start && b[-1] == '\r')
					b--;
				if (b > start && b[-1] == '\\')
					continue;
				break;
			}
		}
		ll = (size_t)(q - start);
		p = q < end ? q + 1 : end;
		/* without the line end */
		while (ll && (start[ll - 1] == '\n' || start[ll - 1] == '\r'))
			ll--;
		if (!(logical = malloc(ll + 1)))
			return ops_error_oom(err);
		for (i = 0; i < ll; i++) {
			if (start[i] == '\\' && i + strspn(start + i + 1, "\r") + 1 >= ll) {
				/* the last line's '\' continues to nothing */
				logical[o++] = ' ';
				break;
			}
			if (start[i] == '\\' && start[i + 1 + strspn(start + i + 1, "\r")] == '\n') {
				logical[o++] = ' ';
				while (i + 1 < ll && (start[i + 1] == '\r' || start[i + 1] == '\n'))
					i++;
				continue;
			}
			logical[o++] = start[i];
		}
		logical[o] = '\0';
		/* a comment: '#' at the start or after a blank */
		for (i = 0; logical[i]; i++)
			if (logical[i] == '#' && (i == 0 || isspace((unsigned char)logical[i - 1]))) {
				logical[i] = '\0';
				break;
			}
		t = logical;
		while (isspace((unsigned char)*t))
			t++;
		if (!*t) {
			free(logical);
			continue;
		}
		if (*t == '-') {
			const char *opt = t;
			size_t ol = strcspn(t, " \t=");

			if ((ol == 2 && (!strncmp(opt, "-r", 2) || !strncmp(opt, "-c", 2))) ||
			    (ol == 13 && !strncmp(opt, "--requirement", 13)) ||
			    (ol == 13 && !strncmp(opt, "--constraint", 12))) {
				char *f = t + ol;

				while (*f == ' ' || *f == '\t' || *f == '=')
					f++;
				f[strcspn(f, " \t")] = '\0';
				rc = deps_include(c, m, first, f, err);
			}
			/* -r2.txt written without a blank */
			else if ((!strncmp(opt, "-r", 2) || !strncmp(opt, "-c", 2)) && opt[2]) {
				char *f = t + 2;

				f[strcspn(f, " \t")] = '\0';
				rc = deps_include(c, m, first, f, err);
			}
			free(logical);
			continue;
		}
		rc = add_req(c, m, first, t, (size_t)(start - m->data), ll, err);
		free(logical);
	}
	return rc;
}

/* ---- TOML, the minimum ---- */

struct toml_line {
	char table[128];	/* the current [table] */
	int array_table;	/* [[table]] */
};

/* The string value starting at p ('"' or '\''); into out; returns past it. */
static const char *toml_string(const char *p, char *out, size_t size, size_t *off)
{
	char q = *p;
	size_t n = 0;

	if (q != '"' && q != '\'')
		return NULL;
	if (off)
		*off = 1;
	p++;
	while (*p && *p != q && *p != '\n') {
		if (q == '"' && *p == '\\' && p[1])
			p++;
		if (n + 1 < size)
			out[n++] = *p;
		p++;
	}
	out[n] = '\0';
	return *p == q ? p + 1 : NULL;
}

static long line_of(const deps_manifest *m, const char *p)
{
	long n = 1;
	const char *q;

	for (q = m->data; q < p; q++)
		n += *q == '\n';
	return n;
}

static ops_code read_pyproject(deps_ctx *c, deps_manifest *m, ops_error *err)
{
	const char *p = m->data;
	char table[128] = "";
	deps_manifest *lock = deps_sibling(c, m, "poetry.lock");

	while (*p) {
		const char *eol = strchr(p, '\n');
		const char *next = eol ? eol + 1 : p + strlen(p);
		const char *s = p;

		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '[') {
			size_t n = strcspn(s + 1, "]\n");

			snprintf(table, sizeof table, "%.*s", (int)n, s + 1);
		} else if (strcmp(table, "project") == 0 && strncmp(s, "dependencies", 12) == 0 &&
			   strchr(" \t=", s[12])) {
			const char *q = strchr(s, '[');

			if (!q)
				return ops_error_set(err, OPS_EDATA, "%s:%ld: [project] dependencies is "
						     "not an array", m->rel, line_of(m, s));
			for (q++; *q && *q != ']';) {
				char val[512];
				const char *after;
				size_t off;

				if (*q == '#') {
					q += strcspn(q, "\n");
					continue;
				}
				if (*q != '"' && *q != '\'') {
					q++;
					continue;
				}
				if (!(after = toml_string(q, val, sizeof val, &off)))
					return ops_error_set(err, OPS_EDATA, "%s:%ld: unterminated string",
							     m->rel, line_of(m, q));
				{
					ops_code rc = add_req(c, m, line_of(m, q), val,
							      (size_t)(q + 1 - m->data),
							      (size_t)(after - 1 - (q + 1)), err);

					if (rc != OPS_OK)
						return rc;
				}
				q = after;
			}
			next = *q ? q + 1 : q;
		} else if (strcmp(table, "tool.poetry.dependencies") == 0 && isalnum((unsigned char)*s)) {
			char name[256], key[256], spec[256] = "", cur[128] = "";
			size_t n = strcspn(s, " \t=");
			const char *v = s + n;
			deps_dep *d;

			snprintf(name, sizeof name, "%.*s", (int)n, s);
			if (strcmp(name, "python") == 0)
				goto skip;
			while (*v == ' ' || *v == '\t' || *v == '=')
				v++;
			if (*v == '{') {
				const char *ver = strstr(v, "version");

				if (ver && ver < next && (ver = strchr(ver, '=')))
					for (ver++; *ver == ' '; ver++)
						;
				if (ver && ver < next)
					toml_string(ver, spec, sizeof spec, NULL);
			} else {
				toml_string(v, spec, sizeof spec, NULL);
			}
			deps_pep503_name(name, key, sizeof key);
			/* the locked version: [[package]] name = "key" ... version = "x" */
			if (lock) {
				const char *l = lock->data;

				while ((l = strstr(l, "\nname = "))) {
					char ln[256], lk[256];
					const char *vv;

					l += 8;
					if (!toml_string(l, ln, sizeof ln, NULL))
						continue;
					deps_pep503_name(ln, lk, sizeof lk);
					if (strcmp(lk, key) != 0)
						continue;
					if ((vv = strstr(l, "\nversion = ")))
						toml_string(vv + 11, cur, sizeof cur, NULL);
					break;
				}
				if (*cur && !deps_pep440_valid(cur))
					return ops_error_set(err, OPS_EDATA, "%s: '%s' is not a PEP 440 "
							     "version (%s)", lock->rel, cur, name);
			}
			if (!(d = deps_add(c, m, line_of(m, s), name, key,
					   *cur ? cur : NULL, spec)))
				return ops_error_oom(err);
			deps_refuse(d, *cur ? "pinned by poetry.lock: run poetry update %s" :
				    "not pinned (no poetry.lock entry)", name);
		}
skip:
		p = next;
	}
	return OPS_OK;
}

static ops_code py_read(deps_ctx *c, deps_manifest *m, ops_error *err)
{
	switch (m->role) {
	case PY_REQUIREMENTS:
		return read_requirements(c, m, err);
	case PY_PYPROJECT:
		return read_pyproject(c, m, err);
	default:
		return OPS_OK;	/* poetry.lock: read through pyproject.toml */
	}
}

/* ---- the simple index ---- */

/* The version in a distribution file's name (wheel or sdist), into out; 0 when none. */
static int file_version(const char *fn, char *out, size_t size)
{
	static const char *const sdist[] = {".tar.gz", ".tar.bz2", ".tgz", ".zip", ".tar.xz", NULL};
	size_t n = strlen(fn), i;

	if (n > 4 && strcmp(fn + n - 4, ".whl") == 0) {
		const char *a = strchr(fn, '-'), *b;

		if (!a || !(b = strchr(a + 1, '-')))
			return 0;
		snprintf(out, size, "%.*s", (int)(b - a - 1), a + 1);
		return deps_pep440_valid(out);
	}
	for (i = 0; sdist[i]; i++) {
		size_t e = strlen(sdist[i]);

		if (n > e && strcmp(fn + n - e, sdist[i]) == 0) {
			const char *dash = NULL, *q;

			for (q = fn; q < fn + n - e; q++)
				if (*q == '-')
					dash = q;
			if (!dash)
				return 0;
			snprintf(out, size, "%.*s", (int)(fn + n - e - dash - 1), dash + 1);
			return deps_pep440_valid(out);
		}
	}
	return 0;
}

static void add_file(cJSON *files, const char *filename, const char *sha256, int yanked)
{
	char ver[128];
	cJSON *f;

	if (!file_version(filename, ver, sizeof ver) || !(f = cJSON_CreateObject()))
		return;
	cJSON_AddStringToObject(f, "filename", filename);
	cJSON_AddStringToObject(f, "version", ver);
	if (sha256)
		cJSON_AddStringToObject(f, "sha256", sha256);
	cJSON_AddBoolToObject(f, "yanked", yanked);
	cJSON_AddItemToArray(files, f);
}

/* The attribute name's value in the tag [tag, tag_end), into out; 0 when absent. */
static int html_attr(const char *tag, const char *tag_end, const char *name, char *out, size_t size)
{
	size_t n = strlen(name);
	const char *p;

	for (p = tag; p < tag_end; p++) {
		if (strncasecmp(p, name, n) == 0 && isspace((unsigned char)p[-1]) &&
		    (p[n] == '=' || isspace((unsigned char)p[n]) || p[n] == '>' || p[n] == '/')) {
			const char *v = p + n;
			size_t k = 0;
			char q;

			while (isspace((unsigned char)*v))
				v++;
			if (*v != '=') {
				*out = '\0';
				return 1;
			}
			v++;
			while (isspace((unsigned char)*v))
				v++;
			q = *v == '"' || *v == '\'' ? *v++ : 0;
			while (v < tag_end && (q ? *v != q : !isspace((unsigned char)*v) && *v != '>')) {
				if (k + 1 < size)
					out[k++] = *v;
				v++;
			}
			out[k] = '\0';
			return 1;
		}
	}
	return 0;
}

static cJSON *parse_simple(const char *body, const char *ctype)
{
	cJSON *files = cJSON_CreateArray();

	if (!files)
		return NULL;
	if (ctype && strstr(ctype, "json")) {
		cJSON *j = cJSON_Parse(body), *f;

		cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(j, "files")) {
			const char *fn = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "filename"));
			const cJSON *y = cJSON_GetObjectItemCaseSensitive(f, "yanked");
			const char *sha = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
				cJSON_GetObjectItemCaseSensitive(f, "hashes"), "sha256"));

			if (fn)
				add_file(files, fn, sha, cJSON_IsTrue(y) || cJSON_IsString(y));
		}
		cJSON_Delete(j);
		return files;
	}
	{
		const char *p = body;

		while ((p = strcasestr(p, "<a"))) {
			const char *tag_end = strchr(p, '>'), *close;
			char href[2048], fn[512], dummy[8];
			const char *h, *frag;
			size_t n;

			if (!tag_end || !isspace((unsigned char)p[2]))
				break;
			close = strcasestr(tag_end, "</a>");
			if (!close)
				break;
			n = (size_t)(close - tag_end - 1);
			snprintf(fn, sizeof fn, "%.*s", (int)n, tag_end + 1);
			if (html_attr(p, tag_end, "href", href, sizeof href)) {
				if (!*fn) {
					h = strrchr(href, '/');
					snprintf(fn, sizeof fn, "%.*s", (int)strcspn(h ? h + 1 : href, "#?"),
						 h ? h + 1 : href);
				}
				frag = strstr(href, "#sha256=");
				add_file(files, fn, frag ? frag + 8 : NULL,
					 html_attr(p, tag_end, "data-yanked", dummy, sizeof dummy));
			}
			p = close + 4;
		}
	}
	return files;
}

static ops_code index_files(deps_ctx *c, deps_dep *d, cJSON **files, ops_error *err)
{
	const char *index = ops_config_get(deps_cfg(c), "deps.pypi_index");
	char *url = NULL, *body = NULL, *ctype = NULL, what[300];
	ops_code rc;
	size_t n = index ? strlen(index) : 0;

	if (asprintf(&url, "%.*s/%s/", (int)(n && index[n - 1] == '/' ? n - 1 : n), index ? index : "",
		     d->key) < 0)
		return ops_error_oom(err);
	snprintf(what, sizeof what, "package %s in the index", d->key);
	rc = deps_http_get(c, url, "application/vnd.pypi.simple.v1+json, "
			   "text/html;q=0.2", what, &body, &ctype, err);
	free(url);
	if (rc == OPS_OK && !(*files = parse_simple(body, ctype)))
		rc = ops_error_oom(err);
	free(body);
	free(ctype);
	return rc;
}

static ops_code py_versions(deps_ctx *c, deps_dep *d, char ***out, ops_error *err)
{
	cJSON *files = NULL, *f;
	char **v;
	size_t n = 0;
	ops_code rc;

	*out = NULL;
	if ((rc = index_files(c, d, &files, err)) != OPS_OK)
		return rc;
	if (!(v = calloc((size_t)cJSON_GetArraySize(files) + 1, sizeof *v))) {
		cJSON_Delete(files);
		return ops_error_oom(err);
	}
	cJSON_ArrayForEach(f, files) {
		const char *ver = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "version"));
		size_t i;

		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, "yanked")))
			continue;
		for (i = 0; i < n && deps_pep440_cmp(v[i], ver) != 0; i++)
			;
		if (i == n)
			v[n++] = strdup(ver);
	}
	cJSON_Delete(files);
	*out = v;
	return OPS_OK;
}

/* The sha256 of every file of update_to that is not yanked, for a hashed requirement. */
static ops_code py_prepare(deps_ctx *c, deps_dep *d, ops_error *err)
{
	cJSON *files = NULL, *f, *hashes;
	ops_code rc;

	if (!d->hashed)
		return OPS_OK;
	if ((rc = index_files(c, d, &files, err)) != OPS_OK)
		return rc;
	hashes = cJSON_CreateArray();
	cJSON_ArrayForEach(f, files) {
		const char *ver = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "version"));
		const char *sha = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "sha256"));

		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, "yanked")) ||
		    deps_pep440_cmp(ver, d->update_to) != 0)
			continue;
		if (!sha || strlen(sha) != 64 || strspn(sha, "0123456789abcdefABCDEF") != 64) {
			deps_refuse(d, "the index gives no sha256 for %s",
				    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "filename")));
			break;
		}
		cJSON_AddItemToArray(hashes, cJSON_CreateString(sha));
	}
	if (!d->refused && cJSON_GetArraySize(hashes) == 0)
		deps_refuse(d, "the index lists no file of %s %s to take hashes from", d->key,
			    d->update_to);
	cJSON_Delete(files);
	if (d->refused)
		cJSON_Delete(hashes);
	else
		d->update_data = hashes;
	return OPS_OK;
}

static ops_code py_rewrite(deps_ctx *c, deps_manifest *m, ops_error *err)
{
	size_t n, i, pos = 0, len = 0;
	deps_dep **all = deps_all(c, &n);
	char *out = NULL;
	FILE *f = NULL;
	int changed = 0;

	if (m->role == PY_POETRY_LOCK)
		return OPS_OK;
	if (!(f = open_memstream(&out, &len)))
		return ops_error_oom(err);
	/* deps are in file order within a manifest */
	for (i = 0; i < n; i++) {
		deps_dep *d = all[i];
		char *line, *nl, **h = NULL;
		size_t k = 0;
		const cJSON *x;

		if (d->m != m || !d->update_to || d->refused || d->text_off < pos)
			continue;
		if (!(line = strndup(m->data + d->text_off, d->text_len))) {
			fclose(f);
			free(out);
			return ops_error_oom(err);
		}
		if (d->update_data) {
			h = calloc((size_t)cJSON_GetArraySize(d->update_data) + 1, sizeof *h);
			cJSON_ArrayForEach(x, d->update_data)
				if (h)
					h[k++] = x->valuestring;
		}
		nl = deps_req_rewrite_line(line, d->update_to, h);
		free(h);
		free(line);
		if (!nl) {
			deps_refuse(d, "its line could not be rewritten");
			continue;
		}
		fwrite(m->data + pos, 1, d->text_off - pos, f);
		fputs(nl, f);
		free(nl);
		pos = d->text_off + d->text_len;
		changed = 1;
	}
	return deps_rewrite_done(m, f, &out, &len, pos, changed, err);
}

const deps_eco deps_eco_python = {
	.name = "PyPI",
	.label = "python",
	.scheme = &deps_scheme_pep440,
	.claims = py_claims,
	.read = py_read,
	.versions = py_versions,
	.prepare = py_prepare,
	.rewrite = py_rewrite,
};
