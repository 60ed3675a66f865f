/*
 * Levelled logging.  The front end sets the level and destinations once;
 * library code calls ops_log() and never writes to a stream itself.  Lines
 * go to standard error in one write each, so concurrent runs do not
 * interleave within a line, and optionally to syslog.  It does not
 * rotate, buffer or timestamp: cron, journald and syslog already do.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#include "opsmaint/log.h"

static ops_loglevel current_level = OPS_LOG_INFO;
static int use_syslog;
static int syslog_open;
static ops_log_sink sink_fn;
static void *sink_arg;

int ops_log_level_parse(const char *name)
{
	static const char *const names[] = {"error", "warning", "info", "debug"};
	size_t i;

	if (!name)
		return -1;
	for (i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcasecmp(name, names[i]) == 0)
			return (int)i;
	return -1;
}

void ops_log_set_level(ops_loglevel level)
{
	if ((int)level < OPS_LOG_ERROR)
		level = OPS_LOG_ERROR;
	if (level > OPS_LOG_DEBUG)
		level = OPS_LOG_DEBUG;
	current_level = level;
}

ops_loglevel ops_log_get_level(void)
{
	return current_level;
}

void ops_log_set_syslog(int enabled)
{
	use_syslog = enabled;
}

void ops_log_set_sink(ops_log_sink sink, void *arg)
{
	sink_fn = sink;
	sink_arg = arg;
}

void ops_log(ops_loglevel level, const char *fmt, ...)
{
	static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
	static const char *const word[] = {"error: ", "warning: ", "", ""};
	char msg[2048], line[2100], *p;
	va_list ap;
	size_t n;

	/* A level outside the enum would index past the tables below. */
	if ((int)level < OPS_LOG_ERROR)
		level = OPS_LOG_ERROR;
	if (level > OPS_LOG_DEBUG)
		level = OPS_LOG_DEBUG;
	if (level > current_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	/* Server messages (libpq's end in "\n") must not break the one-line
	 * promise that scripts grepping stderr rely on. */
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	for (p = msg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	if (use_syslog) {
		if (!syslog_open) {
			openlog("opsctl", LOG_PID, LOG_DAEMON);
			syslog_open = 1;
		}
		syslog(prio[level], "%s", msg);
	}
	if (sink_fn) {
		sink_fn(sink_arg, level, msg);
		return;
	}
	snprintf(line, sizeof line, "opsctl: %s%s\n", word[level], msg);
	fputs(line, stderr);
}
