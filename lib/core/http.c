/*
 * The one libcurl wrapper (opsmaint/http.h says what every request gets).
 * Each attempt is one curl_easy_perform on the client's handle, reset before
 * it so that no option of one request leaks into the next while the
 * connections stay cached.  Everything a message or a log line may show
 * passes through one redaction step first.
 *
 * It deliberately does not: turn TLS verification off (there is no option
 * for it), decompress bodies (the cap would then count the wrong bytes),
 * keep cookies, or send a request twice that may have been acted on unless
 * the caller says doing so is harmless.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define LL_WANT_CURL
#include "core/lazylib.h"
#include "core/curl_internal.h"
#include <openssl/x509.h>

#include "opsmaint/cancel.h"
#include "opsmaint/clock.h"
#include "opsmaint/http.h"
#include "opsmaint/log.h"

#define DEFAULT_MAX_BODY (4u << 20)
/* libcurl refuses a single header over 100 KiB; this bounds all of them. */
#define HEADERS_MAX (256u << 10)
#define REDACTED "[redacted]"
#define SECRETS_MAX 32
/* How often a retry wait looks at the cancellation flag. */
#define PAUSE_SLICE 0.05

struct ops_http {
	CURL *curl;
	ops_http_opts o;	/* its strings point at the copies below */
	char *name, *ca_file, *ca_path, *cert_file, *key_file, *aws_sigv4, *user, *password;
	unsigned seed;		/* backoff jitter */
};

/* Byte strings that must never be shown: credential header values, the password... */
struct secrets {
	struct {
		const char *p;
		size_t len;
	} v[SECRETS_MAX];
	size_t n;
};

