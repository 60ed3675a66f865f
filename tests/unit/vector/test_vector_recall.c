/*
 * vector_recall.c's parts that need no FAISS and no database: the
 * reservoir sample's init/add/release (and that it picks what verify's own
 * loop used to pick, so verify's sample did not change), and the noisy
 * queries recall is measured with.  Recall itself is t410's and t440's.
 */
#include <math.h>
#include <string.h>

#include "opsmaint/log.h"
#include "vector/vector_internal.h"
#include "unit.h"

TEST(sample_init_add_release)
{
	struct vx_sample s = VX_SAMPLE_INIT;
	float v[2] = {1, 2};
	long long i;

	vx_sample_init(&s, 3, 1);
	for (i = 0; i < 10; i++) {
		v[0] = (float)i;
		CHECK_INT(vx_sample_add(&s, i, v, 2), 0);
	}
	CHECK_INT(s.n, 3);
	CHECK_INT(s.seen, 10);
	CHECK_INT(s.d, 2);
	for (i = 0; i < (long long)s.n; i++)	/* each vector stayed with its id */
		CHECK_INT((long long)s.x[i * 2], s.ids[i]);
	vx_sample_release(&s);
	CHECK(s.ids == NULL && s.x == NULL);
	CHECK_INT(s.n, 0);
	CHECK_INT(s.cap, 0);
	vx_sample_release(&s);	/* twice is safe */
	/* Added to after a release: counted, nothing kept, nothing leaked. */
	CHECK_INT(vx_sample_add(&s, 1, v, 2), 0);
	CHECK(s.ids == NULL);
	CHECK_INT(s.n, 0);
}

TEST(sample_of_ids_only_is_uniform)
{
	struct vx_sample s;
	double sum = 0;
	size_t i, j;
	int dup = 0;

	vx_sample_init(&s, 100, 5);
	for (i = 0; i < 10000; i++)
		CHECK_INT(vx_sample_add(&s, (long long)i, NULL, 0), 0);
	CHECK(s.x == NULL);
	CHECK_INT(s.n, 100);
	for (i = 0; i < s.n; i++) {
		sum += (double)s.ids[i];
		for (j = 0; j < i; j++)
			dup += s.ids[i] == s.ids[j];
	}
	CHECK_INT(dup, 0);
	/* The mean of 100 of 0..9999 drawn uniformly: 4999.5, sd about 289. */
	CHECK(sum / 100 > 4000 && sum / 100 < 6000);
	vx_sample_release(&s);
}

/* verify's id sample was an inline reservoir over the same generator; the
 * sample through vx_sample_add must be the very same ids. */
TEST(sample_matches_verify_inline_reservoir)
{
	unsigned long long rng = 42;
	long long pick[50];
	size_t want = 50, ns = 0, nsrc = 0, i;
	struct vx_sample s;

	vx_sample_init(&s, want, 42);
	for (i = 0; i < 5000; i++) {
		long long id = (long long)(i * 7 + 3);

		nsrc++;
		if (ns < want) {
			pick[ns++] = id;
		} else {
			unsigned long long r = vx_next_rand(&rng) % (unsigned long long)nsrc;

			if (r < want)
				pick[r] = id;
		}
		CHECK_INT(vx_sample_add(&s, id, NULL, 0), 0);
	}
	CHECK_INT(s.n, ns);
	CHECK(memcmp(pick, s.ids, sizeof pick) == 0);
	vx_sample_release(&s);
}

/* Recall queries are the sample moved, not the stored vectors (an IVF
 * index always finds those): each differs from its vector, stays nearer
 * to it than to the others, keeps its id, is the same on every run, and
 * lies on the unit sphere when the sample does. */
TEST(noisy_queries)
{
	struct vx_sample s = VX_SAMPLE_INIT, q = VX_SAMPLE_INIT, q2 = VX_SAMPLE_INIT;
	unsigned long long rng = 3;
	float v[16];
	ops_error err = {0};
	size_t i, j, k, nearest_self = 0;
	int unit, pass;

	for (pass = 0; pass < 2; pass++) {
		unit = pass == 1;
		vx_sample_init(&s, 50, 1);
		for (i = 0; i < 50; i++) {
			double norm = 0;

			for (j = 0; j < 16; j++) {
				v[j] = (float)(vx_next_rand(&rng) % 1000) / 1000.0f;
				norm += (double)v[j] * v[j];
			}
			for (j = 0; unit && j < 16; j++)
				v[j] = (float)(v[j] / sqrt(norm));
			CHECK_INT(vx_sample_add(&s, (long long)i + 100, v, 16), 0);
		}
		CHECK_INT(vx_noisy_queries(&s, &q, &err), OPS_OK);
		CHECK_INT(vx_noisy_queries(&s, &q2, &err), OPS_OK);
		CHECK_INT(q.n, 50);
		CHECK_INT(q.d, 16);
		CHECK(memcmp(q.x, q2.x, 50 * 16 * sizeof *q.x) == 0);
		nearest_self = 0;
		for (i = 0; i < q.n; i++) {
			double best = INFINITY, self = 0, norm = 0;
			size_t at = 0;

			CHECK_INT(q.ids[i], s.ids[i]);
			CHECK(memcmp(q.x + i * 16, s.x + i * 16, 16 * sizeof *q.x) != 0);
			for (k = 0; k < s.n; k++) {
				double dd = 0;

				for (j = 0; j < 16; j++) {
					double e = q.x[i * 16 + j] - s.x[k * 16 + j];

					dd += e * e;
				}
				if (k == i)
					self = dd;
				if (dd < best) {
					best = dd;
					at = k;
				}
			}
			CHECK(self > 0);
			nearest_self += at == i;
			for (j = 0; j < 16; j++)
				norm += (double)q.x[i * 16 + j] * q.x[i * 16 + j];
			if (unit)
				CHECK(fabs(sqrt(norm) - 1.0) < 1e-4);
		}
		/* near their vectors, most nearest of all to it */
		CHECK(nearest_self >= 25);
		vx_sample_release(&s);
		vx_sample_release(&q);
		vx_sample_release(&q2);
	}
	/* One vector: no spread to scale by, still moved. */
	vx_sample_init(&s, 1, 1);
	CHECK_INT(vx_sample_add(&s, 7, v, 16), 0);
	CHECK_INT(vx_noisy_queries(&s, &q, &err), OPS_OK);
	CHECK_INT(q.n, 1);
	CHECK(memcmp(q.x, s.x, 16 * sizeof *q.x) != 0);
	vx_sample_release(&s);
	vx_sample_release(&q);
}

int main(void)
{
	ops_log_set_level(OPS_LOG_ERROR);
	RUN(sample_init_add_release);
	RUN(sample_of_ids_only_is_uniform);
	RUN(sample_matches_verify_inline_reservoir);
	RUN(noisy_queries);
	return unit_done();
}
