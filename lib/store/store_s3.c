/*
 * The S3 store: path-style requests signed with AWS SigV4, every payload's
 * SHA-256 in x-amz-content-sha256 and its MD5 in Content-MD5, so that S3
 * itself refuses a body damaged on the way; every answer's ETag is compared
 * with the MD5 we sent.  Writes buffer one part (s3.part_size): smaller
 * objects go in one PUT, larger ones in a multipart upload that is aborted
 * on any failure, so an object is visible only once complete.  Reads are
 * ranged GETs of 8 MiB, each retried on its own and each tied to the ETag
 * seen when the read began, so a concurrent replacement cannot splice two
 * versions together.
 *
 * This file holds S3's semantics (keys, XML, multipart, ETags, versioning)
 * and no transport: requests, retries with backoff on network errors, 408,
 * 429, 500, 502, 503 and 504 (never another 4xx), timeouts, TLS and the
 * SigV4 signing are core/http's.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/evp.h>

#include "opsmaint/clock.h"
#include "opsmaint/config.h"
#include "opsmaint/hash.h"
#include "opsmaint/http.h"
#include "opsmaint/log.h"
#include "store/store_driver.h"

#define RANGE (8u << 20)
#define CONNECT_TIMEOUT 10
#define BACKOFF_START 0.2
#define BACKOFF_CAP 5.0
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

struct s3_store {
	struct ops_store base;
	char *endpoint;		/* scheme://host[:port][/path], no trailing slash */
	char *bucket;
	char *prefix;		/* "" or "a/b/" */
	char *token;		/* session token; never in a message */
	size_t part_size;
	ops_http *http;		/* signs with the access key; retries as s3.retries says */
};

struct s3_writer {
	struct ops_store_writer base;
	struct s3_store *s;
	char *key;		/* prefix included */
	unsigned char *buf;
	size_t len;
	char *upload_id;	/* already escaped for a query string */
	char **etags;
	int parts;
	ops_code failed;	/* sticky: after a failed part nothing may be committed */
};

struct s3_reader {
	struct ops_store_reader base;
	struct s3_store *s;
	char *key;		/* as the caller named it */
	char *fkey;		/* prefix included */
	char etag[130];
	long long size, offset;
	char *buf;
	size_t len, pos;
};

struct resp {
	long status;
	char *body;
	size_t len;
	char etag[130];		/* quotes stripped */
	char last_modified[64];
	char date[64];		/* the server's Date: its clock, for a skew */
	char sse[64];		/* x-amz-server-side-encryption */
	char sse_c[64];		/* x-amz-server-side-encryption-customer-algorithm */
	long long content_length;
	int retried;		/* attempts after the first */
};

/* One request.  Only method and what are required. */
struct req {
	const char *method;
	const char *path;	/* key below the bucket, prefix included; NULL for the bucket */
	/*
	 * "a=b&c=d" with names sorted and values escaped: libcurl 7.88 signs the
	 * query exactly as given, and SigV4 wants the canonical form.
	 */
	const char *query;
	const void *body;	/* NULL: no payload */
	size_t len;
	const char *range;	/* "FIRST-LAST" or NULL */
	const char *if_match;	/* unquoted ETag or NULL; 412 then comes back as OPS_OK */
	const char *what;	/* "storing 'KEY'", for messages */
};

static const struct ops_store_ops s3_ops;

/* ---- helpers ---- */

static void md5_of(const void *data, size_t len, char hex[33], char b64[25])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned n = 0, i;

	EVP_Digest(data, len, md, &n, EVP_md5(), NULL);
	for (i = 0; i < n && i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	EVP_EncodeBlock((unsigned char *)b64, md, 16);
}

/* A response header's value into out (surrounding quotes dropped), or "". */
static void header_value(const ops_http_resp *hr, const char *name, char *out, size_t outlen)
{
	const char *v = ops_http_resp_header(hr, name);
	size_t vl = v ? strlen(v) : 0;

	if (vl >= 2 && *v == '"' && v[vl - 1] == '"')
		v++, vl -= 2;
	snprintf(out, outlen, "%.*s", (int)vl, v ? v : "");
}

