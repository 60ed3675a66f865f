/*
 * The health components that look at this machine and its Redis: redis
 * (PING, memory against maxmemory, the cache hit ratio), disk (space and
 * inodes of health.disk_paths, as df counts them) and logs (new error lines
 * in health.log_files since the last run, as guide 003 greps them).
 *
 * redis goes through db/redis.h with the [redis] settings, its timeouts cut
 * to what the component has left; the memory and hit-ratio figures are
 * computed where `cache stats` computes them (ops_redis_info_usage), so the
 * two commands never disagree about the same server.
 *
 * logs reads only what was added since the last run: the state keeps, per
 * file, its device, inode and the offset of the first byte not yet judged.
 * It never reads more than health.max_body bytes of a file per run (the
 * rest waits for the next run), and never counts a last line that has no
 * newline yet: a writer may be in the middle of it.  It does not follow
 * compressed rotations (app.log.1.gz): what was not read before the file
 * was compressed is lost, and the report says the old file was not found.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "health_internal.h"
#include "opsmaint/clock.h"
#include "opsmaint/config.h"
#include "opsmaint/hash.h"
#include "opsmaint/json.h"
#include "opsmaint/redis.h"

/* ---- redis ---- */

/* Guide 004 has one Redis for the cache and the backup: the same fallback as
 * `opsctl cache`. */
static const char *redis_key(const ops_config *cfg)
{
	static const char *const keys[] = {"cache.redis_url", "backup.redis_url"};
	size_t i;

	for (i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		const char *v = ops_config_get(cfg, keys[i]);

		if (v && *v)
			return keys[i];
	}
	return NULL;
}

static void add_info_number(cJSON *rep, const char *name, const ops_redis_info *info,
			    const char *field)
{
	double d;

	if (ops_redis_info_number(info, field, &d))
		cJSON_AddNumberToObject(rep, name, d);
	else
		cJSON_AddNullToObject(rep, name);
}

ops_code health_redis(const health_ctx *ctx, health_result *r, ops_error *err)
{
	const ops_config *cfg = ctx->cfg;
	const char *key = redis_key(cfg);
	double warn = (double)ops_config_int(cfg, "health.redis_memory_pct");
	double crit = (double)ops_config_int(cfg, "health.redis_memory_critical_pct");
	double bar = (double)ops_config_int(cfg, "health.redis_hit_ratio_pct");
	double min_lookups = (double)ops_config_int(cfg, "cache.hit_ratio_min_lookups");
	double t0 = ops_clock(), left;
	ops_redis_info *info = NULL;
	ops_redis *c = NULL;
	ops_redis_usage u;
	cJSON *rep = health_report(r);
	ops_code rc;

	if (!key) {
		health_skip(r, "neither cache.redis_url nor backup.redis_url is set");
		return OPS_OK;
	}
	left = health_time_left(ctx, 0);
	rc = ops_redis_connect_config_within(cfg, key, (long)ceil(left * 1000), &c, err);
	if (rc == OPS_OK) {
		cJSON_AddStringToObject(rep, "redis", ops_redis_where(c));
		rc = ops_redis_call(c, NULL, err, "PING", NULL);
	}
	if (rc == OPS_OK)
		rc = ops_redis_info_get(c, NULL, &info, err);
	if (rc == OPS_EUNAVAIL) {
		/* Down, refused or silent: Redis's problem, named with HOST:PORT and
		 * the cause by db/redis.  A wrong password or URL stays an error:
		 * that is opsctl's configuration, not Redis, and is UNKNOWN. */
		health_raise(r, OPS_HEALTH_CRITICAL, "%s", err->message);
		ops_error_clear(err);
		rc = OPS_OK;
		goto out;
	}
	if (rc != OPS_OK)
		goto out;

	ops_redis_info_usage(info, &u);
	add_info_number(rep, "used_memory_bytes", info, "used_memory");
	add_info_number(rep, "maxmemory_bytes", info, "maxmemory");
	add_info_number(rep, "keyspace_hits", info, "keyspace_hits");
	add_info_number(rep, "keyspace_misses", info, "keyspace_misses");
	add_info_number(rep, "evicted_keys", info, "evicted_keys");
	add_info_number(rep, "rejected_connections", info, "rejected_connections");
	/* maxmemory 0 is no limit: nothing to judge memory against. */
	if (u.memory_ratio >= 0) {
		double pct = 100 * u.memory_ratio;

		health_perf(r, "redis_memory_pct", pct, "%", warn, crit, 0, 100);
		if (pct > crit)
			health_raise(r, OPS_HEALTH_CRITICAL, "memory %.0f%% of maxmemory", pct);
		else if (pct > warn)
			health_raise(r, OPS_HEALTH_WARNING, "memory %.0f%% of maxmemory", pct);
	} else {
		cJSON_AddNullToObject(rep, "redis_memory_pct");
	}
	if (u.hit_ratio >= 0) {
		double pct = 100 * u.hit_ratio;

		health_perf_low(r, "redis_hit_ratio", pct, "%", bar, NAN, 0, 100);
		/* A server that has just started, or is being warmed, has no
		 * ratio worth an alert yet (cache.hit_ratio_min_lookups). */
		if (ops_redis_usage_hit_ratio_judged(&u, min_lookups) && pct < bar)
			health_raise(r, OPS_HEALTH_WARNING,
				     "hit ratio %.1f%% below %.0f%% (%.0f hits, %.0f misses)", pct,
				     bar, u.hits, u.misses);
	} else {
		cJSON_AddNullToObject(rep, "redis_hit_ratio");
	}
out:
	/* The time is reported on failure too: how long a silent server was
	 * waited for. */
	health_perf(r, "redis_time", ops_clock() - t0, "s", NAN, NAN, 0, NAN);
	ops_redis_info_free(info);
	ops_redis_close(c);
	return rc;
}

