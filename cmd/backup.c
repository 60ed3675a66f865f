/*
 * `opsctl backup`: the front end of lib/backup.  Each subcommand is a table
 * row and a few lines turning options into a library call; the store, the
 * task lock, journal and output are shared in run_backup().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "opsmaint/backup.h"
#include "opsmaint/log.h"
#include "prompt.h"
#include "opsmaint/task.h"

#define OPT_S3 \
	{"s3", 's', CLI_FLAG, NULL, NULL, NULL, 0, 0, CLI_C_NONE, \
	 "use the S3 store ([s3] in opsctl.conf) instead of the local backup.dir"}
#define OPT_VERBOSE(s) \
	{"verbose", s, CLI_FLAG, NULL, NULL, NULL, 0, 0, CLI_C_NONE, "enable verbose output"}
#define OPT_CONFIG \
	{"config", 'c', CLI_STRING, "FILE", NULL, NULL, 0, 0, CLI_C_FILE, \
	 "configuration file (same as the global --config)"}

typedef ops_code (*backup_op)(struct cli_inv *inv, const ops_backup_ctx *ctx,
			      cJSON **report, ops_error *err);

/*
 * The shared shape of every subcommand: open the store, take the lock
 * (lock_name NULL: none), run, print, journal.
 */
static int run_backup(struct cli_inv *inv, const char *lock_name, backup_op op)
{
	ops_backup_ctx ctx = {0};
	ops_run run;
	ops_task *task = NULL;
	ops_store *store = NULL;
	cJSON *report = NULL;
	ops_error err;
	ops_code rc;
	int status, verbose;

	ops_error_clear(&err);
	verbose = cli_has_opt(inv, "verbose") && cli_flag(inv, "verbose");
	if (verbose)
		ops_log_set_level(OPS_LOG_INFO);
	ops_run_init(&run, inv->cfg);
	ctx.run = &run;
	run.verbose = verbose;
	run.force = cli_has_opt(inv, "force") && cli_flag(inv, "force");
	run.dry_run = cli_has_opt(inv, "dry-run") && cli_flag(inv, "dry-run");
	/* A progress line only for a person watching; never in cron mail. */
	if (isatty(STDERR_FILENO) && !inv->quiet && inv->out == OPS_OUT_TEXT)
		run.progress = cli_progress;
	if (ops_is_interactive())
		run.confirm = cli_ask;
	/* s3-verify is about the S3 store whatever the flags say. */
	rc = ops_backup_open_store(inv->cfg, (cli_has_opt(inv, "s3") && cli_flag(inv, "s3")) ||
				   strcmp(inv->cmd->name, "s3-verify") == 0, &store, &err);
	if (rc != OPS_OK)
		return cli_error(inv, &err);
	ctx.store = store;
	if (lock_name && !run.dry_run && ops_task_begin(inv->cfg, lock_name, &task, &err) != OPS_OK) {
		ops_store_free(store);
		return cli_error(inv, &err);
	}
	rc = op(inv, &ctx, &report, &err);
	status = cli_report_run(inv, task, rc, &err, report);
	ops_store_free(store);
	return status;
}

static ops_code op_create(struct cli_inv *inv, const ops_backup_ctx *ctx, cJSON **report,
			  ops_error *err)
{
	ops_backup_opts o = {0};

	o.type = cli_str(inv, "type") ? cli_str(inv, "type") : "all";
	o.retention_days = cli_get(inv, "retention")->set ? cli_num(inv, "retention") : 0;
	o.no_compress = cli_flag(inv, "no-compress");
	o.verify = cli_flag(inv, "verify");
	return ops_backup_create(ctx, &o, report, err);
}

static ops_code op_list(struct cli_inv *inv, const ops_backup_ctx *ctx, cJSON **report,
			ops_error *err)
{
	return ops_backup_list(ctx, report, err);
}

static ops_code op_verify(struct cli_inv *inv, const ops_backup_ctx *ctx, cJSON **report,
			  ops_error *err)
{
	ops_verify_opts o = {0};

	o.id = cli_str(inv, "backup-id");
	o.temp_db = cli_str(inv, "temp-db");
	o.keep_temp = cli_flag(inv, "keep-temp");
	o.checksums_only = cli_flag(inv, "checksums-only");
	return ops_backup_verify(ctx, &o, report, err);
}

static ops_code op_restore(struct cli_inv *inv, const ops_backup_ctx *ctx, cJSON **report,
			   ops_error *err)
{
	return ops_backup_restore(ctx, inv->args[0], cli_list(inv, "database"), report, err);
}

