/*
 * metrics: the state keeps every task; the textfile is regenerated whole,
 * with HELP/TYPE once per family and each family's series together (checked
 * by promtool when installed); last_success only moves on success and is
 * absent until the first one; bad task and gauge names are handled; many
 * processes recording at once lose nothing.
 */
#include <errno.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "opsmaint/log.h"
#include "opsmaint/metrics.h"
#include "unit.h"

static char *tmp;
static char state[4200], prom[4200];
static int warnings;
static char last_warning[1024];

static void sink(void *arg, ops_loglevel level, const char *line)
{
	if (level == OPS_LOG_WARNING) {
		warnings++;
		snprintf(last_warning, sizeof last_warning, "%s", line);
	}
}

static char *slurp(const char *path)
{
	static char buf[65536];
	FILE *f = fopen(path, "r");
	size_t n;

	buf[0] = '\0';
	if (!f)
		return buf;
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

static int count(const char *hay, const char *needle)
{
	int n = 0;

	while ((hay = strstr(hay, needle))) {
		n++;
		hay += strlen(needle);
	}
	return n;
}

static int have_promtool;

/* promtool's exit status for the file (0: accepted, lint included). */
static int promtool(const char *path)
{
	char cmd[4400];

	snprintf(cmd, sizeof cmd, "promtool check metrics < '%s'", path);
	return system(cmd);
}

#define CHECK_PROMTOOL(path)                                                \
	do {                                                                \
		if (have_promtool)                                          \
			CHECK_INT(promtool(path), 0);                       \
	} while (0)

/*
 * The exposition format's grouping rule: once a family's samples end, the
 * family must not reappear; and every sample's family has HELP and TYPE
 * before it.
 */
static int grouped(const char *text)
{
	char seen[64][128], cur[128] = "", name[128], *copy, *line, *save;
	int nseen = 0, i, ok = 1;

	copy = strdup(text);
	if (!copy)
		return 0;
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "# TYPE ", 7) == 0 || strncmp(line, "# HELP ", 7) == 0) {
			sscanf(line + 7, "%127s", name);
		} else {
			sscanf(line, "%127[^{ ]", name);
		}
		if (strcmp(name, cur) != 0) {
			for (i = 0; i < nseen; i++)
				if (strcmp(seen[i], name) == 0)
					ok = 0;
			if (cur[0] && nseen < 64)
				snprintf(seen[nseen++], sizeof seen[0], "%s", cur);
			snprintf(cur, sizeof cur, "%s", name);
			if (strncmp(line, "# HELP ", 7) != 0)
				ok = 0;	/* a family must start with its HELP */
		}
	}
	free(copy);
	return ok;
}

static void result(ops_task_result *r, const char *task, double start,
		   int success, int exit_status)
{
	memset(r, 0, sizeof *r);
	r->task = task;
	r->start = start;
	r->duration = 2.5;
	r->success = success;
	r->exit_status = exit_status;
}

TEST(grouping_checker_itself)
{
	CHECK(grouped("# HELP a x\n# TYPE a gauge\na{t=\"1\"} 1\na{t=\"2\"} 2\n"
		      "# HELP b x\n# TYPE b gauge\nb 1\n"));
	/* promtool accepts this split family, so the test must catch it. */
	CHECK(!grouped("# HELP a x\n# TYPE a gauge\na{t=\"1\"} 1\n"
		       "# HELP b x\n# TYPE b gauge\nb 1\na{t=\"2\"} 2\n"));
	CHECK(!grouped("a 1\n"));
}

