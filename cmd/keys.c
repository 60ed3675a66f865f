/*
 * `opsctl rotate-keys`: the front end of lib/keys.  rotate-keys.sh's flags
 * (guide 000 section 8.3) on the default subcommand, so that the guide's
 * `rotate-keys.sh --all` and `--type database` are `opsctl rotate-keys --all`
 * and `opsctl rotate-keys --type database`.  -e/--environment is the global
 * --env under the guide's name (cmd/opsctl.c reads it with the config).
 */
#include <string.h>

#include "cli.h"
#include "opsmaint/keys.h"

static unsigned types_of(struct cli_inv *inv)
{
	char **t = cli_list(inv, "type");
	unsigned m = 0;

	if (cli_flag(inv, "all"))
		return 0;
	for (; t && *t; t++) {
		if (strcmp(*t, "all") == 0)
			return 0;
		if (strcmp(*t, "database") == 0)
			m |= OPS_KEYS_T_DATABASE;
		else if (strcmp(*t, "api-keys") == 0)
			m |= OPS_KEYS_T_API_KEYS;
		else if (strcmp(*t, "jwt-secret") == 0)
			m |= OPS_KEYS_T_JWT;
	}
	return m;
}

static ops_code op_rotate(struct cli_inv *inv, const ops_run *run, cJSON **report,
			  ops_error *err)
{
	ops_keys_req req = {0};

	req.run = run;
	req.types = types_of(inv);
	req.due_only = cli_flag(inv, "due");
	req.backup = cli_flag(inv, "backup");
	req.end_grace = cli_flag(inv, "end-grace");
	return ops_keys_rotate(&req, report, err);
}

static ops_code op_restore(struct cli_inv *inv, const ops_run *run, cJSON **report,
			   ops_error *err)
{
	ops_keys_req req = {0};

	req.run = run;
	req.types = types_of(inv);
	req.restore = inv->nargs > 0 ? inv->args[0] : "latest";
	req.end_grace = cli_flag(inv, "end-grace");
	return ops_keys_rotate(&req, report, err);
}

static ops_code op_abort(struct cli_inv *inv, const ops_run *run, cJSON **report,
			 ops_error *err)
{
	ops_keys_req req = {0};

	req.run = run;
	req.types = types_of(inv);
	req.abort = 1;
	return ops_keys_rotate(&req, report, err);
}

static ops_code op_status(struct cli_inv *inv, const ops_run *run, cJSON **report,
			  ops_error *err)
{
	ops_keys_req req = {0};

	req.run = run;
	req.types = types_of(inv);
	return ops_keys_status(&req, report, err);
}

#define OPT_TYPE \
	CLI_OPT_ENUMLIST('t', "type", "TYPE", "database,api-keys,jwt-secret,all", \
			 "credential types to rotate", .def = "all")
#define OPT_ALL \
	CLI_OPT_FLAG(0, "all", "every credential type (rotate-keys.sh --all, the quarterly cron " \
		     "line): the same as -t all")
#define OPT_END_GRACE \
	CLI_OPT_FLAG(0, "end-grace", "rotate a credential whose previous secret is still in its " \
		     "grace period too, retiring that previous secret first")

#define OPT_ENVIRONMENT \
	CLI_OPT_ENVIRONMENT("environment whose maintenance window applies (the global --env)")

/* rotate-keys.sh's usage block, flag for flag, and what cron needs. */
static const struct cli_opt rotate_opts[] = {
	OPT_TYPE,
	OPT_ENVIRONMENT,
	CLI_OPT_FORCE("rotate outside the maintenance window too, and without asking"),
	CLI_OPT_FLAG('b', "backup", "save the current credentials, encrypted, before anything "
		     "changes"),
	OPT_ALL,
	CLI_OPT_FLAG(0, "due", "rotate only the credentials older than their type's maximum "
		     "age (keys.database_max_age, ...), for a daily cron line"),
	OPT_END_GRACE,
	CLI_OPT_DRY_RUN("print the plan: what each credential would go through, and whether the "
			"window would let the run through; change nothing"),
	CLI_OPT_YES,
	CLI_OPT_VERBOSE('v'),
	CLI_OPT_END
};

