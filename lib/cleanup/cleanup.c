/*
 * cleanup logs and cleanup temp (cleanup.h): the guides' types turned into
 * walks of core/walk, one per type directory, with the checks a tool that
 * deletes files in bulk owes its operator before the first unlink: the root
 * and every type directory resolved and refused when they are, or are
 * inside, what must never be cleaned; the whole run counted first when a
 * cap or a question needs the count, so that a refusal removes nothing.
 *
 * The type directories are below one root (cleanup.log_dir, cleanup.temp_dir
 * or -p), so that -p moves them all, as the guides' scripts' -p does.  A
 * type whose directory lies inside another's (application logs at the root,
 * system logs in system/) is left to its own rules: the other walk does not
 * enter it.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup/cleanup_internal.h"
#include "opsmaint/cleanup.h"
#include "opsmaint/config.h"
#include "opsmaint/fileio.h"
#include "opsmaint/log.h"
#include "opsmaint/output.h"
#include "opsmaint/walk.h"

struct type_def {
	const char *name;
	ops_cleanup_kind kind;
	const char *dir_key;		/* relative to the root; "." (or NULL) the root itself */
	const char *patterns_key;	/* NULL: every name */
	const char *age_key;		/* its own age when -d is not given; NULL: -d's default */
	int remove_empty_dirs;		/* temp trees hold per-upload directories */
	/* Only what lies inside a directory of this name, and those directories
	 * once emptied: never an empty directory of another name. */
	const char *within;
};

static const struct type_def type_defs[] = {
	{.name = "application", .kind = OPS_CLEANUP_LOGS, .dir_key = "cleanup.application_dir",
	 .patterns_key = "cleanup.application_patterns"},
	{.name = "system", .kind = OPS_CLEANUP_LOGS, .dir_key = "cleanup.system_dir",
	 .patterns_key = "cleanup.system_patterns"},
	{.name = "uploads", .kind = OPS_CLEANUP_TEMP, .dir_key = "cleanup.uploads_dir",
	 .patterns_key = "cleanup.uploads_patterns", .remove_empty_dirs = 1},
	{.name = "processing", .kind = OPS_CLEANUP_TEMP, .dir_key = "cleanup.processing_dir",
	 .patterns_key = "cleanup.processing_patterns", .remove_empty_dirs = 1},
	/* 000 section 5.5: cached files 7 days, the rest 24 hours. */
	{.name = "cache", .kind = OPS_CLEANUP_TEMP, .dir_key = "cleanup.cache_dir",
	 .patterns_key = "cleanup.cache_patterns", .age_key = "cleanup.cache_age",
	 .remove_empty_dirs = 1},
	/* 003 weekly_cleanup.sh: find . -name "*.tmp" -mtime +1 -delete */
	{.name = "scratch", .kind = OPS_CLEANUP_TEMP, .dir_key = "cleanup.scratch_dir",
	 .patterns_key = "cleanup.scratch_patterns"},
	/* 003 weekly_cleanup.sh: find . -name __pycache__ -type d -exec rm -rf {} +,
	 * whatever the age (cleanup.pycache_age 0), anywhere below the root. */
	{.name = "pycache", .kind = OPS_CLEANUP_TEMP, .age_key = "cleanup.pycache_age",
	 .remove_empty_dirs = 1, .within = "__pycache__"},
};
#define NTYPES (sizeof type_defs / sizeof type_defs[0])

/* Problems and skipped entries listed in the report; the counts go on. */
#define LIST_MAX 1000

struct job {
	const struct type_def *def;
	char *dir;			/* as displayed: the root as given, then /SUB */
	int selected;			/* -t chose it; the others are only kept out of */
	int missing;			/* the type's directory does not exist */
	struct stat st;			/* of the directory, when it exists */
	char **patterns;
	long age;			/* seconds */
	ops_walk_totals t;
	long long skipped_open;
};

