/*
 * Redis connections: URL parsing, one non-blocking transport for TCP, TLS
 * and unix sockets, AUTH and SELECT, and a few typed helpers (INFO, CONFIG
 * GET).  hiredis is used for the protocol only: redisFormatCommandArgv
 * encodes a command and its reader parses replies straight into our own
 * reply type; the socket, TLS (Debian 12's hiredis 0.14 has none), the
 * deadlines and cancellation are ours, so that all three transports share
 * one code path.
 *
 * It deliberately has no switch that turns certificate checks off, never
 * logs a command's arguments (AUTH carries the password), and does not
 * reconnect: a connection that lost its place in the reply stream is
 * reported, not repaired behind the caller's back.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <hiredis/read.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "opsmaint/cancel.h"
#include "opsmaint/clock.h"
#include "opsmaint/log.h"
#include "opsmaint/redis.h"

#define DEFAULT_TIMEOUT_MS 10000

struct ops_redis {
	int fd;
	int hook;		/* cancel.h handle while fd is open, else -1 */
	SSL_CTX *ctx;
	SSL *ssl;
	redisReader *reader;
	long timeout_ms;
	int broken;		/* a transport error left the reply stream unknown */
	atomic_int finish_on_cancel;	/* the cancel hook runs on another thread */
	char where[320];	/* "HOST:PORT" or the socket path */
	char user[128];
};

/* ---- URLs ---- */

struct url {
	int tls, local;		/* rediss://, unix:// */
	char *host;		/* host name or address, or the socket path */
	char port[24];
	long db;
	char *user, *password;	/* percent-decoded; NULL when absent */
};

static void url_clear(struct url *u)
{
	free(u->host);
	free(u->user);
	if (u->password)
		OPENSSL_cleanse(u->password, strlen(u->password));
	free(u->password);
	memset(u, 0, sizeof *u);
}

/* Percent-decode s[0 .. n) into a new string; NULL with *bad set when s
 * holds a bad escape or a NUL byte, NULL alone when out of memory. */
static char *pct_decode(const char *s, size_t n, int *bad)
{
	char *out = malloc(n + 1), *w = out;
	size_t i;

	*bad = 0;
	if (!out)
		return NULL;
	for (i = 0; i < n; i++) {
		char hex[3] = {0};
		long v;

		if (s[i] != '%') {
			*w++ = s[i];
			continue;
		}
		if (i + 2 >= n || !isxdigit((unsigned char)s[i + 1]) ||
		    !isxdigit((unsigned char)s[i + 2]))
			break;
		memcpy(hex, s + i + 1, 2);
		v = strtol(hex, NULL, 16);
		if (v == 0)
			break;
		*w++ = (char)v;
		i += 2;
	}
	if (i < n) {
		OPENSSL_cleanse(out, n + 1);
		free(out);
		*bad = 1;
		return NULL;
	}
	*w = '\0';
	return out;
}

