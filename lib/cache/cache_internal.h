/*
 * What the three cache commands share: the connection to the configured
 * Redis, and INFO figures read as numbers.  Private to lib/cache.
 */
#ifndef CACHE_INTERNAL_H
#define CACHE_INTERNAL_H

#include <cjson/cJSON.h>
#include "opsmaint/cache.h"
#include "opsmaint/redis.h"

/*
 * Connect to cache.redis_url, else backup.redis_url, and say in rep which
 * server and user ("redis", "user", "tls": the protocol or null).
 */
ops_code cx_connect(const ops_run *run, ops_redis **r, cJSON *rep, ops_error *err);

/* INFO section's field name as a number: -1 when absent or not a number. */
double cx_info_number(const ops_redis_info *info, const char *name);

/* One INFO section's field (used_memory) now, as cx_info_number. */
ops_code cx_info_field(ops_redis *r, const char *section, const char *name, double *out,
		       ops_error *err);

#endif
