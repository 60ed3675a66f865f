/*
 * Secrets from a private file or the environment (secret.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "opsmaint/secret.h"

#define SECRET_MAX 65536

static void wipe_free(char *p, size_t len)
{
	if (p) {
		OPENSSL_cleanse(p, len);
		free(p);
	}
}

void ops_secret_free(char *secret)
{
	if (secret)
		wipe_free(secret, strlen(secret));
}

ops_code ops_read_private_file(const char *path, const char *what, size_t max, char **text,
			   size_t *len, struct stat *st, ops_error *err)
{
	size_t got = 0;
	ssize_t n;
	char *buf;
	int fd;

	*text = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;

		if (e == ELOOP) {
			/* A secrets file behind a link could be swapped for another file. */
			ops_error_set(err, OPS_EPERM, "%s '%s' is a symbolic link", what, path);
			ops_error_hint(err, "Name the file itself, not a link to it.");
			return OPS_EPERM;
		}
		if (e == ENOENT || e == ENOTDIR)
			return ops_error_set(err, OPS_ECONFIG, "%s '%s' does not exist", what, path);
		return ops_error_errno(err, e, "cannot open", path);
	}
	if (fstat(fd, st) < 0) {
		int e = errno;

		close(fd);
		return ops_error_errno(err, e, "cannot stat", path);
	}
	if (!S_ISREG(st->st_mode)) {
		close(fd);
		return ops_error_set(err, OPS_ECONFIG, "%s '%s' is not a regular file", what, path);
	}
	if (st->st_mode & 077) {
		close(fd);
		ops_error_set(err, OPS_EPERM, "%s '%s' is mode %04o; must be 0600 (or 0400)", what,
			      path, (unsigned)(st->st_mode & 07777));
		ops_error_hint(err, "chmod 600 %s", path);
		return OPS_EPERM;
	}
	if ((unsigned long long)st->st_size > max) {
		close(fd);
		return ops_error_set(err, OPS_EDATA, "%s '%s' is larger than %zu bytes", what, path,
				     max);
	}
	/* Sized once from stat and never grown: realloc would leave copies of
	 * the secrets behind in freed memory. */
	buf = malloc((size_t)st->st_size + 2);
	if (!buf) {
		close(fd);
		return ops_error_oom(err);
	}
	for (;;) {
		n = read(fd, buf + got, (size_t)st->st_size + 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
		if (got > (size_t)st->st_size)
			break;
	}
	if (n < 0) {
		int e = errno;

		close(fd);
		wipe_free(buf, got);
		return ops_error_errno(err, e, "cannot read", path);
	}
	close(fd);
	if (got > (size_t)st->st_size) {
		wipe_free(buf, got);
		return ops_error_set(err, OPS_EDATA, "%s '%s' grew while it was read", what, path);
	}
	buf[got] = '\0';
	*text = buf;
	*len = got;
	return OPS_OK;
}

/* A header value or a URL cannot hold a line break or another control byte. */
static int one_clean_line(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return len > 0;
}

ops_code ops_secret_load(const char *env_name, const char *file, const char *file_key,
			 const char *what, char **out, ops_error *err)
{
	const char *env = env_name ? getenv(env_name) : NULL;
	struct stat st;
	size_t len;
	char *text;
	ops_code rc;

	*out = NULL;
	if (env && *env) {
		if (!one_clean_line(env, strlen(env)))
			return ops_error_set(err, OPS_ECONFIG,
					     "%s in %s holds a line break or another control character",
					     what, env_name);
		*out = strdup(env);
		return *out ? OPS_OK : ops_error_oom(err);
	}
	if (!file || !*file) {
		if (env_name)
			ops_error_set(err, OPS_ECONFIG, "no %s: %s is unset and %s is not set", what,
				      env_name, file_key ? file_key : "no file is named");
		else
			ops_error_set(err, OPS_ECONFIG, "no %s: %s is not set", what,
				      file_key ? file_key : "no file is named");
		ops_error_hint(err, "Put it in a file of mode 0600 and name the file in %s.",
			       file_key ? file_key : "the configuration");
		return OPS_ECONFIG;
	}
	rc = ops_read_private_file(file, what, SECRET_MAX, &text, &len, &st, err);
	if (rc != OPS_OK)
		return rc;
	while (len && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' ' ||
		       text[len - 1] == '\t'))
		text[--len] = '\0';
	if (!one_clean_line(text, len)) {
		wipe_free(text, len);
		return ops_error_set(err, OPS_ECONFIG, "%s file '%s' %s", what, file,
				     len ? "holds more than one line" : "is empty");
	}
	*out = text;
	return OPS_OK;
}
