/*
 * One YAML reader for the library: compose files (scan, deps) and Grafana's
 * provisioning files (dashboards) are loaded through it with libyaml's
 * document loader, which resolves anchors and aliases and gives every node
 * its line.  The document and its nodes are opaque: libyaml's types stay out
 * of this header, and a node pointer is valid until ops_yaml_free().
 *
 * Only the first document of a stream is read.  Tags are not resolved: every
 * scalar is its text ("5432", "true" and "null" alike); ops_yaml_null() and
 * ops_yaml_true() say what a plain scalar means.  Merge keys ("<<: *base")
 * are followed by ops_yaml_get(), a chain of them to a bounded depth, so an
 * alias that points back at its own mapping cannot loop.  Aliases share
 * their anchor's node, so a document of nested aliases ("billion laughs")
 * costs no more than its text; a caller that walks the graph itself must
 * bound its own depth.
 */
#ifndef OPSMAINT_YAML_H
#define OPSMAINT_YAML_H

#include "opsmaint/api.h"
OPS_API_BEGIN

#include <stddef.h>
#include "opsmaint/error.h"

/* A compose or provisioning file larger than this is not a real one. */
#define OPS_YAML_FILE_MAX (4UL << 20)

typedef struct ops_yaml ops_yaml;
typedef struct ops_yaml_node ops_yaml_node;

typedef enum ops_yaml_type {
	OPS_YAML_NONE = 0,	/* no node (NULL) */
	OPS_YAML_SCALAR,
	OPS_YAML_SEQUENCE,
	OPS_YAML_MAPPING
} ops_yaml_type;

/*
 * Load the file at path (at most max bytes, 0 for OPS_YAML_FILE_MAX) into
 * *out.  A file that cannot be read keeps ops_read_file()'s error (too large:
 * OPS_EDATA naming the file and the cap); text that is not YAML is OPS_EDATA
 * "PATH:LINE:COLUMN: not YAML: PROBLEM (CONTEXT at line N)", from libyaml's
 * problem mark.  An empty file is a document without a root.
 */
ops_code ops_yaml_load_file(const char *path, size_t max, ops_yaml **out, ops_error *err);
/* The same for text in memory; name is what errors call it. */
ops_code ops_yaml_load_mem(const char *name, const char *text, size_t len, ops_yaml **out,
			   ops_error *err);
/* NULL is accepted. */
void ops_yaml_free(ops_yaml *y);

/* The root node, NULL for an empty document. */
const ops_yaml_node *ops_yaml_root(const ops_yaml *y);
/* OPS_YAML_NONE for NULL. */
ops_yaml_type ops_yaml_type_of(const ops_yaml_node *n);
/* The 1-based line the node starts on; 0 for NULL. */
long ops_yaml_line(const ops_yaml_node *n);

/* A scalar's text (NUL-terminated); NULL for NULL or a non-scalar. */
const char *ops_yaml_scalar(const ops_yaml_node *n);
/* A plain scalar that means null: "", "~", "null", "Null", "NULL". */
int ops_yaml_null(const ops_yaml_node *n);
/* A scalar "true", "yes" or "on", in any case (YAML 1.1's booleans, which
 * compose files use). */
int ops_yaml_true(const ops_yaml_node *n);

/*
 * The value of key in mapping map: its own key first, then those of its
 * merge keys ("<<", a mapping or a sequence of them), in order.  NULL when
 * map is not a mapping or has no such key.
 */
const ops_yaml_node *ops_yaml_get(const ops_yaml *y, const ops_yaml_node *map, const char *key);

/* Items of a sequence or pairs of a mapping (merge keys not expanded); 0 for
 * anything else. */
size_t ops_yaml_len(const ops_yaml_node *n);
/* Item i of a sequence; NULL when out of range or not a sequence. */
const ops_yaml_node *ops_yaml_item(const ops_yaml *y, const ops_yaml_node *seq, size_t i);
/* Pair i of a mapping into *key and *value; -1 (both NULL) when out of range
 * or not a mapping. */
int ops_yaml_pair(const ops_yaml *y, const ops_yaml_node *map, size_t i, const ops_yaml_node **key,
		  const ops_yaml_node **value);

OPS_API_END
#endif