/* A decimal number in s[0 .. n) within [min, max]; -1 when not. */
static long parse_num(const char *s, size_t n, long min, long max)
{
	char buf[16];
	char *end;
	long v;

	if (n == 0 || n >= sizeof buf)
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (!isdigit((unsigned char)buf[0]))
		return -1;
	errno = 0;
	v = strtol(buf, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	return v;
}

/* "db=N" parameters after '?'. */
static ops_code parse_query(const char *q, struct url *u, ops_error *err)
{
	while (*q) {
		size_t n = strcspn(q, "&");

		if (n > 3 && strncmp(q, "db=", 3) == 0) {
			u->db = parse_num(q + 3, n - 3, 0, INT_MAX);
			if (u->db < 0)
				return ops_error_set(err, OPS_ECONFIG,
						     "database '%.*s' is not a number",
						     (int)(n - 3), q + 3);
		} else if (n > 0) {
			return ops_error_set(err, OPS_ECONFIG, "unknown URL parameter '%.*s'",
					     (int)strcspn(q, "=&"), q);
		}
		q += n + (q[n] == '&');
	}
	return OPS_OK;
}

/* USER:PASSWORD in s[0 .. n). */
static ops_code parse_userinfo(const char *s, size_t n, struct url *u, ops_error *err)
{
	const char *colon = memchr(s, ':', n);
	size_t ulen = colon ? (size_t)(colon - s) : n;
	int bad = 0;

	if (ulen > 0 && !(u->user = pct_decode(s, ulen, &bad)))
		return bad ? ops_error_set(err, OPS_ECONFIG, "bad %%-escape in the user name")
			   : ops_error_oom(err);
	if (colon && colon + 1 < s + n &&
	    !(u->password = pct_decode(colon + 1, (size_t)(s + n - colon - 1), &bad)))
		/* Never quote the password, not even a piece of it. */
		return bad ? ops_error_set(err, OPS_ECONFIG, "bad %%-escape in the password")
			   : ops_error_oom(err);
	return OPS_OK;
}

/* HOST[:PORT] or [V6ADDR][:PORT] in s[0 .. n). */
static ops_code parse_hostport(const char *s, size_t n, struct url *u, ops_error *err)
{
	const char *hend, *colon = NULL;
	const char *hs = s;
	long port = 6379;

	if (n > 0 && s[0] == '[') {
		hend = memchr(s, ']', n);
		if (!hend)
			return ops_error_set(err, OPS_ECONFIG, "'[' without ']' around the host");
		hs = s + 1;
		if (hend + 1 < s + n) {
			if (hend[1] != ':')
				return ops_error_set(err, OPS_ECONFIG,
						     "text after ']' that is not :PORT");
			colon = hend + 1;
		}
	} else {
		colon = memrchr(s, ':', n);
		hend = colon ? colon : s + n;
	}
	if (hend == hs)
		return ops_error_set(err, OPS_ECONFIG, "no host");
	if (colon && (port = parse_num(colon + 1, (size_t)(s + n - colon - 1), 1, 65535)) < 0)
		return ops_error_set(err, OPS_ECONFIG, "port '%.*s' is not 1-65535",
				     (int)(s + n - colon - 1), colon + 1);
	if (!(u->host = strndup(hs, (size_t)(hend - hs))))
		return ops_error_oom(err);
	snprintf(u->port, sizeof u->port, "%ld", port);
	return OPS_OK;
}

static ops_code url_parse(const char *url, struct url *u, ops_error *err)
{
	const char *p = url, *rest, *at = NULL, *q;
	ops_code rc;

	memset(u, 0, sizeof *u);
	if (strncmp(p, "redis://", 8) == 0) {
		p += 8;
	} else if (strncmp(p, "rediss://", 9) == 0) {
		p += 9;
		u->tls = 1;
	} else if (strncmp(p, "unix://", 7) == 0) {
		p += 7;
		u->local = 1;
	} else {
		return ops_error_set(err, OPS_ECONFIG, "not redis://, rediss:// or unix://");
	}
	/* USER:PASSWORD@ ends at the last '@' before the path. */
	rest = p + strcspn(p, "/?");
	for (q = p; q < rest; q++)
		if (*q == '@')
			at = q;
	if (at) {
		if ((rc = parse_userinfo(p, (size_t)(at - p), u, err)) != OPS_OK)
			goto fail;
		p = at + 1;
	}
	q = p + strcspn(p, "?");
	if (u->local) {
		if (*p != '/' || q == p + 1) {
			rc = ops_error_set(err, OPS_ECONFIG,
					   "unix:// needs the socket's absolute path");
			goto fail;
		}
		if (!(u->host = strndup(p, (size_t)(q - p)))) {
			rc = ops_error_oom(err);
			goto fail;
		}
	} else {
		rest = p + strcspn(p, "/?");
		if ((rc = parse_hostport(p, (size_t)(rest - p), u, err)) != OPS_OK)
			goto fail;
		if (*rest == '/' && rest + 1 < q &&
		    (u->db = parse_num(rest + 1, (size_t)(q - rest - 1), 0, INT_MAX)) < 0) {
			rc = ops_error_set(err, OPS_ECONFIG, "database '%.*s' is not a number",
					   (int)(q - rest - 1), rest + 1);
			goto fail;
		}
	}
	if (*q == '?' && (rc = parse_query(q + 1, u, err)) != OPS_OK)
		goto fail;
	return OPS_OK;
fail:
	url_clear(u);
	return rc;
}

/* ---- replies, built by hiredis's parser ---- */

static void *reply_new(const redisReadTask *task, int type)
{
	ops_redis_reply *r = calloc(1, sizeof *r);

	if (!r)
		return NULL;
	r->type = (ops_redis_type)type;
	/* The parser hands each element to us with its index in the parent. */
	if (task->parent) {
		ops_redis_reply *parent = task->parent->obj;

		parent->element[task->idx] = r;
	}
	return r;
}

static void *reply_string(const redisReadTask *task, char *str, size_t len)
{
	char *copy = malloc(len + 1);
	ops_redis_reply *r;

	if (!copy)
		return NULL;
	r = reply_new(task, task->type);
	if (!r) {
		free(copy);
		return NULL;
	}
	memcpy(copy, str, len);
	copy[len] = '\0';
	r->str = copy;
	r->len = len;
	return r;
}

static void *reply_array(const redisReadTask *task, int elements)
{
	ops_redis_reply **el = calloc(elements > 0 ? (size_t)elements : 1, sizeof *el);
	ops_redis_reply *r;

	if (!el)
		return NULL;
	r = reply_new(task, REDIS_REPLY_ARRAY);
	if (!r) {
		free(el);
		return NULL;
	}
	r->element = el;
	r->elements = elements > 0 ? (size_t)elements : 0;
	return r;
}

static void *reply_integer(const redisReadTask *task, long long value)
{
	ops_redis_reply *r = reply_new(task, REDIS_REPLY_INTEGER);

	if (r)
		r->integer = value;
	return r;
}

static void *reply_nil(const redisReadTask *task)
{
	return reply_new(task, REDIS_REPLY_NIL);
}

void ops_redis_reply_free(ops_redis_reply *reply)
{
	size_t i;

	if (!reply)
		return;
	/* A reply the parser abandoned half-built has NULL elements. */
	for (i = 0; i < reply->elements; i++)
		ops_redis_reply_free(reply->element[i]);
	free(reply->element);
	free(reply->str);
	free(reply);
}

static void reply_free_any(void *reply)
{
	ops_redis_reply_free(reply);
}

static redisReplyObjectFunctions reply_functions = {
	reply_string, reply_array, reply_integer, reply_nil, reply_free_any
};

/* ---- the transport ---- */

static void shut_hook(void *arg)
{
	ops_redis *r = arg;

	/* A blocked poll or read returns; the caller sees the cancel flag. */
	if (!atomic_load(&r->finish_on_cancel))
		shutdown(r->fd, SHUT_RDWR);
}

/* Whether the command in flight is to give up now. */
static int stop_now(ops_redis *r)
{
	return ops_cancelled() && !atomic_load(&r->finish_on_cancel);
}

static ops_code sock_open(ops_redis *r, int family, ops_error *err)
{
	r->fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (r->fd < 0)
		return ops_error_set(err, OPS_EUNAVAIL, "cannot connect to Redis at '%s': %s",
				     r->where, strerror(errno));
	r->hook = ops_cancel_hook_add(shut_hook, r);
	return OPS_OK;
}

static void sock_close(ops_redis *r)
{
	/* The hook goes first: once removed it cannot touch a reused fd. */
	ops_cancel_hook_remove(r->hook);
	r->hook = -1;
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
}

/* Wait for events on r->fd: 1 ready (or failed: the next call says how),
 * 0 the deadline passed, -1 the run was cancelled. */
static int wait_fd(ops_redis *r, short events, double deadline)
{
	for (;;) {
		struct pollfd p = {.fd = r->fd, .events = events};
		double left = deadline - ops_clock();
		int n;

		if (stop_now(r))
			return -1;
		if (left <= 0)
			return 0;
		/* The cancel hook wakes poll; the one-second cap is for a hook
		 * table that was full. */
		n = poll(&p, 1, left > 1.0 ? 1000 : (int)(left * 1000) + 1);
		if (n > 0 || (n < 0 && errno != EINTR))
			return stop_now(r) ? -1 : 1;
	}
}

/* Connect the open r->fd to addr: 0, or an errno (ETIMEDOUT, ECANCELED). */
static int connect_fd(ops_redis *r, const struct sockaddr *addr, socklen_t len, double deadline)
{
	int e = 0;
	socklen_t elen = sizeof e;

	if (connect(r->fd, addr, len) == 0)
		return 0;
	if (errno != EINPROGRESS)
		return errno;
	switch (wait_fd(r, POLLOUT, deadline)) {
	case 0:
		return ETIMEDOUT;
	case -1:
		return ECANCELED;
	}
	if (getsockopt(r->fd, SOL_SOCKET, SO_ERROR, &e, &elen) != 0)
		return errno;
	return e;
}

static ops_code connect_failed(ops_redis *r, int e, long timeout_ms, ops_error *err)
{
	if (ops_cancelled())
		return ops_cancel_check(err);
	if (e == ETIMEDOUT)
		return ops_error_set(err, OPS_EUNAVAIL,
				     "cannot connect to Redis at '%s': no answer within %g s",
				     r->where, (double)timeout_ms / 1000);
	return ops_error_set(err, OPS_EUNAVAIL, "cannot connect to Redis at '%s': %s", r->where,
			     strerror(e));
}

static ops_code connect_tcp(ops_redis *r, const struct url *u, long timeout_ms,
			    double deadline, ops_error *err)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL, *ai;
	int e = ECONNREFUSED, one = 1, gai;
	ops_code rc;

	gai = getaddrinfo(u->host, u->port, &hints, &res);
	if (gai != 0) {
		const char *why = gai == EAI_SYSTEM ? strerror(errno) : gai_strerror(gai);

		return ops_error_set(err, OPS_EUNAVAIL, "cannot connect to Redis at '%s': %s",
				     r->where, why);
	}
	for (ai = res; ai; ai = ai->ai_next) {
		if ((rc = sock_open(r, ai->ai_family, err)) != OPS_OK)
			goto out;
		e = connect_fd(r, ai->ai_addr, ai->ai_addrlen, deadline);
		if (e == 0)
			break;
		sock_close(r);
		if (e == ETIMEDOUT || e == ECANCELED)
			break;
	}
	if (e != 0) {
		rc = connect_failed(r, e, timeout_ms, err);
		goto out;
	}
	/* Commands are small and answered one at a time: no Nagle delay. */
	setsockopt(r->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	rc = OPS_OK;
out:
	freeaddrinfo(res);
	return rc;
}

static ops_code connect_unix(ops_redis *r, const struct url *u, long timeout_ms,
			     double deadline, ops_error *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	ops_code rc;
	int e;

	if (strlen(u->host) >= sizeof sa.sun_path)
		return ops_error_set(err, OPS_ECONFIG, "socket path '%s' is too long", u->host);
	memcpy(sa.sun_path, u->host, strlen(u->host) + 1);
	if ((rc = sock_open(r, AF_UNIX, err)) != OPS_OK)
		return rc;
	e = connect_fd(r, (struct sockaddr *)&sa, sizeof sa, deadline);
	if (e == 0)
		return OPS_OK;
	sock_close(r);
	return connect_failed(r, e, timeout_ms, err);
}

/*
 * TLS goes through a socket BIO whose reads and writes are recv and
 * send(MSG_NOSIGNAL), as libpq's are: a server that hangs up is an error
 * value, not a SIGPIPE that kills the process.
 */
static BIO_METHOD *bio_methods;
static pthread_once_t bio_once = PTHREAD_ONCE_INIT;

static int bio_write(BIO *b, const char *buf, int len)
{
	ssize_t n = send((int)BIO_get_fd(b, NULL), buf, (size_t)len, MSG_NOSIGNAL);

	BIO_clear_retry_flags(b);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		BIO_set_retry_write(b);
	return (int)n;
}

static int bio_read(BIO *b, char *buf, int len)
{
	ssize_t n = recv((int)BIO_get_fd(b, NULL), buf, (size_t)len, 0);

	BIO_clear_retry_flags(b);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		BIO_set_retry_read(b);
	return (int)n;
}

static void bio_init(void)
{
	const BIO_METHOD *sock = BIO_s_socket();
	BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
				     "opsctl redis socket");

	if (!m)
		return;
	if (!BIO_meth_set_write(m, bio_write) || !BIO_meth_set_read(m, bio_read) ||
	    !BIO_meth_set_puts(m, BIO_meth_get_puts(sock)) ||
	    !BIO_meth_set_gets(m, BIO_meth_get_gets(sock)) ||
	    !BIO_meth_set_ctrl(m, BIO_meth_get_ctrl(sock)) ||
	    !BIO_meth_set_create(m, BIO_meth_get_create(sock)) ||
	    !BIO_meth_set_destroy(m, BIO_meth_get_destroy(sock)) ||
	    !BIO_meth_set_callback_ctrl(m, BIO_meth_get_callback_ctrl(sock))) {
		BIO_meth_free(m);
		return;
	}
	bio_methods = m;
}

