/*
 * The index file and its manifest.  FAISS's reader trusts its input, so
 * whenever a manifest exists the file's SHA-256 is checked before FAISS sees
 * a byte.  Replacing the live index is a two-phase swap (vector_internal.h)
 * so that a crash at any point leaves a file its manifest accepts.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "opsmaint/cancel.h"
#include "opsmaint/clock.h"
#include "opsmaint/fileio.h"
#include "opsmaint/hash.h"
#include "opsmaint/json.h"
#include "opsmaint/log.h"
#include "vector/vector_internal.h"

#define MANIFEST_MAX (1u << 20)

char *vidx_manifest_path(const char *index_path)
{
	char *p = NULL;

	if (asprintf(&p, "%s.manifest.json", index_path) < 0)
		return NULL;
	return p;
}

/* Ids in ascending order (qsort); the index and the source agree on it. */
int vx_cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

/* The metric as manifests and reports name it. */
const char *vx_metric_name(FaissMetricType m)
{
	return m == METRIC_INNER_PRODUCT ? "ip" : m == METRIC_L2 ? "l2" : "other";
}

/* Unbuffered I/O moves an index to and from the disk without copying it
 * through the page cache, which costs about as much CPU as the build's
 * own copying (and where the file would only be dropped again); its
 * buffers and block lengths are aligned to this. */
#define DIRECT_ALIGN 4096
#define IO_BLOCK (4u << 20)

/* The SHA-256 (h) and CRC-32C (crc) of the file at path, either may be
 * NULL; direct: read past the page cache (from the disk, not from pages
 * that merely hold what was written), falling back to ordinary reads where
 * the file system has no O_DIRECT. */
static ops_code file_digest(const char *path, int direct, ops_sha256 *h, uint32_t *crc,
			    long long *size, ops_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | (direct ? O_DIRECT : 0));
	void *buf = NULL;
	ssize_t n = 0;
	long long total = 0;

	if (fd < 0 && direct && errno == EINVAL)
		fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ops_error_errno(err, errno, "cannot open index", path);
	if (posix_memalign(&buf, DIRECT_ALIGN, IO_BLOCK) != 0) {
		close(fd);
		return ops_error_oom(err);
	}
	while (!ops_cancelled()) {
		n = read(fd, buf, IO_BLOCK);
		if (n < 0 && errno == EINVAL && direct) {
			/* a file system that takes O_DIRECT at open, not at read */
			direct = 0;
			if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_DIRECT) == 0)
				continue;
		}
		if (n <= 0)
			break;
		if (h)
			ops_sha256_update(h, buf, (size_t)n);
		if (crc)
			*crc = ops_crc32c(*crc, buf, (size_t)n);
		total += n;
	}
	close(fd);
	free(buf);
	if (ops_cancelled())
		return ops_cancel_check(err);
	if (n < 0)
		return ops_error_errno(err, errno, "cannot read index", path);
	if (size)
		*size = total;
	return OPS_OK;
}

ops_code vidx_file_sha256(const char *path, char out[65], long long *size, ops_error *err)
{
	ops_sha256 *h = ops_sha256_new();
	ops_code rc;

	if (!h)
		return ops_error_oom(err);
	rc = file_digest(path, 0, h, NULL, size, err);
	if (rc == OPS_OK)
		ops_sha256_final_hex(h, out);
	ops_sha256_free(h);
	return rc;
}

ops_code vidx_read_manifest(const char *index_path, cJSON **out, ops_error *err)
{
	char *mpath = vidx_manifest_path(index_path), *text = NULL;
	size_t len = 0;
	ops_code rc;

	*out = NULL;
	if (!mpath)
		return ops_error_oom(err);
	if (access(mpath, F_OK) != 0) {
		free(mpath);
		return OPS_OK;
	}
	rc = ops_read_file(mpath, MANIFEST_MAX, &text, &len, err);
	if (rc == OPS_OK) {
		*out = cJSON_ParseWithLength(text, len);
		if (!cJSON_IsObject(*out) ||
		    !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(*out, "sha256"))) {
			cJSON_Delete(*out);
			*out = NULL;
			rc = ops_error_set(err, OPS_EDATA, "index manifest '%s' is damaged", mpath);
		}
	}
	free(text);
	free(mpath);
	return rc;
}

