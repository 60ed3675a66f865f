/*
 * The front end's one source of truth: commands and their options are rows of
 * static tables (struct cli_cmd, struct cli_opt), written by field name.  The
 * parser, `--help`, the man pages, the bash/zsh/fish completions and the run
 * itself (lock, journal, metrics, output) are all driven by those rows, so
 * none of them can disagree with what the parser accepts.
 */
#ifndef OPSCTL_CLI_H
#define OPSCTL_CLI_H

#include <stdio.h>
#include <cjson/cJSON.h>
#include "opsmaint/config.h"
#include "opsmaint/error.h"
#include "opsmaint/output.h"
#include "opsmaint/run.h"
#include "opsmaint/store.h"

enum cli_type {
	CLI_FLAG,	/* no value */
	CLI_STRING,
	CLI_INT,	/* range min..max */
	CLI_DURATION,	/* "90s", "1h"; stored in num as seconds */
	CLI_ENUM,	/* one of allowed */
	CLI_ENUMLIST,	/* comma list of allowed */
	CLI_LIST	/* repeatable and/or comma list of free strings */
};

/* What completion offers for an option's value or a positional argument. */
enum cli_complete {
	CLI_C_NONE,
	CLI_C_VALUES,	/* the allowed list */
	CLI_C_FILE,
	CLI_C_DIR,
	CLI_C_DATABASE,	/* `opsctl __complete databases` at run time, and *.db files */
	CLI_C_BACKUP,	/* `opsctl __complete backups` (the local store's ids) and latest */
	CLI_C_TABLE,	/* `opsctl __complete tables [TARGET]`; a LIST completes comma lists */
	CLI_C_COMMANDS,	/* the top-level command names (opsctl help) */
	CLI_C_SHELLS	/* bash, zsh, fish (opsctl completion) */
};

struct cli_opt {
	const char *name;	/* long name without dashes */
	char short_name;	/* 0 for none */
	enum cli_type type;
	const char *metavar;	/* "TASKS"; NULL for flags */
	const char *def;	/* the value when the option is not given (and no key is set) */
	const char *key;	/* configuration key that supplies the value when the option
				 * is not given; shown as "(config: KEY)" */
	const char *allowed;	/* for ENUM/ENUMLIST, comma-separated */
	long min, max;		/* for INT */
	enum cli_complete complete;
	const char *help;	/* one line, lowercase start, no full stop, no default in it */
};

/* Option rows by field name, as git's OPT_* macros; extra fields
 * (.def, .key, .complete, ...) follow as designated initialisers. */
#define CLI_OPT_FLAG(s, l, h, ...) \
	{ .name = (l), .short_name = (s), .type = CLI_FLAG, .help = (h), __VA_ARGS__ }
#define CLI_OPT_STRING(s, l, mv, h, ...) \
	{ .name = (l), .short_name = (s), .type = CLI_STRING, .metavar = (mv), .help = (h), \
	  __VA_ARGS__ }
#define CLI_OPT_INT(s, l, mv, lo, hi, h, ...) \
	{ .name = (l), .short_name = (s), .type = CLI_INT, .metavar = (mv), .min = (lo), \
	  .max = (hi), .help = (h), __VA_ARGS__ }
#define CLI_OPT_DURATION(s, l, mv, h, ...) \
	{ .name = (l), .short_name = (s), .type = CLI_DURATION, .metavar = (mv), .help = (h), \
	  __VA_ARGS__ }
#define CLI_OPT_ENUM(s, l, mv, vals, h, ...) \
	{ .name = (l), .short_name = (s), .type = CLI_ENUM, .metavar = (mv), .allowed = (vals), \
	  .complete = CLI_C_VALUES, .help = (h), __VA_ARGS__ }
#define CLI_OPT_ENUMLIST(s, l, mv, vals, h, ...) \
	{ .name = (l), .short_name = (s), .type = CLI_ENUMLIST, .metavar = (mv), \
	  .allowed = (vals), .complete = CLI_C_VALUES, .help = (h), __VA_ARGS__ }
