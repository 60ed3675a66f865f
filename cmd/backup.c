/*
 * `opsctl backup`: the front end of lib/backup.  Each subcommand is a table
 * row and a few lines turning options into a library call; the store, the
 * lock, journal and output are the runner's (runner.c).
 */
#include <stdlib.h>

#include "cli.h"
#include "opsmaint/backup.h"

#define OPT_S3 \
	CLI_OPT_FLAG('s', "s3", "use the S3 store ([s3] in opsctl.conf) instead of the local backup.dir")
#define OPT_CONFIG \
	CLI_OPT_STRING('c', "config", "FILE", "configuration file: the global --config, taken " \
		       "here too as backup-database.sh's -c", \
		       .complete = CLI_C_FILE)

/* The store is opened by the runner (CLI_STORE): inv->store. */
#define BACKUP_CTX(inv, run) { .run = (run), .store = (inv)->store }

static ops_code op_create(struct cli_inv *inv, const ops_run *run, cJSON **report,
			  ops_error *err)
{
	ops_backup_ctx ctx = BACKUP_CTX(inv, run);
	ops_backup_opts o = {0};

	o.type = cli_str(inv, "type");
	/* backup.retention_daily is a duration; -r counts days. */
	o.retention_days = cli_given(inv, "retention") ? cli_num(inv, "retention") : 0;
	o.no_compress = cli_flag(inv, "no-compress");
	o.verify = cli_flag(inv, "verify");
	return ops_backup_create(&ctx, &o, report, err);
}

static ops_code op_list(struct cli_inv *inv, const ops_run *run, cJSON **report,
			ops_error *err)
{
	ops_backup_ctx ctx = BACKUP_CTX(inv, run);

	return ops_backup_list(&ctx, report, err);
}

static ops_code op_verify(struct cli_inv *inv, const ops_run *run, cJSON **report,
			  ops_error *err)
{
	ops_backup_ctx ctx = BACKUP_CTX(inv, run);
	ops_verify_opts o = {0};

	o.id = cli_given(inv, "backup-id") ? cli_str(inv, "backup-id") : NULL;
	o.temp_db = cli_str(inv, "temp-db");
	o.keep_temp = cli_flag(inv, "keep-temp");
	o.checksums_only = cli_flag(inv, "checksums-only");
	return ops_backup_verify(&ctx, &o, report, err);
}

static ops_code op_restore(struct cli_inv *inv, const ops_run *run, cJSON **report,
			   ops_error *err)
{
	ops_backup_ctx ctx = BACKUP_CTX(inv, run);
	ops_restore_opts o = {0};
	char *self;
	ops_code rc;

	o.id = inv->args[0];
	o.databases = cli_given(inv, "database") ? cli_list(inv, "database") : NULL;
	o.as = cli_given(inv, "as") ? cli_str(inv, "as") : NULL;
	o.datadir = cli_given(inv, "datadir") ? cli_str(inv, "datadir") : NULL;
	o.target_time = cli_given(inv, "target-time") ? cli_str(inv, "target-time") : NULL;
	o.target_lsn = cli_given(inv, "target-lsn") ? cli_str(inv, "target-lsn") : NULL;
	o.target_name = cli_given(inv, "target-name") ? cli_str(inv, "target-name") : NULL;
	o.target_immediate = cli_flag(inv, "target-immediate");
	o.target_exclusive = cli_flag(inv, "target-exclusive");
	o.target_action = cli_given(inv, "target-action") ? cli_str(inv, "target-action") : NULL;
	o.start_port = cli_given(inv, "start") ? (int)cli_num(inv, "start") : 0;
	/* restore_command runs this very binary, wherever PATH points later. */
	o.program = self = realpath("/proc/self/exe", NULL);
	rc = ops_backup_restore(&ctx, &o, report, err);
	free(self);
	return rc;
}

static ops_code op_prune(struct cli_inv *inv, const ops_run *run, cJSON **report,
			 ops_error *err)
{
	ops_backup_ctx ctx = BACKUP_CTX(inv, run);

	return ops_backup_prune(&ctx, cli_given(inv, "retention") ? cli_num(inv, "retention") : 0,
				report, err);
}

static ops_code op_pin(struct cli_inv *inv, const ops_run *run, cJSON **report,
		       ops_error *err)
{
	ops_backup_ctx ctx = BACKUP_CTX(inv, run);

	return ops_backup_pin(&ctx, inv->args[0], !cli_flag(inv, "unpin"), report, err);
}

