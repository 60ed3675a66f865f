/*
 * The table-driven option parser and --help printer.  It knows nothing of
 * databases or any other command: it reads struct cli_opt rows, checks values
 * against their declared type, range and allowed list, and explains mistakes
 * in one line with a "did you mean" where a near miss exists.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cli.h"
#include "opsmaint/suggest.h"

static const struct cli_opt help_opt =
	CLI_OPT_FLAG('h', "help", "show this help message and exit");

size_t cli_opt_count(const struct cli_opt *opts)
{
	size_t n = 0;

	while (opts && opts[n].name)
		n++;
	return n;
}

static const char *opt_display(const struct cli_opt *o, char *buf, size_t len)
{
	snprintf(buf, len, "--%s", o->name);
	return buf;
}

static ops_code suggest_option(const struct cli_opt *opts, const struct cli_opt *fallback,
			       const char *given, ops_error *err)
{
	const char *names[128];
	size_t n = 0, i;
	const char *best;

	for (i = 0; opts && opts[i].name && n < 126; i++)
		names[n++] = opts[i].name;
	for (i = 0; fallback && fallback[i].name && n < 126; i++)
		names[n++] = fallback[i].name;
	names[n++] = "help";
	names[n] = NULL;
	best = ops_suggest(given, names);
	if (best)
		return ops_error_set(err, OPS_EUSAGE,
				     "unknown option '--%s' (did you mean '--%s'?)",
				     given, best);
	return ops_error_set(err, OPS_EUSAGE, "unknown option '--%s'", given);
}

/* Check one element against an allowed list. */
static ops_code check_allowed(const struct cli_opt *o, const char *value,
			      ops_error *err)
{
	char **allowed = ops_split_list(o->allowed);
	const char *best;
	char shown[512] = "", optname[80];
	size_t i, used = 0;
	ops_code rc = OPS_OK;

	if (!allowed)
		return ops_error_oom(err);
	for (i = 0; allowed[i]; i++)
		if (strcmp(allowed[i], value) == 0)
			goto out;
	for (i = 0; allowed[i]; i++) {
		int w = snprintf(shown + used, sizeof shown - used, "%s%s",
				 i == 0 ? "" : (allowed[i + 1] ? ", " : " or "),
				 allowed[i]);
		if (w < 0 || (size_t)w >= sizeof shown - used)
			break;
		used += (size_t)w;
	}
	best = ops_suggest(value, (const char *const *)allowed);
	opt_display(o, optname, sizeof optname);
	if (best)
		rc = ops_error_set(err, OPS_EUSAGE,
				   "unknown value '%s' for %s; expected %s (did you mean '%s'?)",
				   value, optname, shown, best);
	else
		rc = ops_error_set(err, OPS_EUSAGE,
				   "unknown value '%s' for %s; expected %s",
				   value, optname, shown);
out:
	ops_strv_free(allowed);
	return rc;
}

static char **strv_append(char **v, const char *s)
{
	size_t n = ops_strv_len(v);
	char **nv = realloc(v, (n + 2) * sizeof *nv);

	if (!nv)
		return NULL;
	nv[n] = strdup(s);
	if (!nv[n]) {
		nv[n] = NULL;
		return NULL;
	}
	nv[n + 1] = NULL;
	return nv;
}

