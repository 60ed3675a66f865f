/*
 * The rest of the index lifecycle: optimize (optimize-vector-index.sh,
 * guide 002's defragment), eval (evaluate_search_quality.py), backup and
 * verify-backup (backup-vector-index.sh, verify-vector-index-backup.sh),
 * and purge (guide 002's purge_documents, refused on a protected store).
 * Recall is always measured against exact search over the source rows,
 * computed here in one streaming pass, never against the index itself.
 */
#include <dirent.h>
#include <pthread.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>


#include "opsmaint/archive.h"
#include "opsmaint/cancel.h"
#include "opsmaint/db.h"
#include "opsmaint/fileio.h"
#include "opsmaint/log.h"
#include "opsmaint/output.h"
#include "opsmaint/vector.h"
#include "vector/vector_internal.h"

#define BATCH 4096

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double percentile(double *v, size_t n, double p)
{
	size_t i;

	if (!n)
		return 0;
	qsort(v, n, sizeof *v, cmp_double);
	i = (size_t)(p * (double)(n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

/* One pass over the source: every id (sorted) and a sample of queries. */
static ops_code source_pass(const ops_vector_ctx *ctx, int d, size_t nq, long long **ids,
			    size_t *nids, struct vx_sample *smp, ops_error *err)
{
	long long batch[BATCH];
	float *x = NULL;
	size_t xcap = 0, n, i, cap = 0;
	vsrc *src = NULL;
	ops_code rc;

	*ids = NULL;
	*nids = 0;
	vx_sample_init(smp, nq, 99);
	if ((rc = vsrc_open(ctx->run->cfg, ctx->database, 0, NULL, 0, &src, err)) != OPS_OK)
		return rc;
	while ((rc = vsrc_next(src, BATCH, batch, &x, &xcap, &n, err)) == OPS_OK && n > 0) {
		if (vsrc_dim(src) != d) {
			rc = ops_error_set(err, OPS_EFAIL,
					   "the index has %d dimensions, the source %d", d,
					   vsrc_dim(src));
			break;
		}
		if (vx_ids_reserve(ids, *nids, n, &cap) != 0) {
			rc = ops_error_oom(err);
			break;
		}
		for (i = 0; i < n; i++) {
			(*ids)[(*nids)++] = batch[i];
			if (vx_sample_add(smp, batch[i], x + i * (size_t)d, d) != 0) {
				rc = ops_error_oom(err);
				goto out;
			}
		}
	}
	if (rc == OPS_OK && *nids)
		qsort(*ids, *nids, sizeof **ids, vx_cmp_ll);
out:
	vsrc_close(src);
	free(x);
	return rc;
}

static ops_code remove_ids(const struct vf_api *f, FaissIndex *index, const long long *ids,
			   size_t n, size_t *removed, ops_error *err)
{
	FaissIDSelectorBatch *sel = NULL;
	int r;

	*removed = 0;
	if (!n)
		return OPS_OK;
	if (!f->IndexIDMap_cast(index) && !f->IndexIVF_cast(index))
		return ops_error_set(err, OPS_EUSAGE, "ids cannot be removed from this index type "
				     "without renumbering; rebuild it instead");
	if (f->IDSelectorBatch_new(&sel, n, (const idx_t *)ids) != 0)
		return vf_error(f, err, OPS_EINTERNAL, "selecting ids");
	r = f->Index_remove_ids(index, (const FaissIDSelector *)sel, removed);
	f->IDSelector_free((FaissIDSelector *)sel);
	if (r != 0)
		return vf_error(f, err, OPS_EFAIL, "removing ids");
	return OPS_OK;
}

static cJSON *quality(const char *type, double recall, double *lat, size_t nq, long long bytes)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "type", type);
	cJSON_AddNumberToObject(o, "recall_at_10", recall);
	cJSON_AddNumberToObject(o, "latency_ms_p50", percentile(lat, nq, 0.50));
	cJSON_AddNumberToObject(o, "latency_ms_p95", percentile(lat, nq, 0.95));
	cJSON_AddNumberToObject(o, "size_bytes", (double)bytes);
	return o;
}

/* Whether a backup would be taken, and where, in a dry run's report. */
static void plan_backup(const ops_vector_ctx *ctx, int backup, cJSON *rep)
{
	cJSON_AddBoolToObject(rep, "would_backup", backup);
	if (backup)
		cJSON_AddStringToObject(rep, "backup_dir",
					ops_config_get(ctx->run->cfg, "vector.backup_dir"));
}

/* --dry-run of -t advanced: the type a candidate would have, from the
 * source's count and the memory budget; nothing built or measured. */
static ops_code advanced_plan(const ops_vector_ctx *ctx, int d, double vectors,
			      const char *type_old, int backup, cJSON *rep, ops_error *err)
{
	long long rows = 0;
	struct vx_plan plan;
	ops_code rc;

	cJSON_AddBoolToObject(rep, "dry_run", 1);
	cJSON_AddStringToObject(rep, "type", type_old);
	cJSON_AddNumberToObject(rep, "vectors", vectors);
	if ((rc = vsrc_count(ctx->run->cfg, ctx->database, 0, &rows, err)) != OPS_OK)
		return rc;
	cJSON_AddNumberToObject(rep, "source_rows", (double)rows);
	if ((rc = vx_plan_index(ctx->run->cfg, rows, d, &plan, rep, err)) != OPS_OK)
		return rc;
	cJSON_AddStringToObject(rep, "candidate_type", plan.type);
	cJSON_AddStringToObject(rep, "would", "build and train the candidate beside the live "
				"index, measure both on the same queries, and swap it in only when "
				"it is not worse (or with --force)");
	plan_backup(ctx, backup, rep);
	ops_run_would_permit(ctx->run, "optimize", rep);
	return OPS_OK;
}

static ops_code optimize_advanced(const ops_vector_ctx *ctx, const ops_optimize_opts *o,
				  const struct vf_api *f, cJSON **report, ops_error *err)
{
	const char *path = vx_index_path(ctx);
	FaissIndex *old = NULL, *cand = NULL;
	cJSON *rep, *brep = NULL, *before, *after, *m2 = NULL, *params, *cman = NULL;
	long long *src_ids = NULL, old_bytes = 0, new_bytes = 0;
	size_t nsrc = 0;
	struct vx_sample smp = VX_SAMPLE_INIT, q = VX_SAMPLE_INIT;
	struct vx_truth t = {0};
	double *lat = NULL, r_old = 0, r_new = 0, p50_old = 0, p50_new, reached, target;
	char type_old[96], type_new[128], *cpath = NULL;
	const char *mname;
	ops_rebuild_opts ro = {0};
	struct vx_plan plan;
	struct stat st;
	long long budget = ops_config_int(ctx->run->cfg, "vector.memory_budget");
	double vectors = 0, bar = (double)ops_config_int(ctx->run->cfg, "vector.recall_bar") / 100;
	int big = 0, d = 0, ip = 1;
	cJSON *oman = NULL;
	int better, backup = vx_want_backup(ctx->run->cfg, o->backup,
					    "vector.backup_before_optimize");
	ops_code rc;

	if (!ctx->run->dry_run) {
		char question[600];

		snprintf(question, sizeof question,
			 "Optimize %s (choose a type, retrain, swap if not worse)?", path);
		if ((rc = vx_may_change(ctx, "optimize", question, err)) != OPS_OK)
			return rc;
		vidx_sweep_temps(path);
	}
	rep = cJSON_CreateObject();
	*report = rep;
	cJSON_AddStringToObject(rep, "index", path);
	cJSON_AddStringToObject(rep, "optimization", "advanced");
	if (stat(path, &st) == 0)
		old_bytes = (long long)st.st_size;
	/* A live index larger than the budget is not loaded to be measured:
	 * that alone would take the memory the budget forbids.  Its manifest
	 * says what it is. */
	big = old_bytes > budget;
	if (big) {
		if ((rc = vidx_read_manifest(path, &oman, err)) != OPS_OK)
			goto out;
		d = (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(oman, "dimension"));
		vectors = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(oman, "vectors"));
		snprintf(type_old, sizeof type_old, "%s",
			 cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(oman, "type"))
				 ?: "unknown");
		mname = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(oman, "metric"));
		ip = strcmp(mname ? mname : ops_config_get(ctx->run->cfg, "vector.metric"),
			    "l2") != 0;
		if (d <= 0) {
			char hs[32];

			rc = ops_error_set(err, OPS_EDATA, "the index '%s' (%s) is larger than "
					   "vector.memory_budget and its manifest does not give "
					   "its dimension", path,
					   ops_human_bytes((double)old_bytes, hs, sizeof hs));
			goto out;
		}
	} else {
		if ((rc = vidx_load(f, path, &old, NULL, NULL, err)) != OPS_OK)
			goto out;
		vidx_describe(f, old, type_old, sizeof type_old);
		d = f->Index_d(old);
		vectors = (double)f->Index_ntotal(old);
		ip = f->Index_metric_type(old) == METRIC_INNER_PRODUCT;
	}
	if (ctx->run->dry_run) {
		rc = advanced_plan(ctx, d, vectors, type_old, backup, rep, err);
		goto out;
	}
	if ((rc = source_pass(ctx, d, 100, &src_ids, &nsrc, &smp, err)) != OPS_OK)
		goto out;
	if (!smp.n) {
		rc = ops_error_set(err, OPS_EFAIL,
				   "the source has no vectors; nothing to optimize for");
		goto out;
	}
	lat = calloc(smp.n, sizeof *lat);
	if (!lat) {
		rc = ops_error_oom(err);
		goto out;
	}
	if ((rc = vx_truth_noisy(ctx, f, &smp, ip, &q, &t, err)) != OPS_OK)
		goto out;
	if (old) {
		if ((rc = vx_recall(f, old, &t, &r_old, lat, err)) != OPS_OK)
			goto out;
		before = quality(type_old, r_old, lat, q.n, old_bytes);
		p50_old = cJSON_GetNumberValue(
			cJSON_GetObjectItemCaseSensitive(before, "latency_ms_p50"));
		f->Index_free(old);
		old = NULL;
	} else {
		before = cJSON_CreateObject();
		cJSON_AddStringToObject(before, "type", type_old);
		cJSON_AddNumberToObject(before, "size_bytes", (double)old_bytes);
		cJSON_AddBoolToObject(before, "measured", 0);
		cJSON_AddStringToObject(before, "why", "larger than vector.memory_budget: not "
					"loaded");
	}
	cJSON_AddItemToObject(rep, "before", before);
	/* The candidate: built and trained afresh beside the live index. */
	if ((rc = vx_plan_index(ctx->run->cfg, (long long)nsrc, q.d, &plan, rep, err)) != OPS_OK)
		goto out;
	snprintf(type_new, sizeof type_new, "%s", plan.type);
	if (asprintf(&cpath, "%s.candidate", path) < 0) {
		cpath = NULL;
		rc = ops_error_oom(err);
		goto out;
	}
	ro.batch = 1000;
	ro.train = plan.train;
	ro.factory = type_new;
	ro.out_path = cpath;
	rc = ops_vector_rebuild(ctx, &ro, &brep, err);
	cJSON_Delete(brep);
	if (rc != OPS_OK || (rc = vidx_load(f, cpath, &cand, &cman, NULL, err)) != OPS_OK)
		goto out;
	after = cJSON_CreateObject();
	params = cJSON_AddObjectToObject(after, "search_parameters");
	/* 0.95 with two standard errors of this measurement to spare, so that
	 * another sample of queries (verify's, eval's) does not fall below it. */
	target = 0.95 + 2.0 * sqrt(0.95 * 0.05 / (double)(q.n * VX_K));
	if ((rc = vx_tune(f, cand, &t, 1, target, after, params, &reached, err)) != OPS_OK ||
	    (rc = vx_recall(f, cand, &t, &r_new, lat, err)) != OPS_OK) {
		cJSON_Delete(after);
		goto out;
	}
	if (stat(cpath, &st) == 0)
		new_bytes = (long long)st.st_size;
	{
		cJSON *qa = quality(type_new, r_new, lat, q.n, new_bytes);

		cJSON_AddItemToObject(rep, "after", qa);
		p50_new = cJSON_GetNumberValue(
			cJSON_GetObjectItemCaseSensitive(qa, "latency_ms_p50"));
		cJSON_AddItemToObject(qa, "tuning",
				      cJSON_DetachItemFromObjectCaseSensitive(after, "tuning"));
		params = cJSON_DetachItemFromObjectCaseSensitive(after, "search_parameters");
		cJSON_Delete(after);
	}
	/* Not worse: recall within half a point, and median latency within 25%
	 * or 1 ms (below a millisecond, search is not what a RAG answer waits
	 * on; the median, because one scheduling hiccup moves a p95 of 100). */
	if (big)
		better = r_new + 1e-9 >= bar;	/* nothing measured to compare with */
	else
		better = r_new + 0.005 >= r_old &&
			 (p50_new <= p50_old * 1.25 || p50_new <= p50_old + 1.0);
	cJSON_AddBoolToObject(rep, "not_worse", better);
	if (!better && !ctx->run->force) {
		cJSON_AddStringToObject(rep, "decision", big ? "kept the current index: the "
					"candidate is below vector.recall_bar (use --force to "
					"take it)" : "kept the current index: the candidate is "
					"worse (use --force to take it)");
		cJSON_Delete(params);
		goto out;
	}
	if (backup &&
	    (rc = vx_backup_index(ctx->run->cfg, path, "pre-optimize", 0, rep, err)) != OPS_OK) {
		cJSON_Delete(params);
		goto out;
	}
	m2 = cman ? cman : cJSON_CreateObject();
	cman = NULL;
	cJSON_DeleteItemFromObjectCaseSensitive(m2, "search_parameters");
	cJSON_AddItemToObject(m2, "search_parameters", params);
	vx_add_time(m2, "optimized_at", time(NULL));
	rc = vidx_swap(f, path, &cand, m2, err);
	cJSON_AddStringToObject(rep, "decision", !better ? "replaced (--force)" : big ?
				"replaced: the live index does not fit vector.memory_budget and "
				"the candidate reaches vector.recall_bar" :
				"replaced: the candidate is not worse");
