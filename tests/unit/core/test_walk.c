/*
 * walk: the tree walk and prune on real files in a temporary directory.
 * Symlinks are entries and never lead out; a directory swapped for a
 * symlink mid-walk is not followed; odd names (newline, spaces, leading
 * dash, invalid UTF-8) are removed and reported as raw bytes; each
 * timestamp kind selects by its own clock; dry-run counts exactly what the
 * real run removes; protected paths and the state directory are refused;
 * errors are collected without stopping the walk; cancellation stops it.
 *
 * CI runs as root, so the permission cases run in a child that has dropped
 * CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH, and the mount cases in a child
 * with its own mount namespace (unshare), so nothing leaks if it dies.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "opsmaint/cancel.h"
#include "opsmaint/log.h"
#include "opsmaint/walk.h"
#include "unit.h"

static char *tmp;
static time_t now;

static char *p(const char *name)
{
	static char buf[8][4096];
	static int i;

	i = (i + 1) % 8;
	snprintf(buf[i], sizeof buf[i], "%s/%s", tmp, name);
	return buf[i];
}

/* Set atime and mtime to so many seconds ago (the entry itself, not a
 * symlink's target). */
static void age(const char *path, long atime_ago, long mtime_ago)
{
	struct timespec ts[2] = {{now - atime_ago, 0}, {now - mtime_ago, 0}};

	if (utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW) != 0)
		fprintf(stderr, "utimensat %s: %s\n", path, strerror(errno));
}

static void put(const char *path, const char *text, long ago)
{
	FILE *f = fopen(path, "w");

	if (!f) {
		fprintf(stderr, "cannot create %s: %s\n", path, strerror(errno));
		return;
	}
	fputs(text, f);
	fclose(f);
	age(path, ago, ago);
}

static void dir(const char *path)
{
	if (mkdir(path, 0755) != 0 && errno != EEXIST)
		fprintf(stderr, "mkdir %s: %s\n", path, strerror(errno));
}

static int exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* ---- a fingerprint of a tree: every entry, its type, size and bytes ---- */

static char fp_buf[65536];
static size_t fp_root;

static int fp_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	unsigned long h = 5381;
	size_t used = strlen(fp_buf);

	(void)ftw;
	if (S_ISREG(st->st_mode)) {
		FILE *f = fopen(path, "rb");
		int c;

		while (f && (c = fgetc(f)) != EOF)
			h = h * 33 + (unsigned)c;
		if (f)
			fclose(f);
	} else if (S_ISLNK(st->st_mode)) {
		char t[4096];
		ssize_t n = readlink(path, t, sizeof t);

		while (n > 0)
			h = h * 33 + (unsigned char)t[--n];
	}
	snprintf(fp_buf + used, sizeof fp_buf - used, "%s:%d:%lld:%lu:%ld\n", path + fp_root, type,
		 (long long)st->st_size, h, (long)st->st_mtime);
	return 0;
}

/* Newly allocated; nftw lists in directory order, which does not change
 * while nothing is created or removed. */
static char *fingerprint(const char *root)
{
	fp_buf[0] = '\0';
	fp_root = strlen(root);
	nftw(root, fp_one, 16, FTW_PHYS);
	return strdup(fp_buf);
}

static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)))
		n++;
	if (d)
		closedir(d);
	return n;
}

/* ---- what the walk told ---- */

struct rec {
	int removed, errors, prot, mounts;
	char names[64][256];
	char problem[512];
	int cancel_after;	/* request cancellation after this many removals */
};

static ops_code record(void *arg, const ops_walk_entry *e, ops_walk_event ev,
		       const ops_error *problem, ops_error *err)
{
	struct rec *r = arg;

	switch (ev) {
	case OPS_WALK_REMOVED:
		if (r->removed < 64)
			snprintf(r->names[r->removed], sizeof r->names[0], "%s", e->rel);
		r->removed++;
		if (r->cancel_after && r->removed == r->cancel_after)
			ops_cancel_request(SIGTERM);
		break;
	case OPS_WALK_ERROR:
		if (!r->errors++)
			snprintf(r->problem, sizeof r->problem, "%s", problem->message);
		break;
	case OPS_WALK_PROTECTED:
		r->prot++;
		break;
	case OPS_WALK_MOUNT:
		r->mounts++;
		break;
	}
	return OPS_OK;
}

static int has_name(const struct rec *r, const char *name)
{
	int i;

	for (i = 0; i < r->removed && i < 64; i++)
		if (strcmp(r->names[i], name) == 0)
			return 1;
	return 0;
}