TEST(first_success_writes_all_series)
{
	ops_task_result r;
	ops_error err;
	cJSON *g = cJSON_CreateObject();
	const char *text;
	struct stat st;

	cJSON_AddNumberToObject(g, "opsctl_backup_size_bytes", 123456789012.0);
	result(&r, "backup", 1795521600.5, 1, 0);
	r.gauges = g;
	ops_error_clear(&err);
	CHECK_INT(ops_metrics_record(state, prom, &r, &err), OPS_OK);
	text = slurp(prom);
	CHECK_CONTAINS(text, "# HELP opsctl_last_run_timestamp_seconds ");
	CHECK_CONTAINS(text, "# TYPE opsctl_last_run_timestamp_seconds gauge\n");
	CHECK_CONTAINS(text, "opsctl_last_run_timestamp_seconds{task=\"backup\"} 1795521600.5\n");
	CHECK_CONTAINS(text, "opsctl_last_success_timestamp_seconds{task=\"backup\"} 1795521600.5\n");
	CHECK_CONTAINS(text, "opsctl_last_duration_seconds{task=\"backup\"} 2.5\n");
	CHECK_CONTAINS(text, "opsctl_last_exit_status{task=\"backup\"} 0\n");
	CHECK_CONTAINS(text, "# TYPE opsctl_backup_size_bytes gauge\n");
	CHECK_CONTAINS(text, "opsctl_backup_size_bytes{task=\"backup\"} 123456789012\n");
	CHECK(grouped(text));
	CHECK(stat(prom, &st) == 0 && (st.st_mode & 0777) == 0644);
	CHECK_PROMTOOL(prom);
	cJSON_Delete(g);
}

/* Each figure has its own HELP from figures.def; one it does not know yet
 * gets the generic text and the file stays valid. */
TEST(figures_have_their_own_help)
{
	ops_task_result r;
	ops_error err;
	cJSON *g = cJSON_CreateObject();
	const char *text;

	cJSON_AddNumberToObject(g, "opsctl_backup_size_bytes", 1);
	cJSON_AddNumberToObject(g, "opsctl_vector_recall_at_10_ratio", 0.98);
	cJSON_AddNumberToObject(g, "opsctl_not_declared_yet", 2);
	result(&r, "figures", 1795521600, 1, 0);
	r.gauges = g;
	ops_error_clear(&err);
	CHECK_INT(ops_metrics_record(state, prom, &r, &err), OPS_OK);
	text = slurp(prom);
	CHECK_CONTAINS(text, "# HELP opsctl_backup_size_bytes Size of the last full backup as "
		       "stored");
	CHECK_CONTAINS(text, "# HELP opsctl_vector_recall_at_10_ratio Recall at 10 of the index");
	CHECK_CONTAINS(text, "# HELP opsctl_not_declared_yet Figure reported by the last run of "
		       "an opsctl task.\n");
	CHECK(strstr(text, "# HELP opsctl_backup_size_bytes Figure reported") == NULL);
	CHECK(grouped(text));
	CHECK_PROMTOOL(prom);
	cJSON_Delete(g);
}

TEST(failure_keeps_last_success_and_tasks_sanitised)
{
	ops_task_result r;
	ops_error err;
	const char *text;

	result(&r, "backup", 1795608000, 0, 1);
	CHECK_INT(ops_metrics_record(state, prom, &r, &err), OPS_OK);
	/* Another task with spaces and dashes, never successful. */
	result(&r, "db maintain-full", 1795608100, 0, 69);
	CHECK_INT(ops_metrics_record(state, prom, &r, &err), OPS_OK);
	text = slurp(prom);
	CHECK_CONTAINS(text, "opsctl_last_run_timestamp_seconds{task=\"backup\"} 1795608000\n");
	CHECK_CONTAINS(text, "opsctl_last_success_timestamp_seconds{task=\"backup\"} 1795521600.5\n");
	CHECK_CONTAINS(text, "opsctl_last_exit_status{task=\"backup\"} 1\n");
	CHECK_CONTAINS(text, "opsctl_last_exit_status{task=\"db_maintain_full\"} 69\n");
	CHECK_CONTAINS(text, "opsctl_last_run_timestamp_seconds{task=\"db_maintain_full\"} 1795608100\n");
	CHECK(strstr(text, "opsctl_last_success_timestamp_seconds{task=\"db_maintain_full\"}") == NULL);
	/* The failed run reported no size: the last success's stays, so an
	 * alert on it does not go silent exactly when backups fail. */
	CHECK_CONTAINS(text, "opsctl_backup_size_bytes{task=\"backup\"} 123456789012\n");
	/* One HELP and one TYPE per family even with two tasks. */
	CHECK_INT(count(text, "# TYPE opsctl_last_run_timestamp_seconds gauge"), 1);
	CHECK_INT(count(text, "# HELP opsctl_last_exit_status "), 1);
	CHECK(grouped(text));
	CHECK_PROMTOOL(prom);

	/* A later success moves last_success forward. */
	result(&r, "backup", 1795694400, 1, 0);
	CHECK_INT(ops_metrics_record(state, prom, &r, &err), OPS_OK);
	CHECK_CONTAINS(slurp(prom),
		       "opsctl_last_success_timestamp_seconds{task=\"backup\"} 1795694400\n");
}

