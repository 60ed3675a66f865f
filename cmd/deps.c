/*
 * `opsctl deps`: the front end of lib/deps, with update-dependencies.sh's
 * flags (guide 000 section 8.3) and guide 003's weekly_dependency_update.sh.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "opsmaint/deps.h"

ops_code cli_op_deps(struct cli_inv *inv, const ops_run *run, cJSON **report, ops_error *err)
{
	ops_deps_req req = {0};

	req.run = run;
	req.type = ops_deps_type_parse(cli_str(inv, "type"));
	if (req.type < 0)
		req.type = OPS_DEPS_T_MINOR;
	req.check_only = cli_flag(inv, "check-only");
	req.security_only = cli_flag(inv, "security-only");
	req.backup = cli_flag(inv, "backup");
	return ops_deps(&req, report, err);
}

const struct cli_opt cli_deps_opts[] = {
	CLI_OPT_ENUM('t', "type", "TYPE", "minor,major,all",
		     "update type: minor (patch and minor), major (any newer release), all (major "
		     "and pre-releases)", .def = "minor"),
	CLI_OPT_FLAG('c', "check-only", "check for updates and advisories without applying"),
	CLI_OPT_FLAG('s', "security-only", "only update packages whose new version fixes an "
		     "advisory"),
	CLI_OPT_FLAG('b', "backup", "back up the manifests first, into STATE_DIR/deps/"),
	CLI_OPT_FLAG('y', "yes", "update without asking first on a terminal (from cron it never "
		     "asks)"),
	CLI_OPT_VERBOSE('v'),
	CLI_OPT_END
};

const char cli_deps_description[] =
	"Checks and updates the application's dependencies, as update-dependencies.sh does "
	"(guide 000 section 8.3) and guide 003's weekly_dependency_update.sh (pip-audit, pip "
	"list --outdated, the patch updates, the tests after).\n\n"
	"It reads the manifests in deps.project_dir (deps.manifests, or those that exist of "
	"requirements*.txt with their -r and -c includes, pyproject.toml with poetry.lock, "
	"package.json with package-lock.json) and never reads or writes one that resolves "
	"outside it. For each dependency it shows the version in use (the == pin, or the "
	"lock's), the newest update -t allows, the newest release, and the advisories that "
	"affect the version in use. Versions come from a PEP 503 simple index (deps.pypi_index; "
	"yanked files are never chosen) and an npm registry (deps.npm_registry); advisories from "
	"a directory of OSV JSON files (deps.advisories_dir, synced by something else), whose "
	"age is reported and warned about past deps.advisories_max_age.\n\n"
	"What -t allows: minor, patch and minor updates within the same major version; major, "
	"any newer stable release; all, any newer release, pre-releases included. Below 1.0 a "
	"change of the second number is a major change, as semantic versioning and npm's caret "
	"treat it, so -t minor moves 0.4.1 to 0.4.3 but not to 0.5.0; this holds for Python "
	"packages too. A pre-release is otherwise chosen only when the version in use is one. "
	"Versions are ordered by PEP 440 for Python (epochs, pre, post and dev releases, local "
	"versions) and by semver 2.0.0 for npm.\n\n"
	"Without -c the pins of the allowed kind are rewritten (with -s only those whose new "
	"version fixes an advisory of the version in use): a requirements line keeps its "
	"extras, markers, comment and layout, and its --hash options are replaced by the new "
	"version's sha256 from the index (or the update is refused for that package, with the "
	"reason); package-lock.json gets the new version, resolved URL and integrity of a "
	"top-level dependency, and package.json's range (its operator kept) when the new "
	"version is outside it. poetry.lock pins are reported, not rewritten (poetry update "
	"does that). -b copies every manifest to STATE_DIR/deps/backup-STAMP/ with a "
	"SHA256SUMS first. Then deps.install_command and deps.test_command run in the project "
	"directory (argv, no shell, deps.command_timeout each, their output's tail in the "
	"report); when either fails every rewritten manifest is written back byte for byte and "
	"the run exits 1 naming the command and its exit status. The journal line and the "
	"textfile say how many pins were updated and whether the update was rolled back.\n\n"
	"Container images: every service's image: in the compose files (compose.yaml, "
	"compose.yml, docker-compose.yml, docker-compose.yaml, or any *compose*.yml/.yaml "
	"deps.manifests names), written [REGISTRY[:PORT]/]REPO[:TAG][@sha256:DIGEST] with Docker "
	"Hub's defaults (docker.io, library/). Tags come from the registry's Docker Registry HTTP "
	"API v2 (the OCI distribution spec: GET /v2/REPO/tags/list across its Link pages, HEAD "
	"/v2/REPO/manifests/TAG for Docker-Content-Digest), reached at deps.image_registries' URL "
	"for the host or https://HOST (registry-1.docker.io for docker.io); a registry that "
	"answers 401 gets HTTP Basic or, when it names a token service (Bearer realm, as Docker "
	"Hub does), a token fetched with the credentials of deps.registry_auth_file (a docker "
	"config.json's auths: auth, or username and password; anonymous without one); they "
	"never appear in argv, logs or messages. A refused login exits 77. A tag is a version "
	"when it is [v]N[.N[.N[.N]]][-SUFFIX]; its candidates are the tags of the same shape "
	"only, the same v, as many numbers and the same suffix (15-alpine may move to "
	"16-alpine, never to 16 or 15.3-alpine), and -t applies as for packages. An image "
	"pinned by digest is checked against what its tag points at now: when no newer tag is "
	"allowed and the two differ (latest re-pushed, 15-alpine rebuilt) the update is of kind "
	"digest. The update rewrites the image value on its line only (quotes, comments and "
	"layout kept) and replaces a pinned digest with the new tag's, never leaving it stale. "
	"${VAR} interpolation is not resolved (compose resolves it from an environment cron "
	"does not have): such an image is listed with a note and left alone; merge keys and "
	"extends: are not followed. Images have no OSV ecosystem: the advisories of the "
	"Debian or Alpine packages inside an image need a scan of the image, which `opsctl scan "
	"-t container` does with trivy when it is installed.\n\n"
	"On a terminal the update asks first (-y answers yes); from cron it does not ask. It "
	"does not wait for the maintenance window: it changes text files that it restores when "
	"the tests fail, and no data.\n\n"
	"Exit status: 0 when no advisory at or above deps.severity (default high) affects a "
	"version left in use, whether updates are available or not (-c is a report); 1 when one "
	"does, or when the install or test command failed; 69 when a registry cannot be "
	"reached; 77 when a registry refuses the credentials; 65 for a manifest that cannot be "
	"read (naming FILE:LINE for a bad version or image reference); "
	"78 for a manifest outside the project directory. `opsctl scan -t dependencies` reports "
	"the same advisories as scan findings (rule dependencies.advisory).";

const char cli_deps_examples[] =
	"What could be updated, and what is vulnerable (guide 003, weekly)\nopsctl deps -c\n"
	"The weekly patch and minor updates, manifests backed up, tests run after\n"
	"opsctl deps -t minor -b\n"
	"Only what fixes an advisory, whatever the kind of change\nopsctl deps -s -t major\n"
	"The images of a compose file, newer tags and digest drift\n"
	"opsctl deps -c -t major --output json\n"
	"For a CI step\nopsctl deps -c --output json";
