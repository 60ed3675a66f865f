/* Unit tests for lib/output.c: the generic text layout and JSON. */
#include <stdio.h>

#include "unit.h"
#include "opsmaint/output.h"

static char *render(const cJSON *report, ops_outfmt fmt)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);
	ops_error err;

	if (!fp)
		return NULL;
	if (ops_output_render(fp, report, fmt, &err) != OPS_OK) {
		fclose(fp);
		free(buf);
		return NULL;
	}
	fclose(fp);
	return buf;
}

static cJSON *sample(void)
{
	cJSON *r = cJSON_CreateObject(), *tables, *t, *nested;

	cJSON_AddStringToObject(r, "database", "chatbot_db");
	cJSON_AddBoolToObject(r, "full", 1);
	cJSON_AddNullToObject(r, "backup_path");
	cJSON_AddNumberToObject(r, "size_bytes", 1536);
	cJSON_AddNumberToObject(r, "duration_seconds", 2.5);
	cJSON_AddStringToObject(r, "_internal", "hidden");
	tables = cJSON_AddArrayToObject(r, "tables");
	t = cJSON_CreateObject();
	cJSON_AddStringToObject(t, "table", "documents");
	cJSON_AddNumberToObject(t, "rows", 5);
	cJSON_AddItemToArray(tables, t);
	t = cJSON_CreateObject();
	cJSON_AddStringToObject(t, "table", "document_chunks");
	cJSON_AddNumberToObject(t, "rows", 123456);
	cJSON_AddItemToArray(tables, t);
	cJSON_AddArrayToObject(r, "skipped");
	nested = cJSON_AddObjectToObject(r, "window");
	cJSON_AddStringToObject(nested, "environment", "prod");
	return r;
}

TEST(text_layout)
{
	cJSON *r = sample();
	char *out = render(r, OPS_OUT_TEXT), *row1, *row2, *e1, *e2;

	CHECK_CONTAINS(out, "database:");
	CHECK_CONTAINS(out, "chatbot_db");
	CHECK_CONTAINS(out, "full:");
	CHECK_CONTAINS(out, "yes");
	CHECK_CONTAINS(out, "backup path: -");
	CHECK_CONTAINS(out, "1.5 KiB");
	CHECK_CONTAINS(out, "2.50 s");
	CHECK_CONTAINS(out, "skipped: none");
	CHECK_CONTAINS(out, "window:\n  environment: prod");
	CHECK(out && !strstr(out, "hidden"));
	/* The table: a header, then rows whose numbers end in the same column. */
	CHECK_CONTAINS(out, "table");
	row1 = out ? strstr(out, "documents ") : NULL;
	row2 = out ? strstr(out, "document_chunks") : NULL;
	CHECK(row1 && row2);
	if (row1 && row2) {
		e1 = strchr(row1, '\n');
		e2 = strchr(row2, '\n');
		CHECK(e1 && e2 && (e1 - row1) == (e2 - row2));
		CHECK(e1 && e1[-1] == '5');
	}
	free(out);
	cJSON_Delete(r);
}

TEST(json_round_trips_without_internal_members)
{
	cJSON *r = sample(), *parsed;
	char *out = render(r, OPS_OUT_JSON);

	parsed = out ? cJSON_Parse(out) : NULL;
	CHECK(parsed != NULL);
	CHECK(cJSON_GetObjectItem(parsed, "_internal") == NULL);
	cJSON_DeleteItemFromObject(r, "_internal");
	CHECK(cJSON_Compare(parsed, r, 1));
	CHECK(out && out[strlen(out) - 1] == '\n');
	cJSON_Delete(parsed);
	free(out);
	cJSON_Delete(r);
}

TEST(full_output_is_an_error)
{
	FILE *fp = fopen("/dev/full", "w");
	cJSON *r = sample();
	ops_error err;

	CHECK(fp != NULL);
	if (fp) {
		CHECK_INT(ops_output_render(fp, r, OPS_OUT_TEXT, &err), OPS_EIO);
		CHECK_CONTAINS(err.message, "write error on standard output");
		fclose(fp);
	}
	cJSON_Delete(r);
}

TEST(human_units)
{
	char buf[64];

	CHECK_STR(ops_human_bytes(512, buf, sizeof buf), "512 B");
	CHECK_STR(ops_human_bytes(1536, buf, sizeof buf), "1.5 KiB");
	CHECK_STR(ops_human_bytes(3.0 * 1024 * 1024 * 1024, buf, sizeof buf), "3.0 GiB");
	CHECK_STR(ops_human_seconds(0.25, buf, sizeof buf), "250 ms");
	CHECK_STR(ops_human_seconds(1.25, buf, sizeof buf), "1.25 s");
	CHECK_STR(ops_human_seconds(200, buf, sizeof buf), "3 min 20 s");
	CHECK_STR(ops_human_seconds(7500, buf, sizeof buf), "2 h 5 min");
	CHECK_INT(ops_outfmt_parse("text"), OPS_OUT_TEXT);
	CHECK_INT(ops_outfmt_parse("json"), OPS_OUT_JSON);
	CHECK_INT(ops_outfmt_parse("yaml"), -1);
}

int main(void)
{
	RUN(text_layout);
	RUN(json_round_trips_without_internal_members);
	RUN(full_output_is_an_error);
	RUN(human_units);
	return unit_done();
}
