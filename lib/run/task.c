/*
 * The begin/finish pair around a run that changes something.  It only
 * composes lock.c, journal.c and metrics.c; it does no I/O of its own beyond
 * building paths, so each of those stays testable alone.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "opsmaint/fileio.h"
#include "opsmaint/journal.h"
#include "opsmaint/lock.h"
#include "opsmaint/log.h"
#include "opsmaint/metrics.h"
#include "opsmaint/task.h"

struct ops_task {
	char *name;		/* "db maintain" */
	char *label;		/* "db_maintain" */
	char *target;		/* "" for none */
	char *state_dir;
	char *metrics_file;
	char *environment;
	ops_lock **locks;	/* one per target, or the task's own */
	size_t nlocks;
	struct timespec start;
	struct timespec mono;
	const char *outcome;	/* ops_task_set_outcome's, a static string */
};

static void task_free(ops_task *t)
{
	if (!t)
		return;
	while (t->nlocks > 0)
		ops_lock_release(t->locks[--t->nlocks]);
	free(t->locks);
	free(t->name);
	free(t->label);
	free(t->target);
	free(t->state_dir);
	free(t->metrics_file);
	free(t->environment);
	free(t);
}

/* "vector index" -> "vector_index": the form of lock files and metric labels. */
static void underscore(char *s)
{
	for (; *s; s++)
		if (*s == ' ' || *s == '-')
			*s = '_';
}

/* Per target: five cron lines for five databases run side by side, and only
 * two runs on the same database exclude each other. */
static ops_code take_locks(ops_task *t, const char *lock, const ops_task_spec *spec,
			   ops_error *err)
{
	char *const one[] = {(char *)(spec->target ? spec->target : ""), NULL};
	char *const *v = spec->targets ? spec->targets : one;
	size_t n = 0, i;
	ops_code rc = OPS_OK;

	while (v[n])
		n++;
	t->locks = calloc(n ? n : 1, sizeof *t->locks);
	if (!t->locks)
		return ops_error_oom(err);
	for (i = 0; i < n && rc == OPS_OK; i++) {
		size_t j;

		/* -d a,a: a second flock of our own file would report us. */
		for (j = 0; j < i && strcmp(v[j], v[i]) != 0; j++)
			;
		if (j < i)
			continue;
		rc = ops_lock_acquire_target(t->state_dir, lock, v[i], &t->locks[t->nlocks], err);
		if (rc == OPS_OK)
			t->nlocks++;
	}
	if (n == 0 && (rc = ops_lock_acquire(t->state_dir, lock, &t->locks[0], err)) == OPS_OK)
		t->nlocks = 1;
	return rc;
}

ops_code ops_task_begin(const ops_config *cfg, const ops_task_spec *spec, ops_task **out,
			ops_error *err)
{
	const char *state = ops_config_get(cfg, "general.state_dir");
	const char *prom = ops_config_get(cfg, "general.metrics_file");
	const char *env = ops_config_get(cfg, "general.environment");
	ops_task *t = calloc(1, sizeof *t);
	ops_code rc;
	char *lock;

	*out = NULL;
	if (!t)
		return ops_error_oom(err);
	t->name = strdup(spec->name);
	t->label = strdup(spec->name);
	t->target = strdup(spec->target ? spec->target : "");
	t->state_dir = strdup(state ? state : "/var/lib/opsctl");
	t->metrics_file = prom && *prom ? strdup(prom)
					: ops_path_join(t->state_dir, "opsctl.prom");
	t->environment = strdup(env ? env : "");
	lock = strdup(spec->lock ? spec->lock : spec->name);
	if (!t->name || !t->label || !t->target || !t->state_dir || !t->metrics_file ||
	    !t->environment || !lock) {
		free(lock);
		task_free(t);
		return ops_error_oom(err);
	}
	underscore(t->label);
	underscore(lock);
	rc = spec->no_lock ? OPS_OK : take_locks(t, lock, spec, err);
	free(lock);
	if (rc != OPS_OK) {
		task_free(t);
		return rc;
	}
	clock_gettime(CLOCK_REALTIME, &t->start);
	clock_gettime(CLOCK_MONOTONIC, &t->mono);
	*out = t;
	return OPS_OK;
}

/* n added to into[name], created at 0 when absent; -1 when out of memory. */
static int add_number(cJSON *into, const char *name, double n)
{
	cJSON *sum = cJSON_GetObjectItemCaseSensitive(into, name);

	if (cJSON_IsNumber(sum)) {
		cJSON_SetNumberValue(sum, sum->valuedouble + n);
		return 0;
	}
	if (sum)
		return 0;	/* another shape under that name: not the same figure */
	return cJSON_AddNumberToObject(into, name, n) ? 0 : -1;
}

