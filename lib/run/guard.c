/*
 * DESIGN's one rule for destructive work, for every command: with --force
 * go; otherwise only inside the environment's maintenance window, and then
 * only if whoever can be asked says yes.  The window's syntax and calendar
 * are core/window.c's; deciding whether work may run now is made here, once.
 */
#include <stdio.h>
#include <time.h>

#include "opsmaint/log.h"
#include "opsmaint/run.h"
#include "opsmaint/window.h"

ops_code ops_run_window_check(const ops_run *run, const char *what, ops_error *err)
{
	const char *env = ops_config_get(run->cfg, "general.environment");
	const char *spec;
	char key[128], when[64];
	ops_window *w = NULL;
	ops_code rc;
	struct tm tm;
	time_t now = ops_run_now(run), next;

	if (!env || !*env)
		return ops_error_set(err, OPS_ECONFIG,
				     "no environment configured: cannot choose a maintenance window");
	snprintf(key, sizeof key, "window.%s", env);
	spec = ops_config_get(run->cfg, key);
	if (!spec) {
		rc = ops_error_set(err, OPS_ECONFIG,
				   "no maintenance window configured for environment '%s'", env);
		ops_error_hint(err, "set %s in the configuration", key);
		return rc;
	}
	rc = ops_window_parse(spec, &w, err);
	if (rc != OPS_OK) {
		ops_error_prefix(err, "%s", key);
		return rc;
	}
	if (ops_window_contains(w, now)) {
		ops_window_free(w);
		return OPS_OK;
	}
	if (what && *what)
		rc = ops_error_set(err, OPS_EFAIL,
				   "%s: outside the %s maintenance window (%s)", what, env, spec);
	else
		rc = ops_error_set(err, OPS_EFAIL,
				   "outside the %s maintenance window (%s)", env, spec);
	/* "any" always contains the moment, so no next opening means "never". */
	next = ops_window_next_open(w, now);
	if (next && localtime_r(&next, &tm) &&
	    strftime(when, sizeof when, "%a %Y-%m-%d %H:%M %Z", &tm) > 0)
		ops_error_detail(err, "next window opens %s", when);
	else
		ops_error_detail(err, "%s is 'never': the window never opens", key);
	ops_error_hint(err, "run inside the window, or use --force for emergency maintenance");
	ops_window_free(w);
	return rc;
}

ops_code ops_run_would_permit(const ops_run *run, const char *what, cJSON *report)
{
	ops_error e;

	if (run->force || ops_run_window_check(run, what, &e) == OPS_OK) {
		cJSON_AddStringToObject(report, "window", run->force ? "ignored (--force)" : "open");
		return OPS_OK;
	}
	/* A dry run that looks fine would be a lie if the real one is refused. */
	cJSON_AddStringToObject(report, "window", "closed");
	cJSON_AddStringToObject(report, "would_be_refused", e.message);
	ops_log_warn("the real run would be refused: %s", e.message);
	return e.code;
}

ops_code ops_run_permit(const ops_run *run, const char *what, const char *question,
			ops_error *err)
{
	ops_code rc;

	if (run->force)
		return OPS_OK;
	if ((rc = ops_run_window_check(run, what, err)) != OPS_OK)
		return rc;
	if (!run->yes && run->confirm && !run->confirm(run->confirm_arg, question))
		return ops_error_set(err, OPS_EDECLINED, "%s cancelled; nothing was changed", what);
	return OPS_OK;
}
