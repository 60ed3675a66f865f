/*
 * Backup archives: a tar stream written and read with libarchive, through
 * zstd (multi-threaded), gzip or no compression, with the SHA-256 and size of
 * every member computed as it streams.  Bytes leave and arrive through
 * callbacks, so the same code writes to a local file, S3 or an encryptor and
 * never needs the whole archive anywhere.
 *
 * A stream of unknown length (pg_dump's output) becomes numbered members of
 * at most chunk bytes, "NAME/000001", "NAME/000002", ...: a tar header must
 * state the size before the data, and buffering one chunk is the only way
 * to know it without a temporary copy of the whole dump.  `tar -xOf ARCHIVE
 * --wildcards 'NAME/0*'` writes the members back to back, which is the original stream.
 */
#ifndef OPSMAINT_ARCHIVE_H
#define OPSMAINT_ARCHIVE_H
#include "opsmaint/api.h"
OPS_API_BEGIN

#include <stddef.h>
#include <sys/types.h>
#include "opsmaint/error.h"

/* A consumer of bytes: the next stage of a pipeline. */
typedef ops_code (*ops_sink_fn)(void *ctx, const void *buf, size_t len, ops_error *err);
/* A producer: up to len bytes into buf, *got == 0 at the end. */
typedef ops_code (*ops_source_fn)(void *ctx, void *buf, size_t len, size_t *got,
				  ops_error *err);

typedef struct ops_archive_entry {
	char *path;		/* member name inside the archive */
	long long size;
	char sha256[65];	/* lowercase hex of the member's content */
} ops_archive_entry;

/* ---- writing ---- */

typedef struct ops_archive_writer ops_archive_writer;

/*
 * compression: "zstd", "gzip" or "none"; level as zstd/gzip understand it;
 * threads: zstd worker threads (0: one per online CPU).
 */
ops_code ops_archive_writer_new(const char *compression, int level, int threads,
				ops_sink_fn sink, void *ctx, ops_archive_writer **out,
				ops_error *err);
/* A member from memory. */
ops_code ops_archive_add_buffer(ops_archive_writer *w, const char *path,
				const void *data, size_t len, ops_error *err);
/*
 * A member from a regular file, streamed; a file that changes size while it
 * is read is OPS_EIO (the member would not match its header).
 */
ops_code ops_archive_add_file(ops_archive_writer *w, const char *path,
			      const char *fs_path, ops_error *err);
/*
 * Members NAME/000001... from fd until end of file, each at most chunk bytes.
 * A reader thread fills one chunk while the previous one is compressed, so
 * the producer (pg_dump) and compression run at the same time; memory is two
 * chunks.  *total gets the stream's length.
 */
ops_code ops_archive_add_stream(ops_archive_writer *w, const char *name, int fd,
				size_t chunk, long long *total, ops_error *err);
/* Finish the archive (end blocks, compressor flush). */
ops_code ops_archive_writer_close(ops_archive_writer *w, ops_error *err);
/* The members written so far, in order. */
const ops_archive_entry *ops_archive_writer_entries(const ops_archive_writer *w, size_t *n);
void ops_archive_writer_free(ops_archive_writer *w);

/*
 * Copy the file src to dst, written atomically (temp, fsync, rename):
 * "none" as it is, "zstd" compressed as one zstd frame (stock `zstd -d`
 * opens it), "unzstd" decompressing such a frame.  Damaged input to
 * "unzstd" is OPS_EDATA.
 */
ops_code ops_archive_copy_file(const char *src, const char *dst, const char *how, ops_error *err);

/*
 * data compressed as one zstd frame (stock `zstd -d` opens it) into sink, at
 * level; and the reverse, one frame read from source and decompressed into
 * sink, damaged input being OPS_EDATA "WHAT is damaged: ...".  For WAL
 * segments, which are stored as bare frames rather than tar members.
 */
ops_code ops_archive_zstd_frame(const void *data, size_t len, int level, ops_sink_fn sink,
				void *ctx, ops_error *err);
ops_code ops_archive_unzstd_frame(ops_source_fn source, void *sctx, ops_sink_fn sink, void *kctx,
				  const char *what, ops_error *err);

/* ---- reading ---- */

typedef struct ops_archive_reader ops_archive_reader;

/* Any of the three compressions, detected from the data. */
ops_code ops_archive_reader_new(ops_source_fn source, void *ctx,
				ops_archive_reader **out, ops_error *err);
/*
 * The next member: *path (valid until the next call) and *size; *end = 1
 * after the last.  A member that is not a regular file or directory, or
 * whose name is absolute or contains "..", is OPS_EDATA naming it: backups
 * never contain them, so one is tampering or damage.
 */
ops_code ops_archive_next(ops_archive_reader *r, const char **path, long long *size,
			  int *end, ops_error *err);
/* Up to len bytes of the current member; *got == 0 at its end. */
ops_code ops_archive_read(ops_archive_reader *r, void *buf, size_t len, size_t *got,
			  ops_error *err);
/* SHA-256 of the current member so far (complete once read to its end). */
void ops_archive_member_sha256(ops_archive_reader *r, char out[65]);
void ops_archive_reader_free(ops_archive_reader *r);

/* 1 when a member name is safe to extract under a directory. */
int ops_archive_path_safe(const char *path);

/* ---- copying a tar stream, leaving files out (tar_filter.c) ---- */

/* One entry of the tar stream being copied. */
typedef struct ops_tar_item {
	const char *path;	/* as in the stream, without a trailing '/' */
	char type;		/* 'f' regular file, 'd' directory, 'l' symlink */
	long long size;		/* a file's, else 0 */
	long long mtime;	/* seconds since the epoch, as the header says */
	const char *target;	/* a symlink's, else NULL */
} ops_tar_item;

/* Before a regular file's data: 1 copies it, 0 leaves it out (its content
 * is read and hashed all the same).  Other entries are always copied. */
typedef int (*ops_tar_keep_fn)(void *ctx, const ops_tar_item *it);
/* After every entry: whether it was copied and, for a file, the SHA-256 of
 * its content ("" otherwise).  Anything but OPS_OK stops the copy. */
typedef ops_code (*ops_tar_seen_fn)(void *ctx, const ops_tar_item *it, int kept,
				    const char *sha256, ops_error *err);

/*
 * Read the uncompressed tar stream on in_fd (pg_basebackup's) and write to
 * out_fd a tar of the entries keep chose, headers as they came (mode,
 * mtime), streamed with no entry ever held whole.  An entry of another type
 * (hard link, device, fifo) or with an unsafe name is OPS_EDATA: a data
 * directory has none.  A reader of out_fd that goes away is OPS_EIO.
 */
ops_code ops_tar_filter(int in_fd, int out_fd, ops_tar_keep_fn keep, ops_tar_seen_fn seen,
			void *ctx, ops_error *err);

OPS_API_END
#endif
