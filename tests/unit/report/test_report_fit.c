/*
 * report_fit: least squares of a series on time, the slope's 95% interval
 * and the fill date, on series whose answers are known by construction.
 */
#include <math.h>

#include "opsmaint/report.h"
#include "unit.h"

#define NEAR(a, b, tol) (fabs((a) - (b)) <= (tol))
#define DAY 86400.0

/* v = 5 + 2t exactly: slope 2, r2 1, a zero-width interval. */
TEST(exact_line)
{
	double t[] = {0, 1, 2, 3, 4}, v[] = {5, 7, 9, 11, 13};
	ops_fit f;

	CHECK(ops_fit_linear(t, v, 5, &f) == 0);
	CHECK(NEAR(f.slope, 2, 1e-12));
	CHECK(NEAR(f.intercept, 5, 1e-12));
	CHECK(NEAR(f.r2, 1, 1e-12));
	CHECK(NEAR(f.slope_se, 0, 1e-12));
	CHECK(NEAR(f.ci_lo, 2, 1e-12) && NEAR(f.ci_hi, 2, 1e-12));
	CHECK(NEAR(ops_fit_at(&f, 10), 25, 1e-9));
}

/* The textbook example: x 1..5, y 2,4,5,4,5 -> slope 0.6, r2 0.6,
 * se 0.2828, t(3) = 3.182. */
TEST(known_interval)
{
	double t[] = {1, 2, 3, 4, 5}, v[] = {2, 4, 5, 4, 5};
	ops_fit f;

	CHECK(ops_fit_linear(t, v, 5, &f) == 0);
	CHECK(NEAR(f.slope, 0.6, 1e-12));
	CHECK(NEAR(f.intercept, 2.2, 1e-12));
	CHECK(NEAR(f.r2, 0.6, 1e-12));
	CHECK(NEAR(f.slope_se, sqrt(2.4 / 3 / 10), 1e-12));
	CHECK(NEAR(f.ci_lo, 0.6 - 3.182 * sqrt(0.08), 1e-9));
	CHECK(NEAR(f.ci_hi, 0.6 + 3.182 * sqrt(0.08), 1e-9));
	CHECK(f.ci_lo < 0);	/* five noisy points: not proven rising */
}

TEST(constant_series)
{
	double t[] = {100, 200, 300, 400}, v[] = {7, 7, 7, 7}, when;
	ops_fit f;

	CHECK(ops_fit_linear(t, v, 4, &f) == 0);
	CHECK(f.slope == 0);
	CHECK(f.r2 == 0);
	CHECK(f.ci_lo == 0 && f.ci_hi == 0);
	CHECK(ops_fit_reach(&f, 10, &when) == -1);
	CHECK(!isnan(f.r2) && !isnan(f.slope_se));
}

TEST(two_points_and_too_few)
{
	double t[] = {10, 20}, v[] = {1, 3}, when;
	ops_fit f;

	CHECK(ops_fit_linear(t, v, 1, &f) == -1);
	CHECK(ops_fit_linear(t, v, 0, &f) == -1);
	CHECK(ops_fit_linear(t, v, 2, &f) == 0);
	CHECK(NEAR(f.slope, 0.2, 1e-12));
	CHECK(NEAR(f.r2, 1, 1e-12));
	CHECK(isnan(f.ci_lo) && isnan(f.ci_hi));	/* no interval from two points */
	CHECK(ops_fit_reach(&f, 5, &when) == 0 && NEAR(when, 30, 1e-9));
}

TEST(same_time_twice)
{
	double t[] = {5, 5, 5}, v[] = {1, 2, 3};
	ops_fit f;

	CHECK(ops_fit_linear(t, v, 3, &f) == -1);
}

/* Unix times near 2026 with a slope of 1 byte a second: a fit on raw times
 * (sum of t squared ~ 1e20) would lose it; centred it is exact. */
TEST(huge_timestamps)
{
	double t[100], v[100];
	ops_fit f;
	size_t i;

	for (i = 0; i < 100; i++) {
		t[i] = 1.8e9 + (double)i * 60;
		v[i] = 4e9 + (double)i * 60;
	}
	CHECK(ops_fit_linear(t, v, 100, &f) == 0);
	CHECK(NEAR(f.slope, 1, 1e-9));
	CHECK(NEAR(f.r2, 1, 1e-9));
	CHECK(NEAR(ops_fit_at(&f, 1.8e9), 4e9, 1e-3));
}

/* 1 GB a day toward 500 GB from 460 GB: full 40 days after the last day... */
TEST(fill_date)
{
	double t[30], v[30], when;
	double t0 = 1.79e9;
	ops_fit f;
	size_t i;

	for (i = 0; i < 30; i++) {
		t[i] = t0 + (double)i * DAY;
		v[i] = 431e9 + (double)i * 1e9;	/* 460e9 on day 29 */
	}
	CHECK(ops_fit_linear(t, v, 30, &f) == 0);
	CHECK(NEAR(f.slope * DAY, 1e9, 1));
	CHECK(ops_fit_reach(&f, 500e9, &when) == 0);
	CHECK(NEAR((when - t[29]) / DAY, 40, 1e-6));
	/* ...and a falling series never fills. */
	for (i = 0; i < 30; i++)
		v[i] = 500e9 - (double)i * 1e9;
	CHECK(ops_fit_linear(t, v, 30, &f) == 0);
	CHECK(ops_fit_reach(&f, 600e9, &when) == -1);
}

/* Noise around a flat line: the interval holds 0; a slow leak under the
 * same noise: it does not. */
TEST(noise_and_leak)
{
	double t[2000], flat[2000], leak[2000];
	unsigned int seed = 12345;
	ops_fit f;
	size_t i;

	for (i = 0; i < 2000; i++) {
		double noise;

		seed = seed * 1103515245u + 12345u;
		noise = ((double)((seed >> 8) % 20001) - 10000.0) * 1e3;	/* +-10 MB */
		t[i] = 1.8e9 + (double)i * 3600;
		flat[i] = 500e6 + noise;
		leak[i] = 500e6 + noise + (double)i * 3600 / DAY * 5e6;	/* 5 MB a day */
	}
	CHECK(ops_fit_linear(t, flat, 2000, &f) == 0);
	CHECK(f.ci_lo < 0 && f.ci_hi > 0);
	CHECK(ops_fit_linear(t, leak, 2000, &f) == 0);
	CHECK(f.ci_lo > 0);
	CHECK(NEAR(f.slope * DAY, 5e6, 0.5e6));
}

TEST(t_quantiles)
{
	CHECK(NEAR(ops_fit_t95(1), 12.706, 1e-9));
	CHECK(NEAR(ops_fit_t95(30), 2.042, 1e-9));
	CHECK(ops_fit_t95(31) < 2.042 && ops_fit_t95(31) > 2.0);
	CHECK(NEAR(ops_fit_t95(60), 2.000, 1e-9));
	CHECK(NEAR(ops_fit_t95(120), 1.980, 1e-9));
	CHECK(ops_fit_t95(100000) < 1.961 && ops_fit_t95(100000) >= 1.96);
	CHECK(isnan(ops_fit_t95(0)));
}

int main(void)
{
	RUN(exact_line);
	RUN(known_interval);
	RUN(constant_series);
	RUN(two_points_and_too_few);
	RUN(same_time_twice);
	RUN(huge_timestamps);
	RUN(fill_date);
	RUN(noise_and_leak);
	RUN(t_quantiles);
	return unit_done();
}
