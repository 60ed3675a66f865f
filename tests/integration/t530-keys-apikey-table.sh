#!/usr/bin/env bash
# t530: opsctl rotate-keys -t api-keys on a key table (keys.api_keys item
# table:TABLE[@DATABASE]:NAME:VAR) in a real PostgreSQL, and once in SQLite.
# The table holds SHA-256 hashes only; the client (a service calling the
# API) holds its key in VAR of the env file.  A rotation adds a row for the
# new key beside the old one's (its scopes copied), the env file gets the
# new key, the old row stays valid until keys.grace_period has passed and a
# later run sets its revoked_at.  A failing reload deletes the new row again;
# a run killed after 'set' (and one killed between the INSERT and its saved
# phase) is resumed with one new row, not two.  Bad items, a missing table
# or column and a key without a row change nothing.  No clear key, old or
# new, reaches the table, the server log (log_statement = all: the INSERT
# carries the hash), opsctl's output, the journal or the state directory.
. "$(dirname "$0")/../lib/common.sh"
. "$ROOT/tests/lib/pg.sh"
tool=$(missing_tool psql sqlite3 sha256sum python3) && bail_out "$tool (scripts/setup)"
if ! "$OPSCTL" rotate-keys --help >/dev/null 2>&1; then
	skip "rotate-keys on a key table" "this opsctl has no rotate-keys command yet"
	done_testing
fi
pg_start || bail_out "PostgreSQL starts"
DB=t530_keys
PGOPTIONS='-c client_min_messages=warning' psql_q "drop database if exists $DB" >/dev/null
psql_q "create database $DB" >/dev/null || bail_out "database $DB created"
at_exit "psql_q 'drop database if exists $DB'"

sha() { printf %s "$1" | sha256sum | cut -c1-64; }
OLD=svc-key-old-$$-Qz81 OTHER=other-key-$$-Lm42 GONE=svc-key-gone-$$-Hw07 APP_OLD=app-key-$$-Rt55
# The harness's own rows go in with log_statement off, so that anything
# found in the log later was sent by opsctl.
PGOPTIONS='-c log_statement=none' psql -XAtq -v ON_ERROR_STOP=1 -d "$DB" >/dev/null <<SQL || bail_out "the key table"
create table api_keys (
	id serial primary key,
	name text not null,
	key_hash text not null unique,
	scopes text not null default 'read',
	created_at timestamptz not null default now(),
	expires_at timestamptz,
	revoked_at timestamptz
);
insert into api_keys (name, key_hash, scopes, created_at, revoked_at) values
	('svc', '$(sha "$GONE")', 'read,write', now() - interval '200 days', now() - interval '100 days'),
	('svc', '$(sha "$OLD")', 'read,write,admin', now() - interval '100 days', null),
	('other', '$(sha "$OTHER")', 'read', now() - interval '10 days', null);
SQL
q() { psql -XAtq -d "$DB" -c "$1"; }
# The application's check: a valid row of NAME holds the key's hash.
valid() {
	[ "$(q "select count(*) from api_keys where name = '$1' and key_hash = '$(sha "$2")'
		and revoked_at is null and (expires_at is null or expires_at > now())")" = 1 ]
}
valid svc "$OLD" && valid other "$OTHER" && ! valid svc "$GONE" || bail_out "the first keys are valid"

ENVF="$T/app/.env"
mkdir -p "$T/app"
cat >"$ENVF" <<ENV
# the calling service's environment
API_URL=http://127.0.0.1:8000
SVC_API_KEY=$OLD
APP_KEY=$APP_OLD
ENV
chmod 600 "$ENVF"
envval() { sed -n "s/^$1=//p" "$ENVF"; }

