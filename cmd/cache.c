/*
 * `opsctl cache`: the front end of lib/cache.  Table rows and a few lines
 * per subcommand; the lock, journal and output are the runner's (runner.c).
 */
#include "cli.h"
#include "opsmaint/cache.h"

static ops_code op_stats(struct cli_inv *inv, const ops_run *run, cJSON **report,
			 ops_error *err)
{
	(void)inv;
	return ops_cache_stats(run, report, err);
}

static ops_code op_purge(struct cli_inv *inv, const ops_run *run, cJSON **report,
			 ops_error *err)
{
	ops_cache_purge_opts o = {0};

	o.pattern = cli_given(inv, "pattern") ? cli_str(inv, "pattern") : NULL;
	o.expired = cli_flag(inv, "expired");
	o.all = cli_flag(inv, "all");
	o.batch = cli_num(inv, "batch-size");
	return ops_cache_purge(run, &o, report, err);
}

static ops_code op_warm(struct cli_inv *inv, const ops_run *run, cJSON **report,
			ops_error *err)
{
	ops_cache_warm_opts o = {0};

	o.limit = cli_num(inv, "limit");
	o.rate = cli_num(inv, "rate");
	return ops_cache_warm(run, &o, report, err);
}

/* Removing keys and filling the cache again never overlap. */
#define LOCK_CACHE "cache"

static const struct cli_opt stats_opts[] = { CLI_OPT_VERBOSE('v'), CLI_OPT_END };

static const struct cli_opt purge_opts[] = {
	/* Long only: -p is a path everywhere else. */
	CLI_OPT_STRING(0, "pattern", "GLOB",
		       "remove the keys matching GLOB (Redis SCAN MATCH syntax: *, ?, [abc])"),
	CLI_OPT_FLAG(0, "expired",
		     "sweep the keyspace (or --pattern's part of it) so that Redis drops the "
		     "keys whose time to live has passed; nothing unexpired goes"),
	CLI_OPT_FLAG(0, "all",
		     "remove every key of the database with FLUSHDB ASYNC; asks on a terminal, "
		     "and needs --yes or --force off one"),
	CLI_OPT_INT('b', "batch-size", "N", 1, 100000,
		    "keys per SCAN and per UNLINK: larger batches finish sooner, smaller ones "
		    "keep each command the server runs shorter", .key = "cache.purge_batch"),
	CLI_OPT_DRY_RUN("count the keys that would go, and say whether the window would let "
			"the real run through; remove nothing"),
	CLI_OPT_FORCE("run outside the maintenance window too, and without asking"),
	CLI_OPT_YES,
	CLI_OPT_VERBOSE('v'),
	CLI_OPT_END
};

static const struct cli_opt warm_opts[] = {
	CLI_OPT_INT(0, "limit", "N", 1, 100000, "replay at most the N most frequent queries",
		    .key = "cache.warm_limit"),
	CLI_OPT_INT(0, "rate", "N", 1, 10000, "start at most N requests per second",
		    .key = "cache.warm_rate"),
	CLI_OPT_DRY_RUN("list the queries that would be replayed; send nothing"),
	CLI_OPT_VERBOSE('v'),
	CLI_OPT_END
};

