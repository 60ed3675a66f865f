/*
 * JWT signing key pairs (keys.jwt items rs256:DIR[:VAR] and es256:DIR[:VAR]),
 * published as an RFC 7517 JWK Set.  DIR holds one private key per kid,
 * DIR/KID.pem (PKCS#8, 0600), and DIR/jwks.json (0644), the public keys
 * every verifier fetches.  The kid is the RFC 7638 thumbprint of the public
 * key: derived, so nothing has to remember which kid is which file.  The
 * env file's VAR names the private key file the application signs with and
 * KIDVAR (VAR with _FILE replaced by _KID, or VAR_KID) the kid it puts in
 * token headers.
 *
 * The rotation never leaves a verifier without the key a live token names:
 * set publishes the new key beside every key already in the set before the
 * application may sign with it, and the old one stays until the grace
 * period ends (at least keys.jwt_token_lifetime).  The retire hint is every
 * key of the set at the rotation's start (the current one, and any older
 * one opsctl made whose retirement a rotation within the grace period left
 * pending), so no key outlives the grace period of the rotation after it.
 *
 * Not here: keys opsctl did not make (a kid in jwks.json without
 * DIR/KID.pem) are never removed unless they were current; restore from a
 * -b backup, which holds the key file's name and not the key, is refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "keys/keys_internal.h"
#include "opsmaint/secret.h"
#include "opsmaint/fileio.h"

#define KEY_MAX (64 * 1024)
#define JWKS_MAX (1024 * 1024)
#define DEFAULT_VAR "JWT_SIGNING_KEY_FILE"
/* RFC 7518 section 3.3's minimum.  A key lives one rotation period plus
 * the grace period, far inside 2048 bits' horizon (NIST SP 800-57: 2030),
 * and signs about four times faster than 3072 bits would. */
#define RSA_BITS 2048
#define EC_COORD 32	/* P-256 */

static int is_ec(const keys_cred *c)
{
	return c->driver == &keys_driver_jwt_es256;
}

static const char *alg_name(const keys_cred *c)
{
	return is_ec(c) ? "ES256" : "RS256";
}

static const char *key_kind(const keys_cred *c)
{
	return is_ec(c) ? "an EC P-256 key" : "an RSA key of 2048 bits or more";
}

/* ---- keys and JWKs ---- */

static int no_passphrase(char *buf, int size, int rw, void *u)
{
	(void)buf, (void)size, (void)rw, (void)u;
	return -1;	/* never ask a terminal: an encrypted key is refused */
}

/* The private key in pem, of this item's algorithm; NULL when it is not. */
static EVP_PKEY *pem_key(const keys_cred *c, const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *pk = b ? PEM_read_bio_PrivateKey(b, NULL, no_passphrase, NULL) : NULL;
	char group[32] = "";
	int ok;

	BIO_free(b);
	if (!pk)
		return NULL;
	if (is_ec(c))
		ok = EVP_PKEY_is_a(pk, "EC") &&
		     EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group,
						    sizeof group, NULL) == 1 &&
		     (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0);
	else
		ok = EVP_PKEY_is_a(pk, "RSA") && EVP_PKEY_get_bits(pk) >= RSA_BITS;
	if (!ok) {
		EVP_PKEY_free(pk);
		return NULL;
	}
	return pk;
}

static int add_b64(cJSON *o, const char *name, const unsigned char *raw, size_t n)
{
	char *s = malloc(KEYS_B64URL_LEN(n) + 1);
	int ok;

	if (!s)
		return 0;
	keys_b64url(raw, n, s);
	ok = cJSON_AddStringToObject(o, name, s) != NULL;
	free(s);
	return ok;
}

/* A public parameter as big-endian bytes: pad 0 for the minimum (RSA's n
 * and e), else exactly pad bytes (EC coordinates, RFC 7518 6.2.1.2). */
static int add_bn(cJSON *o, const char *name, const EVP_PKEY *pk, const char *param, int pad)
{
	BIGNUM *bn = NULL;
	unsigned char *raw = NULL;
	int n, ok = 0;

	if (EVP_PKEY_get_bn_param(pk, param, &bn) != 1)
		return 0;
	n = pad ? pad : BN_num_bytes(bn);
	if ((raw = malloc((size_t)n + 1)) &&
	    (pad ? BN_bn2binpad(bn, raw, pad) : BN_bn2bin(bn, raw)) == n)
		ok = add_b64(o, name, raw, (size_t)n);
	free(raw);
	BN_free(bn);
	return ok;
}

/* RFC 7638: SHA-256 of the required members in lexicographic order without
 * white space, base64url.  kid holds 44.  -1 for a JWK without them. */
