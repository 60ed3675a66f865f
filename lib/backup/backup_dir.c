/*
 * Directory-format dumps (issue 18): a database of backup.parallel_threshold
 * or more is dumped by `pg_dump -Fd -j N`, which can only write files.  Each
 * file becomes the archive member NAME.dir/FILE as soon as pg_dump closes it
 * (inotify IN_CLOSE_WRITE) and is then deleted, so the local spool holds the
 * files being written, not the database: memory stays flat (one I/O block),
 * disk is about the N tables in flight.  toc.dat is written last, so it is
 * stored last.  The restore side gathers the members of one NAME.dir/ into a
 * spool directory and runs `pg_restore -Fd -j N` on it once all are there and
 * checked (pg_restore -j needs the whole directory).  What this module does
 * not do: decide which format a database gets (backup.c), or put a restored
 * copy in place (the pass, backup_verify.c).
 */
#include <dirent.h>
#include <fcntl.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup/backup_internal.h"
#include "opsmaint/fileio.h"
#include "opsmaint/log.h"
#include "opsmaint/proc.h"

int bk_jobs(const ops_config *cfg, const char *key)
{
	long n = ops_config_int(cfg, key);

	if (n <= 0)
		n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (int)n : 1;
}

void bk_spool_remove(const char *dir)
{
	DIR *d;
	struct dirent *e;

	if (!dir || !(d = opendir(dir)))
		return;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
	rmdir(dir);
}

ops_code bk_spool_new(const ops_config *cfg, const char *what, char **out, ops_error *err)
{
	char *tmpdir = ops_path_join(ops_config_get(cfg, "general.state_dir"), "tmp");
	ops_code rc;

	*out = NULL;
	if (!tmpdir || asprintf(out, "%s/%s-%ld", tmpdir, what, (long)getpid()) < 0) {
		free(tmpdir);
		*out = NULL;
		return ops_error_oom(err);
	}
	rc = ops_mkdir_p(tmpdir, 0700, err);
	free(tmpdir);
	if (rc == OPS_OK) {
		bk_spool_remove(*out);	/* a leftover of a killed run with our pid */
		if (mkdir(*out, 0700) != 0)
			rc = ops_error_errno(err, errno, "cannot create", *out);
	}
	if (rc != OPS_OK) {
		free(*out);
		*out = NULL;
	}
	return rc;
}

