/*
 * Database backups that can be trusted (guide 000 sections 2.3-2.4, 5 and
 * 8.1; guide 004 daily_backup.sh and restore_backup.sh).
 *
 * A backup is the objects under its id in a store (store.h) and
 * ID/manifest.json, written last (manifest.h).  A full backup is one archive
 * (archive.h), ID/backup.tar[.zst|.gz][.enc], holding for each PostgreSQL
 * database NAME the members NAME.dump/000001... (pg_dump -Fc, taken in the
 * snapshot its row counts were counted in), for each SQLite database
 * NAME.db (online backup API), and files/... and redis/dump.rdb when
 * configured.  A physical backup holds base.tar/000001... from
 * pg_basebackup instead.  WAL segments live under wal/.
 *
 * Every function takes a context, builds a cJSON report and never prints;
 * progress goes through the run's progress callback (run.h).
 */
#ifndef OPSMAINT_BACKUP_H
#define OPSMAINT_BACKUP_H
#include "opsmaint/api.h"
OPS_API_BEGIN

#include <cjson/cJSON.h>
#include "opsmaint/config.h"
#include "opsmaint/error.h"
#include "opsmaint/run.h"
#include "opsmaint/store.h"

/* run: shared with every command (run.h); force lets restore run outside
 * the window without confirmation, dry_run makes prune report only. */
typedef struct ops_backup_ctx {
	const ops_run *run;
	ops_store *store;
} ops_backup_ctx;

/* Open the store the flags and configuration choose: S3 when s3, else
 * backup.dir (default STATE_DIR/backups/store). */
ops_code ops_backup_open_store(const ops_config *cfg, int s3, ops_store **out,
			       ops_error *err);

typedef struct ops_backup_opts {
	const char *type;	/* "full", "wal" or "all" */
	long retention_days;	/* -r; <= 0: backup.retention_daily */
	int no_compress;	/* -n */
	int verify;		/* -v: check every checksum right after */
} ops_backup_opts;

/*
 * backup-database.sh: remove partial backups a killed run left, then the
 * full backup (logical or physical per backup.method) and/or the WAL step,
 * then retention.  Report: {"id", "type", "size_bytes", "duration_seconds",
 * "databases":[{"database", "engine", "member", "size_bytes",
 * "duration_seconds"}...], "removed_partial":[ID...], "retention":{...},
 * "wal":{...}}.  Cancellation (cancel.h) aborts the object being written
 * and removes the backup's objects: no manifest, so no backup.
 */
ops_code ops_backup_create(const ops_backup_ctx *ctx, const ops_backup_opts *o,
			   cJSON **report, ops_error *err);

/* Every backup, oldest first: id, type, method, time, size_bytes,
 * duration_seconds, status (complete, verified, verify-failed), verified
 * (true only when its last verification passed), pinned, databases (their
 * names), encrypted; partial ones with status "incomplete", an unreadable
 * manifest "invalid" with its error.  Report: {"store", "backups", "count"}. */
ops_code ops_backup_list(const ops_backup_ctx *ctx, cJSON **report, ops_error *err);

/* The newest good backup's id (allocated), or OPS_EFAIL "no backups in STORE". */
ops_code ops_backup_latest(const ops_backup_ctx *ctx, char **id, ops_error *err);
/* The newest backup with a manifest, good or not when good_only is 0. */
ops_code ops_backup_newest(const ops_backup_ctx *ctx, int good_only, char **id, ops_error *err);

typedef struct ops_verify_opts {
	const char *id;		/* NULL: the latest */
	const char *temp_db;	/* NULL: backup.verify_temp_db */
	int keep_temp;
	int checksums_only;	/* skip the test restore (backup -v) */
} ops_verify_opts;

/*
 * verify-db-backup.sh: every object's and file's SHA-256, then each
 * PostgreSQL database restored into temp_db with pg_restore and its row
 * counts compared with the manifest's, amcheck's bt_index_check on its
 * indexes where amcheck is installed; SQLite copies get integrity_check.
 * The result is recorded in the manifest ("verified" or "verify-failed"),
 * except after cancellation, which drops temp_db and records nothing.
 * A checksum mismatch or damaged archive is OPS_EDATA naming the member;
 * a row-count difference OPS_EFAIL naming the table.  Report: {"id",
 * "check", "databases":[{"database", "status": ok|failed|skipped, ...}],
 * "members_checked", "read_bytes", "duration_seconds", "status": ok|failed}.
 */