/* The text of <tag>...</tag> after *from, entities decoded; NULL if absent. */
static char *xml_tag(const char *xml, const char *tag, const char **from)
{
	char open[64], close[64], *out, *o;
	const char *a, *b, *p;

	snprintf(open, sizeof open, "<%s>", tag);
	snprintf(close, sizeof close, "</%s>", tag);
	a = strstr(from && *from ? *from : xml, open);
	if (!a)
		return NULL;
	a += strlen(open);
	b = strstr(a, close);
	if (!b)
		return NULL;
	if (from)
		*from = b + strlen(close);
	out = malloc((size_t)(b - a) + 1);
	if (!out)
		return NULL;
	for (p = a, o = out; p < b;) {
		static const struct { const char *e; char c; } ents[] = {
			{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
		size_t i;
		int done = 0;

		for (i = 0; i < sizeof ents / sizeof ents[0]; i++)
			if (strncmp(p, ents[i].e, strlen(ents[i].e)) == 0) {
				*o++ = ents[i].c;
				p += strlen(ents[i].e);
				done = 1;
				break;
			}
		if (!done)
			*o++ = *p++;
	}
	*o = '\0';
	return out;
}

static const char *where(const struct s3_store *s)
{
	return s->base.description;
}

/* An HTTP-date header ("Wed, 02 Dec 2026 10:15:30 GMT"); 0 when unreadable. */
static time_t parse_rfc1123(const char *s)
{
	time_t t;

	return ops_time_parse_http(s, &t) == 0 ? t : 0;
}

/* A time in S3's XML ("2026-12-02T10:15:30.000Z"); 0 when unreadable. */
static time_t parse_iso8601(const char *s)
{
	ops_time_parsed p;

	return ops_time_parse_iso(s, 0, &p) == OPS_TIME_OK ? p.t : 0;
}

/*
 * S3 refuses a request signed more than 15 minutes away from its own clock.
 * Said as "access denied" an operator would check the keys; it is this
 * host's clock, and the measured skew tells by how much.
 */
static ops_code skew_error(struct s3_store *s, const char *what, struct resp *r, ops_error *err)
{
	char *st = r->body ? xml_tag(r->body, "ServerTime", NULL) : NULL;
	time_t server = st ? parse_iso8601(st) : 0, now = time(NULL);
	long long skew;

	free(st);
	if (!server && *r->date)
		server = parse_rfc1123(r->date);
	if (!server)
		ops_error_set(err, OPS_ECONFIG, "%s in %s: this machine's clock differs from the "
			      "server's by more than 15 minutes (RequestTimeTooSkewed)", what, where(s));
	else {
		skew = (long long)now - (long long)server;
		ops_error_set(err, OPS_ECONFIG, "%s in %s: this machine's clock is %lld s %s the "
			      "server's (RequestTimeTooSkewed; S3 allows 900 s)", what, where(s),
			      skew < 0 ? -skew : skew, skew < 0 ? "behind" : "ahead of");
	}
	ops_error_hint(err, "synchronise the clock (timedatectl status; chronyc tracking), "
		       "then run again");
	return OPS_ECONFIG;
}

static ops_code http_error(struct s3_store *s, const char *what, struct resp *r, ops_error *err)
{
	char *code = r->body ? xml_tag(r->body, "Code", NULL) : NULL;
	ops_code rc;

	if (code && strcmp(code, "RequestTimeTooSkewed") == 0)
		rc = skew_error(s, what, r, err);
	else if (r->status == 403)
		rc = ops_error_set(err, OPS_EPERM, "%s in %s: access denied (%s)", what, where(s),
				   code ? code : "HTTP 403");
	else if (r->status >= 500)	/* still 5xx after the retries: the service is down */
		rc = ops_error_set(err, OPS_EUNAVAIL, "%s in %s: HTTP %ld%s%s, after %d retries",
				   what, where(s), r->status, code ? " " : "", code ? code : "",
				   r->retried);
	else
		rc = ops_error_set(err, OPS_EFAIL, "%s in %s: HTTP %ld%s%s", what, where(s), r->status,
				   code ? " " : "", code ? code : "");
	free(code);
	return rc;
}

/* S3 with SSE-KMS or SSE-C answers ETags that are not the MD5 of the body. */
static int etag_is_md5(const struct resp *r)
{
	return strncmp(r->sse, "aws:kms", 7) != 0 && !*r->sse_c;
}

/*
 * One request, retried by core/http (every S3 request here may be sent
 * twice: the multipart POSTs too, see complete_upload).  2xx and 404 (and
 * 412 when q->if_match is set) come back as OPS_OK with r->status set for
 * the caller to judge; r->body is the caller's to free whatever the result.
 */
static ops_code request(struct s3_store *s, const struct req *q, struct resp *r, ops_error *err)
{
	char *url = NULL, *epath, *token = NULL, sha[65], md5hex[33] = "", md5b64[25] = "";
	char l_sha[100], l_md5[64], l_match[160], l_range[80];
	const char *headers[8];
	ops_http_req hq = { 0 };
	ops_http_resp hr;
	ops_code rc;
	int n = 0;

	memset(r, 0, sizeof *r);
	epath = ops_http_escape(q->path ? q->path : "", "/");
	if (!epath || asprintf(&url, "%s/%s%s%s%s%s", s->endpoint, s->bucket, q->path ? "/" : "",
			       epath, q->query ? "?" : "", q->query ? q->query : "") < 0) {
		free(epath);
		return ops_error_oom(err);
	}
	free(epath);
	if (q->body) {
		ops_sha256_hex(q->body, q->len, sha);
		md5_of(q->body, q->len, md5hex, md5b64);
	} else {
		snprintf(sha, sizeof sha, "%s", EMPTY_SHA256);
	}
	snprintf(l_sha, sizeof l_sha, "x-amz-content-sha256: %s", sha);
	headers[n++] = l_sha;
	if (q->body) {
		snprintf(l_md5, sizeof l_md5, "Content-MD5: %s", md5b64);
		headers[n++] = l_md5;
		headers[n++] = "Content-Type: application/octet-stream";
	}
	if (q->if_match) {
		snprintf(l_match, sizeof l_match, "If-Match: \"%s\"", q->if_match);
		headers[n++] = l_match;
	}
	if (q->range) {
		snprintf(l_range, sizeof l_range, "Range: bytes=%s", q->range);
		headers[n++] = l_range;
	}
	if (s->token && asprintf(&token, "x-amz-security-token: %s", s->token) < 0) {
		free(url);
		return ops_error_oom(err);
	}
	if (token)
		headers[n++] = token;
	headers[n] = NULL;
	hq.method = q->method;
	hq.url = url;
	hq.headers = headers;
	hq.body = q->body;
	hq.body_len = q->len;
	hq.idempotent = OPS_HTTP_IDEMPOTENT;
	hq.what = q->what;
	rc = ops_http_request(s->http, &hq, &hr, err);
	free(url);
	if (token) {
		explicit_bzero(token, strlen(token));
		free(token);
	}
	r->retried = hr.retries;
	r->status = hr.status;
	header_value(&hr, "ETag", r->etag, sizeof r->etag);
	header_value(&hr, "Last-Modified", r->last_modified, sizeof r->last_modified);
	header_value(&hr, "Date", r->date, sizeof r->date);
	header_value(&hr, "x-amz-server-side-encryption", r->sse, sizeof r->sse);
	header_value(&hr, "x-amz-server-side-encryption-customer-algorithm", r->sse_c,
		     sizeof r->sse_c);
	if (ops_http_resp_header(&hr, "Content-Length") &&
	    ops_parse_int64(ops_http_resp_header(&hr, "Content-Length"), 0, LLONG_MAX,
			    &r->content_length, NULL) != OPS_OK)
		r->content_length = -1;	/* unknown: callers compare, never trust */
	r->body = hr.body;
	r->len = hr.len;
	hr.body = NULL;
	if (rc == OPS_EUNAVAIL &&
	    (hr.failure == OPS_HTTP_F_UNREACHABLE || hr.failure == OPS_HTTP_F_TIMEOUT))
		rc = ops_error_set(err, OPS_EUNAVAIL, "S3 endpoint %s unreachable: %s", s->endpoint,
				   hr.reason);
	else if (rc == OPS_OK && !((r->status >= 200 && r->status < 300) || r->status == 404 ||
				   (r->status == 412 && q->if_match)))
		rc = http_error(s, q->what, r, err);
	ops_http_resp_release(&hr);
	/* A body S3 checked against our MD5 must come back with that ETag. */
	if (rc == OPS_OK && q->body && strcmp(q->method, "PUT") == 0 && r->status / 100 == 2 &&
	    etag_is_md5(r) && strcasecmp(r->etag, md5hex) != 0)
		rc = ops_error_set(err, OPS_EFAIL, "%s in %s: the ETag returned (%s) is not the MD5 sent",
				   q->what, where(s), r->etag[0] ? r->etag : "none");
	return rc;
}

static char *full_key(struct s3_store *s, const char *key)
{
	char *k = NULL;

	if (asprintf(&k, "%s%s", s->prefix, key) < 0)
		return NULL;
	return k;
}

/* ---- writes ---- */

static ops_code put_begin(ops_store *store, const char *key, ops_store_writer **out, ops_error *err)
{
	struct s3_store *s = (struct s3_store *)store;
	struct s3_writer *w = calloc(1, sizeof *w);

	if (!w || !(w->key = full_key(s, key)) || !(w->buf = malloc(s->part_size))) {
		if (w)
			free(w->key);
		free(w);
		return ops_error_oom(err);
	}
	w->base.ops = &s3_ops;
	w->s = s;
	*out = &w->base;
	return OPS_OK;
}

static ops_code upload_part(struct s3_writer *w, ops_error *err)
{
	struct s3_store *s = w->s;
	struct resp r;
	struct req q = { 0 };
	char query[600], what[300];
	char **grown;
	ops_code rc;

	q.path = w->key;
	q.what = what;
	if (!w->upload_id) {
		char *id;

		snprintf(what, sizeof what, "starting the upload of '%s'", w->key);
		q.method = "POST";
		q.query = "uploads";
		rc = request(s, &q, &r, err);
		id = rc == OPS_OK && r.status / 100 == 2 && r.body ? xml_tag(r.body, "UploadId", NULL) : NULL;
		free(r.body);
		if (rc != OPS_OK)
			return rc;
		if (r.status == 404)
			return ops_error_set(err, OPS_EFAIL, "%s: no bucket '%s'", what, s->bucket);
		if (!id || !*id) {
			free(id);
			return ops_error_set(err, OPS_EFAIL, "%s in %s: no UploadId in the answer", what,
					     where(s));
		}
		w->upload_id = ops_http_escape(id, "");
		free(id);
		if (!w->upload_id)
			return ops_error_oom(err);
	}
	grown = realloc(w->etags, (size_t)(w->parts + 1) * sizeof *grown);
	if (!grown)
		return ops_error_oom(err);
	w->etags = grown;
	snprintf(query, sizeof query, "partNumber=%d&uploadId=%s", w->parts + 1, w->upload_id);
	snprintf(what, sizeof what, "uploading part %d of '%s'", w->parts + 1, w->key);
	q.method = "PUT";
	q.query = query;
	q.body = w->buf;
	q.len = w->len;
	rc = request(s, &q, &r, err);
	if (rc == OPS_OK && r.status == 404)
		rc = ops_error_set(err, OPS_EFAIL, "%s in %s: the upload vanished", what, where(s));
	if (rc == OPS_OK) {
		w->etags[w->parts] = strdup(r.etag);
		if (!w->etags[w->parts])
			rc = ops_error_oom(err);
		else
			w->parts++;
		w->len = 0;
	}
	free(r.body);
	return rc;
}

static ops_code s3_write(ops_store_writer *writer, const void *buf, size_t len, ops_error *err)
{
	struct s3_writer *w = (struct s3_writer *)writer;
	const char *p = buf;

	if (w->failed)
		return ops_error_set(err, w->failed, "an earlier write to '%s' in %s failed", w->key,
				     where(w->s));
	while (len > 0) {
		size_t take = w->s->part_size - w->len < len ? w->s->part_size - w->len : len;
		ops_code rc;

		memcpy(w->buf + w->len, p, take);
		w->len += take;
		p += take;
		len -= take;
		if (w->len == w->s->part_size && (rc = upload_part(w, err)) != OPS_OK) {
			w->failed = rc;
			return rc;
		}
	}
	return OPS_OK;
}

static void writer_free(struct s3_writer *w)
{
	int i;

	for (i = 0; i < w->parts; i++)
		free(w->etags[i]);
	free(w->etags);
	free(w->upload_id);
	free(w->key);
	free(w->buf);
	free(w);
}

static void abort_upload(struct s3_writer *w)
{
	struct resp r;
	struct req q = { 0 };
	ops_error e;
	char query[600], what[300];

	if (!w->upload_id)
		return;
	/*
	 * Parts of an abandoned upload are stored and billed until aborted, so
	 * a failed abort is worth a warning (404: it is gone already).
	 */
	snprintf(query, sizeof query, "uploadId=%s", w->upload_id);
	snprintf(what, sizeof what, "aborting the upload of '%s'", w->key);
	q.method = "DELETE";
	q.path = w->key;
	q.query = query;
	q.what = what;
	if (request(w->s, &q, &r, &e) != OPS_OK)
		ops_log_warn("%s; its parts stay until a lifecycle rule removes them", e.message);
	free(r.body);
}

/*
 * The ETag S3 gives a multipart object: the MD5 of the parts' binary MD5s,
 * "-" and the number of parts.  0 when a part's ETag is not an MD5 (SSE-KMS).
 */
static int multipart_etag(const struct s3_writer *w, char out[48])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char md[EVP_MAX_MD_SIZE], bin[16];
	unsigned n = 0, i;
	int p, ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_md5(), NULL) == 1;

	for (p = 0; ok && p < w->parts; p++) {
		const char *e = w->etags[p];

		if (strlen(e) != 32 || strspn(e, "0123456789abcdefABCDEF") != 32) {
			ok = 0;
			break;
		}
		for (i = 0; i < 16; i++) {
			char hx[3] = { e[2 * i], e[2 * i + 1], '\0' };

			bin[i] = (unsigned char)strtoul(hx, NULL, 16);
		}
		EVP_DigestUpdate(ctx, bin, sizeof bin);
	}
	if (ok && EVP_DigestFinal_ex(ctx, md, &n) == 1 && n == 16) {
		for (i = 0; i < 16; i++)
			snprintf(out + 2 * i, 3, "%02x", md[i]);
		snprintf(out + 32, 16, "-%d", w->parts);
	} else {
		ok = 0;
	}
	EVP_MD_CTX_free(ctx);
	return ok;
}

