/*
 * opsctl deps (deps.h): the run.  Finds the manifests inside the project
 * directory (and nothing outside it), has each ecosystem read them, asks
 * the registries for versions, matches the OSV advisories, chooses the
 * updates -t allows (with -s only those that fix an advisory), and without
 * -c rewrites the pins, backs the manifests up first with -b, runs the
 * install and test commands and, when either fails, writes every manifest
 * back as it was, byte for byte.
 *
 * Not here: the manifests' syntax (deps_python.c, deps_npm.c, deps_image.c), version
 * rules (deps_version.c), advisories (deps_osv.c).  Not done: installing
 * packages itself (the configured install command does), transitive
 * dependencies of a lock file, and the maintenance window (an update
 * changes text files that are restored when the tests fail; it destroys no
 * data, so it runs when cron or a person runs it).
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <glob.h>
#include <unistd.h>

#include "deps/deps_internal.h"
#include "opsmaint/clock.h"
#include "opsmaint/fileio.h"
#include "opsmaint/hash.h"
#include "opsmaint/json.h"
#include "opsmaint/log.h"
#include "opsmaint/output.h"
#include "opsmaint/proc.h"

/* The ecosystems, in the order their manifests are reported. */
static const deps_eco *const ecos[] = {&deps_eco_python, &deps_eco_node, &deps_eco_image, NULL};


int ops_deps_type_parse(const char *word)
{
	if (!word)
		return -1;
	if (!strcmp(word, "minor"))
		return OPS_DEPS_T_MINOR;
	if (!strcmp(word, "major"))
		return OPS_DEPS_T_MAJOR;
	if (!strcmp(word, "all"))
		return OPS_DEPS_T_ALL;
	return -1;
}

/* rel (relative to the project directory) as a manifest of the ecosystem that claims its name. */
static ops_code add_manifest(deps_ctx *c, const char *rel, deps_manifest **out, ops_error *err)
{
	const char *bn = strrchr(rel, '/') ? strrchr(rel, '/') + 1 : rel;
	const deps_eco *const *e;
	int role = 0;

	for (e = ecos; *e && !(*e)->claims(bn, &role); e++)
		;
	if (!*e)
		return ops_error_set(err, OPS_ECONFIG, "deps.manifests: '%s' is not a manifest deps "
				     "reads (requirements*.txt, pyproject.toml, poetry.lock, "
				     "package.json, package-lock.json, *compose*.yml, *compose*.yaml)",
				     rel);
	return deps_manifest_add(c, c->root, rel, *e, role, out, err);
}

static ops_code find_manifests(deps_ctx *c, ops_error *err)
{
	char **list = ops_config_list(c->cfg, "deps.manifests");
	static const char *const defaults[] = {"requirements*.txt", "pyproject.toml", "poetry.lock",
					       "package.json", "package-lock.json", "compose.yaml",
					       "compose.yml", "docker-compose.yml",
					       "docker-compose.yaml", NULL};
	ops_code rc = OPS_OK;
	size_t i;
	deps_manifest *m;

	if (list && *list) {
		for (i = 0; list[i] && rc == OPS_OK; i++)
			rc = add_manifest(c, list[i], &m, err);
		ops_strv_free(list);
		return rc;
	}
	ops_strv_free(list);
	for (i = 0; defaults[i] && rc == OPS_OK; i++) {
		char pat[PATH_MAX + 32];
		glob_t g;
		size_t k;

		snprintf(pat, sizeof pat, "%s/%s", c->root, defaults[i]);
		if (glob(pat, 0, NULL, &g) != 0)
			continue;
		for (k = 0; k < g.gl_pathc && rc == OPS_OK; k++)
			rc = add_manifest(c, g.gl_pathv[k] + strlen(c->root) + 1, &m, err);
		globfree(&g);
	}
	return rc;
}

