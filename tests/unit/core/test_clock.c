/*
 * Unit tests for lib/core/clock.c: times shown and put in names are ISO 8601
 * in UTC whatever TZ is; the one ISO 8601 reader takes exactly its forms,
 * checks every field, and the HTTP-date reader takes RFC 7231's three.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "opsmaint/clock.h"
#include "unit.h"

TEST(iso_and_stamp_are_utc_whatever_tz)
{
	char a[OPS_TIME_ISO_SIZE], b[OPS_TIME_ISO_SIZE];

	setenv("TZ", "America/New_York", 1);
	tzset();
	/* 2026-12-02 00:50:54 UTC is 19:50:54 the day before in New York. */
	CHECK_STR(ops_time_iso(1796172654, a), "2026-12-02T00:50:54Z");
	CHECK_STR(ops_time_stamp(1796172654, b), "20261202T005054Z");
	CHECK_STR(ops_time_iso(0, a), "1970-01-01T00:00:00Z");
	unsetenv("TZ");
	tzset();
}

TEST(clocks_move_forward)
{
	double m = ops_clock(), w = ops_wall_clock();

	CHECK(m > 0 && w > 1.7e9);
	CHECK(ops_clock() >= m);
}

/* s with flags: its result code, and t when it is read. */
static int iso(const char *s, unsigned flags, time_t *t)
{
	ops_time_parsed p;
	int r = ops_time_parse_iso(s, flags, &p);

	*t = p.t;
	return r;
}

/* 1 when s is refused with flags (and the result says nothing). */
static int refused(const char *s, unsigned flags)
{
	ops_time_parsed p;

	return ops_time_parse_iso(s, flags, &p) == OPS_TIME_BAD && p.t == 0 && p.end == NULL;
}

/* 1 when s reads with flags as the time want, else 0 saying what it read. */
static int reads_as(const char *s, unsigned flags, long long want)
{
	time_t t;
	int r = iso(s, flags, &t);

	if (r == OPS_TIME_OK && (long long)t == want)
		return 1;
	fprintf(stderr, "'%s' read as %lld (result %d), expected %lld\n", s, (long long)t, r,
		want);
	return 0;
}

#define ALL (OPS_TIME_DATE_ONLY | OPS_TIME_SPACE | OPS_TIME_NO_SECONDS | OPS_TIME_ASSUME_UTC)

/* 1 when s (no flags) reads whole as t, its fraction as nsec written with
 * digits digits, and a zone; else 0 saying what it read. */
static int reads_whole(const char *s, long long t, long nsec, int digits)
{
	ops_time_parsed p;
	int r = ops_time_parse_iso(s, 0, &p);

	if (r == OPS_TIME_OK && (long long)p.t == t && p.nsec == nsec &&
	    p.frac_digits == digits && p.zoned == 1 && p.end && *p.end == '\0')
		return 1;
	fprintf(stderr, "'%s': result %d, %lld s %ld ns (%d digits), zoned %d\n", s, r,
		(long long)p.t, p.nsec, p.frac_digits, p.zoned);
	return 0;
}

TEST(iso_base_form_and_its_spellings)
{
	CHECK(reads_whole("2026-12-02T00:50:54Z", 1796172654, 0, 0));
	/* RFC 3339 allows lower case 't' and 'z'. */
	CHECK(reads_as("2026-12-02t00:50:54z", 0, 1796172654));
	CHECK(reads_as("1970-01-01T00:00:00Z", 0, 0));
	CHECK(reads_as("1969-12-31T23:59:59Z", 0, -1));
	CHECK(reads_as("0001-01-01T00:00:00Z", 0, -62135596800LL));
	CHECK(reads_as("9999-12-31T23:59:59Z", 0, 253402300799LL));
	CHECK(reads_as("2038-01-19T03:14:08Z", 0, 2147483648LL));
}

TEST(iso_fractions_dot_or_comma_one_to_nine_digits)
{
	CHECK(reads_whole("2026-12-02T00:50:54.5Z", 1796172654, 500000000, 1));
	CHECK(reads_whole("2026-12-02T00:50:54,123Z", 1796172654, 123000000, 3));
	CHECK(reads_whole("2026-12-02T00:50:54.000001Z", 1796172654, 1000, 6));
	CHECK(reads_whole("2026-12-02T00:50:54.123456789Z", 1796172654, 123456789, 9));
	CHECK(reads_whole("2026-12-02T01:50:54.250+01:00", 1796172654, 250000000, 3));
	CHECK(refused("2026-12-02T00:50:54.1234567890Z", ALL));	/* ten digits */
	CHECK(refused("2026-12-02T00:50:54.Z", ALL));
	CHECK(refused("2026-12-02T00:50:54,Z", ALL));
	CHECK(refused("2026-12-02T00:50:54.5.5Z", ALL));
	CHECK(refused("2026-12-02T00:50.5Z", ALL));	/* no fraction of minutes */
}

