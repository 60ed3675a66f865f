/*
 * rotate-keys' engine (keys.h): the protocol of keys_internal.h run over the
 * configured credentials, in three stages so that the application is
 * reloaded once per run, not once per credential:
 *
 *   1. each credential: create (sealed), set, test   -> phase "tested"
 *   2. the env file gets every tested credential's values in one atomic
 *      rewrite                                        -> phase "delivered"
 *   3. the reload command, then the health URL; both pass: promote every
 *      delivered credential (PENDING -> CURRENT, CURRENT -> PREVIOUS until
 *      its grace period ends); either fails: roll every one back
 *
 * Every phase change is saved before the next step begins, so the next run
 * resumes a credential exactly where a killed run left it: a credential at
 * "delivered" is reloaded and checked again, never created afresh.  Before
 * stage 1, PREVIOUS credentials whose grace period has ended are retired.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <openssl/crypto.h>

#include "keys/keys_internal.h"
#include "opsmaint/cancel.h"
#include "opsmaint/clock.h"
#include "opsmaint/crypt.h"
#include "opsmaint/fileio.h"
#include "opsmaint/http.h"
#include "opsmaint/keys.h"
#include "opsmaint/log.h"
#include "opsmaint/proc.h"

struct item {
	keys_cred *c;
	cJSON *st;		/* its state */
	cJSON *one;		/* its entry in the report */
	const char *phase;	/* st's phase, kept current */
	keys_secret pending;
	keys_secret rollback;	/* JSON {VAR: old value or null} */
	keys_secret given;	/* restore: the value to rotate to instead of a new one */
	int active;		/* being rotated in this run */
	int blocked;		/* would be, but its PREVIOUS is in its grace period */
	int failed;
};

struct eng {
	const ops_keys_req *req;
	const ops_run *run;
	const ops_config *cfg;
	unsigned char key[OPS_CRYPT_KEY_LEN];
	int have_key;
	keys_envfile *env;
	keys_vault *vault;	/* keys.vault_addr set: a second store, written first */
	struct item *items;
	size_t n;
	time_t now;
	long rotated, failed, resumed, retired, due, aborted;
	ops_code first;
	ops_error first_err;
};

static const char *const type_names[] = {NULL, "database", "api-keys", NULL, "jwt-secret"};

static const char *state_str(const cJSON *st, const char *obj, const char *name)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
		obj ? cJSON_GetObjectItemCaseSensitive(st, obj) : st, name));
}

