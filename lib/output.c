/*
 * Rendering reports: JSON for programs, a generic text layout for people
 * (rules in output.h).  Commands never format their own text, so every
 * command's output looks alike and JSON and text always carry the same facts.
 * This module does not decide what a report contains.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "opsmaint/output.h"

#define CELL_MAX 60

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
	double v = bytes < 0 ? -bytes : bytes;

	while (v >= 1024 && u < 5) {
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

	if (s < 0)
		s = 0;
	if (s < 1)
		snprintf(buf, len, "%.0f ms", s * 1000);
	else if (s < 60)
		snprintf(buf, len, "%.2f s", s);
	else if (s < 3600) {
		t = lround(s);
		snprintf(buf, len, "%ld min %ld s", t / 60, t % 60);
	} else if (s < 86400) {
		t = lround(s / 60);
		snprintf(buf, len, "%ld h %ld min", t / 60, t % 60);
	} else {
		t = lround(s / 3600);
		snprintf(buf, len, "%ld d %ld h", t / 24, t % 24);
	}
	return buf;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t a = s ? strlen(s) : 0, b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* Text for a scalar member; name decides units.  buf of at least 64. */
static const char *scalar_text(const char *name, const cJSON *v, char *buf, size_t len)
{
	if (cJSON_IsNull(v) || !v)
		return "-";
	if (cJSON_IsBool(v))
		return cJSON_IsTrue(v) ? "yes" : "no";
	if (cJSON_IsString(v))
		return v->valuestring;
	if (cJSON_IsNumber(v)) {
		double d = v->valuedouble;

		if (ends_with(name, "_bytes"))
			return ops_human_bytes(d, buf, len);
		if (ends_with(name, "_seconds"))
			return ops_human_seconds(d, buf, len);
		if (d == floor(d) && fabs(d) < 1e15)
			snprintf(buf, len, "%.0f", d);
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
	if (ends_with(name, "_pct") && n >= 4)
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

/* Copy s into buf, one line, cut to CELL_MAX characters with "…". */
static void cell(const char *s, char *buf, size_t len)
{
	size_t w = 0, o = 0;

	for (; *s && o + 4 < len; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c & 0xC0) != 0x80) {
			if (w == CELL_MAX - 1 && width(s) > 1) {
				memcpy(buf + o, "\xE2\x80\xA6", 3);
				o += 3;
				break;
			}
			w++;
		}
		buf[o++] = (c == '\n' || c == '\t' || c == '\r') ? ' ' : (char)c;
	}
	buf[o] = '\0';
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

static void pad(FILE *fp, size_t n)
{
	while (n--)
		fputc(' ', fp);
}

static void render_table(FILE *fp, const cJSON *arr, int indent)
{
	const char *cols[64];
	size_t ncols = 0, widths[64], c;
	int numeric[64];
	const cJSON *row, *m;
	char buf[256], txt[64];

	cJSON_ArrayForEach(row, arr) {
		cJSON_ArrayForEach(m, row) {
			if (!m->string || m->string[0] == '_' || cJSON_IsObject(m) || cJSON_IsArray(m))
				continue;
			for (c = 0; c < ncols; c++)
				if (strcmp(cols[c], m->string) == 0)
					break;
			if (c == ncols && ncols < 64) {
				cols[ncols] = m->string;
				numeric[ncols] = 1;
				label(m->string, buf, sizeof buf);
				widths[ncols++] = width(buf);
			}
		}
	}
	cJSON_ArrayForEach(row, arr) {
		for (c = 0; c < ncols; c++) {
			m = cJSON_GetObjectItemCaseSensitive(row, cols[c]);
			if (m && !cJSON_IsNumber(m) && !cJSON_IsNull(m))
				numeric[c] = 0;
			cell(scalar_text(cols[c], m, txt, sizeof txt), buf, sizeof buf);
			if (width(buf) > widths[c])
				widths[c] = width(buf);
		}
	}
	pad(fp, (size_t)indent);
	for (c = 0; c < ncols; c++) {
		label(cols[c], buf, sizeof buf);
		if (numeric[c])
			pad(fp, widths[c] - width(buf));
		fputs(buf, fp);
		if (c + 1 < ncols) {
			if (!numeric[c])
				pad(fp, widths[c] - width(buf));
			fputs("  ", fp);
		}
	}
	fputc('\n', fp);
	cJSON_ArrayForEach(row, arr) {
		pad(fp, (size_t)indent);
		for (c = 0; c < ncols; c++) {
			m = cJSON_GetObjectItemCaseSensitive(row, cols[c]);
			cell(scalar_text(cols[c], m, txt, sizeof txt), buf, sizeof buf);
			if (numeric[c])
				pad(fp, widths[c] - width(buf));
			fputs(buf, fp);
			if (c + 1 < ncols) {
				if (!numeric[c])
					pad(fp, widths[c] - width(buf));
				fputs("  ", fp);
			}
		}
		fputc('\n', fp);
	}
}

static void render_object(FILE *fp, const cJSON *obj, int indent)
{
	const cJSON *m, *it;
	size_t keyw = 0;
	char lab[128], txt[64];

	/* Align the scalar members' values. */
	cJSON_ArrayForEach(m, obj) {
		if (!m->string || m->string[0] == '_' || cJSON_IsObject(m) || cJSON_IsArray(m))
			continue;
		label(m->string, lab, sizeof lab);
		if (width(lab) > keyw)
			keyw = width(lab);
	}
	cJSON_ArrayForEach(m, obj) {
		if (!m->string || m->string[0] == '_')
			continue;
		label(m->string, lab, sizeof lab);
		if (cJSON_IsObject(m)) {
			fputc('\n', fp);
			pad(fp, (size_t)indent);
			fprintf(fp, "%s:\n", lab);
			render_object(fp, m, indent + 2);
		} else if (cJSON_IsArray(m)) {
			fputc('\n', fp);
			pad(fp, (size_t)indent);
			if (cJSON_GetArraySize(m) == 0) {
				fprintf(fp, "%s: none\n", lab);
			} else if (is_table(m)) {
				fprintf(fp, "%s:\n", lab);
				render_table(fp, m, indent + 2);
			} else {
				fprintf(fp, "%s:\n", lab);
				cJSON_ArrayForEach(it, m) {
					pad(fp, (size_t)indent + 2);
					if (cJSON_IsObject(it) || cJSON_IsArray(it)) {
						char *s = cJSON_PrintUnformatted(it);

						fputs(s ? s : "", fp);
						free(s);
					} else {
						fputs(scalar_text(m->string, it, txt, sizeof txt), fp);
					}
					fputc('\n', fp);
				}
			}
		} else {
			pad(fp, (size_t)indent);
			fprintf(fp, "%s:", lab);
			pad(fp, keyw - width(lab) + 1);
			fprintf(fp, "%s\n", scalar_text(m->string, m, txt, sizeof txt));
		}
	}
}

/* A copy without members whose names start with '_', for JSON output. */
static cJSON *strip_internal(const cJSON *v)
{
	cJSON *copy = cJSON_Duplicate(v, 1), *stack[64];
	size_t top = 0;

	if (!copy)
		return NULL;
	stack[top++] = copy;
	while (top) {
		cJSON *node = stack[--top], *m, *next;

		for (m = node->child; m; m = next) {
			next = m->next;
			if (m->string && m->string[0] == '_' && cJSON_IsObject(node)) {
				cJSON_Delete(cJSON_DetachItemViaPointer(node, m));
				continue;
			}
			if ((cJSON_IsObject(m) || cJSON_IsArray(m)) && top < 64)
				stack[top++] = m;
		}
	}
	return copy;
}

ops_code ops_output_render(FILE *fp, const cJSON *report, ops_outfmt fmt,
			   ops_error *err)
{
	errno = 0;
	if (fmt == OPS_OUT_JSON) {
		cJSON *clean = strip_internal(report);
		char *s = clean ? cJSON_Print(clean) : NULL;

		cJSON_Delete(clean);
		if (!s)
			return ops_error_oom(err);
		fputs(s, fp);
		fputc('\n', fp);
		free(s);
	} else if (cJSON_IsObject(report)) {
		render_object(fp, report, 0);
	} else if (cJSON_IsArray(report) && is_table(report)) {
		render_table(fp, report, 0);
	}
	if (fflush(fp) != 0 || ferror(fp)) {
		int e = errno ? errno : EIO;

		return ops_error_set(err, OPS_EIO, "write error on standard output: %s",
				     strerror(e));
	}
	return OPS_OK;
}
