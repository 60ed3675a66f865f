/*
 * verify, rebuild and stats for the FAISS index (vector.h).  Both verify and
 * rebuild make one streaming pass over the source (two for an index that
 * must be trained: a sample first), keeping only ids and a reservoir sample
 * of vectors beside the index itself, so memory is the index plus a little.
 * A cancelled run (cancel.h) stops between batches, between searches and
 * before the swap, through the same error paths as any failure: the live
 * index and its manifest are never touched by a run that did not finish.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "opsmaint/archive.h"
#include "opsmaint/cancel.h"
#include "opsmaint/clock.h"
#include "opsmaint/fileio.h"
#include "opsmaint/json.h"
#include "opsmaint/log.h"
#include "opsmaint/vector.h"
#include "opsmaint/walk.h"
#include "opsmaint/window.h"
#include "vector/vector_internal.h"

#define READ_BATCH 4096
/* Queries per FAISS search call when a whole sample is searched: FAISS
 * cannot be interrupted inside a call, so a cancellation waits for one. */
#define SEARCH_BATCH 1024

const char *vx_index_path(const ops_vector_ctx *ctx)
{
	if (ctx->path && *ctx->path)
		return ctx->path;
	return ops_config_get(ctx->run->cfg, "vector.index_path");
}

int vx_ids_reserve(long long **ids, size_t used, size_t more, size_t *cap)
{
	long long *grown;

	if (used + more <= *cap)
		return 0;
	grown = realloc(*ids, (used + more) * 2 * sizeof *grown);
	if (!grown)
		return -1;
	*ids = grown;
	*cap = (used + more) * 2;
	return 0;
}

int vx_is_exact(const char *type)
{
	return strstr(type, "Flat") && !strstr(type, "IVF");
}

/* Whether the index's answer for sampled vector v (id) counts as found;
 * see vx_search_sample. */
static int found_self(const idx_t *l, const float *dd, idx_t k, long long id, const float *v,
		      int d, int exact, int ip)
{
	idx_t j;

	for (j = 0; j < k; j++)
		if (l[j] == id)
			break;
	if (!exact)
		return j < k;	/* approximate (IVF, PQ, HNSW): among the top k */
	if (ip) {
		double self = 0, tol;
		int i;

		for (i = 0; i < d; i++)
			self += (double)v[i] * v[i];
		tol = 1e-3 * (self > 1 ? self : 1);
		return j < k ? fabs(dd[j] - self) <= tol : dd[0] > self + tol;
	}
	return j < k && (j == 0 || dd[j] == dd[0]);
}

/*
 * Search every sampled vector; *hits counts those the index answers for
 * correctly.  An approximate index must return the vector's id among the
 * top 10 (self-recall@10).  For an exact one, with L2 a vector must come
 * back at rank 1 (or tied with it: duplicates).  With inner product a
 * vector need not be its own best match (a longer one can score higher),
 * so a hit is: its id among the top 10 with its own score v.v, or a top
 * score above v.v.  A top score below v.v, or its id with another score,
 * means the index lost or damaged it.
 */
ops_code vx_search_sample(const struct vf_api *f, FaissIndex *index, const struct vx_sample *s,
			  int exact, size_t *hits, double *seconds, ops_error *err)
{
	int ip = f->Index_metric_type(index) == METRIC_INNER_PRODUCT;
	size_t chunk = s->n < SEARCH_BATCH ? s->n : SEARCH_BATCH, from, i;
	idx_t k = 10, *labels;
	float *dist;
	double t0 = ops_clock();
	ops_code rc = OPS_OK;

	*hits = 0;
	*seconds = 0;
	if (s->n == 0)
		return OPS_OK;
	labels = malloc(chunk * (size_t)k * sizeof *labels);
	dist = malloc(chunk * (size_t)k * sizeof *dist);
	if (!labels || !dist) {
		rc = ops_error_oom(err);
		goto out;
	}
	for (from = 0; from < s->n; from += chunk) {
		size_t nq = s->n - from < chunk ? s->n - from : chunk;
		const float *q = s->x + from * (size_t)s->d;

		if ((rc = ops_cancel_check(err)) != OPS_OK)
			goto out;
		if (f->Index_search(index, (idx_t)nq, q, k, dist, labels) != 0) {
			rc = vf_error(f, err, OPS_EDATA, "searching the index failed");
			goto out;
		}
		for (i = 0; i < nq; i++)
			*hits += (size_t)found_self(labels + i * (size_t)k, dist + i * (size_t)k, k,
						    s->ids[from + i], q + i * (size_t)s->d, s->d,
						    exact, ip);
	}
	*seconds = ops_clock() - t0;
out:
	free(labels);
	free(dist);
	return rc;
}

void vx_report_found(cJSON *rep, size_t searched, size_t found, int exact)
{
	cJSON_AddNumberToObject(rep, "searched", (double)searched);
	cJSON_AddNumberToObject(rep, "found", (double)found);
	cJSON_AddNumberToObject(rep, "self_recall",
				searched ? (double)found / (double)searched : 1.0);
	cJSON_AddNumberToObject(rep, "found_within_top", exact ? 1 : 10);
}

/* Add up to 20 values of v to arr; count them all in the report. */
void vx_list_some(cJSON *rep, const char *name, const long long *v, size_t n)
{
	cJSON *arr = cJSON_AddArrayToObject(rep, name);
	size_t i;

	for (i = 0; i < n && i < 20; i++)
		cJSON_AddItemToArray(arr, cJSON_CreateNumber((double)v[i]));
}

/* ---- verify ---- */

/*
 * The source, cheaply: the ids of the rows with an embedding (not their
 * vectors), sorted into *ids, and a uniform sample of them; then only the
 * sample's vectors, those of the index's dimension d, into smp.  *src_d is
 * the source's dimension as the sample's rows show it (0: none read).
 */
static ops_code source_ids_sample(const ops_vector_ctx *ctx, int d, long long **ids, size_t *nids,
				  struct vx_sample *smp, int *src_d, cJSON *rep, ops_error *err)
{
	const ops_config *cfg = ctx->run->cfg;
	long long batch[READ_BATCH];
	struct vx_sample pick;
	size_t xcap = 0, cap = 0, n, i;
	float *x = NULL;
	vsrc *src = NULL;
	ops_code rc;

