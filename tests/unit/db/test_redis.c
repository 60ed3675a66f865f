/*
 * db/redis: URLs, where a password may come from, errors and their codes,
 * the reply parser, timeouts and cancellation against local sockets that
 * this test scripts; then, when t191 has started real redis-servers and
 * named them in the environment, everything against them: no auth,
 * requirepass, an ACL user, TLS with the right CA, an unknown CA, a wrong
 * host name, a client certificate.  Without that environment the live
 * tests are skipped, saying so.
 *
 * OPSCTL_TEST_REDIS_URL            redis:// of a server without a password
 * OPSCTL_TEST_REDIS_UNIX_URL       unix:// of the same server's socket
 * OPSCTL_TEST_REDIS_AUTH_URL       redis:// of a server with requirepass, no password in it
 * OPSCTL_TEST_REDIS_PASSWORD       its default user's password
 * OPSCTL_TEST_REDIS_ACL_USER       an ACL user there, and its password, which holds
 * OPSCTL_TEST_REDIS_ACL_PASSWORD     '@', '/' and ':' (keys opsctl:*, +@connection +get
 *                                    +set +acl|whoami, nothing else: no CONFIG GET)
 * OPSCTL_TEST_REDIS_TLS_URL        rediss:// of that server by a name its certificate holds
 * OPSCTL_TEST_REDIS_TLS_WRONG_URL  rediss:// of it by an address the certificate lacks
 * OPSCTL_TEST_REDIS_TLS_CA         the CA that signed its certificate
 * OPSCTL_TEST_REDIS_TLS_OTHER_CA   a CA that did not
 * OPSCTL_TEST_REDIS_MTLS_URL       rediss:// of a server that wants a client certificate
 * OPSCTL_TEST_REDIS_TLS_CERT       a client certificate the CA signed, and its key
 * OPSCTL_TEST_REDIS_TLS_KEY
 * OPSCTL_TEST_REDIS_TLS_OTHER_KEY  a key that belongs to no certificate here (optional)
 */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "unit.h"
#include "opsmaint/cancel.h"
#include "opsmaint/clock.h"
#include "opsmaint/config.h"
#include "opsmaint/redis.h"

extern char **environ;

static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

/* A listening loopback socket; *port its port.  Connections complete in
 * the kernel's backlog whether or not anybody accepts them. */
static int listener(int *port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 8) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*port = ntohs(sa.sin_port);
	return fd;
}

/* A port that nothing listens on. */
static int closed_port(void)
{
	int port = 0, fd = listener(&port);

	if (fd >= 0)
		close(fd);
	return port;
}

static void url_of(char *buf, size_t len, const char *scheme, int port, const char *tail)
{
	snprintf(buf, len, "%s://127.0.0.1:%d%s", scheme, port, tail);
}

static ops_code try_url(const char *url, ops_error *err)
{
	ops_redis_options o = {.url = url, .connect_timeout_ms = 2000, .timeout_ms = 2000};
	ops_redis *r = NULL;
	ops_code rc = ops_redis_connect(&o, &r, err);

	CHECK(rc == OPS_OK || r == NULL);
	ops_redis_close(r);
	return rc;
}

TEST(bad_urls_are_configuration_errors_that_never_echo_a_password)
{
	static const struct {
		const char *url, *says;
	} bad[] = {
		{"http://127.0.0.1:6379", "not redis://, rediss:// or unix://"},
		{"127.0.0.1:6379", "not redis://"},
		{"redis://", "no host"},
		{"redis://:6379", "no host"},
		{"redis://h:0", "port '0' is not 1-65535"},
		{"redis://h:70000", "port '70000' is not 1-65535"},
		{"redis://h:63x9", "port '63x9'"},
		{"redis://h/x1", "database 'x1' is not a number"},
		{"redis://h?db=-1", "database '-1' is not a number"},
		{"redis://h?timeout=3", "unknown URL parameter 'timeout'"},
		{"redis://[::1:6379", "'[' without ']'"},
		{"unix://", "socket's absolute path"},
		{"unix://relative/sock", "socket's absolute path"},
		{"redis://u:hunter2%zz@h", "bad %-escape in the password"},
		{"redis://u%4:hunter2@h", "bad %-escape in the user name"},
		{"redis://u:hunter2%00@h", "bad %-escape in the password"},
	};
	size_t i;
	ops_error err;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ops_error_clear(&err);
		CHECK_INT(try_url(bad[i].url, &err), OPS_ECONFIG);
		CHECK_CONTAINS(err.message, "bad Redis URL");
		CHECK_CONTAINS(err.message, bad[i].says);
		CHECK(!strstr(err.message, "hunter2"));
	}
	ops_error_clear(&err);
	CHECK_INT(try_url("", &err), OPS_ECONFIG);
	CHECK_CONTAINS(err.message, "no Redis URL");
}

TEST(a_refused_server_is_unavailable_naming_host_and_port)
{
	char url[128], where[64];
	int port = closed_port();
	ops_error err;

	url_of(url, sizeof url, "redis", port, "/3");
	CHECK_INT(try_url(url, &err), OPS_EUNAVAIL);
	snprintf(where, sizeof where, "cannot connect to Redis at '127.0.0.1:%d'", port);
	CHECK_CONTAINS(err.message, where);
	CHECK_CONTAINS(err.message, "refused");
	CHECK_INT(ops_code_exit_status(err.code), 69);
	/* The password in the URL, decoded or not, is in no message. */
	snprintf(url, sizeof url, "rediss://app:hunter2@127.0.0.1:%d", port);
	CHECK_INT(try_url(url, &err), OPS_EUNAVAIL);
	CHECK(!strstr(err.message, "hunter2"));
	CHECK(!strstr(err.message, "app:"));
	/* IPv6 addresses are shown in brackets, as in the URL. */
	CHECK_INT(try_url("redis://[::1]:1", &err), OPS_EUNAVAIL);
	CHECK_CONTAINS(err.message, "'[::1]:1'");
	CHECK_INT(try_url("unix:///nonexistent/redis.sock?db=2", &err), OPS_EUNAVAIL);
	CHECK_CONTAINS(err.message, "'/nonexistent/redis.sock'");
	CHECK_CONTAINS(err.message, "No such file");
	CHECK_INT(try_url("redis://no-such-host.invalid", &err), OPS_EUNAVAIL);
	CHECK_CONTAINS(err.message, "no-such-host.invalid:6379");
}