out:
	if (old)
		f->Index_free(old);
	if (cand)
		f->Index_free(cand);
	if (cpath) {
		char *cm = vidx_manifest_path(cpath);

		unlink(cpath);
		if (cm)
			unlink(cm);
		free(cm);
	}
	cJSON_Delete(cman);
	cJSON_Delete(oman);
	free(cpath);
	free(src_ids);
	free(lat);
	vx_sample_release(&smp);
	vx_sample_release(&q);
	vx_truth_free(&t);
	return rc;
}

ops_code ops_vector_optimize(const ops_vector_ctx *ctx, const ops_optimize_opts *o, cJSON **report,
			     ops_error *err)
{
	const struct vf_api *f = NULL;
	const char *path = vx_index_path(ctx);
	FaissIndex *index = NULL;
	cJSON *rep, *manifest = NULL, *m2, *params;
	long long *src_ids = NULL, *orph = NULL, *idx_ids = NULL;
	size_t nsrc = 0, nidx = 0, norph = 0, i, j, removed = 0;
	struct vx_sample smp = VX_SAMPLE_INIT, q = VX_SAMPLE_INIT;
	struct vx_truth t = {0};
	char type[96];
	double t0 = ops_clock(), reached;
	int backup = vx_want_backup(ctx->run->cfg, o->backup, "vector.backup_before_optimize");
	ops_code rc;

	*report = NULL;
	if ((rc = vf_load(&f, err)) != OPS_OK)
		return rc;
	if (strcmp(o->type, "advanced") == 0)
		return optimize_advanced(ctx, o, f, report, err);
	rep = cJSON_CreateObject();
	*report = rep;
	cJSON_AddStringToObject(rep, "index", path);
	cJSON_AddStringToObject(rep, "optimization", o->type);
	if ((rc = vidx_load(f, path, &index, &manifest, NULL, err)) != OPS_OK)
		goto out;
	vidx_describe(f, index, type, sizeof type);
	cJSON_AddStringToObject(rep, "type", type);
	if (!ctx->run->dry_run) {
		char question[600];

		snprintf(question, sizeof question, "Optimize %s (remove orphan ids, tune search)?",
			 path);
		if ((rc = vx_may_change(ctx, "optimize", question, err)) != OPS_OK)
			goto out;
		vidx_sweep_temps(path);
	}
	/* Defragment (guide 002): ids whose rows are gone leave the index. */
	if ((rc = source_pass(ctx, f->Index_d(index), 100, &src_ids, &nsrc, &smp, err)) != OPS_OK)
		goto out;
	if ((rc = vidx_ids(f, index, &idx_ids, &nidx, err)) != OPS_OK)
		goto out;
	orph = malloc((nidx + 1) * sizeof *orph);
	if (!orph) {
		rc = ops_error_oom(err);
		goto out;
	}
	for (i = 0, j = 0; j < nidx; j++) {
		while (i < nsrc && src_ids[i] < idx_ids[j])
			i++;
		if (i >= nsrc || src_ids[i] != idx_ids[j])
			orph[norph++] = idx_ids[j];
	}
	if (ctx->run->dry_run) {
		/* What would be removed and tuned; the tuning itself (searches
		 * at rising nprobe) is left to the real run. */
		cJSON *sp = cJSON_CreateObject();

		cJSON_AddBoolToObject(rep, "dry_run", 1);
		cJSON_AddNumberToObject(rep, "vectors", (double)f->Index_ntotal(index));
		cJSON_AddNumberToObject(rep, "orphans", (double)norph);
		vx_list_some(rep, "orphan_sample", orph, norph);
		if (sp && vx_search_params(f, index, manifest, sp, err) == OPS_OK &&
		    sp->child) {
			cJSON_AddStringToObject(rep, "would_tune", sp->child->string);
			cJSON_AddItemToObject(rep, "search_parameters", sp);
			sp = NULL;
		} else {
			cJSON_AddNullToObject(rep, "would_tune");
		}
		cJSON_Delete(sp);
		plan_backup(ctx, backup, rep);
		ops_run_would_permit(ctx->run, "optimize", rep);
		rc = OPS_OK;
		goto out;
	}
	if ((rc = remove_ids(f, index, orph, norph, &removed, err)) != OPS_OK)
		goto out;
	cJSON_AddNumberToObject(rep, "orphans_removed", (double)removed);
	cJSON_AddNumberToObject(rep, "vectors", (double)f->Index_ntotal(index));
	/* Tune against exact search over the source. */
	if (smp.n && (rc = vx_truth_noisy(ctx, f, &smp,
					  f->Index_metric_type(index) == METRIC_INNER_PRODUCT, &q,
					  &t, err)) != OPS_OK)
		goto out;
	m2 = vidx_manifest_new(f, index, type, NULL, manifest);
	params = cJSON_GetObjectItemCaseSensitive(m2, "search_parameters");
	if (!cJSON_IsObject(params)) {
		cJSON_DeleteItemFromObjectCaseSensitive(m2, "search_parameters");
		params = cJSON_AddObjectToObject(m2, "search_parameters");
	}
	if (q.n && (rc = vx_tune(f, index, &t, 1, 0.95, rep, params, &reached, err)) != OPS_OK) {
		cJSON_Delete(m2);
		goto out;
	}
	if (backup &&
	    (rc = vx_backup_index(ctx->run->cfg, path, "pre-optimize", 90, rep, err)) != OPS_OK) {
		cJSON_Delete(m2);
		goto out;
	}
	vx_add_time(m2, "optimized_at", time(NULL));
	rc = vidx_swap(f, path, &index, m2, err);
	cJSON_AddNumberToObject(rep, "duration_seconds", ops_clock() - t0);
out:
	if (index)
		f->Index_free(index);
	cJSON_Delete(manifest);
	free(src_ids);
	free(idx_ids);
	free(orph);
	vx_sample_release(&smp);
	vx_sample_release(&q);
	vx_truth_free(&t);
	return rc;
}