static void opts_rec(ops_walk_opts *o, struct rec *r)
{
	ops_walk_opts_init(o);
	memset(r, 0, sizeof *r);
	o->on_entry = record;
	o->arg = r;
}

/* A tree: old and new files at three levels, one old empty directory. */
static void make_tree(const char *root)
{
	char b[4096];

	dir(root);
	snprintf(b, sizeof b, "%s/a", root);
	dir(b);
	snprintf(b, sizeof b, "%s/a/b", root);
	dir(b);
	snprintf(b, sizeof b, "%s/empty", root);
	dir(b);
	snprintf(b, sizeof b, "%s/old1.log", root);
	put(b, "12345", 86400 * 40);			/* 5 bytes */
	snprintf(b, sizeof b, "%s/new1.log", root);
	put(b, "new", 60);
	snprintf(b, sizeof b, "%s/a/old2.log", root);
	put(b, "1234567890", 86400 * 40);		/* 10 bytes */
	snprintf(b, sizeof b, "%s/a/b/old3.log", root);
	put(b, "1234567", 86400 * 40);			/* 7 bytes */
	/* Directories last: creating the files changed their times. */
	snprintf(b, sizeof b, "%s/a/b", root);
	age(b, 86400 * 40, 86400 * 40);
	snprintf(b, sizeof b, "%s/a", root);
	age(b, 86400 * 40, 86400 * 40);
	snprintf(b, sizeof b, "%s/empty", root);
	age(b, 86400 * 40, 86400 * 40);
}

TEST(removes_old_files_with_exact_totals)
{
	ops_walk_opts o;
	ops_walk_totals t;
	ops_error err;
	struct rec r;
	int fds = open_fds();

	make_tree(p("t1"));
	opts_rec(&o, &r);
	o.older_than = now - 86400 * 30;
	o.remove_empty_dirs = 1;
	CHECK_INT(ops_walk_tree(p("t1"), &o, &t, &err), OPS_OK);
	CHECK_INT(t.files, 3);
	CHECK_INT(t.bytes, 22);
	/* a/b emptied, then a (new1.log keeps the root), and the empty one */
	CHECK_INT(t.directories, 3);
	CHECK_INT(t.errors, 0);
	CHECK_INT(r.removed, 6);
	CHECK(has_name(&r, "a/b/old3.log") && has_name(&r, "a/b") && has_name(&r, "a"));
	CHECK(exists(p("t1/new1.log")) && !exists(p("t1/old1.log")) && !exists(p("t1/a")));
	CHECK(!exists(p("t1/empty")));
	CHECK(exists(p("t1")));	/* never the root */
	CHECK_INT(open_fds(), fds);
}

TEST(dry_run_removes_nothing_and_counts_the_same)
{
	ops_walk_opts o;
	ops_walk_totals dry, real;
	ops_error err;
	struct rec rd, rr;
	char *before, *after;
	int i;

	make_tree(p("t2"));
	before = fingerprint(p("t2"));
	opts_rec(&o, &rd);
	o.older_than = now - 86400 * 30;
	o.remove_empty_dirs = 1;
	o.dry_run = 1;
	CHECK_INT(ops_walk_tree(p("t2"), &o, &dry, &err), OPS_OK);
	after = fingerprint(p("t2"));
	CHECK_STR(after, before);
	opts_rec(&o, &rr);
	o.older_than = now - 86400 * 30;
	o.remove_empty_dirs = 1;
	CHECK_INT(ops_walk_tree(p("t2"), &o, &real, &err), OPS_OK);
	CHECK_INT(dry.files, real.files);
	CHECK_INT(dry.bytes, real.bytes);
	CHECK_INT(dry.directories, real.directories);
	CHECK_INT(rd.removed, rr.removed);
	for (i = 0; i < rd.removed && i < 64; i++)
		CHECK(has_name(&rr, rd.names[i]));
	CHECK_INT(real.files, 3);
	free(before);
	free(after);
}