	*ids = NULL;
	*nids = 0;
	*src_d = 0;
	vx_sample_init(&pick, (size_t)ops_config_int(cfg, "vector.sample"), 42);
	if ((rc = vsrc_open(cfg, ctx->database, 1, NULL, 0, &src, err)) != OPS_OK)
		goto out;
	while ((rc = vsrc_next(src, READ_BATCH, batch, &x, &xcap, &n, err)) == OPS_OK && n > 0) {
		if (vx_ids_reserve(ids, *nids, n, &cap) != 0) {
			rc = ops_error_oom(err);
			goto out;
		}
		for (i = 0; i < n; i++) {
			(*ids)[(*nids)++] = batch[i];
			if (vx_sample_add(&pick, batch[i], NULL, 0) != 0) {
				rc = ops_error_oom(err);
				goto out;
			}
		}
	}
	if (rc != OPS_OK)
		goto out;
	cJSON_AddStringToObject(rep, "source", vsrc_describe(src));
	cJSON_AddNumberToObject(rep, "source_rows", (double)*nids);
	cJSON_AddNumberToObject(rep, "null_embeddings", (double)vsrc_nulls(src));
	vsrc_close(src);
	src = NULL;
	qsort(*ids, *nids, sizeof **ids, vx_cmp_ll);
	if (!pick.n)
		goto out;
	vx_sample_init(smp, pick.n, 42);
	if ((rc = vsrc_open(cfg, ctx->database, 0, pick.ids, pick.n, &src, err)) != OPS_OK)
		goto out;
	while ((rc = vsrc_next(src, READ_BATCH, batch, &x, &xcap, &n, err)) == OPS_OK && n > 0) {
		for (i = 0; i < n && vsrc_dim(src) == d; i++)
			if (vx_sample_add(smp, batch[i], x + i * (size_t)d, d) != 0) {
				rc = ops_error_oom(err);
				goto out;
			}
	}
	*src_d = vsrc_dim(src);
out:
	vsrc_close(src);
	vx_sample_release(&pick);
	free(x);
	return rc;
}

/* The two sorted id sets merged: source ids the index lacks (missing) and
 * index ids with no row (orphan). */
static ops_code diff_ids(const long long *src, size_t nsrc, const long long *idx, size_t nidx,
			 long long **missing, size_t *nmiss, long long **orphan, size_t *norph,
			 ops_error *err)
{
	size_t i = 0, j = 0;

	*nmiss = *norph = 0;
	*missing = calloc(nsrc + 1, sizeof **missing);
	*orphan = calloc(nidx + 1, sizeof **orphan);
	if (!*missing || !*orphan)
		return ops_error_oom(err);
	while (i < nsrc || j < nidx) {
		if (j >= nidx || (i < nsrc && src[i] < idx[j]))
			(*missing)[(*nmiss)++] = src[i++];
		else if (i >= nsrc || idx[j] < src[i])
			(*orphan)[(*norph)++] = idx[j++];
		else
			i++, j++;
	}
	return OPS_OK;
}

/* "nprobe 16", "efSearch 64", or what says the index was searched as it is. */
static void params_text(const cJSON *params, char *out, size_t len)
{
	const cJSON *p = params ? params->child : NULL;

	if (p && cJSON_IsNumber(p))
		snprintf(out, len, "%s %g", p->string, p->valuedouble);
	else
		snprintf(out, len, "its own search parameters");
}

/* The bar, as a fraction: vector.recall_bar is a percent. */
static double recall_bar(const ops_config *cfg)
{
	return (double)ops_config_int(cfg, "vector.recall_bar") / 100.0;
}

/*
 * The search check.  Every sampled vector is searched for itself: an exact
 * index must find each at rank 1 (vx_search_sample), or it lost or damaged
 * it; its recall is 1 by construction, so nothing more is spent on it.  An
 * approximate index is measured: recall@10 against exact search over the
 * source, for the sample moved by noise, at the search parameters it is
 * stored with; below vector.recall_bar it is *below (bad data, exit 65).
 */
static ops_code check_recall(const ops_vector_ctx *ctx, const struct vf_api *f, FaissIndex *index,
			     const struct vx_sample *smp, int exact, cJSON *rep, cJSON *findings,
			     int *below, ops_error *err)
{
	double bar = recall_bar(ctx->run->cfg), seconds = 0, recall;
	const cJSON *manifest = cJSON_GetObjectItemCaseSensitive(rep, "manifest");
	struct vx_sample q = VX_SAMPLE_INIT;
	struct vx_truth t = {0};
	cJSON *params = cJSON_CreateObject();
	char ptext[64];
	size_t hits = 0;
	ops_code rc;

	*below = 0;
	if (!params)
		return ops_error_oom(err);
	if ((rc = vx_search_sample(f, index, smp, exact, &hits, &seconds, err)) != OPS_OK)
		goto out;
	vx_report_found(rep, smp->n, hits, exact);
	cJSON_AddNumberToObject(rep, "search_ms_per_query", 1000.0 * seconds / (double)smp->n);
	if (exact) {
		if (hits != smp->n)
			ops_json_add_stringf(findings, "only %zu of %zu sampled vectors were found at rank 1 "
				    "by searching for them (an exact index must find each)", hits,
				    smp->n);
		vx_report_recall(rep, 1.0, smp->n, params, bar, "exact index: exact search");
		goto out;
	}
	if ((rc = vx_search_params(f, index, manifest, params, err)) != OPS_OK ||
	    (rc = vx_truth_noisy(ctx, f, smp, f->Index_metric_type(index) == METRIC_INNER_PRODUCT,
				 &q, &t, err)) != OPS_OK ||
	    (rc = vx_recall(f, index, &t, &recall, NULL, err)) != OPS_OK)
		goto out;
	vx_report_recall(rep, recall, q.n, params, bar,
			 "against exact search over the source, for sampled vectors moved by noise");
	params_text(params, ptext, sizeof ptext);
	if (recall + 1e-9 < bar) {
		ops_json_add_stringf(findings, "recall@10 is %.3f at %s, below vector.recall_bar %.2f "
			    "(exact search over the source, %zu queries)", recall, ptext, bar,
			    q.n);
		*below = 1;
	}
out:
	cJSON_Delete(params);
	vx_sample_release(&q);
	vx_truth_free(&t);
	return rc;
}

/* One line naming every finding, for cron mail and CI logs: OPS_EFAIL, or
 * OPS_OK when there is none. */
static ops_code findings_error(const cJSON *findings, ops_error *err)
{
	char line[sizeof err->message];

	if (cJSON_GetArraySize(findings) == 0)
		return OPS_OK;
	return ops_error_set(err, OPS_EFAIL, "%s", ops_json_join(findings, line, sizeof line));
}

