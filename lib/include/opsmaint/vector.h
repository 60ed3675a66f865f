/*
 * The FAISS index lifecycle (guide 000 section 3 and 8.2; guides 001, 002):
 * verify an index against the rows it was built from, rebuild it from
 * them, and report on it.  The index's ids are the rows' ids, so search
 * results map back to rows.  Every index written gets PATH.manifest.json
 * (SHA-256, type, dimension, metric, vectors, source, build time), and is put
 * in place by a swap that never leaves the live index half-written.
 *
 * FAISS itself is loaded on first use (an OPS_EUNAVAIL error when its plugin
 * is missing).  Nothing here prints; reports are cJSON, with one vocabulary:
 * vectors is an index's vector count (FAISS's ntotal), duration_seconds
 * the duration of what is reported, times (built_at, optimized_at) ISO 8601
 * UTC, searched/found/self_recall the sampled vectors searched for
 * themselves, recall_at_10 recall against exact search over the source (k,
 * recall_queries, recall_measured, search_parameters and recall_bar beside
 * it).  Sampled queries are source vectors moved by noise, never the
 * stored vectors themselves, which an IVF index always finds.
 *
 * A cancelled run (cancel.h) stops between batches, searches and writes
 * and returns OPS_EINTR through the same paths as any failure: temporary
 * files removed, readers joined, their COPYs cancelled, and the live index
 * and its manifest as they were.  A command that replaces an index first
 * removes the temporary files that killed runs left beside it.
 */
#ifndef OPSMAINT_VECTOR_H
#define OPSMAINT_VECTOR_H
#include "opsmaint/api.h"
OPS_API_BEGIN

#include <cjson/cJSON.h>
#include "opsmaint/config.h"
#include "opsmaint/error.h"
#include "opsmaint/run.h"

typedef struct ops_vector_ctx {
	const ops_run *run;	/* shared with every command (run.h) */
	const char *path;	/* -p; NULL: vector.index_path */
	const char *database;	/* -d; NULL: vector.database, then db.name */
} ops_vector_ctx;

/*
 * verify_faiss_index.py: the file's checksum against its manifest, that it
 * loads, its dimension against the source's, its vectors against the rows with
 * an embedding, the two sets of ids (missing and orphan ids listed and
 * counted), and a sample of source vectors searched: each must be found at
 * rank 1 (exact indexes, whose recall is 1 by construction); an
 * approximate index's recall@10 against exact search, at the search
 * parameters it is stored with, must reach vector.recall_bar.  A damaged
 * file, another dimension than the source's or recall below the bar is
 * OPS_EDATA; any other finding OPS_EFAIL naming each.
 */
ops_code ops_vector_verify(const ops_vector_ctx *ctx, cJSON **report, ops_error *err);

typedef struct ops_rebuild_opts {
	long batch;		/* -b: vectors added per call (100) */
	int backup;		/* copy the old index to vector.backup_dir first: 1 yes (-B),
				 * -1 no (-n), 0 vector.backup_before_rebuild (true) */
	long retention_days;	/* -r: backups older than this are removed (30) */
	const char *factory;	/* NULL: vector.factory */
	const char *out_path;	/* NULL: replace the live index; else write here (optimize's
				 * candidate, whose recall optimize measures itself) */
	long train;		/* vectors an IVF index is trained on; 0: up to 100,000 */
} ops_rebuild_opts;

/*
 * rebuild-vector-index.sh: stream the source in batches into a new index
 * (vector.factory; auto: the most exact kind within vector.memory_budget,
 * exact up to vector.flat_max, trained on the sample the plan sizes), check it, back up the old one when asked, and swap.  The
 * directories it writes are checked first (OPS_EPERM before the table is
 * read).  An approximate index goes live only at recall@10 >=
 * vector.recall_bar: nprobe/efSearch is raised until it clears the bar by
 * two standard errors of the measurement (recorded in the index and its
 * manifest's search_parameters), and an index that cannot reach it is
 * OPS_EDATA, the live index untouched.
 */
ops_code ops_vector_rebuild(const ops_vector_ctx *ctx, const ops_rebuild_opts *o, cJSON **report,
			    ops_error *err);

typedef struct ops_optimize_opts {
	const char *type;	/* -t: "basic" or "advanced" */
	int backup;		/* 1 yes (-B), -1 no (-n), 0 vector.backup_before_optimize
				 * (false) */
} ops_optimize_opts;

