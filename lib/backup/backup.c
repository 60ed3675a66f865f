/*
 * Taking backups (backup-database.sh, daily_backup.sh) and retention; what
 * is in the store, listing and pins are the catalog's (backup_catalog.c),
 * which verify reads too, so neither calls the other.  The order of a run
 * is what makes it trustworthy: partial leftovers of a killed run are
 * removed first (we hold the backup lock, so nothing else is writing), the
 * archive is committed, and only then the manifest; a crash or a cancel
 * anywhere leaves no manifest, so no backup that could be mistaken for a
 * good one.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backup/backup_internal.h"
#include "opsmaint/clock.h"
#include "opsmaint/db.h"
#include "opsmaint/fileio.h"
#include "opsmaint/log.h"
#include "opsmaint/proc.h"

#define WAL_PREFIX "wal/"

ops_code ops_backup_open_store(const ops_config *cfg, int s3, ops_store **out,
			       ops_error *err)
{
	const char *dir = ops_config_get(cfg, "backup.dir");
	char *path;
	ops_code rc;

	if (s3)
		return ops_store_open_s3(cfg, out, err);
	if (dir && *dir)
		return ops_store_open_local(dir, out, err);
	path = ops_path_join(ops_config_get(cfg, "general.state_dir"), "backups/store");
	if (!path)
		return ops_error_oom(err);
	rc = ops_store_open_local(path, out, err);
	free(path);
	return rc;
}

static const char *archive_suffix(const char *compression)
{
	if (strcmp(compression, "zstd") == 0)
		return ".tar.zst";
	if (strcmp(compression, "gzip") == 0)
		return ".tar.gz";
	return ".tar";
}

/* ---- one PostgreSQL database into the archive ---- */

struct full_run {
	const ops_backup_ctx *ctx;
	ops_manifest *m;
	ops_archive_writer *aw;
	cJSON *dbs;
	const char *object;	/* the archive's key */
	size_t chunk;
	const ops_manifest *prior;	/* physical incr/diff: what it builds on */
};

static ops_code count_rows(ops_db *db, const char *dbname, ops_manifest *m, ops_error *err)
{
	/* Every ordinary table outside the system schemas, named and counted
	 * through format(%I) on the server: no identifier is ever quoted here. */
	static const char sql[] =
		"SELECT pg_catalog.format('%I.%I', n.nspname, c.relname),"
		" pg_catalog.format('SELECT pg_catalog.count(*) FROM %I.%I', n.nspname, c.relname)"
		" FROM pg_catalog.pg_class c"
		" JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
		" WHERE c.relkind = 'r' AND n.nspname <> 'information_schema'"
		" AND n.nspname !~ '^pg_' ORDER BY 1";
	ops_rows *rows = NULL;
	ops_code rc = ops_db_query(db, sql, 0, NULL, &rows, err);
	int i;

	for (i = 0; rc == OPS_OK && i < ops_rows_count(rows); i++) {
		ops_rows *c = NULL;
		long long count = 0;

		rc = ops_db_query(db, ops_rows_value(rows, i, 1), 0, NULL, &c, err);
		if (rc == OPS_OK)
			rc = ops_rows_int64(c, 0, 0, &count, err);
		if (rc == OPS_OK)
			rc = ops_manifest_add_table(m, dbname, ops_rows_value(rows, i, 0),
						    count, err);
		ops_rows_free(c);
	}
	ops_rows_free(rows);
	return rc;
}

/*
 * The row counts run on the connection that exported the dump's snapshot,
 * in a thread of their own while pg_dump streams: the same snapshot, so the
 * counts are exact for what the dump holds (a row committed after it is in
 * neither), and the extra scan per table overlaps the dump instead of
 * delaying its start.  The main thread does not touch the connection until
 * the thread is joined.
 */
struct row_counter {
	ops_db *db;
	const char *dbname;
	ops_manifest *m;
	ops_code rc;
	ops_error err;
	pthread_t th;
	int started;
};

static void *row_counter_main(void *arg)
{
	struct row_counter *c = arg;

	ops_error_clear(&c->err);
	c->rc = count_rows(c->db, c->dbname, c->m, &c->err);
	return NULL;
}

static ops_code row_counter_start(struct row_counter *c, ops_error *err)
{
	if (pthread_create(&c->th, NULL, row_counter_main, c) != 0)
		return ops_error_set(err, OPS_EINTERNAL, "cannot start the row-count thread");
	c->started = 1;
	return OPS_OK;
}

/* The counts' outcome; rc is the caller's so far, kept when it failed first. */
static ops_code row_counter_join(struct row_counter *c, ops_code rc, ops_error *err)
{
	if (!c->started)
		return rc;
	pthread_join(c->th, NULL);
	c->started = 0;
	if (rc == OPS_OK && c->rc != OPS_OK) {
		*err = c->err;
		rc = c->rc;
	}
	return rc;
}

static ops_code counter_started(void *arg, ops_error *err)
{
	return row_counter_start(arg, err);
}

static ops_code add_db_name(ops_manifest *m, const char *name, ops_error *err)
{
	size_t n = ops_strv_len(m->databases);
	char **grown = realloc(m->databases, (n + 2) * sizeof *grown);

	if (!grown)
		return ops_error_oom(err);
	m->databases = grown;
	grown[n] = strdup(name);
	grown[n + 1] = NULL;
	return grown[n] ? OPS_OK : ops_error_oom(err);
}

