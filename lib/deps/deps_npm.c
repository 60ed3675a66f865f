/*
 * The Node ecosystem of `opsctl deps`: package.json's ranges
 * (dependencies, devDependencies, optionalDependencies) with the versions
 * package-lock.json (lockfile v2/v3 "packages" map, v1/v2 "dependencies")
 * pins for them, and an npm registry's packument (GET /NAME, the
 * abbreviated form) for versions, tarball URLs and integrity.
 *
 * Only top-level dependencies are updated: the lock entry's version,
 * resolved and integrity from the packument, and the range in package.json
 * (and its copy in the lock's root package) when the new version is outside
 * it, keeping its operator (^, ~, exact, >=).  A range of another form
 * (1.x, a || b, a tag, a URL) is reported, never rewritten.
 *
 * package-lock.json is npm's own output, JSON.stringify with the file's
 * indent: it is rewritten in that layout, and only after checking that the
 * file as read comes out of that layout byte for byte (otherwise the update
 * is refused with a reason, rather than reformatting a file someone edited
 * by hand).  package.json is edited in place: only the range's text changes.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deps/deps_internal.h"
#include "opsmaint/http.h"

enum { NODE_PACKAGE = 1, NODE_LOCK };

static const char *const sections[] = {"dependencies", "devDependencies",
				       "optionalDependencies", NULL};

static int node_claims(const char *base, int *role)
{
	if (strcmp(base, "package.json") == 0)
		*role = NODE_PACKAGE;
	else if (strcmp(base, "package-lock.json") == 0)
		*role = NODE_LOCK;
	else
		return 0;
	return 1;
}

static const char *str(const cJSON *o, const char *k)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));
}

/* The line of the first `"key"` at or after from in data; *at its offset. */
static long key_line(const char *data, const char *from, const char *key, const char **at)
{
	char pat[600];
	const char *p, *q;
	long n = 1;

	snprintf(pat, sizeof pat, "\"%s\"", key);
	p = strstr(from, pat);
	if (at)
		*at = p;
	if (!p)
		return 0;
	for (q = data; q < p; q++)
		n += *q == '\n';
	return n;
}

/* The version package-lock.json pins for the top-level name; NULL when none. */
static const char *locked(const cJSON *lock, const char *name)
{
	char k[300];
	const char *v;

	snprintf(k, sizeof k, "node_modules/%s", name);
	v = str(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(lock, "packages"), k),
		"version");
	if (!v)
		v = str(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(
			lock, "dependencies"), name), "version");
	return v;
}

static ops_code node_read(deps_ctx *c, deps_manifest *m, ops_error *err)
{
	deps_manifest *lm;
	cJSON *pkg, *lock = NULL;
	ops_code rc = OPS_OK;
	int s;

	if (m->role != NODE_PACKAGE)
		return OPS_OK;	/* the lock is read through package.json */
	if (!(pkg = cJSON_ParseWithLength(m->data, m->len)) || !cJSON_IsObject(pkg)) {
		cJSON_Delete(pkg);
		return ops_error_set(err, OPS_EDATA, "%s: not valid JSON", m->rel);
	}
	if ((lm = deps_sibling(c, m, "package-lock.json"))) {
		m->partner = lm;
		lm->partner = m;
		if (!(lock = cJSON_ParseWithLength(lm->data, lm->len)) || !cJSON_IsObject(lock)) {
			cJSON_Delete(pkg);
			cJSON_Delete(lock);
			return ops_error_set(err, OPS_EDATA, "%s: not valid JSON", lm->rel);
		}
	}
	for (s = 0; sections[s] && rc == OPS_OK; s++) {
		const cJSON *sec = cJSON_GetObjectItemCaseSensitive(pkg, sections[s]), *e;
		const char *sec_at = NULL;

		key_line(m->data, m->data, sections[s], &sec_at);
		cJSON_ArrayForEach(e, sec) {
			const char *range = cJSON_GetStringValue(e), *cur = NULL;
			long line = sec_at ? key_line(m->data, sec_at, e->string, NULL) : 0;
			deps_dep *d;

			if (!range)
				continue;
			if (lock && (cur = locked(lock, e->string)) && !deps_semver_valid(cur)) {
				const char *at;
				char k[300];

				snprintf(k, sizeof k, "node_modules/%s", e->string);
				rc = ops_error_set(err, OPS_EDATA, "%s:%ld: '%s' is not a semver version "
						   "(%s)", lm->rel, key_line(lm->data, lm->data, k, &at),
						   cur, e->string);
				break;
			}
			if (!cur && !lock && deps_semver_valid(range))
				cur = range;	/* an exact range pins without a lock */
			if (!(d = deps_add(c, m, line, e->string, e->string, cur, range))) {
				rc = ops_error_oom(err);
				break;
			}
			if (!cur)
				deps_refuse(d, lock ? "not in package-lock.json" : "no package-lock.json");
			else
				d->rewritable = 1;
		}
	}
	cJSON_Delete(pkg);
	cJSON_Delete(lock);
	return rc;
}

