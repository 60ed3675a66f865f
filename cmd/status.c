/*
 * `opsctl status`: the journal read back, as `pgbackrest info` or `systemctl
 * status` answer "did it run, and did it work?": the last run of every task
 * on every target, and when the last one failed, when it last succeeded.
 * The reading (a line at a time, whatever the journal's size) is
 * lib/run/journal.c's, the rendering lib/core/output.c's; this file sorts it
 * and names the members.
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

/* The report both forms are rendered from (lib/core/output.c): the text is
 * "journal:" and "skipped lines:", then the tasks as a table, or a block per
 * task when they do not fit the width. */
static cJSON *to_report(const char *journal, const ops_journal_last *v, size_t n, size_t skipped)
{
	cJSON *out = cJSON_CreateObject(), *tasks;
	size_t i;

	if (!out || !cJSON_AddStringToObject(out, "journal", journal) ||
	    !cJSON_AddNumberToObject(out, "skipped_lines", (double)skipped) ||
	    !(tasks = cJSON_AddArrayToObject(out, "tasks")))
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
	if (!(*report = to_report(journal, v, n, skipped)))
		rc = ops_error_oom(err);
out:
	ops_journal_last_free(v, n);
	free(journal);
	return rc;
}

const char cli_status_description[] =
	"Reads the journal (STATE_DIR/journal.jsonl) and prints the last run of every task "
	"on every target: when it started (ISO 8601, UTC), its status (ok, failed, "
	"interrupted, or a check's warning or critical), exit status and duration, and for a "
	"run that did not succeed its error "
	"and when that task last succeeded on that target (- if it never has). The text is "
	"every command's layout: a table, or a block of lines per task when the table would be "
	"wider than the terminal (100 columns off one). The journal "
	"is read one line at a time, so its size does not matter; a line that cannot be read "
	"is skipped and counted. No journal yet means no tasks, exit 0.\n\n"
	"With --output json: journal (its path), skipped_lines, and tasks, an array of task, "
	"target (null for none), last_run, status, exit_code, duration_seconds, error (null "
	"after a success), last_success (null if never) and runs (lines read).";
