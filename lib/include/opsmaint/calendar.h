/*
 * When a scheduled job runs: a calendar spec, the five fields of a cron line
 * (minute hour day-of-month month day-of-week) or "off".  Fields take "*",
 * numbers, ranges "1-7", steps "*\/6" and "10-50/20", comma lists, and names
 * (jan..dec, sun..sat, any case; 7 is Sunday as 0 is); the aliases @hourly,
 * @daily (@midnight), @weekly, @monthly, @quarterly and @yearly (@annually)
 * stand for their usual lines.
 *
 * One meaning differs from Vixie cron, on purpose: when BOTH day-of-month and
 * day-of-week are restricted, a day must match both (as systemd's OnCalendar=
 * does, and as the guides mean: "0 10 1-7 * 6" is the first Saturday of the
 * month, where Vixie cron would run on days 1-7 and on every Saturday).  The
 * renderers keep that meaning: a cron line gets a weekday guard in its
 * command, an OnCalendar= value says both.
 *
 * Times are local wall-clock times.  A time that does not exist on a day (the
 * hour skipped when summer time begins) is skipped that day; a time that
 * occurs twice (the hour repeated when it ends) runs once, at its first
 * occurrence.  Nothing here prints or allocates except where it says so.
 */
#ifndef OPSMAINT_CALENDAR_H
#define OPSMAINT_CALENDAR_H
#include "opsmaint/api.h"
OPS_API_BEGIN

#include <stdint.h>
#include <time.h>
#include "opsmaint/error.h"

typedef struct ops_calendar {
	int off;		/* "off": never runs; the sets below are empty */
	uint64_t minute;	/* bit m for minute m, 0..59 */
	uint32_t hour;		/* bit h, 0..23 */
	uint32_t dom;		/* bit d, 1..31 */
	uint16_t month;		/* bit m, 1..12 */
	uint8_t dow;		/* bit d, 0..6, 0 Sunday */
} ops_calendar;

/* The length a rendered cron line's fields and guard, or an OnCalendar=
 * value, never reaches (every field an explicit list of all its values). */
#define OPS_CALENDAR_TEXT_MAX 512

/*
 * Parse spec into *cal.  Errors are OPS_ECONFIG naming the field and the
 * value ("day-of-week field '8': 8 is out of range 0-7"), a wrong number of
 * fields, or a spec that can never run ("day 31 never occurs in february").
 */
ops_code ops_calendar_parse(const char *spec, ops_calendar *cal, ops_error *err);

/* 1 when a and b run at exactly the same times. */
int ops_calendar_equal(const ops_calendar *a, const ops_calendar *b);

/*
 * The first run strictly after `after`, in the local time zone; (time_t)-1
 * for "off" (or when nothing matches within 400 years, which a parsed spec
 * cannot do).  It walks the calendar field by field (month, day, hour,
 * minute), never by adding seconds, so summer-time changes move nothing.
 */
time_t ops_calendar_next(const ops_calendar *cal, time_t after);

/*
 * The longest gap, in seconds, between consecutive runs in the year after
 * from (including the gap from the last run of that year to the next one):
 * how long a healthy job may go without running.  0 for "off".
 */
long ops_calendar_period(const ops_calendar *cal, time_t from);

/*
 * As a cron line's schedule: the five fields into fields, and into guard
 * either "" or, when both day fields are restricted, a shell test of the
 * weekday that goes before the command ('[ "$(date +\%u)" = 6 ] && ',
 * a case test for several days), with '%' escaped as cron needs.  The cron
 * fields then carry the days of the month and "*" as the weekday, so the
 * line runs exactly when the calendar does.  -1 for "off".
 */
int ops_calendar_cron(const ops_calendar *cal, char fields[OPS_CALENDAR_TEXT_MAX],
		      char guard[OPS_CALENDAR_TEXT_MAX]);

/*
 * Read back what ops_calendar_cron wrote: line is "M H DOM MON DOW REST";
 * a weekday guard at the start of REST (written by ops_calendar_cron) is
 * taken into *cal and *rest points after it (at the command).  Errors as
 * ops_calendar_parse.
 */
ops_code ops_calendar_from_cron(const char *line, ops_calendar *cal, const char **rest,
				ops_error *err);

/*
 * As a systemd OnCalendar= value: "Sat *-*-01..07 10:00:00", explicit lists
 * and ranges ("00,06,12,18"), weekday names.  -1 for "off".
 */
int ops_calendar_systemd(const ops_calendar *cal, char out[OPS_CALENDAR_TEXT_MAX]);

OPS_API_END
#endif
