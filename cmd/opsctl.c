/*
 * opsctl: global options, dispatch through one command table, the mapping
 * from ops_code to exit status, and the final check that standard output was
 * really written (a full disk or a closed pipe is never a silent success).
 * Commands live in their own files; this file holds no behaviour of theirs.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "opsmaint/log.h"
#include "opsmaint/run.h"
#include "prompt.h"
#include "opsmaint/suggest.h"
#include "opsmaint/task.h"

extern char **environ;

const struct cli_opt cli_global_opts[] = {
	{"config", 0, CLI_STRING, "FILE", NULL, NULL, 0, 0, CLI_C_FILE,
	 "read configuration from FILE instead of /etc/opsctl/opsctl.conf or $OPSCTL_CONFIG"},
	/* A string, not an enum: the configuration checks it, so that --env
	 * takes the spellings the file does (production, dev...). */
	{"env", 0, CLI_STRING, "ENV", NULL, "dev,staging,prod", 0, 0, CLI_C_VALUES,
	 "environment whose maintenance window applies (overrides general.environment)"},
	{"output", 0, CLI_ENUM, "FORMAT", "text", "text,json", 0, 0, CLI_C_VALUES,
	 "write results as text for people or json for programs"},
	{"quiet", 'q', CLI_FLAG, NULL, NULL, NULL, 0, 0, CLI_C_NONE,
	 "print nothing but errors in text mode"},
	{"version", 0, CLI_FLAG, NULL, NULL, NULL, 0, 0, CLI_C_NONE,
	 "print the version and exit"},
	{0}
};

static int run_help(struct cli_inv *inv);
static int run_completion(struct cli_inv *inv);
static int run_gen(struct cli_inv *inv);
static int run_complete(struct cli_inv *inv);

static const struct cli_cmd root_subs[] = {
	{"db", "maintain PostgreSQL and SQLite databases", NULL, 0, 0, CLI_C_NONE,
	 NULL, cli_db_subs, NULL, NULL, 0, cli_db_description, NULL},
	{"backup", "back up, verify and restore databases, locally and in S3", NULL, 0, 0,
	 CLI_C_NONE, NULL, cli_backup_subs, "create", NULL, 0, cli_backup_description, NULL},
	{"vector", "verify, rebuild and inspect the FAISS vector index", NULL, 0, 0,
	 CLI_C_NONE, NULL, cli_vector_subs, NULL, NULL, 0, cli_vector_description, NULL},
	{"help", "show the manual page of a command", "[COMMAND]", 0, 1, CLI_C_COMMANDS,
	 NULL, NULL, NULL, run_help, CLI_NO_CONFIG,
	 "Opens the manual page of COMMAND (opsctl-COMMAND(1)), or opsctl(1) without one. "
	 "Inside a source tree the page in man/ beside the binary is shown.", NULL},
	{"completion", "print the shell completion script", "SHELL", 1, 1, CLI_C_SHELLS,
	 NULL, NULL, NULL, run_completion, CLI_NO_CONFIG,
	 "Prints the completion script for SHELL (bash, zsh or fish), generated from the same "
	 "tables as the option parser. `make install` installs all three where the shells look for them.",
	 "Load completion into the running bash\neval \"$(opsctl completion bash)\""},
	{"__gen", "generate documentation", "KIND DIR", 2, 2, CLI_C_NONE,
	 NULL, NULL, NULL, run_gen, CLI_HIDDEN | CLI_NO_CONFIG, NULL, NULL},
	{"__complete", "values for shell completion", "KIND", 1, 1, CLI_C_NONE,
	 NULL, NULL, NULL, run_complete, CLI_HIDDEN, NULL, NULL},
	{0}
};