#define CLI_OPT_LIST(s, l, mv, h, ...) \
	{ .name = (l), .short_name = (s), .type = CLI_LIST, .metavar = (mv), .help = (h), \
	  __VA_ARGS__ }
#define CLI_OPT_END { .name = NULL }

/* The options several groups share, declared once. */
#define CLI_OPT_VERBOSE(s) \
	CLI_OPT_FLAG(s, "verbose", "enable verbose output: each step, and the server's own " \
		     "progress messages, as they happen")
#define CLI_OPT_DRY_RUN(what) \
	CLI_OPT_FLAG(0, "dry-run", what)
#define CLI_OPT_FORCE(what) \
	CLI_OPT_FLAG('f', "force", what)
/* A guide script's own -e/--environment: the global --env under the
 * script's name (opsctl.c maps it); what says what it selects. */
#define CLI_OPT_ENVIRONMENT(what) \
	CLI_OPT_ENUM('e', "environment", "ENV", "dev,staging,prod", what, \
		     .key = "general.environment")
/* Answers the questions, nothing more: -f/--force keeps the guides' meaning
 * (outside the window too); --yes alone still waits for the window. */
#define CLI_OPT_YES \
	CLI_OPT_FLAG('y', "yes", "answer yes to the confirmation question (the maintenance " \
		     "window still applies; --force overrides it)")

struct cli_inv;
/* A command that manages its own run (help, completion, generators). */
typedef int (*cli_fn)(struct cli_inv *inv);
/*
 * A task command's library call: fill *report (may stay NULL) and return a
 * code.  The runner does everything around it (run context, targets or
 * store, lock, journal, metrics, output).
 */
typedef ops_code (*cli_op)(struct cli_inv *inv, const ops_run *run, cJSON **report,
			   ops_error *err);

enum {
	CLI_HIDDEN = 1 << 0,	/* not in help, man or completion */
	CLI_CHANGES = 1 << 1,	/* takes the task lock, journals, refreshes metrics */
	CLI_NO_CONFIG = 1 << 2,	/* runs without loading configuration */
	CLI_EACH_DATABASE = 1 << 3,	/* op runs once per -d target (inv->target) */
	CLI_STORE = 1 << 4,	/* the runner opens the backup store (inv->store) */
	CLI_STORE_S3 = 1 << 5,	/* ... and it is always the S3 one */
	/* A monitoring check (check_* plugin convention): exit 0 OK, 1 WARNING,
	 * 2 CRITICAL, 3 UNKNOWN; text begins with "NAME STATE - summary |
	 * perfdata".  Each report carries _state (0-2), _summary, _perfdata. */
	CLI_PLUGIN = 1 << 6,
	/* Read-only, but monitored: journals and refreshes metrics (its figures
	 * are what an alert reads) without taking the task lock. */
	CLI_RECORD = 1 << 7,
	/* The positional argument (or args_default) is the run's target: its
	 * lock, journal line and metric series (run weekly). */
	CLI_ARG_TARGET = 1 << 8
};

