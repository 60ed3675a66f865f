/*
 * What the backup modules share: the catalog of what is in the store,
 * streaming an object into or out of the store through the optional
 * encryption layer while hashing the stored bytes, the key, and the child
 * environment for PostgreSQL's tools.
 */
#ifndef OPSMAINT_BACKUP_INTERNAL_H
#define OPSMAINT_BACKUP_INTERNAL_H

#include "opsmaint/archive.h"
#include "opsmaint/backup.h"
#include "opsmaint/crypt.h"
#include "opsmaint/db.h"
#include "opsmaint/hash.h"
#include "opsmaint/manifest.h"
#include "opsmaint/proc.h"

/* ---- the catalog (backup_catalog.c) ---- */

/* One backup id found in the store. */
typedef struct bk_item {
	char *id;
	ops_manifest *m;	/* NULL: no valid manifest */
	ops_error why;		/* why m is NULL */
	int has_manifest_key;	/* manifest.json or its copy */
	/* The store's objects do not match the manifest (one missing, or a
	 * size other than the manifest's): listed as "damaged", never good. */
	int damaged;
	char *damage;		/* why, when damaged */
} bk_item;

/* A backup to restore from: a readable manifest whose status is good
 * (ops_manifest_is_good) and objects of the sizes it records. */
int bk_item_good(const bk_item *it);
/* Whether the objects of m match the store's listing (entries, sorted by
 * key, as ops_store_list gives them): each member present with the size
 * the manifest records; a size of -1 (unknown) matches any.  NULL when they
 * do, else why not (allocated). */
char *bk_objects_damage(const ops_manifest *m, const ops_store_entry *e, size_t n);

/* Whether the first len bytes of s are a backup id ("20261124T010000Z-full",
 * "...-full-2"). */
int bk_is_backup_id(const char *s, size_t len);
/* A chain of prior backups longer than this is a loop in damaged manifests. */
#define BK_CHAIN_MAX 1000
/* The index of id among v, or -1. */
ssize_t bk_catalog_find(const bk_item *v, size_t n, const char *id);
/* v[i] and every backup it builds on (an incremental or differential
 * one's prior, and its prior...) are present and good. */
int bk_chain_good(const bk_item *v, size_t n, size_t i);
/* Every backup id in the store, oldest first, manifests loaded (a damaged
 * one is an item with m NULL and why set, not an error). */
ops_code bk_catalog_scan(const ops_backup_ctx *ctx, bk_item **out, size_t *n, ops_error *err);
void bk_items_free(bk_item *v, size_t n);
/* Every object of backup id, its manifest first. */
ops_code bk_catalog_remove(const ops_backup_ctx *ctx, const char *id, ops_error *err);
/* Remove the objects of runs that never wrote their manifest (killed or
 * failed; the caller holds the backup lock), their ids added to removed. */
ops_code bk_catalog_remove_partial(const ops_backup_ctx *ctx, cJSON *removed, ops_error *err);
/* The manifest of id: a malformed id is OPS_EUSAGE, no object under it
 * OPS_EFAIL "no backup 'ID' in STORE", objects but no manifest OPS_EDATA.
 * One with no checksum is read with a warning that it is unprotected. */
ops_code bk_catalog_manifest(const ops_backup_ctx *ctx, const char *id, ops_manifest **m,
			     ops_error *err);

/* The backup key when backup.encryption_key_file is set: *have 1. */
ops_code bk_load_key(const ops_config *cfg, unsigned char key[OPS_CRYPT_KEY_LEN], int *have,
		     ops_error *err);

/* ---- writing one object ---- */
typedef struct bk_out {
	ops_store_writer *w;
	ops_sha256 *hash;
	long long size;		/* stored bytes */
	ops_encryptor *enc;
	const char *key;
	const ops_run *progress;	/* NULL: nobody watching */
	double started;
} bk_out;

ops_code bk_out_begin(const ops_backup_ctx *ctx, const char *key, const unsigned char *enc_key,
		      bk_out *o, ops_error *err);
/* An ops_sink_fn: plaintext in. */
ops_code bk_out_sink(void *arg, const void *buf, size_t len, ops_error *err);
/* Finish encryption, commit; sha256 of the stored bytes into hex. */
ops_code bk_out_commit(bk_out *o, char hex[65], ops_error *err);
void bk_out_abort(bk_out *o);

