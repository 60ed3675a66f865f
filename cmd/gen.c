/*
 * Generators: bash, zsh and fish completion scripts and the man pages, all
 * from the command and option tables (and, for opsctl.conf(5), the key table
 * in lib/core/config_keys.def).  Nothing here is hand-kept beside the tables, so
 * adding an option to a table is enough for every shell and page to know it.
 * Completion never scrapes --help; values known only at run time come from
 * `opsctl __complete KIND`.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "opsmaint/error.h"
#include "opsmaint/fileio.h"

/* The date printed in every page header: the release date of OPS_VERSION,
 * fixed so that regenerating the pages changes nothing unless text did. */
#define MAN_DATE "2026-11-24"

/* ---- walking the command tree ---- */

typedef void (*visit_fn)(void *arg, const char *path, const struct cli_cmd *cmd);

static void walk(const struct cli_cmd *cmd, const char *path, visit_fn fn, void *arg)
{
	size_t i;
	char sub[160];

	fn(arg, path, cmd);
	for (i = 0; cmd->subs && cmd->subs[i].name; i++) {
		if (cmd->subs[i].flags & CLI_HIDDEN)
			continue;
		snprintf(sub, sizeof sub, "%s%s%s", path, *path ? " " : "", cmd->subs[i].name);
		walk(&cmd->subs[i], sub, fn, arg);
	}
}

/*
 * The completers' name for what a value is: "values" (one of the allowed),
 * "list" (a comma list of them), "file", "dir", "database" (names and *.db
 * files), "backup" (ids and latest), "table" or "tables" (a comma list of
 * them); NULL for free text.
 */
static const char *kind_name(enum cli_complete c, enum cli_type t)
{
	switch (c) {
	case CLI_C_VALUES:
		return t == CLI_ENUMLIST ? "list" : "values";
	case CLI_C_FILE:
		return "file";
	case CLI_C_DIR:
		return "dir";
	case CLI_C_DATABASE:
		return "database";
	case CLI_C_BACKUP:
		return "backup";
	case CLI_C_TABLE:
		return t == CLI_LIST ? "tables" : "table";
	default:
		return NULL;
	}
}

/* A positional argument completed at run time (or from files): its kind. */
static const char *args_kind(const struct cli_cmd *cmd)
{
	switch (cmd->args_complete) {
	case CLI_C_FILE:
	case CLI_C_DIR:
	case CLI_C_DATABASE:
	case CLI_C_BACKUP:
	case CLI_C_TABLE:
		return kind_name(cmd->args_complete, CLI_STRING);
	default:
		return NULL;
	}
}

/*
 * The command a group runs when an option comes first (`opsctl backup
 * --type full` is `backup create`), or NULL: the group's options are its
 * default command's, and the completers move on to that command at the first
 * option, as the parser does.
 */
static const struct cli_cmd *default_sub(const struct cli_cmd *cmd)
{
	size_t i;

	for (i = 0; cmd->default_sub && cmd->subs && cmd->subs[i].name; i++)
		if (strcmp(cmd->subs[i].name, cmd->default_sub) == 0)
			return &cmd->subs[i];
	return NULL;
}

static void allowed_words(const char *allowed, char *buf, size_t len);

/* Space-separated values for a command's positional arguments. */
static void args_values(const struct cli_cmd *cmd, char *buf, size_t len)
{
	size_t i, used = 0;

	buf[0] = '\0';
	if (cmd->args_complete == CLI_C_SHELLS) {
		snprintf(buf, len, "bash zsh fish");
	} else if (cmd->args_complete == CLI_C_VALUES) {
		allowed_words(cmd->args_allowed, buf, len);
	} else if (cmd->args_complete == CLI_C_COMMANDS) {
		for (i = 0; cli_root.subs[i].name; i++) {
			int w;

			if (cli_root.subs[i].flags & CLI_HIDDEN)
				continue;
			w = snprintf(buf + used, len - used, "%s%s", used ? " " : "",
				     cli_root.subs[i].name);
			if (w < 0 || (size_t)w >= len - used)
				break;
			used += (size_t)w;
		}
	}
}

/* Allowed values as a space-separated list. */
static void allowed_words(const char *allowed, char *buf, size_t len)
{
	size_t i;

	snprintf(buf, len, "%s", allowed ? allowed : "");
	for (i = 0; buf[i]; i++)
		if (buf[i] == ',')
			buf[i] = ' ';
}

/* ---- bash ---- */

static void bash_quote(FILE *fp, const char *s)
{
	fputc('\'', fp);
	for (; *s; s++) {
		if (*s == '\'')
			fputs("'\\''", fp);
		else
			fputc(*s, fp);
	}
	fputc('\'', fp);
}

/*
 * The options completion offers at a command: its own, and at a leaf also
 * the global ones the parser accepts after it (a global option whose name
 * or letter the command uses itself is the command's there).
 */
static const struct cli_opt *completion_opts(const struct cli_cmd *cmd)
{
	static struct cli_opt merged[96];
	const struct cli_opt *o, *g;
	size_t n = 0;

	if (cmd->subs || cmd == &cli_root)
		return cmd->opts;
	for (o = cmd->opts; o && o->name && n < 80; o++)
		merged[n++] = *o;
	for (g = cli_global_opts; g->name && n < 94; g++) {
		int clash = strcmp(g->name, "version") == 0;

		for (o = cmd->opts; o && o->name && !clash; o++)
			if (strcmp(o->name, g->name) == 0)
				clash = 1;
		merged[n] = *g;
		for (o = cmd->opts; o && o->name && !clash; o++)
			if (g->short_name && o->short_name == g->short_name)
				merged[n].short_name = 0;
		if (!clash)
			n++;
	}
	merged[n].name = NULL;
	return merged;
}

static void bash_visit(void *arg, const char *path, const struct cli_cmd *cmd)
{
	FILE *fp = arg;
	const struct cli_opt *o;
	size_t i;
	char words[1024];

	if (cmd->subs) {
		fputs("_opsctl_subs[", fp);
		bash_quote(fp, path);
		fputs("]=", fp);
		words[0] = '\0';
		for (i = 0; cmd->subs[i].name; i++) {
			if (cmd->subs[i].flags & CLI_HIDDEN)
				continue;
			strncat(words, cmd->subs[i].name, sizeof words - strlen(words) - 2);
			strcat(words, " ");
		}
		bash_quote(fp, words);
		fputc('\n', fp);
	}
	if (default_sub(cmd)) {
		fputs("_opsctl_default[", fp);
		bash_quote(fp, path);
		fputs("]=", fp);
		bash_quote(fp, default_sub(cmd)->name);
		fputc('\n', fp);
	}
	/* Options: the root has the global ones; every command has -h/--help;
	 * a group with a default command offers that command's. */
	fputs("_opsctl_opts[", fp);
	bash_quote(fp, path);
	fputs("]=", fp);
	words[0] = '\0';
	for (o = completion_opts(default_sub(cmd) ? default_sub(cmd) : cmd); o && o->name; o++) {
		char one[80];

		if (o->short_name)
			snprintf(one, sizeof one, "-%c --%s ", o->short_name, o->name);
		else
			snprintf(one, sizeof one, "--%s ", o->name);
		strncat(words, one, sizeof words - strlen(words) - 1);
	}
	strncat(words, "-h --help", sizeof words - strlen(words) - 1);
	bash_quote(fp, words);
	fputc('\n', fp);

	words[0] = '\0';
	for (o = completion_opts(cmd); o && o->name; o++) {
		char one[80];
		const char *kind;

		if (o->type == CLI_FLAG)
			continue;
		if (o->short_name)
			snprintf(one, sizeof one, "-%c --%s ", o->short_name, o->name);
		else
			snprintf(one, sizeof one, "--%s ", o->name);
		strncat(words, one, sizeof words - strlen(words) - 1);
		kind = kind_name(o->complete, o->type);
		for (i = 0; i < 2; i++) {
			char key[200], vals[512];

			if (i == 0 && !o->short_name)
				continue;
			if (i == 0)
				snprintf(key, sizeof key, "%s|-%c", path, o->short_name);
			else
				snprintf(key, sizeof key, "%s|--%s", path, o->name);
			fputs("_opsctl_kind[", fp);
			bash_quote(fp, key);
			fputs("]=", fp);
			bash_quote(fp, kind ? kind : "none");
			fputc('\n', fp);
			if (o->allowed) {
				allowed_words(o->allowed, vals, sizeof vals);
				fputs("_opsctl_vals[", fp);
				bash_quote(fp, key);
				fputs("]=", fp);
				bash_quote(fp, vals);
				fputc('\n', fp);
			}
		}
	}
	fputs("_opsctl_argopts[", fp);
	bash_quote(fp, path);
	fputs("]=", fp);
	bash_quote(fp, words);
	fputc('\n', fp);
	args_values(cmd, words, sizeof words);
	if (words[0]) {
		fputs("_opsctl_args[", fp);
		bash_quote(fp, path);
		fputs("]=", fp);
		bash_quote(fp, words);
		fputc('\n', fp);
	}
	if (args_kind(cmd)) {
		fputs("_opsctl_argkind[", fp);
		bash_quote(fp, path);
		fputs("]=", fp);
		bash_quote(fp, args_kind(cmd));
		fputc('\n', fp);
	}
}

