/*
 * Unit tests for lib/core/clock.c: times shown and put in names are ISO 8601
 * in UTC whatever TZ is.
 */
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

int main(void)
{
	RUN(iso_and_stamp_are_utc_whatever_tz);
	RUN(clocks_move_forward);
	return unit_done();
}
