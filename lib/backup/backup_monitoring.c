/*
 * backup-monitoring-config.sh: the configuration of Prometheus, Grafana and
 * Alertmanager archived, one tar.zst per component, with a sha256sum-format
 * file beside each (so `sha256sum -c` checks it without opsctl), and old
 * archives removed after the retention period.  With --dry-run it writes
 * nothing: the sources are checked, and the report names the archives it
 * would write and what retention would remove.
 */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backup/backup_internal.h"
#include "opsmaint/clock.h"
#include "opsmaint/fileio.h"
#include "opsmaint/walk.h"

struct afile_sink {
	ops_afile *af;
	ops_sha256 *h;
	long long size;
};

static ops_code afile_sink_fn(void *arg, const void *buf, size_t len, ops_error *err)
{
	struct afile_sink *s = arg;

	ops_sha256_update(s->h, buf, len);
	s->size += (long long)len;
	return ops_afile_write(s->af, buf, len, err);
}

/* nftw has no context argument; one walk runs at a time. */
static struct {
	ops_archive_writer *aw;
	const char *component;
	size_t root_len;
	ops_error *err;
	ops_code rc;
	long files, skipped;
} walk;

static int add_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	char member[4096];

	(void)ftw;
	if (type == FTW_D || type == FTW_DP)
		return 0;
	if (type != FTW_F) {
		walk.skipped++;	/* links and unreadable entries: never followed */
		return 0;
	}
	if (!S_ISREG(st->st_mode)) {
		walk.skipped++;
		return 0;
	}
	snprintf(member, sizeof member, "%s%s", walk.component, path + walk.root_len);
	if (!ops_archive_path_safe(member)) {
		walk.skipped++;
		return 0;
	}
	walk.rc = ops_archive_add_file(walk.aw, member, path, walk.err);
	if (walk.rc != OPS_OK)
		return 1;
	walk.files++;
	return 0;
}

/*
 * monitoring_COMPONENT_20261124T010000Z.tar.zst: UTC in ISO 8601's basic
 * form, as backup ids are, so the host's time zone never changes a name.
 * Archives named in local time (monitoring_C_20261124_010000.tar.zst, from
 * earlier versions) still match retention's pattern and age out by mtime.
 */
static void archive_name(const char *component, char *out, size_t len)
{
	char stamp[32];

	ops_time_stamp((time_t)ops_wall_clock(), stamp);
	snprintf(out, len, "monitoring_%s_%s.tar.zst", component, stamp);
}

ops_code ops_backup_monitoring_dir(const ops_backup_ctx *ctx, const char *name, const char *src,
				   const char *dest, cJSON *rep, ops_error *err)
{
	char fname[256], line[512];
	char *path = NULL, *sumpath = NULL;
	struct afile_sink s = {0};
	char hex[65];
	ops_code rc;

	archive_name(name, fname, sizeof fname);
	path = ops_path_join(dest, fname);
	if (!path || asprintf(&sumpath, "%s.sha256", path) < 0) {
		free(path);
		return ops_error_oom(err);
	}
	s.h = ops_sha256_new();
	rc = s.h ? ops_afile_open(path, 0600, &s.af, err) : ops_error_oom(err);
	if (rc == OPS_OK)
		rc = ops_archive_writer_new("zstd", (int)ops_config_int(ctx->run->cfg, "backup.compression_level"),
					    (int)ops_config_int(ctx->run->cfg, "backup.threads"), afile_sink_fn, &s,
					    &walk.aw, err);
	if (rc == OPS_OK) {
		walk.component = name;
		walk.root_len = strlen(src);
		while (walk.root_len > 1 && src[walk.root_len - 1] == '/')
			walk.root_len--;
		walk.err = err;
		walk.rc = OPS_OK;
		walk.files = walk.skipped = 0;
		if (nftw(src, add_one, 16, FTW_PHYS) != 0 && walk.rc == OPS_OK)
			walk.rc = ops_error_errno(err, errno, "cannot read", src);
		rc = walk.rc;
	}
	if (rc == OPS_OK)
		rc = ops_archive_writer_close(walk.aw, err);
	ops_archive_writer_free(walk.aw);
	walk.aw = NULL;
	if (rc == OPS_OK) {
		rc = ops_afile_commit(s.af, err);
		s.af = NULL;
	}
	if (rc == OPS_OK) {
		ops_sha256_final_hex(s.h, hex);
		snprintf(line, sizeof line, "%s  %s\n", hex, fname);
		rc = ops_write_file_atomic(sumpath, line, strlen(line), 0600, err);
	}
	ops_afile_abort(s.af);
	if (rc == OPS_OK) {
		cJSON_AddStringToObject(rep, "archive", path);
		cJSON_AddNumberToObject(rep, "files", (double)walk.files);
		cJSON_AddNumberToObject(rep, "skipped", (double)walk.skipped);
		cJSON_AddNumberToObject(rep, "size_bytes", (double)s.size);
		cJSON_AddStringToObject(rep, "sha256", hex);
	}
	ops_sha256_free(s.h);
	free(path);
	free(sumpath);
	return rc;
}

