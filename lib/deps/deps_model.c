/*
 * The deps run's model and the services deps.c gives the ecosystems: the
 * manifests (resolved inside the project directory and read whole), the
 * dependencies found in them, and the registries' answers (one GET per URL
 * a run).  Nothing here knows an ecosystem: deps.c decides which one a
 * manifest belongs to.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deps/deps_internal.h"
#include "opsmaint/fileio.h"

#define MANIFEST_MAX (16u << 20)

const ops_run *deps_run(const deps_ctx *c)
{
	return c->run;
}

const ops_config *deps_cfg(const deps_ctx *c)
{
	return c->cfg;
}

void deps_strv_free(char **v)
{
	char **p;

	for (p = v; p && *p; p++)
		free(*p);
	free(v);
}

const char *deps_line_start(const deps_manifest *m, long line)
{
	const char *at = m->data;

	for (; at && line > 1; line--)
		if ((at = strchr(at, '\n')))
			at++;
	return at;
}

ops_code deps_rewrite_done(deps_manifest *m, FILE *f, char **out, size_t *len, size_t pos,
			   int changed, ops_error *err)
{
	fwrite(m->data + pos, 1, m->len - pos, f);
	if (fclose(f) != 0) {
		free(*out);
		*out = NULL;
		return ops_error_oom(err);
	}
	if (changed) {
		m->new_data = *out;
		m->new_len = *len;
	} else {
		free(*out);
	}
	*out = NULL;
	return OPS_OK;
}

void deps_refuse(deps_dep *d, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (d->update_to) {
		free(d->refused);
		d->refused = s;
	} else {
		free(d->why_not);
		d->why_not = s;
	}
}

deps_dep *deps_add(deps_ctx *c, deps_manifest *m, long line, const char *name,
		   const char *key, const char *current, const char *spec)
{
	deps_dep *d = calloc(1, sizeof *d), **grown;

	if (!d)
		return NULL;
	d->eco = m->eco;
	d->m = m;
	d->line = line;
	d->name = strdup(name);
	d->key = strdup(key);
	d->current = current ? strdup(current) : NULL;
	d->spec = strdup(spec ? spec : "");
	d->findings = cJSON_CreateArray();
	grown = realloc(c->deps, (c->nd + 1) * sizeof *grown);
	if (!d->name || !d->key || (current && !d->current) || !d->spec || !d->findings || !grown) {
		free(d->name);
		free(d->key);
		free(d->current);
		free(d->spec);
		cJSON_Delete(d->findings);
		free(d);
		if (grown)
			c->deps = grown;
		return NULL;
	}
	c->deps = grown;
	c->deps[c->nd++] = d;
	return d;
}

deps_dep **deps_all(deps_ctx *c, size_t *n)
{
	*n = c->nd;
	return c->deps;
}

const char *deps_eol(const deps_manifest *m)
{
	const char *nl = memchr(m->data, '\n', m->len);

	return nl && nl > m->data && nl[-1] == '\r' ? "\r\n" : "\n";
}

static void manifest_free(deps_manifest *m)
{
	if (!m)
		return;
	free(m->rel);
	free(m->path);
	free(m->data);
	free(m->new_data);
	free(m);
}

static void dep_free(deps_dep *d)
{
	free(d->name);
	free(d->key);
	free(d->current);
	free(d->spec);
	free(d->why_not);
	free(d->allowed);
	free(d->latest);
	free(d->update_to);
	free(d->refused);
	cJSON_Delete(d->findings);
	cJSON_Delete(d->update_data);
	free(d);
}

void deps_ctx_free(deps_ctx *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < c->nm; i++)
		manifest_free(c->ms[i]);
	free(c->ms);
	for (i = 0; i < c->nd; i++)
		dep_free(c->deps[i]);
	free(c->deps);
	ops_http_free(c->http);
	cJSON_Delete(c->cache);
	free(c);
}

/* ---- the manifests, inside the project directory only ---- */

static int inside(const char *root, const char *path)
{
	size_t n = strlen(root);

	return strncmp(path, root, n) == 0 && (path[n] == '/' || (n == 1 && root[0] == '/'));
}