/* Queries from a file: a JSON array of vectors of the index's dimension. */
static ops_code load_queries(const char *file, int d, struct vx_sample *q, ops_error *err)
{
	char *text = NULL;
	size_t len = 0, i = 0;
	cJSON *arr, *v;
	ops_code rc = ops_read_file(file, 256u << 20, &text, &len, err);

	if (rc != OPS_OK)
		return rc;
	arr = cJSON_ParseWithLength(text, len);
	free(text);
	if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) == 0) {
		cJSON_Delete(arr);
		return ops_error_set(err, OPS_EDATA,
				     "queries file '%s' is not a JSON array of vectors", file);
	}
	vx_sample_init(q, (size_t)cJSON_GetArraySize(arr), 0);
	q->d = d;
	q->ids = calloc(q->cap, sizeof *q->ids);
	q->x = malloc(q->cap * (size_t)d * sizeof *q->x);
	if (!q->ids || !q->x) {
		cJSON_Delete(arr);
		return ops_error_oom(err);
	}
	cJSON_ArrayForEach(v, arr) {
		const cJSON *e;
		int j = 0;

		if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) != d) {
			cJSON_Delete(arr);
			return ops_error_set(err, OPS_EDATA,
					     "query %zu in '%s' is not a vector of %d numbers",
					     i + 1, file, d);
		}
		cJSON_ArrayForEach(e, v) {
			if (!cJSON_IsNumber(e) || !isfinite(e->valuedouble)) {
				cJSON_Delete(arr);
				return ops_error_set(err, OPS_EDATA, "query %zu in '%s' holds a "
						     "value that is not a finite number", i + 1,
						     file);
			}
			q->x[i * (size_t)d + (size_t)j++] = (float)e->valuedouble;
		}
		i++;
	}
	q->n = i;
	cJSON_Delete(arr);
	return OPS_OK;
}