/* What to do about an index that cannot be read. */
static void hint_damaged(ops_error *err)
{
	ops_error_hint(err, "restore a copy from vector.backup_dir (opsctl vector verify-backup "
		       "checks one) or rebuild it (opsctl vector rebuild)");
}

/*
 * What FAISS's reader said about the file at path, as what is wrong with
 * the file.  FAISS reports a short read as "read error in PATH: 4918 !=
 * 640000 (No such file or directory)": element counts, and an errno left
 * over from before (a short fread sets none), which must not reach the
 * user as if the file were missing; an unknown header as "Index type 0x...
 * not recognized".  Both are bad data (OPS_EDATA): the file is there and
 * readable, but it is not a whole index.
 */
static ops_code unreadable(const char *path, const char *msg, ops_error *err)
{
	struct stat st;
	long long size = stat(path, &st) == 0 ? (long long)st.st_size : -1;
	char line[300];
	const char *p;
	size_t n;

	if (size == 0)
		ops_error_set(err, OPS_EDATA, "index '%s' is empty (0 bytes)", path);
	else if (msg && strstr(msg, "read error"))
		ops_error_set(err, OPS_EDATA, "index '%s' is truncated: the file ends (at %lld "
			      "bytes) before the index it describes", path, size);
	else if (msg && strstr(msg, "not recognized"))
		ops_error_set(err, OPS_EDATA, "'%s' is not a FAISS index: its header names no "
			      "index type FAISS knows", path);
	else {
		/* Anything else in FAISS's words, without its source location
		 * ("Error in ... at file.cpp:527: ") and a trailing errno. */
		p = msg && *msg ? msg : "unknown error";
		if (strncmp(p, "Error in ", 9) == 0 && strstr(p, ".cpp:") &&
		    strstr(strstr(p, ".cpp:"), ": "))
			p = strstr(strstr(p, ".cpp:"), ": ") + 2;
		snprintf(line, sizeof line, "%s", p);
		for (n = 0; line[n]; n++)
			if (line[n] == '\n' || line[n] == '\r')
				line[n] = ' ';
		n = strlen(line);
		if (n && line[n - 1] == ')' && strrchr(line, '(') && strrchr(line, '(') > line)
			strrchr(line, '(')[-1] = '\0';
		ops_error_set(err, OPS_EDATA, "cannot read index '%s': %s", path, line);
	}
	hint_damaged(err);
	return OPS_EDATA;
}

/*
 * FAISS's reader is not safe on damaged or hostile input.  A file with no
 * manifest to vouch for it is read first in a child process: if FAISS
 * crashes there, the file is damaged (exit 65), and opsctl itself never
 * crashes on it.
 */