static ops_code op_prune(struct cli_inv *inv, const ops_backup_ctx *ctx, cJSON **report,
			 ops_error *err)
{
	return ops_backup_prune(ctx, cli_get(inv, "retention")->set ? cli_num(inv, "retention") : 0,
				report, err);
}

static ops_code op_pin(struct cli_inv *inv, const ops_backup_ctx *ctx, cJSON **report,
		       ops_error *err)
{
	return ops_backup_pin(ctx, inv->args[0], !cli_flag(inv, "unpin"), report, err);
}

static ops_code op_s3_verify(struct cli_inv *inv, const ops_backup_ctx *ctx, cJSON **report,
			     ops_error *err)
{
	return ops_backup_s3_verify(ctx, report, err);
}

static ops_code op_monitoring(struct cli_inv *inv, const ops_backup_ctx *ctx, cJSON **report,
			      ops_error *err)
{
	const char *dest = cli_str(inv, "destination");

	if (!dest)
		dest = ops_config_get(inv->cfg, "backup.monitoring_dir");
	return ops_backup_monitoring(ctx, dest, cli_list(inv, "components"),
				     cli_get(inv, "retention")->set ? cli_num(inv, "retention") : 90,
				     report, err);
}

static ops_code op_wal_push(struct cli_inv *inv, const ops_backup_ctx *ctx, cJSON **report,
			    ops_error *err)
{
	return ops_backup_wal_push(ctx, inv->args[0], err);
}

static ops_code op_wal_fetch(struct cli_inv *inv, const ops_backup_ctx *ctx, cJSON **report,
			     ops_error *err)
{
	return ops_backup_wal_fetch(ctx, inv->args[0], inv->args[1], err);
}

/* One lock for everything that adds or removes backups, so that prune can
 * never take the objects of a backup still being written. */
#define LOCK_BACKUPS "backup"

static int run_create(struct cli_inv *inv) { return run_backup(inv, LOCK_BACKUPS, op_create); }
static int run_list(struct cli_inv *inv) { return run_backup(inv, NULL, op_list); }
static int run_verify(struct cli_inv *inv) { return run_backup(inv, "backup verify", op_verify); }
static int run_restore(struct cli_inv *inv) { return run_backup(inv, "backup restore", op_restore); }
static int run_prune(struct cli_inv *inv) { return run_backup(inv, LOCK_BACKUPS, op_prune); }
static int run_pin(struct cli_inv *inv) { return run_backup(inv, LOCK_BACKUPS, op_pin); }
static int run_s3_verify(struct cli_inv *inv) { return run_backup(inv, "backup s3-verify", op_s3_verify); }
static int run_monitoring(struct cli_inv *inv) { return run_backup(inv, "backup monitoring", op_monitoring); }
static int run_wal_push(struct cli_inv *inv) { return run_backup(inv, "backup wal-push", op_wal_push); }
static int run_wal_fetch(struct cli_inv *inv) { return run_backup(inv, "backup wal-fetch", op_wal_fetch); }

static const struct cli_opt create_opts[] = {
	OPT_CONFIG,
	{"type", 't', CLI_ENUM, "TYPE", "all", "full,wal,all", 0, 0, CLI_C_VALUES,
	 "backup type: full, wal, all"},
	{"retention", 'r', CLI_INT, "DAYS", "30", NULL, 1, 36500, CLI_C_NONE,
	 "keep every backup for DAYS days (weekly and monthly ones longer; backup.retention_daily)"},
	OPT_S3,
	{"no-compress", 'n', CLI_FLAG, NULL, NULL, NULL, 0, 0, CLI_C_NONE,
	 "skip compression (backup.compression applies otherwise, zstd by default)"},
	{"verify", 'v', CLI_FLAG, NULL, NULL, NULL, 0, 0, CLI_C_NONE,
	 "verify every checksum of the backup after it is written"},
	OPT_VERBOSE(0),
	{0}
};

static const struct cli_opt list_opts[] = { OPT_S3, {0} };

static const struct cli_opt verify_opts[] = {
	{"backup-id", 'b', CLI_STRING, "ID", "latest", NULL, 0, 0, CLI_C_NONE,
	 "backup ID to verify"},
	{"temp-db", 't', CLI_STRING, "NAME", "verify_restore", NULL, 0, 0, CLI_C_NONE,
	 "temporary database name for the test restore"},
	{"keep-temp", 0, CLI_FLAG, NULL, NULL, NULL, 0, 0, CLI_C_NONE,
	 "keep temporary database after verification"},
	{"checksums-only", 0, CLI_FLAG, NULL, NULL, NULL, 0, 0, CLI_C_NONE,
	 "check every SHA-256 but do not restore"},
	OPT_S3,
	OPT_VERBOSE('v'),
	{0}
};