struct cl {
	const ops_cleanup_req *req;
	const ops_run *run;
	struct job jobs[NTYPES];
	size_t njobs;
	struct job *cur;
	struct cl_open open;
	int reporting;			/* this pass's entries go into the report */
	int listing;			/* ... and each removed one by name */
	long long max_files, max_bytes;
	long long pass_files, pass_bytes;	/* removed so far in this pass */
	int removing;			/* this pass removes (the cap is enforced) */
	int capped;			/* the cap stopped the real pass */
	cJSON *removed, *skipped, *problems;
	long long nskipped, nproblems;
};

/* ---- what may not be cleaned ---- */

/* Cleaned neither at nor under these (the walk never enters them either). */
static const char *const system_trees[] = {
	"/etc", "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/boot", "/dev",
	"/proc", "/sys", NULL
};
/* Holders of everything: refused themselves, fine below (/var/log/app). */
static const char *const system_roots[] = {
	"/", "/var", "/var/lib", "/var/log", "/home", "/root", "/opt", "/srv", "/mnt", "/media",
	"/tmp", "/var/tmp", "/run", NULL
};

struct guard {
	const char *path;	/* a configured path: refused at and under */
	const char *why;	/* "opsctl's state directory (general.state_dir)" */
};

/*
 * 1 when real (resolved) is guard or below it.  A guard this user cannot
 * resolve (missing, or behind a directory it may not search) is compared as
 * written: ops_path_is_protected would refuse everything then, and a path
 * nobody here can reach is one nobody here can clean through.
 */
static int under(const char *real, const char *guard)
{
	char g[PATH_MAX];
	size_t n;

	if (!guard || !*guard)
		return 0;
	if (!realpath(guard, g)) {
		if (guard[0] != '/' || strlen(guard) >= sizeof g)
			return 0;
		strcpy(g, guard);
		for (n = strlen(g); n > 1 && g[n - 1] == '/'; n--)
			g[n - 1] = '\0';
	}
	n = strlen(g);
	if (strcmp(g, "/") == 0)
		return 1;
	return strncmp(real, g, n) == 0 && (real[n] == '\0' || real[n] == '/');
}

static int same_path(const char *real, const char *other)
{
	char r[PATH_MAX];

	return other && *other && realpath(other, r) && strcmp(r, real) == 0;
}

/* The directory of the vector index: the data store guide 002 protects. */
static char *index_dir(const ops_config *cfg)
{
	const char *p = ops_config_get(cfg, "vector.index_path");

	return p && *p ? ops_path_dir(p) : NULL;
}

/*
 * NULL when real (resolved) may be cleaned, else why not, in words after
 * "refusing to clean 'X': " (static or in buf).
 */
static const char *refusal(const ops_config *cfg, const char *real, char *buf, size_t len)
{
	static const char *const backup_keys[] = {
		"backup.dir", "db.backup_dir", "vector.backup_dir", "backup.monitoring_dir", NULL
	};
	const char *home = getenv("HOME");
	char **prot;
	char *idx;
	size_t i;
	int hit;

	for (i = 0; system_roots[i]; i++)
		if (same_path(real, system_roots[i]) || strcmp(real, system_roots[i]) == 0) {
			snprintf(buf, len, "%s holds more than one program's files",
				 strcmp(real, "/") == 0 ? "the root directory" : "it");
			return buf;
		}
	if (home && same_path(real, home))
		return "it is the home directory";
	for (i = 0; system_trees[i]; i++)
		if (under(real, system_trees[i])) {
			snprintf(buf, len, "%s is a system directory", system_trees[i]);
			return buf;
		}
	if (under(real, ops_config_get(cfg, "general.state_dir")))
		return "it is opsctl's state directory (general.state_dir) or inside it";
	for (i = 0; backup_keys[i]; i++)
		if (under(real, ops_config_get(cfg, backup_keys[i]))) {
			snprintf(buf, len, "it is a backup directory (%s) or inside it", backup_keys[i]);
			return buf;
		}
	idx = index_dir(cfg);
	hit = under(real, idx);
	free(idx);
	if (hit)
		return "it holds the vector index (vector.index_path)";
	prot = ops_config_list(cfg, "general.protected_paths");
	for (i = 0, hit = 0; prot && prot[i] && !hit; i++)
		hit = under(real, prot[i]);
	ops_strv_free(prot);
	if (hit)
		return "it is a protected path (general.protected_paths)";
	return NULL;
}

