/*
 * What becomes of the findings: the baseline that accepts some of them, and
 * the results file, as opsctl's JSON or as SARIF 2.1.0 the way GitHub code
 * scanning reads it (a run with tool.driver.rules[] carrying help text,
 * results with ruleId, level, message, locations and partialFingerprints).
 */
#include <ctype.h>
#include <limits.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "scan/scan_internal.h"
#include "opsmaint/clock.h"
#include "opsmaint/fileio.h"
#include "opsmaint/json.h"

#define BASELINE_MAX (4 * 1024 * 1024)

/* ---- the baseline ---- */

struct entry {
	char fp[33];
	char expires[11];	/* YYYY-MM-DD or "" */
	char *reason;
	int used;
};

static int is_hex32(const char *s, size_t n)
{
	size_t i;

	if (n != 32)
		return 0;
	for (i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
			return 0;
	return 1;
}

/* A real YYYY-MM-DD (no 2026-02-30) in the n characters at s. */
static int is_date(const char *s, size_t n)
{
	ops_time_parsed p;
	char buf[11];

	if (n != 10)
		return 0;
	memcpy(buf, s, 10);
	buf[10] = '\0';
	return ops_time_parse_iso(buf, OPS_TIME_DATE_ONLY, &p) == OPS_TIME_OK;
}

/* Parse text into entries; OPS_ECONFIG naming path:line. */
static ops_code parse_baseline(const char *path, char *text, struct entry **out, size_t *count,
			       ops_error *err)
{
	struct entry *list = NULL, *nl;
	size_t n = 0;
	long lineno = 0;
	char *line, *save = NULL;

	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *p = line, *w;
		size_t len;

		lineno++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0' || *p == '#' || *p == '\r')
			continue;
		w = p;
		len = strcspn(w, " \t\r");
		if (!is_hex32(w, len)) {
			free(list);
			return ops_error_set(err, OPS_ECONFIG, "%s:%ld: '%.*s' is not a finding's "
					     "fingerprint (32 lowercase hex digits, as the results "
					     "give it)", path, lineno, (int)(len > 40 ? 40 : len), w);
		}
		if (!(nl = realloc(list, (n + 1) * sizeof *list))) {
			free(list);
			return ops_error_oom(err);
		}
		list = nl;
		memset(&list[n], 0, sizeof list[n]);
		memcpy(list[n].fp, w, 32);
		p = w + len;
		while (*p == ' ' || *p == '\t')
			p++;
		len = strcspn(p, " \t\r");
		if (len == 10 && isdigit((unsigned char)p[0]) && p[4] == '-') {
			if (!is_date(p, len)) {
				free(list);
				return ops_error_set(err, OPS_ECONFIG, "%s:%ld: '%.10s' is not a date "
						     "(YYYY-MM-DD)", path, lineno, p);
			}
			memcpy(list[n].expires, p, 10);
			p += len;
			while (*p == ' ' || *p == '\t')
				p++;
		}
		p[strcspn(p, "\r")] = '\0';
		if (!*p) {
			free(list);
			return ops_error_set(err, OPS_ECONFIG, "%s:%ld: a suppression needs a reason "
					     "after the fingerprint (and the optional expiry date)",
					     path, lineno);
		}
		list[n].reason = p;	/* points into text, which outlives the list */
		n++;
	}
	*out = list;
	*count = n;
	return OPS_OK;
}