TEST(a_user_without_a_password_is_refused_before_connecting)
{
	char url[128];
	ops_error err;

	snprintf(url, sizeof url, "redis://app@127.0.0.1:%d", closed_port());
	CHECK_INT(try_url(url, &err), OPS_ECONFIG);
	CHECK_CONTAINS(err.message, "no password for user 'app'");
}

TEST(a_silent_server_times_out_as_unavailable)
{
	int port = 0, fd = listener(&port);
	char url[128];
	ops_redis_options o = {.url = url, .timeout_ms = 300};
	ops_redis *r = NULL;
	double t0 = ops_clock();
	ops_error err;

	CHECK(fd >= 0);
	url_of(url, sizeof url, "redis", port, "");
	CHECK_INT(ops_redis_connect(&o, &r, &err), OPS_EUNAVAIL);
	CHECK(r == NULL);
	CHECK_CONTAINS(err.message, "did not answer within 0.3 s");
	CHECK(ops_clock() - t0 < 3);
	/* A TLS handshake that gets no answer is bounded by the connect timeout. */
	url_of(url, sizeof url, "rediss", port, "");
	o.connect_timeout_ms = 300;
	CHECK_INT(ops_redis_connect(&o, &r, &err), OPS_EUNAVAIL);
	CHECK_CONTAINS(err.message, "no answer within 0.3 s");
	close(fd);
	/* Every hook was removed with its connection: a request now touches
	 * no freed memory (ASan would say). */
	ops_cancel_request(SIGTERM);
	ops_cancel_reset();
}

static void *cancel_later(void *arg)
{
	usleep(150000);
	ops_cancel_request(SIGTERM);
	return arg;
}

TEST(cancelling_wakes_a_blocked_read_at_once)
{
	int port = 0, fd = listener(&port);
	char url[128];
	ops_redis_options o = {.url = url, .timeout_ms = 30000};
	ops_redis *r = NULL;
	pthread_t th;
	double t0;
	ops_error err;

	CHECK(fd >= 0);
	url_of(url, sizeof url, "redis", port, "");
	t0 = ops_clock();
	pthread_create(&th, NULL, cancel_later, NULL);
	CHECK_INT(ops_redis_connect(&o, &r, &err), OPS_EINTR);
	pthread_join(th, NULL);
	CHECK_CONTAINS(err.message, "interrupted by SIGTERM");
	/* The hook shuts the socket down: not the one-second poll slices. */
	CHECK(ops_clock() - t0 < 0.9);
	/* A run already cancelled does not start. */
	t0 = ops_clock();
	CHECK_INT(ops_redis_connect(&o, &r, &err), OPS_EINTR);
	CHECK(ops_clock() - t0 < 0.5);
	ops_cancel_reset();
	close(fd);
}

/* A one-connection server that answers PING, then sends `script` to the
 * next command (delay_ms later), then waits for the client to hang up. */
struct scripted {
	int fd;
	const char *script;
	size_t len;
	int delay_ms;
	pthread_t th;
	char url[64];
};

static void *scripted_main(void *arg)
{
	struct scripted *s = arg;
	char buf[4096];
	int c = accept(s->fd, NULL, NULL);

	if (c < 0)
		return NULL;
	if (read(c, buf, sizeof buf) > 0 && write(c, "+PONG\r\n", 7) == 7 &&
	    read(c, buf, sizeof buf) > 0 && usleep((useconds_t)s->delay_ms * 1000) == 0 &&
	    write(c, s->script, s->len) == (ssize_t)s->len)
		while (read(c, buf, sizeof buf) > 0)
			;
	close(c);
	return NULL;
}

static int scripted_start_delayed(struct scripted *s, const char *script, size_t len,
				  int delay_ms)
{
	int port = 0;

	s->script = script;
	s->len = len;
	s->delay_ms = delay_ms;
	s->fd = listener(&port);
	if (s->fd < 0)
		return -1;
	url_of(s->url, sizeof s->url, "redis", port, "");
	return pthread_create(&s->th, NULL, scripted_main, s);
}

static int scripted_start(struct scripted *s, const char *script, size_t len)
{
	return scripted_start_delayed(s, script, len, 0);
}

/* After the client closed its connection. */
static void scripted_stop(struct scripted *s)
{
	shutdown(s->fd, SHUT_RDWR);
	pthread_join(s->th, NULL);
	close(s->fd);
}

/* Connect to a scripted server and send one command: its reply or error. */
static ops_code scripted_reply(struct scripted *s, ops_redis **conn, ops_redis_reply **reply,
			       ops_error *err)
{
	static const char *const argv[] = {"TEST"};
	ops_redis_options o = {.url = s->url, .timeout_ms = 2000};
	ops_code rc;

	*reply = NULL;
	rc = ops_redis_connect(&o, conn, err);
	if (rc == OPS_OK)
		rc = ops_redis_command(*conn, 1, argv, NULL, reply, err);
	return rc;
}

