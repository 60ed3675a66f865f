/*
 * The STREAM encryption of backups: round trips at every boundary, and each
 * kind of tampering (a flipped bit, truncation, reordering, extension, the
 * wrong key) refused without handing unauthenticated plaintext on.  The
 * format is also checked against a reading of crypt.h with OpenSSL alone, so
 * the encryptor and decryptor cannot agree on a mistake.  Key files are
 * refused unless only their owner, the effective user, can read them.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/kdf.h>

#include "unit.h"
#include "opsmaint/crypt.h"
#include "opsmaint/fileio.h"

struct buf {
	unsigned char *p;
	size_t len;
};

static ops_code collect(void *arg, const void *data, size_t len, ops_error *err)
{
	struct buf *b = arg;
	unsigned char *grown = realloc(b->p, b->len + len + 1);

	if (!grown)
		return ops_error_oom(err);
	b->p = grown;
	memcpy(b->p + b->len, data, len);
	b->len += len;
	return OPS_OK;
}

static const unsigned char key_a[32] = "0123456789abcdef0123456789abcdef";
static const unsigned char key_b[32] = "fedcba9876543210fedcba9876543210";

static struct buf encrypt(const unsigned char *key, const unsigned char *plain, size_t len, size_t piece)
{
	struct buf out = {0};
	ops_encryptor *e = NULL;
	ops_error err;
	size_t off;

	CHECK(ops_encryptor_new(key, collect, &out, &e, &err) == OPS_OK);
	for (off = 0; e && off < len; off += piece)
		CHECK(ops_encryptor_write(e, plain + off, len - off < piece ? len - off : piece, &err) == OPS_OK);
	if (e)
		CHECK(ops_encryptor_finish(e, &err) == OPS_OK);
	ops_encryptor_free(e);
	return out;
}

/* The error of the last decrypt(), for its message. */
static ops_error last_err;
/* Whether that error came from finish() rather than from a write. */
static int failed_at_finish;

/* Decrypt in pieces; the code of the first failure (or of finish). */
static ops_code decrypt(const unsigned char *key, const struct buf *in, size_t piece, struct buf *out)
{
	ops_decryptor *d = NULL;
	ops_code rc;
	size_t off;

	memset(out, 0, sizeof *out);
	ops_error_clear(&last_err);
	failed_at_finish = 0;
	if (ops_decryptor_new(key, collect, out, &d, &last_err) != OPS_OK)
		return last_err.code;
	for (off = 0; off < in->len; off += piece) {
		rc = ops_decryptor_write(d, in->p + off, in->len - off < piece ? in->len - off : piece, &last_err);
		if (rc != OPS_OK) {
			ops_decryptor_free(d);
			return rc;
		}
	}
	rc = ops_decryptor_finish(d, &last_err);
	failed_at_finish = rc != OPS_OK;
	ops_decryptor_free(d);
	return rc;
}

static unsigned char *pattern(size_t len)
{
	unsigned char *p = malloc(len + 1);
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (unsigned char)(i * 131 + (i >> 9));
	return p;
}

TEST(round_trips_at_every_boundary)
{
	static const size_t sizes[] = {0, 1, 65535, 65536, 65537, 3 * 65536, (1u << 20) + 7};
	static const size_t pieces[] = {1, 7, 4096, 1u << 22};
	size_t i, j;

	for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		unsigned char *plain = pattern(sizes[i]);

		for (j = 0; j < sizeof pieces / sizeof pieces[0]; j++) {
			struct buf c, back;

			if (pieces[j] == 1 && sizes[i] > 70000)
				continue;	/* byte by byte is slow and proves nothing more */
			c = encrypt(key_a, plain, sizes[i], pieces[j]);
			CHECK(c.len >= 25 + 16);
			CHECK_INT(decrypt(key_a, &c, pieces[j] == 1 ? 1 : 5000, &back), OPS_OK);
			CHECK(back.len == sizes[i]);
			CHECK(sizes[i] == 0 || (back.p && memcmp(back.p, plain, sizes[i]) == 0));
			free(c.p);
			free(back.p);
		}
		free(plain);
	}
}