struct cli_cmd {
	const char *name;
	const char *summary;		/* one line for command lists */
	const char *args;		/* positional synopsis, e.g. "VERSION", or NULL */
	int min_args, max_args;		/* max -1 for unlimited */
	enum cli_complete args_complete;
	/* CLI_C_VALUES: the comma list a positional argument must be one of
	 * (anything else is a usage error naming the nearest), and the value
	 * when none is given. */
	const char *args_allowed;
	const char *args_default;
	const struct cli_opt *opts;	/* terminated by CLI_OPT_END; -h/--help is implicit */
	const struct cli_cmd *subs;	/* terminated by {0}; NULL for a leaf */
	const char *default_sub;	/* run when no subcommand word is given */
	cli_fn run;			/* a command that runs itself, or NULL */
	cli_op op;			/* a task command's library call, or NULL */
	const char *task;		/* journal and metric name; NULL: the command path */
	const char *lock;		/* lock shared with other commands; NULL: the task's */
	const char *changes_if;		/* a flag without which the run changes nothing
					 * (connections --terminate) */
	unsigned flags;
	const char *description;	/* man page prose (roff-free text; paragraphs split by \n\n) */
	/* A man page section listing items the library declares (scan's rules):
	 * its title, and a function giving a JSON array of {"name", "text"}
	 * objects (caller frees), or NULL. */
	const char *man_list_title;
	cJSON *(*man_list)(void);
	const char *examples;		/* lines "comment\ncommand" pairs, see gen.c */
	/* CLI_PLUGIN: the status line's first words ("OPSCTL HEALTH"); NULL: the
	 * command path in capitals ("DB HEALTH"). */
	const char *plugin_name;
};

/* A parsed option value. */
struct cli_val {
	int set;
	const char *str;	/* STRING, ENUM, INT/DURATION text */
	long num;		/* INT, DURATION seconds, FLAG count */
	char **list;		/* LIST, ENUMLIST: NULL-terminated */
};

/* Everything a command's run function gets. */
struct cli_inv {
	const struct cli_cmd *cmd;
	const char *name;		/* "db maintain": the command path without "opsctl " */
	char path[128];			/* "opsctl db maintain" */
	struct cli_val *vals;		/* parallel to cmd->opts */
	struct cli_val *gvals;		/* parallel to cli_global_opts */
	int nargs;
	char **args;
	ops_config *cfg;
	ops_outfmt out;
	int quiet;
	int verbose;			/* the global -v/--verbose */
	int argc;			/* the whole original command line */
	char **argv;
	const char *target;		/* CLI_EACH_DATABASE: the database being worked on */
	ops_store *store;		/* CLI_STORE: the store opened for the run */
};

/* The top-level command table (opsctl.c) and the per-command tables. */
extern const struct cli_cmd cli_root;
extern const struct cli_opt cli_global_opts[];
extern const struct cli_cmd cli_db_subs[];
extern const char cli_db_description[];
extern const struct cli_cmd cli_backup_subs[];
extern const char cli_backup_description[];
extern const struct cli_cmd cli_vector_subs[];
extern const char cli_vector_description[];
/* opsctl scan: one command with options (cmd/scan.c) */
extern const struct cli_opt cli_scan_opts[];
extern const char cli_scan_description[];
extern const char cli_scan_examples[];
ops_code cli_op_scan(struct cli_inv *inv, const ops_run *run, cJSON **report, ops_error *err);
cJSON *cli_scan_rules_list(void);
extern const struct cli_cmd cli_keys_subs[];
extern const char cli_keys_description[];
extern const struct cli_cmd cli_cache_subs[];
extern const char cli_cache_description[];
extern const struct cli_cmd cli_cleanup_subs[];
extern const char cli_cleanup_description[];
extern const struct cli_cmd cli_alerts_subs[];
extern const char cli_alerts_description[];
/* opsctl health: one command with options (cmd/health.c) */
extern const struct cli_opt cli_health_opts[];
extern const char cli_health_description[];
extern const char cli_health_examples[];
ops_code cli_op_health(struct cli_inv *inv, const ops_run *run, cJSON **report, ops_error *err);
extern const struct cli_cmd cli_schedule_subs[];
extern const char cli_schedule_description[];
extern const struct cli_cmd cli_config_subs[];
extern const char cli_config_description[];
/* opsctl report: one command with options (cmd/report.c) */
extern const struct cli_opt cli_report_opts[];
extern const char cli_report_description[];
extern const char cli_report_examples[];
ops_code cli_op_report(struct cli_inv *inv, const ops_run *run, cJSON **report, ops_error *err);
ops_code cli_op_status(struct cli_inv *inv, const ops_run *run, cJSON **report, ops_error *err);
extern const char cli_status_description[];
/* opsctl dashboards: one command with options (cmd/dashboards.c) */
extern const struct cli_opt cli_dashboards_opts[];
extern const char cli_dashboards_description[];
extern const char cli_dashboards_examples[];
ops_code cli_op_dashboards(struct cli_inv *inv, const ops_run *run, cJSON **report,
			   ops_error *err);
