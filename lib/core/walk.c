/*
 * The safe tree walk and prune of walk.h.  One open directory per level, read
 * with readdir and left by its descriptor: every look (statx or fstatat),
 * descent (openat with O_DIRECTORY|O_NOFOLLOW) and removal (unlinkat) is
 * relative to the directory that was opened, never a path resolved again,
 * so nothing swapped in while the walk runs can lead it elsewhere.  A
 * descended directory must still be the one that was looked at (device and
 * inode compared after the open).
 *
 * Mount points: a different st_dev is not enough, since a bind mount of the
 * same file system keeps it, so the mount id and the mount-root attribute
 * of statx(2) are compared too where the kernel has them.
 *
 * The root's own path is resolved once, as configured: a symlink in it is
 * the operator's choice, checked against the protected paths after
 * resolution (by name) and after opening (by device and inode).
 *
 * It keeps no listing (a huge tree costs its depth, not its size) and knows
 * nothing of configuration: the caller passes the protected paths and the
 * state directory.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "opsmaint/cancel.h"
#include "opsmaint/fileio.h"
#include "opsmaint/log.h"
#include "opsmaint/json.h"
#include "opsmaint/walk.h"

struct ident {
	dev_t dev;
	ino_t ino;
};

struct frame {
	DIR *d;
	size_t path_len;	/* the path buffer's length at this directory */
	size_t name_off;	/* where its name starts in the path buffer */
	struct stat st;		/* as seen before it was entered */
	long long kept;		/* entries that stay in it */
	int failed;		/* reading it stopped part-way */
};

struct walker {
	const ops_walk_opts *o;
	ops_walk_totals *t;
	ops_error *err;
	char *path;		/* display root, then "/rel/name" */
	size_t len, cap, root_len;
	dev_t root_dev;
	uint64_t root_mnt;
	int have_mnt;		/* root_mnt is known */
	int no_statx;		/* the kernel has no statx: fstatat only */
	struct ident *ids;	/* protected paths and the state directory */
	size_t nids;
	int max_depth;
	int cap_is_error;	/* reaching max_depth is the hard cap, not the caller's */
};

void ops_walk_opts_init(ops_walk_opts *o)
{
	memset(o, 0, sizeof *o);
	o->types = OPS_WALK_FILE;
}

/* ---- quoting ---- */

char *ops_walk_quote(const char *raw)
{
	const unsigned char *s = (const unsigned char *)(raw ? raw : "");
	size_t n = strlen((const char *)s), o = 0;
	/* Each byte becomes at most four ("\xNN"). */
	char *out = malloc(n * 4 + 1);
	int k;

	if (!out)
		return NULL;
	while (*s) {
		if (*s == '\\') {
			out[o++] = '\\';
			out[o++] = '\\';
			s++;
		} else if (*s < 0x20 || *s == 0x7f || !(k = ops_utf8_seq_len(s))) {
			snprintf(out + o, 5, "\\x%02x", *s);
			o += 4;
			s++;
		} else {
			memcpy(out + o, s, (size_t)k);
			o += (size_t)k;
			s += k;
		}
	}
	out[o] = '\0';
	return out;
}

/*
 * A quoted path short enough for a one-line message with its reason after
 * it: the head and the tail kept, "..." between, cut between characters.
 */
#define MSG_PATH_MAX 300

static void abbreviate(char *q)
{
	size_t n = strlen(q), head = 100, tail;

	if (n <= MSG_PATH_MAX)
		return;
	tail = n - (MSG_PATH_MAX - head - 3);
	while (head > 0 && (q[head] & 0xc0) == 0x80)
		head--;
	while (tail < n && (q[tail] & 0xc0) == 0x80)
		tail++;
	memcpy(q + head, "...", 3);
	memmove(q + head + 3, q + tail, n - tail + 1);
}

/* ---- the walk ---- */

static int path_push(struct walker *w, const char *name)
{
	size_t n = strlen(name);

	if (w->len + n + 2 > w->cap) {
		size_t cap = (w->len + n + 2) * 2;
		char *p = realloc(w->path, cap);

		if (!p)
			return -1;
		w->path = p;
		w->cap = cap;
	}
	w->path[w->len++] = '/';
	memcpy(w->path + w->len, name, n + 1);
	w->len += n;
	return 0;
}

