#!/usr/bin/env python3
"""The application of rotate-keys' acceptance test (t520), standard library only.

usage: keys_client.py ENV_FILE PG_PORT DATABASES REDIS_PORT LOG [INTERVAL]

Loops until SIGTERM: every INTERVAL seconds (0.05) it reads ENV_FILE afresh,
as an application that reconnects from its .env does, then
  - opens a NEW PostgreSQL connection over TCP to 127.0.0.1:PG_PORT as
    DB_USER with DB_PASSWORD (SCRAM-SHA-256, RFC 5802/7677, written here so
    that no driver's connection cache can hide a failed login) and runs
    SELECT 1;
  - opens a NEW Redis connection to 127.0.0.1:REDIS_PORT, sends
    AUTH REDIS_USER REDIS_PASSWORD (REDIS_USER defaults to "app") and PING.
Each attempt is one line of LOG: "EPOCH pg|redis ok|FAIL USER [DB] [why]".  The
why is the server's message or the error class, never a password; LOG has
no secret.  A file that cannot be read or parsed counts as a FAIL of both
("envfile"), since the application could not have started then either.
"""
import base64
import hashlib
import hmac
import os
import signal
import socket
import struct
import sys
import time

stop = False


def on_term(_sig, _frm):
    global stop
    stop = True


def read_env(path):
    vals = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("export "):
                line = line[7:]
            if "=" not in line:
                raise ValueError("a line without '='")
            k, _, v = line.partition("=")
            v = v.strip()
            if len(v) >= 2 and v[0] == v[-1] and v[0] in "'\"":
                v = v[1:-1]
            vals[k.strip()] = v
    return vals


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed")
        buf += chunk
    return buf


def pg_msg(s):
    head = recv_exact(s, 5)
    kind, n = head[:1], struct.unpack("!I", head[1:])[0]
    return kind, recv_exact(s, n - 4)


def pg_error(body):
    fields = {}
    for part in body.split(b"\0"):
        if part:
            fields[part[:1]] = part[1:].decode(errors="replace")
    return fields.get(b"M", "error")


def pg_login(port, db, user, password):
    """SELECT 1 over a new connection; None on success, else why."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        params = b"user\0" + user.encode() + b"\0database\0" + db.encode() + \
            b"\0application_name\0opsctl-test-keys-client\0\0"
        s.sendall(struct.pack("!II", 8 + len(params), 196608) + params)
        nonce = base64.b64encode(os.urandom(18)).decode()
        first_bare = "n=,r=" + nonce
        server_sig = None
        while True:
            kind, body = pg_msg(s)
            if kind == b"E":
                return pg_error(body)
            if kind != b"R":
                continue
            code = struct.unpack("!I", body[:4])[0]
            if code == 0:
                break
            if code == 10:  # SASL: mechanisms
                if b"SCRAM-SHA-256\0" not in body[4:]:
                    return "server does not offer SCRAM-SHA-256"
                first = ("n,," + first_bare).encode()
                payload = b"SCRAM-SHA-256\0" + struct.pack("!I", len(first)) + first
                s.sendall(b"p" + struct.pack("!I", 4 + len(payload)) + payload)
            elif code == 11:  # SASLContinue: r=,s=,i=
                server_first = body[4:].decode()
                a = dict(x.split("=", 1) for x in server_first.split(","))
                if not a["r"].startswith(nonce):
                    return "bad server nonce"
                salted = hashlib.pbkdf2_hmac("sha256", password.encode(),
                                             base64.b64decode(a["s"]), int(a["i"]))
                client_key = hmac.new(salted, b"Client Key", "sha256").digest()
                stored = hashlib.sha256(client_key).digest()
                final_bare = "c=biws,r=" + a["r"]
                auth = ",".join((first_bare, server_first, final_bare)).encode()
                sig = hmac.new(stored, auth, "sha256").digest()
                proof = bytes(x ^ y for x, y in zip(client_key, sig))
                server_key = hmac.new(salted, b"Server Key", "sha256").digest()
                server_sig = base64.b64encode(hmac.new(server_key, auth, "sha256").digest())
                final = (final_bare + ",p=" + base64.b64encode(proof).decode()).encode()
                s.sendall(b"p" + struct.pack("!I", 4 + len(final)) + final)
            elif code == 12:  # SASLFinal: v=
                if body[4:].strip() != b"v=" + server_sig:
                    return "bad server signature"
            else:
                return "authentication method %d instead of SCRAM" % code
        while True:  # until ReadyForQuery
            kind, body = pg_msg(s)
            if kind == b"E":
                return pg_error(body)
            if kind == b"Z":
                break
        q = b"SELECT 1\0"
        s.sendall(b"Q" + struct.pack("!I", 4 + len(q)) + q)
        got = None
        while True:
            kind, body = pg_msg(s)
            if kind == b"E":
                return pg_error(body)
            if kind == b"D":
                n = struct.unpack("!I", body[2:6])[0]
                got = body[6:6 + n]
            if kind == b"Z":
                break
        s.sendall(b"X\0\0\0\4")
        return None if got == b"1" else "SELECT 1 returned %r" % got
    finally:
        s.close()


def resp(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a.encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


def redis_login(port, user, password):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        s.sendall(resp("AUTH", user, password) + resp("PING"))
        f = s.makefile("rb")
        a, b = f.readline().strip(), f.readline().strip()
        if a != b"+OK":
            return a.decode(errors="replace")
        if b != b"+PONG":
            return b.decode(errors="replace")
        return None
    finally:
        s.close()


def main():
    env_file, pg_port, dbs, redis_port, log = sys.argv[1:6]
    dbs = dbs.split(",")
    n = 0
    interval = float(sys.argv[6]) if len(sys.argv) > 6 else 0.05
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    out = open(log, "a", buffering=1)
    while not stop:
        t0 = time.time()
        try:
            env = read_env(env_file)
            user, pw = env["DB_USER"], env["DB_PASSWORD"]
            ruser, rpw = env.get("REDIS_USER", "app"), env["REDIS_PASSWORD"]
        except Exception as e:  # noqa: BLE001 - any unreadable file is a failure
            out.write("%.3f pg FAIL - envfile %s\n" % (t0, type(e).__name__))
            out.write("%.3f redis FAIL - envfile %s\n" % (t0, type(e).__name__))
            time.sleep(interval)
            continue
        db = dbs[n % len(dbs)]
        n += 1
        for kind, fn, args, who in (("pg", pg_login, (int(pg_port), db, user, pw), user + " " + db),
                                    ("redis", redis_login, (int(redis_port), ruser, rpw), ruser)):
            try:
                why = fn(*args)
            except Exception as e:  # noqa: BLE001
                why = type(e).__name__
            out.write("%.3f %s %s %s%s\n" % (time.time(), kind, "FAIL" if why else "ok", who,
                                            " " + why if why else ""))
        time.sleep(max(0.0, interval - (time.time() - t0)))
    out.close()


if __name__ == "__main__":
    main()
