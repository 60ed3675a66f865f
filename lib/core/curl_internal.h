/*
 * What core/http.c and core/smtp.c, libcurl's two users, share inside
 * lib/core.  Include after core/lazylib.h with LL_WANT_CURL defined.
 */
#ifndef OPSMAINT_CURL_INTERNAL_H
#define OPSMAINT_CURL_INTERNAL_H

#include <stddef.h>

/*
 * Why the server's certificate did not verify (CURLE_PEER_FAILED_VERIFICATION),
 * in words an operator can act on: "the certificate has expired", "... is
 * for another host name", "... is signed by an unknown CA (...)"; reason is
 * libcurl's error buffer, the fallback.
 */
void core_tls_cause(CURL *c, const char *reason, char *out, size_t size);

#endif
