/*
 * Unit tests for lib/deps/deps_python.c: the requirements line rewriter
 * (the version replaced, extras, markers and comments kept, --hash options
 * replaced in their own layout and spelling, lines it must refuse).
 */
#include "unit.h"
#include "deps/deps_internal.h"

TEST(rewrite_line)
{
	char *h1[] = {"aa", NULL}, *h2[] = {"cc", "dd", NULL}, *out;

	out = deps_req_rewrite_line("requests==2.31.0", "2.32.1", NULL);
	CHECK_STR(out, "requests==2.32.1");
	free(out);
	out = deps_req_rewrite_line("Requests[socks, security] == 2.31.0 ; python_version > \"3.8\"  # keep",
				    "2.32.1", NULL);
	CHECK_STR(out, "Requests[socks, security] == 2.32.1 ; python_version > \"3.8\"  # keep");
	free(out);
	/* pip-compile's layout: one hash a line, CRLF kept */
	out = deps_req_rewrite_line("a==1.0 \\\r\n    --hash=sha256:11 \\\r\n    --hash=sha256:22",
				    "1.1", h2);
	CHECK_STR(out, "a==1.1 \\\r\n    --hash=sha256:cc \\\r\n    --hash=sha256:dd");
	free(out);
	/* one hash before, two after: the gap before the first is the layout */
	out = deps_req_rewrite_line("a==1.0 \\\n    --hash=sha256:11", "1.1", h2);
	CHECK_STR(out, "a==1.1 \\\n    --hash=sha256:cc \\\n    --hash=sha256:dd");
	free(out);
	/* inline, the "--hash sha256:" spelling kept */
	out = deps_req_rewrite_line("a==1.0 --hash sha256:11 --hash sha256:22", "1.1", h1);
	CHECK_STR(out, "a==1.1 --hash sha256:aa");
	free(out);
	/* hashes and none given; not a pin; two clauses */
	CHECK(deps_req_rewrite_line("a==1.0 --hash=sha256:11", "1.1", NULL) == NULL);
	CHECK(deps_req_rewrite_line("a>=1.0", "1.1", NULL) == NULL);
	CHECK(deps_req_rewrite_line("a==1.0,!=1.0.1", "1.1", NULL) == NULL);
	CHECK(deps_req_rewrite_line("a===1.0", "1.1", NULL) == NULL);
}

int main(void)
{
	RUN(rewrite_line);
	return unit_done();
}
