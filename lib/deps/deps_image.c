/*
 * The container image ecosystem of `opsctl deps`: every service's image:
 * in compose files ([registry[:port]/]repo[:tag][@sha256:digest], Docker
 * Hub's defaults docker.io and library/ applied), and a registry speaking
 * the Docker Registry HTTP API v2 (the OCI distribution spec): the tag list
 * (GET /v2/REPO/tags/list, following Link: rel="next"), a tag's digest
 * (HEAD /v2/REPO/manifests/TAG, Docker-Content-Digest, OCI index and
 * manifest and Docker list and v2 manifest accepted), HTTP Basic or Bearer
 * token authentication as the registry's WWW-Authenticate asks, with the
 * credentials of deps.registry_auth_file (a docker config.json).
 *
 * A tag is a version when it is [v]N[.N[.N[.N]]][-SUFFIX]; its candidates
 * are the registry's tags of the same shape: the same "v", as many numbers,
 * the same suffix (15-alpine moves to 16-alpine, never to 16 or 15.3-alpine).
 * A pinned digest is checked against what its tag points at now: when no
 * newer tag is allowed and they differ, that is an update of kind "digest"
 * (latest, or a rebuilt 15-alpine); a digest is always replaced with the
 * new tag's or the tag's new digest, never left stale.  Not read:
 * ${VAR} interpolation (the image is listed with a note, not checked, since
 * compose resolves it from an environment cron does not have), merge keys
 * and extends:.  The rewrite changes the image value's text on its line
 * only, its quotes, comments and layout kept.
 */
#include <ctype.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/evp.h>

#include "deps/deps_internal.h"
#include "opsmaint/fileio.h"
#include "opsmaint/hash.h"
#include "opsmaint/yaml.h"

#define IMG_TAG_PAGES 100
#define IMG_TAG_PAGE "50"	/* tags asked per page (Link: rel="next" for more) */
#define IMG_NUMS 4

static const char manifest_accept[] =
	"application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, "
	"application/vnd.docker.distribution.manifest.list.v2+json, "
	"application/vnd.docker.distribution.manifest.v2+json";

static int image_claims(const char *base, int *role)
{
	*role = 1;
	return fnmatch("*compose*.yml", base, 0) == 0 || fnmatch("*compose*.yaml", base, 0) == 0;
}

/* ---- references ---- */

typedef struct img_ref {
	char host[256];		/* "docker.io" when not written */
	char repo[256];		/* "library/postgres" */
	char tag[136];		/* "" when not written */
	char digest[80];	/* "sha256:..." or "" */
	size_t name_len;	/* the written text before ":tag" / "@digest" */
} img_ref;

static int repo_ok(const char *r)
{
	const char *p = r;

	if (!*p)
		return 0;
	for (; *p; p++) {
		if (islower((unsigned char)*p) || isdigit((unsigned char)*p))
			continue;
		if (!strchr("._-/", *p) || p == r || !isalnum((unsigned char)p[1]))
			return 0;
	}
	return 1;
}

