/* Unit tests for lib/manifest.c: round trip, strict validation, store I/O. */
#include "unit.h"
#include "opsmaint/config.h"
#include "opsmaint/fileio.h"
#include "opsmaint/manifest.h"

#define H1 "0f09909d52d9bfdcf4e5d5f980834a21a63e19c60566775d0aa7894b4af2a1b3"
#define H2 "813d04cc4b5145c7a2e3a2073b54d9522ddf3d6ca34d28ba1ed7f208ad2c0d11"

static ops_manifest *sample(void)
{
	ops_manifest *m = ops_manifest_new("20261124T010000Z-full", "full");
	ops_error err;

	free(m->databases);
	m->databases = ops_split_list("error_reporting_db,rag_integration_db");
	m->server_version = strdup("15.20");
	m->tool_version = strdup("0.1.0");
	m->start = 1795525200;
	m->stop = 1795525262.5;
	ops_manifest_add_member(m, "error_reporting_db.dump", 1234, H1, &err);
	ops_manifest_add_member(m, "rag_integration_db.dump", 99, H2, &err);
	return m;
}

static ops_code parse(const char *text, ops_manifest **out, ops_error *err)
{
	return ops_manifest_from_json(text, strlen(text), out, err);
}

TEST(round_trip)
{
	ops_manifest *m = sample(), *back = NULL;
	cJSON *o = ops_manifest_to_json(m);
	char *text = cJSON_Print(o);
	ops_error err;

	CHECK_INT(parse(text, &back, &err), OPS_OK);
	if (back) {
		CHECK_STR(back->id, m->id);
		CHECK_STR(back->type, "full");
		CHECK_STR(back->status, "complete");
		CHECK_STR(back->databases[1], "rag_integration_db");
		CHECK(back->databases[2] == NULL);
		CHECK_INT(back->nmembers, 2);
		CHECK_INT(back->members[0].size, 1234);
		CHECK_STR(back->members[1].sha256, H2);
		CHECK(back->stop == 1795525262.5);
		CHECK(back->wal_start == NULL);
	}
	ops_manifest_free(back);
	free(text);
	cJSON_Delete(o);
	ops_manifest_free(m);
}

TEST(bad_members_are_refused_when_built)
{
	ops_manifest *m = ops_manifest_new("x", "full");
	ops_error err;

	CHECK_INT(ops_manifest_add_member(m, "../etc/passwd", 1, H1, &err), OPS_EUSAGE);
	CHECK_INT(ops_manifest_add_member(m, "ok.dump", 1, "ABCDEF", &err), OPS_EUSAGE);
	CHECK_INT(ops_manifest_add_member(m, "ok.dump", -1, H1, &err), OPS_EUSAGE);
	CHECK_INT(m->nmembers, 0);
	ops_manifest_free(m);
}

/* The opening of a manifest of backup id, up to its times. */
#define FULL(id) "{\"format\":1,\"id\":\"" id "\",\"type\":\"full\",\"status\":\"complete\","

TEST(damaged_manifests_are_data_errors)
{
	static const char *const bad[] = {
		"",
		"[]",
		"{\"format\":2}",
		"{\"format\":1,\"id\":\"a\",\"type\":\"full\"}",
		FULL("../a") "\"start\":1,\"stop\":2,\"databases\":[],\"members\":[]}",
		FULL("a") "\"start\":3,\"stop\":2,\"databases\":[],\"members\":[]}",
		FULL("a") "\"start\":1,\"stop\":2,\"databases\":[1],\"members\":[]}",
		FULL("a") "\"start\":1,\"stop\":2,\"databases\":[],"
			"\"members\":[{\"name\":\"/abs\",\"size\":1,\"sha256\":\"" H1 "\"}]}",
		FULL("a") "\"start\":1,\"stop\":2,\"databases\":[],"
			"\"members\":[{\"name\":\"m\",\"size\":1,\"sha256\":\"short\"}]}",
		FULL("a") "\"start\":1,\"stop\":2,\"databases\":[]}",
		NULL
	};
	ops_manifest *m = NULL;
	ops_error err;
	size_t i;

	for (i = 0; bad[i]; i++) {
		if (parse(bad[i], &m, &err) != OPS_EDATA) {
			fprintf(stderr, "accepted bad manifest %zu: %s\n", i, bad[i]);
			CHECK(0);
		}
		CHECK(m == NULL);
		ops_manifest_free(m);
		m = NULL;
	}
}

TEST(save_and_load_through_the_store)
{
	char *dir = unit_tmpdir(), *root = ops_path_join(dir, "s");
	ops_store *s = NULL;
	ops_manifest *m = sample(), *back = NULL;
	ops_error err;

	CHECK_INT(ops_store_open_local(root, &s, &err), OPS_OK);
	CHECK_INT(ops_manifest_save(s, m, &err), OPS_OK);
	CHECK_INT(ops_manifest_load(s, m->id, &back, &err), OPS_OK);
	CHECK(back && back->nmembers == 2);
	ops_manifest_free(back);
	back = NULL;
	CHECK_INT(ops_manifest_load(s, "20991231T000000Z-full", &back, &err), OPS_EDATA);
	CHECK_CONTAINS(err.message, "has no manifest");
	ops_store_free(s);
	ops_manifest_free(m);
	unit_rmrf(dir);
	free(dir);
	free(root);
}

int main(void)
{
	RUN(round_trip);
	RUN(bad_members_are_refused_when_built);
	RUN(damaged_manifests_are_data_errors);
	RUN(save_and_load_through_the_store);
	return unit_done();
}
