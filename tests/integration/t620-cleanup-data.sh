#!/usr/bin/env bash
# t620: `cleanup data` (guide 001 Monday clean-up, 003 search history, 004
# audit logs and cleanup_expired_cache()) against a real PostgreSQL and a
# SQLite file: a year of chat logs deleted in batches while another session
# keeps inserting, conversations archived to the store (checksum and row
# count verified) before they are deleted, dry run, skipped tables, bad
# rules, the window, journal and metrics.
. "$(dirname "$0")/../lib/common.sh"
. "$ROOT/tests/lib/pg.sh"
. "$ROOT/tests/lib/s3.sh"
pg_start || bail_out "PostgreSQL starts"
export OPSCTL_ENV=dev
DB=t620
psql_q "drop database if exists $DB" && psql_q "create database $DB" || bail_out "database $DB"

# A year of chat logs, one an hour (half an hour off the hour, so that no row
# sits on a cut-off while the test and opsctl each read the clock); conversations, one a day, with values
# CSV must quote; guide 004's audit log and cache function.
psql_q -d $DB "
create table chat_logs (id bigserial primary key, session text, message text,
	created_at timestamptz not null default now());
insert into chat_logs (session, message, created_at)
	select 's' || (g % 7), 'message ' || g, now() - g * interval '1 hour' - interval '30 minutes'
	from generate_series(0, 365 * 24) g;
create index on chat_logs (created_at);
create table live_ids (id bigint primary key);
create table conversations (id serial primary key, title text, summary text,
	updated_at timestamptz not null);
insert into conversations (title, summary, updated_at)
	select 'conv ' || g, case g % 4 when 0 then null when 1 then '' when 2
		then 'a \"quoted\", comma' else e'two\nlines' end, now() - g * interval '1 day' - interval '1 hour'
	from generate_series(0, 364) g;
create table error_audit_logs (id serial primary key, what text, performed_at timestamp not null);
insert into error_audit_logs (what, performed_at)
	select 'e' || g, (now() - g * interval '1 day' - interval '1 hour')::timestamp from generate_series(0, 199) g;
create table cache_entries (k text primary key, expires_at timestamptz);
insert into cache_entries select 'k' || g, now() + (g - 10) * interval '1 hour'
	from generate_series(1, 30) g;
create function public.cleanup_expired_cache() returns integer language sql as
	'with d as (delete from public.cache_entries where expires_at < now() returning 1)
	 select count(*)::integer from d';
" || bail_out "sample tables"

count() { psql_q -d $DB "$1"; }
old_chat=$(count "select count(*) from chat_logs where created_at < now() - interval '90 days'")
old_conv=$(count "select count(*) from conversations where updated_at < now() - interval '30 days'")
old_audit=$(count "select count(*) from error_audit_logs where performed_at < (now() - interval '90 days')::timestamp")
all_chat=$(count "select count(*) from chat_logs")
diag "chat_logs $all_chat rows, $old_chat older than 90 days; conversations $old_conv older than 30 days"

# ---- dry run: the counts, nothing changed ----
journal_mark
run "$OPSCTL" --output json cleanup data -d $DB --dry-run
expect_rc 0 "cleanup data --dry-run exits 0"
expect_json_true "find(db()['rules'], 'table', 'chat_logs')['would_delete_rows'] == $old_chat" \
	"dry run counts the chat logs older than 90 days ($old_chat)"
expect_json_true "find(db()['rules'], 'table', 'conversations')['would_archive_rows'] == $old_conv" \
	"dry run counts the conversations to archive ($old_conv)"
expect_json_true "db()['window'] == 'open' and db()['dry_run'] is True" "dry run says the window is open"
if [ "$(count "select count(*) from chat_logs")" = "$all_chat" ] &&
	[ "$(count "select count(*) from cache_entries")" = 30 ]; then
	ok "dry run deleted nothing and called no function"
else not_ok "dry run deleted nothing and called no function"; fi
expect_journal_added 0 "a dry run writes no journal line"