/* s into r; 0, or -1 with why set. */
static int ref_parse(const char *s, img_ref *r, const char **why)
{
	const char *at = strchr(s, '@'), *slash, *colon, *end;
	size_t n, i;

	memset(r, 0, sizeof *r);
	if (strchr(s, '$')) {
		*why = "it uses ${...} interpolation";
		return -1;
	}
	end = at ? at : s + strlen(s);
	if (at) {
		if (strncmp(at + 1, "sha256:", 7) != 0 || strlen(at + 8) != 64 ||
		    strspn(at + 8, "0123456789abcdef") != 64) {
			*why = "the digest is not sha256: and 64 hex digits";
			return -1;
		}
		snprintf(r->digest, sizeof r->digest, "%s", at + 1);
	}
	slash = memrchr(s, '/', (size_t)(end - s));
	colon = memrchr(slash ? slash : s, ':', (size_t)(end - (slash ? slash : s)));
	r->name_len = (size_t)((colon ? colon : end) - s);
	if (colon) {
		n = (size_t)(end - colon - 1);
		if (n == 0 || n > 128 || !(isalnum((unsigned char)colon[1]) || colon[1] == '_')) {
			*why = "the tag is empty or does not start with a letter, digit or _";
			return -1;
		}
		for (i = 1; i <= n; i++)
			if (!isalnum((unsigned char)colon[i]) && !strchr("_.-", colon[i])) {
				*why = "the tag has a character other than letters, digits, _ . -";
				return -1;
			}
		snprintf(r->tag, sizeof r->tag, "%.*s", (int)n, colon + 1);
	}
	/* the first component is a registry when it has '.' or ':' or is localhost */
	slash = memchr(s, '/', r->name_len);
	if (slash && (memchr(s, '.', (size_t)(slash - s)) || memchr(s, ':', (size_t)(slash - s)) ||
		      (slash - s == 9 && strncmp(s, "localhost", 9) == 0))) {
		n = (size_t)(slash - s);
		if (n >= sizeof r->host || strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
						  "0123456789.-:") < n) {
			*why = "the registry is not HOST[:PORT]";
			return -1;
		}
		snprintf(r->host, sizeof r->host, "%.*s", (int)n, s);
		snprintf(r->repo, sizeof r->repo, "%.*s", (int)(r->name_len - n - 1), slash + 1);
	} else {
		snprintf(r->host, sizeof r->host, "docker.io");
		snprintf(r->repo, sizeof r->repo, "%s%.*s", slash ? "" : "library/", (int)r->name_len, s);
	}
	if (r->name_len >= sizeof r->repo || !repo_ok(r->repo)) {
		*why = "the repository is not lowercase letters and digits separated by . _ - /";
		return -1;
	}
	if (!strcmp(r->host, "index.docker.io") || !strcmp(r->host, "registry-1.docker.io"))
		snprintf(r->host, sizeof r->host, "docker.io");
	return 0;
}

/* ---- tags as versions ---- */

typedef struct tagv {
	int v;			/* written with a leading v */
	long n[IMG_NUMS];
	int nn;
	const char *suffix;	/* after the first '-' following the numbers; "" none */
} tagv;

static int tag_parse(const char *t, tagv *o)
{
	const char *p = t;

	memset(o, 0, sizeof *o);
	o->suffix = "";
	if (*p == 'v')
		o->v = 1, p++;
	while (o->nn < IMG_NUMS) {
		size_t k = strspn(p, "0123456789");

		if (k == 0 || k > 9)
			return -1;
		o->n[o->nn++] = strtol(p, NULL, 10);
		p += k;
		if (*p != '.')
			break;
		p++;
	}
	if (*p == '-' && p[1])
		o->suffix = p + 1;
	else if (*p)
		return -1;
	return 0;
}

static int tag_valid(const char *t)
{
	tagv x;

	return tag_parse(t, &x) == 0;
}

static int tag_cmp(const char *a, const char *b)
{
	tagv x, y;
	int i;

	if (tag_parse(a, &x) || tag_parse(b, &y))
		return strcmp(a, b);
	for (i = 0; i < IMG_NUMS; i++)
		if (x.n[i] != y.n[i])
			return x.n[i] < y.n[i] ? -1 : 1;
	return x.nn != y.nn ? x.nn - y.nn : strcmp(x.suffix, y.suffix);
}

static int tag_pre(const char *t)
{
	(void)t;
	return 0;	/* a suffix is a variant, and only the same one is a candidate */
}

/* As semver's kinds (below 1.0 the second number is the major one); a fourth number is a patch. */
static deps_kind tag_kind(const char *from, const char *to)
{
	tagv x, y;
	char a[64], b[64];

	if (tag_parse(from, &x) || tag_parse(to, &y))
		return DEPS_NONE;
	if (x.n[0] == y.n[0] && x.n[1] == y.n[1] && x.n[2] == y.n[2])
		return x.n[3] == y.n[3] ? DEPS_NONE : DEPS_PATCH;
	snprintf(a, sizeof a, "%ld.%ld.%ld", x.n[0], x.n[1], x.n[2]);
	snprintf(b, sizeof b, "%ld.%ld.%ld", y.n[0], y.n[1], y.n[2]);
	return deps_semver_kind(a, b);
}

static const deps_scheme scheme_tag = {
	.name = "image tag", .valid = tag_valid, .cmp = tag_cmp, .prerelease = tag_pre,
	.kind = tag_kind,
};

static int same_shape(const tagv *a, const tagv *b)
{
	return a->v == b->v && a->nn == b->nn && strcmp(a->suffix, b->suffix) == 0;
}