TEST(the_same_plaintext_encrypts_differently)
{
	unsigned char *plain = pattern(1000);
	struct buf a = encrypt(key_a, plain, 1000, 1000), b = encrypt(key_a, plain, 1000, 1000);

	CHECK(a.len == b.len);
	CHECK(memcmp(a.p, b.p, a.len) != 0);
	free(a.p);
	free(b.p);
	free(plain);
}

TEST(wrong_key_is_refused)
{
	unsigned char *plain = pattern(100000);
	struct buf c = encrypt(key_a, plain, 100000, 100000), back;

	CHECK_INT(decrypt(key_b, &c, 4096, &back), OPS_EDATA);
	CHECK_STR(last_err.message, "decryption failed: wrong key or corrupt data at segment 0");
	CHECK_INT((int)back.len, 0);
	free(back.p);
	free(c.p);
	free(plain);
}

TEST(flipped_bits_are_refused_and_nothing_unauthenticated_is_passed_on)
{
	static const size_t at[] = {3, 8, 20, 30, 25 + 40000, 25 + 65536 + 5, 25 + 65536 + 10,
				    25 + 65552 + 30000, 25 + 2 * 65552 + 65540, 0};
	size_t len = 3 * 65536 + 100, i;
	unsigned char *plain = pattern(len);
	struct buf c = encrypt(key_a, plain, len, len), back;

	for (i = 0; i < sizeof at / sizeof at[0]; i++) {
		size_t pos = at[i] ? at[i] : c.len - 1;	/* 0: the last tag */
		size_t seg = pos < 25 ? 0 : (pos - 25) / (65536 + 16);

		c.p[pos] ^= 0x10;
		CHECK_INT(decrypt(key_a, &c, 8192, &back), OPS_EDATA);
		/* Exactly the segments before the damaged one got through. */
		CHECK(back.len == seg * 65536);
		CHECK(back.len == 0 || memcmp(back.p, plain, back.len) == 0);
		free(back.p);
		c.p[pos] ^= 0x10;
	}
	CHECK_INT(decrypt(key_a, &c, 8192, &back), OPS_OK);
	free(back.p);
	free(c.p);
	free(plain);
}

TEST(truncation_extension_and_reordering_are_refused)
{
	size_t len = 3 * 65536 + 100, seg = 65536 + 16;
	unsigned char *plain = pattern(len);
	struct buf c = encrypt(key_a, plain, len, len), t, back;

	t.p = c.p;
	t.len = 25 + 2 * seg;	/* cut at a segment boundary */
	CHECK_INT(decrypt(key_a, &t, 4096, &back), OPS_EDATA);
	CHECK(failed_at_finish);
	CHECK(back.len == 65536);	/* segment 0 was whole and checked */
	free(back.p);
	t.len = 25 + 3 * seg;	/* only the final segment missing */
	CHECK_INT(decrypt(key_a, &t, 4096, &back), OPS_EDATA);
	CHECK(failed_at_finish);
	free(back.p);
	t.len = 25 + seg + 1000;	/* cut inside a segment */
	CHECK_INT(decrypt(key_a, &t, 4096, &back), OPS_EDATA);
	CHECK(failed_at_finish);
	CHECK(back.len == 65536);
	free(back.p);
	t.len = 25 + seg;	/* segment 0 whole, but not marked final */
	CHECK_INT(decrypt(key_a, &t, 4096, &back), OPS_EDATA);
	CHECK(failed_at_finish);
	CHECK(back.len == 0);	/* held back until the end showed it is the last */
	free(back.p);
	t.len = 25 + 5;	/* fewer bytes than a tag after the header */
	CHECK_INT(decrypt(key_a, &t, 4096, &back), OPS_EDATA);
	CHECK_CONTAINS(last_err.message, "truncated");
	free(back.p);
	t.len = 25;	/* the header alone */
	CHECK_INT(decrypt(key_a, &t, 4096, &back), OPS_EDATA);
	CHECK_CONTAINS(last_err.message, "truncated");
	free(back.p);
	t.len = 10;	/* inside the header */
	CHECK_INT(decrypt(key_a, &t, 4096, &back), OPS_EDATA);
	CHECK_CONTAINS(last_err.message, "truncated");
	free(back.p);
	t.len = 0;
	CHECK_INT(decrypt(key_a, &t, 4096, &back), OPS_EDATA);
	free(back.p);
	{
		unsigned char *grown = realloc(c.p, c.len + 5);

		CHECK(grown != NULL);
		c.p = grown;
		memcpy(c.p + c.len, "junk!", 5);
		t.p = c.p;
		t.len = c.len + 5;
		CHECK_INT(decrypt(key_a, &t, 4096, &back), OPS_EDATA);
		free(back.p);
	}
	{
		unsigned char *tmp = malloc(seg);

		/* Swap segments 0 and 1. */
		memcpy(tmp, c.p + 25, seg);
		memmove(c.p + 25, c.p + 25 + seg, seg);
		memcpy(c.p + 25 + seg, tmp, seg);
		free(tmp);
		CHECK_INT(decrypt(key_a, &c, 4096, &back), OPS_EDATA);
		CHECK_INT((int)back.len, 0);
		free(back.p);
	}
	memcpy(c.p, "NOTOPSCT", 8);
	CHECK_INT(decrypt(key_a, &c, 4096, &back), OPS_EDATA);
	CHECK_STR(last_err.message, "not an opsctl encrypted stream");
	free(back.p);
	free(c.p);
	free(plain);
}

