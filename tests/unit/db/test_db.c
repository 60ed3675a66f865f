/*
 * Unit tests for the database layer (lib/db/db.c) on SQLite files: which
 * databases a command runs over, target classification, the driver, table
 * names looked up as names, the parameter dialect, the consistent SQLite
 * copy, and connections cancelled with the run while cleanup connections
 * are not.  PostgreSQL is covered by the integration tests (t1*, t200,
 * t400), which start a real server.
 */
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

TEST(targets_come_from_the_flag_then_the_configuration)
{
	ops_config *cfg = ops_config_new();
	char **v = NULL;
	ops_error err;

	CHECK_INT(ops_db_targets(cfg, NULL, &v, &err), OPS_ECONFIG);
	CHECK_CONTAINS(err.message, "no database given");
	CHECK_CONTAINS(err.hint, "-d NAME");
	CHECK(v == NULL);
	ops_config_set(cfg, "db.name", "chatbot_db", "test", &err);
	CHECK_INT(ops_db_targets(cfg, NULL, &v, &err), OPS_OK);
	CHECK_INT(ops_strv_len(v), 1);
	CHECK_STR(v[0], "chatbot_db");
	ops_strv_free(v);
	/* db.databases (guide 004's five) beats db.name. */
	ops_config_set(cfg, "db.databases", "a, b, c", "test", &err);
	CHECK_INT(ops_db_targets(cfg, NULL, &v, &err), OPS_OK);
	CHECK_INT(ops_strv_len(v), 3);
	CHECK_STR(v[2], "c");
	ops_strv_free(v);
	/* -d beats both. */
	CHECK_INT(ops_db_targets(cfg, "x,y", &v, &err), OPS_OK);
	CHECK_INT(ops_strv_len(v), 2);
	CHECK_STR(v[1], "y");
	ops_strv_free(v);
	ops_config_free(cfg);
}

TEST(targets_are_classified)
{
	ops_db_kind kind;
	char *path = NULL;
	ops_error err;

	CHECK_INT(ops_db_target_kind("sqlite:/x/y.db", &kind, &path, &err), OPS_OK);
	CHECK_INT(kind, OPS_DB_SQLITE);
	CHECK_STR(path, "/x/y.db");
	free(path);
	CHECK_INT(ops_db_target_kind("kb.db", &kind, NULL, &err), OPS_OK);
	CHECK_INT(kind, OPS_DB_SQLITE);
	CHECK_INT(ops_db_target_kind("x.sqlite3", &kind, NULL, &err), OPS_OK);
	CHECK_INT(kind, OPS_DB_SQLITE);
	CHECK_INT(ops_db_target_kind("postgresql://u:pw@h/db", &kind, NULL, &err), OPS_OK);
	CHECK_INT(kind, OPS_DB_POSTGRES);
	CHECK_INT(ops_db_target_kind("chatbot_db", &kind, NULL, &err), OPS_OK);
	CHECK_INT(kind, OPS_DB_POSTGRES);
	/* A conninfo string is just an odd database name, never expanded. */
	CHECK_INT(ops_db_target_kind("host=x dbname=y", &kind, NULL, &err), OPS_OK);
	CHECK_INT(kind, OPS_DB_POSTGRES);
	CHECK_INT(ops_db_target_kind("", &kind, NULL, &err), OPS_EUSAGE);
	CHECK_INT(ops_db_target_kind("sqlite:", &kind, NULL, &err), OPS_EUSAGE);
}

TEST(opening_never_creates_and_rejects_non_databases)
{
	char *missing = path_in("missing.db"), *text = path_in("text.db");
	ops_db *db = NULL;
	ops_error err;
	struct stat st;
	FILE *fp;

	CHECK_INT(ops_db_open(NULL, missing, &db, &err), OPS_EFAIL);
	CHECK_CONTAINS(err.message, "does not exist");
	CHECK(stat(missing, &st) != 0);
	CHECK_INT(ops_db_open_cleanup(NULL, missing, &db, &err), OPS_EFAIL);
	CHECK(stat(missing, &st) != 0);
	fp = fopen(text, "w");
	fputs("this is not a database, just text that is long enough to fill a header block\n", fp);
	fclose(fp);
	CHECK_INT(ops_db_open(NULL, text, &db, &err), OPS_EDATA);
	CHECK(db == NULL);
	free(missing);
	free(text);
}

