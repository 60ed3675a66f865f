/*
 * The Prometheus textfile for node_exporter's textfile collector.  Each run
 * updates its task's entry in a small JSON state file and then regenerates
 * the whole textfile from that state, so the file always holds every task's
 * series, grouped by family as the exposition format requires, whichever
 * task ran last.  Both files are replaced atomically under an flock on
 * STATE + ".lock" so two tasks finishing together cannot lose each other's
 * update.  It does not push to a Pushgateway, serve HTTP, or keep history:
 * one value per series, the latest.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "opsmaint/fileio.h"
#include "opsmaint/json.h"
#include "opsmaint/log.h"
#include "opsmaint/metrics.h"

/* A state file this large is not ours; refuse rather than parse it. */
#define STATE_MAX (16 * 1024 * 1024)

static const struct family {
	const char *name;
	const char *member;	/* in the task's state object */
	const char *help;
} families[] = {
	{"opsctl_last_run_timestamp_seconds", "last_run",
	 "Start of the last run of the task, in seconds since the epoch."},
	{"opsctl_last_success_timestamp_seconds", "last_success",
	 "Start of the last successful run of the task, in seconds since the epoch."},
	{"opsctl_last_duration_seconds", "duration",
	 "Duration of the last run of the task, in seconds."},
	{"opsctl_last_exit_status", "exit_status",
	 "Exit status of the last run of the task (0 is success)."},
	{"opsctl_figures_stale", "stale",
	 "1 when the last run of the task failed: its other figures are kept from an earlier "
	 "run, not measured now."},
};
#define FAMILY_COUNT (sizeof families / sizeof families[0])

/* The figures tasks report, each with its own HELP (figures.def). */
static const struct figure {
	const char *name;
	const char *help;
} figures[] = {
#define FIGURE(n, h) {(n), (h)},
#include "run/figures.def"
#undef FIGURE
};
#define FIGURE_COUNT (sizeof figures / sizeof figures[0])

/* A figure's HELP; a name figures.def does not know yet gets a generic one,
 * which keeps the file valid for Prometheus. */
static const char *figure_help(const char *name)
{
	size_t i;

	for (i = 0; i < FIGURE_COUNT; i++)
		if (strcmp(figures[i].name, name) == 0)
			return figures[i].help;
	return "Figure reported by the last run of an opsctl task.";
}

/* A growable string; oom is sticky so callers check once at the end. */
struct sbuf {
	char *buf;
	size_t len, cap;
	int oom;
};

static void sb_printf(struct sbuf *sb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void sb_printf(struct sbuf *sb, const char *fmt, ...)
{
	va_list ap;
	size_t need, ncap;
	char *nbuf;
	int n;

	if (sb->oom)
		return;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		sb->oom = 1;
		return;
	}
	need = sb->len + (size_t)n + 1;
	if (need > sb->cap) {
		ncap = sb->cap ? sb->cap : 1024;
		while (ncap < need)
			ncap *= 2;
		nbuf = realloc(sb->buf, ncap);
		if (!nbuf) {
			sb->oom = 1;
			return;
		}
		sb->buf = nbuf;
		sb->cap = ncap;
	}
	va_start(ap, fmt);
	vsnprintf(sb->buf + sb->len, sb->cap - sb->len, fmt, ap);
	va_end(ap);
	sb->len += (size_t)n;
}

