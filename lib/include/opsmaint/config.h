/*
 * Configuration, later wins: built-in defaults; the generic environment the
 * guides' systems already export (DB_HOST, DB_USERNAME, DB_NAME, libpq's PG*,
 * ENVIRONMENT, AWS_*); an INI file (/etc/opsctl/opsctl.conf, $OPSCTL_CONFIG or
 * --config); OPSCTL_* variables; command-line flags.  Every key is declared
 * once in config_keys.def (name, type, default, allowed values, environment
 * variables, help); the parser, validation and the opsctl.conf(5) man page all
 * come from that table.  Unknown keys and bad values are errors naming file
 * and line.  Passwords are deliberately not configuration keys: libpq reads
 * them from .pgpass, the service file or PGPASSWORD itself.
 */
#ifndef OPSMAINT_CONFIG_H
#define OPSMAINT_CONFIG_H
#include "opsmaint/api.h"
OPS_API_BEGIN

#include "opsmaint/error.h"

/* The file read when neither --config nor $OPSCTL_CONFIG names one. */
#define OPS_CONFIG_SYSTEM_FILE "/etc/opsctl/opsctl.conf"

typedef enum ops_ktype {
	OPS_K_STRING,
	OPS_K_PATH,
	OPS_K_INT,	/* decimal, range checked against min/max */
	OPS_K_BOOL,	/* true/false/yes/no/on/off/1/0 */
	OPS_K_DURATION,	/* "90", "90s", "15m", "1h", "2d": stored as seconds */
	OPS_K_ENUM,	/* one of allowed (comma-separated) */
	OPS_K_LIST,	/* comma-separated; elements checked against allowed if set */
	OPS_K_WINDOW,	/* maintenance window spec, see window.h */
	OPS_K_SIZE,	/* bytes: "1048576", "512K", "16M", "8G", "1T" (1024-based; an
			 * optional "iB" or "B" after the suffix); range min..max */
	OPS_K_FILE,	/* a path like OPS_K_PATH whose file must exist when the key is
			 * set (checked by ops_config_check, not on every load) */
	OPS_K_DIR	/* the same for a directory */
} ops_ktype;

typedef struct ops_key_def {
	const char *name;	/* "section.key" */
	ops_ktype type;
	const char *def;	/* default as text, NULL for none */
	const char *allowed;	/* for ENUM/LIST, comma-separated, or NULL */
	long min, max;		/* for INT, DURATION and SIZE */
	const char *env;	/* environment variables, comma-separated, first wins; or NULL */
	const char *help;	/* one sentence for opsctl.conf(5) */
} ops_key_def;

/* The declared keys, terminated by an entry with name == NULL. */
const ops_key_def *ops_config_keys(void);
const ops_key_def *ops_config_key(const char *name);

typedef struct ops_config ops_config;

ops_config *ops_config_new(void);	/* all keys at their defaults */
void ops_config_free(ops_config *cfg);

/*
 * Read an INI file.  Sections "[db]" and "key = value" lines; '#' and ';'
 * start comments; values may be double-quoted.  If must_exist is 0 a missing
 * file is not an error.  Errors (OPS_ECONFIG) read "FILE:LINE: unknown key
 * 'section.key'" or "FILE:LINE: bad value for 'db.port': ...".
 * An unreadable file is OPS_EPERM / OPS_EIO.
 */
ops_code ops_config_load_file(ops_config *cfg, const char *path, int must_exist,
			      ops_error *err);

/*
 * Apply environment variables; call it after the file.  envp is a
 * NULL-terminated "NAME=value" array (pass environ).  opsctl's own variables
 * override what is set: OPSCTL_SECTION_KEY for every key (db.host ->
 * OPSCTL_DB_HOST), then the OPSCTL_ names in the key's env list.  The other
 * names in that list (DB_HOST, PGHOST, ENVIRONMENT, AWS_REGION), first
 * non-empty wins, only fill a key that nothing has set, so the file beats
 * them.  An empty variable counts as unset.  A bad value is OPS_ECONFIG
 * naming the variable, except a bad ENVIRONMENT, which belongs to other
 * tools: it is logged as a warning and general.environment keeps its value.
 * An OPSCTL_ variable that is none of opsctl's (OPSCTL_DB_HOTS) is a warning
 * naming the nearest one; OPSCTL_TEST_* belong to the test suite.
 * Last, when not root and general.state_dir is still unset, it becomes
 * $XDG_STATE_HOME/opsctl, else $HOME/.local/state/opsctl, with the origin
 * "default (XDG_STATE_HOME)" or "default (HOME)".
 */
