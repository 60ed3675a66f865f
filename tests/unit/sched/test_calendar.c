/*
 * calendar: parsing (every error names its field and value), next runs across
 * month and year ends, leap days, the guides' first and second Saturdays,
 * every 6 hours, a summer-time change in Europe/Berlin, the longest gap, and
 * the cron and OnCalendar= renderings (the integration tests give the latter
 * to systemd-analyze).  Runs in UTC unless a test sets another zone.
 */
#include <time.h>

#include "opsmaint/calendar.h"
#include "unit.h"

static time_t at(int y, int mo, int d, int h, int mi)
{
	struct tm tm = {0};

	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_isdst = -1;
	return mktime(&tm);
}

static void set_tz(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
}

static ops_calendar cal(const char *spec)
{
	ops_calendar c;
	ops_error err;

	if (ops_calendar_parse(spec, &c, &err) != OPS_OK) {
		fprintf(stderr, "parse '%s' failed: %s\n", spec, err.message);
		c.off = 1;
	}
	return c;
}

/* The next run after y-mo-d h:mi, as "YYYY-MM-DD HH:MM" local. */
static const char *next_s(const char *spec, time_t after)
{
	static char buf[64];
	ops_calendar c = cal(spec);
	time_t t = ops_calendar_next(&c, after);
	struct tm tm;

	if (t == (time_t)-1)
		return "never";
	localtime_r(&t, &tm);
	strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", &tm);
	return buf;
}

static const char *parse_error(const char *spec)
{
	static ops_error err;
	ops_calendar c;

	if (ops_calendar_parse(spec, &c, &err) == OPS_OK)
		return "parsed";
	CHECK_INT(err.code, OPS_ECONFIG);
	return err.message;
}

TEST(parses_fields)
{
	ops_calendar c = cal("0 10 1-7 * 6");

	CHECK(c.minute == 1);
	CHECK(c.hour == 1u << 10);
	CHECK(c.dom == 0xfeu);
	CHECK(c.month == 0x1ffeu);
	CHECK(c.dow == 1u << 6);
	c = cal("*/15 */6 * jan,APR-jun sun,7");
	CHECK(c.minute == (1ULL | 1ULL << 15 | 1ULL << 30 | 1ULL << 45));
	CHECK(c.hour == (1u | 1u << 6 | 1u << 12 | 1u << 18));
	CHECK(c.month == (1u << 1 | 1u << 4 | 1u << 5 | 1u << 6));
	CHECK(c.dow == 1);
	c = cal("10-50/20 1,2 * * 5-7");
	CHECK(c.minute == (1ULL << 10 | 1ULL << 30 | 1ULL << 50));
	CHECK(c.dow == (1u | 1u << 5 | 1u << 6));
	c = cal("5/20 * * * *");
	CHECK(c.minute == (1ULL << 5 | 1ULL << 25 | 1ULL << 45));
	c = cal("off");
	CHECK_INT(c.off, 1);
	CHECK(ops_calendar_next(&c, 0) == (time_t)-1);
	CHECK_INT(ops_calendar_period(&c, 0), 0);
}

TEST(aliases)
{
	ops_calendar a = cal("@hourly"), b = cal("0 * * * *");

	CHECK(ops_calendar_equal(&a, &b));
	a = cal("@daily"), b = cal("0 0 * * *");
	CHECK(ops_calendar_equal(&a, &b));
	a = cal("@weekly"), b = cal("0 0 * * sun");
	CHECK(ops_calendar_equal(&a, &b));
	a = cal("@monthly"), b = cal("0 0 1 * *");
	CHECK(ops_calendar_equal(&a, &b));
	a = cal("@MIDNIGHT"), b = cal("0 0 * * 0-6");
	CHECK(ops_calendar_equal(&a, &b));
	a = cal("0 0 * * 7"), b = cal("0 0 * * 0");
	CHECK(ops_calendar_equal(&a, &b));
}

