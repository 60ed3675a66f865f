/*
 * The two clocks, named for what they are for: durations come from the
 * monotonic clock (a stepped wall clock never makes a run last -3 s), dates
 * from the wall clock.
 */
#ifndef OPSMAINT_CLOCK_H
#define OPSMAINT_CLOCK_H
#include "opsmaint/api.h"
OPS_API_BEGIN

/* Seconds on CLOCK_MONOTONIC: subtract two readings for a duration. */
double ops_clock(void);
/* Seconds since the epoch on CLOCK_REALTIME, with fractions: for dates. */
double ops_wall_clock(void);

OPS_API_END
#endif