ops_code ops_vector_eval(const ops_vector_ctx *ctx, int queries, const char *queries_file,
			 cJSON **report, ops_error *err)
{
	const struct vf_api *f = NULL;
	const char *path = vx_index_path(ctx);
	FaissIndex *index = NULL;
	struct vx_sample smp = VX_SAMPLE_INIT, q = VX_SAMPLE_INIT;
	struct vx_truth t = {0};
	int ip;
	long long *ids = NULL;
	size_t nids = 0;
	double recall = 0, *lat = NULL, total = 0;
	char type[96];
	cJSON *rep;
	ops_code rc;
	size_t i;

	*report = NULL;
	if ((rc = vf_load(&f, err)) != OPS_OK)
		return rc;
	if ((rc = vidx_load(f, path, &index, NULL, NULL, err)) != OPS_OK)
		return rc;
	rep = cJSON_CreateObject();
	*report = rep;
	vidx_describe(f, index, type, sizeof type);
	cJSON_AddStringToObject(rep, "index", path);
	cJSON_AddStringToObject(rep, "type", type);
	ip = f->Index_metric_type(index) == METRIC_INNER_PRODUCT;
	if (queries_file && *queries_file) {
		if ((rc = load_queries(queries_file, f->Index_d(index), &q, err)) == OPS_OK &&
		    (rc = vx_truth_init(f, &t, &q, ip, err)) == OPS_OK)
			rc = vx_truth_source(ctx, &t, err);
	} else {
		rc = source_pass(ctx, f->Index_d(index), (size_t)queries, &ids, &nids, &smp, err);
		if (rc == OPS_OK)
			rc = vx_truth_noisy(ctx, f, &smp, ip, &q, &t, err);
	}
	if (rc != OPS_OK)
		goto out;
	cJSON_AddStringToObject(rep, "queries_from", queries_file && *queries_file ? queries_file
				: "source sample, moved by noise");
	lat = calloc(q.n + 1, sizeof *lat);
	if (!lat) {
		rc = ops_error_oom(err);
		goto out;
	}
	if (q.n && (rc = vx_recall(f, index, &t, &recall, lat, err)) != OPS_OK)
		goto out;
	for (i = 0; i < q.n; i++)
		total += lat[i];
	cJSON_AddNumberToObject(rep, "queries", (double)q.n);
	cJSON_AddNumberToObject(rep, "k", VX_K);
	cJSON_AddNumberToObject(rep, "recall_at_10", recall);
	cJSON_AddNumberToObject(rep, "latency_ms_p50", percentile(lat, q.n, 0.50));
	cJSON_AddNumberToObject(rep, "latency_ms_p95", percentile(lat, q.n, 0.95));
	cJSON_AddNumberToObject(rep, "latency_ms_p99", percentile(lat, q.n, 0.99));
	cJSON_AddNumberToObject(rep, "qps", total > 0 ? 1000.0 * (double)q.n / total : 0);
	{
		cJSON *fig = cJSON_AddObjectToObject(rep, "_figures");

		cJSON_AddNumberToObject(fig, "opsctl_vector_recall_at_10_ratio", recall);
		/* the report's search latency trend (lib/report) */
		cJSON_AddNumberToObject(fig, "opsctl_vector_search_seconds",
					percentile(lat, q.n, 0.50) / 1000.0);
	}
out:
	f->Index_free(index);
	vx_sample_release(&smp);
	vx_sample_release(&q);
	vx_truth_free(&t);
	free(ids);
	free(lat);
	return rc;
}

