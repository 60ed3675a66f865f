/*
 * The vector helpers that need no FAISS and no database: the reservoir
 * sample's init/add/release (and that it picks what verify's own loop used
 * to pick, so verify's sample did not change), the exact-type test, the id
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

TEST(sample_init_add_release)
{
	struct vx_sample s = VX_SAMPLE_INIT;
	float v[2] = {1, 2};
	long long i;

	vx_sample_init(&s, 3, 1);
	for (i = 0; i < 10; i++) {
		v[0] = (float)i;
		CHECK_INT(vx_sample_add(&s, i, v, 2), 0);
	}
	CHECK_INT(s.n, 3);
	CHECK_INT(s.seen, 10);
	CHECK_INT(s.d, 2);
	for (i = 0; i < (long long)s.n; i++)	/* each vector stayed with its id */
		CHECK_INT((long long)s.x[i * 2], s.ids[i]);
	vx_sample_release(&s);
	CHECK(s.ids == NULL && s.x == NULL);
	CHECK_INT(s.n, 0);
	CHECK_INT(s.cap, 0);
	vx_sample_release(&s);	/* twice is safe */
	/* Added to after a release: counted, nothing kept, nothing leaked. */
	CHECK_INT(vx_sample_add(&s, 1, v, 2), 0);
	CHECK(s.ids == NULL);
	CHECK_INT(s.n, 0);
}

TEST(sample_of_ids_only_is_uniform)
{
	struct vx_sample s;
	double sum = 0;
	size_t i, j;
	int dup = 0;

	vx_sample_init(&s, 100, 5);
	for (i = 0; i < 10000; i++)
		CHECK_INT(vx_sample_add(&s, (long long)i, NULL, 0), 0);
	CHECK(s.x == NULL);
	CHECK_INT(s.n, 100);
	for (i = 0; i < s.n; i++) {
		sum += (double)s.ids[i];
		for (j = 0; j < i; j++)
			dup += s.ids[i] == s.ids[j];
	}
	CHECK_INT(dup, 0);
	/* The mean of 100 of 0..9999 drawn uniformly: 4999.5, sd about 289. */
	CHECK(sum / 100 > 4000 && sum / 100 < 6000);
	vx_sample_release(&s);
}

/* verify's id sample was an inline reservoir over the same generator; the
 * sample through vx_sample_add must be the very same ids. */
TEST(sample_matches_verify_inline_reservoir)
{
	unsigned long long rng = 42;
	long long pick[50];
	size_t want = 50, ns = 0, nsrc = 0, i;
	struct vx_sample s;

	vx_sample_init(&s, want, 42);
	for (i = 0; i < 5000; i++) {
		long long id = (long long)(i * 7 + 3);

		nsrc++;
		if (ns < want) {
			pick[ns++] = id;
		} else {
			unsigned long long r = vx_next_rand(&rng) % (unsigned long long)nsrc;

			if (r < want)
				pick[r] = id;
		}
		CHECK_INT(vx_sample_add(&s, id, NULL, 0), 0);
	}
	CHECK_INT(s.n, ns);
	CHECK(memcmp(pick, s.ids, sizeof pick) == 0);
	vx_sample_release(&s);
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

/* Recall queries are the sample moved, not the stored vectors (an IVF
 * index always finds those): each differs from its vector, stays nearer
 * to it than to the others, keeps its id, is the same on every run, and
 * lies on the unit sphere when the sample does. */
TEST(noisy_queries)
{
	struct vx_sample s = VX_SAMPLE_INIT, q = VX_SAMPLE_INIT, q2 = VX_SAMPLE_INIT;
	unsigned long long rng = 3;
	float v[16];
	ops_error err = {0};
	size_t i, j, k, nearest_self = 0;
	int unit, pass;

	for (pass = 0; pass < 2; pass++) {
		unit = pass == 1;
		vx_sample_init(&s, 50, 1);
		for (i = 0; i < 50; i++) {
			double norm = 0;

			for (j = 0; j < 16; j++) {
				v[j] = (float)(vx_next_rand(&rng) % 1000) / 1000.0f;
				norm += (double)v[j] * v[j];
			}
			for (j = 0; unit && j < 16; j++)
				v[j] = (float)(v[j] / sqrt(norm));
			CHECK_INT(vx_sample_add(&s, (long long)i + 100, v, 16), 0);
		}
		CHECK_INT(vx_noisy_queries(&s, &q, &err), OPS_OK);
		CHECK_INT(vx_noisy_queries(&s, &q2, &err), OPS_OK);
		CHECK_INT(q.n, 50);
		CHECK_INT(q.d, 16);
		CHECK(memcmp(q.x, q2.x, 50 * 16 * sizeof *q.x) == 0);
		nearest_self = 0;
		for (i = 0; i < q.n; i++) {
			double best = INFINITY, self = 0, norm = 0;
			size_t at = 0;

			CHECK_INT(q.ids[i], s.ids[i]);
			CHECK(memcmp(q.x + i * 16, s.x + i * 16, 16 * sizeof *q.x) != 0);
			for (k = 0; k < s.n; k++) {
				double dd = 0;

				for (j = 0; j < 16; j++) {
					double e = q.x[i * 16 + j] - s.x[k * 16 + j];

					dd += e * e;
				}
				if (k == i)
					self = dd;
				if (dd < best) {
					best = dd;
					at = k;
				}
			}
			CHECK(self > 0);
			nearest_self += at == i;
			for (j = 0; j < 16; j++)
				norm += (double)q.x[i * 16 + j] * q.x[i * 16 + j];
			if (unit)
				CHECK(fabs(sqrt(norm) - 1.0) < 1e-4);
		}
		/* near their vectors, most nearest of all to it */
		CHECK(nearest_self >= 25);
		vx_sample_release(&s);
		vx_sample_release(&q);
		vx_sample_release(&q2);
	}
	/* One vector: no spread to scale by, still moved. */
	vx_sample_init(&s, 1, 1);
	CHECK_INT(vx_sample_add(&s, 7, v, 16), 0);
	CHECK_INT(vx_noisy_queries(&s, &q, &err), OPS_OK);
	CHECK_INT(q.n, 1);
	CHECK(memcmp(q.x, s.x, 16 * sizeof *q.x) != 0);
	vx_sample_release(&s);
	vx_sample_release(&q);
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
	RUN(sample_init_add_release);
	RUN(sample_of_ids_only_is_uniform);
	RUN(sample_matches_verify_inline_reservoir);
	RUN(is_exact);
	RUN(ids_reserve);
	RUN(manifest_copy);
	RUN(sweep_temps);
	RUN(file_sha256_stops_when_cancelled);
	RUN(noisy_queries);
	unit_rmrf(tmp);
	free(tmp);
	return unit_done();
}
