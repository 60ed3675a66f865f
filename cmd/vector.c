/*
 * `opsctl vector`: the front end of lib/vector.  Table rows and a few lines
 * per subcommand; the lock, journal and output are the runner's (runner.c).
 */
#include "cli.h"
#include "opsmaint/vector.h"

#define OPT_PATH \
	CLI_OPT_STRING('p', "path", "PATH", "index path", .key = "vector.index_path", \
		       .complete = CLI_C_FILE)
#define OPT_DATABASE \
	CLI_OPT_STRING('d', "database", "NAME", \
		       "database holding the embeddings (db.name when vector.database is unset)", \
		       .key = "vector.database", .complete = CLI_C_DATABASE)

#define OPT_VERBOSE CLI_OPT_VERBOSE('v')

static ops_vector_ctx vector_ctx(const struct cli_inv *inv, const ops_run *run)
{
	ops_vector_ctx ctx = {0};

	ctx.run = run;
	ctx.path = cli_has_opt(inv, "path") && cli_given(inv, "path") ? cli_str(inv, "path") : NULL;
	ctx.database = cli_has_opt(inv, "database") && cli_given(inv, "database")
		? cli_str(inv, "database") : NULL;
	return ctx;
}

static ops_code op_verify(struct cli_inv *inv, const ops_run *run, cJSON **report,
			  ops_error *err)
{
	ops_vector_ctx ctx = vector_ctx(inv, run);

	return ops_vector_verify(&ctx, report, err);
}

/* -B 1, -n -1, neither 0 (the configured default); both is a usage error. */
static ops_code backup_choice(struct cli_inv *inv, int *choice, ops_error *err)
{
	if (cli_flag(inv, "backup") && cli_flag(inv, "no-backup"))
		return ops_error_set(err, OPS_EUSAGE,
				     "--backup and --no-backup cannot be used together");
	*choice = cli_flag(inv, "backup") ? 1 : cli_flag(inv, "no-backup") ? -1 : 0;
	return OPS_OK;
}

static ops_code op_rebuild(struct cli_inv *inv, const ops_run *run, cJSON **report,
			   ops_error *err)
{
	ops_vector_ctx ctx = vector_ctx(inv, run);
	ops_rebuild_opts o = {0};

	if (backup_choice(inv, &o.backup, err) != OPS_OK)
		return err->code;
	o.batch = cli_num(inv, "batch-size");
	o.retention_days = cli_num(inv, "retention");
	return ops_vector_rebuild(&ctx, &o, report, err);
}

static ops_code op_optimize(struct cli_inv *inv, const ops_run *run, cJSON **report,
			    ops_error *err)
{
	ops_vector_ctx ctx = vector_ctx(inv, run);
	ops_optimize_opts o = {0};

	if (backup_choice(inv, &o.backup, err) != OPS_OK)
		return err->code;
	o.type = cli_str(inv, "type");
	return ops_vector_optimize(&ctx, &o, report, err);
}

static ops_code op_eval(struct cli_inv *inv, const ops_run *run, cJSON **report,
			ops_error *err)
{
	ops_vector_ctx ctx = vector_ctx(inv, run);

	return ops_vector_eval(&ctx, (int)cli_num(inv, "queries"), cli_str(inv, "queries-file"),
			       report, err);
}

static ops_code op_backup(struct cli_inv *inv, const ops_run *run, cJSON **report,
			  ops_error *err)
{
	ops_vector_ctx ctx = vector_ctx(inv, run);

	/* Without -r, guide 000 section 5.3 decides: daily 7, weekly 30, pre-rebuild 90 days. */
	return ops_vector_backup(&ctx, cli_given(inv, "destination") ? cli_str(inv, "destination") : NULL,
				 cli_flag(inv, "compress"),
				 cli_given(inv, "retention") ? cli_num(inv, "retention") : 0, report, err);
}

static ops_code op_stats(struct cli_inv *inv, const ops_run *run, cJSON **report,
			ops_error *err)
{
	ops_vector_ctx ctx = vector_ctx(inv, run);

	return ops_vector_stats(&ctx, report, err);
}

