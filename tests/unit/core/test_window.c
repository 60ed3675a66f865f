/*
 * window: guide 000 section 1.3's windows at many instants (start inclusive,
 * end exclusive), spans, wrap past midnight, next opening, parse errors that
 * name the bad part (the policy built on them is run/test_guard.c's).  Runs with TZ=UTC
 * (set here) so instants are unambiguous; one test uses Europe/Berlin for a
 * DST night when the zone data is installed.
 */
#include <time.h>
#include <unistd.h>

#include "opsmaint/window.h"
#include "unit.h"

/* 2026-11-24 is a Tuesday: 24 Tue, 25 Wed, 26 Thu, 27 Fri, 28 Sat, 29 Sun, 30 Mon. */
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
	return mktime(&tm);	/* local time: UTC here unless a test changes TZ */
}
#define NOV(d, h, mi) at(2026, 11, (d), (h), (mi), 0)

static ops_window *parse(const char *spec)
{
	ops_window *w = NULL;
	ops_error err;

	if (ops_window_parse(spec, &w, &err) != OPS_OK) {
		fprintf(stderr, "parse '%s' failed: %s\n", spec, err.message);
		return NULL;
	}
	return w;
}

static void set_tz(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
}

TEST(prod_window)
{
	ops_window *w = parse("Sun 02:00-04:00, Sat 02:00-04:00");

	CHECK(w != NULL);
	if (!w)
		return;
	CHECK_INT(ops_window_contains(w, NOV(28, 1, 59)), 0);
	CHECK_INT(ops_window_contains(w, at(2026, 11, 28, 1, 59, 59)), 0);
	CHECK_INT(ops_window_contains(w, NOV(28, 2, 0)), 1);	/* start inclusive */
	CHECK_INT(ops_window_contains(w, NOV(28, 3, 0)), 1);
	CHECK_INT(ops_window_contains(w, at(2026, 11, 28, 3, 59, 59)), 1);
	CHECK_INT(ops_window_contains(w, NOV(28, 4, 0)), 0);	/* end exclusive */
	CHECK_INT(ops_window_contains(w, NOV(29, 2, 0)), 1);
	CHECK_INT(ops_window_contains(w, NOV(29, 3, 30)), 1);
	CHECK_INT(ops_window_contains(w, NOV(29, 4, 0)), 0);
	CHECK_INT(ops_window_contains(w, NOV(30, 2, 30)), 0);	/* Monday */
	CHECK_INT(ops_window_contains(w, NOV(24, 3, 0)), 0);	/* Tuesday */
	CHECK_INT(ops_window_contains(w, NOV(27, 2, 30)), 0);	/* Friday */
	CHECK_INT(ops_window_contains(w, NOV(28, 14, 0)), 0);	/* Sat afternoon */
	ops_window_free(w);
}

TEST(staging_weekdays_and_weekends)
{
	ops_window *w = parse("Mon-Fri 20:00-22:00, Sat-Sun 10:00-12:00");
	int d;

	CHECK(w != NULL);
	if (!w)
		return;
	/* Weekdays: Tue 24 .. Fri 27 and Mon 30. */
	for (d = 24; d <= 30; d++) {
		int weekday = d <= 27 || d == 30;

		CHECK_INT(ops_window_contains(w, NOV(d, 19, 59)), 0);
		CHECK_INT(ops_window_contains(w, NOV(d, 20, 0)), weekday);
		CHECK_INT(ops_window_contains(w, NOV(d, 21, 59)), weekday);
		CHECK_INT(ops_window_contains(w, NOV(d, 22, 0)), 0);
		CHECK_INT(ops_window_contains(w, NOV(d, 9, 59)), 0);
		CHECK_INT(ops_window_contains(w, NOV(d, 10, 0)), !weekday);
		CHECK_INT(ops_window_contains(w, NOV(d, 11, 59)), !weekday);
		CHECK_INT(ops_window_contains(w, NOV(d, 12, 0)), 0);
	}
	CHECK_INT(ops_window_next_open(w, NOV(27, 22, 0)), NOV(28, 10, 0));
	CHECK_INT(ops_window_next_open(w, NOV(29, 12, 0)), NOV(30, 20, 0));
	CHECK_INT(ops_window_next_open(w, NOV(24, 8, 0)), NOV(24, 20, 0));
	ops_window_free(w);
}

