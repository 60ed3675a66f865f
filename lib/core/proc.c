/*
 * Child processes through posix_spawn: no shell, so no quoting to get wrong,
 * and safe beside the archive's threads.  Standard error goes to a memfd,
 * unbounded for the child and read back afterwards, so a chatty child never
 * blocks on a full pipe nobody reads.
 *
 * A child starts with no blocked signals and default dispositions whatever
 * the parent blocks (the CLI waits for SIGINT/SIGTERM in a thread), and is
 * sent SIGTERM when the run is cancelled (cancel.h), so an interrupted
 * backup does not leave pg_dump running.  With OPS_PROC_OWN_GROUP it gets a
 * process group of its own and the signals go to that group, so a warm-up
 * script's curl stops with it; a terminal's Ctrl-C then reaches opsctl
 * alone, which stops the child through cancellation.  Not the default: a
 * SIGKILL to opsctl's own group (a supervisor's, t630's) would no longer
 * reach the child.
 *
 * Waiting sleeps in poll(2) on a pidfd (the child's exit) and an eventfd
 * (the cancel hook), so a deadline costs no polling loop; a kernel without
 * pidfd_open (before 5.3) falls back to checking every 50 ms.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "opsmaint/cancel.h"
#include "opsmaint/clock.h"
#include "opsmaint/proc.h"

extern char **environ;

#define STDERR_KEEP (64u << 10)
#define CAPTURE_KEEP (64u << 10)
/* Without a pidfd, how often the child is checked for. */
#define FALLBACK_POLL_MS 50

struct ops_proc {
	pid_t pid;		/* and its process group's id with own_group */
	int own_group;
	int cancel_hook;	/* -1 when none */
	int err_fd;
	int pid_fd;		/* readable once the child exits; -1 without pidfd_open */
	int wake_fd;		/* eventfd the cancel hook writes to wake a waiter */
	char *name;
	char *err_text;
	/* OPS_PROC_CAPTURE: the read end of the output pipe (-1 once at its
	 * end), and the last CAPTURE_KEEP bytes read from it */
	int cap_fd;
	char *cap;
	size_t cap_len;
	/* Set by the cancel hook once it has sent SIGTERM: the waiter does
	 * not send a second one, which an opsctl child takes for "exit now,
	 * without cleaning up" (cmd/opsctl.c). */
	int termed;
};

/* How a wait ended. */
enum ending { EXITED, TIMED_OUT, CANCELLED, KILLED };

/* The program's path: dir/name, or the first PATH entry holding it. */
static char *find_program(const char *dir, const char *name)
{
	const char *path = getenv("PATH"), *p;
	char *full = NULL;

	if (strchr(name, '/'))
		return access(name, X_OK) == 0 ? strdup(name) : NULL;
	if (dir && *dir) {
		if (asprintf(&full, "%s/%s", dir, name) < 0)
			return NULL;
		if (access(full, X_OK) == 0)
			return full;
		free(full);
		return NULL;
	}
	for (p = path ? path : "/usr/bin:/bin"; p && *p;) {
		const char *colon = strchrnul(p, ':');

		if (asprintf(&full, "%.*s/%s", (int)(colon - p), p, name) < 0)
			return NULL;
		if (colon > p && access(full, X_OK) == 0)
			return full;
		free(full);
		full = NULL;
		p = *colon ? colon + 1 : colon;
	}
	return NULL;
}

/*
 * Variables that carry a credential by their name (PGPASSWORD, VAULT_TOKEN,
 * AWS_SECRET_ACCESS_KEY, REDISCLI_AUTH, ...): left out of the environment
 * of a child started with OPS_PROC_NO_SECRETS, and reported by `scan -t code`.
 */
