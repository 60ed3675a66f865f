/*
 * opsctl health's data components: db (the `db health` checks of every
 * configured database, and with --full the dead tuples of its largest
 * tables), backups (the newest good backup's age in each configured store,
 * and the WAL archiver's failures since the last run) and vector (the
 * index against its manifest and its source rows, the age of its last
 * rebuild, and with --full `vector verify`'s search self-test).  Each is
 * its domain's own check (dbmaint.h, backup.h, vector.h) judged against
 * [health]'s thresholds: nothing here reads a table, a store or an index
 * by itself.
 *
 * Time: lib/db and the S3 store take their limits from the configuration,
 * so each database and store is reached through a copy of it whose
 * db.connect_timeout, db.statement_timeout and s3.timeout are cut to what
 * is left of the component's budget (health_time_left).  The SHA-256 of a
 * large index and the --full checks are bounded by their size, not by the
 * budget: --full is the slow run by design.
 *
 * States: a threshold crossed is WARNING or CRITICAL; a database or store
 * that cannot be reached, a missing index or backup, damage, CRITICAL.  A
 * check that could not be made (a refused login, a query that failed) is
 * the component's error, so UNKNOWN, unless something CRITICAL was found
 * beside it: CRITICAL outranks UNKNOWN, as in `db health`, and the failure
 * is then one more reason in the summary.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "health_internal.h"
#include "opsmaint/backup.h"
#include "opsmaint/clock.h"
#include "opsmaint/db.h"
#include "opsmaint/dbmaint.h"
#include "opsmaint/fileio.h"
#include "opsmaint/journal.h"
#include "opsmaint/manifest.h"
#include "opsmaint/output.h"
#include "opsmaint/vector.h"

/* --full's bloat check looks at this many of the largest tables. */
#define BLOAT_TABLES 10
/* Dead tuples below this many never make a table bloated, as in `db
 * health`'s dead_tuples check: a small table's share says nothing. */
#define BLOAT_MIN_DEAD 1000
/* An index up to this size has its SHA-256 checked on every run (about a
 * tenth of a second); a larger one only with --full, or when it was
 * modified after its manifest. */
#define VECTOR_HASH_MAX (64LL << 20)

/* ---- shared ---- */

/*
 * What one component gathered: the worst state it raised, and the first
 * check it could not make (the component's error unless something worse
 * was found).
 */
struct judge {
	health_result *r;
	int worst;
	ops_error unknown;
	int nunknown;
};

static void judge_raise(struct judge *j, int state, const char *msg)
{
	health_raise(j->r, state, "%s", msg);
	if (state > j->worst)
		j->worst = state;
}

/* A check that could not be made: "cannot check X: why". */
static void judge_unknown(struct judge *j, const char *what, const ops_error *e)
{
	if (j->nunknown++ == 0)
		ops_error_set(&j->unknown, e->code == OPS_OK ? OPS_EFAIL : e->code,
			      "cannot check %s: %s", what, e->message);
}

/* The component's outcome: an error (UNKNOWN) for a check that could not
 * be made, unless something CRITICAL outranks it. */
static ops_code judge_end(struct judge *j, ops_error *err)
{
	if (!j->nunknown)
		return OPS_OK;
	if (j->worst >= OPS_HEALTH_CRITICAL) {
		health_raise(j->r, OPS_HEALTH_WARNING, "%s", j->unknown.message);
		return OPS_OK;
	}
	*err = j->unknown;
	if (j->nunknown > 1)
		ops_error_detail(err, "and %d more", j->nunknown - 1);
	return err->code;
}

/*
 * A copy of cfg, every key that was set kept with its origin, whose
 * database and S3 timeouts are at most secs (rounded up: libpq and the
 * store count whole seconds).  NULL with err set on failure.
 */
