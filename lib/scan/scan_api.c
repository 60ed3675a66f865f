/*
 * scan -t api: the configured API (scan.api_url) as a client sees it, over
 * core/http: TLS (protocol floor, certificate expiry, chain and host name),
 * the plain-HTTP twin's redirect, security headers, CORS with credentials,
 * version banners, endpoints that must require authentication, and what the
 * health endpoint gives away.
 *
 * core/http always verifies the peer, so a certificate that does not verify
 * is a finding and the end of the checks that need an answer: there is no
 * switch to look past it, on purpose.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "opsmaint/http.h"
#include "scan/scan_internal.h"

/* Sent with the main request: an API that echoes it back allows any origin. */
#define PROBE_ORIGIN "https://opsctl-scan.invalid"

struct api {
	scan_ctx *s;
	const char *url;	/* scan.api_url */
	ops_http_opts o;
};

static ops_code add(struct api *a, const char *rule, int sev, const char *target,
		    const char *evidence, const char *fp_extra, ops_error *err)
{
	scan_finding f = {0};

	f.rule = rule;
	f.use_rule_severity = sev < 0;
	f.severity = sev < 0 ? OPS_SEV_INFO : (ops_severity)sev;
	f.target = target;
	f.evidence = evidence;
	f.fp_extra = fp_extra;
	return scan_add(a->s, &f, err);
}

/* GET url with the scan's options (and tls_legacy_only when legacy); resp always initialised. */
static ops_code get(struct api *a, const char *url, const char *const *headers, int legacy,
		    ops_http_resp *resp, ops_error *err)
{
	ops_http_opts o = a->o;
	ops_http_req req = {0};
	ops_http *h = NULL;
	ops_code rc;

	memset(resp, 0, sizeof *resp);
	o.tls_legacy_only = legacy;
	o.cert_expiry = !legacy;
	if ((rc = ops_http_new(&o, &h, err)) != OPS_OK)
		return rc;
	req.url = url;
	req.headers = headers;
	rc = ops_http_request(h, &req, resp, err);
	ops_http_free(h);
	return rc;
}

/* base + path with one '/' between them; NULL when out of memory. */
static char *join(const char *base, const char *path)
{
	size_t bl = strlen(base);
	char *out;

	while (bl > 0 && base[bl - 1] == '/')
		bl--;
	while (*path == '/')
		path++;
	if (!(out = malloc(bl + strlen(path) + 2)))
		return NULL;
	sprintf(out, "%.*s/%s", (int)bl, base, path);
	return out;
}

static int contains_ci(const char *hay, const char *needle)
{
	return hay && strcasestr(hay, needle) != NULL;
}

/* ---- TLS ---- */

/* The rule for a certificate core/http refused, from libcurl's (OpenSSL's) words. */
static const char *tls_rule(const char *reason)
{
	if (contains_ci(reason, "expired"))
		return "api.tls.cert-expired";
	if (contains_ci(reason, "subject name") || contains_ci(reason, "host name") ||
	    contains_ci(reason, "hostname") || contains_ci(reason, "does not match"))
		return "api.tls.hostname-mismatch";
	if (contains_ci(reason, "self-signed") || contains_ci(reason, "self signed") ||
	    contains_ci(reason, "issuer") || contains_ci(reason, "chain") ||
	    contains_ci(reason, "verify"))
		return "api.tls.untrusted-chain";
	return "api.tls.handshake-failed";
}

static ops_code check_expiry(struct api *a, time_t expiry, ops_error *err)
{
	long warn = ops_config_int(scan_cfg(a->s), "scan.cert_warn_days");
	long crit = ops_config_int(scan_cfg(a->s), "scan.cert_crit_days");
	double days;
	char ev[160], when[32];
	struct tm tm;

	if (!expiry)
		return OPS_OK;
	days = difftime(expiry, time(NULL)) / 86400.0;
	if (days >= (double)warn)
		return OPS_OK;
	gmtime_r(&expiry, &tm);
	strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", &tm);
	snprintf(ev, sizeof ev, "notAfter %s, in %.0f days (warn %ld, critical %ld)", when,
		 days < 0 ? 0 : days, warn, crit);
	return add(a, "api.tls.cert-expiring", days < (double)crit ? OPS_SEV_HIGH : OPS_SEV_MEDIUM,
		   a->url, ev, NULL, err);
}

/* A second connection that offers only TLS 1.0 and 1.1: any answer is a finding. */
static ops_code check_legacy(struct api *a, ops_error *err)
{
	ops_http_resp r;
	ops_error e = {0};
	ops_code rc;

	rc = get(a, a->url, NULL, 1, &r, &e);
	ops_http_resp_release(&r);
	if (rc != OPS_OK)
		return OPS_OK;	/* refused: as it should be */
	return add(a, "api.tls.legacy-protocol", -1, a->url,
		   "a client offering only TLS 1.0 and 1.1 completed the handshake", NULL, err);
}

