/*
 * The dashboard files as a set: read from a tree, validated the way Grafana
 * would accept them, and compared panel by panel.  It does not decide what
 * to install (dashboards.c) and never writes.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dashboards/dashboards_internal.h"
#include "opsmaint/fileio.h"
#include "opsmaint/hash.h"
#include "opsmaint/walk.h"
#include "opsmaint/yaml.h"

/* ---- reading a tree ---- */

struct lister {
	char **rel;
	size_t n, cap;
	int failed;
	ops_error first;
};

static int not_hidden(void *arg, const ops_walk_entry *e)
{
	(void)arg;
	return e->name[0] != '.';
}

static ops_code listed(void *arg, const ops_walk_entry *e, ops_walk_event ev,
		       const ops_error *problem, ops_error *err)
{
	struct lister *l = arg;

	if (ev == OPS_WALK_ERROR) {
		if (!l->failed && problem)
			l->first = *problem;
		l->failed = 1;
		return OPS_OK;
	}
	if (ev != OPS_WALK_REMOVED)
		return OPS_OK;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 32;
		char **v = realloc(l->rel, cap * sizeof *v);

		if (!v)
			return ops_error_oom(err);
		l->rel = v;
		l->cap = cap;
	}
	if (!(l->rel[l->n] = strdup(e->rel)))
		return ops_error_oom(err);
	l->n++;
	return OPS_OK;
}

static int by_rel(const void *a, const void *b)
{
	return strcmp(((const dash *)a)->rel, ((const dash *)b)->rel);
}

static void set_ids(dash *d)
{
	d->uid = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d->json, "uid"));
	d->title = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d->json, "title"));
}

ops_code dash_load(const char *root, int missing_ok, dash_set *set, ops_error *err)
{
	/* The safe walk of core/walk as a lister: a dry run that "removes" the
	 * files it selects, so links are never followed and mounts not crossed. */
	char *patterns[] = {"*.json", NULL};
	struct lister l = {0};
	ops_walk_opts o;
	ops_code rc;
	size_t i;

	memset(set, 0, sizeof *set);
	ops_walk_opts_init(&o);
	o.patterns = patterns;
	o.dry_run = 1;
	o.missing_ok = missing_ok;
	o.select = not_hidden;
	o.descend = not_hidden;
	o.on_entry = listed;
	o.arg = &l;
	rc = ops_walk_tree(root, &o, NULL, err);
	if (rc == OPS_OK && l.failed) {
		*err = l.first;
		rc = l.first.code != OPS_OK ? l.first.code : OPS_EIO;
	}
	if (rc == OPS_OK && l.n && !(set->v = calloc(l.n, sizeof *set->v)))
		rc = ops_error_oom(err);
	for (i = 0; i < l.n; i++) {
		if (rc == OPS_OK) {
			dash *d = &set->v[set->n++];

			d->rel = l.rel[i];
			l.rel[i] = NULL;
			if (!(d->path = ops_path_join(root, d->rel))) {
				rc = ops_error_oom(err);
				continue;
			}
			rc = ops_read_file(d->path, DASH_FILE_MAX, &d->text, &d->len, err);
			if (rc != OPS_OK)
				continue;
			ops_sha256_hex(d->text, d->len, d->sha256);
			d->json = cJSON_ParseWithOpts(d->text, NULL, 1);
			set_ids(d);
		}
		free(l.rel[i]);
	}
	free(l.rel);
	if (rc != OPS_OK) {
		dash_set_free(set);
		return rc;
	}
	if (set->n > 1)
		qsort(set->v, set->n, sizeof *set->v, by_rel);
	return OPS_OK;
}

void dash_set_free(dash_set *set)
{
	size_t i;

	for (i = 0; set && i < set->n; i++) {
		free(set->v[i].rel);
		free(set->v[i].path);
		free(set->v[i].text);
		cJSON_Delete(set->v[i].json);
	}
	if (set) {
		free(set->v);
		memset(set, 0, sizeof *set);
	}
}

/* ---- the datasources that exist ---- */

static int ds_add(dash_ds *ds, const char *name, const char *uid, const char *type)
{
	char **n = realloc(ds->name, (ds->n + 1) * sizeof *n);

	if (!n)
		return -1;
	ds->name = n;
	if (!(n = realloc(ds->uid, (ds->n + 1) * sizeof *n)))
		return -1;
	ds->uid = n;
	if (!(n = realloc(ds->type, (ds->n + 1) * sizeof *n)))
		return -1;
	ds->type = n;
	ds->name[ds->n] = name ? strdup(name) : NULL;
	ds->uid[ds->n] = uid ? strdup(uid) : NULL;
	ds->type[ds->n] = type ? strdup(type) : NULL;
	ds->n++;
	if ((name && !ds->name[ds->n - 1]) || (uid && !ds->uid[ds->n - 1]) ||
	    (type && !ds->type[ds->n - 1]))
		return -1;
	return 0;
}

