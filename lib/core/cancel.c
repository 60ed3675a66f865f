/*
 * Process-wide cancellation: a flag and a small table of hooks that interrupt
 * work which cannot poll the flag (a query waiting on the server, a child
 * process).  The mutex only orders hooks against their removal; the flag is
 * an atomic so that pollers never take a lock.  It installs no signal
 * handlers: the front end decides which signals mean "stop".
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>

#include "opsmaint/cancel.h"

#define HOOKS_MAX 64

static atomic_int requested;
static pthread_mutex_t hooks_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	void (*fn)(void *arg);
	void *arg;
} hooks[HOOKS_MAX];

void ops_cancel_request(int signo)
{
	int expected = 0, i;

	if (signo == 0)
		signo = SIGTERM;
	if (!atomic_compare_exchange_strong(&requested, &expected, signo))
		return;
	pthread_mutex_lock(&hooks_lock);
	for (i = 0; i < HOOKS_MAX; i++)
		if (hooks[i].fn)
			hooks[i].fn(hooks[i].arg);
	pthread_mutex_unlock(&hooks_lock);
}

int ops_cancelled(void)
{
	return atomic_load(&requested);
}

ops_code ops_cancel_check(ops_error *err)
{
	int sig = atomic_load(&requested);

	if (!sig)
		return OPS_OK;
	return ops_error_set(err, OPS_EINTR, "interrupted by %s",
			     sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" :
			     sig == SIGHUP ? "SIGHUP" : "a signal");
}

int ops_cancel_hook_add(void (*fn)(void *arg), void *arg)
{
	int i, slot = -1;

	pthread_mutex_lock(&hooks_lock);
	for (i = 0; i < HOOKS_MAX; i++)
		if (!hooks[i].fn) {
			hooks[i].fn = fn;
			hooks[i].arg = arg;
			slot = i;
			break;
		}
	pthread_mutex_unlock(&hooks_lock);
	/* Registered after the request: the work must still be stopped. */
	if (slot >= 0 && atomic_load(&requested))
		fn(arg);
	return slot;
}

void ops_cancel_hook_remove(int handle)
{
	if (handle < 0 || handle >= HOOKS_MAX)
		return;
	pthread_mutex_lock(&hooks_lock);
	hooks[handle].fn = NULL;
	hooks[handle].arg = NULL;
	pthread_mutex_unlock(&hooks_lock);
}

void ops_cancel_reset(void)
{
	atomic_store(&requested, 0);
}