TEST(next_open)
{
	ops_window *w = parse("Sun 02:00-04:00, Sat 02:00-04:00");

	CHECK(w != NULL);
	if (!w)
		return;
	CHECK_INT(ops_window_next_open(w, NOV(24, 12, 0)), NOV(28, 2, 0));
	CHECK_INT(ops_window_next_open(w, at(2026, 11, 28, 1, 59, 30)), NOV(28, 2, 0));
	/* "begins after t": at the opening instant, or inside, it is the next one. */
	CHECK_INT(ops_window_next_open(w, NOV(28, 2, 0)), NOV(29, 2, 0));
	CHECK_INT(ops_window_next_open(w, NOV(28, 3, 0)), NOV(29, 2, 0));
	CHECK_INT(ops_window_next_open(w, NOV(29, 5, 0)), at(2026, 12, 5, 2, 0, 0));
	/* Across a month and a year end. */
	CHECK_INT(ops_window_next_open(w, at(2026, 12, 31, 12, 0, 0)),
		  at(2027, 1, 2, 2, 0, 0));
	ops_window_free(w);

	w = parse("any");
	CHECK_INT(ops_window_contains(w, NOV(24, 3, 0)), 1);
	CHECK_INT(ops_window_next_open(w, NOV(24, 3, 0)), 0);
	ops_window_free(w);
	w = parse("NEVER");
	CHECK_INT(ops_window_contains(w, NOV(28, 3, 0)), 0);
	CHECK_INT(ops_window_next_open(w, NOV(24, 3, 0)), 0);
	ops_window_free(w);
	/* Once a week at most eight days away. */
	w = parse("Tue 12:00-12:01");
	CHECK_INT(ops_window_next_open(w, NOV(24, 12, 0)), at(2026, 12, 1, 12, 0, 0));
	ops_window_free(w);
}

TEST(wrap_past_midnight_belongs_to_start_day)
{
	ops_window *w = parse("Sat 23:00-01:00");

	CHECK(w != NULL);
	if (!w)
		return;
	CHECK_INT(ops_window_contains(w, NOV(28, 22, 59)), 0);
	CHECK_INT(ops_window_contains(w, NOV(28, 23, 0)), 1);
	CHECK_INT(ops_window_contains(w, NOV(29, 0, 30)), 1);	/* Sunday morning */
	CHECK_INT(ops_window_contains(w, NOV(29, 1, 0)), 0);
	CHECK_INT(ops_window_contains(w, NOV(28, 0, 30)), 0);	/* belongs to Friday */
	CHECK_INT(ops_window_contains(w, NOV(29, 23, 30)), 0);
	CHECK_INT(ops_window_next_open(w, NOV(29, 0, 30)), at(2026, 12, 5, 23, 0, 0));
	ops_window_free(w);

	/* Equal start and end: a whole day, from Saturday 02:00 to Sunday 02:00. */
	w = parse("Sat 02:00-02:00");
	CHECK_INT(ops_window_contains(w, NOV(28, 1, 59)), 0);
	CHECK_INT(ops_window_contains(w, NOV(28, 2, 0)), 1);
	CHECK_INT(ops_window_contains(w, NOV(29, 1, 59)), 1);
	CHECK_INT(ops_window_contains(w, NOV(29, 2, 0)), 0);
	ops_window_free(w);

	w = parse("Mon 22:00-24:00");
	CHECK_INT(ops_window_contains(w, NOV(30, 23, 59)), 1);
	CHECK_INT(ops_window_contains(w, at(2026, 12, 1, 0, 0, 0)), 0);
	ops_window_free(w);
}

TEST(spans_daily_and_names)
{
	ops_window *w = parse("Fri-Mon 01:00-02:00");
	int d;

	CHECK(w != NULL);
	for (d = 24; d <= 30; d++)	/* Tue..Mon */
		CHECK_INT(ops_window_contains(w, NOV(d, 1, 30)), d >= 27);
	ops_window_free(w);

	w = parse("daily 01:00-02:00");
	for (d = 24; d <= 30; d++) {
		CHECK_INT(ops_window_contains(w, NOV(d, 1, 0)), 1);
		CHECK_INT(ops_window_contains(w, NOV(d, 2, 0)), 0);
	}
	CHECK_INT(ops_window_next_open(w, NOV(24, 1, 30)), NOV(25, 1, 0));
	ops_window_free(w);

	w = parse("  sunday 02:00 - 04:00 ,SATURDAY 2:00-04:00  ");
	CHECK(w != NULL);
	CHECK_INT(ops_window_contains(w, NOV(29, 2, 0)), 1);
	CHECK_INT(ops_window_contains(w, NOV(28, 3, 59)), 1);
	CHECK_INT(ops_window_contains(w, NOV(27, 3, 0)), 0);
	ops_window_free(w);

	w = parse("Wednesday-Thu 12:00-13:00");
	CHECK_INT(ops_window_contains(w, NOV(25, 12, 0)), 1);
	CHECK_INT(ops_window_contains(w, NOV(26, 12, 0)), 1);
	CHECK_INT(ops_window_contains(w, NOV(27, 12, 0)), 0);
	ops_window_free(w);
}

