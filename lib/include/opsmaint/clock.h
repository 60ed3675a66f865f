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

/*
 * The one reader of ISO 8601 / RFC 3339 times.  The base form is
 * "2026-12-02T00:50:54Z": a four-digit year and two-digit fields, 'T' (or
 * 't') between date and time, seconds optionally with a fraction of 1 to 9
 * digits after '.' or ',' (ISO 8601 takes both), and a zone: 'Z' (or 'z'),
 * or an offset +HH:MM, +HHMM or +HH of at most 15:59 as PostgreSQL takes.
 * Every field is checked against its range (month 1-12, the days of that
 * month with leap years, hour 0-23, minute and second 0-59: no leap second,
 * no 24:00), nothing is normalised ("2026-02-30" is refused, not March 2),
 * the locale plays no part, and text after the time is refused unless the
 * caller asks to stop there.  The flags widen what is taken:
 */
#define OPS_TIME_DATE_ONLY 0x01	 /* "2026-12-02" alone, as midnight UTC */
#define OPS_TIME_SPACE 0x02	 /* ' ' between date and time, as SQL and logs write */
#define OPS_TIME_NO_SECONDS 0x04 /* "2026-12-02T10:15Z", seconds left out */
#define OPS_TIME_ASSUME_UTC 0x08 /* no zone: read as UTC */
#define OPS_TIME_TRAILING 0x10	 /* stop after the time; end says where */

/* ops_time_parse_iso's results. */
#define OPS_TIME_OK 0
#define OPS_TIME_BAD (-1)	/* not such a time (or s is NULL) */
#define OPS_TIME_NO_ZONE (-2)	/* a whole, valid time with no zone, and no ASSUME_UTC */

typedef struct ops_time_parsed {
	time_t t;		/* seconds since the epoch, the offset applied */
	long nsec;		/* the fraction, in nanoseconds */
	int frac_digits;	/* digits the fraction was written with; 0: none */
	int zoned;		/* 1 when a zone was written */
	const char *end;	/* just after the time (the date, for a date alone) */
} ops_time_parsed;

/* s read as above into *out (zeroed first); OPS_TIME_OK or an error above. */
int ops_time_parse_iso(const char *s, unsigned flags, ops_time_parsed *out);

/*
 * An HTTP-date (RFC 7231 7.1.1.1) into *t: the IMF-fixdate "Sun, 06 Nov 1994
 * 08:49:37 GMT", and the obsolete RFC 850 "Sunday, 06-Nov-94 08:49:37 GMT"
 * (a two-digit year 69-99 is 19YY, 00-68 20YY, as POSIX %y) and asctime
 * "Sun Nov  6 08:49:37 1994" forms.  Names are English whatever the locale
 * and any case; the weekday is not checked against the date; blanks may
 * follow.  0, or -1 when s is none of them.
 */
int ops_time_parse_http(const char *s, time_t *t);

OPS_API_END
#endif
