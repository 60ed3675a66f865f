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

int main(void)
{
	RUN(second_run_of_a_task_is_locked_out);
	RUN(finish_writes_journal_and_textfile);
	RUN(metrics_file_setting_moves_the_textfile);
	return unit_done();
}