static const struct cli_opt restore_opts[] = {
	OPT_TYPE,
	OPT_ALL,
	OPT_ENVIRONMENT,
	OPT_END_GRACE,
	CLI_OPT_FORCE("restore outside the maintenance window too, and without asking"),
	CLI_OPT_DRY_RUN("print which credentials the backup would set back; change nothing"),
	CLI_OPT_YES,
	CLI_OPT_VERBOSE('v'),
	CLI_OPT_END
};

static const struct cli_opt abort_opts[] = {
	OPT_TYPE,
	OPT_ALL,
	OPT_ENVIRONMENT,
	CLI_OPT_FORCE("roll back outside the maintenance window too, and without asking"),
	CLI_OPT_DRY_RUN("list the rotations under way that would be rolled back; change nothing"),
	CLI_OPT_YES,
	CLI_OPT_VERBOSE('v'),
	CLI_OPT_END
};

static const struct cli_opt status_opts[] = {
	OPT_TYPE,
	OPT_ALL,
	CLI_OPT_VERBOSE('v'),
	CLI_OPT_END
};

const struct cli_cmd cli_keys_subs[] = {
	{.name = "rotate",
	 .summary = "rotate database, Redis, API-key and JWT credentials (rotate-keys.sh)",
	 .opts = rotate_opts,
	 .op = op_rotate,
	 .task = "rotate-keys",
	 .lock = "rotate-keys",
	 .flags = CLI_CHANGES,
	 .description =
	 "Rotates the credentials named in [keys], as rotate-keys.sh does (guide 000 section "
	 "4.5), on a schedule guide 001 sets (database passwords every 180 days, API keys 90). "
	 "`opsctl rotate-keys` with no subcommand is the same command.\n\n"
	 "Each credential goes through one protocol, AWS Secrets Manager's four steps with a "
	 "record between them: a new random secret from OpenSSL's RNG is created and sealed in "
	 "the state directory (PENDING); the system that checks it is told (ALTER ROLE with a "
	 "SCRAM verifier computed here, so the server never sees the password; ACL SETUSER, which "
	 "keeps the old password valid too; a row holding only the new key's SHA-256 beside the "
	 "old key's row in an API-key table, keys.api_keys table:...); a real login or a lookup "
	 "of that row tests it; the env file gets it in one "
	 "atomic rewrite (mode and owner kept, every other line untouched); "
	 "keys.reload_command runs and keys.health_url must answer 2xx; only then is PENDING "
	 "promoted to CURRENT and the old secret kept as PREVIOUS until keys.grace_period ends. "
	 "A later run retires PREVIOUS (an API-key table's old row gets revoked_at); until then "
	 "the credential is not rotated again (exit 1 naming it), since that would end early the "
	 "grace of a secret clients may still hold, unless --end-grace retires it first. A "
	 "failed test, reload or health check rolls back: the "
	 "env file gets its old values, the system stops accepting the new secret.\n\n"
	 "A run killed at any step is resumed by the next run, from the recorded phase, with the "
	 "sealed secret: never replaced by a new one. Two alternating roles (keys.database "
	 "ROLE_A/ROLE_B) let live connections and new logins work throughout; a single role is "
	 "changed in place, so a client that reconnects between the change and the reload fails "
	 "once.\n\n"
	 "No secret appears on a command line, in the output, the journal, the metrics or an "
	 "error message; the state keeps HMAC fingerprints only. The reload command gets "
	 "opsctl's environment without any variable whose name says it holds a credential "
	 "(PGPASSWORD, VAULT_TOKEN, REDISCLI_AUTH, AWS_SECRET_ACCESS_KEY, ...), and core dumps are "
	 "off for the run and its children.\n\n"
	 "With keys.vault_addr and keys.vault_path set, HashiCorp Vault's KV version 2 secret at "
	 "that path gets the same variables as the env file, first, as one new version written "
	 "with check-and-set (a concurrent writer makes the run exit 75, never overwritten); the "
	 "token comes from VAULT_TOKEN or keys.vault_token_file. A Redis user named default is "
	 "the requirepass user: ACL SETUSER changes it in the running server only, so a "
	 "requirepass line in redis.conf must be updated too (CONFIG REWRITE) before the next "
	 "restart. The textfile gets opsctl_keys_credential_age_seconds per credential "
	 "(labelled credential=ID) so that an overdue one can alert, and opsctl_keys_rotated, "
	 "opsctl_keys_failed, opsctl_keys_retired and opsctl_keys_due.\n\n"
	 "Rotation changes what the application logs in with, so it runs inside the "
	 "environment's maintenance window unless -f, and asks on a terminal (--yes answers).",
	 .examples =
	 "See the plan first\nopsctl rotate-keys --all --dry-run\n"
	 "The quarterly rotation of guide 000, unattended\nopsctl rotate-keys --all -f\n"
	 "Only database passwords\nopsctl rotate-keys --type database\n"
	 "A daily cron line: rotate what is due, in the window\nopsctl rotate-keys --due --yes"},
	{.name = "restore",
	 .summary = "set the credentials back to a set saved by rotate-keys -b",
	 .args = "[ID]",
	 .max_args = 1,
	 .opts = restore_opts,
	 .op = op_restore,
	 .task = "rotate-keys restore",
	 .lock = "rotate-keys",
	 .flags = CLI_CHANGES,
	 .description =
	 "Brings back the credentials `rotate-keys -b` saved (ID keys-YYYYMMDDTHHMMSSZ from its "
	 "report, or latest, the default). Each credential of the backup goes through the same "
	 "protocol as a rotation, with the saved value instead of a new random one: the system "
	 "that checks it is set and tested, the env file rewritten, the application reloaded and "
	 "checked, and the value it replaces kept as PREVIOUS for the grace period; so the "
	 "databases and the env file agree again and nothing is locked out on the way. "
	 "Credentials the backup lacks are left alone. A credential in the middle of a rotation "
	 "must be finished first (run rotate-keys). The backups are in "
	 "STATE_DIR/keys/backups, encrypted with keys.backup_key_file (else "
	 "backup.encryption_key_file, else the seal key).",
	 .examples = "Undo the last rotation\nopsctl rotate-keys restore latest -f"},
	{.name = "abort",
	 .summary = "roll back the rotations a killed or failing run left under way",
	 .opts = abort_opts,
	 .op = op_abort,
	 .task = "rotate-keys abort",
	 .lock = "rotate-keys",
	 .flags = CLI_CHANGES,
	 .description =
	 "A rotation a run left in the middle (rotate-keys status shows its phase: created, set, "
	 "tested or delivered) is resumed by the next `rotate-keys`. When it cannot finish (the "
	 "server keeps refusing the new password, a role was dropped), abort takes it back "
	 "instead, as a failed reload would: a credential already delivered gets its old values "
	 "in the env file (and Vault) and the application is reloaded, then every system stops "
	 "accepting the new secret and the record returns to CURRENT. Credentials with no "
	 "rotation under way are left alone.",
	 .examples = "See what is under way\nopsctl rotate-keys status\n"
		     "Take it back\nopsctl rotate-keys abort -f"},
	{.name = "status",
	 .summary = "each credential's phase, age and whether it is due",
	 .opts = status_opts,
	 .op = op_status,
	 .description =
	 "Lists the configured credentials with the phase of their rotation (current, or where "
	 "an interrupted rotation stopped), when opsctl last rotated them, their maximum age and "
	 "whether they are due. Reads the state and the env file; changes nothing.",
	 .examples = "Which credentials are due?\nopsctl rotate-keys status"},
	{0}
};

const char cli_keys_description[] =
	"Credential rotation that never locks the application out (guide 000 section 4.5, "
	"guide 001's rotation schedule, guide 004's .env).";