/* A labelled figure, {"LABEL": {"VALUE": n}}, added value by value. */
static int add_labelled(cJSON *into, const char *name, const cJSON *values)
{
	cJSON *to = cJSON_GetObjectItemCaseSensitive(into, name), *tv;
	const cJSON *v;

	if (!to && !(to = cJSON_AddObjectToObject(into, name)))
		return -1;
	tv = cJSON_IsObject(to) ? cJSON_GetObjectItemCaseSensitive(to, values->string) : NULL;
	if (cJSON_IsObject(to) && !tv && !(tv = cJSON_AddObjectToObject(to, values->string)))
		return -1;
	if (!cJSON_IsObject(tv))
		return 0;	/* another shape under that name: not the same figure */
	cJSON_ArrayForEach(v, values)
		if (cJSON_IsNumber(v) && v->string && add_number(tv, v->string, v->valuedouble) != 0)
			return -1;
	return 0;
}

int ops_task_figures_add(cJSON *into, const cJSON *figures)
{
	const cJSON *f, *values;

	cJSON_ArrayForEach(f, figures) {
		if (!f->string)
			continue;
		if (cJSON_IsNumber(f)) {
			if (add_number(into, f->string, f->valuedouble) != 0)
				return -1;
			continue;
		}
		values = cJSON_IsObject(f) ? f->child : NULL;
		if (values && !values->next && cJSON_IsObject(values) && values->string &&
		    add_labelled(into, f->string, values) != 0)
			return -1;
	}
	return 0;
}

ops_code ops_task_finish(ops_task *t, int argc, char *const *argv,
			 ops_code status, int exit_status, const char *error,
			 const cJSON *figures, ops_error *err)
{
	struct timespec now;
	ops_journal_entry run = {0};
	ops_task_result res = {0};
	cJSON *gauges = NULL;
	const cJSON *it;
	char *journal = NULL, *state = NULL;
	ops_code rc = OPS_OK, rc2;
	ops_error err2;

	if (!t)
		return OPS_OK;
	clock_gettime(CLOCK_MONOTONIC, &now);
	run.command = t->name;
	run.target = t->target;
	run.argc = argc;
	run.argv = argv;
	run.environment = t->environment;
	run.start = t->start;
	run.duration = (double)(now.tv_sec - t->mono.tv_sec) +
		       (double)(now.tv_nsec - t->mono.tv_nsec) / 1e9;
	run.status = status;
	run.exit_status = exit_status;
	run.error = error;
	run.outcome = status != OPS_OK ? t->outcome : NULL;
	run.figures = figures;

	journal = ops_path_join(t->state_dir, "journal.jsonl");
	state = ops_path_join(t->state_dir, "metrics.json");
	gauges = cJSON_CreateObject();
	if (!journal || !state || !gauges) {
		rc = ops_error_oom(err);
		goto out;
	}
	rc = ops_journal_append(journal, &run, err);

	cJSON_ArrayForEach(it, figures) {
		if (!it->string || strncmp(it->string, "opsctl_", 7) != 0)
			continue;
		if (cJSON_IsNumber(it)) {
			cJSON_AddNumberToObject(gauges, it->string, it->valuedouble);
		} else if (cJSON_IsObject(it)) {
			/* A labelled gauge; ops_metrics_record checks its shape. */
			cJSON *copy = cJSON_Duplicate(it, 1);

			if (!copy || !cJSON_AddItemToObject(gauges, it->string, copy))
				cJSON_Delete(copy);
		}
	}
	res.task = t->label;
	res.target = t->target;
	res.start = (double)t->start.tv_sec + (double)t->start.tv_nsec / 1e9;
	res.duration = run.duration;
	res.success = status == OPS_OK || run.outcome;
	res.exit_status = exit_status;
	res.gauges = gauges;
	rc2 = ops_metrics_record(state, t->metrics_file, &res, rc == OPS_OK ? err : &err2);
	if (rc == OPS_OK)
		rc = rc2;
	else if (rc2 != OPS_OK)
		ops_log_warn("%s", err2.message);
out:
	cJSON_Delete(gauges);
	free(journal);
	free(state);
	task_free(t);
	return rc;
}

void ops_task_set_outcome(ops_task *t, const char *outcome)
{
	if (t)
		t->outcome = outcome;
}

void ops_task_abandon(ops_task *t)
{
	task_free(t);
}