/* ---- the registry ---- */

static ops_code packument(deps_ctx *c, deps_dep *d, cJSON **out, ops_error *err)
{
	const char *reg = ops_config_get(deps_cfg(c), "deps.npm_registry");
	size_t n = reg ? strlen(reg) : 0;
	char *url = NULL, *body = NULL, *ctype = NULL, *name, what[300];
	ops_code rc;

	/* "@scope/name" is one path segment: "@scope%2fname" */
	if (!(name = ops_http_escape(d->key, "@")))
		return ops_error_oom(err);
	if (asprintf(&url, "%.*s/%s", (int)(n && reg[n - 1] == '/' ? n - 1 : n), reg ? reg : "",
		     name) < 0) {
		free(name);
		return ops_error_oom(err);
	}
	free(name);
	snprintf(what, sizeof what, "package %s in the registry", d->key);
	rc = deps_http_get(c, url, "application/vnd.npm.install-v1+json; q=1.0, "
			   "application/json; q=0.8", what, &body, &ctype, err);
	free(url);
	free(ctype);
	if (rc != OPS_OK)
		return rc;
	*out = cJSON_Parse(body);
	free(body);
	if (!cJSON_IsObject(*out) || !cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(*out, "versions"))) {
		cJSON_Delete(*out);
		*out = NULL;
		return ops_error_set(err, OPS_EDATA, "the registry's answer for %s is not a packument",
				     d->key);
	}
	return OPS_OK;
}

static ops_code node_versions(deps_ctx *c, deps_dep *d, char ***out, ops_error *err)
{
	cJSON *p = NULL, *v;
	char **list;
	size_t n = 0;
	ops_code rc;

	*out = NULL;
	if ((rc = packument(c, d, &p, err)) != OPS_OK)
		return rc;
	v = cJSON_GetObjectItemCaseSensitive(p, "versions");
	if (!(list = calloc((size_t)cJSON_GetArraySize(v) + 1, sizeof *list))) {
		cJSON_Delete(p);
		return ops_error_oom(err);
	}
	for (v = v->child; v; v = v->next)
		if (v->string && !(list[n++] = strdup(v->string)))
			break;
	cJSON_Delete(p);
	*out = list;
	return OPS_OK;
}

/* ---- ranges: the forms deps rewrites ---- */

/* The operator of range ("^", "~", "", ">=") and its version; 0 when another form. */
static int range_form(const char *range, char op[3], const char **ver)
{
	const char *p = range;

	while (*p == ' ')
		p++;
	op[0] = op[1] = op[2] = '\0';
	if (*p == '^' || *p == '~')
		op[0] = *p++;
	else if (p[0] == '>' && p[1] == '=') {
		op[0] = '>';
		op[1] = '=';
		p += 2;
	}
	while (*p == ' ' || *p == '=' || *p == 'v')
		p++;
	*ver = p;
	return deps_semver_valid(p);
}

/* npm's semver: whether v satisfies "^X.Y.Z", "~X.Y.Z", "X.Y.Z" or ">=X.Y.Z". */
static int satisfies(const char *range, const char *v)
{
	char op[3];
	const char *base;
	deps_semver b, x;

	if (!range_form(range, op, &base) || deps_semver_parse(base, &b) || deps_semver_parse(v, &x))
		return 0;
	if (deps_semver_cmp_parsed(&x, &b) < 0)
		return 0;
	/* a pre-release satisfies only a range on the same [major, minor, patch] */
	if (x.pre[0] && !(b.pre[0] && b.major == x.major && b.minor == x.minor && b.patch == x.patch))
		return 0;
	if (!op[0])
		return deps_semver_cmp_parsed(&x, &b) == 0;
	if (op[0] == '>')
		return 1;
	if (op[0] == '~')
		return x.major == b.major && x.minor == b.minor;
	/* ^: the left-most non-zero part stays */
	if (b.major)
		return x.major == b.major;
	if (b.minor)
		return x.major == 0 && x.minor == b.minor;
	return x.major == 0 && x.minor == 0 && x.patch == b.patch;
}