int keys_jwk_thumbprint(const cJSON *jwk, char kid[44])
{
	static const char *const rsa[] = {"e", "kty", "n", NULL};
	static const char *const ec[] = {"crv", "kty", "x", "y", NULL};
	const char *kty = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(jwk, "kty"));
	const char *const *m;
	unsigned char md[32];
	cJSON *canon;
	char *text;
	int rc = -1;

	if (!kty || (strcmp(kty, "RSA") != 0 && strcmp(kty, "EC") != 0) ||
	    !(canon = cJSON_CreateObject()))
		return -1;
	for (m = strcmp(kty, "RSA") == 0 ? rsa : ec; *m; m++) {
		const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(jwk, *m));

		if (!v || !cJSON_AddStringToObject(canon, *m, v))
			goto out;
	}
	/* Every value is base64url or a plain name: cJSON escapes nothing. */
	if ((text = cJSON_PrintUnformatted(canon))) {
		if (EVP_Digest(text, strlen(text), md, NULL, EVP_sha256(), NULL) == 1) {
			keys_b64url(md, sizeof md, kid);
			rc = 0;
		}
		free(text);
	}
out:
	cJSON_Delete(canon);
	return rc;
}

/* The public JWK of pk as jwks.json publishes it (kty, use, alg, kid, then
 * the key's members), kid into kid. */
static cJSON *public_jwk(const keys_cred *c, const EVP_PKEY *pk, char kid[44])
{
	cJSON *m = cJSON_CreateObject(), *j = cJSON_CreateObject(), *v;
	int ok;

	if (!m || !j)
		goto fail;
	if (is_ec(c))
		ok = cJSON_AddStringToObject(m, "crv", "P-256") &&
		     add_bn(m, "x", pk, OSSL_PKEY_PARAM_EC_PUB_X, EC_COORD) &&
		     add_bn(m, "y", pk, OSSL_PKEY_PARAM_EC_PUB_Y, EC_COORD);
	else
		ok = add_bn(m, "n", pk, OSSL_PKEY_PARAM_RSA_N, 0) &&
		     add_bn(m, "e", pk, OSSL_PKEY_PARAM_RSA_E, 0);
	if (!ok || !cJSON_AddStringToObject(j, "kty", is_ec(c) ? "EC" : "RSA") ||
	    !cJSON_AddStringToObject(j, "use", "sig") ||
	    !cJSON_AddStringToObject(j, "alg", alg_name(c)) ||
	    !cJSON_AddStringToObject(m, "kty", is_ec(c) ? "EC" : "RSA") ||
	    keys_jwk_thumbprint(m, kid) != 0 || !cJSON_AddStringToObject(j, "kid", kid))
		goto fail;
	cJSON_DeleteItemFromObjectCaseSensitive(m, "kty");
	while ((v = m->child)) {
		cJSON_DetachItemViaPointer(m, v);
		if (!cJSON_AddItemToObject(j, v->string, v)) {
			cJSON_Delete(v);
			goto fail;
		}
	}
	cJSON_Delete(m);
	return j;
fail:
	cJSON_Delete(m);
	cJSON_Delete(j);
	return NULL;
}

static unsigned char *b64url_decode(const char *s, size_t *len)
{
	size_t n = strlen(s), i, pad = (4 - n % 4) % 4;
	unsigned char *out;
	char *std;
	int got;

	if (n % 4 == 1 || !(std = malloc(n + pad + 1)))
		return NULL;
	for (i = 0; i < n; i++) {
		if (s[i] == '+' || s[i] == '/' || s[i] == '=') {
			free(std);
			return NULL;
		}
		std[i] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
	}
	memset(std + n, '=', pad);
	std[n + pad] = '\0';
	out = malloc((n + pad) / 4 * 3 + 1);
	got = out ? EVP_DecodeBlock(out, (unsigned char *)std, (int)(n + pad)) : -1;
	free(std);
	if (got < 0) {
		free(out);
		return NULL;
	}
	*len = (size_t)got - pad;
	return out;
}