const struct cli_cmd cli_root = {
	"opsctl", "maintain RAG and document-chatbot systems: databases, backups, vector indexes",
	NULL, 0, 0, CLI_C_NONE, cli_global_opts, root_subs, NULL, NULL, 0,
	"opsctl maintains the PostgreSQL or SQLite databases, FAISS vector indexes, backups, "
	"credentials, disk, cache, health and alerting of RAG and document-chatbot systems, "
	"replacing the scattered shell and Python scripts of their operations guides with one "
	"tool that cron, CI and operators can trust.\n\n"
	"Global options come before the command. Configuration, later wins: defaults; the "
	"generic environment (DB_HOST, PG*, ENVIRONMENT, AWS_*); an INI file (see "
	"opsctl.conf(5)); OPSCTL_* variables; flags.\n\n"
	"Every run that changes something takes a lock for its task (a second run exits 75), "
	"appends one JSON line to the journal STATE_DIR/journal.jsonl and refreshes the "
	"Prometheus textfile STATE_DIR/opsctl.prom, so that monitoring can alert on maintenance "
	"that did not run. Destructive operations respect the environment's maintenance window "
	"unless --force is given, and confirm first on a terminal.",
	"Weekly maintenance of the configured databases\nopsctl db maintain\n"
	"Health of one database, for a monitoring check\nopsctl --output json db health -d chatbot_db"
};

static int usage_error(const ops_error *err)
{
	fprintf(stderr, "opsctl: error: %s\n", err->message);
	return ops_code_exit_status(OPS_EUSAGE);
}

int cli_error(const struct cli_inv *inv, const ops_error *err)
{
	fprintf(stderr, "opsctl: error: %s\n", err->message);
	/* Detail and hint help a person at a terminal; cron mail and scripts
	 * get the one line that names the problem. */
	if (isatty(STDERR_FILENO)) {
		if (err->detail[0])
			fprintf(stderr, "detail: %s\n", err->detail);
		if (err->hint[0])
			fprintf(stderr, "hint: %s\n", err->hint);
	}
	(void)inv;
	return ops_code_exit_status(err->code == OPS_OK ? OPS_EFAIL : err->code);
}

int cli_emit(const struct cli_inv *inv, cJSON *report)
{
	ops_error err;

	if (inv->quiet && inv->out == OPS_OUT_TEXT)
		return 0;
	if (ops_output_render(stdout, report, inv->out, &err) != OPS_OK)
		return cli_error(inv, &err);
	return 0;
}

int cli_finish_task(const struct cli_inv *inv, struct ops_task *task, ops_code rc, int status,
		    const char *error, const cJSON *figures)
{
	ops_error err, cancelled;

	if (rc != OPS_OK && ops_cancel_check(&cancelled) != OPS_OK) {
		rc = OPS_EINTR;
		error = cancelled.message;
		status = 128 + ops_cancelled();
	}
	if (ops_task_finish(task, inv->argc, inv->argv, rc, status, error, figures, &err) != OPS_OK) {
		/* The work is done; failing to record it still matters to
		 * monitoring, so say so and fail the run. */
		cli_error(inv, &err);
		if (status == 0)
			status = ops_code_exit_status(err.code);
	}
	return status;
}

int cli_report_run(const struct cli_inv *inv, struct ops_task *task, ops_code rc,
		   const ops_error *err, cJSON *report)
{
	cJSON *figures = NULL;
	ops_error cancelled;
	int status = 0;

	/* A failure after SIGINT/SIGTERM is the interruption, whatever the
	 * library made of the statement or child it had cancelled. */
	if (rc != OPS_OK && ops_cancel_check(&cancelled) != OPS_OK) {
		rc = OPS_EINTR;
		err = &cancelled;
	}

	if (report) {
		cJSON_DeleteItemFromObjectCaseSensitive(report, "status");
		cJSON_AddStringToObject(report, "status", rc == OPS_OK ? "ok" : "failed");
		if (rc != OPS_OK)
			cJSON_AddStringToObject(report, "error", err->message);
		if (cli_emit(inv, report) != 0)
			status = ops_code_exit_status(OPS_EIO);
	}
	if (rc != OPS_OK) {
		fflush(stdout);
		status = cli_error(inv, err);
	}
	if (task) {
		cJSON *f = report ? cJSON_GetObjectItemCaseSensitive(report, "_figures") : NULL;

		figures = f ? cJSON_Duplicate(f, 1) : cJSON_CreateObject();
		status = cli_finish_task(inv, task, rc, status, rc == OPS_OK ? NULL : err->message, figures);
	}
	cJSON_Delete(figures);
	cJSON_Delete(report);
	return status;
}