/*
 * What the walks may never remove nor enter, below an accepted root: the
 * configured protected paths, the system trees, the backup directories
 * and the index's; NULL-terminated, or NULL on OOM.
 */
static char **walk_protected(const ops_config *cfg)
{
	static const char *const keys[] = {
		"backup.dir", "db.backup_dir", "vector.backup_dir", "backup.monitoring_dir", NULL
	};
	char **prot = ops_config_list(cfg, "general.protected_paths");
	size_t n = ops_strv_len(prot), i, k = 0;
	char **v = calloc(n + 16 + 1, sizeof *v), *idx;
	struct stat st;

	if (!v) {
		ops_strv_free(prot);
		return NULL;
	}
	/* Only what exists: a missing path protects nothing in a walk, and one
	 * the walk could not resolve would make it refuse every root. */
	for (i = 0; i < n; i++) {
		if (stat(prot[i], &st) == 0)
			v[k++] = prot[i];
		else
			free(prot[i]);
	}
	free(prot);
	for (i = 0; system_trees[i]; i++)
		if (stat(system_trees[i], &st) == 0 && !(v[k++] = strdup(system_trees[i])))
			goto oom;
	for (i = 0; keys[i]; i++) {
		const char *p = ops_config_get(cfg, keys[i]);

		if (p && *p && stat(p, &st) == 0 && !(v[k++] = strdup(p)))
			goto oom;
	}
	idx = index_dir(cfg);
	if (idx && stat(idx, &st) == 0)
		v[k++] = idx;
	else
		free(idx);
	return v;
oom:
	ops_strv_free(v);
	return NULL;
}

/*
 * Refuse path (a root or a type directory) when it must not be cleaned:
 * OPS_EUSAGE when the operator typed it (-p), OPS_ECONFIG when it comes from
 * the configuration, naming key.  A missing root is refused the same way.
 */
static ops_code check_dir(const struct cl *c, const char *path, const char *key, int is_root,
			  int *missing, struct stat *st, ops_error *err)
{
	ops_code code = c->req->path && is_root ? OPS_EUSAGE : OPS_ECONFIG;
	char real[PATH_MAX], buf[256];
	const char *why;
	char *q;

	*missing = 0;
	if (!path || !*path) {
		ops_error_set(err, code, "refusing to clean an empty path");
		ops_error_hint(err, code == OPS_EUSAGE ? "give -p the directory to clean."
			       : "set the directory in the configuration.");
		return code;
	}
	q = ops_walk_quote(path);
	if (!q)
		return ops_error_oom(err);
	if (!realpath(path, real)) {
		int en = errno;

		if (en == ENOENT && !is_root) {
			*missing = 1;
			free(q);
			return OPS_OK;
		}
		ops_error_set(err, code, "cannot clean '%s': %s", q, strerror(en));
		if (code == OPS_ECONFIG)
			ops_error_hint(err, "%s names it; set it to the directory to clean, or give "
				       "-p DIR.", key);
		free(q);
		return code;
	}
	if ((why = refusal(c->run->cfg, real, buf, sizeof buf))) {
		ops_error_set(err, code, "refusing to clean '%s': %s", q, why);
		if (code == OPS_ECONFIG)
			ops_error_hint(err, "--force does not change this; set %s to a directory that "
				       "holds only the files to clean.", key);
		else
			ops_error_hint(err, "--force does not change this; give -p a directory that "
				       "holds only the files to clean.");
		free(q);
		return code;
	}
	if (stat(real, st) != 0 || !S_ISDIR(st->st_mode)) {
		ops_error_set(err, code, "cannot clean '%s': not a directory", q);
		free(q);
		return code;
	}
	free(q);
	return OPS_OK;
}

