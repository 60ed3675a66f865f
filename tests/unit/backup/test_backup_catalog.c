/*
 * Unit tests for lib/backup/backup_catalog.c against a real local store:
 * which names are backups, how a store's backups are listed (complete,
 * failed, partial, damaged), latest and newest, pins, removal of partials.
 */
#include "unit.h"
#include "backup/backup_internal.h"
#include "opsmaint/config.h"
#include "opsmaint/fileio.h"

#define H1 "0f09909d52d9bfdcf4e5d5f980834a21a63e19c60566775d0aa7894b4af2a1b3"

struct fixture {
	char *dir;
	ops_config *cfg;
	ops_run run;
	ops_backup_ctx ctx;
};

static void put(ops_store *s, const char *key, const char *text)
{
	ops_store_writer *w = NULL;
	ops_error err;

	CHECK_INT(ops_store_put_begin(s, key, &w, &err), OPS_OK);
	CHECK_INT(ops_store_write(w, text, strlen(text), &err), OPS_OK);
	CHECK_INT(ops_store_put_commit(w, &err), OPS_OK);
}

static void backup(ops_store *s, const char *id, const char *status, double start)
{
	ops_manifest *m = ops_manifest_new(id, "full");
	ops_error err;
	char key[128];

	snprintf(key, sizeof key, "%s/backup.tar.zst", id);
	put(s, key, "archive");
	ops_strv_free(m->databases);
	m->databases = ops_split_list("chatbot_db,hub.db");
	m->start = start;
	m->stop = start + 2.5;
	CHECK_INT(ops_manifest_set(&m->status, status, &err), OPS_OK);
	CHECK_INT(ops_manifest_add_member(m, "backup.tar.zst", 7, H1, &err), OPS_OK);
	CHECK_INT(ops_manifest_save(s, m, &err), OPS_OK);
	ops_manifest_free(m);
}

/*
 * 1031 verified, 01 complete, 02 verify-failed, 03 objects but no manifest
 * (a killed run), 04 a damaged manifest, and names that are not backups.
 */
static void setup(struct fixture *f)
{
	char *root;
	ops_store *s = NULL;
	ops_error err;

	f->dir = unit_tmpdir();
	root = ops_path_join(f->dir, "store");
	f->cfg = ops_config_new();
	CHECK_INT(ops_store_open_local(root, &s, &err), OPS_OK);
	free(root);
	ops_run_init(&f->run, f->cfg);
	f->ctx.run = &f->run;
	f->ctx.store = s;
	backup(s, "20261031T010000Z-full", "verified", 1793408400);
	backup(s, "20261101T010000Z-full", "complete", 1793494800);
	backup(s, "20261102T010000Z-full", "verify-failed", 1793581200);
	put(s, "20261103T010000Z-full/backup.tar.zst", "half");
	put(s, "20261104T010000Z-full/manifest.json", "{not json");
	put(s, "wal/000000010000000000000003.zst", "segment");
	put(s, "20261105T010000Z-fullish/x", "not ours");
	put(s, "notes/readme", "shared store");
}

static void teardown(struct fixture *f)
{
	ops_store_free(f->ctx.store);
	ops_config_free(f->cfg);
	unit_rmrf(f->dir);
	free(f->dir);
}

static cJSON *item(cJSON *list, const char *id)
{
	cJSON *it;

	cJSON_ArrayForEach(it, list)
		if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(it, "id")), id) == 0)
			return it;
	return NULL;
}

TEST(backup_ids)
{
	static const char *const good[] = {
		"20261124T010000Z-full", "20261124T010000Z-full-2", "20261124T010000Z-full-17",
		"20261124T010000Z-incr", "20261124T010000Z-diff-3", NULL
	};
	static const char *const bad[] = {
		"", "wal", "20261124T010000Z", "20261124T010000Z-fulL", "20261124X010000Z-full",
		"2026112AT010000Z-full", "20261124T010000Z-full-", "20261124T010000Z-full-2a",
		"20261124T010000Z-fullish", "20261124T010000Y-full", "20261124T010000Z-wal",
		"20261124T010000Z-incremental", "20261124T010000Z-Diff", NULL
	};
	size_t i;

	for (i = 0; good[i]; i++)
		CHECK(bk_is_backup_id(good[i], strlen(good[i])));
	for (i = 0; bad[i]; i++)
		if (bk_is_backup_id(bad[i], strlen(bad[i]))) {
			fprintf(stderr, "taken for a backup id: '%s'\n", bad[i]);
			CHECK(0);
		}
	/* Only the first len bytes count: the key's first path component. */
	CHECK(bk_is_backup_id("20261124T010000Z-full/manifest.json", 21));
}

