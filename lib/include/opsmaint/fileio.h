/*
 * Durable file writing.  A file is written to a temporary name beside its
 * destination (opened O_EXCL|O_NOFOLLOW), fsynced, renamed into place and the
 * directory fsynced, so a reader sees the old file or the complete new one,
 * never a part, even across a crash.
 */
#ifndef OPSMAINT_FILEIO_H
#define OPSMAINT_FILEIO_H
#include "opsmaint/api.h"
OPS_API_BEGIN

#include <stddef.h>
#include <sys/types.h>
#include <time.h>
#include "opsmaint/error.h"

typedef struct ops_afile ops_afile;

/* Start writing path; the temp name is "path.tmp.PID.RANDOM". */
ops_code ops_afile_open(const char *path, mode_t mode, ops_afile **out,
			ops_error *err);
int ops_afile_fd(const ops_afile *af);
const char *ops_afile_temp_path(const ops_afile *af);
/* Write all of buf, retrying short writes and EINTR. ENOSPC is OPS_EIO. */
ops_code ops_afile_write(ops_afile *af, const void *buf, size_t len,
			 ops_error *err);
/* fsync, close, rename, fsync the directory; frees af whatever happens
 * (on failure the temp file is removed). */
ops_code ops_afile_commit(ops_afile *af, ops_error *err);
/* Remove the temp file and free; NULL is accepted. */
void ops_afile_abort(ops_afile *af);

/* The whole sequence for data already in memory. */
ops_code ops_write_file_atomic(const char *path, const void *data, size_t len,
			       mode_t mode, ops_error *err);
ops_code ops_fsync_dir(const char *dir, ops_error *err);
/* mkdir -p with mode for created components. */
ops_code ops_mkdir_p(const char *path, mode_t mode, ops_error *err);
/* Read a whole file of at most max bytes; *out is NUL-terminated, caller frees. */
ops_code ops_read_file(const char *path, size_t max, char **out, size_t *len,
		       ops_error *err);
/* Write all of buf to fd, retrying short writes and EINTR; errno on failure. */
int ops_write_all(int fd, const void *buf, size_t len);

/* The directory part of path ("." for a bare name, "/" for "/x");
 * newly allocated, NULL on OOM. */
char *ops_path_dir(const char *path);

/* "a/b" joined as "a/b/c"; newly allocated, NULL on OOM. */
char *ops_path_join(const char *dir, const char *name);

/*
 * The absolute form of path in out: realpath(3) of its longest existing
 * prefix, the rest appended with "." and ".." taken lexically, so that
 * "logs", "./logs/" and "/srv/hub/logs" name one directory alike, existing
 * or not.  0, or -1 when it does not fit or a prefix cannot be resolved.
 */
int ops_path_resolve(const char *path, char *out, size_t size);

/*
 * 1 when name (a directory entry) is a temporary file of the "NAME.tmp.PID"
 * or "NAME.tmp.PID.SUFFIX" form this library writes and its writer is gone:
 * no process PID runs on this host, and the file (last written at mtime)
 * has been left alone for a minute, which a writer on another host or in
 * another PID namespace sharing the directory does not do while it writes.
 * 0 for any other name.
 */
int ops_temp_orphaned(const char *name, time_t mtime);

/*
 * 1 if path is, or lies inside, one of the NULL-terminated protected paths
 * (compared after realpath(3) where the path exists, so symlinks and ".."
 * cannot sidestep the check).
 */
int ops_path_is_protected(const char *path, char *const *protected_paths);

OPS_API_END
#endif