/* The public key a published JWK describes, as verifiers rebuild it. */
static EVP_PKEY *jwk_public_key(const keys_cred *c, const cJSON *jwk)
{
	const char *names[2] = {is_ec(c) ? "x" : "n", is_ec(c) ? "y" : "e"};
	unsigned char *raw[2] = {NULL, NULL}, pub[1 + 2 * EC_COORD];
	size_t len[2] = {0, 0};
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pk = NULL;
	BIGNUM *bn[2] = {NULL, NULL};
	int i, ok = bld != NULL;

	for (i = 0; i < 2 && ok; i++) {
		const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(jwk, names[i]));

		ok = v && (raw[i] = b64url_decode(v, &len[i])) != NULL;
	}
	if (ok && is_ec(c)) {
		ok = len[0] == EC_COORD && len[1] == EC_COORD;
		if (ok) {
			pub[0] = 0x04;	/* uncompressed point, SEC 1 2.3.3 */
			memcpy(pub + 1, raw[0], EC_COORD);
			memcpy(pub + 1 + EC_COORD, raw[1], EC_COORD);
			ok = OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
							     "P-256", 0) == 1 &&
			     OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub,
							      sizeof pub) == 1;
		}
	} else if (ok) {
		ok = (bn[0] = BN_bin2bn(raw[0], (int)len[0], NULL)) &&
		     (bn[1] = BN_bin2bn(raw[1], (int)len[1], NULL)) &&
		     OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn[0]) == 1 &&
		     OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn[1]) == 1;
	}
	if (ok && (params = OSSL_PARAM_BLD_to_param(bld)) &&
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, is_ec(c) ? "EC" : "RSA", NULL)) &&
	    EVP_PKEY_fromdata_init(ctx) == 1)
		(void)EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn[0]);
	BN_free(bn[1]);
	free(raw[0]);
	free(raw[1]);
	return pk;
}

/* The kid of the private key in pem; -1 when pem is not this item's kind. */
static int pem_kid(const keys_cred *c, const char *pem, char kid[44])
{
	EVP_PKEY *pk = pem_key(c, pem);
	cJSON *j = pk ? public_jwk(c, pk, kid) : NULL;

	EVP_PKEY_free(pk);
	cJSON_Delete(j);
	return j ? 0 : -1;
}

static int kid_ok(const char *kid)
{
	size_t i;

	for (i = 0; kid[i]; i++)
		if (!((kid[i] >= 'A' && kid[i] <= 'Z') || (kid[i] >= 'a' && kid[i] <= 'z') ||
		      (kid[i] >= '0' && kid[i] <= '9') || kid[i] == '-' || kid[i] == '_'))
			return 0;
	return i == 43;
}

/* ---- files ---- */

static char *key_path(const keys_cred *c, const char *kid)
{
	char name[64];

	snprintf(name, sizeof name, "%s.pem", kid);
	return ops_path_join(c->extra, name);
}

/* The key file VAR names, read as a secrets file; its text and stat. */
static ops_code read_current(keys_cred *c, const keys_values *store, char **text, size_t *len,
			     struct stat *st, ops_error *err)
{
	const char *path = keys_values_get(store, c->var);

	if (!path || !*path)
		return ops_error_set(err, OPS_ECONFIG, "%s is not set in %s; set it to the private "
				     "key file in use first (openssl genpkey makes one)", c->var,
				     ops_config_get(c->run->cfg, "keys.env_file"));
	return ops_read_private_file(path, "JWT signing key", KEY_MAX, text, len, st, err);
}

/* The kid of the key the env file names now: the one never removed. */
static ops_code current_kid(keys_cred *c, const keys_values *store, char kid[44], ops_error *err)
{
	struct stat st;
	char *text = NULL;
	size_t len = 0;
	ops_code rc;
	int bad;

	if ((rc = read_current(c, store, &text, &len, &st, err)) != OPS_OK)
		return rc;
	bad = pem_kid(c, text, kid) != 0;
	OPENSSL_cleanse(text, len);
	free(text);
	if (bad)
		return ops_error_set(err, OPS_ECONFIG, "'%s' (%s) is not %s in PEM", keys_values_get(
					     store, c->var), c->var, key_kind(c));
	return OPS_OK;
}

static char *jwks_path(const keys_cred *c)
{
	return ops_path_join(c->extra, "jwks.json");
}

/* DIR/jwks.json, or an empty set when there is none yet. */
static ops_code jwks_load(const keys_cred *c, cJSON **out, ops_error *err)
{
	char *path = jwks_path(c), *text = NULL;
	size_t len;
	ops_code rc = OPS_OK;
	struct stat st;

	*out = NULL;
	if (!path)
		return ops_error_oom(err);
	if (lstat(path, &st) != 0 && errno == ENOENT) {
		*out = cJSON_CreateObject();
		if (!*out || !cJSON_AddArrayToObject(*out, "keys"))
			rc = ops_error_oom(err);
		goto out;
	}
	if ((rc = ops_read_file(path, JWKS_MAX, &text, &len, err)) != OPS_OK)
		goto out;
	*out = cJSON_ParseWithLength(text, len);
	if (!cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(*out, "keys")))
		rc = ops_error_set(err, OPS_EDATA, "'%s' is not a JWK Set (an object with a \"keys\" "
				   "array)", path);
out:
	if (rc != OPS_OK) {
		cJSON_Delete(*out);
		*out = NULL;
	}
	free(text);
	free(path);
	return rc;
}

