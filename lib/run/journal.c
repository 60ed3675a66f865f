/*
 * The run journal (STATE_DIR/journal.jsonl) and the argument redaction that
 * guards it.  A line is built whole in memory and appended with one write(2)
 * on an O_APPEND descriptor, which the kernel applies atomically to a local
 * file, so concurrent runs never interleave; a short write is reported
 * rather than completed with a second write that could land after someone
 * else's line.  It never rotates or trims the journal (logrotate does, see
 * contrib/); `opsctl status` reads it back, one line at a time.
 *
 * Redaction errs on the side of masking: a value that merely looks like a
 * secret (any option or key whose name mentions password, secret, token, an
 * API key) is replaced by "***".  Losing an innocent value from the journal
 * costs little; a leaked password costs a rotation.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "opsmaint/fileio.h"
#include "opsmaint/journal.h"
#include "opsmaint/json.h"

static const char *const secret_words[] = {
	"password", "passwd", "secret", "token", "api-key", "api_key", "apikey",
	NULL
};

static int name_is_secret(const char *name, size_t n)
{
	const char *const *w;
	size_t wl, i;

	while (n > 0 && *name == '-') {
		name++;
		n--;
	}
	if (n == 0)
		return 0;
	for (w = secret_words; *w; w++) {
		wl = strlen(*w);
		for (i = 0; i + wl <= n; i++)
			if (strncasecmp(name + i, *w, wl) == 0)
				return 1;
	}
	/* --key, --private-key, AWS_ACCESS_KEY and the like. */
	if (n == 3 && strncasecmp(name, "key", 3) == 0)
		return 1;
	if (n > 4 && (name[n - 4] == '-' || name[n - 4] == '_') &&
	    strncasecmp(name + n - 3, "key", 3) == 0)
		return 1;
	return 0;
}

/* An option such as "--password" or "-token" that takes the next argument. */
static int option_takes_secret(const char *opt)
{
	const char *name;

	if (!opt || opt[0] != '-' || strchr(opt, '='))
		return 0;
	name = opt + (opt[1] == '-' ? 2 : 1);
	/* --no-password and friends are switches, not value options. */
	if (strncasecmp(name, "no-", 3) == 0 || strncasecmp(name, "no_", 3) == 0)
		return 0;
	return name_is_secret(name, strlen(name));
}

static int is_key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	       c == '\v';
}

/* scheme://user:password@host: mask the password part of each URI. */
static void mask_uri_userinfo(const char *arg, char *mask)
{
	const char *p = arg, *a, *end, *at, *colon, *q;

	while ((p = strstr(p, "://")) != NULL) {
		a = p + 3;
		for (end = a; *end && !strchr("/?#", *end) && !is_space(*end); end++)
			;
		at = NULL;
		for (q = a; q < end; q++)
			if (*q == '@')
				at = q;
		if (at) {
			colon = memchr(a, ':', (size_t)(at - a));
			if (colon)
				memset(mask + (colon + 1 - arg), 1,
				       (size_t)(at - colon - 1));
		}
		p = end;
	}
}

/* key=value pairs (conninfo, URI query, environment style) with a secret key. */
static void mask_key_values(const char *arg, size_t len, char *mask)
{
	size_t i, k, ks, v, e;
	char quote;

	for (i = 1; i < len; i++) {
		if (arg[i] != '=')
			continue;
		k = i;
		while (k > 0 && is_space(arg[k - 1]))
			k--;	/* conninfo allows "password = x" */
		ks = k;
		while (ks > 0 && is_key_char(arg[ks - 1]))
			ks--;
		if (ks == k || !name_is_secret(arg + ks, k - ks))
			continue;
		v = i + 1;
		while (v < len && is_space(arg[v]))
			v++;
		if (v < len && (arg[v] == '\'' || arg[v] == '"')) {
			quote = arg[v++];
			for (e = v; e < len && arg[e] != quote; e++)
				if (arg[e] == '\\' && e + 1 < len)
					e++;
		} else if (ks > 0 && (arg[ks - 1] == '?' || arg[ks - 1] == '&')) {
			for (e = v; e < len && arg[e] != '&' && arg[e] != '#' &&
				    !is_space(arg[e]); e++)
				;
		} else {
			for (e = v; e < len && !is_space(arg[e]); e++)
				;
		}
		memset(mask + v, 1, e - v);
		i = e > i ? e - 1 : i;
	}
}

