/*
 * log: the default level, filtering by level through a recording sink, the
 * sink's argument and unprefixed line, level names, and the stderr sink's
 * "opsctl: warning: " prefix (stderr is redirected to a temporary file for
 * that one test).  The default-level test must run first: the level is
 * process-wide state.
 */
#include <fcntl.h>
#include <unistd.h>

#include "opsmaint/log.h"
#include "unit.h"

#define MAX_LINES 16

struct recorder {
	int calls;
	ops_loglevel level[MAX_LINES];
	char line[MAX_LINES][256];
};

static void record(void *arg, ops_loglevel level, const char *line)
{
	struct recorder *r = arg;

	if (r->calls < MAX_LINES) {
		r->level[r->calls] = level;
		snprintf(r->line[r->calls], sizeof r->line[0], "%s", line);
	}
	r->calls++;
}

TEST(default_level_is_info)
{
	struct recorder rec = {0};

	/* log.h: "Default OPS_LOG_INFO" (the front end lowers it to warning). */
	CHECK_INT(ops_log_get_level(), OPS_LOG_INFO);
	ops_log_set_sink(record, &rec);
	ops_log_info("info passes by default");
	ops_log_debug("debug does not");
	CHECK_INT(rec.calls, 1);
	CHECK_STR(rec.line[0], "info passes by default");
	ops_log_set_sink(NULL, NULL);
}

TEST(levels_filter_messages)
{
	struct recorder rec = {0};

	ops_log_set_sink(record, &rec);
	ops_log_set_level(OPS_LOG_WARNING);
	CHECK_INT(ops_log_get_level(), OPS_LOG_WARNING);
	ops_log_info("not shown %d", 1);
	ops_log_debug("not shown either");
	CHECK_INT(rec.calls, 0);
	ops_log_warn("disk at %d%%", 91);
	CHECK_INT(rec.calls, 1);
	CHECK_INT(rec.level[0], OPS_LOG_WARNING);
	CHECK_STR(rec.line[0], "disk at 91%");	/* no prefix, no newline */
	ops_log_error("boom in '%s'", "db.c");
	CHECK_INT(rec.calls, 2);
	CHECK_INT(rec.level[1], OPS_LOG_ERROR);
	CHECK_STR(rec.line[1], "boom in 'db.c'");

	ops_log_set_level(OPS_LOG_ERROR);
	ops_log_warn("dropped");
	ops_log_error("kept");
	CHECK_INT(rec.calls, 3);
	CHECK_STR(rec.line[2], "kept");

	ops_log_set_level(OPS_LOG_DEBUG);
	CHECK_INT(ops_log_get_level(), OPS_LOG_DEBUG);
	ops_log_debug("now shown");
	ops_log_info("and info");
	ops_log(OPS_LOG_WARNING, "direct %s", "call");
	CHECK_INT(rec.calls, 6);
	CHECK_INT(rec.level[3], OPS_LOG_DEBUG);
	CHECK_STR(rec.line[3], "now shown");
	CHECK_INT(rec.level[4], OPS_LOG_INFO);
	CHECK_INT(rec.level[5], OPS_LOG_WARNING);
	CHECK_STR(rec.line[5], "direct call");
	ops_log_set_sink(NULL, NULL);
	ops_log_set_level(OPS_LOG_INFO);
}

TEST(sink_argument_is_passed_and_replaced)
{
	struct recorder a = {0}, b = {0};

	ops_log_set_level(OPS_LOG_INFO);
	ops_log_set_sink(record, &a);
	ops_log_info("to a");
	ops_log_set_sink(record, &b);
	ops_log_info("to b");
	ops_log_set_sink(NULL, NULL);
	CHECK_INT(a.calls, 1);
	CHECK_STR(a.line[0], "to a");
	CHECK_INT(b.calls, 1);
	CHECK_STR(b.line[0], "to b");
}

