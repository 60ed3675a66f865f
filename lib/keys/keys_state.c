/*
 * What rotate-keys keeps between runs, in STATE_DIR/keys/: one JSON state
 * file per credential (phase, fingerprints, times, the retire hint; never a
 * secret), and while a rotation is under way two sealed files beside it:
 * the new secret (ID.pending.sealed) and the store values it replaces
 * (ID.rollback.sealed), so that a run killed at any step can be resumed or
 * rolled back by the next.  Sealed means core/crypt's AES-256-GCM stream
 * under the seal key (keys.seal_key_file, or STATE_DIR/keys/seal.key made
 * on first use); the same key makes the fingerprints, so that a state file
 * read by someone else does not even allow a dictionary test of a weak
 * secret that predates opsctl.
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
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "keys/keys_internal.h"
#include "opsmaint/crypt.h"
#include "opsmaint/fileio.h"
#include "opsmaint/hash.h"

#define STATE_MAX (1024 * 1024)
#define SEALED_MAX (1024 * 1024)

void keys_secret_wipe(keys_secret *s)
{
	if (!s || !s->text)
		return;
	OPENSSL_cleanse(s->text, s->len);
	free(s->text);
	s->text = NULL;
	s->len = 0;
}

ops_code keys_secret_dup(const char *text, keys_secret *out, ops_error *err)
{
	size_t n = strlen(text);

	out->text = malloc(n + 1);
	if (!out->text)
		return ops_error_oom(err);
	memcpy(out->text, text, n + 1);
	out->len = n;
	return OPS_OK;
}

size_t keys_b64url(const unsigned char *raw, size_t n, char *out)
{
	static const char b64url[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t i, o = 0;
	unsigned v;

	/* 6 bits a character, no padding. */
	for (i = 0; i < n; i += 3) {
		v = (unsigned)raw[i] << 16;
		if (i + 1 < n)
			v |= (unsigned)raw[i + 1] << 8;
		if (i + 2 < n)
			v |= raw[i + 2];
		out[o++] = b64url[(v >> 18) & 63];
		out[o++] = b64url[(v >> 12) & 63];
		if (i + 1 < n)
			out[o++] = b64url[(v >> 6) & 63];
		if (i + 2 < n)
			out[o++] = b64url[v & 63];
	}
	out[o] = '\0';
	return o;
}

ops_code keys_secret_random(size_t n, keys_secret *out, ops_error *err)
{
	unsigned char raw[256];

	if (n == 0 || n > sizeof raw)
		return ops_error_set(err, OPS_EINTERNAL, "bad secret length %zu", n);
	if (RAND_bytes(raw, (int)n) != 1)
		return ops_error_set(err, OPS_EINTERNAL, "OpenSSL's random generator failed");
	out->text = malloc(KEYS_B64URL_LEN(n) + 1);
	if (!out->text) {
		OPENSSL_cleanse(raw, sizeof raw);
		return ops_error_oom(err);
	}
	out->len = keys_b64url(raw, n, out->text);
	OPENSSL_cleanse(raw, sizeof raw);
	return OPS_OK;
}

ops_code keys_values_add(keys_values *v, const char *name, const char *value, ops_error *err)
{
	ops_code rc;

	if (v->n >= sizeof v->name / sizeof v->name[0])
		return ops_error_set(err, OPS_EINTERNAL, "too many values for one credential");
	if (!(v->name[v->n] = strdup(name)))
		return ops_error_oom(err);
	v->value[v->n].text = NULL;
	v->value[v->n].len = 0;
	if (value && (rc = keys_secret_dup(value, &v->value[v->n], err)) != OPS_OK) {
		free(v->name[v->n]);
		v->name[v->n] = NULL;
		return rc;
	}
	v->n++;
	return OPS_OK;
}

const char *keys_values_get(const keys_values *v, const char *name)
{
	size_t i;

	for (i = 0; v && i < v->n; i++)
		if (strcmp(v->name[i], name) == 0)
			return v->value[i].text;
	return NULL;
}

