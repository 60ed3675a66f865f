/*
 * The STREAM encryption of backups: round trips at every boundary, and each
 * kind of tampering (a flipped bit, truncation, reordering, extension, the
 * wrong key) refused without handing unauthenticated plaintext on.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* Decrypt in pieces; the code of the first failure (or of finish). */
static ops_code decrypt(const unsigned char *key, const struct buf *in, size_t piece, struct buf *out)
{
	ops_decryptor *d = NULL;
	ops_error err;
	ops_code rc;
	size_t off;

	memset(out, 0, sizeof *out);
	if (ops_decryptor_new(key, collect, out, &d, &err) != OPS_OK)
		return err.code;
	for (off = 0; off < in->len; off += piece) {
		rc = ops_decryptor_write(d, in->p + off, in->len - off < piece ? in->len - off : piece, &err);
		if (rc != OPS_OK) {
			ops_decryptor_free(d);
			return rc;
		}
	}
	rc = ops_decryptor_finish(d, &err);
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
	CHECK_INT((int)back.len, 0);
	free(back.p);
	free(c.p);
	free(plain);
}

TEST(flipped_bits_are_refused_and_nothing_unauthenticated_is_passed_on)
{
	static const size_t at[] = {3, 20, 30, 25 + 40000, 25 + 65536 + 5, 25 + 65536 + 10, 0};
	size_t len = 3 * 65536 + 100, i;
	unsigned char *plain = pattern(len);
	struct buf c = encrypt(key_a, plain, len, len), back;

	for (i = 0; i < sizeof at / sizeof at[0]; i++) {
		size_t pos = at[i] ? at[i] : c.len - 1;	/* 0: the last tag */
		size_t seg = pos < 25 ? 0 : (pos - 25) / (65536 + 16);

		c.p[pos] ^= 0x10;
		CHECK_INT(decrypt(key_a, &c, 8192, &back), OPS_EDATA);
		/* Only whole segments before the damaged one got through. */
		CHECK(back.len <= seg * 65536);
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
	free(back.p);
	t.len = 25 + seg + 1000;	/* cut inside a segment */
	CHECK_INT(decrypt(key_a, &t, 4096, &back), OPS_EDATA);
	free(back.p);
	t.len = 10;	/* inside the header */
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
	free(back.p);
	free(c.p);
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
	char *dir = unit_tmpdir(), *p, id1[17], id2[17];
	unsigned char key[32];
	ops_error err;
	const char *hex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n";

	p = write_key(dir, "raw", key_a, 32, 0600);
	CHECK_INT(ops_crypt_load_key(p, key, &err), OPS_OK);
	CHECK(memcmp(key, key_a, 32) == 0);
	free(p);
	p = write_key(dir, "hex", hex, strlen(hex), 0400);
	CHECK_INT(ops_crypt_load_key(p, key, &err), OPS_OK);
	CHECK(key[0] == 0 && key[31] == 0x1f);
	free(p);
	p = write_key(dir, "group", key_a, 32, 0640);
	CHECK_INT(ops_crypt_load_key(p, key, &err), OPS_EPERM);
	CHECK_CONTAINS(err.message, "0640");
	free(p);
	p = write_key(dir, "world", key_a, 32, 0604);
	CHECK_INT(ops_crypt_load_key(p, key, &err), OPS_EPERM);
	free(p);
	p = write_key(dir, "short", key_a, 31, 0600);
	CHECK_INT(ops_crypt_load_key(p, key, &err), OPS_ECONFIG);
	CHECK_CONTAINS(err.message, "32 bytes or 64 hex digits");
	free(p);
	p = ops_path_join(dir, "missing");
	CHECK_INT(ops_crypt_load_key(p, key, &err), OPS_ECONFIG);
	free(p);
	ops_crypt_key_id(key_a, id1);
	ops_crypt_key_id(key_a, id2);
	CHECK_STR(id1, id2);
	CHECK_INT((int)strlen(id1), 16);
	ops_crypt_key_id(key_b, id2);
	CHECK(strcmp(id1, id2) != 0);
	unit_rmrf(dir);
	free(dir);
}

int main(void)
{
	RUN(round_trips_at_every_boundary);
	RUN(the_same_plaintext_encrypts_differently);
	RUN(wrong_key_is_refused);
	RUN(flipped_bits_are_refused_and_nothing_unauthenticated_is_passed_on);
	RUN(truncation_extension_and_reordering_are_refused);
	RUN(key_files);
	return unit_done();
}
