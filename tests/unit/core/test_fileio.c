/*
 * fileio: atomic writes leave either the old or the new file and no temp
 * behind; errors map to the documented codes and name the path; mkdir -p,
 * capped reads, path joining and the protected-path check (symlinks and ".."
 * included).  Tests run as root in CI, so permission errors are provoked
 * with ENOTDIR/ENOENT/EISDIR rather than modes.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "opsmaint/fileio.h"
#include "unit.h"

static char *tmp;

static char *p(const char *name)
{
	static char buf[8][4096];
	static int i;

	i = (i + 1) % 8;
	snprintf(buf[i], sizeof buf[i], "%s/%s", tmp, name);
	return buf[i];
}

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return;
	fputs(text, f);
	fclose(f);
}

static char *slurp(const char *path)
{
	static char buf[4096];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

/* Number of entries in dir whose name starts with prefix. */
static int count_prefix(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (strncmp(e->d_name, prefix, strlen(prefix)) == 0)
			n++;
	closedir(d);
	return n;
}

TEST(write_atomic_creates_file_with_mode)
{
	ops_error err;
	struct stat st;

	ops_error_clear(&err);
	CHECK_INT(ops_write_file_atomic(p("a.txt"), "hello\n", 6, 0640, &err), OPS_OK);
	CHECK_STR(slurp(p("a.txt")), "hello\n");
	CHECK(stat(p("a.txt"), &st) == 0);
	CHECK_INT(st.st_mode & 07777, 0640);
	CHECK_INT(count_prefix(tmp, "a.txt.tmp."), 0);
	/* Overwrite replaces the content entirely (shorter than before). */
	CHECK_INT(ops_write_file_atomic(p("a.txt"), "hi", 2, 0600, &err), OPS_OK);
	CHECK_STR(slurp(p("a.txt")), "hi");
	CHECK(stat(p("a.txt"), &st) == 0);
	CHECK_INT(st.st_mode & 07777, 0600);
	CHECK_INT(count_prefix(tmp, "a.txt"), 1);
}

TEST(afile_old_content_visible_until_commit)
{
	ops_afile *af = NULL;
	ops_error err;
	char expect[64];

	put(p("b.txt"), "old");
	CHECK_INT(ops_afile_open(p("b.txt"), 0644, &af, &err), OPS_OK);
	CHECK(af != NULL);
	if (!af)
		return;
	snprintf(expect, sizeof expect, "b.txt.tmp.%ld.", (long)getpid());
	CHECK(strncmp(ops_afile_temp_path(af), p(expect), strlen(p(expect))) == 0);
	CHECK(ops_afile_fd(af) >= 0);
	CHECK_INT(ops_afile_write(af, "new ", 4, &err), OPS_OK);
	CHECK_INT(ops_afile_write(af, "content", 7, &err), OPS_OK);
	CHECK_STR(slurp(p("b.txt")), "old");
	CHECK_INT(count_prefix(tmp, expect), 1);
	CHECK_INT(ops_afile_commit(af, &err), OPS_OK);
	CHECK_STR(slurp(p("b.txt")), "new content");
	CHECK_INT(count_prefix(tmp, "b.txt.tmp."), 0);
}

TEST(afile_abort_removes_temp)
{
	ops_afile *af = NULL;
	ops_error err;

	put(p("c.txt"), "keep");
	CHECK_INT(ops_afile_open(p("c.txt"), 0644, &af, &err), OPS_OK);
	CHECK_INT(ops_afile_write(af, "junk", 4, &err), OPS_OK);
	CHECK(access(ops_afile_temp_path(af), F_OK) == 0);
	ops_afile_abort(af);
	ops_afile_abort(NULL);
	CHECK_STR(slurp(p("c.txt")), "keep");
	CHECK_INT(count_prefix(tmp, "c.txt.tmp."), 0);
	/* Aborting a file that never existed leaves nothing. */
	CHECK_INT(ops_afile_open(p("never.txt"), 0644, &af, &err), OPS_OK);
	ops_afile_abort(af);
	CHECK(access(p("never.txt"), F_OK) != 0);
	CHECK_INT(count_prefix(tmp, "never.txt"), 0);
}