static void check_parse_error(const char *spec, const char *message, int line)
{
	ops_window *w = (ops_window *)1;
	ops_error err;
	ops_code rc = ops_window_parse(spec, &w, &err);

	if (rc != OPS_ECONFIG || w != NULL || strcmp(err.message, message) != 0) {
		fprintf(stderr, "%s:%d: parse '%s' gave %d \"%s\", expected \"%s\"\n",
			__FILE__, line, spec, (int)rc, err.message, message);
		unit_current_failed = 1;
	}
}
#define BAD(spec, msg) check_parse_error(spec, msg, __LINE__)

TEST(parse_errors_name_the_bad_part)
{
	BAD("Sun 2-4", "bad maintenance window 'Sun 2-4': expected HH:MM-HH:MM");
	BAD("Sun 02:00-04:00, Sat 2-4",
	    "bad maintenance window 'Sat 2-4': expected HH:MM-HH:MM");
	BAD("Sum 02:00-04:00", "bad maintenance window 'Sum 02:00-04:00': unknown day 'Sum'");
	BAD("Mon-Funday 01:00-02:00",
	    "bad maintenance window 'Mon-Funday 01:00-02:00': unknown day 'Mon-Funday'");
	BAD("Sun", "bad maintenance window 'Sun': expected DAYS HH:MM-HH:MM");
	BAD("02:00-04:00", "bad maintenance window '02:00-04:00': expected DAYS HH:MM-HH:MM");
	BAD("Sun 25:00-26:00", "bad maintenance window 'Sun 25:00-26:00': expected HH:MM-HH:MM");
	BAD("Sun 02:60-03:00", "bad maintenance window 'Sun 02:60-03:00': expected HH:MM-HH:MM");
	BAD("Sun 24:00-01:00", "bad maintenance window 'Sun 24:00-01:00': expected HH:MM-HH:MM");
	BAD("Sun 02:00", "bad maintenance window 'Sun 02:00': expected HH:MM-HH:MM");
	BAD("Sun 02:00-04:00-05:00",
	    "bad maintenance window 'Sun 02:00-04:00-05:00': expected HH:MM-HH:MM");
	BAD("Sun 2:0-4:00", "bad maintenance window 'Sun 2:0-4:00': expected HH:MM-HH:MM");
	BAD("", "bad maintenance window '': empty; use 'any', 'never' or DAYS HH:MM-HH:MM");
	BAD("Sun 02:00-04:00,",
	    "bad maintenance window 'Sun 02:00-04:00,': empty range between commas");
	BAD("any, Sun 02:00-04:00",
	    "bad maintenance window 'any, Sun 02:00-04:00': 'any' cannot be combined with ranges");
	BAD("anytime", "bad maintenance window 'anytime': expected DAYS HH:MM-HH:MM");
}

TEST(dst_spring_forward_opens_at_first_real_minute)
{
	ops_window *w;
	time_t open;
	struct tm tm;

	if (access("/usr/share/zoneinfo/Europe/Berlin", R_OK) != 0) {
		printf("# note: no Europe/Berlin zone data; DST case not tested\n");
		return;
	}
	set_tz("Europe/Berlin");
	/* 2026-03-29 is a Sunday; clocks jump from 02:00 to 03:00. */
	w = parse("Sun 02:00-04:00");
	open = ops_window_next_open(w, at(2026, 3, 28, 12, 0, 0));
	CHECK(localtime_r(&open, &tm) != NULL);
	CHECK_INT(tm.tm_mday, 29);
	CHECK_INT(tm.tm_hour, 3);
	CHECK_INT(tm.tm_min, 0);
	CHECK_INT(ops_window_contains(w, open), 1);
	CHECK_INT(ops_window_contains(w, open + 3600), 0);	/* 04:00 CEST */
	ops_window_free(w);
	set_tz("UTC");
}

int main(void)
{
	set_tz("UTC");
	RUN(prod_window);
	RUN(staging_weekdays_and_weekends);
	RUN(next_open);
	RUN(wrap_past_midnight_belongs_to_start_day);
	RUN(spans_daily_and_names);
	RUN(parse_errors_name_the_bad_part);
	RUN(dst_spring_forward_opens_at_first_real_minute);
	return unit_done();
}