ops_code scan_apply_baseline(scan_ctx *s, cJSON *rep, ops_error *err)
{
	const ops_scan_req *req = scan_req(s);
	const char *path = req->baseline ? req->baseline
		: ops_config_get(scan_cfg(s), "scan.baseline");
	char *text = NULL, today[11];
	struct entry *list = NULL;
	size_t n = 0, i;
	long suppressed = 0;
	cJSON *expired, *stale, *f;
	time_t now = ops_run_now(scan_run(s));
	struct tm tm;
	ops_code rc;

	expired = cJSON_AddArrayToObject(rep, "expired_suppressions");
	stale = cJSON_AddArrayToObject(rep, "stale_suppressions");
	if (!expired || !stale)
		return ops_error_oom(err);
	if (!path || !*path) {
		cJSON_AddNumberToObject(rep, "suppressed", 0);
		return OPS_OK;
	}
	if (!req->baseline && access(path, F_OK) != 0 && errno == ENOENT) {
		/* The configured default need not exist: nothing is accepted yet. */
		cJSON_AddNumberToObject(rep, "suppressed", 0);
		return OPS_OK;
	}
	if ((rc = ops_read_file(path, BASELINE_MAX, &text, NULL, err)) != OPS_OK) {
		char why[OPS_ERROR_MSG_MAX];

		if (rc != OPS_EIO)
			return rc;
		/* The baseline is configuration: a missing one is exit 78, with the reason. */
		snprintf(why, sizeof why, "%s", err->message);
		return ops_error_set(err, OPS_ECONFIG, "baseline: %.480s", why);
	}
	if ((rc = parse_baseline(path, text, &list, &n, err)) != OPS_OK)
		goto out;
	gmtime_r(&now, &tm);
	strftime(today, sizeof today, "%Y-%m-%d", &tm);
	cJSON_ArrayForEach(f, scan_findings(s)) {
		const char *fp = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "fingerprint"));

		for (i = 0; fp && i < n; i++) {
			if (strcmp(list[i].fp, fp) != 0)
				continue;
			list[i].used = 1;
			/* An expiry date is the last day the suppression holds. */
			if (list[i].expires[0] && strcmp(list[i].expires, today) < 0)
				continue;
			cJSON_AddTrueToObject(f, "suppressed");
			cJSON_AddStringToObject(f, "suppression_reason", list[i].reason);
			suppressed++;
			break;
		}
	}
	for (i = 0; i < n; i++) {
		if (list[i].expires[0] && strcmp(list[i].expires, today) < 0) {
			if (ops_json_add_stringf(expired, "%s (expired %s): %s", list[i].fp,
						 list[i].expires, list[i].reason) != 0) {
				rc = ops_error_oom(err);
				goto out;
			}
		} else if (!list[i].used &&
			   ops_json_add_stringf(stale, "%s: %s", list[i].fp, list[i].reason) != 0) {
			rc = ops_error_oom(err);
			goto out;
		}
	}
	cJSON_AddNumberToObject(rep, "suppressed", (double)suppressed);
	cJSON_AddStringToObject(rep, "baseline", path);
out:
	free(list);
	free(text);
	return rc;
}

/* ---- SARIF 2.1.0 ---- */

static const char *sarif_level(const char *sev)
{
	if (!sev)
		return "none";
	if (strcmp(sev, "critical") == 0 || strcmp(sev, "high") == 0)
		return "error";
	if (strcmp(sev, "medium") == 0)
		return "warning";
	if (strcmp(sev, "low") == 0)
		return "note";
	return "none";
}

/* GitHub's security-severity: a CVSS-like number per severity. */
static const char *security_severity(ops_severity s)
{
	static const char *const v[] = {"0.0", "2.0", "5.0", "7.5", "9.5"};

	return v[s];
}

static cJSON *sarif_rules(void)
{
	cJSON *arr = cJSON_CreateArray();
	const scan_rule *r;

	for (r = scan_rules(); arr && r->id; r++) {
		cJSON *o = cJSON_CreateObject(), *sd, *help, *props, *dc;

		if (!o || !cJSON_AddItemToArray(arr, o)) {
			cJSON_Delete(o);
			cJSON_Delete(arr);
			return NULL;
		}
		cJSON_AddStringToObject(o, "id", r->id);
		sd = cJSON_AddObjectToObject(o, "shortDescription");
		cJSON_AddStringToObject(sd, "text", r->title);
		help = cJSON_AddObjectToObject(o, "help");
		cJSON_AddStringToObject(help, "text", r->help);
		dc = cJSON_AddObjectToObject(o, "defaultConfiguration");
		cJSON_AddStringToObject(dc, "level", sarif_level(ops_severity_name(r->severity)));
		props = cJSON_AddObjectToObject(o, "properties");
		cJSON_AddStringToObject(props, "security-severity", security_severity(r->severity));
	}
	return arr;
}

/* "postgresql://db.example:5432/chatbot_db" -> "opsctl-scan/postgresql_db.example_5432_chatbot_db":
 * [A-Za-z0-9._-] kept, runs of anything else one '_'. */
