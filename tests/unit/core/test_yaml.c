/*
 * yaml: the one YAML reader.  Documents from memory and from real files in
 * a temporary directory: errors name file:line:column (or the byte of a bad
 * encoding), a file over the cap is refused before it is parsed, anchors,
 * aliases and merge keys resolve (a merge that points back at its own
 * mapping ends), missing keys and non-scalars where a scalar is asked give
 * NULL, and the null and true tests read YAML 1.1's plain scalars.
 */
#include <unistd.h>

#include "opsmaint/fileio.h"
#include "opsmaint/yaml.h"
#include "unit.h"

static char tmpdir[] = "/tmp/test_yaml.XXXXXX";

static ops_yaml *mem(const char *text)
{
	ops_yaml *y = NULL;
	ops_error err = {0};

	if (ops_yaml_load_mem("t.yaml", text, strlen(text), &y, &err) != OPS_OK)
		fprintf(stderr, "load: %s\n", err.message);
	return y;
}

static ops_code bad(const char *text, ops_error *err)
{
	ops_yaml *y = (ops_yaml *)1;
	ops_code rc = ops_yaml_load_mem("t.yaml", text, strlen(text), &y, err);

	if (y)
		fprintf(stderr, "a failed load left *out set\n");
	return y ? OPS_OK : rc;
}

/* Files are written in the temporary directory, the test's cwd. */
static void put(const char *file, const char *text, size_t len)
{
	ops_error err = {0};

	if (ops_write_file_atomic(file, text, len, 0600, &err) != OPS_OK)
		fprintf(stderr, "%s\n", err.message);
}

TEST(compose_file_read)
{
	const char *text = "services:\n"
			   "  api:\n"
			   "    image: app:1.0\n"
			   "    privileged: yes\n"
			   "    ports:\n"
			   "      - \"5432:5432\"\n"
			   "      - target: 6379\n"
			   "  db:\n"
			   "    image: postgres\n";
	ops_yaml *y = mem(text);
	const ops_yaml_node *root, *svcs, *api, *ports, *k, *v;

	CHECK(y != NULL);
	if (!y)
		return;
	root = ops_yaml_root(y);
	CHECK_INT(ops_yaml_type_of(root), OPS_YAML_MAPPING);
	svcs = ops_yaml_get(y, root, "services");
	CHECK_INT(ops_yaml_type_of(svcs), OPS_YAML_MAPPING);
	CHECK_INT(ops_yaml_len(svcs), 2);
	CHECK_INT(ops_yaml_pair(y, svcs, 1, &k, &v), 0);
	CHECK_STR(ops_yaml_scalar(k), "db");
	CHECK_INT(ops_yaml_line(k), 8);
	CHECK_STR(ops_yaml_scalar(ops_yaml_get(y, v, "image")), "postgres");
	CHECK_INT(ops_yaml_pair(y, svcs, 2, &k, &v), -1);
	CHECK(k == NULL && v == NULL);
	api = ops_yaml_get(y, svcs, "api");
	CHECK_STR(ops_yaml_scalar(ops_yaml_get(y, api, "image")), "app:1.0");
	CHECK_INT(ops_yaml_line(ops_yaml_get(y, api, "image")), 3);
	CHECK(ops_yaml_true(ops_yaml_get(y, api, "privileged")));
	ports = ops_yaml_get(y, api, "ports");
	CHECK_INT(ops_yaml_type_of(ports), OPS_YAML_SEQUENCE);
	CHECK_INT(ops_yaml_len(ports), 2);
	CHECK_STR(ops_yaml_scalar(ops_yaml_item(y, ports, 0)), "5432:5432");
	CHECK_INT(ops_yaml_line(ops_yaml_item(y, ports, 1)), 7);
	CHECK_STR(ops_yaml_scalar(ops_yaml_get(y, ops_yaml_item(y, ports, 1), "target")), "6379");
	CHECK(ops_yaml_item(y, ports, 2) == NULL);
	CHECK(ops_yaml_item(y, api, 0) == NULL);	/* a mapping is not a sequence */
	ops_yaml_free(y);
}