static ops_config *bounded_config(const ops_config *cfg, double secs, ops_error *err)
{
	static const char *const limits[] = {"db.connect_timeout", "db.statement_timeout",
					     "s3.timeout", NULL};
	const ops_key_def *k;
	ops_config *c = ops_config_new();
	long t = secs < 1 ? 1 : (long)ceil(secs);
	char v[32];
	int i;

	if (!c) {
		ops_error_oom(err);
		return NULL;
	}
	for (k = ops_config_keys(); k->name; k++) {
		const char *origin = ops_config_origin(cfg, k->name);
		const char *value = ops_config_get(cfg, k->name);

		if (!origin || !value || strcmp(origin, "default") == 0)
			continue;
		if (ops_config_set(c, k->name, value, origin, err) != OPS_OK)
			goto fail;
	}
	for (i = 0; limits[i]; i++) {
		long now = ops_config_int(c, limits[i]);

		/* 0 is "none" for statement_timeout. */
		if (now > 0 && now <= t)
			continue;
		snprintf(v, sizeof v, "%ld", t);
		if (ops_config_set(c, limits[i], v, "opsctl health (time left)", err) != OPS_OK)
			goto fail;
	}
	return c;
fail:
	ops_config_free(c);
	return NULL;
}

/* A run like ctx's over a configuration bounded to the time left. */
struct bounded {
	ops_config *cfg;
	ops_run run;
};

static ops_code bounded_open(const health_ctx *ctx, struct bounded *b, ops_error *err)
{
	b->cfg = bounded_config(ctx->cfg, health_time_left(ctx, 0), err);
	if (!b->cfg)
		return err->code;
	b->run = *ctx->run;
	b->run.cfg = b->cfg;
	return OPS_OK;
}

static void bounded_close(struct bounded *b)
{
	ops_config_free(b->cfg);
	b->cfg = NULL;
}

/* A perfdata label "PREFIX_NAME_SUFFIX" in [a-z0-9_.]: a database's name
 * (a SQLite file's base name) between the component and the figure. */
static void perf_label(char *out, size_t len, const char *prefix, const char *name,
		       const char *suffix)
{
	const char *base = strrchr(name, '/');
	size_t i;

	if (strncmp(name, "sqlite:", 7) == 0)
		name += 7;
	if (base && base[1])
		name = base + 1;
	snprintf(out, len, "%s_%s_%s", prefix, name, suffix);
	for (i = 0; out[i]; i++) {
		char c = out[i];

		if (c >= 'A' && c <= 'Z')
			out[i] = (char)(c - 'A' + 'a');
		else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
			   c == '.'))
			out[i] = '_';
	}
}

static double num_or_nan(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* A database's name as reports show it: never a URI's password. */
static char *display_name(const cJSON *report, const char *target)
{
	const char *n = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(report,
									       "database"));

	return n ? strdup(n) : ops_redact_arg(NULL, target);
}

/* ---- db ---- */

/* db health's checks as perfdata: what ops_dbm_health_perfdata writes,
 * through the engine's perfdata so that it is validated and labelled like
 * every component's ("db_chatbot_db_connections"). */
static void db_perfdata(health_result *r, const cJSON *report, const char *name)
{
	const cJSON *c;
	char label[160];

	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(report, "checks")) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(c, "value");
		const char *check = cJSON_GetStringValue(cJSON_GetObjectItem(c, "check"));
		const char *unit = cJSON_GetStringValue(cJSON_GetObjectItem(c, "unit"));

		if (!cJSON_IsNumber(v) || !check)
			continue;
		perf_label(label, sizeof label, "db", name, check);
		health_perf(r, label, v->valuedouble,
			    unit && (strcmp(unit, "%") == 0 || strcmp(unit, "s") == 0) ? unit : "",
			    num_or_nan(c, "warning_above"), num_or_nan(c, "critical_above"), NAN, NAN);
	}
}

/*
 * --full: of the largest tables, those whose dead tuples exceed
 * health.dead_tuples_pct (the threshold `db health` judges every table by)
 * are WARNING, with the space VACUUM FULL would give back.  Where the dead
 * tuples check counts tables, this one says which large ones are worth
 * the lock.
 */