/* ---- compose files ---- */

static ops_code image_read(deps_ctx *c, deps_manifest *m, ops_error *err)
{
	const ops_yaml_node *svcs, *svc, *k, *v, *unused;
	ops_yaml *doc = NULL;
	ops_code rc;
	size_t i, j;

	if ((rc = ops_yaml_load_mem(m->rel, m->data, m->len, &doc, err)) != OPS_OK)
		return rc;
	svcs = ops_yaml_get(doc, ops_yaml_root(doc), "services");
	if (ops_yaml_type_of(svcs) != OPS_YAML_MAPPING) {
		rc = ops_error_set(err, OPS_EDATA, "%s: no services: mapping (not a compose file)",
				   m->rel);
		goto out;
	}
	for (i = 0; rc == OPS_OK && ops_yaml_pair(doc, svcs, i, &unused, &svc) == 0; i++) {
		/* each image: key the service itself has (merge keys are not read) */
		for (j = 0; ops_yaml_pair(doc, svc, j, &k, &v) == 0; j++) {
			const char *s = ops_yaml_scalar(v), *why = NULL;
			long line;
			img_ref r;
			deps_dep *d;
			char key[520];

			if (!ops_yaml_scalar(k) || strcmp(ops_yaml_scalar(k), "image") != 0)
				continue;
			line = ops_yaml_line(v ? v : k);
			if (!s || !*s) {
				rc = ops_error_set(err, OPS_EDATA, "%s:%ld: image: is not a string", m->rel,
						   line);
				break;
			}
			if (ref_parse(s, &r, &why) != 0 && !strchr(s, '$')) {
				rc = ops_error_set(err, OPS_EDATA, "%s:%ld: '%s' is not an image reference "
						   "(%s)", m->rel, line, s, why);
				break;
			}
			if (strchr(s, '$'))
				snprintf(key, sizeof key, "%s", s);
			else
				snprintf(key, sizeof key, "%s/%s", r.host, r.repo);
			if (!(d = deps_add(c, m, line, s, key, r.tag[0] ? r.tag : NULL, s))) {
				rc = ops_error_oom(err);
				break;
			}
			if (strchr(s, '$'))
				deps_refuse(d, "%s (compose resolves it when it runs; deps does not)", why);
			else if (!r.tag[0])
				deps_refuse(d, "pinned by digest only: no tag to follow");
			else
				d->rewritable = 1;
		}
	}
out:
	ops_yaml_free(doc);
	return rc;
}

/* ---- the registry ---- */

/* URL of host's registry (no trailing '/') into out. */
static ops_code reg_base(deps_ctx *c, const char *host, char *out, size_t size, ops_error *err)
{
	char **list = ops_config_list(deps_cfg(c), "deps.image_registries"), **e;
	ops_code rc = OPS_OK;
	int found = 0;

	for (e = list; e && *e && !found && rc == OPS_OK; e++) {
		const char *eq = strchr(*e, '=');
		size_t n;

		if (!eq || eq == *e || (strncmp(eq + 1, "http://", 7) && strncmp(eq + 1, "https://", 8))) {
			rc = ops_error_set(err, OPS_ECONFIG, "deps.image_registries: '%s' is not "
					   "HOST=http(s)://URL", *e);
			break;
		}
		if ((size_t)(eq - *e) == strlen(host) && !strncmp(*e, host, strlen(host))) {
			n = strlen(eq + 1);
			while (n && eq[n] == '/')
				n--;
			snprintf(out, size, "%.*s", (int)n, eq + 1);
			found = 1;
		}
	}
	ops_strv_free(list);
	if (rc == OPS_OK && !found)
		snprintf(out, size, "https://%s", strcmp(host, "docker.io") ? host : "registry-1.docker.io");
	return rc;
}

