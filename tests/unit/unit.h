/*
 * A tiny unit-test harness: one executable per library module.  Each TEST()
 * runs in order; a failed CHECK prints file:line and the expression and marks
 * the test failed, then the test goes on (so one run shows every failure).
 * main() prints "ok NAME" / "not ok NAME" per test (TAP-like) and a last line
 * "unit: N passed, N failed" that scripts/test adds up.
 *
 * Usage:
 *   #include "unit.h"
 *   TEST(parses_ranges) { CHECK(x == 1); CHECK_STR(a, "b"); }
 *   int main(void) { RUN(parses_ranges); return unit_done(); }
 */
#ifndef OPS_UNIT_H
#define OPS_UNIT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int unit_passed, unit_failed, unit_current_failed;

#define TEST(name) static void test_##name(void)

#define CHECK(expr)                                                         \
	do {                                                                \
		if (!(expr)) {                                              \
			fprintf(stderr, "%s:%d: check failed: %s\n",        \
				__FILE__, __LINE__, #expr);                 \
			unit_current_failed = 1;                            \
		}                                                           \
	} while (0)

#define CHECK_INT(a, b)                                                     \
	do {                                                                \
		long long unit_a_ = (long long)(a), unit_b_ = (long long)(b); \
		if (unit_a_ != unit_b_) {                                   \
			fprintf(stderr, "%s:%d: %s == %lld, expected %lld\n", \
				__FILE__, __LINE__, #a, unit_a_, unit_b_);  \
			unit_current_failed = 1;                            \
		}                                                           \
	} while (0)

#define CHECK_STR(a, b)                                                     \
	do {                                                                \
		const char *unit_a_ = (a), *unit_b_ = (b);                  \
		if (!unit_a_ || !unit_b_ || strcmp(unit_a_, unit_b_) != 0) { \
			fprintf(stderr, "%s:%d: %s == \"%s\", expected \"%s\"\n", \
				__FILE__, __LINE__, #a,                     \
				unit_a_ ? unit_a_ : "(null)",               \
				unit_b_ ? unit_b_ : "(null)");              \
			unit_current_failed = 1;                            \
		}                                                           \
	} while (0)

/* Substring check, for error messages. */
#define CHECK_CONTAINS(hay, needle)                                         \
	do {                                                                \
		const char *unit_h_ = (hay), *unit_n_ = (needle);           \
		if (!unit_h_ || !strstr(unit_h_, unit_n_)) {                \
			fprintf(stderr, "%s:%d: %s == \"%s\", expected to contain \"%s\"\n", \
				__FILE__, __LINE__, #hay,                   \
				unit_h_ ? unit_h_ : "(null)", unit_n_);     \
			unit_current_failed = 1;                            \
		}                                                           \
	} while (0)

#define RUN(name)                                                           \
	do {                                                                \
		unit_current_failed = 0;                                    \
		test_##name();                                              \
		if (unit_current_failed) {                                  \
			unit_failed++;                                      \
			printf("not ok %s\n", #name);                       \
		} else {                                                    \
			unit_passed++;                                      \
			printf("ok %s\n", #name);                           \
		}                                                           \
	} while (0)

static inline int unit_done(void)
{
	printf("unit: %d passed, %d failed\n", unit_passed, unit_failed);
	return unit_failed ? 1 : 0;
}

/* A fresh temporary directory for a test; the caller removes it with unit_rmrf. */
static inline char *unit_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	static char buf[4096];
	snprintf(buf, sizeof buf, "%s/opsunit.XXXXXX", base && *base ? base : "/tmp");
	return mkdtemp(buf) ? strdup(buf) : NULL;
}

static inline void unit_rmrf(const char *path)
{
	char cmd[4200];
	if (!path || !*path || strcmp(path, "/") == 0)
		return;
	snprintf(cmd, sizeof cmd, "rm -rf -- '%s'", path);
	if (system(cmd) != 0)
		fprintf(stderr, "warning: could not remove %s\n", path);
}

#endif