static double state_num(const cJSON *st, const char *obj, const char *name, double dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(
		obj ? cJSON_GetObjectItemCaseSensitive(st, obj) : st, name);

	return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

/* Replace (or add) member name of o. */
static int put(cJSON *o, const char *name, cJSON *v)
{
	if (!v)
		return -1;
	if (cJSON_GetObjectItemCaseSensitive(o, name))
		return cJSON_ReplaceItemInObjectCaseSensitive(o, name, v) ? 0 : -1;
	if (!cJSON_AddItemToObject(o, name, v)) {
		cJSON_Delete(v);
		return -1;
	}
	return 0;
}

/*
 * The fault tests' kill -9 at a step boundary: OPSCTL_TEST_KEYS_CRASH_AFTER
 * names a phase, and the process dies by SIGKILL right after that phase is
 * saved, exactly as a machine that loses power there.  Only the tests set it.
 */
static void crash_point(const char *phase)
{
	const char *at = getenv("OPSCTL_TEST_KEYS_CRASH_AFTER");

	if (at && strcmp(at, phase) == 0)
		raise(SIGKILL);
}

static ops_code set_phase(struct eng *e, struct item *it, const char *phase, ops_error *err)
{
	ops_code rc;

	if (put(it->st, "phase", cJSON_CreateString(phase)) != 0 ||
	    put(it->st, "phase_since", cJSON_CreateNumber((double)ops_run_now(e->run))) != 0)
		return ops_error_oom(err);
	it->phase = state_str(it->st, NULL, "phase");
	if (put(it->one, "phase", cJSON_CreateString(phase)) != 0)
		return ops_error_oom(err);
	if ((rc = keys_state_save(e->cfg, it->c, it->st, err)) != OPS_OK)
		return rc;
	crash_point(phase);
	return OPS_OK;
}

/* The store's values a driver reads: VAR, USER_VAR, VAR_PREVIOUS. */
static ops_code store_values(struct eng *e, const keys_cred *c, keys_values *out, ops_error *err)
{
	const char *names[3] = {c->var, c->user_var, NULL};
	char *prev = NULL;
	ops_code rc = OPS_OK;
	size_t i;

	memset(out, 0, sizeof *out);
	if (c->var && asprintf(&prev, "%s_PREVIOUS", c->var) < 0)
		return ops_error_oom(err);
	names[2] = prev;
	for (i = 0; i < 3 && rc == OPS_OK; i++)
		if (names[i] && keys_envfile_get(e->env, names[i]))
			rc = keys_values_add(out, names[i], keys_envfile_get(e->env, names[i]), err);
	free(prev);
	return rc;
}

/* The first failure decides the exit; each credential's is in its entry. */
static void item_failed(struct eng *e, struct item *it, ops_code rc, const ops_error *err)
{
	it->failed = 1;
	it->active = 0;
	e->failed++;
	if (it->one) {
		put(it->one, "outcome", cJSON_CreateString("failed"));
		put(it->one, "error", cJSON_CreateString(err->message));
	}
	if (e->first == OPS_OK) {
		e->first = rc;
		e->first_err = *err;
	}
}

static void wipe_item(struct item *it)
{
	keys_secret_wipe(&it->pending);
	keys_secret_wipe(&it->rollback);
	keys_secret_wipe(&it->given);
}

/* ---- create, set, test ---- */

static ops_code create(struct eng *e, struct item *it, ops_error *err)
{
	keys_cred *c = it->c;
	keys_values store, chg = {0};
	keys_secret cur = {0};
	cJSON *rb = NULL, *p;
	char fp[KEYS_FP_SIZE], *text = NULL, *hint = NULL;
	ops_code rc;
	size_t i;

	if ((rc = store_values(e, c, &store, err)) != OPS_OK)
		return rc;
	if ((rc = c->driver->current(c, &store, &cur, err)) != OPS_OK)
		goto out;
	if (it->given.text)
		rc = keys_secret_dup(it->given.text, &it->pending, err);
	else if (c->driver->generate)
		rc = c->driver->generate(c, &it->pending, err);
	else
		rc = keys_secret_random((size_t)ops_config_int(e->cfg, "keys.password_bytes"),
					&it->pending, err);
	if (rc != OPS_OK)
		goto out;
	if ((rc = c->driver->deliver(c, &it->pending, &store, &chg, err)) != OPS_OK)
		goto out;
	/* What a rollback writes back: each delivered variable's value now. */
	if (!(rb = cJSON_CreateObject())) {
		rc = ops_error_oom(err);
		goto out;
	}
	for (i = 0; i < chg.n; i++) {
		const char *old = keys_envfile_get(e->env, chg.name[i]);

		if (!cJSON_AddItemToObject(rb, chg.name[i], old ? cJSON_CreateString(old)
								: cJSON_CreateNull())) {
			rc = ops_error_oom(err);
			goto out;
		}
	}
	if (!(text = cJSON_PrintUnformatted(rb)) || keys_secret_dup(text, &it->rollback, err)) {
		rc = ops_error_oom(err);
		goto out;
	}
	if (c->driver->retire_hint && !(hint = c->driver->retire_hint(c, &store))) {
		rc = ops_error_oom(err);
		goto out;
	}
	/* Sealed before any system sees it: from here a crash resumes with it. */
	if ((rc = keys_seal(e->cfg, e->key, c, "rollback", it->rollback.text, err)) != OPS_OK ||
	    (rc = keys_seal(e->cfg, e->key, c, "pending", it->pending.text, err)) != OPS_OK)
		goto out;
	keys_fingerprint(e->key, cur.text, fp);
	if (!cJSON_GetObjectItemCaseSensitive(it->st, "current")) {
		/* First rotation opsctl makes of it: the age is unknown until now. */
		p = cJSON_CreateObject();
		if (put(it->st, "current", p) != 0 || !cJSON_AddStringToObject(p, "fingerprint", fp)) {
			rc = ops_error_oom(err);
			goto out;
		}
	}
	p = cJSON_CreateObject();
	keys_fingerprint(e->key, it->pending.text, fp);
	if (put(it->st, "pending", p) != 0 || !cJSON_AddStringToObject(p, "fingerprint", fp) ||
	    !cJSON_AddNumberToObject(p, "created", (double)e->now) ||
	    (hint && !cJSON_AddStringToObject(p, "retire_hint", hint))) {
		rc = ops_error_oom(err);
		goto out;
	}
	rc = set_phase(e, it, "created", err);
out:
	if (text) {
		OPENSSL_cleanse(text, strlen(text));
		free(text);
	}
	keys_json_wipe_delete(rb);
	free(hint);
	keys_secret_wipe(&cur);
	keys_values_wipe(&chg);
	keys_values_wipe(&store);
	return rc;
}

/* A half-done rotation's secrets, back from the seal. */
static ops_code unseal_item(struct eng *e, struct item *it, const char *what, ops_error *err)
{
	ops_code rc;

	if ((rc = keys_unseal(e->cfg, e->key, it->c, "pending", &it->pending, err)) != OPS_OK ||
	    (rc = keys_unseal(e->cfg, e->key, it->c, "rollback", &it->rollback, err)) != OPS_OK)
		ops_error_prefix(err, "cannot %s the rotation of %s left at phase '%s'", what,
				 it->c->display, it->phase);
	return rc;
}

static ops_code resume(struct eng *e, struct item *it, ops_error *err)
{
	ops_code rc;

	if ((rc = unseal_item(e, it, "resume", err)) != OPS_OK)
		return rc;
	ops_log_warn("%s: resuming the rotation a run left at phase '%s'", it->c->display, it->phase);
	e->resumed++;
	return put(it->one, "resumed_from", cJSON_CreateString(it->phase)) ? ops_error_oom(err)
									      : OPS_OK;
}

/* The system stops accepting PENDING; the record goes back to CURRENT. */
static ops_code unset(struct eng *e, struct item *it, ops_error *err)
{
	keys_values store;
	keys_secret cur = {0};
	cJSON *rb = NULL, *v;
	ops_code rc = OPS_OK;

	if (strcmp(it->phase, "created") != 0 && it->c->driver->unset) {
		/* The current secret is the rollback's, whatever the store holds now. */
		if ((rc = store_values(e, it->c, &store, err)) != OPS_OK)
			return rc;
		rb = cJSON_Parse(it->rollback.text);
		v = cJSON_GetObjectItemCaseSensitive(rb, it->c->var);
		if (cJSON_IsString(v))
			rc = keys_secret_dup(v->valuestring, &cur, err);
		if (rc == OPS_OK)
			rc = it->c->driver->unset(it->c, &it->pending, &cur, &store, err);
		keys_secret_wipe(&cur);
		keys_json_wipe_delete(rb);
		keys_values_wipe(&store);
		if (rc != OPS_OK)
			return rc;
	}
	cJSON_DeleteItemFromObjectCaseSensitive(it->st, "pending");
	if ((rc = set_phase(e, it, "current", err)) != OPS_OK)
		return rc;
	keys_unlink_sealed(e->cfg, it->c, "pending");
	keys_unlink_sealed(e->cfg, it->c, "rollback");
	put(it->one, "outcome", cJSON_CreateString("rolled back"));
	return OPS_OK;
}

static ops_code stage1(struct eng *e, struct item *it, ops_error *err)
{
	keys_values store;
	ops_code rc;

	if (strcmp(it->phase, "current") == 0) {
		if ((rc = create(e, it, err)) != OPS_OK)
			return rc;
	} else if ((rc = resume(e, it, err)) != OPS_OK) {
		return rc;
	}
	if ((rc = ops_run_check_cancel(e->run, err)) != OPS_OK)
		return rc;
	if (strcmp(it->phase, "created") == 0) {
		if (it->c->driver->set) {
			if ((rc = store_values(e, it->c, &store, err)) != OPS_OK)
				return rc;
			rc = it->c->driver->set(it->c, &it->pending, &store, err);
			keys_values_wipe(&store);
			if (rc != OPS_OK)
				return rc;
		}
		if ((rc = set_phase(e, it, "set", err)) != OPS_OK)
			return rc;
	}
	if ((rc = ops_run_check_cancel(e->run, err)) != OPS_OK)
		return rc;
	if (strcmp(it->phase, "set") == 0) {
		if (it->c->driver->test) {
			if ((rc = store_values(e, it->c, &store, err)) != OPS_OK)
				return rc;
			rc = it->c->driver->test(it->c, &it->pending, &store, err);
			keys_values_wipe(&store);
			if (rc != OPS_OK) {
				ops_error u;

				/* The new secret does not work there: take it back. */
				ops_error_clear(&u);
				if (unset(e, it, &u) != OPS_OK)
					ops_log_warn("%s: the rollback failed too: %s",
						     it->c->display, u.message);
				return rc;
			}
		}
		if ((rc = set_phase(e, it, "tested", err)) != OPS_OK)
			return rc;
	}
	return OPS_OK;
}

/* ---- deliver, reload, promote ---- */

/*
 * changes ({NAME: value or null}) into Vault's keys.vault_path as one new
 * version, check-and-set against the version just read, so that a
 * concurrent writer is never overwritten (exit 75 then).  Vault is written
 * before the env file: a run that stops between them left Vault ahead, and
 * the rerun writes the same values again.
 */
static ops_code vault_apply(struct eng *e, const cJSON *changes, ops_error *err)
{
	const char *path = ops_config_get(e->cfg, "keys.vault_path");
	cJSON *data = NULL;
	const cJSON *c;
	long version = 0, nv = 0;
	ops_code rc;

	if (!e->vault || !changes || !changes->child)
		return OPS_OK;
	if ((rc = keys_vault_read(e->vault, path, &data, &version, err)) != OPS_OK)
		return rc;
	cJSON_ArrayForEach(c, changes) {
		cJSON *have = cJSON_GetObjectItemCaseSensitive(data, c->string);

		if (cJSON_IsNull(c)) {
			if (have)
				cJSON_DeleteItemFromObjectCaseSensitive(data, c->string);
			continue;
		}
		if (put(data, c->string, cJSON_CreateString(c->valuestring)) != 0) {
			keys_json_wipe_delete(data);
			return ops_error_oom(err);
		}
	}
	rc = keys_vault_write(e->vault, path, data, version, &nv, err);
	keys_json_wipe_delete(data);
	return rc;
}

/* A keys_values change list as {NAME: value or null}; NULL when out of memory. */
static cJSON *changes_json(const keys_values *chg, cJSON *into)
{
	size_t k;

	for (k = 0; into && k < chg->n; k++) {
		cJSON *v = chg->value[k].text ? cJSON_CreateString(chg->value[k].text)
					      : cJSON_CreateNull();

		if (put(into, chg->name[k], v) != 0) {
			keys_json_wipe_delete(into);
			return NULL;
		}
	}
	return into;
}

/* Every tested credential's values into the env file, one rewrite. */
static ops_code deliver_all(struct eng *e, ops_error *err)
{
	cJSON *all = cJSON_CreateObject();
	size_t i, k;
	int any = 0;
	ops_code rc = OPS_OK;

	if (!all)
		return ops_error_oom(err);
	for (i = 0; i < e->n && rc == OPS_OK; i++) {
		struct item *it = &e->items[i];
		keys_values store, chg = {0};

		if (!it->active || strcmp(it->phase, "tested") != 0)
			continue;
		if ((rc = store_values(e, it->c, &store, err)) != OPS_OK)
			break;
		rc = it->c->driver->deliver(it->c, &it->pending, &store, &chg, err);
		if (rc == OPS_OK && !changes_json(&chg, all)) {
			all = NULL;
			rc = ops_error_oom(err);
		}
		keys_values_wipe(&chg);
		keys_values_wipe(&store);
		any = 1;
	}
	if (rc == OPS_OK && any)
		rc = vault_apply(e, all, err);
	for (k = 0; rc == OPS_OK && all && k < (size_t)cJSON_GetArraySize(all); k++) {
		const cJSON *v = cJSON_GetArrayItem(all, (int)k);

		rc = keys_envfile_set(e->env, v->string, cJSON_GetStringValue(v), err);
	}
	keys_json_wipe_delete(all);
	if (rc != OPS_OK || !any)
		return rc;
	if ((rc = keys_envfile_save(e->env, err)) != OPS_OK)
		return rc;
	for (i = 0; i < e->n; i++) {
		struct item *it = &e->items[i];

		if (it->active && strcmp(it->phase, "tested") == 0 &&
		    (rc = set_phase(e, it, "delivered", err)) != OPS_OK)
			return rc;
	}
	return OPS_OK;
}

static ops_code reload(struct eng *e, ops_error *err)
{
	char **argv = ops_config_list(e->cfg, "keys.reload_command");
	ops_proc *p = NULL;
	ops_code rc;

	if (!argv)
		return ops_error_oom(err);
	if (!argv[0]) {
		ops_strv_free(argv);
		return OPS_OK;
	}
	/* The child gets no secret, not even opsctl's own (VAULT_TOKEN,
	 * REDISCLI_AUTH): it reads the env file itself.  Its own process group,
	 * so that a timeout also stops what it started (podman-compose's
	 * podman, a script's children). */
	rc = ops_proc_start(NULL, argv, NULL, OPS_PROC_OWN_GROUP | OPS_PROC_NO_SECRETS, NULL, NULL,
			    &p, err);
	if (rc == OPS_OK)
		rc = ops_proc_wait_timeout(p, ops_config_int(e->cfg, "keys.reload_timeout") * 1000L,
					   err);
	if (rc != OPS_OK && rc != OPS_EINTR)
		ops_error_prefix(err, "keys.reload_command");
	ops_strv_free(argv);
	return rc;
}

/* keys.health_url answers 2xx within keys.health_timeout. */
static ops_code health(struct eng *e, ops_error *err)
{
	const char *url = ops_config_get(e->cfg, "keys.health_url");
	double deadline = ops_clock() + (double)ops_config_int(e->cfg, "keys.health_timeout");
	ops_http_opts o;
	ops_http *h = NULL;
	ops_code rc;
	char last[OPS_ERROR_MSG_MAX] = "no answer";

	if (!url || !*url)
		return OPS_OK;
	ops_http_opts_init(&o);
	o.name = "keys.health_url";
	o.retries = 0;
	o.timeout = 10;
	o.connect_timeout = 5;
	o.max_body = 64 * 1024;
	if ((rc = ops_http_new(&o, &h, err)) != OPS_OK)
		return rc;
	for (;;) {
		ops_http_req req = {.url = url, .what = "health check"};
		ops_http_resp resp;
		ops_error herr;

		ops_error_clear(&herr);
		rc = ops_http_request(h, &req, &resp, &herr);
		if (rc == OPS_OK && resp.status >= 200 && resp.status < 300) {
			ops_http_resp_release(&resp);
			break;
		}
		if (rc == OPS_OK)
			snprintf(last, sizeof last, "HTTP %ld", resp.status);
		else
			snprintf(last, sizeof last, "%s", herr.message);
		ops_http_resp_release(&resp);
		if ((rc = ops_run_check_cancel(e->run, err)) != OPS_OK)
			break;
		if (ops_clock() >= deadline) {
			rc = ops_error_set(err, OPS_EFAIL, "keys.health_url %s did not answer 2xx "
					   "within keys.health_timeout (%lds); last: %s", url,
					   ops_config_int(e->cfg, "keys.health_timeout"), last);
			break;
		}
		usleep(500000);
	}
	ops_http_free(h);
	return rc;
}

/* The env file as it was for every delivered credential, then their systems. */
static void rollback_delivered(struct eng *e)
{
	ops_error err;
	size_t i;
	int changed = 0;

	for (i = 0; i < e->n; i++) {
		struct item *it = &e->items[i];
		cJSON *rb, *v;

		if (!it->active || strcmp(it->phase, "delivered") != 0)
			continue;
		rb = cJSON_Parse(it->rollback.text);
		cJSON_ArrayForEach(v, rb) {
			ops_error_clear(&err);
			if (keys_envfile_set(e->env, v->string, cJSON_IsString(v) ? v->valuestring
									   : NULL, &err) != OPS_OK)
				ops_log_warn("rollback of %s: %s", it->c->display, err.message);
			changed = 1;
		}
		ops_error_clear(&err);
		if (vault_apply(e, rb, &err) != OPS_OK)
			ops_log_warn("rollback of %s in Vault: %s", it->c->display, err.message);
		keys_json_wipe_delete(rb);
	}
	if (!changed)
		return;
	ops_error_clear(&err);
	if (keys_envfile_save(e->env, &err) != OPS_OK) {
		/* Both secrets still work on the systems: leave them so, and the
		 * record at "delivered", for the next run to finish. */
		ops_log_error("rollback: cannot write the env file back (%s); the credentials "
			      "stay at phase 'delivered' and the next run retries", err.message);
		return;
	}
	ops_error_clear(&err);
	if (reload(e, &err) != OPS_OK)
		ops_log_warn("rollback: the reload after restoring the env file failed too: %s",
			     err.message);
	for (i = 0; i < e->n; i++) {
		struct item *it = &e->items[i];

		if (!it->active || strcmp(it->phase, "delivered") != 0)
			continue;
		ops_error_clear(&err);
		if (unset(e, it, &err) != OPS_OK)
			ops_log_warn("rollback of %s: %s", it->c->display, err.message);
	}
}

static ops_code promote(struct eng *e, struct item *it, ops_error *err)
{
	cJSON *prev = cJSON_CreateObject(), *cur = cJSON_CreateObject();
	const char *old_fp = state_str(it->st, "current", "fingerprint");
	const char *new_fp = state_str(it->st, "pending", "fingerprint");
	const char *hint = state_str(it->st, "pending", "retire_hint");
	ops_code rc;

	if (!prev || !cur || (old_fp && !cJSON_AddStringToObject(prev, "fingerprint", old_fp)) ||
	    !cJSON_AddNumberToObject(prev, "retire_after", (double)(e->now + it->c->grace)) ||
	    (hint && !cJSON_AddStringToObject(prev, "retire_hint", hint)) ||
	    !cJSON_AddStringToObject(cur, "fingerprint", new_fp ? new_fp : "") ||
	    !cJSON_AddNumberToObject(cur, "since", (double)e->now)) {
		cJSON_Delete(prev);
		cJSON_Delete(cur);
		return ops_error_oom(err);
	}
	if (put(it->st, "previous", prev) != 0 || put(it->st, "current", cur) != 0 ||
	    put(it->st, "rotations", cJSON_CreateNumber(state_num(it->st, NULL, "rotations", 0) + 1)))
		return ops_error_oom(err);
	cJSON_DeleteItemFromObjectCaseSensitive(it->st, "pending");
	if ((rc = set_phase(e, it, "current", err)) != OPS_OK)
		return rc;
	keys_unlink_sealed(e->cfg, it->c, "pending");
	keys_unlink_sealed(e->cfg, it->c, "rollback");
	{
		char iso[OPS_TIME_ISO_SIZE];
		time_t after = e->now + it->c->grace;

		/* The entry describes the credential as the run leaves it. */
		put(it->one, "age_seconds", cJSON_CreateNumber(0));
		put(it->one, "rotated_at", cJSON_CreateString(ops_time_iso(e->now, iso)));
		put(it->one, "due", cJSON_CreateFalse());
		put(it->one, "previous_retires_at", cJSON_CreateString(ops_time_iso(after, iso)));
	}
	put(it->one, "outcome", cJSON_CreateString("rotated"));
	e->rotated++;
	return OPS_OK;
}

static ops_code stage3(struct eng *e, ops_error *err)
{
	size_t i;
	int any = 0;
	ops_code rc;

	for (i = 0; i < e->n; i++)
		if (e->items[i].active && strcmp(e->items[i].phase, "delivered") == 0)
			any = 1;
	if (!any)
		return OPS_OK;
	if ((rc = reload(e, err)) == OPS_OK)
		rc = health(e, err);
	if (rc == OPS_EINTR)
		return rc;	/* at "delivered": the next run reloads and checks again */
	if (rc != OPS_OK) {
		/* One error line: the final one says it was rolled back. */
		char why[OPS_ERROR_MSG_MAX];

		rollback_delivered(e);
		snprintf(why, sizeof why, "%s", err->message);
		ops_error_set(err, rc, "%.440s; the rotation was rolled back", why);
		for (i = 0; i < e->n; i++)
			if (e->items[i].active && strcmp(e->items[i].phase, "current") == 0)
				item_failed(e, &e->items[i], rc, err);
		return rc;
	}
	for (i = 0; i < e->n; i++) {
		struct item *it = &e->items[i];

		if (it->active && strcmp(it->phase, "delivered") == 0 &&
		    (rc = promote(e, it, err)) != OPS_OK)
			return rc;
	}
	return OPS_OK;
}

/* ---- abort ---- */

/*
 * rotate-keys abort: every rotation under way goes back to its CURRENT, as a
 * failed reload would have taken it: the store's old values (and a reload)
 * for those already delivered, then each system stops accepting PENDING.
 * For a rotation that cannot finish (a set that fails every time); one that
 * can is better resumed.
 */
static ops_code abort_all(struct eng *e, ops_error *err)
{
	size_t i;
	ops_code rc;

	for (i = 0; i < e->n; i++) {
		struct item *it = &e->items[i];
		ops_error ierr;

		if (!it->active)
			continue;
		ops_error_clear(&ierr);
		if ((rc = unseal_item(e, it, "abort", &ierr)) != OPS_OK)
			item_failed(e, it, rc, &ierr);
	}
	rollback_delivered(e);
	for (i = 0; i < e->n; i++) {
		struct item *it = &e->items[i];
		ops_error ierr;

		if (!it->active)
			continue;
		ops_error_clear(&ierr);
		if (strcmp(it->phase, "current") != 0 && (rc = unset(e, it, &ierr)) != OPS_OK) {
			item_failed(e, it, rc, &ierr);
			continue;
		}
		if (strcmp(it->phase, "current") == 0) {
			e->aborted++;
			continue;
		}
		/* rollback_delivered could not write the env file back. */
		ops_error_set(&ierr, OPS_EFAIL, "%s: the env file could not be written back; the "
			      "rotation stays at phase '%s'", it->c->display, it->phase);
		item_failed(e, it, OPS_EFAIL, &ierr);
	}
	if (e->first != OPS_OK) {
		*err = e->first_err;
		return e->first;
	}
	return OPS_OK;
}

/* ---- retire ---- */

/* A PREVIOUS whose grace period has not ended yet. */
static int in_grace(const struct eng *e, const struct item *it)
{
	double after = state_num(it->st, "previous", "retire_after", -1);

	return after >= 0 && after > (double)e->now;
}

static ops_code retire_due(struct eng *e, ops_error *err)
{
	size_t i, k;
	int changed = 0;
	ops_code rc;

	for (i = 0; i < e->n; i++) {
		struct item *it = &e->items[i];
		keys_values store, chg = {0};
		double after = state_num(it->st, "previous", "retire_after", -1);

		/* --end-grace: the previous of a credential about to be rotated goes now. */
		if (strcmp(it->phase, "current") != 0 || after < 0 ||
		    (after > (double)e->now && !(e->req->end_grace && it->active)))
			continue;
		if (e->run->dry_run) {
			put(it->one, "would_retire_previous", cJSON_CreateTrue());
			continue;
		}
		if ((rc = store_values(e, it->c, &store, err)) != OPS_OK)
			return rc;
		rc = it->c->driver->retire
			? it->c->driver->retire(it->c, state_str(it->st, "previous", "retire_hint"),
						&store, err) : OPS_OK;
		if (rc == OPS_OK && it->c->driver->retire_store)
			rc = it->c->driver->retire_store(it->c, &chg, err);
		if (rc == OPS_OK && chg.n) {
			cJSON *cj = changes_json(&chg, cJSON_CreateObject());

			rc = cj ? vault_apply(e, cj, err) : ops_error_oom(err);
			keys_json_wipe_delete(cj);
		}
		for (k = 0; rc == OPS_OK && k < chg.n; k++)
			if (keys_envfile_get(e->env, chg.name[k])) {
				rc = keys_envfile_set(e->env, chg.name[k], chg.value[k].text, err);
				changed = 1;
			}
		keys_values_wipe(&chg);
		keys_values_wipe(&store);
		if (rc != OPS_OK) {
			ops_error_prefix(err, "retiring the previous %s", it->c->display);
			item_failed(e, it, rc, err);
			continue;
		}
		cJSON_DeleteItemFromObjectCaseSensitive(it->st, "previous");
		if ((rc = keys_state_save(e->cfg, it->c, it->st, err)) != OPS_OK)
			return rc;
		put(it->one, "retired_previous", cJSON_CreateTrue());
		e->retired++;
	}
	if (changed && (rc = keys_envfile_save(e->env, err)) != OPS_OK)
		return rc;
	/* Without its _PREVIOUS variables the application must read the file again. */
	if (changed && (rc = reload(e, err)) != OPS_OK)
		return rc;
	return OPS_OK;
}

/* ---- -b and restore ---- */

/* Every configured credential's store values, sealed, before anything changes. */
static ops_code save_backup(struct eng *e, cJSON *rep, ops_error *err)
{
	cJSON *set = cJSON_CreateObject(), *creds;
	char id[64], iso[OPS_TIME_ISO_SIZE];
	ops_code rc = OPS_OK;
	size_t i, k;

	if (!set || !cJSON_AddStringToObject(set, "created", ops_time_iso(e->now, iso)) ||
	    !cJSON_AddStringToObject(set, "env_file", ops_config_get(e->cfg, "keys.env_file")) ||
	    !(creds = cJSON_AddObjectToObject(set, "credentials"))) {
		rc = ops_error_oom(err);
		goto out;
	}
	for (i = 0; i < e->n; i++) {
		keys_values store;
		cJSON *one = cJSON_AddObjectToObject(creds, e->items[i].c->id);

		if (!one) {
			rc = ops_error_oom(err);
			goto out;
		}
		if ((rc = store_values(e, e->items[i].c, &store, err)) != OPS_OK)
			goto out;
		for (k = 0; k < store.n; k++)
			if (!cJSON_AddStringToObject(one, store.name[k], store.value[k].text))
				rc = ops_error_oom(err);
		keys_values_wipe(&store);
		if (rc != OPS_OK)
			goto out;
	}
	if ((rc = keys_backup_save(e->cfg, set, id, err)) == OPS_OK &&
	    !cJSON_AddStringToObject(rep, "backup", id))
		rc = ops_error_oom(err);
out:
	keys_json_wipe_delete(set);
	return rc;
}

/* The backup's value for each credential it has; the others stay out. */
static ops_code load_restore(struct eng *e, cJSON *rep, ops_error *err)
{
	cJSON *set = NULL, *creds;
	char id[64];
	ops_code rc;
	size_t i;

	if ((rc = keys_backup_load(e->cfg, e->req->restore, &set, id, err)) != OPS_OK)
		return rc;
	creds = cJSON_GetObjectItemCaseSensitive(set, "credentials");
	if (!cJSON_AddStringToObject(rep, "restore_from", id)) {
		rc = ops_error_oom(err);
		goto out;
	}
	for (i = 0; i < e->n; i++) {
		struct item *it = &e->items[i];
		const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(creds, it->c->id), it->c->var));

		if (!v) {
			it->active = 0;
			put(it->one, "action", cJSON_CreateString("none: not in the backup"));
			continue;
		}
		if ((rc = keys_secret_dup(v, &it->given, err)) != OPS_OK)
			goto out;
	}
