/*
 * update-dashboards.sh (guide 000 section 8.4): the plan by uid and the
 * install into a Grafana provisioning directory, all files or none.  What a
 * dashboard is and whether it is valid is dashboards_check.c's; the HTTP
 * API dashboards_api.c's.  Removal is deliberately narrow: only a file the
 * last run installed (STATE_DIR/dashboards/state.json) and nobody changed
 * since, so a dashboard made by hand in the directory is never deleted.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dashboards/dashboards_internal.h"
#include "opsmaint/backup.h"
#include "opsmaint/fileio.h"
#include "opsmaint/hash.h"
#include "opsmaint/log.h"

/* ---- the state: what the last run installed, per destination ---- */

static char *state_path(const ops_config *cfg)
{
	char *dir = ops_path_join(ops_config_get(cfg, "general.state_dir"), "dashboards");
	char *p = dir ? ops_path_join(dir, "state.json") : NULL;

	free(dir);
	return p;
}

/* The whole state file, or an empty object when there is none. */
static ops_code state_read(const ops_config *cfg, cJSON **out, ops_error *err)
{
	char *path = state_path(cfg), *text = NULL;
	size_t len;
	ops_code rc;

	*out = NULL;
	if (!path)
		return ops_error_oom(err);
	if (access(path, F_OK) != 0) {
		free(path);
		*out = cJSON_CreateObject();
		return *out ? OPS_OK : ops_error_oom(err);
	}
	rc = ops_read_file(path, DASH_FILE_MAX, &text, &len, err);
	if (rc == OPS_OK && !(*out = cJSON_Parse(text)))
		rc = ops_error_set(err, OPS_EDATA, "%s: not valid JSON; remove it to start afresh "
				   "(no installed dashboard will then be removed)", path);
	else if (rc == OPS_OK && !cJSON_IsObject(*out))
		rc = ops_error_set(err, OPS_EDATA, "%s: not a JSON object", path);
	if (rc != OPS_OK) {
		cJSON_Delete(*out);
		*out = NULL;
	}
	free(text);
	free(path);
	return rc;
}

static ops_code state_write(const ops_config *cfg, const cJSON *state, ops_error *err)
{
	char *path = state_path(cfg), *dir = path ? ops_path_dir(path) : NULL;
	char *text = cJSON_Print(state);
	ops_code rc;

	if (!path || !dir || !text)
		rc = ops_error_oom(err);
	else if ((rc = ops_mkdir_p(dir, 0700, err)) == OPS_OK)
		rc = ops_write_file_atomic(path, text, strlen(text), 0600, err);
	free(text);
	free(dir);
	free(path);
	return rc;
}

/* ---- the plan ---- */

enum act { A_NONE, A_NEW, A_CHANGED, A_UNCHANGED };

struct item {
	dash *src;
	dash *dst;		/* the installed version, at the same path or moved */
	enum act act;
};

static dash *find_uid(dash_set *s, const char *uid, const char *prefer_rel)
{
	dash *hit = NULL;
	size_t i;

	for (i = 0; i < s->n; i++) {
		if (!s->v[i].uid || strcmp(s->v[i].uid, uid) != 0)
			continue;
		if (prefer_rel && strcmp(s->v[i].rel, prefer_rel) == 0)
			return &s->v[i];
		if (!hit)
			hit = &s->v[i];
	}
	return hit;
}

static dash *find_rel(dash_set *s, const char *rel)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->v[i].rel, rel) == 0)
			return &s->v[i];
	return NULL;
}

/* ---- the install: every new file fsynced under a temporary name, then renamed ---- */

struct write {
	const char *rel;
	char *path;
	char *old;		/* a hard link to the file it replaces, for putting it back */
	char *made_dir;		/* a directory created for it */
	ops_afile *af;
	int done;
};

static void undo(struct write *w, size_t n, const char *root)
{
	size_t i;

	for (i = n; i-- > 0;) {
		if (w[i].done) {
			if (w[i].old)
				rename(w[i].old, w[i].path);
			else
				unlink(w[i].path);
		} else if (w[i].old) {
			unlink(w[i].old);
		}
		ops_afile_abort(w[i].af);
		w[i].af = NULL;
		/* Directories this run made, back up to the root, while empty. */
		if (w[i].made_dir) {
			char *d = strdup(w[i].made_dir);

			while (d && strcmp(d, root) != 0 && strlen(d) > strlen(root) && rmdir(d) == 0) {
				char *up = ops_path_dir(d);

				free(d);
				d = up;
			}
			free(d);
		}
	}
}