ops_code ops_vector_verify(const ops_vector_ctx *ctx, cJSON **report, ops_error *err)
{
	const struct vf_api *f = NULL;
	const char *path = vx_index_path(ctx);
	FaissIndex *index = NULL;
	cJSON *rep, *manifest = NULL, *findings, *fig;
	long long *idx_ids = NULL, *src_ids = NULL, *missing = NULL, *orphan = NULL, ntotal;
	size_t nidx = 0, nsrc = 0, nmiss = 0, norph = 0;
	struct vx_sample smp = VX_SAMPLE_INIT;
	char sha[65], type[96];
	double t0 = ops_clock();
	int d, src_d = 0, below = 0;
	ops_code rc;

	*report = NULL;
	if ((rc = vf_load(&f, err)) != OPS_OK)
		return rc;
	rep = cJSON_CreateObject();
	*report = rep;
	cJSON_AddStringToObject(rep, "index", path);
	if ((rc = vidx_load(f, path, &index, &manifest, sha, err)) != OPS_OK)
		goto out;
	vidx_describe(f, index, type, sizeof type);
	d = f->Index_d(index);
	ntotal = (long long)f->Index_ntotal(index);
	cJSON_AddStringToObject(rep, "sha256", sha);
	/* As stats shows it: what the file was checked against, or null. */
	vidx_manifest_normalize(manifest);
	cJSON_AddItemToObject(rep, "manifest", manifest ? manifest : cJSON_CreateNull());
	manifest = NULL;
	cJSON_AddStringToObject(rep, "type", type);
	cJSON_AddNumberToObject(rep, "dimension", d);
	cJSON_AddStringToObject(rep, "metric", vx_metric_name(f->Index_metric_type(index)));
	cJSON_AddNumberToObject(rep, "vectors", (double)ntotal);
	findings = cJSON_AddArrayToObject(rep, "findings");
	if ((rc = vidx_ids(f, index, &idx_ids, &nidx, err)) != OPS_OK ||
	    (rc = source_ids_sample(ctx, d, &src_ids, &nsrc, &smp, &src_d, rep, err)) != OPS_OK)
		goto out;
	if (src_d && src_d != d)
		ops_json_add_stringf(findings, "index has %d dimensions, the source %d", d, src_d);
	if ((long long)nsrc != ntotal)
		ops_json_add_stringf(findings, "index holds %lld vectors, the source %zu rows with an "
			    "embedding", ntotal, nsrc);
	rc = diff_ids(src_ids, nsrc, idx_ids, nidx, &missing, &nmiss, &orphan, &norph, err);
	if (rc != OPS_OK)
		goto out;
	cJSON_AddNumberToObject(rep, "missing_ids", (double)nmiss);
	cJSON_AddNumberToObject(rep, "orphan_ids", (double)norph);
	vx_list_some(rep, "missing_sample", missing, nmiss);
	vx_list_some(rep, "orphan_sample", orphan, norph);
	if (nmiss || norph)
		ops_json_add_stringf(findings, "%zu source rows are missing from the index and %zu "
			    "index ids have no row", nmiss, norph);
	if (smp.n) {
		rc = check_recall(ctx, f, index, &smp, vx_is_exact(type), rep, findings, &below,
				  err);
		if (rc != OPS_OK)
			goto out;
	}
	cJSON_AddNumberToObject(rep, "duration_seconds", ops_clock() - t0);
	fig = cJSON_AddObjectToObject(rep, "_figures");
	cJSON_AddNumberToObject(fig, "opsctl_vector_index_vectors", (double)ntotal);
	cJSON_AddNumberToObject(fig, "opsctl_vector_missing_ids", (double)nmiss);
	cJSON_AddNumberToObject(fig, "opsctl_vector_orphan_ids", (double)norph);
	if (smp.n) {
		const cJSON *recall = cJSON_GetObjectItemCaseSensitive(rep, "recall_at_10");

		cJSON_AddNumberToObject(fig, "opsctl_vector_recall_at_10_ratio", cJSON_GetNumberValue(recall));
	}
	rc = findings_error(findings, err);
	/* An index of another dimension than its source, or one that does not
	 * find what exact search finds, is bad data, like a damaged file
	 * (DESIGN's exit 65), not a finding to fix by adding rows. */
	if (rc == OPS_EFAIL && ((src_d && src_d != d) || below))
		err->code = rc = OPS_EDATA;
out:
	if (index)
		f->Index_free(index);
	cJSON_Delete(manifest);
	free(idx_ids);
	free(src_ids);
	free(missing);
	free(orphan);
	vx_sample_release(&smp);
	return rc;
}

/*
 * Before a command changes the live index (swap, purge): DESIGN counts an
 * index swap as destructive, so the window and the question, unless
 * --force, as the guide's quarterly cron line (--backup --force) needs on
 * any weekday.
 */
ops_code vx_may_change(const ops_vector_ctx *ctx, const char *what, const char *question,
		       ops_error *err)
{
	return ops_run_permit(ctx->run, what, question, err);
}

/* ---- rebuild ---- */

int vx_want_backup(const ops_config *cfg, int choice, const char *key)
{
	return choice > 0 || (choice == 0 && ops_config_bool(cfg, key));
}

/* vector.factory asks for the planner's choice: "auto", or not set. */
static int factory_is_auto(const char *f)
{
	return !f || !*f || strcmp(f, "auto") == 0;
}

/*
 * Factory auto: the kind the planner chooses (vx_plan_index, the chooser of
 * optimize -t advanced) for rows vectors of the dimension the source's
 * first vector has, within vector.memory_budget; rep gets its memory_plan,
 * *train the training sample it leaves room for.  A budget too small for
 * any kind is OPS_ECONFIG naming vector.memory_budget.
 */
static ops_code auto_factory(const ops_vector_ctx *ctx, long long rows, char *out, size_t len,
			     long long *train, cJSON *rep, ops_error *err)
{
	struct vx_plan plan;
	int d = 0;
	ops_code rc;

	if ((rc = vsrc_first_dim(ctx->run->cfg, ctx->database, &d, err)) != OPS_OK)
		return rc;
	if (d == 0)
		return ops_error_set(err, OPS_EFAIL, "the source has no rows with an embedding; "
				     "not replacing the index with an empty one");
	if ((rc = vx_plan_index(ctx->run->cfg, rows, d, &plan, rep, err)) != OPS_OK)
		return rc;
	snprintf(out, len, "%s", plan.type);
	*train = plan.train;
	return OPS_OK;
}

/*
 * Retention of index copies (guide 000 section 5.3): daily copies 7 days
 * (or -r DAYS), weekly ones 30, pre-rebuild and pre-optimize ones 90, each
 * at least -r; the tag is in the name.  Through core/walk: regular files in
 * the directory itself, protected paths left.
 */
struct vx_retention {
	time_t now;
	long daily;
};

static int vx_backup_expired(void *arg, const ops_walk_entry *e)
{
	const struct vx_retention *r = arg;
	long keep = r->daily;

	if (strstr(e->name, "_weekly"))
		keep = r->daily > 30 ? r->daily : 30;
	else if (strstr(e->name, "_pre-"))
		keep = r->daily > 90 ? r->daily : 90;
	return e->time < r->now - keep * 86400L;
}