# The reload command: records its argv and environment (for the leak
# check) and, in a file of its own, each key it finds in the env file, as
# the service would read it; fails once after $T/reload-fails is created.
cat >"$T/reload.sh" <<SH
#!/bin/sh
tr '\0' ' ' </proc/\$\$/cmdline >>"$T/reload.log"
echo >>"$T/reload.log"
env >>"$T/reload.log"
sed -n 's/^\(SVC_API_KEY\|APP_KEY\)=//p' "$ENVF" >>"$T/keys-seen"
[ -e "$T/reload-fails" ] && { rm -f "$T/reload-fails"; echo "svc: restart failed" >&2; exit 3; }
exit 0
SH
chmod 755 "$T/reload.sh"

C="$T/opsctl.conf"
conf() {	# conf API_KEYS_ITEMS [more lines]
	cat >"$C" <<CONF
[db]
host = $PGHOST
port = $PGPORT
user = postgres
name = $DB
[keys]
env_file = $ENVF
api_keys = $1
api_key_copy_columns = scopes
grace_period = 2s
reload_command = $T/reload.sh
CONF
	shift
	for l in "$@"; do echo "$l" >>"$C"; done
}
ITEMS="table:api_keys@$DB:svc:SVC_API_KEY, APP_KEY"
conf "$ITEMS"
export OPSCTL_CONFIG="$C" OPSCTL_ENV=dev
: >"$T/all-output"
keep() { cat "$OUT" "$ERR" >>"$T/all-output"; }
rows() { q "select count(*) from api_keys"; }
snapshot() { q "select id, name, key_hash, scopes, created_at, expires_at, revoked_at from api_keys order by id"; }

# ---- bad input changes nothing ----
before=$(snapshot) env_before=$(sha256sum "$ENVF")
unchanged() { [ "$(snapshot)" = "$before" ] && [ "$(sha256sum "$ENVF")" = "$env_before" ]; }
conf "table:api_keys@$DB:SVC_API_KEY"
run "$OPSCTL" rotate-keys -t api-keys -f
keep
expect_error 78 "an item without NAME:VAR is a configuration error" \
	"keys.api_keys: item 'table:api_keys@$DB:SVC_API_KEY': no NAME:VAR after the table"
conf "table:no_such_table@$DB:svc:SVC_API_KEY"
run "$OPSCTL" rotate-keys -t api-keys -f
keep
expect_fail 1 "a table that does not exist fails" "table 'no_such_table' does not exist"
conf "$ITEMS" "api_key_columns = name,hash,created_at,expires_at,revoked_at"
run "$OPSCTL" rotate-keys -t api-keys -f
keep
expect_fail 1 "a column the table lacks fails, naming the settings" "keys.api_key_columns" "\"hash\""
conf "$ITEMS" "api_key_columns = name,key_hash"
run "$OPSCTL" rotate-keys -t api-keys -f
keep
expect_error 78 "keys.api_key_columns must name five columns" "keys.api_key_columns names 2 columns, not 5"
sed -i "s/^SVC_API_KEY=.*/SVC_API_KEY=$GONE/" "$ENVF"
env_before=$(sha256sum "$ENVF")
conf "$ITEMS"
run "$OPSCTL" rotate-keys -t api-keys -f
keep
expect_fail 78 "a key whose row is revoked is refused before anything changes" \
	"no valid row of API key svc in table api_keys on $DB holds the hash of the key in SVC_API_KEY"
unchanged
check $? "...and after all of these the table and the env file are as they were"
[ ! -s "$T/keys-seen" ]
check $? "...and the application was never reloaded"
sed -i "s/^SVC_API_KEY=.*/SVC_API_KEY=$OLD/" "$ENVF"

# ---- the rotation ----
pg_log_mark
run "$OPSCTL" -o json rotate-keys -t api-keys -f
keep
expect_rc 0 "rotate-keys -t api-keys rotates the table's key and the env file's key in one run"
expect_json_true 'find(d["credentials"], "credential", "api-key-table:api_keys:svc@t530_keys")["outcome"] == "rotated" and find(d["credentials"], "credential", "api-key:APP_KEY")["outcome"] == "rotated"' \
	"...the JSON report names both, rotated"
