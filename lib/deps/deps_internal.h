/*
 * The deps domain's private interface.  deps.c finds the manifests, asks
 * each ecosystem to read them, fetches the versions, matches the OSV
 * advisories (deps_osv.c), chooses the updates and, without -c, has each
 * ecosystem rewrite its manifests, then installs, tests and rolls back.
 *
 * One ecosystem is one module behind deps_eco (deps_python.c, deps_npm.c):
 * which manifest names it claims, how it reads them into deps, how it
 * fetches a package's versions from its registry, how it prepares an
 * update (hashes, integrity) and how it rewrites a manifest.  The third,
 * container images of compose files (deps_image.c), is one more row.
 */
#ifndef DEPS_INTERNAL_H
#define DEPS_INTERNAL_H

#include <stddef.h>
#include <stdio.h>
#include <cjson/cJSON.h>
#include "opsmaint/config.h"
#include "opsmaint/deps.h"
#include "opsmaint/error.h"
#include "opsmaint/http.h"
#include "opsmaint/run.h"

/* ---- versions (deps_version.c) ---- */

/* DEPS_DIGEST: the same tag, now another image (deps_image.c) */
typedef enum deps_kind { DEPS_NONE = 0, DEPS_PATCH, DEPS_MINOR, DEPS_MAJOR, DEPS_DIGEST } deps_kind;

#define DEPS_PEP440_MAX_REL 12
typedef struct deps_pep440 {
	long epoch;
	long release[DEPS_PEP440_MAX_REL];
	int nrel;
	int pre_type;		/* 0, 'a', 'b', 'c' (rc) */
	long pre;
	long post;		/* -1: none */
	long dev;		/* -1: none */
	char local[64];		/* normalised: lowercase, '.' separated; "" none */
} deps_pep440;

typedef struct deps_semver {
	long major, minor, patch;
	char pre[64];		/* "" none */
} deps_semver;

int deps_pep440_parse(const char *s, deps_pep440 *v);	/* 0 or -1 */
int deps_pep440_cmp_parsed(const deps_pep440 *a, const deps_pep440 *b);
int deps_pep440_cmp(const char *a, const char *b);
int deps_pep440_valid(const char *s);
int deps_pep440_prerelease(const char *s);
deps_kind deps_pep440_kind(const char *from, const char *to);
int deps_semver_parse(const char *s, deps_semver *v);	/* 0 or -1 */
int deps_semver_cmp_parsed(const deps_semver *a, const deps_semver *b);
int deps_semver_cmp(const char *a, const char *b);
int deps_semver_valid(const char *s);
int deps_semver_prerelease(const char *s);
deps_kind deps_semver_kind(const char *from, const char *to);
const char *deps_kind_name(deps_kind k);
void deps_pep503_name(const char *name, char *out, size_t size);

/* A version scheme, as the choosing and the advisory matching use it. */
typedef struct deps_scheme {
	const char *name;
	int (*valid)(const char *v);
	int (*cmp)(const char *a, const char *b);
	int (*prerelease)(const char *v);
	deps_kind (*kind)(const char *from, const char *to);
} deps_scheme;
extern const deps_scheme deps_scheme_pep440;
extern const deps_scheme deps_scheme_semver;

void deps_choose(const deps_scheme *sc, const char *current, char *const *versions, int type,
		 const char **allowed, const char **latest);

/* ---- the run's model ---- */

typedef struct deps_ctx deps_ctx;
typedef struct deps_eco deps_eco;

typedef struct deps_manifest {
	char *rel;		/* as configured, relative to deps.project_dir */
	char *path;		/* resolved, inside the project directory */
	const deps_eco *eco;
	int role;		/* the ecosystem's own kind of file */
	char *data;		/* the bytes read (NUL-terminated) */
	size_t len;
	char *new_data;		/* rewritten, or NULL: unchanged */
	size_t new_len;
	struct deps_manifest *partner;	/* package.json <-> package-lock.json */
} deps_manifest;

typedef struct deps_dep {
	const deps_eco *eco;
	deps_manifest *m;	/* where the pin is */
	long line;		/* 1-based */
	char *name;		/* as written */
	char *key;		/* normalised (PEP 503; npm names as they are) */
	char *current;		/* the pinned or locked version */
	char *spec;		/* the requirement or range as written ("==1.2", "^1.2.0") */
	int rewritable;		/* deps can change this pin */
	char *why_not;		/* when not: why (reported as the update's reason) */
	/* where in m->data the requirement's text is (Python), for the rewrite */
	size_t text_off, text_len;
	int hashed;		/* the requirement carries --hash options */
	/* results */
	char *allowed, *latest;
	deps_kind kind;
	cJSON *findings;	/* the advisories of current (scan finding model) */
	int fixes;		/* allowed fixes at least one of them */
	char *update_to;	/* chosen for this run, or NULL */
	char *refused;		/* why update_to could not be applied */
	cJSON *update_data;	/* the ecosystem's material for update_to (hashes, dist) */
} deps_dep;

