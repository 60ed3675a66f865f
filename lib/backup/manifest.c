/*
 * Backup manifests: building, JSON in both directions with strict
 * validation, and saving/loading through the store.  A manifest read back is
 * checked as hard as input from a stranger, because restore trusts it.  This
 * module computes no checksums and reads no members; backup and verify do.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opsmaint/archive.h"
#include "opsmaint/config.h"
#include "opsmaint/hash.h"
#include "opsmaint/json.h"
#include "opsmaint/log.h"
#include "opsmaint/manifest.h"

/* A physical backup lists every file of the data directory, some 200
 * bytes each: 64 MiB is a cluster of 300,000 files (tens of thousands of
 * tables with their indexes). */
#define MANIFEST_MAX (64u << 20)

static int hex64(const char *s)
{
	size_t i;

	if (!s || strlen(s) != 64)
		return 0;
	for (i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

ops_manifest *ops_manifest_new(const char *id, const char *type)
{
	ops_manifest *m = calloc(1, sizeof *m);

	if (!m)
		return NULL;
	m->id = strdup(id);
	m->type = strdup(type);
	m->status = strdup("complete");
	m->databases = calloc(1, sizeof *m->databases);
	if (!m->id || !m->type || !m->status || !m->databases) {
		ops_manifest_free(m);
		return NULL;
	}
	return m;
}

void ops_manifest_free(ops_manifest *m)
{
	size_t i;

	if (!m)
		return;
	for (i = 0; i < m->nmembers; i++)
		free(m->members[i].name);
	free(m->members);
	ops_strv_free(m->databases);
	free(m->id);
	free(m->type);
	free(m->status);
	free(m->server_version);
	free(m->tool_version);
	free(m->wal_start);
	free(m->wal_stop);
	for (i = 0; i < m->nfiles; i++) {
		free(m->files[i].member);
		free(m->files[i].path);
	}
	free(m->files);
	for (i = 0; i < m->ntables; i++) {
		free(m->tables[i].database);
		free(m->tables[i].table);
	}
	free(m->tables);
	for (i = 0; i < m->npgfiles; i++) {
		free(m->pgfiles[i].path);
		free(m->pgfiles[i].in);
		free(m->pgfiles[i].target);
	}
	free(m->pgfiles);
	free(m->prior);
	free(m->system_id);
	free(m->method);
	free(m->compression);
	free(m->encryption);
	free(m->verify_error);
	free(m);
}

ops_code ops_manifest_add_member(ops_manifest *m, const char *name, long long size,
				 const char *sha256_hex, ops_error *err)
{
	ops_manifest_member *v;

	if (!ops_store_key_valid(name))
		return ops_error_set(err, OPS_EUSAGE, "bad manifest member name '%s'",
				     name ? name : "");
	if (!hex64(sha256_hex) || size < 0)
		return ops_error_set(err, OPS_EUSAGE, "bad size or SHA-256 for member '%s'", name);
	v = realloc(m->members, (m->nmembers + 1) * sizeof *v);
	if (!v)
		return ops_error_oom(err);
	m->members = v;
	v[m->nmembers].name = strdup(name);
	if (!v[m->nmembers].name)
		return ops_error_oom(err);
	v[m->nmembers].size = size;
	memcpy(v[m->nmembers].sha256, sha256_hex, 65);
	m->nmembers++;
	return OPS_OK;
}

ops_code ops_manifest_add_file(ops_manifest *m, const char *member, const char *path,
			       long long size, const char *sha256_hex, ops_error *err)
{
	ops_manifest_file *v;

	/* A member name is a store key; a path inside the archive is any name
	 * safe to extract ("files/my notes.txt"), not held to the key rule. */
	if (!ops_store_key_valid(member) || !ops_archive_path_safe(path))
		return ops_error_set(err, OPS_EUSAGE, "bad archive file name '%s'",
				     path ? path : "");
	if (!hex64(sha256_hex) || size < 0)
		return ops_error_set(err, OPS_EUSAGE, "bad size or SHA-256 for file '%s'", path);
	v = realloc(m->files, (m->nfiles + 1) * sizeof *v);
	if (!v)
		return ops_error_oom(err);
	m->files = v;
	v += m->nfiles;
	v->member = strdup(member);
	v->path = strdup(path);
	v->size = size;
	memcpy(v->sha256, sha256_hex, 65);
	m->nfiles++;
	if (!v->member || !v->path)
		return ops_error_oom(err);
	return OPS_OK;
}

ops_code ops_manifest_add_pgfile(ops_manifest *m, const ops_manifest_pgfile *f, ops_error *err)
{
	ops_manifest_pgfile *v;

	if (!ops_archive_path_safe(f->path) || !strchr("fdl", f->type) || !f->type ||
	    (f->type == 'f' && (!hex64(f->sha256) || f->size < 0 || !f->in ||
				!ops_store_key_valid(f->in))) ||
	    (f->type == 'l' && !f->target))
		return ops_error_set(err, OPS_EUSAGE, "bad data directory entry '%s'",
				     f->path ? f->path : "");
	v = realloc(m->pgfiles, (m->npgfiles + 1) * sizeof *v);
	if (!v)
		return ops_error_oom(err);
	m->pgfiles = v;
	v += m->npgfiles;
	*v = *f;
	v->path = strdup(f->path);
	v->in = f->in ? strdup(f->in) : NULL;
	v->target = f->target ? strdup(f->target) : NULL;
	m->npgfiles++;
	if (!v->path || (f->in && !v->in) || (f->target && !v->target))
		return ops_error_oom(err);
	return OPS_OK;
}

static int cmp_pgfile_path(const void *k, const void *e)
{
	return strcmp(k, ((const ops_manifest_pgfile *)e)->path);
}

const ops_manifest_pgfile *ops_manifest_pgfile_find(const ops_manifest *m, const char *path)
{
	if (!m->npgfiles)
		return NULL;
	return bsearch(path, m->pgfiles, m->npgfiles, sizeof *m->pgfiles, cmp_pgfile_path);
}

ops_code ops_manifest_add_table(ops_manifest *m, const char *database, const char *table,
				long long rows, ops_error *err)
{
	ops_manifest_table *v;

	if (!database || !table || rows < 0)
		return ops_error_set(err, OPS_EUSAGE, "bad table row count");
	v = realloc(m->tables, (m->ntables + 1) * sizeof *v);
	if (!v)
		return ops_error_oom(err);
	m->tables = v;
	v += m->ntables;
	v->database = strdup(database);
	v->table = strdup(table);
	v->rows = rows;
	m->ntables++;
	if (!v->database || !v->table)
		return ops_error_oom(err);
	return OPS_OK;
}

ops_code ops_manifest_set(char **field, const char *value, ops_error *err)
{
	char *copy = NULL;

	if (value && !(copy = strdup(value)))
		return ops_error_oom(err);
	free(*field);
	*field = copy;
	return OPS_OK;
}

long long ops_manifest_size(const ops_manifest *m)
{
	long long total = 0;
	size_t i;

	for (i = 0; i < m->nmembers; i++)
		total += m->members[i].size;
	return total;
}

int ops_manifest_is_good(const ops_manifest *m)
{
	return strcmp(m->status, "complete") == 0 || strcmp(m->status, "verified") == 0;
}

static void add_opt_string(cJSON *o, const char *name, const char *value)
{
	if (value)
		cJSON_AddStringToObject(o, name, value);
	else
		cJSON_AddNullToObject(o, name);
}

/* "pgdata": {"system_id", "clock_start", "files": [...]} of a physical backup. */
static void add_pgdata(cJSON *o, const ops_manifest *m)
{
	cJSON *pg = cJSON_AddObjectToObject(o, "pgdata"), *files;
	size_t i;

	add_opt_string(pg, "system_id", m->system_id);
	cJSON_AddNumberToObject(pg, "clock_start", m->clock_start);
	files = cJSON_AddArrayToObject(pg, "files");
	for (i = 0; i < m->npgfiles; i++) {
		const ops_manifest_pgfile *f = &m->pgfiles[i];
		cJSON *e = cJSON_CreateObject();

		cJSON_AddStringToObject(e, "path", f->path);
		if (f->type == 'f') {
			cJSON_AddNumberToObject(e, "size", (double)f->size);
			cJSON_AddNumberToObject(e, "mtime", (double)f->mtime);
			cJSON_AddStringToObject(e, "sha256", f->sha256);
			cJSON_AddStringToObject(e, "in", f->in);
		} else if (f->type == 'd') {
			cJSON_AddStringToObject(e, "type", "dir");
		} else {
			cJSON_AddStringToObject(e, "type", "link");
			cJSON_AddStringToObject(e, "target", f->target);
		}
		cJSON_AddItemToArray(files, e);
	}
}

cJSON *ops_manifest_to_json(const ops_manifest *m)
{
	cJSON *o = cJSON_CreateObject(), *dbs, *members;
	size_t i;

	if (!o)
		return NULL;
	cJSON_AddNumberToObject(o, "format", OPS_MANIFEST_FORMAT);
	cJSON_AddStringToObject(o, "id", m->id);
	cJSON_AddStringToObject(o, "type", m->type);
	cJSON_AddStringToObject(o, "status", m->status);
	dbs = cJSON_AddArrayToObject(o, "databases");
	for (i = 0; m->databases && m->databases[i]; i++)
		cJSON_AddItemToArray(dbs, cJSON_CreateString(m->databases[i]));
	add_opt_string(o, "server_version", m->server_version);
	add_opt_string(o, "tool_version", m->tool_version);
	cJSON_AddNumberToObject(o, "start", m->start);
	cJSON_AddNumberToObject(o, "stop", m->stop);
	add_opt_string(o, "wal_start", m->wal_start);
	add_opt_string(o, "wal_stop", m->wal_stop);
	members = cJSON_AddArrayToObject(o, "members");
	for (i = 0; i < m->nmembers; i++) {
		cJSON *e = cJSON_CreateObject();

		cJSON_AddStringToObject(e, "name", m->members[i].name);
		cJSON_AddNumberToObject(e, "size", (double)m->members[i].size);
		cJSON_AddStringToObject(e, "sha256", m->members[i].sha256);
		cJSON_AddItemToArray(members, e);
	}
	add_opt_string(o, "method", m->method);
	add_opt_string(o, "compression", m->compression);
	add_opt_string(o, "encryption", m->encryption);
	cJSON_AddBoolToObject(o, "pinned", m->pinned);
	if (m->verified_at > 0)
		cJSON_AddNumberToObject(o, "verified_at", m->verified_at);
	else
		cJSON_AddNullToObject(o, "verified_at");
	add_opt_string(o, "verify_error", m->verify_error);
	members = cJSON_AddArrayToObject(o, "files");
	for (i = 0; i < m->nfiles; i++) {
		cJSON *e = cJSON_CreateObject();

		cJSON_AddStringToObject(e, "member", m->files[i].member);
		cJSON_AddStringToObject(e, "path", m->files[i].path);
		cJSON_AddNumberToObject(e, "size", (double)m->files[i].size);
		cJSON_AddStringToObject(e, "sha256", m->files[i].sha256);
		cJSON_AddItemToArray(members, e);
	}
	members = cJSON_AddArrayToObject(o, "tables");
	for (i = 0; i < m->ntables; i++) {
		cJSON *e = cJSON_CreateObject();

		cJSON_AddStringToObject(e, "database", m->tables[i].database);
		cJSON_AddStringToObject(e, "table", m->tables[i].table);
		cJSON_AddNumberToObject(e, "rows", (double)m->tables[i].rows);
		cJSON_AddItemToArray(members, e);
	}
	if (m->prior)
		cJSON_AddStringToObject(o, "prior", m->prior);
	if (m->system_id || m->npgfiles)
		add_pgdata(o, m);
	return o;
}

/* A required string member, or NULL after setting err. */
static const char *req_string(const cJSON *o, const char *name, ops_error *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	if (!cJSON_IsString(v) || !v->valuestring[0]) {
		ops_error_set(err, OPS_EDATA, "manifest: '%s' is missing or not a string", name);
		return NULL;
	}
	return v->valuestring;
}

static char *opt_string(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(v) ? strdup(v->valuestring) : NULL;
}

/* "databases": a list of names. */
static ops_code parse_databases(ops_manifest *m, const cJSON *v, ops_error *err)
{
	const cJSON *e;
	size_t n = 0;

	if (!cJSON_IsArray(v))
		return ops_error_set(err, OPS_EDATA,
				     "manifest: 'databases' is missing or not a list");
	free(m->databases);
	m->databases = calloc((size_t)cJSON_GetArraySize(v) + 1, sizeof *m->databases);
	if (!m->databases)
		return ops_error_oom(err);
	cJSON_ArrayForEach(e, v) {
		if (!cJSON_IsString(e))
			return ops_error_set(err, OPS_EDATA,
					     "manifest: a database name is not a string");
		if (!(m->databases[n++] = strdup(e->valuestring)))
			return ops_error_oom(err);
	}
	return OPS_OK;
}

/* "members": the stored objects, each checked by ops_manifest_add_member. */
static ops_code parse_members(ops_manifest *m, const cJSON *v, ops_error *err)
{
	const cJSON *e;

	if (!cJSON_IsArray(v))
		return ops_error_set(err, OPS_EDATA,
				     "manifest: 'members' is missing or not a list");
	cJSON_ArrayForEach(e, v) {
		char *name = ops_json_raw_string(e, "name");
		const cJSON *size = cJSON_GetObjectItemCaseSensitive(e, "size");
		const cJSON *sha = cJSON_GetObjectItemCaseSensitive(e, "sha256");
		ops_error merr;
		int bad = !name || !cJSON_IsNumber(size) || !cJSON_IsString(sha) ||
			  ops_manifest_add_member(m, name, (long long)size->valuedouble,
						  sha->valuestring, &merr) != OPS_OK;

		free(name);
		if (bad)
			return ops_error_set(err, OPS_EDATA, "manifest: member %zu is not a valid "
					     "name, size and SHA-256", m->nmembers + 1);
	}
	return OPS_OK;
}

/* "pgdata" of a physical backup, optional; entries must come sorted by
 * path, as they are saved, for ops_manifest_pgfile_find. */
static ops_code parse_pgdata(ops_manifest *m, const cJSON *pg, ops_error *err)
{
	const cJSON *e, *v;

	if (!pg)
		return OPS_OK;
	m->system_id = opt_string(pg, "system_id");
	v = cJSON_GetObjectItemCaseSensitive(pg, "clock_start");
	m->clock_start = cJSON_IsNumber(v) ? v->valuedouble : 0;
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(pg, "files")) {
		const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "type"));
		const cJSON *size = cJSON_GetObjectItemCaseSensitive(e, "size");
		const cJSON *mtime = cJSON_GetObjectItemCaseSensitive(e, "mtime");
		const char *sha = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "sha256"));
		ops_manifest_pgfile f;
		ops_error ferr;

		memset(&f, 0, sizeof f);
		f.path = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "path"));
		f.type = !type ? 'f' : strcmp(type, "dir") == 0 ? 'd' : strcmp(type, "link") == 0
			 ? 'l' : '?';
		f.in = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "in"));
		f.target = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "target"));
		if (f.type == 'f') {
			f.size = cJSON_IsNumber(size) ? (long long)size->valuedouble : -1;
			f.mtime = cJSON_IsNumber(mtime) ? (long long)mtime->valuedouble : 0;
			snprintf(f.sha256, sizeof f.sha256, "%s", sha ? sha : "");
		}
		if (!f.path || (m->npgfiles && strcmp(m->pgfiles[m->npgfiles - 1].path, f.path) >= 0) ||
		    ops_manifest_add_pgfile(m, &f, &ferr) != OPS_OK)
			return ops_error_set(err, OPS_EDATA, "manifest: data directory entry %zu "
					     "is not valid or not in order", m->npgfiles + 1);
	}
	return OPS_OK;
}

