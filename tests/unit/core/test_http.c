/*
 * core/http.  What needs no server always runs (escaping, option checks, a
 * closed port, cancellation before and during a retry wait).  The rest runs
 * against tests/lib/http_peer.py when tests/integration/t310-http.sh exports
 * its URLs (OPSCTL_TEST_HTTP_URL, OPSCTL_TEST_HTTPS_*, the test CA): they are
 * t310's cases, so the plain unit run does not count them at all (a comment
 * line says where they run).
 */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>
#include <time.h>

#include "unit.h"
#include "opsmaint/cancel.h"
#include "opsmaint/clock.h"
#include "opsmaint/http.h"
#include "opsmaint/log.h"

static const char *plain, *tls_good, *tls_expired, *tls_otherhost, *tls_mtls;
static const char *ca_file, *ca_dir, *client_cert, *client_key, *cert_expiry_env;

/* ---- helpers ---- */

/* Every log line, for the checks on retries and redaction. */
static char logbuf[1 << 16];
static size_t loglen;

static void capture(void *arg, ops_loglevel level, const char *line)
{
	int n = snprintf(logbuf + loglen, sizeof logbuf - loglen, "%s\n", line);

	if (n > 0 && (size_t)n < sizeof logbuf - loglen)
		loglen += (size_t)n;
}

static void log_start(ops_loglevel level)
{
	loglen = 0;
	logbuf[0] = '\0';
	ops_log_set_level(level);
	ops_log_set_sink(capture, NULL);
}

static void log_stop(void)
{
	ops_log_set_sink(NULL, NULL);
	ops_log_set_level(OPS_LOG_INFO);
}

/* Defaults made quick: short waits, so that a test of retries takes a second, not ten. */
static ops_http *client(double timeout, int retries)
{
	ops_http_opts o;
	ops_http *h = NULL;
	ops_error err;

	ops_http_opts_init(&o);
	o.name = "test";
	o.timeout = timeout;
	o.retries = retries;
	o.backoff = 0.05;
	if (ops_http_new(&o, &h, &err) != OPS_OK)
		fprintf(stderr, "ops_http_new: %s\n", err.message);
	return h;
}

static char *url(const char *base, const char *path)
{
	static char buf[4][512];
	static int next;
	char *u = buf[next++ % 4];

	snprintf(u, sizeof buf[0], "%s%s", base, path);
	return u;
}

static ops_code get(ops_http *h, const char *u, ops_http_resp *r, ops_error *err)
{
	ops_http_req q = { 0 };

	q.url = u;
	return ops_http_request(h, &q, r, err);
}

/* A unique key per run for /flaky/KEY, so runs and cases never share a counter. */
static const char *key(const char *name)
{
	static char buf[8][96];
	static int next;
	char *k = buf[next++ % 8];

	snprintf(k, sizeof buf[0], "%s-%ld-%d", name, (long)getpid(), next);
	return k;
}

/* How many requests /flaky/KEY received. */
static long count_of(const char *k)
{
	ops_http *h = client(5, 0);
	ops_http_resp r;
	ops_error err;
	char path[160];
	long n = -1;

	snprintf(path, sizeof path, "/count/%s", k);
	if (h && get(h, url(plain, path), &r, &err) == OPS_OK && r.status == 200 && r.body)
		n = strtol(r.body, NULL, 10);
	ops_http_resp_release(&r);
	ops_http_free(h);
	return n;
}

/* The peer's URL of /flaky/KEY?QUERY. */
static char *flaky(const char *k, const char *query)
{
	char path[300];

	snprintf(path, sizeof path, "/flaky/%s?%s", k, query);
	return url(plain, path);
}

struct canceller {
	pthread_t t;
	long ms;
};