out:
	keys_json_wipe_delete(set);
	return rc;
}

/* ---- the run ---- */

/* Every credential about to start a rotation can: checked before the first
 * change, so that a typo in one item changes nothing at all. */
static ops_code preflight(struct eng *e, ops_error *err)
{
	size_t i;
	ops_code rc = OPS_OK;

	for (i = 0; i < e->n && rc == OPS_OK; i++) {
		struct item *it = &e->items[i];
		keys_values store;
		keys_secret cur = {0};

		/* A credential held back by its grace period is checked too: a
		 * broken item is the first thing to report. */
		if ((!it->active && !it->blocked) || strcmp(it->phase, "current") != 0)
			continue;
		if ((rc = store_values(e, it->c, &store, err)) != OPS_OK)
			return rc;
		rc = it->c->driver->current(it->c, &store, &cur, err);
		if (rc == OPS_OK && it->c->driver->check)
			rc = it->c->driver->check(it->c, &store, err);
		keys_secret_wipe(&cur);
		keys_values_wipe(&store);
	}
	/* The driver's own advice (CREATE ROLE ...) comes first when it gave one. */
	if (rc != OPS_OK && rc != OPS_EINTR && !err->hint[0])
		ops_error_hint(err, "Nothing was changed.");
	return rc;
}

