/*
 * AES-256-GCM STREAM encryption (format in crypt.h) through OpenSSL's EVP
 * interface.  Both directions hold one segment at a time; the decryptor
 * keeps one segment back until it knows whether more follows, because only
 * the end of the input says which segment must carry the final flag.  That
 * also lets it read a stream whose final segment is a full one, as the
 * first version of the encryptor wrote after an exact multiple of 64 KiB.
 * After any error both directions refuse further calls: a caller that goes
 * on regardless gets the error again, never a half-checked segment.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include "opsmaint/crypt.h"
#include "opsmaint/hash.h"

#define SEG 65536u
#define TAG 16u
#define HDR 25u
#define MAGIC "OPSCTLE1"
#define VERSION 1
#define INFO "opsctl backup stream v1"

ops_code ops_crypt_load_key(const char *path, unsigned char key[OPS_CRYPT_KEY_LEN], ops_error *err)
{
	unsigned char buf[160];
	struct stat st;
	ssize_t n;
	size_t len, i;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0) {
		if (errno == EACCES || errno == EPERM)
			return ops_error_errno(err, errno, "cannot read key file", path);
		/* O_NOFOLLOW: the checked file is the named one, not whatever a link points to. */
		if (errno == ELOOP) {
			ops_error_set(err, OPS_ECONFIG, "key file '%s' is a symbolic link", path);
			ops_error_hint(err, "Name the key file itself, not a link to it.");
			return OPS_ECONFIG;
		}
		return ops_error_set(err, OPS_ECONFIG, "cannot open key file '%s': %s", path, strerror(errno));
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return ops_error_set(err, OPS_ECONFIG, "key file '%s' is not a regular file", path);
	}
	if (st.st_uid != geteuid()) {
		close(fd);
		ops_error_set(err, OPS_EPERM, "key file '%s' is owned by uid %u, not by uid %u that opsctl runs as",
			      path, (unsigned)st.st_uid, (unsigned)geteuid());
		ops_error_hint(err, "chown %u %s && chmod 600 %s", (unsigned)geteuid(), path, path);
		return OPS_EPERM;
	}
	if (st.st_mode & 077) {
		close(fd);
		ops_error_set(err, OPS_EPERM, "key file '%s' is mode %04o; chmod 600 it",
			      path, (unsigned)(st.st_mode & 07777));
		ops_error_hint(err, "chmod 600 %s", path);
		return OPS_EPERM;
	}
	n = read(fd, buf, sizeof buf);
	close(fd);
	if (n < 0)
		return ops_error_errno(err, errno, "cannot read key file", path);
	len = (size_t)n;
	if (len == OPS_CRYPT_KEY_LEN) {
		memcpy(key, buf, OPS_CRYPT_KEY_LEN);
		OPENSSL_cleanse(buf, sizeof buf);
		return OPS_OK;
	}
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' '))
		len--;
	if (len == 2 * OPS_CRYPT_KEY_LEN) {
		for (i = 0; i < OPS_CRYPT_KEY_LEN; i++) {
			int hi = ops_hex_digit(buf[2 * i]), lo = ops_hex_digit(buf[2 * i + 1]);

			if (hi < 0 || lo < 0)
				break;
			key[i] = (unsigned char)(hi << 4 | lo);
		}
		if (i == OPS_CRYPT_KEY_LEN) {
			OPENSSL_cleanse(buf, sizeof buf);
			return OPS_OK;
		}
	}
	OPENSSL_cleanse(buf, sizeof buf);
	OPENSSL_cleanse(key, OPS_CRYPT_KEY_LEN);
	ops_error_set(err, OPS_ECONFIG, "key file '%s' must hold 32 bytes or 64 hex digits", path);
	ops_error_hint(err, "openssl rand -hex 32 > KEYFILE && chmod 600 KEYFILE");
	return OPS_ECONFIG;
}

