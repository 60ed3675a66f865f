/*
 * lock: one holder per task; a second run (another process, or another open
 * in this one) gets OPS_ELOCKED naming the holder's pid; the kernel frees the
 * lock when the holder exits, even without a release; names that could
 * escape the locks directory are refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "opsmaint/lock.h"
#include "unit.h"

static char *tmp;

TEST(acquire_writes_pid_and_release_allows_again)
{
	ops_lock *a = NULL, *b = NULL;
	ops_error err;
	char path[4200], buf[64] = {0}, want[64];
	struct stat st;
	FILE *f;

	ops_error_clear(&err);
	CHECK_INT(ops_lock_acquire(tmp, "db_maintain", &a, &err), OPS_OK);
	CHECK(a != NULL);
	snprintf(path, sizeof path, "%s/locks/db_maintain.lock", tmp);
	CHECK(stat(path, &st) == 0);
	CHECK_INT(st.st_mode & 0777, 0644);
	f = fopen(path, "r");
	CHECK(f != NULL);
	if (f) {
		CHECK(fgets(buf, sizeof buf, f) != NULL);
		fclose(f);
	}
	/* "PID START\n": the start tells a stuck run from a long one. */
	{
		long pid = 0;
		long long start = 0;

		CHECK_INT(sscanf(buf, "%ld %lld", &pid, &start), 2);
		CHECK(pid == (long)getpid());
		CHECK(start > 0 && llabs(start - (long long)time(NULL)) < 60);
	}

	/* flock locks belong to the open file: a second open conflicts even here. */
	CHECK_INT(ops_lock_acquire(tmp, "db_maintain", &b, &err), OPS_ELOCKED);
	CHECK(b == NULL);
	snprintf(want, sizeof want, "task 'db_maintain' is already running (pid %ld, since ",
		 (long)getpid());
	CHECK(strncmp(err.message, want, strlen(want)) == 0);
	CHECK_CONTAINS(err.message, "Z)");
	CHECK_STR(err.hint, "wait for it to finish, or check that pid");

	/* Different tasks do not block each other. */
	CHECK_INT(ops_lock_acquire(tmp, "backup", &b, &err), OPS_OK);
	ops_lock_release(b);
	b = NULL;

	ops_lock_release(a);
	ops_lock_release(NULL);
	CHECK_INT(ops_lock_acquire(tmp, "db_maintain", &b, &err), OPS_OK);
	ops_lock_release(b);
}

TEST(other_process_holds_lock_until_it_exits)
{
	int ready[2], go[2];
	ops_lock *l = NULL;
	ops_error err;
	char want[128], c = 0;
	pid_t pid;
	int status;

	CHECK(pipe(ready) == 0 && pipe(go) == 0);
	pid = fork();
	if (pid == 0) {
		ops_lock *held = NULL;
		ops_error cerr;

		close(ready[0]);
		close(go[1]);
		if (ops_lock_acquire(tmp, "vector_rebuild", &held, &cerr) != OPS_OK)
			_exit(1);
		if (write(ready[1], "r", 1) != 1)
			_exit(2);
		/* Wait for the parent, then die without releasing. */
		if (read(go[0], &c, 1) < 0)
			_exit(3);
		_exit(0);
	}
	CHECK(pid > 0);
	close(ready[1]);
	close(go[0]);
	CHECK_INT(read(ready[0], &c, 1), 1);

	CHECK_INT(ops_lock_acquire(tmp, "vector_rebuild", &l, &err), OPS_ELOCKED);
	CHECK(l == NULL);
	CHECK_INT(err.code, OPS_ELOCKED);
	snprintf(want, sizeof want,
		 "task 'vector_rebuild' is already running (pid %ld, since ", (long)pid);
	CHECK(strncmp(err.message, want, strlen(want)) == 0);
	CHECK_INT(ops_code_exit_status(err.code), 75);

	CHECK_INT(write(go[1], "g", 1), 1);
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(ready[0]);
	close(go[1]);

	CHECK_INT(ops_lock_acquire(tmp, "vector_rebuild", &l, &err), OPS_OK);
	ops_lock_release(l);
}

TEST(unknown_pid_when_holder_has_not_written_it)
{
	ops_lock *a = NULL, *b = NULL;
	ops_error err;
	char path[4200];
	int fd;

	CHECK_INT(ops_lock_acquire(tmp, "cleanup_logs", &a, &err), OPS_OK);
	/* Simulate the instant between flock and the pid write. */
	snprintf(path, sizeof path, "%s/locks/cleanup_logs.lock", tmp);
	fd = open(path, O_WRONLY | O_TRUNC);
	CHECK(fd >= 0);
	close(fd);
	CHECK_INT(ops_lock_acquire(tmp, "cleanup_logs", &b, &err), OPS_ELOCKED);
	CHECK_STR(err.message, "task 'cleanup_logs' is already running (unknown pid)");
	ops_lock_release(a);
}