int ops_proc_secret_name(const char *s, size_t len)
{
	static const char *const words[] = {"PASSWORD", "PASSWD", "SECRET", "TOKEN", "CREDENTIAL",
					    "PRIVATE", "APIKEY", "API_KEY", "AUTH", NULL};
	const char *const *w;
	size_t wl, i;

	for (w = words; *w; w++) {
		wl = strlen(*w);
		for (i = 0; i + wl <= len; i++)
			if (strncasecmp(s + i, *w, wl) == 0)
				return 1;
	}
	/* AWS_SECRET_ACCESS_KEY is caught above; SOMETHING_KEY by its end. */
	return len > 4 && strncasecmp(s + len - 4, "_KEY", 4) == 0;
}

/* environ with each NAME=VALUE of add replacing or joining NAME; with
 * no_secrets, without the variables ops_proc_secret_name names. */
static char **merged_env(char *const add[], int no_secrets)
{
	size_t n = 0, k = 0, i, j;
	char **env;

	while (environ[n])
		n++;
	while (add && add[k])
		k++;
	env = calloc(n + k + 1, sizeof *env);
	if (!env)
		return NULL;
	k = 0;
	for (i = 0; i < n; i++) {
		size_t len = strcspn(environ[i], "=");
		int replaced = 0;

		for (j = 0; add && add[j]; j++)
			if (strncmp(add[j], environ[i], len) == 0 && add[j][len] == '=')
				replaced = 1;
		if (!replaced && !(no_secrets && ops_proc_secret_name(environ[i], len)))
			env[k++] = environ[i];
	}
	for (j = 0; add && add[j]; j++)
		env[k++] = add[j];
	return env;
}

static void signal_child(const ops_proc *p, int sig)
{
	kill(p->own_group ? -p->pid : p->pid, sig);
}

/* SIGCONT after SIGTERM, as systemd does, so that a child stopped (SIGTTIN
 * from a terminal its own group may not read) handles it now. */
static void term_group(const ops_proc *p)
{
	signal_child(p, SIGTERM);
	signal_child(p, SIGCONT);
}

static void terminate_child(void *arg)
{
	ops_proc *p = arg;
	uint64_t one = 1;

	__atomic_store_n(&p->termed, 1, __ATOMIC_SEQ_CST);
	term_group(p);
	/* The waiter gives the group its grace, then SIGKILL. */
	if (write(p->wake_fd, &one, sizeof one) < 0) {
		/* The counter is full: the waiter is already woken. */
	}
}

static int child_exited(const ops_proc *p)
{
	siginfo_t si;

	memset(&si, 0, sizeof si);
	return waitid(P_PID, (id_t)p->pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
	       si.si_pid == p->pid;
}

/* Milliseconds from now until the monotonic time `at`, for poll. */
static int ms_until(double at)
{
	double ms = (at - ops_clock()) * 1000.0 + 1.0;

	return ms <= 0 ? 0 : ms >= INT_MAX ? INT_MAX : (int)ms;
}

/* What the output pipe holds now, keeping the last CAPTURE_KEEP bytes
 * (the buffer is twice that, so the tail moves down once per 64 KiB). */
static void drain_capture(ops_proc *p)
{
	char buf[8192];
	ssize_t n;

	while (p->cap_fd >= 0) {
		n = read(p->cap_fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0 || errno != EAGAIN) {	/* its end, or broken */
				close(p->cap_fd);
				p->cap_fd = -1;
			}
			return;
		}
		if (p->cap_len + (size_t)n > 2 * CAPTURE_KEEP) {
			size_t keep = CAPTURE_KEEP - (size_t)n;

			memmove(p->cap, p->cap + p->cap_len - keep, keep);
			p->cap_len = keep;
		}
		memcpy(p->cap + p->cap_len, buf, (size_t)n);
		p->cap_len += (size_t)n;
	}
}

/*
 * Wait, without reaping, until the child exits.  With timeout_ms > 0 a
 * child still running then is sent SIGTERM (its whole group); so is one
 * whose run is cancelled (the hook did that already); either way SIGKILL
 * follows OPS_PROC_GRACE_MS later.  `ending` is KILLED when the caller
 * has sent SIGTERM already (ops_proc_kill).
 */
