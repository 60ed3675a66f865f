/*
 * keys/vault, the KV version 2 client.  What needs no server always runs
 * (configuration errors, the token file's checks, a closed port).  The rest
 * runs against tests/lib/vault_peer.py when tests/integration/t505-keys-vault.sh
 * exports its addresses (OPSCTL_TEST_VAULT_URL, OPSCTL_TEST_VAULT_TLS_URL,
 * OPSCTL_TEST_VAULT_CA, OPSCTL_TEST_VAULT_TOKEN): read of an empty path,
 * write with cas 0, a stale cas (OPS_ELOCKED, exit 75), a wrong token
 * (OPS_EPERM), a sealed Vault (OPS_EUNAVAIL), the namespace header, TLS with
 * the test CA and without it, and the token and the values in no log line
 * or message, traces at debug level included.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keys/keys_internal.h"
#include "opsmaint/http.h"
#include "opsmaint/log.h"
#include "unit.h"

static const char *url, *tls_url, *ca, *token;
static char *tmp;
static const char secret_value[] = "s3cr3t-Value-9f2c";

static char logbuf[1 << 17];
static size_t loglen;

static void capture(void *arg, ops_loglevel level, const char *line)
{
	int n = snprintf(logbuf + loglen, sizeof logbuf - loglen, "%s\n", line);

	if (n > 0 && (size_t)n < sizeof logbuf - loglen)
		loglen += (size_t)n;
}

/* A configuration for the peer at addr; token in $VAULT_TOKEN unless NULL. */
static ops_config *config(const char *addr, const char *tok)
{
	ops_config *cfg = ops_config_new();
	ops_error err;

	if (addr && ops_config_set(cfg, "keys.vault_addr", addr, "test", &err) != OPS_OK)
		fprintf(stderr, "config: %s\n", err.message);
	if (tok)
		setenv("VAULT_TOKEN", tok, 1);
	else
		unsetenv("VAULT_TOKEN");
	return cfg;
}

static keys_vault *open_peer(const char *addr, const char *tok, const char *ns)
{
	ops_config *cfg = config(addr, tok);
	keys_vault *v = NULL;
	ops_error err;

	if (ns)
		ops_config_set(cfg, "keys.vault_namespace", ns, "test", &err);
	if (ca)
		ops_config_set(cfg, "keys.vault_ca_file", ca, "test", &err);
	if (keys_vault_open(cfg, &v, &err) != OPS_OK)
		fprintf(stderr, "keys_vault_open: %s\n", err.message);
	ops_config_free(cfg);
	return v;
}

static void put_mode(const char *path, const char *text, mode_t mode)
{
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	if (fd < 0)
		return;
	if (write(fd, text, strlen(text)) < 0)
		perror("write");
	fchmod(fd, mode);
	close(fd);
}

/* The peer's /_peer/state, parsed. */
static cJSON *peer_state(void)
{
	ops_http_opts o;
	ops_http *h = NULL;
	ops_http_req req = {0};
	ops_http_resp r;
	ops_error err;
	char u[512];
	cJSON *j = NULL;

	ops_http_opts_init(&o);
	snprintf(u, sizeof u, "%s/_peer/state", url);
	req.url = u;
	if (ops_http_new(&o, &h, &err) == OPS_OK && ops_http_request(h, &req, &r, &err) == OPS_OK &&
	    r.status == 200)
		j = cJSON_Parse(r.body);
	ops_http_resp_release(&r);
	ops_http_free(h);
	return j;
}

static void peer_fail(int status, int n)
{
	ops_http_opts o;
	ops_http *h = NULL;
	ops_http_req req = {0};
	ops_http_resp r;
	ops_error err;
	char u[512];

	ops_http_opts_init(&o);
	snprintf(u, sizeof u, "%s/_peer/fail?status=%d&n=%d", url, status, n);
	req.url = u;
	req.method = "POST";
	if (ops_http_new(&o, &h, &err) == OPS_OK)
		ops_http_request(h, &req, &r, &err);
	ops_http_resp_release(&r);
	ops_http_free(h);
}

static cJSON *pairs(const char *name, const char *value)
{
	cJSON *d = cJSON_CreateObject();

	cJSON_AddStringToObject(d, name, value);
	return d;
}

/* ---- without a peer ---- */

