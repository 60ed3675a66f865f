/*
 * Errors as values.  Every libopsmaint function that can fail returns an
 * ops_code and fills a caller-owned ops_error; the library never prints and
 * never exits.  Only the front end maps an ops_code to an exit status, through
 * ops_code_exit_status(), which is also the table the man pages' EXIT STATUS
 * section is generated from.
 */
#ifndef OPSMAINT_ERROR_H
#define OPSMAINT_ERROR_H
#include "opsmaint/api.h"
OPS_API_BEGIN

#include <stddef.h>

typedef enum ops_code {
	OPS_OK = 0,
	OPS_EFAIL,	/* the operation failed or found problems: exit 1 */
	OPS_EUSAGE,	/* bad command line: exit 64 */
	OPS_EDATA,	/* bad input data, a corrupt file: exit 65 */
	OPS_EUNAVAIL,	/* a service is unreachable: exit 69 */
	OPS_EINTERNAL,	/* a bug or an out-of-memory: exit 70 */
	OPS_EIO,	/* reading or writing a local file failed: exit 74 */
	OPS_ELOCKED,	/* another run holds the lock: exit 75 */
	OPS_EPERM,	/* permission denied: exit 77 */
	OPS_ECONFIG,	/* configuration is wrong: exit 78 */
	OPS_EINTR,	/* interrupted by a signal: exit 128 + signal (130, 143) */
	OPS_EDECLINED,	/* a confirmation answered no: exit 1, nothing done or recorded */
	OPS_CODE_COUNT
} ops_code;

#define OPS_ERROR_MSG_MAX 512

typedef struct ops_error {
	ops_code code;
	char message[OPS_ERROR_MSG_MAX];	/* primary: lowercase, no full stop */
	char detail[OPS_ERROR_MSG_MAX];		/* optional further facts */
	char hint[OPS_ERROR_MSG_MAX];		/* optional advice, a sentence */
} ops_error;

/* Reset to OPS_OK with empty strings.  NULL is accepted and ignored. */
void ops_error_clear(ops_error *err);

/*
 * Set code and message (printf format) and clear detail and hint.  Returns
 * code so that callers can write `return ops_error_set(err, ...)`.
 * err may be NULL, in which case only the code is returned.
 */
ops_code ops_error_set(ops_error *err, ops_code code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void ops_error_detail(ops_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void ops_error_hint(ops_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Prefix the existing message with "prefix: " (for context from callers). */
void ops_error_prefix(ops_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Sets OPS_EINTERNAL "out of memory". */
ops_code ops_error_oom(ops_error *err);

/*
 * Map errno from a failed system call on `path` to an ops_code (EACCES/EPERM ->
 * OPS_EPERM, ENOSPC/EIO/... -> OPS_EIO) and set "what 'path': strerror".
 */
ops_code ops_error_errno(ops_error *err, int errnum, const char *what,
			 const char *path);

/* The exit status documented for a code (0, 1, 64, 65, 69, 70, 74, 75, 77, 78). */
int ops_code_exit_status(ops_code code);
/* A short name ("usage", "unavailable", ...) and a sentence for the man page. */
const char *ops_code_name(ops_code code);
const char *ops_code_description(ops_code code);

OPS_API_END
#endif