static ops_code set_value(const struct cli_opt *o, struct cli_val *v,
			  const char *value, ops_error *err)
{
	char optname[80];
	ops_code rc;
	char **parts;
	size_t i;

	opt_display(o, optname, sizeof optname);
	switch (o->type) {
	case CLI_FLAG:
		v->num++;
		break;
	case CLI_STRING:
		if (!*value)
			return ops_error_set(err, OPS_EUSAGE, "%s needs a non-empty value", optname);
		v->str = value;
		break;
	case CLI_INT:
		rc = ops_parse_long(value, o->min, o->max, &v->num, err);
		if (rc != OPS_OK) {
			ops_error_prefix(err, "bad value for %s", optname);
			return err->code = OPS_EUSAGE;
		}
		v->str = value;
		break;
	case CLI_DURATION:
		rc = ops_parse_duration(value, &v->num, err);
		if (rc != OPS_OK) {
			ops_error_prefix(err, "bad value for %s", optname);
			return err->code = OPS_EUSAGE;
		}
		v->str = value;
		break;
	case CLI_ENUM:
		if ((rc = check_allowed(o, value, err)) != OPS_OK)
			return rc;
		v->str = value;
		break;
	case CLI_ENUMLIST:
	case CLI_LIST:
		parts = ops_split_list(value);
		if (!parts)
			return ops_error_oom(err);
		if (!parts[0]) {
			ops_strv_free(parts);
			return ops_error_set(err, OPS_EUSAGE, "%s needs a non-empty value", optname);
		}
		for (i = 0; parts[i]; i++) {
			char **nl;

			if (o->type == CLI_ENUMLIST &&
			    (rc = check_allowed(o, parts[i], err)) != OPS_OK) {
				ops_strv_free(parts);
				return rc;
			}
			nl = strv_append(v->list, parts[i]);
			if (!nl) {
				ops_strv_free(parts);
				return ops_error_oom(err);
			}
			v->list = nl;
		}
		ops_strv_free(parts);
		v->str = value;
		break;
	}
	v->set = 1;
	return OPS_OK;
}

/* The row for a long name in opts, else in fallback (with its values). */
static const struct cli_opt *find_long(const struct cli_opt *opts, struct cli_val *vals,
				       const struct cli_opt *fallback, struct cli_val *fvals,
				       const char *name, size_t nlen, struct cli_val **val)
{
	size_t k;

	for (k = 0; opts && opts[k].name; k++)
		if (strlen(opts[k].name) == nlen && strncmp(opts[k].name, name, nlen) == 0) {
			*val = &vals[k];
			return &opts[k];
		}
	for (k = 0; fallback && fallback[k].name; k++)
		if (strlen(fallback[k].name) == nlen && strncmp(fallback[k].name, name, nlen) == 0) {
			*val = &fvals[k];
			return &fallback[k];
		}
	return NULL;
}

/* The command's own short option wins over a global one of the same letter
 * (backup create's -v is --verify, as backup-database.sh has it). */
static const struct cli_opt *find_short(const struct cli_opt *opts, struct cli_val *vals,
					const struct cli_opt *fallback, struct cli_val *fvals,
					char c, struct cli_val **val)
{
	size_t k;

	for (k = 0; opts && opts[k].name; k++)
		if (opts[k].short_name == c) {
			*val = &vals[k];
			return &opts[k];
		}
	for (k = 0; fallback && fallback[k].name; k++)
		if (fallback[k].short_name == c) {
			*val = &fvals[k];
			return &fallback[k];
		}
	return NULL;
}

ops_code cli_parse(const struct cli_opt *opts, struct cli_val *vals,
		   const struct cli_opt *fallback, struct cli_val *fvals,
		   int argc, char **argv, int start,
		   char ***args, int *nargs, int *help, ops_error *err)
{
	int i, only_args = 0;
	char **pos = NULL;
	int npos = 0;

	*help = 0;
	for (i = start; i < argc; i++) {
		char *a = argv[i];

		if (only_args || a[0] != '-' || a[1] == '\0') {
			char **np = realloc(pos, (size_t)(npos + 2) * sizeof *np);

			if (!np) {
				free(pos);
				return ops_error_oom(err);
			}
			pos = np;
			pos[npos++] = a;
			pos[npos] = NULL;
			continue;
		}
		if (strcmp(a, "--") == 0) {
			only_args = 1;
			continue;
		}
		if (a[1] == '-') {
			const char *name = a + 2, *eq = strchr(name, '=');
			size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
			struct cli_val *v = NULL;
			const struct cli_opt *o = find_long(opts, vals, fallback, fvals, name, nlen, &v);

			if (!o && nlen == 4 && strncmp(name, "help", 4) == 0) {
				*help = 1;
				continue;
			}
			if (!o) {
				char given[64];

				snprintf(given, sizeof given, "%.*s", (int)(nlen < 60 ? nlen : 60), name);
				free(pos);
				return suggest_option(opts, fallback, given, err);
			}
			if (o->type == CLI_FLAG) {
				if (eq) {
					free(pos);
					return ops_error_set(err, OPS_EUSAGE,
							     "option '--%s' takes no value", o->name);
				}
				v->num++;
				v->set = 1;
				continue;
			}
			if (!eq && i + 1 >= argc) {
				free(pos);
				return ops_error_set(err, OPS_EUSAGE,
						     "option '--%s' needs a value (%s)",
						     o->name, o->metavar);
			}
			if (set_value(o, v, eq ? eq + 1 : argv[++i], err) != OPS_OK) {
				free(pos);
				return err->code;
			}
			continue;
		}
		/* A bundle of short options: -vf, -tvacuum, -t vacuum. */
		for (const char *p = a + 1; *p; p++) {
			struct cli_val *v = NULL;
			const struct cli_opt *o = find_short(opts, vals, fallback, fvals, *p, &v);

			if (!o && *p == 'h') {
				*help = 1;
				continue;
			}
			if (!o) {
				free(pos);
				return ops_error_set(err, OPS_EUSAGE, "unknown option '-%c'", *p);
			}
			if (o->type == CLI_FLAG) {
				v->num++;
				v->set = 1;
				continue;
			}
			if (p[1]) {
				if (set_value(o, v, p + 1, err) != OPS_OK) {
					free(pos);
					return err->code;
				}
			} else if (i + 1 < argc) {
				if (set_value(o, v, argv[++i], err) != OPS_OK) {
					free(pos);
					return err->code;
				}
			} else {
				free(pos);
				return ops_error_set(err, OPS_EUSAGE,
						     "option '-%c' needs a value (%s)",
						     *p, o->metavar);
			}
			break;
		}
	}
	*args = pos;
	*nargs = npos;
	return OPS_OK;
}

