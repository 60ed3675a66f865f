/*
 * lib/cleanup's private parts: which files some process holds open for
 * writing (cleanup_open.c), so that a cleanup never pulls a log out from
 * under the process still writing it.
 */
#ifndef OPSMAINT_CLEANUP_INTERNAL_H
#define OPSMAINT_CLEANUP_INTERNAL_H

#include <stddef.h>
#include <sys/types.h>

struct cl_open_file {
	dev_t dev;
	ino_t ino;
	pid_t pid;	/* one of the processes holding it */
};

struct cl_open {
	struct cl_open_file *v;
	size_t n, cap;
	long unreadable;	/* processes whose descriptors could not be read (without
				 * root: everyone else's; in a container, some of the host's) */
};

/*
 * Every regular file open for writing (O_WRONLY or O_RDWR, by
 * /proc/PID/fdinfo) in any process this user may look at, from procdir
 * ("/proc"; another directory in tests).  0, or -1 on OOM.  A file opened
 * after the scan is not seen: the walk that follows is short, and a file
 * opened after it started is a new one, younger than any cut-off.
 */
int cl_open_scan(struct cl_open *o, const char *procdir);
/* The pid holding dev/ino open for writing, or 0 when none does. */
pid_t cl_open_holder(const struct cl_open *o, dev_t dev, ino_t ino);
void cl_open_free(struct cl_open *o);

#endif
