/*
 * Inside lib/dashboards: the set of dashboard files and what is checked of
 * it (dashboards_check.c: reading a tree, validation, the datasources, the
 * comparison of two versions), the plan and the provisioning-directory
 * install (dashboards.c), and Grafana's HTTP API (dashboards_api.c).
 */
#ifndef OPSMAINT_DASHBOARDS_INTERNAL_H
#define OPSMAINT_DASHBOARDS_INTERNAL_H

#include <stddef.h>
#include <cjson/cJSON.h>
#include "opsmaint/config.h"
#include "opsmaint/dashboards.h"
#include "opsmaint/error.h"
#include "opsmaint/run.h"

/* A dashboard file is refused above this size. */
#define DASH_FILE_MAX (16L * 1024 * 1024)

typedef struct dash {
	char *rel;		/* path below the root, "team/api.json" */
	char *path;		/* root/rel */
	char *text;		/* the file's bytes, NUL-terminated */
	size_t len;
	char sha256[65];
	cJSON *json;		/* NULL when it does not parse */
	const char *uid;	/* into json; NULL when missing or not a string */
	const char *title;
	int bad;		/* validation found a problem with it */
} dash;

typedef struct dash_set {
	dash *v;
	size_t n;
} dash_set;

/* The datasources that exist: names, uids and (when known) types, parallel. */
typedef struct dash_ds {
	char **name;
	char **uid;
	char **type;
	size_t n;
	int checked;		/* 0: none configured, references are not checked */
} dash_ds;

/*
 * Every *.json below root (names starting with '.' skipped, directories
 * too), sorted by rel, read and parsed.  missing_ok: a root that does not
 * exist is an empty set.  A file that cannot be read is an error; one that
 * does not parse has json NULL (dash_validate says why).
 */
ops_code dash_load(const char *root, int missing_ok, dash_set *set, ops_error *err);
void dash_set_free(dash_set *set);

/* dashboards.datasources and dashboards.datasources_file (OPS_ECONFIG naming it). */
ops_code dash_ds_load(const ops_config *cfg, dash_ds *ds, ops_error *err);
void dash_ds_free(dash_ds *ds);

/*
 * Check every file and the set as a whole; each problem is one
 * {"file", "problem"} object in invalid.  Returns the number of problems
 * (-1 when out of memory).
 */
int dash_validate(dash_set *set, const dash_ds *ds, cJSON *invalid);

/* A copy of a dashboard without what Grafana rewrites (id, version); NULL on OOM. */
cJSON *dash_normalized(const cJSON *dashboard);

/*
 * What differs between the installed version old and the new one: the
 * panels added, removed and changed (by id, else title) as
 * {"uid", "change", "panel"} objects in panel_changes, and a short summary
 * ("panels +1 -0 ~2", "settings") in summary.  Returns 1 when they differ,
 * 0 when they are the same once normalised, -1 on OOM.
 */
int dash_diff(const char *uid, const cJSON *old, const cJSON *new_, cJSON *panel_changes,
	      char *summary, size_t len);

/* One dashboard row of the report's "dashboards" table; NULL on OOM. */
cJSON *dash_row(cJSON *rows, const char *uid, const char *title, const char *file,
		const char *action, const char *changes);

/*
 * -b: archive dir as `backup monitoring` does, into backup.monitoring_dir,
 * as component name; the report's "backup" object gets its id.
 */
ops_code dash_backup_dir(const ops_run *run, const char *name, const char *dir, cJSON *rep,
			 ops_error *err);

/*
 * Api mode.  dash_api_open: the URL, the token (GRAFANA_TOKEN or
 * dashboards.grafana_token_file) and the folder of dashboards.folder, looked
 * up; errors before anything is reported.  dash_api_update: plan against
 * Grafana and (unless run->dry_run) post what is new or changed, reading
 * each back.  set is valid.  counts: new, changed, unchanged, installed.
 */
typedef struct dash_api dash_api;
ops_code dash_api_open(const ops_run *run, dash_api **out, ops_error *err);
void dash_api_close(dash_api *a);
ops_code dash_api_update(const ops_run *run, dash_api *a, const ops_dash_opts *o,
			 dash_set *set, cJSON *rep, long counts[4], ops_error *err);

/* Ask run->confirm about the changes, unless forced or answered; OPS_EDECLINED on a no. */
ops_code dash_confirm(const ops_run *run, long add, long change, long remove, const char *where,
		      ops_error *err);

#endif
