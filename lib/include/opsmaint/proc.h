/*
 * Child processes for the tools opsctl runs rather than re-implements
 * (pg_dump, pg_restore, pg_basebackup).  Arguments go straight to execve,
 * never through a shell; the environment is the caller's plus the given
 * NAME=VALUE additions (so connection settings and secrets stay off argv);
 * standard error is kept in memory so that a failure can show it.
 *
 * A deadline or a cancelled run (cancel.h) stops the child: SIGTERM first,
 * SIGKILL OPS_PROC_GRACE_MS later.
 */
#ifndef OPSMAINT_PROC_H
#define OPSMAINT_PROC_H
#include "opsmaint/api.h"
OPS_API_BEGIN

#include <sys/types.h>
#include "opsmaint/error.h"

typedef struct ops_proc ops_proc;

/*
 * OPS_PROC_OWN_GROUP: the child gets a process group of its own and every
 * signal above goes to that group, so what it started (a script's own
 * children) stops with it.  A terminal's Ctrl-C then reaches opsctl alone,
 * which stops the child through cancellation; but a SIGKILL sent to
 * opsctl's group no longer reaches it.  For commands an operator configures
 * (cache.warm_command), which may be scripts.
 */
/*
 * OPS_PROC_NO_SECRETS: the child's environment leaves out every variable
 * whose name says it carries a credential (PASSWORD, PASSWD, SECRET, TOKEN,
 * CREDENTIAL, PRIVATE, APIKEY, API_KEY or AUTH in it, or ending in _KEY:
 * PGPASSWORD, VAULT_TOKEN, REDISCLI_AUTH, AWS_SECRET_ACCESS_KEY); env_add
 * still adds what the child is meant to get.  For commands an operator
 * configures, which need none of opsctl's own credentials.
 */
/*
 * OPS_PROC_CAPTURE: standard output and standard error both go to a pipe
 * that the wait reads as the child writes, keeping the last 64 KiB, which
 * ops_proc_stderr then returns: what a person would have seen on the
 * terminal, bounded however much the child prints.  Not with PIPE_OUT.
 */
enum { OPS_PROC_PIPE_IN = 1, OPS_PROC_PIPE_OUT = 2, OPS_PROC_OWN_GROUP = 4,
       OPS_PROC_NO_SECRETS = 8, OPS_PROC_CAPTURE = 16 };

/* Between SIGTERM to a child's group and SIGKILL: time to remove its own
 * temporary files, short enough that a stuck child cannot hold the run. */
#define OPS_PROC_GRACE_MS 2000

/*
 * Start argv[0] (searched in dir when dir is set, else in PATH).  pipes
 * (flags, OPS_PROC_OWN_GROUP above among them):
 * OPS_PROC_PIPE_IN gives *in_fd to write its standard input,
 * OPS_PROC_PIPE_OUT gives *out_fd to read its standard output; otherwise
 * they are /dev/null.  A program that cannot be found is OPS_EUNAVAIL
 * naming it.
 */
ops_code ops_proc_start(const char *dir, char *const argv[], char *const env_add[],
			unsigned pipes, int *in_fd, int *out_fd, ops_proc **out,
			ops_error *err);
/* The same, the child starting in directory cwd (NULL: opsctl's own).
 * argv[0] is still found from opsctl's own directory or PATH. */
ops_code ops_proc_start_in(const char *cwd, const char *dir, char *const argv[],
			   char *const env_add[], unsigned pipes, int *in_fd, int *out_fd,
			   ops_proc **out, ops_error *err);
/*
 * Wait for the child and free p.  OPS_OK when it exited 0; otherwise
 * OPS_EFAIL "NAME failed (exit N): <last line of its stderr>" with the
 * whole stderr (trimmed) in the detail.  A run cancelled meanwhile stops
 * the child (SIGTERM, then SIGKILL after the grace) and is
 * OPS_EINTR unless the child still exited 0.  Read *out_fd to its end
 * first: a child blocked on a full pipe never exits.
 */
ops_code ops_proc_wait(ops_proc *p, ops_error *err);
/*
 * The same with a deadline, timeout_ms after the call (0: none): a child
 * still running then is sent SIGTERM, then SIGKILL after the
 * grace, and the result is OPS_EFAIL "NAME timed out after N s", its
 * stderr in the detail.  No polling: the wait sleeps until the child exits,
 * the deadline passes or the run is cancelled.
 */
ops_code ops_proc_wait_timeout(ops_proc *p, long timeout_ms, ops_error *err);
/*
 * The same, also saying how the child ended: *exit_status its exit status,
 * or 128 + N when a signal N ended it (as a shell says); *timed_out 1 when
 * the deadline stopped it; *output a copy of what ops_proc_stderr returns
 * at the end (caller frees; NULL when out of memory).  Any pointer may be
 * NULL.
 */
ops_code ops_proc_wait_exit(ops_proc *p, long timeout_ms, int *exit_status, int *timed_out,
			    char **output, ops_error *err);
/* Its standard error so far (NUL-terminated, valid until wait). */
const char *ops_proc_stderr(ops_proc *p);
/* Stop the child (SIGTERM, SIGKILL after the grace) and reap it;
 * for error paths.  NULL accepted. */
void ops_proc_kill(ops_proc *p);
pid_t ops_proc_pid(const ops_proc *p);

/* 1 when the variable name s (len bytes, no '=') says it carries a
 * credential, by the rule of OPS_PROC_NO_SECRETS above. */
int ops_proc_secret_name(const char *s, size_t len);

OPS_API_END
#endif
