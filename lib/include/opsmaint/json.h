/*
 * JSON that any consumer can parse: every string opsctl writes (output,
 * journal, textfile state, manifests) is valid UTF-8.  Names come from file
 * systems and databases as raw bytes, and cJSON passes bytes through, so a
 * file name in Latin-1 would make the whole document unreadable to a strict
 * parser (jq, Python's json, Go's encoding/json all reject or mangle it).
 *
 * ops_json_utf8() repairs a tree in place before it is printed: a string that
 * is not valid UTF-8 gets U+FFFD for each byte that does not belong to a valid
 * sequence, and, when it is an object member NAME, its exact bytes are kept
 * beside it as NAME_hex (lowercase hex), so that a reader that must act on the
 * file (restore, remove) can recover them.  Invalid member names are repaired
 * the same way, without a companion.  Valid strings are left untouched.
 */
#ifndef OPSMAINT_JSON_H
#define OPSMAINT_JSON_H

#include "opsmaint/api.h"
OPS_API_BEGIN

#include <stddef.h>
#include <cjson/cJSON.h>

/* Length of the valid UTF-8 sequence at s (1-4), or 0 when the bytes there do
 * not begin one (overlong forms, surrogates and code points past U+10FFFF are
 * not valid).  s must be NUL-terminated. */
int ops_utf8_seq_len(const unsigned char *s);
/* 1 when the whole NUL-terminated string is valid UTF-8. */
int ops_utf8_valid(const char *s);
/* A newly allocated copy with U+FFFD for each invalid byte; NULL on OOM. */
char *ops_utf8_repair(const char *s);
/* Repair every string in the tree (see above).  0, or -1 on OOM (the tree
 * may then be partly repaired, never invalid as a tree). */
int ops_json_utf8(cJSON *root);
/*
 * The exact bytes of object member NAME of obj: from NAME_hex when present
 * (written by ops_json_utf8), otherwise the string itself.  Newly allocated;
 * NULL when the member is missing, not a string, or on OOM.
 */
char *ops_json_raw_string(const cJSON *obj, const char *name);
/* Append a printf-formatted string (at most 300 bytes) to array arr: the
 * findings and problems lists of the reports.  0, or -1 on OOM. */
int ops_json_add_stringf(cJSON *arr, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The strings of array arr joined by "; " into buf (len bytes): one line
 * naming every finding, for cron mail and CI logs.  Items after the first
 * that do not fit are left out whole; a first one too long is cut.  buf. */
char *ops_json_join(const cJSON *arr, char *buf, size_t len);

OPS_API_END
#endif
