/* Unit tests for lib/log.c: levels, the sink, level names. */
#include "unit.h"
#include "opsmaint/log.h"

static char last[256];
static int calls;
static ops_loglevel last_level;

static void record(void *arg, ops_loglevel level, const char *line)
{
	(void)arg;
	calls++;
	last_level = level;
	snprintf(last, sizeof last, "%s", line);
}

TEST(levels_filter_messages)
{
	ops_log_set_sink(record, NULL);
	ops_log_set_level(OPS_LOG_WARNING);
	calls = 0;
	ops_log_info("not shown %d", 1);
	ops_log_debug("not shown either");
	CHECK_INT(calls, 0);
	ops_log_warn("disk at %d%%", 91);
	CHECK_INT(calls, 1);
	CHECK_INT(last_level, OPS_LOG_WARNING);
	CHECK_STR(last, "disk at 91%");	/* no prefix: the sink decides */
	ops_log_error("boom");
	CHECK_INT(calls, 2);
	ops_log_set_level(OPS_LOG_DEBUG);
	ops_log_debug("now shown");
	CHECK_INT(calls, 3);
	CHECK_INT(ops_log_get_level(), OPS_LOG_DEBUG);
	ops_log_set_sink(NULL, NULL);
}

TEST(level_names)
{
	CHECK_INT(ops_log_level_parse("error"), OPS_LOG_ERROR);
	CHECK_INT(ops_log_level_parse("warning"), OPS_LOG_WARNING);
	CHECK_INT(ops_log_level_parse("INFO"), OPS_LOG_INFO);
	CHECK_INT(ops_log_level_parse("debug"), OPS_LOG_DEBUG);
	CHECK_INT(ops_log_level_parse("verbose"), -1);
	CHECK_INT(ops_log_level_parse(NULL), -1);
}

int main(void)
{
	RUN(levels_filter_messages);
	RUN(level_names);
	return unit_done();
}
