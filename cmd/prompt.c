/*
 * The yes/no question before destructive work.  It talks to /dev/tty rather
 * than stdin/stdout so that piped output and redirected input never answer
 * it by accident.  It does not decide whether to ask: callers combine
 * ops_is_interactive() with --force and the maintenance window.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "opsmaint/fileio.h"
#include "prompt.h"

int ops_is_interactive(void)
{
	return isatty(STDIN_FILENO) && isatty(STDERR_FILENO);
}

/* Longest answer we look at; the rest of a long line is read and ignored. */
#define ANSWER_MAX 16

int ops_confirm(const char *question)
{
	char answer[ANSWER_MAX + 1], c = 0;
	size_t used = 0, b, e;
	ssize_t n;
	int fd, got = 0, yes = 0;

	fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (ops_write_all(fd, question, strlen(question)) != 0 ||
	    ops_write_all(fd, " [y/N] ", 7) != 0)
		goto out;
	for (;;) {
		n = read(fd, &c, 1);
		if (n < 0 && errno == EINTR)
			break;	/* a signal (Ctrl-C with a handler) is a no */
		if (n <= 0)
			break;
		got = 1;
		if (c == '\n')
			break;
		if (used < ANSWER_MAX)
			answer[used++] = c;
	}
	if (!got || c != '\n')
		(void)ops_write_all(fd, "\n", 1);	/* end of input: keep the screen tidy */
	answer[used] = '\0';
	for (b = 0; b < used && (answer[b] == ' ' || answer[b] == '\t'); b++)
		;
	for (e = used; e > b && (answer[e - 1] == ' ' || answer[e - 1] == '\t' ||
				 answer[e - 1] == '\r'); e--)
		;
	answer[e] = '\0';
	yes = strcasecmp(answer + b, "y") == 0 || strcasecmp(answer + b, "yes") == 0;
out:
	close(fd);
	return yes;
}