TEST(afile_open_errors_name_the_temp_path)
{
	ops_afile *af = (ops_afile *)1;
	ops_error err;

	put(p("plain"), "x");
	CHECK_INT(ops_afile_open(p("missing/dir/f"), 0644, &af, &err), OPS_EIO);
	CHECK(af == NULL);
	CHECK_INT(err.code, OPS_EIO);
	CHECK_CONTAINS(err.message, "cannot create '");
	CHECK_CONTAINS(err.message, p("missing/dir/f.tmp."));
	CHECK_CONTAINS(err.message, "No such file or directory");
	CHECK_INT(ops_write_file_atomic(p("plain/f"), "x", 1, 0644, &err), OPS_EIO);
	CHECK_CONTAINS(err.message, "Not a directory");
	CHECK(strchr(err.message, '\n') == NULL);
}

TEST(afile_write_full_disk_is_eio_and_abort_cleans)
{
	ops_afile *af = NULL;
	ops_error err;
	int full = open("/dev/full", O_WRONLY | O_CLOEXEC);

	CHECK(full >= 0);
	if (full < 0)
		return;
	CHECK_INT(ops_afile_open(p("d.txt"), 0644, &af, &err), OPS_OK);
	/* Put /dev/full behind the temp's descriptor: every write gets ENOSPC. */
	CHECK(dup2(full, ops_afile_fd(af)) >= 0);
	close(full);
	CHECK_INT(ops_afile_write(af, "abc", 3, &err), OPS_EIO);
	CHECK_CONTAINS(err.message, "cannot write '");
	CHECK_CONTAINS(err.message, "No space left on device");
	ops_afile_abort(af);
	CHECK_INT(count_prefix(tmp, "d.txt"), 0);
}

TEST(write_all_reports_errno)
{
	int full = open("/dev/full", O_WRONLY | O_CLOEXEC);
	int fds[2];
	char buf[16] = {0};

	CHECK_INT(ops_write_all(full, "x", 1), ENOSPC);
	close(full);
	CHECK_INT(ops_write_all(-1, "x", 1), EBADF);
	CHECK(pipe(fds) == 0);
	CHECK_INT(ops_write_all(fds[1], "abc", 3), 0);
	CHECK_INT(ops_write_all(fds[1], "", 0), 0);
	CHECK_INT(read(fds[0], buf, sizeof buf), 3);
	CHECK_STR(buf, "abc");
	close(fds[0]);
	close(fds[1]);
}

TEST(commit_failure_removes_temp_and_keeps_target)
{
	ops_afile *af = NULL;
	ops_error err;

	/* rename(2) of a file over a non-empty directory fails. */
	CHECK(mkdir(p("isdir"), 0755) == 0);
	put(p("isdir/inside"), "x");
	CHECK_INT(ops_afile_open(p("isdir"), 0644, &af, &err), OPS_OK);
	CHECK_INT(ops_afile_write(af, "data", 4, &err), OPS_OK);
	CHECK_INT(ops_afile_commit(af, &err), OPS_EIO);
	CHECK_CONTAINS(err.message, "cannot rename into place '");
	CHECK_CONTAINS(err.message, p("isdir"));
	CHECK_INT(count_prefix(tmp, "isdir.tmp."), 0);
	CHECK_STR(slurp(p("isdir/inside")), "x");
}

TEST(fsync_dir)
{
	ops_error err;

	CHECK_INT(ops_fsync_dir(tmp, &err), OPS_OK);
	CHECK_INT(ops_fsync_dir(p("nope"), &err), OPS_EIO);
	CHECK_CONTAINS(err.message, "cannot open directory '");
}

