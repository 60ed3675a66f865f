/*
 * Backup archives with libarchive.  Writing: pax-restricted tar (plain ustar
 * unless a name needs more), one of three filters, members hashed as they
 * stream.  Reading: the same, with member names checked before anything is
 * trusted.  libarchive reports through its own error strings; every failure
 * here becomes an ops_error naming the member it happened in, because
 * "archive damaged" without a member name sends an operator hunting.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LL_WANT_ARCHIVE
#include "core/lazylib.h"

#include "opsmaint/archive.h"
#include "opsmaint/fileio.h"
#include "opsmaint/hash.h"

#define IO_BLOCK (1u << 20)

struct ops_archive_writer {
	struct archive *a;
	ops_sink_fn sink;
	void *ctx;
	ops_error sink_err;	/* why the sink refused, kept past libarchive */
	int sink_failed;
	ops_sha256 *hash;
	ops_archive_entry *entries;
	size_t nentries;
	int closed;
};

static la_ssize_t write_cb(struct archive *a, void *arg, const void *buf, size_t len)
{
	ops_archive_writer *w = arg;

	if (!w->sink)
		return (la_ssize_t)len;	/* being freed unfinished: nothing goes out */
	if (w->sink(w->ctx, buf, len, &w->sink_err) != OPS_OK) {
		w->sink_failed = 1;
		archive_set_error(a, EIO, "%s", w->sink_err.message);
		return -1;
	}
	return (la_ssize_t)len;
}

/* The error of a failed libarchive call: the sink's own when it caused it. */
static ops_code writer_error(ops_archive_writer *w, ops_error *err, const char *member)
{
	if (w->sink_failed) {
		*err = w->sink_err;
		return err->code;
	}
	return ops_error_set(err, OPS_EIO, "writing archive member '%s': %s", member,
			     archive_error_string(w->a) ? archive_error_string(w->a) : "unknown error");
}

ops_code ops_archive_writer_new(const char *compression, int level, int threads,
				ops_sink_fn sink, void *ctx, ops_archive_writer **out,
				ops_error *err)
{
	ops_archive_writer *w = calloc(1, sizeof *w);
	char num[32];
	int r = ARCHIVE_OK;

	*out = NULL;
	if (ll_archive(err) != OPS_OK) {
		free(w);
		return err->code;
	}
	if (!w)
		return ops_error_oom(err);
	w->sink = sink;
	w->ctx = ctx;
	w->a = archive_write_new();
	w->hash = ops_sha256_new();
	if (!w->a || !w->hash) {
		ops_archive_writer_free(w);
		return ops_error_oom(err);
	}
	archive_write_set_format_pax_restricted(w->a);
	if (strcmp(compression, "zstd") == 0) {
		r = archive_write_add_filter_zstd(w->a);
		snprintf(num, sizeof num, "%d", level);
		if (r == ARCHIVE_OK)
			r = archive_write_set_filter_option(w->a, "zstd", "compression-level", num);
		if (threads <= 0) {
			long n = sysconf(_SC_NPROCESSORS_ONLN);

			threads = n > 0 ? (int)n : 1;
		}
		snprintf(num, sizeof num, "%d", threads);
		if (r == ARCHIVE_OK)
			r = archive_write_set_filter_option(w->a, "zstd", "threads", num);
	} else if (strcmp(compression, "gzip") == 0) {
		r = archive_write_add_filter_gzip(w->a);
		snprintf(num, sizeof num, "%d", level > 9 ? 9 : level);
		if (r == ARCHIVE_OK)
			r = archive_write_set_filter_option(w->a, "gzip", "compression-level", num);
	} else if (strcmp(compression, "none") == 0) {
		r = archive_write_add_filter_none(w->a);
	} else {
		ops_archive_writer_free(w);
		return ops_error_set(err, OPS_EUSAGE, "unknown compression '%s' (zstd, gzip or none)",
				     compression);
	}
	if (r != ARCHIVE_OK) {
		ops_error_set(err, OPS_EINTERNAL, "libarchive cannot use %s compression: %s",
			      compression, archive_error_string(w->a));
		ops_archive_writer_free(w);
		return err->code;
	}
	/* No padding to a 10 KiB block: the archive ends where tar ends. */
	archive_write_set_bytes_in_last_block(w->a, 1);
	if (archive_write_open(w->a, w, NULL, write_cb, NULL) != ARCHIVE_OK) {
		ops_code rc = writer_error(w, err, "(header)");

		ops_archive_writer_free(w);
		return rc;
	}
	*out = w;
	return OPS_OK;
}

