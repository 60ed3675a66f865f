/*
 * The one runner of every task command.  A command is a table row naming
 * its library call (op), its journal task, its lock and what it needs
 * prepared (the databases of -d, the backup store); this file does the rest
 * once for all of them: the run context from the flags, the lock, the call,
 * the JSON envelope, the error line and its hint, the journal line and the
 * metrics.  It knows no command by name.
 */
#include <limits.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "prompt.h"
#include "opsmaint/backup.h"
#include "opsmaint/cancel.h"
#include "opsmaint/clock.h"
#include "opsmaint/db.h"
#include "opsmaint/fileio.h"
#include "opsmaint/journal.h"
#include "opsmaint/log.h"
#include "opsmaint/report.h"
#include "opsmaint/task.h"

/* Envelope members, in this order, in every command's JSON. */
static const char *const envelope_keys[] = {
	"command", "status", "exit_code", "duration_seconds", "error", NULL
};

int cli_exit_status(ops_code code)
{
	/* 128 + the signal, as a shell reports a command a signal killed. */
	if (code != OPS_OK && ops_cancelled())
		return 128 + ops_cancelled();
	return ops_code_exit_status(code == OPS_OK ? OPS_OK : code);
}

/* The error's first line; the rest of a multi-line message (a server's or
 * SQLite's report) belongs to the detail, never to the one error line. */
static void split_message(const ops_error *in, ops_error *out)
{
	size_t nl;

	*out = *in;
	nl = strcspn(out->message, "\n");
	if (!out->message[nl])
		return;
	if (!out->detail[0])
		snprintf(out->detail, sizeof out->detail, "%s", out->message + nl + 1);
	out->message[nl] = '\0';
}

/* The one line on stderr, then the hint (cron mail needs the fix most),
 * the detail only for a person at a terminal or with -v. */
static void print_error(const struct cli_inv *inv, const ops_error *e)
{
	fflush(stdout);
	fprintf(stderr, "opsctl: error: %s\n", e->message[0] ? e->message : ops_code_name(e->code));
	if (e->detail[0] && (inv->verbose || isatty(STDERR_FILENO)))
		fprintf(stderr, "detail: %s\n", e->detail);
	if (e->hint[0])
		fprintf(stderr, "hint: %s\n", e->hint);
}

/* command, status, exit_code, duration_seconds, error, then report's own
 * members (envelope names in report are dropped: the envelope's win). */
static cJSON *envelope(const struct cli_inv *inv, int exit_code, double seconds,
		       const ops_error *e, cJSON *report)
{
	cJSON *env = cJSON_CreateObject(), *m, *next;
	size_t k;

	if (!env)
		return NULL;
	cJSON_AddStringToObject(env, "command", inv->name ? inv->name : "");
	/* A check at WARNING did its work and found something: not "failed". */
	cJSON_AddStringToObject(env, "status", exit_code == 0 ? "ok" :
				exit_code == 1 && (inv->cmd->flags & CLI_PLUGIN) ? "warning" :
				"failed");
	cJSON_AddNumberToObject(env, "exit_code", exit_code);
	cJSON_AddNumberToObject(env, "duration_seconds", (double)(long long)(seconds * 1000.0 + 0.5) / 1000.0);
	if (e && e->code != OPS_OK) {
		cJSON_AddStringToObject(env, "error", e->message);
		if (e->detail[0])
			cJSON_AddStringToObject(env, "error_detail", e->detail);
		if (e->hint[0])
			cJSON_AddStringToObject(env, "hint", e->hint);
	} else {
		cJSON_AddNullToObject(env, "error");
	}
	for (m = report ? report->child : NULL; m; m = next) {
		next = m->next;
		for (k = 0; envelope_keys[k] && strcmp(envelope_keys[k], m->string) != 0; k++)
			;
		if (envelope_keys[k])
			continue;
		cJSON_AddItemToObject(env, m->string, cJSON_DetachItemViaPointer(report, m));
	}
	return env;
}

/* The first write error on stdout and its reason: once stdout's error flag
 * is set, a later write fails with whatever errno was left behind. */
static ops_error first_write_error;

/*
 * The text of a monitoring check's output, in place: a monitoring system
 * reads everything after the first '|' of a line as perfdata and each
 * newline as the start of another line, so a message that came from a
 * server (an HTTP body, a Redis error, a log line) gets '/' for '|' and a
 * space for each control character.  The perfdata itself is never passed
 * here.
 */