static ops_code node_prepare(deps_ctx *c, deps_dep *d, ops_error *err)
{
	cJSON *p = NULL, *dist, *u;
	const char *integrity, *tarball;
	char op[3];
	const char *base;
	ops_code rc;

	if (!satisfies(d->spec, d->update_to) && !range_form(d->spec, op, &base)) {
		deps_refuse(d, "the range '%s' is not one deps rewrites (^, ~, >= or exact)", d->spec);
		return OPS_OK;
	}
	if (!d->m->partner) {
		deps_refuse(d, "no package-lock.json to pin it in");
		return OPS_OK;
	}
	if ((rc = packument(c, d, &p, err)) != OPS_OK)
		return rc;
	dist = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(p, "versions"), d->update_to), "dist");
	integrity = str(dist, "integrity");
	tarball = str(dist, "tarball");
	if (!integrity || !tarball || strncmp(integrity, "sha", 3) != 0) {
		deps_refuse(d, "the registry gives no integrity for %s@%s", d->key, d->update_to);
	} else if ((u = cJSON_CreateObject())) {
		cJSON_AddStringToObject(u, "resolved", tarball);
		cJSON_AddStringToObject(u, "integrity", integrity);
		d->update_data = u;
	} else {
		rc = ops_error_oom(err);
	}
	cJSON_Delete(p);
	return rc;
}

/* ---- writing JSON as npm does (JSON.stringify(value, null, indent)) ---- */

static void npm_print(FILE *f, const cJSON *v, const char *indent, const char *eol, int depth)
{
	const cJSON *e;
	int i;

	if ((cJSON_IsObject(v) || cJSON_IsArray(v)) && v->child) {
		fputc(cJSON_IsObject(v) ? '{' : '[', f);
		for (e = v->child; e; e = e->next) {
			fputs(eol, f);
			for (i = 0; i <= depth; i++)
				fputs(indent, f);
			if (cJSON_IsObject(v)) {
				cJSON tmp = {0};
				char *k;

				tmp.type = cJSON_String;
				tmp.valuestring = e->string;
				k = cJSON_PrintUnformatted(&tmp);
				fputs(k ? k : "\"\"", f);
				free(k);
				fputs(": ", f);
			}
			npm_print(f, e, indent, eol, depth + 1);
			if (e->next)
				fputc(',', f);
		}
		fputs(eol, f);
		for (i = 0; i < depth; i++)
			fputs(indent, f);
		fputc(cJSON_IsObject(v) ? '}' : ']', f);
		return;
	}
	if (cJSON_IsObject(v) || cJSON_IsArray(v)) {
		fputs(cJSON_IsObject(v) ? "{}" : "[]", f);
		return;
	}
	{
		char *s = cJSON_PrintUnformatted(v);

		fputs(s ? s : "null", f);
		free(s);
	}
}

/* data's indent (of its second line) and whether it ends with a line end. */
static char *npm_layout(const cJSON *root, const deps_manifest *m, size_t *len)
{
	const char *nl = strchr(m->data, '\n');
	const char *eol = deps_eol(m);
	char indent[16] = "  ", *out = NULL;
	FILE *f;

	if (nl) {
		size_t n = strspn(nl + 1, " \t");

		snprintf(indent, sizeof indent, "%.*s", (int)(n < sizeof indent ? n : sizeof indent - 1),
			 nl + 1);
	}
	if (!(f = open_memstream(&out, len)))
		return NULL;
	npm_print(f, root, indent, eol, 0);
	if (m->len && m->data[m->len - 1] == '\n')
		fputs(eol, f);
	if (fclose(f) != 0) {
		free(out);
		return NULL;
	}
	return out;
}

static void set_str(cJSON *o, const char *k, const char *v)
{
	cJSON *old = cJSON_GetObjectItemCaseSensitive(o, k);

	if (old && cJSON_IsString(old))
		cJSON_SetValuestring(old, v);
}

/* The new range for d: the same operator with update_to, or NULL when it still satisfies. */
static char *new_range(const deps_dep *d)
{
	char op[3], *r = NULL;
	const char *base;

	if (satisfies(d->spec, d->update_to) || !range_form(d->spec, op, &base))
		return NULL;
	if (asprintf(&r, "%s%s", op, d->update_to) < 0)
		return NULL;
	return r;
}