static ops_code op_purge(struct cli_inv *inv, const ops_run *run, cJSON **report,
			ops_error *err)
{
	ops_vector_ctx ctx = vector_ctx(inv, run);

	return ops_vector_purge(&ctx, cli_list(inv, "ids"), report, err);
}

static ops_code op_verify_backup(struct cli_inv *inv, const ops_run *run, cJSON **report,
				 ops_error *err)
{
	ops_vector_ctx ctx = vector_ctx(inv, run);

	return ops_vector_verify_backup(&ctx, cli_given(inv, "backup-id") ? cli_str(inv, "backup-id")
					: NULL, report, err);
}

static ops_code op_cache_rebuild(struct cli_inv *inv, const ops_run *run, cJSON **report,
				 ops_error *err)
{
	ops_vector_ctx ctx = vector_ctx(inv, run);

	return ops_vector_cache_rebuild(&ctx, report, err);
}

static ops_code op_bench(struct cli_inv *inv, const ops_run *run, cJSON **report,
			ops_error *err)
{
	ops_vector_ctx ctx = vector_ctx(inv, run);

	return ops_vector_bench(&ctx, (int)cli_num(inv, "concurrency"), (int)cli_num(inv, "queries"),
				cli_str(inv, "output-dir"), report, err);
}

/* Everything that replaces the live index shares one lock. */
#define LOCK_INDEX "vector index"

static const struct cli_opt verify_opts[] = { OPT_PATH, OPT_DATABASE, OPT_VERBOSE, CLI_OPT_END };

static const struct cli_opt rebuild_opts[] = {
	OPT_PATH,
	CLI_OPT_INT('b', "batch-size", "SIZE", 1, 1000000,
		    "rows read and added to the index at a time; larger batches cost SIZE x "
		    "dimension x 4 bytes of memory, smaller ones more FAISS calls", .def = "100"),
	CLI_OPT_FLAG('f', "force",
		     "run outside the maintenance window too, and without asking"),
	CLI_OPT_YES,
	CLI_OPT_FLAG('B', "backup",
		     "copy the live index to vector.backup_dir first, whatever "
		     "vector.backup_before_rebuild says (its default: true)"),
	CLI_OPT_FLAG('n', "no-backup",
		     "do not copy the live index first, whatever vector.backup_before_rebuild says"),
	CLI_OPT_INT('r', "retention", "DAYS", 1, 36500,
		    "after the copy, remove daily copies older than DAYS days (weekly ones 30 "
		    "at least, pre-rebuild and pre-optimize ones 90)", .def = "30"),
	CLI_OPT_DRY_RUN("say what a rebuild would read, build and back up, and whether the "
			"window would let it run; change nothing"),
	OPT_DATABASE,
	OPT_VERBOSE,
	CLI_OPT_END
};

static const struct cli_opt stats_opts[] = { OPT_PATH, CLI_OPT_END };

static const struct cli_opt optimize_opts[] = {
	OPT_PATH,
	CLI_OPT_ENUM('t', "type", "TYPE", "basic,advanced", "optimization type: basic, advanced",
		     .def = "basic"),
	CLI_OPT_FLAG('B', "backup",
		     "copy the live index to vector.backup_dir first, whatever "
		     "vector.backup_before_optimize says (its default: false)"),
	CLI_OPT_FLAG('n', "no-backup",
		     "do not copy the live index first, whatever vector.backup_before_optimize says"),
	CLI_OPT_FLAG('f', "force",
		     "run outside the maintenance window too, without asking, and (advanced) "
		     "take the candidate even when it measures worse"),
	CLI_OPT_YES,
	CLI_OPT_DRY_RUN("say which orphan ids would go, what would be tuned or built, whether "
			"a backup would be taken and whether the window would let it run; change "
			"nothing"),
	OPT_DATABASE,
	OPT_VERBOSE,
	CLI_OPT_END
};

static const struct cli_opt backup_opts[] = {
	OPT_PATH,
	CLI_OPT_STRING('d', "destination", "DIR", "directory the copy of the index goes to",
		       .key = "vector.backup_dir", .complete = CLI_C_DIR),
	CLI_OPT_FLAG('c', "compress",
		     "compress the copy with zstd (index_STAMP_TAG.faiss.zst; verify-backup "
		     "reads it); without it the copy is stored as it is"),
	CLI_OPT_INT('r', "retention", "DAYS", 1, 36500,
		    "keep daily copies DAYS days and the others at least as long; without it, "
		    "guide 000 section 5.3: daily 7, weekly 30, pre-rebuild 90"),
	CLI_OPT_FLAG(0, "dry-run",
		     "show which old copies retention would remove, and copy and remove nothing"),
	OPT_VERBOSE,
	CLI_OPT_END
};