TEST(a_symlink_is_an_entry_and_its_target_stays)
{
	ops_walk_opts o;
	ops_walk_totals t;
	ops_error err;
	struct rec r;
	char *before, *after;

	dir(p("out3"));
	dir(p("out3/deep"));
	put(p("out3/victim.log"), "keep me", 86400 * 99);
	put(p("out3/deep/victim2.log"), "keep me too", 86400 * 99);
	dir(p("t3"));
	CHECK(symlink(p("out3"), p("t3/link")) == 0);
	CHECK(symlink(p("out3/victim.log"), p("t3/file.log")) == 0);
	age(p("t3/link"), 86400 * 99, 86400 * 99);
	age(p("t3/file.log"), 86400 * 99, 86400 * 99);
	before = fingerprint(p("out3"));

	/* Files only: the links are not files, and nothing behind them is seen. */
	opts_rec(&o, &r);
	o.max_depth = 0;
	CHECK_INT(ops_walk_tree(p("t3"), &o, &t, &err), OPS_OK);
	CHECK_INT(t.files, 0);
	CHECK(exists(p("t3/link")) && exists(p("t3/file.log")));

	/* Symlinks too: the links go, their targets do not. */
	opts_rec(&o, &r);
	o.types = OPS_WALK_FILE | OPS_WALK_SYMLINK;
	o.remove_empty_dirs = 1;
	CHECK_INT(ops_walk_tree(p("t3"), &o, &t, &err), OPS_OK);
	CHECK_INT(t.files, 2);
	CHECK(!exists(p("t3/link")) && !exists(p("t3/file.log")));
	after = fingerprint(p("out3"));
	CHECK_STR(after, before);
	CHECK(exists(p("out3/deep/victim2.log")));
	free(before);
	free(after);
}

/* The descend hook swaps the directory for a symlink to the outside tree
 * between its lstat and its open. */
static int swap_dir(void *arg, const ops_walk_entry *e)
{
	(void)arg;
	if (strcmp(e->name, "sub") == 0) {
		if (rename(p("t4/sub"), p("t4-away")) != 0 || symlink(p("out4"), p("t4/sub")) != 0)
			fprintf(stderr, "swap failed: %s\n", strerror(errno));
	}
	return 1;
}

TEST(a_directory_swapped_for_a_symlink_is_not_followed)
{
	ops_walk_opts o;
	ops_walk_totals t;
	ops_error err;
	struct rec r;
	char *before, *after;

	dir(p("out4"));
	put(p("out4/precious.log"), "precious", 86400 * 99);
	dir(p("t4"));
	dir(p("t4/sub"));
	put(p("t4/sub/old.log"), "old", 86400 * 99);
	put(p("t4/top.log"), "old", 86400 * 99);
	before = fingerprint(p("out4"));
	opts_rec(&o, &r);
	o.descend = swap_dir;
	o.older_than = now - 86400;
	CHECK_INT(ops_walk_tree(p("t4"), &o, &t, &err), OPS_OK);
	after = fingerprint(p("out4"));
	CHECK_STR(after, before);
	CHECK(exists(p("t4/sub")));			/* the link: not a file */
	CHECK(exists(p("t4-away/old.log")));		/* moved out, never reached */
	CHECK(!exists(p("t4/top.log")));		/* the rest was still done */
	CHECK_INT(t.errors, 1);
	CHECK_INT(r.errors, 1);
	CHECK_CONTAINS(t.first_error.message, "changed while being walked; not followed");
	CHECK_CONTAINS(r.problem, "t4/sub'");
	free(before);
	free(after);
}

TEST(odd_names_are_removed_and_reported_raw)
{
	static const char *const names[] = {
		"new\nline.log", "with space.log", "-rf", "--help", "bad\xff\xfe.log",
		"caf\xc3\xa9.log", "back\\slash.log",
	};
	ops_walk_opts o;
	ops_walk_totals t;
	ops_error err;
	struct rec r;
	char b[4096];
	size_t i;

	dir(p("t5"));
	for (i = 0; i < sizeof names / sizeof *names; i++) {
		snprintf(b, sizeof b, "%s/%s", p("t5"), names[i]);
		put(b, "x", 86400 * 2);
	}
	opts_rec(&o, &r);
	o.older_than = now - 86400;
	CHECK_INT(ops_walk_tree(p("t5"), &o, &t, &err), OPS_OK);
	CHECK_INT(t.files, (long long)(sizeof names / sizeof *names));
	CHECK_INT(t.errors, 0);
	for (i = 0; i < sizeof names / sizeof *names; i++) {
		snprintf(b, sizeof b, "%s/%s", p("t5"), names[i]);
		CHECK(!exists(b));
		CHECK(has_name(&r, names[i]));
	}
}

TEST(quote_makes_one_printable_utf8_line)
{
	static const char *const cases[][2] = {
		{"new\nline\t.log", "new\\x0aline\\x09.log"},
		{"bad\xff\xfe.log", "bad\\xff\\xfe.log"},
		{"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"},
		/* overlong "/", a surrogate, a truncated sequence, beyond U+10FFFF */
		{"\xc0\xaf|\xed\xa0\x80|\xe2\x82|\xf4\x90\x80\x80",
		 "\\xc0\\xaf|\\xed\\xa0\\x80|\\xe2\\x82|\\xf4\\x90\\x80\\x80"},
		{"a\\xff", "a\\\\xff"},
		{"-rf \x7f", "-rf \\x7f"},
	};
	size_t i;

	for (i = 0; i < sizeof cases / sizeof *cases; i++) {
		char *q = ops_walk_quote(cases[i][0]);

		CHECK_STR(q, cases[i][1]);
		free(q);
	}
}

