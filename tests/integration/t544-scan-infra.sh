#!/usr/bin/env bash
# t544: opsctl scan -t infra against a deployment this test makes weak, then
# its hardened twin: a private PostgreSQL (trust and md5 rules for any
# address, a superuser login role, md5 passwords, CREATE on public for
# PUBLIC, guide 004's users table with inactive and admin users), a Redis
# without a password and with protected mode off, certificates made with
# openssl (expired, expiring, 1024-bit SHA-1 self-signed, valid), open
# state and backup directories, a Lynis report.  Each planted problem is
# found once at its severity; the twin (TLS and SCRAM only, ACL users, 0700
# directories, encrypted backups) yields nothing; no password appears in
# any output.
. "$(dirname "$0")/../lib/common.sh"
. "$ROOT/tests/lib/pg.sh"
tool=$(missing_tool redis-server redis-cli openssl faketime psql) && bail_out "$tool (scripts/setup)"

# Its own cluster: pg_hba.conf and the server's settings change here.
unset OPSCTL_TEST_PG_STARTED
pg_start || bail_out "PostgreSQL starts"

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# ---- certificates ----
mkdir -p "$T/tls"
(
	cd "$T/tls" &&
		openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 30 \
			-subj "/CN=opsctl t544 ca" &&
		openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr \
			-subj "/CN=localhost" &&
		printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >server.ext &&
		openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 365 \
			-extfile server.ext -out valid.pem &&
		openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 3 \
			-extfile server.ext -out soon.pem &&
		faketime '2020-01-01 00:00:00' openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key \
			-CAcreateserial -days 30 -extfile server.ext -out expired.pem &&
		openssl req -x509 -newkey rsa:1024 -sha1 -nodes -keyout weak.key -out weak.pem -days 365 \
			-subj "/CN=weak.example"
) >"$T/openssl.log" 2>&1 || { cat "$T/openssl.log" >&2; bail_out "openssl makes the test certificates"; }
chmod 600 "$T"/tls/*.key

# ---- PostgreSQL, weak ----
DATA="$PG_TEST_DIR/data"
cat >"$T/pg_hba.weak" <<'HBA'
local all all trust
host all all 127.0.0.1/32 trust
host all all 0.0.0.0/0 md5
HBA
install -m 600 -o postgres -g postgres "$T/pg_hba.weak" "$DATA/pg_hba.conf" 2>/dev/null ||
	cp "$T/pg_hba.weak" "$DATA/pg_hba.conf"
printf "password_encryption = md5\nlog_connections = off\n" >>"$DATA/postgresql.conf"
psql_q "select pg_reload_conf()" >/dev/null
psql_q "create role admin login superuser" &&
	psql_q "create role manager login createrole" &&
	psql_q "create role viewer login" &&
	psql_q "create database user_management_db" &&
	psql_q -d user_management_db "grant create on schema public to public" &&
	psql_q -d user_management_db "create table users (id serial primary key, username text not null,
		roles text[] not null default '{user}', status text not null default 'active',
		created_at timestamptz not null default now(), last_login_at timestamptz)" &&
	psql_q -d user_management_db "insert into users (username, roles, last_login_at) values
		('alice', '{user}', now() - interval '2 days'),
		('bob', '{user}', null),
		('carol', '{user}', now() - interval '120 days'),
		('root', '{user,admin}', now() - interval '1 day')" || bail_out "the weak database"

# ---- Redis, weak and hardened ----
P_WEAK=$(free_port) P_TLS=$(free_port)
SCAN_PW=scanner-$$-Zq7pw DEF_PW=default-$$-Xk9pw PG_PW=pg-$$-Wm3pw
mkdir -p "$T/rweak" "$T/rhard"
bg redis-server --port "$P_WEAK" --bind 127.0.0.1 --protected-mode no --dir "$T/rweak" \
	--save "" --appendonly no
cat >"$T/rhard/redis.conf" <<CONF
port 0
tls-port $P_TLS
bind 127.0.0.1
protected-mode yes
dir $T/rhard
save ""
appendonly no
tls-cert-file $T/tls/valid.pem
tls-key-file $T/tls/server.key
tls-ca-cert-file $T/tls/ca.pem
tls-auth-clients no
user default on >$DEF_PW ~* &* +@all -flushall -flushdb -config -debug -keys
user scanner on >$SCAN_PW +@connection +info +config|get +acl|list +acl|dryrun +command|info
CONF
bg redis-server "$T/rhard/redis.conf"
wait_for 10 redis-cli -p "$P_WEAK" ping || bail_out "redis-server (weak) starts"
wait_for 10 env REDISCLI_AUTH="$SCAN_PW" redis-cli --tls --cacert "$T/tls/ca.pem" -p "$P_TLS" \
	--user scanner ping || bail_out "redis-server (TLS, ACL users) starts"

# ---- files ----
mkdir -p "$OPSCTL_STATE_DIR" "$T/backups" "$T/lynis"
chmod 777 "$OPSCTL_STATE_DIR"
chmod 755 "$T/backups"
cat >"$T/lynis/report.dat" <<'DAT'
# Lynis Report
report_version_major=1
warning[]=AUTH-9262|Installed password hashing module is not PAM-cracklib|-|-|
suggestion[]=SSH-7408|Consider hardening SSH configuration|-|-|
warning[]=FIRE-4512|iptables module(s) loaded, but no rules active|-|-|
DAT
mkdir -p "$T/bin"
printf '#!/bin/sh\necho "Lynis 3.0.8"\n' >"$T/bin/lynis"
chmod 755 "$T/bin/lynis"

export OPSCTL_CONFIG="$T/opsctl.conf"
cat >"$OPSCTL_CONFIG" <<CONF
[db]
databases = user_management_db,postgres
[cache]
redis_url = redis://127.0.0.1:$P_WEAK
[backup]
dir = $T/backups
[redis]
connect_timeout = 5s
[scan]
cert_files = $T/tls/expired.pem,$T/tls/soon.pem,$T/tls/weak.pem,$T/tls/valid.pem
lynis_report = $T/lynis/report.dat
CONF
chmod 666 "$OPSCTL_CONFIG"

# findings FILE: "rule severity" per infra finding, sorted.
findings() {
	python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
for f in d["findings"]:
    if f["rule"].startswith("infra."):
        print(f["rule"], f["severity"])
' "$1" | sort
}

# ---- the weak deployment ----
run env PATH="$T/bin:$PATH" "$OPSCTL" scan -t infra -o "$T/weak.json" -s low --exit-zero
expect_rc 0 "scan -t infra --exit-zero on the weak deployment exits 0"
findings "$T/weak.json" >"$T/weak.got"
sort >"$T/weak.want" <<'WANT'
infra.access.admin-user info
infra.access.inactive-user medium
infra.access.inactive-user medium
infra.backup.unencrypted medium
infra.cert.expired critical
infra.cert.expiring high
infra.cert.self-signed medium
infra.cert.weak-key high
infra.cert.weak-signature high
infra.lynis medium
infra.lynis medium
infra.perm.dir-open medium
infra.perm.world-writable high
infra.perm.world-writable high
infra.pg.hba-open-address high
infra.pg.hba-trust critical
infra.pg.hba-trust high
infra.pg.hba-weak-auth medium
infra.pg.log-connections-off low
infra.pg.password-encryption medium
infra.pg.privileged-role high
infra.pg.privileged-role high
infra.pg.public-schema-create medium
infra.pg.ssl-off high
infra.redis.dangerous-command medium
infra.redis.dangerous-command medium
infra.redis.dangerous-command medium
infra.redis.dangerous-command medium
infra.redis.no-password critical
infra.redis.protected-mode-off high
infra.redis.tls-off medium
WANT
if diff "$T/weak.want" "$T/weak.got" >"$T/weak.diff"; then
	ok "each planted problem found once, at its severity (31 findings)"
else
	not_ok "each planted problem found once, at its severity"
	sed 's/^/#   /' "$T/weak.diff"
	diag_run
fi
OUT_SAVE=$OUT
OUT="$T/weak.json"
expect_json_true 'all(all(k in f and f[k] != "" for k in ("rule","severity","title","target","evidence","remediation","fingerprint")) for f in d["findings"])' "every finding has rule, severity, title, target, evidence, remediation, fingerprint"
expect_json_true 'len({f["fingerprint"] for f in d["findings"]}) == len(d["findings"])' "fingerprints are distinct"
expect_json_true 'find(d["findings"], "rule", "infra.pg.hba-trust")["target"].startswith("postgresql://127.0.0.1:") and "pg_hba.conf line 2: host all all 127.0.0.1/255.255.255.255 trust" in [f["evidence"] for f in d["findings"]]' "a pg_hba finding names the server and the rule's line"
expect_json_true '[f["target"].split(" user ")[1] for f in d["findings"] if f["rule"] == "infra.access.inactive-user"] == ["bob", "carol"] and find(d["findings"], "rule", "infra.access.admin-user")["target"].endswith("/user_management_db user root")' "access review: bob never logged in, carol 120 days ago, root is admin"
expect_json_true 'sorted((f["target"].rsplit(" ", 1)[1], f["evidence"]) for f in d["findings"] if f["rule"] == "infra.pg.privileged-role") == [("admin", "login role admin has SUPERUSER"), ("manager", "login role manager has CREATEROLE")]' "the SUPERUSER and CREATEROLE login roles (not postgres, not viewer)"
expect_json_true 'sorted(f["target"].rsplit(" ", 1)[1] for f in d["findings"] if f["rule"] == "infra.redis.dangerous-command") == ["CONFIG", "FLUSHALL", "FLUSHDB", "KEYS"]' "FLUSHALL, FLUSHDB, CONFIG, KEYS available (DEBUG is off by default)"
expect_json_true 'find(d["findings"], "rule", "infra.cert.expired")["file"].endswith("expired.pem") and "FIRE-4512" in find(d["findings"], "target", "lynis FIRE-4512")["evidence"]' "the expired certificate's file; a Lynis warning by its test id"
OUT=$OUT_SAVE

run env PATH="$T/bin:$PATH" "$OPSCTL" scan -t infra -o "$T/weak2.json" -s critical
expect_rc 1 "-s critical: the critical findings fail the run (exit 1)"
expect_out_contains "infra.redis.no-password" "the text output names the Redis finding"
run env PATH="$T/bin:$PATH" "$OPSCTL" --output json scan -t infra -o "$T/weak3.json" -s critical
expect_json_true 'all(f["severity"] == "critical" for f in d["findings"]) and len(d["findings"]) == 3' "JSON: -s critical shows the 3 critical findings"
[ "$(findings "$T/weak3.json" | wc -l)" -eq 31 ]
check $? "the results file has every finding whatever the floor"

# A role that may not read pg_hba_file_rules: said, not taken for a clean result.
sed 's/^databases = .*/&\nuser = viewer/' "$OPSCTL_CONFIG" >"$T/viewer.conf"
OPSCTL_CONFIG="$T/viewer.conf" run env PATH="$T/bin:$PATH" "$OPSCTL" scan -t infra -o "$T/viewer.json" -s low --exit-zero
expect_rc 0 "scan as a role without pg_read_all_settings-like rights still runs"
[ "${T544_DEBUG:-}" ] && python3 -c 'import json,sys; [print("#", f["rule"], f["target"], f["evidence"]) for f in json.load(open(sys.argv[1]))["findings"]]' "$T/viewer.json"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); u=[f for f in d["findings"] if f["rule"]=="infra.unchecked"]; sys.exit(not (sorted(f["evidence"].split(":")[0] for f in u) == ["cannot check pg_hba.conf (pg_hba_file_rules)", "cannot check the users table (username, roles, status, last_login_at)"] and all("permission denied" in f["evidence"] and f["severity"] == "info" for f in u) and not [f for f in d["findings"] if f["rule"].startswith("infra.pg.hba")]))' "$T/viewer.json"
check $? "pg_hba.conf and the users table unreadable to the role: an infra.unchecked info finding for each, saying why"

