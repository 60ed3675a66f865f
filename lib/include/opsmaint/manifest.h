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
#include "opsmaint/api.h"
OPS_API_BEGIN

#include <stddef.h>
#include <cjson/cJSON.h>
#include "opsmaint/error.h"
#include "opsmaint/store.h"

#define OPS_MANIFEST_FORMAT 1
/* BACKUP_ID/manifest.json and the copy written beside it. */
#define OPS_MANIFEST_NAME "manifest.json"
#define OPS_MANIFEST_COPY "manifest.json.copy"

typedef struct ops_manifest_member {
	char *name;		/* key relative to the backup, e.g. "chatbot_db.dump" */
	long long size;		/* bytes as stored */
	char sha256[65];	/* lowercase hex of the stored bytes */
} ops_manifest_member;

/* A file inside an archive member (e.g. "chatbot_db.dump/000001"). */
typedef struct ops_manifest_file {
	char *member;		/* the store object it is in */
	char *path;		/* its name inside the archive */
	long long size;
	char sha256[65];	/* of its content, before compression */
} ops_manifest_file;

/* Rows a table held at backup time, in the dump's own snapshot. */
typedef struct ops_manifest_table {
	char *database;
	char *table;		/* schema.name */
	long long rows;
} ops_manifest_table;

/* An entry of the data directory a physical backup copied. */
typedef struct ops_manifest_pgfile {
	char *path;		/* relative to the data directory */
	char type;		/* 'f' file, 'd' directory, 'l' symbolic link */
	long long size;		/* a file's */
	long long mtime;	/* seconds since the epoch, the server's clock */
	char sha256[65];	/* a file's content */
	char *in;		/* the backup whose base.tar holds a file's bytes */
	char *target;		/* a symbolic link's */
} ops_manifest_pgfile;

typedef struct ops_manifest {
	char *id;		/* "20261124T010000Z-full"; a valid store key component */
	char *type;		/* "full", "incr", "diff" */
	char *status;		/* "complete", "verified", "verify-failed" */
	char **databases;	/* NULL-terminated */
	char *server_version;	/* "15.20" */
	char *tool_version;	/* opsctl's */
	double start, stop;	/* seconds since the epoch */
	char *wal_start, *wal_stop;	/* LSNs for physical backups, else NULL */
	ops_manifest_member *members;
	size_t nmembers;
	/* Optional parts (absent in the JSON of older or simpler manifests). */
	char *method;		/* "logical", "physical", "wal" */
	char *compression;	/* "zstd", "gzip", "none" */
	char *encryption;	/* key id of AES-256-GCM encryption, NULL when clear */
	int pinned;		/* kept out of retention */
	double verified_at;	/* last verification, 0 for never */
	char *verify_error;	/* why the last verification failed */
	ops_manifest_file *files;
	size_t nfiles;
	ops_manifest_table *tables;
	size_t ntables;
	/* Physical backups: the backup an incremental or differential one
	 * builds on (NULL for a full), the cluster's system identifier, the
	 * server's clock when the copy began, and every entry of the data
	 * directory, sorted by path. */
	char *prior;
	char *system_id;
	double clock_start;
	ops_manifest_pgfile *pgfiles;
	size_t npgfiles;
	/* Read from a manifest with no checksum (an earlier version's): an
	 * edit to it could not be detected.  Saving it seals it. */
	int unsealed;
} ops_manifest;

ops_manifest *ops_manifest_new(const char *id, const char *type);
void ops_manifest_free(ops_manifest *m);

/* Append a member (name copied); OPS_EUSAGE for a bad name or hash. */
ops_code ops_manifest_add_member(ops_manifest *m, const char *name, long long size,
				 const char *sha256_hex, ops_error *err);

ops_code ops_manifest_add_file(ops_manifest *m, const char *member, const char *path,
			       long long size, const char *sha256_hex, ops_error *err);
/* Append a data directory entry (strings copied); OPS_EUSAGE for an unsafe
 * path, a bad type or hash. */
ops_code ops_manifest_add_pgfile(ops_manifest *m, const ops_manifest_pgfile *f, ops_error *err);
/* The entry for path, or NULL (pgfiles sorted by path, as saved). */
const ops_manifest_pgfile *ops_manifest_pgfile_find(const ops_manifest *m, const char *path);
ops_code ops_manifest_add_table(ops_manifest *m, const char *database, const char *table,
				long long rows, ops_error *err);
/* Replace a string field (*field = copy of value, NULL allowed). */
ops_code ops_manifest_set(char **field, const char *value, ops_error *err);
/* Total stored bytes of all members. */
long long ops_manifest_size(const ops_manifest *m);
/* 1 when the status says the backup can be restored from. */
int ops_manifest_is_good(const ops_manifest *m);

/* The JSON form (caller frees), members in the order they were added. */
cJSON *ops_manifest_to_json(const ops_manifest *m);

/*
 * Parse and validate: every required member present with the right type,
 * member names valid keys, hashes 64 lowercase hex digits, sizes >= 0,
 * stop >= start.  Anything else is OPS_EDATA naming the first problem.
 */
ops_code ops_manifest_from_json(const char *text, size_t len, ops_manifest **out,
				ops_error *err);

/*
 * Write ID/manifest.json, then its copy ID/manifest.json.copy, each visible
 * only once complete.  Both carry "checksum": the SHA-256 of the file as
 * written with the checksum's own 64 digits read as zeros.
 */
ops_code ops_manifest_save(ops_store *store, const ops_manifest *m, ops_error *err);
/*
 * Read and validate ID/manifest.json, its checksum checked.  When it is
 * missing, fails its checksum or is otherwise damaged, the copy is used
 * (with a warning); neither good is OPS_EDATA.  A manifest with no checksum
 * (written before they existed) is read, marked unsealed for the caller to
 * warn about, unless a good copy exists.  A missing one is OPS_EDATA.
 */
ops_code ops_manifest_load(ops_store *store, const char *id, ops_manifest **out,
			   ops_error *err);

OPS_API_END
#endif