static enum ending await_exit(ops_proc *p, long timeout_ms, enum ending ending)
{
	double deadline = timeout_ms > 0 ? ops_clock() + (double)timeout_ms / 1000.0 : 0;
	double kill_at = ending == EXITED ? 0 : ops_clock() + OPS_PROC_GRACE_MS / 1000.0;
	int killed = 0;

	for (;;) {
		struct pollfd fds[3] = {{.fd = p->pid_fd, .events = POLLIN},
					{.fd = p->wake_fd, .events = POLLIN},
					{.fd = p->cap_fd, .events = POLLIN}};
		uint64_t drained;
		int wait_ms = -1;

		if (child_exited(p))
			break;
		if (ending == EXITED && (ops_cancelled() ||
					 (deadline > 0 && ops_clock() >= deadline))) {
			ending = ops_cancelled() ? CANCELLED : TIMED_OUT;
			if (!__atomic_exchange_n(&p->termed, 1, __ATOMIC_SEQ_CST))
				term_group(p);
			kill_at = ops_clock() + OPS_PROC_GRACE_MS / 1000.0;
		}
		if (ending != EXITED && !killed && ops_clock() >= kill_at) {
			signal_child(p, SIGKILL);
			killed = 1;
		}
		if (ending != EXITED && !killed)
			wait_ms = ms_until(kill_at);
		else if (ending == EXITED && deadline > 0)
			wait_ms = ms_until(deadline);
		if (p->pid_fd < 0 && (wait_ms < 0 || wait_ms > FALLBACK_POLL_MS))
			wait_ms = FALLBACK_POLL_MS;
		/* poll skips a negative fd; EINTR just goes round again. */
		if (poll(fds, 3, wait_ms) > 0 && (fds[1].revents & POLLIN)) {
			if (read(p->wake_fd, &drained, sizeof drained) < 0) {
				/* Nothing left to drain: another round finds out why. */
			}
		}
		if (fds[2].revents)
			drain_capture(p);
	}
	/* What it wrote before it exited; a grandchild that kept the pipe
	 * open is not waited for. */
	drain_capture(p);
	return ending;
}

/*
 * Wait for the child to end without reaping it, end what is left of its
 * group when it was stopped, drop the cancel hook, then reap: while the
 * hook can run, the pid stays a zombie, so neither it nor its group id can
 * be given to a new process.
 */
static int reap(ops_proc *p, long timeout_ms, enum ending *ending)
{
	int status = 0;

	*ending = await_exit(p, timeout_ms, *ending);
	/* The leader is gone; what it started and left behind is not kept. */
	if (*ending != EXITED && p->own_group)
		kill(-p->pid, SIGKILL);
	ops_cancel_hook_remove(p->cancel_hook);
	p->cancel_hook = -1;
	while (waitpid(p->pid, &status, 0) < 0 && errno == EINTR)
		;
	return status;
}

static int open_pidfd(pid_t pid)
{
#ifdef SYS_pidfd_open
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	(void)pid;
	return -1;
#endif
}

ops_code ops_proc_start(const char *dir, char *const argv[], char *const env_add[],
			unsigned pipes, int *in_fd, int *out_fd, ops_proc **out,
			ops_error *err)
{
	return ops_proc_start_in(NULL, dir, argv, env_add, pipes, in_fd, out_fd, out, err);
}