static void db_bloat(const ops_dbm_ctx *dctx, const char *target, const char *name,
		     struct judge *j, cJSON *dbrep)
{
	long pct = ops_config_int(dctx->run->cfg, "health.dead_tuples_pct");
	cJSON *rep = NULL;
	const cJSON *t;
	ops_error e = {0};
	char label[160], list[300] = "", what[200];
	double worst = 0, wasted = 0;
	size_t used = 0;
	int n = 0;

	if (ops_dbm_bloat(dctx, target, BLOAT_TABLES, &rep, &e) != OPS_OK) {
		snprintf(what, sizeof what, "the bloat of database '%s'", name);
		judge_unknown(j, what, &e);
		cJSON_Delete(rep);
		return;
	}
	cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(rep, "tables")) {
		double dp = num_or_nan(t, "dead_pct"), dead = num_or_nan(t, "dead_tuples");
		double bytes = num_or_nan(t, "table_bytes");
		int w;

		if (isnan(dp))
			continue;
		if (dp > worst)
			worst = dp;
		if (dp <= (double)pct || !(dead >= BLOAT_MIN_DEAD))
			continue;
		n++;
		if (!isnan(bytes))
			wasted += bytes * dp / 100;
		w = snprintf(list + used, sizeof list - used, "%s%s.%s %.1f%%", used ? ", " : "",
			     cJSON_GetStringValue(cJSON_GetObjectItem(t, "schema")),
			     cJSON_GetStringValue(cJSON_GetObjectItem(t, "table")), dp);
		if (w > 0 && (size_t)w < sizeof list - used)
			used += (size_t)w;
	}
	perf_label(label, sizeof label, "db", name, "bloat_pct");
	health_perf(j->r, label, worst, "%", (double)pct, NAN, 0, 100);
	if (n) {
		char msg[600];

		snprintf(msg, sizeof msg, "database '%s': %d of its %d largest tables have more "
			 "than %ld%% dead tuples (%s), about %.0f MiB for VACUUM FULL to return",
			 name, n, BLOAT_TABLES, pct, list, wasted / 1048576);
		judge_raise(j, OPS_HEALTH_WARNING, msg);
	}
	cJSON_AddItemToObject(dbrep, "bloat", cJSON_DetachItemFromObject(rep, "tables"));
	cJSON_Delete(rep);
}

/* One database: db health, then with --full its bloat. */
static ops_code db_one(const health_ctx *ctx, const char *target, struct judge *j, cJSON *dbs,
		       ops_error *err)
{
	struct bounded b = {0};
	ops_dbm_ctx dctx;
	cJSON *rep = NULL;
	ops_error e = {0};
	char *name = NULL, msg[700];
	int level = 0;
	ops_code rc;

	if ((rc = bounded_open(ctx, &b, err)) != OPS_OK)
		return rc;
	dctx = (ops_dbm_ctx){.run = &b.run};
	rc = ops_dbm_health(&dctx, target, &level, &rep, &e);
	if (!(name = display_name(rep, target))) {
		rc = ops_error_oom(err);
		goto out;
	}
	if (rc == OPS_OK) {
		db_perfdata(j->r, rep, name);
		if (level > 0)	/* "database 'x' is degraded: connections (warning)" */
			judge_raise(j, level >= 2 ? OPS_HEALTH_CRITICAL : OPS_HEALTH_WARNING,
				    e.message);
		if (ctx->full && strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(rep, "engine"))
					? cJSON_GetStringValue(cJSON_GetObjectItem(rep, "engine"))
					: "", "postgresql") == 0)
			db_bloat(&dctx, target, name, j, rep);
	} else if (rc == OPS_EINTR || rc == OPS_EINTERNAL) {
		*err = e;
		goto out;
	} else if (rc == OPS_EUNAVAIL || strstr(e.message, "statement timeout")) {
		/* Down, or too slow to answer within the budget: either way
		 * the application cannot use it now. */
		snprintf(msg, sizeof msg, "database '%s' is unreachable: %s", name, e.message);
		judge_raise(j, OPS_HEALTH_CRITICAL, msg);
	} else {
		snprintf(msg, sizeof msg, "database '%s'", name);
		judge_unknown(j, msg, &e);
	}
	if (!rep)
		rep = cJSON_CreateObject();
	if (rep) {
		if (!cJSON_GetObjectItem(rep, "database"))
			cJSON_AddStringToObject(rep, "database", name);
		if (rc != OPS_OK)
			cJSON_AddStringToObject(rep, "error", e.message);
		cJSON_AddItemToArray(dbs, rep);
		rep = NULL;
	}
	rc = OPS_OK;