/* ---- the walks ---- */

/* The entry's path for the report: exact bytes in JSON (ops_json_utf8 adds
 * path_hex where they are not UTF-8), quoted for a person. */
static cJSON *path_item(const struct cl *c, const char *path)
{
	cJSON *s;
	char *q;

	if (c->run->output == OPS_OUT_JSON)
		return cJSON_CreateString(path);
	q = ops_walk_quote(path);
	s = q ? cJSON_CreateString(q) : NULL;
	free(q);
	return s;
}

static int list_add(struct cl *c, cJSON *list, const char *path, const char *reason)
{
	cJSON *o = cJSON_CreateObject(), *p;

	if (!o || !cJSON_AddItemToArray(list, o)) {
		cJSON_Delete(o);
		return -1;
	}
	p = path_item(c, path);
	if (!cJSON_AddStringToObject(o, "type", c->cur->def->name) || !p ||
	    !cJSON_AddItemToObject(o, "path", p)) {
		cJSON_Delete(p);
		return -1;
	}
	if (reason && !cJSON_AddStringToObject(o, "reason", reason))
		return -1;
	return 0;
}

static int skip_note(struct cl *c, const ops_walk_entry *e, const char *reason)
{
	if (!c->reporting || c->nskipped++ >= LIST_MAX)
		return 0;
	return list_add(c, c->skipped, e->path, reason);
}

/*
 * 1 when e lies inside a directory called name below the root (rel's
 * directory components), or is one itself when it is a directory.  The
 * root's own name does not count: the operator chose the root, the type
 * chooses inside it.
 */
static int inside_named(const ops_walk_entry *e, const char *name)
{
	size_t n = strlen(name);
	const char *p = e->rel, *slash;

	for (;;) {
		slash = strchr(p, '/');
		if (!slash)	/* the last component: the entry itself */
			return e->type == OPS_WALK_DIR && strcmp(p, name) == 0;
		if ((size_t)(slash - p) == n && strncmp(p, name, n) == 0)
			return 1;
		p = slash + 1;
	}
}

static int cl_select(void *arg, const ops_walk_entry *e)
{
	struct cl *c = arg;
	pid_t pid;

	if (c->cur->def->within && !inside_named(e, c->cur->def->within))
		return 0;
	if (e->type == OPS_WALK_DIR)
		return 1;
	if ((pid = cl_open_holder(&c->open, e->st->st_dev, e->st->st_ino))) {
		char why[64];

		if (c->reporting) {
			c->cur->skipped_open++;
			snprintf(why, sizeof why, "open for writing by pid %ld", (long)pid);
			/* An out-of-memory here shows as a shorter list. */
			(void)skip_note(c, e, why);
		}
		return 0;
	}
	/* The count said the cap would hold; more may have aged since. */
	if (c->removing && ((c->max_files && c->pass_files >= c->max_files) ||
				 (c->max_bytes && c->pass_bytes + e->st->st_size > c->max_bytes))) {
		c->capped = 1;
		return 0;
	}
	return 1;
}

/* Another type's directory is walked by its own rules. */
static int cl_descend(void *arg, const ops_walk_entry *e)
{
	const struct cl *c = arg;
	size_t i;

	for (i = 0; i < c->njobs; i++)
		if (&c->jobs[i] != c->cur && !c->jobs[i].missing &&
		    c->jobs[i].st.st_dev == e->st->st_dev && c->jobs[i].st.st_ino == e->st->st_ino)
			return 0;
	return 1;
}

