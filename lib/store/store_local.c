/*
 * The local-directory storage driver.  Keys map to files below the root;
 * writes go through fileio's atomic files (temp, fsync, rename, fsync dir),
 * so an object is either absent or complete.  Files and directories are
 * opened without following symlinks, so a link planted under the root cannot
 * redirect a backup.  It knows nothing of backups or manifests.
 */
#include <dirent.h>
#include <errno.h>
#include <time.h>
#include <signal.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store_driver.h"
#include "opsmaint/fileio.h"
#include "opsmaint/log.h"

struct local_store {
	struct ops_store base;
	char *root;
};

struct local_writer {
	struct ops_store_writer base;
	ops_afile *af;
	char *root;	/* the store's, borrowed */
	char *dir;	/* the object's directory, to tidy on abort */
};

/*
 * Directories a key implied go once they are empty, as S3's prefixes do;
 * rmdir refuses a directory that still holds anything, so this never
 * removes an object.
 */
static void remove_empty_dirs(const char *root, char *dir)
{
	size_t n = strlen(root);

	while (dir && strlen(dir) > n && strncmp(dir, root, n) == 0 && rmdir(dir) == 0) {
		char *up = ops_path_dir(dir);

		free(dir);
		dir = up;
	}
	free(dir);
}

struct local_reader {
	struct ops_store_reader base;
	int fd;
	char *key;
};

static const struct ops_store_ops local_ops;

static char *key_path(const struct local_store *s, const char *key)
{
	return ops_path_join(s->root, key);
}

/*
 * Refuse a key whose directories include a symlink: O_NOFOLLOW guards only
 * the last component, and a link planted as a directory under the root
 * could otherwise send a backup, or a removal, elsewhere.
 */
static ops_code check_dirs(const struct local_store *s, const char *key, ops_error *err)
{
	char *path = key_path(s, key), *p;
	size_t rootlen = strlen(s->root);
	struct stat st;

	if (!path)
		return ops_error_oom(err);
	for (p = path + rootlen + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		if (lstat(path, &st) == 0 && !S_ISDIR(st.st_mode)) {
			ops_code rc = ops_error_set(err, OPS_EPERM,
						    "refusing '%s' in %s: '%s' is not a directory",
						    key, s->base.description, path + rootlen + 1);

			free(path);
			return rc;
		}
		*p = '/';
	}
	free(path);
	return OPS_OK;
}

/* Unfinished atomic writes are named KEY.tmp.PID.XXXXXXXX: never objects. */
static int is_temp_name(const char *name)
{
	const char *t = strstr(name, ".tmp.");
	size_t i;

	while (t) {
		const char *p = t + 5;

		while (*p >= '0' && *p <= '9')
			p++;
		if (p > t + 5 && *p == '.') {
			for (i = 1; i <= 8; i++) {
				char c = p[i];

				if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
					break;
			}
			if (i == 9 && p[9] == '\0')
				return 1;
		}
		t = strstr(t + 1, ".tmp.");
	}
	return 0;
}

/* A temp file whose writer is gone (killed mid-write) is removed when a
 * listing passes it (ops_temp_orphaned says when); 1 when it was. */
static int remove_if_stale(const char *path, const char *name, const struct stat *st)
{
	if (!ops_temp_orphaned(name, st->st_mtime) || unlink(path) != 0)
		return 0;
	ops_log_warn("removed '%s', left by an interrupted write", path);
	return 1;
}

static ops_code local_put_begin(ops_store *store, const char *key, ops_store_writer **out,
				ops_error *err)
{
	struct local_store *s = (struct local_store *)store;
	struct local_writer *w;
	char *path, *dir;
	ops_code rc = check_dirs(s, key, err);

	if (rc != OPS_OK)
		return rc;
	path = key_path(s, key);
	dir = path ? ops_path_dir(path) : NULL;
	if (!path || !dir) {
		free(path);
		free(dir);
		return ops_error_oom(err);
	}
	rc = ops_mkdir_p(dir, 0700, err);
	if (rc != OPS_OK) {
		free(dir);
		free(path);
		return rc;
	}
	w = calloc(1, sizeof *w);
	if (!w) {
		free(dir);
		free(path);
		return ops_error_oom(err);
	}
	w->base.ops = &local_ops;
	w->root = s->root;
	w->dir = dir;
	rc = ops_afile_open(path, 0600, &w->af, err);
	free(path);
	if (rc != OPS_OK) {
		remove_empty_dirs(w->root, w->dir);
		free(w);
		return rc;
	}
	*out = &w->base;
	return OPS_OK;
}

