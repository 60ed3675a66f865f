/*
 * HashiCorp Vault's KV version 2 engine (guide 001 keeps the chatbot's
 * secrets there), as much of its HTTP API as rotate-keys needs: read the
 * latest version of a secret, and write a new one with check-and-set, so
 * that two writers never overwrite each other.  Everything goes through
 * core/http (timeouts, retries of reads, TLS verification, redaction of the
 * X-Vault-Token header in traces).
 *
 * The token is a secret like the ones it protects: it comes from
 * $VAULT_TOKEN or keys.vault_token_file, never argv or the configuration,
 * lives in one buffer cleansed on free, and the header line that carries it
 * is cleansed after every request.  Request and response bodies hold the
 * secrets being rotated and are cleansed too.  Messages name the secret's
 * mount and path, never its contents.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "keys_internal.h"
#include "opsmaint/secret.h"
#include "opsmaint/http.h"

/* A token is about 100 bytes; a file far larger is not a token file. */

struct keys_vault {
	ops_http *http;
	char *addr;		/* without a trailing slash */
	char *mount;		/* without slashes at either end */
	char *token;
	char *namespace;
};

static void wipe_free(char *p)
{
	if (p) {
		OPENSSL_cleanse(p, strlen(p));
		free(p);
	}
}

void keys_vault_free(keys_vault *v)
{
	if (!v)
		return;
	ops_http_free(v->http);
	free(v->addr);
	free(v->mount);
	wipe_free(v->token);
	free(v->namespace);
	free(v);
}

/* The token from $VAULT_TOKEN (as the vault CLI reads it), else the token file. */
static ops_code load_token(const ops_config *cfg, char **out, ops_error *err)
{
	return ops_secret_load("VAULT_TOKEN", ops_config_get(cfg, "keys.vault_token_file"),
			       "keys.vault_token_file", "Vault token", out, err);
}

ops_code keys_vault_open(const ops_config *cfg, keys_vault **out, ops_error *err)
{
	const char *addr = ops_config_get(cfg, "keys.vault_addr");
	const char *mount = ops_config_get(cfg, "keys.vault_mount");
	const char *ns = ops_config_get(cfg, "keys.vault_namespace");
	ops_http_opts o;
	keys_vault *v;
	size_t n;
	ops_code rc;

	*out = NULL;
	if (!addr || !*addr) {
		ops_error_set(err, OPS_ECONFIG, "Vault is not configured: keys.vault_addr (VAULT_ADDR) is unset");
		return OPS_ECONFIG;
	}
	if (strncmp(addr, "http://", 7) != 0 && strncmp(addr, "https://", 8) != 0)
		return ops_error_set(err, OPS_ECONFIG,
				     "keys.vault_addr '%s' is not an http:// or https:// address", addr);
	while (mount && *mount == '/')
		mount++;
	if (!mount || !*mount)
		return ops_error_set(err, OPS_ECONFIG, "keys.vault_mount is empty");
	v = calloc(1, sizeof *v);
	if (!v)
		return ops_error_oom(err);
	v->addr = strdup(addr);
	v->mount = strdup(mount);
	v->namespace = ns && *ns ? strdup(ns) : NULL;
	if (!v->addr || !v->mount || (ns && *ns && !v->namespace)) {
		keys_vault_free(v);
		return ops_error_oom(err);
	}
	n = strlen(v->addr);
	while (n > 0 && v->addr[n - 1] == '/')
		v->addr[--n] = '\0';
	n = strlen(v->mount);
	while (n > 0 && v->mount[n - 1] == '/')
		v->mount[--n] = '\0';
	if ((rc = load_token(cfg, &v->token, err)) != OPS_OK) {
		keys_vault_free(v);
		return rc;
	}
	ops_http_opts_init(&o);
	o.name = "keys";
	o.ca_file = ops_config_get(cfg, "keys.vault_ca_file");
	if (o.ca_file && !*o.ca_file)
		o.ca_file = NULL;
	o.timeout = 30;
	o.trace = 1;
	if ((rc = ops_http_new(&o, &v->http, err)) != OPS_OK) {
		keys_vault_free(v);
		return rc;
	}
	*out = v;
	return OPS_OK;
}

/* ---- one request ---- */

