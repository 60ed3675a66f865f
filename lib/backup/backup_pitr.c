/*
 * Point-in-time recovery from a physical backup, as pgBackRest's restore
 * --type=time|lsn|name|immediate does: the base backup (base.tar/NNNNNN,
 * each member checked against the manifest as the pass reads it) goes into
 * a new or empty data directory, the recovery settings are appended to the
 * base backup's own postgresql.auto.conf and recovery.signal is created.
 * The server is not started; the report gives the command that starts it.
 *
 * It writes only into a directory with nothing in it, so it needs no
 * maintenance window, and a failed or interrupted run removes what it
 * wrote.  It runs as the user the data directory will belong to, never as
 * root: the files are the runner's, and PostgreSQL refuses to run as root.
 *
 * The stock tar extracts, not core/archive: base.tar is pg_basebackup's tar
 * (directories, empty ones PostgreSQL needs, "./" names), which the backup
 * reader refuses by design because opsctl's own archives hold files only;
 * tar is also what the documented stock-tools way uses.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backup/backup_internal.h"
#include "opsmaint/clock.h"
#include "opsmaint/fileio.h"
#include "opsmaint/log.h"
#include "opsmaint/walk.h"

/* What the extraction holds while it runs, for its sink and its undo. */
struct pitr {
	char *dir;		/* absolute */
	int created;		/* made by this run: removed on failure */
	ops_proc *tar;
	int tar_in;
};

int bk_pitr_asked(const ops_restore_opts *o)
{
	return o->datadir || o->target_time || o->target_lsn || o->target_name ||
	       o->target_immediate || o->target_exclusive || o->target_action ||
	       o->start_port;
}

/*
 * ISO 8601 with a zone, as an operator or psql writes it:
 * "2026-12-02T10:15:30Z", "2026-12-02 10:15:30.25+01:00",
 * "2026-12-02 10:15:30.123456+00", "2026-12-02 10:15+01".  *t is seconds
 * since the epoch; norm the same instant in UTC as PostgreSQL reads it (to
 * the microsecond, its precision).  0, or -1 when it is not such a time, -2
 * when only the zone is missing: PostgreSQL would read a zoneless time in
 * the recovered server's zone, which is nobody's choice.
 */
static int parse_time(const char *s, double *t, char *norm, size_t len)
{
	ops_time_parsed p;
	struct tm tm;
	int r = ops_time_parse_iso(s, OPS_TIME_SPACE | OPS_TIME_NO_SECONDS, &p);
	int k = p.frac_digits > 6 ? 6 : p.frac_digits, i;
	long micro = p.nsec;

	if (r != OPS_TIME_OK)
		return r == OPS_TIME_NO_ZONE ? -2 : -1;
	if (!gmtime_r(&p.t, &tm))
		return -1;
	*t = (double)p.t + (double)p.nsec / 1e9;
	strftime(norm, len, "%Y-%m-%d %H:%M:%S", &tm);
	/* The digits as written, cut to six: no rounding through a double. */
	for (i = k; i < 9; i++)
		micro /= 10;
	if (k)
		snprintf(norm + strlen(norm), len - strlen(norm), ".%0*ld", k, micro);
	snprintf(norm + strlen(norm), len - strlen(norm), "+00");
	return 0;
}

/* "0/3000028": two groups of 1 to 8 hex digits, as pg_lsn reads it. */
static int parse_lsn(const char *s, unsigned long long *lsn)
{
	size_t hi = strspn(s, "0123456789abcdefABCDEF"), lo;

	if (hi < 1 || hi > 8 || s[hi] != '/')
		return 0;
	lo = strspn(s + hi + 1, "0123456789abcdefABCDEF");
	if (lo < 1 || lo > 8 || s[hi + 1 + lo])
		return 0;
	*lsn = strtoull(s, NULL, 16) << 32 | strtoull(s + hi + 1, NULL, 16);
	return 1;
}

/* s as one shell word: bare when it is plain, else in single quotes. */
static char *shell_word(const char *s)
{
	size_t n = 3, i;
	char *out, *o;

	if (*s && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			 "0123456789/._-+=:,@") == strlen(s))
		return strdup(s);
	for (i = 0; s[i]; i++)
		n += s[i] == '\'' ? 4 : 1;
	out = o = malloc(n);
	if (!out)
		return NULL;
	*o++ = '\'';
	for (i = 0; s[i]; i++) {
		if (s[i] == '\'') {
			memcpy(o, "'\\''", 4);
			o += 4;
		} else {
			*o++ = s[i];
		}
	}
	*o++ = '\'';
	*o = '\0';
	return out;
}

/* piece appended to *buf (allocated, grown; NULL to start); 0 on OOM.  A
 * NULL piece is OOM met while making it. */
static int append(char **buf, const char *piece)
{
	size_t have = *buf ? strlen(*buf) : 0, add;
	char *n;

	if (!piece)
		return 0;
	add = strlen(piece);
	n = realloc(*buf, have + add + 1);
	if (!n)
		return 0;
	memcpy(n + have, piece, add + 1);
	*buf = n;
	return 1;
}

/* One word of restore_command: shell-quoted, and '%' doubled, since
 * PostgreSQL replaces %f, %p, %r and %% in it. */
static int append_word(char **buf, const char *s)
{
	char *w = shell_word(s), *p;
	int ok = w != NULL;

	for (p = w; ok && *p; p++) {
		char one[2] = {*p, '\0'};

		ok = append(buf, *p == '%' ? "%%" : one);
	}
	free(w);
	return ok && append(buf, " ");
}

