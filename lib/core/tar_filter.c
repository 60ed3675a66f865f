/*
 * Copying a tar stream while leaving some of its files out: what an
 * incremental physical backup stores of pg_basebackup's output.  Every
 * file's content is hashed on the way through, the ones left out too, so
 * that the caller can prove a file it skipped is the one it already has.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LL_WANT_ARCHIVE
#include "core/lazylib.h"

#include "opsmaint/archive.h"
#include "opsmaint/fileio.h"
#include "opsmaint/hash.h"

#define FILTER_BLOCK (1u << 20)

struct filter {
	int in_fd, out_fd;
	char *inbuf, *data;
	ops_error io_err;	/* why a callback failed, kept past libarchive */
	int io_failed;
};

static la_ssize_t in_cb(struct archive *a, void *arg, const void **out)
{
	struct filter *f = arg;
	ssize_t n;

	do
		n = read(f->in_fd, f->inbuf, FILTER_BLOCK);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		f->io_failed = 1;
		ops_error_errno(&f->io_err, errno, "cannot read", "the tar stream");
		archive_set_error(a, EIO, "%s", f->io_err.message);
		return -1;
	}
	*out = f->inbuf;
	return (la_ssize_t)n;
}

static la_ssize_t out_cb(struct archive *a, void *arg, const void *buf, size_t len)
{
	struct filter *f = arg;

	if (ops_write_all(f->out_fd, buf, len) != 0) {
		f->io_failed = 1;
		ops_error_errno(&f->io_err, errno, "cannot write", "the filtered tar stream");
		archive_set_error(a, EIO, "%s", f->io_err.message);
		return -1;
	}
	return (la_ssize_t)len;
}

static ops_code lib_error(struct filter *f, struct archive *a, const char *what,
			  const char *path, ops_error *err)
{
	if (f->io_failed) {
		*err = f->io_err;
		return err->code;
	}
	return ops_error_set(err, OPS_EDATA, "tar stream %s '%s': %s", what, path,
			     archive_error_string(a) ? archive_error_string(a) : "unknown error");
}

/* The entry as the callbacks see it; path is copied into name. */
static ops_code describe(struct archive_entry *e, ops_tar_item *it, char *name, size_t len,
			 ops_error *err)
{
	const char *path = archive_entry_pathname(e);
	size_t n;

	memset(it, 0, sizeof *it);
	if (!path)
		return ops_error_set(err, OPS_EDATA, "tar stream has an entry without a name");
	/* pg_basebackup names the WAL it adds "./pg_wal/...". */
	while (path[0] == '.' && path[1] == '/')
		path += 2;
	n = strlen(path);
	while (n > 1 && path[n - 1] == '/')
		n--;
	if (n >= len)
		return ops_error_set(err, OPS_EDATA, "tar stream entry name too long: '%.80s...'",
				     path);
	memcpy(name, path, n);
	name[n] = '\0';
	if (!*name || strcmp(name, ".") == 0) {
		name[0] = '\0';	/* the root itself */
		return OPS_OK;
	}
	if (!ops_archive_path_safe(name))
		return ops_error_set(err, OPS_EDATA, "tar stream entry '%s' has an unsafe name "
				     "(absolute or '..')", name);
	it->path = name;
	it->mtime = (long long)archive_entry_mtime(e);
	if (archive_entry_hardlink(e))
		return ops_error_set(err, OPS_EDATA, "tar stream entry '%s' is a hard link", name);
	switch (archive_entry_filetype(e)) {
	case AE_IFREG:
		it->type = 'f';
		it->size = (long long)archive_entry_size(e);
		break;
	case AE_IFDIR:
		it->type = 'd';
		break;
	case AE_IFLNK:
		it->type = 'l';
		it->target = archive_entry_symlink(e);
		break;
	default:
		return ops_error_set(err, OPS_EDATA, "tar stream entry '%s' is not a file, "
				     "directory or symbolic link", name);
	}
	return OPS_OK;
}

