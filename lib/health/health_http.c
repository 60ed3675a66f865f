/* Placeholder: refuses to run until the module is built. */
#include "health_internal.h"

ops_code health_api(const health_ctx *ctx, health_result *r, ops_error *err)
{
	(void)ctx;
	(void)r;
	return ops_error_set(err, OPS_EFAIL, "api: not built yet");
}

ops_code health_llm(const health_ctx *ctx, health_result *r, ops_error *err)
{
	(void)ctx;
	(void)r;
	return ops_error_set(err, OPS_EFAIL, "llm: not built yet");
}

