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
#include "opsmaint/backup.h"
#include "opsmaint/db.h"
#include "opsmaint/log.h"
#include "opsmaint/run.h"
#include "opsmaint/suggest.h"
#include "opsmaint/task.h"
#include "opsmaint/version.h"

extern char **environ;

/* Accepted before or after the command (a command's own short option of the
 * same letter wins after it: scan -o FILE, backup create -v). */
const struct cli_opt cli_global_opts[] = {
	CLI_OPT_STRING(0, "config", "FILE",
		       "read configuration from FILE instead of /etc/opsctl/opsctl.conf or $OPSCTL_CONFIG",
		       .complete = CLI_C_FILE),
	/* A string, not an enum: the configuration checks it, so that --env
	 * takes the spellings the file does (production, dev...). */
	CLI_OPT_STRING(0, "env", "ENV", "environment whose maintenance window applies",
		       .allowed = "dev,staging,prod", .complete = CLI_C_VALUES,
		       .key = "general.environment"),
	CLI_OPT_ENUM('o', "output", "FORMAT", "text,json",
		     "write results as text for people or json for programs", .def = "text"),
	CLI_OPT_FLAG('q', "quiet", "print nothing but errors in text mode"),
	CLI_OPT_FLAG('v', "verbose", "enable verbose output"),
	CLI_OPT_FLAG('V', "version", "print the version, the libraries and their versions, and "
		     "the features, and exit (with -v, libcurl and libarchive are loaded to read "
		     "theirs)"),
	CLI_OPT_END
};

static int run_help(struct cli_inv *inv);
static int run_completion(struct cli_inv *inv);
static int run_gen(struct cli_inv *inv);
static int run_complete(struct cli_inv *inv);
static int run_version(struct cli_inv *inv);

static const struct cli_opt status_opts[] = {
	CLI_OPT_END
};

