/*
 * Streaming objects in and out of the backup store.  Writing: plaintext ->
 * (encryptor) -> digest of the stored bytes -> store.  Reading: store ->
 * digest -> (decryptor) -> plaintext, pulled by libarchive.  The digest is
 * always of the stored bytes, so verification never needs the key to find
 * damage, and the key never sees bytes that were not authenticated.  Both
 * directions stop at the next block once the run is cancelled (cancel.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backup/backup_internal.h"
#include "opsmaint/config.h"
#include "opsmaint/output.h"

#define CIPHER_BLOCK (1u << 20)

void bk_progress(const ops_run *run, const char *label, long long bytes, long long total,
		 double started, int final)
{
	ops_run_progress(run, label, (double)bytes, (double)total, "bytes", started, final);
}

ops_code bk_load_key(const ops_config *cfg, unsigned char key[OPS_CRYPT_KEY_LEN], int *have,
		     ops_error *err)
{
	const char *path = ops_config_get(cfg, "backup.encryption_key_file");

	*have = 0;
	if (!path || !*path)
		return OPS_OK;
	if (ops_crypt_load_key(path, key, err) != OPS_OK)
		return err->code;
	*have = 1;
	return OPS_OK;
}

static ops_code raw_sink(void *arg, const void *buf, size_t len, ops_error *err)
{
	bk_out *o = arg;

	/* Every byte of every backup passes here: the place to notice that
	 * the run was cancelled, so the object is aborted, never committed. */
	if (ops_cancel_check(err) != OPS_OK)
		return err->code;
	ops_sha256_update(o->hash, buf, len);
	o->size += (long long)len;
	if (o->progress)
		bk_progress(o->progress, o->key, o->size, 0, o->started, 0);
	return ops_store_write(o->w, buf, len, err);
}

ops_code bk_out_begin(const ops_backup_ctx *ctx, const char *key, const unsigned char *enc_key,
		      bk_out *o, ops_error *err)
{
	memset(o, 0, sizeof *o);
	o->key = key;
	o->progress = ctx->run->progress ? ctx->run : NULL;
	o->started = ops_clock();
	o->hash = ops_sha256_new();
	if (!o->hash)
		return ops_error_oom(err);
	if (ops_store_put_begin(ctx->store, key, &o->w, err) != OPS_OK) {
		bk_out_abort(o);
		return err->code;
	}
	if (enc_key && ops_encryptor_new(enc_key, raw_sink, o, &o->enc, err) != OPS_OK) {
		bk_out_abort(o);
		return err->code;
	}
	return OPS_OK;
}

ops_code bk_out_sink(void *arg, const void *buf, size_t len, ops_error *err)
{
	bk_out *o = arg;

	if (o->enc)
		return ops_encryptor_write(o->enc, buf, len, err);
	return raw_sink(o, buf, len, err);
}

ops_code bk_out_commit(bk_out *o, char hex[65], ops_error *err)
{
	ops_code rc = OPS_OK;

	if (o->enc)
		rc = ops_encryptor_finish(o->enc, err);
	ops_encryptor_free(o->enc);
	o->enc = NULL;
	if (rc != OPS_OK) {
		bk_out_abort(o);
		return rc;
	}
	ops_sha256_final_hex(o->hash, hex);
	if (o->progress)
		bk_progress(o->progress, o->key, o->size, 0, o->started, 1);
	rc = ops_store_put_commit(o->w, err);
	o->w = NULL;
	ops_sha256_free(o->hash);
	o->hash = NULL;
	return rc;
}

void bk_out_abort(bk_out *o)
{
	ops_encryptor_free(o->enc);
	ops_store_put_abort(o->w);
	ops_sha256_free(o->hash);
	memset(o, 0, sizeof *o);
}

/* The decryptor's output: appended to the plaintext buffer. */
static ops_code plain_sink(void *arg, const void *buf, size_t len, ops_error *err)
{
	bk_in *in = arg;

	if (in->plain_len + len > in->plain_cap) {
		size_t cap = in->plain_cap ? in->plain_cap : CIPHER_BLOCK;
		char *grown;

		while (cap < in->plain_len + len)
			cap *= 2;
		grown = realloc(in->plain, cap);
		if (!grown)
			return ops_error_oom(err);
		in->plain = grown;
		in->plain_cap = cap;
	}
	memcpy(in->plain + in->plain_len, buf, len);
	in->plain_len += len;
	return OPS_OK;
}