/* S3 puts the ETag in quotes inside the XML; compare without them. */
static int same_etag(const char *got, const char *want)
{
	size_t n = strlen(got);

	if (n >= 2 && got[0] == '"' && got[n - 1] == '"')
		return strlen(want) == n - 2 && strncasecmp(got + 1, want, n - 2) == 0;
	return strcasecmp(got, want) == 0;
}

static ops_code complete_upload(struct s3_writer *w, const char *what, ops_error *err)
{
	struct s3_store *s = w->s;
	char query[600], *xml = NULL, want[48];
	size_t xlen = 0;
	struct resp r;
	struct req q = { 0 };
	ops_code rc;
	FILE *f;
	int i, have_want = multipart_etag(w, want);

	f = open_memstream(&xml, &xlen);
	if (!f)
		return ops_error_oom(err);
	fputs("<CompleteMultipartUpload>", f);
	for (i = 0; i < w->parts; i++)
		fprintf(f, "<Part><PartNumber>%d</PartNumber><ETag>\"%s\"</ETag></Part>", i + 1,
			w->etags[i]);
	fputs("</CompleteMultipartUpload>", f);
	if (fclose(f) != 0 || !xml) {
		free(xml);
		return ops_error_oom(err);
	}
	snprintf(query, sizeof query, "uploadId=%s", w->upload_id);
	q.method = "POST";
	q.path = w->key;
	q.query = query;
	q.body = xml;
	q.len = xlen;
	q.what = what;
	rc = request(s, &q, &r, err);
	free(xml);
	if (rc == OPS_OK && r.status == 404 && r.retried > 0 && have_want) {
		/*
		 * An earlier attempt may have completed the upload and lost only
		 * its answer; the object is then there with the multipart ETag.
		 */
		struct resp h;
		struct req hq = { 0 };

		hq.method = "HEAD";
		hq.path = w->key;
		hq.what = what;
		if (request(s, &hq, &h, err) == OPS_OK && h.status / 100 == 2 && same_etag(h.etag, want)) {
			free(h.body);
			free(r.body);
			return OPS_OK;
		}
		free(h.body);
	}
	/* S3 may answer 200 and put the error in the body. */
	if (rc == OPS_OK && (r.status != 200 || !r.body || strstr(r.body, "<Error>"))) {
		char *code = r.body ? xml_tag(r.body, "Code", NULL) : NULL;

		if (code || r.status != 200)
			rc = ops_error_set(err, OPS_EFAIL, "%s in %s: completing the upload failed (%s%s%ld)",
					   what, where(s), code ? code : "", code ? ", HTTP " : "HTTP ",
					   r.status);
		else
			rc = ops_error_set(err, OPS_EFAIL, "%s in %s: completing the upload failed (%s)",
					   what, where(s), r.body ? "an error without a code" : "an empty answer");
		free(code);
	}
	if (rc == OPS_OK && have_want) {
		char *etag = xml_tag(r.body, "ETag", NULL);

		/* Only S3's "-N" form can be checked; some servers return a whole-object MD5. */
		if (etag && strchr(etag, '-') && !same_etag(etag, want))
			rc = ops_error_set(err, OPS_EFAIL, "%s in %s: the upload completed with ETag %s, expected %s",
					   what, where(s), etag, want);
		free(etag);
	}
	free(r.body);
	return rc;
}