static void *cancel_later(void *arg)
{
	struct canceller *c = arg;
	struct timespec ts = { c->ms / 1000, (c->ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
	ops_cancel_request(SIGTERM);
	return NULL;
}

static void cancel_after(struct canceller *c, long ms)
{
	c->ms = ms;
	pthread_create(&c->t, NULL, cancel_later, c);
}

static void cancel_done(struct canceller *c)
{
	pthread_join(c->t, NULL);
	ops_cancel_reset();
}

/* ---- no server needed ---- */

TEST(escape_keeps_unreserved_bytes_and_the_chosen_ones)
{
	char *a = ops_http_escape("a b/c~d.e-f_g", "/"), *b = ops_http_escape("a b/c&=?", "");
	char *c = ops_http_escape("\xc3\xa9", "");

	CHECK_STR(a, "a%20b/c~d.e-f_g");
	CHECK_STR(b, "a%20b%2Fc%26%3D%3F");
	CHECK_STR(c, "%C3%A9");
	free(a);
	free(b);
	free(c);
}

TEST(options_have_safe_defaults_and_bad_ones_are_refused)
{
	ops_http_opts o;
	ops_http *h = NULL;
	ops_error err;

	ops_http_opts_init(&o);
	CHECK(o.connect_timeout > 0 && o.timeout > 0 && o.stall_timeout > 0);
	CHECK_INT(o.max_body, 4u << 20);
	CHECK_INT(o.max_redirects, 0);
	CHECK_INT(o.retries, 2);
	o.timeout = -1;
	CHECK_INT(ops_http_new(&o, &h, &err), OPS_ECONFIG);
	CHECK(h == NULL);
	ops_http_opts_init(&o);
	o.key_file = "/nonexistent.key";
	CHECK_INT(ops_http_new(&o, &h, &err), OPS_ECONFIG);
	CHECK_CONTAINS(err.message, "without its certificate");
	CHECK_INT(ops_http_new(NULL, &h, &err), OPS_OK);
	ops_http_free(h);
	ops_http_free(NULL);
}

TEST(urls_other_than_http_are_refused_without_showing_them)
{
	ops_http *h = client(5, 0);
	ops_http_resp r;
	ops_error err;

	if (!h)
		return;
	CHECK_INT(get(h, "ftp://user:tok3nvalue@example.com/x?sig=zzzzz", &r, &err), OPS_ECONFIG);
	CHECK_CONTAINS(err.message, "not an http:// or https:// URL");
	CHECK(strstr(err.message, "tok3nvalue") == NULL && strstr(err.message, "zzzzz") == NULL);
	CHECK_INT(get(h, "no scheme at all", &r, &err), OPS_ECONFIG);
	CHECK_INT(get(h, "http://", &r, &err), OPS_ECONFIG);
	ops_http_resp_release(&r);
	ops_http_free(h);
}

TEST(a_header_with_a_line_break_is_refused)
{
	ops_http *h = client(5, 0);
	const char *headers[] = {"X-Ok: 1", "X-Evil: a\r\nHost: elsewhere", NULL};
	const char *nameless[] = {": value", NULL};
	ops_http_req q = { 0 };
	ops_http_resp r;
	ops_error err;

	if (!h)
		return;
	q.url = "http://127.0.0.1:1/";
	q.headers = headers;
	CHECK_INT(ops_http_request(h, &q, &r, &err), OPS_EUSAGE);
	CHECK_CONTAINS(err.message, "header 2 is not one 'Name: value' line");
	q.headers = nameless;
	CHECK_INT(ops_http_request(h, &q, &r, &err), OPS_EUSAGE);
	ops_http_resp_release(&r);
	ops_http_free(h);
}

/* Port 1 is closed: unreachable, and retried even for a POST, since nothing was sent. */
TEST(a_closed_port_is_unavailable_after_the_retries)
{
	ops_http *h = client(5, 2);
	ops_http_req q = { 0 };
	ops_http_resp r;
	ops_error err;

	if (!h)
		return;
	CHECK_INT(get(h, "http://127.0.0.1:1/x?token=abc123456", &r, &err), OPS_EUNAVAIL);
	CHECK_CONTAINS(err.message, "unable to access 'http://127.0.0.1:1'");
	CHECK(strstr(err.message, "abc123456") == NULL);
	CHECK_INT(r.retries, 2);
	CHECK_INT(r.status, 0);
	CHECK_INT(r.failure, OPS_HTTP_F_UNREACHABLE);
	CHECK(r.reason[0] != '\0');
	ops_http_resp_release(&r);
	q.url = "http://127.0.0.1:1/alert";
	q.method = "POST";
	q.body = "{}";
	q.body_len = 2;
	q.what = "sending the alert";
	CHECK_INT(ops_http_request(h, &q, &r, &err), OPS_EUNAVAIL);
	CHECK_CONTAINS(err.message, "sending the alert: unable to access");
	CHECK_INT(r.retries, 2);
	ops_http_resp_release(&r);
	ops_http_free(h);
}

TEST(a_cancelled_run_sends_nothing)
{
	ops_http *h = client(5, 2);
	ops_http_resp r;
	ops_error err;

	if (!h)
		return;
	ops_cancel_request(SIGTERM);
	CHECK_INT(get(h, "http://127.0.0.1:1/", &r, &err), OPS_EINTR);
	CHECK_CONTAINS(err.message, "interrupted by SIGTERM");
	CHECK_INT(r.retries, 0);
	ops_cancel_reset();
	ops_http_resp_release(&r);
	ops_http_free(h);
}

TEST(cancellation_cuts_a_retry_wait_short)
{
	ops_http_opts o;
	ops_http *h = NULL;
	ops_http_resp r;
	struct canceller c;
	ops_error err;
	double t0;

	ops_http_opts_init(&o);
	o.backoff = 20;
	o.backoff_max = 20;
	if (ops_http_new(&o, &h, &err) != OPS_OK)
		return;
	t0 = ops_clock();
	cancel_after(&c, 300);
	CHECK_INT(get(h, "http://127.0.0.1:1/", &r, &err), OPS_EINTR);
	cancel_done(&c);
	CHECK(ops_clock() - t0 < 2);
	ops_http_resp_release(&r);
	ops_http_free(h);
}

/* ---- against the peer ---- */

TEST(get_returns_status_body_and_headers)
{
	ops_http *h = client(5, 0);
	ops_http_req q = { 0 };
	ops_http_resp r;
	ops_error err;

	if (!h)
		return;
	CHECK_INT(get(h, url(plain, "/ok"), &r, &err), OPS_OK);
	CHECK_INT(r.status, 200);
	CHECK_STR(r.body, "ok\n");
	CHECK_INT(r.len, 3);
	CHECK_STR(ops_http_resp_header(&r, "content-length"), "3");
	CHECK(ops_http_resp_header(&r, "X-Nothing") == NULL);
	CHECK_INT(r.retries, 0);
	CHECK_INT(r.failure, OPS_HTTP_F_NONE);
	ops_http_resp_release(&r);
	q.url = url(plain, "/ok");
	q.method = "HEAD";
	CHECK_INT(ops_http_request(h, &q, &r, &err), OPS_OK);
	CHECK_INT(r.status, 200);
	CHECK(r.body == NULL || r.len == 0);
	CHECK_STR(ops_http_resp_header(&r, "Content-Length"), "3");
	ops_http_resp_release(&r);
	ops_http_free(h);
}

struct src {
	const char *data;
	size_t len, pos;
	int rewinds;
};

static ops_code src_read(void *arg, void *buf, size_t len, size_t *got, ops_error *err)
{
	struct src *s = arg;

	*got = s->len - s->pos < len ? s->len - s->pos : len;
	/* Small pieces, so that the body takes several calls. */
	if (*got > 7)
		*got = 7;
	memcpy(buf, s->data + s->pos, *got);
	s->pos += *got;
	return OPS_OK;
}

static ops_code src_rewind(void *arg, ops_error *err)
{
	struct src *s = arg;

	s->pos = 0;
	s->rewinds++;
	return OPS_OK;
}

TEST(bodies_and_headers_arrive_as_sent)
{
	static const char text[] = "the quick brown fox jumps over the lazy dog";
	const char *headers[] = {"X-Probe: one", "Content-Type: text/plain", NULL};
	ops_http *h = client(5, 0);
	ops_http_req q = { 0 };
	ops_http_resp r;
	struct src s = { text, sizeof text - 1, 0, 0 };
	ops_error err;

	if (!h)
		return;
	q.url = url(plain, "/echo");
	q.method = "PUT";
	q.headers = headers;
	q.body = text;
	q.body_len = sizeof text - 1;
	CHECK_INT(ops_http_request(h, &q, &r, &err), OPS_OK);
	CHECK_CONTAINS(r.body, "\"method\": \"PUT\"");
	CHECK_CONTAINS(r.body, "\"x-probe\": \"one\"");
	CHECK_CONTAINS(r.body, "\"body_len\": 43");
	/* No 100-continue round trip. */
	CHECK(strstr(r.body, "\"expect\"") == NULL);
	ops_http_resp_release(&r);

	/* From a source: known length (PUT) and unknown (POST, chunked). */
	q.body = NULL;
	q.body_len = 0;
	q.source = src_read;
	q.source_arg = &s;
	q.source_len = (long long)(sizeof text - 1);
	CHECK_INT(ops_http_request(h, &q, &r, &err), OPS_OK);
	CHECK_CONTAINS(r.body, "\"body_len\": 43");
	ops_http_resp_release(&r);
	s.pos = 0;
	q.method = "POST";
	q.source_len = -1;
	CHECK_INT(ops_http_request(h, &q, &r, &err), OPS_OK);
	CHECK_CONTAINS(r.body, "\"method\": \"POST\"");
	CHECK_CONTAINS(r.body, "\"transfer-encoding\": \"chunked\"");
	CHECK_CONTAINS(r.body, "\"body_len\": 43");
	ops_http_resp_release(&r);
	q.body = text;
	CHECK_INT(ops_http_request(h, &q, &r, &err), OPS_EUSAGE);
	ops_http_resp_release(&r);
	ops_http_free(h);
}

struct sink {
	size_t got;
	int calls;
};

static ops_code sink_take(void *arg, const void *data, size_t len, ops_error *err)
{
	struct sink *k = arg;

	k->got += len;
	k->calls++;
	return OPS_OK;
}

static ops_code sink_refuse(void *arg, const void *data, size_t len, ops_error *err)
{
	return ops_error_set(err, OPS_EIO, "writing 'out.bin': no space left on device");
}

TEST(a_sink_takes_2xx_bodies_only)
{
	ops_http *h = client(5, 0);
	ops_http_req q = { 0 };
	ops_http_resp r;
	struct sink k = { 0, 0 };
	ops_error err;

	if (!h)
		return;
	q.url = url(plain, "/ok");
	q.sink = sink_take;
	q.sink_arg = &k;
	CHECK_INT(ops_http_request(h, &q, &r, &err), OPS_OK);
	CHECK_INT(k.got, 3);
	CHECK(r.body == NULL);
	ops_http_resp_release(&r);
	k.got = 0;
	q.url = url(plain, "/status/404");
	CHECK_INT(ops_http_request(h, &q, &r, &err), OPS_OK);
	CHECK_INT(r.status, 404);
	CHECK_INT(k.got, 0);
	CHECK_STR(r.body, "status 404\n");
	ops_http_resp_release(&r);
	/* The sink's own failure is the request's. */
	q.url = url(plain, "/ok");
	q.sink = sink_refuse;
	CHECK_INT(ops_http_request(h, &q, &r, &err), OPS_EIO);
	CHECK_STR(err.message, "writing 'out.bin': no space left on device");
	ops_http_resp_release(&r);
	ops_http_free(h);
}

TEST(a_stalled_peer_times_out_within_the_bound)
{
	ops_http_opts o;
	ops_http *h = client(1, 0), *h2 = NULL;
	ops_http_resp r;
	ops_error err;
	double t0;

	if (!h)
		return;
	t0 = ops_clock();
	CHECK_INT(get(h, url(plain, "/stall"), &r, &err), OPS_EUNAVAIL);
	CHECK(ops_clock() - t0 >= 0.9 && ops_clock() - t0 < 3);
	CHECK_INT(r.failure, OPS_HTTP_F_TIMEOUT);
	CHECK_CONTAINS(err.message, "timed out");
	ops_http_resp_release(&r);
	ops_http_free(h);

	/* No total limit: the stall limit alone ends it. */
	ops_http_opts_init(&o);
	o.timeout = 0;
	o.stall_timeout = 1;
	o.retries = 0;
	if (ops_http_new(&o, &h2, &err) != OPS_OK)
		return;
	t0 = ops_clock();
	CHECK_INT(get(h2, url(plain, "/stall"), &r, &err), OPS_EUNAVAIL);
	CHECK(ops_clock() - t0 < 4);
	CHECK_INT(r.failure, OPS_HTTP_F_TIMEOUT);
	ops_http_resp_release(&r);
	ops_http_free(h2);
}

/* A stalled POST was sent: it is not sent again; a GET is. */
TEST(a_timeout_is_retried_only_when_idempotent)
{
	ops_http *h = client(0.5, 1);
	ops_http_req q = { 0 };
	ops_http_resp r;
	ops_error err;

	if (!h)
		return;
	q.url = url(plain, "/stall");
	q.method = "POST";
	q.body = "x";
	q.body_len = 1;
	CHECK_INT(ops_http_request(h, &q, &r, &err), OPS_EUNAVAIL);
	CHECK_INT(r.retries, 0);
	ops_http_resp_release(&r);
	CHECK_INT(get(h, url(plain, "/stall"), &r, &err), OPS_EUNAVAIL);
	CHECK_INT(r.retries, 1);
	ops_http_resp_release(&r);
	ops_http_free(h);
}

static long maxrss_kib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

TEST(a_flood_stops_at_the_cap)
{
	ops_http_opts o;
	ops_http *h = NULL;
	ops_http_req q = { 0 };
	ops_http_resp r;
	struct sink k = { 0, 0 };
	ops_error err;
	long before = maxrss_kib();

	ops_http_opts_init(&o);
	o.max_body = 1 << 20;
	o.timeout = 20;
	if (ops_http_new(&o, &h, &err) != OPS_OK)
		return;
	CHECK_INT(get(h, url(plain, "/flood"), &r, &err), OPS_EDATA);
	CHECK_CONTAINS(err.message, "larger than the 1048576-byte cap");
	CHECK_INT(r.failure, OPS_HTTP_F_TOO_LARGE);
	CHECK(r.len <= (size_t)1 << 20);
	CHECK_INT(r.retries, 0);
	ops_http_resp_release(&r);
	/* Through a sink the same: the cap counts bytes received, wherever they go. */
	q.url = url(plain, "/flood");
	q.sink = sink_take;
	q.sink_arg = &k;
	CHECK_INT(ops_http_request(h, &q, &r, &err), OPS_EDATA);
	CHECK(k.got <= (size_t)1 << 20 && k.got > 0);
	ops_http_resp_release(&r);
	/* An endless header block too. */
	CHECK_INT(get(h, url(plain, "/flood-headers"), &r, &err), OPS_EDATA);
	CHECK_CONTAINS(err.message, "headers");
	ops_http_resp_release(&r);
	/* Bounded memory: a few MiB at most, where the flood is gigabytes in a second or two. */
	CHECK(maxrss_kib() - before < 32 * 1024);
	ops_http_free(h);
}

TEST(a_503_with_retry_after_is_retried_after_waiting)
{
	ops_http *h = client(5, 3);
	const char *k = key("ra");
	ops_http_resp r;
	ops_error err;

	if (!h)
		return;
	log_start(OPS_LOG_DEBUG);
	CHECK_INT(get(h, flaky(k, "fail=1&status=503&retry_after=1"), &r, &err), OPS_OK);
	log_stop();
	CHECK_INT(r.status, 200);
	CHECK_STR(r.body, "ok after 2\n");
	CHECK_INT(r.retries, 1);
	CHECK(r.seconds >= 1.0 && r.seconds < 3);
	CHECK_INT(count_of(k), 2);
	CHECK_CONTAINS(logbuf, "HTTP 503; retry 1 of 3 in 1000 ms (Retry-After)");
	CHECK_CONTAINS(logbuf, "succeeded after 1 retry (first failure: HTTP 503)");
	ops_http_resp_release(&r);
	ops_http_free(h);
}

TEST(retry_after_as_an_http_date_and_its_maximum)
{
	ops_http_opts o;
	ops_http *h = NULL;
	const char *k = key("date"), *k2 = key("max");
	ops_http_resp r;
	ops_error err;

	ops_http_opts_init(&o);
	o.retries = 1;
	o.backoff = 0.05;
	if (ops_http_new(&o, &h, &err) != OPS_OK)
		return;
	/* "date:3" is an HTTP-date 3 s ahead; whole seconds, so at least 2 s. */
	CHECK_INT(get(h, flaky(k, "fail=1&status=503&retry_after=date:3"), &r, &err), OPS_OK);
	CHECK_INT(r.status, 200);
	CHECK(r.seconds >= 1.5 && r.seconds < 5);
	ops_http_resp_release(&r);
	ops_http_free(h);
	/* Retry-After: 100 with a maximum of 0.5 s: waits 0.5 s, not 100. */
	o.retry_after_max = 0.5;
	if (ops_http_new(&o, &h, &err) != OPS_OK)
		return;
	CHECK_INT(get(h, flaky(k2, "fail=1&status=503&retry_after=100"), &r, &err), OPS_OK);
	CHECK_INT(r.status, 200);
	CHECK(r.seconds >= 0.45 && r.seconds < 2);
	ops_http_resp_release(&r);
	ops_http_free(h);
}

TEST(a_429_without_retry_after_backs_off_exponentially)
{
	ops_http_opts o;
	ops_http *h = NULL;
	const char *k = key("429");
	ops_http_resp r;
	ops_error err;

	ops_http_opts_init(&o);
	o.retries = 3;
	o.backoff = 0.3;
	if (ops_http_new(&o, &h, &err) != OPS_OK)
		return;
	CHECK_INT(get(h, flaky(k, "fail=2&status=429"), &r, &err), OPS_OK);
	CHECK_INT(r.status, 200);
	CHECK_INT(r.retries, 2);
	/* 0.3 s, then 0.6 s, each plus up to half again. */
	CHECK(r.seconds >= 0.9 && r.seconds < 2.5);
	CHECK_INT(count_of(k), 3);
	ops_http_resp_release(&r);
	ops_http_free(h);
}

TEST(a_404_and_a_400_are_returned_at_once)
{
	ops_http *h = client(5, 3);
	const char *k = key("404"), *k2 = key("400");
	ops_http_resp r;
	ops_error err;

	if (!h)
		return;
	CHECK_INT(get(h, flaky(k, "fail=5&status=404"), &r, &err), OPS_OK);
	CHECK_INT(r.status, 404);
	CHECK_INT(r.retries, 0);
	CHECK_INT(count_of(k), 1);
	ops_http_resp_release(&r);
	CHECK_INT(get(h, flaky(k2, "fail=5&status=400"), &r, &err), OPS_OK);
	CHECK_INT(r.status, 400);
	CHECK_INT(count_of(k2), 1);
	ops_http_resp_release(&r);
	ops_http_free(h);
}

TEST(a_post_after_a_503_is_not_sent_again_unless_idempotent)
{
	ops_http *h = client(5, 3);
	const char *k = key("post"), *k2 = key("idem");
	ops_http_req q = { 0 };
	ops_http_resp r;
	ops_error err;

	if (!h)
		return;
	q.url = flaky(k, "fail=1&status=503");
	q.body = "{\"text\": \"disk full\"}";
	q.body_len = strlen(q.body);
	CHECK_INT(ops_http_request(h, &q, &r, &err), OPS_OK);
	CHECK_INT(r.status, 503);
	CHECK_INT(r.retries, 0);
	CHECK_INT(count_of(k), 1);
	ops_http_resp_release(&r);
	/* PagerDuty's dedup_key makes a POST safe to repeat: the caller says so. */
	q.url = flaky(k2, "fail=1&status=503");
	q.idempotent = OPS_HTTP_IDEMPOTENT;
	CHECK_INT(ops_http_request(h, &q, &r, &err), OPS_OK);
	CHECK_INT(r.status, 200);
	CHECK_INT(count_of(k2), 2);
	ops_http_resp_release(&r);
	ops_http_free(h);
}

TEST(a_body_from_a_source_is_resent_only_when_it_can_rewind)
{
	static const char text[] = "0123456789abcdefghij";
	ops_http *h = client(5, 2);
	const char *k = key("src"), *k2 = key("rew");
	ops_http_req q = { 0 };
	ops_http_resp r;
	struct src s = { text, sizeof text - 1, 0, 0 };
	ops_error err;

	if (!h)
		return;
	q.url = flaky(k, "fail=1&status=503");
	q.method = "PUT";
	q.source = src_read;
	q.source_arg = &s;
	q.source_len = (long long)s.len;
	CHECK_INT(ops_http_request(h, &q, &r, &err), OPS_OK);
	CHECK_INT(r.status, 503);
	CHECK_INT(count_of(k), 1);
	ops_http_resp_release(&r);
	s.pos = 0;
	q.url = flaky(k2, "fail=1&status=503");
	q.rewind = src_rewind;
	CHECK_INT(ops_http_request(h, &q, &r, &err), OPS_OK);
	CHECK_INT(r.status, 200);
	CHECK_INT(count_of(k2), 2);
	CHECK(s.rewinds >= 1);
	ops_http_resp_release(&r);
	ops_http_free(h);
}

TEST(retries_run_out_and_the_last_status_is_returned)
{
	ops_http *h = client(5, 2);
	const char *k = key("500");
	ops_http_resp r;
	ops_error err;

	if (!h)
		return;
	log_start(OPS_LOG_INFO);
	CHECK_INT(get(h, flaky(k, "fail=10&status=500"), &r, &err), OPS_OK);
	log_stop();
	CHECK_INT(r.status, 500);
	CHECK_INT(r.retries, 2);
	CHECK_INT(count_of(k), 3);
	CHECK_CONTAINS(logbuf, "answered HTTP 500 after 2 retries (first failure: HTTP 500)");
	/* One info line for the request, not one per attempt. */
	CHECK(strstr(logbuf, "after 2") && !strstr(strstr(logbuf, "after 2") + 1, "after 2"));
	ops_http_resp_release(&r);
	ops_http_free(h);
}

static ops_http *tls_client(const char *ca, const char *dir, const char *cert, const char *key_,
			    int expiry)
{
	ops_http_opts o;
	ops_http *h = NULL;
	ops_error err;

	ops_http_opts_init(&o);
	o.timeout = 5;
	o.retries = 1;
	o.backoff = 0.05;
	o.ca_file = ca;
	o.ca_path = dir;
	o.cert_file = cert;
	o.key_file = key_;
	o.cert_expiry = expiry;
	if (ops_http_new(&o, &h, &err) != OPS_OK)
		fprintf(stderr, "ops_http_new: %s\n", err.message);
	return h;
}

TEST(a_certificate_from_an_unknown_ca_is_refused)
{
	ops_http *h = tls_client(NULL, NULL, NULL, NULL, 0);
	ops_http_resp r;
	ops_error err;

	if (!h)
		return;
	CHECK_INT(get(h, url(tls_good, "/ok"), &r, &err), OPS_EUNAVAIL);
	CHECK_CONTAINS(err.message, "cannot verify the TLS certificate of 'https://127.0.0.1:");
	CHECK_CONTAINS(err.message, "unknown CA");
	CHECK_INT(r.failure, OPS_HTTP_F_TLS);
	/* Not a transient failure: one attempt. */
	CHECK_INT(r.retries, 0);
	ops_http_resp_release(&r);
	ops_http_free(h);
}

TEST(the_right_ca_file_or_directory_is_trusted)
{
	ops_http *h = tls_client(ca_file, NULL, NULL, NULL, 1), *h2;
	ops_http_resp r;
	ops_error err;
	long long want = cert_expiry_env ? strtoll(cert_expiry_env, NULL, 10) : -1;

	if (!h)
		return;
	CHECK_INT(get(h, url(tls_good, "/ok"), &r, &err), OPS_OK);
	CHECK_INT(r.status, 200);
	CHECK_INT((long long)r.cert_expiry, want);
	ops_http_resp_release(&r);
	ops_http_free(h);
	h2 = tls_client(NULL, ca_dir, NULL, NULL, 0);
	if (!h2)
		return;
	CHECK_INT(get(h2, url(tls_good, "/ok"), &r, &err), OPS_OK);
	CHECK_INT(r.status, 200);
	CHECK_INT((long long)r.cert_expiry, 0);
	ops_http_resp_release(&r);
	ops_http_free(h2);
}

TEST(a_certificate_for_another_host_is_refused)
{
	ops_http *h = tls_client(ca_file, NULL, NULL, NULL, 0);
	ops_http_resp r;
	ops_error err;

	if (!h)
		return;
	CHECK_INT(get(h, url(tls_otherhost, "/ok"), &r, &err), OPS_EUNAVAIL);
	CHECK_CONTAINS(err.message, "cannot verify the TLS certificate");
	CHECK_CONTAINS(err.message, "for another host name");
	CHECK_INT(r.failure, OPS_HTTP_F_TLS);
	ops_http_resp_release(&r);
	ops_http_free(h);
}

TEST(an_expired_certificate_is_refused)
{
	ops_http *h = tls_client(ca_file, NULL, NULL, NULL, 0);
	ops_http_resp r;
	ops_error err;

	if (!h)
		return;
	CHECK_INT(get(h, url(tls_expired, "/ok"), &r, &err), OPS_EUNAVAIL);
	CHECK_CONTAINS(err.message, "cannot verify the TLS certificate");
	CHECK_CONTAINS(err.message, "has expired");
	CHECK_CONTAINS(err.detail, "expired");
	ops_http_resp_release(&r);
	ops_http_free(h);
}

TEST(a_client_certificate_is_sent_when_given)
{
	ops_http *h = tls_client(ca_file, NULL, NULL, NULL, 0);
	ops_http *h2 = tls_client(ca_file, NULL, client_cert, client_key, 0);
	ops_http *h3 = tls_client(ca_file, NULL, "/nonexistent/client.pem", NULL, 0);
	ops_http *h4 = tls_client("/nonexistent/ca.pem", NULL, NULL, NULL, 0);
	ops_http_resp r;
	ops_error err;

	if (h) {
		CHECK(get(h, url(tls_mtls, "/ok"), &r, &err) != OPS_OK || r.status != 200);
		ops_http_resp_release(&r);
	}
	if (h2) {
		CHECK_INT(get(h2, url(tls_mtls, "/ok"), &r, &err), OPS_OK);
		CHECK_INT(r.status, 200);
		ops_http_resp_release(&r);
	}
	if (h3) {
		CHECK_INT(get(h3, url(tls_mtls, "/ok"), &r, &err), OPS_ECONFIG);
		CHECK_CONTAINS(err.message, "cannot use the client certificate '/nonexistent/client.pem'");
		ops_http_resp_release(&r);
	}
	if (h4) {
		CHECK_INT(get(h4, url(tls_good, "/ok"), &r, &err), OPS_ECONFIG);
		CHECK_CONTAINS(err.message, "cannot use the CA certificates '/nonexistent/ca.pem'");
		ops_http_resp_release(&r);
	}
	ops_http_free(h);
	ops_http_free(h2);
	ops_http_free(h3);
	ops_http_free(h4);
}

TEST(redirects_are_off_by_default_and_limited_when_on)
{
	ops_http_opts o;
	ops_http *h = client(5, 0), *h2 = NULL, *h3 = NULL;
	char path[300];
	ops_http_resp r;
	ops_error err;

	if (!h)
		return;
	CHECK_INT(get(h, url(plain, "/redirect/1"), &r, &err), OPS_OK);
	CHECK_INT(r.status, 302);
	CHECK_STR(ops_http_resp_header(&r, "Location"), "/redirect/0");
	ops_http_resp_release(&r);
	ops_http_free(h);
	ops_http_opts_init(&o);
	o.max_redirects = 3;
	o.ca_file = ca_file;
	if (ops_http_new(&o, &h2, &err) != OPS_OK)
		return;
	CHECK_INT(get(h2, url(plain, "/redirect/3"), &r, &err), OPS_OK);
	CHECK_INT(r.status, 200);
	CHECK_STR(r.body, "redirected\n");
	ops_http_resp_release(&r);
	CHECK_INT(get(h2, url(plain, "/redirect/4"), &r, &err), OPS_EFAIL);
	CHECK_CONTAINS(err.message, "more than 3 redirects from 'http://127.0.0.1:");
	CHECK_INT(r.failure, OPS_HTTP_F_REDIRECT);
	ops_http_resp_release(&r);
	/* https never follows a redirect down to plain http. */
	snprintf(path, sizeof path, "/redirect-to?url=%s/ok", plain);
	CHECK_INT(get(h2, url(tls_good, path), &r, &err), OPS_EFAIL);
	CHECK_CONTAINS(err.message, "redirected to a scheme not allowed");
	ops_http_resp_release(&r);
	ops_http_free(h2);
	/* The redirect bodies count towards the cap like the final one. */
	o.max_body = 5;
	if (ops_http_new(&o, &h3, &err) != OPS_OK)
		return;
	CHECK_INT(get(h3, url(plain, "/redirect/2"), &r, &err), OPS_EDATA);
	ops_http_resp_release(&r);
	ops_http_free(h3);
}

/* True when no secret of the redaction test appears in text. */
static int clean(const char *text)
{
	static const char *const secrets[] = {
		"s3cr3t-BEARER", "tok-SESSION", "sig-QUERY", "tok-QUERY", "pw-BASIC", "secretpath-HOOK"};
	size_t i;

	for (i = 0; i < sizeof secrets / sizeof secrets[0]; i++)
		if (strstr(text, secrets[i])) {
			fprintf(stderr, "'%s' shown in: %.300s\n", secrets[i], text);
			return 0;
		}
	return 1;
}

TEST(credentials_reach_no_log_line_or_message)
{
	const char *headers[] = {"Authorization: Bearer s3cr3t-BEARER",
				 "X-Amz-Security-Token: tok-SESSION", NULL};
	ops_http_opts o;
	ops_http *h = NULL;
	ops_http_req q = { 0 };
	ops_http_resp r;
	char path[300];
	ops_error err;

	ops_http_opts_init(&o);
	o.name = "redaction";
	o.user = "ops";
	o.password = "pw-BASIC";
	o.trace = 1;
	o.timeout = 1;
	o.retries = 1;
	o.backoff = 0.05;
	if (ops_http_new(&o, &h, &err) != OPS_OK)
		return;
	log_start(OPS_LOG_DEBUG);
	/* Answered 503, retried, 503 again: retry lines, a summary and the whole trace. */
	snprintf(path, sizeof path, "/flaky/%s?X-Amz-Signature=sig-QUERY&access_token=tok-QUERY"
		 "&fail=5&status=503&keep=visible", key("redact"));
	q.url = url(plain, path);
	q.headers = headers;
	CHECK_INT(ops_http_request(h, &q, &r, &err), OPS_OK);
	CHECK_INT(r.status, 503);
	ops_http_resp_release(&r);
	/* A failure without an answer: the error text too. */
	q.url = url(plain, "/stall?token=tok-QUERY");
	CHECK_INT(ops_http_request(h, &q, &r, &err), OPS_EUNAVAIL);
	CHECK(clean(err.message) && clean(err.detail) && clean(err.hint) && clean(r.reason));
	ops_http_resp_release(&r);
	/* A webhook whose path is the secret. */
	q.url = url(plain, "/hooks/T000/B000/secretpath-HOOK");
	q.headers = NULL;
	q.secret_url = 1;
	q.body = "{}";
	q.body_len = 2;
	CHECK_INT(ops_http_request(h, &q, &r, &err), OPS_OK);
	CHECK_INT(r.status, 200);
	ops_http_resp_release(&r);
	log_stop();
	CHECK(clean(logbuf));
	/* The trace ran (so the check above could fail) and kept what is harmless. */
	CHECK_CONTAINS(logbuf, "redaction > Authorization: [redacted]");
	CHECK_CONTAINS(logbuf, "redaction > X-Amz-Security-Token: [redacted]");
	CHECK_CONTAINS(logbuf, "X-Amz-Signature=[redacted]");
	CHECK_CONTAINS(logbuf, "keep=visible");
	CHECK_CONTAINS(logbuf, "redaction > POST /[redacted] HTTP/1.1");
	CHECK_CONTAINS(logbuf, "< HTTP/1.1 503");
	CHECK_CONTAINS(logbuf, "answered HTTP 503 after 1 retry");
	ops_http_free(h);
}

TEST(cancellation_aborts_a_transfer)
{
	ops_http *h = client(30, 2);
	const char *k = key("cancel");
	struct canceller c;
	ops_http_resp r;
	ops_error err;
	double t0;

	if (!h)
		return;
	t0 = ops_clock();
	cancel_after(&c, 300);
	CHECK_INT(get(h, url(plain, "/stall"), &r, &err), OPS_EINTR);
	cancel_done(&c);
	CHECK(ops_clock() - t0 < 2.5);
	CHECK_CONTAINS(err.message, "interrupted by SIGTERM");
	ops_http_resp_release(&r);
	/* And a Retry-After wait. */
	t0 = ops_clock();
	cancel_after(&c, 300);
	CHECK_INT(get(h, flaky(k, "fail=1&status=503&retry_after=20"), &r, &err), OPS_EINTR);
	cancel_done(&c);
	CHECK(ops_clock() - t0 < 2);
	CHECK_INT(count_of(k), 1);
	ops_http_resp_release(&r);
	ops_http_free(h);
}

TEST(one_client_serves_many_requests)
{
	ops_http *h = client(5, 0);
	ops_http_resp r;
	ops_error err;
	int i, good = 0;

	if (!h)
		return;
	for (i = 0; i < 50; i++) {
		if (get(h, url(plain, i % 2 ? "/ok" : "/status/204"), &r, &err) == OPS_OK &&
		    r.status == (i % 2 ? 200 : 204))
			good++;
		ops_http_resp_release(&r);
	}
	CHECK_INT(good, 50);
	ops_http_free(h);
}

static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

int main(void)
{
	RUN(escape_keeps_unreserved_bytes_and_the_chosen_ones);
	RUN(options_have_safe_defaults_and_bad_ones_are_refused);
	RUN(urls_other_than_http_are_refused_without_showing_them);
	RUN(a_header_with_a_line_break_is_refused);
	RUN(a_closed_port_is_unavailable_after_the_retries);
	RUN(a_cancelled_run_sends_nothing);
	RUN(cancellation_cuts_a_retry_wait_short);

	plain = env("OPSCTL_TEST_HTTP_URL");
	tls_good = env("OPSCTL_TEST_HTTPS_URL");
	tls_expired = env("OPSCTL_TEST_HTTPS_EXPIRED_URL");
	tls_otherhost = env("OPSCTL_TEST_HTTPS_OTHERHOST_URL");
	tls_mtls = env("OPSCTL_TEST_HTTPS_MTLS_URL");
	ca_file = env("OPSCTL_TEST_HTTP_CA");
	ca_dir = env("OPSCTL_TEST_HTTP_CA_DIR");
	client_cert = env("OPSCTL_TEST_HTTP_CLIENT_CERT");
	client_key = env("OPSCTL_TEST_HTTP_CLIENT_KEY");
	cert_expiry_env = env("OPSCTL_TEST_HTTP_CERT_EXPIRY");
	if (!plain || !tls_good || !tls_expired || !tls_otherhost || !tls_mtls || !ca_file ||
	    !ca_dir || !client_cert || !client_key || !cert_expiry_env) {
		printf("# the peer cases run in tests/integration/t310-http.sh, which starts "
		       "the peer and exports OPSCTL_TEST_HTTP_URL and the rest\n");
		return unit_done();
	}
	printf("# peer at %s and %s\n", plain, tls_good);
	RUN(get_returns_status_body_and_headers);
	RUN(bodies_and_headers_arrive_as_sent);
	RUN(a_sink_takes_2xx_bodies_only);
	RUN(a_stalled_peer_times_out_within_the_bound);
	RUN(a_timeout_is_retried_only_when_idempotent);
	RUN(a_flood_stops_at_the_cap);
	RUN(a_503_with_retry_after_is_retried_after_waiting);
	RUN(retry_after_as_an_http_date_and_its_maximum);
	RUN(a_429_without_retry_after_backs_off_exponentially);
	RUN(a_404_and_a_400_are_returned_at_once);
	RUN(a_post_after_a_503_is_not_sent_again_unless_idempotent);
	RUN(a_body_from_a_source_is_resent_only_when_it_can_rewind);
	RUN(retries_run_out_and_the_last_status_is_returned);
	RUN(a_certificate_from_an_unknown_ca_is_refused);
	RUN(the_right_ca_file_or_directory_is_trusted);
	RUN(a_certificate_for_another_host_is_refused);
	RUN(an_expired_certificate_is_refused);
	RUN(a_client_certificate_is_sent_when_given);
	RUN(redirects_are_off_by_default_and_limited_when_on);
	RUN(credentials_reach_no_log_line_or_message);
	RUN(cancellation_aborts_a_transfer);
	RUN(one_client_serves_many_requests);
	return unit_done();
}