static void pseudo_path(const char *target, char *out, size_t size)
{
	size_t o = (size_t)snprintf(out, size, "opsctl-scan/");
	int gap = 0;

	for (; *target && o + 2 < size; target++) {
		unsigned char c = (unsigned char)*target;

		if (isalnum(c) || c == '.' || c == '-' || c == '_') {
			if (gap && out[o - 1] != '/')
				out[o++] = '_';
			out[o++] = (char)c;
			gap = 0;
		} else {
			gap = 1;
		}
	}
	out[o] = '\0';
	if (o == strlen("opsctl-scan/") && o + 8 < size)
		strcat(out, "deployment");
}

/* path relative to the working directory when below it; else pseudo_path's. */
static void repo_path(const char *path, char *out, size_t size)
{
	char cwd[PATH_MAX];
	size_t n;

	if (path[0] != '/') {
		snprintf(out, size, "%s", path[0] == '.' && path[1] == '/' ? path + 2 : path);
		return;
	}
	if (getcwd(cwd, sizeof cwd) && (n = strlen(cwd)) > 1 && strncmp(path, cwd, n) == 0 &&
	    path[n] == '/' && path[n + 1]) {
		snprintf(out, size, "%s", path + n + 1);
		return;
	}
	pseudo_path(path, out, size);
}

static cJSON *sarif_result(const cJSON *f)
{
	const char *get[] = {"rule", "severity", "title", "target", "evidence", "file", "fingerprint"};
	const char *v[7];
	cJSON *o = cJSON_CreateObject(), *msg, *locs, *loc, *phys, *art, *reg, *pf, *props;
	const cJSON *line = cJSON_GetObjectItemCaseSensitive(f, "line");
	const cJSON *col = cJSON_GetObjectItemCaseSensitive(f, "column");
	char text[1200];
	size_t i;

	if (!o)
		return NULL;
	for (i = 0; i < 7; i++)
		v[i] = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, get[i]));
	cJSON_AddStringToObject(o, "ruleId", v[0] ? v[0] : "");
	cJSON_AddStringToObject(o, "level", sarif_level(v[1]));
	msg = cJSON_AddObjectToObject(o, "message");
	snprintf(text, sizeof text, "%s: %s%s%s", v[2] ? v[2] : "", v[3] ? v[3] : "",
		 v[4] && *v[4] ? " (" : "", v[4] && *v[4] ? v[4] : "");
	if (v[4] && *v[4])
		strncat(text, ")", sizeof text - strlen(text) - 1);
	cJSON_AddStringToObject(msg, "text", text);
	locs = cJSON_AddArrayToObject(o, "locations");
	loc = cJSON_CreateObject();
	cJSON_AddItemToArray(locs, loc);
	if (v[5]) {
		char rel[PATH_MAX + 16];

		/* Repository-relative, as code scanning wants: a path below the
		 * directory the scan ran in loses that prefix; one outside it
		 * (pg_hba.conf, a certificate) becomes opsctl-scan/..., its real path
		 * kept as a logical location. */
		repo_path(v[5], rel, sizeof rel);
		phys = cJSON_AddObjectToObject(loc, "physicalLocation");
		art = cJSON_AddObjectToObject(phys, "artifactLocation");
		cJSON_AddStringToObject(art, "uri", rel);
		if (strcmp(rel, v[5]) != 0 && v[5][0] == '/') {
			cJSON *lls = cJSON_AddArrayToObject(loc, "logicalLocations"), *ll = cJSON_CreateObject();

			cJSON_AddItemToArray(lls, ll);
			cJSON_AddStringToObject(ll, "fullyQualifiedName", v[5]);
			cJSON_AddStringToObject(ll, "kind", "resource");
		}
		if (cJSON_IsNumber(line) && line->valuedouble >= 1) {
			reg = cJSON_AddObjectToObject(phys, "region");
			cJSON_AddNumberToObject(reg, "startLine", line->valuedouble);
			if (cJSON_IsNumber(col) && col->valuedouble >= 1)
				cJSON_AddNumberToObject(reg, "startColumn", col->valuedouble);
		}
	} else {
		/*
		 * Not a file: a server, a URL, a role.  GitHub code scanning refuses
		 * a result without a physical location (locationFromSarifResult), so
		 * it gets a repository-relative path made of its target,
		 * "opsctl-scan/postgresql_db.example_5432_chatbot_db", and the
		 * target itself as a logical location.
		 */
		cJSON *lls, *ll;
		char uri[300];

		pseudo_path(v[3] ? v[3] : "", uri, sizeof uri);
		phys = cJSON_AddObjectToObject(loc, "physicalLocation");
		art = cJSON_AddObjectToObject(phys, "artifactLocation");
		cJSON_AddStringToObject(art, "uri", uri);
		lls = cJSON_AddArrayToObject(loc, "logicalLocations");
		ll = cJSON_CreateObject();
		cJSON_AddItemToArray(lls, ll);
		cJSON_AddStringToObject(ll, "fullyQualifiedName", v[3] ? v[3] : "");
		cJSON_AddStringToObject(ll, "kind", "resource");
	}
	pf = cJSON_AddObjectToObject(o, "partialFingerprints");
	cJSON_AddStringToObject(pf, "opsctlFingerprint/v1", v[6] ? v[6] : "");
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, "suppressed"))) {
		cJSON *sups = cJSON_AddArrayToObject(o, "suppressions"), *sup = cJSON_CreateObject();

		cJSON_AddItemToArray(sups, sup);
		cJSON_AddStringToObject(sup, "kind", "external");
		cJSON_AddStringToObject(sup, "justification", cJSON_GetStringValue(
			cJSON_GetObjectItemCaseSensitive(f, "suppression_reason")));
	}
	props = cJSON_AddObjectToObject(o, "properties");
	cJSON_AddStringToObject(props, "severity", v[1] ? v[1] : "");
	return o;
}

