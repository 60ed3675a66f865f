/*
 * `opsctl cleanup`: disk space taken back from old files (guide 000 sections
 * 5.4-5.5, cleanup-logs.sh and cleanup-temp-files.sh; 002 "Disk Full").
 * Which directories and name patterns each type means comes from the
 * [cleanup] configuration keys, with the guides' layouts as defaults; the
 * removal itself is core/walk's (no symlink followed, no mount crossed,
 * protected paths never touched).
 *
 * On top of the walk this module refuses roots that must never be cleaned
 * (/, /etc, the home directory, opsctl's state and backup directories, any
 * protected path), skips files some process holds open for writing, counts
 * before it removes so that a per-run cap (cleanup.max_files,
 * cleanup.max_bytes) can refuse the whole run and a person at a terminal can
 * be told what would go, and reports per type.  It does not rotate logs or
 * delete database rows (those are other cleanup leaves), and never prints.
 */
#ifndef OPSMAINT_CLEANUP_H
#define OPSMAINT_CLEANUP_H
#include "opsmaint/api.h"
OPS_API_BEGIN

#include <cjson/cJSON.h>
#include "opsmaint/error.h"
#include "opsmaint/run.h"

typedef enum ops_cleanup_kind {
	OPS_CLEANUP_LOGS = 0,	/* types application, system under cleanup.log_dir */
	OPS_CLEANUP_TEMP	/* types uploads, processing, cache, scratch (003's *.tmp) and
				 * pycache (003's __pycache__) under cleanup.temp_dir */
} ops_cleanup_kind;

typedef struct ops_cleanup_req {
	const ops_run *run;	/* force (no question), yes, dry_run, verbose, confirm */
	ops_cleanup_kind kind;
	/* The directory the types' directories are under; NULL: the configured
	 * one.  A refused path is OPS_EUSAGE when given here, OPS_ECONFIG when it
	 * comes from the configuration. */
	const char *path;
	/* Type names ("application", "cache", "all"); NULL or empty: all. */
	char *const *types;
	/* Files older than days * 24 h go (0: any age).  days_given 0: the kind's
	 * defaults (logs: days; temp: days, cleanup.cache_age for cache and
	 * cleanup.pycache_age for pycache). */
	long days;
	int days_given;
} ops_cleanup_req;

/*
 * Remove the old files of req's types (with run->dry_run, only count and
 * list them).  *report gets path, days, dry_run, per-type figures (files,
 * size_bytes, directories, skipped_open, skipped_mounts, skipped_protected,
 * errors), the totals, the entries removed (with dry_run or verbose), the
 * skipped open files, the error lines, and _figures for the textfile.
 *
 * Returns OPS_EUSAGE/OPS_ECONFIG for a refused root (nothing removed),
 * OPS_EFAIL when more would go than the cap allows (nothing removed) or
 * when some entries could not be read or removed (the rest was), and
 * OPS_EDECLINED when run->confirm said no.
 */
ops_code ops_cleanup_files(const ops_cleanup_req *req, cJSON **report, ops_error *err);

OPS_API_END
#endif