/* "Basic B64" for host from deps.registry_auth_file into out; "" when none. */
static ops_code reg_creds(deps_ctx *c, const char *host, char *out, size_t size, ops_error *err)
{
	const char *file = ops_config_get(deps_cfg(c), "deps.registry_auth_file");
	char *text = NULL;
	size_t len = 0;
	cJSON *j, *a, *e = NULL;
	const char *auth, *user, *pass;
	ops_code rc = OPS_OK;

	*out = '\0';
	if (!file || !*file)
		return OPS_OK;
	if ((rc = ops_read_file(file, 1u << 20, &text, &len, err)) != OPS_OK) {
		ops_error_prefix(err, "deps.registry_auth_file");
		err->code = rc == OPS_EPERM ? rc : OPS_ECONFIG;
		return err->code;
	}
	j = cJSON_ParseWithLength(text, len);
	explicit_bzero(text, len);
	free(text);
	a = cJSON_GetObjectItemCaseSensitive(j, "auths");
	if (!cJSON_IsObject(j) || (a && !cJSON_IsObject(a))) {
		cJSON_Delete(j);
		return ops_error_set(err, OPS_ECONFIG, "deps.registry_auth_file: '%s' is not a docker "
				     "config.json (an object with auths)", file);
	}
	e = cJSON_GetObjectItemCaseSensitive(a, host);
	if (!e && !strcmp(host, "docker.io"))
		e = cJSON_GetObjectItemCaseSensitive(a, "https://index.docker.io/v1/");
	auth = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "auth"));
	user = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "username"));
	pass = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "password"));
	if (auth && *auth && strlen(auth) + 7 < size &&
	    strspn(auth, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") ==
	    strlen(auth)) {
		snprintf(out, size, "Basic %s", auth);
	} else if (user && pass && (strlen(user) + strlen(pass) + 1) * 4 / 3 + 12 < size) {
		char up[1024];
		int n = snprintf(up, sizeof up, "%s:%s", user, pass);

		if (n > 0 && (size_t)n < sizeof up) {
			memcpy(out, "Basic ", 6);
			EVP_EncodeBlock((unsigned char *)out + 6, (const unsigned char *)up, n);
		}
		explicit_bzero(up, sizeof up);
	} else if (e) {
		rc = ops_error_set(err, OPS_ECONFIG, "deps.registry_auth_file: the entry for %s has "
				   "no auth nor username and password", host);
	}
	if (j) {
		/* the secrets' copies in the tree */
		cJSON *s;

		cJSON_ArrayForEach(s, e)
			if (cJSON_IsString(s))
				explicit_bzero(s->valuestring, strlen(s->valuestring));
	}
	cJSON_Delete(j);
	return rc;
}

/* The value of name="..." in a WWW-Authenticate challenge into out. */
static void challenge_param(const char *h, const char *name, char *out, size_t size)
{
	size_t n = strlen(name);
	const char *p = h;

	*out = '\0';
	while ((p = strstr(p, name))) {
		if ((p == h || p[-1] == ' ' || p[-1] == ',') && p[n] == '=' && p[n + 1] == '"') {
			const char *q = strchr(p + n + 2, '"');

			if (q)
				snprintf(out, size, "%.*s", (int)(q - (p + n + 2)), p + n + 2);
			return;
		}
		p += n;
	}
}

