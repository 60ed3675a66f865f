/*
 * journal: every line is one complete JSON object with the documented
 * members; lines append (never overwrite); secrets in arguments and error
 * messages never reach the file; concurrent writers never interleave.  The
 * redaction rules are tested one by one, including what must stay visible.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "opsmaint/journal.h"
#include "unit.h"

static char *tmp;

static void check_redact(const char *prev, const char *arg, const char *want,
			 int line)
{
	char *got = ops_redact_arg(prev, arg);

	if (!got || strcmp(got, want) != 0) {
		fprintf(stderr, "%s:%d: redact(%s, \"%s\") == \"%s\", expected \"%s\"\n",
			__FILE__, line, prev ? prev : "NULL", arg, got ? got : "(null)",
			want);
		unit_current_failed = 1;
	}
	free(got);
}
#define R(prev, arg, want) check_redact(prev, arg, want, __LINE__)

TEST(redact_uri_userinfo)
{
	R(NULL, "postgresql://u:pw@h/db", "postgresql://u:***@h/db");
	R(NULL, "postgres://admin:s3cr%40t@db.example.com:5432/chatbot_db?sslmode=require",
	  "postgres://admin:***@db.example.com:5432/chatbot_db?sslmode=require");
	R(NULL, "redis://:hunter2@cache:6379/0", "redis://:***@cache:6379/0");
	R(NULL, "--database=postgresql://u:p@h/d", "--database=postgresql://u:***@h/d");
	/* Only the password: a user alone, or no userinfo, stays as it is. */
	R(NULL, "postgresql://u@h/db", "postgresql://u@h/db");
	R(NULL, "postgresql://h/db", "postgresql://h/db");
	R(NULL, "https://example.com/a@b", "https://example.com/a@b");
	/* '@' in the password: the last '@' of the authority ends it. */
	R(NULL, "s3://key:p@ss@bucket/x", "s3://key:***@bucket/x");
	R(NULL, "from postgresql://a:b@h1/x to postgresql://c:d@h2/y",
	  "from postgresql://a:***@h1/x to postgresql://c:***@h2/y");
	R(NULL, "postgresql://u:pw@h/db?password=other&sslmode=require",
	  "postgresql://u:***@h/db?password=***&sslmode=require");
}

TEST(redact_conninfo)
{
	R(NULL, "host=db user=app password=hunter2 dbname=chatbot_db",
	  "host=db user=app password=*** dbname=chatbot_db");
	R(NULL, "password=x", "password=***");
	R(NULL, "host=db password = 'two words' dbname=x",
	  "host=db password = '***' dbname=x");
	R(NULL, "host=db password='it\\'s' port=5432", "host=db password='***' port=5432");
	R(NULL, "sslpassword=abc sslkey=/etc/k.pem", "sslpassword=*** sslkey=/etc/k.pem");
	R(NULL, "PGPASSWORD=abc", "PGPASSWORD=***");
	R(NULL, "AWS_SECRET_ACCESS_KEY=wJalr", "AWS_SECRET_ACCESS_KEY=***");
	R(NULL, "dbname=chatbot_db host=db", "dbname=chatbot_db host=db");
	R(NULL, "password=", "password=");
}

TEST(redact_long_options)
{
	R(NULL, "--password=x", "--password=***");
	R(NULL, "--password=has spaces too", "--password=***");
	R(NULL, "--secret=abc", "--secret=***");
	R(NULL, "--token=abc", "--token=***");
	R(NULL, "--api-key=abc", "--api-key=***");
	R(NULL, "--apikey=abc", "--apikey=***");
	R(NULL, "--key=abc", "--key=***");
	R(NULL, "--slack-token=xoxb-1", "--slack-token=***");
	R(NULL, "--db-passwd=a", "--db-passwd=***");
	R(NULL, "--PASSWORD=a", "--PASSWORD=***");
	R(NULL, "--private-key=a", "--private-key=***");
	R(NULL, "-token=x", "-token=***");
	/* Ordinary options stay readable. */
	R(NULL, "--tasks=vacuum,analyze", "--tasks=vacuum,analyze");
	R(NULL, "--retention=30", "--retention=30");
	R(NULL, "--keep-temp", "--keep-temp");
	R(NULL, "-t", "-t");
	R(NULL, "", "");
}

