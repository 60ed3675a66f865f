#!/usr/bin/env python3
"""The API that t548 scans: several listeners on loopback, one per profile.

usage: api_peer.py PORTS_FILE TLS_DIR

Each listener takes a free port; "NAME PORT" lines go into PORTS_FILE once
all listen.  TLS_DIR holds NAME.pem/NAME.key from the test's CA.

  leaky       good certificate, accepts TLS 1.0/1.1, no HSTS/CSP/nosniff/frame
              options, CORS * with credentials, Server and X-Powered-By
              banners, /admin and /api/documents open, /health leaking
  hardened    good certificate, TLS 1.2+, every header, auth enforced, bare /health
  expired, otherhost, selfsigned, expiring: the hardened API behind those certificates
  redirect    plain HTTP answering 301 to https://
  plain       plain HTTP answering 200
  silent      accepts TCP connections and never answers
"""
import http.server
import json
import os
import socket
import socketserver
import ssl
import sys
import threading
import warnings

PORTS, TLS = sys.argv[1], sys.argv[2]
LEAKY_HEALTH = {
    "status": "degraded",
    "version": "2.4.1",
    "components": {
        "database": {"hostname": "db-prod-01.internal", "db_password": "Sup3rS3cretDbPassw0rd!"},
    },
    "error": "Traceback (most recent call last):\n  File \"app.py\", line 12, in check\nConnectionError",
}


class Quiet(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, status, body=b"", headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


class Leaky(Quiet):
    def do_GET(self):
        h = [("X-Powered-By", "Express 4.17.1"), ("Access-Control-Allow-Origin", "*"),
             ("Access-Control-Allow-Credentials", "true"), ("Content-Type", "application/json")]
        if self.path == "/health":
            self.send(200, json.dumps(LEAKY_HEALTH).encode(), h)
        else:
            self.send(200, b'{"documents": []}', h)


class Hardened(Quiet):
    server_version = "api"
    sys_version = ""

    def do_GET(self):
        h = [("Strict-Transport-Security", "max-age=31536000; includeSubDomains"),
             ("X-Content-Type-Options", "nosniff"),
             ("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"),
             ("X-Frame-Options", "DENY"), ("Content-Type", "application/json")]
        origin = self.headers.get("Origin")
        if origin == "https://app.example":
            h += [("Access-Control-Allow-Origin", origin), ("Access-Control-Allow-Credentials", "true")]
        if self.path == "/health":
            self.send(200, b'{"status": "ok"}', h)
        elif self.path in ("/admin", "/api/documents"):
            self.send(401, b'{"error": "unauthorized"}', h + [("WWW-Authenticate", "Bearer")])
        else:
            self.send(200, b'{"name": "api"}', h)


class Redirect(Quiet):
    server_version = "api"
    sys_version = ""

    def do_GET(self):
        self.send(301, b"", [("Location", "https://localhost" + self.path)])


class Plain(Hardened):
    pass


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def tls_context(name, legacy):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    if legacy:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
            ctx.minimum_version = ssl.TLSVersion.TLSv1
    else:
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(os.path.join(TLS, name + ".pem"), os.path.join(TLS, name + ".key"))
    return ctx


class TLSServer(Server):
    ctx = None

    def get_request(self):
        sock, addr = self.socket.accept()
        sock.settimeout(5)
        try:
            return self.ctx.wrap_socket(sock, server_side=True), addr
        except (ssl.SSLError, OSError):
            sock.close()
            raise OSError("handshake failed")


def serve(srv):
    threading.Thread(target=srv.serve_forever, daemon=True).start()


ports = {}
for name, handler, cert, legacy in [
    ("leaky", Leaky, "good", True),
    ("hardened", Hardened, "good", False),
    ("expired", Hardened, "expired", False),
    ("otherhost", Hardened, "otherhost", False),
    ("selfsigned", Hardened, "selfsigned", False),
    ("expiring", Hardened, "expiring", False),
]:
    srv = TLSServer(("127.0.0.1", 0), handler)
    srv.ctx = tls_context(cert, legacy)
    ports[name] = srv.server_address[1]
    serve(srv)
for name, handler in [("redirect", Redirect), ("plain", Plain)]:
    srv = Server(("127.0.0.1", 0), handler)
    ports[name] = srv.server_address[1]
    serve(srv)

silent = socket.socket()
silent.bind(("127.0.0.1", 0))
silent.listen(16)
ports["silent"] = silent.getsockname()[1]
held = []


def hold():
    while True:
        held.append(silent.accept()[0])


threading.Thread(target=hold, daemon=True).start()

with open(PORTS + ".tmp", "w") as f:
    for name, port in ports.items():
        f.write("%s %d\n" % (name, port))
os.rename(PORTS + ".tmp", PORTS)
threading.Event().wait()