ops_code bk_in_begin(const ops_backup_ctx *ctx, const char *key, const unsigned char *dec_key,
		     long long expect, bk_in *in, ops_error *err)
{
	memset(in, 0, sizeof *in);
	in->progress = ctx->run->progress ? ctx->run : NULL;
	in->expect = expect;
	in->started = ops_clock();
	in->hash = ops_sha256_new();
	if (!in->hash)
		return ops_error_oom(err);
	if (ops_store_get_begin(ctx->store, key, &in->r, err) != OPS_OK) {
		char hex[65];

		bk_in_end(in, hex);
		return err->code;
	}
	if (dec_key) {
		in->cbuf = malloc(CIPHER_BLOCK);
		if (!in->cbuf ||
		    ops_decryptor_new(dec_key, plain_sink, in, &in->dec, err) != OPS_OK) {
			char hex[65];

			bk_in_end(in, hex);
			return in->cbuf ? err->code : ops_error_oom(err);
		}
	}
	return OPS_OK;
}

static ops_code raw_read(bk_in *in, void *buf, size_t len, size_t *got, ops_error *err)
{
	ops_code rc = ops_cancel_check(err);

	/* Verify, restore and wal-fetch all read through here. */
	if (rc == OPS_OK)
		rc = ops_store_read(in->r, buf, len, got, err);

	if (rc == OPS_OK) {
		ops_sha256_update(in->hash, buf, *got);
		in->size += (long long)*got;
		if (in->progress)
			bk_progress(in->progress, "reading", in->size, in->expect, in->started, 0);
	}
	return rc;
}

ops_code bk_in_source(void *arg, void *buf, size_t len, size_t *got, ops_error *err)
{
	bk_in *in = arg;
	size_t n;

	if (!in->dec)
		return raw_read(in, buf, len, got, err);
	while (in->plain_off == in->plain_len && !in->eof) {
		size_t c = 0;

		in->plain_off = in->plain_len = 0;
		if (raw_read(in, in->cbuf, CIPHER_BLOCK, &c, err) != OPS_OK)
			return err->code;
		if (c == 0) {
			in->eof = 1;
			if (ops_decryptor_finish(in->dec, err) != OPS_OK)
				return err->code;
		} else if (ops_decryptor_write(in->dec, in->cbuf, c, err) != OPS_OK) {
			return err->code;
		}
	}
	n = in->plain_len - in->plain_off;
	if (n > len)
		n = len;
	memcpy(buf, in->plain + in->plain_off, n);
	in->plain_off += n;
	*got = n;
	return OPS_OK;
}

ops_code bk_in_drain(bk_in *in, ops_error *err)
{
	char buf[65536];
	size_t got = 0;

	do {
		if (bk_in_source(in, buf, sizeof buf, &got, err) != OPS_OK)
			return err->code;
	} while (got > 0);
	return OPS_OK;
}

void bk_in_end(bk_in *in, char hex[65])
{
	if (in->hash)
		ops_sha256_final_hex(in->hash, hex);
	else
		hex[0] = '\0';
	if (in->progress && in->r)
		bk_progress(in->progress, "reading", in->size, in->expect, in->started, 1);
	ops_store_get_end(in->r);
	ops_decryptor_free(in->dec);
	ops_sha256_free(in->hash);
	free(in->cbuf);
	free(in->plain);
	memset(in, 0, sizeof *in);
}

static int push_env(char **env, size_t *n, const char *name, const char *value)
{
	if (!value || !*value)
		return 0;
	if (asprintf(&env[*n], "%s=%s", name, value) < 0) {
		env[*n] = NULL;
		return -1;
	}
	(*n)++;
	return 0;
}

char **bk_pg_env(const ops_config *cfg, const char *dbname)
{
	char **env = calloc(10, sizeof *env), timeout[32];
	size_t n = 0;
	int bad = 0;

	if (!env)
		return NULL;
	snprintf(timeout, sizeof timeout, "%ld", ops_config_int(cfg, "db.connect_timeout"));
	bad |= push_env(env, &n, "PGHOST", ops_config_get(cfg, "db.host"));
	bad |= push_env(env, &n, "PGPORT", ops_config_get(cfg, "db.port"));
	bad |= push_env(env, &n, "PGUSER", ops_config_get(cfg, "db.user"));
	bad |= push_env(env, &n, "PGSSLMODE", ops_config_get(cfg, "db.sslmode"));
	bad |= push_env(env, &n, "PGCONNECT_TIMEOUT", timeout);
	bad |= push_env(env, &n, "PGAPPNAME", "opsctl-backup");
	/* A plain name through PGDATABASE is never parsed as a conninfo
	 * string, unlike -d. */
	bad |= push_env(env, &n, "PGDATABASE", dbname);
	if (bad) {
		ops_strv_free(env);
		return NULL;
	}
	return env;
}

char *bk_member_stem(const char *dbname)
{
	char *s = strdup(dbname), *p;

	if (!s)
		return NULL;
	for (p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' || (*p == '.' && p != s)))
			*p = '_';
	return s;
}
