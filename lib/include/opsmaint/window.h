/*
 * Maintenance windows (guide 000 section 1.3).  A spec is "any", "never", or
 * comma-separated ranges "DAYS HH:MM-HH:MM" where DAYS is a day ("Sun"), a
 * span ("Mon-Fri", "Sat-Sun") or "daily"; day names are English, three
 * letters or full, case-insensitive.  A range whose end is not after its start
 * runs past midnight ("Sat 23:00-01:00").  Times are the host's local time.
 */
#ifndef OPSMAINT_WINDOW_H
#define OPSMAINT_WINDOW_H

#include <time.h>
#include "opsmaint/error.h"
#include "opsmaint/config.h"

typedef struct ops_window ops_window;

ops_code ops_window_parse(const char *spec, ops_window **out, ops_error *err);
void ops_window_free(ops_window *w);
/* 1 if the moment t (local time) is inside the window. */
int ops_window_contains(const ops_window *w, time_t t);
/* Start of the next range that begins after t; 0 for "any" and "never". */
time_t ops_window_next_open(const ops_window *w, time_t t);

/*
 * OPS_OK if now is inside the window of the configured environment
 * (general.environment -> window.ENV).  Otherwise OPS_EFAIL:
 *   "outside the prod maintenance window (Sun 02:00-04:00, Sat 02:00-04:00)"
 * with detail "next window opens Sat 2026-11-28 02:00" and hint
 * "run inside the window, or use --force for emergency maintenance".
 * what names the operation and is put first ("VACUUM FULL: outside ...").
 * now: the time to check, 0 for the current time.
 */
ops_code ops_window_check(const ops_config *cfg, time_t now, const char *what,
			  ops_error *err);

/*
 * May destructive work (what: "VACUUM FULL", "restore", "rebuild") go
 * ahead?  With force, yes; otherwise only inside the window
 * (ops_window_check), and then only if confirm (NULL off a terminal)
 * says yes to question: a no is OPS_EFAIL "WHAT cancelled; nothing was
 * changed".  DESIGN's rule for every destructive command, in one place.
 */
ops_code ops_window_permit(const ops_config *cfg, int force, time_t now, const char *what,
			   int (*confirm)(void *arg, const char *question), void *confirm_arg,
			   const char *question, ops_error *err);

#endif