TEST(foreign_input_is_named_as_such)
{
	struct buf in = {(unsigned char *)"hello, world\n", 13}, back;

	CHECK_INT(decrypt(key_a, &in, 4096, &back), OPS_EDATA);
	CHECK_STR(last_err.message, "not an opsctl encrypted stream");
	free(back.p);
	in.p = (unsigned char *)"OPS";	/* short, but could still be ours */
	in.len = 3;
	CHECK_INT(decrypt(key_a, &in, 4096, &back), OPS_EDATA);
	CHECK_CONTAINS(last_err.message, "truncated");
	free(back.p);
	in.p = (unsigned char *)"OPSCTLE1\x02 and more bytes than a header has";
	in.len = 40;
	CHECK_INT(decrypt(key_a, &in, 4096, &back), OPS_EDATA);
	CHECK_CONTAINS(last_err.message, "version 2");
	free(back.p);
}

/* n bytes of plaintext: a 25-byte header, n bytes, one tag per segment. */
static size_t expected_len(size_t n)
{
	return 25 + n + 16 * (n / 65536 + 1);
}

TEST(exact_multiples_end_with_an_empty_final_segment)
{
	static const size_t sizes[] = {0, 1, 65535, 65536, 65537, 2 * 65536, 3 * 65536 - 1};
	size_t i;

	for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		unsigned char *plain = pattern(sizes[i]);
		struct buf c = encrypt(key_a, plain, sizes[i], 65536), back;

		CHECK_INT((long long)c.len, (long long)expected_len(sizes[i]));
		if (sizes[i] % 65536 == 0) {
			/* Without the empty final segment the last full one does not open. */
			struct buf t = {c.p, c.len - 16};

			CHECK_INT(decrypt(key_a, &t, 4096, &back), OPS_EDATA);
			free(back.p);
		}
		free(c.p);
		free(plain);
	}
}

static ops_code failing_sink(void *arg, const void *data, size_t len, ops_error *err)
{
	int *calls = arg;

	(*calls)++;
	/* Deliberately no ops_error_set: the returned code must be what counts. */
	return OPS_EIO;
}

