/*
 * Encryption of backups at rest: AES-256-GCM in the STREAM construction, so
 * a stream of any length is encrypted and checked in constant memory, and
 * nothing a reader acts on was not authenticated first.
 *
 * Format:
 *   header   "OPSCTLE1" (8 bytes), version 1 (1 byte), 16 random bytes R
 *   segments each up to 64 KiB of plaintext as AES-256-GCM ciphertext
 *            followed by its 16-byte tag
 * The stream key is HKDF-SHA256(master key, salt R, "opsctl backup stream v1"),
 * so nonces never repeat across streams under one master key.  Segment i's
 * nonce is R[0..7) || i (4 bytes, big-endian) || final flag (1 byte: 1 on the
 * last segment, else 0), and the 25 header bytes are every segment's AAD:
 * reordering, dropping, truncating or extending the stream fails
 * authentication.  Every segment but the last holds exactly 64 KiB; the last
 * holds the rest, 0 to 65535 bytes, so a stream whose length is a multiple
 * of 64 KiB (the empty one included) ends with an empty final segment, and
 * n bytes of plaintext make 25 + n + 16 * (n / 65536 + 1) bytes.  Readers
 * also accept a full final segment, which the first encryptor wrote then.
 *
 * Once a call has failed, every later call on the same encryptor or
 * decryptor fails too; only free() remains.
 */
#ifndef OPSMAINT_CRYPT_H
#define OPSMAINT_CRYPT_H
#include "opsmaint/api.h"
OPS_API_BEGIN

#include <stddef.h>
#include "opsmaint/archive.h"	/* ops_sink_fn, shared with archives */
#include "opsmaint/error.h"

#define OPS_CRYPT_KEY_LEN 32

/*
 * A key file: 32 raw bytes, or 64 hex digits (a trailing newline allowed).
 * A file readable or writable by group or others, or not owned by the
 * effective user, is OPS_EPERM naming its mode; missing, or the wrong length
 * or content, is OPS_ECONFIG.  Key bytes never appear in any message.
 */
ops_code ops_crypt_load_key(const char *path, unsigned char key[OPS_CRYPT_KEY_LEN], ops_error *err);
/* A public fingerprint for manifests: 16 hex digits of SHA-256("opsctl-key-id" || key). */
void ops_crypt_key_id(const unsigned char key[OPS_CRYPT_KEY_LEN], char out[17]);

typedef struct ops_encryptor ops_encryptor;
ops_code ops_encryptor_new(const unsigned char key[OPS_CRYPT_KEY_LEN], ops_sink_fn sink, void *ctx,
			   ops_encryptor **out, ops_error *err);
ops_code ops_encryptor_write(ops_encryptor *e, const void *buf, size_t len, ops_error *err);
/* Emit the final segment; exactly once, for a complete stream. */
ops_code ops_encryptor_finish(ops_encryptor *e, ops_error *err);
void ops_encryptor_free(ops_encryptor *e);	/* NULL accepted; wipes key material */

typedef struct ops_decryptor ops_decryptor;
ops_code ops_decryptor_new(const unsigned char key[OPS_CRYPT_KEY_LEN], ops_sink_fn sink, void *ctx,
			   ops_decryptor **out, ops_error *err);
/* Ciphertext in pieces of any size; plaintext reaches sink only after its
 * segment's tag was verified. */
ops_code ops_decryptor_write(ops_decryptor *d, const void *buf, size_t len, ops_error *err);
/* OPS_EDATA when the stream was truncated or extended. */
ops_code ops_decryptor_finish(ops_decryptor *d, ops_error *err);
void ops_decryptor_free(ops_decryptor *d);

OPS_API_END
#endif
