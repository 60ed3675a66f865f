/*
 * Slack through an incoming webhook: one POST of {"text": ...} in Slack's
 * mrkdwn, which Slack acknowledges with HTTP 200 and the body "ok"; any
 * other answer is a failure named by its status and Slack's one word
 * ("invalid_payload", "no_service", "channel_is_archived").
 *
 * The webhook URL is the credential (anyone holding it can post): it comes
 * from $SLACK_WEBHOOK_URL or alerts.slack_webhook_file, is sent with
 * secret_url so that core/http names only its origin, and is wiped after
 * use.  No Block Kit, no threads, no bot token: the guides' test-alerts.sh
 * posts a text to a webhook, and that is what proves the channel works.
 */
#include <stdlib.h>
#include <string.h>

#include "alerts_webhook.h"
#include "opsmaint/config.h"
#include "opsmaint/secret.h"

static int configured(const ops_config *cfg)
{
	const char *env = getenv("SLACK_WEBHOOK_URL"), *file;

	file = ops_config_get(cfg, "alerts.slack_webhook_file");
	return (env && *env) || (file && *file);
}

/* Slack's mrkdwn needs &, < and > escaped, and nothing else. */
static size_t escape(const char *s, char *out)
{
	size_t o = 0;

	for (; *s; s++) {
		const char *rep = *s == '&' ? "&amp;" : *s == '<' ? "&lt;" : *s == '>' ? "&gt;" : NULL;
		size_t n = rep ? strlen(rep) : 1;

		if (out)
			memcpy(out + o, rep ? rep : s, n);
		o += n;
	}
	if (out)
		out[o] = '\0';
	return o;
}

/* ":red_circle: *SUBJECT*" then the body, so that a glance at the channel tells the severity. */
static char *compose(const alerts_msg *m)
{
	const char *icon = m->alert->resolved ? ":white_check_mark:"
			   : strcmp(m->severity, "critical") == 0 ? ":red_circle:"
			   : strcmp(m->severity, "warning") == 0 ? ":warning:" : ":information_source:";
	size_t il = strlen(icon);
	char *t = malloc(il + 2 + escape(m->subject, NULL) + 2 + escape(m->text, NULL) + 1), *p;

	if (!t)
		return NULL;
	memcpy(t, icon, il);
	p = t + il;
	*p++ = ' ';
	*p++ = '*';
	p += escape(m->subject, p);
	*p++ = '*';
	*p++ = '\n';
	escape(m->text, p);
	return t;
}

static ops_code send(const ops_run *run, const alerts_msg *m, int test, cJSON *out, ops_error *err)
{
	char *url = NULL, *text = NULL, reply[128], detail[160];
	ops_http *h = NULL;
	ops_http_resp r = {0};
	cJSON *body = NULL;
	ops_code rc;

	(void)test;	/* a webhook has no proof beyond its "ok": the text is tagged instead */
	rc = ops_secret_load("SLACK_WEBHOOK_URL", ops_config_get(run->cfg, "alerts.slack_webhook_file"),
			     "alerts.slack_webhook_file", "Slack webhook URL", &url, err);
	if (rc != OPS_OK)
		return rc;
	text = compose(m);
	body = cJSON_CreateObject();
	if (!text || !body || !cJSON_AddStringToObject(body, "text", text)) {
		rc = ops_error_oom(err);
		goto out;
	}
	if ((rc = alerts_webhook_open(run, "alerts slack", &h, err)) != OPS_OK)
		goto out;
	rc = alerts_webhook_json(h, "POST", url, 1, NULL, body, &r, err);
	if (rc != OPS_OK)
		goto out;
	alerts_webhook_reply(&r, url, reply, sizeof reply);
	snprintf(detail, sizeof detail, "HTTP %ld%s%s", r.status, *reply ? " " : "", reply);
	cJSON_AddStringToObject(out, "detail", detail);
	if (r.status == 200 && strcmp(reply, "ok") == 0)
		goto out;
	if (r.status == 200)
		rc = ops_error_set(err, OPS_EFAIL, "the Slack webhook answered HTTP 200 with '%s' "
				   "instead of 'ok'", reply);
	else
		rc = ops_error_set(err, OPS_EFAIL, "the Slack webhook answered HTTP %ld%s%s",
				   r.status, *reply ? ": " : "", reply);
out:
	ops_http_resp_release(&r);
	ops_http_free(h);
	cJSON_Delete(body);
	free(text);
	ops_secret_free(url);
	return rc;
}

const alerts_channel alerts_slack = {
	.bit = OPS_ALERT_SLACK, .name = "slack",
	.key = "SLACK_WEBHOOK_URL or alerts.slack_webhook_file", .secret = 1,
	.configured = configured, .send = send
};
