/*
 * "Did you mean": the one edit-distance and nearest-name routine behind every
 * suggestion opsctl makes, for commands, options, option values, task names
 * and configuration keys alike.
 */
#ifndef OPSMAINT_SUGGEST_H
#define OPSMAINT_SUGGEST_H
#include "opsmaint/api.h"
OPS_API_BEGIN

/* Optimal string alignment distance (a swapped pair counts as one edit). */
int ops_edit_distance(const char *a, const char *b);

/*
 * The candidate closest to word within two edits (a prefix of three or more
 * characters also counts as a near miss), or NULL.  candidates is
 * NULL-terminated.
 */
const char *ops_suggest(const char *word, const char *const *candidates);

OPS_API_END
#endif