static ops_code open_ctx(const ops_run *run, deps_ctx **out, ops_error *err)
{
	deps_ctx *c = calloc(1, sizeof *c);
	const char *dir;
	ops_code rc;
	size_t i;

	*out = NULL;
	if (!c || !(c->cache = cJSON_CreateObject())) {
		free(c);
		return ops_error_oom(err);
	}
	c->run = run;
	c->cfg = run->cfg;
	dir = ops_config_get(c->cfg, "deps.project_dir");
	if (!realpath(dir && *dir ? dir : ".", c->root)) {
		rc = ops_error_errno(err, errno, "cannot open the project directory (deps.project_dir)",
				     dir && *dir ? dir : ".");
		if (rc != OPS_EPERM)
			err->code = rc = OPS_ECONFIG;
		deps_ctx_free(c);
		return rc;
	}
	if ((rc = find_manifests(c, err)) != OPS_OK) {
		deps_ctx_free(c);
		return rc;
	}
	/* includes (-r) are appended as they are met, and read in their turn */
	for (i = 0; i < c->nm && rc == OPS_OK; i++)
		rc = c->ms[i]->eco->read(c, c->ms[i], err);
	if (rc != OPS_OK) {
		deps_ctx_free(c);
		return rc;
	}
	*out = c;
	return OPS_OK;
}

/* ---- registries ---- */

/* Versions for every dep: allowed and latest; a package the registry does
 * not know is noted on it, an unreachable registry ends the run. */
static ops_code fetch_versions(deps_ctx *c, int type, ops_error *err)
{
	size_t i;
	ops_code rc;

	for (i = 0; i < c->nd; i++) {
		deps_dep *d = c->deps[i];
		char **v = NULL;
		const char *allowed = NULL, *latest = NULL;

		if ((rc = ops_run_check_cancel(c->run, err)) != OPS_OK)
			return rc;
		rc = d->eco->versions(c, d, &v, err);
		if (rc == OPS_EFAIL) {
			deps_refuse(d, "%s", err->message);
			ops_error_clear(err);
			continue;
		}
		if (rc != OPS_OK)
			return rc;
		if (d->current) {
			deps_choose(d->eco->scheme, d->current, v, type, &allowed, &latest);
		} else {
			/* not pinned: the newest stable release, for information */
			char **p;

			for (p = v; p && *p; p++)
				if (d->eco->scheme->valid(*p) && !d->eco->scheme->prerelease(*p) &&
				    (!latest || d->eco->scheme->cmp(*p, latest) > 0))
					latest = *p;
		}
		d->allowed = allowed ? strdup(allowed) : NULL;
		d->latest = latest ? strdup(latest) : NULL;
		if (d->allowed)
			d->kind = d->eco->scheme->kind(d->current, d->allowed);
		deps_strv_free(v);
		if (d->eco->settle && (rc = d->eco->settle(c, d, err)) != OPS_OK) {
			if (rc != OPS_EFAIL)
				return rc;
			deps_refuse(d, "%s", err->message);
			ops_error_clear(err);
		}
	}
	return OPS_OK;
}

/* ---- the report ---- */

static const char *type_name(int t)
{
	return t == OPS_DEPS_T_MAJOR ? "major" : t == OPS_DEPS_T_ALL ? "all" : "minor";
}

static int sev_rank(const char *s)
{
	static const char *const n[] = {"info", "low", "medium", "high", "critical"};
	int i;

	for (i = 0; i < 5; i++)
		if (s && !strcmp(s, n[i]))
			return i;
	return 2;
}

/* The advisories of each dep's current version into d->findings. */
static void match_advisories(deps_ctx *c, const deps_osv *osv)
{
	size_t i;

	for (i = 0; i < c->nd; i++) {
		deps_dep *d = c->deps[i];
		char where[PATH_MAX + 64];
		cJSON *f;

		if (!d->current)
			continue;
		snprintf(where, sizeof where, "%s %s", d->m->rel, d->key);
		deps_osv_match(osv, d->eco, d->key, d->current, where, d->findings);
		cJSON_ArrayForEach(f, d->findings) {
			cJSON_AddStringToObject(f, "file", d->m->rel);
			if (d->line > 0)
				cJSON_AddNumberToObject(f, "line", (double)d->line);
		}
		if (d->allowed)
			cJSON_ArrayForEach(f, d->findings)
				if (!deps_osv_affects(osv, cJSON_GetStringValue(
					cJSON_GetObjectItemCaseSensitive(f, "advisory")), d->eco, d->key,
					d->allowed))
					d->fixes = 1;
	}
}

