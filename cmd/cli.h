/*
 * The front end's one source of truth: commands and their options are rows of
 * static tables (struct cli_cmd, struct cli_opt).  The parser, `--help`, the
 * man pages and the bash/zsh/fish completions are all generated from those
 * rows, so none of them can disagree with what the parser accepts.
 */
#ifndef OPSCTL_CLI_H
#define OPSCTL_CLI_H

#include <stdio.h>
#include <cjson/cJSON.h>
#include "opsmaint/config.h"
#include "opsmaint/error.h"
#include "opsmaint/output.h"

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
	CLI_C_DATABASE,	/* `opsctl __complete databases` at run time */
	CLI_C_COMMANDS,	/* the top-level command names (opsctl help) */
	CLI_C_SHELLS	/* bash, zsh, fish (opsctl completion) */
};

struct cli_opt {
	const char *name;	/* long name without dashes */
	char short_name;	/* 0 for none */
	enum cli_type type;
	const char *metavar;	/* "TASKS"; NULL for flags */
	const char *def;	/* shown as "(default: ...)"; NULL for none */
	const char *allowed;	/* for ENUM/ENUMLIST, comma-separated */
	long min, max;		/* for INT */
	enum cli_complete complete;
	const char *help;	/* one line, lowercase start, no full stop */
};

struct cli_inv;
typedef int (*cli_fn)(struct cli_inv *inv);

enum {
	CLI_HIDDEN = 1 << 0,	/* not in help, man or completion */
	CLI_CHANGES = 1 << 1,	/* takes the task lock, journals, refreshes metrics */
	CLI_NO_CONFIG = 1 << 2	/* runs without loading configuration */
};

struct cli_cmd {
	const char *name;
	const char *summary;		/* one line for command lists */
	const char *args;		/* positional synopsis, e.g. "VERSION", or NULL */
	int min_args, max_args;		/* max -1 for unlimited */
	enum cli_complete args_complete;
	const struct cli_opt *opts;	/* terminated by {0}; -h/--help is implicit */
	const struct cli_cmd *subs;	/* terminated by {0}; NULL for a leaf */
	const char *default_sub;	/* run when no subcommand word is given */
	cli_fn run;
	unsigned flags;
	const char *description;	/* man page prose (roff-free text; paragraphs split by \n\n) */
	const char *examples;		/* lines "comment\ncommand" pairs, see man.c */
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
	char path[128];			/* "db maintain" */
	struct cli_val *vals;		/* parallel to cmd->opts */
	int nargs;
	char **args;
	ops_config *cfg;
	ops_outfmt out;
	int quiet;
	int argc;			/* the whole original command line */
	char **argv;
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

/* Option lookup for run functions; aborts on a name the table lacks (a bug). */
const struct cli_val *cli_get(const struct cli_inv *inv, const char *name);
int cli_flag(const struct cli_inv *inv, const char *name);
const char *cli_str(const struct cli_inv *inv, const char *name);
long cli_num(const struct cli_inv *inv, const char *name);
char **cli_list(const struct cli_inv *inv, const char *name);

/*
 * Parse argv[start..] against cmd's options: long (--name, --name=value),
 * short (-v, -t VALUE, -tVALUE, bundles -vf), "--" ends options; options and
 * positionals may be mixed.  On error sets OPS_EUSAGE with a one-line message
 * (with "did you mean" for near misses).  vals must hold one entry per option.
 * Sets *help when -h/--help was given.
 */
ops_code cli_parse(const struct cli_cmd *cmd, const struct cli_opt *opts,
		   int argc, char **argv, int start, struct cli_val *vals,
		   char ***args, int *nargs, int *help, ops_error *err);
void cli_vals_free(const struct cli_opt *opts, struct cli_val *vals);
size_t cli_opt_count(const struct cli_opt *opts);


/* --help text for a command at path ("opsctl db maintain"). */
void cli_help(FILE *fp, const char *path, const struct cli_cmd *cmd);

/* Generators (gen.c). */
int cli_gen_completion(FILE *fp, const char *shell);
int cli_gen_man(const char *dir);

/* Output helpers for run functions (opsctl.c). */
int cli_error(const struct cli_inv *inv, const ops_error *err);
int cli_emit(const struct cli_inv *inv, cJSON *report);
/*
 * Record a run in the journal and metrics and release its lock; returns the
 * exit status, which a failure to record turns into an error (the work is
 * done, but monitoring would not know).
 */
struct ops_task;
/*
 * The end of a run that built a report: "status" (and "error") set in it,
 * the report printed, the error line, and with a task the journal line and
 * metrics (from the report's "_figures").  Consumes report; returns the exit
 * status.
 */
int cli_report_run(const struct cli_inv *inv, struct ops_task *task, ops_code rc,
		   const ops_error *err, cJSON *report);
/* 1 when the running command's table has an option called name. */
int cli_has_opt(const struct cli_inv *inv, const char *name);
/* A confirm callback for the library: asks on the terminal, 1 for yes.
 * Off a terminal nobody can answer: cron relies on the window and --force. */
int cli_ask(void *arg, const char *question);
/* A progress callback for the library: one line on stderr, redrawn at most
 * five times a second; the caller installs it only on a terminal. */
struct ops_progress;
void cli_progress(void *arg, const struct ops_progress *p);
int cli_finish_task(const struct cli_inv *inv, struct ops_task *task, ops_code rc, int status,
		    const char *error, const cJSON *figures);

#endif
