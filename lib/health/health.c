/*
 * The health engine: which components run and in what order, the time
 * budget of the whole run, each component's state, the status line and
 * perfdata of the monitoring-plugins convention, the state kept between
 * runs, the notification of -n (once per problem, once on recovery) and
 * guide 002's auto-restart.  The components themselves are in
 * health_http.c, health_local.c and health_data.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "health_internal.h"
#include "opsmaint/alerts.h"
#include "opsmaint/clock.h"
#include "opsmaint/fileio.h"
#include "opsmaint/log.h"
#include "opsmaint/proc.h"

#define STATE_MAX (4 * 1024 * 1024)


struct component {
	unsigned bit;
	const char *name;
	health_fn fn;
};

/* Reported in the guide's order (api, db, vector, llm), then the others. */
static const struct component components[] = {
	{OPS_HEALTH_API, "api", health_api},
	{OPS_HEALTH_DB, "db", health_db},
	{OPS_HEALTH_VECTOR, "vector", health_vector},
	{OPS_HEALTH_LLM, "llm", health_llm},
	{OPS_HEALTH_REDIS, "redis", health_redis},
	{OPS_HEALTH_DISK, "disk", health_disk},
	{OPS_HEALTH_LOGS, "logs", health_logs},
	{OPS_HEALTH_BACKUPS, "backups", health_backups},
};
#define NCOMP (sizeof components / sizeof components[0])

/*
 * Run in order of cost: the local checks first, the network endpoints that
 * can stall last, so that a stalled API spends its own timeout and never
 * the disk's.  Indexes into components[].
 */
static const int run_order[NCOMP] = {5, 6, 4, 1, 7, 2, 0, 3};

static const char *const state_names[] = {"OK", "WARNING", "CRITICAL", "UNKNOWN"};

ops_code ops_health_parse_components(char *const *names, unsigned *mask, ops_error *err)
{
	size_t i, k;

	*mask = 0;
	for (i = 0; names && names[i]; i++) {
		if (strcmp(names[i], "all") == 0) {
			*mask |= OPS_HEALTH_ALL;
			continue;
		}
		for (k = 0; k < NCOMP && strcmp(names[i], components[k].name) != 0; k++)
			;
		if (k == NCOMP)
			return ops_error_set(err, OPS_EUSAGE, "unknown health component '%s' (api, "
					     "db, vector, llm, redis, disk, logs, backups or all)",
					     names[i]);
		*mask |= components[k].bit;
	}
	if (!*mask)
		*mask = OPS_HEALTH_ALL;
	return OPS_OK;
}

/* ---- the state kept between runs ---- */

struct state_file {
	char *dir, *path;
	int lock_fd;
	cJSON *root;
};

static cJSON *object_member(cJSON *parent, const char *name)
{
	cJSON *o = cJSON_GetObjectItemCaseSensitive(parent, name);

	if (cJSON_IsObject(o))
		return o;
	cJSON_DeleteItemFromObjectCaseSensitive(parent, name);
	return cJSON_AddObjectToObject(parent, name);
}

/*
 * Lock and read STATE_DIR/health/state.json.  Two runs at once (cron's and
 * a person's) take turns for up to wait seconds: both would count the same
 * new log lines and send the same notification.
 */