out:
	cJSON_Delete(rep);
	free(name);
	bounded_close(&b);
	return rc;
}

ops_code health_db(const health_ctx *ctx, health_result *r, ops_error *err)
{
	struct judge j = {.r = r};
	char **targets = NULL;
	cJSON *dbs;
	ops_code rc;
	size_t i;

	if ((rc = ops_db_targets(ctx->cfg, NULL, &targets, err)) == OPS_ECONFIG) {
		ops_error_clear(err);
		health_skip(r, "no database is configured (db.name, db.databases)");
		return OPS_OK;
	}
	if (rc != OPS_OK)
		return rc;
	dbs = cJSON_AddArrayToObject(health_report(r), "databases");
	for (i = 0; targets[i] && rc == OPS_OK; i++)
		if ((rc = ops_run_check_cancel(ctx->run, err)) == OPS_OK)
			rc = db_one(ctx, targets[i], &j, dbs, err);
	ops_strv_free(targets);
	return rc != OPS_OK ? rc : judge_end(&j, err);
}

/* ---- backups ---- */

/* The newest good backup of one store against the age thresholds; its age
 * (-1: none, or the store could not be read) in *age. */
static ops_code backup_store(const health_ctx *ctx, int s3, struct judge *j, cJSON *stores,
			     double *age, ops_error *err)
{
	struct bounded b = {0};
	ops_store *store = NULL;
	ops_backup_ctx bctx;
	ops_manifest *m = NULL;
	char *id = NULL, msg[700], when[OPS_TIME_ISO_SIZE];
	const char *where = s3 ? "the S3 backup store" : "the backup store";
	long warn = ops_config_int(ctx->cfg, "health.backup_max_age");
	long crit = ops_config_int(ctx->cfg, "health.backup_critical_age");
	cJSON *o = cJSON_CreateObject();
	ops_error e = {0};
	ops_code rc;

	*age = -1;
	if (!o)
		return ops_error_oom(err);
	cJSON_AddItemToArray(stores, o);
	if ((rc = bounded_open(ctx, &b, err)) != OPS_OK)
		return rc;
	if ((rc = ops_backup_open_store(b.cfg, s3, &store, &e)) != OPS_OK)
		goto failed;
	where = ops_store_describe(store);
	cJSON_AddStringToObject(o, "store", where);
	bctx = (ops_backup_ctx){.run = &b.run, .store = store};
	rc = ops_backup_newest(&bctx, 1, &id, &e);
	if (rc == OPS_EFAIL) {
		/* "no complete backup in STORE": nothing to restore from. */
		judge_raise(j, OPS_HEALTH_CRITICAL, e.message);
		cJSON_AddNullToObject(o, "newest");
		rc = OPS_OK;
		goto out;
	}
	if (rc != OPS_OK || (rc = ops_manifest_load(store, id, &m, &e)) != OPS_OK)
		goto failed;
	*age = (double)ops_run_now(ctx->run) - m->start;
	if (*age < 0)
		*age = 0;
	cJSON_AddStringToObject(o, "newest", id);
	cJSON_AddStringToObject(o, "time", ops_time_iso((time_t)m->start, when));
	cJSON_AddNumberToObject(o, "age_seconds", *age);
	if (*age > (double)warn) {
		char a[32], limit[32];

		snprintf(msg, sizeof msg, "newest backup in %s is %s old (%s, more than %s)", where,
			 ops_human_seconds(*age, a, sizeof a), id,
			 ops_human_seconds(*age > (double)crit ? (double)crit : (double)warn, limit,
					   sizeof limit));
		judge_raise(j, *age > (double)crit ? OPS_HEALTH_CRITICAL : OPS_HEALTH_WARNING, msg);
	}
	goto out;
failed:
	if (rc == OPS_EINTR || rc == OPS_EINTERNAL) {
		*err = e;
		goto out;
	}
	cJSON_AddStringToObject(o, "error", e.message);
	if (rc == OPS_EUNAVAIL) {
		snprintf(msg, sizeof msg, "%s is unreachable: %s", where, e.message);
		judge_raise(j, OPS_HEALTH_CRITICAL, msg);
	} else {
		judge_unknown(j, where, &e);
	}
	rc = OPS_OK;
out:
	ops_manifest_free(m);
	free(id);
	ops_store_free(store);
	bounded_close(&b);
	return rc;
}

