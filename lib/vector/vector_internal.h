/*
 * What the vector modules share: the source of embeddings (vector_source.c)
 * and the index file with its manifest (vector_index.c).  Internal.
 */
#ifndef OPSMAINT_VECTOR_INTERNAL_H
#define OPSMAINT_VECTOR_INTERNAL_H

#include <stddef.h>
#include <time.h>
#include <cjson/cJSON.h>
#include "opsmaint/config.h"
#include "opsmaint/error.h"
#include "vector/vecfaiss.h"

struct ops_vector_ctx;

/* ---- the source: (id, embedding) rows, streamed ---- */

typedef struct vsrc vsrc;

/*
 * Open the configured table for one pass (ids_only: just the ids of rows
 * with an embedding; only: when not NULL, just the rows with these nonly
 * ids, e.g. a sample): PostgreSQL through COPY ... (FORMAT
 * binary) of id and embedding (real[], double precision[], bytea of
 * little-endian float32, pgvector's vector, text/json/jsonb holding
 * "[0.1, 0.2]" or "{0.1,0.2}"), SQLite through a BLOB of float32 or such
 * text.  A missing table or column is OPS_EFAIL naming it; a column of
 * another type OPS_EUSAGE naming the type.
 */
ops_code vsrc_open(const ops_config *cfg, const char *database, int ids_only, const long long *only,
		   size_t nonly, vsrc **out, ops_error *err);
/*
 * Up to max rows into ids/x (x holds max * dim floats once the dimension is
 * known: *dim is set by the first row, and x must then hold max * *dim).
 * Rows with a NULL embedding are skipped and counted.  A row of another
 * dimension, or with NaN or an infinite value, is OPS_EDATA naming its id.
 * *n == 0 at the end.
 */
ops_code vsrc_next(vsrc *s, size_t max, long long *ids, float **x, size_t *xcap, size_t *n,
		   ops_error *err);
/* Rows with a non-NULL (nulls 0) or NULL (nulls 1) embedding, counted by
 * the database. */
ops_code vsrc_count(const ops_config *cfg, const char *database, int nulls, long long *n,
		    ops_error *err);
/*
 * The dimension of the source's vectors as its first row holding one shows
 * it (one row read, LIMIT 1, in one stream; *d 0: no row holds a vector),
 * before a pass: what rebuild's factory auto plans for.  Errors as
 * vsrc_open's.
 */
ops_code vsrc_first_dim(const ops_config *cfg, const char *database, int *d, ops_error *err);
int vsrc_dim(const vsrc *s);		/* 0 until the first row */
long long vsrc_nulls(const vsrc *s);	/* NULL embeddings skipped so far */
/* The rows the database expects to read, at no cost (PostgreSQL's
 * pg_class.reltuples: no filter applied, as of the last VACUUM or ANALYZE);
 * 0 when it has no estimate (SQLite, a sample, a table never analyzed). */
long long vsrc_rows_estimate(const vsrc *s);
/* The streams the table is read in (vector.read_jobs, or chosen from the
 * free cores; 1 for a small table, a sample, SQLite). */
int vsrc_jobs(const vsrc *s);
/* "public.document_chunks.embedding (real[])" */
const char *vsrc_describe(const vsrc *s);
void vsrc_close(vsrc *s);

/* ---- the index file ---- */

/* The manifest written beside an index: PATH.manifest.json. */
char *vidx_manifest_path(const char *index_path);
/* The manifest of the index at index_path, parsed (*out NULL when there is
 * none); one that is not a JSON object with a sha256 is OPS_EDATA. */
ops_code vidx_read_manifest(const char *index_path, cJSON **out, ops_error *err);

/*
 * Load an index.  With a manifest, the file's SHA-256 must match it (or the
 * previous index it names, after an interrupted swap) before FAISS reads a
 * byte: a mismatch is OPS_EDATA.  A file FAISS cannot read is OPS_EDATA.
 * *manifest (may be NULL) gets the parsed manifest or NULL.
 */
ops_code vidx_load(const struct vf_api *f, const char *path, FaissIndex **out, cJSON **manifest,
		   char sha256[65], ops_error *err);

/* Every id the index holds, sorted (IDMap's map, IVF's lists, else 0..n-1). */
ops_code vidx_ids(const struct vf_api *f, FaissIndex *index, long long **ids, size_t *n,
		  ops_error *err);

/* "IDMap,Flat", "IVF1024,Flat", "IDMap,HNSW" ...: best effort for reports. */
void vidx_describe(const struct vf_api *f, FaissIndex *index, char *out, size_t len);

/*
 * Put a new index in place of path: FAISS writes it to a temp file beside
 * path through a stream that hashes what it writes (SHA-256 for the
 * manifest, CRC-32C for the read-back) in whole blocks, unbuffered
 * (O_DIRECT) where the file system takes it; the file is fsynced and read
 * back from the disk, past the page cache, to the same CRC, then the
 * manifest is written naming both the new file's digest and the
 * old one's, the file renamed over path, the directory fsynced, and the
 * manifest rewritten with the new digest alone.  A crash at any point
 * leaves a live index that its manifest accepts.  The caller keeps *index.
 * manifest: the fields to record (consumed).
 */