static void plugin_text(char *s)
{
	for (; s && *s; s++)
		if (*s == '|')
			*s = '/';
		else if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = ' ';
}

/* plugin_text() on every string of item, members and elements included. */
static void plugin_tree(cJSON *item)
{
	cJSON *c;

	if (cJSON_IsString(item))
		plugin_text(item->valuestring);
	cJSON_ArrayForEach(c, item)
		plugin_tree(c);
}

/*
 * A check over components (opsctl health): after the status line, a table
 * of each component's state and reason, and with -v every figure; then
 * what the check did besides (its notification, a restart).
 */
static int opt_flag(const struct cli_inv *inv, const char *name)
{
	return cli_has_opt(inv, name) && cli_flag(inv, name);
}

static int emit_check_items(const struct cli_inv *inv, const cJSON *report, ops_error *werr)
{
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(report, "components"), *it;
	static const char *const extras[] = {"notification", "restart", NULL};
	cJSON *out = cJSON_CreateObject();
	int rc = 0;
	size_t k;

	if (!cJSON_IsArray(items) || !out) {
		cJSON_Delete(out);
		return 0;
	}
	/* One line each, name, state, reason, however long the reason: a
	 * table too wide for the terminal would turn into blocks. */
	fputc('\n', stdout);
	if (inv->verbose || opt_flag(inv, "verbose")) {	/* every figure of each, as blocks */
		cJSON_AddItemToObject(out, "components", cJSON_Duplicate(items, 1));
	} else {
		cJSON_ArrayForEach(it, items) {
			char *why = strdup(cJSON_GetStringValue(cJSON_GetObjectItem(it, "summary"))
					   ? cJSON_GetStringValue(cJSON_GetObjectItem(it, "summary")) : "");

			plugin_text(why);
			printf("%-8s %-8s  %s\n",
			       cJSON_GetStringValue(cJSON_GetObjectItem(it, "component")),
			       cJSON_GetStringValue(cJSON_GetObjectItem(it, "state")), why ? why : "");
			free(why);
		}
	}
	for (k = 0; extras[k]; k++) {
		const cJSON *x = cJSON_GetObjectItemCaseSensitive(report, extras[k]);

		if (cJSON_IsObject(x))
			cJSON_AddItemToObject(out, extras[k], cJSON_Duplicate(x, 1));
	}
	plugin_tree(out);
	if (out->child) {
		if (!inv->verbose && !opt_flag(inv, "verbose"))
			fputc('\n', stdout);
		if (ops_output_render(stdout, out, OPS_OUT_TEXT, werr) != OPS_OK)
			rc = ops_code_exit_status(OPS_EIO);
	}
	cJSON_Delete(out);
	return rc;
}

/* Render the report: in JSON the envelope, in text the figures alone (the
 * error has its line on stderr).  A write error is exit 74, and *werr says
 * why (the disk is full, the reader went away). */
static int emit(const struct cli_inv *inv, int exit_code, double seconds, const ops_error *e,
		cJSON *report, ops_error *werr)
{
	cJSON *out;
	int rc = 0;

	ops_error_clear(werr);
	if (inv->out == OPS_OUT_JSON) {
		out = envelope(inv, exit_code, seconds, e, report);
		if (!out)
			ops_error_oom(werr);
		if (!out || ops_output_render(stdout, out, OPS_OUT_JSON, werr) != OPS_OK)
			rc = ops_code_exit_status(OPS_EIO);
		cJSON_Delete(out);
		return rc;
	}
	if (!report || inv->quiet)
		return 0;
	/* The first line is what a monitoring system reads. */
	if ((inv->cmd->flags & CLI_PLUGIN) &&
	    cJSON_IsString(cJSON_GetObjectItemCaseSensitive(report, "_summary"))) {
		const char *perf = cJSON_GetStringValue(cJSON_GetObjectItem(report, "_perfdata"));
		char *line = strdup(cJSON_GetStringValue(cJSON_GetObjectItem(report, "_summary")));
		cJSON *db;
		int n;

		plugin_text(line);
		n = line ? printf("%s%s%s\n", line, perf && *perf ? " | " : "", perf ? perf : "") : -1;
		free(line);
		if (n < 0) {
			ops_error_set(werr, OPS_EIO, "write error on standard output: %s",
				      strerror(errno ? errno : EIO));
			return ops_code_exit_status(OPS_EIO);
		}
		/* Then each database as its own block, as other commands stream them. */
		cJSON_ArrayForEach(db, cJSON_GetObjectItemCaseSensitive(report, "databases")) {
			fputc('\n', stdout);
			plugin_tree(db);
			if (ops_output_render(stdout, db, OPS_OUT_TEXT, werr) != OPS_OK)
				return ops_code_exit_status(OPS_EIO);
		}
		return emit_check_items(inv, report, werr);
	}
	cJSON_DeleteItemFromObjectCaseSensitive(report, "status");
	cJSON_DeleteItemFromObjectCaseSensitive(report, "error");
	if (!report->child)
		return 0;
	if (ops_output_render(stdout, report, OPS_OUT_TEXT, werr) != OPS_OK)
		rc = ops_code_exit_status(OPS_EIO);
	return rc;
}

