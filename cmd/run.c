/*
 * `opsctl run TIER`: the front end of lib/sched/tier.c (guide 003's
 * run_maintenance.sh).  What a task's words mean is this file's part: they
 * are resolved through the same command table and option parser as a
 * command line, so a task the tier accepts is one `opsctl WORDS` accepts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "opsmaint/suggest.h"
#include "opsmaint/tier.h"

/* The words down the command table to a leaf; its options and arguments
 * checked by the parser.  task->command gets the path ("backup create"). */
static ops_code resolve(void *arg, ops_tier_task *task, ops_error *err)
{
	const struct cli_cmd *cmd = &cli_root;
	char **w = task->words, **args = NULL;
	struct cli_val *vals = NULL, *gvals = NULL;
	int i = 0, argc = (int)ops_strv_len(task->words), nargs = 0, help = 0;
	size_t used = 0;
	ops_code rc = OPS_OK;

	(void)arg;
	task->command[0] = '\0';
	while (cmd->subs) {
		const struct cli_cmd *sub = NULL;
		const char *names[64], *best;
		size_t k, n = 0;

		if (i < argc && w[i][0] != '-') {
			for (k = 0; cmd->subs[k].name; k++)
				if (strcmp(cmd->subs[k].name, w[i]) == 0)
					sub = &cmd->subs[k];
		} else if (cmd->default_sub) {
			for (k = 0; cmd->subs[k].name; k++)
				if (strcmp(cmd->subs[k].name, cmd->default_sub) == 0)
					sub = &cmd->subs[k];
		} else {
			return ops_error_set(err, OPS_ECONFIG, "'%s' needs a command",
					     task->command[0] ? task->command : task->line);
		}
		if (!sub || (sub->flags & CLI_HIDDEN)) {
			for (k = 0; cmd->subs[k].name && n < 63; k++)
				if (!(cmd->subs[k].flags & CLI_HIDDEN))
					names[n++] = cmd->subs[k].name;
			names[n] = NULL;
			best = ops_suggest(w[i], names);
			return ops_error_set(err, OPS_ECONFIG, "unknown command '%s%s%s'%s%s%s",
					     task->command, used ? " " : "", w[i],
					     best ? " (did you mean '" : "", best ? best : "",
					     best ? "'?)" : "");
		}
		if (i < argc && w[i][0] != '-')
			i++;
		used += (size_t)snprintf(task->command + used, sizeof task->command - used, "%s%s",
					 used ? " " : "", sub->name);
		if (used >= sizeof task->command)
			return ops_error_set(err, OPS_ECONFIG, "command too long");
		cmd = sub;
	}
	/* Only task commands: help, completion and a tier inside a tier are not. */
	if (!cmd->op || cmd->op == cli_op_run)
		return ops_error_set(err, OPS_ECONFIG, "'%s' cannot be a task of a tier",
				     task->command);
	vals = calloc(cli_opt_count(cmd->opts) + 1, sizeof *vals);
	gvals = calloc(cli_opt_count(cli_global_opts) + 1, sizeof *gvals);
	if (!vals || !gvals) {
		rc = ops_error_oom(err);
		goto out;
	}
	rc = cli_parse(cmd->opts, vals, cli_global_opts, gvals, argc, w, i, &args, &nargs, &help,
		       err);
	if (rc == OPS_OK && help)
		rc = ops_error_set(err, OPS_ECONFIG, "'%s': --help is not a task", task->command);
	else if (rc == OPS_OK && (nargs < cmd->min_args ||
				  (cmd->max_args >= 0 && nargs > cmd->max_args)))
		rc = ops_error_set(err, OPS_ECONFIG, "'%s' takes %s", task->command,
				   cmd->args && cmd->max_args ? cmd->args : "no arguments");
	/* The tier's own --output and --quiet shape its report, not a task's. */
	else if (rc == OPS_OK && (cli_global(gvals, "output")->set || cli_global(gvals, "version")->set))
		rc = ops_error_set(err, OPS_ECONFIG, "'%s': --output and --version are the tier's "
				   "own options, not a task's", task->command);
	if (rc != OPS_OK)
		err->code = rc == OPS_EINTERNAL ? rc : OPS_ECONFIG;
out:
	cli_vals_free(cmd->opts, vals);
	cli_vals_free(cli_global_opts, gvals);
	free(args);
	return rc;
}

