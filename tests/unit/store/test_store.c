/*
 * The storage conformance suite: what every driver must do, run against each
 * driver through the public interface only: the local directory always, and
 * S3 when OPSCTL_TEST_S3_ENDPOINT names a server (t300 starts s3rver).  The
 * S3 driver's configuration checks need no server and always run.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"
#include "opsmaint/fileio.h"
#include "opsmaint/config.h"
#include "opsmaint/store.h"

static ops_store *store;

static int put(const char *key, const char *text)
{
	ops_store_writer *w = NULL;
	ops_error err;

	if (ops_store_put_begin(store, key, &w, &err) != OPS_OK)
		return -1;
	if (ops_store_write(w, text, strlen(text), &err) != OPS_OK) {
		ops_store_put_abort(w);
		return -1;
	}
	return ops_store_put_commit(w, &err) == OPS_OK ? 0 : -1;
}

/* The object's whole content, read in small pieces; NULL if absent. */
static char *get(const char *key)
{
	ops_store_reader *r = NULL;
	ops_error err;
	char *out = NULL, buf[7];
	size_t len = 0, got = 0;

	if (ops_store_get_begin(store, key, &r, &err) != OPS_OK)
		return NULL;
	out = calloc(1, 1);
	do {
		char *grown;

		if (ops_store_read(r, buf, sizeof buf, &got, &err) != OPS_OK)
			break;
		grown = realloc(out, len + got + 1);
		if (!grown)
			break;
		out = grown;
		memcpy(out + len, buf, got);
		len += got;
		out[len] = '\0';
	} while (got > 0);
	ops_store_get_end(r);
	return out;
}

TEST(keys_that_could_leave_the_store_are_refused)
{
	ops_store_writer *w = NULL;
	ops_error err;

	CHECK(ops_store_key_valid("db/2026/manifest.json"));
	CHECK(ops_store_key_valid("a-b_c.d"));
	CHECK(!ops_store_key_valid(""));
	CHECK(!ops_store_key_valid("/etc/passwd"));
	CHECK(!ops_store_key_valid("../x"));
	CHECK(!ops_store_key_valid("a/../../x"));
	CHECK(!ops_store_key_valid("a//b"));
	CHECK(!ops_store_key_valid("a/./b"));
	CHECK(!ops_store_key_valid("a/"));
	CHECK(!ops_store_key_valid("a b"));
	CHECK(!ops_store_key_valid("a\\b"));
	CHECK_INT(ops_store_put_begin(store, "../escape", &w, &err), OPS_EUSAGE);
	CHECK(w == NULL);
	CHECK_CONTAINS(err.message, "bad object key '../escape'");
}

TEST(put_then_get_round_trips)
{
	char *back;

	CHECK_INT(put("db/one.txt", "hello, store"), 0);
	back = get("db/one.txt");
	CHECK_STR(back, "hello, store");
	free(back);
	/* Replacing an object replaces it whole. */
	CHECK_INT(put("db/one.txt", "second"), 0);
	back = get("db/one.txt");
	CHECK_STR(back, "second");
	free(back);
}

TEST(an_unfinished_write_is_invisible)
{
	ops_store_writer *w = NULL;
	ops_store_entry *e = NULL, st;
	size_t n = 0;
	int found = 1;
	ops_error err;
	char *back;

	CHECK_INT(ops_store_put_begin(store, "partial/obj", &w, &err), OPS_OK);
	CHECK_INT(ops_store_write(w, "half", 4, &err), OPS_OK);
	CHECK_INT(ops_store_stat(store, "partial/obj", &st, &found, &err), OPS_OK);
	CHECK_INT(found, 0);
	CHECK_INT(ops_store_list(store, "partial/", &e, &n, &err), OPS_OK);
	CHECK_INT(n, 0);
	ops_store_entries_free(e, n);
	back = get("partial/obj");
	CHECK(back == NULL);
	ops_store_put_abort(w);
	CHECK_INT(ops_store_list(store, "partial/", &e, &n, &err), OPS_OK);
	CHECK_INT(n, 0);
	ops_store_entries_free(e, n);
}