static const struct cli_cmd root_subs[] = {
	{.name = "db", .summary = "maintain PostgreSQL and SQLite databases",
	 .subs = cli_db_subs, .description = cli_db_description},
	{.name = "backup", .summary = "back up, verify and restore databases, locally and in S3",
	 .subs = cli_backup_subs, .default_sub = "create", .description = cli_backup_description},
	{.name = "vector", .summary = "verify, rebuild and inspect the FAISS vector index",
	 .subs = cli_vector_subs, .description = cli_vector_description},
	{.name = "cache", .summary = "inspect, purge and warm the Redis cache",
	 .subs = cli_cache_subs, .description = cli_cache_description},
	{.name = "cleanup", .summary = "rotate and remove old logs, temporary files and rows, safely",
	 .subs = cli_cleanup_subs, .description = cli_cleanup_description},
	{.name = "rotate-keys", .summary = "rotate credentials without locking the application out",
	 .subs = cli_keys_subs, .default_sub = "rotate", .description = cli_keys_description},
	{.name = "scan", .summary = "security findings of the deployment, for people and CI (security-scan.sh)",
	 .opts = cli_scan_opts, .op = cli_op_scan, .flags = CLI_RECORD,
	 .man_list_title = "RULES", .man_list = cli_scan_rules_list,
	 .description = cli_scan_description, .examples = cli_scan_examples},
	{.name = "health", .summary = "check the whole system, as a monitoring plugin (health-check.sh)",
	 .opts = cli_health_opts, .op = cli_op_health, .flags = CLI_RECORD | CLI_PLUGIN,
	 .plugin_name = "OPSCTL HEALTH",
	 .description = cli_health_description, .examples = cli_health_examples},
	{.name = "report", .summary = "maintenance report: tasks, capacity, trends and leaks, log errors",
	 .opts = cli_report_opts, .op = cli_op_report, .flags = CLI_RECORD,
	 .description = cli_report_description, .examples = cli_report_examples},
	{.name = "run", .summary = "run a tier's maintenance tasks in order (run_maintenance.sh)",
	 .args = "[TIER]", .max_args = 1, .args_complete = CLI_C_VALUES,
	 .args_allowed = "daily,weekly,monthly,quarterly", .args_default = "daily",
	 .opts = cli_run_opts, .op = cli_op_run, .flags = CLI_CHANGES | CLI_ARG_TARGET,
	 .description = cli_run_description, .examples = cli_run_examples},
	{.name = "dashboards", .summary = "validate and install Grafana dashboards from version control (update-dashboards.sh)",
	 .opts = cli_dashboards_opts, .op = cli_op_dashboards, .flags = CLI_CHANGES,
	 .description = cli_dashboards_description, .examples = cli_dashboards_examples},
	{.name = "deps", .summary = "check and update the application's dependencies (update-dependencies.sh)",
	 .opts = cli_deps_opts, .op = cli_op_deps, .flags = CLI_CHANGES,
	 .description = cli_deps_description, .examples = cli_deps_examples},
	{.name = "alerts", .summary = "send alerts and prove each channel delivers them (test-alerts.sh)",
	 .subs = cli_alerts_subs, .description = cli_alerts_description},
	{.name = "schedule", .summary = "show, install and check the maintenance schedule as cron lines or systemd timers",
	 .subs = cli_schedule_subs, .default_sub = "show", .description = cli_schedule_description},
	{.name = "config", .summary = "show the effective configuration or check it for problems",
	 .subs = cli_config_subs, .description = cli_config_description},
	{.name = "status", .summary = "show the last run of every task from the journal",
	 .op = cli_op_status, .opts = status_opts, .description = cli_status_description,
	 .examples = "What ran last, and did it work?\nopsctl status\n"
		     "For a monitoring script\nopsctl --output json status"},
	{.name = "help", .summary = "show the manual page of a command",
	 .args = "[COMMAND [SUBCOMMAND] | opsctl.conf]", .max_args = 2,
	 .args_complete = CLI_C_COMMANDS, .run = run_help, .flags = CLI_NO_CONFIG,
	 .description =
	 "Opens the manual page of COMMAND (opsctl-COMMAND(1)), of one of its subcommands "
	 "(opsctl help db vacuum opens opsctl-db-vacuum(1)), of the configuration file "
	 "(opsctl help opsctl.conf, or conf, opens opsctl.conf(5)), or opsctl(1) without "
	 "one. Inside a source tree the page in man/ beside the binary is shown.",
	 .examples = "The page of one subcommand\nopsctl help db vacuum\n"
		     "Every configuration key\nopsctl help opsctl.conf"},
	{.name = "completion", .summary = "print the shell completion script",
	 .args = "SHELL", .min_args = 1, .max_args = 1, .args_complete = CLI_C_SHELLS,
	 .run = run_completion, .flags = CLI_NO_CONFIG,
	 .description =
	 "Prints the completion script for SHELL (bash, zsh or fish), generated from the same "
	 "tables as the option parser. `make install` installs all three where the shells look "
	 "for them; to install one by hand, write it where the shell looks (see the examples) "
	 "and start a new shell.",
	 .examples = "Load completion into the running bash\neval \"$(opsctl completion bash)\"\n"
		     "Install for bash, for every user (bash-completion)\n"
		     "opsctl completion bash > /usr/share/bash-completion/completions/opsctl\n"
		     "Install for bash, for yourself\n"
		     "opsctl completion bash > ~/.local/share/bash-completion/completions/opsctl\n"
		     "Install for zsh (a directory in $fpath, before compinit runs)\n"
		     "opsctl completion zsh > \"${fpath[1]}/_opsctl\"\n"
		     "Install for fish\n"
		     "opsctl completion fish > ~/.config/fish/completions/opsctl.fish"},
	/* git has both; `opsctl version` is what people type first. */
	{.name = "version", .summary = "print the version (as --version)", .run = run_version,
	 .flags = CLI_HIDDEN | CLI_NO_CONFIG},
	{.name = "__gen", .summary = "generate documentation", .args = "KIND DIR",
	 .min_args = 2, .max_args = 2, .run = run_gen, .flags = CLI_HIDDEN | CLI_NO_CONFIG},
	{.name = "__complete", .summary = "values for shell completion", .args = "KIND",
	 .min_args = 1, .max_args = 1, .run = run_complete, .flags = CLI_HIDDEN},
	{0}
};