/* An absolute form of path (allocated): as given, or under the cwd. */
static char *absolute(const char *path)
{
	char cwd[PATH_MAX];

	if (path[0] == '/')
		return strdup(path);
	if (!getcwd(cwd, sizeof cwd))
		return NULL;
	return ops_path_join(cwd, path);
}

/* Pin key as OPSCTL_SECTION_KEY=value in the command being built. */
static int pin(char **cmd, int *env, const char *key, const char *value)
{
	char name[96], *p;
	int ok;

	snprintf(name, sizeof name, "OPSCTL_%s=", key);
	for (p = name; *p; p++)
		*p = *p == '.' ? '_' : (*p >= 'a' && *p <= 'z') ? (char)(*p - 32) : *p;
	ok = (*env || append(cmd, "env ")) && append(cmd, name) && append_word(cmd, value);
	*env = 1;
	return ok;
}

/*
 * restore_command: this opsctl with the configuration file this run read,
 * and the store settings that came from elsewhere (the environment, a
 * default under this user's home, a relative path) pinned as OPSCTL_*
 * variables: the server runs it in its own environment and directory.
 */
static ops_code fetch_command(const ops_backup_ctx *ctx, const char *program, char **out,
			      ops_error *err)
{
	const ops_config *cfg = ctx->run->cfg;
	const char *file = ops_config_file(cfg);
	int local = (ops_store_features(ctx->store) & OPS_STORE_F_LOCAL) != 0, ok = 1, env = 0;
	size_t i, flen = file ? strlen(file) : 0;
	char *cmd = NULL, *abs_file = NULL;
	static const char *const keys[] = {
		"backup.dir", "backup.encryption_key_file", "s3.bucket", "s3.prefix", "s3.region",
		"s3.endpoint", NULL
	};

	*out = NULL;
	for (i = 0; ok && keys[i]; i++) {
		const char *v = ops_config_get(cfg, keys[i]);
		const char *origin = ops_config_origin(cfg, keys[i]);
		int from_file = origin && file && strncmp(origin, file, flen) == 0 &&
				origin[flen] == ':';
		char *abs = NULL;

		if (local ? strncmp(keys[i], "s3.", 3) == 0 : strcmp(keys[i], "backup.dir") == 0)
			continue;
		if (strcmp(keys[i], "backup.dir") == 0) {
			char *dflt = NULL;

			/* Without backup.dir the store is under the state
			 * directory, which depends on who runs it. */
			if (!v || !*v)
				v = dflt = ops_path_join(ops_config_get(cfg, "general.state_dir"),
							 "backups/store");
			abs = v ? absolute(v) : NULL;
			ok = abs != NULL;
			if (ok && (dflt || !from_file || strcmp(abs, v) != 0))
				ok = pin(&cmd, &env, keys[i], abs);
			free(dflt);
			free(abs);
			continue;
		}
		if (!v || !*v || !origin || strcmp(origin, "default") == 0 || from_file)
			continue;
		ok = pin(&cmd, &env, keys[i], v);
	}
	ok = ok && append_word(&cmd, program ? program : "opsctl");
	if (ok && file) {
		abs_file = realpath(file, NULL);
		ok = append(&cmd, "--config ") && append_word(&cmd, abs_file ? abs_file : file);
	}
	ok = ok && append(&cmd, local ? "backup wal-fetch %f %p" : "backup wal-fetch --s3 %f %p");
	free(abs_file);
	if (!ok) {
		free(cmd);
		return ops_error_oom(err);
	}
	*out = cmd;
	return OPS_OK;
}

/*
 * The data directory: absent (its parent there to create it in) or an
 * empty directory of the user running this.  A running server's is named
 * as such; anything else in it is refused, never emptied.
 */
static ops_code datadir_usable(const ops_config *cfg, const char *dir, int *exists,
			       ops_error *err)
{
	char **prot = ops_config_list(cfg, "general.protected_paths");
	int is_prot = ops_path_is_protected(dir, prot), empty = 1, running;
	char *pidfile, *parent;
	struct stat st;
	struct dirent *e;
	DIR *d;

	ops_strv_free(prot);
	*exists = 0;
	if (is_prot)
		return ops_error_set(err, OPS_EPERM, "--datadir %s is a protected path", dir);
	if (lstat(dir, &st) != 0) {
		ops_code rc = OPS_OK;

		if (errno != ENOENT)
			return ops_error_errno(err, errno, "cannot look at", dir);
		parent = ops_path_dir(dir);
		if (!parent)
			return ops_error_oom(err);
		if (stat(parent, &st) != 0 || !S_ISDIR(st.st_mode))
			rc = ops_error_set(err, OPS_EUSAGE, "--datadir %s: its parent directory "
					   "'%s' does not exist", dir, parent);
		else if (access(parent, W_OK | X_OK) != 0)
			rc = ops_error_set(err, OPS_EPERM, "--datadir %s cannot be created: '%s' "
					   "is not writable by this user", dir, parent);
		free(parent);
		return rc;
	}
	if (!S_ISDIR(st.st_mode))
		return ops_error_set(err, OPS_EUSAGE, "--datadir %s is not a directory", dir);
	pidfile = ops_path_join(dir, "postmaster.pid");
	if (!pidfile)
		return ops_error_oom(err);
	running = access(pidfile, F_OK) == 0;
	free(pidfile);
	if (running) {
		ops_error_set(err, OPS_EPERM, "--datadir %s is the data directory of a running "
			      "server (postmaster.pid); not restoring into it", dir);
		ops_error_hint(err, "restore into a new directory, or stop that server and move "
			       "its data directory aside first");
		return OPS_EPERM;
	}
	if (!(d = opendir(dir)))
		return ops_error_errno(err, errno, "cannot read", dir);
	while (empty && (e = readdir(d)))
		empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
	closedir(d);
	if (!empty) {
		ops_error_set(err, OPS_EUSAGE, "--datadir %s is not empty; point-in-time recovery "
			      "writes a new data directory", dir);
		ops_error_hint(err, "give a new or empty directory; to replace a cluster, stop it "
			       "and move its data directory aside first");
		return OPS_EUSAGE;
	}
	if (st.st_uid != geteuid() || access(dir, W_OK | X_OK) != 0)
		return ops_error_set(err, OPS_EPERM, "--datadir %s belongs to another user (uid "
				     "%ld); the data directory must be the server user's, who "
				     "runs the restore", dir, (long)st.st_uid);
	*exists = 1;
	return OPS_OK;
}