/* Atomically, 0644 whatever the umask: every verifier reads it. */
static ops_code jwks_save(const keys_cred *c, const cJSON *jwks, ops_error *err)
{
	char *path = jwks_path(c), *text = cJSON_Print(jwks);
	ops_afile *af = NULL;
	ops_code rc;

	if (!path || !text) {
		rc = ops_error_oom(err);
		goto out;
	}
	if ((rc = ops_afile_open(path, 0644, &af, err)) != OPS_OK)
		goto out;
	if (fchmod(ops_afile_fd(af), 0644) != 0) {
		rc = ops_error_errno(err, errno, "cannot chmod", ops_afile_temp_path(af));
		ops_afile_abort(af);
		goto out;
	}
	if ((rc = ops_afile_write(af, text, strlen(text), err)) != OPS_OK ||
	    (rc = ops_afile_write(af, "\n", 1, err)) != OPS_OK) {
		ops_afile_abort(af);
		goto out;
	}
	rc = ops_afile_commit(af, err);
out:
	free(text);
	free(path);
	return rc;
}

static cJSON *jwks_find(const cJSON *jwks, const char *kid)
{
	cJSON *k;

	cJSON_ArrayForEach(k, cJSON_GetObjectItemCaseSensitive(jwks, "keys")) {
		const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(k, "kid"));

		if (v && strcmp(v, kid) == 0)
			return k;
	}
	return NULL;
}

/* Remove kid from the set; 1 when it was there. */
static int jwks_drop(cJSON *jwks, const char *kid)
{
	cJSON *k = jwks_find(jwks, kid);

	if (!k)
		return 0;
	cJSON_Delete(cJSON_DetachItemViaPointer(cJSON_GetObjectItemCaseSensitive(jwks, "keys"), k));
	return 1;
}

/*
 * DIR/KID.pem holding pem, 0600, owned as the key it replaces (the
 * application reads it).  Written to a temporary file and linked into
 * place, so it appears whole or not at all and never replaces a file: one
 * already there with this kid is this key (a set repeated after a crash).
 */
static ops_code write_key(keys_cred *c, const char *kid, const char *pem, const struct stat *owner,
			  ops_error *err)
{
	char *path = key_path(c, kid), *text = NULL, have[44];
	ops_afile *af = NULL;
	struct stat st;
	size_t len;
	ops_code rc;
	int fd;

	if (!path)
		return ops_error_oom(err);
	if (lstat(path, &st) == 0) {
		rc = ops_read_private_file(path, "JWT signing key", KEY_MAX, &text, &len, &st, err);
		if (rc == OPS_OK && (pem_kid(c, text, have) != 0 || strcmp(have, kid) != 0))
			rc = ops_error_set(err, OPS_EDATA, "'%s' exists and holds another key", path);
		if (text) {
			OPENSSL_cleanse(text, len);
			free(text);
		}
		free(path);
		return rc;
	}
	if ((rc = ops_afile_open(path, 0600, &af, err)) != OPS_OK)
		goto out;
	fd = ops_afile_fd(af);
	/* Only root can give a file away; at 0600 the group reads nothing. */
	if (fchmod(fd, 0600) != 0 ||
	    (geteuid() == 0 && (owner->st_uid != 0 || owner->st_gid != getegid()) &&
	     fchown(fd, owner->st_uid, owner->st_gid) != 0)) {
		rc = ops_error_errno(err, errno, "cannot set the mode and owner of",
				     ops_afile_temp_path(af));
		goto abort;
	}
	if ((rc = ops_afile_write(af, pem, strlen(pem), err)) != OPS_OK)
		goto abort;
	if (fsync(fd) != 0) {
		rc = ops_error_errno(err, errno, "cannot fsync", ops_afile_temp_path(af));
		goto abort;
	}
	if (link(ops_afile_temp_path(af), path) != 0) {
		rc = ops_error_errno(err, errno, "cannot create", path);
		goto abort;
	}
	ops_afile_abort(af);	/* the temporary name only */
	rc = ops_fsync_dir(c->extra, err);
	goto out;
abort:
	ops_afile_abort(af);
out:
	free(path);
	return rc;
}

static ops_code remove_key(keys_cred *c, const char *kid, ops_error *err)
{
	char *path = key_path(c, kid);
	ops_code rc = OPS_OK;

	if (!path)
		return ops_error_oom(err);
	if (unlink(path) != 0 && errno != ENOENT)
		rc = ops_error_errno(err, errno, "cannot remove", path);
	free(path);
	return rc;
}

/* ---- the driver ---- */

/* "DIR[:VAR]" of spec: VAR when what follows the last ':' is a name. */
static ops_code split_spec(const char *spec, char **dir, char **var)
{
	const char *rest = spec + 6, *colon = strrchr(rest, ':');
	size_t n;

	*var = strdup(colon && keys_env_name_valid(colon + 1, strlen(colon + 1)) ? colon + 1 : DEFAULT_VAR);
	n = colon && keys_env_name_valid(colon + 1, strlen(colon + 1)) ? (size_t)(colon - rest) : strlen(rest);
	while (n > 1 && rest[n - 1] == '/')
		n--;
	*dir = strndup(rest, n);
	if (!*dir || !*var) {
		free(*dir);
		free(*var);
		*dir = *var = NULL;
		return OPS_EINTERNAL;
	}
	return OPS_OK;
}

