/*
 * Child processes through posix_spawn: no shell, so no quoting to get wrong,
 * and safe beside the archive's threads.  Standard error goes to a memfd,
 * unbounded for the child and read back afterwards, so a chatty child never
 * blocks on a full pipe nobody reads.
 *
 * A child starts with no blocked signals and default dispositions whatever
 * the parent blocks (the CLI waits for SIGINT/SIGTERM in a thread), and is
 * sent SIGTERM when the run is cancelled (cancel.h), so an interrupted
 * backup does not leave pg_dump running.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "opsmaint/cancel.h"
#include "opsmaint/proc.h"

extern char **environ;

#define STDERR_KEEP (64u << 10)

struct ops_proc {
	pid_t pid;
	int cancel_hook;	/* -1 when none */
	int err_fd;
	char *name;
	char *err_text;
};

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

/* environ with each NAME=VALUE of add replacing or joining NAME. */
static char **merged_env(char *const add[])
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
		if (!replaced)
			env[k++] = environ[i];
	}
	for (j = 0; add && add[j]; j++)
		env[k++] = add[j];
	return env;
}

static void terminate_child(void *arg)
{
	ops_proc *p = arg;

	kill(p->pid, SIGTERM);
}

/*
 * Wait for the child to end without reaping it, drop the cancel hook, then
 * reap: while the hook can run, the pid stays a zombie that no new process
 * can be given.
 */
static int reap(ops_proc *p)
{
	siginfo_t si;
	int status = 0;

	memset(&si, 0, sizeof si);
	while (waitid(P_PID, (id_t)p->pid, &si, WEXITED | WNOWAIT) < 0 && errno == EINTR)
		;
	ops_cancel_hook_remove(p->cancel_hook);
	p->cancel_hook = -1;
	while (waitpid(p->pid, &status, 0) < 0 && errno == EINTR)
		;
	return status;
}

ops_code ops_proc_start(const char *dir, char *const argv[], char *const env_add[],
			unsigned pipes, int *in_fd, int *out_fd, ops_proc **out,
			ops_error *err)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, dfl;
	int inp[2] = {-1, -1}, outp[2] = {-1, -1}, rc;
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
	if (p)
		p->cancel_hook = -1;
	env = merged_env(env_add);
	if (!p || !env || !(p->name = strdup(argv[0]))) {
		code = ops_error_oom(err);
		goto fail;
	}
	p->err_fd = memfd_create("opsctl-child-stderr", MFD_CLOEXEC);
	if (p->err_fd < 0) {
		code = ops_error_set(err, OPS_EINTERNAL, "cannot create a buffer for standard error: %s", strerror(errno));
		goto fail;
	}
	if (((pipes & OPS_PROC_PIPE_IN) && pipe2(inp, O_CLOEXEC) != 0) ||
	    ((pipes & OPS_PROC_PIPE_OUT) && pipe2(outp, O_CLOEXEC) != 0)) {
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
	else
		posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, p->err_fd, 2);
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
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
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
	if (p && p->err_fd > 0)
		close(p->err_fd);
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
	free(p->err_text);
	free(p->name);
	free(p);
}

ops_code ops_proc_wait(ops_proc *p, ops_error *err)
{
	int status;
	ops_code rc = OPS_OK;

	status = reap(p);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
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

void ops_proc_kill(ops_proc *p)
{
	if (!p)
		return;
	kill(p->pid, SIGTERM);
	reap(p);
	proc_free(p);
}

pid_t ops_proc_pid(const ops_proc *p)
{
	return p->pid;
}