void ops_crypt_key_id(const unsigned char key[OPS_CRYPT_KEY_LEN], char out[17])
{
	unsigned char buf[13 + OPS_CRYPT_KEY_LEN];
	char hex[65];

	memcpy(buf, "opsctl-key-id", 13);
	memcpy(buf + 13, key, OPS_CRYPT_KEY_LEN);
	ops_sha256_hex(buf, sizeof buf, hex);
	OPENSSL_cleanse(buf, sizeof buf);
	memcpy(out, hex, 16);
	out[16] = '\0';
}

/* The per-stream key from the master key and the header's random bytes. */
static int derive(const unsigned char master[OPS_CRYPT_KEY_LEN], const unsigned char *salt,
		  unsigned char out[32])
{
	EVP_PKEY_CTX *p = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);
	size_t len = 32;
	int ok = p && EVP_PKEY_derive_init(p) > 0 &&
		 EVP_PKEY_CTX_set_hkdf_md(p, EVP_sha256()) > 0 &&
		 EVP_PKEY_CTX_set1_hkdf_salt(p, salt, 16) > 0 &&
		 EVP_PKEY_CTX_set1_hkdf_key(p, master, OPS_CRYPT_KEY_LEN) > 0 &&
		 EVP_PKEY_CTX_add1_hkdf_info(p, (const unsigned char *)INFO, (int)strlen(INFO)) > 0 &&
		 EVP_PKEY_derive(p, out, &len) > 0 && len == 32;

	EVP_PKEY_CTX_free(p);
	return ok;
}

static void nonce_for(const unsigned char *header, unsigned long counter, int final,
		      unsigned char nonce[12])
{
	memcpy(nonce, header + 9, 7);
	nonce[7] = (unsigned char)(counter >> 24);
	nonce[8] = (unsigned char)(counter >> 16);
	nonce[9] = (unsigned char)(counter >> 8);
	nonce[10] = (unsigned char)counter;
	nonce[11] = (unsigned char)(final ? 1 : 0);
}

struct ops_encryptor {
	EVP_CIPHER_CTX *c;
	unsigned char key[32];
	unsigned char header[HDR];
	unsigned char plain[SEG];
	unsigned char out[SEG + TAG];
	size_t have;
	unsigned long counter;
	int started, finished;
	ops_code failed;	/* sticky: a half-written stream must not go on */
	ops_sink_fn sink;
	void *ctx;
};