static int emit_noting(const struct cli_inv *inv, int exit_code, double seconds,
		       const ops_error *e, cJSON *report, ops_error *werr)
{
	int rc = emit(inv, exit_code, seconds, e, report, werr);

	if (rc != 0 && first_write_error.code == OPS_OK)
		first_write_error = *werr;
	else if (rc != 0)
		*werr = first_write_error;
	return rc;
}

int cli_fail(const struct cli_inv *inv, const ops_error *err)
{
	ops_error e;
	int status;

	split_message(err, &e);
	if (e.code == OPS_OK)
		e.code = OPS_EFAIL;
	status = cli_exit_status(e.code);
	/* A check that cannot start (its configuration, say) is UNKNOWN to the
	 * monitoring system that runs it, which knows no exit status above 3
	 * and reads the first line of stdout.  A usage error stays 64: the
	 * command line is wrong, not the system. */
	if (inv->cmd && (inv->cmd->flags & CLI_PLUGIN) && e.code != OPS_EUSAGE &&
	    !ops_cancelled()) {
		status = 3;
		if (inv->out == OPS_OUT_TEXT) {
			char name[64], why[sizeof e.message], *p;

			snprintf(name, sizeof name, "%s", inv->cmd->plugin_name ? inv->cmd->plugin_name
				 : inv->name ? inv->name : "check");
			for (p = name; *p; p++)
				*p = (char)toupper((unsigned char)*p);
			snprintf(why, sizeof why, "%s", e.message);
			plugin_text(why);
			printf("%s UNKNOWN - %s\n", name, why);
		}
	}
	if (inv->out == OPS_OUT_JSON) {
		ops_error ignored;	/* the failure is reported; the write error is for finish_stdout */

		emit_noting(inv, status, 0, &e, NULL, &ignored);
	}
	print_error(inv, &e);
	return status;
}

/* ---- progress and questions, for a person at a terminal ---- */

static int ask(void *arg, const char *question)
{
	(void)arg;
	return ops_confirm(question) == 1;
}

/* One line on stderr, redrawn at most five times a second. */
static void draw_progress(void *arg, const ops_progress *p)
{
	static double last;
	double now = ops_clock(), rate = p->elapsed > 0 ? p->done / p->elapsed : 0;
	int bytes = p->unit && strcmp(p->unit, "bytes") == 0;
	char d[48], r[64], t[48];

	(void)arg;
	if (!p->final && now - last < 0.2)
		return;
	last = now;
	if (bytes) {
		ops_human_bytes(p->done, d, sizeof d);
		ops_human_bytes(rate, t, 32);
		snprintf(r, sizeof r, "%s/s", t);
	} else {
		snprintf(d, sizeof d, "%.0f %s", p->done, p->unit ? p->unit : "");
		snprintf(r, sizeof r, "%.0f/s", rate);
	}
	if (p->total > 0) {
		if (bytes)
			ops_human_bytes(p->total, t, sizeof t);
		else
			snprintf(t, sizeof t, "%.0f", p->total);
		fprintf(stderr, "\r\033[K  %s  %s of %s (%.0f%%)  %s", p->phase, d, t,
			100.0 * p->done / p->total, r);
	} else {
		fprintf(stderr, "\r\033[K  %s  %s  %s", p->phase, d, r);
	}
	if (p->final)
		fputc('\n', stderr);
	fflush(stderr);
}