/* "files" (archive members) and "tables" (row counts), both optional. */
static ops_code parse_contents(ops_manifest *m, const cJSON *o, ops_error *err)
{
	const cJSON *e;
	ops_code rc;

	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(o, "files")) {
		/* The exact bytes of names written as NAME_hex (core/json). */
		char *mem = ops_json_raw_string(e, "member"), *path = ops_json_raw_string(e, "path");
		const cJSON *size = cJSON_GetObjectItemCaseSensitive(e, "size");
		const cJSON *sha = cJSON_GetObjectItemCaseSensitive(e, "sha256");
		ops_error ferr;
		int bad = !mem || !path || !cJSON_IsNumber(size) || !cJSON_IsString(sha) ||
			  ops_manifest_add_file(m, mem, path, (long long)size->valuedouble,
						sha->valuestring, &ferr) != OPS_OK;

		free(mem);
		free(path);
		if (bad)
			return ops_error_set(err, OPS_EDATA, "manifest: file %zu is not a valid "
					     "name, size and SHA-256", m->nfiles + 1);
	}
	if ((rc = parse_pgdata(m, cJSON_GetObjectItemCaseSensitive(o, "pgdata"), err)) != OPS_OK)
		return rc;
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(o, "tables")) {
		const cJSON *db = cJSON_GetObjectItemCaseSensitive(e, "database");
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(e, "table");
		const cJSON *rows = cJSON_GetObjectItemCaseSensitive(e, "rows");
		ops_error terr;

		if (!cJSON_IsString(db) || !cJSON_IsString(t) || !cJSON_IsNumber(rows) ||
		    ops_manifest_add_table(m, db->valuestring, t->valuestring,
					   (long long)rows->valuedouble, &terr) != OPS_OK)
			return ops_error_set(err, OPS_EDATA, "manifest: table entry %zu is not "
					     "valid", m->ntables + 1);
	}
	return OPS_OK;
}

