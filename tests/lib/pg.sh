# A throwaway PostgreSQL 15 cluster on loopback for the integration tests.
#
# pg_start  reuses the runner's cluster when OPSCTL_TEST_PG_STARTED is set;
#           otherwise initdb into a temp dir (as the postgres user when run as
#           root: PostgreSQL refuses to run as root), start on 127.0.0.1 and a
#           free port with every statement logged to $PG_LOG, and export
#           PGHOST PGPORT PGUSER PGDATABASE PG_LOG.  Stopped by pg_stop (and at
#           exit when common.sh's at_exit is available).
# psql_q [-d DB] SQL      one query, unaligned tuples only, stops on error
# pg_make_sample_db NAME  guide 000's documents/document_chunks/queries with
#                         a few thousand rows and some dead tuples
# sqlite_make_sample_db PATH   guide 003's knowledge hub (tests/lib/knowledge_hub.sql)
# pg_log_mark / pg_log_since   the server log written after the mark

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
_PG_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

_pg_as() {
	if [ "$(id -u)" -eq 0 ]; then
		(cd "$PG_TEST_DIR" && runuser -u postgres -- "$@")
	else
		(cd "$PG_TEST_DIR" && "$@")
	fi
}

pg_free_port() {
	python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

pg_start() {
	local port tries conf
	if [ -n "${OPSCTL_TEST_PG_STARTED:-}" ] && [ -n "${PGPORT:-}" ]; then
		export PGHOST PGPORT PGUSER PGDATABASE PG_LOG
		# Leave the shared cluster as we found it for the next script.
		if declare -F at_exit >/dev/null; then
			at_exit pg_kill_test_sessions
		fi
		return 0
	fi
	[ -x "$PG_BIN/initdb" ] || { echo "# pg_start: $PG_BIN/initdb not found (run scripts/setup)" >&2; return 1; }
	PG_TEST_DIR=$(mktemp -d "${TMPDIR:-/tmp}/opsctl-pg.XXXXXX") || return 1
	PG_STARTED_BY=$$
	if [ "$(id -u)" -eq 0 ]; then
		chown postgres: "$PG_TEST_DIR" || return 1
	fi
	chmod 755 "$PG_TEST_DIR"
	if ! _pg_as "$PG_BIN/initdb" -D "$PG_TEST_DIR/data" -U postgres --auth=trust \
		-E UTF8 --no-locale --no-sync >"$PG_TEST_DIR/initdb.log" 2>&1; then
		echo "# pg_start: initdb failed:" >&2
		sed 's/^/#   /' "$PG_TEST_DIR/initdb.log" >&2
		return 1
	fi
	PG_LOG="$PG_TEST_DIR/postgresql.log"
	conf="$PG_TEST_DIR/data/postgresql.conf"
	for tries in 1 2 3 4 5; do
		port=$(pg_free_port) || return 1
		# Later settings win, so appending overrides the defaults.
		_pg_as sh -c "cat >> '$conf'" <<CONF
# opsctl test harness
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$PG_TEST_DIR'
shared_preload_libraries = 'pg_stat_statements'
log_destination = 'stderr'
logging_collector = off
log_statement = 'all'
log_line_prefix = '%m [%p] %q%u@%d app=%a '
lc_messages = 'C'
fsync = off
synchronous_commit = off
full_page_writes = off
autovacuum = off
max_connections = 50
CONF
		if _pg_as "$PG_BIN/pg_ctl" -D "$PG_TEST_DIR/data" -l "$PG_LOG" -w -t 30 \
			start >"$PG_TEST_DIR/pg_ctl.log" 2>&1; then
			break
		fi
		port=""
	done
	if [ -z "$port" ]; then
		echo "# pg_start: the server did not start:" >&2
		tail -n 20 "$PG_LOG" 2>/dev/null | sed 's/^/#   /' >&2
		return 1
	fi
	export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres PGDATABASE=postgres PG_LOG PG_TEST_DIR
	for tries in $(seq 1 50); do
		"$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PGPORT" && break
		sleep 0.1
	done
	"$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PGPORT" || { echo "# pg_start: not ready" >&2; return 1; }
	# Clean up even when the caller forgets (common.sh's at_exit).
	if declare -F at_exit >/dev/null; then
		at_exit pg_stop
	fi
	return 0
}

pg_stop() {
	# Only the process that started the cluster stops it.
	[ -n "${PG_TEST_DIR:-}" ] && [ "${PG_STARTED_BY:-}" = "$$" ] || return 0
	[ -d "$PG_TEST_DIR/data" ] &&
		_pg_as "$PG_BIN/pg_ctl" -D "$PG_TEST_DIR/data" -m immediate -w stop >/dev/null 2>&1
	rm -rf "$PG_TEST_DIR"
	PG_TEST_DIR=""
	PG_STARTED_BY=""
}

psql_q() {
	local db=()
	if [ "${1:-}" = "-d" ]; then
		db=(-d "$2")
		shift 2
	fi
	psql -XAtq -v ON_ERROR_STOP=1 "${db[@]}" -c "$1"
}

# Terminate the sessions the tests left behind (background psql with
# application_name opsctl-test*), so one script never disturbs the next.
pg_kill_test_sessions() {
	psql_q "select count(pg_terminate_backend(pid)) from pg_stat_activity
		where application_name like 'opsctl-test%' and pid <> pg_backend_pid()" >/dev/null 2>&1 || true
}

# The byte offset of the end of the server log, for pg_log_since.
pg_log_mark() { PG_LOG_MARK=$(stat -c %s "$PG_LOG"); }
pg_log_since() { tail -c +"$((${PG_LOG_MARK:-0} + 1))" "$PG_LOG"; }

# pg_statements [APP_PREFIX]: the statements the server received since
# pg_log_mark, one per line as "PID<TAB>APP<TAB>DB<TAB>SQL" (first line of
# each statement; simple and extended protocol).  With APP_PREFIX only
# sessions whose application_name starts with it, except the harness's own
# background sessions (opsctl-test*).
pg_statements() {
	pg_log_since | python3 -c '
import re, sys
prefix = sys.argv[1]
pat = re.compile(r"^\S+ \S+ \S+ \[(\d+)\] (?:\S*@(\S*) )?app=(.*?) LOG:  (?:statement|execute [^:]*): (.*)$")
for line in sys.stdin:
    m = pat.match(line.rstrip("\n"))
    if not m:
        continue
    pid, db, app, sql = m.groups()
    if prefix and (not app.startswith(prefix) or app.startswith("opsctl-test")):
        continue
    print("\t".join((pid, app, db or "", sql)))
' "${1:-}"
}
# opsctl_sql: just the SQL text opsctl's sessions sent since pg_log_mark.
opsctl_sql() { pg_statements opsctl | cut -f4-; }

# pg_make_sample_db NAME: guide 000's schema with rows and dead tuples.
pg_make_sample_db() {
	local name=$1
	PGOPTIONS='-c client_min_messages=warning' psql_q "drop database if exists \"$name\"" >/dev/null &&
	psql_q "create database \"$name\"" >/dev/null &&
	psql -XAtq -v ON_ERROR_STOP=1 -d "$name" >/dev/null <<'SQL'
create table documents (
	id serial primary key,
	title text not null,
	content text,
	created_at timestamptz not null default now()
);
create table document_chunks (
	id serial primary key,
	document_id integer not null references documents(id) on delete cascade,
	chunk_index integer not null,
	content text,
	embedding real[]
);
create table queries (
	id serial primary key,
	query_text text not null,
	created_at timestamptz not null default now()
);
create index idx_documents_created_at on documents (created_at);
create index idx_documents_title on documents (title);
create index idx_document_chunks_document_id on document_chunks (document_id, chunk_index);
create index idx_queries_created_at on queries (created_at);

insert into documents (title, content, created_at)
select 'Document ' || g, repeat('Lorem ipsum dolor sit amet ' || g || '. ', 20),
       now() - g * interval '1 hour'
from generate_series(1, 2000) g;
insert into document_chunks (document_id, chunk_index, content, embedding)
select d.id, c, substr(d.content, 1 + c * 100, 100),
       array[random(), random(), random(), random(), random(), random(), random(), random()]::real[]
from documents d, generate_series(0, 2) c;
insert into queries (query_text, created_at)
select 'how do I configure feature ' || g, now() - g * interval '1 minute'
from generate_series(1, 3000) g;
-- Dead tuples: a share of updated and deleted rows, as a week of traffic leaves.
update documents set title = title || ' (rev 2)' where id % 3 = 0;
delete from queries where id % 4 = 0;
delete from document_chunks where id % 5 = 0;
SQL
}

# sqlite_make_sample_db PATH: guide 003's knowledge hub, with empty and
# duplicate content rows planted for `db content-check`.
sqlite_make_sample_db() {
	rm -f "$1"
	sqlite3 -bail "$1" <"$_PG_LIB_DIR/knowledge_hub.sql"
}

# A cluster of a test's own for physical backups and WAL archiving (t210,
# t215, t268), as the server's user when run as root.
_pg_owner() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

# pg_physical_conf DIR: DIR (the server user's) with store/, state/ and an
# opsctl.conf of backup.method = physical into that store, readable by the
# archiver; sets STORE and STATE_PG, exports OPSCTL_CONFIG and
# OPSCTL_STATE_DIR (the test's runs share the server user's).
pg_physical_conf() {
	local w=$1
	mkdir -p "$w"
	chmod 755 "$T" "$w"
	[ "$(id -u)" -ne 0 ] || chown postgres: "$w"
	STORE="$w/store"
	STATE_PG="$w/state"
	_pg_owner mkdir -p "$STORE" "$STATE_PG"
	cat >"$w/opsctl.conf" <<EOC
[general]
state_dir = $STATE_PG
[backup]
dir = $STORE
method = physical
wal_timeout = 30s
[db]
host = 127.0.0.1
user = postgres
name = postgres
EOC
	chmod 644 "$w/opsctl.conf"
	export OPSCTL_CONFIG="$w/opsctl.conf" OPSCTL_STATE_DIR="$STATE_PG"
}

# pg_archiving_start DIR [SETTINGS]: initdb DIR/data and start it on a free
# port (PORT) with archive_command = opsctl backup wal-push and DIR/opsctl.conf,
# SETTINGS (more postgresql.conf lines) after; stopped at exit; PG* exported.
pg_archiving_start() {
	local w=$1 extra=${2:-}
	PORT=$(pg_free_port)
	_pg_owner "$PG_BIN/initdb" -D "$w/data" -U postgres --auth=trust -E UTF8 --no-locale \
		--no-sync >"$T/initdb.log" 2>&1 || bail_out "initdb"
	cat >>"$w/data/postgresql.conf" <<EOC
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$w'
wal_level = replica
archive_mode = on
archive_command = 'env OPSCTL_CONFIG=$w/opsctl.conf $OPSCTL backup wal-push %p'
max_wal_senders = 4
fsync = off
$extra
EOC
	_pg_owner "$PG_BIN/pg_ctl" -D "$w/data" -l "$w/server.log" -w start >/dev/null ||
		bail_out "server with archive_mode starts"
	at_exit "_pg_owner $PG_BIN/pg_ctl -D $w/data -m immediate stop"
	export PGHOST=127.0.0.1 PGPORT=$PORT PGUSER=postgres PGDATABASE=postgres
}