static void run_context(const struct cli_inv *inv, ops_run *run)
{
	ops_run_init(run, inv->cfg);
	run->output = inv->out;
	run->quiet = inv->quiet;
	run->verbose = inv->verbose || (cli_has_opt(inv, "verbose") && cli_flag(inv, "verbose"));
	run->force = opt_flag(inv, "force");
	run->yes = opt_flag(inv, "yes");
	run->dry_run = opt_flag(inv, "dry-run");
	if (run->verbose)
		ops_log_set_level(OPS_LOG_INFO);
	/* A progress line only for a person watching; never in cron mail. */
	if (isatty(STDERR_FILENO) && !inv->quiet && inv->out == OPS_OUT_TEXT)
		run->progress = draw_progress;
	if (ops_is_interactive())
		run->confirm = ask;
}

/* ---- the databases of -d, one op call each ---- */

/* Monitoring checks (CLI_PLUGIN): their state summed over the databases. */

static const char *const plugin_states[] = {"OK", "WARNING", "CRITICAL", "UNKNOWN"};

/* Worst first by the usual convention: CRITICAL over UNKNOWN over WARNING. */
static int plugin_rank(int state)
{
	static const int rank[] = {0, 1, 3, 2};

	return rank[state & 3];
}

struct plugin_sum {
	int state, checked;
	FILE *summary, *perf;
	char *summary_buf, *perf_buf;
	size_t summary_len, perf_len;
};

/* One database's state into its report and the run's sums. */
static int plugin_add(struct plugin_sum *ps, cJSON *report, ops_code rc, const ops_error *e)
{
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(report, "_state");
	const char *why = cJSON_GetStringValue(cJSON_GetObjectItem(report, "_summary"));
	const char *perf = cJSON_GetStringValue(cJSON_GetObjectItem(report, "_perfdata"));
	int state = rc != OPS_OK ? 3 : cJSON_IsNumber(st) ? (int)st->valuedouble & 3 : 0;
	ops_error shown;

	if (!ps->summary && !(ps->summary = open_memstream(&ps->summary_buf, &ps->summary_len)))
		return -1;
	if (!ps->perf && !(ps->perf = open_memstream(&ps->perf_buf, &ps->perf_len)))
		return -1;
	ps->checked++;
	if (plugin_rank(state) > plugin_rank(ps->state))
		ps->state = state;
	cJSON_AddStringToObject(report, "status", state == 0 ? "ok" : state == 1 ? "warning" :
				state == 2 ? "critical" : "unknown");
	if (state == 1 || state == 2)
		cJSON_AddStringToObject(report, "error", why ? why : "");
	if (state == 3)
		split_message(e, &shown);
	if (state != 0)
		fprintf(ps->summary, "%s%s", ftell(ps->summary) ? "; " : "",
			state == 3 ? shown.message : why ? why : "");
	if (perf && *perf)
		fprintf(ps->perf, "%s%s", ftell(ps->perf) ? " " : "", perf);
	cJSON_DeleteItemFromObjectCaseSensitive(report, "_state");
	cJSON_DeleteItemFromObjectCaseSensitive(report, "_summary");
	cJSON_DeleteItemFromObjectCaseSensitive(report, "_perfdata");
	return 0;
}

/*
 * The run's state, status line and perfdata into all; OPS_OK at OK, else
 * an error carrying the status line (exit status: the state, see
 * cli_run_task).  UNKNOWN keeps the first failure's own error.
 */
