/*
 * Unit tests for lib/deps/deps_version.c (PEP 440 and semver 2.0.0
 * ordering, pre-releases, kinds of change, choosing an update) and the
 * requirements line rewriter of lib/deps/deps_python.c.
 */
#include "unit.h"
#include "deps/deps_internal.h"

/* Every version in the list is strictly below the next. */
static int ascending(int (*cmp)(const char *, const char *), const char *const *v)
{
	int ok = 1;
	size_t i, j;

	for (i = 0; v[i]; i++)
		for (j = 0; v[j]; j++) {
			int want = i < j ? -1 : i > j ? 1 : 0, got = cmp(v[i], v[j]);

			got = got < 0 ? -1 : got > 0;
			if (got != want) {
				fprintf(stderr, "  cmp(%s, %s) = %d, expected %d\n", v[i], v[j], got, want);
				ok = 0;
			}
		}
	return ok;
}

TEST(pep440_order)
{
	/* PEP 440's own example of ordering, plus epochs and local versions */
	static const char *const v[] = {
		"1.0.dev456", "1.0a1", "1.0a2.dev456", "1.0a12.dev456", "1.0a12",
		"1.0b1.dev456", "1.0b2", "1.0b2.post345.dev456", "1.0b2.post345",
		"1.0rc1.dev456", "1.0rc1", "1.0", "1.0+abc.5", "1.0+abc.7", "1.0+5",
		"1.0.post456.dev34", "1.0.post456", "1.0.15", "1.1.dev1", "1.1",
		"2.0", "10.0", "1!0.5", "1!1.0", NULL};

	CHECK(ascending(deps_pep440_cmp, v));
}

TEST(pep440_normalisation)
{
	CHECK_INT(deps_pep440_cmp("1.0", "1.0.0"), 0);
	CHECK_INT(deps_pep440_cmp("1.0alpha1", "1.0a1"), 0);
	CHECK_INT(deps_pep440_cmp("1.0-beta.2", "1.0b2"), 0);
	CHECK_INT(deps_pep440_cmp("1.0c1", "1.0rc1"), 0);
	CHECK_INT(deps_pep440_cmp("1.0pre1", "1.0rc1"), 0);
	CHECK_INT(deps_pep440_cmp("1.0preview1", "1.0rc1"), 0);
	CHECK_INT(deps_pep440_cmp("1.0a", "1.0a0"), 0);
	CHECK_INT(deps_pep440_cmp("1.0-1", "1.0.post1"), 0);
	CHECK_INT(deps_pep440_cmp("1.0.rev2", "1.0.post2"), 0);
	CHECK_INT(deps_pep440_cmp("1.0.r3", "1.0.post3"), 0);
	CHECK_INT(deps_pep440_cmp("v1.2", "1.2"), 0);
	CHECK_INT(deps_pep440_cmp("1.0DEV", "1.0.dev0"), 0);
	CHECK_INT(deps_pep440_cmp("1.0+Ubuntu-1", "1.0+ubuntu.1"), 0);
	CHECK_INT(deps_pep440_cmp(" 1.0 ", "1.0"), 0);
}

TEST(pep440_invalid)
{
	CHECK(!deps_pep440_valid("1.2.x"));
	CHECK(!deps_pep440_valid("latest"));
	CHECK(!deps_pep440_valid(""));
	CHECK(!deps_pep440_valid("1.0+"));
	CHECK(!deps_pep440_valid("1..0"));
	CHECK(!deps_pep440_valid("1.0 beta"));
	CHECK(deps_pep440_valid("2024.1.15"));
	CHECK(deps_pep440_valid("0!0.0.0"));
	/* an invalid version sorts below every valid one */
	CHECK(deps_pep440_cmp("junk", "0.0.1") < 0);
}

TEST(pep440_prerelease_and_kind)
{
	CHECK(deps_pep440_prerelease("1.0rc1"));
	CHECK(deps_pep440_prerelease("1.0.dev3"));
	CHECK(deps_pep440_prerelease("1.0.post1.dev1"));
	CHECK(!deps_pep440_prerelease("1.0.post1"));
	CHECK(!deps_pep440_prerelease("1.0+local"));
	CHECK_INT(deps_pep440_kind("2.31.0", "2.31.1"), DEPS_PATCH);
	CHECK_INT(deps_pep440_kind("2.31.0", "2.32.0"), DEPS_MINOR);
	CHECK_INT(deps_pep440_kind("2.31.0", "3.0"), DEPS_MAJOR);
	CHECK_INT(deps_pep440_kind("0.4.1", "0.5.0"), DEPS_MAJOR);	/* 0.y: breaking */
	CHECK_INT(deps_pep440_kind("0.4.1", "0.4.3"), DEPS_PATCH);
	CHECK_INT(deps_pep440_kind("1.0", "1!1.0"), DEPS_MAJOR);
	CHECK_INT(deps_pep440_kind("1.0", "1.0.0"), DEPS_NONE);
	CHECK_INT(deps_pep440_kind("1", "1.1"), DEPS_MINOR);
}