/* The state of one attempt, shared with libcurl's callbacks. */
struct xfer {
	const ops_http *h;
	const ops_http_req *req;
	ops_http_resp *resp;
	const struct secrets *sec;
	size_t cap;		/* body bytes allowed in this attempt */
	size_t body_total;	/* body bytes received in this attempt, of every answer */
	size_t body_alloc, headers_alloc, headers_total;
	long status;		/* of the answer being received */
	int over_cap, over_headers, oom, cancelled;
	int source_used, sink_used;
	ops_code cb_rc;		/* a source's or sink's failure */
	ops_error cb_err;
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;

static void global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- options and clients ---- */

void ops_http_opts_init(ops_http_opts *o)
{
	memset(o, 0, sizeof *o);
	o->connect_timeout = 10;
	o->timeout = 60;
	o->stall_timeout = 30;
	o->max_body = DEFAULT_MAX_BODY;
	o->retries = 2;
	o->backoff = 0.2;
	o->backoff_max = 5;
	o->retry_after_max = 30;
}

/* *dst = a copy of src (NULL stays NULL); 0 when out of memory. */
static int copy_opt(char **dst, const char *src)
{
	*dst = NULL;
	if (!src)
		return 1;
	*dst = strdup(src);
	return *dst != NULL;
}

static const char *env_nonempty(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

ops_code ops_http_new(const ops_http_opts *o, ops_http **out, ops_error *err)
{
	ops_http_opts defaults;
	const char *ca_file, *ca_path;
	ops_http *h;

	*out = NULL;
	if (!o) {
		ops_http_opts_init(&defaults);
		o = &defaults;
	}
	if (o->connect_timeout < 0 || o->timeout < 0 || o->stall_timeout < 0 || o->retries < 0 ||
	    o->backoff < 0 || o->backoff_max < 0 || o->retry_after_max < 0 || o->max_redirects < 0)
		return ops_error_set(err, OPS_ECONFIG, "%s: a timeout, retry or redirect option is negative",
				     o->name ? o->name : "HTTP");
	if (o->key_file && !o->cert_file)
		return ops_error_set(err, OPS_ECONFIG, "%s: a client key '%s' without its certificate",
				     o->name ? o->name : "HTTP", o->key_file);
	/* libcurl is loaded here, not at start-up: most commands never need it. */
	if (ll_curl(err) != OPS_OK)
		return err->code;
	pthread_once(&global_once, global_init);
	h = calloc(1, sizeof *h);
	if (!h)
		return ops_error_oom(err);
	h->o = *o;
	if (!h->o.max_body)
		h->o.max_body = DEFAULT_MAX_BODY;
	/* The variables curl and OpenSSL users already set for a private CA;
	 * libcurl itself reads none of them and Debian's build names its own
	 * bundle, so without this they would be silently ignored. */
	ca_file = o->ca_file && *o->ca_file ? o->ca_file : env_nonempty("CURL_CA_BUNDLE");
	if (!ca_file)
		ca_file = env_nonempty("SSL_CERT_FILE");
	ca_path = o->ca_path && *o->ca_path ? o->ca_path : env_nonempty("SSL_CERT_DIR");
	if (!copy_opt(&h->name, o->name ? o->name : "HTTP") || !copy_opt(&h->ca_file, ca_file) ||
	    !copy_opt(&h->ca_path, ca_path) || !copy_opt(&h->cert_file, o->cert_file) ||
	    !copy_opt(&h->key_file, o->key_file) || !copy_opt(&h->aws_sigv4, o->aws_sigv4) ||
	    !copy_opt(&h->user, o->user) || !copy_opt(&h->password, o->password) ||
	    !(h->curl = curl_easy_init())) {
		ops_http_free(h);
		return ops_error_oom(err);
	}
	h->o.name = h->name;
	h->o.ca_file = h->ca_file;
	h->o.ca_path = h->ca_path;
	h->o.cert_file = h->cert_file;
	h->o.key_file = h->key_file;
	h->o.aws_sigv4 = h->aws_sigv4;
	h->o.user = h->user;
	h->o.password = h->password;
	h->seed = (unsigned)time(NULL) ^ (unsigned)getpid() ^ (unsigned)(size_t)h;
	*out = h;
	return OPS_OK;
}

void ops_http_free(ops_http *h)
{
	if (!h)
		return;
	if (h->curl)
		curl_easy_cleanup(h->curl);
	free(h->name);
	free(h->ca_file);
	free(h->ca_path);
	free(h->cert_file);
	free(h->key_file);
	free(h->aws_sigv4);
	free(h->user);
	if (h->password)
		explicit_bzero(h->password, strlen(h->password));
	free(h->password);
	free(h);
}

/* ---- redaction ---- */

/* A header or query parameter name that announces a credential. */
static int secret_name(const char *name, size_t len)
{
	static const char *const words[] = {
		"auth", "token", "secret", "pass", "sig", "key", "credential", "session", "cookie"};
	char low[128];
	size_t i;

	if (len >= sizeof low)
		len = sizeof low - 1;
	for (i = 0; i < len; i++)
		low[i] = (char)tolower((unsigned char)name[i]);
	low[len] = '\0';
	for (i = 0; i < sizeof words / sizeof words[0]; i++)
		if (strstr(low, words[i]))
			return 1;
	return 0;
}

static void secret_add(struct secrets *s, const char *p, size_t len)
{
	/* Shorter strings would blank out ordinary words in libcurl's text. */
	if (len >= 4 && s->n < SECRETS_MAX) {
		s->v[s->n].p = p;
		s->v[s->n].len = len;
		s->n++;
	}
}

/* Where the path of url starts (after scheme://authority), or its end. */
static const char *url_path(const char *url)
{
	const char *p = strstr(url, "://");

	p = p ? p + 3 : url;
	return p + strcspn(p, "/?#");
}

/* The values of url's credential-like query parameters (and all of it after a secret path). */
static void secrets_of_url(struct secrets *s, const char *url, int secret_url)
{
	const char *path = url_path(url), *q = strchr(path, '?'), *at, *auth;

	auth = strstr(url, "://");
	auth = auth ? auth + 3 : url;
	at = memchr(auth, '@', (size_t)(path - auth));
	if (at) {
		const char *colon = memchr(auth, ':', (size_t)(at - auth));

		if (colon)
			secret_add(s, colon + 1, (size_t)(at - colon - 1));
	}
	if (secret_url && *path)
		secret_add(s, path, strlen(path));
	while (q && *q) {
		const char *name = q + 1, *end = name + strcspn(name, "&#"), *eq;

		eq = memchr(name, '=', (size_t)(end - name));
		if (eq && secret_name(name, (size_t)(eq - name)))
			secret_add(s, eq + 1, (size_t)(end - eq - 1));
		q = *end == '&' ? end : NULL;
	}
}

/* Copy in to out (size bytes) with every secret replaced by REDACTED. */
static void scrub(const char *in, char *out, size_t size, const struct secrets *s)
{
	size_t o = 0, i;

	if (!size)
		return;
	while (*in && o + 1 < size) {
		int hit = 0;

		for (i = 0; i < s->n; i++)
			if (strncmp(in, s->v[i].p, s->v[i].len) == 0) {
				size_t r = strlen(REDACTED);

				if (r > size - 1 - o)
					r = size - 1 - o;
				memcpy(out + o, REDACTED, r);
				o += r;
				in += s->v[i].len;
				hit = 1;
				break;
			}
		if (!hit)
			out[o++] = *in++;
	}
	out[o] = '\0';
}

/*
 * One line of a header block as a trace may show it: a credential header's
 * value, a secret path, credential-like query values and any known secret
 * replaced.
 */
static void redact_line(const char *line, size_t len, const struct xfer *x, char *out,
			size_t size)
{
	char tmp[1024];
	const char *colon, *sp, *sp2 = NULL;

	if (len >= sizeof tmp)
		len = sizeof tmp - 1;
	colon = memchr(line, ':', len);
	sp = memchr(line, ' ', len);
	if (sp)
		sp2 = memchr(sp + 1, ' ', len - (size_t)(sp + 1 - line));
	if (colon && (!sp || colon < sp) && secret_name(line, (size_t)(colon - line))) {
		snprintf(tmp, sizeof tmp, "%.*s: %s", (int)(colon - line), line, REDACTED);
	} else if (sp2 && sp[1] == '/' && x->req->secret_url) {
		/* The request line, "METHOD /path HTTP/1.1": the path is the credential. */
		snprintf(tmp, sizeof tmp, "%.*s /%s%.*s", (int)(sp - line), line, REDACTED,
			 (int)(len - (size_t)(sp2 - line)), sp2);
	} else {
		snprintf(tmp, sizeof tmp, "%.*s", (int)len, line);
	}
	scrub(tmp, out, size, x->sec);
}

/* ---- libcurl's callbacks ---- */

/* Room for need bytes in *buf (doubling, never past limit); 0 when out of memory. */
static int reserve(char **buf, size_t *alloc, size_t need, size_t limit)
{
	size_t want = *alloc ? *alloc : 1024;
	char *grown;

	if (need <= *alloc)
		return 1;
	while (want < need)
		want *= 2;
	if (want > limit && limit >= need)
		want = limit;
	grown = realloc(*buf, want);
	if (!grown)
		return 0;
	*buf = grown;
	*alloc = want;
	return 1;
}

static size_t header_cb(char *data, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	ops_http_resp *r = x->resp;
	size_t len = size * n, keep = len;

	if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
		const char *sp = memchr(data, ' ', len);

		/* A new answer (after 100 Continue or a redirect): only the last one counts. */
		x->status = sp ? strtol(sp + 1, NULL, 10) : 0;
		r->headers_len_ = 0;
		r->len = 0;
		if (r->body)
			r->body[0] = '\0';
		return len;
	}
	while (keep && (data[keep - 1] == '\r' || data[keep - 1] == '\n' || data[keep - 1] == ' ' ||
			data[keep - 1] == '\t'))
		keep--;
	if (!keep)
		return len;
	x->headers_total += len;
	if (x->headers_total > HEADERS_MAX) {
		x->over_headers = 1;
		return 0;
	}
	if (!reserve(&r->headers_, &x->headers_alloc, r->headers_len_ + keep + 1, HEADERS_MAX + 1)) {
		x->oom = 1;
		return 0;
	}
	memcpy(r->headers_ + r->headers_len_, data, keep);
	r->headers_len_ += keep;
	r->headers_[r->headers_len_++] = '\0';
	return len;
}

static size_t write_cb(char *data, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	ops_http_resp *r = x->resp;
	size_t len = size * n;

	if (len > x->cap - x->body_total) {
		x->over_cap = 1;
		return 0;
	}
	x->body_total += len;
	if (x->req->sink && x->status / 100 == 2) {
		ops_code rc;

		x->sink_used = 1;
		rc = x->req->sink(x->req->sink_arg, data, len, &x->cb_err);
		if (rc != OPS_OK) {
			x->cb_rc = rc;
			return 0;
		}
		return len;
	}
	if (!reserve(&r->body, &x->body_alloc, r->len + len + 1, x->cap + 1)) {
		x->oom = 1;
		return 0;
	}
	memcpy(r->body + r->len, data, len);
	r->len += len;
	r->body[r->len] = '\0';
	return len;
}

static size_t read_cb(char *buf, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t got = 0;
	ops_code rc;

	x->source_used = 1;
	rc = x->req->source(x->req->source_arg, buf, size * n, &got, &x->cb_err);
	if (rc != OPS_OK) {
		x->cb_rc = rc;
		return CURL_READFUNC_ABORT;
	}
	return got > size * n ? size * n : got;
}

/* libcurl rewinds a body to send it again (a redirect, an authentication round). */
static int seek_cb(void *arg, curl_off_t offset, int origin)
{
	struct xfer *x = arg;

	if (offset != 0 || origin != SEEK_SET || !x->req->rewind)
		return CURL_SEEKFUNC_CANTSEEK;
	x->cb_rc = x->req->rewind(x->req->source_arg, &x->cb_err);
	if (x->cb_rc != OPS_OK)
		return CURL_SEEKFUNC_FAIL;
	return CURL_SEEKFUNC_OK;
}

/* Called about once a second even when nothing moves: the place to notice a signal. */
static int xferinfo_cb(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	struct xfer *x = arg;

	if (ops_cancelled()) {
		x->cancelled = 1;
		return 1;
	}
	return 0;
}

static int trace_cb(CURL *c, curl_infotype type, char *data, size_t size, void *arg)
{
	struct xfer *x = arg;
	const char *mark, *p = data, *end = data + size;

	if (type == CURLINFO_TEXT)
		mark = "*";
	else if (type == CURLINFO_HEADER_IN)
		mark = "<";
	else if (type == CURLINFO_HEADER_OUT)
		mark = ">";
	else
		return 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		char line[1024];

		while (len && (p[len - 1] == '\r' || p[len - 1] == ' '))
			len--;
		if (len) {
			redact_line(p, len, x, line, sizeof line);
			ops_log_debug("%s %s %s", x->h->name, mark, line);
		}
		p = nl ? nl + 1 : end;
	}
	return 0;
}