TEST(queries_bind_values_and_quote_names)
{
	char *path = path_in("q.db");
	const char *evil = "x'); DROP TABLE t; --";
	const char *params[1] = {evil};
	ops_db *db = NULL;
	ops_rows *rows = NULL;
	ops_error err;
	char *q, sql[256];

	make_db(path, "CREATE TABLE t (v TEXT)");
	CHECK_INT(ops_db_open(NULL, path, &db, &err), OPS_OK);
	CHECK_INT(ops_db_query(db, "INSERT INTO t VALUES (?1)", 1, params, &rows, &err), OPS_OK);
	ops_rows_free(rows);
	CHECK_INT(ops_db_query(db, "SELECT v, NULL AS n FROM t", 0, NULL, &rows, &err), OPS_OK);
	CHECK_INT(ops_rows_count(rows), 1);
	CHECK_STR(ops_rows_value(rows, 0, 0), evil);
	CHECK(ops_rows_value(rows, 0, 1) == NULL);
	CHECK_INT(ops_rows_column(rows, "n"), 1);
	CHECK_INT(ops_rows_column(rows, "zz"), -1);
	CHECK(ops_rows_value(rows, 5, 0) == NULL);
	CHECK(ops_rows_value(rows, 0, 9) == NULL);
	CHECK(ops_rows_column_name(rows, -1) == NULL);
	ops_rows_free(rows);
	q = ops_db_quote_ident(db, "a\"b; DROP TABLE t");
	CHECK_STR(q, "\"a\"\"b; DROP TABLE t\"");
	snprintf(sql, sizeof sql, "CREATE TABLE %s (x INTEGER)", q);
	CHECK_INT(ops_db_exec(db, sql, &err), OPS_OK);
	CHECK_INT(ops_db_query(db, "SELECT count(*) FROM sqlite_master "
			       "WHERE name IN ('t', 'a\"b; DROP TABLE t')", 0, NULL, &rows, &err),
		  OPS_OK);
	CHECK_STR(ops_rows_value(rows, 0, 0), "2");
	ops_rows_free(rows);
	CHECK_INT(ops_db_exec(db, "SELECT * FROM no_such_table", &err), OPS_EFAIL);
	CHECK_CONTAINS(err.message, "no such table");
	free(q);
	ops_db_close(db);
	free(path);
}

TEST(one_sql_text_for_both_dialects)
{
	char *path = path_in("dialect.db");
	const char *p[2] = {"1", "two"};
	ops_db *db = NULL;
	ops_rows *rows = NULL;
	ops_error err;
	char sql[128];
	const char *ph;

	make_db(path, "CREATE TABLE m (version TEXT, filename TEXT)");
	CHECK_INT(ops_db_open(NULL, path, &db, &err), OPS_OK);
	ph = ops_db_param_prefix(db);
	CHECK_STR(ph, "?");
	/* Numbered, so the order of use need not be the order of the values. */
	snprintf(sql, sizeof sql, "INSERT INTO m (filename, version) VALUES (%s2, %s1)", ph, ph);
	CHECK_INT(ops_db_query(db, sql, 2, p, &rows, &err), OPS_OK);
	ops_rows_free(rows);
	CHECK_INT(ops_db_query(db, "SELECT version, filename FROM m", 0, NULL, &rows, &err),
		  OPS_OK);
	CHECK_STR(ops_rows_value(rows, 0, 0), "1");
	CHECK_STR(ops_rows_value(rows, 0, 1), "two");
	ops_rows_free(rows);
	ops_db_close(db);
	free(path);
}

