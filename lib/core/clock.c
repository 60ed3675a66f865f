/*
 * The monotonic and wall clocks as doubles, times written as ISO 8601 in
 * UTC, and the one reader of ISO 8601 and HTTP times (see clock.h).  The
 * readers are hand-written, not strptime(3) + timegm(3): strptime takes one
 * digit where two are due, leading blanks, the locale's month names and a
 * second 60, and timegm turns February 30 into March 2 without a word.
 */
#include <stddef.h>
#include <string.h>
#include <strings.h>
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

/* ---- reading times ---- */

/* Exactly n digits at s, as a number; 0 when one is not a digit. */
static int digits(const char *s, int n, int *out)
{
	int i, v = 0;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 1;
}

static int leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int y, int m)
{
	static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return m == 2 && leap(y) ? 29 : days[m - 1];
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
 * (H. Hinnant's days_from_civil). */
static long long epoch_days(int y, int m, int d)
{
	long long era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* A valid y-m-d h:mi:s as seconds since the epoch; 0 when out of range. */
static int civil_seconds(int y, int mo, int d, int h, int mi, int sec, time_t *t)
{
	if (mo < 1 || mo > 12 || d < 1 || d > month_days(y, mo) || h > 23 || mi > 59 ||
	    sec > 59)
		return 0;
	*t = (time_t)(epoch_days(y, mo, d) * 86400 + h * 3600L + mi * 60L + sec);
	return 1;
}

int ops_time_parse_iso(const char *s, unsigned flags, ops_time_parsed *out)
{
	int y, mo, d, h = 0, mi = 0, sec = 0, zh = 0, zm = 0, sign = 0;
	const char *p = s;

	memset(out, 0, sizeof *out);
	if (!s || !digits(p, 4, &y) || p[4] != '-' || !digits(p + 5, 2, &mo) || p[7] != '-' ||
	    !digits(p + 8, 2, &d))
		return OPS_TIME_BAD;
	p += 10;
	if (*p == 'T' || *p == 't' ||
	    (*p == ' ' && (flags & OPS_TIME_SPACE) && p[1] >= '0' && p[1] <= '9')) {
		if (!digits(p + 1, 2, &h) || p[3] != ':' || !digits(p + 4, 2, &mi))
			return OPS_TIME_BAD;
		p += 6;
		if (*p == ':') {
			if (!digits(p + 1, 2, &sec))
				return OPS_TIME_BAD;
			p += 3;
			if (*p == '.' || *p == ',') {
				long scale = 100000000;

				for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10) {
					if (++out->frac_digits > 9)
						return OPS_TIME_BAD;
					out->nsec += (*p - '0') * scale;
				}
				if (out->frac_digits == 0)
					return OPS_TIME_BAD;
			}
		} else if (!(flags & OPS_TIME_NO_SECONDS)) {
			return OPS_TIME_BAD;
		}
		if (*p == 'Z' || *p == 'z') {
			out->zoned = 1;
			p++;
		} else if (*p == '+' || *p == '-') {
			sign = *p == '-' ? -1 : 1;
			if (!digits(p + 1, 2, &zh))
				return OPS_TIME_BAD;
			p += 3;
			if (*p == ':' && !digits(p + 1, 2, &zm))
				return OPS_TIME_BAD;
			if (*p == ':')
				p += 3;
			else if (digits(p, 2, &zm))
				p += 2;
			if (zh > 15 || zm > 59)
				return OPS_TIME_BAD;
			out->zoned = 1;
		}
	} else if (!(flags & OPS_TIME_DATE_ONLY)) {
		return OPS_TIME_BAD;
	}
	if (*p && !(flags & OPS_TIME_TRAILING))
		return OPS_TIME_BAD;
	if (!civil_seconds(y, mo, d, h, mi, sec, &out->t)) {
		out->t = 0;
		return OPS_TIME_BAD;
	}
	out->t -= sign * (zh * 3600L + zm * 60L);
	out->end = p;
	/* A date alone is a day, not an instant in some zone: midnight UTC. */
	if (p == s + 10 || out->zoned || (flags & OPS_TIME_ASSUME_UTC))
		return OPS_TIME_OK;
	return OPS_TIME_NO_ZONE;
}

/* The index of the name at s among n names of len letters (any case), or -1. */
static int name_at(const char *s, const char *const *names, int n, size_t len)
{
	int i;

	for (i = 0; i < n; i++)
		if (strncasecmp(s, names[i], len) == 0)
			return i;
	return -1;
}

static const char *const months[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
				       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
static const char *const wdays[7] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char *const weekdays[7] = {"Sunday", "Monday", "Tuesday", "Wednesday",
					"Thursday", "Friday", "Saturday"};

/* "HH:MM:SS" at s into the three; 0 when it is not. */
static int clock_at(const char *s, int *h, int *mi, int *sec)
{
	return digits(s, 2, h) && s[2] == ':' && digits(s + 3, 2, mi) && s[5] == ':' &&
	       digits(s + 6, 2, sec);
}

int ops_time_parse_http(const char *s, time_t *t)
{
	int y, mo, d, h, mi, sec, i;
	const char *p = s;

	if (!s)
		return -1;
	if (name_at(p, wdays, 7, 3) >= 0 && p[3] == ',') {
		/* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
		p += 4;
		if (*p++ != ' ' || !digits(p, 2, &d) || p[2] != ' ' ||
		    (mo = name_at(p + 3, months, 12, 3)) < 0 || p[6] != ' ' ||
		    !digits(p + 7, 4, &y) || p[11] != ' ' || !clock_at(p + 12, &h, &mi, &sec) ||
		    strncmp(p + 20, " GMT", 4) != 0)
			return -1;
		p += 24;
	} else if (name_at(p, wdays, 7, 3) >= 0 && p[3] == ' ') {
		/* asctime: "Sun Nov  6 08:49:37 1994" */
		p += 4;
		if ((mo = name_at(p, months, 12, 3)) < 0 || p[3] != ' ' ||
		    !(p[4] == ' ' ? digits(p + 5, 1, &d) : digits(p + 4, 2, &d)) ||
		    p[6] != ' ' || !clock_at(p + 7, &h, &mi, &sec) || p[15] != ' ' ||
		    !digits(p + 16, 4, &y))
			return -1;
		p += 20;
	} else {
		/* RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT" */
		for (i = 0; i < 7; i++)
			if (strncasecmp(p, weekdays[i], strlen(weekdays[i])) == 0 &&
			    p[strlen(weekdays[i])] == ',')
				break;
		if (i == 7)
			return -1;
		p += strlen(weekdays[i]) + 1;
		if (*p++ != ' ' || !digits(p, 2, &d) || p[2] != '-' ||
		    (mo = name_at(p + 3, months, 12, 3)) < 0 || p[6] != '-' ||
		    !digits(p + 7, 2, &y) || p[9] != ' ' || !clock_at(p + 10, &h, &mi, &sec) ||
		    strncmp(p + 18, " GMT", 4) != 0)
			return -1;
		y += y < 69 ? 2000 : 1900;
		p += 22;
	}
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p || !civil_seconds(y, mo + 1, d, h, mi, sec, t))
		return -1;
	return 0;
}