/* Two items sharing DIR would publish, and retire, each other's keys. */
static ops_code dir_shared(keys_cred *c, ops_error *err)
{
	char **items = ops_config_list(c->run->cfg, "keys.jwt"), *dir, *var;
	ops_code rc = OPS_OK;
	size_t i;

	if (!items)
		return ops_error_oom(err);
	for (i = 0; items[i] && rc == OPS_OK; i++) {
		if (strcmp(items[i], c->spec) == 0 ||
		    (strncmp(items[i], "rs256:", 6) != 0 && strncmp(items[i], "es256:", 6) != 0))
			continue;
		if (split_spec(items[i], &dir, &var) != OPS_OK) {
			rc = ops_error_oom(err);
			break;
		}
		if (strcmp(dir, c->extra) == 0)
			rc = ops_error_set(err, OPS_ECONFIG, "'%s' and '%s' share the directory %s; "
					   "each key pair needs its own (its jwks.json)", c->spec,
					   items[i], dir);
		free(dir);
		free(var);
	}
	ops_strv_free(items);
	return rc;
}

static ops_code pair_parse(keys_cred *c, ops_error *err)
{
	size_t n;
	long life;

	if (split_spec(c->spec, &c->extra, &c->var) != OPS_OK)
		return ops_error_oom(err);
	/* The application, not opsctl, opens the file the env file names, from
	 * its own working directory. */
	if (c->extra[0] != '/')
		return ops_error_set(err, OPS_ECONFIG, "'%s': DIR must be an absolute path; write "
				     "%.5s:DIR[:VAR]", c->spec, c->spec);
	n = strlen(c->var);
	if (n > 5 && strcmp(c->var + n - 5, "_FILE") == 0) {
		if (asprintf(&c->user_var, "%.*s_KID", (int)(n - 5), c->var) < 0)
			c->user_var = NULL;
	} else if (asprintf(&c->user_var, "%s_KID", c->var) < 0) {
		c->user_var = NULL;
	}
	/* jwt-secret:VAR like HS256's: one variable, one credential. */
	if (!c->user_var || asprintf(&c->id, "jwt-secret:%s", c->var) < 0 ||
	    asprintf(&c->display, "the JWT %s key %s", alg_name(c), c->var) < 0) {
		c->id = c->display = NULL;
		return ops_error_oom(err);
	}
	life = ops_config_int(c->run->cfg, "keys.jwt_token_lifetime");
	if (life > c->grace)
		c->grace = life;
	return dir_shared(c, err);
}

static ops_code pair_check(keys_cred *c, const keys_values *store, ops_error *err)
{
	struct stat st;
	cJSON *jwks = NULL;
	ops_code rc;

	(void)store;
	if (stat(c->extra, &st) != 0 || !S_ISDIR(st.st_mode))
		return ops_error_set(err, OPS_ECONFIG, "%s: the key directory %s does not exist",
				     c->spec, c->extra);
	if (access(c->extra, W_OK | X_OK) != 0)
		return ops_error_errno(err, errno, "cannot write in", c->extra);
	rc = jwks_load(c, &jwks, err);
	cJSON_Delete(jwks);
	return rc;
}

static ops_code pair_current(keys_cred *c, const keys_values *store, keys_secret *out,
			     ops_error *err)
{
	struct stat st;
	char *text = NULL, kid[44];
	size_t len = 0;
	ops_code rc;

	if ((rc = read_current(c, store, &text, &len, &st, err)) != OPS_OK)
		return rc;
	if (pem_kid(c, text, kid) != 0) {
		OPENSSL_cleanse(text, len);
		free(text);
		return ops_error_set(err, OPS_ECONFIG, "'%s' (%s) is not %s in PEM, unencrypted",
				     keys_values_get(store, c->var), c->var, key_kind(c));
	}
	out->text = text;
	out->len = len;
	return OPS_OK;
}

