/*
 * Unit tests for lib/core/proc.c: waiting for a child with a deadline
 * (SIGTERM to its group, SIGKILL after the grace), exit codes and standard
 * error kept, and a cancelled run stopping the child.  Real children (sh,
 * sleep), since what is tested is their signals and process groups.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "opsmaint/cancel.h"
#include "opsmaint/clock.h"
#include "opsmaint/fileio.h"
#include "opsmaint/proc.h"
#include "unit.h"

static ops_proc *start_sh_with(const char *script, unsigned flags)
{
	char *argv[] = {"sh", "-c", (char *)script, NULL};
	ops_proc *p = NULL;
	ops_error err;

	ops_error_clear(&err);
	if (ops_proc_start(NULL, argv, NULL, flags, NULL, NULL, &p, &err) != OPS_OK)
		fprintf(stderr, "cannot start sh: %s\n", err.message);
	return p;
}

static ops_proc *start_sh(const char *script)
{
	return start_sh_with(script, 0);
}

/* Gone, or a zombie nobody reaps (a container's init may not): not running. */
static int running(pid_t pid)
{
	char path[64], stat[256];
	FILE *f;
	char *close_paren;
	int alive = 0;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if (!(f = fopen(path, "r")))
		return 0;
	if (fgets(stat, sizeof stat, f) && (close_paren = strrchr(stat, ')')))
		alive = close_paren[1] == ' ' && close_paren[2] != 'Z' && close_paren[2] != 'X';
	fclose(f);
	return alive;
}

/* A signal's delivery to another process is not instant. */
static int ended_soon(pid_t pid)
{
	double until = ops_clock() + 1;

	while (running(pid) && ops_clock() < until)
		usleep(10000);
	return !running(pid);
}

static pid_t read_pid(const char *file)
{
	FILE *f;
	int pid = 0;
	double until = ops_clock() + 5;

	/* The child writes it soon after it starts. */
	while (ops_clock() < until) {
		if ((f = fopen(file, "r"))) {
			if (fscanf(f, "%d", &pid) != 1)
				pid = 0;
			fclose(f);
			if (pid > 0)
				break;
		}
		usleep(10000);
	}
	return (pid_t)pid;
}

TEST(sleep_is_stopped_at_the_deadline)
{
	char *argv[] = {"sleep", "30", NULL};
	ops_proc *p = NULL;
	ops_error err;
	double t0;
	pid_t pid;

	ops_error_clear(&err);
	CHECK_INT(ops_proc_start(NULL, argv, NULL, 0, NULL, NULL, &p, &err), OPS_OK);
	if (!p)
		return;
	pid = ops_proc_pid(p);
	t0 = ops_clock();
	CHECK_INT(ops_proc_wait_timeout(p, 200, &err), OPS_EFAIL);
	/* sleep dies of the SIGTERM: no grace needed. */
	CHECK(ops_clock() - t0 >= 0.19);
	CHECK(ops_clock() - t0 < 1.5);
	CHECK_STR(err.message, "sleep timed out after 0.2 s");
	CHECK(ended_soon(pid));
}

TEST(an_exit_before_the_deadline_is_not_waited_out)
{
	ops_proc *p = start_sh("exit 0");
	ops_error err;
	double t0 = ops_clock();

	ops_error_clear(&err);
	if (!p)
		return;
	CHECK_INT(ops_proc_wait_timeout(p, 10000, &err), OPS_OK);
	CHECK(ops_clock() - t0 < 2);
}

TEST(exit_codes_and_stderr_are_kept)
{
	ops_proc *p = start_sh("echo first line >&2; echo it broke >&2; exit 3");
	ops_error err;

	ops_error_clear(&err);
	if (!p)
		return;
	CHECK_INT(ops_proc_wait_timeout(p, 10000, &err), OPS_EFAIL);
	CHECK_STR(err.message, "sh failed (exit 3): it broke");
	CHECK_STR(err.detail, "first line\nit broke");

	p = start_sh("kill -USR1 $$");
	if (!p)
		return;
	CHECK_INT(ops_proc_wait_timeout(p, 10000, &err), OPS_EFAIL);
	CHECK_STR(err.message, "sh failed (killed by signal 10)");
}

