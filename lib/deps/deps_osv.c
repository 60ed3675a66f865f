/*
 * OSV advisories (https://ossf.github.io/osv-schema/) from a directory of
 * JSON files, as osv-scanner and pip-audit read them: which advisories
 * affect a package's version, with their severity and the version that
 * fixes them.  The directory is synced by something else (osv's export, a
 * mirror); here it is only read, and its age reported.
 *
 * Severity: database_specific.severity (GHSA's LOW, MODERATE, HIGH,
 * CRITICAL) of the affected entry or the advisory, else the CVSS v3 base
 * score computed from severity[]'s vector (or a score given as a number),
 * else medium.  Ranges of type ECOSYSTEM and SEMVER are evaluated in the
 * package's own version scheme; GIT ranges are not (they name commits).
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "deps/deps_internal.h"
#include "opsmaint/fileio.h"

struct deps_osv {
	cJSON *list;	/* the advisories, each with "_file" */
};

static time_t parse_iso(const char *s)
{
	struct tm tm = {0};
	const char *end;

	if (!s || !(end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)))
		return 0;
	return timegm(&tm);
}

ops_code deps_osv_load(const char *dir, time_t now, deps_osv **out, double *age_seconds,
		       long *count, ops_error *err)
{
	deps_osv *o = calloc(1, sizeof *o);
	DIR *d = NULL;
	struct dirent *e;
	time_t newest = 0;
	ops_code rc = OPS_OK;

	*out = NULL;
	*age_seconds = -1;
	*count = 0;
	if (!o || !(o->list = cJSON_CreateArray())) {
		free(o);
		return ops_error_oom(err);
	}
	if (!(d = opendir(dir))) {
		rc = ops_error_errno(err, errno, "cannot read the advisories directory", dir);
		ops_error_hint(err, "Set deps.advisories_dir to a directory of OSV JSON files "
			       "(an osv.dev export), or leave it empty to check no advisories.");
		goto out;
	}
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);
		char *path, *data = NULL;
		size_t len;
		struct stat st;
		cJSON *j;
		time_t t;

		if (n < 6 || strcmp(e->d_name + n - 5, ".json") != 0 || e->d_name[0] == '.')
			continue;
		if (!(path = ops_path_join(dir, e->d_name))) {
			rc = ops_error_oom(err);
			goto out;
		}
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
			free(path);
			continue;
		}
		if ((rc = ops_read_file(path, 16u << 20, &data, &len, err)) != OPS_OK) {
			free(path);
			goto out;
		}
		j = cJSON_ParseWithLength(data, len);
		free(data);
		if (!cJSON_IsObject(j) || !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, "id")) ||
		    !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(j, "affected"))) {
			cJSON_Delete(j);
			rc = ops_error_set(err, OPS_EDATA, "advisory '%s' is not an OSV record (JSON "
					   "with id and affected)", path);
			free(path);
			goto out;
		}
		t = parse_iso(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "modified")));
		if (!t)
			t = st.st_mtime;
		if (t > newest)
			newest = t;
		cJSON_AddStringToObject(j, "_file", e->d_name);
		cJSON_AddItemToArray(o->list, j);
		free(path);
		(*count)++;
	}
	if (newest)
		*age_seconds = difftime(now, newest);
	*out = o;
	o = NULL;
out:
	if (d)
		closedir(d);
	deps_osv_free(o);
	return rc;
}

void deps_osv_free(deps_osv *o)
{
	if (!o)
		return;
	cJSON_Delete(o->list);
	free(o);
}

static const char *str(const cJSON *o, const char *k)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));
}

static int same_package(const deps_eco *eco, const cJSON *pkg, const char *key)
{
	const char *ecosys = str(pkg, "ecosystem"), *name = str(pkg, "name");
	char norm[256];

	if (!ecosys || !name)
		return 0;
	/* "PyPI", or "npm"; OSV may add ":VERSION" to a distribution's ecosystem. */
	if (strncmp(ecosys, eco->name, strlen(eco->name)) != 0 ||
	    (ecosys[strlen(eco->name)] && ecosys[strlen(eco->name)] != ':'))
		return 0;
	if (eco->scheme == &deps_scheme_pep440) {
		deps_pep503_name(name, norm, sizeof norm);
		return strcmp(norm, key) == 0;
	}
	return strcmp(name, key) == 0;
}

/*
 * Whether version is inside one range (events evaluated in version order:
 * introduced opens, fixed closes at itself, last_affected closes after
 * itself); *fixed: the first "fixed" above version, if any.
 */
