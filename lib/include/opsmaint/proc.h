/*
 * Child processes for the tools opsctl runs rather than re-implements
 * (pg_dump, pg_restore, pg_basebackup).  Arguments go straight to execve,
 * never through a shell; the environment is the caller's plus the given
 * NAME=VALUE additions (so connection settings and secrets stay off argv);
 * standard error is kept in memory so that a failure can show it.
 */
#ifndef OPSMAINT_PROC_H
#define OPSMAINT_PROC_H
#include "opsmaint/api.h"
OPS_API_BEGIN

#include <sys/types.h>
#include "opsmaint/error.h"

typedef struct ops_proc ops_proc;

enum { OPS_PROC_PIPE_IN = 1, OPS_PROC_PIPE_OUT = 2 };

/*
 * Start argv[0] (searched in dir when dir is set, else in PATH).  pipes:
 * OPS_PROC_PIPE_IN gives *in_fd to write its standard input,
 * OPS_PROC_PIPE_OUT gives *out_fd to read its standard output; otherwise
 * they are /dev/null.  A program that cannot be found is OPS_EUNAVAIL
 * naming it.
 */
ops_code ops_proc_start(const char *dir, char *const argv[], char *const env_add[],
			unsigned pipes, int *in_fd, int *out_fd, ops_proc **out,
			ops_error *err);
/*
 * Wait for the child and free p.  OPS_OK when it exited 0; otherwise
 * OPS_EFAIL "NAME failed (exit N): <last line of its stderr>" with the
 * whole stderr (trimmed) in the detail.
 */
ops_code ops_proc_wait(ops_proc *p, ops_error *err);
/* Its standard error so far (NUL-terminated, valid until wait). */
const char *ops_proc_stderr(ops_proc *p);
/* Signal the child (SIGTERM) and reap it; for error paths.  NULL accepted. */
void ops_proc_kill(ops_proc *p);
pid_t ops_proc_pid(const ops_proc *p);

OPS_API_END
#endif
