/*
 * The components behind an HTTP endpoint: api (guide 000 section 8.5
 * health-check.sh's curl of /health, guide 003's "API availability") and llm
 * (the OpenAI-compatible or Ollama endpoint the chatbot answers with).
 *
 * Every request goes through core/http with retries off (a health check
 * reports what one request saw; retrying would hide a flaky endpoint and
 * stretch the run), its connect, whole and stall limits cut to the time the
 * engine leaves the component, and the body capped at health.max_body.  An
 * endpoint that does not answer, stalls, floods or fails TLS verification is
 * CRITICAL with the cause named; only a configuration that cannot be used
 * (a malformed URL, an unreadable CA file, no LLM key) is an error, which the
 * engine reports UNKNOWN.
 *
 * The LLM key is read from LLM_API_KEY, else OPENAI_API_KEY, else
 * health.llm_key_file (ops_secret_load: mode 0600 or refused); it goes only
 * into the Authorization header, which core/http redacts from every log line
 * and message, and is wiped once the requests are done.  URLs are shown as
 * origin and path: a query string or user information may be a credential.
 *
 * Each report has "url" (as shown), the perfdata labels with their values
 * (api_time, api_cert_days; llm_time, llm_error_rate: health_perf puts them
 * there), and api's "http_status", llm's "api", "samples", "failed",
 * "models" (how many the endpoint lists) and "model".
 *
 * Not done here: following redirects (a health endpoint that redirects is
 * answering 3xx, reported as such), or sending a completion to the model (it
 * costs money on every run; listing the models proves the key and the
 * server, and that the configured model is served).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "health_internal.h"
#include "opsmaint/clock.h"
#include "opsmaint/http.h"
#include "opsmaint/json.h"
#include "opsmaint/secret.h"

/* Where the engine's timeouts and caps come from, for both components. */
struct endpoint {
	const char *name;	/* "health 'api'", for core/http's log lines */
	const char *key;	/* the key of the URL, which errors name: "health.api_url" */
	const char *value;	/* its value as configured */
	const char *url;
	double limit;		/* seconds this request may take */
	size_t max_body;
	int https;
};

static int is_https(const char *url)
{
	return strncasecmp(url, "https://", 8) == 0;
}

/*
 * url as reports show it: scheme, host and path, without user information,
 * query or fragment (either may carry a token).  Newly allocated.
 */
static char *shown_url(const char *url)
{
	const char *sep = strstr(url, "://"), *auth, *host_end, *at, *end;
	char *out;
	size_t n;

	if (!sep)
		return strndup(url, strcspn(url, ":/?#"));
	auth = sep + 3;
	host_end = auth + strcspn(auth, "/?#");
	at = memchr(auth, '@', (size_t)(host_end - auth));
	end = host_end + strcspn(host_end, "?#");
	n = (size_t)(sep + 3 - url) + (size_t)(end - (at ? at + 1 : auth));
	out = malloc(n + 1);
	if (!out)
		return NULL;
	snprintf(out, n + 1, "%.*s%.*s", (int)(sep + 3 - url), url,
		 (int)(end - (at ? at + 1 : auth)), at ? at + 1 : auth);
	return out;
}

/*
 * Why a request got no answer, in a short clause for the status line:
 * "timed out after 5.0 s", "connection refused", "the certificate has
 * expired", "answer larger than 1048576 bytes".
 */