/* ---- one request ---- */

/* scheme://host[:port] of url, without user information; -1 when it is not http(s). */
static int url_origin(const char *url, char *out, size_t size)
{
	const char *sep = strstr(url, "://"), *auth, *end, *at;

	if (!sep)
		return -1;
	if (!((sep - url == 4 && strncasecmp(url, "http", 4) == 0) ||
	      (sep - url == 5 && strncasecmp(url, "https", 5) == 0)))
		return -1;
	auth = sep + 3;
	end = auth + strcspn(auth, "/?#");
	at = memchr(auth, '@', (size_t)(end - auth));
	if (at)
		auth = at + 1;
	if (end == auth)
		return -1;
	snprintf(out, size, "%.*s://%.*s", (int)(sep - url), url, (int)(end - auth), auth);
	return 0;
}

static int is_idempotent(const ops_http_req *req, const char *method)
{
	static const char *const safe[] = {"GET", "HEAD", "PUT", "DELETE", "OPTIONS"};
	size_t i;

	if (req->idempotent != OPS_HTTP_BY_METHOD)
		return req->idempotent == OPS_HTTP_IDEMPOTENT;
	for (i = 0; i < sizeof safe / sizeof safe[0]; i++)
		if (strcmp(method, safe[i]) == 0)
			return 1;
	return 0;
}