TEST(iso_offsets_apply_and_are_bounded)
{
	CHECK(reads_as("2026-12-02T01:50:54+01:00", 0, 1796172654));
	CHECK(reads_as("2026-12-02T01:50:54+0100", 0, 1796172654));
	CHECK(reads_as("2026-12-02T01:50:54+01", 0, 1796172654));
	CHECK(reads_as("2026-12-01T19:20:54-05:30", 0, 1796172654));
	CHECK(reads_as("2026-12-02T00:50:54-00:00", 0, 1796172654));
	/* Across a day, a month and a year. */
	CHECK(reads_as("2027-01-01T05:00:00+14:00", 0, 1798729200));	/* 2026-12-31T15:00:00Z */
	CHECK(reads_as("2026-12-02T16:50:54+15:59", 0, 1796172654 + 60));
	CHECK(refused("2026-12-02T00:50:54+16:00", ALL));
	CHECK(refused("2026-12-02T00:50:54+01:60", ALL));
	CHECK(refused("2026-12-02T00:50:54+1", ALL));
	CHECK(refused("2026-12-02T00:50:54+01:", ALL));
	CHECK(refused("2026-12-02T00:50:54+01:3", ALL));
	CHECK(refused("2026-12-02T00:50:54+013", ALL));
	CHECK(refused("2026-12-02T00:50:54+", ALL));
	CHECK(refused("2026-12-02T00:50:54 +01:00", ALL));
	CHECK(refused("2026-12-02T00:50:54Z+01:00", ALL));
	CHECK(refused("2026-12-02T00:50:54UTC", ALL));
}

TEST(iso_fields_are_checked_never_normalised)
{
	CHECK(reads_as("2024-02-29T12:00:00Z", 0, 1709208000));
	CHECK(reads_as("2000-02-29T00:00:00Z", 0, 951782400));
	CHECK(refused("2026-02-29T00:00:00Z", ALL));
	CHECK(refused("1900-02-29T00:00:00Z", ALL));
	CHECK(refused("2100-02-29T00:00:00Z", ALL));
	CHECK(refused("2026-02-30T00:00:00Z", ALL));
	CHECK(refused("2026-04-31T00:00:00Z", ALL));
	CHECK(refused("2026-00-10T00:00:00Z", ALL));
	CHECK(refused("2026-13-10T00:00:00Z", ALL));
	CHECK(refused("2026-12-00T00:00:00Z", ALL));
	CHECK(refused("2026-12-32T00:00:00Z", ALL));
	CHECK(refused("2026-12-02T24:00:00Z", ALL));
	CHECK(refused("2026-12-02T23:60:00Z", ALL));
	CHECK(refused("2026-12-31T23:59:60Z", ALL));	/* no leap second */
	CHECK(refused("2026-13-02", ALL));
	CHECK(refused("2026-02-30", ALL));
	CHECK(refused("2026-13-02T00:00:00", ALL));	/* bad, not just zoneless */
}

TEST(iso_garbage_is_refused)
{
	static const char *const bad[] = {
		"", "2026", "2026-12", "2026-12-2", "2026-1-02T00:00:00Z", "26-12-02T00:00:00Z",
		"+2026-12-02T00:00:00Z", "20261202T005054Z", "2026/12/02", "2026-12-02T",
		"2026-12-02T0:50:54Z", "2026-12-02T00:5:54Z", "2026-12-02T00:50:5Z",
		"2026-12-02T00-50-54Z", "2026-12-02X00:50:54Z", " 2026-12-02T00:50:54Z",
		"2026-12-02T00:50:54Z ", "2026-12-02T00:50:54Zjunk", "2026-12-02T00:50:54ZZ",
		"2026-12-02  00:50:54Z", "2026-12-02 ", "2026-12-02Z", "2026-12-02T 00:50:54Z",
		"2026-12-02T00:50:54\n", "two thousand", "2026-12-02T00:50:54\xc2\xa0",
		"2026-12-0a", "2026-12-02Tab:cd:efZ", "-026-12-02T00:00:00Z"};
	size_t i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (!refused(bad[i], ALL)) {
			fprintf(stderr, "taken: '%s'\n", bad[i]);
			CHECK(!"garbage taken");
		}
	CHECK(refused(NULL, ALL));
}