/* Grafana's provisioning datasources file: datasources: [{name, uid, type}...]. */
static ops_code ds_load_yaml(const char *file, dash_ds *ds, ops_error *err)
{
	const ops_yaml_node *list, *e;
	ops_yaml *doc = NULL;
	const char *name;
	ops_code rc;
	size_t i;

	if ((rc = ops_yaml_load_file(file, 0, &doc, err)) != OPS_OK) {
		if (rc == OPS_EINTERNAL)
			return rc;
		ops_error_prefix(err, "dashboards.datasources_file");
		err->code = OPS_ECONFIG;
		return OPS_ECONFIG;
	}
	list = ops_yaml_get(doc, ops_yaml_root(doc), "datasources");
	if (ops_yaml_type_of(list) != OPS_YAML_SEQUENCE)
		rc = ops_error_set(err, OPS_ECONFIG,
				   "dashboards.datasources_file '%s': no datasources: list (not a Grafana provisioning file)",
				   file);
	for (i = 0; rc == OPS_OK && (e = ops_yaml_item(doc, list, i)); i++) {
		if (!(name = ops_yaml_scalar(ops_yaml_get(doc, e, "name"))))
			rc = ops_error_set(err, OPS_ECONFIG,
					   "dashboards.datasources_file '%s': line %ld: a datasource without a name",
					   file, ops_yaml_line(e));
		else if (ds_add(ds, name, ops_yaml_scalar(ops_yaml_get(doc, e, "uid")),
				ops_yaml_scalar(ops_yaml_get(doc, e, "type"))) != 0)
			rc = ops_error_oom(err);
	}
	ops_yaml_free(doc);
	return rc;
}

ops_code dash_ds_load(const ops_config *cfg, dash_ds *ds, ops_error *err)
{
	char **list = ops_config_list(cfg, "dashboards.datasources");
	const char *file = ops_config_get(cfg, "dashboards.datasources_file");
	ops_code rc = OPS_OK;
	size_t i;

	memset(ds, 0, sizeof *ds);
	/* A configured name may be a name or a uid: it answers for both. */
	for (i = 0; list && list[i]; i++)
		if (list[i][0] && ds_add(ds, list[i], list[i], NULL) != 0)
			rc = ops_error_oom(err);
	ops_strv_free(list);
	if (rc == OPS_OK && file && *file)
		rc = ds_load_yaml(file, ds, err);
	ds->checked = ds->n > 0 || (file && *file);
	if (rc != OPS_OK)
		dash_ds_free(ds);
	return rc;
}

void dash_ds_free(dash_ds *ds)
{
	size_t i;

	for (i = 0; i < ds->n; i++) {
		free(ds->name[i]);
		free(ds->uid[i]);
		free(ds->type[i]);
	}
	free(ds->name);
	free(ds->uid);
	free(ds->type);
	memset(ds, 0, sizeof *ds);
}

/* ---- validation ---- */

struct vctx {
	dash *d;
	const dash_ds *ds;
	cJSON *invalid;
	int problems;
};

static void problem(struct vctx *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(struct vctx *v, const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	cJSON *o = cJSON_CreateObject();

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	v->problems++;
	v->d->bad = 1;
	if (!o || !cJSON_AddStringToObject(o, "file", v->d->rel) ||
	    !cJSON_AddStringToObject(o, "problem", msg) || !cJSON_AddItemToArray(v->invalid, o)) {
		cJSON_Delete(o);
		v->problems = -1000000;	/* out of memory: the count goes negative */
	}
}

static int builtin_ds(const char *s)
{
	static const char *const names[] = {"-- Grafana --", "-- Mixed --", "-- Dashboard --",
					    "grafana", "default", NULL};
	int i;

	for (i = 0; names[i]; i++)
		if (strcmp(s, names[i]) == 0)
			return 1;
	return 0;
}

/* The variable a reference names ($x, ${x}, ${x:text}, [[x]]), into name; 0 if none. */
static int ref_variable(const char *s, char *name, size_t len)
{
	size_t n;

	if (strncmp(s, "${", 2) == 0) {
		s += 2;
		n = strcspn(s, ":}");
	} else if (strncmp(s, "[[", 2) == 0) {
		s += 2;
		n = strcspn(s, ":]");
	} else if (s[0] == '$') {
		s += 1;
		n = strlen(s);
	} else {
		return 0;
	}
	snprintf(name, len, "%.*s", (int)n, s);
	return 1;
}

static int array_has_name(const cJSON *arr, const char *name)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, arr) {
		const char *n = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "name"));

		if (n && strcmp(n, name) == 0)
			return 1;
	}
	return 0;
}

