/*
 * Ordinary least squares of a series on time, for the report's capacity
 * projections and trend verdicts.  Pure arithmetic: no I/O, no allocation.
 * Times are unix seconds, so the fit is computed about the mean time (two
 * passes): squaring 1.8e9 would leave a double too few digits for a slope.
 * It does not smooth, weight or reject outliers; the confidence interval of
 * the slope is what keeps one noisy sample from being called a leak.
 */
#include <math.h>
#include <stddef.h>

#include "opsmaint/report.h"

/* Two-sided 95% quantiles of Student's t, df 1..30, then a few beyond. */
static const double t95_table[30] = {
	12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
	2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
	2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042
};

double ops_fit_t95(size_t df)
{
	/* Beyond 30, interpolated in 1/df between 30, 60, 120 and the normal's
	 * 1.96 (infinite df), which t approaches as 1/df. */
	static const struct { double df, t; } far[] = {
		{30, 2.042}, {60, 2.000}, {120, 1.980}, {INFINITY, 1.960}
	};
	double x;
	size_t i;

	if (df < 1)
		return NAN;
	if (df <= 30)
		return t95_table[df - 1];
	x = 1.0 / (double)df;
	for (i = 0; i + 1 < sizeof far / sizeof far[0]; i++) {
		double x0 = 1.0 / far[i].df, x1 = isinf(far[i + 1].df) ? 0 : 1.0 / far[i + 1].df;

		if (x <= x0 && x >= x1)
			return far[i + 1].t + (far[i].t - far[i + 1].t) * (x - x1) / (x0 - x1);
	}
	return 1.960;
}

int ops_fit_linear(const double *t, const double *v, size_t n, ops_fit *out)
{
	double tm = 0, vm = 0, sxx = 0, sxy = 0, syy = 0, sse, q;
	size_t i;

	out->n = n;
	out->slope = out->intercept = out->t_mean = out->v_mean = out->r2 = 0;
	out->slope_se = out->ci_lo = out->ci_hi = 0;
	if (n < 2)
		return -1;
	for (i = 0; i < n; i++) {
		tm += t[i];
		vm += v[i];
	}
	tm /= (double)n;
	vm /= (double)n;
	for (i = 0; i < n; i++) {
		double dt = t[i] - tm, dv = v[i] - vm;

		sxx += dt * dt;
		sxy += dt * dv;
		syy += dv * dv;
	}
	out->t_mean = tm;
	out->v_mean = vm;
	if (!(sxx > 0))
		return -1;
	out->slope = sxy / sxx;
	out->intercept = vm - out->slope * tm;
	out->r2 = syy > 0 ? (sxy * sxy) / (sxx * syy) : 0;
	if (out->r2 > 1)
		out->r2 = 1;
	if (n == 2) {
		/* A line through two points: no spread to tell an interval from. */
		out->slope_se = NAN;
		out->ci_lo = out->ci_hi = NAN;
		return 0;
	}
	sse = syy - out->slope * sxy;
	if (sse < 0)
		sse = 0;
	out->slope_se = sqrt(sse / (double)(n - 2) / sxx);
	q = ops_fit_t95(n - 2) * out->slope_se;
	out->ci_lo = out->slope - q;
	out->ci_hi = out->slope + q;
	return 0;
}

double ops_fit_at(const ops_fit *f, double t)
{
	/* About the centre, for the same reason as the fit itself. */
	return f->v_mean + f->slope * (t - f->t_mean);
}

int ops_fit_reach(const ops_fit *f, double limit, double *t)
{
	if (!(f->slope > 0) || f->n < 2)
		return -1;
	*t = f->t_mean + (limit - f->v_mean) / f->slope;
	return 0;
}
