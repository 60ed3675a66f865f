/*
 * `opsctl dashboards`: the front end of lib/dashboards (update-dashboards.sh,
 * guide 000 section 8.4).  The lock, journal and output are the runner's.
 */
#include "cli.h"
#include "opsmaint/dashboards.h"

ops_code cli_op_dashboards(struct cli_inv *inv, const ops_run *run, cJSON **report,
			   ops_error *err)
{
	ops_dash_opts o = {0};

	o.source_given = cli_given(inv, "source");
	o.destination_given = cli_given(inv, "destination");
	o.source = o.source_given ? cli_str(inv, "source") : NULL;
	o.destination = o.destination_given ? cli_str(inv, "destination") : NULL;
	o.backup = cli_flag(inv, "backup");
	return ops_dashboards_update(run, &o, report, err);
}

/* update-dashboards.sh's usage block, flag for flag. */
const struct cli_opt cli_dashboards_opts[] = {
	CLI_OPT_STRING('s', "source", "DIR", "source directory for dashboards",
		       .key = "dashboards.source", .complete = CLI_C_DIR),
	CLI_OPT_STRING('d', "destination", "DIR", "Grafana dashboards directory",
		       .key = "dashboards.destination", .complete = CLI_C_DIR),
	CLI_OPT_FLAG('b', "backup", "backup current dashboards (into backup.monitoring_dir, as "
		     "backup monitoring does) before installing"),
	CLI_OPT_FORCE("force update without confirmation"),
	CLI_OPT_YES,
	CLI_OPT_DRY_RUN("validate and show what would change, and change nothing"),
	CLI_OPT_VERBOSE('v'),
	CLI_OPT_END
};

const char cli_dashboards_description[] =
	"Updates Grafana dashboards from version control, as update-dashboards.sh does (guide 000 "
	"sections 6.2 and 8.4): every dashboard JSON file below the source directory (-s, "
	"dashboards.source; subdirectories included, as Grafana's file provider reads them, names "
	"starting with '.' skipped) is validated as one set, compared by uid with what is "
	"installed, and installed into the directory a Grafana file provider reads (-d, "
	"dashboards.destination), each file at its path relative to the source.\n\n"
	"Validation refuses the whole set (exit 65, nothing changed, not even a backup) when any "
	"file does not parse (the message names its line and column), is not an object with a "
	"uid (1 to 40 letters, digits, '-' or '_'), a title and a schemaVersion, shares its uid "
	"or its title with another file of the set (both files are named), or holds a "
	"datasource reference that does not resolve. References are checked in panels, the "
	"panels nested in rows, targets, templating variables and annotations; a reference is "
	"a name or uid string or a {type, uid} object, and must be one of "
	"dashboards.datasources or of the datasources: list of Grafana's provisioning file "
	"dashboards.datasources_file (whose type, when both say one, must match). No reference "
	"or a {type} alone is the default datasource; -- Grafana --, -- Mixed -- and "
	"-- Dashboard -- are built in; $var, ${var} and [[var]] must name a templating variable "
	"of the dashboard. ${DS_X} declared only in __inputs (an export made for sharing) is "
	"refused: file provisioning does not substitute import inputs. With neither key set, "
	"references are not checked and the report says datasources_checked: no. An empty "
	"source is refused too, rather than taken to mean removing everything.\n\n"
	"The report lists every dashboard with its action: new; changed, with a summary of "
	"panels added, removed and changed (+N -N ~N, by panel id, else title; settings when "
	"only the rest differs; moved from another path), each panel in panel_changes; "
	"unchanged (the same JSON once Grafana's id and version are left out); removed; not "
	"managed. Removed is narrow on purpose: only a dashboard that the last run installed into "
	"this destination (recorded with its SHA-256 in STATE_DIR/dashboards/state.json) and "
	"that is unchanged since; another copy of a source uid elsewhere in the destination is "
	"removed too, since Grafana refuses two dashboards with one uid. Every other file is "
	"not managed and kept, whoever made it.\n\n"
	"On a terminal the changes are confirmed first unless -f or --yes; in cron (no "
	"terminal) nothing is asked, as cleanup does. The maintenance window does not apply. "
	"-b first archives the destination as backup monitoring archives a component, into "
	"backup.monitoring_dir as monitoring_dashboards_STAMP.tar.zst with a .sha256 beside it "
	"(the same retention applies), and the report's backup names its id; nothing to "
	"change, no backup. The install writes every new file under a temporary name in the "
	"destination and fsyncs it before the first rename; a rename that fails puts the files "
	"renamed before it back, so Grafana sees the old set or the new one, never a mix; "
	"removals follow. Grafana's provider picks the files up on its own "
	"updateIntervalSeconds; opsctl neither edits the provider nor restarts Grafana.\n\n"
	"With dashboards.mode = api the set goes through Grafana's HTTP API instead "
	"(dashboards.grafana_url): each dashboard is read with GET /api/dashboards/uid/UID and "
	"compared, a new or changed one saved with POST /api/dashboards/db (id null, folderUid "
	"of dashboards.folder, a uid or title looked up in /api/folders, overwrite true, a "
	"message naming the file) and read back to confirm the version Grafana answered. The "
	"token comes from GRAFANA_TOKEN or dashboards.grafana_token_file (mode 0600), never the "
	"command line; a refused token is exit 77, a dashboard Grafana refuses (HTTP 400) 65, "
	"another refusal (412: a name or version conflict) 1, Grafana unreachable 69. Grafana "
	"has no transaction over several dashboards: a failure stops the run there and the "
	"report says which were saved. -b archives the versions Grafana held of the changed "
	"ones. Nothing is deleted through the API.\n\n"
	"The figures go to the journal and the Prometheus textfile: "
	"opsctl_dashboards_installed, opsctl_dashboards_changed and opsctl_dashboards_invalid.";

const char cli_dashboards_examples[] =
	"What would change, without changing anything\n"
	"opsctl dashboards --dry-run\n"
	"Guide 000 section 6.2, from the repository, with a backup first\n"
	"opsctl dashboards -s infrastructure/monitoring/grafana/dashboards -d /etc/grafana/provisioning/dashboards -b\n"
	"From a deployment pipeline (no question)\n"
	"opsctl dashboards -b -f";