/* What a dry run by this timestamp and cutoff would remove from name. */
static long long dry_count(const char *name, ops_walk_time kind, time_t cutoff, struct rec *r)
{
	ops_walk_opts o;
	ops_walk_totals t;
	ops_error err;

	opts_rec(&o, r);
	o.time = kind;
	o.older_than = cutoff;
	o.dry_run = 1;
	if (ops_walk_tree(p(name), &o, &t, &err) != OPS_OK)
		return -1;
	return t.files;
}

TEST(each_timestamp_kind_selects_by_its_own_clock)
{
	ops_walk_opts o;
	ops_walk_totals t;
	ops_error err;
	struct rec r;

	dir(p("t6"));
	put(p("t6/old-atime"), "a", 0);
	age(p("t6/old-atime"), 86400 * 10, 60);
	put(p("t6/old-mtime"), "m", 0);
	age(p("t6/old-mtime"), 60, 86400 * 10);

	CHECK_INT(dry_count("t6", OPS_WALK_ATIME, now - 86400, &r), 1);
	CHECK(has_name(&r, "old-atime"));
	CHECK_INT(dry_count("t6", OPS_WALK_MTIME, now - 86400, &r), 1);
	CHECK(has_name(&r, "old-mtime"));
	/* ctime cannot be set back: both changed just now, so a cutoff an hour
	 * ago selects neither and one an hour ahead both. */
	CHECK_INT(dry_count("t6", OPS_WALK_CTIME, now - 3600, &r), 0);
	CHECK_INT(dry_count("t6", OPS_WALK_CTIME, now + 3600, &r), 2);
	CHECK(exists(p("t6/old-atime")) && exists(p("t6/old-mtime")));	/* all dry runs */

	/* The real run by mtime removes what its dry run named. */
	opts_rec(&o, &r);
	o.older_than = now - 86400;
	CHECK_INT(ops_walk_tree(p("t6"), &o, &t, &err), OPS_OK);
	CHECK(exists(p("t6/old-atime")) && !exists(p("t6/old-mtime")));
}

TEST(patterns_types_and_depth_select)
{
	char *pats[] = {"*.log", "*.gz", NULL};
	ops_walk_opts o;
	ops_walk_totals t;
	ops_error err;
	struct rec r;

	dir(p("t7"));
	dir(p("t7/d"));
	put(p("t7/a.log"), "1", 0);
	put(p("t7/b.gz"), "22", 0);
	put(p("t7/c.txt"), "333", 0);
	put(p("t7/d/e.log"), "4444", 0);
	CHECK(mkfifo(p("t7/f.log"), 0600) == 0);

	opts_rec(&o, &r);
	o.patterns = pats;
	o.max_depth = 1;
	CHECK_INT(ops_walk_tree(p("t7"), &o, &t, &err), OPS_OK);
	CHECK_INT(t.files, 2);
	CHECK_INT(t.bytes, 3);
	CHECK(!exists(p("t7/a.log")) && !exists(p("t7/b.gz")));
	CHECK(exists(p("t7/c.txt")) && exists(p("t7/d/e.log")) && exists(p("t7/f.log")));

	opts_rec(&o, &r);
	o.patterns = pats;
	o.types = OPS_WALK_OTHER;
	CHECK_INT(ops_walk_tree(p("t7"), &o, &t, &err), OPS_OK);
	CHECK_INT(t.files, 1);
	CHECK(!exists(p("t7/f.log")) && exists(p("t7/d/e.log")));

	opts_rec(&o, &r);
	o.patterns = pats;
	CHECK_INT(ops_walk_tree(p("t7"), &o, &t, &err), OPS_OK);
	CHECK_INT(t.files, 1);
	CHECK(!exists(p("t7/d/e.log")) && exists(p("t7/d")) && exists(p("t7/c.txt")));
}

static int not_keep(void *arg, const ops_walk_entry *e)
{
	(void)arg;
	return strcmp(e->name, "keep.log") != 0;
}

TEST(select_callback_has_the_last_word)
{
	ops_walk_opts o;
	ops_walk_totals t;
	ops_error err;
	struct rec r;

	dir(p("t8"));
	put(p("t8/keep.log"), "k", 86400);
	put(p("t8/go.log"), "g", 86400);
	opts_rec(&o, &r);
	o.select = not_keep;
	CHECK_INT(ops_walk_tree(p("t8"), &o, &t, &err), OPS_OK);
	CHECK(exists(p("t8/keep.log")) && !exists(p("t8/go.log")));
}

