/*
 * Redis connections, for every command that talks to the deployment's Redis
 * (the backup's dump, cache, health, scan, rotate-keys).  One transport for
 * plain TCP, TLS (OpenSSL, verified) and unix sockets; hiredis only encodes
 * commands and parses replies (Debian 12's hiredis 0.14 has no TLS).
 *
 * URLs:
 *   redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]     plain TCP, port 6379
 *   rediss://[[USER]:PASSWORD@]HOST[:PORT][/DB]    TLS
 *   unix://[[USER]:PASSWORD@]/PATH/TO/SOCKET[?db=N]
 * USER and PASSWORD are percent-decoded; "?db=N" is accepted on every form.
 * A HOST in brackets is an IPv6 address.
 *
 * What every caller gets:
 *   - a TLS server's certificate is always verified, against the given CA
 *     file or directory or else the system's store, and its name (or IP
 *     address) is checked against the URL's host; there is no switch that
 *     turns either off;
 *   - the password is never in an error message, a log line or the journal;
 *     messages name the server as HOST:PORT (or the socket path) and the
 *     user, never the URL;
 *   - bounded waits: connecting (and the TLS handshake) within the connect
 *     timeout, each command's whole reply within the command timeout;
 *   - cancellation (cancel.h): while a connection is open, a cancel request
 *     shuts its socket down, so a blocked read returns OPS_EINTR at once
 *     (unless ops_redis_finish_on_cancel, below).
 *
 * Errors: a refused, unreachable or silent server is OPS_EUNAVAIL (exit
 * 69); a wrong password, an unknown or disabled user, a NOAUTH or NOPERM
 * reply, or a client certificate the server refuses is OPS_EPERM naming the
 * user; a bad URL, a certificate that does not verify, a database number the
 * server lacks is OPS_ECONFIG; an interrupted run is OPS_EINTR.  After a
 * transport error or a timeout the connection is unusable: every later
 * command fails with OPS_EUNAVAIL, and only ops_redis_close() remains.
 *
 * Not thread-safe: one connection, one thread (the cancel hook excepted).
 * RESP2 only; no pipelining, no pub/sub, no cluster redirections.
 */
#ifndef OPSMAINT_REDIS_H
#define OPSMAINT_REDIS_H

#include "opsmaint/api.h"
OPS_API_BEGIN

#include <stddef.h>

#include "opsmaint/config.h"
#include "opsmaint/error.h"

typedef struct ops_redis ops_redis;

typedef struct ops_redis_options {
	const char *url;		/* required, see above */
	const char *user;		/* ACL user; NULL: the URL's, else "default" */
	const char *password;		/* NULL: the URL's; neither: no AUTH */
	/* Where the password came from, for messages ("REDISCLI_AUTH");
	 * NULL: "the URL" or "the caller". */
	const char *password_source;
	const char *tls_ca_file;	/* rediss://: PEM CA bundle; NULL and */
	const char *tls_ca_dir;		/* NULL: the system's CA store */
	const char *tls_cert_file;	/* client certificate (tls-auth-clients) */
	const char *tls_key_file;	/* its key; required with tls_cert_file */
	long connect_timeout_ms;	/* 0: 10 000 */
	long timeout_ms;		/* per command; 0: 10 000 */
} ops_redis_options;

/*
 * Connect, authenticate (AUTH USER PASSWORD for an ACL user, AUTH PASSWORD
 * for the default user), SELECT the URL's database, and check that the
 * server answers (PING when neither AUTH nor SELECT was sent).  A user
 * without a password is OPS_ECONFIG.  *out is NULL on failure.
 */
ops_code ops_redis_connect(const ops_redis_options *opt, ops_redis **out, ops_error *err);

/*
 * Connect to the Redis that configuration key url_key names (for example
 * "backup.redis_url"), with the [redis] settings (TLS files, timeouts).
 * The password comes from the URL only when the URL itself was set in the
 * environment (OPSCTL_BACKUP_REDIS_URL), never from opsctl.conf or a flag:
 * such a URL is OPS_ECONFIG naming the key and where it was set.
 * Otherwise the password comes from REDISCLI_AUTH, as for redis-cli.
 * An unset url_key is OPS_ECONFIG.
 */
ops_code ops_redis_connect_config(const ops_config *cfg, const char *url_key, ops_redis **out,
				  ops_error *err);

/*
 * The same with both [redis] timeouts cut to at most max_ms (0: not cut),
 * for a caller with a time budget of its own (`opsctl health`): a check
 * must not wait redis.connect_timeout for a server that is down when its
 * run has less left than that.
 */
ops_code ops_redis_connect_config_within(const ops_config *cfg, const char *url_key,
					 long max_ms, ops_redis **out, ops_error *err);

/*
 * A login test: the same server, TLS settings and timeouts as
 * ops_redis_connect_config, authenticated as user with password (AUTH USER
 * PASSWORD), whatever the URL and REDISCLI_AUTH say.  A refused password is
 * OPS_EPERM naming the user, never the password; an empty user or password
 * is OPS_EUSAGE.
 */
ops_code ops_redis_connect_config_as(const ops_config *cfg, const char *url_key,
				     const char *user, const char *password, ops_redis **out,
				     ops_error *err);

/* Close and free; NULL is accepted. */
void ops_redis_close(ops_redis *r);

