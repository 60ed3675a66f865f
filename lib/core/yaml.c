/*
 * The YAML reader of yaml.h over libyaml's document loader.  An
 * ops_yaml_node is a yaml_node_t of the loaded document, never dereferenced
 * as anything else; children are reached through the document by index.
 * It does not write YAML, resolve tags or read more than the first document.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "opsmaint/fileio.h"
#include "opsmaint/yaml.h"

/* "<<" chains followed (an alias may point back at its own mapping). */
#define YAML_MERGE_MAX 8

struct ops_yaml {
	yaml_document_t doc;
};

static const yaml_node_t *N(const ops_yaml_node *n)
{
	return (const yaml_node_t *)(const void *)n;
}

static const ops_yaml_node *Y(const yaml_node_t *n)
{
	return (const ops_yaml_node *)(const void *)n;
}

static const yaml_node_t *node_at(const ops_yaml *y, int idx)
{
	return idx ? yaml_document_get_node((yaml_document_t *)&y->doc, idx) : NULL;
}

static ops_code not_yaml(const char *name, const yaml_parser_t *p, ops_error *err)
{
	const char *problem = p->problem ? p->problem : "unreadable";
	char ctx[160] = "";

	if (p->error == YAML_MEMORY_ERROR)
		return ops_error_oom(err);
	/* The reader (encoding) has an offset and no mark. */
	if (p->error == YAML_READER_ERROR)
		return ops_error_set(err, OPS_EDATA, "%s: not YAML: %s at byte %zu", name, problem,
				     p->problem_offset);
	if (p->context)
		snprintf(ctx, sizeof ctx, " (%s at line %lu)", p->context,
			 (unsigned long)p->context_mark.line + 1);
	return ops_error_set(err, OPS_EDATA, "%s:%lu:%lu: not YAML: %s%s", name,
			     (unsigned long)p->problem_mark.line + 1,
			     (unsigned long)p->problem_mark.column + 1, problem, ctx);
}

ops_code ops_yaml_load_mem(const char *name, const char *text, size_t len, ops_yaml **out,
			   ops_error *err)
{
	yaml_parser_t parser;
	ops_yaml *y;
	ops_code rc = OPS_OK;

	*out = NULL;
	if (!(y = calloc(1, sizeof *y)))
		return ops_error_oom(err);
	if (!yaml_parser_initialize(&parser)) {
		free(y);
		return ops_error_oom(err);
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &y->doc)) {
		rc = not_yaml(name, &parser, err);
		free(y);
	} else {
		*out = y;
	}
	/* The document owns copies of every scalar: text may go now. */
	yaml_parser_delete(&parser);
	return rc;
}

ops_code ops_yaml_load_file(const char *path, size_t max, ops_yaml **out, ops_error *err)
{
	char *text = NULL;
	size_t len;
	ops_code rc;

	*out = NULL;
	rc = ops_read_file(path, max ? max : OPS_YAML_FILE_MAX, &text, &len, err);
	if (rc == OPS_OK)
		rc = ops_yaml_load_mem(path, text, len, out, err);
	free(text);
	return rc;
}

void ops_yaml_free(ops_yaml *y)
{
	if (!y)
		return;
	yaml_document_delete(&y->doc);
	free(y);
}

const ops_yaml_node *ops_yaml_root(const ops_yaml *y)
{
	return Y(yaml_document_get_root_node((yaml_document_t *)&y->doc));
}

ops_yaml_type ops_yaml_type_of(const ops_yaml_node *n)
{
	if (!n)
		return OPS_YAML_NONE;
	switch (N(n)->type) {
	case YAML_SCALAR_NODE:
		return OPS_YAML_SCALAR;
	case YAML_SEQUENCE_NODE:
		return OPS_YAML_SEQUENCE;
	case YAML_MAPPING_NODE:
		return OPS_YAML_MAPPING;
	default:
		return OPS_YAML_NONE;
	}
}

long ops_yaml_line(const ops_yaml_node *n)
{
	return n ? (long)N(n)->start_mark.line + 1 : 0;
}

const char *ops_yaml_scalar(const ops_yaml_node *n)
{
	return n && N(n)->type == YAML_SCALAR_NODE ? (const char *)N(n)->data.scalar.value : NULL;
}

int ops_yaml_null(const ops_yaml_node *n)
{
	const char *v = ops_yaml_scalar(n);

	return v && N(n)->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	       (!*v || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 || strcmp(v, "Null") == 0 ||
		strcmp(v, "NULL") == 0);
}

int ops_yaml_true(const ops_yaml_node *n)
{
	const char *v = ops_yaml_scalar(n);

	return v && (strcasecmp(v, "true") == 0 || strcasecmp(v, "yes") == 0 ||
		     strcasecmp(v, "on") == 0);
}

static const yaml_node_t *get_depth(const ops_yaml *y, const yaml_node_t *m, const char *key, int depth)
{
	const yaml_node_pair_t *p;

	if (!m || m->type != YAML_MAPPING_NODE || depth > YAML_MERGE_MAX)
		return NULL;
	for (p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		const char *k = ops_yaml_scalar(Y(node_at(y, p->key)));

		if (k && strcmp(k, key) == 0)
			return node_at(y, p->value);
	}
	for (p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		const char *k = ops_yaml_scalar(Y(node_at(y, p->key)));
		const yaml_node_t *v = node_at(y, p->value), *found = NULL;
		const yaml_node_item_t *it;

		if (!k || strcmp(k, "<<") != 0 || !v)
			continue;
		if (v->type == YAML_MAPPING_NODE)
			found = get_depth(y, v, key, depth + 1);
		else if (v->type == YAML_SEQUENCE_NODE)
			for (it = v->data.sequence.items.start; !found && it < v->data.sequence.items.top; it++)
				found = get_depth(y, node_at(y, *it), key, depth + 1);
		if (found)
			return found;
	}
	return NULL;
}

const ops_yaml_node *ops_yaml_get(const ops_yaml *y, const ops_yaml_node *map, const char *key)
{
	return Y(get_depth(y, N(map), key, 0));
}

size_t ops_yaml_len(const ops_yaml_node *n)
{
	if (!n)
		return 0;
	if (N(n)->type == YAML_SEQUENCE_NODE)
		return (size_t)(N(n)->data.sequence.items.top - N(n)->data.sequence.items.start);
	if (N(n)->type == YAML_MAPPING_NODE)
		return (size_t)(N(n)->data.mapping.pairs.top - N(n)->data.mapping.pairs.start);
	return 0;
}

const ops_yaml_node *ops_yaml_item(const ops_yaml *y, const ops_yaml_node *seq, size_t i)
{
	if (ops_yaml_type_of(seq) != OPS_YAML_SEQUENCE || i >= ops_yaml_len(seq))
		return NULL;
	return Y(node_at(y, N(seq)->data.sequence.items.start[i]));
}

int ops_yaml_pair(const ops_yaml *y, const ops_yaml_node *map, size_t i, const ops_yaml_node **key,
		  const ops_yaml_node **value)
{
	const yaml_node_pair_t *p;

	*key = *value = NULL;
	if (ops_yaml_type_of(map) != OPS_YAML_MAPPING || i >= ops_yaml_len(map))
		return -1;
	p = &N(map)->data.mapping.pairs.start[i];
	*key = Y(node_at(y, p->key));
	*value = Y(node_at(y, p->value));
	return 0;
}