const struct cli_cmd cli_root = {
	.name = "opsctl",
	.summary = "maintain RAG and document-chatbot systems: databases, backups, vector indexes",
	.opts = cli_global_opts,
	.subs = root_subs,
	.description =
	"opsctl maintains the PostgreSQL or SQLite databases, FAISS vector indexes, backups, "
	"credentials, disk, cache, health and alerting of RAG and document-chatbot systems, "
	"replacing the scattered shell and Python scripts of their operations guides with one "
	"tool that cron, CI and operators can trust.\n\n"
	"Global options may come before or after the command; a command's own short option of "
	"the same letter wins after it. Configuration, later wins: defaults; the generic "
	"environment (DB_HOST, PG*, ENVIRONMENT, AWS_*); an INI file (see opsctl.conf(5)); "
	"OPSCTL_* variables; flags.\n\n"
	"Every run that changes something takes a lock for its task (a second run exits 75), "
	"appends one JSON line to the journal STATE_DIR/journal.jsonl and refreshes the "
	"Prometheus textfile STATE_DIR/opsctl.prom, so that monitoring can alert on maintenance "
	"that did not run. With --output json every command prints one object that begins with "
	"the same members: command, status (ok or failed), exit_code, duration_seconds and error "
	"(null, or the one-line message), even when it fails; every string in it is valid UTF-8 "
	"(a name that is not keeps its exact bytes beside it as NAME_hex). Destructive operations respect the "
	"environment's maintenance window unless --force is given, and confirm first on a "
	"terminal. SIGINT or SIGTERM stops a run cleanly: temporary files are removed, the lock "
	"released, the run journalled as interrupted, and opsctl exits 130 or 143. A file grown "
	"past the file size limit (ulimit -f) is an I/O error, exit 74, not a core dump.",
	.examples =
	"Weekly maintenance of the configured databases\nopsctl db maintain\n"
	"Health of one database, for a monitoring check\nopsctl db health -d chatbot_db --output json"
};

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

/*
 * The page for the words after `help`: opsctl(1); opsctl-db(1) for a
 * group; opsctl-db-vacuum(1) for a leaf (git's git-commit-graph(1) way);
 * opsctl.conf(5) for "opsctl.conf" or "conf".  A word that names nothing is
 * a usage error with the nearest name, before man is run.
 */
static ops_code help_page(const struct cli_inv *inv, char *name, size_t len, int *section,
			  ops_error *err)
{
	const struct cli_cmd *cmd = &cli_root;
	char words[128] = "";
	int i;

	*section = 1;
	snprintf(name, len, "opsctl");
	if (inv->nargs == 1 && (strcmp(inv->args[0], "opsctl.conf") == 0 ||
				strcmp(inv->args[0], "conf") == 0)) {
		*section = 5;
		snprintf(name, len, "opsctl.conf");
		return OPS_OK;
	}
	for (i = 0; i < inv->nargs; i++) {
		const char *names[64], *best;
		const struct cli_cmd *sub = NULL;
		size_t k, n = 0, used = strlen(words);

		for (k = 0; cmd->subs && cmd->subs[k].name && n < 62; k++) {
			if (cmd->subs[k].flags & CLI_HIDDEN)
				continue;
			names[n++] = cmd->subs[k].name;
			if (strcmp(cmd->subs[k].name, inv->args[i]) == 0)
				sub = &cmd->subs[k];
		}
		if (cmd == &cli_root)
			names[n++] = "opsctl.conf";
		names[n] = NULL;
		snprintf(words + used, sizeof words - used, "%s%s", used ? " " : "", inv->args[i]);
		if (sub) {
			cmd = sub;
			snprintf(name + strlen(name), len - strlen(name), "-%s", sub->name);
			continue;
		}
		if (!cmd->subs)
			return ops_error_set(err, OPS_EUSAGE,
					     "no manual for '%s': '%.*s' has no subcommands", words,
					     (int)(strrchr(words, ' ') - words), words);
		best = ops_suggest(inv->args[i], names);
		words[used] = '\0';
		if (best)
			return ops_error_set(err, OPS_EUSAGE,
					     "no manual for unknown command '%s%s%s' "
					     "(did you mean '%s%s%s'?)", words, used ? " " : "",
					     inv->args[i], words, used ? " " : "", best);
		return ops_error_set(err, OPS_EUSAGE, "no manual for unknown command '%s%s%s'",
				     words, used ? " " : "", inv->args[i]);
	}
	return OPS_OK;
}