TEST(redact_separate_values)
{
	R("--password", "hunter2", "***");
	R("--token", "abc", "***");
	R("--api-key", "abc", "***");
	R("--key", "abc", "***");
	R("-secret", "abc", "***");
	/* Not after an option that already carried its value, or a switch. */
	R("--password=x", "mydb", "mydb");
	R("--no-password", "mydb", "mydb");
	R("--tasks", "vacuum", "vacuum");
	R("password", "x", "x");	/* not an option */
	R(NULL, "hunter2", "hunter2");
	CHECK(ops_redact_arg(NULL, NULL) == NULL);
}

static cJSON *last_line(const char *path, int *nlines)
{
	static char buf[65536];
	FILE *f = fopen(path, "r");
	cJSON *o = NULL;

	*nlines = 0;
	if (!f)
		return NULL;
	while (fgets(buf, sizeof buf, f)) {
		size_t n = strlen(buf);

		if (n == 0 || buf[n - 1] != '\n') {
			cJSON_Delete(o);
			fclose(f);
			return NULL;	/* a partial line */
		}
		(*nlines)++;
		cJSON_Delete(o);
		o = cJSON_Parse(buf);
		if (!o) {
			fclose(f);
			return NULL;
		}
	}
	fclose(f);
	return o;
}

static const char *str(const cJSON *o, const char *k)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));
}

static double num(const cJSON *o, const char *k)
{
	return cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, k));
}

TEST(append_writes_one_json_line)
{
	char *argv[] = {"opsctl", "--env", "prod", "db", "maintain", "-d",
			"postgresql://app:hunter2@db/chatbot_db", "--password",
			"hunter3", "--token=tok-abc", NULL};
	ops_journal_entry run = {0};
	ops_error err;
	char path[4200], host[256], *text = NULL;
	cJSON *line, *figs, *args;
	struct stat st;
	int n;
	FILE *f;
	long size;

	snprintf(path, sizeof path, "%s/state/deeper/journal.jsonl", tmp);
	figs = cJSON_CreateObject();
	cJSON_AddNumberToObject(figs, "tables_vacuumed", 3);
	run.command = "db maintain";
	run.argc = 10;
	run.argv = argv;
	run.environment = "prod";
	run.start.tv_sec = 1795521600;	/* 2026-11-24T12:00:00Z */
	run.start.tv_nsec = 123456789;
	run.duration = 12.3456;
	run.status = OPS_OK;
	run.exit_status = 0;
	run.figures = figs;
	ops_error_clear(&err);
	CHECK_INT(ops_journal_append(path, &run, &err), OPS_OK);
	CHECK(stat(path, &st) == 0);
	CHECK_INT(st.st_mode & 0777, 0640);

	line = last_line(path, &n);
	CHECK(line != NULL);
	CHECK_INT(n, 1);
	CHECK_STR(str(line, "time"), "2026-11-24T12:00:00.123Z");
	CHECK_STR(str(line, "command"), "db maintain");
	CHECK_STR(str(line, "environment"), "prod");
	CHECK(gethostname(host, sizeof host) == 0);
	CHECK_STR(str(line, "host"), host);
	CHECK_INT(num(line, "pid"), getpid());
	CHECK(num(line, "duration_seconds") > 12.345 && num(line, "duration_seconds") < 12.347);
	CHECK_STR(str(line, "status"), "ok");
	CHECK_INT(num(line, "exit"), 0);
	CHECK(cJSON_GetObjectItemCaseSensitive(line, "error") == NULL);
	CHECK_INT(num(cJSON_GetObjectItemCaseSensitive(line, "figures"), "tables_vacuumed"), 3);
	args = cJSON_GetObjectItemCaseSensitive(line, "args");
	CHECK(cJSON_IsArray(args));
	CHECK_INT(cJSON_GetArraySize(args), 10);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetArrayItem(args, 0)), "opsctl");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetArrayItem(args, 6)),
		  "postgresql://app:***@db/chatbot_db");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetArrayItem(args, 7)), "--password");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetArrayItem(args, 8)), "***");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetArrayItem(args, 9)), "--token=***");
	cJSON_Delete(line);

	/* The secrets are nowhere in the file's bytes. */
	f = fopen(path, "r");
	CHECK(f != NULL);
	if (f) {
		fseek(f, 0, SEEK_END);
		size = ftell(f);
		rewind(f);
		text = calloc(1, (size_t)size + 1);
		if (text && fread(text, 1, (size_t)size, f) != (size_t)size)
			text[0] = '\0';
		fclose(f);
	}
	CHECK(text && strstr(text, "hunter2") == NULL);
	CHECK(text && strstr(text, "hunter3") == NULL);
	CHECK(text && strstr(text, "tok-abc") == NULL);
	CHECK(text && strchr(text, '\n') == text + strlen(text) - 1);
	free(text);
	cJSON_Delete(figs);
}