/* The http:// twin: scan.api_http_url, else api_url's host on port 80. */
static char *http_twin(const char *https_url, const ops_config *cfg)
{
	const char *set = ops_config_get(cfg, "scan.api_http_url"), *host, *end;
	char *out;

	if (set && *set)
		return strdup(set);
	host = https_url + strlen("https://");
	end = host + strcspn(host, "/?#");
	if (*host == '[') {	/* an IPv6 literal: its port follows ']' */
		const char *rb = memchr(host, ']', (size_t)(end - host));

		end = rb ? rb + 1 : end;
	} else {
		const char *colon = memchr(host, ':', (size_t)(end - host));

		end = colon ? colon : end;
	}
	if (!(out = malloc((size_t)(end - host) + 9)))
		return NULL;
	sprintf(out, "http://%.*s/", (int)(end - host), host);
	return out;
}

static ops_code check_redirect(struct api *a, ops_error *err)
{
	char *twin = http_twin(a->url, scan_cfg(a->s));
	ops_http_resp r;
	ops_error e = {0};
	ops_code rc;
	const char *loc;
	char ev[300];

	if (!twin)
		return ops_error_oom(err);
	rc = get(a, twin, NULL, 0, &r, &e);
	if (rc != OPS_OK) {
		/* Nothing answers plain HTTP there: nothing to redirect. */
		ops_http_resp_release(&r);
		free(twin);
		return e.code == OPS_ECONFIG ? ops_error_set(err, OPS_ECONFIG, "scan.api_http_url: %s", e.message)
					     : OPS_OK;
	}
	loc = ops_http_resp_header(&r, "Location");
	rc = OPS_OK;
	if (!(r.status >= 300 && r.status < 400 && loc && strncasecmp(loc, "https://", 8) == 0)) {
		if (r.status >= 300 && r.status < 400)
			snprintf(ev, sizeof ev, "HTTP %ld to '%.200s'", r.status, loc ? loc : "");
		else
			snprintf(ev, sizeof ev, "HTTP %ld over plain HTTP, no redirect", r.status);
		rc = add(a, "api.tls.no-https-redirect", -1, twin, ev, NULL, err);
	}
	ops_http_resp_release(&r);
	free(twin);
	return rc;
}

/* ---- headers ---- */

/* A Server value that names a version: a digit after a '/' or a space ("nginx/1.18.0"). */
static int has_version(const char *v)
{
	const char *p;

	for (p = v; p && *p; p++)
		if ((*p == '/' || *p == ' ') && isdigit((unsigned char)p[1]))
			return 1;
	return 0;
}

static ops_code check_headers(struct api *a, const ops_http_resp *r, int https, ops_error *err)
{
	const char *v, *csp = ops_http_resp_header(r, "Content-Security-Policy");
	const char *acao = ops_http_resp_header(r, "Access-Control-Allow-Origin");
	const char *acac = ops_http_resp_header(r, "Access-Control-Allow-Credentials");
	char ev[300];
	ops_code rc = OPS_OK;

	if (https && !ops_http_resp_header(r, "Strict-Transport-Security"))
		rc = add(a, "api.headers.no-hsts", -1, a->url, "no Strict-Transport-Security header", NULL, err);
	v = ops_http_resp_header(r, "X-Content-Type-Options");
	if (rc == OPS_OK && !(v && strcasecmp(v, "nosniff") == 0)) {
		snprintf(ev, sizeof ev, v ? "X-Content-Type-Options: %.200s" : "no X-Content-Type-Options header", v);
		rc = add(a, "api.headers.no-content-type-options", -1, a->url, ev, NULL, err);
	}
	if (rc == OPS_OK && !csp)
		rc = add(a, "api.headers.no-csp", -1, a->url, "no Content-Security-Policy header", NULL, err);
	if (rc == OPS_OK && !ops_http_resp_header(r, "X-Frame-Options") && !contains_ci(csp, "frame-ancestors"))
		rc = add(a, "api.headers.no-frame-options", -1, a->url,
			 "neither X-Frame-Options nor a CSP frame-ancestors directive", NULL, err);
	if (rc == OPS_OK && acao && acac && strcasecmp(acac, "true") == 0 &&
	    (strcmp(acao, "*") == 0 || strcmp(acao, PROBE_ORIGIN) == 0)) {
		snprintf(ev, sizeof ev, "Access-Control-Allow-Origin: %s%s with Access-Control-Allow-Credentials: true",
			 strcmp(acao, "*") == 0 ? "*" : "(the Origin sent, echoed)", "");
		rc = add(a, "api.cors.wildcard-credentials", -1, a->url, ev, NULL, err);
	}
	v = ops_http_resp_header(r, "Server");
	if (rc == OPS_OK && v && has_version(v)) {
		snprintf(ev, sizeof ev, "Server: %.200s", v);
		rc = add(a, "api.headers.version-banner", -1, a->url, ev, "Server", err);
	}
	v = ops_http_resp_header(r, "X-Powered-By");
	if (rc == OPS_OK && v) {
		snprintf(ev, sizeof ev, "X-Powered-By: %.200s", v);
		rc = add(a, "api.headers.version-banner", -1, a->url, ev, "X-Powered-By", err);
	}
	return rc;
}