TEST(semver_order)
{
	/* semver 2.0.0 item 11's example, and numeric identifiers */
	static const char *const v[] = {
		"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta",
		"1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1",
		"1.2.0", "1.10.0", "2.0.0-0", "2.0.0", "10.0.0", NULL};

	CHECK(ascending(deps_semver_cmp, v));
	CHECK_INT(deps_semver_cmp("1.0.0+build.1", "1.0.0+build.2"), 0);	/* build ignored */
	CHECK_INT(deps_semver_cmp("v1.2.3", "=1.2.3"), 0);
}

TEST(semver_invalid)
{
	CHECK(!deps_semver_valid("1.2"));
	CHECK(!deps_semver_valid("01.2.3"));
	CHECK(!deps_semver_valid("1.2.3-"));
	CHECK(!deps_semver_valid("1.2.3.4"));
	CHECK(!deps_semver_valid("^1.2.3"));
	CHECK(!deps_semver_valid("latest"));
	CHECK(deps_semver_valid("0.0.0"));
	CHECK(deps_semver_valid("1.2.3-x-y.7+sha.abc"));
	CHECK(deps_semver_prerelease("1.0.0-rc.1"));
	CHECK(!deps_semver_prerelease("1.0.0+rc.1"));
	CHECK_INT(deps_semver_kind("1.2.3", "1.2.4"), DEPS_PATCH);
	CHECK_INT(deps_semver_kind("1.2.3", "1.3.0"), DEPS_MINOR);
	CHECK_INT(deps_semver_kind("1.2.3", "2.0.0"), DEPS_MAJOR);
	CHECK_INT(deps_semver_kind("0.2.3", "0.3.0"), DEPS_MAJOR);
	CHECK_INT(deps_semver_kind("0.0.3", "0.0.4"), DEPS_PATCH);
}

TEST(choose)
{
	char *py[] = {"1.0.0", "1.0.1", "1.1.0", "1.2.0rc1", "2.0.0", "2.1.0b1", "0.9", "bogus", NULL};
	char *js[] = {"1.0.0", "1.0.1", "1.1.0", "1.2.0-rc.1", "2.0.0", "3.0.0-beta.1", NULL};
	char *zero[] = {"0.4.1", "0.4.3", "0.5.0", NULL};
	const char *a, *l;

	deps_choose(&deps_scheme_pep440, "1.0.0", py, OPS_DEPS_T_MINOR, &a, &l);
	CHECK_STR(a, "1.1.0");
	CHECK_STR(l, "2.0.0");
	deps_choose(&deps_scheme_pep440, "1.0.0", py, OPS_DEPS_T_MAJOR, &a, &l);
	CHECK_STR(a, "2.0.0");
	deps_choose(&deps_scheme_pep440, "1.0.0", py, OPS_DEPS_T_ALL, &a, &l);
	CHECK_STR(a, "2.1.0b1");
	CHECK_STR(l, "2.1.0b1");
	/* a pre-release pin may move to a newer pre-release */
	deps_choose(&deps_scheme_pep440, "1.2.0rc0", py, OPS_DEPS_T_MINOR, &a, &l);
	CHECK_STR(a, "1.2.0rc1");
	deps_choose(&deps_scheme_semver, "1.0.0", js, OPS_DEPS_T_MINOR, &a, &l);
	CHECK_STR(a, "1.1.0");
	CHECK_STR(l, "2.0.0");
	deps_choose(&deps_scheme_semver, "2.0.0", js, OPS_DEPS_T_MAJOR, &a, &l);
	CHECK(a == NULL);
	CHECK(l == NULL);
	deps_choose(&deps_scheme_semver, "0.4.1", zero, OPS_DEPS_T_MINOR, &a, &l);
	CHECK_STR(a, "0.4.3");
	CHECK_STR(l, "0.5.0");
}

TEST(pep503)
{
	char out[64];

	deps_pep503_name("Friendly-Bard", out, sizeof out);
	CHECK_STR(out, "friendly-bard");
	deps_pep503_name("FRIENDLY._-bard", out, sizeof out);
	CHECK_STR(out, "friendly-bard");
	deps_pep503_name("zope.interface", out, sizeof out);
	CHECK_STR(out, "zope-interface");
}

int main(void)
{
	RUN(pep440_order);
	RUN(pep440_normalisation);
	RUN(pep440_invalid);
	RUN(pep440_prerelease_and_kind);
	RUN(semver_order);
	RUN(semver_invalid);
	RUN(choose);
	RUN(pep503);
	return unit_done();
}