ops_code ops_proc_start_in(const char *cwd, const char *dir, char *const argv[],
			   char *const env_add[], unsigned pipes, int *in_fd, int *out_fd,
			   ops_proc **out, ops_error *err)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, dfl;
	int inp[2] = {-1, -1}, outp[2] = {-1, -1}, capp[2] = {-1, -1}, rc;
	char *prog = find_program(dir, argv[0]), **env = NULL;
	ops_proc *p = NULL;
	ops_code code = OPS_OK;

	*out = NULL;
	if (!prog) {
		if (dir && *dir)
			return ops_error_set(err, OPS_EUNAVAIL, "%s not found in %s", argv[0], dir);
		return ops_error_set(err, OPS_EUNAVAIL, "%s not found in PATH", argv[0]);
	}
	p = calloc(1, sizeof *p);
	if (p) {
		p->cancel_hook = -1;
		p->err_fd = p->pid_fd = p->wake_fd = p->cap_fd = -1;
	}
	env = merged_env(env_add, (pipes & OPS_PROC_NO_SECRETS) != 0);
	if (!p || !env || !(p->name = strdup(argv[0]))) {
		code = ops_error_oom(err);
		goto fail;
	}
	p->err_fd = memfd_create("opsctl-child-stderr", MFD_CLOEXEC);
	if (p->err_fd < 0) {
		code = ops_error_set(err, OPS_EINTERNAL, "cannot create a buffer for standard error: %s", strerror(errno));
		goto fail;
	}
	p->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (p->wake_fd < 0) {
		code = ops_error_set(err, OPS_EINTERNAL, "cannot create an eventfd: %s", strerror(errno));
		goto fail;
	}
	if ((pipes & OPS_PROC_CAPTURE) && !(p->cap = malloc(2 * CAPTURE_KEEP))) {
		code = ops_error_oom(err);
		goto fail;
	}
	if (((pipes & OPS_PROC_PIPE_IN) && pipe2(inp, O_CLOEXEC) != 0) ||
	    ((pipes & OPS_PROC_PIPE_OUT) && pipe2(outp, O_CLOEXEC) != 0) ||
	    ((pipes & OPS_PROC_CAPTURE) && (pipe2(capp, O_CLOEXEC) != 0 ||
					     fcntl(capp[0], F_SETFL, O_NONBLOCK) != 0))) {
		code = ops_error_set(err, OPS_EINTERNAL, "cannot create a pipe: %s", strerror(errno));
		goto fail;
	}
	posix_spawn_file_actions_init(&fa);
	if (pipes & OPS_PROC_PIPE_IN)
		posix_spawn_file_actions_adddup2(&fa, inp[0], 0);
	else
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (pipes & OPS_PROC_PIPE_OUT)
		posix_spawn_file_actions_adddup2(&fa, outp[1], 1);
	else if (pipes & OPS_PROC_CAPTURE)
		posix_spawn_file_actions_adddup2(&fa, capp[1], 1);
	else
		posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, (pipes & OPS_PROC_CAPTURE) ? capp[1] : p->err_fd, 2);
	if (cwd)
		posix_spawn_file_actions_addchdir_np(&fa, cwd);
	posix_spawnattr_init(&attr);
	sigemptyset(&none);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGINT);
	sigaddset(&dfl, SIGTERM);
	sigaddset(&dfl, SIGPIPE);
	sigaddset(&dfl, SIGXFSZ);
	sigaddset(&dfl, SIGHUP);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &dfl);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
				 ((pipes & OPS_PROC_OWN_GROUP) ? POSIX_SPAWN_SETPGROUP : 0));
	p->own_group = (pipes & OPS_PROC_OWN_GROUP) != 0;
	rc = posix_spawn(&p->pid, prog, &fa, &attr, argv, env);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0) {
		code = ops_error_errno(err, rc, "cannot run", prog);
		goto fail;
	}
	if (inp[0] >= 0)
		close(inp[0]);
	if (outp[1] >= 0)
		close(outp[1]);
	if (capp[1] >= 0) {
		/* Only the reading end is non-blocking: the child writes as to
		 * any pipe, waiting when it is full. */
		close(capp[1]);
		p->cap_fd = capp[0];
	}
	p->pid_fd = open_pidfd(p->pid);
	p->cancel_hook = ops_cancel_hook_add(terminate_child, p);
	if (in_fd)
		*in_fd = inp[1];
	if (out_fd)
		*out_fd = outp[0];
	free(prog);
	free(env);
	*out = p;
	return OPS_OK;
fail:
	if (inp[0] >= 0) {
		close(inp[0]);
		close(inp[1]);
	}
	if (outp[0] >= 0) {
		close(outp[0]);
		close(outp[1]);
	}
	if (capp[0] >= 0) {
		close(capp[0]);
		close(capp[1]);
	}
	if (p)
		free(p->cap);
	if (p && p->err_fd >= 0)
		close(p->err_fd);
	if (p && p->wake_fd >= 0)
		close(p->wake_fd);
	if (p)
		free(p->name);
	free(p);
	free(prog);
	free(env);
	return code;
}