void cli_vals_free(const struct cli_opt *opts, struct cli_val *vals)
{
	size_t i, n = cli_opt_count(opts);

	if (!vals)
		return;
	for (i = 0; i < n; i++)
		ops_strv_free(vals[i].list);
	free(vals);
}

static const struct cli_opt *row(const struct cli_inv *inv, const char *name, size_t *idx)
{
	const struct cli_opt *opts = inv->cmd->opts;
	size_t i;

	for (i = 0; opts && opts[i].name; i++)
		if (strcmp(opts[i].name, name) == 0) {
			*idx = i;
			return &opts[i];
		}
	fprintf(stderr, "opsctl: internal error: command '%s' has no option '%s'\n",
		inv->name, name);
	abort();
}

/* Not given on the command line: the row's key from the configuration, else
 * the row's default; NULL when neither. */
static const char *fallback_text(const struct cli_inv *inv, const struct cli_opt *o)
{
	const char *v;

	if (o->key && inv->cfg && (v = ops_config_get(inv->cfg, o->key)) && *v)
		return v;
	return o->def;
}

const struct cli_val *cli_get(const struct cli_inv *inv, const char *name)
{
	size_t i;

	row(inv, name, &i);
	return &inv->vals[i];
}

int cli_given(const struct cli_inv *inv, const char *name)
{
	return cli_get(inv, name)->set;
}

int cli_flag(const struct cli_inv *inv, const char *name)
{
	return cli_get(inv, name)->num > 0;
}

const char *cli_str(const struct cli_inv *inv, const char *name)
{
	size_t i;
	const struct cli_opt *o = row(inv, name, &i);

	return inv->vals[i].set ? inv->vals[i].str : fallback_text(inv, o);
}

long cli_num(const struct cli_inv *inv, const char *name)
{
	size_t i;
	const struct cli_opt *o = row(inv, name, &i);
	const char *text;
	long v = 0;

	if (inv->vals[i].set)
		return inv->vals[i].num;
	text = fallback_text(inv, o);
	if (!text)
		return 0;
	/* Values from the table and the validated configuration parse. */
	if (o->type == CLI_DURATION) {
		if (o->key && inv->cfg && text != o->def)
			return ops_config_int(inv->cfg, o->key);
		return ops_parse_duration(text, &v, NULL) == OPS_OK ? v : 0;
	}
	return ops_parse_long(text, o->min, o->max, &v, NULL) == OPS_OK ? v : 0;
}

char **cli_list(const struct cli_inv *inv, const char *name)
{
	size_t i;
	const struct cli_opt *o = row(inv, name, &i);
	struct cli_val *v = &inv->vals[i];
	const char *text;

	if (v->set || v->list)
		return v->list;
	/* Split once and keep it with the values, which own it from now on. */
	text = fallback_text(inv, o);
	if (text)
		v->list = ops_split_list(text);
	return v->list;
}