ops_code vidx_swap(const struct vf_api *f, const char *path, FaissIndex **index, cJSON *manifest,
		   ops_error *err);

/* SHA-256 of a file, streamed; OPS_EINTR when the run is cancelled. */
ops_code vidx_file_sha256(const char *path, char out[65], long long *size, ops_error *err);

/*
 * The fields every manifest records for index: format, type (the factory
 * string, or vidx_describe's), dimension, metric ("ip"/"l2"; NULL: the
 * index's), vectors (the count) and tool_version; vidx_swap adds sha256 and size_bytes.
 * With old (the manifest read with the index), everything else old records
 * is kept, and old's own format, type, dimension and metric win, so a
 * changed index keeps the history its build recorded.  NULL on OOM.
 */
cJSON *vidx_manifest_new(const struct vf_api *f, FaissIndex *index, const char *type,
			 const char *metric, const cJSON *old);

/*
 * A manifest in today's words, for a report or before it is rewritten:
 * built_at and optimized_at as ISO 8601 UTC (files before issue 11 hold
 * epoch seconds), and the vector count as vectors (they said ntotal).
 */
void vidx_manifest_normalize(cJSON *m);
/* name = t as ISO 8601 UTC ("2026-12-02T00:50:54Z"), replacing name. */
void vx_add_time(cJSON *o, const char *name, time_t t);

/* The manifest of the index at from (when it has one) copied to be the
 * manifest of the index at to; to's own is removed when from has none. */
ops_code vidx_manifest_copy(const char *from, const char *to, ops_error *err);

/*
 * Temporary files beside the index at path that a killed run left
 * (PATH.tmp.PID of vidx_swap, PATH.manifest.json.tmp.PID.RANDOM of the
 * manifest's atomic write, and the same of files named after the index:
 * its cache, optimize's candidate): those whose writer is gone
 * (ops_temp_orphaned) are removed, each with a warning.  Best effort: a
 * directory that cannot be read is left to the write that follows.
 */
void vidx_sweep_temps(const char *path);

/* ---- shared by vector.c and vector_ops.c ---- */

/*
 * A reservoir sample of (id, vector) rows, uniform over the whole pass (d 0:
 * ids only).  As git's strbuf: vx_sample_init() (or VX_SAMPLE_INIT) before
 * use; vx_sample_release() frees the rows and leaves the sample empty, so
 * releasing twice, or adding again after a release, is safe.
 */
struct vx_sample {
	size_t cap, n;
	long long seen;
	long long *ids;
	float *x;
	int d;
	unsigned long long rng;
};
#define VX_SAMPLE_INIT {0}

void vx_sample_init(struct vx_sample *s, size_t cap, unsigned long long seed);
/* Offer one row; -1 when memory runs out. */
int vx_sample_add(struct vx_sample *s, long long id, const float *v, int d);
void vx_sample_release(struct vx_sample *s);

/* A type ("IDMap,Flat", "IVF1024,Flat", a factory string or vidx_describe's)
 * that searches every vector: flat storage, no IVF lists in front of it. */
int vx_is_exact(const char *type);

unsigned long long vx_next_rand(unsigned long long *state);	/* splitmix64 */
const char *vx_index_path(const struct ops_vector_ctx *ctx);
int vx_cmp_ll(const void *a, const void *b);
/* *ids (of *cap, used taken) grown to hold more; -1 on OOM, *ids kept. */
int vx_ids_reserve(long long **ids, size_t used, size_t more, size_t *cap);
const char *vx_metric_name(FaissMetricType m);
void vx_list_some(cJSON *rep, const char *name, const long long *v, size_t n);
/* The maintenance window, then the question on a terminal, unless --force:
 * what is "rebuild", "optimize", "purge". */
ops_code vx_may_change(const struct ops_vector_ctx *ctx, const char *what, const char *question,
		       ops_error *err);
/* Search each sampled vector for itself; *hits counts the correct answers. */
ops_code vx_search_sample(const struct vf_api *f, FaissIndex *index, const struct vx_sample *s,
			  int exact, size_t *hits, double *seconds, ops_error *err);
/*
 * The outcome of vx_search_sample in a report, named the same by every
 * command: searched, found, self_recall (found / searched) and
 * found_within_top (1: an exact index must return each at rank 1; 10: an
 * approximate one among its top 10).
 */
void vx_report_found(cJSON *rep, size_t searched, size_t found, int exact);
/* ---- recall against exact search (vector_recall.c) ---- */

#define VX_K 10		/* recall@K, the K every command states */

/*
 * Queries for a recall measurement: each sampled vector of s moved by
 * gaussian noise of half the sample's spread in each dimension (and put
 * back on the unit sphere when the sample's vectors all lie on it), ids
 * kept.  Not the stored vectors themselves: an IVF index finds a stored
 * vector in its own list at nprobe 1, whatever its recall.  Repeatable.
 */
ops_code vx_noisy_queries(const struct vx_sample *s, struct vx_sample *q, ops_error *err);

