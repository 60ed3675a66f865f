/*
 * The maintenance report as one self-contained HTML page (issue 16): the
 * report's JSON (opsctl report, see opsctl-report(1)) drawn for people, with
 * inline SVG charts, to mail, attach to a ticket or print.
 *
 * The page has a table of contents, then the findings (critical first, each
 * with its severity written out, not shown by colour alone), the tasks (a
 * table and a bar chart of runs by status), capacity (a line chart per entry:
 * the samples, the fitted growth extended to the fill date or the end of the
 * period, a disk's size as a dashed line), trends (a chart per entry, the
 * verdict in its caption) and the log error kinds.  Each chart is an
 * <svg role="img"> with <title>, <desc> and a viewBox inside
 * <figure class="chart"> with a <figcaption>.  Entries without a series of
 * two finite points get a sentence instead of a chart.
 *
 * Self-contained on purpose: CSS inline with the system font stack, no
 * script, no web font, no URL of any kind, and a Content-Security-Policy that
 * forbids loading anything, so that the file reads the same offline, in a
 * mail client and on paper (@media print keeps charts whole on a page, black
 * on white).  Every string taken from the report is escaped for HTML text and
 * attributes, and bytes that are not UTF-8 become U+FFFD.
 */
#ifndef OPSMAINT_REPORT_HTML_H
#define OPSMAINT_REPORT_HTML_H
#include "opsmaint/api.h"
OPS_API_BEGIN

#include <stddef.h>
#include <cjson/cJSON.h>
#include "opsmaint/error.h"

/*
 * Render report (an object with the members since, until, period_days,
 * findings, tasks, capacity, trends, logs; any may be missing) into a
 * malloc'd NUL-terminated page: *html (free() it) and its length *len.
 * OPS_EDATA when report is not an object or one of those sections is not an
 * array (of objects), OPS_EINTERNAL on out of memory; *html is then NULL.
 */
ops_code ops_report_html(const cJSON *report, char **html, size_t *len, ops_error *err);

OPS_API_END
#endif