static const char bash_body[] =
	"_opsctl_run() {\n"
	"    \"${_opsctl_cmd:-opsctl}\" \"${_opsctl_cfg[@]}\" \"$@\" 2>/dev/null\n"
	"}\n"
	"\n"
	"# A comma list: $1 the values, $2 the word; never a value the list already\n"
	"# has, nor all after another value (or anything after all).\n"
	"_opsctl_list() {\n"
	"    local cur=$2 pre= v\n"
	"    local -a out=()\n"
	"    [[ $cur == *,* ]] && pre=${cur%,*},\n"
	"    [[ ,$pre == *,all,* ]] && return\n"
	"    for v in $1; do\n"
	"        [[ -n $pre && ( $v == all || ,$pre == *,$v,* ) ]] && continue\n"
	"        out+=(\"$v\")\n"
	"    done\n"
	"    COMPREPLY=($(compgen -P \"$pre\" -W \"${out[*]}\" -- \"${cur##*,}\"))\n"
	"    compopt -o nospace 2>/dev/null\n"
	"}\n"
	"\n"
	"# Database names, and the *.db files and directories -d takes as well\n"
	"# (after sqlite: too).\n"
	"_opsctl_database() {\n"
	"    local word=$1 cur=$1 pre= f\n"
	"    local IFS=$'\\n'\n"
	"    COMPREPLY=($(compgen -W \"$(_opsctl_run __complete databases)\" -- \"$cur\"))\n"
	"    if [[ $cur == sqlite:* ]]; then\n"
	"        pre=sqlite: cur=${cur#sqlite:}\n"
	"        compopt -o nospace 2>/dev/null\n"
	"        for f in $(compgen -d -- \"$cur\"); do COMPREPLY+=(\"$pre$f/\"); done\n"
	"        for f in $(compgen -f -X '!*.db' -- \"$cur\"); do [[ -d $f ]] || COMPREPLY+=(\"$pre$f \"); done\n"
	"    else\n"
	"        compopt -o filenames 2>/dev/null\n"
	"        COMPREPLY+=($(compgen -d -- \"$cur\") $(compgen -f -X '!*.db' -- \"$cur\"))\n"
	"    fi\n"
	"    # bash splits sqlite:PATH and URIs at ':'; bash-completion puts them back.\n"
	"    [[ $word == *:* ]] && declare -F __ltrim_colon_completions >/dev/null &&\n"
	"        __ltrim_colon_completions \"$word\"\n"
	"}\n"
	"\n"
	"_opsctl_value() {\n"
	"    local key=$1 cur=$2 kind=${_opsctl_kind[$1]:-$1}\n"
	"    case $kind in\n"
	"    values) COMPREPLY=($(compgen -W \"${_opsctl_vals[$key]}\" -- \"$cur\")) ;;\n"
	"    list) _opsctl_list \"${_opsctl_vals[$key]}\" \"$cur\" ;;\n"
	"    file) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- \"$cur\")) ;;\n"
	"    dir) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -d -- \"$cur\")) ;;\n"
	"    database) _opsctl_database \"$cur\" ;;\n"
	"    backup) COMPREPLY=($(compgen -W \"latest $(_opsctl_run __complete backups)\" -- \"$cur\")) ;;\n"
	"    table) COMPREPLY=($(compgen -W \"$(_opsctl_run __complete tables)\" -- \"$cur\")) ;;\n"
	"    tables) _opsctl_list \"$(_opsctl_run __complete tables)\" \"$cur\" ;;\n"
	"    *) COMPREPLY=() ;;\n"
	"    esac\n"
	"}\n"
	"\n"
	"_opsctl() {\n"
	"    local cur prev words cword\n"
	"    if declare -F _init_completion >/dev/null; then\n"
	"        _init_completion -n =: || return\n"
	"    else\n"
	"        words=(\"${COMP_WORDS[@]}\"); cword=$COMP_CWORD\n"
	"        cur=${COMP_WORDS[COMP_CWORD]}; prev=${COMP_WORDS[COMP_CWORD-1]}\n"
	"    fi\n"
	"    local _opsctl_cmd=${words[0]}\n"
	"    local -a _opsctl_cfg=()\n"
	"    local cmdpath=opsctl w i skip=0 opt=\n"
	"    for ((i = 1; i < cword; i++)); do\n"
	"        w=${words[i]}\n"
	"        if ((skip)); then\n"
	"            skip=0\n"
	"            case $opt in\n"
	"            --config) _opsctl_cfg=(--config \"$w\") ;;\n"
	"            esac\n"
	"            continue\n"
	"        fi\n"
	"        case $w in\n"
	"        -*) [[ -n ${_opsctl_default[$cmdpath]+set} ]] && cmdpath=\"$cmdpath ${_opsctl_default[$cmdpath]}\" ;;\n"
	"        esac\n"
	"        case $w in\n"
	"        --config=*) _opsctl_cfg=(--config \"${w#*=}\"); continue ;;\n"
	"        --*=*) continue ;;\n"
	"        -*) [[ \" ${_opsctl_argopts[$cmdpath]} \" == *\" $w \"* ]] && skip=1 opt=$w; continue ;;\n"
	"        esac\n"
	"        if [[ -n ${_opsctl_subs[$cmdpath]+set} && \" ${_opsctl_subs[$cmdpath]} \" == *\" $w \"* ]]; then\n"
	"            cmdpath=\"$cmdpath $w\"\n"
	"        fi\n"
	"    done\n"
	"    if ((skip)); then\n"
	"        _opsctl_value \"$cmdpath|$prev\" \"$cur\"\n"
	"        return\n"
	"    fi\n"
	"    if [[ $cur == -* && -n ${_opsctl_default[$cmdpath]+set} && $cur == *=* ]]; then\n"
	"        cmdpath=\"$cmdpath ${_opsctl_default[$cmdpath]}\"\n"
	"    fi\n"
	"    if [[ $cur == --*=* ]]; then\n"
	"        local opt=${cur%%=*}\n"
	"        _opsctl_value \"$cmdpath|$opt\" \"${cur#*=}\"\n"
	"        return\n"
	"    fi\n"
	"    if [[ $cur == -* ]]; then\n"
	"        COMPREPLY=($(compgen -W \"${_opsctl_opts[$cmdpath]}\" -- \"$cur\"))\n"
	"    elif [[ -n ${_opsctl_subs[$cmdpath]+set} ]]; then\n"
	"        COMPREPLY=($(compgen -W \"${_opsctl_subs[$cmdpath]}\" -- \"$cur\"))\n"
	"    elif [[ -n ${_opsctl_args[$cmdpath]+set} ]]; then\n"
	"        COMPREPLY=($(compgen -W \"${_opsctl_args[$cmdpath]}\" -- \"$cur\"))\n"
	"    elif [[ -n ${_opsctl_argkind[$cmdpath]+set} ]]; then\n"
	"        # A positional's kind stands for its own key in _opsctl_value.\n"
	"        _opsctl_value \"${_opsctl_argkind[$cmdpath]}\" \"$cur\"\n"
	"    fi\n"
	"}\n"
	"complete -F _opsctl opsctl\n";

static int gen_bash(FILE *fp)
{
	fputs("# bash completion for opsctl\n"
	      "# Generated by `opsctl completion bash` from the option tables; do not edit.\n\n"
	      "declare -gA _opsctl_subs=() _opsctl_opts=() _opsctl_argopts=() _opsctl_kind=() "
	      "_opsctl_vals=() _opsctl_args=() _opsctl_argkind=() _opsctl_default=()\n", fp);
	walk(&cli_root, "opsctl", bash_visit, fp);
	fputc('\n', fp);
	fputs(bash_body, fp);
	return 0;
}

/* ---- zsh ---- */

static void zsh_quote(FILE *fp, const char *s)
{
	bash_quote(fp, s);	/* zsh's single quotes work the same way */
}