/* --dry-run of purge: which of the ids the index holds (those a real run
 * would remove) and which it does not; nothing written. */
static ops_code purge_plan(const ops_vector_ctx *ctx, const struct vf_api *f, FaissIndex *index,
			   const long long *ids, size_t n, cJSON *rep, ops_error *err)
{
	long long *have = NULL, *hit = malloc((n + 1) * sizeof *hit),
		  *miss = malloc((n + 1) * sizeof *miss);
	size_t nhave = 0, nhit = 0, nmiss = 0, i;
	ops_code rc;

	if (!hit || !miss) {
		rc = ops_error_oom(err);
		goto out;
	}
	if ((rc = vidx_ids(f, index, &have, &nhave, err)) != OPS_OK)
		goto out;
	for (i = 0; i < n; i++) {
		if (bsearch(&ids[i], have, nhave, sizeof *have, vx_cmp_ll))
			hit[nhit++] = ids[i];
		else
			miss[nmiss++] = ids[i];
	}
	cJSON_AddBoolToObject(rep, "dry_run", 1);
	cJSON_AddNumberToObject(rep, "requested", (double)n);
	cJSON_AddNumberToObject(rep, "would_remove", (double)nhit);
	vx_list_some(rep, "would_remove_ids", hit, nhit);
	vx_list_some(rep, "not_in_index_ids", miss, nmiss);
	cJSON_AddNumberToObject(rep, "vectors", (double)f->Index_ntotal(index));
	cJSON_AddBoolToObject(rep, "would_write", nhit > 0);
	ops_run_would_permit(ctx->run, "purge", rep);
out:
	free(have);
	free(hit);
	free(miss);
	return rc;
}

ops_code ops_vector_purge(const ops_vector_ctx *ctx, char *const *id_list, cJSON **report,
			  ops_error *err)
{
	const struct vf_api *f = NULL;
	const char *path = vx_index_path(ctx);
	char **prot = ops_config_list(ctx->run->cfg, "general.protected_paths");
	int is_prot = ops_config_bool(ctx->run->cfg, "vector.protected") ||
		      ops_path_is_protected(path, prot);
	FaissIndex *index = NULL;
	cJSON *rep, *manifest = NULL;
	long long *ids = NULL;
	size_t n = 0, removed = 0, i;
	char type[96];
	ops_code rc;

	ops_strv_free(prot);
	*report = NULL;
	if (is_prot) {
		ops_error_set(err, OPS_EPERM, "index '%s' is a protected store; purge refused",
			      path);
		ops_error_hint(err, "guide 002: never purge the persistent main store; purge a "
			       "local or test copy");
		return OPS_EPERM;
	}
	for (i = 0; id_list && id_list[i]; i++) {
		long long v, *g;
		ops_error perr = {0};

		if (ops_parse_int64(id_list[i], 0, LLONG_MAX, &v, &perr) != OPS_OK) {
			free(ids);
			return ops_error_set(err, OPS_EUSAGE, "--ids: not an id: %s", perr.message);
		}
		g = realloc(ids, (n + 1) * sizeof *g);
		if (!g) {
			free(ids);
			return ops_error_oom(err);
		}
		ids = g;
		ids[n++] = v;
	}
	if (!n)
		return ops_error_set(err, OPS_EUSAGE, "no ids given (--ids 1,2,3)");
	if ((rc = vf_load(&f, err)) != OPS_OK ||
	    (rc = vidx_load(f, path, &index, &manifest, NULL, err)) != OPS_OK) {
		free(ids);
		return rc;
	}
	rep = cJSON_CreateObject();
	*report = rep;
	cJSON_AddStringToObject(rep, "index", path);
	if (ctx->run->dry_run) {
		rc = purge_plan(ctx, f, index, ids, n, rep, err);
		goto out;
	}
	{
		char q[600];

		snprintf(q, sizeof q, "Remove %zu ids from %s?", n, path);
		if ((rc = vx_may_change(ctx, "purge", q, err)) != OPS_OK)
			goto out;
	}
	vidx_sweep_temps(path);
	vidx_describe(f, index, type, sizeof type);
	if ((rc = remove_ids(f, index, ids, n, &removed, err)) != OPS_OK)
		goto out;
	cJSON_AddNumberToObject(rep, "requested", (double)n);
	cJSON_AddNumberToObject(rep, "removed", (double)removed);
	cJSON_AddNumberToObject(rep, "vectors", (double)f->Index_ntotal(index));
	/* Nothing removed, nothing to write: a rewrite would only change the
	 * manifest's history and the file's times for readers that watch
	 * them. */
	cJSON_AddBoolToObject(rep, "written", removed > 0);
	if (!removed) {
		ops_log_info("none of the %zu ids is in the index; it is unchanged", n);
		goto out;
	}
	rc = vidx_swap(f, path, &index, vidx_manifest_new(f, index, type, NULL, manifest), err);
out:
	if (index)
		f->Index_free(index);
	cJSON_Delete(manifest);
	free(ids);
	return rc;
}

/* ---- backups of the index ---- */

