/*
 * What is in the backup store and what state each backup is in: the
 * catalog that create, prune, verify and restore all read, as pgBackRest's
 * commands read info/infoBackup rather than each other.  Only top-level
 * names shaped like our backup ids are ever treated as backups, so a store
 * shared with anything else loses nothing.
 *
 * It never takes a backup, reads an archive or touches a database; pins are
 * the one change it makes, and removing a backup's objects (manifest first)
 * the one removal.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backup/backup_internal.h"
#include "opsmaint/clock.h"
#include "opsmaint/log.h"

/* The N of "STAMP-KIND-N" (1 for "STAMP-KIND"): the order of backups
 * taken in the same second, numbered across kinds (backup.c's new_id). */
static long id_number(const char *id)
{
	const char *dash = strlen(id) > 21 ? id + 21 : NULL;

	return dash && *dash == '-' ? strtol(dash + 1, NULL, 10) : 1;
}

/* Oldest first: by the second, then the number within it.  Not by kind:
 * "S-diff-2" builds on "S-full", and sorts after it only by its number. */
static int cmp_items(const void *a, const void *b)
{
	const char *x = ((const bk_item *)a)->id, *y = ((const bk_item *)b)->id;
	int c = strncmp(x, y, 16);
	long nx, ny;

	if (c)
		return c;
	nx = id_number(x);
	ny = id_number(y);
	return nx != ny ? (nx < ny ? -1 : 1) : strcmp(x, y);
}

void bk_items_free(bk_item *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].id);
		free(v[i].damage);
		ops_manifest_free(v[i].m);
	}
	free(v);
}

int bk_item_good(const bk_item *it)
{
	return it->m && !it->damaged && ops_manifest_is_good(it->m);
}

static int cmp_entry_key(const void *k, const void *e)
{
	return strcmp(k, ((const ops_store_entry *)e)->key);
}

char *bk_objects_damage(const ops_manifest *m, const ops_store_entry *e, size_t n)
{
	char key[1200], *why = NULL;
	const ops_store_entry *found;
	size_t i;

	for (i = 0; i < m->nmembers && !why; i++) {
		const ops_manifest_member *mm = &m->members[i];

		snprintf(key, sizeof key, "%s/%s", m->id, mm->name);
		found = n ? bsearch(key, e, n, sizeof *e, cmp_entry_key) : NULL;
		if (!found) {
			if (asprintf(&why, "object '%s' is missing", key) < 0)
				why = NULL;
		} else if (found->size >= 0 && found->size != mm->size) {
			if (asprintf(&why, "object '%s' is %lld bytes, the manifest says %lld",
				     key, found->size, mm->size) < 0)
				why = NULL;
		}
	}
	return why;
}

/* "20261124T010000Z-full" or "...-full-2" (-incr, -diff for incremental
 * and differential physical backups): the first len bytes of s. */