const struct cli_cmd cli_cache_subs[] = {
	{.name = "stats",
	 .summary = "memory, hit ratio, persistence, slow log and largest keys of Redis",
	 .opts = stats_opts,
	 .op = op_stats,
	 .flags = CLI_RECORD,
	 .description =
	 "Guide 001's daily and weekly Redis checks in one report: INFO (memory used, resident "
	 "and peak, maxmemory and its policy, fragmentation ratio, keys and keys with an expiry "
	 "per database, keyspace hits and misses, evicted and expired keys), LASTSAVE and its "
	 "age, the last background save's status, SLOWLOG GET (cache.slowlog_count entries, "
	 "each shown as its command and key only, never the values), MEMORY DOCTOR, and the "
	 "largest keys (cache.largest_keys) among a sample: SCAN, then MEMORY USAGE of each key, "
	 "at most cache.sample_keys keys and cache.sample_time; sample_complete says whether the "
	 "sample saw every key. KEYS is never sent.\n\n"
	 "The hit ratio is keyspace hits over hits and misses since Redis started (null before "
	 "the first lookup). A hit ratio below cache.hit_ratio_bar (guide 001: above 90%; judged "
	 "once Redis has served cache.hit_ratio_min_lookups lookups since it started), "
	 "memory above cache.memory_bar of maxmemory (guide 001: below 75%; not judged without a "
	 "maxmemory) and a failed last save are problems: each is listed, and named in the one "
	 "error line, and the run exits 1 with the whole report printed. The figures go to the "
	 "journal and the Prometheus textfile (opsctl_cache_hit_ratio, "
	 "opsctl_cache_used_memory_bytes, opsctl_cache_memory_used_ratio, "
	 "opsctl_cache_fragmentation_ratio, opsctl_cache_keys, opsctl_cache_evicted_keys, "
	 "opsctl_cache_expired_keys, opsctl_cache_last_save_age_seconds, opsctl_cache_problems).\n\n"
	 "Redis is cache.redis_url, else backup.redis_url; the password comes from REDISCLI_AUTH, "
	 "as for redis-cli. An ACL user needs +info +lastsave +slowlog|get +memory|doctor "
	 "+memory|usage +scan. Redis down is exit 69, a refused password or command 77, no URL 78.",
	 .examples =
	 "Daily check (guide 001)\nopsctl cache stats\n"
	 "For monitoring\nopsctl --output json cache stats"},
	{.name = "purge",
	 .summary = "remove keys by pattern, sweep expired keys, MEMORY PURGE (guides 001, 004)",
	 .opts = purge_opts,
	 .op = op_purge,
	 .lock = LOCK_CACHE,
	 .flags = CLI_CHANGES,
	 .description =
	 "Removes the keys matching --pattern GLOB: SCAN MATCH walks the keyspace -b keys at a "
	 "time and each batch is removed with UNLINK (large values are freed in the background), "
	 "so the server keeps answering others throughout; KEYS and FLUSHALL are never sent. "
	 "--expired is guide 001's weekly clean-up of expired keys done without losing valid "
	 "ones: the guide's FLUSHDB ASYNC removes every key, while the sweep SCANs the keyspace "
	 "(or --pattern's part of it) and Redis drops each expired key it touches; it removes "
	 "nothing else, so it needs no window. --all removes every key of the URL's database "
	 "with FLUSHDB ASYNC: it asks on a terminal, and off one is refused (exit 64, nothing "
	 "removed) without --yes or --force. Then MEMORY PURGE gives freed pages back to the "
	 "system (guide 004's weekly cache clean-up). The report gives the keys matched and "
	 "removed, the expired keys reclaimed, used memory before and after and the bytes "
	 "freed; the journal and the textfile get opsctl_cache_purged_keys and "
	 "opsctl_cache_freed_bytes.\n\n"
	 "Removing keys (--pattern, --all) runs only inside the environment's maintenance "
	 "window unless -f (exit 1 outside it) and asks on a terminal (--yes answers). "
	 "--dry-run counts the keys that would go (a pattern's by SCAN, which may count a key "
	 "twice while Redis resizes its table) and says whether the window would let the real "
	 "run through. SIGINT or SIGTERM stops a purge between batches: the UNLINK in flight is "
	 "finished and counted, the run exits 130 or 143, and the journal records it as "
	 "interrupted with opsctl_cache_purged_keys, the keys that did go; the next run removes "
	 "the rest. An ACL user needs +scan +unlink +memory|purge +info (and +dbsize "
	 "+flushdb for --all).",
	 .examples =
	 "Remove stale embedding-cache entries\nopsctl cache purge --pattern 'emb:*' --force\n"
	 "Weekly clean-up of expired keys (guides 001, 004)\n"
	 "0 3 * * 0 opsctl cache purge --expired\n"
	 "Count the keys that would go\nopsctl cache purge --pattern 'session:*' --dry-run"},
	{.name = "warm",
	 .summary = "replay the most frequent recent queries to fill the cache (guide 001)",
	 .opts = warm_opts,
	 .op = op_warm,
	 .lock = LOCK_CACHE,
	 .flags = CLI_CHANGES,
	 .description =
	 "Guide 001's cache warming after a restart: the most frequent recent queries are read "
	 "with cache.warm_query from cache.warm_database (db.name when unset; $1 in the query is "
	 "the start of the last cache.warm_since, default 7 days) and replayed, most frequent "
	 "first, through the application, which fills its cache as real traffic would: either "
	 "an HTTP POST of {\"query\": TEXT} to cache.warm_url (a 2xx answer counts as warmed; "
	 "cache.warm_timeout per request), or cache.warm_command, an argv run without a shell "
	 "with {query} replaced by the query (exit 0 counts; a run longer than "
	 "cache.warm_timeout, default 30 s, is stopped with SIGTERM to its process group and "
	 "SIGKILL 2 s later, and counts as failed: 'NAME timed out after N s'). At most --limit queries "
	 "(cache.warm_limit, guide 001: the top 100), at most --rate requests started per "
	 "second (cache.warm_rate). A failed request is counted and the run goes on, then exits "
	 "1 naming the first failure; an endpoint that cannot be reached at all ends the run "
	 "(exit 69); SIGINT or SIGTERM stops the command in flight as a timeout does and ends "
	 "the run (exit 130 or 143, journalled as interrupted). --dry-run lists the queries and sends nothing. The journal and the textfile "
	 "get opsctl_cache_warm_queries and opsctl_cache_warm_failed.",
	 .examples =
	 "After a Redis restart (guide 001)\nopsctl cache warm\n"
	 "List the queries that would be replayed\nopsctl cache warm --dry-run --limit 20"},
	{0}
};

const char cli_cache_description[] =
	"The deployment's Redis cache (guide 001 Redis maintenance and cache warming, guide 004 "
	"weekly cache clean-up): stats reports memory, hit ratio against the guide's 90% bar, "
	"persistence, the slow log and the largest keys; purge removes keys by pattern or sweeps "
	"expired ones in batches and gives memory back (MEMORY PURGE); warm replays the most "
	"frequent recent queries after a restart. Redis is cache.redis_url (REDIS_URL), else "
	"backup.redis_url, reached as every opsctl Redis connection is: redis://, rediss:// "
	"(TLS, verified against redis.tls_ca_file), unix://, with an ACL user in the URL and "
	"the password from REDISCLI_AUTH.";