TEST(replies_are_parsed_into_owned_binary_safe_trees)
{
	static const char script[] = "*4\r\n:-42\r\n*2\r\n$3\r\na\0b\r\n$-1\r\n+OK\r\n-ERR no.\r\n";
	struct scripted s;
	ops_redis *r = NULL;
	ops_redis_reply *rep = NULL;
	ops_error err;

	CHECK_INT(scripted_start(&s, script, sizeof script - 1), 0);
	CHECK_INT(scripted_reply(&s, &r, &rep, &err), OPS_OK);
	if (rep) {
		CHECK_INT(rep->type, OPS_REDIS_ARRAY);
		CHECK_INT(rep->elements, 4);
		CHECK_INT(rep->element[0]->type, OPS_REDIS_INTEGER);
		CHECK_INT(rep->element[0]->integer, -42);
		CHECK_INT(rep->element[1]->elements, 2);
		CHECK_INT(rep->element[1]->element[0]->len, 3);
		CHECK(memcmp(rep->element[1]->element[0]->str, "a\0b", 4) == 0);
		CHECK_INT(rep->element[1]->element[1]->type, OPS_REDIS_NIL);
		CHECK_INT(rep->element[2]->type, OPS_REDIS_STATUS);
		CHECK_STR(rep->element[2]->str, "OK");
		CHECK_INT(rep->element[3]->type, OPS_REDIS_ERROR);
		/* An error reply is the caller's to judge; turned into an error
		 * it loses "ERR " and its full stop. */
		CHECK_INT(ops_redis_reply_error(r, rep->element[3], "TEST", &err), OPS_EFAIL);
		CHECK_CONTAINS(err.message, "Redis TEST at '127.0.0.1:");
		CHECK_CONTAINS(err.message, "failed: no");
		CHECK(err.message[strlen(err.message) - 1] != '.');
	}
	ops_redis_reply_free(rep);
	ops_redis_close(r);
	scripted_stop(&s);
}

TEST(a_malformed_reply_loses_the_connection)
{
	/* The array is abandoned half-built: freed with its NULL element. */
	static const char script[] = "*2\r\n:1\r\n!oops\r\n";
	struct scripted s;
	ops_redis *r = NULL;
	ops_redis_reply *rep = NULL;
	ops_error err;

	CHECK_INT(scripted_start(&s, script, sizeof script - 1), 0);
	CHECK_INT(scripted_reply(&s, &r, &rep, &err), OPS_EUNAVAIL);
	CHECK_CONTAINS(err.message, "sent a malformed reply");
	CHECK(rep == NULL);
	CHECK_INT(ops_redis_call(r, NULL, &err, "PING", NULL), OPS_EUNAVAIL);
	CHECK_CONTAINS(err.message, "was lost");
	ops_redis_close(r);
	scripted_stop(&s);
}

/* A caller that counts what its commands change: the reply in flight at
 * a cancel request is still read, and only the next command is refused. */
TEST(finish_on_cancel_reads_the_reply_in_flight)
{
	static const char script[] = ":42\r\n";
	static const char *const argv[] = {"TEST"};
	ops_redis_options o = {.timeout_ms = 5000};
	struct scripted s;
	ops_redis *r = NULL;
	ops_redis_reply *rep = NULL;
	pthread_t th;
	double t0;
	ops_error err;

	CHECK_INT(scripted_start_delayed(&s, script, sizeof script - 1, 500), 0);
	o.url = s.url;
	CHECK_INT(ops_redis_connect(&o, &r, &err), OPS_OK);
	if (!r) {
		scripted_stop(&s);
		return;
	}
	ops_redis_finish_on_cancel(r, 1);
	t0 = ops_clock();
	pthread_create(&th, NULL, cancel_later, NULL);
	CHECK_INT(ops_redis_command(r, 1, argv, NULL, &rep, &err), OPS_OK);
	pthread_join(th, NULL);
	CHECK(ops_clock() - t0 >= 0.45);
	CHECK(rep && rep->type == OPS_REDIS_INTEGER && rep->integer == 42);
	ops_redis_reply_free(rep);
	CHECK_INT(ops_redis_call(r, NULL, &err, "PING", NULL), OPS_EINTR);
	CHECK_CONTAINS(err.message, "interrupted by SIGTERM");
	ops_redis_close(r);
	scripted_stop(&s);
	ops_cancel_reset();
}

static ops_config *config_with_url(const char *url, const char *origin)
{
	ops_config *cfg = ops_config_new();
	ops_error err;

	if (cfg && ops_config_set(cfg, "backup.redis_url", url, origin, &err) != OPS_OK) {
		ops_config_free(cfg);
		return NULL;
	}
	return cfg;
}

/* A health check with 0.3 s left does not wait redis.connect_timeout (10 s). */
TEST(connect_config_within_cuts_the_configured_timeouts)
{
	int port = 0, fd = listener(&port);
	char url[128];
	ops_config *cfg;
	ops_redis *r = NULL;
	double t0;
	ops_error err;

	CHECK(fd >= 0);
	url_of(url, sizeof url, "redis", port, "");
	cfg = config_with_url(url, "test");
	CHECK(cfg != NULL);
	if (!cfg)
		return;
	t0 = ops_clock();
	CHECK_INT(ops_redis_connect_config_within(cfg, "backup.redis_url", 300, &r, &err),
		  OPS_EUNAVAIL);
	CHECK(r == NULL);
	CHECK_CONTAINS(err.message, "within 0.3 s");
	CHECK(ops_clock() - t0 < 3);
	ops_config_free(cfg);
	close(fd);
}

static ops_redis_info info_of(ops_redis_info_field *f, size_t n)
{
	ops_redis_info info = {.count = n, .field = f};

	return info;
}

