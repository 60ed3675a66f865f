/*
 * `opsctl vector`: the front end of lib/vector.  Table rows and a few lines
 * per subcommand; the lock, journal and output are shared in run_vector().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "opsmaint/log.h"
#include "prompt.h"
#include "opsmaint/task.h"
#include "opsmaint/vector.h"

#define OPT_PATH \
	{"path", 'p', CLI_STRING, "PATH", "vector.index_path", NULL, 0, 0, CLI_C_FILE, \
	 "index path"}
#define OPT_DATABASE \
	{"database", 'd', CLI_STRING, "NAME", "vector.database", NULL, 0, 0, CLI_C_DATABASE, \
	 "database holding the embeddings (db.name when vector.database is unset)"}
#define OPT_VERBOSE \
	{"verbose", 'v', CLI_FLAG, NULL, NULL, NULL, 0, 0, CLI_C_NONE, "enable verbose output"}

typedef ops_code (*vector_op)(struct cli_inv *inv, const ops_vector_ctx *ctx, cJSON **report,
			      ops_error *err);

/* lock_name: the task whose lock, journal line and metrics the run takes. */
static int run_vector(struct cli_inv *inv, const char *lock_name, vector_op op)
{
	ops_vector_ctx ctx = {0};
	ops_run run;
	ops_task *task = NULL;
	cJSON *report = NULL;
	ops_error err;
	ops_code rc;
	int status;

	ops_error_clear(&err);
	ops_run_init(&run, inv->cfg);
	ctx.run = &run;
	ctx.path = cli_has_opt(inv, "path") ? cli_str(inv, "path") : NULL;
	ctx.database = cli_has_opt(inv, "database") ? cli_str(inv, "database") : NULL;
	run.verbose = cli_has_opt(inv, "verbose") && cli_flag(inv, "verbose");
	run.force = cli_has_opt(inv, "force") && cli_flag(inv, "force");
	run.dry_run = cli_has_opt(inv, "dry-run") && cli_flag(inv, "dry-run");
	if (isatty(STDERR_FILENO) && !inv->quiet && inv->out == OPS_OUT_TEXT)
		run.progress = cli_progress;
	if (run.verbose)
		ops_log_set_level(OPS_LOG_INFO);
	if (ops_is_interactive())
		run.confirm = cli_ask;
	if (lock_name && !run.dry_run && ops_task_begin(inv->cfg, lock_name, &task, &err) != OPS_OK)
		return cli_error(inv, &err);
	rc = op(inv, &ctx, &report, &err);
	status = cli_report_run(inv, task, rc, &err, report);
	return status;
}

static ops_code op_verify(struct cli_inv *inv, const ops_vector_ctx *ctx, cJSON **report,
			  ops_error *err)
{
	return ops_vector_verify(ctx, report, err);
}

static ops_code op_rebuild(struct cli_inv *inv, const ops_vector_ctx *ctx, cJSON **report,
			   ops_error *err)
{
	ops_rebuild_opts o = {0};

	if (cli_flag(inv, "backup") && cli_flag(inv, "no-backup"))
		return ops_error_set(err, OPS_EUSAGE, "--backup and --no-backup cannot be used together");
	o.batch = cli_num(inv, "batch-size");
	o.backup = cli_flag(inv, "backup");
	o.retention_days = cli_get(inv, "retention")->set ? cli_num(inv, "retention") : 0;
	return ops_vector_rebuild(ctx, &o, report, err);
}

static ops_code op_stats(struct cli_inv *inv, const ops_vector_ctx *ctx, cJSON **report,
			 ops_error *err)
{
	return ops_vector_stats(ctx, report, err);
}

static ops_code op_optimize(struct cli_inv *inv, const ops_vector_ctx *ctx, cJSON **report,
			    ops_error *err)
{
	ops_optimize_opts o = {0};

	o.type = cli_str(inv, "type") ? cli_str(inv, "type") : "basic";
	o.backup = cli_flag(inv, "backup");
	return ops_vector_optimize(ctx, &o, report, err);
}