/* "name:description" with the colons of name escaped, as _describe wants. */
static void zsh_desc_line(char *buf, size_t len, const char *name, const char *desc)
{
	size_t used = 0;

	for (; *name && used + 3 < len; name++) {
		if (*name == ':')
			buf[used++] = '\\';
		buf[used++] = *name;
	}
	snprintf(buf + used, len - used, ":%s\n", desc);
}

/*
 * name+=( KEY VALUE ): zsh keeps quotes that appear inside an associative
 * array's [subscript], so keys with spaces are added as quoted pairs instead.
 */
static void zsh_assign(FILE *fp, const char *array, const char *key, const char *value)
{
	fprintf(fp, "_opsctl_%s+=(", array);
	zsh_quote(fp, key);
	fputc(' ', fp);
	zsh_quote(fp, value);
	fputs(")\n", fp);
}

static void zsh_visit(void *arg, const char *path, const struct cli_cmd *cmd)
{
	FILE *fp = arg;
	const struct cli_opt *o;
	size_t i;
	char lines[8192], one[600], words[1024];

	if (cmd->subs) {
		lines[0] = '\0';
		words[0] = '\0';
		for (i = 0; cmd->subs[i].name; i++) {
			if (cmd->subs[i].flags & CLI_HIDDEN)
				continue;
			zsh_desc_line(one, sizeof one, cmd->subs[i].name, cmd->subs[i].summary);
			strncat(lines, one, sizeof lines - strlen(lines) - 1);
			strncat(words, cmd->subs[i].name, sizeof words - strlen(words) - 2);
			strcat(words, " ");
		}
		zsh_assign(fp, "subs", path, words);
		zsh_assign(fp, "subdesc", path, lines);
	}
	if (default_sub(cmd))
		zsh_assign(fp, "default", path, default_sub(cmd)->name);
	lines[0] = '\0';
	words[0] = '\0';
	for (o = completion_opts(default_sub(cmd) ? default_sub(cmd) : cmd); o && o->name; o++) {
		char name[64];

		snprintf(name, sizeof name, "--%s", o->name);
		zsh_desc_line(one, sizeof one, name, o->help);
		strncat(lines, one, sizeof lines - strlen(lines) - 1);
		if (o->short_name) {
			snprintf(name, sizeof name, "-%c", o->short_name);
			zsh_desc_line(one, sizeof one, name, o->help);
			strncat(lines, one, sizeof lines - strlen(lines) - 1);
		}
		if (o->type != CLI_FLAG) {
			const char *kind = kind_name(o->complete, o->type);
			char key[200], vals[512];

			if (o->short_name) {
				snprintf(one, sizeof one, "-%c ", o->short_name);
				strncat(words, one, sizeof words - strlen(words) - 1);
			}
			snprintf(one, sizeof one, "--%s ", o->name);
			strncat(words, one, sizeof words - strlen(words) - 1);
			for (i = 0; i < 2; i++) {
				if (i == 0 && !o->short_name)
					continue;
				if (i == 0)
					snprintf(key, sizeof key, "%s|-%c", path, o->short_name);
				else
					snprintf(key, sizeof key, "%s|--%s", path, o->name);
				zsh_assign(fp, "kind", key, kind ? kind : "none");
				if (o->allowed) {
					allowed_words(o->allowed, vals, sizeof vals);
					zsh_assign(fp, "vals", key, vals);
				}
			}
		}
	}
	zsh_desc_line(one, sizeof one, "--help", "show this help message and exit");
	strncat(lines, one, sizeof lines - strlen(lines) - 1);
	zsh_assign(fp, "optdesc", path, lines);
	zsh_assign(fp, "argopts", path, words);
	args_values(cmd, words, sizeof words);
	if (words[0])
		zsh_assign(fp, "args", path, words);
	if (args_kind(cmd))
		zsh_assign(fp, "argkind", path, args_kind(cmd));
}

static const char zsh_body[] =
	"_opsctl_run() {\n"
	"    ${words[1]} $_opsctl_cfg \"$@\" 2>/dev/null\n"
	"}\n"
	"\n"
	"# A comma list of $@: never a value the list already has, nor all after\n"
	"# another value (or anything after all).\n"
	"_opsctl_list() {\n"
	"    local -a vals seen\n"
	"    vals=($@)\n"
	"    compset -P '*,'\n"
	"    seen=(${(s:,:)${IPREFIX##*=}})\n"
	"    if (( $#seen )); then\n"
	"        (( ${seen[(Ie)all]} )) && return\n"
	"        vals=(${vals:#all})\n"
	"        vals=(${vals:|seen})\n"
	"    fi\n"
	"    compadd -S '' -q -- $vals\n"
	"}\n"
	"\n"
	"_opsctl_value() {\n"
	"    local key=$1 kind=${_opsctl_kind[$1]:-$1}\n"
	"    case $kind in\n"
	"    values) compadd -- ${=_opsctl_vals[$key]} ;;\n"
	"    list) _opsctl_list ${=_opsctl_vals[$key]} ;;\n"
	"    file) _files ;;\n"
	"    dir) _files -/ ;;\n"
	"    database)\n"
	"        compadd -- ${(f)\"$(_opsctl_run __complete databases)\"}\n"
	"        # -d takes *.db files as well (after sqlite: too).\n"
	"        compset -P 'sqlite:'\n"
	"        _files -g '*.db(-.)' ;;\n"
	"    backup) compadd -- latest ${(f)\"$(_opsctl_run __complete backups)\"} ;;\n"
	"    table) compadd -- ${(f)\"$(_opsctl_run __complete tables)\"} ;;\n"
	"    tables) _opsctl_list ${(f)\"$(_opsctl_run __complete tables)\"} ;;\n"
	"    esac\n"
	"}\n"
	"\n"
	"_opsctl() {\n"
	"    local cmdpath=opsctl w i skip=0 opt= cur=${words[CURRENT]} prev=${words[CURRENT-1]}\n"
	"    local -a items _opsctl_cfg\n"
	"    for ((i = 2; i < CURRENT; i++)); do\n"
	"        w=${words[i]}\n"
	"        if (( skip )); then\n"
	"            skip=0\n"
	"            case $opt in\n"
	"            --config) _opsctl_cfg=(--config $w) ;;\n"
	"            esac\n"
	"            continue\n"
	"        fi\n"
	"        if [[ $w == -* ]] && (( ${+_opsctl_default[$cmdpath]} )); then\n"
	"            cmdpath=\"$cmdpath ${_opsctl_default[$cmdpath]}\"\n"
	"        fi\n"
	"        case $w in\n"
	"        --config=*) _opsctl_cfg=(--config ${w#*=}); continue ;;\n"
	"        --*=*) continue ;;\n"
	"        -*) [[ \" ${_opsctl_argopts[$cmdpath]} \" == *\" $w \"* ]] && skip=1 opt=$w; continue ;;\n"
	"        esac\n"
	"        if (( ${+_opsctl_subs[$cmdpath]} )) && [[ \" ${_opsctl_subs[$cmdpath]} \" == *\" $w \"* ]]; then\n"
	"            cmdpath=\"$cmdpath $w\"\n"
	"        fi\n"
	"    done\n"
	"    if (( skip )); then _opsctl_value \"$cmdpath|$prev\"; return; fi\n"
	"    if [[ $cur == --*=* ]]; then\n"
	"        (( ${+_opsctl_default[$cmdpath]} )) && cmdpath=\"$cmdpath ${_opsctl_default[$cmdpath]}\"\n"
	"        compset -P '*='\n"
	"        _opsctl_value \"$cmdpath|${cur%%=*}\"\n"
	"        return\n"
	"    fi\n"
	"    if [[ $cur == -* ]]; then\n"
	"        items=(${(f)_opsctl_optdesc[$cmdpath]})\n"
	"        _describe -t options 'option' items\n"
	"    elif (( ${+_opsctl_subs[$cmdpath]} )); then\n"
	"        items=(${(f)_opsctl_subdesc[$cmdpath]})\n"
	"        _describe -t commands 'command' items\n"
	"    elif (( ${+_opsctl_args[$cmdpath]} )); then\n"
	"        compadd -- ${=_opsctl_args[$cmdpath]}\n"
	"    elif (( ${+_opsctl_argkind[$cmdpath]} )); then\n"
	"        # A positional's kind stands for its own key in _opsctl_value.\n"
	"        _opsctl_value ${_opsctl_argkind[$cmdpath]}\n"
	"    fi\n"
	"}\n"
	"\n"
	"if [[ $zsh_eval_context[-1] == loadautofunc ]]; then\n"
	"    _opsctl \"$@\"\n"
	"else\n"
	"    compdef _opsctl opsctl\n"
	"fi\n";

