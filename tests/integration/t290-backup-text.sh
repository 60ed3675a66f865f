#!/usr/bin/env bash
# t290: what `opsctl backup` says to a person (issue 11): the guides' short
# options keep their meaning but each help line says plainly what it means
# here (-v is verify, not verbose; -d a directory; -c components or the
# global --config); backup ids are ID everywhere; sizes are human in text and
# exact bytes in JSON; create prints how many backups retention kept, not the
# whole list (JSON keeps it, and --verbose shows it in text).
. "$(dirname "$0")/../lib/common.sh"
. "$ROOT/tests/lib/pg.sh"
pg_start || bail_out "PostgreSQL starts"
pg_make_sample_db t290 || bail_out "sample database t290"
at_exit 'PGOPTIONS="-c client_min_messages=warning" psql_q "drop database if exists t290"; psql_q "drop database if exists verify_restore"'

STORE="$T/store"
cat >"$T/opsctl.conf" <<EOF
[general]
environment = dev
[backup]
dir = $STORE
databases = t290
EOF
export OPSCTL_CONFIG="$T/opsctl.conf"

# ---- help lines ----
help_line() {	# help_line CMD... -- OPTION: the --help line of OPTION
	local args=() opt
	while [ "$1" != "--" ]; do args+=("$1"); shift; done
	opt=$2
	COLUMNS=200 "$OPSCTL" "${args[@]}" --help | tr '\n' '\001' | sed 's/\x01  *\([a-z(]\)/ \1/g' | tr '\001' '\n' | grep -E -- "^ +$opt"
}
l=$(help_line backup create -- '-v, --verify')
if grep -q "verify" <<<"$l" && grep -q "not verbose: use --verbose" <<<"$l"; then ok "create -v/--verify says it is not verbose"; else not_ok "create -v/--verify says it is not verbose"; diag "$l"; fi
l=$(help_line backup create -- '-c, --config')
if grep -q "global --config" <<<"$l"; then ok "create -c/--config says it is the global --config"; else not_ok "create -c/--config says it is the global --config"; diag "$l"; fi
l=$(help_line backup create -- '-n, --no-compress')
if grep -q "uncompressed" <<<"$l"; then ok "create -n/--no-compress says the archive is stored uncompressed"; else not_ok "create -n/--no-compress says the archive is stored uncompressed"; diag "$l"; fi
l=$(help_line backup monitoring -- '-d, --destination')
if grep -q "directory" <<<"$l" && grep -q "not a database" <<<"$l"; then ok "monitoring -d says it is a directory, not a database"; else not_ok "monitoring -d says it is a directory, not a database"; diag "$l"; fi
l=$(help_line backup monitoring -- '-c, --components')
if grep -q "not --config" <<<"$l"; then ok "monitoring -c says it is not --config"; else not_ok "monitoring -c says it is not --config"; diag "$l"; fi
l=$(help_line backup verify -- '-b, --backup-id')
if grep -q -- "--backup-id ID" <<<"$l"; then ok "verify -b takes ID"; else not_ok "verify -b takes ID"; diag "$l"; fi
for c in restore pin; do
	if "$OPSCTL" backup "$c" --help | sed -n '1,/^$/p' | tr -s ' \n' '  ' | grep -q "^usage: opsctl backup $c .* ID "; then ok "backup $c takes ID"; else not_ok "backup $c takes ID"; fi
done
# The guides' flags still mean what they meant.
run "$OPSCTL" --output json backup -v -n --type full
expect_rc 0 "backup -v -n exits 0"
expect_json_true 'd["verify"]["status"] == "ok" and d["compression"] == "none"' "-v still verifies, -n still stores uncompressed"

# ---- sizes: human in text, exact in JSON ----
run "$OPSCTL" --output json backup verify
expect_rc 0 "backup verify (JSON) exits 0"
size=$(json_get 'd["read_bytes"]')
expect_json_true 'isinstance(d["read_bytes"], int) and d["read_bytes"] > 0 and "bytes_read" not in d' "JSON: read_bytes, exact bytes"
run "$OPSCTL" backup verify
expect_rc 0 "backup verify (text) exits 0"
expect_out_not_contains "$size" "text: no raw byte count ($size)"
if grep -Eq '^read: +[0-9.]+ (B|KiB|MiB|GiB)$' "$OUT"; then ok "text: 'read:' with a human size"; else not_ok "text: 'read:' with a human size"; diag_run; fi

# ---- retention's keep-list ----
for i in 1 2; do run "$OPSCTL" backup --type full; done
run "$OPSCTL" backup --type full
expect_rc 0 "a fourth backup (text) exits 0"
if grep -Eq '^ +backups kept: +[0-9]+$' "$OUT"; then ok "text: retention says how many backups it kept"; else not_ok "text: retention says how many backups it kept"; diag_run; fi
if grep -q "within daily retention" "$OUT"; then not_ok "text: no keep-list line per backup"; diag_run; else ok "text: no keep-list line per backup"; fi
run "$OPSCTL" backup --type full --verbose
expect_rc 0 "with --verbose exits 0"
if [ "$(grep -c "within daily retention" "$OUT")" -ge 3 ]; then ok "--verbose: the keep-list with each reason"; else not_ok "--verbose: the keep-list with each reason"; diag_run; fi
run "$OPSCTL" --output json backup --type full
expect_rc 0 "JSON run exits 0"
expect_json_true 'len(d["retention"]["kept"]) == d["retention"]["backups_kept"] >= 5 and all("reason" in k for k in d["retention"]["kept"])' "JSON: the keep-list and its count"
run "$OPSCTL" backup prune
expect_rc 0 "backup prune (text) exits 0"
if grep -q "within daily retention" "$OUT"; then ok "backup prune still lists what it keeps, and why"; else not_ok "backup prune still lists what it keeps, and why"; diag_run; fi

done_testing