static ops_code begin_member(ops_archive_writer *w, const char *path, long long size,
			     ops_error *err)
{
	struct archive_entry *e;
	ops_archive_entry *grown;
	int r;

	if (!ops_archive_path_safe(path))
		return ops_error_set(err, OPS_EINTERNAL, "refusing unsafe archive member name '%s'", path);
	grown = realloc(w->entries, (w->nentries + 1) * sizeof *grown);
	if (!grown)
		return ops_error_oom(err);
	w->entries = grown;
	memset(&grown[w->nentries], 0, sizeof *grown);
	grown[w->nentries].path = strdup(path);
	if (!grown[w->nentries].path)
		return ops_error_oom(err);
	grown[w->nentries].size = size;
	w->nentries++;
	e = archive_entry_new();
	if (!e)
		return ops_error_oom(err);
	archive_entry_set_pathname(e, path);
	archive_entry_set_size(e, size);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0600);
	archive_entry_set_mtime(e, time(NULL), 0);
	r = archive_write_header(w->a, e);
	archive_entry_free(e);
	if (r != ARCHIVE_OK)
		return writer_error(w, err, path);
	return OPS_OK;
}

static ops_code member_data(ops_archive_writer *w, const void *buf, size_t len, ops_error *err)
{
	const char *p = buf;

	ops_sha256_update(w->hash, buf, len);
	while (len > 0) {
		la_ssize_t n = archive_write_data(w->a, p, len);

		if (n <= 0)
			return writer_error(w, err, w->entries[w->nentries - 1].path);
		p += n;
		len -= (size_t)n;
	}
	return OPS_OK;
}

static ops_code end_member(ops_archive_writer *w, ops_error *err)
{
	ops_sha256_final_hex(w->hash, w->entries[w->nentries - 1].sha256);
	if (archive_write_finish_entry(w->a) != ARCHIVE_OK)
		return writer_error(w, err, w->entries[w->nentries - 1].path);
	return OPS_OK;
}

ops_code ops_archive_add_buffer(ops_archive_writer *w, const char *path,
				const void *data, size_t len, ops_error *err)
{
	ops_code rc = begin_member(w, path, (long long)len, err);

	if (rc == OPS_OK)
		rc = member_data(w, data, len, err);
	if (rc == OPS_OK)
		rc = end_member(w, err);
	return rc;
}

ops_code ops_archive_add_file(ops_archive_writer *w, const char *path,
			      const char *fs_path, ops_error *err)
{
	int fd = open(fs_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	long long left;
	char *buf = NULL;
	ops_code rc;

	if (fd < 0)
		return ops_error_errno(err, errno, "cannot open", fs_path);
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return ops_error_set(err, OPS_EIO, "'%s' is not a regular file", fs_path);
	}
	buf = malloc(IO_BLOCK);
	if (!buf) {
		close(fd);
		return ops_error_oom(err);
	}
	left = (long long)st.st_size;
	rc = begin_member(w, path, left, err);
	while (rc == OPS_OK && left > 0) {
		ssize_t n = read(fd, buf, left < IO_BLOCK ? (size_t)left : IO_BLOCK);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			rc = ops_error_errno(err, errno, "cannot read", fs_path);
		else if (n == 0)
			rc = ops_error_set(err, OPS_EIO, "'%s' shrank while it was being backed up", fs_path);
		else {
			rc = member_data(w, buf, (size_t)n, err);
			left -= n;
		}
	}
	if (rc == OPS_OK) {
		char probe;

		if (read(fd, &probe, 1) > 0)
			rc = ops_error_set(err, OPS_EIO, "'%s' grew while it was being backed up", fs_path);
	}
	if (rc == OPS_OK)
		rc = end_member(w, err);
	free(buf);
	close(fd);
	return rc;
}

/* ---- the chunked stream: a reader thread and two buffers ---- */

struct chunker {
	int fd;
	size_t chunk;
	char *buf[2];
	size_t len[2];
	int full[2], last[2];
	int stop;		/* the consumer gave up */
	int read_errno;
	pthread_mutex_t mu;
	pthread_cond_t cv;
};