/* The last OpenSSL reason, for messages; "unknown" when the queue is empty. */
static const char *ssl_reason(unsigned long e)
{
	const char *s = e ? ERR_reason_error_string(e) : NULL;

	return s ? s : "unknown";
}

/* A client-certificate refusal the server sent us as an alert. */
static int refused_our_cert(unsigned long e)
{
	if (ERR_GET_LIB(e) != ERR_LIB_SSL)
		return 0;
	switch (ERR_GET_REASON(e)) {
	case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
	case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
	case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
	case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
	case SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED:
	case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
	case SSL_R_TLSV1_ALERT_ACCESS_DENIED:
		return 1;
	}
	return 0;
}

/* Turn a failed SSL call (its SSL_get_error value) into an error. */
static ops_code tls_error(ops_redis *r, int sslerr, ops_error *err)
{
	unsigned long e = ERR_peek_last_error();
	long v = SSL_get_verify_result(r->ssl);
	ops_code rc;

	if (ops_cancelled()) {
		rc = ops_cancel_check(err);
	} else if (ERR_GET_LIB(e) == ERR_LIB_SSL &&
		   ERR_GET_REASON(e) == SSL_R_CERTIFICATE_VERIFY_FAILED && v != X509_V_OK) {
		rc = ops_error_set(err, OPS_ECONFIG,
				   "cannot verify the TLS certificate of Redis at '%s': %s",
				   r->where, X509_verify_cert_error_string(v));
		ops_error_hint(err, "Name the CA that signed the server's certificate "
			       "(redis.tls_ca_file), and connect by a name the certificate holds.");
	} else if (refused_our_cert(e)) {
		rc = ops_error_set(err, OPS_EPERM,
				   "Redis at '%s' refused the TLS client certificate: %s",
				   r->where, ssl_reason(e));
		ops_error_hint(err, "Set redis.tls_cert_file and redis.tls_key_file to a "
			       "certificate the server's tls-ca-cert-file signed.");
	} else if (sslerr == SSL_ERROR_ZERO_RETURN || (sslerr == SSL_ERROR_SYSCALL && !e)) {
		rc = ops_error_set(err, OPS_EUNAVAIL, "Redis at '%s' closed the TLS connection%s%s",
				   r->where, errno ? ": " : "", errno ? strerror(errno) : "");
		ops_error_hint(err, "A server with tls-auth-clients wants a client certificate "
			       "(redis.tls_cert_file).");
	} else {
		rc = ops_error_set(err, OPS_EUNAVAIL, "TLS with Redis at '%s' failed: %s",
				   r->where, ssl_reason(e));
		if (ERR_GET_REASON(e) == SSL_R_WRONG_VERSION_NUMBER)
			ops_error_hint(err, "A port without TLS needs redis://, not rediss://.");
	}
	ERR_clear_error();
	return rc;
}