TEST(failed_run_appends_error_and_keeps_earlier_lines)
{
	char *argv[] = {"opsctl", "backup", NULL};
	ops_journal_entry run = {0};
	ops_error err;
	char path[4200];
	cJSON *line;
	int n;

	snprintf(path, sizeof path, "%s/j2.jsonl", tmp);
	run.command = "backup";
	run.argc = 2;
	run.argv = argv;
	run.status = OPS_OK;
	CHECK_INT(ops_journal_append(path, &run, &err), OPS_OK);
	run.status = OPS_EUNAVAIL;
	run.exit_status = 69;
	run.error = "cannot connect to 'postgresql://u:pw@h/db': connection refused";
	CHECK_INT(ops_journal_append(path, &run, &err), OPS_OK);
	line = last_line(path, &n);
	CHECK(line != NULL);
	CHECK_INT(n, 2);
	CHECK_STR(str(line, "status"), "failed");
	CHECK_INT(num(line, "exit"), 69);
	CHECK_STR(str(line, "error"),
		  "cannot connect to 'postgresql://u:***@h/db': connection refused");
	/* No environment given: null, and figures always an object. */
	CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(line, "environment")));
	CHECK(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(line, "figures")));
	cJSON_Delete(line);
}

TEST(concurrent_appends_never_interleave)
{
	char *argv[] = {"opsctl", "x", NULL};
	char path[4200], big[3000];
	pid_t pids[4];
	int i, j, n, status;
	cJSON *line;
	ops_error err;

	snprintf(path, sizeof path, "%s/j3.jsonl", tmp);
	memset(big, 'z', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	for (i = 0; i < 4; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			ops_journal_entry run = {0};

			argv[1] = big;	/* long lines make interleaving visible */
			run.command = "x";
			run.argc = 2;
			run.argv = argv;
			for (j = 0; j < 50; j++)
				if (ops_journal_append(path, &run, &err) != OPS_OK)
					_exit(1);
			_exit(0);
		}
	}
	for (i = 0; i < 4; i++) {
		CHECK(waitpid(pids[i], &status, 0) == pids[i]);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	line = last_line(path, &n);	/* NULL if any line was not valid JSON */
	CHECK(line != NULL);
	CHECK_INT(n, 200);
	cJSON_Delete(line);
}

TEST(append_errors)
{
	ops_journal_entry run = {0};
	ops_error err;
	char path[4200];
	FILE *f;

	run.command = "x";
	snprintf(path, sizeof path, "%s/plain", tmp);
	f = fopen(path, "w");
	if (f)
		fclose(f);
	snprintf(path, sizeof path, "%s/plain/journal.jsonl", tmp);
	CHECK_INT(ops_journal_append(path, &run, &err), OPS_EIO);
	CHECK_CONTAINS(err.message, "Not a directory");
	snprintf(path, sizeof path, "%s", tmp);
	CHECK_INT(ops_journal_append(path, &run, &err), OPS_EIO);
	CHECK_CONTAINS(err.message, "cannot open journal '");
	CHECK_CONTAINS(err.message, "Is a directory");
}

/* status's reader: the last run and the last success per task and target,
 * in first-seen order, past a torn line; a missing journal is no runs. */
TEST(last_runs_per_task_and_target)
{
	char *argv[] = {"opsctl", "x", NULL};
	ops_journal_entry run = {0};
	ops_journal_last *v = NULL;
	size_t n = 9, skipped = 9;
	ops_error err;
	char path[4200];
	FILE *f;

	snprintf(path, sizeof path, "%s/last.jsonl", tmp);
	CHECK_INT(ops_journal_last_runs(path, &v, &n, &skipped, &err), OPS_OK);
	CHECK_INT(n, 0);
	CHECK(v == NULL);
	run.argc = 2;
	run.argv = argv;
	run.command = "backup";
	run.target = "local:/b";
	run.start.tv_sec = 1796000000;	/* 2026-11-30T00:53:20Z */
	run.duration = 2.5;
	CHECK_INT(ops_journal_append(path, &run, &err), OPS_OK);
	run.command = "db maintain";
	run.target = "chatbot_db";
	CHECK_INT(ops_journal_append(path, &run, &err), OPS_OK);
	f = fopen(path, "a");
	CHECK(f != NULL);
	if (f) {
		fputs("{\"time\": \"torn\n[]\n\n", f);
		fclose(f);
	}
	run.command = "backup";
	run.target = "local:/b";
	run.start.tv_sec = 1796086400;	/* a day later, failed */
	run.status = OPS_EUNAVAIL;
	run.exit_status = 69;
	run.error = "cannot connect";
	run.duration = 0.25;
	CHECK_INT(ops_journal_append(path, &run, &err), OPS_OK);
	run.target = NULL;	/* same task, no target: its own row */
	run.status = OPS_OK;
	run.exit_status = 0;
	CHECK_INT(ops_journal_append(path, &run, &err), OPS_OK);

	CHECK_INT(ops_journal_last_runs(path, &v, &n, &skipped, &err), OPS_OK);
	CHECK_INT(n, 3);
	CHECK_INT(skipped, 3);
	if (n == 3) {
		CHECK_STR(v[0].command, "backup");
		CHECK_STR(v[0].target, "local:/b");
		CHECK_STR(v[0].time, "2026-12-01T00:53:20.000Z");
		CHECK_STR(v[0].status, "failed");
		CHECK_INT(v[0].exit_status, 69);
		CHECK_STR(v[0].error, "cannot connect");
		CHECK_STR(v[0].last_success, "2026-11-30T00:53:20.000Z");
		CHECK_INT(v[0].runs, 2);
		CHECK(v[0].duration > 0.24 && v[0].duration < 0.26);
		CHECK_STR(v[1].command, "db maintain");
		CHECK_STR(v[1].status, "ok");
		CHECK(v[1].error == NULL);
		CHECK_STR(v[1].last_success, "2026-11-30T00:53:20.000Z");
		CHECK_STR(v[2].target, "");
		CHECK_STR(v[2].status, "ok");
	}
	ops_journal_last_free(v, n);

	/* A check that ran and warned: its own status, a success all the same
	 * (a journal of its own: last_line stops at the torn line above). */
	snprintf(path, sizeof path, "%s/j4.jsonl", tmp);
	run.command = "db health";
	run.target = "chatbot_db";
	run.start.tv_sec = 1796090000;
	run.status = OPS_EFAIL;
	run.exit_status = 1;
	run.error = "DB HEALTH WARNING - long_queries (warning)";
	run.outcome = "warning";
	CHECK_INT(ops_journal_append(path, &run, &err), OPS_OK);
	{
		int lines;
		cJSON *line = last_line(path, &lines);

		CHECK(line != NULL);
		CHECK_STR(str(line, "status"), "warning");
		CHECK_INT(num(line, "exit"), 1);
		CHECK_STR(str(line, "error"), "DB HEALTH WARNING - long_queries (warning)");
		cJSON_Delete(line);
	}
	CHECK_INT(ops_journal_last_runs(path, &v, &n, &skipped, &err), OPS_OK);
	CHECK_INT(n, 1);
	if (n == 1) {
		CHECK_STR(v[0].command, "db health");
		CHECK_STR(v[0].status, "warning");
		CHECK_STR(v[0].error, "DB HEALTH WARNING - long_queries (warning)");
		CHECK_STR(v[0].last_success, v[0].time);
	}
	ops_journal_last_free(v, n);
}

int main(void)
{
	umask(022);
	tmp = unit_tmpdir();
	if (!tmp)
		return 1;
	RUN(redact_uri_userinfo);
	RUN(redact_conninfo);
	RUN(redact_long_options);
	RUN(redact_separate_values);
	RUN(append_writes_one_json_line);
	RUN(failed_run_appends_error_and_keeps_earlier_lines);
	RUN(concurrent_appends_never_interleave);
	RUN(append_errors);
	RUN(last_runs_per_task_and_target);
	unit_rmrf(tmp);
	free(tmp);
	return unit_done();
}