/* The newest WAL segment in the store (by name: timeline, then position)
 * and when it was stored; name "" when there is none. */
static ops_code newest_wal(const ops_backup_ctx *ctx, char name[32], time_t *when,
			   ops_error *err)
{
	ops_store_entry *e = NULL;
	size_t n = 0, i;
	ops_code rc = ops_store_list(ctx->store, "wal/", &e, &n, err);

	name[0] = '\0';
	*when = 0;
	for (i = 0; rc == OPS_OK && i < n; i++) {
		const char *k = e[i].key + 4;

		if (strlen(k) == 29 && strcmp(k + 24, ".json") == 0 &&
		    strspn(k, "0123456789ABCDEF") == 24 && strncmp(k, name, 24) > 0) {
			snprintf(name, 32, "%.24s", k);
			*when = e[i].mtime;
		}
	}
	ops_store_entries_free(e, n);
	return rc;
}

/* value in single quotes for postgresql.conf: ' and \ doubled. */
static char *conf_quote(const char *value)
{
	size_t n = 3, i;
	char *out, *o;

	for (i = 0; value[i]; i++)
		n += value[i] == '\'' || value[i] == '\\' ? 2 : 1;
	out = o = malloc(n);
	if (!out)
		return NULL;
	*o++ = '\'';
	for (i = 0; value[i]; i++) {
		if (value[i] == '\'' || value[i] == '\\')
			*o++ = value[i];
		*o++ = value[i];
	}
	*o++ = '\'';
	*o = '\0';
	return out;
}

/* "key = 'value'" added to lines. */
static int setting(cJSON *lines, const char *key, const char *value)
{
	char *q = conf_quote(value), *line = NULL;
	int ok = q && asprintf(&line, "%s = %s", key, q) >= 0;

	if (ok)
		cJSON_AddItemToArray(lines, cJSON_CreateString(line));
	free(q);
	free(line);
	return ok;
}

/*
 * Every recovery_target_* is written, the unused ones empty and first: the
 * base backup's configuration may hold a target from an earlier recovery,
 * a setting in postgresql.auto.conf hides the same one anywhere before it,
 * and PostgreSQL refuses a second target even while it is being emptied.
 */
static ops_code recovery_settings(const ops_restore_opts *o, const char *fetch,
				  const char *time_norm, cJSON *lines, ops_error *err)
{
	const char *keys[] = {"recovery_target", "recovery_target_lsn", "recovery_target_name",
			      "recovery_target_time", "recovery_target_xid"};
	const char *vals[] = {o->target_immediate ? "immediate" : NULL, o->target_lsn,
			      o->target_name, o->target_time ? time_norm : NULL, NULL};
	int ok = setting(lines, "restore_command", fetch), chosen = -1;
	size_t i;

	for (i = 0; ok && i < sizeof keys / sizeof keys[0]; i++) {
		if (vals[i])
			chosen = (int)i;
		else
			ok = setting(lines, keys[i], "");
	}
	if (ok && chosen >= 0)
		ok = setting(lines, keys[chosen], vals[chosen]);
	if (ok && (o->target_lsn || o->target_name || o->target_time))
		ok = setting(lines, "recovery_target_inclusive", o->target_exclusive ? "off" : "on");
	if (ok && chosen >= 0)
		ok = setting(lines, "recovery_target_action",
			     o->target_action ? o->target_action : "pause");
	return ok ? OPS_OK : ops_error_oom(err);
}

/* pg_ctl of the backup's major version: backup.pg_bindir, else Debian's
 * place for it when it is there, else from PATH. */
/* The pg_ctl of backup.pg_bindir, else of the backup's server version
 * where Debian puts it, else "pg_ctl" from PATH (allocated). */
static char *pg_ctl_path(const ops_config *cfg, const ops_manifest *m)
{
	const char *bindir = ops_config_get(cfg, "backup.pg_bindir");
	char guess[64], *ctl = NULL;

	if ((!bindir || !*bindir) && m->server_version) {
		snprintf(guess, sizeof guess, "/usr/lib/postgresql/%ld/bin",
			 strtol(m->server_version, NULL, 10));
		bindir = guess;
	}
	if (bindir && *bindir)
		ctl = ops_path_join(bindir, "pg_ctl");
	if (ctl && access(ctl, X_OK) != 0 && bindir == guess) {
		free(ctl);
		ctl = NULL;
	}
	return ctl ? ctl : strdup("pg_ctl");
}