static cJSON *dep_row(const deps_dep *d, int text)
{
	cJSON *o = cJSON_CreateObject(), *f;
	char adv[512] = "";
	size_t n = 0;

	if (!o)
		return NULL;
	cJSON_ArrayForEach(f, d->findings)
		n += (size_t)snprintf(adv + n, n < sizeof adv ? sizeof adv - n : 0, "%s%s (%s)",
				      n ? ", " : "",
				      cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "advisory")),
				      cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "severity")));
	cJSON_AddStringToObject(o, "package", d->key);
	cJSON_AddStringToObject(o, "ecosystem", d->eco->label);
	if (d->current)
		cJSON_AddStringToObject(o, "current", d->current);
	else
		cJSON_AddNullToObject(o, "current");
	if (d->allowed)
		cJSON_AddStringToObject(o, "allowed_update", d->allowed);
	else
		cJSON_AddNullToObject(o, "allowed_update");
	if (d->latest)
		cJSON_AddStringToObject(o, "latest", d->latest);
	else
		cJSON_AddNullToObject(o, "latest");
	if (text) {
		cJSON_AddStringToObject(o, "advisories", n ? adv : "-");
		return o;
	}
	cJSON_AddStringToObject(o, "kind", d->allowed ? deps_kind_name(d->kind) : "none");
	cJSON_AddStringToObject(o, "manifest", d->m->rel);
	cJSON_AddNumberToObject(o, "line", (double)d->line);
	cJSON_AddStringToObject(o, "spec", d->spec);
	{
		cJSON *ids = cJSON_AddArrayToObject(o, "advisories");

		cJSON_ArrayForEach(f, d->findings)
			cJSON_AddItemToArray(ids, cJSON_CreateString(cJSON_GetStringValue(
				cJSON_GetObjectItemCaseSensitive(f, "advisory"))));
	}
	if (d->why_not)
		cJSON_AddStringToObject(o, "note", d->why_not);
	return o;
}

/* ---- update: backup, write, commands, roll back ---- */

static ops_code backup_manifests(deps_ctx *c, cJSON *rep, ops_error *err)
{
	const char *state = ops_config_get(c->cfg, "general.state_dir");
	char stamp[OPS_TIME_ISO_SIZE], dir[PATH_MAX];
	char *sums = NULL;
	size_t sums_len = 0, i;
	FILE *f;
	ops_code rc;
	int k;

	ops_time_stamp(ops_run_now(c->run), stamp);
	for (k = 0; k < 100; k++) {
		char base[PATH_MAX];

		snprintf(base, sizeof base, "%s/deps", state);
		if ((rc = ops_mkdir_p(base, 0700, err)) != OPS_OK)
			return rc;
		snprintf(dir, sizeof dir, k ? "%s/deps/backup-%s-%d" : "%s/deps/backup-%s", state, stamp, k);
		if (mkdir(dir, 0700) == 0)
			break;
		if (errno != EEXIST)
			return ops_error_errno(err, errno, "cannot create the backup directory", dir);
	}
	if (!(f = open_memstream(&sums, &sums_len)))
		return ops_error_oom(err);
	for (i = 0; i < c->nm; i++) {
		deps_manifest *m = c->ms[i];
		char path[PATH_MAX * 2], *pdir, hex[65];

		snprintf(path, sizeof path, "%s/%s", dir, m->rel);
		if (!(pdir = ops_path_dir(path)) || (rc = ops_mkdir_p(pdir, 0700, err)) != OPS_OK ||
		    (rc = ops_write_file_atomic(path, m->data, m->len, 0600, err)) != OPS_OK) {
			free(pdir);
			fclose(f);
			free(sums);
			return pdir ? rc : ops_error_oom(err);
		}
		free(pdir);
		ops_sha256_hex(m->data, m->len, hex);
		fprintf(f, "%s  %s\n", hex, m->rel);
	}
	fclose(f);
	{
		char path[PATH_MAX + 16];

		snprintf(path, sizeof path, "%s/SHA256SUMS", dir);
		rc = ops_write_file_atomic(path, sums, sums_len, 0600, err);
	}
	free(sums);
	if (rc == OPS_OK)
		cJSON_AddStringToObject(rep, "backup", dir);
	return rc;
}