ops_code vx_prune_backups(const ops_config *cfg, long days, int dry_run, cJSON *rep,
			  ops_error *err)
{
	char *patterns[] = {"index_*.faiss*", NULL};
	char **prot = ops_config_list(cfg, "general.protected_paths");
	struct vx_retention r = {time(NULL), days > 0 ? days : 7};
	ops_walk_opts o;
	ops_code rc;

	ops_walk_opts_init(&o);
	o.patterns = patterns;
	o.max_depth = 1;
	o.older_than = r.now - r.daily * 86400L;	/* the shortest; the rest by tag */
	o.dry_run = dry_run;
	o.protected_paths = prot;
	o.state_dir = ops_config_get(cfg, "general.state_dir");
	o.select = vx_backup_expired;
	o.arg = &r;
	rc = ops_walk_prune(ops_config_get(cfg, "vector.backup_dir"), &o, rep, err);
	ops_strv_free(prot);
	return rc;
}

/* Copy the live index (and its manifest) to dir as index_STAMP_TAG.faiss,
 * then remove copies older than retention_days. */
ops_code vx_backup_index(const ops_config *cfg, const char *path, const char *tag,
			     long retention_days, cJSON *rep, ops_error *err)
{
	const char *dir = ops_config_get(cfg, "vector.backup_dir");
	char stamp[OPS_TIME_ISO_SIZE], name[128], *dest = NULL;
	ops_code rc;
	int n;

	if (access(path, F_OK) != 0)
		return OPS_OK;	/* nothing to keep */
	/* index_20261202T005529Z_daily.faiss: UTC, marked so, as every name
	 * opsctl writes; copies named before (index_20261202_005529_daily)
	 * match the same pattern and tags, so retention still prunes them.
	 * A second copy in the same second (two rebuilds in a row) is
	 * index_..._daily-2.faiss, as backup ids get "-2": the copy is
	 * written by rename, which would otherwise replace the first. */
	ops_time_stamp(time(NULL), stamp);
	if ((rc = ops_mkdir_p(dir, 0700, err)) != OPS_OK)
		return rc;
	for (n = 1; n < 100; n++) {
		if (n == 1)
			snprintf(name, sizeof name, "index_%s_%s.faiss", stamp, tag);
		else
			snprintf(name, sizeof name, "index_%s_%s-%d.faiss", stamp, tag, n);
		free(dest);
		if (!(dest = ops_path_join(dir, name))) {
			rc = ops_error_oom(err);
			goto out;
		}
		if (access(dest, F_OK) != 0 && errno == ENOENT)
			break;
	}
	if (n == 100) {
		rc = ops_error_set(err, OPS_EFAIL, "no free name for an index copy in '%s' (%s)",
				   dir, stamp);
		goto out;
	}
	rc = ops_archive_copy_file(path, dest, "none", err);
	if (rc == OPS_OK)
		rc = vidx_manifest_copy(path, dest, err);
	if (rc == OPS_OK) {
		cJSON_AddStringToObject(rep, "backup", dest);
		rc = vx_prune_backups(cfg, retention_days, 0, rep, err);
	}
out:
	free(dest);
	return rc;
}

/* One rebuild: what its passes share. */
struct build {
	const ops_vector_ctx *ctx;
	const struct vf_api *f;
	const char *factory;
	FaissMetricType metric;
	size_t batch;
	long long expected;	/* rows counted first (factory auto), else 0 */
	size_t train;		/* the training sample's size; 0: the default */
	long long rows;		/* vectors added */
	long long *ids;		/* one batch */
	float *x;
	size_t xcap;
	FaissIndex *index;
	struct vx_sample check;	/* searched for before the swap */
	int measure;		/* recall is measured (approximate, to be swapped in) */
	struct vx_sample q;	/* its queries, */
	struct vx_truth truth;	/* their exact answers, */
	int truth_live;		/* found while the rows are added (after training) */
	double t0;
};

/*
 * One pass over the source, its first batch read: the index is made from
 * the first row's dimension, so both passes start the same way.  *n is 0
 * when the source has no row with an embedding.
 */
static ops_code pass_open(struct build *b, vsrc **src, size_t *n, ops_error *err)
{
	ops_code rc = vsrc_open(b->ctx->run->cfg, b->ctx->database, 0, NULL, 0, src, err);

	if (rc == OPS_OK)
		rc = vsrc_next(*src, b->batch, b->ids, &b->x, &b->xcap, n, err);
	return rc;
}

/*
 * The pass that trains an index that needs it (IVF): a uniform sample of
 * every row, then k-means on it.  n rows of src are already in b->ids/x.
 */
static ops_code train_pass(struct build *b, vsrc *src, size_t n, ops_error *err)
{
	/* Enough for k-means: 256 points per list at most; fewer when the
	 * caller's memory plan says so. */
	size_t most = b->train > 0 ? b->train : 100000, i;
	size_t cap = b->expected > 0 && (size_t)b->expected < most ? (size_t)b->expected : most;
	struct vx_sample train;
	ops_code rc = OPS_OK;
	int d = vsrc_dim(src);

	vx_sample_init(&train, cap, 11);
	while (n > 0) {
		for (i = 0; i < n; i++)
			if (vx_sample_add(&train, b->ids[i], b->x + i * (size_t)d, d) != 0) {
				rc = ops_error_oom(err);
				goto out;
			}
		if ((rc = vsrc_next(src, b->batch, b->ids, &b->x, &b->xcap, &n, err)) != OPS_OK)
			goto out;
	}
	/* Training is one FAISS call that cannot stop halfway: not begun
	 * when the run was cancelled while the sample was read. */
	if ((rc = ops_cancel_check(err)) != OPS_OK)
		goto out;
	ops_log_info("training %s on %zu vectors", b->factory, train.n);
	if (b->f->Index_train(b->index, (idx_t)train.n, train.x) != 0) {
		rc = vf_error(b->f, err, OPS_EFAIL, "training the index");
		goto out;
	}
	if ((rc = ops_cancel_check(err)) != OPS_OK)
		goto out;
	if (b->f->reserve_lists) {
		long long want = b->expected > 0 ? b->expected : vsrc_rows_estimate(src);

		if (want > 0 && b->f->reserve_lists(b->index, (idx_t)train.n, train.x,
						    (idx_t)want) != 0)
			ops_log_debug("no room reserved in the lists for %lld vectors: %s", want,
				      b->f->get_last_error());
	}
	if (b->measure) {
		/* The recall queries from the training sample, a uniform one
		 * already at hand, so that their exact answers are found while
		 * the rows are added, with no pass of their own. */
		struct vx_sample view = train;

		view.n = view.n < b->check.cap ? view.n : b->check.cap;
		if ((rc = vx_noisy_queries(&view, &b->q, err)) == OPS_OK &&
		    (rc = vx_truth_init(b->f, &b->truth, &b->q,
					b->metric == METRIC_INNER_PRODUCT, err)) == OPS_OK)
			b->truth_live = 1;
	}
out:
	vx_sample_release(&train);
	return rc;
}

/* The pass that adds every row (n already read) to the index, in batches,
 * and keeps a sample to search for before the swap. */