TEST(errors_name_field_and_value)
{
	CHECK_STR(parse_error("0 10 1-7 * 8"), "day-of-week field '8': 8 is out of range 0-7");
	CHECK_STR(parse_error("60 * * * *"), "minute field '60': 60 is out of range 0-59");
	CHECK_STR(parse_error("0 24 * * *"), "hour field '24': 24 is out of range 0-23");
	CHECK_STR(parse_error("0 0 0 * *"), "day-of-month field '0': 0 is out of range 1-31");
	CHECK_STR(parse_error("0 0 * 13 *"), "month field '13': 13 is out of range 1-12");
	CHECK_STR(parse_error("0 0 * foo *"), "month field 'foo': 'foo' is not a month number or name");
	CHECK_STR(parse_error("0 0 * * xyz"), "day-of-week field 'xyz': 'xyz' is not a day-of-week number or name");
	CHECK_STR(parse_error("x * * * *"), "minute field 'x': 'x' is not a minute number");
	CHECK_STR(parse_error("*/0 * * * *"), "minute field '*/0': bad step '0'");
	CHECK_STR(parse_error("0 5-2 * * *"), "hour field '5-2': range 5-2 goes backwards");
	CHECK_STR(parse_error("0 1,,2 * * *"), "hour field '1,,2': '' is not a hour number");
	CHECK_STR(parse_error("0 0 * *"), "schedule '0 0 * *' has 4 fields, not five (minute hour day-of-month month day-of-week)");
	CHECK_CONTAINS(parse_error("0 0 * * * *"), "more than five fields");
	CHECK_CONTAINS(parse_error("@fortnightly"), "unknown alias '@fortnightly'");
	CHECK_CONTAINS(parse_error(""), "empty schedule");
	CHECK_STR(parse_error("0 0 30,31 2 *"), "day-of-month field '30,31': no such day in month field '2'; the schedule would never run");
	CHECK_STR(parse_error("0 0 29 2 *"), "parsed");	/* leap years */
	CHECK_STR(parse_error("0 0 31 4,5 *"), "parsed");	/* May has one */
}

TEST(next_daily_and_month_ends)
{
	set_tz("UTC");
	CHECK_STR(next_s("0 1 * * *", at(2026, 1, 31, 0, 59)), "2026-01-31 01:00");
	CHECK_STR(next_s("0 1 * * *", at(2026, 1, 31, 1, 0)), "2026-02-01 01:00");	/* strictly after */
	CHECK_STR(next_s("0 1 * * *", at(2026, 12, 31, 23, 0)), "2027-01-01 01:00");
	CHECK_STR(next_s("0 0 31 * *", at(2026, 4, 1, 0, 0)), "2026-05-31 00:00");	/* skips April */
	CHECK_STR(next_s("30 23 28-31 2 *", at(2026, 2, 28, 23, 30)), "2027-02-28 23:30");
	CHECK_STR(next_s("0 * * * *", at(2026, 3, 31, 23, 5)), "2026-04-01 00:00");
	CHECK_STR(next_s("* * * * *", at(2026, 3, 31, 23, 59)), "2026-04-01 00:00");
}

TEST(next_leap_day)
{
	set_tz("UTC");
	CHECK_STR(next_s("0 12 29 2 *", at(2026, 3, 1, 0, 0)), "2028-02-29 12:00");
	CHECK_STR(next_s("0 12 29 2 *", at(2028, 2, 29, 12, 0)), "2032-02-29 12:00");
	/* A leap day that is also a Tuesday: 2028's is, 2032's is a Sunday. */
	CHECK_STR(next_s("0 0 29 2 2", at(2026, 1, 1, 0, 0)), "2028-02-29 00:00");
	CHECK_STR(next_s("0 0 29 2 0", at(2026, 1, 1, 0, 0)), "2032-02-29 00:00");
}

TEST(first_saturday_is_both_days)
{
	set_tz("UTC");
	/* 003: 0 10 1-7 * 6, the first Saturday (not days 1-7 or Saturdays). */
	CHECK_STR(next_s("0 10 1-7 * 6", at(2026, 11, 1, 0, 0)), "2026-11-07 10:00");
	CHECK_STR(next_s("0 10 1-7 * 6", at(2026, 11, 7, 10, 0)), "2026-12-05 10:00");
	CHECK_STR(next_s("0 10 1-7 * 6", at(2026, 12, 5, 11, 0)), "2027-01-02 10:00");
	CHECK_STR(next_s("0 10 1-7 * 6", at(2027, 1, 2, 10, 0)), "2027-02-06 10:00");
	/* Day-of-week alone: every Sunday (003 weekly, 2 PM). */
	CHECK_STR(next_s("0 14 * * 0", at(2026, 11, 24, 0, 0)), "2026-11-29 14:00");
	CHECK_STR(next_s("0 14 * * 0", at(2026, 11, 29, 14, 0)), "2026-12-06 14:00");
}

