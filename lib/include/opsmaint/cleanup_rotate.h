/*
 * Log rotation (`cleanup rotate`): guide 002's rotate_logs, guide 000's
 * logrotate block (section 5.4) and guide 003's seven days of logs.
 *
 * opsctl drives Debian's logrotate rather than re-implementing it: rotation
 * has many edge cases logrotate has settled for decades (numbering, old-file
 * disposal, create with the original owner and mode, copytruncate, its own
 * lock on the state file), and the guides' operators already read its
 * configuration.  What opsctl owns is the part that was fragile: the
 * configuration is generated from the cleanup.rotate_* keys (written
 * atomically, mode 0600, into the state directory), logrotate runs as an
 * argv with its own state file (-s) and message log (-l), its messages are
 * parsed into the report, and the reload command runs afterwards as an argv
 * too, never through postrotate's shell, and only when something rotated.
 *
 * The state file is logrotate's: it writes STATE.tmp (O_EXCL), fsyncs it and
 * renames it over STATE, so a crash at any moment leaves the old state or
 * the new one (verified with strace on logrotate 3.21; a stale STATE.tmp is
 * removed by the next run).  A crash while logrotate compresses a copy leaves
 * it uncompressed beside a partial compressed file, which logrotate's next
 * rotation of that log would overwrite; the next run compresses such a copy
 * again before logrotate starts (the report's compression_finished).
 *
 * copytruncate copies the live file and then truncates it: lines the
 * application writes after the copy has read its end and before the
 * truncation are lost.  Every line written before the copy started is in
 * the rotated file.  create (the default) renames the file and creates an
 * empty one with its owner and mode, which loses nothing but needs the
 * application to reopen its log (the reload command).
 */
#ifndef OPSMAINT_CLEANUP_ROTATE_H
#define OPSMAINT_CLEANUP_ROTATE_H
#include "opsmaint/api.h"
OPS_API_BEGIN

#include <cjson/cJSON.h>
#include "opsmaint/error.h"
#include "opsmaint/run.h"

/*
 * Rotate the logs of cleanup.rotate_logs as the cleanup.rotate_* keys say.
 * run->force rotates every non-empty log now whatever its size and age
 * (logrotate -f, guide 000's weekly `logrotate -f`); run->dry_run asks
 * logrotate what it would do (-d) and changes nothing, the state file
 * included.  A bad key value (a relative or unquotable glob, no logs, a
 * reload command without a program) is OPS_ECONFIG naming the key, before
 * anything runs; logrotate missing is OPS_EUNAVAIL.  The report lists the
 * logs considered, rotated and removed, logrotate's errors, and the reload
 * command's outcome; _figures carries opsctl_cleanup_rotate_files_rotated
 * and opsctl_cleanup_rotate_files_removed.  Errors logrotate reports (a log
 * it could not rotate) and a failed reload command are OPS_EFAIL with the
 * report still filled.
 */
ops_code ops_cleanup_rotate(const ops_run *run, cJSON **report, ops_error *err);

OPS_API_END
#endif