TEST(targets_have_their_own_series)
{
	ops_task_result r;
	ops_error err;
	const char *text;

	/* The configured index succeeds; a scratch copy fails afterwards. */
	result(&r, "vector rebuild", 1795700000, 1, 0);
	r.target = "/var/lib/opsctl/index.faiss";
	CHECK_INT(ops_metrics_record(state, prom, &r, &err), OPS_OK);
	result(&r, "vector rebuild", 1795700100, 0, 65);
	r.target = "/tmp/copy \"q\".faiss";
	CHECK_INT(ops_metrics_record(state, prom, &r, &err), OPS_OK);
	text = slurp(prom);
	CHECK_CONTAINS(text, "opsctl_last_success_timestamp_seconds{task=\"vector_rebuild\","
		       "target=\"/var/lib/opsctl/index.faiss\"} 1795700000\n");
	CHECK_CONTAINS(text, "opsctl_last_exit_status{task=\"vector_rebuild\","
		       "target=\"/var/lib/opsctl/index.faiss\"} 0\n");
	/* Label values escape the double quote. */
	CHECK_CONTAINS(text, "opsctl_last_exit_status{task=\"vector_rebuild\","
		       "target=\"/tmp/copy \\\"q\\\".faiss\"} 65\n");
	CHECK(strstr(text, "opsctl_last_success_timestamp_seconds{task=\"vector_rebuild\","
		     "target=\"/tmp/copy") == NULL);
	CHECK(grouped(text));
	CHECK_PROMTOOL(prom);
}

TEST(an_untouched_series_reads_back_the_same)
{
	ops_task_result r;
	ops_error err;
	char line[160], *copy;
	const char *text, *at;

	/* A start time with more digits than the state file keeps. */
	result(&r, "roundtrip", 1796186939.8709998, 1, 0);
	CHECK_INT(ops_metrics_record(state, prom, &r, &err), OPS_OK);
	text = slurp(prom);
	at = strstr(text, "opsctl_last_success_timestamp_seconds{task=\"roundtrip\"}");
	CHECK(at != NULL);
	if (!at)
		return;
	snprintf(line, sizeof line, "%.*s", (int)strcspn(at, "\n"), at);
	copy = strdup(line);
	/* Another task's run rewrites the file from the state. */
	result(&r, "other", 1796186999, 0, 1);
	CHECK_INT(ops_metrics_record(state, prom, &r, &err), OPS_OK);
	CHECK_CONTAINS(slurp(prom), copy);
	CHECK_CONTAINS(copy, "} 1796186939.871");
	free(copy);
}

