/* Placeholder: refuses to run until the module is built. */
#include "alerts_internal.h"

static int configured(const ops_config *cfg)
{
	(void)cfg;
	return 0;
}

static ops_code send(const ops_run *run, const alerts_msg *m, int test, cJSON *out, ops_error *err)
{
	(void)run;
	(void)m;
	(void)test;
	(void)out;
	return ops_error_set(err, OPS_EFAIL, "email: not built yet");
}

const alerts_channel alerts_email = {
	.bit = 0, .name = "email", .configured = configured, .send = send
};
