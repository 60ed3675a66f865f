/*
 * Inside lib/alerts: the dispatcher (alerts.c) and one module per channel
 * (alerts_email.c, alerts_slack.c, alerts_pagerduty.c,
 * alerts_alertmanager.c).  A channel gets the message already composed and
 * fills its own report object; it never prints and never logs a secret.
 */
#ifndef OPSMAINT_ALERTS_INTERNAL_H
#define OPSMAINT_ALERTS_INTERNAL_H

#include <cjson/cJSON.h>
#include "opsmaint/alerts.h"
#include "opsmaint/error.h"
#include "opsmaint/run.h"

/* What every channel sends, composed once by alerts.c. */
typedef struct alerts_msg {
	const ops_alert *alert;
	const char *host;		/* gethostname() */
	const char *environment;	/* general.environment */
	const char *severity;		/* "critical", "warning", "info" */
	const char *dedup_key;		/* the alert's, or "opsctl-NAME-HOST-ENV" */
	char *subject;			/* "[opsctl] [TEST] CRITICAL host prod: summary" */
	char *text;			/* the body: summary, detail, host, environment, command, time */
	time_t at;			/* when the problem was seen (now) */
} alerts_msg;

typedef struct alerts_channel {
	unsigned bit;			/* OPS_ALERT_EMAIL ... */
	const char *name;		/* "email" */
	/* What configures the destination, for an error about it: a key
	 * ("alerts.alertmanager_url"), or the places a secret one comes from. */
	const char *key;
	int secret;			/* the destination is a credential: never shown */
	/* 1 when the configuration names this channel's destination, even
	 * in part (a key set, another it needs missing). */
	int (*configured)(const ops_config *cfg);
	/*
	 * NULL when the channel's keys are complete, else the one line naming
	 * what is missing ("alerts.email_to is not set, but alerts.smtp_url
	 * is"): the channel fails as misconfigured, never skipped in silence.
	 * May be NULL when one key configures the channel.
	 */
	const char *(*incomplete)(const ops_config *cfg);
	/*
	 * Deliver m.  test: also do the channel's proof steps (PagerDuty
	 * resolve, Alertmanager read-back then resolve).  Fills out with
	 * "detail" (the server's reply, never a secret) and, when there are
	 * several, "steps": [{"step", "status", "detail"}].  OPS_OK only when
	 * delivery is proven; otherwise an error whose one line names the
	 * cause (HTTP 404, "535 authentication failed", certificate expired).
	 */
	ops_code (*send)(const ops_run *run, const alerts_msg *m, int test, cJSON *out,
			 ops_error *err);
} alerts_channel;

extern const alerts_channel alerts_email;
extern const alerts_channel alerts_slack;
extern const alerts_channel alerts_pagerduty;
extern const alerts_channel alerts_alertmanager;

/*
 * HTTP client options every HTTP channel uses: alerts.timeout for the whole
 * attempt and the connect, alerts.ca_file, no retries for a request that
 * may have reached the server (a notification sent twice is noise), name
 * for log lines ("alerts slack").
 */
struct ops_http_opts;
void alerts_http_opts(const ops_config *cfg, const char *name, struct ops_http_opts *o);

#endif
