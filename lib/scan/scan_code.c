/*
 * scan -t code (issue 14; guide 003's monthly audit): secrets in the tree,
 * world-writable files, secret files readable by group or others, sensitive
 * variables in the environment (names only), and bandit's findings on the
 * Python files when bandit is on PATH.
 *
 * The tree is walked with the safe walk (walk.h: symlinks are entries, never
 * followed; no mount point crossed) as a dry run that selects nothing, so it
 * removes nothing.  Each file is read through one fixed buffer, so memory
 * stays flat whatever the tree.  The regexes are POSIX (REG_EXTENDED),
 * compiled once; to stay near grep's speed, a line reaches them only when
 * one pass over the buffer finds one of the literals the patterns contain
 * (private-key header, AKIA, eyJ, ghp_, ...), which is most of the time
 * none.  Config files are also read line by line for NAME = VALUE settings.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scan/scan_internal.h"
#include "opsmaint/clock.h"
#include "opsmaint/hash.h"
#include "opsmaint/log.h"
#include "opsmaint/proc.h"
#include "opsmaint/walk.h"

extern char **environ;

/* Lines longer than this are looked at in pieces of this size. */
#define CODE_BUF 65536
/* Binary: a NUL in the first 8 KiB, as git and grep decide it. */
#define CODE_BINARY_PROBE 8192
/* An AWS secret access key this many lines from a key id is its pair. */
#define AWS_PAIR_LINES 5
/* bandit's JSON beyond this is not read (a runaway report). */
#define BANDIT_OUT_MAX (64L << 20)

enum pat {
	P_PRIVKEY, P_AWS_ID, P_AWS_SECRET, P_JWT, P_TOKEN, P_COUNT
};

static const char *const pat_src[P_COUNT] = {
	[P_PRIVKEY] = "-----BEGIN ((RSA|DSA|EC|OPENSSH|ENCRYPTED|PGP) )?PRIVATE KEY( BLOCK)?-----",
	[P_AWS_ID] = "(^|[^A-Z0-9])((AKIA|ASIA)[A-Z0-9]{16})([^A-Z0-9]|$)",
	[P_AWS_SECRET] = "secret_?access_?key[\"']?[[:space:]]*[:=][[:space:]]*[\"']?"
			 "([A-Za-z0-9/+]{40})([^A-Za-z0-9/+]|$)",
	[P_JWT] = "(eyJ[A-Za-z0-9_-]{8,}\\.eyJ[A-Za-z0-9_-]{8,}\\.[A-Za-z0-9_-]{8,})",
	[P_TOKEN] = "((gh[pousr]_[A-Za-z0-9]{36})|(github_pat_[A-Za-z0-9_]{40,})"
		    "|(xox[abposr]-[A-Za-z0-9-]{10,})|(glpat-[A-Za-z0-9_-]{20,})"
		    "|(sk_live_[A-Za-z0-9]{24,})|(AIza[A-Za-z0-9_-]{35})"
		    "|(hooks\\.slack\\.com/services/T[A-Za-z0-9_/]{20,}))",
};

/* The literals that must be on a line for any pattern above to
 * match it (P_AWS_SECRET's "access key" in its usual spellings). */
static const char *const triggers[] = {
	"-----BEGIN ", "AKIA", "ASIA", "ccess_key", "ccesskey", "ccessKey", "CCESS_KEY", "CCESSKEY",
	"eyJ", "ghp_", "gho_", "ghu_", "ghs_",
	"ghr_", "github_pat_", "xox", "glpat-", "sk_live_", "AIza", "hooks.slack.com", NULL
};

/* Directories never entered: other tools' copies of code, not the tree's. */
static const char *const skip_dirs[] = {
	".git", "venv", ".venv", "node_modules", "__pycache__", NULL
};

/* Values of a secret-named setting that are not secrets. */
static const char *const placeholders[] = {
	"changeme", "change_me", "password", "secret", "example", "redacted", "xxxxxxxx",
	"none", "null", "true", "false", "required", "optional", "undefined", NULL
};

struct allow {
	char **fingerprints;	/* 32 hex digits each */
	regex_t *re;
	size_t nre;
};

/* A finding held back while its pair may still come (AWS id and secret). */
struct pending {
	long line;		/* 0: none */
	long column;
	char evidence[96];
	char hash[65];
};

struct code {
	scan_ctx *s;
	regex_t re[P_COUNT];
	int re_ok;
	struct allow allow;
	unsigned char bigram[65536 / 8];	/* the triggers' first two bytes */
	long long max_size;
	char *buf;
	ops_code rc;		/* the first hard error in a walk callback */
	ops_error *err;
	/* the file being read */
	const char *shown;	/* its path for people (root-relative when root is ".") */
	int is_config;
	int has_privkey;
	int privkeys;
	struct pending aws_id, aws_secret;
	/* per root */
	long python_files;
	long binary_skipped;
	const char *root;
};

/* ---- small helpers ---- */

