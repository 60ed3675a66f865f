/*
 * One email over SMTP through libcurl (opsmaint/smtp.h says what is
 * promised).  libcurl speaks the protocol; this module composes the message,
 * sets the options that make TLS compulsory and verified, and watches the
 * dialogue through libcurl's callbacks so that a failure names the command
 * the server refused and the reply it gave.
 *
 * The dialogue is watched, never logged: of the commands sent only the verb
 * is kept (the addresses too for MAIL and RCPT), so an AUTH line, and the
 * base64 user and password lines AUTH LOGIN sends after it, are never
 * stored anywhere.
 *
 * It deliberately does not: fall back to plain text when STARTTLS is
 * missing or fails, turn certificate verification off, send plain SMTP to
 * anything but the loopback interface, or retry (a message that may have
 * been queued is not sent twice).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LL_WANT_CURL
#include "core/lazylib.h"
#include "core/curl_internal.h"
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "opsmaint/cancel.h"
#include "opsmaint/clock.h"
#include "opsmaint/smtp.h"

#define DEFAULT_TIMEOUT 30.0
/* RFC 5322: at most 998 bytes a line; 76 keeps encoded words readable. */
#define LINE_MAX_BYTES 998
#define ENCODED_CHUNK 45

/* The dialogue as seen through libcurl's callbacks. */
struct talk {
	char step[300];		/* the command the next reply answers: "RCPT TO:<a@b>" */
	char reply[256];	/* the last complete reply line of that step */
	long code;
	int quitting;		/* QUIT sent: its 221 is not the answer to the message */
	int plain_ok;		/* tls none: connections only to loopback */
	int refused_address;	/* the open-socket check refused a non-loopback address */
	int cancelled;		/* SIGINT/SIGTERM arrived during the exchange */
	const char *msg;	/* the message, read by libcurl */
	size_t len, off;
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;

static void global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- checking what the caller gave ---- */

/* An address libcurl can put between <> and a header can carry. */
static int address_ok(const char *a)
{
	const char *at;

	if (!a || !*a || strlen(a) > 254)
		return 0;
	for (const char *p = a; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == '<' || *p == '>' || *p == ',' || *p == 0x7f)
			return 0;
	at = strrchr(a, '@');
	return at && at != a && at[1];
}

/* scheme, whether it is smtps, and the host[:port] part; 0 when not SMTP. */
static int split_url(const char *url, int *smtps, const char **host, size_t *host_len)
{
	const char *rest, *end;

	if (strncasecmp(url, "smtp://", 7) == 0) {
		*smtps = 0;
		rest = url + 7;
	} else if (strncasecmp(url, "smtps://", 8) == 0) {
		*smtps = 1;
		rest = url + 8;
	} else {
		return 0;
	}
	end = rest + strcspn(rest, "/?#");
	*host = rest;
	*host_len = (size_t)(end - rest);
	return *host_len > 0;
}

/* ---- the message ---- */

static int ascii_only(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return 0;
	return 1;
}

/* s as base64 into f. */
static void put_base64(FILE *f, const unsigned char *s, size_t n)
{
	unsigned char out[4 * ((ENCODED_CHUNK + 2) / 3) + 1];

	EVP_EncodeBlock(out, s, (int)n);
	fputs((const char *)out, f);
}

/*
 * The Subject header: as it is when ASCII, else RFC 2047 encoded words of
 * whole UTF-8 characters, one per folded line.  CR and LF become blanks: a
 * subject is one line whatever the caller passed.
 */
static void put_subject(FILE *f, const char *subject)
{
	char *s = strdup(subject ? subject : "");
	size_t i, n, start;

	if (!s) {
		fputs("Subject: opsctl\r\n", f);
		return;
	}
	for (i = 0; s[i]; i++)
		if (s[i] == '\r' || s[i] == '\n' || s[i] == '\t')
			s[i] = ' ';
	n = i;
	if (ascii_only(s) && n < LINE_MAX_BYTES - 10) {
		fprintf(f, "Subject: %s\r\n", s);
		free(s);
		return;
	}
	fputs("Subject:", f);
	for (start = 0; start < n;) {
		size_t end = start + ENCODED_CHUNK < n ? start + ENCODED_CHUNK : n;

		/* Never split a UTF-8 sequence between two encoded words. */
		while (end < n && end > start + 1 && ((unsigned char)s[end] & 0xc0) == 0x80)
			end--;
		fputs(start ? "\r\n =?UTF-8?B?" : " =?UTF-8?B?", f);
		put_base64(f, (const unsigned char *)s + start, end - start);
		fputs("?=", f);
		start = end;
	}
	fputs("\r\n", f);
	free(s);
}

/*
 * The body with CRLF line ends; lines longer than the RFC's limit are cut
 * (an alert's body is a few short lines).  libcurl escapes a leading dot.
 */
static void put_body(FILE *f, const char *body)
{
	size_t col = 0;

	for (const char *p = body ? body : ""; *p; p++) {
		if (*p == '\r')
			continue;
		if (*p == '\n' || col >= LINE_MAX_BYTES) {
			fputs("\r\n", f);
			col = 0;
			if (*p == '\n')
				continue;
		}
		fputc(*p, f);
		col++;
	}
	if (col)
		fputs("\r\n", f);
}

static ops_code compose(const ops_smtp_opts *o, const char *subject, const char *body,
			char **msg, size_t *len, ops_error *err)
{
	unsigned char rnd[12];
	char date[64];
	const char *domain = strrchr(o->from, '@') + 1;
	time_t now = time(NULL);
	struct tm tm;
	FILE *f;
	size_t i;

	*msg = NULL;
	f = open_memstream(msg, len);
	if (!f)
		return ops_error_oom(err);
	gmtime_r(&now, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
	fprintf(f, "Date: %s\r\nFrom: <%s>\r\nTo: ", date, o->from);
	for (i = 0; o->to[i]; i++)
		fprintf(f, "%s<%s>", i ? ",\r\n " : "", o->to[i]);
	fputs("\r\n", f);
	put_subject(f, subject);
	if (RAND_bytes(rnd, sizeof rnd) != 1)
		memset(rnd, 0, sizeof rnd);
	fprintf(f, "Message-ID: <%ld.", (long)now);
	for (i = 0; i < sizeof rnd; i++)
		fprintf(f, "%02x", rnd[i]);
	fprintf(f, "@%s>\r\n", domain);
	fputs("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n", f);
	/* 8bit only when it is needed; every server of this century takes it. */
	fprintf(f, "Content-Transfer-Encoding: %s\r\n", ascii_only(body ? body : "") ? "7bit" : "8bit");
	fputs("Auto-Submitted: auto-generated\r\n\r\n", f);
	put_body(f, body);
	if (fclose(f) != 0 || !*msg) {
		free(*msg);
		*msg = NULL;
		return ops_error_oom(err);
	}
	return OPS_OK;
}

/* ---- libcurl's callbacks ---- */

static size_t read_cb(char *buf, size_t size, size_t nitems, void *arg)
{
	struct talk *t = arg;
	size_t n = size * nitems;

	if (n > t->len - t->off)
		n = t->len - t->off;
	memcpy(buf, t->msg + t->off, n);
	t->off += n;
	return n;
}

/* Every reply line of the server (libcurl passes them as headers). */
static size_t reply_cb(char *buf, size_t size, size_t nitems, void *arg)
{
	struct talk *t = arg;
	size_t n = size * nitems, k = n;

	if (t->quitting)
		return n;
	while (k && (buf[k - 1] == '\r' || buf[k - 1] == '\n'))
		k--;
	/* "250-..." continues; the line whose code is followed by a blank ends it. */
	if (k >= 3 && isdigit((unsigned char)buf[0]) && isdigit((unsigned char)buf[1]) &&
	    isdigit((unsigned char)buf[2]) && (k == 3 || buf[3] == ' ')) {
		if (k >= sizeof t->reply)
			k = sizeof t->reply - 1;
		memcpy(t->reply, buf, k);
		t->reply[k] = 0;
		for (size_t i = 0; i < k; i++)
			if ((unsigned char)t->reply[i] < ' ' || t->reply[i] == 0x7f)
				t->reply[i] = ' ';
		t->code = strtol(t->reply, NULL, 10);
	}
	return n;
}

/*
 * The commands libcurl sends: the step the next reply answers.  Only
 * known verbs change it, so the lines that carry AUTH's credentials (the
 * AUTH line's argument, AUTH LOGIN's continuation lines) are never copied.
 */
static int trace_cb(CURL *c, curl_infotype type, char *data, size_t size, void *arg)
{
	static const char *const verbs[] = {"EHLO", "HELO", "STARTTLS", "AUTH", "DATA", "QUIT"};
	struct talk *t = arg;
	size_t k = size;

	(void)c;
	if (t->quitting)
		return 0;
	if (type == CURLINFO_DATA_OUT) {
		snprintf(t->step, sizeof t->step, "end of message data");
		return 0;
	}
	if (type != CURLINFO_HEADER_OUT)
		return 0;
	while (k && (data[k - 1] == '\r' || data[k - 1] == '\n'))
		k--;
	if ((k >= 5 && strncasecmp(data, "MAIL ", 5) == 0) ||
	    (k >= 5 && strncasecmp(data, "RCPT ", 5) == 0)) {
		/* The addresses alone: "MAIL FROM:<a@b> SIZE=123" -> "MAIL FROM:<a@b>". */
		const char *gt = memchr(data, '>', k);

		if (gt)
			k = (size_t)(gt - data) + 1;
		snprintf(t->step, sizeof t->step, "%.*s", (int)k, data);
		return 0;
	}
	for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++) {
		size_t vl = strlen(verbs[i]);

		if (k >= vl && strncasecmp(data, verbs[i], vl) == 0 && (k == vl || data[vl] == ' ')) {
			/* QUIT's 221 is no answer to anything that matters. */
			if (strcmp(verbs[i], "QUIT") == 0)
				t->quitting = 1;
			else
				snprintf(t->step, sizeof t->step, "%s", verbs[i]);
			return 0;
		}
	}
	return 0;
}

/* A signal ends the exchange at once, as it ends an HTTP request. */
static int progress_cb(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	struct talk *t = arg;

	if (ops_cancelled()) {
		t->cancelled = 1;
		return 1;
	}
	return 0;
}

static int loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family == AF_INET6)
		return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)sa)->sin6_addr);
	return 0;
}