/* Answers that say "try again later". */
static int transient_status(long status)
{
	return status == 408 || status == 429 || status == 500 || status == 502 || status == 503 ||
	       status == 504;
}

/* Failures another attempt may not meet; a bad certificate or URL it would. */
static int transient_curl(CURLcode cc)
{
	switch (cc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return 1;
	default:
		return 0;
	}
}

/*
 * Seconds a Retry-After value asks for: delta-seconds or an HTTP-date (the
 * IMF-fixdate, RFC 850 and asctime forms); -1 when absent or unreadable.
 */
static double retry_after(const char *v)
{
	time_t t;

	if (!v)
		return -1;
	while (*v == ' ' || *v == '\t')
		v++;
	if (isdigit((unsigned char)*v)) {
		char *end;
		long long s;

		errno = 0;
		s = strtoll(v, &end, 10);
		if (*end != '\0' && *end != ' ')
			return -1;
		if (errno == ERANGE || s > INT_MAX)
			s = INT_MAX;
		return (double)s;
	}
	if (ops_time_parse_http(v, &t) == 0) {
		double d = (double)t - ops_wall_clock();

		return d > 0 ? d : 0;
	}
	return -1;
}

/* Wait seconds, or less when cancellation is asked for (then OPS_EINTR). */
static ops_code pause_for(double seconds, ops_error *err)
{
	double until = ops_clock() + seconds;

	for (;;) {
		double left = until - ops_clock();
		struct timespec ts;

		if (ops_cancelled())
			return ops_cancel_check(err);
		if (left <= 0)
			return OPS_OK;
		if (left > PAUSE_SLICE)
			left = PAUSE_SLICE;
		ts.tv_sec = (time_t)left;
		ts.tv_nsec = (long)((left - (double)ts.tv_sec) * 1e9);
		nanosleep(&ts, NULL);
	}
}

/* The server certificate's notAfter from libcurl's certificate text, or 0. */
static time_t cert_expiry(CURL *c)
{
	struct curl_certinfo *ci = NULL;
	struct curl_slist *l;

	if (curl_easy_getinfo(c, CURLINFO_CERTINFO, &ci) != CURLE_OK || !ci || ci->num_of_certs < 1)
		return 0;
	for (l = ci->certinfo[0]; l; l = l->next)
		if (strncmp(l->data, "Expire date:", 12) == 0) {
			struct tm tm;

			memset(&tm, 0, sizeof tm);
			if (strptime(l->data + 12, " %b %e %H:%M:%S %Y GMT", &tm))
				return timegm(&tm);
		}
	return 0;
}