static void no_answer(const struct endpoint *ep, const ops_http_resp *resp, const ops_error *e,
		      char *out, size_t size)
{
	const char *reason = resp->reason, *tail;

	switch (resp->failure) {
	case OPS_HTTP_F_TIMEOUT:
		snprintf(out, size, "timed out after %.1f s", ep->limit);
		return;
	case OPS_HTTP_F_TOO_LARGE:
		if (strstr(e->message, "headers"))
			snprintf(out, size, "answer headers larger than the cap");
		else
			snprintf(out, size, "answer larger than %zu bytes", ep->max_body);
		return;
	case OPS_HTTP_F_TLS:
		/* core/http has put the certificate's fault in words after the origin. */
		tail = strstr(e->message, "cannot verify the TLS certificate");
		tail = tail ? strstr(tail, "': ") : NULL;
		if (tail)
			snprintf(out, size, "%.300s", tail + 3);
		else
			snprintf(out, size, "TLS handshake failed: %.300s", reason);
		return;
	case OPS_HTTP_F_UNREACHABLE:
		if (strcasestr(reason, "refused") || strcasestr(reason, "couldn't connect"))
			snprintf(out, size, "connection refused");
		else if (strcasestr(reason, "resolve"))
			snprintf(out, size, "cannot resolve the host name");
		else if (strcasestr(reason, "empty reply"))
			snprintf(out, size, "connection closed without an answer");
		else
			snprintf(out, size, "unreachable: %.300s", *reason ? reason : e->message);
		return;
	default:
		snprintf(out, size, "%.300s", e->message);
		return;
	}
}

#define CA_KEY "health.api_ca_file"

/*
 * A configuration the request cannot use, as one line naming the key and
 * its value (as shown_url shows it): "health.api_url: 'ftp://host/health'
 * is not an http:// or https:// URL", "health.api_ca_file: cannot read
 * '/etc/ssl/x.pem': No such file or directory".  what: the problem, after
 * the value.
 */
static ops_code url_error(const struct endpoint *ep, const char *what, ops_error *err)
{
	char *shown = shown_url(ep->value);

	ops_error_set(err, OPS_ECONFIG, "%s: '%s' %s", ep->key, shown ? shown : "", what);
	free(shown);
	return OPS_ECONFIG;
}

/* Before any request: the URL is http(s) with a host, an https one's CA file readable. */
static ops_code endpoint_check(const health_ctx *ctx, const struct endpoint *ep, ops_error *err)
{
	const char *ca = ops_config_get(ctx->cfg, CA_KEY), *v = ep->value, *host;

	if (strncasecmp(v, "http://", 7) != 0 && !is_https(v))
		return url_error(ep, "is not an http:// or https:// URL", err);
	host = strstr(v, "://") + 3;
	if (strcspn(host, "/?#") == 0)
		return url_error(ep, "has no host", err);
	if (is_https(v) && ca && *ca && access(ca, R_OK) != 0)
		return ops_error_set(err, OPS_ECONFIG, "%s: cannot read '%s': %s", CA_KEY, ca,
				     strerror(errno));
	return OPS_OK;
}

/*
 * One GET.  OPS_OK with *answered set when a complete HTTP answer came; OPS_OK
 * with *answered clear and why filled when the endpoint is at fault (down,
 * stalled, flooding, a bad certificate); an error when opsctl could not send
 * the request at all (a malformed URL, an unusable CA file, no libcurl).
 */
static ops_code get_once(const health_ctx *ctx, const struct endpoint *ep,
			 const char *const *headers, ops_http_resp *resp, int *answered,
			 char *why, size_t why_size, ops_error *err)
{
	ops_http_opts o;
	ops_http_req req = {0};
	ops_http *h = NULL;
	ops_error e = {0};
	ops_code rc;

	*answered = 0;
	memset(resp, 0, sizeof *resp);
	ops_http_opts_init(&o);
	o.name = ep->name;
	o.connect_timeout = o.timeout = o.stall_timeout = ep->limit;
	o.max_body = ep->max_body;
	o.retries = 0;
	o.ca_file = ops_config_get(ctx->cfg, CA_KEY);
	o.cert_expiry = ep->https;
	if ((rc = ops_http_new(&o, &h, err)) != OPS_OK)
		return rc;
	req.method = "GET";
	req.url = ep->url;
	req.headers = headers;
	rc = ops_http_request(h, &req, resp, &e);
	ops_http_free(h);
	if (rc == OPS_OK) {
		*answered = 1;
		return OPS_OK;
	}
	/*
	 * The endpoint's fault is the component's state; the rest (a malformed
	 * URL, an unreadable CA file: OPS_ECONFIG) is opsctl's.
	 */
	if (resp->failure != OPS_HTTP_F_NONE && rc != OPS_ECONFIG && rc != OPS_EINTR) {
		no_answer(ep, resp, &e, why, why_size);
		return OPS_OK;
	}
	/* A configuration core/http could not use: named by its key. */
	if (rc == OPS_ECONFIG && resp->failure == OPS_HTTP_F_TLS)
		return ops_error_set(err, rc, "%s: cannot use '%s': %s", CA_KEY,
				     o.ca_file ? o.ca_file : "", *resp->reason ? resp->reason
				     : e.message);
	if (rc == OPS_ECONFIG)
		return url_error(ep, strstr(e.message, "malformed") ? "is not a valid URL"
				 : e.message, err);
	if (err)
		*err = e;
	return rc;
}