/* A file's content: hashed, and written on when kept. */
static ops_code copy_data(struct filter *f, struct archive *in, struct archive *out, int kept,
			  const ops_tar_item *it, char hex[65], ops_error *err)
{
	ops_sha256 *h = ops_sha256_new();
	long long got = 0;
	ops_code rc = h ? OPS_OK : ops_error_oom(err);

	while (rc == OPS_OK) {
		la_ssize_t n = archive_read_data(in, f->data, FILTER_BLOCK);

		if (n < 0) {
			rc = lib_error(f, in, "is damaged in", it->path, err);
			break;
		}
		if (n == 0)
			break;
		got += n;
		ops_sha256_update(h, f->data, (size_t)n);
		if (kept && archive_write_data(out, f->data, (size_t)n) != n)
			rc = lib_error(f, out, "cannot be written at", it->path, err);
	}
	if (rc == OPS_OK && got != it->size)
		rc = ops_error_set(err, OPS_EDATA, "tar stream ends inside '%s' (%lld of %lld bytes)",
				   it->path, got, it->size);
	if (h)
		ops_sha256_final_hex(h, hex);
	ops_sha256_free(h);
	return rc;
}

ops_code ops_tar_filter(int in_fd, int out_fd, ops_tar_keep_fn keep, ops_tar_seen_fn seen,
			void *ctx, ops_error *err)
{
	struct filter f;
	struct archive *in = NULL, *out = NULL;
	struct archive_entry *e;
	char name[4096] = "(start)", hex[65];
	ops_code rc;

	if ((rc = ll_archive(err)) != OPS_OK)
		return rc;
	memset(&f, 0, sizeof f);
	f.in_fd = in_fd;
	f.out_fd = out_fd;
	f.inbuf = malloc(FILTER_BLOCK);
	f.data = malloc(FILTER_BLOCK);
	in = archive_read_new();
	out = archive_write_new();
	if (!f.inbuf || !f.data || !in || !out) {
		rc = ops_error_oom(err);
		goto done;
	}
	archive_read_support_format_tar(in);
	archive_write_set_format_pax_restricted(out);
	archive_write_add_filter_none(out);
	/* Whole blocks of a MiB for out_cb, not tar's 10 KiB: a write(2)
	 * each, and the pipes sized to match. */
	archive_write_set_bytes_per_block(out, FILTER_BLOCK);
	archive_write_set_bytes_in_last_block(out, 1);
	(void)fcntl(in_fd, F_SETPIPE_SZ, FILTER_BLOCK);
	(void)fcntl(out_fd, F_SETPIPE_SZ, FILTER_BLOCK);
	if (archive_read_open(in, &f, NULL, in_cb, NULL) != ARCHIVE_OK) {
		rc = lib_error(&f, in, "cannot be read at", "(start)", err);
		goto done;
	}
	if (archive_write_open(out, &f, NULL, out_cb, NULL) != ARCHIVE_OK) {
		rc = lib_error(&f, out, "cannot be written at", "(start)", err);
		goto done;
	}
	for (;;) {
		ops_tar_item it;
		int r = archive_read_next_header(in, &e), kept = 1;

		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
			rc = lib_error(&f, in, "is damaged after", name, err);
			break;
		}
		if ((rc = describe(e, &it, name, sizeof name, err)) != OPS_OK)
			break;
		if (!*name) {	/* the root itself: nothing to copy */
			strcpy(name, "(root)");
			continue;
		}
		if (it.type == 'f' && keep)
			kept = keep(ctx, &it);
		if (kept && archive_write_header(out, e) < ARCHIVE_OK) {
			rc = lib_error(&f, out, "cannot be written at", name, err);
			break;
		}
		hex[0] = '\0';
		if (it.type == 'f' &&
		    (rc = copy_data(&f, in, out, kept, &it, hex, err)) != OPS_OK)
			break;
		if (kept && archive_write_finish_entry(out) < ARCHIVE_OK) {
			rc = lib_error(&f, out, "cannot be written at", name, err);
			break;
		}
		if (seen && (rc = seen(ctx, &it, kept, hex, err)) != OPS_OK)
			break;
	}
	if (rc == OPS_OK && archive_write_close(out) != ARCHIVE_OK)
		rc = lib_error(&f, out, "cannot be finished after", name, err);
done:
	if (in)
		archive_read_free(in);
	if (out)
		archive_write_free(out);
	free(f.inbuf);
	free(f.data);
	return rc;
}
