/*
 * Unit tests for maintenance on SQLite files: maintain with its backup,
 * corruption, content checks, operations the engine lacks, health's failing
 * line, migrations, and runs cancelled before or during the work.  The
 * database layer under it has tests/unit/db/test_db.c; PostgreSQL is covered
 * by the integration tests, which start a real server.
 */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"
#include "opsmaint/cancel.h"
#include "opsmaint/config.h"
#include "opsmaint/db.h"
#include "opsmaint/dbmaint.h"
#include "opsmaint/fileio.h"

static char *tmp;

static char *path_in(const char *name)
{
	return ops_path_join(tmp, name);
}

static void make_db(const char *path, const char *sql)
{
	sqlite3 *db = NULL;

	sqlite3_open(path, &db);
	sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
}

static ops_config *config(void)
{
	ops_config *cfg = ops_config_new();
	ops_error err;

	ops_config_set(cfg, "general.state_dir", tmp, "test", &err);
	return cfg;
}

static const char *hub_sql =
	"CREATE TABLE content (id INTEGER PRIMARY KEY, title TEXT, content TEXT, type TEXT);"
	"INSERT INTO content (title, content, type) VALUES ('a', 'alpha', 'faq'),"
	" ('b', 'beta', 'faq'), ('c', 'beta', 'doc'), ('d', '', 'doc'), ('e', NULL, 'doc'),"
	" ('f', '   ', 'doc'), ('g', 'gamma', 'doc');"
	"CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);"
	"INSERT INTO users (name) VALUES ('x'), ('y');"
	"CREATE INDEX content_type ON content (type);";

TEST(maintain_backs_up_first_and_reports)
{
	char *path = path_in("hub.db");
	ops_config *cfg = config();
	ops_dbm_ctx ctx = {0};
	ops_run run;
	cJSON *report = NULL, *t;
	ops_error err;
	const char *backup;
	ops_db *copy = NULL;
	ops_rows *rows = NULL;
	int i, n;
	static const char *const expect[] = {"backup", "integrity_check", "vacuum", "analyze",
					     "optimize", "reindex"};

	make_db(path, hub_sql);
	ops_run_init(&run, cfg);
	ctx.run = &run;
	CHECK_INT(ops_dbm_maintain(&ctx, path, OPS_TASK_ALL, &report, &err), OPS_OK);
	t = cJSON_GetObjectItem(report, "tasks");
	n = cJSON_GetArraySize(t);
	CHECK_INT(n, 6);
	for (i = 0; i < n && i < 6; i++) {
		cJSON *e = cJSON_GetArrayItem(t, i);

		CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(e, "task")), expect[i]);
		CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(e, "status")), "ok");
	}
	backup = cJSON_GetStringValue(cJSON_GetObjectItem(report, "backup_path"));
	CHECK_CONTAINS(backup, "/backups/hub_");
	CHECK(backup && ops_db_open(NULL, backup, &copy, &err) == OPS_OK);
	if (copy) {
		CHECK_INT(ops_db_query(copy, "SELECT count(*) FROM content", 0, NULL, &rows, &err),
			  OPS_OK);
		CHECK_STR(ops_rows_value(rows, 0, 0), "7");
		ops_rows_free(rows);
		ops_db_close(copy);
	}
	CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItem(report, "tables")), 2);
	cJSON_Delete(report);
	ops_config_free(cfg);
	free(path);
}

