/*
 * The history: STATE_DIR/history.db, the time series `opsctl report` fits
 * its trends and projections to.  One row per sample:
 *
 *   CREATE TABLE samples (time INTEGER NOT NULL,   -- unix seconds
 *                         task TEXT NOT NULL,      -- "backup", "health", "" for none
 *                         name TEXT NOT NULL,      -- opsctl_db_size_bytes
 *                         labels TEXT NOT NULL,    -- target="chatbot_db",path="/"
 *                         value REAL NOT NULL);
 *   CREATE INDEX samples_series ON samples (name, labels, time);
 *   CREATE INDEX samples_time ON samples (time);
 *   CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);  -- last_prune
 *   PRAGMA user_version = 1;
 *
 * Labels are written as the Prometheus textfile writes them (key="value",
 * backslash, quote and newline escaped), the run's target first.  WAL mode
 * and a busy timeout let a report read while runs write.  Each recorded run
 * adds its figures (opsctl_* numbers and labelled numbers), its duration,
 * and cheap system samples (statvfs of the configured paths, VmRSS of the
 * configured services) in one transaction.  It keeps no aggregates and
 * never downsamples: the retention (report.history_days) and a row cap
 * (report.history_max_rows), applied at most once a day, bound its size.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "opsmaint/db.h"
#include "opsmaint/fileio.h"
#include "opsmaint/report.h"
#include "report/report_internal.h"

#define BUSY_MS 5000
/* A run reporting more figures than this is not one to keep whole. */
#define MAX_SAMPLES 2000

char *rp_history_path(const ops_config *cfg)
{
	const char *state = ops_config_get(cfg, "general.state_dir");

	return ops_path_join(state ? state : "/var/lib/opsctl", "history.db");
}

static ops_code db_error(sqlite3 *db, const char *what, const char *path, ops_error *err)
{
	int code = db ? sqlite3_errcode(db) : SQLITE_CANTOPEN;
	ops_code rc = code == SQLITE_READONLY || code == SQLITE_PERM || code == SQLITE_AUTH
		      ? OPS_EPERM : code == SQLITE_CORRUPT || code == SQLITE_NOTADB
		      ? OPS_EDATA : OPS_EIO;

	return ops_error_set(err, rc, "%s '%s': %s", what, path,
			     db ? sqlite3_errmsg(db) : "cannot open");
}

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS samples (time INTEGER NOT NULL, task TEXT NOT NULL, "
	"name TEXT NOT NULL, labels TEXT NOT NULL, value REAL NOT NULL);"
	"CREATE INDEX IF NOT EXISTS samples_series ON samples (name, labels, time);"
	"CREATE INDEX IF NOT EXISTS samples_time ON samples (time);"
	"CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);"
	"PRAGMA user_version = 1;";

static int user_version(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	int v = -1;

	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

static ops_code check_version(sqlite3 *db, const char *path, int *version, ops_error *err)
{
	*version = user_version(db);
	if (*version < 0)
		return db_error(db, "cannot read the history", path, err);
	if (*version > OPS_HISTORY_SCHEMA)
		return ops_error_set(err, OPS_EDATA, "history '%s' has schema version %d; this "
				     "opsctl reads version %d", path, *version,
				     OPS_HISTORY_SCHEMA);
	return OPS_OK;
}

static ops_code open_write(const char *path, sqlite3 **out, ops_error *err)
{
	sqlite3 *db = NULL;
	char *dir = ops_path_dir(path);
	ops_code rc;
	int version;

	*out = NULL;
	if (!dir)
		return ops_error_oom(err);
	rc = ops_mkdir_p(dir, 0755, err);
	free(dir);
	if (rc != OPS_OK)
		return rc;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		rc = db_error(db, "cannot open the history", path, err);
		sqlite3_close(db);
		return rc;
	}
	sqlite3_busy_timeout(db, BUSY_MS);
	if (sqlite3_exec(db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL) != SQLITE_OK ||
	    (rc = check_version(db, path, &version, err)) != OPS_OK ||
	    (version < OPS_HISTORY_SCHEMA &&
	     sqlite3_exec(db, schema, NULL, NULL, NULL) != SQLITE_OK)) {
		if (rc == OPS_OK)
			rc = db_error(db, "cannot write the history", path, err);
		sqlite3_close(db);
		return rc;
	}
	*out = db;
	return OPS_OK;
}

ops_code rp_history_open_read(const char *path, sqlite3 **out, ops_error *err)
{
	sqlite3 *db = NULL;
	struct stat st;
	ops_code rc;
	int version;

	*out = NULL;
	if (stat(path, &st) != 0)
		return errno == ENOENT ? OPS_OK
				       : ops_error_errno(err, errno, "cannot read the history", path);
	/* Read-write, so that the WAL of a run in progress can be read too;
	 * nothing is written. */
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK &&
	    (sqlite3_close(db), db = NULL,
	     sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL)) !=
	    SQLITE_OK) {
		rc = db_error(db, "cannot read the history", path, err);
		sqlite3_close(db);
		return rc;
	}
	sqlite3_busy_timeout(db, BUSY_MS);
	if ((rc = check_version(db, path, &version, err)) != OPS_OK) {
		sqlite3_close(db);
		return rc;
	}
	if (version == 0) {	/* an empty file: no history */
		sqlite3_close(db);
		return OPS_OK;
	}
	*out = db;
	return OPS_OK;
}