static ops_code install(const char *root, struct item *items, size_t n, char **removals,
			cJSON *problems, long *installed, ops_error *err)
{
	struct write *w = calloc(n ? n : 1, sizeof *w);
	size_t nw = 0, i;
	ops_code rc = OPS_OK;

	*installed = 0;
	if (!w)
		return ops_error_oom(err);
	/* 1: every file written and fsynced beside its destination. */
	for (i = 0; i < n && rc == OPS_OK; i++) {
		struct write *x;
		char *dir;

		if (items[i].act != A_NEW && items[i].act != A_CHANGED)
			continue;
		x = &w[nw++];
		x->rel = items[i].src->rel;
		if (!(x->path = ops_path_join(root, x->rel)) || !(dir = ops_path_dir(x->path))) {
			rc = ops_error_oom(err);
			break;
		}
		if (access(dir, F_OK) != 0)
			x->made_dir = strdup(dir);
		rc = ops_mkdir_p(dir, 0755, err);
		free(dir);
		if (rc == OPS_OK)
			rc = ops_afile_open(x->path, 0644, &x->af, err);
		if (rc == OPS_OK)
			rc = ops_afile_write(x->af, items[i].src->text, items[i].src->len, err);
		if (rc == OPS_OK && fsync(ops_afile_fd(x->af)) != 0)
			rc = ops_error_errno(err, errno, "cannot sync", ops_afile_temp_path(x->af));
	}
	/* 2: the renames; a failure puts back what was renamed before it. */
	for (i = 0; i < nw && rc == OPS_OK; i++) {
		struct stat st;
		struct write *x = &w[i];

		if (lstat(x->path, &st) == 0 && S_ISREG(st.st_mode)) {
			if (asprintf(&x->old, "%s.opsctl-old.%ld", x->path, (long)getpid()) < 0) {
				x->old = NULL;
				rc = ops_error_oom(err);
				break;
			}
			unlink(x->old);
			if (link(x->path, x->old) != 0) {
				rc = ops_error_errno(err, errno, "cannot keep the installed version of",
						     x->path);
				free(x->old);
				x->old = NULL;
				break;
			}
		}
		rc = ops_afile_commit(x->af, err);
		x->af = NULL;
		if (rc == OPS_OK)
			x->done = 1;
	}
	if (rc != OPS_OK) {
		undo(w, nw, root);
		ops_error_hint(err, "nothing was changed: the installed dashboards are as they were");
	} else {
		for (i = 0; i < nw; i++)
			if (w[i].old)
				unlink(w[i].old);
		*installed = (long)nw;
		/* 3: removals, once the new set is in place. */
		for (i = 0; removals && removals[i]; i++) {
			char *p = ops_path_join(root, removals[i]);

			if (p && unlink(p) != 0 && errno != ENOENT) {
				ops_error e;

				ops_error_errno(&e, errno, "cannot remove", p);
				if (cJSON_AddItemToArray(problems, cJSON_CreateString(e.message)))
					ops_log_warn("%s", e.message);
			}
			free(p);
		}
		if (nw || (removals && removals[0]))
			ops_fsync_dir(root, err);
		ops_error_clear(err);
	}
	for (i = 0; i < nw; i++) {
		free(w[i].path);
		free(w[i].old);
		free(w[i].made_dir);
	}
	free(w);
	return rc;
}

static int strv_push(char ***v, size_t *n, const char *s)
{
	char **nv = realloc(*v, (*n + 2) * sizeof *nv);

	if (!nv)
		return -1;
	*v = nv;
	if (!(nv[*n] = strdup(s)))
		return -1;
	nv[++*n] = NULL;
	return 0;
}

/* ---- the whole run ---- */