static ops_code local_write(ops_store_writer *writer, const void *buf, size_t len,
			    ops_error *err)
{
	struct local_writer *w = (struct local_writer *)writer;

	return ops_afile_write(w->af, buf, len, err);
}

static ops_code local_put_commit(ops_store_writer *writer, ops_error *err)
{
	struct local_writer *w = (struct local_writer *)writer;
	ops_code rc = ops_afile_commit(w->af, err);

	/* A commit that failed (a full disk at fsync) leaves no object, so
	 * no directory made for it either. */
	if (rc != OPS_OK)
		remove_empty_dirs(w->root, w->dir);
	else
		free(w->dir);
	free(w);
	return rc;
}

static void local_put_abort(ops_store_writer *writer)
{
	struct local_writer *w = (struct local_writer *)writer;

	ops_afile_abort(w->af);
	remove_empty_dirs(w->root, w->dir);
	free(w);
}

static ops_code local_get_begin(ops_store *store, const char *key, ops_store_reader **out,
				ops_error *err)
{
	struct local_store *s = (struct local_store *)store;
	struct local_reader *r;
	char *path;
	int fd;
	ops_code rc = check_dirs(s, key, err);

	if (rc != OPS_OK)
		return rc;
	path = key_path(s, key);
	if (!path)
		return ops_error_oom(err);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;

		free(path);
		if (e == ENOENT || e == ENOTDIR)
			return ops_error_set(err, OPS_EFAIL, "no object '%s' in %s", key,
					     store->description);
		return ops_error_errno(err, e, "cannot open object", key);
	}
	free(path);
	r = calloc(1, sizeof *r);
	if (!r || !(r->key = strdup(key))) {
		free(r);
		close(fd);
		return ops_error_oom(err);
	}
	r->base.ops = &local_ops;
	r->fd = fd;
	*out = &r->base;
	return OPS_OK;
}

static ops_code local_read(ops_store_reader *reader, void *buf, size_t len, size_t *got,
			   ops_error *err)
{
	struct local_reader *r = (struct local_reader *)reader;
	ssize_t n;

	do
		n = read(r->fd, buf, len);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		*got = 0;
		return ops_error_errno(err, errno, "cannot read object", r->key);
	}
	*got = (size_t)n;
	return OPS_OK;
}

static void local_get_end(ops_store_reader *reader)
{
	struct local_reader *r = (struct local_reader *)reader;

	close(r->fd);
	free(r->key);
	free(r);
}

struct listing {
	ops_store_entry *v;
	size_t n, cap;
};

static ops_code add_entry(struct listing *l, const char *key, const struct stat *st,
			  ops_error *err)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 32;
		ops_store_entry *v = realloc(l->v, cap * sizeof *v);

		if (!v)
			return ops_error_oom(err);
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n].key = strdup(key);
	if (!l->v[l->n].key)
		return ops_error_oom(err);
	l->v[l->n].size = (long long)st->st_size;
	l->v[l->n].mtime = st->st_mtime;
	l->n++;
	return OPS_OK;
}

/*
 * Walk dir (the key prefix rel, "" at the root), collecting regular files.
 * A directory the sweep of stale temps emptied goes too (*emptied set for
 * the caller's), as a write that failed would have removed it: never one
 * that still holds anything (rmdir refuses), never the root.
 */
static ops_code walk(const char *dir, const char *rel, const char *prefix,
		     struct listing *l, int *emptied, ops_error *err)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	ops_code rc = OPS_OK;
	int swept = 0;

	if (!d)
		return errno == ENOENT ? OPS_OK : ops_error_errno(err, errno, "cannot list", dir);
	while (rc == OPS_OK && (e = readdir(d))) {
		char *path, *key;
		struct stat st;

		if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2])))
			continue;
		path = ops_path_join(dir, e->d_name);
		key = *rel ? ops_path_join(rel, e->d_name) : strdup(e->d_name);
		if (!path || !key) {
			rc = ops_error_oom(err);
		} else if (lstat(path, &st) == 0) {
			size_t kl = strlen(key), pl = strlen(prefix);
			/* Descend only where the prefix can still match. */
			int could = strncmp(key, prefix, kl < pl ? kl : pl) == 0;

			if (S_ISDIR(st.st_mode) && could)
				rc = walk(path, key, prefix, l, &swept, err);
			else if (S_ISREG(st.st_mode) && is_temp_name(e->d_name))
				swept |= remove_if_stale(path, e->d_name, &st);
			else if (S_ISREG(st.st_mode) && could && kl >= pl && ops_store_key_valid(key))
				rc = add_entry(l, key, &st, err);
		}
		free(path);
		free(key);
	}
	closedir(d);
	if (swept && *rel && rmdir(dir) == 0)
		*emptied = 1;
	return rc;
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const ops_store_entry *)a)->key, ((const ops_store_entry *)b)->key);
}

