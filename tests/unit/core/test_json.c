/*
 * Unit tests for lib/core/json.c: every JSON string opsctl prints is valid
 * UTF-8, and the raw bytes of a repaired name can be recovered.
 */
#include <stdlib.h>
#include <string.h>

#include "opsmaint/json.h"
#include "unit.h"

TEST(sequences)
{
	CHECK_INT(ops_utf8_seq_len((const unsigned char *)"a"), 1);
	CHECK_INT(ops_utf8_seq_len((const unsigned char *)"\xc3\xa9"), 2);	/* é */
	CHECK_INT(ops_utf8_seq_len((const unsigned char *)"\xe2\x82\xac"), 3);	/* € */
	CHECK_INT(ops_utf8_seq_len((const unsigned char *)"\xf0\x9f\x98\x80"), 4);
	CHECK_INT(ops_utf8_seq_len((const unsigned char *)"\xe9t"), 0);	/* Latin-1 é */
	CHECK_INT(ops_utf8_seq_len((const unsigned char *)"\xc0\xaf"), 0);	/* overlong / */
	CHECK_INT(ops_utf8_seq_len((const unsigned char *)"\xed\xa0\x80"), 0);	/* surrogate */
	CHECK_INT(ops_utf8_seq_len((const unsigned char *)"\xf4\x90\x80\x80"), 0);
	CHECK_INT(ops_utf8_seq_len((const unsigned char *)"\xe2\x82"), 0);	/* cut short */
	CHECK_INT(ops_utf8_valid("caf\xc3\xa9"), 1);
	CHECK_INT(ops_utf8_valid("caf\xe9"), 0);
}

TEST(repair_replaces_each_bad_byte)
{
	char *r = ops_utf8_repair("a\xe9\xff" "b\xc3\xa9");

	CHECK_STR(r, "a\xef\xbf\xbd\xef\xbf\xbd" "b\xc3\xa9");
	free(r);
}

TEST(tree_is_repaired_with_raw_bytes_beside)
{
	cJSON *o = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(o, "names");
	char *text, *raw;

	cJSON_AddStringToObject(o, "path", "/srv/caf\xe9.txt");
	cJSON_AddStringToObject(o, "ok", "caf\xc3\xa9");
	cJSON_AddItemToArray(arr, cJSON_CreateString("x\xfey"));
	cJSON_AddNumberToObject(o, "bad\xffkey", 1);
	CHECK_INT(ops_json_utf8(o), 0);
	text = cJSON_PrintUnformatted(o);
	CHECK(text && ops_utf8_valid(text));
	CHECK_STR(cJSON_GetObjectItem(o, "path")->valuestring, "/srv/caf\xef\xbf\xbd.txt");
	CHECK_STR(cJSON_GetObjectItem(o, "path_hex")->valuestring,
		  "2f7372762f636166e92e747874");
	CHECK(cJSON_GetObjectItem(o, "ok_hex") == NULL);	/* valid: untouched */
	CHECK_STR(cJSON_GetArrayItem(arr, 0)->valuestring, "x\xef\xbf\xbdy");
	CHECK(cJSON_GetObjectItem(o, "bad\xef\xbf\xbdkey") != NULL);
	raw = ops_json_raw_string(o, "path");
	CHECK_STR(raw, "/srv/caf\xe9.txt");
	free(raw);
	raw = ops_json_raw_string(o, "ok");
	CHECK_STR(raw, "caf\xc3\xa9");
	free(raw);
	/* A second pass changes nothing (idempotent: no path_hex_hex). */
	CHECK_INT(ops_json_utf8(o), 0);
	CHECK(cJSON_GetObjectItem(o, "path_hex_hex") == NULL);
	free(text);
	cJSON_Delete(o);
}

TEST(damaged_companion_falls_back_to_text)
{
	cJSON *o = cJSON_CreateObject();
	char *raw;

	cJSON_AddStringToObject(o, "name", "a\xef\xbf\xbd");
	cJSON_AddStringToObject(o, "name_hex", "61zz");
	raw = ops_json_raw_string(o, "name");
	CHECK_STR(raw, "a\xef\xbf\xbd");
	free(raw);
	cJSON_ReplaceItemInObject(o, "name_hex", cJSON_CreateString("610062"));	/* a NUL */
	raw = ops_json_raw_string(o, "name");
	CHECK_STR(raw, "a\xef\xbf\xbd");
	free(raw);
	CHECK(ops_json_raw_string(o, "missing") == NULL);
	cJSON_Delete(o);
}

/* Formatted strings appended in order; a long one is cut at 299 bytes,
 * never overrun. */
TEST(add_stringf_appends_formatted)
{
	cJSON *a = cJSON_CreateArray();
	char big[600];

	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	CHECK_INT(ops_json_add_stringf(a, "%d missing ids", 3), 0);
	CHECK_INT(ops_json_add_stringf(a, "%s", big), 0);
	CHECK_INT(cJSON_GetArraySize(a), 2);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetArrayItem(a, 0)), "3 missing ids");
	CHECK_INT((long)strlen(cJSON_GetStringValue(cJSON_GetArrayItem(a, 1))), 299);
	cJSON_Delete(a);
}

/* Whole items only: one that does not fit is left out, not cut. */
TEST(join_keeps_whole_items)
{
	cJSON *a = cJSON_CreateArray();
	char buf[20];

	ops_json_add_stringf(a, "one");
	ops_json_add_stringf(a, "two");
	ops_json_add_stringf(a, "a third too long");
	CHECK_STR(ops_json_join(a, buf, sizeof buf), "one; two");
	CHECK_STR(ops_json_join(cJSON_GetArrayItem(a, 5), buf, sizeof buf), "");
	cJSON_Delete(a);
	a = cJSON_CreateArray();
	ops_json_add_stringf(a, "a first finding longer than the buffer");
	CHECK_STR(ops_json_join(a, buf, sizeof buf), "a first finding lon");
	cJSON_Delete(a);
}

int main(void)
{
	RUN(sequences);
	RUN(repair_replaces_each_bad_byte);
	RUN(tree_is_repaired_with_raw_bytes_beside);
	RUN(damaged_companion_falls_back_to_text);
	RUN(add_stringf_appends_formatted);
	RUN(join_keeps_whole_items);
	return unit_done();
}
