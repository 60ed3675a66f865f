/*
 * dashboards.mode = api: the set saved through Grafana's HTTP API instead
 * of a provisioning directory.  Per dashboard: GET /api/dashboards/uid/UID
 * (404: new; else compared, normalised, with what is there), then for a new
 * or changed one POST /api/dashboards/db {dashboard (id null), folderUid,
 * overwrite: true, message} and GET again to confirm the version Grafana
 * answered.  The token (GRAFANA_TOKEN or dashboards.grafana_token_file) goes
 * only into the Authorization header, which core/http never logs.
 *
 * Grafana has no transaction over several dashboards: a failure stops the
 * run there, and the report says which were saved before it.  Dashboards
 * are never deleted through the API.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dashboards/dashboards_internal.h"
#include "opsmaint/fileio.h"
#include "opsmaint/http.h"
#include "opsmaint/log.h"
#include "opsmaint/secret.h"

struct dash_api {
	const ops_run *run;
	ops_http *h;
	char *base;		/* grafana_url without a trailing '/' */
	char *auth;		/* "Authorization: Bearer ..." (wiped) */
	const char *folder_uid;	/* NULL: General */
	char *folder_buf;
};

static ops_code api_open(struct dash_api *a, const ops_run *run, ops_error *err);

/* Grafana's own words from an error answer ({"message": ...}), cut to one line. */
static void said(const ops_http_resp *r, char *out, size_t len)
{
	cJSON *j = r->body ? cJSON_ParseWithLength(r->body, r->len) : NULL;
	const char *m = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "message"));
	const char *st = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "status"));
	char *p;

	snprintf(out, len, "%s%s%s", st ? st : "", st && m ? ": " : "", m ? m : "");
	for (p = out; *p; p++)
		if (*p == '\n' || *p == '\r' || (unsigned char)*p < 0x20)
			*p = ' ';
	cJSON_Delete(j);
}

static ops_code refused(const struct dash_api *a, const ops_http_resp *r, const char *what,
			ops_error *err)
{
	char why[300];
	ops_code code;

	said(r, why, sizeof why);
	switch (r->status) {
	case 401:
	case 403:
		code = OPS_EPERM;
		break;
	case 400:
		code = OPS_EDATA;
		break;
	default:
		code = OPS_EFAIL;
	}
	ops_error_set(err, code, "%s: Grafana at %s answered HTTP %ld%s%s", what, a->base, r->status,
		      why[0] ? ": " : "", why);
	if (code == OPS_EPERM)
		ops_error_hint(err, "check the token (GRAFANA_TOKEN or dashboards.grafana_token_file): "
			       "a service account token with the Editor role on the folder");
	else if (r->status == 412)
		ops_error_hint(err, "another dashboard holds that title or uid in the folder, or it "
			       "changed in Grafana meanwhile; nothing after it was saved");
	return code;
}

static ops_code call(struct dash_api *a, const char *method, const char *path, const char *body,
		     const char *what, ops_http_resp *r, ops_error *err)
{
	const char *headers[] = {a->auth, "Accept: application/json",
				 body ? "Content-Type: application/json" : NULL, NULL};
	ops_http_req req = {0};
	char *url = NULL;
	ops_code rc;

	if (asprintf(&url, "%s%s", a->base, path) < 0)
		return ops_error_oom(err);
	req.method = method;
	req.url = url;
	req.headers = headers;
	req.body = body;
	req.body_len = body ? strlen(body) : 0;
	req.what = what;
	/* overwrite: true makes a second save of the same JSON harmless. */
	req.idempotent = OPS_HTTP_IDEMPOTENT;
	rc = ops_http_request(a->h, &req, r, err);
	free(url);
	return rc;
}

/* GET a JSON answer; *out NULL on 404. */
static ops_code get_json(struct dash_api *a, const char *path, const char *what, cJSON **out,
			 ops_error *err)
{
	ops_http_resp r = {0};
	ops_code rc = call(a, "GET", path, NULL, what, &r, err);

	*out = NULL;
	if (rc == OPS_OK && r.status == 404) {
		/* not there */
	} else if (rc == OPS_OK && r.status != 200) {
		rc = refused(a, &r, what, err);
	} else if (rc == OPS_OK && !(*out = r.body ? cJSON_ParseWithLength(r.body, r.len) : NULL)) {
		rc = ops_error_set(err, OPS_EFAIL, "%s: Grafana at %s answered HTTP 200 with no JSON",
				   what, a->base);
	}
	ops_http_resp_release(&r);
	return rc;
}