TEST(stderr_is_kept_when_timed_out)
{
	ops_proc *p = start_sh("echo warming up >&2; sleep 30");
	ops_error err;

	ops_error_clear(&err);
	if (!p)
		return;
	CHECK_INT(ops_proc_wait_timeout(p, 300, &err), OPS_EFAIL);
	CHECK_STR(err.message, "sh timed out after 0.3 s");
	CHECK_STR(err.detail, "warming up");
}

TEST(own_group_is_asked_for)
{
	ops_proc *p = start_sh_with("sleep 30", OPS_PROC_OWN_GROUP);
	ops_error err;

	ops_error_clear(&err);
	if (!p)
		return;
	CHECK_INT(getpgid(ops_proc_pid(p)), ops_proc_pid(p));
	CHECK(getpgid(ops_proc_pid(p)) != getpgrp());
	CHECK_INT(ops_proc_wait_timeout(p, 100, &err), OPS_EFAIL);
	/* Without it the child stays in ours, where a SIGKILL to our group
	 * reaches it too; the deadline still stops it. */
	if (!(p = start_sh("sleep 30")))
		return;
	CHECK_INT(getpgid(ops_proc_pid(p)), getpgrp());
	CHECK_INT(ops_proc_wait_timeout(p, 100, &err), OPS_EFAIL);
	CHECK_STR(err.message, "sh timed out after 0.1 s");
}

/* A child that ignores SIGTERM, and its own child: SIGKILL after the grace
 * reaches both (OPS_PROC_OWN_GROUP). */
TEST(sigkill_after_the_grace_reaches_the_whole_group)
{
	char file[] = "/tmp/opsctl-test-proc-XXXXXX", script[200];
	int fd = mkstemp(file);
	ops_proc *p;
	ops_error err;
	double t0, took;
	pid_t grandchild;

	ops_error_clear(&err);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	close(fd);
	snprintf(script, sizeof script, "trap '' TERM; sleep 30 & echo $! >%s; wait; wait", file);
	if (!(p = start_sh_with(script, OPS_PROC_OWN_GROUP)))
		return;
	grandchild = read_pid(file);
	CHECK(grandchild > 0);
	t0 = ops_clock();
	CHECK_INT(ops_proc_wait_timeout(p, 200, &err), OPS_EFAIL);
	took = ops_clock() - t0;
	CHECK(took >= 0.2 + OPS_PROC_GRACE_MS / 1000.0 - 0.05);
	CHECK(took < 0.2 + OPS_PROC_GRACE_MS / 1000.0 + 1.5);
	CHECK_CONTAINS(err.message, "timed out after 0.2 s");
	CHECK(grandchild > 0 && ended_soon(grandchild));
	unlink(file);
}

/* Stopped (as by SIGTTIN, reading a terminal from its own group): SIGCONT
 * follows the SIGTERM, so it ends now rather than at the SIGKILL. */
TEST(a_stopped_child_gets_its_sigterm_at_once)
{
	char *argv[] = {"sleep", "30", NULL};
	ops_proc *p = NULL;
	ops_error err;
	double t0;

	ops_error_clear(&err);
	CHECK_INT(ops_proc_start(NULL, argv, NULL, 0, NULL, NULL, &p, &err), OPS_OK);
	if (!p)
		return;
	kill(ops_proc_pid(p), SIGSTOP);
	t0 = ops_clock();
	CHECK_INT(ops_proc_wait_timeout(p, 200, &err), OPS_EFAIL);
	CHECK(ops_clock() - t0 < OPS_PROC_GRACE_MS / 1000.0 - 0.5);
}

TEST(kill_ends_a_child_that_ignores_sigterm)
{
	ops_proc *p = start_sh("trap '' TERM; while :; do sleep 1; done");
	double t0;
	pid_t pid;

	if (!p)
		return;
	pid = ops_proc_pid(p);
	usleep(100000);
	t0 = ops_clock();
	ops_proc_kill(p);
	CHECK(ops_clock() - t0 < OPS_PROC_GRACE_MS / 1000.0 + 1.5);
	CHECK(ended_soon(pid));
	ops_proc_kill(NULL);
}