/* Set every option of one attempt; the name of an option libcurl refused, or NULL. */
static const char *setup(ops_http *h, const ops_http_req *req, const char *method,
			 struct curl_slist *headers, struct xfer *x, char *errbuf)
{
	CURL *c = h->curl;
	int https = strncasecmp(req->url, "https:", 6) == 0;
	const char *refused = NULL;

#define SET(opt, val) \
	do { \
		if (curl_easy_setopt(c, opt, val) != CURLE_OK && !refused) \
			refused = #opt; \
	} while (0)
	curl_easy_reset(c);
	SET(CURLOPT_URL, req->url);
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	/* A redirect never downgrades https to http. */
	SET(CURLOPT_REDIR_PROTOCOLS_STR, https ? "https" : "http,https");
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_ERRORBUFFER, errbuf);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	if (https && h->o.tls_legacy_only) {
		SET(CURLOPT_SSLVERSION, (long)(CURL_SSLVERSION_TLSv1_0 | CURL_SSLVERSION_MAX_TLSv1_1));
		/* OpenSSL 3 refuses TLS < 1.2 below level 0 whatever the version range says. */
		SET(CURLOPT_SSL_CIPHER_LIST, "DEFAULT:@SECLEVEL=0");
	} else {
		SET(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	}
	if (h->ca_file)
		SET(CURLOPT_CAINFO, h->ca_file);
	if (h->ca_path)
		SET(CURLOPT_CAPATH, h->ca_path);
	if (h->cert_file)
		SET(CURLOPT_SSLCERT, h->cert_file);
	if (h->key_file)
		SET(CURLOPT_SSLKEY, h->key_file);
	if (h->o.cert_expiry)
		SET(CURLOPT_CERTINFO, 1L);
	if (h->o.connect_timeout > 0)
		SET(CURLOPT_CONNECTTIMEOUT_MS, (long)ceil(h->o.connect_timeout * 1000));
	if (h->o.timeout > 0)
		SET(CURLOPT_TIMEOUT_MS, (long)ceil(h->o.timeout * 1000));
	if (h->o.stall_timeout > 0) {
		SET(CURLOPT_LOW_SPEED_LIMIT, 1L);
		SET(CURLOPT_LOW_SPEED_TIME, (long)ceil(h->o.stall_timeout));
	}
	if (h->o.max_redirects > 0) {
		SET(CURLOPT_FOLLOWLOCATION, 1L);
		SET(CURLOPT_MAXREDIRS, (long)h->o.max_redirects);
	}
	if (h->aws_sigv4)
		SET(CURLOPT_AWS_SIGV4, h->aws_sigv4);
	if (h->user)
		SET(CURLOPT_USERNAME, h->user);
	if (h->password)
		SET(CURLOPT_PASSWORD, h->password);
	SET(CURLOPT_HTTPHEADER, headers);
	SET(CURLOPT_WRITEFUNCTION, write_cb);
	SET(CURLOPT_WRITEDATA, x);
	SET(CURLOPT_HEADERFUNCTION, header_cb);
	SET(CURLOPT_HEADERDATA, x);
	SET(CURLOPT_NOPROGRESS, 0L);
	SET(CURLOPT_XFERINFOFUNCTION, xferinfo_cb);
	SET(CURLOPT_XFERINFODATA, x);
	if (h->o.trace && ops_log_get_level() >= OPS_LOG_DEBUG) {
		SET(CURLOPT_DEBUGFUNCTION, trace_cb);
		SET(CURLOPT_DEBUGDATA, x);
		SET(CURLOPT_VERBOSE, 1L);
	}
	if (strcmp(method, "HEAD") == 0) {
		SET(CURLOPT_NOBODY, 1L);
	} else if (req->source) {
		SET(CURLOPT_READFUNCTION, read_cb);
		SET(CURLOPT_READDATA, x);
		SET(CURLOPT_SEEKFUNCTION, seek_cb);
		SET(CURLOPT_SEEKDATA, x);
		if (strcmp(method, "PUT") == 0) {
			SET(CURLOPT_UPLOAD, 1L);
			SET(CURLOPT_INFILESIZE_LARGE, (curl_off_t)req->source_len);
		} else {
			SET(CURLOPT_POST, 1L);
			SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->source_len);
			SET(CURLOPT_CUSTOMREQUEST, method);
		}
	} else if (req->body || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0) {
		SET(CURLOPT_POSTFIELDS, req->body ? (const char *)req->body : "");
		SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(req->body ? req->body_len : 0));
		SET(CURLOPT_CUSTOMREQUEST, method);
	} else if (strcmp(method, "GET") != 0) {
		SET(CURLOPT_CUSTOMREQUEST, method);
	}
#undef SET
	return refused;
}

