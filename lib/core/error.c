/*
 * Error values and the one table that maps them to exit statuses.  The table
 * is also what `opsctl __gen man` prints as EXIT STATUS, so the documented
 * codes and the real ones cannot drift apart.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "opsmaint/error.h"

static const struct {
	int exit_status;
	const char *name;
	const char *description;
} code_table[OPS_CODE_COUNT] = {
	[OPS_OK] = {0, "ok", "Success: the operation completed and found nothing at or above the threshold."},
	[OPS_EFAIL] = {1, "failed", "The operation failed, or found problems at or above the threshold."},
	[OPS_EUSAGE] = {64, "usage", "The command line was wrong: an unknown command or option, or a bad option value."},
	[OPS_EDATA] = {65, "data", "Input data was bad: a corrupt file, a failed integrity check, a changed migration."},
	[OPS_EUNAVAIL] = {69, "unavailable", "A service (PostgreSQL, Redis, S3, ...) could not be reached."},
	[OPS_EINTERNAL] = {70, "internal", "An internal error, such as running out of memory."},
	[OPS_EIO] = {74, "io", "Reading or writing a local file failed, for example a full disk or a closed standard output."},
	[OPS_ELOCKED] = {75, "locked", "Another run of the same task holds its lock; try again later."},
	[OPS_EPERM] = {77, "permission", "Permission was denied, by the operating system or by the server."},
	[OPS_ECONFIG] = {78, "config", "The configuration is wrong: an unknown key, a bad value, or a required setting missing."},
	[OPS_EDECLINED] = {1, "declined", "A confirmation question was answered no: nothing was changed, and the run is not recorded as a failure."},
	[OPS_EINTR] = {130, "interrupted", "Interrupted by SIGINT (130) or SIGTERM (143, 128 plus the signal's number): the work in progress was undone, temporary files removed and the run journalled as interrupted."},
};

void ops_error_clear(ops_error *err)
{
	if (!err)
		return;
	err->code = OPS_OK;
	err->message[0] = err->detail[0] = err->hint[0] = '\0';
}

ops_code ops_error_set(ops_error *err, ops_code code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return code;
	ops_error_clear(err);
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof err->message, fmt, ap);
	va_end(ap);
	return code;
}

void ops_error_detail(ops_error *err, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	vsnprintf(err->detail, sizeof err->detail, fmt, ap);
	va_end(ap);
}

void ops_error_hint(ops_error *err, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	vsnprintf(err->hint, sizeof err->hint, fmt, ap);
	va_end(ap);
}

void ops_error_prefix(ops_error *err, const char *fmt, ...)
{
	char prefix[OPS_ERROR_MSG_MAX], joined[OPS_ERROR_MSG_MAX];
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof prefix, fmt, ap);
	va_end(ap);
	/* Truncation is acceptable here: the message stays a readable prefix. */
	if (snprintf(joined, sizeof joined, "%s: %s", prefix, err->message) < 0)
		return;
	memcpy(err->message, joined, sizeof err->message);
}

ops_code ops_error_oom(ops_error *err)
{
	return ops_error_set(err, OPS_EINTERNAL, "out of memory");
}

ops_code ops_error_errno(ops_error *err, int errnum, const char *what,
			 const char *path)
{
	ops_code code;

	switch (errnum) {
	case EACCES:
	case EPERM:
	case EROFS:
		code = OPS_EPERM;
		break;
	case ENOMEM:
		code = OPS_EINTERNAL;
		break;
	default:
		code = OPS_EIO;
		break;
	}
	if (path)
		return ops_error_set(err, code, "%s '%s': %s", what, path,
				     strerror(errnum));
	return ops_error_set(err, code, "%s: %s", what, strerror(errnum));
}

int ops_code_exit_status(ops_code code)
{
	if ((int)code < 0 || code >= OPS_CODE_COUNT)
		return 70;
	return code_table[code].exit_status;
}

const char *ops_code_name(ops_code code)
{
	if ((int)code < 0 || code >= OPS_CODE_COUNT)
		return "internal";
	return code_table[code].name;
}

const char *ops_code_description(ops_code code)
{
	if ((int)code < 0 || code >= OPS_CODE_COUNT)
		return code_table[OPS_EINTERNAL].description;
	return code_table[code].description;
}