static ops_code put_commit(ops_store_writer *writer, ops_error *err)
{
	struct s3_writer *w = (struct s3_writer *)writer;
	struct s3_store *s = w->s;
	char what[300];
	ops_code rc = OPS_OK;

	snprintf(what, sizeof what, "storing '%s'", w->key);
	if (w->failed) {
		rc = ops_error_set(err, w->failed, "%s in %s: an earlier write failed", what, where(s));
	} else if (!w->upload_id) {
		struct resp r;
		struct req q = { 0 };

		q.method = "PUT";
		q.path = w->key;
		q.body = w->buf;
		q.len = w->len;
		q.what = what;
		rc = request(s, &q, &r, err);
		if (rc == OPS_OK && r.status == 404)
			rc = ops_error_set(err, OPS_EFAIL, "%s: no bucket '%s'", what, s->bucket);
		free(r.body);
		writer_free(w);
		return rc;
	} else if (w->len > 0) {
		rc = upload_part(w, err);
	}
	if (rc == OPS_OK)
		rc = complete_upload(w, what, err);
	if (rc != OPS_OK)
		abort_upload(w);
	writer_free(w);
	return rc;
}

static void put_abort(ops_store_writer *writer)
{
	struct s3_writer *w = (struct s3_writer *)writer;

	if (!w)
		return;
	abort_upload(w);
	writer_free(w);
}

