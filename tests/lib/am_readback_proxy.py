#!/usr/bin/env python3
"""A proxy in front of a real Alertmanager whose list of alerts fails, for the
test that a test alert is ended even when it cannot be read back (t710).

usage: am_readback_proxy.py PORTS_FILE UPSTREAM_PORT LOG
Listens on 127.0.0.1 (PORTS_FILE gets "proxy PORT"); every request is passed
to 127.0.0.1:UPSTREAM_PORT as it came, except GET /api/v2/alerts, which is
answered 503 without reaching Alertmanager.  LOG gets "METHOD PATH STATUS"
for each request.
"""
import http.client
import http.server
import sys
import threading

import peer_listen

if len(sys.argv) != 4:
    sys.exit(__doc__)
upstream, log = int(sys.argv[2]), sys.argv[3]
lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def note(self, status):
        with lock, open(log, "a") as f:
            f.write("%s %s %d\n" % (self.command, self.path.split("?")[0], status))

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        if self.command == "GET" and self.path.split("?")[0] == "/api/v2/alerts":
            data = b'"the list is down (am_readback_proxy)"'
            self.send_response(503)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            self.note(503)
            return
        conn = http.client.HTTPConnection("127.0.0.1", upstream, timeout=10)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
        conn.request(self.command, self.path, body=body, headers=headers)
        r = conn.getresponse()
        data = r.read()
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        conn.close()
        self.note(r.status)

    do_GET = do_POST = do_PUT = do_DELETE = handle_any


if __name__ == "__main__":
    peer_listen.serve(Handler, sys.argv[1], ["proxy"], "am_readback_proxy.py", __doc__)