static ops_code trial_read(const struct vf_api *f, const char *path, ops_error *err)
{
	struct stat st;
	char msg[400] = "";
	int fds[2], status = 0;
	ssize_t n;
	pid_t pid;

	if (stat(path, &st) != 0)
		return ops_error_errno(err, errno, "cannot read", path);
	if (pipe2(fds, O_CLOEXEC) != 0)
		return ops_error_errno(err, errno, "cannot start a process to read", path);
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return ops_error_errno(err, errno, "cannot start a process to read", path);
	}
	if (pid == 0) {
		/* An index takes about its file's size in memory; a file whose
		 * header claims far more is lying, and must not take the host's
		 * memory to prove it. */
		static const int sigs[] = {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL, SIGALRM};
		struct rlimit lim;
		FaissIndex *idx = NULL;
		const char *e;
		size_t i;

		/* Whatever handlers the parent has (a fuzzer's, a sanitizer's),
		 * a crash here must end this child and nothing else. */
		for (i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
			signal(sigs[i], SIG_DFL);
		lim.rlim_cur = lim.rlim_max = (rlim_t)st.st_size * 8 + (2048ull << 20);
		/* Sanitizer runtimes reserve terabytes of address space; their
		 * test harnesses bound memory their own way. */
		if (!getenv("OPSCTL_INDEX_CHECK_NO_RLIMIT"))
			setrlimit(RLIMIT_AS, &lim);
		alarm(30 + (unsigned)(st.st_size >> 24));	/* 30 s plus 1 s per 16 MiB */
		if (f->read_index_fname(path, 0, &idx) == 0)
			_exit(0);
		e = f->get_last_error();
		if (e && write(fds[1], e, strnlen(e, sizeof msg - 1)) < 0)
			_exit(2);
		_exit(1);
	}
	close(fds[1]);
	n = read(fds[0], msg, sizeof msg - 1);
	close(fds[0]);
	msg[n > 0 ? n : 0] = '\0';
	for (n = 0; msg[n]; n++)
		if (msg[n] == '\n' || msg[n] == '\r')
			msg[n] = ' ';
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFSIGNALED(status)) {
		ops_error_set(err, OPS_EDATA, "index '%s' is damaged: FAISS crashed reading it "
			      "(signal %d)", path, WTERMSIG(status));
		hint_damaged(err);
		return OPS_EDATA;
	}
	if (WEXITSTATUS(status) != 0) {
		if (*msg)
			return unreadable(path, msg, err);
		ops_error_set(err, OPS_EDATA, "index '%s' is damaged: its header asks for more "
			      "memory than its size allows", path);
		hint_damaged(err);
		return OPS_EDATA;
	}
	return OPS_OK;
}

ops_code vidx_load(const struct vf_api *f, const char *path, FaissIndex **out, cJSON **manifest,
		   char sha256[65], ops_error *err)
{
	cJSON *m = NULL;
	char sha[65];
	long long size = 0;
	ops_code rc;

	*out = NULL;
	if (manifest)
		*manifest = NULL;
	if (access(path, F_OK) != 0) {
		if (errno != ENOENT)
			return ops_error_errno(err, errno, "cannot read index", path);
		ops_error_set(err, OPS_EFAIL, "no index at '%s'", path);
		ops_error_hint(err, "check vector.index_path (or -p PATH); opsctl vector rebuild "
			       "creates it");
		return OPS_EFAIL;
	}
	if ((rc = vidx_read_manifest(path, &m, err)) != OPS_OK)
		return rc;
	if ((rc = vidx_file_sha256(path, sha, &size, err)) != OPS_OK) {
		cJSON_Delete(m);
		return rc;
	}
	if (m) {
		const char *want, *prev;

		want = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "sha256"));
		prev = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "previous_sha256"));

		if (strcmp(sha, want) != 0 && !(prev && strcmp(sha, prev) == 0)) {
			const cJSON *sz = cJSON_GetObjectItemCaseSensitive(m, "size_bytes");

			/* A short file says more than a digest can: it was cut. */
			if (cJSON_IsNumber(sz) && size < (long long)sz->valuedouble && !prev)
				ops_error_set(err, OPS_EDATA, "index '%s' is truncated: %lld of the "
					      "%.0f bytes its manifest records; it does not match "
					      "its manifest's SHA-256", path, size, sz->valuedouble);
			else
				ops_error_set(err, OPS_EDATA, "index '%s' does not match its "
					      "manifest's SHA-256: damaged or replaced", path);
			hint_damaged(err);
			cJSON_Delete(m);
			return OPS_EDATA;
		}
		if (prev && strcmp(sha, prev) == 0)
			ops_log_warn("index '%s' is the one before an interrupted swap; rebuild or "
				     "optimize again", path);
	} else if ((rc = trial_read(f, path, err)) != OPS_OK) {
		return rc;
	}
	if (f->read_index_fname(path, 0, out) != 0) {
		cJSON_Delete(m);
		*out = NULL;
		return unreadable(path, f->get_last_error(), err);
	}
	if (sha256)
		memcpy(sha256, sha, 65);
	if (manifest)
		*manifest = m;
	else
		cJSON_Delete(m);
	return OPS_OK;
}

