/*
 * Sending one email over SMTP through libcurl (loaded on first use, as
 * core/http.c loads it): for alert notifications.
 *
 * TLS: smtp:// upgrades with STARTTLS and refuses to go on without it
 * (CURLUSESSL_ALL), smtps:// is TLS from the first byte; the server's
 * certificate and host name are always verified, against ca_file or the
 * system's store.  Plain SMTP only when tls is OPS_SMTP_TLS_NONE, and then
 * only to the loopback interface: the address connected to is checked, a
 * name that resolves elsewhere is OPS_ECONFIG before any byte is sent.
 *
 * Proof of delivery is the server's reply to the end of the message data
 * (250); every other step's reply code is checked too, and a failure names
 * the step and the server's reply ("SMTP HOST:PORT refused RCPT
 * TO:<ops@example.org>: 550 5.1.1 user unknown", "SMTP HOST:PORT: AUTH
 * refused: 535 5.7.8 ..."), never the password.  No retry: a message the
 * server may have queued is not sent twice.
 *
 * Errors: unreachable, timed out, TLS handshake or certificate failures
 * OPS_EUNAVAIL (the message says which, "certificate has expired",
 * "host name mismatch"); an AUTH refusal OPS_EPERM; a refused sender,
 * recipient or message OPS_EFAIL; a bad URL or address OPS_ECONFIG.
 */
#ifndef OPSMAINT_SMTP_H
#define OPSMAINT_SMTP_H
#include "opsmaint/api.h"
OPS_API_BEGIN

#include <time.h>
#include "opsmaint/error.h"

typedef enum ops_smtp_tls {
	OPS_SMTP_TLS_REQUIRED = 0,	/* STARTTLS on smtp://, TLS on smtps:// */
	OPS_SMTP_TLS_NONE		/* plain smtp:// (a local relay) */
} ops_smtp_tls;

typedef struct ops_smtp_opts {
	const char *url;		/* smtp://HOST[:PORT] (587) or smtps://HOST[:PORT] (465) */
	ops_smtp_tls tls;
	const char *user;		/* AUTH user; NULL: no AUTH */
	const char *password;		/* its password (wiped by the caller) */
	const char *ca_file;		/* CA bundle to trust; NULL: the system's */
	const char *from;		/* envelope sender and From: address */
	char *const *to;		/* NULL-terminated recipients */
	double timeout;			/* seconds for the whole exchange (0: 30) */
	const char *helo;		/* EHLO name; NULL: libcurl's (the host name) */
} ops_smtp_opts;

typedef struct ops_smtp_result {
	long code;			/* the last reply code (250 when delivered) */
	char reply[256];		/* the server's last reply line, as it said it */
	double seconds;
} ops_smtp_result;

/*
 * Send one message: headers Date, From, To, Subject (RFC 2047-encoded when
 * not ASCII), Message-ID, MIME-Version and a text/plain UTF-8 body (lines
 * folded to CRLF; a line that is only "." is escaped by libcurl).  res is
 * always filled.  OPS_OK only after the server's 250 to the message.
 */
ops_code ops_smtp_send(const ops_smtp_opts *o, const char *subject, const char *body,
		       ops_smtp_result *res, ops_error *err);

OPS_API_END
#endif