/* Read into b until it holds chunk bytes or the stream ends; 1 at the end. */
static int fill(struct chunker *c, int b, int *eof)
{
	size_t got = 0;

	*eof = 0;
	while (got < c->chunk) {
		struct pollfd p = {c->fd, POLLIN, 0};
		ssize_t n;
		int stop;

		pthread_mutex_lock(&c->mu);
		stop = c->stop;
		pthread_mutex_unlock(&c->mu);
		if (stop)
			return -1;
		/* Poll with a timeout so a consumer that failed is noticed even
		 * while the producer is silent. */
		if (poll(&p, 1, 200) == 0)
			continue;
		n = read(c->fd, c->buf[b] + got, c->chunk - got);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0) {
			c->read_errno = errno;
			return -1;
		}
		if (n == 0) {
			*eof = 1;
			break;
		}
		got += (size_t)n;
	}
	c->len[b] = got;
	return 0;
}

static void *reader_main(void *arg)
{
	struct chunker *c = arg;
	int b = 0, eof = 0;

	while (!eof) {
		pthread_mutex_lock(&c->mu);
		while (c->full[b] && !c->stop)
			pthread_cond_wait(&c->cv, &c->mu);
		if (c->stop) {
			pthread_mutex_unlock(&c->mu);
			break;
		}
		pthread_mutex_unlock(&c->mu);
		if (fill(c, b, &eof) != 0) {
			pthread_mutex_lock(&c->mu);
			c->len[b] = 0;
			c->last[b] = 1;
			c->full[b] = 1;
			pthread_cond_broadcast(&c->cv);
			pthread_mutex_unlock(&c->mu);
			break;
		}
		pthread_mutex_lock(&c->mu);
		c->last[b] = eof;
		c->full[b] = 1;
		pthread_cond_broadcast(&c->cv);
		pthread_mutex_unlock(&c->mu);
		b ^= 1;
	}
	return NULL;
}

ops_code ops_archive_add_stream(ops_archive_writer *w, const char *name, int fd,
				size_t chunk, long long *total, ops_error *err)
{
	struct chunker c;
	pthread_t th;
	ops_code rc = OPS_OK;
	unsigned part = 0;
	int b = 0, done = 0;

	*total = 0;
	memset(&c, 0, sizeof c);
	/* A pipe of 1 MiB (the unprivileged limit) instead of 64 KiB: the
	 * producer and the reader thread wake each other 16 times less. */
	(void)fcntl(fd, F_SETPIPE_SZ, 1 << 20);
	c.fd = fd;
	c.chunk = chunk;
	c.buf[0] = malloc(chunk);
	c.buf[1] = malloc(chunk);
	if (!c.buf[0] || !c.buf[1]) {
		free(c.buf[0]);
		free(c.buf[1]);
		return ops_error_oom(err);
	}
	pthread_mutex_init(&c.mu, NULL);
	pthread_cond_init(&c.cv, NULL);
	if (pthread_create(&th, NULL, reader_main, &c) != 0) {
		rc = ops_error_set(err, OPS_EINTERNAL, "cannot start a reader thread");
		goto out_noth;
	}
	while (!done && rc == OPS_OK) {
		pthread_mutex_lock(&c.mu);
		while (!c.full[b])
			pthread_cond_wait(&c.cv, &c.mu);
		done = c.last[b];
		pthread_mutex_unlock(&c.mu);
		if (c.read_errno) {
			rc = ops_error_errno(err, c.read_errno, "cannot read the stream for", name);
			break;
		}
		if (c.len[b] > 0) {
			char path[512];

			if (++part > 999999) {
				rc = ops_error_set(err, OPS_EUSAGE,
						   "'%s' needs more than 999999 members; raise backup.chunk_size", name);
				break;
			}
			snprintf(path, sizeof path, "%s/%06u", name, part);
			rc = begin_member(w, path, (long long)c.len[b], err);
			if (rc == OPS_OK)
				rc = member_data(w, c.buf[b], c.len[b], err);
			if (rc == OPS_OK)
				rc = end_member(w, err);
			*total += (long long)c.len[b];
		}
		pthread_mutex_lock(&c.mu);
		c.full[b] = 0;
		pthread_cond_broadcast(&c.cv);
		pthread_mutex_unlock(&c.mu);
		b ^= 1;
	}
	pthread_mutex_lock(&c.mu);
	c.stop = 1;
	pthread_cond_broadcast(&c.cv);
	pthread_mutex_unlock(&c.mu);
	pthread_join(th, NULL);
out_noth:
	pthread_mutex_destroy(&c.mu);
	pthread_cond_destroy(&c.cv);
	free(c.buf[0]);
	free(c.buf[1]);
	return rc;
}

ops_code ops_archive_writer_close(ops_archive_writer *w, ops_error *err)
{
	w->closed = 1;
	if (archive_write_close(w->a) != ARCHIVE_OK)
		return writer_error(w, err, "(end of archive)");
	return OPS_OK;
}