void keys_values_wipe(keys_values *v)
{
	size_t i;

	for (i = 0; i < v->n; i++) {
		free(v->name[i]);
		v->name[i] = NULL;
		keys_secret_wipe(&v->value[i]);
	}
	v->n = 0;
}

/* ---- helpers the drivers share ---- */

const char *keys_cfg(const keys_cred *c, const char *key)
{
	const char *v = c->run && c->run->cfg ? ops_config_get(c->run->cfg, key) : NULL;

	return v && *v ? v : NULL;
}

int keys_sql_ident_valid(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > 63 ||
	    !((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
		return 0;
	for (i = 1; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '$'))
			return 0;
	return 1;
}

ops_code keys_missing_var(const keys_cred *c, const char *name, const char *items_key,
			  ops_error *err)
{
	const char *file = keys_cfg(c, "keys.env_file");

	ops_error_set(err, OPS_ECONFIG, "%s is not set in the env file '%s'", name,
		      file ? file : "(keys.env_file unset)");
	ops_error_hint(err, "Add %s=... for %s, or correct %s.", name, c->display, items_key);
	return OPS_ECONFIG;
}

/* ---- the seal key ---- */

static char *keys_dir(const ops_config *cfg)
{
	return ops_path_join(ops_config_get(cfg, "general.state_dir"), "keys");
}

ops_code keys_seal_key(const ops_config *cfg, unsigned char key[OPS_CRYPT_KEY_LEN],
		       ops_error *err)
{
	const char *conf = ops_config_get(cfg, "keys.seal_key_file");
	char *dir = NULL, *path = NULL, hex[OPS_CRYPT_KEY_LEN * 2 + 2];
	unsigned char raw[OPS_CRYPT_KEY_LEN];
	ops_code rc;
	size_t i;
	int fd;

	if (conf && *conf)
		return ops_crypt_load_key(conf, key, err);
	if (!(dir = keys_dir(cfg)) || !(path = ops_path_join(dir, "seal.key"))) {
		rc = ops_error_oom(err);
		goto out;
	}
	if ((rc = ops_mkdir_p(dir, 0700, err)) != OPS_OK)
		goto out;
	if (access(path, F_OK) == 0 || errno != ENOENT) {
		rc = ops_crypt_load_key(path, key, err);
		goto out;
	}
	/* First use: a new key, created exclusively so that two first runs
	 * cannot each seal under a key the other then overwrites. */
	if (RAND_bytes(raw, sizeof raw) != 1) {
		rc = ops_error_set(err, OPS_EINTERNAL, "OpenSSL's random generator failed");
		goto out;
	}
	for (i = 0; i < sizeof raw; i++)
		snprintf(hex + 2 * i, 3, "%02x", raw[i]);
	hex[2 * sizeof raw] = '\n';
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = errno == EEXIST ? ops_crypt_load_key(path, key, err)
				     : ops_error_errno(err, errno, "cannot create", path);
		goto out;
	}
	if (ops_write_all(fd, hex, sizeof raw * 2 + 1) != 0 || fsync(fd) != 0) {
		rc = ops_error_errno(err, errno, "cannot write", path);
		close(fd);
		unlink(path);
		goto out;
	}
	close(fd);
	if ((rc = ops_fsync_dir(dir, err)) != OPS_OK)
		goto out;
	memcpy(key, raw, sizeof raw);
out:
	OPENSSL_cleanse(raw, sizeof raw);
	OPENSSL_cleanse(hex, sizeof hex);
	free(dir);
	free(path);
	return rc;
}