TEST(corrupt_file_stops_before_anything_changes)
{
	char *path = path_in("bad.db");
	ops_config *cfg = config();
	ops_dbm_ctx ctx = {0};
	ops_run run;
	cJSON *report = NULL;
	ops_error err;
	char *before = NULL, *after = NULL;
	size_t lb = 0, la = 0;
	int fd;
	char junk[2048];

	make_db(path, hub_sql);
	make_db(path, "CREATE TABLE filler (x TEXT); WITH RECURSIVE c(i) AS "
		      "(SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 2000) "
		      "INSERT INTO filler SELECT hex(randomblob(40)) FROM c;");
	/* Garbage over pages in the middle of the file. */
	memset(junk, 0xA5, sizeof junk);
	fd = open(path, O_WRONLY);
	CHECK(fd >= 0);
	CHECK(pwrite(fd, junk, sizeof junk, 4096 * 3) == (ssize_t)sizeof junk);
	close(fd);
	CHECK_INT(ops_read_file(path, 1 << 24, &before, &lb, &err), OPS_OK);
	ops_run_init(&run, cfg);
	ctx.run = &run;
	CHECK_INT(ops_dbm_maintain(&ctx, path, OPS_TASK_ALL, &report, &err), OPS_EDATA);
	CHECK_CONTAINS(err.message, "bad.db");
	CHECK_INT(ops_read_file(path, 1 << 24, &after, &la, &err), OPS_OK);
	CHECK(lb == la && before && after && memcmp(before, after, lb) == 0);
	free(before);
	free(after);
	cJSON_Delete(report);
	ops_config_free(cfg);
	free(path);
}

TEST(content_check_counts_empty_and_duplicates)
{
	char *path = path_in("content.db");
	ops_config *cfg = config();
	ops_dbm_ctx ctx = {0};
	ops_run run;
	cJSON *report = NULL;
	ops_error err;

	make_db(path, hub_sql);
	ops_run_init(&run, cfg);
	ctx.run = &run;
	CHECK_INT(ops_dbm_content_check(&ctx, path, NULL, NULL, &report, &err), OPS_EFAIL);
	CHECK_INT(cJSON_GetObjectItem(report, "rows")->valuedouble, 7);
	CHECK_INT(cJSON_GetObjectItem(report, "empty")->valuedouble, 3);
	CHECK_INT(cJSON_GetObjectItem(report, "duplicates")->valuedouble, 1);
	CHECK_CONTAINS(err.message, "3 empty and 1 duplicate");
	cJSON_Delete(report);
	report = NULL;
	CHECK_INT(ops_dbm_content_check(&ctx, path, "users", "name", &report, &err), OPS_OK);
	cJSON_Delete(report);
	report = NULL;
	CHECK_INT(ops_dbm_content_check(&ctx, path, "users\"; DROP TABLE users; --", "name",
					&report, &err), OPS_EFAIL);
	CHECK_CONTAINS(err.message, "does not exist");
	cJSON_Delete(report);
	report = NULL;
	CHECK_INT(ops_dbm_content_check(&ctx, path, "users", "nope", &report, &err), OPS_EFAIL);
	CHECK_CONTAINS(err.message, "column 'nope'");
	cJSON_Delete(report);
	report = NULL;
	/* users is still there. */
	CHECK_INT(ops_dbm_content_check(&ctx, path, "users", "name", &report, &err), OPS_OK);
	cJSON_Delete(report);
	report = NULL;
	CHECK_INT(ops_dbm_connections(&ctx, path, 60, 0, &report, &err), OPS_EUSAGE);
	CHECK_STR(err.message, "'db connections' is not available on SQLite");
	CHECK(report == NULL);
	CHECK_INT(ops_dbm_bloat(&ctx, path, 10, &report, &err), OPS_EUSAGE);
	CHECK_STR(err.message, "'db bloat' is not available on SQLite");
	CHECK(report == NULL);
	ops_config_free(cfg);
	free(path);
}

TEST(task_names)
{
	unsigned t = 0;
	ops_error err;

	CHECK_INT(ops_dbm_parse_tasks("all", &t, &err), OPS_OK);
	CHECK_INT(t, OPS_TASK_ALL);
	CHECK_INT(ops_dbm_parse_tasks(" vacuum , analyze ", &t, &err), OPS_OK);
	CHECK_INT(t, OPS_TASK_VACUUM | OPS_TASK_ANALYZE);
	CHECK_INT(ops_dbm_parse_tasks("vacum", &t, &err), OPS_EUSAGE);
	CHECK_CONTAINS(err.message, "did you mean 'vacuum'");
	CHECK_INT(ops_dbm_parse_tasks("", &t, &err), OPS_EUSAGE);
}