/*
 * Retention (-r DAYS): this command's archives and their .sha256 files
 * older than that, in dest itself, through core/walk; with --dry-run only
 * named.  Only cancellation and out-of-memory are returned.
 */
static ops_code prune_old(const ops_backup_ctx *ctx, const char *dest, long days, cJSON *rep,
			  ops_error *err)
{
	char *patterns[] = {"monitoring_*.tar.zst*", NULL};
	char **prot = ops_config_list(ctx->run->cfg, "general.protected_paths");
	ops_walk_opts o;
	ops_code rc;

	ops_walk_opts_init(&o);
	o.patterns = patterns;
	o.max_depth = 1;
	o.older_than = ops_run_now(ctx->run) - days * 86400L;
	o.dry_run = ctx->run->dry_run;
	o.protected_paths = prot;
	o.state_dir = ops_config_get(ctx->run->cfg, "general.state_dir");
	rc = ops_walk_prune(dest, &o, rep, err);
	ops_strv_free(prot);
	return rc;
}

ops_code ops_backup_monitoring(const ops_backup_ctx *ctx, const char *dest,
			       char *const *components, long retention_days,
			       cJSON **report, ops_error *err)
{
	char **pairs = ops_config_list(ctx->run->cfg, "backup.monitoring_paths");
	int all = !components || !components[0];
	size_t i, j;
	ops_code rc = OPS_OK, worst = OPS_OK;
	ops_error first;
	cJSON *rep = cJSON_CreateObject(), *list;

	*report = rep;
	ops_error_clear(&first);
	for (i = 0; components && components[i]; i++)
		if (strcmp(components[i], "all") == 0)
			all = 1;
	cJSON_AddStringToObject(rep, "destination", dest);
	cJSON_AddBoolToObject(rep, "dry_run", ctx->run->dry_run);
	list = cJSON_AddArrayToObject(rep, "components");
	/* --dry-run writes nothing, not even the destination directory. */
	if (ctx->run->dry_run)
		cJSON_AddBoolToObject(rep, "would_create_destination", access(dest, F_OK) != 0);
	rc = ctx->run->dry_run ? OPS_OK : ops_mkdir_p(dest, 0700, err);
	if (rc != OPS_OK)
		goto out;
	for (i = 0; pairs && pairs[i]; i++) {
		char *eq = strchr(pairs[i], '='), name[64];
		const char *src;
		struct stat st;
		cJSON *c;
		ops_error cerr;
		int want = all;

		if (!eq || eq == pairs[i]) {
			rc = ops_error_set(err, OPS_ECONFIG, "backup.monitoring_paths: '%s' is not COMPONENT=PATH",
					   pairs[i]);
			goto out;
		}
		snprintf(name, sizeof name, "%.*s", (int)(eq - pairs[i]), pairs[i]);
		src = eq + 1;
		for (j = 0; components && components[j]; j++)
			want |= strcmp(components[j], name) == 0;
		if (!want)
			continue;
		c = cJSON_CreateObject();
		cJSON_AddStringToObject(c, "component", name);
		cJSON_AddStringToObject(c, "source", src);
		cJSON_AddItemToArray(list, c);
		if (stat(src, &st) != 0) {
			ops_error_errno(&cerr, errno, "cannot read configuration of", src);
			cJSON_AddStringToObject(c, "status", "missing");
			cJSON_AddStringToObject(c, "error", cerr.message);
		} else if (ctx->run->dry_run) {
			char fname[256], *path;

			archive_name(name, fname, sizeof fname);
			path = ops_path_join(dest, fname);
			cJSON_AddStringToObject(c, "status", "ok");
			cJSON_AddBoolToObject(c, "would_archive", 1);
			/* Where the real run would write it (the second of the
			 * real run decides the name's stamp). */
			cJSON_AddStringToObject(c, "archive", path ? path : fname);
			free(path);
			continue;
		} else if (ops_backup_monitoring_dir(ctx, name, src, dest, c, &cerr) == OPS_OK) {
			cJSON_AddStringToObject(c, "status", "ok");
			continue;
		} else {
			cJSON_AddStringToObject(c, "status", "failed");
			cJSON_AddStringToObject(c, "error", cerr.message);
		}
		if (worst == OPS_OK) {
			worst = cerr.code == OPS_EPERM ? OPS_EPERM : OPS_EFAIL;
			first = cerr;
		}
	}
	for (i = 0; components && components[i]; i++) {
		int known = strcmp(components[i], "all") == 0;

		for (j = 0; pairs && pairs[j]; j++)
			known |= strncmp(pairs[j], components[i], strlen(components[i])) == 0 &&
				 pairs[j][strlen(components[i])] == '=';
		if (!known) {
			rc = ops_error_set(err, OPS_ECONFIG, "no path configured for component '%s' in backup.monitoring_paths",
					   components[i]);
			goto out;
		}
	}
	if ((rc = prune_old(ctx, dest, retention_days, rep, err)) != OPS_OK)
		goto out;
	if (worst != OPS_OK) {
		*err = first;
		err->code = worst;
		rc = worst;
	}
out:
	ops_strv_free(pairs);
	return rc;
}
