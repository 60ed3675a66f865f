/*
 * The email channel: the composed message to alerts.email_to through
 * core/smtp (STARTTLS or smtps://, verified; AUTH when alerts.smtp_user is
 * set).  Delivered means the server's 250 after the message data, and that
 * reply is the report's "detail".  The SMTP password is read here, used
 * once and wiped; it reaches nothing else.
 *
 * It deliberately does not retry (a message the server may have queued is
 * not sent twice) nor fall back to plain SMTP when TLS fails:
 * alerts.smtp_tls=none is for a relay on the loopback interface, which
 * core/smtp enforces.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts_internal.h"
#include "opsmaint/config.h"
#include "opsmaint/secret.h"
#include "opsmaint/smtp.h"

static int has_url(const ops_config *cfg)
{
	const char *url = ops_config_get(cfg, "alerts.smtp_url");

	return url && *url;
}

static int has_to(const ops_config *cfg)
{
	char **to = ops_config_list(cfg, "alerts.email_to");
	int yes = to && to[0];

	ops_strv_free(to);
	return yes;
}

/* Either key set configures the channel; both are needed to use it. */
static int configured(const ops_config *cfg)
{
	return has_url(cfg) || has_to(cfg);
}

static const char *incomplete(const ops_config *cfg)
{
	int url = has_url(cfg), to = has_to(cfg);

	if (url && !to)
		return "alerts.email_to is not set, but alerts.smtp_url is: email alerts need both";
	if (to && !url)
		return "alerts.smtp_url is not set, but alerts.email_to is: email alerts need both";
	return NULL;
}

static ops_code send(const ops_run *run, const alerts_msg *m, int test, cJSON *out, ops_error *err)
{
	const ops_config *cfg = run->cfg;
	const char *user = ops_config_get(cfg, "alerts.smtp_user");
	const char *from = ops_config_get(cfg, "alerts.email_from");
	const char *tls = ops_config_get(cfg, "alerts.smtp_tls");
	char *password = NULL, *default_from = NULL, **to = NULL;
	ops_smtp_result res;
	ops_smtp_opts o;
	ops_code rc;

	(void)test;	/* the 250 is the proof; there is no further step to take */
	memset(&o, 0, sizeof o);
	if (user && !*user)
		user = NULL;
	if (user) {
		rc = ops_secret_load("SMTP_PASSWORD", ops_config_get(cfg, "alerts.smtp_password_file"),
				     "alerts.smtp_password_file", "SMTP password", &password, err);
		if (rc != OPS_OK)
			return rc;
	}
	if (!from || !*from) {
		if (asprintf(&default_from, "opsctl@%s", m->host && *m->host ? m->host : "localhost") < 0) {
			default_from = NULL;
			rc = ops_error_oom(err);
			goto out;
		}
		from = default_from;
	}
	to = ops_config_list(cfg, "alerts.email_to");
	if (!to) {
		rc = ops_error_oom(err);
		goto out;
	}
	o.url = ops_config_get(cfg, "alerts.smtp_url");
	o.tls = tls && strcmp(tls, "none") == 0 ? OPS_SMTP_TLS_NONE : OPS_SMTP_TLS_REQUIRED;
	o.user = user;
	o.password = password;
	o.ca_file = ops_config_get(cfg, "alerts.ca_file");
	o.from = from;
	o.to = to;
	o.timeout = (double)ops_config_int(cfg, "alerts.timeout");
	rc = ops_smtp_send(&o, m->subject, m->text, &res, err);
	/*
	 * The server's answer to the message, or its refusal; not the last
	 * line of a dialogue cut short on our side ("250 HELP" of an EHLO
	 * without STARTTLS, "220 Ready to start TLS" before a bad certificate).
	 */
	if ((rc == OPS_OK || res.code >= 400) && res.reply[0])
		cJSON_AddStringToObject(out, "detail", res.reply);
out:
	ops_secret_free(password);
	free(default_from);
	ops_strv_free(to);
	return rc;
}

const alerts_channel alerts_email = {
	.bit = OPS_ALERT_EMAIL, .name = "email", .key = "alerts.smtp_url",
	.configured = configured, .incomplete = incomplete, .send = send
};