/* ---- endpoints ---- */

static ops_code check_auth(struct api *a, ops_error *err)
{
	char **paths = ops_config_list(scan_cfg(a->s), "scan.api_auth_endpoints");
	ops_code rc = OPS_OK;
	size_t i;

	for (i = 0; paths && paths[i] && rc == OPS_OK; i++) {
		char *url = join(a->url, paths[i]), what[300], ev[64];
		ops_http_resp r;
		ops_error e = {0};

		if (!url) {
			rc = ops_error_oom(err);
			break;
		}
		if (get(a, url, NULL, 0, &r, &e) != OPS_OK) {
			snprintf(what, sizeof what, "the API endpoint %.250s", paths[i]);
			rc = scan_unreachable(a->s, "api", what, &e, err);
		} else if (r.status >= 200 && r.status < 300) {
			snprintf(ev, sizeof ev, "HTTP %ld without credentials", r.status);
			rc = add(a, "api.auth.unauthenticated", -1, url, ev, NULL, err);
		}
		ops_http_resp_release(&r);
		free(url);
	}
	ops_strv_free(paths);
	return rc;
}

/* What a health answer gives away, one finding per kind (fp_extra: the kind). */
struct leaks {
	char secret[300], version[300], host[300];
};

static void note(char *buf, size_t size, const char *item)
{
	size_t n = strlen(buf);

	if (n + 2 >= size)
		return;
	snprintf(buf + n, size - n, "%s%s", n ? ", " : "", item);
}

static int key_has(const char *key, const char *const *words)
{
	for (; *words; words++)
		if (contains_ci(key, *words))
			return 1;
	return 0;
}

static void walk_json(const cJSON *j, struct leaks *l)
{
	static const char *const secret_words[] = {"password", "passwd", "secret", "token",
						   "api_key", "apikey", "private_key", "dsn",
						   "connection_string", NULL};
	static const char *const version_words[] = {"version", NULL};
	static const char *const host_words[] = {"hostname", "host", "node", "server_name", NULL};
	const cJSON *c;

	cJSON_ArrayForEach(c, j) {
		const char *k = c->string;
		char item[200];

		if (k && key_has(k, secret_words) && !cJSON_IsObject(c) && !cJSON_IsArray(c)) {
			const char *v = cJSON_IsString(c) ? c->valuestring : "";
			char red[64];

			scan_redact(v, strlen(v), red, sizeof red);
			snprintf(item, sizeof item, "%.60s: %s", k, *v ? red : "(not a string)");
			note(l->secret, sizeof l->secret, item);
		} else if (k && cJSON_IsString(c) && key_has(k, version_words)) {
			snprintf(item, sizeof item, "%.60s: %.60s", k, c->valuestring);
			note(l->version, sizeof l->version, item);
		} else if (k && cJSON_IsString(c) && key_has(k, host_words)) {
			snprintf(item, sizeof item, "%.60s: %.60s", k, c->valuestring);
			note(l->host, sizeof l->host, item);
		}
		if (cJSON_IsObject(c) || cJSON_IsArray(c))
			walk_json(c, l);
	}
}

/* A stack trace's first line in text: Python, Java, Go, Node. */
static const char *stack_trace(const char *body)
{
	static const char *const marks[] = {"Traceback (most recent call last)", "\tat java.",
					    "Exception in thread", "goroutine ", "at Object.<anonymous>",
					    "\\tat java.", NULL};
	size_t i;

	for (i = 0; body && marks[i]; i++)
		if (strstr(body, marks[i]))
			return marks[i];
	return NULL;
}

