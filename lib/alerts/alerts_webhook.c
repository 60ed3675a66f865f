/*
 * The HTTP plumbing the Slack, PagerDuty and Alertmanager channels share
 * (alerts_webhook.h).  Everything goes through core/http: timeouts, the body
 * cap, TLS verification and redaction are there, not here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts_webhook.h"
#include "opsmaint/config.h"

void alerts_http_opts(const ops_config *cfg, const char *name, ops_http_opts *o)
{
	double t = (double)ops_config_int(cfg, "alerts.timeout");

	ops_http_opts_init(o);
	o->name = name;
	o->connect_timeout = t;
	o->timeout = t;
	o->stall_timeout = t;
	o->max_body = 256 * 1024;
	/* One more attempt, which core/http makes only for a request that never
	 * left (refused, DNS, TLS): a notification that may have arrived is not
	 * sent twice, since two pages for one problem are noise. */
	o->retries = 1;
	o->backoff = 0.5;
	o->ca_file = ops_config_get(cfg, "alerts.ca_file");
}

ops_code alerts_webhook_open(const ops_run *run, const char *name, ops_http **h, ops_error *err)
{
	ops_http_opts o;

	alerts_http_opts(run->cfg, name, &o);
	return ops_http_new(&o, h, err);
}

ops_code alerts_webhook_json(ops_http *h, const char *method, const char *url, int secret_url,
			     const char *what, const cJSON *body, ops_http_resp *resp,
			     ops_error *err)
{
	static const char *const headers[] = {
		"Content-Type: application/json", "Accept: application/json", NULL
	};
	ops_http_req req;
	char *text = NULL;
	ops_code rc;

	memset(resp, 0, sizeof *resp);
	if (body && !(text = cJSON_PrintUnformatted(body)))
		return ops_error_oom(err);
	memset(&req, 0, sizeof req);
	req.method = method;
	req.url = url;
	req.headers = body ? headers : headers + 1;
	req.body = text;
	req.body_len = text ? strlen(text) : 0;
	/* A notification that may have arrived is not sent again: two pages
	 * for one problem are noise (reads may be repeated). */
	req.idempotent = text ? OPS_HTTP_NOT_IDEMPOTENT : OPS_HTTP_BY_METHOD;
	req.what = what;
	req.secret_url = secret_url;
	rc = ops_http_request(h, &req, resp, err);
	free(text);
	return rc;
}

void alerts_webhook_reply(const ops_http_resp *r, const char *hide, char *out, size_t size)
{
	const char *s = r->body;
	size_t o = 0, n, hl = hide ? strlen(hide) : 0, max = size > 121 ? 121 : size;

	if (!size)
		return;
	out[0] = '\0';
	if (!s)
		return;
	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	n = strcspn(s, "\r\n");
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	while (n > 0 && o + 1 < max) {
		unsigned char c = (unsigned char)*s;

		if (hl && n >= hl && memcmp(s, hide, hl) == 0) {
			if (o + 4 >= max)
				break;
			memcpy(out + o, "***", 3);
			o += 3;
			s += hl;
			n -= hl;
			continue;
		}
		/* Messages quote what they name with '...': a quote or a control
		 * byte from the server would break the line. */
		out[o++] = (char)(c < 0x20 || c == 0x7f || c == '\'' ? ' ' : c);
		s++;
		n--;
	}
	/* Cut inside a UTF-8 character: drop its first bytes too. */
	if (n > 0) {
		size_t start = o, need;
		unsigned char lead;

		while (start > 0 && ((unsigned char)out[start - 1] & 0xc0) == 0x80)
			start--;
		if (start > 0) {
			lead = (unsigned char)out[start - 1];
			need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
			if (o - (start - 1) < need)
				o = start - 1;
		}
	}
	out[o] = '\0';
}

void alerts_webhook_step(cJSON *out, const char *step, const char *status, const char *detail)
{
	cJSON *steps = cJSON_GetObjectItemCaseSensitive(out, "steps"), *one;

	if (!steps)
		steps = cJSON_AddArrayToObject(out, "steps");
	one = steps ? cJSON_CreateObject() : NULL;
	if (!one)
		return;
	cJSON_AddStringToObject(one, "step", step);
	cJSON_AddStringToObject(one, "status", status);
	cJSON_AddStringToObject(one, "detail", detail ? detail : "");
	cJSON_AddItemToArray(steps, one);
}