/* ---- labels ---- */

struct sbuf {
	char buf[1024];
	size_t len;
	int over;
};

static void sb_add(struct sbuf *b, const char *s)
{
	size_t n = strlen(s);

	if (b->len + n + 1 > sizeof b->buf) {
		b->over = 1;
		return;
	}
	memcpy(b->buf + b->len, s, n + 1);
	b->len += n;
}

static void sb_label(struct sbuf *b, const char *key, const char *value)
{
	char c[3] = {0};

	if (!value || !*value)
		return;
	if (b->len)
		sb_add(b, ",");
	sb_add(b, key);
	sb_add(b, "=\"");
	for (; *value; value++) {
		c[0] = *value;
		c[1] = '\0';
		if (*value == '\\' || *value == '"' || *value == '\n') {
			c[0] = '\\';
			c[1] = *value == '\n' ? 'n' : *value;
		}
		sb_add(b, c);
	}
	sb_add(b, "\"");
}

const char *rp_label(const char *labels, const char *key, char *buf, size_t size)
{
	size_t kl = strlen(key), o = 0;
	const char *p = labels;

	buf[0] = '\0';
	while (p && *p) {
		if (strncmp(p, key, kl) == 0 && p[kl] == '=' && p[kl + 1] == '"') {
			for (p += kl + 2; *p && *p != '"'; p++) {
				char c = *p;

				if (c == '\\' && p[1]) {
					c = p[1] == 'n' ? '\n' : p[1];
					p++;
				}
				if (o + 1 < size)
					buf[o++] = c;
			}
			buf[o] = '\0';
			return buf;
		}
		/* to the next label: past this one's closing quote */
		p = strchr(p, '"');
		while (p && *++p && *p != '"')
			if (*p == '\\' && p[1])
				p++;
		if (!p || !*p)
			break;
		p++;
		if (*p == ',')
			p++;
	}
	return buf;
}

/* ---- writing ---- */

struct rec {
	sqlite3 *db;
	sqlite3_stmt *ins;
	long long time;
	const char *task;
	size_t n;
	int failed;
};