static ops_code write_manifest(const deps_manifest *m, const char *data, size_t len, ops_error *err)
{
	struct stat st;

	if (stat(m->path, &st) != 0)
		return ops_error_errno(err, errno, "cannot write manifest", m->path);
	return ops_write_file_atomic(m->path, data, len, st.st_mode & 07777, err);
}

/* Every changed manifest back to the bytes read; the first failure is kept. */
static ops_code roll_back(deps_ctx *c, cJSON *rep, ops_error *err)
{
	cJSON *restored = cJSON_AddArrayToObject(rep, "restored");
	ops_code first = OPS_OK;
	size_t i;

	for (i = 0; i < c->nm; i++) {
		deps_manifest *m = c->ms[i];
		ops_error e;

		if (!m->new_data)
			continue;
		if (write_manifest(m, m->data, m->len, &e) != OPS_OK) {
			if (first == OPS_OK) {
				*err = e;
				first = e.code;
			}
			continue;
		}
		cJSON_AddItemToArray(restored, cJSON_CreateString(m->rel));
	}
	return first;
}

/* Run one configured command in the project directory; its record into rep. */
static ops_code run_command(deps_ctx *c, const char *key, const char *label, cJSON *rep,
			    ops_error *err)
{
	char **argv = ops_config_list(c->cfg, key), *output = NULL, *full = NULL, line[1024];
	long timeout = ops_config_int(c->cfg, "deps.command_timeout");
	cJSON *o;
	ops_proc *p = NULL;
	ops_code rc;
	int status = -1, timed_out = 0;
	double t0 = ops_clock();
	size_t i, n = 0;

	if (!argv || !*argv) {
		ops_strv_free(argv);
		cJSON_AddNullToObject(rep, label);
		return OPS_OK;
	}
	for (i = 0; argv[i]; i++)
		n += (size_t)snprintf(line + n, n < sizeof line ? sizeof line - n : 0, "%s%s",
				      i ? " " : "", argv[i]);
	if (strchr(argv[0], '/') && argv[0][0] != '/') {
		if (!(full = ops_path_join(c->root, argv[0]))) {
			ops_strv_free(argv);
			return ops_error_oom(err);
		}
		free(argv[0]);
		argv[0] = full;
	}
	o = cJSON_AddObjectToObject(rep, label);
	cJSON_AddStringToObject(o, "command", line);
	rc = ops_proc_start_in(c->root, NULL, argv, NULL, OPS_PROC_OWN_GROUP | OPS_PROC_CAPTURE,
			       NULL, NULL, &p, err);
	if (rc == OPS_OK)
		rc = ops_proc_wait_exit(p, timeout * 1000, &status, &timed_out, &output, err);
	cJSON_AddNumberToObject(o, "seconds", (double)(long long)((ops_clock() - t0) * 1000) / 1000.0);
	if (status >= 0)
		cJSON_AddNumberToObject(o, "exit_code", status);
	else
		cJSON_AddNullToObject(o, "exit_code");
	if (output) {
		/* the last lines, as a person would look at them */
		size_t len = strlen(output);
		const char *tail = len > 2000 ? output + len - 2000 : output;

		cJSON_AddStringToObject(o, "output_tail", tail);
	}
	free(output);
	if (rc != OPS_OK) {
		if (timed_out)
			ops_error_set(err, OPS_EFAIL, "%s command '%s' timed out after %ld s "
				      "(deps.command_timeout)", label, line, timeout);
		else if (status > 0)
			ops_error_set(err, OPS_EFAIL, "%s command '%s' failed (exit %d)", label, line,
				      status);
		else
			ops_error_prefix(err, "%s command", label);
		if (rc == OPS_EUNAVAIL)
			rc = OPS_EFAIL;
		err->code = rc;
	}
	ops_strv_free(argv);
	return rc;
}

