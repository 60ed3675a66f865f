/*
 * The scan's finding model (scan_internal.h): the declared rules, the
 * severities, and the collector every check reports into.  Kept apart from
 * scan.c, which runs the checks, so that the checks and the results writer
 * depend on this module and nothing depends back on them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan/scan_internal.h"
#include "opsmaint/hash.h"
#include "opsmaint/json.h"
#include "opsmaint/log.h"

static const scan_rule rules[] = {
#define RULE(i, s, t, h) {.id = (i), .severity = (s), .title = (t), .help = (h)},
#include "scan/scan_rules.def"
#undef RULE
	{.id = NULL},
};

static const char *const sev_names[] = {"info", "low", "medium", "high", "critical"};

int ops_severity_parse(const char *word)
{
	size_t i;

	for (i = 0; word && i < sizeof sev_names / sizeof sev_names[0]; i++)
		if (strcmp(word, sev_names[i]) == 0)
			return (int)i;
	return -1;
}

const char *ops_severity_name(ops_severity s)
{
	return (unsigned)s < sizeof sev_names / sizeof sev_names[0] ? sev_names[s] : "?";
}

const scan_rule *scan_rules(void)
{
	return rules;
}

cJSON *ops_scan_rules_json(void)
{
	cJSON *arr = cJSON_CreateArray();
	const scan_rule *r;

	for (r = rules; arr && r->id; r++) {
		cJSON *o = cJSON_CreateObject();

		if (!o || !cJSON_AddItemToArray(arr, o)) {
			cJSON_Delete(o);
			cJSON_Delete(arr);
			return NULL;
		}
		if (!cJSON_AddStringToObject(o, "rule", r->id) ||
		    !cJSON_AddStringToObject(o, "severity", ops_severity_name(r->severity)) ||
		    !cJSON_AddStringToObject(o, "title", r->title) ||
		    !cJSON_AddStringToObject(o, "help", r->help)) {
			cJSON_Delete(arr);
			return NULL;
		}
	}
	return arr;
}

const scan_rule *scan_rule_find(const char *id)
{
	const scan_rule *r;

	for (r = rules; id && r->id; r++)
		if (strcmp(r->id, id) == 0)
			return r;
	return NULL;
}

struct scan_ctx {
	const ops_scan_req *req;
	cJSON *findings;	/* every finding, in the order found */
	cJSON *unreachable;	/* what could not be reached, as text */
	long unreadable;
};

scan_ctx *scan_ctx_new(const ops_scan_req *req)
{
	scan_ctx *s = calloc(1, sizeof *s);

	if (!s)
		return NULL;
	s->req = req;
	if (!(s->findings = cJSON_CreateArray()) || !(s->unreachable = cJSON_CreateArray())) {
		scan_ctx_free(s);
		return NULL;
	}
	return s;
}

void scan_ctx_free(scan_ctx *s)
{
	if (!s)
		return;
	cJSON_Delete(s->findings);
	cJSON_Delete(s->unreachable);
	free(s);
}

cJSON *scan_take_unreachable(scan_ctx *s)
{
	cJSON *u = s->unreachable;

	s->unreachable = cJSON_CreateArray();
	return u;
}

long scan_unreadable(const scan_ctx *s)
{
	return s->unreadable;
}

const ops_run *scan_run(const scan_ctx *s)
{
	return s->req->run;
}

const ops_config *scan_cfg(const scan_ctx *s)
{
	return s->req->run->cfg;
}

cJSON *scan_findings(scan_ctx *s)
{
	return s->findings;
}

const ops_scan_req *scan_req(const scan_ctx *s)
{
	return s->req;
}

void scan_redact(const char *secret, size_t len, char *out, size_t out_size)
{
	size_t i, o = 0;

	for (i = 0; i < len && o + 1 < out_size; i++)
		out[o++] = (len >= 12 && (i < 4 || i >= len - 4)) ? secret[i] : '*';
	if (out_size)
		out[o] = '\0';
}

/*
 * 32 hex digits of SHA-256 over the rule, the target and fp_extra: the same
 * problem in the same place has the same fingerprint in every run, whatever
 * line it moved to, and two problems of one rule in one file differ.
 */
static void fingerprint(const scan_finding *f, char out[33])
{
	ops_sha256 *h = ops_sha256_new();
	char hex[65];

	if (!h) {
		out[0] = '\0';
		return;
	}
	ops_sha256_update(h, f->rule, strlen(f->rule) + 1);
	ops_sha256_update(h, f->target ? f->target : "", strlen(f->target ? f->target : "") + 1);
	if (f->fp_extra)
		ops_sha256_update(h, f->fp_extra, strlen(f->fp_extra));
	ops_sha256_final_hex(h, hex);
	ops_sha256_free(h);
	memcpy(out, hex, 32);
	out[32] = '\0';
}

ops_code scan_add(scan_ctx *s, const scan_finding *f, ops_error *err)
{
	const scan_rule *r = scan_rule_find(f->rule);
	ops_severity sev;
	cJSON *o;
	char fp[33];

	if (!r)
		return ops_error_set(err, OPS_EINTERNAL, "scan: rule '%s' is not declared in "
				     "scan_rules.def", f->rule ? f->rule : "(null)");
	sev = f->use_rule_severity ? r->severity : f->severity;
	fingerprint(f, fp);
	if (!(o = cJSON_CreateObject()) || !cJSON_AddItemToArray(s->findings, o)) {
		cJSON_Delete(o);
		return ops_error_oom(err);
	}
	if (!cJSON_AddStringToObject(o, "rule", r->id) ||
	    !cJSON_AddStringToObject(o, "severity", ops_severity_name(sev)) ||
	    !cJSON_AddStringToObject(o, "title", r->title) ||
	    !cJSON_AddStringToObject(o, "target", f->target ? f->target : "") ||
	    (f->file && !cJSON_AddStringToObject(o, "file", f->file)) ||
	    (f->file && f->line > 0 && !cJSON_AddNumberToObject(o, "line", (double)f->line)) ||
	    (f->file && f->column > 0 && !cJSON_AddNumberToObject(o, "column", (double)f->column)) ||
	    !cJSON_AddStringToObject(o, "evidence", f->evidence ? f->evidence : "") ||
	    !cJSON_AddStringToObject(o, "remediation", f->remediation ? f->remediation : r->help) ||
	    !cJSON_AddStringToObject(o, "fingerprint", fp))
		return ops_error_oom(err);
	return OPS_OK;
}

ops_code scan_unreachable(scan_ctx *s, const char *type, const char *what,
			  const ops_error *why, ops_error *err)
{
	const char *mode = ops_config_get(scan_cfg(s), "scan.unreachable");
	char rule[64], target[256];
	scan_finding f = {0};

	if (mode && strcmp(mode, "fail") == 0)
		return ops_error_set(err, OPS_EUNAVAIL, "%s: %s", what, why->message);
	snprintf(rule, sizeof rule, "%s.unreachable", type);
	snprintf(target, sizeof target, "%s", what);
	f.rule = rule;
	f.use_rule_severity = 1;
	f.target = target;
	f.evidence = why->message;
	if (ops_json_add_stringf(s->unreachable, "%s: %s", what, why->message) != 0)
		return ops_error_oom(err);
	ops_log_warn("scan: %s: %s", what, why->message);
	return scan_add(s, &f, err);
}

void scan_count_unreadable(scan_ctx *s, const char *path)
{
	s->unreadable++;
	ops_log_info("scan: cannot read %s", path);
}