/* dashboards.folder: a uid or a title, looked up in /api/folders. */
static ops_code find_folder(struct dash_api *a, const char *want, ops_error *err)
{
	cJSON *list = NULL;
	const cJSON *f;
	ops_code rc = get_json(a, "/api/folders?limit=1000", "listing folders", &list, err);

	if (rc != OPS_OK)
		return rc;
	cJSON_ArrayForEach(f, list) {
		const char *uid = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "uid"));
		const char *title = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "title"));

		if (uid && ((strcmp(uid, want) == 0) || (title && strcmp(title, want) == 0))) {
			a->folder_buf = strdup(uid);
			a->folder_uid = a->folder_buf;
			break;
		}
	}
	cJSON_Delete(list);
	if (!a->folder_uid)
		return ops_error_set(err, OPS_ECONFIG,
				     "dashboards.folder: Grafana at %s has no folder with the uid or title '%s'",
				     a->base, want);
	return OPS_OK;
}

ops_code dash_api_open(const ops_run *run, struct dash_api **out, ops_error *err)
{
	struct dash_api *a = calloc(1, sizeof *a);
	ops_code rc;

	*out = a;
	if (!a)
		return ops_error_oom(err);
	rc = api_open(a, run, err);
	if (rc != OPS_OK) {
		dash_api_close(a);
		*out = NULL;
	}
	return rc;
}

static ops_code api_open(struct dash_api *a, const ops_run *run, ops_error *err)
{
	const ops_config *cfg = run->cfg;
	const char *url = ops_config_get(cfg, "dashboards.grafana_url");
	const char *folder = ops_config_get(cfg, "dashboards.folder");
	char *token = NULL;
	ops_http_opts ho;
	ops_code rc;
	size_t n;

	memset(a, 0, sizeof *a);
	a->run = run;
	if (!url || (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0))
		return ops_error_set(err, OPS_ECONFIG, "dashboards.grafana_url '%s' is not an http:// or https:// URL",
				     url ? url : "");
	if (!(a->base = strdup(url)))
		return ops_error_oom(err);
	for (n = strlen(a->base); n > 0 && a->base[n - 1] == '/'; n--)
		a->base[n - 1] = '\0';
	rc = ops_secret_load("GRAFANA_TOKEN", ops_config_get(cfg, "dashboards.grafana_token_file"),
			     "dashboards.grafana_token_file", "Grafana token", &token, err);
	if (rc != OPS_OK)
		return rc;
	if (asprintf(&a->auth, "Authorization: Bearer %s", token) < 0) {
		a->auth = NULL;
		ops_secret_free(token);
		return ops_error_oom(err);
	}
	ops_secret_free(token);
	ops_http_opts_init(&ho);
	ho.name = "Grafana";
	ho.timeout = (double)ops_config_int(cfg, "dashboards.timeout");
	ho.connect_timeout = ho.timeout < 10 ? ho.timeout : 10;
	ho.max_body = (size_t)DASH_FILE_MAX;
	if ((rc = ops_http_new(&ho, &a->h, err)) != OPS_OK)
		return rc;
	if (folder && *folder)
		rc = find_folder(a, folder, err);
	return rc;
}

void dash_api_close(struct dash_api *a)
{
	if (!a)
		return;
	ops_http_free(a->h);
	ops_secret_free(a->auth);
	free(a->base);
	free(a->folder_buf);
	free(a);
}

static char *uid_path(const char *uid)
{
	char *esc = ops_http_escape(uid, ""), *p = NULL;

	if (esc && asprintf(&p, "/api/dashboards/uid/%s", esc) < 0)
		p = NULL;
	free(esc);
	return p;
}