/* ---- disk ---- */

/* "disk_" LABEL "_used_pct": / is root, /var/lib is var_lib. */
static void disk_label(const char *path, char *out, size_t len)
{
	size_t n = 0;
	const char *p = path;

	while (*p == '/')
		p++;
	if (!*p) {
		snprintf(out, len, "root");
		return;
	}
	for (; *p && n + 1 < len; p++) {
		unsigned char ch = (unsigned char)*p;

		if (isalnum(ch) || ch == '.')
			out[n++] = (char)tolower(ch);
		else if (n > 0 && out[n - 1] != '_')
			out[n++] = '_';
	}
	while (n > 0 && out[n - 1] == '_')
		n--;
	out[n] = '\0';
	if (n == 0)
		snprintf(out, len, "path");
}

/* Whole percent rounded up, as df prints Use%: 80.1% in use is 81%. */
static double pct_up(double used, double total)
{
	return total > 0 ? ceil(100 * used / total) : 0;
}

static void disk_judge(health_result *r, const char *path, const char *what, double pct,
		       double warn, double crit)
{
	if (pct > crit)
		health_raise(r, OPS_HEALTH_CRITICAL, "%s %s %.0f%% used", path, what, pct);
	else if (pct > warn)
		health_raise(r, OPS_HEALTH_WARNING, "%s %s %.0f%% used", path, what, pct);
}

