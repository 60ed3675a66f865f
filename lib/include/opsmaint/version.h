/*
 * What this opsctl is built from, as `curl -V` says: the libraries with
 * their versions and the features they bring.  Read at run time where the
 * library is mapped anyway (libpq, SQLite, OpenSSL, cJSON); libcurl and
 * libarchive are loaded on first use (core/lazylib.c), so their versions are
 * the ones built against unless probe asks to load them; hiredis has no
 * run-time version call.
 */
#ifndef OPSMAINT_VERSION_H
#define OPSMAINT_VERSION_H
#include "opsmaint/api.h"
OPS_API_BEGIN

#include <cjson/cJSON.h>
#include "opsmaint/error.h"

/*
 * Report: {"version", "libraries": [{"name", "version", "source"}...],
 * "features": [...]}.  source is "run time", "build" (the headers built
 * against; the library is loaded on first use), or "not loadable" (probe
 * tried and failed; version is then the build's).  probe loads libcurl and
 * libarchive (never an error: a library that cannot be loaded says so).
 */
ops_code ops_version_report(int probe, cJSON **report, ops_error *err);

OPS_API_END
#endif