ops_code vidx_ids(const struct vf_api *f, FaissIndex *index, long long **ids, size_t *n,
		  ops_error *err)
{
	FaissIndexIDMap *map = f->IndexIDMap_cast(index);
	FaissIndexIVF *ivf = map ? NULL : f->IndexIVF_cast(index);
	size_t total = (size_t)f->Index_ntotal(index), i, k = 0;
	long long *v = malloc((total ? total : 1) * sizeof *v);

	*ids = NULL;
	*n = 0;
	if (!v)
		return ops_error_oom(err);
	if (map) {
		idx_t *m = NULL;
		size_t count = 0;

		f->IndexIDMap_id_map(map, &m, &count);
		for (i = 0; i < count && i < total; i++)
			v[k++] = m[i];
	} else if (ivf) {
		size_t lists = f->IndexIVF_nlist(ivf), l;

		for (l = 0; l < lists; l++) {
			size_t sz = f->IndexIVF_get_list_size(ivf, l);

			if (k + sz > total)
				break;
			f->IndexIVF_invlists_get_ids(ivf, l, (idx_t *)(v + k));
			k += sz;
		}
	} else {
		for (i = 0; i < total; i++)
			v[k++] = (long long)i;
	}
	qsort(v, k, sizeof *v, vx_cmp_ll);
	*ids = v;
	*n = k;
	return OPS_OK;
}

void vidx_describe(const struct vf_api *f, FaissIndex *index, char *out, size_t len)
{
	FaissIndexIDMap *map = f->IndexIDMap_cast(index);
	FaissIndex *inner = map ? f->IndexIDMap_sub_index(map) : index;
	FaissIndexIVF *ivf = f->IndexIVF_cast(inner);

	if (ivf)
		snprintf(out, len, "%sIVF%zu", map ? "IDMap," : "", f->IndexIVF_nlist(ivf));
	else if (f->IndexFlat_cast(inner))
		snprintf(out, len, "%sFlat", map ? "IDMap," : "");
	else
		snprintf(out, len, "%sother (graph or quantizer)", map ? "IDMap," : "");
}

static ops_code write_manifest(const char *index_path, cJSON *m, ops_error *err)
{
	/* Valid UTF-8 whatever the path's bytes (core/json). */
	char *mpath = vidx_manifest_path(index_path),
	     *text = ops_json_utf8(m) == 0 ? cJSON_Print(m) : NULL;
	ops_code rc;

	if (!mpath || !text) {
		free(mpath);
		free(text);
		return ops_error_oom(err);
	}
	rc = ops_write_file_atomic(mpath, text, strlen(text), 0644, err);
	free(mpath);
	free(text);
	return rc;
}

cJSON *vidx_manifest_new(const struct vf_api *f, FaissIndex *index, const char *type,
			 const char *metric, const cJSON *old)
{
	cJSON *m = cJSON_CreateObject();
	const cJSON *e;

	if (!m)
		return NULL;
	cJSON_AddNumberToObject(m, "format", 1);
	cJSON_AddStringToObject(m, "type", type);
	cJSON_AddNumberToObject(m, "dimension", f->Index_d(index));
	cJSON_AddStringToObject(m, "metric",
				metric ? metric : vx_metric_name(f->Index_metric_type(index)));
	cJSON_AddNumberToObject(m, "vectors", (double)f->Index_ntotal(index));
	cJSON_AddStringToObject(m, "tool_version", OPS_VERSION);
	cJSON_ArrayForEach(e, old) {
		/* The count and the writer are this index's; the swap that
		 * recorded previous_sha256 is over. */
		if (!e->string || strcmp(e->string, "ntotal") == 0 ||
		    strcmp(e->string, "vectors") == 0 ||
		    strcmp(e->string, "tool_version") == 0 ||
		    strcmp(e->string, "previous_sha256") == 0)
			continue;
		cJSON_DeleteItemFromObjectCaseSensitive(m, e->string);
		cJSON_AddItemToObject(m, e->string, cJSON_Duplicate(e, 1));
	}
	vidx_manifest_normalize(m);
	return m;
}