ops_code health_disk(const health_ctx *ctx, health_result *r, ops_error *err)
{
	const ops_config *cfg = ctx->cfg;
	double warn = (double)ops_config_int(cfg, "health.disk_warn_pct");
	double crit = (double)ops_config_int(cfg, "health.disk_critical_pct");
	double iwarn = (double)ops_config_int(cfg, "health.inode_warn_pct");
	double icrit = (double)ops_config_int(cfg, "health.inode_critical_pct");
	char **paths = ops_config_list(cfg, "health.disk_paths");
	cJSON *list;
	size_t i;

	if (!paths)
		return ops_error_oom(err);
	if (!paths[0]) {
		ops_strv_free(paths);
		health_skip(r, "health.disk_paths is empty");
		return OPS_OK;
	}
	list = cJSON_AddArrayToObject(health_report(r), "paths");
	for (i = 0; paths[i]; i++) {
		const char *path = paths[i];
		cJSON *o = cJSON_CreateObject();
		char label[64], name[96];
		struct statvfs sv;
		double frsize, used, avail, pct;

		if (!o) {
			ops_strv_free(paths);
			return ops_error_oom(err);
		}
		cJSON_AddItemToArray(list, o);
		cJSON_AddStringToObject(o, "path", path);
		if (statvfs(path, &sv) != 0) {
			/* Not a full disk: the check cannot say how full it is.  The
			 * component is UNKNOWN, naming the path; the other paths are
			 * still judged and in the perfdata. */
			int e = errno;

			cJSON_AddStringToObject(o, "error", e == ENOENT ? "does not exist" : strerror(e));
			if (e == ENOENT)
				health_raise(r, OPS_HEALTH_UNKNOWN, "%s does not exist", path);
			else
				health_raise(r, OPS_HEALTH_UNKNOWN, "%s: %s", path, strerror(e));
			continue;
		}
		disk_label(path, label, sizeof label);
		frsize = (double)(sv.f_frsize ? sv.f_frsize : sv.f_bsize);
		/* df's Use%: blocks reserved for root count as neither used nor
		 * available. */
		used = (double)sv.f_blocks - (double)sv.f_bfree;
		avail = (double)sv.f_bavail;
		pct = pct_up(used, used + avail);
		snprintf(name, sizeof name, "disk_%s_used_pct", label);
		health_perf(r, name, pct, "%", warn, crit, 0, 100);
		cJSON_AddNumberToObject(o, "used_pct", pct);
		cJSON_AddNumberToObject(o, "size_bytes", (double)sv.f_blocks * frsize);
		cJSON_AddNumberToObject(o, "free_bytes", avail * frsize);
		disk_judge(r, path, "space", pct, warn, crit);
		/* Some file systems (btrfs, vfat, some FUSE) have no inode count. */
		if (sv.f_files > 0) {
			double ipct = pct_up((double)sv.f_files - (double)sv.f_ffree,
					     (double)sv.f_files);

			snprintf(name, sizeof name, "disk_%s_inodes_pct", label);
			health_perf(r, name, ipct, "%", iwarn, icrit, 0, 100);
			cJSON_AddNumberToObject(o, "inodes_pct", ipct);
			cJSON_AddNumberToObject(o, "free_inodes_count", (double)sv.f_ffree);
			disk_judge(r, path, "inodes", ipct, iwarn, icrit);
		} else {
			cJSON_AddNullToObject(o, "inodes_pct");
		}
	}
	ops_strv_free(paths);
	return OPS_OK;
}

/* ---- logs ---- */

#define LOG_SAMPLES 5
#define LOG_SAMPLE_LEN 200
/* Bytes at a log's start remembered (as a hash) to tell the same file from
 * a new one that was given the inode of a deleted one. */
#define LOG_HEAD_LEN 64

typedef struct log_scan {
	char *const *patterns;
	size_t budget;		/* bytes this file may still read this run */
	int skip_partial;	/* begin after the first newline (mid-file start) */
	long count;		/* error lines in this file */
	cJSON *samples;
} log_scan;

static int word_char(unsigned char ch)
{
	return isalnum(ch) || ch == '_';
}

/* Pattern as a whole word, as grep -w: "ERROR:" and "[ERROR]" count,
 * "ERRORS" and "NO_ERROR" do not. */