/* The remembered failed_count of one database's archiver (-1: never seen). */
static cJSON *archiver_state(const health_ctx *ctx, const char *name)
{
	cJSON *all = cJSON_GetObjectItemCaseSensitive(ctx->state, "archiver"), *one;

	if (!cJSON_IsObject(all)) {
		cJSON_DeleteItemFromObjectCaseSensitive(ctx->state, "archiver");
		all = cJSON_AddObjectToObject(ctx->state, "archiver");
	}
	if (!all)
		return NULL;
	one = cJSON_GetObjectItemCaseSensitive(all, name);
	if (!cJSON_IsObject(one)) {
		cJSON_DeleteItemFromObjectCaseSensitive(all, name);
		one = cJSON_AddObjectToObject(all, name);
	}
	return one;
}

/*
 * pg_stat_archiver of one PostgreSQL database's server against what the
 * last run saw.  New failures since then are WARNING naming the last
 * failed segment; a failure newer than the last success is CRITICAL: the
 * archiver retries the same segment until it succeeds, so nothing after
 * it is archived and point-in-time recovery stops there.  The first run
 * only remembers the count: failures before it are history, not news
 * (a stuck archiver is not history, and is CRITICAL on the first run too).
 */
static ops_code archiver_one(const health_ctx *ctx, const char *target, struct judge *j,
			     cJSON *list, long long *new_failures, ops_error *err)
{
	struct bounded b = {0};
	ops_db *db = NULL;
	ops_rows *rows = NULL;
	cJSON *o = cJSON_CreateObject(), *st, *prev;
	ops_error e = {0};
	char *name = NULL, msg[700], when[OPS_TIME_ISO_SIZE];
	long long failed = 0, fresh = 0;
	double failed_at, archived_at;
	const char *last_wal, *mode;
	ops_code rc;

	if (!o)
		return ops_error_oom(err);
	cJSON_AddItemToArray(list, o);
	if ((rc = bounded_open(ctx, &b, err)) != OPS_OK)
		return rc;
	if (!(name = ops_redact_arg(NULL, target))) {
		rc = ops_error_oom(err);
		goto out;
	}
	cJSON_AddStringToObject(o, "database", name);
	if ((rc = ops_db_open(b.cfg, target, &db, &e)) != OPS_OK ||
	    (rc = ops_db_query(db, "SELECT a.failed_count, a.last_failed_wal, "
			       "EXTRACT(epoch FROM a.last_failed_time), "
			       "EXTRACT(epoch FROM a.last_archived_time), "
			       "pg_catalog.current_setting('archive_mode') "
			       "FROM pg_catalog.pg_stat_archiver a", 0, NULL, &rows, &e)) != OPS_OK ||
	    (rc = ops_rows_int64(rows, 0, 0, &failed, &e)) != OPS_OK) {
		if (rc == OPS_EINTR || rc == OPS_EINTERNAL) {
			*err = e;
			goto out;
		}
		snprintf(msg, sizeof msg, "the WAL archiver of '%s'", name);
		judge_unknown(j, msg, &e);
		cJSON_AddStringToObject(o, "error", e.message);
		rc = OPS_OK;
		goto out;
	}
	mode = ops_rows_value(rows, 0, 4);
	cJSON_AddStringToObject(o, "archive_mode", mode ? mode : "");
	if (mode && strcmp(mode, "off") == 0)
		goto out;	/* nothing is archived: nothing can fail */
	last_wal = ops_rows_value(rows, 0, 1);
	failed_at = ops_rows_value(rows, 0, 2) ? ops_rows_number(rows, 0, 2) : -1;
	archived_at = ops_rows_value(rows, 0, 3) ? ops_rows_number(rows, 0, 3) : -1;
	cJSON_AddNumberToObject(o, "failed_count", (double)failed);
	if (last_wal)
		cJSON_AddStringToObject(o, "last_failed_wal", last_wal);
	if (!(st = archiver_state(ctx, name))) {
		rc = ops_error_oom(err);
		goto out;
	}
	prev = cJSON_GetObjectItemCaseSensitive(st, "failed_count");
	if (cJSON_IsNumber(prev))
		/* Fewer than last time: the statistics were reset since, and
		 * every failure counted now is new. */
		fresh = failed >= (long long)prev->valuedouble
			? failed - (long long)prev->valuedouble : failed;
	else
		cJSON_AddBoolToObject(o, "first_run", 1);
	cJSON_DeleteItemFromObjectCaseSensitive(st, "failed_count");
	cJSON_AddNumberToObject(st, "failed_count", (double)failed);
	cJSON_AddNumberToObject(o, "new_failures", (double)fresh);
	*new_failures += fresh;
	if (failed_at >= 0 && failed_at > archived_at) {
		snprintf(msg, sizeof msg, "WAL archiving of '%s' is stuck: segment %s failed at %s "
			 "and nothing was archived since", name, last_wal ? last_wal : "?",
			 ops_time_iso((time_t)failed_at, when));
		judge_raise(j, OPS_HEALTH_CRITICAL, msg);
	} else if (fresh > 0) {
		snprintf(msg, sizeof msg, "%lld WAL archive failure%s on '%s' since the last run "
			 "(last failed segment %s)", fresh, fresh == 1 ? "" : "s", name,
			 last_wal ? last_wal : "?");
		judge_raise(j, OPS_HEALTH_WARNING, msg);
	}
out:
	ops_rows_free(rows);
	ops_db_close(db);
	free(name);
	bounded_close(&b);
	return rc;
}

