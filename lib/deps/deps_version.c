/*
 * Version schemes of the ecosystems `opsctl deps` reads: PEP 440 (Python)
 * and Semantic Versioning 2.0.0 (npm).  Parsing, ordering, whether a
 * version is a pre-release, and what kind of change (patch, minor, major)
 * one version is from another.
 *
 * What a change "is" follows semver in both schemes: the first release
 * number that differs names it, except that below 1.0 a change of the
 * second number is major (semver: 0.y is for initial development, anything
 * may break; npm's ^0.2.3 stops before 0.3.0).  Not here: ranges beyond
 * the few forms the npm module rewrites, and PEP 440's specifier language
 * (a requirement is read as an exact pin or not at all).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "deps/deps_internal.h"

/* ---- PEP 440 ---- */

static int word_at(const char **p, const char *w)
{
	size_t n = strlen(w);

	if (strncasecmp(*p, w, n) != 0)
		return 0;
	*p += n;
	return 1;
}

static int sep(const char **p)
{
	if (**p == '.' || **p == '-' || **p == '_') {
		(*p)++;
		return 1;
	}
	return 0;
}

static int number(const char **p, long *out)
{
	char *end;
	long v;

	if (!isdigit((unsigned char)**p))
		return 0;
	v = strtol(*p, &end, 10);
	if (v < 0 || end - *p > 15)
		return 0;
	*p = end;
	*out = v;
	return 1;
}

/*
 * PEP 440's normalisation is accepted: "v" prefix, case, "alpha"/"a",
 * "beta"/"b", "c"/"pre"/"preview"/"rc", "rev"/"r"/"post", implicit numbers
 * ("1.0a" is 1.0a0), separators '.', '-', '_' around them, "1.0-1" as a
 * post-release, surrounding blanks.
 */
int deps_pep440_parse(const char *s, deps_pep440 *v)
{
	const char *p = s;
	const char *q;
	long n;

	memset(v, 0, sizeof *v);
	v->pre_type = 0;
	v->post = -1;
	v->dev = -1;
	if (!s)
		return -1;
	while (isspace((unsigned char)*p))
		p++;
	if (*p == 'v' || *p == 'V')
		p++;
	q = p;
	if (number(&q, &n) && *q == '!') {
		v->epoch = n;
		p = q + 1;
	}
	if (!number(&p, &n))
		return -1;
	v->release[v->nrel++] = n;
	while (*p == '.' && isdigit((unsigned char)p[1])) {
		p++;
		if (!number(&p, &n) || v->nrel >= DEPS_PEP440_MAX_REL)
			return -1;
		v->release[v->nrel++] = n;
	}
	/* pre-release */
	q = p;
	sep(&q);
	{
		int t = 0;

		if (word_at(&q, "alpha"))
			t = 'a';
		else if (word_at(&q, "beta"))
			t = 'b';
		else if (word_at(&q, "preview") || word_at(&q, "pre") || word_at(&q, "rc"))
			t = 'c';
		else if (word_at(&q, "a"))
			t = 'a';
		else if (word_at(&q, "b"))
			t = 'b';
		else if (word_at(&q, "c"))
			t = 'c';
		if (t) {
			const char *r = q;

			sep(&r);
			v->pre_type = t;
			v->pre = 0;
			if (number(&r, &n)) {
				v->pre = n;
				q = r;
			}
			p = q;
		}
	}
	/* post-release */
	q = p;
	if (*q == '-' && isdigit((unsigned char)q[1])) {
		q++;
		number(&q, &v->post);
		p = q;
	} else {
		sep(&q);
		if (word_at(&q, "post") || word_at(&q, "rev") || word_at(&q, "r")) {
			const char *r = q;

			sep(&r);
			v->post = 0;
			if (number(&r, &n)) {
				v->post = n;
				q = r;
			}
			p = q;
		}
	}
	/* development release */
	q = p;
	sep(&q);
	if (word_at(&q, "dev")) {
		const char *r = q;

		sep(&r);
		v->dev = 0;
		if (number(&r, &n)) {
			v->dev = n;
			q = r;
		}
		p = q;
	}
	/* local version label */
	if (*p == '+') {
		size_t i = 0;

		p++;
		if (!isalnum((unsigned char)*p))
			return -1;
		while (isalnum((unsigned char)*p) || ((*p == '.' || *p == '-' || *p == '_') &&
						       isalnum((unsigned char)p[1]))) {
			if (i + 1 >= sizeof v->local)
				return -1;
			v->local[i++] = (char)(*p == '-' || *p == '_' ? '.' : tolower((unsigned char)*p));
			p++;
		}
		v->local[i] = '\0';
	}
	while (isspace((unsigned char)*p))
		p++;
	return *p ? -1 : 0;
}

static int cmp_long(long a, long b)
{
	return a < b ? -1 : a > b;
}

/*
 * Dot-separated identifiers one by one: two numbers by value (leading
 * zeros aside), a number against a word by num_vs_word (PEP 440's local
 * labels: a number is greater, 1; semver's pre-releases: smaller, -1), two
 * words by their bytes; when all before are equal, more identifiers win.
 */