/* ---- reading one object ---- */
typedef struct bk_in {
	ops_store_reader *r;
	ops_sha256 *hash;
	long long size;
	ops_decryptor *dec;
	char *cbuf;
	char *plain;
	size_t plain_len, plain_off, plain_cap;
	int eof;
	const ops_run *progress;	/* NULL: nobody watching */
	long long expect;	/* for the progress line */
	double started;
} bk_in;

ops_code bk_in_begin(const ops_backup_ctx *ctx, const char *key, const unsigned char *dec_key,
		     long long expect, bk_in *in, ops_error *err);
/* An ops_source_fn: plaintext out. */
ops_code bk_in_source(void *arg, void *buf, size_t len, size_t *got, ops_error *err);
/* Read what is left (so the stored-bytes digest covers everything). */
ops_code bk_in_drain(bk_in *in, ops_error *err);
void bk_in_end(bk_in *in, char hex[65]);

/* NAME=VALUE settings for pg_dump/pg_restore/pg_basebackup from [db]
 * (NULL-terminated, free with ops_strv_free); target a plain database name
 * (PGDATABASE) or NULL. */
char **bk_pg_env(const ops_config *cfg, const char *dbname);

/* A database name as an archive member stem: unsafe bytes become '_'. */
char *bk_member_stem(const char *dbname);

/* ---- incremental and differential physical backups (backup_physical.c) ---- */

/* A manifest of backup.method = physical. */
int bk_is_physical(const ops_manifest *m);
/* The prior backup an "incr" (the newest physical one) or "diff" (the
 * newest physical full) builds on, when it can: *prior NULL and why said
 * (for a warning) when there is none, it lists no files, is of another
 * cluster than system_id or has another key than key_id (NULL: clear). */
ops_code bk_physical_prior(const ops_backup_ctx *ctx, const char *type, const char *system_id,
			   const char *key_id, ops_manifest **prior, char *why, size_t len,
			   ops_error *err);
/* pg_basebackup's tar stream on fd into member NAME/000001... of aw,
 * leaving out the files prior holds unchanged (prior NULL: none), every
 * entry added to m->pgfiles (sorted); the counts into rep.  producer, the
 * process writing fd, is sent SIGTERM when the archive side fails. */
ops_code bk_physical_copy(ops_archive_writer *aw, const char *member, int fd, pid_t producer,
			  size_t chunk, ops_manifest *m, const ops_manifest *prior, cJSON *rep,
			  long long *total, ops_error *err);
/* The backups last builds on, loaded, oldest (the full) first; none for a
 * full.  One missing, unreadable or not good is OPS_EDATA naming it. */
ops_code bk_chain_load(const ops_backup_ctx *ctx, const ops_manifest *last, ops_manifest ***out,
		       size_t *n, ops_error *err);
void bk_chain_free(ops_manifest **v, size_t n);
/* After the chain is extracted into dir: remove what last does not list,
 * then check every entry it lists, each file's size and SHA-256. */
ops_code bk_physical_reconcile(const char *dir, const ops_manifest *last, cJSON *rep,
			       ops_error *err);

/* ---- directory-format dumps (backup_dir.c) ---- */

/* A jobs key (backup.dump_jobs, backup.restore_jobs): 0 is one per online CPU. */
int bk_jobs(const ops_config *cfg, const char *key);
/* STATE_DIR/tmp/WHAT-PID, new and empty (a leftover with our pid removed);
 * free *out. */
ops_code bk_spool_new(const ops_config *cfg, const char *what, char **out, ops_error *err);
/* A spool directory and the files in it (it has no subdirectories). */
void bk_spool_remove(const char *dir);
/* Called once pg_dump has started (it has imported the snapshot by the
 * time it writes anything): the row counts start here. */
typedef ops_code (*bk_dump_started_fn)(void *ctx, ops_error *err);
/* pg_dump -Fd -j jobs of target in the snapshot (snapshot_arg is
 * "--snapshot=ID"), each file stored as STEM.dir/FILE once closed, toc.dat
 * last; *total gets the bytes stored. */
ops_code bk_dump_dir(const ops_config *cfg, ops_archive_writer *aw, const char *stem,
		     const char *target, const char *snapshot_arg, int jobs, long long *total,
		     bk_dump_started_fn started, void *started_ctx, ops_error *err);

/* Progress line on stderr: "\r  LABEL  12.3 MiB  45.6 MiB/s". */
void bk_progress(const ops_run *run, const char *label, long long bytes, long long total,
		 double started, int final);

/*
 * backup.redis_url's Redis: BGSAVE, wait until INFO persistence says it
 * finished well, then *rdb_path (allocated) is the dump to archive.
 */