# Lynis not installed: nothing; scan.lynis = yes: an unreachable finding.
run env PATH="/usr/bin:/bin" "$OPSCTL" scan -t infra -o "$T/nolynis.json" -s low --exit-zero
! findings "$T/nolynis.json" | grep -q -e '^infra.lynis ' -e '^infra.unreachable '
check $? "no lynis on PATH: no Lynis findings, nothing said"
printf '[scan]\nlynis = yes\n' >>"$OPSCTL_CONFIG"
run env PATH="/usr/bin:/bin" "$OPSCTL" scan -t infra -o "$T/nolynis2.json" -s low --exit-zero
findings "$T/nolynis2.json" | grep -qx 'infra.unreachable info' && grep -q 'lynis is not installed' "$T/nolynis2.json"
check $? "scan.lynis = yes without lynis: an info finding saying so"

# A Redis that is down: an info finding, no hang.
P_DOWN=$(free_port)
sed -i "s#^redis_url = .*#redis_url = redis://127.0.0.1:$P_DOWN#" "$OPSCTL_CONFIG"
run env PATH="/usr/bin:/bin" timeout 60 "$OPSCTL" scan -t infra -o "$T/down.json" -s low --exit-zero
expect_rc 0 "Redis down: the scan goes on"
grep -q '"target":[[:space:]]*"Redis"' "$T/down.json" && ! findings "$T/down.json" | grep -q '^infra.redis'
check $? "Redis down: an unreachable finding, no Redis findings"