/* ---- reads ---- */

static ops_code head(struct s3_store *s, const char *fkey, struct resp *r, ops_error *err)
{
	char what[300];
	struct req q = { 0 };

	snprintf(what, sizeof what, "looking up '%s'", fkey);
	q.method = "HEAD";
	q.path = fkey;
	q.what = what;
	return request(s, &q, r, err);
}

static ops_code get_begin(ops_store *store, const char *key, ops_store_reader **out, ops_error *err)
{
	struct s3_store *s = (struct s3_store *)store;
	struct s3_reader *rd = calloc(1, sizeof *rd);
	struct resp r;
	ops_code rc;

	if (!rd || !(rd->key = strdup(key)) || !(rd->fkey = full_key(s, key))) {
		if (rd)
			free(rd->key);
		free(rd);
		return ops_error_oom(err);
	}
	rc = head(s, rd->fkey, &r, err);
	free(r.body);
	if (rc == OPS_OK && r.status == 404)
		rc = ops_error_set(err, OPS_EFAIL, "no object '%s' in %s", key, where(s));
	if (rc != OPS_OK) {
		free(rd->fkey);
		free(rd->key);
		free(rd);
		return rc;
	}
	rd->base.ops = &s3_ops;
	rd->s = s;
	rd->size = r.content_length;
	snprintf(rd->etag, sizeof rd->etag, "%s", r.etag);
	*out = &rd->base;
	return OPS_OK;
}

static ops_code s3_read(ops_store_reader *reader, void *buf, size_t len, size_t *got, ops_error *err)
{
	struct s3_reader *rd = (struct s3_reader *)reader;

	*got = 0;
	if (rd->pos == rd->len) {
		struct resp r;
		struct req q = { 0 };
		char range[64], what[300];
		long long end;
		ops_code rc;

		if (rd->offset >= rd->size)
			return OPS_OK;
		end = rd->offset + RANGE - 1 < rd->size - 1 ? rd->offset + RANGE - 1 : rd->size - 1;
		snprintf(range, sizeof range, "%lld-%lld", rd->offset, end);
		snprintf(what, sizeof what, "reading '%s'", rd->key);
		q.method = "GET";
		q.path = rd->fkey;
		q.range = range;
		q.if_match = rd->etag[0] ? rd->etag : NULL;
		q.what = what;
		rc = request(rd->s, &q, &r, err);
		if (rc == OPS_OK && r.status == 404)
			rc = ops_error_set(err, OPS_EFAIL, "object '%s' vanished from %s while being read",
					   rd->key, where(rd->s));
		else if (rc == OPS_OK && r.status == 412)
			rc = ops_error_set(err, OPS_EFAIL, "object '%s' in %s was replaced while being read",
					   rd->key, where(rd->s));
		else if (rc == OPS_OK && (long long)r.len != end - rd->offset + 1)
			rc = ops_error_set(err, OPS_EDATA, "%s in %s: asked for %lld bytes, got %zu", what,
					   where(rd->s), end - rd->offset + 1, r.len);
		if (rc != OPS_OK) {
			free(r.body);
			return rc;
		}
		free(rd->buf);
		rd->buf = r.body;
		rd->len = r.len;
		rd->pos = 0;
		rd->offset = end + 1;
	}
	*got = rd->len - rd->pos < len ? rd->len - rd->pos : len;
	memcpy(buf, rd->buf + rd->pos, *got);
	rd->pos += *got;
	return OPS_OK;
}

static void get_end(ops_store_reader *reader)
{
	struct s3_reader *rd = (struct s3_reader *)reader;

	if (!rd)
		return;
	free(rd->buf);
	free(rd->fkey);
	free(rd->key);
	free(rd);
}

/* ---- listing and the rest ---- */

static int cmp_entries(const void *a, const void *b)
{
	return strcmp(((const ops_store_entry *)a)->key, ((const ops_store_entry *)b)->key);
}