static void add(struct rec *r, const char *name, const char *labels, double value)
{
	if (r->failed || r->n >= MAX_SAMPLES || value != value)
		return;
	sqlite3_reset(r->ins);
	sqlite3_bind_int64(r->ins, 1, r->time);
	sqlite3_bind_text(r->ins, 2, r->task, -1, SQLITE_STATIC);
	sqlite3_bind_text(r->ins, 3, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(r->ins, 4, labels, -1, SQLITE_TRANSIENT);
	sqlite3_bind_double(r->ins, 5, value);
	if (sqlite3_step(r->ins) != SQLITE_DONE)
		r->failed = 1;
	r->n++;
}

static void add1(struct rec *r, const char *name, const char *key, const char *value, double v)
{
	struct sbuf b = {.len = 0};

	sb_label(&b, key, value);
	if (!b.over)
		add(r, name, b.buf, v);
}

/* The run's figures: numbers, and labelled numbers one per value. */
static void add_figures(struct rec *r, const char *target, const cJSON *figures)
{
	const cJSON *f, *lab, *v;

	cJSON_ArrayForEach(f, figures) {
		if (!f->string || strncmp(f->string, "opsctl_", 7) != 0)
			continue;
		if (cJSON_IsNumber(f)) {
			add1(r, f->string, "target", target, f->valuedouble);
			continue;
		}
		lab = cJSON_IsObject(f) ? f->child : NULL;
		if (!lab || lab->next || !cJSON_IsObject(lab) || !lab->string)
			continue;
		cJSON_ArrayForEach(v, lab) {
			struct sbuf b = {.len = 0};

			if (!cJSON_IsNumber(v) || !v->string)
				continue;
			sb_label(&b, "target", target);
			sb_label(&b, lab->string, v->string);
			if (!b.over)
				add(r, f->string, b.buf, v->valuedouble);
		}
	}
}

/* Disk use of each file system once (the first configured path names it):
 * df's count, in which blocks reserved for root are neither used nor free. */
static void add_disks(struct rec *r, char *const *paths)
{
	dev_t seen[64];
	size_t nseen = 0, i, k;

	for (i = 0; paths && paths[i]; i++) {
		struct statvfs vfs;
		struct stat st;
		double used;

		if (!*paths[i] || stat(paths[i], &st) != 0 || statvfs(paths[i], &vfs) != 0)
			continue;
		for (k = 0; k < nseen && seen[k] != st.st_dev; k++)
			;
		if (k < nseen || nseen == sizeof seen / sizeof seen[0])
			continue;
		seen[nseen++] = st.st_dev;
		used = (double)(vfs.f_blocks - vfs.f_bfree) * (double)vfs.f_frsize;
		add1(r, "opsctl_disk_used_bytes", "path", paths[i], used);
		add1(r, "opsctl_disk_size_bytes", "path", paths[i],
		     used + (double)vfs.f_bavail * (double)vfs.f_frsize);
	}
}

/* VmRSS of /proc/PID/status in bytes; -1 when the process is gone. */
static double rss_of(long pid)
{
	char path[64], line[256];
	double kb = -1;
	FILE *fp;

	snprintf(path, sizeof path, "/proc/%ld/status", pid);
	if (!(fp = fopen(path, "re")))
		return -1;
	while (fgets(line, sizeof line, fp))
		if (strncmp(line, "VmRSS:", 6) == 0) {
			kb = strtod(line + 6, NULL);
			break;
		}
	fclose(fp);
	/* A kernel thread or zombie has no VmRSS: nothing resident. */
	return kb < 0 ? 0 : kb * 1024.0;
}

static double rss_of_pidfile(const char *file)
{
	char buf[32] = {0};
	FILE *fp = fopen(file, "re");
	char *end;
	long pid;

	if (!fp)
		return -1;
	if (!fgets(buf, sizeof buf, fp)) {
		fclose(fp);
		return -1;
	}
	fclose(fp);
	errno = 0;
	pid = strtol(buf, &end, 10);
	if (errno || pid <= 0 || end == buf)
		return -1;
	return rss_of(pid);
}

/* Summed over every process whose comm is name (the kernel keeps 15
 * characters of it). */
static double rss_of_comm(const char *name)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	double sum = 0;
	int found = 0;

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		char path[300], comm[64];
		FILE *fp;
		double rss;

		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		snprintf(path, sizeof path, "/proc/%s/comm", e->d_name);
		if (!(fp = fopen(path, "re")))
			continue;
		if (!fgets(comm, sizeof comm, fp))
			comm[0] = '\0';
		fclose(fp);
		comm[strcspn(comm, "\n")] = '\0';
		if (strncmp(comm, name, 15) != 0 || (strlen(name) < 15 && strcmp(comm, name) != 0))
			continue;
		if ((rss = rss_of(strtol(e->d_name, NULL, 10))) >= 0) {
			sum += rss;
			found = 1;
		}
	}
	closedir(d);
	return found ? sum : -1;
}

