/*
 * SHA-256 through OpenSSL's EVP interface (SHA-NI where the CPU has it), in
 * the lowercase hex form manifests record.
 */
#ifndef OPSMAINT_HASH_H
#define OPSMAINT_HASH_H
#include "opsmaint/api.h"
OPS_API_BEGIN

#include <stddef.h>

typedef struct ops_sha256 ops_sha256;

ops_sha256 *ops_sha256_new(void);	/* NULL on OOM */
void ops_sha256_update(ops_sha256 *h, const void *data, size_t len);
/* The digest of everything so far; h starts over afterwards. */
void ops_sha256_final_hex(ops_sha256 *h, char out[65]);
void ops_sha256_free(ops_sha256 *h);

/* One-shot digest of a buffer. */
void ops_sha256_hex(const void *data, size_t len, char out[65]);

OPS_API_END
#endif