static ops_code pair_generate(keys_cred *c, keys_secret *out, ops_error *err)
{
	EVP_PKEY *pk = is_ec(c) ? EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")
				: EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)RSA_BITS);
	BIO *b = BIO_new(BIO_s_secmem());	/* cleansed when freed */
	char *data;
	long n;
	ops_code rc = OPS_OK;

	if (!pk || !b || PEM_write_bio_PrivateKey(b, pk, NULL, NULL, 0, NULL, NULL) != 1 ||
	    (n = BIO_get_mem_data(b, &data)) <= 0) {
		rc = ops_error_set(err, OPS_EINTERNAL, "OpenSSL could not make %s",
				   key_kind(c));
	} else if (!(out->text = malloc((size_t)n + 1))) {
		rc = ops_error_oom(err);
	} else {
		memcpy(out->text, data, (size_t)n);
		out->text[n] = '\0';
		out->len = (size_t)n;
	}
	BIO_free(b);
	EVP_PKEY_free(pk);
	return rc;
}

/* pending as a key of this item's kind, or the error saying why not. */
static EVP_PKEY *pending_key(keys_cred *c, const keys_secret *pending, ops_error *err)
{
	EVP_PKEY *pk = pem_key(c, pending->text);

	if (pk)
		return pk;
	if (strncmp(pending->text, "-----BEGIN", 10) != 0)
		ops_error_set(err, OPS_EFAIL, "%s cannot be restored from a backup, which holds its "
			      "file's name and not the key; rotate it instead", c->display);
	else
		ops_error_set(err, OPS_EDATA, "the new key of %s is not %s", c->display,
			      key_kind(c));
	return NULL;
}

/* The set gets the pending key beside every key it has, and the current
 * one too when the application signs with a key not published yet. */
static ops_code pair_set(keys_cred *c, const keys_secret *pending, const keys_values *store,
			 ops_error *err)
{
	EVP_PKEY *pk = NULL, *cur = NULL;
	cJSON *jwks = NULL, *j[2] = {NULL, NULL};
	char kid[2][44], *text = NULL;
	struct stat st;
	size_t len = 0, i;
	int changed = 0;
	ops_code rc;

	if ((rc = read_current(c, store, &text, &len, &st, err)) != OPS_OK)
		return rc;
	cur = pem_key(c, text);
	OPENSSL_cleanse(text, len);
	free(text);
	if (!cur) {
		rc = ops_error_set(err, OPS_ECONFIG, "'%s' (%s) is not %s in PEM",
				   keys_values_get(store, c->var), c->var, key_kind(c));
		goto out;
	}
	if (!(pk = pending_key(c, pending, err))) {
		rc = err->code;
		goto out;
	}
	if (!(j[0] = public_jwk(c, cur, kid[0])) || !(j[1] = public_jwk(c, pk, kid[1]))) {
		rc = ops_error_oom(err);
		goto out;
	}
	if ((rc = write_key(c, kid[1], pending->text, &st, err)) != OPS_OK ||
	    (rc = jwks_load(c, &jwks, err)) != OPS_OK)
		goto out;
	for (i = 0; i < 2; i++) {
		if (jwks_find(jwks, kid[i]))
			continue;
		if (!cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(jwks, "keys"), j[i])) {
			rc = ops_error_oom(err);
			goto out;
		}
		j[i] = NULL;
		changed = 1;
	}
	if (changed)
		rc = jwks_save(c, jwks, err);
out:
	cJSON_Delete(j[0]);
	cJSON_Delete(j[1]);
	cJSON_Delete(jwks);
	EVP_PKEY_free(cur);
	EVP_PKEY_free(pk);
	return rc;
}

static char *b64_text(const char *s)
{
	size_t n = strlen(s);
	char *out = malloc(KEYS_B64URL_LEN(n) + 1);

	if (out)
		keys_b64url((const unsigned char *)s, n, out);
	return out;
}

/* JWS (RFC 7515) wants ES256 as R || S, 32 bytes each; OpenSSL gives DER. */
static int der_to_raw(const unsigned char *der, size_t n, unsigned char raw[2 * EC_COORD])
{
	ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &der, (long)n);
	const BIGNUM *r, *s;
	int ok;

	if (!sig)
		return 0;
	ECDSA_SIG_get0(sig, &r, &s);
	ok = BN_bn2binpad(r, raw, EC_COORD) == EC_COORD &&
	     BN_bn2binpad(s, raw + EC_COORD, EC_COORD) == EC_COORD;
	ECDSA_SIG_free(sig);
	return ok;
}

static unsigned char *raw_to_der(const unsigned char raw[2 * EC_COORD], size_t *n)
{
	ECDSA_SIG *sig = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(raw, EC_COORD, NULL), *s = BN_bin2bn(raw + EC_COORD, EC_COORD, NULL);
	unsigned char *der = NULL;
	int len;

	if (!sig || !r || !s || ECDSA_SIG_set0(sig, r, s) != 1) {
		BN_free(r);
		BN_free(s);
		ECDSA_SIG_free(sig);
		return NULL;
	}
	len = i2d_ECDSA_SIG(sig, &der);
	ECDSA_SIG_free(sig);
	if (len <= 0)
		return NULL;
	*n = (size_t)len;
	return der;
}

