/*
 * Incremental and differential physical backups, as pgBackRest makes them:
 * pg_basebackup's tar stream is copied through a filter that leaves out
 * every file the prior backup already holds, and the manifest lists every
 * entry of the data directory with the backup whose base.tar has its bytes.
 *
 * A file is taken as unchanged when its size and modification time are the
 * prior backup's and that time is before the second the prior backup began
 * copying (the server's clock): a file written after the prior copy began
 * has a later time, even within the same second, because the guard is the
 * whole second.  The content of a skipped file still passes through the
 * filter and is hashed; a digest other than the prior's means a file
 * changed without its time changing (a clock stepped back, a restored
 * file), and the backup fails rather than record a file it does not have.
 *
 * A restore extracts the chain, the full backup first, each later base.tar
 * over it, removes what the last backup does not list, and checks every
 * file's size and SHA-256 against the last manifest.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup/backup_internal.h"
#include "opsmaint/fileio.h"
#include "opsmaint/log.h"
#include "opsmaint/walk.h"


int bk_is_physical(const ops_manifest *m)
{
	return m && m->method && strcmp(m->method, "physical") == 0;
}

/* ---- choosing the prior backup ---- */

ops_code bk_physical_prior(const ops_backup_ctx *ctx, const char *type, const char *system_id,
			   const char *key_id, ops_manifest **prior, char *why, size_t len,
			   ops_error *err)
{
	bk_item *v = NULL;
	size_t n = 0, i;
	int diff = strcmp(type, "diff") == 0;
	ops_code rc = bk_catalog_scan(ctx, &v, &n, err);

	*prior = NULL;
	snprintf(why, len, "no good physical %sbackup in %s", diff ? "full " : "",
		 ops_store_describe(ctx->store));
	if (rc != OPS_OK)
		return rc;
	for (i = n; i-- > 0;) {
		const ops_manifest *m = v[i].m;

		if (!bk_is_physical(m) || !bk_chain_good(v, n, i) || (diff && m->prior))
			continue;
		/* The newest physical backup decides: an older one would make
		 * the chain skip what the newest one saw. */
		if (!m->npgfiles || !m->system_id)
			snprintf(why, len, "backup %s lists no data directory files (made by an "
				 "earlier version)", v[i].id);
		else if (strcmp(m->system_id, system_id) != 0)
			snprintf(why, len, "backup %s is of another cluster (system identifier %s, "
				 "the server's is %s)", v[i].id, m->system_id, system_id);
		else if ((m->encryption == NULL) != (key_id == NULL) ||
			 (key_id && strcmp(m->encryption, key_id) != 0))
			snprintf(why, len, "backup %s is encrypted with %s key than this one",
				 v[i].id, m->encryption ? "another" : "no");
		else {
			*prior = v[i].m;
			v[i].m = NULL;
		}
		break;
	}
	bk_items_free(v, n);
	return OPS_OK;
}

/* ---- copying the stream ---- */

struct copy {
	ops_manifest *m;
	const ops_manifest *prior;
	long long guard;	/* whole second the prior copy began */
	long long files, stored, unchanged, unchanged_bytes;
	int in_fd, out_fd;
	ops_code rc;
	ops_error err;
};

static int keep_file(void *arg, const ops_tar_item *it)
{
	struct copy *c = arg;
	const ops_manifest_pgfile *p = c->prior ? ops_manifest_pgfile_find(c->prior, it->path)
					       : NULL;

	return !(p && p->type == 'f' && p->size == it->size && p->mtime == it->mtime &&
		 it->mtime < c->guard);
}

static ops_code seen_entry(void *arg, const ops_tar_item *it, int kept, const char *sha256,
			   ops_error *err)
{
	struct copy *c = arg;
	ops_manifest_pgfile f;

	memset(&f, 0, sizeof f);
	f.path = (char *)it->path;
	f.type = it->type;
	f.target = (char *)it->target;
	if (it->type == 'f') {
		const ops_manifest_pgfile *p = kept ? NULL
					       : ops_manifest_pgfile_find(c->prior, it->path);

		if (p && strcmp(p->sha256, sha256) != 0) {
			ops_error_set(err, OPS_EDATA, "data directory file '%s' changed since "
				      "backup %s without a new modification time: an incremental "
				      "backup cannot tell what else did", it->path, c->prior->id);
			ops_error_hint(err, "take a full backup (opsctl backup --type full)");
			return OPS_EDATA;
		}
		f.size = it->size;
		f.mtime = it->mtime;
		memcpy(f.sha256, sha256, 65);
		f.in = p ? p->in : c->m->id;
		c->files++;
		if (kept) {
			c->stored++;
		} else {
			c->unchanged++;
			c->unchanged_bytes += it->size;
		}
	}
	return ops_manifest_add_pgfile(c->m, &f, err);
}

static void *filter_main(void *arg)
{
	struct copy *c = arg;

	c->rc = ops_tar_filter(c->in_fd, c->out_fd, keep_file, seen_entry, c, &c->err);
	close(c->out_fd);	/* the end of the stream for the archive writer */
	c->out_fd = -1;
	return NULL;
}