static double entropy(const char *v, size_t n)
{
	unsigned cnt[256] = {0};
	double h = 0;
	size_t i;

	for (i = 0; i < n; i++)
		cnt[(unsigned char)v[i]]++;
	for (i = 0; i < 256; i++)
		if (cnt[i]) {
			double p = (double)cnt[i] / (double)n;

			h -= p * log2(p);
		}
	return h;
}

/*
 * A value worth reporting for a secret-named setting: not a reference to
 * something else (${VAR}, $VAR, %(x)s, {{ x }}, <x>), not a known
 * placeholder, 8 bytes or more, and of a Shannon entropy (bits per byte) a
 * chosen password reaches and "changeme" or "password123" does not.
 */
static int secret_like(const char *v, size_t n)
{
	const char *const *p;

	if (n < 8 || v[0] == '$' || v[0] == '%' || v[0] == '{' || v[0] == '<' ||
	    memchr(v, '$', n) || memchr(v, '{', n))
		return 0;
	for (p = placeholders; *p; p++)
		if (((*p)[0] | 0x20) == (v[0] | 0x20) && strlen(*p) == n && strncasecmp(*p, v, n) == 0)
			return 0;
	if (n >= 8 && strspn(v, "xX*") == n)
		return 0;
	return entropy(v, n) >= 3.0;
}

static int is_fingerprint(const char *s)
{
	return strlen(s) == 32 && strspn(s, "0123456789abcdef") == 32;
}

/* Config files by name: where `password = x` is a setting, not code. */
static int config_name(const char *name)
{
	static const char *const ext[] = {".env", ".ini", ".conf", ".cfg", ".cnf", ".yaml",
					  ".yml", ".toml", ".properties", ".json", ".xml",
					  ".tfvars", ".pgpass", NULL};
	const char *const *e, *dot;

	if (strcmp(name, ".env") == 0 || strncmp(name, ".env.", 5) == 0 ||
	    strcmp(name, ".pgpass") == 0 || strcmp(name, ".netrc") == 0 ||
	    strcmp(name, "credentials") == 0)
		return 1;
	if (!(dot = strrchr(name, '.')))
		return 0;
	for (e = ext; *e; e++)
		if (strcasecmp(dot, *e) == 0)
			return 1;
	return 0;
}

/* Files whose whole content is a secret: readable by group or others is a
 * finding (a .pem or .crt only when it holds a private key). */
static int secret_name(const char *name, int *needs_key)
{
	static const char *const exact[] = {".env", "id_rsa", "id_dsa", "id_ecdsa", "id_ed25519",
					    ".pgpass", ".netrc", "credentials", NULL};
	const char *const *e, *dot = strrchr(name, '.');

	*needs_key = 0;
	for (e = exact; *e; e++)
		if (strcmp(name, *e) == 0)
			return 1;
	if (strncmp(name, ".env.", 5) == 0 && strcmp(name, ".env.example") != 0 &&
	    strcmp(name, ".env.sample") != 0 && strcmp(name, ".env.template") != 0)
		return 1;
	if (dot && (strcmp(dot, ".key") == 0 || strcmp(dot, ".p12") == 0 || strcmp(dot, ".pfx") == 0))
		return 1;
	if (dot && (strcmp(dot, ".pem") == 0 || strcmp(dot, ".crt") == 0)) {
		*needs_key = 1;
		return 1;
	}
	return 0;
}

/* ---- reporting, through the allow-list ---- */

static int allowed_text(const struct code *c, const char *text)
{
	size_t i;

	for (i = 0; text && i < c->allow.nre; i++)
		if (regexec(&c->allow.re[i], text, 0, NULL, 0) == 0)
			return 1;
	return 0;
}

/* scan_add, then taken back when scan.code_allow lists its fingerprint or
 * one of its regexes matches the path or the line (line_text). */
static ops_code report(struct code *c, const scan_finding *f, const char *line_text,
		       ops_error *err)
{
	cJSON *all = scan_findings(c->s), *last;
	const char *fp;
	char **a;
	ops_code rc;

	if (allowed_text(c, f->file ? f->file : f->target) || allowed_text(c, line_text))
		return OPS_OK;
	if ((rc = scan_add(c->s, f, err)) != OPS_OK)
		return rc;
	last = cJSON_GetArrayItem(all, cJSON_GetArraySize(all) - 1);
	fp = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(last, "fingerprint"));
	for (a = c->allow.fingerprints; fp && a && *a; a++)
		if (strcmp(*a, fp) == 0) {
			cJSON_Delete(cJSON_DetachItemViaPointer(all, last));
			break;
		}
	return OPS_OK;
}

static ops_code report_secret(struct code *c, const char *rule, int sev, long line, long col,
			      const char *evidence, const char *secret, size_t len,
			      const char *line_text, ops_error *err)
{
	scan_finding f = {0};
	char hash[65];

	ops_sha256_hex(secret, len, hash);
	f.rule = rule;
	if (sev < 0)
		f.use_rule_severity = 1;
	else
		f.severity = (ops_severity)sev;
	f.target = c->shown;
	f.file = c->shown;
	f.line = line;
	f.column = col;
	f.evidence = evidence;
	f.fp_extra = hash;
	return report(c, &f, line_text, err);
}

