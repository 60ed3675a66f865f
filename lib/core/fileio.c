/*
 * Durable local files: the write-temp, fsync, rename, fsync-directory
 * sequence every file opsctl produces goes through, plus the small path
 * helpers (mkdir -p, whole-file reads with a size cap, the protected-path
 * check).  It does not know about backups, manifests or remote storage; those
 * build on it.  It never follows a symlink when creating a file, and it never
 * removes anything except its own temporary file.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "opsmaint/fileio.h"

struct ops_afile {
	char *path;
	char *temp;
	char *dir;
	int fd;
};

/* Enough attempts that a clash of random suffixes is never the reason. */
#define AFILE_TRIES 16

char *ops_path_dir(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

static unsigned int random_suffix(void)
{
	unsigned int r;
	struct timespec ts;

	if (getrandom(&r, sizeof r, GRND_NONBLOCK) == (ssize_t)sizeof r)
		return r;
	/* O_EXCL catches clashes; the suffix only needs to differ per try. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned int)ts.tv_nsec ^ ((unsigned int)ts.tv_sec << 11);
}

static void afile_free(ops_afile *af)
{
	if (!af)
		return;
	if (af->fd >= 0)
		close(af->fd);
	free(af->path);
	free(af->temp);
	free(af->dir);
	free(af);
}

ops_code ops_afile_open(const char *path, mode_t mode, ops_afile **out,
			ops_error *err)
{
	ops_afile *af;
	ops_code rc;
	size_t n;
	int i;

	*out = NULL;
	af = calloc(1, sizeof *af);
	if (!af)
		return ops_error_oom(err);
	af->fd = -1;
	af->path = strdup(path);
	af->dir = ops_path_dir(path);
	n = strlen(path) + sizeof ".tmp." + 3 * sizeof(long) + 8 + 2;
	af->temp = malloc(n);
	if (!af->path || !af->dir || !af->temp) {
		afile_free(af);
		return ops_error_oom(err);
	}
	for (i = 0; i < AFILE_TRIES; i++) {
		snprintf(af->temp, n, "%s.tmp.%ld.%08x", path, (long)getpid(),
			 random_suffix());
		af->fd = open(af->temp,
			      O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			      mode);
		if (af->fd >= 0 || errno != EEXIST)
			break;
	}
	if (af->fd < 0) {
		rc = ops_error_errno(err, errno, "cannot create", af->temp);
		afile_free(af);
		return rc;
	}
	*out = af;
	return OPS_OK;
}

int ops_afile_fd(const ops_afile *af)
{
	return af ? af->fd : -1;
}

const char *ops_afile_temp_path(const ops_afile *af)
{
	return af ? af->temp : NULL;
}

int ops_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		if (n == 0) {
			/* A regular file only stops accepting bytes when full. */
			errno = ENOSPC;
			return errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

ops_code ops_afile_write(ops_afile *af, const void *buf, size_t len,
			 ops_error *err)
{
	int e = ops_write_all(af->fd, buf, len);

	if (e == 0)
		return OPS_OK;
	return ops_error_errno(err, e, "cannot write", af->temp);
}

ops_code ops_fsync_dir(const char *dir, ops_error *err)
{
	int fd, e;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return ops_error_errno(err, errno, "cannot open directory", dir);
	if (fsync(fd) < 0 && errno != EINVAL) {
		/* EINVAL: the filesystem cannot sync directories; nothing to do. */
		e = errno;
		close(fd);
		return ops_error_errno(err, e, "cannot sync directory", dir);
	}
	close(fd);
	return OPS_OK;
}

ops_code ops_afile_commit(ops_afile *af, ops_error *err)
{
	ops_code rc = OPS_OK;
	int fd = af->fd;

	af->fd = -1;
	if (fsync(fd) < 0) {
		rc = ops_error_errno(err, errno, "cannot sync", af->temp);
		close(fd);
		goto out;
	}
	/* close can report a deferred write error (NFS); it must not be lost. */
	if (close(fd) < 0) {
		rc = ops_error_errno(err, errno, "cannot close", af->temp);
		goto out;
	}
	if (rename(af->temp, af->path) < 0) {
		rc = ops_error_errno(err, errno, "cannot rename into place", af->path);
		goto out;
	}
	rc = ops_fsync_dir(af->dir, err);
	/* The file is in place even if the directory sync failed: keep it. */
	afile_free(af);
	return rc;
out:
	unlink(af->temp);
	afile_free(af);
	return rc;
}

void ops_afile_abort(ops_afile *af)
{
	if (!af)
		return;
	if (af->fd >= 0) {
		close(af->fd);
		af->fd = -1;
	}
	unlink(af->temp);
	afile_free(af);
}

ops_code ops_write_file_atomic(const char *path, const void *data, size_t len,
			       mode_t mode, ops_error *err)
{
	ops_afile *af = NULL;
	ops_code rc;

	rc = ops_afile_open(path, mode, &af, err);
	if (rc != OPS_OK)
		return rc;
	rc = ops_afile_write(af, data, len, err);
	if (rc != OPS_OK) {
		ops_afile_abort(af);
		return rc;
	}
	return ops_afile_commit(af, err);
}

ops_code ops_mkdir_p(const char *path, mode_t mode, ops_error *err)
{
	struct stat st;
	ops_code rc = OPS_OK;
	char *copy, *p;

	if (!path || !*path)
		return ops_error_set(err, OPS_EINTERNAL, "cannot create directory '': empty path");
	copy = strdup(path);
	if (!copy)
		return ops_error_oom(err);
	/* Create each prefix in turn; the last pass creates the path itself. */
	for (p = copy + 1;; p++) {
		int last = *p == '\0';

		if (*p != '/' && !last)
			continue;
		*p = '\0';
		if (mkdir(copy, mode) < 0) {
			int e = errno;

			if (e != EEXIST) {
				rc = ops_error_errno(err, e, "cannot create directory", copy);
				goto out;
			}
			/* EEXIST may be a file or a dangling symlink: check. */
			if (stat(copy, &st) < 0) {
				rc = ops_error_errno(err, errno, "cannot create directory", copy);
				goto out;
			}
			if (!S_ISDIR(st.st_mode)) {
				rc = ops_error_errno(err, ENOTDIR, "cannot create directory", copy);
				goto out;
			}
		}
		if (last)
			break;
		*p = '/';
		while (p[1] == '/')
			p++;
		if (p[1] == '\0')
			break;
	}
out:
	free(copy);
	return rc;
}

ops_code ops_read_file(const char *path, size_t max, char **out, size_t *len,
		       ops_error *err)
{
	struct stat st;
	char *buf = NULL, *nbuf;
	size_t cap, used = 0;
	ssize_t n;
	ops_code rc = OPS_OK;
	int fd;

	*out = NULL;
	if (len)
		*len = 0;
	/* Keep max + 1 and cap * 2 below overflow. */
	if (max > SIZE_MAX / 4)
		max = SIZE_MAX / 4;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ops_error_errno(err, errno, "cannot open", path);
	if (fstat(fd, &st) < 0) {
		rc = ops_error_errno(err, errno, "cannot stat", path);
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		rc = ops_error_errno(err, EISDIR, "cannot read", path);
		goto out;
	}
	if (S_ISREG(st.st_mode) && (unsigned long long)st.st_size > max)
		goto too_big;
	/* Size the buffer from stat, but read until EOF: the file may grow. */
	cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 4096;
	if (cap > max + 1)
		cap = max + 1;
	buf = malloc(cap + 1);
	if (!buf) {
		rc = ops_error_oom(err);
		goto out;
	}
	for (;;) {
		if (used == cap) {
			if (cap > max)
				goto too_big;
			cap = cap * 2 > max + 1 ? max + 1 : cap * 2;
			nbuf = realloc(buf, cap + 1);
			if (!nbuf) {
				rc = ops_error_oom(err);
				goto out;
			}
			buf = nbuf;
		}
		n = read(fd, buf + used, cap - used);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = ops_error_errno(err, errno, "cannot read", path);
			goto out;
		}
		if (n == 0)
			break;
		used += (size_t)n;
	}
	if (used > max)
		goto too_big;
	buf[used] = '\0';
	*out = buf;
	buf = NULL;
	if (len)
		*len = used;
	goto out;
too_big:
	rc = ops_error_set(err, OPS_EDATA, "file '%s' is larger than %zu bytes",
			   path, max);
out:
	free(buf);
	close(fd);
	return rc;
}

char *ops_path_join(const char *dir, const char *name)
{
	size_t dl = strlen(dir);
	char *s;

	if (dl == 0)
		return strdup(name);
	while (dl > 1 && dir[dl - 1] == '/')
		dl--;
	while (*name == '/')
		name++;
	if (asprintf(&s, "%.*s%s%s", (int)dl, dir,
		     dir[dl - 1] == '/' ? "" : "/", name) < 0)
		return NULL;
	return s;
}

/*
 * Append the not-yet-existing tail to a resolved prefix, treating "." and
 * ".." lexically: nothing on disk can make a missing component a symlink.
 */
static int append_tail(char *buf, size_t size, const char *tail)
{
	const char *p = tail, *e;
	size_t bl = strlen(buf), cl;

	while (*p) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		e = strchr(p, '/');
		cl = e ? (size_t)(e - p) : strlen(p);
		if (cl == 1 && p[0] == '.') {
			/* nothing */
		} else if (cl == 2 && p[0] == '.' && p[1] == '.') {
			while (bl > 1 && buf[bl - 1] != '/')
				bl--;
			if (bl > 1)
				bl--;
			buf[bl] = '\0';
		} else {
			if (bl + 1 + cl + 1 > size)
				return -1;
			if (bl > 1 || buf[0] != '/')
				buf[bl++] = '/';
			memcpy(buf + bl, p, cl);
			bl += cl;
			buf[bl] = '\0';
		}
		p += cl;
	}
	return 0;
}