static ops_code add_pass(struct build *b, vsrc *src, size_t n, ops_error *err)
{
	const struct vf_api *f = b->f;
	int d = vsrc_dim(src);
	ops_code rc = OPS_OK;
	size_t i;

	while (n > 0) {
		if ((rc = ops_cancel_check(err)) != OPS_OK)
			return rc;
		if (f->Index_add_with_ids(b->index, (idx_t)n, b->x, (const idx_t *)b->ids) != 0)
			return vf_error(f, err, OPS_EFAIL, "adding vectors");
		if (b->truth_live && (rc = vx_truth_add(&b->truth, b->ids, b->x, n, err)) != OPS_OK)
			return rc;
		for (i = 0; i < n; i++)
			if (vx_sample_add(&b->check, b->ids[i], b->x + i * (size_t)d, d) != 0)
				return ops_error_oom(err);
		b->rows += (long long)n;
		ops_run_progress(b->ctx->run, "vectors", (double)b->rows, 0, "vectors", b->t0, 0);
		if ((rc = vsrc_next(src, b->batch, b->ids, &b->x, &b->xcap, &n, err)) != OPS_OK)
			return rc;
	}
	return OPS_OK;
}

/*
 * Room in the index for the rows about to be added, so that FAISS does not
 * grow it by doubling: the count taken first (factory auto), else the
 * planner's estimate.  Only an optimisation: failing is no error.
 */
static void reserve_rows(struct build *b, const vsrc *src)
{
	long long want = b->expected > 0 ? b->expected : vsrc_rows_estimate(src);
	const char *from = b->expected > 0 ? "counted" : "the planner's estimate";

	if (want <= 0 || !b->f->reserve)
		return;
	if (b->f->reserve(b->index, (idx_t)want) != 0)
		ops_log_debug("no room reserved for %lld vectors (%s): %s", want, from,
			      b->f->get_last_error());
	else
		ops_log_debug("room reserved for %lld vectors (%s)", want, from);
}

/* Make the index and fill it: one pass, or a training pass and then one. */
static ops_code build_index(struct build *b, cJSON *rep, ops_error *err)
{
	vsrc *src = NULL;
	size_t n = 0;
	ops_code rc;

	if ((rc = pass_open(b, &src, &n, err)) != OPS_OK)
		goto out;
	cJSON_AddStringToObject(rep, "source", vsrc_describe(src));
	if (n == 0)
		goto out;	/* no rows: the caller says so */
	if (b->f->index_factory(&b->index, vsrc_dim(src), b->factory, b->metric) != 0) {
		rc = vf_error(b->f, err, OPS_ECONFIG, "vector.factory");
		goto out;
	}
	if (!b->f->Index_is_trained(b->index)) {
		rc = train_pass(b, src, n, err);
		vsrc_close(src);
		src = NULL;
		if (rc != OPS_OK || (rc = pass_open(b, &src, &n, err)) != OPS_OK)
			goto out;
	}
	reserve_rows(b, src);
	rc = add_pass(b, src, n, err);
out:
	if (src) {
		cJSON_DeleteItemFromObjectCaseSensitive(rep, "null_embeddings");
		cJSON_AddNumberToObject(rep, "null_embeddings", (double)vsrc_nulls(src));
		cJSON_DeleteItemFromObjectCaseSensitive(rep, "read_jobs");
		cJSON_AddNumberToObject(rep, "read_jobs", vsrc_jobs(src));
	}
	vsrc_close(src);
	return rc;
}

/* The manifest of a rebuilt index: what it was built from, and when. */
static cJSON *build_manifest(const struct build *b, const char *metric, const cJSON *params,
			     const cJSON *rep)
{
	const char *source = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rep, "source"));
	cJSON *m = vidx_manifest_new(b->f, b->index, b->factory, metric, NULL);
	char stamp[OPS_TIME_ISO_SIZE];

	if (!m)
		return NULL;
	cJSON_AddStringToObject(m, "source", source);
	cJSON_AddNumberToObject(m, "source_rows", (double)b->rows);
	cJSON_AddNumberToObject(m, "build_seconds", ops_clock() - b->t0);
	cJSON_AddStringToObject(m, "built_at", ops_time_iso(time(NULL), stamp));
	cJSON_AddItemToObject(m, "search_parameters",
			      params ? cJSON_Duplicate(params, 1) : cJSON_CreateObject());
	return m;
}

/* The factory: -t's (optimize), else vector.factory, else ("auto") the
 * planner's for the number of rows, which only then is counted (a scan of
 * the table), and the training sample it plans is the one trained on. */
static ops_code rebuild_factory(struct build *b, const ops_rebuild_opts *o, char *out, size_t len,
				cJSON *rep, ops_error *err)
{
	const ops_config *cfg = b->ctx->run->cfg;
	const char *fac = o->factory ? o->factory : ops_config_get(cfg, "vector.factory");
	long long train = 0;
	ops_code rc;

	if (!factory_is_auto(fac)) {
		snprintf(out, len, "%s", fac);
		return OPS_OK;
	}
	if ((rc = vsrc_count(cfg, b->ctx->database, 0, &b->expected, err)) != OPS_OK)
		return rc;
	if (b->expected == 0)
		return ops_error_set(err, OPS_EFAIL, "the source has no rows with an "
				     "embedding; not replacing the index with an empty one");
	if ((rc = auto_factory(b->ctx, b->expected, out, len, &train, rep, err)) != OPS_OK)
		return rc;
	b->train = (size_t)train;
	return OPS_OK;
}

/*
 * An approximate index's recall@10 against exact search, for queries that
 * are not its own vectors, at the search parameters it will be stored with;
 * raised (nprobe, efSearch) until it clears vector.recall_bar with a margin
 * of two standard errors, so that verify's own sample, another one, does
 * not fall below the bar where this one just passed.  Short of the bar at
 * the most the parameter can search, the index is refused: OPS_EDATA, the
 * live index untouched.  params gets what it is stored with.
 */