const char *ops_proc_stderr(ops_proc *p)
{
	off_t size = lseek(p->err_fd, 0, SEEK_END), from;
	ssize_t n;
	char *text;

	if (p->cap) {
		size_t skip;

		drain_capture(p);
		skip = p->cap_len > CAPTURE_KEEP ? p->cap_len - CAPTURE_KEEP : 0;
		text = realloc(p->err_text, p->cap_len - skip + 1);
		if (!text)
			return "";
		p->err_text = text;
		memcpy(text, p->cap + skip, p->cap_len - skip);
		n = (ssize_t)(p->cap_len - skip);
		text[n] = '\0';
		while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r'))
			text[--n] = '\0';
		return text;
	}
	from = size > (off_t)STDERR_KEEP ? size - (off_t)STDERR_KEEP : 0;
	text = realloc(p->err_text, (size_t)(size - from) + 1);
	if (!text)
		return "";
	p->err_text = text;
	n = pread(p->err_fd, text, (size_t)(size - from), from);
	text[n > 0 ? n : 0] = '\0';
	/* Trailing newlines would end the one-line error early. */
	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r'))
		text[--n] = '\0';
	return text;
}

static void proc_free(ops_proc *p)
{
	ops_cancel_hook_remove(p->cancel_hook);
	close(p->err_fd);
	close(p->wake_fd);
	if (p->pid_fd >= 0)
		close(p->pid_fd);
	if (p->cap_fd >= 0)
		close(p->cap_fd);
	free(p->cap);
	free(p->err_text);
	free(p->name);
	free(p);
}

ops_code ops_proc_wait_exit(ops_proc *p, long timeout_ms, int *exit_status, int *timed_out,
			    char **output, ops_error *err)
{
	enum ending ending = EXITED;
	int status;
	ops_code rc = OPS_OK;

	status = reap(p, timeout_ms, &ending);
	if (output)
		*output = strdup(ops_proc_stderr(p));
	if (exit_status)
		*exit_status = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
	if (timed_out)
		*timed_out = ending == TIMED_OUT;
	if (ending == TIMED_OUT) {
		const char *text = ops_proc_stderr(p);

		rc = ops_error_set(err, OPS_EFAIL, "%s timed out after %g s", p->name,
				   (double)timeout_ms / 1000.0);
		if (*text)
			ops_error_detail(err, "%s", text);
	} else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		rc = OPS_OK;
	} else if (ops_cancelled()) {
		/* Stopped because the run was: that is the error, not the signal. */
		rc = ops_cancel_check(err);
	} else {
		const char *text = ops_proc_stderr(p), *last = strrchr(text, '\n');
		char how[64];

		if (WIFSIGNALED(status))
			snprintf(how, sizeof how, "killed by signal %d", WTERMSIG(status));
		else
			snprintf(how, sizeof how, "exit %d", WEXITSTATUS(status));
		last = last ? last + 1 : text;
		rc = ops_error_set(err, OPS_EFAIL, "%s failed (%s)%s%s", p->name, how,
				   *last ? ": " : "", last);
		if (*text && last != text)
			ops_error_detail(err, "%s", text);
	}
	proc_free(p);
	return rc;
}

ops_code ops_proc_wait_timeout(ops_proc *p, long timeout_ms, ops_error *err)
{
	return ops_proc_wait_exit(p, timeout_ms, NULL, NULL, NULL, err);
}

ops_code ops_proc_wait(ops_proc *p, ops_error *err)
{
	return ops_proc_wait_timeout(p, 0, err);
}

void ops_proc_kill(ops_proc *p)
{
	enum ending ending = KILLED;

	if (!p)
		return;
	term_group(p);
	reap(p, 0, &ending);
	proc_free(p);
}

pid_t ops_proc_pid(const ops_proc *p)
{
	return p->pid;
}