# ---- bad rules: before anything is touched ----
write_config "$T/bad.conf" <<'EOF'
[cleanup]
data_rules = chat_logs:created_at:90d:delete, conversations:updated_at:soon:archive
EOF
run "$OPSCTL" --config "$T/bad.conf" cleanup data -d $DB --force
expect_error 78 "a bad rule in the configuration is exit 78 naming it" "conversations:updated_at:soon:archive" "not an age"
run "$OPSCTL" cleanup data -d $DB --force --rule chat_logs:created_at:90d:truncate
expect_error 64 "a bad --rule is exit 64 naming the action" "action 'truncate'"
run "$OPSCTL" cleanup data -d $DB --force --rule 'chat_logs;drop:created_at:90d:delete'
expect_error 64 "a rule whose table is not a name is refused" "not a table and column name"
if [ "$(count "select count(*) from chat_logs")" = "$all_chat" ]; then ok "...and no bad rule deleted a row"; else not_ok "a bad rule deleted rows"; fi

# ---- the window ----
OPSCTL_ENV=prod OPSCTL_WINDOW_PROD=never run "$OPSCTL" cleanup data -d $DB
expect_fail 1 "outside the maintenance window cleanup data is refused" "outside the prod maintenance window"
if [ "$(count "select count(*) from chat_logs")" = "$all_chat" ]; then ok "...and nothing was deleted"; else not_ok "a refused run deleted rows"; fi

# ---- the real run, while another session keeps inserting ----
maxid=$(count "select max(id) from chat_logs")
cat >"$T/inserter.sh" <<EOF
#!/usr/bin/env bash
export PGAPPNAME=opsctl-test-inserter
while :; do
	psql -XAtq -v ON_ERROR_STOP=1 -d $DB -c "with i as (insert into chat_logs (session, message) values ('live', 'new') returning id) insert into live_ids select id from i" || echo "INSERT FAILED"
done
EOF
chmod +x "$T/inserter.sh"
bg "$T/inserter.sh"
INSERTER=$BG_PID
inserted() { [ "$(count "select count(*) from live_ids")" -gt 5 ]; }
wait_for 10 inserted || diag "the inserter is slow to start"
pg_log_mark
journal_mark
run "$OPSCTL" --output json cleanup data -d $DB -b 1000
sleep 0.3
bg_kill "$INSERTER" 2>/dev/null || kill -- -"$INSERTER" 2>/dev/null
expect_rc 0 "cleanup data exits 0 while another session inserts"
live=$(count "select count(*) from live_ids")
lost=$(count "select count(*) from live_ids l left join chat_logs c using (id) where c.id is null")
if [ "$live" -gt 5 ] && [ "$lost" = 0 ]; then ok "none of the $live rows inserted meanwhile was deleted"
else not_ok "rows inserted meanwhile survive ($lost of $live lost)"; fi
if grep -q "INSERT FAILED\|ERROR" "$BG_LOG"; then not_ok "the inserting session saw no error"; diag "$(head -5 "$BG_LOG")"
else ok "the inserting session saw no error"; fi
left_old=$(count "select count(*) from chat_logs where id <= $maxid and created_at < now() - interval '90 days' - interval '1 minute'")
kept=$(count "select count(*) from chat_logs where id <= $maxid")
if [ "$left_old" = 0 ] && [ "$kept" = $((all_chat - old_chat)) ]; then
	ok "exactly the chat logs older than 90 days are gone ($old_chat deleted, $kept kept)"
