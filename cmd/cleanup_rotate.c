/*
 * `opsctl cleanup rotate`: the front end of lib/cleanup/cleanup_rotate.c; its
 * row for the `cleanup` group is CLI_CLEANUP_ROTATE_ROW (cleanup_rotate.h).
 */
#include "cleanup_rotate.h"
#include "opsmaint/cleanup_rotate.h"

ops_code cli_op_cleanup_rotate(struct cli_inv *inv, const ops_run *run, cJSON **report,
			       ops_error *err)
{
	(void)inv;
	return ops_cleanup_rotate(run, report, err);
}

const struct cli_opt cli_cleanup_rotate_opts[] = {
	CLI_OPT_FORCE("rotate every non-empty log now, whatever its size and age (logrotate -f, "
		      "guide 000's weekly logrotate -f)"),
	CLI_OPT_DRY_RUN("ask logrotate what it would rotate and remove (logrotate -d); change "
			"nothing, the state file included"),
	CLI_OPT_VERBOSE('v'),
	CLI_OPT_END
};

const char cli_cleanup_rotate_description[] =
	"Rotates the logs of cleanup.rotate_logs (guide 000: /var/log/document-management/*.log) "
	"with Debian's logrotate, as guide 000's logrotate block and guide 002's rotate_logs do: "
	"a log is rotated once it is older than cleanup.rotate_interval since its last rotation "
	"(daily) or larger than cleanup.rotate_size, whichever comes first; empty logs are left "
	"alone. Rotated copies are compressed (cleanup.rotate_compress: zstd, gzip or none), "
	"cleanup.rotate_keep of them are kept per log (7, guide 003) and copies older than "
	"cleanup.rotate_max_age (7 days) are removed.\n\n"
	"opsctl writes the logrotate configuration itself from those keys (CONF = "
	"cleanup-rotate.conf in general.state_dir, written atomically, mode 0600) and runs "
	"logrotate --state STATE --log FILE CONF as an argv; each log's last rotation is kept in "
	"STATE (cleanup.rotate_state, default logrotate.status in the state directory). "
	"logrotate writes STATE to STATE.tmp, fsyncs it and renames it into place, so a crash or "
	"SIGKILL at any moment leaves the old state or the new one, never a part. A copy whose "
	"compression was interrupted that way is compressed again by the next run before "
	"logrotate starts, since logrotate would rename the log over it. The report "
	"lists the logs logrotate considered, rotated and removed, and the errors it gave. "
	"logrotate skips a log whose directory a group other than root's may write (an "
	"application's own log directory often is) unless cleanup.rotate_su names the USER GROUP "
	"to rotate as.\n\n"
	"cleanup.rotate_mode create (the default) renames the log and creates an empty one with "
	"the same owner and mode: nothing is lost, but the application must reopen its log. "
	"copytruncate copies the log and truncates it in place, for applications that cannot "
	"reopen: every line written before the copy began is in the rotated copy, but lines "
	"written between the end of the copy and the truncation are lost. That window is "
	"logrotate's and every copytruncate's; use create with a reload command where the "
	"application allows it.\n\n"
	"After a run that rotated anything, cleanup.rotate_reload_command (guide 000: systemctl "
	"reload document-management) runs as a comma-separated argv, never through a shell, so "
	"a ; or $ in it is an ordinary character; its failure fails the run after the rotation "
	"has been done and reported. Log rotation is routine (guide 000 runs it daily from cron) "
	"and is not held to the maintenance window. -f rotates every non-empty log now; "
	"--dry-run shows what logrotate would do. The journal and the textfile get "
	"opsctl_cleanup_rotate_files_rotated and opsctl_cleanup_rotate_files_removed.";

const char cli_cleanup_rotate_examples[] =
	"Rotate what is due, from cron (guide 000: daily)\n0 4 * * * opsctl cleanup rotate\n"
	"Guide 000's weekly forced rotation\nopsctl cleanup rotate --force\n"
	"What would be rotated now\nopsctl cleanup rotate --dry-run -v";