static double age_of(const struct eng *e, const struct item *it)
{
	double since = state_num(it->st, "current", "since", -1);

	return since < 0 ? -1 : (double)e->now - since;
}

/* Load every credential's state and describe it in the report. */
static ops_code survey(struct eng *e, keys_cred **creds, cJSON *list, ops_error *err)
{
	size_t i;
	ops_code rc;

	for (i = 0; creds[i]; i++)
		;
	if (!(e->items = calloc(i + 1, sizeof *e->items)))
		return ops_error_oom(err);
	for (i = 0; creds[i]; i++) {
		struct item *it = &e->items[e->n++];
		double age;
		char iso[OPS_TIME_ISO_SIZE];

		it->c = creds[i];
		if ((rc = keys_state_load(e->cfg, it->c, &it->st, err)) != OPS_OK)
			return rc;
		it->phase = state_str(it->st, NULL, "phase");
		if (!(it->one = cJSON_CreateObject()) || !cJSON_AddItemToArray(list, it->one)) {
			cJSON_Delete(it->one);
			it->one = NULL;
			return ops_error_oom(err);
		}
		age = age_of(e, it);
		cJSON_AddStringToObject(it->one, "credential", it->c->id);
		cJSON_AddStringToObject(it->one, "type", type_names[it->c->type]);
		cJSON_AddStringToObject(it->one, "what", it->c->display);
		cJSON_AddStringToObject(it->one, "phase", it->phase);
		if (age >= 0) {
			cJSON_AddNumberToObject(it->one, "age_seconds", age);
			cJSON_AddStringToObject(it->one, "rotated_at",
						ops_time_iso((time_t)state_num(it->st, "current",
									       "since", 0), iso));
		} else {
			cJSON_AddNullToObject(it->one, "age_seconds");
		}
		cJSON_AddNumberToObject(it->one, "max_age_seconds", (double)it->c->max_age);
		cJSON_AddBoolToObject(it->one, "due", age < 0 || age >= (double)it->c->max_age);
		if (cJSON_GetObjectItemCaseSensitive(it->st, "previous")) {
			time_t after = (time_t)state_num(it->st, "previous", "retire_after", 0);

			cJSON_AddStringToObject(it->one, "previous_retires_at", ops_time_iso(after, iso));
		}
		if (age < 0 || age >= (double)it->c->max_age)
			e->due++;
	}
	return OPS_OK;
}

