/* Placeholder: refuses to run until the module is built. */
#include "health_internal.h"

ops_code health_db(const health_ctx *ctx, health_result *r, ops_error *err)
{
	(void)ctx;
	(void)r;
	return ops_error_set(err, OPS_EFAIL, "db: not built yet");
}

ops_code health_vector(const health_ctx *ctx, health_result *r, ops_error *err)
{
	(void)ctx;
	(void)r;
	return ops_error_set(err, OPS_EFAIL, "vector: not built yet");
}

ops_code health_backups(const health_ctx *ctx, health_result *r, ops_error *err)
{
	(void)ctx;
	(void)r;
	return ops_error_set(err, OPS_EFAIL, "backups: not built yet");
}