TEST(protected_paths_and_the_state_dir_are_refused)
{
	char *prot[3] = {NULL, NULL, NULL};
	ops_walk_opts o;
	ops_walk_totals t;
	ops_error err;
	struct rec r;

	dir(p("t9"));
	dir(p("t9/data"));
	dir(p("t9/state"));
	dir(p("t9/state/backups"));
	dir(p("t9/other"));
	put(p("t9/data/old.log"), "d", 86400 * 9);
	put(p("t9/state/journal.jsonl"), "j", 86400 * 9);
	put(p("t9/state/backups/old.db"), "b", 86400 * 9);
	put(p("t9/other/old.log"), "o", 86400 * 9);
	put(p("t9/keep.log"), "k", 86400 * 9);
	prot[0] = strdup(p("t9/data"));
	prot[1] = strdup(p("t9/keep.log"));

	opts_rec(&o, &r);
	CHECK_INT(ops_walk_tree("", &o, &t, &err), OPS_EUSAGE);
	CHECK_CONTAINS(err.message, "empty path");
	CHECK_INT(ops_walk_tree(NULL, &o, &t, &err), OPS_EUSAGE);
	CHECK_INT(ops_walk_tree("/", &o, &t, &err), OPS_EUSAGE);
	CHECK_STR(err.message, "refusing to walk '/'");
	CHECK_INT(ops_walk_tree("/tmp/../", &o, &t, &err), OPS_EUSAGE);

	o.protected_paths = prot;
	o.state_dir = p("t9/state");
	CHECK_INT(ops_walk_tree(p("t9/data"), &o, &t, &err), OPS_EPERM);
	CHECK_CONTAINS(err.message, "protected path");
	dir(p("t9/data/sub"));
	CHECK_INT(ops_walk_tree(p("t9/data/sub"), &o, &t, &err), OPS_EPERM);
	CHECK_INT(ops_walk_tree(p("t9/other/../data/"), &o, &t, &err), OPS_EPERM);
	CHECK_INT(ops_walk_tree(p("t9/state"), &o, &t, &err), OPS_EPERM);
	CHECK_CONTAINS(err.message, "state directory");
	CHECK(exists(p("t9/data/old.log")) && exists(p("t9/state/journal.jsonl")));

	/* From above: the protected entries and the state dir are left whole. */
	opts_rec(&o, &r);
	o.protected_paths = prot;
	o.state_dir = p("t9/state");
	o.remove_empty_dirs = 1;
	CHECK_INT(ops_walk_tree(p("t9"), &o, &t, &err), OPS_OK);
	CHECK_INT(t.protected_skipped, 3);
	CHECK_INT(r.prot, 3);
	CHECK_INT(t.files, 1);
	CHECK(!exists(p("t9/other")));
	CHECK(exists(p("t9/data/old.log")) && exists(p("t9/keep.log")));
	CHECK(exists(p("t9/state/journal.jsonl")) && exists(p("t9/state/backups/old.db")));

	/* A protected path reached through a symlink in its name is still it. */
	CHECK(symlink(p("t9"), p("t9-link")) == 0);
	free(prot[0]);
	free(prot[1]);
	prot[0] = strdup(p("t9-link/data"));
	prot[1] = NULL;
	opts_rec(&o, &r);
	o.protected_paths = prot;
	o.state_dir = p("t9/state");
	CHECK_INT(ops_walk_tree(p("t9"), &o, &t, &err), OPS_OK);
	CHECK_INT(t.protected_skipped, 2);
	CHECK(exists(p("t9/data/old.log")));

	/* Inside the state dir is the caller's choice (STATE_DIR/backups). */
	opts_rec(&o, &r);
	o.state_dir = p("t9/state");
	CHECK_INT(ops_walk_tree(p("t9/state/backups"), &o, &t, &err), OPS_OK);
	CHECK(!exists(p("t9/state/backups/old.db")));
	free(prot[0]);
}

TEST(a_missing_root)
{
	ops_walk_opts o;
	ops_walk_totals t;
	ops_error err;
	struct rec r;

	opts_rec(&o, &r);
	CHECK_INT(ops_walk_tree(p("nope"), &o, &t, &err), OPS_EIO);
	CHECK_CONTAINS(err.message, "nope': No such file or directory");
	o.missing_ok = 1;
	CHECK_INT(ops_walk_tree(p("nope"), &o, &t, &err), OPS_OK);
	CHECK_INT(t.examined, 0);
	put(p("plainfile"), "x", 0);
	CHECK_INT(ops_walk_tree(p("plainfile"), &o, &t, &err), OPS_EIO);
	CHECK_CONTAINS(err.message, "Not a directory");
}