static int in_range(const deps_scheme *sc, const cJSON *range, const char *version,
		    const char **fixed)
{
	const cJSON *events = cJSON_GetObjectItemCaseSensitive(range, "events"), *ev;
	const char *type = str(range, "type");
	const cJSON *sorted[64];
	int n = 0, i, j, affected = 0;

	if (!type || (strcmp(type, "ECOSYSTEM") != 0 && strcmp(type, "SEMVER") != 0))
		return 0;
	cJSON_ArrayForEach(ev, events)
		if (n < 64 && cJSON_IsObject(ev) && ev->child && cJSON_IsString(ev->child))
			sorted[n++] = ev;
	/* insertion sort by the event's version; "0" (introduced from the start) first */
	for (i = 1; i < n; i++) {
		const cJSON *x = sorted[i];

		for (j = i; j > 0; j--) {
			const char *a = sorted[j - 1]->child->valuestring, *b = x->child->valuestring;

			if (strcmp(b, "0") == 0 ? 0 : strcmp(a, "0") == 0 ? 1 : sc->cmp(a, b) <= 0)
				break;
			sorted[j] = sorted[j - 1];
		}
		sorted[j] = x;
	}
	for (i = 0; i < n; i++) {
		const char *k = sorted[i]->child->string, *v = sorted[i]->child->valuestring;

		if (strcmp(k, "introduced") == 0) {
			if (strcmp(v, "0") == 0 || sc->cmp(version, v) >= 0)
				affected = 1;
		} else if (strcmp(k, "fixed") == 0) {
			if (sc->cmp(version, v) >= 0)
				affected = 0;
			else if (affected && !*fixed)
				*fixed = v;
		} else if (strcmp(k, "last_affected") == 0) {
			if (sc->cmp(version, v) > 0)
				affected = 0;
		}
	}
	return affected;
}

/* The affected entry of adv that covers (eco, key, version), or NULL; *fixed as above. */
static const cJSON *affecting(const cJSON *adv, const deps_eco *eco, const char *key,
			      const char *version, const char **fixed)
{
	const cJSON *a, *r, *v;

	*fixed = NULL;
	cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(adv, "affected")) {
		int hit = 0;

		if (!same_package(eco, cJSON_GetObjectItemCaseSensitive(a, "package"), key))
			continue;
		cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(a, "versions"))
			if (cJSON_IsString(v) && eco->scheme->cmp(v->valuestring, version) == 0 &&
			    eco->scheme->valid(v->valuestring))
				hit = 1;
		cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(a, "ranges"))
			if (in_range(eco->scheme, r, version, fixed))
				hit = 1;
		if (hit)
			return a;
	}
	return NULL;
}

/* CVSS v3.x base score from its vector (FIRST's specification, section 7.1). */
static double cvss3(const char *vec)
{
	double av = -1, ac = -1, pr = -1, ui = -1, c = -1, in = -1, a = -1, iss, imp, expl, s;
	int changed = -1;
	const char *p;

	if (!vec || strncmp(vec, "CVSS:3", 6) != 0)
		return -1;
	for (p = strchr(vec, '/'); p && *p; p = strchr(p + 1, '/')) {
		char m[4] = {0}, val;
		const char *colon = strchr(p + 1, ':');

		if (!colon || colon - p - 1 > 3)
			continue;
		memcpy(m, p + 1, (size_t)(colon - p - 1));
		val = colon[1];
		if (!strcmp(m, "AV"))
			av = val == 'N' ? 0.85 : val == 'A' ? 0.62 : val == 'L' ? 0.55 : 0.2;
		else if (!strcmp(m, "AC"))
			ac = val == 'L' ? 0.77 : 0.44;
		else if (!strcmp(m, "PR"))
			pr = val == 'N' ? 0.85 : val == 'L' ? 0.62 : 0.27;	/* H; scope fixed below */
		else if (!strcmp(m, "UI"))
			ui = val == 'N' ? 0.85 : 0.62;
		else if (!strcmp(m, "S"))
			changed = val == 'C';
		else if (!strcmp(m, "C"))
			c = val == 'H' ? 0.56 : val == 'L' ? 0.22 : 0;
		else if (!strcmp(m, "I"))
			in = val == 'H' ? 0.56 : val == 'L' ? 0.22 : 0;
		else if (!strcmp(m, "A"))
			a = val == 'H' ? 0.56 : val == 'L' ? 0.22 : 0;
	}
	if (av < 0 || ac < 0 || pr < 0 || ui < 0 || changed < 0 || c < 0 || in < 0 || a < 0)
		return -1;
	if (changed && pr < 0.3)
		pr = 0.5;
	else if (changed && pr > 0.6 && pr < 0.7)
		pr = 0.68;
	iss = 1 - (1 - c) * (1 - in) * (1 - a);
	imp = changed ? 7.52 * (iss - 0.029) - 3.25 * pow(iss - 0.02, 15) : 6.42 * iss;
	expl = 8.22 * av * ac * pr * ui;
	if (imp <= 0)
		return 0;
	s = changed ? fmin(1.08 * (imp + expl), 10) : fmin(imp + expl, 10);
	return ceil(s * 10 - 1e-9) / 10;	/* "round up" to one decimal */
}

