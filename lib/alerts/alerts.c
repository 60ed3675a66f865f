/* Placeholder: refuses to run until the module is built. */
#include "alerts_internal.h"

ops_code ops_alerts_parse_channels(char *const *names, unsigned *mask, ops_error *err)
{
	(void)names;
	*mask = 0;
	return ops_error_set(err, OPS_EFAIL, "alerts: not built yet");
}

unsigned ops_alerts_configured(const ops_config *cfg, unsigned mask)
{
	(void)cfg;
	(void)mask;
	return 0;
}

const char *ops_alerts_channel_name(unsigned channel)
{
	(void)channel;
	return "?";
}

ops_code ops_alerts_send(const ops_run *run, unsigned mask, const ops_alert *a,
			 cJSON **report, ops_error *err)
{
	(void)run;
	(void)mask;
	(void)a;
	*report = NULL;
	return ops_error_set(err, OPS_EFAIL, "alerts: not built yet");
}

ops_code ops_alerts_test(const ops_run *run, unsigned mask, const ops_alert *a,
			 cJSON **report, ops_error *err)
{
	return ops_alerts_send(run, mask, a, report, err);
}