static void write_text(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	fputs(text, fp);
	fclose(fp);
}

TEST(migrations_apply_once_in_order)
{
	char *path = path_in("mig.db"), *dir = path_in("migrations");
	char *v1 = path_in("migrations/v1");
	char *f2 = path_in("migrations/v1/2_b.sql"), *f10 = path_in("migrations/v1/10_c.sql");
	char *f1 = path_in("migrations/v1/1_a.sql"), *f3 = path_in("migrations/v1/11_fail.sql");
	ops_config *cfg = config();
	ops_dbm_ctx ctx = {0};
	ops_run run;
	cJSON *report = NULL;
	ops_error err;
	ops_db *db = NULL;
	ops_rows *rows = NULL;

	make_db(path, "CREATE TABLE base (x INTEGER)");
	ops_mkdir_p(v1, 0755, &err);
	write_text(f1, "CREATE TABLE a (x INTEGER);");
	write_text(f2, "CREATE TABLE b (x INTEGER); INSERT INTO a VALUES (2);");
	write_text(f10, "INSERT INTO a VALUES (10);");
	ops_run_init(&run, cfg);
	ctx.run = &run;
	CHECK_INT(ops_dbm_migrate(&ctx, path, "1", dir, &report, &err), OPS_OK);
	CHECK_INT(cJSON_GetObjectItem(report, "applied")->valuedouble, 3);
	cJSON_Delete(report);
	report = NULL;
	CHECK_INT(ops_dbm_migrate(&ctx, path, "1", dir, &report, &err), OPS_OK);
	CHECK_INT(cJSON_GetObjectItem(report, "applied")->valuedouble, 0);
	CHECK_INT(cJSON_GetObjectItem(report, "already_applied")->valuedouble, 3);
	cJSON_Delete(report);
	report = NULL;
	/* Natural order: 2_b before 10_c, so a holds 2 then 10. */
	CHECK_INT(ops_db_open(NULL, path, &db, &err), OPS_OK);
	CHECK_INT(ops_db_query(db, "SELECT group_concat(x) FROM a", 0, NULL, &rows, &err), OPS_OK);
	CHECK_STR(ops_rows_value(rows, 0, 0), "2,10");
	ops_rows_free(rows);
	ops_db_close(db);
	/* A failing file rolls back and stops. */
	write_text(f3, "CREATE TABLE half (x INTEGER); INSERT INTO no_such_table VALUES (1);");
	CHECK_INT(ops_dbm_migrate(&ctx, path, "1", dir, &report, &err), OPS_EFAIL);
	CHECK_CONTAINS(err.message, "11_fail.sql");
	cJSON_Delete(report);
	report = NULL;
	CHECK_INT(ops_db_open(NULL, path, &db, &err), OPS_OK);
	CHECK_INT(ops_db_query(db, "SELECT count(*) FROM sqlite_master WHERE name = 'half'",
			       0, NULL, &rows, &err), OPS_OK);
	CHECK_STR(ops_rows_value(rows, 0, 0), "0");
	ops_rows_free(rows);
	ops_db_close(db);
	unlink(f3);
	/* An applied file edited later is refused. */
	write_text(f1, "CREATE TABLE a (x INTEGER, y INTEGER);");
	CHECK_INT(ops_dbm_migrate(&ctx, path, "1", dir, &report, &err), OPS_EDATA);
	CHECK_CONTAINS(err.message, "changed since it was applied");
	cJSON_Delete(report);
	report = NULL;
	/* A file that commits on its own breaks one-transaction-per-file. */
	{
		char *v2 = path_in("migrations/v2"), *fc = path_in("migrations/v2/1_commit.sql");

		ops_mkdir_p(v2, 0755, &err);
		write_text(fc, "CREATE TABLE z (x INTEGER); COMMIT;");
		CHECK_INT(ops_dbm_migrate(&ctx, path, "2", dir, &report, &err), OPS_EDATA);
		CHECK_CONTAINS(err.message, "1_commit.sql");
		CHECK_CONTAINS(err.message, "COMMIT");
		cJSON_Delete(report);
		report = NULL;
		free(v2);
		free(fc);
	}
	CHECK_INT(ops_dbm_migrate(&ctx, path, "../x", dir, &report, &err), OPS_EUSAGE);
	CHECK_INT(ops_dbm_migrate(&ctx, path, "a/b", dir, &report, &err), OPS_EUSAGE);
	CHECK_INT(ops_dbm_migrate(&ctx, path, "", dir, &report, &err), OPS_EUSAGE);
	CHECK_INT(ops_dbm_migrate(&ctx, path, "9", dir, &report, &err), OPS_EFAIL);
	CHECK_CONTAINS(err.message, "no migration scripts");
	cJSON_Delete(report);
	ops_config_free(cfg);
	free(path); free(dir); free(v1); free(f1); free(f2); free(f10); free(f3);
}


