/*
 * PagerDuty through the Events API v2 (POST alerts.pagerduty_url, by default
 * https://events.pagerduty.com/v2/enqueue): an event {"routing_key",
 * "event_action", "dedup_key", "payload"} that PagerDuty acknowledges with
 * HTTP 202 and {"status": "success", "message": "Event processed",
 * "dedup_key": ...}.  A 400 names what it found invalid in "errors"; a 429
 * is its rate limit.  A test triggers an incident and resolves it with the
 * same dedup key, so that nobody is left paged by a test.
 *
 * The routing key is a credential: from $PAGERDUTY_ROUTING_KEY or
 * alerts.pagerduty_routing_key_file, only in the request body, wiped after
 * use, replaced by "***" should PagerDuty quote it back.  Acknowledge and
 * change events, links and images are not used.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts_webhook.h"
#include "opsmaint/clock.h"
#include "opsmaint/config.h"
#include "opsmaint/secret.h"

/* Events API v2: payload.summary is at most 1024 characters. */
#define SUMMARY_MAX 1024

static int configured(const ops_config *cfg)
{
	const char *env = getenv("PAGERDUTY_ROUTING_KEY"), *file;

	file = ops_config_get(cfg, "alerts.pagerduty_routing_key_file");
	return (env && *env) || (file && *file);
}

/* s cut to at most max bytes on a UTF-8 character boundary (newly allocated). */
static char *cut_utf8(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n > max) {
		n = max;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	return strndup(s, n);
}

static cJSON *event(const alerts_msg *m, const char *key, const char *action)
{
	const ops_alert *a = m->alert;
	cJSON *ev = cJSON_CreateObject(), *p, *d;
	char when[OPS_TIME_ISO_SIZE], command[128], *summary = NULL;
	int ok;

	if (!ev)
		return NULL;
	ok = cJSON_AddStringToObject(ev, "routing_key", key) &&
	     cJSON_AddStringToObject(ev, "event_action", action) &&
	     cJSON_AddStringToObject(ev, "dedup_key", m->dedup_key);
	/* A resolve needs only the key: PagerDuty ignores a payload there. */
	if (ok && strcmp(action, "trigger") == 0) {
		/* The subject, not the bare summary: it carries [TEST], the
		 * severity, the host and the environment into the incident's title. */
		summary = cut_utf8(m->subject, SUMMARY_MAX);
		snprintf(command, sizeof command, "opsctl %s", a->command ? a->command : "alerts");
		ok = cJSON_AddStringToObject(ev, "client", "opsctl") &&
		     (p = cJSON_AddObjectToObject(ev, "payload")) && summary &&
		     cJSON_AddStringToObject(p, "summary", summary) &&
		     cJSON_AddStringToObject(p, "source", m->host) &&
		     cJSON_AddStringToObject(p, "severity", m->severity) &&
		     cJSON_AddStringToObject(p, "timestamp", ops_time_iso(m->at, when)) &&
		     cJSON_AddStringToObject(p, "component", a->command ? a->command : "alerts") &&
		     cJSON_AddStringToObject(p, "group", m->environment) &&
		     cJSON_AddStringToObject(p, "class", a->name ? a->name : "alert") &&
		     (d = cJSON_AddObjectToObject(p, "custom_details")) &&
		     cJSON_AddStringToObject(d, "environment", m->environment) &&
		     cJSON_AddStringToObject(d, "command", command) &&
		     cJSON_AddBoolToObject(d, "test", a->test != 0) &&
		     (!a->detail || cJSON_AddStringToObject(d, "detail", a->detail));
	}
	free(summary);
	if (!ok) {
		cJSON_Delete(ev);
		return NULL;
	}
	return ev;
}

/* PagerDuty's "message" and "errors" of a refused event, one line, the key hidden. */
static void refusal(const ops_http_resp *r, const char *key, char *out, size_t size)
{
	cJSON *j = r->body ? cJSON_ParseWithLength(r->body, r->len) : NULL, *e;
	const char *msg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "message"));
	char buf[512];
	size_t o = 0;
	ops_http_resp fake = {0};

	buf[0] = '\0';
	if (msg)
		o = (size_t)snprintf(buf, sizeof buf, "%s", msg);
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(j, "errors")) {
		if (cJSON_IsString(e) && o + 4 < sizeof buf)
			o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%s", o ? "; " : "",
					      e->valuestring);
	}
	cJSON_Delete(j);
	/* Not JSON (a proxy's page): its first line. */
	if (!*buf) {
		alerts_webhook_reply(r, key, out, size);
		return;
	}
	fake.body = buf;
	fake.len = strlen(buf);
	alerts_webhook_reply(&fake, key, out, size);
}

