/*
 * rotate-keys -b: the credentials as the application holds them now, saved
 * before anything changes, as one sealed JSON file per run in
 * STATE_DIR/keys/backups/keys-STAMP.sealed ({"created", "env_file",
 * "credentials": {ID: {VAR: value}}}).  The key is keys.backup_key_file,
 * else [backup]'s encryption key (so the set can be opened where the
 * database backups are), else the seal key.  `rotate-keys restore` reads
 * one back (keys.c rotates to its values through the same protocol).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/crypto.h>

#include "keys/keys_internal.h"
#include "opsmaint/clock.h"
#include "opsmaint/crypt.h"
#include "opsmaint/fileio.h"

static ops_code backup_key(const ops_config *cfg, unsigned char key[OPS_CRYPT_KEY_LEN],
			   const char **name, ops_error *err)
{
	const char *k = ops_config_get(cfg, "keys.backup_key_file");

	if (!k || !*k)
		k = ops_config_get(cfg, "backup.encryption_key_file");
	if (k && *k) {
		*name = k;
		return ops_crypt_load_key(k, key, err);
	}
	*name = "the seal key (STATE_DIR/keys/seal.key)";
	return keys_seal_key(cfg, key, err);
}

static char *backup_dir(const ops_config *cfg)
{
	char *keys = ops_path_join(ops_config_get(cfg, "general.state_dir"), "keys");
	char *dir = keys ? ops_path_join(keys, "backups") : NULL;

	free(keys);
	return dir;
}

ops_code keys_backup_save(const ops_config *cfg, const cJSON *set, char id[64], ops_error *err)
{
	unsigned char key[OPS_CRYPT_KEY_LEN];
	char stamp[OPS_TIME_ISO_SIZE], name[96], *dir = NULL, *path = NULL, *text = NULL;
	const char *kname;
	ops_code rc;

	if ((rc = backup_key(cfg, key, &kname, err)) != OPS_OK)
		return rc;
	ops_time_stamp(time(NULL), stamp);
	snprintf(id, 64, "keys-%s", stamp);
	snprintf(name, sizeof name, "%s.sealed", id);
	if (!(dir = backup_dir(cfg)) || !(path = ops_path_join(dir, name)) ||
	    !(text = cJSON_PrintUnformatted(set))) {
		rc = ops_error_oom(err);
		goto out;
	}
	rc = keys_seal_file(key, path, text, err);
out:
	if (text) {
		OPENSSL_cleanse(text, strlen(text));
		free(text);
	}
	OPENSSL_cleanse(key, sizeof key);
	free(dir);
	free(path);
	return rc;
}

/* The newest backup's id ("keys-STAMP"), or "" when there is none. */
static ops_code latest(const char *dir, char id[64], ops_error *err)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	id[0] = '\0';
	if (!d)
		return errno == ENOENT ? OPS_OK : ops_error_errno(err, errno, "cannot read", dir);
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);

		/* Stamps sort as times: the greatest is the newest. */
		if (strncmp(de->d_name, "keys-", 5) == 0 && n > 7 && n < 64 &&
		    strcmp(de->d_name + n - 7, ".sealed") == 0 &&
		    strncmp(de->d_name, id, n - 7) > 0)
			snprintf(id, 64, "%.*s", (int)(n - 7), de->d_name);
	}
	closedir(d);
	return OPS_OK;
}

ops_code keys_backup_load(const ops_config *cfg, const char *want, cJSON **set, char id[64],
			  ops_error *err)
{
	unsigned char key[OPS_CRYPT_KEY_LEN];
	char name[96], *dir = backup_dir(cfg), *path = NULL;
	keys_secret text = {0};
	const char *kname;
	ops_code rc;

	*set = NULL;
	if (!dir)
		return ops_error_oom(err);
	if (!want || strcmp(want, "latest") == 0) {
		if ((rc = latest(dir, id, err)) != OPS_OK)
			goto out;
		if (!id[0]) {
			rc = ops_error_set(err, OPS_EUSAGE, "no credential backup in %s; "
					   "rotate-keys -b makes one", dir);
			goto out;
		}
	} else if (strncmp(want, "keys-", 5) != 0 || strlen(want) >= 64 || strchr(want, '/')) {
		rc = ops_error_set(err, OPS_EUSAGE, "'%s' is not a credential backup id "
				   "(keys-YYYYMMDDTHHMMSSZ, or latest)", want);
		goto out;
	} else {
		snprintf(id, 64, "%s", want);
	}
	snprintf(name, sizeof name, "%s.sealed", id);
	if (!(path = ops_path_join(dir, name))) {
		rc = ops_error_oom(err);
		goto out;
	}
	if ((rc = backup_key(cfg, key, &kname, err)) != OPS_OK)
		goto out;
	rc = keys_unseal_file(key, path, kname, &text, err);
	OPENSSL_cleanse(key, sizeof key);
	if (rc == OPS_EIO && access(path, F_OK) != 0)
		rc = ops_error_set(err, OPS_EUSAGE, "no credential backup %s in %s", id, dir);
	if (rc != OPS_OK)
		goto out;
	*set = cJSON_Parse(text.text);
	if (!cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(*set, "credentials"))) {
		keys_json_wipe_delete(*set);
		*set = NULL;
		rc = ops_error_set(err, OPS_EDATA, "%s is not a credential backup", path);
	}
out:
	keys_secret_wipe(&text);
	free(dir);
	free(path);
	return rc;
}