/* ---- AWS pairs: an id and a secret key within AWS_PAIR_LINES lines ---- */

static ops_code aws_flush(struct code *c, long now_line, int all, ops_error *err)
{
	ops_code rc = OPS_OK;
	char ev[256];

	if (c->aws_id.line && c->aws_secret.line) {
		snprintf(ev, sizeof ev, "%s with a secret access key %s on line %ld",
			 c->aws_id.evidence, c->aws_secret.evidence, c->aws_secret.line);
		rc = report_secret(c, "code.secret.aws-access-key", OPS_SEV_CRITICAL, c->aws_id.line,
				   c->aws_id.column, ev, c->aws_id.hash, strlen(c->aws_id.hash),
				   NULL, err);
		c->aws_id.line = c->aws_secret.line = 0;
		return rc;
	}
	if (c->aws_id.line && (all || now_line - c->aws_id.line > AWS_PAIR_LINES)) {
		rc = report_secret(c, "code.secret.aws-access-key", -1, c->aws_id.line,
				   c->aws_id.column, c->aws_id.evidence, c->aws_id.hash,
				   strlen(c->aws_id.hash), NULL, err);
		c->aws_id.line = 0;
	}
	if (rc == OPS_OK && c->aws_secret.line &&
	    (all || now_line - c->aws_secret.line > AWS_PAIR_LINES)) {
		rc = report_secret(c, "code.secret.aws-secret-key", -1, c->aws_secret.line,
				   c->aws_secret.column, c->aws_secret.evidence, c->aws_secret.hash,
				   strlen(c->aws_secret.hash), NULL, err);
		c->aws_secret.line = 0;
	}
	return rc;
}

static void aws_hold(struct pending *p, const char *what, long line, long col, const char *v,
		     size_t n)
{
	char red[64];

	scan_redact(v, n, red, sizeof red);
	p->line = line;
	p->column = col;
	snprintf(p->evidence, sizeof p->evidence, "%s%s", what, red);
	ops_sha256_hex(v, n, p->hash);
}

/* ---- one line ---- */

/* One of triggers[] from first up to (not including) last is in the line. */
static int has_literal(const char *line, size_t len, const char *first, const char *last)
{
	const char *const *t;

	for (t = triggers; *t && strcmp(*t, first) != 0; t++)
		;
	for (; *t && (!last || strcmp(*t, last) != 0); t++)
		if (memmem(line, len, *t, strlen(*t)))
			return 1;
	return 0;
}

static int name_char(int ch)
{
	return isalnum(ch) || ch == '_' || ch == '.' || ch == '-';
}

/*
 * NAME = VALUE or NAME: VALUE (quotes around either allowed) where NAME
 * says it is a secret: the value's place, or 0.  Parsed by hand rather
 * than with a regex: a config file is read line by line, and glibc's
 * regexec, trying a pattern that starts with [A-Za-z0-9_.-]* at every byte
 * of every line, made config files twenty times slower than the rest.
 */
static int assignment(const char *line, size_t len, size_t *name, size_t *name_len,
		      size_t *val, size_t *val_len)
{
#define W(x) {x, sizeof x - 1}
	static const struct { const char *w; size_t l; } words[] = {
		W("password"), W("passwd"), W("pwd"), W("secret"), W("token"), W("apikey"),
		W("api_key"), W("accesskey"), W("access_key"), W("privatekey"), W("private_key"),
		W("credential"), W("auth"), {NULL, 0}
	};
#undef W
	size_t i = 0, ns, ne, v;

	while (i < len) {
		int hit = 0;
		size_t wi;

		while (i < len && !name_char((unsigned char)line[i]))
			i++;
		ns = i;
		while (i < len && name_char((unsigned char)line[i]))
			i++;
		ne = i;
		v = ne;
		if (v < len && (line[v] == '"' || line[v] == '\''))
			v++;
		while (v < len && (line[v] == ' ' || line[v] == '\t'))
			v++;
		if (v >= len || (line[v] != '=' && line[v] != ':'))
			continue;
		/* A NAME followed by = or :, the rare case: now its words. */
		for (wi = 0; words[wi].w && !hit; wi++) {
			size_t wl = words[wi].l, k;

			for (k = ns; k + wl <= ne && !hit; k++)
				hit = (line[k] | 0x20) == words[wi].w[0] &&
				      strncasecmp(line + k, words[wi].w, wl) == 0;
		}
		if (!hit)
			continue;
		v++;
		while (v < len && (line[v] == ' ' || line[v] == '\t'))
			v++;
		if (v < len && (line[v] == '"' || line[v] == '\''))
			v++;
		*name = ns;
		*name_len = ne - ns;
		*val = v;
		while (v < len && line[v] != '"' && line[v] != '\'' && line[v] != ' ' &&
		       line[v] != '\t' && line[v] != ',' && line[v] != ';')
			v++;
		*val_len = v - *val;
		return *val_len > 0;
	}
	return 0;
}