static cJSON *sarif_doc(const cJSON *findings)
{
	cJSON *doc = cJSON_CreateObject(), *runs, *run, *tool, *drv, *results, *rules;
	const cJSON *f;

	if (!doc)
		return NULL;
	cJSON_AddStringToObject(doc, "$schema", "https://json.schemastore.org/sarif-2.1.0.json");
	cJSON_AddStringToObject(doc, "version", "2.1.0");
	runs = cJSON_AddArrayToObject(doc, "runs");
	run = cJSON_CreateObject();
	cJSON_AddItemToArray(runs, run);
	tool = cJSON_AddObjectToObject(run, "tool");
	drv = cJSON_AddObjectToObject(tool, "driver");
	cJSON_AddStringToObject(drv, "name", "opsctl scan");
	cJSON_AddStringToObject(drv, "version", OPS_VERSION);
	cJSON_AddStringToObject(drv, "informationUri", "https://example.invalid/opsctl");
	if ((rules = sarif_rules()))
		cJSON_AddItemToObject(drv, "rules", rules);
	results = cJSON_AddArrayToObject(run, "results");
	cJSON_ArrayForEach(f, findings) {
		cJSON *r = sarif_result(f);

		if (r)
			cJSON_AddItemToArray(results, r);
	}
	return doc;
}

ops_code scan_write_results(scan_ctx *s, const ops_scan_req *req, const cJSON *findings,
			    const char *path, ops_error *err)
{
	cJSON *doc;
	char *text;
	ops_code rc;

	(void)s;
	if (req->format == OPS_SCAN_SARIF) {
		doc = sarif_doc(findings);
	} else {
		doc = cJSON_CreateObject();
		if (doc) {
			cJSON_AddStringToObject(doc, "tool", "opsctl scan");
			cJSON_AddStringToObject(doc, "version", OPS_VERSION);
			cJSON_AddStringToObject(doc, "severity_floor", ops_severity_name(req->floor));
			cJSON_AddItemToObject(doc, "findings", cJSON_Duplicate(findings, 1));
		}
	}
	if (!doc || ops_json_utf8(doc) < 0 || !(text = cJSON_Print(doc))) {
		cJSON_Delete(doc);
		return ops_error_oom(err);
	}
	cJSON_Delete(doc);
	rc = ops_write_file_atomic(path, text, strlen(text), 0644, err);
	free(text);
	return rc;
}