/* The <Contents> of one ListObjectsV2 page appended to *v. */
static ops_code add_page(struct s3_store *s, const char *xml, ops_store_entry **v, size_t *count,
			 ops_error *err)
{
	const char *from = NULL;
	size_t plen = strlen(s->prefix);
	char *contents;
	ops_code rc = OPS_OK;

	while (rc == OPS_OK && (contents = xml_tag(xml, "Contents", &from))) {
		char *k = xml_tag(contents, "Key", NULL), *sz = xml_tag(contents, "Size", NULL);
		char *lm = xml_tag(contents, "LastModified", NULL);

		/* Objects not written through a store (no valid key) are not ours to show. */
		if (k && strlen(k) > plen && strncmp(k, s->prefix, plen) == 0 &&
		    ops_store_key_valid(k + plen)) {
			ops_store_entry *grown = realloc(*v, (*count + 1) * sizeof **v);

			if (!grown || !(grown[*count].key = strdup(k + plen))) {
				if (grown)
					*v = grown;
				rc = ops_error_oom(err);
			} else {
				*v = grown;
				if (!sz || ops_parse_int64(sz, 0, LLONG_MAX, &grown[*count].size,
							   NULL) != OPS_OK)
					grown[*count].size = -1;	/* unknown */
				grown[*count].mtime = lm ? parse_iso8601(lm) : 0;
				(*count)++;
			}
		}
		free(k);
		free(sz);
		free(lm);
		free(contents);
	}
	return rc;
}

static ops_code s3_list(ops_store *store, const char *prefix, ops_store_entry **entries,
			size_t *n, ops_error *err)
{
	struct s3_store *s = (struct s3_store *)store;
	ops_store_entry *v = NULL;
	size_t count = 0;
	char *token = NULL, *full = full_key(s, prefix);
	ops_code rc = OPS_OK;

	*entries = NULL;
	*n = 0;
	if (!full)
		return ops_error_oom(err);
	do {
		char *query = NULL, *ep = ops_http_escape(full, "");
		char *et = token ? ops_http_escape(token, "") : NULL;
		struct resp r;
		struct req q = { 0 };

		if (!ep || (token && !et) ||
		    asprintf(&query, "%s%s%slist-type=2&prefix=%s", token ? "continuation-token=" : "",
			     token ? et : "", token ? "&" : "", ep) < 0) {
			free(ep);
			free(et);
			rc = ops_error_oom(err);
			break;
		}
		free(ep);
		free(et);
		q.method = "GET";
		q.query = query;
		q.what = "listing";
		rc = request(s, &q, &r, err);
		free(query);
		free(token);
		token = NULL;
		if (rc == OPS_OK && r.status == 404)
			rc = ops_error_set(err, OPS_EFAIL, "no bucket '%s' at %s", s->bucket, s->endpoint);
		if (rc == OPS_OK && r.body)
			rc = add_page(s, r.body, &v, &count, err);
		if (rc == OPS_OK && r.body) {
			char *trunc = xml_tag(r.body, "IsTruncated", NULL);

			if (trunc && strcmp(trunc, "true") == 0) {
				token = xml_tag(r.body, "NextContinuationToken", NULL);
				if (!token || !*token)
					rc = ops_error_set(err, OPS_EFAIL,
							   "listing %s: a truncated page without a continuation token",
							   where(s));
			}
			free(trunc);
		}
		free(r.body);
	} while (rc == OPS_OK && token);
	free(token);
	free(full);
	if (rc != OPS_OK) {
		ops_store_entries_free(v, count);
		return rc;
	}
	if (count)
		qsort(v, count, sizeof *v, cmp_entries);
	*entries = v;
	*n = count;
	return OPS_OK;
}

static ops_code s3_stat(ops_store *store, const char *key, ops_store_entry *out, int *found,
			ops_error *err)
{
	struct s3_store *s = (struct s3_store *)store;
	char *fkey = full_key(s, key);
	struct resp r;
	ops_code rc;

	*found = 0;
	if (!fkey)
		return ops_error_oom(err);
	rc = head(s, fkey, &r, err);
	free(r.body);
	free(fkey);
	if (rc != OPS_OK || r.status == 404)
		return rc;
	out->key = strdup(key);
	if (!out->key)
		return ops_error_oom(err);
	*found = 1;
	out->size = r.content_length;
	out->mtime = parse_rfc1123(r.last_modified);
	return OPS_OK;
}

static ops_code s3_remove(ops_store *store, const char *key, ops_error *err)
{
	struct s3_store *s = (struct s3_store *)store;
	char *fkey = full_key(s, key), what[300];
	struct resp r;
	struct req q = { 0 };
	ops_code rc;

	if (!fkey)
		return ops_error_oom(err);
	snprintf(what, sizeof what, "removing '%s'", key);
	q.method = "DELETE";
	q.path = fkey;
	q.what = what;
	rc = request(s, &q, &r, err);
	free(r.body);
	free(fkey);
	return rc;
}

static void s3_free(ops_store *store)
{
	struct s3_store *s = (struct s3_store *)store;

	ops_http_free(s->http);
	if (s->token) {
		memset(s->token, 0, strlen(s->token));
		free(s->token);
	}
	free(s->endpoint);
	free(s->bucket);
	free(s->prefix);
	free(s->base.description);
	free(s);
}

static const struct ops_store_ops s3_ops = {
	put_begin, s3_write, put_commit, put_abort,
	get_begin, s3_read, get_end,
	s3_list, s3_stat, s3_remove, s3_free
};

/* ---- credentials and opening ---- */