/* One event; OPS_OK only for 202 with "status": "success".  detail gets what PagerDuty said. */
static ops_code post(ops_http *h, const char *url, const alerts_msg *m, const char *key,
		     const char *action, char *detail, size_t dsize, ops_error *err)
{
	cJSON *ev = event(m, key, action), *j = NULL;
	const char *status, *msg;
	ops_http_resp r = {0};
	char why[160];
	ops_code rc;

	*detail = '\0';
	if (!ev)
		return ops_error_oom(err);
	rc = alerts_webhook_json(h, "POST", url, 0, action, ev, &r, err);
	/* The body held the routing key. */
	cJSON_Delete(ev);
	if (rc != OPS_OK) {
		snprintf(detail, dsize, "no answer: %.150s", err->message);
		goto out;
	}
	if (r.status != 202) {
		refusal(&r, key, why, sizeof why);
		snprintf(detail, dsize, "HTTP %ld%s%s", r.status, *why ? " " : "", why);
		rc = ops_error_set(err, OPS_EFAIL, "%s: PagerDuty answered HTTP %ld%s%s", action,
				   r.status, *why ? ": " : r.status == 429 ? ": rate limited" : "",
				   why);
		goto out;
	}
	j = r.body ? cJSON_ParseWithLength(r.body, r.len) : NULL;
	status = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "status"));
	msg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "message"));
	if (!status || strcmp(status, "success") != 0) {
		alerts_webhook_reply(&r, key, why, sizeof why);
		snprintf(detail, dsize, "HTTP 202 %s", why);
		rc = ops_error_set(err, OPS_EFAIL, "%s: PagerDuty answered HTTP 202 without "
				   "\"status\": \"success\"%s%s", action, *why ? ": " : "", why);
		goto out;
	}
	snprintf(detail, dsize, "HTTP 202 %s", msg ? msg : status);
out:
	cJSON_Delete(j);
	ops_http_resp_release(&r);
	return rc;
}

static ops_code send(const ops_run *run, const alerts_msg *m, int test, cJSON *out, ops_error *err)
{
	const char *url = ops_config_get(run->cfg, "alerts.pagerduty_url");
	char *key = NULL, detail[200], both[420];
	ops_http *h = NULL;
	ops_code rc;

	if (!url || !*url)
		return ops_error_set(err, OPS_ECONFIG, "alerts.pagerduty_url is empty");
	rc = ops_secret_load("PAGERDUTY_ROUTING_KEY",
			     ops_config_get(run->cfg, "alerts.pagerduty_routing_key_file"),
			     "alerts.pagerduty_routing_key_file", "PagerDuty routing key", &key, err);
	if (rc != OPS_OK)
		return rc;
	if ((rc = alerts_webhook_open(run, "alerts pagerduty", &h, err)) != OPS_OK)
		goto out;
	cJSON_AddStringToObject(out, "dedup_key", m->dedup_key);
	if (!test) {
		rc = post(h, url, m, key, m->alert->resolved ? "resolve" : "trigger", detail,
			  sizeof detail, err);
		cJSON_AddStringToObject(out, "detail", detail);
		goto out;
	}
	/* The proof: an incident opened, then closed by the same key. */
	rc = post(h, url, m, key, "trigger", detail, sizeof detail, err);
	alerts_webhook_step(out, "trigger", rc == OPS_OK ? "delivered" : "failed", detail);
	if (rc != OPS_OK) {
		cJSON_AddStringToObject(out, "detail", detail);
		goto out;
	}
	snprintf(both, sizeof both, "trigger %s; ", detail);
	rc = post(h, url, m, key, "resolve", detail, sizeof detail, err);
	alerts_webhook_step(out, "resolve", rc == OPS_OK ? "delivered" : "failed", detail);
	snprintf(both + strlen(both), sizeof both - strlen(both), "resolve %s", detail);
	cJSON_AddStringToObject(out, "detail", both);
out:
	ops_http_free(h);
	ops_secret_free(key);
	return rc;
}

const alerts_channel alerts_pagerduty = {
	.bit = OPS_ALERT_PAGERDUTY, .name = "pagerduty", .key = "alerts.pagerduty_url",
	.configured = configured, .send = send
};