static ops_code cl_entry(void *arg, const ops_walk_entry *e, ops_walk_event ev,
			 const ops_error *problem, ops_error *err)
{
	struct cl *c = arg;
	int r = 0;

	switch (ev) {
	case OPS_WALK_REMOVED:
		if (e->type != OPS_WALK_DIR) {
			c->pass_files++;
			c->pass_bytes += e->st->st_size;
			if (c->listing)
				r = list_add(c, c->removed, e->path, NULL);
		}
		break;
	case OPS_WALK_ERROR:
		if (c->reporting && c->nproblems++ < LIST_MAX) {
			cJSON *s = cJSON_CreateString(problem->message);

			if (!s || !cJSON_AddItemToArray(c->problems, s)) {
				cJSON_Delete(s);
				r = -1;
			}
		}
		break;
	case OPS_WALK_MOUNT:
		r = skip_note(c, e, "mount point");
		break;
	case OPS_WALK_PROTECTED:
		r = skip_note(c, e, "protected path");
		break;
	}
	return r ? ops_error_oom(err) : OPS_OK;
}

/* One pass over every type; dry or not as run->dry_run || dry. */
static ops_code pass(struct cl *c, char **protected, int dry, ops_error *err)
{
	time_t now = ops_run_now(c->run);
	size_t i;
	ops_code rc;

	c->pass_files = c->pass_bytes = 0;
	c->removing = !dry;
	for (i = 0; i < c->njobs; i++) {
		struct job *j = &c->jobs[i];
		ops_walk_opts o;
		ops_error werr;

		memset(&j->t, 0, sizeof j->t);
		j->skipped_open = c->reporting ? 0 : j->skipped_open;
		if (j->missing || !j->selected)
			continue;
		c->cur = j;
		ops_walk_opts_init(&o);
		/* A link goes as a name (never its target); sockets and fifos belong
		 * to running programs and stay. */
		o.types = OPS_WALK_FILE | OPS_WALK_SYMLINK;
		o.patterns = j->patterns;
		/* 0 is any age: a __pycache__ written this second goes too. */
		o.older_than = j->age > 0 ? now - j->age : 0;
		o.remove_empty_dirs = j->def->remove_empty_dirs;
		o.dry_run = dry;
		o.protected_paths = protected;
		o.state_dir = ops_config_get(c->run->cfg, "general.state_dir");
		o.select = cl_select;
		o.descend = cl_descend;
		o.on_entry = cl_entry;
		o.arg = c;
		ops_error_clear(&werr);
		rc = ops_walk_tree(j->dir, &o, &j->t, &werr);
		if (rc == OPS_EINTR || rc == OPS_EINTERNAL) {
			*err = werr;
			return rc;
		}
		if (rc != OPS_OK) {
			/* The type's directory cannot be read: reported, the others go on. */
			j->t.errors++;
			if (j->t.errors == 1)
				j->t.first_error = werr;
			if (c->reporting && c->nproblems++ < LIST_MAX) {
				cJSON *s = cJSON_CreateString(werr.message);

				if (!s || !cJSON_AddItemToArray(c->problems, s)) {
					cJSON_Delete(s);
					return ops_error_oom(err);
				}
			}
		}
	}
	return OPS_OK;
}

static void totals(const struct cl *c, long long *files, long long *bytes, long long *dirs,
		   long long *errors, long long *open)
{
	size_t i;

	*files = *bytes = *dirs = *errors = *open = 0;
	for (i = 0; i < c->njobs; i++) {
		*files += c->jobs[i].t.files;
		*bytes += c->jobs[i].t.bytes;
		*dirs += c->jobs[i].t.directories;
		*errors += c->jobs[i].t.errors;
		*open += c->jobs[i].skipped_open;
	}
}

/* ---- the request ---- */

static int wants(char *const *types, const char *name)
{
	if (!types || !types[0])
		return 1;
	for (; *types; types++)
		if (strcmp(*types, "all") == 0 || strcmp(*types, name) == 0)
			return 1;
	return 0;
}

