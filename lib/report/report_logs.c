/*
 * The report's log analysis (guide 001's log analyzer): the error lines of
 * each application log (ERROR, CRITICAL, Exception, Traceback), counted by
 * kind, where a kind is the line with its timestamp dropped and its numbers,
 * hex ids and UUIDs, and quoted strings made generic, so that a thousand
 * "connection refused to 10.0.0.7:5432" are one kind.  At most
 * report.max_log_bytes of each file are read, from its end.  A line that
 * starts with a timestamp (taken as UTC) older than the period is not
 * counted; a line without one is.  It does not follow rotations (health's
 * logs component does, between runs) nor read compressed files.
 */
#include <ctype.h>
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "opsmaint/clock.h"
#include "opsmaint/report.h"
#include "report/report_internal.h"

#define SLOTS 4096		/* distinct kinds kept per file; the rest are "other" */
#define KIND_MAX 240
#define EXAMPLE_MAX 300
#define TOP 10

struct kind {
	char *kind, *example;
	long count;
};

static const char *const markers[] = {"ERROR", "CRITICAL", "Exception", "Traceback", NULL};

static int is_error_line(const char *s)
{
	size_t i;

	for (i = 0; markers[i]; i++)
		if (strstr(s, markers[i]))
			return 1;
	return 0;
}

/* A leading "[2026-12-03 06:00:00,123]" or "2026-12-03T06:00:00+01:00": its
 * time (no zone: UTC) and the rest of the line after it; -1 when the line
 * has none. */
static time_t leading_time(const char *s, const char **rest)
{
	ops_time_parsed p;

	while (*s == ' ' || *s == '[')
		s++;
	if (ops_time_parse_iso(s, OPS_TIME_SPACE | OPS_TIME_ASSUME_UTC | OPS_TIME_TRAILING,
			       &p) != OPS_TIME_OK)
		return -1;
	*rest = p.end + (*p.end == ']');
	return p.t;
}

static int hexish(const char *s, size_t n)
{
	size_t i, digits = 0, letters = 0;

	for (i = 0; i < n; i++) {
		if (isdigit((unsigned char)s[i]))
			digits++;
		else if (strchr("abcdefABCDEF", s[i]))
			letters++;
		else if (s[i] != '-')
			return 0;
	}
	return n >= 8 && digits && (letters || n >= 16);
}

/* The kind of an error line: numbers N, hex and UUIDs X, quoted strings "…". */
static void normalise(const char *s, char *out, size_t size)
{
	size_t o = 0;

	while (*s == ' ' || *s == '\t' || *s == '-' || *s == '|')
		s++;
	while (*s && *s != '\n' && *s != '\r' && o + 8 < size) {
		unsigned char c = (unsigned char)*s;

		if ((c == '"' || c == '\'') && strchr(s + 1, c) &&
		    (size_t)(strchr(s + 1, c) - s) < 512) {
			memcpy(out + o, "\"\xe2\x80\xa6\"", 5);	/* "…" */
			o += 5;
			s = strchr(s + 1, c) + 1;
			continue;
		}
		if (isalnum(c) && (o == 0 || !isalnum((unsigned char)out[o - 1]))) {
			size_t n = 0;

			if (c == '0' && (s[1] == 'x' || s[1] == 'X') && isxdigit((unsigned char)s[2])) {
				for (s += 2; isxdigit((unsigned char)*s); s++)
					;
				out[o++] = 'X';
				continue;
			}
			while (isxdigit((unsigned char)s[n]) || s[n] == '-')
				n++;
			if (n && !isalnum((unsigned char)s[n]) && hexish(s, n)) {
				out[o++] = 'X';
				s += n;
				continue;
			}
		}
		if (isdigit(c)) {
			while (isdigit((unsigned char)*s) ||
			       (*s == '.' && isdigit((unsigned char)s[1])))
				s++;
			out[o++] = 'N';
			continue;
		}
		out[o++] = (char)c;
		s++;
	}
	while (o > 0 && (out[o - 1] == ' ' || out[o - 1] == '\t'))
		o--;
	out[o] = '\0';
}

static unsigned long hash(const char *s)
{
	unsigned long h = 5381;

	while (*s)
		h = h * 33 + (unsigned char)*s++;
	return h;
}

static int by_count(const void *a, const void *b)
{
	const struct kind *x = a, *y = b;

	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return strcmp(x->kind, y->kind);
}