const ops_archive_entry *ops_archive_writer_entries(const ops_archive_writer *w, size_t *n)
{
	*n = w->nentries;
	return w->entries;
}

void ops_archive_writer_free(ops_archive_writer *w)
{
	size_t i;

	if (!w)
		return;
	/* libarchive's free finishes an open archive; an abandoned one must
	 * not reach a sink that may already be gone. */
	w->sink = NULL;
	if (w->a)
		archive_write_free(w->a);
	for (i = 0; i < w->nentries; i++)
		free(w->entries[i].path);
	free(w->entries);
	ops_sha256_free(w->hash);
	free(w);
}

/* ---- reading ---- */

struct ops_archive_reader {
	struct archive *a;
	ops_source_fn source;
	void *ctx;
	char *buf;
	ops_error source_err;
	int source_failed;
	ops_sha256 *hash;
	char *member;
};

static la_ssize_t read_cb(struct archive *a, void *arg, const void **out)
{
	ops_archive_reader *r = arg;
	size_t got = 0;

	if (r->source(r->ctx, r->buf, IO_BLOCK, &got, &r->source_err) != OPS_OK) {
		r->source_failed = 1;
		archive_set_error(a, EIO, "%s", r->source_err.message);
		return -1;
	}
	*out = r->buf;
	return (la_ssize_t)got;
}

static ops_code reader_error(ops_archive_reader *r, ops_error *err, const char *what)
{
	if (r->source_failed) {
		*err = r->source_err;
		return err->code;
	}
	return ops_error_set(err, OPS_EDATA, "archive damaged %s: %s", what,
			     archive_error_string(r->a) ? archive_error_string(r->a) : "unknown error");
}

ops_code ops_archive_reader_new(ops_source_fn source, void *ctx,
				ops_archive_reader **out, ops_error *err)
{
	ops_archive_reader *r = calloc(1, sizeof *r);

	*out = NULL;
	if (ll_archive(err) != OPS_OK) {
		free(r);
		return err->code;
	}
	if (!r)
		return ops_error_oom(err);
	r->source = source;
	r->ctx = ctx;
	r->buf = malloc(IO_BLOCK);
	r->a = archive_read_new();
	r->hash = ops_sha256_new();
	if (!r->buf || !r->a || !r->hash) {
		ops_archive_reader_free(r);
		return ops_error_oom(err);
	}
	archive_read_support_filter_zstd(r->a);
	archive_read_support_filter_gzip(r->a);
	archive_read_support_format_tar(r->a);
	if (archive_read_open(r->a, r, NULL, read_cb, NULL) != ARCHIVE_OK) {
		ops_code rc = reader_error(r, err, "at its start");

		ops_archive_reader_free(r);
		return rc;
	}
	*out = r;
	return OPS_OK;
}

int ops_archive_path_safe(const char *path)
{
	const char *p = path;

	if (!path || !*path || *path == '/')
		return 0;
	while (*p) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);

		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return 0;
		p += n;
		if (*p == '/')
			p++;
	}
	return p[-1] != '/';
}

ops_code ops_archive_next(ops_archive_reader *r, const char **path, long long *size,
			  int *end, ops_error *err)
{
	struct archive_entry *e;
	const char *name;
	char where[600];
	int rc;

	*end = 0;
	snprintf(where, sizeof where, "after member '%s'", r->member ? r->member : "(none)");
	rc = archive_read_next_header(r->a, &e);
	if (rc == ARCHIVE_EOF) {
		*end = 1;
		return OPS_OK;
	}
	if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN)
		return reader_error(r, err, where);
	name = archive_entry_pathname(e);
	if (!name || !ops_archive_path_safe(name))
		return ops_error_set(err, OPS_EDATA, "archive member '%s' has an unsafe name (absolute or '..')",
				     name ? name : "");
	if (archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e))
		return ops_error_set(err, OPS_EDATA,
				     "archive member '%s' is not a regular file; backups contain only files",
				     name);
	free(r->member);
	r->member = strdup(name);
	if (!r->member)
		return ops_error_oom(err);
	ops_sha256_final_hex(r->hash, where);	/* restart the member digest */
	*path = r->member;
	*size = (long long)archive_entry_size(e);
	return OPS_OK;
}

