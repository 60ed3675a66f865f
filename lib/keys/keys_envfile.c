/*
 * The application's KEY=VALUE file (guide 004's .env beside the compose
 * file), read and rewritten the way docker compose's .env rules read it:
 * `#` (and systemd's `;`) comment lines, blank lines, an optional `export `,
 * unquoted values ending at a ` #` comment, single quotes literal (but for
 * `\'`), double quotes with \n \r \t \\ \" \$ escapes, quoted values that
 * run over several lines.  The last of duplicate names wins, as in compose.
 *
 * The file is kept as its records, each the raw bytes of one assignment or
 * other line (its line ending included), so that saving writes every record
 * it did not change back byte for byte: comments, order, spacing, `export`,
 * a trailing comment after a changed value, CRLF endings and a missing final
 * newline all survive.  A changed record has only its value's bytes
 * replaced.  Values are secrets: they never reach a message (a parse error
 * names the line and the variable), and every buffer that held one is
 * cleansed before it is freed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "keys_internal.h"
#include "opsmaint/fileio.h"
#include "opsmaint/secret.h"

/* An env file is a few dozen lines; anything this large is not one. */
#define ENVFILE_MAX (1024 * 1024)

struct rec {
	char *raw;		/* the record's bytes as written, line ending included */
	size_t len;
	char *name;		/* NULL: a comment, a blank or other line kept as is */
	char *value;		/* decoded */
	size_t vstart, vend;	/* the value's bytes in raw (quotes included) */
	unsigned line;		/* where it starts, for messages */
};

struct keys_envfile {
	char *path;
	struct stat st;		/* as loaded: owner, mode, and identity for save */
	struct rec *recs;
	size_t n, cap;
	int final_nl;		/* the original ended with a line ending (or was empty) */
	int crlf;		/* its first line ending was CRLF: appended lines use it */
	int dirty;
};

static void wipe_free(char *p, size_t len)
{
	if (p) {
		OPENSSL_cleanse(p, len);
		free(p);
	}
}

static void rec_clear(struct rec *r)
{
	wipe_free(r->raw, r->len);
	wipe_free(r->value, r->value ? strlen(r->value) : 0);
	free(r->name);
	memset(r, 0, sizeof *r);
}

void keys_envfile_free(keys_envfile *f)
{
	size_t i;

	if (!f)
		return;
	for (i = 0; i < f->n; i++)
		rec_clear(&f->recs[i]);
	free(f->recs);
	free(f->path);
	free(f);
}

/* ---- parsing ---- */

static int name_start(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static int name_char(int c)
{
	return name_start(c) || (c >= '0' && c <= '9') || c == '.';
}

static int blank(int c)
{
	return c == ' ' || c == '\t';
}

/* Where the physical line starting at p ends (after its '\n', or at end). */
static const char *line_end(const char *p, const char *end)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));

	return nl ? nl + 1 : end;
}

static ops_code parse_error(const keys_envfile *f, unsigned line, const char *name,
			    const char *what, ops_error *err)
{
	if (name)
		return ops_error_set(err, OPS_EDATA, "%s:%u: %s: %s", f->path, line, name, what);
	return ops_error_set(err, OPS_EDATA, "%s:%u: %s", f->path, line, what);
}

/*
 * A quoted value starting at *pp (on its opening quote): decoded into out
 * (room for the rest of the file), *pp past the closing quote.  0 when the
 * quote is never closed.
 */
static int parse_quoted(const char **pp, const char *end, char *out, unsigned *lines)
{
	const char *p = *pp;
	char q = *p++, *o = out;

	while (p < end && *p != q) {
		if (*p == '\n')
			(*lines)++;
		if (*p == '\\' && p + 1 < end) {
			char c = p[1];

			if (q == '\'') {
				if (c == '\'') {
					*o++ = '\'';
					p += 2;
					continue;
				}
			} else {
				const char *from = "nrt\\\"$", *to = "\n\r\t\\\"$";
				const char *hit = c ? strchr(from, c) : NULL;

				if (hit) {
					*o++ = to[hit - from];
					p += 2;
					continue;
				}
			}
		}
		*o++ = *p++;
	}
	if (p >= end)
		return 0;
	*o = '\0';
	*pp = p + 1;
	return 1;
}

