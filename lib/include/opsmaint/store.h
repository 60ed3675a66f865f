/*
 * Storage behind one interface, with two drivers: a local directory and S3.
 * Database backups and WAL see only this API (vector-index and monitoring
 * backups still write local directories),
 * never a path or a bucket.  Objects are named by relative keys
 * ("db/20261124T010000Z/manifest.json"): components of letters, digits,
 * '.', '_' and '-', separated by '/', never empty, never "." or "..", so no
 * key can leave the store.
 *
 * Writes stream and become visible only on commit: a reader, list or stat
 * never sees half an object, even after a crash (local: temp file, fsync,
 * rename, fsync of the directory).
 */
#ifndef OPSMAINT_STORE_H
#define OPSMAINT_STORE_H
#include "opsmaint/api.h"
OPS_API_BEGIN

#include <stddef.h>
#include <time.h>
#include "opsmaint/error.h"

typedef struct ops_store ops_store;
typedef struct ops_store_writer ops_store_writer;
typedef struct ops_store_reader ops_store_reader;

/* What a driver can do beyond the required calls. */
enum {
	OPS_STORE_F_LOCAL = 1 << 0,		/* objects are files on this host */
	OPS_STORE_F_VERSIONING = 1 << 1,	/* the store keeps old versions */
	OPS_STORE_F_MULTIPART = 1 << 2		/* large objects upload in parts */
};

typedef struct ops_store_entry {
	char *key;		/* newly allocated */
	long long size;		/* bytes */
	time_t mtime;		/* last modification, seconds since the epoch */
} ops_store_entry;

/* 1 if key is well formed (see above), else 0. */
int ops_store_key_valid(const char *key);

/*
 * A store over the directory root (created 0700 with parents if missing).
 * Temporary files of unfinished writes are never listed.
 */
ops_code ops_store_open_local(const char *root, ops_store **out, ops_error *err);
/*
 * A store in an S3 bucket (or an S3-compatible endpoint) from the [s3]
 * keys of cfg: bucket, prefix, region, endpoint, part_size, retries,
 * timeout.  Credentials come from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY
 * (and AWS_SESSION_TOKEN) or else the credentials file, never from argv or
 * opsctl.conf.  No bucket configured is OPS_ECONFIG; opening makes no request.
 */
struct ops_config;
ops_code ops_store_open_s3(const struct ops_config *cfg, ops_store **out, ops_error *err);
/*
 * The bucket's versioning state: *enabled 1 when "Enabled", 0 when
 * "Suspended" or never set.  OPS_EUSAGE on a store that is not S3.
 */
ops_code ops_store_s3_versioning(ops_store *store, int *enabled, ops_error *err);

void ops_store_free(ops_store *store);
unsigned ops_store_features(const ops_store *store);
/* "local:/var/lib/opsctl/backups": for messages and manifests, never secrets. */
const char *ops_store_describe(const ops_store *store);

/* Streaming write of key; an existing object is replaced on commit. */
ops_code ops_store_put_begin(ops_store *store, const char *key,
			     ops_store_writer **out, ops_error *err);
ops_code ops_store_write(ops_store_writer *w, const void *buf, size_t len,
			 ops_error *err);
/* Make the object durable and visible; frees w whatever happens. */
ops_code ops_store_put_commit(ops_store_writer *w, ops_error *err);
/* Discard what was written; frees w; NULL accepted. */
void ops_store_put_abort(ops_store_writer *w);

/* Streaming read; a missing key is OPS_EFAIL "no object 'key' in STORE". */
ops_code ops_store_get_begin(ops_store *store, const char *key,
			     ops_store_reader **out, ops_error *err);
/* Up to len bytes into buf; *got == 0 at the end. */
ops_code ops_store_read(ops_store_reader *r, void *buf, size_t len, size_t *got,
			ops_error *err);
void ops_store_get_end(ops_store_reader *r);

/*
 * Every object whose key starts with prefix ("" for all), sorted by key.
 * *entries is newly allocated (free with ops_store_entries_free).
 */
ops_code ops_store_list(ops_store *store, const char *prefix,
			ops_store_entry **entries, size_t *n, ops_error *err);
void ops_store_entries_free(ops_store_entry *entries, size_t n);

/* *found is 0 (and OPS_OK returned) when key does not exist. */
ops_code ops_store_stat(ops_store *store, const char *key, ops_store_entry *out,
			int *found, ops_error *err);

/* Remove key; removing a missing key is not an error. */
ops_code ops_store_remove(ops_store *store, const char *key, ops_error *err);

OPS_API_END
#endif
