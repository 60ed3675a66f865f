/*
 * Unit tests for lib/sched/tier.c: splitting run.TIER into tasks (';',
 * blanks, double quotes) and which tasks need the maintenance window.
 * Running tasks is t950's (real children of the real binary).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opsmaint/tier.h"
#include "unit.h"

TEST(tasks_split_on_semicolons_and_blanks)
{
	ops_tier_task *t = NULL;
	size_t n = 0;
	ops_error err;

	ops_error_clear(&err);
	CHECK_INT(ops_tier_parse("run.weekly", " db maintain ;; vector  verify\t-p \"/a b/i.faiss\";", &t, &n, &err), OPS_OK);
	CHECK_INT((int)n, 2);
	if (n != 2)
		goto out;
	CHECK_STR(t[0].words[0], "db");
	CHECK_STR(t[0].words[1], "maintain");
	CHECK(t[0].words[2] == NULL);
	CHECK_STR(t[1].words[3], "/a b/i.faiss");
	CHECK_STR(t[1].line, "vector verify -p \"/a b/i.faiss\"");
out:
	ops_tier_tasks_free(t, n);
}

TEST(quotes_hold_semicolons_and_escapes)
{
	ops_tier_task *t = NULL;
	size_t n = 0;
	ops_error err;

	ops_error_clear(&err);
	CHECK_INT(ops_tier_parse("run.daily", "alerts test -m \"a;b \\\"c\\\\\"", &t, &n, &err), OPS_OK);
	CHECK_INT((int)n, 1);
	if (n == 1)
		CHECK_STR(t[0].words[3], "a;b \"c\\");
	ops_tier_tasks_free(t, n);
	CHECK_INT(ops_tier_parse("run.daily", "", &t, &n, &err), OPS_OK);
	CHECK_INT((int)n, 0);
	ops_tier_tasks_free(t, n);
}

TEST(an_unterminated_quote_names_the_key)
{
	ops_tier_task *t = NULL;
	size_t n = 0;
	ops_error err;

	ops_error_clear(&err);
	CHECK_INT(ops_tier_parse("run.monthly", "health; scan -o \"x", &t, &n, &err), OPS_ECONFIG);
	CHECK_CONTAINS(err.message, "run.monthly: unterminated quote");
	CHECK(t == NULL && n == 0);
}

static const char *classify(const char *command, const char *value)
{
	static char why[96];
	ops_tier_task *t = NULL;
	size_t n = 0;
	ops_error err;
	const char *w;

	why[0] = '\0';
	if (ops_tier_parse("run.weekly", value, &t, &n, &err) != OPS_OK || n != 1)
		return "parse failed";
	snprintf(t[0].command, sizeof t[0].command, "%s", command);
	w = ops_tier_destructive(&t[0]);
	if (w)
		snprintf(why, sizeof why, "%s", w);
	ops_tier_tasks_free(t, n);
	return why;
}

TEST(which_tasks_need_the_window)
{
	CHECK_STR(classify("vector rebuild", "vector rebuild --backup"), "vector rebuild");
	CHECK_STR(classify("vector rebuild", "vector rebuild --dry-run"), "");
	CHECK_STR(classify("db vacuum", "db vacuum"), "");
	CHECK_STR(classify("db vacuum", "db vacuum --full"), "db vacuum");
	CHECK_STR(classify("db reindex", "db reindex"), "db reindex");
	CHECK_STR(classify("db reindex", "db reindex --concurrently"), "");
	CHECK_STR(classify("db connections", "db connections"), "");
	CHECK_STR(classify("db connections", "db connections --terminate"), "db connections");
	CHECK_STR(classify("rotate-keys rotate", "rotate-keys --type all"), "rotate-keys rotate");
	CHECK_STR(classify("db size", "db size"), "");
	CHECK_STR(classify("db vacuum", "db vacuum -- --full"), "");
}

int main(void)
{
	RUN(tasks_split_on_semicolons_and_blanks);
	RUN(quotes_hold_semicolons_and_escapes);
	RUN(an_unterminated_quote_names_the_key);
	RUN(which_tasks_need_the_window);
	return unit_done();
}
