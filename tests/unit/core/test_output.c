/*
 * output: the generic text layout (scalars, units, yes/no, "-", aligned
 * tables, "none", nested sections), '_' members hidden in both forms, JSON
 * that parses back to the report, write errors as OPS_EIO, and the human
 * units.  Output goes to an open_memstream buffer, or /dev/full for errors.
 */
#include <stdio.h>

#include "opsmaint/output.h"
#include "unit.h"

/* Render to a string (caller frees); NULL if rendering failed. */
static char *render(const cJSON *report, ops_outfmt fmt)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);
	ops_error err;
	ops_code rc;

	if (!fp)
		return NULL;
	rc = ops_output_render(fp, report, fmt, &err);
	fclose(fp);
	if (rc != OPS_OK) {
		fprintf(stderr, "render failed: %s\n", err.message);
		free(buf);
		return NULL;
	}
	return buf;
}

/* The line of text that contains needle, copied into buf; "" if none. */
static const char *line_with(const char *text, const char *needle, char *buf, size_t len)
{
	const char *p = text ? strstr(text, needle) : NULL, *s, *e;

	buf[0] = '\0';
	if (!p)
		return buf;
	for (s = p; s > text && s[-1] != '\n'; s--)
		;
	e = strchr(p, '\n');
	if (!e)
		e = p + strlen(p);
	snprintf(buf, len, "%.*s", (int)(e - s), s);
	return buf;
}

static cJSON *sample(void)
{
	cJSON *r = cJSON_CreateObject(), *tables, *t, *nested;

	cJSON_AddStringToObject(r, "database", "chatbot_db");
	cJSON_AddBoolToObject(r, "full", 1);
	cJSON_AddBoolToObject(r, "analyze", 0);
	cJSON_AddNullToObject(r, "backup_path");
	cJSON_AddNumberToObject(r, "size_bytes", 1536);
	cJSON_AddNumberToObject(r, "duration_seconds", 2.5);
	cJSON_AddNumberToObject(r, "dead_pct", 12);
	cJSON_AddStringToObject(r, "_internal", "hidden-top");
	tables = cJSON_AddArrayToObject(r, "tables");
	t = cJSON_CreateObject();
	cJSON_AddStringToObject(t, "table", "documents");
	cJSON_AddNumberToObject(t, "rows", 5);
	cJSON_AddNumberToObject(t, "_oid", 16384);
	cJSON_AddItemToArray(tables, t);
	t = cJSON_CreateObject();
	cJSON_AddStringToObject(t, "table", "document_chunks");
	cJSON_AddNumberToObject(t, "rows", 123456);
	cJSON_AddNumberToObject(t, "_oid", 16390);
	cJSON_AddItemToArray(tables, t);
	cJSON_AddArrayToObject(r, "skipped");
	nested = cJSON_AddObjectToObject(r, "window");
	cJSON_AddStringToObject(nested, "environment", "prod");
	cJSON_AddBoolToObject(nested, "open", 0);
	cJSON_AddStringToObject(nested, "_spec", "hidden-nested");
	return r;
}

TEST(text_scalars)
{
	cJSON *r = sample();
	char *out = render(r, OPS_OUT_TEXT);
	char line[256];

	CHECK(out != NULL);
	/* Labels: '_' -> ' ', unit suffixes dropped, _pct -> " %"; values aligned. */
	CHECK_STR(line_with(out, "database", line, sizeof line), "database:    chatbot_db");
	CHECK_STR(line_with(out, "full", line, sizeof line), "full:        yes");
	CHECK_STR(line_with(out, "analyze", line, sizeof line), "analyze:     no");
	CHECK_STR(line_with(out, "backup path", line, sizeof line), "backup path: -");
	CHECK_STR(line_with(out, "size:", line, sizeof line), "size:        1.5 KiB");
	CHECK_STR(line_with(out, "duration", line, sizeof line), "duration:    2.50 s");
	CHECK_STR(line_with(out, "dead", line, sizeof line), "dead %:      12");
	CHECK_STR(line_with(out, "skipped", line, sizeof line), "skipped:     none");
	CHECK_CONTAINS(out, "\nwindow:\n  environment: prod\n  open:        no\n");
	/* Key order is insertion order. */
	CHECK(out && strstr(out, "database:") < strstr(out, "full:"));
	CHECK(out && strstr(out, "full:") < strstr(out, "dead %:"));
	CHECK(out && strstr(out, "tables:") < strstr(out, "window:"));
	free(out);
	cJSON_Delete(r);
}

