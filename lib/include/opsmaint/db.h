/*
 * One database interface, two drivers: libpq for PostgreSQL and SQLite.
 * A target is a PostgreSQL database name (host, port and user from the
 * configuration), a postgresql:// or postgres:// URI, "sqlite:PATH", or a
 * path ending in ".db", ".sqlite" or ".sqlite3".
 *
 * Safety that every caller gets for free:
 *   - every PostgreSQL session first runs
 *     SELECT pg_catalog.set_config('search_path', '', false)
 *     (as pg_dump and vacuumdb do since CVE-2018-1058), so SQL written by
 *     opsctl must schema-qualify what it names (pg_catalog.pg_stat_activity);
 *   - passwords come only from libpq's own sources (.pgpass, service file,
 *     PGPASSWORD); the connection string built here never carries one, and
 *     connection errors never echo a URI's password;
 *   - identifiers are quoted with the driver's own escaping; values go as
 *     parameters, never spliced into SQL.
 */
#ifndef OPSMAINT_DB_H
#define OPSMAINT_DB_H
#include "opsmaint/api.h"
OPS_API_BEGIN

#include "opsmaint/config.h"
#include "opsmaint/error.h"

typedef enum ops_db_kind { OPS_DB_POSTGRES = 1, OPS_DB_SQLITE = 2 } ops_db_kind;

typedef struct ops_db ops_db;
typedef struct ops_rows ops_rows;

/*
 * Classify target without connecting; for SQLite *path_out (if not NULL)
 * receives a newly allocated file path.  An empty target is OPS_EUSAGE.
 */
ops_code ops_db_target_kind(const char *target, ops_db_kind *kind,
			    char **path_out, ops_error *err);

/*
 * The databases a command runs over: the comma list flag_value (-d), else
 * db.databases, else db.name.  NULL-terminated, free with ops_strv_free.
 * None configured is OPS_ECONFIG "no database given" with a hint naming -d,
 * DB_NAME and db.name.
 */
ops_code ops_db_targets(const ops_config *cfg, const char *flag_value,
			char ***out, ops_error *err);

/*
 * Connect.  Errors: server unreachable -> OPS_EUNAVAIL ("cannot connect to
 * PostgreSQL at HOST:PORT: ..."); authentication failure -> OPS_EPERM;
 * database missing -> OPS_EFAIL "database 'x' does not exist"; SQLite file
 * missing -> OPS_EFAIL "database file 'x' does not exist" (SQLite files are
 * never created by opening them); not a database -> OPS_EDATA.
 *
 * The connection is cancelled with the run (cancel.h): when
 * ops_cancel_request() comes, the statement running on it at that moment is
 * stopped (PQcancel, sqlite3_interrupt) and fails.  That is all: a statement
 * started afterwards runs, so work made of several statements polls
 * ops_cancelled() between them, and that is also how a statement which must
 * still run after the request (ROLLBACK) gets to run.
 */
ops_code ops_db_open(const ops_config *cfg, const char *target, ops_db **out,
		     ops_error *err);
void ops_db_close(ops_db *db);

/*
 * A login test: ops_db_open as user with password (rotate-keys proving a new
 * password works), whatever the configuration, PGUSER or a URI target say
 * about the user.  The password goes to libpq as its "password" keyword
 * only: never into a conninfo string, the environment, a log line or a
 * message, and ~/.pgpass and PGPASSWORD are not consulted.  A refused login
 * is OPS_EPERM "cannot connect to database 'x' as 'user': ..."; an empty
 * user or password is OPS_EUSAGE, as is an SQLite target.
 */
ops_code ops_db_open_as(const ops_config *cfg, const char *target, const char *user,
			const char *password, ops_db **out, ops_error *err);

/*
 * Work that must still be done when the run has been cancelled, and must not
 * be cut short by it: ROLLBACK of the transaction in progress, dropping a
 * temporary database, renaming a database back into its place.  A cleanup
 * connection is never cancelled by ops_cancel_request(); it is otherwise
 * the same.
 *
 * ops_db_open_cleanup opens one (typically on the maintenance database, after
 * the work's own connection failed or was cancelled):
 *
 *	if (ops_db_open_cleanup(cfg, "postgres", &admin, &e2) == OPS_OK)
 *		ops_db_exec(admin, "DROP DATABASE IF EXISTS \"opsctl_restore_123\"", &e2);
 *	ops_db_close(admin);
 *
 * ops_db_set_cleanup turns an open connection into one from then on (before
 * its ROLLBACK); when it returns, a cancellation no longer reaches it.  A
 * statement cancelled before that has already failed.  Keep cleanup short:
 * a second signal ends the process (the CLI), and nothing cancels a cleanup
 * statement that blocks, except db.statement_timeout and db.lock_timeout.
 */
ops_code ops_db_open_cleanup(const ops_config *cfg, const char *target, ops_db **out,
			     ops_error *err);
void ops_db_set_cleanup(ops_db *db);

ops_db_kind ops_db_kind_of(const ops_db *db);
/* Display name: the database name for PostgreSQL, the file path for SQLite
 * (never a URI with credentials). */
const char *ops_db_name(const ops_db *db);
/* PostgreSQL server_version_num (150004), or SQLite's sqlite3_libversion_number. */
int ops_db_server_version(const ops_db *db);
/* File path for SQLite, NULL for PostgreSQL. */
const char *ops_db_path(const ops_db *db);

