/*
 * Prometheus Alertmanager through its API v2: alerts are POSTed as a JSON
 * array to ALERTMANAGER/api/v2/alerts, which answers 200 once they are in
 * its store; GET /api/v2/alerts?filter=label="value" lists the active ones.
 * An alert is labelled {alertname, severity, instance (the host),
 * environment, job="opsctl", dedup_key} plus test="true" and a unique
 * test_id for a test, annotated {summary, description}, with startsAt; a
 * recovery is the same labels again with endsAt = now.
 *
 * A test proves the round trip: post, read it back from the list (polled
 * within alerts.timeout, matched by test_id), resolve it, and see it leave
 * the list.  A read-back that fails still resolves it: a test alert never
 * stays firing until its endsAt.  A recovery resolves the alerts Alertmanager holds for the
 * problem (alertname, instance, environment, dedup_key) with the labels
 * they fired with, since the severity it was raised at is not known here.
 *
 * A firing alert ends alerts.alertmanager_ends_after (25 h) from now:
 * Alertmanager resolves an alert without endsAt after its resolve_timeout
 * (5 minutes), and telling the receivers so would be a false recovery,
 * since opsctl health does not post a lasting problem again before
 * health.notify_repeat (24 h).  No silences, no API v1 (removed in
 * Alertmanager 0.27), no cluster peers beyond the one URL.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alerts_webhook.h"
#include "opsmaint/cancel.h"
#include "opsmaint/clock.h"
#include "opsmaint/config.h"

/* Time between two reads of the list while waiting for a change. */
#define POLL_SECONDS 0.2

static int configured(const ops_config *cfg)
{
	const char *url = ops_config_get(cfg, "alerts.alertmanager_url");

	return url && *url;
}

struct am {
	ops_http *h;
	long ends_after;	/* alerts.alertmanager_ends_after: a firing alert's endsAt - now */
	char *alerts_url;	/* BASE/api/v2/alerts */
	double deadline;	/* of the polls, on ops_clock() */
	char test_id[40];	/* "" unless a test */
};

static cJSON *labels_of(const alerts_msg *m, const struct am *am)
{
	const ops_alert *a = m->alert;
	cJSON *l = cJSON_CreateObject();

	if (!l || !cJSON_AddStringToObject(l, "alertname", a->name ? a->name : "OpsctlAlert") ||
	    !cJSON_AddStringToObject(l, "severity", m->severity) ||
	    !cJSON_AddStringToObject(l, "instance", m->host) ||
	    !cJSON_AddStringToObject(l, "environment", m->environment) ||
	    !cJSON_AddStringToObject(l, "job", "opsctl") ||
	    !cJSON_AddStringToObject(l, "dedup_key", m->dedup_key) ||
	    (*am->test_id && (!cJSON_AddStringToObject(l, "test", "true") ||
			      !cJSON_AddStringToObject(l, "test_id", am->test_id)))) {
		cJSON_Delete(l);
		return NULL;
	}
	return l;
}

/* [{"labels", "annotations", "startsAt", "endsAt"}] for m; ends: the endsAt of a recovery, 0 when firing. */
static cJSON *alerts_of(const alerts_msg *m, const struct am *am, time_t ends)
{
	cJSON *arr = cJSON_CreateArray(), *one = cJSON_CreateObject(), *l = labels_of(m, am), *an;
	char when[OPS_TIME_ISO_SIZE];

	if (!ends && am->ends_after > 0)
		ends = m->at + am->ends_after;
	if (!arr || !one || !l) {
		cJSON_Delete(arr);
		cJSON_Delete(one);
		cJSON_Delete(l);
		return NULL;
	}
	cJSON_AddItemToArray(arr, one);
	cJSON_AddItemToObject(one, "labels", l);
	an = cJSON_AddObjectToObject(one, "annotations");
	if (!an || !cJSON_AddStringToObject(an, "summary", m->alert->summary ? m->alert->summary : "") ||
	    !cJSON_AddStringToObject(an, "description", m->text) ||
	    !cJSON_AddStringToObject(one, "startsAt", ops_time_iso(m->at, when)) ||
	    (ends && !cJSON_AddStringToObject(one, "endsAt", ops_time_iso(ends, when)))) {
		cJSON_Delete(arr);
		return NULL;
	}
	return arr;
}

