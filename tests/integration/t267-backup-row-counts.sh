#!/usr/bin/env bash
# t267: the manifest's row counts are exact at the dump's snapshot while the
# database is being written (issue 18: the counts now run beside pg_dump, in
# the snapshot it imports, instead of a pass before it).  A writer commits a
# row every few milliseconds from before the backup until after it; the
# manifest's count is the count of the restored copy exactly, and smaller
# than the live count when the backup ends (rows committed during the dump
# are not counted); verify, which compares them, passes.  The same for a
# directory-format backup (pg_dump -j, backup.parallel_threshold).
. "$(dirname "$0")/../lib/common.sh"
. "$ROOT/tests/lib/pg.sh"
pg_start || bail_out "PostgreSQL starts"
at_exit 'for d in t267 t267_copy; do PGOPTIONS="-c client_min_messages=warning" psql_q "drop database if exists $d"; done'
PGOPTIONS="-c client_min_messages=warning" psql_q "drop database if exists t267" >/dev/null
psql_q "create database t267" >/dev/null || bail_out "create database t267"
# Big enough that the dump takes a while; the writer's procedure commits
# each row and stops when told to (or after 60 s, whatever happens here).
psql_q -d t267 "create table events (id bigserial primary key, payload text);
create table stop_flag (stop boolean);
insert into stop_flag values (false);
insert into events (payload) select repeat(md5(g::text), 8) from generate_series(1, 400000) g;
create procedure writer() language plpgsql as \$\$
declare t0 timestamptz := clock_timestamp();
begin
  loop
    insert into events (payload) values ('written during the backup');
    commit;
    exit when (select stop from stop_flag) or clock_timestamp() - t0 > interval '60 s';
    perform pg_sleep(0.002);
  end loop;
end \$\$" >/dev/null || bail_out "table events and its writer"

STORE="$T/store"
cat >"$T/opsctl.conf" <<EOF
[backup]
dir = $STORE
databases = t267
EOF
export OPSCTL_CONFIG="$T/opsctl.conf"
count() { psql_q -d "$1" "select count(*) from events"; }

bg psql -XAtq -d t267 -c "call writer()"
WRITER=$BG_PID
start=$(count t267)
wait_for 30 test "$(count t267)" -gt "$((start + 20))" || bail_out "the writer commits rows"
before=$(count t267)
run "$OPSCTL" --output json backup --type full
expect_rc 0 "a full backup while rows are being committed"
after=$(count t267)
ID=$(json_get 'd["id"]')
# The same in directory format (pg_dump -j, its workers in the snapshot).
run env OPSCTL_BACKUP_PARALLEL_THRESHOLD=1k "$OPSCTL" --output json backup --type full
expect_rc 0 "a directory-format backup while rows are being committed"
expect_json_true 'd["databases"][0]["format"] == "directory"' "JSON: it is the directory format"
after2=$(count t267)
ID2=$(json_get 'd["id"]')
psql_q -d t267 "update stop_flag set stop = true" >/dev/null
wait "$WRITER" 2>/dev/null
rows_of() {
	python3 -c 'import json,sys
m = json.load(open(sys.argv[1]))
print([t["rows"] for t in m["tables"] if t["database"] == "t267" and t["table"] == "public.events"][0])' "$STORE/$1/manifest.json" 2>/dev/null
}
manifest=$(rows_of "$ID")
manifest2=$(rows_of "$ID2")
diag "rows: $before before the backup, $manifest in the manifest, $after when it ended"
if [[ "$manifest" =~ ^[0-9]+$ ]] && [ "$manifest" -ge "$before" ] && [ "$manifest" -lt "$after" ]; then
	ok "the manifest counts the rows at the dump's snapshot: not those committed while it ran"
else
	not_ok "the manifest counts the rows at the dump's snapshot ($before <= $manifest < $after)"
fi

run "$OPSCTL" backup restore "$ID" -d t267 --as t267_copy
expect_rc 0 "restore --as t267_copy"
copy=$(count t267_copy 2>/dev/null)
if [ "$copy" = "$manifest" ]; then ok "the restored copy holds exactly the manifest's count ($copy)"; else not_ok "the restored copy holds exactly the manifest's count (copy $copy, manifest $manifest)"; fi
if [ "$(psql_q -d t267_copy "select count(*) from stop_flag")" = 1 ]; then ok "the other table's count is there too"; else not_ok "the other table's count is there too"; fi

run "$OPSCTL" --output json backup verify -b "$ID"
expect_rc 0 "verify (a test restore comparing every table's count with the manifest) passes"
expect_json_true 'd["status"] == "ok"' "JSON: verify ok"

diag "directory format: $manifest2 in the manifest, $after2 when it ended"
if [[ "$manifest2" =~ ^[0-9]+$ ]] && [ "$manifest2" -ge "$after" ] && [ "$manifest2" -lt "$after2" ]; then
	ok "directory format: the manifest counts the rows at the dump's snapshot"
else
	not_ok "directory format: the manifest counts the rows at the dump's snapshot ($after <= $manifest2 < $after2)"
fi
run "$OPSCTL" --output json backup verify -b "$ID2"
expect_rc 0 "verify of the directory-format backup (counts of the pg_restore -j copy against the manifest) passes"

# Damage the manifest's count by one: verify must notice, so the counts
# compared above are really compared.
python3 - "$STORE/$ID/manifest.json" <<'PY' || bail_out "edit the manifest"
import json, sys
p = sys.argv[1]
m = json.load(open(p))
for t in m["tables"]:
    if t["table"] == "public.events":
        t["rows"] += 1
json.dump(m, open(p, "w"))
PY
python3 "$ROOT/tests/lib/manifest.py" seal "$STORE/$ID/manifest.json" >/dev/null || bail_out "reseal the manifest"
run "$OPSCTL" backup verify -b "$ID"
if [ "$RC" -ne 0 ]; then ok "a manifest count off by one fails verify (exit $RC)"; else not_ok "a manifest count off by one fails verify"; fi
expect_err_contains "events" "the error names the table"
done_testing