static int gen_zsh(FILE *fp)
{
	fputs("#compdef opsctl\n"
	      "# zsh completion for opsctl\n"
	      "# Generated by `opsctl completion zsh` from the option tables; do not edit.\n\n"
	      "typeset -gA _opsctl_subs _opsctl_subdesc _opsctl_optdesc _opsctl_argopts "
	      "_opsctl_kind _opsctl_vals _opsctl_args _opsctl_argkind _opsctl_default\n", fp);
	walk(&cli_root, "opsctl", zsh_visit, fp);
	fputc('\n', fp);
	fputs(zsh_body, fp);
	return 0;
}

/* ---- fish ---- */

static void fish_quote(FILE *fp, const char *s)
{
	fputc('\'', fp);
	for (; *s; s++) {
		if (*s == '\'' || *s == '\\')
			fputc('\\', fp);
		fputc(*s, fp);
	}
	fputc('\'', fp);
}

/* -a 'text\tFORMAT json\tFORMAT' */
static void fish_values(FILE *fp, const char *vals, const char *metavar)
{
	const char *p = vals;

	fputs(" -x -a '", fp);
	while (*p) {
		size_t n = strcspn(p, " ");

		fprintf(fp, "%s%.*s\\t%s", p == vals ? "" : " ", (int)n, p,
			metavar ? metavar : "value");
		p += n;
		while (*p == ' ')
			p++;
	}
	fputc('\'', fp);
}

struct fish_state {
	FILE *fp;
	/* 0: __opsctl_subs cases, 1: __opsctl_argopts cases, 2: __opsctl_default
	 * cases, 3: complete lines */
	int pass;
};

/* " -x -a '...'" (or " -r -F") for a value of this kind. */
static void fish_kind(FILE *fp, const char *kind, const char *allowed, const char *metavar)
{
	char vals[512];

	allowed_words(allowed, vals, sizeof vals);
	if (!kind) {
		fputs(" -x", fp);
	} else if (strcmp(kind, "values") == 0) {
		/* Each value described by the metavar (FORMAT), not by the
		 * option's sentence, which fish would repeat beside every value. */
		fish_values(fp, vals, metavar);
	} else if (strcmp(kind, "list") == 0) {
		fprintf(fp, " -x -a '(__opsctl_list %s %s)'", metavar ? metavar : "value", vals);
	} else if (strcmp(kind, "file") == 0) {
		fputs(" -r -F", fp);
	} else if (strcmp(kind, "dir") == 0) {
		fputs(" -x -a '(__fish_complete_directories)'", fp);
	} else if (strcmp(kind, "database") == 0) {
		/* Names, and the *.db files (and directories) -d takes too. */
		fputs(" -x -a '(__opsctl_label NAME (__opsctl_run __complete databases)) "
		      "(__opsctl_dbfiles)'", fp);
	} else if (strcmp(kind, "backup") == 0) {
		fputs(" -x -a '(__opsctl_label ID latest (__opsctl_run __complete backups))'", fp);
	} else if (strcmp(kind, "table") == 0) {
		fputs(" -x -a '(__opsctl_label TABLE (__opsctl_run __complete tables))'", fp);
	} else if (strcmp(kind, "tables") == 0) {
		fputs(" -x -a '(__opsctl_list TABLE (__opsctl_run __complete tables))'", fp);
	} else {
		fputs(" -x", fp);
	}
}

/* The complete lines of the options opts, offered at path. */
static void fish_opts(FILE *fp, const char *path, const struct cli_opt *opts)
{
	const struct cli_opt *o;

	for (o = opts; o && o->name; o++) {
		fprintf(fp, "complete -c opsctl -n '__opsctl_at \"%s\"'", path);
		if (o->short_name)
			fprintf(fp, " -s %c", o->short_name);
		fprintf(fp, " -l %s", o->name);
		if (o->type != CLI_FLAG)
			fish_kind(fp, kind_name(o->complete, o->type), o->allowed, o->metavar);
		fputs(" -d ", fp);
		fish_quote(fp, o->help);
		fputc('\n', fp);
	}
}

static void fish_visit(void *arg, const char *path, const struct cli_cmd *cmd)
{
	struct fish_state *st = arg;
	FILE *fp = st->fp;
	const struct cli_opt *o;
	size_t i;

	if (st->pass == 0) {
		if (!cmd->subs)
			return;
		fputs("        case ", fp);
		fish_quote(fp, path);
		fputs("\n            printf '%s\\n'", fp);
		for (i = 0; cmd->subs[i].name; i++)
			if (!(cmd->subs[i].flags & CLI_HIDDEN))
				fprintf(fp, " %s", cmd->subs[i].name);
		fputc('\n', fp);
		return;
	}
	if (st->pass == 1) {
		int any = 0;

		for (o = completion_opts(cmd); o && o->name; o++)
			if (o->type != CLI_FLAG)
				any = 1;
		if (!any)
			return;
		fputs("        case ", fp);
		fish_quote(fp, path);
		fputs("\n            printf '%s\\n'", fp);
		for (o = completion_opts(cmd); o && o->name; o++) {
			if (o->type == CLI_FLAG)
				continue;
			if (o->short_name)
				fprintf(fp, " -%c", o->short_name);
			fprintf(fp, " --%s", o->name);
		}
		fputc('\n', fp);
		return;
	}
	if (st->pass == 2) {
		if (!default_sub(cmd))
			return;
		fputs("        case ", fp);
		fish_quote(fp, path);
		fprintf(fp, "\n            echo %s\n", default_sub(cmd)->name);
		return;
	}
	for (i = 0; cmd->subs && cmd->subs[i].name; i++) {
		if (cmd->subs[i].flags & CLI_HIDDEN)
			continue;
		fputs("complete -c opsctl -n ", fp);
		fprintf(fp, "'__opsctl_at \"%s\"' -a %s -d ", path, cmd->subs[i].name);
		fish_quote(fp, cmd->subs[i].summary);
		fputc('\n', fp);
	}
	fish_opts(fp, path, completion_opts(default_sub(cmd) ? default_sub(cmd) : cmd));
	fprintf(fp, "complete -c opsctl -n '__opsctl_at \"%s\"' -s h -l help -d 'show this help message and exit'\n", path);
	{
		char words[512];

		args_values(cmd, words, sizeof words);
		if (words[0])
			fprintf(fp, "complete -c opsctl -n '__opsctl_at \"%s\"' -a '%s'\n", path, words);
		if (args_kind(cmd)) {
			fprintf(fp, "complete -c opsctl -n '__opsctl_at \"%s\"'", path);
			fish_kind(fp, args_kind(cmd), NULL, cmd->args);
			fputc('\n', fp);
		}
	}
}