static ops_code op_s3_verify(struct cli_inv *inv, const ops_run *run, cJSON **report,
			     ops_error *err)
{
	ops_backup_ctx ctx = BACKUP_CTX(inv, run);

	return ops_backup_s3_verify(&ctx, report, err);
}

static ops_code op_monitoring(struct cli_inv *inv, const ops_run *run, cJSON **report,
			      ops_error *err)
{
	ops_backup_ctx ctx = BACKUP_CTX(inv, run);

	return ops_backup_monitoring(&ctx, cli_str(inv, "destination"),
				     cli_list(inv, "components"), cli_num(inv, "retention"),
				     report, err);
}

static ops_code op_wal_push(struct cli_inv *inv, const ops_run *run, cJSON **report,
			    ops_error *err)
{
	ops_backup_ctx ctx = BACKUP_CTX(inv, run);

	return ops_backup_wal_push(&ctx, inv->args[0], err);
}

static ops_code op_wal_fetch(struct cli_inv *inv, const ops_run *run, cJSON **report,
			     ops_error *err)
{
	ops_backup_ctx ctx = BACKUP_CTX(inv, run);

	return ops_backup_wal_fetch(&ctx, inv->args[0], inv->args[1], err);
}

/* One lock for everything that adds or removes backups, so that prune can
 * never take the objects of a backup still being written. */
#define LOCK_BACKUPS "backup"

static const struct cli_opt create_opts[] = {
	OPT_CONFIG,
	CLI_OPT_ENUM('t', "type", "TYPE", "full,incr,diff,wal,all", "backup type: full, wal, or all "
		      "(full, plus WAL where archiving is set up; without it a warning, not a "
		      "failure); with backup.method = physical also incr (the files changed since "
		      "the last backup) or diff (since the last full one)", .def = "all"),
	CLI_OPT_INT('r', "retention", "DAYS", 1, 36500,
		    "keep every backup for DAYS days (weekly and monthly ones longer)",
		    .key = "backup.retention_daily"),
	OPT_S3,
	CLI_OPT_FLAG('n', "no-compress",
		     "store the archive uncompressed (backup.compression applies otherwise, zstd "
		     "by default)"),
	CLI_OPT_FLAG('v', "verify", "verify the backup's checksums after writing it (not "
		     "verbose: use --verbose)"),
	CLI_OPT_DRY_RUN("say what would be dumped where, which WAL shipped and which backups "
			"retention would remove, and write and remove nothing"),
	CLI_OPT_VERBOSE(0),
	CLI_OPT_END
};

static const struct cli_opt list_opts[] = { OPT_S3, CLI_OPT_END };

static const struct cli_opt verify_opts[] = {
	CLI_OPT_STRING('b', "backup-id", "ID", "backup ID to verify", .def = "latest",
		       .complete = CLI_C_BACKUP),
	CLI_OPT_STRING('t', "temp-db", "NAME", "temporary database name for the test restore",
		       .key = "backup.verify_temp_db"),
	CLI_OPT_FLAG(0, "keep-temp", "keep temporary database after verification"),
	CLI_OPT_FLAG(0, "checksums-only", "check every SHA-256 but do not restore"),
	OPT_S3,
	CLI_OPT_VERBOSE('v'),
	CLI_OPT_END
};

static const struct cli_opt restore_opts[] = {
	CLI_OPT_LIST('d', "database", "NAME",
		     "restore only NAME (without it, every database in the backup); repeat or "
		     "comma-separate for several", .complete = CLI_C_DATABASE),
	CLI_OPT_STRING(0, "as", "NEWDB", "restore the one database (-d NAME, or the backup's "
		       "only one) into NEWDB, a new database, or for SQLite a new file, beside "
		       "the live one, which is left alone"),
	CLI_OPT_FLAG('f', "force", "restore outside the maintenance window, without confirmation, "
		     "closing open sessions"),
	CLI_OPT_STRING(0, "datadir", "DIR", "physical backup: the new or empty data directory "
		       "to recover into (run as the user who will own it, never root)",
		       .complete = CLI_C_DIR),
	CLI_OPT_STRING(0, "target-time", "TIME", "physical backup: recover up to TIME, ISO 8601 "
		       "with a zone (2026-12-02T10:15:00Z, ...+01:00)"),
	CLI_OPT_STRING(0, "target-lsn", "LSN", "physical backup: recover up to WAL position LSN "
		       "(0/3000028)"),
	CLI_OPT_STRING(0, "target-name", "NAME", "physical backup: recover up to the restore "
		       "point NAME (pg_create_restore_point)"),
	CLI_OPT_FLAG(0, "target-immediate", "physical backup: recover only to the end of the "
		     "base backup"),
	CLI_OPT_FLAG(0, "target-exclusive", "stop just before the target, not just after it"),
	CLI_OPT_ENUM(0, "target-action", "ACTION", "pause,promote,shutdown",
		     "at the target: pause read-only (PostgreSQL's default), promote, or shutdown"),
	CLI_OPT_INT(0, "start", "PORT", 1024, 65535, "physical backup: start the recovered "
		    "server on 127.0.0.1:PORT, wait until recovery reaches its target, check it "
		    "and leave it running"),
	CLI_OPT_DRY_RUN("say what would be restored where and whether the real run would be "
			"refused, and change nothing"),
	OPT_S3,
	CLI_OPT_VERBOSE('v'),
	CLI_OPT_END
};