static const struct cli_opt verify_backup_opts[] = {
	CLI_OPT_STRING('b', "backup-id", "ID",
		       "backup to verify: its file name in vector.backup_dir, or latest",
		       .def = "latest"),
	OPT_DATABASE,
	OPT_VERBOSE,
	CLI_OPT_END
};

static const struct cli_opt eval_opts[] = {
	OPT_PATH,
	/* Long only: -q is the global --quiet and -f --force elsewhere. */
	CLI_OPT_INT(0, "queries", "N", 1, 100000, "number of queries sampled from the source",
		    .def = "100"),
	CLI_OPT_STRING(0, "queries-file", "FILE",
		       "test queries: a JSON array of embedding vectors (instead of a sample)",
		       .complete = CLI_C_FILE),
	OPT_DATABASE,
	OPT_VERBOSE,
	CLI_OPT_END
};

static const struct cli_opt cache_opts[] = { OPT_PATH, OPT_DATABASE, OPT_VERBOSE, CLI_OPT_END };

static const struct cli_opt bench_opts[] = {
	OPT_PATH,
	CLI_OPT_INT('c', "concurrency", "N", 1, 1024,
		    "concurrent searching threads for the stress test", .def = "8"),
	CLI_OPT_INT('n', "queries", "N", 1, 10000000, "queries per thread", .def = "500"),
	CLI_OPT_STRING('o', "output-dir", "DIR",
		       "where performance_results.json and stress_test_results.json go", .def = ".",
		       .complete = CLI_C_DIR),
	OPT_DATABASE,
	OPT_VERBOSE,
	CLI_OPT_END
};

static const struct cli_opt purge_opts[] = {
	OPT_PATH,
	CLI_OPT_LIST(0, "ids", "IDS", "ids to remove from the index; repeat or comma-separate"),
	CLI_OPT_FLAG('f', "force", "run outside the maintenance window too, and without asking"),
	CLI_OPT_YES,
	CLI_OPT_DRY_RUN("say which of the ids the index holds and would lose, and whether the "
			"window would let it run; change nothing"),
	OPT_VERBOSE,
	CLI_OPT_END
};