static ops_code add_rec(keys_envfile *f, struct rec *r, ops_error *err)
{
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 32;
		struct rec *nr = realloc(f->recs, cap * sizeof *nr);

		if (!nr)
			return ops_error_oom(err);
		f->recs = nr;
		f->cap = cap;
	}
	f->recs[f->n++] = *r;
	return OPS_OK;
}

/* One record starting at p (line number *line); *next where the next starts. */
static ops_code parse_record(keys_envfile *f, const char *p, const char *end, unsigned *line,
			     const char **next, ops_error *err)
{
	const char *start = p, *eol = line_end(p, end), *q, *ns;
	struct rec r = {0};
	unsigned first = *line, extra = 0;
	ops_code rc;

	r.line = first;
	while (p < eol && blank(*p))
		p++;
	/* Blank lines, comments, and anything that is not NAME=...: kept as they are. */
	if (p == eol || *p == '\n' || *p == '\r' || *p == '#' || *p == ';')
		goto opaque;
	if ((size_t)(eol - p) > 7 && memcmp(p, "export", 6) == 0 && blank(p[6])) {
		p += 7;
		while (p < eol && blank(*p))
			p++;
	}
	if (!name_start((unsigned char)*p))
		goto opaque;
	ns = p;
	while (p < eol && name_char((unsigned char)*p))
		p++;
	q = p;
	while (p < eol && blank(*p))
		p++;
	if (p == eol || *p != '=')
		goto opaque;	/* `export NAME` or a bare NAME: sets nothing here */
	r.name = strndup(ns, (size_t)(q - ns));
	if (!r.name)
		return ops_error_oom(err);
	p++;
	while (p < eol && blank(*p))
		p++;
	r.vstart = (size_t)(p - start);
	/* Zeroed: a value cut short by a parse error is still a string to cleanse. */
	r.value = calloc(1, (size_t)(end - p) + 1);
	if (!r.value) {
		free(r.name);
		return ops_error_oom(err);
	}
	if (p < end && (*p == '\'' || *p == '"')) {
		if (!parse_quoted(&p, end, r.value, &extra)) {
			rc = parse_error(f, first, r.name, "the quoted value is never closed", err);
			goto fail;
		}
		r.vend = (size_t)(p - start);
		eol = line_end(p, end);
		while (p < eol && blank(*p))
			p++;
		if (p < eol && *p != '#' && *p != '\n' && !(*p == '\r' && p + 1 < end && p[1] == '\n')) {
			rc = parse_error(f, first + extra, r.name,
					 "unexpected text after the closing quote", err);
			goto fail;
		}
	} else {
		const char *v = p, *ve;

		/* Up to a comment (` #`), the line ending, or the end. */
		while (p < eol && *p != '\n' && !(*p == '#' && p > start && blank(p[-1])))
			p++;
		ve = p;
		while (ve > v && (blank(ve[-1]) || ve[-1] == '\r' || ve[-1] == '\n'))
			ve--;
		memcpy(r.value, v, (size_t)(ve - v));
		r.value[ve - v] = '\0';
		r.vend = (size_t)(ve - start);
	}
	*line += extra;
opaque:
	r.len = (size_t)(eol - start);
	r.raw = malloc(r.len + 1);
	if (!r.raw) {
		rc = ops_error_oom(err);
		goto fail;
	}
	memcpy(r.raw, start, r.len);
	r.raw[r.len] = '\0';
	(*line)++;
	*next = eol;
	rc = add_rec(f, &r, err);
	if (rc == OPS_OK)
		return OPS_OK;
fail:
	rec_clear(&r);
	return rc;
}

ops_code keys_envfile_load(const char *path, keys_envfile **out, ops_error *err)
{
	keys_envfile *f;
	const char *p, *end, *nl;
	unsigned line = 1;
	char *text;
	size_t len;
	ops_code rc;

	*out = NULL;
	f = calloc(1, sizeof *f);
	if (!f || !(f->path = strdup(path))) {
		free(f);
		return ops_error_oom(err);
	}
	rc = ops_read_private_file(path, "env file", ENVFILE_MAX, &text, &len, &f->st, err);
	if (rc != OPS_OK) {
		keys_envfile_free(f);
		return rc;
	}
	end = text + len;
	f->final_nl = len == 0 || end[-1] == '\n';
	nl = memchr(text, '\n', len);
	f->crlf = nl && nl > text && nl[-1] == '\r';
	for (p = text; p < end && rc == OPS_OK;)
		rc = parse_record(f, p, end, &line, &p, err);
	wipe_free(text, len);
	if (rc != OPS_OK) {
		keys_envfile_free(f);
		return rc;
	}
	*out = f;
	return OPS_OK;
}

