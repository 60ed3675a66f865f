/*
 * The run context's helpers: defaults, the clock a window check reads,
 * progress reports and cancellation polls.  The policy for destructive work
 * is guard.c's.
 */
#include <string.h>
#include <time.h>

#include "opsmaint/run.h"

void ops_run_init(ops_run *run, const ops_config *cfg)
{
	memset(run, 0, sizeof *run);
	run->cfg = cfg;
	run->environment = cfg ? ops_config_get(cfg, "general.environment") : NULL;
	run->output = OPS_OUT_TEXT;
}

time_t ops_run_now(const ops_run *run)
{
	return run && run->now ? run->now : time(NULL);
}

void ops_run_progress(const ops_run *run, const char *phase, double done, double total,
		      const char *unit, double started, int final)
{
	ops_progress p;

	if (!run || !run->progress)
		return;
	p.phase = phase;
	p.done = done;
	p.total = total;
	p.unit = unit;
	p.elapsed = ops_clock() - started;
	p.final = final;
	run->progress(run->progress_arg, &p);
}

ops_code ops_run_check_cancel(const ops_run *run, ops_error *err)
{
	(void)run;
	return ops_cancel_check(err);
}