const struct cli_cmd cli_vector_subs[] = {
	{.name = "verify",
	 .summary = "check the index against its source rows (verify_faiss_index.py)",
	 .opts = verify_opts,
	 .op = op_verify,
	 .flags = CLI_CHANGES,
	 .description =
	 "Checks the FAISS index as verify_faiss_index.py does (guide 000 section 3.1), and more: "
	 "the file's SHA-256 against its manifest before FAISS reads it (exit 65 when they differ, "
	 "or when the file is truncated, empty or no FAISS index, each said so); the index's "
	 "dimension against the source's; its vectors against the rows with an embedding (NULL "
	 "embeddings are skipped and counted); the ids in "
	 "the index against the ids of the rows, listing missing and orphan ids and counting them; "
	 "and a sample of vector.sample source vectors searched, each of which an exact index must "
	 "return at rank 1. An approximate index (IVF, PQ, HNSW) is measured: its recall@10 against "
	 "exact search over the source rows, at the nprobe or efSearch it is stored with (the file's "
	 "nprobe, the manifest's efSearch), for the sampled vectors moved by a little noise (a "
	 "stored vector always lies in its own IVF list, so searching for it proves nothing), must "
	 "reach vector.recall_bar (90%); the report gives recall_at_10, k, the search parameters "
	 "and the bar. Any finding exits 1 and is named; an index of another dimension than its "
	 "source, or below the recall bar, is bad data, exit 65. The figures go to the journal and "
	 "the Prometheus textfile "
	 "(opsctl_vector_index_vectors, opsctl_vector_missing_ids, opsctl_vector_orphan_ids, "
	 "opsctl_vector_recall_at_10_ratio: recall@10, a fraction).",
	 .examples =
	 "Weekly check (guide 000)\nopsctl vector verify"},
	{.name = "rebuild",
	 .summary = "rebuild the index from the database (rebuild-vector-index.sh)",
	 .opts = rebuild_opts,
	 .op = op_rebuild,
	 .lock = LOCK_INDEX,
	 .flags = CLI_CHANGES,
	 .description =
	 "Rebuilds the FAISS index from the embeddings in the database, as rebuild-vector-index.sh "
	 "does. The kind of index is vector.factory, built as given; auto (the default) is chosen "
	 "within vector.memory_budget by the planner of optimize -t advanced, from the rows "
	 "counted and the dimension of the source's first vector: the most exact of exact search "
	 "(up to vector.flat_max vectors), IVF with about 4 sqrt(n) lists holding whole vectors, "
	 "IVF with 8-bit scalar codes and IVF with PQ codes whose codes, ids, centroids and "
	 "training sample fit, trained on the sample the plan leaves room for (up to 100,000 "
	 "vectors); the report's memory_plan shows the choice and what was rejected, and a budget "
	 "too small for any of them is exit 78 naming vector.memory_budget, before anything is "
	 "built and with the live index untouched. The rows of vector.table are streamed with "
	 "COPY in binary (a large table as "
	 "vector.read_jobs block ranges of one snapshot at once, in a fixed order, so the same table "
	 "gives the same file), added in batches of -b vectors (an index that needs training, IVF, "
	 "is first trained on a sample), and the new index must find a sample of its vectors, and "
	 "an approximate one reach vector.recall_bar in recall@10 against exact search (measured "
	 "as verify measures it; nprobe or efSearch is raised until it does, and stored in the "
	 "index and its manifest; an index that cannot reach it is refused, exit 65, and the live "
	 "one stays), before "
	 "it is written to a temporary file (hashed as it is written, past the page cache where "
	 "the file system allows), synced, read back from the disk to the same CRC-32C, and "
	 "renamed over the live one with a manifest that accepts "
	 "either file during the swap: the live index is never half-written. Before the swap the "
	 "old index is copied to vector.backup_dir as index_YYYYMMDDTHHMMSSZ_pre-rebuild.faiss "
	 "(UTC), as rebuild-vector-index.sh does unless told -n: vector.backup_before_rebuild "
	 "(true) decides, -B/--backup or -n/--no-backup for one run (both at once is exit 64); "
	 "then daily copies older than -r days are removed (weekly ones after 30 days at least, "
	 "pre-rebuild and pre-optimize ones after 90). --dry-run names the source, its rows, the "
	 "factory (auto: with the same memory_plan) and whether a copy would be taken, and whether the window would refuse the "
	 "real run, and writes nothing. Without -f it runs only "
	 "inside the environment's maintenance window (exit 1 outside it) and asks on a terminal; "
	 "the guide's quarterly cron line (--backup --force) runs unattended on any weekday. Two "
	 "rebuilds never run at once (exit 75). A directory it cannot write (the index's, or with "
	 "--backup the backup's) is exit 77 before the table is read.",
	 .examples =
	 "Quarterly rebuild (guide 000)\n0 2 1 1,4,7,10 * opsctl vector rebuild --backup --force"},
	{.name = "optimize",
	 .summary = "remove orphans and tune search (optimize-vector-index.sh)",
	 .opts = optimize_opts,
	 .op = op_optimize,
	 .lock = LOCK_INDEX,
	 .flags = CLI_CHANGES,
	 .description =
	 "Optimizes the index as optimize-vector-index.sh does. basic: ids whose rows are gone "
	 "leave the index (guide 002's defragment), and the search parameter (nprobe for IVF, "
	 "efSearch for HNSW) becomes the lowest value that keeps recall@10 at or above 0.95 against "
	 "exact search over the source rows, measured on 100 queries sampled from them; the index "
	 "is then swapped in as rebuild does, with its manifest recording the tuned parameter.\n\n"
	 "advanced chooses the index type for the current number of vectors and "
	 "vector.memory_budget the way autofaiss does: the most exact of exact search (up to "
	 "vector.flat_max vectors), IVF with about 4 sqrt(n) lists holding whole vectors, IVF with "
	 "8-bit scalar codes (a byte a dimension) and IVF with PQ codes of d/2 bytes down to 8 "
	 "whose memory fits: codes and 8-byte ids with a tenth to spare, centroids, L2's PQ tables "
	 "and the training sample (up to 100,000 vectors, fewer when that is what fits). The "
	 "report's memory_plan shows the choice and what was rejected; a budget too small for "
	 "any of them is exit 78 naming vector.memory_budget. It builds and trains the candidate "
	 "on a fresh sample beside the live index, streaming the rows in batches with room "
	 "reserved in each list for its share, tunes it (the least nprobe/efSearch reaching "
	 "recall@10 0.95 with two standard errors of the measurement to spare), and measures both "
	 "on the same queries "
	 "(recall@10 against exact search, latency p50 and p95, size). The candidate replaces the "
	 "live index only when it is not worse (recall within half a point, median latency within "
	 "25% or 1 ms), or with --force; a live index larger than the budget is not loaded to be "
	 "measured, and the candidate then replaces it when it reaches vector.recall_bar. The "
	 "report says what changed.\n\n"
	 "The old index is copied to vector.backup_dir first "
	 "(index_YYYYMMDDTHHMMSSZ_pre-optimize.faiss) only when asked, as "
	 "optimize-vector-index.sh does: vector.backup_before_optimize (false), -B/--backup or "
	 "-n/--no-backup for one run. --dry-run names the orphan ids that would go, the search "
	 "parameter that would be tuned (basic) or the candidate's type (advanced), whether a "
	 "copy would be taken and whether the window would refuse the real run, and writes "
	 "nothing.\n\n"
	 "Without -f it runs only inside the environment's maintenance window (exit 1 outside it) "
	 "and asks on a terminal (--yes answers).",
	 .examples =
	 "Monthly optimization, first Sunday at 02:00, inside the prod window (guide 000)\n"
	 "0 2 * * 0 [ $(date +\\%d) -le 7 ] && opsctl vector optimize --backup"},
	{.name = "backup",
	 .summary = "back up the index (backup-vector-index.sh)",
	 .opts = backup_opts,
	 .op = op_backup,
	 .flags = CLI_CHANGES,
	 .description =
	 "Copies the index, after checking it loads and matches its manifest, and its manifest to "
	 "the destination (vector.backup_dir) as index_YYYYMMDDTHHMMSSZ_daily.faiss, the time in "
	 "UTC (weekly on Sundays; copies named index_YYYYMMDD_HHMMSS_TAG.faiss by earlier "
	 "versions are kept and pruned by the same rules), compressed with zstd with -c, and "
	 "applies guide 000 section 5.3's retention: "
	 "daily copies 7 days, weekly ones 30, pre-rebuild and pre-optimize ones 90; -r DAYS sets "
	 "the daily period and the least for the others.",
	 .examples =
	 "Weekly backup (guide 000)\n0 3 * * 0 opsctl vector backup --compress"},
	{.name = "verify-backup",
	 .summary = "restore a backup to a temporary place and verify it",
	 .opts = verify_backup_opts,
	 .op = op_verify_backup,
	 .flags = CLI_CHANGES,
	 .description =
	 "Restores the newest index backup (or -b ID, its file name in vector.backup_dir) into "
	 "STATE_DIR/tmp, decompressing it if needed, and verifies it against the source exactly "
	 "as `vector verify` does; a damaged backup is exit 65 naming it.",
	 .examples =
	 "Monthly restore test (guide 000 section 5.3)\nopsctl vector verify-backup"},
	{.name = "eval",
	 .summary = "measure recall@10 and latency (evaluate_search_quality.py)",
	 .opts = eval_opts,
	 .op = op_eval,
	 .flags = CLI_CHANGES,
	 .description =
	 "Evaluates search quality: recall@10 of the index against exact search over the source "
	 "rows, for the predefined test queries of --queries-file FILE (a JSON array of embedding "
	 "vectors, as evaluate_search_quality.py keeps them) or --queries N sampled from the "
	 "source rows, and "
	 "search latency percentiles (p50, p95, p99) and queries per second.",
	 .examples =
	 "Quarterly evaluation as JSON\nopsctl --output json vector eval --queries 500"},
	{.name = "purge",
	 .summary = "remove ids from the index (guide 002 purge_documents)",
	 .opts = purge_opts,
	 .op = op_purge,
	 .lock = LOCK_INDEX,
	 .flags = CLI_CHANGES,
	 .description =
	 "Removes the given ids from the index and swaps it in; when none of them is in the "
	 "index, the index and its manifest are left as they are. Ids are whole numbers, 0 or "
	 "more (anything else is exit 64). Refused (exit 77) on a protected "
	 "store, vector.protected or an index path under general.protected_paths (guide 002: never "
	 "purge the persistent main store). --dry-run names the ids the index holds and would "
	 "lose and those it does not hold, and whether the window would refuse the real run, and "
	 "writes nothing. Without -f it runs only inside the environment's "
	 "maintenance window (exit 1 outside it) and asks on a terminal (--yes answers).",
	 .examples =
	 "Remove two chunks from a test index\nopsctl vector purge -p /tmp/test.faiss --ids 17,18 -f"},
	{.name = "cache-rebuild",
	 .summary = "rebuild the hot-chunk cache index (guide 002 rebuild_cache)",
	 .opts = cache_opts,
	 .op = op_cache_rebuild,
	 .flags = CLI_CHANGES,
	 .description =
	 "Rebuilds the small cache index of the most frequently accessed chunks, as guide 002's "
	 "rebuild_cache does every 6 hours: vector.cache_query names the chunk ids, most accessed "
	 "first; the first vector.cache_size of them are fetched from the source and written as an "
	 "exact index to vector.cache_path (default INDEX_PATH.cache.faiss) with the same swap and "
	 "manifest as the main index.",
	 .examples =
	 "Every 6 hours (guide 002)\n0 */6 * * * opsctl vector cache-rebuild"},
	{.name = "bench",
	 .summary = "stress and performance test of searching (guide 002)",
	 .opts = bench_opts,
	 .op = op_bench,
	 .flags = CLI_CHANGES,
	 .description =
	 "Runs guide 002's performance test (one client, -n queries) and stress test (-c clients "
	 "at once, -n queries each) against the index with queries sampled from the source, and "
	 "reports QPS and latency percentiles; the results are also written to "
	 "performance_results.json and stress_test_results.json in -o DIR. Any failed search "
	 "exits 1.",
	 .examples =
	 "After a major change (guide 002)\nopsctl vector bench -c 16 -o /var/lib/opsctl/bench"},
	{.name = "stats",
	 .summary = "show the index's type, size and parameters",
	 .opts = stats_opts,
	 .op = op_stats,
	 .description =
	 "Shows the index's type, dimension, metric, number of vectors, IVF lists and nprobe, file "
	 "size and SHA-256, and its manifest, whose times (built_at, optimized_at) are ISO 8601 "
	 "UTC. A file that is missing is exit 1; truncated, empty or not a FAISS index exit 65, "
	 "saying which.",
	 .examples =
	 "Index statistics as JSON\nopsctl --output json vector stats"},
	{0}
};

const char cli_vector_description[] =
	"The FAISS vector index lifecycle (guide 000 section 3 and 8.2; guide 001 FAISS index "
	"optimization; guide 002 vector store maintenance). The index lives at vector.index_path "
	"with PATH.manifest.json beside it; its ids are the ids of the rows in vector.table "
	"(document_chunks by default), whose vector.embedding_column may be real[], double "
	"precision[], bytea of little-endian float32, pgvector's vector, text, json or jsonb "
	"holding '[0.1, 0.2, ...]' (pgvector's text form, a JSON array) or '{0.1,0.2,...}', or in "
	"SQLite a BLOB of float32 or such text; NULL and empty lists hold no vector and are "
	"counted. A large table is read as vector.read_jobs block ranges of one snapshot at once. "
	"Indexes written by Python faiss (IndexIDMap over Flat, IVF, HNSW) are read, and what "
	"opsctl writes loads in faiss.read_index.\n\n"
	"FAISS is loaded from the opsctl-faiss.so plugin the first time a vector command runs "
	"($OPSCTL_FAISS_PLUGIN, beside the binary, or the installed plugin directory), so no other "
	"command pays for it.";