static const struct cli_opt restore_opts[] = {
	{"database", 'd', CLI_LIST, "NAME", "all", NULL, 0, 0, CLI_C_DATABASE,
	 "restore only NAME; repeat or comma-separate for several"},
	{"force", 'f', CLI_FLAG, NULL, NULL, NULL, 0, 0, CLI_C_NONE,
	 "restore outside the maintenance window, without confirmation, closing open sessions"},
	OPT_S3,
	OPT_VERBOSE('v'),
	{0}
};

static const struct cli_opt prune_opts[] = {
	{"retention", 'r', CLI_INT, "DAYS", "30", NULL, 1, 36500, CLI_C_NONE,
	 "keep every backup for DAYS days (default backup.retention_daily)"},
	{"dry-run", 0, CLI_FLAG, NULL, NULL, NULL, 0, 0, CLI_C_NONE,
	 "show what would be removed and remove nothing"},
	OPT_S3,
	OPT_VERBOSE('v'),
	{0}
};

static const struct cli_opt pin_opts[] = {
	{"unpin", 0, CLI_FLAG, NULL, NULL, NULL, 0, 0, CLI_C_NONE,
	 "return the backup to normal retention"},
	OPT_S3,
	{0}
};

static const struct cli_opt monitoring_opts[] = {
	{"destination", 'd', CLI_STRING, "DIR", "/var/backups/monitoring", NULL, 0, 0, CLI_C_DIR,
	 "backup destination directory (default backup.monitoring_dir)"},
	{"components", 'c', CLI_ENUMLIST, "LIST", "all", "prometheus,grafana,alertmanager,all", 0, 0,
	 CLI_C_VALUES, "components to backup: prometheus,grafana,alertmanager,all"},
	{"retention", 'r', CLI_INT, "DAYS", "90", NULL, 1, 36500, CLI_C_NONE,
	 "number of days to keep backups"},
	{"dry-run", 0, CLI_FLAG, NULL, NULL, NULL, 0, 0, CLI_C_NONE,
	 "show which old archives retention would remove, and write and remove nothing"},
	OPT_VERBOSE('v'),
	{0}
};

static const struct cli_opt s3_verify_opts[] = {
	OPT_VERBOSE('v'),
	{0}
};

static const struct cli_opt wal_opts[] = { OPT_S3, {0} };