static ops_code add_figures(struct eng *e, cJSON *rep)
{
	cJSON *fig = cJSON_AddObjectToObject(rep, "_figures"), *ages, *per;
	size_t i;

	if (!fig || !(ages = cJSON_AddObjectToObject(fig, "opsctl_keys_credential_age_seconds")) ||
	    !(per = cJSON_AddObjectToObject(ages, "credential")))
		return OPS_EINTERNAL;
	for (i = 0; i < e->n; i++) {
		double age = age_of(e, &e->items[i]);

		/* Never rotated by opsctl: no age to report, and "due" says so. */
		if (age >= 0)
			cJSON_AddNumberToObject(per, e->items[i].c->id, age);
	}
	if (!e->run->dry_run) {
		cJSON_AddNumberToObject(fig, "opsctl_keys_rotated", (double)e->rotated);
		cJSON_AddNumberToObject(fig, "opsctl_keys_failed", (double)e->failed);
		cJSON_AddNumberToObject(fig, "opsctl_keys_retired", (double)e->retired);
	}
	cJSON_AddNumberToObject(fig, "opsctl_keys_due", (double)e->due);
	return OPS_OK;
}

/*
 * From here this process holds secrets: no core dump may write them to
 * disk (RLIMIT_CORE 0, which the reload command inherits too), and no
 * other process of this user may read its memory (not dumpable: ptrace and
 * /proc/PID/mem are refused).  For the rest of the process's life: opsctl
 * runs one command.
 */