static int label_ok(const char *s)
{
	const char *p;

	if (!s || !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
		return 0;
	for (p = s + 1; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_'))
			return 0;
	return 1;
}

/*
 * The header allows the full metric-name grammar, but promtool's lint rejects
 * ':' (reserved for recording rules), and a textfile that fails the lint is
 * one node_exporter users get warned about; so colons are refused too.
 */
static int metric_name_ok(const char *s)
{
	return label_ok(s);
}

static int is_fixed_family(const char *name)
{
	size_t i;

	for (i = 0; i < FAMILY_COUNT; i++)
		if (strcmp(families[i].name, name) == 0)
			return 1;
	return 0;
}

/* Shortest text that reads back as the same double; Prometheus spellings
 * for the special values. */
static void format_value(double v, char *buf, size_t size)
{
	if (isnan(v)) {
		snprintf(buf, size, "NaN");
		return;
	}
	if (isinf(v)) {
		snprintf(buf, size, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	snprintf(buf, size, "%.15g", v);
	if (strtod(buf, NULL) != v)
		snprintf(buf, size, "%.17g", v);
}

/* Label values escape backslash, double quote and newline. */
static void sb_label_value(struct sbuf *sb, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			sb_printf(sb, "\\\\");
		else if (*s == '"')
			sb_printf(sb, "\\\"");
		else if (*s == '\n')
			sb_printf(sb, "\\n");
		else
			sb_printf(sb, "%c", *s);
	}
}

/* An entry's task: its "task" member, or (state written before targets
 * existed) its key. */
static const char *entry_task(const cJSON *entry)
{
	const char *t = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(entry, "task"));

	return t ? t : entry->string;
}

/* One sample; label and value add a third label (a labelled gauge's), or are NULL. */
static void sb_sample(struct sbuf *sb, const char *name, const cJSON *entry, const char *label,
		      const char *value, double v)
{
	const char *target = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(entry, "target"));
	char num[64];

	format_value(v, num, sizeof num);
	sb_printf(sb, "%s{task=\"", name);
	sb_label_value(sb, entry_task(entry));
	if (target && *target) {
		sb_printf(sb, "\",target=\"");
		sb_label_value(sb, target);
	}
	if (label) {
		sb_printf(sb, "\",%s=\"", label);
		sb_label_value(sb, value);
	}
	sb_printf(sb, "\"} %s\n", num);
}

/*
 * A labelled gauge, {"LABEL": {"VALUE": number, ...}}: one series per
 * value, for figures counted per item of a run (a retention rule, a
 * credential).  Its one member's name is the label; NULL when g is not one.
 */
static const cJSON *labelled(const cJSON *g)
{
	const cJSON *values = g && cJSON_IsObject(g) ? g->child : NULL;

	if (!values || values->next || !cJSON_IsObject(values) || !label_ok(values->string) ||
	    strcmp(values->string, "task") == 0 || strcmp(values->string, "target") == 0 ||
	    strncmp(values->string, "__", 2) == 0)
		return NULL;
	return values;
}

static void sb_gauge(struct sbuf *sb, const char *name, const cJSON *entry, const cJSON *g)
{
	const cJSON *values = labelled(g), *v;

	if (cJSON_IsNumber(g)) {
		sb_sample(sb, name, entry, NULL, NULL, g->valuedouble);
		return;
	}
	cJSON_ArrayForEach(v, values)
		if (cJSON_IsNumber(v) && v->string)
			sb_sample(sb, name, entry, values->string, v->string, v->valuedouble);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static double millis(double seconds)
{
	return round(seconds * 1000.0) / 1000.0;
}

static void set_number(cJSON *obj, const char *key, double v, int *oom)
{
	cJSON *n = cJSON_CreateNumber(v);

	if (!n) {
		*oom = 1;
		return;
	}
	if (cJSON_GetObjectItemCaseSensitive(obj, key))
		cJSON_ReplaceItemInObjectCaseSensitive(obj, key, n);
	else if (!cJSON_AddItemToObject(obj, key, n)) {
		cJSON_Delete(n);
		*oom = 1;
	}
}

/* Sorted, de-duplicated gauge names across all tasks; NULL-terminated. */
static const char **gauge_names(const cJSON *const *tasks, size_t ntasks,
				size_t *count)
{
	const char **names = NULL, **nn;
	const cJSON *g;
	size_t n = 0, cap = 0, i, j;

	for (i = 0; i < ntasks; i++) {
		cJSON_ArrayForEach(g, cJSON_GetObjectItemCaseSensitive(tasks[i], "gauges")) {
			if ((!cJSON_IsNumber(g) && !labelled(g)) || !metric_name_ok(g->string) ||
			    is_fixed_family(g->string))
				continue;
			for (j = 0; j < n && strcmp(names[j], g->string) != 0; j++)
				;
			if (j < n)
				continue;
			if (n + 1 >= cap) {
				cap = cap ? cap * 2 : 16;
				nn = realloc(names, cap * sizeof *names);
				if (!nn) {
					free(names);
					return NULL;
				}
				names = nn;
			}
			names[n++] = g->string;
		}
	}
	if (!names) {
		names = calloc(1, sizeof *names);
		if (!names)
			return NULL;
	}
	qsort(names, n, sizeof *names, cmp_str);
	names[n] = NULL;
	*count = n;
	return names;
}

static int cmp_task(const void *a, const void *b)
{
	return strcmp((*(const cJSON *const *)a)->string,
		      (*(const cJSON *const *)b)->string);
}

/* The whole textfile from the state; NULL on OOM. */
static char *render(const cJSON *state)
{
	const cJSON *tasks = cJSON_GetObjectItemCaseSensitive(state, "tasks");
	const cJSON **list = NULL;
	const cJSON *t, *v;
	const char **gnames = NULL;
	struct sbuf sb = {0};
	size_t n = 0, i, f, ng = 0;
	int header;

	list = calloc((size_t)cJSON_GetArraySize(tasks) + 1, sizeof *list);
	if (!list)
		return NULL;
	/* Which opsctl wrote the file: an upgrade shows on the dashboard. */
	sb_printf(&sb, "# HELP opsctl_build_info The opsctl that wrote this file.\n"
		  "# TYPE opsctl_build_info gauge\nopsctl_build_info{version=\"%s\"} 1\n",
		  OPS_VERSION);
	cJSON_ArrayForEach(t, tasks)
		if (cJSON_IsObject(t) && label_ok(entry_task(t)))
			list[n++] = t;
	qsort(list, n, sizeof *list, cmp_task);

	for (f = 0; f < FAMILY_COUNT; f++) {
		header = 0;
		for (i = 0; i < n; i++) {
			v = cJSON_GetObjectItemCaseSensitive(list[i], families[f].member);
			if (!cJSON_IsNumber(v))
				continue;	/* never succeeded: no series at all */
			if (!header) {
				sb_printf(&sb, "# HELP %s %s\n# TYPE %s gauge\n",
					  families[f].name, families[f].help,
					  families[f].name);
				header = 1;
			}
			sb_sample(&sb, families[f].name, list[i], NULL, NULL, v->valuedouble);
		}
	}
	gnames = gauge_names(list, n, &ng);
	if (!gnames)
		sb.oom = 1;
	for (f = 0; gnames && f < ng; f++) {
		sb_printf(&sb, "# HELP %s %s\n# TYPE %s gauge\n", gnames[f],
			  figure_help(gnames[f]), gnames[f]);
		for (i = 0; i < n; i++) {
			v = cJSON_GetObjectItemCaseSensitive(
				cJSON_GetObjectItemCaseSensitive(list[i], "gauges"), gnames[f]);
			sb_gauge(&sb, gnames[f], list[i], v);
		}
	}
	if (!sb.buf && !sb.oom) {
		sb.buf = strdup("");
		sb.oom = !sb.buf;
	}
	free(gnames);
	free(list);
	if (sb.oom) {
		free(sb.buf);
		return NULL;
	}
	return sb.buf;
}

/* A labelled gauge's numbers only, under its label. */
static cJSON *clean_labelled(const cJSON *values)
{
	cJSON *out = cJSON_CreateObject(), *in = out ? cJSON_AddObjectToObject(out, values->string)
						    : NULL;
	const cJSON *v;

	if (!in) {
		cJSON_Delete(out);
		return NULL;
	}
	cJSON_ArrayForEach(v, values)
		if (cJSON_IsNumber(v) && v->string && !cJSON_AddNumberToObject(in, v->string,
									      v->valuedouble)) {
			cJSON_Delete(out);
			return NULL;
		}
	return out;
}

/* The task's new gauges: valid names, and numbers or labelled numbers only. */
static cJSON *clean_gauges(const cJSON *given, const char *task)
{
	cJSON *out = cJSON_CreateObject(), *n;
	const cJSON *g;

	if (!out)
		return NULL;
	cJSON_ArrayForEach(g, given) {
		if ((!cJSON_IsNumber(g) && !labelled(g)) || !metric_name_ok(g->string) ||
		    is_fixed_family(g->string)) {
			ops_log_warn("metrics: gauge '%s' of task '%s' skipped: not a number nor "
				     "{\"LABEL\": {\"VALUE\": number}}, or not a name of letters, "
				     "digits and '_'", g->string ? g->string : "", task);
			continue;
		}
		n = cJSON_IsNumber(g) ? cJSON_CreateNumber(g->valuedouble) : clean_labelled(labelled(g));
		if (!n || !cJSON_AddItemToObject(out, g->string, n)) {
			cJSON_Delete(n);
			cJSON_Delete(out);
			return NULL;
		}
	}
	return out;
}

/* The state as an object with a "tasks" object; starts afresh when absent
 * or unreadable as JSON (it only caches what the next runs rewrite). */
static ops_code load_state(const char *path, cJSON **out, ops_error *err)
{
	char *text = NULL;
	cJSON *state = NULL, *tasks;
	ops_code rc;

	*out = NULL;
	/* Under the lock nobody else creates it, so this check does not race. */
	if (access(path, F_OK) == 0 || errno != ENOENT) {
		rc = ops_read_file(path, STATE_MAX, &text, NULL, err);
		if (rc != OPS_OK)
			return rc;
	}
	if (text) {
		state = cJSON_Parse(text);
		if (!cJSON_IsObject(state)) {
			ops_log_warn("metrics state '%s' is not a JSON object; starting afresh",
				     path);
			cJSON_Delete(state);
			state = NULL;
		}
	}
	free(text);
	if (!state)
		state = cJSON_CreateObject();
	if (!state)
		return ops_error_oom(err);
	tasks = cJSON_GetObjectItemCaseSensitive(state, "tasks");
	if (!cJSON_IsObject(tasks)) {
		cJSON_DeleteItemFromObjectCaseSensitive(state, "tasks");
		if (!cJSON_AddObjectToObject(state, "tasks")) {
			cJSON_Delete(state);
			return ops_error_oom(err);
		}
	}
	*out = state;
	return OPS_OK;
}

/* Atomic replace; newline adds the final "\n" cJSON_Print leaves off. */
static ops_code write_text(const char *path, const char *text, int newline,
			   ops_error *err)
{
	ops_afile *af = NULL;
	ops_code rc;

	rc = ops_afile_open(path, 0644, &af, err);
	if (rc != OPS_OK)
		return rc;
	rc = ops_afile_write(af, text, strlen(text), err);
	if (rc == OPS_OK && newline)
		rc = ops_afile_write(af, "\n", 1, err);
	if (rc != OPS_OK) {
		ops_afile_abort(af);
		return rc;
	}
	return ops_afile_commit(af, err);
}

ops_code ops_metrics_record(const char *state_path, const char *prom_path,
			    const ops_task_result *result, ops_error *err)
{
	cJSON *state = NULL, *tasks, *entry, *gauges;
	const char *target = result->target ? result->target : "";
	char *label = NULL, *key = NULL, *lockpath = NULL, *sdir = NULL, *pdir = NULL;
	char *json = NULL, *prom = NULL, *p;
	ops_code rc = OPS_OK;
	int lockfd = -1, r, oom = 0;

	label = strdup(result->task ? result->task : "");
	if (!label) {
		rc = ops_error_oom(err);
		goto out;
	}
	for (p = label; *p; p++)
		if (*p == ' ' || *p == '-')
			*p = '_';
	if (!label_ok(label)) {
		rc = ops_error_set(err, OPS_EUSAGE,
				   "bad task name '%s': use letters, digits, '_', ' ' and '-'",
				   result->task ? result->task : "");
		goto out;
	}
	/* One entry per task and target: "db_maintain" or "db_maintain@chatbot_db". */
	if (asprintf(&key, "%s%s%s", label, *target ? "@" : "", target) < 0) {
		key = NULL;
		rc = ops_error_oom(err);
		goto out;
	}
	sdir = ops_path_dir(state_path);
	pdir = ops_path_dir(prom_path);
	if (!sdir || !pdir || asprintf(&lockpath, "%s.lock", state_path) < 0) {
		lockpath = NULL;
		rc = ops_error_oom(err);
		goto out;
	}
	if ((rc = ops_mkdir_p(sdir, 0755, err)) != OPS_OK ||
	    (rc = ops_mkdir_p(pdir, 0755, err)) != OPS_OK)
		goto out;
	lockfd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (lockfd < 0) {
		rc = ops_error_errno(err, errno, "cannot open lock file", lockpath);
		goto out;
	}
	/* Waiting is fine: the holder only rewrites two small files. */
	do
		r = flock(lockfd, LOCK_EX);
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		rc = ops_error_errno(err, errno, "cannot lock", lockpath);
		goto out;
	}

	rc = load_state(state_path, &state, err);
	if (rc != OPS_OK)
		goto out;
	tasks = cJSON_GetObjectItemCaseSensitive(state, "tasks");
	entry = cJSON_GetObjectItemCaseSensitive(tasks, key);
	if (!cJSON_IsObject(entry)) {
		cJSON_DeleteItemFromObjectCaseSensitive(tasks, key);
		entry = cJSON_AddObjectToObject(tasks, key);
		if (!entry || !cJSON_AddStringToObject(entry, "task", label) ||
		    (*target && !cJSON_AddStringToObject(entry, "target", target))) {
			rc = ops_error_oom(err);
			goto out;
		}
	}
	/* Milliseconds, as the journal has them: cJSON writes the state with 15
	 * significant digits, so a finer time would read back as another
	 * number, and an untouched series would change on the next run. */
	set_number(entry, "last_run", millis(result->start), &oom);
	if (result->success)
		set_number(entry, "last_success", millis(result->start), &oom);
	set_number(entry, "duration", millis(result->duration), &oom);
	set_number(entry, "exit_status", result->exit_status, &oom);
	set_number(entry, "stale", result->success ? 0 : 1, &oom);
	gauges = clean_gauges(result->gauges, label);
	if (!gauges) {
		oom = 1;
	} else if (!result->success) {
		/* A failed run updates what it measured and keeps the rest: the
		 * figures of the last success (a backup's size and time) must
		 * not vanish exactly when an alert needs them. */
		cJSON *old = cJSON_GetObjectItemCaseSensitive(entry, "gauges"), *g;

		if (!cJSON_IsObject(old)) {
			cJSON_DeleteItemFromObjectCaseSensitive(entry, "gauges");
			old = cJSON_AddObjectToObject(entry, "gauges");
		}
		while (old && (g = gauges->child)) {
			cJSON_DetachItemViaPointer(gauges, g);
			cJSON_DeleteItemFromObjectCaseSensitive(old, g->string);
			cJSON_AddItemToObject(old, g->string, g);
		}
		oom = !old;
		cJSON_Delete(gauges);
	} else {
		cJSON_DeleteItemFromObjectCaseSensitive(entry, "gauges");
		if (!cJSON_AddItemToObject(entry, "gauges", gauges)) {
			cJSON_Delete(gauges);
			oom = 1;
		}
	}
	/* Label values must be UTF-8 for Prometheus, as the state for cJSON. */
	if (!oom && ops_json_utf8(state) < 0)
		oom = 1;
	json = oom ? NULL : cJSON_Print(state);
	prom = oom ? NULL : render(state);
	if (!json || !prom) {
		rc = ops_error_oom(err);
		goto out;
	}
	rc = write_text(state_path, json, 1, err);
	if (rc != OPS_OK)
		goto out;
	rc = write_text(prom_path, prom, 0, err);
out:
	if (lockfd >= 0)
		close(lockfd);	/* drops the flock */
	cJSON_Delete(state);
	free(json);
	free(prom);
	free(label);
	free(key);
	free(lockpath);
	free(sdir);
	free(pdir);
	return rc;
}