TEST(mkdir_p)
{
	ops_error err;
	struct stat st;

	CHECK_INT(ops_mkdir_p(p("m/a/b/c"), 0750, &err), OPS_OK);
	CHECK(stat(p("m/a/b/c"), &st) == 0 && S_ISDIR(st.st_mode));
	CHECK_INT(st.st_mode & 07777, 0750);
	CHECK_INT(ops_mkdir_p(p("m/a/b/c"), 0750, &err), OPS_OK);	/* exists */
	CHECK_INT(ops_mkdir_p(p("m//x///y/"), 0755, &err), OPS_OK);
	CHECK(stat(p("m/x/y"), &st) == 0 && S_ISDIR(st.st_mode));
	CHECK_INT(ops_mkdir_p("/", 0755, &err), OPS_OK);
	put(p("m/file"), "x");
	CHECK_INT(ops_mkdir_p(p("m/file/sub"), 0755, &err), OPS_EIO);
	CHECK_CONTAINS(err.message, "cannot create directory '");
	CHECK_CONTAINS(err.message, "Not a directory");
	CHECK_INT(ops_mkdir_p(p("m/file"), 0755, &err), OPS_EIO);
	CHECK_CONTAINS(err.message, p("m/file"));
	CHECK_INT(ops_mkdir_p("", 0755, &err), OPS_EINTERNAL);
	/* A relative path works from the current directory. */
	{
		char cwd[PATH_MAX];

		CHECK(getcwd(cwd, sizeof cwd) != NULL);
		CHECK(chdir(tmp) == 0);
		CHECK_INT(ops_mkdir_p("rel/one", 0755, &err), OPS_OK);
		CHECK(chdir(cwd) == 0);
		CHECK(stat(p("rel/one"), &st) == 0 && S_ISDIR(st.st_mode));
	}
}

TEST(read_file)
{
	ops_error err;
	char *buf = NULL;
	size_t len = 99;

	put(p("r.txt"), "abcd");
	CHECK_INT(ops_read_file(p("r.txt"), 100, &buf, &len, &err), OPS_OK);
	CHECK_STR(buf, "abcd");
	CHECK_INT(len, 4);
	free(buf);
	/* Exactly max is fine; one byte more is not. */
	CHECK_INT(ops_read_file(p("r.txt"), 4, &buf, &len, &err), OPS_OK);
	CHECK_STR(buf, "abcd");
	free(buf);
	CHECK_INT(ops_read_file(p("r.txt"), 3, &buf, &len, &err), OPS_EDATA);
	CHECK(buf == NULL);
	{
		char msg[4200];

		snprintf(msg, sizeof msg, "file '%s' is larger than 3 bytes", p("r.txt"));
		CHECK_STR(err.message, msg);
	}
	put(p("empty"), "");
	CHECK_INT(ops_read_file(p("empty"), 0, &buf, NULL, &err), OPS_OK);
	CHECK_STR(buf, "");
	free(buf);
	CHECK_INT(ops_read_file(p("absent"), 10, &buf, &len, &err), OPS_EIO);
	CHECK_CONTAINS(err.message, "cannot open '");
	CHECK_CONTAINS(err.message, "No such file or directory");
	CHECK_INT(ops_read_file(tmp, 10, &buf, &len, &err), OPS_EIO);
	CHECK_CONTAINS(err.message, "Is a directory");
	/* Files whose stat size is 0 (procfs) are read to EOF, cap enforced. */
	CHECK_INT(ops_read_file("/proc/self/status", 1 << 20, &buf, &len, &err), OPS_OK);
	CHECK(len > 10 && strstr(buf, "Pid:") != NULL && strlen(buf) == len);
	free(buf);
	CHECK_INT(ops_read_file("/proc/self/status", 10, &buf, &len, &err), OPS_EDATA);
	CHECK(buf == NULL);
}

TEST(read_file_grows_buffer_past_4k)
{
	ops_error err;
	char *big = malloc(100001), *buf = NULL;
	size_t len = 0, i;

	if (!big)
		return;
	for (i = 0; i < 100000; i++)
		big[i] = (char)('a' + i % 26);
	big[100000] = '\0';
	CHECK_INT(ops_write_file_atomic(p("big"), big, 100000, 0644, &err), OPS_OK);
	CHECK_INT(ops_read_file(p("big"), 100000, &buf, &len, &err), OPS_OK);
	CHECK_INT(len, 100000);
	CHECK(buf && memcmp(buf, big, 100000) == 0 && buf[100000] == '\0');
	free(buf);
	free(big);
}