static ops_code update(deps_ctx *c, const ops_deps_req *req, cJSON *rep, int *applied,
		       ops_error *err)
{
	cJSON *updated = cJSON_AddArrayToObject(rep, "updated");
	cJSON *refused = cJSON_AddArrayToObject(rep, "refused");
	size_t i, changed = 0, pins = 0;
	ops_code rc;
	char q[PATH_MAX + 128];

	*applied = 0;
	for (i = 0; i < c->nd; i++) {
		deps_dep *d = c->deps[i];

		if (!d->update_to)
			continue;
		if ((rc = d->eco->prepare(c, d, err)) != OPS_OK)
			return rc;
	}
	for (i = 0; i < c->nm; i++)
		if ((rc = c->ms[i]->eco->rewrite(c, c->ms[i], err)) != OPS_OK)
			return rc;
	for (i = 0; i < c->nd; i++) {
		deps_dep *d = c->deps[i];
		cJSON *o;

		if (!d->update_to)
			continue;
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "package", d->key);
		cJSON_AddStringToObject(o, "manifest", d->m->rel);
		cJSON_AddStringToObject(o, "from", d->current);
		cJSON_AddStringToObject(o, "to", d->update_to);
		if (d->refused) {
			cJSON_AddStringToObject(o, "reason", d->refused);
			cJSON_AddItemToArray(refused, o);
		} else {
			cJSON_AddItemToArray(updated, o);
			pins++;
		}
	}
	for (i = 0; i < c->nm; i++)
		if (c->ms[i]->new_data && (c->ms[i]->new_len != c->ms[i]->len ||
					   memcmp(c->ms[i]->new_data, c->ms[i]->data, c->ms[i]->len))) {
			changed++;
		} else if (c->ms[i]->new_data) {
			free(c->ms[i]->new_data);
			c->ms[i]->new_data = NULL;
		}
	if (!changed)
		return OPS_OK;
	snprintf(q, sizeof q, "Update %zu pin%s in %zu manifest%s of %s?", pins, pins == 1 ? "" : "s",
		 changed, changed == 1 ? "" : "s", c->root);
	if (c->run->confirm && !c->run->yes && !c->run->confirm(c->run->confirm_arg, q))
		return ops_error_set(err, OPS_EDECLINED, "update cancelled; nothing was changed");
	if (req->backup && (rc = backup_manifests(c, rep, err)) != OPS_OK)
		return rc;
	for (i = 0; i < c->nm; i++) {
		deps_manifest *m = c->ms[i];

		if (!m->new_data)
			continue;
		if ((rc = write_manifest(m, m->new_data, m->new_len, err)) != OPS_OK) {
			ops_error keep = *err, rb;

			if (roll_back(c, rep, &rb) != OPS_OK)
				ops_error_detail(&keep, "rolling back failed too: %s", rb.message);
			*err = keep;
			cJSON_AddBoolToObject(rep, "rolled_back", 1);
			return rc;
		}
		cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(rep, "written") ?:
				     cJSON_AddArrayToObject(rep, "written"), cJSON_CreateString(m->rel));
	}
	*applied = 1;
	rc = run_command(c, "deps.install_command", "install", rep, err);
	if (rc == OPS_OK)
		rc = run_command(c, "deps.test_command", "test", rep, err);
	else
		cJSON_AddNullToObject(rep, "test");
	if (rc != OPS_OK) {
		ops_error keep = *err, rb;

		*applied = 0;
		if (roll_back(c, rep, &rb) != OPS_OK) {
			ops_error_detail(&keep, "rolling back failed too: %s", rb.message);
			cJSON_AddBoolToObject(rep, "rolled_back", 0);
		} else {
			cJSON_AddBoolToObject(rep, "rolled_back", 1);
			snprintf(keep.message + strlen(keep.message),
				 sizeof keep.message - strlen(keep.message),
				 "; %zu manifest%s rolled back", changed, changed == 1 ? "" : "s");
		}
		*err = keep;
		return rc == OPS_EINTR ? rc : OPS_EFAIL;
	}
	cJSON_AddBoolToObject(rep, "rolled_back", 0);
	return OPS_OK;
}