static ops_code op_eval(struct cli_inv *inv, const ops_vector_ctx *ctx, cJSON **report,
			ops_error *err)
{
	return ops_vector_eval(ctx, (int)cli_num(inv, "queries"), cli_str(inv, "queries-file"), report, err);
}

static ops_code op_purge(struct cli_inv *inv, const ops_vector_ctx *ctx, cJSON **report,
			 ops_error *err)
{
	return ops_vector_purge(ctx, cli_list(inv, "ids"), report, err);
}

static ops_code op_backup(struct cli_inv *inv, const ops_vector_ctx *ctx, cJSON **report,
			  ops_error *err)
{
	/* Without -r, guide 000 section 5.3 decides: daily 7, weekly 30, pre-rebuild 90 days. */
	return ops_vector_backup(ctx, cli_str(inv, "destination"), cli_flag(inv, "compress"),
				 cli_get(inv, "retention")->set ? cli_num(inv, "retention") : 0, report, err);
}

static ops_code op_verify_backup(struct cli_inv *inv, const ops_vector_ctx *ctx, cJSON **report,
				 ops_error *err)
{
	return ops_vector_verify_backup(ctx, cli_str(inv, "backup-id"), report, err);
}

static ops_code op_cache_rebuild(struct cli_inv *inv, const ops_vector_ctx *ctx, cJSON **report,
				 ops_error *err)
{
	return ops_vector_cache_rebuild(ctx, report, err);
}

static ops_code op_bench(struct cli_inv *inv, const ops_vector_ctx *ctx, cJSON **report,
			 ops_error *err)
{
	return ops_vector_bench(ctx, (int)cli_num(inv, "concurrency"), (int)cli_num(inv, "queries"),
				cli_str(inv, "output-dir") ? cli_str(inv, "output-dir") : ".", report, err);
}

/* Everything that replaces the live index shares one lock. */
#define LOCK_INDEX "vector"

static int run_verify(struct cli_inv *inv) { return run_vector(inv, "vector verify", op_verify); }
static int run_rebuild(struct cli_inv *inv) { return run_vector(inv, LOCK_INDEX, op_rebuild); }
static int run_stats(struct cli_inv *inv) { return run_vector(inv, NULL, op_stats); }
static int run_optimize(struct cli_inv *inv) { return run_vector(inv, LOCK_INDEX, op_optimize); }
static int run_eval(struct cli_inv *inv) { return run_vector(inv, "vector eval", op_eval); }
static int run_purge(struct cli_inv *inv) { return run_vector(inv, LOCK_INDEX, op_purge); }
static int run_backup(struct cli_inv *inv) { return run_vector(inv, "vector backup", op_backup); }
static int run_cache_rebuild(struct cli_inv *inv) { return run_vector(inv, "vector cache-rebuild", op_cache_rebuild); }
static int run_bench(struct cli_inv *inv) { return run_vector(inv, "vector bench", op_bench); }
static int run_verify_backup(struct cli_inv *inv) { return run_vector(inv, "vector verify-backup", op_verify_backup); }

static const struct cli_opt verify_opts[] = { OPT_PATH, OPT_DATABASE, OPT_VERBOSE, {0} };

static const struct cli_opt rebuild_opts[] = {
	OPT_PATH,
	{"batch-size", 'b', CLI_INT, "SIZE", "100", NULL, 1, 1000000, CLI_C_NONE,
	 "batch size for processing"},
	{"force", 'f', CLI_FLAG, NULL, NULL, NULL, 0, 0, CLI_C_NONE,
	 "force rebuild without confirmation"},
	{"backup", 'B', CLI_FLAG, NULL, NULL, NULL, 0, 0, CLI_C_NONE,
	 "backup current index before rebuilding"},
	{"no-backup", 'n', CLI_FLAG, NULL, NULL, NULL, 0, 0, CLI_C_NONE,
	 "skip backup of current index"},
	{"retention", 'r', CLI_INT, "DAYS", "30", NULL, 1, 36500, CLI_C_NONE,
	 "backup retention in days"},
	OPT_DATABASE,
	OPT_VERBOSE,
	{0}
};

