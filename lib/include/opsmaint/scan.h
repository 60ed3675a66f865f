/*
 * `opsctl scan` (guide 000 sections 4.4 and 8.3, security-scan.sh; 001's
 * security day; 003's monthly security audit; 004's certificate check and
 * access review): the security posture of a RAG deployment as findings a CI
 * step can gate on.
 *
 * Every check of the four types (code, infra, container, api) yields
 * findings of one model: rule id, severity, title, target, evidence with
 * secrets redacted, remediation, and a fingerprint stable across runs (the
 * rule, the target without its line number, and what was found), so that a
 * baseline file can accept a finding and the next run still knows it.
 */
#ifndef OPSMAINT_SCAN_H
#define OPSMAINT_SCAN_H
#include "opsmaint/api.h"
OPS_API_BEGIN

#include <cjson/cJSON.h>
#include "opsmaint/error.h"
#include "opsmaint/run.h"

/* -t/--type, as a mask; 0 means all. */
enum {
	OPS_SCAN_T_CONTAINER = 1,
	OPS_SCAN_T_CODE = 2,
	OPS_SCAN_T_INFRA = 4,
	OPS_SCAN_T_API = 8,
	OPS_SCAN_T_DEPENDENCIES = 16	/* the advisories of `opsctl deps` (deps.h) */
};

/* Severities, ordered: a floor keeps what is at or above it. */
typedef enum ops_severity {
	OPS_SEV_INFO = 0,
	OPS_SEV_LOW,
	OPS_SEV_MEDIUM,
	OPS_SEV_HIGH,
	OPS_SEV_CRITICAL
} ops_severity;

/* "critical" -> OPS_SEV_CRITICAL; -1 for a word that is none. */
int ops_severity_parse(const char *word);
const char *ops_severity_name(ops_severity s);

typedef enum ops_scan_format {
	OPS_SCAN_JSON = 0,	/* the results file as opsctl's own JSON */
	OPS_SCAN_SARIF		/* SARIF 2.1.0, as GitHub code scanning takes it */
} ops_scan_format;

typedef struct ops_scan_req {
	const ops_run *run;
	unsigned types;		/* OPS_SCAN_T_*; 0: all */
	ops_severity floor;	/* -s: findings below are not reported */
	/* -o: the results file (written atomically); NULL: none */
	const char *output_file;
	ops_scan_format format;
	/* the baseline (ignore) file; NULL: scan.baseline */
	const char *baseline;
} ops_scan_req;

/*
 * Run the checks of req's types and write the results file.  *report: the
 * findings at or above the floor (not suppressed), counts per severity,
 * suppressed and expired suppressions, targets unreachable, _figures.
 * OPS_EFAIL when a finding at or above the floor remains (the caller turns
 * that into exit 1, or 0 with --exit-zero); OPS_ECONFIG for a malformed
 * baseline (naming its line); OPS_EUNAVAIL for an unreachable target when
 * scan.unreachable says fail.
 */
ops_code ops_scan(const ops_scan_req *req, cJSON **report, ops_error *err);

/* Every rule the checks can report (id, severity, title, help), for
 * `scan --list-rules` and for writing a baseline; NULL when out of memory. */
cJSON *ops_scan_rules_json(void);

OPS_API_END
#endif
