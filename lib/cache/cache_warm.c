/*
 * `cache warm`: guide 001's cache warming after a restart ("load top 100
 * queries").  opsctl does not know the application's cache keys or values,
 * so it does not write them: it replays the most frequent recent queries
 * through the application itself (an HTTP endpoint, or a command), which
 * fills its cache the way real traffic would.  Bounded in count and in
 * rate, so that warming a cold service does not become its first outage.
 *
 * The queries come from SQL on the deployment's database (db.h); the
 * requests go through core/http (libcurl) or core/proc (an argv, never a
 * shell: a query is user text).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cache/cache_internal.h"
#include "opsmaint/clock.h"
#include "opsmaint/config.h"
#include "opsmaint/db.h"
#include "opsmaint/http.h"
#include "opsmaint/proc.h"

struct warm {
	const ops_run *run;
	ops_http *http;
	const char *url;
	char **command;		/* cache.warm_command, or NULL */
	long timeout_ms;	/* cache.warm_timeout: one request, one command run */
};

/* "scheme://host:port" of url: what messages and reports may show of it
 * (a path can hold a token). */
static void origin_of(const char *url, char *out, size_t len)
{
	const char *p = strstr(url, "://");
	size_t n = p ? (size_t)(p + 3 - url) + strcspn(p + 3, "/?#") : strcspn(url, "/?#");

	snprintf(out, len, "%.*s", (int)n, url);
}

/* The rows' first column: the queries, most frequent first. */
static ops_code read_queries(const ops_run *run, long limit, cJSON *rep, char ***out,
			     ops_error *err)
{
	const ops_config *cfg = run->cfg;
	const char *target = ops_config_get(cfg, "cache.warm_database");
	const char *query = ops_config_get(cfg, "cache.warm_query");
	time_t since = ops_run_now(run) - ops_config_int(cfg, "cache.warm_since");
	char since_txt[32], *sql = NULL, **list = NULL;
	const char *params[1] = {since_txt};
	ops_rows *rows = NULL;
	ops_db *db = NULL;
	struct tm tm;
	size_t qlen;
	int i, n;
	ops_code rc;

	*out = NULL;
	if (!target || !*target)
		target = ops_config_get(cfg, "db.name");
	if (!target || !*target) {
		rc = ops_error_set(err, OPS_ECONFIG, "no database to read the queries from");
		ops_error_hint(err, "Set cache.warm_database, or db.name (DB_NAME).");
		return rc;
	}
	if (!query || !*query)
		return ops_error_set(err, OPS_ECONFIG, "cache.warm_query is empty");
	gmtime_r(&since, &tm);
	strftime(since_txt, sizeof since_txt, "%Y-%m-%d %H:%M:%S", &tm);
	/* Its own LIMIT would be the operator's to get right; this one is ours.
	 * A trailing ';' would end the subquery. */
	for (qlen = strlen(query); qlen > 0 && strchr("; \t\r\n", query[qlen - 1]); qlen--)
		;
	if (asprintf(&sql, "SELECT * FROM (%.*s) AS opsctl_warm LIMIT %ld", (int)qlen, query,
		     limit) < 0)
		return ops_error_oom(err);
	if ((rc = ops_db_open(cfg, target, &db, err)) != OPS_OK)
		goto out;
	cJSON_AddStringToObject(rep, "database", ops_db_name(db));
	cJSON_AddStringToObject(rep, "since", since_txt);
	rc = ops_db_query(db, sql, strstr(query, "$1") ? 1 : 0, params, &rows, err);
	if (rc != OPS_OK) {
		ops_error_prefix(err, "cache.warm_query");
		goto out;
	}
	n = ops_rows_count(rows);
	if (!(list = calloc((size_t)n + 1, sizeof *list))) {
		rc = ops_error_oom(err);
		goto out;
	}
	for (i = 0; i < n; i++) {
		const char *v = ops_rows_value(rows, i, 0);

		if (!(list[i] = strdup(v ? v : ""))) {
			rc = ops_error_oom(err);
			goto out;
		}
	}
	*out = list;
	list = NULL;
out:
	ops_strv_free(list);
	ops_rows_free(rows);
	ops_db_close(db);
	free(sql);
	return rc;
}

