/*
 * One run of a command, declared once: what every domain needs to know about
 * the run it works for (configuration, environment, verbosity, force and
 * dry-run, the clock for window checks, whom to ask before destructive work,
 * where progress goes, and whether the run has been cancelled).  The front
 * end fills one ops_run; every domain context (ops_dbm_ctx, ops_backup_ctx,
 * ops_vector_ctx, ...) points at it, so a field added here reaches every
 * command at once.
 *
 * Nothing here prints.  Progress and questions go through callbacks that a
 * front end draws (the CLI only on a terminal) or leaves NULL (cron, tests,
 * another front end).  Cancellation is process-wide (core/cancel.h): a
 * signal cannot know which run it meant.
 */
#ifndef OPSMAINT_RUN_H
#define OPSMAINT_RUN_H
#include "opsmaint/api.h"
OPS_API_BEGIN

#include <time.h>
#include <cjson/cJSON.h>
#include "opsmaint/cancel.h"
#include "opsmaint/clock.h"
#include "opsmaint/config.h"
#include "opsmaint/error.h"
#include "opsmaint/output.h"

/* One report of progress in a long phase of work. */
typedef struct ops_progress {
	const char *phase;	/* "chatbot_db.dump", "reading", "vectors" */
	double done;		/* units done so far */
	double total;		/* units expected; 0 when unknown */
	const char *unit;	/* "bytes", "rows", "vectors", "tables" */
	double elapsed;		/* seconds since the phase began (monotonic) */
	int final;		/* 1 on the phase's last report */
} ops_progress;

typedef void (*ops_progress_fn)(void *arg, const ops_progress *p);
/* Returns 1 to go on, 0 for no. */
typedef int (*ops_confirm_fn)(void *arg, const char *question);

typedef struct ops_run {
	const ops_config *cfg;
	const char *environment;	/* general.environment ("prod"); may be NULL */
	ops_outfmt output;		/* how the front end will render the report */
	int verbose;			/* -v: collect and report more detail */
	int quiet;
	int force;			/* -f: outside the window, without asking */
	int yes;			/* -y: answer yes, the window still applies */
	int dry_run;			/* report what would be done, change nothing */
	time_t now;			/* window checks at this moment; 0: the clock */
	ops_confirm_fn confirm;		/* NULL: nobody to ask (cron) */
	void *confirm_arg;
	ops_progress_fn progress;	/* NULL: nobody watching */
	void *progress_arg;
} ops_run;

/* A run over cfg with every other field at its default. */
void ops_run_init(ops_run *run, const ops_config *cfg);

/* run->now when set (tests), else the wall clock's second. */
time_t ops_run_now(const ops_run *run);

/*
 * Report progress (nothing when run or run->progress is NULL).  started is
 * the phase's ops_clock() at its start.
 */
void ops_run_progress(const ops_run *run, const char *phase, double done, double total,
		      const char *unit, double started, int final);

/*
 * OPS_OK when no cancellation was requested, else OPS_EINTR "interrupted by
 * SIGTERM" (naming the signal).  Long work calls it between steps.
 */
ops_code ops_run_check_cancel(const ops_run *run, ops_error *err);

/*
 * OPS_OK if now (ops_run_now) is inside the maintenance window of the
 * configured environment (general.environment -> window.ENV).  Otherwise
 * OPS_EFAIL "WHAT: outside the prod maintenance window (Sun 02:00-04:00)"
 * with detail "next window opens Sat 2026-11-28 02:00" and a hint naming
 * --force.  what may be NULL.
 */
ops_code ops_run_window_check(const ops_run *run, const char *what, ops_error *err);

/*
 * DESIGN's one rule for destructive work (what: "VACUUM FULL", "restore",
 * "rebuild"): with run->force, go; otherwise only inside the window
 * (ops_run_window_check), and then only if run->confirm (when set) says yes
 * to question (run->yes answers it).  A no is OPS_EDECLINED "WHAT cancelled;
 * nothing was changed" (exit 1; not recorded as a failed run).  The
 * question names what and where: "Run VACUUM FULL on chatbot_db
 * (public.documents)?".
 */
ops_code ops_run_permit(const ops_run *run, const char *what, const char *question,
			ops_error *err);
/*
 * For a dry run: whether the real run would be let through now, said in
 * report ("window": "open", "closed" or "ignored (--force)", and
 * "would_be_refused": the refusal's message) and by a warning line.  Returns
 * the refusal's code, OPS_OK when it would run; a dry run still exits 0.
 */
ops_code ops_run_would_permit(const ops_run *run, const char *what, cJSON *report);

OPS_API_END
#endif