/* Run fn with stderr sent to a file; return what it wrote (caller frees). */
static char *capture_stderr(void (*fn)(void))
{
	char *dir = unit_tmpdir(), path[4200], *buf = NULL;
	int saved, fd;
	FILE *fp;
	long n;

	if (!dir)
		return NULL;
	snprintf(path, sizeof path, "%s/stderr", dir);
	fflush(stderr);
	saved = dup(2);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (saved < 0 || fd < 0 || dup2(fd, 2) < 0)
		goto out;
	fn();
	fflush(stderr);
	dup2(saved, 2);
	fp = fopen(path, "r");
	if (fp) {
		fseek(fp, 0, SEEK_END);
		n = ftell(fp);
		rewind(fp);
		buf = calloc(1, (size_t)n + 1);
		if (buf && fread(buf, 1, (size_t)n, fp) != (size_t)n) {
			free(buf);
			buf = NULL;
		}
		fclose(fp);
	}
out:
	if (fd >= 0)
		close(fd);
	if (saved >= 0)
		close(saved);
	unit_rmrf(dir);
	free(dir);
	return buf;
}

static void log_some(void)
{
	ops_log_set_sink(NULL, NULL);
	ops_log_set_level(OPS_LOG_INFO);
	ops_log_error("cannot open '%s'", "x.db");
	ops_log_warn("disk at %d%%", 91);
	ops_log_info("vacuumed %d tables", 3);
	ops_log_debug("not written");
}

TEST(stderr_sink_adds_prefix_and_newline)
{
	char *out = capture_stderr(log_some);

	CHECK_STR(out,
		  "opsctl: error: cannot open 'x.db'\n"
		  "opsctl: warning: disk at 91%\n"
		  "opsctl: vacuumed 3 tables\n");
	free(out);
}

TEST(level_names)
{
	CHECK_INT(ops_log_level_parse("error"), OPS_LOG_ERROR);
	CHECK_INT(ops_log_level_parse("warning"), OPS_LOG_WARNING);
	CHECK_INT(ops_log_level_parse("info"), OPS_LOG_INFO);
	CHECK_INT(ops_log_level_parse("INFO"), OPS_LOG_INFO);
	CHECK_INT(ops_log_level_parse("debug"), OPS_LOG_DEBUG);
	CHECK_INT(ops_log_level_parse("verbose"), -1);
	CHECK_INT(ops_log_level_parse("warn"), -1);
	CHECK_INT(ops_log_level_parse(""), -1);
	CHECK_INT(ops_log_level_parse(NULL), -1);
}

TEST(messages_stay_on_one_line)
{
	struct recorder rec = {0};

	ops_log_set_level(OPS_LOG_INFO);
	ops_log_set_sink(record, &rec);
	ops_log_error("ERROR:  relation \"x\" does not exist\nLINE 1: SELECT\n");
	ops_log_warn("%s", "trailing\r\n");
	CHECK_INT(rec.calls, 2);
	CHECK_STR(rec.line[0], "ERROR:  relation \"x\" does not exist LINE 1: SELECT");
	CHECK_STR(rec.line[1], "trailing");
	ops_log_set_sink(NULL, NULL);
}

TEST(out_of_range_levels_are_clamped)
{
	struct recorder rec = {0};

	ops_log_set_sink(record, &rec);
	ops_log_set_level((ops_loglevel)42);
	CHECK_INT(ops_log_get_level(), OPS_LOG_DEBUG);
	ops_log((ops_loglevel)9, "beyond debug");
	CHECK_INT(rec.calls, 1);
	CHECK_INT(rec.level[0], OPS_LOG_DEBUG);
	ops_log_set_level(OPS_LOG_ERROR);
	ops_log((ops_loglevel)9, "dropped");
	CHECK_INT(rec.calls, 1);
	ops_log_set_sink(NULL, NULL);
	ops_log_set_level(OPS_LOG_INFO);
}

/* Syslog copies are extra: the sink still gets every line. */
TEST(syslog_copies_do_not_replace_the_sink)
{
	struct recorder rec = {0};

	ops_log_set_sink(record, &rec);
	ops_log_set_syslog(1);
	ops_log_debug("not even to syslog at info");
	ops_log_info("opsctl unit test: syslog copy");
	ops_log_set_syslog(0);
	CHECK_INT(rec.calls, 1);
	CHECK_STR(rec.line[0], "opsctl unit test: syslog copy");
	ops_log_set_sink(NULL, NULL);
}

int main(void)
{
	RUN(default_level_is_info);	/* first: reads the initial level */
	RUN(levels_filter_messages);
	RUN(sink_argument_is_passed_and_replaced);
	RUN(stderr_sink_adds_prefix_and_newline);
	RUN(level_names);
	RUN(messages_stay_on_one_line);
	RUN(out_of_range_levels_are_clamped);
	RUN(syslog_copies_do_not_replace_the_sink);
	return unit_done();
}