/* One HTTP request: OPS_OK and *result ("HTTP 200"), *ok when 2xx; an
 * error only when the endpoint could not answer at all. */
static ops_code send_http(struct warm *w, const char *q, char *result, size_t len, int *ok,
			  ops_error *err)
{
	static const char *const headers[] = {"Content-Type: application/json",
					      "Accept: application/json", NULL};
	cJSON *body = cJSON_CreateObject();
	ops_http_req req = {.method = "POST", .url = w->url, .headers = headers,
			    .idempotent = OPS_HTTP_IDEMPOTENT, .what = "warm-up request"};
	ops_http_resp resp = {0};
	char *text;
	ops_code rc;

	if (!body || !cJSON_AddStringToObject(body, "query", q) ||
	    !(text = cJSON_PrintUnformatted(body))) {
		cJSON_Delete(body);
		return ops_error_oom(err);
	}
	cJSON_Delete(body);
	req.body = text;
	req.body_len = strlen(text);
	rc = ops_http_request(w->http, &req, &resp, err);
	if (rc == OPS_OK) {
		*ok = resp.status >= 200 && resp.status < 300;
		snprintf(result, len, "HTTP %ld", resp.status);
	}
	ops_http_resp_release(&resp);
	free(text);
	return rc;
}

/*
 * One command: OPS_OK with *ok for its exit; an error when it cannot start
 * or the run was interrupted.  One stuck past cache.warm_timeout is stopped
 * (its process group) and counted failed, and the next query goes on.
 */
static ops_code run_command(struct warm *w, const char *q, char *result, size_t len, int *ok,
			    ops_error *err)
{
	size_t n = ops_strv_len(w->command), i;
	char **argv = calloc(n + 2, sizeof *argv);
	int replaced = 0;
	ops_proc *p = NULL;
	ops_error sub;
	ops_code rc;

	if (!argv)
		return ops_error_oom(err);
	for (i = 0; i < n; i++) {
		if (strcmp(w->command[i], "{query}") == 0) {
			argv[i] = (char *)q;
			replaced = 1;
		} else {
			argv[i] = w->command[i];
		}
	}
	if (!replaced)
		argv[n] = (char *)q;
	/* A script's own children stop with it at the timeout. */
	rc = ops_proc_start(NULL, argv, NULL, OPS_PROC_OWN_GROUP, NULL, NULL, &p, err);
	free(argv);
	if (rc != OPS_OK)
		return rc;
	ops_error_clear(&sub);
	rc = ops_proc_wait_timeout(p, w->timeout_ms, &sub);
	if (rc == OPS_EINTR) {
		*err = sub;
		return rc;
	}
	*ok = rc == OPS_OK;
	/* The command's own message can be long; the report keeps its start. */
	snprintf(result, len, "%.*s", (int)(len - 1), *ok ? "exit 0" : sub.message);
	return OPS_OK;
}

/* Wait until the moment the next request may start (the rate bound). */
static ops_code pace(const ops_run *run, double at, ops_error *err)
{
	double left;

	while ((left = at - ops_clock()) > 0) {
		ops_code rc = ops_run_check_cancel(run, err);

		if (rc != OPS_OK)
			return rc;
		usleep(left > 0.1 ? 100000 : (useconds_t)(left * 1e6));
	}
	return ops_run_check_cancel(run, err);
}