ops_code ops_manifest_from_json(const char *text, size_t len, ops_manifest **out,
				ops_error *err)
{
	cJSON *o = cJSON_ParseWithLength(text, len);
	const cJSON *v, *e;
	const char *id, *type, *status;
	ops_manifest *m = NULL;
	ops_code rc = OPS_EDATA;

	*out = NULL;
	if (!cJSON_IsObject(o)) {
		ops_error_set(err, OPS_EDATA, "manifest is not a JSON object");
		goto out;
	}
	v = cJSON_GetObjectItemCaseSensitive(o, "format");
	if (!cJSON_IsNumber(v) || v->valuedouble != OPS_MANIFEST_FORMAT) {
		ops_error_set(err, OPS_EDATA, "manifest format is not %d", OPS_MANIFEST_FORMAT);
		goto out;
	}
	if (!(id = req_string(o, "id", err)) || !(type = req_string(o, "type", err)) ||
	    !(status = req_string(o, "status", err)))
		goto out;
	if (!ops_store_key_valid(id) || strchr(id, '/')) {
		ops_error_set(err, OPS_EDATA, "manifest: bad backup id '%s'", id);
		goto out;
	}
	m = ops_manifest_new(id, type);
	if (!m) {
		rc = ops_error_oom(err);
		goto out;
	}
	free(m->status);
	m->status = strdup(status);
	if (!m->status) {
		rc = ops_error_oom(err);
		goto out;
	}
	m->server_version = opt_string(o, "server_version");
	m->tool_version = opt_string(o, "tool_version");
	m->wal_start = opt_string(o, "wal_start");
	m->wal_stop = opt_string(o, "wal_stop");
	v = cJSON_GetObjectItemCaseSensitive(o, "start");
	e = cJSON_GetObjectItemCaseSensitive(o, "stop");
	if (!cJSON_IsNumber(v) || !cJSON_IsNumber(e) || e->valuedouble < v->valuedouble) {
		ops_error_set(err, OPS_EDATA, "manifest: 'start' and 'stop' must be times, "
			      "stop not before start");
		goto out;
	}
	m->start = v->valuedouble;
	m->stop = e->valuedouble;
	if ((rc = parse_databases(m, cJSON_GetObjectItemCaseSensitive(o, "databases"), err)) !=
	    OPS_OK ||
	    (rc = parse_members(m, cJSON_GetObjectItemCaseSensitive(o, "members"), err)) != OPS_OK)
		goto out;
	m->method = opt_string(o, "method");
	m->compression = opt_string(o, "compression");
	m->encryption = opt_string(o, "encryption");
	m->verify_error = opt_string(o, "verify_error");
	m->pinned = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "pinned"));
	v = cJSON_GetObjectItemCaseSensitive(o, "verified_at");
	m->verified_at = cJSON_IsNumber(v) ? v->valuedouble : 0;
	m->prior = opt_string(o, "prior");
	if ((rc = parse_contents(m, o, err)) != OPS_OK)
		goto out;
	*out = m;
	m = NULL;