# ---- the hardened twin ----
cp "$T/tls/valid.pem" "$DATA/server.crt"
cp "$T/tls/server.key" "$DATA/server.key"
chown postgres: "$DATA/server.crt" "$DATA/server.key" 2>/dev/null
chmod 600 "$DATA/server.key"
printf "ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\npassword_encryption = scram-sha-256\nlog_connections = on\n" >>"$DATA/postgresql.conf"
psql_q "select pg_reload_conf()" >/dev/null
sleep 1
psql_q "drop role admin" && psql_q "drop role manager" &&
	psql_q "alter role postgres password '$PG_PW'" &&
	psql_q -d user_management_db "revoke create on schema public from public" &&
	psql_q -d user_management_db "delete from users where username <> 'alice'" || bail_out "hardening the database"
cat >"$DATA/pg_hba.conf" <<'HBA'
local all all scram-sha-256
hostssl all all 127.0.0.1/32 scram-sha-256
HBA
PGPASSWORD=$PG_PW psql_q "select pg_reload_conf()" >/dev/null
sleep 1
chmod 700 "$OPSCTL_STATE_DIR" "$T/backups"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$T/backup.key"
chmod 600 "$T/backup.key"
cat >"$OPSCTL_CONFIG" <<CONF
[db]
databases = user_management_db,postgres
sslmode = require
[cache]
redis_url = rediss://scanner@localhost:$P_TLS
[backup]
dir = $T/backups
encryption_key_file = $T/backup.key
[redis]
connect_timeout = 5s
tls_ca_file = $T/tls/ca.pem
[scan]
cert_files = $T/tls/valid.pem
lynis_report = $T/lynis/clean.dat
CONF
chmod 600 "$OPSCTL_CONFIG"
grep -v '^warning' "$T/lynis/report.dat" >"$T/lynis/clean.dat"
PGPASSWORD=$PG_PW REDISCLI_AUTH=$SCAN_PW run env PATH="$T/bin:$PATH" "$OPSCTL" scan -t infra -o "$T/hard.json" -s info
expect_rc 0 "the hardened twin: exit 0 at -s info"
python3 -c 'import json,sys; [print(f["rule"], f["severity"], f["target"], f["evidence"]) for f in json.load(open(sys.argv[1]))["findings"]]' "$T/hard.json" >"$T/hard.got"
[ ! -s "$T/hard.got" ]
check $? "the hardened twin: no finding at all"
[ -s "$T/hard.got" ] && sed 's/^/#   /' "$T/hard.got"

# ---- the state directory is 0755 by design; its keys/ and backups/ are not ----
chmod 755 "$OPSCTL_STATE_DIR"
mkdir -p "$OPSCTL_STATE_DIR/keys" && chmod 755 "$OPSCTL_STATE_DIR/keys"
PGPASSWORD=$PG_PW REDISCLI_AUTH=$SCAN_PW run env PATH="$T/bin:$PATH" "$OPSCTL" scan -t infra -o "$T/perm.json" -s info --exit-zero
python3 - "$T/perm.json" "$OPSCTL_STATE_DIR" <<'PY'
import json, sys
f = [x for x in json.load(open(sys.argv[1]))["findings"] if x["rule"].startswith("infra.perm")]
assert [(x["rule"], x["target"]) for x in f] == [("infra.perm.dir-open", sys.argv[2] + "/keys")], f
PY
check $? "a 0755 state directory is no finding (the textfile lives there), a 0755 keys/ below it is infra.perm.dir-open"
chmod 700 "$OPSCTL_STATE_DIR/keys"

# ---- no secret anywhere ----
! grep -qF -e "$SCAN_PW" -e "$DEF_PW" -e "$PG_PW" "$T"/*.json "$OUT" "$ERR"
check $? "no password in the results files or the output"

done_testing