static const char fish_body[] =
	"# The value of the last of the options $argv on the line so far.\n"
	"function __opsctl_opt\n"
	"    set -l tokens (commandline -opc)\n"
	"    set -l value\n"
	"    for i in (seq 2 (count $tokens))\n"
	"        for o in $argv\n"
	"            if test \"$tokens[$i]\" = $o; and test $i -lt (count $tokens)\n"
	"                set value $tokens[(math $i + 1)]\n"
	"            else if string match -q -- \"$o=*\" $tokens[$i]\n"
	"                set value (string replace -- \"$o=\" '' $tokens[$i])\n"
	"            end\n"
	"        end\n"
	"    end\n"
	"    test -n \"$value\"; and printf '%s\\n' $value\n"
	"end\n\n"
	"# Each of $argv[2..], described by $argv[1] (not by the option's sentence).\n"
	"function __opsctl_label\n"
	"    for v in $argv[2..]\n"
	"        printf '%s\\t%s\\n' $v $argv[1]\n"
	"    end\n"
	"end\n\n"
	"# The *.db files and directories -d takes besides names (after sqlite: too).\n"
	"function __opsctl_dbfiles\n"
	"    set -l tok (commandline -ct)\n"
	"    set -l pre (string match -r -- '^sqlite:' \"$tok\")\n"
	"    set tok (string replace -r -- '^sqlite:' '' \"$tok\")\n"
	"    for f in $tok*/ $tok*.db\n"
	"        printf '%s%s\\tFILE\\n' \"$pre\" $f\n"
	"    end\n"
	"end\n\n"
	"# opsctl, with the --config of the line, for values known at run time.\n"
	"function __opsctl_run\n"
	"    set -l tokens (commandline -opc)\n"
	"    set -l cfg (__opsctl_opt --config)\n"
	"    test -n \"$cfg\"; and set cfg --config $cfg\n"
	"    $tokens[1] $cfg $argv 2>/dev/null\n"
	"end\n\n"
	"# A comma list: $argv[1] describes the values $argv[2..]; never a value the\n"
	"# list already has, nor all after another value (or anything after all).\n"
	"function __opsctl_list\n"
	"    set -l label $argv[1]\n"
	"    set -e argv[1]\n"
	"    set -l tok (string replace -r -- '^--?[^=]*=' '' (commandline -ct))\n"
	"    set -l pre (string match -r -- '^.*,' \"$tok\")\n"
	"    set -l seen (string split -n , -- \"$pre\")\n"
	"    contains -- all $seen; and return\n"
	"    for v in $argv\n"
	"        if test -n \"$pre\"\n"
	"            test \"$v\" = all; and continue\n"
	"            contains -- $v $seen; and continue\n"
	"        end\n"
	"        printf '%s%s\\t%s\\n' \"$pre\" $v $label\n"
	"    end\n"
	"end\n\n"
	"function __opsctl_path\n"
	"    set -l tokens (commandline -opc)\n"
	"    set -e tokens[1]\n"
	"    set -l cmdpath opsctl\n"
	"    set -l skip 0\n"
	"    for t in $tokens\n"
	"        if test $skip -eq 1\n"
	"            set skip 0\n"
	"            continue\n"
	"        end\n"
	"        switch $t\n"
	"            case '-*'\n"
	"                # An option at a group runs its default command.\n"
	"                set -l def (__opsctl_default \"$cmdpath\")\n"
	"                test -n \"$def\"; and set cmdpath \"$cmdpath $def\"\n"
	"        end\n"
	"        switch $t\n"
	"            case '--*=*'\n"
	"                continue\n"
	"            case '-*'\n"
	"                if contains -- $t (__opsctl_argopts \"$cmdpath\")\n"
	"                    set skip 1\n"
	"                end\n"
	"                continue\n"
	"        end\n"
	"        if contains -- $t (__opsctl_subs \"$cmdpath\")\n"
	"            set cmdpath \"$cmdpath $t\"\n"
	"        end\n"
	"    end\n"
	"    echo $cmdpath\n"
	"end\n\n"
	"function __opsctl_at\n"
	"    set -l p (__opsctl_path)\n"
	"    test \"$p\" = \"$argv[1]\"\n"
	"end\n\n"
	"complete -c opsctl -f\n";

static int gen_fish(FILE *fp)
{
	struct fish_state st = {fp, 0};

	fputs("# fish completion for opsctl\n"
	      "# Generated by `opsctl completion fish` from the option tables; do not edit.\n\n"
	      "function __opsctl_subs\n    switch \"$argv[1]\"\n", fp);
	walk(&cli_root, "opsctl", fish_visit, &st);
	fputs("    end\nend\n\nfunction __opsctl_argopts\n    switch \"$argv[1]\"\n", fp);
	st.pass = 1;
	walk(&cli_root, "opsctl", fish_visit, &st);
	fputs("    end\nend\n\nfunction __opsctl_default\n    switch \"$argv[1]\"\n", fp);
	st.pass = 2;
	walk(&cli_root, "opsctl", fish_visit, &st);
	fputs("    end\nend\n\n", fp);
	fputs(fish_body, fp);
	st.pass = 3;
	walk(&cli_root, "opsctl", fish_visit, &st);
	return 0;
}

int cli_gen_completion(FILE *fp, const char *shell)
{
	if (strcmp(shell, "bash") == 0)
		return gen_bash(fp);
	if (strcmp(shell, "zsh") == 0)
		return gen_zsh(fp);
	return gen_fish(fp);
}

/* ---- man pages ---- */

/* A growing buffer, so a page is compared with the file before writing. */
struct buf {
	char *p;
	size_t len, cap;
	int oom;
};

static void bputs(struct buf *b, const char *s)
{
	size_t n = strlen(s);

	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->cap ? b->cap * 2 : 4096) + n;
		char *p = realloc(b->p, cap);

		if (!p) {
			b->oom = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n + 1);
	b->len += n;
}

