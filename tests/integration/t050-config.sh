#!/usr/bin/env bash
# t050: `opsctl config show` (every key's value and origin: default, FILE:LINE,
# a variable's name, --env; the file read; masked secrets; KEY and SECTION
# arguments; text and JSON) and `opsctl config check` (every problem at once,
# exit 78, or 0; duplicate keys and unknown OPSCTL_* variables are problems
# there and warnings elsewhere; file keys naming nothing), and sizes with
# K/M/G suffixes.
. "$(dirname "$0")/../lib/common.sh"

# ---- config show ----
cfg="$T/show.conf"
write_config "$cfg" <<CONF
[db]
host = db.example.com
port = 5433

[backup]
chunk_size = 32M
CONF

OPSCTL_DB_PORT=6543 PGUSER=bob run "$OPSCTL" --config "$cfg" --env dev config show
expect_rc 0 "config show: exit 0"
expect_out_contains "# configuration file: $cfg" "config show names the file read"
if grep -qE "^host += db\.example\.com +# $cfg:2\$" "$OUT"; then ok "a file value with FILE:LINE"
else not_ok "a file value with FILE:LINE"; diag_run; fi
if grep -qE "^port += 6543 +# OPSCTL_DB_PORT\$" "$OUT"; then ok "an OPSCTL_ variable named as origin"
else not_ok "an OPSCTL_ variable named as origin"; diag_run; fi
if grep -qE "^user += bob +# PGUSER\$" "$OUT"; then ok "a generic variable (PGUSER) named as origin"
else not_ok "a generic variable (PGUSER) named as origin"; diag_run; fi
if grep -qE "^environment += dev +# --env\$" "$OUT"; then ok "a flag named as origin"
else not_ok "a flag named as origin"; diag_run; fi
if grep -qE "^idle_timeout += 1h +# default\$" "$OUT"; then ok "a default says default"
else not_ok "a default says default"; diag_run; fi
if grep -qE "^# sslmode = \(unset\)\$" "$OUT"; then ok "an unset key says unset, commented out"
else not_ok "an unset key says unset, commented out"; diag_run; fi
if grep -qE "^chunk_size += 32M +# " "$OUT"; then ok "a size as written"
else not_ok "a size as written"; diag_run; fi
n=$(grep -c '^\[backup\]$' "$OUT")
if [ "$n" -eq 1 ] && [ "$(grep -c '^\[db\]$' "$OUT")" -eq 1 ]; then ok "each section once"
else not_ok "each section once ([backup] $n times)"; diag_run; fi
keys=$(grep -cE '^(# )?[a-z_]+ += ' "$OUT")
want=$(grep -c '^KEY(' "$ROOT/lib/core/config_keys.def")
if [ "$keys" -eq "$want" ]; then ok "every key of the table is shown ($want)"
else not_ok "every key of the table is shown ($keys of $want)"; diag_run; fi

# The output reads back as a configuration with the same values.
cp "$OUT" "$T/roundtrip.conf"
run "$OPSCTL" --config "$T/roundtrip.conf" config check
expect_rc 0 "config show's text passes config check"
run "$OPSCTL" --config "$T/roundtrip.conf" -o json config show db.host backup.chunk_size
expect_json_true 'find(d["keys"], "key", "db.host")["value"] == "db.example.com" and find(d["keys"], "key", "backup.chunk_size")["value"] == "32M"' \
	"config show's text is a valid configuration file with the same values"

# A value holding quotes and a comment character is quoted so that it reads
# back the same.
printf '[vector]\nfilter = "kind = \\"faq\\" # not a comment"\n' >"$T/quoted.conf"
run "$OPSCTL" --config "$T/quoted.conf" config show vector.filter
cp "$OUT" "$T/quoted-back.conf"
run "$OPSCTL" --config "$T/quoted-back.conf" -o json config show vector.filter
expect_json_true 'd["keys"][0]["value"] == "kind = \"faq\" # not a comment"' \
	"a value with quotes and ' #' survives config show and reading back"

run "$OPSCTL" --config "$cfg" -o json config show
expect_json_true 'd["status"] == "ok" and d["config_file"] == "'"$cfg"'" and len(d["keys"]) == '"$want" \
	"JSON: envelope, config_file and every key"
expect_json_true 'find(d["keys"], "key", "db.host") == {"key": "db.host", "value": "db.example.com", "origin": "'"$cfg"':2"}' \
	"JSON: key, value, origin"
expect_json_true 'find(d["keys"], "key", "db.sslmode")["value"] is None' "JSON: unset is null"

run "$OPSCTL" -o json config show
expect_json_true 'd["config_file"] is None' "no file read: config_file null"
run "$OPSCTL" config show
expect_out_contains "# configuration file: none (/etc/opsctl/opsctl.conf does not exist)" \
	"no file read: text says so"

run "$OPSCTL" --config "$cfg" config show db.port s3
expect_rc 0 "config show KEY SECTION: exit 0"
if [ "$(grep -c ' = ' "$OUT")" -eq $(($(grep -c '^KEY("s3\.' "$ROOT/lib/core/config_keys.def") + 1)) ]; then
	ok "KEY and SECTION arguments limit the output"