/* What Alertmanager said in a refusal: its JSON string without quotes, or the first line. */
static void refusal(const ops_http_resp *r, char *out, size_t size)
{
	cJSON *j = r->body ? cJSON_ParseWithLength(r->body, r->len) : NULL;
	const char *s = cJSON_GetStringValue(j);
	ops_http_resp shown = {0};

	shown.body = s ? (char *)s : r->body;
	shown.len = s ? strlen(s) : r->len;
	alerts_webhook_reply(&shown, NULL, out, size);
	cJSON_Delete(j);
}

static ops_code post(struct am *am, const char *step, cJSON *alerts, char *detail, size_t dsize,
		     ops_error *err)
{
	ops_http_resp r = {0};
	char why[160];
	ops_code rc;

	*detail = '\0';
	rc = alerts_webhook_json(am->h, "POST", am->alerts_url, 0, step, alerts, &r, err);
	if (rc == OPS_OK && r.status != 200) {
		refusal(&r, why, sizeof why);
		snprintf(detail, dsize, "HTTP %ld%s%s", r.status, *why ? " " : "", why);
		rc = ops_error_set(err, OPS_EFAIL, "%s: Alertmanager answered HTTP %ld%s%s", step,
				   r.status, *why ? ": " : "", why);
	} else if (rc == OPS_OK) {
		snprintf(detail, dsize, "HTTP 200");
	} else {
		snprintf(detail, dsize, "no answer: %.150s", err->message);
	}
	ops_http_resp_release(&r);
	return rc;
}

/* name="value" with value's '"', '\\' and newlines escaped as Alertmanager's matchers read them. */
static char *matcher(const char *name, const char *value)
{
	size_t n = strlen(name), o = n + 2, i;
	char *out = malloc(n + 2 * strlen(value) + 4);

	if (!out)
		return NULL;
	memcpy(out, name, n);
	out[n] = '=';
	out[n + 1] = '"';
	for (i = 0; value[i]; i++) {
		if (value[i] == '"' || value[i] == '\\' || value[i] == '\n')
			out[o++] = '\\';
		out[o++] = value[i] == '\n' ? 'n' : value[i];
	}
	out[o++] = '"';
	out[o] = '\0';
	return out;
}

/*
 * The active alerts whose labels match m's alertname, instance,
 * environment and dedup_key (and test_id for a test): *list, an array.
 */
static ops_code list(struct am *am, const alerts_msg *m, const char *step, cJSON **list,
		     ops_error *err)
{
	const char *names[] = { "alertname", "instance", "environment", "dedup_key", "test_id" };
	const char *values[5] = {
		m->alert->name ? m->alert->name : "OpsctlAlert", m->host, m->environment,
		m->dedup_key, am->test_id
	};
	char *url = NULL, *q, *filter = NULL, *esc = NULL;
	ops_http_resp r = {0};
	ops_code rc = OPS_OK;
	size_t i;

	*list = NULL;
	if (!(url = strdup(am->alerts_url)))
		return ops_error_oom(err);
	for (i = 0; i < 5 && rc == OPS_OK; i++) {
		if (!*values[i])
			continue;
		/* Label matchers as amtool writes them: name="value", the value's
		 * '"' and '\\' escaped, else a quote in it ends the matcher. */
		if (!(filter = matcher(names[i], values[i]))) {
			rc = ops_error_oom(err);
		} else if (!(esc = ops_http_escape(filter, "")) ||
			   asprintf(&q, "%s%sfilter=%s", url, strchr(url, '?') ? "&" : "?", esc) < 0) {
			rc = ops_error_oom(err);
		} else {
			free(url);
			url = q;
		}
		free(filter);
		free(esc);
		filter = esc = NULL;
	}
	if (rc == OPS_OK)
		rc = alerts_webhook_json(am->h, "GET", url, 0, step, NULL, &r, err);
	free(url);
	if (rc != OPS_OK)
		goto out;
	if (r.status != 200) {
		char why[160];

		refusal(&r, why, sizeof why);
		rc = ops_error_set(err, OPS_EFAIL, "%s: Alertmanager answered HTTP %ld to the "
				   "list of alerts%s%s", step, r.status, *why ? ": " : "", why);
		goto out;
	}
	*list = r.body ? cJSON_ParseWithLength(r.body, r.len) : NULL;
	if (!cJSON_IsArray(*list)) {
		cJSON_Delete(*list);
		*list = NULL;
		rc = ops_error_set(err, OPS_EDATA, "%s: Alertmanager's list of alerts is not a "
				   "JSON array (is alerts.alertmanager_url an Alertmanager?)", step);
	}
out:
	ops_http_resp_release(&r);
	return rc;
}