NEW1=$(envval SVC_API_KEY)
[ -n "$NEW1" ] && [ "$NEW1" != "$OLD" ] && [ "$(envval APP_KEY)" != "$APP_OLD" ]
check $? "the env file holds a new key for the service (and for APP_KEY)"
[ -z "$(envval SVC_API_KEY_PREVIOUS)" ] && [ -n "$(envval APP_KEY_PREVIOUS)" ]
check $? "...without SVC_API_KEY_PREVIOUS: the table, not the file, keeps the old key"
[ "$(stat -c %a "$ENVF")" = 600 ] && grep -qx 'API_URL=http://127.0.0.1:8000' "$ENVF"
check $? "...still 0600, its other lines kept"
[ "$NEW1" != "$OLD" ] && valid svc "$NEW1"
check $? "a new row of svc holds the new key's hash"
valid svc "$OLD"
check $? "the old key's row is still valid (grace period)"
[ "$NEW1" != "$OLD" ] && [ "$(q "select scopes from api_keys where key_hash = '$(sha "$NEW1")'")" = "read,write,admin" ]
check $? "...the new row has the old row's scopes (keys.api_key_copy_columns)"
[ "$(q "select count(*) from api_keys where name = 'svc'")" = 3 ] && valid other "$OTHER" &&
	! valid svc "$GONE"
check $? "one row added, the other rows untouched"
pg_log_since | grep -q 'INSERT INTO public.api_keys' &&
	pg_log_since | grep -F -- "$(sha "$NEW1")" >/dev/null
check $? "the server received an INSERT whose parameters carry the new key's hash"

# ---- retirement after the grace period ----
sleep 2.5
pg_log_mark
run "$OPSCTL" rotate-keys -t api-keys --due -f
keep
expect_rc 0 "a run after the grace period (--due: nothing is due) retires the old key"
! valid svc "$OLD" && [ -n "$(q "select revoked_at from api_keys where key_hash = '$(sha "$OLD")'")" ]
check $? "the old key's row has revoked_at set"
valid svc "$NEW1" && [ "$(envval SVC_API_KEY)" = "$NEW1" ]
check $? "the new key's row is valid and the env file still holds it"
[ "$(q "select revoked_at from api_keys where key_hash = '$(sha "$GONE")'")" = \
	"$(printf '%s' "$before" | awk -F'|' -v h="$(sha "$GONE")" '$3 == h { print $7 }')" ]
check $? "...a row revoked long ago keeps its revoked_at"
! pg_log_since | grep -qi 'delete from'
check $? "...and nothing was deleted"

# ---- a failing reload rolls back: the new row goes ----
sleep 2.1
touch "$T/reload-fails"
pg_log_mark
n_before=$(rows)
run "$OPSCTL" rotate-keys -t api-keys -f
keep
rm -f "$T/reload-fails"
# (expect_rc: the engine logs the error once more as it rolls back)
expect_rc 1 "a failing reload command fails the run"
expect_err_contains "keys.reload_command" "...naming the reload command"
[ "$(envval SVC_API_KEY)" = "$NEW1" ] && valid svc "$NEW1"
check $? "the env file holds the key it had, still valid"
[ "$(rows)" = "$n_before" ] && pg_log_since | grep -q 'DELETE FROM public.api_keys'
check $? "the row added for the rolled-back key was deleted"

# ---- kill -9 after 'set', then the rerun resumes ----
n_before=$(rows)
run env OPSCTL_TEST_KEYS_CRASH_AFTER=set "$OPSCTL" rotate-keys -t api-keys -f
keep
[ "$RC" = 137 ]
check $? "killed after 'set' (exit 137)"
[ "$(rows)" = $((n_before + 1)) ] && [ "$(envval SVC_API_KEY)" = "$NEW1" ] && valid svc "$NEW1"
check $? "...one row added, the env file still holds the current key, which works"
# The state as a run killed between the INSERT and saving 'set' leaves it.
st=$(ls "$OPSCTL_STATE_DIR"/keys/api-key-table_*.json)
python3 - "$st" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
assert s["phase"] == "set", s["phase"]
s["phase"] = "created"
json.dump(s, open(sys.argv[1], "w"))
PY
check $? "...the state, set back to 'created' (as if killed before 'set' was saved)"
run "$OPSCTL" -o json rotate-keys -t api-keys -f
keep
expect_rc 0 "the rerun resumes and finishes the rotation"
expect_json_true 'find(d["credentials"], "credential", "api-key-table:api_keys:svc@t530_keys")["resumed_from"] == "created"' \
	"...resumed from 'created'"