/* The last record setting name (compose's rule), or NULL. */
static struct rec *find_last(const keys_envfile *f, const char *name)
{
	size_t i;

	for (i = f->n; i-- > 0;)
		if (f->recs[i].name && strcmp(f->recs[i].name, name) == 0)
			return &f->recs[i];
	return NULL;
}

const char *keys_envfile_get(const keys_envfile *f, const char *name)
{
	const struct rec *r = find_last(f, name);

	return r ? r->value : NULL;
}

/* ---- writing values ---- */

static int safe_unquoted(const char *v)
{
	for (; *v; v++)
		if (!((*v >= 'A' && *v <= 'Z') || (*v >= 'a' && *v <= 'z') ||
		      (*v >= '0' && *v <= '9') || strchr("_./:@+=-", *v)))
			return 0;
	return 1;
}

/*
 * value as the file writes it: bare when it is only [A-Za-z0-9_./:@+=-];
 * else in single quotes, which compose takes literally; a value holding a
 * single quote or a line break, or ending in a backslash (which would
 * escape the closing quote), in double quotes with \\ \" \$ \n \r escapes.
 */
static char *encode(const char *value, size_t *len)
{
	size_t n = strlen(value), i;
	char *out, *o;

	out = malloc(2 * n + 3);
	if (!out)
		return NULL;
	o = out;
	if (safe_unquoted(value)) {
		memcpy(o, value, n);
		o += n;
	} else if (!strpbrk(value, "'\n\r") && value[n - 1] != '\\') {
		*o++ = '\'';
		memcpy(o, value, n);
		o += n;
		*o++ = '\'';
	} else {
		*o++ = '"';
		for (i = 0; i < n; i++) {
			char c = value[i];

			if (c == '\n' || c == '\r') {
				*o++ = '\\';
				*o++ = c == '\n' ? 'n' : 'r';
			} else {
				if (c == '\\' || c == '"' || c == '$')
					*o++ = '\\';
				*o++ = c;
			}
		}
		*o++ = '"';
	}
	*o = '\0';
	*len = (size_t)(o - out);
	return out;
}

int keys_env_name_valid(const char *s, size_t n)
{
	size_t i;

	if (!s || n == 0 || !name_start((unsigned char)s[0]))
		return 0;
	for (i = 1; i < n; i++)
		if (!name_char((unsigned char)s[i]) || s[i] == '.')
			return 0;
	return 1;
}

static int valid_name(const char *name)
{
	return name && keys_env_name_valid(name, strlen(name));
}

static ops_code set_value(struct rec *r, const char *value, ops_error *err)
{
	char *enc, *raw, *val;
	size_t elen, len;

	enc = encode(value, &elen);
	val = strdup(value);
	len = r->vstart + elen + (r->len - r->vend);
	raw = enc && val ? malloc(len + 1) : NULL;
	if (!raw) {
		wipe_free(enc, enc ? elen : 0);
		wipe_free(val, val ? strlen(val) : 0);
		return ops_error_oom(err);
	}
	memcpy(raw, r->raw, r->vstart);
	memcpy(raw + r->vstart, enc, elen);
	memcpy(raw + r->vstart + elen, r->raw + r->vend, r->len - r->vend);
	raw[len] = '\0';
	wipe_free(enc, elen);
	wipe_free(r->raw, r->len);
	wipe_free(r->value, strlen(r->value));
	r->raw = raw;
	r->len = len;
	r->value = val;
	r->vend = r->vstart + elen;
	return OPS_OK;
}