/* The type directories of the request, each checked before any walk. */
static ops_code plan(struct cl *c, const char *root, ops_error *err)
{
	const ops_cleanup_req *r = c->req;
	const ops_config *cfg = c->run->cfg;
	const char *root_key = r->kind == OPS_CLEANUP_LOGS ? "cleanup.log_dir" : "cleanup.temp_dir";
	struct stat st;
	ops_code rc;
	size_t i;
	int missing;

	if ((rc = check_dir(c, root, root_key, 1, &missing, &st, err)) != OPS_OK)
		return rc;
	for (i = 0; i < NTYPES; i++) {
		const struct type_def *d = &type_defs[i];
		const char *sub = d->dir_key ? ops_config_get(cfg, d->dir_key) : NULL;
		struct job *j;

		if (d->kind != r->kind)
			continue;
		j = &c->jobs[c->njobs++];
		j->def = d;
		j->selected = wants(r->types, d->name);
		if (!sub || !*sub || strcmp(sub, ".") == 0) {
			j->dir = strdup(root);
		} else if (sub[0] == '/' || strcmp(sub, "..") == 0 || strncmp(sub, "../", 3) == 0 ||
			   strstr(sub, "/../") || (strlen(sub) >= 3 &&
						   strcmp(sub + strlen(sub) - 3, "/..") == 0)) {
			return ops_error_set(err, OPS_ECONFIG,
					     "%s: '%s' must be a directory below the root, without '..'",
					     d->dir_key, sub);
		} else {
			j->dir = ops_path_join(root, sub);
		}
		if (!j->dir)
			return ops_error_oom(err);
		if (d->patterns_key && !(j->patterns = ops_config_list(cfg, d->patterns_key)))
			return ops_error_oom(err);
		j->age = (d->age_key && !r->days_given) ? ops_config_int(cfg, d->age_key)
			: r->days * 86400L;
		if (!j->selected) {
			/* Not cleaned, so not checked; only known, to be left alone. */
			j->missing = stat(j->dir, &j->st) != 0;
			continue;
		}
		if ((rc = check_dir(c, j->dir, d->dir_key ? d->dir_key : root_key, 0, &j->missing,
				    &j->st, err)) != OPS_OK)
			return rc;
	}
	return OPS_OK;
}

static ops_code refuse_cap(const struct cl *c, long long files, long long bytes, ops_error *err)
{
	char h[32], m[32];

	if (c->max_files && files > c->max_files) {
		ops_error_set(err, OPS_EFAIL,
			      "refusing to remove %lld files, more than cleanup.max_files (%lld); "
			      "nothing was removed", files, c->max_files);
	} else {
		ops_human_bytes((double)bytes, h, sizeof h);
		ops_human_bytes((double)c->max_bytes, m, sizeof m);
		ops_error_set(err, OPS_EFAIL,
			      "refusing to remove %s, more than cleanup.max_bytes (%s); nothing was "
			      "removed", h, m);
	}
	ops_error_hint(err, "see what would go with --dry-run; if it is right, raise the cap for "
		       "one run (OPSCTL_CLEANUP_MAX_FILES=0 or OPSCTL_CLEANUP_MAX_BYTES=0 lifts it).");
	return OPS_EFAIL;
}

static ops_code ask(const struct cl *c, const char *root, long long files, long long bytes,
		    ops_error *err)
{
	char h[32], *q = ops_walk_quote(root), *question = NULL;
	int yes;

	if (!q)
		return ops_error_oom(err);
	ops_human_bytes((double)bytes, h, sizeof h);
	if (asprintf(&question, "Remove %lld old file%s (%s) under %s?", files,
		     files == 1 ? "" : "s", h, q) < 0) {
		free(q);
		return ops_error_oom(err);
	}
	yes = c->run->confirm(c->run->confirm_arg, question);
	free(question);
	free(q);
	if (yes)
		return OPS_OK;
	return ops_error_set(err, OPS_EDECLINED, "cleanup cancelled; nothing was removed");
}

