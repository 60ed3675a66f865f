/*
 * Confirmation before destructive work, only on a terminal: cron and CI have
 * no terminal and are never asked (they rely on the window and --force).
 */
#ifndef OPSCTL_PROMPT_H
#define OPSCTL_PROMPT_H

/* 1 when standard input and standard error are both terminals. */
int ops_is_interactive(void);

/*
 * Ask "question [y/N] " on /dev/tty and read the answer.  Returns 1 for y/yes,
 * 0 for anything else or end of input, -1 when there is no terminal.
 */
int ops_confirm(const char *question);

#endif