void vx_add_time(cJSON *o, const char *name, time_t t)
{
	char buf[OPS_TIME_ISO_SIZE];

	cJSON_DeleteItemFromObjectCaseSensitive(o, name);
	cJSON_AddStringToObject(o, name, ops_time_iso(t, buf));
}

void vidx_manifest_normalize(cJSON *m)
{
	static const char *const times[] = {"built_at", "optimized_at"};
	cJSON *n;
	size_t i;

	if (!cJSON_IsObject(m))
		return;
	for (i = 0; i < sizeof times / sizeof times[0]; i++) {
		n = cJSON_GetObjectItemCaseSensitive(m, times[i]);
		if (cJSON_IsNumber(n) && n->valuedouble >= 0)
			vx_add_time(m, times[i], (time_t)n->valuedouble);
	}
	n = cJSON_DetachItemFromObjectCaseSensitive(m, "ntotal");
	if (n && !cJSON_GetObjectItemCaseSensitive(m, "vectors"))
		cJSON_AddItemToObject(m, "vectors", n);
	else
		cJSON_Delete(n);
}

ops_code vidx_manifest_copy(const char *from, const char *to, ops_error *err)
{
	char *mfrom = vidx_manifest_path(from), *mto = vidx_manifest_path(to), *text = NULL;
	size_t len = 0;
	ops_code rc = OPS_OK;

	if (!mfrom || !mto) {
		rc = ops_error_oom(err);
		goto out;
	}
	if (access(mfrom, F_OK) != 0) {
		if (unlink(mto) != 0 && errno != ENOENT)
			rc = ops_error_errno(err, errno, "cannot remove", mto);
		goto out;
	}
	rc = ops_read_file(mfrom, MANIFEST_MAX, &text, &len, err);
	if (rc == OPS_OK)
		rc = ops_write_file_atomic(mto, text, len, 0600, err);
out:
	free(text);
	free(mfrom);
	free(mto);
	return rc;
}

void vidx_sweep_temps(const char *path)
{
	const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
	size_t blen = strlen(base);
	char *dir = ops_path_dir(path);
	DIR *d = dir ? opendir(dir) : NULL;
	struct dirent *e;

	/* Only names that begin with the index's own, so the temps of the
	 * files named after it (its cache, optimize's candidate) go too, and
	 * nothing else in a directory an operator may share. */
	while (d && (e = readdir(d))) {
		struct stat st;
		char *p;

		if (strncmp(e->d_name, base, blen) != 0 || e->d_name[blen] != '.' ||
		    !strstr(e->d_name + blen, ".tmp."))
			continue;
		p = ops_path_join(dir, e->d_name);
		if (p && lstat(p, &st) == 0 && S_ISREG(st.st_mode) &&
		    ops_temp_orphaned(e->d_name, st.st_mtime) && unlink(p) == 0)
			ops_log_warn("removed '%s', left by an interrupted run", p);
		free(p);
	}
	if (d)
		closedir(d);
	free(dir);
}

/* A stdio stream that hashes every byte FAISS writes and hands the file
 * whole aligned blocks (see DIRECT_ALIGN): the digest of what FAISS wrote,
 * for free, and unbuffered writes where the file system takes them. */
struct hashed_fd {
	int fd;
	int direct;		/* O_DIRECT on now (off for the tail) */
	int cached;		/* the file system refused it: through the page cache */
	ops_sha256 *h;
	uint32_t crc;		/* of the same bytes, for the read-back */
	int failed;
	char *block;		/* IO_BLOCK bytes, aligned */
	size_t used;
};

/* The block (len bytes of it) to the file; unbuffered while it can be. */
static int put_block(struct hashed_fd *c, size_t len)
{
	if (c->direct && len % DIRECT_ALIGN != 0) {
		/* the tail: O_DIRECT takes whole blocks only */
		c->direct = 0;
		fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) & ~O_DIRECT);
	}
	if (ops_write_all(c->fd, c->block, len) == 0)
		return 0;
	if (c->direct && errno == EINVAL) {
		/* larger alignment than ours, or none at all: ordinary writes
		 * (the failed call wrote nothing it reports; the offset is
		 * where it was) */
		c->direct = 0;
		c->cached = 1;
		if (fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) & ~O_DIRECT) == 0 &&
		    ops_write_all(c->fd, c->block, len) == 0)
			return 0;
	}
	c->failed = errno ? errno : EIO;
	return -1;
}