static int is_ip_address(const char *host)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

static ops_code tls_context(ops_redis *r, const ops_redis_options *opt, ops_error *err)
{
	const char *cert = opt->tls_cert_file, *key = opt->tls_key_file;

	r->ctx = SSL_CTX_new(TLS_client_method());
	if (!r->ctx)
		return ops_error_set(err, OPS_EINTERNAL, "cannot set up TLS: %s",
				     ssl_reason(ERR_get_error()));
	SSL_CTX_set_min_proto_version(r->ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(r->ctx, SSL_VERIFY_PEER, NULL);
	if (opt->tls_ca_file || opt->tls_ca_dir) {
		if (!SSL_CTX_load_verify_locations(r->ctx, opt->tls_ca_file, opt->tls_ca_dir))
			return ops_error_set(err, OPS_ECONFIG,
					     "cannot load CA certificates from '%s': %s",
					     opt->tls_ca_file ? opt->tls_ca_file : opt->tls_ca_dir,
					     ssl_reason(ERR_get_error()));
	} else if (!SSL_CTX_set_default_verify_paths(r->ctx)) {
		return ops_error_set(err, OPS_ECONFIG,
				     "cannot load the system's CA certificates: %s",
				     ssl_reason(ERR_get_error()));
	}
	if (!cert && !key)
		return OPS_OK;
	if (!cert || !key)
		return ops_error_set(err, OPS_ECONFIG, "a TLS client %s needs its %s as well",
				     cert ? "certificate" : "key", cert ? "key" : "certificate");
	if (SSL_CTX_use_certificate_chain_file(r->ctx, cert) != 1)
		return ops_error_set(err, OPS_ECONFIG,
				     "cannot load the client certificate '%s': %s",
				     cert, ssl_reason(ERR_get_error()));
	if (SSL_CTX_use_PrivateKey_file(r->ctx, key, SSL_FILETYPE_PEM) != 1) {
		unsigned long e = ERR_peek_last_error();

		if (ERR_GET_LIB(e) == ERR_LIB_X509 &&
		    ERR_GET_REASON(e) == X509_R_KEY_VALUES_MISMATCH)
			return ops_error_set(err, OPS_ECONFIG,
					     "client key '%s' does not belong to '%s'", key, cert);
		return ops_error_set(err, OPS_ECONFIG, "cannot load the client key '%s': %s",
				     key, ssl_reason(e));
	}
	if (SSL_CTX_check_private_key(r->ctx) != 1)
		return ops_error_set(err, OPS_ECONFIG, "client key '%s' does not belong to '%s'",
				     key, cert);
	return OPS_OK;
}

/*
 * TLS 1.3 lets the client finish its handshake before the server has
 * judged the client's certificate; the verdict comes as the server's first
 * records after it: session tickets, or an alert.  Reading them before the
 * first command keeps an alert from being lost to the reset that follows
 * when the server closes with that command unread.  A server that sends no
 * tickets costs at most VERDICT_WAIT seconds here.
 */
#define VERDICT_WAIT 0.25

static ops_code tls_verdict(ops_redis *r, double deadline, ops_error *err)
{
	double until = ops_clock() + VERDICT_WAIT;
	char byte;
	int w, k, e;

	if (SSL_version(r->ssl) != TLS1_3_VERSION)
		return OPS_OK;
	w = wait_fd(r, POLLIN, until < deadline ? until : deadline);
	if (w < 0)
		return ops_cancel_check(err);
	if (w == 0)
		return OPS_OK;
	ERR_clear_error();
	errno = 0;
	/* Tickets are taken in; no application data is there to peek at. */
	k = SSL_peek(r->ssl, &byte, 1);
	if (k > 0)
		return OPS_OK;
	e = SSL_get_error(r->ssl, k);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
		return OPS_OK;
	return tls_error(r, e, err);
}

static ops_code tls_start(ops_redis *r, const ops_redis_options *opt, const char *host,
			  long timeout_ms, double deadline, ops_error *err)
{
	BIO *bio;
	ops_code rc;
	int n;

	ERR_clear_error();
	if ((rc = tls_context(r, opt, err)) != OPS_OK) {
		ERR_clear_error();
		return rc;
	}
	pthread_once(&bio_once, bio_init);
	r->ssl = SSL_new(r->ctx);
	bio = bio_methods ? BIO_new(bio_methods) : NULL;
	if (!r->ssl || !bio) {
		BIO_free(bio);
		ERR_clear_error();
		return ops_error_oom(err);
	}
	BIO_set_fd(bio, r->fd, BIO_NOCLOSE);
	SSL_set_bio(r->ssl, bio, bio);
	/* The name checked is the one the URL gave: an IP address against the
	 * certificate's IP entries, a host name against its DNS names. */
	if (is_ip_address(host)) {
		n = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(r->ssl), host);
	} else {
		n = SSL_set_tlsext_host_name(r->ssl, host) && SSL_set1_host(r->ssl, host);
	}
	if (!n) {
		ERR_clear_error();
		return ops_error_set(err, OPS_ECONFIG,
				     "cannot check a TLS certificate against '%s'", host);
	}
	for (;;) {
		int k, e, w;

		ERR_clear_error();
		errno = 0;
		k = SSL_connect(r->ssl);
		if (k == 1)
			return tls_verdict(r, deadline, err);
		e = SSL_get_error(r->ssl, k);
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
			return tls_error(r, e, err);
		w = wait_fd(r, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline);
		if (w <= 0)
			return connect_failed(r, w == 0 ? ETIMEDOUT : ECANCELED, timeout_ms, err);
	}
}

