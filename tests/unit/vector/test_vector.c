/*
 * The vector helpers that need no FAISS and no database: the exact-type
 * test, the id
 * buffer, the manifest copy beside another index, the sweep of temps a
 * killed run left, and the streamed SHA-256 stopping on cancellation.
 * Index files themselves are t400-t430's.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "opsmaint/cancel.h"
#include "opsmaint/log.h"
#include "vector/vector_internal.h"
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

static void put(const char *path, const char *text, time_t mtime)
{
	FILE *f = fopen(path, "w");
	struct timespec ts[2];

	if (!f)
		return;
	fputs(text, f);
	fclose(f);
	if (mtime) {
		ts[0].tv_sec = ts[1].tv_sec = mtime;
		ts[0].tv_nsec = ts[1].tv_nsec = 0;
		utimensat(AT_FDCWD, path, ts, 0);
	}
}

static pid_t dead_pid(void)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	return pid;
}

TEST(is_exact)
{
	CHECK_INT(vx_is_exact("IDMap,Flat"), 1);
	CHECK_INT(vx_is_exact("Flat"), 1);
	CHECK_INT(vx_is_exact("IVF1024,Flat"), 0);
	CHECK_INT(vx_is_exact("IDMap,IVF16"), 0);
	CHECK_INT(vx_is_exact("IVF16,PQ8"), 0);
	CHECK_INT(vx_is_exact("IDMap,HNSW32"), 0);
	CHECK_INT(vx_is_exact("IDMap,other (graph or quantizer)"), 0);
}

TEST(ids_reserve)
{
	long long *ids = NULL;
	size_t cap = 0, used = 0;

	CHECK_INT(vx_ids_reserve(&ids, used, 10, &cap), 0);
	CHECK(ids != NULL && cap >= 10);
	used = cap;
	CHECK_INT(vx_ids_reserve(&ids, used, 1, &cap), 0);
	CHECK(cap >= used + 1);
	ids[used] = 7;	/* ASan: the new room is there */
	free(ids);
}

TEST(manifest_copy)
{
	ops_error err;
	struct stat st;
	char *text = NULL;
	FILE *f;
	size_t n = 0;

	put(p("a.faiss"), "index", 0);
	put(p("a.faiss.manifest.json"), "{\"sha256\": \"x\"}\n", 0);
	put(p("b.faiss"), "copy", 0);
	CHECK_INT(vidx_manifest_copy(p("a.faiss"), p("b.faiss"), &err), OPS_OK);
	f = fopen(p("b.faiss.manifest.json"), "r");
	CHECK(f != NULL);
	if (f) {
		CHECK(getline(&text, &n, f) > 0);
		CHECK_STR(text, "{\"sha256\": \"x\"}\n");
		fclose(f);
	}
	free(text);
	CHECK(stat(p("b.faiss.manifest.json"), &st) == 0 && (st.st_mode & 0777) == 0600);
	/* From an index without one: the stale manifest at to goes. */
	put(p("c.faiss"), "no manifest", 0);
	CHECK_INT(vidx_manifest_copy(p("c.faiss"), p("b.faiss"), &err), OPS_OK);
	CHECK(access(p("b.faiss.manifest.json"), F_OK) != 0 && errno == ENOENT);
	CHECK_INT(vidx_manifest_copy(p("c.faiss"), p("b.faiss"), &err), OPS_OK);
}

TEST(sweep_temps)
{
	time_t old = time(NULL) - 120;
	long dead = (long)dead_pid(), self = (long)getpid();
	char name[256];

	CHECK(dead > 0);
	CHECK(mkdir(p("idx"), 0755) == 0);
	put(p("idx/index.faiss"), "live", 0);
	put(p("idx/index.faiss.manifest.json"), "{}", 0);
#define AT(fmt, pid) (snprintf(name, sizeof name, "idx/" fmt, pid), p(name))
	put(AT("index.faiss.tmp.%ld", dead), "x", old);
	put(AT("index.faiss.manifest.json.tmp.%ld.0a1b2c3d", dead), "x", old);
	put(AT("index.faiss.cache.faiss.tmp.%ld", dead), "x", old);
	put(AT("index.faiss.tmp.%ld", self), "x", old);	/* a live writer */
	put(AT("other.faiss.tmp.%ld", dead), "x", old);	/* another index's */
	put(AT("index.faissx.tmp.%ld", dead), "x", old);	/* not this name */
	CHECK(mkdir(AT("index.faiss.tmp.%ld.d", dead), 0755) == 0);	/* no file */
	vidx_sweep_temps(p("idx/index.faiss"));
	CHECK(access(AT("index.faiss.tmp.%ld", dead), F_OK) != 0);
	CHECK(access(AT("index.faiss.manifest.json.tmp.%ld.0a1b2c3d", dead), F_OK) != 0);
	CHECK(access(AT("index.faiss.cache.faiss.tmp.%ld", dead), F_OK) != 0);
	CHECK(access(AT("index.faiss.tmp.%ld", self), F_OK) == 0);
	CHECK(access(AT("other.faiss.tmp.%ld", dead), F_OK) == 0);
	CHECK(access(AT("index.faissx.tmp.%ld", dead), F_OK) == 0);
	CHECK(access(AT("index.faiss.tmp.%ld.d", dead), F_OK) == 0);
	CHECK(access(p("idx/index.faiss"), F_OK) == 0);
	CHECK(access(p("idx/index.faiss.manifest.json"), F_OK) == 0);
#undef AT
	/* A directory that is not there: nothing to do, nothing to fail. */
	vidx_sweep_temps(p("nowhere/index.faiss"));
}

TEST(file_sha256_stops_when_cancelled)
{
	char sha[65];
	long long size = 0;
	ops_error err;

	put(p("abc"), "abc", 0);
	CHECK_INT(vidx_file_sha256(p("abc"), sha, &size, &err), OPS_OK);
	CHECK_STR(sha, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	CHECK_INT(size, 3);
	ops_cancel_request(SIGTERM);
	CHECK_INT(vidx_file_sha256(p("abc"), sha, &size, &err), OPS_EINTR);
	CHECK_STR(err.message, "interrupted by SIGTERM");
	ops_cancel_reset();
	CHECK_INT(vidx_file_sha256(p("abc"), sha, &size, &err), OPS_OK);
}

int main(void)
{
	umask(022);
	ops_log_set_level(OPS_LOG_ERROR);
	tmp = unit_tmpdir();
	if (!tmp) {
		fprintf(stderr, "cannot create a temporary directory\n");
		return 1;
	}
	RUN(is_exact);
	RUN(ids_reserve);
	RUN(manifest_copy);
	RUN(sweep_temps);
	RUN(file_sha256_stops_when_cancelled);
	unit_rmrf(tmp);
	free(tmp);
	return unit_done();
}