static int cmp_idents(const char *a, const char *b, int num_vs_word)
{
	while (*a && *b) {
		size_t la = strcspn(a, "."), lb = strcspn(b, ".");
		int na = strspn(a, "0123456789") == la, nb = strspn(b, "0123456789") == lb;
		int c;

		if (na && nb) {
			const char *x = a, *y = b;
			size_t lx = la, ly = lb;

			while (lx > 1 && *x == '0')
				x++, lx--;
			while (ly > 1 && *y == '0')
				y++, ly--;
			c = lx != ly ? cmp_long((long)lx, (long)ly) : strncmp(x, y, lx);
		} else if (na != nb) {
			c = na ? num_vs_word : -num_vs_word;
		} else {
			c = strncmp(a, b, la < lb ? la : lb);
			if (!c)
				c = cmp_long((long)la, (long)lb);
		}
		if (c)
			return c < 0 ? -1 : 1;
		a += la + (a[la] == '.');
		b += lb + (b[lb] == '.');
	}
	return *a ? 1 : *b ? -1 : 0;
}

/* Local labels (already lowered); no label sorts below any. */
static int cmp_local(const char *a, const char *b)
{
	if (!*a || !*b)
		return *a ? 1 : *b ? -1 : 0;
	return cmp_idents(a, b, 1);
}

int deps_pep440_cmp_parsed(const deps_pep440 *a, const deps_pep440 *b)
{
	int i, n = a->nrel > b->nrel ? a->nrel : b->nrel, c;
	/* PEP 440: X.devN < X.aN < X.bN < X.rcN < X < X.postN.devM < X.postN */
	long apre, bpre, apost, bpost, adev, bdev;
	const long INF = 1L << 62;

	if ((c = cmp_long(a->epoch, b->epoch)))
		return c;
	for (i = 0; i < n; i++) {
		long x = i < a->nrel ? a->release[i] : 0, y = i < b->nrel ? b->release[i] : 0;

		if ((c = cmp_long(x, y)))
			return c;
	}
	apre = a->pre_type ? (long)a->pre_type * 1000000000L + a->pre
	       : (a->post < 0 && a->dev >= 0) ? -INF : INF;
	bpre = b->pre_type ? (long)b->pre_type * 1000000000L + b->pre
	       : (b->post < 0 && b->dev >= 0) ? -INF : INF;
	if ((c = cmp_long(apre, bpre)))
		return c;
	apost = a->post < 0 ? -INF : a->post;
	bpost = b->post < 0 ? -INF : b->post;
	if ((c = cmp_long(apost, bpost)))
		return c;
	adev = a->dev < 0 ? INF : a->dev;
	bdev = b->dev < 0 ? INF : b->dev;
	if ((c = cmp_long(adev, bdev)))
		return c;
	return cmp_local(a->local, b->local);
}

/* Strings: an unparsable version sorts below every valid one. */
int deps_pep440_cmp(const char *a, const char *b)
{
	deps_pep440 x, y;
	int okx = deps_pep440_parse(a, &x) == 0, oky = deps_pep440_parse(b, &y) == 0;

	if (!okx || !oky)
		return okx - oky;
	return deps_pep440_cmp_parsed(&x, &y);
}

int deps_pep440_valid(const char *s)
{
	deps_pep440 v;

	return deps_pep440_parse(s, &v) == 0;
}

/* PEP 440: pre-releases and development releases (1.0.dev1, 1.0rc1, 1.0.post1.dev2). */
int deps_pep440_prerelease(const char *s)
{
	deps_pep440 v;

	return deps_pep440_parse(s, &v) == 0 && (v.pre_type || v.dev >= 0);
}

static deps_kind kind_of(long amaj, long amin, long bmaj, long bmin)
{
	if (amaj != bmaj)
		return DEPS_MAJOR;
	if (amin != bmin)
		return amaj == 0 ? DEPS_MAJOR : DEPS_MINOR;
	return DEPS_PATCH;
}

deps_kind deps_pep440_kind(const char *from, const char *to)
{
	deps_pep440 a, b;

	if (deps_pep440_parse(from, &a) || deps_pep440_parse(to, &b))
		return DEPS_MAJOR;
	if (deps_pep440_cmp_parsed(&a, &b) == 0)
		return DEPS_NONE;
	if (a.epoch != b.epoch)
		return DEPS_MAJOR;
	return kind_of(a.release[0], a.nrel > 1 ? a.release[1] : 0,
		       b.release[0], b.nrel > 1 ? b.release[1] : 0);
}

/* ---- Semantic Versioning 2.0.0 ---- */

/* "1.2.3", "1.2.3-rc.1+build.5"; a leading "v" or "=" is accepted (npm's
 * loose form); leading zeros in numbers are not (semver 2.0.0 item 2). */