static ops_code resolve_dir(const ops_config *cfg, const char *given, int from_flag,
			    const char *key, const char *what, int must_exist, char *out,
			    ops_error *err)
{
	const char *dir = given ? given : ops_config_get(cfg, key);
	struct stat st;

	if (!dir || !*dir) {
		ops_error_set(err, OPS_ECONFIG, "no %s directory: %s is not set", what, key);
		ops_error_hint(err, "set %s in opsctl.conf or give -%c DIR", key, what[0]);
		return OPS_ECONFIG;
	}
	if (ops_path_resolve(dir, out, 4096) != 0)
		return ops_error_set(err, from_flag ? OPS_EUSAGE : OPS_ECONFIG,
				     "%s directory '%s' cannot be resolved", what, dir);
	if (must_exist && (stat(out, &st) != 0 || !S_ISDIR(st.st_mode)))
		return ops_error_set(err, from_flag ? OPS_EUSAGE : OPS_ECONFIG,
				     "%s directory '%s'%s is not a directory", what, dir,
				     from_flag ? "" : " (from the configuration)");
	return OPS_OK;
}

static ops_code add_figures(cJSON *rep, long installed, long changed, long invalid)
{
	cJSON *f = cJSON_AddObjectToObject(rep, "_figures");

	if (!f || !cJSON_AddNumberToObject(f, "opsctl_dashboards_installed", (double)installed) ||
	    !cJSON_AddNumberToObject(f, "opsctl_dashboards_changed", (double)changed) ||
	    !cJSON_AddNumberToObject(f, "opsctl_dashboards_invalid", (double)invalid))
		return OPS_EINTERNAL;
	return OPS_OK;
}

