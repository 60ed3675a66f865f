/*
 * Results are values: every operation builds a cJSON report, and this module
 * renders it for people (text) or programs (JSON).  The text form is generic so
 * that every command gets the same layout without its own printf code:
 *   - scalar members print as "name: value" lines, keys in insertion order;
 *     members named *_bytes print human sizes ("12.3 MiB"), *_seconds print
 *     durations ("1.25 s"), booleans print yes/no, null prints "-";
 *   - an array of objects prints as an aligned table whose header is the
 *     union of member names (in first-seen order), rows in array order; a
 *     table wider than the terminal (100 columns off one) or with nested
 *     values prints each row as its own block of lines instead;
 *   - no value is ever cut: one too long for its line goes on the next;
 *   - an array of scalars prints one per line, indented;
 *   - a nested object prints as an indented section headed by its name.
 * Members whose name starts with '_' are internal and are rendered in neither
 * form.
 */
#ifndef OPSMAINT_OUTPUT_H
#define OPSMAINT_OUTPUT_H
#include "opsmaint/api.h"
OPS_API_BEGIN

#include <stdio.h>
#include <cjson/cJSON.h>
#include "opsmaint/error.h"

typedef enum ops_outfmt { OPS_OUT_TEXT = 0, OPS_OUT_JSON } ops_outfmt;

/* Parse "text" / "json"; returns -1 if neither. */
int ops_outfmt_parse(const char *name);

/*
 * Write report to fp.  JSON is pretty-printed and ends with a newline.  A
 * write error (closed pipe, full disk) is OPS_EIO "write error on standard
 * output: ...": callers must not report success after it.
 */
ops_code ops_output_render(FILE *fp, const cJSON *report, ops_outfmt fmt,
			   ops_error *err);

/* "12.3 MiB" style; buf of at least 32 bytes. */
const char *ops_human_bytes(double bytes, char *buf, size_t len);
/* "850 ms", "1.25 s", "3 min 20 s", "2 h 5 min", "3 d 4 h"; buf of at least 32. */
const char *ops_human_seconds(double seconds, char *buf, size_t len);

OPS_API_END
#endif
