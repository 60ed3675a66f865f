/*
 * libarchive and libcurl, loaded on first use.  Between them they bring some
 * 35 shared libraries (ICU through libxml2, gnutls, ldap, krb5, ...) whose
 * loading every command would pay at start-up (opsctl --version went from
 * 3 to 6 ms); only backups and HTTP (core/http.c, which S3 uses) need
 * them.  A module includes this header instead of <archive.h>/<curl/curl.h>,
 * calls ll_archive()/ll_curl() once at its entry points to load the library
 * (an OPS_EUNAVAIL error naming it when it is missing), and then calls the
 * usual names, which the macros below route through the table.  Only
 * core/http.c and core/smtp.c use libcurl.  Internal to libopsmaint.
 */
#ifndef OPSMAINT_LAZYLIB_H
#define OPSMAINT_LAZYLIB_H

#include "opsmaint/error.h"

#ifdef LL_WANT_ARCHIVE
#include <archive.h>
#include <archive_entry.h>

#define LL_ARCHIVE_FUNCS(X) \
	X(archive_error_string) X(archive_set_error) \
	X(archive_write_new) X(archive_write_free) X(archive_write_open) X(archive_write_close) \
	X(archive_write_header) X(archive_write_data) X(archive_write_finish_entry) \
	X(archive_write_set_format_pax_restricted) X(archive_write_set_format_raw) \
	X(archive_write_add_filter_zstd) X(archive_write_add_filter_gzip) X(archive_write_add_filter_none) \
	X(archive_write_set_filter_option) X(archive_write_set_bytes_in_last_block) \
	X(archive_read_new) X(archive_read_free) X(archive_read_open) X(archive_read_next_header) \
	X(archive_read_open_filename) \
	X(archive_read_data) X(archive_read_support_filter_zstd) X(archive_read_support_filter_gzip) \
	X(archive_read_support_format_tar) X(archive_read_support_format_raw) \
	X(archive_entry_new) X(archive_entry_free) X(archive_entry_set_pathname) \
	X(archive_entry_set_size) X(archive_entry_set_filetype) X(archive_entry_set_perm) \
	X(archive_entry_set_mtime) X(archive_entry_pathname) X(archive_entry_size) \
	X(archive_entry_filetype) X(archive_entry_hardlink) X(archive_version_details) \
	X(archive_entry_mtime) X(archive_entry_symlink) X(archive_write_set_bytes_per_block)

struct ll_archive_api {
#define LL_FIELD(sym) __typeof__(&sym) sym;
	LL_ARCHIVE_FUNCS(LL_FIELD)
#undef LL_FIELD
};
extern struct ll_archive_api ll_archive_api;
/* Load libarchive.so.13 once; OPS_EUNAVAIL when it cannot be. */
ops_code ll_archive(ops_error *err);