/* "MOUNT/PATH", for messages. */
static void secret_name(const keys_vault *v, const char *path, char *out, size_t size)
{
	snprintf(out, size, "%s/%s", v->mount, path);
}

/* Vault's "errors" array joined with "; " (at most size bytes), or "". */
static void vault_errors(const ops_http_resp *r, char *out, size_t size)
{
	cJSON *j = r->body ? cJSON_Parse(r->body) : NULL, *e;
	size_t o = 0;

	out[0] = '\0';
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(j, "errors")) {
		if (!cJSON_IsString(e) || o + 3 >= size)
			continue;
		o += (size_t)snprintf(out + o, size - o, "%s%s", o ? "; " : "", e->valuestring);
		if (o >= size)
			o = size - 1;
	}
	cJSON_Delete(j);
}

/*
 * One request to /v1/MOUNT/data/PATH with the token and namespace headers;
 * *resp as ops_http_request leaves it (release it with release()).
 */
static ops_code request(keys_vault *v, const char *method, const char *path, const char *body,
			const char *what, ops_http_resp *resp, ops_error *err)
{
	char *url = NULL, *epath, *emount, *tok = NULL, *nsh = NULL;
	const char *headers[4];
	ops_http_req req;
	ops_code rc;
	size_t h = 0;

	while (*path == '/')
		path++;
	memset(resp, 0, sizeof *resp);
	if (!*path)
		return ops_error_set(err, OPS_ECONFIG, "no Vault secret path (keys.vault_path)");
	epath = ops_http_escape(path, "/");
	emount = ops_http_escape(v->mount, "/");
	if (!epath || !emount || asprintf(&url, "%s/v1/%s/data/%s", v->addr, emount, epath) < 0 ||
	    asprintf(&tok, "X-Vault-Token: %s", v->token) < 0 ||
	    (v->namespace && asprintf(&nsh, "X-Vault-Namespace: %s", v->namespace) < 0)) {
		free(epath);
		free(emount);
		free(url);
		wipe_free(tok);
		return ops_error_oom(err);
	}
	free(epath);
	free(emount);
	headers[h++] = tok;
	if (nsh)
		headers[h++] = nsh;
	if (body)
		headers[h++] = "Content-Type: application/json";
	headers[h] = NULL;
	memset(&req, 0, sizeof req);
	req.method = method;
	req.url = url;
	req.headers = headers;
	req.body = body;
	req.body_len = body ? strlen(body) : 0;
	req.what = what;
	rc = ops_http_request(v->http, &req, resp, err);
	wipe_free(tok);
	free(nsh);
	free(url);
	return rc;
}

/* The response body holds the secret's values: cleansed before release. */
static void release(ops_http_resp *r)
{
	if (r->body)
		OPENSSL_cleanse(r->body, r->len);
	ops_http_resp_release(r);
}

/* A status that is an error whatever the request: 403, 503, anything else unexpected. */
static ops_code status_error(const keys_vault *v, const ops_http_resp *r, const char *what,
			     ops_error *err)
{
	char errors[256];

	vault_errors(r, errors, sizeof errors);
	if (r->status == 401 || r->status == 403) {
		ops_error_set(err, OPS_EPERM, "%s: Vault at %s refused the token (HTTP %ld%s%s)", what,
			      v->addr, r->status, *errors ? ": " : "", errors);
		ops_error_hint(err, "Check VAULT_TOKEN or keys.vault_token_file, and that the token's policy allows this path.");
		return OPS_EPERM;
	}
	if (r->status == 503) {
		ops_error_set(err, OPS_EUNAVAIL, "%s: Vault at %s is sealed or in standby (HTTP 503%s%s)",
			      what, v->addr, *errors ? ": " : "", errors);
		return OPS_EUNAVAIL;
	}
	return ops_error_set(err, OPS_EFAIL, "%s: Vault answered HTTP %ld%s%s", what, r->status,
			     *errors ? ": " : "", errors);
}