static void pause_poll(void)
{
	struct timespec ts = { 0, (long)(POLL_SECONDS * 1e9) };

	nanosleep(&ts, NULL);
}

/*
 * Poll the list until the test's alert is in it (want 1) or gone from it
 * (want 0), up to am->deadline.  detail says how long it took.
 */
static ops_code wait_listed(struct am *am, const alerts_msg *m, const char *step, int want,
			    char *detail, size_t dsize, ops_error *err)
{
	double t0 = ops_clock();
	cJSON *l = NULL;
	ops_code rc;
	int n;

	for (;;) {
		if ((rc = list(am, m, step, &l, err)) != OPS_OK)
			return rc;
		n = cJSON_GetArraySize(l);
		cJSON_Delete(l);
		if ((n > 0) == want) {
			snprintf(detail, dsize, "%s after %.1f s", want ? "listed" : "no longer listed",
				 ops_clock() - t0);
			return OPS_OK;
		}
		if (ops_clock() + POLL_SECONDS > am->deadline)
			break;
		if ((rc = ops_cancel_check(err)) != OPS_OK)
			return rc;
		pause_poll();
	}
	snprintf(detail, dsize, "%s after %.1f s", want ? "not listed" : "still listed",
		 ops_clock() - t0);
	return ops_error_set(err, OPS_EFAIL, want
			     ? "%s: the alert posted is not in Alertmanager's list after %.1f s "
			       "(alerts.timeout)"
			     : "%s: the alert resolved is still in Alertmanager's list after %.1f s "
			       "(alerts.timeout)", step, ops_clock() - t0);
}

/* A recovery: the alerts held for the problem, whatever severity they fired with, ended now. */
static ops_code resolve_held(struct am *am, const alerts_msg *m, cJSON *out, ops_error *err)
{
	char when[OPS_TIME_ISO_SIZE], detail[200];
	cJSON *held = NULL, *a, *body;
	ops_code rc;
	int n = 0;

	if ((rc = list(am, m, "resolve", &held, err)) != OPS_OK)
		return rc;
	body = cJSON_CreateArray();
	cJSON_ArrayForEach(a, held) {
		cJSON *one = body ? cJSON_CreateObject() : NULL, *l, *an, *st;

		l = cJSON_GetObjectItemCaseSensitive(a, "labels");
		an = cJSON_GetObjectItemCaseSensitive(a, "annotations");
		st = cJSON_GetObjectItemCaseSensitive(a, "startsAt");
		if (!one || !cJSON_IsObject(l) ||
		    !cJSON_AddItemToObject(one, "labels", cJSON_Duplicate(l, 1)) ||
		    (cJSON_IsObject(an) &&
		     !cJSON_AddItemToObject(one, "annotations", cJSON_Duplicate(an, 1))) ||
		    (cJSON_IsString(st) && !cJSON_AddStringToObject(one, "startsAt", st->valuestring)) ||
		    !cJSON_AddStringToObject(one, "endsAt", ops_time_iso(time(NULL), when))) {
			cJSON_Delete(one);
			continue;
		}
		cJSON_AddItemToArray(body, one);
		n++;
	}
	cJSON_Delete(held);
	if (!n) {
		/* Nothing held (a restart, or its resolve_timeout passed): the
		 * recovery is still said, in case another peer of a cluster holds it. */
		cJSON_Delete(body);
		body = alerts_of(m, am, time(NULL));
	}
	if (!body)
		return ops_error_oom(err);
	rc = post(am, "resolve", body, detail, sizeof detail, err);
	cJSON_Delete(body);
	if (rc == OPS_OK)
		snprintf(detail + strlen(detail), sizeof detail - strlen(detail),
			 ", %d active alert%s resolved", n, n == 1 ? "" : "s");
	cJSON_AddStringToObject(out, "detail", detail);
	cJSON_AddNumberToObject(out, "resolved_alerts", n);
	return rc;
}

