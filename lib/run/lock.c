/*
 * Per-task run locks.  flock(2) is used rather than a pid file checked with
 * kill(2): the kernel releases it when the holder dies, so there is no stale
 * lock to clean up and no pid-reuse race.  The pid written into the file is
 * only for the message a second run prints.  Lock files are never unlinked
 * (unlinking a lock file lets two runs lock two different inodes); release
 * only truncates it.  It does not wait for a lock: a second run reports and
 * leaves, and cron tries again next time.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "opsmaint/clock.h"
#include "opsmaint/fileio.h"
#include "opsmaint/hash.h"
#include "opsmaint/lock.h"

struct ops_lock {
	int fd;
	char *path;
};

/* Bytes of a target kept in a lock file name; NAME_MAX leaves room for more,
 * but a name a person can read in `ls locks/` is the point. */
#define SLUG_MAX 64

static int task_name_ok(const char *task)
{
	const char *p;

	if (!task || !*task)
		return 0;
	for (p = task; *p; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '.' ||
		      *p == '-'))
			return 0;
	}
	return 1;
}

/*
 * The holder as text: "pid 1234, since 2026-12-02T04:59:37Z" from the lock
 * file's "PID START\n" (a file from before start times were written has
 * only the pid), or "unknown pid" while the holder has not written it yet.
 * The start tells a stuck run from a long one.
 */
static void read_holder(int fd, char *buf, size_t size)
{
	char text[64], when[OPS_TIME_ISO_SIZE];
	ssize_t n;
	long pid;
	long long start = 0;
	char *end, *tail;

	n = pread(fd, text, sizeof text - 1, 0);
	if (n > 0) {
		text[n] = '\0';
		errno = 0;
		pid = strtol(text, &end, 10);
		if (errno == 0 && end != text && pid > 0 &&
		    (*end == '\n' || *end == '\0' || *end == ' ')) {
			if (*end == ' ') {
				start = strtoll(end + 1, &tail, 10);
				if (tail == end + 1 || (*tail != '\n' && *tail != '\0'))
					start = 0;
			}
			if (start > 0 && *ops_time_iso((time_t)start, when))
				snprintf(buf, size, "pid %ld, since %s", pid, when);
			else
				snprintf(buf, size, "pid %ld", pid);
			return;
		}
	}
	snprintf(buf, size, "unknown pid");
}

static void lock_free(ops_lock *lock)
{
	if (!lock)
		return;
	if (lock->fd >= 0)
		close(lock->fd);
	free(lock->path);
	free(lock);
}

/*
 * TASK@SLUG: the target's own bytes where they are safe in a file name, else
 * '_' for each other byte and a digest of the whole target, so that "a/b"
 * and "a_b" (or two long paths sharing a prefix) get different locks.
 */
static char *lock_name(const char *task, const char *target)
{
	char slug[SLUG_MAX + 1], hex[65], *name = NULL;
	size_t i, n = strlen(target);
	int changed = n > SLUG_MAX;

	for (i = 0; i < n && i < SLUG_MAX; i++) {
		char c = target[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-') || (i == 0 && c == '.')) {
			c = '_';
			changed = 1;
		}
		slug[i] = c;
	}
	slug[i] = '\0';
	if (changed) {
		ops_sha256_hex(target, n, hex);
		hex[12] = '\0';
		if (i > SLUG_MAX - 13)
			slug[SLUG_MAX - 13] = '\0';
		if (asprintf(&name, "%s@%s-%s", task, slug, hex) < 0)
			name = NULL;
	} else if (asprintf(&name, "%s@%s", task, slug) < 0) {
		name = NULL;
	}
	return name;
}

ops_code ops_lock_acquire(const char *state_dir, const char *task,
			  ops_lock **out, ops_error *err)
{
	return ops_lock_acquire_target(state_dir, task, NULL, out, err);
}

ops_code ops_lock_acquire_target(const char *state_dir, const char *task, const char *target,
				 ops_lock **out, ops_error *err)
{
	char *file = NULL;
	ops_lock *lock = NULL;
	char *dir = NULL, *name = NULL, holder[80], pidtext[48];
	ops_code rc = OPS_OK;
	int r, e, len;

	*out = NULL;
	if (!task_name_ok(task))
		return ops_error_set(err, OPS_EUSAGE,
				     "bad task name '%s': use letters, digits, '_', '.' and '-'",
				     task ? task : "");
	if (target && !*target)
		target = NULL;
	lock = calloc(1, sizeof *lock);
	dir = ops_path_join(state_dir, "locks");
	file = target ? lock_name(task, target) : strdup(task);
	if (!lock || !dir || !file || asprintf(&name, "%s.lock", file) < 0) {
		name = NULL;
		rc = ops_error_oom(err);
		goto out;
	}
	lock->fd = -1;
	lock->path = ops_path_join(dir, name);
	if (!lock->path) {
		rc = ops_error_oom(err);
		goto out;
	}
	rc = ops_mkdir_p(dir, 0755, err);
	if (rc != OPS_OK)
		goto out;
	lock->fd = open(lock->path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (lock->fd < 0) {
		rc = ops_error_errno(err, errno, "cannot open lock file", lock->path);
		goto out;
	}
	do
		r = flock(lock->fd, LOCK_EX | LOCK_NB);
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		e = errno;
		if (e != EWOULDBLOCK) {
			rc = ops_error_errno(err, e, "cannot lock", lock->path);
			goto out;
		}
		read_holder(lock->fd, holder, sizeof holder);
		if (target)
			rc = ops_error_set(err, OPS_ELOCKED, "task '%s' is already running on '%s' (%s)",
					   task, target, holder);
		else
			rc = ops_error_set(err, OPS_ELOCKED,
					   "task '%s' is already running (%s)", task, holder);
		ops_error_detail(err, "lock file '%s'", lock->path);
		ops_error_hint(err, "wait for it to finish, or check that pid");
		goto out;
	}
	len = snprintf(pidtext, sizeof pidtext, "%ld %lld\n", (long)getpid(),
		       (long long)time(NULL));
	if (ftruncate(lock->fd, 0) < 0) {
		rc = ops_error_errno(err, errno, "cannot write lock file", lock->path);
		goto out;
	}
	e = ops_write_all(lock->fd, pidtext, (size_t)len);
	if (e != 0) {
		rc = ops_error_errno(err, e, "cannot write lock file", lock->path);
		goto out;
	}
	*out = lock;
	lock = NULL;
out:
	lock_free(lock);
	free(dir);
	free(name);
	free(file);
	return rc;
}

void ops_lock_release(ops_lock *lock)
{
	if (!lock)
		return;
	/* Clear the pid while still holding the lock, so nobody reads ours. */
	if (lock->fd >= 0 && ftruncate(lock->fd, 0) < 0) {
		/* harmless: the next holder truncates before writing its pid */
	}
	lock_free(lock);
}
