/*
 * What libopsmaint.so exports.  The library's objects are compiled with
 * -fvisibility=hidden, so a function is part of the shared library's ABI
 * only when a public header declares it between OPS_API_BEGIN and
 * OPS_API_END, as curl marks its API with CURL_EXTERN; the modules' helpers
 * (bk_*, vx_*, ll_*, the engines' ops_dbm_pg_*) stay inside the library,
 * where no program can come to depend on them.  Programs linked with the
 * static libopsmaint.a, the unit tests among them, still reach everything.
 *
 * Every public header includes this file and opens the region right after
 * its include guard, and closes it just before its #endif; scripts/check-layers
 * fails on a header that does not, and on any difference between what the
 * headers declare and what `nm -D libopsmaint.so` lists.
 *
 * It deliberately has no per-declaration macro: one region per header keeps
 * the declarations themselves free of annotations.
 */
#ifndef OPSMAINT_API_H
#define OPSMAINT_API_H

#if defined(__GNUC__)
#define OPS_API_BEGIN _Pragma("GCC visibility push(default)")
#define OPS_API_END _Pragma("GCC visibility pop")
#else
#define OPS_API_BEGIN
#define OPS_API_END
#endif

#endif