static char *start_command(const ops_config *cfg, const ops_manifest *m, const char *dir)
{
	char *ctl = pg_ctl_path(cfg, m), *cmd = NULL, *log = ops_path_join(dir, "recovery.log");
	char *wdir = shell_word(dir), *wlog = log ? shell_word(log) : NULL, *wctl;

	wctl = ctl ? shell_word(ctl) : NULL;
	if (!wdir || !wlog || !wctl || asprintf(&cmd, "%s -D %s -l %s start", wctl, wdir, wlog) < 0)
		cmd = NULL;
	free(ctl);
	free(log);
	free(wdir);
	free(wlog);
	free(wctl);
	return cmd;
}

/* base.tar's bytes into tar's standard input. */
static ops_code tar_sink(void *arg, const void *buf, size_t len, ops_error *err)
{
	struct pitr *x = arg;
	int e;
	ops_code rc;

	if (x->tar_in >= 0 && ops_write_all(x->tar_in, buf, len) == 0)
		return OPS_OK;
	/* tar stopped reading: its own message says why. */
	e = errno;
	close(x->tar_in);
	x->tar_in = -1;
	rc = ops_proc_wait(x->tar, err);
	x->tar = NULL;
	if (rc == OPS_OK)
		rc = ops_error_errno(err, e, "cannot write to tar extracting into", x->dir);
	return rc;
}

/* Everything this run wrote goes: the directory's entries, and the
 * directory itself when this run made it.  To the end even when the run
 * was interrupted, which is the usual reason to be here. */
static void undo(struct pitr *x)
{
	ops_walk_opts wo;
	ops_error e;

	ops_proc_kill(x->tar);
	x->tar = NULL;
	if (x->tar_in >= 0)
		close(x->tar_in);
	x->tar_in = -1;
	ops_walk_opts_init(&wo);
	wo.types = OPS_WALK_FILE | OPS_WALK_SYMLINK | OPS_WALK_OTHER;
	wo.remove_empty_dirs = 1;
	wo.missing_ok = 1;
	wo.finish_on_cancel = 1;
	if (ops_walk_tree(x->dir, &wo, NULL, &e) != OPS_OK)
		ops_log_warn("could not remove what was extracted into %s: %s", x->dir, e.message);
	else if (x->created && rmdir(x->dir) != 0)
		ops_log_warn("could not remove %s: %s", x->dir, strerror(errno));
}

/* The backup's end point from the backup_manifest pg_basebackup put in
 * base.tar ("WAL-Ranges": [{"End-LSN": "0/2000100"}]); 0 when absent. */
static unsigned long long backup_end_lsn(const char *dir, char *text, size_t len)
{
	char *path = ops_path_join(dir, "backup_manifest"), *data = NULL;
	unsigned long long lsn = 0;
	size_t n = 0;
	ops_error e;
	cJSON *j = NULL, *r;

	text[0] = '\0';
	if (path && ops_read_file(path, 64u << 20, &data, &n, &e) == OPS_OK)
		j = cJSON_ParseWithLength(data, n);
	cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(j, "WAL-Ranges")) {
		const char *end = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "End-LSN"));
		unsigned long long v;

		if (end && parse_lsn(end, &v) && v > lsn) {
			lsn = v;
			snprintf(text, len, "%s", end);
		}
	}
	cJSON_Delete(j);
	free(data);
	free(path);
	return lsn;
}

/* The base backup's postgresql.auto.conf with lines appended, written
 * whole to a temporary file and renamed over it; recovery.signal made. */
static ops_code write_recovery(const char *dir, const ops_manifest *m, cJSON *lines,
			       cJSON *rep, ops_error *err)
{
	char *conf = ops_path_join(dir, "postgresql.auto.conf");
	char *signal = ops_path_join(dir, "recovery.signal");
	char *old = NULL, *text = NULL, stamp[OPS_TIME_ISO_SIZE];
	size_t len = 0;
	ops_error e;
	ops_code rc = conf && signal ? OPS_OK : ops_error_oom(err);
	int ok;
	cJSON *l;

	if (rc == OPS_OK && ops_read_file(conf, 16u << 20, &old, &len, &e) != OPS_OK &&
	    access(conf, F_OK) == 0)
		rc = (*err = e).code;
	if (rc == OPS_OK) {
		ops_time_iso((time_t)ops_wall_clock(), stamp);
		ok = append(&text, old ? old : "") &&
			 (!len || old[len - 1] == '\n' || append(&text, "\n")) &&
			 append(&text, "# opsctl backup restore of backup ") && append(&text, m->id) &&
			 append(&text, " at ") && append(&text, stamp) &&
			 append(&text, ": point-in-time recovery\n");

		cJSON_ArrayForEach(l, lines)
			ok = ok && append(&text, l->valuestring) && append(&text, "\n");
		if (!ok)
			rc = ops_error_oom(err);
	}
	if (rc == OPS_OK)
		rc = ops_write_file_atomic(conf, text, strlen(text), 0600, err);
	if (rc == OPS_OK)
		rc = ops_write_file_atomic(signal, "", 0, 0600, err);
	if (rc == OPS_OK) {
		cJSON_AddStringToObject(rep, "settings_file", conf);
		cJSON_AddStringToObject(rep, "signal_file", signal);
	}
	free(conf);
	free(signal);
	free(old);
	free(text);
	return rc;
}

