/*
 * `opsctl health`: the front end of lib/health (health-check.sh, guide 000
 * section 8.5).  A monitoring check (CLI_PLUGIN): the runner prints the
 * status line and exits with the state.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "opsmaint/health.h"

ops_code cli_op_health(struct cli_inv *inv, const ops_run *run, cJSON **report, ops_error *err)
{
	ops_health_opts o = {0};
	ops_code rc;

	rc = ops_health_parse_components(cli_list(inv, "component"), &o.components, err);
	o.full = cli_flag(inv, "full");
	o.notify = cli_flag(inv, "notify");
	if (rc == OPS_OK)
		rc = ops_health_check(run, &o, report, err);
	/* Whatever stopped the check before it could judge anything, a
	 * monitoring system must read UNKNOWN (exit 3), never 75 or 78. */
	if (rc != OPS_OK && !*report && rc != OPS_EUSAGE && !ops_cancelled()) {
		char line[sizeof err->message + 32];

		snprintf(line, sizeof line, "OPSCTL HEALTH UNKNOWN - %s", err->message);
		line[strcspn(line, "\n")] = '\0';
		*report = cJSON_CreateObject();
		if (*report) {
			cJSON_AddStringToObject(*report, "state", "UNKNOWN");
			cJSON_AddStringToObject(*report, "summary", line);
			cJSON_AddNumberToObject(*report, "_state", 3);
			cJSON_AddStringToObject(*report, "_summary", line);
			cJSON_AddStringToObject(*report, "_perfdata", "");
		}
	}
	return rc;
}

const struct cli_opt cli_health_opts[] = {
	CLI_OPT_ENUMLIST('c', "component", "COMP",
			 "api,db,vector,llm,redis,disk,logs,backups,all",
			 "components to check; all is every configured one", .def = "all"),
	CLI_OPT_ENVIRONMENT("environment the check is for: it names the alerts of -n "
			    "(the global --env)"),
	CLI_OPT_FLAG('n', "notify", "send a notification through the alert channels when the "
		     "state is not OK: once per problem, again after health.notify_repeat, and "
		     "once on recovery"),
	CLI_OPT_FLAG(0, "full", "the slower checks too: a vector search self-test and table "
		     "bloat (guide 001's health-check.sh --full)"),
	CLI_OPT_VERBOSE('v'),
	CLI_OPT_END
};

const char cli_health_description[] =
	"Checks the whole system and reports in the monitoring-plugins convention, so that "
	"Nagios, Icinga or Sensu run it as a check as it is (health-check.sh, guide 000 section "
	"8.5; daily_health_check.sh of guides 003 and 004; guide 001's morning checks).\n\n"
	"Components: api (GET health.api_url: status, latency, the expected text, the TLS "
	"certificate's days left), db (the db health checks of each configured database), "
	"vector (the index present, its manifest, its vector count against the source rows, the "
	"age of its last rebuild), llm (a minimal authenticated request to health.llm_url: "
	"latency and error rate; the key from LLM_API_KEY, OPENAI_API_KEY or "
	"health.llm_key_file, never the command line), redis (PING, memory against maxmemory, "
	"hit ratio), disk (free space and inodes of health.disk_paths), logs (new ERROR and "
	"CRITICAL lines in health.log_files since the last run, rotation followed) and backups "
	"(the newest good backup's age, WAL archiver failures since the last run). A component "
	"that is not configured is skipped under all, and UNKNOWN when named with -c.\n\n"
	"Some rules worth knowing: the logs component reads each file from where the last run "
	"stopped (on first sight, at most health.max_body from its end), follows a rotation to "
	"FILE.1 or FILE-* by inode, and reads a truncated or replaced file from its start; "
	"compressed rotations are not followed. The backups component compares "
	"pg_stat_archiver's failures with the last run's count: a first run only remembers it, "
	"unless a failure is newer than the last success (archiving is stuck, CRITICAL). The "
	"vector component hashes an index of up to 64 MiB on every run, a larger one only with "
	"--full or when it changed after its manifest. --full adds db bloat: a table among the "
	"ten largest with more than health.dead_tuples_pct dead tuples is WARNING.\n\n"
	"The first line is \"OPSCTL HEALTH STATE - summary | perfdata\", perfdata as "
	"'label'=value[UOM];warn;crit;min;max; then one line per component. Text that came "
	"from elsewhere (an error answer's first 80 bytes, a log line, a server's error) is "
	"written with '/' for '|' and a space for a newline there, so that it never starts "
	"perfdata or another line; JSON keeps it as it came. Exit status: 0 OK, "
	"1 WARNING, 2 CRITICAL, 3 UNKNOWN (as every monitoring plugin; a usage error is still "
	"64). Every check has its own time limit (health.check_timeout) and a cap on what it "
	"reads (health.max_body); a stalled or flooding endpoint is CRITICAL with the reason, "
	"the other components are still reported, and the whole run ends within "
	"health.timeout.\n\n"
	"-n sends a notification through the channels of health.notify_channels (see "
	"opsctl-alerts(1)) when the state is not OK: once when a problem starts or changes, "
	"again after health.notify_repeat, and one resolved notice on recovery. Each set of "
	"components checked (-c api, -c db,disk, all) has its own notifications, so that two "
	"cron lines never resolve or repeat each other's (and its own PagerDuty and "
	"Alertmanager key, opsctl-OpsctlHealth-SET-HOST-ENV, all keeping the key without a "
	"set); the report's notification says sent, resolved, already notified, not needed or "
	"failed, and a failed one is also a warning line. With "
	"health.restart_command set, guide 002's auto-restart runs it (as an argv, without a "
	"shell) when a component of health.restart_components has been CRITICAL for "
	"health.restart_after runs in a row, at most health.restart_max_per_hour times an "
	"hour. What is remembered between runs (states, log positions, what was notified, "
	"restarts) is in STATE_DIR/health/state.json.";

const char cli_health_examples[] =
	"Every component, as cron runs it at 6 AM (guide 000)\n"
	"opsctl health -n\n"
	"As a Nagios or Icinga check command\n"
	"opsctl health -c api,db\n"
	"For a CI step or a dashboard\n"
	"opsctl health -o json\n"
	"Guide 001's morning check\n"
	"opsctl health --full";