void keys_fingerprint(const unsigned char key[OPS_CRYPT_KEY_LEN], const char *secret,
		      char out[KEYS_FP_SIZE])
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	static const char ctx[] = "opsctl-keys-fingerprint\n";
	unsigned char *buf;
	size_t n = strlen(secret), i;

	out[0] = '\0';
	buf = malloc(sizeof ctx - 1 + n);
	if (!buf)
		return;
	memcpy(buf, ctx, sizeof ctx - 1);
	memcpy(buf + sizeof ctx - 1, secret, n);
	if (HMAC(EVP_sha256(), key, OPS_CRYPT_KEY_LEN, buf, sizeof ctx - 1 + n, mac, &len)) {
		for (i = 0; i < 8 && i < len; i++)
			snprintf(out + 2 * i, 3, "%02x", mac[i]);
	}
	OPENSSL_cleanse(buf, sizeof ctx - 1 + n);
	free(buf);
}

/* ---- sealing ---- */

struct membuf {
	unsigned char *p;
	size_t len, cap;
};

static ops_code mem_sink(void *ctx, const void *buf, size_t len, ops_error *err)
{
	struct membuf *m = ctx;

	if (m->len + len > m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 256;
		unsigned char *p;

		while (cap < m->len + len)
			cap *= 2;
		if (!(p = malloc(cap)))
			return ops_error_oom(err);
		if (m->p) {
			memcpy(p, m->p, m->len);
			OPENSSL_cleanse(m->p, m->cap);
			free(m->p);
		}
		m->p = p;
		m->cap = cap;
	}
	memcpy(m->p + m->len, buf, len);
	m->len += len;
	return OPS_OK;
}

static void mem_wipe(struct membuf *m)
{
	if (m->p) {
		OPENSSL_cleanse(m->p, m->cap);
		free(m->p);
	}
	memset(m, 0, sizeof *m);
}

static char *sealed_path(const ops_config *cfg, const keys_cred *c, const char *what)
{
	char *dir = keys_dir(cfg), *name = NULL, *path = NULL;

	if (dir && asprintf(&name, "%s.%s.sealed", c->file, what) >= 0)
		path = ops_path_join(dir, name);
	free(dir);
	free(name);
	return path;
}

ops_code keys_seal_file(const unsigned char key[OPS_CRYPT_KEY_LEN], const char *path,
			const char *text, ops_error *err)
{
	struct membuf m = {0};
	ops_encryptor *e = NULL;
	char *dir = ops_path_dir(path);
	ops_code rc;

	if (!dir)
		return ops_error_oom(err);
	if ((rc = ops_mkdir_p(dir, 0700, err)) != OPS_OK ||
	    (rc = ops_encryptor_new(key, mem_sink, &m, &e, err)) != OPS_OK ||
	    (rc = ops_encryptor_write(e, text, strlen(text), err)) != OPS_OK ||
	    (rc = ops_encryptor_finish(e, err)) != OPS_OK)
		goto out;
	rc = ops_write_file_atomic(path, m.p, m.len, 0600, err);
out:
	ops_encryptor_free(e);
	mem_wipe(&m);
	free(dir);
	return rc;
}

ops_code keys_unseal_file(const unsigned char key[OPS_CRYPT_KEY_LEN], const char *path,
			  const char *key_name, keys_secret *out, ops_error *err)
{
	struct membuf m = {0};
	ops_decryptor *d = NULL;
	char *data = NULL;
	size_t len = 0;
	ops_code rc;

	out->text = NULL;
	out->len = 0;
	if ((rc = ops_read_file(path, SEALED_MAX, &data, &len, err)) != OPS_OK)
		goto out;
	if ((rc = ops_decryptor_new(key, mem_sink, &m, &d, err)) != OPS_OK ||
	    (rc = ops_decryptor_write(d, data, len, err)) != OPS_OK ||
	    (rc = ops_decryptor_finish(d, err)) != OPS_OK) {
		if (rc == OPS_EDATA)
			ops_error_set(err, OPS_EDATA, "%s does not open with %s: damaged, or sealed "
				      "under another key", path, key_name);
		goto out;
	}
	if ((rc = mem_sink(&m, "", 1, err)) != OPS_OK)
		goto out;
	rc = keys_secret_dup((char *)m.p, out, err);
out:
	ops_decryptor_free(d);
	mem_wipe(&m);
	free(data);
	return rc;
}