/* Plain SMTP is allowed to the loopback interface only: checked on the
 * address actually connected to, whatever the name resolved to. */
static curl_socket_t open_cb(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct talk *t = arg;

	(void)purpose;
	if (t->plain_ok && !loopback(&a->addr)) {
		t->refused_address = 1;
		return CURL_SOCKET_BAD;
	}
	return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

/* ---- the exchange ---- */

/* The error of a failed exchange, naming the step and the server's reply. */
static ops_code exchange_error(CURL *c, CURLcode cc, const char *reason, const struct talk *t,
			       const char *where, double timeout, ops_error *err)
{
	char cause[300];
	long os_errno = 0;
	ops_code rc;

	if (t->cancelled)
		return ops_cancel_check(err);
	switch (cc) {
	case CURLE_LOGIN_DENIED:
		/* Also "no mechanism in common", after the EHLO's 250. */
		return ops_error_set(err, OPS_EPERM, "SMTP %s: AUTH refused: %s", where,
				     t->code >= 400 ? t->reply : reason);
	case CURLE_USE_SSL_FAILED:
		if (strcmp(t->step, "STARTTLS") == 0 && t->code >= 400)
			return ops_error_set(err, OPS_EUNAVAIL, "SMTP %s refused STARTTLS: %s; "
					     "nothing sent without TLS", where, t->reply);
		return ops_error_set(err, OPS_EUNAVAIL,
				     "SMTP %s offers no STARTTLS: nothing sent without TLS", where);
	case CURLE_PEER_FAILED_VERIFICATION:
		core_tls_cause(c, reason, cause, sizeof cause);
		rc = ops_error_set(err, OPS_EUNAVAIL, "SMTP %s: cannot verify the TLS certificate: %s",
				   where, cause);
		ops_error_detail(err, "%s", reason);
		return rc;
	case CURLE_SSL_CONNECT_ERROR:
		return ops_error_set(err, OPS_EUNAVAIL, "SMTP %s: TLS handshake failed: %s", where,
				     reason);
	case CURLE_SSL_CACERT_BADFILE:
		return ops_error_set(err, OPS_ECONFIG, "SMTP %s: cannot use the CA certificates: %s",
				     where, reason);
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
		return ops_error_set(err, OPS_ECONFIG, "SMTP URL is not usable: %s", reason);
	case CURLE_OPERATION_TIMEDOUT:
		return ops_error_set(err, OPS_EUNAVAIL, "SMTP %s: no answer within %gs%s%s", where,
				     timeout, t->step[0] ? " after " : "", t->step);
	case CURLE_COULDNT_RESOLVE_HOST:
		return ops_error_set(err, OPS_EUNAVAIL, "SMTP %s: cannot resolve the host name", where);
	case CURLE_COULDNT_CONNECT:
		if (t->refused_address)
			return ops_error_set(err, OPS_ECONFIG,
					     "SMTP %s: plain SMTP only to a loopback address; "
					     "this host is not one", where);
		curl_easy_getinfo(c, CURLINFO_OS_ERRNO, &os_errno);
		if (os_errno) {
			const char *s = strerror((int)os_errno);

			return ops_error_set(err, OPS_EUNAVAIL, "SMTP %s: cannot connect: %c%s", where,
					     tolower((unsigned char)s[0]), s + 1);
		}
		return ops_error_set(err, OPS_EUNAVAIL, "SMTP %s: cannot connect: %s", where, reason);
	default:
		break;
	}
	/* A refusal of MAIL, RCPT or the message: the step and what was said. */
	if (t->code >= 400 && t->step[0])
		return ops_error_set(err, OPS_EFAIL, "SMTP %s refused %s: %s", where, t->step, t->reply);
	return ops_error_set(err, OPS_EUNAVAIL, "SMTP %s: %s%s%s", where, reason,
			     t->step[0] ? " at " : "", t->step);
}

ops_code ops_smtp_send(const ops_smtp_opts *o, const char *subject, const char *body,
		       ops_smtp_result *res, ops_error *err)
{
	char errbuf[CURL_ERROR_SIZE], where[200], *url = NULL, *msg = NULL;
	struct curl_slist *rcpt = NULL, *grown;
	const char *host, *refused = NULL;
	struct talk t;
	size_t host_len, len = 0, i;
	double timeout, started = ops_clock();
	int smtps;
	CURL *c = NULL;
	CURLcode cc;
	ops_code rc;

	memset(res, 0, sizeof *res);
	memset(&t, 0, sizeof t);
	if (!o || !o->url || !split_url(o->url, &smtps, &host, &host_len))
		return ops_error_set(err, OPS_ECONFIG, "SMTP URL must be smtp://HOST[:PORT] or "
				     "smtps://HOST[:PORT]");
	if (memchr(host, '@', host_len))
		return ops_error_set(err, OPS_ECONFIG, "SMTP URL must not carry a user or password");
	snprintf(where, sizeof where, "%.*s", (int)(host_len < 150 ? host_len : 150), host);
	if (!address_ok(o->from))
		return ops_error_set(err, OPS_ECONFIG, "SMTP sender '%s' is not an email address",
				     o->from ? o->from : "");
	if (!o->to || !o->to[0])
		return ops_error_set(err, OPS_ECONFIG, "SMTP: no recipient");
	for (i = 0; o->to[i]; i++)
		if (!address_ok(o->to[i]))
			return ops_error_set(err, OPS_ECONFIG, "SMTP recipient '%s' is not an email address",
					     o->to[i]);
	if (o->password && !o->user)
		return ops_error_set(err, OPS_ECONFIG, "SMTP: a password without a user");
	timeout = o->timeout > 0 ? o->timeout : DEFAULT_TIMEOUT;
	/* libcurl is loaded here, not at start-up: most commands never need it. */
	if (ll_curl(err) != OPS_OK)
		return err->code;
	pthread_once(&global_once, global_init);

	rc = compose(o, subject, body, &msg, &len, err);
	if (rc != OPS_OK)
		goto out;
	/* The EHLO name travels as the URL's path (anything else there is dropped). */
	if (asprintf(&url, "%s://%.*s/%s", smtps ? "smtps" : "smtp", (int)host_len, host,
		     o->helo && !strpbrk(o->helo, "/?#% \r\n") ? o->helo : "") < 0) {
		url = NULL;
		rc = ops_error_oom(err);
		goto out;
	}
	for (i = 0; o->to[i]; i++) {
		grown = curl_slist_append(rcpt, o->to[i]);
		if (!grown) {
			rc = ops_error_oom(err);
			goto out;
		}
		rcpt = grown;
	}
	c = curl_easy_init();
	if (!c) {
		rc = ops_error_oom(err);
		goto out;
	}
	t.msg = msg;
	t.len = len;
	t.plain_ok = o->tls == OPS_SMTP_TLS_NONE && !smtps;
	errbuf[0] = 0;

#define SET(opt, val) \
	do { \
		if (curl_easy_setopt(c, opt, val) != CURLE_OK && !refused) \
			refused = #opt; \
	} while (0)
	SET(CURLOPT_URL, url);
	SET(CURLOPT_PROTOCOLS_STR, smtps ? "smtps" : "smtp");
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_ERRORBUFFER, errbuf);
	SET(CURLOPT_USE_SSL, (long)(t.plain_ok ? CURLUSESSL_NONE : CURLUSESSL_ALL));
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	SET(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (o->ca_file && *o->ca_file)
		SET(CURLOPT_CAINFO, o->ca_file);
	SET(CURLOPT_CONNECTTIMEOUT_MS, (long)ceil(timeout * 1000));
	SET(CURLOPT_TIMEOUT_MS, (long)ceil(timeout * 1000));
	SET(CURLOPT_NOPROGRESS, 0L);
	SET(CURLOPT_XFERINFOFUNCTION, progress_cb);
	SET(CURLOPT_XFERINFODATA, &t);
	SET(CURLOPT_OPENSOCKETFUNCTION, open_cb);
	SET(CURLOPT_OPENSOCKETDATA, &t);
	if (o->user) {
		SET(CURLOPT_USERNAME, o->user);
		SET(CURLOPT_PASSWORD, o->password ? o->password : "");
	}
	SET(CURLOPT_MAIL_FROM, o->from);
	SET(CURLOPT_MAIL_RCPT, rcpt);
	SET(CURLOPT_UPLOAD, 1L);
	SET(CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
	SET(CURLOPT_READFUNCTION, read_cb);
	SET(CURLOPT_READDATA, &t);
	SET(CURLOPT_HEADERFUNCTION, reply_cb);
	SET(CURLOPT_HEADERDATA, &t);
	/* The trace is how the failed step is known; it goes to trace_cb only. */
	SET(CURLOPT_DEBUGFUNCTION, trace_cb);
	SET(CURLOPT_DEBUGDATA, &t);
	SET(CURLOPT_VERBOSE, 1L);
	/* The connection ends with the exchange: QUIT now, not at some later cleanup. */
	SET(CURLOPT_FORBID_REUSE, 1L);
#undef SET
	if (refused) {
		rc = ops_error_set(err, OPS_EUNAVAIL, "SMTP: this libcurl refuses %s", refused);
		goto out;
	}
	cc = curl_easy_perform(c);
	res->seconds = ops_clock() - started;
	res->code = t.code;
	snprintf(res->reply, sizeof res->reply, "%s", t.reply);
	if (cc != CURLE_OK) {
		rc = exchange_error(c, cc, errbuf[0] ? errbuf : curl_easy_strerror(cc), &t, where,
				    timeout, err);
		goto out;
	}
	/* libcurl checks the code too; this is the promise made in smtp.h. */
	if (t.code != 250 || strcmp(t.step, "end of message data") != 0) {
		rc = ops_error_set(err, OPS_EFAIL, "SMTP %s: the message was not acknowledged (%s)",
				   where, t.reply[0] ? t.reply : "no reply");
		goto out;
	}
	rc = OPS_OK;
out:
	if (c)
		curl_easy_cleanup(c);
	curl_slist_free_all(rcpt);
	free(url);
	if (msg)
		explicit_bzero(msg, len);
	free(msg);
	return rc;
}
