/*
 * Maintenance windows (guide 000 section 1.3): parsing the spec, asking
 * whether a moment is inside and finding when the window next opens.
 * Everything works on the host's local time through localtime_r, so DST
 * changes are whatever the system's zone says they are.  It does not decide
 * whether work may run (run/guard.c does) or read the configuration.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "opsmaint/window.h"

enum wkind { W_ANY, W_NEVER, W_RANGES };

struct range {
	unsigned days;		/* bit d set: the range starts on tm_wday d */
	int start, end;		/* minutes since local midnight; end <= start wraps */
};

struct ops_window {
	enum wkind kind;
	size_t n;
	struct range *r;
};

static const char *const day_short[7] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char *const day_long[7] = {
	"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"
};

static int parse_day(const char *s, size_t n)
{
	int d;

	for (d = 0; d < 7; d++) {
		if ((n == 3 && strncasecmp(s, day_short[d], 3) == 0) ||
		    (n == strlen(day_long[d]) && strncasecmp(s, day_long[d], n) == 0))
			return d;
	}
	return -1;
}

/* "HH:MM" (one-digit hours allowed); allow_24 admits "24:00" as an end. */
static int parse_hhmm(const char *s, size_t n, int allow_24)
{
	int h, m;

	if (n == 4 && isdigit((unsigned char)s[0]) && s[1] == ':') {
		h = s[0] - '0';
		s += 2;
	} else if (n == 5 && isdigit((unsigned char)s[0]) &&
		   isdigit((unsigned char)s[1]) && s[2] == ':') {
		h = (s[0] - '0') * 10 + (s[1] - '0');
		s += 3;
	} else {
		return -1;
	}
	if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]))
		return -1;
	m = (s[0] - '0') * 10 + (s[1] - '0');
	if (m > 59 || h > 24 || (h == 24 && (!allow_24 || m != 0)))
		return -1;
	return h * 60 + m;
}

/* One "DAYS HH:MM-HH:MM" part (already trimmed, n > 0). */
static ops_code parse_range(const char *part, size_t n, struct range *r,
			    ops_error *err)
{
	char times[32];
	const char *sp, *dash, *p;
	size_t dn, tn = 0;
	int d1, d2, d;

	for (sp = part; sp < part + n && !isspace((unsigned char)*sp); sp++)
		;
	dn = (size_t)(sp - part);
	if (sp == part + n)
		return ops_error_set(err, OPS_ECONFIG,
				     "bad maintenance window '%.*s': expected DAYS HH:MM-HH:MM",
				     (int)n, part);
	/* The time part may be written with spaces around the dash. */
	for (p = sp; p < part + n; p++) {
		if (isspace((unsigned char)*p))
			continue;
		if (tn + 1 >= sizeof times)
			goto bad_time;
		times[tn++] = *p;
	}
	times[tn] = '\0';

	r->days = 0;
	if (dn == 5 && strncasecmp(part, "daily", 5) == 0) {
		r->days = 0x7f;
	} else {
		dash = memchr(part, '-', dn);
		d1 = parse_day(part, dash ? (size_t)(dash - part) : dn);
		d2 = dash ? parse_day(dash + 1, dn - (size_t)(dash + 1 - part)) : d1;
		if (d1 < 0 || d2 < 0)
			return ops_error_set(err, OPS_ECONFIG,
					     "bad maintenance window '%.*s': unknown day '%.*s'",
					     (int)n, part, (int)dn, part);
		/* Spans wrap over the week's end: "Fri-Mon" is Fri, Sat, Sun, Mon. */
		for (d = d1;; d = (d + 1) % 7) {
			r->days |= 1u << d;
			if (d == d2)
				break;
		}
	}
	dash = strchr(times, '-');
	if (!dash)
		goto bad_time;
	r->start = parse_hhmm(times, (size_t)(dash - times), 0);
	r->end = parse_hhmm(dash + 1, strlen(dash + 1), 1);
	if (r->start < 0 || r->end < 0)
		goto bad_time;
	return OPS_OK;
bad_time:
	return ops_error_set(err, OPS_ECONFIG,
			     "bad maintenance window '%.*s': expected HH:MM-HH:MM",
			     (int)n, part);
}

void ops_window_free(ops_window *w)
{
	if (!w)
		return;
	free(w->r);
	free(w);
}

