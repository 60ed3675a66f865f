/*
 * `opsctl cleanup data`, as one row for the `cleanup` group's subcommand
 * table (cmd/cleanup.c): a table row must be a constant, so the row is a
 * macro over the names cmd/cleanup_data.c defines.
 *
 *	const struct cli_cmd cli_cleanup_subs[] = { ..., CLI_CLEANUP_DATA_ROW, {0} };
 */
#ifndef OPSCTL_CLEANUP_DATA_H
#define OPSCTL_CLEANUP_DATA_H

#include "cli.h"

extern const struct cli_opt cli_cleanup_data_opts[];
extern const char cli_cleanup_data_description[];
extern const char cli_cleanup_data_examples[];
ops_code cli_op_cleanup_data(struct cli_inv *inv, const ops_run *run, cJSON **report,
			     ops_error *err);

#define CLI_CLEANUP_DATA_ROW \
	{.name = "data", \
	 .summary = "delete or archive old rows: chat logs, conversations, audit logs " \
		    "(guides 001, 003, 004)", \
	 .opts = cli_cleanup_data_opts, \
	 .op = cli_op_cleanup_data, \
	 .flags = CLI_CHANGES | CLI_EACH_DATABASE, \
	 .description = cli_cleanup_data_description, \
	 .examples = cli_cleanup_data_examples}

#endif
