/*
 * `opsctl status`: the journal read back, as `pgbackrest info` or `systemctl
 * status` answer "did it run, and did it work?": the last run of every task
 * on every target, and when the last one failed, when it last succeeded.
 * The reading (a line at a time, whatever the journal's size) is
 * lib/run/journal.c's; this file sorts and words it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "opsmaint/fileio.h"
#include "opsmaint/journal.h"

static int by_task_target(const void *a, const void *b)
{
	const ops_journal_last *x = a, *y = b;
	int c = strcmp(x->command, y->command);

	return c ? c : strcmp(x->target, y->target);
}

/* "2026-12-01T00:53:20Z": the journal's time without its milliseconds. */
static const char *short_time(const char *t, char *buf, size_t len)
{
	const char *dot;

	if (!t)
		return "-";
	dot = strchr(t, '.');
	if (dot && dot[strspn(dot + 1, "0123456789") + 1] == 'Z')
		snprintf(buf, len, "%.*sZ", (int)(dot - t), t);
	else
		snprintf(buf, len, "%s", t);
	return buf;
}

static void print_table(const ops_journal_last *v, size_t n)
{
	int wt = (int)strlen("TASK"), wg = (int)strlen("TARGET");
	char a[64], b[64], d[32];
	size_t i;

	for (i = 0; i < n; i++) {
		if ((int)strlen(v[i].command) > wt)
			wt = (int)strlen(v[i].command);
		if ((int)strlen(v[i].target) > wg)
			wg = (int)strlen(v[i].target);
	}
	printf("%-*s  %-*s  %-20s  %-11s  %4s  %8s  %s\n", wt, "TASK", wg, "TARGET", "LAST RUN",
	       "STATUS", "EXIT", "DURATION", "LAST SUCCESS");
	for (i = 0; i < n; i++) {
		int ok = strcmp(v[i].status, "ok") == 0;
		char line[1024];
		size_t len;

		snprintf(line, sizeof line, "%-*s  %-*s  %-20s  %-11s  %4d  %8s  %s", wt,
			 v[i].command, wg, *v[i].target ? v[i].target : "-",
			 short_time(v[i].time, a, sizeof a), v[i].status, v[i].exit_status,
			 ops_human_seconds(v[i].duration, d, sizeof d),
			 ok ? "" : v[i].last_success ? short_time(v[i].last_success, b, sizeof b)
						     : "never");
		len = strlen(line);
		while (len && line[len - 1] == ' ')
			line[--len] = '\0';
		printf("%s\n", line);
		if (!ok && v[i].error)
			printf("%*s  error: %s\n", wt, "", v[i].error);
	}
}

static cJSON *to_json(const char *journal, const ops_journal_last *v, size_t n, size_t skipped)
{
	cJSON *out = cJSON_CreateObject(), *tasks;
	size_t i;

	if (!out || !cJSON_AddStringToObject(out, "journal", journal) ||
	    !(tasks = cJSON_AddArrayToObject(out, "tasks")) ||
	    !cJSON_AddNumberToObject(out, "skipped_lines", (double)skipped))
		goto fail;
	for (i = 0; i < n; i++) {
		cJSON *o = cJSON_CreateObject();

		if (!o)
			goto fail;
		cJSON_AddItemToArray(tasks, o);
		if (!cJSON_AddStringToObject(o, "task", v[i].command) ||
		    !(*v[i].target ? cJSON_AddStringToObject(o, "target", v[i].target)
				   : cJSON_AddNullToObject(o, "target")) ||
		    !cJSON_AddStringToObject(o, "last_run", v[i].time) ||
		    !cJSON_AddStringToObject(o, "status", v[i].status) ||
		    !cJSON_AddNumberToObject(o, "exit_code", v[i].exit_status) ||
		    !cJSON_AddNumberToObject(o, "duration_seconds", v[i].duration) ||
		    !(v[i].error ? cJSON_AddStringToObject(o, "error", v[i].error)
				 : cJSON_AddNullToObject(o, "error")) ||
		    !(v[i].last_success
		      ? cJSON_AddStringToObject(o, "last_success", v[i].last_success)
		      : cJSON_AddNullToObject(o, "last_success")) ||
		    !cJSON_AddNumberToObject(o, "runs", (double)v[i].runs))
			goto fail;
	}
	return out;
fail:
	cJSON_Delete(out);
	return NULL;
}

ops_code cli_op_status(struct cli_inv *inv, const ops_run *run, cJSON **report, ops_error *err)
{
	char *journal = ops_path_join(ops_config_get(inv->cfg, "general.state_dir"),
				      "journal.jsonl");
	ops_journal_last *v = NULL;
	size_t n = 0, skipped = 0;
	ops_code rc;

	(void)run;
	if (!journal)
		return ops_error_oom(err);
	rc = ops_journal_last_runs(journal, &v, &n, &skipped, err);
	if (rc != OPS_OK)
		goto out;
	qsort(v, n, sizeof *v, by_task_target);
	if (inv->out == OPS_OUT_JSON) {
		if (!(*report = to_json(journal, v, n, skipped)))
			rc = ops_error_oom(err);
	} else if (!inv->quiet) {
		if (n == 0)
			printf("no runs recorded in %s\n", journal);
		else
			print_table(v, n);
		if (skipped)
			printf("(%zu line%s of %s could not be read and %s skipped)\n", skipped,
			       skipped == 1 ? "" : "s", journal, skipped == 1 ? "was" : "were");
	}
out:
	ops_journal_last_free(v, n);
	free(journal);
	return rc;
}

const char cli_status_description[] =
	"Reads the journal (STATE_DIR/journal.jsonl) and prints the last run of every task "
	"on every target: when it started (ISO 8601, UTC), its status (ok, failed, "
	"interrupted, or a check's warning or critical), exit status and duration, and for a run that did not succeed its error "
	"and when that task last succeeded on that target (never, if it has not). The journal "
	"is read one line at a time, so its size does not matter; a line that cannot be read "
	"is skipped and counted. No journal yet means no runs recorded, exit 0.\n\n"
	"With --output json: journal (its path), skipped_lines, and tasks, an array of task, "
	"target (null for none), last_run, status, exit_code, duration_seconds, error (null "
	"after a success), last_success (null if never) and runs (lines read).";