ops_code ops_backup_verify(const ops_backup_ctx *ctx, const ops_verify_opts *o,
			   cJSON **report, ops_error *err);

typedef struct ops_restore_opts {
	const char *id;			/* a backup id, or "latest" */
	char *const *databases;		/* -d: NULL for every database in the backup */
	/* --as: restore the one database chosen (or the backup's only one)
	 * into this new PostgreSQL database, or for SQLite this new file;
	 * NULL: over the databases themselves. */
	const char *as;
	/*
	 * Point-in-time recovery of a physical backup: datadir, a new or empty
	 * directory, gets the base backup and the recovery settings; the
	 * server is not started.  At most one target: target_time (ISO 8601
	 * with a zone), target_lsn ("0/3000028"), target_name (a restore
	 * point) or target_immediate (the end of the backup itself); none:
	 * the end of the archived WAL.  target_exclusive stops just before the
	 * target; target_action is pause (PostgreSQL's default, also NULL),
	 * promote or shutdown.  program is the opsctl restore_command runs
	 * (an absolute path; NULL: "opsctl" from PATH).
	 */
	const char *datadir;
	const char *target_time;
	const char *target_lsn;
	const char *target_name;
	int target_immediate;
	int target_exclusive;
	const char *target_action;
	const char *program;
	/*
	 * start_port (0: not started): once the settings are written, start the
	 * recovered server on 127.0.0.1:start_port (no Unix socket, archiving
	 * off), wait (backup.recovery_timeout) until recovery is paused at the
	 * target or the server is promoted, check that it answers, and report
	 * where replay stopped ("recovery" in the report).  The server is left
	 * running.
	 */
	int start_port;
} ops_restore_opts;

/*
 * restore_backup.sh, safely, reading the archive once: each database (NULL:
 * all in the backup) is restored with pg_restore (-j backup.restore_jobs
 * from a spool file for a dump of backup.restore_spool_min or more) into a
 * copy of its own while every digest is checked; only once the last digest
 * has matched does each copy take the old one's name, in one transaction,
 * and the old one is dropped after; SQLite
 * files are written beside the original and renamed over it; files/ go to
 * STATE_DIR/restore/ID for review.  A failure or cancellation leaves every
 * database not yet swapped as it was.  Inside the maintenance window or
 * with run->force; asks run->confirm first.  Databases earlier restores or
 * verifies on this host left behind are removed or reported (verify too).
 *
 * A SQLite path is the manifest's: one that is not a database
 * backup.databases (else db.databases, db.name) names, or that is a
 * protected path, is OPS_EDATA naming it, before anything is read.
 *
 * With o->as nothing that exists is touched, so no window applies: the one
 * database goes to a new database (a name that exists is OPS_EUSAGE naming
 * it) or a new file (an existing file is OPS_EUSAGE, a protected path
 * OPS_EPERM); files/ are only checked.  Report "restored_as".
 *
 * run->dry_run checks what the real run would refuse for certain (the
 * backup, its manifest's paths, -d, --as, the key) and reports each
 * database's "target" and "action" (replace, create) and the window
 * (ops_run_would_permit) without reading the archive or changing anything.
 *
 * A physical backup is restored only with o->datadir (point-in-time
 * recovery, no window: nothing that exists is replaced): not as root (the
 * files would be root's, and PostgreSQL refuses root), into a directory
 * that is absent (created 0700) or empty (a running server's postmaster.pid
 * is OPS_EPERM, anything else in it OPS_EUSAGE).  A target time without a
 * zone, or before the backup's stop time, is OPS_EUSAGE naming both times;
 * one after the newest archived WAL segment is a warning naming it
 * ("warning" in the report).  base.tar is extracted (stock tar, fed the
 * checked members), then the base backup's postgresql.auto.conf gets
 * restore_command (o->program backup wal-fetch, with the configuration file
 * and store of this run) and every recovery_target_* setting appended,
 * recovery.signal is created, and the report gives "start_command".  A
 * target LSN before the backup's end (its backup_manifest) is OPS_EUSAGE;
 * any failure removes what was extracted.  Targets or datadir with a
 * logical backup are OPS_EUSAGE.  run->dry_run checks the same and reports
 * what would be extracted and written.
 */
