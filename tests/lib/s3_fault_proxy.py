#!/usr/bin/env python3
"""A fault-injecting HTTP proxy in front of s3rver, for the S3 retry tests.

usage: s3_fault_proxy.py LISTEN_PORT UPSTREAM_PORT MODE N LOG
  MODE first  the first N requests are answered 500 without reaching s3rver
  MODE every  every Nth request is answered 500
  MODE none   nothing is injected (the log alone)
  MODE versioned  GET ?versioning answers "Enabled" (s3rver cannot enable it)
Each request is logged as "METHOD PATH STATUS".  The Host header is passed
unchanged, so signatures made for the proxy's address still verify.
"""
import http.client
import http.server
import sys
import threading

if len(sys.argv) != 6:
    sys.exit(__doc__)
listen, upstream, mode, n, log = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5]
if mode not in ("first", "every", "none", "versioned") or (mode == "every" and n < 1):
    sys.exit("s3_fault_proxy.py: bad MODE N: %s %d\n%s" % (mode, n, __doc__))
lock = threading.Lock()
count = 0


class Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def record(self, status):
        with open(log, "a") as f:
            f.write("%s %s %d\n" % (self.command, self.path, status))

    def handle_any(self):
        global count
        if self.path == "/__ready":	# the harness's readiness probe, never counted
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        with lock:
            count += 1
            k = count
        if mode == "versioned" and self.command == "GET" and self.path.endswith("?versioning"):
            msg = (b'<?xml version="1.0" encoding="UTF-8"?><VersioningConfiguration '
                   b'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Enabled</Status></VersioningConfiguration>')
            self.send_response(200)
            self.send_header("Content-Length", str(len(msg)))
            self.end_headers()
            self.wfile.write(msg)
            self.record(200)
            return
        if (mode == "first" and k <= n) or (mode == "every" and k % n == 0):
            msg = b"<Error><Code>InternalError</Code><Message>injected</Message></Error>"
            self.send_response(500)
            self.send_header("Content-Length", str(len(msg)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(msg)
            self.record(500)
            return
        conn = http.client.HTTPConnection("127.0.0.1", upstream, timeout=60)
        headers = {k2: v for k2, v in self.headers.items()}
        try:
            conn.request(self.command, self.path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
        except OSError:
            # s3rver gone: say so rather than drop the connection.
            conn.close()
            self.send_response(502)
            self.send_header("Content-Length", "0")
            self.end_headers()
            self.record(502)
            return
        self.send_response(resp.status)
        for k2, v in resp.getheaders():
            if k2.lower() in ("transfer-encoding", "connection"):
                continue
            if k2.lower() == "content-length" and self.command != "HEAD":
                continue
            self.send_header(k2, v)
        if self.command != "HEAD":
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        self.record(resp.status)
        conn.close()

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any


http.server.ThreadingHTTPServer(("127.0.0.1", listen), Proxy).serve_forever()