static void no_core_dumps(void)
{
	struct rlimit zero = {0, 0};

	(void)setrlimit(RLIMIT_CORE, &zero);
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

static ops_code start(struct eng *e, const ops_keys_req *req, keys_cred ***creds, cJSON **rep,
		      cJSON **list, ops_error *err)
{
	const char *env_path;
	ops_code rc;

	memset(e, 0, sizeof *e);
	no_core_dumps();
	e->req = req;
	e->run = req->run;
	e->cfg = req->run->cfg;
	e->now = ops_run_now(req->run);
	if ((rc = keys_creds_load(req->run, req->types, creds, err)) != OPS_OK)
		return rc;
	if (!(*creds)[0]) {
		rc = ops_error_set(err, OPS_ECONFIG, "no credentials to rotate are configured%s",
				   req->types ? " for the types given" : "");
		ops_error_hint(err, "Name them in [keys]: database (ROLE@DATABASE:PASSWORD_VAR), "
			       "redis (USER:PASSWORD_VAR), api_keys (VAR, or table:TABLE:NAME:VAR), "
			       "jwt (hs256:VAR, rs256:DIR or es256:DIR); see opsctl.conf(5).");
		return rc;
	}
	env_path = ops_config_get(e->cfg, "keys.env_file");
	if ((rc = keys_envfile_load(env_path, &e->env, err)) != OPS_OK)
		return rc;
	{
		const char *addr = ops_config_get(e->cfg, "keys.vault_addr");

		const char *vpath = ops_config_get(e->cfg, "keys.vault_path");

		if (addr && *addr && (!vpath || !*vpath))
			return ops_error_set(err, OPS_ECONFIG, "keys.vault_addr is set but "
					     "keys.vault_path is not: which secret should hold the "
					     "credentials?");
		if (addr && *addr && (rc = keys_vault_open(e->cfg, &e->vault, err)) != OPS_OK)
			return rc;
	}
	if (!(*rep = cJSON_CreateObject()) || !cJSON_AddStringToObject(*rep, "env_file", env_path) ||
	    !(*list = cJSON_AddArrayToObject(*rep, "credentials")))
		return ops_error_oom(err);
	return survey(e, *creds, *list, err);
}

static void finish(struct eng *e, keys_cred **creds)
{
	size_t i;

	for (i = 0; i < e->n; i++) {
		wipe_item(&e->items[i]);
		cJSON_Delete(e->items[i].st);
	}
	free(e->items);
	keys_envfile_free(e->env);
	keys_vault_free(e->vault);
	keys_creds_free(creds);
	OPENSSL_cleanse(e->key, sizeof e->key);
}

ops_code ops_keys_status(const ops_keys_req *req, cJSON **report, ops_error *err)
{
	struct eng e;
	keys_cred **creds = NULL;
	cJSON *rep = NULL, *list;
	ops_code rc;

	*report = NULL;
	rc = start(&e, req, &creds, &rep, &list, err);
	if (rc == OPS_OK) {
		cJSON_AddNumberToObject(rep, "due", (double)e.due);
		*report = rep;
		rep = NULL;
	}
	cJSON_Delete(rep);
	finish(&e, creds);
	return rc;
}

/* The credentials this run acts on. */
static size_t count_active(const struct eng *e)
{
	size_t i, n = 0;

	for (i = 0; i < e->n; i++)
		n += (size_t)e->items[i].active;
	return n;
}

ops_code ops_keys_rotate(const ops_keys_req *req, cJSON **report, ops_error *err)
{
	struct eng e;
	keys_cred **creds = NULL;
	cJSON *rep = NULL, *list;
	char question[300];
	size_t i, acting;
	int grace_block = 0;
	char grace_first[300] = "";
	ops_code rc;

	*report = NULL;
	if ((rc = start(&e, req, &creds, &rep, &list, err)) != OPS_OK)
		goto out;
	if (req->abort) {
		for (i = 0; i < e.n; i++) {
			struct item *it = &e.items[i];

			it->active = strcmp(it->phase, "current") != 0;
			put(it->one, "action", cJSON_CreateString(it->active ? "abort"
								  : "none: no rotation under way"));
		}
		acting = count_active(&e);
		if (req->run->dry_run) {
			ops_run_would_permit(req->run, "rotate-keys abort", rep);
			goto report;
		}
		if (acting && (rc = ops_run_permit(req->run, "rotate-keys abort", "Roll back the "
						 "rotations under way?", err)) != OPS_OK)
			goto out;
		if ((rc = keys_seal_key(e.cfg, e.key, err)) != OPS_OK)
			goto out;
		rc = abort_all(&e, err);
		goto report;
	}
	/* What this run does to each: resume, rotate, or leave (not due, or
	 * its previous secret still in its grace period). */
	for (i = 0; i < e.n; i++) {
		struct item *it = &e.items[i];
		double age = age_of(&e, it);

		if (strcmp(it->phase, "current") != 0) {
			it->active = 1;
			put(it->one, "action", cJSON_CreateString("resume"));
		} else if (req->due_only && !req->restore && age >= 0 &&
			   age < (double)it->c->max_age) {
			put(it->one, "action", cJSON_CreateString("none: not due"));
			put(it->one, "outcome", cJSON_CreateString("not due"));
		} else if (in_grace(&e, it) && !req->end_grace) {
			/*
			 * One PREVIOUS per credential: rotating again now would end
			 * the grace of the one clients may still hold (for two
			 * alternating roles, the role they log in as).
			 */
			char iso[OPS_TIME_ISO_SIZE], why[96];

			ops_time_iso((time_t)state_num(it->st, "previous", "retire_after", 0), iso);
			snprintf(why, sizeof why, "none: the previous secret is valid until %s", iso);
			put(it->one, "action", cJSON_CreateString(why));
			put(it->one, "outcome", cJSON_CreateString("in its grace period"));
			it->blocked = 1;
			if (!grace_block++)
				snprintf(grace_first, sizeof grace_first, "%s (until %s)",
					 it->c->display, iso);
		} else {
			it->active = 1;
			put(it->one, "action", cJSON_CreateString(req->restore ? "restore" : "rotate"));
		}
	}
	acting = count_active(&e);
	/* A restore in the middle of a rotation would mix two protocols' records. */
	if (req->restore) {
		for (i = 0; i < e.n; i++)
			if (strcmp(e.items[i].phase, "current") != 0) {
				rc = ops_error_set(err, OPS_EFAIL, "%s is at phase '%s' of a rotation; "
						   "finish it first (opsctl rotate-keys)",
						   e.items[i].c->display, e.items[i].phase);
				goto out;
			}
		if ((rc = load_restore(&e, rep, err)) != OPS_OK)
			goto out;
		acting = count_active(&e);
	}
	if ((rc = preflight(&e, err)) != OPS_OK)
		goto out;
	if (req->run->dry_run) {
		ops_run_would_permit(req->run, "rotate-keys", rep);
		(void)retire_due(&e, err);
		goto report;
	}
	snprintf(question, sizeof question, "%s %zu credential%s in %s?",
		 req->restore ? "Restore" : "Rotate", acting, acting == 1 ? "" : "s",
		 ops_config_get(e.cfg, "general.environment"));
	if (acting && (rc = ops_run_permit(req->run, "rotate-keys", question, err)) != OPS_OK)
		goto out;
	if ((rc = keys_seal_key(e.cfg, e.key, err)) != OPS_OK)
		goto out;
	if (req->backup && (rc = save_backup(&e, rep, err)) != OPS_OK)
		goto out;
	if ((rc = retire_due(&e, err)) != OPS_OK)
		goto report;
	for (i = 0; i < e.n; i++) {
		struct item *it = &e.items[i];
		ops_error ierr;

		if (!it->active)
			continue;
		if ((rc = ops_run_check_cancel(req->run, err)) != OPS_OK)
			goto report;
		ops_error_clear(&ierr);
		if ((rc = stage1(&e, it, &ierr)) != OPS_OK) {
			if (rc == OPS_EINTR) {
				*err = ierr;
				goto report;
			}
			item_failed(&e, it, rc, &ierr);
		}
	}
	if ((rc = ops_run_check_cancel(req->run, err)) != OPS_OK)
		goto report;
	if ((rc = deliver_all(&e, err)) != OPS_OK)
		goto report;
	if ((rc = stage3(&e, err)) != OPS_OK)
		goto report;
	rc = e.first;
	if (rc != OPS_OK) {
		*err = e.first_err;
		if (e.failed > 1)
			ops_error_prefix(err, "%ld credentials failed; the first", e.failed);
	} else if (grace_block) {
		rc = ops_error_set(err, OPS_EFAIL, "%d credential%s not rotated: the previous secret "
				   "is still in its grace period: %s%s", grace_block,
				   grace_block == 1 ? "" : "s", grace_first,
				   grace_block > 1 ? " and more" : "");
		ops_error_hint(err, "Rotate it once keys.grace_period has passed, or now with "
			       "--end-grace, which retires the previous secret first.");
	}
report:
	if (add_figures(&e, rep) != OPS_OK) {
		rc = ops_error_oom(err);
		goto out;
	}
	cJSON_AddNumberToObject(rep, "rotated", (double)e.rotated);
	cJSON_AddNumberToObject(rep, "failed", (double)e.failed);
	cJSON_AddNumberToObject(rep, "retired", (double)e.retired);
	if (req->abort)
		cJSON_AddNumberToObject(rep, "rolled_back", (double)e.aborted);
	*report = rep;
	rep = NULL;
out:
	cJSON_Delete(rep);
	finish(&e, creds);
	return rc;
}
