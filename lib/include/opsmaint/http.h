/*
 * HTTP(S) over libcurl, for everything in opsctl that talks to a service:
 * the S3 store today, health checks of an API, alert webhooks (Slack,
 * PagerDuty, Alertmanager) and scans next.  A client (ops_http) holds the
 * options and one connection cache; a request is method, URL, headers and a
 * body, and its answer comes back as a status, headers and a capped body.
 *
 * What every request gets, so that no caller has to remember it:
 *  - timeouts: connect, whole attempt, and a stall (no byte moved) limit;
 *  - a cap on the response body (a peer that floods is an OPS_EDATA error
 *    naming the cap, never unbounded memory) and on the response headers;
 *  - retries with exponential backoff and jitter, on transient failures
 *    only (connect and timeout errors, HTTP 408, 429, 500, 502, 503, 504),
 *    for idempotent requests whose body can be sent again; Retry-After
 *    (seconds or an HTTP-date) is honoured up to a maximum.  A request that
 *    never left (DNS, connection refused, TLS handshake) is retried whatever
 *    its method, since the server cannot have acted on it;
 *  - TLS verification of the peer and its host name, always: there is no
 *    switch to turn it off; a CA file or directory can be named instead;
 *  - cancellation: ops_cancel_request() aborts a transfer within about a
 *    second and cuts a retry wait short, and the request returns OPS_EINTR;
 *  - redaction: Authorization, Proxy-Authorization, X-Amz-Security-Token,
 *    cookies and other credential headers, the password, and token or
 *    signature parameters of a query string never reach a log line or an
 *    error message.  Messages name a service by its origin
 *    (scheme://host:port), never its path or query.
 *
 * Any complete HTTP answer is OPS_OK with its status: the caller decides what
 * a 404 means.  Errors: unreachable, DNS, connect, timeout and TLS
 * verification failures are OPS_EUNAVAIL (a certificate that does not
 * verify makes the service unusable; it is not a local permission problem,
 * so not OPS_EPERM), a capped body OPS_EDATA, a malformed URL, an unknown
 * scheme or an unreadable CA or client certificate OPS_ECONFIG, a redirect
 * loop or one to a scheme not allowed OPS_EFAIL, cancellation OPS_EINTR, and
 * a source's or sink's failure is returned as it set it.
 *
 * It does not do cookies, HTTP authentication other than Basic and AWS
 * SigV4, or a switch to turn TLS verification off; proxies are libcurl's
 * (the http_proxy/https_proxy/no_proxy environment).  libcurl is loaded on
 * the first ops_http_new(), never at start-up.  A client is not thread-safe:
 * one per thread.
 */
#ifndef OPSMAINT_HTTP_H
#define OPSMAINT_HTTP_H

#include "opsmaint/api.h"
OPS_API_BEGIN

#include <stddef.h>
#include <time.h>
#include "opsmaint/error.h"

typedef struct ops_http ops_http;

typedef struct ops_http_opts {
	/* Starts the client's log lines ("S3", "health 'api'"); NULL: "HTTP". */
	const char *name;
	double connect_timeout;	/* seconds to connect, TLS included (10); 0: libcurl's */
	double timeout;		/* seconds one attempt may take (60); 0: no limit */
	double stall_timeout;	/* seconds without a byte moved that end an attempt (30); 0: never */
	size_t max_body;	/* bytes of response body one attempt may receive (4 MiB; 0: that) */
	int retries;		/* attempts after the first, on transient failures (2) */
	double backoff;		/* seconds before the first retry (0.2), doubled each time, */
	double backoff_max;	/* up to this (5), plus up to half again as jitter */
	double retry_after_max;	/* a server's Retry-After is honoured up to this (30) */
	int max_redirects;	/* 0: a 3xx is the answer (default); N: follow up to N */
	/* PEM bundle of the CAs to trust instead of the system's; NULL: from
	 * $CURL_CA_BUNDLE, else $SSL_CERT_FILE, else the system's */
	const char *ca_file;
	const char *ca_path;	/* directory of hashed CA certificates; NULL: $SSL_CERT_DIR */
	const char *cert_file;	/* client certificate (PEM) for mutual TLS; NULL: none */
	const char *key_file;	/* its private key; NULL: in cert_file */
	/*
	 * "aws:amz:REGION:SERVICE": sign every request with AWS SigV4, user
	 * and password being the access key id and secret.
	 */
	const char *aws_sigv4;
	const char *user;	/* HTTP Basic user (or the AWS access key id) */
	const char *password;	/* its password or secret; copied, wiped on free */
	/* When the log level is debug: every exchange's headers as debug lines, redacted. */
	int trace;
	/* Record the server certificate's expiry in ops_http_resp.cert_expiry (https). */
	int cert_expiry;
	/*
	 * Offer only TLS 1.0 and 1.1 (https), at OpenSSL's security level 0 so
	 * that they can be offered at all: for a scan checking that a server
	 * refuses them.  The peer and its host name are still verified.
	 */
	int tls_legacy_only;
} ops_http_opts;

/* Fill o with the defaults given in parentheses above. */
void ops_http_opts_init(ops_http_opts *o);