else not_ok "exactly the chat logs older than 90 days are gone ($left_old old left, $kept kept, want $((all_chat - old_chat)))"; fi
expect_json_true "find(db()['rules'], 'table', 'chat_logs')['rows_deleted'] == $old_chat" "the report counts the chat logs deleted"
batches=$((old_chat / 1000 + 1))
expect_json_true "find(db()['rules'], 'table', 'chat_logs')['batches'] >= $((old_chat / 1000))" "chat logs went in batches of 1000 (about $batches)"
ndel=$(pg_log_since | grep -c 'DELETE FROM public.chat_logs WHERE ctid = ANY(ARRAY(SELECT ctid')
if [ "$ndel" -ge $((old_chat / 1000)) ]; then ok "the server ran $ndel batched DELETEs by ctid"; else not_ok "the server ran batched DELETEs by ctid ($ndel)"; diag "$(pg_log_since | grep -i 'delete' | head -3)"; fi
nlock=$(pg_log_since | grep -c "SET LOCAL lock_timeout = '5000ms'")
if [ "$nlock" -ge "$ndel" ]; then ok "every batch set its own lock_timeout ($nlock)"; else not_ok "every batch set its own lock_timeout ($nlock for $ndel batches)"; fi
left_audit=$(count "select count(*) from error_audit_logs where performed_at < (now() - interval '90 days')::timestamp - interval '1 minute'")
if [ "$left_audit" = 0 ] && [ "$(count "select count(*) from error_audit_logs")" = $((200 - old_audit)) ]; then
	ok "guide 004's audit logs older than 90 days are gone, the rest kept"
else not_ok "audit logs older than 90 days gone ($left_audit left)"; fi
expect_json_true "find(db()['rules'], 'function', 'cleanup_expired_cache')['rows_deleted'] == 10" "cleanup_expired_cache() was called and its count reported"
if [ "$(count "select count(*) from cache_entries where expires_at < now()")" = 0 ]; then ok "...and the expired cache entries are gone"; else not_ok "expired cache entries gone"; fi
for t in user_audit_logs search_log; do
	expect_json_true "find(db()['rules'], 'table', '$t')['status'] == 'skipped' and 'no such table' in find(db()['rules'], 'table', '$t')['note']" "$t, absent here, is skipped with a note"
done

# ---- the archive: durable, checksummed, the rows that were deleted ----
expect_json_true "find(db()['rules'], 'table', 'conversations')['rows_archived'] == $old_conv" "the report counts $old_conv conversations archived"
if [ "$(count "select count(*) from conversations where updated_at < now() - interval '30 days' - interval '1 minute'")" = 0 ] &&
	[ "$(count "select count(*) from conversations")" = $((365 - old_conv)) ]; then
	ok "the archived conversations are deleted, the recent ones kept"