/* The figures cache stats and health judge alike. */
TEST(usage_from_info)
{
	ops_redis_info_field full[] = {
		{"memory", "used_memory", "800"}, {"memory", "maxmemory", "1000"},
		{"stats", "keyspace_hits", "30"}, {"stats", "keyspace_misses", "10"}};
	ops_redis_info_field fresh[] = {
		{"memory", "used_memory", "800"}, {"memory", "maxmemory", "0"},
		{"stats", "keyspace_hits", "0"}, {"stats", "keyspace_misses", "0"}};
	ops_redis_info_field bare[] = {{"memory", "used_memory_human", "1.02M"}};
	ops_redis_info info = info_of(full, 4);
	ops_redis_usage u;

	ops_redis_info_usage(&info, &u);
	CHECK(u.used_memory == 800 && u.maxmemory == 1000 && u.memory_ratio == 0.8);
	CHECK(u.hits == 30 && u.misses == 10 && u.lookups == 40 && u.hit_ratio == 0.75);
	CHECK(ops_redis_usage_hit_ratio_judged(&u, 40));
	CHECK(!ops_redis_usage_hit_ratio_judged(&u, 41));
	/* maxmemory 0 is no limit; no lookup yet is no ratio, whatever the bar. */
	info = info_of(fresh, 4);
	ops_redis_info_usage(&info, &u);
	CHECK(u.memory_ratio == -1 && u.lookups == 0 && u.hit_ratio == -1);
	CHECK(!ops_redis_usage_hit_ratio_judged(&u, 0));
	info = info_of(bare, 1);
	ops_redis_info_usage(&info, &u);
	CHECK(u.used_memory == -1 && u.memory_ratio == -1 && u.lookups == -1 &&
	      u.hit_ratio == -1);
}

TEST(a_password_in_the_url_is_taken_from_the_environment_only)
{
	char url[160];
	ops_config *cfg;
	ops_redis *r = NULL;
	ops_error err;
	int port = closed_port();

	snprintf(url, sizeof url, "redis://app:hunter2@127.0.0.1:%d", port);
	cfg = config_with_url(url, "/etc/opsctl/opsctl.conf:12");
	CHECK_INT(ops_redis_connect_config(cfg, "backup.redis_url", &r, &err), OPS_ECONFIG);
	CHECK_CONTAINS(err.message, "'backup.redis_url' from /etc/opsctl/opsctl.conf:12 holds "
		       "a password; set REDISCLI_AUTH, or the URL in OPSCTL_BACKUP_REDIS_URL");
	CHECK(!strstr(err.message, "hunter2"));
	ops_config_free(cfg);
	cfg = config_with_url(url, "--redis-url");
	CHECK_INT(ops_redis_connect_config(cfg, "backup.redis_url", &r, &err), OPS_ECONFIG);
	ops_config_free(cfg);
	/* From the environment it passes (and meets the closed port). */
	setenv("OPSCTL_BACKUP_REDIS_URL", url, 1);
	cfg = ops_config_new();
	CHECK_INT(ops_config_load_env(cfg, environ, &err), OPS_OK);
	CHECK_STR(ops_config_origin(cfg, "backup.redis_url"), "OPSCTL_BACKUP_REDIS_URL");
	CHECK_INT(ops_redis_connect_config(cfg, "backup.redis_url", &r, &err), OPS_EUNAVAIL);
	CHECK(!strstr(err.message, "hunter2"));
	/* ...unless the variable has changed since (another value, same name). */
	setenv("OPSCTL_BACKUP_REDIS_URL", "redis://127.0.0.1:1", 1);
	CHECK_INT(ops_redis_connect_config(cfg, "backup.redis_url", &r, &err), OPS_ECONFIG);
	unsetenv("OPSCTL_BACKUP_REDIS_URL");
	ops_config_free(cfg);
	/* No password in the URL: fine from the file. */
	snprintf(url, sizeof url, "redis://127.0.0.1:%d", port);
	cfg = config_with_url(url, "opsctl.conf:3");
	CHECK_INT(ops_redis_connect_config(cfg, "backup.redis_url", &r, &err), OPS_EUNAVAIL);
	CHECK_INT(ops_redis_connect_config(cfg, "vector.table", &r, &err), OPS_ECONFIG);
	CHECK_CONTAINS(err.message, "bad value for 'vector.table': not redis://");
	ops_config_free(cfg);
	cfg = ops_config_new();
	CHECK_INT(ops_redis_connect_config(cfg, "backup.redis_url", &r, &err), OPS_ECONFIG);
	CHECK_CONTAINS(err.message, "'backup.redis_url' is not set");
	ops_config_free(cfg);
	CHECK(r == NULL);
}

TEST(a_login_test_needs_a_user_and_a_password)
{
	ops_config *cfg = config_with_url("redis://127.0.0.1:1", "opsctl.conf:3");
	ops_redis *r = NULL;
	ops_error err;

	CHECK_INT(ops_redis_connect_config_as(cfg, "backup.redis_url", "app", "", &r, &err),
		  OPS_EUSAGE);
	CHECK_INT(ops_redis_connect_config_as(cfg, "backup.redis_url", NULL, "pw", &r, &err),
		  OPS_EUSAGE);
	CHECK_INT(ops_redis_connect_config_as(cfg, "cache.redis_url", "app", "pw", &r, &err),
		  OPS_ECONFIG);
	CHECK(r == NULL);
	ops_config_free(cfg);
}

TEST(the_tls_settings_are_checked_before_a_byte_is_sent)
{
	int port = 0, fd = listener(&port);
	char url[128];
	ops_redis_options o = {.url = url, .connect_timeout_ms = 2000};
	ops_redis *r = NULL;
	ops_error err;

	url_of(url, sizeof url, "rediss", port, "");
	o.tls_ca_file = "/nonexistent/ca.pem";
	CHECK_INT(ops_redis_connect(&o, &r, &err), OPS_ECONFIG);
	CHECK_CONTAINS(err.message, "cannot load CA certificates from '/nonexistent/ca.pem'");
	o.tls_ca_file = NULL;
	o.tls_cert_file = "/nonexistent/client.pem";
	CHECK_INT(ops_redis_connect(&o, &r, &err), OPS_ECONFIG);
	CHECK_CONTAINS(err.message, "a TLS client certificate needs its key as well");
	o.tls_key_file = "/nonexistent/client.key";
	CHECK_INT(ops_redis_connect(&o, &r, &err), OPS_ECONFIG);
	CHECK_CONTAINS(err.message, "cannot load the client certificate '/nonexistent/client.pem'");
	close(fd);
}

