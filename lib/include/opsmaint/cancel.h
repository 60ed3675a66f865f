/*
 * Cancellation of the work in progress, process-wide, as a signal is.  The
 * front end calls ops_cancel_request() when SIGINT or SIGTERM arrives (from
 * a thread that waits for signals, not from a handler); long work polls
 * ops_cancelled() between steps and unwinds through its normal error path,
 * so temporary files are removed and locks released exactly as on any other
 * failure.  Work that blocks where it cannot poll (a query on the server, a
 * child process such as pg_dump) registers a hook that interrupts it:
 * PQcancel for a connection, SIGTERM for a child.
 *
 * It does not install signal handlers, exit, or print: that is the front
 * end's business.
 */
#ifndef OPSMAINT_CANCEL_H
#define OPSMAINT_CANCEL_H
#include "opsmaint/api.h"
OPS_API_BEGIN

#include "opsmaint/error.h"

/*
 * Request cancellation, naming the signal that asked (SIGTERM; any non-zero
 * number).  Runs every registered hook once.  Safe to call from any thread;
 * a second request only records nothing new.
 */
void ops_cancel_request(int signo);
/* The signal of the first request, or 0 when none was made. */
int ops_cancelled(void);
/*
 * OPS_OK, or OPS_EINTR "interrupted by SIGTERM" when a request was made.
 * err may be NULL.
 */
ops_code ops_cancel_check(ops_error *err);

/*
 * Run fn(arg) when cancellation is requested (at once if it already was).
 * Returns a handle for ops_cancel_hook_remove, or -1 when the table is full
 * (the work then just finishes its current step before noticing).  fn runs
 * on the requesting thread and must be thread-safe.
 */
int ops_cancel_hook_add(void (*fn)(void *arg), void *arg);
/* Unregister; when it returns, the hook is not running and will not run. */
void ops_cancel_hook_remove(int handle);

/* Forget any request (tests, and a front end that runs several commands). */
void ops_cancel_reset(void);

OPS_API_END
#endif