static ops_code dump_postgres(struct full_run *run, const char *target, ops_error *err)
{
	const ops_config *cfg = run->ctx->run->cfg;
	ops_db *db = NULL;
	ops_rows *rows = NULL;
	ops_proc *proc = NULL;
	char **env = NULL, *stem = NULL, member[600], snapshot[128] = "", dbname[256] = "";
	char *argv[12];
	int argc = 0, fd = -1, is_uri = strstr(target, "://") != NULL;
	long long total = 0;
	double t0 = ops_clock();
	struct row_counter counter;
	long long dbsize = 0;
	long threshold;
	int jobs = 0;
	ops_code rc;
	cJSON *rep = cJSON_CreateObject();

	memset(&counter, 0, sizeof counter);
	if (!rep)
		return ops_error_oom(err);
	rc = ops_db_open(cfg, target, &db, err);
	if (rc != OPS_OK) {
		cJSON_Delete(rep);
		return rc;
	}
	/* The dump and the row counts share one snapshot, so verify can
	 * demand exact equality. */
	rc = ops_db_exec(db, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", err);
	if (rc == OPS_OK)
		rc = ops_db_query(db, "SELECT pg_catalog.pg_export_snapshot(),"
				  " pg_catalog.current_database(),"
				  " pg_catalog.current_setting('server_version'),"
				  " pg_catalog.pg_database_size(pg_catalog.current_database())",
				  0, NULL, &rows, err);
	if (rc == OPS_OK)
		rc = ops_rows_int64(rows, 0, 3, &dbsize, err);
	if (rc != OPS_OK)
		goto out;
	snprintf(snapshot, sizeof snapshot, "--snapshot=%s", ops_rows_value(rows, 0, 0));
	snprintf(dbname, sizeof dbname, "%s", ops_rows_value(rows, 0, 1));
	if (!run->m->server_version)
		ops_manifest_set(&run->m->server_version, ops_rows_value(rows, 0, 2), err);
	stem = bk_member_stem(dbname);
	env = bk_pg_env(cfg, is_uri ? NULL : target);
	if (!stem || !env) {
		rc = ops_error_oom(err);
		goto out;
	}
	counter.db = db;
	counter.dbname = dbname;
	counter.m = run->m;
	threshold = ops_config_int(cfg, "backup.parallel_threshold");
	if (threshold > 0 && dbsize >= threshold) {
		jobs = bk_jobs(cfg, "backup.dump_jobs");
		snprintf(member, sizeof member, "%s.dir", stem);
		ops_log_info("dumping database '%s' (%lld bytes) with pg_dump -j %d", dbname,
			     dbsize, jobs);
		rc = bk_dump_dir(cfg, run->aw, stem, target, snapshot, jobs, &total,
				 counter_started, &counter, err);
		rc = row_counter_join(&counter, rc, err);
		goto dumped;
	}
	snprintf(member, sizeof member, "%s.dump", stem);
	argv[argc++] = "pg_dump";
	argv[argc++] = "--format=custom";
	argv[argc++] = "--compress=0";	/* the archive compresses, once */
	argv[argc++] = snapshot;
	argv[argc++] = "--no-password";
	if (is_uri) {
		argv[argc++] = "--dbname";
		argv[argc++] = (char *)target;
	}
	argv[argc] = NULL;
	ops_log_info("dumping database '%s'", dbname);
	rc = ops_proc_start(ops_config_get(cfg, "backup.pg_bindir"), argv, env,
			    OPS_PROC_PIPE_OUT, NULL, &fd, &proc, err);
	if (rc != OPS_OK)
		goto out;
	rc = row_counter_start(&counter, err);
	if (rc == OPS_OK)
		rc = ops_archive_add_stream(run->aw, member, fd, run->chunk, &total, err);
	close(fd);
	if (rc != OPS_OK) {
		ops_proc_kill(proc);
		rc = row_counter_join(&counter, rc, err);
		goto out;
	}
	rc = ops_proc_wait(proc, err);
	rc = row_counter_join(&counter, rc, err);
dumped:
	if (rc == OPS_OK && total == 0)
		rc = ops_error_set(err, OPS_EFAIL, "pg_dump of '%s' wrote nothing", dbname);
	if (rc != OPS_OK)
		goto out;
	rc = ops_db_exec(db, "COMMIT", err);
	cJSON_AddStringToObject(rep, "database", dbname);
	cJSON_AddStringToObject(rep, "engine", "postgresql");
	cJSON_AddStringToObject(rep, "member", member);
	cJSON_AddStringToObject(rep, "format", jobs ? "directory" : "custom");
	if (jobs)
		cJSON_AddNumberToObject(rep, "dump_jobs", jobs);
	cJSON_AddNumberToObject(rep, "size_bytes", (double)total);
	cJSON_AddNumberToObject(rep, "duration_seconds", ops_clock() - t0);
	cJSON_AddItemToArray(run->dbs, rep);
	rep = NULL;
	if (rc == OPS_OK)
		rc = add_db_name(run->m, dbname, err);
out:
	cJSON_Delete(rep);
	ops_rows_free(rows);
	ops_db_close(db);
	ops_strv_free(env);
	free(stem);
	return rc;
}

/* Row counts of the copy itself: what the archive holds, exactly. */
static ops_code count_sqlite(const ops_config *cfg, const char *copy, const char *dbname,
			     ops_manifest *m, ops_error *err)
{
	ops_db *db = NULL;
	ops_rows *rows = NULL;
	char *target = NULL;
	ops_code rc;
	int i;

	if (asprintf(&target, "sqlite:%s", copy) < 0)
		return ops_error_oom(err);
	rc = ops_db_open(cfg, target, &db, err);
	free(target);
	if (rc == OPS_OK)
		rc = ops_db_query(db, "SELECT name FROM sqlite_master WHERE type = 'table'"
				  " AND name NOT LIKE 'sqlite_%' ORDER BY name",
				  0, NULL, &rows, err);
	for (i = 0; rc == OPS_OK && i < ops_rows_count(rows); i++) {
		char *q = ops_db_quote_ident(db, ops_rows_value(rows, i, 0)), *sql = NULL;
		ops_rows *c = NULL;
		long long count = 0;

		if (!q || asprintf(&sql, "SELECT count(*) FROM %s", q) < 0) {
			free(q);
			rc = ops_error_oom(err);
			break;
		}
		rc = ops_db_query(db, sql, 0, NULL, &c, err);
		if (rc == OPS_OK)
			rc = ops_rows_int64(c, 0, 0, &count, err);
		if (rc == OPS_OK)
			rc = ops_manifest_add_table(m, dbname, ops_rows_value(rows, i, 0),
						    count, err);
		ops_rows_free(c);
		free(sql);
		free(q);
	}
	ops_rows_free(rows);
	ops_db_close(db);
	return rc;
}

static ops_code dump_sqlite(struct full_run *run, const char *target, ops_error *err)
{
	const ops_config *cfg = run->ctx->run->cfg;
	ops_db *db = NULL;
	char *tmpdir = NULL, *tmp = NULL, *base, *stem = NULL, member[600];
	double t0 = ops_clock();
	ops_code rc = ops_db_open(cfg, target, &db, err);
	struct stat st;
	cJSON *rep;

	if (rc != OPS_OK)
		return rc;
	base = strrchr(ops_db_path(db), '/');
	base = base ? base + 1 : (char *)ops_db_path(db);
	stem = bk_member_stem(base);
	tmpdir = ops_path_join(ops_config_get(cfg, "general.state_dir"), "tmp");
	if (!stem || !tmpdir || asprintf(&tmp, "%s/sqlite-%ld.db", tmpdir, (long)getpid()) < 0) {
		tmp = NULL;
		rc = ops_error_oom(err);
		goto out;
	}
	if ((rc = ops_mkdir_p(tmpdir, 0700, err)) != OPS_OK)
		goto out;
	unlink(tmp);	/* a leftover of a killed run with our pid */
	rc = ops_db_sqlite_copy(db, tmp, err);
	if (rc == OPS_OK)
		rc = count_sqlite(cfg, tmp, ops_db_path(db), run->m, err);
	if (rc != OPS_OK)
		goto out;
	snprintf(member, sizeof member, "%s", stem);
	/* Always ending in ".db", which is how verify and restore know a
	 * SQLite member ("hub.db3" becomes "hub.db3.db"). */
	if (strlen(member) < 3 || strcmp(member + strlen(member) - 3, ".db") != 0)
		strncat(member, ".db", sizeof member - strlen(member) - 1);
	rc = ops_archive_add_file(run->aw, member, tmp, err);
	if (rc != OPS_OK)
		goto out;
	rc = add_db_name(run->m, ops_db_path(db), err);
	rep = cJSON_CreateObject();
	cJSON_AddStringToObject(rep, "database", ops_db_path(db));
	cJSON_AddStringToObject(rep, "engine", "sqlite");
	cJSON_AddStringToObject(rep, "member", member);
	cJSON_AddNumberToObject(rep, "size_bytes", stat(tmp, &st) == 0 ? (double)st.st_size : 0);
	cJSON_AddNumberToObject(rep, "duration_seconds", ops_clock() - t0);
	cJSON_AddItemToArray(run->dbs, rep);
out:
	if (tmp)
		unlink(tmp);
	free(tmp);
	free(tmpdir);
	free(stem);
	ops_db_close(db);
	return rc;
}

/* The WAL file name holding an LSN, asked of the server (it knows the
 * segment size and timeline). */
static ops_code walfile_of(ops_db *db, const char *lsn, char **out, ops_error *err)
{
	const char *params[1] = {lsn};
	ops_rows *rows = NULL;
	ops_code rc = ops_db_query(db, "SELECT pg_catalog.pg_walfile_name($1::pg_catalog.pg_lsn)",
				   1, params, &rows, err);

	*out = NULL;
	if (rc == OPS_OK && !(*out = strdup(ops_rows_value(rows, 0, 0))))
		rc = ops_error_oom(err);
	ops_rows_free(rows);
	return rc;
}

/* "write-ahead log start point: 0/2000028 on timeline 1" -> "0/2000028" */
static int find_lsn(const char *text, const char *what, char *lsn, size_t len)
{
	const char *p = strstr(text, what);

	if (!p)
		return 0;
	p += strlen(what);
	while (*p == ' ')
		p++;
	snprintf(lsn, len, "%.*s", (int)strcspn(p, " \n"), p);
	return *lsn != '\0';
}

/* backup.method = physical: the whole cluster with pg_basebackup, its tar
 * stream stored as base.tar/000001..., with the WAL it needs (-X fetch). */
static ops_code dump_physical(struct full_run *run, const char *target, ops_error *err)
{
	const ops_config *cfg = run->ctx->run->cfg;
	char *argv[] = {"pg_basebackup", "--pgdata=-", "--format=tar", "--wal-method=fetch",
			"--checkpoint=fast", "--verbose", "--no-password", NULL, NULL, NULL};
	char **env = NULL, lsn[64], *seg = NULL;
	ops_proc *proc = NULL;
	ops_db *db = NULL;
	ops_rows *rows = NULL;
	long long total = 0;
	int fd = -1, is_uri = strstr(target, "://") != NULL;
	double t0 = ops_clock();
	ops_code rc;
	cJSON *rep = NULL;

	rc = ops_db_open(cfg, target, &db, err);
	/* The server's clock before the copy begins: the next incremental
	 * copies every file modified at or after this second. */
	if (rc == OPS_OK)
		rc = ops_db_query(db, "SELECT pg_catalog.current_setting('server_version'),"
				  " (SELECT system_identifier::text FROM pg_catalog.pg_control_system()),"
				  " extract(epoch FROM pg_catalog.clock_timestamp())::text",
				  0, NULL, &rows, err);
	if (rc != OPS_OK)
		goto out;
	if (ops_manifest_set(&run->m->server_version, ops_rows_value(rows, 0, 0), err) != OPS_OK ||
	    ops_manifest_set(&run->m->system_id, ops_rows_value(rows, 0, 1), err) != OPS_OK) {
		rc = err->code;
		goto out;
	}
	run->m->clock_start = strtod(ops_rows_value(rows, 0, 2), NULL);
	if (run->prior && strcmp(run->prior->system_id, run->m->system_id) != 0) {
		rc = ops_error_set(err, OPS_EFAIL, "the server is no longer the cluster backup "
				   "%s was taken of (system identifier %s, now %s)", run->prior->id,
				   run->prior->system_id, run->m->system_id);
		goto out;
	}
	if (is_uri) {
		argv[7] = "--dbname";
		argv[8] = (char *)target;
	}
	env = bk_pg_env(cfg, NULL);
	if (!env) {
		rc = ops_error_oom(err);
		goto out;
	}
	if (run->prior)
		ops_log_info("taking a base backup of the cluster, storing the files changed "
			     "since backup %s", run->prior->id);
	else
		ops_log_info("taking a base backup of the cluster");
	rc = ops_proc_start(ops_config_get(cfg, "backup.pg_bindir"), argv, env,
			    OPS_PROC_PIPE_OUT, NULL, &fd, &proc, err);
	if (rc != OPS_OK)
		goto out;
	rep = cJSON_CreateObject();
	rc = rep ? bk_physical_copy(run->aw, "base.tar", fd, ops_proc_pid(proc), run->chunk, run->m,
				    run->prior, rep, &total, err) : ops_error_oom(err);
	close(fd);
	if (rc != OPS_OK) {
		ops_proc_kill(proc);
		goto out;
	}
	if (find_lsn(ops_proc_stderr(proc), "write-ahead log start point:", lsn, sizeof lsn) &&
	    walfile_of(db, lsn, &seg, err) == OPS_OK) {
		run->m->wal_start = seg;
		seg = NULL;
	}
	if (find_lsn(ops_proc_stderr(proc), "write-ahead log end point:", lsn, sizeof lsn) &&
	    walfile_of(db, lsn, &seg, err) == OPS_OK) {
		run->m->wal_stop = seg;
		seg = NULL;
	}
	rc = ops_proc_wait(proc, err);
	if (rc != OPS_OK)
		goto out;
	if (!run->m->wal_start || !run->m->wal_stop) {
		rc = ops_error_set(err, OPS_EFAIL,
				   "pg_basebackup did not report its WAL start and end points");
		goto out;
	}
	rc = add_db_name(run->m, "(cluster)", err);
	cJSON_AddStringToObject(rep, "database", "(cluster)");
	cJSON_AddStringToObject(rep, "engine", "postgresql");
	cJSON_AddStringToObject(rep, "member", "base.tar");
	cJSON_AddNumberToObject(rep, "size_bytes", (double)total);
	cJSON_AddStringToObject(rep, "wal_start", run->m->wal_start);
	cJSON_AddStringToObject(rep, "wal_stop", run->m->wal_stop);
	cJSON_AddNumberToObject(rep, "duration_seconds", ops_clock() - t0);
	cJSON_AddItemToArray(run->dbs, rep);
	rep = NULL;
out:
	cJSON_Delete(rep);
	ops_rows_free(rows);
	ops_db_close(db);
	ops_strv_free(env);
	free(seg);
	return rc;
}

/* Guide 001: the vector index snapshot beside the databases it indexes
 * (its presence checked by preflight). */
static ops_code add_vector_index(struct full_run *run, ops_error *err)
{
	const char *path = ops_config_get(run->ctx->run->cfg, "vector.index_path");
	char *mpath = NULL;
	ops_code rc;

	if (!ops_config_bool(run->ctx->run->cfg, "backup.vector_index"))
		return OPS_OK;
	rc = ops_archive_add_file(run->aw, "vector/index.faiss", path, err);
	if (rc == OPS_OK && asprintf(&mpath, "%s.manifest.json", path) >= 0 &&
	    access(mpath, R_OK) == 0)
		rc = ops_archive_add_file(run->aw, "vector/index.faiss.manifest.json", mpath, err);
	free(mpath);
	return rc;
}

/* "files/BASE": the member a file of backup.include_files becomes. */
static ops_code include_member(const char *file, char *member, size_t len, ops_error *err)
{
	const char *base = strrchr(file, '/');

	base = base ? base + 1 : file;
	if ((size_t)snprintf(member, len, "files/%s", base) >= len ||
	    !ops_archive_path_safe(member))
		return ops_error_set(err, OPS_ECONFIG, "backup.include_files: '%s' does not "
				     "name a file", file);
	return OPS_OK;
}

static ops_code add_files(struct full_run *run, ops_error *err)
{
	char **files = ops_config_list(run->ctx->run->cfg, "backup.include_files");
	ops_code rc = OPS_OK;
	size_t i;

	for (i = 0; rc == OPS_OK && files && files[i]; i++) {
		char member[600];

		rc = include_member(files[i], member, sizeof member, err);
		if (rc == OPS_OK)
			rc = ops_archive_add_file(run->aw, member, files[i], err);
	}
	ops_strv_free(files);
	return rc;
}

/* A file the backup will read: there, a regular file, readable by us.
 * Missing or not a file is the configuration's fault (78); unreadable is
 * a permission (77). */
static ops_code readable_file(const char *key, const char *path, ops_error *err)
{
	struct stat st;
	int fd;

	if (stat(path, &st) != 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return ops_error_set(err, OPS_ECONFIG, "%s: '%s' does not exist", key,
					     path);
		return ops_error_errno(err, errno, "cannot read", path);
	}
	if (!S_ISREG(st.st_mode))
		return ops_error_set(err, OPS_ECONFIG, "%s: '%s' is not a regular file", key,
				     path);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ops_error_errno(err, errno, "cannot read", path);
	close(fd);
	return OPS_OK;
}

/*
 * Everything the configuration can make a backup fail on, checked before
 * the first byte is dumped: a backup that would fail after an hour of
 * pg_dump fails now, with the exit status of its cause.  What only the
 * dump itself can find (a server refusing, a full disk) is left to it.
 */
static ops_code preflight(const ops_backup_ctx *ctx, char **targets, int physical,
			  ops_error *err)
{
	const ops_config *cfg = ctx->run->cfg;
	char **files = ops_config_list(cfg, "backup.include_files");
	const char *redis = ops_config_get(cfg, "backup.redis_url");
	ops_code rc = OPS_OK;
	size_t i, j;

	for (i = 0; rc == OPS_OK && targets[i]; i++) {
		ops_db_kind kind;
		char *path = NULL;

		rc = ops_db_target_kind(targets[i], &kind, &path, err);
		if (rc == OPS_OK && kind == OPS_DB_SQLITE && physical)
			rc = ops_error_set(err, OPS_ECONFIG, "backup.method = physical backs up a "
					   "PostgreSQL cluster; '%s' is a SQLite database",
					   targets[i]);
		/* Opened as the copy will open it: the same error, the same
		 * exit, before the first database is dumped rather than after. */
		if (rc == OPS_OK && kind == OPS_DB_SQLITE) {
			ops_db *db = NULL;

			rc = ops_db_open(cfg, targets[i], &db, err);
			ops_db_close(db);
		}
		free(path);
	}
	for (i = 0; rc == OPS_OK && files && files[i]; i++) {
		char member[600], other[600];

		rc = include_member(files[i], member, sizeof member, err);
		if (rc == OPS_OK)
			rc = readable_file("backup.include_files", files[i], err);
		/* Two files of one name would be one member twice, which no
		 * verify could tell apart. */
		for (j = 0; rc == OPS_OK && j < i; j++)
			if (include_member(files[j], other, sizeof other, err) == OPS_OK &&
			    strcmp(member, other) == 0)
				rc = ops_error_set(err, OPS_ECONFIG, "backup.include_files: '%s' "
						   "and '%s' would both be stored as '%s'",
						   files[j], files[i], member);
	}
	ops_strv_free(files);
	if (rc == OPS_OK && ops_config_bool(cfg, "backup.vector_index")) {
		const char *path = ops_config_get(cfg, "vector.index_path");

		if (!path || access(path, R_OK) != 0)
			rc = ops_error_set(err, OPS_EFAIL, "backup.vector_index is set but there "
					   "is no index at '%s'", path ? path : "");
	}
	if (rc == OPS_OK && redis && *redis)
		rc = bk_redis_check(cfg, err);
	return rc;
}

/* Backup ids sort by time: "20261124T010000Z-full" (kind "incr" and
 * "diff" for physical incremental and differential ones); a later backup
 * in the same second gets "-2", "-3", ..., numbered across kinds, so that
 * "S-diff-2" sorts after the "S-full" it builds on. */
static ops_code new_id(const ops_backup_ctx *ctx, double start, const char *kind, char *id,
		       size_t len, ops_error *err)
{
	static const char *const kinds[] = {"full", "incr", "diff", NULL};
	char stamp[32];
	int n, k;

	ops_time_stamp((time_t)start, stamp);
	for (n = 1; n < 100; n++) {
		int used = 0;

		for (k = 0; kinds[k] && !used; k++) {
			ops_store_entry *e = NULL;
			size_t count = 0;
			char prefix[160];

			if (n == 1)
				snprintf(prefix, sizeof prefix, "%s-%s/", stamp, kinds[k]);
			else
				snprintf(prefix, sizeof prefix, "%s-%s-%d/", stamp, kinds[k], n);
			if (ops_store_list(ctx->store, prefix, &e, &count, err) != OPS_OK)
				return err->code;
			ops_store_entries_free(e, count);
			used = count > 0;
		}
		if (used)
			continue;
		if (n == 1)
			snprintf(id, len, "%s-%s", stamp, kind);
		else
			snprintf(id, len, "%s-%s-%d", stamp, kind, n);
		return OPS_OK;
	}
	return ops_error_set(err, OPS_EFAIL, "no free backup id for %s", stamp);
}

char **bk_backup_targets(const ops_config *cfg, ops_error *err)
{
	char **list = ops_config_list(cfg, "backup.databases"), **targets = NULL;

	if (list && list[0])
		return list;
	ops_strv_free(list);
	if (ops_db_targets(cfg, NULL, &targets, err) != OPS_OK)
		return NULL;
	return targets;
}

/*
 * What a run of type incr or diff takes: the same with the prior backup it
 * builds on, or, when there is none it can build on, a full backup with a
 * warning saying why (pgBackRest does the same), so that the first nightly
 * incremental after setting up a store is not a failure.
 */
static ops_code resolve_kind(const ops_backup_ctx *ctx, const char *type, const char *target,
			     const char *key_id, const char **kind, ops_manifest **prior,
			     ops_error *err)
{
	ops_db *db = NULL;
	ops_rows *rows = NULL;
	char why[512];
	ops_code rc;

	*kind = "full";
	*prior = NULL;
	if (strcmp(type, "incr") != 0 && strcmp(type, "diff") != 0)
		return OPS_OK;
	rc = ops_db_open(ctx->run->cfg, target, &db, err);
	if (rc == OPS_OK)
		rc = ops_db_query(db, "SELECT system_identifier::text FROM "
				  "pg_catalog.pg_control_system()", 0, NULL, &rows, err);
	if (rc == OPS_OK)
		rc = bk_physical_prior(ctx, type, ops_rows_value(rows, 0, 0), key_id, prior, why,
				       sizeof why, err);
	if (rc == OPS_OK && *prior)
		*kind = type;
	else if (rc == OPS_OK)
		ops_log_warn("%s; taking a full backup instead of %s one", why,
			     strcmp(type, "incr") == 0 ? "an incremental" : "a differential");
	ops_rows_free(rows);
	ops_db_close(db);
	return rc;
}

/* Every member of a full backup into run->aw, which is then closed. */
static ops_code fill_archive(struct full_run *run, char **targets, int physical, cJSON *report,
			     ops_error *err)
{
	const ops_config *cfg = run->ctx->run->cfg;
	const char *redis = ops_config_get(cfg, "backup.redis_url");
	ops_code rc = OPS_OK;
	size_t i;

	if (physical)
		rc = dump_physical(run, targets[0], err);
	for (i = 0; !physical && rc == OPS_OK && targets[i]; i++) {
		ops_db_kind kind;
		char *path = NULL;

		if ((rc = ops_cancel_check(err)) != OPS_OK)
			break;
		rc = ops_db_target_kind(targets[i], &kind, &path, err);
		free(path);
		if (rc == OPS_OK)
			rc = kind == OPS_DB_SQLITE ? dump_sqlite(run, targets[i], err)
						   : dump_postgres(run, targets[i], err);
	}
	if (rc == OPS_OK)
		rc = add_files(run, err);
	if (rc == OPS_OK)
		rc = add_vector_index(run, err);
	if (rc == OPS_OK && redis && *redis) {
		char *rdb = NULL;

		rc = bk_redis_snapshot(cfg, &rdb, report, err);
		if (rc == OPS_OK)
			rc = ops_archive_add_file(run->aw, "redis/dump.rdb", rdb, err);
		free(rdb);
	}
	if (rc == OPS_OK)
		rc = ops_archive_writer_close(run->aw, err);
	return rc;
}

/* The manifest a full backup starts with: everything but its contents. */
static ops_code start_manifest(struct full_run *run, const char *id, const char *kind,
			       double start, int physical, const char *compression,
			       const unsigned char *key, ops_error *err)
{
	char key_id[17];

	run->m = ops_manifest_new(id, kind);
	if (!run->m)
		return ops_error_oom(err);
	run->m->start = start;
	if (ops_manifest_set(&run->m->prior, run->prior ? run->prior->id : NULL, err) != OPS_OK ||
	    ops_manifest_set(&run->m->method, physical ? "physical" : "logical", err) != OPS_OK ||
	    ops_manifest_set(&run->m->compression, compression, err) != OPS_OK ||
	    ops_manifest_set(&run->m->tool_version, OPS_VERSION, err) != OPS_OK)
		return err->code;
	if (key) {
		ops_crypt_key_id(key, key_id);
		return ops_manifest_set(&run->m->encryption, key_id, err);
	}
	return OPS_OK;
}

/* What a finished full backup reports, and its figures for the textfile. */
static void report_full(cJSON *report, const ops_manifest *m, const char *object,
			const char *compression, size_t members)
{
	cJSON *fig = cJSON_GetObjectItemCaseSensitive(report, "_figures");
	double size = (double)ops_manifest_size(m);

	cJSON_AddStringToObject(report, "object", object);
	cJSON_AddNumberToObject(report, "size_bytes", size);
	cJSON_AddNumberToObject(report, "duration_seconds", m->stop - m->start);
	cJSON_AddStringToObject(report, "compression", compression);
	cJSON_AddBoolToObject(report, "encrypted", m->encryption != NULL);
	cJSON_AddNumberToObject(report, "archive_members", (double)members);
	if (!fig)
		fig = cJSON_AddObjectToObject(report, "_figures");
	cJSON_AddNumberToObject(fig, "opsctl_backup_size_bytes", size);
	cJSON_AddNumberToObject(fig, "opsctl_backup_duration_seconds", m->stop - m->start);
	cJSON_AddNumberToObject(fig, "opsctl_backup_last_success_timestamp_seconds", m->stop);
}

static ops_code run_full(const ops_backup_ctx *ctx, const ops_backup_opts *o, cJSON *report,
			 ops_error *err)
{
	const ops_config *cfg = ctx->run->cfg;
	const char *compression = o->no_compress ? "none"
				  : ops_config_get(cfg, "backup.compression");
	int physical = strcmp(ops_config_get(cfg, "backup.method"), "physical") == 0, have_key = 0;
	unsigned char key[OPS_CRYPT_KEY_LEN];
	char id[96], object[160], name[64], hex[65], key_id[17];
	struct full_run run;
	bk_out out;
	char **targets = NULL;
	double start = ops_wall_clock();
	ops_code rc;
	size_t i, n = 0;
	const ops_archive_entry *ents;
	const char *kind = "full";
	ops_manifest *prior = NULL;

	memset(&run, 0, sizeof run);
	memset(&out, 0, sizeof out);
	id[0] = '\0';
	run.ctx = ctx;
	run.chunk = (size_t)ops_config_int(cfg, "backup.chunk_size");
	if ((rc = bk_load_key(cfg, key, &have_key, err)) != OPS_OK)
		return rc;
	targets = bk_backup_targets(cfg, err);
	if (!targets)
		return err->code;
	if ((rc = preflight(ctx, targets, physical, err)) != OPS_OK)
		goto out;
	if (have_key)
		ops_crypt_key_id(key, key_id);
	if ((rc = resolve_kind(ctx, o->type, targets[0], have_key ? key_id : NULL, &kind, &prior,
			       err)) != OPS_OK)
		goto out;
	run.prior = prior;
	if ((rc = new_id(ctx, start, kind, id, sizeof id, err)) != OPS_OK)
		goto out;
	snprintf(name, sizeof name, "backup%s%s", archive_suffix(compression),
		 have_key ? ".enc" : "");
	snprintf(object, sizeof object, "%s/%s", id, name);
	run.dbs = cJSON_AddArrayToObject(report, "databases");
	rc = run.dbs ? start_manifest(&run, id, kind, start, physical, compression,
				      have_key ? key : NULL, err) : ops_error_oom(err);
	if (rc != OPS_OK)
		goto out;
	cJSON_AddStringToObject(report, "id", id);
	cJSON_AddStringToObject(report, "backup_type", kind);
	if (prior)
		cJSON_AddStringToObject(report, "prior", prior->id);
	cJSON_AddStringToObject(report, "method", physical ? "physical" : "logical");
	ops_log_info("backup %s into %s", id, ops_store_describe(ctx->store));
	if ((rc = bk_out_begin(ctx, object, have_key ? key : NULL, &out, err)) != OPS_OK)
		goto out;
	rc = ops_archive_writer_new(compression,
				    (int)ops_config_int(cfg, "backup.compression_level"),
				    (int)ops_config_int(cfg, "backup.threads"), bk_out_sink, &out,
				    &run.aw, err);
	if (rc == OPS_OK)
		rc = fill_archive(&run, targets, physical, report, err);
	if (rc != OPS_OK)
		goto fail;
	if (physical) {
		/* What an incremental backup left out, at the top where a cron
		 * mail or a dashboard looks. */
		static const char *const counts[] = {"files_total", "files_stored",
						     "files_unchanged", "unchanged_bytes", NULL};
		cJSON *db0 = cJSON_GetArrayItem(run.dbs, 0);

		for (i = 0; counts[i]; i++) {
			cJSON *v = cJSON_GetObjectItemCaseSensitive(db0, counts[i]);

			if (cJSON_IsNumber(v))
				cJSON_AddNumberToObject(report, counts[i], v->valuedouble);
		}
	}
	ents = ops_archive_writer_entries(run.aw, &n);
	for (i = 0; rc == OPS_OK && i < n; i++)
		rc = ops_manifest_add_file(run.m, name, ents[i].path, ents[i].size, ents[i].sha256,
					   err);
	if (rc != OPS_OK)
		goto fail;
	if ((rc = bk_out_commit(&out, hex, err)) != OPS_OK)
		goto out_clean;
	rc = ops_manifest_add_member(run.m, name, out.size, hex, err);
	run.m->stop = ops_wall_clock();
	/* The manifest makes it a backup: not once the run is cancelled. */
	if (rc == OPS_OK)
		rc = ops_cancel_check(err);
	if (rc == OPS_OK)
		rc = ops_manifest_save(ctx->store, run.m, err);
	if (rc != OPS_OK)
		goto out_clean;
	report_full(report, run.m, object, compression, n);
	if (o->verify) {
		ops_verify_opts vo = {0};
		cJSON *vrep = NULL;

		vo.id = id;
		vo.checksums_only = 1;
		rc = ops_backup_verify(ctx, &vo, &vrep, err);
		if (vrep)
			cJSON_AddItemToObject(report, "verify", vrep);
	}
	goto out;
fail:
	bk_out_abort(&out);
out_clean:
	{
		ops_error ignored;

		/* Leave nothing behind that the next run would have to clean. */
		if (ctx->store && id[0])
			bk_catalog_remove(ctx, id, &ignored);
	}
out:
	ops_archive_writer_free(run.aw);
	ops_manifest_free(run.m);
	ops_manifest_free(prior);
	ops_strv_free(targets);
	return rc;
}

/*
 * --dry-run: what a full backup would write, found as the real run finds it
 * (the same preflight, every database opened, the key loaded), so that what
 * would certainly fail the real run fails here with its own exit status.
 * Sizes are the databases' as they stand, not the archive's, which only
 * the dump can know.
 */
static ops_code plan_full(const ops_backup_ctx *ctx, const ops_backup_opts *o, cJSON *report,
			  ops_error *err)
{
	const ops_config *cfg = ctx->run->cfg;
	const char *compression = o->no_compress ? "none"
				  : ops_config_get(cfg, "backup.compression");
	const char *redis = ops_config_get(cfg, "backup.redis_url");
	int physical = strcmp(ops_config_get(cfg, "backup.method"), "physical") == 0, have_key = 0;
	unsigned char key[OPS_CRYPT_KEY_LEN];
	char id[96], object[200], member[600];
	char **targets = NULL, **files = NULL;
	cJSON *dbs, *others;
	long threshold = ops_config_int(cfg, "backup.parallel_threshold");
	int parallel = 0;
	ops_code rc;
	size_t i;
	char key_id[17];
	const char *kind = "full";
	ops_manifest *prior = NULL;

	if ((rc = bk_load_key(cfg, key, &have_key, err)) != OPS_OK)
		return rc;
	if (have_key)
		ops_crypt_key_id(key, key_id);
	explicit_bzero(key, sizeof key);	/* only its presence and id are needed */
	if (!(targets = bk_backup_targets(cfg, err)))
		return err->code;
	if ((rc = preflight(ctx, targets, physical, err)) != OPS_OK ||
	    (rc = resolve_kind(ctx, o->type, targets[0], have_key ? key_id : NULL, &kind, &prior,
			       err)) != OPS_OK ||
	    (rc = new_id(ctx, ops_wall_clock(), kind, id, sizeof id, err)) != OPS_OK)
		goto out;
	cJSON_AddStringToObject(report, "backup_type", kind);
	if (prior)
		cJSON_AddStringToObject(report, "prior", prior->id);
	snprintf(object, sizeof object, "%s/backup%s%s", id, archive_suffix(compression),
		 have_key ? ".enc" : "");
	cJSON_AddStringToObject(report, "method", physical ? "physical" : "logical");
	cJSON_AddStringToObject(report, "would_write", object);
	cJSON_AddStringToObject(report, "compression", compression);
	cJSON_AddBoolToObject(report, "encrypted", have_key);
	dbs = cJSON_AddArrayToObject(report, "databases");
	for (i = 0; rc == OPS_OK && targets[i] && (!physical || i == 0); i++) {
		ops_db *db = NULL;
		ops_rows *rows = NULL;
		cJSON *d = cJSON_CreateObject();
		long long size = -1;
		char *stem = NULL;
		struct stat st;

		if ((rc = ops_db_open(cfg, targets[i], &db, err)) != OPS_OK) {
			cJSON_Delete(d);
			break;
		}
		cJSON_AddItemToArray(dbs, d);
		/* Named as the real run names it: the file, the database the
		 * server says (never a URI, which may hold a password). */
		if (ops_db_kind_of(db) == OPS_DB_SQLITE) {
			const char *base = strrchr(ops_db_path(db), '/');

			stem = bk_member_stem(base ? base + 1 : ops_db_path(db));
			snprintf(member, sizeof member, "%s%s", stem ? stem : "",
				 stem && strlen(stem) >= 3 && strcmp(stem + strlen(stem) - 3, ".db") == 0
				 ? "" : ".db");
			if (stat(ops_db_path(db), &st) == 0)
				size = (long long)st.st_size;
			cJSON_AddStringToObject(d, "database", ops_db_path(db));
			cJSON_AddStringToObject(d, "engine", "sqlite");
		} else {
			rc = ops_db_query(db, "SELECT pg_catalog.current_database(), pg_catalog."
					  "pg_database_size(pg_catalog.current_database())", 0, NULL,
					  &rows, err);
			if (rc == OPS_OK)
				rc = ops_rows_int64(rows, 0, 1, &size, err);
			if (rc == OPS_OK)
				stem = bk_member_stem(ops_rows_value(rows, 0, 0));
			parallel = !physical && size >= 0 && threshold > 0 && size >= threshold;
			snprintf(member, sizeof member, physical ? "base.tar/000001..." : parallel
				 ? "%s.dir/..." : "%s.dump/000001...", stem ? stem : "");
			cJSON_AddStringToObject(d, "database", physical ? "(cluster)" : rc == OPS_OK
						? ops_rows_value(rows, 0, 0) : "");
			cJSON_AddStringToObject(d, "engine", "postgresql");
		}
		cJSON_AddStringToObject(d, "member", member);
		if (parallel)
			cJSON_AddNumberToObject(d, "dump_jobs", bk_jobs(cfg, "backup.dump_jobs"));
		parallel = 0;
		if (size >= 0)
			cJSON_AddNumberToObject(d, "database_size_bytes", (double)size);
		free(stem);
		ops_rows_free(rows);
		ops_db_close(db);
	}
	if (rc != OPS_OK)
		goto out;
	others = cJSON_AddArrayToObject(report, "other_members");
	files = ops_config_list(cfg, "backup.include_files");
	for (i = 0; files && files[i]; i++)
		if (include_member(files[i], member, sizeof member, err) == OPS_OK)
			cJSON_AddItemToArray(others, cJSON_CreateString(member));
	if (ops_config_bool(cfg, "backup.vector_index"))
		cJSON_AddItemToArray(others, cJSON_CreateString("vector/index.faiss"));
	if (redis && *redis)
		cJSON_AddItemToArray(others, cJSON_CreateString("redis/dump.rdb"));
out:
	ops_manifest_free(prior);
	ops_strv_free(files);
	ops_strv_free(targets);
	return rc;
}

/*
 * Type "all" (the guides' default): the full backup is the work, plus WAL
 * where archiving is set up.  A server without archive_mode, or a host with
 * no PostgreSQL database, gets a warning line, "wal": {"status": "skipped"}
 * and opsctl_backup_wal_archived 0, not a failed run that cron would mail
 * every night.  Anything else (archiving configured but failing) still fails.
 */
static ops_code wal_if_configured(const ops_backup_ctx *ctx, cJSON *rep, cJSON *walrep,
				  ops_error *err)
{
	cJSON *fig = cJSON_GetObjectItemCaseSensitive(rep, "_figures");
	char **dbs = ops_config_list(ctx->run->cfg, "backup.databases");
	ops_error werr;
	ops_code rc;
	size_t i;
	int postgres = 0;

	/* A host whose backups are SQLite files (guide 003) has no WAL. */
	for (i = 0; dbs && dbs[i]; i++) {
		ops_db_kind kind;

		if (ops_db_target_kind(dbs[i], &kind, NULL, NULL) != OPS_OK ||
		    kind == OPS_DB_POSTGRES)
			postgres = 1;
	}
	ops_strv_free(dbs);
	ops_error_clear(&werr);
	if (i > 0 && !postgres)
		rc = ops_error_set(&werr, OPS_EUSAGE, "backup.databases holds SQLite databases "
				   "only; WAL archiving is PostgreSQL's");
	else
		rc = ops_backup_wal_ship(ctx, walrep, &werr);
	if (!fig)
		fig = cJSON_AddObjectToObject(rep, "_figures");
	if (rc != OPS_ECONFIG && rc != OPS_EUSAGE) {
		cJSON_AddNumberToObject(fig, "opsctl_backup_wal_archived", rc == OPS_OK);
		if (rc != OPS_OK)
			*err = werr;
		return rc;
	}
	cJSON_AddStringToObject(walrep, "status", "skipped");
	cJSON_AddStringToObject(walrep, "reason", werr.message);
	if (werr.hint[0])
		cJSON_AddStringToObject(walrep, "hint", werr.hint);
	cJSON_AddNumberToObject(fig, "opsctl_backup_wal_archived", 0);
	ops_log_warn("full backup done; WAL not archived: %s%s%s", werr.message,
		     werr.hint[0] ? "; " : "", werr.hint);
	return OPS_OK;
}

ops_code ops_backup_create(const ops_backup_ctx *ctx, const ops_backup_opts *o,
			   cJSON **report, ops_error *err)
{
	int incr = strcmp(o->type, "incr") == 0 || strcmp(o->type, "diff") == 0;
	int full = strcmp(o->type, "full") == 0 || strcmp(o->type, "all") == 0 || incr;
	int wal = strcmp(o->type, "wal") == 0 || strcmp(o->type, "all") == 0;
	cJSON *rep = cJSON_CreateObject(), *removed, *walrep, *prunerep = NULL;
	ops_code rc;

	*report = rep;
	if (!rep)
		return ops_error_oom(err);
	if (!full && !wal)
		return ops_error_set(err, OPS_EUSAGE, "unknown backup type '%s' (full, incr, diff, "
				     "wal or all)", o->type);
	if (incr && strcmp(ops_config_get(ctx->run->cfg, "backup.method"), "physical") != 0)
		return ops_error_set(err, OPS_EUSAGE, "backup type '%s' needs backup.method = "
				     "physical: a logical dump is always whole", o->type);
	cJSON_AddStringToObject(rep, "type", o->type);
	cJSON_AddStringToObject(rep, "store", ops_store_describe(ctx->store));
	if (ctx->run->dry_run)
		cJSON_AddBoolToObject(rep, "dry_run", 1);
	removed = cJSON_AddArrayToObject(rep, "removed_partial");
	rc = bk_catalog_remove_partial(ctx, removed, err);
	if (rc == OPS_OK && full)
		rc = ctx->run->dry_run ? plan_full(ctx, o, rep, err) : run_full(ctx, o, rep, err);
	/* Retention right after the full backup, so that a WAL step that
	 * fails (archiving off, say) does not also stop old backups going. */
	if (rc == OPS_OK && full) {
		rc = ops_backup_prune(ctx, o->retention_days, &prunerep, err);
		/* Every backup kept, with its reason, on every nightly run is
		 * cron mail nobody reads: in text a count (backups_kept), the
		 * list with --verbose; programs always get it. */
		if (prunerep && ctx->run->output == OPS_OUT_TEXT && !ctx->run->verbose)
			cJSON_DeleteItemFromObjectCaseSensitive(prunerep, "kept");
		if (prunerep)
			cJSON_AddItemToObject(rep, "retention", prunerep);
	}
	if (rc == OPS_OK && wal) {
		walrep = cJSON_AddObjectToObject(rep, "wal");
		rc = full ? wal_if_configured(ctx, rep, walrep, err)
			  : ops_backup_wal_ship(ctx, walrep, err);
	}
	return rc;
}

/* ---- retention ---- */

/* Keys grouping backups by ISO week and by month, in UTC. */
static void period_keys(double t, char week[16], char month[16])
{
	time_t s = (time_t)t;
	struct tm tm;

	gmtime_r(&s, &tm);
	strftime(week, 16, "%G-W%V", &tm);
	strftime(month, 16, "%Y-%m", &tm);
}

static ops_code prune_wal(const ops_backup_ctx *ctx, const char *oldest_needed, double cutoff,
			  cJSON *pruned, ops_error *err)
{
	ops_store_entry *e = NULL;
	size_t n = 0, i;
	ops_code rc = ops_store_list(ctx->store, WAL_PREFIX, &e, &n, err);

	for (i = 0; rc == OPS_OK && i < n; i++) {
		const char *name = e[i].key + strlen(WAL_PREFIX);
		int go;

		if ((rc = ops_cancel_check(err)) != OPS_OK)
			break;
		if (strstr(name, ".history"))
			continue;	/* timeline history is tiny and always needed */
		go = oldest_needed ? strncmp(name, oldest_needed, 24) < 0
				   : (double)e[i].mtime < cutoff;
		if (!go)
			continue;
		if (!ctx->run->dry_run)
			rc = ops_store_remove(ctx->store, e[i].key, err);
		if (rc == OPS_OK)
			cJSON_AddItemToArray(pruned, cJSON_CreateString(e[i].key));
	}
	ops_store_entries_free(e, n);
	return rc;
}

ops_code ops_backup_prune(const ops_backup_ctx *ctx, long daily_days, cJSON **report,
			  ops_error *err)
{
	const ops_config *cfg = ctx->run->cfg;
	double now = ops_wall_clock();
	double daily = daily_days > 0 ? daily_days * 86400.0
		: (double)ops_config_int(cfg, "backup.retention_daily");
	double weekly = (double)ops_config_int(cfg, "backup.retention_weekly");
	double monthly = (double)ops_config_int(cfg, "backup.retention_monthly");
	bk_item *v = NULL;
	size_t n = 0, i, j;
	ssize_t newest_good = -1;
	const char *oldest_wal = NULL, **why = NULL;
	char **needed_by = NULL;
	cJSON *rep, *kept, *pruned, *walpruned;
	ops_code rc = bk_catalog_scan(ctx, &v, &n, err);

	*report = NULL;
	if (rc != OPS_OK)
		return rc;
	rep = cJSON_CreateObject();
	*report = rep;
	cJSON_AddBoolToObject(rep, "dry_run", ctx->run->dry_run);
	cJSON_AddNumberToObject(rep, "daily_days", daily / 86400.0);
	kept = cJSON_AddArrayToObject(rep, "kept");
	pruned = cJSON_AddArrayToObject(rep, "pruned");
	walpruned = cJSON_AddArrayToObject(rep, "wal_pruned");
	/* Good here is restorable: an incremental backup with its whole chain,
	 * as `latest` takes it, so that retention never counts on one that is
	 * not. */
	for (i = 0; i < n; i++)
		if (bk_chain_good(v, n, i))
			newest_good = (ssize_t)i;
	why = calloc(n + 1, sizeof *why);
	needed_by = calloc(n + 1, sizeof *needed_by);
	if (!why || !needed_by) {
		rc = ops_error_oom(err);
		goto done;
	}
	for (i = 0; rc == OPS_OK && i < n; i++) {
		const ops_manifest *m = v[i].m;
		char wk[16], mo[16];
		double age;
		int newest_week = 1, newest_month = 1, newer_good = 0, good = bk_chain_good(v, n, i);
		cJSON *e;

		if ((rc = ops_cancel_check(err)) != OPS_OK)
			goto done;
		if (!m) {
			if (v[i].has_manifest_key)
				continue;	/* unreadable manifest: an operator must look */
			if (!ctx->run->dry_run)
				rc = bk_catalog_remove(ctx, v[i].id, err);
			e = cJSON_CreateObject();
			cJSON_AddStringToObject(e, "id", v[i].id);
			cJSON_AddStringToObject(e, "reason", "partial (no manifest)");
			cJSON_AddItemToArray(pruned, e);
			continue;
		}
		age = now - m->start;
		period_keys(m->start, wk, mo);
		for (j = i + 1; j < n; j++) {
			char wk2[16], mo2[16];

			if (!bk_chain_good(v, n, j))
				continue;
			newer_good = 1;
			period_keys(v[j].m->start, wk2, mo2);
			if (strcmp(wk, wk2) == 0)
				newest_week = 0;
			if (strcmp(mo, mo2) == 0)
				newest_month = 0;
		}
		if (m->pinned)
			why[i] = "pinned";
		else if ((ssize_t)i == newest_good)
			why[i] = "newest good backup";
		else if (!good && !newer_good)
			why[i] = v[i].damaged ? "damaged and no newer good backup"
				 : bk_item_good(&v[i]) ? "a backup it builds on is missing or not good, "
							 "and no newer good backup"
				 : "failed verification and no newer good backup";
		else if (age < daily)
			why[i] = "within daily retention";
		else if (good && newest_week && age < weekly)
			why[i] = "newest of its week, within weekly retention";
		else if (good && newest_month && age < monthly)
			why[i] = "newest of its month, within monthly retention";
	}
	if (rc != OPS_OK)
		goto done;
	/* A kept incremental or differential backup is only as restorable as
	 * the backups it builds on: they stay while it does, each marked with
	 * the newest backup that needs it. */
	for (i = n; i-- > 0;) {
		size_t cur = i;
		ssize_t p;
		int depth;

		if (!v[i].m || (!why[i] && !needed_by[i]))
			continue;
		for (depth = 0; depth < BK_CHAIN_MAX && v[cur].m &&
		     (p = bk_catalog_find(v, n, v[cur].m->prior)) >= 0; depth++) {
			if (!why[p] && !needed_by[p] &&
			    asprintf(&needed_by[p], "needed by %s", v[cur].id) < 0) {
				needed_by[p] = NULL;
				rc = ops_error_oom(err);
				goto done;
			}
			cur = (size_t)p;
		}
	}
	for (i = 0; rc == OPS_OK && i < n; i++) {
		const ops_manifest *m = v[i].m;
		const char *reason = why[i] ? why[i] : needed_by[i];
		cJSON *e;

		if (!m)
			continue;
		e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "id", v[i].id);
		if (reason) {
			cJSON_AddStringToObject(e, "reason", reason);
			cJSON_AddItemToArray(kept, e);
			if (m->wal_start && (!oldest_wal || strcmp(m->wal_start, oldest_wal) < 0))
				oldest_wal = m->wal_start;
			continue;
		}
		cJSON_AddStringToObject(e, "reason", "older than every retention period");
		cJSON_AddItemToArray(pruned, e);
		if (!ctx->run->dry_run)
			rc = bk_catalog_remove(ctx, v[i].id, err);
	}
	if (rc == OPS_OK)
		rc = prune_wal(ctx, oldest_wal, now - daily, walpruned, err);
	cJSON_AddNumberToObject(rep, "backups_kept", cJSON_GetArraySize(kept));
done:
	for (i = 0; needed_by && i < n; i++)
		free(needed_by[i]);
	free(needed_by);
	free(why);
	bk_items_free(v, n);
	return rc;
}
