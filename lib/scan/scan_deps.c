/*
 * scan -t dependencies: the OSV advisories that affect the versions the
 * application's manifests pin, as `opsctl deps` finds them (deps.h), as
 * findings of rule dependencies.advisory with the advisory's severity.  No
 * registry is asked: the scan reads the manifests and the advisories only.
 * Under -t all it runs only when deps.project_dir is set, so that a scan
 * of a host without an application does not read the current directory.
 */
#include <stdlib.h>
#include <string.h>

#include "scan/scan_internal.h"
#include "opsmaint/deps.h"

static long num(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsNumber(v) ? (long)v->valuedouble : 0;
}

ops_code scan_dependencies(scan_ctx *s, ops_error *err)
{
	const ops_scan_req *req = scan_req(s);
	const char *dir = ops_config_get(scan_cfg(s), "deps.project_dir");
	cJSON *found = NULL, *f;
	ops_error e;
	ops_code rc;

	if (!(req->types & OPS_SCAN_T_DEPENDENCIES) && (!dir || !*dir))
		return OPS_OK;
	ops_error_clear(&e);
	if ((rc = ops_deps_findings(scan_run(s), &found, &e)) != OPS_OK) {
		if (rc == OPS_EINTERNAL || rc == OPS_EINTR) {
			*err = e;
			return rc;
		}
		return scan_unreachable(s, "dependencies", "the dependency manifests", &e, err);
	}
	cJSON_ArrayForEach(f, found) {
		scan_finding sf = {0};
		int sev = ops_severity_parse(cJSON_GetStringValue(
			cJSON_GetObjectItemCaseSensitive(f, "severity")));

		sf.rule = "dependencies.advisory";
		sf.use_rule_severity = sev < 0;
		sf.severity = sev < 0 ? OPS_SEV_HIGH : (ops_severity)sev;
		sf.target = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "target"));
		sf.file = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "file"));
		sf.line = num(f, "line");
		sf.evidence = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "evidence"));
		sf.remediation = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "remediation"));
		sf.fp_extra = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "fp_extra"));
		if ((rc = scan_add(s, &sf, err)) != OPS_OK)
			break;
	}
	cJSON_Delete(found);
	return rc;
}