void core_tls_cause(CURL *c, const char *reason, char *out, size_t size)
{
	long vr = 0;

	curl_easy_getinfo(c, CURLINFO_SSL_VERIFYRESULT, &vr);
	switch (vr) {
	case X509_V_ERR_CERT_HAS_EXPIRED:
		snprintf(out, size, "the certificate has expired");
		break;
	case X509_V_ERR_CERT_NOT_YET_VALID:
		snprintf(out, size, "the certificate is not valid yet");
		break;
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
		snprintf(out, size, "the certificate is signed by an unknown CA (%s)",
			 X509_verify_cert_error_string(vr));
		break;
	case X509_V_ERR_HOSTNAME_MISMATCH:
	case X509_V_ERR_IP_ADDRESS_MISMATCH:
		snprintf(out, size, "the certificate is for another host name");
		break;
	default:
		/*
		 * libcurl checks the name itself once OpenSSL's verification has
		 * passed, and then records X509_V_OK or "unspecified": its
		 * message is all there is to go by.
		 */
		if (strstr(reason, "host name") || strstr(reason, "subject name"))
			snprintf(out, size, "the certificate is for another host name");
		else if (vr != X509_V_OK && vr != X509_V_ERR_UNSPECIFIED)
			snprintf(out, size, "%s", X509_verify_cert_error_string(vr));
		else
			snprintf(out, size, "%s", reason);
		break;
	}
}

/* Whether the attempt had followed a redirect when it failed. */
static int redirected(ops_http *h, const char *url)
{
	const char *effective = NULL;
	long n = 0;

	curl_easy_getinfo(h->curl, CURLINFO_REDIRECT_COUNT, &n);
	curl_easy_getinfo(h->curl, CURLINFO_EFFECTIVE_URL, &effective);
	return n > 0 || (effective && strcmp(effective, url) != 0);
}

/* The error of an attempt that ended without an answer, after the last retry. */
static ops_code transfer_error(ops_http *h, CURLcode cc, const char *reason, const char *pfx,
			       const char *origin, int redirect, ops_error *err)
{
	char cause[300];
	ops_code rc;

	if (cc == CURLE_UNSUPPORTED_PROTOCOL && redirect)
		return ops_error_set(err, OPS_EFAIL, "%s'%s' redirected to a scheme not allowed: %s",
				     pfx, origin, reason);
	switch (cc) {
	case CURLE_PEER_FAILED_VERIFICATION:
		core_tls_cause(h->curl, reason, cause, sizeof cause);
		rc = ops_error_set(err, OPS_EUNAVAIL, "%scannot verify the TLS certificate of '%s': %s",
				   pfx, origin, cause);
		ops_error_detail(err, "%s", reason);
		return rc;
	case CURLE_SSL_CACERT_BADFILE:
		return ops_error_set(err, OPS_ECONFIG, "%scannot use the CA certificates '%s': %s",
				     pfx, h->ca_file ? h->ca_file : h->ca_path ? h->ca_path : "(system)",
				     reason);
	case CURLE_SSL_CERTPROBLEM:
		return ops_error_set(err, OPS_ECONFIG, "%scannot use the client certificate '%s': %s",
				     pfx, h->cert_file ? h->cert_file : "", reason);
	case CURLE_URL_MALFORMAT:
		return ops_error_set(err, OPS_ECONFIG, "%smalformed URL for '%s'", pfx, origin);
	case CURLE_TOO_MANY_REDIRECTS:
		return ops_error_set(err, OPS_EFAIL, "%smore than %d redirects from '%s'", pfx,
				     h->o.max_redirects, origin);
	default:
		return ops_error_set(err, OPS_EUNAVAIL, "%sunable to access '%s': %s", pfx, origin,
				     reason);
	}
}

static ops_http_failure failure_kind(CURLcode cc, int redirect)
{
	if (redirect && (cc == CURLE_TOO_MANY_REDIRECTS || cc == CURLE_UNSUPPORTED_PROTOCOL))
		return OPS_HTTP_F_REDIRECT;
	switch (cc) {
	case CURLE_OPERATION_TIMEDOUT:
		return OPS_HTTP_F_TIMEOUT;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CONNECT_ERROR:
		return OPS_HTTP_F_TLS;
	default:
		return OPS_HTTP_F_UNREACHABLE;
	}
}

/* The request's header list: the caller's lines, checked, and no 100-continue round trip. */
static ops_code header_list(const ops_http_req *req, const char *pfx, struct secrets *sec,
			    struct curl_slist **out, ops_error *err)
{
	struct curl_slist *l = NULL, *grown;
	size_t i;

	*out = NULL;
	for (i = 0; req->headers && req->headers[i]; i++) {
		const char *line = req->headers[i], *colon = strchr(line, ':');

		if (strpbrk(line, "\r\n") || !colon || colon == line) {
			curl_slist_free_all(l);
			return ops_error_set(err, OPS_EUSAGE, "%sheader %zu is not one 'Name: value' line",
					     pfx, i + 1);
		}
		if (secret_name(line, (size_t)(colon - line))) {
			const char *v = colon + 1;

			while (*v == ' ' || *v == '\t')
				v++;
			secret_add(sec, v, strlen(v));
		}
		grown = curl_slist_append(l, line);
		if (!grown) {
			curl_slist_free_all(l);
			return ops_error_oom(err);
		}
		l = grown;
	}
	grown = curl_slist_append(l, "Expect:");
	if (!grown) {
		curl_slist_free_all(l);
		return ops_error_oom(err);
	}
	*out = grown;
	return OPS_OK;
}

