/* The monotonic and wall clocks as doubles (see clock.h). */
#include <time.h>

#include "opsmaint/clock.h"

double ops_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double ops_wall_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *utc(time_t t, const char *fmt, char *buf)
{
	struct tm tm;

	if (!gmtime_r(&t, &tm) || strftime(buf, OPS_TIME_ISO_SIZE, fmt, &tm) == 0)
		buf[0] = '\0';
	return buf;
}

char *ops_time_iso(time_t t, char buf[OPS_TIME_ISO_SIZE])
{
	return utc(t, "%Y-%m-%dT%H:%M:%SZ", buf);
}

char *ops_time_stamp(time_t t, char buf[OPS_TIME_ISO_SIZE])
{
	return utc(t, "%Y%m%dT%H%M%SZ", buf);
}
