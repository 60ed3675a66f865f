/*
 * `opsctl deps` (guide 000 section 8.3, update-dependencies.sh; guide 003's
 * weekly_dependency_update.sh): the application's dependencies, the updates
 * their registries offer, the known vulnerabilities of the versions in use,
 * and updating the pins safely.
 *
 * Manifests are read from the configured project directory only (Python
 * requirements*.txt, pyproject.toml and poetry.lock; Node package.json and
 * package-lock.json); versions come from a PEP 503 simple index and an npm
 * registry; advisories from a directory of OSV JSON files synced
 * separately.  An update rewrites only the pins, keeping everything else in
 * the files byte for byte, runs the configured install and test commands,
 * and puts every manifest back as it was when either fails.
 */
#ifndef OPSMAINT_DEPS_H
#define OPSMAINT_DEPS_H
#include "opsmaint/api.h"
OPS_API_BEGIN

#include <cjson/cJSON.h>
#include "opsmaint/error.h"
#include "opsmaint/run.h"

/* -t/--type: which changes an update may make. */
enum {
	OPS_DEPS_T_MINOR = 0,	/* patch and minor within the major (0.y: patch only) */
	OPS_DEPS_T_MAJOR,	/* any newer stable release */
	OPS_DEPS_T_ALL		/* any newer release, pre-releases included */
};

typedef struct ops_deps_req {
	const ops_run *run;
	int type;		/* OPS_DEPS_T_* */
	int check_only;		/* -c: report, change nothing */
	int security_only;	/* -s: only updates that fix an advisory */
	int backup;		/* -b: copy the manifests away first */
} ops_deps_req;

/* "minor" -> OPS_DEPS_T_MINOR; -1 for a word that is none. */
int ops_deps_type_parse(const char *word);

/*
 * Check (and without check_only, update).  *report: "dependencies" (package,
 * ecosystem, manifest, current, allowed update, latest, kind, advisories),
 * "findings" (the scan finding model), advisory set age, and what was
 * updated or rolled back.  OPS_EFAIL when an advisory at or above
 * deps.severity affects a version left in use, or when the install or test
 * command failed (the manifests then restored); OPS_EDATA for a manifest
 * that cannot be read, naming FILE:LINE; OPS_ECONFIG for a project path
 * outside the project directory.
 */
ops_code ops_deps(const ops_deps_req *req, cJSON **report, ops_error *err);

/*
 * For `opsctl scan -t dependencies`: the advisory findings of the versions
 * in use (no registry is asked), as an array of findings with rule,
 * severity, title, target, file, line, evidence, remediation and a
 * fingerprint seed ("fp_extra").  *out NULL with OPS_OK when deps is not
 * configured (no manifest found).
 */
ops_code ops_deps_findings(const ops_run *run, cJSON **out, ops_error *err);

OPS_API_END
#endif
