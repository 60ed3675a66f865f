/*
 * The build's libraries and features for `opsctl --version` (version.h).
 * Loading libcurl or libarchive only to name their versions would make
 * --version pay the start-up cost lazylib.c exists to avoid, so that is
 * done only when asked (probe).  FAISS lives in the vector plugin, which
 * only lib/vector loads; this module names it and does not load it.
 */
#include <stdio.h>
#include <string.h>

#include <archive.h>
#include <curl/curlver.h>
#include <hiredis/hiredis.h>
#include <libpq-fe.h>
#include <openssl/crypto.h>
#include <sqlite3.h>

#define LL_WANT_ARCHIVE
#define LL_WANT_CURL
#include "core/lazylib.h"
#include "opsmaint/version.h"

static int add_lib(cJSON *libs, const char *name, const char *version, const char *source)
{
	cJSON *o = cJSON_CreateObject();

	if (!o || !cJSON_AddItemToArray(libs, o)) {
		cJSON_Delete(o);
		return -1;
	}
	return cJSON_AddStringToObject(o, "name", name) &&
	       cJSON_AddStringToObject(o, "version", version) &&
	       cJSON_AddStringToObject(o, "source", source) ? 0 : -1;
}

/* The version after lib in a library's own list of what it is built
 * with: "libzstd/" in "libarchive 3.6.2 zlib/1.2.13 libzstd/1.5.4" is 1.5.4. */
static const char *detail(const char *details, const char *lib, char *buf, size_t len)
{
	const char *p = details ? strstr(details, lib) : NULL;

	if (!p)
		return NULL;
	p += strlen(lib);
	snprintf(buf, len, "%.*s", (int)strcspn(p, " "), p);
	return buf;
}

ops_code ops_version_report(int probe, cJSON **report, ops_error *err)
{
	cJSON *rep = cJSON_CreateObject(), *libs, *feat;
	char pq[32], hi[32], zstd[32], cv[32], av[32];
	const char *curl_v = LIBCURL_VERSION, *curl_src = "build";
	const char *arch_v = ARCHIVE_VERSION_ONLY_STRING, *arch_src = "build";
	const char *zstd_v = NULL;
	ops_error lerr;
	int bad = 0;

	*report = NULL;
	if (!rep)
		return ops_error_oom(err);
	/* PQlibVersion: 150005 is 15.5 (major * 10000 + minor since 10). */
	snprintf(pq, sizeof pq, "%d.%d", PQlibVersion() / 10000, PQlibVersion() % 10000);
	snprintf(hi, sizeof hi, "%d.%d.%d", HIREDIS_MAJOR, HIREDIS_MINOR, HIREDIS_PATCH);
	if (probe) {
		if (ll_curl(&lerr) == OPS_OK) {
			/* "libcurl/7.88.1 OpenSSL/3.0.11 zlib/...": its own part. */
			curl_v = detail(curl_version(), "libcurl/", cv, sizeof cv);
			if (!curl_v)
				curl_v = LIBCURL_VERSION;
			curl_src = "run time";
		} else {
			curl_src = "not loadable";
		}
		if (ll_archive(&lerr) == OPS_OK) {
			const char *d = archive_version_details();

			if (detail(d, "libarchive ", av, sizeof av))
				arch_v = av;
			zstd_v = detail(d, "libzstd/", zstd, sizeof zstd);
			arch_src = "run time";
		} else {
			arch_src = "not loadable";
		}
	}
	bad |= !cJSON_AddStringToObject(rep, "version", OPS_VERSION);
	libs = cJSON_AddArrayToObject(rep, "libraries");
	bad |= !libs;
	bad |= libs && add_lib(libs, "libpq", pq, "run time");
	bad |= libs && add_lib(libs, "SQLite", sqlite3_libversion(), "run time");
	bad |= libs && add_lib(libs, "OpenSSL", OpenSSL_version(OPENSSL_VERSION_STRING), "run time");
	bad |= libs && add_lib(libs, "cJSON", cJSON_Version(), "run time");
	bad |= libs && add_lib(libs, "hiredis", hi, "build");
	bad |= libs && add_lib(libs, "libcurl", curl_v, curl_src);
	bad |= libs && add_lib(libs, "libarchive", arch_v, arch_src);
	bad |= libs && add_lib(libs, "zstd", zstd_v ? zstd_v : "through libarchive",
			       zstd_v ? "run time" : arch_src);
	bad |= libs && add_lib(libs, "FAISS", "in opsctl-faiss.so", "loaded on first use");
	feat = cJSON_AddArrayToObject(rep, "features");
	bad |= !feat;
	if (feat) {
		static const char *const f[] = {
			"PostgreSQL", "SQLite", "Redis", "S3 (AWS SigV4)", "zstd", "gzip",
			"AES-256-GCM backups", "SHA-256 manifests", "FAISS index", "Prometheus textfile",
			NULL
		};
		size_t i;

		for (i = 0; f[i]; i++)
			bad |= !cJSON_AddItemToArray(feat, cJSON_CreateString(f[i]));
	}
	if (bad) {
		cJSON_Delete(rep);
		return ops_error_oom(err);
	}
	*report = rep;
	return OPS_OK;
}
