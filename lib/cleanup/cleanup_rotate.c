/*
 * `cleanup rotate`: a logrotate configuration generated from the
 * cleanup.rotate_* keys, logrotate run on it with opsctl's own state file,
 * its messages read back into the report, then the reload command.  Why
 * logrotate and not a rotation of our own: see cleanup_rotate.h.
 *
 * Not here: postrotate/prerotate scripts (they run through /bin/sh, which
 * the reload command deliberately avoids), mail, olddir and dateext.
 */
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "opsmaint/cleanup_rotate.h"
#include "opsmaint/config.h"
#include "opsmaint/fileio.h"
#include "opsmaint/proc.h"

#define CONF_NAME "cleanup-rotate.conf"
#define LOG_NAME "cleanup-rotate.log"
#define STATE_NAME "logrotate.status"
/* logrotate's messages for one run; far more than thousands of logs write. */
#define LOG_MAX (64u << 20)

static ops_code bad_key(ops_error *err, const char *key, const char *fmt, const char *what)
{
	char why[256];

	snprintf(why, sizeof why, fmt, what);
	ops_error_set(err, OPS_ECONFIG, "bad value for '%s': %s", key, why);
	return OPS_ECONFIG;
}

/* Each glob goes into the configuration in double quotes; logrotate has no
 * escape for a quote inside them, and a brace or newline would end the block. */
static ops_code check_globs(char **globs, ops_error *err)
{
	size_t i;

	if (!globs || !globs[0]) {
		ops_error_set(err, OPS_ECONFIG, "cleanup.rotate_logs is empty: no logs to rotate");
		ops_error_hint(err, "Set cleanup.rotate_logs to the logs' paths or globs, such as "
			       "/var/log/document-management/*.log.");
		return OPS_ECONFIG;
	}
	for (i = 0; globs[i]; i++) {
		if (globs[i][0] != '/')
			return bad_key(err, "cleanup.rotate_logs", "'%s' is not an absolute path",
				       globs[i]);
		if (strpbrk(globs[i], "\"{}\n\r\\"))
			return bad_key(err, "cleanup.rotate_logs",
				       "'%s' holds a quote, brace, backslash or newline", globs[i]);
	}
	return OPS_OK;
}