TEST(list_shows_every_backup_and_nothing_else)
{
	struct fixture f = {0};
	cJSON *rep = NULL, *list, *it;
	ops_error err;

	setup(&f);
	CHECK_INT(ops_backup_list(&f.ctx, &rep, &err), OPS_OK);
	list = cJSON_GetObjectItem(rep, "backups");
	CHECK_INT(cJSON_GetArraySize(list), 5);
	CHECK_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(rep, "count")), 5);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(list, 0), "id")),
		  "20261031T010000Z-full");
	it = item(list, "20261031T010000Z-full");
	CHECK(it && cJSON_IsTrue(cJSON_GetObjectItem(it, "verified")));
	it = item(list, "20261101T010000Z-full");
	CHECK(it && cJSON_IsFalse(cJSON_GetObjectItem(it, "verified")));
	CHECK(it && cJSON_GetNumberValue(cJSON_GetObjectItem(it, "duration_seconds")) == 2.5);
	/* "databases" is a list wherever it appears: here, of names. */
	CHECK(it && cJSON_GetArraySize(cJSON_GetObjectItem(it, "databases")) == 2);
	CHECK(it && strcmp(cJSON_GetStringValue(cJSON_GetArrayItem(cJSON_GetObjectItem(it,
			   "databases"), 1)), "hub.db") == 0);
	it = item(list, "20261102T010000Z-full");
	CHECK(it && strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(it, "status")),
			   "verify-failed") == 0);
	CHECK(it && cJSON_IsFalse(cJSON_GetObjectItem(it, "verified")));
	it = item(list, "20261103T010000Z-full");
	CHECK(it && strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(it, "status")),
			   "incomplete") == 0);
	it = item(list, "20261104T010000Z-full");
	CHECK(it && strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(it, "status")),
			   "invalid") == 0);
	CHECK(it && cJSON_GetStringValue(cJSON_GetObjectItem(it, "error")) != NULL);
	cJSON_Delete(rep);
	teardown(&f);
}

TEST(latest_is_the_newest_good_one)
{
	struct fixture f = {0};
	char *id = NULL;
	ops_error err;

	setup(&f);
	CHECK_INT(ops_backup_latest(&f.ctx, &id, &err), OPS_OK);
	CHECK_STR(id, "20261101T010000Z-full");
	free(id);
	/* Good or not, but with a manifest that loads. */
	CHECK_INT(ops_backup_newest(&f.ctx, 0, &id, &err), OPS_OK);
	CHECK_STR(id, "20261102T010000Z-full");
	free(id);
	teardown(&f);
}

TEST(latest_of_an_empty_store_is_an_error)
{
	struct fixture f = {0};
	char *dir = unit_tmpdir(), *root = ops_path_join(dir, "empty"), *id = NULL;
	ops_config *cfg = ops_config_new();
	ops_error err;

	ops_run_init(&f.run, cfg);
	f.ctx.run = &f.run;
	CHECK_INT(ops_store_open_local(root, &f.ctx.store, &err), OPS_OK);
	CHECK_INT(ops_backup_latest(&f.ctx, &id, &err), OPS_EFAIL);
	CHECK(id == NULL);
	CHECK_CONTAINS(err.message, "no complete backup in");
	ops_store_free(f.ctx.store);
	ops_config_free(cfg);
	unit_rmrf(dir);
	free(dir);
	free(root);
}

