/* Unit tests for lib/suggest.c: the distance and the nearest name. */
#include "unit.h"
#include "opsmaint/suggest.h"

TEST(distance_counts_edits)
{
	CHECK_INT(ops_edit_distance("vacuum", "vacuum"), 0);
	CHECK_INT(ops_edit_distance("vacum", "vacuum"), 1);	/* deletion */
	CHECK_INT(ops_edit_distance("vacuuum", "vacuum"), 1);	/* insertion */
	CHECK_INT(ops_edit_distance("vacuun", "vacuum"), 1);	/* substitution */
	CHECK_INT(ops_edit_distance("mainatin", "maintain"), 1);	/* a swapped pair */
	CHECK_INT(ops_edit_distance("", "abc"), 3);
	CHECK_INT(ops_edit_distance("kitten", "sitting"), 3);
}

TEST(distance_refuses_very_long_words)
{
	char longw[100];

	memset(longw, 'a', sizeof longw - 1);
	longw[sizeof longw - 1] = '\0';
	CHECK(ops_edit_distance(longw, "a") > 2);
}

TEST(suggest_picks_the_nearest)
{
	const char *const tasks[] = {"vacuum", "analyze", "reindex", "all", NULL};
	const char *const cmds[] = {"maintain", "migrate", "vacuum", NULL};

	CHECK_STR(ops_suggest("vacum", tasks), "vacuum");
	CHECK_STR(ops_suggest("analyse", tasks), "analyze");
	CHECK_STR(ops_suggest("maintian", cmds), "maintain");
	CHECK_STR(ops_suggest("maint", cmds), "maintain");	/* a prefix */
	CHECK(ops_suggest("xyzzyq", tasks) == NULL);
	CHECK(ops_suggest("vacuum", NULL) == NULL);
}

TEST(suggest_prefers_the_closer_of_two)
{
	const char *const keys[] = {"db.host", "db.port", "db.name", NULL};

	CHECK_STR(ops_suggest("db.hots", keys), "db.host");
	CHECK_STR(ops_suggest("db.prot", keys), "db.port");
}

int main(void)
{
	RUN(distance_counts_edits);
	RUN(distance_refuses_very_long_words);
	RUN(suggest_picks_the_nearest);
	RUN(suggest_prefers_the_closer_of_two);
	return unit_done();
}