/* su USER GROUP: two names, nothing logrotate's parser could read otherwise. */
static ops_code check_su(const char *su, ops_error *err)
{
	size_t a, b, c;

	if (!su)
		return OPS_OK;
	a = strspn(su, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-");
	b = su[a] == ' ' ? strspn(su + a + 1, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "0123456789._-") : 0;
	c = a + 1 + b;
	if (a == 0 || b == 0 || su[c] != '\0')
		return bad_key(err, "cleanup.rotate_su", "'%s' is not USER GROUP", su);
	return OPS_OK;
}

static const char *compress_lines(const char *how)
{
	if (strcmp(how, "zstd") == 0)
		return "    compress\n    compresscmd zstd\n    uncompresscmd unzstd\n"
		       "    compressext .zst\n    compressoptions -q\n";
	if (strcmp(how, "gzip") == 0)
		return "    compress\n    compresscmd gzip\n    uncompresscmd gunzip\n"
		       "    compressext .gz\n    compressoptions -6\n";
	return "    nocompress\n";
}

/* The generated configuration, one block over every glob. */
static char *render_conf(const ops_config *cfg, char **globs)
{
	const char *interval = ops_config_get(cfg, "cleanup.rotate_interval");
	long long size = ops_config_int(cfg, "cleanup.rotate_size");
	long max_age = ops_config_int(cfg, "cleanup.rotate_max_age");
	char *buf = NULL;
	size_t len = 0, i;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	fprintf(f, "# Written by opsctl cleanup rotate from the cleanup.rotate_* keys; "
		"rewritten on every run.\n");
	for (i = 0; globs[i]; i++)
		fprintf(f, "\"%s\"\n", globs[i]);
	fputs("{\n    missingok\n    notifempty\n    nomail\n    noolddir\n    nodateext\n", f);
	if (ops_config_get(cfg, "cleanup.rotate_su"))
		fprintf(f, "    su %s\n", ops_config_get(cfg, "cleanup.rotate_su"));
	if (strcmp(interval, "none") == 0)
		fprintf(f, "    size %lld\n", size);
	else
		fprintf(f, "    %s\n    maxsize %lld\n", interval, size);
	fprintf(f, "    rotate %ld\n", ops_config_int(cfg, "cleanup.rotate_keep"));
	if (max_age > 0)
		fprintf(f, "    maxage %ld\n", (max_age + 86399) / 86400);
	fputs(compress_lines(ops_config_get(cfg, "cleanup.rotate_compress")), f);
	if (strcmp(ops_config_get(cfg, "cleanup.rotate_compress"), "none") != 0 &&
	    ops_config_bool(cfg, "cleanup.rotate_delay_compress"))
		fputs("    delaycompress\n", f);
	/* create without mode and owner: the new file gets the old one's. */
	fprintf(f, "    %s\n}\n",
		strcmp(ops_config_get(cfg, "cleanup.rotate_mode"), "copytruncate") == 0
			? "copytruncate" : "create");
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/*
 * A rotation killed while compressing leaves LOG.P uncompressed (P is 1, or 2
 * with delaycompress: logrotate never leaves that copy uncompressed) beside
 * a partial LOG.P.EXT.  logrotate does not look for it: its next rotation of
 * LOG shifts the partial file along and renames LOG over LOG.P, and that
 * generation is gone.  So before logrotate runs, such a copy is compressed
 * again (over the partial file, the source kept until the compressor has
 * succeeded) and only then removed.
 */
static ops_code finish_one(const char *how, const char *copy, ops_error *err)
{
	char *out = NULL, *zst[] = {"zstd", "-q", "-f", (char *)copy, "-o", NULL, NULL};
	char *gz[] = {"gzip", "-6", "-f", "-k", (char *)copy, NULL};
	ops_proc *p = NULL;
	ops_code rc;

	if (strcmp(how, "zstd") == 0) {
		if (asprintf(&out, "%s.zst", copy) < 0)
			return ops_error_oom(err);
		zst[5] = out;
	}
	rc = ops_proc_start(NULL, out ? zst : gz, NULL, 0, NULL, NULL, &p, err);
	if (rc == OPS_OK)
		rc = ops_proc_wait(p, err);
	free(out);
	if (rc == OPS_OK && unlink(copy) != 0)
		rc = ops_error_errno(err, errno, "cannot remove", copy);
	if (rc != OPS_OK)
		ops_error_prefix(err, "cannot finish the interrupted compression of '%s'", copy);
	return rc;
}

static ops_code finish_interrupted(const ops_run *run, char **globs, cJSON *list,
				   ops_error *err)
{
	const char *how = ops_config_get(run->cfg, "cleanup.rotate_compress");
	int pos = ops_config_bool(run->cfg, "cleanup.rotate_delay_compress") ? 2 : 1;
	size_t i, j;
	ops_code rc = OPS_OK;

	if (strcmp(how, "none") == 0)
		return OPS_OK;
	for (i = 0; globs[i] && rc == OPS_OK; i++) {
		glob_t g;

		if (glob(globs[i], GLOB_NOSORT, NULL, &g) != 0)
			continue;
		for (j = 0; j < g.gl_pathc && rc == OPS_OK; j++) {
			struct stat st;
			char *copy = NULL;

			if (asprintf(&copy, "%s.%d", g.gl_pathv[j], pos) < 0) {
				rc = ops_error_oom(err);
				break;
			}
			if (lstat(copy, &st) == 0 && S_ISREG(st.st_mode)) {
				cJSON_AddItemToArray(list, cJSON_CreateString(copy));
				if (!run->dry_run)
					rc = finish_one(how, copy, err);
			}
			free(copy);
		}
		globfree(&g);
	}
	return rc;
}

/* logrotate's messages (-l FILE) into the report's lists. */
static void parse_messages(char *text, cJSON *rep, cJSON *rotated, cJSON *removed,
			   cJSON *errors, cJSON *lines, long *considered)
{
	char *line, *save = NULL, *current = NULL;

	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		const char *s = line;

		if (lines)
			cJSON_AddItemToArray(lines, cJSON_CreateString(line));
		while (*s == ' ')
			s++;
		if (strncmp(s, "considering log ", 16) == 0) {
			current = line + (s - line) + 16;
			(*considered)++;
		} else if (strncmp(s, "log needs rotating", 18) == 0 && current) {
			cJSON_AddItemToArray(rotated, cJSON_CreateString(current));
		} else if (strncmp(s, "removing old log ", 17) == 0) {
			cJSON_AddItemToArray(removed, cJSON_CreateString(s + 17));
		} else if (strncmp(s, "error: ", 7) == 0) {
			cJSON_AddItemToArray(errors, cJSON_CreateString(s + 7));
		}
	}
	(void)rep;
}

/* The reload command, as an argv: after a rotation that rotated something. */
static ops_code reload(char **argv, cJSON *rep, ops_error *err)
{
	ops_proc *p = NULL;
	ops_code rc;
	cJSON *r = cJSON_AddObjectToObject(rep, "reload");
	cJSON *args = cJSON_AddArrayToObject(r, "command");
	size_t i;

	for (i = 0; argv[i]; i++)
		cJSON_AddItemToArray(args, cJSON_CreateString(argv[i]));
	rc = ops_proc_start(NULL, argv, NULL, 0, NULL, NULL, &p, err);
	if (rc == OPS_OK)
		rc = ops_proc_wait(p, err);
	cJSON_AddStringToObject(r, "result", rc == OPS_OK ? "ok" : err->message);
	if (rc != OPS_OK) {
		ops_error_prefix(err, "reload command after rotation");
		ops_error_hint(err, "The logs were rotated; check cleanup.rotate_reload_command, "
			       "or the application may keep writing to the rotated file.");
		if (rc != OPS_EUNAVAIL)
			rc = OPS_EFAIL;
	}
	return rc;
}

ops_code ops_cleanup_rotate(const ops_run *run, cJSON **report, ops_error *err)
{
	const ops_config *cfg = run->cfg;
	const char *state_dir = ops_config_get(cfg, "general.state_dir");
	const char *prog = ops_config_get(cfg, "cleanup.rotate_logrotate");
	char **globs = ops_config_list(cfg, "cleanup.rotate_logs");
	char **reload_argv = ops_config_list(cfg, "cleanup.rotate_reload_command");
	char *conf_path = NULL, *log_path = NULL, *state = NULL, *conf = NULL, *msgs = NULL;
	char *argv[12];
	int n = 0;
	size_t mlen = 0;
	long considered = 0;
	ops_proc *p = NULL;
	ops_error lerr;
	ops_code rc;
	cJSON *rep, *rotated, *removed, *errors, *lines = NULL, *fig;

	*report = NULL;
	if (!globs || !reload_argv) {
		rc = ops_error_oom(err);
		goto out;
	}
	if ((rc = check_globs(globs, err)) != OPS_OK ||
	    (rc = check_su(ops_config_get(cfg, "cleanup.rotate_su"), err)) != OPS_OK)
		goto out;
	if (access(prog, X_OK) != 0) {
		rc = ops_error_set(err, OPS_EUNAVAIL, "logrotate not found at '%s'", prog);
		ops_error_hint(err, "Install Debian's logrotate package, or set "
			       "cleanup.rotate_logrotate to where it is.");
		goto out;
	}
	if ((rc = ops_mkdir_p(state_dir, 0700, err)) != OPS_OK)
		goto out;
	conf_path = ops_path_join(state_dir, CONF_NAME);
	log_path = ops_path_join(state_dir, LOG_NAME);
	state = ops_config_get(cfg, "cleanup.rotate_state")
			? strdup(ops_config_get(cfg, "cleanup.rotate_state"))
			: ops_path_join(state_dir, STATE_NAME);
	conf = render_conf(cfg, globs);
	if (!conf_path || !log_path || !state || !conf) {
		rc = ops_error_oom(err);
		goto out;
	}
	/* 0600: logrotate ignores a configuration others may write. */
	if ((rc = ops_write_file_atomic(conf_path, conf, strlen(conf), 0600, err)) != OPS_OK)
		goto out;
	if (unlink(log_path) != 0 && errno != ENOENT) {
		rc = ops_error_errno(err, errno, "cannot remove", log_path);
		goto out;
	}

	rep = *report = cJSON_CreateObject();
	cJSON_AddStringToObject(rep, "logrotate", prog);
	cJSON_AddStringToObject(rep, "config_file", conf_path);
	cJSON_AddStringToObject(rep, "state_file", state);
	cJSON_AddStringToObject(rep, "mode", ops_config_get(cfg, "cleanup.rotate_mode"));
	cJSON_AddStringToObject(rep, "compress", ops_config_get(cfg, "cleanup.rotate_compress"));
	cJSON_AddNumberToObject(rep, "keep", (double)ops_config_int(cfg, "cleanup.rotate_keep"));
	cJSON_AddBoolToObject(rep, "forced", run->force);
	cJSON_AddBoolToObject(rep, "dry_run", run->dry_run);

	rc = finish_interrupted(run, globs, cJSON_AddArrayToObject(rep, "compression_finished"),
				err);
	if (rc != OPS_OK)
		goto out;

	argv[n++] = (char *)prog;
	argv[n++] = "--verbose";
	if (run->force)
		argv[n++] = "--force";
	if (run->dry_run)
		argv[n++] = "--debug";
	argv[n++] = "--state";
	argv[n++] = state;
	argv[n++] = "--log";
	argv[n++] = log_path;
	argv[n++] = conf_path;
	argv[n] = NULL;
	/* Its verbose lines also go to stderr; the -l file is the one read. */
	rc = ops_proc_start(NULL, argv, NULL, 0, NULL, NULL, &p, err);
	if (rc == OPS_OK)
		rc = ops_proc_wait(p, err);
	if (ops_read_file(log_path, LOG_MAX, &msgs, &mlen, &lerr) != OPS_OK) {
		msgs = NULL;
		if (rc == OPS_OK) {
			rc = lerr.code;
			*err = lerr;
		}
	}
	rotated = cJSON_AddArrayToObject(rep, "rotated");
	removed = cJSON_AddArrayToObject(rep, "removed");
	errors = cJSON_AddArrayToObject(rep, "errors");
	if (run->verbose)
		lines = cJSON_AddArrayToObject(rep, "logrotate_messages");
	if (msgs)
		parse_messages(msgs, rep, rotated, removed, errors, lines, &considered);
	cJSON_AddNumberToObject(rep, "logs_considered", (double)considered);
	cJSON_AddNumberToObject(rep, "files_rotated", (double)cJSON_GetArraySize(rotated));
	cJSON_AddNumberToObject(rep, "files_removed", (double)cJSON_GetArraySize(removed));
	if (rc != OPS_OK && cJSON_GetArraySize(errors) > 0) {
		/* logrotate's own words beat "logrotate failed (exit 1)", without
		 * its advice about a configuration the operator does not write. */
		const char *first = cJSON_GetStringValue(cJSON_GetArrayItem(errors, 0));
		const char *su = strstr(first, " Set \"su\" directive");
		int len = su ? (int)(su - first) : (int)strlen(first);

		while (len > 0 && (first[len - 1] == '.' || first[len - 1] == ' '))
			len--;
		ops_error_set(err, OPS_EFAIL, "logrotate: %.*s", len, first);
		if (su)
			ops_error_hint(err, "Set cleanup.rotate_su to the user and group that own "
				       "the log directory.");
		if (cJSON_GetArraySize(errors) > 1)
			ops_error_detail(err, "%d errors; the report lists them",
					 cJSON_GetArraySize(errors));
		rc = OPS_EFAIL;
	}
	if (!run->dry_run) {
		fig = cJSON_AddObjectToObject(rep, "_figures");
		cJSON_AddNumberToObject(fig, "opsctl_cleanup_rotate_files_rotated",
					(double)cJSON_GetArraySize(rotated));
		cJSON_AddNumberToObject(fig, "opsctl_cleanup_rotate_files_removed",
					(double)cJSON_GetArraySize(removed));
	}
	if (reload_argv[0] && !run->dry_run && cJSON_GetArraySize(rotated) > 0) {
		ops_error rerr;
		ops_code rrc = reload(reload_argv, rep, &rerr);

		/* logrotate's failure is the first thing to fix; keep it. */
		if (rrc != OPS_OK && rc == OPS_OK) {
			rc = rrc;
			*err = rerr;
		}
	} else if (reload_argv[0]) {
		cJSON_AddNullToObject(rep, "reload");
	}
out:
	ops_strv_free(globs);
	ops_strv_free(reload_argv);
	free(conf_path);
	free(log_path);
	free(state);
	free(conf);
	free(msgs);
	return rc;
}