TEST(text_whole_layout)
{
	cJSON *r = sample();
	char *out = render(r, OPS_OUT_TEXT);

	CHECK_STR(out,
		  "database:    chatbot_db\n"
		  "full:        yes\n"
		  "analyze:     no\n"
		  "backup path: -\n"
		  "size:        1.5 KiB\n"
		  "duration:    2.50 s\n"
		  "dead %:      12\n"
		  "\n"
		  "tables:\n"
		  "  table              rows\n"
		  "  documents             5\n"
		  "  document_chunks  123456\n"
		  "\n"
		  "skipped:     none\n"
		  "\n"
		  "window:\n"
		  "  environment: prod\n"
		  "  open:        no\n");
	free(out);
	cJSON_Delete(r);
}

TEST(text_table_is_aligned)
{
	cJSON *r = cJSON_CreateObject(), *rows = cJSON_AddArrayToObject(r, "rows"), *t;
	char *out;
	char head[256], l1[256], l2[256], l3[256];
	const char *n1, *n2, *n3;

	t = cJSON_CreateObject();
	cJSON_AddStringToObject(t, "name", "a");
	cJSON_AddNumberToObject(t, "total_bytes", 2048);
	cJSON_AddNumberToObject(t, "calls", 7);
	cJSON_AddItemToArray(rows, t);
	t = cJSON_CreateObject();
	cJSON_AddStringToObject(t, "name", "a_much_longer_name");
	cJSON_AddNumberToObject(t, "total_bytes", 5.0 * 1024 * 1024);
	cJSON_AddNumberToObject(t, "calls", 1234567);
	cJSON_AddItemToArray(rows, t);
	t = cJSON_CreateObject();	/* a missing member prints "-" */
	cJSON_AddStringToObject(t, "name", "mid");
	cJSON_AddNumberToObject(t, "calls", 42);
	cJSON_AddItemToArray(rows, t);
	out = render(r, OPS_OUT_TEXT);
	CHECK(out != NULL);

	line_with(out, "calls", head, sizeof head);
	line_with(out, "  a ", l1, sizeof l1);
	line_with(out, "a_much_longer_name", l2, sizeof l2);
	line_with(out, "mid", l3, sizeof l3);
	/* Header holds the column labels in first-seen order, indented. */
	CHECK(strncmp(head, "  name", 6) == 0);
	CHECK(strstr(head, "name") && strstr(head, "total") &&
	      strstr(head, "name") < strstr(head, "total") &&
	      strstr(head, "total") < strstr(head, "calls"));
	CHECK(!strstr(head, "bytes"));
	/* Numbers are right-aligned: every line ends in the same column. */
	CHECK(strlen(l1) > 0);
	CHECK_INT(strlen(l1), strlen(l2));
	CHECK_INT(strlen(l2), strlen(l3));
	CHECK_INT(strlen(head), strlen(l1));
	CHECK(strlen(l1) > 0 && l1[strlen(l1) - 1] == '7');
	/* Right alignment inside a middle column: units end at the same place. */
	n1 = strstr(l1, "2.0 KiB");
	n2 = strstr(l2, "5.0 MiB");
	n3 = strstr(l3, " - ");
	CHECK(n1 && n2 && (n1 - l1) == (n2 - l2));
	CHECK(n1 && n3 && (n1 - l1) + 6 == (n3 - l3) + 1);
	/* Text columns are left-aligned: the names start at the same column. */
	CHECK(strncmp(l1, "  a ", 4) == 0);
	CHECK(strncmp(l2, "  a_much_longer_name", 20) == 0);
	CHECK(strncmp(l3, "  mid ", 6) == 0);
	free(out);
	cJSON_Delete(r);
}

TEST(text_arrays_of_scalars_and_top_level_table)
{
	cJSON *r = cJSON_CreateObject(), *a, *arr, *t;
	char *out;

	a = cJSON_AddArrayToObject(r, "missing_tables");
	cJSON_AddItemToArray(a, cJSON_CreateString("queries"));
	cJSON_AddItemToArray(a, cJSON_CreateString("documents"));
	a = cJSON_AddArrayToObject(r, "sizes_bytes");
	cJSON_AddItemToArray(a, cJSON_CreateNumber(1024));
	out = render(r, OPS_OUT_TEXT);
	CHECK_CONTAINS(out, "missing tables:\n  queries\n  documents\n");
	CHECK_CONTAINS(out, "sizes:\n  1.0 KiB\n");
	free(out);
	cJSON_Delete(r);

	/* A bare array of objects is a table too. */
	arr = cJSON_CreateArray();
	t = cJSON_CreateObject();
	cJSON_AddStringToObject(t, "id", "x1");
	cJSON_AddNumberToObject(t, "n", 3);
	cJSON_AddItemToArray(arr, t);
	out = render(arr, OPS_OUT_TEXT);
	CHECK_STR(out, "id  n\nx1  3\n");
	free(out);
	cJSON_Delete(arr);
}