else not_ok "KEY and SECTION arguments limit the output"; diag_run; fi
expect_out_not_contains "db.example.com" "a key not asked for is not shown"

run "$OPSCTL" config show db.hots
expect_error 64 "an unknown KEY: exit 64 with a suggestion" "unknown key 'db.hots'" "db.host"

# Secrets: a URL's password is masked as in the journal.
OPSCTL_BACKUP_REDIS_URL='redis://app:hunter2secret@cache:6379/0' run "$OPSCTL" config show backup.redis_url
expect_out_contains "redis://app:***@cache:6379/0" "a URL's password is masked"
OPSCTL_DB_NAME='postgresql://u:hunter2secret@h/db' run "$OPSCTL" -o json config show
if grep -q hunter2secret "$OUT" "$ERR"; then not_ok "no password in config show's JSON"; diag_run
else ok "no password in config show's JSON"; fi

# ---- config check ----
bad="$T/bad.conf"
write_config "$bad" <<CONF
[db]
hots = x
port = abc
host = a
host = b
[dbb]
name = y
[backup]
chunk_size = 16Q
encryption_key_file = $T/no-such-key
[s3]
part_size = 8M
this is not a key
CONF
OPSCTL_DB_HOTS=h OPSCTL_DB_PORT=99999 run "$OPSCTL" --config "$bad" config check
expect_rc 78 "config check with problems: exit 78"
for want in "$bad:2: unknown key 'db.hots' (did you mean 'db.host'?)" \
	"$bad:3: bad value for 'db.port': 'abc' is not a whole number" \
	"$bad:5: 'db.host' is set again (first at $bad:4)" \
	"$bad:7: unknown key 'dbb.name'" \
	"$bad:9: bad value for 'backup.chunk_size': '16Q' is not a size" \
	"$bad:13: expected 'key = value'" \
	"environment variable OPSCTL_DB_PORT: bad value for 'db.port'" \
	"environment variable OPSCTL_DB_HOTS is not one of opsctl's (did you mean OPSCTL_DB_HOST?)" \
	"$bad:10: backup.encryption_key_file '$T/no-such-key' does not exist"; do
	expect_out_contains "$want" "config check lists: $want"
done
if [ "$(wc -l <"$OUT")" -eq 9 ]; then ok "config check: one line per problem, 9 problems"
else not_ok "config check: one line per problem ($(wc -l <"$OUT") lines)"; diag_run; fi
expect_fail 78 "config check: one error line counting them" "9 problems in the configuration"

OPSCTL_DB_HOTS=h run "$OPSCTL" --config "$bad" -o json config check
expect_json_true 'd["exit_code"] == 78 and d["status"] == "failed" and len(d["problems"]) == 8 and d["config_file"] == "'"$bad"'"' \
	"config check JSON: the envelope and every problem"

good="$T/good.conf"
touch "$T/key"
write_config "$good" <<CONF
[general]
environment = dev
[backup]
chunk_size = 8M
encryption_key_file = $T/key
[vector]
memory_budget = 2G
CONF
run "$OPSCTL" --config "$good" config check
expect_rc 0 "config check of a good file: exit 0"
expect_out_contains "configuration ok: $good" "config check says which file is fine"
expect_err_empty "config check of a good file: nothing on stderr"
run "$OPSCTL" -o json --config "$good" config check
expect_json_true 'd["exit_code"] == 0 and d["problems"] == []' "config check JSON: no problems"
run "$OPSCTL" --config "$T/missing.conf" config check
expect_rc 78 "config check of a missing --config: exit 78"
expect_out_contains "cannot read configuration '$T/missing.conf'" "config check names the missing file"

# ---- a normal run: the first problem stops it; the rest warn ----
dup="$T/dup.conf"
printf '[db]\nhost = a\nhost = b\n' >"$dup"
OPSCTL_DB_HOTS=h run "$OPSCTL" --config "$dup" config show db.host
expect_rc 0 "a duplicate key and an unknown OPSCTL_ variable do not stop a normal run"
expect_err_contains "warning: $dup:3: 'db.host' is set again (first at $dup:2); this line wins" \
	"the duplicate key warns"
expect_err_contains "warning: environment variable OPSCTL_DB_HOTS is not one of opsctl's (did you mean OPSCTL_DB_HOST?)" \
	"the unknown OPSCTL_ variable warns with the nearest name"

# ---- sizes ----
printf '[vector]\nmemory_budget = 512K\n[s3]\npart_size = 6291456\n' >"$T/size.conf"
run "$OPSCTL" --config "$T/size.conf" -o json config show vector.memory_budget s3.part_size
expect_json_true 'find(d["keys"], "key", "vector.memory_budget")["value"] == "512K" and find(d["keys"], "key", "s3.part_size")["value"] == "6291456"' \
	"sizes: 512K and a plain byte count are accepted"
printf '[s3]\npart_size = 4M\n' >"$T/size.conf"
run "$OPSCTL" --config "$T/size.conf" config show
expect_error 78 "a size below the key's minimum: exit 78 naming the range" \
	"$T/size.conf:2:" "s3.part_size" "out of range 5242880..1073741824 bytes"

done_testing
