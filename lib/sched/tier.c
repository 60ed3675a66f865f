/*
 * Maintenance tiers (guide 003's run_maintenance.sh, guide 000 section 7):
 * the tasks of run.TIER, each a child process of this binary, one after the
 * other, every one reported.  Each child is an ordinary opsctl run: it takes
 * its own lock, journals its own line and refreshes its own metrics; the
 * tier adds only its summary.  Children run without a terminal, so they
 * never ask; the window is decided here first, so that a destructive task
 * outside it is "skipped" (the tier's word) rather than "failed" (the child's
 * refusal, exit 1).
 *
 * Not here: what the words mean (the front end resolves them), scheduling
 * (when a tier runs is schedule.c's and cron's).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "opsmaint/cancel.h"
#include "opsmaint/clock.h"
#include "opsmaint/config.h"
#include "opsmaint/log.h"
#include "opsmaint/proc.h"
#include "opsmaint/tier.h"

const char *const ops_tier_names[] = {"daily", "weekly", "monthly", "quarterly", NULL};

/* Lines of a task's output kept in its report. */
#define OUTPUT_LINES 10

/*
 * Destructive work: what asks ops_run_permit before it changes anything.
 * A command is listed with the option that makes it destructive (only_with)
 * or the one that makes it safe (unless); t950 checks that every command
 * whose --force overrides the window is here.
 */
static const struct destructive {
	const char *command;
	const char *only_with;
	const char *unless;
} destructive[] = {
	{.command = "vector rebuild"},
	{.command = "vector optimize"},
	{.command = "vector purge"},
	{.command = "db vacuum", .only_with = "--full"},
	{.command = "db reindex", .unless = "--concurrently"},
	{.command = "db connections", .only_with = "--terminate"},
	{.command = "backup restore"},
	{.command = "rotate-keys rotate"},
	{.command = "rotate-keys restore"},
	{.command = "rotate-keys abort"},
	{.command = "cleanup data"},
	{.command = "cache purge"},
	{0}
};

/* 1 when the words hold the long option name (--name or --name=VALUE). */
static int has_option(char *const *words, const char *name)
{
	size_t len = strlen(name);

	for (; words && *words; words++) {
		if (strcmp(*words, "--") == 0)
			return 0;
		if (strncmp(*words, name, len) == 0 && ((*words)[len] == '\0' || (*words)[len] == '='))
			return 1;
	}
	return 0;
}

const char *ops_tier_destructive(const ops_tier_task *task)
{
	const struct destructive *d;

	if (has_option(task->words, "--dry-run"))
		return NULL;
	for (d = destructive; d->command; d++) {
		if (strcmp(d->command, task->command) != 0)
			continue;
		if (d->only_with && !has_option(task->words, d->only_with))
			return NULL;
		if (d->unless && has_option(task->words, d->unless))
			return NULL;
		return d->command;
	}
	return NULL;
}

/* ---- parsing run.TIER ---- */

static int push(char ***v, size_t *n, char *s)
{
	char **nv;

	if (!s)
		return -1;
	nv = realloc(*v, (*n + 2) * sizeof *nv);
	if (!nv) {
		free(s);
		return -1;
	}
	*v = nv;
	nv[(*n)++] = s;
	nv[*n] = NULL;
	return 0;
}

static void task_free(ops_tier_task *t)
{
	free(t->line);
	ops_strv_free(t->words);
}

void ops_tier_tasks_free(ops_tier_task *tasks, size_t n)
{
	size_t i;

	for (i = 0; tasks && i < n; i++)
		task_free(&tasks[i]);
	free(tasks);
}