out:
	ops_manifest_free(m);
	cJSON_Delete(o);
	return rc;
}

static char *manifest_key(const char *id, int copy)
{
	char *key = NULL;

	if (asprintf(&key, "%s/%s", id, copy ? OPS_MANIFEST_COPY : OPS_MANIFEST_NAME) < 0)
		return NULL;
	return key;
}

static const char zeros64[] =
	"0000000000000000000000000000000000000000000000000000000000000000";

/* The one place in text where hex (64 digits) occurs, or NULL when it
 * occurs nowhere or more than once. */
static char *only_occurrence(char *text, size_t len, const char *hex)
{
	char *p = memmem(text, len, hex, 64), *again;

	if (!p)
		return NULL;
	again = memmem(p + 1, len - (size_t)(p + 1 - text), hex, 64);
	return again ? NULL : p;
}

/*
 * The manifest's text with its checksum in place: the SHA-256 of the text
 * as written with the checksum's own 64 digits read as zeros.  Byte for
 * byte, not over a re-rendering, so a check needs no JSON printer that
 * agrees with ours (sed and sha256sum do it) and any edit at all, even
 * one that leaves valid JSON, is found.
 */
static char *manifest_text(const ops_manifest *m, ops_error *err)
{
	cJSON *o = ops_manifest_to_json(m);
	char *json = NULL, *text = NULL;
	char hex[65], *p, *next;
	size_t len;

	/* A file name in another encoding stays valid UTF-8 JSON, its exact
	 * bytes beside it as NAME_hex (read back by the parser); the checksum
	 * goes last, after any companion. */
	if (o && ops_json_utf8(o) == 0 && cJSON_AddStringToObject(o, "checksum", zeros64))
		json = cJSON_Print(o);
	cJSON_Delete(o);
	if (!json || asprintf(&text, "%s\n", json) < 0) {
		free(json);
		ops_error_oom(err);
		return NULL;
	}
	free(json);
	len = strlen(text);
	ops_sha256_hex(text, len, hex);
	/* The checksum is the last member: its zeros are the last ones. */
	for (p = NULL, next = memmem(text, len, zeros64, 64); next;
	     next = memmem(next + 1, len - (size_t)(next + 1 - text), zeros64, 64))
		p = next;
	if (!p) {
		free(text);
		ops_error_set(err, OPS_EINTERNAL, "manifest checksum placeholder not found");
		return NULL;
	}
	memcpy(p, hex, 64);
	return text;
}