TEST(list_is_sorted_and_filtered_by_prefix)
{
	ops_store_entry *e = NULL;
	size_t n = 0;
	ops_error err;

	CHECK_INT(put("list/b", "22"), 0);
	CHECK_INT(put("list/a", "1"), 0);
	CHECK_INT(put("list/sub/c", "333"), 0);
	CHECK_INT(put("other/x", "x"), 0);
	CHECK_INT(ops_store_list(store, "list/", &e, &n, &err), OPS_OK);
	CHECK_INT(n, 3);
	if (n == 3) {
		CHECK_STR(e[0].key, "list/a");
		CHECK_STR(e[1].key, "list/b");
		CHECK_STR(e[2].key, "list/sub/c");
		CHECK_INT(e[2].size, 3);
		CHECK(e[0].mtime > 0);
	}
	ops_store_entries_free(e, n);
	CHECK_INT(ops_store_list(store, "../", &e, &n, &err), OPS_EUSAGE);
}

TEST(stat_and_remove)
{
	ops_store_entry st;
	int found = 0;
	ops_error err;
	char *back;

	CHECK_INT(put("rm/me", "12345"), 0);
	CHECK_INT(ops_store_stat(store, "rm/me", &st, &found, &err), OPS_OK);
	CHECK_INT(found, 1);
	CHECK_INT(st.size, 5);
	CHECK_STR(st.key, "rm/me");
	free(st.key);
	CHECK_INT(ops_store_remove(store, "rm/me", &err), OPS_OK);
	CHECK_INT(ops_store_stat(store, "rm/me", &st, &found, &err), OPS_OK);
	CHECK_INT(found, 0);
	/* Removing what is not there is not an error. */
	CHECK_INT(ops_store_remove(store, "rm/me", &err), OPS_OK);
	back = get("rm/me");
	CHECK(back == NULL);
	{
		ops_store_reader *r = NULL;

		CHECK_INT(ops_store_get_begin(store, "rm/me", &r, &err), OPS_EFAIL);
		CHECK_CONTAINS(err.message, "no object 'rm/me'");
	}
}

/* Larger than a part: S3 uploads it in several parts, all must come back. */
TEST(large_objects_round_trip)
{
	size_t len = (12u << 20) + 7, i, off = 0, got = 0;
	unsigned char *data = malloc(len), *back = malloc(len + 1);
	ops_store_writer *w = NULL;
	ops_store_reader *r = NULL;
	ops_store_entry st;
	int found = 0;
	ops_error err;

	for (i = 0; i < len; i++)
		data[i] = (unsigned char)(i * 2654435761u >> 13);
	CHECK_INT(ops_store_put_begin(store, "big/object", &w, &err), OPS_OK);
	for (i = 0; w && i < len; i += 1000003)
		CHECK_INT(ops_store_write(w, data + i, len - i < 1000003 ? len - i : 1000003, &err), OPS_OK);
	CHECK_INT(ops_store_put_commit(w, &err), OPS_OK);
	CHECK_INT(ops_store_stat(store, "big/object", &st, &found, &err), OPS_OK);
	CHECK_INT(found, 1);
	if (found) {
		CHECK(st.size == (long long)len);
		free(st.key);
	}
	CHECK_INT(ops_store_get_begin(store, "big/object", &r, &err), OPS_OK);
	do {
		if (ops_store_read(r, back + off, len + 1 - off, &got, &err) != OPS_OK)
			break;
		off += got;
	} while (got > 0 && off <= len);
	ops_store_get_end(r);
	CHECK(off == len);
	CHECK(memcmp(data, back, len) == 0);
	CHECK_INT(ops_store_remove(store, "big/object", &err), OPS_OK);
	free(data);
	free(back);
}

/* An aborted large write leaves nothing behind. */
TEST(an_aborted_large_write_is_invisible)
{
	size_t len = 11u << 20;
	unsigned char *data = calloc(1, len);
	ops_store_writer *w = NULL;
	ops_store_entry *e = NULL;
	size_t n = 0;
	ops_error err;

	CHECK_INT(ops_store_put_begin(store, "aborted/big", &w, &err), OPS_OK);
	CHECK_INT(ops_store_write(w, data, len, &err), OPS_OK);
	ops_store_put_abort(w);
	CHECK_INT(ops_store_list(store, "aborted/", &e, &n, &err), OPS_OK);
	CHECK_INT(n, 0);
	ops_store_entries_free(e, n);
	free(data);
}

