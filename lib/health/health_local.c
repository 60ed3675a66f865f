/* Placeholder: refuses to run until the module is built. */
#include "health_internal.h"

ops_code health_redis(const health_ctx *ctx, health_result *r, ops_error *err)
{
	(void)ctx;
	(void)r;
	return ops_error_set(err, OPS_EFAIL, "redis: not built yet");
}

ops_code health_disk(const health_ctx *ctx, health_result *r, ops_error *err)
{
	(void)ctx;
	(void)r;
	return ops_error_set(err, OPS_EFAIL, "disk: not built yet");
}

ops_code health_logs(const health_ctx *ctx, health_result *r, ops_error *err)
{
	(void)ctx;
	(void)r;
	return ops_error_set(err, OPS_EFAIL, "logs: not built yet");
}