#ifndef LL_NO_MACROS
#define archive_error_string (ll_archive_api.archive_error_string)
#define archive_set_error (ll_archive_api.archive_set_error)
#define archive_write_new (ll_archive_api.archive_write_new)
#define archive_write_free (ll_archive_api.archive_write_free)
#define archive_write_open (ll_archive_api.archive_write_open)
#define archive_write_close (ll_archive_api.archive_write_close)
#define archive_write_header (ll_archive_api.archive_write_header)
#define archive_write_data (ll_archive_api.archive_write_data)
#define archive_write_finish_entry (ll_archive_api.archive_write_finish_entry)
#define archive_write_set_format_pax_restricted (ll_archive_api.archive_write_set_format_pax_restricted)
#define archive_write_set_format_raw (ll_archive_api.archive_write_set_format_raw)
#define archive_write_add_filter_zstd (ll_archive_api.archive_write_add_filter_zstd)
#define archive_write_add_filter_gzip (ll_archive_api.archive_write_add_filter_gzip)
#define archive_write_add_filter_none (ll_archive_api.archive_write_add_filter_none)
#define archive_write_set_filter_option (ll_archive_api.archive_write_set_filter_option)
#define archive_write_set_bytes_in_last_block (ll_archive_api.archive_write_set_bytes_in_last_block)
#define archive_read_new (ll_archive_api.archive_read_new)
#define archive_read_free (ll_archive_api.archive_read_free)
#define archive_read_open (ll_archive_api.archive_read_open)
#define archive_read_open_filename (ll_archive_api.archive_read_open_filename)
#define archive_read_next_header (ll_archive_api.archive_read_next_header)
#define archive_read_data (ll_archive_api.archive_read_data)
#define archive_read_support_filter_zstd (ll_archive_api.archive_read_support_filter_zstd)
#define archive_read_support_filter_gzip (ll_archive_api.archive_read_support_filter_gzip)
#define archive_read_support_format_tar (ll_archive_api.archive_read_support_format_tar)
#define archive_read_support_format_raw (ll_archive_api.archive_read_support_format_raw)
#define archive_entry_new (ll_archive_api.archive_entry_new)
#define archive_entry_free (ll_archive_api.archive_entry_free)
#define archive_entry_set_pathname (ll_archive_api.archive_entry_set_pathname)
#define archive_entry_set_size (ll_archive_api.archive_entry_set_size)
#define archive_entry_set_filetype (ll_archive_api.archive_entry_set_filetype)
#define archive_entry_set_perm (ll_archive_api.archive_entry_set_perm)
#define archive_entry_set_mtime (ll_archive_api.archive_entry_set_mtime)
#define archive_entry_pathname (ll_archive_api.archive_entry_pathname)
#define archive_version_details (ll_archive_api.archive_version_details)
#define archive_entry_size (ll_archive_api.archive_entry_size)
#define archive_entry_filetype (ll_archive_api.archive_entry_filetype)
#define archive_entry_hardlink (ll_archive_api.archive_entry_hardlink)
#define archive_entry_mtime (ll_archive_api.archive_entry_mtime)
#define archive_entry_symlink (ll_archive_api.archive_entry_symlink)
#define archive_write_set_bytes_per_block (ll_archive_api.archive_write_set_bytes_per_block)
#endif
#endif

#ifdef LL_WANT_CURL
/* curl.h's type-checking macros would take curl_easy_setopt's name. */
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>

#define LL_CURL_FUNCS(X) \
	X(curl_global_init) X(curl_easy_init) X(curl_easy_cleanup) X(curl_easy_reset) \
	X(curl_easy_setopt) X(curl_easy_perform) X(curl_easy_getinfo) X(curl_easy_strerror) \
	X(curl_slist_append) X(curl_slist_free_all) X(curl_version)

struct ll_curl_api {
#define LL_FIELD(sym) __typeof__(&sym) sym;
	LL_CURL_FUNCS(LL_FIELD)
#undef LL_FIELD
};
extern struct ll_curl_api ll_curl_api;
/* Load libcurl.so.4 once; OPS_EUNAVAIL when it cannot be. */
ops_code ll_curl(ops_error *err);

#ifndef LL_NO_MACROS
/* curl.h wraps these two in function-like macros of its own. */
#undef curl_easy_setopt
#undef curl_easy_getinfo
#define curl_global_init (ll_curl_api.curl_global_init)
#define curl_easy_init (ll_curl_api.curl_easy_init)
#define curl_easy_cleanup (ll_curl_api.curl_easy_cleanup)
#define curl_easy_reset (ll_curl_api.curl_easy_reset)
#define curl_easy_setopt (ll_curl_api.curl_easy_setopt)
#define curl_easy_perform (ll_curl_api.curl_easy_perform)
#define curl_easy_getinfo (ll_curl_api.curl_easy_getinfo)
#define curl_easy_strerror (ll_curl_api.curl_easy_strerror)
#define curl_slist_append (ll_curl_api.curl_slist_append)
#define curl_slist_free_all (ll_curl_api.curl_slist_free_all)
#define curl_version (ll_curl_api.curl_version)
#endif
#endif

#endif