/* ---- against real servers (t191) ---- */

static ops_redis *live(const char *url, const char *user, const char *password)
{
	ops_redis_options o = {.url = url, .user = user, .password = password,
			       .tls_ca_file = env("OPSCTL_TEST_REDIS_TLS_CA")};
	ops_redis *r = NULL;
	ops_error err;

	if (ops_redis_connect(&o, &r, &err) != OPS_OK)
		fprintf(stderr, "cannot connect to %s: %s\n", url, err.message);
	return r;
}

TEST(live_commands_are_binary_safe_and_errors_are_replies)
{
	ops_redis *r = live(env("OPSCTL_TEST_REDIS_URL"), NULL, NULL);
	static const char value[] = "one\0two\r\nthree";
	const char *set[] = {"SET", "opsctl:unit:bin", value};
	const size_t setlen[] = {3, 15, sizeof value - 1};
	ops_redis_reply *rep = NULL;
	char *big;
	ops_error err;

	CHECK(r != NULL);
	if (!r)
		return;
	CHECK_STR(ops_redis_user(r), "default");
	CHECK(ops_redis_tls_version(r) == NULL);
	CHECK_INT(ops_redis_command(r, 3, set, setlen, &rep, &err), OPS_OK);
	CHECK(rep && rep->type == OPS_REDIS_STATUS);
	ops_redis_reply_free(rep);
	CHECK_INT(ops_redis_call(r, &rep, &err, "GET", "opsctl:unit:bin", NULL), OPS_OK);
	CHECK(rep && rep->type == OPS_REDIS_STRING && rep->len == sizeof value - 1 &&
	      memcmp(rep->str, value, sizeof value - 1) == 0);
	ops_redis_reply_free(rep);
	/* A reply larger than any one read. */
	big = malloc(1 << 20);
	if (big) {
		const char *bset[] = {"SET", "opsctl:unit:big", big};
		const size_t blen[] = {3, 15, 1 << 20};

		memset(big, 'x', 1 << 20);
		CHECK_INT(ops_redis_command(r, 3, bset, blen, &rep, &err), OPS_OK);
		ops_redis_reply_free(rep);
		CHECK_INT(ops_redis_call(r, &rep, &err, "GET", "opsctl:unit:big", NULL), OPS_OK);
		CHECK(rep && rep->len == 1 << 20 && memcmp(rep->str, big, 1 << 20) == 0);
		ops_redis_reply_free(rep);
		free(big);
	}
	CHECK_INT(ops_redis_call(r, &rep, &err, "EVAL", "return {7, {'a', 8}, 'b'}", "0", NULL),
		  OPS_OK);
	CHECK(rep && rep->elements == 3 && rep->element[1]->elements == 2 &&
	      rep->element[1]->element[1]->integer == 8);
	ops_redis_reply_free(rep);
	/* The raw call hands an error back as a reply; ops_redis_call as an error. */
	CHECK_INT(ops_redis_command(r, 1, (const char *const[]){"NOSUCHCOMMAND"}, NULL, &rep, &err),
		  OPS_OK);
	CHECK(rep && rep->type == OPS_REDIS_ERROR && strstr(rep->str, "unknown command"));
	ops_redis_reply_free(rep);
	CHECK_INT(ops_redis_call(r, &rep, &err, "NOSUCHCOMMAND", "secret-arg", NULL), OPS_EFAIL);
	CHECK_CONTAINS(err.message, "Redis NOSUCHCOMMAND at '");
	CHECK(rep == NULL);
	CHECK_INT(ops_redis_call(r, NULL, &err, "CONFIG", "SET", "nosuchparam", "1", NULL),
		  OPS_EFAIL);
	CHECK_CONTAINS(err.message, "Redis CONFIG SET at '");
	ops_redis_close(r);
}

TEST(live_info_and_config_get)
{
	ops_redis *r = live(env("OPSCTL_TEST_REDIS_URL"), NULL, NULL);
	ops_redis_info *info = NULL;
	char *dir = NULL;
	double n = -1;
	size_t i;
	int sections = 0;
	ops_error err;

	CHECK(r != NULL);
	if (!r)
		return;
	CHECK_INT(ops_redis_info_get(r, "persistence", &info, &err), OPS_OK);
	CHECK(ops_redis_info_number(info, "rdb_bgsave_in_progress", &n) && n == 0);
	CHECK_STR(ops_redis_info_value(info, "rdb_last_bgsave_status"), "ok");
	CHECK(ops_redis_info_value(info, "no_such_field") == NULL);
	CHECK(info && info->count > 5 && strcmp(info->field[0].section, "persistence") == 0);
	ops_redis_info_free(info);
	CHECK_INT(ops_redis_info_get(r, NULL, &info, &err), OPS_OK);
	for (i = 0; info && i < info->count; i++)
		sections += i == 0 ||
			    strcmp(info->field[i].section, info->field[i - 1].section) != 0;
	CHECK(sections >= 5);
	CHECK_STR(ops_redis_info_value(info, "tcp_port") ? "set" : NULL, "set");
	/* "1.02M" is no number; "0.00" is. */
	CHECK(!ops_redis_info_number(info, "used_memory_human", &n));
	CHECK(ops_redis_info_number(info, "mem_fragmentation_ratio", &n));
	ops_redis_info_free(info);
	CHECK_INT(ops_redis_config_get(r, "dbfilename", &dir, &err), OPS_OK);
	CHECK_STR(dir, "dump.rdb");
	free(dir);
	CHECK_INT(ops_redis_config_get(r, "nosuchparam", &dir, &err), OPS_EFAIL);
	CHECK_CONTAINS(err.message, "has no configuration parameter 'nosuchparam'");
	CHECK(dir == NULL);
	ops_redis_close(r);
}