ops_code bk_redis_snapshot(const ops_config *cfg, char **rdb_path, cJSON *report, ops_error *err);
/* backup.redis_url's Redis answers, with the credentials it will be
 * asked with: checked before anything is dumped. */
ops_code bk_redis_check(const ops_config *cfg, ops_error *err);

/* "20261124T010000Z" for t. */

/* ---- databases restore and verify make on the server (backup_tempdb.c) ---- */

/* The marks, in the database's comment, of what each made. */
#define BK_MARK_RESTORE "opsctl backup restore: temporary copy"
#define BK_MARK_VERIFY "opsctl backup verify: temporary restore"
#define BK_MARK_OLD "opsctl backup restore: old copy"

/* A connection to the maintenance database, for CREATE, DROP and RENAME. */
ops_code bk_admin_open(const ops_config *cfg, ops_db **db, ops_error *err);
/* fmt with a and b as quoted identifiers (b NULL: ""); a statement that a
 * cancel request meant for earlier work hit is run again. */
ops_code bk_admin_exec(ops_db *db, const char *fmt, const char *a, const char *b,
		       ops_error *err);
/* End every other session on database name. */
ops_code bk_end_sessions(ops_db *db, const char *name, ops_error *err);
/* Whether database name exists, and its comment (allocated; NULL: none). */
ops_code bk_db_comment_get(ops_db *db, const char *name, int *exists, char **comment,
			   ops_error *err);
/* COMMENT ON DATABASE name IS comment (NULL: none), quoted by the server. */
ops_code bk_db_comment_set(ops_db *db, const char *name, const char *comment, ops_error *err);
/* "WHAT (host H, pid N)": the mark of this process. */
void bk_mark(const char *what, char *out, size_t len);
/* Create database name marked as what's (BK_MARK_RESTORE, BK_MARK_VERIFY);
 * one that exists is replaced only when it carries the same kind of mark,
 * otherwise OPS_EUSAGE "... was not made by opsctl backup verify ...". */
ops_code bk_tempdb_create(ops_db *db, const char *name, const char *what, ops_error *err);
/* Drop database name, ending its sessions first (a stopped pg_restore's). */
ops_code bk_tempdb_drop(ops_db *db, const char *name, ops_error *err);
/*
 * What interrupted runs of this host left: temporary databases whose
 * process is not a running opsctl are dropped (report: "removed_leftovers"),
 * old databases a restore renamed aside are reported with the commands that
 * put them back ("old_databases_kept"), never dropped.
 */
ops_code bk_tempdb_sweep(ops_db *db, cJSON *report, ops_error *err);

/* ---- one pass over a backup's archive (backup_verify.c) ---- */
struct bk_pass;
/* A member NAME.dir/FILE written into the spool (BK_PASS_VERIFY and
 * RESTORE; read past otherwise); the digest is the caller's to compare. */
ops_code bk_dir_member_write(struct bk_pass *p, ops_archive_reader *ar, const char *file,
			     ops_error *err);
/* pg_restore -Fd -j into database into from the gathered spool, started
 * (argv_head: pg_restore and its options up to --dbname, NULL-ended). */
ops_code bk_dir_restore_start(struct bk_pass *p, char *const *argv_head, ops_error *err);


enum bk_pass_mode { BK_PASS_CHECKSUMS, BK_PASS_VERIFY, BK_PASS_RESTORE };

typedef struct bk_pass bk_pass;
struct bk_pass {
	const ops_backup_ctx *ctx;
	const ops_manifest *m;
	enum bk_pass_mode mode;
	cJSON *report;			/* the run's report (leftovers found) */
	cJSON *dbs;			/* per-database results */
	const char *temp_db;		/* BK_PASS_VERIFY */
	int keep_temp;			/* BK_PASS_VERIFY */
	char *const *only;		/* BK_PASS_RESTORE: databases chosen, NULL all */
	const char *restore_dir;	/* BK_PASS_RESTORE: where files/ go (NULL: checked only) */
	/* BK_PASS_RESTORE with --as: the new database or file the one chosen
	 * database goes to; the hooks put it there instead of in place. */
	const char *as;
	/* BK_PASS_RESTORE: put the restored copy of a PostgreSQL database in
	 * place of target; on failure target is as it was and copy remains. */
	ops_code (*pg_put)(bk_pass *p, const char *copy, const char *target, cJSON *rep,
			   ops_error *err);
	/* BK_PASS_RESTORE: put a SQLite copy, checked, in place of dbpath. */
	ops_code (*sqlite_put)(bk_pass *p, const char *copy, const char *dbpath, ops_error *err);
	/* BK_PASS_RESTORE of a physical backup: the base.tar/NNNNNN members,
	 * in order, are the one tar stream pg_basebackup wrote; their bytes go
	 * to base_sink as they are read (each member's digest is compared at
	 * its end, so the consumer must be able to undo what it did). */
	ops_sink_fn base_sink;
	void *base_ctx;