static int cmp_pgfile(const void *a, const void *b)
{
	return strcmp(((const ops_manifest_pgfile *)a)->path,
		      ((const ops_manifest_pgfile *)b)->path);
}

ops_code bk_physical_copy(ops_archive_writer *aw, const char *member, int fd, pid_t producer,
			  size_t chunk, ops_manifest *m, const ops_manifest *prior, cJSON *rep,
			  long long *total, ops_error *err)
{
	struct copy c;
	pthread_t th;
	int p[2];
	ops_code rc;

	memset(&c, 0, sizeof c);
	c.m = m;
	c.prior = prior;
	c.guard = prior ? (long long)floor(prior->clock_start) : 0;
	if (pipe2(p, O_CLOEXEC) != 0)
		return ops_error_errno(err, errno, "cannot make", "a pipe");
	c.in_fd = fd;
	c.out_fd = p[1];
	if (pthread_create(&th, NULL, filter_main, &c) != 0) {
		close(p[0]);
		close(p[1]);
		return ops_error_set(err, OPS_EINTERNAL, "cannot start the stream filter thread");
	}
	rc = ops_archive_add_stream(aw, member, p[0], chunk, total, err);
	close(p[0]);	/* a filter still writing gets EPIPE and stops */
	/* One waiting for pg_basebackup (a stalled server, a cancel) gets
	 * its end of file once pg_basebackup is stopped. */
	if (rc != OPS_OK && producer > 0)
		kill(producer, SIGTERM);
	pthread_join(th, NULL);
	if (rc == OPS_OK && c.rc != OPS_OK) {
		*err = c.err;
		rc = c.rc;
	}
	if (rc != OPS_OK)
		return rc;
	qsort(m->pgfiles, m->npgfiles, sizeof *m->pgfiles, cmp_pgfile);
	cJSON_AddNumberToObject(rep, "files_total", (double)c.files);
	cJSON_AddNumberToObject(rep, "files_stored", (double)c.stored);
	cJSON_AddNumberToObject(rep, "files_unchanged", (double)c.unchanged);
	cJSON_AddNumberToObject(rep, "unchanged_bytes", (double)c.unchanged_bytes);
	return OPS_OK;
}

/* ---- restoring a chain ---- */

ops_code bk_chain_load(const ops_backup_ctx *ctx, const ops_manifest *last, ops_manifest ***out,
		       size_t *nout, ops_error *err)
{
	ops_manifest **v = NULL;
	const ops_manifest *cur = last;
	size_t n = 0, i;
	ops_code rc = OPS_OK;

	*out = NULL;
	*nout = 0;
	while (rc == OPS_OK && cur->prior) {
		ops_manifest *p = NULL, **nv;
		ops_error e;

		if (n == BK_CHAIN_MAX) {
			rc = ops_error_set(err, OPS_EDATA, "backup %s: its chain of prior backups "
					   "does not end in a full backup", last->id);
			break;
		}
		if (bk_catalog_manifest(ctx, cur->prior, &p, &e) != OPS_OK) {
			rc = ops_error_set(err, OPS_EDATA, "backup %s builds on %s, which cannot be "
					   "read: %s", cur->id, cur->prior, e.message);
			break;
		}
		if (!ops_manifest_is_good(p) || !bk_is_physical(p)) {
			rc = ops_error_set(err, OPS_EDATA, "backup %s builds on %s, which is %s",
					   cur->id, p->id, bk_is_physical(p) ? p->status
					   : "not a physical backup");
			ops_manifest_free(p);
			break;
		}
		if (!(nv = realloc(v, (n + 1) * sizeof *v))) {
			ops_manifest_free(p);
			rc = ops_error_oom(err);
			break;
		}
		v = nv;
		v[n++] = p;
		cur = p;
	}
	if (rc != OPS_OK) {
		for (i = 0; i < n; i++)
			ops_manifest_free(v[i]);
		free(v);
		return rc;
	}
	/* Oldest first: the order they are extracted in. */
	for (i = 0; i < n / 2; i++) {
		ops_manifest *t = v[i];

		v[i] = v[n - 1 - i];
		v[n - 1 - i] = t;
	}
	*out = v;
	*nout = n;
	return OPS_OK;
}

void bk_chain_free(ops_manifest **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		ops_manifest_free(v[i]);
	free(v);
}

struct reconcile {
	const ops_manifest *last;
	char **dirs;		/* directories the last backup does not list */
	size_t ndirs;
	long long removed;
};

/* What an earlier backup of the chain left that the last one does not
 * list: files and links go now, directories once emptied. */
static int unlisted(void *arg, const ops_walk_entry *e)
{
	struct reconcile *r = arg;
	const ops_manifest_pgfile *f = ops_manifest_pgfile_find(r->last, e->rel);
	char want = e->type == OPS_WALK_FILE ? 'f' : e->type == OPS_WALK_SYMLINK ? 'l' : 'o';

	return !f || f->type != want;
}