static int run_help(struct cli_inv *inv)
{
	char dir[PATH_MAX], page[PATH_MAX + 128], name[96], sect[4];
	int section;
	struct stat st;
	ops_error err;

	if (help_page(inv, name, sizeof name, &section, &err) != OPS_OK)
		return cli_fail(inv, &err);
	snprintf(sect, sizeof sect, "%d", section);
	fflush(stdout);
	if (self_dir(dir, sizeof dir) == 0) {
		snprintf(page, sizeof page, "%s/man/%s.%d", dir, name, section);
		if (stat(page, &st) == 0) {
			execlp("man", "man", "-l", page, (char *)NULL);
			execlp("mandoc", "mandoc", "-a", page, (char *)NULL);
		}
	}
	execlp("man", "man", sect, name, (char *)NULL);
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

/*
 * --version, as curl -V: "opsctl VERSION", then the libraries (name,
 * version, where the version was read) and the features; in JSON one object.
 * Loads nothing more unless verbose (version.h).
 */
static int print_version(ops_outfmt out, int verbose)
{
	cJSON *rep = NULL;
	ops_error err;
	int status = 0;

	if (ops_version_report(verbose, &rep, &err) != OPS_OK) {
		fprintf(stderr, "opsctl: error: %s\n", err.message);
		return ops_code_exit_status(err.code);
	}
	if (out == OPS_OUT_TEXT) {
		printf("opsctl %s\n", OPS_VERSION);
		cJSON_DeleteItemFromObjectCaseSensitive(rep, "version");
	}
	if (ops_output_render(stdout, rep, out, &err) != OPS_OK)
		status = ops_code_exit_status(err.code);
	cJSON_Delete(rep);
	return status;
}

static int run_version(struct cli_inv *inv)
{
	return print_version(inv->out, inv->verbose);
}

static int run_gen(struct cli_inv *inv)
{
	if (strcmp(inv->args[0], "man") == 0)
		return cli_gen_man(inv->args[1]);
	if (strcmp(inv->args[0], "conf") == 0)
		return cli_gen_conf(inv->args[1]);
	fprintf(stderr, "opsctl: error: unknown generator '%s'\n", inv->args[0]);
	return ops_code_exit_status(OPS_EUSAGE);
}

/* Every leaf command's path ("db maintain"), for tests and tools. */
static void print_leaves(const struct cli_cmd *cmd, const char *path)
{
	char sub[160];
	size_t i;

	if (!cmd->subs) {
		printf("%s\n", path);
		return;
	}
	for (i = 0; cmd->subs[i].name; i++) {
		if (cmd->subs[i].flags & CLI_HIDDEN)
			continue;
		snprintf(sub, sizeof sub, "%s%s%s", path, *path ? " " : "", cmd->subs[i].name);
		print_leaves(&cmd->subs[i], sub);
	}
}

/* The backup ids of the local store that have a manifest (an incomplete or
 * unreadable one is no use to restore, verify or pin).  S3 is not asked: a
 * TAB must never wait on the network. */
static void complete_backups(const struct cli_inv *inv)
{
	ops_store *store = NULL;
	cJSON *rep = NULL;
	const cJSON *b;
	ops_backup_ctx ctx = {0};
	ops_error err;

	if (ops_backup_open_store(inv->cfg, 0, &store, &err) != OPS_OK)
		return;
	ctx.store = store;
	if (ops_backup_list(&ctx, &rep, &err) == OPS_OK)
		cJSON_ArrayForEach(b, cJSON_GetObjectItemCaseSensitive(rep, "backups")) {
			const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(b, "id"));
			const char *st = cJSON_GetStringValue(cJSON_GetObjectItem(b, "status"));

			if (id && !(st && (strcmp(st, "incomplete") == 0 ||
					   strcmp(st, "invalid") == 0)))
				printf("%s\n", id);
		}
	cJSON_Delete(rep);
	ops_store_free(store);
}

/* The tables the configuration names (db reindex's, content-check's and the
 * vector source), each once.  The database is not asked: a TAB must not wait
 * on a server or map libpq. */