char *ops_redact_arg(const char *prev, const char *arg)
{
	const char *eq;
	char *mask = NULL, *out = NULL, *o;
	size_t len, i;

	if (!arg)
		return NULL;
	if (option_takes_secret(prev))
		return strdup("***");
	len = strlen(arg);
	mask = calloc(len + 1, 1);
	if (!mask)
		return NULL;
	eq = strchr(arg, '=');
	if (arg[0] == '-' && eq && name_is_secret(arg, (size_t)(eq - arg))) {
		/* The whole rest is the value, spaces included: it is one argv. */
		memset(mask + (eq + 1 - arg), 1, len - (size_t)(eq + 1 - arg));
	} else {
		mask_uri_userinfo(arg, mask);
		mask_key_values(arg, len, mask);
	}
	/* Each masked run becomes "***", which is never longer than 3x. */
	out = malloc(len * 3 + 1);
	if (!out)
		goto out;
	for (i = 0, o = out; i < len; i++) {
		if (!mask[i]) {
			*o++ = arg[i];
		} else if (i == 0 || !mask[i - 1]) {
			memcpy(o, "***", 3);
			o += 3;
		}
	}
	*o = '\0';
out:
	free(mask);
	return out;
}

static void rfc3339_utc(const struct timespec *ts, char *buf, size_t size)
{
	struct tm tm;
	time_t t = ts->tv_sec;
	unsigned int ms = (unsigned int)((ts->tv_nsec / 1000000) % 1000);
	size_t n;

	if (!gmtime_r(&t, &tm) ||
	    (n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm)) == 0) {
		snprintf(buf, size, "1970-01-01T00:00:00.000Z");
		return;
	}
	snprintf(buf + n, size - n, ".%03uZ", ms);
}

/* Build the line's object; NULL on OOM. */
static cJSON *run_to_json(const ops_journal_entry *run)
{
	cJSON *o = NULL, *args, *figures, *item;
	char timebuf[64], host[HOST_NAME_MAX + 1], *red;
	double ms;
	int i;

	o = cJSON_CreateObject();
	if (!o)
		return NULL;
	rfc3339_utc(&run->start, timebuf, sizeof timebuf);
	if (gethostname(host, sizeof host) < 0)
		snprintf(host, sizeof host, "unknown");
	host[sizeof host - 1] = '\0';
	if (!cJSON_AddStringToObject(o, "time", timebuf) ||
	    !cJSON_AddStringToObject(o, "command", run->command ? run->command : ""))
		goto fail;
	if (run->target && *run->target && !cJSON_AddStringToObject(o, "target", run->target))
		goto fail;
	args = cJSON_AddArrayToObject(o, "args");
	if (!args)
		goto fail;
	for (i = 0; i < run->argc && run->argv && run->argv[i]; i++) {
		red = ops_redact_arg(i > 0 ? run->argv[i - 1] : NULL, run->argv[i]);
		if (!red)
			goto fail;
		item = cJSON_CreateString(red);
		free(red);
		if (!item || !cJSON_AddItemToArray(args, item)) {
			cJSON_Delete(item);
			goto fail;
		}
	}
	if (!(run->environment ? cJSON_AddStringToObject(o, "environment", run->environment)
			       : cJSON_AddNullToObject(o, "environment")) ||
	    !cJSON_AddStringToObject(o, "host", host) ||
	    !cJSON_AddNumberToObject(o, "pid", (double)getpid()))
		goto fail;
	/* Milliseconds are plenty and keep the line short. */
	ms = (double)(long long)(run->duration * 1000.0 + 0.5);
	if (!cJSON_AddNumberToObject(o, "duration_seconds", ms / 1000.0) ||
	    !cJSON_AddStringToObject(o, "status", run->status == OPS_OK ? "ok" :
						  run->outcome ? run->outcome :
						  run->status == OPS_EINTR ? "interrupted" : "failed") ||
	    !cJSON_AddNumberToObject(o, "exit", run->exit_status))
		goto fail;
	if (run->status != OPS_OK) {
		/* Errors are meant to be secret-free; redact anyway, it is cheap. */
		red = ops_redact_arg(NULL, run->error ? run->error : ops_code_name(run->status));
		if (!red)
			goto fail;
		item = cJSON_AddStringToObject(o, "error", red);
		free(red);
		if (!item)
			goto fail;
	}
	figures = run->figures ? cJSON_Duplicate(run->figures, 1) : cJSON_CreateObject();
	if (!figures || !cJSON_AddItemToObject(o, "figures", figures)) {
		cJSON_Delete(figures);
		goto fail;
	}
	return o;
fail:
	cJSON_Delete(o);
	return NULL;
}

