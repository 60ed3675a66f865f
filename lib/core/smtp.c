/* Placeholder: refuses to run until the module is built. */
#include <string.h>
#include "opsmaint/smtp.h"

ops_code ops_smtp_send(const ops_smtp_opts *o, const char *subject, const char *body,
		       ops_smtp_result *res, ops_error *err)
{
	(void)o;
	(void)subject;
	(void)body;
	memset(res, 0, sizeof *res);
	return ops_error_set(err, OPS_EFAIL, "SMTP: not built yet");
}