/* The databases whose server's archiver is watched: those backups dump
 * (backup.databases, else db.databases, else db.name), PostgreSQL only. */
static ops_code archiver_all(const health_ctx *ctx, struct judge *j, cJSON *rep, ops_error *err)
{
	const char *list = ops_config_get(ctx->cfg, "backup.databases");
	char **targets = NULL;
	cJSON *arr = NULL;
	long long fresh = 0;
	ops_code rc;
	size_t i;

	rc = ops_db_targets(ctx->cfg, list && *list ? list : NULL, &targets, err);
	if (rc == OPS_ECONFIG) {
		ops_error_clear(err);
		return OPS_OK;
	}
	for (i = 0; rc == OPS_OK && targets[i]; i++) {
		ops_db_kind kind;

		if (ops_db_target_kind(targets[i], &kind, NULL, NULL) != OPS_OK ||
		    kind != OPS_DB_POSTGRES)
			continue;
		if (!arr && !(arr = cJSON_AddArrayToObject(rep, "wal_archiver")))
			rc = ops_error_oom(err);
		if (rc == OPS_OK && (rc = ops_run_check_cancel(ctx->run, err)) == OPS_OK)
			rc = archiver_one(ctx, targets[i], j, arr, &fresh, err);
	}
	ops_strv_free(targets);
	if (rc == OPS_OK && arr)
		health_perf(j->r, "backups_wal_failures", (double)fresh, "", 0, NAN, 0, NAN);
	return rc;
}