TEST(internal_members_hidden_in_text)
{
	cJSON *r = sample();
	char *out = render(r, OPS_OUT_TEXT);

	CHECK(out != NULL);
	CHECK(out && !strstr(out, "hidden-top"));
	CHECK(out && !strstr(out, "internal"));
	CHECK(out && !strstr(out, "hidden-nested"));
	CHECK(out && !strstr(out, "spec"));
	CHECK(out && !strstr(out, "oid"));
	CHECK(out && !strstr(out, "16384"));
	free(out);
	cJSON_Delete(r);
}

/*
 * An array that is not all objects prints its object elements as JSON; the
 * '_' members inside them must still be hidden ("rendered in neither form").
 */
TEST(internal_members_hidden_in_mixed_arrays)
{
	cJSON *r = cJSON_CreateObject(), *a = cJSON_AddArrayToObject(r, "items"), *o;
	char *out;

	cJSON_AddItemToArray(a, cJSON_CreateString("plain"));
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "name", "visible");
	cJSON_AddStringToObject(o, "_token", "secret-value");
	cJSON_AddItemToArray(a, o);
	out = render(r, OPS_OUT_TEXT);
	CHECK_CONTAINS(out, "plain");
	CHECK_CONTAINS(out, "visible");
	CHECK(out && !strstr(out, "secret-value"));
	CHECK(out && !strstr(out, "_token"));
	if (out && strstr(out, "secret-value"))
		fprintf(stderr, "  text output was:\n%s", out);
	free(out);
	cJSON_Delete(r);
}

TEST(json_round_trips_without_internal_members)
{
	cJSON *r = sample(), *parsed, *want;
	char *out = render(r, OPS_OUT_JSON);

	CHECK(out != NULL);
	parsed = out ? cJSON_Parse(out) : NULL;
	CHECK(parsed != NULL);
	CHECK(out && strlen(out) > 0 && out[strlen(out) - 1] == '\n');
	CHECK(out && !strstr(out, "hidden"));
	CHECK(out && !strstr(out, "_oid"));
	/* Equal to the input minus every '_' member, at every depth. */
	want = cJSON_Duplicate(r, 1);
	cJSON_DeleteItemFromObject(want, "_internal");
	cJSON_DeleteItemFromObject(cJSON_GetObjectItem(want, "window"), "_spec");
	cJSON_DeleteItemFromObject(cJSON_GetArrayItem(cJSON_GetObjectItem(want, "tables"), 0), "_oid");
	cJSON_DeleteItemFromObject(cJSON_GetArrayItem(cJSON_GetObjectItem(want, "tables"), 1), "_oid");
	CHECK(cJSON_Compare(parsed, want, 1));
	/* Still unequal to the original, which has the '_' members. */
	CHECK(!cJSON_Compare(parsed, r, 1));
	/* The caller's report is not modified. */
	CHECK(cJSON_GetObjectItem(r, "_internal") != NULL);
	CHECK(cJSON_GetObjectItem(cJSON_GetObjectItem(r, "window"), "_spec") != NULL);
	cJSON_Delete(want);
	cJSON_Delete(parsed);
	free(out);
	cJSON_Delete(r);
}

/* Many rows (more than 64) must all lose their '_' members in JSON. */
TEST(json_hides_internal_members_in_long_arrays)
{
	cJSON *r = cJSON_CreateObject(), *rows = cJSON_AddArrayToObject(r, "rows");
	cJSON *parsed, *it;
	char *out;
	int i, leaked = 0, n = 0;

	for (i = 0; i < 100; i++) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddNumberToObject(o, "n", i);
		cJSON_AddNumberToObject(o, "_id", i);
		cJSON_AddItemToArray(rows, o);
	}
	out = render(r, OPS_OUT_JSON);
	parsed = out ? cJSON_Parse(out) : NULL;
	CHECK(parsed != NULL);
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(parsed, "rows")) {
		n++;
		if (cJSON_GetObjectItem(it, "_id"))
			leaked++;
	}
	CHECK_INT(n, 100);
	CHECK_INT(leaked, 0);
	cJSON_Delete(parsed);
	free(out);
	cJSON_Delete(r);
}

