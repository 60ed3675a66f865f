/*
 * opsctl scan (scan.h): runs each requested type's checks over one
 * collector of findings (scan_model.c), then gives each its fingerprint, applies the
 * baseline and the severity floor, and writes the results file (opsctl's
 * JSON or SARIF 2.1.0, scan_sarif.c) atomically.  The checks themselves are
 * in scan_code.c, scan_infra.c, scan_container.c and scan_api.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan/scan_internal.h"
#include "opsmaint/output.h"

/* ---- the run ---- */

static const struct type {
	unsigned bit;
	const char *name;
	ops_code (*run)(scan_ctx *s, ops_error *err);
} types[] = {
	{OPS_SCAN_T_CONTAINER, "container", scan_container},
	{OPS_SCAN_T_CODE, "code", scan_code},
	{OPS_SCAN_T_INFRA, "infra", scan_infra},
	{OPS_SCAN_T_API, "api", scan_api},
	{OPS_SCAN_T_DEPENDENCIES, "dependencies", scan_dependencies},
};

static int sev_of(const cJSON *f)
{
	return ops_severity_parse(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "severity")));
}

/* Findings first by severity (critical first), then in the order found. */
static void sort_findings(cJSON *arr)
{
	cJSON *sorted = cJSON_CreateArray(), *f;
	int sev;

	if (!sorted)
		return;
	for (sev = OPS_SEV_CRITICAL; sev >= OPS_SEV_INFO; sev--) {
		cJSON *next;

		for (f = arr->child; f; f = next) {
			next = f->next;
			if (sev_of(f) == sev)
				cJSON_AddItemToArray(sorted, cJSON_DetachItemViaPointer(arr, f));
		}
	}
	while ((f = sorted->child))
		cJSON_AddItemToArray(arr, cJSON_DetachItemViaPointer(sorted, f));
	cJSON_Delete(sorted);
}

/*
 * A finding as a terminal shows it without -v: one table row of severity,
 * rule and where (FILE:LINE, or the target); the evidence and remediation
 * are in the results file, in JSON, and with -v.
 */
static cJSON *brief(const cJSON *f)
{
	cJSON *o = cJSON_CreateObject();
	const char *file = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "file"));
	const cJSON *line = cJSON_GetObjectItemCaseSensitive(f, "line");
	char where[600];

	if (!o)
		return NULL;
	if (file && cJSON_IsNumber(line))
		snprintf(where, sizeof where, "%s:%ld", file, (long)line->valuedouble);
	else
		snprintf(where, sizeof where, "%s", file ? file : cJSON_GetStringValue(
			cJSON_GetObjectItemCaseSensitive(f, "target")));
	cJSON_AddStringToObject(o, "severity", cJSON_GetStringValue(
		cJSON_GetObjectItemCaseSensitive(f, "severity")));
	cJSON_AddStringToObject(o, "rule", cJSON_GetStringValue(
		cJSON_GetObjectItemCaseSensitive(f, "rule")));
	cJSON_AddStringToObject(o, "where", where);
	return o;
}

ops_code ops_scan(const ops_scan_req *req, cJSON **report, ops_error *err)
{
	scan_ctx *s = NULL;
	cJSON *rep = NULL, *ran, *counts, *shown, *fig, *f;
	ops_code rc = OPS_OK;
	long n[OPS_SEV_CRITICAL + 1] = {0}, above = 0;
	size_t i;

	*report = NULL;
	if (!(s = scan_ctx_new(req)) || !(rep = cJSON_CreateObject()) ||
	    !(ran = cJSON_AddArrayToObject(rep, "types"))) {
		rc = ops_error_oom(err);
		goto out;
	}
	for (i = 0; i < sizeof types / sizeof types[0]; i++) {
		if (req->types && !(req->types & types[i].bit))
			continue;
		if ((rc = ops_run_check_cancel(req->run, err)) != OPS_OK)
			goto out;
		cJSON_AddItemToArray(ran, cJSON_CreateString(types[i].name));
		if ((rc = types[i].run(s, err)) != OPS_OK) {
			ops_error_prefix(err, "scan %s", types[i].name);
			goto out;
		}
	}
	sort_findings(scan_findings(s));
	if ((rc = scan_apply_baseline(s, rep, err)) != OPS_OK)
		goto out;
	shown = cJSON_AddArrayToObject(rep, "findings");
	counts = cJSON_AddObjectToObject(rep, "counts");
	cJSON_ArrayForEach(f, scan_findings(s)) {
		int sev = sev_of(f);

		if (sev < 0 || cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, "suppressed")))
			continue;
		n[sev]++;
		if (sev >= (int)req->floor) {
			above++;
			cJSON_AddItemToArray(shown, req->run->output == OPS_OUT_TEXT && !req->run->verbose
					     ? brief(f) : cJSON_Duplicate(f, 1));
		}
	}
	for (i = OPS_SEV_CRITICAL + 1; i-- > 0;)
		cJSON_AddNumberToObject(counts, ops_severity_name((ops_severity)i), (double)n[i]);
	cJSON_AddStringToObject(rep, "severity_floor", ops_severity_name(req->floor));
	cJSON_AddNumberToObject(rep, "at_or_above_floor", (double)above);
	cJSON_AddItemToObject(rep, "unreachable", scan_take_unreachable(s));
	cJSON_AddNumberToObject(rep, "unreadable_files", (double)scan_unreadable(s));
	if (req->output_file) {
		if ((rc = scan_write_results(s, req, scan_findings(s), req->output_file, err)) != OPS_OK)
			goto out;
		cJSON_AddStringToObject(rep, "results_file", req->output_file);
	}
	fig = cJSON_AddObjectToObject(rep, "_figures");
	{
		cJSON *per = cJSON_AddObjectToObject(cJSON_AddObjectToObject(fig, "opsctl_scan_findings"),
						     "severity");

		for (i = 0; per && i <= OPS_SEV_CRITICAL; i++)
			cJSON_AddNumberToObject(per, ops_severity_name((ops_severity)i), (double)n[i]);
	}
	cJSON_AddNumberToObject(fig, "opsctl_scan_findings_at_or_above_floor", (double)above);
	if (above > 0)
		rc = ops_error_set(err, OPS_EFAIL, "%ld finding%s at or above %s", above,
				   above == 1 ? "" : "s", ops_severity_name(req->floor));
	*report = rep;
	rep = NULL;
out:
	cJSON_Delete(rep);
	scan_ctx_free(s);
	return rc;
}
