/*
 * The storage interface: key validation and dispatch to a driver.  Checking
 * keys here, once, means no driver can be handed a key that climbs out of its
 * root.  This module holds no storage logic of its own.
 */
#include <stdlib.h>
#include <string.h>

#include "store/store_driver.h"

int ops_store_key_valid(const char *key)
{
	const char *p = key, *start = key;

	if (!key || !*key || strlen(key) > 1024)
		return 0;
	for (;; p++) {
		if (*p == '/' || *p == '\0') {
			size_t n = (size_t)(p - start);

			if (n == 0 || (n == 1 && start[0] == '.') ||
			    (n == 2 && start[0] == '.' && start[1] == '.'))
				return 0;
			if (*p == '\0')
				return 1;
			start = p + 1;
			continue;
		}
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-'))
			return 0;
	}
}

static ops_code bad_key(const char *key, ops_error *err)
{
	return ops_error_set(err, OPS_EUSAGE, "bad object key '%s'", key ? key : "");
}

void ops_store_free(ops_store *s)
{
	if (s)
		s->ops->free(s);
}

unsigned ops_store_features(const ops_store *s)
{
	return s->features;
}

const char *ops_store_describe(const ops_store *s)
{
	return s->description;
}

ops_code ops_store_put_begin(ops_store *s, const char *key, ops_store_writer **out,
			     ops_error *err)
{
	*out = NULL;
	if (!ops_store_key_valid(key))
		return bad_key(key, err);
	return s->ops->put_begin(s, key, out, err);
}

ops_code ops_store_write(ops_store_writer *w, const void *buf, size_t len, ops_error *err)
{
	return w->ops->write(w, buf, len, err);
}

ops_code ops_store_put_commit(ops_store_writer *w, ops_error *err)
{
	return w->ops->put_commit(w, err);
}

void ops_store_put_abort(ops_store_writer *w)
{
	if (w)
		w->ops->put_abort(w);
}

ops_code ops_store_get_begin(ops_store *s, const char *key, ops_store_reader **out,
			     ops_error *err)
{
	*out = NULL;
	if (!ops_store_key_valid(key))
		return bad_key(key, err);
	return s->ops->get_begin(s, key, out, err);
}

ops_code ops_store_read(ops_store_reader *r, void *buf, size_t len, size_t *got,
			ops_error *err)
{
	return r->ops->read(r, buf, len, got, err);
}

void ops_store_get_end(ops_store_reader *r)
{
	if (r)
		r->ops->get_end(r);
}

ops_code ops_store_list(ops_store *s, const char *prefix, ops_store_entry **entries,
			size_t *n, ops_error *err)
{
	*entries = NULL;
	*n = 0;
	if (prefix && (strstr(prefix, "..") || prefix[0] == '/'))
		return ops_error_set(err, OPS_EUSAGE, "bad key prefix '%s'", prefix);
	return s->ops->list(s, prefix ? prefix : "", entries, n, err);
}

void ops_store_entries_free(ops_store_entry *entries, size_t n)
{
	size_t i;

	for (i = 0; entries && i < n; i++)
		free(entries[i].key);
	free(entries);
}

ops_code ops_store_stat(ops_store *s, const char *key, ops_store_entry *out, int *found,
			ops_error *err)
{
	*found = 0;
	memset(out, 0, sizeof *out);
	if (!ops_store_key_valid(key))
		return bad_key(key, err);
	return s->ops->stat(s, key, out, found, err);
}

ops_code ops_store_remove(ops_store *s, const char *key, ops_error *err)
{
	if (!ops_store_key_valid(key))
		return bad_key(key, err);
	return s->ops->remove(s, key, err);
}
