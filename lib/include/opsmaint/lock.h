/*
 * One run of a task at a time.  A lock is an flock(2) on
 * STATE_DIR/locks/TASK.lock holding the owner's pid; the kernel drops it when
 * the process dies, so a crashed run never leaves a stale lock behind.
 */
#ifndef OPSMAINT_LOCK_H
#define OPSMAINT_LOCK_H
#include "opsmaint/api.h"
OPS_API_BEGIN

#include "opsmaint/error.h"

typedef struct ops_lock ops_lock;

/*
 * Take the lock without waiting.  If another process holds it, returns
 * OPS_ELOCKED with message "task 'db_maintain' is already running (pid 1234)"
 * (pid read from the file, or "unknown pid").
 */
ops_code ops_lock_acquire(const char *state_dir, const char *task,
			  ops_lock **out, ops_error *err);
/* Release and free; NULL is accepted. */
void ops_lock_release(ops_lock *lock);

OPS_API_END
#endif