TEST(gauges_of_several_tasks_grouped_by_family)
{
	ops_task_result r;
	ops_error err;
	cJSON *g1 = cJSON_CreateObject(), *g2 = cJSON_CreateObject();
	const char *text, *a, *b, *c;

	cJSON_AddNumberToObject(g1, "opsctl_rows_deleted", 10);
	cJSON_AddNumberToObject(g1, "opsctl_files_removed", 4);
	cJSON_AddNumberToObject(g2, "opsctl_rows_deleted", 7);
	cJSON_AddNumberToObject(g2, "opsctl_ratio", 0.1);
	result(&r, "cleanup_data", 1795700000, 1, 0);
	r.gauges = g1;
	CHECK_INT(ops_metrics_record(state, prom, &r, &err), OPS_OK);
	result(&r, "cleanup_logs", 1795700100, 1, 0);
	r.gauges = g2;
	CHECK_INT(ops_metrics_record(state, prom, &r, &err), OPS_OK);
	text = slurp(prom);
	a = strstr(text, "opsctl_rows_deleted{task=\"cleanup_data\"} 10\n");
	b = strstr(text, "opsctl_rows_deleted{task=\"cleanup_logs\"} 7\n");
	c = strstr(text, "# TYPE opsctl_rows_deleted gauge");
	CHECK(a && b && c && c < a && c < b);
	CHECK_INT(count(text, "# TYPE opsctl_rows_deleted gauge"), 1);
	CHECK_CONTAINS(text, "opsctl_ratio{task=\"cleanup_logs\"} 0.1\n");
	CHECK_CONTAINS(text, "opsctl_files_removed{task=\"cleanup_data\"} 4\n");
	CHECK(grouped(text));
	CHECK_PROMTOOL(prom);
	cJSON_Delete(g1);
	cJSON_Delete(g2);
}

TEST(bad_gauges_skipped_with_warning)
{
	ops_task_result r;
	ops_error err;
	cJSON *g = cJSON_CreateObject();
	const char *text;

	cJSON_AddNumberToObject(g, "bad-name", 1);
	cJSON_AddStringToObject(g, "opsctl_text", "nope");
	cJSON_AddNumberToObject(g, "opsctl_last_exit_status", 5);	/* would clash */
	cJSON_AddNumberToObject(g, "ns:colon", 2);	/* promtool lint refuses ':' */
	cJSON_AddNumberToObject(g, "opsctl_good_one", 3);
	result(&r, "report", 1795700200, 1, 0);
	r.gauges = g;
	warnings = 0;
	ops_log_set_sink(sink, NULL);
	CHECK_INT(ops_metrics_record(state, prom, &r, &err), OPS_OK);
	ops_log_set_sink(NULL, NULL);
	CHECK_INT(warnings, 4);
	CHECK_CONTAINS(last_warning, "task 'report'");
	text = slurp(prom);
	CHECK(strstr(text, "bad-name") == NULL);
	CHECK(strstr(text, "opsctl_text") == NULL);
	CHECK(strstr(text, "opsctl_last_exit_status{task=\"report\"} 5") == NULL);
	CHECK_CONTAINS(text, "opsctl_last_exit_status{task=\"report\"} 0\n");
	CHECK(strstr(text, "ns:colon") == NULL);
	CHECK_CONTAINS(text, "opsctl_good_one{task=\"report\"} 3\n");
	CHECK_PROMTOOL(prom);
	cJSON_Delete(g);
}

