#!/usr/bin/env bash
# t010: configuration, later wins: defaults; the generic environment (DB_*,
# PG*, ENVIRONMENT); the file (--config, OPSCTL_CONFIG); OPSCTL_* variables;
# flags.  Unknown keys and bad values exit 78 with one line naming the file
# and line; the spellings of the environment; --env and the maintenance
# windows; the state directory of a user who is not root.
. "$(dirname "$0")/../lib/common.sh"
. "$ROOT/tests/lib/pg.sh"

sqlite_make_sample_db "$T/a.db"
cp "$T/a.db" "$T/b.db"
cp "$T/a.db" "$T/c.db"

# ---- errors ----
cfg="$T/unknown.conf"
printf '# opsctl test\n[db]\nhots = db.example.com\n' >"$cfg"
run "$OPSCTL" --config "$cfg" db size -d "sqlite:$T/a.db"
expect_error 78 "unknown key: exit 78, one line" "$cfg:3:" "unknown key 'db.hots'"
expect_err_contains "db.host" "unknown key suggests db.host"

cfg="$T/badport.conf"
printf '[db]\nport = abc\n' >"$cfg"
run "$OPSCTL" --config "$cfg" db size -d "sqlite:$T/a.db"
expect_error 78 "bad value db.port = abc: exit 78 naming file:line and key" "$cfg:2:" "db.port"

printf '[db]\nport = 70000\n' >"$cfg"
run "$OPSCTL" --config "$cfg" db size -d "sqlite:$T/a.db"
expect_error 78 "db.port = 70000 is out of range" "db.port"

printf '[general]\nlog_level = loud\n' >"$cfg"
run "$OPSCTL" --config "$cfg" db size -d "sqlite:$T/a.db"
expect_error 78 "bad enum value names the key" "general.log_level" "loud"

printf '[health]\nlong_query = 5 parsecs\n' >"$cfg"
run "$OPSCTL" --config "$cfg" db size -d "sqlite:$T/a.db"
expect_error 78 "bad duration names the key" "health.long_query"

printf '[window]\nprod = Sunday-ish 02:00\n' >"$cfg"
run "$OPSCTL" --config "$cfg" db size -d "sqlite:$T/a.db"
expect_error 78 "bad window spec names the key" "window.prod"

printf '[dbx]\nhost = x\n' >"$cfg"
run "$OPSCTL" --config "$cfg" db size -d "sqlite:$T/a.db"
expect_error 78 "unknown section: exit 78 naming file:line" "$cfg:"

printf '[db]\nthis line has no equals sign\n' >"$cfg"
run "$OPSCTL" --config "$cfg" db size -d "sqlite:$T/a.db"
expect_error 78 "syntax error: exit 78 naming file:line" "$cfg:2:"

printf '[db]\npassword = hunter2secret\n' >"$cfg"
run "$OPSCTL" --config "$cfg" db size -d "sqlite:$T/a.db"
expect_rc 78 "a password key is not accepted in the config file"
if grep -q hunter2secret "$ERR" "$OUT"; then not_ok "the rejected password is not echoed"; diag_run; else ok "the rejected password is not echoed"; fi

run "$OPSCTL" --config "$T/missing.conf" db size -d "sqlite:$T/a.db"
expect_error 78 "--config pointing to a missing file: exit 78 naming it" "$T/missing.conf"

OPSCTL_CONFIG="$T/missing-env.conf" run "$OPSCTL" db size -d "sqlite:$T/a.db"
expect_error 78 "OPSCTL_CONFIG pointing to a missing file: exit 78 naming it" "missing-env.conf"

printf '[db]\nhots = x\n' >"$T/env.conf"
OPSCTL_CONFIG="$T/env.conf" run "$OPSCTL" db size -d "sqlite:$T/a.db"
expect_error 78 "OPSCTL_CONFIG is read" "env.conf:2:"

DB_PORT=abc run "$OPSCTL" db size -d "sqlite:$T/a.db"
expect_error 78 "DB_PORT=abc in the environment: exit 78 naming DB_PORT" "DB_PORT"