TEST(not_configured)
{
	ops_config *cfg = config(NULL, "tok");
	keys_vault *v = NULL;
	ops_error err;

	CHECK_INT(keys_vault_open(cfg, &v, &err), OPS_ECONFIG);
	CHECK_CONTAINS(err.message, "keys.vault_addr");
	CHECK(v == NULL);
	ops_config_set(cfg, "keys.vault_addr", "ftp://vault:8200", "test", &err);
	CHECK_INT(keys_vault_open(cfg, &v, &err), OPS_ECONFIG);
	CHECK_CONTAINS(err.message, "not an http:// or https:// address");
	ops_config_free(cfg);
}

TEST(token_sources)
{
	ops_config *cfg = config("http://127.0.0.1:1", NULL);
	keys_vault *v = NULL;
	char path[4200], link[4200];
	ops_error err;

	CHECK_INT(keys_vault_open(cfg, &v, &err), OPS_ECONFIG);
	CHECK_CONTAINS(err.message, "no Vault token");
	snprintf(path, sizeof path, "%s/token", tmp);
	snprintf(link, sizeof link, "%s/token-link", tmp);
	ops_config_set(cfg, "keys.vault_token_file", path, "test", &err);

	put_mode(path, "hvs.file-token-123\n", 0644);
	CHECK_INT(keys_vault_open(cfg, &v, &err), OPS_EPERM);
	CHECK_INT(ops_code_exit_status(err.code), 77);
	CHECK_CONTAINS(err.message, "mode 0644; must be 0600");
	CHECK(!strstr(err.message, "file-token"));

	put_mode(path, "", 0600);
	CHECK_INT(keys_vault_open(cfg, &v, &err), OPS_ECONFIG);
	CHECK_CONTAINS(err.message, "is empty");
	put_mode(path, "hvs.one\nhvs.two\n", 0600);
	CHECK_INT(keys_vault_open(cfg, &v, &err), OPS_ECONFIG);
	CHECK(!strstr(err.message, "hvs."));

	put_mode(path, "hvs.file-token-123\n", 0600);
	unlink(link);
	CHECK_INT(symlink(path, link), 0);
	ops_config_set(cfg, "keys.vault_token_file", link, "test", &err);
	CHECK_INT(keys_vault_open(cfg, &v, &err), OPS_EPERM);
	CHECK_CONTAINS(err.message, "symbolic link");

	ops_config_set(cfg, "keys.vault_token_file", path, "test", &err);
	CHECK_INT(keys_vault_open(cfg, &v, &err), OPS_OK);
	keys_vault_free(v);
	ops_config_free(cfg);
}

TEST(peer_down_is_unavailable)
{
	keys_vault *v = open_peer("http://127.0.0.1:1", "tok", NULL);
	cJSON *data = NULL, *d = pairs("A", secret_value);
	long version = -1;
	ops_error err;

	CHECK(v != NULL);
	if (!v)
		return;
	CHECK_INT(keys_vault_read(v, "app/x", &data, &version, &err), OPS_EUNAVAIL);
	CHECK_INT(ops_code_exit_status(err.code), 69);
	CHECK(data == NULL);
	CHECK_INT(keys_vault_write(v, "app/x", d, 0, &version, &err), OPS_EUNAVAIL);
	CHECK(!strstr(err.message, secret_value) && !strstr(err.message, "tok"));
	cJSON_Delete(d);
	keys_vault_free(v);
}

/* ---- against the peer ---- */

TEST(read_empty_write_read_back)
{
	keys_vault *v = open_peer(url, token, NULL);
	cJSON *data = NULL, *d = pairs("DB_PASSWORD", secret_value);
	long version = -1, nv = 0;
	ops_error err;

	CHECK(v != NULL);
	if (!v)
		return;
	CHECK_INT(keys_vault_read(v, "rag-interface/app", &data, &version, &err), OPS_OK);
	CHECK_INT(version, 0);
	CHECK(cJSON_IsObject(data) && cJSON_GetArraySize(data) == 0);
	cJSON_Delete(data);

	CHECK_INT(keys_vault_write(v, "rag-interface/app", d, 0, &nv, &err), OPS_OK);
	CHECK_INT(nv, 1);
	CHECK_INT(keys_vault_read(v, "rag-interface/app", &data, &version, &err), OPS_OK);
	CHECK_INT(version, 1);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(data, "DB_PASSWORD")), secret_value);
	cJSON_Delete(data);

	cJSON_ReplaceItemInObject(d, "DB_PASSWORD", cJSON_CreateString("second-value"));
	CHECK_INT(keys_vault_write(v, "/rag-interface/app", d, 1, &nv, &err), OPS_OK);
	CHECK_INT(nv, 2);
	cJSON_Delete(d);
	keys_vault_free(v);
}