static ops_code local_list(ops_store *store, const char *prefix, ops_store_entry **entries,
			   size_t *n, ops_error *err)
{
	struct local_store *s = (struct local_store *)store;
	struct listing l = {NULL, 0, 0};
	int emptied = 0;
	ops_code rc = walk(s->root, "", prefix, &l, &emptied, err);

	if (rc != OPS_OK) {
		ops_store_entries_free(l.v, l.n);
		return rc;
	}
	if (l.n)
		qsort(l.v, l.n, sizeof *l.v, cmp_entry);
	*entries = l.v;
	*n = l.n;
	return OPS_OK;
}

static ops_code local_stat(ops_store *store, const char *key, ops_store_entry *out,
			   int *found, ops_error *err)
{
	struct local_store *s = (struct local_store *)store;
	char *path;
	struct stat st;
	ops_code rc = check_dirs(s, key, err);

	if (rc != OPS_OK)
		return rc;
	path = key_path(s, key);
	if (!path)
		return ops_error_oom(err);
	if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
		int e = errno;

		free(path);
		if (e == ENOENT || e == ENOTDIR || e == 0)
			return OPS_OK;
		return ops_error_errno(err, e, "cannot stat object", key);
	}
	free(path);
	out->key = strdup(key);
	if (!out->key)
		return ops_error_oom(err);
	out->size = (long long)st.st_size;
	out->mtime = st.st_mtime;
	*found = 1;
	return OPS_OK;
}

static ops_code local_remove(ops_store *store, const char *key, ops_error *err)
{
	struct local_store *s = (struct local_store *)store;
	char *path, *dir;
	ops_code rc = check_dirs(s, key, err);

	if (rc != OPS_OK)
		return rc;
	path = key_path(s, key);
	if (!path)
		return ops_error_oom(err);
	if (unlink(path) != 0 && errno != ENOENT)
		rc = ops_error_errno(err, errno, "cannot remove object", key);
	/* Make the removal durable, as the write was. */
	dir = ops_path_dir(path);
	if (rc == OPS_OK && dir && access(dir, F_OK) == 0)
		rc = ops_fsync_dir(dir, err);
	if (rc == OPS_OK)
		remove_empty_dirs(s->root, dir);
	else
		free(dir);
	free(path);
	return rc;
}

static void local_free(ops_store *store)
{
	struct local_store *s = (struct local_store *)store;

	free(s->root);
	free(s->base.description);
	free(s);
}

static const struct ops_store_ops local_ops = {
	local_put_begin, local_write, local_put_commit, local_put_abort,
	local_get_begin, local_read, local_get_end,
	local_list, local_stat, local_remove, local_free
};

ops_code ops_store_open_local(const char *root, ops_store **out, ops_error *err)
{
	struct local_store *s;
	struct stat st;
	ops_code rc;

	*out = NULL;
	if (!root || !*root)
		return ops_error_set(err, OPS_ECONFIG, "no directory given for the local store");
	rc = ops_mkdir_p(root, 0700, err);
	if (rc != OPS_OK)
		return rc;
	if (stat(root, &st) != 0 || !S_ISDIR(st.st_mode))
		return ops_error_set(err, OPS_ECONFIG, "store directory '%s' is not a directory", root);
	s = calloc(1, sizeof *s);
	if (!s)
		return ops_error_oom(err);
	s->base.ops = &local_ops;
	s->base.features = OPS_STORE_F_LOCAL;
	s->root = strdup(root);
	if (s->root && asprintf(&s->base.description, "local:%s", root) < 0)
		s->base.description = NULL;
	if (!s->root || !s->base.description) {
		local_free(&s->base);
		return ops_error_oom(err);
	}
	*out = &s->base;
	return OPS_OK;
}