static ops_code state_open(const ops_config *cfg, double wait, struct state_file *sf,
			   ops_error *err)
{
	const char *base = ops_config_get(cfg, "general.state_dir");
	char *lock_path, *text = NULL;
	double until = ops_clock() + wait;
	size_t len;
	ops_code rc;

	memset(sf, 0, sizeof *sf);
	sf->lock_fd = -1;
	sf->dir = ops_path_join(base ? base : ".", "health");
	sf->path = sf->dir ? ops_path_join(sf->dir, "state.json") : NULL;
	lock_path = sf->dir ? ops_path_join(sf->dir, "state.lock") : NULL;
	if (!lock_path)
		return ops_error_oom(err);
	if ((rc = ops_mkdir_p(sf->dir, 0700, err)) != OPS_OK) {
		free(lock_path);
		return rc;
	}
	sf->lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (sf->lock_fd < 0) {
		rc = ops_error_errno(err, errno, "cannot open", lock_path);
		free(lock_path);
		return rc;
	}
	while (flock(sf->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno != EWOULDBLOCK || ops_clock() >= until || ops_cancelled()) {
			rc = ops_error_set(err, OPS_ELOCKED, "another opsctl health run holds %s",
					   lock_path);
			free(lock_path);
			return ops_cancelled() ? ops_cancel_check(err) : rc;
		}
		usleep(100 * 1000);
	}
	free(lock_path);
	rc = ops_read_file(sf->path, STATE_MAX, &text, &len, err);
	if (rc == OPS_OK) {
		sf->root = cJSON_Parse(text);
		/* A damaged state file costs one run's memory of the past
		 * (a log position, a notification), never the check itself. */
		if (!cJSON_IsObject(sf->root)) {
			ops_log_warn("health state '%s' is not valid JSON; starting afresh", sf->path);
			cJSON_Delete(sf->root);
			sf->root = NULL;
		}
	} else if (err->code != OPS_OK && access(sf->path, F_OK) == 0) {
		free(text);
		return rc;
	}
	ops_error_clear(err);
	free(text);
	if (!sf->root)
		sf->root = cJSON_CreateObject();
	return sf->root ? OPS_OK : ops_error_oom(err);
}

static ops_code state_save(struct state_file *sf, ops_error *err)
{
	char *text = cJSON_Print(sf->root);
	ops_code rc;

	if (!text)
		return ops_error_oom(err);
	rc = ops_write_file_atomic(sf->path, text, strlen(text), 0600, err);
	free(text);
	return rc;
}

static void state_close(struct state_file *sf)
{
	if (sf->lock_fd >= 0)
		close(sf->lock_fd);
	cJSON_Delete(sf->root);
	free(sf->path);
	free(sf->dir);
}

static double num_member(const cJSON *o, const char *name, double def)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsNumber(v) ? v->valuedouble : def;
}

static void set_num(cJSON *o, const char *name, double v)
{
	cJSON_DeleteItemFromObjectCaseSensitive(o, name);
	cJSON_AddNumberToObject(o, name, v);
}

static void set_str(cJSON *o, const char *name, const char *v)
{
	cJSON_DeleteItemFromObjectCaseSensitive(o, name);
	cJSON_AddStringToObject(o, name, v ? v : "");
}

/* ---- one run ---- */

struct outcome {
	int ran, skipped, state;
	char summary[1024];
	char perf[2048];
	cJSON *report;
};

static void run_component(const ops_run *run, const struct component *c, const health_ctx *base,
			  cJSON *state_components, struct outcome *out, cJSON *figures)
{
	struct health_result r;
	health_ctx ctx = *base;
	cJSON *comp_state = object_member(state_components, c->name);
	ops_error e;
	double t0 = ops_clock();
	ops_code rc;

	memset(&r, 0, sizeof r);
	r.report = cJSON_CreateObject();
	r.figures = figures;
	ctx.state = comp_state ? object_member(comp_state, "data") : NULL;
	ops_error_clear(&e);
	if (!r.report || !ctx.state) {
		rc = ops_error_oom(&e);
	} else {
		rc = c->fn(&ctx, &r, &e);
		if (rc != OPS_OK && ops_cancelled())
			rc = ops_cancel_check(&e);
	}
	out->ran = 1;
	out->report = r.report;
	if (rc != OPS_OK) {
		char line[sizeof e.message];

		snprintf(line, sizeof line, "%s", e.message[0] ? e.message : ops_code_name(rc));
		line[strcspn(line, "\n")] = '\0';
		out->state = OPS_HEALTH_UNKNOWN;
		snprintf(out->summary, sizeof out->summary, "%s", line);
	} else if (r.skipped) {
		out->skipped = !base->named;
		out->state = base->named ? OPS_HEALTH_UNKNOWN : OPS_HEALTH_OK;
		snprintf(out->summary, sizeof out->summary, "not configured: %s", r.why);
	} else {
		out->state = r.state;
		snprintf(out->summary, sizeof out->summary, "%s", *r.summary ? r.summary : "ok");
	}
	snprintf(out->perf, sizeof out->perf, "%s", r.perf);
	(void)run;
	cJSON_AddNumberToObject(out->report, "duration_seconds",
				(double)(long long)((ops_clock() - t0) * 1000.0 + 0.5) / 1000.0);
}