ops_code ops_cache_warm(const ops_run *run, const ops_cache_warm_opts *o, cJSON **report,
			ops_error *err)
{
	const ops_config *cfg = run->cfg;
	long limit = o->limit > 0 ? o->limit : ops_config_int(cfg, "cache.warm_limit");
	long rate = o->rate > 0 ? o->rate : ops_config_int(cfg, "cache.warm_rate");
	struct warm w = {.run = run, .url = ops_config_get(cfg, "cache.warm_url"),
			 .timeout_ms = ops_config_int(cfg, "cache.warm_timeout") * 1000};
	char **queries = NULL, where[300], first[400] = "";
	cJSON *rep = cJSON_CreateObject(), *list, *fig;
	double t0 = ops_clock();
	long warmed = 0, failed = 0;
	size_t i, nq;
	ops_code rc;

	*report = rep;
	if (!rep)
		return ops_error_oom(err);
	if (w.url && !*w.url)
		w.url = NULL;
	w.command = ops_config_list(cfg, "cache.warm_command");
	if (w.command && !w.command[0]) {
		ops_strv_free(w.command);
		w.command = NULL;
	}
	/* A dry run may list the queries before anything is set up to take them. */
	if (!w.url == !w.command && !(run->dry_run && !w.url)) {
		rc = ops_error_set(err, OPS_ECONFIG, w.url ? "both cache.warm_url and "
				   "cache.warm_command are set; cache warm uses one"
				   : "nowhere to send the warm-up queries");
		ops_error_hint(err, "Set cache.warm_url (an HTTP endpoint) or cache.warm_command "
			       "(an argv), not both.");
		goto out;
	}
	if (w.url || w.command) {
		if (w.url)
			origin_of(w.url, where, sizeof where);
		else
			snprintf(where, sizeof where, "%s", w.command[0]);
		cJSON_AddStringToObject(rep, "via", w.url ? "http" : "command");
		cJSON_AddStringToObject(rep, "endpoint", where);
	} else {
		cJSON_AddNullToObject(rep, "via");
		cJSON_AddNullToObject(rep, "endpoint");
	}
	cJSON_AddNumberToObject(rep, "limit", (double)limit);
	cJSON_AddNumberToObject(rep, "rate_per_second", (double)rate);
	cJSON_AddBoolToObject(rep, "dry_run", run->dry_run);
	if ((rc = read_queries(run, limit, rep, &queries, err)) != OPS_OK)
		goto out;
	nq = ops_strv_len(queries);
	if (w.url && !run->dry_run) {
		ops_http_opts ho;

		ops_http_opts_init(&ho);
		ho.name = "cache";
		ho.timeout = (double)w.timeout_ms / 1000.0;
		if ((rc = ops_http_new(&ho, &w.http, err)) != OPS_OK)
			goto out;
	}
	cJSON_AddNumberToObject(rep, "found_queries", (double)nq);
	list = cJSON_AddArrayToObject(rep, "queries");
	for (i = 0; i < nq; i++) {
		cJSON *one = cJSON_CreateObject();
		char result[300] = "";
		double s0;
		int ok = 0;

		cJSON_AddItemToArray(list, one);
		cJSON_AddStringToObject(one, "query", queries[i]);
		if (run->dry_run)
			continue;
		if ((rc = pace(run, t0 + (double)i / (double)rate, err)) != OPS_OK)
			break;
		s0 = ops_clock();
		rc = w.url ? send_http(&w, queries[i], result, sizeof result, &ok, err)
			   : run_command(&w, queries[i], result, sizeof result, &ok, err);
		if (rc != OPS_OK)
			break;
		cJSON_AddStringToObject(one, "result", result);
		cJSON_AddNumberToObject(one, "duration_seconds", ops_clock() - s0);
		if (ok) {
			warmed++;
		} else {
			if (!failed)
				snprintf(first, sizeof first, "%s", result);
			failed++;
		}
		ops_run_progress(run, "warming", (double)(i + 1), (double)nq, "queries", t0, 0);
	}
	if (!run->dry_run)
		ops_run_progress(run, "warming", (double)i, (double)nq, "queries", t0, 1);
	if (run->dry_run)
		goto out;
	cJSON_AddNumberToObject(rep, "warmed", (double)warmed);
	cJSON_AddNumberToObject(rep, "failed", (double)failed);
	fig = cJSON_AddObjectToObject(rep, "_figures");
	cJSON_AddNumberToObject(fig, "opsctl_cache_warm_queries", (double)warmed);
	cJSON_AddNumberToObject(fig, "opsctl_cache_warm_failed", (double)failed);
	if (rc == OPS_OK && failed)
		rc = ops_error_set(err, OPS_EFAIL, "%ld of %zu warm-up queries failed (first: %s)",
				   failed, nq, first);
out:
	ops_http_free(w.http);
	ops_strv_free(w.command);
	ops_strv_free(queries);
	return rc;
}
