/*
 * SHA-256 helpers.  A thin wrapper so that callers do not each carry
 * EVP boilerplate and hex formatting.  And CRC-32C, for checking that
 * bytes read back as written without hashing them twice.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>

#include "opsmaint/hash.h"

struct ops_sha256 {
	EVP_MD_CTX *md;
};

ops_sha256 *ops_sha256_new(void)
{
	ops_sha256 *h = calloc(1, sizeof *h);

	if (!h)
		return NULL;
	h->md = EVP_MD_CTX_new();
	if (!h->md || EVP_DigestInit_ex(h->md, EVP_sha256(), NULL) != 1) {
		ops_sha256_free(h);
		return NULL;
	}
	return h;
}

void ops_sha256_update(ops_sha256 *h, const void *data, size_t len)
{
	if (len)
		EVP_DigestUpdate(h->md, data, len);
}

static void to_hex(const unsigned char *md, unsigned n, char out[65])
{
	static const char digits[] = "0123456789abcdef";
	unsigned i;

	for (i = 0; i < n && i < 32; i++) {
		out[2 * i] = digits[md[i] >> 4];
		out[2 * i + 1] = digits[md[i] & 15];
	}
	out[2 * i] = '\0';
}

void ops_sha256_final_hex(ops_sha256 *h, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned n = 0;

	EVP_DigestFinal_ex(h->md, md, &n);
	to_hex(md, n, out);
	EVP_DigestInit_ex(h->md, EVP_sha256(), NULL);
}

void ops_sha256_free(ops_sha256 *h)
{
	if (!h)
		return;
	EVP_MD_CTX_free(h->md);
	free(h);
}

void ops_sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned n = 0;

	EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
	to_hex(md, n, out);
}

/* ---- CRC-32C ---- */

static uint32_t crc32c_table[256];

static void crc32c_init(void)
{
	uint32_t i, c;
	int k;

	for (i = 0; i < 256; i++) {
		for (c = i, k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
		crc32c_table[i] = c;
	}
}

static uint32_t crc32c_soft(uint32_t crc, const unsigned char *p, size_t len)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, crc32c_init);
	while (len--)
		crc = crc32c_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return crc;
}

#if defined(__x86_64__)
#include <nmmintrin.h>

__attribute__((target("sse4.2")))
static uint32_t crc32c_sse42(uint32_t crc, const unsigned char *p, size_t len)
{
	uint64_t c = crc;

	for (; len >= 8; p += 8, len -= 8) {
		uint64_t w;

		memcpy(&w, p, 8);
		c = _mm_crc32_u64(c, w);
	}
	crc = (uint32_t)c;
	for (; len; p++, len--)
		crc = _mm_crc32_u8(crc, *p);
	return crc;
}
#endif

uint32_t ops_crc32c(uint32_t crc, const void *data, size_t len)
{
	crc = ~crc;
#if defined(__x86_64__)
	if (__builtin_cpu_supports("sse4.2"))
		return ~crc32c_sse42(crc, data, len);
#endif
	return ~crc32c_soft(crc, data, len);
}

int ops_hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}