static ssize_t hashed_write(void *cookie, const char *buf, size_t len)
{
	struct hashed_fd *c = cookie;
	size_t done = 0;

	/* A cancelled run stops FAISS's writing here: a failed write is the
	 * only way to end it early. */
	if (ops_cancelled()) {
		c->failed = ECANCELED;
		return -1;
	}
	ops_sha256_update(c->h, buf, len);
	c->crc = ops_crc32c(c->crc, buf, len);
	while (done < len) {
		size_t take = IO_BLOCK - c->used < len - done ? IO_BLOCK - c->used : len - done;

		memcpy(c->block + c->used, buf + done, take);
		c->used += take;
		done += take;
		if (c->used == IO_BLOCK) {
			if (put_block(c, IO_BLOCK) != 0)
				return -1;
			c->used = 0;
		}
	}
	return (ssize_t)len;
}

static int hashed_close(void *cookie)
{
	struct hashed_fd *c = cookie;

	if (c->failed || !c->used)
		return 0;
	if (put_block(c, c->used) != 0)
		return -1;
	c->used = 0;
	return 0;
}

/*
 * FAISS writes index to tmp through a stream that hashes what it writes
 * (sha, and a CRC-32C of the same bytes); the file is fsynced and read
 * back from the disk to the same CRC: the bytes stored are the bytes
 * hashed, without paying for a second SHA-256 of them.  *size is its size.
 */
static ops_code write_checked(const struct vf_api *f, FaissIndex *index, const char *tmp,
			      char sha[65], long long *size, ops_error *err)
{
	static const cookie_io_functions_t io = {NULL, hashed_write, NULL, hashed_close};
	const int flags = O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC;
	struct hashed_fd c = {-1, 1, 0, NULL, 0, 0, NULL, 0};
	ops_code rc = OPS_OK;
	uint32_t back = 0;
	long long got = 0;
	struct stat st;
	FILE *fp;

	if (!(c.h = ops_sha256_new()) ||
	    posix_memalign((void **)&c.block, DIRECT_ALIGN, IO_BLOCK) != 0) {
		c.block = NULL;
		rc = ops_error_oom(err);
		goto out;
	}
	c.fd = open(tmp, flags | O_DIRECT, 0644);
	if (c.fd < 0 && errno == EINVAL) {
		c.direct = 0;
		c.cached = 1;
		c.fd = open(tmp, flags, 0644);
	}
	if (c.fd < 0) {
		rc = ops_error_errno(err, errno, "cannot create", tmp);
		goto out;
	}
	/* No stdio buffer: FAISS's writes go to the block as they come. */
	if (!(fp = fopencookie(&c, "w", io)) || setvbuf(fp, NULL, _IONBF, 0) != 0) {
		if (fp)
			fclose(fp);
		rc = ops_error_oom(err);
		goto out;
	}
	if (f->write_index(index, fp) != 0) {
		fclose(fp);
		rc = c.failed == ECANCELED ? ops_cancel_check(err)
			: vf_error(f, err, OPS_EIO, "cannot write the new index");
		goto out;
	}
	if (fclose(fp) != 0 || c.failed) {
		rc = c.failed == ECANCELED ? ops_cancel_check(err)
			: ops_error_errno(err, c.failed ? c.failed : EIO, "cannot write", tmp);
		goto out;
	}
	ops_sha256_final_hex(c.h, sha);
	ops_log_info("index written to %s%s", tmp, c.cached ? " (through the page cache)" : "");
	if (fsync(c.fd) != 0 || fstat(c.fd, &st) != 0) {
		rc = ops_error_errno(err, errno, "cannot sync", tmp);
		goto out;
	}
	*size = (long long)st.st_size;
	/* Verified as stored: the read-back comes from the disk (unbuffered,
	 * and whatever the page cache holds of the file dropped first), not
	 * from memory that merely holds what was written; its CRC must be
	 * the one taken while FAISS wrote. */
	(void)posix_fadvise(c.fd, 0, 0, POSIX_FADV_DONTNEED);
	close(c.fd);
	c.fd = -1;
	ops_log_info("index synced");
	if ((rc = file_digest(tmp, 1, NULL, &back, &got, err)) != OPS_OK)
		goto out;
	if (back != c.crc || got != *size)
		rc = ops_error_set(err, OPS_EIO, "the new index at %s reads back differently from "
				   "what was written", tmp);
out:
	if (c.fd >= 0)
		close(c.fd);
	ops_sha256_free(c.h);
	free(c.block);
	return rc;
}