struct deps_eco {
	const char *name;	/* OSV's ecosystem name: "PyPI", "npm" */
	const char *label;	/* the report's: "python", "node" */
	const deps_scheme *scheme;
	/* 1 when a manifest's base name is this ecosystem's (setting *role). */
	int (*claims)(const char *base, int *role);
	/* Read m->data into deps (deps_add).  OPS_EDATA naming FILE:LINE. */
	ops_code (*read)(deps_ctx *c, deps_manifest *m, ops_error *err);
	/* The package's published versions (not yanked), newly allocated. */
	ops_code (*versions)(deps_ctx *c, deps_dep *d, char ***out, ops_error *err);
	/* Fill d->update_data for d->update_to, or set d->refused. */
	ops_code (*prepare)(deps_ctx *c, deps_dep *d, ops_error *err);
	/* m->new_data from m->data and the deps in m with update_to set. */
	ops_code (*rewrite)(deps_ctx *c, deps_manifest *m, ops_error *err);
	/* Optional: after the versions are chosen, the ecosystem's own say
	 * (an image's digest drift when no newer tag is allowed). */
	ops_code (*settle)(deps_ctx *c, deps_dep *d, ops_error *err);
};

extern const deps_eco deps_eco_python;
extern const deps_eco deps_eco_node;
extern const deps_eco deps_eco_image;

/* ---- the run's state and the services to the ecosystems (deps_model.c) ---- */

struct deps_ctx {
	const ops_run *run;
	const ops_config *cfg;
	char root[4096];	/* the project directory, resolved */
	deps_manifest **ms;
	size_t nm;
	deps_dep **deps;
	size_t nd;
	ops_http *http;
	cJSON *cache;		/* url -> {"status", "body", "ctype"} */
};

void deps_ctx_free(deps_ctx *c);
/*
 * rel (relative to base, a directory inside the root) as a manifest of eco
 * with role: resolved through every link, refused when that lands outside
 * the root (OPS_ECONFIG), read whole (OPS_EDATA when it cannot be); *out
 * NULL when it is already one of the run's.
 */
ops_code deps_manifest_add(deps_ctx *c, const char *base, const char *rel, const deps_eco *eco,
			   int role, deps_manifest **out, ops_error *err);

const ops_run *deps_run(const deps_ctx *c);
const ops_config *deps_cfg(const deps_ctx *c);
/* A new dep in m at line; strings copied.  NULL when out of memory. */
deps_dep *deps_add(deps_ctx *c, deps_manifest *m, long line, const char *name,
		   const char *key, const char *current, const char *spec);
/* The deps of the run in order, and their count. */
deps_dep **deps_all(deps_ctx *c, size_t *n);
/* Another manifest of the run with base name base, in the same directory as m. */
deps_manifest *deps_sibling(deps_ctx *c, const deps_manifest *m, const char *base);
/*
 * A file another manifest names (requirements' -r/-c), relative to from's
 * directory: added to the run's manifests (read after those before it)
 * unless already there.  OPS_ECONFIG when it resolves outside the project
 * directory; OPS_EDATA naming FROM:LINE when it cannot be read.
 */
ops_code deps_include(deps_ctx *c, const deps_manifest *from, long line, const char *rel,
		      ops_error *err);
/* The run's HTTP client (c->http), made on first use. */
ops_code deps_http_client(deps_ctx *c, ops_error *err);
/* GET url with accept; the body (NUL-terminated) and its Content-Type;
 * 404 is OPS_EFAIL "NAME not found in REGISTRY". Cached for the run. */
ops_code deps_http_get(deps_ctx *c, const char *url, const char *accept, const char *what,
		       char **body, char **ctype, ops_error *err);
/* m->data as lines: the end of line used ("\n" or "\r\n"). */
const char *deps_eol(const deps_manifest *m);
/*
 * The end of a rewrite written to a memstream f over out/len: the rest of
 * m->data from pos, then f closed; m->new_data takes out when changed, else
 * out is freed.
 */
ops_code deps_rewrite_done(deps_manifest *m, FILE *f, char **out, size_t *len, size_t pos,
			   int changed, ops_error *err);
/* The start of line (1-based) in m->data, or NULL past its end. */
const char *deps_line_start(const deps_manifest *m, long line);
/* Set a refusal reason (printf). */
void deps_refuse(deps_dep *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void deps_strv_free(char **v);

/* ---- requirements line rewriting (deps_python.c), for the unit tests ---- */

/*
 * The text of one requirement (logical line, continuations included) with
 * its version replaced by to and, when it carries --hash options, those
 * replaced by hashes (sha256 hex, NULL-terminated) in the line's own layout.
 * Newly allocated; NULL when the line has no "==" pin, has hashes and none
 * are given, or out of memory.
 */
char *deps_req_rewrite_line(const char *line, const char *to, char *const *hashes);

/* ---- OSV advisories (deps_osv.c) ---- */

typedef struct deps_osv deps_osv;

/*
 * Read every *.json of dir (OSV schema).  *age_seconds: now minus the
 * newest "modified" or file mtime (-1 with no file).  A file that is not
 * OSV JSON is OPS_EDATA naming it.
 */
ops_code deps_osv_load(const char *dir, time_t now, deps_osv **out, double *age_seconds,
		       long *count, ops_error *err);
void deps_osv_free(deps_osv *o);
/*
 * The advisories affecting version of (ecosystem, name) as findings of the
 * scan finding model (rule "dependencies.advisory", severity, title,
 * target, evidence, remediation naming the fixed version, advisory id,
 * fixed), appended to out.  Returns how many.
 */
int deps_osv_match(const deps_osv *o, const deps_eco *eco, const char *key, const char *version,
		   const char *where, cJSON *out);
/* 1 when advisory id affects version of (eco, key). */
int deps_osv_affects(const deps_osv *o, const char *id, const deps_eco *eco, const char *key,
		     const char *version);

#endif
