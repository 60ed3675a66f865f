/*
 * keys/jwt: the kid is the RFC 7638 thumbprint, checked against the RFC's
 * own example (section 3.1), so a kid opsctl publishes is the one any other
 * JOSE library computes for the same key; and base64url as JOSE writes it
 * (RFC 7515 appendix C: no padding, - and _).
 */
#include "keys/keys_internal.h"
#include "unit.h"

static const char rfc7638_n[] =
	"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_B"
	"JECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FD"
	"W2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vM"
	"QFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";

TEST(thumbprint_is_rfc7638s_example)
{
	cJSON *jwk = cJSON_CreateObject();
	char kid[44];

	/* Members in another order, and ones the thumbprint leaves out. */
	cJSON_AddStringToObject(jwk, "kty", "RSA");
	cJSON_AddStringToObject(jwk, "alg", "RS256");
	cJSON_AddStringToObject(jwk, "n", rfc7638_n);
	cJSON_AddStringToObject(jwk, "kid", "2011-04-29");
	cJSON_AddStringToObject(jwk, "e", "AQAB");
	CHECK_INT(keys_jwk_thumbprint(jwk, kid), 0);
	CHECK_STR(kid, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
	cJSON_Delete(jwk);
}

TEST(thumbprint_needs_the_required_members)
{
	cJSON *jwk = cJSON_CreateObject();
	char kid[44];

	cJSON_AddStringToObject(jwk, "kty", "EC");
	cJSON_AddStringToObject(jwk, "crv", "P-256");
	cJSON_AddStringToObject(jwk, "x", "AAAA");
	CHECK_INT(keys_jwk_thumbprint(jwk, kid), -1);	/* no y */
	cJSON_AddStringToObject(jwk, "y", "AAAA");
	CHECK_INT(keys_jwk_thumbprint(jwk, kid), 0);
	CHECK_INT(strlen(kid), 43);
	cJSON_ReplaceItemInObject(jwk, "kty", cJSON_CreateString("oct"));
	CHECK_INT(keys_jwk_thumbprint(jwk, kid), -1);
	cJSON_Delete(jwk);
}

TEST(b64url_without_padding)
{
	/* RFC 7515 appendix C's example octets and text. */
	static const unsigned char raw[] = {3, 236, 255, 224, 193};
	char out[KEYS_B64URL_LEN(sizeof raw) + 1];

	CHECK_INT(keys_b64url(raw, sizeof raw, out), 7);
	CHECK_STR(out, "A-z_4ME");
	CHECK_INT(keys_b64url(raw, 0, out), 0);
	CHECK_STR(out, "");
}

int main(void)
{
	RUN(thumbprint_is_rfc7638s_example);
	RUN(thumbprint_needs_the_required_members);
	RUN(b64url_without_padding);
	return unit_done();
}