/* A Bearer token from the challenge's realm, with creds when any: "Bearer T" into out. */
static ops_code bearer(deps_ctx *c, const char *chal, const char *repo, const char *creds,
		       const char *what, char *out, size_t size, ops_error *err)
{
	char realm[1024], service[256], scope[512], *url = NULL, *es = NULL, *esc = NULL;
	char auth[2100];	/* "Authorization: " and creds (up to 2048) */
	const char *headers[] = {"Accept: application/json", creds[0] ? auth : NULL, NULL};
	ops_http_req req = {0};
	ops_http_resp resp = {0};
	cJSON *j = NULL;
	const char *tok;
	ops_code rc;

	challenge_param(chal, "realm", realm, sizeof realm);
	challenge_param(chal, "service", service, sizeof service);
	challenge_param(chal, "scope", scope, sizeof scope);
	if (!scope[0])
		snprintf(scope, sizeof scope, "repository:%s:pull", repo);
	if (strncmp(realm, "https://", 8) && strncmp(realm, "http://", 7))
		return ops_error_set(err, OPS_EFAIL, "%s: the registry's token realm '%s' is not a "
				     "URL", what, realm);
	snprintf(auth, sizeof auth, "Authorization: %s", creds);
	if (!(es = ops_http_escape(service, "")) || !(esc = ops_http_escape(scope, "")) ||
	    asprintf(&url, "%s%cservice=%s&scope=%s", realm, strchr(realm, '?') ? '&' : '?', es,
		     esc) < 0) {
		free(es);
		free(esc);
		return ops_error_oom(err);
	}
	free(es);
	free(esc);
	req.url = url;
	req.headers = headers;
	req.what = what;
	req.secret_url = 1;
	rc = ops_http_request(c->http, &req, &resp, err);
	explicit_bzero(auth, sizeof auth);
	free(url);
	if (rc == OPS_OK && (resp.status == 401 || resp.status == 403))
		rc = ops_error_set(err, OPS_EPERM, "%s: the token service refused the credentials "
				   "(HTTP %ld)", what, resp.status);
	else if (rc == OPS_OK && (resp.status < 200 || resp.status > 299))
		rc = ops_error_set(err, OPS_EUNAVAIL, "%s: the token service answered HTTP %ld", what,
				   resp.status);
	if (rc == OPS_OK) {
		j = cJSON_Parse(resp.body ? resp.body : "");
		tok = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "token"));
		if (!tok)
			tok = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "access_token"));
		if (!tok || strlen(tok) + 8 >= size)
			rc = ops_error_set(err, OPS_EDATA, "%s: the token service's answer has no token",
					   what);
		else
			snprintf(out, size, "Bearer %s", tok);
		if (tok)
			explicit_bzero((char *)tok, strlen(tok));
		cJSON_Delete(j);
	}
	if (resp.body)
		explicit_bzero(resp.body, resp.len);
	ops_http_resp_release(&resp);
	return rc;
}

/*
 * method on the registry of r, path below /v2/REPO/ (or a full URL from a
 * Link header); authenticates once when the registry asks.  resp is the
 * 2xx answer; 404 OPS_EFAIL, 401/403 OPS_EPERM, other answers OPS_EUNAVAIL.
 */
static ops_code reg_request(deps_ctx *c, const img_ref *r, const char *method, const char *path,
			    const char *accept, ops_http_resp *resp, ops_error *err)
{
	char base[1024], what[600], creds[2048] = "", authz[4096] = "", acc[400], hdr[4200];
	char *url = NULL;
	const char *headers[3];
	ops_http_req req = {0};
	ops_code rc;
	int attempt;

	snprintf(what, sizeof what, "image %s/%s in the registry", r->host, r->repo);
	if ((rc = reg_base(c, r->host, base, sizeof base, err)) != OPS_OK ||
	    (rc = deps_http_client(c, err)) != OPS_OK)
		return rc;
	if (!strncmp(path, "http://", 7) || !strncmp(path, "https://", 8))
		url = strdup(path);
	else if (path[0] == '/' && asprintf(&url, "%s%s", base, path) < 0)
		url = NULL;
	else if (path[0] != '/' && asprintf(&url, "%s/v2/%s/%s", base, r->repo, path) < 0)
		url = NULL;
	if (!url)
		return ops_error_oom(err);
	snprintf(acc, sizeof acc, "Accept: %s", accept);
	for (attempt = 0; attempt < 2; attempt++) {
		const char *chal;

		headers[0] = acc;
		headers[1] = authz[0] ? hdr : NULL;
		headers[2] = NULL;
		snprintf(hdr, sizeof hdr, "Authorization: %s", authz);
		req.method = method;
		req.url = url;
		req.headers = headers;
		req.what = what;
		ops_http_resp_release(resp);
		rc = ops_http_request(c->http, &req, resp, err);
		explicit_bzero(hdr, sizeof hdr);
		if (rc != OPS_OK || resp->status != 401 || attempt)
			break;
		chal = ops_http_resp_header(resp, "WWW-Authenticate");
		if ((rc = reg_creds(c, r->host, creds, sizeof creds, err)) != OPS_OK)
			break;
		if (chal && !strncasecmp(chal, "Bearer", 6))
			rc = bearer(c, chal, r->repo, creds, what, authz, sizeof authz, err);
		else if (creds[0])
			snprintf(authz, sizeof authz, "%s", creds);
		else
			break;
		if (rc != OPS_OK)
			break;
	}
	explicit_bzero(creds, sizeof creds);
	explicit_bzero(authz, sizeof authz);
	free(url);
	if (rc != OPS_OK)
		return rc;
	if (resp->status == 401 || resp->status == 403) {
		rc = ops_error_set(err, OPS_EPERM, "%s: the registry %s refused access (HTTP %ld)", what,
				   r->host, resp->status);
		ops_error_hint(err, "Give deps.registry_auth_file a docker config.json with an auths "
			       "entry for %s.", r->host);
		return rc;
	}
	if (resp->status == 404)
		return ops_error_set(err, OPS_EFAIL, "%s: not found (HTTP 404)", what);
	if (resp->status < 200 || resp->status > 299)
		return ops_error_set(err, OPS_EUNAVAIL, "%s: the registry answered HTTP %ld", what,
				     resp->status);
	return OPS_OK;
}