TEST(stale_cas_is_locked)
{
	keys_vault *v = open_peer(url, token, NULL);
	cJSON *d = pairs("API_KEY", secret_value), *data = NULL;
	long nv = 0, version = 0;
	ops_error err;

	if (!v) {
		CHECK(v != NULL);
		return;
	}
	CHECK_INT(keys_vault_write(v, "cas/path", d, 0, &nv, &err), OPS_OK);
	/* cas 0 on a path that exists, and a version that is no longer the latest. */
	CHECK_INT(keys_vault_write(v, "cas/path", d, 0, &nv, &err), OPS_ELOCKED);
	CHECK_INT(ops_code_exit_status(err.code), 75);
	CHECK_CONTAINS(err.message, "someone else wrote it");
	CHECK_INT(keys_vault_write(v, "cas/path", d, 1, &nv, &err), OPS_OK);
	CHECK_INT(keys_vault_write(v, "cas/path", d, 1, &nv, &err), OPS_ELOCKED);
	CHECK(!strstr(err.message, secret_value));
	/* Nothing was overwritten: still two versions. */
	CHECK_INT(keys_vault_read(v, "cas/path", &data, &version, &err), OPS_OK);
	CHECK_INT(version, 2);
	cJSON_Delete(data);
	cJSON_Delete(d);
	keys_vault_free(v);
}

TEST(wrong_token_is_permission)
{
	keys_vault *v = open_peer(url, "hvs.wrong-token-77", NULL);
	cJSON *data = NULL, *d = pairs("A", secret_value);
	long version = 0;
	ops_error err;

	if (!v) {
		CHECK(v != NULL);
		return;
	}
	CHECK_INT(keys_vault_read(v, "rag-interface/app", &data, &version, &err), OPS_EPERM);
	CHECK_INT(ops_code_exit_status(err.code), 77);
	CHECK_CONTAINS(err.message, "permission denied");
	CHECK(!strstr(err.message, "wrong-token") && !strstr(err.hint, "wrong-token"));
	CHECK_INT(keys_vault_write(v, "rag-interface/app", d, 0, &version, &err), OPS_EPERM);
	cJSON_Delete(d);
	keys_vault_free(v);
}

TEST(sealed_is_unavailable)
{
	keys_vault *v = open_peer(url, token, NULL);
	cJSON *data = NULL, *d = pairs("A", secret_value);
	long version = 0;
	ops_error err;

	if (!v) {
		CHECK(v != NULL);
		return;
	}
	/* core/http retries a GET on 503: fail more often than it tries. */
	peer_fail(503, 10);
	CHECK_INT(keys_vault_read(v, "rag-interface/app", &data, &version, &err), OPS_EUNAVAIL);
	CHECK_CONTAINS(err.message, "sealed");
	peer_fail(503, 1);
	CHECK_INT(keys_vault_write(v, "sealed/path", d, 0, &version, &err), OPS_EUNAVAIL);
	peer_fail(500, 1);
	CHECK_INT(keys_vault_write(v, "sealed/path", d, 0, &version, &err), OPS_EFAIL);
	CHECK_CONTAINS(err.message, "HTTP 500: injected failure");
	peer_fail(0, 0);
	cJSON_Delete(d);
	keys_vault_free(v);
}

TEST(namespace_header_and_escaped_path)
{
	keys_vault *v = open_peer(url, token, "team-a/rag");
	cJSON *data = NULL, *st, *r, *last = NULL;
	long version = 0;
	ops_error err;

	if (!v) {
		CHECK(v != NULL);
		return;
	}
	CHECK_INT(keys_vault_read(v, "odd path/with space", &data, &version, &err), OPS_OK);
	cJSON_Delete(data);
	st = peer_state();
	cJSON_ArrayForEach(r, cJSON_GetObjectItem(st, "requests"))
		last = r;
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(last, "namespace")), "team-a/rag");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(last, "path")),
		  "/v1/secret/data/odd%20path/with%20space");
	CHECK(cJSON_IsTrue(cJSON_GetObjectItem(last, "token_sent")));
	cJSON_Delete(st);
	keys_vault_free(v);
}