static const struct cli_opt stats_opts[] = { OPT_PATH, {0} };

static const struct cli_opt optimize_opts[] = {
	OPT_PATH,
	{"type", 't', CLI_ENUM, "TYPE", "basic", "basic,advanced", 0, 0, CLI_C_VALUES,
	 "optimization type: basic, advanced"},
	{"backup", 'B', CLI_FLAG, NULL, NULL, NULL, 0, 0, CLI_C_NONE,
	 "backup current index before optimization"},
	{"force", 'f', CLI_FLAG, NULL, NULL, NULL, 0, 0, CLI_C_NONE,
	 "force optimization without confirmation"},
	OPT_DATABASE,
	OPT_VERBOSE,
	{0}
};

static const struct cli_opt backup_opts[] = {
	OPT_PATH,
	{"destination", 'd', CLI_STRING, "DIR", "vector.backup_dir", NULL, 0, 0, CLI_C_DIR,
	 "backup destination directory"},
	{"compress", 'c', CLI_FLAG, NULL, NULL, NULL, 0, 0, CLI_C_NONE, "compress backup (zstd)"},
	{"retention", 'r', CLI_INT, "DAYS", "30", NULL, 1, 36500, CLI_C_NONE,
	 "backup retention in days (without it: daily 7, weekly 30, pre-rebuild 90)"},
	{"dry-run", 0, CLI_FLAG, NULL, NULL, NULL, 0, 0, CLI_C_NONE,
	 "show which old copies retention would remove, and copy and remove nothing"},
	OPT_VERBOSE,
	{0}
};

static const struct cli_opt verify_backup_opts[] = {
	{"backup-id", 'b', CLI_STRING, "NAME", "latest", NULL, 0, 0, CLI_C_NONE,
	 "backup file name in vector.backup_dir to verify"},
	OPT_DATABASE,
	OPT_VERBOSE,
	{0}
};

static const struct cli_opt eval_opts[] = {
	OPT_PATH,
	{"queries", 'q', CLI_INT, "N", "100", NULL, 1, 100000, CLI_C_NONE,
	 "number of queries sampled from the source"},
	{"queries-file", 'f', CLI_STRING, "FILE", NULL, NULL, 0, 0, CLI_C_FILE,
	 "test queries: a JSON array of embedding vectors (instead of a sample)"},
	OPT_DATABASE,
	OPT_VERBOSE,
	{0}
};

static const struct cli_opt cache_opts[] = { OPT_PATH, OPT_DATABASE, OPT_VERBOSE, {0} };

static const struct cli_opt bench_opts[] = {
	OPT_PATH,
	{"concurrency", 'c', CLI_INT, "N", "8", NULL, 1, 1024, CLI_C_NONE,
	 "concurrent searching threads for the stress test"},
	{"queries", 'n', CLI_INT, "N", "500", NULL, 1, 10000000, CLI_C_NONE,
	 "queries per thread"},
	{"output-dir", 'o', CLI_STRING, "DIR", ".", NULL, 0, 0, CLI_C_DIR,
	 "where performance_results.json and stress_test_results.json go"},
	OPT_DATABASE,
	OPT_VERBOSE,
	{0}
};

static const struct cli_opt purge_opts[] = {
	OPT_PATH,
	{"ids", 0, CLI_LIST, "IDS", NULL, NULL, 0, 0, CLI_C_NONE,
	 "ids to remove from the index; repeat or comma-separate"},
	{"force", 'f', CLI_FLAG, NULL, NULL, NULL, 0, 0, CLI_C_NONE, "purge without confirmation"},
	OPT_VERBOSE,
	{0}
};