	/* The rest is the pass's own. */
	/* BK_PASS_RESTORE: what the pass made and checked, put in place by
	 * bk_pass_commit only once the whole archive has been read and every
	 * digest, the object's last, has matched; dropped otherwise. */
	struct bk_pending {
		char *copy;		/* temporary database or SQLite file */
		char *target;		/* the database it replaces */
		int sqlite;
		cJSON *rep;		/* its entry for dbs, status still to come */
	} *pending;
	size_t npending;
	char *stage_dir;		/* files/ and redis/ written here first */
	char **staged;			/* their member paths, under stage_dir */
	int copies;			/* temporary databases made: their names */
	/* The dump being restored from a spool file (pg_restore -j): */
	int spool_fd;			/* -1: streamed into pg_restore's stdin */
	char *spool_path;		/* named spool file, when O_TMPFILE is not had */
	int jobs;			/* pg_restore -j for the spool */
	long long restored_bytes;	/* size of the copies made (RTO per GB) */
	ops_db *admin;			/* opened at the first database it makes */
	char *cur_stem;			/* "chatbot_db.dump" */
	char *cur_db;			/* its database name */
	char *cur_into;			/* the database pg_restore writes into */
	ops_proc *proc;
	int to_restore;			/* pg_restore's stdin */
	int skipping;			/* a database not chosen */
	int stream_failed;		/* pg_restore stopped early */
	char *cur_spool;		/* NAME.dir/: where its files gather (backup_dir.c) */
	char *dir_argv[8];		/* its pg_restore, up to --dbname */
	char dir_dbarg[96];
	ops_error stream_err;
	int failures;
	ops_error first;
};

/* Whether database db of m is stored as a SQLite copy (else a dump). */
int bk_db_is_sqlite(const ops_manifest *m, const char *db);

/* The databases a backup takes: backup.databases, else db.databases, else
 * db.name (NULL with err set when none is configured). */
char **bk_backup_targets(const ops_config *cfg, ops_error *err);

/* The manifest of backup id, checked to describe one archive that holds
 * every database it names. */
ops_code bk_pass_load(const ops_backup_ctx *ctx, const char *id, ops_manifest **m,
		      ops_error *err);
/* The key m needs, in key (*have 1), or none (*have 0). */
ops_code bk_pass_key(const ops_backup_ctx *ctx, const ops_manifest *m,
		     unsigned char key[OPS_CRYPT_KEY_LEN], int *have, ops_error *err);
/*
 * Read the whole archive of p->m once, checking every member's and the
 * object's digest, doing what p->mode asks with each database.  A failure
 * of one database is counted (p->failures, p->first) and the pass goes on;
 * damage, an unreadable store or cancellation end it.  bk_pass_end frees
 * what the pass holds.
 */
ops_code bk_pass_run(bk_pass *p, const unsigned char *key, ops_error *err);
/* BK_PASS_RESTORE after a pass that returned OPS_OK: every pending copy put
 * in place through the hooks, in archive order (a failure is counted, the
 * others still go), the staged files moved to restore_dir. */
void bk_pass_commit(bk_pass *p);
/* Frees what the pass holds; what it made and did not commit is dropped. */
void bk_pass_end(bk_pass *p);
/* The restore time (RTO) of a restore or verify that made copies of
 * bytes in seconds: in rep, and as figures for the journal and textfile. */
void bk_report_rto(cJSON *rep, double seconds, long long bytes);

/* ---- point-in-time recovery of a physical backup (backup_pitr.c) ---- */

/* Whether any of the options asks for point-in-time recovery. */
int bk_pitr_asked(const ops_restore_opts *o);
/*
 * o->datadir (or a --target-* without it) for backup m (loaded, physical
 * or not): checks everything that would refuse it, then, unless a dry run,
 * extracts base.tar into the directory and writes the recovery settings.
 */
ops_code bk_pitr_restore(const ops_backup_ctx *ctx, const ops_restore_opts *o,
			 const ops_manifest *m, cJSON **report, ops_error *err);

#endif