OPSCTL_ENV=qa run "$OPSCTL" db size -d "sqlite:$T/a.db"
expect_error 78 "OPSCTL_ENV=qa: exit 78 naming OPSCTL_ENV" "OPSCTL_ENV" "'qa'"
printf '[general]\nenvironment = qa\n' >"$cfg"
run "$OPSCTL" --config "$cfg" db size -d "sqlite:$T/a.db"
expect_error 78 "environment = qa in the file: exit 78 naming file:line" "$cfg:2:" "'qa'"

# A valid file with comments, blank lines and spaces around '='.
cat >"$T/good.conf" <<CONF
# comment

[general]
environment = dev
  state_dir=$T/state-from-config

[db]
name = sqlite:$T/a.db
port = 5432
CONF
run "$OPSCTL" --config "$T/good.conf" db size
expect_rc 0 "a valid config with comments and blank lines loads"

# ---- precedence: generic environment < file < OPSCTL_* < flag ----
run "$OPSCTL" --config "$T/good.conf" --output json db size
expect_json_true 'db(0)["database"].endswith("a.db")' "db.name from the config file is the default target"

# An operator's shell with PG* set for psql must not make cron and that shell
# maintain different databases: the file wins over PGDATABASE and DB_NAME.
PGDATABASE=nosuch run "$OPSCTL" --config "$T/good.conf" --output json db size
expect_json_true 'db(0)["database"].endswith("a.db")' "db.name from the file beats PGDATABASE"
DB_NAME="sqlite:$T/b.db" run "$OPSCTL" --config "$T/good.conf" --output json db size
expect_json_true 'db(0)["database"].endswith("a.db")' "db.name from the file beats DB_NAME"

# Without a file, the generic variables are the configuration.
printf '[general]\nlog_level = warning\n' >"$T/nodb.conf"
DB_NAME="sqlite:$T/b.db" run env -u PGDATABASE "$OPSCTL" --config "$T/nodb.conf" --output json db size
expect_json_true 'db(0)["database"].endswith("b.db")' "DB_NAME gives db.name when the file does not"

OPSCTL_DB_NAME="sqlite:$T/b.db" run "$OPSCTL" --config "$T/good.conf" --output json db size
expect_json_true 'db(0)["database"].endswith("b.db")' "OPSCTL_DB_NAME overrides db.name from the file"

OPSCTL_DB_NAME="sqlite:$T/b.db" DB_NAME="sqlite:$T/b.db" run "$OPSCTL" --config "$T/good.conf" --output json db size -d "sqlite:$T/c.db"
expect_json_true 'db(0)["database"].endswith("c.db")' "-d overrides OPSCTL_DB_NAME, DB_NAME and the file"

printf '[db]\nname = sqlite:%s\n' "$T/b.db" >"$T/other.conf"
OPSCTL_CONFIG="$T/other.conf" run "$OPSCTL" --output json db size
expect_json_true 'db(0)["database"].endswith("b.db")' "OPSCTL_CONFIG is used without --config"
OPSCTL_CONFIG="$T/other.conf" run "$OPSCTL" --config "$T/good.conf" --output json db size
expect_json_true 'db(0)["database"].endswith("a.db")' "--config wins over OPSCTL_CONFIG"

printf '[db]\ndatabases = sqlite:%s, sqlite:%s\nname = sqlite:%s\n' "$T/a.db" "$T/b.db" "$T/c.db" >"$T/list.conf"
run "$OPSCTL" --config "$T/list.conf" --output json db size
expect_json_true '[x["database"][-4:] for x in d["databases"]] == ["a.db", "b.db"]' "db.databases lists the default targets in order"

run env -u PGDATABASE "$OPSCTL" db size
expect_rc 78 "no database anywhere: exit 78"
expect_err_contains "no database" "no database: the error says so"