TEST(live_the_url_selects_the_database)
{
	char url[256];
	ops_redis *r5, *r0;
	ops_redis_reply *rep = NULL;
	ops_error err;

	snprintf(url, sizeof url, "%s/5", env("OPSCTL_TEST_REDIS_URL"));
	r5 = live(url, NULL, NULL);
	r0 = live(env("OPSCTL_TEST_REDIS_URL"), NULL, NULL);
	CHECK(r5 && r0);
	if (r5 && r0) {
		CHECK_INT(ops_redis_call(r5, NULL, &err, "SET", "opsctl:unit:db", "5", NULL),
			  OPS_OK);
		CHECK_INT(ops_redis_call(r0, &rep, &err, "EXISTS", "opsctl:unit:db", NULL), OPS_OK);
		CHECK(rep && rep->integer == 0);
		ops_redis_reply_free(rep);
		CHECK_INT(ops_redis_call(r5, &rep, &err, "CLIENT", "INFO", NULL), OPS_OK);
		CHECK(rep && rep->str && strstr(rep->str, " db=5 "));
		ops_redis_reply_free(rep);
	}
	ops_redis_close(r5);
	ops_redis_close(r0);
	snprintf(url, sizeof url, "%s?db=99", env("OPSCTL_TEST_REDIS_URL"));
	CHECK_INT(try_url(url, &err), OPS_ECONFIG);
	CHECK_CONTAINS(err.message, "has no database 99");
}

TEST(live_a_command_past_its_timeout_loses_the_connection)
{
	ops_redis_options o = {.url = env("OPSCTL_TEST_REDIS_URL"), .timeout_ms = 300};
	ops_redis *r = NULL;
	ops_error err;

	CHECK_INT(ops_redis_connect(&o, &r, &err), OPS_OK);
	if (!r)
		return;
	CHECK_INT(ops_redis_call(r, NULL, &err, "BLPOP", "opsctl:unit:never", "5", NULL),
		  OPS_EUNAVAIL);
	CHECK_CONTAINS(err.message, "did not answer within 0.3 s");
	/* Its reply may still come: this connection cannot tell whose it is. */
	CHECK_INT(ops_redis_call(r, NULL, &err, "PING", NULL), OPS_EUNAVAIL);
	CHECK_CONTAINS(err.message, "was lost");
	ops_redis_close(r);
}

TEST(live_cancelling_ends_a_blocked_command)
{
	ops_redis *r = live(env("OPSCTL_TEST_REDIS_URL"), NULL, NULL);
	pthread_t th;
	double t0 = ops_clock();
	ops_error err;

	if (!r)
		return;
	pthread_create(&th, NULL, cancel_later, NULL);
	CHECK_INT(ops_redis_call(r, NULL, &err, "BLPOP", "opsctl:unit:never", "20", NULL),
		  OPS_EINTR);
	pthread_join(th, NULL);
	CHECK(ops_clock() - t0 < 0.9);
	ops_redis_close(r);
	ops_cancel_reset();
}

TEST(live_a_unix_socket)
{
	char url[512];
	ops_redis *r;
	ops_redis_reply *rep = NULL;
	ops_error err;

	snprintf(url, sizeof url, "%s?db=4", env("OPSCTL_TEST_REDIS_UNIX_URL"));
	r = live(url, NULL, NULL);
	CHECK(r != NULL);
	if (!r)
		return;
	CHECK_STR(ops_redis_where(r), env("OPSCTL_TEST_REDIS_UNIX_URL") + strlen("unix://"));
	CHECK_INT(ops_redis_call(r, &rep, &err, "CLIENT", "INFO", NULL), OPS_OK);
	CHECK(rep && rep->str && strstr(rep->str, " db=4 "));
	ops_redis_reply_free(rep);
	ops_redis_close(r);
}

TEST(live_requirepass_and_a_wrong_password)
{
	const char *url = env("OPSCTL_TEST_REDIS_AUTH_URL");
	const char *pw = env("OPSCTL_TEST_REDIS_PASSWORD");
	ops_redis_options o = {.url = url, .password = "not-the-password",
			       .password_source = "REDISCLI_AUTH"};
	ops_redis *r = NULL;
	ops_error err;

	CHECK_INT(try_url(url, &err), OPS_EPERM);
	CHECK_CONTAINS(err.message, "requires a password");
	CHECK_INT(ops_code_exit_status(err.code), 77);
	CHECK_INT(ops_redis_connect(&o, &r, &err), OPS_EPERM);
	CHECK_CONTAINS(err.message, "refused user 'default' with the password from REDISCLI_AUTH");
	CHECK(!strstr(err.message, "not-the-password"));
	r = live(url, NULL, pw);
	CHECK(r != NULL);
	if (r)
		CHECK_INT(ops_redis_call(r, NULL, &err, "PING", NULL), OPS_OK);
	ops_redis_close(r);
}