static void add_services(struct rec *r, char *const *services)
{
	size_t i;

	for (i = 0; services && services[i]; i++) {
		char name[128];
		const char *eq = strchr(services[i], '=');
		double rss;

		snprintf(name, sizeof name, "%.*s", eq ? (int)(eq - services[i]) : 127,
			 services[i]);
		if (!*name)
			continue;
		rss = eq ? rss_of_pidfile(eq + 1) : rss_of_comm(name);
		if (rss >= 0)
			add1(r, "opsctl_service_memory_bytes", "service", name, rss);
	}
}

/* The configured paths whose file systems are sampled: health.disk_paths,
 * then the index's and backups' directories and the SQLite databases'. */
static char **disk_paths(const ops_config *cfg)
{
	char **disks = ops_config_list(cfg, "health.disk_paths"), **dbs;
	const char *more[] = {ops_config_get(cfg, "vector.index_path"),
			      ops_config_get(cfg, "backup.dir"), NULL};
	size_t n = ops_strv_len(disks), i, cap;
	char **out;

	dbs = ops_config_list(cfg, "db.databases");
	cap = n + ops_strv_len(dbs) + 4;
	out = calloc(cap, sizeof *out);
	for (i = 0; out && i < n; i++)
		out[i] = strdup(disks[i]);
	for (i = 0; out && more[i]; i++)
		if (*more[i])
			out[n++] = i == 0 ? ops_path_dir(more[i]) : strdup(more[i]);
	for (i = 0; out && dbs && dbs[i]; i++) {
		ops_db_kind kind;
		char *path = NULL;
		ops_error ignored;

		if (ops_db_target_kind(dbs[i], &kind, &path, &ignored) == OPS_OK &&
		    kind == OPS_DB_SQLITE && path)
			out[n++] = ops_path_dir(path);
		free(path);
	}
	ops_strv_free(disks);
	ops_strv_free(dbs);
	return out;
}

/* Drop what is older than the retention, then the oldest beyond the cap;
 * at most once a day (meta.last_prune). */
static void prune(sqlite3 *db, const ops_config *cfg, long long now)
{
	long long days = ops_config_int(cfg, "report.history_days");
	long long cap = ops_config_int(cfg, "report.history_max_rows");
	sqlite3_stmt *st = NULL;
	long long last = 0, count = 0;
	char sql[256];

	if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'last_prune'", -1, &st,
			       NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		last = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (now - last < 86400 && now >= last)
		return;
	snprintf(sql, sizeof sql, "DELETE FROM samples WHERE time < %lld", now - days * 86400);
	sqlite3_exec(db, sql, NULL, NULL, NULL);
	st = NULL;
	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM samples", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		count = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (count > cap) {
		snprintf(sql, sizeof sql, "DELETE FROM samples WHERE rowid IN (SELECT rowid FROM "
			 "samples ORDER BY time LIMIT %lld)", count - cap);
		sqlite3_exec(db, sql, NULL, NULL, NULL);
	}
	snprintf(sql, sizeof sql, "INSERT OR REPLACE INTO meta (key, value) VALUES "
		 "('last_prune', %lld)", now);
	sqlite3_exec(db, sql, NULL, NULL, NULL);
}