/*
 * Run SQL that returns no rows to the caller (may hold several statements
 * when nparams is 0).  Failures are OPS_EFAIL with the server's message as
 * message, its DETAIL/HINT in detail/hint; a lost connection is OPS_EUNAVAIL.
 */
ops_code ops_db_exec(ops_db *db, const char *sql, ops_error *err);

/*
 * Run one statement with text parameters ($1.. for PostgreSQL, ?1.. for
 * SQLite) and collect all rows as text.
 */
ops_code ops_db_query(ops_db *db, const char *sql, int nparams,
		      const char *const *params, ops_rows **out, ops_error *err);

/*
 * The prefix of numbered parameters in db's dialect: "$" for PostgreSQL,
 * "?" for SQLite, so that SQL written once for both engines says
 * "WHERE version = %s1" and formats it with this.
 */
const char *ops_db_param_prefix(const ops_db *db);

int ops_rows_count(const ops_rows *rows);
int ops_rows_columns(const ops_rows *rows);
const char *ops_rows_column_name(const ops_rows *rows, int col);
/* Column index by name, -1 if absent. */
int ops_rows_column(const ops_rows *rows, const char *name);
/* Text value, NULL for SQL NULL. */
const char *ops_rows_value(const ops_rows *rows, int row, int col);
void ops_rows_free(ops_rows *rows);
/* The value as a number; 0 for SQL NULL or no such cell. */
double ops_rows_number(const ops_rows *rows, int row, int col);
/*
 * A cell that must hold a whole number (a count, a page total): parsed by the
 * checked integer parser; NULL, garbage or overflow is OPS_EFAIL naming the
 * value, never a silent 0 or a clamped figure.
 */
ops_code ops_rows_int64(const ops_rows *rows, int row, int col, long long *out,
			ops_error *err);
/* Run one statement (as ops_db_query) and read the first column of its first
 * row as a number into *out (0 when there is none). */
ops_code ops_db_query_number(ops_db *db, const char *sql, int nparams, const char *const *params,
			     double *out, ops_error *err);

/* Quote one identifier ("a""b").  Newly allocated; NULL on OOM. */
char *ops_db_quote_ident(const ops_db *db, const char *ident);
/*
 * Quote text as a string literal ('it''s'; E'...' where PostgreSQL needs
 * it), for the few statements that take no parameters (ALTER ROLE ...
 * PASSWORD).  Newly allocated; NULL on OOM.
 */
char *ops_db_quote_literal(const ops_db *db, const char *text);

/*
 * The SCRAM-SHA-256 verifier of password for role, computed client-side
 * (PQencryptPasswordConn with its salt and iterations), for
 * "ALTER ROLE r PASSWORD 'verifier'": the server, and its log with
 * log_statement = all, see the verifier, never the password.  *verifier is
 * newly allocated; the caller cleanses (OPENSSL_cleanse) and frees it.
 * PostgreSQL only: SQLite is OPS_EUSAGE.
 */
ops_code ops_db_password_verifier(ops_db *db, const char *role, const char *password,
				  char **verifier, ops_error *err);

/*
 * A table named by a user ("name", or "schema.name" on PostgreSQL), looked
 * up in the catalog with the name as a query parameter, never as SQL, and
 * returned in *out quoted for SQL (newly allocated): on PostgreSQL
 * schema-qualified ("public"."documents"), a table, partitioned table or
 * materialized view outside the system schemas; on SQLite a table.  Not
 * found is OPS_EFAIL "table 'x' does not exist"; a PostgreSQL name found in
 * several schemas is OPS_EUSAGE asking for schema.name.  schema, when not
 * NULL, is where an unqualified PostgreSQL name is looked up instead of every
 * schema: names that come from configuration and defaults pass db.schema, so
 * that anyone able to create a table of the same name elsewhere cannot make
 * them ambiguous; names a user typed pass NULL.
 */
ops_code ops_db_resolve_table(ops_db *db, const char *name, const char *schema, char **out,
			      ops_error *err);

/*
 * A consistent copy of an open SQLite database into a new file at path
 * (created owner-only, never over an existing file) with SQLite's online
 * backup API, read back with quick_check: a copy that cannot be read back
 * is not a copy.  A damaged source is OPS_EDATA; a cancelled run
 * (cancel.h) stops between steps with OPS_EINTR.  The caller syncs and
 * renames path, and removes it on failure.
 */
ops_code ops_db_sqlite_copy(ops_db *db, const char *path, ops_error *err);

/*
 * Receive server notices (ANALYZE VERBOSE, VACUUM VERBOSE output); one call
 * per message, without the trailing newline.  NULL restores the default,
 * which logs them at debug level.
 */
typedef void (*ops_db_notice_fn)(void *arg, const char *message);
void ops_db_set_notice_handler(ops_db *db, ops_db_notice_fn fn, void *arg);

/* 1 while a transaction is open on db (after BEGIN, before COMMIT/ROLLBACK). */
int ops_db_in_transaction(ops_db *db);

/* SQLSTATE of the last PostgreSQL error ("42P01"), "" if none or SQLite. */
const char *ops_db_last_sqlstate(const ops_db *db);

/* The underlying handle for driver-specific modules: PGconn * or sqlite3 *. */
void *ops_db_handle(ops_db *db);

/*
 * Cancel the statement running on db from another thread or a signal handler
 * context prepared beforehand (PostgreSQL PQcancel / sqlite3_interrupt).
 */
void ops_db_cancel(ops_db *db);

OPS_API_END
#endif