static ops_code build_report(struct cl *c, const char *root, cJSON *rep)
{
	long long files, bytes, dirs, errors, open;
	cJSON *types, *fig, *p = path_item(c, root);
	size_t i;

	totals(c, &files, &bytes, &dirs, &errors, &open);
	if (!p || !cJSON_AddItemToObject(rep, "path", p)) {
		cJSON_Delete(p);
		return OPS_EINTERNAL;
	}
	cJSON_AddBoolToObject(rep, "dry_run", c->run->dry_run);
	types = cJSON_AddArrayToObject(rep, "types");
	for (i = 0; types && i < c->njobs; i++) {
		const struct job *j = &c->jobs[i];
		cJSON *o, *d;

		if (!j->selected)
			continue;
		o = cJSON_CreateObject();
		d = path_item(c, j->dir);
		if (!o || !d || !cJSON_AddItemToArray(types, o)) {
			cJSON_Delete(o);
			cJSON_Delete(d);
			return OPS_EINTERNAL;
		}
		cJSON_AddStringToObject(o, "type", j->def->name);
		cJSON_AddItemToObject(o, "directory", d);
		cJSON_AddNumberToObject(o, "days", (double)j->age / 86400.0);
		cJSON_AddBoolToObject(o, "missing", j->missing);
		cJSON_AddNumberToObject(o, "files", (double)j->t.files);
		cJSON_AddNumberToObject(o, "size_bytes", (double)j->t.bytes);
		cJSON_AddNumberToObject(o, "directories", (double)j->t.directories);
		cJSON_AddNumberToObject(o, "skipped_open", (double)j->skipped_open);
		cJSON_AddNumberToObject(o, "skipped_mounts", (double)j->t.mounts_skipped);
		cJSON_AddNumberToObject(o, "skipped_protected", (double)j->t.protected_skipped);
		cJSON_AddNumberToObject(o, "errors", (double)j->t.errors);
	}
	cJSON_AddNumberToObject(rep, "files", (double)files);
	cJSON_AddNumberToObject(rep, "size_bytes", (double)bytes);
	cJSON_AddNumberToObject(rep, "directories", (double)dirs);
	cJSON_AddNumberToObject(rep, "skipped_open", (double)open);
	cJSON_AddNumberToObject(rep, "errors", (double)errors);
	/* The lists move into the report. */
	if (c->removed)
		cJSON_AddItemToObject(rep, c->run->dry_run ? "would_remove" : "removed", c->removed);
	cJSON_AddItemToObject(rep, "skipped", c->skipped);
	cJSON_AddItemToObject(rep, "problems", c->problems);
	c->removed = c->skipped = c->problems = NULL;
	/* A file held by one of them may have gone: say so, never silently. */
	if (c->open.unreadable < 0)
		cJSON_AddStringToObject(rep, "open_files_unchecked", "no /proc: open files unknown");
	else if (c->open.unreadable > 0)
		cJSON_AddNumberToObject(rep, "open_files_unchecked_processes",
					(double)c->open.unreadable);
	if (!c->run->dry_run) {
		fig = cJSON_AddObjectToObject(rep, "_figures");
		if (!fig)
			return OPS_EINTERNAL;
		cJSON_AddNumberToObject(fig, "opsctl_cleanup_files_removed", (double)files);
		cJSON_AddNumberToObject(fig, "opsctl_cleanup_bytes_removed", (double)bytes);
		cJSON_AddNumberToObject(fig, "opsctl_cleanup_directories_removed", (double)dirs);
		cJSON_AddNumberToObject(fig, "opsctl_cleanup_files_skipped_open", (double)open);
		cJSON_AddNumberToObject(fig, "opsctl_cleanup_errors", (double)errors);
	}
	return OPS_OK;
}