/* The files mode after validation: plan, ask, back up, install, remember. */
static ops_code files_update(const ops_run *run, const ops_dash_opts *o, const char *dest,
			     dash_set *src, cJSON *rep, long counts[5], ops_error *err)
{
	dash_set dst = {0};
	cJSON *state = NULL, *mine, *rows, *pchanges, *problems, *newmine = NULL;
	struct item *items = NULL;
	char **removals = NULL;
	size_t nrem = 0, i;
	long nnew = 0, nchanged = 0, nunchanged = 0, nremoved = 0, nunmanaged = 0, installed = 0;
	ops_code rc;

	rows = cJSON_GetObjectItemCaseSensitive(rep, "dashboards");
	pchanges = cJSON_GetObjectItemCaseSensitive(rep, "panel_changes");
	problems = cJSON_GetObjectItemCaseSensitive(rep, "problems");
	if ((rc = dash_load(dest, 1, &dst, err)) != OPS_OK) {
		ops_error_prefix(err, "destination");
		goto out;
	}
	if ((rc = state_read(run->cfg, &state, err)) != OPS_OK)
		goto out;
	mine = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(state, "destinations"), dest);
	if (!(items = calloc(src->n ? src->n : 1, sizeof *items)) || !(newmine = cJSON_CreateObject())) {
		rc = ops_error_oom(err);
		goto out;
	}
	for (i = 0; i < src->n; i++) {
		struct item *it = &items[i];
		char summary[128] = "";
		dash *at;
		int d;

		it->src = &src->v[i];
		it->dst = find_uid(&dst, it->src->uid, it->src->rel);
		at = find_rel(&dst, it->src->rel);
		if (!it->dst) {
			it->act = A_NEW;
			nnew++;
			if (!dash_row(rows, it->src->uid, it->src->title, it->src->rel, "new", ""))
				goto oom;
			continue;
		}
		d = it->dst->json ? dash_diff(it->src->uid, it->dst->json, it->src->json, pchanges,
					      summary, sizeof summary) : 1;
		if (d < 0)
			goto oom;
		if (strcmp(it->dst->rel, it->src->rel) != 0) {
			snprintf(summary + strlen(summary), sizeof summary - strlen(summary),
				 "%smoved from %s", summary[0] ? ", " : "", it->dst->rel);
			d = 1;
		}
		/* Same content, other bytes at the path (a file of another uid there): rewrite. */
		if (!d && at && at != it->dst)
			d = 1;
		it->act = d ? A_CHANGED : A_UNCHANGED;
		if (d)
			nchanged++;
		else
			nunchanged++;
		if (!dash_row(rows, it->src->uid, it->src->title, it->src->rel, d ? "changed" : "unchanged",
			      summary))
			goto oom;
	}
	/* Other copies of a source uid would make Grafana refuse both: they go. */
	for (i = 0; i < dst.n; i++) {
		dash *x = &dst.v[i];
		dash *s = x->uid ? find_uid(src, x->uid, NULL) : NULL;
		const cJSON *rec;
		const char *sha;

		if (find_rel(src, x->rel))
			continue;	/* replaced in place */
		if (s) {
			char why[300];

			snprintf(why, sizeof why, "a copy of the uid now installed as %s", s->rel);
			if (strv_push(&removals, &nrem, x->rel) != 0 ||
			    !dash_row(rows, x->uid, x->title, x->rel, "removed", why))
				goto oom;
			continue;
		}
		rec = x->uid ? cJSON_GetObjectItemCaseSensitive(mine, x->uid) : NULL;
		sha = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rec, "sha256"));
		if (rec && sha && strcmp(sha, x->sha256) == 0 &&
		    strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rec, "file")) ?: "", x->rel) == 0) {
			nremoved++;
			if (strv_push(&removals, &nrem, x->rel) != 0 ||
			    !dash_row(rows, x->uid, x->title, x->rel, "removed", "no longer in the source"))
				goto oom;
		} else {
			nunmanaged++;
			if (!dash_row(rows, x->uid, x->title, x->rel, "not managed",
				      rec ? "changed since opsctl installed it: kept" : "not installed by opsctl: kept"))
				goto oom;
		}
	}
	counts[0] = nnew;
	counts[1] = nchanged;
	counts[2] = nunchanged;
	if (run->dry_run)
		goto out;
	if ((rc = dash_confirm(run, nnew, nchanged, nremoved, dest, err)) != OPS_OK)
		goto out;
	if (o->backup && nnew + nchanged + (long)nrem > 0) {
		if (access(dest, F_OK) == 0) {
			if ((rc = dash_backup_dir(run, "dashboards", dest, rep, err)) != OPS_OK)
				goto out;
		} else if (!cJSON_AddStringToObject(rep, "backup_note", "the destination did not exist yet: nothing to back up")) {
			goto oom;
		}
	}
	if (nnew + nchanged + (long)nrem > 0) {
		if ((rc = ops_mkdir_p(dest, 0755, err)) != OPS_OK)
			goto out;
		rc = install(dest, items, src->n, removals, problems, &installed, err);
		if (rc != OPS_OK)
			goto out;
	}
	/* Remember what is ours now: the source set, as installed. */
	for (i = 0; i < src->n; i++) {
		cJSON *r = cJSON_CreateObject();
		const char *sha = items[i].act == A_UNCHANGED ? items[i].dst->sha256 : items[i].src->sha256;

		if (!r || !cJSON_AddItemToObject(newmine, items[i].src->uid, r) ||
		    !cJSON_AddStringToObject(r, "file", items[i].src->rel) ||
		    !cJSON_AddStringToObject(r, "sha256", sha))
			goto oom;
	}
	{
		cJSON *dests = cJSON_GetObjectItemCaseSensitive(state, "destinations");

		if (!dests && !(dests = cJSON_AddObjectToObject(state, "destinations")))
			goto oom;
		cJSON_DeleteItemFromObjectCaseSensitive(dests, dest);
		if (!cJSON_AddItemToObject(dests, dest, newmine))
			goto oom;
		newmine = NULL;
	}
	rc = state_write(run->cfg, state, err);
	if (rc != OPS_OK)
		ops_error_prefix(err, "the dashboards were installed, but their record was not written");
	goto out;
oom:
	rc = ops_error_oom(err);
out:
	counts[3] = installed;
	counts[4] = nremoved;
	cJSON_AddNumberToObject(rep, "removed", (double)nremoved);
	cJSON_AddNumberToObject(rep, "not_managed", (double)nunmanaged);
	cJSON_Delete(newmine);
	cJSON_Delete(state);
	ops_strv_free(removals);
	free(items);
	dash_set_free(&dst);
	return rc;
}

