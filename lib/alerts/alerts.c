/*
 * The alert dispatcher: the message composed once (subject, body, host,
 * environment, dedup key), then each channel in a fixed order, each within
 * its own timeout, a failing one never stopping the next.  What a channel
 * proved ends up in one report; the run fails when any configured channel
 * could not prove delivery.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alerts_internal.h"
#include "opsmaint/clock.h"
#include "opsmaint/config.h"
#include "opsmaint/log.h"

/* The order channels are tried and reported in. */
static const alerts_channel *const channels[] = {
	&alerts_email, &alerts_slack, &alerts_pagerduty, &alerts_alertmanager, NULL
};

/* What configures each, for the message when nothing does. */
static const char *const channel_keys[] = {
	"alerts.smtp_url and alerts.email_to",
	"SLACK_WEBHOOK_URL or alerts.slack_webhook_file",
	"PAGERDUTY_ROUTING_KEY or alerts.pagerduty_routing_key_file",
	"alerts.alertmanager_url",
};

static const char *const channel_names[] = { "email", "slack", "pagerduty", "alertmanager" };

const char *ops_alerts_channel_name(unsigned channel)
{
	size_t i;

	for (i = 0; i < 4; i++)
		if (channel == 1u << i)
			return channel_names[i];
	return "?";
}

ops_code ops_alerts_parse_channels(char *const *names, unsigned *mask, ops_error *err)
{
	size_t i, k;

	*mask = 0;
	for (i = 0; names && names[i]; i++) {
		if (strcmp(names[i], "all") == 0) {
			*mask |= OPS_ALERT_ALL;
			continue;
		}
		for (k = 0; k < 4 && strcmp(names[i], channel_names[k]) != 0; k++)
			;
		if (k == 4)
			return ops_error_set(err, OPS_EUSAGE,
					     "unknown alert channel '%s' (email, slack, pagerduty, "
					     "alertmanager or all)", names[i]);
		*mask |= 1u << k;
	}
	if (!*mask)
		*mask = OPS_ALERT_ALL;
	return OPS_OK;
}

/* The bit each channel module claims must be the one this table gives it:
 * a placeholder (bit 0) is never configured. */
static int channel_configured(const alerts_channel *c, const ops_config *cfg)
{
	return c->bit && c->configured(cfg);
}

unsigned ops_alerts_configured(const ops_config *cfg, unsigned mask)
{
	unsigned out = 0;
	size_t i;

	for (i = 0; channels[i]; i++)
		if ((mask & (1u << i)) && channel_configured(channels[i], cfg))
			out |= 1u << i;
	return out;
}

static const char *severity_name(ops_alert_severity s)
{
	return s == OPS_ALERT_CRITICAL ? "critical" : s == OPS_ALERT_WARNING ? "warning" : "info";
}

static void upper(char *dst, size_t size, const char *src)
{
	size_t i;

	for (i = 0; src[i] && i + 1 < size; i++)
		dst[i] = (char)(src[i] >= 'a' && src[i] <= 'z' ? src[i] - 32 : src[i]);
	dst[i] = '\0';
}