static void *cancel_soon(void *arg)
{
	(void)arg;
	usleep(200000);
	ops_cancel_request(SIGTERM);
	return NULL;
}

/* A SIGTERM to opsctl while it waits: the child stops (with what it
 * started, in its own group), the wait is EINTR, with a deadline or without
 * one. */
TEST(a_cancelled_run_stops_the_child)
{
	long timeouts[] = {0, 60000};
	size_t i;

	for (i = 0; i < 2; i++) {
		char file[] = "/tmp/opsctl-test-proc-XXXXXX", script[200];
		int fd = mkstemp(file);
		pthread_t thr;
		ops_proc *p;
		ops_error err;
		double t0;
		pid_t grandchild;

		ops_error_clear(&err);
		CHECK(fd >= 0);
		if (fd < 0)
			return;
		close(fd);
		snprintf(script, sizeof script, "sleep 30 & echo $! >%s; wait", file);
		if (!(p = start_sh_with(script, OPS_PROC_OWN_GROUP)))
			return;
		grandchild = read_pid(file);
		t0 = ops_clock();
		CHECK_INT(pthread_create(&thr, NULL, cancel_soon, NULL), 0);
		CHECK_INT(ops_proc_wait_timeout(p, timeouts[i], &err), OPS_EINTR);
		pthread_join(thr, NULL);
		CHECK_STR(err.message, "interrupted by SIGTERM");
		CHECK(ops_clock() - t0 < 1.5);
		CHECK(grandchild > 0 && ended_soon(grandchild));
		ops_cancel_reset();
		unlink(file);
	}
}

/* A run cancelled before the child started: it is stopped all the same. */
TEST(a_child_started_after_the_request_is_stopped)
{
	ops_proc *p;
	ops_error err;
	double t0 = ops_clock();

	ops_error_clear(&err);
	ops_cancel_request(SIGINT);
	if ((p = start_sh("sleep 30"))) {
		CHECK_INT(ops_proc_wait(p, &err), OPS_EINTR);
		CHECK_STR(err.message, "interrupted by SIGINT");
	}
	CHECK(ops_clock() - t0 < 1.5);
	ops_cancel_reset();
}

TEST(no_secrets_leaves_credentials_out_of_the_childs_environment)
{
	static const char *const set[][2] = {
		{"PGPASSWORD", "pg-secret"}, {"VAULT_TOKEN", "hvs.x"}, {"REDISCLI_AUTH", "r-secret"},
		{"AWS_SECRET_ACCESS_KEY", "aws-secret"}, {"MY_API_KEY", "k"}, {"DB_PASSWD", "p"},
		{"KEEP_PATHLIKE", "kept"}, {"LANG_T", "C"},
	};
	char *argv[] = {"sh", "-c", "env > \"$OUT\"", NULL};
	char *add[] = {"ADDED_PASSWORD=given", NULL};
	char path[512], *text = NULL, env_out[600], *dir = unit_tmpdir();
	ops_proc *p = NULL;
	ops_error err;
	size_t i;

	if (!dir)
		return;
	snprintf(path, sizeof path, "%s/child.env", dir);
	snprintf(env_out, sizeof env_out, "OUT=%s", path);
	for (i = 0; i < sizeof set / sizeof set[0]; i++)
		setenv(set[i][0], set[i][1], 1);
	putenv(env_out);
	ops_error_clear(&err);
	CHECK_INT(ops_proc_start(NULL, argv, add, OPS_PROC_NO_SECRETS, NULL, NULL, &p, &err), OPS_OK);
	CHECK_INT(ops_proc_wait_timeout(p, 10000, &err), OPS_OK);
	CHECK_INT(ops_read_file(path, 1 << 20, &text, NULL, &err), OPS_OK);
	for (i = 0; text && i < 6; i++)
		CHECK(strstr(text, set[i][0]) == NULL);
	CHECK(text && strstr(text, "KEEP_PATHLIKE=kept") != NULL);
	CHECK(text && strstr(text, "LANG_T=C") != NULL);
	/* What the caller adds on purpose still goes. */
	CHECK(text && strstr(text, "ADDED_PASSWORD=given") != NULL);
	free(text);
	text = NULL;
	/* Without the flag the environment is passed whole. */
	CHECK_INT(ops_proc_start(NULL, argv, NULL, 0, NULL, NULL, &p, &err), OPS_OK);
	CHECK_INT(ops_proc_wait_timeout(p, 10000, &err), OPS_OK);
	CHECK_INT(ops_read_file(path, 1 << 20, &text, NULL, &err), OPS_OK);
	CHECK(text && strstr(text, "PGPASSWORD=pg-secret") != NULL);
	free(text);
	for (i = 0; i < sizeof set / sizeof set[0]; i++)
		unsetenv(set[i][0]);
	unsetenv("OUT");
	unit_rmrf(dir);
	free(dir);
}