TEST(cancellation_stops_the_walk)
{
	ops_walk_opts o;
	ops_walk_totals t;
	ops_error err;
	struct rec r;
	char b[64];
	int i;

	dir(p("t10"));
	for (i = 0; i < 20; i++) {
		snprintf(b, sizeof b, "t10/f%02d", i);
		put(p(b), "x", 0);
	}
	opts_rec(&o, &r);
	r.cancel_after = 3;
	CHECK_INT(ops_walk_tree(p("t10"), &o, &t, &err), OPS_EINTR);
	CHECK_STR(err.message, "interrupted by SIGTERM");
	CHECK_INT(t.files, 3);
	ops_cancel_reset();
}

/* An undo on the way out of an interrupted run: it goes to the end. */
TEST(finish_on_cancel_removes_everything_after_a_cancel)
{
	ops_walk_opts o;
	ops_walk_totals t;
	ops_error err;
	struct rec r;
	char b[64];
	int i;

	dir(p("t10b"));
	dir(p("t10b/sub"));
	for (i = 0; i < 10; i++) {
		snprintf(b, sizeof b, "t10b/%sf%02d", i % 2 ? "sub/" : "", i);
		put(p(b), "x", 0);
	}
	opts_rec(&o, &r);
	o.finish_on_cancel = 1;
	o.remove_empty_dirs = 1;
	ops_cancel_request(SIGTERM);
	CHECK_INT(ops_walk_tree(p("t10b"), &o, &t, &err), OPS_OK);
	CHECK_INT(t.files, 10);
	CHECK_INT(t.directories, 1);
	CHECK(access(p("t10b/sub"), F_OK) != 0);
	CHECK(access(p("t10b"), F_OK) == 0);
	ops_cancel_reset();
}

/* levels nested directories named name under root, a file at the bottom;
 * built by descriptor, since the path outgrows PATH_MAX. */
static void make_chain(const char *root, int levels, const char *name)
{
	int i, fd, dfd;

	dir(root);
	dfd = open(root, O_RDONLY | O_DIRECTORY);
	for (i = 0; i < levels && dfd >= 0; i++) {
		mkdirat(dfd, name, 0755);
		fd = openat(dfd, name, O_RDONLY | O_DIRECTORY);
		close(dfd);
		dfd = fd;
	}
	if (dfd >= 0) {
		fd = openat(dfd, "bottom.log", O_WRONLY | O_CREAT, 0600);
		close(fd);
		close(dfd);
	}
}

TEST(deep_trees_cost_their_depth_and_stop_at_the_cap)
{
	ops_walk_opts o;
	ops_walk_totals t;
	ops_error err;
	struct rec r;
	int fds = open_fds();

	make_chain(p("t11"), 300, "dddddddddddddddd");
	opts_rec(&o, &r);
	o.remove_empty_dirs = 1;
	CHECK_INT(ops_walk_tree(p("t11"), &o, &t, &err), OPS_OK);
	CHECK_INT(t.errors, 1);
	CHECK_CONTAINS(t.first_error.message, "is nested too deep; not entered");
	CHECK_CONTAINS(t.first_error.message, "dddd...dddd");
	CHECK_INT(t.directories, 0);
	CHECK_INT(open_fds(), fds);

	/* 100 levels: every directory goes, deepest first. */
	unit_rmrf(p("t11"));
	make_chain(p("t11"), 100, "d");
	opts_rec(&o, &r);
	o.remove_empty_dirs = 1;
	CHECK_INT(ops_walk_tree(p("t11"), &o, &t, &err), OPS_OK);
	CHECK_INT(t.files, 1);
	CHECK_INT(t.directories, 100);
	CHECK(!exists(p("t11/d")));
	CHECK_INT(open_fds(), fds);
}

static char logged[1024];
static int nlogged;

static void log_sink(void *arg, ops_loglevel level, const char *line)
{
	(void)arg;
	if (level == OPS_LOG_WARNING) {
		snprintf(logged, sizeof logged, "%s", line);
		nlogged++;
	}
}