TEST(table_names_are_looked_up_as_names)
{
	char *path = path_in("names.db");
	ops_db *db = NULL;
	ops_error err;
	char *q = NULL;

	make_db(path, "CREATE TABLE content (x); CREATE TABLE \"we\"\"ird\" (y); "
		"CREATE VIEW v AS SELECT x FROM content");
	CHECK_INT(ops_db_open(NULL, path, &db, &err), OPS_OK);
	CHECK_INT(ops_db_resolve_table(db, "content", NULL, &q, &err), OPS_OK);
	CHECK_STR(q, "\"content\"");
	free(q);
	CHECK_INT(ops_db_resolve_table(db, "we\"ird", NULL, &q, &err), OPS_OK);
	CHECK_STR(q, "\"we\"\"ird\"");
	free(q);
	q = NULL;
	CHECK_INT(ops_db_resolve_table(db, "content; DROP TABLE content", NULL, &q, &err), OPS_EFAIL);
	CHECK_STR(err.message, "table 'content; DROP TABLE content' does not exist");
	CHECK(q == NULL);
	/* A view holds no rows of its own to vacuum, analyze or reindex. */
	CHECK_INT(ops_db_resolve_table(db, "v", NULL, &q, &err), OPS_EFAIL);
	CHECK_INT(ops_db_resolve_table(db, "sqlite_master", NULL, &q, &err), OPS_EFAIL);
	ops_db_close(db);
	free(path);
}

TEST(sqlite_copy_is_consistent_and_never_overwrites)
{
	char *path = path_in("src.db"), *copy = path_in("copy.db");
	ops_db *db = NULL, *c = NULL;
	ops_rows *rows = NULL;
	ops_error err;
	struct stat st;

	make_db(path, "CREATE TABLE t (v TEXT); WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL "
		"SELECT i + 1 FROM c WHERE i < 3000) "
		"INSERT INTO t SELECT hex(randomblob(64)) FROM c");
	CHECK_INT(ops_db_open(NULL, path, &db, &err), OPS_OK);
	CHECK_INT(ops_db_sqlite_copy(db, copy, &err), OPS_OK);
	CHECK(stat(copy, &st) == 0 && (st.st_mode & 0777) == 0600);
	CHECK_INT(ops_db_open(NULL, copy, &c, &err), OPS_OK);
	CHECK_INT(ops_db_query(c, "SELECT count(*) FROM t", 0, NULL, &rows, &err), OPS_OK);
	CHECK_STR(ops_rows_value(rows, 0, 0), "3000");
	ops_rows_free(rows);
	ops_db_close(c);
	/* An existing file is never written over (O_EXCL). */
	CHECK_INT(ops_db_sqlite_copy(db, copy, &err), OPS_EIO);
	CHECK_CONTAINS(err.message, "File exists");
	unlink(copy);
	/* A cancelled run stops the copy; the caller removes the file. */
	ops_cancel_request(SIGTERM);
	CHECK_INT(ops_db_sqlite_copy(db, copy, &err), OPS_EINTR);
	CHECK_STR(err.message, "interrupted by SIGTERM");
	ops_cancel_reset();
	unlink(copy);
	ops_db_close(db);
	free(path);
	free(copy);
}

/* ---- cancellation ---- */

/* A million rows, counted: about a third of a second, not interrupted. */
#define LONG_SQL "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c " \
		 "WHERE x < 1000000) SELECT count(*) FROM c"

static void *cancel_soon(void *arg)
{
	(void)arg;
	usleep(20000);
	ops_cancel_request(SIGTERM);
	return NULL;
}

/* Run LONG_SQL on db while another thread cancels the run. */
static ops_code long_query_cancelled(ops_db *db, ops_rows **rows, ops_error *err)
{
	pthread_t thr;
	ops_code rc;

	pthread_create(&thr, NULL, cancel_soon, NULL);
	rc = ops_db_query(db, LONG_SQL, 0, NULL, rows, err);
	pthread_join(thr, NULL);
	ops_cancel_reset();
	return rc;
}

