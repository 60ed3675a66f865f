/*
 * guard: DESIGN's one rule for destructive work, ops_run_permit (force, then
 * the environment's window, then the question) and the window check's
 * messages.  Runs with TZ=UTC so instants are unambiguous.
 */
#include <stdlib.h>
#include <time.h>

#include "opsmaint/config.h"
#include "opsmaint/run.h"
#include "unit.h"

/* 2026-11-24 is a Tuesday. */
static time_t at(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = {0};

	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	tm.tm_isdst = -1;
	return mktime(&tm);
}
#define NOV(d, h, mi) at(2026, 11, (d), (h), (mi), 0)

static void set_tz(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
}

static const ops_run *run_at(ops_run *run, const ops_config *cfg, time_t now)
{
	ops_run_init(run, cfg);
	run->now = now;
	return run;
}

static ops_code permit(const ops_config *cfg, int force, time_t now, const char *what,
		       ops_confirm_fn confirm, void *arg, const char *question, ops_error *err)
{
	ops_run run;

	run_at(&run, cfg, now);
	run.force = force;
	run.confirm = confirm;
	run.confirm_arg = arg;
	return ops_run_permit(&run, what, question, err);
}

TEST(check_uses_environment_window)
{
	ops_config *cfg = ops_config_new();
	ops_error err;
	ops_run run;

	CHECK(cfg != NULL);
	if (!cfg)
		return;
	ops_error_clear(&err);
	/* Default environment prod, Tuesday noon: refused, with the next opening. */
	CHECK_INT(ops_run_window_check(run_at(&run, cfg, NOV(24, 12, 0)), "VACUUM FULL", &err), OPS_EFAIL);
	CHECK_STR(err.message,
		  "VACUUM FULL: outside the prod maintenance window (Sun 02:00-04:00, Sat 02:00-04:00)");
	CHECK_STR(err.detail, "next window opens Sat 2026-11-28 02:00 UTC");
	CHECK_STR(err.hint, "run inside the window, or use --force for emergency maintenance");
	CHECK_INT(ops_run_window_check(run_at(&run, cfg, NOV(29, 3, 0)), "VACUUM FULL", &err), OPS_OK);
	CHECK_INT(ops_run_window_check(run_at(&run, cfg, NOV(29, 4, 0)), NULL, &err), OPS_EFAIL);
	CHECK_STR(err.message,
		  "outside the prod maintenance window (Sun 02:00-04:00, Sat 02:00-04:00)");
	CHECK_STR(err.detail, "next window opens Sat 2026-12-05 02:00 UTC");

	CHECK_INT(ops_config_set(cfg, "general.environment", "staging", "test", &err), OPS_OK);
	CHECK_INT(ops_run_window_check(run_at(&run, cfg, NOV(24, 21, 0)), "restore", &err), OPS_OK);
	CHECK_INT(ops_run_window_check(run_at(&run, cfg, NOV(28, 21, 0)), "restore", &err), OPS_EFAIL);
	CHECK_CONTAINS(err.message, "restore: outside the staging maintenance window (");
	CHECK_STR(err.detail, "next window opens Sun 2026-11-29 10:00 UTC");

	CHECK_INT(ops_config_set(cfg, "general.environment", "dev", "test", &err), OPS_OK);
	CHECK_INT(ops_run_window_check(run_at(&run, cfg, NOV(24, 12, 0)), "restore", &err), OPS_OK);

	CHECK_INT(ops_config_set(cfg, "general.environment", "prod", "test", &err), OPS_OK);
	CHECK_INT(ops_config_set(cfg, "window.prod", "never", "test", &err), OPS_OK);
	CHECK_INT(ops_run_window_check(run_at(&run, cfg, NOV(29, 3, 0)), "purge", &err), OPS_EFAIL);
	CHECK_STR(err.message, "purge: outside the prod maintenance window (never)");
	CHECK_CONTAINS(err.detail, "never");
	/* The configuration validates windows with the same parser. */
	CHECK(ops_config_set(cfg, "window.prod", "Sun 2-4", "test", &err) != OPS_OK);
	CHECK_CONTAINS(err.message, "bad maintenance window 'Sun 2-4': expected HH:MM-HH:MM");
	ops_config_free(cfg);
}

static int answers_no(void *arg, const char *question)
{
	(void)question;
	(*(int *)arg)++;
	return 0;
}

static int answers_yes(void *arg, const char *question)
{
	(void)question;
	(*(int *)arg)++;
	return 1;
}

TEST(permit_is_force_or_window_then_question)
{
	ops_config *cfg = ops_config_new();
	ops_error err;
	int asked = 0;

	CHECK_INT(ops_config_set(cfg, "general.environment", "prod", "test", &err), OPS_OK);
	CHECK_INT(ops_config_set(cfg, "window.prod", "never", "test", &err), OPS_OK);
	/* --force: neither the window nor the question. */
	CHECK_INT(permit(cfg, 1, NOV(24, 12, 0), "rebuild", answers_no, &asked, "q?", &err), OPS_OK);
	CHECK_INT(asked, 0);
	/* Outside the window: refused before anyone is asked. */
	CHECK_INT(permit(cfg, 0, NOV(24, 12, 0), "rebuild", answers_yes, &asked, "q?", &err), OPS_EFAIL);
	CHECK_CONTAINS(err.message, "rebuild: outside the prod maintenance window");
	CHECK_INT(asked, 0);
	/* Inside: the question decides; off a terminal (no callback), yes. */
	CHECK_INT(ops_config_set(cfg, "window.prod", "any", "test", &err), OPS_OK);
	CHECK_INT(permit(cfg, 0, NOV(24, 12, 0), "purge", answers_no, &asked, "q?", &err), OPS_EDECLINED);
	CHECK_STR(err.message, "purge cancelled; nothing was changed");
	CHECK_INT(asked, 1);
	CHECK_INT(permit(cfg, 0, NOV(24, 12, 0), "purge", answers_yes, &asked, "q?", &err), OPS_OK);
	CHECK_INT(asked, 2);
	CHECK_INT(permit(cfg, 0, NOV(24, 12, 0), "purge", NULL, NULL, "q?", &err), OPS_OK);
	ops_config_free(cfg);
}

int main(void)
{
	set_tz("UTC");
	RUN(check_uses_environment_window);
	RUN(permit_is_force_or_window_then_question);
	return unit_done();
}