/*
 * A token as the application will make it: signed with the new private key
 * and the kid KIDVAR will say, then verified the way a relying party does,
 * with the public key it rebuilds from jwks.json's entry for that kid (the
 * JWS travels as base64url text in between, ES256's signature as R || S).
 */
static ops_code pair_test(keys_cred *c, const keys_secret *pending, const keys_values *store,
			  ops_error *err)
{
	EVP_PKEY *pk = NULL, *pub = NULL;
	EVP_MD_CTX *md = NULL;
	cJSON *jwks = NULL;
	const cJSON *jwk;
	char kid[44], head[160], body[96], *h64 = NULL, *b64 = NULL, *input = NULL, *s64 = NULL;
	unsigned char *sig = NULL, *back = NULL, *der = NULL, raw[2 * EC_COORD];
	size_t slen = 0, blen = 0, dlen = 0;
	time_t now = time(NULL);
	ops_code rc = OPS_OK;

	(void)store;
	if (!(pk = pending_key(c, pending, err)))
		return err->code;
	if (pem_kid(c, pending->text, kid) != 0) {
		rc = ops_error_oom(err);
		goto out;
	}
	snprintf(head, sizeof head, "{\"alg\":\"%s\",\"kid\":\"%s\",\"typ\":\"JWT\"}", alg_name(c),
		 kid);
	snprintf(body, sizeof body, "{\"iss\":\"opsctl rotate-keys\",\"iat\":%lld,\"exp\":%lld}",
		 (long long)now, (long long)now + 60);
	if (!(h64 = b64_text(head)) || !(b64 = b64_text(body)) ||
	    asprintf(&input, "%s.%s", h64, b64) < 0) {
		input = NULL;
		rc = ops_error_oom(err);
		goto out;
	}
	if (!(md = EVP_MD_CTX_new()) || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, pk) != 1 ||
	    EVP_DigestSign(md, NULL, &slen, (unsigned char *)input, strlen(input)) != 1 ||
	    !(sig = malloc(slen)) ||
	    EVP_DigestSign(md, sig, &slen, (unsigned char *)input, strlen(input)) != 1) {
		rc = ops_error_set(err, OPS_EINTERNAL, "OpenSSL could not sign a test token with "
				   "the new key of %s", c->display);
		goto out;
	}
	if (is_ec(c)) {
		if (!der_to_raw(sig, slen, raw)) {
			rc = ops_error_set(err, OPS_EINTERNAL, "bad ECDSA signature from OpenSSL");
			goto out;
		}
		memcpy(sig, raw, sizeof raw);
		slen = sizeof raw;
	}
	if (!(s64 = malloc(KEYS_B64URL_LEN(slen) + 1))) {
		rc = ops_error_oom(err);
		goto out;
	}
	keys_b64url(sig, slen, s64);

	/* The relying party's side: the JWKS and the token's text only. */
	if ((rc = jwks_load(c, &jwks, err)) != OPS_OK)
		goto out;
	if (!(jwk = jwks_find(jwks, kid))) {
		rc = ops_error_set(err, OPS_EFAIL, "%s/jwks.json does not publish the new key %s",
				   c->extra, kid);
		goto out;
	}
	if (!(pub = jwk_public_key(c, jwk)) || !(back = b64url_decode(s64, &blen))) {
		rc = ops_error_set(err, OPS_EFAIL, "%s/jwks.json's entry for %s is not a usable "
				   "%s key", c->extra, kid, alg_name(c));
		goto out;
	}
	if (is_ec(c) && (blen != sizeof raw || !(der = raw_to_der(back, &dlen)))) {
		rc = ops_error_set(err, OPS_EINTERNAL, "bad ES256 signature");
		goto out;
	}
	EVP_MD_CTX_free(md);
	if (!(md = EVP_MD_CTX_new()) ||
	    EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pub) != 1 ||
	    EVP_DigestVerify(md, der ? der : back, der ? dlen : blen, (unsigned char *)input,
			     strlen(input)) != 1)
		rc = ops_error_set(err, OPS_EFAIL, "a token signed with the new key of %s does not "
				   "verify with the key %s/jwks.json publishes as %s", c->display,
				   c->extra, kid);
out:
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pk);
	EVP_PKEY_free(pub);
	cJSON_Delete(jwks);
	OPENSSL_free(der);
	free(sig);
	free(back);
	free(s64);
	free(input);
	free(h64);
	free(b64);
	return rc;
}

