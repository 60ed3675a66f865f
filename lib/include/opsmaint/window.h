/*
 * Maintenance windows (guide 000 section 1.3).  A spec is "any", "never", or
 * comma-separated ranges "DAYS HH:MM-HH:MM" where DAYS is a day ("Sun"), a
 * span ("Mon-Fri", "Sat-Sun") or "daily"; day names are English, three
 * letters or full, case-insensitive.  A range whose end is not after its start
 * runs past midnight ("Sat 23:00-01:00").  Times are the host's local time.
 *
 * Only the syntax and the calendar live here; the policy ("may destructive
 * work run now?") is run.h's ops_run_permit.
 */
#ifndef OPSMAINT_WINDOW_H
#define OPSMAINT_WINDOW_H
#include "opsmaint/api.h"
OPS_API_BEGIN

#include <time.h>
#include "opsmaint/error.h"

typedef struct ops_window ops_window;

ops_code ops_window_parse(const char *spec, ops_window **out, ops_error *err);
void ops_window_free(ops_window *w);
/* 1 if the moment t (local time) is inside the window. */
int ops_window_contains(const ops_window *w, time_t t);
/* Start of the next range that begins after t; 0 for "any" and "never". */
time_t ops_window_next_open(const ops_window *w, time_t t);

OPS_API_END
#endif