static int line_matches(const char *line, size_t len, char *const *patterns)
{
	size_t i, pl;
	const char *p, *end = line + len;

	for (i = 0; patterns[i]; i++) {
		pl = strlen(patterns[i]);
		for (p = line; pl && (size_t)(end - p) >= pl; p++) {
			p = memchr(p, patterns[i][0], (size_t)(end - p));
			if (!p || (size_t)(end - p) < pl)
				break;
			if (memcmp(p, patterns[i], pl) == 0 &&
			    (p == line || !word_char((unsigned char)p[-1])) &&
			    (p + pl == end || !word_char((unsigned char)p[pl])))
				return 1;
		}
	}
	return 0;
}

static void add_sample(cJSON *samples, const char *line, size_t len)
{
	char buf[LOG_SAMPLE_LEN + 1], *fixed;
	size_t n = len < LOG_SAMPLE_LEN ? len : LOG_SAMPLE_LEN, i;

	/* Never cut a UTF-8 sequence in two. */
	if (n < len)
		while (n > 0 && ((unsigned char)line[n] & 0xc0) == 0x80)
			n--;
	for (i = 0; i < n; i++)
		buf[i] = (unsigned char)line[i] < 0x20 ? ' ' : line[i];
	buf[n] = '\0';
	fixed = ops_utf8_repair(buf);
	cJSON_AddItemToArray(samples, cJSON_CreateString(fixed ? fixed : buf));
	free(fixed);
}

/*
 * Judge the complete lines of fd from *offset on, at most s->budget bytes,
 * and move *offset past the last complete line.  A line longer than the
 * whole budget is judged by its first part, or the file would never move on.
 */
