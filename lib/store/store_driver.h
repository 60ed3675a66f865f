/*
 * The contract between store.c (key checks, dispatch) and each storage
 * driver.  A driver fills a vtable and embeds struct ops_store first in its
 * own handle; store.c never looks further.  Keys reaching a driver are
 * already validated.
 */
#ifndef OPSMAINT_STORE_DRIVER_H
#define OPSMAINT_STORE_DRIVER_H

#include "opsmaint/store.h"

struct ops_store_ops {
	ops_code (*put_begin)(ops_store *s, const char *key, ops_store_writer **out, ops_error *err);
	ops_code (*write)(ops_store_writer *w, const void *buf, size_t len, ops_error *err);
	ops_code (*put_commit)(ops_store_writer *w, ops_error *err);
	void (*put_abort)(ops_store_writer *w);
	ops_code (*get_begin)(ops_store *s, const char *key, ops_store_reader **out, ops_error *err);
	ops_code (*read)(ops_store_reader *r, void *buf, size_t len, size_t *got, ops_error *err);
	void (*get_end)(ops_store_reader *r);
	ops_code (*list)(ops_store *s, const char *prefix, ops_store_entry **entries,
			 size_t *n, ops_error *err);
	ops_code (*stat)(ops_store *s, const char *key, ops_store_entry *out, int *found,
			 ops_error *err);
	ops_code (*remove)(ops_store *s, const char *key, ops_error *err);
	void (*free)(ops_store *s);
};

struct ops_store {
	const struct ops_store_ops *ops;
	unsigned features;
	char *description;
};

/* Writers and readers start with a pointer to their store's ops. */
struct ops_store_writer {
	const struct ops_store_ops *ops;
};
struct ops_store_reader {
	const struct ops_store_ops *ops;
};

#endif