/* The words joined by single blanks, a word with a blank or quote quoted. */
static char *join_words(char *const *words)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);
	const char *c;

	if (!fp)
		return NULL;
	for (; *words; words++) {
		if ((*words)[strcspn(*words, " \t\"\\;")] == '\0' && **words) {
			fprintf(fp, "%s%s", ftell(fp) ? " " : "", *words);
			continue;
		}
		fprintf(fp, "%s\"", ftell(fp) ? " " : "");
		for (c = *words; *c; c++)
			fprintf(fp, "%s%c", *c == '"' || *c == '\\' ? "\\" : "", *c);
		fputc('"', fp);
	}
	if (fclose(fp) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

ops_code ops_tier_parse(const char *key, const char *value, ops_tier_task **out, size_t *nout,
			ops_error *err)
{
	ops_tier_task *tasks = NULL, *nt;
	size_t n = 0, nwords = 0, wlen = 0;
	char **words = NULL, *word = NULL;
	const char *p = value ? value : "";
	int quoted = 0, in_word = 0;
	ops_code rc = OPS_OK;

	*out = NULL;
	*nout = 0;
	if (!(word = malloc(strlen(p) + 1)))
		return ops_error_oom(err);
	for (;; p++) {
		int end_task = !*p || (*p == ';' && !quoted);

		if (quoted && !*p) {
			rc = ops_error_set(err, OPS_ECONFIG, "%s: unterminated quote in '%s'", key,
					   value);
			goto fail;
		}
		if (!quoted && (end_task || *p == ' ' || *p == '\t' || *p == '\n')) {
			if (in_word) {
				word[wlen] = '\0';
				if (push(&words, &nwords, strdup(word)) != 0)
					goto oom;
				wlen = 0;
				in_word = 0;
			}
			if (end_task && nwords) {
				nt = realloc(tasks, (n + 1) * sizeof *tasks);
				if (!nt)
					goto oom;
				tasks = nt;
				memset(&tasks[n], 0, sizeof tasks[n]);
				tasks[n].words = words;
				words = NULL;
				nwords = 0;
				tasks[n].line = join_words(tasks[n].words);
				if (!tasks[n++].line)
					goto oom;
			}
			if (!*p)
				break;
			continue;
		}
		in_word = 1;
		if (*p == '"') {
			quoted = !quoted;
			continue;
		}
		if (quoted && *p == '\\' && (p[1] == '"' || p[1] == '\\'))
			p++;
		word[wlen++] = *p;
	}
	free(word);
	*out = tasks;
	*nout = n;
	return OPS_OK;
oom:
	rc = ops_error_oom(err);
fail:
	free(word);
	ops_strv_free(words);
	ops_tier_tasks_free(tasks, n);
	return rc;
}

/* ---- running ---- */

/* The child's error line ("opsctl: error: ..."), else its last line. */
static char *error_line(const char *output)
{
	const char *p = output, *found = NULL, *last = NULL, *nl;
	static const char mark[] = "opsctl: error: ";

	for (; *p; p = *nl ? nl + 1 : nl) {
		nl = strchrnul(p, '\n');
		if ((size_t)(nl - p) > strlen(mark) && strncmp(p, mark, strlen(mark)) == 0)
			found = p + strlen(mark);
		if (nl > p)
			last = p;
	}
	p = found ? found : last;
	if (!p)
		return NULL;
	return strndup(p, strcspn(p, "\n"));
}

/* The last OUTPUT_LINES lines of output, as an array of strings. */
static cJSON *last_lines(const char *output)
{
	cJSON *arr = cJSON_CreateArray();
	const char *end = output + strlen(output), *start;
	int n = 0;

	while (arr && end > output && n++ < OUTPUT_LINES) {
		char *line;

		for (start = end; start > output && start[-1] != '\n'; start--)
			;
		line = strndup(start, (size_t)(end - start));
		cJSON_InsertItemInArray(arr, 0, cJSON_CreateString(line ? line : ""));
		free(line);
		end = start > output ? start - 1 : start;
	}
	return arr;
}

/* This binary's path, for the children. */
static char *self_path(const char *self)
{
	char buf[PATH_MAX];
	ssize_t n;

	if (self)
		return strdup(self);
	n = readlink("/proc/self/exe", buf, sizeof buf - 1);
	if (n <= 0)
		return strdup("/proc/self/exe");
	buf[n] = '\0';
	return strdup(buf);
}

/* argv: self, the passed options, the task's words, --force when forced. */
static char **task_argv(const char *self, char *const *pass, const ops_tier_task *t, int force)
{
	char **v = NULL;
	size_t n = 0, i;

	if (push(&v, &n, strdup(self)) != 0)
		return NULL;
	for (i = 0; pass && pass[i]; i++)
		if (push(&v, &n, strdup(pass[i])) != 0)
			goto oom;
	for (i = 0; t->words[i]; i++)
		if (push(&v, &n, strdup(t->words[i])) != 0)
			goto oom;
	if (force && push(&v, &n, strdup("--force")) != 0)
		goto oom;
	return v;
oom:
	ops_strv_free(v);
	return NULL;
}

static cJSON *argv_json(char *const *v)
{
	cJSON *arr = cJSON_CreateArray();

	for (; arr && v && *v; v++)
		cJSON_AddItemToArray(arr, cJSON_CreateString(*v));
	return arr;
}

/* What became of one task. */
enum outcome { RAN_OK, RAN_FAILED, RAN_TIMEOUT, RAN_INTERRUPTED };

/* Run one task and fill its entry: status, duration, exit_code, error, output. */
static enum outcome run_task(char *const *argv, long timeout, cJSON *entry, char **why)
{
	ops_proc *p = NULL;
	ops_error e;
	ops_code rc;
	int status = -1, timed_out = 0;
	double t0 = ops_clock();
	char *output = NULL, *line = NULL;
	enum outcome out;

	ops_error_clear(&e);
	*why = NULL;
	/* Its own process group: a timeout or a signal stops what the task
	 * started too (pg_dump under backup create); a terminal's Ctrl-C
	 * reaches the tier, which stops the task through cancellation. */
	rc = ops_proc_start(NULL, argv, NULL, OPS_PROC_CAPTURE | OPS_PROC_OWN_GROUP, NULL, NULL,
			    &p, &e);
	if (rc == OPS_OK)
		rc = ops_proc_wait_exit(p, timeout * 1000L, &status, &timed_out, &output, &e);
	if (rc == OPS_OK)
		out = RAN_OK;
	else if (timed_out)
		out = RAN_TIMEOUT;
	else if (rc == OPS_EINTR)
		out = RAN_INTERRUPTED;
	else
		out = RAN_FAILED;
	cJSON_AddStringToObject(entry, "status", out == RAN_OK ? "ok" : out == RAN_TIMEOUT ?
				"timeout" : out == RAN_INTERRUPTED ? "interrupted" : "failed");
	cJSON_AddNumberToObject(entry, "duration_seconds",
				(double)(long long)((ops_clock() - t0) * 1000.0 + 0.5) / 1000.0);
	if (status >= 0)
		cJSON_AddNumberToObject(entry, "exit_code", status);
	else
		cJSON_AddNullToObject(entry, "exit_code");
	if (out == RAN_TIMEOUT && asprintf(why, "timed out after %ld s (run.task_timeout)",
					   timeout) < 0)
		*why = NULL;
	else if (out == RAN_INTERRUPTED)
		*why = strdup(e.message);
	else if (out == RAN_FAILED) {
		line = output ? error_line(output) : NULL;
		*why = strdup(line ? line : e.message);
	}
	if (*why)
		cJSON_AddStringToObject(entry, "error", *why);
	else
		cJSON_AddNullToObject(entry, "error");
	cJSON_AddItemToObject(entry, "output", last_lines(output ? output : ""));
	free(output);
	free(line);
	return out;
}

/* "run.weekly: unknown command ..." with where the value came from. */
static ops_code resolve_all(const ops_run *run, const ops_tier_opts *o, const char *key,
			    ops_tier_task *tasks, size_t n, ops_error *err)
{
	const char *origin = ops_config_origin(run->cfg, key);
	ops_code rc;
	size_t i;

	for (i = 0; i < n; i++) {
		tasks[i].command[0] = '\0';
		if ((rc = o->resolve(o->resolve_arg, &tasks[i], err)) == OPS_OK)
			continue;
		if (rc != OPS_EINTERNAL) {
			ops_error_prefix(err, "%s: task %zu '%s'", key, i + 1, tasks[i].line);
			err->code = OPS_ECONFIG;
			if (!err->hint[0])
				ops_error_hint(err, "fix %s (set in %s); 'opsctl __complete commands' "
					       "lists the commands", key, origin ? origin : "default");
		}
		return err->code;
	}
	return OPS_OK;
}

ops_code ops_tier_run(const ops_run *run, const ops_tier_opts *o, cJSON **report,
		      ops_error *err)
{
	ops_tier_task *tasks = NULL;
	size_t n = 0, i, k;
	char key[64], *self = NULL, *first_why = NULL;
	const char *first_task = NULL;
	long timeout;
	int failed = 0, skipped = 0, stopped = 0, first_exit = -1;
	cJSON *rep, *list, *fig;
	ops_code rc;

	*report = NULL;
	for (k = 0; ops_tier_names[k] && strcmp(ops_tier_names[k], o->tier) != 0; k++)
		;
	if (!ops_tier_names[k])
		return ops_error_set(err, OPS_EUSAGE, "unknown tier '%s'; expected daily, weekly, "
				     "monthly or quarterly", o->tier);
	snprintf(key, sizeof key, "run.%s", o->tier);
	if ((rc = ops_tier_parse(key, ops_config_get(run->cfg, key), &tasks, &n, err)) != OPS_OK)
		return rc;
	if ((rc = resolve_all(run, o, key, tasks, n, err)) != OPS_OK)
		goto out;
	timeout = o->task_timeout > 0 ? o->task_timeout : ops_config_int(run->cfg, "run.task_timeout");
	self = self_path(o->self);
	*report = rep = cJSON_CreateObject();
	if (!self || !rep || !cJSON_AddStringToObject(rep, "tier", o->tier) ||
	    !(list = cJSON_AddArrayToObject(rep, "tasks"))) {
		rc = ops_error_oom(err);
		goto out;
	}
	for (i = 0; i < n; i++) {
		const char *why_window = ops_tier_destructive(&tasks[i]);
		int force = why_window && run->force;
		char **argv = task_argv(self, o->pass, &tasks[i], force);
		cJSON *entry = cJSON_CreateObject();
		char *why = NULL;
		ops_error we;

		if (!argv || !entry) {
			ops_strv_free(argv);
			cJSON_Delete(entry);
			rc = ops_error_oom(err);
			goto out;
		}
		cJSON_AddItemToArray(list, entry);
		cJSON_AddStringToObject(entry, "task", tasks[i].line);
		cJSON_AddStringToObject(entry, "command", tasks[i].command);
		cJSON_AddItemToObject(entry, "argv", argv_json(argv + 1));
		cJSON_AddBoolToObject(entry, "destructive", why_window != NULL);
		ops_error_clear(&we);
		/* The window now, not at the tier's start: a long tier can run
		 * past its end. */
		if (why_window && !run->force) {
			ops_code wrc = ops_run_window_check(run, NULL, &we);

			if (wrc != OPS_OK && wrc != OPS_EFAIL) {	/* no window configured */
				why = strdup(we.message);
			} else if (wrc == OPS_EFAIL && asprintf(&why, "%s%s%s", we.message,
								we.detail[0] ? "; " : "",
								we.detail) < 0) {
				why = NULL;
			}
			if (wrc != OPS_OK && !why) {
				ops_strv_free(argv);
				rc = ops_error_oom(err);
				goto out;
			}
			if (wrc != OPS_EFAIL && wrc != OPS_OK) {
				cJSON_AddStringToObject(entry, "status", run->dry_run ?
							"would fail" : "failed");
				cJSON_AddNumberToObject(entry, "duration_seconds", 0);
				cJSON_AddNullToObject(entry, "exit_code");
				cJSON_AddStringToObject(entry, "error", why);
				if (!first_task) {
					first_task = tasks[i].line;
					first_why = why;
					why = NULL;
				}
				failed++;
				free(why);
				ops_strv_free(argv);
				continue;
			}
		}
		if (why || stopped || run->dry_run) {
			const char *st = stopped ? "not run" : why ? (run->dry_run ?
				"would be skipped" : "skipped") : "would run";

			cJSON_AddStringToObject(entry, "status", st);
			cJSON_AddNumberToObject(entry, "duration_seconds", 0);
			cJSON_AddNullToObject(entry, "exit_code");
			if (why) {
				cJSON_AddStringToObject(entry, "error", why);
				ops_log_warn("%s: '%s' %s: %s", o->tier, tasks[i].line,
					     run->dry_run ? "would be skipped" : "skipped", why);
				skipped++;
			} else {
				cJSON_AddNullToObject(entry, "error");
			}
			free(why);
			ops_strv_free(argv);
			continue;
		}
		ops_log_info("%s: task %zu of %zu: %s", o->tier, i + 1, n, tasks[i].line);
		switch (run_task(argv, timeout, entry, &why)) {
		case RAN_OK:
			break;
		case RAN_INTERRUPTED:
			stopped = 1;
			break;
		case RAN_FAILED:
		case RAN_TIMEOUT:
			if (ops_cancelled()) {	/* stopped by the signal, not its own fault */
				stopped = 1;
				cJSON_ReplaceItemInObjectCaseSensitive(entry, "status",
								       cJSON_CreateString("interrupted"));
				break;
			}
			failed++;
			if (!first_task) {
				cJSON *x = cJSON_GetObjectItemCaseSensitive(entry, "exit_code");

				first_task = tasks[i].line;
				first_why = why;
				why = NULL;
				first_exit = cJSON_IsNumber(x) ? (int)x->valuedouble : -1;
			}
			break;
		}
		free(why);
		ops_strv_free(argv);
		/* A signal between tasks: the next one does not start. */
		if (ops_cancelled())
			stopped = 1;
	}
	cJSON_AddNumberToObject(rep, "tasks_total", (double)n);
	cJSON_AddNumberToObject(rep, "tasks_failed", failed);
	cJSON_AddNumberToObject(rep, "tasks_skipped", skipped);
	fig = cJSON_AddObjectToObject(rep, "_figures");
	if (fig) {
		cJSON_AddNumberToObject(fig, "opsctl_run_tasks", (double)n);
		cJSON_AddNumberToObject(fig, "opsctl_run_tasks_failed", failed);
		cJSON_AddNumberToObject(fig, "opsctl_run_tasks_skipped", skipped);
	}
	if (stopped) {
		rc = ops_cancel_check(err);
		goto out;
	}
	if (failed) {
		char exitbuf[32] = "";

		if (first_exit >= 0)
			snprintf(exitbuf, sizeof exitbuf, "exit %d: ", first_exit);
		rc = ops_error_set(err, OPS_EFAIL, "%s: %d of %zu task%s failed, first '%s' (%s%s)",
				   o->tier, failed, n, n == 1 ? "" : "s", first_task, exitbuf,
				   first_why ? first_why : "failed");
		ops_error_hint(err, "each task's own journal line and 'opsctl status' say more; "
			       "-v shows each task's last output lines");
		goto out;
	}
	rc = OPS_OK;
out:
	free(first_why);
	free(self);
	ops_tier_tasks_free(tasks, n);
	return rc;
}