/* aws_access_key_id etc. of [profile] in an AWS credentials file. */
static void read_credentials(const char *path, const char *profile, char **id, char **secret,
			     char **token)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	int in = 0;

	while (f && fgets(line, sizeof line, f)) {
		char *p = line, *eq, *k, *v, *e;

		line[strcspn(line, "\r\n")] = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '#' || *p == ';')
			continue;
		if (*p == '[') {
			char *end = strchr(p, ']');

			if (end)
				*end = '\0';
			p++;
			while (*p == ' ' || *p == '\t')
				p++;
			/* ~/.aws/config spells it "[profile NAME]"; accept both. */
			if (strncmp(p, "profile ", 8) == 0)
				p += 8;
			for (e = p + strlen(p); e > p && (e[-1] == ' ' || e[-1] == '\t'); e--)
				e[-1] = '\0';
			in = strcmp(p, profile) == 0;
			continue;
		}
		if (!in || !(eq = strchr(p, '=')))
			continue;
		*eq = '\0';
		k = p;
		v = eq + 1;
		for (e = eq; e > k && (e[-1] == ' ' || e[-1] == '\t'); e--)
			e[-1] = '\0';
		while (*v == ' ' || *v == '\t')
			v++;
		for (e = v + strlen(v); e > v && (e[-1] == ' ' || e[-1] == '\t'); e--)
			e[-1] = '\0';
		if (strcmp(k, "aws_access_key_id") == 0 && !*id)
			*id = strdup(v);
		else if (strcmp(k, "aws_secret_access_key") == 0 && !*secret)
			*secret = strdup(v);
		else if (strcmp(k, "aws_session_token") == 0 && !*token)
			*token = strdup(v);
	}
	if (f)
		fclose(f);
	/* The stack copy of the secret dies here rather than with the frame. */
	memset(line, 0, sizeof line);
}

static void wipe_free(char *p)
{
	if (p) {
		memset(p, 0, strlen(p));
		free(p);
	}
}

static const char *nonempty_env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

/*
 * Credentials from the environment, else from the credentials file.  On
 * failure err says where it looked, never what it found.
 */
static ops_code credentials(const char *file, char **id, char **secret, char **token,
			    ops_error *err)
{
	const char *profile = nonempty_env("AWS_PROFILE");
	char *home_file = NULL;
	const char *path;

	*id = *secret = *token = NULL;
	if (nonempty_env("AWS_ACCESS_KEY_ID") && nonempty_env("AWS_SECRET_ACCESS_KEY")) {
		*id = strdup(getenv("AWS_ACCESS_KEY_ID"));
		*secret = strdup(getenv("AWS_SECRET_ACCESS_KEY"));
		if (nonempty_env("AWS_SESSION_TOKEN"))
			*token = strdup(getenv("AWS_SESSION_TOKEN"));
		if (!*id || !*secret || (nonempty_env("AWS_SESSION_TOKEN") && !*token))
			goto oom;
		return OPS_OK;
	}
	if (!profile)
		profile = "default";
	if (file && *file)
		path = file;
	else if (nonempty_env("HOME") && asprintf(&home_file, "%s/.aws/credentials", getenv("HOME")) >= 0)
		path = home_file;
	else
		path = NULL;
	if (path)
		read_credentials(path, profile, id, secret, token);
	if (*id && **id && *secret && **secret) {
		free(home_file);
		return OPS_OK;
	}
	wipe_free(*id);
	wipe_free(*secret);
	wipe_free(*token);
	*id = *secret = *token = NULL;
	ops_error_set(err, OPS_ECONFIG,
		      "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or use a credentials file");
	if (path)
		ops_error_detail(err, "no aws_access_key_id and aws_secret_access_key for profile '%s' in %s",
				 profile, path);
	ops_error_hint(err, "s3.credentials_file, AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials; AWS_PROFILE picks the profile");
	free(home_file);
	return OPS_ECONFIG;
oom:
	wipe_free(*id);
	wipe_free(*secret);
	wipe_free(*token);
	*id = *secret = *token = NULL;
	return ops_error_oom(err);
}

/*
 * The prefix as "a/b/" ("" for none): slashes at the ends and doubled ones
 * dropped.  "." and ".." are refused: libcurl would resolve them in the URL
 * and the requests would land outside the prefix, even in another bucket.
 */
static ops_code normalise_prefix(const char *prefix, char **out, ops_error *err)
{
	char *copy = strdup(prefix ? prefix : ""), *save = NULL, *part, *res;
	size_t used = 0;

	*out = NULL;
	res = malloc(strlen(prefix ? prefix : "") + 2);
	if (!copy || !res) {
		free(copy);
		free(res);
		return ops_error_oom(err);
	}
	res[0] = '\0';
	for (part = strtok_r(copy, "/", &save); part; part = strtok_r(NULL, "/", &save)) {
		if (strcmp(part, ".") == 0 || strcmp(part, "..") == 0) {
			free(copy);
			free(res);
			return ops_error_set(err, OPS_ECONFIG,
					     "s3.prefix '%s' has a '.' or '..' component", prefix);
		}
		used += (size_t)snprintf(res + used, strlen(prefix) + 2 - used, "%s/", part);
	}
	free(copy);
	*out = res;
	return OPS_OK;
}

/*
 * The endpoint without a trailing slash; host set to its host[:port] (for
 * the description).  Credentials in the URL are refused rather than
 * repeated in every message.
 */
