/*
 * Rendering reports: JSON for programs, a generic text layout for people
 * (rules in output.h).  Commands never format their own text, so every
 * command's output looks alike and JSON and text always carry the same facts.
 * This module does not decide what a report contains.  No colour, no
 * paging; values are never cut (a path or a digest must be copyable): a
 * table that would be wider than the terminal (LINE_MAX_OFF_TTY columns when
 * fp is not one, so cron mail stays readable) prints as one block of
 * "name: value" lines per row instead, like psql's expanded display.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "opsmaint/json.h"
#include "opsmaint/output.h"

/* Line width for text not written to a terminal (a file, cron's mail). */
#define LINE_MAX_OFF_TTY 100

/* The width lines should keep to in this rendering (set by render_text). */
static size_t line_max = LINE_MAX_OFF_TTY;

int ops_outfmt_parse(const char *name)
{
	if (!name)
		return -1;
	if (strcmp(name, "text") == 0)
		return OPS_OUT_TEXT;
	if (strcmp(name, "json") == 0)
		return OPS_OUT_JSON;
	return -1;
}

const char *ops_human_bytes(double bytes, char *buf, size_t len)
{
	static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
	size_t u = 0;
	double v = fabs(bytes);

	if (!isfinite(bytes)) {
		snprintf(buf, len, "-");
		return buf;
	}
	/* Move up a unit when rounding would print the full count of this one
	 * ("1024 B", "1024.0 KiB"). */
	while (u < 5 && v >= (u == 0 ? 1023.5 : 1023.95)) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%s%.0f B", bytes < 0 ? "-" : "", v);
	else
		snprintf(buf, len, "%s%.1f %s", bytes < 0 ? "-" : "", v, unit[u]);
	return buf;
}