ops_code health_backups(const health_ctx *ctx, health_result *r, ops_error *err)
{
	struct judge j = {.r = r};
	const char *dir = ops_config_get(ctx->cfg, "backup.dir");
	const char *bucket = ops_config_get(ctx->cfg, "s3.bucket");
	int local = dir && *dir, s3 = bucket && *bucket, k;
	double age, worst = -1;
	cJSON *rep = health_report(r), *stores;
	ops_code rc = OPS_OK;

	/* backup.dir unset means STATE_DIR/backups/store: a store only when
	 * a backup has made it. */
	if (!local && !s3) {
		char *def = ops_path_join(ops_config_get(ctx->cfg, "general.state_dir"),
					  "backups/store");
		struct stat st;

		if (!def)
			return ops_error_oom(err);
		local = stat(def, &st) == 0 && S_ISDIR(st.st_mode);
		free(def);
	}
	if (!local && !s3) {
		health_skip(r, "no backup store is configured (backup.dir, s3.bucket)");
		return OPS_OK;
	}
	stores = cJSON_AddArrayToObject(rep, "stores");
	for (k = 0; k < 2 && rc == OPS_OK; k++) {
		if (!(k == 0 ? local : s3))
			continue;
		rc = backup_store(ctx, k == 1, &j, stores, &age, err);
		if (age > worst)
			worst = age;
	}
	if (rc != OPS_OK)
		return rc;
	if (worst >= 0) {
		health_perf(r, "backups_age", worst, "s",
			    (double)ops_config_int(ctx->cfg, "health.backup_max_age"),
			    (double)ops_config_int(ctx->cfg, "health.backup_critical_age"), 0, NAN);
		health_figure(r, "opsctl_health_backup_age_seconds", worst);
	}
	if ((rc = archiver_all(ctx, &j, rep, err)) != OPS_OK)
		return rc;
	return judge_end(&j, err);
}

/* ---- vector ---- */

/* --full: `vector verify`, for its search self-test (and the ids it
 * compares, judged with the same tolerance as the counts). */
static void vector_full(const ops_vector_ctx *vctx, struct judge *j, long tol, cJSON *rep)
{
	cJSON *v = NULL;
	ops_error e = {0};
	ops_code rc = ops_vector_verify(vctx, &v, &e);
	double searched = num_or_nan(v, "searched"), found = num_or_nan(v, "found");
	double missing = num_or_nan(v, "missing_ids"), orphan = num_or_nan(v, "orphan_ids");
	double ntotal = num_or_nan(v, "vectors"), off;
	char msg[700];

	if (rc == OPS_EDATA) {
		/* Damage, another dimension, recall below vector.recall_bar. */
		judge_raise(j, OPS_HEALTH_CRITICAL, e.message);
	} else if (rc != OPS_OK && rc != OPS_EFAIL) {
		judge_unknown(j, "the index's search", &e);
	} else if (isnan(searched)) {
		judge_raise(j, OPS_HEALTH_WARNING, "no source vector to search the index with");
	} else {
		cJSON_AddNumberToObject(rep, "searched", searched);
		cJSON_AddNumberToObject(rep, "found", found);
		if (found < searched) {
			snprintf(msg, sizeof msg, "search self-test found %.0f of %.0f sampled vectors",
				 found, searched);
			judge_raise(j, OPS_HEALTH_CRITICAL, msg);
		}
		off = (isnan(missing) ? 0 : missing) + (isnan(orphan) ? 0 : orphan);
		if (!isnan(ntotal) && ntotal > 0 && 100 * off / ntotal > (double)tol) {
			snprintf(msg, sizeof msg, "%.0f source rows are missing from the index and "
				 "%.0f index ids have no row", isnan(missing) ? 0 : missing,
				 isnan(orphan) ? 0 : orphan);
			judge_raise(j, OPS_HEALTH_WARNING, msg);
		}
	}
	cJSON_Delete(v);
}