ops_code ops_vector_backup(const ops_vector_ctx *ctx, const char *dest, int compress,
			   long retention_days, cJSON **report, ops_error *err)
{
	const char *path = vx_index_path(ctx);
	cJSON *rep = cJSON_CreateObject();
	time_t now = time(NULL);
	struct tm tm;
	ops_config *cfg2 = NULL;
	ops_code rc;

	*report = rep;
	localtime_r(&now, &tm);
	/* The copy is checked before it is kept: a damaged index is not a backup. */
	{
		const struct vf_api *f = NULL;
		FaissIndex *index = NULL;

		if ((rc = vf_load(&f, err)) != OPS_OK ||
		    (rc = vidx_load(f, path, &index, NULL, NULL, err)) != OPS_OK)
			return rc;
		cJSON_AddNumberToObject(rep, "vectors", (double)f->Index_ntotal(index));
		f->Index_free(index);
	}
	if (dest && *dest) {
		cfg2 = ops_config_new();
		if (!cfg2 || ops_config_set(cfg2, "vector.backup_dir", dest, "--destination",
					    err) != OPS_OK) {
			ops_config_free(cfg2);
			return err->code ? err->code : ops_error_oom(err);
		}
		ops_config_set(cfg2, "general.protected_paths",
			       ops_config_get(ctx->run->cfg, "general.protected_paths"), "config",
			       err);
		ops_config_set(cfg2, "general.state_dir",
			       ops_config_get(ctx->run->cfg, "general.state_dir"), "config", err);
	}
	cJSON_AddBoolToObject(rep, "dry_run", ctx->run->dry_run);
	/* --dry-run: the index is checked as above; no copy, retention only named. */
	if (ctx->run->dry_run) {
		cJSON_AddBoolToObject(rep, "would_backup", 1);
		rc = vx_prune_backups(cfg2 ? cfg2 : ctx->run->cfg, retention_days, 1, rep, err);
	} else {
		rc = vx_backup_index(cfg2 ? cfg2 : ctx->run->cfg, path,
				     tm.tm_wday == 0 ? "weekly" : "daily", retention_days, rep, err);
	}
	if (rc == OPS_OK && compress) {
		const char *b;

		b = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rep, "backup"));
		char *zpath = NULL;

		/* zstd of the copy, for `zstd -d` without opsctl; the manifest
		 * beside it keeps the uncompressed file's SHA-256. */
		if (b && asprintf(&zpath, "%s.zst", b) >= 0) {
			rc = ops_archive_copy_file(b, zpath, "zstd", err);
			if (rc == OPS_OK) {
				unlink(b);
				cJSON_DeleteItemFromObjectCaseSensitive(rep, "backup");
				cJSON_AddStringToObject(rep, "backup", zpath);
			}
		}
		free(zpath);
	}
	ops_config_free(cfg2);
	return rc;
}

ops_code ops_vector_verify_backup(const ops_vector_ctx *ctx, const char *id, cJSON **report,
				  ops_error *err)
{
	const char *dir = ops_config_get(ctx->run->cfg, "vector.backup_dir");
	DIR *d = opendir(dir);
	struct dirent *e;
	char best[256] = "", *src = NULL, *tmp = NULL, *tmpdir = NULL;
	double best_time = 0;
	ops_vector_ctx c2 = *ctx;
	ops_code rc;
	cJSON *vrep = NULL;

	*report = NULL;
	if (id && strcmp(id, "latest") == 0)
		id = NULL;
	if (!d)
		return ops_error_errno(err, errno, "cannot open the vector backup directory", dir);
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, "index_", 6) != 0 || strstr(e->d_name, ".manifest.json") ||
		    !strstr(e->d_name, ".faiss"))
			continue;
		if (id) {
			if (strcmp(e->d_name, id) == 0)
				snprintf(best, sizeof best, "%s", e->d_name);
		} else {
			/* The newest by time written; names only break ties. */
			char *p = ops_path_join(dir, e->d_name);
			struct stat st;

			double t = 0;

			if (p && lstat(p, &st) == 0)
				t = (double)st.st_mtim.tv_sec + st.st_mtim.tv_nsec / 1e9;
			if (p && t > 0 && S_ISREG(st.st_mode) &&
			    (t > best_time || (t == best_time && strcmp(e->d_name, best) > 0))) {
				best_time = t;
				snprintf(best, sizeof best, "%s", e->d_name);
			}
			free(p);
		}
	}
	closedir(d);
	if (!*best)
		return ops_error_set(err, OPS_EFAIL, id ? "no vector index backup '%s' in %s"
				     : "no vector index backups in %s%s", id ? id : dir,
				     id ? dir : "");
	src = ops_path_join(dir, best);
	tmpdir = ops_path_join(ops_config_get(ctx->run->cfg, "general.state_dir"),
			       "tmp/vector-verify");
	if (!src || !tmpdir || ops_mkdir_p(tmpdir, 0700, err) != OPS_OK) {
		rc = err->code ? err->code : ops_error_oom(err);
		goto out;
	}
	tmp = ops_path_join(tmpdir, "index.faiss");
	{
		/* Restore into the temporary place: the copy and its manifest. */
		size_t n = strlen(best);
		int z = n > 4 && strcmp(best + n - 4, ".zst") == 0;
		char *base = strndup(src, strlen(src) - (z ? 4 : 0));

		rc = base ? ops_archive_copy_file(src, tmp, z ? "unzstd" : "none", err)
			: ops_error_oom(err);
		if (rc == OPS_OK)
			rc = vidx_manifest_copy(base, tmp, err);
		free(base);
	}
	if (rc != OPS_OK)
		goto out;
	c2.path = tmp;
	rc = ops_vector_verify(&c2, &vrep, err);
	/* The error names the restored copy; say which backup it is. */
	if (rc == OPS_EDATA)
		ops_error_prefix(err, "backup '%s'", best);
	*report = cJSON_CreateObject();
	cJSON_AddStringToObject(*report, "backup", src);
	if (vrep)
		cJSON_AddItemToObject(*report, "verify", vrep);
	cJSON_AddBoolToObject(*report, "verified", rc == OPS_OK);
