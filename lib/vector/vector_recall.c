/*
 * Samples of the source (a reservoir over one pass), and recall against
 * exact search, one definition for every command that
 * states a recall (verify, rebuild, optimize, eval): the true top K of each
 * query is found by flat search over the source rows themselves, batch by
 * batch as they stream past, never by the index under test.  The queries
 * are sampled source vectors moved by noise: a stored vector searched for
 * itself is always in its own IVF list, so it would show recall 1 at
 * nprobe 1 whatever the index's real recall.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "opsmaint/cancel.h"
#include "opsmaint/log.h"
#include "opsmaint/vector.h"
#include "vector/vector_internal.h"

/* Source rows per flat search: enough that FAISS's BLAS path pays off,
 * little memory (1.5 MiB at 384 dimensions). */
#define TRUTH_BATCH 4096

/* Noise per dimension, as a share of the sample's spread in it: the query
 * lands beside its vector, not on it, so its neighbours are the data's. */
#define NOISE_SHARE 0.5

/* ---- samples ---- */

unsigned long long vx_next_rand(unsigned long long *s)
{
	/* splitmix64: fixed seed, so a run is repeatable */
	unsigned long long z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void vx_sample_init(struct vx_sample *s, size_t cap, unsigned long long seed)
{
	memset(s, 0, sizeof *s);
	s->cap = cap;
	s->rng = seed;
}

int vx_sample_add(struct vx_sample *s, long long id, const float *v, int d)
{
	size_t slot;

	s->seen++;
	if (s->cap == 0)
		return 0;
	if (!s->ids) {
		s->d = d;
		s->ids = malloc(s->cap * sizeof *s->ids);
		s->x = d > 0 ? malloc(s->cap * (size_t)d * sizeof *s->x) : NULL;
		if (!s->ids || (d > 0 && !s->x)) {
			free(s->ids);
			free(s->x);
			s->ids = NULL;
			s->x = NULL;
			return -1;
		}
	}
	if (s->n < s->cap) {
		slot = s->n++;
	} else {
		unsigned long long r = vx_next_rand(&s->rng) % (unsigned long long)s->seen;

		if (r >= s->cap)
			return 0;
		slot = (size_t)r;
	}
	s->ids[slot] = id;
	if (s->d > 0)
		memcpy(s->x + slot * (size_t)s->d, v, (size_t)s->d * sizeof *v);
	return 0;
}

void vx_sample_release(struct vx_sample *s)
{
	free(s->ids);
	free(s->x);
	vx_sample_init(s, 0, 0);
}

/* ---- recall ---- */

static double gauss(unsigned long long *rng)
{
	/* Box-Muller on two uniforms in (0, 1] */
	double u = ((double)(vx_next_rand(rng) >> 11) + 1.0) / 9007199254740992.0;
	double v = (double)(vx_next_rand(rng) >> 11) / 9007199254740992.0;

	return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

ops_code vx_noisy_queries(const struct vx_sample *s, struct vx_sample *q, ops_error *err)
{
	size_t i, n = s->n, d = (size_t)s->d;
	double *mean = NULL, *sd = NULL, spread = 0;
	unsigned long long rng = 0x5eed;
	int unit = 1;

	vx_sample_init(q, n, 0);
	if (!n)
		return OPS_OK;
	q->ids = malloc(n * sizeof *q->ids);
	q->x = malloc(n * d * sizeof *q->x);
	mean = calloc(d, sizeof *mean);
	sd = calloc(d, sizeof *sd);
	if (!q->ids || !q->x || !mean || !sd) {
		free(mean);
		free(sd);
		vx_sample_release(q);
		return ops_error_oom(err);
	}
	q->d = s->d;
	q->n = n;
	memcpy(q->ids, s->ids, n * sizeof *q->ids);
	for (i = 0; i < n * d; i++)
		mean[i % d] += s->x[i] / (double)n;
	for (i = 0; i < n * d; i++) {
		double dev = s->x[i] - mean[i % d];

		sd[i % d] += dev * dev / (double)(n > 1 ? n - 1 : 1);
	}
	for (i = 0; i < d; i++) {
		sd[i] = sqrt(sd[i]);
		spread += sd[i] / (double)d;
	}
	for (i = 0; i < n; i++) {
		const float *v = s->x + i * d;
		double norm = 0;
		size_t j;

		for (j = 0; j < d; j++)
			norm += (double)v[j] * v[j];
		if (fabs(sqrt(norm) - 1.0) > 1e-3)
			unit = 0;
	}
	for (i = 0; i < n; i++) {
		const float *v = s->x + i * d;
		float *o = q->x + i * d;
		double norm = 0, rms = 0;
		size_t j;

		for (j = 0; j < d; j++)
			rms += (double)v[j] * v[j] / (double)d;
		rms = sqrt(rms);
		for (j = 0; j < d; j++) {
			/* One vector, or all alike: no spread to scale by, so a
			 * little of the vector's own size. */
			double sigma = spread > 0 ? NOISE_SHARE * sd[j]
				: 0.01 * (rms > 0 ? rms : 1.0);

			o[j] = (float)(v[j] + sigma * gauss(&rng));
			norm += (double)o[j] * o[j];
		}
		/* Normalised embeddings (cosine as inner product) get queries
		 * of the same kind. */
		if (unit && norm > 0)
			for (j = 0; j < d; j++)
				o[j] = (float)(o[j] / sqrt(norm));
	}
	free(mean);
	free(sd);
	return OPS_OK;
}

ops_code vx_truth_init(const struct vf_api *f, struct vx_truth *t, const struct vx_sample *q,
		       int ip, ops_error *err)
{
	size_t i;

	memset(t, 0, sizeof *t);
	t->f = f;
	t->nq = q->n;
	t->d = q->d;
	t->ip = ip;
	t->q = q->x;
	t->ids = malloc((t->nq ? t->nq : 1) * VX_K * sizeof *t->ids);
	t->score = malloc((t->nq ? t->nq : 1) * VX_K * sizeof *t->score);
	t->buf_ids = malloc(TRUTH_BATCH * sizeof *t->buf_ids);
	t->buf_x = malloc(TRUTH_BATCH * (size_t)(t->d > 0 ? t->d : 1) * sizeof *t->buf_x);
	if (!t->ids || !t->score || !t->buf_ids || !t->buf_x) {
		vx_truth_free(t);
		return ops_error_oom(err);
	}
	for (i = 0; i < t->nq * VX_K; i++) {
		t->ids[i] = -1;
		t->score[i] = -INFINITY;
	}
	return OPS_OK;
}

static void truth_offer(struct vx_truth *t, size_t qi, long long id, float sc)
{
	long long *ids = t->ids + qi * VX_K;
	float *s = t->score + qi * VX_K;
	int j = VX_K - 1;

	if (sc <= s[VX_K - 1])
		return;
	while (j > 0 && s[j - 1] < sc) {
		s[j] = s[j - 1];
		ids[j] = ids[j - 1];
		j--;
	}
	s[j] = sc;
	ids[j] = id;
}

/* The buffered rows searched exactly (a flat index of just them) and their
 * best K merged into each query's top K. */
static ops_code truth_flush(struct vx_truth *t, ops_error *err)
{
	const struct vf_api *f = t->f;
	FaissIndex *flat = NULL;
	idx_t *labels = NULL;
	float *dist = NULL;
	size_t qi, j;
	ops_code rc = OPS_OK;

	if (!t->nbuf || !t->nq)
		goto out;
	labels = malloc(t->nq * VX_K * sizeof *labels);
	dist = malloc(t->nq * VX_K * sizeof *dist);
	if (!labels || !dist) {
		rc = ops_error_oom(err);
		goto out;
	}
	if (f->index_factory(&flat, t->d, "IDMap,Flat",
			     t->ip ? METRIC_INNER_PRODUCT : METRIC_L2) != 0 ||
	    f->Index_add_with_ids(flat, (idx_t)t->nbuf, t->buf_x, (const idx_t *)t->buf_ids) != 0 ||
	    f->Index_search(flat, (idx_t)t->nq, t->q, VX_K, dist, labels) != 0) {
		rc = vf_error(f, err, OPS_EINTERNAL, "exact search over the source");
		goto out;
	}
	for (qi = 0; qi < t->nq; qi++)
		for (j = 0; j < VX_K; j++) {
			size_t at = qi * VX_K + j;

			if (labels[at] >= 0)
				truth_offer(t, qi, (long long)labels[at], t->ip ? dist[at] : -dist[at]);
		}
out:
	t->nbuf = 0;
	if (flat)
		f->Index_free(flat);
	free(labels);
	free(dist);
	return rc;
}

ops_code vx_truth_add(struct vx_truth *t, const long long *ids, const float *x, size_t n,
		      ops_error *err)
{
	size_t d = (size_t)t->d;
	ops_code rc;

	while (n > 0) {
		size_t take = TRUTH_BATCH - t->nbuf < n ? TRUTH_BATCH - t->nbuf : n;

		memcpy(t->buf_ids + t->nbuf, ids, take * sizeof *ids);
		memcpy(t->buf_x + t->nbuf * d, x, take * d * sizeof *x);
		t->nbuf += take;
		ids += take;
		x += take * d;
		n -= take;
		if (t->nbuf == TRUTH_BATCH && (rc = truth_flush(t, err)) != OPS_OK)
			return rc;
	}
	return OPS_OK;
}

ops_code vx_truth_finish(struct vx_truth *t, ops_error *err)
{
	return truth_flush(t, err);
}

ops_code vx_truth_source(const ops_vector_ctx *ctx, struct vx_truth *t, ops_error *err)
{
	long long ids[TRUTH_BATCH];
	float *x = NULL;
	size_t xcap = 0, n;
	vsrc *src = NULL;
	ops_code rc;

	if ((rc = vsrc_open(ctx->run->cfg, ctx->database, 0, NULL, 0, &src, err)) != OPS_OK)
		return rc;
	while ((rc = vsrc_next(src, TRUTH_BATCH, ids, &x, &xcap, &n, err)) == OPS_OK && n > 0) {
		if (vsrc_dim(src) != t->d) {
			rc = ops_error_set(err, OPS_EDATA, "the queries have %d dimensions, %s %d",
					   t->d, vsrc_describe(src), vsrc_dim(src));
			break;
		}
		if ((rc = ops_cancel_check(err)) != OPS_OK ||
		    (rc = vx_truth_add(t, ids, x, n, err)) != OPS_OK)
			break;
	}
	if (rc == OPS_OK)
		rc = vx_truth_finish(t, err);
	vsrc_close(src);
	free(x);
	return rc;
}

void vx_truth_free(struct vx_truth *t)
{
	free(t->ids);
	free(t->score);
	free(t->buf_ids);
	free(t->buf_x);
	t->ids = NULL;
	t->score = NULL;
	t->buf_ids = NULL;
	t->buf_x = NULL;
}

ops_code vx_recall(const struct vf_api *f, FaissIndex *index, const struct vx_truth *t,
		   double *recall, double *lat, ops_error *err)
{
	idx_t labels[VX_K];
	float dist[VX_K];
	size_t qi, hit = 0, total = 0;
	int a, b;

	/* Untimed warm-up: the first searches pay for thread pools and page
	 * faults, which are not the index's latency. */
	for (qi = 0; lat && qi < t->nq && qi < 5; qi++)
		f->Index_search(index, 1, t->q + qi * (size_t)t->d, VX_K, dist, labels);
	for (qi = 0; qi < t->nq; qi++) {
		double t0;
		ops_code rc = ops_cancel_check(err);

		if (rc != OPS_OK)
			return rc;
		t0 = ops_clock();
		if (f->Index_search(index, 1, t->q + qi * (size_t)t->d, VX_K, dist, labels) != 0)
			return vf_error(f, err, OPS_EDATA, "searching the index failed");
		if (lat)
			lat[qi] = (ops_clock() - t0) * 1000.0;
		for (a = 0; a < VX_K; a++) {
			if (t->ids[qi * VX_K + (size_t)a] < 0)
				continue;
			total++;
			for (b = 0; b < VX_K; b++)
				if (labels[b] == t->ids[qi * VX_K + (size_t)a]) {
					hit++;
					break;
				}
		}
	}
	*recall = total ? (double)hit / (double)total : 1.0;
	return OPS_OK;
}

/* The IVF inside index (under an IDMap or not), or NULL. */
static FaissIndexIVF *ivf_of(const struct vf_api *f, FaissIndex *index)
{
	FaissIndexIDMap *map = f->IndexIDMap_cast(index);

	return f->IndexIVF_cast(map ? f->IndexIDMap_sub_index(map) : index);
}

ops_code vx_search_params(const struct vf_api *f, FaissIndex *index, const cJSON *manifest,
			  cJSON *params, ops_error *err)
{
	const cJSON *saved = cJSON_GetObjectItemCaseSensitive(manifest, "search_parameters");
	const cJSON *ef = cJSON_GetObjectItemCaseSensitive(saved, "efSearch");
	FaissIndexIVF *ivf = ivf_of(f, index);
	FaissParameterSpace *ps = NULL;

	if (ivf) {
		/* nprobe is in the file itself: what a reader of it searches with. */
		cJSON_AddNumberToObject(params, "nprobe", (double)f->IndexIVF_nprobe(ivf));
		return OPS_OK;
	}
	/* efSearch is in the file too, but FAISS's C API cannot read it back:
	 * the manifest's record of it is applied, so what is measured is what
	 * was recorded. */
	if (!cJSON_IsNumber(ef))
		return OPS_OK;
	if (f->ParameterSpace_new(&ps) != 0)
		return vf_error(f, err, OPS_EINTERNAL, "parameter space");
	if (f->ParameterSpace_set_index_parameter(ps, index, "efSearch", ef->valuedouble) == 0)
		cJSON_AddNumberToObject(params, "efSearch", ef->valuedouble);
	f->ParameterSpace_free(ps);
	return OPS_OK;
}

ops_code vx_tune(const struct vf_api *f, FaissIndex *index, const struct vx_truth *t,
		 double from, double target, cJSON *rep, cJSON *params, double *reached,
		 ops_error *err)
{
	FaissIndexIDMap *map = f->IndexIDMap_cast(index);
	FaissIndex *inner = map ? f->IndexIDMap_sub_index(map) : index;
	FaissIndexIVF *ivf = f->IndexIVF_cast(inner);
	FaissParameterSpace *ps = NULL;
	const char *name = ivf ? "nprobe" : "efSearch";
	double value, best = -1, best_recall = 0, recall;
	double max = ivf ? (double)f->IndexIVF_nlist(ivf) : 1024;
	double lo = ivf ? 1 : 16;
	cJSON *tried;
	ops_code rc = OPS_OK;

	*reached = -1;
	if (f->IndexFlat_cast(inner))
		return OPS_OK;	/* exact: nothing to tune */
	if (f->ParameterSpace_new(&ps) != 0)
		return vf_error(f, err, OPS_EINTERNAL, "parameter space");
	tried = cJSON_AddArrayToObject(rep, "tuning");
	value = from > lo ? from : lo;
	for (;;) {
		cJSON *e;

		if (value > max)
			value = max;
		if (f->ParameterSpace_set_index_parameter(ps, index, name, value) != 0) {
			if (!ivf && best < 0) {
				rc = OPS_OK;	/* neither IVF nor HNSW: leave it */
				goto out;
			}
			rc = vf_error(f, err, OPS_EFAIL, "setting the search parameter");
			goto out;
		}
		if ((rc = vx_recall(f, index, t, &recall, NULL, err)) != OPS_OK)
			goto out;
		e = cJSON_CreateObject();
		cJSON_AddNumberToObject(e, name, value);
		cJSON_AddNumberToObject(e, "recall_at_10", recall);
		cJSON_AddItemToArray(tried, e);
		best = value;
		best_recall = recall;
		if (recall >= target || value >= max)
			break;
		value *= 2;
	}
	if (best > 0) {
		f->ParameterSpace_set_index_parameter(ps, index, name, best);
		cJSON_DeleteItemFromObjectCaseSensitive(params, name);
		cJSON_AddNumberToObject(params, name, best);
		cJSON_DeleteItemFromObjectCaseSensitive(rep, name);
		cJSON_AddNumberToObject(rep, name, best);
		cJSON_DeleteItemFromObjectCaseSensitive(rep, "recall_at_10");
		cJSON_AddNumberToObject(rep, "recall_at_10", best_recall);
		*reached = best_recall;
	}
out:
	f->ParameterSpace_free(ps);
	return rc;
}

void vx_report_recall(cJSON *rep, double recall, size_t queries, const cJSON *params, double bar,
		      const char *measured)
{
	cJSON_DeleteItemFromObjectCaseSensitive(rep, "recall_at_10");
	cJSON_AddNumberToObject(rep, "recall_at_10", recall);
	cJSON_AddNumberToObject(rep, "k", VX_K);
	cJSON_AddNumberToObject(rep, "recall_queries", (double)queries);
	cJSON_AddStringToObject(rep, "recall_measured", measured);
	cJSON_DeleteItemFromObjectCaseSensitive(rep, "search_parameters");
	cJSON_AddItemToObject(rep, "search_parameters",
			      params ? cJSON_Duplicate(params, 1) : cJSON_CreateObject());
	cJSON_AddNumberToObject(rep, "recall_bar", bar);
}

ops_code vx_truth_noisy(const struct ops_vector_ctx *ctx, const struct vf_api *f,
			const struct vx_sample *smp, int ip, struct vx_sample *q,
			struct vx_truth *t, ops_error *err)
{
	ops_code rc;

	memset(t, 0, sizeof *t);
	if ((rc = vx_noisy_queries(smp, q, err)) != OPS_OK ||
	    (rc = vx_truth_init(f, t, q, ip, err)) != OPS_OK)
		return rc;
	return vx_truth_source(ctx, t, err);
}
