/*
 * The FAISS index lifecycle (guide 000 section 3 and 8.2; guides 001, 002):
 * verify an index against the rows it was built from, rebuild it from
 * them, and report on it.  The index's ids are the rows' ids, so search
 * results map back to rows.  Every index written gets PATH.manifest.json
 * (SHA-256, type, dimension, metric, ntotal, source, build time), and is put
 * in place by a swap that never leaves the live index half-written.
 *
 * FAISS itself is loaded on first use (an OPS_EUNAVAIL error when its plugin
 * is missing).  Nothing here prints; reports are cJSON.
 */
#ifndef OPSMAINT_VECTOR_H
#define OPSMAINT_VECTOR_H

#include <cjson/cJSON.h>
#include "opsmaint/config.h"
#include "opsmaint/error.h"

typedef struct ops_vector_ctx {
	const ops_config *cfg;
	const char *path;	/* -p; NULL: vector.index_path */
	const char *database;	/* -d; NULL: vector.database, then db.name */
	int verbose;
	int force;		/* no confirmation */
	int progress;		/* progress line on stderr */
	int (*confirm)(void *arg, const char *question);
	void *confirm_arg;
} ops_vector_ctx;

/*
 * verify_faiss_index.py: the file's checksum against its manifest, that it
 * loads, its dimension against the source's, ntotal against the rows with
 * an embedding, the two sets of ids (missing and orphan ids listed and
 * counted), and a sample of source vectors searched: each must be found at
 * rank 1 (exact indexes) or at least vector.recall_bar percent of them
 * (approximate).  A damaged file is OPS_EDATA; any finding OPS_EFAIL naming
 * each.
 */
ops_code ops_vector_verify(const ops_vector_ctx *ctx, cJSON **report, ops_error *err);

typedef struct ops_rebuild_opts {
	long batch;		/* -b: vectors added per call (100) */
	int backup;		/* -B: copy the old index to vector.backup_dir first */
	long retention_days;	/* -r: backups older than this are removed (30) */
} ops_rebuild_opts;

/*
 * rebuild-vector-index.sh: stream the source in batches into a new index
 * (vector.factory; auto: exact up to vector.flat_max, IVF above, trained on
 * a sample), check it, back up the old one when asked, and swap.
 */
ops_code ops_vector_rebuild(const ops_vector_ctx *ctx, const ops_rebuild_opts *o, cJSON **report,
			    ops_error *err);

/* Type, dimension, metric, ntotal, search parameters, file size, manifest. */
ops_code ops_vector_stats(const ops_vector_ctx *ctx, cJSON **report, ops_error *err);

#endif