# state_dir: the file sets it, OPSCTL_STATE_DIR overrides it.
saved_state=$OPSCTL_STATE_DIR
unset OPSCTL_STATE_DIR
run "$OPSCTL" --config "$T/good.conf" db analyze
expect_rc 0 "db analyze with the file's state_dir"
if [ -s "$T/state-from-config/journal.jsonl" ]; then ok "general.state_dir from the file receives the journal"; else not_ok "general.state_dir from the file receives the journal"; diag_run; fi
export OPSCTL_STATE_DIR=$saved_state
run "$OPSCTL" --config "$T/good.conf" db analyze
if [ -s "$OPSCTL_STATE_DIR/journal.jsonl" ] && [ "$(wc -l <"$T/state-from-config/journal.jsonl")" -eq 1 ]; then
	ok "OPSCTL_STATE_DIR overrides general.state_dir"
else
	not_ok "OPSCTL_STATE_DIR overrides general.state_dir"; diag_run
fi

# ---- --env and the maintenance windows (PostgreSQL VACUUM FULL) ----
if ! pg_start; then
	bail_out "PostgreSQL starts"
fi
export PGDATABASE=postgres
pg_make_sample_db t010 || bail_out "sample database t010"
printf '[window]\nprod = never\nstaging = never\n' >"$T/never.conf"

run "$OPSCTL" --config "$T/never.conf" db vacuum --full --table documents -d t010
expect_rc 1 "default environment is prod: VACUUM FULL outside the window exits 1"
expect_err_contains "outside the prod maintenance window" "the error names the prod window"

run "$OPSCTL" --config "$T/never.conf" --env staging db vacuum --full --table documents -d t010
expect_err_contains "outside the staging maintenance window" "--env staging selects the staging window"

run "$OPSCTL" --config "$T/never.conf" --env dev db vacuum --full --table documents -d t010
expect_rc 0 "--env dev (window any) runs VACUUM FULL"

OPSCTL_ENV=dev run "$OPSCTL" --config "$T/never.conf" db vacuum --full --table documents -d t010
expect_rc 0 "OPSCTL_ENV=dev selects the dev window"

printf '[general]\nenvironment = dev\n[window]\nprod = never\n' >"$T/devfile.conf"
run "$OPSCTL" --config "$T/devfile.conf" db vacuum --full --table documents -d t010
expect_rc 0 "general.environment = dev in the file selects the dev window"
OPSCTL_ENV=prod run "$OPSCTL" --config "$T/devfile.conf" db vacuum --full --table documents -d t010
expect_rc 1 "OPSCTL_ENV=prod overrides the file's environment"
run "$OPSCTL" --config "$T/devfile.conf" --env prod db vacuum --full --table documents -d t010
expect_rc 1 "--env prod overrides the file's environment"

run "$OPSCTL" --config "$T/never.conf" --env prod db vacuum --full --force --table documents -d t010
expect_rc 0 "--force runs VACUUM FULL outside the window"

# Common spellings, in any case, wherever the environment is set.
run "$OPSCTL" --config "$T/never.conf" --env Development db vacuum --full --table documents -d t010
expect_rc 0 "--env Development is dev"
run "$OPSCTL" --config "$T/never.conf" --env production db vacuum --full --table documents -d t010
expect_err_contains "outside the prod maintenance window" "--env production is prod"
ENVIRONMENT=development run "$OPSCTL" --config "$T/never.conf" db vacuum --full --table documents -d t010
expect_rc 0 "ENVIRONMENT=development (no environment in the file) is dev"
ENVIRONMENT=STAGE run "$OPSCTL" --config "$T/never.conf" db vacuum --full --table documents -d t010
expect_err_contains "outside the staging maintenance window" "ENVIRONMENT=STAGE is staging"
OPSCTL_ENV=Dev run "$OPSCTL" --config "$T/never.conf" db vacuum --full --table documents -d t010
expect_rc 0 "OPSCTL_ENV=Dev is dev"
printf '[general]\nenvironment = Development\n[window]\nprod = never\n' >"$T/devspelled.conf"
run "$OPSCTL" --config "$T/devspelled.conf" db vacuum --full --table documents -d t010
expect_rc 0 "environment = Development in the file is dev"
# ENVIRONMENT is below the file, OPSCTL_ENV above it.
ENVIRONMENT=production run "$OPSCTL" --config "$T/devfile.conf" db vacuum --full --table documents -d t010
expect_rc 0 "the file's environment = dev beats ENVIRONMENT=production"
ENVIRONMENT=dev run "$OPSCTL" --config "$T/never.conf" --env prod db vacuum --full --table documents -d t010
expect_rc 1 "--env prod beats ENVIRONMENT=dev"