/*
 * A client with the options o (strings are copied).  Loads libcurl on first
 * use: OPS_EUNAVAIL naming it when it is missing.  OPS_ECONFIG for options
 * that cannot work (a negative timeout, a key without a certificate).
 */
ops_code ops_http_new(const ops_http_opts *o, ops_http **out, ops_error *err);
/* Close the client's connections and wipe its password.  NULL is ignored. */
void ops_http_free(ops_http *h);

/*
 * A request body from a callback: copy up to len bytes into buf, set *got
 * (0 at the end); a non-OK return aborts the request with that error.
 */
typedef ops_code (*ops_http_source_fn)(void *arg, void *buf, size_t len, size_t *got,
				       ops_error *err);
/* Start the source again from its first byte (so that a request can be retried). */
typedef ops_code (*ops_http_rewind_fn)(void *arg, ops_error *err);
/* A 2xx response body, piece by piece; a non-OK return aborts the request. */
typedef ops_code (*ops_http_sink_fn)(void *arg, const void *data, size_t len, ops_error *err);

typedef enum ops_http_idempotence {
	OPS_HTTP_BY_METHOD = 0,	/* GET, HEAD, PUT, DELETE, OPTIONS are; POST and PATCH not */
	OPS_HTTP_IDEMPOTENT,	/* sending it twice does no harm (S3's multipart POSTs) */
	OPS_HTTP_NOT_IDEMPOTENT	/* never sent twice once it may have reached the server */
} ops_http_idempotence;

typedef struct ops_http_req {
	const char *method;	/* NULL: GET, or POST when there is a body */
	const char *url;	/* http:// or https:// */
	/* "Name: value" lines, NULL-terminated; a line break in one is refused. */
	const char *const *headers;
	/* The body, from memory (always replayable)... */
	const void *body;
	size_t body_len;
	/* ...or from a source of source_len bytes (-1: unknown, sent chunked). */
	ops_http_source_fn source;
	ops_http_rewind_fn rewind;	/* NULL: no retry once the source has been read */
	void *source_arg;
	long long source_len;
	/* A 2xx body goes here instead of resp->body; other answers' bodies stay in resp->body. */
	ops_http_sink_fn sink;
	void *sink_arg;
	ops_http_idempotence idempotent;
	/*
	 * Starts the request's error messages ("storing 'db/x': ...") and names
	 * it in log lines; NULL: messages start with the failure, logs name the
	 * method and origin.
	 */
	const char *what;
	/* The path itself is a credential (a Slack webhook): traces show only the origin. */
	int secret_url;
} ops_http_req;

/* How a request failed without an answer, for callers that report it (health, scan). */
typedef enum ops_http_failure {
	OPS_HTTP_F_NONE = 0,	/* an answer came, or the failure was the caller's */
	OPS_HTTP_F_UNREACHABLE,	/* DNS, connect, or the connection broke */
	OPS_HTTP_F_TIMEOUT,	/* the connect, total or stall timeout */
	OPS_HTTP_F_TLS,		/* the handshake or the certificate */
	OPS_HTTP_F_TOO_LARGE,	/* the body or header cap */
	OPS_HTTP_F_REDIRECT	/* too many redirects, or one to a scheme not allowed */
} ops_http_failure;

typedef struct ops_http_resp {
	long status;		/* the final answer's HTTP status; 0 when there was none */
	char *body;		/* its body, NUL-terminated (NULL when empty or sent to the sink) */
	size_t len;
	int retries;		/* attempts after the first */
	double seconds;		/* the whole request, waits between attempts included */
	time_t cert_expiry;	/* with opts.cert_expiry: the server certificate's notAfter, or 0 */
	ops_http_failure failure;
	/* Why the last attempt failed without an answer (libcurl's words, redacted); "" otherwise. */
	char reason[256];
	char *headers_;		/* private: the final answer's headers, see ops_http_resp_header */
	size_t headers_len_;
} ops_http_resp;

/*
 * Send req (retrying as the options say) and fill resp, which is always
 * initialised and must be released with ops_http_resp_release() whatever the
 * result.  OPS_OK for any complete HTTP answer; errors as the file comment
 * says.  Transient failures and retries
 * are logged: one debug line per retry and one info line for a request that
 * needed any ("S3 storing 'x': succeeded after 2 retries (first failure:
 * HTTP 500)").
 */
ops_code ops_http_request(ops_http *h, const ops_http_req *req, ops_http_resp *resp,
			  ops_error *err);

/*
 * The value of response header name (case-insensitive; the first if
 * repeated), surrounding blanks removed; NULL when absent.  Points into resp.
 */
const char *ops_http_resp_header(const ops_http_resp *resp, const char *name);
/* Free what resp holds and zero it.  A zeroed resp is accepted. */
void ops_http_resp_release(ops_http_resp *resp);

/*
 * s percent-encoded as RFC 3986 wants in a path or query: every byte but
 * letters, digits, "-._~" and those in keep ("/" for a path, "" for a
 * query value).  Newly allocated; NULL when out of memory.
 */
char *ops_http_escape(const char *s, const char *keep);

OPS_API_END
#endif