TEST(labelled_gauges_one_series_per_value)
{
	ops_task_result r;
	ops_error err;
	cJSON *g = cJSON_CreateObject(), *per, *rule, *bad;
	const char *text, *h, *a, *b;

	per = cJSON_AddObjectToObject(g, "opsctl_rule_rows_deleted");
	rule = cJSON_AddObjectToObject(per, "rule");
	cJSON_AddNumberToObject(rule, "chat_logs", 120);
	cJSON_AddNumberToObject(rule, "cleanup_expired_cache()", 3);
	cJSON_AddNumberToObject(rule, "say \"hi\"\\", 1);	/* escaped as a label value */
	cJSON_AddStringToObject(rule, "not_a_number", "x");	/* dropped, the rest kept */
	/* Shapes that are not a labelled gauge: skipped with a warning. */
	bad = cJSON_AddObjectToObject(g, "opsctl_two_labels");
	cJSON_AddObjectToObject(bad, "a");
	cJSON_AddObjectToObject(bad, "b");
	bad = cJSON_AddObjectToObject(g, "opsctl_label_task");
	cJSON_AddNumberToObject(cJSON_AddObjectToObject(bad, "task"), "x", 1);
	bad = cJSON_AddObjectToObject(g, "opsctl_bad_label");
	cJSON_AddNumberToObject(cJSON_AddObjectToObject(bad, "bad-label"), "x", 1);
	cJSON_AddNumberToObject(g, "opsctl_plain", 2);
	result(&r, "cleanup_data", 1795700300, 1, 0);
	r.target = "chatbot_db";
	r.gauges = g;
	warnings = 0;
	ops_log_set_sink(sink, NULL);
	CHECK_INT(ops_metrics_record(state, prom, &r, &err), OPS_OK);
	ops_log_set_sink(NULL, NULL);
	CHECK_INT(warnings, 3);
	text = slurp(prom);
	h = strstr(text, "# TYPE opsctl_rule_rows_deleted gauge\n");
	a = strstr(text, "opsctl_rule_rows_deleted{task=\"cleanup_data\",target=\"chatbot_db\","
		   "rule=\"chat_logs\"} 120\n");
	b = strstr(text, "opsctl_rule_rows_deleted{task=\"cleanup_data\",target=\"chatbot_db\","
		   "rule=\"cleanup_expired_cache()\"} 3\n");
	CHECK(h && a && b && h < a && h < b);
	CHECK_INT(count(text, "# TYPE opsctl_rule_rows_deleted gauge"), 1);
	CHECK_CONTAINS(text, "rule=\"say \\\"hi\\\"\\\\\"} 1\n");
	CHECK(strstr(text, "not_a_number") == NULL);
	CHECK(strstr(text, "opsctl_two_labels") == NULL);
	CHECK(strstr(text, "opsctl_label_task") == NULL);
	CHECK(strstr(text, "opsctl_bad_label") == NULL);
	CHECK_CONTAINS(text, "opsctl_plain{task=\"cleanup_data\",target=\"chatbot_db\"} 2\n");
	CHECK(grouped(text));
	CHECK_PROMTOOL(prom);
	/* A failed run replaces what it measured: the labelled gauge as a whole. */
	cJSON_Delete(g);
	g = cJSON_CreateObject();
	cJSON_AddNumberToObject(cJSON_AddObjectToObject(cJSON_AddObjectToObject(
		g, "opsctl_rule_rows_deleted"), "rule"), "chat_logs", 7);
	result(&r, "cleanup_data", 1795700400, 0, 1);
	r.target = "chatbot_db";
	r.gauges = g;
	CHECK_INT(ops_metrics_record(state, prom, &r, &err), OPS_OK);
	text = slurp(prom);
	CHECK_CONTAINS(text, "rule=\"chat_logs\"} 7\n");
	CHECK(strstr(text, "cleanup_expired_cache()") == NULL);
	CHECK_CONTAINS(text, "opsctl_plain{task=\"cleanup_data\",target=\"chatbot_db\"} 2\n");
	CHECK_PROMTOOL(prom);
	cJSON_Delete(g);
}

TEST(state_file_holds_tasks)
{
	cJSON *s = cJSON_Parse(slurp(state)), *t;

	CHECK(s != NULL);
	t = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(s, "tasks"),
					     "db_maintain_full");
	CHECK(cJSON_IsObject(t));
	CHECK_INT(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(t, "exit_status")), 69);
	CHECK(cJSON_GetObjectItemCaseSensitive(t, "last_success") == NULL);
	CHECK(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(t, "duration")) == 2.5);
	cJSON_Delete(s);
}

TEST(bad_task_name_and_paths)
{
	ops_task_result r;
	ops_error err;
	char bad[4200];
	FILE *f;

	result(&r, "9lives", 1, 1, 0);
	CHECK_INT(ops_metrics_record(state, prom, &r, &err), OPS_EUSAGE);
	CHECK_CONTAINS(err.message, "bad task name '9lives'");
	result(&r, "a\"b", 1, 1, 0);
	CHECK_INT(ops_metrics_record(state, prom, &r, &err), OPS_EUSAGE);
	result(&r, "", 1, 1, 0);
	CHECK_INT(ops_metrics_record(state, prom, &r, &err), OPS_EUSAGE);
	CHECK(strstr(slurp(prom), "9lives") == NULL);

	snprintf(bad, sizeof bad, "%s/plainfile", tmp);
	f = fopen(bad, "w");
	if (f)
		fclose(f);
	snprintf(bad, sizeof bad, "%s/plainfile/metrics.json", tmp);
	result(&r, "x", 1, 1, 0);
	CHECK_INT(ops_metrics_record(bad, prom, &r, &err), OPS_EIO);
	CHECK_CONTAINS(err.message, "Not a directory");
}