static const struct cli_opt prune_opts[] = {
	CLI_OPT_INT('r', "retention", "DAYS", 1, 36500, "keep every backup for DAYS days",
		    .key = "backup.retention_daily"),
	CLI_OPT_FLAG(0, "dry-run", "show what would be removed and remove nothing"),
	OPT_S3,
	CLI_OPT_VERBOSE('v'),
	CLI_OPT_END
};

static const struct cli_opt pin_opts[] = {
	CLI_OPT_FLAG(0, "unpin", "return the backup to normal retention"),
	OPT_S3,
	CLI_OPT_END
};

static const struct cli_opt monitoring_opts[] = {
	CLI_OPT_STRING('d', "destination", "DIR", "directory the archives are written to (a "
		       "directory, not a database)",
		       .key = "backup.monitoring_dir", .complete = CLI_C_DIR),
	CLI_OPT_ENUMLIST('c', "components", "LIST", "prometheus,grafana,alertmanager,all",
			 "components to back up: prometheus,grafana,alertmanager,all (not --config)",
			 .def = "all"),
	CLI_OPT_INT('r', "retention", "DAYS", 1, 36500, "number of days to keep backups", .def = "90"),
	CLI_OPT_FLAG(0, "dry-run",
		     "show which old archives retention would remove, and write and remove nothing"),
	CLI_OPT_VERBOSE('v'),
	CLI_OPT_END
};

static const struct cli_opt s3_verify_opts[] = {
	CLI_OPT_VERBOSE('v'),
	CLI_OPT_END
};

static const struct cli_opt wal_opts[] = { OPT_S3, CLI_OPT_END };