/* Split "a,b,c" argv of health.restart_command and run it once. */
static void restart(const ops_run *run, cJSON *state_root, const char *reason, cJSON *out)
{
	char **argv = ops_config_list(run->cfg, "health.restart_command");
	long timeout = ops_config_int(run->cfg, "health.restart_timeout");
	ops_proc *p = NULL;
	ops_error e;
	ops_code rc;

	ops_error_clear(&e);
	cJSON_AddStringToObject(out, "reason", reason);
	cJSON_AddStringToObject(out, "command", argv && argv[0] ? argv[0] : "");
	rc = ops_proc_start(NULL, argv, NULL, OPS_PROC_OWN_GROUP | OPS_PROC_NO_SECRETS, NULL, NULL,
			    &p, &e);
	if (rc == OPS_OK)
		rc = ops_proc_wait_timeout(p, timeout * 1000, &e);
	ops_strv_free(argv);
	cJSON_AddStringToObject(out, "status", rc == OPS_OK ? "done" : "failed");
	if (rc == OPS_OK) {
		cJSON_AddNullToObject(out, "error");
		ops_log_warn("health: restarted the service (%s)", reason);
	} else {
		e.message[strcspn(e.message, "\n")] = '\0';
		cJSON_AddStringToObject(out, "error", e.message);
		ops_log_warn("health: restart failed (%s): %s", reason, e.message);
	}
	{
		cJSON *list = cJSON_GetObjectItemCaseSensitive(state_root, "restarts");

		if (!cJSON_IsArray(list)) {
			cJSON_DeleteItemFromObjectCaseSensitive(state_root, "restarts");
			list = cJSON_AddArrayToObject(state_root, "restarts");
		}
		if (list)
			cJSON_AddItemToArray(list, cJSON_CreateNumber((double)ops_run_now(run)));
	}
}

/*
 * Guide 002's auto_restart_if_needed: the restart command once a
 * restart component has been CRITICAL health.restart_after runs in a row,
 * at most health.restart_max_per_hour times in any hour.  NULL when
 * nothing was due.
 */