/* The test's round trip: post, read back, resolve, see it gone. */
static ops_code round_trip(struct am *am, const alerts_msg *m, cJSON *out, ops_error *err)
{
	char detail[200], summary[600] = "";
	cJSON *body;
	ops_code rc;

	body = alerts_of(m, am, 0);
	if (!body)
		return ops_error_oom(err);
	rc = post(am, "post", body, detail, sizeof detail, err);
	cJSON_Delete(body);
	alerts_webhook_step(out, "post", rc == OPS_OK ? "delivered" : "failed", detail);
	snprintf(summary, sizeof summary, "post %s", detail);
	if (rc != OPS_OK)
		goto out;
	rc = wait_listed(am, m, "read back", 1, detail, sizeof detail, err);
	alerts_webhook_step(out, "read back", rc == OPS_OK ? "delivered" : "failed", detail);
	snprintf(summary + strlen(summary), sizeof summary - strlen(summary), "; read back %s",
		 detail);
	if (rc != OPS_OK) {
		/* Alertmanager took the alert: whatever the read-back saw (a list
		 * it could not give, a filter that missed), the test alert is
		 * ended now, never left firing until its endsAt. */
		ops_error read_err = *err, e2;

		ops_error_clear(&e2);
		body = alerts_of(m, am, time(NULL));
		if (!body)
			return ops_error_oom(err);
		if (post(am, "resolve", body, detail, sizeof detail, &e2) == OPS_OK)
			snprintf(detail + strlen(detail), sizeof detail - strlen(detail),
				 ", ended without the read-back");
		cJSON_Delete(body);
		alerts_webhook_step(out, "resolve", e2.code == OPS_OK ? "delivered" : "failed", detail);
		snprintf(summary + strlen(summary), sizeof summary - strlen(summary), "; resolve %s",
			 detail);
		*err = read_err;
		goto out;
	}
	body = alerts_of(m, am, time(NULL));
	if (!body)
		return ops_error_oom(err);
	rc = post(am, "resolve", body, detail, sizeof detail, err);
	cJSON_Delete(body);
	if (rc == OPS_OK) {
		size_t used = strlen(detail);

		detail[used++] = ',';
		detail[used++] = ' ';
		rc = wait_listed(am, m, "resolve", 0, detail + used, sizeof detail - used, err);
	}
	alerts_webhook_step(out, "resolve", rc == OPS_OK ? "delivered" : "failed", detail);
	snprintf(summary + strlen(summary), sizeof summary - strlen(summary), "; resolve %s",
		 detail);
out:
	cJSON_AddStringToObject(out, "detail", summary);
	return rc;
}

static ops_code send(const ops_run *run, const alerts_msg *m, int test, cJSON *out, ops_error *err)
{
	const char *base = ops_config_get(run->cfg, "alerts.alertmanager_url");
	struct am am = {0};
	char detail[200];
	size_t n;
	ops_code rc;
	cJSON *body;

	if (!base || !*base)
		return ops_error_set(err, OPS_ECONFIG, "alerts.alertmanager_url is empty");
	n = strlen(base);
	while (n > 0 && base[n - 1] == '/')
		n--;
	if (asprintf(&am.alerts_url, "%.*s/api/v2/alerts", (int)n, base) < 0)
		return ops_error_oom(err);
	if ((rc = alerts_webhook_open(run, "alerts alertmanager", &am.h, err)) != OPS_OK)
		goto out;
	am.deadline = ops_clock() + (double)ops_config_int(run->cfg, "alerts.timeout");
	am.ends_after = ops_config_int(run->cfg, "alerts.alertmanager_ends_after");
	if (test) {
		/* Unique per run, so that no earlier test's alert passes for this one. */
		snprintf(am.test_id, sizeof am.test_id, "%llx-%ld",
			 (unsigned long long)(ops_wall_clock() * 1e6), (long)getpid());
		cJSON_AddStringToObject(out, "test_id", am.test_id);
		rc = round_trip(&am, m, out, err);
	} else if (m->alert->resolved) {
		rc = resolve_held(&am, m, out, err);
	} else {
		body = alerts_of(m, &am, 0);
		if (!body) {
			rc = ops_error_oom(err);
			goto out;
		}
		rc = post(&am, "post", body, detail, sizeof detail, err);
		cJSON_Delete(body);
		cJSON_AddStringToObject(out, "detail", detail);
	}
out:
	ops_http_free(am.h);
	free(am.alerts_url);
	return rc;
}

const alerts_channel alerts_alertmanager = {
	.bit = OPS_ALERT_ALERTMANAGER, .name = "alertmanager",
	.key = "alerts.alertmanager_url", .configured = configured, .send = send
};
