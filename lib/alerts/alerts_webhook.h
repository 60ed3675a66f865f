/*
 * What the three HTTP channels (alerts_slack.c, alerts_pagerduty.c,
 * alerts_alertmanager.c) share, so that none of them has its own copy: the
 * client with the [alerts] options, a JSON request that is never sent twice
 * once it may have arrived, the server's answer shortened to one safe line,
 * and the "steps" of a proof in the channel's report.
 */
#ifndef ALERTS_WEBHOOK_H
#define ALERTS_WEBHOOK_H

#include <cjson/cJSON.h>
#include "alerts_internal.h"
#include "opsmaint/http.h"

/* A client with alerts_http_opts() for the channel name ("alerts slack"). */
ops_code alerts_webhook_open(const ops_run *run, const char *name, ops_http **h, ops_error *err);

/*
 * method (NULL: POST with body, GET without) url with body as its JSON
 * (NULL: none), Content-Type and Accept application/json.  secret_url: the
 * URL is a credential (traces and messages name only its origin).  what
 * starts error messages (NULL: none).  *resp as ops_http_request leaves it.
 */
ops_code alerts_webhook_json(ops_http *h, const char *method, const char *url, int secret_url,
			     const char *what, const cJSON *body, ops_http_resp *resp,
			     ops_error *err);

/*
 * The answer's body as one line for a report or an error: the first line,
 * control bytes and quotes replaced, at most 120 bytes (cut on a UTF-8
 * character boundary), "" when there is none.  hide (may be NULL) is a
 * secret the server might echo, replaced by "***".
 */
void alerts_webhook_reply(const ops_http_resp *r, const char *hide, char *out, size_t size);

/* Append {"step", "status", "detail"} to out's "steps" array (made on first use). */
void alerts_webhook_step(cJSON *out, const char *step, const char *status, const char *detail);

#endif