static ops_code put_text(ops_store *store, const char *key, const char *text, ops_error *err)
{
	ops_store_writer *w = NULL;
	ops_code rc = ops_store_put_begin(store, key, &w, err);

	if (rc == OPS_OK)
		rc = ops_store_write(w, text, strlen(text), err);
	if (rc == OPS_OK)
		rc = ops_store_put_commit(w, err);
	else
		ops_store_put_abort(w);
	return rc;
}

ops_code ops_manifest_save(ops_store *store, const ops_manifest *m, ops_error *err)
{
	char *text = manifest_text(m, err), *key = manifest_key(m->id, 0);
	char *copy = manifest_key(m->id, 1);
	ops_code rc;

	if (!text || !key || !copy) {
		rc = text ? ops_error_oom(err) : err->code;
		goto out;
	}
	/* The manifest first, its copy second: a copy alone is never the
	 * leftover of a run that died before its manifest, only of a manifest
	 * lost later. */
	rc = put_text(store, key, text, err);
	if (rc == OPS_OK)
		rc = put_text(store, copy, text, err);
out:
	free(text);
	free(key);
	free(copy);
	return rc;
}

/* How reading one of the two copies went. */
enum { MF_GOOD, MF_UNSEALED, MF_MISSING, MF_DAMAGED };