static void bprintf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bprintf(struct buf *b, const char *fmt, ...)
{
	char tmp[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	bputs(b, tmp);
}

/* Text to roff: escape backslashes and dashes, protect leading dots and quotes,
 * and start a new line after each sentence, as mandoc -Tlint asks. */
static void roff_text(struct buf *b, const char *s)
{
	int bol = 1, quoted = 0;

	for (; *s; s++) {
		char c[3] = {*s, 0, 0};

		if (bol && (*s == '.' || *s == '\'')) {
			bputs(b, "\\&");
		}
		bol = 0;
		if (*s == '\\') {
			bputs(b, "\\e");
		} else if (*s == '-') {
			bputs(b, "\\-");
		} else if (*s == '`') {
			/* `opsctl backup` is quoted as 'opsctl backup', closing with \(cq. */
			bputs(b, quoted ? "\\(cq" : "\\(oq");
			quoted = !quoted;
		} else if ((*s == '.' || *s == '?' || *s == '!') && s[1] == ' ' &&
			   s[2] && s[2] >= 'A' && s[2] <= 'Z') {
			bputs(b, c);
			bputs(b, "\n");
			s++;
			bol = 1;
		} else if (*s == '\n') {
			bputs(b, "\n");
			bol = 1;
		} else {
			bputs(b, c);
		}
	}
}

static void roff_paragraphs(struct buf *b, const char *text)
{
	const char *p = text;

	while (p && *p) {
		const char *end = strstr(p, "\n\n");
		size_t n = end ? (size_t)(end - p) : strlen(p);
		char *para = strndup(p, n);

		if (!para) {
			b->oom = 1;
			return;
		}
		bputs(b, ".PP\n");
		roff_text(b, para);
		bputs(b, "\n");
		free(para);
		p = end ? end + 2 : NULL;
	}
}

static void roff_synopsis_opts(struct buf *b, const struct cli_opt *opts)
{
	const struct cli_opt *o;

	for (o = opts; o && o->name; o++) {
		if (o->short_name)
			bprintf(b, ".RB [ \\-%c", o->short_name);
		else
			bprintf(b, ".RB [ \\-\\-%s", o->name);
		if (o->metavar)
			bprintf(b, "\n.IR %s ]\n", o->metavar);
		else
			bputs(b, " ]\n");
	}
}

static void roff_options(struct buf *b, const struct cli_opt *opts, int with_help)
{
	const struct cli_opt *o;

	for (o = opts; o && o->name; o++) {
		bputs(b, ".TP\n");
		if (o->short_name && o->metavar)
			bprintf(b, ".BI \"\\-%c, \\-\\-%s \" %s", o->short_name, o->name, o->metavar);
		else if (o->short_name)
			bprintf(b, ".B \"\\-%c, \\-\\-%s\"", o->short_name, o->name);
		else if (o->metavar)
			bprintf(b, ".BI \"\\-\\-%s \" %s", o->name, o->metavar);
		else
			bprintf(b, ".B \\-\\-%s", o->name);
		bputs(b, "\n");
		roff_text(b, o->help);
		if (o->allowed && (o->type == CLI_ENUM || o->type == CLI_ENUMLIST)) {
			bputs(b, o->type == CLI_ENUMLIST ? ": a comma list of " : ": one of ");
			roff_text(b, o->allowed);
		}
		if (o->def) {
			bputs(b, "; default: ");
			roff_text(b, o->def);
		}
		if (o->key) {
			bputs(b, "; configuration key ");
			roff_text(b, o->key);
		}
		bputs(b, ".\n");
	}
	if (with_help)
		bputs(b, ".TP\n.BR \\-h \", \" \\-\\-help\nShow the options of the command and exit.\n");
}

static void roff_examples(struct buf *b, const char *examples)
{
	const char *p = examples;

	/* Pairs of lines: a comment, then the command. */
	while (p && *p) {
		const char *nl = strchr(p, '\n');
		const char *cmd = nl ? nl + 1 : NULL;
		const char *end = cmd ? strchr(cmd, '\n') : NULL;
		char *c, *line;

		if (!cmd)
			break;
		c = strndup(p, (size_t)(nl - p));
		line = end ? strndup(cmd, (size_t)(end - cmd)) : strdup(cmd);
		if (!c || !line) {
			free(c);
			free(line);
			b->oom = 1;
			return;
		}
		bputs(b, ".PP\n");
		roff_text(b, c);
		bputs(b, ":\n.PP\n.RS 4\n.EX\n");
		roff_text(b, line);
		bputs(b, "\n.EE\n.RE\n");
		free(c);
		free(line);
		p = end ? end + 1 : NULL;
	}
}

static void roff_exit_status(struct buf *b)
{
	int code;

	bputs(b, ".SH EXIT STATUS\n");
	for (code = 0; code < OPS_CODE_COUNT; code++) {
		int st = ops_code_exit_status((ops_code)code), other;

		/* Several codes share a status (1: failed, declined): one entry,
		 * its meanings one after the other. */
		for (other = 0; other < code && ops_code_exit_status((ops_code)other) != st; other++)
			;
		if (other < code)
			continue;
		bprintf(b, ".TP\n.B %d\n", st);
		for (other = code; other < OPS_CODE_COUNT; other++) {
			if (ops_code_exit_status((ops_code)other) != st)
				continue;
			if (other != code)
				bputs(b, " ");
			roff_text(b, ops_code_description((ops_code)other));
		}
		bputs(b, "\n");
	}
}

/* "A,B,C" as "A, B, C" into buf (len bytes; in may be buf). */
static const char *env_list(const char *in, char *buf, size_t len)
{
	char tmp[512];
	size_t i, o = 0;

	for (i = 0; in[i] && o + 3 < sizeof tmp && o + 3 < len; i++) {
		tmp[o++] = in[i];
		if (in[i] == ',' && in[i + 1] != ' ')
			tmp[o++] = ' ';
	}
	tmp[o] = '\0';
	memcpy(buf, tmp, o + 1);
	return buf;
}

static void roff_environment(struct buf *b)
{
	const ops_key_def *k;

	bputs(b, ".SH ENVIRONMENT\n");
	bputs(b, ".TP\n.B OPSCTL_CONFIG\nConfiguration file to read instead of\n.IR /etc/opsctl/opsctl.conf .\n");
	for (k = ops_config_keys(); k->name; k++) {
		if (!k->env)
			continue;
		char env[256];

		bputs(b, ".TP\n.B ");
		roff_text(b, env_list(k->env, env, sizeof env));
		bputs(b, "\nSets\n.BR ");
		roff_text(b, k->name);
		bputs(b, " ;\nsee\n.BR opsctl.conf (5).\n");
	}
	bputs(b, ".PP\nEvery key can also be set as OPSCTL_SECTION_KEY, for example\n.BR OPSCTL_DB_HOST ,\n"
		 "which takes precedence over the other names. OPSCTL_ variables override the "
		 "configuration file; the others (DB_HOST, PG*, ENVIRONMENT, AWS_*) are used only "
		 "where the file sets nothing.\n"
		 "libpq's own variables (PGPASSWORD, PGSERVICE, PGSSLROOTCERT and the rest) work as documented for libpq.\n");
}

static void roff_header(struct buf *b, const char *name, int section, const char *summary)
{
	char upper[64];
	size_t i;

	for (i = 0; name[i] && i < sizeof upper - 1; i++)
		upper[i] = (char)(name[i] >= 'a' && name[i] <= 'z' ? name[i] - 32 : name[i]);
	upper[i] = '\0';
	bprintf(b, ".\\\" Generated by `opsctl __gen man` from the command tables; do not edit.\n"
		   ".TH %s %d %s \"opsctl %s\" \"opsctl manual\"\n.SH NAME\n", upper, section,
		MAN_DATE, OPS_VERSION);
	roff_text(b, name);
	bputs(b, " \\- ");
	roff_text(b, summary);
	bputs(b, "\n");
}

static void page_command(struct buf *b, const struct cli_cmd *cmd)
{
	char name[64];
	size_t i;

	snprintf(name, sizeof name, "opsctl-%s", cmd->name);
	roff_header(b, name, 1, cmd->summary);
	bputs(b, ".SH SYNOPSIS\n");
	for (i = 0; cmd->subs && cmd->subs[i].name; i++) {
		const struct cli_cmd *s = &cmd->subs[i];

		if (s->flags & CLI_HIDDEN)
			continue;
		if (i > 0)
			bputs(b, ".PP\n");
		bprintf(b, ".B opsctl\n.RI [ global-options ]\n.B %s %s\n", cmd->name, s->name);
		roff_synopsis_opts(b, s->opts);
		if (s->args)
			bprintf(b, ".I %s\n", s->args);
	}
	if (!cmd->subs) {
		bprintf(b, ".B opsctl\n.RI [ global-options ]\n.B %s\n", cmd->name);
		roff_synopsis_opts(b, cmd->opts);
		if (cmd->args)
			bprintf(b, ".I %s\n", cmd->args);
	}
	bputs(b, ".SH DESCRIPTION\n");
	roff_paragraphs(b, cmd->description);
	bputs(b, ".PP\nThe global options\n.RB ( \\-\\-config ,\n.BR \\-\\-env ,\n"
		 ".BR \\-\\-output ,\n.BR \\-\\-quiet ,\n.BR \\-\\-verbose )\n"
		 "go before or after the command; see\n.BR opsctl (1).\n");
	if (cmd->subs) {
		bputs(b, ".SH COMMANDS\n");
		for (i = 0; cmd->subs[i].name; i++) {
			const struct cli_cmd *s = &cmd->subs[i];

			if (s->flags & CLI_HIDDEN)
				continue;
			bprintf(b, ".SS \"%s %s%s%s\"\n", cmd->name, s->name, s->args ? " " : "",
				s->args ? s->args : "");
			roff_paragraphs(b, s->description);
			bputs(b, ".PP\nOptions:\n");
			roff_options(b, s->opts, 1);
		}
	} else if (cmd->opts && cmd->opts[0].name) {
		bputs(b, ".SH OPTIONS\n");
		roff_options(b, cmd->opts, 1);
	}
	roff_exit_status(b);
	roff_environment(b);
	bputs(b, ".SH FILES\n.TP\n.I /etc/opsctl/opsctl.conf\nThe configuration file; see\n.BR opsctl.conf (5).\n"
		 ".TP\n.I /var/lib/opsctl/journal.jsonl\nOne JSON line per run that changed something (general.state_dir).\n"
		 ".TP\n.I /var/lib/opsctl/opsctl.prom\nThe Prometheus textfile refreshed after each such run (general.metrics_file).\n"
		 ".TP\n.I /var/lib/opsctl/locks/\nOne lock file per task and target (TASK@TARGET.lock).\n");
	if (cmd->examples || cmd->subs) {
		int any = cmd->examples != NULL;

		for (i = 0; cmd->subs && cmd->subs[i].name; i++)
			if (cmd->subs[i].examples)
				any = 1;
		if (any) {
			bputs(b, ".SH EXAMPLES\n");
			roff_examples(b, cmd->examples);
			for (i = 0; cmd->subs && cmd->subs[i].name; i++)
				roff_examples(b, cmd->subs[i].examples);
		}
	}
	bputs(b, ".SH SEE ALSO\n.BR opsctl (1),\n");
	for (i = 0; cmd->subs && cmd->subs[i].name; i++)
		if (!(cmd->subs[i].flags & CLI_HIDDEN))
			bprintf(b, ".BR opsctl\\-%s\\-%s (1),\n", cmd->name, cmd->subs[i].name);
	bputs(b, ".BR opsctl.conf (5),\n.BR vacuumdb (1),\n.BR pg_dump (1),\n.BR sqlite3 (1)\n");
}

/* The pages every other page points to: opsctl-COMMAND(1) of each top-level
 * command, and opsctl.conf(5). */
static void see_also_top(struct buf *b)
{
	size_t i;

	for (i = 0; cli_root.subs[i].name; i++)
		if (!(cli_root.subs[i].flags & CLI_HIDDEN))
			bprintf(b, ".BR opsctl\\-%s (1),\n", cli_root.subs[i].name);
}

/*
 * A page per leaf command, git's way (git-commit-graph(1)):
 * opsctl-db-vacuum(1), or opsctl-status(1) for a command without a group;
 * `opsctl help db vacuum` opens it.
 */
/* The command's man_list as a section of tagged paragraphs. */
static void roff_list(struct buf *b, const struct cli_cmd *cmd)
{
	cJSON *items, *it;

	if (!cmd->man_list || !(items = cmd->man_list()))
		return;
	bprintf(b, ".SH %s\n", cmd->man_list_title ? cmd->man_list_title : "LIST");
	cJSON_ArrayForEach(it, items) {
		const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "name"));
		const char *text = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "text"));

		if (!name || !text)
			continue;
		bputs(b, ".TP\n.B ");
		roff_text(b, name);
		bputs(b, "\n");
		roff_text(b, text);
		bputs(b, "\n");
	}
	cJSON_Delete(items);
}

