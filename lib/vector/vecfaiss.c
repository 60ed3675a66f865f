/*
 * Loading the FAISS plugin (vecfaiss.h).  Loaded once per process; the
 * first failure is remembered and reported the same way every time.
 */
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vector/vecfaiss.h"

#ifndef OPS_PLUGINDIR
#define OPS_PLUGINDIR "/usr/local/lib/opsctl"
#endif
#define PLUGIN "opsctl-faiss.so"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static struct vf_api api;
static ops_error load_err;
static int loaded;

static void *try_open(const char *path, char *tried, size_t len)
{
	size_t used = strlen(tried);
	void *h;

	if (!path || access(path, R_OK) != 0) {
		if (path && used + strlen(path) + 3 < len)
			snprintf(tried + used, len - used, "%s%s", used ? ", " : "", path);
		return NULL;
	}
	h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h)
		ops_error_set(&load_err, OPS_EUNAVAIL, "cannot load FAISS support %s: %s", path,
			      dlerror());
	return h;
}

static void load(void)
{
	char exe[PATH_MAX], beside[PATH_MAX + 32], tried[3 * PATH_MAX] = "";
	const char *env = getenv("OPSCTL_FAISS_PLUGIN");
	void *h = NULL;
	ssize_t n;

	ops_error_clear(&load_err);
	/* FAISS runs its loops on OpenMP and its matrix products on Debian's
	 * pthread OpenBLAS; with both pools spinning while they wait, each
	 * steals the cores the other needs (on two cores a 20-query check took
	 * 0.4 to 1.3 s instead of 0.05).  libgomp reads this when it loads, so
	 * it is set before the plugin is opened, unless the user chose. */
	setenv("OMP_WAIT_POLICY", "PASSIVE", 0);
	if (env && *env) {
		h = try_open(env, tried, sizeof tried);
	} else {
		n = readlink("/proc/self/exe", exe, sizeof exe - 1);
		if (n > 0) {
			char *slash;

			exe[n] = '\0';
			slash = strrchr(exe, '/');
			if (slash) {
				*slash = '\0';
				snprintf(beside, sizeof beside, "%s/%s", exe, PLUGIN);
				h = try_open(beside, tried, sizeof tried);
			}
		}
		if (!h && load_err.code == OPS_OK)
			h = try_open(OPS_PLUGINDIR "/" PLUGIN, tried, sizeof tried);
	}
	if (!h) {
		if (load_err.code == OPS_OK) {
			ops_error_set(&load_err, OPS_EUNAVAIL,
				      "FAISS support (%s) not found; looked at %s", PLUGIN, tried);
			ops_error_hint(&load_err, "install opsctl with `make install`, or set "
				       "OPSCTL_FAISS_PLUGIN");
		}
		return;
	}
#define VF_RESOLVE(name, sym) \
	if (!(*(void **)&api.name = dlsym(h, #sym))) { \
		ops_error_set(&load_err, OPS_EUNAVAIL, "FAISS support lacks %s", #sym); \
		return; \
	}
	VF_FUNCS(VF_RESOLVE)
#undef VF_RESOLVE
	*(void **)&api.reserve = dlsym(h, "opsctl_faiss_reserve");
	*(void **)&api.reserve_lists = dlsym(h, "opsctl_faiss_reserve_lists");
	loaded = 1;
}

ops_code vf_load(const struct vf_api **out, ops_error *err)
{
	pthread_once(&once, load);
	if (!loaded) {
		*err = load_err;
		*out = NULL;
		return err->code;
	}
	*out = &api;
	return OPS_OK;
}

ops_code vf_error(const struct vf_api *f, ops_error *err, ops_code code, const char *what)
{
	const char *m = f->get_last_error();
	char line[300];
	size_t i;

	/* FAISS messages span lines ("Error in ... at file:line: ..."). */
	snprintf(line, sizeof line, "%s", m ? m : "unknown error");
	for (i = 0; line[i]; i++)
		if (line[i] == '\n' || line[i] == '\r')
			line[i] = ' ';
	return ops_error_set(err, code, "%s: %s", what, line);
}
