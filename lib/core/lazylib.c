/*
 * Loading libarchive and libcurl on first use (lazylib.h).  The tables are
 * filled from the real declarations, so the types are the libraries' own.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <string.h>

#define LL_WANT_ARCHIVE
#define LL_WANT_CURL
#define LL_NO_MACROS	/* here the names are the libraries' own */
#include "core/lazylib.h"

struct ll_archive_api ll_archive_api;
struct ll_curl_api ll_curl_api;

static pthread_once_t archive_once = PTHREAD_ONCE_INIT, curl_once = PTHREAD_ONCE_INIT;
static ops_error archive_err, curl_err;

static void *open_lib(const char *const names[], ops_error *err)
{
	void *h = NULL;
	size_t i;

	for (i = 0; names[i] && !h; i++)
		h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
	if (!h)
		ops_error_set(err, OPS_EUNAVAIL, "cannot load %s: %s", names[0], dlerror());
	return h;
}

static void load_archive(void)
{
	static const char *const names[] = {"libarchive.so.13", "libarchive.so", NULL};
	void *h = open_lib(names, &archive_err);

	if (!h)
		return;
#define LL_RESOLVE(sym) \
	if (!(*(void **)&ll_archive_api.sym = dlsym(h, #sym))) { \
		ops_error_set(&archive_err, OPS_EUNAVAIL, "libarchive lacks %s", #sym); \
		return; \
	}
	LL_ARCHIVE_FUNCS(LL_RESOLVE)
#undef LL_RESOLVE
}

static void load_curl(void)
{
	static const char *const names[] = {"libcurl.so.4", "libcurl.so", NULL};
	void *h = open_lib(names, &curl_err);

	if (!h)
		return;
#define LL_RESOLVE(sym) \
	if (!(*(void **)&ll_curl_api.sym = dlsym(h, #sym))) { \
		ops_error_set(&curl_err, OPS_EUNAVAIL, "libcurl lacks %s", #sym); \
		return; \
	}
	LL_CURL_FUNCS(LL_RESOLVE)
#undef LL_RESOLVE
}

ops_code ll_archive(ops_error *err)
{
	pthread_once(&archive_once, load_archive);
	if (archive_err.code != OPS_OK) {
		*err = archive_err;
		return err->code;
	}
	return OPS_OK;
}

ops_code ll_curl(ops_error *err)
{
	pthread_once(&curl_once, load_curl);
	if (curl_err.code != OPS_OK) {
		*err = curl_err;
		return err->code;
	}
	return OPS_OK;
}