int cli_has_opt(const struct cli_inv *inv, const char *name)
{
	const struct cli_opt *o;

	for (o = inv->cmd->opts; o && o->name; o++)
		if (strcmp(o->name, name) == 0)
			return 1;
	return 0;
}

int cli_ask(void *arg, const char *question)
{
	(void)arg;
	return ops_confirm(question) == 1;
}

void cli_progress(void *arg, const ops_progress *p)
{
	static double last;
	double now = ops_clock(), rate = p->elapsed > 0 ? p->done / p->elapsed : 0;
	int bytes = p->unit && strcmp(p->unit, "bytes") == 0;
	char d[32], r[40], t[32];

	(void)arg;
	if (!p->final && now - last < 0.2)
		return;
	last = now;
	if (bytes) {
		ops_human_bytes(p->done, d, sizeof d);
		ops_human_bytes(rate, t, sizeof t);
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

/* The directory holding the running binary, for finding man/ in a source tree. */
static int self_dir(char *buf, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", buf, len - 1);
	char *slash;

	if (n <= 0)
		return -1;
	buf[n] = '\0';
	slash = strrchr(buf, '/');
	if (!slash)
		return -1;
	*slash = '\0';
	return 0;
}

static int run_help(struct cli_inv *inv)
{
	char dir[PATH_MAX], page[PATH_MAX + 128], name[96];
	const char *cmd = inv->nargs ? inv->args[0] : NULL;
	struct stat st;
	size_t i;

	if (cmd) {
		const char *names[32];
		size_t n = 0;
		int found = 0;

		for (i = 0; root_subs[i].name && n < 31; i++) {
			if (root_subs[i].flags & CLI_HIDDEN)
				continue;
			names[n++] = root_subs[i].name;
			if (strcmp(root_subs[i].name, cmd) == 0)
				found = 1;
		}
		names[n] = NULL;
		if (!found) {
			const char *best = ops_suggest(cmd, names);
			ops_error err;

			if (best)
				ops_error_set(&err, OPS_EUSAGE,
					      "no manual for unknown command '%s' (did you mean '%s'?)",
					      cmd, best);
			else
				ops_error_set(&err, OPS_EUSAGE, "no manual for unknown command '%s'", cmd);
			return cli_error(inv, &err);
		}
		snprintf(name, sizeof name, "opsctl-%s", cmd);
	} else {
		snprintf(name, sizeof name, "opsctl");
	}
	fflush(stdout);
	if (self_dir(dir, sizeof dir) == 0) {
		snprintf(page, sizeof page, "%s/man/%s.1", dir, name);
		if (stat(page, &st) == 0) {
			execlp("man", "man", "-l", page, (char *)NULL);
			execlp("mandoc", "mandoc", "-a", page, (char *)NULL);
		}
	}
	execlp("man", "man", name, (char *)NULL);
	fprintf(stderr, "opsctl: error: cannot run man: %s\n", strerror(errno));
	return ops_code_exit_status(OPS_EUNAVAIL);
}

static int run_completion(struct cli_inv *inv)
{
	const char *shell = inv->args[0];

	if (strcmp(shell, "bash") && strcmp(shell, "zsh") && strcmp(shell, "fish")) {
		fprintf(stderr, "opsctl: error: unknown shell '%s'; expected bash, zsh or fish\n", shell);
		return ops_code_exit_status(OPS_EUSAGE);
	}
	return cli_gen_completion(stdout, shell);
}

static int run_gen(struct cli_inv *inv)
{
	if (strcmp(inv->args[0], "man") != 0) {
		fprintf(stderr, "opsctl: error: unknown generator '%s'\n", inv->args[0]);
		return ops_code_exit_status(OPS_EUSAGE);
	}
	return cli_gen_man(inv->args[1]);
}

/* Values only known at run time, printed one per line for the completers. */
static int run_complete(struct cli_inv *inv)
{
	if (strcmp(inv->args[0], "databases") == 0) {
		char **dbs = ops_config_list(inv->cfg, "db.databases");
		const char *name = ops_config_get(inv->cfg, "db.name");
		size_t i;

		for (i = 0; dbs && dbs[i]; i++)
			printf("%s\n", dbs[i]);
		if (name && *name)
			printf("%s\n", name);
		ops_strv_free(dbs);
	}
	return 0;
}

static const struct cli_cmd *find_sub(const struct cli_cmd *parent, const char *word,
				      const char *path, ops_error *err)
{
	const char *names[64];
	const char *best;
	size_t i, n = 0;

	for (i = 0; parent->subs[i].name; i++)
		if (strcmp(parent->subs[i].name, word) == 0)
			return &parent->subs[i];
	for (i = 0; parent->subs[i].name && n < 63; i++)
		if (!(parent->subs[i].flags & CLI_HIDDEN))
			names[n++] = parent->subs[i].name;
	names[n] = NULL;
	best = ops_suggest(word, names);
	if (best)
		ops_error_set(err, OPS_EUSAGE, "unknown command '%s%s%s' (did you mean '%s%s%s'?)",
			      path, *path ? " " : "", word, path, *path ? " " : "", best);
	else
		ops_error_set(err, OPS_EUSAGE, "unknown command '%s%s%s'; see 'opsctl%s%s --help'",
			      path, *path ? " " : "", word, *path ? " " : "", path);
	return NULL;
}

/* Index of the first argument after the global options. */
static int global_end(int argc, char **argv)
{
	int i = 1;

	while (i < argc && argv[i][0] == '-' && argv[i][1] != '\0') {
		const char *a = argv[i];
		size_t k;

		if (strcmp(a, "--") == 0)
			return i + 1;
		i++;
		if (a[1] != '-' || strchr(a, '='))
			continue;
		for (k = 0; cli_global_opts[k].name; k++)
			if (strcmp(a + 2, cli_global_opts[k].name) == 0 &&
			    cli_global_opts[k].type != CLI_FLAG && i < argc)
				i++;
	}
	return i;
}

/* A global option's parsed value, by name, so no code depends on row order. */
static const struct cli_val *global(const struct cli_val *vals, const char *name)
{
	size_t i;

	for (i = 0; cli_global_opts[i].name; i++)
		if (strcmp(cli_global_opts[i].name, name) == 0)
			return &vals[i];
	abort();
}

/*
 * SIGINT, SIGTERM and SIGHUP are waited for by a thread instead of caught by
 * a handler: the first one asks the library to stop (cancel.h), which then
 * unwinds through its ordinary error paths (temporary files removed, the
 * lock released, the run journalled as interrupted); a second one ends the
 * process at once.  Blocked before any other thread exists, so every thread
 * (OpenMP, libcurl's resolver) inherits the mask; children get a clean mask
 * back (core/proc.c).
 */
static sigset_t watched;

static void *signal_thread(void *arg)
{
	int sig;

	(void)arg;
	for (;;) {
		if (sigwait(&watched, &sig) != 0)
			continue;
		if (ops_cancelled())
			_exit(128 + sig);
		ops_cancel_request(sig);
	}
	return NULL;
}

static void watch_signals(void)
{
	pthread_t thr;

	sigemptyset(&watched);
	sigaddset(&watched, SIGINT);
	sigaddset(&watched, SIGTERM);
	sigaddset(&watched, SIGHUP);
	if (pthread_sigmask(SIG_BLOCK, &watched, NULL) != 0)
		return;
	if (pthread_create(&thr, NULL, signal_thread, NULL) != 0) {
		pthread_sigmask(SIG_UNBLOCK, &watched, NULL);
		return;
	}
	pthread_detach(thr);
}

static int finish_stdout(int status)
{
	/* As git does after every command: a write error that stdio only
	 * noticed at flush time must not turn into exit 0. */
	if (fflush(stdout) != 0 || ferror(stdout) || fclose(stdout) != 0) {
		/* A command that already failed has said why (often this very
		 * write error); one line per problem. */
		if (status != 0)
			return status;
		fprintf(stderr, "opsctl: error: write error on standard output: %s\n",
			strerror(errno ? errno : EIO));
		return status ? status : ops_code_exit_status(OPS_EIO);
	}
	return status;
}

int main(int argc, char **argv)
{
	struct cli_val *gvals = NULL, *vals = NULL;
	struct cli_inv inv;
	const struct cli_cmd *cmd, *parent;
	const struct cli_opt *leaf_opts = NULL;
	char **gargs = NULL;
	int gn = 0, help = 0, end, status = 0, idx;
	ops_error err;
	const char *s;

	memset(&inv, 0, sizeof inv);
	inv.argc = argc;
	inv.argv = argv;
	ops_error_clear(&err);

	gvals = calloc(cli_opt_count(cli_global_opts) + 1, sizeof *gvals);
	if (!gvals)
		return ops_code_exit_status(OPS_EINTERNAL);
	end = global_end(argc, argv);
	if (cli_parse(&cli_root, cli_global_opts, end, argv, 1, gvals, &gargs, &gn,
		      &help, &err) != OPS_OK) {
		status = usage_error(&err);
		goto out;
	}
	free(gargs);
	gargs = NULL;
	if (global(gvals, "version")->set) {	/* --version: nothing else is loaded */
		printf("opsctl %s\n", OPS_VERSION);
		status = finish_stdout(0);
		goto out;
	}
	if (end >= argc) {
		cli_help(help ? stdout : stderr, "opsctl", &cli_root);
		status = help ? 0 : ops_code_exit_status(OPS_EUSAGE);
		goto out_flush;
	}

	parent = &cli_root;
	snprintf(inv.path, sizeof inv.path, "opsctl");
	idx = end;
	cmd = find_sub(parent, argv[idx], "", &err);
	if (!cmd) {
		status = usage_error(&err);
		goto out;
	}
	snprintf(inv.path, sizeof inv.path, "opsctl %s", cmd->name);
	idx++;
	while (cmd->subs) {
		const struct cli_cmd *sub;

		if (idx >= argc || argv[idx][0] == '-') {
			if (idx < argc && (strcmp(argv[idx], "-h") == 0 ||
					   strcmp(argv[idx], "--help") == 0)) {
				cli_help(stdout, inv.path, cmd);
				/* `opsctl backup -h` is what backup-database.sh -h was:
				 * the default command's options follow the list. */
				if (cmd->default_sub) {
					const struct cli_cmd *def = find_sub(cmd, cmd->default_sub, "", &err);
					char sub_path[160];

					if (def) {
						snprintf(sub_path, sizeof sub_path, "%s %s", inv.path, def->name);
						printf("\nWithout a command, '%s' is '%s':\n\n", inv.path, sub_path);
						cli_help(stdout, sub_path, def);
					}
				}
				goto out_flush;
			}
			if (cmd->default_sub) {
				sub = find_sub(cmd, cmd->default_sub, "", &err);
				if (!sub)
					abort();
				cmd = sub;
				snprintf(inv.path + strlen(inv.path), sizeof inv.path - strlen(inv.path),
					 " %s", cmd->name);
				continue;
			}
			fprintf(stderr, "opsctl: error: '%s' needs a command\n", inv.path + 7);
			cli_help(stderr, inv.path, cmd);
			status = ops_code_exit_status(OPS_EUSAGE);
			goto out;
		}
		sub = find_sub(cmd, argv[idx], inv.path + 7, &err);
		if (!sub) {
			status = usage_error(&err);
			goto out;
		}
		cmd = sub;
		snprintf(inv.path + strlen(inv.path), sizeof inv.path - strlen(inv.path),
			 " %s", cmd->name);
		idx++;
	}

	vals = calloc(cli_opt_count(cmd->opts) + 1, sizeof *vals);
	leaf_opts = cmd->opts;
	if (!vals) {
		status = ops_code_exit_status(OPS_EINTERNAL);
		goto out;
	}
	if (cli_parse(cmd, cmd->opts, argc, argv, idx, vals, &inv.args, &inv.nargs,
		      &help, &err) != OPS_OK) {
		status = usage_error(&err);
		goto out;
	}
	if (help) {
		cli_help(stdout, inv.path, cmd);
		goto out_flush;
	}
	if (inv.nargs < cmd->min_args ||
	    (cmd->max_args >= 0 && inv.nargs > cmd->max_args)) {
		if (inv.nargs < cmd->min_args)
			ops_error_set(&err, OPS_EUSAGE, "'%s' needs %s", inv.path + 7,
				      cmd->args ? cmd->args : "arguments");
		else
			ops_error_set(&err, OPS_EUSAGE, "'%s' takes no argument '%s'",
				      inv.path + 7, inv.args[cmd->max_args]);
		status = usage_error(&err);
		goto out;
	}
	inv.cmd = cmd;
	inv.vals = vals;
	inv.quiet = global(gvals, "quiet")->num > 0;
	s = global(gvals, "output")->set ? global(gvals, "output")->str : "text";
	inv.out = (ops_outfmt)ops_outfmt_parse(s);

	inv.cfg = ops_config_new();
	if (!inv.cfg) {
		status = ops_code_exit_status(OPS_EINTERNAL);
		goto out;
	}
	if (!(cmd->flags & CLI_NO_CONFIG)) {
		int level;

		const struct cli_val *conf = global(gvals, "config"), *env = global(gvals, "env");
		const struct cli_val *leaf_conf = NULL;
		size_t k;

		/* Commands that mirror a guide script's -c/--config FILE. */
		for (k = 0; leaf_opts && leaf_opts[k].name; k++)
			if (strcmp(leaf_opts[k].name, "config") == 0 && vals[k].set)
				leaf_conf = &vals[k];
		if (leaf_conf && conf->set && strcmp(leaf_conf->str, conf->str) != 0) {
			ops_error_set(&err, OPS_EUSAGE, "--config given twice with different files");
			status = usage_error(&err);
			goto out;
		}
		if (leaf_conf)
			conf = leaf_conf;

		if (ops_config_load_default(inv.cfg, conf->set ? conf->str : NULL,
					    environ, &err) != OPS_OK) {
			status = cli_error(&inv, &err);
			goto out;
		}
		if (env->set && ops_config_set(inv.cfg, "general.environment",
					       env->str, "--env", &err) != OPS_OK) {
			ops_error_prefix(&err, "--env");
			status = err.code == OPS_ECONFIG ? usage_error(&err)
							 : cli_error(&inv, &err);
			goto out;
		}
		level = ops_log_level_parse(ops_config_get(inv.cfg, "general.log_level"));
		if (level >= 0)
			ops_log_set_level((ops_loglevel)level);
		if (inv.quiet)
			ops_log_set_level(OPS_LOG_ERROR);
		ops_log_set_syslog(ops_config_bool(inv.cfg, "general.syslog"));
	}
	if (!(cmd->flags & CLI_NO_CONFIG))
		watch_signals();
	status = cmd->run(&inv);
	/* 128 + the signal, as a shell reports a command the signal killed. */
	if (status != 0 && ops_cancelled())
		status = 128 + ops_cancelled();
out_flush:
	status = finish_stdout(status);
out:
	ops_config_free(inv.cfg);
	free(inv.args);
	cli_vals_free(leaf_opts, vals);
	cli_vals_free(cli_global_opts, gvals);
	free(gargs);
	return status;
}
