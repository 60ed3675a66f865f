/*
 * The two clocks, named for what they are for: durations come from the
 * monotonic clock (a stepped wall clock never makes a run last -3 s), dates
 * from the wall clock.
 */
#ifndef OPSMAINT_CLOCK_H
#define OPSMAINT_CLOCK_H
#include "opsmaint/api.h"
OPS_API_BEGIN

#include <time.h>

/* Seconds on CLOCK_MONOTONIC: subtract two readings for a duration. */
double ops_clock(void);
/* Seconds since the epoch on CLOCK_REALTIME, with fractions: for dates. */
double ops_wall_clock(void);

/*
 * Every time opsctl shows or puts in a name is ISO 8601 in UTC, whatever TZ
 * the shell or cron has: "2026-12-02T00:50:54Z" for text and JSON, the basic
 * form "20261202T005054Z" for file names and backup ids (sortable, no ':').
 * Both write into buf and return it ("" for a time gmtime cannot take).
 */
#define OPS_TIME_ISO_SIZE 32
char *ops_time_iso(time_t t, char buf[OPS_TIME_ISO_SIZE]);
char *ops_time_stamp(time_t t, char buf[OPS_TIME_ISO_SIZE]);

OPS_API_END
#endif