const struct cli_cmd cli_vector_subs[] = {
	{"verify", "check the index against its source rows (verify_faiss_index.py)", NULL, 0, 0,
	 CLI_C_NONE, verify_opts, NULL, NULL, run_verify, CLI_CHANGES,
	 "Checks the FAISS index as verify_faiss_index.py does (guide 000 section 3.1), and more: "
	 "the file's SHA-256 against its manifest before FAISS reads it (exit 65 when they differ, "
	 "or when FAISS cannot read the file); the index's dimension against the source's; ntotal "
	 "against the rows with an embedding (NULL embeddings are skipped and counted); the ids in "
	 "the index against the ids of the rows, listing missing and orphan ids and counting them; "
	 "and a sample of vector.sample source vectors searched, each of which an exact index must "
	 "return at rank 1, an approximate one for at least vector.recall_bar percent of them. Any "
	 "finding exits 1 and is named. The figures go to the journal and the Prometheus textfile "
	 "(opsctl_vector_ntotal, opsctl_vector_missing_ids, opsctl_vector_orphan_ids, "
	 "opsctl_vector_recall).",
	 "Weekly check (guide 000)\nopsctl vector verify"},
	{"rebuild", "rebuild the index from the database (rebuild-vector-index.sh)", NULL, 0, 0,
	 CLI_C_NONE, rebuild_opts, NULL, NULL, run_rebuild, CLI_CHANGES,
	 "Rebuilds the FAISS index from the embeddings in the database, as rebuild-vector-index.sh "
	 "does: the rows of vector.table are streamed with COPY in binary (a large table as "
	 "vector.read_jobs block ranges of one snapshot at once, in a fixed order, so the same table "
	 "gives the same file), added in batches of -b vectors (an index that needs training, IVF, "
	 "is first trained on a sample), and the new index must find a sample of its vectors before "
	 "it is written to a temporary file (hashed as it is written), synced, read back from the "
	 "disk to the same digest, and renamed over the live one with a manifest that accepts "
	 "either file during the swap: the live index is never half-written. --backup copies the "
	 "old index to "
	 "vector.backup_dir first and removes copies older than -r days. Without -f it runs only "
	 "inside the environment's maintenance window (exit 1 outside it) and asks on a terminal; "
	 "the guide's quarterly cron line (--backup --force) runs unattended on any weekday. Two "
	 "rebuilds never run at once (exit 75).",
	 "Quarterly rebuild (guide 000)\n0 2 1 1,4,7,10 * opsctl vector rebuild --backup --force"},
	{"optimize", "remove orphans and tune search (optimize-vector-index.sh)", NULL, 0, 0,
	 CLI_C_NONE, optimize_opts, NULL, NULL, run_optimize, CLI_CHANGES,
	 "Optimizes the index as optimize-vector-index.sh does. basic: ids whose rows are gone "
	 "leave the index (guide 002's defragment), and the search parameter (nprobe for IVF, "
	 "efSearch for HNSW) becomes the lowest value that keeps recall@10 at or above 0.95 against "
	 "exact search over the source rows, measured on 100 queries sampled from them; the index "
	 "is then swapped in as rebuild does, with its manifest recording the tuned parameter.\n\n"
	 "advanced chooses the index type for the current number of vectors and "
	 "vector.memory_budget the way autofaiss does (exact while it is small and fits, IVF with "
	 "about 4 sqrt(n) lists above, IVF with PQ codes when the vectors do not fit), builds and "
	 "trains a candidate on a fresh sample beside the live index, tunes it, and measures both "
	 "on the same queries (recall@10 against exact search, latency p50 and p95, size). The "
	 "candidate replaces the live index only when it is not worse (recall within half a point, "
	 "median latency within 25% or 1 ms), or with --force; the report says what changed.\n\n"
	 "Without -f it runs only inside the environment's maintenance window (exit 1 outside it) "
	 "and asks on a terminal.",
	 "Monthly optimization, first Sunday at 02:00, inside the prod window (guide 000)\n"
	 "0 2 * * 0 [ $(date +\\%d) -le 7 ] && opsctl vector optimize --backup"},
	{"backup", "back up the index (backup-vector-index.sh)", NULL, 0, 0, CLI_C_NONE,
	 backup_opts, NULL, NULL, run_backup, CLI_CHANGES,
	 "Copies the index, after checking it loads and matches its manifest, and its manifest to "
	 "the destination (vector.backup_dir) as index_YYYYMMDD_HHMMSS_daily.faiss (weekly on "
	 "Sundays), compressed with zstd with -c, and applies guide 000 section 5.3's retention: "
	 "daily copies 7 days, weekly ones 30, pre-rebuild and pre-optimize ones 90; -r DAYS sets "
	 "the daily period and the least for the others.",
	 "Weekly backup (guide 000)\n0 3 * * 0 opsctl vector backup --compress"},
	{"verify-backup", "restore a backup to a temporary place and verify it", NULL, 0, 0,
	 CLI_C_NONE, verify_backup_opts, NULL, NULL, run_verify_backup, CLI_CHANGES,
	 "Restores the newest index backup (or -b NAME) into STATE_DIR/tmp, decompressing it if "
	 "needed, and verifies it against the source exactly as `vector verify` does.",
	 "Monthly restore test (guide 000 section 5.3)\nopsctl vector verify-backup"},
	{"eval", "measure recall@10 and latency (evaluate_search_quality.py)", NULL, 0, 0,
	 CLI_C_NONE, eval_opts, NULL, NULL, run_eval, CLI_CHANGES,
	 "Evaluates search quality: recall@10 of the index against exact search over the source "
	 "rows, for the predefined test queries of -f FILE (a JSON array of embedding vectors, as "
	 "evaluate_search_quality.py keeps them) or -q queries sampled from the source rows, and "
	 "search latency percentiles (p50, p95, p99) and queries per second.",
	 "Quarterly evaluation as JSON\nopsctl --output json vector eval -q 500"},
	{"purge", "remove ids from the index (guide 002 purge_documents)", NULL, 0, 0, CLI_C_NONE,
	 purge_opts, NULL, NULL, run_purge, CLI_CHANGES,
	 "Removes the given ids from the index and swaps it in. Refused (exit 77) on a protected "
	 "store, vector.protected or an index path under general.protected_paths (guide 002: never "
	 "purge the persistent main store). Without -f it runs only inside the environment's "
	 "maintenance window (exit 1 outside it) and asks on a terminal.",
	 "Remove two chunks from a test index\nopsctl vector purge -p /tmp/test.faiss --ids 17,18 -f"},
	{"cache-rebuild", "rebuild the hot-chunk cache index (guide 002 rebuild_cache)", NULL, 0, 0,
	 CLI_C_NONE, cache_opts, NULL, NULL, run_cache_rebuild, CLI_CHANGES,
	 "Rebuilds the small cache index of the most frequently accessed chunks, as guide 002's "
	 "rebuild_cache does every 6 hours: vector.cache_query names the chunk ids, most accessed "
	 "first; the first vector.cache_size of them are fetched from the source and written as an "
	 "exact index to vector.cache_path (default INDEX_PATH.cache.faiss) with the same swap and "
	 "manifest as the main index.",
	 "Every 6 hours (guide 002)\n0 */6 * * * opsctl vector cache-rebuild"},
	{"bench", "stress and performance test of searching (guide 002)", NULL, 0, 0, CLI_C_NONE,
	 bench_opts, NULL, NULL, run_bench, CLI_CHANGES,
	 "Runs guide 002's performance test (one client, -n queries) and stress test (-c clients "
	 "at once, -n queries each) against the index with queries sampled from the source, and "
	 "reports QPS and latency percentiles; the results are also written to "
	 "performance_results.json and stress_test_results.json in -o DIR. Any failed search "
	 "exits 1.",
	 "After a major change (guide 002)\nopsctl vector bench -c 16 -o /var/lib/opsctl/bench"},
	{"stats", "show the index's type, size and parameters", NULL, 0, 0, CLI_C_NONE,
	 stats_opts, NULL, NULL, run_stats, 0,
	 "Shows the index's type, dimension, metric, number of vectors, IVF lists and nprobe, file "
	 "size and SHA-256, and its manifest.",
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