/* The digest tag points at now, into out. */
static ops_code tag_digest(deps_ctx *c, const img_ref *r, const char *tag, char *out, size_t size,
			   ops_error *err)
{
	ops_http_resp resp = {0};
	char path[300];
	const char *dg;
	ops_code rc;

	snprintf(path, sizeof path, "manifests/%s", tag);
	rc = reg_request(c, r, "HEAD", path, manifest_accept, &resp, err);
	dg = rc == OPS_OK ? ops_http_resp_header(&resp, "Docker-Content-Digest") : NULL;
	if (rc == OPS_OK && !dg) {
		/* no header: the digest is the manifest's own sha256 */
		char hex[65];

		rc = reg_request(c, r, "GET", path, manifest_accept, &resp, err);
		if (rc == OPS_OK) {
			ops_sha256_hex(resp.body ? resp.body : "", resp.len, hex);
			snprintf(out, size, "sha256:%s", hex);
		}
	} else if (rc == OPS_OK) {
		snprintf(out, size, "%s", dg);
	}
	ops_http_resp_release(&resp);
	return rc;
}

/* The next page's URL of a Link header (<...>; rel="next"), or NULL. */
static char *link_next(const char *link)
{
	const char *lt, *gt;

	if (!link || !strstr(link, "rel=\"next\"") || !(lt = strchr(link, '<')) ||
	    !(gt = strchr(lt, '>')))
		return NULL;
	return strndup(lt + 1, (size_t)(gt - lt - 1));
}

static ops_code image_versions(deps_ctx *c, deps_dep *d, char ***out, ops_error *err)
{
	img_ref r;
	tagv cur;
	const char *why;
	char **list = NULL, *next = NULL;
	size_t n = 0;
	ops_code rc = OPS_OK;
	int page;

	*out = NULL;
	if (!d->current || ref_parse(d->spec, &r, &why) || tag_parse(d->current, &cur))
		return (*out = calloc(1, sizeof **out)) ? OPS_OK : ops_error_oom(err);
	for (page = 0; page < IMG_TAG_PAGES && rc == OPS_OK; page++) {
		ops_http_resp resp = {0};
		cJSON *j, *t;
		char *path = next ? next : strdup("tags/list?n=" IMG_TAG_PAGE);
		char **grown;

		if (!path)
			rc = ops_error_oom(err);
		else
			rc = reg_request(c, &r, "GET", path, "application/json", &resp, err);
		free(path);
		next = NULL;
		if (rc != OPS_OK) {
			ops_http_resp_release(&resp);
			break;
		}
		j = cJSON_Parse(resp.body ? resp.body : "");
		t = cJSON_GetObjectItemCaseSensitive(j, "tags");
		if (!cJSON_IsObject(j) || (t && !cJSON_IsArray(t) && !cJSON_IsNull(t))) {
			rc = ops_error_set(err, OPS_EDATA, "the registry's tag list for %s is not JSON "
					   "with tags", d->key);
		} else if ((grown = realloc(list, (n + (size_t)cJSON_GetArraySize(t) + 1) * sizeof *list))) {
			cJSON *e;

			list = grown;
			cJSON_ArrayForEach(e, t) {
				tagv x;

				if (cJSON_IsString(e) && !tag_parse(e->valuestring, &x) && same_shape(&x, &cur))
					list[n++] = strdup(e->valuestring);
			}
			list[n] = NULL;
			next = link_next(ops_http_resp_header(&resp, "Link"));
		} else {
			rc = ops_error_oom(err);
		}
		cJSON_Delete(j);
		ops_http_resp_release(&resp);
		if (!next)
			break;
	}
	free(next);
	if (rc != OPS_OK) {
		deps_strv_free(list);
		return rc;
	}
	if (!list && !(list = calloc(1, sizeof *list)))
		return ops_error_oom(err);
	*out = list;
	return OPS_OK;
}