/* A manifest's checksum, when it has one: *sealed 1 and matching, or
 * OPS_EDATA. */
static ops_code check_seal(char *text, size_t len, const char *id, int *sealed, ops_error *err)
{
	cJSON *o = cJSON_ParseWithLength(text, len);
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(o, "checksum");
	char want[65], got[65], *at;
	ops_code rc = OPS_OK;

	*sealed = 0;
	if (!c) {
		cJSON_Delete(o);
		return OPS_OK;
	}
	*sealed = 1;
	if (!cJSON_IsString(c) || !hex64(c->valuestring)) {
		cJSON_Delete(o);
		return ops_error_set(err, OPS_EDATA, "manifest of backup '%s': its checksum is "
				     "not 64 hex digits", id);
	}
	memcpy(want, c->valuestring, 65);
	cJSON_Delete(o);
	at = only_occurrence(text, len, want);
	if (at) {
		memcpy(at, zeros64, 64);
		ops_sha256_hex(text, len, got);
		memcpy(at, want, 64);
	}
	if (!at || strcmp(got, want) != 0)
		rc = ops_error_set(err, OPS_EDATA, "manifest of backup '%s' does not match its "
				   "checksum (edited or damaged)", id);
	return rc;
}

/* One of the two: which of MF_* it is in *state; m set when readable. */
static ops_code load_one(ops_store *store, const char *id, int copy, ops_manifest **out,
			 int *state, ops_error *err)
{
	char *key = manifest_key(id, copy), *buf = NULL;
	size_t len = 0, got = 0;
	ops_store_reader *r = NULL;
	int sealed = 0;
	ops_code rc;

	*out = NULL;
	*state = MF_DAMAGED;
	if (!key)
		return ops_error_oom(err);
	rc = ops_store_get_begin(store, key, &r, err);
	if (rc == OPS_EFAIL) {
		*state = MF_MISSING;
		rc = ops_error_set(err, OPS_EDATA, "backup '%s' has no manifest in %s", id,
				   ops_store_describe(store));
		goto out;
	}
	if (rc != OPS_OK)
		goto out;
	buf = malloc(MANIFEST_MAX + 1);
	if (!buf) {
		rc = ops_error_oom(err);
		goto out;
	}
	do {
		rc = ops_store_read(r, buf + len, MANIFEST_MAX - len, &got, err);
		len += got;
	} while (rc == OPS_OK && got > 0 && len < MANIFEST_MAX);
	if (rc == OPS_OK && len >= MANIFEST_MAX)
		rc = ops_error_set(err, OPS_EDATA, "manifest of backup '%s' is larger than "
				   "%u bytes", id, MANIFEST_MAX);
	if (rc == OPS_OK)
		rc = check_seal(buf, len, id, &sealed, err);
	if (rc == OPS_OK)
		rc = ops_manifest_from_json(buf, len, out, err);
	if (rc == OPS_OK && strcmp((*out)->id, id) != 0) {
		rc = ops_error_set(err, OPS_EDATA, "manifest under '%s' names backup '%s'",
				   id, (*out)->id);
		ops_manifest_free(*out);
		*out = NULL;
	}
	if (rc == OPS_OK)
		*state = sealed ? MF_GOOD : MF_UNSEALED;
out:
	ops_store_get_end(r);
	free(buf);
	free(key);
	return rc;
}