const struct cli_cmd cli_backup_subs[] = {
	{"create", "back up databases, WAL and configured files (backup-database.sh)", NULL, 0, 0,
	 CLI_C_NONE, create_opts, NULL, NULL, run_create, CLI_CHANGES,
	 "Performs automated database backups, as backup-database.sh (guide 000 section 8.1) and "
	 "daily_backup.sh (guide 004) do. `opsctl backup` with no subcommand is the same command.\n\n"
	 "A full backup dumps each database of backup.databases (else db.databases, else db.name) "
	 "with pg_dump in custom format, uncompressed, and streams the dumps through compression "
	 "(zstd on every core by default, gzip or none) into one tar archive in the store, hashing "
	 "every member with SHA-256 as it streams; no copy of a dump is ever written to disk. A dump "
	 "is stored as members NAME.dump/000001, NAME.dump/000002, ... of at most backup.chunk_size "
	 "bytes, so memory stays flat however large the database; `tar -xOf` writes them back to "
	 "back, which is the dump. The rows of every table are counted in the same snapshot the "
	 "dump is taken in, so a later verify can demand exact equality. SQLite databases are copied "
	 "with SQLite's online backup API. Files named by backup.include_files (guide 004: the .env "
	 "and the compose file) join the archive under files/.\n\n"
	 "With backup.method = physical a full backup is instead a base backup of the whole "
	 "cluster (pg_basebackup, with the WAL it needs), stored as base.tar/000001..., which with "
	 "archived WAL allows point-in-time recovery.\n\n"
	 "A wal backup ships completed WAL segments: those archive_command left in "
	 "backup.wal_spool, or, without a spool, it switches to a new segment and waits until "
	 "PostgreSQL's archiver (archive_command = 'opsctl backup wal-push %p') has stored it, "
	 "failing if archiving is off or failing.\n\n"
	 "Every backup gets ID/manifest.json, written last: id, type, method, databases, server and "
	 "tool versions, start and stop times, WAL positions for physical backups, every member's "
	 "size and SHA-256, the row counts and the status. A backup without a complete manifest is "
	 "not a backup: it is never listed as good, and the next run removes it. After a full backup "
	 "retention runs (see prune). Two backups never run at once: the second exits 75.\n\n"
	 "With backup.encryption_key_file set, the archive is encrypted with AES-256-GCM in 64 KiB "
	 "authenticated segments before it leaves the host; the key's fingerprint is recorded in the "
	 "manifest, and a key file readable by group or others is refused.\n\n"
	 "Progress is shown on a terminal; cron runs are silent unless something fails. Every run "
	 "appends a journal line and refreshes opsctl_backup_last_success_timestamp_seconds, "
	 "opsctl_backup_size_bytes and opsctl_backup_duration_seconds in the Prometheus textfile.",
	 "Daily full backup to S3 at 1 AM (guide 000)\n0 1 * * * opsctl backup --type full --s3\n"
	 "Hourly WAL archiving\n0 * * * * opsctl backup --type wal --s3\n"
	 "A full backup, its checksums verified straight away\nopsctl backup --type full --verify"},
	{"list", "list backups with size, duration and verification", NULL, 0, 0, CLI_C_NONE,
	 list_opts, NULL, NULL, run_list, 0,
	 "Lists every backup in the store, oldest first: id, type, time (UTC), size, duration, "
	 "status (complete, verified, verify-failed; incomplete for the leftovers of an interrupted "
	 "run, invalid for a damaged manifest), whether it was verified and whether it is pinned.",
	 "Backups in S3 as JSON\nopsctl --output json backup list --s3"},
	{"verify", "verify a backup by checksums and a test restore (verify-db-backup.sh)", NULL, 0, 0,
	 CLI_C_NONE, verify_opts, NULL, NULL, run_verify, CLI_CHANGES,
	 "Verifies a backup as verify-db-backup.sh does: the latest complete one, or -b ID. Every "
	 "archive member's SHA-256 and the stored object's SHA-256 are checked against the manifest; "
	 "each PostgreSQL database is restored with pg_restore into the temporary database (-t, "
	 "default verify_restore), its row counts compared table by table with those recorded at "
	 "backup time, and its B-tree indexes checked with amcheck where the extension is available; "
	 "SQLite copies get PRAGMA integrity_check and the same row counts. The temporary database "
	 "is dropped unless --keep-temp. The result is recorded in the manifest (verified or "
	 "verify-failed) and the journal.\n\n"
	 "Damage exits 65 naming the member; a row-count difference or failed restore exits 1; a "
	 "verification failure never exits 0. Physical backups get the checksum pass only.",
	 "Verify the latest backup\nopsctl backup verify\n"
	 "Verify one backup and keep the restored copy to look at\nopsctl backup verify -b 20261124T010000Z-full --keep-temp"},
	{"restore", "restore databases from a backup (restore_backup.sh)", "ID", 1, 1, CLI_C_NONE,
	 restore_opts, NULL, NULL, run_restore, CLI_CHANGES,
	 "Restores the databases of backup ID (all, or those chosen with -d) as restore_backup.sh "
	 "(guide 004) does, but safely: each is restored with pg_restore into a new database, and "
	 "only when that succeeded is the old one dropped and the new one renamed to its name, so a "
	 "failed restore leaves the old database as it was. SQLite files are written beside the "
	 "original and renamed over it. Files stored under files/ are written to "
	 "STATE_DIR/restore/ID/ for review, as the guide advises, never over the live "
	 "configuration.\n\n"
	 "Every member is checked against its SHA-256 as it streams. Archive members with absolute "
	 "names, '..' or links are refused (exit 65). Runs only inside the maintenance window or "
	 "with --force, and asks for confirmation on a terminal.",
	 "Restore one database from a backup, now\nopsctl backup restore 20261124T010000Z-full -d chatbot_db --force"},
	{"prune", "apply retention to backups and WAL", NULL, 0, 0, CLI_C_NONE,
	 prune_opts, NULL, NULL, run_prune, CLI_CHANGES,
	 "Applies retention (guide 000 section 5.1): every backup younger than "
	 "backup.retention_daily (30 days, or -r DAYS) is kept; beyond that the newest of each ISO "
	 "week is kept for backup.retention_weekly (90 days) and the newest of each month for "
	 "backup.retention_monthly (1 year). Never removed: pinned backups, the newest good backup, a "
	 "backup whose verification failed while no newer good one exists, and the WAL the oldest "
	 "kept physical backup needs. Leftovers of interrupted runs are removed. --dry-run shows "
	 "what would go. `opsctl backup create` runs this after every full backup.",
	 "See what retention would remove\nopsctl backup prune --dry-run"},
	{"pin", "keep a backup out of retention", "ID", 1, 1, CLI_C_NONE,
	 pin_opts, NULL, NULL, run_pin, CLI_CHANGES,
	 "Marks backup ID as pinned in its manifest, so that retention never removes it (like "
	 "WAL-G's permanent backups); --unpin returns it to normal retention.",
	 "Keep the backup taken before a migration\nopsctl backup pin 20261124T010000Z-full"},
	{"monitoring", "back up Prometheus, Grafana and Alertmanager configuration", NULL, 0, 0,
	 CLI_C_NONE, monitoring_opts, NULL, NULL, run_monitoring, CLI_CHANGES,
	 "Backs up monitoring configuration as backup-monitoring-config.sh does: each chosen "
	 "component's directory (backup.monitoring_paths) becomes DIR/monitoring_COMPONENT_"
	 "YYYYMMDD_HHMMSS.tar.zst with a sha256sum-format .sha256 file beside it, and archives older "
	 "than the retention period are removed. A configured directory that is missing is reported "
	 "and makes the run exit 1 after the others are done.",
	 "Back up all monitoring configuration\nopsctl backup monitoring -d /var/backups/monitoring"},
	{"s3-verify", "check S3 versioning and read back the newest backup (verify-s3-backup.sh)",
	 NULL, 0, 0, CLI_C_NONE, s3_verify_opts, NULL, NULL, run_s3_verify, CLI_CHANGES,
	 "Checks the S3 store as verify-s3-backup.sh does: that bucket versioning is enabled (so a "
	 "deleted or overwritten backup can be recovered) and that every object of the newest "
	 "backup can be read back and matches its SHA-256. Exit 1 when versioning is off, 65 on "
	 "damage, 69 when S3 is unreachable.",
	 "Weekly check of the S3 copies\nopsctl backup s3-verify"},
	{"wal-push", "store one WAL segment (archive_command)", "PATH", 1, 1, CLI_C_FILE,
	 wal_opts, NULL, NULL, run_wal_push, CLI_CHANGES,
	 "Stores the WAL segment at PATH as wal/NAME.zst with a record of its SHA-256, for "
	 "PostgreSQL's archive_command. It exits 0 only once both are durably stored, so PostgreSQL "
	 "retries anything else; a segment already stored with the same content succeeds, one "
	 "stored with different content fails.",
	 "postgresql.conf\narchive_command = 'opsctl backup wal-push --s3 %p'"},
	{"wal-fetch", "fetch one WAL segment (restore_command)", "NAME DEST", 2, 2, CLI_C_NONE,
	 wal_opts, NULL, NULL, run_wal_fetch, CLI_CHANGES,
	 "Fetches WAL segment NAME into DEST, checked against its SHA-256, for PostgreSQL's "
	 "restore_command. A segment that is not stored exits 1, which tells PostgreSQL the archive "
	 "has no more.",
	 "postgresql.conf of a server in recovery\nrestore_command = 'opsctl backup wal-fetch --s3 %f %p'"},
	{0}
};