static void page_leaf(struct buf *b, const struct cli_cmd *group, const struct cli_cmd *cmd)
{
	char name[96], words[96];

	if (group) {
		snprintf(name, sizeof name, "opsctl-%s-%s", group->name, cmd->name);
		snprintf(words, sizeof words, "%s %s", group->name, cmd->name);
	} else {
		snprintf(name, sizeof name, "opsctl-%s", cmd->name);
		snprintf(words, sizeof words, "%s", cmd->name);
	}
	roff_header(b, name, 1, cmd->summary);
	bprintf(b, ".SH SYNOPSIS\n.B opsctl\n.RI [ global-options ]\n.B %s\n", words);
	roff_synopsis_opts(b, cmd->opts);
	if (cmd->args)
		bprintf(b, ".I %s\n", cmd->args);
	bputs(b, ".SH DESCRIPTION\n");
	roff_paragraphs(b, cmd->description ? cmd->description : cmd->summary);
	bputs(b, ".PP\nThe global options\n.RB ( \\-\\-config ,\n.BR \\-\\-env ,\n"
		 ".BR \\-\\-output ,\n.BR \\-\\-quiet ,\n.BR \\-\\-verbose )\n"
		 "go before or after the command; see\n.BR opsctl (1).\n");
	bputs(b, ".SH OPTIONS\n");
	roff_options(b, cmd->opts, 1);
	roff_list(b, cmd);
	roff_exit_status(b);
	bputs(b, ".SH ENVIRONMENT\nSee\n.BR opsctl (1)\nand\n.BR opsctl.conf (5).\n");
	if (cmd->examples) {
		bputs(b, ".SH EXAMPLES\n");
		roff_examples(b, cmd->examples);
	}
	bputs(b, ".SH SEE ALSO\n.BR opsctl (1),\n");
	if (group)
		bprintf(b, ".BR opsctl\\-%s (1),\n", group->name);
	bputs(b, ".BR opsctl.conf (5)\n");
}

static void page_root(struct buf *b)
{
	const struct cli_cmd *root = &cli_root;
	size_t i;

	roff_header(b, "opsctl", 1, root->summary);
	bputs(b, ".SH SYNOPSIS\n.B opsctl\n");
	roff_synopsis_opts(b, root->opts);
	bputs(b, ".I command\n.RI [ options ]\n.RI [ arguments ]\n");
	bputs(b, ".SH DESCRIPTION\n");
	roff_paragraphs(b, root->description);
	bputs(b, ".SH GLOBAL OPTIONS\n");
	roff_options(b, root->opts, 1);
	bputs(b, ".SH COMMANDS\n");
	for (i = 0; root->subs[i].name; i++) {
		const struct cli_cmd *s = &root->subs[i];

		if (s->flags & CLI_HIDDEN)
			continue;
		bprintf(b, ".TP\n.B %s%s%s\n", s->name, s->args ? " " : "", s->args ? s->args : "");
		roff_text(b, s->summary);
		bprintf(b, "; see\n.BR opsctl\\-%s (1)", s->name);
		bputs(b, ".\n");
	}
	roff_exit_status(b);
	roff_environment(b);
	bputs(b, ".SH FILES\n.TP\n.I /etc/opsctl/opsctl.conf\nThe configuration file; see\n.BR opsctl.conf (5).\n");
	bputs(b, ".SH EXAMPLES\n");
	roff_examples(b, root->examples);
	bputs(b, ".SH SEE ALSO\n");
	see_also_top(b);
	bputs(b, ".BR opsctl.conf (5)\n");
}

/* The exact size as the file takes it: 16M, not 16.0 MiB. */
static const char *size_text(long bytes, char *buf, size_t len)
{
	static const char units[] = "KMGT";
	int u = -1;

	while (bytes && bytes % 1024 == 0 && u < 3) {
		bytes /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(buf, len, "%ld", bytes);
	else
		snprintf(buf, len, "%ld%c", bytes, units[u]);
	return buf;
}

static const char *ktype_name(ops_ktype t)
{
	switch (t) {
	case OPS_K_STRING: return "string";
	case OPS_K_PATH: return "path";
	case OPS_K_INT: return "integer";
	case OPS_K_BOOL: return "boolean";
	case OPS_K_DURATION: return "duration";
	case OPS_K_ENUM: return "one of";
	case OPS_K_LIST: return "list";
	case OPS_K_WINDOW: return "window";
	case OPS_K_SIZE: return "size";
	case OPS_K_FILE: return "file";
	case OPS_K_DIR: return "directory";
	}
	return "string";
}

/* One key of opsctl.conf(5): name, type, range, default, help, variables. */
static void conf_key(struct buf *b, const ops_key_def *k)
{
	bputs(b, ".TP\n.B ");
	roff_text(b, strchr(k->name, '.') ? strchr(k->name, '.') + 1 : k->name);
	bputs(b, "\n(");
	bputs(b, ktype_name(k->type));
	if (k->allowed) {
		bputs(b, " ");
		roff_text(b, k->allowed);
	}
	if (k->type == OPS_K_INT || (k->type == OPS_K_DURATION && k->max))
		bprintf(b, ", %ld to %ld", k->min, k->max);
	if (k->type == OPS_K_SIZE) {
		char lo[32], hi[32];

		bprintf(b, ", %s to %s", size_text(k->min, lo, sizeof lo),
			k->max == LONG_MAX ? "any" : size_text(k->max, hi, sizeof hi));
	}
	if (k->def && *k->def) {
		bputs(b, "; default \\(lq");
		roff_text(b, k->def);
		bputs(b, "\\(rq");
	}
	bputs(b, ")\n");
	roff_text(b, k->help);
	bputs(b, "\n");
	if (k->env) {
		char env[256];

		bputs(b, "Environment: ");
		roff_text(b, env_list(k->env, env, sizeof env));
		bputs(b, ".\n");
	}
}

static void page_conf(struct buf *b)
{
	const ops_key_def *k;
	char section[32] = "";

	roff_header(b, "opsctl.conf", 5, "configuration file for opsctl");
	bputs(b, ".SH SYNOPSIS\n.I /etc/opsctl/opsctl.conf\n.SH DESCRIPTION\n");
	roff_paragraphs(b,
		"opsctl reads an INI file: [section] headers followed by key = value lines. Lines "
		"starting with # or ; are comments; values may be double-quoted. The file is "
		"/etc/opsctl/opsctl.conf, or the file named by OPSCTL_CONFIG or --config, which must "
		"then exist.\n\n"
		"Settings are applied in order, later wins: built-in defaults; the generic "
		"environment the guides' systems already set (DB_HOST, DB_USERNAME, DB_NAME, "
		"libpq's PG*, ENVIRONMENT, AWS_*); this file; OPSCTL_* variables; command-line "
		"flags. An unknown key or a bad value is an error that names the file and line, "
		"and opsctl exits 78 without doing anything.\n\n"
		"A # or ; after white space also starts a comment, so \"key = value  # why\" is "
		"fine; quote a value that must hold one. A key set twice in one file is a warning "
		"naming both lines (the later wins).\n\n"
		"Durations are seconds, or a number with s, m, h, d or w. Sizes are bytes, or a "
		"number with K, M, G or T, powers of 1024 (16M is 16777216), optionally "
		"followed by B or iB. Lists are comma-separated. "
		"Maintenance windows are any, never, or comma-separated ranges DAYS HH:MM-HH:MM, "
		"where DAYS is a day (Sun), a span (Mon-Fri) or daily, in the host's local time.\n\n"
		"Passwords are not configuration keys: libpq reads them from ~/.pgpass, the service "
		"file or PGPASSWORD, so that they never appear in files opsctl manages or on "
		"command lines.\n\n"
		"An OPSCTL_ environment variable that is none of the names below is a warning "
		"naming the nearest one (OPSCTL_DB_HOTS: did you mean OPSCTL_DB_HOST?). "
		"`opsctl config check` loads the configuration strictly and lists every problem "
		"at once (exit 78 if any), including those warnings and file keys naming a file "
		"that does not exist; `opsctl config show` prints each key's effective value and "
		"where it came from. A commented sample with every key at its default is "
		"installed as /etc/opsctl/opsctl.conf.sample.");
	bputs(b, ".SH KEYS\n");
	/* Each section once, in the order the table first names it, with all
	 * its keys, wherever in the table they were added. */
	for (k = ops_config_keys(); k->name; k++) {
		const char *dot = strchr(k->name, '.');
		size_t sl = dot ? (size_t)(dot - k->name) : 0;
		const ops_key_def *j;

		for (j = ops_config_keys(); j < k; j++)
			if (strncmp(j->name, k->name, sl + 1) == 0)
				break;
		if (j < k)
			continue;	/* section already written */
		snprintf(section, sizeof section, "%.*s", (int)sl, k->name);
		bprintf(b, ".SS [%s]\n", section);
		for (j = k; j->name; j++)
			if (strncmp(j->name, k->name, sl + 1) == 0)
				conf_key(b, j);
	}
	bputs(b, ".SH EXAMPLES\n.PP\nA production host maintaining guide 004's databases:\n.PP\n.RS 4\n.EX\n"
		 "[general]\nenvironment = prod\n\n[db]\nhost = /var/run/postgresql\nuser = postgres\n"
		 "databases = error_reporting_db, user_management_db, verification_db, correction_engine_db, rag_integration_db\n\n"
		 "[window]\nprod = Sun 02:00\\-04:00, Sat 02:00\\-04:00\n\n[health]\nlong_query = 5s\n"
		 ".EE\n.RE\n");
	bputs(b, ".SH SEE ALSO\n.BR opsctl (1),\n");
	see_also_top(b);
	bputs(b, ".BR logrotate (8),\n.BR systemd.timer (5)\n");
}

/* Drop a .PP that directly follows .SH or .SS: it would be an empty
 * paragraph, which mandoc -Tlint rightly warns about. */
static void drop_pp_after_heading(struct buf *b)
{
	char *r = b->p, *w = b->p, *prev = NULL;

	while (r && *r) {
		char *nl = strchr(r, '\n');
		size_t n = nl ? (size_t)(nl - r + 1) : strlen(r);

		if (prev && strncmp(r, ".PP\n", 4) == 0 &&
		    (strncmp(prev, ".SH", 3) == 0 || strncmp(prev, ".SS", 3) == 0)) {
			r += n;
			continue;
		}
		memmove(w, r, n);
		prev = w;
		w += n;
		r += n;
	}
	if (b->p) {
		*w = '\0';
		b->len = (size_t)(w - b->p);
	}
}

/* Write dir/name only if the text changed, atomically. */
static int write_page(const char *dir, const char *name, struct buf *b)
{
	char *path = ops_path_join(dir, name);
	char *old = NULL;
	size_t oldlen = 0;
	ops_error err;
	int rc = 0;

	drop_pp_after_heading(b);
	if (!path || b->oom) {
		fprintf(stderr, "opsctl: error: out of memory\n");
		free(path);
		return ops_code_exit_status(OPS_EINTERNAL);
	}
	if (ops_read_file(path, 1 << 22, &old, &oldlen, &err) == OPS_OK &&
	    oldlen == b->len && memcmp(old, b->p, b->len) == 0)
		goto out;
	if (ops_write_file_atomic(path, b->p, b->len, 0644, &err) != OPS_OK) {
		fprintf(stderr, "opsctl: error: %s\n", err.message);
		rc = ops_code_exit_status(err.code);
	}
out:
	free(old);
	free(path);
	return rc;
}

/* Is opsctl-WORDS.1 the page of a command that exists (visible)? */
static int page_is_current(const char *file)
{
	size_t i, j;
	char name[128];

	for (i = 0; cli_root.subs[i].name; i++) {
		const struct cli_cmd *c = &cli_root.subs[i];

		if (c->flags & CLI_HIDDEN)
			continue;
		snprintf(name, sizeof name, "opsctl-%s.1", c->name);
		if (strcmp(name, file) == 0)
			return 1;
		for (j = 0; c->subs && c->subs[j].name; j++) {
			snprintf(name, sizeof name, "opsctl-%s-%s.1", c->name, c->subs[j].name);
			if (!(c->subs[j].flags & CLI_HIDDEN) && strcmp(name, file) == 0)
				return 1;
		}
	}
	return 0;
}

/* A command renamed or removed leaves no page behind for `make install` to
 * ship: every opsctl-*.1 in dir that no command writes goes. */
static void remove_stale_pages(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);
		char *path;

		if (strncmp(e->d_name, "opsctl-", 7) != 0 || n < 3 ||
		    strcmp(e->d_name + n - 2, ".1") != 0 || page_is_current(e->d_name))
			continue;
		path = ops_path_join(dir, e->d_name);
		if (path)
			unlink(path);
		free(path);
	}
	closedir(d);
}