/* Save one dashboard and read it back: the version must be the one answered. */
static ops_code save(struct dash_api *a, const dash *d, const char *source, cJSON *row, ops_error *err)
{
	cJSON *body = cJSON_CreateObject(), *copy = cJSON_Duplicate(d->json, 1), *ans = NULL, *back = NULL;
	char what[300], msg[600], *text = NULL, *path = uid_path(d->uid);
	ops_http_resp r = {0};
	const cJSON *v, *bv;
	ops_code rc = OPS_OK;

	snprintf(what, sizeof what, "saving dashboard '%s' (%s)", d->uid, d->rel);
	snprintf(msg, sizeof msg, "opsctl dashboards: %s from %s", d->rel, source);
	if (!body || !copy || !path) {
		cJSON_Delete(copy);
		rc = ops_error_oom(err);
		goto out;
	}
	cJSON_DeleteItemFromObjectCaseSensitive(copy, "id");
	cJSON_DeleteItemFromObjectCaseSensitive(copy, "version");
	if (!cJSON_AddNullToObject(copy, "id") || !cJSON_AddItemToObject(body, "dashboard", copy) ||
	    (a->folder_uid && !cJSON_AddStringToObject(body, "folderUid", a->folder_uid)) ||
	    !cJSON_AddTrueToObject(body, "overwrite") || !cJSON_AddStringToObject(body, "message", msg) ||
	    !(text = cJSON_PrintUnformatted(body))) {
		rc = ops_error_oom(err);
		goto out;
	}
	rc = call(a, "POST", "/api/dashboards/db", text, what, &r, err);
	if (rc == OPS_OK && r.status != 200)
		rc = refused(a, &r, what, err);
	if (rc == OPS_OK && !(ans = r.body ? cJSON_ParseWithLength(r.body, r.len) : NULL))
		rc = ops_error_set(err, OPS_EFAIL, "%s: Grafana at %s answered HTTP 200 with no JSON", what, a->base);
	ops_http_resp_release(&r);
	if (rc != OPS_OK)
		goto out;
	v = cJSON_GetObjectItemCaseSensitive(ans, "version");
	snprintf(what, sizeof what, "reading back dashboard '%s'", d->uid);
	if ((rc = get_json(a, path, what, &back, err)) != OPS_OK)
		goto out;
	bv = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(back, "meta"), "version");
	if (!bv)
		bv = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(back, "dashboard"), "version");
	if (!back || !cJSON_IsNumber(v) || !cJSON_IsNumber(bv) || v->valuedouble != bv->valuedouble) {
		rc = ops_error_set(err, OPS_EFAIL,
				   "dashboard '%s': Grafana at %s answered version %.0f but reads back %s%.0f",
				   d->uid, a->base, cJSON_IsNumber(v) ? v->valuedouble : -1.0,
				   back ? "version " : "nothing, ", cJSON_IsNumber(bv) ? bv->valuedouble : -1.0);
		goto out;
	}
	cJSON_AddNumberToObject(row, "version", v->valuedouble);
	ops_log_info("dashboards: '%s' saved in Grafana, version %.0f", d->uid, v->valuedouble);
out:
	cJSON_Delete(body);
	cJSON_Delete(ans);
	cJSON_Delete(back);
	free(text);
	free(path);
	return rc;
}

/* -b in api mode: the versions Grafana holds of what is about to change, archived. */
static ops_code backup_current(struct dash_api *a, cJSON **olds, const dash_set *set, cJSON *rep,
			       ops_error *err)
{
	char *base = ops_path_join(ops_config_get(a->run->cfg, "general.state_dir"), "dashboards");
	char *dir = NULL;
	ops_code rc = OPS_OK;
	size_t i;

	if (!base || asprintf(&dir, "%s/grafana.%ld", base, (long)getpid()) < 0) {
		free(base);
		return ops_error_oom(err);
	}
	free(base);
	rc = ops_mkdir_p(dir, 0700, err);
	for (i = 0; rc == OPS_OK && i < set->n; i++) {
		char name[300], *p, *text;

		if (!olds[i])
			continue;
		snprintf(name, sizeof name, "%s.json", set->v[i].uid);
		p = ops_path_join(dir, name);
		text = cJSON_Print(olds[i]);
		rc = p && text ? ops_write_file_atomic(p, text, strlen(text), 0600, err) : ops_error_oom(err);
		free(p);
		free(text);
	}
	if (rc == OPS_OK)
		rc = dash_backup_dir(a->run, "dashboards", dir, rep, err);
	for (i = 0; i < set->n; i++) {
		char name[300], *p;

		snprintf(name, sizeof name, "%s.json", set->v[i].uid);
		if ((p = ops_path_join(dir, name)))
			unlink(p);
		free(p);
	}
	rmdir(dir);
	free(dir);
	return rc;
}