TEST(iso_flags_widen_only_what_they_name)
{
	ops_time_parsed p;
	time_t t;

	/* A date alone: midnight UTC, only with DATE_ONLY. */
	CHECK(refused("2026-12-02", 0));
	CHECK(reads_as("2026-12-02", OPS_TIME_DATE_ONLY, 1796169600));
	/* A blank between date and time, only with SPACE. */
	CHECK(refused("2026-12-02 00:50:54Z", OPS_TIME_DATE_ONLY));
	CHECK(reads_as("2026-12-02 00:50:54Z", OPS_TIME_SPACE, 1796172654));
	/* Minutes without seconds, only with NO_SECONDS. */
	CHECK(refused("2026-12-02T00:50Z", OPS_TIME_SPACE | OPS_TIME_ASSUME_UTC));
	CHECK(reads_as("2026-12-02T00:50Z", OPS_TIME_NO_SECONDS, 1796172600));
	CHECK(reads_as("2026-12-02 01:50+01", OPS_TIME_NO_SECONDS | OPS_TIME_SPACE, 1796172600));
	/* No zone: NO_ZONE (t read as UTC all the same), or OK with ASSUME_UTC. */
	CHECK_INT(ops_time_parse_iso("2026-12-02T00:50:54", 0, &p), OPS_TIME_NO_ZONE);
	CHECK_INT(p.t, 1796172654);
	CHECK_INT(p.zoned, 0);
	CHECK_INT(ops_time_parse_iso("2026-12-02T00:50:54.25", 0, &p), OPS_TIME_NO_ZONE);
	CHECK_INT(iso("2026-12-02T00:50", OPS_TIME_NO_SECONDS, &t), OPS_TIME_NO_ZONE);
	CHECK(reads_as("2026-12-02T00:50:54", OPS_TIME_ASSUME_UTC, 1796172654));
	/* Trailing text only with TRAILING; end says where the time stopped. */
	CHECK(refused("2026-12-02T00:50:54Z rest", ALL));
	CHECK_INT(ops_time_parse_iso("2026-12-02T00:50:54Z rest", OPS_TIME_TRAILING, &p),
		  OPS_TIME_OK);
	CHECK_STR(p.end, " rest");
	CHECK_INT(ops_time_parse_iso("2026-12-02 00:50:54,123] ERROR x",
				     OPS_TIME_TRAILING | OPS_TIME_SPACE | OPS_TIME_ASSUME_UTC, &p),
		  OPS_TIME_OK);
	CHECK_STR(p.end, "] ERROR x");
	CHECK_INT(p.t, 1796172654);
	CHECK_INT(p.nsec, 123000000);
	CHECK_INT(ops_time_parse_iso("2026-12-02T01:50:54+01:00 - app", OPS_TIME_TRAILING, &p),
		  OPS_TIME_OK);
	CHECK_INT(p.t, 1796172654);
	CHECK_STR(p.end, " - app");
	CHECK_INT(ops_time_parse_iso("2026-12-02 later", OPS_TIME_TRAILING | ALL, &p),
		  OPS_TIME_OK);
	CHECK_STR(p.end, " later");
	/* TRAILING does not make a malformed time good. */
	CHECK(refused("2026-12-02T00:50:54+1x", OPS_TIME_TRAILING | ALL));
	CHECK(refused("2026-12-02T00:50:54.x", OPS_TIME_TRAILING | ALL));
	CHECK(refused("2026-12-32T00:50:54Z x", OPS_TIME_TRAILING | ALL));
}

TEST(iso_reads_back_what_ops_time_iso_writes)
{
	long long t;
	char buf[OPS_TIME_ISO_SIZE];
	time_t back;
	unsigned n = 0;

	/* Every 7 hours 13 minutes 17 seconds from 1900 to 2200: all month
	 * lengths, leap days and times of day; gmtime is the reference. */
	for (t = -2208988800LL; t < 7258118400LL; t += 7 * 3600 + 13 * 60 + 17, n++) {
		ops_time_iso((time_t)t, buf);
		if (iso(buf, 0, &back) != OPS_TIME_OK || back != (time_t)t) {
			fprintf(stderr, "%lld: '%s' read back as %lld\n", t, buf, (long long)back);
			CHECK(!"round trip");
			break;
		}
	}
	CHECK(n > 300000);
}