/* Text: one table of task, status, duration and exit; then each problem's
 * line; with -v each task's last output lines.  JSON keeps every member. */
static void text_report(cJSON *report, int verbose)
{
	cJSON *tasks = cJSON_DetachItemFromObjectCaseSensitive(report, "tasks");
	cJSON *table = cJSON_CreateArray(), *notes = cJSON_CreateArray(), *outputs = NULL, *t, *next, *moved;

	cJSON_DeleteItemFromObjectCaseSensitive(report, "tier");
	if (verbose)
		outputs = cJSON_CreateObject();
	cJSON_ArrayForEach(t, tasks) {
		cJSON *row = cJSON_CreateObject();
		const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(t, "task"));
		const char *why = cJSON_GetStringValue(cJSON_GetObjectItem(t, "error"));
		const cJSON *x = cJSON_GetObjectItem(t, "exit_code");
		const cJSON *out = cJSON_GetObjectItem(t, "output");

		if (!row)
			continue;
		cJSON_AddStringToObject(row, "task", name ? name : "");
		cJSON_AddItemToObject(row, "status", cJSON_Duplicate(cJSON_GetObjectItem(t, "status"), 1));
		cJSON_AddItemToObject(row, "duration_seconds",
				      cJSON_Duplicate(cJSON_GetObjectItem(t, "duration_seconds"), 1));
		if (cJSON_IsNumber(x))
			cJSON_AddNumberToObject(row, "exit", x->valuedouble);
		else
			cJSON_AddStringToObject(row, "exit", "-");
		cJSON_AddItemToArray(table, row);
		if (why) {
			char *line = NULL;

			if (asprintf(&line, "%s: %s", name ? name : "", why) >= 0) {
				cJSON_AddItemToArray(notes, cJSON_CreateString(line));
				free(line);
			}
		}
		if (outputs && cJSON_GetArraySize(out) > 0)
			cJSON_AddItemToObject(outputs, name ? name : "", cJSON_Duplicate(out, 1));
	}
	cJSON_Delete(tasks);
	cJSON_AddItemToObject(report, "tasks", table);
	if (cJSON_GetArraySize(notes) > 0)
		cJSON_AddItemToObject(report, "problems", notes);
	else
		cJSON_Delete(notes);
	if (outputs && outputs->child)
		cJSON_AddItemToObject(report, "output", outputs);
	else
		cJSON_Delete(outputs);
	/* The counts after the table, where a reader of cron mail ends. */
	moved = cJSON_CreateObject();
	for (t = report->child; moved && t; t = next) {
		next = t->next;
		if (strncmp(t->string, "tasks_", 6) == 0)
			cJSON_AddItemToObject(moved, t->string, cJSON_DetachItemViaPointer(report, t));
	}
	while (moved && (t = moved->child))
		cJSON_AddItemToObject(report, t->string, cJSON_DetachItemViaPointer(moved, t));
	cJSON_Delete(moved);
}

ops_code cli_op_run(struct cli_inv *inv, const ops_run *run, cJSON **report, ops_error *err)
{
	const struct cli_val *conf = cli_global(inv->gvals, "config");
	const struct cli_val *env = cli_global(inv->gvals, "env");
	char *pass[6];
	size_t n = 0;
	ops_tier_opts o = {0};
	ops_code rc;

	/* What the tier was told, each task is told: the same file, the same
	 * environment (so the same window), the same verbosity. */
	if (conf->set) {
		pass[n++] = "--config";
		pass[n++] = (char *)conf->str;
	}
	if (env->set) {
		pass[n++] = "--env";
		pass[n++] = (char *)env->str;
	}
	if (run->verbose)
		pass[n++] = "-v";
	pass[n] = NULL;
	o.tier = inv->nargs ? inv->args[0] : inv->cmd->args_default;
	o.resolve = resolve;
	o.pass = pass;
	rc = ops_tier_run(run, &o, report, err);
	if (*report && inv->out == OPS_OUT_TEXT)
		text_report(*report, run->verbose);
	return rc;
}