/* The exact top VX_K of each query over rows offered in batches. */
struct vx_truth {
	const struct vf_api *f;
	size_t nq;
	int d, ip;
	const float *q;		/* nq * d, the caller's */
	long long *ids;		/* nq * VX_K, best first; -1: fewer rows */
	float *score;		/* nq * VX_K; higher is better (L2 negated) */
	long long *buf_ids;	/* rows waiting for the next flat search */
	float *buf_x;
	size_t nbuf;
};

ops_code vx_truth_init(const struct vf_api *f, struct vx_truth *t, const struct vx_sample *q,
		       int ip, ops_error *err);
/* Offer n rows; vx_truth_finish once after the last. */
ops_code vx_truth_add(struct vx_truth *t, const long long *ids, const float *x, size_t n,
		      ops_error *err);
ops_code vx_truth_finish(struct vx_truth *t, ops_error *err);
/* Every source row offered, in one pass, and finished. */
ops_code vx_truth_source(const struct ops_vector_ctx *ctx, struct vx_truth *t, ops_error *err);
void vx_truth_free(struct vx_truth *t);
/* The usual measurement's first half: noisy queries of smp into q
 * (vx_noisy_queries) and their truth over the source (vx_truth_source);
 * the caller frees both, whatever is returned. */
ops_code vx_truth_noisy(const struct ops_vector_ctx *ctx, const struct vf_api *f,
			const struct vx_sample *smp, int ip, struct vx_sample *q,
			struct vx_truth *t, ops_error *err);
/* Mean recall@VX_K of index against t, one query at a time (lat: per-query
 * milliseconds, when given). */
ops_code vx_recall(const struct vf_api *f, FaissIndex *index, const struct vx_truth *t,
		   double *recall, double *lat, ops_error *err);
/*
 * The search parameters index searches with, into params: nprobe as the
 * file holds it (IVF); efSearch as manifest records it, applied to index
 * (FAISS's C API cannot read it back from an HNSW).  Nothing for others.
 */
ops_code vx_search_params(const struct vf_api *f, FaissIndex *index, const cJSON *manifest,
			  cJSON *params, ops_error *err);
/*
 * The search parameter (nprobe, efSearch) raised from from (at least 1 or
 * 16), doubling up to nlist (1024 for efSearch), until recall@10 reaches
 * target; the last value tried stays set and goes into params and rep
 * (with "tuning", every value and its recall).  *reached is its recall, -1
 * when the index has no such parameter (exact, or another kind).
 */
ops_code vx_tune(const struct vf_api *f, FaissIndex *index, const struct vx_truth *t,
		 double from, double target, cJSON *rep, cJSON *params, double *reached,
		 ops_error *err);
/* The measurement in a report, named the same by every command:
 * recall_at_10, k, recall_queries, recall_measured (how), search_parameters
 * (what was searched with) and recall_bar (a fraction). */
void vx_report_recall(cJSON *rep, double recall, size_t queries, const cJSON *params, double bar,
		      const char *measured);

/* ---- the index's kind within vector.memory_budget (vector_plan.c) ---- */

struct vx_plan {
	char type[64];		/* the factory string: "IDMap,Flat", "IVF512,SQ8" ... */
	long long index_bytes;	/* codes, ids, centroids, tables */
	long long train;	/* training vectors (0: exact, none) */
	long long train_bytes;
};

/*
 * The one chooser of the index for n vectors of d dimensions (rebuild's
 * factory auto and its dry run, optimize -t advanced): the most exact kind
 * whose memory fits vector.memory_budget, exact only up to vector.flat_max
 * vectors, and the training sample that fits beside it.  rep (may be NULL)
 * gets "memory_plan": budget_bytes, type, index_bytes, training_vectors,
 * training_bytes, memory_bytes, and rejected (each kind that did not fit,
 * with the memory_bytes it needs).  None fits: OPS_ECONFIG naming
 * vector.memory_budget, with a hint.
 */
ops_code vx_plan_index(const ops_config *cfg, long long n, int d, struct vx_plan *out, cJSON *rep,
		       ops_error *err);

/* Whether to copy the live index first: choice 1 (-B) yes, -1 (-n) no, 0
 * the configured default, key (vector.backup_before_rebuild/_optimize). */
int vx_want_backup(const ops_config *cfg, int choice, const char *key);

/* Copy the live index and manifest to vector.backup_dir as
 * index_STAMP_TAG.faiss (STAMP: ops_time_stamp, UTC); remove copies older
 * than retention_days. */
ops_code vx_backup_index(const ops_config *cfg, const char *path, const char *tag,
			 long retention_days, cJSON *rep, ops_error *err);
/* That retention alone (guide 000 section 5.3; days 0: daily 7, weekly 30,
 * pre-rebuild 90), in vector.backup_dir; dry_run only names the copies.
 * rep gets "pruned", "pruned_size_bytes", "prune_errors" (core/walk); only
 * cancellation and out-of-memory are returned. */
ops_code vx_prune_backups(const ops_config *cfg, long days, int dry_run, cJSON *rep,
			  ops_error *err);

#endif
