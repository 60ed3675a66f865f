/*
 * Alert notifications (guide 000 sections 6.3 and 8.4, test-alerts.sh): one
 * message sent to each configured channel, with proof of delivery rather
 * than "sent".  Channels:
 *
 *   email         SMTP through libcurl (core/smtp.h): STARTTLS required on
 *                 smtp:// (smtps:// is TLS from the start), AUTH when a user
 *                 is set, every reply code checked; delivered means the
 *                 server's 250 after the message data.
 *   slack         an incoming webhook: POST of {"text": ...}; delivered
 *                 means HTTP 200 with the body "ok".
 *   pagerduty     Events API v2: POST {"routing_key", "event_action",
 *                 "dedup_key", "payload": {...}}; delivered means 202 with
 *                 "status": "success".
 *   alertmanager  POST /api/v2/alerts; delivered means 200, and for a test
 *                 the alert read back from GET /api/v2/alerts.
 *
 * A channel is configured when its key is set (alerts.email_to,
 * alerts.slack_webhook_file or $SLACK_WEBHOOK_URL,
 * alerts.pagerduty_routing_key_file or $PAGERDUTY_ROUTING_KEY,
 * alerts.alertmanager_url).  Secrets (the webhook URL, the routing key, the
 * SMTP password) come from the environment or a private file (secret.h)
 * and never reach a report, a log line, the journal or an error message.
 * TLS is always verified (alerts.ca_file names a CA bundle to trust).
 *
 * Messages carry the host, the environment, the command and the error line.
 * Every request has the alerts.timeout; a channel that fails does not stop
 * the others.
 */
#ifndef OPSMAINT_ALERTS_H
#define OPSMAINT_ALERTS_H
#include "opsmaint/api.h"
OPS_API_BEGIN

#include <cjson/cJSON.h>
#include "opsmaint/error.h"
#include "opsmaint/run.h"

/* Channel bits. */
enum {
	OPS_ALERT_EMAIL = 1 << 0,
	OPS_ALERT_SLACK = 1 << 1,
	OPS_ALERT_PAGERDUTY = 1 << 2,
	OPS_ALERT_ALERTMANAGER = 1 << 3,
	OPS_ALERT_ALL = 0xf
};

typedef enum ops_alert_severity {
	OPS_ALERT_INFO = 0,
	OPS_ALERT_WARNING = 1,
	OPS_ALERT_CRITICAL = 2
} ops_alert_severity;

typedef struct ops_alert {
	/* Stable name of the problem: Alertmanager's alertname, the base of
	 * PagerDuty's dedup_key ("OpsctlHealth", "OpsctlRunFailed"). */
	const char *name;
	const char *summary;		/* one line: "OPSCTL HEALTH CRITICAL - api: ..." */
	const char *detail;		/* more lines for the body; may be NULL */
	const char *command;		/* the opsctl command it is about ("health") */
	ops_alert_severity severity;
	/* A recovery notice: PagerDuty "resolve", Alertmanager endsAt now,
	 * "RESOLVED" in the email subject and the Slack text. */
	int resolved;
	/* Tagged as a test everywhere: "[TEST]" in subjects and text, the label
	 * test="true", PagerDuty's custom_details.test. */
	int test;
	/* The same problem keeps the same key across runs (PagerDuty dedup_key,
	 * an Alertmanager label); NULL: "opsctl-NAME-HOST-ENVIRONMENT". */
	const char *dedup_key;
	/* Which part of the system the problem is about, when one name covers
	 * several independent problems (opsctl health -c api and -c db): the
	 * default key becomes "opsctl-NAME-SCOPE-HOST-ENVIRONMENT", so that
	 * one's recovery never closes the other's.  NULL: none. */
	const char *scope;
} ops_alert;

/* "email,slack" (and "alertmanager", "all") into channel bits; OPS_EUSAGE
 * naming an unknown name. */
ops_code ops_alerts_parse_channels(char *const *names, unsigned *mask, ops_error *err);

/* The configured channels among mask (see above for what configures each). */
unsigned ops_alerts_configured(const ops_config *cfg, unsigned mask);

/* "email", "slack", "pagerduty", "alertmanager" for one channel bit. */
const char *ops_alerts_channel_name(unsigned channel);

/*
 * Send a to each channel of mask that is configured.  A channel named in
 * mask but not configured is reported as "not configured" and is an error
 * only when mask named it alone (OPS_ALERT_ALL skips it quietly); no
 * configured channel at all is OPS_ECONFIG naming the keys.
 *
 * *report: {"channels": [{"channel", "status": "delivered" | "failed" |
 * "not configured", "detail" (the server's reply: "250 2.0.0 Ok: queued",
 * "HTTP 202"), "error" (null or one line), "duration_seconds"}, ...],
 * "delivered": N, "failed": N, "_figures": {...}}.  OPS_EFAIL "alert not
 * delivered to slack (HTTP 404), pagerduty (...)" when any configured
 * channel failed; the report is filled either way.
 */
ops_code ops_alerts_send(const ops_run *run, unsigned mask, const ops_alert *a,
			 cJSON **report, ops_error *err);

/*
 * test-alerts.sh: a test alert (a->test set whatever the caller passed),
 * then what proves it end to end: PagerDuty's trigger is followed by a
 * resolve with the same dedup key; Alertmanager's alert is read back from
 * GET /api/v2/alerts (matched by its labels) and then resolved with endsAt.
 * Each step's outcome is in the channel's report ("steps": [...]).
 */
ops_code ops_alerts_test(const ops_run *run, unsigned mask, const ops_alert *a,
			 cJSON **report, ops_error *err);

OPS_API_END
#endif
