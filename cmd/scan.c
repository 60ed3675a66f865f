/*
 * `opsctl scan`: the front end of lib/scan, with security-scan.sh's flags
 * (guide 000 section 8.3).  Its -o/--output is the results file, as the
 * guide has it; the global -o/--output text|json gives way here (DESIGN).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "opsmaint/scan.h"

ops_code cli_op_scan(struct cli_inv *inv, const ops_run *run, cJSON **report, ops_error *err)
{
	ops_scan_req req = {0};
	char **t = cli_list(inv, "type");
	const char *fmt = cli_str(inv, "format");
	int sev = ops_severity_parse(cli_str(inv, "severity"));
	ops_code rc;

	if (cli_flag(inv, "list-rules")) {
		cJSON *rules = ops_scan_rules_json();

		if (!rules || !(*report = cJSON_CreateObject())) {
			cJSON_Delete(rules);
			return ops_error_oom(err);
		}
		cJSON_AddItemToObject(*report, "rules", rules);
		return OPS_OK;
	}
	req.run = run;
	for (; t && *t; t++) {
		if (strcmp(*t, "all") == 0) {
			req.types = 0;
			break;
		}
		req.types |= strcmp(*t, "container") == 0 ? OPS_SCAN_T_CONTAINER
			: strcmp(*t, "code") == 0 ? OPS_SCAN_T_CODE
			: strcmp(*t, "infra") == 0 ? OPS_SCAN_T_INFRA
			: strcmp(*t, "dependencies") == 0 ? OPS_SCAN_T_DEPENDENCIES : OPS_SCAN_T_API;
	}
	req.floor = sev < 0 ? OPS_SEV_HIGH : (ops_severity)sev;
	req.output_file = cli_str(inv, "output");
	req.format = fmt && strcmp(fmt, "sarif") == 0 ? OPS_SCAN_SARIF : OPS_SCAN_JSON;
	req.baseline = cli_given(inv, "baseline") ? cli_str(inv, "baseline") : NULL;
	rc = ops_scan(&req, report, err);
	/* Report-only runs (a first look, a nightly trend): findings are not a failure. */
	if (rc == OPS_EFAIL && cli_flag(inv, "exit-zero") && *report)
		rc = OPS_OK;
	return rc;
}

/* security-scan.sh's usage block, flag for flag, and what CI needs. */
const struct cli_opt cli_scan_opts[] = {
	CLI_OPT_ENUMLIST('t', "type", "TYPE", "container,code,infra,api,dependencies,all",
			 "scan types (dependencies: the advisories of opsctl deps)",
			 .def = "all"),
	CLI_OPT_STRING('o', "output", "FILE", "output file for results", .key = "scan.output",
		       .complete = CLI_C_FILE),
	CLI_OPT_ENUM('s', "severity", "LEVEL", "critical,high,medium,low,info",
		     "minimum severity to report and to fail on", .key = "scan.severity"),
	CLI_OPT_ENUM(0, "format", "FORMAT", "json,sarif",
		     "the results file's format: opsctl's JSON, or SARIF 2.1.0 for GitHub code "
		     "scanning", .def = "json"),
	CLI_OPT_STRING(0, "baseline", "FILE", "accepted findings: FINGERPRINT [YYYY-MM-DD] REASON "
		       "per line", .key = "scan.baseline", .complete = CLI_C_FILE),
	CLI_OPT_FLAG(0, "list-rules", "list every rule the checks can report (id, severity, "
		     "title, help) and scan nothing"),
	CLI_OPT_FLAG(0, "exit-zero", "exit 0 even when findings at or above the floor remain "
		     "(report-only runs); errors still fail"),
	CLI_OPT_VERBOSE('v'),
	CLI_OPT_END
};

/* The rules for the man page: "code.secret.aws-access-key (critical)" and its title and help. */
cJSON *cli_scan_rules_list(void)
{
	cJSON *rules = ops_scan_rules_json(), *out = cJSON_CreateArray(), *r;

	if (!rules || !out) {
		cJSON_Delete(rules);
		cJSON_Delete(out);
		return NULL;
	}
	cJSON_ArrayForEach(r, rules) {
		const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "rule"));
		const char *sev = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "severity"));
		const char *title = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "title"));
		const char *help = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "help"));
		cJSON *o = cJSON_CreateObject();
		char name[160], *text = NULL;

		snprintf(name, sizeof name, "%s (%s)", id, sev);
		if (!o || !cJSON_AddItemToArray(out, o) || asprintf(&text, "%s. %s", title, help) < 0) {
			cJSON_Delete(rules);
			cJSON_Delete(out);
			return NULL;
		}
		cJSON_AddStringToObject(o, "name", name);
		cJSON_AddStringToObject(o, "text", text);
		free(text);
	}
	cJSON_Delete(rules);
	return out;
}

const char cli_scan_description[] =
	"Scans the deployment as security-scan.sh does (guide 000 sections 4.4 and 8.3), with "
	"guide 003's monthly security audit and guide 004's certificate check and access review: "
	"code (secrets in the tree, world-writable and group-readable secret files, sensitive "
	"variables in the environment), infra (PostgreSQL and Redis hardening, users, "
	"certificates, file permissions), container (compose files and Dockerfiles), api (TLS "
	"and headers of the configured API) and dependencies (the OSV advisories that affect "
	"the versions the application's manifests pin, as opsctl-deps(1) finds them; under all "
	"only when deps.project_dir is set).\n\n"
	"Every finding has a rule id, a severity (critical, high, medium, low, info), a target, "
	"evidence with secrets redacted, a remediation and a fingerprint that stays the same "
	"from run to run. The results file (-o, default security-scan-results.json) gets every "
	"finding, written atomically, as opsctl's JSON or, with --format sarif, SARIF 2.1.0 for "
	"GitHub code scanning. The terminal gets the findings at or above -s (default high), one "
	"line each (severity, rule, FILE:LINE or target; -v shows each whole), and "
	"the run exits 1 when any remains (--exit-zero: 0). The baseline file (--baseline, "
	"scan.baseline) accepts findings by fingerprint, with a reason and an optional last day; "
	"an expired entry is reported and its finding counts again. --list-rules lists every rule "
	"with its default severity and help.\n\n"
	"A server or URL that cannot be reached is an info finding naming it (scan.unreachable = "
	"fail: exit 69); nothing waits longer than its timeout. The textfile gets "
	"opsctl_scan_findings{severity=...} and opsctl_scan_findings_at_or_above_floor.";

const char cli_scan_examples[] =
	"The weekly scan (000 section 7.2), everything at high or above\nopsctl scan\n"
	"A pull request's CI step, for GitHub code scanning\n"
	"opsctl scan -t code,container --format sarif -o results.sarif\n"
	"Only what is critical\nopsctl scan -s critical\n"
	"Look without failing\nopsctl scan -s low --exit-zero";
