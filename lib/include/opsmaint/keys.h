/*
 * `opsctl rotate-keys` (guide 000 section 4.5, rotate-keys.sh; 001's rotation
 * schedule and Vault; 004's .env beside the compose file): credential
 * rotation as a protocol that never leaves the application without a
 * working credential.
 *
 * The credentials come from the [keys] configuration: PostgreSQL login roles
 * (one role, or two alternating roles), Redis ACL users, API keys and JWT
 * signing secrets, each delivered to the application through its env file
 * (and Vault KV v2 when configured).  Each goes create -> set -> test ->
 * deliver (reload, health) -> promote, with its state in
 * STATE_DIR/keys/ between the steps, so a run killed anywhere is resumed by
 * the next; a failed test, reload or health check rolls back.  Secrets never
 * reach argv, the journal, the output or error messages.
 */
#ifndef OPSMAINT_KEYS_H
#define OPSMAINT_KEYS_H
#include "opsmaint/api.h"
OPS_API_BEGIN

#include <cjson/cJSON.h>
#include "opsmaint/error.h"
#include "opsmaint/run.h"

/* -t/--type, as a mask; 0 means all. */
enum {
	OPS_KEYS_T_DATABASE = 1,	/* PostgreSQL roles and Redis users */
	OPS_KEYS_T_API_KEYS = 2,
	OPS_KEYS_T_JWT = 4
};

typedef struct ops_keys_req {
	const ops_run *run;	/* force, dry_run (the plan only), verbose, confirm, yes */
	unsigned types;		/* OPS_KEYS_T_*; 0: all */
	int due_only;		/* --due: only credentials older than their max age */
	int backup;		/* -b: save the current credentials, encrypted, first */
	/* A credential whose PREVIOUS is still in its grace period is not
	 * rotated (OPS_EFAIL naming it) unless end_grace: then PREVIOUS is
	 * retired first. */
	int end_grace;
	/* abort: roll back every rotation under way (any phase before promote)
	 * instead of resuming it; nothing new is rotated */
	int abort;
	/* restore: rotate to the values of this -b backup ("keys-STAMP" or
	 * "latest") instead of new random ones; NULL for a rotation */
	const char *restore;
} ops_keys_req;

/*
 * Rotate the credentials of req's types (resuming any left half-way by an
 * earlier run, and retiring PREVIOUS ones whose grace period has ended).
 * *report: per credential its phase, age, outcome; _figures with
 * opsctl_keys_rotated, opsctl_keys_failed and the labelled
 * opsctl_keys_credential_age_seconds{credential=ID}.
 * OPS_ECONFIG when no credential of those types is configured;
 * OPS_EFAIL when one failed (the others still ran); OPS_EUNAVAIL when a
 * system was unreachable (the state says where to resume).
 */
ops_code ops_keys_rotate(const ops_keys_req *req, cJSON **report, ops_error *err);

/*
 * With req->restore: the same protocol, each credential of the backup
 * rotated to its saved value (set, test, deliver, reload, health), so that
 * the systems and the env file agree again; credentials the backup lacks
 * are left alone.
 */

/* The configured credentials, their state, age and whether they are due;
 * changes nothing. */
ops_code ops_keys_status(const ops_keys_req *req, cJSON **report, ops_error *err);

OPS_API_END
#endif