const struct cli_cmd cli_backup_subs[] = {
	{.name = "create",
	 .summary = "back up databases, WAL and configured files (backup-database.sh)",
	 .opts = create_opts,
	 .op = op_create,
	 .task = "backup",
	 .lock = LOCK_BACKUPS,
	 .flags = CLI_CHANGES | CLI_STORE,
	 .description =
	 "Performs automated database backups, as backup-database.sh (guide 000 section 8.1) and "
	 "daily_backup.sh (guide 004) do. `opsctl backup` with no subcommand is the same command.\n\n"
	 "A full backup dumps each database of backup.databases (else db.databases, else db.name) "
	 "with pg_dump in custom format, uncompressed, and streams the dumps through compression "
	 "(zstd on every core by default, gzip or none) into one tar archive in the store, hashing "
	 "every member with SHA-256 as it streams; no copy of a dump is ever written to disk. A dump "
	 "is stored as members NAME.dump/000001, NAME.dump/000002, ... of at most backup.chunk_size "
	 "bytes, so memory stays flat however large the database; `tar -xOf` writes them back to "
	 "back, which is the dump. A database of backup.parallel_threshold (1G) or more is dumped "
	 "by pg_dump -j backup.dump_jobs (default: the cores) in directory format instead: each "
	 "file is stored as the member NAME.dir/FILE as soon as pg_dump closes it and is then "
	 "deleted, so the state directory's tmp/ holds only the files being written (toc.dat is "
	 "stored last), and restore and verify gather them and run pg_restore -j on them. The rows "
	 "of every table are counted in the same snapshot the dump is taken in, on its own "
	 "connection while pg_dump runs, so a later verify can demand exact equality. SQLite databases are copied "
	 "with SQLite's online backup API. Files named by backup.include_files (guide 004: the .env "
	 "and the compose file) join the archive under files/ by their own names (spaces and "
	 "newlines included); two files of one name are refused.\n\n"
	 "What the configuration can make fail is checked before anything is dumped: an include "
	 "file that is missing or not a regular file (exit 78) or unreadable (77), a SQLite "
	 "database that cannot be opened (1), backup.method = physical with a SQLite database "
	 "(78), backup.vector_index with no index (1), Redis not answering (69).\n\n"
	 "With backup.method = physical a full backup is instead a base backup of the whole "
	 "cluster (pg_basebackup, with the WAL it needs), stored as base.tar/000001..., which with "
	 "archived WAL allows point-in-time recovery.\n\n"
	 "Physical backups can be incremental (--type incr: only the files changed since the "
	 "newest physical backup) or differential (--type diff: since the newest physical full "
	 "one), as pgBackRest's are. pg_basebackup still sends every file; opsctl stores a file "
	 "only when its size or modification time differ from the prior backup's, or that time is "
	 "not before the second the prior backup began (the server's clock), and hashes the files "
	 "it leaves out as they pass: one whose content differs from the prior's fails the backup "
	 "(exit 65, naming the file) rather than be recorded as unchanged. The manifest lists every "
	 "file of the data directory with its size, time, SHA-256 and the backup holding its "
	 "bytes, and names the prior backup. With no physical full backup to build on (or one of "
	 "another cluster, or encrypted with another key) a full backup is taken instead, with a "
	 "warning. A restore of an incremental or differential backup extracts the chain, the full "
	 "backup first, removes what the last one does not list and checks every file's size and "
	 "SHA-256; retention keeps every backup a kept one builds on.\n\n"
	 "A wal backup ships completed WAL segments: those archive_command left in "
	 "backup.wal_spool, or, without a spool, it switches to a new segment and waits until "
	 "PostgreSQL's archiver (archive_command = 'opsctl backup wal-push %p') has stored it, "
	 "failing if archiving is off or failing.\n\n"
	 "Every backup gets ID/manifest.json, written last: id, type, method, databases, server and "
	 "tool versions, start and stop times, WAL positions for physical backups, every member's "
	 "size and SHA-256, the row counts and the status, and a checksum of its own: the SHA-256 "
	 "of the file as written with the checksum's 64 digits read as zeros (check it by hand "
	 "with sed and sha256sum). A copy, ID/manifest.json.copy, is written after it. A manifest that "
	 "is missing or fails its checksum is read from its copy, with a warning; with no good "
	 "copy either, verify and restore exit 65. Manifests written before checksums existed are "
	 "still read, with a warning that they are unprotected. A backup without a complete "
	 "manifest is not a backup: it is never listed as good, and the next run removes it. "
	 "After a full backup "
	 "retention runs (see prune); in text it says how many backups it kept (the list, with "
	 "each one's reason, with --verbose and in JSON). Two backups never run at once: the "
	 "second exits 75.\n\n"
	 "With backup.encryption_key_file set, the archive is encrypted with AES-256-GCM in 64 KiB "
	 "authenticated segments before it leaves the host; the key's fingerprint is recorded in the "
	 "manifest, and a key file readable by group or others is refused.\n\n"
	 "With --dry-run nothing is written or removed and no journal line is added: the report "
	 "names the archive it would write, each database's member and current size, the other "
	 "members (files/, redis/, vector/), the leftovers of interrupted runs and the backups "
	 "retention would remove, and the WAL segments it would ship. What would certainly fail "
	 "the real run (a missing include file, a database that cannot be opened, archiving off "
	 "for --type wal) fails the dry run the same way, with the same exit status.\n\n"
	 "Progress is shown on a terminal; cron runs are silent unless something fails. Every run "
	 "appends a journal line and refreshes opsctl_backup_last_success_timestamp_seconds, "
	 "opsctl_backup_size_bytes and opsctl_backup_duration_seconds in the Prometheus textfile.",
	 .examples =
	 "Daily full backup to S3 at 1 AM (guide 000)\n0 1 * * * opsctl backup --type full --s3\n"
	 "Hourly WAL archiving\n0 * * * * opsctl backup --type wal --s3\n"
	 "A full backup, its checksums verified straight away\nopsctl backup --type full --verify\n"
	 "Physical backups: full on Sundays, incremental the other nights\n"
	 "0 1 * * 0 opsctl backup --type full\n0 1 * * 1-6 opsctl backup --type incr\n"
	 "What tonight's backup would write and remove\nopsctl backup --dry-run"},
	{.name = "list",
	 .summary = "list backups with size, duration and verification",
	 .opts = list_opts,
	 .flags = CLI_STORE,
	 .op = op_list,
	 .description =
	 "Lists every backup in the store, oldest first: id, type, time (UTC), size, duration, "
	 "status (complete, verified, verify-failed; incomplete for the leftovers of an interrupted "
	 "run, invalid for a manifest that neither it nor its copy can be read from, damaged when "
	 "a stored object is missing or its size is not the manifest's, with the reason in "
	 "\"error\"), whether it was verified and whether it is pinned. The sizes come from the "
	 "store's listing (a stat locally, the S3 listing), so a truncated archive shows without "
	 "reading it; a size S3 did not report is not counted as a difference. A damaged backup is "
	 "never the latest good one, for verify, restore or retention.",
	 .examples =
	 "Backups in S3 as JSON\nopsctl --output json backup list --s3"},
	{.name = "verify",
	 .summary = "verify a backup by checksums and a test restore (verify-db-backup.sh)",
	 .opts = verify_opts,
	 .op = op_verify,
	 .flags = CLI_CHANGES | CLI_STORE,
	 .description =
	 "Verifies a backup as verify-db-backup.sh does: the latest complete one, or -b ID. Every "
	 "archive member's SHA-256 and the stored object's SHA-256 are checked against the manifest; "
	 "each PostgreSQL database is restored with pg_restore into the temporary database (-t, "
	 "default verify_restore), its row counts compared table by table with those recorded at "
	 "backup time, and its B-tree indexes checked with amcheck where the extension is available; "
	 "SQLite copies get PRAGMA integrity_check and the same row counts. The temporary database "
	 "is dropped unless --keep-temp. The result is recorded in the manifest (verified or "
	 "verify-failed) and the journal.\n\n"
	 "The archive's members must be the manifest's, each exactly once and in the order "
	 "written: a member repeated, missing or not in the manifest is damage. "
	 "Damage exits 65 naming the member; a row-count difference or failed restore exits 1; a "
	 "verification failure never exits 0. Physical backups get the checksum pass only.",
	 .examples =
	 "Verify the latest backup\nopsctl backup verify\n"
	 "Verify one backup and keep the restored copy to look at\nopsctl backup verify -b 20261124T010000Z-full --keep-temp"},
	{.name = "restore",
	 .summary = "restore databases from a backup (restore_backup.sh), or a physical one "
		    "to a point in time",
	 .args = "ID",
	 .min_args = 1,
	 .max_args = 1,
	 .args_complete = CLI_C_BACKUP,
	 .opts = restore_opts,
	 .op = op_restore,
	 .flags = CLI_CHANGES | CLI_STORE,
	 .description =
	 "Restores the databases of backup ID, or of the newest good one with ID latest (all, or "
	 "those chosen with -d) as restore_backup.sh "
	 "(guide 004) does, but safely: each is restored with pg_restore into a new database, and "
	 "only when that succeeded are the old one renamed aside and the copy renamed to its name, "
	 "both in one transaction, and then the old one dropped; a failed or interrupted restore "
	 "leaves the old database as it was. SQLite files are written beside the original and "
	 "renamed over it. Files stored under files/ are written to STATE_DIR/restore/ID/ for "
	 "review, as the guide advises, never over the live configuration.\n\n"
	 "The archive is read once. Every member is checked against its SHA-256 as it streams "
	 "into pg_restore (or into the spool below), and the members against the manifest's list "
	 "(each once, none missing, none extra); each database goes into a copy of its own and "
	 "files are staged, and nothing is put in place before the last digest, the archive "
	 "object's, has matched: damage anywhere drops every copy and the stage (exit 65, "
	 "\"nothing was restored\"). A PostgreSQL dump of at least backup.restore_spool_min "
	 "(1G) is first spooled to an unnamed file in STATE_DIR/tmp (its free space checked; with "
	 "too little room it streams instead) and restored with pg_restore -j "
	 "backup.restore_jobs (default: one job per core); a smaller one streams into one "
	 "pg_restore, which measured as fast on 2 cores. Each restore records its time per GB "
	 "restored (restored_bytes, restore_seconds_per_gigabyte; the figures "
	 "opsctl_restore_seconds_per_gigabyte, _seconds and _bytes), as verify does for its test "
	 "restore, and `opsctl report` shows the expected restore time from them. Archive members "
	 "with absolute names, '..' or links are refused (exit 65). Runs only inside the "
	 "maintenance window or with --force, and asks for confirmation on a terminal. Temporary "
	 "databases opsctl marked as its own and left by a run that was killed are removed by the "
	 "next restore or verify; an old database left renamed aside is reported with the commands "
	 "that put it back.\n\n"
	 "A SQLite database is restored to the path its manifest records only when a configured "
	 "backup database (backup.databases, else db.databases or db.name) names that file and it "
	 "is not a protected path: the manifest's checksum shows it was not damaged, not who "
	 "wrote it. Any other path is refused (exit 65) naming it, before anything is read; "
	 "--as restores it to a file the operator names instead.\n\n"
	 "--as NEWDB restores one database (the one -d chooses, or the backup's only one) next to "
	 "the live one, which is never touched: a PostgreSQL database into the new database NEWDB "
	 "(restored as a temporary copy, then renamed, with a comment saying which backup it came "
	 "from), a SQLite database into the new file NEWDB (sqlite:PATH or PATH). A NEWDB that "
	 "exists, database or file, is refused (exit 64) and so is a protected path (77). As "
	 "nothing that exists is replaced, --as needs no maintenance window and asks nothing; "
	 "stored files are checked, not written out. The output says where it went "
	 "(restored_as).\n\n"
	 "With --dry-run the archive is not read and nothing is changed: the report names each "
	 "database, where it would go and whether that replaces a database or file that exists "
	 "(action replace or create), where stored files would go, and whether the maintenance "
	 "window would refuse the real run (a warning, exit 0). What would certainly refuse it "
	 "(a database the backup lacks, an untrusted path, an existing --as target, a missing "
	 "key) refuses the dry run with the same exit status.\n\n"
	 "POINT-IN-TIME RECOVERY. A physical backup (backup.method = physical) is the whole "
	 "cluster: --datadir DIR restores it into a new data directory, as pgBackRest's restore "
	 "--type=time does, and recovery replays archived WAL up to the target: --target-time "
	 "TIME (ISO 8601 with a zone, such as 2026-12-02T10:15:00Z or 2026-12-02 11:15:00+01:00; a "
	 "time without one is refused, exit 64, since the server would read it in its own zone), "
	 "--target-lsn LSN, --target-name NAME (a restore point made with "
	 "pg_create_restore_point) or --target-immediate (the end of the base backup itself); "
	 "with none, to the end of the archived WAL. At the target the server pauses, read-only "
	 "(--target-action pause, PostgreSQL's default), promotes or shuts down; "
	 "--target-exclusive stops just before the target instead of just after it.\n\n"
	 "DIR must be new (its parent exists) or empty: a directory with anything in it is "
	 "refused (exit 64) and so is a running server's, with postmaster.pid (exit 77), naming "
	 "it; nothing is ever emptied. Run it as the user the server will run as (postgres), "
	 "who will own DIR: as root it is refused (exit 77), since PostgreSQL does not run as "
	 "root. A target time before the backup's stop time (its manifest's) is refused naming "
	 "both times (exit 64); one after the newest archived WAL segment is a warning naming "
	 "that segment, since PostgreSQL stops where the archive ends. A target LSN before the "
	 "backup's end (pg_basebackup's backup_manifest) is refused once extracted.\n\n"
	 "base.tar is extracted with tar as it is read, each member checked against its SHA-256; "
	 "DIR gets mode 0700. Then the base backup's own postgresql.auto.conf is kept and "
	 "appended to: restore_command, which runs this opsctl by its absolute path with the "
	 "configuration file of this run (and --s3, and the store settings that came from the "
	 "environment as OPSCTL_* variables) as `backup wal-fetch %f %p`, and every "
	 "recovery_target_* setting, the unused ones empty so that none the backup carried "
	 "applies. recovery.signal is created. Damage, a refusal found while extracting or an "
	 "interruption removes everything written, and DIR itself when this run made it. Without "
	 "--start the server is not started: the output gives the command that starts it (pg_ctl "
	 "of the backup's version) and what happens then; its postgresql.conf is the original's, "
	 "so on a host where the original runs change port and archive_command first. With "
	 "--start PORT opsctl starts it itself on 127.0.0.1:PORT (no Unix socket, archive_mode "
	 "off, so it cannot meet the original server or its archive), waits until replay is "
	 "paused at the target or the server is promoted (no target, or --target-action "
	 "promote) for at most backup.recovery_timeout, asks it where replay stopped and "
	 "reports recovery.state, recovery.replayed_to and recovery.seconds; the server is left "
	 "running. A server that does not start or stops before the target (recovery ended "
	 "before the target) fails the run (exit 1) with the reason from DIR/recovery.log, and "
	 "one still replaying at the timeout is stopped; --start with --target-action shutdown is "
	 "refused (exit 64). No maintenance "
	 "window applies: nothing that exists is replaced. --dry-run checks the same, reads no "
	 "archive and reports the settings it would write.\n\n"
	 "An incremental or differential backup is restored with the backups it builds on: the "
	 "full one is extracted first, each later one's base.tar over it, in the order of the "
	 "manifests' \"prior\" (the report's \"chain\"); files the last manifest does not list "
	 "are removed, and every file's size and SHA-256 is checked against it (\"files_checked\"). "
	 "A backup of the chain that is missing, not good or damaged fails the run (exit 65) "
	 "with nothing left behind.\n\n"
	 "Without opsctl, with stock tools: stop PostgreSQL, empty the data directory, run `tar "
	 "--zstd -xOf backup.tar.zst --wildcards 'base.tar/0*' | tar -x -C DATADIR` (for an "
	 "incremental or differential backup, once per backup of its chain, the full one first, "
	 "then remove what `comm -23 <(cd DATADIR && find . -mindepth 1 -printf '%P\\n' | sort) "
	 "<(jq -r '.pgdata.files[].path' ID/manifest.json | sort)` lists), set "
	 "restore_command = 'opsctl backup wal-fetch %f %p' (and recovery_target_time) and create "
	 "DATADIR/recovery.signal, then start it.",
	 .examples =
	 "Restore one database from a backup, now\nopsctl backup restore 20261124T010000Z-full -d chatbot_db --force\n"
	 "Bring back yesterday's chatbot_db beside the live one, to copy rows from\n"
	 "opsctl backup restore latest -d chatbot_db --as chatbot_db_yesterday\n"
	 "See what a restore would replace\nopsctl backup restore latest --dry-run\n"
	 "Recover the cluster as it was at 10:15 UTC into a new data directory, as postgres\n"
	 "runuser -u postgres -- opsctl backup restore latest --datadir /var/lib/postgresql/15/pitr "
	 "--target-time 2026-12-02T10:15:00Z"},
	{.name = "prune",
	 .summary = "apply retention to backups and WAL",
	 .opts = prune_opts,
	 .op = op_prune,
	 .lock = LOCK_BACKUPS,
	 .flags = CLI_CHANGES | CLI_STORE,
	 .description =
	 "Applies retention (guide 000 section 5.1): every backup younger than "
	 "backup.retention_daily (30 days, or -r DAYS) is kept; beyond that the newest of each ISO "
	 "week is kept for backup.retention_weekly (90 days) and the newest of each month for "
	 "backup.retention_monthly (1 year). Never removed: pinned backups, the newest good backup, a "
	 "backup whose verification failed while no newer good one exists, and the WAL the oldest "
	 "kept physical backup needs. Leftovers of interrupted runs are removed. --dry-run shows "
	 "what would go. `opsctl backup create` runs this after every full backup.",
	 .examples =
	 "See what retention would remove\nopsctl backup prune --dry-run"},
	{.name = "pin",
	 .summary = "keep a backup out of retention",
	 .args = "ID",
	 .min_args = 1,
	 .max_args = 1,
	 .args_complete = CLI_C_BACKUP,
	 .opts = pin_opts,
	 .op = op_pin,
	 .lock = LOCK_BACKUPS,
	 .flags = CLI_CHANGES | CLI_STORE,
	 .description =
	 "Marks backup ID (latest: the newest good one) as pinned in its manifest, so that "
	 "retention never removes it (like WAL-G's permanent backups); --unpin returns it to "
	 "normal retention.",
	 .examples =
	 "Keep the backup taken before a migration\nopsctl backup pin 20261124T010000Z-full"},
	{.name = "monitoring",
	 .summary = "back up Prometheus, Grafana and Alertmanager configuration",
	 .opts = monitoring_opts,
	 .op = op_monitoring,
	 .flags = CLI_CHANGES,
	 .description =
	 "Backs up monitoring configuration as backup-monitoring-config.sh does: each chosen "
	 "component's directory (backup.monitoring_paths) becomes DIR/monitoring_COMPONENT_"
	 "YYYYMMDDTHHMMSSZ.tar.zst (UTC, as backup ids) with a sha256sum-format .sha256 file beside "
	 "it, and archives older than the retention period are removed, those named in local time "
	 "by earlier versions (monitoring_COMPONENT_YYYYMMDD_HHMMSS.tar.zst) included. A configured "
	 "directory that is missing is reported and makes the run exit 1 after the others are "
	 "done.\n\n"
	 "With --dry-run nothing is written or removed, not even DIR: the report names each "
	 "archive it would write, whether DIR would be created, and what retention would remove.",
	 .examples =
	 "Back up all monitoring configuration\nopsctl backup monitoring -d /var/backups/monitoring"},
	{.name = "s3-verify",
	 .summary = "check S3 versioning and read back the newest backup (verify-s3-backup.sh)",
	 .opts = s3_verify_opts,
	 .op = op_s3_verify,
	 .flags = CLI_CHANGES | CLI_STORE | CLI_STORE_S3,
	 .description =
	 "Checks the S3 store as verify-s3-backup.sh does: that bucket versioning is enabled (so a "
	 "deleted or overwritten backup can be recovered) and that every object of the newest "
	 "backup can be read back and matches its SHA-256. Exit 1 when versioning is off, 65 on "
	 "damage, 69 when S3 is unreachable.",
	 .examples =
	 "Weekly check of the S3 copies\nopsctl backup s3-verify"},
	{.name = "wal-push",
	 .summary = "store one WAL segment (archive_command)",
	 .args = "PATH",
	 .min_args = 1,
	 .max_args = 1,
	 .args_complete = CLI_C_FILE,
	 .opts = wal_opts,
	 .op = op_wal_push,
	 .flags = CLI_CHANGES | CLI_STORE,
	 .description =
	 "Stores the WAL segment at PATH as wal/NAME.zst with a record of its SHA-256, for "
	 "PostgreSQL's archive_command. It exits 0 only once both are durably stored, so PostgreSQL "
	 "retries anything else; a segment already stored with the same content succeeds, one "
	 "stored with different content fails.",
	 .examples =
	 "postgresql.conf\narchive_command = 'opsctl backup wal-push --s3 %p'"},
	{.name = "wal-fetch",
	 .summary = "fetch one WAL segment (restore_command)",
	 .args = "NAME DEST",
	 .min_args = 2,
	 .max_args = 2,
	 .opts = wal_opts,
	 .op = op_wal_fetch,
	 .flags = CLI_CHANGES | CLI_STORE,
	 .description =
	 "Fetches WAL segment NAME into DEST, checked against its SHA-256, for PostgreSQL's "
	 "restore_command. A segment that is not stored exits 1, which tells PostgreSQL the archive "
	 "has no more.",
	 .examples =
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
	"pg_restore -d newdb` restores a database without opsctl; a directory-format one (NAME.dir/, "
	"see backup.parallel_threshold) with `tar --zstd -xf backup.tar.zst -C DIR chatbot_db.dir && "
	"pg_restore -j 2 -d newdb DIR/chatbot_db.dir`.\n\n"
	"S3 (-s/--s3) uses [s3] in opsctl.conf: bucket, prefix, region and endpoint (for "
	"S3-compatible stores). Credentials come from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
	"(and AWS_SESSION_TOKEN) or the AWS credentials file, never from the command line. Requests "
	"are signed with AWS SigV4; large archives go up in multipart uploads whose every part's "
	"ETag is checked; 5xx answers, 429 and timeouts are retried with backoff.\n\n"
	"RESTORING A PHYSICAL BACKUP: `opsctl backup restore ID --datadir DIR [--target-time "
	"TIME]`, run as the server's user, writes a new data directory ready for point-in-time "
	"recovery and prints the command that starts it (see opsctl-backup-restore(1)). With "
	"stock tools instead: stop PostgreSQL, empty the data directory, run `tar --zstd -xOf "
	"backup.tar.zst --wildcards 'base.tar/0*' | tar -x -C DATADIR` (once per backup of an "
	"incremental one's chain, the full one first; see opsctl-backup-restore(1)), set "
	"restore_command = "
	"'opsctl backup wal-fetch %f %p' (and recovery_target_time = 'TIME') and create "
	"DATADIR/recovery.signal, then start it.";