ops_code ops_deps(const ops_deps_req *req, cJSON **report, ops_error *err)
{
	deps_ctx *c = NULL;
	deps_osv *osv = NULL;
	cJSON *rep = NULL, *rows, *findings, *adv, *warnings, *fig, *f;
	const char *advdir = ops_config_get(req->run->cfg, "deps.advisories_dir");
	int floor = sev_rank(ops_config_get(req->run->cfg, "deps.severity"));
	long available = 0, at_floor = 0, nfind = 0, applied_n = 0;
	double age = -1;
	ops_code rc, urc = OPS_OK;
	ops_error uerr;
	int applied = 0;
	size_t i;

	*report = NULL;
	ops_error_clear(&uerr);
	if ((rc = open_ctx(req->run, &c, err)) != OPS_OK)
		return rc;
	if (!(rep = cJSON_CreateObject())) {
		deps_ctx_free(c);
		return ops_error_oom(err);
	}
	cJSON_AddStringToObject(rep, "project_dir", c->root);
	cJSON_AddStringToObject(rep, "type", type_name(req->type));
	cJSON_AddBoolToObject(rep, "check_only", req->check_only);
	cJSON_AddBoolToObject(rep, "security_only", req->security_only);
	{
		cJSON *ms = cJSON_AddArrayToObject(rep, "manifests");

		for (i = 0; i < c->nm; i++)
			cJSON_AddItemToArray(ms, cJSON_CreateString(c->ms[i]->rel));
	}
	warnings = cJSON_CreateArray();
	if (c->nm == 0)
		ops_json_add_stringf(warnings, "no manifest found in %s (deps.manifests)", c->root);
	/* advisories */
	adv = cJSON_AddObjectToObject(rep, "advisories");
	if (advdir && *advdir) {
		long count = 0, max_age = ops_config_int(c->cfg, "deps.advisories_max_age");
		char h[32];

		if ((rc = deps_osv_load(advdir, ops_run_now(c->run), &osv, &age, &count, err)) != OPS_OK)
			goto out;
		cJSON_AddStringToObject(adv, "dir", advdir);
		cJSON_AddNumberToObject(adv, "files", (double)count);
		if (age >= 0)
			cJSON_AddNumberToObject(adv, "age_seconds", (double)(long long)age);
		else
			cJSON_AddNullToObject(adv, "age_seconds");
		cJSON_AddBoolToObject(adv, "stale", age < 0 || age > (double)max_age);
		if (age < 0)
			ops_json_add_stringf(warnings, "the advisories directory %s holds no advisory",
					     advdir);
		else if (age > (double)max_age)
			ops_json_add_stringf(warnings, "the advisories in %s are %s old, older than "
					     "deps.advisories_max_age: sync them", advdir,
					     ops_human_seconds(age, h, sizeof h));
	} else {
		cJSON_AddNullToObject(adv, "dir");
		ops_json_add_stringf(warnings, "deps.advisories_dir is not set: no advisories checked");
	}
	if ((rc = fetch_versions(c, req->type, err)) != OPS_OK)
		goto out;
	match_advisories(c, osv);
	/* what this run updates */
	for (i = 0; i < c->nd; i++) {
		deps_dep *d = c->deps[i];

		if (d->allowed)
			available++;
		if (!d->allowed || !d->rewritable || (req->security_only && !d->fixes))
			continue;
		if (!req->check_only && !(d->update_to = strdup(d->allowed))) {
			rc = ops_error_oom(err);
			goto out;
		}
	}
	if (!req->check_only) {
		urc = update(c, req, rep, &applied, &uerr);
		if (urc == OPS_EDECLINED || urc == OPS_EINTERNAL || urc == OPS_EINTR) {
			*err = uerr;
			rc = urc;
			goto out;
		}
	}
	/* the table and the findings left in use */
	rows = cJSON_AddArrayToObject(rep, "dependencies");
	findings = cJSON_AddArrayToObject(rep, "findings");
	for (i = 0; i < c->nd; i++) {
		deps_dep *d = c->deps[i];
		int moved = applied && d->update_to && !d->refused;

		cJSON_AddItemToArray(rows, dep_row(d, req->run->output == OPS_OUT_TEXT &&
						   !req->run->verbose));
		cJSON_ArrayForEach(f, d->findings) {
			const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "advisory"));
			int left = !moved || deps_osv_affects(osv, id, d->eco, d->key, d->update_to);

			nfind++;
			if (!left)
				continue;
			if (sev_rank(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "severity"))) >=
			    floor)
				at_floor++;
			if (req->run->output == OPS_OUT_TEXT && !req->run->verbose) {
				cJSON *b = cJSON_CreateObject();

				cJSON_AddStringToObject(b, "severity", cJSON_GetStringValue(
					cJSON_GetObjectItemCaseSensitive(f, "severity")));
				cJSON_AddStringToObject(b, "advisory", id);
				cJSON_AddStringToObject(b, "package", d->key);
				cJSON_AddStringToObject(b, "version", d->current);
				cJSON_AddItemToObject(b, "fixed", cJSON_Duplicate(
					cJSON_GetObjectItemCaseSensitive(f, "fixed"), 1));
				cJSON_AddItemToArray(findings, b);
			} else {
				cJSON *copy = cJSON_Duplicate(f, 1);

				cJSON_DeleteItemFromObjectCaseSensitive(copy, "fp_extra");
				cJSON_AddItemToArray(findings, copy);
			}
		}
		if (moved)
			applied_n++;
	}
	cJSON_AddNumberToObject(rep, "updates_available", (double)available);
	cJSON_AddStringToObject(rep, "severity_floor", ops_config_get(c->cfg, "deps.severity"));
	cJSON_AddNumberToObject(rep, "advisories_at_or_above_floor", (double)at_floor);
	for (f = warnings->child; f; f = f->next)
		ops_log_warn("%s", f->valuestring);
	cJSON_AddItemToObject(rep, "warnings", warnings);
	warnings = NULL;
	fig = cJSON_AddObjectToObject(rep, "_figures");
	cJSON_AddNumberToObject(fig, "opsctl_deps_dependencies", (double)c->nd);
	cJSON_AddNumberToObject(fig, "opsctl_deps_updates_available", (double)available);
	cJSON_AddNumberToObject(fig, "opsctl_deps_advisories", (double)nfind);
	cJSON_AddNumberToObject(fig, "opsctl_deps_advisories_at_or_above_floor", (double)at_floor);
	if (age >= 0)
		cJSON_AddNumberToObject(fig, "opsctl_deps_advisories_age_seconds", (double)(long long)age);
	if (!req->check_only) {
		cJSON_AddNumberToObject(fig, "opsctl_deps_updated", (double)applied_n);
		cJSON_AddNumberToObject(fig, "opsctl_deps_rolled_back",
					cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rep, "rolled_back")));
	}
	if (urc != OPS_OK) {
		*err = uerr;
		rc = urc;
	} else if (at_floor > 0) {
		rc = ops_error_set(err, OPS_EFAIL, "%ld advisor%s at or above %s affect%s versions in use",
				   at_floor, at_floor == 1 ? "y" : "ies",
				   ops_config_get(c->cfg, "deps.severity"), at_floor == 1 ? "s" : "");
		ops_error_hint(err, "opsctl deps -s updates the pins whose new version fixes one.");
	}
	*report = rep;
	rep = NULL;