/* Extract the base.tar of m into x->dir through tar, checking every member. */
static ops_code extract_one(const ops_backup_ctx *ctx, const ops_manifest *m, struct pitr *x,
			    cJSON *rep, ops_error *err)
{
	unsigned char key[OPS_CRYPT_KEY_LEN];
	char *dirarg = NULL;
	char *argv[] = {"tar", "--extract", "--file=-", NULL, "--no-same-owner", NULL};
	int have = 0;
	bk_pass p;
	ops_code rc;

	memset(&p, 0, sizeof p);
	if ((rc = bk_pass_key(ctx, m, key, &have, err)) != OPS_OK)
		return rc;
	if (asprintf(&dirarg, "--directory=%s", x->dir) < 0)
		return ops_error_oom(err);
	argv[3] = dirarg;
	rc = ops_proc_start(NULL, argv, NULL, OPS_PROC_PIPE_IN, &x->tar_in, NULL, &x->tar, err);
	free(dirarg);
	if (rc != OPS_OK)
		return rc;
	ops_log_info("extracting the base backup of %s into %s", m->id, x->dir);
	p.ctx = ctx;
	p.m = m;
	p.mode = BK_PASS_RESTORE;
	p.report = rep;
	p.dbs = cJSON_CreateArray();
	p.base_sink = tar_sink;
	p.base_ctx = x;
	rc = bk_pass_run(&p, have ? key : NULL, err);
	bk_pass_end(&p);
	cJSON_Delete(p.dbs);
	if (rc == OPS_OK && p.failures) {
		*err = p.first;
		rc = err->code == OPS_OK ? OPS_EFAIL : err->code;
	}
	if (rc == OPS_OK && x->tar) {
		close(x->tar_in);
		x->tar_in = -1;
		rc = ops_proc_wait(x->tar, err);
		x->tar = NULL;
	}
	return rc;
}

/* Extract m into x->dir: a full backup's base.tar, or an incremental or
 * differential one's chain (the full first, each later base.tar over it),
 * tidied and checked file by file against m. */
static ops_code extract(const ops_backup_ctx *ctx, ops_manifest *const *chain, size_t n,
			const ops_manifest *m, struct pitr *x, cJSON *rep, ops_error *err)
{
	char *pgv;
	ops_code rc = OPS_OK;
	size_t i;

	if (mkdir(x->dir, 0700) == 0)
		x->created = 1;
	else if (errno != EEXIST)
		return ops_error_errno(err, errno, "cannot create", x->dir);
	/* PostgreSQL starts only on a directory of mode 0700 or 0750. */
	if (chmod(x->dir, 0700) != 0)
		return ops_error_errno(err, errno, "cannot set the mode of", x->dir);
	for (i = 0; rc == OPS_OK && i < n; i++)
		if ((rc = extract_one(ctx, chain[i], x, rep, err)) != OPS_OK && rc != OPS_EINTR)
			ops_error_prefix(err, "backup %s, which %s builds on", chain[i]->id, m->id);
	if (rc == OPS_OK)
		rc = extract_one(ctx, m, x, rep, err);
	if (rc == OPS_OK && n > 0)
		rc = bk_physical_reconcile(x->dir, m, rep, err);
	pgv = ops_path_join(x->dir, "PG_VERSION");
	if (rc == OPS_OK && (!pgv || access(pgv, F_OK) != 0))
		rc = ops_error_set(err, OPS_EDATA, "base.tar of backup '%s' holds no data "
				   "directory (no PG_VERSION)", m->id);
	free(pgv);
	return rc;
}

/* What the operator does next, by target action. */
static const char *next_step(const ops_restore_opts *o, int target)
{
	const char *action = o->target_action ? o->target_action : "pause";

	if (!target)
		return "the server replays all archived WAL, then opens for writes on a new "
		       "timeline; its postgresql.conf is the original's: change port and "
		       "archive_command first if the original server runs on this host";
	if (strcmp(action, "promote") == 0)
		return "the server replays WAL up to the target, then opens for writes on a new "
		       "timeline; its postgresql.conf is the original's: change port and "
		       "archive_command first if the original server runs on this host";
	if (strcmp(action, "shutdown") == 0)
		return "the server replays WAL up to the target, then stops; change the "
		       "recovery settings or remove recovery.signal before starting it again";
	return "the server replays WAL up to the target and pauses there, read-only: check "
	       "the data, then SELECT pg_wal_replay_resume() opens it for writes; its "
	       "postgresql.conf is the original's: change port and archive_command first if "
	       "the original server runs on this host";
}

/* The last line of dir/recovery.log that says why the server stopped. */
static void log_reason(const char *dir, char *out, size_t len)
{
	char *path = ops_path_join(dir, "recovery.log"), line[512];
	FILE *fp = path ? fopen(path, "re") : NULL;

	snprintf(out, len, "see %s", path ? path : "recovery.log");
	/* "2026-12-03 07:25:08.119 UTC [18902] FATAL:  could not ...": the
	 * message only, the server's prefix and level left out. */
	while (fp && fgets(line, sizeof line, fp)) {
		char *at = strstr(line, "FATAL:");

		if (!at)
			at = strstr(line, "PANIC:");
		if (!at)
			continue;
		at += 6;
		at += strspn(at, " ");
		at[strcspn(at, "\n")] = '\0';
		snprintf(out, len, "%s", at);
	}
	if (fp)
		fclose(fp);
	free(path);
}

/*
 * --start: the recovered server started on 127.0.0.1:PORT (its own
 * postgresql.conf is the original's: port, sockets and archiving are
 * overridden so that it cannot meet the original server or its archive),
 * waited for until replay is paused at the target or the server promoted,
 * then asked where replay stopped.  A server that stops on the way
 * (recovery ended before the target) fails the run with its log's reason;
 * one still replaying at backup.recovery_timeout is stopped.
 */
