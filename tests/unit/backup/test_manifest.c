/* Unit tests for lib/manifest.c: round trip, strict validation, store I/O. */
#include "unit.h"
#include "opsmaint/config.h"
#include "opsmaint/fileio.h"
#include "opsmaint/json.h"
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

static void pgfile(ops_manifest *m, const char *path, char type, long long size,
		   const char *in)
{
	ops_manifest_pgfile f;
	ops_error err;

	memset(&f, 0, sizeof f);
	f.path = (char *)path;
	f.type = type;
	f.size = size;
	f.mtime = 1795525000;
	f.in = (char *)in;
	f.target = type == 'l' ? "/srv/wal" : NULL;
	memcpy(f.sha256, H1, 65);
	CHECK_INT(ops_manifest_add_pgfile(m, &f, &err), OPS_OK);
}

/* An incremental physical backup's prior and data directory listing come
 * back as written; a listing out of order (bsearch needs it sorted) or an
 * entry without the backup holding its bytes is damage. */
TEST(pgdata_round_trip)
{
	ops_manifest *m = ops_manifest_new("20261124T010000Z-incr", "incr"), *back = NULL;
	char *text, *bad;
	cJSON *o;
	ops_error err;

	m->start = 1795525200;
	m->stop = 1795525201;
	m->prior = strdup("20261123T010000Z-full");
	m->system_id = strdup("7441016432197611234");
	m->clock_start = 1795525200.25;
	pgfile(m, "PG_VERSION", 'f', 3, "20261123T010000Z-full");
	pgfile(m, "base", 'd', 0, NULL);
	pgfile(m, "base/1/1259", 'f', 8192, "20261124T010000Z-incr");
	pgfile(m, "pg_wal", 'l', 0, NULL);
	o = ops_manifest_to_json(m);
	text = cJSON_PrintUnformatted(o);
	CHECK_INT(parse(text, &back, &err), OPS_OK);
	if (back) {
		const ops_manifest_pgfile *f = ops_manifest_pgfile_find(back, "base/1/1259");

		CHECK_STR(back->prior, "20261123T010000Z-full");
		CHECK_STR(back->system_id, "7441016432197611234");
		CHECK(back->clock_start == 1795525200.25);
		CHECK_INT(back->npgfiles, 4);
		CHECK(f != NULL);
		if (f) {
			CHECK_INT(f->type, 'f');
			CHECK_INT(f->size, 8192);
			CHECK_INT(f->mtime, 1795525000);
			CHECK_STR(f->in, "20261124T010000Z-incr");
			CHECK_STR(f->sha256, H1);
		}
		CHECK_INT(ops_manifest_pgfile_find(back, "base")->type, 'd');
		CHECK_STR(ops_manifest_pgfile_find(back, "pg_wal")->target, "/srv/wal");
		CHECK(ops_manifest_pgfile_find(back, "base/1") == NULL);
	}
	ops_manifest_free(back);
	back = NULL;
	/* Swapped order: "PG_VERSION" after "base". */
	bad = strdup(text);
	{
		char *a = strstr(bad, "\"path\":\"PG_VERSION\"");
		char *b = strstr(bad, "\"path\":\"base\"");

		CHECK(a && b);
		if (a && b) {
			memcpy(a, "\"path\":\"zz_VERSION\"", strlen("\"path\":\"zz_VERSION\""));
			CHECK_INT(parse(bad, &back, &err), OPS_EDATA);
		}
	}
	free(bad);
	ops_manifest_free(back);
	back = NULL;
	bad = strdup(text);
	{
		char *in = strstr(bad, "\"in\":\"20261123T010000Z-full\"");

		CHECK(in != NULL);
		if (in) {
			memcpy(in, "\"in\":\"../../../../../etc/pw\"", strlen("\"in\":\"../../../../../etc/pw\""));
			CHECK_INT(parse(bad, &back, &err), OPS_EDATA);
		}
	}
	free(bad);
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

/* Replace the object key of store s with text. */
static void put(ops_store *s, const char *key, const char *text)
{
	ops_store_writer *w = NULL;
	ops_error err;

	CHECK_INT(ops_store_put_begin(s, key, &w, &err), OPS_OK);
	CHECK_INT(ops_store_write(w, text, strlen(text), &err), OPS_OK);
	CHECK_INT(ops_store_put_commit(w, &err), OPS_OK);
}

/* The object key of store s, whole (allocated). */
static char *get(ops_store *s, const char *key)
{
	ops_store_reader *r = NULL;
	char *buf = calloc(1, 1 << 16);
	size_t len = 0, got = 0;
	ops_error err;

	CHECK_INT(ops_store_get_begin(s, key, &r, &err), OPS_OK);
	do {
		CHECK_INT(ops_store_read(r, buf + len, (1 << 16) - 1 - len, &got, &err), OPS_OK);
		len += got;
	} while (got > 0);
	ops_store_get_end(r);
	return buf;
}

/* A valid-JSON edit of the first member's size (1234 -> 1235): the kind
 * of change only the checksum can catch. */
static char *edited(const char *text)
{
	char *copy = strdup(text), *p = strstr(copy, "1234");

	CHECK(p != NULL);
	if (p)
		p[3] = '5';
	return copy;
}

#define MID "20261124T010000Z-full"
#define MKEY MID "/" OPS_MANIFEST_NAME
#define CKEY MID "/" OPS_MANIFEST_COPY

TEST(a_checksum_and_a_copy)
{
	char *dir = unit_tmpdir(), *root = ops_path_join(dir, "s"), *text, *copy, *bad;
	ops_store *s = NULL;
	ops_manifest *m = sample(), *back = NULL;
	ops_store_entry st;
	int found = 0;
	ops_error err;

	CHECK_INT(ops_store_open_local(root, &s, &err), OPS_OK);
	CHECK_INT(ops_manifest_save(s, m, &err), OPS_OK);
	text = get(s, MKEY);
	copy = get(s, CKEY);
	CHECK_STR(text, copy);
	CHECK_CONTAINS(text, "\"checksum\"");
	bad = edited(text);

	/* The manifest edited: its copy is read. */
	put(s, MKEY, bad);
	CHECK_INT(ops_manifest_load(s, MID, &back, &err), OPS_OK);
	CHECK(back && back->members[0].size == 1234 && !back->unsealed);
	ops_manifest_free(back);
	back = NULL;
	/* Lost: the copy again. */
	CHECK_INT(ops_store_remove(s, MKEY, &err), OPS_OK);
	CHECK_INT(ops_manifest_load(s, MID, &back, &err), OPS_OK);
	CHECK(back && back->members[0].size == 1234);
	ops_manifest_free(back);
	back = NULL;
	/* Both edited, or one edited and no copy: a data error. */
	put(s, MKEY, bad);
	put(s, CKEY, bad);
	CHECK_INT(ops_manifest_load(s, MID, &back, &err), OPS_EDATA);
	CHECK_CONTAINS(err.message, "does not match its checksum");
	CHECK_CONTAINS(err.message, "its copy is damaged too");
	CHECK(back == NULL);
	CHECK_INT(ops_store_remove(s, CKEY, &err), OPS_OK);
	CHECK_INT(ops_manifest_load(s, MID, &back, &err), OPS_EDATA);
	CHECK(back == NULL);
	/* Whitespace is an edit too: the checksum is over the bytes. */
	put(s, MKEY, text);
	CHECK_INT(ops_manifest_load(s, MID, &back, &err), OPS_OK);
	ops_manifest_free(back);
	back = NULL;
	free(bad);
	if (asprintf(&bad, " %s", text) > 0) {
		put(s, MKEY, bad);
		CHECK_INT(ops_manifest_load(s, MID, &back, &err), OPS_EDATA);
	}
	/* Written before checksums: read (with a warning), no copy needed. */
	{
		cJSON *o = ops_manifest_to_json(m);
		char *old = cJSON_Print(o);

		put(s, MKEY, old);
		CHECK_INT(ops_manifest_load(s, MID, &back, &err), OPS_OK);
		CHECK(back && back->unsealed);
		ops_manifest_free(back);
		back = NULL;
		free(old);
		cJSON_Delete(o);
	}
	CHECK_INT(ops_store_stat(s, CKEY, &st, &found, &err), OPS_OK);
	CHECK(!found);
	ops_store_free(s);
	ops_manifest_free(m);
	unit_rmrf(dir);
	free(dir);
	free(root);
	free(text);
	free(copy);
	free(bad);
}

TEST(archive_paths_need_not_be_store_keys)
{
	ops_manifest *m = ops_manifest_new("x", "full");
	ops_error err;

	CHECK_INT(ops_manifest_add_file(m, "backup.tar", "files/my notes.txt", 1, H1, &err),
		  OPS_OK);
	CHECK_INT(ops_manifest_add_file(m, "backup.tar", "files/line\nbreak", 1, H1, &err),
		  OPS_OK);
	CHECK_INT(ops_manifest_add_file(m, "backup.tar", "files/../x", 1, H1, &err), OPS_EUSAGE);
	CHECK_INT(ops_manifest_add_file(m, "backup.tar", "/abs", 1, H1, &err), OPS_EUSAGE);
	CHECK_INT(ops_manifest_add_file(m, "a b.tar", "files/x", 1, H1, &err), OPS_EUSAGE);
	CHECK_INT(m->nfiles, 2);
	ops_manifest_free(m);
}

/* A file name in Latin-1: the manifest is valid UTF-8 JSON and the name
 * comes back byte for byte (from files[].path_hex). */
TEST(names_not_utf8_round_trip)
{
	char *dir = unit_tmpdir(), *root = ops_path_join(dir, "s"), *text;
	ops_store *s = NULL;
	ops_manifest *m = sample(), *back = NULL;
	ops_error err;

	CHECK_INT(ops_store_open_local(root, &s, &err), OPS_OK);
	CHECK_INT(ops_manifest_add_file(m, "backup.tar", "files/caf\xe9.txt", 3, H1, &err), OPS_OK);
	CHECK_INT(ops_manifest_save(s, m, &err), OPS_OK);
	text = get(s, MKEY);
	CHECK(text && ops_utf8_valid(text));
	CHECK_CONTAINS(text, "\"path_hex\":\t\"66696c65732f636166e92e747874\"");
	CHECK_INT(ops_manifest_load(s, MID, &back, &err), OPS_OK);
	CHECK(back && back->nfiles == m->nfiles);
	if (back && back->nfiles == m->nfiles) {
		CHECK_STR(back->files[back->nfiles - 1].path, "files/caf\xe9.txt");
		CHECK_STR(back->files[back->nfiles - 1].member, "backup.tar");
	}
	free(text);
	ops_manifest_free(back);
	ops_manifest_free(m);
	ops_store_free(s);
	free(root);
	free(dir);
}

int main(void)
{
	RUN(round_trip);
	RUN(pgdata_round_trip);
	RUN(bad_members_are_refused_when_built);
	RUN(damaged_manifests_are_data_errors);
	RUN(save_and_load_through_the_store);
	RUN(a_checksum_and_a_copy);
	RUN(names_not_utf8_round_trip);
	RUN(archive_paths_need_not_be_store_keys);
	return unit_done();
}