/* A variable reference: a templating variable resolves at view time. */
static void check_variable(struct vctx *v, const char *where, const char *ref, const char *var)
{
	const cJSON *tl = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(v->d->json, "templating"), "list");

	if (array_has_name(tl, var))
		return;
	if (array_has_name(cJSON_GetObjectItemCaseSensitive(v->d->json, "__inputs"), var))
		problem(v, "%s: datasource '%s' is an import input (__inputs), which file provisioning does not substitute",
			where, ref);
	else
		problem(v, "%s: datasource '%s' names no templating variable of the dashboard", where, ref);
}

static void check_ref(struct vctx *v, const cJSON *ref, const char *where)
{
	const char *uid, *type;
	char var[128];
	size_t i;

	if (!ref || cJSON_IsNull(ref))
		return;		/* the default datasource */
	if (cJSON_IsString(ref)) {
		uid = ref->valuestring;
		type = NULL;
	} else if (cJSON_IsObject(ref)) {
		const cJSON *u = cJSON_GetObjectItemCaseSensitive(ref, "uid");

		type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ref, "type"));
		if (!u || cJSON_IsNull(u))
			return;	/* {type} alone: that type's default */
		if (!cJSON_IsString(u)) {
			problem(v, "%s: datasource uid is not a string", where);
			return;
		}
		uid = u->valuestring;
	} else {
		problem(v, "%s: datasource is neither a name nor a {type, uid} object", where);
		return;
	}
	if (!uid[0] || builtin_ds(uid))
		return;
	if (ref_variable(uid, var, sizeof var)) {
		check_variable(v, where, uid, var);
		return;
	}
	if (!v->ds->checked)
		return;
	for (i = 0; i < v->ds->n; i++) {
		if ((v->ds->uid[i] && strcmp(v->ds->uid[i], uid) == 0) ||
		    (v->ds->name[i] && strcmp(v->ds->name[i], uid) == 0)) {
			if (type && v->ds->type[i] && strcmp(type, v->ds->type[i]) != 0 &&
			    strcmp(type, "datasource") != 0) {
				problem(v, "%s: datasource '%s' is of type %s, not %s", where, uid,
					v->ds->type[i], type);
			}
			return;
		}
	}
	problem(v, "%s: unknown datasource '%s' (not in dashboards.datasources or dashboards.datasources_file)",
		where, uid);
}

static void panel_name(const cJSON *p, char *out, size_t len)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(p, "id");
	const char *title = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "title"));

	if (cJSON_IsNumber(id))
		snprintf(out, len, "%.0f '%s'", id->valuedouble, title ? title : "");
	else
		snprintf(out, len, "'%s'", title ? title : "");
}

static void check_panels(struct vctx *v, const cJSON *panels, int depth)
{
	const cJSON *p, *t;
	char name[200], where[300];

	if (depth > 8)
		return;
	cJSON_ArrayForEach(p, panels) {
		panel_name(p, name, sizeof name);
		snprintf(where, sizeof where, "panel %s", name);
		check_ref(v, cJSON_GetObjectItemCaseSensitive(p, "datasource"), where);
		cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(p, "targets")) {
			const char *ref = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(t, "refId"));

			snprintf(where, sizeof where, "panel %s target %s", name, ref ? ref : "?");
			check_ref(v, cJSON_GetObjectItemCaseSensitive(t, "datasource"), where);
		}
		/* A collapsed row keeps its panels inside it. */
		check_panels(v, cJSON_GetObjectItemCaseSensitive(p, "panels"), depth + 1);
	}
}

static int uid_ok(const char *uid)
{
	size_t n = strlen(uid);

	return n > 0 && n <= 40 && strspn(uid, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				       "0123456789-_") == n;
}

