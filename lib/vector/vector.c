/*
 * verify, rebuild and stats for the FAISS index (vector.h).  Both verify and
 * rebuild make one streaming pass over the source (two for an index that
 * must be trained: a sample first), keeping only ids and a reservoir sample
 * of vectors beside the index itself, so memory is the index plus a little.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "opsmaint/archive.h"
#include "opsmaint/fileio.h"
#include "opsmaint/log.h"
#include "opsmaint/vector.h"
#include "opsmaint/walk.h"
#include "opsmaint/window.h"
#include "vector/vector_internal.h"

#define READ_BATCH 4096

const char *vx_index_path(const ops_vector_ctx *ctx)
{
	return ctx->path && *ctx->path ? ctx->path : ops_config_get(ctx->run->cfg, "vector.index_path");
}

unsigned long long vx_next_rand(unsigned long long *s)
{
	/* splitmix64: fixed seed, so a run is repeatable */
	unsigned long long z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

int vx_sample_add(struct vx_sample *s, long long id, const float *v, int d)
{
	size_t slot;

	if (!s->x) {
		s->d = d;
		s->ids = malloc(s->cap * sizeof *s->ids);
		s->x = malloc(s->cap * (size_t)d * sizeof *s->x);
		if (!s->ids || !s->x)
			return -1;
	}
	s->seen++;
	if (s->n < s->cap) {
		slot = s->n++;
	} else {
		unsigned long long r = vx_next_rand(&s->rng) % (unsigned long long)s->seen;

		if (r >= s->cap)
			return 0;
		slot = (size_t)r;
	}
	s->ids[slot] = id;
	memcpy(s->x + slot * (size_t)d, v, (size_t)d * sizeof *v);
	return 0;
}

void vx_sample_free(struct vx_sample *s)
{
	free(s->ids);
	free(s->x);
}

int vx_cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

/*
 * Search every sampled vector; *hits counts those the index answers for
 * correctly.  An approximate index must return the vector's id among the
 * top 10 (self-recall@10).  For an exact one, with L2 a vector must come back at rank 1 (or tied with it:
 * duplicates).  With inner product a vector need not be its own best match
 * (a longer one can score higher), so a hit is: its id among the top 10
 * with its own score v.v, or a top score above v.v.  A top score below v.v,
 * or its id with another score, means the index lost or damaged it.
 */
ops_code vx_search_sample(const struct vf_api *f, FaissIndex *index, const struct vx_sample *s,
			      int exact, size_t *hits, double *seconds, ops_error *err)
{
	int ip = f->Index_metric_type(index) == METRIC_INNER_PRODUCT;
	idx_t k = 10, *labels;
	float *dist;
	size_t i;
	double t0 = ops_clock();

	*hits = 0;
	if (s->n == 0)
		return OPS_OK;
	labels = malloc(s->n * (size_t)k * sizeof *labels);
	dist = malloc(s->n * (size_t)k * sizeof *dist);
	if (!labels || !dist) {
		free(labels);
		free(dist);
		return ops_error_oom(err);
	}
	if (f->Index_search(index, (idx_t)s->n, s->x, k, dist, labels) != 0) {
		free(labels);
		free(dist);
		return vf_error(f, err, OPS_EDATA, "searching the index failed");
	}
	for (i = 0; i < s->n; i++) {
		const idx_t *l = labels + i * (size_t)k;
		const float *dd = dist + i * (size_t)k;
		idx_t j;

		if (!exact) {
			/* Approximate (IVF, PQ, HNSW): found among the top 10. */
			for (j = 0; j < k; j++)
				if (l[j] == s->ids[i]) {
					(*hits)++;
					break;
				}
			continue;
		}
		if (ip) {
			const float *v = s->x + i * (size_t)s->d;
			double self = 0, tol;
			int d2;

			for (d2 = 0; d2 < s->d; d2++)
				self += (double)v[d2] * v[d2];
			tol = 1e-3 * (self > 1 ? self : 1);
			for (j = 0; j < k; j++)
				if (l[j] == s->ids[i])
					break;
			if (j < k ? fabs(dd[j] - self) <= tol : dd[0] > self + tol)
				(*hits)++;
			continue;
		}
		for (j = 0; j < k; j++) {
			if (l[j] == s->ids[i]) {
				if (j == 0 || dd[j] == dd[0])
					(*hits)++;
				break;
			}
		}
	}
	*seconds = ops_clock() - t0;
	free(labels);
	free(dist);
	return OPS_OK;
}

