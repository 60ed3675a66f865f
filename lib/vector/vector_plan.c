/*
 * The one chooser of an index's kind within vector.memory_budget, shared by
 * `vector rebuild` (factory auto, and its --dry-run) and `vector optimize
 * -t advanced`: a computation over the row count, the dimension and the
 * configuration, with no FAISS and no database, so that what a dry run
 * plans is what the real run builds.  It does not build, train or measure.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "opsmaint/output.h"
#include "vector/vector_internal.h"

/*
 * The index for n vectors of d dimensions within vector.memory_budget, the
 * way autofaiss chooses: the most exact kind whose memory fits.  Exact while
 * it is small (vector.flat_max) and fits; else IVF with about 4 sqrt(n)
 * lists holding whole vectors, 8-bit scalar codes (a byte a dimension), or
 * PQ codes of m bytes (m dividing d, from d/2 down to 8).  An IVF kind's
 * memory is its codes and ids (8 bytes a vector) with a tenth to spare for
 * lists that outgrow the room reserved for them, its centroids, PQ's
 * precomputed tables (L2 only), and the training sample, counted twice
 * (FAISS computes its residuals beside it): up to 100,000 vectors, fewer
 * when that is what fits, never fewer than 10 a list or 1,000 (or n):
 * k-means needs a few points a list.
 */
#define PLAN_TRAIN_MAX 100000
#define PLAN_TRAIN_MIN 1000
#define PLAN_PQ_MIN 8

static long long plan_kind(long long n, int d, long nlist, long code, int pq, int l2,
			   long long budget, struct vx_plan *p)
{
	long long most = n < PLAN_TRAIN_MAX ? n : PLAN_TRAIN_MAX;
	long long least = (long long)nlist * 10 > PLAN_TRAIN_MIN ? (long long)nlist * 10
			  : PLAN_TRAIN_MIN, room;
	double bytes = (double)n * (double)(code + 8) * 1.1 + (double)nlist * d * 4;

	if (least > n)
		least = n;

	if (pq && l2)
		bytes += (double)nlist * pq * 256 * 4;
	p->index_bytes = bytes > 9e18 ? (long long)9e18 : (long long)bytes;
	/* Twice the sample: FAISS trains on the residuals, a copy of it. */
	room = (budget - p->index_bytes) / ((long long)d * 8);
	p->train = room >= most ? most : room >= least ? room : least;
	p->train_bytes = p->train * d * 8;
	return p->index_bytes + p->train_bytes;
}

ops_code vx_plan_index(const ops_config *cfg, long long n, int d, struct vx_plan *out, cJSON *rep,
		       ops_error *err)
{
	long long budget = ops_config_int(cfg, "vector.memory_budget"), need = 0;
	int l2 = strcmp(ops_config_get(cfg, "vector.metric"), "l2") == 0, m, i, nk = 0;
	int kinds[64];
	long nlist = 1;
	cJSON *plan = rep ? cJSON_AddObjectToObject(rep, "memory_plan") : NULL;
	cJSON *rej = plan ? cJSON_AddArrayToObject(plan, "rejected") : NULL;
	struct vx_plan p;
	char hb[32], hn[32];

	while ((double)nlist * 2 <= 4.0 * sqrt((double)n) && nlist < 65536)
		nlist *= 2;
	cJSON_AddNumberToObject(plan, "budget_bytes", (double)budget);
	memset(&p, 0, sizeof p);
	/* Exact: whole vectors and ids, reserved up front, no training. */
	snprintf(p.type, sizeof p.type, "IDMap,Flat");
	p.index_bytes = n * ((long long)d * 4 + 8);
	need = p.index_bytes;
	if (n <= ops_config_int(cfg, "vector.flat_max") && need <= budget)
		goto fits;
	if (rej && need > budget) {
		cJSON *r = cJSON_CreateObject();

		cJSON_AddStringToObject(r, "type", p.type);
		cJSON_AddNumberToObject(r, "memory_bytes", (double)need);
		cJSON_AddItemToArray(rej, r);
	}
	kinds[nk++] = -2;	/* IVF,Flat */
	kinds[nk++] = -1;	/* IVF,SQ8 */
	for (m = d / 2; m >= PLAN_PQ_MIN && nk < (int)(sizeof kinds / sizeof *kinds); m--)
		if (d % m == 0)
			kinds[nk++] = m;
	for (i = 0; i < nk; i++) {
		m = kinds[i];
		if (m == -2) {
			snprintf(p.type, sizeof p.type, "IVF%ld,Flat", nlist);
			need = plan_kind(n, d, nlist, (long)d * 4, 0, l2, budget, &p);
		} else if (m == -1) {
			snprintf(p.type, sizeof p.type, "IVF%ld,SQ8", nlist);
			need = plan_kind(n, d, nlist, d, 0, l2, budget, &p);
		} else {
			snprintf(p.type, sizeof p.type, "IVF%ld,PQ%d", nlist, m);
			need = plan_kind(n, d, nlist, m, m, l2, budget, &p);
		}
		if (need <= budget)
			goto fits;
		if (rej) {
			cJSON *r = cJSON_CreateObject();

			cJSON_AddStringToObject(r, "type", p.type);
			cJSON_AddNumberToObject(r, "memory_bytes", (double)need);
			cJSON_AddItemToArray(rej, r);
		}
	}
	ops_human_bytes((double)budget, hb, sizeof hb);
	ops_human_bytes((double)need, hn, sizeof hn);
	ops_error_set(err, OPS_ECONFIG, "vector.memory_budget %s is too small for any index of "
		      "%lld vectors of %d dimensions: the smallest, %s, needs %s", hb, n, d,
		      p.type, hn);
	ops_error_hint(err, "raise vector.memory_budget (codes, ids, centroids and a training "
		       "sample of %lld vectors must fit), or index fewer rows (vector.filter)",
		       p.train);
	return OPS_ECONFIG;
fits:
	*out = p;
	if (plan) {
		cJSON_AddStringToObject(plan, "type", p.type);
		cJSON_AddNumberToObject(plan, "index_bytes", (double)p.index_bytes);
		cJSON_AddNumberToObject(plan, "training_vectors", (double)p.train);
		cJSON_AddNumberToObject(plan, "training_bytes", (double)p.train_bytes);
		cJSON_AddNumberToObject(plan, "memory_bytes", (double)need);
	}
	return OPS_OK;
}