TEST(bad_yaml_names_file_line_column)
{
	static const struct { const char *text, *want; } cases[] = {
		/* the flow sequence opened on line 3 never closes */
		{"services:\n  api:\n    image: [unclosed\n",
		 "t.yaml:4:1: not YAML: did not find expected ',' or ']' "
		 "(while parsing a flow sequence at line 3)"},
		{"a: \"x\n", "t.yaml:2:1: not YAML: found unexpected end of stream"},
		{"a: 1\n  b: 2\n", "t.yaml:2:4: not YAML: mapping values are not allowed"},
		{"a: *nosuch\n", "t.yaml:1:4: not YAML: found undefined alias"},
		/* a bad encoding has a byte offset, not a line */
		{"a: b\nc: \xff\xfe\n", "t.yaml: not YAML: invalid leading UTF-8 octet at byte 8"},
	};
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		ops_error err = {0};

		CHECK_INT(bad(cases[i].text, &err), OPS_EDATA);
		CHECK_CONTAINS(err.message, cases[i].want);
		CHECK(strchr(err.message, '\n') == NULL);
	}
}

TEST(anchors_aliases_and_merge_keys)
{
	const char *text = "x-base: &base\n"
			   "  image: base:1\n"
			   "  user: app\n"
			   "x-more: &more\n"
			   "  cpus: 2\n"
			   "  user: other\n"
			   "same: &s hello\n"
			   "services:\n"
			   "  a:\n"
			   "    <<: [*base, *more]\n"
			   "    user: own\n"
			   "    greeting: *s\n"
			   "  b:\n"
			   "    <<: *more\n"
			   "  loop: &loop\n"
			   "    <<: *loop\n"
			   "    name: loop\n";
	ops_yaml *y = mem(text);
	const ops_yaml_node *svcs, *a, *b, *loop, *base;

	CHECK(y != NULL);
	if (!y)
		return;
	svcs = ops_yaml_get(y, ops_yaml_root(y), "services");
	a = ops_yaml_get(y, svcs, "a");
	b = ops_yaml_get(y, svcs, "b");
	base = ops_yaml_get(y, ops_yaml_root(y), "x-base");
	/* own keys win; then the merged mappings, in order */
	CHECK_STR(ops_yaml_scalar(ops_yaml_get(y, a, "user")), "own");
	CHECK_STR(ops_yaml_scalar(ops_yaml_get(y, a, "image")), "base:1");
	CHECK_STR(ops_yaml_scalar(ops_yaml_get(y, a, "cpus")), "2");
	CHECK_STR(ops_yaml_scalar(ops_yaml_get(y, b, "user")), "other");
	/* an alias is its anchor's node, with the anchor's line */
	CHECK(ops_yaml_get(y, a, "image") == ops_yaml_get(y, base, "image"));
	CHECK_INT(ops_yaml_line(ops_yaml_get(y, a, "image")), 2);
	CHECK_STR(ops_yaml_scalar(ops_yaml_get(y, a, "greeting")), "hello");
	/* merge keys are followed by get, not listed as extra pairs */
	CHECK_INT(ops_yaml_len(a), 3);
	/* a mapping merged into itself: found, and a missing key ends */
	loop = ops_yaml_get(y, svcs, "loop");
	CHECK_STR(ops_yaml_scalar(ops_yaml_get(y, loop, "name")), "loop");
	CHECK(ops_yaml_get(y, loop, "missing") == NULL);
	ops_yaml_free(y);
}

