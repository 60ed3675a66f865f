/*
 * prompt: without a terminal nothing is asked (cron, CI); with one, the
 * question goes to /dev/tty and only y/yes confirms.  Each case runs in a
 * child that starts a new session, so "no controlling terminal" is certain
 * whatever terminal the test runner has, and a pseudo-terminal made the
 * child's controlling terminal stands in for an operator.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "prompt.h"
#include "unit.h"

/* Run ops_confirm in a new session without a terminal; its result or -99. */
static int confirm_without_tty(void)
{
	pid_t pid = fork();
	int status, r;

	if (pid < 0)
		return -99;
	if (pid == 0) {
		if (setsid() < 0)
			_exit(99);
		r = ops_confirm("drop everything?");
		_exit(r + 10);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -99;
	return WEXITSTATUS(status) - 10;
}

/*
 * Run ops_confirm in a child whose controlling terminal is a new pty, type
 * answer (NULL: hang up) once the prompt appears, and return its result.
 * What the child wrote to the terminal is copied to shown.
 */
static int confirm_on_pty(const char *answer, char *shown, size_t size)
{
	int master, slave, status, r;
	size_t used = 0;
	ssize_t n;
	pid_t pid;
	char *name;

	shown[0] = '\0';
	master = posix_openpt(O_RDWR | O_NOCTTY);
	if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0 ||
	    !(name = ptsname(master)))
		return -98;
	pid = fork();
	if (pid < 0)
		return -99;
	if (pid == 0) {
		close(master);
		if (setsid() < 0)
			_exit(99);
		slave = open(name, O_RDWR);	/* becomes the controlling tty */
		if (slave < 0)
			_exit(98);
		alarm(10);
		r = ops_confirm("drop table documents?");
		_exit(r + 10);
	}
	alarm(10);	/* never hang the test run */
	while (used + 1 < size && !strstr(shown, "[y/N] ")) {
		n = read(master, shown + used, size - used - 1);
		if (n <= 0)
			break;
		used += (size_t)n;
		shown[used] = '\0';
	}
	if (answer) {
		if (write(master, answer, strlen(answer)) < 0)
			return -97;
	} else {
		/* ^D at the start of a line: end of input. */
		if (write(master, "\004", 1) < 0)
			return -97;
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		r = -99;
	else
		r = WEXITSTATUS(status) - 10;
	alarm(0);
	close(master);
	return r;
}

TEST(not_interactive_with_stdin_from_dev_null)
{
	int saved = dup(0), null = open("/dev/null", O_RDONLY);

	CHECK(saved >= 0 && null >= 0);
	CHECK(dup2(null, 0) == 0);
	CHECK_INT(ops_is_interactive(), 0);
	CHECK(dup2(saved, 0) == 0);
	close(null);
	close(saved);
	/* And it agrees with isatty in the environment we actually have. */
	CHECK_INT(ops_is_interactive(), isatty(0) && isatty(2));
}

TEST(confirm_without_terminal_is_minus_one)
{
	CHECK_INT(confirm_without_tty(), -1);
}

TEST(confirm_on_terminal)
{
	char shown[512];
	int r;

	r = confirm_on_pty("yes\n", shown, sizeof shown);
	if (r == -98) {
		printf("# note: no pseudo-terminals here; terminal path not tested\n");
		return;
	}
	CHECK_INT(r, 1);
	CHECK_CONTAINS(shown, "drop table documents? [y/N] ");
	CHECK_INT(confirm_on_pty("y\n", shown, sizeof shown), 1);
	CHECK_INT(confirm_on_pty("  Y \n", shown, sizeof shown), 1);
	CHECK_INT(confirm_on_pty("YES\n", shown, sizeof shown), 1);
	CHECK_INT(confirm_on_pty("n\n", shown, sizeof shown), 0);
	CHECK_INT(confirm_on_pty("\n", shown, sizeof shown), 0);
	CHECK_INT(confirm_on_pty("yess\n", shown, sizeof shown), 0);
	CHECK_INT(confirm_on_pty("yes please, drop it all right now\n", shown,
				 sizeof shown), 0);
	CHECK_INT(confirm_on_pty(NULL, shown, sizeof shown), 0);
}

int main(void)
{
	RUN(not_interactive_with_stdin_from_dev_null);
	RUN(confirm_without_terminal_is_minus_one);
	RUN(confirm_on_terminal);
	return unit_done();
}