int cli_gen_man(const char *dir)
{
	struct buf b = {0};
	size_t i;
	int rc;

	page_root(&b);
	rc = write_page(dir, "opsctl.1", &b);
	for (i = 0; !rc && cli_root.subs[i].name; i++) {
		const struct cli_cmd *c = &cli_root.subs[i];
		char name[96];
		size_t j;

		if (c->flags & CLI_HIDDEN)
			continue;
		b.len = 0;
		if (c->subs)
			page_command(&b, c);
		else
			page_leaf(&b, NULL, c);
		snprintf(name, sizeof name, "opsctl-%s.1", c->name);
		rc = write_page(dir, name, &b);
		for (j = 0; !rc && c->subs && c->subs[j].name; j++) {
			if (c->subs[j].flags & CLI_HIDDEN)
				continue;
			b.len = 0;
			page_leaf(&b, c, &c->subs[j]);
			snprintf(name, sizeof name, "opsctl-%s-%s.1", c->name, c->subs[j].name);
			rc = write_page(dir, name, &b);
		}
	}
	if (!rc) {
		b.len = 0;
		page_conf(&b);
		rc = write_page(dir, "opsctl.conf.5", &b);
	}
	if (!rc)
		remove_stale_pages(dir);
	free(b.p);
	return rc;
}

/* ---- the sample configuration file ---- */

/* "# " + text wrapped to 78 columns. */
static void comment_wrapped(struct buf *b, const char *text)
{
	const char *p = text;
	int col = 0;

	while (*p) {
		size_t w = strcspn(p, " ");

		if (col == 0) {
			bputs(b, "#");
			col = 1;
		}
		if (col > 1 && col + 1 + (int)w > 78) {
			bputs(b, "\n#");
			col = 1;
		}
		bprintf(b, " %.*s", (int)w, p);
		col += 1 + (int)w;
		p += w;
		while (*p == ' ')
			p++;
	}
	bputs(b, "\n");
}

/*
 * contrib/opsctl.conf.sample: every section once, every key with its help as
 * a comment and "#key = DEFAULT" below it, so that uncommenting a line
 * changes nothing until the value is edited.  The defaults are the guides'
 * values (config_keys.def names the guide of each).
 */
static void sample_conf(struct buf *b)
{
	const ops_key_def *k, *j;
	char seen[64][32];
	size_t ns = 0, i;

	bputs(b, "# opsctl.conf: every key, at its default, with what it does; see opsctl.conf(5).\n"
		 "# Generated by `opsctl __gen conf` from the key table; do not edit this copy.\n"
		 "# Copy it to /etc/opsctl/opsctl.conf, uncomment and change what differs on this\n"
		 "# host, then run `opsctl config check` (exit 0 when every line is right) and\n"
		 "# `opsctl config show` (each value and where it came from).\n"
		 "# Durations: 90, 90s, 15m, 1h, 2d, 1w. Sizes: bytes, or 512K, 16M, 8G (1024-based).\n");
	for (k = ops_config_keys(); k->name; k++) {
		const char *dot = strchr(k->name, '.');
		size_t sl = dot ? (size_t)(dot - k->name) : 0;
		char sec[32];

		snprintf(sec, sizeof sec, "%.*s", (int)sl, k->name);
		for (i = 0; i < ns && strcmp(seen[i], sec) != 0; i++)
			;
		if (i < ns || ns == 64)
			continue;
		memcpy(seen[ns++], sec, sizeof sec);
		bprintf(b, "\n[%s]\n", sec);
		for (j = k; j->name; j++) {
			const char *d = strchr(j->name, '.');

			if (!d || (size_t)(d - j->name) != sl || strncmp(j->name, sec, sl) != 0)
				continue;
			bputs(b, "\n");
			comment_wrapped(b, j->help);
			if (j->env) {
				char env[256];

				snprintf(env, sizeof env, "Environment: %s.", j->env);
				comment_wrapped(b, env_list(env, env, sizeof env));
			}
			bprintf(b, "#%s =%s%s\n", d + 1, j->def && *j->def ? " " : "",
				j->def ? j->def : "");
		}
	}
}

int cli_gen_conf(const char *dir)
{
	struct buf b = {0};
	int rc;

	sample_conf(&b);
	rc = write_page(dir, "opsctl.conf.sample", &b);
	free(b.p);
	return rc;
}