static ops_code check_health(struct api *a, ops_error *err)
{
	const char *path = ops_config_get(scan_cfg(a->s), "scan.api_health_path");
	char *url;
	ops_http_resp r;
	ops_error e = {0};
	ops_code rc = OPS_OK;
	struct leaks l;

	if (!path || !*path)
		return OPS_OK;
	if (!(url = join(a->url, path)))
		return ops_error_oom(err);
	memset(&l, 0, sizeof l);
	if (get(a, url, NULL, 0, &r, &e) != OPS_OK) {
		rc = scan_unreachable(a->s, "api", "the API's health endpoint", &e, err);
	} else if (r.body) {
		cJSON *j = cJSON_ParseWithLength(r.body, r.len);
		const char *trace = stack_trace(r.body);
		char ev[400];

		if (j)
			walk_json(j, &l);
		cJSON_Delete(j);
		if (trace) {
			snprintf(ev, sizeof ev, "a stack trace ('%s')", trace[0] == '\\' ? trace + 2 : trace);
			rc = add(a, "api.health.leak", -1, url, ev, "stack-trace", err);
		}
		if (rc == OPS_OK && *l.secret) {
			snprintf(ev, sizeof ev, "password or secret fields: %s", l.secret);
			rc = add(a, "api.health.leak", -1, url, ev, "secret", err);
		}
		if (rc == OPS_OK && *l.version) {
			snprintf(ev, sizeof ev, "versions: %s", l.version);
			rc = add(a, "api.health.leak", -1, url, ev, "version", err);
		}
		if (rc == OPS_OK && *l.host) {
			snprintf(ev, sizeof ev, "host names: %s", l.host);
			rc = add(a, "api.health.leak", -1, url, ev, "hostname", err);
		}
	}
	ops_http_resp_release(&r);
	free(url);
	return rc;
}

ops_code scan_api(scan_ctx *s, ops_error *err)
{
	const ops_config *cfg = scan_cfg(s);
	const char *const headers[] = {"Origin: " PROBE_ORIGIN, NULL};
	const char *ca = ops_config_get(cfg, "scan.api_ca_file");
	struct api a;
	ops_http_resp r;
	ops_error e = {0};
	ops_code rc;
	int https;
	double t = (double)ops_config_int(cfg, "scan.api_timeout");

	memset(&a, 0, sizeof a);
	a.s = s;
	a.url = ops_config_get(cfg, "scan.api_url");
	if (!a.url || !*a.url) {
		/* -t all on a host without an API: nothing of this type to check. */
		if (scan_req(s)->types == 0)
			return OPS_OK;
		return ops_error_set(err, OPS_ECONFIG, "scan.api_url is not set: the API to check");
	}
	https = strncasecmp(a.url, "https://", 8) == 0;
	if (!https && strncasecmp(a.url, "http://", 7) != 0)
		return ops_error_set(err, OPS_ECONFIG, "scan.api_url '%s' is not an http:// or https:// URL",
				     a.url);
	{
		const char *auth = a.url + (https ? 8 : 7);

		/* The URL is every finding's target: credentials in it would be in the results. */
		if (memchr(auth, '@', strcspn(auth, "/?#")))
			return ops_error_set(err, OPS_ECONFIG,
					     "scan.api_url holds credentials (user:password@): give the bare URL");
	}
	ops_http_opts_init(&a.o);
	a.o.name = "scan api";
	a.o.connect_timeout = t;
	a.o.timeout = t;
	a.o.stall_timeout = t;
	a.o.retries = 0;
	a.o.max_body = 1024 * 1024;
	a.o.ca_file = ca && *ca ? ca : NULL;

	if (get(&a, a.url, headers, 0, &r, &e) != OPS_OK) {
		int tls = r.failure == OPS_HTTP_F_TLS;
		const char *rule = tls_rule(*r.reason ? r.reason : e.message);

		ops_http_resp_release(&r);
		if (e.code == OPS_ECONFIG)
			return ops_error_set(err, OPS_ECONFIG, "scan.api_url: %s", e.message);
		if (!tls)
			return scan_unreachable(s, "api", "the API", &e, err);
		rc = add(&a, rule, -1, a.url, e.message, NULL, err);
		/* The plain-HTTP twin does not depend on the certificate. */
		return rc == OPS_OK ? check_redirect(&a, err) : rc;
	}
	rc = https ? check_expiry(&a, r.cert_expiry, err)
		   : add(&a, "api.tls.no-https", -1, a.url, "scan.api_url is http://", NULL, err);
	if (rc == OPS_OK)
		rc = check_headers(&a, &r, https, err);
	ops_http_resp_release(&r);
	if (rc == OPS_OK && https)
		rc = check_legacy(&a, err);
	if (rc == OPS_OK && https)
		rc = check_redirect(&a, err);
	if (rc == OPS_OK)
		rc = check_auth(&a, err);
	if (rc == OPS_OK)
		rc = check_health(&a, err);
	return rc;
}