TEST(live_an_acl_user)
{
	const char *url = env("OPSCTL_TEST_REDIS_AUTH_URL");
	const char *user = env("OPSCTL_TEST_REDIS_ACL_USER");
	const char *pw = env("OPSCTL_TEST_REDIS_ACL_PASSWORD");
	ops_redis_options o = {.url = url, .user = user, .password = "wrong-one"};
	ops_redis *r = NULL;
	ops_redis_reply *rep = NULL;
	char msg[64], *dir = NULL;
	ops_error err;

	CHECK_INT(ops_redis_connect(&o, &r, &err), OPS_EPERM);
	snprintf(msg, sizeof msg, "refused user '%s'", user);
	CHECK_CONTAINS(err.message, msg);
	CHECK(!strstr(err.message, "wrong-one"));
	r = live(url, user, pw);
	CHECK(r != NULL);
	if (!r)
		return;
	CHECK_STR(ops_redis_user(r), user);
	CHECK_INT(ops_redis_call(r, &rep, &err, "ACL", "WHOAMI", NULL), OPS_OK);
	CHECK(rep && rep->str && strcmp(rep->str, user) == 0);
	ops_redis_reply_free(rep);
	/* What the user may not do is a permission error naming the user. */
	CHECK_INT(ops_redis_config_get(r, "dir", &dir, &err), OPS_EPERM);
	CHECK_CONTAINS(err.message, "refused CONFIG GET to user");
	CHECK_CONTAINS(err.message, user);
	CHECK_INT(ops_code_exit_status(err.code), 77);
	ops_redis_close(r);
}

/* rotate-keys's login test: the configured server as another user, whatever
 * REDISCLI_AUTH says (it holds the administrator's password). */
TEST(live_a_login_test_as_a_user_of_the_configured_server)
{
	const char *url = env("OPSCTL_TEST_REDIS_AUTH_URL");
	const char *user = env("OPSCTL_TEST_REDIS_ACL_USER");
	const char *pw = env("OPSCTL_TEST_REDIS_ACL_PASSWORD");
	ops_config *cfg = config_with_url(url, "opsctl.conf:3");
	ops_redis *r = NULL;
	ops_redis_reply *rep = NULL;
	ops_error err;

	setenv("REDISCLI_AUTH", env("OPSCTL_TEST_REDIS_PASSWORD"), 1);
	CHECK_INT(ops_redis_connect_config_as(cfg, "backup.redis_url", user, pw, &r, &err),
		  OPS_OK);
	if (r) {
		CHECK_INT(ops_redis_call(r, &rep, &err, "ACL", "WHOAMI", NULL), OPS_OK);
		CHECK(rep && rep->str && strcmp(rep->str, user) == 0);
		ops_redis_reply_free(rep);
		ops_redis_close(r);
		r = NULL;
	}
	CHECK_INT(ops_redis_connect_config_as(cfg, "backup.redis_url", user, "not-the-new-one",
					      &r, &err), OPS_EPERM);
	CHECK_CONTAINS(err.message, user);
	CHECK(!strstr(err.message, "not-the-new-one"));
	CHECK(r == NULL);
	unsetenv("REDISCLI_AUTH");
	ops_config_free(cfg);
}

TEST(live_the_password_in_a_url_is_percent_decoded)
{
	/* t191 gives the ACL user a password with '@', '/' and ':' in it. */
	const char *base = env("OPSCTL_TEST_REDIS_AUTH_URL");
	const char *pw = env("OPSCTL_TEST_REDIS_ACL_PASSWORD");
	char url[512], enc[256];
	size_t i, n = 0;
	ops_redis *r;

	for (i = 0; pw[i] && n + 4 < sizeof enc; i++) {
		if (strchr("@/:%?#", pw[i]))
			n += (size_t)snprintf(enc + n, sizeof enc - n, "%%%02X",
					      (unsigned char)pw[i]);
		else
			enc[n++] = pw[i];
	}
	enc[n] = '\0';
	snprintf(url, sizeof url, "redis://%s:%s@%s", env("OPSCTL_TEST_REDIS_ACL_USER"), enc,
		 base + strlen("redis://"));
	r = live(url, NULL, NULL);
	CHECK(r != NULL);
	ops_redis_close(r);
}

TEST(live_tls_with_the_right_ca_and_an_acl_user)
{
	ops_redis *r = live(env("OPSCTL_TEST_REDIS_TLS_URL"), env("OPSCTL_TEST_REDIS_ACL_USER"),
			    env("OPSCTL_TEST_REDIS_ACL_PASSWORD"));
	ops_redis_reply *rep = NULL;
	ops_error err;

	CHECK(r != NULL);
	if (!r)
		return;
	CHECK(ops_redis_tls_version(r) && strncmp(ops_redis_tls_version(r), "TLSv1.", 6) == 0);
	CHECK_INT(ops_redis_call(r, NULL, &err, "SET", "opsctl:unit:tls", "yes", NULL), OPS_OK);
	CHECK_INT(ops_redis_call(r, &rep, &err, "GET", "opsctl:unit:tls", NULL), OPS_OK);
	CHECK(rep && rep->str && strcmp(rep->str, "yes") == 0);
	ops_redis_reply_free(rep);
	ops_redis_close(r);
}