/* Subject, body and the dedup key, from the alert and where it is sent from. */
static ops_code compose(const ops_run *run, const ops_alert *a, alerts_msg *m, char *host,
			size_t host_size, char **dedup, ops_error *err)
{
	char sev[16], when[32];
	struct tm tm;
	const char *env = run->environment ? run->environment
			  : ops_config_get(run->cfg, "general.environment");

	memset(m, 0, sizeof *m);
	m->alert = a;
	if (gethostname(host, host_size) != 0 || !*host)
		snprintf(host, host_size, "localhost");
	host[host_size - 1] = '\0';
	m->host = host;
	m->environment = env ? env : "prod";
	m->severity = severity_name(a->severity);
	m->at = ops_run_now(run);
	*dedup = NULL;
	if (!a->dedup_key &&
	    asprintf(dedup, "opsctl-%s-%s%s%s-%s", a->name ? a->name : "alert",
		     a->scope ? a->scope : "", a->scope ? "-" : "", m->host, m->environment) < 0)
		return ops_error_oom(err);
	m->dedup_key = a->dedup_key ? a->dedup_key : *dedup;
	upper(sev, sizeof sev, m->severity);
	gmtime_r(&m->at, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (asprintf(&m->subject, "[opsctl]%s %s on %s (%s): %s", a->test ? " [TEST]" : "",
		     a->resolved ? "RESOLVED" : sev, m->host, m->environment,
		     a->summary ? a->summary : "") < 0) {
		m->subject = NULL;
		return ops_error_oom(err);
	}
	if (asprintf(&m->text, "%s%s%s\n\n%s%shost: %s\nenvironment: %s\ncommand: opsctl %s\n"
		     "severity: %s\ntime: %s\n%s",
		     a->test ? "[TEST] " : "", a->resolved ? "RESOLVED: " : "",
		     a->summary ? a->summary : "", a->detail ? a->detail : "",
		     a->detail ? "\n\n" : "", m->host, m->environment,
		     a->command ? a->command : "alerts", a->resolved ? "resolved" : m->severity, when,
		     a->test ? "\nThis is a test alert sent by `opsctl alerts test`; "
			       "no action is needed.\n" : "") < 0) {
		m->text = NULL;
		return ops_error_oom(err);
	}
	return OPS_OK;
}

static void msg_release(alerts_msg *m)
{
	free(m->subject);
	free(m->text);
	m->subject = m->text = NULL;
}

/* Every channel's one line, for the run's error. */
static void add_failure(char *buf, size_t size, const char *channel, const char *why)
{
	size_t used = strlen(buf);

	snprintf(buf + used, size - used, "%s%s (%s)", used ? ", " : "", channel, why);
}

/*
 * A configuration a channel could not use (OPS_ECONFIG), named by its key:
 * "alerts.alertmanager_url ('ftp://am/'): post: 'ftp...' is not an
 * http:// or https:// URL", "alerts.ca_file: cannot use the CA
 * certificates ...".  The value is shown unless it is a credential or may
 * hold one (user information, a query).
 */
static void name_key(const alerts_channel *c, const ops_config *cfg, char *line, size_t size)
{
	const char *key = strstr(line, "CA certificates") ? "alerts.ca_file"
			  : strstr(line, "URL") ? c->key : NULL;
	const char *v = key && strncmp(key, "alerts.", 7) == 0 ? ops_config_get(cfg, key) : NULL;
	char *was;

	if (!key || strstr(line, key) || !(was = strdup(line)))
		return;
	if (v && !c->secret && key == c->key && !strpbrk(v, "@?#"))
		snprintf(line, size, "%s ('%s'): %s", key, v, was);
	else
		snprintf(line, size, "%s: %s", key, was);
	free(was);
}

/* alerts.ca_file, when set, must be readable before anything is sent. */
static ops_code ca_check(const ops_config *cfg, ops_error *err)
{
	const char *ca = ops_config_get(cfg, "alerts.ca_file");

	if (ca && *ca && access(ca, R_OK) != 0)
		return ops_error_set(err, OPS_ECONFIG, "alerts.ca_file: cannot read '%s': %s", ca,
				     strerror(errno));
	return OPS_OK;
}

static ops_code dispatch(const ops_run *run, unsigned mask, const ops_alert *a, int test,
			 cJSON **report, ops_error *err)
{
	unsigned configured = ops_alerts_configured(run->cfg, mask);
	int explicit = mask != OPS_ALERT_ALL, delivered = 0, failed = 0, misconfigured = 0;
	cJSON *rep, *list, *figs, *per;
	char host[256], *dedup = NULL, failures[1024] = "", nothing[512] = "";
	alerts_msg m;
	ops_code rc;
	size_t i;

	*report = NULL;
	if (!configured) {
		for (i = 0; channels[i]; i++)
			if (mask & (1u << i))
				snprintf(nothing + strlen(nothing), sizeof nothing - strlen(nothing),
					 "%s%s", *nothing ? "; " : "", channel_keys[i]);
		ops_error_set(err, OPS_ECONFIG, "no alert channel is configured%s%s",
			      explicit ? " among those asked for: set " : ": set ", nothing);
		ops_error_hint(err, "See opsctl.conf(5), section [alerts]; secrets go in "
			       "files of mode 0600 or the environment.");
		return OPS_ECONFIG;
	}
	if ((rc = ca_check(run->cfg, err)) != OPS_OK)
		return rc;
	rc = compose(run, a, &m, host, sizeof host, &dedup, err);
	rep = cJSON_CreateObject();
	list = rep ? cJSON_AddArrayToObject(rep, "channels") : NULL;
	if (rc != OPS_OK || !list) {
		msg_release(&m);
		free(dedup);
		cJSON_Delete(rep);
		return rc != OPS_OK ? rc : ops_error_oom(err);
	}
	for (i = 0; channels[i]; i++) {
		const alerts_channel *c = channels[i];
		cJSON *one;
		ops_error e;
		double t0;

		if (!(mask & (1u << i)))
			continue;
		one = cJSON_CreateObject();
		if (!one)
			break;
		cJSON_AddStringToObject(one, "channel", channel_names[i]);
		if (!(configured & (1u << i))) {
			cJSON_AddStringToObject(one, "status", "not configured");
			cJSON_AddStringToObject(one, "detail", channel_keys[i]);
			if (explicit) {
				cJSON_AddStringToObject(one, "error", "not configured");
				add_failure(failures, sizeof failures, channel_names[i],
					    "not configured");
				failed++;
			} else {
				cJSON_AddNullToObject(one, "error");
			}
			cJSON_AddItemToArray(list, one);
			continue;
		}
		if (ops_cancelled()) {
			cJSON_Delete(one);
			break;
		}
		ops_error_clear(&e);
		t0 = ops_clock();
		if (c->incomplete && c->incomplete(run->cfg))
			rc = ops_error_set(&e, OPS_ECONFIG, "%s", c->incomplete(run->cfg));
		else
			rc = c->send(run, &m, test, one, &e);
		cJSON_AddNumberToObject(one, "duration_seconds",
					(double)(long long)((ops_clock() - t0) * 1000.0 + 0.5) / 1000.0);
		cJSON_DeleteItemFromObjectCaseSensitive(one, "status");
		cJSON_DeleteItemFromObjectCaseSensitive(one, "error");
		if (rc == OPS_OK) {
			cJSON_AddStringToObject(one, "status", "delivered");
			cJSON_AddNullToObject(one, "error");
			delivered++;
			ops_log_info("alert%s to %s: delivered", a->resolved ? " resolution" : "",
				     channel_names[i]);
		} else {
			char line[sizeof e.message];

			snprintf(line, sizeof line, "%s", e.message[0] ? e.message : ops_code_name(rc));
			line[strcspn(line, "\n")] = '\0';
			if (rc == OPS_ECONFIG) {
				name_key(c, run->cfg, line, sizeof line);
				misconfigured++;
			}
			cJSON_AddStringToObject(one, "status", "failed");
			cJSON_AddStringToObject(one, "error", line);
			add_failure(failures, sizeof failures, channel_names[i], line);
			failed++;
			/* The run's error line names every failed channel: once is
			 * enough, and -v shows each as it happens. */
			ops_log_info("alert to %s not delivered: %s", channel_names[i], line);
		}
		cJSON_AddItemToArray(list, one);
	}
	cJSON_AddStringToObject(rep, "severity", m.severity);
	cJSON_AddBoolToObject(rep, "test", test != 0);
	cJSON_AddBoolToObject(rep, "resolved", a->resolved != 0);
	cJSON_AddStringToObject(rep, "subject", m.subject);
	cJSON_AddNumberToObject(rep, "delivered", delivered);
	cJSON_AddNumberToObject(rep, "failed", failed);
	figs = cJSON_AddObjectToObject(rep, "_figures");
	if (figs) {
		cJSON *one;

		cJSON_AddNumberToObject(figs, "opsctl_alerts_delivered", delivered);
		cJSON_AddNumberToObject(figs, "opsctl_alerts_failed", failed);
		/* Per channel, 1 delivered / 0 not: an alert on a silent channel. */
		per = cJSON_AddObjectToObject(figs, "opsctl_alerts_channel_delivered");
		per = per ? cJSON_AddObjectToObject(per, "channel") : NULL;
		cJSON_ArrayForEach(one, list) {
			const char *st = cJSON_GetStringValue(cJSON_GetObjectItem(one, "status"));

			if (per && st && strcmp(st, "not configured") != 0)
				cJSON_AddNumberToObject(per, cJSON_GetStringValue(
					cJSON_GetObjectItem(one, "channel")),
					strcmp(st, "delivered") == 0);
		}
	}
	msg_release(&m);
	free(dedup);
	*report = rep;
	if (ops_cancelled())
		return ops_cancel_check(err);
	/* A channel the configuration does not let opsctl use is the
	 * configuration's fault (78), whatever the others did. */
	if (failed)
		return ops_error_set(err, misconfigured ? OPS_ECONFIG : OPS_EFAIL,
				     "alert not delivered to %s", failures);
	return OPS_OK;
}

ops_code ops_alerts_send(const ops_run *run, unsigned mask, const ops_alert *a,
			 cJSON **report, ops_error *err)
{
	return dispatch(run, mask, a, a->test, report, err);
}

ops_code ops_alerts_test(const ops_run *run, unsigned mask, const ops_alert *a,
			 cJSON **report, ops_error *err)
{
	ops_alert t = *a;

	t.test = 1;
	return dispatch(run, mask, &t, 1, report, err);
}