ops_code ops_manifest_load(ops_store *store, const char *id, ops_manifest **out,
			   ops_error *err)
{
	ops_manifest *main_m = NULL, *copy_m = NULL;
	ops_error cerr;
	int ms, cs;
	ops_code rc = load_one(store, id, 0, &main_m, &ms, err), crc;

	*out = NULL;
	if (ms == MF_GOOD) {
		*out = main_m;
		return OPS_OK;
	}
	/* The store could not be read: no verdict on either copy. */
	if (rc != OPS_OK && rc != OPS_EDATA)
		return rc;
	crc = load_one(store, id, 1, &copy_m, &cs, &cerr);
	if (crc != OPS_OK && crc != OPS_EDATA) {
		ops_manifest_free(main_m);
		*err = cerr;
		return crc;
	}
	if (cs == MF_UNSEALED) {
		/* Copies are written only with checksums. */
		cs = MF_DAMAGED;
		ops_error_set(&cerr, OPS_EDATA, "the copy of the manifest of backup '%s' has no "
			      "checksum", id);
	}
	if (cs == MF_GOOD) {
		if (ms == MF_MISSING)
			ops_log_warn("backup '%s' has lost its manifest; using its copy (%s)", id,
				     OPS_MANIFEST_COPY);
		else if (ms == MF_UNSEALED)
			ops_log_warn("manifest of backup '%s' has no checksum but its copy has; "
				     "using the copy", id);
		else
			ops_log_warn("%s; using its copy (%s)", err->message, OPS_MANIFEST_COPY);
		ops_manifest_free(main_m);
		*out = copy_m;
		return OPS_OK;
	}
	ops_manifest_free(copy_m);
	if (ms == MF_UNSEALED) {
		/* Written before manifests had checksums: readable, unprotected.
		 * The caller warns: a scan by every cron backup would repeat
		 * it for each old backup until retention removes them. */
		main_m->unsealed = 1;
		*out = main_m;
		return OPS_OK;
	}
	if (ms == MF_MISSING && cs != MF_MISSING)
		*err = cerr;	/* the copy's fault is the one to name */
	else if (ms == MF_DAMAGED && cs == MF_DAMAGED) {
		char first[sizeof err->message];

		memcpy(first, err->message, sizeof first);
		ops_error_set(err, OPS_EDATA, "%s; its copy is damaged too", first);
	}
	return OPS_EDATA;
}