ops_code ops_encryptor_new(const unsigned char key[OPS_CRYPT_KEY_LEN], ops_sink_fn sink, void *ctx,
			   ops_encryptor **out, ops_error *err)
{
	ops_encryptor *e = calloc(1, sizeof *e);

	*out = NULL;
	if (!e)
		return ops_error_oom(err);
	e->sink = sink;
	e->ctx = ctx;
	memcpy(e->header, MAGIC, 8);
	e->header[8] = VERSION;
	e->c = EVP_CIPHER_CTX_new();
	if (!e->c || RAND_bytes(e->header + 9, 16) != 1 || !derive(key, e->header + 9, e->key) ||
	    EVP_EncryptInit_ex(e->c, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1) {
		ops_encryptor_free(e);
		return ops_error_set(err, OPS_EINTERNAL, "cannot set up AES-256-GCM encryption");
	}
	*out = e;
	return OPS_OK;
}

static ops_code seal(ops_encryptor *e, int final, ops_error *err)
{
	unsigned char nonce[12];
	int n = 0, m = 0;
	ops_code rc;

	if (!e->started) {
		e->started = 1;
		rc = e->sink(e->ctx, e->header, HDR, err);
		if (rc != OPS_OK)
			return rc;
	}
	if (e->counter == 0xffffffffUL)
		return ops_error_set(err, OPS_EINTERNAL, "stream too long to encrypt (256 TiB)");
	nonce_for(e->header, e->counter++, final, nonce);
	if (EVP_EncryptInit_ex(e->c, NULL, NULL, e->key, nonce) != 1 ||
	    EVP_EncryptUpdate(e->c, NULL, &n, e->header, HDR) != 1 ||
	    EVP_EncryptUpdate(e->c, e->out, &n, e->plain, (int)e->have) != 1 ||
	    EVP_EncryptFinal_ex(e->c, e->out + n, &m) != 1 ||
	    EVP_CIPHER_CTX_ctrl(e->c, EVP_CTRL_GCM_GET_TAG, TAG, e->out + n + m) != 1)
		return ops_error_set(err, OPS_EINTERNAL, "AES-256-GCM encryption failed");
	e->have = 0;
	return e->sink(e->ctx, e->out, (size_t)(n + m) + TAG, err);
}

static ops_code enc_misuse(ops_encryptor *e, ops_error *err)
{
	if (e->failed)
		return ops_error_set(err, e->failed, "encrypted stream already failed");
	return ops_error_set(err, OPS_EINTERNAL, "encrypted stream already finished");
}

ops_code ops_encryptor_write(ops_encryptor *e, const void *buf, size_t len, ops_error *err)
{
	const unsigned char *p = buf;
	ops_code rc;

	if (e->failed || e->finished)
		return enc_misuse(e, err);
	while (len > 0) {
		size_t take = SEG - e->have < len ? SEG - e->have : len;

		memcpy(e->plain + e->have, p, take);
		e->have += take;
		p += take;
		len -= take;
		/*
		 * A full segment goes out at once as non-final, so finish() always
		 * seals what is left, an empty segment after an exact multiple.
		 */
		if (e->have == SEG) {
			rc = seal(e, 0, err);
			if (rc != OPS_OK) {
				e->failed = rc;
				return rc;
			}
		}
	}
	return OPS_OK;
}

ops_code ops_encryptor_finish(ops_encryptor *e, ops_error *err)
{
	ops_code rc;

	if (e->failed || e->finished)
		return enc_misuse(e, err);
	e->finished = 1;
	rc = seal(e, 1, err);
	if (rc != OPS_OK)
		e->failed = rc;
	return rc;
}

void ops_encryptor_free(ops_encryptor *e)
{
	if (!e)
		return;
	EVP_CIPHER_CTX_free(e->c);
	OPENSSL_cleanse(e, sizeof *e);
	free(e);
}

struct ops_decryptor {
	EVP_CIPHER_CTX *c;
	unsigned char master[OPS_CRYPT_KEY_LEN];
	unsigned char key[32];
	unsigned char header[HDR];
	size_t hdr_have;
	unsigned char in[SEG + TAG + 1];	/* one segment held back, plus one byte */
	unsigned char plain[SEG];
	size_t have;
	unsigned long counter;
	int finished;
	ops_code failed;	/* sticky: after a bad segment nothing more is opened */
	ops_sink_fn sink;
	void *ctx;
};

ops_code ops_decryptor_new(const unsigned char key[OPS_CRYPT_KEY_LEN], ops_sink_fn sink, void *ctx,
			   ops_decryptor **out, ops_error *err)
{
	ops_decryptor *d = calloc(1, sizeof *d);

	*out = NULL;
	if (!d)
		return ops_error_oom(err);
	d->sink = sink;
	d->ctx = ctx;
	memcpy(d->master, key, OPS_CRYPT_KEY_LEN);
	d->c = EVP_CIPHER_CTX_new();
	if (!d->c || EVP_DecryptInit_ex(d->c, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1) {
		ops_decryptor_free(d);
		return ops_error_set(err, OPS_EINTERNAL, "cannot set up AES-256-GCM decryption");
	}
	*out = d;
	return OPS_OK;
}

/* Open the segment of len bytes (ciphertext and tag) at d->in. */
static ops_code open_segment(ops_decryptor *d, size_t len, int final, ops_error *err)
{
	unsigned char nonce[12];
	unsigned long seg = d->counter;
	int n = 0, m = 0;

	/* Guards plain[]: a caller may go on after an error it ignored. */
	if (len < TAG || len > SEG + TAG)
		return ops_error_set(err, OPS_EDATA, "corrupt encrypted stream at segment %lu", seg);
	if (d->counter == 0xffffffffUL)
		return ops_error_set(err, OPS_EDATA, "encrypted stream has too many segments");
	nonce_for(d->header, d->counter++, final, nonce);
	if (EVP_DecryptInit_ex(d->c, NULL, NULL, d->key, nonce) != 1 ||
	    EVP_DecryptUpdate(d->c, NULL, &n, d->header, HDR) != 1 ||
	    EVP_DecryptUpdate(d->c, d->plain, &n, d->in, (int)(len - TAG)) != 1 ||
	    EVP_CIPHER_CTX_ctrl(d->c, EVP_CTRL_GCM_SET_TAG, TAG, d->in + len - TAG) != 1 ||
	    EVP_DecryptFinal_ex(d->c, d->plain + n, &m) <= 0) {
		OPENSSL_cleanse(d->plain, sizeof d->plain);
		return ops_error_set(err, OPS_EDATA,
				     "decryption failed: wrong key or corrupt data at segment %lu", seg);
	}
	return d->sink(d->ctx, d->plain, (size_t)(n + m), err);
}

static ops_code not_ours(ops_error *err)
{
	return ops_error_set(err, OPS_EDATA, "not an opsctl encrypted stream");
}

static ops_code dec_write(ops_decryptor *d, const unsigned char *p, size_t len, ops_error *err)
{
	ops_code rc;

	while (len > 0 && d->hdr_have < HDR) {
		d->header[d->hdr_have++] = *p++;
		len--;
		/* Judge the magic early, so a short foreign file is named as such. */
		if (d->hdr_have == 9) {
			if (memcmp(d->header, MAGIC, 8) != 0)
				return not_ours(err);
			if (d->header[8] != VERSION)
				return ops_error_set(err, OPS_EDATA,
						     "unsupported opsctl encrypted stream version %u",
						     (unsigned)d->header[8]);
		}
		if (d->hdr_have == HDR && !derive(d->master, d->header + 9, d->key))
			return ops_error_set(err, OPS_EINTERNAL, "key derivation failed");
	}
	while (len > 0) {
		size_t room = sizeof d->in - d->have, take = room < len ? room : len;

		memcpy(d->in + d->have, p, take);
		d->have += take;
		p += take;
		len -= take;
		/* A full segment with a byte after it cannot be the last. */
		if (d->have == sizeof d->in) {
			rc = open_segment(d, SEG + TAG, 0, err);
			if (rc != OPS_OK)
				return rc;
			d->in[0] = d->in[SEG + TAG];
			d->have = 1;
		}
	}
	return OPS_OK;
}

static ops_code dec_misuse(ops_decryptor *d, ops_error *err)
{
	if (d->failed)
		return ops_error_set(err, d->failed, "encrypted stream already failed");
	return ops_error_set(err, OPS_EINTERNAL, "encrypted stream already finished");
}

ops_code ops_decryptor_write(ops_decryptor *d, const void *buf, size_t len, ops_error *err)
{
	ops_code rc;

	if (d->failed || d->finished)
		return dec_misuse(d, err);
	rc = dec_write(d, buf, len, err);
	if (rc != OPS_OK)
		d->failed = rc;
	return rc;
}

ops_code ops_decryptor_finish(ops_decryptor *d, ops_error *err)
{
	ops_code rc;

	if (d->failed || d->finished)
		return dec_misuse(d, err);
	d->finished = 1;
	if (d->hdr_have == 0) {
		rc = ops_error_set(err, OPS_EDATA, "encrypted stream is empty");
	} else if (d->hdr_have < HDR) {
		if (memcmp(d->header, MAGIC, d->hdr_have < 8 ? d->hdr_have : 8) != 0)
			rc = not_ours(err);
		else
			rc = ops_error_set(err, OPS_EDATA, "encrypted stream is truncated (in its header)");
	} else if (d->have < TAG) {
		rc = ops_error_set(err, OPS_EDATA,
				   "encrypted stream is truncated (segment %lu is missing)", d->counter);
	} else {
		rc = open_segment(d, d->have, 1, err);
	}
	if (rc != OPS_OK)
		d->failed = rc;
	return rc;
}

void ops_decryptor_free(ops_decryptor *d)
{
	if (!d)
		return;
	EVP_CIPHER_CTX_free(d->c);
	OPENSSL_cleanse(d, sizeof *d);
	free(d);
}