static ops_code rebuild_recall(struct build *b, cJSON *rep, cJSON *params, ops_error *err)
{
	const struct vf_api *f = b->f;
	double bar = recall_bar(b->ctx->run->cfg), recall, reached, target;
	const cJSON *np;
	char ptext[64];
	ops_code rc;

	if (b->truth_live)
		rc = vx_truth_finish(&b->truth, err);
	else
		rc = vx_truth_noisy(b->ctx, f, &b->check, b->metric == METRIC_INNER_PRODUCT, &b->q,
				    &b->truth, err);
	if (rc != OPS_OK || (rc = vx_search_params(f, b->index, NULL, params, err)) != OPS_OK ||
	    (rc = vx_recall(f, b->index, &b->truth, &recall, NULL, err)) != OPS_OK)
		return rc;
	target = bar + 2.0 * sqrt(bar * (1.0 - bar) / (double)(b->q.n * VX_K));
	if (target > 1.0)
		target = 1.0;
	if (recall < target) {
		np = cJSON_GetObjectItemCaseSensitive(params, "nprobe");
		rc = vx_tune(f, b->index, &b->truth, np ? np->valuedouble : 0, target, rep, params,
			     &reached, err);
		if (rc != OPS_OK)
			return rc;
		if (reached >= 0)
			recall = reached;
	}
	vx_report_recall(rep, recall, b->q.n, params, bar,
			 "against exact search over the source, for sampled vectors moved by noise");
	params_text(params, ptext, sizeof ptext);
	ops_log_info("recall@10 %.3f at %s (bar %.2f)", recall, ptext, bar);
	if (recall + 1e-9 < bar) {
		ops_error_set(err, OPS_EDATA, "the new %s index reaches recall@10 %.3f at best (%s), "
			      "below vector.recall_bar %.2f; not replacing the live index",
			      b->factory, recall, ptext, bar);
		ops_error_hint(err, "choose a vector.factory that keeps more (fewer lists, Flat "
			       "instead of PQ codes, a larger HNSW), or lower vector.recall_bar");
		return OPS_EDATA;
	}
	return OPS_OK;
}

/*
 * The new index must find what it holds, and an approximate one must reach
 * vector.recall_bar, before it replaces anything; then the old one is
 * backed up when asked, and the new one swapped in.
 */
static ops_code check_and_swap(struct build *b, const ops_rebuild_opts *o, const char *path,
			       int backup, cJSON *rep, ops_error *err)
{
	const ops_config *cfg = b->ctx->run->cfg;
	int exact = vx_is_exact(b->factory);
	double search_s = 0, ts;
	size_t hits = 0;
	cJSON *manifest, *fig, *params = cJSON_CreateObject();
	ops_code rc;

	if (!params)
		return ops_error_oom(err);
	rc = vx_search_sample(b->f, b->index, &b->check, exact, &hits, &search_s, err);
	if (rc != OPS_OK)
		goto out;
	ops_log_info("searched %zu sampled vectors in %.2f s", b->check.n, search_s);
	cJSON_AddNumberToObject(rep, "vectors", (double)b->rows);
	cJSON_AddNumberToObject(rep, "dimension", b->f->Index_d(b->index));
	vx_report_found(rep, b->check.n, hits, exact);
	if (exact && hits != b->check.n) {
		rc = ops_error_set(err, OPS_EFAIL, "the new exact index found only %zu of %zu "
				   "sampled vectors; not replacing", hits, b->check.n);
		goto out;
	}
	if (exact && !o->out_path)
		vx_report_recall(rep, 1.0, b->check.n, params, recall_bar(cfg),
				 "exact index: exact search");
	if (b->measure && (rc = rebuild_recall(b, rep, params, err)) != OPS_OK)
		goto out;
	if (backup &&
	    (rc = vx_backup_index(cfg, path, "pre-rebuild", o->retention_days, rep, err)) != OPS_OK)
		goto out;
	manifest = build_manifest(b, ops_config_get(cfg, "vector.metric"), params, rep);
	if (!manifest) {
		rc = ops_error_oom(err);
		goto out;
	}
	ts = ops_clock();
	rc = vidx_swap(b->f, path, &b->index, manifest, err);
	ops_log_info("written, synced, checked and swapped in %.2f s", ops_clock() - ts);
	cJSON_AddNumberToObject(rep, "duration_seconds", ops_clock() - b->t0);
	if (rc == OPS_OK) {
		const cJSON *recall = cJSON_GetObjectItemCaseSensitive(rep, "recall_at_10");

		fig = cJSON_AddObjectToObject(rep, "_figures");
		cJSON_AddNumberToObject(fig, "opsctl_vector_index_vectors", (double)b->rows);
		cJSON_AddNumberToObject(fig, "opsctl_vector_build_seconds", ops_clock() - b->t0);
		if (recall)
			cJSON_AddNumberToObject(fig, "opsctl_vector_recall_at_10_ratio",
						cJSON_GetNumberValue(recall));
	}
out:
	cJSON_Delete(params);
	return rc;
}

/*
 * The directory the new index goes to (and the backup's, with --backup)
 * must take a file, checked before the table is read: a rebuild that can
 * only fail at its end must not first read the whole table.  The probe is
 * a temp file of the swap's kind, removed at once.
 */
static ops_code may_write(const char *path, mode_t dmode, const char *what, ops_error *err)
{
	char *dir = ops_path_dir(path);
	ops_afile *af = NULL;
	ops_code rc;
	int e;

	if (!dir)
		return ops_error_oom(err);
	rc = ops_mkdir_p(dir, dmode, err);
	if (rc == OPS_OK && (rc = ops_afile_open(path, 0600, &af, err)) != OPS_OK) {
		e = errno;
		ops_error_set(err, rc, "cannot write %s directory '%s': %s", what, dir,
			      strerror(e));
	}
	if (rc != OPS_OK)
		ops_error_hint(err, "it must be writable by opsctl's user; nothing was read or "
			       "changed");
	ops_afile_abort(af);
	free(dir);
	return rc;
}

/* Whether the directory that would take path can be written: path's own,
 * or the nearest one that exists (the run creates the rest).  0, or the
 * errno that says why not. */
static int dir_unwritable(const char *path)
{
	char *dir = ops_path_dir(path), *up;
	int e = 0;

	while (dir && access(dir, F_OK) != 0 && strcmp(dir, "/") != 0 && strcmp(dir, ".") != 0) {
		up = ops_path_dir(dir);
		free(dir);
		dir = up;
	}
	if (!dir)
		e = ENOMEM;
	else if (access(dir, W_OK) != 0)
		e = errno;
	free(dir);
	return e;
}

/*
 * --dry-run: what a rebuild would do, from the configuration, the source's
 * own count of its rows (and, factory auto, its first vector's dimension)
 * and the files as they are: the source, the rows, the factory (auto: with
 * the planner's memory_plan, as the real run plans it), whether the old index would be copied first (and what
 * retention would then remove), and whether the window would let the real
 * run through.  Nothing is written, not even a temporary file, and FAISS
 * is not loaded.
 */