TEST(sink_errors_pass_through_and_errors_stick)
{
	unsigned char *plain = pattern(200000);
	ops_encryptor *e = NULL;
	ops_decryptor *d = NULL;
	ops_error err;
	struct buf c, back = {0};
	int calls = 0;

	CHECK_INT(ops_encryptor_new(key_a, failing_sink, &calls, &e, &err), OPS_OK);
	ops_error_clear(&err);
	CHECK_INT(ops_encryptor_write(e, plain, 200000, &err), OPS_EIO);
	CHECK_INT(calls, 1);
	CHECK_INT(ops_encryptor_write(e, plain, 10, &err), OPS_EIO);
	CHECK_INT(ops_encryptor_finish(e, &err), OPS_EIO);
	CHECK_INT(calls, 1);	/* nothing more reached the sink */
	ops_encryptor_free(e);

	c = encrypt(key_a, plain, 200000, 200000);
	calls = 0;
	CHECK_INT(ops_decryptor_new(key_a, failing_sink, &calls, &d, &err), OPS_OK);
	ops_error_clear(&err);
	CHECK_INT(ops_decryptor_write(d, c.p, c.len, &err), OPS_EIO);
	CHECK_INT(calls, 1);
	ops_decryptor_free(d);

	/* After a failed segment, finish must not try to open the leftovers. */
	CHECK_INT(ops_decryptor_new(key_b, collect, &back, &d, &err), OPS_OK);
	CHECK_INT(ops_decryptor_write(d, c.p, c.len, &err), OPS_EDATA);
	CHECK_INT(ops_decryptor_write(d, c.p, 100, &err), OPS_EDATA);
	CHECK_INT(ops_decryptor_finish(d, &err), OPS_EDATA);
	CHECK_INT((int)back.len, 0);
	ops_decryptor_free(d);

	/* Calls after a successful finish are refused too. */
	CHECK_INT(ops_decryptor_new(key_a, collect, &back, &d, &err), OPS_OK);
	CHECK_INT(ops_decryptor_write(d, c.p, c.len, &err), OPS_OK);
	CHECK_INT(ops_decryptor_finish(d, &err), OPS_OK);
	CHECK(back.len == 200000 && memcmp(back.p, plain, 200000) == 0);
	CHECK_INT(ops_decryptor_write(d, c.p, 1, &err), OPS_EINTERNAL);
	CHECK_INT(ops_decryptor_finish(d, &err), OPS_EINTERNAL);
	ops_decryptor_free(d);
	free(back.p);
	back.p = NULL;
	back.len = 0;
	CHECK_INT(ops_encryptor_new(key_a, collect, &back, &e, &err), OPS_OK);
	CHECK_INT(ops_encryptor_finish(e, &err), OPS_OK);
	CHECK_INT(ops_encryptor_finish(e, &err), OPS_EINTERNAL);
	CHECK_INT(ops_encryptor_write(e, "x", 1, &err), OPS_EINTERNAL);
	CHECK_INT((long long)back.len, (long long)expected_len(0));
	ops_encryptor_free(e);
	ops_encryptor_free(NULL);
	ops_decryptor_free(NULL);
	free(back.p);
	free(c.p);
	free(plain);
}

/*
 * An independent reading of the documented format with OpenSSL alone: the
 * stream key through EVP_KDF "HKDF", each segment's nonce and AAD built here.
 */
static int ref_stream_key(const unsigned char *master, const unsigned char *salt, unsigned char out[32])
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *k = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	OSSL_PARAM params[5];
	int ok;

	params[0] = OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_octet_string("key", (void *)master, 32);
	params[2] = OSSL_PARAM_construct_octet_string("salt", (void *)salt, 16);
	params[3] = OSSL_PARAM_construct_octet_string("info", (void *)"opsctl backup stream v1", 23);
	params[4] = OSSL_PARAM_construct_end();
	ok = k && EVP_KDF_derive(k, out, 32, params) == 1;
	EVP_KDF_CTX_free(k);
	EVP_KDF_free(kdf);
	return ok;
}

/* GCM of one segment; encrypting writes ciphertext||tag, decrypting checks the tag. */
static int ref_gcm(int enc, const unsigned char *skey, const unsigned char *header, unsigned counter,
		   int final, const unsigned char *in, size_t len, unsigned char *out)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	unsigned char nonce[12];
	int n = 0, m = 0, ok;

	memcpy(nonce, header + 9, 7);
	nonce[7] = (unsigned char)(counter >> 24);
	nonce[8] = (unsigned char)(counter >> 16);
	nonce[9] = (unsigned char)(counter >> 8);
	nonce[10] = (unsigned char)counter;
	nonce[11] = (unsigned char)final;
	ok = c && EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, skey, nonce, enc) == 1 &&
	     EVP_CipherUpdate(c, NULL, &n, header, 25) == 1 &&
	     EVP_CipherUpdate(c, out, &n, in, (int)len) == 1;
	if (ok && enc)
		ok = EVP_CipherFinal_ex(c, out + n, &m) == 1 &&
		     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, out + len) == 1;
	else if (ok)
		ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, (void *)(in + len)) == 1 &&
		     EVP_CipherFinal_ex(c, out + n, &m) == 1;
	EVP_CIPHER_CTX_free(c);
	return ok;
}