int deps_semver_parse(const char *s, deps_semver *v)
{
	const char *p = s;
	long *parts[3];
	int i;

	memset(v, 0, sizeof *v);
	if (!s)
		return -1;
	parts[0] = &v->major;
	parts[1] = &v->minor;
	parts[2] = &v->patch;
	while (isspace((unsigned char)*p))
		p++;
	if (*p == '=' )
		p++;
	if (*p == 'v' || *p == 'V')
		p++;
	for (i = 0; i < 3; i++) {
		if (i && *p++ != '.')
			return -1;
		if (*p == '0' && isdigit((unsigned char)p[1]))
			return -1;
		if (!number(&p, parts[i]))
			return -1;
	}
	if (*p == '-') {
		size_t n = 0;

		p++;
		while (isalnum((unsigned char)*p) || *p == '-' || (*p == '.' && p[1] && p[1] != '.' &&
								    p[1] != '+')) {
			if (n + 1 >= sizeof v->pre)
				return -1;
			v->pre[n++] = *p++;
		}
		if (!n)
			return -1;
		v->pre[n] = '\0';
	}
	if (*p == '+') {
		p++;
		if (!isalnum((unsigned char)*p) && *p != '-')
			return -1;
		while (isalnum((unsigned char)*p) || *p == '-' || *p == '.')
			p++;
	}
	while (isspace((unsigned char)*p))
		p++;
	return *p ? -1 : 0;
}

/* semver 11.4: a release beats its pre-releases; numeric identifiers are
 * below alphanumeric ones. */
static int cmp_pre(const char *a, const char *b)
{
	if (!*a || !*b)
		return *a ? -1 : *b ? 1 : 0;
	return cmp_idents(a, b, -1);
}

int deps_semver_cmp_parsed(const deps_semver *a, const deps_semver *b)
{
	int c;

	if ((c = cmp_long(a->major, b->major)) || (c = cmp_long(a->minor, b->minor)) ||
	    (c = cmp_long(a->patch, b->patch)))
		return c;
	return cmp_pre(a->pre, b->pre);
}

int deps_semver_cmp(const char *a, const char *b)
{
	deps_semver x, y;
	int okx = deps_semver_parse(a, &x) == 0, oky = deps_semver_parse(b, &y) == 0;

	if (!okx || !oky)
		return okx - oky;
	return deps_semver_cmp_parsed(&x, &y);
}

int deps_semver_valid(const char *s)
{
	deps_semver v;

	return deps_semver_parse(s, &v) == 0;
}

int deps_semver_prerelease(const char *s)
{
	deps_semver v;

	return deps_semver_parse(s, &v) == 0 && v.pre[0];
}

deps_kind deps_semver_kind(const char *from, const char *to)
{
	deps_semver a, b;

	if (deps_semver_parse(from, &a) || deps_semver_parse(to, &b))
		return DEPS_MAJOR;
	if (deps_semver_cmp_parsed(&a, &b) == 0)
		return DEPS_NONE;
	return kind_of(a.major, a.minor, b.major, b.minor);
}

const char *deps_kind_name(deps_kind k)
{
	static const char *const names[] = {"none", "patch", "minor", "major", "digest"};

	return names[k];
}

/*
 * The newest of versions[] that -t allows from current: minor (patch and
 * minor changes, 0.y counting as major), major (any newer), all (any newer,
 * pre-releases included); a pre-release only under all or when current is
 * one.  *latest: the newest overall on the same rule for pre-releases.
 * Both point into versions (NULL: none newer).
 */
void deps_choose(const deps_scheme *sc, const char *current, char *const *versions, int type,
		 const char **allowed, const char **latest)
{
	int pre_ok = type == OPS_DEPS_T_ALL || sc->prerelease(current);

	*allowed = *latest = NULL;
	for (; versions && *versions; versions++) {
		const char *v = *versions;

		if (!sc->valid(v) || (sc->prerelease(v) && !pre_ok))
			continue;
		if (sc->cmp(v, current) <= 0)
			continue;
		if (!*latest || sc->cmp(v, *latest) > 0)
			*latest = v;
		if (type == OPS_DEPS_T_MINOR && sc->kind(current, v) == DEPS_MAJOR)
			continue;
		if (!*allowed || sc->cmp(v, *allowed) > 0)
			*allowed = v;
	}
}

const deps_scheme deps_scheme_pep440 = {
	.name = "PEP 440", .valid = deps_pep440_valid, .cmp = deps_pep440_cmp,
	.prerelease = deps_pep440_prerelease, .kind = deps_pep440_kind,
};
const deps_scheme deps_scheme_semver = {
	.name = "semver", .valid = deps_semver_valid, .cmp = deps_semver_cmp,
	.prerelease = deps_semver_prerelease, .kind = deps_semver_kind,
};

/* PEP 503: runs of '-', '_', '.' become one '-', lowercased; into out. */
void deps_pep503_name(const char *name, char *out, size_t size)
{
	size_t n = 0;

	for (; *name && n + 1 < size; name++) {
		if (*name == '-' || *name == '_' || *name == '.') {
			if (n && out[n - 1] == '-')
				continue;
			out[n++] = '-';
		} else {
			out[n++] = (char)tolower((unsigned char)*name);
		}
	}
	out[n] = '\0';
}