const struct cli_opt cli_run_opts[] = {
	CLI_OPT_FORCE("run the destructive tasks outside the maintenance window too, passing "
		      "--force to them"),
	CLI_OPT_DRY_RUN("show each task's command line and whether the window would skip it; "
			"run nothing"),
	CLI_OPT_VERBOSE('v'),
	CLI_OPT_END
};

const char cli_run_description[] =
	"Runs the tasks of a maintenance tier in order, as guide 003's run_maintenance.sh does "
	"with its daily, weekly, monthly and quarterly branches (TIER defaults to daily, as the "
	"script's). The tasks are opsctl command lines from the configuration keys run.daily, "
	"run.weekly, run.monthly and run.quarterly, separated by ';' (see opsctl.conf(5)); the "
	"defaults map guide 000 section 7's task tables onto opsctl's commands: daily health, a "
	"full backup and temporary file cleanup; weekly db maintain, vector verify, vector backup, "
	"scan and cleanup logs; monthly alerts test, db analyze, vector optimize, db content-check "
	"and report; quarterly backup verify, vector rebuild --backup and rotate-keys rotate "
	"--type all. Every task is checked before the first one runs: an unknown command or "
	"option is exit 78 naming the key and the word.\n\n"
	"Each task runs as a child process of the same binary, without a shell, with the tier's "
	"--config, --env and -v, standard input /dev/null and its output captured (the last lines "
	"are kept, and shown with -v), under run.task_timeout (SIGTERM, then SIGKILL after a "
	"grace). Each task takes its own lock and writes its own journal line, as when run by "
	"hand. The tier goes on past a failed task and then prints one table: each task, its "
	"status (ok, failed, timeout, skipped), its duration and exit status, followed by each "
	"problem's line. It exits 1 when any task failed or timed out, 0 otherwise; a task that "
	"found another run holding its lock (75) or a service unreachable (69) is a failure "
	"with that reason.\n\n"
	"Destructive tasks (vector rebuild, optimize and purge, db vacuum --full, db reindex "
	"without --concurrently, db connections --terminate, backup restore, rotate-keys "
	"rotate, restore and abort, cleanup data, cache purge) run only inside the environment's "
	"maintenance window; outside it they are skipped with the reason and when the window next "
	"opens, a warning but not a failure. With --force they run anyway and are given --force "
	"themselves. --dry-run shows the plan, each task's command line and whether the window "
	"would skip it, and runs nothing.\n\n"
	"The tier takes its own lock (a second run of the same tier exits 75 naming the holder) "
	"and writes one journal line of task run and target TIER, with the figures "
	"opsctl_run_tasks, opsctl_run_tasks_failed and opsctl_run_tasks_skipped; a tier with a "
	"failed task is a failed run, so "
	"opsctl_last_success_timestamp_seconds{task=\"run\",target=\"weekly\"} moves only when "
	"every task succeeded. SIGINT or SIGTERM stops the running task, the rest are reported as "
	"not run, and opsctl exits 130 or 143.";

const char cli_run_examples[] =
	"Guide 003's daily run, from cron at 6 AM\n"
	"opsctl run daily\n"
	"The weekly tier in the Sunday window\n"
	"opsctl run weekly\n"
	"What the quarterly tier would do now\n"
	"opsctl run quarterly --dry-run\n"
	"Emergency: the monthly tier outside the window\n"
	"opsctl run monthly --force";
