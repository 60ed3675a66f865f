/*
 * SHA-256 helpers.  A thin wrapper so that callers do not each carry
 * EVP boilerplate and hex formatting.
 */
#include <stdlib.h>
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