/*
 * optimize-vector-index.sh, basic: ids whose rows are gone leave the index
 * (guide 002's defragment), and the search parameter (nprobe for IVF,
 * efSearch for HNSW) becomes the lowest value that keeps recall@10 >= 0.95
 * against exact search over the source; then the swap.  advanced: also
 * choose the index type for the current size and vector.memory_budget
 * (exact, IVF, or IVF with PQ codes), build and train it on a fresh
 * sample, tune it, and measure both (recall@10, latency p50/p95, memory);
 * the new one replaces the old only when it is not worse, or with force.
 */
ops_code ops_vector_optimize(const ops_vector_ctx *ctx, const ops_optimize_opts *o, cJSON **report,
			     ops_error *err);

/* evaluate_search_quality.py: recall@10 against exact search and latency
 * percentiles, for the queries in queries_file (a JSON array of vectors) or
 * else queries sampled from the source. */
ops_code ops_vector_eval(const ops_vector_ctx *ctx, int queries, const char *queries_file,
			 cJSON **report, ops_error *err);

/* Guide 002's purge_documents: ids (whole numbers, 0 or more; else
 * OPS_EUSAGE) out of the index; OPS_EPERM on a protected store
 * (vector.protected or general.protected_paths).  When none of them is in
 * the index, nothing is written. */
ops_code ops_vector_purge(const ops_vector_ctx *ctx, char *const *ids, cJSON **report,
			  ops_error *err);

/*
 * backup-vector-index.sh: the index (checked first) and its manifest copied
 * to dest (NULL: vector.backup_dir) as index_STAMP_daily|weekly.faiss,
 * zstd-compressed with compress; copies older than retention_days go.
 */
ops_code ops_vector_backup(const ops_vector_ctx *ctx, const char *dest, int compress,
			   long retention_days, cJSON **report, ops_error *err);

/* verify-vector-index-backup.sh: the newest backup (or id) restored into
 * a temporary place and verified as the live index would be. */
ops_code ops_vector_verify_backup(const ops_vector_ctx *ctx, const char *id, cJSON **report,
				  ops_error *err);

/* Guide 002 rebuild_cache: the chunks vector.cache_query names, most
 * accessed first, up to vector.cache_size, as an exact index at
 * vector.cache_path (default INDEX_PATH.cache.faiss). */
ops_code ops_vector_cache_rebuild(const ops_vector_ctx *ctx, cJSON **report, ops_error *err);

/* Guide 002 test_performance.py and stress_test.py: queries single-threaded
 * and from threads at once; QPS and latency percentiles, also written to
 * outdir/performance_results.json and stress_test_results.json. */
ops_code ops_vector_bench(const ops_vector_ctx *ctx, int threads, int queries, const char *outdir,
			  cJSON **report, ops_error *err);

/*
 * The index checked without loading FAISS, for a monitoring check (opsctl
 * health), in the time a stat and one count take: the file present and
 * readable; its manifest (PATH.manifest.json); the file's size against the
 * manifest's size_bytes; its SHA-256 against the manifest's when the file
 * is at most hash_max bytes (hash_max < 0: always), and whatever its size
 * when it was modified after its manifest (every swap writes the manifest
 * last, so a newer file was replaced behind it, and only the digest can
 * say whether it is the same); the source's rows with an embedding.
 * Report: {"index", "size_bytes", "modified_at", "manifest" (as stats shows
 * it, or null), "sha256_checked", "findings" (a damaged manifest, a size or
 * digest that does not match: the index cannot be trusted), "vectors" (the
 * manifest's count), "age_seconds" (since the manifest's built_at, else
 * since the manifest, else the file, was written), "rows" or, when they
 * could not be counted, "rows_error" and "rows_code"}.  Errors: no index
 * (OPS_EFAIL "no index at 'PATH'"), an unreadable one (OPS_EPERM, OPS_EIO),
 * cancellation; the report is filled as far as it got.
 */
ops_code ops_vector_check(const ops_vector_ctx *ctx, long long hash_max, cJSON **report,
			  ops_error *err);

/* Type, dimension, metric, vectors, search parameters, file size, manifest. */
ops_code ops_vector_stats(const ops_vector_ctx *ctx, cJSON **report, ops_error *err);

OPS_API_END
#endif