ops_code deps_manifest_add(deps_ctx *c, const char *base, const char *rel, const deps_eco *eco,
			   int role, deps_manifest **out, ops_error *err)
{
	char joined[PATH_MAX * 2], real[PATH_MAX];
	deps_manifest *m, **grown;
	size_t i;
	ops_code rc;

	*out = NULL;
	snprintf(joined, sizeof joined, "%s/%s", rel[0] == '/' ? "" : base, rel);
	if (!realpath(joined, real)) {
		rc = ops_error_errno(err, errno, "cannot read manifest", joined);
		if (rc == OPS_EIO || errno == ENOENT)
			err->code = rc = OPS_EDATA;
		return rc;
	}
	if (!inside(c->root, real))
		return ops_error_set(err, OPS_ECONFIG, "manifest '%s' resolves to '%s', outside the "
				     "project directory '%s' (deps.project_dir)", rel, real, c->root);
	for (i = 0; i < c->nm; i++)
		if (strcmp(c->ms[i]->path, real) == 0)
			return OPS_OK;
	if (!(m = calloc(1, sizeof *m)) || !(m->path = strdup(real)) ||
	    !(m->rel = strdup(real + strlen(c->root) + (strlen(c->root) > 1)))) {
		manifest_free(m);
		return ops_error_oom(err);
	}
	m->eco = eco;
	m->role = role;
	if ((rc = ops_read_file(real, MANIFEST_MAX, &m->data, &m->len, err)) != OPS_OK) {
		ops_error_prefix(err, "manifest");
		if (rc == OPS_EIO)
			err->code = rc = OPS_EDATA;
		manifest_free(m);
		return rc;
	}
	if (memchr(m->data, '\0', m->len)) {
		rc = ops_error_set(err, OPS_EDATA, "manifest '%s' is not a text file", m->rel);
		manifest_free(m);
		return rc;
	}
	if (!(grown = realloc(c->ms, (c->nm + 1) * sizeof *grown))) {
		manifest_free(m);
		return ops_error_oom(err);
	}
	c->ms = grown;
	c->ms[c->nm++] = m;
	*out = m;
	return OPS_OK;
}

ops_code deps_include(deps_ctx *c, const deps_manifest *from, long line, const char *rel,
		      ops_error *err)
{
	char *dir = ops_path_dir(from->path);
	deps_manifest *m;
	ops_code rc;

	if (!dir)
		return ops_error_oom(err);
	if (!*rel)
		rc = ops_error_set(err, OPS_EDATA, "%s:%ld: -r without a file", from->rel, line);
	else
		rc = deps_manifest_add(c, dir, rel, from->eco, from->role, &m, err);
	if (rc != OPS_OK && rc != OPS_EINTERNAL)
		ops_error_prefix(err, "%s:%ld", from->rel, line);
	free(dir);
	return rc;
}

deps_manifest *deps_sibling(deps_ctx *c, const deps_manifest *m, const char *base)
{
	char *dir = ops_path_dir(m->path), *want;
	deps_manifest *found = NULL;
	size_t i;

	if (!dir)
		return NULL;
	want = ops_path_join(dir, base);
	for (i = 0; want && i < c->nm; i++)
		if (strcmp(c->ms[i]->path, want) == 0)
			found = c->ms[i];
	free(want);
	free(dir);
	return found;
}

ops_code deps_http_client(deps_ctx *c, ops_error *err)
{
	ops_http_opts o;

	if (c->http)
		return OPS_OK;
	ops_http_opts_init(&o);
	o.name = "deps";
	o.timeout = (double)ops_config_int(c->cfg, "deps.registry_timeout");
	o.max_body = 64u << 20;
	o.max_redirects = 3;
	return ops_http_new(&o, &c->http, err);
}

ops_code deps_http_get(deps_ctx *c, const char *url, const char *accept, const char *what,
		       char **body, char **ctype, ops_error *err)
{
	const cJSON *hit = cJSON_GetObjectItemCaseSensitive(c->cache, url);
	char acc[300];
	const char *headers[] = {acc, NULL};
	ops_http_req req = {0};
	ops_http_resp resp = {0};
	ops_code rc;
	cJSON *entry;

	*body = *ctype = NULL;
	if (!hit) {
		if ((rc = deps_http_client(c, err)) != OPS_OK)
			return rc;
		snprintf(acc, sizeof acc, "Accept: %s", accept);
		req.url = url;
		req.headers = headers;
		req.what = what;
		if ((rc = ops_http_request(c->http, &req, &resp, err)) != OPS_OK) {
			ops_http_resp_release(&resp);
			return rc;
		}
		if (!(entry = cJSON_AddObjectToObject(c->cache, url))) {
			ops_http_resp_release(&resp);
			return ops_error_oom(err);
		}
		cJSON_AddNumberToObject(entry, "status", (double)resp.status);
		cJSON_AddStringToObject(entry, "body", resp.body ? resp.body : "");
		cJSON_AddStringToObject(entry, "ctype",
					ops_http_resp_header(&resp, "Content-Type") ?
					ops_http_resp_header(&resp, "Content-Type") : "");
		ops_http_resp_release(&resp);
		hit = entry;
	}
	{
		long status = (long)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(hit, "status"));

		if (status == 404 || status == 410)
			return ops_error_set(err, OPS_EFAIL, "%s: not found (HTTP %ld)", what, status);
		if (status < 200 || status > 299)
			return ops_error_set(err, OPS_EUNAVAIL, "%s: the registry answered HTTP %ld",
					     what, status);
	}
	*body = strdup(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(hit, "body")));
	*ctype = strdup(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(hit, "ctype")));
	if (!*body || !*ctype) {
		free(*body);
		free(*ctype);
		*body = *ctype = NULL;
		return ops_error_oom(err);
	}
	return OPS_OK;
}