# ENVIRONMENT belongs to other tools: a value opsctl does not know is a
# warning, and the default (prod, the strictest window) applies.
ENVIRONMENT=qa run "$OPSCTL" --config "$T/never.conf" db vacuum --full --table documents -d t010
expect_rc 1 "ENVIRONMENT=qa: the command still runs, under the prod window"
expect_err_contains "outside the prod maintenance window" "ENVIRONMENT=qa: prod's window applies"
expect_err_contains "warning: environment variable ENVIRONMENT: bad value for 'general.environment': 'qa'" "ENVIRONMENT=qa: a warning names the variable and the value"
ENVIRONMENT=qa run "$OPSCTL" --output json db size -d "sqlite:$T/a.db"
expect_rc 0 "ENVIRONMENT=qa does not break a read-only command"
if [ "$(grep -c . "$ERR")" -eq 1 ] && grep -q "^opsctl: warning: .*ignored: general.environment stays 'prod'$" "$ERR"; then
	ok "ENVIRONMENT=qa: one warning line on stderr"
else
	not_ok "ENVIRONMENT=qa: one warning line on stderr"; diag_run
fi
ENVIRONMENT=qa run "$OPSCTL" --config "$T/devfile.conf" db size -d "sqlite:$T/a.db"
expect_err_empty "ENVIRONMENT=qa under the file's environment: not read, no warning"

printf '[window]\nprod = daily 00:00-23:59\n' >"$T/always.conf"
TZ=UTC run "$OPSCTL" --config "$T/always.conf" db vacuum --full --table documents -d t010
if [ "$(date -u +%H%M)" = 2359 ]; then skip "a window covering now allows VACUUM FULL" "23:59 UTC"; else expect_rc 0 "a window covering now allows VACUUM FULL"; fi

# ---- database connection settings from the environment ----
DB_HOST=127.0.0.1 DB_PORT=$PGPORT DB_USERNAME=postgres DB_NAME=t010 \
	env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE "$OPSCTL" --output json db size >"$OUT" 2>"$ERR"
RC=$?
RUN_CMD="DB_HOST/DB_PORT/DB_USERNAME/DB_NAME opsctl db size"
expect_rc 0 "DB_HOST, DB_PORT, DB_USERNAME, DB_NAME (guide 000's variables) are used"
expect_json_true 'db(0)["database"] == "t010" and db(0)["engine"] == "postgresql"' "DB_NAME names the PostgreSQL database"

printf '[db]\nhost = 127.0.0.1\nport = %s\nuser = postgres\nname = t010\n' "$PGPORT" >"$T/pg.conf"
env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE "$OPSCTL" --config "$T/pg.conf" db size >"$OUT" 2>"$ERR"
RC=$?
RUN_CMD="opsctl --config pg.conf db size (no PG* set)"
expect_rc 0 "[db] host/port/user/name from the file connect"