NEW2=$(envval SVC_API_KEY)
[ "$(rows)" = $((n_before + 1)) ] && [ "$NEW2" != "$NEW1" ] && valid svc "$NEW2" && valid svc "$NEW1"
check $? "...with one new row, not two: the env file's new key has it, the previous one still works"

# ---- nothing secret anywhere ----
keys=("$OLD" "$GONE" "$OTHER" "$APP_OLD" "$NEW1" "$NEW2")
while IFS= read -r k; do [ -n "$k" ] && keys+=("$k"); done <"$T/keys-seen"
leaks() {	# leaks FILE...: the keys found in the files
	local k f
	for k in "${keys[@]}"; do
		for f in "$@"; do
			[ -e "$f" ] && grep -rqF -- "$k" "$f" && echo "$f: ${k:0:8}..."
		done
	done
}
[ "${#keys[@]}" -ge 9 ]
check $? "the keys to look for: ${#keys[@]}, the rolled-back one included"
q "select * from api_keys" >"$T/table.txt"
found=$(leaks "$T/table.txt")
[ -z "$found" ]
check $? "the table holds no clear key"
[ -z "$found" ] || diag "$found"
found=$(leaks "$PG_LOG")
grep -q 'UPDATE public.api_keys SET "revoked_at"' "$PG_LOG" && [ -z "$found" ]
check $? "the server log (log_statement = all) holds no clear key"
[ -z "$found" ] || diag "$found"
found=$(leaks "$T/all-output" "$OPSCTL_STATE_DIR" "$T/reload.log")
[ -s "$T/all-output" ] && [ -z "$found" ]
check $? "opsctl's output, journal, state and the reload command's argv and environment hold no key"
[ -z "$found" ] || diag "$found"

# ---- the same driver on SQLite ----
HUB="$T/hub.db"
SOLD=sqlite-key-$$-Xc33
sqlite3 -bail "$HUB" <<SQL || bail_out "the SQLite key table"
create table api_keys (id integer primary key, name text not null, key_hash text not null unique,
	scopes text, created_at text, expires_at text, revoked_at text);
insert into api_keys (name, key_hash, scopes, created_at)
	values ('hub', '$(sha "$SOLD")', 'read', CURRENT_TIMESTAMP);
SQL
echo "HUB_KEY=$SOLD" >>"$ENVF"
conf "table:api_keys@sqlite:$HUB:hub:HUB_KEY"
run "$OPSCTL" rotate-keys -t api-keys -f
keep
expect_rc 0 "an SQLite key table rotates the same way"
SNEW=$(envval HUB_KEY)
sv() { [ "$(sqlite3 "$HUB" "select count(*) from api_keys where name = 'hub' and key_hash = '$(sha "$1")' and revoked_at is null")" = 1 ]; }
[ -n "$SNEW" ] && [ "$SNEW" != "$SOLD" ] && sv "$SNEW" && sv "$SOLD" &&
	[ "$(sqlite3 "$HUB" "select scopes from api_keys where key_hash = '$(sha "$SNEW")'")" = read ]
check $? "...a new row with its scopes beside the old, both valid"
sleep 2.5
run "$OPSCTL" rotate-keys -t api-keys --due -f
keep
expect_rc 0 "...and after the grace period"
! sv "$SOLD" && sv "$SNEW"
check $? "...the old row is revoked, the new one valid"
! grep -qF -e "$SOLD" -e "$SNEW" "$HUB" && ! grep -rqF -e "$SOLD" -e "$SNEW" "$T/all-output" "$OPSCTL_STATE_DIR"
check $? "...and no clear key in the database file, the output or the state"

done_testing
