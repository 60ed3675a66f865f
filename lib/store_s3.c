/*
 * The S3 store: path-style requests signed by libcurl's AWS SigV4, every
 * payload's SHA-256 in x-amz-content-sha256 and its MD5 in Content-MD5, so
 * that S3 itself refuses a body damaged on the way; every answer's ETag is
 * compared with the MD5 we sent.  Writes buffer one part (s3.part_size):
 * smaller objects go in one PUT, larger ones in a multipart upload that is
 * aborted on any failure, so an object is visible only once complete.
 * Reads are ranged GETs of 8 MiB, each retried on its own.  5xx, 429 and
 * network errors are retried with exponential backoff and jitter; 4xx never.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "opsmaint/config.h"
#include "opsmaint/hash.h"
#include "opsmaint/log.h"
#include "store_driver.h"

#define RANGE (8u << 20)
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

struct s3_store {
	struct ops_store base;
	char *endpoint;		/* scheme://host[:port], no trailing slash */
	char *bucket;
	char *prefix;		/* "" or "a/b/" */
	char *sigv4;		/* "aws:amz:REGION:s3" */
	char *userpwd;		/* "ACCESS:SECRET"; never in a message */
	char *token;
	size_t part_size;
	int retries;
	long timeout;
	CURL *curl;
};

struct s3_writer {
	struct ops_store_writer base;
	struct s3_store *s;
	char *key;
	unsigned char *buf;
	size_t len;
	char *upload_id;
	char **etags;
	int parts;
};

struct s3_reader {
	struct ops_store_reader base;
	struct s3_store *s;
	char *key;
	long long size, offset;
	char *buf;
	size_t len, pos;
};