/*
 * The start of an error answer's body, for the reason: "HTTP 503: database
 * unavailable".  At most 80 bytes, each run of white space or control bytes
 * one space, never a UTF-8 character cut; "" when the body is empty.  What
 * the plugin output cannot carry ('|') is the output's to replace.
 */
static void body_excerpt(const ops_http_resp *resp, char *out, size_t size)
{
	size_t i, o = 0, max = size < 81 ? size - 1 : 80;
	char *fixed;

	*out = '\0';
	for (i = 0; resp->body && i < resp->len && o < max; i++) {
		unsigned char c = (unsigned char)resp->body[i];

		if (c <= 0x20 || c == 0x7f) {
			if (o > 0 && out[o - 1] != ' ')
				out[o++] = ' ';
			continue;
		}
		out[o++] = (char)c;
	}
	if (i < resp->len)	/* cut: drop a partial UTF-8 character */
		while (o > 0 && ((unsigned char)out[o - 1] & 0x80)) {
			unsigned char c = (unsigned char)out[--o];

			if (c & 0x40)
				break;
		}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
	if ((fixed = ops_utf8_repair(out)) != NULL) {
		snprintf(out, size, "%s", fixed);
		free(fixed);
	}
}

static int within(const char *hay, size_t len, const char *needle)
{
	return hay && memmem(hay, len, needle, strlen(needle)) != NULL;
}