/* opsctl deps: one command with options (cmd/deps.c) */
extern const struct cli_opt cli_deps_opts[];
extern const char cli_deps_description[];
extern const char cli_deps_examples[];
ops_code cli_op_deps(struct cli_inv *inv, const ops_run *run, cJSON **report, ops_error *err);
/* opsctl run TIER (cmd/run.c) */
extern const struct cli_opt cli_run_opts[];
extern const char cli_run_description[];
extern const char cli_run_examples[];
ops_code cli_op_run(struct cli_inv *inv, const ops_run *run, cJSON **report, ops_error *err);

/*
 * Option values for op functions; abort on a name the table lacks (a bug).
 * Not given: the configuration key's value when the row names one and it is
 * set, else the row's default, else unset (NULL, 0, NULL).
 */
const struct cli_val *cli_get(const struct cli_inv *inv, const char *name);
int cli_given(const struct cli_inv *inv, const char *name);
int cli_flag(const struct cli_inv *inv, const char *name);
const char *cli_str(const struct cli_inv *inv, const char *name);
long cli_num(const struct cli_inv *inv, const char *name);
char **cli_list(const struct cli_inv *inv, const char *name);
/* A global option's parsed value (gvals parallel to cli_global_opts), by
 * name; aborts on a name the table lacks. */
const struct cli_val *cli_global(const struct cli_val *gvals, const char *name);
/* 1 when the running command's table has an option called name. */
int cli_has_opt(const struct cli_inv *inv, const char *name);

/*
 * Parse argv[start..] against opts: long (--name, --name=value), short (-v,
 * -t VALUE, -tVALUE, bundles -vf), "--" ends options; options and positionals
 * may be mixed.  An option opts lacks is looked up in fallback (the global
 * options, accepted after the command too) and stored in fvals.  On error
 * sets OPS_EUSAGE with a one-line message (with "did you mean" for near
 * misses).  Sets *help when -h/--help was given.
 */
ops_code cli_parse(const struct cli_opt *opts, struct cli_val *vals,
		   const struct cli_opt *fallback, struct cli_val *fvals,
		   int argc, char **argv, int start,
		   char ***args, int *nargs, int *help, ops_error *err);
void cli_vals_free(const struct cli_opt *opts, struct cli_val *vals);
size_t cli_opt_count(const struct cli_opt *opts);

/* --help text for a command at path ("opsctl db maintain"), wrapped to the
 * terminal's width (80 columns when stdout is not a terminal). */
void cli_help(FILE *fp, const char *path, const struct cli_cmd *cmd);

/* Generators (gen.c). */
int cli_gen_completion(FILE *fp, const char *shell);
int cli_gen_man(const char *dir);
/* DIR/opsctl.conf.sample: every key, commented out at its default. */
int cli_gen_conf(const char *dir);

/* ---- the runner (runner.c) ---- */

/*
 * The one runner of every task command (rows with an op): the run context
 * from the flags, the targets or the store, the lock, the op, the envelope
 * (command, status, exit_code, duration_seconds, error, then the figures),
 * the error line and hint on stderr, the journal line and the metrics.
 * Returns the exit status.
 */
int cli_run_task(struct cli_inv *inv);

/*
 * An error before or outside a task run: the one line on stderr (and its
 * hint), and in JSON mode the envelope on stdout.  Returns the exit status.
 */
int cli_fail(const struct cli_inv *inv, const ops_error *err);

/* The exit status for an error, 128 + the signal after an interruption. */
int cli_exit_status(ops_code code);

#endif