struct resp {
	long status;
	char *body;
	size_t len;
	char etag[130];
	char last_modified[64];
	long long content_length;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void init_curl(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

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

/* Percent-encoding of a key path: unreserved bytes and '/' stay. */
static char *encode_path(const char *p)
{
	static const char hexd[] = "0123456789ABCDEF";
	char *out = malloc(strlen(p) * 3 + 1), *o = out;

	if (!out)
		return NULL;
	for (; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
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

static size_t body_cb(char *data, size_t size, size_t n, void *arg)
{
	struct resp *r = arg;
	size_t len = size * n;
	char *grown = realloc(r->body, r->len + len + 1);

	if (!grown)
		return 0;
	r->body = grown;
	memcpy(r->body + r->len, data, len);
	r->len += len;
	r->body[r->len] = '\0';
	return len;
}

static void header_value(const char *line, size_t len, const char *name, char *out, size_t outlen)
{
	size_t n = strlen(name);

	if (len > n + 1 && strncasecmp(line, name, n) == 0 && line[n] == ':') {
		const char *v = line + n + 1;
		size_t vl = len - n - 1;

		while (vl && (*v == ' ' || *v == '\t'))
			v++, vl--;
		while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
			vl--;
		if (vl && *v == '"' && v[vl - 1] == '"' && vl >= 2)
			v++, vl -= 2;
		snprintf(out, outlen, "%.*s", (int)vl, v);
	}
}

static size_t header_cb(char *data, size_t size, size_t n, void *arg)
{
	struct resp *r = arg;
	size_t len = size * n;
	char num[32] = "";

	header_value(data, len, "ETag", r->etag, sizeof r->etag);
	header_value(data, len, "Last-Modified", r->last_modified, sizeof r->last_modified);
	header_value(data, len, "Content-Length", num, sizeof num);
	if (*num)
		r->content_length = atoll(num);
	return len;
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

static ops_code http_error(struct s3_store *s, const char *what, struct resp *r, ops_error *err)
{
	char *code = r->body ? xml_tag(r->body, "Code", NULL) : NULL;
	ops_code rc;

	if (r->status == 403)
		rc = ops_error_set(err, OPS_EPERM, "%s in %s: access denied (%s)", what, where(s),
				   code ? code : "403");
	else
		rc = ops_error_set(err, OPS_EFAIL, "%s in %s: HTTP %ld%s%s", what, where(s), r->status,
				   code ? " " : "", code ? code : "");
	free(code);
	return rc;
}

/*
 * One request with retries.  path: key relative to the bucket (NULL for the
 * bucket itself); query: sorted "a=b&c=d" or NULL; range: "a-b" or NULL.
 * 2xx and 404 come back as OPS_OK with r->status set.
 */
static ops_code request(struct s3_store *s, const char *method, const char *path,
			const char *query, const void *body, size_t len, const char *range,
			const char *what, struct resp *r, ops_error *err)
{
	char *url = NULL, *epath = NULL, sha[65], md5hex[33], md5b64[25], hdr[200];
	int attempt;
	long delay_ms = 200;
	ops_code rc = OPS_OK;

	memset(r, 0, sizeof *r);
	epath = encode_path(path ? path : "");
	if (!epath || asprintf(&url, "%s/%s%s%s%s%s", s->endpoint, s->bucket, path ? "/" : "",
			       epath, query ? "?" : "", query ? query : "") < 0) {
		free(epath);
		return ops_error_oom(err);
	}
	free(epath);
	if (body)
		ops_sha256_hex(body, len, sha);
	else
		snprintf(sha, sizeof sha, "%s", EMPTY_SHA256);
	for (attempt = 0;; attempt++) {
		struct curl_slist *h = NULL;
		CURLcode cc;

		free(r->body);
		memset(r, 0, sizeof *r);
		curl_easy_reset(s->curl);
		curl_easy_setopt(s->curl, CURLOPT_URL, url);
		curl_easy_setopt(s->curl, CURLOPT_CUSTOMREQUEST, method);
		curl_easy_setopt(s->curl, CURLOPT_AWS_SIGV4, s->sigv4);
		curl_easy_setopt(s->curl, CURLOPT_USERPWD, s->userpwd);
		curl_easy_setopt(s->curl, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(s->curl, CURLOPT_CONNECTTIMEOUT, 10L);
		curl_easy_setopt(s->curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(s->curl, CURLOPT_LOW_SPEED_TIME, s->timeout);
		curl_easy_setopt(s->curl, CURLOPT_WRITEFUNCTION, body_cb);
		curl_easy_setopt(s->curl, CURLOPT_WRITEDATA, r);
		curl_easy_setopt(s->curl, CURLOPT_HEADERFUNCTION, header_cb);
		curl_easy_setopt(s->curl, CURLOPT_HEADERDATA, r);
		if (strcmp(method, "HEAD") == 0)
			curl_easy_setopt(s->curl, CURLOPT_NOBODY, 1L);
		snprintf(hdr, sizeof hdr, "x-amz-content-sha256: %s", sha);
		h = curl_slist_append(h, hdr);
		h = curl_slist_append(h, "Expect:");
		if (body) {
			md5_of(body, len, md5hex, md5b64);
			snprintf(hdr, sizeof hdr, "Content-MD5: %s", md5b64);
			h = curl_slist_append(h, hdr);
			h = curl_slist_append(h, "Content-Type: application/octet-stream");
			curl_easy_setopt(s->curl, CURLOPT_POSTFIELDS, (const char *)body);
			curl_easy_setopt(s->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
		} else if (strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0) {
			curl_easy_setopt(s->curl, CURLOPT_POSTFIELDS, "");
			curl_easy_setopt(s->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
		}
		if (s->token) {
			char *t = NULL;

			if (asprintf(&t, "x-amz-security-token: %s", s->token) >= 0) {
				h = curl_slist_append(h, t);
				free(t);
			}
		}
		if (range)
			curl_easy_setopt(s->curl, CURLOPT_RANGE, range);
		curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, h);
		cc = curl_easy_perform(s->curl);
		curl_slist_free_all(h);
		if (cc == CURLE_OK)
			curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &r->status);
		if (cc == CURLE_OK && r->status < 500 && r->status != 429) {
			if ((r->status >= 200 && r->status < 300) || r->status == 404)
				rc = OPS_OK;
			else
				rc = http_error(s, what, r, err);
			break;
		}
		if (attempt >= s->retries) {
			if (cc != CURLE_OK)
				rc = ops_error_set(err, OPS_EUNAVAIL, "S3 endpoint %s unreachable: %s",
						   s->endpoint, curl_easy_strerror(cc));
			else
				rc = http_error(s, what, r, err);
			break;
		}
		ops_log_info("S3 %s %s: %s; retry %d of %d in %ld ms", method, path ? path : "(bucket)",
			     cc != CURLE_OK ? curl_easy_strerror(cc) : "server error", attempt + 1,
			     s->retries, delay_ms);
		usleep((useconds_t)(delay_ms + rand() % (delay_ms / 2 + 1)) * 1000);
		delay_ms = delay_ms * 2 > 5000 ? 5000 : delay_ms * 2;
	}
	free(url);
	/* A body S3 checked against our MD5 must come back with that ETag. */
	if (rc == OPS_OK && body && strcmp(method, "PUT") == 0 && r->status / 100 == 2 &&
	    strcasecmp(r->etag, md5hex) != 0) {
		rc = ops_error_set(err, OPS_EFAIL, "%s in %s: the ETag returned (%s) is not the MD5 sent",
				   what, where(s), r->etag[0] ? r->etag : "none");
	}
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
	char query[600], what[300];
	char **grown;
	ops_code rc;

	if (!w->upload_id) {
		char *id;

		snprintf(what, sizeof what, "starting the upload of '%s'", w->key);
		rc = request(s, "POST", w->key, "uploads", NULL, 0, NULL, what, &r, err);
		id = rc == OPS_OK && r.body ? xml_tag(r.body, "UploadId", NULL) : NULL;
		free(r.body);
		if (rc != OPS_OK)
			return rc;
		if (!id)
			return ops_error_set(err, OPS_EFAIL, "%s in %s: no UploadId in the answer", what, where(s));
		w->upload_id = id;
	}
	grown = realloc(w->etags, (size_t)(w->parts + 1) * sizeof *grown);
	if (!grown)
		return ops_error_oom(err);
	w->etags = grown;
	snprintf(query, sizeof query, "partNumber=%d&uploadId=%s", w->parts + 1, w->upload_id);
	snprintf(what, sizeof what, "uploading part %d of '%s'", w->parts + 1, w->key);
	rc = request(s, "PUT", w->key, query, w->buf, w->len, NULL, what, &r, err);
	if (rc == OPS_OK && r.status == 404)
		rc = ops_error_set(err, OPS_EFAIL, "%s in %s: the upload vanished", what, where(s));
	if (rc == OPS_OK) {
		w->etags[w->parts] = strdup(r.etag);
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

	while (len > 0) {
		size_t take = w->s->part_size - w->len < len ? w->s->part_size - w->len : len;

		memcpy(w->buf + w->len, p, take);
		w->len += take;
		p += take;
		len -= take;
		if (w->len == w->s->part_size && upload_part(w, err) != OPS_OK)
			return err->code;
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
	ops_error ignored;
	char query[600];

	if (!w->upload_id)
		return;
	/* Parts of an abandoned upload cost money until aborted. */
	snprintf(query, sizeof query, "uploadId=%s", w->upload_id);
	request(w->s, "DELETE", w->key, query, NULL, 0, NULL, "aborting an upload", &r, &ignored);
	free(r.body);
}

static ops_code put_commit(ops_store_writer *writer, ops_error *err)
{
	struct s3_writer *w = (struct s3_writer *)writer;
	struct s3_store *s = w->s;
	char query[600], what[300], *xml = NULL;
	size_t xlen = 0;
	struct resp r;
	ops_code rc = OPS_OK;
	FILE *f;
	int i;

	memset(&r, 0, sizeof r);
	snprintf(what, sizeof what, "storing '%s'", w->key);
	if (!w->upload_id) {
		rc = request(s, "PUT", w->key, NULL, w->buf, w->len, NULL, what, &r, err);
		if (rc == OPS_OK && r.status == 404)
			rc = ops_error_set(err, OPS_EFAIL, "%s: no bucket '%s'", what, s->bucket);
		free(r.body);
		writer_free(w);
		return rc;
	}
	if (w->len > 0)
		rc = upload_part(w, err);
	if (rc == OPS_OK) {
		f = open_memstream(&xml, &xlen);
		if (!f) {
			rc = ops_error_oom(err);
		} else {
			fputs("<CompleteMultipartUpload>", f);
			for (i = 0; i < w->parts; i++)
				fprintf(f, "<Part><PartNumber>%d</PartNumber><ETag>\"%s\"</ETag></Part>", i + 1,
					w->etags[i]);
			fputs("</CompleteMultipartUpload>", f);
			fclose(f);
		}
	}
	if (rc == OPS_OK) {
		snprintf(query, sizeof query, "uploadId=%s", w->upload_id);
		rc = request(s, "POST", w->key, query, xml, xlen, NULL, what, &r, err);
		/* S3 may answer 200 and put the error in the body. */
		if (rc == OPS_OK && (r.status != 200 || (r.body && strstr(r.body, "<Error>")))) {
			char *code = r.body ? xml_tag(r.body, "Code", NULL) : NULL;

			rc = ops_error_set(err, OPS_EFAIL, "%s in %s: completing the upload failed (%s)", what,
					   where(s), code ? code : "no detail");
			free(code);
		}
		free(r.body);
	}
	free(xml);
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

static time_t parse_rfc1123(const char *s)
{
	struct tm tm;

	memset(&tm, 0, sizeof tm);
	if (!strptime(s, "%a, %d %b %Y %H:%M:%S", &tm))
		return 0;
	return timegm(&tm);
}

static time_t parse_iso8601(const char *s)
{
	struct tm tm;

	memset(&tm, 0, sizeof tm);
	if (!strptime(s, "%Y-%m-%dT%H:%M:%S", &tm))
		return 0;
	return timegm(&tm);
}

static ops_code head(struct s3_store *s, const char *fkey, struct resp *r, ops_error *err)
{
	char what[300];

	snprintf(what, sizeof what, "looking up '%s'", fkey);
	return request(s, "HEAD", fkey, NULL, NULL, 0, NULL, what, r, err);
}

static ops_code get_begin(ops_store *store, const char *key, ops_store_reader **out, ops_error *err)
{
	struct s3_store *s = (struct s3_store *)store;
	struct s3_reader *rd = calloc(1, sizeof *rd);
	struct resp r;
	ops_code rc;

	if (!rd || !(rd->key = full_key(s, key))) {
		free(rd);
		return ops_error_oom(err);
	}
	rc = head(s, rd->key, &r, err);
	free(r.body);
	if (rc == OPS_OK && r.status == 404)
		rc = ops_error_set(err, OPS_EFAIL, "no object '%s' in %s", key, where(s));
	if (rc != OPS_OK) {
		free(rd->key);
		free(rd);
		return rc;
	}
	rd->base.ops = &s3_ops;
	rd->s = s;
	rd->size = r.content_length;
	*out = &rd->base;
	return OPS_OK;
}

static ops_code s3_read(ops_store_reader *reader, void *buf, size_t len, size_t *got, ops_error *err)
{
	struct s3_reader *rd = (struct s3_reader *)reader;

	*got = 0;
	if (rd->pos == rd->len) {
		struct resp r;
		char range[64], what[300];
		long long end;
		ops_code rc;

		if (rd->offset >= rd->size)
			return OPS_OK;
		end = rd->offset + RANGE - 1 < rd->size - 1 ? rd->offset + RANGE - 1 : rd->size - 1;
		snprintf(range, sizeof range, "%lld-%lld", rd->offset, end);
		snprintf(what, sizeof what, "reading '%s'", rd->key);
		rc = request(rd->s, "GET", rd->key, NULL, NULL, 0, range, what, &r, err);
		if (rc == OPS_OK && r.status == 404)
			rc = ops_error_set(err, OPS_EFAIL, "object '%s' vanished from %s while being read",
					   rd->key, where(rd->s));
		if (rc == OPS_OK && (long long)r.len != end - rd->offset + 1)
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
	free(rd->key);
	free(rd);
}

/* ---- listing and the rest ---- */

static int cmp_entries(const void *a, const void *b)
{
	return strcmp(((const ops_store_entry *)a)->key, ((const ops_store_entry *)b)->key);
}

static char *query_escape(const char *v)
{
	char *e = curl_easy_escape(NULL, v, 0), *copy;

	if (!e)
		return NULL;
	copy = strdup(e);
	curl_free(e);
	return copy;
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
		char *query = NULL, *ep = query_escape(full), *et = token ? query_escape(token) : NULL;
		const char *from = NULL;
		char *contents;
		struct resp r;

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
		rc = request(s, "GET", NULL, query, NULL, 0, NULL, "listing", &r, err);
		free(query);
		free(token);
		token = NULL;
		if (rc == OPS_OK && r.status == 404)
			rc = ops_error_set(err, OPS_EFAIL, "no bucket '%s' at %s", s->bucket, s->endpoint);
		while (rc == OPS_OK && (contents = xml_tag(r.body ? r.body : "", "Contents", &from))) {
			char *k = xml_tag(contents, "Key", NULL), *sz = xml_tag(contents, "Size", NULL);
			char *lm = xml_tag(contents, "LastModified", NULL);
			size_t plen = strlen(s->prefix);

			if (k && strlen(k) > plen && ops_store_key_valid(k + plen)) {
				ops_store_entry *grown = realloc(v, (count + 1) * sizeof *v);

				if (!grown) {
					rc = ops_error_oom(err);
				} else {
					v = grown;
					v[count].key = strdup(k + plen);
					v[count].size = sz ? atoll(sz) : 0;
					v[count].mtime = lm ? parse_iso8601(lm) : 0;
					if (v[count].key)
						count++;
				}
			}
			free(k);
			free(sz);
			free(lm);
			free(contents);
		}
		if (rc == OPS_OK && r.body) {
			char *trunc = xml_tag(r.body, "IsTruncated", NULL);

			if (trunc && strcmp(trunc, "true") == 0)
				token = xml_tag(r.body, "NextContinuationToken", NULL);
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
	*found = 1;
	out->key = strdup(key);
	out->size = r.content_length;
	out->mtime = parse_rfc1123(r.last_modified);
	return out->key ? OPS_OK : ops_error_oom(err);
}

static ops_code s3_remove(ops_store *store, const char *key, ops_error *err)
{
	struct s3_store *s = (struct s3_store *)store;
	char *fkey = full_key(s, key), what[300];
	struct resp r;
	ops_code rc;

	if (!fkey)
		return ops_error_oom(err);
	snprintf(what, sizeof what, "removing '%s'", key);
	rc = request(s, "DELETE", fkey, NULL, NULL, 0, NULL, what, &r, err);
	free(r.body);
	free(fkey);
	return rc;
}

static void s3_free(ops_store *store)
{
	struct s3_store *s = (struct s3_store *)store;

	if (s->curl)
		curl_easy_cleanup(s->curl);
	if (s->userpwd) {
		memset(s->userpwd, 0, strlen(s->userpwd));
		free(s->userpwd);
	}
	free(s->token);
	free(s->endpoint);
	free(s->bucket);
	free(s->prefix);
	free(s->sigv4);
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
		if (*p == '[') {
			char *end = strchr(p, ']');

			if (end)
				*end = '\0';
			p++;
			if (strncmp(p, "profile ", 8) == 0)
				p += 8;
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
	memset(line, 0, sizeof line);
}

ops_code ops_store_open_s3(const struct ops_config *cfg, ops_store **out, ops_error *err)
{
	const char *bucket = ops_config_get(cfg, "s3.bucket");
	const char *prefix = ops_config_get(cfg, "s3.prefix");
	const char *region = ops_config_get(cfg, "s3.region");
	const char *endpoint = ops_config_get(cfg, "s3.endpoint");
	const char *file = ops_config_get(cfg, "s3.credentials_file");
	char *id = NULL, *secret = NULL, *token = NULL, *home_file = NULL, *pfx = NULL;
	struct s3_store *s;
	size_t plen;

	*out = NULL;
	if (!bucket || !*bucket) {
		ops_error_set(err, OPS_ECONFIG, "no S3 bucket configured for --s3");
		ops_error_hint(err, "set s3.bucket in opsctl.conf or S3_BUCKET");
		return OPS_ECONFIG;
	}
	if (getenv("AWS_ACCESS_KEY_ID") && *getenv("AWS_ACCESS_KEY_ID") &&
	    getenv("AWS_SECRET_ACCESS_KEY") && *getenv("AWS_SECRET_ACCESS_KEY")) {
		id = strdup(getenv("AWS_ACCESS_KEY_ID"));
		secret = strdup(getenv("AWS_SECRET_ACCESS_KEY"));
		if (getenv("AWS_SESSION_TOKEN") && *getenv("AWS_SESSION_TOKEN"))
			token = strdup(getenv("AWS_SESSION_TOKEN"));
	} else {
		const char *profile = getenv("AWS_PROFILE");

		if ((!file || !*file) && getenv("HOME") &&
		    asprintf(&home_file, "%s/.aws/credentials", getenv("HOME")) < 0)
			home_file = NULL;
		read_credentials(file && *file ? file : home_file ? home_file : "/dev/null",
				 profile && *profile ? profile : "default", &id, &secret, &token);
		free(home_file);
	}
	if (!id || !secret || !*id || !*secret) {
		free(id);
		free(secret);
		free(token);
		ops_error_set(err, OPS_ECONFIG, "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or use a credentials file");
		ops_error_hint(err, "s3.credentials_file, AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials");
		return OPS_ECONFIG;
	}
	pthread_once(&curl_once, init_curl);
	s = calloc(1, sizeof *s);
	if (!s) {
		free(id);
		free(secret);
		free(token);
		return ops_error_oom(err);
	}
	s->base.ops = &s3_ops;
	s->base.features = OPS_STORE_F_MULTIPART;
	s->token = token;
	if (asprintf(&s->userpwd, "%s:%s", id, secret) < 0)
		s->userpwd = NULL;
	memset(secret, 0, strlen(secret));
	free(id);
	free(secret);
	if (endpoint && *endpoint)
		s->endpoint = strdup(endpoint);
	else if (asprintf(&s->endpoint, "https://s3.%s.amazonaws.com", region) < 0)
		s->endpoint = NULL;
	while (s->endpoint && *s->endpoint && s->endpoint[strlen(s->endpoint) - 1] == '/')
		s->endpoint[strlen(s->endpoint) - 1] = '\0';
	/* The prefix as "a/b/": one slash between it and the keys. */
	while (prefix && *prefix == '/')
		prefix++;
	pfx = strdup(prefix ? prefix : "");
	for (plen = pfx ? strlen(pfx) : 0; plen && pfx[plen - 1] == '/'; plen--)
		pfx[plen - 1] = '\0';
	if (pfx && *pfx && asprintf(&s->prefix, "%s/", pfx) < 0)
		s->prefix = NULL;
	else if (pfx && !*pfx)
		s->prefix = strdup("");
	free(pfx);
	s->bucket = strdup(bucket);
	if (asprintf(&s->sigv4, "aws:amz:%s:s3", region) < 0)
		s->sigv4 = NULL;
	s->part_size = (size_t)ops_config_int(cfg, "s3.part_size");
	s->retries = (int)ops_config_int(cfg, "s3.retries");
	s->timeout = ops_config_int(cfg, "s3.timeout");
	s->curl = curl_easy_init();
	if (!s->userpwd || !s->endpoint || !s->prefix || !s->bucket || !s->sigv4 || !s->curl ||
	    asprintf(&s->base.description, "s3://%s/%s%s%s%s", s->bucket, s->prefix,
		     endpoint && *endpoint ? " (" : "", endpoint && *endpoint ? s->endpoint : "",
		     endpoint && *endpoint ? ")" : "") < 0) {
		s->base.description = NULL;
		s3_free(&s->base);
		return ops_error_oom(err);
	}
	if (strncmp(s->endpoint, "http://", 7) != 0 && strncmp(s->endpoint, "https://", 8) != 0) {
		ops_error_set(err, OPS_ECONFIG, "s3.endpoint '%s' is not an http:// or https:// URL", s->endpoint);
		s3_free(&s->base);
		return OPS_ECONFIG;
	}
	*out = &s->base;
	return OPS_OK;
}

ops_code ops_store_s3_versioning(ops_store *store, int *enabled, ops_error *err)
{
	struct s3_store *s = (struct s3_store *)store;
	struct resp r;
	char *status;
	ops_code rc;

	*enabled = 0;
	if (!store || store->ops != &s3_ops)
		return ops_error_set(err, OPS_EUSAGE, "s3-verify needs the S3 store (-s/--s3 or s3.bucket)");
	rc = request(s, "GET", NULL, "versioning", NULL, 0, NULL, "reading the versioning state", &r, err);
	if (rc == OPS_OK && r.status == 404)
		rc = ops_error_set(err, OPS_EFAIL, "no bucket '%s' at %s", s->bucket, s->endpoint);
	status = rc == OPS_OK && r.body ? xml_tag(r.body, "Status", NULL) : NULL;
	*enabled = status && strcmp(status, "Enabled") == 0;
	free(status);
	free(r.body);
	return rc;
}