ops_code health_api(const health_ctx *ctx, health_result *r, ops_error *err)
{
	const ops_config *cfg = ctx->cfg;
	const char *url = ops_config_get(cfg, "health.api_url");
	const char *expect = ops_config_get(cfg, "health.api_expect");
	double warn = (double)ops_config_int(cfg, "health.api_warn_ms") / 1000;
	double crit = (double)ops_config_int(cfg, "health.api_critical_ms") / 1000;
	long cert_warn = ops_config_int(cfg, "health.cert_warn_days");
	long cert_crit = ops_config_int(cfg, "health.cert_critical_days");
	struct endpoint ep = {.name = "health 'api'", .key = "health.api_url", .value = url,
			      .url = url};
	cJSON *rep = health_report(r);
	ops_http_resp resp;
	char why[400], *shown;
	int answered;
	ops_code rc;

	if (!url || !*url) {
		health_skip(r, "health.api_url is not set");
		return OPS_OK;
	}
	if ((rc = endpoint_check(ctx, &ep, err)) != OPS_OK)
		return rc;
	ep.https = is_https(url);
	ep.limit = health_time_left(ctx, (double)ops_config_int(cfg, "health.check_timeout"));
	ep.max_body = (size_t)ops_config_int(cfg, "health.max_body");
	if (!(shown = shown_url(url)))
		return ops_error_oom(err);
	cJSON_AddStringToObject(rep, "url", shown);
	free(shown);

	rc = get_once(ctx, &ep, NULL, &resp, &answered, why, sizeof why, err);
	if (rc != OPS_OK)
		goto out;
	/* The time spent is perfdata even without an answer: a graph of it
	 * shows the stall as the spike it was, as check_http's does. */
	health_perf(r, "api_time", resp.seconds, "s", warn, crit, 0, NAN);
	if (!answered) {
		health_raise(r, OPS_HEALTH_CRITICAL, "%s", why);
		goto out;
	}
	cJSON_AddNumberToObject(rep, "http_status", (double)resp.status);
	health_figure(r, "opsctl_health_api_response_seconds", resp.seconds);
	if (resp.status < 200 || resp.status > 299) {
		body_excerpt(&resp, why, sizeof why);
		health_raise(r, OPS_HEALTH_CRITICAL, "HTTP %ld%s%s", resp.status, *why ? ": " : "",
			     why);
	}
	else if (expect && *expect && !within(resp.body, resp.len, expect))
		health_raise(r, OPS_HEALTH_CRITICAL, "answer lacks '%s'", expect);
	if (resp.seconds > crit)
		health_raise(r, OPS_HEALTH_CRITICAL, "answered in %.2f s (critical above %.2f s)",
			     resp.seconds, crit);
	else if (resp.seconds > warn)
		health_raise(r, OPS_HEALTH_WARNING, "answered in %.2f s (warning above %.2f s)",
			     resp.seconds, warn);
	if (ep.https && resp.cert_expiry) {
		/* The wall clock, as TLS verification itself uses: not the run's
		 * (possibly pinned) time. */
		long days = (long)floor(difftime(resp.cert_expiry, time(NULL)) / 86400);

		health_perf_low(r, "api_cert_days", (double)days, "", (double)cert_warn,
				(double)cert_crit, NAN, NAN);
		if (days <= cert_crit)
			health_raise(r, OPS_HEALTH_CRITICAL, "certificate expires in %ld days", days);
		else if (days <= cert_warn)
			health_raise(r, OPS_HEALTH_WARNING, "certificate expires in %ld days", days);
	}
out:
	ops_http_resp_release(&resp);
	return rc;
}

/* ---- llm ---- */

enum llm_kind { LLM_OPENAI, LLM_OLLAMA };

/*
 * The key for an OpenAI-compatible endpoint: LLM_API_KEY, else OPENAI_API_KEY,
 * else health.llm_key_file.  OPS_ECONFIG naming all three when none is set.
 */
static ops_code llm_key(const ops_config *cfg, char **key, ops_error *err)
{
	const char *file = ops_config_get(cfg, "health.llm_key_file");
	const char *v = getenv("LLM_API_KEY");

	*key = NULL;
	if (v && *v)
		return ops_secret_load("LLM_API_KEY", NULL, NULL, "LLM API key", key, err);
	v = getenv("OPENAI_API_KEY");
	if ((!v || !*v) && (!file || !*file))
		return ops_error_set(err, OPS_ECONFIG,
				     "no LLM API key: LLM_API_KEY and OPENAI_API_KEY are unset and "
				     "health.llm_key_file is not set");
	return ops_secret_load("OPENAI_API_KEY", file, "health.llm_key_file", "LLM API key", key,
			       err);
}

/* model equals name, or one of them is the other with Ollama's ":latest" tag. */
static int same_model(const char *model, const char *name)
{
	size_t m = strlen(model), n = strlen(name);

	if (strcmp(model, name) == 0)
		return 1;
	if (n == m + 7 && strncmp(name, model, m) == 0 && strcmp(name + m, ":latest") == 0)
		return 1;
	return m == n + 7 && strncmp(model, name, n) == 0 && strcmp(model + n, ":latest") == 0;
}

/*
 * The models an answer lists (data[].id for OpenAI, models[].name for
 * Ollama): -1 when the answer is not such a list; else how many, and
 * *found whether model (may be NULL) is among them.
 */
