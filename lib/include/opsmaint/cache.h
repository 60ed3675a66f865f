/*
 * The deployment's Redis cache (guide 001 Redis maintenance and cache
 * warming, guide 004 weekly cache cleanup): what it holds and how well it
 * serves (stats), removing keys by pattern without blocking the server
 * (purge), and filling it again after a restart (warm).
 *
 * Which Redis: cache.redis_url, else backup.redis_url (guide 004 has one
 * Redis for both); the connection, its TLS, AUTH, ACL user, timeouts and
 * cancellation are db/redis's (redis.h), and so are its errors: down is
 * OPS_EUNAVAIL (exit 69), a refused password or a command the ACL user may
 * not run OPS_EPERM (77), no URL or a bad one OPS_ECONFIG (78).
 *
 * Keys are never listed with KEYS and never removed with FLUSHALL: SCAN in
 * batches walks the keyspace while the server keeps answering others, and
 * UNLINK frees large values in the background.  FLUSHDB ASYNC (the guide's
 * weekly command) is used only for purge's `all`, which the front end
 * confirms.  Key names are binary in Redis; reports carry them as text, up
 * to a NUL byte, with invalid UTF-8 repaired on output (json.h).
 *
 * Reports are cJSON with the shared vocabulary: *_bytes, *_seconds,
 * *_ratio (0 to 1), and _figures for the textfile.
 */
#ifndef OPSMAINT_CACHE_H
#define OPSMAINT_CACHE_H
#include "opsmaint/api.h"
OPS_API_BEGIN

#include <cjson/cJSON.h>
#include "opsmaint/error.h"
#include "opsmaint/run.h"

/*
 * INFO (memory, stats, keyspace, persistence), LASTSAVE, SLOWLOG GET
 * cache.slowlog_count, MEMORY DOCTOR, and the largest keys among a sample
 * (SCAN, then MEMORY USAGE of each, at most cache.sample_keys keys and
 * cache.sample_time).  The hit ratio is keyspace_hits over hits and misses
 * since the server started (null before any lookup).  Findings, each named
 * in one OPS_EFAIL line with the report still filled: a hit ratio below
 * cache.hit_ratio_bar percent (guide 001: above 90%) once Redis has served
 * cache.hit_ratio_min_lookups lookups, memory above
 * cache.memory_bar percent of maxmemory (guide 001: below 75%; not judged
 * without a maxmemory), and a last background save that failed.
 */
ops_code ops_cache_stats(const ops_run *run, cJSON **report, ops_error *err);

typedef struct ops_cache_purge_opts {
	/* SCAN MATCH glob of the keys to UNLINK; with expired, the keys to sweep. */
	const char *pattern;
	/* Sweep: SCAN the keyspace (or the pattern's part of it) so that Redis
	 * drops the keys whose time to live has passed (guide 001's weekly
	 * "clean expired keys"); nothing unexpired is removed. */
	int expired;
	/* Every key of the URL's database: FLUSHDB ASYNC.  Needs run->force,
	 * run->yes or a yes from run->confirm; without anyone to ask, and
	 * neither flag, OPS_EUSAGE before anything is touched. */
	int all;
	long batch;		/* keys per SCAN COUNT and per UNLINK; 0: cache.purge_batch */
} ops_cache_purge_opts;

/*
 * Remove keys as o says (exactly one of pattern, expired and all, or pattern
 * with expired; anything else is OPS_EUSAGE), then MEMORY PURGE (guide 004).
 * Removing keys (pattern, all) is destructive work: the maintenance window
 * and the question (ops_run_permit) unless run->force; the sweep removes
 * only what has already expired and needs neither.  With run->dry_run the
 * keys are counted, nothing is removed, and the report says whether the
 * window would let the real run through.  The report: keys matched and
 * removed, expired keys reclaimed, used memory before and after, bytes
 * freed.
 */
ops_code ops_cache_purge(const ops_run *run, const ops_cache_purge_opts *o, cJSON **report,
			 ops_error *err);

typedef struct ops_cache_warm_opts {
	long limit;	/* most frequent queries replayed; 0: cache.warm_limit */
	long rate;	/* requests started per second at most; 0: cache.warm_rate */
} ops_cache_warm_opts;

/*
 * Guide 001's cache warming after a restart: the most frequent recent
 * queries, from cache.warm_query run on cache.warm_database (db.name when
 * unset; "$1" in the query is the start of the last cache.warm_since, as
 * "YYYY-MM-DD HH:MM:SS" UTC), the first column of each row being the query,
 * are replayed one at a time through exactly one of cache.warm_url (an HTTP
 * POST of {"query": TEXT} as JSON through core/http; a 2xx answer is
 * success) or cache.warm_command (an argv run without a shell, its argument
 * "{query}" replaced by the query, or the query appended), at most limit
 * queries and rate per second.  With run->dry_run the queries are listed
 * and nothing is sent (neither endpoint need be set yet).  A request that fails is counted and named, and the
 * run goes on (OPS_EFAIL at the end); an endpoint that cannot be reached
 * at all ends the run (OPS_EUNAVAIL).
 */
ops_code ops_cache_warm(const ops_run *run, const ops_cache_warm_opts *o, cJSON **report,
			ops_error *err);

OPS_API_END
#endif
