/*
 * Files open for writing, from /proc: for each process, each descriptor's
 * flags (fdinfo, proc(5)) and the file it names (stat through the fd link).
 * One scan per run, kept sorted by device and inode, so that the walk asks
 * about each candidate with a binary search instead of rescanning /proc per
 * file (fuser's way, which costs a full scan per question).
 *
 * Without root only the user's own processes can be read; the scan counts
 * the others (unreadable) and the caller reports them.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup/cleanup_internal.h"

static int add(struct cl_open *o, dev_t dev, ino_t ino, pid_t pid)
{
	if (o->n == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 256;
		struct cl_open_file *v = realloc(o->v, cap * sizeof *v);

		if (!v)
			return -1;
		o->v = v;
		o->cap = cap;
	}
	o->v[o->n].dev = dev;
	o->v[o->n].ino = ino;
	o->v[o->n].pid = pid;
	o->n++;
	return 0;
}

/* The "flags:" line of one fdinfo file: 1 when opened for writing. */
static int fd_writes(int infodir, const char *fd)
{
	char buf[512], *p;
	ssize_t n;
	int f = openat(infodir, fd, O_RDONLY | O_CLOEXEC);
	unsigned long flags;

	if (f < 0)
		return 0;
	n = read(f, buf, sizeof buf - 1);
	close(f);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strstr(buf, "flags:");
	if (!p)
		return 0;
	flags = strtoul(p + 6, NULL, 8);
	return (flags & O_ACCMODE) == O_WRONLY || (flags & O_ACCMODE) == O_RDWR;
}

/* One process's descriptors; -1 on OOM, 1 when they could not be read. */
static int scan_pid(struct cl_open *o, int procfd, const char *pid)
{
	char path[sizeof ((struct dirent *)0)->d_name + 8];	/* NAME/fdinfo */
	int fddir, infodir, rc = 0;
	DIR *d;
	struct dirent *de;

	snprintf(path, sizeof path, "%s/fd", pid);
	fddir = openat(procfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fddir < 0)
		return errno == ENOENT ? 0 : 1;	/* gone, or not ours to read */
	snprintf(path, sizeof path, "%s/fdinfo", pid);
	infodir = openat(procfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (infodir < 0) {
		close(fddir);
		return errno == ENOENT ? 0 : 1;
	}
	d = fdopendir(fddir);
	if (!d) {
		close(fddir);
		close(infodir);
		return 1;
	}
	while ((de = readdir(d))) {
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		/* The link followed: the open file itself, even when deleted. */
		if (fstatat(dirfd(d), de->d_name, &st, 0) != 0 || !S_ISREG(st.st_mode))
			continue;
		if (fd_writes(infodir, de->d_name) &&
		    add(o, st.st_dev, st.st_ino, (pid_t)atol(pid)) != 0) {
			rc = -1;
			break;
		}
	}
	closedir(d);
	close(infodir);
	return rc;
}

static int by_file(const void *a, const void *b)
{
	const struct cl_open_file *x = a, *y = b;

	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	return 0;
}

int cl_open_scan(struct cl_open *o, const char *procdir)
{
	int procfd = open(procdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;
	DIR *d;
	int rc = 0;

	memset(o, 0, sizeof *o);
	if (procfd < 0 || !(d = fdopendir(procfd))) {
		if (procfd >= 0)
			close(procfd);
		o->unreadable = -1;	/* no /proc: nothing can be known */
		return 0;
	}
	while ((de = readdir(d))) {
		int r;

		if (de->d_name[0] < '1' || de->d_name[0] > '9' ||
		    strspn(de->d_name, "0123456789") != strlen(de->d_name))
			continue;
		r = scan_pid(o, dirfd(d), de->d_name);
		if (r < 0) {
			rc = -1;
			break;
		}
		if (r > 0)
			o->unreadable++;
	}
	closedir(d);
	if (o->n > 1)
		qsort(o->v, o->n, sizeof *o->v, by_file);
	return rc;
}

pid_t cl_open_holder(const struct cl_open *o, dev_t dev, ino_t ino)
{
	struct cl_open_file key = {.dev = dev, .ino = ino};
	const struct cl_open_file *hit;

	if (!o->n)
		return 0;
	hit = bsearch(&key, o->v, o->n, sizeof *o->v, by_file);
	return hit ? hit->pid : 0;
}

void cl_open_free(struct cl_open *o)
{
	free(o->v);
	memset(o, 0, sizeof *o);
}
