/*
 * The S3 store: being written (issue 3).  Until it lands, -s/--s3 says so.
 */
#include "opsmaint/store.h"

ops_code ops_store_open_s3(const struct ops_config *cfg, ops_store **out, ops_error *err)
{
	(void)cfg;
	*out = NULL;
	return ops_error_set(err, OPS_ECONFIG, "the S3 store is not available in this build yet");
}

ops_code ops_store_s3_versioning(ops_store *store, int *enabled, ops_error *err)
{
	(void)store;
	*enabled = 0;
	return ops_error_set(err, OPS_EUSAGE, "not an S3 store");
}