/*
 * Values are never cut (a path or digest must be copyable): a table wider
 * than the line (100 columns off a terminal) prints each row as a block, and
 * a value too long for its line goes whole on the next one.
 */
TEST(long_cells_are_never_cut)
{
	cJSON *r = cJSON_CreateObject(), *rows = cJSON_AddArrayToObject(r, "rows"), *t;
	char long_text[101], want[80], *out;

	memset(long_text, 'x', 100);
	long_text[100] = '\0';
	t = cJSON_CreateObject();
	cJSON_AddStringToObject(t, "note", long_text);
	cJSON_AddItemToArray(rows, t);
	t = cJSON_CreateObject();
	cJSON_AddStringToObject(t, "note", "exactly sixty characters long, not one more or less, see....");
	cJSON_AddItemToArray(rows, t);
	out = render(r, OPS_OUT_TEXT);
	snprintf(want, sizeof want, "%s", "rows:\n  note:\n    ");
	CHECK(out && strncmp(out, want, strlen(want)) == 0);
	CHECK_CONTAINS(out, long_text);
	CHECK(out && !strstr(out, "\xE2\x80\xA6"));
	CHECK_CONTAINS(out, "\n\n  note: exactly sixty characters long, not one more or less, see....\n");
	free(out);
	out = render(r, OPS_OUT_JSON);
	CHECK_CONTAINS(out, long_text);
	CHECK(out && !strstr(out, "\xE2\x80\xA6"));
	free(out);
	cJSON_Delete(r);
}

/*
 * Sections: no blank line at the very top or right under a heading; a blank
 * line between a section and the scalar after it; an object with only '_'
 * members is "none"; a table row with a nested value prints as a block.
 */
/* Fractions keep three decimals, an exact 1 too. */
TEST(ratios_read_as_fractions)
{
	cJSON *r = cJSON_CreateObject();
	char *out;

	cJSON_AddNumberToObject(r, "recall_at_10", 1);
	cJSON_AddNumberToObject(r, "self_recall", 0.98765);
	cJSON_AddNumberToObject(r, "hit_ratio", 0.5);
	cJSON_AddNumberToObject(r, "queries", 100);
	out = render(r, OPS_OUT_TEXT);
	CHECK_STR(out,
		  "recall at 10: 1.000\n"
		  "self recall:  0.988\n"
		  "hit ratio:    0.500\n"
		  "queries:      100\n");
	free(out);
	cJSON_Delete(r);
}

/* Empty lists and objects are lines among the scalars, not sections: no
 * blank lines around "pruned: none" (db vacuum's SQLite copy). */
TEST(empty_containers_stay_in_the_block)
{
	cJSON *r = cJSON_CreateObject();
	char *out;

	cJSON_AddStringToObject(r, "backup_path", "/b/kh.db");
	cJSON_AddArrayToObject(r, "pruned");
	cJSON_AddNumberToObject(r, "pruned_size_bytes", 0);
	cJSON_AddObjectToObject(r, "prune_errors");
	cJSON_AddStringToObject(r, "operation", "vacuum");
	out = render(r, OPS_OUT_TEXT);
	CHECK_STR(out,
		  "backup path:  /b/kh.db\n"
		  "pruned:       none\n"
		  "pruned size:  0 B\n"
		  "prune errors: none\n"
		  "operation:    vacuum\n");
	free(out);
	cJSON_Delete(r);
}

TEST(section_spacing_and_nested_cells)
{
	cJSON *r = cJSON_CreateObject(), *rows, *t, *sub, *x;
	char *out;

	rows = cJSON_AddArrayToObject(r, "rows");
	t = cJSON_CreateObject();
	cJSON_AddStringToObject(t, "name", "a");
	x = cJSON_AddObjectToObject(t, "extra");
	cJSON_AddNumberToObject(x, "n", 1);
	cJSON_AddNumberToObject(x, "_hidden", 2);
	cJSON_AddItemToArray(rows, t);
	cJSON_AddNumberToObject(r, "ratio", 0.5);
	sub = cJSON_AddObjectToObject(r, "sub");
	x = cJSON_AddObjectToObject(sub, "inner");
	cJSON_AddStringToObject(x, "k", "v");
	cJSON_AddNumberToObject(sub, "count", 3);
	x = cJSON_AddObjectToObject(r, "only_internal");
	cJSON_AddNumberToObject(x, "_a", 1);
	out = render(r, OPS_OUT_TEXT);
	CHECK_STR(out,
		  "rows:\n"
		  "  name: a\n"
		  "\n"
		  "  extra:\n"
		  "    n: 1\n"
		  "\n"
		  "ratio:         0.50\n"
		  "\n"
		  "sub:\n"
		  "  inner:\n"
		  "    k: v\n"
		  "\n"
		  "  count: 3\n"
		  "\n"
		  "only internal: none\n");
	free(out);
	cJSON_Delete(r);
}