static void path_trunc(struct walker *w, size_t len)
{
	w->len = len;
	w->path[len] = '\0';
}

static time_t pick_time(const struct walker *w, const struct stat *st)
{
	switch (w->o->time) {
	case OPS_WALK_CTIME:
		return st->st_ctime;
	case OPS_WALK_ATIME:
		return st->st_atime;
	default:
		return st->st_mtime;
	}
}

static unsigned type_of(mode_t m)
{
	if (S_ISDIR(m))
		return OPS_WALK_DIR;
	if (S_ISREG(m))
		return OPS_WALK_FILE;
	if (S_ISLNK(m))
		return OPS_WALK_SYMLINK;
	return OPS_WALK_OTHER;
}

static void fill_entry(const struct walker *w, ops_walk_entry *e, size_t name_off, int depth,
		       const struct stat *st)
{
	e->path = w->path;
	/* The root itself (a directory that could not be read) has rel "". */
	e->rel = w->len > w->root_len ? w->path + w->root_len + 1 : w->path + w->len;
	e->name = w->path + name_off;
	e->depth = depth;
	e->type = type_of(st->st_mode);
	e->st = st;
	e->time = pick_time(w, st);
}

static ops_code tell(struct walker *w, const ops_walk_entry *e, ops_walk_event ev,
		     const ops_error *problem)
{
	if (!w->o->on_entry)
		return OPS_OK;
	return w->o->on_entry(w->o->arg, e, ev, problem, w->err);
}

/*
 * One entry that could not be read, entered or removed (its path is in the
 * buffer): counted, kept as the first error when it is, told to on_entry.
 */
static ops_code problem(struct walker *w, const ops_walk_entry *e, int errnum, const char *what)
{
	ops_error p;
	char *q = ops_walk_quote(w->path);

	if (!q)
		return ops_error_oom(w->err);
	abbreviate(q);
	if (errnum)
		ops_error_errno(&p, errnum, what, q);
	else
		ops_error_set(&p, OPS_EFAIL, "'%s' %s", q, what);
	free(q);
	if (w->t->errors++ == 0)
		w->t->first_error = p;
	return tell(w, e, OPS_WALK_ERROR, &p);
}

