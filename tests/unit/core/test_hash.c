/*
 * core/hash: SHA-256 of known inputs and CRC-32C (known check values,
 * continuation across pieces, every alignment and length the word loop
 * and its tail meet).
 */
#include <stdint.h>

#include "opsmaint/hash.h"
#include "unit.h"

TEST(sha256_known)
{
	char out[65];

	ops_sha256_hex("abc", 3, out);
	CHECK_STR(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(crc32c_known)
{
	unsigned char zeros[32] = {0}, ones[32];

	/* RFC 3720 B.4 and the usual check value */
	CHECK_INT(ops_crc32c(0, "123456789", 9), 0xe3069283u);
	CHECK_INT(ops_crc32c(0, zeros, 32), 0x8a9136aau);
	memset(ones, 0xff, sizeof ones);
	CHECK_INT(ops_crc32c(0, ones, 32), 0x62a8ab43u);
	CHECK_INT(ops_crc32c(0, "", 0), 0);
}

/* The bytewise definition, to hold the word loop to. */
static uint32_t crc_bitwise(const unsigned char *p, size_t len)
{
	uint32_t c = ~0u;
	int k;

	while (len--) {
		c ^= *p++;
		for (k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
	}
	return ~c;
}

TEST(crc32c_pieces_and_alignment)
{
	unsigned char buf[300];
	size_t i, off, len, cut;
	int bad = 0;

	for (i = 0; i < sizeof buf; i++)
		buf[i] = (unsigned char)(i * 37 + 11);
	for (off = 0; off < 9; off++)
		for (len = 0; len + off <= sizeof buf && len < 40; len++) {
			uint32_t want = crc_bitwise(buf + off, len);

			bad += ops_crc32c(0, buf + off, len) != want;
			for (cut = 0; cut <= len; cut += 5)
				bad += ops_crc32c(ops_crc32c(0, buf + off, cut), buf + off + cut,
						  len - cut) != want;
		}
	CHECK_INT(bad, 0);
	CHECK_INT(ops_crc32c(0, buf, sizeof buf), crc_bitwise(buf, sizeof buf));
}

int main(void)
{
	RUN(sha256_known);
	RUN(crc32c_known);
	RUN(crc32c_pieces_and_alignment);
	return unit_done();
}