TEST(top_level_scalars_and_lists)
{
	cJSON *v = cJSON_CreateArray();
	char *out;
	ops_error err;

	cJSON_AddItemToArray(v, cJSON_CreateString("one"));
	cJSON_AddItemToArray(v, cJSON_CreateNumber(2));
	cJSON_AddItemToArray(v, cJSON_CreateTrue());
	out = render(v, OPS_OUT_TEXT);
	CHECK_STR(out, "one\n2\nyes\n");
	free(out);
	cJSON_Delete(v);
	v = cJSON_CreateString("plain");
	out = render(v, OPS_OUT_TEXT);
	CHECK_STR(out, "plain\n");
	free(out);
	out = render(v, OPS_OUT_JSON);
	CHECK_STR(out, "\"plain\"\n");
	free(out);
	cJSON_Delete(v);
	CHECK_INT(ops_output_render(stdout, NULL, OPS_OUT_TEXT, &err), OPS_EINTERNAL);
}

TEST(numbers_in_text)
{
	cJSON *r = cJSON_CreateObject();
	char *out;

	cJSON_AddNumberToObject(r, "big", 9007199254740992.0);
	cJSON_AddNumberToObject(r, "frac", 3.14159);
	cJSON_AddNumberToObject(r, "tiny", 0.00042);
	cJSON_AddNumberToObject(r, "neg", -7);
	cJSON_AddNumberToObject(r, "zero_seconds", 0);
	out = render(r, OPS_OUT_TEXT);
	CHECK_STR(out,
		  "big:  9007199254740992\n"
		  "frac: 3.14\n"
		  "tiny: 0.00042\n"
		  "neg:  -7\n"
		  "zero: 0 ms\n");
	free(out);
	cJSON_Delete(r);
}

static void expect_full(ops_outfmt fmt)
{
	FILE *fp = fopen("/dev/full", "w");
	cJSON *r = sample();
	ops_error err;
	const char *want = "write error on standard output";

	CHECK(fp != NULL);
	if (fp) {
		ops_error_clear(&err);
		CHECK_INT(ops_output_render(fp, r, fmt, &err), OPS_EIO);
		CHECK_INT(err.code, OPS_EIO);
		CHECK(strncmp(err.message, want, strlen(want)) == 0);
		CHECK_CONTAINS(err.message, "No space left on device");
		fclose(fp);
	}
	cJSON_Delete(r);
}

TEST(write_errors_are_OPS_EIO)
{
	FILE *fp;
	cJSON *r;
	ops_error err;

	expect_full(OPS_OUT_TEXT);
	expect_full(OPS_OUT_JSON);
	/* A stream that cannot be written at all. */
	fp = fopen("/dev/null", "r");
	r = sample();
	CHECK(fp != NULL);
	if (fp) {
		CHECK_INT(ops_output_render(fp, r, OPS_OUT_TEXT, &err), OPS_EIO);
		CHECK(strncmp(err.message, "write error on standard output", 30) == 0);
		fclose(fp);
	}
	cJSON_Delete(r);
}