/* Add up to 20 values of v to arr; count them all in the report. */
void vx_list_some(cJSON *rep, const char *name, const long long *v, size_t n)
{
	cJSON *arr = cJSON_AddArrayToObject(rep, name);
	size_t i;

	for (i = 0; i < n && i < 20; i++)
		cJSON_AddItemToArray(arr, cJSON_CreateNumber((double)v[i]));
}

const char *vx_metric_name(FaissMetricType m)
{
	return m == METRIC_INNER_PRODUCT ? "ip" : m == METRIC_L2 ? "l2" : "other";
}

ops_code ops_vector_verify(const ops_vector_ctx *ctx, cJSON **report, ops_error *err)
{
	const struct vf_api *f = NULL;
	const char *path = vx_index_path(ctx);
	FaissIndex *index = NULL;
	cJSON *rep, *manifest = NULL, *findings;
	vsrc *src = NULL;
	long long *idx_ids = NULL, *src_ids = NULL, *missing = NULL, *orphan = NULL;
	size_t nidx = 0, nsrc = 0, cap = 0, nmiss = 0, norph = 0, i, j, hits = 0, xcap = 0;
	float *x = NULL;
	long long batch_ids[READ_BATCH];
	struct vx_sample smp = {0};
	char sha[65], type[96];
	double search_s = 0, t0 = ops_clock();
	int exact, nfind = 0;
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
	exact = strstr(type, "Flat") && !strstr(type, "IVF");
	cJSON_AddStringToObject(rep, "sha256", sha);
	cJSON_AddBoolToObject(rep, "manifest", manifest != NULL);
	cJSON_AddStringToObject(rep, "type", type);
	cJSON_AddNumberToObject(rep, "dimension", f->Index_d(index));
	cJSON_AddStringToObject(rep, "metric", vx_metric_name(f->Index_metric_type(index)));
	cJSON_AddNumberToObject(rep, "ntotal", (double)f->Index_ntotal(index));
	findings = cJSON_AddArrayToObject(rep, "findings");
	if ((rc = vidx_ids(f, index, &idx_ids, &nidx, err)) != OPS_OK)
		goto out;
	/* The source, cheaply: the ids of the rows with an embedding (not the
	 * vectors), a uniform sample of them, then just the sample's vectors. */
	if ((rc = vsrc_open(ctx->run->cfg, ctx->database, 1, NULL, 0, &src, err)) != OPS_OK)
		goto out;
	{
		size_t want = (size_t)ops_config_int(ctx->run->cfg, "vector.sample"), ns = 0;
		unsigned long long rng = 42;
		long long *pick = malloc((want ? want : 1) * sizeof *pick), nulls = 0;

		if (!pick) {
			rc = ops_error_oom(err);
			goto out;
		}
		for (;;) {
			size_t n = 0;

			if ((rc = vsrc_next(src, READ_BATCH, batch_ids, &x, &xcap, &n, err)) != OPS_OK)
				break;
			if (n == 0)
				break;
			if (nsrc + n > cap) {
				long long *grown;

				cap = (nsrc + n) * 2;
				grown = realloc(src_ids, cap * sizeof *grown);
				if (!grown) {
					rc = ops_error_oom(err);
					break;
				}
				src_ids = grown;
			}
			for (i = 0; i < n; i++) {
				src_ids[nsrc++] = batch_ids[i];
				if (ns < want) {
					pick[ns++] = batch_ids[i];
				} else {
					unsigned long long r = vx_next_rand(&rng) % (unsigned long long)nsrc;

					if (r < want)
						pick[r] = batch_ids[i];
				}
			}
		}
		nulls = src ? vsrc_nulls(src) : 0;
		vsrc_close(src);
		src = NULL;
		if (rc == OPS_OK && ns)
			rc = vsrc_open(ctx->run->cfg, ctx->database, 0, pick, ns, &src, err);
		smp.cap = ns;
		smp.rng = 42;
		while (rc == OPS_OK && src) {
			size_t n = 0;

			if ((rc = vsrc_next(src, READ_BATCH, batch_ids, &x, &xcap, &n, err)) != OPS_OK || n == 0)
				break;
			for (i = 0; i < n; i++)
				if (vsrc_dim(src) == f->Index_d(index) &&
				    vx_sample_add(&smp, batch_ids[i], x + i * (size_t)vsrc_dim(src), vsrc_dim(src)) != 0) {
					rc = ops_error_oom(err);
					break;
				}
		}
		free(pick);
		if (rc != OPS_OK)
			goto out;
		cJSON_AddStringToObject(rep, "source", src ? vsrc_describe(src) : "");
		cJSON_AddNumberToObject(rep, "source_rows", (double)nsrc);
		cJSON_AddNumberToObject(rep, "null_embeddings", (double)nulls);
	}
	if (src && vsrc_dim(src) && vsrc_dim(src) != f->Index_d(index)) {
		char m[200];

		snprintf(m, sizeof m, "index has %d dimensions, the source %d", f->Index_d(index), vsrc_dim(src));
		cJSON_AddItemToArray(findings, cJSON_CreateString(m));
		nfind++;
	}
	if ((long long)nsrc != (long long)f->Index_ntotal(index)) {
		char m[200];

		snprintf(m, sizeof m, "index holds %lld vectors, the source %zu rows with an embedding",
			 (long long)f->Index_ntotal(index), nsrc);
		cJSON_AddItemToArray(findings, cJSON_CreateString(m));
		nfind++;
	}
	/* The two id sets, by merging sorted arrays. */
	qsort(src_ids, nsrc, sizeof *src_ids, vx_cmp_ll);
	missing = calloc(nsrc + 1, sizeof *missing);
	orphan = calloc(nidx + 1, sizeof *orphan);
	if (!missing || !orphan) {
		rc = ops_error_oom(err);
		goto out;
	}
	for (i = 0, j = 0; i < nsrc || j < nidx;) {
		if (j >= nidx || (i < nsrc && src_ids[i] < idx_ids[j]))
			missing[nmiss++] = src_ids[i++];
		else if (i >= nsrc || idx_ids[j] < src_ids[i])
			orphan[norph++] = idx_ids[j++];
		else
			i++, j++;
	}
	cJSON_AddNumberToObject(rep, "missing_ids", (double)nmiss);
	cJSON_AddNumberToObject(rep, "orphan_ids", (double)norph);
	vx_list_some(rep, "missing_sample", missing, nmiss);
	vx_list_some(rep, "orphan_sample", orphan, norph);
	if (nmiss || norph) {
		char m[200];

		snprintf(m, sizeof m, "%zu source rows are missing from the index and %zu index ids have no row",
			 nmiss, norph);
		cJSON_AddItemToArray(findings, cJSON_CreateString(m));
		nfind++;
	}
	/* Searching: exact indexes must find every sampled vector at rank 1. */
	if (smp.n && vsrc_dim(src) == f->Index_d(index)) {
		int bar = exact ? 100 : (int)ops_config_int(ctx->run->cfg, "vector.recall_bar");
		double recall;

		if ((rc = vx_search_sample(f, index, &smp, exact, &hits, &search_s, err)) != OPS_OK)
			goto out;
		recall = (double)hits / (double)smp.n;
		cJSON_AddNumberToObject(rep, "searched", (double)smp.n);
		cJSON_AddNumberToObject(rep, "found_at_rank_1", (double)hits);
		cJSON_AddNumberToObject(rep, "recall_at_1", recall);
		cJSON_AddNumberToObject(rep, "search_ms_per_query", 1000.0 * search_s / (double)smp.n);
		if (recall * 100.0 + 1e-9 < bar) {
			char m[200];

			snprintf(m, sizeof m, "only %zu of %zu sampled vectors were found by searching for them (%s; bar %d%%)",
				 hits, smp.n, exact ? "exact index: rank 1" : "approximate: top 10", bar);
			cJSON_AddItemToArray(findings, cJSON_CreateString(m));
		nfind++;
		}
	}
	cJSON_AddNumberToObject(rep, "seconds", ops_clock() - t0);
	{
		cJSON *fig = cJSON_AddObjectToObject(rep, "_figures");

		cJSON_AddNumberToObject(fig, "opsctl_vector_ntotal", (double)f->Index_ntotal(index));
		cJSON_AddNumberToObject(fig, "opsctl_vector_missing_ids", (double)nmiss);
		cJSON_AddNumberToObject(fig, "opsctl_vector_orphan_ids", (double)norph);
		if (smp.n)
			cJSON_AddNumberToObject(fig, "opsctl_vector_recall", (double)hits / (double)smp.n);
	}
	if (nfind) {
		const cJSON *fd;
		size_t used = 0;

		/* One line naming every finding, for cron mail and CI logs. */
		ops_error_set(err, OPS_EFAIL, "%s", "");
		cJSON_ArrayForEach(fd, findings) {
			int w = snprintf(err->message + used, sizeof err->message - used, "%s%s",
					 used ? "; " : "", fd->valuestring);

			if (w < 0 || (size_t)w >= sizeof err->message - used)
				break;
			used += (size_t)w;
		}
		rc = OPS_EFAIL;
	}
out:
	vsrc_close(src);
	if (index)
		f->Index_free(index);
	cJSON_Delete(manifest);
	free(idx_ids);
	free(src_ids);
	free(missing);
	free(orphan);
	free(x);
	vx_sample_free(&smp);
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

static ops_code choose_factory(const ops_config *cfg, long long n, char *out, size_t len)
{
	const char *f = ops_config_get(cfg, "vector.factory");

	if (f && *f && strcmp(f, "auto") != 0) {
		snprintf(out, len, "%s", f);
		return OPS_OK;
	}
	if (n <= ops_config_int(cfg, "vector.flat_max")) {
		snprintf(out, len, "IDMap,Flat");
	} else {
		/* autofaiss's rule of thumb: about 4 sqrt(n) lists, a power of 2. */
		long nlist = 1;

		while ((double)nlist * 2 <= 4.0 * sqrt((double)n))
			nlist *= 2;
		snprintf(out, len, "IVF%ld,Flat", nlist);
	}
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
	char stamp[32], name[128], *dest = NULL, *mpath = NULL, *mdest = NULL;
	time_t now = time(NULL);
	struct tm tm;
	ops_code rc;

	if (access(path, F_OK) != 0)
		return OPS_OK;	/* nothing to keep */
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof stamp, "%Y%m%d_%H%M%S", &tm);
	snprintf(name, sizeof name, "index_%s_%s.faiss", stamp, tag);
	if ((rc = ops_mkdir_p(dir, 0700, err)) != OPS_OK)
		return rc;
	dest = ops_path_join(dir, name);
	if (!dest) {
		rc = ops_error_oom(err);
		goto out;
	}
	rc = ops_archive_copy_file(path, dest, "none", err);
	mpath = vidx_manifest_path(path);
	mdest = vidx_manifest_path(dest);
	if (rc == OPS_OK && mpath && mdest && access(mpath, F_OK) == 0) {
		char *text = NULL;
		size_t len = 0;

		rc = ops_read_file(mpath, 1u << 20, &text, &len, err);
		if (rc == OPS_OK)
			rc = ops_write_file_atomic(mdest, text, len, 0600, err);
		free(text);
	}
	if (rc == OPS_OK) {
		cJSON_AddStringToObject(rep, "backup", dest);
		rc = vx_prune_backups(cfg, retention_days, 0, rep, err);
	}
out:
	free(dest);
	free(mpath);
	free(mdest);
	return rc;
}

