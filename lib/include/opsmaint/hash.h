/*
 * SHA-256 through OpenSSL's EVP interface (SHA-NI where the CPU has it), in
 * the lowercase hex form manifests record.
 */
#ifndef OPSMAINT_HASH_H
#define OPSMAINT_HASH_H
#include "opsmaint/api.h"
OPS_API_BEGIN

#include <stddef.h>
#include <stdint.h>

typedef struct ops_sha256 ops_sha256;

ops_sha256 *ops_sha256_new(void);	/* NULL on OOM */
void ops_sha256_update(ops_sha256 *h, const void *data, size_t len);
/* The digest of everything so far; h starts over afterwards. */
void ops_sha256_final_hex(ops_sha256 *h, char out[65]);
void ops_sha256_free(ops_sha256 *h);

/* One-shot digest of a buffer. */
void ops_sha256_hex(const void *data, size_t len, char out[65]);

/* The value of one hex digit (either case), or -1: for reading back the hex
 * this module and others write (digests, keys, NAME_hex). */
int ops_hex_digit(int c);

/*
 * CRC-32C (Castagnoli, as iSCSI and ext4 use it) of len bytes continuing
 * crc (0 to start): a check that bytes came back as they went out, at
 * memory speed (the CPU's crc32 instruction where it has one), where a
 * second SHA-256 of the same bytes would cost far more.  Not a digest: it
 * catches damage, not tampering.
 */
uint32_t ops_crc32c(uint32_t crc, const void *data, size_t len);

OPS_API_END
#endif