TEST(prune_reports_alike)
{
	char *prot[] = {NULL, NULL};
	ops_walk_opts o;
	ops_error err;
	cJSON *rep = cJSON_CreateObject(), *a;

	dir(p("t12"));
	put(p("t12/old.db"), "123456", 86400 * 40);
	put(p("t12/odd\n\xff.db"), "1234", 86400 * 40);
	put(p("t12/new.db"), "1", 0);
	ops_walk_opts_init(&o);
	o.older_than = now - 86400 * 30;
	CHECK_INT(ops_walk_prune(p("t12"), &o, rep, &err), OPS_OK);
	a = cJSON_GetObjectItemCaseSensitive(rep, "pruned");
	CHECK_INT(cJSON_GetArraySize(a), 2);
	CHECK_INT(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(rep, "pruned_size_bytes")), 10);
	CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(rep, "prune_errors")), 0);
	CHECK(strcmp(cJSON_GetStringValue(cJSON_GetArrayItem(a, 0)), "odd\\x0a\\xff.db") == 0 ||
	      strcmp(cJSON_GetStringValue(cJSON_GetArrayItem(a, 1)), "odd\\x0a\\xff.db") == 0);
	cJSON_Delete(rep);

	/* A root that may not be walked is one line in prune_errors, not a failure. */
	rep = cJSON_CreateObject();
	prot[0] = strdup(p("t12"));
	o.protected_paths = prot;
	ops_log_set_sink(log_sink, NULL);
	nlogged = 0;
	CHECK_INT(ops_walk_prune(p("t12"), &o, rep, &err), OPS_OK);
	ops_log_set_sink(NULL, NULL);
	CHECK_INT(nlogged, 1);
	CHECK_CONTAINS(logged, "refusing to walk '");
	a = cJSON_GetObjectItemCaseSensitive(rep, "prune_errors");
	CHECK_INT(cJSON_GetArraySize(a), 1);
	CHECK_CONTAINS(cJSON_GetStringValue(cJSON_GetArrayItem(a, 0)), "protected path");
	CHECK(exists(p("t12/new.db")));
	cJSON_Delete(rep);

	/* A missing directory: nothing to prune. */
	free(prot[0]);
	rep = cJSON_CreateObject();
	o.protected_paths = NULL;
	CHECK_INT(ops_walk_prune(p("t12-nope"), &o, rep, &err), OPS_OK);
	CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(rep, "prune_errors")), 0);
	cJSON_Delete(rep);
}

/* ---- in a child: without the capabilities that let root ignore modes ---- */

static int drop_dac(void)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];

	if (geteuid() != 0)
		return 0;
	if (syscall(SYS_capget, &h, d) != 0)
		return -1;
	d[0].effective &= ~((1u << CAP_DAC_OVERRIDE) | (1u << CAP_DAC_READ_SEARCH));
	return (int)syscall(SYS_capset, &h, d);
}

/* Run fn in a child; its exit status (0: passed, 77: skipped). */
static int in_child(int (*fn)(void))
{
	pid_t pid = fork();
	int st = 0;

	if (pid == 0)
		_exit(fn());
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

#define WANT(c) do { if (!(c)) { fprintf(stderr, "%s:%d: child: %s\n", __FILE__, __LINE__, #c); \
	return 1; } } while (0)

static int unreadable_child(void)
{
	ops_walk_opts o;
	ops_walk_totals t;
	ops_error err;
	struct rec r;

	if (drop_dac() != 0)
		return 77;
	opts_rec(&o, &r);
	o.older_than = now - 86400;
	o.remove_empty_dirs = 1;
	WANT(ops_walk_tree(p("t13"), &o, &t, &err) == OPS_OK);
	/* locked/ cannot be read; stuck/ can be read but not written */
	WANT(t.errors == 2);
	WANT(r.errors == 2);
	WANT(strstr(t.first_error.message, "Permission denied") != NULL);
	WANT(t.files == 2);			/* a.log and z/b.log */
	WANT(!exists(p("t13/a.log")) && !exists(p("t13/z/b.log")));
	/* The prune's report: both in prune_errors, one warning for them. */
	{
		cJSON *rep = cJSON_CreateObject();

		ops_log_set_sink(log_sink, NULL);
		nlogged = 0;
		WANT(ops_walk_prune(p("t13"), &o, rep, &err) == OPS_OK);
		WANT(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(rep, "prune_errors")) == 2);
		WANT(nlogged == 1);
		WANT(strstr(logged, "2 old entries in '") && strstr(logged, "could not be removed"));
		cJSON_Delete(rep);
	}
	return 0;
}

TEST(an_unreadable_directory_is_reported_and_the_rest_is_done)
{
	int rc;

	dir(p("t13"));
	dir(p("t13/locked"));
	dir(p("t13/stuck"));
	dir(p("t13/z"));
	put(p("t13/a.log"), "a", 86400 * 2);
	put(p("t13/locked/hidden.log"), "h", 86400 * 2);
	put(p("t13/stuck/fixed.log"), "f", 86400 * 2);
	put(p("t13/z/b.log"), "b", 86400 * 2);
	chmod(p("t13/locked"), 0);
	chmod(p("t13/stuck"), 0555);
	rc = in_child(unreadable_child);
	chmod(p("t13/locked"), 0755);
	chmod(p("t13/stuck"), 0755);
	CHECK_INT(rc, 0);
	CHECK(exists(p("t13/locked/hidden.log")) && exists(p("t13/stuck/fixed.log")));
}