TEST(health_fails_with_one_line_naming_the_checks)
{
	char *path = path_in("health.db");
	ops_config *cfg = config();
	ops_dbm_ctx ctx = {0};
	ops_run run;
	cJSON *report = NULL;
	ops_error err;
	char want[600];
	int level = -1;

	make_db(path, hub_sql);
	ops_run_init(&run, cfg);
	ctx.run = &run;
	ops_error_clear(&err);
	CHECK_INT(ops_dbm_health(&ctx, path, &level, &report, &err), OPS_OK);
	CHECK_INT(level, 0);
	CHECK_INT(err.code, OPS_OK);
	cJSON_Delete(report);
	report = NULL;
	/* Most of the file freed: free_pages is a warning. */
	make_db(path, "CREATE TABLE filler (x TEXT); WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL "
		"SELECT i + 1 FROM c WHERE i < 2000) "
		"INSERT INTO filler SELECT hex(randomblob(200)) FROM c;"
		"DELETE FROM filler;");
	CHECK_INT(ops_dbm_health(&ctx, path, &level, &report, &err), OPS_OK);
	CHECK_INT(level, 1);
	CHECK_INT(err.code, OPS_EFAIL);
	snprintf(want, sizeof want, "database '%s' is degraded: free_pages (warning)", path);
	CHECK_STR(err.message, want);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(report, "health")), "warning");
	cJSON_Delete(report);
	ops_config_free(cfg);
	free(path);
}

/* Entries in dir (0 when it does not exist). */
static int count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)))
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

TEST(a_cancelled_run_starts_nothing)
{
	char *path = path_in("later.db"), *backups = path_in("backups-later");
	ops_config *cfg = config();
	ops_dbm_ctx ctx = {0};
	ops_run run;
	cJSON *report = NULL;
	ops_error err;
	int level = 0;

	make_db(path, hub_sql);
	ops_config_set(cfg, "db.backup_dir", backups, "test", &err);
	ops_run_init(&run, cfg);
	ctx.run = &run;
	ops_cancel_request(SIGTERM);
	CHECK_INT(ops_dbm_maintain(&ctx, path, OPS_TASK_ALL, &report, &err), OPS_EINTR);
	CHECK_STR(err.message, "interrupted by SIGTERM");
	CHECK(report == NULL);
	CHECK_INT(ops_dbm_health(&ctx, path, &level, &report, &err), OPS_EINTR);
	CHECK(report == NULL);
	ops_cancel_reset();
	/* Not even the copy that comes first. */
	CHECK_INT(count_files(backups), 0);
	ops_config_free(cfg);
	free(backups);
	free(path);
}