/* The connection is unusable from here on; rc is passed through. */
static ops_code lost(ops_redis *r, ops_code rc, ops_error *err)
{
	r->broken = 1;
	if (ops_cancelled())
		return ops_cancel_check(err);
	return rc;
}

/*
 * Move bytes: writing sends all of buf; reading returns at least one byte
 * in *moved.  Both wait (poll) up to the deadline.
 */
static ops_code io(ops_redis *r, int writing, char *buf, size_t len, size_t *moved,
		   double deadline, ops_error *err)
{
	size_t done = 0;

	while (done < len) {
		short want = writing ? POLLOUT : POLLIN;
		ssize_t n;
		int w;

		if (r->ssl) {
			int k, e;

			ERR_clear_error();
			errno = 0;
			k = writing ? SSL_write(r->ssl, buf + done, (int)(len - done > INT_MAX ?
									  INT_MAX : len - done))
				    : SSL_read(r->ssl, buf, (int)(len > INT_MAX ? INT_MAX : len));
			n = k;
			if (k <= 0) {
				e = SSL_get_error(r->ssl, k);
				if (e == SSL_ERROR_WANT_READ)
					want = POLLIN;
				else if (e == SSL_ERROR_WANT_WRITE)
					want = POLLOUT;
				else
					return lost(r, tls_error(r, e, err), err);
			}
		} else {
			n = writing ? send(r->fd, buf + done, len - done, MSG_NOSIGNAL)
				    : recv(r->fd, buf, len, 0);
			if (n == 0 && !writing)
				return lost(r, ops_error_set(err, OPS_EUNAVAIL,
							     "Redis at '%s' closed the connection",
							     r->where), err);
			if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				return lost(r, ops_error_set(err, OPS_EUNAVAIL,
							     "lost the connection to Redis at "
							     "'%s': %s", r->where,
							     strerror(errno)), err);
		}
		if (n > 0) {
			if (!writing) {
				*moved = (size_t)n;
				return OPS_OK;
			}
			done += (size_t)n;
			continue;
		}
		w = wait_fd(r, want, deadline);
		if (w == 0)
			return lost(r, ops_error_set(err, OPS_EUNAVAIL,
						     "Redis at '%s' did not answer within %g s",
						     r->where, (double)r->timeout_ms / 1000), err);
		if (w < 0)
			return lost(r, OPS_EINTR, err);
	}
	if (moved)
		*moved = done;
	return OPS_OK;
}

static ops_code read_reply(ops_redis *r, ops_redis_reply **reply, double deadline,
			   ops_error *err)
{
	char buf[16384];

	for (;;) {
		void *obj = NULL;
		size_t got = 0;
		ops_code rc;

		if (redisReaderGetReply(r->reader, &obj) != REDIS_OK) {
			if (r->reader->err == REDIS_ERR_OOM)
				return lost(r, ops_error_oom(err), err);
			return lost(r, ops_error_set(err, OPS_EUNAVAIL,
						     "Redis at '%s' sent a malformed reply: %s",
						     r->where, r->reader->errstr), err);
		}
		if (obj) {
			*reply = obj;
			return OPS_OK;
		}
		if ((rc = io(r, 0, buf, sizeof buf, &got, deadline, err)) != OPS_OK)
			return rc;
		if (redisReaderFeed(r->reader, buf, got) != REDIS_OK)
			return lost(r, ops_error_oom(err), err);
	}
}

void ops_redis_finish_on_cancel(ops_redis *r, int on)
{
	atomic_store(&r->finish_on_cancel, on != 0);
}

ops_code ops_redis_command(ops_redis *r, int argc, const char *const *argv,
			   const size_t *argvlen, ops_redis_reply **reply, ops_error *err)
{
	char *cmd = NULL;
	double deadline;
	ops_code rc;
	int n;

	*reply = NULL;
	if (r->broken)
		return ops_error_set(err, OPS_EUNAVAIL, "the connection to Redis at '%s' was lost",
				     r->where);
	if ((rc = ops_cancel_check(err)) != OPS_OK)
		return rc;
	n = redisFormatCommandArgv(&cmd, argc, (const char **)argv, argvlen);
	if (n < 0)
		return ops_error_oom(err);
	deadline = ops_clock() + (double)r->timeout_ms / 1000;
	rc = io(r, 1, cmd, (size_t)n, NULL, deadline, err);
	/* AUTH's buffer holds the password. */
	OPENSSL_cleanse(cmd, (size_t)n);
	redisFreeCommand(cmd);
	if (rc != OPS_OK)
		return rc;
	return read_reply(r, reply, deadline, err);
}