/* line is NUL-terminated (its '\n' replaced). */
static ops_code scan_line(struct code *c, char *line, size_t len, long lineno, int is_hit,
			  ops_error *err)
{
	regmatch_t m[6];
	ops_code rc;
	int specific = 0;
	size_t ns, nl, vs, vl;
	char red[96], ev[200];

	if (!is_hit)
		goto assign;
	if ((rc = aws_flush(c, lineno, 0, err)) != OPS_OK)
		return rc;
	if (memmem(line, len, "-----BEGIN ", 11) && regexec(&c->re[P_PRIVKEY], line, 1, m, 0) == 0) {
		char nth[16];

		specific = 1;
		c->has_privkey = 1;
		snprintf(ev, sizeof ev, "%.*s", (int)(m[0].rm_eo - m[0].rm_so), line + m[0].rm_so);
		snprintf(nth, sizeof nth, "#%d", ++c->privkeys);
		if ((rc = report_secret(c, "code.secret.private-key", -1, lineno, m[0].rm_so + 1, ev,
					nth, strlen(nth), line, err)) != OPS_OK)
			return rc;
	}
	if ((memmem(line, len, "AKIA", 4) || memmem(line, len, "ASIA", 4)) &&
	    regexec(&c->re[P_AWS_ID], line, 3, m, 0) == 0) {
		specific = 1;
		if (c->aws_id.line && (rc = aws_flush(c, lineno, 1, err)) != OPS_OK)
			return rc;
		aws_hold(&c->aws_id, "", lineno, m[2].rm_so + 1, line + m[2].rm_so,
			 (size_t)(m[2].rm_eo - m[2].rm_so));
	}
	if (has_literal(line, len, "ccess_key", "eyJ") && regexec(&c->re[P_AWS_SECRET], line, 2, m, 0) == 0) {
		size_t n = (size_t)(m[1].rm_eo - m[1].rm_so);

		specific = 1;
		if (entropy(line + m[1].rm_so, n) >= 3.5) {
			if (c->aws_secret.line && (rc = aws_flush(c, lineno, 1, err)) != OPS_OK)
				return rc;
			aws_hold(&c->aws_secret, "", lineno, m[1].rm_so + 1, line + m[1].rm_so, n);
		}
	}
	if (c->aws_id.line && c->aws_secret.line && (rc = aws_flush(c, lineno, 0, err)) != OPS_OK)
		return rc;
	if (memmem(line, len, "eyJ", 3) && regexec(&c->re[P_JWT], line, 2, m, 0) == 0) {
		size_t n = (size_t)(m[1].rm_eo - m[1].rm_so);

		specific = 1;
		scan_redact(line + m[1].rm_so, n, red, sizeof red);
		if ((rc = report_secret(c, "code.secret.jwt", -1, lineno, m[1].rm_so + 1, red,
					line + m[1].rm_so, n, line, err)) != OPS_OK)
			return rc;
	}
	if (has_literal(line, len, "ghp_", NULL) && regexec(&c->re[P_TOKEN], line, 2, m, 0) == 0) {
		size_t n = (size_t)(m[1].rm_eo - m[1].rm_so);

		specific = 1;
		scan_redact(line + m[1].rm_so, n, red, sizeof red);
		if ((rc = report_secret(c, "code.secret.token", -1, lineno, m[1].rm_so + 1, red,
					line + m[1].rm_so, n, line, err)) != OPS_OK)
			return rc;
	}
assign:
	if (!specific && c->is_config && (memchr(line, '=', len) || memchr(line, ':', len)) &&
	    assignment(line, len, &ns, &nl, &vs, &vl) && secret_like(line + vs, vl)) {
		scan_redact(line + vs, vl, red, sizeof red);
		snprintf(ev, sizeof ev, "%.*s=%s", nl > 64 ? 64 : (int)nl, line + ns, red);
		if ((rc = report_secret(c, "code.secret.assignment", -1, lineno, (long)ns + 1, ev,
					line + vs, vl, line, err)) != OPS_OK)
			return rc;
	}

	return OPS_OK;
}

/*
 * Some trigger literal in [p, end): the next one's address, or NULL.  One
 * pass with a table of the triggers' first two bytes (bigram[]), each
 * candidate then compared: a memmem per trigger would read the data twenty
 * times, which made the scan four times slower than grep.
 */
static const char *next_hit(const struct code *c, const char *p, const char *end)
{
	const unsigned char *q = (const unsigned char *)p, *e = (const unsigned char *)end;

	for (; q + 1 < e; q++) {
		unsigned k = (unsigned)q[0] << 8 | q[1];

		if (c->bigram[k >> 3] & (1u << (k & 7))) {
			const char *const *t;

			for (t = triggers; *t; t++) {
				size_t tl;

				if ((unsigned char)(*t)[0] != q[0] || (unsigned char)(*t)[1] != q[1])
					continue;
				tl = strlen(*t);
				if ((size_t)(e - q) >= tl && memcmp(q, *t, tl) == 0)
					return (const char *)q;
			}
		}
	}
	return NULL;
}