/* "HOST:PORT" or the socket path, for messages. */
const char *ops_redis_where(const ops_redis *r);
/* The user the connection is authenticated as ("default" when none). */
const char *ops_redis_user(const ops_redis *r);
/* The TLS protocol ("TLSv1.3"), or NULL on a plain or unix connection. */
const char *ops_redis_tls_version(const ops_redis *r);

/* RESP2 reply types; the same numbers as hiredis's REDIS_REPLY_*. */
typedef enum ops_redis_type {
	OPS_REDIS_STRING = 1,	/* bulk string: str, len (binary-safe) */
	OPS_REDIS_ARRAY = 2,	/* element[0 .. elements) */
	OPS_REDIS_INTEGER = 3,	/* integer */
	OPS_REDIS_NIL = 4,	/* a missing value */
	OPS_REDIS_STATUS = 5,	/* +OK: str */
	OPS_REDIS_ERROR = 6	/* -ERR ...: str */
} ops_redis_type;

typedef struct ops_redis_reply {
	ops_redis_type type;
	long long integer;
	char *str;			/* NUL-terminated after len bytes */
	size_t len;
	size_t elements;
	struct ops_redis_reply **element;
} ops_redis_reply;

/*
 * With on, a cancel request no longer cuts short the command in flight: its
 * reply is still read (within the command timeout), and the next command
 * is refused with OPS_EINTR.  For a caller that counts what its commands
 * change (UNLINK's reply): a command cut short may still run on the server,
 * and its change would go unreported.
 */
void ops_redis_finish_on_cancel(ops_redis *r, int on);

/*
 * Send one command, argv[0 .. argc) with lengths argvlen (binary-safe; NULL:
 * strlen of each), and wait for its reply, which the caller frees with
 * ops_redis_reply_free.  An error reply from the server is OPS_OK with a
 * reply of type OPS_REDIS_ERROR: the caller decides what it means.
 */
ops_code ops_redis_command(ops_redis *r, int argc, const char *const *argv,
			   const size_t *argvlen, ops_redis_reply **reply, ops_error *err);

/*
 * The same for a NULL-terminated list of text arguments, with an error
 * reply turned into an error: OPS_EPERM for NOAUTH, NOPERM and WRONGPASS
 * (naming the user), OPS_EFAIL otherwise, both naming the command and
 * carrying the server's message.  reply may be NULL when only success
 * matters.
 */
ops_code ops_redis_call(ops_redis *r, ops_redis_reply **reply, ops_error *err, ...)
	__attribute__((sentinel));

/*
 * Turn an error reply to the command `what` ("BGSAVE", "CONFIG GET") into
 * an error as ops_redis_call does, for callers that looked at it first.
 */
ops_code ops_redis_reply_error(const ops_redis *r, const ops_redis_reply *reply,
			       const char *what, ops_error *err);

void ops_redis_reply_free(ops_redis_reply *reply);

/* One "name:value" line of INFO, with the section it came under. */
typedef struct ops_redis_info_field {
	const char *section;	/* "persistence", lower case */
	const char *name;	/* "rdb_bgsave_in_progress" */
	const char *value;	/* "0", "1.02M", "keys=3,expires=0,avg_ttl=0" */
} ops_redis_info_field;

typedef struct ops_redis_info {
	size_t count;
	ops_redis_info_field *field;	/* read-only; owned by the info */
	char *text_;			/* private: the reply the fields point into */
} ops_redis_info;

/*
 * INFO SECTION ("memory", "persistence", "stats", ...; NULL: the default
 * sections) as name/value pairs, in the server's order.
 */
ops_code ops_redis_info_get(ops_redis *r, const char *section, ops_redis_info **out,
			    ops_error *err);
/* The value of a field, or NULL when the reply has none of that name. */
const char *ops_redis_info_value(const ops_redis_info *info, const char *name);
/* A field as a number: 1 and *out set when present and wholly numeric, else 0. */
int ops_redis_info_number(const ops_redis_info *info, const char *name, double *out);
void ops_redis_info_free(ops_redis_info *info);

/*
 * What INFO says about memory and the keyspace lookups, for `cache stats`
 * and `opsctl health` to judge against their bars alike.  A figure the
 * reply lacks is -1; a ratio that cannot be computed is -1 too.
 */
typedef struct ops_redis_usage {
	double used_memory;	/* bytes */
	double maxmemory;	/* bytes; 0: no limit */
	double memory_ratio;	/* used_memory / maxmemory; -1 with no limit */
	double hits;		/* keyspace_hits since the server started */
	double misses;		/* keyspace_misses */
	double lookups;		/* hits + misses; -1 when either is missing */
	double hit_ratio;	/* hits / lookups; -1 before the first lookup */
} ops_redis_usage;

void ops_redis_info_usage(const ops_redis_info *info, ops_redis_usage *u);

/*
 * The hit ratio is worth judging: at least min_lookups lookups (and at least
 * one), so that a server that has just restarted, or is being warmed, is not
 * reported for its first few misses.
 */
int ops_redis_usage_hit_ratio_judged(const ops_redis_usage *u, double min_lookups);

/*
 * CONFIG GET param: *value is a newly allocated copy.  A parameter the server
 * does not know is OPS_EFAIL; an ACL user without +config|get is OPS_EPERM.
 */
ops_code ops_redis_config_get(ops_redis *r, const char *param, char **value, ops_error *err);

OPS_API_END
#endif