const struct cli_val *cli_global(const struct cli_val *gvals, const char *name)
{
	size_t i;

	for (i = 0; cli_global_opts[i].name; i++)
		if (strcmp(cli_global_opts[i].name, name) == 0)
			return &gvals[i];
	fprintf(stderr, "opsctl: internal error: no global option '%s'\n", name);
	abort();
}

int cli_has_opt(const struct cli_inv *inv, const char *name)
{
	const struct cli_opt *o;

	for (o = inv->cmd->opts; o && o->name; o++)
		if (strcmp(o->name, name) == 0)
			return 1;
	return 0;
}

/* "-t, --tasks TASKS" */
static void opt_label(const struct cli_opt *o, char *buf, size_t len)
{
	if (o->short_name)
		snprintf(buf, len, "-%c, --%s%s%s", o->short_name, o->name,
			 o->metavar ? " " : "", o->metavar ? o->metavar : "");
	else
		snprintf(buf, len, "    --%s%s%s", o->name,
			 o->metavar ? " " : "", o->metavar ? o->metavar : "");
}

/* The width help is wrapped to: $COLUMNS when set (as argparse and less
 * read it), else the terminal's, else 80 when not a terminal. */
static int help_width(FILE *fp)
{
	const char *cols = getenv("COLUMNS");
	struct winsize ws;
	long n;

	if (cols && ops_parse_long(cols, 40, 1000, &n, NULL) == OPS_OK)
		return (int)n;
	if (isatty(fileno(fp)) && ioctl(fileno(fp), TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40)
		return ws.ws_col;
	return 80;
}

/* text at column indent, wrapped at word boundaries to width; the first line
 * continues wherever the caller left the cursor (column col). */
static void wrap(FILE *fp, const char *text, int col, int indent, int width)
{
	const char *p = text;
	int first = 1;

	while (*p) {
		size_t w = strcspn(p, " ");

		if (!first && col + 1 + (int)w > width) {
			fprintf(fp, "\n%*s", indent, "");
			col = indent;
		} else if (!first) {
			fputc(' ', fp);
			col++;
		}
		first = 0;
		fprintf(fp, "%.*s", (int)w, p);
		col += (int)w;
		p += w;
		while (*p == ' ')
			p++;
	}
	fputc('\n', fp);
}

/* A command at column 4, too long a one continued with " \\" as a shell
 * reads it, so that it can still be copied whole. */
static void help_command(FILE *fp, const char *cmd, size_t len, int width)
{
	int indent = 4;

	while (len > 0) {
		size_t room = width > indent + 2 ? (size_t)(width - indent - 2) : 1, cut = len;

		if ((int)len + indent > width) {
			for (cut = room; cut > 0 && cmd[cut] != ' '; cut--)
				;
			if (cut == 0)	/* one long word: let it run over */
				cut = strcspn(cmd, " ") < len ? strcspn(cmd, " ") : len;
		}
		fprintf(fp, "%*s%.*s%s\n", indent, "", (int)cut, cmd, cut < len ? " \\" : "");
		while (cut < len && cmd[cut] == ' ')
			cut++;
		cmd += cut;
		len -= cut;
		indent = 8;
	}
}

/* The row's examples ("comment\ncommand" pairs) under "examples:". */
static void help_examples(FILE *fp, const char *examples, int width)
{
	const char *p = examples;

	if (!p)
		return;
	fprintf(fp, "\nexamples:\n");
	while (*p) {
		const char *nl = strchr(p, '\n'), *cmd, *end;
		char text[512];

		if (!nl)
			break;
		cmd = nl + 1;
		end = strchrnul(cmd, '\n');
		snprintf(text, sizeof text, "%.*s:", (int)(nl - p), p);
		fprintf(fp, "  ");
		wrap(fp, text, 2, 2, width);
		help_command(fp, cmd, (size_t)(end - cmd), width);
		p = *end ? end + 1 : end;
	}
}

static void help_opt_line(FILE *fp, const struct cli_opt *o, int width)
{
	const char *def = o->def;
	char label[96], text[1024];
	int n, col;

	opt_label(o, label, sizeof label);
	n = snprintf(text, sizeof text, "%s", o->help);
	/* The default once, from the row (or the key's own, from the key
	 * table); the key that supplies it named apart. */
	if (!def && o->key && ops_config_key(o->key))
		def = ops_config_key(o->key)->def;
	if (def && !*def)
		def = NULL;
	/* The values from the row that the parser checks, as completion offers
	 * them: a value added to the row is in --help too. */
	if (n > 0 && (size_t)n < sizeof text && o->allowed &&
	    (o->type == CLI_ENUM || o->type == CLI_ENUMLIST))
		n += snprintf(text + n, sizeof text - (size_t)n, ": %s%s",
			      o->type == CLI_ENUMLIST ? "a comma list of " : "one of ", o->allowed);
	if (n > 0 && (size_t)n < sizeof text && (def || o->key))
		snprintf(text + n, sizeof text - (size_t)n, " (%s%s%s%s%s)",
			 def ? "default: " : "", def ? def : "",
			 def && o->key ? "; " : "", o->key ? "config: " : "",
			 o->key ? o->key : "");
	col = fprintf(fp, "    %-26s ", label);
	if (col > 31) {	/* a long label gets its own line */
		fprintf(fp, "\n%31s", "");
		col = 31;
	}
	wrap(fp, text, col, 31, width);
}

static void help_opts(FILE *fp, const struct cli_opt *opts)
{
	int width = help_width(fp);
	size_t i;

	for (i = 0; opts && opts[i].name; i++)
		help_opt_line(fp, &opts[i], width);
	help_opt_line(fp, &help_opt, width);
}

void cli_help(FILE *fp, const char *path, const struct cli_cmd *cmd)
{
	size_t i;

	if (cmd->subs) {
		int width = help_width(fp);

		fprintf(fp, "usage: %s <command> [<options>]\n\n", path);
		wrap(fp, cmd->summary, 0, 0, width);
		fprintf(fp, "\ncommands:\n");
		for (i = 0; cmd->subs[i].name; i++)
			if (!(cmd->subs[i].flags & CLI_HIDDEN)) {
				fprintf(fp, "    %-16s ", cmd->subs[i].name);
				wrap(fp, cmd->subs[i].summary, 21, 21, width);
			}
		if (cmd->opts && cmd->opts[0].name) {
			fprintf(fp, "\noptions:\n");
			help_opts(fp, cmd->opts);
		}
		fprintf(fp, "\nRun '%s <command> --help' for a command's options.\n", path);
		return;
	}
	/* The synopsis wrapped like git's: continuation lines under the first
	 * option, each [-x ARG] kept whole. */
	{
		int width = help_width(fp), indent, col;
		char item[128];

		col = indent = fprintf(fp, "usage: %s", path);
		if (indent > width / 2)
			indent = 8;
		for (i = 0; cmd->opts && cmd->opts[i].name; i++) {
			const struct cli_opt *o = &cmd->opts[i];
			int n;

			if (o->short_name)
				n = snprintf(item, sizeof item, "[-%c%s%s]", o->short_name,
					     o->metavar ? " " : "", o->metavar ? o->metavar : "");
			else
				n = snprintf(item, sizeof item, "[--%s%s%s]", o->name,
					     o->metavar ? " " : "", o->metavar ? o->metavar : "");
			if (col + 1 + n > width) {
				fprintf(fp, "\n%*s", indent, "");
				col = indent;
			}
			col += fprintf(fp, " %s", item);
		}
		if (cmd->args) {
			if (col + 1 + (int)strlen(cmd->args) > width)
				fprintf(fp, "\n%*s", indent, "");
			fprintf(fp, " %s", cmd->args);
		}
	}
	fprintf(fp, "\n\n");
	wrap(fp, cmd->summary, 0, 0, help_width(fp));
	fprintf(fp, "\noptions:\n");
	help_opts(fp, cmd->opts);
	help_examples(fp, cmd->examples, help_width(fp));
	fputc('\n', fp);
	wrap(fp, "The global options (--config, --env, -o/--output, -q/--quiet, -v/--verbose) "
	     "are accepted here too; see 'opsctl --help'.", 0, 0, help_width(fp));
}