TEST(live_tls_refuses_an_unknown_ca_and_a_wrong_name)
{
	ops_redis_options o = {.url = env("OPSCTL_TEST_REDIS_TLS_URL"),
			       .user = env("OPSCTL_TEST_REDIS_ACL_USER"),
			       .password = env("OPSCTL_TEST_REDIS_ACL_PASSWORD"),
			       .tls_ca_file = env("OPSCTL_TEST_REDIS_TLS_OTHER_CA")};
	ops_redis *r = NULL;
	ops_error err;

	CHECK_INT(ops_redis_connect(&o, &r, &err), OPS_ECONFIG);
	CHECK_CONTAINS(err.message, "cannot verify the TLS certificate of Redis at");
	/* The server sends its CA along or not: either way it is not ours. */
	CHECK(strstr(err.message, "local issuer certificate") ||
	      strstr(err.message, "self-signed certificate in certificate chain"));
	/* Without a CA: the system's store, which does not know the test CA. */
	o.tls_ca_file = NULL;
	CHECK_INT(ops_redis_connect(&o, &r, &err), OPS_ECONFIG);
	CHECK_CONTAINS(err.message, "cannot verify");
	o.tls_ca_file = env("OPSCTL_TEST_REDIS_TLS_CA");
	o.url = env("OPSCTL_TEST_REDIS_TLS_WRONG_URL");
	CHECK_INT(ops_redis_connect(&o, &r, &err), OPS_ECONFIG);
	CHECK_CONTAINS(err.message, "cannot verify the TLS certificate");
	CHECK_CONTAINS(err.message, "IP address mismatch");
	/* TLS to a port without it, and plain text to a TLS port. */
	o.url = NULL;
	{
		char url[256];

		snprintf(url, sizeof url, "rediss://%s", env("OPSCTL_TEST_REDIS_URL") + 8);
		o.url = url;
		/* Redis may read the ClientHello as half an inline command and
		 * wait for its end: unavailable either way. */
		o.connect_timeout_ms = 2000;
		CHECK_INT(ops_redis_connect(&o, &r, &err), OPS_EUNAVAIL);
		snprintf(url, sizeof url, "redis://%s", env("OPSCTL_TEST_REDIS_TLS_URL") + 9);
		o.timeout_ms = 2000;
		o.connect_timeout_ms = 2000;
		CHECK_INT(ops_redis_connect(&o, &r, &err), OPS_EUNAVAIL);
	}
	CHECK(r == NULL);
}

TEST(live_tls_with_a_client_certificate)
{
	ops_redis_options o = {.url = env("OPSCTL_TEST_REDIS_MTLS_URL"),
			       .tls_ca_file = env("OPSCTL_TEST_REDIS_TLS_CA")};
	ops_redis *r = NULL;
	ops_error err;

	CHECK_INT(ops_redis_connect(&o, &r, &err), OPS_EPERM);
	CHECK_CONTAINS(err.message, "refused the TLS client certificate");
	o.tls_cert_file = env("OPSCTL_TEST_REDIS_TLS_CERT");
	o.tls_key_file = env("OPSCTL_TEST_REDIS_TLS_KEY");
	CHECK_INT(ops_redis_connect(&o, &r, &err), OPS_OK);
	if (r)
		CHECK_INT(ops_redis_call(r, NULL, &err, "PING", NULL), OPS_OK);
	ops_redis_close(r);
	/* The key of another certificate is refused before connecting. */
	o.tls_key_file = env("OPSCTL_TEST_REDIS_TLS_OTHER_KEY");
	if (o.tls_key_file) {
		CHECK_INT(ops_redis_connect(&o, &r, &err), OPS_ECONFIG);
		CHECK_CONTAINS(err.message, "does not belong to");
	}
}

int main(void)
{
	static const char *const need[] = {
		"OPSCTL_TEST_REDIS_URL", "OPSCTL_TEST_REDIS_UNIX_URL",
		"OPSCTL_TEST_REDIS_AUTH_URL", "OPSCTL_TEST_REDIS_PASSWORD",
		"OPSCTL_TEST_REDIS_ACL_USER", "OPSCTL_TEST_REDIS_ACL_PASSWORD",
		"OPSCTL_TEST_REDIS_TLS_URL", "OPSCTL_TEST_REDIS_TLS_WRONG_URL",
		"OPSCTL_TEST_REDIS_TLS_CA", "OPSCTL_TEST_REDIS_TLS_OTHER_CA",
		"OPSCTL_TEST_REDIS_MTLS_URL", "OPSCTL_TEST_REDIS_TLS_CERT",
		"OPSCTL_TEST_REDIS_TLS_KEY", NULL};
	const char *missing = NULL;
	size_t i;

	unsetenv("REDISCLI_AUTH");
	unsetenv("OPSCTL_BACKUP_REDIS_URL");
	RUN(bad_urls_are_configuration_errors_that_never_echo_a_password);
	RUN(a_refused_server_is_unavailable_naming_host_and_port);
	RUN(a_user_without_a_password_is_refused_before_connecting);
	RUN(a_silent_server_times_out_as_unavailable);
	RUN(cancelling_wakes_a_blocked_read_at_once);
	RUN(replies_are_parsed_into_owned_binary_safe_trees);
	RUN(a_malformed_reply_loses_the_connection);
	RUN(finish_on_cancel_reads_the_reply_in_flight);
	RUN(a_password_in_the_url_is_taken_from_the_environment_only);
	RUN(a_login_test_needs_a_user_and_a_password);
	RUN(connect_config_within_cuts_the_configured_timeouts);
	RUN(usage_from_info);
	RUN(the_tls_settings_are_checked_before_a_byte_is_sent);
	for (i = 0; need[i] && !missing; i++)
		if (!env(need[i]))
			missing = need[i];
	if (missing) {
		printf("# live Redis tests skipped: %s is not set (t191 starts the servers)\n",
		       missing);
		return unit_done();
	}
	RUN(live_commands_are_binary_safe_and_errors_are_replies);
	RUN(live_info_and_config_get);
	RUN(live_the_url_selects_the_database);
	RUN(live_a_command_past_its_timeout_loses_the_connection);
	RUN(live_cancelling_ends_a_blocked_command);
	RUN(live_a_unix_socket);
	RUN(live_requirepass_and_a_wrong_password);
	RUN(live_an_acl_user);
	RUN(live_a_login_test_as_a_user_of_the_configured_server);
	RUN(live_the_password_in_a_url_is_percent_decoded);
	RUN(live_tls_with_the_right_ca_and_an_acl_user);
	RUN(live_tls_refuses_an_unknown_ca_and_a_wrong_name);
	RUN(live_tls_with_a_client_certificate);
	return unit_done();
}