/* 1 when sql's first value is 1 on db. */
static int one(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int yes = sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
		  sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 1;

	sqlite3_finalize(st);
	return yes;
}

/*
 * Cancel the run while the migration file itself writes to the database at
 * arg: once the bookkeeping table exists (committed before any file runs),
 * the next writer is the file's transaction.
 */
static void *cancel_while_writing(void *arg)
{
	sqlite3 *db = NULL;
	int i;

	sqlite3_open_v2(arg, &db, SQLITE_OPEN_READWRITE, NULL);
	for (i = 0; i < 2000 && !one(db, "SELECT count(*) FROM sqlite_master "
				   "WHERE name = 'opsctl_schema_migrations'"); i++)
		usleep(5000);
	for (; i < 4000; i++) {
		if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
			break;	/* someone writes: the file */
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		usleep(2000);
	}
	sqlite3_close(db);
	ops_cancel_request(SIGTERM);
	return NULL;
}

TEST(a_migration_cancelled_mid_file_is_rolled_back_and_not_recorded)
{
	char *path = path_in("migcancel.db"), *dir = path_in("migcancel");
	char *v = path_in("migcancel/v1");
	char *f1 = path_in("migcancel/v1/1_big.sql");
	ops_config *cfg = config();
	ops_dbm_ctx ctx = {0};
	ops_run run;
	cJSON *report = NULL, *file;
	ops_error err;
	ops_db *db = NULL;
	ops_rows *rows = NULL;
	pthread_t thr;

	make_db(path, "CREATE TABLE base (x INTEGER)");
	ops_mkdir_p(v, 0755, &err);
	/* Seconds of work, cancelled once it is under way. */
	write_text(f1, "CREATE TABLE big (x INTEGER); WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL "
		   "SELECT i + 1 FROM c WHERE i < 5000000) INSERT INTO big SELECT i FROM c;");
	ops_run_init(&run, cfg);
	ctx.run = &run;
	pthread_create(&thr, NULL, cancel_while_writing, path);
	CHECK_INT(ops_dbm_migrate(&ctx, path, "1", dir, &report, &err), OPS_EINTR);
	pthread_join(thr, NULL);
	ops_cancel_reset();
	CHECK_STR(err.message, "interrupted by SIGTERM");
	file = cJSON_GetArrayItem(cJSON_GetObjectItem(report, "files"), 0);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(file, "status")), "rolled back");
	CHECK_INT(cJSON_GetObjectItem(report, "applied")->valuedouble, 0);
	cJSON_Delete(report);
	CHECK_INT(ops_db_open(NULL, path, &db, &err), OPS_OK);
	CHECK_INT(ops_db_query(db, "SELECT "
			       "(SELECT count(*) FROM sqlite_master WHERE name = 'big'), "
			       "(SELECT count(*) FROM opsctl_schema_migrations)",
			       0, NULL, &rows, &err), OPS_OK);
	CHECK_STR(ops_rows_value(rows, 0, 0), "0");
	CHECK_STR(ops_rows_value(rows, 0, 1), "0");
	ops_rows_free(rows);
	ops_db_close(db);
	ops_config_free(cfg);
	free(path); free(dir); free(v); free(f1);
}

int main(void)
{
	int rc;

	tmp = unit_tmpdir();
	RUN(maintain_backs_up_first_and_reports);
	RUN(corrupt_file_stops_before_anything_changes);
	RUN(content_check_counts_empty_and_duplicates);
	RUN(task_names);
	RUN(migrations_apply_once_in_order);
	RUN(health_fails_with_one_line_naming_the_checks);
	RUN(a_cancelled_run_starts_nothing);
	RUN(a_migration_cancelled_mid_file_is_rolled_back_and_not_recorded);
	rc = unit_done();
	unit_rmrf(tmp);
	free(tmp);
	return rc;
}