static const char *seal_key_name(const ops_config *cfg)
{
	const char *k = ops_config_get(cfg, "keys.seal_key_file");

	return k && *k ? k : "the seal key (STATE_DIR/keys/seal.key)";
}

ops_code keys_seal(const ops_config *cfg, const unsigned char key[OPS_CRYPT_KEY_LEN],
		   const keys_cred *c, const char *what, const char *text, ops_error *err)
{
	char *path = sealed_path(cfg, c, what);
	ops_code rc;

	if (!path)
		return ops_error_oom(err);
	rc = keys_seal_file(key, path, text, err);
	free(path);
	return rc;
}

ops_code keys_unseal(const ops_config *cfg, const unsigned char key[OPS_CRYPT_KEY_LEN],
		     const keys_cred *c, const char *what, keys_secret *out, ops_error *err)
{
	char *path = sealed_path(cfg, c, what);
	ops_code rc;

	out->text = NULL;
	out->len = 0;
	if (!path)
		return ops_error_oom(err);
	rc = keys_unseal_file(key, path, seal_key_name(cfg), out, err);
	free(path);
	return rc;
}

/* Cleanse every string in j and below (cJSON_Delete frees without wiping). */
static void json_cleanse(cJSON *j)
{
	cJSON *c;

	if (cJSON_IsString(j) && j->valuestring)
		OPENSSL_cleanse(j->valuestring, strlen(j->valuestring));
	for (c = j ? j->child : NULL; c; c = c->next)
		json_cleanse(c);
}

void keys_json_wipe_delete(cJSON *j)
{
	json_cleanse(j);
	cJSON_Delete(j);
}

void keys_unlink_sealed(const ops_config *cfg, const keys_cred *c, const char *what)
{
	char *path = sealed_path(cfg, c, what);

	if (path)
		unlink(path);
	free(path);
}

/* ---- state files ---- */

static char *state_path(const ops_config *cfg, const keys_cred *c)
{
	char *dir = keys_dir(cfg), *name = NULL, *path = NULL;

	if (dir && asprintf(&name, "%s.json", c->file) >= 0)
		path = ops_path_join(dir, name);
	free(dir);
	free(name);
	return path;
}

ops_code keys_state_load(const ops_config *cfg, const keys_cred *c, cJSON **out, ops_error *err)
{
	char *path = state_path(cfg, c), *text = NULL;
	ops_code rc = OPS_OK;

	*out = NULL;
	if (!path)
		return ops_error_oom(err);
	if (access(path, F_OK) != 0 && errno == ENOENT) {
		*out = cJSON_CreateObject();
		if (!*out || !cJSON_AddStringToObject(*out, "id", c->id) ||
		    !cJSON_AddStringToObject(*out, "phase", "current"))
			rc = ops_error_oom(err);
		goto out;
	}
	if ((rc = ops_read_file(path, STATE_MAX, &text, NULL, err)) != OPS_OK)
		goto out;
	*out = cJSON_Parse(text);
	if (!cJSON_IsObject(*out) ||
	    !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(*out, "phase"))) {
		cJSON_Delete(*out);
		*out = NULL;
		/* Never guessed: a rotation may be half-way, and only the record
		 * says whether the server already has the new secret. */
		rc = ops_error_set(err, OPS_EDATA, "%s is not a rotate-keys state file; move it "
				   "away only once the credential is known to work", path);
	}
out:
	free(text);
	free(path);
	return rc;
}

ops_code keys_state_save(const ops_config *cfg, const keys_cred *c, const cJSON *st,
			 ops_error *err)
{
	char *path = state_path(cfg, c), *dir = keys_dir(cfg), *text = NULL;
	ops_code rc;

	if (!path || !dir || !(text = cJSON_Print(st))) {
		rc = ops_error_oom(err);
		goto out;
	}
	if ((rc = ops_mkdir_p(dir, 0700, err)) == OPS_OK)
		rc = ops_write_file_atomic(path, text, strlen(text), 0600, err);
out:
	free(text);
	free(path);
	free(dir);
	return rc;
}