TEST(second_week_of_the_quarter)
{
	set_tz("UTC");
	/* 003 quarterly: the second Saturday of March, June, September, December. */
	CHECK_STR(next_s("0 10 8-14 3,6,9,12 6", at(2026, 1, 1, 0, 0)), "2026-03-14 10:00");
	CHECK_STR(next_s("0 10 8-14 3,6,9,12 6", at(2026, 3, 14, 10, 0)), "2026-06-13 10:00");
	CHECK_STR(next_s("0 10 8-14 3,6,9,12 6", at(2026, 6, 13, 10, 0)), "2026-09-12 10:00");
	CHECK_STR(next_s("0 10 8-14 3,6,9,12 6", at(2026, 9, 12, 10, 0)), "2026-12-12 10:00");
	CHECK_STR(next_s("0 10 8-14 3,6,9,12 6", at(2026, 12, 12, 10, 0)), "2027-03-13 10:00");
}

TEST(every_six_hours)
{
	set_tz("UTC");
	CHECK_STR(next_s("0 */6 * * *", at(2026, 5, 1, 0, 0)), "2026-05-01 06:00");
	CHECK_STR(next_s("0 */6 * * *", at(2026, 5, 1, 13, 0)), "2026-05-01 18:00");
	CHECK_STR(next_s("0 */6 * * *", at(2026, 5, 31, 18, 0)), "2026-06-01 00:00");
	CHECK_INT(ops_calendar_period(&(ops_calendar){0}, 0), 0);
	{
		ops_calendar c = cal("0 */6 * * *");

		CHECK_INT(ops_calendar_period(&c, at(2026, 5, 1, 0, 0)), 6 * 3600);
	}
}

TEST(summer_time_in_berlin)
{
	ops_calendar c;

	set_tz("Europe/Berlin");
	/* 2026-03-29: 02:00 CET becomes 03:00 CEST; 02:30 does not exist. */
	CHECK_STR(next_s("30 2 * * *", at(2026, 3, 28, 3, 0)), "2026-03-30 02:30");
	CHECK_STR(next_s("0 3 * * *", at(2026, 3, 28, 3, 0)), "2026-03-29 03:00");
	/* The daily 1 AM backup the night the clocks go forward: 23 h after. */
	c = cal("0 1 * * *");
	CHECK_INT(ops_calendar_next(&c, at(2026, 3, 29, 1, 0)) - at(2026, 3, 29, 1, 0), 23 * 3600);
	/* Hourly across the change: 01:00, then 03:00, one hour apart. */
	CHECK_STR(next_s("0 * * * *", at(2026, 3, 29, 1, 0)), "2026-03-29 03:00");
	CHECK_INT(ops_calendar_next(&(ops_calendar){.minute = 1, .hour = 0xffffff, .dom = 0xfffffffe,
						    .month = 0x1ffe, .dow = 0x7f},
				    at(2026, 3, 29, 1, 0)) - at(2026, 3, 29, 1, 0), 3600);
	/* 2026-10-25: 03:00 CEST becomes 02:00 CET; 02:30 comes twice, runs once. */
	{
		time_t first, second;

		c = cal("30 2 * * *");
		first = ops_calendar_next(&c, at(2026, 10, 25, 0, 0));
		second = ops_calendar_next(&c, first);
		CHECK_STR(next_s("30 2 * * *", at(2026, 10, 25, 0, 0)), "2026-10-25 02:30");
		CHECK_INT(second - first, 24 * 3600 + 3600);
		/* From inside the repeated hour: 02:30 is over for the day. */
		CHECK_INT(ops_calendar_next(&c, first + 3600 - 600) , second);
	}
	/* Daily 1 AM the night the clocks go back: 25 h. */
	c = cal("0 1 * * *");
	CHECK_INT(ops_calendar_period(&c, at(2026, 1, 1, 0, 0)), 25 * 3600);
	set_tz("UTC");
}

TEST(period_is_the_longest_gap)
{
	ops_calendar c;

	set_tz("UTC");
	c = cal("0 14 * * 0");
	CHECK_INT(ops_calendar_period(&c, at(2026, 1, 1, 0, 0)), 7 * 86400);
	c = cal("0 10 1-7 * 6");	/* first Saturdays: 5 weeks at most */
	CHECK_INT(ops_calendar_period(&c, at(2026, 1, 1, 0, 0)), 35 * 86400);
	c = cal("0 * * * *");
	CHECK_INT(ops_calendar_period(&c, at(2026, 1, 1, 0, 0)), 3600);
	c = cal("0 10 8-14 3,6,9,12 6");	/* a quarter: 13 weeks in 2026 */
	CHECK_INT(ops_calendar_period(&c, at(2026, 1, 1, 0, 0)), 13 * 7 * 86400);
	c = cal("0 12 29 2 *");
	CHECK_INT(ops_calendar_period(&c, at(2026, 1, 1, 0, 0)), (365 * 4 + 1) * 86400L);
}