TEST(tls_with_the_test_ca)
{
	keys_vault *v;
	cJSON *data = NULL, *d = pairs("JWT_SECRET", secret_value);
	long version = 0, nv = 0;
	const char *keep = ca;
	ops_error err;

	v = open_peer(tls_url, token, NULL);
	if (!v) {
		CHECK(v != NULL);
		cJSON_Delete(d);
		return;
	}
	CHECK_INT(keys_vault_read(v, "tls/app", &data, &version, &err), OPS_OK);
	cJSON_Delete(data);
	CHECK_INT(keys_vault_write(v, "tls/app", d, version, &nv, &err), OPS_OK);
	CHECK_INT(nv, version + 1);
	keys_vault_free(v);
	/* Without the CA the certificate does not verify: unusable, not a permission problem. */
	ca = NULL;
	v = open_peer(tls_url, token, NULL);
	ca = keep;
	CHECK(v != NULL);
	if (v)
		CHECK_INT(keys_vault_read(v, "tls/app", &data, &version, &err), OPS_EUNAVAIL);
	keys_vault_free(v);
	cJSON_Delete(d);
}

TEST(token_and_values_never_logged)
{
	keys_vault *v;
	cJSON *data = NULL, *d = pairs("DB_PASSWORD", secret_value);
	long version = 0, nv = 0;
	ops_error err;

	loglen = 0;
	logbuf[0] = '\0';
	ops_log_set_level(OPS_LOG_DEBUG);
	ops_log_set_sink(capture, NULL);
	v = open_peer(url, token, NULL);
	if (v) {
		CHECK_INT(keys_vault_read(v, "log/app", &data, &version, &err), OPS_OK);
		cJSON_Delete(data);
		CHECK_INT(keys_vault_write(v, "log/app", d, version, &nv, &err), OPS_OK);
		CHECK_INT(keys_vault_write(v, "log/app", d, version, &nv, &err), OPS_ELOCKED);
		CHECK(!strstr(err.message, token) && !strstr(err.message, secret_value));
		CHECK_INT(keys_vault_read(v, "log/app", &data, &version, &err), OPS_OK);
		cJSON_Delete(data);
		peer_fail(503, 10);
		CHECK_INT(keys_vault_read(v, "log/app", &data, &version, &err), OPS_EUNAVAIL);
		peer_fail(0, 0);
		keys_vault_free(v);
	}
	ops_log_set_sink(NULL, NULL);
	ops_log_set_level(OPS_LOG_INFO);
	/* The trace ran (the header is there, redacted), and neither secret is anywhere. */
	CHECK_CONTAINS(logbuf, "X-Vault-Token: [redacted]");
	CHECK(!strstr(logbuf, token));
	CHECK(!strstr(logbuf, secret_value));
	if (strstr(logbuf, token) || strstr(logbuf, secret_value))
		fprintf(stderr, "%s", logbuf);
	cJSON_Delete(d);
}

int main(void)
{
	url = getenv("OPSCTL_TEST_VAULT_URL");
	tls_url = getenv("OPSCTL_TEST_VAULT_TLS_URL");
	ca = getenv("OPSCTL_TEST_VAULT_CA");
	token = getenv("OPSCTL_TEST_VAULT_TOKEN");
	unsetenv("VAULT_ADDR");
	unsetenv("VAULT_TOKEN");
	tmp = unit_tmpdir();
	if (!tmp)
		return 1;
	RUN(not_configured);
	RUN(token_sources);
	RUN(peer_down_is_unavailable);
	if (url && tls_url && ca && token) {
		RUN(read_empty_write_read_back);
		RUN(stale_cas_is_locked);
		RUN(wrong_token_is_permission);
		RUN(sealed_is_unavailable);
		RUN(namespace_header_and_escaped_path);
		RUN(tls_with_the_test_ca);
		RUN(token_and_values_never_logged);
	} else {
		printf("# the Vault peer's cases run in tests/integration/t505-keys-vault.sh\n");
	}
	unit_rmrf(tmp);
	free(tmp);
	return unit_done();
}
