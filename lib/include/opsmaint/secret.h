/*
 * Secrets read from where an operator keeps them: a file only its owner can
 * read (mode 0600, not behind a symbolic link), or an environment variable
 * the service manager sets.  Never argv, never opsctl.conf itself: a
 * configuration file is read by more people than the secrets it points at.
 * What these return is wiped before it is freed (ops_secret_free).
 */
#ifndef OPSMAINT_SECRET_H
#define OPSMAINT_SECRET_H
#include "opsmaint/api.h"
OPS_API_BEGIN

#include <stddef.h>
#include <sys/stat.h>
#include "opsmaint/error.h"

/*
 * Read a secrets file (an env file, a token file): opened without following
 * a symbolic link (a link is OPS_EPERM), a regular file (missing or not one:
 * OPS_ECONFIG), no group or other permission bits (OPS_EPERM naming the
 * mode), at most max bytes (OPS_EDATA).  what names it in messages ("env
 * file").  *text is NUL-terminated, *len bytes: wipe it before freeing
 * (ops_secret_free); *st is what fstat saw.
 */
ops_code ops_read_private_file(const char *path, const char *what, size_t max, char **text,
			       size_t *len, struct stat *st, ops_error *err);

/*
 * One secret value (a token, a webhook URL, a password): the environment
 * variable env_name when it is set and not empty, else the first and only
 * line of file (read as ops_read_private_file, at most 64 KiB), trailing
 * blanks and line ending removed.  what names it in messages ("Slack
 * webhook URL"); file_key is the configuration key that names file, for the
 * message when neither is set: OPS_ECONFIG "no WHAT: ENV is unset and KEY is
 * not set".  env_name or file may be NULL.  An empty value, a second line or
 * a control byte is OPS_ECONFIG naming the file or the variable, never the
 * value.
 */
ops_code ops_secret_load(const char *env_name, const char *file, const char *file_key,
			 const char *what, char **out, ops_error *err);

/* Wipe and free a secret (NUL-terminated); NULL is accepted. */
void ops_secret_free(char *secret);

OPS_API_END
#endif