static cJSON *auto_restart(const ops_run *run, cJSON *state_root, cJSON *state_components)
{
	char **cmd = ops_config_list(run->cfg, "health.restart_command");
	char **which = ops_config_list(run->cfg, "health.restart_components");
	long after = ops_config_int(run->cfg, "health.restart_after");
	long max = ops_config_int(run->cfg, "health.restart_max_per_hour");
	time_t now = ops_run_now(run);
	char reason[512] = "";
	cJSON *out = NULL, *list, *t, *next;
	int recent = 0;
	size_t i;

	if (!cmd || !cmd[0] || !*cmd[0])
		goto done;
	for (i = 0; which && which[i]; i++) {
		cJSON *cs = cJSON_GetObjectItemCaseSensitive(state_components, which[i]);
		double n = num_member(cs, "critical_runs", 0);

		if (n >= (double)after)
			health_append(reason, sizeof reason, "%s%s CRITICAL for %.0f runs", *reason ? ", " : "",
			       which[i], n);
	}
	if (!*reason)
		goto done;
	/* Forget restarts older than an hour; count the rest. */
	list = cJSON_GetObjectItemCaseSensitive(state_root, "restarts");
	for (t = cJSON_IsArray(list) ? list->child : NULL; t; t = next) {
		next = t->next;
		if (!cJSON_IsNumber(t) || (double)now - t->valuedouble >= 3600)
			cJSON_Delete(cJSON_DetachItemViaPointer(list, t));
		else
			recent++;
	}
	out = cJSON_CreateObject();
	if (!out)
		goto done;
	if (recent >= max) {
		cJSON_AddStringToObject(out, "reason", reason);
		cJSON_AddStringToObject(out, "status", "skipped");
		cJSON_AddNumberToObject(out, "restarts_last_hour", recent);
		cJSON_AddStringToObject(out, "why", max == 0 ? "health.restart_max_per_hour is 0"
					: "health.restart_max_per_hour reached");
		ops_log_warn("health: restart due (%s) but skipped: %d restart%s in the last hour",
			     reason, recent, recent == 1 ? "" : "s");
		goto done;
	}
	restart(run, state_root, reason, out);
	cJSON_AddNumberToObject(out, "restarts_last_hour", recent + 1);
	/* A restart starts the count again: the next one needs as many
	 * CRITICAL runs after it. */
	for (i = 0; which && which[i]; i++)
		set_num(object_member(state_components, which[i]), "critical_runs", 0);
done:
	ops_strv_free(cmd);
	ops_strv_free(which);
	return out;
}

/* The non-OK components as "api=CRITICAL,redis=CRITICAL": what -n calls one problem. */
static void fingerprint(const struct outcome *o, char *buf, size_t size)
{
	size_t k;

	*buf = '\0';
	for (k = 0; k < NCOMP; k++)
		if (o[k].ran && !o[k].skipped && o[k].state != OPS_HEALTH_OK)
			health_append(buf, size, "%s%s=%s", *buf ? "," : "", components[k].name,
			       state_names[o[k].state]);
}

/*
 * The components a run checks, as -n keys what it notified: "all", or the
 * names in report order ("db", "api,llm").  Two cron lines checking
 * different sets have two problems, each notified and resolved on its own.
 */
static void set_name(unsigned mask, char *buf, size_t size)
{
	size_t k;

	*buf = '\0';
	if (mask == OPS_HEALTH_ALL) {
		snprintf(buf, size, "all");
		return;
	}
	for (k = 0; k < NCOMP; k++)
		if (mask & components[k].bit)
			health_append(buf, size, "%s%s", *buf ? "," : "", components[k].name);
}

/*
 * What -n notified for the set: state_root.notifications[set].  The one
 * "notification" of earlier versions was that of whatever set ran; it is
 * taken as the default set's, "all", the guides' cron line.
 */
static cJSON *notified_state(cJSON *state_root, const char *set)
{
	cJSON *sets, *old = cJSON_GetObjectItemCaseSensitive(state_root, "notification");

	sets = object_member(state_root, "notifications");
	if (!sets)
		return NULL;
	if (old) {
		cJSON_DetachItemViaPointer(state_root, old);
		if (cJSON_IsObject(old) && !cJSON_GetObjectItemCaseSensitive(sets, "all"))
			cJSON_AddItemToObject(sets, "all", old);
		else
			cJSON_Delete(old);
	}
	return object_member(sets, set);
}

/*
 * -n: notify when the problem starts, changes or has lasted
 * health.notify_repeat, and once when it ends, each set of components
 * (set_name) on its own.  What was sent is remembered only when at least
 * one channel delivered it, so that a run that could reach nobody tries
 * again next time.  "status": sent, resolved, already notified, not needed
 * or failed.
 */