TEST(path_join)
{
	char *s;

	s = ops_path_join("a", "b");
	CHECK_STR(s, "a/b");
	free(s);
	s = ops_path_join("/var/lib/opsctl/", "locks");
	CHECK_STR(s, "/var/lib/opsctl/locks");
	free(s);
	s = ops_path_join("/", "etc");
	CHECK_STR(s, "/etc");
	free(s);
	s = ops_path_join("", "x");
	CHECK_STR(s, "x");
	free(s);
	s = ops_path_join("a//", "/b/c");
	CHECK_STR(s, "a/b/c");
	free(s);
}

TEST(path_is_protected)
{
	char data[4200], other[4200];
	char *prot[] = {data, NULL};
	char *none[] = {NULL};
	char *root[] = {"/", NULL};
	char cwd[PATH_MAX];

	CHECK(mkdir(p("data"), 0755) == 0);
	CHECK(mkdir(p("data/sub"), 0755) == 0);
	CHECK(mkdir(p("database"), 0755) == 0);
	CHECK(mkdir(p("other"), 0755) == 0);
	CHECK(symlink(p("data"), p("link")) == 0);
	CHECK(symlink(p("data/sub"), p("other/sneaky")) == 0);
	snprintf(data, sizeof data, "%s/", p("data"));	/* trailing slash too */
	snprintf(other, sizeof other, "%s", p("other"));

	CHECK_INT(ops_path_is_protected(p("data"), prot), 1);
	CHECK_INT(ops_path_is_protected(p("data/sub"), prot), 1);
	CHECK_INT(ops_path_is_protected(p("data/missing/deeper"), prot), 1);
	CHECK_INT(ops_path_is_protected(p("database"), prot), 0);
	CHECK_INT(ops_path_is_protected(p("database/x"), prot), 0);
	CHECK_INT(ops_path_is_protected(p("other"), prot), 0);
	/* Symlinks and ".." cannot sidestep the check. */
	CHECK_INT(ops_path_is_protected(p("link"), prot), 1);
	CHECK_INT(ops_path_is_protected(p("link/newfile"), prot), 1);
	CHECK_INT(ops_path_is_protected(p("other/sneaky"), prot), 1);
	CHECK_INT(ops_path_is_protected(p("other/../data/sub"), prot), 1);
	CHECK_INT(ops_path_is_protected(p("data/sub/../../other"), prot), 0);
	CHECK_INT(ops_path_is_protected(p("nothere/../data"), prot), 1);
	CHECK_INT(ops_path_is_protected(p("data/nothere/../../other"), prot), 0);
	CHECK_INT(ops_path_is_protected(p("./data/./sub"), prot), 1);
	/* Relative paths resolve against the current directory. */
	CHECK(getcwd(cwd, sizeof cwd) != NULL);
	CHECK(chdir(tmp) == 0);
	CHECK_INT(ops_path_is_protected("data/sub", prot), 1);
	CHECK_INT(ops_path_is_protected("other", prot), 0);
	CHECK(chdir(cwd) == 0);
	/* A protected path that does not exist yet still protects its subtree. */
	{
		char *future[] = {p("future"), NULL};

		CHECK_INT(ops_path_is_protected(p("future/x"), future), 1);
		CHECK_INT(ops_path_is_protected(p("futures"), future), 0);
	}
	CHECK_INT(ops_path_is_protected(p("data"), none), 0);
	CHECK_INT(ops_path_is_protected(p("data"), NULL), 0);
	CHECK_INT(ops_path_is_protected(other, root), 1);
}

/* One name for a directory however it was typed: the journal's target and
 * the lock of `cleanup -p` are keyed by it. */