TEST(human_bytes)
{
	char buf[64];

	CHECK_STR(ops_human_bytes(0, buf, sizeof buf), "0 B");
	CHECK_STR(ops_human_bytes(512, buf, sizeof buf), "512 B");
	CHECK_STR(ops_human_bytes(1023, buf, sizeof buf), "1023 B");
	CHECK_STR(ops_human_bytes(1024, buf, sizeof buf), "1.0 KiB");
	CHECK_STR(ops_human_bytes(1536, buf, sizeof buf), "1.5 KiB");
	CHECK_STR(ops_human_bytes(-1536, buf, sizeof buf), "-1.5 KiB");
	CHECK_STR(ops_human_bytes(1048576, buf, sizeof buf), "1.0 MiB");
	CHECK_STR(ops_human_bytes(12.3 * 1048576, buf, sizeof buf), "12.3 MiB");
	CHECK_STR(ops_human_bytes(3.0 * 1024 * 1024 * 1024, buf, sizeof buf), "3.0 GiB");
	CHECK_STR(ops_human_bytes(2.0 * 1099511627776.0, buf, sizeof buf), "2.0 TiB");
	CHECK_STR(ops_human_bytes(1024.0 * 1099511627776.0, buf, sizeof buf), "1.0 PiB");
	/* Returns its buffer. */
	CHECK(ops_human_bytes(1, buf, sizeof buf) == buf);
}

TEST(human_seconds)
{
	char buf[64];

	CHECK_STR(ops_human_seconds(0, buf, sizeof buf), "0 ms");
	CHECK_STR(ops_human_seconds(0.25, buf, sizeof buf), "250 ms");
	CHECK_STR(ops_human_seconds(0.85, buf, sizeof buf), "850 ms");
	CHECK_STR(ops_human_seconds(1, buf, sizeof buf), "1.00 s");
	CHECK_STR(ops_human_seconds(1.25, buf, sizeof buf), "1.25 s");
	CHECK_STR(ops_human_seconds(60, buf, sizeof buf), "1 min 0 s");
	CHECK_STR(ops_human_seconds(200, buf, sizeof buf), "3 min 20 s");
	CHECK_STR(ops_human_seconds(3600, buf, sizeof buf), "1 h 0 min");
	CHECK_STR(ops_human_seconds(7500, buf, sizeof buf), "2 h 5 min");
	CHECK_STR(ops_human_seconds(86400, buf, sizeof buf), "1 d 0 h");
	CHECK_STR(ops_human_seconds(3 * 86400 + 4 * 3600, buf, sizeof buf), "3 d 4 h");
	CHECK_STR(ops_human_seconds(-5, buf, sizeof buf), "0 ms");
	CHECK(ops_human_seconds(1, buf, sizeof buf) == buf);
}

/*
 * Rounding must not print a unit's full count: values just under the next
 * unit roll over to it instead of showing "1024.0 KiB" or "60 min 0 s".
 */
TEST(human_units_roll_over_at_boundaries)
{
	char buf[64];

	CHECK_STR(ops_human_bytes(1048575, buf, sizeof buf), "1.0 MiB");	/* not "1024.0 KiB" */
	CHECK_STR(ops_human_seconds(0.9996, buf, sizeof buf), "1.00 s");	/* not "1000 ms" */
	CHECK_STR(ops_human_seconds(59.999, buf, sizeof buf), "1 min 0 s");	/* not "60.00 s" */
	CHECK_STR(ops_human_seconds(3599.6, buf, sizeof buf), "1 h 0 min");	/* not "60 min 0 s" */
	CHECK_STR(ops_human_seconds(86399, buf, sizeof buf), "1 d 0 h");	/* not "24 h 0 min" */
}

TEST(outfmt_parse)
{
	CHECK_INT(ops_outfmt_parse("text"), OPS_OUT_TEXT);
	CHECK_INT(ops_outfmt_parse("json"), OPS_OUT_JSON);
	CHECK_INT(ops_outfmt_parse("yaml"), -1);
	CHECK_INT(ops_outfmt_parse(""), -1);
	CHECK_INT(ops_outfmt_parse("jsonx"), -1);
	CHECK_INT(ops_outfmt_parse(NULL), -1);
}

int main(void)
{
	RUN(text_scalars);
	RUN(text_whole_layout);
	RUN(text_table_is_aligned);
	RUN(text_arrays_of_scalars_and_top_level_table);
	RUN(internal_members_hidden_in_text);
	RUN(internal_members_hidden_in_mixed_arrays);
	RUN(json_round_trips_without_internal_members);
	RUN(json_hides_internal_members_in_long_arrays);
	RUN(long_cells_are_never_cut);
	RUN(ratios_read_as_fractions);
	RUN(empty_containers_stay_in_the_block);
	RUN(section_spacing_and_nested_cells);
	RUN(top_level_scalars_and_lists);
	RUN(numbers_in_text);
	RUN(write_errors_are_OPS_EIO);
	RUN(human_bytes);
	RUN(human_seconds);
	RUN(human_units_roll_over_at_boundaries);
	RUN(outfmt_parse);
	return unit_done();
}