ops_code ops_archive_read(ops_archive_reader *r, void *buf, size_t len, size_t *got,
			  ops_error *err)
{
	la_ssize_t n = archive_read_data(r->a, buf, len);

	*got = 0;
	if (n < 0) {
		char what[600];

		snprintf(what, sizeof what, "in member '%s'", r->member ? r->member : "");
		return reader_error(r, err, what);
	}
	ops_sha256_update(r->hash, buf, (size_t)n);
	*got = (size_t)n;
	return OPS_OK;
}

void ops_archive_member_sha256(ops_archive_reader *r, char out[65])
{
	ops_sha256_final_hex(r->hash, out);
}

void ops_archive_reader_free(ops_archive_reader *r)
{
	if (!r)
		return;
	if (r->a)
		archive_read_free(r->a);
	ops_sha256_free(r->hash);
	free(r->buf);
	free(r->member);
	free(r);
}

/* ---- whole-file copies, plain or through one zstd frame ---- */

static la_ssize_t afile_write_cb(struct archive *a, void *arg, const void *buf, size_t len)
{
	ops_error e;

	if (ops_afile_write(arg, buf, len, &e) != OPS_OK) {
		archive_set_error(a, EIO, "%s", e.message);
		return -1;
	}
	return (la_ssize_t)len;
}