out:
	if (tmp) {
		char *m = vidx_manifest_path(tmp);

		unlink(tmp);
		if (m)
			unlink(m);
		free(m);
	}
	free(src);
	free(tmp);
	free(tmpdir);
	return rc;
}

/* ---- the hot-chunk cache (guide 002 rebuild_cache) ---- */

/* The ids vector.cache_query names, most accessed first, at most
 * vector.cache_size of them, from the database the embeddings are in. */
static ops_code hot_chunk_ids(const ops_vector_ctx *ctx, long long **hot, size_t *nhot,
			      ops_error *err)
{
	const ops_config *cfg = ctx->run->cfg;
	const char *target = ctx->database && *ctx->database ? ctx->database
		: ops_config_get(cfg, "vector.database");
	long size = ops_config_int(cfg, "vector.cache_size");
	ops_rows *rows = NULL;
	ops_db *db = NULL;
	ops_code rc;
	int i;

	*hot = NULL;
	*nhot = 0;
	if (!target || !*target)
		target = ops_config_get(cfg, "db.name");
	if ((rc = ops_db_open(cfg, target, &db, err)) != OPS_OK)
		goto out;
	/* The configured query is the administrator's, written against the
	 * usual schema; opsctl's own SQL keeps running with no search_path. */
	if (ops_db_kind_of(db) == OPS_DB_POSTGRES &&
	    (rc = ops_db_exec(db, "SELECT pg_catalog.set_config('search_path', 'public', false)",
			      err)) != OPS_OK)
		goto out;
	if ((rc = ops_db_query(db, ops_config_get(cfg, "vector.cache_query"), 0, NULL, &rows,
			       err)) != OPS_OK)
		goto out;
	*hot = malloc(((size_t)ops_rows_count(rows) + 1) * sizeof **hot);
	if (!*hot) {
		rc = ops_error_oom(err);
		goto out;
	}
	for (i = 0; i < ops_rows_count(rows) && (long)*nhot < size; i++) {
		const char *v = ops_rows_value(rows, i, 0);
		if (!v)
			continue;
		if (ops_parse_int64(v, 0, LLONG_MAX, &(*hot)[*nhot], NULL) != OPS_OK) {
			rc = ops_error_set(err, OPS_ECONFIG,
					   "vector.cache_query returned '%s', not a chunk id", v);
			goto out;
		}
		(*nhot)++;
	}
out:
	ops_rows_free(rows);
	ops_db_close(db);
	return rc;
}

/* An exact index of the source's vectors for the hot ids; NULL in *out when
 * none of them has one. */
static ops_code cache_index(const ops_vector_ctx *ctx, const struct vf_api *f,
			    const long long *hot, size_t nhot, FaissIndex **out, ops_error *err)
{
	FaissMetricType metric = strcmp(ops_config_get(ctx->run->cfg, "vector.metric"), "l2") == 0
		? METRIC_L2 : METRIC_INNER_PRODUCT;
	long long ids[BATCH];
	size_t n, xcap = 0;
	float *x = NULL;
	vsrc *src = NULL;
	ops_code rc;

	*out = NULL;
	if ((rc = vsrc_open(ctx->run->cfg, ctx->database, 0, hot, nhot, &src, err)) != OPS_OK)
		return rc;
	while ((rc = vsrc_next(src, BATCH, ids, &x, &xcap, &n, err)) == OPS_OK && n > 0) {
		if (!*out && f->index_factory(out, vsrc_dim(src), "IDMap,Flat", metric) != 0) {
			rc = vf_error(f, err, OPS_EINTERNAL, "creating the cache index");
			break;
		}
		if (f->Index_add_with_ids(*out, (idx_t)n, x, (const idx_t *)ids) != 0) {
			rc = vf_error(f, err, OPS_EFAIL, "adding vectors to the cache");
			break;
		}
	}
	vsrc_close(src);
	free(x);
	return rc;
}

ops_code ops_vector_cache_rebuild(const ops_vector_ctx *ctx, cJSON **report, ops_error *err)
{
	const struct vf_api *f = NULL;
	const char *query = ops_config_get(ctx->run->cfg, "vector.cache_query");
	const char *cpath = ops_config_get(ctx->run->cfg, "vector.cache_path");
	char *path = NULL;
	long long *hot = NULL;
	size_t nhot = 0;
	FaissIndex *index = NULL;
	cJSON *rep, *m;
	double t0 = ops_clock();
	ops_code rc;

	*report = NULL;
	if (!query || !*query) {
		ops_error_set(err, OPS_ECONFIG, "vector.cache_query is not set");
		ops_error_hint(err, "e.g. SELECT chunk_id FROM retrievals GROUP BY chunk_id "
			       "ORDER BY count(*) DESC");
		return OPS_ECONFIG;
	}
	if ((rc = vf_load(&f, err)) != OPS_OK)
		return rc;
	if (cpath && *cpath)
		path = strdup(cpath);
	else if (asprintf(&path, "%s.cache.faiss", vx_index_path(ctx)) < 0)
		path = NULL;
	if (!path)
		return ops_error_oom(err);
	rep = cJSON_CreateObject();
	*report = rep;
	cJSON_AddStringToObject(rep, "cache", path);
	vidx_sweep_temps(path);
	if ((rc = hot_chunk_ids(ctx, &hot, &nhot, err)) != OPS_OK)
		goto out;
	cJSON_AddNumberToObject(rep, "hot_chunks", (double)nhot);
	if (!nhot) {
		rc = ops_error_set(err, OPS_EFAIL, "vector.cache_query returned no chunk ids; "
				   "the cache is unchanged");
		goto out;
	}
	if ((rc = cache_index(ctx, f, hot, nhot, &index, err)) != OPS_OK)
		goto out;
	if (!index) {
		rc = ops_error_set(err, OPS_EFAIL, "none of the hot chunk ids has an embedding; "
				   "the cache is unchanged");
		goto out;
	}
	cJSON_AddNumberToObject(rep, "vectors", (double)f->Index_ntotal(index));
	m = vidx_manifest_new(f, index, "IDMap,Flat",
			      ops_config_get(ctx->run->cfg, "vector.metric"), NULL);
	if (!m) {
		rc = ops_error_oom(err);
		goto out;
	}
	cJSON_AddStringToObject(m, "role", "hot-chunk cache");
	vx_add_time(m, "built_at", time(NULL));
	rc = vidx_swap(f, path, &index, m, err);
	cJSON_AddNumberToObject(rep, "duration_seconds", ops_clock() - t0);
out:
	if (index)
		f->Index_free(index);
	free(hot);
	free(path);
	return rc;
}