ops_code ops_history_record(const ops_config *cfg, const char *task, const char *target,
			    double start, double duration, const cJSON *figures,
			    ops_error *err)
{
	char *path = rp_history_path(cfg), **disks = NULL, **services = NULL;
	const char *index = ops_config_get(cfg, "vector.index_path");
	struct rec r = {0};
	struct stat st;
	ops_code rc;

	if (!path)
		return ops_error_oom(err);
	rc = open_write(path, &r.db, err);
	if (rc != OPS_OK)
		goto out;
	if (sqlite3_exec(r.db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(r.db, "INSERT INTO samples (time, task, name, labels, value) "
			       "VALUES (?, ?, ?, ?, ?)", -1, &r.ins, NULL) != SQLITE_OK) {
		rc = db_error(r.db, "cannot write the history", path, err);
		goto out;
	}
	r.time = (long long)start;
	r.task = task ? task : "";
	add_figures(&r, target, figures);
	add1(&r, "opsctl_run_duration_seconds", "target", target, duration);
	/* The run's own system samples are the host's, not the target's. */
	r.task = "";
	disks = disk_paths(cfg);
	add_disks(&r, disks);
	if (index && *index && stat(index, &st) == 0 && S_ISREG(st.st_mode))
		add1(&r, "opsctl_vector_index_size_bytes", "path", index, (double)st.st_size);
	services = ops_config_list(cfg, "report.services");
	add_services(&r, services);
	if (r.failed) {
		rc = db_error(r.db, "cannot write the history", path, err);
		goto out;
	}
	prune(r.db, cfg, r.time);
	if (sqlite3_exec(r.db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		rc = db_error(r.db, "cannot write the history", path, err);
out:
	sqlite3_finalize(r.ins);
	if (r.db && rc != OPS_OK)
		sqlite3_exec(r.db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(r.db);
	ops_strv_free(disks);
	ops_strv_free(services);
	free(path);
	return rc;
}

/* ---- reading ---- */

void rp_series_free(rp_series *s, size_t n)
{
	size_t i;

	for (i = 0; s && i < n; i++) {
		free(s[i].labels);
		free(s[i].t);
		free(s[i].v);
	}
	free(s);
}

static int push(rp_series *s, double t, double v)
{
	if (s->n == s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 64;
		double *nt = realloc(s->t, ncap * sizeof *nt), *nv;

		if (!nt)
			return -1;
		s->t = nt;
		if (!(nv = realloc(s->v, ncap * sizeof *nv)))
			return -1;
		s->v = nv;
		s->cap = ncap;
	}
	s->t[s->n] = t;
	s->v[s->n++] = v;
	return 0;
}

ops_code rp_history_series(sqlite3 *db, const char *name, time_t since, time_t until,
			   rp_series **out, size_t *n, ops_error *err)
{
	sqlite3_stmt *st = NULL;
	rp_series *v = NULL;
	size_t nv = 0, cap = 0;
	int step;

	*out = NULL;
	*n = 0;
	if (!db)
		return OPS_OK;
	if (sqlite3_prepare_v2(db, "SELECT labels, time, value FROM samples WHERE name = ? AND "
			       "time >= ? AND time <= ? ORDER BY labels, time", -1, &st, NULL) !=
	    SQLITE_OK)
		return ops_error_set(err, OPS_EDATA, "cannot read the history: %s",
				     sqlite3_errmsg(db));
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (long long)since);
	sqlite3_bind_int64(st, 3, (long long)until);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *labels = (const char *)sqlite3_column_text(st, 0);

		if (!labels)
			labels = "";
		if (nv == 0 || strcmp(v[nv - 1].labels, labels) != 0) {
			if (nv == cap) {
				size_t ncap = cap ? cap * 2 : 8;
				rp_series *nvv = realloc(v, ncap * sizeof *nvv);

				if (!nvv)
					goto oom;
				v = nvv;
				cap = ncap;
			}
			memset(&v[nv], 0, sizeof v[nv]);
			if (!(v[nv++].labels = strdup(labels)))
				goto oom;
		}
		if (push(&v[nv - 1], (double)sqlite3_column_int64(st, 1),
			 sqlite3_column_double(st, 2)) != 0)
			goto oom;
	}
	if (step != SQLITE_DONE) {
		ops_error_set(err, OPS_EDATA, "cannot read the history: %s", sqlite3_errmsg(db));
		sqlite3_finalize(st);
		rp_series_free(v, nv);
		return OPS_EDATA;
	}
	sqlite3_finalize(st);
	*out = v;
	*n = nv;
	return OPS_OK;
oom:
	sqlite3_finalize(st);
	rp_series_free(v, nv);
	return ops_error_oom(err);
}