ops_code ops_archive_copy_file(const char *src, const char *dst, const char *how, ops_error *err)
{
	int zin = strcmp(how, "unzstd") == 0, zout = strcmp(how, "zstd") == 0;
	int fd = -1, r = ARCHIVE_OK;
	struct archive *a = NULL;
	struct archive_entry *e = NULL;
	ops_afile *af = NULL;
	char *buf = malloc(IO_BLOCK);
	struct stat st;
	ops_code rc = OPS_OK;
	la_ssize_t n;

	if (!buf)
		return ops_error_oom(err);
	if ((zin || zout) && (rc = ll_archive(err)) != OPS_OK)
		goto out;
	if (!zin && ((fd = open(src, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) != 0)) {
		rc = ops_error_errno(err, errno, "cannot read", src);
		goto out;
	}
	if ((rc = ops_afile_open(dst, 0600, &af, err)) != OPS_OK)
		goto out;
	if (zin) {
		a = archive_read_new();
		if (!a) {
			rc = ops_error_oom(err);
			goto out;
		}
		archive_read_support_filter_zstd(a);
		archive_read_support_format_raw(a);
		if (archive_read_open_filename(a, src, IO_BLOCK) != ARCHIVE_OK ||
		    archive_read_next_header(a, &e) != ARCHIVE_OK) {
			rc = ops_error_set(err, OPS_EDATA, "'%s' is not a zstd file: %s", src, archive_error_string(a));
			goto out;
		}
		while (rc == OPS_OK && (n = archive_read_data(a, buf, IO_BLOCK)) != 0) {
			if (n < 0)
				rc = ops_error_set(err, OPS_EDATA, "'%s' is damaged: %s", src, archive_error_string(a));
			else
				rc = ops_afile_write(af, buf, (size_t)n, err);
		}
	} else if (zout) {
		a = archive_write_new();
		e = archive_entry_new();
		if (!a || !e) {
			rc = ops_error_oom(err);
			goto out;
		}
		archive_write_set_format_raw(a);
		archive_write_add_filter_zstd(a);
		archive_write_set_bytes_in_last_block(a, 1);
		archive_entry_set_pathname(e, "data");
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_size(e, st.st_size);
		if (archive_write_open(a, af, NULL, afile_write_cb, NULL) != ARCHIVE_OK ||
		    archive_write_header(a, e) != ARCHIVE_OK)
			r = ARCHIVE_FATAL;
		while (r == ARCHIVE_OK && (n = read(fd, buf, IO_BLOCK)) > 0)
			if (archive_write_data(a, buf, (size_t)n) != n)
				r = ARCHIVE_FATAL;
		if (r != ARCHIVE_OK || archive_write_close(a) != ARCHIVE_OK)
			rc = ops_error_set(err, OPS_EIO, "compressing '%s': %s", src, archive_error_string(a));
	} else {
		while (rc == OPS_OK && (n = read(fd, buf, IO_BLOCK)) > 0)
			rc = ops_afile_write(af, buf, (size_t)n, err);
		if (rc == OPS_OK && n < 0)
			rc = ops_error_errno(err, errno, "cannot read", src);
	}
	if (rc == OPS_OK) {
		rc = ops_afile_commit(af, err);
		af = NULL;
	}
out:
	ops_afile_abort(af);
	if (a)
		zin ? archive_read_free(a) : archive_write_free(a);
	if (e && !zin)
		archive_entry_free(e);
	if (fd >= 0)
		close(fd);
	free(buf);
	return rc;
}

/* ---- one raw zstd frame (WAL segments) ---- */

struct sink_cb {
	ops_sink_fn fn;
	void *ctx;
	ops_error err;
	int failed;
};

static la_ssize_t sink_write_cb(struct archive *a, void *arg, const void *buf, size_t len)
{
	struct sink_cb *s = arg;

	if (s->fn(s->ctx, buf, len, &s->err) != OPS_OK) {
		s->failed = 1;
		archive_set_error(a, EIO, "%s", s->err.message);
		return -1;
	}
	return (la_ssize_t)len;
}

ops_code ops_archive_zstd_frame(const void *data, size_t len, int level, ops_sink_fn sink,
				void *ctx, ops_error *err)
{
	struct sink_cb s = {sink, ctx, {0}, 0};
	struct archive *a = NULL;
	struct archive_entry *e = NULL;
	char lvl[16];
	ops_code rc = OPS_OK;

	if ((rc = ll_archive(err)) != OPS_OK)
		return rc;
	a = archive_write_new();
	e = archive_entry_new();
	if (!a || !e) {
		rc = ops_error_oom(err);
		goto out;
	}
	snprintf(lvl, sizeof lvl, "%d", level);
	archive_write_set_format_raw(a);
	archive_write_add_filter_zstd(a);
	archive_write_set_filter_option(a, "zstd", "compression-level", lvl);
	archive_write_set_bytes_in_last_block(a, 1);
	archive_entry_set_pathname(e, "data");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_size(e, (la_int64_t)len);
	if (archive_write_open(a, &s, NULL, sink_write_cb, NULL) != ARCHIVE_OK ||
	    archive_write_header(a, e) != ARCHIVE_OK ||
	    archive_write_data(a, data, len) != (la_ssize_t)len ||
	    archive_write_close(a) != ARCHIVE_OK) {
		if (s.failed)
			*err = s.err;
		else
			ops_error_set(err, OPS_EINTERNAL, "compressing: %s", archive_error_string(a));
		rc = err->code;
	}
out:
	archive_entry_free(e);
	if (a)
		archive_write_free(a);
	return rc;
}

struct source_cb {
	ops_source_fn fn;
	void *ctx;
	char *buf;
	ops_error err;
	int failed;
};

static la_ssize_t source_read_cb(struct archive *a, void *arg, const void **out)
{
	struct source_cb *s = arg;
	size_t got = 0;

	if (s->fn(s->ctx, s->buf, IO_BLOCK, &got, &s->err) != OPS_OK) {
		s->failed = 1;
		archive_set_error(a, EIO, "%s", s->err.message);
		return -1;
	}
	*out = s->buf;
	return (la_ssize_t)got;
}

ops_code ops_archive_unzstd_frame(ops_source_fn source, void *sctx, ops_sink_fn sink, void *kctx,
				  const char *what, ops_error *err)
{
	struct source_cb s = {source, sctx, malloc(IO_BLOCK), {0}, 0};
	struct archive *a = NULL;
	struct archive_entry *e;
	char *buf = malloc(IO_BLOCK);
	ops_code rc;
	la_ssize_t n;

	if (!s.buf || !buf) {
		rc = ops_error_oom(err);
		goto out;
	}
	if ((rc = ll_archive(err)) != OPS_OK)
		goto out;
	a = archive_read_new();
	if (!a) {
		rc = ops_error_oom(err);
		goto out;
	}
	archive_read_support_filter_zstd(a);
	archive_read_support_format_raw(a);
	if (archive_read_open(a, &s, NULL, source_read_cb, NULL) != ARCHIVE_OK ||
	    archive_read_next_header(a, &e) != ARCHIVE_OK) {
		rc = s.failed ? (*err = s.err, err->code)
			      : ops_error_set(err, OPS_EDATA, "%s is damaged: %s", what,
					      archive_error_string(a));
		goto out;
	}
	while ((n = archive_read_data(a, buf, IO_BLOCK)) != 0) {
		if (n < 0) {
			rc = s.failed ? (*err = s.err, err->code)
				      : ops_error_set(err, OPS_EDATA, "%s is damaged: %s", what,
						      archive_error_string(a));
			break;
		}
		if ((rc = sink(kctx, buf, (size_t)n, err)) != OPS_OK)
			break;
	}
out:
	if (a)
		archive_read_free(a);
	free(s.buf);
	free(buf);
	return rc;
}