static int descend_dir(void *arg, const ops_walk_entry *e)
{
	struct reconcile *r = arg;
	const ops_manifest_pgfile *f = ops_manifest_pgfile_find(r->last, e->rel);
	char **nv;

	if (f && f->type == 'd')
		return 1;
	nv = realloc(r->dirs, (r->ndirs + 1) * sizeof *nv);
	if (nv && (nv[r->ndirs] = strdup(e->path))) {
		r->dirs = nv;
		r->ndirs++;
	} else if (nv) {
		r->dirs = nv;
	}
	return 1;
}

static ops_code removed_entry(void *arg, const ops_walk_entry *e, ops_walk_event ev,
			      const ops_error *problem, ops_error *err)
{
	struct reconcile *r = arg;

	(void)e;
	if (ev == OPS_WALK_REMOVED) {
		r->removed++;
		return OPS_OK;
	}
	if (problem)
		*err = *problem;
	else
		ops_error_set(err, OPS_EIO, "cannot tidy the restored data directory at %s",
			      e->path);
	return err->code;
}

/* The SHA-256 of a file's content. */
static ops_code file_sha256(const char *path, char hex[65], long long *size, ops_error *err)
{
	char *buf = malloc(1u << 20);
	ops_sha256 *h = ops_sha256_new();
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ops_code rc = OPS_OK;
	ssize_t n;

	*size = 0;
	if (fd < 0)
		rc = ops_error_errno(err, errno, "cannot read", path);
	else if (!buf || !h)
		rc = ops_error_oom(err);
	while (rc == OPS_OK && (n = read(fd, buf, 1u << 20)) != 0) {
		if (n < 0) {
			if (errno != EINTR)
				rc = ops_error_errno(err, errno, "cannot read", path);
			continue;
		}
		ops_sha256_update(h, buf, (size_t)n);
		*size += n;
	}
	if (h)
		ops_sha256_final_hex(h, hex);
	if (fd >= 0)
		close(fd);
	ops_sha256_free(h);
	free(buf);
	return rc;
}

static int cmp_depth_desc(const void *a, const void *b)
{
	size_t la = strlen(*(char *const *)a), lb = strlen(*(char *const *)b);

	return la < lb ? 1 : la > lb ? -1 : 0;
}

ops_code bk_physical_reconcile(const char *dir, const ops_manifest *last, cJSON *rep,
			       ops_error *err)
{
	struct reconcile r;
	ops_walk_opts wo;
	ops_walk_totals tot;
	long long checked = 0;
	ops_code rc;
	size_t i;

	memset(&r, 0, sizeof r);
	r.last = last;
	ops_walk_opts_init(&wo);
	wo.types = OPS_WALK_FILE | OPS_WALK_SYMLINK | OPS_WALK_OTHER;
	wo.select = unlisted;
	wo.descend = descend_dir;
	wo.on_entry = removed_entry;
	wo.arg = &r;
	memset(&tot, 0, sizeof tot);
	rc = ops_walk_tree(dir, &wo, &tot, err);
	if (rc == OPS_OK && tot.errors)
		rc = (*err = tot.first_error).code;
	qsort(r.dirs, r.ndirs, sizeof *r.dirs, cmp_depth_desc);
	for (i = 0; rc == OPS_OK && i < r.ndirs; i++)
		if (rmdir(r.dirs[i]) != 0)
			rc = ops_error_errno(err, errno, "cannot remove", r.dirs[i]);
	for (i = 0; i < r.ndirs; i++)
		free(r.dirs[i]);
	free(r.dirs);
	for (i = 0; rc == OPS_OK && i < last->npgfiles; i++) {
		const ops_manifest_pgfile *f = &last->pgfiles[i];
		char *path = ops_path_join(dir, f->path), hex[65];
		long long size = 0;
		struct stat st;

		if (!path)
			rc = ops_error_oom(err);
		else if (lstat(path, &st) != 0)
			rc = ops_error_set(err, OPS_EDATA, "restored data directory lacks '%s', "
					   "which backup %s lists", f->path, last->id);
		else if (f->type != 'f')
			rc = (f->type == 'd' ? S_ISDIR(st.st_mode) : S_ISLNK(st.st_mode)) ? OPS_OK
			     : ops_error_set(err, OPS_EDATA, "restored '%s' is not the %s backup "
					     "%s lists", f->path, f->type == 'd' ? "directory"
					     : "symbolic link", last->id);
		else if ((rc = file_sha256(path, hex, &size, err)) == OPS_OK &&
			 (size != f->size || strcmp(hex, f->sha256) != 0))
			rc = ops_error_set(err, OPS_EDATA, "restored '%s' does not match backup %s "
					   "(%lld bytes, SHA-256 %.12s...; listed %lld bytes, "
					   "%.12s...), from backup %s", f->path, last->id, size, hex,
					   f->size, f->sha256, f->in);
		checked += f->type == 'f' && rc == OPS_OK;
		free(path);
	}
	if (rc == OPS_OK) {
		cJSON_AddNumberToObject(rep, "files_checked", (double)checked);
		cJSON_AddNumberToObject(rep, "files_removed", (double)r.removed);
	}
	return rc;
}
