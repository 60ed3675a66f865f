/*
 * `opsctl alerts`: the front end of lib/alerts (test-alerts.sh, guide 000
 * sections 6.3 and 8.4).  Table rows and a few lines per subcommand.
 */
#include <string.h>

#include "cli.h"
#include "opsmaint/alerts.h"

static ops_alert_severity severity_of(const char *s)
{
	return !s ? OPS_ALERT_INFO : strcmp(s, "critical") == 0 ? OPS_ALERT_CRITICAL :
	       strcmp(s, "warning") == 0 ? OPS_ALERT_WARNING : OPS_ALERT_INFO;
}

static ops_code op_test(struct cli_inv *inv, const ops_run *run, cJSON **report, ops_error *err)
{
	ops_alert a = {0};
	unsigned mask;
	ops_code rc;

	if ((rc = ops_alerts_parse_channels(cli_list(inv, "channels"), &mask, err)) != OPS_OK)
		return rc;
	a.name = "OpsctlTestAlert";
	a.summary = cli_str(inv, "message") ? cli_str(inv, "message")
		    : "Test notification from opsctl: if you can read this, this channel works";
	a.command = "alerts test";
	a.severity = severity_of(cli_str(inv, "severity"));
	return ops_alerts_test(run, mask, &a, report, err);
}

static ops_code op_send(struct cli_inv *inv, const ops_run *run, cJSON **report, ops_error *err)
{
	ops_alert a = {0};
	unsigned mask;
	ops_code rc;

	if ((rc = ops_alerts_parse_channels(cli_list(inv, "channels"), &mask, err)) != OPS_OK)
		return rc;
	if (!cli_str(inv, "message") || !*cli_str(inv, "message"))
		return ops_error_set(err, OPS_EUSAGE, "alerts send needs -m/--message: the "
				     "alert's one line");
	a.name = cli_str(inv, "name");
	a.summary = cli_str(inv, "message");
	a.detail = cli_str(inv, "detail");
	a.command = cli_str(inv, "about");
	a.severity = severity_of(cli_str(inv, "severity"));
	a.resolved = cli_flag(inv, "resolved");
	a.dedup_key = cli_str(inv, "dedup-key");
	return ops_alerts_send(run, mask, &a, report, err);
}

#define CHANNELS "email,slack,pagerduty,alertmanager,all"

static const struct cli_opt test_opts[] = {
	CLI_OPT_ENUMLIST('c', "channels", "CHANNELS", CHANNELS,
			 "channels to test; all is every configured one", .def = "all"),
	CLI_OPT_STRING('m', "message", "MESSAGE", "custom test message"),
	CLI_OPT_ENUM('s', "severity", "LEVEL", "critical,warning,info",
		     "alert severity of the test", .def = "info"),
	CLI_OPT_VERBOSE('v'),
	CLI_OPT_END
};

static const struct cli_opt send_opts[] = {
	CLI_OPT_ENUMLIST('c', "channels", "CHANNELS", CHANNELS,
			 "channels to notify; all is every configured one", .def = "all"),
	CLI_OPT_STRING('m', "message", "MESSAGE", "the alert's one line (required)"),
	CLI_OPT_ENUM('s', "severity", "LEVEL", "critical,warning,info", "alert severity",
		     .def = "warning"),
	CLI_OPT_STRING(0, "detail", "TEXT", "more lines for the body (the error's detail)"),
	CLI_OPT_STRING(0, "name", "NAME",
		       "stable name of the problem: Alertmanager's alertname and the base of "
		       "the dedup key", .def = "OpsctlAlert"),
	CLI_OPT_STRING(0, "about", "COMMAND",
		       "the command the alert is about, as the message names it (backup)"),
	CLI_OPT_STRING(0, "dedup-key", "KEY",
		       "the key that makes a later --resolved close this alert (default "
		       "opsctl-NAME-HOST-ENVIRONMENT)"),
	CLI_OPT_FLAG(0, "resolved", "send the recovery notice of the problem NAME names"),
	CLI_OPT_VERBOSE('v'),
	CLI_OPT_END
};

const char cli_alerts_description[] =
	"Sends alerts through the configured channels and proves that they arrive "
	"(test-alerts.sh, guide 000 sections 6.3 and 8.4: verify the notification channels on "
	"the first Monday of the month).\n\n"
	"Channels: email over SMTP (STARTTLS required, or smtps://; AUTH when alerts.smtp_user "
	"is set), a Slack incoming webhook, PagerDuty's Events API v2 and Prometheus "
	"Alertmanager's API v2. A channel is configured when its key is set (see "
	"opsctl.conf(5), section [alerts]); all means every configured one. Secrets (the SMTP "
	"password, the webhook URL, the routing key) come from the environment (SMTP_PASSWORD, "
	"SLACK_WEBHOOK_URL, PAGERDUTY_ROUTING_KEY) or from files of mode 0600, and never appear "
	"in output, logs or the journal. TLS is always verified.\n\n"
	"Delivered means proven, not sent: the SMTP server's 250 after the message, Slack's 200 "
	"with the body ok, PagerDuty's 202 with status success, Alertmanager's 200 (and, for a "
	"test, the alert read back from its API). Exit status 0 when every channel asked for "
	"delivered, 1 when any failed (each channel's line names why), 78 when none is "
	"configured or the configuration of one cannot be used (a URL that is not http(s), "
	"alerts.ca_file unreadable: the error names the key, and the value unless it is a "
	"credential).";

const struct cli_cmd cli_alerts_subs[] = {
	{.name = "test",
	 .summary = "send a test alert to each channel and prove it arrived (test-alerts.sh)",
	 .opts = test_opts,
	 .op = op_test,
	 .flags = CLI_RECORD,
	 .description =
	 "Sends one alert tagged as a test ([TEST] in subjects and text, the label test=\"true\") "
	 "to each configured channel of -c, and proves its delivery: PagerDuty's trigger is "
	 "followed by a resolve with the same dedup key, so nobody is paged for a test; "
	 "Alertmanager's alert is read back from GET /api/v2/alerts and then resolved with "
	 "endsAt (resolved even when the read-back fails, so that a test never stays firing). Each channel's outcome is reported: delivered, or failed with the reason "
	 "(the server's reply code, a certificate that does not verify, a timeout).",
	 .examples = "The monthly check of every configured channel\nopsctl alerts test\n"
		     "Email and Slack only, with a message of your own\n"
		     "opsctl alerts test -c email,slack -m \"Quarterly escalation review\""},
	{.name = "send",
	 .summary = "send an alert (for scripts and failed runs) or its recovery",
	 .opts = send_opts,
	 .op = op_send,
	 .flags = CLI_RECORD,
	 .description =
	 "Sends one alert to the configured channels of -c: the path `opsctl health -n` and "
	 "failed scheduled runs use, open to a cron wrapper or a CI step. The message carries "
	 "the host, the environment, the command it is about and the line given with -m. "
	 "--resolved sends the recovery of the problem that --name (or --dedup-key) names: "
	 "PagerDuty resolves the incident, Alertmanager ends the alert.",
	 .examples = "A failed nightly job, from its wrapper\n"
		     "opsctl alerts send -s critical --about backup -m \"backup failed: disk full\"\n"
		     "And its recovery\nopsctl alerts send --resolved --about backup -m \"backup ok\""},
	{0}
};