ops_code ops_cleanup_files(const ops_cleanup_req *req, cJSON **report, ops_error *err)
{
	struct cl c;
	const ops_config *cfg = req->run->cfg;
	const char *root = req->path ? req->path
		: ops_config_get(cfg, req->kind == OPS_CLEANUP_LOGS ? "cleanup.log_dir"
				 : "cleanup.temp_dir");
	char **protected = NULL;
	long long files, bytes, dirs, errors, open;
	cJSON *rep = NULL;
	ops_code rc;
	size_t i;
	int need_count;

	*report = NULL;
	memset(&c, 0, sizeof c);
	c.req = req;
	c.run = req->run;
	c.max_files = ops_config_int(cfg, "cleanup.max_files");
	c.max_bytes = ops_config_int(cfg, "cleanup.max_bytes");
	if ((rc = plan(&c, root, err)) != OPS_OK)
		goto out;
	if (!(protected = walk_protected(cfg)) || cl_open_scan(&c.open, "/proc") != 0 ||
	    !(rep = cJSON_CreateObject()) || !(c.skipped = cJSON_CreateArray()) ||
	    !(c.problems = cJSON_CreateArray())) {
		rc = ops_error_oom(err);
		goto out;
	}
	/* Counted first when the count decides: the cap, the question, a dry run. */
	need_count = req->run->dry_run || c.max_files || c.max_bytes ||
		     (req->run->confirm && !req->run->force && !req->run->yes);
	if (need_count) {
		c.reporting = req->run->dry_run;
		c.listing = req->run->dry_run;
		if (c.listing && !(c.removed = cJSON_CreateArray())) {
			rc = ops_error_oom(err);
			goto out;
		}
		if ((rc = pass(&c, protected, 1, err)) != OPS_OK)
			goto out;
		totals(&c, &files, &bytes, &dirs, &errors, &open);
		if ((c.max_files && files > c.max_files) || (c.max_bytes && bytes > c.max_bytes)) {
			rc = refuse_cap(&c, files, bytes, err);
			if (req->run->dry_run) {
				/* A dry run says so and exits 0, as ops_run_would_permit does. */
				if (!cJSON_AddStringToObject(rep, "would_be_refused", err->message)) {
					rc = ops_error_oom(err);
					goto out;
				}
				ops_log_warn("%s", err->message);
				ops_error_clear(err);
				rc = OPS_OK;
				goto report;
			}
			/* The figures are of a run that removed nothing. */
			for (i = 0; i < c.njobs; i++)
				memset(&c.jobs[i].t, 0, sizeof c.jobs[i].t);
			goto report;
		}
		if (req->run->dry_run)
			goto report;
		if (files > 0 && req->run->confirm && !req->run->force && !req->run->yes &&
		    (rc = ask(&c, root, files, bytes, err)) != OPS_OK)
			goto out;
	}
	c.reporting = 1;
	c.listing = req->run->verbose;
	if (c.listing && !c.removed && !(c.removed = cJSON_CreateArray())) {
		rc = ops_error_oom(err);
		goto out;
	}
	if ((rc = pass(&c, protected, 0, err)) != OPS_OK) {
		/* Interrupted: what went is gone, and the record says how much. */
		if (rc == OPS_EINTR)
			goto report;
		goto out;
	}
	totals(&c, &files, &bytes, &dirs, &errors, &open);
	if (c.capped) {
		rc = ops_error_set(err, OPS_EFAIL,
				   "stopped at the cap (cleanup.max_files or cleanup.max_bytes): more "
				   "files aged while the run went on; %lld were removed", files);
	} else if (errors > 0) {
		const ops_error *first = NULL;

		for (i = 0; i < c.njobs && !first; i++)
			if (c.jobs[i].t.errors)
				first = &c.jobs[i].t.first_error;
		rc = ops_error_set(err, OPS_EFAIL, "%lld %s could not be read or removed, the rest "
				   "was cleaned; the first: %s", errors,
				   errors == 1 ? "entry" : "entries", first ? first->message : "?");
	}
report:
	if (build_report(&c, root, rep) != OPS_OK) {
		rc = ops_error_oom(err);
		goto out;
	}
	*report = rep;
	rep = NULL;
out:
	cJSON_Delete(rep);
	cJSON_Delete(c.removed);
	cJSON_Delete(c.skipped);
	cJSON_Delete(c.problems);
	for (i = 0; i < c.njobs; i++) {
		free(c.jobs[i].dir);
		ops_strv_free(c.jobs[i].patterns);
	}
	ops_strv_free(protected);
	cl_open_free(&c.open);
	return rc;
}