static long count_nl(const char *p, const char *end)
{
	long n = 0;

	while (p < end && (p = memchr(p, '\n', (size_t)(end - p)))) {
		n++;
		p++;
	}
	return n;
}

/* ---- one file ---- */

static ops_code scan_fd(struct code *c, int fd, ops_error *err)
{
	size_t have = 0;
	long line = 1;		/* the line buf[0] is on */
	int first = 1, eof = 0;
	ops_code rc;

	c->aws_id.line = c->aws_secret.line = 0;
	c->privkeys = 0;
	c->has_privkey = 0;
	while (!eof) {
		ssize_t r = read(fd, c->buf + have, CODE_BUF - have);
		char *p, *end, *stop;
		const char *hit;
		int hit_known;

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return OPS_EIO;
		}
		if (r == 0)
			eof = 1;
		have += (size_t)r;
		if (first && (have >= CODE_BINARY_PROBE || eof)) {
			first = 0;
			if (memchr(c->buf, '\0', have < CODE_BINARY_PROBE ? have : CODE_BINARY_PROBE))
				return OPS_EDATA;
		} else if (first) {
			continue;
		}
		if (!eof && have < CODE_BUF)
			continue;
		/* Whole lines only, unless the buffer is one line (cut) or the end. */
		end = c->buf + have;
		stop = eof ? end : memrchr(c->buf, '\n', have);
		stop = stop ? (eof ? end : stop + 1) : end;
		p = c->buf;
		hit = NULL;
		hit_known = 0;
		while (p < stop) {
			const char *h, *ls, *le;
			char save;

			if (!hit_known || (hit && hit < p)) {
				hit = next_hit(c, p, stop);
				hit_known = 1;
			}
			/* A config file: every line (for NAME = VALUE); else hit lines only. */
			if (c->is_config)
				h = p;
			else if (!(h = hit))
				break;
			ls = memrchr(p, '\n', (size_t)(h - p));
			ls = ls ? ls + 1 : p;
			le = memchr(h, '\n', (size_t)(stop - h));
			le = le ? le : stop;
			line += count_nl(p, ls);
			/* le <= buf + CODE_BUF: the buffer has room for this NUL. */
			save = *le;
			*(char *)le = '\0';
			rc = scan_line(c, (char *)ls, (size_t)(le - ls), line,
				       hit && hit >= ls && hit < le, err);
			*(char *)le = save;
			if (rc != OPS_OK)
				return rc;
			p = (char *)le;
			if (p < stop) {	/* past its '\n' */
				p++;
				line++;
			}
		}
		line += count_nl(p, stop);
		memmove(c->buf, stop, (size_t)(end - stop));
		have = (size_t)(end - stop);
	}
	return aws_flush(c, line + AWS_PAIR_LINES + 1, 1, err);
}

static ops_code too_large(struct code *c, const char *shown, long long size)
{
	scan_finding f = {0};
	char ev[128];

	snprintf(ev, sizeof ev, "%lld bytes, over scan.code_max_file_size (%lld); not read", size,
		 c->max_size);
	f.rule = "code.skip.too-large";
	f.use_rule_severity = 1;
	f.target = shown;
	f.file = shown;
	f.evidence = ev;
	return report(c, &f, NULL, c->err);
}

static ops_code perm_findings(struct code *c, const ops_walk_entry *e)
{
	mode_t m = e->st->st_mode;
	int needs_key;
	scan_finding f = {0};
	char ev[64];
	ops_code rc;

	f.target = c->shown;
	f.file = c->shown;
	f.evidence = ev;
	if (m & S_IWOTH) {
		snprintf(ev, sizeof ev, "mode %04o", (unsigned)(m & 07777));
		f.rule = "code.file.world-writable";
		f.use_rule_severity = 1;
		if ((rc = report(c, &f, NULL, c->err)) != OPS_OK)
			return rc;
	}
	if ((m & (S_IRGRP | S_IROTH)) && secret_name(e->name, &needs_key) &&
	    (!needs_key || c->has_privkey)) {
		snprintf(ev, sizeof ev, "mode %04o", (unsigned)(m & 07777));
		f.rule = "code.file.secret-readable";
		/* Anyone on the host (high), or the file's group only (medium). */
		f.use_rule_severity = (m & S_IROTH) != 0;
		f.severity = OPS_SEV_MEDIUM;
		if ((rc = report(c, &f, NULL, c->err)) != OPS_OK)
			return rc;
	}
	return OPS_OK;
}

static char *shown_path(const struct code *c, const ops_walk_entry *e)
{
	return ops_walk_quote(strcmp(c->root, ".") == 0 ? e->rel : e->path);
}