const char *ops_human_seconds(double s, char *buf, size_t len)
{
	long t;

	if (isnan(s)) {
		snprintf(buf, len, "-");
		return buf;
	}
	if (s < 0)
		s = 0;
	/* Each step checks the rounded value, so that 59.999 s reads
	 * "1 min 0 s" rather than "60.00 s". */
	if (s < 1 && lround(s * 1000) < 1000) {
		snprintf(buf, len, "%ld ms", lround(s * 1000));
		return buf;
	}
	if (s < 60 && lround(s * 100) < 6000) {
		snprintf(buf, len, "%.2f s", s);
		return buf;
	}
	if (s < 3600 && (t = lround(s)) < 3600) {
		snprintf(buf, len, "%ld min %ld s", t / 60, t % 60);
		return buf;
	}
	if (s < 86400 && (t = lround(s / 60)) < 1440) {
		snprintf(buf, len, "%ld h %ld min", t / 60, t % 60);
		return buf;
	}
	/* Beyond ~10^14 years lround has no answer; nobody waits that long. */
	if (s / 3600 > 1e15) {
		snprintf(buf, len, "%.3g d", s / 86400);
		return buf;
	}
	t = lround(s / 3600);
	snprintf(buf, len, "%ld d %ld h", t / 24, t % 24);
	return buf;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t a = s ? strlen(s) : 0, b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

static int is_internal(const cJSON *m)
{
	return m->string && m->string[0] == '_';
}

static int is_container(const cJSON *v)
{
	return cJSON_IsObject(v) || cJSON_IsArray(v);
}

/* A deep copy without members whose names start with '_'; NULL on OOM. */
static cJSON *strip_internal(const cJSON *v)
{
	const cJSON *m;
	cJSON *copy;

	if (!is_container(v))
		return cJSON_Duplicate(v, 0);
	copy = cJSON_IsObject(v) ? cJSON_CreateObject() : cJSON_CreateArray();
	if (!copy)
		return NULL;
	cJSON_ArrayForEach(m, v) {
		cJSON *c;
		int ok;

		if (cJSON_IsObject(v) && is_internal(m))
			continue;
		if (!(c = strip_internal(m)))
			goto oom;
		ok = cJSON_IsObject(v) ? cJSON_AddItemToObject(copy, m->string, c)
				       : cJSON_AddItemToArray(copy, c);
		if (!ok) {
			cJSON_Delete(c);
			goto oom;
		}
	}
	return copy;
oom:
	cJSON_Delete(copy);
	return NULL;
}

/* Text for a scalar; name decides units.  buf of at least 64 bytes. */
static const char *scalar_text(const char *name, const cJSON *v, char *buf, size_t len)
{
	if (!v || cJSON_IsNull(v))
		return "-";
	if (cJSON_IsBool(v))
		return cJSON_IsTrue(v) ? "yes" : "no";
	if (cJSON_IsString(v))
		return v->valuestring ? v->valuestring : "";
	if (cJSON_IsNumber(v)) {
		double d = v->valuedouble;

		if (!isfinite(d))
			return "-";
		if (ends_with(name, "_bytes"))
			return ops_human_bytes(d, buf, len);
		if (ends_with(name, "_seconds"))
			return ops_human_seconds(d, buf, len);
		/* A fraction reads as one at every value: "1.000", not "1"
		 * beside "0.987" (recall_at_10, self_recall, *_ratio). */
		if (ends_with(name, "_ratio") || (name && strstr(name, "recall"))) {
			snprintf(buf, len, "%.3f", d);
			return buf;
		}
		if (d == floor(d) && fabs(d) < 1e17)
			snprintf(buf, len, "%.0f", d);
		else if (fabs(d) >= 1e17 || fabs(d) < 0.01)
			snprintf(buf, len, "%.3g", d);
		else
			snprintf(buf, len, "%.2f", d);
		return buf;
	}
	return "";
}

/* "total_bytes" -> "total", "dead_pct" -> "dead %": shorter headings. */
static void label(const char *name, char *buf, size_t len)
{
	size_t n = strlen(name), i;

	if (ends_with(name, "_bytes"))
		n -= 6;
	else if (ends_with(name, "_seconds"))
		n -= 8;
	if (n >= len)
		n = len - 1;
	for (i = 0; i < n; i++)
		buf[i] = name[i] == '_' ? ' ' : name[i];
	buf[n] = '\0';
	if (ends_with(name, "_pct") && n >= 4 && n < len)
		snprintf(buf + n - 4, len - (n - 4), " %%");
}

/* Display width in characters (UTF-8 continuation bytes do not count). */
static size_t width(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			w++;
	return w;
}

/*
 * One table cell's whole text, newly allocated (NULL on OOM); *nested set
 * when the value is an object or array, which a table cannot show whole.
 */
static char *cell_text(const char *name, const cJSON *v, int *nested)
{
	char num[64];

	*nested = v && is_container(v);
	return strdup(*nested ? "" : scalar_text(name, v, num, sizeof num));
}

static void pad(FILE *fp, size_t n)
{
	while (n--)
		fputc(' ', fp);
}

static int is_table(const cJSON *arr)
{
	const cJSON *it;
	int n = 0;

	cJSON_ArrayForEach(it, arr) {
		if (!cJSON_IsObject(it))
			return 0;
		n++;
	}
	return n > 0;
}

struct column {
	const char *name;
	char label[128];
	size_t width;
	int numeric;	/* every present value is a number: right-aligned */
};

static void put_cell(FILE *fp, const struct column *c, const char *text, int last)
{
	size_t w = width(text), room = c->width > w ? c->width - w : 0;

	if (c->numeric)
		pad(fp, room);
	fputs(text, fp);
	if (!last) {
		if (!c->numeric)
			pad(fp, room);
		fputs("  ", fp);
	}
}

static int render_object(FILE *fp, const cJSON *obj, int indent);

/* Each row as its own block of "name: value" lines, blank-line separated. */
static int render_expanded(FILE *fp, const cJSON *arr, int indent)
{
	const cJSON *row;
	int first = 1;

	cJSON_ArrayForEach(row, arr) {
		if (!first)
			fputc('\n', fp);
		first = 0;
		if (render_object(fp, row, indent) < 0)
			return -1;
	}
	return 0;
}

static int render_table(FILE *fp, const cJSON *arr, int indent)
{
	struct column *cols = NULL, *grown;
	size_t ncols = 0, cap = 0, c, total;
	const cJSON *row, *m;
	char *text;
	int rc = -1, nested, expand = 0;

	/* Columns are the union of member names, in first-seen order. */
	cJSON_ArrayForEach(row, arr) {
		cJSON_ArrayForEach(m, row) {
			if (!m->string || is_internal(m))
				continue;
			for (c = 0; c < ncols; c++)
				if (strcmp(cols[c].name, m->string) == 0)
					break;
			if (c < ncols)
				continue;
			if (ncols == cap) {
				cap = cap ? cap * 2 : 8;
				if (!(grown = realloc(cols, cap * sizeof *cols)))
					goto out;
				cols = grown;
			}
			cols[ncols].name = m->string;
			label(m->string, cols[ncols].label, sizeof cols[ncols].label);
			cols[ncols].width = width(cols[ncols].label);
			cols[ncols].numeric = 1;
			ncols++;
		}
	}
	cJSON_ArrayForEach(row, arr) {
		for (c = 0; c < ncols; c++) {
			m = cJSON_GetObjectItemCaseSensitive(row, cols[c].name);
			if (m && !cJSON_IsNumber(m) && !cJSON_IsNull(m))
				cols[c].numeric = 0;
			if (!(text = cell_text(cols[c].name, m, &nested)))
				goto out;
			/* A nested value or a line break cannot sit in a cell. */
			if (nested || strpbrk(text, "\n\r\t"))
				expand = 1;
			if (width(text) > cols[c].width)
				cols[c].width = width(text);
			free(text);
		}
	}
	for (total = (size_t)indent, c = 0; c < ncols; c++)
		total += cols[c].width + (c ? 2 : 0);
	if (expand || total > line_max) {
		rc = render_expanded(fp, arr, indent);
		goto out;
	}
	if (ncols) {
		pad(fp, (size_t)indent);
		for (c = 0; c < ncols; c++)
			put_cell(fp, &cols[c], cols[c].label, c + 1 == ncols);
		fputc('\n', fp);
	}
	cJSON_ArrayForEach(row, arr) {
		if (!ncols)
			break;
		pad(fp, (size_t)indent);
		for (c = 0; c < ncols; c++) {
			m = cJSON_GetObjectItemCaseSensitive(row, cols[c].name);
			if (!(text = cell_text(cols[c].name, m, &nested)))
				goto out;
			put_cell(fp, &cols[c], text, c + 1 == ncols);
			free(text);
		}
		fputc('\n', fp);
	}
	rc = 0;
out:
	free(cols);
	return rc;
}

/* Members of an array of scalars (or of mixed values), one per line. */
static int render_list(FILE *fp, const char *name, const cJSON *arr, int indent)
{
	const cJSON *it;
	char txt[64];

	cJSON_ArrayForEach(it, arr) {
		pad(fp, (size_t)indent);
		if (is_container(it)) {
			/* '_' members stay hidden here too. */
			cJSON *clean = strip_internal(it);
			char *s = clean && ops_json_utf8(clean) == 0 ? cJSON_PrintUnformatted(clean)
				  : NULL;

			cJSON_Delete(clean);
			if (!s)
				return -1;
			fputs(s, fp);
			free(s);
		} else {
			fputs(scalar_text(name, it, txt, sizeof txt), fp);
		}
		fputc('\n', fp);
	}
	return 0;
}

static int has_visible(const cJSON *obj)
{
	const cJSON *m;

	cJSON_ArrayForEach(m, obj)
		if (!is_internal(m))
			return 1;
	return 0;
}

/* A member shown as a section of its own: a list or object with something
 * to show. */
static int is_section(const cJSON *m)
{
	return cJSON_IsObject(m) ? has_visible(m) : cJSON_IsArray(m) && cJSON_GetArraySize(m) > 0;
}

/*
 * Scalars (and empty lists and objects, "none") as aligned "name: value"
 * lines, sections (objects, arrays) headed by their name and set off by a
 * blank line from whatever precedes and follows them at this level.
 */

static int render_object(FILE *fp, const cJSON *obj, int indent)
{
	const cJSON *m;
	size_t keyw = 0;
	char lab[128], txt[64];
	int printed = 0, after_section = 0;

	cJSON_ArrayForEach(m, obj) {
		if (!m->string || is_internal(m) || is_section(m))
			continue;
		label(m->string, lab, sizeof lab);
		if (width(lab) > keyw)
			keyw = width(lab);
	}
	cJSON_ArrayForEach(m, obj) {
		if (!m->string || is_internal(m))
			continue;
		label(m->string, lab, sizeof lab);
		if (!is_section(m)) {
			/* An empty list or object is one line among the
			 * scalars ("pruned: none"), not a section of its own. */
			const char *v = is_container(m) ? "none"
							: scalar_text(m->string, m, txt, sizeof txt);

			if (after_section)
				fputc('\n', fp);
			pad(fp, (size_t)indent);
			fprintf(fp, "%s:", lab);
			/* Too long for the line: whole, on its own line (a path, a
			 * digest must be copyable), never cut. */
			if ((size_t)indent + keyw + 2 + width(v) > line_max) {
				fputc('\n', fp);
				pad(fp, (size_t)indent + 2);
			} else {
				pad(fp, keyw - width(lab) + 1);
			}
			fprintf(fp, "%s\n", v);
			printed = 1;
			after_section = 0;
			continue;
		}
		if (printed)
			fputc('\n', fp);
		pad(fp, (size_t)indent);
		fprintf(fp, "%s:\n", lab);
		if (cJSON_IsObject(m) ? render_object(fp, m, indent + 2) :
		    is_table(m) ? render_table(fp, m, indent + 2) :
		    render_list(fp, m->string, m, indent + 2))
			return -1;
		printed = after_section = 1;
	}
	return 0;
}

static int render_text(FILE *fp, const cJSON *report)
{
	char txt[64];
	struct winsize ws;

	line_max = LINE_MAX_OFF_TTY;
	if (isatty(fileno(fp)) && ioctl(fileno(fp), TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40)
		line_max = ws.ws_col;

	if (cJSON_IsObject(report))
		return render_object(fp, report, 0);
	if (cJSON_IsArray(report))
		return is_table(report) ? render_table(fp, report, 0)
					: render_list(fp, NULL, report, 0);
	fprintf(fp, "%s\n", scalar_text(NULL, report, txt, sizeof txt));
	return 0;
}

ops_code ops_output_render(FILE *fp, const cJSON *report, ops_outfmt fmt,
			   ops_error *err)
{
	int e;

	if (!fp || !report)
		return ops_error_set(err, OPS_EINTERNAL, "output: no %s to render",
				     !fp ? "stream" : "report");
	errno = 0;
	if (fmt == OPS_OUT_JSON) {
		cJSON *clean = strip_internal(report);
		/* Names are raw bytes; the document must parse anywhere. */
		char *s = clean && ops_json_utf8(clean) == 0 ? cJSON_Print(clean) : NULL;

		cJSON_Delete(clean);
		if (!s)
			return ops_error_oom(err);
		fputs(s, fp);
		fputc('\n', fp);
		free(s);
	} else if (render_text(fp, report) < 0) {
		return ops_error_oom(err);
	}
	/* A full disk or a closed pipe shows only here for a buffered stream;
	 * reporting success after it would hide lost output from cron. */
	if (fflush(fp) != 0 || ferror(fp)) {
		e = errno ? errno : EIO;
		return ops_error_set(err, OPS_EIO, "write error on standard output: %s",
				     strerror(e));
	}
	return OPS_OK;
}