TEST(nested_aliases_cost_their_text)
{
	/* "billion laughs": nine levels of ten aliases share nodes, nothing is copied */
	char text[2048];
	size_t n = 0;
	int lvl, i;
	ops_yaml *y;
	const ops_yaml_node *top;

	n += (size_t)snprintf(text + n, sizeof text - n, "l0: &l0 [lol]\n");
	for (lvl = 1; lvl < 10; lvl++) {
		n += (size_t)snprintf(text + n, sizeof text - n, "l%d: &l%d [", lvl, lvl);
		for (i = 0; i < 10; i++)
			n += (size_t)snprintf(text + n, sizeof text - n, "%s*l%d", i ? ", " : "", lvl - 1);
		n += (size_t)snprintf(text + n, sizeof text - n, "]\n");
	}
	y = mem(text);
	CHECK(y != NULL);
	if (!y)
		return;
	top = ops_yaml_get(y, ops_yaml_root(y), "l9");
	CHECK_INT(ops_yaml_len(top), 10);
	CHECK(ops_yaml_item(y, top, 0) == ops_yaml_get(y, ops_yaml_root(y), "l8"));
	ops_yaml_free(y);
}

TEST(missing_keys_and_non_scalars)
{
	ops_yaml *y = mem("a:\n  b: [1, 2]\n  c: {d: e}\n  s: text\n");
	const ops_yaml_node *a;

	CHECK(y != NULL);
	if (!y)
		return;
	a = ops_yaml_get(y, ops_yaml_root(y), "a");
	CHECK(ops_yaml_get(y, a, "nosuch") == NULL);
	CHECK(ops_yaml_get(y, NULL, "a") == NULL);
	CHECK(ops_yaml_get(y, ops_yaml_get(y, a, "s"), "a") == NULL);	/* a scalar has no keys */
	CHECK(ops_yaml_get(y, ops_yaml_get(y, a, "b"), "1") == NULL);	/* nor a sequence */
	CHECK(ops_yaml_scalar(ops_yaml_get(y, a, "b")) == NULL);
	CHECK(ops_yaml_scalar(ops_yaml_get(y, a, "c")) == NULL);
	CHECK(ops_yaml_scalar(NULL) == NULL);
	CHECK_STR(ops_yaml_scalar(ops_yaml_get(y, ops_yaml_get(y, a, "c"), "d")), "e");
	CHECK_INT(ops_yaml_type_of(NULL), OPS_YAML_NONE);
	CHECK_INT(ops_yaml_line(NULL), 0);
	CHECK_INT(ops_yaml_len(NULL), 0);
	CHECK_INT(ops_yaml_len(ops_yaml_get(y, a, "s")), 0);
	CHECK(!ops_yaml_true(ops_yaml_get(y, a, "b")));
	CHECK(!ops_yaml_null(ops_yaml_get(y, a, "c")));
	ops_yaml_free(y);
}

TEST(null_and_true)
{
	ops_yaml *y = mem("n1: ~\nn2: null\nn3: NULL\nn4:\nq1: 'null'\nq2: \"~\"\ns: nil\n"
			  "t1: true\nt2: Yes\nt3: ON\nf1: false\nf2: 1\nt4: 'yes'\n");
	const ops_yaml_node *r;

	CHECK(y != NULL);
	if (!y)
		return;
	r = ops_yaml_root(y);
	CHECK(ops_yaml_null(ops_yaml_get(y, r, "n1")));
	CHECK(ops_yaml_null(ops_yaml_get(y, r, "n2")));
	CHECK(ops_yaml_null(ops_yaml_get(y, r, "n3")));
	CHECK(ops_yaml_null(ops_yaml_get(y, r, "n4")));
	CHECK(!ops_yaml_null(ops_yaml_get(y, r, "q1")));	/* quoted: the text "null" */
	CHECK(!ops_yaml_null(ops_yaml_get(y, r, "q2")));
	CHECK(!ops_yaml_null(ops_yaml_get(y, r, "s")));
	CHECK(!ops_yaml_null(ops_yaml_get(y, r, "missing")));
	CHECK(ops_yaml_true(ops_yaml_get(y, r, "t1")));
	CHECK(ops_yaml_true(ops_yaml_get(y, r, "t2")));
	CHECK(ops_yaml_true(ops_yaml_get(y, r, "t3")));
	CHECK(ops_yaml_true(ops_yaml_get(y, r, "t4")));
	CHECK(!ops_yaml_true(ops_yaml_get(y, r, "f1")));
	CHECK(!ops_yaml_true(ops_yaml_get(y, r, "f2")));
	CHECK(!ops_yaml_true(NULL));
	ops_yaml_free(y);
}