/* origin = the URL's scheme://host[:port]; OPS_ECONFIG for a URL that is not http(s). */
static ops_code check_url(const ops_http_req *req, const char *pfx, char *origin, size_t size,
			  ops_error *err)
{
	char shown[32];

	if (req->url && url_origin(req->url, origin, size) == 0)
		return OPS_OK;
	/* Only the scheme: the rest of a URL may be a credential. */
	snprintf(shown, sizeof shown, "%.*s", req->url ? (int)strcspn(req->url, ":/") : 0,
		 req->url ? req->url : "");
	return ops_error_set(err, OPS_ECONFIG, "%s'%s...' is not an http:// or https:// URL", pfx,
			     shown);
}

/* Clear what the previous attempt left, keeping the buffers. */
static void attempt_reset(struct xfer *x)
{
	ops_http_resp *r = x->resp;

	r->len = 0;
	r->headers_len_ = 0;
	r->status = 0;
	r->reason[0] = '\0';
	r->failure = OPS_HTTP_F_NONE;
	x->body_total = x->headers_total = 0;
	x->status = 0;
	x->over_cap = x->over_headers = x->oom = x->cancelled = 0;
}

/*
 * Why a callback stopped the attempt, as the request's error: the source's
 * or sink's own, cancellation, memory, a cap.  OPS_OK when none did.
 */
static ops_code stopped(const struct xfer *x, CURLcode cc, const char *pfx, const char *origin,
			ops_error *err)
{
	ops_code rc;

	if (x->cb_rc != OPS_OK) {
		if (err) {
			*err = x->cb_err;
			err->code = x->cb_rc;
		}
		return x->cb_rc;
	}
	if (x->cancelled || (cc == CURLE_ABORTED_BY_CALLBACK && ops_cancelled())) {
		rc = ops_cancel_check(err);
		return rc != OPS_OK ? rc : ops_error_set(err, OPS_EINTR, "%sinterrupted", pfx);
	}
	if (x->oom)
		return ops_error_oom(err);
	if (x->over_cap || x->over_headers)
		x->resp->failure = OPS_HTTP_F_TOO_LARGE;
	if (x->over_cap)
		return ops_error_set(err, OPS_EDATA, "%sthe answer from '%s' is larger than the %zu-byte cap",
				     pfx, origin, x->cap);
	if (x->over_headers)
		return ops_error_set(err, OPS_EDATA,
				     "%sthe headers from '%s' are larger than the %u-byte cap", pfx, origin,
				     HEADERS_MAX);
	return OPS_OK;
}

/*
 * Seconds before the next attempt: the backoff delay plus up to half again,
 * or what the answer's Retry-After asks (*told set), up to the maximum.
 */
static double next_wait(ops_http *h, double delay, const ops_http_resp *answer, int *told)
{
	double ra = answer ? retry_after(ops_http_resp_header(answer, "Retry-After")) : -1;

	*told = ra > 0;
	if (ra > 0)
		return ra < h->o.retry_after_max ? ra : h->o.retry_after_max;
	return delay + (double)((unsigned long)rand_r(&h->seed) % 1000ul) / 1000.0 * delay / 2;
}

static void log_outcome(const ops_http *h, const char *what, ops_code rc, long status, int retries,
			const char *first)
{
	const char *times = retries == 1 ? "retry" : "retries";

	/* A warning, shown at the default level: a service that needed retries
	 * (503 Slow Down, a flaky proxy) is worth a line in cron's mail before it
	 * fails outright. */
	if (rc == OPS_OK && status < 400)
		ops_log_warn("%s %s: succeeded after %d %s (first failure: %s)", h->name, what, retries,
			     times, first);
	else if (rc == OPS_OK)
		ops_log_warn("%s %s: answered HTTP %ld after %d %s (first failure: %s)", h->name, what,
			     status, retries, times, first);
	else
		ops_log_warn("%s %s: failed after %d %s (first failure: %s)", h->name, what, retries,
			     times, first);
}

