/*
 * A safe tree walk that removes what it selects: retention of backup copies
 * today, `opsctl cleanup logs/temp` next.  Everything below the root is
 * reached relative to an open directory (openat, fstatat with
 * AT_SYMLINK_NOFOLLOW, unlinkat on the parent's descriptor), so a symlink is
 * only ever an entry (it may be removed; its target is never looked at) and
 * a directory swapped for a symlink while the walk runs is not followed.  It
 * never crosses a mount point, never removes or enters a protected path, and
 * keeps one open directory per level, not a listing, in memory.
 *
 * It does not decide what is old or wanted beyond the options below (the
 * select callback does the rest), does not print, and does not quote paths
 * for the caller's output: entries carry their raw bytes, and
 * ops_walk_quote() makes a printable form.
 */
#ifndef OPSMAINT_WALK_H
#define OPSMAINT_WALK_H

#include "opsmaint/api.h"
OPS_API_BEGIN

#include <sys/stat.h>
#include <time.h>
#include <cjson/cJSON.h>
#include "opsmaint/error.h"

/* Deeper directories are reported as errors, not entered: one descriptor
 * per level stays open. */
#define OPS_WALK_DEPTH_MAX 256

/* Entry types, as bits for ops_walk_opts.types. */
#define OPS_WALK_FILE 0x1u	/* regular file */
#define OPS_WALK_SYMLINK 0x2u	/* the link itself */
#define OPS_WALK_OTHER 0x4u	/* fifo, socket, device */
#define OPS_WALK_DIR 0x8u	/* a directory (never in types: see remove_empty_dirs) */

/* Which timestamp an entry's age is taken from. */
typedef enum ops_walk_time {
	OPS_WALK_MTIME = 0,
	OPS_WALK_CTIME,
	OPS_WALK_ATIME
} ops_walk_time;

typedef struct ops_walk_entry {
	const char *path;	/* root as given, then "/rel/name": raw bytes */
	const char *rel;	/* path relative to the root ("a/b.log"), inside path */
	const char *name;	/* the base name, inside path */
	int depth;		/* 1 for an entry of the root itself */
	unsigned type;		/* one OPS_WALK_* type bit */
	const struct stat *st;	/* lstat of the entry, as the walk saw it */
	time_t time;		/* the timestamp chosen by ops_walk_opts.time */
} ops_walk_entry;

typedef enum ops_walk_event {
	OPS_WALK_REMOVED = 0,	/* removed; with dry_run, would have been */
	OPS_WALK_ERROR,		/* could not be read, entered or removed (problem says why) */
	OPS_WALK_PROTECTED,	/* at a protected path: neither removed nor entered */
	OPS_WALK_MOUNT		/* a mount point (or on another file system): left alone */
} ops_walk_event;

/*
 * Told of every removal, error, protected path and mount point met.  problem
 * is set for OPS_WALK_ERROR only (one line, the path quoted).  Anything but
 * OPS_OK stops the walk, which returns that code (and err as the callback
 * filled it).
 */
typedef ops_code (*ops_walk_entry_fn)(void *arg, const ops_walk_entry *e, ops_walk_event ev,
				      const ops_error *problem, ops_error *err);

typedef struct ops_walk_opts {
	/* Which non-directory entries may be removed (0: OPS_WALK_FILE). */
	unsigned types;
	/* fnmatch(3) patterns on the base name, any one of which selects an
	 * entry; NULL or empty: every name.  Not applied to directories. */
	char *const *patterns;
	/* Only entries whose chosen timestamp is before older_than (0: any age). */
	ops_walk_time time;
	time_t older_than;
	/* 1: the root's own entries only; 0: OPS_WALK_DEPTH_MAX. */
	int max_depth;
	/* Remove directories below the root that are empty once their entries
	 * are done (and old enough, by their timestamp before the walk). */
	int remove_empty_dirs;
	/* Count and report, remove nothing. */
	int dry_run;
	/* A root that does not exist is an empty tree, not an error. */
	int missing_ok;
	/* Not stopped by cancellation: for undoing what the run itself wrote
	 * on its way out, where stopping halfway would leave half of it. */
	int finish_on_cancel;
	/*
	 * Never removed nor entered, and a root at or under one is refused:
	 * the NULL-terminated list (general.protected_paths), compared by
	 * resolved path and by device and inode.
	 */
	char *const *protected_paths;
	/*
	 * opsctl's own directory (general.state_dir): the root may not be it
	 * or contain it as an entry to remove or enter, but a root inside it
	 * (STATE_DIR/backups) is the caller's choice.  NULL: none.
	 */
	const char *state_dir;
	/* After the built-in selection, the caller's: 1 take it, 0 leave it. */
	int (*select)(void *arg, const ops_walk_entry *e);
	/* Before entering a directory: 1 enter, 0 leave the subtree alone. */
	int (*descend)(void *arg, const ops_walk_entry *e);
	ops_walk_entry_fn on_entry;
	void *arg;		/* for select, descend and on_entry */
} ops_walk_opts;

typedef struct ops_walk_totals {
	long long files;	/* non-directories removed (or, dry run, to be) */
	long long bytes;	/* their st_size (a symlink's: its target's length) */
	long long directories;	/* empty directories removed (or to be) */
	long long examined;	/* entries looked at */
	long long protected_skipped;
	long long mounts_skipped;
	long long errors;	/* entries that could not be read, entered or removed */
	ops_error first_error;	/* the first of those */
} ops_walk_totals;

/* Every option at its default (files only, any age, any depth). */
void ops_walk_opts_init(ops_walk_opts *o);

/*
 * Walk root and remove what opts select.  Per-entry trouble does not stop
 * the walk: it is counted in totals (errors, first_error) and told to
 * on_entry, and the walk returns OPS_OK.  A walk that cannot start returns
 * an error: an empty root or "/" (OPS_EUSAGE), a root at or under a
 * protected path or at the state directory (OPS_EPERM), a root that cannot
 * be opened as a directory.  Cancellation (ops_cancelled) is polled at
 * every entry: OPS_EINTR (unless finish_on_cancel).  totals may be NULL.
 */
ops_code ops_walk_tree(const char *root, const ops_walk_opts *opts, ops_walk_totals *totals,
		       ops_error *err);

/*
 * Retention after a backup, reported the same way by every command: walks
 * root with opts (missing_ok forced, on_entry taken) and adds to rep
 * "pruned" (the rel of every entry removed -- with dry_run, to be removed --
 * quoted by ops_walk_quote), "pruned_size_bytes", and "prune_errors" (one line
 * each).  A walk that cannot start is one more line in prune_errors, and
 * any errors are summed up in one warning in the log: an old copy that
 * stays does not undo the new one.  Only cancellation and out-of-memory are
 * returned.
 */
ops_code ops_walk_prune(const char *root, const ops_walk_opts *opts, cJSON *rep,
			ops_error *err);

/*
 * A printable, valid UTF-8, one-line form of raw path bytes: a backslash
 * becomes "\\", a control character or a byte that is not part of valid
 * UTF-8 becomes "\xNN"; all else is kept.  Newly allocated, NULL on OOM.
 */
char *ops_walk_quote(const char *raw);

OPS_API_END
#endif
