/*
 * What both installers (the provisioning directory, dashboards.c, and the
 * HTTP API, dashboards_api.c) do before they change anything: ask, and with
 * -b archive what is installed through backup monitoring's archiver, so the
 * copy lies beside the monitoring backups under their retention.
 */
#include <stdio.h>
#include <string.h>

#include "dashboards/dashboards_internal.h"
#include "opsmaint/backup.h"
#include "opsmaint/fileio.h"
#include "opsmaint/log.h"

ops_code dash_confirm(const ops_run *run, long add, long change, long remove, const char *where,
		      ops_error *err)
{
	char q[1024];

	if (!run->confirm || run->force || run->yes || add + change + remove == 0)
		return OPS_OK;
	snprintf(q, sizeof q, "Install %ld new and %ld changed dashboard%s into %s%s?", add, change,
		 add + change == 1 ? "" : "s", where,
		 remove ? ", and remove the ones no longer in the source" : "");
	if (run->confirm(run->confirm_arg, q))
		return OPS_OK;
	return ops_error_set(err, OPS_EDECLINED, "dashboards cancelled; nothing was changed");
}

ops_code dash_backup_dir(const ops_run *run, const char *name, const char *dir, cJSON *rep,
			 ops_error *err)
{
	ops_backup_ctx ctx = {.run = run, .store = NULL};
	const char *to = ops_config_get(run->cfg, "backup.monitoring_dir");
	cJSON *b = cJSON_AddObjectToObject(rep, "backup");
	const char *archive, *base;
	char id[256];
	ops_code rc;

	/* The id first, as every report names a backup; filled in below. */
	if (!b || !cJSON_AddStringToObject(b, "id", ""))
		return ops_error_oom(err);
	if ((rc = ops_mkdir_p(to, 0700, err)) != OPS_OK)
		return rc;
	rc = ops_backup_monitoring_dir(&ctx, name, dir, to, b, err);
	if (rc != OPS_OK) {
		ops_error_prefix(err, "backup of %s before the install (nothing was changed)", dir);
		return rc;
	}
	archive = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(b, "archive"));
	base = archive ? strrchr(archive, '/') : NULL;
	snprintf(id, sizeof id, "%s", base ? base + 1 : archive ? archive : "");
	if (strlen(id) > 8 && strcmp(id + strlen(id) - 8, ".tar.zst") == 0)
		id[strlen(id) - 8] = '\0';
	if (!cJSON_ReplaceItemInObjectCaseSensitive(b, "id", cJSON_CreateString(id)))
		return ops_error_oom(err);
	ops_log_info("dashboards: %s backed up as %s", dir, id);
	return OPS_OK;
}