/* ---- stress and performance (guide 002 stress_test.py, test_performance.py) ---- */

struct worker {
	const struct vf_api *f;
	FaissIndex *index;
	const struct vx_sample *q;
	size_t from, count;
	double *lat;
	int errors;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	idx_t labels[VX_K];
	float dist[VX_K];
	size_t i;

	/* A cancelled run stops every client; run_load reports it. */
	for (i = 0; i < w->count && !ops_cancelled(); i++) {
		size_t qi = (w->from + i) % w->q->n;
		double t0 = ops_clock();

		const float *query = w->q->x + qi * (size_t)w->q->d;

		if (w->f->Index_search(w->index, 1, query, VX_K, dist, labels) != 0)
			w->errors++;
		w->lat[i] = (ops_clock() - t0) * 1000.0;
	}
	return NULL;
}

static cJSON *run_load(const struct vf_api *f, FaissIndex *index, const struct vx_sample *q,
		       int threads, size_t queries, ops_error *err)
{
	struct worker *w = calloc((size_t)threads, sizeof *w);
	pthread_t *th = calloc((size_t)threads, sizeof *th);
	double *lat = calloc(queries + 1, sizeof *lat), t0, wall;
	size_t per = queries / (size_t)threads, done = 0;
	int t, errors = 0;
	cJSON *o;

	if (!w || !th || !lat) {
		free(w);
		free(th);
		free(lat);
		ops_error_oom(err);
		return NULL;
	}
	t0 = ops_clock();
	for (t = 0; t < threads; t++) {
		w[t].f = f;
		w[t].index = index;
		w[t].q = q;
		w[t].from = done;
		w[t].count = t == threads - 1 ? queries - done : per;
		w[t].lat = lat + done;
		done += w[t].count;
		if (pthread_create(&th[t], NULL, worker_main, &w[t]) != 0)
			w[t].count = 0;
	}
	for (t = 0; t < threads; t++) {
		pthread_join(th[t], NULL);
		errors += w[t].errors;
	}
	wall = ops_clock() - t0;
	if (ops_cancel_check(err) != OPS_OK) {
		free(w);
		free(th);
		free(lat);
		return NULL;
	}
	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "threads", threads);
	cJSON_AddNumberToObject(o, "queries", (double)queries);
	cJSON_AddNumberToObject(o, "errors", errors);
	cJSON_AddNumberToObject(o, "duration_seconds", wall);
	cJSON_AddNumberToObject(o, "qps", wall > 0 ? (double)queries / wall : 0);
	cJSON_AddNumberToObject(o, "latency_ms_p50", percentile(lat, queries, 0.50));
	cJSON_AddNumberToObject(o, "latency_ms_p95", percentile(lat, queries, 0.95));
	cJSON_AddNumberToObject(o, "latency_ms_p99", percentile(lat, queries, 0.99));
	cJSON_AddNumberToObject(o, "latency_ms_max", queries ? lat[queries - 1] : 0);
	free(w);
	free(th);
	free(lat);
	return o;
}

static ops_code save_json(const char *dir, const char *name, const cJSON *o, ops_error *err)
{
	char *path = ops_path_join(dir, name), *text = cJSON_Print(o);
	ops_code rc = path && text ? ops_write_file_atomic(path, text, strlen(text), 0644, err)
				   : ops_error_oom(err);

	free(path);
	free(text);
	return rc;
}

ops_code ops_vector_bench(const ops_vector_ctx *ctx, int threads, int queries, const char *outdir,
			  cJSON **report, ops_error *err)
{
	const struct vf_api *f = NULL;
	const char *path = vx_index_path(ctx);
	FaissIndex *index = NULL;
	struct vx_sample q = VX_SAMPLE_INIT;
	long long *ids = NULL;
	size_t nids = 0;
	cJSON *rep, *perf = NULL, *stress = NULL;
	ops_code rc;

	*report = NULL;
	if ((rc = vf_load(&f, err)) != OPS_OK)
		return rc;
	if ((rc = vidx_load(f, path, &index, NULL, NULL, err)) != OPS_OK)
		return rc;
	rep = cJSON_CreateObject();
	*report = rep;
	cJSON_AddStringToObject(rep, "index", path);
	if ((rc = source_pass(ctx, f->Index_d(index), 1000, &ids, &nids, &q, err)) != OPS_OK)
		goto out;
	if (!q.n) {
		rc = ops_error_set(err, OPS_EFAIL, "the source has no vectors to search with");
		goto out;
	}
	/* Performance: one client, latency.  Stress: N clients at once. */
	perf = run_load(f, index, &q, 1, (size_t)queries, err);
	if (perf)
		stress = run_load(f, index, &q, threads, (size_t)queries * (size_t)threads, err);
	if (!perf || !stress) {
		rc = err->code;
		goto out;
	}
	if (outdir && *outdir) {
		if ((rc = ops_mkdir_p(outdir, 0755, err)) != OPS_OK ||
		    (rc = save_json(outdir, "performance_results.json", perf, err)) != OPS_OK ||
		    (rc = save_json(outdir, "stress_test_results.json", stress, err)) != OPS_OK)
			goto out;
		cJSON_AddStringToObject(rep, "results_dir", outdir);
	}
	if (cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(stress, "errors")) > 0)
		rc = ops_error_set(err, OPS_EFAIL, "searches failed under load");
	cJSON_AddItemToObject(rep, "performance", perf);
	cJSON_AddItemToObject(rep, "stress", stress);
	perf = stress = NULL;	/* the report's now */
out:
	cJSON_Delete(perf);
	cJSON_Delete(stress);
	f->Index_free(index);
	vx_sample_release(&q);
	free(ids);
	return rc;
}