TEST(path_resolve)
{
	char real[PATH_MAX], want[PATH_MAX + 16], out[PATH_MAX], cwd[PATH_MAX], small[8];

	CHECK(realpath(tmp, real) != NULL);
	CHECK(mkdir(p("r"), 0755) == 0);
	CHECK(mkdir(p("r/logs"), 0755) == 0);
	CHECK(symlink(p("r/logs"), p("r/via")) == 0);
	snprintf(want, sizeof want, "%s/r/logs", real);
	CHECK_INT(ops_path_resolve(p("r/logs"), out, sizeof out), 0);
	CHECK_STR(out, want);
	CHECK_INT(ops_path_resolve(p("r/./logs/"), out, sizeof out), 0);
	CHECK_STR(out, want);
	CHECK_INT(ops_path_resolve(p("r/via"), out, sizeof out), 0);
	CHECK_STR(out, want);
	CHECK(getcwd(cwd, sizeof cwd) != NULL);
	CHECK(chdir(p("r")) == 0);
	CHECK_INT(ops_path_resolve("logs", out, sizeof out), 0);
	CHECK_STR(out, want);
	CHECK_INT(ops_path_resolve("./via/../logs", out, sizeof out), 0);
	CHECK_STR(out, want);
	/* A missing tail is appended, "." and ".." taken lexically. */
	snprintf(want, sizeof want, "%s/r/logs/new", real);
	CHECK_INT(ops_path_resolve("nothere/../logs/./new", out, sizeof out), 0);
	CHECK_STR(out, want);
	CHECK(chdir(cwd) == 0);
	CHECK_INT(ops_path_resolve("/", out, sizeof out), 0);
	CHECK_STR(out, "/");
	CHECK_INT(ops_path_resolve(p("r/logs"), small, sizeof small), -1);
}

/* A pid that ran and is gone: a child that has exited and been reaped. */
static pid_t dead_pid(void)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	return pid;
}

TEST(temp_orphaned)
{
	time_t old = time(NULL) - 120, fresh = time(NULL);
	pid_t gone = dead_pid();
	char name[128];

	CHECK(gone > 0);
	snprintf(name, sizeof name, "index.faiss.tmp.%ld", (long)gone);
	CHECK_INT(ops_temp_orphaned(name, old), 1);
	/* A writer on another host keeps its file fresh while it writes. */
	CHECK_INT(ops_temp_orphaned(name, fresh), 0);
	snprintf(name, sizeof name, "index.faiss.manifest.json.tmp.%ld.0a1b2c3d", (long)gone);
	CHECK_INT(ops_temp_orphaned(name, old), 1);
	/* NAME may itself hold ".tmp.": the last one is the writer's. */
	snprintf(name, sizeof name, "x.tmp.1.tmp.%ld", (long)gone);
	CHECK_INT(ops_temp_orphaned(name, old), 1);
	snprintf(name, sizeof name, "index.faiss.tmp.%ld", (long)getpid());
	CHECK_INT(ops_temp_orphaned(name, old), 0);
	CHECK_INT(ops_temp_orphaned("index.faiss.tmp.1", old), 0);	/* init runs */
	CHECK_INT(ops_temp_orphaned("index.faiss", old), 0);
	CHECK_INT(ops_temp_orphaned("index.faiss.tmp.", old), 0);
	CHECK_INT(ops_temp_orphaned("index.faiss.tmp.x99", old), 0);
	CHECK_INT(ops_temp_orphaned("index.faiss.tmp.0", old), 0);
	CHECK_INT(ops_temp_orphaned("index.faiss.tmp.99x", old), 0);
	CHECK_INT(ops_temp_orphaned("index.faiss.tmp.99999999999999999999", old), 0);
}

int main(void)
{
	umask(022);
	tmp = unit_tmpdir();
	if (!tmp) {
		fprintf(stderr, "cannot create a temporary directory\n");
		return 1;
	}
	RUN(write_atomic_creates_file_with_mode);
	RUN(afile_old_content_visible_until_commit);
	RUN(afile_abort_removes_temp);
	RUN(afile_open_errors_name_the_temp_path);
	RUN(afile_write_full_disk_is_eio_and_abort_cleans);
	RUN(write_all_reports_errno);
	RUN(commit_failure_removes_temp_and_keeps_target);
	RUN(fsync_dir);
	RUN(mkdir_p);
	RUN(read_file);
	RUN(read_file_grows_buffer_past_4k);
	RUN(path_join);
	RUN(path_is_protected);
	RUN(path_resolve);
	RUN(temp_orphaned);
	unit_rmrf(tmp);
	free(tmp);
	return unit_done();
}