static void complete_tables(const struct cli_inv *inv)
{
	static const char *const keys[] = {"db.reindex_tables", "db.content_table",
					   "vector.table", NULL};
	char *seen[64];
	size_t n = 0, i, k;

	for (k = 0; keys[k]; k++) {
		char **v = ops_config_list(inv->cfg, keys[k]);

		for (i = 0; v && v[i]; i++) {
			size_t j;

			for (j = 0; j < n && strcmp(seen[j], v[i]) != 0; j++)
				;
			if (j < n || n == sizeof seen / sizeof seen[0] || !(seen[n] = strdup(v[i])))
				continue;
			printf("%s\n", seen[n++]);
		}
		ops_strv_free(v);
	}
	while (n)
		free(seen[--n]);
}

/* Values only known at run time, printed one per line for the completers;
 * an unknown kind prints nothing (an older completion script, a newer
 * binary). */
static int run_complete(struct cli_inv *inv)
{
	const char *kind = inv->args[0];

	if (strcmp(kind, "commands") == 0)
		print_leaves(&cli_root, "");
	if (strcmp(kind, "databases") == 0) {
		char **dbs = NULL;
		ops_error err;
		size_t i;

		/* The databases a command runs over without -d, as the runner
		 * resolves them; none configured completes nothing. */
		if (ops_db_targets(inv->cfg, NULL, &dbs, &err) == OPS_OK)
			for (i = 0; dbs[i]; i++)
				printf("%s\n", dbs[i]);
		ops_strv_free(dbs);
	}
	if (strcmp(kind, "backups") == 0)
		complete_backups(inv);
	if (strcmp(kind, "tables") == 0)
		complete_tables(inv);
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
		if (a[1] != '-') {	/* -o json, -ojson, -qv */
			for (k = 0; cli_global_opts[k].name; k++)
				if (cli_global_opts[k].short_name == a[strlen(a) - 1] &&
				    cli_global_opts[k].type != CLI_FLAG && a[2] == '\0' && i < argc)
					i++;
			continue;
		}
		if (strchr(a, '='))
			continue;
		for (k = 0; cli_global_opts[k].name; k++)
			if (strcmp(a + 2, cli_global_opts[k].name) == 0 &&
			    cli_global_opts[k].type != CLI_FLAG && i < argc)
				i++;
	}
	return i;
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
		return ops_code_exit_status(OPS_EIO);
	}
	return status;
}

/* `opsctl backup -h` is what backup-database.sh -h was: the group's list,
 * then the default command's options. */
static void group_help(const char *path, const struct cli_cmd *cmd)
{
	const struct cli_cmd *def;
	char sub_path[160];
	ops_error err;

	cli_help(stdout, path, cmd);
	if (!cmd->default_sub || !(def = find_sub(cmd, cmd->default_sub, "", &err)))
		return;
	snprintf(sub_path, sizeof sub_path, "%s %s", path, def->name);
	printf("\nWithout a command, '%s' is '%s':\n\n", path, sub_path);
	cli_help(stdout, sub_path, def);
}

enum step { STEP_GO, STEP_DONE, STEP_FAIL };

/*
 * The command words after the global options, down to a leaf: inv->cmd,
 * inv->path and *idx (the first argument after them).  Prints help or the
 * usage error itself when it stops there.
 */
static enum step resolve_command(struct cli_inv *inv, int argc, char **argv, int *idx,
				 int *status)
{
	const struct cli_cmd *cmd, *sub;
	ops_error err;

	snprintf(inv->path, sizeof inv->path, "opsctl");
	inv->name = inv->path + strlen("opsctl ");
	cmd = &cli_root;
	while (cmd->subs) {
		const char *word = *idx < argc ? argv[*idx] : NULL;
		size_t len = strlen(inv->path);

		if (cmd != &cli_root && (!word || word[0] == '-')) {
			if (word && (!strcmp(word, "-h") || !strcmp(word, "--help"))) {
				group_help(inv->path, cmd);
				return STEP_DONE;
			}
			if (!cmd->default_sub) {
				ops_error_set(&err, OPS_EUSAGE, "'%s' needs a command", inv->name);
				inv->cmd = cmd;
				*status = cli_fail(inv, &err);
				cli_help(stderr, inv->path, cmd);
				return STEP_FAIL;
			}
			sub = find_sub(cmd, cmd->default_sub, "", &err);
		} else {
			sub = find_sub(cmd, word, cmd == &cli_root ? "" : inv->name, &err);
			if (!sub) {
				*status = cli_fail(inv, &err);
				return STEP_FAIL;
			}
			(*idx)++;
		}
		cmd = sub;
		snprintf(inv->path + len, sizeof inv->path - len, " %s", cmd->name);
	}
	inv->cmd = cmd;
	return STEP_GO;
}