/* ---- error replies ---- */

/* Commands whose first argument names what they do ("CONFIG GET"). */
static int has_subcommand(const char *cmd)
{
	static const char *const with[] = {"ACL", "CLIENT", "CLUSTER", "COMMAND", "CONFIG",
					   "DEBUG", "FUNCTION", "INFO", "LATENCY", "MEMORY",
					   "MODULE", "OBJECT", "SCRIPT", "SLOWLOG", "XINFO", NULL};
	size_t i;

	for (i = 0; with[i]; i++)
		if (strcasecmp(cmd, with[i]) == 0)
			return 1;
	return 0;
}

/* The server's message without "ERR " and a final full stop. */
static void server_message(const ops_redis_reply *reply, char *out, size_t len)
{
	const char *s = reply->str ? reply->str : "";
	size_t n;

	if (strncmp(s, "ERR ", 4) == 0)
		s += 4;
	snprintf(out, len, "%s", s);
	n = strlen(out);
	while (n > 0 && (out[n - 1] == '.' || isspace((unsigned char)out[n - 1])))
		out[--n] = '\0';
}

ops_code ops_redis_reply_error(const ops_redis *r, const ops_redis_reply *reply,
			       const char *what, ops_error *err)
{
	const char *s = reply->str ? reply->str : "";
	char msg[400];

	server_message(reply, msg, sizeof msg);
	if (strncmp(s, "NOAUTH", 6) == 0) {
		ops_error_set(err, OPS_EPERM, "Redis at '%s' requires a password: %s",
			      r->where, msg);
		ops_error_hint(err, "Give the password in REDISCLI_AUTH.");
		return OPS_EPERM;
	}
	if (strncmp(s, "NOPERM", 6) == 0 || strncmp(s, "WRONGPASS", 9) == 0)
		return ops_error_set(err, OPS_EPERM, "Redis at '%s' refused %s to user '%s': %s",
				     r->where, what, r->user, msg);
	return ops_error_set(err, OPS_EFAIL, "Redis %s at '%s' failed: %s", what, r->where, msg);
}

ops_code ops_redis_call(ops_redis *r, ops_redis_reply **reply, ops_error *err, ...)
{
	const char *argv[32];
	ops_redis_reply *rep = NULL;
	const char *a;
	int argc = 0;
	va_list ap;
	ops_code rc;

	if (reply)
		*reply = NULL;
	va_start(ap, err);
	while ((a = va_arg(ap, const char *)) != NULL && argc < 32)
		argv[argc++] = a;
	va_end(ap);
	if (argc == 0 || a != NULL)
		return ops_error_set(err, OPS_EINTERNAL, "ops_redis_call: %s arguments",
				     argc ? "too many" : "no");
	if ((rc = ops_redis_command(r, argc, argv, NULL, &rep, err)) != OPS_OK)
		return rc;
	if (rep->type == OPS_REDIS_ERROR) {
		char what[96];

		/* Never more than the command's name: later arguments may be secrets. */
		if (argc > 1 && has_subcommand(argv[0]))
			snprintf(what, sizeof what, "%s %s", argv[0], argv[1]);
		else
			snprintf(what, sizeof what, "%s", argv[0]);
		rc = ops_redis_reply_error(r, rep, what, err);
		ops_redis_reply_free(rep);
		return rc;
	}
	if (reply)
		*reply = rep;
	else
		ops_redis_reply_free(rep);
	return OPS_OK;
}

/* ---- the session ---- */

static ops_code authenticate(ops_redis *r, const char *user, const char *password,
			     const char *source, ops_error *err)
{
	const char *argv[3] = {"AUTH"};
	ops_redis_reply *rep = NULL;
	char msg[400];
	int argc = 1;
	ops_code rc;

	if (user)
		argv[argc++] = user;
	argv[argc++] = password;
	if ((rc = ops_redis_command(r, argc, argv, NULL, &rep, err)) != OPS_OK)
		return rc;
	if (rep->type == OPS_REDIS_ERROR) {
		server_message(rep, msg, sizeof msg);
		if (strstr(msg, "without any password configured")) {
			rc = ops_error_set(err, OPS_ECONFIG,
					   "Redis at '%s' has no password for user '%s', "
					   "yet one was given (%s)", r->where, r->user, source);
		} else {
			rc = ops_error_set(err, OPS_EPERM,
					   "Redis at '%s' refused user '%s' with the password "
					   "from %s: %s", r->where, r->user, source, msg);
		}
	}
	ops_redis_reply_free(rep);
	return rc;
}

static ops_code select_db(ops_redis *r, long db, ops_error *err)
{
	const char *argv[2] = {"SELECT"};
	ops_redis_reply *rep = NULL;
	char num[24], msg[400];
	ops_code rc;

	snprintf(num, sizeof num, "%ld", db);
	argv[1] = num;
	if ((rc = ops_redis_command(r, 2, argv, NULL, &rep, err)) != OPS_OK)
		return rc;
	if (rep->type == OPS_REDIS_ERROR) {
		server_message(rep, msg, sizeof msg);
		if (strncmp(rep->str, "NOAUTH", 6) == 0 || strncmp(rep->str, "NOPERM", 6) == 0)
			rc = ops_redis_reply_error(r, rep, "SELECT", err);
		else
			rc = ops_error_set(err, OPS_ECONFIG,
					   "Redis at '%s' has no database %ld: %s",
					   r->where, db, msg);
	}
	ops_redis_reply_free(rep);
	return rc;
}