/* OPS_PROC_CAPTURE: stdout and stderr in one stream, the last 64 KiB of a
 * flood kept, the exit status and the timeout said apart. */
TEST(capture_keeps_both_streams_and_the_exit)
{
	ops_proc *p = start_sh_with("echo out; echo err >&2; echo last; exit 4", OPS_PROC_CAPTURE);
	char *output = NULL;
	int status = -1, timed_out = -1;
	ops_error err;

	ops_error_clear(&err);
	if (!p)
		return;
	CHECK_INT(ops_proc_wait_exit(p, 10000, &status, &timed_out, &output, &err), OPS_EFAIL);
	CHECK_INT(status, 4);
	CHECK_INT(timed_out, 0);
	CHECK_STR(output ? output : "", "out\nerr\nlast");
	CHECK_STR(err.message, "sh failed (exit 4): last");
	free(output);
}

TEST(capture_is_bounded_and_never_blocks_the_child)
{
	/* 1 MiB of output: the child would block on a full pipe nobody reads. */
	ops_proc *p = start_sh_with("i=0; while [ $i -lt 16384 ]; do "
				    "echo 'line of sixty-three characters, padded out to that width ok'; "
				    "i=$((i+1)); done; echo END", OPS_PROC_CAPTURE);
	char *output = NULL;
	int status = -1;
	ops_error err;

	ops_error_clear(&err);
	if (!p)
		return;
	CHECK_INT(ops_proc_wait_exit(p, 30000, &status, NULL, &output, &err), OPS_OK);
	CHECK_INT(status, 0);
	CHECK(output && strlen(output) <= 64u << 10 && strlen(output) > 60u << 10);
	CHECK(output && strcmp(output + strlen(output) - 4, "\nEND") == 0);
	free(output);
}

TEST(capture_says_timed_out)
{
	ops_proc *p = start_sh_with("echo started; sleep 30", OPS_PROC_CAPTURE);
	char *output = NULL;
	int status = -1, timed_out = 0;
	ops_error err;

	ops_error_clear(&err);
	if (!p)
		return;
	CHECK_INT(ops_proc_wait_exit(p, 300, &status, &timed_out, &output, &err), OPS_EFAIL);
	CHECK_INT(timed_out, 1);
	CHECK_INT(status, 128 + SIGTERM);
	CHECK_STR(output ? output : "", "started");
	free(output);
}

int main(void)
{
	RUN(sleep_is_stopped_at_the_deadline);
	RUN(an_exit_before_the_deadline_is_not_waited_out);
	RUN(exit_codes_and_stderr_are_kept);
	RUN(stderr_is_kept_when_timed_out);
	RUN(own_group_is_asked_for);
	RUN(sigkill_after_the_grace_reaches_the_whole_group);
	RUN(a_stopped_child_gets_its_sigterm_at_once);
	RUN(kill_ends_a_child_that_ignores_sigterm);
	RUN(a_cancelled_run_stops_the_child);
	RUN(a_child_started_after_the_request_is_stopped);
	RUN(no_secrets_leaves_credentials_out_of_the_childs_environment);
	RUN(capture_keeps_both_streams_and_the_exit);
	RUN(capture_is_bounded_and_never_blocks_the_child);
	RUN(capture_says_timed_out);
	return unit_done();
}