TEST(a_cancelled_run_stops_the_statement_but_not_cleanup)
{
	char *path = path_in("cancel.db");
	ops_db *db = NULL;
	ops_rows *rows = NULL;
	ops_error err;

	make_db(path, "CREATE TABLE t (v)");
	CHECK_INT(ops_db_open(NULL, path, &db, &err), OPS_OK);
	CHECK(long_query_cancelled(db, &rows, &err) != OPS_OK);
	CHECK_CONTAINS(err.message, "interrupted");
	CHECK(rows == NULL);
	/* The request is over: the connection works again. */
	CHECK_INT(ops_db_query(db, "SELECT 1", 0, NULL, &rows, &err), OPS_OK);
	ops_rows_free(rows);
	rows = NULL;
	/* Marked cleanup (before a ROLLBACK): the request no longer reaches it. */
	ops_db_set_cleanup(db);
	CHECK_INT(long_query_cancelled(db, &rows, &err), OPS_OK);
	CHECK_STR(ops_rows_value(rows, 0, 0), "1000000");
	ops_rows_free(rows);
	rows = NULL;
	ops_db_close(db);
	/* Opened as cleanup (dropping a temporary database): the same. */
	CHECK_INT(ops_db_open_cleanup(NULL, path, &db, &err), OPS_OK);
	CHECK_INT(long_query_cancelled(db, &rows, &err), OPS_OK);
	CHECK_STR(ops_rows_value(rows, 0, 0), "1000000");
	ops_rows_free(rows);
	ops_db_close(db);
	free(path);
}

/* rotate-keys's pieces: literals for the statements that take no
 * parameters, and the PostgreSQL-only login test and verifier (t510 runs
 * them against a server). */
TEST(literals_quote_and_logins_are_postgresql_only)
{
	char *path = path_in("login.db"), *lit, *verifier = (char *)"x";
	ops_db *db = NULL;
	ops_error err;

	make_db(path, "CREATE TABLE t (x)");
	lit = ops_db_quote_literal(NULL, "it's");
	CHECK_STR(lit, "'it''s'");
	free(lit);
	CHECK_INT(ops_db_open_as(NULL, path, "app", "pw", &db, &err), OPS_EUSAGE);
	CHECK_CONTAINS(err.message, "SQLite has no logins");
	CHECK(db == NULL);
	/* An empty password would let libpq fall back to PGPASSWORD or
	 * ~/.pgpass: never a test of the new one. */
	CHECK_INT(ops_db_open_as(NULL, "rag_db", "app", "", &db, &err), OPS_EUSAGE);
	CHECK_INT(ops_db_open_as(NULL, "rag_db", "", "pw", &db, &err), OPS_EUSAGE);
	CHECK(db == NULL);
	CHECK_INT(ops_db_open(NULL, path, &db, &err), OPS_OK);
	lit = ops_db_quote_literal(db, "a'b");
	CHECK_STR(lit, "'a''b'");
	free(lit);
	CHECK_INT(ops_db_password_verifier(db, "app", "pw", &verifier, &err), OPS_EUSAGE);
	CHECK(verifier == NULL);
	CHECK(!strstr(err.message, "pw"));
	ops_db_close(db);
	free(path);
}

int main(void)
{
	int rc;

	tmp = unit_tmpdir();
	RUN(targets_come_from_the_flag_then_the_configuration);
	RUN(targets_are_classified);
	RUN(opening_never_creates_and_rejects_non_databases);
	RUN(queries_bind_values_and_quote_names);
	RUN(one_sql_text_for_both_dialects);
	RUN(table_names_are_looked_up_as_names);
	RUN(sqlite_copy_is_consistent_and_never_overwrites);
	RUN(a_cancelled_run_stops_the_statement_but_not_cleanup);
	RUN(literals_quote_and_logins_are_postgresql_only);
	rc = unit_done();
	unit_rmrf(tmp);
	free(tmp);
	return rc;
}