static ops_code check_endpoint(const char *endpoint, char **url, char **host, ops_error *err)
{
	const char *auth, *end;
	size_t n;

	*url = *host = NULL;
	if (strncasecmp(endpoint, "http://", 7) == 0)
		auth = endpoint + 7;
	else if (strncasecmp(endpoint, "https://", 8) == 0)
		auth = endpoint + 8;
	else
		return ops_error_set(err, OPS_ECONFIG, "s3.endpoint '%s' is not an http:// or https:// URL",
				     endpoint);
	end = auth + strcspn(auth, "/?#");
	if (memchr(auth, '@', (size_t)(end - auth)))
		return ops_error_set(err, OPS_ECONFIG,
				     "s3.endpoint has user information (NAME@ or NAME:SECRET@) in it; credentials come from AWS_ACCESS_KEY_ID or the credentials file");
	if (end == auth)
		return ops_error_set(err, OPS_ECONFIG, "s3.endpoint '%s' names no host", endpoint);
	if (*end == '?' || *end == '#')
		return ops_error_set(err, OPS_ECONFIG, "s3.endpoint '%s' has a query or fragment", endpoint);
	*url = strdup(endpoint);
	*host = strndup(auth, (size_t)(end - auth));
	if (!*url || !*host) {
		free(*url);
		free(*host);
		*url = *host = NULL;
		return ops_error_oom(err);
	}
	for (n = strlen(*url); n > 0 && (*url)[n - 1] == '/'; n--)
		(*url)[n - 1] = '\0';
	return OPS_OK;
}

ops_code ops_store_open_s3(const struct ops_config *cfg, ops_store **out, ops_error *err)
{
	const char *bucket = ops_config_get(cfg, "s3.bucket");
	const char *region = ops_config_get(cfg, "s3.region");
	const char *endpoint = ops_config_get(cfg, "s3.endpoint");
	char *id = NULL, *secret = NULL, *token = NULL, *host = NULL, *sigv4 = NULL;
	ops_http_opts o;
	struct s3_store *s;
	ops_code rc;

	*out = NULL;
	if (!bucket || !*bucket) {
		ops_error_set(err, OPS_ECONFIG, "no S3 bucket configured for --s3");
		ops_error_hint(err, "set s3.bucket in opsctl.conf or S3_BUCKET");
		return OPS_ECONFIG;
	}
	if (!region || !*region)
		region = "us-east-1";
	s = calloc(1, sizeof *s);
	if (!s)
		return ops_error_oom(err);
	s->base.ops = &s3_ops;
	s->base.features = OPS_STORE_F_MULTIPART;
	if (endpoint && *endpoint) {
		rc = check_endpoint(endpoint, &s->endpoint, &host, err);
	} else if (asprintf(&s->endpoint, "https://s3.%s.amazonaws.com", region) < 0) {
		s->endpoint = NULL;
		rc = ops_error_oom(err);
	} else {
		rc = OPS_OK;
	}
	if (rc == OPS_OK)
		rc = normalise_prefix(ops_config_get(cfg, "s3.prefix"), &s->prefix, err);
	if (rc == OPS_OK)
		rc = credentials(ops_config_get(cfg, "s3.credentials_file"), &id, &secret, &token, err);
	if (rc != OPS_OK) {
		free(host);
		s3_free(&s->base);
		return rc;
	}
	s->token = token;
	s->bucket = strdup(bucket);
	s->part_size = (size_t)ops_config_int(cfg, "s3.part_size");
	if (asprintf(&sigv4, "aws:amz:%s:s3", region) < 0)
		sigv4 = NULL;
	ops_http_opts_init(&o);
	o.name = "S3";
	o.ca_file = ops_config_get(cfg, "s3.ca_file");
	o.aws_sigv4 = sigv4;
	o.user = id;
	o.password = secret;
	o.connect_timeout = CONNECT_TIMEOUT;
	/* A part or a range may take long on a slow link; only a stall ends it. */
	o.timeout = 0;
	o.stall_timeout = (double)ops_config_int(cfg, "s3.timeout");
	o.retries = (int)ops_config_int(cfg, "s3.retries");
	o.backoff = BACKOFF_START;
	o.backoff_max = BACKOFF_CAP;
	/* A ranged read is RANGE bytes; a listing page of 1,000 keys far less. */
	o.max_body = 2 * (size_t)RANGE;
	/* libcurl is loaded here, not at start-up: only S3 and HTTP need it. */
	rc = sigv4 && s->bucket ? ops_http_new(&o, &s->http, err) : ops_error_oom(err);
	wipe_free(id);
	wipe_free(secret);
	free(sigv4);
	if (rc != OPS_OK) {
		free(host);
		s3_free(&s->base);
		return rc;
	}
	if (asprintf(&s->base.description, "s3://%s/%s%s%s%s", s->bucket, s->prefix,
		     host ? " (" : "", host ? host : "", host ? ")" : "") < 0) {
		s->base.description = NULL;
		free(host);
		s3_free(&s->base);
		return ops_error_oom(err);
	}
	free(host);
	*out = &s->base;
	return OPS_OK;
}

ops_code ops_store_s3_versioning(ops_store *store, int *enabled, ops_error *err)
{
	struct s3_store *s = (struct s3_store *)store;
	struct resp r;
	struct req q = { 0 };
	char *status;
	ops_code rc;

	*enabled = 0;
	if (!store || store->ops != &s3_ops)
		return ops_error_set(err, OPS_EUSAGE, "s3-verify needs the S3 store (-s/--s3 or s3.bucket)");
	q.method = "GET";
	q.query = "versioning";
	q.what = "reading the versioning state";
	rc = request(s, &q, &r, err);
	if (rc == OPS_OK && r.status == 404)
		rc = ops_error_set(err, OPS_EFAIL, "no bucket '%s' at %s", s->bucket, s->endpoint);
	status = rc == OPS_OK && r.body ? xml_tag(r.body, "Status", NULL) : NULL;
	*enabled = status && strcmp(status, "Enabled") == 0;
	free(status);
	free(r.body);
	return rc;
}