run env -u PGPORT -u PGDATABASE DB_PORT=1 PGPORT=1 "$OPSCTL" --config "$T/pg.conf" db size
expect_rc 0 "db.port from the file beats DB_PORT and PGPORT"
run env -u PGPORT -u PGDATABASE OPSCTL_DB_PORT=1 "$OPSCTL" --config "$T/pg.conf" db size
expect_rc 69 "OPSCTL_DB_PORT overrides db.port from the file (port 1: unreachable, 69)"
# A URI names its own user, host and port: they win over PGUSER, DB_PORT and
# the file (the role below exists only for this check).
psql_q "drop role if exists t010_uri" >/dev/null
psql_q "create role t010_uri login" >/dev/null
at_exit "psql_q 'drop role if exists t010_uri'"
run env PGUSER=postgres DB_PORT=1 "$OPSCTL" --config "$T/pg.conf" --output json db connections -d "postgresql://t010_uri@127.0.0.1:$PGPORT/t010"
expect_rc 0 "a URI's host and port win over DB_PORT and the file"
if grep -q "t010_uri@t010 " "$PG_LOG"; then ok "and its user wins over PGUSER and db.user"; else not_ok "a URI's user wins over PGUSER and db.user"; fi

# ---- the state directory of a user who is not root ----
# CI runs as root; the default for everyone else is the XDG state directory.
nobody_uid=$(id -u nobody 2>/dev/null)
nobody_gid=$(id -g nobody 2>/dev/null)
if [ "$(id -u)" -ne 0 ]; then
	skip "state dir of a non-root user (4 checks)" "not root, so cannot switch to another user"
elif ! command -v setpriv >/dev/null || [ -z "$nobody_uid" ]; then
	skip "state dir of a non-root user (4 checks)" "no setpriv or no user nobody"
else
	U="$T/nobody"
	mkdir -p "$U/home" "$U/xdg"
	cp "$T/a.db" "$U/a.db"
	chown -R "$nobody_uid:$nobody_gid" "$U"
	# as_nobody [VAR=VALUE...] -- OPSCTL-ARGS...: run opsctl as nobody, with
	# no OPSCTL_STATE_DIR and HOME a directory of its own.
	as_nobody() {
		local vars=()
		while [ "$1" != -- ]; do vars+=("$1"); shift; done
		shift
		RUN_CMD="${vars[*]} opsctl $* (as nobody)"
		env -u OPSCTL_STATE_DIR -u XDG_STATE_HOME HOME="$U/home" "${vars[@]}" \
			setpriv --reuid="$nobody_uid" --regid="$nobody_gid" --clear-groups \
			"$OPSCTL" "$@" >"$OUT" 2>"$ERR" </dev/null
		RC=$?
	}
	st="$U/home/.local/state/opsctl"
	# SQLite VACUUM backs the file up first, into STATE_DIR/backups.
	as_nobody -- db vacuum -d "sqlite:$U/a.db"
	expect_rc 0 "db vacuum as a non-root user with no state_dir set"
	if [ -s "$st/journal.jsonl" ] && [ -s "$st/opsctl.prom" ] && ls "$st"/backups/* >/dev/null 2>&1; then
		ok "not root: journal, metrics and the pre-vacuum copy go to ~/.local/state/opsctl"
	else
		not_ok "not root: journal, metrics and the pre-vacuum copy go to ~/.local/state/opsctl"
		diag "$(find "$U" 2>&1)"; diag_run
	fi
	as_nobody XDG_STATE_HOME="$U/xdg" -- db analyze -d "sqlite:$U/a.db"
	expect_rc 0 "db analyze as a non-root user with XDG_STATE_HOME set"
	if [ -s "$U/xdg/opsctl/journal.jsonl" ] && [ "$(wc -l <"$st/journal.jsonl")" -eq 1 ]; then
		ok "not root: \$XDG_STATE_HOME/opsctl receives the journal"
	else
		not_ok "not root: \$XDG_STATE_HOME/opsctl receives the journal"
		diag "$(find "$U" 2>&1)"; diag_run
	fi
fi

# A key set twice in one file: a warning naming both lines; the last wins.
printf '[general]\nenvironment = dev\n[db]\ncontent_table = first\ncontent_table = second\n' >"$T/dup.conf"
run "$OPSCTL" --config "$T/dup.conf" db content-check -d "sqlite:$T/none.db"
expect_err_contains "$T/dup.conf:5: 'db.content_table' is set again (first at $T/dup.conf:4); this line wins" "a key set twice warns, naming both lines"

done_testing