ops_code ops_backup_restore(const ops_backup_ctx *ctx, const ops_restore_opts *o,
			    cJSON **report, ops_error *err);

/*
 * Retention (guide 000 section 5.1): keep everything younger than
 * daily_days (<= 0: backup.retention_daily), the newest of each ISO week
 * younger than backup.retention_weekly, the newest of each month younger
 * than backup.retention_monthly, pinned backups, the newest good backup, a
 * failed one with no newer good one, and the WAL the oldest kept physical
 * backup needs.  Partial backups are removed.  ctx->dry_run reports only.
 * Report: {"dry_run", "daily_days", "kept":[{"id", "reason"}...],
 * "pruned":[...], "wal_pruned":[KEY...], "backups_kept": N}; create drops
 * "kept" from its text report unless run->verbose.
 */
ops_code ops_backup_prune(const ops_backup_ctx *ctx, long daily_days, cJSON **report,
			  ops_error *err);

/* Pin (1) or unpin (0) a backup: a pinned one is never pruned. */
ops_code ops_backup_pin(const ops_backup_ctx *ctx, const char *id, int pin,
			cJSON **report, ops_error *err);

/*
 * `backup --type wal`: ship the segments archive_command left in
 * backup.wal_spool, or, without a spool, switch to a new segment and wait
 * until PostgreSQL's archiver (archive_command = opsctl backup wal-push %p)
 * reports it stored; archive_mode off is OPS_ECONFIG saying so.
 */
ops_code ops_backup_wal_ship(const ops_backup_ctx *ctx, cJSON *report, ops_error *err);

/*
 * archive_command: store the segment at path as wal/NAME[.zst][.enc] with
 * its SHA-256 in wal/NAME...sha256 and return OPS_OK only once both are
 * durable.  A segment already stored with the same content is OK (PostgreSQL
 * may retry after a crash); different content is OPS_EFAIL.
 */
ops_code ops_backup_wal_push(const ops_backup_ctx *ctx, const char *path, ops_error *err);
/* restore_command: fetch NAME into dest, checked against its SHA-256.
 * A segment that is not stored is OPS_EFAIL (PostgreSQL then stops asking). */
ops_code ops_backup_wal_fetch(const ops_backup_ctx *ctx, const char *name, const char *dest,
			      ops_error *err);

/*
 * verify-s3-backup.sh: bucket versioning state, then every object of the
 * newest backup read back and checked against its manifest.
 */
ops_code ops_backup_s3_verify(const ops_backup_ctx *ctx, cJSON **report, ops_error *err);

/*
 * backup-monitoring-config.sh: the configuration of the chosen components
 * (backup.monitoring_paths) archived into dest as
 * monitoring_COMPONENT_YYYYMMDDTHHMMSSZ.tar.zst (UTC) with a .sha256 beside
 * it; archives older than retention_days removed (the local-time names of
 * earlier versions too).  run->dry_run writes and removes nothing and
 * reports each "archive" it would write and "would_create_destination".
 */
ops_code ops_backup_monitoring(const ops_backup_ctx *ctx, const char *dest,
			       char *const *components, long retention_days,
			       cJSON **report, ops_error *err);

/*
 * One directory archived as `backup monitoring` archives a component (so
 * that `dashboards -b` keeps its copy beside them, under the same retention):
 * dest/monitoring_NAME_YYYYMMDDTHHMMSSZ.tar.zst with its .sha256; dest must
 * exist.  Adds to rep "archive" (its path), "files", "skipped" (links and
 * other non-regular entries, never followed), "size_bytes" and "sha256".
 */
ops_code ops_backup_monitoring_dir(const ops_backup_ctx *ctx, const char *name, const char *src,
				   const char *dest, cJSON *rep, ops_error *err);

OPS_API_END
#endif