static void trim(const char **s, size_t *n)
{
	while (*n > 0 && isspace((unsigned char)**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n > 0 && isspace((unsigned char)(*s)[*n - 1]))
		(*n)--;
}

ops_code ops_window_parse(const char *spec, ops_window **out, ops_error *err)
{
	ops_window *w = NULL;
	const char *p, *comma, *part;
	size_t n, parts = 1;
	ops_code rc = OPS_OK;

	*out = NULL;
	if (!spec)
		spec = "";
	w = calloc(1, sizeof *w);
	if (!w)
		return ops_error_oom(err);
	part = spec;
	n = strlen(spec);
	trim(&part, &n);
	if (n == 3 && strncasecmp(part, "any", 3) == 0) {
		w->kind = W_ANY;
		goto done;
	}
	if (n == 5 && strncasecmp(part, "never", 5) == 0) {
		w->kind = W_NEVER;
		goto done;
	}
	if (n == 0) {
		rc = ops_error_set(err, OPS_ECONFIG,
				   "bad maintenance window '%s': empty; use 'any', 'never' or DAYS HH:MM-HH:MM",
				   spec);
		goto out;
	}
	w->kind = W_RANGES;
	for (p = spec; (p = strchr(p, ',')) != NULL; p++)
		parts++;
	w->r = calloc(parts, sizeof *w->r);
	if (!w->r) {
		rc = ops_error_oom(err);
		goto out;
	}
	for (p = spec;; p = comma + 1) {
		comma = strchr(p, ',');
		part = p;
		n = comma ? (size_t)(comma - p) : strlen(p);
		trim(&part, &n);
		if (n == 0) {
			rc = ops_error_set(err, OPS_ECONFIG,
					   "bad maintenance window '%s': empty range between commas",
					   spec);
			goto out;
		}
		if ((n == 3 && strncasecmp(part, "any", 3) == 0) ||
		    (n == 5 && strncasecmp(part, "never", 5) == 0)) {
			rc = ops_error_set(err, OPS_ECONFIG,
					   "bad maintenance window '%s': '%.*s' cannot be combined with ranges",
					   spec, (int)n, part);
			goto out;
		}
		rc = parse_range(part, n, &w->r[w->n], err);
		if (rc != OPS_OK)
			goto out;
		w->n++;
		if (!comma)
			break;
	}
done:
	*out = w;
	w = NULL;
out:
	ops_window_free(w);
	return rc;
}

int ops_window_contains(const ops_window *w, time_t t)
{
	struct tm tm;
	int m, prev;
	size_t i;

	if (!w || w->kind == W_NEVER)
		return 0;
	if (w->kind == W_ANY)
		return 1;
	if (!localtime_r(&t, &tm))
		return 0;
	m = tm.tm_hour * 60 + tm.tm_min;
	prev = (tm.tm_wday + 6) % 7;
	for (i = 0; i < w->n; i++) {
		const struct range *r = &w->r[i];

		if (r->start < r->end) {
			if ((r->days & (1u << tm.tm_wday)) && m >= r->start && m < r->end)
				return 1;
		} else {
			/* Past midnight belongs to the day the range started on. */
			if ((r->days & (1u << tm.tm_wday)) && m >= r->start)
				return 1;
			if ((r->days & (1u << prev)) && m < r->end)
				return 1;
		}
	}
	return 0;
}

/*
 * An opening is a minute inside the window whose previous minute was not:
 * that merges ranges that touch, and a range that starts in a DST gap
 * (02:00-04:00 on a spring-forward night) opens at the first minute that
 * exists; one wholly inside the gap (02:00-02:30) does not open that
 * night, and one in the repeated hour of an autumn night opens twice.
 */
time_t ops_window_next_open(const ops_window *w, time_t t)
{
	time_t m, limit;
	int prev_in;

	if (!w || w->kind != W_RANGES)
		return 0;
	m = t - (((t % 60) + 60) % 60) + 60;	/* the first minute after t */
	limit = m + 8 * 24 * 60 * 60;
	prev_in = ops_window_contains(w, m - 60);
	for (; m <= limit; m += 60) {
		int in = ops_window_contains(w, m);

		if (in && !prev_in)
			return m;
		prev_in = in;
	}
	return 0;
}