ops_code ops_vector_rebuild(const ops_vector_ctx *ctx, const ops_rebuild_opts *o, cJSON **report,
			    ops_error *err)
{
	const struct vf_api *f = NULL;
	const char *path = o->out_path ? o->out_path : vx_index_path(ctx);
	const char *metric = ops_config_get(ctx->run->cfg, "vector.metric");
	size_t batch = o->batch > 0 ? (size_t)o->batch : 100, n, xcap = 0, hits = 0;
	long long rows = 0, expected = 0, *ids = NULL;
	FaissIndex *index = NULL;
	struct vx_sample train = {0}, check = {0};
	vsrc *src = NULL;
	float *x = NULL;
	char factory[128];
	double t0 = ops_clock(), search_s = 0;
	cJSON *rep, *manifest;
	ops_code rc;

	*report = NULL;
	if ((rc = vf_load(&f, err)) != OPS_OK)
		return rc;
	rep = cJSON_CreateObject();
	*report = rep;
	cJSON_AddStringToObject(rep, "index", path);
	/* Counting the rows costs a scan of the table; only "auto" needs the
	 * number, to choose between exact and IVF. */
	{
		const char *fac = o->factory ? o->factory : ops_config_get(ctx->run->cfg, "vector.factory");

		if (!fac || !*fac || strcmp(fac, "auto") == 0) {
			if ((rc = vsrc_count(ctx->run->cfg, ctx->database, 0, &expected, err)) != OPS_OK)
				goto out;
			if (expected == 0) {
				rc = ops_error_set(err, OPS_EFAIL, "the source has no rows with an embedding; not replacing the index with an empty one");
				goto out;
			}
		}
	}
	if (o->factory)
		snprintf(factory, sizeof factory, "%s", o->factory);
	else
		choose_factory(ctx->run->cfg, expected, factory, sizeof factory);
	cJSON_AddStringToObject(rep, "factory", factory);
	if (!o->out_path) {
		char q[600];

		snprintf(q, sizeof q, "Rebuild %s (%s) from the rows of %s?", path, factory,
			 ops_config_get(ctx->run->cfg, "vector.table"));
		if ((rc = vx_may_change(ctx, "rebuild", q, err)) != OPS_OK)
			goto out;
	}
	ids = malloc(batch * sizeof *ids);
	if (!ids) {
		rc = ops_error_oom(err);
		goto out;
	}
	/* A smaller sample than verify's: on a large flat index each query
	 * costs a full scan, and this is a sanity check before the swap. */
	check.cap = (size_t)ops_config_int(ctx->run->cfg, "vector.sample");
	if (check.cap > 20)
		check.cap = 20;
	check.rng = 7;
	/* Pass 1, only for indexes that must be trained: a sample to train on. */
	for (int pass = 0; pass < 2; pass++) {
		int training = pass == 0;

		if (training && index)
			continue;
		if ((rc = vsrc_open(ctx->run->cfg, ctx->database, 0, NULL, 0, &src, err)) != OPS_OK)
			goto out;
		if (pass == 0)
			cJSON_AddStringToObject(rep, "source", vsrc_describe(src));
		for (;;) {
			size_t i;

			if ((rc = vsrc_next(src, batch, ids, &x, &xcap, &n, err)) != OPS_OK)
				goto out;
			if (!index && n > 0) {
				if (f->index_factory(&index, vsrc_dim(src), factory,
						     strcmp(metric, "l2") == 0 ? METRIC_L2 : METRIC_INNER_PRODUCT) != 0) {
					rc = vf_error(f, err, OPS_ECONFIG, "vector.factory");
					goto out;
				}
				if (!f->Index_is_trained(index)) {
					/* Enough for k-means: 256 points per list at most. */
					train.cap = expected > 0 && expected < 100000 ? (size_t)expected : 100000;
					train.rng = 11;
				} else {
					training = 0;
				}
			}
			if (n == 0)
				break;
			if (training) {
				for (i = 0; i < n; i++)
					if (vx_sample_add(&train, ids[i], x + i * (size_t)vsrc_dim(src), vsrc_dim(src)) != 0) {
						rc = ops_error_oom(err);
						goto out;
					}
				continue;
			}
			if (f->Index_add_with_ids(index, (idx_t)n, x, (const idx_t *)ids) != 0) {
				rc = vf_error(f, err, OPS_EFAIL, "adding vectors");
				goto out;
			}
			for (i = 0; i < n; i++)
				if (vx_sample_add(&check, ids[i], x + i * (size_t)vsrc_dim(src), vsrc_dim(src)) != 0) {
					rc = ops_error_oom(err);
					goto out;
				}
			rows += (long long)n;
			ops_run_progress(ctx->run, "vectors", (double)rows, 0, "vectors", t0, 0);
		}
		if (training) {
			ops_log_info("training %s on %zu vectors", factory, train.n);
			if (f->Index_train(index, (idx_t)train.n, train.x) != 0) {
				rc = vf_error(f, err, OPS_EFAIL, "training the index");
				goto out;
			}
			vx_sample_free(&train);
			memset(&train, 0, sizeof train);
		}
		cJSON_DeleteItemFromObjectCaseSensitive(rep, "null_embeddings");
		cJSON_AddNumberToObject(rep, "null_embeddings", (double)vsrc_nulls(src));
		vsrc_close(src);
		src = NULL;
		if (!training)
			break;
	}
	ops_run_progress(ctx->run, "vectors", (double)rows, 0, "vectors", t0, 1);
	ops_log_info("streamed %lld vectors in %.2f s", rows, ops_clock() - t0);
	if (!index || rows == 0) {
		rc = ops_error_set(err, OPS_EFAIL, "the source has no rows with an embedding; not replacing the index");
		goto out;
	}
	/* The new index must find what it holds before it replaces anything. */
	if ((rc = vx_search_sample(f, index, &check, strstr(factory, "Flat") && !strstr(factory, "IVF"),
				&hits, &search_s, err)) != OPS_OK)
		goto out;
	ops_log_info("searched %zu sampled vectors in %.2f s", check.n, search_s);
	cJSON_AddNumberToObject(rep, "vectors", (double)rows);
	cJSON_AddNumberToObject(rep, "dimension", f->Index_d(index));
	cJSON_AddNumberToObject(rep, "recall_at_1", check.n ? (double)hits / (double)check.n : 1.0);
	if (strstr(factory, "Flat") && !strstr(factory, "IVF") && hits != check.n) {
		rc = ops_error_set(err, OPS_EFAIL, "the new exact index found only %zu of %zu sampled vectors; not replacing",
				   hits, check.n);
		goto out;
	}
	if (o->backup && (rc = vx_backup_index(ctx->run->cfg, path, "pre-rebuild", o->retention_days, rep, err)) != OPS_OK)
		goto out;
	manifest = cJSON_CreateObject();
	cJSON_AddNumberToObject(manifest, "format", 1);
	cJSON_AddStringToObject(manifest, "type", factory);
	cJSON_AddNumberToObject(manifest, "dimension", f->Index_d(index));
	cJSON_AddStringToObject(manifest, "metric", metric);
	cJSON_AddNumberToObject(manifest, "ntotal", (double)f->Index_ntotal(index));
	cJSON_AddStringToObject(manifest, "source", cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rep, "source")));
	cJSON_AddNumberToObject(manifest, "source_rows", (double)rows);
	cJSON_AddNumberToObject(manifest, "build_seconds", ops_clock() - t0);
	cJSON_AddNumberToObject(manifest, "built_at", (double)time(NULL));
	cJSON_AddStringToObject(manifest, "tool_version", OPS_VERSION);
	cJSON_AddObjectToObject(manifest, "search_parameters");
	{
		double ts = ops_clock();

		rc = vidx_swap(f, path, &index, manifest, err);
		ops_log_info("written, synced, checked and swapped in %.2f s", ops_clock() - ts);
	}
	cJSON_AddNumberToObject(rep, "seconds", ops_clock() - t0);
	if (rc == OPS_OK) {
		cJSON *fig = cJSON_AddObjectToObject(rep, "_figures");

		cJSON_AddNumberToObject(fig, "opsctl_vector_ntotal", (double)rows);
		cJSON_AddNumberToObject(fig, "opsctl_vector_build_seconds", ops_clock() - t0);
	}
out:
	vsrc_close(src);
	if (index)
		f->Index_free(index);
	vx_sample_free(&train);
	vx_sample_free(&check);
	free(ids);
	free(x);
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
	cJSON_AddNumberToObject(rep, "ntotal", (double)f->Index_ntotal(index));
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
		cJSON_AddItemToObject(rep, "manifest", manifest);
		manifest = NULL;
	} else {
		cJSON_AddNullToObject(rep, "manifest");
	}
	{
		cJSON *fig = cJSON_AddObjectToObject(rep, "_figures");

		cJSON_AddNumberToObject(fig, "opsctl_vector_ntotal", (double)f->Index_ntotal(index));
	}
	f->Index_free(index);
	cJSON_Delete(manifest);
	return OPS_OK;
}
