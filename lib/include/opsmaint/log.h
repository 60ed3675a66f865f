/*
 * Logging with levels to standard error (and syslog when configured).  The
 * front end installs the level and destinations once; library modules call
 * ops_log() for progress and diagnostics, never printf.  Messages are single
 * lines; the sink adds "opsctl: " and the level word ("warning: ", "error: ").
 */
#ifndef OPSMAINT_LOG_H
#define OPSMAINT_LOG_H
#include "opsmaint/api.h"
OPS_API_BEGIN

typedef enum ops_loglevel {
	OPS_LOG_ERROR = 0,
	OPS_LOG_WARNING,
	OPS_LOG_INFO,
	OPS_LOG_DEBUG
} ops_loglevel;

/* Parse "error", "warning", "info", "debug"; returns -1 if unknown. */
int ops_log_level_parse(const char *name);

/* Messages above level are dropped.  Default OPS_LOG_INFO. */
void ops_log_set_level(ops_loglevel level);
ops_loglevel ops_log_get_level(void);
/* Send copies to syslog(3) (ident "opsctl", facility LOG_DAEMON). */
void ops_log_set_syslog(int enabled);
/*
 * Replace the stderr sink (tests, other front ends).  NULL restores stderr.
 * The sink gets the level and the formatted line without prefix or newline.
 */
typedef void (*ops_log_sink)(void *arg, ops_loglevel level, const char *line);
void ops_log_set_sink(ops_log_sink sink, void *arg);

void ops_log(ops_loglevel level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
#define ops_log_error(...) ops_log(OPS_LOG_ERROR, __VA_ARGS__)
#define ops_log_warn(...) ops_log(OPS_LOG_WARNING, __VA_ARGS__)
#define ops_log_info(...) ops_log(OPS_LOG_INFO, __VA_ARGS__)
#define ops_log_debug(...) ops_log(OPS_LOG_DEBUG, __VA_ARGS__)

OPS_API_END
#endif