ops_code ops_redis_connect(const ops_redis_options *opt, ops_redis **out, ops_error *err)
{
	struct url u;
	ops_redis *r = NULL;
	const char *user, *password, *source;
	long cto;
	double deadline;
	ops_code rc;

	*out = NULL;
	if (!opt || !opt->url || !*opt->url)
		return ops_error_set(err, OPS_ECONFIG, "no Redis URL given");
	if ((rc = url_parse(opt->url, &u, err)) != OPS_OK) {
		ops_error_prefix(err, "bad Redis URL");
		return rc;
	}
	if (!(r = calloc(1, sizeof *r))) {
		rc = ops_error_oom(err);
		goto out;
	}
	r->fd = -1;
	r->hook = -1;
	r->timeout_ms = opt->timeout_ms > 0 ? opt->timeout_ms : DEFAULT_TIMEOUT_MS;
	cto = opt->connect_timeout_ms > 0 ? opt->connect_timeout_ms : DEFAULT_TIMEOUT_MS;
	if (u.local)
		snprintf(r->where, sizeof r->where, "%s", u.host);
	else
		snprintf(r->where, sizeof r->where, strchr(u.host, ':') ? "[%s]:%s" : "%s:%s",
			 u.host, u.port);
	user = opt->user ? opt->user : u.user;
	password = opt->password ? opt->password : u.password;
	source = opt->password_source ? opt->password_source
				      : opt->password ? "the caller" : "the URL";
	snprintf(r->user, sizeof r->user, "%s", user ? user : "default");
	if (user && !password) {
		rc = ops_error_set(err, OPS_ECONFIG, "no password for user '%s' of Redis at '%s'",
				   r->user, r->where);
		ops_error_hint(err, "Give the password in REDISCLI_AUTH.");
		goto out;
	}
	if ((rc = ops_cancel_check(err)) != OPS_OK)
		goto out;
	deadline = ops_clock() + (double)cto / 1000;
	rc = u.local ? connect_unix(r, &u, cto, deadline, err)
		     : connect_tcp(r, &u, cto, deadline, err);
	if (rc == OPS_OK && u.tls)
		rc = tls_start(r, opt, u.host, cto, deadline, err);
	if (rc != OPS_OK)
		goto out;
	if (!(r->reader = redisReaderCreateWithFunctions(&reply_functions))) {
		rc = ops_error_oom(err);
		goto out;
	}
	if (password)
		rc = authenticate(r, user, password, source, err);
	if (rc == OPS_OK && u.db > 0)
		rc = select_db(r, u.db, err);
	/* Nothing asked yet: make sure this is a Redis that lets us in. */
	if (rc == OPS_OK && !password && u.db == 0)
		rc = ops_redis_call(r, NULL, err, "PING", NULL);
	if (rc == OPS_OK)
		ops_log_debug("connected to Redis at '%s' as user '%s'%s%s", r->where, r->user,
			      r->ssl ? " over " : "", r->ssl ? SSL_get_version(r->ssl) : "");
out:
	url_clear(&u);
	if (rc != OPS_OK) {
		ops_redis_close(r);
		return rc;
	}
	*out = r;
	return OPS_OK;
}

void ops_redis_close(ops_redis *r)
{
	if (!r)
		return;
	if (r->ssl) {
		/* A polite close_notify, never waited for. */
		if (!r->broken && r->fd >= 0)
			SSL_shutdown(r->ssl);
		SSL_free(r->ssl);
		ERR_clear_error();
	}
	SSL_CTX_free(r->ctx);
	sock_close(r);
	if (r->reader)
		redisReaderFree(r->reader);
	free(r);
}

const char *ops_redis_where(const ops_redis *r)
{
	return r->where;
}

const char *ops_redis_user(const ops_redis *r)
{
	return r->user;
}

const char *ops_redis_tls_version(const ops_redis *r)
{
	return r->ssl ? SSL_get_version(r->ssl) : NULL;
}

/* ---- from the configuration ---- */

static const char *config_path(const ops_config *cfg, const char *key)
{
	const char *v = ops_config_get(cfg, key);

	return v && *v ? v : NULL;
}

/* as_user/as_password: a login test (ops_redis_connect_config_as), NULL otherwise.
 * max_ms: a cap on both timeouts, 0 for none. */
static ops_code connect_config(const ops_config *cfg, const char *url_key, const char *as_user,
			       const char *as_password, long max_ms, ops_redis **out,
			       ops_error *err)
{
	const char *url = ops_config_get(cfg, url_key);
	const char *origin = ops_config_origin(cfg, url_key);
	const char *env = origin ? getenv(origin) : NULL;
	const char *auth = getenv("REDISCLI_AUTH");
	ops_redis_options o = {.url = url};
	char var[128];
	struct url u;
	int has_password;
	size_t i;
	ops_code rc;

	*out = NULL;
	if (!url || !*url)
		return ops_error_set(err, OPS_ECONFIG, "'%s' is not set", url_key);
	if ((rc = url_parse(url, &u, err)) != OPS_OK) {
		ops_error_prefix(err, "bad value for '%s'", url_key);
		return rc;
	}
	has_password = u.password != NULL;
	url_clear(&u);
	/* A value that is exactly the variable its origin names came from the
	 * environment; a file's "PATH:LINE" or a flag is never a variable. */
	if (has_password && !(env && strcmp(env, url) == 0)) {
		snprintf(var, sizeof var, "OPSCTL_%s", url_key);
		for (i = 7; var[i]; i++)
			var[i] = var[i] == '.' ? '_' : (char)toupper((unsigned char)var[i]);
		return ops_error_set(err, OPS_ECONFIG,
				     "'%s' from %s holds a password; set REDISCLI_AUTH, "
				     "or the URL in %s", url_key, origin, var);
	}
	if (as_user) {
		o.user = as_user;
		o.password = as_password;
		o.password_source = "the login test";
	} else if (has_password) {
		o.password_source = origin;
	} else if (auth && *auth) {
		o.password = auth;
		o.password_source = "REDISCLI_AUTH";
	}
	o.tls_ca_file = config_path(cfg, "redis.tls_ca_file");
	o.tls_ca_dir = config_path(cfg, "redis.tls_ca_dir");
	o.tls_cert_file = config_path(cfg, "redis.tls_cert_file");
	o.tls_key_file = config_path(cfg, "redis.tls_key_file");
	o.connect_timeout_ms = ops_config_int(cfg, "redis.connect_timeout") * 1000;
	o.timeout_ms = ops_config_int(cfg, "redis.timeout") * 1000;
	if (max_ms > 0 && o.connect_timeout_ms > max_ms)
		o.connect_timeout_ms = max_ms;
	if (max_ms > 0 && o.timeout_ms > max_ms)
		o.timeout_ms = max_ms;
	return ops_redis_connect(&o, out, err);
}