const char cli_backup_description[] =
	"Database backups that can be trusted, to a local directory or S3 (guide 000 sections "
	"2.3-2.4, 5 and 8.1; guide 001 Friday backup and recovery; guide 003 weekly backup; guide "
	"004 daily_backup.sh and restore_backup.sh). Without a subcommand, `opsctl backup` is "
	"`opsctl backup create`.\n\n"
	"Store layout: ID/backup.tar.zst (or .tar.gz, .tar; .enc when encrypted) and "
	"ID/manifest.json per backup, wal/NAME.zst and wal/NAME.json per WAL segment. The archive "
	"opens with stock tools: `tar --zstd -xOf backup.tar.zst --wildcards 'chatbot_db.dump/0*' | "
	"pg_restore -d newdb` restores a database without opsctl.\n\n"
	"S3 (-s/--s3) uses [s3] in opsctl.conf: bucket, prefix, region and endpoint (for "
	"S3-compatible stores). Credentials come from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
	"(and AWS_SESSION_TOKEN) or the AWS credentials file, never from the command line. Requests "
	"are signed with AWS SigV4; large archives go up in multipart uploads whose every part's "
	"ETag is checked; 5xx answers, 429 and timeouts are retried with backoff.\n\n"
	"RESTORING A PHYSICAL BACKUP: stop PostgreSQL, empty the data directory, run `tar --zstd "
	"-xOf backup.tar.zst --wildcards 'base.tar/0*' | tar -x -C DATADIR`, set restore_command = "
	"'opsctl backup wal-fetch %f %p' and create DATADIR/recovery.signal, then start it.";