TEST(bad_task_names_refused)
{
	ops_lock *l = (ops_lock *)1;
	ops_error err;
	char path[4200];

	CHECK_INT(ops_lock_acquire(tmp, "../escape", &l, &err), OPS_EUSAGE);
	CHECK(l == NULL);
	CHECK_CONTAINS(err.message, "bad task name '../escape'");
	CHECK_INT(ops_lock_acquire(tmp, "", &l, &err), OPS_EUSAGE);
	CHECK_INT(ops_lock_acquire(tmp, "db maintain", &l, &err), OPS_EUSAGE);
	CHECK_INT(ops_lock_acquire(tmp, "a/b", &l, &err), OPS_EUSAGE);
	CHECK_INT(ops_lock_acquire(tmp, "ok-name.v2_x", &l, &err), OPS_OK);
	ops_lock_release(l);
	snprintf(path, sizeof path, "%s/escape.lock", tmp);
	CHECK(access(path, F_OK) != 0);
}

TEST(state_dir_errors)
{
	ops_lock *l = NULL;
	ops_error err;
	char path[4200];
	FILE *f;

	snprintf(path, sizeof path, "%s/afile", tmp);
	f = fopen(path, "w");
	if (f)
		fclose(f);
	CHECK_INT(ops_lock_acquire(path, "t", &l, &err), OPS_EIO);
	CHECK(l == NULL);
	CHECK_CONTAINS(err.message, "cannot create directory '");
	/* A symlink planted as the lock file is not followed. */
	snprintf(path, sizeof path, "%s/locks/planted.lock", tmp);
	CHECK(symlink("/etc/passwd", path) == 0);
	CHECK_INT(ops_lock_acquire(tmp, "planted", &l, &err), OPS_EIO);
	CHECK_CONTAINS(err.message, "cannot open lock file '");
	CHECK(l == NULL);
}

/* Per target: another database's run is not blocked, the same one's is, and
 * targets that would share a file name after quoting get their own lock. */
TEST(locks_are_per_target)
{
	ops_lock *a = NULL, *b = NULL, *c = NULL, *d = NULL, *e = NULL;
	ops_error err;
	char path[4200];
	struct stat st;

	ops_error_clear(&err);
	CHECK_INT(ops_lock_acquire_target(tmp, "db_maintain", "chatbot_db", &a, &err), OPS_OK);
	snprintf(path, sizeof path, "%s/locks/db_maintain@chatbot_db.lock", tmp);
	CHECK(stat(path, &st) == 0);
	CHECK_INT(ops_lock_acquire_target(tmp, "db_maintain", "analytics_db", &b, &err), OPS_OK);
	CHECK_INT(ops_lock_acquire_target(tmp, "db_maintain", "chatbot_db", &c, &err),
		  OPS_ELOCKED);
	CHECK_CONTAINS(err.message, "task 'db_maintain' is already running on 'chatbot_db' (pid ");
	CHECK(c == NULL);
	/* The whole task's lock is a different file from any target's. */
	CHECK_INT(ops_lock_acquire(tmp, "db_maintain", &c, &err), OPS_OK);
	ops_lock_release(c);
	c = NULL;
	/* '/' and '_' would both read '_': the digest keeps them apart. */
	CHECK_INT(ops_lock_acquire_target(tmp, "backup", "sqlite:/srv/a/b.db", &c, &err), OPS_OK);
	CHECK_INT(ops_lock_acquire_target(tmp, "backup", "sqlite:/srv/a_b.db", &d, &err), OPS_OK);
	ops_lock_release(d);
	d = NULL;
	/* Long paths that differ only past the kept prefix: two locks. */
	{
		char longt[600];

		memset(longt, 'x', sizeof longt - 1);
		longt[sizeof longt - 1] = '\0';
		CHECK_INT(ops_lock_acquire_target(tmp, "backup", longt, &d, &err), OPS_OK);
		longt[500] = 'y';
		CHECK_INT(ops_lock_acquire_target(tmp, "backup", longt, &e, &err), OPS_OK);
	}
	ops_lock_release(a);
	ops_lock_release(b);
	ops_lock_release(c);
	ops_lock_release(d);
	ops_lock_release(e);
}

int main(void)
{
	umask(022);
	tmp = unit_tmpdir();
	if (!tmp)
		return 1;
	RUN(acquire_writes_pid_and_release_allows_again);
	RUN(other_process_holds_lock_until_it_exits);
	RUN(unknown_pid_when_holder_has_not_written_it);
	RUN(bad_task_names_refused);
	RUN(state_dir_errors);
	RUN(locks_are_per_target);
	unit_rmrf(tmp);
	free(tmp);
	return unit_done();
}