TEST(empty_document_has_no_root)
{
	ops_yaml *y = mem("");

	CHECK(y != NULL);
	CHECK(y && ops_yaml_root(y) == NULL);
	ops_yaml_free(y);
	y = mem("# only a comment\n");
	CHECK(y && ops_yaml_root(y) == NULL);
	ops_yaml_free(y);
	/* only the first document of a stream */
	y = mem("---\na: 1\n---\nb: 2\n");
	CHECK(y && ops_yaml_get(y, ops_yaml_root(y), "a") && !ops_yaml_get(y, ops_yaml_root(y), "b"));
	ops_yaml_free(y);
	ops_yaml_free(NULL);
}

TEST(files_and_the_size_cap)
{
	ops_yaml *y = NULL;
	ops_error err = {0};
	char *big;
	size_t i, n = OPS_YAML_FILE_MAX + 64;

	put("ok.yaml", "datasources:\n  - name: P\n", 25);
	CHECK_INT(ops_yaml_load_file("ok.yaml", 0, &y, &err), OPS_OK);
	CHECK_STR(ops_yaml_scalar(ops_yaml_get(y, ops_yaml_item(y, ops_yaml_get(y, ops_yaml_root(y),
										    "datasources"), 0), "name")), "P");
	ops_yaml_free(y);

	/* a caller's own cap */
	y = (ops_yaml *)1;
	CHECK_INT(ops_yaml_load_file("ok.yaml", 10, &y, &err), OPS_EDATA);
	CHECK(y == NULL);
	CHECK_CONTAINS(err.message, "ok.yaml' is larger than 10 bytes");

	/* the default cap: a huge, valid file is refused, not parsed */
	big = malloc(n);
	CHECK(big != NULL);
	if (!big)
		return;
	for (i = 0; i + 8 <= n; i += 8)
		memcpy(big + i, "- item\n ", 8);
	memset(big + i, ' ', n - i);
	put("big.yaml", big, n);
	free(big);
	ops_error_clear(&err);
	CHECK_INT(ops_yaml_load_file("big.yaml", 0, &y, &err), OPS_EDATA);
	CHECK(y == NULL);
	CHECK_CONTAINS(err.message, "is larger than 4194304 bytes");

	/* a bad file is named by its path */
	put("bad.yaml", "a: [\n", 5);
	ops_error_clear(&err);
	CHECK_INT(ops_yaml_load_file("bad.yaml", 0, &y, &err), OPS_EDATA);
	CHECK_CONTAINS(err.message, "bad.yaml:2:1: not YAML");

	/* a missing one keeps the read error */
	ops_error_clear(&err);
	CHECK(ops_yaml_load_file("missing.yaml", 0, &y, &err) != OPS_OK);
	CHECK_CONTAINS(err.message, "missing.yaml");
	CHECK(y == NULL);
}

int main(void)
{
	if (!mkdtemp(tmpdir) || chdir(tmpdir) != 0) {
		perror(tmpdir);
		return 1;
	}
	RUN(compose_file_read);
	RUN(bad_yaml_names_file_line_column);
	RUN(anchors_aliases_and_merge_keys);
	RUN(nested_aliases_cost_their_text);
	RUN(missing_keys_and_non_scalars);
	RUN(null_and_true);
	RUN(empty_document_has_no_root);
	RUN(files_and_the_size_cap);
	unlink("ok.yaml");
	unlink("big.yaml");
	unlink("bad.yaml");
	if (chdir("/") == 0)
		rmdir(tmpdir);
	return unit_done();
}