TEST(format_matches_the_documentation)
{
	size_t len = 65536 + 300, i;
	unsigned char *plain = pattern(2 * 65536), skey[32], *out = malloc(65536);
	struct buf c = encrypt(key_a, plain, len, 999), back;

	CHECK(memcmp(c.p, "OPSCTLE1\x01", 9) == 0);
	CHECK(ref_stream_key(key_a, c.p + 9, skey));
	/* Segment 0: full, not final; segment 1: the rest, final. */
	CHECK(ref_gcm(0, skey, c.p, 0, 0, c.p + 25, 65536, out));
	CHECK(memcmp(out, plain, 65536) == 0);
	CHECK(!ref_gcm(0, skey, c.p, 0, 1, c.p + 25, 65536, out));
	CHECK(ref_gcm(0, skey, c.p, 1, 1, c.p + 25 + 65552, 300, out));
	CHECK(memcmp(out, plain + 65536, 300) == 0);
	free(c.p);

	/* Built here, read by the decryptor: it follows the same documentation. */
	c.p = malloc(25 + 2 * 65552);
	memcpy(c.p, "OPSCTLE1\x01", 9);
	for (i = 0; i < 16; i++)
		c.p[9 + i] = (unsigned char)(i * 7 + 1);
	CHECK(ref_stream_key(key_a, c.p + 9, skey));
	CHECK(ref_gcm(1, skey, c.p, 0, 0, plain, 65536, c.p + 25));
	CHECK(ref_gcm(1, skey, c.p, 1, 1, plain + 65536, 300, c.p + 25 + 65552));
	c.len = 25 + 65552 + 300 + 16;
	CHECK_INT(decrypt(key_a, &c, 7, &back), OPS_OK);
	CHECK(back.len == len && memcmp(back.p, plain, len) == 0);
	free(back.p);
	/* A full final segment, as the first encryptor wrote for exact multiples, still reads. */
	CHECK(ref_gcm(1, skey, c.p, 1, 1, plain + 65536, 65536, c.p + 25 + 65552));
	c.len = 25 + 2 * 65552;
	CHECK_INT(decrypt(key_a, &c, 4096, &back), OPS_OK);
	CHECK(back.len == 2 * 65536 && memcmp(back.p, plain, 2 * 65536) == 0);
	free(back.p);
	free(c.p);
	free(out);
	free(plain);
}