/* One file into an object of logs. */
static ops_code analyse(const char *path, time_t since, long long max_bytes, cJSON *logs,
			ops_error *err)
{
	struct kind *slots = calloc(SLOTS, sizeof *slots);
	cJSON *o = cJSON_CreateObject(), *kinds;
	long errors = 0, other = 0, nk = 0, i;
	char *line = NULL, kbuf[KIND_MAX + 8], tbuf[OPS_TIME_ISO_SIZE];
	size_t cap = 0;
	ssize_t len;
	struct stat st;
	FILE *fp = NULL;
	int partial = 0;

	if (!slots || !o) {
		free(slots);
		cJSON_Delete(o);
		return ops_error_oom(err);
	}
	cJSON_AddItemToArray(logs, o);
	cJSON_AddStringToObject(o, "file", path);
	if (!(fp = fopen(path, "re")) || fstat(fileno(fp), &st) != 0) {
		char msg[300];

		snprintf(msg, sizeof msg, "cannot read: %s", strerror(errno));
		cJSON_AddNullToObject(o, "errors");
		cJSON_AddStringToObject(o, "error", msg);
		if (fp)
			fclose(fp);
		free(slots);
		return OPS_OK;
	}
	if (st.st_size > max_bytes) {
		partial = 1;
		fseeko(fp, st.st_size - max_bytes, SEEK_SET);
		if (getline(&line, &cap, fp) < 0)	/* the cut line */
			clearerr(fp);
	}
	while ((len = getline(&line, &cap, fp)) != -1) {
		const char *rest = line;
		time_t t;
		unsigned long h;

		if (!is_error_line(line))
			continue;
		t = leading_time(line, &rest);
		if (t >= 0 && t < since)
			continue;
		errors++;
		normalise(rest, kbuf, sizeof kbuf);
		for (h = hash(kbuf) % SLOTS, i = 0; i < SLOTS; i++, h = (h + 1) % SLOTS)
			if (!slots[h].kind || strcmp(slots[h].kind, kbuf) == 0)
				break;
		if (i == SLOTS || (!slots[h].kind && nk >= SLOTS / 2)) {
			other++;
			continue;
		}
		if (!slots[h].kind) {
			line[strcspn(line, "\r\n")] = '\0';
			slots[h].kind = strdup(kbuf);
			slots[h].example = strndup(line, EXAMPLE_MAX);
			if (!slots[h].kind || !slots[h].example)
				goto oom;
			nk++;
		}
		slots[h].count++;
	}
	fclose(fp);
	fp = NULL;
	free(line);
	line = NULL;
	/* compact and sort */
	for (i = 0, nk = 0; i < SLOTS; i++)
		if (slots[i].kind)
			slots[nk++] = slots[i];
	qsort(slots, (size_t)nk, sizeof *slots, by_count);
	cJSON_AddNumberToObject(o, "errors", (double)errors);
	cJSON_AddStringToObject(o, "since", ops_time_iso(since, tbuf));
	cJSON_AddBoolToObject(o, "partial", partial);
	cJSON_AddNumberToObject(o, "distinct_kinds", (double)nk + (other ? 1 : 0));
	kinds = cJSON_AddArrayToObject(o, "kinds");
	for (i = 0; i < nk && i < TOP; i++) {
		cJSON *k = cJSON_CreateObject();

		cJSON_AddStringToObject(k, "kind", slots[i].kind);
		cJSON_AddNumberToObject(k, "count", (double)slots[i].count);
		cJSON_AddStringToObject(k, "example", slots[i].example);
		cJSON_AddItemToArray(kinds, k);
	}
	for (i = 0; i < nk; i++) {
		free(slots[i].kind);
		free(slots[i].example);
	}
	free(slots);
	return OPS_OK;
oom:
	if (fp)
		fclose(fp);
	free(line);
	for (i = 0; i < SLOTS; i++) {
		free(slots[i].kind);
		free(slots[i].example);
	}
	free(slots);
	return ops_error_oom(err);
}

ops_code rp_logs_analyse(char *const *files, time_t since, long long max_bytes, cJSON *logs,
			 ops_error *err)
{
	size_t i, k;
	ops_code rc = OPS_OK;

	for (i = 0; files && files[i] && rc == OPS_OK; i++) {
		glob_t g;

		/* A pattern that matches nothing is a log not yet written. */
		if (glob(files[i], GLOB_NOSORT ? 0 : 0, NULL, &g) != 0)
			continue;
		for (k = 0; k < g.gl_pathc && rc == OPS_OK; k++)
			rc = analyse(g.gl_pathv[k], since, max_bytes, logs, err);
		globfree(&g);
	}
	return rc;
}