static ops_code append(keys_envfile *f, const char *name, const char *value, ops_error *err)
{
	const char *nl = f->crlf ? "\r\n" : "\n";
	/* Without a final newline the last line stays as it was: the new one
	 * starts with the line ending and ends without one. */
	const char *lead = !f->final_nl && f->n ? nl : "", *trail = f->final_nl ? nl : "";
	struct rec r = {0};
	ops_code rc = OPS_OK;

	if (asprintf(&r.raw, "%s%s=%s", lead, name, trail) < 0)
		return ops_error_oom(err);
	r.len = strlen(r.raw);
	r.vstart = r.vend = strlen(lead) + strlen(name) + 1;
	r.name = strdup(name);
	r.value = strdup("");
	r.line = f->n ? f->recs[f->n - 1].line + 1 : 1;
	if (!r.name || !r.value)
		rc = ops_error_oom(err);
	if (rc == OPS_OK)
		rc = set_value(&r, value, err);
	if (rc == OPS_OK)
		rc = add_rec(f, &r, err);
	if (rc != OPS_OK)
		rec_clear(&r);
	return rc;
}

ops_code keys_envfile_set(keys_envfile *f, const char *name, const char *value, ops_error *err)
{
	struct rec *r;
	size_t i, j;
	ops_code rc;

	if (!valid_name(name))
		return ops_error_set(err, OPS_EINTERNAL, "'%s' is not a variable name", name ? name : "");
	if (!value) {
		for (i = j = 0; i < f->n; i++) {
			if (f->recs[i].name && strcmp(f->recs[i].name, name) == 0) {
				rec_clear(&f->recs[i]);
				f->dirty = 1;
			} else {
				f->recs[j++] = f->recs[i];
			}
		}
		f->n = j;
		return OPS_OK;
	}
	r = find_last(f, name);
	if (r && strcmp(r->value, value) == 0)
		return OPS_OK;
	rc = r ? set_value(r, value, err) : append(f, name, value, err);
	if (rc == OPS_OK)
		f->dirty = 1;
	return rc;
}

/* ---- saving ---- */

ops_code keys_envfile_save(keys_envfile *f, ops_error *err)
{
	struct stat now;
	ops_afile *af = NULL;
	char *buf, *o;
	size_t len = 0, size, i;
	ops_code rc;

	if (!f->dirty)
		return OPS_OK;
	/* Someone else's edit since load would be lost: let the caller read again. */
	if (lstat(f->path, &now) < 0 || now.st_dev != f->st.st_dev || now.st_ino != f->st.st_ino ||
	    now.st_size != f->st.st_size || now.st_mtim.tv_sec != f->st.st_mtim.tv_sec ||
	    now.st_mtim.tv_nsec != f->st.st_mtim.tv_nsec) {
		ops_error_set(err, OPS_ELOCKED, "env file '%s' changed since it was read", f->path);
		ops_error_hint(err, "Run again: the change is made on the file as it is then.");
		return OPS_ELOCKED;
	}
	for (i = 0; i < f->n; i++)
		len += f->recs[i].len;
	size = len + 1;
	buf = malloc(size);
	if (!buf)
		return ops_error_oom(err);
	for (o = buf, i = 0; i < f->n; i++) {
		memcpy(o, f->recs[i].raw, f->recs[i].len);
		o += f->recs[i].len;
	}
	/* Removing the last line must not add a final newline the file did not have. */
	if (!f->final_nl && len && buf[len - 1] == '\n')
		len -= len > 1 && buf[len - 2] == '\r' ? 2 : 1;
	rc = ops_afile_open(f->path, 0600, &af, err);
	if (rc != OPS_OK)
		goto out;
	/* The owner and mode before a byte is written: the secret is never in a
	 * file someone else may read, and the application's user keeps it. */
	if ((now.st_uid != geteuid() || now.st_gid != getegid()) &&
	    fchown(ops_afile_fd(af), now.st_uid, now.st_gid) < 0) {
		rc = ops_error_errno(err, errno, "cannot give the new env file the owner of", f->path);
		ops_afile_abort(af);
		goto out;
	}
	if (fchmod(ops_afile_fd(af), now.st_mode & 07777) < 0) {
		rc = ops_error_errno(err, errno, "cannot give the new env file the mode of", f->path);
		ops_afile_abort(af);
		goto out;
	}
	rc = ops_afile_write(af, buf, len, err);
	if (rc != OPS_OK) {
		ops_afile_abort(af);
		goto out;
	}
	rc = ops_afile_commit(af, err);
	if (rc == OPS_OK && stat(f->path, &f->st) == 0)
		f->dirty = 0;
out:
	wipe_free(buf, size);
	return rc;
}