static char *write_key(const char *dir, const char *name, const void *data, size_t len, mode_t mode)
{
	char *path = ops_path_join(dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	CHECK(fd >= 0);
	CHECK(write(fd, data, len) == (ssize_t)len);
	close(fd);
	chmod(path, mode);
	return path;
}

TEST(key_files)
{
	char *dir = unit_tmpdir(), *p, *q;
	unsigned char key[32];
	ops_error err;
	const char *hex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n";
	const char *upper = "A0A1A2A3A4A5A6A7A8A9AAABACADAEAFB0B1B2B3B4B5B6B7B8B9BABBBCBDBEBF";
	const char *nothex = "zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n";

	CHECK(dir != NULL);
	if (!dir)
		return;
	p = write_key(dir, "raw", key_a, 32, 0600);
	CHECK_INT(ops_crypt_load_key(p, key, &err), OPS_OK);
	CHECK(memcmp(key, key_a, 32) == 0);
	free(p);
	p = write_key(dir, "hex", hex, strlen(hex), 0600);
	CHECK_INT(ops_crypt_load_key(p, key, &err), OPS_OK);
	CHECK(key[0] == 0 && key[1] == 1 && key[31] == 0x1f);
	free(p);
	p = write_key(dir, "upper", upper, strlen(upper), 0400);
	CHECK_INT(ops_crypt_load_key(p, key, &err), OPS_OK);
	CHECK(key[0] == 0xa0 && key[31] == 0xbf);
	free(p);
	p = write_key(dir, "group", key_a, 32, 0640);
	CHECK_INT(ops_crypt_load_key(p, key, &err), OPS_EPERM);
	CHECK_CONTAINS(err.message, "is mode 0640; chmod 600 it");
	free(p);
	p = write_key(dir, "world", key_a, 32, 0604);
	CHECK_INT(ops_crypt_load_key(p, key, &err), OPS_EPERM);
	CHECK_CONTAINS(err.message, "0604");
	CHECK_CONTAINS(err.hint, "chmod 600");
	free(p);
	p = write_key(dir, "groupwrite", key_a, 32, 0620);
	CHECK_INT(ops_crypt_load_key(p, key, &err), OPS_EPERM);
	free(p);
	if (geteuid() == 0) {
		/* Owned by someone else: refused even at mode 0600. */
		p = write_key(dir, "nobody", key_a, 32, 0600);
		CHECK(chown(p, 65534, 65534) == 0);
		CHECK_INT(ops_crypt_load_key(p, key, &err), OPS_EPERM);
		CHECK_CONTAINS(err.message, "owned by uid 65534");
		free(p);
	}
	p = write_key(dir, "short", key_a, 31, 0600);
	CHECK_INT(ops_crypt_load_key(p, key, &err), OPS_ECONFIG);
	CHECK_CONTAINS(err.message, "32 bytes or 64 hex digits");
	free(p);
	p = write_key(dir, "long", "0123456789abcdef0123456789abcdef!", 33, 0600);
	CHECK_INT(ops_crypt_load_key(p, key, &err), OPS_ECONFIG);
	free(p);
	p = write_key(dir, "nothex", nothex, strlen(nothex), 0600);
	CHECK_INT(ops_crypt_load_key(p, key, &err), OPS_ECONFIG);
	/* Key material stays out of messages, even when it is malformed. */
	CHECK(!strstr(err.message, "0102030405") && !strstr(err.detail, "0102030405") &&
	      !strstr(err.hint, "0102030405"));
	free(p);
	p = ops_path_join(dir, "missing");
	CHECK_INT(ops_crypt_load_key(p, key, &err), OPS_ECONFIG);
	CHECK_CONTAINS(err.message, "missing");
	free(p);
	p = ops_path_join(dir, "link");
	q = ops_path_join(dir, "raw");
	CHECK(symlink(q, p) == 0);
	CHECK_INT(ops_crypt_load_key(p, key, &err), OPS_ECONFIG);
	CHECK_CONTAINS(err.message, "symbolic link");
	free(p);
	free(q);
	p = ops_path_join(dir, "adir");
	CHECK(mkdir(p, 0700) == 0);
	CHECK_INT(ops_crypt_load_key(p, key, &err), OPS_ECONFIG);
	free(p);
	unit_rmrf(dir);
	free(dir);
}

TEST(key_id_is_a_stable_public_fingerprint)
{
	unsigned char msg[13 + 32], md[32];
	char id1[17], id2[17], expect[17];
	unsigned int mdlen = 0, i;

	ops_crypt_key_id(key_a, id1);
	ops_crypt_key_id(key_a, id2);
	CHECK_STR(id1, id2);
	CHECK_INT((int)strlen(id1), 16);
	CHECK(strspn(id1, "0123456789abcdef") == 16);
	/* SHA-256("opsctl-key-id" || key), first 8 bytes as hex. */
	memcpy(msg, "opsctl-key-id", 13);
	memcpy(msg + 13, key_a, 32);
	CHECK(EVP_Digest(msg, sizeof msg, md, &mdlen, EVP_sha256(), NULL) == 1);
	for (i = 0; i < 8; i++)
		snprintf(expect + 2 * i, 3, "%02x", md[i]);
	CHECK_STR(id1, expect);
	ops_crypt_key_id(key_b, id2);
	CHECK(strcmp(id1, id2) != 0);
}

int main(void)
{
	RUN(round_trips_at_every_boundary);
	RUN(the_same_plaintext_encrypts_differently);
	RUN(wrong_key_is_refused);
	RUN(flipped_bits_are_refused_and_nothing_unauthenticated_is_passed_on);
	RUN(truncation_extension_and_reordering_are_refused);
	RUN(foreign_input_is_named_as_such);
	RUN(exact_multiples_end_with_an_empty_final_segment);
	RUN(sink_errors_pass_through_and_errors_stick);
	RUN(format_matches_the_documentation);
	RUN(key_files);
	RUN(key_id_is_a_stable_public_fingerprint);
	return unit_done();
}