/* A pinned digest that its tag no longer points at, when no newer tag is allowed. */
static ops_code image_settle(deps_ctx *c, deps_dep *d, ops_error *err)
{
	img_ref r;
	const char *why;
	char now[100];
	ops_code rc;

	if (!d->current || ref_parse(d->spec, &r, &why) || !r.digest[0] || d->allowed) {
		if (d->current && !tag_valid(d->current) && !d->why_not && !strchr(d->spec, '@'))
			deps_refuse(d, "the tag '%s' is not a version and no digest is pinned: "
				    "nothing to compare", d->current);
		return OPS_OK;
	}
	if ((rc = tag_digest(c, &r, d->current, now, sizeof now, err)) != OPS_OK)
		return rc;
	if (!strcmp(now, r.digest))
		return OPS_OK;
	if (!(d->allowed = strdup(d->current)) || !(d->update_data = cJSON_CreateObject()) ||
	    !cJSON_AddStringToObject(d->update_data, "digest", now))
		return ops_error_oom(err);
	d->kind = DEPS_DIGEST;
	free(d->why_not);
	if (asprintf(&d->why_not, "the tag %s now points at %s, not the pinned %s", d->current, now,
		     r.digest) < 0)
		d->why_not = NULL;
	return OPS_OK;
}

static ops_code image_prepare(deps_ctx *c, deps_dep *d, ops_error *err)
{
	img_ref r;
	const char *why;
	char dg[100];
	ops_code rc;

	if (ref_parse(d->spec, &r, &why) || !r.digest[0] || d->update_data)
		return OPS_OK;
	if ((rc = tag_digest(c, &r, d->update_to, dg, sizeof dg, err)) != OPS_OK) {
		if (rc != OPS_EFAIL)
			return rc;
		deps_refuse(d, "%s", err->message);
		ops_error_clear(err);
		return OPS_OK;
	}
	if (!(d->update_data = cJSON_CreateObject()) ||
	    !cJSON_AddStringToObject(d->update_data, "digest", dg))
		return ops_error_oom(err);
	return OPS_OK;
}

/* Each updated image's text on its line: NAME:NEWTAG[@NEWDIGEST]. */
static ops_code image_rewrite(deps_ctx *c, deps_manifest *m, ops_error *err)
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
		const char *at, *eol, *v, *why, *dg;
		img_ref r;

		if (d->m != m || !d->update_to || d->refused || ref_parse(d->spec, &r, &why))
			continue;
		dg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d->update_data, "digest"));
		at = deps_line_start(m, d->line);
		eol = at ? strchr(at, '\n') : NULL;
		if (!eol)
			eol = m->data + m->len;
		/* after "image:" when it is on the line, else from the line's start */
		if (at && (v = strstr(at, "image")) && v < eol && (v = strchr(v, ':')) && v < eol)
			at = v + 1;
		v = at ? strstr(at, d->spec) : NULL;
		if (!v || v + strlen(d->spec) > eol || (size_t)(v - m->data) < pos ||
		    (r.digest[0] && !dg)) {
			deps_refuse(d, "its image in %s:%ld could not be found to rewrite", m->rel,
				    d->line);
			continue;
		}
		fwrite(m->data + pos, 1, (size_t)(v - (m->data + pos)), f);
		fprintf(f, "%.*s:%s%s%s", (int)r.name_len, d->spec, d->update_to, r.digest[0] ? "@" : "",
			r.digest[0] ? dg : "");
		pos = (size_t)(v + strlen(d->spec) - m->data);
		changed = 1;
	}
	return deps_rewrite_done(m, f, &out, &len, pos, changed, err);
}

const deps_eco deps_eco_image = {
	/* no OSV ecosystem: an image's advisories are its OS packages' (scan -t container) */
	.name = "container-image",
	.label = "image",
	.scheme = &scheme_tag,
	.claims = image_claims,
	.read = image_read,
	.versions = image_versions,
	.prepare = image_prepare,
	.rewrite = image_rewrite,
	.settle = image_settle,
};
