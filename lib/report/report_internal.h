/*
 * What the report's modules share inside lib/report: reading the history
 * back (history.c), the log analysis (report_logs.c) and small helpers.
 */
#ifndef OPSMAINT_REPORT_INTERNAL_H
#define OPSMAINT_REPORT_INTERNAL_H

#include <sqlite3.h>
#include <time.h>
#include <cjson/cJSON.h>
#include "opsmaint/config.h"
#include "opsmaint/error.h"

/* One series: the samples of one name and labels, in time order. */
typedef struct rp_series {
	char *labels;		/* canonical: target="x",path="/" */
	double *t, *v;
	size_t n, cap;
} rp_series;

/* STATE_DIR/history.db, newly allocated. */
char *rp_history_path(const ops_config *cfg);

/*
 * Open the history for reading; a missing file is *db = NULL and OPS_OK (no
 * history yet).  A schema newer than this build's is OPS_EDATA.
 */
ops_code rp_history_open_read(const char *path, sqlite3 **db, ops_error *err);

/* Every series named name with samples in [since, until], grouped by
 * labels (sorted), in *out (*n); free with rp_series_free. */
ops_code rp_history_series(sqlite3 *db, const char *name, time_t since, time_t until,
			   rp_series **out, size_t *n, ops_error *err);
void rp_series_free(rp_series *s, size_t n);

/* The value of key in canonical labels into buf ("" when absent). */
const char *rp_label(const char *labels, const char *key, char *buf, size_t size);

/* Log analysis over files (globs expanded) since since: appends one object
 * per file to logs, as the contract's "logs" array. */
ops_code rp_logs_analyse(char *const *files, time_t since, long long max_bytes, cJSON *logs,
			 ops_error *err);

#endif