static ops_code plugin_finish(struct plugin_sum *ps, const struct cli_inv *inv, cJSON *all,
			      ops_code worst, ops_error *err)
{
	char name[64], *p;
	int oom;

	snprintf(name, sizeof name, "%s", inv->name ? inv->name : "check");
	for (p = name; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	oom = !ps->summary || fflush(ps->summary) != 0 || !ps->perf || fflush(ps->perf) != 0;
	if (!oom) {
		char *line = NULL;

		if (ps->state == 0 &&
		    asprintf(&line, "%s OK - %d database%s, every check ok", name, ps->checked,
			     ps->checked == 1 ? "" : "s") < 0)
			line = NULL;
		else if (ps->state != 0 && asprintf(&line, "%s %s - %s", name,
						      plugin_states[ps->state],
						      ps->summary_buf) < 0)
			line = NULL;
		oom = !line;
		if (line) {
			cJSON *fig = cJSON_GetObjectItemCaseSensitive(all, "_figures");
			char gauge[96], *g;

			/* The state itself, for an alert on the textfile: 0-3. */
			snprintf(gauge, sizeof gauge, "opsctl_%s_state", inv->name ? inv->name : "check");
			for (g = gauge; *g; g++)
				if (*g == ' ' || *g == '-')
					*g = '_';
			if (fig)
				cJSON_AddNumberToObject(fig, gauge, ps->state);
			cJSON_AddStringToObject(all, "state", plugin_states[ps->state]);
			cJSON_AddStringToObject(all, "perfdata", ps->perf_buf ? ps->perf_buf : "");
			cJSON_AddNumberToObject(all, "_state", ps->state);
			cJSON_AddStringToObject(all, "_summary", line);
			cJSON_AddStringToObject(all, "_perfdata", ps->perf_buf ? ps->perf_buf : "");
			free(line);
		}
	}
	if (ps->summary)
		fclose(ps->summary);
	if (ps->perf)
		fclose(ps->perf);
	free(ps->summary_buf);
	free(ps->perf_buf);
	if (oom)
		return ops_error_oom(err);
	if (ps->state == 3)
		return worst;
	if (ps->state == 0)
		return OPS_OK;
	/* WARNING/CRITICAL: the status line is the error of the envelope. */
	ops_error_set(err, OPS_EFAIL, "%s", cJSON_GetStringValue(cJSON_GetObjectItem(all,
										      "_summary")));
	return OPS_EFAIL;
}

/* Each database's report in order; the first failure's error is the run's. */
static ops_code each_database(struct cli_inv *inv, const ops_run *run, char **targets,
			      cJSON **out, ops_error *err)
{
	cJSON *all = cJSON_CreateObject(), *list, *figures, *one;
	ops_code worst = OPS_OK, rc;
	ops_error e, shown;
	int nfailed = 0, plugin = inv->cmd->flags & CLI_PLUGIN;
	struct plugin_sum ps = {0};
	size_t i;

	*out = all;
	list = all ? cJSON_AddArrayToObject(all, "databases") : NULL;
	if (!list)
		return ops_error_oom(err);
	for (i = 0; targets[i]; i++) {
		cJSON *report = NULL;
		int nothing_done;

		ops_error_clear(&e);
		/* Interrupted: the next databases are not started. */
		if (ops_cancelled()) {
			if (worst == OPS_OK)
				worst = ops_cancel_check(err);
			break;
		}
		inv->target = targets[i];
		rc = inv->cmd->op(inv, run, &report, &e);
		if (rc != OPS_OK && ops_cancelled())
			rc = ops_cancel_check(&e);
		nothing_done = report == NULL;	/* the error line says it all */
		if (!report) {
			char *name = ops_redact_arg(NULL, targets[i]);

			report = cJSON_CreateObject();
			cJSON_AddStringToObject(report, "database", name ? name : "");
			free(name);
		}
		/* One "status" per database, the run's own: never a duplicate key. */
		cJSON_DeleteItemFromObjectCaseSensitive(report, "status");
		cJSON_DeleteItemFromObjectCaseSensitive(report, "error");
		if (plugin) {
			if (plugin_add(&ps, report, rc, &e) < 0) {
				cJSON_Delete(report);
				return ops_error_oom(err);
			}
		} else {
			cJSON_AddStringToObject(report, "status", rc == OPS_OK ? "ok" : "failed");
		}
		if (rc != OPS_OK) {
			split_message(&e, &shown);
			cJSON_AddStringToObject(report, "error", shown.message);
			nfailed++;
			if (worst == OPS_OK) {
				worst = rc;
				*err = e;
			}
		}
		/* Text streams each database as it finishes, its error beside it;
		 * a check's status line comes first, so it waits for them all. */
		if (inv->out == OPS_OUT_TEXT && !nothing_done && !inv->quiet && !plugin) {
			cJSON *copy = cJSON_Duplicate(report, 1);
			ops_error ignored;	/* stdout's error flag stays set for the final report */

			if (i > 0)
				fputc('\n', stdout);
			emit_noting(inv, 0, 0, NULL, copy, &ignored);
			cJSON_Delete(copy);
		}
		if (rc != OPS_OK)	/* each failing database its own line, in order */
			print_error(inv, &shown);
		cJSON_AddItemToArray(list, report);
	}
	figures = cJSON_AddObjectToObject(all, "_figures");
	/* Each database's own figures, summed over the run's databases (their
	 * series is the run's target, "a,b"). */
	cJSON_ArrayForEach(one, list) {
		const cJSON *f = cJSON_GetObjectItemCaseSensitive(one, "_figures");

		if (figures && ops_task_figures_add(figures, f) != 0) {
			/* Out of memory: no figures rather than wrong ones. */
			cJSON_DeleteItemFromObjectCaseSensitive(all, "_figures");
			figures = NULL;
		}
		cJSON_DeleteItemFromObjectCaseSensitive(one, "_figures");
	}
	if (figures) {
		/* Gauges too: a run over five databases that failed on one is
		 * an alert of its own (the exit status says only "failed"). */
		cJSON_AddNumberToObject(figures, "opsctl_databases", (double)ops_strv_len(targets));
		cJSON_AddNumberToObject(figures, "opsctl_databases_failed", nfailed);
	}
	if (plugin)
		return plugin_finish(&ps, inv, all, worst, err);
	/* Several databases: the outcome in one line after the blocks, where
	 * cron mail's reader looks first. */
	if (inv->out == OPS_OUT_TEXT && !inv->quiet && i > 1)
		printf("\n%zu database%s: %zu ok, %d failed\n", i, i == 1 ? "" : "s",
		       i - (size_t)nfailed, nfailed);
	if (inv->out == OPS_OUT_TEXT)	/* already shown */
		cJSON_DeleteItemFromObjectCaseSensitive(all, "databases");
	return worst;
}

/* One name per database however -d spelt it: a SQLite file as
 * sqlite:ABSOLUTE_PATH, a URI with its password masked, a name as it is. */
static char *canonical_target(const char *target)
{
	ops_db_kind kind;
	char *path = NULL, *abs, *out = NULL;

	if (ops_db_target_kind(target, &kind, &path, NULL) == OPS_OK && kind == OPS_DB_SQLITE) {
		abs = realpath(path, NULL);
		if (asprintf(&out, "sqlite:%s", abs ? abs : path) < 0)
			out = NULL;
		free(abs);
		free(path);
		return out;
	}
	free(path);
	return ops_redact_arg(NULL, target);
}

/* "chatbot_db", "a,b,c": the databases as the journal and metrics name them. */
static char *joined(char **v)
{
	size_t len = 1, used = 0, n, i;
	char *out, *red;

	for (i = 0; v && v[i]; i++)
		len += strlen(v[i]) + PATH_MAX + 8;
	out = calloc(1, len);
	for (i = 0; out && v && v[i]; i++) {
		red = canonical_target(v[i]);
		n = red ? strlen(red) : 0;
		if (used + n + 2 > len)
			n = len - used - 2;
		if (i)
			out[used++] = ',';
		memcpy(out + used, red ? red : "", n);
		used += n;
		out[used] = '\0';
		free(red);
	}
	return out;
}

/*
 * -p as one name however it was typed: a directory (cleanup logs and temp)
 * by its absolute path, so that "logs" and "/srv/hub/logs" are one series
 * and one lock.  Anything else (vector's index file, a path that is not
 * there) as given.
 */
static char *path_target(const char *path)
{
	char abs[PATH_MAX];
	struct stat st;

	if (*path && stat(path, &st) == 0 && S_ISDIR(st.st_mode) &&
	    ops_path_resolve(path, abs, sizeof abs) == 0)
		return strdup(abs);
	return strdup(path);
}

int cli_run_task(struct cli_inv *inv)
{
	const struct cli_cmd *cmd = inv->cmd;
	double t0 = ops_clock();
	ops_run run;
	ops_task *task = NULL;
	ops_task_spec spec = {0};
	ops_store *store = NULL;
	char **targets = NULL, *target = NULL, *task_name = NULL;
	cJSON *report = NULL, *figures;
	ops_error err, shown, werr;
	ops_code rc = OPS_OK;
	int status, changes, shown_already = 0, write_failed = 0;

	ops_error_clear(&err);
	run_context(inv, &run);
	changes = (cmd->flags & CLI_CHANGES) && !run.dry_run &&
		  !(cmd->changes_if && !cli_flag(inv, cmd->changes_if));

	if (cmd->flags & CLI_EACH_DATABASE) {
		rc = ops_db_targets(inv->cfg, cli_str(inv, "database"), &targets, &err);
		target = rc == OPS_OK ? joined(targets) : NULL;
	} else if (cmd->flags & CLI_STORE) {
		rc = ops_backup_open_store(inv->cfg, (cmd->flags & CLI_STORE_S3) ||
					   opt_flag(inv, "s3"), &store, &err);
		inv->store = store;
		target = rc == OPS_OK ? strdup(ops_store_describe(store)) : NULL;
	} else if (cmd->flags & CLI_ARG_TARGET) {
		target = inv->nargs ? strdup(inv->args[0]) :
			 cmd->args_default ? strdup(cmd->args_default) : NULL;
	} else if (cli_has_opt(inv, "path") && cli_str(inv, "path")) {
		target = path_target(cli_str(inv, "path"));
	}
	if (rc != OPS_OK)
		goto done;

	task_name = strdup(cmd->task ? cmd->task : inv->name);
	spec.name = task_name;
	spec.lock = cmd->lock;
	spec.target = target;
	spec.targets = targets;
	spec.no_lock = !changes;
	if ((changes || ((cmd->flags & CLI_RECORD) && !run.dry_run)) && (rc = ops_task_begin(inv->cfg, &spec, &task, &err)) != OPS_OK)
		goto done;

	if (cmd->flags & CLI_EACH_DATABASE) {
		rc = each_database(inv, &run, targets, &report, &err);
		shown_already = 1;	/* each database's error had its line */
	} else
		rc = cmd->op(inv, &run, &report, &err);
	/* A failure after SIGINT/SIGTERM is the interruption, whatever the
	 * library made of the statement or child it had cancelled. */
	if (rc != OPS_OK && ops_cancelled())
		rc = ops_cancel_check(&err);

done:
	if (rc == OPS_OK)
		ops_error_clear(&err);
	else if (err.code == OPS_OK)
		err.code = rc;
	split_message(&err, &shown);
	status = cli_exit_status(rc);
	if ((cmd->flags & CLI_PLUGIN) && report &&
	    cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(report, "_state")))
		status = (int)cJSON_GetObjectItemCaseSensitive(report, "_state")->valuedouble;
	/*
	 * The record of the work first (journal line, metrics), then the output
	 * that can fail: a closed pipe or a full disk on stdout must not cost a
	 * stored backup its record.  The record says what the work did; a
	 * write error afterwards is the process's exit status and its own line.
	 */
	figures = report ? cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(report, "_figures"), 1)
			 : NULL;
	/* A person who answered no changed their mind; nothing failed, and
	 * monitoring must not see a failed run (nor a lost last success). */
	if (task && rc == OPS_EDECLINED) {
		ops_task_abandon(task);
		task = NULL;
	}
	if (task) {
		ops_error jerr;

		/* A check's WARNING or CRITICAL is its answer, not a failed run. */
		if ((cmd->flags & CLI_PLUGIN) && (status == 1 || status == 2))
			ops_task_set_outcome(task, status == 1 ? "warning" : "critical");
		if (ops_task_finish(task, inv->argc, inv->argv, rc, status,
				    rc == OPS_OK ? NULL : shown.message, figures, &jerr) != OPS_OK) {
			/* The work is done; failing to record it still matters to
			 * monitoring, so say so and fail the run. */
			print_error(inv, &jerr);
			if (status == 0)
				status = ops_code_exit_status(jerr.code);
		}
		/* The report's history: a sample of every recorded run.  It is
		 * a convenience on top of the record; it never fails the run. */
		if (ops_config_bool(inv->cfg, "report.history")) {
			double took = ops_clock() - t0;
			ops_error herr;

			if (ops_history_record(inv->cfg, task_name, target, ops_wall_clock() - took,
					       took, figures, &herr) != OPS_OK)
				ops_log_warn("history not recorded: %s", herr.message);
		}
	}
	if (emit_noting(inv, status, ops_clock() - t0, &shown, report, &werr) != 0 &&
	    status == 0) {
		if (werr.code != OPS_OK)
			shown = werr;
		else
			ops_error_set(&shown, OPS_EIO, "write error on standard output");
		status = ops_code_exit_status(OPS_EIO);
		rc = OPS_EIO;
		write_failed = 1;
	}
	if (rc != OPS_OK && (!shown_already || write_failed))
		print_error(inv, &shown);
	cJSON_Delete(figures);
	cJSON_Delete(report);
	ops_store_free(store);
	ops_strv_free(targets);
	free(target);
	free(task_name);
	return status;
}