static ops_code recover(const ops_backup_ctx *ctx, const ops_restore_opts *o,
			const ops_manifest *m, const char *dir, int targeted, cJSON *rep,
			ops_error *err)
{
	const ops_config *cfg = ctx->run->cfg;
	int promote = !targeted || (o->target_action && strcmp(o->target_action, "promote") == 0);
	double t0 = ops_clock(), limit = (double)ops_config_int(cfg, "backup.recovery_timeout");
	char *ctl = pg_ctl_path(cfg, m), *log = ops_path_join(dir, "recovery.log"), *target = NULL;
	char opts[160], tmo[32], why[512], *state = NULL;
	char *start[] = {ctl, "-D", (char *)dir, "-l", log, "-w", "-t", tmo, "-o", opts, "start",
			 NULL};
	char *stop[] = {ctl, "-D", (char *)dir, "-m", "fast", "stop", NULL};
	ops_proc *proc = NULL;
	ops_db *db = NULL;
	ops_rows *rows = NULL;
	ops_error ignored;
	ops_code rc;
	cJSON *r;

	if (!ctl || !log || asprintf(&target, "postgresql://127.0.0.1:%d/postgres",
				     o->start_port) < 0) {
		free(ctl);
		free(log);
		return ops_error_oom(err);
	}
	snprintf(opts, sizeof opts, "-p %d -c listen_addresses=127.0.0.1 "
		 "-c unix_socket_directories='' -c archive_mode=off", o->start_port);
	snprintf(tmo, sizeof tmo, "%ld", (long)limit);
	ops_log_info("starting the recovered server on 127.0.0.1:%d", o->start_port);
	rc = ops_proc_start(NULL, start, NULL, OPS_PROC_CAPTURE, NULL, NULL, &proc, err);
	if (rc == OPS_OK)
		rc = ops_proc_wait(proc, err);
	if (rc != OPS_OK) {
		log_reason(dir, why, sizeof why);
		ops_error_set(err, OPS_EFAIL, "the recovered server did not start on port %d: %s",
			      o->start_port, why);
		goto out;
	}
	r = cJSON_AddObjectToObject(rep, "recovery");
	cJSON_AddNumberToObject(r, "port", o->start_port);
	/* Until replay is paused at the target, or the server is promoted. */
	for (;;) {
		const char *st;

		ops_rows_free(rows);
		rows = NULL;
		if ((rc = ops_cancel_check(err)) != OPS_OK)
			break;
		if (!db && ops_db_open(cfg, target, &db, &ignored) != OPS_OK)
			db = NULL;
		if (db && ops_db_query(db, "SELECT CASE WHEN NOT pg_catalog.pg_is_in_recovery()"
				       " THEN 'promoted' ELSE"
				       " pg_catalog.pg_get_wal_replay_pause_state() END,"
				       " pg_catalog.pg_last_xact_replay_timestamp()::text",
				       0, NULL, &rows, &ignored) != OPS_OK) {
			ops_db_close(db);
			db = NULL;
		}
		st = db && ops_rows_count(rows) == 1 ? ops_rows_value(rows, 0, 0) : NULL;
		if (st && (strcmp(st, promote ? "promoted" : "paused") == 0)) {
			free(state);
			state = strdup(st);
			break;
		}
		if (!db) {
			char pid[4096];

			snprintf(pid, sizeof pid, "%s/postmaster.pid", dir);
			if (access(pid, F_OK) != 0) {
				log_reason(dir, why, sizeof why);
				rc = ops_error_set(err, OPS_EFAIL, "the recovered server stopped "
						   "before reaching the target: %s", why);
				break;
			}
		}
		if (ops_clock() - t0 > limit) {
			rc = ops_error_set(err, OPS_EFAIL, "recovery did not reach its target "
					   "within backup.recovery_timeout (%.0f s); the server "
					   "is stopped", limit);
			break;
		}
		usleep(200000);
	}
	if (rc == OPS_OK) {
		const char *at = ops_rows_value(rows, 0, 1);

		cJSON_AddStringToObject(r, "state", state);
		if (at)
			cJSON_AddStringToObject(r, "replayed_to", at);
		else
			cJSON_AddNullToObject(r, "replayed_to");
		cJSON_AddNumberToObject(r, "seconds", ops_clock() - t0);
		cJSON_AddStringToObject(rep, "then", promote
					? "the server is running and open for writes on a new "
					  "timeline; stop it with pg_ctl -D DIR stop"
					: "the server is running, paused read-only at the target: "
					  "check the data, then SELECT pg_wal_replay_resume() opens "
					  "it for writes");
	} else {
		ops_proc *sp = NULL;

		if (ops_proc_start(NULL, stop, NULL, OPS_PROC_CAPTURE, NULL, NULL, &sp,
				   &ignored) == OPS_OK)
			ops_proc_wait(sp, &ignored);
	}
out:
	ops_rows_free(rows);
	ops_db_close(db);
	free(state);
	free(target);
	free(ctl);
	free(log);
	return rc;
}