out:
	cJSON_Delete(warnings);
	cJSON_Delete(rep);
	deps_osv_free(osv);
	deps_ctx_free(c);
	return rc;
}

ops_code ops_deps_findings(const ops_run *run, cJSON **out, ops_error *err)
{
	const char *advdir = ops_config_get(run->cfg, "deps.advisories_dir");
	deps_ctx *c = NULL;
	deps_osv *osv = NULL;
	double age;
	long count;
	ops_code rc;
	size_t i;

	*out = NULL;
	if (!advdir || !*advdir)
		return OPS_OK;
	if ((rc = open_ctx(run, &c, err)) != OPS_OK)
		return rc;
	if ((rc = deps_osv_load(advdir, ops_run_now(run), &osv, &age, &count, err)) != OPS_OK) {
		deps_ctx_free(c);
		return rc;
	}
	match_advisories(c, osv);
	if (!(*out = cJSON_CreateArray())) {
		rc = ops_error_oom(err);
	} else {
		for (i = 0; i < c->nd; i++) {
			cJSON *f;

			cJSON_ArrayForEach(f, c->deps[i]->findings)
				cJSON_AddItemToArray(*out, cJSON_Duplicate(f, 1));
		}
	}
	deps_osv_free(osv);
	deps_ctx_free(c);
	return rc;
}
