/*
 * Grafana dashboards from version control (guide 000 section 6.2 and
 * update-dashboards.sh of section 8.4): every dashboard JSON of a source
 * directory validated as one set, compared by uid with what is installed,
 * and installed all at once, either into the directory a Grafana file
 * provider reads (dashboards.mode = files) or through Grafana's HTTP API
 * (dashboards.mode = api).
 *
 * Validation (any problem refuses the whole set, OPS_EDATA, nothing
 * changed): each file parses (the error names its line and column), is an
 * object with a uid (at most 40 letters, digits, '-' or '_', as Grafana
 * allows), a title and a schemaVersion; uids and titles are unique across
 * the set (a duplicate names both files); every datasource reference
 * (panels, rows' nested panels, targets, templating, annotations; a name or
 * uid string or a {type, uid} object) resolves against
 * dashboards.datasources and dashboards.datasources_file, a variable
 * against the dashboard's templating, built-ins (-- Grafana --,
 * -- Mixed --, -- Dashboard --) always.  An import input (${DS_X} declared
 * only in __inputs) is refused: file provisioning does not substitute it.
 *
 * Files mode plans by uid: new, changed (panels added, removed and changed
 * by id or title), unchanged, removed (only a dashboard the last run
 * installed, recorded with its SHA-256 in STATE_DIR/dashboards/state.json,
 * and unmodified since), not managed (any other file: kept).  The install
 * writes every file to a temporary name and fsyncs it before the first
 * rename; a rename that fails puts back the files already renamed, so the
 * destination holds the old set or the new one.  Removals follow the
 * renames.  It does not edit Grafana's provider YAML or reload Grafana
 * (the provider rescans on its own updateIntervalSeconds).
 */
#ifndef OPSMAINT_DASHBOARDS_H
#define OPSMAINT_DASHBOARDS_H
#include "opsmaint/api.h"
OPS_API_BEGIN

#include <cjson/cJSON.h>
#include "opsmaint/error.h"
#include "opsmaint/run.h"

typedef struct ops_dash_opts {
	const char *source;		/* NULL: dashboards.source */
	const char *destination;	/* NULL: dashboards.destination (files mode) */
	int source_given;		/* the source came from the command line (-s) */
	int destination_given;		/* ... the destination (-d) */
	int backup;			/* -b: archive what is installed first */
} ops_dash_opts;

/*
 * Validate, plan and (unless run->dry_run) install.  run->confirm is asked
 * when something would change, unless run->force or run->yes.  Report:
 * {"source", "destination" or "grafana", "mode", "datasources_checked",
 * "dry_run", "dashboards":[{"uid", "title", "file", "action", "changes"}],
 * "panel_changes":[{"uid", "change", "panel"}], "invalid":[{"file",
 * "problem"}], "new", "changed", "unchanged", "removed", "not_managed",
 * "installed", "backup":{"id", "archive", ...} or null, "_figures"}.
 * OPS_EDATA for an invalid set, OPS_ECONFIG or OPS_EUSAGE (given on the
 * command line) for a source that is not a directory, OPS_EDECLINED when
 * the question is answered no.
 */
ops_code ops_dashboards_update(const ops_run *run, const ops_dash_opts *o, cJSON **report,
			       ops_error *err);

OPS_API_END
#endif
