/*
 * Calendar specs (see opsmaint/calendar.h): parsing the five cron fields
 * into bit sets, finding the next run by walking the local calendar field
 * by field, the longest gap between runs, and rendering the sets back as a
 * cron line (with a weekday guard when both day fields are restricted) or a
 * systemd OnCalendar= value.  It does not know what a job is (schedule.c).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opsmaint/calendar.h"

struct field {
	const char *name;
	int lo, hi;		/* the values a set holds */
	int max_in;		/* the largest value accepted on input (7 for Sunday) */
	const char *const *names;	/* names for lo.. (NULL: numbers only) */
};

static const char *const month_names[] = {
	"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec", NULL
};
static const char *const dow_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL};
static const char *const dow_systemd[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};

enum { F_MIN, F_HOUR, F_DOM, F_MON, F_DOW, NFIELDS };

static const struct field fields[NFIELDS] = {
	{"minute", 0, 59, 59, NULL},
	{"hour", 0, 23, 23, NULL},
	{"day-of-month", 1, 31, 31, NULL},
	{"month", 1, 12, 12, month_names},
	{"day-of-week", 0, 6, 7, dow_names},
};

static const struct {
	const char *alias, *spec;
} aliases[] = {
	{"@hourly", "0 * * * *"},
	{"@daily", "0 0 * * *"},
	{"@midnight", "0 0 * * *"},
	{"@weekly", "0 0 * * 0"},
	{"@monthly", "0 0 1 * *"},
	{"@quarterly", "0 0 1 1,4,7,10 *"},
	{"@yearly", "0 0 1 1 *"},
	{"@annually", "0 0 1 1 *"},
};

/* One value: a number or, where the field has them, a name. */
static int value(const struct field *f, const char *s, size_t len, int *out)
{
	size_t i;
	int v = 0;

	if (len == 0)
		return -1;
	if (f->names && isalpha((unsigned char)s[0])) {
		for (i = 0; f->names[i]; i++)
			if (len == 3 && strncasecmp(s, f->names[i], 3) == 0) {
				*out = f->lo + (int)i;
				return 0;
			}
		return -1;
	}
	for (i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]) || v > 1000)
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

/* One field ("1-7", "*\/6", "mon,wed,fri") into the bits of *set. */
static ops_code parse_field(const struct field *f, const char *text, uint64_t *set,
			    ops_error *err)
{
	const char *p = text;

	*set = 0;
	for (;;) {
		const char *end = strchr(p, ','), *slash, *dash;
		size_t len = end ? (size_t)(end - p) : strlen(p);
		int lo, hi, step = 1, v;

		slash = memchr(p, '/', len);
		if (slash) {
			if (value(&(struct field){0}, slash + 1, len - (size_t)(slash + 1 - p),
				  &step) != 0 || step < 1)
				return ops_error_set(err, OPS_ECONFIG, "%s field '%s': bad step '%.*s'",
						     f->name, text,
						     (int)(len - (size_t)(slash + 1 - p)), slash + 1);
			len = (size_t)(slash - p);
		}
		dash = memchr(p, '-', len);
		if (len == 1 && *p == '*') {
			lo = f->lo;
			hi = f->max_in == 7 ? 6 : f->hi;
		} else if (value(f, p, dash ? (size_t)(dash - p) : len, &lo) != 0 ||
			   (dash && value(f, dash + 1, len - (size_t)(dash + 1 - p), &hi) != 0)) {
			return ops_error_set(err, OPS_ECONFIG, "%s field '%s': '%.*s' is not a %s%s",
					     f->name, text, (int)len, p, f->name,
					     f->names ? " number or name" : " number");
		} else {
			if (!dash)
				hi = slash ? (f->max_in == 7 ? 6 : f->hi) : lo;
			if (lo < f->lo || lo > f->max_in || hi < f->lo || hi > f->max_in)
				return ops_error_set(err, OPS_ECONFIG,
						     "%s field '%s': %d is out of range %d-%d",
						     f->name, text, lo < f->lo || lo > f->max_in ? lo : hi,
						     f->lo, f->max_in);
			if (hi < lo)
				return ops_error_set(err, OPS_ECONFIG,
						     "%s field '%s': range %d-%d goes backwards",
						     f->name, text, lo, hi);
		}
		for (v = lo; v <= hi; v += step)
			*set |= 1ULL << (v == 7 && f->max_in == 7 ? 0 : v);
		if (!end)
			break;
		p = end + 1;
	}
	return OPS_OK;
}

