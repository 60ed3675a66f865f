/*
 * cleanup_data: the rule syntax of cleanup.data_rules, the guides' defaults
 * parsed, and every malformed rule refused with the caller's code and the
 * rule named (before anything connects to a database).
 */
#include <string.h>

#include "opsmaint/cleanup_data.h"
#include "opsmaint/config.h"
#include "unit.h"

static ops_code parse1(const char *text, ops_code code, ops_cleanup_data_rule ***out,
		       ops_error *err)
{
	char *v[2] = {(char *)text, NULL};

	ops_error_clear(err);
	return ops_cleanup_data_rules_parse(v, code, out, err);
}

TEST(defaults_are_the_guides)
{
	ops_config *cfg = ops_config_new();
	char **texts = ops_config_list(cfg, "cleanup.data_rules");
	ops_cleanup_data_rule **r = NULL;
	ops_error err;

	CHECK(ops_cleanup_data_rules_parse(texts, OPS_ECONFIG, &r, &err) == OPS_OK);
	CHECK(r && r[5] && !r[6]);
	if (r && r[5]) {
		CHECK_STR(r[0]->table, "chat_logs");
		CHECK_STR(r[0]->column, "created_at");
		CHECK_INT(r[0]->age, 90 * 86400);
		CHECK_INT(r[0]->action, OPS_CLEANUP_DATA_DELETE);
		CHECK_STR(r[1]->table, "conversations");
		CHECK_INT(r[1]->age, 30 * 86400);
		CHECK_INT(r[1]->action, OPS_CLEANUP_DATA_ARCHIVE);
		CHECK_STR(r[1]->prefix, "cleanup/conversations");
		CHECK_STR(r[2]->column, "performed_at");
		CHECK_INT(r[5]->action, OPS_CLEANUP_DATA_CALL);
		CHECK_STR(r[5]->table, "cleanup_expired_cache");
	}
	ops_cleanup_data_rules_free(r);
	ops_strv_free(texts);
	ops_config_free(cfg);
}

TEST(archive_prefix_and_schema)
{
	ops_cleanup_data_rule **r = NULL;
	ops_error err;

	CHECK(parse1("app.conversations:ended_at:12h:archive:archive/conv", OPS_ECONFIG, &r,
		     &err) == OPS_OK);
	if (r) {
		CHECK_STR(r[0]->table, "app.conversations");
		CHECK_INT(r[0]->age, 12 * 3600);
		CHECK_STR(r[0]->prefix, "archive/conv");
	}
	ops_cleanup_data_rules_free(r);
}

TEST(bad_rules_name_themselves)
{
	static const struct {
		const char *rule, *why;
	} bad[] = {
		{"chat_logs:created_at:90d", "not TABLE:COLUMN:AGE:ACTION"},
		{"chat_logs:created_at:soon:delete", "'soon' is not an age"},
		{"chat_logs:created_at:0:delete", "is not an age"},
		{"chat_logs:created_at:90d:truncate", "action 'truncate'"},
		{"chat_logs:created_at:90d:delete:x", "only archive takes a prefix"},
		{"chat logs:created_at:90d:delete", "not a table and column name"},
		{"chat_logs:a.b:90d:delete", "not a table and column name"},
		{"t;drop:c:90d:delete", "not a table and column name"},
		{"t:c:90d:archive:../up", "not a store prefix"},
		{"x.y()", "not a function name"},
		{"1f()", "not a function name"},
	};
	ops_cleanup_data_rule **r = NULL;
	ops_error err;
	size_t i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		CHECK(parse1(bad[i].rule, OPS_EUSAGE, &r, &err) == OPS_EUSAGE);
		CHECK(r == NULL);
		CHECK(strstr(err.message, bad[i].rule) != NULL);
		if (!strstr(err.message, bad[i].why))
			fprintf(stderr, "rule '%s': message '%s' lacks '%s'\n", bad[i].rule,
				err.message, bad[i].why);
		CHECK(strstr(err.message, bad[i].why) != NULL);
	}
	CHECK(parse1("chat_logs:created_at:90d:nope", OPS_ECONFIG, &r, &err) == OPS_ECONFIG);
}

TEST(no_rules_is_an_error)
{
	char *v[1] = {NULL};
	ops_cleanup_data_rule **r = NULL;
	ops_error err;

	CHECK(ops_cleanup_data_rules_parse(v, OPS_ECONFIG, &r, &err) == OPS_ECONFIG);
	CHECK(strstr(err.message, "no cleanup rules") != NULL);
}

int main(void)
{
	RUN(defaults_are_the_guides);
	RUN(archive_prefix_and_schema);
	RUN(bad_rules_name_themselves);
	RUN(no_rules_is_an_error);
	return unit_done();
}