/* The digest of the index at path, into old: its manifest's, if it has one
 * that verify would accept with no swap in progress; hashed otherwise.  0
 * when there is no index (or it cannot be read). */
static int old_digest(const char *path, char old[65], ops_error *err)
{
	const cJSON *osha = NULL;
	cJSON *oldm = NULL;
	ops_error ignored;
	int have;

	if (access(path, F_OK) != 0)
		return 0;
	if (vidx_read_manifest(path, &oldm, &ignored) == OPS_OK && oldm)
		osha = cJSON_GetObjectItemCaseSensitive(oldm, "sha256");
	if (cJSON_IsString(osha) && !cJSON_GetObjectItemCaseSensitive(oldm, "previous_sha256")) {
		snprintf(old, 65, "%s", osha->valuestring);
		have = 1;
	} else {
		have = vidx_file_sha256(path, old, NULL, err) == OPS_OK;
	}
	cJSON_Delete(oldm);
	return have;
}

ops_code vidx_swap(const struct vf_api *f, const char *path, FaissIndex **index, cJSON *manifest,
		   ops_error *err)
{
	char *tmp = NULL, *dir = ops_path_dir(path), sha[65], old[65] = "";
	long long size = 0;
	ops_code rc;
	int have_old;

	if (!dir || asprintf(&tmp, "%s.tmp.%ld", path, (long)getpid()) < 0) {
		tmp = NULL;
		rc = ops_error_oom(err);
		goto out;
	}
	if ((rc = ops_mkdir_p(dir, 0755, err)) != OPS_OK ||
	    (rc = write_checked(f, *index, tmp, sha, &size, err)) != OPS_OK)
		goto out;
	have_old = old_digest(path, old, err);
	cJSON_DeleteItemFromObjectCaseSensitive(manifest, "sha256");
	cJSON_AddStringToObject(manifest, "sha256", sha);
	cJSON_DeleteItemFromObjectCaseSensitive(manifest, "size_bytes");
	cJSON_AddNumberToObject(manifest, "size_bytes", (double)size);
	/* Phase 1: the manifest accepts both; then the file moves; then the
	 * manifest names the new one only.  A cancellation is heard up to
	 * here and no further: once the manifest changes, the swap finishes,
	 * so an interrupted run leaves the live index and manifest as they
	 * were, byte for byte. */
	if ((rc = ops_cancel_check(err)) != OPS_OK)
		goto out;
	if (have_old)
		cJSON_AddStringToObject(manifest, "previous_sha256", old);
	if ((rc = write_manifest(path, manifest, err)) != OPS_OK)
		goto out;
	if (rename(tmp, path) != 0) {
		rc = ops_error_errno(err, errno, "cannot put the new index in place at", path);
		goto out;
	}
	free(tmp);
	tmp = NULL;
	if ((rc = ops_fsync_dir(dir, err)) != OPS_OK)
		goto out;
	cJSON_DeleteItemFromObjectCaseSensitive(manifest, "previous_sha256");
	rc = write_manifest(path, manifest, err);
out:
	if (tmp)
		unlink(tmp);
	free(tmp);
	free(dir);
	cJSON_Delete(manifest);
	return rc;
}
