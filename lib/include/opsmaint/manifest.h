/*
 * Backup manifests (issue 3).  A backup is the objects under its id in a
 * store plus BACKUP_ID/manifest.json, written last: a backup without a
 * complete, valid manifest is not a backup.  The manifest records what a
 * restore needs to trust the objects: each member's size and SHA-256, the
 * databases, server and tool versions, times, WAL positions for physical
 * backups, and the verification status.
 */
#ifndef OPSMAINT_MANIFEST_H
#define OPSMAINT_MANIFEST_H

#include <stddef.h>
#include <cjson/cJSON.h>
#include "opsmaint/error.h"
#include "opsmaint/store.h"

#define OPS_MANIFEST_FORMAT 1

typedef struct ops_manifest_member {
	char *name;		/* key relative to the backup, e.g. "chatbot_db.dump" */
	long long size;		/* bytes as stored */
	char sha256[65];	/* lowercase hex of the stored bytes */
} ops_manifest_member;

typedef struct ops_manifest {
	char *id;		/* "20261124T010000Z-full"; a valid store key component */
	char *type;		/* "full", "wal" */
	char *status;		/* "complete", "verified", "verify-failed" */
	char **databases;	/* NULL-terminated */
	char *server_version;	/* "15.20" */
	char *tool_version;	/* opsctl's */
	double start, stop;	/* seconds since the epoch */
	char *wal_start, *wal_stop;	/* LSNs for physical backups, else NULL */
	ops_manifest_member *members;
	size_t nmembers;
} ops_manifest;

ops_manifest *ops_manifest_new(const char *id, const char *type);
void ops_manifest_free(ops_manifest *m);

/* Append a member (name copied); OPS_EUSAGE for a bad name or hash. */
ops_code ops_manifest_add_member(ops_manifest *m, const char *name, long long size,
				 const char *sha256_hex, ops_error *err);

/* The JSON form (caller frees), members in the order they were added. */
cJSON *ops_manifest_to_json(const ops_manifest *m);

/*
 * Parse and validate: every required member present with the right type,
 * member names valid keys, hashes 64 lowercase hex digits, sizes >= 0,
 * stop >= start.  Anything else is OPS_EDATA naming the first problem.
 */
ops_code ops_manifest_from_json(const char *text, size_t len, ops_manifest **out,
				ops_error *err);

/* Write ID/manifest.json to the store (visible only once complete). */
ops_code ops_manifest_save(ops_store *store, const ops_manifest *m, ops_error *err);
/* Read and validate ID/manifest.json; a missing one is OPS_EDATA. */
ops_code ops_manifest_load(ops_store *store, const char *id, ops_manifest **out,
			   ops_error *err);

#endif