/* The walk's select: read the file, report, select nothing. */
static int on_file(void *arg, const ops_walk_entry *e)
{
	struct code *c = arg;
	char *shown;
	const char *dot;
	int fd;
	struct stat st;
	ops_code rc = OPS_OK;

	if (c->rc != OPS_OK)
		return 0;
	if (!(shown = shown_path(c, e))) {
		c->rc = ops_error_oom(c->err);
		return 0;
	}
	c->shown = shown;
	c->has_privkey = 0;
	dot = strrchr(e->name, '.');
	if (dot && strcmp(dot, ".py") == 0)
		c->python_files++;
	if (c->max_size > 0 && e->st->st_size > c->max_size) {
		c->rc = too_large(c, shown, (long long)e->st->st_size);
		if (c->rc == OPS_OK)
			c->rc = perm_findings(c, e);
		free(shown);
		return 0;
	}
	fd = open(e->path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_ino != e->st->st_ino ||
	    st.st_dev != e->st->st_dev) {
		/* Gone or swapped since the walk looked: not the file it saw. */
		if (fd < 0 && errno != ENOENT)
			scan_count_unreadable(c->s, shown);
	} else {
		c->is_config = config_name(e->name);
		rc = scan_fd(c, fd, c->err);
		if (rc == OPS_EIO)
			scan_count_unreadable(c->s, shown);
		else if (rc == OPS_EDATA)
			c->binary_skipped++;
		else if (rc != OPS_OK)
			c->rc = rc;
	}
	if (fd >= 0)
		close(fd);
	if (c->rc == OPS_OK)
		c->rc = perm_findings(c, e);
	free(shown);
	c->shown = NULL;
	return 0;
}

static int on_dir(void *arg, const ops_walk_entry *e)
{
	struct code *c = arg;
	const char *const *d;

	for (d = skip_dirs; *d; d++)
		if (strcmp(e->name, *d) == 0)
			return 0;
	/* A world-writable directory without the sticky bit lets anyone
	 * replace the files in it. */
	if ((e->st->st_mode & S_IWOTH) && !(e->st->st_mode & S_ISVTX) && c->rc == OPS_OK) {
		scan_finding f = {0};
		char ev[64], *shown = shown_path(c, e);

		if (!shown) {
			c->rc = ops_error_oom(c->err);
			return 0;
		}
		snprintf(ev, sizeof ev, "directory, mode %04o", (unsigned)(e->st->st_mode & 07777));
		f.rule = "code.file.world-writable";
		f.use_rule_severity = 1;
		f.target = shown;
		f.file = shown;
		f.evidence = ev;
		c->rc = report(c, &f, NULL, c->err);
		free(shown);
	}
	return 1;
}

static ops_code on_event(void *arg, const ops_walk_entry *e, ops_walk_event ev,
			 const ops_error *problem, ops_error *err)
{
	struct code *c = arg;

	if (ev == OPS_WALK_ERROR)
		scan_count_unreadable(c->s, problem ? problem->message : e->path);
	return OPS_OK;
}

/* ---- bandit ---- */

static ops_severity bandit_severity(const char *sev, const char *conf)
{
	ops_severity s = !sev ? OPS_SEV_LOW
		: strcmp(sev, "HIGH") == 0 ? OPS_SEV_HIGH
		: strcmp(sev, "MEDIUM") == 0 ? OPS_SEV_MEDIUM : OPS_SEV_LOW;

	/* bandit's own doubt lowers it one step (it guesses from code alone). */
	if (conf && strcmp(conf, "LOW") == 0 && s > OPS_SEV_INFO)
		s = (ops_severity)(s - 1);
	return s;
}

/* bandit's text quotes the string it flags ("Possible hardcoded password:
 * 'hunter2'"): each quoted part redacted. */
static void redact_quoted(const char *in, char *out, size_t out_size)
{
	size_t o = 0;

	while (*in && o + 1 < out_size) {
		if (*in == '\'' || *in == '"') {
			const char *close = strchr(in + 1, *in);

			if (close) {
				char red[128];

				scan_redact(in + 1, (size_t)(close - in - 1), red, sizeof red);
				o += (size_t)snprintf(out + o, out_size - o, "%c%s%c", *in, red, *in);
				if (o >= out_size)
					o = out_size - 1;
				in = close + 1;
				continue;
			}
		}
		out[o++] = *in++;
	}
	out[o] = '\0';
}

static ops_code bandit_merge(struct code *c, const char *json, ops_error *err)
{
	cJSON *doc = cJSON_Parse(json), *r;
	size_t rootlen = strlen(c->root);
	ops_code rc = OPS_OK;

	if (!doc)
		return ops_error_set(err, OPS_EDATA, "bandit's JSON output cannot be read");
	cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(doc, "results")) {
		const char *file = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "filename"));
		const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "test_id"));
		const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "test_name"));
		const char *text = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "issue_text"));
		cJSON *ln = cJSON_GetObjectItemCaseSensitive(r, "line_number");
		scan_finding f = {0};
		char ev[400], red[300], extra[128], hash[65], *shown;

		if (!file || !id)
			continue;
		if (strcmp(c->root, ".") == 0 && strncmp(file, "./", 2) == 0)
			file += 2;
		else if (strcmp(c->root, ".") != 0 && strncmp(file, c->root, rootlen) != 0)
			continue;
		if (!(shown = ops_walk_quote(file))) {
			rc = ops_error_oom(err);
			break;
		}
		redact_quoted(text ? text : "", red, sizeof red);
		snprintf(ev, sizeof ev, "bandit %s %s: %s", id, name ? name : "", red);
		ops_sha256_hex(text ? text : "", text ? strlen(text) : 0, hash);
		snprintf(extra, sizeof extra, "%s %s", id, hash);
		f.rule = "code.bandit";
		f.severity = bandit_severity(
			cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "issue_severity")),
			cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "issue_confidence")));
		f.target = shown;
		f.file = shown;
		f.line = cJSON_IsNumber(ln) ? (long)ln->valuedouble : 0;
		f.evidence = ev;
		f.fp_extra = extra;
		rc = report(c, &f, NULL, err);
		free(shown);
		if (rc != OPS_OK)
			break;
	}
	cJSON_Delete(doc);
	return rc;
}