static int days_in(int y, int mo)
{
	static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (mo == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return d[mo - 1];
}

/* 0 Sunday .. 6 Saturday (Sakamoto's method). */
static int weekday(int y, int mo, int d)
{
	static const int t[] = {0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4};

	if (mo < 3)
		y--;
	return (y + y / 4 - y / 100 + y / 400 + t[mo - 1] + d) % 7;
}

ops_code ops_calendar_parse(const char *spec, ops_calendar *cal, ops_error *err)
{
	char buf[OPS_CALENDAR_TEXT_MAX], *words[NFIELDS + 1], *save = NULL, *w;
	uint64_t sets[NFIELDS];
	size_t i;
	int n = 0, mo, d;

	memset(cal, 0, sizeof *cal);
	while (spec && isspace((unsigned char)*spec))
		spec++;
	if (!spec || !*spec)
		return ops_error_set(err, OPS_ECONFIG, "empty schedule: give five cron fields or off");
	if (strcmp(spec, "off") == 0) {
		cal->off = 1;
		return OPS_OK;
	}
	for (i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
		if (strcasecmp(spec, aliases[i].alias) == 0)
			spec = aliases[i].spec;
	if (spec[0] == '@')
		return ops_error_set(err, OPS_ECONFIG, "unknown alias '%s' (@hourly, @daily, "
				     "@weekly, @monthly, @quarterly, @yearly)", spec);
	if (strlen(spec) >= sizeof buf)
		return ops_error_set(err, OPS_ECONFIG, "schedule '%.40s...' is too long", spec);
	snprintf(buf, sizeof buf, "%s", spec);
	for (w = strtok_r(buf, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		if (n == NFIELDS)
			return ops_error_set(err, OPS_ECONFIG, "schedule '%s' has more than five "
					     "fields (minute hour day-of-month month day-of-week)",
					     spec);
		words[n++] = w;
	}
	if (n != NFIELDS)
		return ops_error_set(err, OPS_ECONFIG, "schedule '%s' has %d field%s, not five "
				     "(minute hour day-of-month month day-of-week)", spec, n,
				     n == 1 ? "" : "s");
	for (i = 0; i < NFIELDS; i++)
		if (parse_field(&fields[i], words[i], &sets[i], err) != OPS_OK)
			return err->code;
	/* A day that never comes ("0 0 31 2 *") is a mistake, not a schedule. */
	for (mo = 1; mo <= 12; mo++)
		for (d = 1; d <= days_in(2000, mo); d++)
			if ((sets[F_MON] >> mo & 1) && (sets[F_DOM] >> d & 1))
				goto feasible;
	return ops_error_set(err, OPS_ECONFIG, "day-of-month field '%s': no such day in month "
			     "field '%s'; the schedule would never run", words[F_DOM], words[F_MON]);
feasible:
	cal->minute = sets[F_MIN];
	cal->hour = (uint32_t)sets[F_HOUR];
	cal->dom = (uint32_t)sets[F_DOM];
	cal->month = (uint16_t)sets[F_MON];
	cal->dow = (uint8_t)sets[F_DOW];
	return OPS_OK;
}

int ops_calendar_equal(const ops_calendar *a, const ops_calendar *b)
{
	return a->off == b->off && a->minute == b->minute && a->hour == b->hour &&
	       a->dom == b->dom && a->month == b->month && a->dow == b->dow;
}

/* ---- the next run ---- */

struct civil {
	int y, mo, d, h, mi;
};

static int day_ok(const ops_calendar *cal, const struct civil *c)
{
	return c->d <= days_in(c->y, c->mo) && (cal->dom >> c->d & 1) &&
	       (cal->dow >> weekday(c->y, c->mo, c->d) & 1);
}

static void next_month(struct civil *c)
{
	c->d = 1;
	c->h = c->mi = 0;
	if (++c->mo > 12) {
		c->mo = 1;
		c->y++;
	}
}

static void next_day(struct civil *c)
{
	c->h = c->mi = 0;
	if (++c->d > days_in(c->y, c->mo))
		next_month(c);
}

static void next_hour(struct civil *c)
{
	c->mi = 0;
	if (++c->h > 23)
		next_day(c);
}

static void next_minute(struct civil *c)
{
	if (++c->mi > 59)
		next_hour(c);
}

/*
 * The earliest instant whose local time is c; -1 when the zone skips it.
 * The candidates are c read as UTC less each UTC offset in force a day
 * around it (zones change offset at most once a day), each checked by
 * converting it back.  No mktime(3): with TZ unset it rereads the zone file
 * on every call, and a year of minutes is half a million calls.
 */
static time_t instant(const struct civil *c)
{
	struct tm tm = {0}, back;
	time_t base, t, best = (time_t)-1;
	long off[3];
	int i;

	tm.tm_year = c->y - 1900;
	tm.tm_mon = c->mo - 1;
	tm.tm_mday = c->d;
	tm.tm_hour = c->h;
	tm.tm_min = c->mi;
	base = timegm(&tm);
	for (i = 0; i < 3; i++) {
		t = base + (i - 1) * 86400L;
		off[i] = localtime_r(&t, &back) ? back.tm_gmtoff : 0;
	}
	for (i = 0; i < 3; i++) {
		t = base - off[i];
		if (!localtime_r(&t, &back) || back.tm_year != c->y - 1900 ||
		    back.tm_mon != c->mo - 1 || back.tm_mday != c->d || back.tm_hour != c->h ||
		    back.tm_min != c->mi || back.tm_sec != 0)
			continue;
		if (best == (time_t)-1 || t < best)
			best = t;
	}
	return best;
}

time_t ops_calendar_next(const ops_calendar *cal, time_t after)
{
	struct tm tm;
	struct civil c;
	int limit;

	if (cal->off || !cal->minute || !cal->hour || !cal->dom || !cal->month || !cal->dow ||
	    !localtime_r(&after, &tm))
		return (time_t)-1;
	c = (struct civil){tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min};
	limit = c.y + 400;
	next_minute(&c);
	while (c.y <= limit) {
		time_t t;

		if (!(cal->month >> c.mo & 1)) {
			next_month(&c);
		} else if (!day_ok(cal, &c)) {
			next_day(&c);
		} else if (!(cal->hour >> c.h & 1)) {
			next_hour(&c);
		} else if (!(cal->minute >> c.mi & 1)) {
			next_minute(&c);
		} else {
			t = instant(&c);
			if (t != (time_t)-1 && t > after)
				return t;
			next_minute(&c);
		}
	}
	return (time_t)-1;
}

long ops_calendar_period(const ops_calendar *cal, time_t from)
{
	time_t prev = ops_calendar_next(cal, from), t, end = from + 366L * 86400;
	long longest = 0;

	if (prev == (time_t)-1)
		return 0;
	for (;;) {
		t = ops_calendar_next(cal, prev);
		if (t == (time_t)-1)
			break;
		if ((long)(t - prev) > longest)
			longest = (long)(t - prev);
		if (t > end)
			break;
		prev = t;
	}
	return longest;
}

/* ---- rendering ---- */

static int full(uint64_t set, int lo, int hi)
{
	int v;

	for (v = lo; v <= hi; v++)
		if (!(set >> v & 1))
			return 0;
	return 1;
}

/*
 * A set as a cron field ("*", "*\/6", "1-7", "0,30") or a systemd one
 * ("*", "01..07", "00,06,12,18"): runs of three or more as ranges.
 */
static void render_set(char *out, size_t size, uint64_t set, int lo, int hi, int systemd)
{
	size_t used = 0;
	int v, step;

	out[0] = '\0';
	if (full(set, lo, hi)) {
		snprintf(out, size, "*");
		return;
	}
	/* Every n-th value from the first, three or more: "*\/n" (cron only). */
	for (step = 2; !systemd && step <= (hi - lo) / 2; step++) {
		int same = 1;

		for (v = lo; v <= hi; v++)
			if (!!(set >> v & 1) != ((v - lo) % step == 0))
				same = 0;
		if (same) {
			snprintf(out, size, "*/%d", step);
			return;
		}
	}
	for (v = lo; v <= hi; v++) {
		int end = v;

		if (!(set >> v & 1))
			continue;
		while (end + 1 <= hi && (set >> (end + 1) & 1))
			end++;
		if (used && used < size)
			out[used++] = ',';
		if (used >= size)
			break;
		if (end - v >= 2)
			used += (size_t)snprintf(out + used, size - used,
						 systemd ? "%02d..%02d" : "%d-%d", v, end);
		else if (end - v == 1)
			used += (size_t)snprintf(out + used, size - used,
						 systemd ? "%02d,%02d" : "%d,%d", v, end);
		else
			used += (size_t)snprintf(out + used, size - used, systemd ? "%02d" : "%d", v);
		if (used >= size) {
			out[size - 1] = '\0';
			break;
		}
		v = end;
	}
}

static const char guard_one[] = "[ \"$(date +\\%u)\" = ";
static const char guard_case[] = "case \"$(date +\\%u)\" in [";
static const char guard_case_end[] = "]) ;; *) false;; esac && ";

int ops_calendar_cron(const ops_calendar *cal, char out[OPS_CALENDAR_TEXT_MAX],
		      char guard[OPS_CALENDAR_TEXT_MAX])
{
	char f[NFIELDS][100];
	int both, d, n = 0;
	char days[8];

	guard[0] = out[0] = '\0';
	if (cal->off)
		return -1;
	both = !full(cal->dom, 1, 31) && !full(cal->dow, 0, 6);
	render_set(f[F_MIN], sizeof f[0], cal->minute, 0, 59, 0);
	render_set(f[F_HOUR], sizeof f[0], cal->hour, 0, 23, 0);
	render_set(f[F_DOM], sizeof f[0], cal->dom, 1, 31, 0);
	render_set(f[F_MON], sizeof f[0], cal->month, 1, 12, 0);
	render_set(f[F_DOW], sizeof f[0], both ? 0x7f : cal->dow, 0, 6, 0);
	snprintf(out, OPS_CALENDAR_TEXT_MAX, "%s %s %s %s %s", f[F_MIN], f[F_HOUR], f[F_DOM],
		 f[F_MON], f[F_DOW]);
	if (!both)
		return 0;
	/* date +%u: 1 Monday .. 7 Sunday. */
	for (d = 1; d <= 7; d++)
		if (cal->dow >> (d % 7) & 1)
			days[n++] = (char)('0' + d);
	days[n] = '\0';
	if (n == 1)
		snprintf(guard, OPS_CALENDAR_TEXT_MAX, "%s%s ] && ", guard_one, days);
	else
		snprintf(guard, OPS_CALENDAR_TEXT_MAX, "%s%s%s", guard_case, days, guard_case_end);
	return 0;
}

/* The weekdays of a guard at s (digits 1-7), its length in *len; -1 if none. */
static int read_guard(const char *s, uint8_t *dow, size_t *len)
{
	const char *p;

	*dow = 0;
	if (strncmp(s, guard_one, sizeof guard_one - 1) == 0) {
		p = s + sizeof guard_one - 1;
		if (*p < '1' || *p > '7' || strncmp(p + 1, " ] && ", 6) != 0)
			return -1;
		*dow = (uint8_t)(1u << ((*p - '0') % 7));
		*len = (size_t)(p + 7 - s);
		return 0;
	}
	if (strncmp(s, guard_case, sizeof guard_case - 1) != 0)
		return -1;
	for (p = s + sizeof guard_case - 1; *p >= '1' && *p <= '7'; p++)
		*dow |= (uint8_t)(1u << ((*p - '0') % 7));
	if (!*dow || strncmp(p, guard_case_end, sizeof guard_case_end - 1) != 0)
		return -1;
	*len = (size_t)(p + sizeof guard_case_end - 1 - s);
	return 0;
}

ops_code ops_calendar_from_cron(const char *line, ops_calendar *cal, const char **rest,
				ops_error *err)
{
	char spec[OPS_CALENDAR_TEXT_MAX];
	const char *p = line;
	size_t used = 0, glen;
	uint8_t dow;
	int i;

	for (i = 0; i < NFIELDS; i++) {
		const char *start;

		while (*p == ' ' || *p == '\t')
			p++;
		start = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
		if (p == start || used + (size_t)(p - start) + 2 > sizeof spec)
			return ops_error_set(err, OPS_EDATA, "cron line '%.60s' has fewer than "
					     "five fields", line);
		used += (size_t)snprintf(spec + used, sizeof spec - used, "%s%.*s", i ? " " : "",
					 (int)(p - start), start);
	}
	if (ops_calendar_parse(spec, cal, err) != OPS_OK)
		return err->code;
	while (*p == ' ' || *p == '\t')
		p++;
	*rest = p;
	/* The user field of /etc/cron.d comes before the command; the guard
	 * after it.  The caller skips the user; a guard is found either way. */
	if (read_guard(p, &dow, &glen) == 0) {
		cal->dow = dow;
		*rest = p + glen;
	}
	return OPS_OK;
}

int ops_calendar_systemd(const ops_calendar *cal, char out[OPS_CALENDAR_TEXT_MAX])
{
	char mon[48], dom[100], hour[100], min[100], dow[64] = "";
	size_t used = 0;
	int d;

	out[0] = '\0';
	if (cal->off)
		return -1;
	if (!full(cal->dow, 0, 6)) {
		/* Monday first, as systemd writes them; Sunday last. */
		for (d = 1; d <= 7; d++) {
			int end = d;

			if (!(cal->dow >> (d % 7) & 1))
				continue;
			while (end + 1 <= 7 && (cal->dow >> ((end + 1) % 7) & 1))
				end++;
			used += (size_t)snprintf(dow + used, sizeof dow - used, "%s%s%s%s",
						 used ? "," : "", dow_systemd[d % 7],
						 end > d ? (end - d >= 2 ? ".." : ",") : "",
						 end > d ? dow_systemd[end % 7] : "");
			d = end;
		}
		used += (size_t)snprintf(dow + used, sizeof dow - used, " ");
	}
	render_set(mon, sizeof mon, cal->month, 1, 12, 1);
	render_set(dom, sizeof dom, cal->dom, 1, 31, 1);
	render_set(hour, sizeof hour, cal->hour, 0, 23, 1);
	render_set(min, sizeof min, cal->minute, 0, 59, 1);
	snprintf(out, OPS_CALENDAR_TEXT_MAX, "%s*-%s-%s %s:%s:00", dow, mon, dom, hour, min);
	return 0;
}