static void line_col(const dash *d, const char *at, long *line, long *col)
{
	const char *p;

	*line = 1;
	*col = 1;
	if (!at || at < d->text || at > d->text + d->len)
		return;
	for (p = d->text; p < at; p++) {
		if (*p == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

static void validate_one(struct vctx *v)
{
	dash *d = v->d;
	const cJSON *j, *e;
	char where[300];

	if (!d->json) {
		const char *end = NULL;
		long line, col;
		cJSON *again = cJSON_ParseWithOpts(d->text, &end, 1);

		cJSON_Delete(again);
		line_col(d, end, &line, &col);
		if (d->len == 0)
			problem(v, "empty file, not JSON");
		else
			problem(v, "line %ld column %ld: not valid JSON", line, col);
		return;
	}
	j = d->json;
	if (!cJSON_IsObject(j)) {
		problem(v, "not a JSON object");
		return;
	}
	if (!d->uid)
		problem(v, "no uid (Grafana matches dashboards by it)");
	else if (!uid_ok(d->uid))
		problem(v, "uid '%s' is not 1 to 40 letters, digits, '-' or '_'", d->uid);
	if (!d->title || !d->title[0])
		problem(v, "no title");
	if (!cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(j, "schemaVersion")))
		problem(v, "no schemaVersion");
	check_panels(v, cJSON_GetObjectItemCaseSensitive(j, "panels"), 0);
	/* Dashboards older than schema 16 keep panels in rows. */
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(j, "rows"))
		check_panels(v, cJSON_GetObjectItemCaseSensitive(e, "panels"), 1);
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(
			   cJSON_GetObjectItemCaseSensitive(j, "templating"), "list")) {
		const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "name"));
		const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "type"));

		/* A datasource variable's query is a plugin type, not a reference. */
		if (type && strcmp(type, "datasource") == 0)
			continue;
		snprintf(where, sizeof where, "templating variable '%s'", name ? name : "");
		check_ref(v, cJSON_GetObjectItemCaseSensitive(e, "datasource"), where);
	}
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(
			   cJSON_GetObjectItemCaseSensitive(j, "annotations"), "list")) {
		const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "name"));

		snprintf(where, sizeof where, "annotation '%s'", name ? name : "");
		check_ref(v, cJSON_GetObjectItemCaseSensitive(e, "datasource"), where);
	}
}

int dash_validate(dash_set *set, const dash_ds *ds, cJSON *invalid)
{
	struct vctx v = {.ds = ds, .invalid = invalid};
	size_t i, k;

	for (i = 0; i < set->n; i++) {
		v.d = &set->v[i];
		validate_one(&v);
	}
	/* Unique across the set: the later file is the one named as the duplicate. */
	for (i = 0; i < set->n; i++) {
		for (k = 0; k < i; k++) {
			v.d = &set->v[i];
			if (set->v[i].uid && set->v[k].uid && strcmp(set->v[i].uid, set->v[k].uid) == 0) {
				problem(&v, "uid '%s' is also the uid of %s", set->v[i].uid, set->v[k].rel);
				set->v[k].bad = 1;
				break;
			}
		}
		for (k = 0; k < i; k++) {
			v.d = &set->v[i];
			if (set->v[i].title && set->v[k].title && set->v[i].title[0] &&
			    strcmp(set->v[i].title, set->v[k].title) == 0) {
				problem(&v, "title '%s' is also the title of %s", set->v[i].title,
					set->v[k].rel);
				set->v[k].bad = 1;
				break;
			}
		}
	}
	return v.problems < 0 ? -1 : v.problems;
}

/* ---- comparison ---- */

cJSON *dash_normalized(const cJSON *dashboard)
{
	cJSON *c = cJSON_Duplicate(dashboard, 1);

	if (c && cJSON_IsObject(c)) {
		cJSON_DeleteItemFromObjectCaseSensitive(c, "id");
		cJSON_DeleteItemFromObjectCaseSensitive(c, "version");
	}
	return c;
}

struct pl {
	const cJSON **p;
	size_t n, cap;
};

static int flatten(struct pl *l, const cJSON *panels, int depth)
{
	const cJSON *p;

	if (depth > 8)
		return 0;
	cJSON_ArrayForEach(p, panels) {
		if (l->n == l->cap) {
			size_t cap = l->cap ? l->cap * 2 : 16;
			const cJSON **v = realloc(l->p, cap * sizeof *v);

			if (!v)
				return -1;
			l->p = v;
			l->cap = cap;
		}
		l->p[l->n++] = p;
		if (flatten(l, cJSON_GetObjectItemCaseSensitive(p, "panels"), depth + 1) != 0)
			return -1;
	}
	return 0;
}

static int panels_of(const cJSON *d, struct pl *l)
{
	const cJSON *r;

	if (flatten(l, cJSON_GetObjectItemCaseSensitive(d, "panels"), 0) != 0)
		return -1;
	cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(d, "rows"))
		if (flatten(l, cJSON_GetObjectItemCaseSensitive(r, "panels"), 1) != 0)
			return -1;
	return 0;
}