int bk_is_backup_id(const char *s, size_t len)
{
	size_t i;

	if (len < 21)
		return 0;
	for (i = 0; i < 16; i++)
		if (i == 8 ? s[i] != 'T' : i == 15 ? s[i] != 'Z' : (s[i] < '0' || s[i] > '9'))
			return 0;
	if (strncmp(s + 16, "-full", 5) != 0 && strncmp(s + 16, "-incr", 5) != 0 &&
	    strncmp(s + 16, "-diff", 5) != 0)
		return 0;
	if (len == 21)
		return 1;
	if (s[21] != '-' || len == 22)
		return 0;
	for (i = 22; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

ssize_t bk_catalog_find(const bk_item *v, size_t n, const char *id)
{
	size_t i;

	for (i = 0; id && i < n; i++)
		if (strcmp(v[i].id, id) == 0)
			return (ssize_t)i;
	return -1;
}

int bk_chain_good(const bk_item *v, size_t n, size_t i)
{
	int depth;

	for (depth = 0; depth < BK_CHAIN_MAX; depth++) {
		ssize_t p;

		if (!bk_item_good(&v[i]))
			return 0;
		if (!v[i].m->prior)
			return 1;
		if ((p = bk_catalog_find(v, n, v[i].m->prior)) < 0)
			return 0;
		i = (size_t)p;
	}
	return 0;
}

ops_code bk_catalog_scan(const ops_backup_ctx *ctx, bk_item **out, size_t *nout, ops_error *err)
{
	ops_store_entry *e = NULL;
	size_t n = 0, i, k = 0;
	bk_item *v = NULL;
	ops_code rc;

	*out = NULL;
	*nout = 0;
	rc = ops_store_list(ctx->store, "", &e, &n, err);
	if (rc != OPS_OK)
		return rc;
	v = calloc(n + 1, sizeof *v);
	if (!v) {
		ops_store_entries_free(e, n);
		return ops_error_oom(err);
	}
	for (i = 0; i < n; i++) {
		const char *slash = strchr(e[i].key, '/');
		size_t len = slash ? (size_t)(slash - e[i].key) : strlen(e[i].key);

		if (!slash || !bk_is_backup_id(e[i].key, len))
			continue;
		if (k == 0 || strlen(v[k - 1].id) != len ||
		    strncmp(v[k - 1].id, e[i].key, len) != 0) {
			v[k].id = strndup(e[i].key, len);
			if (!v[k].id) {
				bk_items_free(v, k);
				ops_store_entries_free(e, n);
				return ops_error_oom(err);
			}
			k++;
		}
		if (strcmp(slash + 1, OPS_MANIFEST_NAME) == 0 ||
		    strcmp(slash + 1, OPS_MANIFEST_COPY) == 0)
			v[k - 1].has_manifest_key = 1;
	}
	qsort(v, k, sizeof *v, cmp_items);
	for (i = 0; i < k; i++) {
		if (!v[i].has_manifest_key)
			continue;
		if (ops_manifest_load(ctx->store, v[i].id, &v[i].m, &v[i].why) != OPS_OK &&
		    v[i].why.code != OPS_EDATA) {
			*err = v[i].why;
			bk_items_free(v, k);
			ops_store_entries_free(e, n);
			return err->code;
		}
		/* The listing has every object's size: a truncated or missing
		 * archive shows here, before any verify has read it. */
		if (v[i].m && (v[i].damage = bk_objects_damage(v[i].m, e, n)))
			v[i].damaged = 1;
	}
	ops_store_entries_free(e, n);
	*out = v;
	*nout = k;
	return OPS_OK;
}

ops_code bk_catalog_remove(const ops_backup_ctx *ctx, const char *id, ops_error *err)
{
	ops_store_entry *e = NULL;
	char prefix[300];
	size_t n = 0, i;
	ops_code rc;

	snprintf(prefix, sizeof prefix, "%s/", id);
	rc = ops_store_list(ctx->store, prefix, &e, &n, err);
	/* The manifest's copy goes first, then the manifest: from then on
	 * this is not a backup.  Killed in between, it is still whole. */
	for (i = 0; rc == OPS_OK && i < n; i++)
		if (strcmp(e[i].key + strlen(prefix), OPS_MANIFEST_COPY) == 0)
			rc = ops_store_remove(ctx->store, e[i].key, err);
	for (i = 0; rc == OPS_OK && i < n; i++)
		if (strcmp(e[i].key + strlen(prefix), OPS_MANIFEST_NAME) == 0)
			rc = ops_store_remove(ctx->store, e[i].key, err);
	for (i = 0; rc == OPS_OK && i < n; i++)
		rc = ops_store_remove(ctx->store, e[i].key, err);
	ops_store_entries_free(e, n);
	return rc;
}

ops_code bk_catalog_remove_partial(const ops_backup_ctx *ctx, cJSON *removed, ops_error *err)
{
	bk_item *v = NULL;
	size_t n = 0, i;
	ops_code rc = bk_catalog_scan(ctx, &v, &n, err);

	for (i = 0; rc == OPS_OK && i < n; i++) {
		if (v[i].has_manifest_key)
			continue;
		ops_log_warn("%s partial backup '%s' left by an interrupted run",
			     ctx->run->dry_run ? "would remove" : "removing", v[i].id);
		if (!ctx->run->dry_run)
			rc = bk_catalog_remove(ctx, v[i].id, err);
		if (rc == OPS_OK)
			cJSON_AddItemToArray(removed, cJSON_CreateString(v[i].id));
	}
	bk_items_free(v, n);
	return rc;
}

static void warn_unsealed(const char *id)
{
	ops_log_warn("manifest of backup '%s' has no checksum (written by an earlier version): "
		     "an edit or damage to it cannot be detected", id);
}

ops_code bk_catalog_manifest(const ops_backup_ctx *ctx, const char *id, ops_manifest **m,
			     ops_error *err)
{
	ops_store_entry *e = NULL;
	char prefix[300];
	size_t n = 0;
	ops_code rc;

	*m = NULL;
	if (!ops_store_key_valid(id) || strchr(id, '/'))
		return ops_error_set(err, OPS_EUSAGE, "'%s' is not a backup id", id);
	snprintf(prefix, sizeof prefix, "%s/", id);
	rc = ops_store_list(ctx->store, prefix, &e, &n, err);
	ops_store_entries_free(e, n);
	if (rc != OPS_OK)
		return rc;
	if (n == 0) {
		ops_error_set(err, OPS_EFAIL, "no backup '%s' in %s", id,
			      ops_store_describe(ctx->store));
		ops_error_hint(err, "`opsctl backup list` shows the backups there are");
		return OPS_EFAIL;
	}
	rc = ops_manifest_load(ctx->store, id, m, err);
	if (rc == OPS_OK && (*m)->unsealed)
		warn_unsealed(id);
	return rc;
}

/* ---- list, latest, pins ---- */

static cJSON *item_json(const bk_item *it)
{
	cJSON *o = cJSON_CreateObject(), *dbs;
	char when[32];
	size_t i;

	cJSON_AddStringToObject(o, "id", it->id);
	if (!it->m) {
		cJSON_AddStringToObject(o, "status",
					it->has_manifest_key ? "invalid" : "incomplete");
		if (it->has_manifest_key)
			cJSON_AddStringToObject(o, "error", it->why.message);
		return o;
	}
	cJSON_AddStringToObject(o, "type", it->m->type);
	cJSON_AddStringToObject(o, "method", it->m->method ? it->m->method : "logical");
	ops_time_iso((time_t)it->m->start, when);
	cJSON_AddStringToObject(o, "time", when);
	cJSON_AddNumberToObject(o, "size_bytes", (double)ops_manifest_size(it->m));
	cJSON_AddNumberToObject(o, "duration_seconds", it->m->stop - it->m->start);
	/* Objects that do not match the manifest outrank what the last
	 * verify said: the backup is "damaged" now, whatever it was. */
	cJSON_AddStringToObject(o, "status", it->damaged ? "damaged" : it->m->status);
	if (it->damaged)
		cJSON_AddStringToObject(o, "error", it->damage);
	/* A failed verification is the status "verify-failed". */
	cJSON_AddBoolToObject(o, "verified",
			      !it->damaged && strcmp(it->m->status, "verified") == 0);
	cJSON_AddBoolToObject(o, "pinned", it->m->pinned);
	dbs = cJSON_AddArrayToObject(o, "databases");
	for (i = 0; it->m->databases && it->m->databases[i]; i++)
		cJSON_AddItemToArray(dbs, cJSON_CreateString(it->m->databases[i]));
	cJSON_AddBoolToObject(o, "encrypted", it->m->encryption != NULL);
	return o;
}

ops_code ops_backup_list(const ops_backup_ctx *ctx, cJSON **report, ops_error *err)
{
	bk_item *v = NULL;
	size_t n = 0, i;
	ops_code rc = bk_catalog_scan(ctx, &v, &n, err);
	cJSON *rep, *list;

	*report = NULL;
	if (rc != OPS_OK)
		return rc;
	rep = cJSON_CreateObject();
	cJSON_AddStringToObject(rep, "store", ops_store_describe(ctx->store));
	list = cJSON_AddArrayToObject(rep, "backups");
	for (i = 0; i < n; i++) {
		cJSON *o = item_json(&v[i]);

		if (v[i].m && v[i].m->unsealed)
			warn_unsealed(v[i].id);
		if (v[i].m && v[i].m->prior) {
			cJSON_AddStringToObject(o, "prior", v[i].m->prior);
			/* Restorable only with its chain: one missing or bad shows here. */
			if (bk_item_good(&v[i]) && !bk_chain_good(v, n, i))
				cJSON_AddStringToObject(o, "error", "a backup it builds on is missing, "
							"damaged or failed verification");
		}
		cJSON_AddItemToArray(list, o);
	}
	cJSON_AddNumberToObject(rep, "count", (double)n);
	bk_items_free(v, n);
	*report = rep;
	return OPS_OK;
}

ops_code ops_backup_latest(const ops_backup_ctx *ctx, char **id, ops_error *err)
{
	return ops_backup_newest(ctx, 1, id, err);
}

ops_code ops_backup_newest(const ops_backup_ctx *ctx, int good_only, char **id, ops_error *err)
{
	bk_item *v = NULL;
	size_t n = 0, i;
	ops_code rc = bk_catalog_scan(ctx, &v, &n, err);

	*id = NULL;
	if (rc != OPS_OK)
		return rc;
	/* Good: restorable, with every backup an incremental one builds on. */
	for (i = n; i-- > 0;)
		if (v[i].m && (!good_only || bk_chain_good(v, n, i))) {
			*id = strdup(v[i].id);
			break;
		}
	bk_items_free(v, n);
	if (!*id)
		return ops_error_set(err, OPS_EFAIL, "no %sbackup in %s",
				     good_only ? "complete " : "", ops_store_describe(ctx->store));
	return OPS_OK;
}

ops_code ops_backup_pin(const ops_backup_ctx *ctx, const char *id, int pin,
			cJSON **report, ops_error *err)
{
	ops_manifest *m = NULL;
	char *latest = NULL;
	ops_code rc;

	*report = NULL;
	/* "latest" as restore and verify take it: the newest good backup. */
	if (strcmp(id, "latest") == 0) {
		if ((rc = ops_backup_latest(ctx, &latest, err)) != OPS_OK)
			return rc;
		id = latest;
	}
	rc = bk_catalog_manifest(ctx, id, &m, err);
	if (rc != OPS_OK) {
		free(latest);
		return rc;
	}
	m->pinned = pin;
	rc = ops_manifest_save(ctx->store, m, err);
	*report = cJSON_CreateObject();
	cJSON_AddStringToObject(*report, "id", id);
	cJSON_AddBoolToObject(*report, "pinned", pin);
	ops_manifest_free(m);
	free(latest);
	return rc;
}