/* Every refusal that needs neither the directory nor the store. */
static ops_code check_request(const ops_restore_opts *o, const ops_manifest *m,
			      double *t, char *norm, size_t len, ops_error *err)
{
	int targets = !!o->target_time + !!o->target_lsn + !!o->target_name +
		      !!o->target_immediate;
	unsigned long long lsn;
	char stop[OPS_TIME_ISO_SIZE];

	if (!m->method || strcmp(m->method, "physical") != 0)
		return ops_error_set(err, OPS_EUSAGE, "backup '%s' is %s: point-in-time recovery "
				     "needs backup.method = physical", m->id,
				     m->method ? m->method : "logical");
	if (!o->datadir && (targets || o->target_action || o->target_exclusive))
		return ops_error_set(err, OPS_EUSAGE, "recovery targets need --datadir DIR, the "
				     "new data directory recovery runs in");
	if (!o->datadir) {
		ops_error_set(err, OPS_EUSAGE, "backup '%s' is physical: it is restored into a new "
			      "data directory (--datadir DIR)", m->id);
		ops_error_hint(err, "opsctl backup restore %s --datadir DIR [--target-time TIME]",
			       m->id);
		return OPS_EUSAGE;
	}
	if (o->databases || o->as)
		return ops_error_set(err, OPS_EUSAGE, "-d and --as choose databases of a logical "
				     "backup; backup '%s' is the whole cluster", m->id);
	if (targets > 1)
		return ops_error_set(err, OPS_EUSAGE, "one recovery target at a time: "
				     "--target-time, --target-lsn, --target-name or "
				     "--target-immediate");
	if (o->target_action && !targets)
		return ops_error_set(err, OPS_EUSAGE, "--target-action says what happens at a "
				     "recovery target; without one, recovery runs to the end of "
				     "the archived WAL");
	if (o->target_action && strcmp(o->target_action, "pause") != 0 &&
	    strcmp(o->target_action, "promote") != 0 && strcmp(o->target_action, "shutdown") != 0)
		return ops_error_set(err, OPS_EUSAGE, "--target-action '%s' is not one of pause, "
				     "promote, shutdown", o->target_action);
	if (o->start_port && o->target_action && strcmp(o->target_action, "shutdown") == 0)
		return ops_error_set(err, OPS_EUSAGE, "--start waits for a server that stays up; "
				     "--target-action shutdown stops it at the target");
	if (o->target_exclusive && (!targets || o->target_immediate))
		return ops_error_set(err, OPS_EUSAGE, "--target-exclusive needs --target-time, "
				     "--target-lsn or --target-name");
	if (o->target_time) {
		int r = parse_time(o->target_time, t, norm, len);

		if (r == -2) {
			ops_error_set(err, OPS_EUSAGE, "--target-time '%s' has no time zone; "
				      "PostgreSQL would read it in the recovered server's zone",
				      o->target_time);
			ops_error_hint(err, "add one: %sZ for UTC, or an offset such as %s+01:00",
				       o->target_time, o->target_time);
			return OPS_EUSAGE;
		}
		if (r != 0)
			return ops_error_set(err, OPS_EUSAGE, "--target-time '%s' is not an ISO 8601 "
					     "time with a zone (such as 2026-12-02T10:15:00Z)",
					     o->target_time);
		if (*t < m->stop) {
			ops_time_iso((time_t)m->stop, stop);
			ops_error_set(err, OPS_EUSAGE, "--target-time %s is before backup '%s' "
				      "ended (%s); a backup recovers only to later times", norm,
				      m->id, stop);
			ops_error_hint(err, "choose an older backup (opsctl backup list) or a "
				       "later time");
			return OPS_EUSAGE;
		}
	}
	if (o->target_lsn && !parse_lsn(o->target_lsn, &lsn))
		return ops_error_set(err, OPS_EUSAGE, "--target-lsn '%s' is not an LSN (such as "
				     "0/3000028)", o->target_lsn);
	if (o->target_name && (!*o->target_name || strlen(o->target_name) > 63 ||
			       strpbrk(o->target_name, "\n\r")))
		return ops_error_set(err, OPS_EUSAGE, "--target-name '%s' is not a restore point "
				     "name (1 to 63 bytes, one line)", o->target_name);
	if (geteuid() == 0) {
		ops_error_set(err, OPS_EPERM, "not restoring a data directory as root: its files "
			      "would be root's, and PostgreSQL does not run as root");
		ops_error_hint(err, "run it as the server's user, such as runuser -u postgres "
			       "-- opsctl backup restore ...");
		return OPS_EPERM;
	}
	return OPS_OK;
}