static cJSON *notify(const ops_run *run, cJSON *state_root, unsigned mask, int state,
		     const char *line, const char *detail, const char *fp)
{
	char set[128];
	cJSON *ns, *out = cJSON_CreateObject(), *rep = NULL;
	char **names = ops_config_list(run->cfg, "health.notify_channels");
	const char *last_fp;
	int open;
	double sent_at;
	long repeat = ops_config_int(run->cfg, "health.notify_repeat");
	time_t now = ops_run_now(run);
	const char *why = NULL;
	ops_alert a = {0};
	unsigned channels;
	ops_error e;
	ops_code rc;

	set_name(mask, set, sizeof set);
	ns = notified_state(state_root, set);
	last_fp = cJSON_GetStringValue(cJSON_GetObjectItem(ns, "fingerprint"));
	open = cJSON_IsTrue(cJSON_GetObjectItem(ns, "open"));
	sent_at = num_member(ns, "sent_at", 0);
	if (!out || !ns)
		goto done;
	cJSON_AddStringToObject(out, "set", set);
	if (state == OPS_HEALTH_OK) {
		if (!open) {
			cJSON_AddStringToObject(out, "status", "not needed");
			goto done;
		}
		a.resolved = 1;
		why = "recovered";
	} else if (!open) {
		why = "new problem";
	} else if (!last_fp || strcmp(last_fp, fp) != 0) {
		why = "problem changed";
	} else if (repeat > 0 && (double)now - sent_at >= (double)repeat) {
		why = "problem lasts (health.notify_repeat)";
	} else {
		cJSON_AddStringToObject(out, "status", "already notified");
		cJSON_AddNumberToObject(out, "notified_at", sent_at);
		goto done;
	}
	ops_error_clear(&e);
	cJSON_AddStringToObject(out, "reason", why);
	if (ops_alerts_parse_channels(names, &channels, &e) != OPS_OK) {
		cJSON_AddStringToObject(out, "status", "failed");
		cJSON_AddStringToObject(out, "error", e.message);
		ops_log_warn("health: notification not delivered: %s", e.message);
		goto done;
	}
	a.name = "OpsctlHealth";
	/* The default set keeps the key of earlier versions. */
	a.scope = strcmp(set, "all") == 0 ? NULL : set;
	a.summary = line;
	a.detail = detail;
	a.command = "health";
	a.severity = state == OPS_HEALTH_CRITICAL ? OPS_ALERT_CRITICAL : OPS_ALERT_WARNING;
	rc = ops_alerts_send(run, channels, &a, &rep, &e);
	if (rep && cJSON_GetNumberValue(cJSON_GetObjectItem(rep, "delivered")) > 0) {
		/* Delivered somewhere: remembered, even if a channel failed
		 * (its error and the warning say which). */
		cJSON_AddStringToObject(out, "status", a.resolved ? "resolved" : "sent");
		set_num(ns, "sent_at", (double)now);
		set_str(ns, "fingerprint", a.resolved ? "" : fp);
		cJSON_DeleteItemFromObjectCaseSensitive(ns, "open");
		cJSON_AddBoolToObject(ns, "open", !a.resolved);
	} else {
		cJSON_AddStringToObject(out, "status", "failed");
	}
	if (rc != OPS_OK) {
		e.message[strcspn(e.message, "\n")] = '\0';
		cJSON_AddStringToObject(out, "error", e.message);
		ops_log_warn("health: notification not delivered: %s", e.message);
	}
	if (rep) {
		cJSON *ch = cJSON_DetachItemFromObjectCaseSensitive(rep, "channels");

		if (ch)
			cJSON_AddItemToObject(out, "channels", ch);
	}
done:
	cJSON_Delete(rep);
	ops_strv_free(names);
	return out;
}