ops_code ops_journal_append(const char *path, const ops_journal_entry *run, ops_error *err)
{
	cJSON *o = NULL;
	char *text = NULL, *line = NULL, *dir = NULL;
	size_t len;
	ssize_t n;
	ops_code rc = OPS_OK;
	int fd = -1;

	o = run_to_json(run);
	/* A target or message with raw non-UTF-8 bytes would make the line
	 * unreadable to jq and to the next `opsctl` that parses the journal. */
	text = o && ops_json_utf8(o) == 0 ? cJSON_PrintUnformatted(o) : NULL;
	dir = ops_path_dir(path);
	if (!text || !dir) {
		rc = ops_error_oom(err);
		goto out;
	}
	len = strlen(text);
	line = malloc(len + 2);
	if (!line) {
		rc = ops_error_oom(err);
		goto out;
	}
	memcpy(line, text, len);
	line[len++] = '\n';
	line[len] = '\0';

	rc = ops_mkdir_p(dir, 0755, err);
	if (rc != OPS_OK)
		goto out;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0) {
		rc = ops_error_errno(err, errno, "cannot open journal", path);
		goto out;
	}
	do
		n = write(fd, line, len);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		rc = ops_error_errno(err, errno, "cannot append to journal", path);
		goto out;
	}
	if ((size_t)n != len) {
		rc = ops_error_set(err, OPS_EIO,
				   "cannot append to journal '%s': short write (%zd of %zu bytes)",
				   path, n, len);
		ops_error_hint(err, "check free space; the journal may now end in a partial line");
		goto out;
	}
	if (fsync(fd) < 0) {
		rc = ops_error_errno(err, errno, "cannot sync journal", path);
		goto out;
	}
	if (close(fd) < 0) {
		fd = -1;
		rc = ops_error_errno(err, errno, "cannot close journal", path);
		goto out;
	}
	fd = -1;
	/* Makes a newly created journal's directory entry durable too. */
	rc = ops_fsync_dir(dir, err);
out:
	if (fd >= 0)
		close(fd);
	free(line);
	free(text);
	free(dir);
	cJSON_Delete(o);
	return rc;
}

/* ---- reading it back ---- */

static char *dup_member(const cJSON *o, const char *name)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(m) ? strdup(m->valuestring) : NULL;
}

static void last_clear(ops_journal_last *l)
{
	free(l->command);
	free(l->target);
	free(l->time);
	free(l->status);
	free(l->error);
	free(l->last_success);
	memset(l, 0, sizeof *l);
}

void ops_journal_last_free(ops_journal_last *v, size_t n)
{
	size_t i;

	for (i = 0; v && i < n; i++)
		last_clear(&v[i]);
	free(v);
}