ops_code bk_pitr_restore(const ops_backup_ctx *ctx, const ops_restore_opts *o,
			 const ops_manifest *m, cJSON **report, ops_error *err)
{
	const ops_config *cfg = ctx->run->cfg;
	struct pitr x = {.tar_in = -1};
	char norm[64] = "", wal[32], stamp[OPS_TIME_ISO_SIZE], endtext[32], *fetch = NULL;
	char *start = NULL, target[128];
	unsigned long long lsn = 0, end;
	int exists = 0, targeted;
	double t = 0;
	time_t wal_when;
	ops_code rc;
	cJSON *rep, *lines;
	ops_manifest **chain = NULL;
	size_t nchain = 0, i;

	*report = NULL;
	if ((rc = check_request(o, m, &t, norm, sizeof norm, err)) != OPS_OK)
		return rc;
	if (!(x.dir = absolute(o->datadir)))
		return ops_error_oom(err);
	if ((rc = datadir_usable(cfg, x.dir, &exists, err)) != OPS_OK)
		goto out;
	/* Refused now rather than after the archive is read. */
	{
		unsigned char key[OPS_CRYPT_KEY_LEN];
		int have = 0;

		if ((rc = bk_pass_key(ctx, m, key, &have, err)) != OPS_OK)
			goto out;
	}
	if ((rc = bk_chain_load(ctx, m, &chain, &nchain, err)) != OPS_OK)
		goto out;
	for (i = 0; i < nchain; i++) {
		unsigned char key[OPS_CRYPT_KEY_LEN];
		int have = 0;

		if ((rc = bk_pass_key(ctx, chain[i], key, &have, err)) != OPS_OK)
			goto out;
	}
	if ((rc = newest_wal(ctx, wal, &wal_when, err)) != OPS_OK ||
	    (rc = fetch_command(ctx, o->program, &fetch, err)) != OPS_OK)
		goto out;
	targeted = o->target_time || o->target_lsn || o->target_name || o->target_immediate;
	if (o->target_time)
		snprintf(target, sizeof target, "time %s", norm);
	else if (o->target_lsn)
		snprintf(target, sizeof target, "lsn %s", o->target_lsn);
	else if (o->target_name)
		snprintf(target, sizeof target, "restore point %s", o->target_name);
	else if (o->target_immediate)
		snprintf(target, sizeof target, "immediate (the end of the backup)");
	else
		snprintf(target, sizeof target, "the end of the archived WAL");

	rep = cJSON_CreateObject();
	*report = rep;
	cJSON_AddStringToObject(rep, "id", m->id);
	cJSON_AddStringToObject(rep, "method", "physical");
	cJSON_AddStringToObject(rep, "datadir", x.dir);
	cJSON_AddStringToObject(rep, "datadir_action", exists ? "fill empty" : "create");
	cJSON_AddStringToObject(rep, "backup_stop", ops_time_iso((time_t)m->stop, stamp));
	cJSON_AddStringToObject(rep, "wal_stop", m->wal_stop ? m->wal_stop : "");
	cJSON_AddStringToObject(rep, "target", target);
	if (m->prior) {
		cJSON *c = cJSON_AddArrayToObject(rep, "chain");

		for (i = 0; i < nchain; i++)
			cJSON_AddItemToArray(c, cJSON_CreateString(chain[i]->id));
		cJSON_AddItemToArray(c, cJSON_CreateString(m->id));
	}
	if (targeted) {
		cJSON_AddStringToObject(rep, "target_action",
					o->target_action ? o->target_action : "pause");
		if (!o->target_immediate)
			cJSON_AddBoolToObject(rep, "target_inclusive", !o->target_exclusive);
	}
	if (*wal) {
		cJSON_AddStringToObject(rep, "newest_wal", wal);
		cJSON_AddStringToObject(rep, "newest_wal_stored", ops_time_iso(wal_when, stamp));
	} else {
		cJSON_AddNullToObject(rep, "newest_wal");
	}
	/* PostgreSQL 13+ stops with "recovery ended before configured recovery
	 * target was reached" when the archive ends first. */
	if (o->target_time && (!*wal || t > (double)wal_when)) {
		char warn[512];

		snprintf(warn, sizeof warn, "--target-time %s is after the newest archived WAL "
			 "segment %s (stored %s): recovery cannot reach it, and PostgreSQL will "
			 "stop where the archive ends; archive the current WAL first (opsctl "
			 "backup --type wal)", norm, *wal ? wal : "(none)",
			 *wal ? stamp : "-");
		cJSON_AddStringToObject(rep, "warning", warn);
		ops_log_warn("%s", warn);
	}
	lines = cJSON_AddArrayToObject(rep, "settings");
	if ((rc = recovery_settings(o, fetch, norm, lines, err)) != OPS_OK)
		goto out;
	start = start_command(cfg, m, x.dir);
	if (!start) {
		rc = ops_error_oom(err);
		goto out;
	}
	if (ctx->run->dry_run) {
		cJSON_AddBoolToObject(rep, "dry_run", 1);
		cJSON_AddStringToObject(rep, "would_extract", "base.tar");
		cJSON_AddNumberToObject(rep, "size_bytes", (double)ops_manifest_size(m));
		cJSON_AddStringToObject(rep, "start_command", start);
		cJSON_AddStringToObject(rep, "window", "not needed (nothing that exists is replaced)");
		goto out;
	}
	rc = extract(ctx, chain, nchain, m, &x, rep, err);
	if (rc == OPS_OK && o->target_lsn) {
		parse_lsn(o->target_lsn, &lsn);
		end = backup_end_lsn(x.dir, endtext, sizeof endtext);
		if (end && lsn < end) {
			ops_error_set(err, OPS_EUSAGE, "--target-lsn %s is before the end of backup "
				      "'%s' (%s); a backup recovers only to later positions",
				      o->target_lsn, m->id, endtext);
			ops_error_hint(err, "choose an older backup (opsctl backup list) or a "
				       "later LSN");
			rc = OPS_EUSAGE;
		}
	}
	if (rc == OPS_OK)
		rc = write_recovery(x.dir, m, lines, rep, err);
	if (rc == OPS_OK)
		rc = ops_fsync_dir(x.dir, err);
	if (rc != OPS_OK) {
		undo(&x);
		if (rc != OPS_EINTR)
			ops_error_prefix(err, "nothing was restored");
		cJSON_Delete(rep);
		*report = NULL;
		goto out;
	}
	cJSON_AddNumberToObject(rep, "size_bytes", (double)ops_manifest_size(m));
	cJSON_AddStringToObject(rep, "start_command", start);
	if (o->start_port)
		rc = recover(ctx, o, m, x.dir, targeted, rep, err);
	else
		cJSON_AddStringToObject(rep, "then", next_step(o, targeted));
out:
	bk_chain_free(chain, nchain);
	free(x.dir);
	free(fetch);
	free(start);
	return rc;
}
