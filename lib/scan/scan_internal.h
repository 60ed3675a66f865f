/*
 * The scan domain's private interface.  scan.c runs the checks of the
 * requested types, each a function below in its own module (scan_code.c,
 * scan_infra.c, scan_container.c, scan_api.c), over one collector; then it
 * applies the floor and the baseline and writes the results as opsctl's
 * JSON or SARIF 2.1.0.
 *
 * A check reports what it finds with scan_add and nothing else: it never
 * prints, never decides the exit status and never applies the floor (the
 * results file has every finding, the floor decides what fails the run).
 * Every rule it can report is declared once in scan_rules.def (id, default
 * severity, title, help), which SARIF's rules[] and the man page are made
 * from; scan_add refuses an undeclared rule id (a bug: OPS_EINTERNAL).
 */
#ifndef SCAN_INTERNAL_H
#define SCAN_INTERNAL_H

#include <cjson/cJSON.h>
#include "opsmaint/config.h"
#include "opsmaint/error.h"
#include "opsmaint/run.h"
#include "opsmaint/scan.h"

typedef struct scan_ctx scan_ctx;

/* The collector of one run (scan_model.c); NULL when out of memory. */
scan_ctx *scan_ctx_new(const ops_scan_req *req);
void scan_ctx_free(scan_ctx *s);
/* The "what could not be reached" lines so far, handed over (s keeps an empty list). */
cJSON *scan_take_unreachable(scan_ctx *s);
long scan_unreadable(const scan_ctx *s);

typedef struct scan_rule {
	const char *id;		/* "code.secret.aws-access-key": TYPE.AREA.WHAT */
	ops_severity severity;	/* the default; a finding may raise or lower it */
	const char *title;	/* one line, for people: "AWS access key in a file" */
	const char *help;	/* what it means and how to fix it: SARIF's help.text */
} scan_rule;

/* The declared rules (scan_rules.def), terminated by an entry with id NULL. */
const scan_rule *scan_rules(void);
const scan_rule *scan_rule_find(const char *id);

typedef struct scan_finding {
	const char *rule;	/* a declared rule id */
	int use_rule_severity;	/* 1: the rule's default severity, else: */
	ops_severity severity;
	/* What it is about, for people and for the fingerprint: "path/to/.env",
	 * "postgresql://db.example:5432/chatbot_db", "role admin on chatbot_db",
	 * "https://api.example/health", "compose.yaml service api". */
	const char *target;
	/* For files: the path (relative to the scanned root when under it) and
	 * the 1-based line and column (0: unknown), for SARIF's location. */
	const char *file;
	long line, column;
	/* What was seen, secrets already redacted by the check ("AKIA****MPLE",
	 * "ssl = off"); never a secret in clear. */
	const char *evidence;
	/* What to do; NULL: the rule's help. */
	const char *remediation;
	/* Extra stable material for the fingerprint when one target can have
	 * several findings of one rule (a hash of the matched secret, the
	 * pg_hba line's text); NULL: none.  Never a line number. */
	const char *fp_extra;
} scan_finding;

/* Record f (strings are copied).  OPS_EINTERNAL for an undeclared rule. */
ops_code scan_add(scan_ctx *s, const scan_finding *f, ops_error *err);

/*
 * A target a check could not reach (a server down, a URL timing out): with
 * scan.unreachable = finding (the default), an info finding of rule
 * "TYPE.unreachable" naming it and why, and the scan goes on; with fail,
 * OPS_EUNAVAIL with that message (exit 69).  what is "PostgreSQL
 * chatbot_db", "Redis", "the API".  Returns what the check should return.
 */
ops_code scan_unreachable(scan_ctx *s, const char *type, const char *what,
			  const ops_error *why, ops_error *err);

/* Counted, reported as "unreadable" (a file the walk could not open). */
void scan_count_unreadable(scan_ctx *s, const char *path);

const ops_run *scan_run(const scan_ctx *s);
const ops_config *scan_cfg(const scan_ctx *s);

/* Each type's checks; OPS_OK when they ran (findings or not). */
ops_code scan_code(scan_ctx *s, ops_error *err);
ops_code scan_infra(scan_ctx *s, ops_error *err);
ops_code scan_container(scan_ctx *s, ops_error *err);
ops_code scan_api(scan_ctx *s, ops_error *err);
/* The OSV advisories of the application's dependencies (deps.h). */
ops_code scan_dependencies(scan_ctx *s, ops_error *err);

/* ---- results (scan_results.c) ---- */

/*
 * The baseline (scan.baseline, or req->baseline): lines "FINGERPRINT
 * [EXPIRES] REASON" (EXPIRES YYYY-MM-DD, optional; '#' comments, blank
 * lines).  Each finding whose fingerprint is listed and not expired gets
 * "suppressed": true and its reason; rep gets "suppressed" (count) and
 * "expired_suppressions" (the entries whose date has passed: their
 * findings count again) and "stale_suppressions" (entries no finding
 * matched).  OPS_ECONFIG naming FILE:LINE for a line it cannot read.
 */
ops_code scan_apply_baseline(scan_ctx *s, cJSON *rep, ops_error *err);
/* Every finding (the floor is the exit status's, not the file's) into path,
 * atomically, as req->format says. */
ops_code scan_write_results(scan_ctx *s, const ops_scan_req *req, const cJSON *findings,
			    const char *path, ops_error *err);
cJSON *scan_findings(scan_ctx *s);
const ops_scan_req *scan_req(const scan_ctx *s);

/* "AKIAIOSFODNN7EXAMPLE" -> "AKIA************MPLE": the first and last four
 * characters of a value of 12 or more, all '*' below that; into out. */
void scan_redact(const char *secret, size_t len, char *out, size_t out_size);

#endif