else not_ok "archived conversations deleted"; fi
store="$OPSCTL_STATE_DIR/backups/store/cleanup/conversations/$DB"
set -- "$store"/*.csv
if [ -f "$1" ] && (cd "$store" && sha256sum -c --quiet ./*.sha256 >/dev/null 2>&1); then
	ok "every archive object verifies against its .sha256 ($# objects)"
else not_ok "archive objects verify against their .sha256"; ls -la "$store" 2>&1 | sed 's/^/#   /'; fi
rows=$(python3 - "$store" <<'PY'
import csv, glob, sys
n = 0
for f in sorted(glob.glob(sys.argv[1] + "/*.csv")):
    r = list(csv.reader(open(f, newline="")))
    assert r[0] == ["id", "title", "summary", "updated_at"], r[0]
    n += len(r) - 1
print(n)
PY
)
if [ "$rows" = "$old_conv" ]; then ok "the archive's CSV holds the $old_conv rows deleted, with a header"; else not_ok "the archive's row count ($rows) matches $old_conv"; fi
if grep -qF '"a ""quoted"", comma"' "$store"/*.csv && grep -qF '"two' "$store"/*.csv; then
	ok "quotes, commas and newlines are quoted as CSV"
else not_ok "CSV quoting"; fi
total=$((old_chat + old_conv + old_audit + 10))
expect_journal_added 1 "the run wrote one journal line"
expect_journal_last "j['command'] == 'cleanup data' and j['figures']['opsctl_cleanup_data_rows_deleted'] == $total and j['figures']['opsctl_cleanup_data_rows_archived'] == $old_conv" \
	"the journal has the rows deleted ($total) and archived"
prom="$OPSCTL_STATE_DIR/opsctl.prom"
expect_file_contains "$prom" "opsctl_cleanup_data_rows_deleted{task=\"cleanup_data\",target=\"$DB\"} $total" "the textfile has opsctl_cleanup_data_rows_deleted"
expect_file_contains "$prom" "# HELP opsctl_cleanup_data_rows_archived Rows" "...with its own HELP"
expect_journal_last "j['figures']['opsctl_cleanup_data_rule_rows_deleted']['rule'] == {'chat_logs': $old_chat, 'conversations': $old_conv, 'error_audit_logs': $old_audit, 'cleanup_expired_cache()': 10} and j['figures']['opsctl_cleanup_data_rule_rows_archived']['rule']['conversations'] == $old_conv" \
	"the journal has the counts per rule (skipped rules left out)"
expect_file_contains "$prom" "opsctl_cleanup_data_rule_rows_deleted{task=\"cleanup_data\",target=\"$DB\",rule=\"chat_logs\"} $old_chat" "the textfile has the rows deleted per rule, labelled by table"
expect_file_contains "$prom" "opsctl_cleanup_data_rule_rows_deleted{task=\"cleanup_data\",target=\"$DB\",rule=\"cleanup_expired_cache()\"} 10" "...and by function"
expect_file_contains "$prom" "opsctl_cleanup_data_rule_rows_archived{task=\"cleanup_data\",target=\"$DB\",rule=\"conversations\"} $old_conv" "...and the rows archived per rule"
if command -v promtool >/dev/null && promtool check metrics < "$prom" >/dev/null 2>&1; then ok "promtool accepts the textfile with labelled gauges"
else not_ok "promtool accepts the textfile"; promtool check metrics < "$prom" 2>&1 | head -3 | sed 's/^/#   /'; fi

# A second run finds nothing old left.
run "$OPSCTL" --output json cleanup data -d $DB
expect_json_true "db()['rows_deleted'] == 0" "a second run deletes nothing"

# ---- faults: a locked row, an unwritable store, a signal ----
old_rows() { psql_q -d $DB "insert into chat_logs (session, message, created_at)
	select 'old', 'again ' || g, now() - interval '200 days' - g * interval '1 minute'
	from generate_series(1, $1) g"; }
n_old() { count "select count(*) from chat_logs where created_at < now() - interval '90 days'"; }
old_rows 300
write_config "$T/lock.conf" <<'EOF'
[cleanup]
data_lock_timeout = 1s
EOF
cat >"$T/locker.sh" <<EOF
#!/usr/bin/env bash
export PGAPPNAME=opsctl-test-locker
psql -XAtq -d $DB <<'SQL'
begin;
select id from chat_logs where created_at < now() - interval '90 days' order by ctid limit 1 for update;
select pg_sleep(30);
SQL
EOF
chmod +x "$T/locker.sh"
bg "$T/locker.sh"
LOCKER=$BG_PID
locked() { [ "$(count "select count(*) from pg_stat_activity where application_name = 'opsctl-test-locker' and state = 'active'")" = 1 ]; }
wait_for 10 locked || diag "the locking session did not start"
before=$(n_old)
t0=$(date +%s)
run "$OPSCTL" --config "$T/lock.conf" cleanup data -d $DB -b 100 --rule chat_logs:created_at:90d:delete
t1=$(date +%s)
expect_fail 1 "a batch blocked by a row lock fails after cleanup.data_lock_timeout, naming the rule" \
	"cleanup rule 'chat_logs:created_at:90d:delete'" "lock timeout"
if [ $((t1 - t0)) -lt 10 ] && [ "$(n_old)" = "$before" ]; then ok "...within seconds, its batch rolled back ($before old rows still there)"
else not_ok "blocked batch gave up quickly and rolled back ($((t1 - t0)) s, $(n_old) of $before left)"; fi
bg_kill "$LOCKER"
pg_kill_test_sessions

psql_q -d $DB "insert into conversations (title, updated_at) select 'late ' || g, now() - interval '100 days' from generate_series(1, 10) g"
conv_before=$(count "select count(*) from conversations")
: >"$T/not-a-dir"
write_config "$T/nostore.conf" <<EOF
[backup]
dir = $T/not-a-dir/store
EOF
run "$OPSCTL" --config "$T/nostore.conf" cleanup data -d $DB --rule conversations:updated_at:30d:archive
if [ "$RC" -ne 0 ] && [ "$(count "select count(*) from conversations")" = "$conv_before" ]; then
	ok "an archive that cannot be written deletes nothing (exit $RC)"
else not_ok "an archive that cannot be written deletes nothing (exit $RC, $(count "select count(*) from conversations") of $conv_before rows left)"; diag_run; fi

old_rows 20000
before=$(n_old)
journal_mark
"$OPSCTL" cleanup data -d $DB -b 10 --rule chat_logs:created_at:90d:delete >"$T/sig.out" 2>"$T/sig.err" &
SIGPID=$!
started() { [ "$(n_old)" -lt $((before - 200)) ]; }
wait_for 20 started || diag "the run did not start deleting"
kill -TERM $SIGPID
wait $SIGPID
RC=$?
after=$(n_old)
if [ "$RC" = 143 ] && [ "$after" -gt 0 ] && [ $(((before - after) % 10)) = 0 ]; then
	ok "SIGTERM stops the run between batches: exit 143, whole batches of 10 deleted ($((before - after))), $after left"
else not_ok "SIGTERM stops between batches (exit $RC, $((before - after)) deleted, $after left)"; sed 's/^/#   /' "$T/sig.err"; fi
expect_journal_last "j['status'] == 'interrupted' and j['figures'].get('opsctl_cleanup_data_rows_deleted') == $((before - after))" "the journal says interrupted, with the rows the finished batches deleted"
idle=$(count "select count(*) from pg_stat_activity where application_name = 'opsctl' and state like 'idle in transaction%'")
if [ "$idle" = 0 ]; then ok "no transaction is left open"; else not_ok "no transaction is left open ($idle)"; fi
run "$OPSCTL" cleanup data -d $DB --rule chat_logs:created_at:90d:delete
if [ "$RC" = 0 ] && [ "$(n_old)" = 0 ]; then ok "the next run finishes the job"; else not_ok "the next run finishes the job"; diag_run; fi

# ---- archive into S3: every upload failing deletes nothing; then it lands ----
if s3_start; then
	write_config "$T/s3.conf" <<'EOF'
[s3]
prefix = rag
retries = 1
EOF
	conv_before=$(count "select count(*) from conversations")
	s3_fault_proxy every 1 || bail_out "the fault proxy starts"
	run "$OPSCTL" --config "$T/s3.conf" cleanup data -d $DB --s3 --rule conversations:updated_at:30d:archive
	if [ "$RC" -ne 0 ] && [ "$(count "select count(*) from conversations")" = "$conv_before" ]; then
		ok "S3 answering 500 to every upload: the rule fails (exit $RC) and deletes nothing"
	else not_ok "S3 failing: nothing deleted (exit $RC, $(count "select count(*) from conversations") of $conv_before left)"; diag_run; fi
	s3_proxy_stop
	run "$OPSCTL" --config "$T/s3.conf" --output json cleanup data -d $DB --s3 --rule conversations:updated_at:30d:archive
	expect_json_true "find(db()['rules'], 'table', 'conversations')['rows_archived'] == 10" "with S3 back, the 10 rows are archived into the bucket"
	key=$(json_get "d['databases'][0]['rules'][0]['archives'][0]['key']")
	sum=$(json_get "d['databases'][0]['rules'][0]['archives'][0]['sha256']")
	obj="$S3_DIR/opsctl-test/rag/$key._S3rver_object"
	if [ -f "$obj" ] && [ "$(sha256sum <"$obj" | cut -d' ' -f1)" = "$sum" ] &&
		grep -qF "$sum" "$S3_DIR/opsctl-test/rag/$key.sha256._S3rver_object"; then
		ok "the S3 object's bytes match the SHA-256 in the report and in its .sha256 object"
	else not_ok "S3 archive object and checksum"; find "$S3_DIR" -type f | sed 's/^/#   /' | head; fi
else
	skip "archive into S3" "s3rver does not start"
fi

# ---- SQLite: the knowledge hub's search_log, and an archive by rowid ----
HUB="$T/knowledge_hub.db"
sqlite_make_sample_db "$HUB" || bail_out "knowledge hub"
sqlite3 "$HUB" "insert into search_log (user_id, query, created_at) values (1, 'fresh', datetime('now'));
create table chat_logs (id integer primary key, message text, created_at text);
with recursive n(i) as (select 0 union all select i + 1 from n where i < 364)
insert into chat_logs (message, created_at) select 'm ' || i, datetime('now', '-' || i || ' days', '-1 hours') from n;"
old_search=$(sqlite3 "$HUB" "select count(*) from search_log where created_at < datetime('now', '-90 days')")
run "$OPSCTL" --output json cleanup data -d "sqlite:$HUB" -b 100 \
	--rule search_log:created_at:90d:delete,chat_logs:created_at:90d:archive:hub-archive,'cleanup_expired_cache()'
expect_rc 0 "cleanup data on the SQLite knowledge hub exits 0"
if [ "$(sqlite3 "$HUB" "select count(*) from search_log where created_at < datetime('now', '-90 days')")" = 0 ] &&
	[ "$(sqlite3 "$HUB" "select count(*) from search_log where query = 'fresh'")" = 1 ]; then
	ok "SQLite: old search_log rows ($old_search) deleted, the fresh one kept"
else not_ok "SQLite: old search_log rows deleted"; fi
expect_json_true "find(db()['rules'], 'table', 'search_log')['rows_deleted'] == $old_search and find(db()['rules'], 'table', 'search_log')['batches'] >= $((old_search / 100))" "SQLite: deleted in batches of 100"
expect_json_true "find(db()['rules'], 'table', 'chat_logs')['rows_archived'] == 275" "SQLite: 275 chat logs archived"
if [ "$(sqlite3 "$HUB" "select count(*) from chat_logs")" = 90 ]; then ok "SQLite: the archived rows are deleted, 90 kept"; else not_ok "SQLite: archived rows deleted"; fi
hubstore="$OPSCTL_STATE_DIR/backups/store/hub-archive/knowledge_hub"
n=$(cat "$hubstore"/*.csv 2>/dev/null | python3 -c 'import csv,sys; print(sum(1 for r in csv.reader(sys.stdin) if r[0] != "id"))')
if (cd "$hubstore" && sha256sum -c --quiet ./*.sha256 >/dev/null 2>&1) && [ "$n" = 275 ]; then
	ok "SQLite: the archive under the rule's prefix verifies and holds 275 rows"
else not_ok "SQLite: archive verifies and holds 275 rows ($n)"; fi
expect_json_true "find(db()['rules'], 'function', 'cleanup_expired_cache')['status'] == 'skipped'" "SQLite: a function rule is skipped"
# A column called rowid, shared by an old and a new row: only the old goes.
sqlite3 "$HUB" "create table shadow (rowid text, created_at text);
insert into shadow values ('a', '2020-01-01'), ('a', datetime('now')), ('b', '2020-01-02');"
run "$OPSCTL" --output json cleanup data -d "sqlite:$HUB" --rule shadow:created_at:90d:delete
if [ "$RC" = 0 ] && [ "$(sqlite3 "$HUB" "select count(*) from shadow where created_at >= datetime('now', '-1 day')")" = 1 ] &&
	[ "$(sqlite3 "$HUB" "select count(*) from shadow")" = 1 ]; then
	ok "SQLite: a column shadowing rowid does not take new rows with old ones"
else not_ok "SQLite: a column shadowing rowid does not take new rows with old ones"; diag_run; fi

check_error_style
done_testing