TEST(iso_ignores_tz)
{
	setenv("TZ", "Asia/Kathmandu", 1);
	tzset();
	CHECK(reads_as("2026-12-02 00:50:54", OPS_TIME_SPACE | OPS_TIME_ASSUME_UTC, 1796172654));
	CHECK(reads_as("2026-12-02", OPS_TIME_DATE_ONLY, 1796169600));
	unsetenv("TZ");
	tzset();
}

/* 1 when s reads as the HTTP-date want, else 0 saying what it read. */
static int http_reads_as(const char *s, long long want)
{
	time_t t = 0;
	int r = ops_time_parse_http(s, &t);

	if (r == 0 && (long long)t == want)
		return 1;
	fprintf(stderr, "'%s' read as %lld (result %d), expected %lld\n", s, (long long)t, r,
		want);
	return 0;
}

TEST(http_date_three_forms)
{
	/* RFC 7231 7.1.1.1's own example, 784111777 in each form. */
	CHECK(http_reads_as("Sun, 06 Nov 1994 08:49:37 GMT", 784111777));
	CHECK(http_reads_as("Sunday, 06-Nov-94 08:49:37 GMT", 784111777));
	CHECK(http_reads_as("Sun Nov  6 08:49:37 1994", 784111777));
	CHECK(http_reads_as("Sun Nov 06 08:49:37 1994", 784111777));
	CHECK(http_reads_as("Wed, 02 Dec 2026 00:50:54 GMT", 1796172654));
	/* Any case, blanks after; RFC 850 years 69-99 are 19YY, 00-68 20YY. */
	CHECK(http_reads_as("wed, 02 DEC 2026 00:50:54 GMT  \t", 1796172654));
	CHECK(http_reads_as("Thursday, 01-Jan-70 00:00:00 GMT", 0));
	CHECK(http_reads_as("Wednesday, 02-Dec-26 00:50:54 GMT", 1796172654));
	CHECK(http_reads_as("Monday, 31-Dec-68 00:00:00 GMT", 3124137600LL));	/* 2068-12-31 */
	CHECK(http_reads_as("Thu, 29 Feb 2024 00:00:00 GMT", 1709164800));
}

TEST(http_date_garbage_is_refused)
{
	static const char *const bad[] = {
		"", "Sun, 06 Nov 1994 08:49:37", "Sun, 06 Nov 1994 08:49:37 UTC",
		"Sun, 6 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 94 08:49:37 GMT",
		"Sun, 06 Nox 1994 08:49:37 GMT", "Sux, 06 Nov 1994 08:49:37 GMT",
		"Sun,06 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 8:49:37 GMT",
		"Sun, 31 Nov 1994 08:49:37 GMT", "Fri, 29 Feb 2026 08:49:37 GMT",
		"Sun, 06 Nov 1994 24:00:00 GMT", "Sun, 06 Nov 1994 23:59:60 GMT",
		"Sun, 06 Nov 1994 08:49:37 GMT junk", "Sunday, 06-Nov-1994 08:49:37 GMT",
		"Sun, 06-Nov-94 08:49:37 GMT", "Sund, 06-Nov-94 08:49:37 GMT",
		"Sun Nov 6 08:49:37 1994", "Sun Nov  6 08:49:37 94", "Sun Nov  6 08:49:37",
		"1994-11-06T08:49:37Z", "784111777", " Sun, 06 Nov 1994 08:49:37 GMT"};
	size_t i;
	time_t t;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (ops_time_parse_http(bad[i], &t) != -1) {
			fprintf(stderr, "taken: '%s'\n", bad[i]);
			CHECK(!"garbage taken");
		}
	CHECK_INT(ops_time_parse_http(NULL, &t), -1);
}

int main(void)
{
	RUN(iso_and_stamp_are_utc_whatever_tz);
	RUN(clocks_move_forward);
	RUN(iso_base_form_and_its_spellings);
	RUN(iso_fractions_dot_or_comma_one_to_nine_digits);
	RUN(iso_offsets_apply_and_are_bounded);
	RUN(iso_fields_are_checked_never_normalised);
	RUN(iso_garbage_is_refused);
	RUN(iso_flags_widen_only_what_they_name);
	RUN(iso_reads_back_what_ops_time_iso_writes);
	RUN(iso_ignores_tz);
	RUN(http_date_three_forms);
	RUN(http_date_garbage_is_refused);
	return unit_done();
}