static ops_code rebuild_plan(const ops_vector_ctx *ctx, const char *path, int backup,
			     const ops_rebuild_opts *o, cJSON *rep, ops_error *err)
{
	const ops_config *cfg = ctx->run->cfg;
	const char *fac = ops_config_get(cfg, "vector.factory");
	static const long long no_row = -1;
	long long rows = 0, nulls = 0, train = 0;
	char factory[128];
	struct stat st;
	int exists = stat(path, &st) == 0, e;
	vsrc *src = NULL;
	ops_code rc;

	cJSON_AddBoolToObject(rep, "dry_run", 1);
	/* Opened for at most one row, so that the source is named as the real
	 * run names it (and a missing table or a column of another type is
	 * the same error); the count is the database's. */
	if ((rc = vsrc_open(cfg, ctx->database, 1, &no_row, 1, &src, err)) != OPS_OK)
		return rc;
	cJSON_AddStringToObject(rep, "source", vsrc_describe(src));
	vsrc_close(src);
	if ((rc = vsrc_count(cfg, ctx->database, 0, &rows, err)) != OPS_OK ||
	    (rc = vsrc_count(cfg, ctx->database, 1, &nulls, err)) != OPS_OK)
		return rc;
	cJSON_AddNumberToObject(rep, "source_rows", (double)rows);
	cJSON_AddNumberToObject(rep, "null_embeddings", (double)nulls);
	if (rows == 0)
		return ops_error_set(err, OPS_EFAIL, "the source has no rows with an embedding; "
				     "a rebuild would not replace the index");
	if (!factory_is_auto(fac))
		snprintf(factory, sizeof factory, "%s", fac);
	else if ((rc = auto_factory(ctx, rows, factory, sizeof factory, &train, rep, err)) != OPS_OK)
		return rc;
	cJSON_AddStringToObject(rep, "factory", factory);
	cJSON_AddNumberToObject(rep, "batch_size", o->batch > 0 ? (double)o->batch : 100);
	cJSON_AddBoolToObject(rep, "index_exists", exists);
	if (exists)
		cJSON_AddNumberToObject(rep, "index_size_bytes", (double)st.st_size);
	if ((e = dir_unwritable(path)) != 0)
		return ops_error_set(err, OPS_EPERM, "cannot write the index directory of '%s': %s",
				     path, strerror(e));
	cJSON_AddBoolToObject(rep, "would_backup", backup && exists);
	if (backup && exists) {
		cJSON_AddStringToObject(rep, "backup_dir", ops_config_get(cfg, "vector.backup_dir"));
		if ((rc = vx_prune_backups(cfg, o->retention_days, 1, rep, err)) != OPS_OK)
			return rc;
	}
	ops_run_would_permit(ctx->run, "rebuild", rep);
	return OPS_OK;
}

ops_code ops_vector_rebuild(const ops_vector_ctx *ctx, const ops_rebuild_opts *o, cJSON **report,
			    ops_error *err)
{
	const ops_config *cfg = ctx->run->cfg;
	const char *path = o->out_path ? o->out_path : vx_index_path(ctx);
	/* Optimize's candidate is a new file: nothing to keep a copy of. */
	int backup = !o->out_path &&
		     vx_want_backup(cfg, o->backup, "vector.backup_before_rebuild");
	struct build b = {0};
	char factory[128];
	cJSON *rep;
	ops_code rc;

	*report = NULL;
	if (ctx->run->dry_run && !o->out_path) {
		*report = rep = cJSON_CreateObject();
		if (!rep)
			return ops_error_oom(err);
		cJSON_AddStringToObject(rep, "index", path);
		return rebuild_plan(ctx, path, backup, o, rep, err);
	}
	b.ctx = ctx;
	b.batch = o->batch > 0 ? (size_t)o->batch : 100;
	b.train = o->train > 0 ? (size_t)o->train : 0;
	b.metric = strcmp(ops_config_get(cfg, "vector.metric"), "l2") == 0 ? METRIC_L2
		: METRIC_INNER_PRODUCT;
	b.t0 = ops_clock();
	b.factory = factory;
	if ((rc = vf_load(&b.f, err)) != OPS_OK)
		return rc;
	rep = cJSON_CreateObject();
	*report = rep;
	cJSON_AddStringToObject(rep, "index", path);
	if ((rc = may_write(path, 0755, "the index", err)) != OPS_OK)
		goto out;
	if (backup && access(path, F_OK) == 0) {
		char *probe = ops_path_join(ops_config_get(cfg, "vector.backup_dir"), "index");

		rc = probe ? may_write(probe, 0700, "the backup", err) : ops_error_oom(err);
		free(probe);
		if (rc != OPS_OK)
			goto out;
	}
	if ((rc = rebuild_factory(&b, o, factory, sizeof factory, rep, err)) != OPS_OK)
		goto out;
	cJSON_AddStringToObject(rep, "factory", factory);
	if (!o->out_path) {
		char q[600];

		snprintf(q, sizeof q, "Rebuild %s (%s) from the rows of %s?", path, factory,
			 ops_config_get(cfg, "vector.table"));
		if ((rc = vx_may_change(ctx, "rebuild", q, err)) != OPS_OK)
			goto out;
	}
	vidx_sweep_temps(path);
	b.ids = malloc(b.batch * sizeof *b.ids);
	if (!b.ids) {
		rc = ops_error_oom(err);
		goto out;
	}
	/* For an exact index a smaller sample than verify's: each query costs a
	 * full scan, and this is a sanity check before the swap.  An
	 * approximate one's recall is measured with verify's number of queries
	 * (unless it is optimize's candidate, which optimize measures). */
	vx_sample_init(&b.check, (size_t)ops_config_int(cfg, "vector.sample"), 7);
	b.measure = !vx_is_exact(factory) && !o->out_path;
	if (!b.measure && b.check.cap > 20)
		b.check.cap = 20;
	if ((rc = build_index(&b, rep, err)) != OPS_OK)
		goto out;
	ops_run_progress(ctx->run, "vectors", (double)b.rows, 0, "vectors", b.t0, 1);
	ops_log_info("streamed %lld vectors in %.2f s", b.rows, ops_clock() - b.t0);
	if (!b.index || b.rows == 0) {
		rc = ops_error_set(err, OPS_EFAIL, "the source has no rows with an embedding; "
				   "not replacing the index");
		goto out;
	}
	rc = check_and_swap(&b, o, path, backup, rep, err);
out:
	if (b.index)
		b.f->Index_free(b.index);
	vx_sample_release(&b.check);
	vx_sample_release(&b.q);
	vx_truth_free(&b.truth);
	free(b.ids);
	free(b.x);
	return rc;
}

