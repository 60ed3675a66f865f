/*
 * One run of a task per target at a time.  A lock is an flock(2) on
 * STATE_DIR/locks/TASK.lock, or TASK@TARGET.lock for a run on one database,
 * index or store, holding the owner's pid and start time; the kernel drops it
 * when the process dies, so a crashed run never leaves a stale lock behind.
 * Per target, because guide 004 runs one cron line per database: maintenance
 * of chatbot_db and of the knowledge hub must not exclude each other.
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
/*
 * The lock of task on one target (any bytes: a database name, a URI, a
 * path).  The file name keeps the target readable where it can
 * (db_maintain@chatbot_db.lock) and adds a digest where it had to change or
 * shorten it, so two targets never share a lock.  The conflict message names
 * the target: "task 'db_maintain' is already running on 'chatbot_db' (pid N,
 * since TIME)".  target NULL or "": as ops_lock_acquire.
 */
ops_code ops_lock_acquire_target(const char *state_dir, const char *task, const char *target,
				 ops_lock **out, ops_error *err);
/* Release and free; NULL is accepted. */
void ops_lock_release(ops_lock *lock);

OPS_API_END
#endif