/* Zero bytes is an object too: one empty PUT, not an upload without parts. */
TEST(an_empty_object_round_trips)
{
	ops_store_writer *w = NULL;
	ops_store_entry st;
	int found = 0;
	ops_error err;
	char *back;

	CHECK_INT(ops_store_put_begin(store, "empty/obj", &w, &err), OPS_OK);
	CHECK_INT(ops_store_put_commit(w, &err), OPS_OK);
	CHECK_INT(ops_store_stat(store, "empty/obj", &st, &found, &err), OPS_OK);
	CHECK_INT(found, 1);
	if (found) {
		CHECK_INT(st.size, 0);
		free(st.key);
	}
	back = get("empty/obj");
	CHECK_STR(back, "");
	free(back);
	CHECK_INT(ops_store_remove(store, "empty/obj", &err), OPS_OK);
}

/* Exactly two 5 MiB parts: the commit has no short last part to send. */
TEST(an_exact_multiple_of_the_part_size_round_trips)
{
	size_t len = 10u << 20, i, off = 0, got = 0;
	unsigned char *data = malloc(len), *back = malloc(len + 1);
	ops_store_writer *w = NULL;
	ops_store_reader *r = NULL;
	ops_error err;

	for (i = 0; i < len; i++)
		data[i] = (unsigned char)(i * 40503u >> 7);
	CHECK_INT(ops_store_put_begin(store, "exact/object", &w, &err), OPS_OK);
	CHECK_INT(ops_store_write(w, data, len, &err), OPS_OK);
	CHECK_INT(ops_store_put_commit(w, &err), OPS_OK);
	CHECK_INT(ops_store_get_begin(store, "exact/object", &r, &err), OPS_OK);
	do {
		if (ops_store_read(r, back + off, len + 1 - off, &got, &err) != OPS_OK)
			break;
		off += got;
	} while (got > 0 && off <= len);
	ops_store_get_end(r);
	CHECK(off == len);
	CHECK(memcmp(data, back, len) == 0);
	CHECK_INT(ops_store_remove(store, "exact/object", &err), OPS_OK);
	free(data);
	free(back);
}

/* Local only: a symlink planted under the root is not followed. */
TEST(local_does_not_follow_planted_links)
{
	char *dir = unit_tmpdir(), *root = ops_path_join(dir, "root"), *secret = ops_path_join(dir, "secret");
	char *link = ops_path_join(root, "evil");
	ops_store *s = NULL;
	ops_store_reader *r = NULL;
	ops_store_entry *e = NULL;
	size_t n = 0;
	ops_error err;
	int fd;

	CHECK_INT(ops_store_open_local(root, &s, &err), OPS_OK);
	CHECK(ops_store_features(s) & OPS_STORE_F_LOCAL);
	CHECK_CONTAINS(ops_store_describe(s), "local:");
	fd = open(secret, O_WRONLY | O_CREAT, 0600);
	CHECK(fd >= 0 && write(fd, "top secret", 10) == 10);
	close(fd);
	CHECK(symlink(secret, link) == 0);
	CHECK(ops_store_get_begin(s, "evil", &r, &err) != OPS_OK);
	CHECK(r == NULL);
	CHECK_INT(ops_store_list(s, "", &e, &n, &err), OPS_OK);
	CHECK_INT(n, 0);
	ops_store_entries_free(e, n);
	/* A link planted as a directory: no write, read or removal through it. */
	{
		char *outside = ops_path_join(dir, "outside"), *dlink = ops_path_join(root, "db");
		char *victim = ops_path_join(outside, "keep");
		ops_store_writer *w = NULL;
		struct stat st;

		CHECK(mkdir(outside, 0700) == 0);
		fd = open(victim, O_WRONLY | O_CREAT, 0600);
		close(fd);
		CHECK(symlink(outside, dlink) == 0);
		CHECK_INT(ops_store_put_begin(s, "db/dump", &w, &err), OPS_EPERM);
		CHECK(w == NULL);
		CHECK_CONTAINS(err.message, "'db' is not a directory");
		CHECK_INT(ops_store_get_begin(s, "db/keep", &r, &err), OPS_EPERM);
		CHECK_INT(ops_store_remove(s, "db/keep", &err), OPS_EPERM);
		CHECK(stat(victim, &st) == 0);
		free(outside);
		free(dlink);
		free(victim);
	}
	ops_store_free(s);
	unit_rmrf(dir);
	free(dir);
	free(root);
	free(secret);
	free(link);
}