/* Positional arguments within the row's arity. */
static ops_code check_args(const struct cli_inv *inv, ops_error *err)
{
	const struct cli_cmd *cmd = inv->cmd;

	if (inv->nargs < cmd->min_args)
		return ops_error_set(err, OPS_EUSAGE, "'%s' needs %s", inv->name,
				     cmd->args ? cmd->args : "arguments");
	if (cmd->max_args >= 0 && inv->nargs > cmd->max_args)
		return ops_error_set(err, OPS_EUSAGE, "'%s' takes no argument '%s'",
				     inv->name, inv->args[cmd->max_args]);
	if (cmd->args_allowed && inv->nargs > 0) {
		char **allowed = ops_split_list(cmd->args_allowed);
		const char *best;
		size_t i;

		if (!allowed)
			return ops_error_oom(err);
		for (i = 0; allowed[i] && strcmp(allowed[i], inv->args[0]) != 0; i++)
			;
		if (!allowed[i]) {
			char what[32];	/* "TIER" of "[TIER]" */

			snprintf(what, sizeof what, "%s", cmd->args ? cmd->args + (*cmd->args == '[')
				 : "argument");
			what[strcspn(what, "]")] = '\0';
			best = ops_suggest(inv->args[0], (const char *const *)allowed);
			ops_error_set(err, OPS_EUSAGE, "'%s': unknown %s '%s'%s%s%s; expected one of %s",
				      inv->name, what, inv->args[0],
				      best ? " (did you mean '" : "", best ? best : "",
				      best ? "'?)" : "", cmd->args_allowed);
			ops_strv_free(allowed);
			return OPS_EUSAGE;
		}
		ops_strv_free(allowed);
	}
	return OPS_OK;
}

/* The configuration: file (the global --config, or a guide script's own
 * -c/--config), the environment, then --env; and logging from it. */
static ops_code load_config(struct cli_inv *inv, ops_error *err)
{
	const struct cli_val *conf = cli_global(inv->gvals, "config");
	const struct cli_val *env = cli_global(inv->gvals, "env");
	const struct cli_opt *o;
	int level;

	inv->cfg = ops_config_new();
	if (!inv->cfg)
		return ops_error_oom(err);
	if (inv->cmd->flags & CLI_NO_CONFIG)
		return OPS_OK;
	for (o = inv->cmd->opts; o && o->name; o++) {
		const struct cli_val *v = &inv->vals[o - inv->cmd->opts];

		if (!v->set)
			continue;
		/* A guide script's own -e/--environment is the global --env. */
		if (strcmp(o->name, "environment") == 0) {
			if (env->set && strcmp(v->str, env->str) != 0)
				return ops_error_set(err, OPS_EUSAGE, "--env and --environment "
						     "name different environments");
			env = v;
			continue;
		}
		if (strcmp(o->name, "config") != 0)
			continue;
		if (conf->set && strcmp(v->str, conf->str) != 0)
			return ops_error_set(err, OPS_EUSAGE,
					     "--config given twice with different files");
		conf = v;
	}
	if (ops_config_load_default(inv->cfg, conf->set ? conf->str : NULL, environ, err) != OPS_OK)
		return err->code;
	if (env->set && ops_config_set(inv->cfg, "general.environment", env->str, "--env",
				       err) != OPS_OK) {
		/* A bad --env is a bad flag (64), whatever the key's checker says. */
		ops_error_prefix(err, "--env");
		if (err->code == OPS_ECONFIG)
			err->code = OPS_EUSAGE;
		return err->code;
	}
	level = ops_log_level_parse(ops_config_get(inv->cfg, "general.log_level"));
	if (level >= 0)
		ops_log_set_level((ops_loglevel)level);
	if (inv->quiet)
		ops_log_set_level(OPS_LOG_ERROR);
	ops_log_set_syslog(ops_config_bool(inv->cfg, "general.syslog"));
	return OPS_OK;
}