ops_code ops_vector_stats(const ops_vector_ctx *ctx, cJSON **report, ops_error *err)
{
	const struct vf_api *f = NULL;
	const char *path = vx_index_path(ctx);
	FaissIndex *index = NULL;
	cJSON *rep, *manifest = NULL;
	char sha[65], type[96];
	struct stat st;
	ops_code rc;

	*report = NULL;
	if ((rc = vf_load(&f, err)) != OPS_OK)
		return rc;
	if ((rc = vidx_load(f, path, &index, &manifest, sha, err)) != OPS_OK)
		return rc;
	rep = cJSON_CreateObject();
	*report = rep;
	vidx_describe(f, index, type, sizeof type);
	cJSON_AddStringToObject(rep, "index", path);
	cJSON_AddStringToObject(rep, "type", type);
	cJSON_AddNumberToObject(rep, "dimension", f->Index_d(index));
	cJSON_AddStringToObject(rep, "metric", vx_metric_name(f->Index_metric_type(index)));
	cJSON_AddNumberToObject(rep, "vectors", (double)f->Index_ntotal(index));
	cJSON_AddBoolToObject(rep, "trained", f->Index_is_trained(index));
	{
		FaissIndexIDMap *map = f->IndexIDMap_cast(index);
		FaissIndexIVF *ivf = f->IndexIVF_cast(map ? f->IndexIDMap_sub_index(map) : index);

		if (ivf) {
			cJSON_AddNumberToObject(rep, "nlist", (double)f->IndexIVF_nlist(ivf));
			cJSON_AddNumberToObject(rep, "nprobe", (double)f->IndexIVF_nprobe(ivf));
		}
	}
	if (stat(path, &st) == 0)
		cJSON_AddNumberToObject(rep, "size_bytes", (double)st.st_size);
	cJSON_AddStringToObject(rep, "sha256", sha);
	if (manifest) {
		vidx_manifest_normalize(manifest);
		cJSON_AddItemToObject(rep, "manifest", manifest);
		manifest = NULL;
	} else {
		cJSON_AddNullToObject(rep, "manifest");
	}
	{
		cJSON *fig = cJSON_AddObjectToObject(rep, "_figures");

		cJSON_AddNumberToObject(fig, "opsctl_vector_index_vectors",
					(double)f->Index_ntotal(index));
	}
	f->Index_free(index);
	cJSON_Delete(manifest);
	return OPS_OK;
}

/* ---- the quick check (opsctl health) ---- */

/* "2026-12-02T00:50:54Z" as seconds since the epoch; -1 when it is not one. */
static time_t iso_seconds(const char *s)
{
	ops_time_parsed p;

	return ops_time_parse_iso(s, 0, &p) == OPS_TIME_OK ? p.t : -1;
}

/* The file against its manifest: size, then (when asked or needed) the
 * digest.  Findings go into findings; only cancellation and OOM return. */
static ops_code check_against_manifest(const char *path, const struct stat *st,
				       const cJSON *m, time_t m_mtime, long long hash_max,
				       cJSON *rep, cJSON *findings, ops_error *err)
{
	const cJSON *sz = cJSON_GetObjectItemCaseSensitive(m, "size_bytes");
	const char *want = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "sha256"));
	const char *prev = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m,
										 "previous_sha256"));
	int newer = st->st_mtime > m_mtime;
	char sha[65];
	long long size = 0;
	ops_code rc;

	/* Mid-swap (previous_sha256 set) the size is either file's. */
	if (cJSON_IsNumber(sz) && !prev && (long long)sz->valuedouble != (long long)st->st_size)
		ops_json_add_stringf(findings, "index is %lld bytes, its manifest says %.0f: "
				     "damaged or replaced", (long long)st->st_size, sz->valuedouble);
	if (!(hash_max < 0 || (long long)st->st_size <= hash_max || newer)) {
		cJSON_AddBoolToObject(rep, "sha256_checked", 0);
		return OPS_OK;
	}
	if ((rc = vidx_file_sha256(path, sha, &size, err)) != OPS_OK) {
		if (rc == OPS_EINTR || rc == OPS_EINTERNAL)
			return rc;
		ops_json_add_stringf(findings, "%s", err->message);
		ops_error_clear(err);
		cJSON_AddBoolToObject(rep, "sha256_checked", 0);
		return OPS_OK;
	}
	cJSON_AddBoolToObject(rep, "sha256_checked", 1);
	if (want && strcmp(sha, want) != 0 && !(prev && strcmp(sha, prev) == 0))
		ops_json_add_stringf(findings, "index does not match its manifest's SHA-256%s",
				     newer ? " (modified after its manifest was written)"
				     : ": damaged");
	return OPS_OK;
}

ops_code ops_vector_check(const ops_vector_ctx *ctx, long long hash_max, cJSON **report,
			  ops_error *err)
{
	const char *path = vx_index_path(ctx);
	cJSON *rep, *findings, *m = NULL;
	char *mpath = NULL;
	struct stat st, mst;
	time_t now = ops_run_now(ctx->run), built = -1;
	long long rows = 0;
	ops_error e2 = {0};
	ops_code rc = OPS_OK;
	int fd;

	*report = rep = cJSON_CreateObject();
	if (!rep)
		return ops_error_oom(err);
	cJSON_AddStringToObject(rep, "index", path ? path : "");
	if (!path || !*path)
		return ops_error_set(err, OPS_ECONFIG, "vector.index_path is not set");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno != ENOENT)
			return ops_error_errno(err, errno, "cannot read index", path);
		return ops_error_set(err, OPS_EFAIL, "no index at '%s'", path);
	}
	if (fstat(fd, &st) != 0) {
		rc = ops_error_errno(err, errno, "cannot read index", path);
		close(fd);
		return rc;
	}
	close(fd);
	cJSON_AddNumberToObject(rep, "size_bytes", (double)st.st_size);
	vx_add_time(rep, "modified_at", st.st_mtime);
	findings = cJSON_AddArrayToObject(rep, "findings");
	if (vidx_read_manifest(path, &m, &e2) != OPS_OK) {
		ops_json_add_stringf(findings, "%s", e2.message);
		m = NULL;
	}
	if (m && (mpath = vidx_manifest_path(path)) && stat(mpath, &mst) == 0) {
		const cJSON *v;

		rc = check_against_manifest(path, &st, m, mst.st_mtime, hash_max, rep, findings,
					    err);
		if (rc != OPS_OK)
			goto out;
		vidx_manifest_normalize(m);
		v = cJSON_GetObjectItemCaseSensitive(m, "vectors");
		if (cJSON_IsNumber(v))
			cJSON_AddNumberToObject(rep, "vectors", v->valuedouble);
		built = iso_seconds(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m,
											 "built_at")));
		if (built < 0)
			built = mst.st_mtime;
	} else {
		cJSON_AddBoolToObject(rep, "sha256_checked", 0);
	}
	if (built < 0)
		built = st.st_mtime;
	cJSON_AddNumberToObject(rep, "age_seconds", now > built ? (double)(now - built) : 0);
	cJSON_AddItemToObject(rep, "manifest", m ? m : cJSON_CreateNull());
	m = NULL;
	/* The rows are the database's to answer for: a failure to count is
	 * said in the report, beside what the file showed. */
	ops_error_clear(&e2);
	if ((rc = vsrc_count(ctx->run->cfg, ctx->database, 0, &rows, &e2)) == OPS_OK) {
		cJSON_AddNumberToObject(rep, "rows", (double)rows);
	} else if (rc == OPS_EINTR) {
		*err = e2;
		goto out;
	} else {
		cJSON_AddStringToObject(rep, "rows_error", e2.message);
		cJSON_AddStringToObject(rep, "rows_code", ops_code_name(rc));
		rc = OPS_OK;
	}
out:
	cJSON_Delete(m);
	free(mpath);
	return rc;
}