ops_code ops_http_request(ops_http *h, const ops_http_req *req, ops_http_resp *resp,
			  ops_error *err)
{
	char origin[256], label[300], pfx[300], first[300] = "", errbuf[CURL_ERROR_SIZE];
	const char *method;
	struct curl_slist *headers = NULL;
	struct secrets sec = { .n = 0 };
	struct xfer x = { .h = h, .req = req, .resp = resp, .sec = &sec, .cap = h->o.max_body };
	double delay = h->o.backoff, t0 = ops_clock();
	int attempt, idempotent;
	ops_code rc;

	memset(resp, 0, sizeof *resp);
	method = req->method ? req->method : req->body || req->source ? "POST" : "GET";
	/* Messages start with the caller's words; log lines name the request in any case. */
	snprintf(pfx, sizeof pfx, "%s%s", req->what ? req->what : "", req->what ? ": " : "");
	if ((rc = check_url(req, pfx, origin, sizeof origin, err)) != OPS_OK)
		return rc;
	if (req->what)
		snprintf(label, sizeof label, "%s", req->what);
	else
		snprintf(label, sizeof label, "%s '%s'", method, origin);
	if (req->body && req->source)
		return ops_error_set(err, OPS_EUSAGE, "%sboth a body and a source", pfx);
	if (h->password)
		secret_add(&sec, h->password, strlen(h->password));
	secrets_of_url(&sec, req->url, req->secret_url);
	rc = header_list(req, pfx, &sec, &headers, err);
	if (rc != OPS_OK)
		return rc;
	idempotent = is_idempotent(req, method);
	for (attempt = 0;; attempt++) {
		const char *refused;
		char why[300];
		CURLcode cc;
		long sent = 0;
		double wait;
		int again, told, redirect = 0;

		if ((rc = ops_cancel_check(err)) != OPS_OK)
			break;
		attempt_reset(&x);
		errbuf[0] = '\0';
		refused = setup(h, req, method, headers, &x, errbuf);
		if (refused) {
			rc = ops_error_set(err, OPS_EUNAVAIL, "%sthis libcurl refuses %s", pfx, refused);
			break;
		}
		cc = curl_easy_perform(h->curl);
		resp->retries = attempt;
		if (h->o.cert_expiry)
			resp->cert_expiry = cert_expiry(h->curl);
		if ((rc = stopped(&x, cc, pfx, origin, err)) != OPS_OK)
			break;
		if (cc == CURLE_OK) {
			curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &resp->status);
			again = transient_status(resp->status);
			snprintf(why, sizeof why, "HTTP %ld", resp->status);
		} else {
			scrub(*errbuf ? errbuf : curl_easy_strerror(cc), resp->reason,
			      sizeof resp->reason, &sec);
			redirect = redirected(h, req->url);
			resp->failure = failure_kind(cc, redirect);
			again = transient_curl(cc);
			snprintf(why, sizeof why, "%s", resp->reason);
		}
		curl_easy_getinfo(h->curl, CURLINFO_REQUEST_SIZE, &sent);
		/* A request that never left may go again whatever its method. */
		again = again && attempt < h->o.retries && (idempotent || (cc != CURLE_OK && !sent)) &&
			!x.sink_used && (!x.source_used || req->rewind);
		if (!again) {
			if (cc != CURLE_OK)
				rc = transfer_error(h, cc, resp->reason, pfx, origin, redirect, err);
			break;
		}
		if (!*first)
			snprintf(first, sizeof first, "%s", why);
		wait = next_wait(h, delay, cc == CURLE_OK ? resp : NULL, &told);
		ops_log_debug("%s %s: %s; retry %d of %d in %ld ms%s", h->name, label, why, attempt + 1,
			      h->o.retries, (long)(wait * 1000), told ? " (Retry-After)" : "");
		if ((rc = pause_for(wait, err)) != OPS_OK)
			break;
		if (x.source_used) {
			if ((rc = req->rewind(req->source_arg, err)) != OPS_OK)
				break;
			x.source_used = 0;
		}
		delay = delay * 2 > h->o.backoff_max ? h->o.backoff_max : delay * 2;
	}
	curl_slist_free_all(headers);
	resp->seconds = ops_clock() - t0;
	/* One line per troubled request, however many attempts it took. */
	if (resp->retries > 0)
		log_outcome(h, label, rc, resp->status, resp->retries, first);
	return rc;
}

const char *ops_http_resp_header(const ops_http_resp *resp, const char *name)
{
	size_t off = 0, n = strlen(name);

	while (resp->headers_ && off < resp->headers_len_) {
		const char *line = resp->headers_ + off;

		if (strncasecmp(line, name, n) == 0 && line[n] == ':') {
			const char *v = line + n + 1;

			while (*v == ' ' || *v == '\t')
				v++;
			return v;
		}
		off += strlen(line) + 1;
	}
	return NULL;
}

void ops_http_resp_release(ops_http_resp *resp)
{
	if (!resp)
		return;
	free(resp->body);
	free(resp->headers_);
	memset(resp, 0, sizeof *resp);
}

char *ops_http_escape(const char *s, const char *keep)
{
	static const char hexd[] = "0123456789ABCDEF";
	char *out = malloc(strlen(s) * 3 + 1), *o = out;

	if (!out)
		return NULL;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		/* Byte ranges, not isalnum(): the locale must not change a URL. */
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~' || (keep && strchr(keep, c))) {
			*o++ = (char)c;
		} else {
			*o++ = '%';
			*o++ = hexd[c >> 4];
			*o++ = hexd[c & 15];
		}
	}
	*o = '\0';
	return out;
}