int main(int argc, char **argv)
{
	struct cli_val *gvals = NULL, *vals = NULL;
	struct cli_inv inv;
	char **gargs = NULL;
	int gn = 0, help = 0, idx, status = 0;
	ops_error err;

	/* A closed pipe on stdout is EPIPE, an error like any other write
	 * error (exit 74), never a silent death by SIGPIPE after the work is
	 * done; children get the default back (core/proc.c). */
	signal(SIGPIPE, SIG_IGN);
	/* Likewise a file grown past RLIMIT_FSIZE (ulimit -f, a cron or
	 * systemd LimitFSIZE) is EFBIG from write(), exit 74 with the journal
	 * line and temp files cleaned up, not a core dump by SIGXFSZ. */
	signal(SIGXFSZ, SIG_IGN);
	memset(&inv, 0, sizeof inv);
	inv.argc = argc;
	inv.argv = argv;
	inv.name = "";
	ops_error_clear(&err);

	gvals = calloc(cli_opt_count(cli_global_opts) + 1, sizeof *gvals);
	if (!gvals)
		return ops_code_exit_status(OPS_EINTERNAL);
	inv.gvals = gvals;
	idx = global_end(argc, argv);
	if (cli_parse(cli_global_opts, gvals, NULL, NULL, idx, argv, 1, &gargs, &gn,
		      &help, &err) != OPS_OK) {
		status = cli_fail(&inv, &err);
		goto out;
	}
	free(gargs);
	gargs = NULL;
	if (cli_global(gvals, "version")->set) {	/* --version: no configuration is loaded */
		const struct cli_val *o = cli_global(gvals, "output");

		status = finish_stdout(print_version(o->set ? (ops_outfmt)ops_outfmt_parse(o->str)
							    : OPS_OUT_TEXT,
						     cli_global(gvals, "verbose")->num > 0));
		goto out;
	}
	if (idx >= argc) {
		cli_help(help ? stdout : stderr, "opsctl", &cli_root);
		status = help ? 0 : ops_code_exit_status(OPS_EUSAGE);
		goto out_flush;
	}
	/* --output before the command already shapes a usage error's report. */
	if (cli_global(gvals, "output")->set)
		inv.out = (ops_outfmt)ops_outfmt_parse(cli_global(gvals, "output")->str);

	switch (resolve_command(&inv, argc, argv, &idx, &status)) {
	case STEP_DONE:
		goto out_flush;
	case STEP_FAIL:
		goto out;
	case STEP_GO:
		break;
	}
	vals = calloc(cli_opt_count(inv.cmd->opts) + 1, sizeof *vals);
	if (!vals) {
		status = ops_code_exit_status(OPS_EINTERNAL);
		goto out;
	}
	inv.vals = vals;
	/* Global options after the command too: `opsctl db health --output json`. */
	if (cli_parse(inv.cmd->opts, vals, cli_global_opts, gvals, argc, argv, idx,
		      &inv.args, &inv.nargs, &help, &err) != OPS_OK) {
		status = cli_fail(&inv, &err);
		goto out;
	}
	if (help) {
		cli_help(stdout, inv.path, inv.cmd);
		goto out_flush;
	}
	inv.quiet = cli_global(gvals, "quiet")->num > 0;
	inv.verbose = cli_global(gvals, "verbose")->num > 0;
	inv.out = (ops_outfmt)ops_outfmt_parse(cli_global(gvals, "output")->set
					       ? cli_global(gvals, "output")->str : "text");
	if (check_args(&inv, &err) != OPS_OK || load_config(&inv, &err) != OPS_OK) {
		status = cli_fail(&inv, &err);
		goto out;
	}
	if (!(inv.cmd->flags & CLI_NO_CONFIG))
		watch_signals();
	status = inv.cmd->op ? cli_run_task(&inv) : inv.cmd->run(&inv);
out_flush:
	status = finish_stdout(status);
out:
	ops_config_free(inv.cfg);
	free(inv.args);
	cli_vals_free(inv.cmd ? inv.cmd->opts : NULL, vals);
	cli_vals_free(cli_global_opts, gvals);
	free(gargs);
	return status;
}