static ops_code pair_deliver(keys_cred *c, const keys_secret *pending, const keys_values *store,
			     keys_values *out, ops_error *err)
{
	EVP_PKEY *pk;
	char kid[44], *path;
	ops_code rc;

	(void)store;
	/* Also the first look at a restored value, before anything is sealed. */
	if (!(pk = pending_key(c, pending, err)))
		return err->code;
	EVP_PKEY_free(pk);
	if (pem_kid(c, pending->text, kid) != 0 || !(path = key_path(c, kid)))
		return ops_error_oom(err);
	rc = keys_values_add(out, c->var, path, err);
	if (rc == OPS_OK)
		rc = keys_values_add(out, c->user_var, kid, err);
	free(path);
	return rc;
}

/* Take kids (separated by spaces) out of the set and delete their files,
 * never the key the env file names now. */
static ops_code drop_kids(keys_cred *c, const char *kids, const keys_values *store,
			  ops_error *err)
{
	char keep[44], kid[44];
	cJSON *jwks = NULL;
	const char *p = kids, *e;
	int changed = 0;
	ops_code rc;

	if ((rc = current_kid(c, store, keep, err)) != OPS_OK) {
		ops_error_prefix(err, "cannot tell which key of %s is in use", c->display);
		return rc;
	}
	if ((rc = jwks_load(c, &jwks, err)) != OPS_OK)
		return rc;
	for (; rc == OPS_OK && *p; p = *e ? e + 1 : e) {
		e = strchr(p, ' ');
		if (!e)
			e = p + strlen(p);
		snprintf(kid, sizeof kid, "%.*s", (int)(e - p < 43 ? e - p : 43), p);
		/* From the state file: only a thumbprint may name a file here. */
		if (e - p != 43 || !kid_ok(kid) || strcmp(kid, keep) == 0)
			continue;
		changed |= jwks_drop(jwks, kid);
	}
	if (changed)
		rc = jwks_save(c, jwks, err);
	cJSON_Delete(jwks);
	/* The files after the set: a crash between leaves a file, not a
	 * published key without one. */
	for (p = kids; rc == OPS_OK && *p; p = *e ? e + 1 : e) {
		e = strchr(p, ' ');
		if (!e)
			e = p + strlen(p);
		snprintf(kid, sizeof kid, "%.*s", (int)(e - p < 43 ? e - p : 43), p);
		if (e - p == 43 && kid_ok(kid) && strcmp(kid, keep) != 0)
			rc = remove_key(c, kid, err);
	}
	return rc;
}

static ops_code pair_unset(keys_cred *c, const keys_secret *pending, const keys_secret *current,
			   const keys_values *store, ops_error *err)
{
	char kid[44];

	(void)current;
	if (pem_kid(c, pending->text, kid) != 0)
		return OPS_OK;	/* never published: nothing to take back */
	return drop_kids(c, kid, store, err);
}

static ops_code pair_retire(keys_cred *c, const char *prev_hint, const keys_values *store,
			    ops_error *err)
{
	return prev_hint && *prev_hint ? drop_kids(c, prev_hint, store, err) : OPS_OK;
}

/* The kids to retire once the rotation starting now is past its grace
 * period: the current key's, and every key of the set opsctl made
 * (DIR/KID.pem exists); "" when they cannot be read, NULL out of memory. */
static char *pair_retire_hint(keys_cred *c, const keys_values *store)
{
	char kid[44], *out = NULL, *more, *path;
	const cJSON *k;
	cJSON *jwks = NULL;
	ops_error err;
	struct stat st;

	ops_error_clear(&err);
	if (current_kid(c, store, kid, &err) != OPS_OK || jwks_load(c, &jwks, &err) != OPS_OK)
		return strdup("");
	if (!(out = strdup(kid)))
		goto out;
	cJSON_ArrayForEach(k, cJSON_GetObjectItemCaseSensitive(jwks, "keys")) {
		const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(k, "kid"));

		if (!v || !kid_ok(v) || strcmp(v, kid) == 0)
			continue;
		if (!(path = key_path(c, v))) {
			free(out);
			out = NULL;
			goto out;
		}
		if (lstat(path, &st) == 0) {
			if (asprintf(&more, "%s %s", out, v) < 0) {
				free(path);
				free(out);
				out = NULL;
				goto out;
			}
			free(out);
			out = more;
		}
		free(path);
	}
out:
	cJSON_Delete(jwks);
	return out;
}

#define PAIR_DRIVER(KIND)                           \
	{                                           \
		.kind = KIND,                       \
		.type = KEYS_JWT,                   \
		.parse = pair_parse,                \
		.check = pair_check,                \
		.current = pair_current,            \
		.generate = pair_generate,          \
		.set = pair_set,                    \
		.test = pair_test,                  \
		.deliver = pair_deliver,            \
		.unset = pair_unset,                \
		.retire = pair_retire,              \
		.retire_hint = pair_retire_hint,    \
	}

const keys_driver keys_driver_jwt_rs256 = PAIR_DRIVER("jwt-rs256");
const keys_driver keys_driver_jwt_es256 = PAIR_DRIVER("jwt-es256");