ops_code dash_api_update(const ops_run *run, struct dash_api *ap, const ops_dash_opts *o,
			 dash_set *set, cJSON *rep, long counts[4], ops_error *err)
{
	cJSON *rows = cJSON_GetObjectItemCaseSensitive(rep, "dashboards");
	cJSON *pchanges = cJSON_GetObjectItemCaseSensitive(rep, "panel_changes");
	cJSON **olds = calloc(set->n ? set->n : 1, sizeof *olds);
	cJSON **rowv = calloc(set->n ? set->n : 1, sizeof *rowv);
	int *act = calloc(set->n ? set->n : 1, sizeof *act);
	struct dash_api *a = ap;
	ops_code rc = OPS_OK;
	size_t i;

	if (!olds || !rowv || !act) {
		free(olds);
		free(rowv);
		free(act);
		return ops_error_oom(err);
	}
	if (a->folder_uid)
		cJSON_AddStringToObject(rep, "folder_uid", a->folder_uid);
	for (i = 0; rc == OPS_OK && i < set->n; i++) {
		dash *d = &set->v[i];
		char what[300], summary[160] = "", *path = uid_path(d->uid);
		cJSON *got = NULL;
		int differs = 1;

		snprintf(what, sizeof what, "reading dashboard '%s'", d->uid);
		rc = path ? get_json(a, path, what, &got, err) : ops_error_oom(err);
		free(path);
		if (rc != OPS_OK)
			break;
		if (got) {
			const cJSON *cur = cJSON_GetObjectItemCaseSensitive(got, "dashboard");
			const char *fu = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
				cJSON_GetObjectItemCaseSensitive(got, "meta"), "folderUid"));

			differs = dash_diff(d->uid, cur, d->json, pchanges, summary, sizeof summary);
			if (differs < 0) {
				cJSON_Delete(got);
				rc = ops_error_oom(err);
				break;
			}
			/* In another folder: saved again, into the configured one. */
			if (strcmp(fu ? fu : "", a->folder_uid ? a->folder_uid : "") != 0) {
				snprintf(summary + strlen(summary), sizeof summary - strlen(summary),
					 "%sto folder %s", summary[0] ? ", " : "",
					 a->folder_uid ? a->folder_uid : "General");
				differs = 1;
			}
			olds[i] = cJSON_Duplicate(cur, 1);
			cJSON_Delete(got);
		}
		act[i] = !olds[i] ? 1 : differs ? 2 : 0;
		counts[act[i] == 1 ? 0 : act[i] == 2 ? 1 : 2]++;
		if (!(rowv[i] = dash_row(rows, d->uid, d->title, d->rel,
					 act[i] == 1 ? "new" : act[i] == 2 ? "changed" : "unchanged", summary)))
			rc = ops_error_oom(err);
	}
	if (rc == OPS_OK && !run->dry_run)
		rc = dash_confirm(run, counts[0], counts[1], 0, a->base, err);
	if (rc == OPS_OK && !run->dry_run && o->backup && counts[1] > 0)
		rc = backup_current(a, olds, set, rep, err);
	for (i = 0; rc == OPS_OK && !run->dry_run && i < set->n; i++) {
		if (!act[i])
			continue;
		rc = save(a, &set->v[i], cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rep, "source")),
			  rowv[i], err);
		if (rc == OPS_OK) {
			counts[3]++;
			cJSON_ReplaceItemInObjectCaseSensitive(rowv[i], "action",
							       cJSON_CreateString(act[i] == 1 ? "new" : "changed"));
		}
	}
	if (rc != OPS_OK && counts[3] > 0)
		ops_error_detail(err, "saved before the failure, and still saved: %ld (see installed)",
				 counts[3]);
	for (i = 0; i < set->n; i++)
		cJSON_Delete(olds[i]);
	free(olds);
	free(rowv);
	free(act);
	return rc;
}