static int private_mounts(void)
{
	if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		return 77;
	return 0;
}

static int can_drop_dac(void)
{
	return drop_dac() == 0 ? 0 : 77;
}

static int mounts_child(void)
{
	ops_walk_opts o;
	ops_walk_totals t;
	ops_error err;
	struct rec r;

	WANT(private_mounts() == 0);
	/* The same file system bound in (same st_dev), a file bound over a
	 * file, and a tmpfs (another st_dev). */
	WANT(mount(p("out14"), p("t14/bound"), NULL, MS_BIND, NULL) == 0);
	WANT(mount(p("out14/victim.log"), p("t14/file.log"), NULL, MS_BIND, NULL) == 0);
	WANT(mount("tmpfs", p("t14/tmpfs"), "tmpfs", 0, "size=1m") == 0);
	put(p("t14/tmpfs/inside.log"), "t", 86400 * 9);
	opts_rec(&o, &r);
	o.remove_empty_dirs = 1;
	WANT(ops_walk_tree(p("t14"), &o, &t, &err) == OPS_OK);
	WANT(t.mounts_skipped == 3);
	WANT(r.mounts == 3);
	WANT(t.errors == 0);
	WANT(t.files == 1);			/* own.log only */
	WANT(exists(p("t14/tmpfs/inside.log")));
	WANT(!exists(p("t14/own.log")));
	/* A protected directory by another name (bound in) is still refused. */
	{
		char *prot[] = {p("out14"), NULL};

		opts_rec(&o, &r);
		o.protected_paths = prot;
		WANT(ops_walk_tree(p("t14/bound"), &o, &t, &err) == OPS_EPERM);
		WANT(strstr(err.message, "protected path") != NULL);
	}
	return 0;
}

TEST(mount_points_are_not_crossed)
{
	char *before, *after;
	int rc;

	dir(p("out14"));
	dir(p("out14/deep"));
	put(p("out14/victim.log"), "v", 86400 * 9);
	put(p("out14/deep/victim2.log"), "v2", 86400 * 9);
	dir(p("t14"));
	dir(p("t14/bound"));
	dir(p("t14/tmpfs"));
	put(p("t14/file.log"), "placeholder", 86400 * 9);
	put(p("t14/own.log"), "o", 86400 * 9);
	before = fingerprint(p("out14"));
	rc = in_child(mounts_child);
	after = fingerprint(p("out14"));
	CHECK_INT(rc, 0);
	CHECK_STR(after, before);
	CHECK(exists(p("t14/file.log")) && exists(p("t14/bound")));
	free(before);
	free(after);
}

int main(void)
{
	tmp = unit_tmpdir();
	if (!tmp)
		return 1;
	now = time(NULL);
	RUN(removes_old_files_with_exact_totals);
	RUN(dry_run_removes_nothing_and_counts_the_same);
	RUN(a_symlink_is_an_entry_and_its_target_stays);
	RUN(a_directory_swapped_for_a_symlink_is_not_followed);
	RUN(odd_names_are_removed_and_reported_raw);
	RUN(quote_makes_one_printable_utf8_line);
	RUN(each_timestamp_kind_selects_by_its_own_clock);
	RUN(patterns_types_and_depth_select);
	RUN(select_callback_has_the_last_word);
	RUN(protected_paths_and_the_state_dir_are_refused);
	RUN(a_missing_root);
	RUN(cancellation_stops_the_walk);
	RUN(finish_on_cancel_removes_everything_after_a_cancel);
	RUN(deep_trees_cost_their_depth_and_stop_at_the_cap);
	RUN(prune_reports_alike);
	/* Skips are TAP lines of their own, as scripts/test counts them. */
	if (in_child(can_drop_dac) == 0)
		RUN(an_unreadable_directory_is_reported_and_the_rest_is_done);
	else
		printf("ok an_unreadable_directory_is_reported_and_the_rest_is_done"
		       " # SKIP root here cannot drop CAP_DAC_OVERRIDE (capset refused)\n");
	if (geteuid() == 0 && in_child(private_mounts) == 0)
		RUN(mount_points_are_not_crossed);
	else
		printf("ok mount_points_are_not_crossed # SKIP needs root and unshare -m"
		       " for bind mounts\n");
	unit_rmrf(tmp);
	free(tmp);
	return unit_done();
}
