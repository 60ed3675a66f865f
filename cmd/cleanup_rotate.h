/*
 * `opsctl cleanup rotate`, as one row for the `cleanup` group's subcommand
 * table (cmd/cleanup.c): a table row must be a constant, so the row is a
 * macro over the names cmd/cleanup_rotate.c defines.
 *
 *	const struct cli_cmd cli_cleanup_subs[] = { ..., CLI_CLEANUP_ROTATE_ROW, {0} };
 */
#ifndef OPSCTL_CLEANUP_ROTATE_H
#define OPSCTL_CLEANUP_ROTATE_H

#include "cli.h"

extern const struct cli_opt cli_cleanup_rotate_opts[];
extern const char cli_cleanup_rotate_description[];
extern const char cli_cleanup_rotate_examples[];
ops_code cli_op_cleanup_rotate(struct cli_inv *inv, const ops_run *run, cJSON **report,
			       ops_error *err);

#define CLI_CLEANUP_ROTATE_ROW \
	{.name = "rotate", \
	 .summary = "rotate, compress and prune the configured logs with logrotate " \
		    "(guides 000, 002, 003)", \
	 .opts = cli_cleanup_rotate_opts, \
	 .op = cli_op_cleanup_rotate, \
	 .flags = CLI_CHANGES, \
	 .description = cli_cleanup_rotate_description, \
	 .examples = cli_cleanup_rotate_examples}

#endif