TEST(corrupt_state_starts_afresh)
{
	char s2[4200], p2[4200];
	ops_task_result r;
	ops_error err;
	FILE *f;

	snprintf(s2, sizeof s2, "%s/other/metrics.json", tmp);
	snprintf(p2, sizeof p2, "%s/textfile/opsctl.prom", tmp);
	result(&r, "backup", 100, 1, 0);
	CHECK_INT(ops_metrics_record(s2, p2, &r, &err), OPS_OK);
	f = fopen(s2, "w");
	if (f) {
		fputs("{not json", f);
		fclose(f);
	}
	warnings = 0;
	ops_log_set_sink(sink, NULL);
	result(&r, "health", 200, 1, 0);
	CHECK_INT(ops_metrics_record(s2, p2, &r, &err), OPS_OK);
	ops_log_set_sink(NULL, NULL);
	CHECK_INT(warnings, 1);
	CHECK_CONTAINS(last_warning, "not a JSON object");
	CHECK_CONTAINS(slurp(p2), "opsctl_last_run_timestamp_seconds{task=\"health\"} 200\n");
	CHECK(strstr(slurp(p2), "task=\"backup\"") == NULL);
	{
		cJSON *o = cJSON_Parse(slurp(s2));

		CHECK(o != NULL);
		cJSON_Delete(o);
	}
}

TEST(concurrent_processes_lose_no_task)
{
	char s3[4200], p3[4200], task[32];
	pid_t pids[8];
	int i, status;
	const char *text;

	snprintf(s3, sizeof s3, "%s/conc/metrics.json", tmp);
	snprintf(p3, sizeof p3, "%s/conc/opsctl.prom", tmp);
	for (i = 0; i < 8; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			ops_task_result r;
			ops_error cerr;
			int j;

			snprintf(task, sizeof task, "task_%d", i);
			for (j = 0; j < 10; j++) {
				result(&r, task, 1000 + j, 1, 0);
				if (ops_metrics_record(s3, p3, &r, &cerr) != OPS_OK)
					_exit(1);
			}
			_exit(0);
		}
	}
	for (i = 0; i < 8; i++) {
		CHECK(waitpid(pids[i], &status, 0) == pids[i]);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	text = slurp(p3);
	for (i = 0; i < 8; i++) {
		char want[128];

		snprintf(want, sizeof want,
			 "opsctl_last_run_timestamp_seconds{task=\"task_%d\"} 1009\n", i);
		CHECK_CONTAINS(text, want);
	}
	CHECK(grouped(text));
	CHECK_PROMTOOL(p3);
}

int main(void)
{
	umask(022);
	tmp = unit_tmpdir();
	if (!tmp)
		return 1;
	snprintf(state, sizeof state, "%s/state/metrics.json", tmp);
	snprintf(prom, sizeof prom, "%s/node_exporter/opsctl.prom", tmp);
	have_promtool = access("/usr/bin/promtool", X_OK) == 0 ||
			system("command -v promtool >/dev/null 2>&1") == 0;
	if (!have_promtool)
		printf("# note: promtool not installed; textfiles not checked by it\n");
	RUN(grouping_checker_itself);
	RUN(first_success_writes_all_series);
	RUN(failure_keeps_last_success_and_tasks_sanitised);
	RUN(targets_have_their_own_series);
	RUN(an_untouched_series_reads_back_the_same);
	RUN(gauges_of_several_tasks_grouped_by_family);
	RUN(bad_gauges_skipped_with_warning);
	RUN(labelled_gauges_one_series_per_value);
	RUN(state_file_holds_tasks);
	RUN(bad_task_name_and_paths);
	RUN(corrupt_state_starts_afresh);
	RUN(concurrent_processes_lose_no_task);
	RUN(figures_have_their_own_help);
	unit_rmrf(tmp);
	free(tmp);
	return unit_done();
}