/* ---- the S3 driver ---- */

static char *env_save(const char *name)
{
	const char *v = getenv(name);

	return v ? strdup(v) : NULL;
}

static void env_restore(const char *name, char *saved)
{
	if (saved)
		setenv(name, saved, 1);
	else
		unsetenv(name);
	free(saved);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static ops_config *s3_config(const char *endpoint, const char *prefix)
{
	ops_config *cfg = ops_config_new();
	ops_error err;

	if (endpoint)
		CHECK_INT(ops_config_set(cfg, "s3.endpoint", endpoint, "test", &err), OPS_OK);
	CHECK_INT(ops_config_set(cfg, "s3.bucket", "bkt", "test", &err), OPS_OK);
	if (prefix)
		CHECK_INT(ops_config_set(cfg, "s3.prefix", prefix, "test", &err), OPS_OK);
	CHECK_INT(ops_config_set(cfg, "s3.retries", "0", "test", &err), OPS_OK);
	return cfg;
}

/* No server needed: what opening checks, and that it sends nothing. */
TEST(s3_open_checks_configuration_without_a_request)
{
	char *id = env_save("AWS_ACCESS_KEY_ID"), *secret = env_save("AWS_SECRET_ACCESS_KEY");
	char *token = env_save("AWS_SESSION_TOKEN"), *home = env_save("HOME");
	char *profile = env_save("AWS_PROFILE");
	char *dir = unit_tmpdir(), *creds = ops_path_join(dir, "credentials");
	ops_config *cfg;
	ops_store *s = NULL;
	ops_store_entry *e = NULL;
	size_t n = 0;
	int enabled = 1;
	ops_error err;

	setenv("AWS_ACCESS_KEY_ID", "AKIDTEST", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "hunter2secret", 1);
	unsetenv("AWS_SESSION_TOKEN");
	unsetenv("AWS_PROFILE");

	cfg = ops_config_new();
	CHECK_INT(ops_store_open_s3(cfg, &s, &err), OPS_ECONFIG);
	CHECK_CONTAINS(err.message, "no S3 bucket");
	CHECK(s == NULL);
	ops_config_free(cfg);

	/* Port 1 is closed: opening must not notice, a request must, at once. */
	cfg = s3_config("http://127.0.0.1:1/", "/backups//rag/");
	CHECK_INT(ops_store_open_s3(cfg, &s, &err), OPS_OK);
	if (s) {
		CHECK_STR(ops_store_describe(s), "s3://bkt/backups/rag/ (127.0.0.1:1)");
		CHECK(ops_store_features(s) & OPS_STORE_F_MULTIPART);
		CHECK(!(ops_store_features(s) & OPS_STORE_F_LOCAL));
		CHECK_INT(ops_store_list(s, "", &e, &n, &err), OPS_EUNAVAIL);
		CHECK_CONTAINS(err.message, "S3 endpoint http://127.0.0.1:1 unreachable");
		CHECK(strstr(err.message, "hunter2secret") == NULL);
		ops_store_free(s);
		s = NULL;
	}
	ops_config_free(cfg);

	cfg = s3_config(NULL, NULL);
	CHECK_INT(ops_store_open_s3(cfg, &s, &err), OPS_OK);
	if (s)
		CHECK_STR(ops_store_describe(s), "s3://bkt/");
	ops_store_free(s);
	s = NULL;
	ops_config_free(cfg);

	cfg = s3_config("http://127.0.0.1:1", "a/../other-bucket");
	CHECK_INT(ops_store_open_s3(cfg, &s, &err), OPS_ECONFIG);
	CHECK_CONTAINS(err.message, "'..'");
	ops_config_free(cfg);
	cfg = s3_config("ftp://127.0.0.1:1", NULL);
	CHECK_INT(ops_store_open_s3(cfg, &s, &err), OPS_ECONFIG);
	CHECK_CONTAINS(err.message, "not an http:// or https:// URL");
	ops_config_free(cfg);
	cfg = s3_config("https://me:pa55word@s3.example.com", NULL);
	CHECK_INT(ops_store_open_s3(cfg, &s, &err), OPS_ECONFIG);
	CHECK(strstr(err.message, "pa55word") == NULL);
	ops_config_free(cfg);

	/* No credentials in the environment: the file's profile, never echoed. */
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	setenv("HOME", dir, 1);
	cfg = s3_config("http://127.0.0.1:1", NULL);
	CHECK_INT(ops_store_open_s3(cfg, &s, &err), OPS_ECONFIG);
	CHECK_CONTAINS(err.message, "no S3 credentials");
	CHECK_CONTAINS(err.detail, "/.aws/credentials");
	write_file(creds, "# test\n[ci]\naws_access_key_id = AKIDFILE\n"
			  "aws_secret_access_key=hunter2secret\n");
	CHECK_INT(ops_config_set(cfg, "s3.credentials_file", creds, "test", &err), OPS_OK);
	CHECK_INT(ops_store_open_s3(cfg, &s, &err), OPS_ECONFIG);
	CHECK_CONTAINS(err.detail, "profile 'default'");
	CHECK(strstr(err.message, "hunter2") == NULL && strstr(err.detail, "hunter2") == NULL &&
	      strstr(err.hint, "hunter2") == NULL);
	setenv("AWS_PROFILE", "ci", 1);
	CHECK_INT(ops_store_open_s3(cfg, &s, &err), OPS_OK);
	ops_store_free(s);
	s = NULL;
	ops_config_free(cfg);

	/* Versioning is an S3 question. */
	{
		char *root = ops_path_join(dir, "local");

		CHECK_INT(ops_store_open_local(root, &s, &err), OPS_OK);
		CHECK_INT(ops_store_s3_versioning(s, &enabled, &err), OPS_EUSAGE);
		CHECK_INT(enabled, 0);
		ops_store_free(s);
		free(root);
	}

	env_restore("AWS_ACCESS_KEY_ID", id);
	env_restore("AWS_SECRET_ACCESS_KEY", secret);
	env_restore("AWS_SESSION_TOKEN", token);
	env_restore("HOME", home);
	env_restore("AWS_PROFILE", profile);
	unit_rmrf(dir);
	free(dir);
	free(creds);
}

/* Live S3 only: the calls the conformance suite does not make. */
TEST(s3_versioning_and_description)
{
	int enabled = 1;
	ops_error err;

	CHECK_CONTAINS(ops_store_describe(store), "s3://");
	CHECK(ops_store_features(store) & OPS_STORE_F_MULTIPART);
	/* s3rver cannot enable versioning: the answer is a well-formed "no". */
	CHECK_INT(ops_store_s3_versioning(store, &enabled, &err), OPS_OK);
	CHECK_INT(enabled, 0);
}

/* Live S3 only: the credentials file's profiles (s3rver checks the key id). */
TEST(s3_credentials_come_from_the_chosen_profile)
{
	const char *endpoint = getenv("OPSCTL_TEST_S3_ENDPOINT"), *bucket = getenv("OPSCTL_TEST_S3_BUCKET");
	char *id = env_save("AWS_ACCESS_KEY_ID"), *secret = env_save("AWS_SECRET_ACCESS_KEY");
	char *profile = env_save("AWS_PROFILE");
	char *dir = unit_tmpdir(), *creds = ops_path_join(dir, "credentials");
	ops_config *cfg = ops_config_new();
	ops_store *s = NULL;
	ops_store_entry *e = NULL;
	size_t n = 0;
	ops_error err;

	write_file(creds, "[default]\naws_access_key_id = AKIAWRONG\naws_secret_access_key = nope\n"
			  "[profile ci]\naws_access_key_id = S3RVER\naws_secret_access_key = S3RVER\n");
	CHECK_INT(ops_config_set(cfg, "s3.endpoint", endpoint, "test", &err), OPS_OK);
	CHECK_INT(ops_config_set(cfg, "s3.bucket", bucket ? bucket : "opsctl-test", "test", &err), OPS_OK);
	CHECK_INT(ops_config_set(cfg, "s3.credentials_file", creds, "test", &err), OPS_OK);
	/* Retries as in the suite, which t300 also runs through a failing proxy. */
	CHECK_INT(ops_config_set(cfg, "s3.retries", "2", "test", &err), OPS_OK);
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	unsetenv("AWS_PROFILE");
	CHECK_INT(ops_store_open_s3(cfg, &s, &err), OPS_OK);
	if (s) {
		CHECK_INT(ops_store_list(s, "", &e, &n, &err), OPS_EPERM);
		CHECK_CONTAINS(err.message, "access denied");
		ops_store_free(s);
		s = NULL;
	}
	setenv("AWS_PROFILE", "ci", 1);
	CHECK_INT(ops_store_open_s3(cfg, &s, &err), OPS_OK);
	if (s) {
		CHECK_INT(ops_store_list(s, "", &e, &n, &err), OPS_OK);
		ops_store_entries_free(e, n);
		ops_store_free(s);
	}
	env_restore("AWS_ACCESS_KEY_ID", id);
	env_restore("AWS_SECRET_ACCESS_KEY", secret);
	env_restore("AWS_PROFILE", profile);
	ops_config_free(cfg);
	unit_rmrf(dir);
	free(dir);
	free(creds);
}

static void conformance(void)
{
	RUN(keys_that_could_leave_the_store_are_refused);
	RUN(put_then_get_round_trips);
	RUN(an_unfinished_write_is_invisible);
	RUN(list_is_sorted_and_filtered_by_prefix);
	RUN(stat_and_remove);
	RUN(large_objects_round_trip);
	RUN(an_aborted_large_write_is_invisible);
	RUN(an_empty_object_round_trips);
	RUN(an_exact_multiple_of_the_part_size_round_trips);
}

/*
 * The same suite against S3 when the integration test t300 points it at
 * s3rver (OPSCTL_TEST_S3_ENDPOINT); otherwise only the local driver runs.
 */
static void conformance_s3(const char *endpoint)
{
	ops_config *cfg = ops_config_new();
	const char *bucket = getenv("OPSCTL_TEST_S3_BUCKET");
	char prefix[64];
	ops_error err;

	/* Its own prefix per run, with bytes that must be percent-encoded. */
	snprintf(prefix, sizeof prefix, "conformance/run %ld+x", (long)getpid());
	if (ops_config_set(cfg, "s3.endpoint", endpoint, "test", &err) != OPS_OK ||
	    ops_config_set(cfg, "s3.bucket", bucket ? bucket : "opsctl-test", "test", &err) != OPS_OK ||
	    ops_config_set(cfg, "s3.prefix", prefix, "test", &err) != OPS_OK ||
	    ops_config_set(cfg, "s3.part_size", "5242880", "test", &err) != OPS_OK ||
	    ops_config_set(cfg, "s3.retries", "2", "test", &err) != OPS_OK ||
	    ops_store_open_s3(cfg, &store, &err) != OPS_OK) {
		fprintf(stderr, "cannot open the S3 store: %s\n", err.message);
		unit_failed++;
		ops_config_free(cfg);
		return;
	}
	printf("# S3 driver at %s: %s\n", endpoint, ops_store_describe(store));
	conformance();
	RUN(s3_versioning_and_description);
	ops_store_free(store);
	RUN(s3_credentials_come_from_the_chosen_profile);
	ops_config_free(cfg);
}

int main(void)
{
	char *dir = unit_tmpdir(), *root = ops_path_join(dir, "store");
	ops_error err;

	if (ops_store_open_local(root, &store, &err) != OPS_OK) {
		fprintf(stderr, "cannot open the local store: %s\n", err.message);
		return 1;
	}
	conformance();
	ops_store_free(store);
	RUN(local_does_not_follow_planted_links);
	RUN(s3_open_checks_configuration_without_a_request);
	if (getenv("OPSCTL_TEST_S3_ENDPOINT"))
		conformance_s3(getenv("OPSCTL_TEST_S3_ENDPOINT"));
	unit_rmrf(dir);
	free(dir);
	free(root);
	return unit_done();
}