/* lstat of name in dirfd, with the mount facts statx adds. */
static int look(struct walker *w, int dirfd, const char *name, struct stat *st, int *mount)
{
	struct statx sx;

	*mount = 0;
	if (!w->no_statx) {
		if (statx(dirfd, name, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT,
			  STATX_BASIC_STATS | STATX_MNT_ID, &sx) == 0) {
			memset(st, 0, sizeof *st);
			st->st_dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
			st->st_ino = sx.stx_ino;
			st->st_mode = sx.stx_mode;
			st->st_nlink = sx.stx_nlink;
			st->st_uid = sx.stx_uid;
			st->st_gid = sx.stx_gid;
			st->st_rdev = makedev(sx.stx_rdev_major, sx.stx_rdev_minor);
			st->st_size = (off_t)sx.stx_size;
			st->st_blksize = (blksize_t)sx.stx_blksize;
			st->st_blocks = (blkcnt_t)sx.stx_blocks;
			st->st_atim.tv_sec = sx.stx_atime.tv_sec;
			st->st_atim.tv_nsec = sx.stx_atime.tv_nsec;
			st->st_mtim.tv_sec = sx.stx_mtime.tv_sec;
			st->st_mtim.tv_nsec = sx.stx_mtime.tv_nsec;
			st->st_ctim.tv_sec = sx.stx_ctime.tv_sec;
			st->st_ctim.tv_nsec = sx.stx_ctime.tv_nsec;
			if ((sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
			    (sx.stx_attributes & STATX_ATTR_MOUNT_ROOT))
				*mount = 1;
			if (w->have_mnt && (sx.stx_mask & STATX_MNT_ID) && sx.stx_mnt_id != w->root_mnt)
				*mount = 1;
			if (st->st_dev != w->root_dev)
				*mount = 1;
			return 0;
		}
		/* Old kernels, and seccomp filters that predate statx. */
		if (errno != ENOSYS && errno != EPERM)
			return -1;
		w->no_statx = 1;
	}
	if (fstatat(dirfd, name, st, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT) != 0)
		return -1;
	*mount = st->st_dev != w->root_dev;
	return 0;
}

static int is_protected(const struct walker *w, const struct stat *st)
{
	size_t i;

	for (i = 0; i < w->nids; i++)
		if (w->ids[i].dev == st->st_dev && w->ids[i].ino == st->st_ino)
			return 1;
	return 0;
}

static int add_ident(struct walker *w, const struct stat *st)
{
	struct ident *n = realloc(w->ids, (w->nids + 1) * sizeof *n);

	if (!n)
		return -1;
	w->ids = n;
	w->ids[w->nids].dev = st->st_dev;
	w->ids[w->nids].ino = st->st_ino;
	w->nids++;
	return 0;
}

/* The identities to leave alone: each protected path and what it points
 * at, and the state directory.  Paths that do not exist protect nothing. */
static int collect_idents(struct walker *w)
{
	char *const *p;
	struct stat st;

	for (p = w->o->protected_paths; p && *p; p++) {
		if (!**p)
			continue;
		if (lstat(*p, &st) == 0 && add_ident(w, &st) != 0)
			return -1;
		if (stat(*p, &st) == 0 && add_ident(w, &st) != 0)
			return -1;
	}
	if (w->o->state_dir && *w->o->state_dir && stat(w->o->state_dir, &st) == 0 &&
	    add_ident(w, &st) != 0)
		return -1;
	return 0;
}

static int name_matches(const struct walker *w, const char *name)
{
	char *const *p = w->o->patterns;

	if (!p || !*p)
		return 1;
	for (; *p; p++)
		if (fnmatch(*p, name, 0) == 0)
			return 1;
	return 0;
}

static int old_enough(const struct walker *w, const ops_walk_entry *e)
{
	return !w->o->older_than || e->time < w->o->older_than;
}

static void count_removed(struct walker *w, const ops_walk_entry *e)
{
	if (e->type == OPS_WALK_DIR) {
		w->t->directories++;
	} else {
		w->t->files++;
		w->t->bytes += (long long)e->st->st_size;
	}
}

/* A non-directory: removed when every rule selects it.  *kept is set when
 * it stays. */
static ops_code leaf(struct walker *w, int dirfd, const ops_walk_entry *e, int *kept)
{
	const ops_walk_opts *o = w->o;

	*kept = 1;
	if (!(e->type & (o->types ? o->types : OPS_WALK_FILE)) || !name_matches(w, e->name) ||
	    !old_enough(w, e) || (o->select && !o->select(o->arg, e)))
		return OPS_OK;
	if (!o->dry_run && unlinkat(dirfd, e->name, 0) != 0) {
		if (errno == ENOENT) {	/* gone meanwhile: nothing to do */
			*kept = 0;
			return OPS_OK;
		}
		return problem(w, e, errno, "cannot remove");
	}
	*kept = 0;
	count_removed(w, e);
	return tell(w, e, OPS_WALK_REMOVED, NULL);
}

/* A directory whose entries are done: removed when empty, old enough and
 * selected.  Its path is in the buffer; parentfd is its parent's. */
static ops_code finish_dir(struct walker *w, int parentfd, const struct frame *f, int depth,
			   int *kept)
{
	const ops_walk_opts *o = w->o;
	ops_walk_entry e;

	*kept = 1;
	fill_entry(w, &e, f->name_off, depth, &f->st);
	if (!o->remove_empty_dirs || f->kept || f->failed || !old_enough(w, &e) ||
	    (o->select && !o->select(o->arg, &e)))
		return OPS_OK;
	if (!o->dry_run && unlinkat(parentfd, e.name, AT_REMOVEDIR) != 0) {
		/* Something new arrived in it: it stays, and that is no error. */
		if (errno == ENOTEMPTY || errno == EEXIST)
			return OPS_OK;
		if (errno == ENOENT) {
			*kept = 0;
			return OPS_OK;
		}
		return problem(w, &e, errno, "cannot remove directory");
	}
	*kept = 0;
	count_removed(w, &e);
	return tell(w, &e, OPS_WALK_REMOVED, NULL);
}

/*
 * Enter the directory e (named in dirfd): *d is set when it was opened and
 * is still the directory that was looked at; otherwise it stays NULL and
 * the reason has been reported.
 */
static ops_code enter(struct walker *w, int dirfd, const ops_walk_entry *e, DIR **d)
{
	struct stat now;
	int fd;

	*d = NULL;
	fd = openat(dirfd, e->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		if (errno == ENOENT)	/* gone meanwhile */
			return OPS_OK;
		/* Swapped for a symlink or a file since it was looked at. */
		if (errno == ELOOP || errno == ENOTDIR)
			return problem(w, e, 0, "changed while being walked; not followed");
		return problem(w, e, errno, "cannot open directory");
	}
	if (fstat(fd, &now) != 0 || now.st_dev != e->st->st_dev || now.st_ino != e->st->st_ino) {
		close(fd);
		return problem(w, e, 0, "changed while being walked; not followed");
	}
	*d = fdopendir(fd);
	if (!*d) {
		int en = errno;

		close(fd);
		return problem(w, e, en, "cannot read directory");
	}
	return OPS_OK;
}

/*
 * One entry of the directory top (its name already in the path buffer),
 * at depth.  *kept is set when it stays; *sub when it is a directory that
 * was entered, whose frame the caller pushes, with its lstat in *st.
 */
static ops_code visit(struct walker *w, const struct frame *top, int depth, const char *name,
		      int *kept, DIR **sub, struct stat *st)
{
	int dfd = dirfd(top->d), mount;
	ops_walk_entry e;

	*kept = 1;
	*sub = NULL;
	w->t->examined++;
	if (look(w, dfd, name, st, &mount) != 0) {
		if (errno == ENOENT) {	/* gone since it was listed */
			*kept = 0;
			return OPS_OK;
		}
		memset(st, 0, sizeof *st);
		fill_entry(w, &e, top->path_len + 1, depth, st);
		return problem(w, &e, errno, "cannot examine");
	}
	fill_entry(w, &e, top->path_len + 1, depth, st);
	if (mount) {
		w->t->mounts_skipped++;
		return tell(w, &e, OPS_WALK_MOUNT, NULL);
	}
	if (is_protected(w, st)) {
		w->t->protected_skipped++;
		return tell(w, &e, OPS_WALK_PROTECTED, NULL);
	}
	if (e.type != OPS_WALK_DIR)
		return leaf(w, dfd, &e, kept);
	if (depth >= w->max_depth) {
		/* Deeper than asked: left whole.  Only the hard cap is an error. */
		return w->cap_is_error ? problem(w, &e, 0, "is nested too deep; not entered")
				       : OPS_OK;
	}
	if (w->o->descend && !w->o->descend(w->o->arg, &e))
		return OPS_OK;
	return enter(w, dfd, &e, sub);
}

/*
 * The directory fr[*n - 1] is read to the end (or could not be): decide on
 * it, close it and return to its parent.  Not for the root.
 */
static ops_code leave(struct walker *w, struct frame *fr, int *n)
{
	struct frame *top = &fr[*n - 1];
	int kept = 1;
	ops_code rc = finish_dir(w, dirfd(fr[*n - 2].d), top, *n - 1, &kept);

	closedir(top->d);
	top->d = NULL;
	(*n)--;
	fr[*n - 1].kept += kept;
	path_trunc(w, fr[*n - 1].path_len);
	return rc;
}

static ops_code walk_from(struct walker *w, DIR *root_dir, const struct stat *root_st)
{
	struct frame *fr = calloc((size_t)w->max_depth + 1, sizeof *fr);
	int n = 1;
	ops_code rc = OPS_OK;

	if (!fr) {
		closedir(root_dir);
		return ops_error_oom(w->err);
	}
	fr[0].d = root_dir;
	fr[0].path_len = w->len;
	fr[0].st = *root_st;
	while (rc == OPS_OK &&
	       (w->o->finish_on_cancel || (rc = ops_cancel_check(w->err)) == OPS_OK)) {
		struct frame *top = &fr[n - 1];
		struct dirent *de;
		struct stat st;
		DIR *sub;
		int kept;

		errno = 0;
		de = readdir(top->d);
		if (!de) {
			if (errno) {
				ops_walk_entry e;
				int en = errno;

				top->failed = 1;
				fill_entry(w, &e, top->name_off, n - 1, &top->st);
				if ((rc = problem(w, &e, en, "cannot read directory")) != OPS_OK)
					break;
			}
			if (n == 1)
				break;
			rc = leave(w, fr, &n);
			continue;
		}
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (path_push(w, de->d_name) != 0) {
			rc = ops_error_oom(w->err);
			break;
		}
		rc = visit(w, top, n, de->d_name, &kept, &sub, &st);
		if (sub) {
			/* Its path stays in the buffer while it is read. */
			memset(&fr[n], 0, sizeof fr[n]);
			fr[n].d = sub;
			fr[n].path_len = w->len;
			fr[n].name_off = top->path_len + 1;
			fr[n].st = st;
			n++;
			continue;
		}
		top->kept += kept;
		path_trunc(w, top->path_len);
	}
	while (n > 0) {
		if (fr[n - 1].d)
			closedir(fr[n - 1].d);
		n--;
	}
	free(fr);
	return rc;
}

/*
 * Resolve and open the root, refusing what may not be walked; note its
 * device and mount id.  *fd stays -1 for a missing root with missing_ok.
 */
static ops_code open_root(struct walker *w, const char *root, const char *q, int *fd,
			  struct stat *st)
{
	const ops_walk_opts *o = w->o;
	char real[PATH_MAX];
	struct statx sx;
	struct stat sd;

	*fd = -1;
	if (!realpath(root, real) ||
	    (*fd = open(real, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY)) < 0) {
		if (errno == ENOENT && o->missing_ok)
			return OPS_OK;
		return ops_error_errno(w->err, errno, "cannot open directory", q);
	}
	if (strcmp(real, "/") == 0)
		return ops_error_set(w->err, OPS_EUSAGE, "refusing to walk '/'");
	if (ops_path_is_protected(real, o->protected_paths)) {
		ops_error_set(w->err, OPS_EPERM, "refusing to walk '%s': it is a protected path", q);
		ops_error_hint(w->err, "general.protected_paths names it or a directory above it.");
		return OPS_EPERM;
	}
	if (fstat(*fd, st) != 0)
		return ops_error_errno(w->err, errno, "cannot examine", q);
	/* The state directory itself may not be walked; one inside it may. */
	if (o->state_dir && *o->state_dir && stat(o->state_dir, &sd) == 0 &&
	    sd.st_dev == st->st_dev && sd.st_ino == st->st_ino)
		return ops_error_set(w->err, OPS_EPERM,
				     "refusing to walk '%s': it is opsctl's state directory", q);
	w->root_dev = st->st_dev;
	if (statx(*fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &sx) == 0 && (sx.stx_mask & STATX_MNT_ID)) {
		w->root_mnt = sx.stx_mnt_id;
		w->have_mnt = 1;
	}
	if (collect_idents(w) != 0)
		return ops_error_oom(w->err);
	/* The same directory by another name (a bind mount of it). */
	if (is_protected(w, st))
		return ops_error_set(w->err, OPS_EPERM,
				     "refusing to walk '%s': it is a protected path", q);
	return OPS_OK;
}

ops_code ops_walk_tree(const char *root, const ops_walk_opts *opts, ops_walk_totals *totals,
		       ops_error *err)
{
	struct walker w;
	ops_walk_totals scratch;
	ops_walk_opts defaults;
	struct stat st;
	char *q = NULL;
	DIR *d;
	ops_code rc;
	int fd = -1;

	if (!opts) {
		ops_walk_opts_init(&defaults);
		opts = &defaults;
	}
	memset(&w, 0, sizeof w);
	w.o = opts;
	w.t = totals ? totals : &scratch;
	memset(w.t, 0, sizeof *w.t);
	w.err = err;
	w.max_depth = opts->max_depth > 0 && opts->max_depth < OPS_WALK_DEPTH_MAX
		? opts->max_depth : OPS_WALK_DEPTH_MAX;
	w.cap_is_error = opts->max_depth <= 0 || opts->max_depth > OPS_WALK_DEPTH_MAX;
	if (!root || !*root)
		return ops_error_set(err, OPS_EUSAGE, "refusing to walk an empty path");
	q = ops_walk_quote(root);
	if (!q)
		return ops_error_oom(err);
	if ((rc = open_root(&w, root, q, &fd, &st)) != OPS_OK || fd < 0)
		goto out;
	/* The display path is the root as given, without trailing slashes. */
	w.root_len = strlen(root);
	while (w.root_len > 1 && root[w.root_len - 1] == '/')
		w.root_len--;
	w.cap = w.root_len + 256;
	w.path = malloc(w.cap);
	if (!w.path) {
		rc = ops_error_oom(err);
		goto out;
	}
	memcpy(w.path, root, w.root_len);
	path_trunc(&w, w.root_len);
	d = fdopendir(fd);
	if (!d) {
		rc = ops_error_errno(err, errno, "cannot read directory", q);
		goto out;
	}
	fd = -1;
	rc = walk_from(&w, d, &st);
out:
	if (fd >= 0)
		close(fd);
	free(w.path);
	free(w.ids);
	free(q);
	return rc;
}

/* ---- retention, reported alike everywhere ---- */

struct prune {
	const ops_walk_opts *caller;
	cJSON *names;
	cJSON *errors;
};

static int prune_select(void *arg, const ops_walk_entry *e)
{
	const struct prune *p = arg;

	return p->caller->select(p->caller->arg, e);
}

static int prune_descend(void *arg, const ops_walk_entry *e)
{
	const struct prune *p = arg;

	return p->caller->descend(p->caller->arg, e);
}

static ops_code prune_entry(void *arg, const ops_walk_entry *e, ops_walk_event ev,
			    const ops_error *problem_, ops_error *err)
{
	struct prune *p = arg;
	cJSON *s = NULL;

	if (ev == OPS_WALK_REMOVED) {
		char *q = ops_walk_quote(e->rel);

		s = q ? cJSON_CreateString(q) : NULL;
		free(q);
		if (!s || !cJSON_AddItemToArray(p->names, s))
			goto oom;
	} else if (ev == OPS_WALK_ERROR) {
		s = cJSON_CreateString(problem_->message);
		if (!s || !cJSON_AddItemToArray(p->errors, s))
			goto oom;
	}
	return OPS_OK;
oom:
	cJSON_Delete(s);
	return ops_error_oom(err);
}

ops_code ops_walk_prune(const char *root, const ops_walk_opts *opts, cJSON *rep, ops_error *err)
{
	struct prune p = {opts, NULL, NULL};
	ops_walk_opts o = *opts;
	ops_walk_totals t;
	ops_error werr;
	ops_code rc;

	ops_error_clear(&werr);
	p.names = cJSON_AddArrayToObject(rep, "pruned");
	if (!p.names || !cJSON_AddNumberToObject(rep, "pruned_size_bytes", 0) ||
	    !(p.errors = cJSON_AddArrayToObject(rep, "prune_errors")))
		return ops_error_oom(err);
	o.missing_ok = 1;
	o.arg = &p;
	o.select = opts->select ? prune_select : NULL;
	o.descend = opts->descend ? prune_descend : NULL;
	o.on_entry = prune_entry;
	rc = ops_walk_tree(root, &o, &t, &werr);
	if (rc == OPS_EINTR || rc == OPS_EINTERNAL) {
		*err = werr;
		return rc;
	}
	if (rc != OPS_OK) {
		cJSON *s = cJSON_CreateString(werr.message);

		if (!s || !cJSON_AddItemToArray(p.errors, s)) {
			cJSON_Delete(s);
			return ops_error_oom(err);
		}
		ops_log_warn("%s", werr.message);
		return OPS_OK;
	}
	cJSON_SetNumberValue(cJSON_GetObjectItemCaseSensitive(rep, "pruned_size_bytes"), (double)t.bytes);
	if (t.errors > 0) {
		char *q = ops_walk_quote(root);

		ops_log_warn("%lld old %s in '%s' could not be removed; the first: %s", t.errors,
			     t.errors == 1 ? "entry" : "entries", q ? q : "?", t.first_error.message);
		free(q);
	}
	return OPS_OK;
}