static void cron_of(const char *spec, const char *fields, const char *guard)
{
	ops_calendar c = cal(spec), back;
	char f[OPS_CALENDAR_TEXT_MAX], g[OPS_CALENDAR_TEXT_MAX], line[1200];
	const char *rest;
	ops_error err;

	CHECK_INT(ops_calendar_cron(&c, f, g), 0);
	CHECK_STR(f, fields);
	CHECK_STR(g, guard);
	/* Read back, it is the same calendar, and the command follows. */
	snprintf(line, sizeof line, "%s %sopsctl run weekly", f, g);
	CHECK_INT(ops_calendar_from_cron(line, &back, &rest, &err), OPS_OK);
	CHECK(ops_calendar_equal(&c, &back));
	CHECK_STR(rest, "opsctl run weekly");
}

TEST(cron_lines)
{
	cron_of("0 1 * * *", "0 1 * * *", "");
	cron_of("0 */6 * * *", "0 */6 * * *", "");
	cron_of("0 14 * * 0", "0 14 * * 0", "");
	cron_of("*/15 9-17 * * mon-fri", "*/15 9-17 * * 1-5", "");
	cron_of("0,30 8 1,15 jan,jul *", "0,30 8 1,15 1,7 *", "");
	cron_of("0 10 1-7 * 6", "0 10 1-7 * *", "[ \"$(date +\\%u)\" = 6 ] && ");
	cron_of("0 10 8-14 3,6,9,12 6", "0 10 8-14 3,6,9,12 *", "[ \"$(date +\\%u)\" = 6 ] && ");
	cron_of("0 2 1-7 * 0", "0 2 1-7 * *", "[ \"$(date +\\%u)\" = 7 ] && ");
	cron_of("0 2 1-7 * sat,sun", "0 2 1-7 * *",
		"case \"$(date +\\%u)\" in [67]) ;; *) false;; esac && ");
	cron_of("0 2 13 * 5", "0 2 13 * *", "[ \"$(date +\\%u)\" = 5 ] && ");
	{
		ops_calendar c = cal("off");
		char f[OPS_CALENDAR_TEXT_MAX], g[OPS_CALENDAR_TEXT_MAX];

		CHECK_INT(ops_calendar_cron(&c, f, g), -1);
	}
}

static void systemd_of(const char *spec, const char *want)
{
	ops_calendar c = cal(spec);
	char out[OPS_CALENDAR_TEXT_MAX];

	CHECK_INT(ops_calendar_systemd(&c, out), 0);
	CHECK_STR(out, want);
}

TEST(systemd_values)
{
	systemd_of("0 1 * * *", "*-*-* 01:00:00");
	systemd_of("0 */6 * * *", "*-*-* 00,06,12,18:00:00");
	systemd_of("0 14 * * 0", "Sun *-*-* 14:00:00");
	systemd_of("0 10 1-7 * 6", "Sat *-*-01..07 10:00:00");
	systemd_of("0 10 8-14 3,6,9,12 6", "Sat *-03,06,09,12-08..14 10:00:00");
	systemd_of("*/20 9-17 * * 1-5", "Mon..Fri *-*-* 09..17:00,20,40:00");
	systemd_of("0 2 * * sat,sun", "Sat,Sun *-*-* 02:00:00");
	systemd_of("0 2 * * 0,1,2,5", "Mon,Tue,Fri,Sun *-*-* 02:00:00");
	systemd_of("* * * * *", "*-*-* *:*:00");
}

int main(void)
{
	set_tz("UTC");
	RUN(parses_fields);
	RUN(aliases);
	RUN(errors_name_field_and_value);
	RUN(next_daily_and_month_ends);
	RUN(next_leap_day);
	RUN(first_saturday_is_both_days);
	RUN(second_week_of_the_quarter);
	RUN(every_six_hours);
	RUN(summer_time_in_berlin);
	RUN(period_is_the_longest_gap);
	RUN(cron_lines);
	RUN(systemd_values);
	return unit_done();
}