static int listed_models(enum llm_kind kind, const char *body, const char *model, int *found)
{
	const char *field = kind == LLM_OPENAI ? "id" : "name";
	cJSON *doc = body ? cJSON_Parse(body) : NULL;
	cJSON *list = cJSON_GetObjectItemCaseSensitive(doc, kind == LLM_OPENAI ? "data" : "models");
	cJSON *m;
	int n = 0;

	*found = 0;
	if (!cJSON_IsArray(list)) {
		cJSON_Delete(doc);
		return -1;
	}
	cJSON_ArrayForEach(m, list) {
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(m, field);

		if (!cJSON_IsString(id))
			continue;
		n++;
		if (model && same_model(model, id->valuestring))
			*found = 1;
	}
	cJSON_Delete(doc);
	return n;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/*
 * Perfdata: 'llm_time'=MEDIANs;WARN;CRIT;0 and
 * 'llm_error_rate'=RATE;0;0.99;0;1, the rate's thresholds being the
 * component's own rule in plugin ranges: any failure is WARNING (above 0),
 * all of them CRITICAL (above 0.99, which with at most 20 samples only 1.0 is).
 */
ops_code health_llm(const health_ctx *ctx, health_result *r, ops_error *err)
{
	const ops_config *cfg = ctx->cfg;
	const char *base = ops_config_get(cfg, "health.llm_url");
	const char *model = ops_config_get(cfg, "health.llm_model");
	enum llm_kind kind = strcmp(ops_config_get(cfg, "health.llm_api"), "ollama") == 0
		? LLM_OLLAMA : LLM_OPENAI;
	double cap = (double)ops_config_int(cfg, "health.check_timeout");
	double warn = (double)ops_config_int(cfg, "health.llm_warn_ms") / 1000;
	double crit = (double)ops_config_int(cfg, "health.llm_critical_ms") / 1000;
	long samples = ops_config_int(cfg, "health.llm_samples");
	struct endpoint ep = {.name = "health 'llm'", .key = "health.llm_url"};
	cJSON *rep = health_report(r);
	char *key = NULL, *auth = NULL, *url = NULL, *shown = NULL;
	const char *headers[2] = {NULL, NULL};
	char last_cause[400] = "";
	double times[20], started = ops_clock(), budget_end, slowest = 0, rate, median = 0;
	long sent = 0, failed = 0, answered_n = 0, i;
	int models = -1, found = 0;
	ops_code rc = OPS_OK;
	size_t n;

	if (!base || !*base) {
		health_skip(r, "health.llm_url is not set");
		return OPS_OK;
	}
	ep.value = base;
	if ((rc = endpoint_check(ctx, &ep, err)) != OPS_OK)
		return rc;
	if (kind == LLM_OPENAI) {
		if ((rc = llm_key(cfg, &key, err)) != OPS_OK)
			return rc;
		n = strlen(key) + sizeof "Authorization: Bearer ";
		if (!(auth = malloc(n))) {
			rc = ops_error_oom(err);
			goto out;
		}
		snprintf(auth, n, "Authorization: Bearer %s", key);
		headers[0] = auth;
	}
	n = strlen(base);
	while (n > 0 && base[n - 1] == '/')
		n--;
	if (asprintf(&url, "%.*s%s", (int)n, base, kind == LLM_OPENAI ? "/models" : "/api/tags") < 0) {
		url = NULL;
		rc = ops_error_oom(err);
		goto out;
	}
	if (!(shown = shown_url(url))) {
		rc = ops_error_oom(err);
		goto out;
	}
	cJSON_AddStringToObject(rep, "url", shown);
	cJSON_AddStringToObject(rep, "api", kind == LLM_OPENAI ? "openai" : "ollama");
	ep.url = url;
	ep.https = is_https(url);
	ep.max_body = (size_t)ops_config_int(cfg, "health.max_body");
	/* All the samples share one check_timeout, so that a stalled endpoint
	 * costs one timeout, not one per sample. */
	budget_end = started + cap;
	if (samples > (long)(sizeof times / sizeof times[0]))
		samples = (long)(sizeof times / sizeof times[0]);
	for (i = 0; i < samples; i++) {
		ops_http_resp resp;
		int answered;
		double left = health_time_left(ctx, cap), now = ops_clock();

		if (budget_end - now < left)
			left = budget_end - now;
		/* Another sample only when it has the time the slowest one took:
		 * one cut short would count as a failure the endpoint did not make. */
		if (i > 0 && (left <= 0 || left < slowest || now >= ctx->deadline))
			break;
		ep.limit = left > 0.1 ? left : 0.1;
		rc = get_once(ctx, &ep, headers, &resp, &answered, last_cause, sizeof last_cause,
			      err);
		if (rc != OPS_OK) {
			ops_http_resp_release(&resp);
			goto out;
		}
		sent++;
		if (resp.seconds > slowest)
			slowest = resp.seconds;
		if (!answered) {
			failed++;
			ops_http_resp_release(&resp);
			continue;
		}
		times[answered_n++] = resp.seconds;
		if (resp.status == 401 || resp.status == 403) {
			failed++;
			snprintf(last_cause, sizeof last_cause, "HTTP %ld: %s", resp.status,
				 kind == LLM_OPENAI ? "key refused" : "authentication required");
		} else if (resp.status < 200 || resp.status > 299) {
			char excerpt[96];

			failed++;
			body_excerpt(&resp, excerpt, sizeof excerpt);
			snprintf(last_cause, sizeof last_cause, "HTTP %ld%s%s", resp.status,
				 *excerpt ? ": " : "", excerpt);
		} else {
			int m = listed_models(kind, resp.body, model, &found);

			if (m < 0) {
				failed++;
				snprintf(last_cause, sizeof last_cause, "the answer is not a %s model list",
					 kind == LLM_OPENAI ? "data[]" : "models[]");
			} else {
				models = m;
			}
		}
		ops_http_resp_release(&resp);
	}

	rate = (double)failed / (double)sent;
	cJSON_AddNumberToObject(rep, "samples", (double)sent);
	cJSON_AddNumberToObject(rep, "failed", (double)failed);
	if (answered_n > 0) {
		qsort(times, (size_t)answered_n, sizeof times[0], cmp_double);
		median = answered_n % 2 ? times[answered_n / 2]
			: (times[answered_n / 2 - 1] + times[answered_n / 2]) / 2;
		health_perf(r, "llm_time", median, "s", warn, crit, 0, NAN);
		health_figure(r, "opsctl_health_llm_response_seconds", median);
	}
	health_perf(r, "llm_error_rate", rate, "", 0, 0.99, 0, 1);
	health_figure(r, "opsctl_health_llm_error_ratio", rate);
	if (failed == sent)
		health_raise(r, OPS_HEALTH_CRITICAL, "%s (%ld of %ld requests failed)", last_cause,
			     failed, sent);
	else if (failed > 0)
		health_raise(r, OPS_HEALTH_WARNING, "%ld of %ld requests failed (last: %s)", failed,
			     sent, last_cause);
	if (answered_n > 0 && median > crit)
		health_raise(r, OPS_HEALTH_CRITICAL, "median answer %.2f s (critical above %.2f s)",
			     median, crit);
	else if (answered_n > 0 && median > warn)
		health_raise(r, OPS_HEALTH_WARNING, "median answer %.2f s (warning above %.2f s)",
			     median, warn);
	if (models >= 0) {
		cJSON_AddNumberToObject(rep, "models", (double)models);
		if (model && *model) {
			cJSON_AddStringToObject(rep, "model", model);
			if (!found)
				health_raise(r, OPS_HEALTH_CRITICAL,
					     "model '%s' is not among the %d the endpoint lists", model,
					     models);
		}
	}
out:
	free(shown);
	free(url);
	ops_secret_free(auth);
	ops_secret_free(key);
	return rc;
}