static const char *sev_word(const char *s)
{
	if (!s)
		return NULL;
	if (!strcasecmp(s, "critical"))
		return "critical";
	if (!strcasecmp(s, "high"))
		return "high";
	if (!strcasecmp(s, "moderate") || !strcasecmp(s, "medium"))
		return "medium";
	if (!strcasecmp(s, "low"))
		return "low";
	return NULL;
}

static const char *severity_of(const cJSON *adv, const cJSON *aff, double *score)
{
	const char *w;
	const cJSON *s;

	*score = -1;
	if ((w = sev_word(str(cJSON_GetObjectItemCaseSensitive(aff, "database_specific"), "severity"))) ||
	    (w = sev_word(str(cJSON_GetObjectItemCaseSensitive(adv, "database_specific"), "severity"))))
		return w;
	cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(adv, "severity")) {
		const char *sc = str(s, "score");
		char *end;
		double v;

		if (!sc)
			continue;
		v = cvss3(sc);
		if (v < 0) {
			v = strtod(sc, &end);
			if (end == sc || *end)
				continue;
		}
		*score = v;
		return v >= 9 ? "critical" : v >= 7 ? "high" : v >= 4 ? "medium" : v > 0 ? "low" : "info";
	}
	return "medium";
}

int deps_osv_match(const deps_osv *o, const deps_eco *eco, const char *key, const char *version,
		   const char *where, cJSON *out)
{
	const cJSON *adv;
	int n = 0;

	if (!o)
		return 0;
	cJSON_ArrayForEach(adv, o->list) {
		const char *fixed, *id = str(adv, "id"), *summary = str(adv, "summary");
		const cJSON *aff = affecting(adv, eco, key, version, &fixed);
		cJSON *f;
		char ev[512], rem[512], title[512], fp[512];
		double score;
		const char *sev;

		if (!aff)
			continue;
		sev = severity_of(adv, aff, &score);
		if (!summary)
			summary = str(adv, "details");
		snprintf(title, sizeof title, "%s %s: %s", key, version, summary ? summary : id);
		snprintf(ev, sizeof ev, "%s %s %s is affected by %s", eco->label, key, version, id);
		if (fixed)
			snprintf(rem, sizeof rem, "Update %s to %s or later (opsctl deps -s).", key, fixed);
		else
			snprintf(rem, sizeof rem, "No fixed version of %s is known: read %s and "
				 "consider another package or a mitigation.", key, id);
		snprintf(fp, sizeof fp, "%s %s %s", id, eco->name, key);
		if (!(f = cJSON_CreateObject()) || !cJSON_AddItemToArray(out, f))
			return n;
		cJSON_AddStringToObject(f, "rule", "dependencies.advisory");
		cJSON_AddStringToObject(f, "severity", sev);
		cJSON_AddStringToObject(f, "title", title);
		cJSON_AddStringToObject(f, "target", where);
		cJSON_AddStringToObject(f, "evidence", ev);
		cJSON_AddStringToObject(f, "remediation", rem);
		cJSON_AddStringToObject(f, "advisory", id);
		cJSON_AddItemToObject(f, "aliases", cJSON_Duplicate(
			cJSON_GetObjectItemCaseSensitive(adv, "aliases"), 1) ?: cJSON_CreateArray());
		cJSON_AddStringToObject(f, "summary", summary ? summary : "");
		cJSON_AddStringToObject(f, "ecosystem", eco->name);
		cJSON_AddStringToObject(f, "package", key);
		cJSON_AddStringToObject(f, "version", version);
		if (fixed)
			cJSON_AddStringToObject(f, "fixed", fixed);
		else
			cJSON_AddNullToObject(f, "fixed");
		if (score >= 0)
			cJSON_AddNumberToObject(f, "cvss_score", score);
		cJSON_AddStringToObject(f, "advisory_file", str(adv, "_file"));
		cJSON_AddStringToObject(f, "fp_extra", fp);
		n++;
	}
	return n;
}

int deps_osv_affects(const deps_osv *o, const char *id, const deps_eco *eco, const char *key,
		     const char *version)
{
	const cJSON *adv;
	const char *fixed;

	if (!o)
		return 0;
	cJSON_ArrayForEach(adv, o->list) {
		const char *aid = str(adv, "id");

		if (aid && strcmp(aid, id) == 0 && affecting(adv, eco, key, version, &fixed))
			return 1;
	}
	return 0;
}