ops_code ops_redis_connect_config(const ops_config *cfg, const char *url_key, ops_redis **out,
				  ops_error *err)
{
	return connect_config(cfg, url_key, NULL, NULL, 0, out, err);
}

ops_code ops_redis_connect_config_within(const ops_config *cfg, const char *url_key,
					 long max_ms, ops_redis **out, ops_error *err)
{
	return connect_config(cfg, url_key, NULL, NULL, max_ms > 0 ? max_ms : 0, out, err);
}

ops_code ops_redis_connect_config_as(const ops_config *cfg, const char *url_key,
				     const char *user, const char *password, ops_redis **out,
				     ops_error *err)
{
	*out = NULL;
	if (!user || !*user || !password || !*password)
		return ops_error_set(err, OPS_EUSAGE, "a login test needs a user and a password");
	return connect_config(cfg, url_key, user, password, 0, out, err);
}

/* ---- typed helpers ---- */

ops_code ops_redis_info_get(ops_redis *r, const char *section, ops_redis_info **out,
			    ops_error *err)
{
	ops_redis_reply *rep = NULL;
	ops_redis_info *info = NULL;
	const char *sect = "";
	char *line, *next;
	size_t lines = 1;
	ops_code rc;

	*out = NULL;
	if ((rc = ops_redis_call(r, &rep, err, "INFO", section, NULL)) != OPS_OK)
		return rc;
	if (rep->type != OPS_REDIS_STRING) {
		rc = ops_error_set(err, OPS_EFAIL, "Redis at '%s' answered INFO without text",
				   r->where);
		goto out;
	}
	for (line = rep->str; (line = strchr(line, '\n')) != NULL; line++)
		lines++;
	info = calloc(1, sizeof *info);
	if (!info || !(info->field = calloc(lines, sizeof *info->field))) {
		rc = ops_error_oom(err);
		goto out;
	}
	info->text_ = rep->str;
	rep->str = NULL;
	for (line = info->text_; line; line = next) {
		char *colon, *end;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		end = line + strlen(line);
		if (end > line && end[-1] == '\r')
			*--end = '\0';
		if (line[0] == '#') {
			for (sect = line + 1; *sect == ' '; sect++)
				;
			for (end = (char *)sect; *end; end++)
				*end = (char)tolower((unsigned char)*end);
			continue;
		}
		if (!(colon = strchr(line, ':')) || colon == line)
			continue;
		*colon = '\0';
		info->field[info->count].section = sect;
		info->field[info->count].name = line;
		info->field[info->count].value = colon + 1;
		info->count++;
	}
	*out = info;
	info = NULL;
out:
	ops_redis_info_free(info);
	ops_redis_reply_free(rep);
	return rc;
}

const char *ops_redis_info_value(const ops_redis_info *info, const char *name)
{
	size_t i;

	for (i = 0; info && i < info->count; i++)
		if (strcmp(info->field[i].name, name) == 0)
			return info->field[i].value;
	return NULL;
}

int ops_redis_info_number(const ops_redis_info *info, const char *name, double *out)
{
	const char *v = ops_redis_info_value(info, name);
	char *end;
	double d;

	if (!v || !*v)
		return 0;
	errno = 0;
	d = strtod(v, &end);
	if (errno || *end)
		return 0;
	*out = d;
	return 1;
}

static double info_or_minus1(const ops_redis_info *info, const char *name)
{
	double d;

	return ops_redis_info_number(info, name, &d) ? d : -1;
}

void ops_redis_info_usage(const ops_redis_info *info, ops_redis_usage *u)
{
	u->used_memory = info_or_minus1(info, "used_memory");
	u->maxmemory = info_or_minus1(info, "maxmemory");
	u->memory_ratio = u->maxmemory > 0 && u->used_memory >= 0 ? u->used_memory / u->maxmemory
								  : -1;
	u->hits = info_or_minus1(info, "keyspace_hits");
	u->misses = info_or_minus1(info, "keyspace_misses");
	u->lookups = u->hits >= 0 && u->misses >= 0 ? u->hits + u->misses : -1;
	/* Before the first lookup there is no ratio. */
	u->hit_ratio = u->lookups > 0 ? u->hits / u->lookups : -1;
}

int ops_redis_usage_hit_ratio_judged(const ops_redis_usage *u, double min_lookups)
{
	return u->lookups > 0 && u->lookups >= min_lookups;
}

void ops_redis_info_free(ops_redis_info *info)
{
	if (!info)
		return;
	free(info->field);
	free(info->text_);
	free(info);
}

ops_code ops_redis_config_get(ops_redis *r, const char *param, char **value, ops_error *err)
{
	ops_redis_reply *rep = NULL;
	ops_code rc;
	size_t i;

	*value = NULL;
	if ((rc = ops_redis_call(r, &rep, err, "CONFIG", "GET", param, NULL)) != OPS_OK)
		return rc;
	rc = ops_error_set(err, OPS_EFAIL, "Redis at '%s' has no configuration parameter '%s'",
			   r->where, param);
	for (i = 0; rep->type == OPS_REDIS_ARRAY && i + 1 < rep->elements; i += 2) {
		const ops_redis_reply *k = rep->element[i], *v = rep->element[i + 1];

		if (k->type != OPS_REDIS_STRING || v->type != OPS_REDIS_STRING ||
		    strcasecmp(k->str, param) != 0)
			continue;
		ops_error_clear(err);
		rc = (*value = strdup(v->str)) ? OPS_OK : ops_error_oom(err);
		break;
	}
	ops_redis_reply_free(rep);
	return rc;
}