ops_code ops_health_check(const ops_run *run, const ops_health_opts *o, cJSON **report,
			  ops_error *err)
{
	const ops_config *cfg = run->cfg;
	double budget = (double)ops_config_int(cfg, "health.timeout");
	double t0 = ops_clock(), deadline = t0 + budget;
	struct outcome out[NCOMP];
	struct state_file sf;
	cJSON *rep, *list, *figures, *comp_states, *by_comp;
	unsigned mask = o->components ? o->components : OPS_HEALTH_ALL;
	int named = mask != OPS_HEALTH_ALL, overall = OPS_HEALTH_OK, checked = 0, nskipped = 0;
	char line[4096], perf[8192] = "", fp[512], detail[4096] = "";
	health_ctx base;
	ops_code rc;
	size_t i, k;

	*report = NULL;
	memset(out, 0, sizeof out);
	/* The state file waits at most a tenth of the budget for another run. */
	rc = state_open(cfg, budget / 10 < 1 ? 1 : budget / 10, &sf, err);
	if (rc != OPS_OK) {
		state_close(&sf);
		return rc;
	}
	rep = cJSON_CreateObject();
	comp_states = object_member(sf.root, "components");
	figures = rep ? cJSON_CreateObject() : NULL;
	if (!rep || !comp_states || !figures) {
		cJSON_Delete(rep);
		cJSON_Delete(figures);
		state_close(&sf);
		return ops_error_oom(err);
	}
	memset(&base, 0, sizeof base);
	base.run = run;
	base.cfg = cfg;
	base.full = o->full;
	base.named = named;
	base.deadline = deadline;

	for (i = 0; i < NCOMP; i++) {
		const struct component *c = &components[run_order[i]];
		struct outcome *oc = &out[run_order[i]];

		if (!(mask & c->bit))
			continue;
		if (ops_cancelled()) {
			oc->ran = 1;
			oc->state = OPS_HEALTH_UNKNOWN;
			snprintf(oc->summary, sizeof oc->summary, "not checked: interrupted");
			oc->report = cJSON_CreateObject();
			continue;
		}
		if (ops_clock() >= deadline) {
			oc->ran = 1;
			oc->state = OPS_HEALTH_UNKNOWN;
			snprintf(oc->summary, sizeof oc->summary,
				 "not checked: the run's time limit (health.timeout, %.0f s) was spent",
				 budget);
			oc->report = cJSON_CreateObject();
			continue;
		}
		run_component(run, c, &base, comp_states, oc, figures);
	}

	/* The status line, the perfdata, each component's entry, in report order. */
	list = cJSON_AddArrayToObject(rep, "components");
	by_comp = cJSON_CreateObject();
	for (k = 0; k < NCOMP; k++) {
		struct outcome *oc = &out[k];
		cJSON *entry, *m, *next, *cs;

		if (!oc->ran)
			continue;
		entry = cJSON_CreateObject();
		cJSON_AddStringToObject(entry, "component", components[k].name);
		cJSON_AddStringToObject(entry, "state", oc->skipped ? "SKIPPED" : state_names[oc->state]);
		cJSON_AddStringToObject(entry, "summary", oc->summary);
		for (m = oc->report ? oc->report->child : NULL; m; m = next) {
			next = m->next;
			if (!cJSON_GetObjectItemCaseSensitive(entry, m->string))
				cJSON_AddItemToObject(entry, m->string,
						      cJSON_DetachItemViaPointer(oc->report, m));
		}
		cJSON_Delete(oc->report);
		oc->report = NULL;
		if (list)
			cJSON_AddItemToArray(list, entry);
		else
			cJSON_Delete(entry);
		if (oc->skipped) {
			nskipped++;
			continue;
		}
		checked++;
		overall = health_worse(overall, oc->state);
		if (by_comp)
			cJSON_AddNumberToObject(by_comp, components[k].name, oc->state);
		if (*oc->perf)
			health_append(perf, sizeof perf, "%s%s", *perf ? " " : "", oc->perf);
		if (oc->state != OPS_HEALTH_OK)
			health_append(detail, sizeof detail, "%s: %s %s\n", components[k].name,
			       state_names[oc->state], oc->summary);
		/* How long each has been CRITICAL, for the restart rule. */
		cs = object_member(comp_states, components[k].name);
		if (cs) {
			double n = num_member(cs, "critical_runs", 0);

			set_num(cs, "critical_runs", oc->state == OPS_HEALTH_CRITICAL ? n + 1 : 0);
			if (num_member(cs, "state", -1) != oc->state)
				set_num(cs, "since", (double)ops_run_now(run));
			set_num(cs, "state", oc->state);
		}
	}
	if (checked == 0) {
		overall = OPS_HEALTH_UNKNOWN;
		snprintf(line, sizeof line, "OPSCTL HEALTH UNKNOWN - nothing to check: %s",
			 nskipped ? "no component asked for is configured (see opsctl.conf(5), "
				    "section [health])" : "no component was asked for");
	} else if (overall == OPS_HEALTH_OK) {
		snprintf(line, sizeof line, "OPSCTL HEALTH OK - %d component%s ok", checked,
			 checked == 1 ? "" : "s");
		for (k = 0, i = 0; k < NCOMP; k++)
			if (out[k].ran && !out[k].skipped)
				health_append(line, sizeof line, "%s%s", i++ ? ", " : " (", components[k].name);
		health_append(line, sizeof line, ")");
	} else {
		snprintf(line, sizeof line, "OPSCTL HEALTH %s - ", state_names[overall]);
		/* The worst first, so that a truncated line still names them. */
		for (int s = 0, n = 0, order[] = {2, 3, 1}; s < 3; s++)
			for (k = 0; k < NCOMP; k++)
				if (out[k].ran && !out[k].skipped && out[k].state == order[s])
					health_append(line, sizeof line, "%s%s: %s", n++ ? "; " : "",
					       components[k].name, out[k].summary);
	}

	fingerprint(out, fp, sizeof fp);
	{
		cJSON *n = o->notify ? notify(run, sf.root, mask, overall, line,
					      *detail ? detail : NULL, fp) : NULL;
		cJSON *r = auto_restart(run, sf.root, comp_states);
		const char *nst = n ? cJSON_GetStringValue(cJSON_GetObjectItem(n, "status")) : NULL;
		const char *rst = r ? cJSON_GetStringValue(cJSON_GetObjectItem(r, "status")) : NULL;

		cJSON_AddNumberToObject(figures, "opsctl_health_notifications_sent",
					nst && (strcmp(nst, "sent") == 0 || strcmp(nst, "resolved") == 0));
		cJSON_AddNumberToObject(figures, "opsctl_health_restarts",
					rst && strcmp(rst, "skipped") != 0);
		if (n)
			cJSON_AddItemToObject(rep, "notification", n);
		else
			cJSON_AddNullToObject(rep, "notification");
		if (r)
			cJSON_AddItemToObject(rep, "restart", r);
		else
			cJSON_AddNullToObject(rep, "restart");
	}
	{
		ops_error serr;

		ops_error_clear(&serr);
		if (state_save(&sf, &serr) != OPS_OK)
			ops_log_warn("health: state not saved: %s", serr.message);
	}
	state_close(&sf);

	cJSON_AddStringToObject(rep, "state", state_names[overall]);
	cJSON_AddStringToObject(rep, "summary", line);
	cJSON_AddStringToObject(rep, "perfdata", perf);
	cJSON_AddNumberToObject(rep, "_state", overall);
	cJSON_AddStringToObject(rep, "_summary", line);
	cJSON_AddStringToObject(rep, "_perfdata", perf);
	cJSON_AddNumberToObject(figures, "opsctl_health_state", overall);
	if (by_comp) {
		cJSON *lab = cJSON_CreateObject();

		if (lab) {
			cJSON_AddItemToObject(lab, "component", by_comp);
			cJSON_AddItemToObject(figures, "opsctl_health_component_state", lab);
		} else {
			cJSON_Delete(by_comp);
		}
	}
	cJSON_AddItemToObject(rep, "_figures", figures);
	*report = rep;
	if (overall == OPS_HEALTH_OK)
		return OPS_OK;
	return ops_error_set(err, OPS_EFAIL, "%s", line);
}