/* A file pg_dump has closed: stored as NAME.dir/FILE, then gone from disk. */
static ops_code store_file(ops_archive_writer *aw, const char *spool, const char *stem,
			   const char *file, long long *total, ops_error *err)
{
	char member[600], path[1200];
	struct stat st;
	ops_code rc;

	if ((size_t)snprintf(member, sizeof member, "%s.dir/%s", stem, file) >= sizeof member)
		return ops_error_set(err, OPS_EINTERNAL, "dump file name '%s' is too long", file);
	snprintf(path, sizeof path, "%s/%s", spool, file);
	if (stat(path, &st) != 0)
		return OPS_OK;	/* stored already (a second close event) */
	rc = ops_archive_add_file(aw, member, path, err);
	if (rc == OPS_OK) {
		*total += (long long)st.st_size;
		unlink(path);
	}
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* What is left once pg_dump has exited (toc.dat among it), in name order. */
static ops_code store_rest(ops_archive_writer *aw, const char *spool, const char *stem,
			   long long *total, ops_error *err)
{
	DIR *d = opendir(spool);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, i;
	ops_code rc = OPS_OK;

	if (!d)
		return ops_error_errno(err, errno, "cannot read", spool);
	while (rc == OPS_OK && (e = readdir(d))) {
		char **grown;

		if (e->d_name[0] == '.')
			continue;
		grown = realloc(names, (n + 1) * sizeof *names);
		if (!grown || !(grown[n] = strdup(e->d_name))) {
			names = grown ? grown : names;
			rc = ops_error_oom(err);
			break;
		}
		names = grown;
		n++;
	}
	closedir(d);
	if (names)
		qsort(names, n, sizeof *names, cmp_str);
	/* toc.dat last: a reader of the archive meets the data first, as the
	 * files were written. */
	for (i = 0; rc == OPS_OK && i < n; i++)
		if (strcmp(names[i], "toc.dat") != 0)
			rc = store_file(aw, spool, stem, names[i], total, err);
	if (rc == OPS_OK)
		rc = store_file(aw, spool, stem, "toc.dat", total, err);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

/* Close events until pg_dump's standard output ends (it has exited). */
static ops_code follow(int ino, int done_fd, ops_archive_writer *aw, const char *spool,
		       const char *stem, long long *total, ops_error *err)
{
	char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
	int open_out = 1;
	ops_code rc = OPS_OK;

	while (rc == OPS_OK && open_out) {
		struct pollfd p[2] = {{ino, POLLIN, 0}, {done_fd, POLLIN, 0}};
		ssize_t n;
		char *q;

		if ((rc = ops_cancel_check(err)) != OPS_OK)
			break;
		if (poll(p, 2, 200) < 0) {
			if (errno == EINTR)
				continue;
			return ops_error_errno(err, errno, "cannot wait for", "pg_dump");
		}
		if (p[1].revents) {
			char sink[512];

			if (read(done_fd, sink, sizeof sink) <= 0)
				open_out = 0;
		}
		if (!(p[0].revents & POLLIN))
			continue;
		n = read(ino, buf, sizeof buf);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return ops_error_errno(err, errno, "cannot watch", spool);
		for (q = buf; rc == OPS_OK && q < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)q;

			/* toc.dat waits for the end: pg_dump writes it twice
			 * (once at the start, complete at the end). */
			if (ev->len && (ev->mask & IN_CLOSE_WRITE) && ev->name[0] != '.' &&
			    strcmp(ev->name, "toc.dat") != 0)
				rc = store_file(aw, spool, stem, ev->name, total, err);
			q += sizeof *ev + ev->len;
		}
	}
	return rc;
}

ops_code bk_dump_dir(const ops_config *cfg, ops_archive_writer *aw, const char *stem,
		     const char *target, const char *snapshot_arg, int jobs, long long *total,
		     bk_dump_started_fn started, void *started_ctx, ops_error *err)
{
	char *spool = NULL, **env = NULL, jobs_arg[32], *file_arg = NULL;
	char *argv[14];
	int argc = 0, ino = -1, out_fd = -1, is_uri = strstr(target, "://") != NULL;
	ops_proc *proc = NULL;
	ops_code rc, src;

	*total = 0;
	if ((rc = bk_spool_new(cfg, "dump", &spool, err)) != OPS_OK)
		return rc;
	env = bk_pg_env(cfg, is_uri ? NULL : target);
	if (!env || asprintf(&file_arg, "--file=%s", spool) < 0) {
		file_arg = NULL;
		rc = ops_error_oom(err);
		goto out;
	}
	ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (ino < 0 || inotify_add_watch(ino, spool, IN_CLOSE_WRITE) < 0) {
		rc = ops_error_errno(err, errno, "cannot watch", spool);
		goto out;
	}
	snprintf(jobs_arg, sizeof jobs_arg, "--jobs=%d", jobs);
	argv[argc++] = "pg_dump";
	argv[argc++] = "--format=directory";
	argv[argc++] = "--compress=0";	/* the archive compresses, once */
	argv[argc++] = jobs_arg;
	argv[argc++] = (char *)snapshot_arg;
	argv[argc++] = file_arg;
	argv[argc++] = "--no-password";
	if (is_uri) {
		argv[argc++] = "--dbname";
		argv[argc++] = (char *)target;
	}
	argv[argc] = NULL;
	ops_log_info("dumping with %d jobs into %s", jobs, spool);
	/* Its standard output (unused by -Fd) ends when it exits. */
	rc = ops_proc_start(ops_config_get(cfg, "backup.pg_bindir"), argv, env,
			    OPS_PROC_PIPE_OUT, NULL, &out_fd, &proc, err);
	if (rc != OPS_OK)
		goto out;
	rc = started ? started(started_ctx, err) : OPS_OK;
	if (rc == OPS_OK)
		rc = follow(ino, out_fd, aw, spool, stem, total, err);
	close(out_fd);
	if (rc != OPS_OK) {
		ops_proc_kill(proc);
		goto out;
	}
	src = ops_proc_wait(proc, err);
	rc = src;
	if (rc == OPS_OK)
		rc = store_rest(aw, spool, stem, total, err);
out:
	if (ino >= 0)
		close(ino);
	bk_spool_remove(spool);
	free(spool);
	free(file_arg);
	ops_strv_free(env);
	return rc;
}

/* ---- the restore side ---- */

ops_code bk_dir_member_write(struct bk_pass *p, ops_archive_reader *ar, const char *file,
			     ops_error *err)
{
	char buf[65536], *path = NULL;
	size_t got = 0;
	ops_code rc = OPS_OK;
	int fd = -1;

	if (!*file || strchr(file, '/') || file[0] == '.')
		return ops_error_set(err, OPS_EDATA, "archive member '%s' of a directory dump "
				     "is not a plain file name", file);
	if (p->cur_spool && !p->skipping && !p->stream_failed) {
		path = ops_path_join(p->cur_spool, file);
		if (!path)
			return ops_error_oom(err);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0)
			rc = ops_error_errno(err, errno, "cannot create", path);
	}
	do {
		if (rc != OPS_OK)
			break;
		rc = ops_archive_read(ar, buf, sizeof buf, &got, err);
		if (rc == OPS_OK && got && fd >= 0 && ops_write_all(fd, buf, got) != 0)
			rc = ops_error_errno(err, errno, "cannot write", path);
	} while (got > 0);
	if (fd >= 0)
		close(fd);
	free(path);
	return rc;
}

ops_code bk_dir_restore_start(struct bk_pass *p, char *const *argv_head, ops_error *err)
{
	const ops_config *cfg = p->ctx->run->cfg;
	char *argv[16], jobs[32], **env;
	int argc = 0, njobs = bk_jobs(cfg, "backup.restore_jobs");
	ops_code rc;

	while (argv_head[argc] && argc < 10) {
		argv[argc] = argv_head[argc];
		argc++;
	}
	snprintf(jobs, sizeof jobs, "--jobs=%d", njobs);
	argv[argc++] = "--format=directory";
	argv[argc++] = jobs;
	argv[argc++] = p->cur_spool;
	argv[argc] = NULL;
	env = bk_pg_env(cfg, p->cur_into);
	if (!env)
		return ops_error_oom(err);
	ops_log_info("restoring '%s' into database '%s' with pg_restore -j %d", p->cur_db,
		     p->cur_into, njobs);
	rc = ops_proc_start(ops_config_get(cfg, "backup.pg_bindir"), argv, env, 0, NULL, NULL,
			    &p->proc, err);
	ops_strv_free(env);
	return rc;
}
