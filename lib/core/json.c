/*
 * Valid UTF-8 in every JSON string opsctl writes; see opsmaint/json.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opsmaint/hash.h"
#include "opsmaint/json.h"

int ops_utf8_seq_len(const unsigned char *s)
{
	unsigned c = s[0];
	int n, i;
	unsigned long cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	/* The NUL terminator is not a continuation byte: no read past it. */
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* Overlong forms, UTF-16 surrogates and code points past U+10FFFF. */
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

int ops_utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	int k;

	while (*p) {
		if (!(k = ops_utf8_seq_len(p)))
			return 0;
		p += k;
	}
	return 1;
}

char *ops_utf8_repair(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	/* U+FFFD is three bytes for each one replaced. */
	char *out = malloc(strlen(s) * 3 + 1), *o = out;
	int k;

	if (!out)
		return NULL;
	while (*p) {
		if ((k = ops_utf8_seq_len(p))) {
			memcpy(o, p, (size_t)k);
			o += k;
			p += k;
		} else {
			memcpy(o, "\xef\xbf\xbd", 3);
			o += 3;
			p++;
		}
	}
	*o = '\0';
	return out;
}

static char *hex_of(const char *s)
{
	size_t n = strlen(s), i;
	char *h = malloc(n * 2 + 1);

	if (!h)
		return NULL;
	for (i = 0; i < n; i++)
		snprintf(h + 2 * i, 3, "%02x", (unsigned char)s[i]);
	h[2 * n] = '\0';
	return h;
}

/* Replace the member name in place; cJSON owns it unless it is a constant. */
static int repair_name(cJSON *item)
{
	char *fixed;

	if (!item->string || ops_utf8_valid(item->string))
		return 0;
	if (!(fixed = ops_utf8_repair(item->string)))
		return -1;
	if (!(item->type & cJSON_StringIsConst))
		cJSON_free(item->string);
	item->type &= ~cJSON_StringIsConst;
	item->string = fixed;
	return 0;
}

static int repair(cJSON *parent, cJSON *item)
{
	cJSON *c, *next;

	if (repair_name(item) < 0)
		return -1;
	if (cJSON_IsString(item) && item->valuestring && !ops_utf8_valid(item->valuestring)) {
		char *fixed = ops_utf8_repair(item->valuestring), *hex = NULL, *hname = NULL;
		int rc = 0;

		if (!fixed)
			return -1;
		/* The raw bytes, beside the repaired text, for whoever must act on
		 * the name; not when the writer already gave them. */
		if (parent && cJSON_IsObject(parent) && item->string) {
			if (asprintf(&hname, "%s_hex", item->string) < 0)
				hname = NULL;
			if (!hname || !(hex = hex_of(item->valuestring)))
				rc = -1;
			else if (!cJSON_GetObjectItemCaseSensitive(parent, hname) &&
				 !cJSON_AddStringToObject(parent, hname, hex))
				rc = -1;
		}
		free(hname);
		free(hex);
		if (rc < 0) {
			free(fixed);
			return -1;
		}
		/* cJSON_SetValuestring refuses a longer string; swap the buffer. */
		cJSON_free(item->valuestring);
		item->valuestring = fixed;
		return 0;
	}
	for (c = item->child; c; c = next) {
		next = c->next;	/* a _hex companion is appended, never visited */
		if (repair(item, c) < 0)
			return -1;
	}
	return 0;
}

int ops_json_utf8(cJSON *root)
{
	return root ? repair(NULL, root) : 0;
}

char *ops_json_raw_string(const cJSON *obj, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
	const cJSON *h;
	char *hname = NULL, *out;
	size_t n, i;

	if (!cJSON_IsString(v) || !v->valuestring)
		return NULL;
	if (asprintf(&hname, "%s_hex", name) < 0)
		return NULL;
	h = cJSON_GetObjectItemCaseSensitive(obj, hname);
	free(hname);
	if (!cJSON_IsString(h) || !h->valuestring || strlen(h->valuestring) % 2)
		return strdup(v->valuestring);
	n = strlen(h->valuestring) / 2;
	if (!(out = malloc(n + 1)))
		return NULL;
	for (i = 0; i < n; i++) {
		int hi = ops_hex_digit(h->valuestring[2 * i]), lo = ops_hex_digit(h->valuestring[2 * i + 1]);

		/* A damaged companion, or one hiding a NUL: the text is all we have. */
		if (hi < 0 || lo < 0 || (hi | lo) == 0) {
			free(out);
			return strdup(v->valuestring);
		}
		out[i] = (char)(hi << 4 | lo);
	}
	out[n] = '\0';
	return out;
}

int ops_json_add_stringf(cJSON *arr, const char *fmt, ...)
{
	char m[300];
	cJSON *item;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m, sizeof m, fmt, ap);
	va_end(ap);
	item = cJSON_CreateString(m);
	if (!item || !cJSON_AddItemToArray(arr, item)) {
		cJSON_Delete(item);
		return -1;
	}
	return 0;
}

char *ops_json_join(const cJSON *arr, char *buf, size_t len)
{
	const cJSON *item;
	size_t used = 0;

	if (len == 0)
		return buf;
	buf[0] = '\0';
	cJSON_ArrayForEach(item, arr) {
		int w;

		if (!cJSON_IsString(item) || !item->valuestring)
			continue;
		w = snprintf(buf + used, len - used, "%s%s", used ? "; " : "", item->valuestring);
		if (w < 0 || (size_t)w >= len - used) {
			if (used > 0)	/* a later item that does not fit is left out whole */
				buf[used] = '\0';
			break;
		}
		used += (size_t)w;
	}
	return buf;
}