static ops_code rewrite_lock(deps_ctx *c, deps_manifest *m, ops_error *err)
{
	size_t n, i, len = 0;
	deps_dep **all = deps_all(c, &n);
	cJSON *root = cJSON_ParseWithLength(m->data, m->len);
	char *again = NULL;
	int any = 0;

	for (i = 0; i < n; i++)
		if (all[i]->m == m->partner && all[i]->update_to && !all[i]->refused)
			any = 1;
	if (!any) {
		cJSON_Delete(root);
		return OPS_OK;
	}
	if (!root || !(again = npm_layout(root, m, &len)) || len != m->len ||
	    memcmp(again, m->data, len) != 0) {
		for (i = 0; i < n; i++)
			if (all[i]->m == m->partner && all[i]->update_to && !all[i]->refused)
				deps_refuse(all[i], "%s is not in npm's own layout; run npm install "
					    "to rewrite it", m->rel);
		free(again);
		cJSON_Delete(root);
		return OPS_OK;
	}
	free(again);
	for (i = 0; i < n; i++) {
		deps_dep *d = all[i];
		char k[300], *range;
		cJSON *pk, *rootpkg, *legacy;
		int s;

		if (d->m != m->partner || !d->update_to || d->refused)
			continue;
		snprintf(k, sizeof k, "node_modules/%s", d->key);
		pk = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "packages"), k);
		legacy = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(
			root, "dependencies"), d->key);
		if (pk) {
			set_str(pk, "version", d->update_to);
			set_str(pk, "resolved", str(d->update_data, "resolved"));
			set_str(pk, "integrity", str(d->update_data, "integrity"));
		}
		if (legacy) {
			set_str(legacy, "version", d->update_to);
			set_str(legacy, "resolved", str(d->update_data, "resolved"));
			set_str(legacy, "integrity", str(d->update_data, "integrity"));
		}
		rootpkg = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "packages"), "");
		if ((range = new_range(d))) {
			for (s = 0; sections[s]; s++)
				set_str(cJSON_GetObjectItemCaseSensitive(rootpkg, sections[s]), d->key, range);
			free(range);
		}
	}
	m->new_data = npm_layout(root, m, &m->new_len);
	cJSON_Delete(root);
	return m->new_data ? OPS_OK : ops_error_oom(err);
}

/* package.json: each changed range's text, in place. */
static ops_code rewrite_package(deps_ctx *c, deps_manifest *m, ops_error *err)
{
	size_t n, i, pos = 0, len = 0;
	deps_dep **all = deps_all(c, &n);
	char *out = NULL;
	FILE *f;
	int changed = 0;

	if (!(f = open_memstream(&out, &len)))
		return ops_error_oom(err);
	for (i = 0; i < n; i++) {
		deps_dep *d = all[i];
		char pat[600], *range;
		const char *at, *q;

		if (d->m != m || !d->update_to || d->refused || !(range = new_range(d)))
			continue;
		/* "name" on its line, then ':' and the range string */
		at = deps_line_start(m, d->line);
		snprintf(pat, sizeof pat, "\"%s\"", d->name);
		if (!at || !(at = strstr(at, pat)) || (size_t)(at - m->data) < pos ||
		    !(q = strchr(at + strlen(pat), '"')) || strncmp(q + 1, d->spec, strlen(d->spec)) != 0 ||
		    q[1 + strlen(d->spec)] != '"') {
			deps_refuse(d, "its range in %s could not be found to rewrite", m->rel);
			free(range);
			continue;
		}
		fwrite(m->data + pos, 1, (size_t)(q + 1 - (m->data + pos)), f);
		fputs(range, f);
		pos = (size_t)(q + 1 + strlen(d->spec) - m->data);
		free(range);
		changed = 1;
	}
	return deps_rewrite_done(m, f, &out, &len, pos, changed, err);
}

static ops_code node_rewrite(deps_ctx *c, deps_manifest *m, ops_error *err)
{
	/* the lock first: a refusal there must keep package.json as it is */
	if (m->role == NODE_PACKAGE) {
		ops_code rc = OPS_OK;

		if (m->partner && !m->partner->new_data)
			rc = rewrite_lock(c, m->partner, err);
		return rc == OPS_OK ? rewrite_package(c, m, err) : rc;
	}
	return OPS_OK;
}

const deps_eco deps_eco_node = {
	.name = "npm",
	.label = "node",
	.scheme = &deps_scheme_semver,
	.claims = node_claims,
	.read = node_read,
	.versions = node_versions,
	.prepare = node_prepare,
	.rewrite = node_rewrite,
};