static int same_panel(const cJSON *a, const cJSON *b)
{
	const cJSON *ia = cJSON_GetObjectItemCaseSensitive(a, "id");
	const cJSON *ib = cJSON_GetObjectItemCaseSensitive(b, "id");
	const char *ta = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(a, "title"));
	const char *tb = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(b, "title"));

	if (cJSON_IsNumber(ia) || cJSON_IsNumber(ib))
		return cJSON_IsNumber(ia) && cJSON_IsNumber(ib) && ia->valuedouble == ib->valuedouble;
	return ta && tb && strcmp(ta, tb) == 0;
}

/* The index of p's counterpart in l (by id, else title), l->n when none. */
static size_t find_panel(const struct pl *l, const cJSON *p)
{
	size_t k;

	for (k = 0; k < l->n && !same_panel(l->p[k], p); k++)
		;
	return k;
}

/* A panel's own content: a row's nested panels are compared as panels of their own. */
static int panel_differs(const cJSON *a, const cJSON *b)
{
	cJSON *ca = cJSON_Duplicate(a, 1), *cb = cJSON_Duplicate(b, 1);
	int r;

	if (!ca || !cb) {
		cJSON_Delete(ca);
		cJSON_Delete(cb);
		return -1;
	}
	cJSON_DeleteItemFromObjectCaseSensitive(ca, "panels");
	cJSON_DeleteItemFromObjectCaseSensitive(cb, "panels");
	r = !cJSON_Compare(ca, cb, 1);
	cJSON_Delete(ca);
	cJSON_Delete(cb);
	return r;
}

static int note(cJSON *out, const char *uid, const char *change, const cJSON *p)
{
	char name[200];
	cJSON *o = cJSON_CreateObject();

	panel_name(p, name, sizeof name);
	if (!o || !cJSON_AddStringToObject(o, "uid", uid) ||
	    !cJSON_AddStringToObject(o, "change", change) ||
	    !cJSON_AddStringToObject(o, "panel", name) || !cJSON_AddItemToArray(out, o)) {
		cJSON_Delete(o);
		return -1;
	}
	return 0;
}

int dash_diff(const char *uid, const cJSON *old, const cJSON *new_, cJSON *panel_changes,
	      char *summary, size_t len)
{
	cJSON *a = dash_normalized(old), *b = dash_normalized(new_);
	struct pl pa = {0}, pb = {0};
	long added = 0, removed = 0, changed = 0;
	size_t i, k;
	int r = -1;

	if (!a || !b || panels_of(a, &pa) != 0 || panels_of(b, &pb) != 0)
		goto out;
	if (cJSON_Compare(a, b, 1)) {
		snprintf(summary, len, "%s", "");
		r = 0;
		goto out;
	}
	for (i = 0; i < pb.n; i++) {
		k = find_panel(&pa, pb.p[i]);
		if (k == pa.n) {
			added++;
			if (note(panel_changes, uid, "added", pb.p[i]) != 0)
				goto out;
		} else {
			int d = panel_differs(pa.p[k], pb.p[i]);

			if (d < 0)
				goto out;
			if (d) {
				changed++;
				if (note(panel_changes, uid, "changed", pb.p[i]) != 0)
					goto out;
			}
		}
	}
	for (k = 0; k < pa.n; k++) {
		if (find_panel(&pb, pa.p[k]) < pb.n)
			continue;
		removed++;
		if (note(panel_changes, uid, "removed", pa.p[k]) != 0)
			goto out;
	}
	if (added || removed || changed)
		snprintf(summary, len, "panels +%ld -%ld ~%ld", added, removed, changed);
	else
		snprintf(summary, len, "%s", "settings");
	r = 1;
out:
	free(pa.p);
	free(pb.p);
	cJSON_Delete(a);
	cJSON_Delete(b);
	return r;
}

cJSON *dash_row(cJSON *rows, const char *uid, const char *title, const char *file,
		const char *action, const char *changes)
{
	cJSON *o = cJSON_CreateObject();

	if (!o || !cJSON_AddStringToObject(o, "uid", uid ? uid : "") ||
	    !cJSON_AddStringToObject(o, "title", title ? title : "") ||
	    !cJSON_AddStringToObject(o, "file", file ? file : "") ||
	    !cJSON_AddStringToObject(o, "action", action) ||
	    !cJSON_AddStringToObject(o, "changes", changes ? changes : "") ||
	    !cJSON_AddItemToArray(rows, o)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}