/* Keep line o as pair l's last run (lines are in time order: appended). */
static int last_update(ops_journal_last *l, const cJSON *o)
{
	const cJSON *exit_m = cJSON_GetObjectItemCaseSensitive(o, "exit");
	const cJSON *dur = cJSON_GetObjectItemCaseSensitive(o, "duration_seconds");
	char *time = dup_member(o, "time"), *status = dup_member(o, "status");
	char *error = dup_member(o, "error");

	if (!time || !status) {
		free(time);
		free(status);
		free(error);
		return -1;
	}
	if (strcmp(status, "ok") == 0 || strcmp(status, "warning") == 0 ||
	    strcmp(status, "critical") == 0) {
		free(l->last_success);
		if (!(l->last_success = strdup(time))) {
			free(time);
			free(status);
			free(error);
			return -1;
		}
	}
	free(l->time);
	free(l->status);
	free(l->error);
	l->time = time;
	l->status = status;
	if (strcmp(status, "ok") == 0) {
		free(error);
		error = NULL;
	}
	l->error = error;
	l->exit_status = cJSON_IsNumber(exit_m) ? exit_m->valueint : 0;
	l->duration = cJSON_IsNumber(dur) ? dur->valuedouble : 0;
	l->runs++;
	return 0;
}

ops_code ops_journal_each(const char *path, ops_journal_fn fn, void *arg, size_t *skipped,
			  ops_error *err)
{
	char *line = NULL;
	size_t linecap = 0, bad = 0;
	ssize_t len;
	ops_code rc = OPS_OK;
	FILE *fp;
	int e;

	if (skipped)
		*skipped = 0;
	fp = fopen(path, "re");
	if (!fp) {
		e = errno;
		if (e == ENOENT)
			return OPS_OK;
		return ops_error_errno(err, e, "cannot read the journal", path);
	}
	errno = 0;
	while ((len = getline(&line, &linecap, fp)) != -1) {
		cJSON *o = cJSON_ParseWithLength(line, (size_t)len);

		if (!cJSON_IsObject(o) ||
		    !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "command")) ||
		    !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "time")) ||
		    !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "status"))) {
			bad++;
			cJSON_Delete(o);
			continue;
		}
		rc = fn(arg, o, err);
		cJSON_Delete(o);
		if (rc != OPS_OK)
			goto out;
	}
	if (ferror(fp))
		rc = ops_error_errno(err, errno ? errno : EIO, "cannot read the journal", path);
out:
	free(line);
	fclose(fp);
	if (skipped)
		*skipped = bad;
	return rc;
}

struct last_runs {
	ops_journal_last *v;
	size_t n, cap;
};

static ops_code last_line(void *arg, const cJSON *o, ops_error *err)
{
	struct last_runs *lr = arg;
	const cJSON *tgt = cJSON_GetObjectItemCaseSensitive(o, "target");
	const char *cmd = cJSON_GetObjectItemCaseSensitive(o, "command")->valuestring;
	const char *target = cJSON_IsString(tgt) ? tgt->valuestring : "";
	size_t i;

	for (i = 0; i < lr->n; i++)
		if (strcmp(lr->v[i].command, cmd) == 0 && strcmp(lr->v[i].target, target) == 0)
			break;
	if (i == lr->n) {
		if (lr->n == lr->cap) {
			size_t ncap = lr->cap ? lr->cap * 2 : 16;
			ops_journal_last *nv = realloc(lr->v, ncap * sizeof *nv);

			if (!nv)
				return ops_error_oom(err);
			lr->v = nv;
			lr->cap = ncap;
		}
		memset(&lr->v[i], 0, sizeof lr->v[i]);
		lr->n++;
		lr->v[i].command = strdup(cmd);
		lr->v[i].target = strdup(target);
		if (!lr->v[i].command || !lr->v[i].target)
			return ops_error_oom(err);
	}
	return last_update(&lr->v[i], o) == 0 ? OPS_OK : ops_error_oom(err);
}

ops_code ops_journal_last_runs(const char *path, ops_journal_last **out, size_t *n,
			       size_t *skipped, ops_error *err)
{
	struct last_runs lr = {0};
	ops_code rc;

	*out = NULL;
	*n = 0;
	rc = ops_journal_each(path, last_line, &lr, skipped, err);
	if (rc != OPS_OK) {
		ops_journal_last_free(lr.v, lr.n);
		return rc;
	}
	*out = lr.v;
	*n = lr.n;
	return OPS_OK;
}
