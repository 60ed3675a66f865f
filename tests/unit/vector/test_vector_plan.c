/*
 * The planner (vector_plan.c): the one chooser of an index's kind within
 * vector.memory_budget, for rebuild's factory auto and optimize -t
 * advanced.  Pure arithmetic over the row count, the dimension and the
 * configuration; the builds it plans are t410's, t445's and t447's.
 */
#include <cjson/cJSON.h>

#include "opsmaint/config.h"
#include "vector/vector_internal.h"
#include "unit.h"

static ops_config *conf(const char *budget, const char *metric, const char *flat_max)
{
	ops_config *cfg = ops_config_new();
	ops_error err = {0};

	if (!cfg)
		return NULL;
	if (budget)
		CHECK_INT(ops_config_set(cfg, "vector.memory_budget", budget, "test", &err), OPS_OK);
	if (metric)
		CHECK_INT(ops_config_set(cfg, "vector.metric", metric, "test", &err), OPS_OK);
	if (flat_max)
		CHECK_INT(ops_config_set(cfg, "vector.flat_max", flat_max, "test", &err), OPS_OK);
	return cfg;
}

static const char *rejected(const cJSON *rep, int i)
{
	const cJSON *plan = cJSON_GetObjectItemCaseSensitive(rep, "memory_plan");
	const cJSON *r = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(plan, "rejected"), i);

	return r ? cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "type")) : NULL;
}

static double plan_num(const cJSON *rep, const char *name)
{
	const cJSON *plan = cJSON_GetObjectItemCaseSensitive(rep, "memory_plan");

	return cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(plan, name));
}

TEST(small_and_fitting_is_exact)
{
	ops_config *cfg = conf(NULL, NULL, NULL);
	cJSON *rep = cJSON_CreateObject();
	struct vx_plan p;
	ops_error err = {0};

	CHECK_INT(vx_plan_index(cfg, 3000, 32, &p, rep, &err), OPS_OK);
	CHECK_STR(p.type, "IDMap,Flat");
	CHECK_INT(p.train, 0);
	CHECK_INT(p.index_bytes, 3000LL * (32 * 4 + 8));
	CHECK(rejected(rep, 0) == NULL);
	CHECK_INT((long long)plan_num(rep, "budget_bytes"), 8LL << 30);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
			  cJSON_GetObjectItemCaseSensitive(rep, "memory_plan"), "type")), "IDMap,Flat");
	cJSON_Delete(rep);
	ops_config_free(cfg);
}

/* Above vector.flat_max the exact index is not taken even when it fits,
 * and it is not listed as rejected for its memory. */
TEST(above_flat_max_is_ivf_of_about_4_sqrt_n_lists)
{
	ops_config *cfg = conf(NULL, NULL, "1000");
	cJSON *rep = cJSON_CreateObject();
	struct vx_plan p;
	ops_error err = {0};

	CHECK_INT(vx_plan_index(cfg, 2985, 32, &p, rep, &err), OPS_OK);
	CHECK_STR(p.type, "IVF128,Flat");	/* 4 sqrt(2985) = 218.5: 128 */
	CHECK_INT(p.train, 2985);
	CHECK(rejected(rep, 0) == NULL);
	CHECK_INT(vx_plan_index(cfg, 1000000, 32, &p, NULL, &err), OPS_OK);
	CHECK_STR(p.type, "IVF2048,Flat");	/* 4000: 2048 */
	CHECK_INT(p.train, 100000);
	cJSON_Delete(rep);
	ops_config_free(cfg);
}

/* t410's and t447's case: 4000 vectors of 24 dimensions, L2, 400,000 bytes. */
TEST(budget_takes_the_most_exact_kind_that_fits)
{
	ops_config *cfg = conf("400000", "l2", NULL);
	cJSON *rep = cJSON_CreateObject();
	struct vx_plan p;
	ops_error err = {0};

	CHECK_INT(vx_plan_index(cfg, 4000, 24, &p, rep, &err), OPS_OK);
	CHECK_STR(p.type, "IVF128,SQ8");
	CHECK_STR(rejected(rep, 0), "IDMap,Flat");
	CHECK_STR(rejected(rep, 1), "IVF128,Flat");
	CHECK(rejected(rep, 2) == NULL);
	/* The sample is cut to what fits, never below 10 a list. */
	CHECK(p.train >= 1280 && p.train < 4000);
	CHECK_INT(p.train_bytes, p.train * 24 * 8);
	CHECK(p.index_bytes + p.train_bytes <= 400000);
	CHECK_INT((long long)plan_num(rep, "memory_bytes"), p.index_bytes + p.train_bytes);
	CHECK_INT((long long)plan_num(rep, "training_vectors"), p.train);
	cJSON_Delete(rep);
	ops_config_free(cfg);
}

/* Scalar codes and their least sample do not fit 32 MiB for 50,000
 * vectors of 384 dimensions; PQ codes of d/2 bytes do (inner product: no
 * precomputed tables). */
TEST(pq_codes_when_scalar_codes_do_not_fit)
{
	ops_config *cfg = conf("32M", "ip", NULL);
	struct vx_plan p;
	ops_error err = {0};

	CHECK_INT(vx_plan_index(cfg, 50000, 384, &p, NULL, &err), OPS_OK);
	CHECK_STR(p.type, "IVF512,PQ192");
	CHECK(p.train >= 5120 && p.index_bytes + p.train_bytes <= 32LL << 20);
	ops_config_free(cfg);
	cfg = conf("64M", "ip", NULL);
	CHECK_INT(vx_plan_index(cfg, 50000, 384, &p, NULL, &err), OPS_OK);
	CHECK_STR(p.type, "IVF512,SQ8");	/* t445's */
	ops_config_free(cfg);
}

TEST(too_small_a_budget_names_the_key)
{
	ops_config *cfg = conf("50000", "l2", NULL);
	cJSON *rep = cJSON_CreateObject();
	struct vx_plan p;
	ops_error err = {0};

	CHECK_INT(vx_plan_index(cfg, 3990, 24, &p, rep, &err), OPS_ECONFIG);
	CHECK_INT(err.code, OPS_ECONFIG);
	CHECK_CONTAINS(err.message, "vector.memory_budget 48.8 KiB is too small for any index "
		       "of 3990 vectors of 24 dimensions: the smallest, IVF128,PQ8, needs");
	CHECK_CONTAINS(err.hint, "raise vector.memory_budget");
	/* The plan says what was tried, and chose nothing. */
	CHECK(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(rep,
									       "memory_plan"),
					       "type") == NULL);
	CHECK_STR(rejected(rep, 0), "IDMap,Flat");
	CHECK(rejected(rep, 3) != NULL);
	cJSON_Delete(rep);
	ops_config_free(cfg);
}

int main(void)
{
	RUN(small_and_fitting_is_exact);
	RUN(above_flat_max_is_ivf_of_about_4_sqrt_n_lists);
	RUN(budget_takes_the_most_exact_kind_that_fits);
	RUN(pq_codes_when_scalar_codes_do_not_fit);
	RUN(too_small_a_budget_names_the_key);
	return unit_done();
}