ops_code ops_config_load_env(ops_config *cfg, char *const *envp, ops_error *err);

/*
 * Set one key from a flag or a test; validates like the file.  origin names
 * where it came from ("--database", "FILE:LINE", "DB_HOST") and is kept for
 * messages and for `opsctl config` style dumps.  Wherever a value is set
 * (file, environment, here), the other spellings of general.environment,
 * production, stage and development in any case, are stored as prod, staging
 * and dev.
 */
ops_code ops_config_set(ops_config *cfg, const char *key, const char *value,
			const char *origin, ops_error *err);

/* The value as text (default if never set); NULL if unset with no default. */
const char *ops_config_get(const ops_config *cfg, const char *key);
/* Where the value came from: "default", "FILE:LINE", the variable's name, the
 * origin given to ops_config_set; NULL for an unknown key. */
const char *ops_config_origin(const ops_config *cfg, const char *key);
/* Typed getters for a validated value; abort-free: return the default 0/false
 * when the key is unknown (a programming error caught by unit tests). */
long ops_config_int(const ops_config *cfg, const char *key);	/* INT, SIZE, DURATION (s) */
int ops_config_bool(const ops_config *cfg, const char *key);

/*
 * Split a LIST value into a NULL-terminated, newly allocated array of trimmed,
 * non-empty strings (free with ops_strv_free).  Returns NULL on OOM.
 */
char **ops_config_list(const ops_config *cfg, const char *key);
void ops_strv_free(char **v);
size_t ops_strv_len(char *const *v);
/* Split any comma-separated text the same way. */
char **ops_split_list(const char *text);

/* Parse helpers shared with the CLI's flag parser. */
ops_code ops_parse_duration(const char *text, long *seconds, ops_error *err);
ops_code ops_parse_long(const char *text, long min, long max, long *out,
			ops_error *err);
/*
 * The checked integer parser behind every number opsctl reads: decimal, no
 * blanks, no trailing bytes, ERANGE refused; min..max inclusive (min == max:
 * any value that fits).  Errors are OPS_EUSAGE naming the text.
 */
ops_code ops_parse_int64(const char *text, long long min, long long max,
			 long long *out, ops_error *err);
ops_code ops_parse_bool(const char *text, int *out, ops_error *err);
/* A size in bytes: digits, then optionally K, M, G or T (any case, powers of
 * 1024) and an optional "iB" or "B"; "16M" is 16777216.  OPS_EUSAGE naming the
 * text on anything else or on overflow. */
ops_code ops_parse_size(const char *text, long long *bytes, ops_error *err);

/* The file ops_config_load_file last read (NULL when none was): for
 * `opsctl config show` and the messages that name where a value came from. */
const char *ops_config_file(const ops_config *cfg);

/*
 * Strict checking for `opsctl config check`: after this call the loaders do
 * not stop at the first problem but note every one (unknown key, bad value,
 * bad line, a key set twice in one file, an OPSCTL_* variable that is none of
 * opsctl's) and go on; what would be a warning in a normal run is a problem
 * here.  ops_config_check() then adds the OPS_K_FILE and OPS_K_DIR keys whose
 * file is missing.  The problems are one-line messages, in the order found.
 */
void ops_config_collect(ops_config *cfg);
void ops_config_check(ops_config *cfg);
char *const *ops_config_problems(const ops_config *cfg);	/* NULL-terminated */

/*
 * Load everything in order: the system file (/etc/opsctl/opsctl.conf, missing
 * is fine), or instead explicit_path / $OPSCTL_CONFIG which must exist; then
 * the environment (ops_config_load_env: generic variables below the file,
 * OPSCTL_* above it).  Used by the front end before flags are applied.
 */
ops_code ops_config_load_default(ops_config *cfg, const char *explicit_path,
				 char *const *envp, ops_error *err);

OPS_API_END
#endif