ops_code ops_dashboards_update(const ops_run *run, const ops_dash_opts *o, cJSON **report,
			       ops_error *err)
{
	const char *mode = ops_config_get(run->cfg, "dashboards.mode");
	int api = mode && strcmp(mode, "api") == 0;
	char source[4096], dest[4096];
	dash_set src = {0};
	dash_ds ds = {0};
	dash_api *ap = NULL;
	cJSON *rep, *invalid;
	long counts[5] = {0, 0, 0, 0, 0};
	int nbad = 0;
	ops_code rc;

	/* What the command line or the configuration gets wrong fails before
	 * there is anything to report. */
	*report = NULL;
	rc = resolve_dir(run->cfg, o->source, o->source_given, "dashboards.source", "source", 1,
			 source, err);
	if (rc == OPS_OK && !api)
		rc = resolve_dir(run->cfg, o->destination, o->destination_given,
				 "dashboards.destination", "destination", 0, dest, err);
	if (rc != OPS_OK)
		return rc;
	if (!api && strcmp(source, dest) == 0)
		return ops_error_set(err, o->source_given || o->destination_given ? OPS_EUSAGE : OPS_ECONFIG,
				     "source and destination are the same directory '%s'", source);
	if ((rc = dash_ds_load(run->cfg, &ds, err)) != OPS_OK)
		return rc;
	if (api && (rc = dash_api_open(run, &ap, err)) != OPS_OK) {
		dash_ds_free(&ds);
		return rc;
	}
	if ((rc = dash_load(source, 0, &src, err)) != OPS_OK) {
		ops_error_prefix(err, "source");
		dash_ds_free(&ds);
		dash_api_close(ap);
		return rc;
	}
	if (src.n == 0) {
		rc = ops_error_set(err, OPS_EDATA, "no dashboards (*.json) in the source '%s'", source);
		ops_error_hint(err, "an empty set is refused rather than taken to mean removing every "
			       "installed dashboard; nothing was changed");
		dash_ds_free(&ds);
		dash_api_close(ap);
		return rc;
	}
	*report = rep = cJSON_CreateObject();
	if (!rep || !cJSON_AddStringToObject(rep, "source", source) ||
	    !cJSON_AddStringToObject(rep, api ? "grafana" : "destination",
				     api ? ops_config_get(run->cfg, "dashboards.grafana_url") : dest) ||
	    !cJSON_AddStringToObject(rep, "mode", api ? "api" : "files") ||
	    !cJSON_AddBoolToObject(rep, "dry_run", run->dry_run) ||
	    !cJSON_AddBoolToObject(rep, "datasources_checked", ds.checked) ||
	    !cJSON_AddArrayToObject(rep, "dashboards") || !cJSON_AddArrayToObject(rep, "panel_changes") ||
	    !(invalid = cJSON_AddArrayToObject(rep, "invalid")) || !cJSON_AddArrayToObject(rep, "problems")) {
		dash_set_free(&src);
		dash_ds_free(&ds);
		dash_api_close(ap);
		return ops_error_oom(err);
	}
	nbad = dash_validate(&src, &ds, invalid);
	if (nbad < 0) {
		rc = ops_error_oom(err);
		goto out;
	}
	if (nbad > 0) {
		const cJSON *first = cJSON_GetArrayItem(invalid, 0);

		rc = ops_error_set(err, OPS_EDATA, "%s/%s: %s%s", source,
				   cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(first, "file")),
				   cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(first, "problem")),
				   nbad > 1 ? " (and more: see the invalid list)" : "");
		ops_error_hint(err, "the whole set is refused and nothing was changed; fix the "
			       "source and run again");
		goto out;
	}
	if (api)
		rc = dash_api_update(run, ap, o, &src, rep, counts, err);
	else
		rc = files_update(run, o, dest, &src, rep, counts, err);
out:
	cJSON_AddNumberToObject(rep, "new", (double)counts[0]);
	cJSON_AddNumberToObject(rep, "changed", (double)counts[1]);
	cJSON_AddNumberToObject(rep, "unchanged", (double)counts[2]);
	cJSON_AddNumberToObject(rep, "installed", (double)counts[3]);
	if (!cJSON_GetObjectItemCaseSensitive(rep, "removed"))
		cJSON_AddNumberToObject(rep, "removed", 0);
	if (!cJSON_GetObjectItemCaseSensitive(rep, "backup"))
		cJSON_AddNullToObject(rep, "backup");
	if (add_figures(rep, counts[3], counts[0] + counts[1] + counts[4], nbad) != OPS_OK &&
	    rc == OPS_OK)
		rc = ops_error_oom(err);
	dash_set_free(&src);
	dash_ds_free(&ds);
	dash_api_close(ap);
	return rc;
}