ops_code health_vector(const health_ctx *ctx, health_result *r, ops_error *err)
{
	const char *path = ops_config_get(ctx->cfg, "vector.index_path");
	const char *origin = ops_config_origin(ctx->cfg, "vector.index_path");
	long tol = ops_config_int(ctx->cfg, "health.vector_count_tolerance_pct");
	long warn = ops_config_int(ctx->cfg, "health.vector_max_age");
	long crit = ops_config_int(ctx->cfg, "health.vector_critical_age");
	struct judge j = {.r = r};
	struct bounded b = {0};
	ops_vector_ctx vctx;
	cJSON *rep = NULL, *out = health_report(r);
	const cJSON *f;
	ops_error e = {0};
	double vectors, rows, age, drift;
	char msg[700], a[32], limit[32];
	ops_code rc;

	/* vector.index_path has the guide's path as its default: an index
	 * there is this host's, none there means no index is kept here. */
	if ((!origin || strcmp(origin, "default") == 0) && path && access(path, F_OK) != 0) {
		health_skip(r, "vector.index_path is not set and there is no index at its default "
			    "path");
		return OPS_OK;
	}
	if ((rc = bounded_open(ctx, &b, err)) != OPS_OK)
		return rc;
	vctx = (ops_vector_ctx){.run = &b.run};
	rc = ops_vector_check(&vctx, ctx->full ? -1 : VECTOR_HASH_MAX, &rep, &e);
	/* The component's report owns it from here. */
	if (rep)
		cJSON_AddItemToObject(out, "index", rep);
	if (rc == OPS_EINTR || rc == OPS_EINTERNAL) {
		*err = e;
		goto out;
	}
	if (rc != OPS_OK) {	/* no index, or one that cannot be read */
		judge_raise(&j, OPS_HEALTH_CRITICAL, e.message);
		rc = OPS_OK;
		goto out;
	}
	cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(rep, "findings"))
		judge_raise(&j, OPS_HEALTH_CRITICAL, cJSON_GetStringValue(f));
	if (cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(rep, "manifest")))
		judge_raise(&j, OPS_HEALTH_WARNING, "the index has no manifest: its checksum and "
			    "build time cannot be checked");
	vectors = num_or_nan(rep, "vectors");
	rows = num_or_nan(rep, "rows");
	if (isnan(rows)) {
		ops_error_set(&e, OPS_EFAIL, "%s",
			      cJSON_GetStringValue(cJSON_GetObjectItem(rep, "rows_error")));
		judge_unknown(&j, "the index's source rows", &e);
	}
	if (!isnan(vectors))
		health_perf(r, "vector_count", vectors, "", NAN, NAN, 0, NAN);
	if (!isnan(vectors) && !isnan(rows)) {
		drift = 100 * fabs(vectors - rows) / (rows > 0 ? rows : 1);
		cJSON_AddNumberToObject(out, "drift_pct", drift);
		health_perf(r, "vector_drift_pct", drift, "%", (double)tol,
			    tol > 0 ? 10.0 * (double)tol : NAN, 0, NAN);
		/* Tolerance 0: any difference is WARNING, never CRITICAL. */
		if (drift > (double)tol) {
			snprintf(msg, sizeof msg, "index holds %.0f vectors, the source %.0f rows "
				 "(%.1f%% apart, tolerance %ld%%)", vectors, rows, drift, tol);
			judge_raise(&j, tol > 0 && drift > 10.0 * (double)tol ? OPS_HEALTH_CRITICAL
				    : OPS_HEALTH_WARNING, msg);
		}
	}
	age = num_or_nan(rep, "age_seconds");
	if (!isnan(age)) {
		health_perf(r, "vector_age", age, "s", (double)warn, (double)crit, 0, NAN);
		health_figure(r, "opsctl_health_vector_age_seconds", age);
		if (age > (double)warn) {
			snprintf(msg, sizeof msg, "index last rebuilt %s ago (more than %s)",
				 ops_human_seconds(age, a, sizeof a),
				 ops_human_seconds(age > (double)crit ? (double)crit : (double)warn,
						   limit, sizeof limit));
			judge_raise(&j, age > (double)crit ? OPS_HEALTH_CRITICAL : OPS_HEALTH_WARNING,
				    msg);
		}
	}
	if (ctx->full)
		vector_full(&vctx, &j, tol, out);
	rc = judge_end(&j, err);
out:
	bounded_close(&b);
	return rc;
}