/* bandit -r -f json on root when it is on PATH; nothing when it is not. */
static ops_code run_bandit(struct code *c, ops_error *err)
{
	char *argv[] = {"bandit", "-r", "-q", "-f", "json", "-x",
			"*/.git/*,*/venv/*,*/.venv/*,*/node_modules/*,*/__pycache__/*",
			(char *)c->root, NULL};
	long timeout_ms = ops_config_int(scan_cfg(c->s), "scan.code_bandit_timeout") * 1000L;
	double deadline = ops_clock() + (double)timeout_ms / 1000.0;
	ops_proc *p = NULL;
	ops_error e = {0};
	char *out = NULL;
	size_t n = 0, cap = 0;
	int fd = -1, timed_out = 0;
	ops_code rc;

	rc = ops_proc_start(NULL, argv, NULL, OPS_PROC_PIPE_OUT | OPS_PROC_NO_SECRETS, NULL, &fd,
			    &p, &e);
	if (rc == OPS_EUNAVAIL) {
		ops_log_info("scan: bandit is not installed; Python files not checked by it");
		return OPS_OK;
	}
	if (rc != OPS_OK)
		return scan_unreachable(c->s, "code", "bandit", &e, err);
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		double left = deadline - ops_clock();
		ssize_t r;

		if (left <= 0) {
			timed_out = 1;
			break;
		}
		if (poll(&pfd, 1, (int)(left * 1000) + 1) < 0) {
			if (errno == EINTR && ops_run_check_cancel(scan_run(c->s), &e) == OPS_OK)
				continue;
			break;
		}
		if (cap - n < 65536) {
			char *nb;

			if (cap >= (size_t)BANDIT_OUT_MAX) {
				timed_out = 2;
				break;
			}
			if (!(nb = realloc(out, cap ? cap * 2 : 262144))) {
				free(out);
				close(fd);
				ops_proc_kill(p);
				return ops_error_oom(err);
			}
			out = nb;
			cap = cap ? cap * 2 : 262144;
		}
		r = read(fd, out + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (timed_out) {
		ops_proc_kill(p);
		free(out);
		ops_error_set(&e, OPS_EFAIL, timed_out == 1 ? "bandit timed out after %ld s "
			      "(scan.code_bandit_timeout)" : "bandit wrote more than %ld bytes",
			      timed_out == 1 ? timeout_ms / 1000 : BANDIT_OUT_MAX);
		return scan_unreachable(c->s, "code", "bandit", &e, err);
	}
	/* bandit exits 1 when it found something: its JSON tells either way. */
	(void)ops_proc_wait(p, &e);
	if (!out || n == 0) {
		free(out);
		if (e.code == OPS_OK)
			ops_error_set(&e, OPS_EFAIL, "bandit wrote nothing");
		return scan_unreachable(c->s, "code", "bandit", &e, err);
	}
	out[n] = '\0';
	rc = bandit_merge(c, out, err);
	free(out);
	if (rc == OPS_EDATA)
		return scan_unreachable(c->s, "code", "bandit", err, err);
	return rc;
}

/* ---- the environment ---- */

static ops_code env_findings(struct code *c, ops_error *err)
{
	static const char *const strong[] = {"PASSWORD", "PASSWD", "SECRET", "PRIVATE", NULL};
	char **v;
	ops_code rc;

	for (v = environ; *v; v++) {
		const char *eq = strchr(*v, '='), *const *w;
		size_t len = eq ? (size_t)(eq - *v) : strlen(*v);
		scan_finding f = {0};
		char name[128], ev[160];
		int sev = OPS_SEV_INFO;

		if (!eq || !eq[1] || len >= sizeof name || !ops_proc_secret_name(*v, len))
			continue;
		memcpy(name, *v, len);
		name[len] = '\0';
		for (w = strong; *w; w++)
			if (strcasestr(name, *w))
				sev = OPS_SEV_LOW;
		snprintf(ev, sizeof ev, "%s is set (value not shown)", name);
		f.rule = "code.env.sensitive";
		f.severity = (ops_severity)sev;
		f.target = name;
		f.evidence = ev;
		if ((rc = report(c, &f, NULL, err)) != OPS_OK)
			return rc;
	}
	return OPS_OK;
}

/* ---- setup ---- */

static ops_code load_allow(struct code *c, ops_error *err)
{
	char **items = ops_config_list(scan_cfg(c->s), "scan.code_allow"), **a;
	size_t n = 0, nf = 0;

	if (!items)
		return ops_error_oom(err);
	for (a = items; *a; a++)
		n++;
	c->allow.fingerprints = calloc(n + 1, sizeof *c->allow.fingerprints);
	c->allow.re = calloc(n + 1, sizeof *c->allow.re);
	if (!c->allow.fingerprints || !c->allow.re) {
		ops_strv_free(items);
		return ops_error_oom(err);
	}
	for (a = items; *a; a++) {
		if (is_fingerprint(*a)) {
			if (!(c->allow.fingerprints[nf++] = strdup(*a))) {
				ops_strv_free(items);
				return ops_error_oom(err);
			}
			continue;
		}
		if (regcomp(&c->allow.re[c->allow.nre], *a, REG_EXTENDED | REG_NOSUB) != 0) {
			ops_error_set(err, OPS_ECONFIG, "scan.code_allow: '%s' is neither a fingerprint "
				      "(32 hex digits) nor a valid extended regular expression", *a);
			ops_strv_free(items);
			return OPS_ECONFIG;
		}
		c->allow.nre++;
	}
	ops_strv_free(items);
	return OPS_OK;
}

static void code_free(struct code *c)
{
	size_t i;
	char **a;

	if (c->re_ok)
		for (i = 0; i < P_COUNT; i++)
			regfree(&c->re[i]);
	for (i = 0; i < c->allow.nre; i++)
		regfree(&c->allow.re[i]);
	free(c->allow.re);
	for (a = c->allow.fingerprints; a && *a; a++)
		free(*a);
	free(c->allow.fingerprints);
	free(c->buf);
}

static ops_code scan_root(struct code *c, const char *root, ops_error *err)
{
	ops_walk_opts o;
	ops_walk_totals tot;
	ops_error e = {0};
	ops_code rc;

	c->root = root;
	c->python_files = 0;
	c->binary_skipped = 0;
	ops_walk_opts_init(&o);
	o.types = OPS_WALK_FILE;
	o.dry_run = 1;
	o.select = on_file;
	o.descend = on_dir;
	o.on_entry = on_event;
	o.arg = c;
	rc = ops_walk_tree(root, &o, &tot, &e);
	if (c->rc != OPS_OK) {
		*err = *c->err;
		return c->rc;
	}
	if (rc == OPS_EINTR || rc == OPS_EINTERNAL) {
		*err = e;
		return rc;
	}
	if (rc != OPS_OK)
		return scan_unreachable(c->s, "code", root, &e, err);
	if (c->binary_skipped > 0) {
		scan_finding f = {0};
		char ev[96];

		snprintf(ev, sizeof ev, "%ld binary file%s (a NUL byte in the first 8 KiB) not read",
			 c->binary_skipped, c->binary_skipped == 1 ? "" : "s");
		f.rule = "code.skip.binary";
		f.use_rule_severity = 1;
		f.target = root;
		f.evidence = ev;
		if ((rc = report(c, &f, NULL, err)) != OPS_OK)
			return rc;
	}
	if (c->python_files > 0)
		return run_bandit(c, err);
	return OPS_OK;
}

ops_code scan_code(scan_ctx *s, ops_error *err)
{
	struct code c = {0};
	char **paths = NULL, **p;
	ops_code rc = OPS_OK;
	size_t i;

	c.s = s;
	c.err = err;
	c.max_size = ops_config_int(scan_cfg(s), "scan.code_max_file_size");
	for (i = 0; i < P_COUNT; i++) {
		if (regcomp(&c.re[i], pat_src[i], REG_EXTENDED | (i == P_AWS_SECRET ? REG_ICASE : 0)) != 0) {
			while (i-- > 0)
				regfree(&c.re[i]);
			return ops_error_set(err, OPS_EINTERNAL, "scan code: pattern %zu does not compile", i);
		}
	}
	c.re_ok = 1;
	{
		const char *const *t;

		for (t = triggers; *t; t++) {
			unsigned k = (unsigned)(unsigned char)(*t)[0] << 8 | (unsigned char)(*t)[1];

			c.bigram[k >> 3] |= (unsigned char)(1u << (k & 7));
		}
	}
	if (!(c.buf = malloc(CODE_BUF + 1))) {
		rc = ops_error_oom(err);
		goto out;
	}
	if ((rc = load_allow(&c, err)) != OPS_OK)
		goto out;
	if (!(paths = ops_config_list(scan_cfg(s), "scan.code_paths"))) {
		rc = ops_error_oom(err);
		goto out;
	}
	for (p = paths; *p && rc == OPS_OK; p++)
		rc = scan_root(&c, *p, err);
	if (rc == OPS_OK)
		rc = env_findings(&c, err);
out:
	ops_strv_free(paths);
	code_free(&c);
	return rc;
}
