/* Unit tests for lib/task.c: the lock, journal and textfile around a run. */
#include <sys/stat.h>

#include "unit.h"
#include "opsmaint/config.h"
#include "opsmaint/fileio.h"
#include "opsmaint/task.h"

static ops_config *config_in(const char *dir)
{
	ops_config *cfg = ops_config_new();
	ops_error err;

	if (cfg && ops_config_set(cfg, "general.state_dir", dir, "test", &err) != OPS_OK) {
		ops_config_free(cfg);
		return NULL;
	}
	return cfg;
}

static char *slurp(const char *dir, const char *name)
{
	char *path = ops_path_join(dir, name), *text = NULL;
	size_t len;
	ops_error err;

	if (path && ops_read_file(path, 1 << 20, &text, &len, &err) != OPS_OK)
		text = NULL;
	free(path);
	return text;
}

TEST(second_run_of_a_task_is_locked_out)
{
	char *dir = unit_tmpdir();
	ops_config *cfg = config_in(dir);
	ops_task *a = NULL, *b = NULL, *c = NULL;
	ops_error err;

	CHECK_INT(ops_task_begin(cfg, &(ops_task_spec){.name = "db maintain"}, &a, &err), OPS_OK);
	CHECK_INT(ops_task_begin(cfg, &(ops_task_spec){.name = "db maintain"}, &b, &err), OPS_ELOCKED);
	CHECK_CONTAINS(err.message, "db_maintain");
	CHECK(b == NULL);
	/* Another task is not held up by this one. */
	CHECK_INT(ops_task_begin(cfg, &(ops_task_spec){.name = "db vacuum"}, &c, &err), OPS_OK);
	ops_task_abandon(c);
	ops_task_abandon(a);
	CHECK_INT(ops_task_begin(cfg, &(ops_task_spec){.name = "db maintain"}, &b, &err), OPS_OK);
	ops_task_abandon(b);
	ops_config_free(cfg);
	unit_rmrf(dir);
	free(dir);
}

TEST(finish_writes_journal_and_textfile)
{
	char *dir = unit_tmpdir();
	ops_config *cfg = config_in(dir);
	ops_task *t = NULL;
	ops_error err;
	char *argv[] = {"opsctl", "db", "maintain", "-d", "postgresql://u:hunter2@h/db", NULL};
	cJSON *figures = cJSON_CreateObject();
	char *journal, *prom;

	cJSON_AddNumberToObject(figures, "databases", 1);
	cJSON_AddNumberToObject(figures, "opsctl_db_reclaimed_bytes", 4096);
	CHECK_INT(ops_task_begin(cfg, &(ops_task_spec){.name = "db maintain"}, &t, &err), OPS_OK);
	CHECK_INT(ops_task_finish(t, 5, argv, OPS_OK, 0, NULL, figures, &err), OPS_OK);
	journal = slurp(dir, "journal.jsonl");
	prom = slurp(dir, "opsctl.prom");
	CHECK_CONTAINS(journal, "\"command\":\"db maintain\"");
	CHECK_CONTAINS(journal, "\"status\":\"ok\"");
	CHECK(journal && !strstr(journal, "hunter2"));
	CHECK_CONTAINS(prom, "opsctl_last_success_timestamp_seconds{task=\"db_maintain\"}");
	CHECK_CONTAINS(prom, "opsctl_db_reclaimed_bytes{task=\"db_maintain\"} 4096");
	free(journal);
	free(prom);

	/* A failed run leaves the last success where it was. */
	CHECK_INT(ops_task_begin(cfg, &(ops_task_spec){.name = "db maintain"}, &t, &err), OPS_OK);
	CHECK_INT(ops_task_finish(t, 5, argv, OPS_EUNAVAIL, 69, "server down", NULL, &err), OPS_OK);
	journal = slurp(dir, "journal.jsonl");
	prom = slurp(dir, "opsctl.prom");
	CHECK_CONTAINS(journal, "\"exit\":69");
	CHECK_CONTAINS(prom, "opsctl_last_exit_status{task=\"db_maintain\"} 69");
	CHECK_CONTAINS(prom, "opsctl_last_success_timestamp_seconds{task=\"db_maintain\"}");
	free(journal);
	free(prom);
	cJSON_Delete(figures);
	ops_config_free(cfg);
	unit_rmrf(dir);
	free(dir);
}

TEST(metrics_file_setting_moves_the_textfile)
{
	char *dir = unit_tmpdir();
	ops_config *cfg = config_in(dir);
	char *elsewhere = ops_path_join(dir, "node.prom");
	ops_task *t = NULL;
	ops_error err;
	char *argv[] = {"opsctl", NULL};
	struct stat st;

	CHECK_INT(ops_config_set(cfg, "general.metrics_file", elsewhere, "test", &err), OPS_OK);
	CHECK_INT(ops_task_begin(cfg, &(ops_task_spec){.name = "db analyze"}, &t, &err), OPS_OK);
	CHECK_INT(ops_task_finish(t, 1, argv, OPS_OK, 0, NULL, NULL, &err), OPS_OK);
	CHECK(stat(elsewhere, &st) == 0);
	free(elsewhere);
	ops_config_free(cfg);
	unit_rmrf(dir);
	free(dir);
}

TEST(figures_of_several_targets_added)
{
	cJSON *into = cJSON_CreateObject();
	cJSON *a = cJSON_Parse("{\"opsctl_n\": 2, \"opsctl_per\": {\"rule\": {\"x\": 1, \"y\": 2}},"
			       " \"note\": \"text\", \"opsctl_bad\": {\"a\": {}, \"b\": {}}}");
	cJSON *b = cJSON_Parse("{\"opsctl_n\": 3, \"opsctl_per\": {\"rule\": {\"y\": 5, \"z\": 1}},"
			       " \"opsctl_m\": 1}");
	cJSON *c = cJSON_Parse("{\"opsctl_n\": {\"rule\": {\"x\": 1}}, \"opsctl_per\": 4}");
	char *text;

	CHECK(into && a && b && c);
	CHECK_INT(ops_task_figures_add(into, a), 0);
	CHECK_INT(ops_task_figures_add(into, b), 0);
	/* A figure of another shape under a name already added is left out. */
	CHECK_INT(ops_task_figures_add(into, c), 0);
	CHECK_INT(ops_task_figures_add(into, NULL), 0);
	text = cJSON_PrintUnformatted(into);
	CHECK_STR(text, "{\"opsctl_n\":5,\"opsctl_per\":{\"rule\":{\"x\":1,\"y\":7,\"z\":1}},"
		  "\"opsctl_m\":1}");
	free(text);
	cJSON_Delete(into);
	cJSON_Delete(a);
	cJSON_Delete(b);
	cJSON_Delete(c);
}

int main(void)
{
	RUN(figures_of_several_targets_added);
	RUN(second_run_of_a_task_is_locked_out);
	RUN(finish_writes_journal_and_textfile);
	RUN(metrics_file_setting_moves_the_textfile);
	return unit_done();
}