static ops_code scan_fd(int fd, const char *path, off_t size, off_t *offset, log_scan *s,
			ops_error *err)
{
	size_t want, got = 0, start = 0, i;
	char *buf;
	ssize_t n;

	if (size <= *offset || s->budget == 0)
		return OPS_OK;
	want = (size_t)(size - *offset) < s->budget ? (size_t)(size - *offset) : s->budget;
	if (!(buf = malloc(want)))
		return ops_error_oom(err);
	while (got < want) {
		n = pread(fd, buf + got, want - got, *offset + (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(buf);
			return ops_error_errno(err, errno, "cannot read", path);
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	if (s->skip_partial) {
		char *nl = memchr(buf, '\n', got);

		/* No newline at all: the whole span is one line's tail. */
		start = nl ? (size_t)(nl - buf) + 1 : got;
		s->skip_partial = 0;
	}
	for (i = start; i < got; i++) {
		if (buf[i] != '\n')
			continue;
		if (line_matches(buf + start, i - start, s->patterns)) {
			s->count++;
			if (cJSON_GetArraySize(s->samples) < LOG_SAMPLES)
				add_sample(s->samples, buf + start, i - start);
		}
		start = i + 1;
	}
	if (start == 0 && got == s->budget) {
		if (line_matches(buf, got, s->patterns)) {
			s->count++;
			if (cJSON_GetArraySize(s->samples) < LOG_SAMPLES)
				add_sample(s->samples, buf, got);
		}
		start = got;
	}
	s->budget -= got;
	*offset += (off_t)start;
	free(buf);
	return OPS_OK;
}

static double state_num(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

/* dev and ino as text: a 64-bit inode number does not fit a JSON number. */
static int state_same(const cJSON *o, const struct stat *st)
{
	const cJSON *dev = cJSON_GetObjectItemCaseSensitive(o, "dev");
	const cJSON *ino = cJSON_GetObjectItemCaseSensitive(o, "ino");
	char d[32], i[32];

	snprintf(d, sizeof d, "%llu", (unsigned long long)st->st_dev);
	snprintf(i, sizeof i, "%llu", (unsigned long long)st->st_ino);
	return cJSON_IsString(dev) && cJSON_IsString(ino) && strcmp(dev->valuestring, d) == 0 &&
	       strcmp(ino->valuestring, i) == 0;
}

/* The hash of fd's first len bytes into hex; 0, or -1 when it has fewer. */
static int head_hash(int fd, size_t len, char hex[65])
{
	char buf[LOG_HEAD_LEN];

	if (len > sizeof buf || pread(fd, buf, len, 0) != (ssize_t)len)
		return -1;
	ops_sha256_hex(buf, len, hex);
	return 0;
}

/* The file still begins as it did: not replaced by one that took its inode. */
static int head_same(int fd, const cJSON *o)
{
	const cJSON *h = cJSON_GetObjectItemCaseSensitive(o, "head");
	double len = state_num(o, "head_len");
	char hex[65];

	if (len <= 0)
		return 1;
	return cJSON_IsString(h) && head_hash(fd, (size_t)len, hex) == 0 &&
	       strcmp(hex, h->valuestring) == 0;
}

static cJSON *state_new(int fd, const struct stat *st, off_t offset)
{
	cJSON *o = cJSON_CreateObject();
	char d[32], i[32], hex[65];
	size_t hl = st->st_size < LOG_HEAD_LEN ? (size_t)st->st_size : LOG_HEAD_LEN;

	if (!o)
		return NULL;
	snprintf(d, sizeof d, "%llu", (unsigned long long)st->st_dev);
	snprintf(i, sizeof i, "%llu", (unsigned long long)st->st_ino);
	cJSON_AddStringToObject(o, "dev", d);
	cJSON_AddStringToObject(o, "ino", i);
	cJSON_AddNumberToObject(o, "offset", (double)offset);
	cJSON_AddNumberToObject(o, "size", (double)st->st_size);
	if (hl > 0 && head_hash(fd, hl, hex) == 0) {
		cJSON_AddStringToObject(o, "head", hex);
		cJSON_AddNumberToObject(o, "head_len", (double)hl);
	}
	return o;
}

/*
 * The file that was path before it was rotated, found beside it by its
 * inode: path.1 (logrotate, Python's RotatingFileHandler), path.N, path-DATE
 * (logrotate's dateext).  -1 when it is gone (deleted or compressed).
 */
static int open_rotated(const char *path, const cJSON *old, struct stat *st, char **found)
{
	static const char *const forms[] = {"%s.*", "%s-*"};
	char pat[4096];
	glob_t g;
	size_t f, i;
	int fd;

	*found = NULL;
	for (f = 0; f < sizeof forms / sizeof forms[0]; f++) {
		if ((size_t)snprintf(pat, sizeof pat, forms[f], path) >= sizeof pat)
			return -1;
		if (glob(pat, GLOB_NOSORT, NULL, &g) != 0)
			continue;
		for (i = 0; i < g.gl_pathc; i++) {
			if (stat(g.gl_pathv[i], st) != 0 || !S_ISREG(st->st_mode) || !state_same(old, st))
				continue;
			fd = open(g.gl_pathv[i], O_RDONLY | O_CLOEXEC | O_NOCTTY);
			if (fd >= 0) {
				*found = strdup(g.gl_pathv[i]);
				globfree(&g);
				return fd;
			}
		}
		globfree(&g);
	}
	return -1;
}

/* One log file: its new lines judged, its state moved on, its report in o. */
static ops_code scan_file(const health_ctx *ctx, health_result *r, const char *path, cJSON *o,
			  log_scan *s, ops_error *err)
{
	cJSON *old = cJSON_GetObjectItemCaseSensitive(ctx->state, path), *st_new;
	size_t budget0 = s->budget;
	struct stat st, ost;
	off_t offset = 0;
	char *rotated = NULL;
	int fd, ofd;
	ops_code rc = OPS_OK;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 && errno == ENOENT) {
		/* Not yet created, or rotated away and not recreated: not an
		 * error; its state is kept to finish the old file later. */
		cJSON_AddStringToObject(o, "status", "missing");
		return OPS_OK;
	}
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		const char *why = fd < 0 ? strerror(errno) : "not a regular file";

		cJSON_AddStringToObject(o, "status", "unreadable");
		cJSON_AddStringToObject(o, "error", why);
		health_raise(r, OPS_HEALTH_UNKNOWN, "cannot read %s: %s", path, why);
		if (fd >= 0)
			close(fd);
		return OPS_OK;
	}
	if (!cJSON_IsObject(old)) {
		/* First sight: judged from its beginning (a file created since the
		 * last run is all new), but a long history only by its last
		 * health.max_body bytes, from the first whole line in them. */
		cJSON_AddStringToObject(o, "status", "new");
		if ((size_t)st.st_size > s->budget) {
			offset = st.st_size - (off_t)s->budget;
			s->skip_partial = 1;
			cJSON_AddNumberToObject(o, "skipped_bytes", (double)offset);
		}
	} else if (state_same(old, &st)) {
		offset = (off_t)state_num(old, "offset");
		if (offset < 0 || st.st_size < offset || !head_same(fd, old)) {
			/* copytruncate: the same file, shorter than where we were,
			 * or already longer again but no longer beginning as it did
			 * (which also catches a new file given a deleted one's
			 * inode). */
			cJSON_AddStringToObject(o, "status", "truncated");
			offset = 0;
		} else {
			cJSON_AddStringToObject(o, "status", "read");
		}
	} else {
		/* Rotated: what the old file got after the last run first. */
		off_t ooff = (off_t)state_num(old, "offset");

		ofd = open_rotated(path, old, &ost, &rotated);
		if (ofd >= 0) {
			if (ooff < 0 || ost.st_size < ooff)
				ooff = 0;
			rc = scan_fd(ofd, rotated, ost.st_size, &ooff, s, err);
			cJSON_AddStringToObject(o, "rotated_from", rotated);
			if (rc == OPS_OK && ooff < ost.st_size && s->budget == 0) {
				/* The cap came first: keep the old file's place, and
				 * the new file waits for the next run. */
				cJSON_AddStringToObject(o, "status", "rotated");
				cJSON_AddNumberToObject(o, "pending_bytes",
							(double)(ost.st_size - ooff) + (double)st.st_size);
				st_new = state_new(ofd, &ost, ooff);
				close(ofd);
				goto save;
			}
			close(ofd);
		} else {
			cJSON_AddStringToObject(o, "rotated_from", "");
			cJSON_AddStringToObject(o, "note", "rotated; the old file was not found beside it");
		}
		cJSON_AddStringToObject(o, "status", "rotated");
		offset = 0;
	}
	if (rc == OPS_OK)
		rc = scan_fd(fd, path, st.st_size, &offset, s, err);
	if (rc != OPS_OK) {
		close(fd);
		free(rotated);
		return rc;
	}
	/* Left for the next run: by the cap, or a last line not yet ended. */
	if (st.st_size > offset)
		cJSON_AddNumberToObject(o, s->budget == 0 ? "pending_bytes" : "partial_line_bytes",
					(double)(st.st_size - offset));
	st_new = state_new(fd, &st, offset);
save:
	close(fd);
	free(rotated);
	if (!st_new)
		return ops_error_oom(err);
	cJSON_DeleteItemFromObjectCaseSensitive(ctx->state, path);
	cJSON_AddItemToObject(ctx->state, path, st_new);
	cJSON_AddNumberToObject(o, "read_bytes", (double)(budget0 - s->budget));
	return OPS_OK;
}

static int has_glob(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

ops_code health_logs(const health_ctx *ctx, health_result *r, ops_error *err)
{
	const ops_config *cfg = ctx->cfg;
	long warn = ops_config_int(cfg, "health.log_warn");
	long crit = ops_config_int(cfg, "health.log_critical");
	size_t max_body = (size_t)ops_config_int(cfg, "health.max_body");
	char **files = ops_config_list(cfg, "health.log_files");
	char **patterns = ops_config_list(cfg, "health.log_patterns");
	cJSON *rep = health_report(r), *list, *seen = cJSON_CreateObject(), *it, *next;
	long total = 0, pending = 0;
	ops_code rc = OPS_OK;
	size_t i, j;

	if (!files || !patterns || !seen) {
		rc = ops_error_oom(err);
		goto out;
	}
	if (!files[0]) {
		health_skip(r, "health.log_files is empty");
		goto out;
	}
	if (!patterns[0]) {
		rc = ops_error_set(err, OPS_ECONFIG, "health.log_patterns is empty");
		goto out;
	}
	list = cJSON_AddArrayToObject(rep, "files");
	for (i = 0; files[i] && rc == OPS_OK; i++) {
		glob_t g;
		int grc = glob(files[i], 0, NULL, &g);

		if (grc == GLOB_NOMATCH || (grc == 0 && g.gl_pathc == 0)) {
			cJSON *o = cJSON_CreateObject();

			cJSON_AddItemToArray(list, o);
			cJSON_AddStringToObject(o, "path", files[i]);
			cJSON_AddStringToObject(o, "status", has_glob(files[i]) ? "no match" : "missing");
			/* A literal path's state is kept: it may be between a
			 * rotation and its recreation. */
			if (!has_glob(files[i]))
				cJSON_AddTrueToObject(seen, files[i]);
			if (grc == 0)
				globfree(&g);
			continue;
		}
		if (grc != 0) {
			rc = ops_error_set(err, OPS_EIO, "cannot list '%s'", files[i]);
			break;
		}
		for (j = 0; j < g.gl_pathc && rc == OPS_OK; j++) {
			const char *path = g.gl_pathv[j];
			cJSON *o;
			log_scan s = {.patterns = patterns, .budget = max_body};

			if (cJSON_GetObjectItemCaseSensitive(seen, path))
				continue;	/* named twice */
			cJSON_AddTrueToObject(seen, path);
			o = cJSON_CreateObject();
			cJSON_AddItemToArray(list, o);
			cJSON_AddStringToObject(o, "path", path);
			if (ops_clock() >= ctx->deadline) {
				cJSON_AddStringToObject(o, "status", "not read: out of time");
				continue;
			}
			s.samples = cJSON_CreateArray();
			rc = scan_file(ctx, r, path, o, &s, err);
			cJSON_AddNumberToObject(o, "errors_count", (double)s.count);
			cJSON_AddItemToObject(o, "samples", s.samples);
			total += s.count;
			if (cJSON_GetObjectItemCaseSensitive(o, "pending_bytes"))
				pending++;
		}
		globfree(&g);
	}
	if (rc != OPS_OK)
		goto out;
	/* Forget a file that is gone (a glob's file deleted), unless a literal
	 * path names it: that one may be between a rotation and its
	 * recreation.  A file merely left out of health.log_files for a while
	 * keeps its place, so putting it back does not count its past again. */
	for (it = ctx->state ? ctx->state->child : NULL; it; it = next) {
		struct stat st;

		next = it->next;
		if (!cJSON_GetObjectItemCaseSensitive(seen, it->string) &&
		    (!it->string || (stat(it->string, &st) != 0 && errno == ENOENT)))
			cJSON_Delete(cJSON_DetachItemViaPointer(ctx->state, it));
	}
	cJSON_AddNumberToObject(rep, "errors_count", (double)total);
	cJSON_AddNumberToObject(rep, "pending_files_count", (double)pending);
	if (pending)
		cJSON_AddStringToObject(rep, "note", "health.max_body reached: the rest is read by "
					"the next run");
	health_perf(r, "logs_errors", (double)total, "", (double)warn, (double)crit, 0, NAN);
	if (total > crit)
		health_raise(r, OPS_HEALTH_CRITICAL, "%ld new error lines", total);
	else if (total > warn)
		health_raise(r, OPS_HEALTH_WARNING, "%ld new error lines", total);
out:
	cJSON_Delete(seen);
	ops_strv_free(files);
	ops_strv_free(patterns);
	return rc;
}