ops_code keys_vault_read(keys_vault *v, const char *path, cJSON **data, long *version,
			 ops_error *err)
{
	ops_http_resp r;
	char name[512], what[600];
	cJSON *j = NULL, *d, *dd, *ver;
	ops_code rc;
	long status;

	*data = NULL;
	*version = 0;
	secret_name(v, path, name, sizeof name);
	snprintf(what, sizeof what, "reading Vault secret '%s'", name);
	rc = request(v, "GET", path, NULL, what, &r, err);
	if (rc != OPS_OK) {
		release(&r);
		return rc;
	}
	if (r.status != 200 && r.status != 404) {
		rc = status_error(v, &r, what, err);
		release(&r);
		return rc;
	}
	status = r.status;
	j = r.body ? cJSON_ParseWithLength(r.body, r.len) : NULL;
	release(&r);
	d = cJSON_GetObjectItemCaseSensitive(j, "data");
	dd = cJSON_GetObjectItemCaseSensitive(d, "data");
	ver = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(d, "metadata"),
					       "version");
	if (status == 404) {
		/* None yet; or the latest version was deleted, which still has a
		 * number check-and-set must name. */
		*version = cJSON_IsNumber(ver) ? (long)ver->valuedouble : 0;
		cJSON_Delete(j);
		*data = cJSON_CreateObject();
		return *data ? OPS_OK : ops_error_oom(err);
	}
	if (!cJSON_IsObject(dd) || !cJSON_IsNumber(ver) || ver->valuedouble < 1) {
		cJSON_Delete(j);
		return ops_error_set(err, OPS_EDATA, "%s: the answer is not a KV version 2 secret "
				     "(is '%s' a KV v2 mount?)", what, v->mount);
	}
	*version = (long)ver->valuedouble;
	*data = cJSON_DetachItemViaPointer(d, dd);
	/* cJSON_Delete frees without cleansing: the values leave with *data. */
	cJSON_Delete(j);
	return OPS_OK;
}

ops_code keys_vault_write(keys_vault *v, const char *path, const cJSON *data, long cas,
			  long *new_version, ops_error *err)
{
	cJSON *body = NULL, *opts, *j, *ver;
	ops_http_resp r;
	char name[512], what[600], *text;
	ops_code rc;

	if (new_version)
		*new_version = 0;
	if (!cJSON_IsObject(data) || cas < 0)
		return ops_error_set(err, OPS_EINTERNAL, "keys_vault_write: data must be an object and cas >= 0");
	secret_name(v, path, name, sizeof name);
	snprintf(what, sizeof what, "writing Vault secret '%s'", name);
	body = cJSON_CreateObject();
	opts = cJSON_AddObjectToObject(body, "options");
	/* A reference: the caller's values are printed, never copied into a tree. */
	if (!opts || !cJSON_AddNumberToObject(opts, "cas", (double)cas) ||
	    !cJSON_AddItemReferenceToObject(body, "data", (cJSON *)data)) {
		cJSON_Delete(body);
		return ops_error_oom(err);
	}
	text = cJSON_PrintUnformatted(body);
	cJSON_Delete(body);
	if (!text)
		return ops_error_oom(err);
	rc = request(v, "POST", path, text, what, &r, err);
	wipe_free(text);
	if (rc != OPS_OK) {
		release(&r);
		return rc;
	}
	if (r.status == 400) {
		char errors[256];

		vault_errors(&r, errors, sizeof errors);
		if (strstr(errors, "check-and-set parameter did not match")) {
			ops_error_set(err, OPS_ELOCKED, "%s: someone else wrote it since version %ld was read",
				      what, cas);
			ops_error_hint(err, "Run again: the next run reads the new version first.");
			rc = OPS_ELOCKED;
		} else {
			rc = ops_error_set(err, OPS_EFAIL, "%s: Vault answered HTTP 400%s%s", what,
					   *errors ? ": " : "", errors);
		}
		release(&r);
		return rc;
	}
	if (r.status != 200) {
		rc = status_error(v, &r, what, err);
		release(&r);
		return rc;
	}
	j = r.body ? cJSON_ParseWithLength(r.body, r.len) : NULL;
	release(&r);
	ver = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "data"), "version");
	if (!cJSON_IsNumber(ver) || ver->valuedouble < 1) {
		cJSON_Delete(j);
		return ops_error_set(err, OPS_EDATA, "%s: Vault's answer names no version", what);
	}
	if (new_version)
		*new_version = (long)ver->valuedouble;
	cJSON_Delete(j);
	return OPS_OK;
}