int ops_path_resolve(const char *path, char *out, size_t size)
{
	char abs[PATH_MAX], head[PATH_MAX], real[PATH_MAX];
	char *slash;
	size_t hl;

	if (path[0] == '/') {
		if (snprintf(abs, sizeof abs, "%s", path) >= (int)sizeof abs)
			return -1;
	} else {
		if (!getcwd(head, sizeof head))
			return -1;
		if (snprintf(abs, sizeof abs, "%s/%s", head, path) >= (int)sizeof abs)
			return -1;
	}
	memcpy(head, abs, sizeof head);
	for (;;) {
		if (realpath(head, real)) {
			hl = strlen(head);
			if (snprintf(out, size, "%s", real) >= (int)size)
				return -1;
			return append_tail(out, size, abs + hl);
		}
		if (errno != ENOENT && errno != ENOTDIR)
			return -1;
		slash = strrchr(head, '/');
		if (!slash)
			return -1;
		if (slash == head) {
			if (head[1] == '\0')
				return -1;
			head[1] = '\0';
		} else {
			*slash = '\0';
		}
	}
}

int ops_path_is_protected(const char *path, char *const *protected_paths)
{
	char rp[PATH_MAX], pp[PATH_MAX];
	size_t n;

	if (!protected_paths || !protected_paths[0])
		return 0;
	/* When the path cannot be resolved, refusing is the safe answer. */
	if (!path || ops_path_resolve(path, rp, sizeof rp) < 0)
		return 1;
	for (; *protected_paths; protected_paths++) {
		if (!**protected_paths)
			continue;
		if (ops_path_resolve(*protected_paths, pp, sizeof pp) < 0)
			return 1;
		n = strlen(pp);
		if (strcmp(pp, "/") == 0)
			return 1;
		if (strncmp(rp, pp, n) == 0 && (rp[n] == '\0' || rp[n] == '/'))
			return 1;
	}
	return 0;
}

int ops_temp_orphaned(const char *name, time_t mtime)
{
	const char *t = strstr(name, ".tmp."), *last = NULL;
	char *end;
	long pid;

	/* The last ".tmp." is the writer's: NAME itself may hold one. */
	for (; t; t = strstr(t + 1, ".tmp."))
		last = t;
	if (!last || last[5] < '0' || last[5] > '9')
		return 0;
	errno = 0;
	pid = strtol(last + 5, &end, 10);
	if (errno || pid <= 0 || pid > INT_MAX || (*end != '\0' && *end != '.'))
		return 0;
	if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
		return 0;	/* running, or someone else's (EPERM): not ours to judge */
	return time(NULL) - mtime > 60;
}