TEST(pins)
{
	struct fixture f = {0};
	ops_manifest *m = NULL;
	cJSON *rep = NULL;
	ops_error err;

	setup(&f);
	CHECK_INT(ops_backup_pin(&f.ctx, "20261101T010000Z-full", 1, &rep, &err), OPS_OK);
	CHECK(rep && cJSON_IsTrue(cJSON_GetObjectItem(rep, "pinned")));
	cJSON_Delete(rep);
	CHECK_INT(ops_manifest_load(f.ctx.store, "20261101T010000Z-full", &m, &err), OPS_OK);
	CHECK(m && m->pinned);
	ops_manifest_free(m);
	CHECK_INT(ops_backup_pin(&f.ctx, "20200101T000000Z-full", 1, &rep, &err), OPS_EFAIL);
	CHECK_CONTAINS(err.message, "no backup '20200101T000000Z-full'");
	CHECK(rep == NULL);
	CHECK_INT(ops_backup_pin(&f.ctx, "../etc", 1, &rep, &err), OPS_EUSAGE);
	CHECK_INT(ops_backup_pin(&f.ctx, "20261103T010000Z-full", 1, &rep, &err), OPS_EDATA);
	CHECK_CONTAINS(err.message, "has no manifest");
	teardown(&f);
}

TEST(partials_are_removed_and_nothing_else)
{
	struct fixture f = {0};
	cJSON *removed = cJSON_CreateArray();
	ops_store_entry *e = NULL;
	size_t n = 0, i;
	int saw_damaged = 0, saw_notes = 0, saw_partial = 0;
	ops_error err;

	setup(&f);
	CHECK_INT(bk_catalog_remove_partial(&f.ctx, removed, &err), OPS_OK);
	CHECK_INT(cJSON_GetArraySize(removed), 1);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetArrayItem(removed, 0)), "20261103T010000Z-full");
	CHECK_INT(ops_store_list(f.ctx.store, "", &e, &n, &err), OPS_OK);
	for (i = 0; i < n; i++) {
		saw_partial |= strncmp(e[i].key, "20261103T010000Z-full/", 22) == 0;
		saw_damaged |= strcmp(e[i].key, "20261104T010000Z-full/manifest.json") == 0;
		saw_notes |= strcmp(e[i].key, "notes/readme") == 0;
	}
	ops_store_entries_free(e, n);
	CHECK(!saw_partial);
	/* A damaged manifest is for an operator to look at, never removed. */
	CHECK(saw_damaged);
	CHECK(saw_notes);
	cJSON_Delete(removed);
	teardown(&f);
}

/* The store's listing against the manifest: a missing object or another
 * size is damage; an unknown size (-1, an S3 listing it could not parse)
 * is not. */
TEST(objects_against_the_manifest)
{
	ops_manifest *m = ops_manifest_new("20261101T010000Z-full", "full");
	ops_store_entry e[2] = {{"20261101T010000Z-full/backup.tar.zst", 7, 0},
				{"20261101T010000Z-full/manifest.json", 100, 0}};
	ops_error err;
	char *why;

	CHECK_INT(ops_manifest_add_member(m, "backup.tar.zst", 7, H1, &err), OPS_OK);
	CHECK(bk_objects_damage(m, e, 2) == NULL);
	e[0].size = -1;
	CHECK(bk_objects_damage(m, e, 2) == NULL);
	e[0].size = 5;
	why = bk_objects_damage(m, e, 2);
	CHECK(why && strstr(why, "is 5 bytes, the manifest says 7"));
	free(why);
	why = bk_objects_damage(m, e + 1, 1);
	CHECK(why && strstr(why, "backup.tar.zst' is missing"));
	free(why);
	why = bk_objects_damage(m, NULL, 0);
	CHECK(why != NULL);
	free(why);
	ops_manifest_free(m);
}

int main(void)
{
	RUN(backup_ids);
	RUN(list_shows_every_backup_and_nothing_else);
	RUN(latest_is_the_newest_good_one);
	RUN(latest_of_an_empty_store_is_an_error);
	RUN(pins);
	RUN(partials_are_removed_and_nothing_else);
	RUN(objects_against_the_manifest);
	return unit_done();
}
