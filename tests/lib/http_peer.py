#!/usr/bin/env python3
"""A scripted HTTP(S) peer for the tests of core/http (t310), standard library only.

usage: http_peer.py PORTS_FILE LISTENER...
  LISTENER  NAME                         plain HTTP
            NAME:CERT:KEY                TLS with that certificate and key (PEM)
            NAME:CERT:KEY:CLIENT_CA      TLS that also requires a client certificate
Every listener binds 127.0.0.1 on a port of the kernel's choosing; when all
are listening, PORTS_FILE is written (atomically) with one "NAME PORT" line
each.  All listeners answer the same paths:

  /ok                       200 "ok"
  /echo                     200, a JSON account of the request: method, path,
                            headers, body length and SHA-256 (chunked bodies too)
  /status/N?body=TEXT       HTTP N with a short body (TEXT when given)
  /stall                    reads the request, then never answers (60 s)
  /flood                    200 and an endless body, without Content-Length
  /flood-headers            an endless stream of header lines
  /flaky/KEY?fail=N&status=S&retry_after=V
                            the first N requests for KEY answer S (503), with
                            Retry-After V when given ("date:SECS" sends the
                            HTTP-date SECS from now); later ones 200
  /count/KEY                how many /flaky/KEY requests arrived, as text
  /redirect/N               302 to /redirect/N-1; /redirect/0 is 200
  /redirect-to?url=U        302 to U
  /hooks/...                200; stands for a webhook whose path is a secret
  /slow/MS                  200 "ok" after MS milliseconds
"""
import email.utils
import hashlib
import http.server
import json
import sys
import threading
import time
import urllib.parse

import peer_listen

lock = threading.Lock()
counts = {}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def answer(self, status, body=b"", headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def handle_any(self):
        body = self.read_body()
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        parts = url.path.strip("/").split("/")
        head = parts[0]
        if head == "ok":
            self.answer(200, b"ok\n")
        elif head == "echo":
            account = {
                "method": self.command,
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body_len": len(body),
                "body_sha256": hashlib.sha256(body).hexdigest(),
            }
            self.answer(200, json.dumps(account).encode(), [("Content-Type", "application/json")])
        elif head == "status" and len(parts) == 2:
            code = int(parts[1])
            # 204 and 304 answers have no body (RFC 9110).
            body = query["body"].encode() if "body" in query else b"status %d\n" % code
            self.answer(code, b"" if code in (204, 304) else body)
        elif head == "stall":
            time.sleep(60)
            self.close_connection = True
        elif head == "flood":
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            chunk = b"x" * 65536
            try:
                while True:
                    self.wfile.write(chunk)
            except OSError:
                pass
            self.close_connection = True
        elif head == "flood-headers":
            self.send_response(200)
            try:
                self.flush_headers()
                i = 0
                while True:
                    self.wfile.write(b"X-Flood-%d: %s\r\n" % (i, b"y" * 200))
                    i += 1
            except OSError:
                pass
            self.close_connection = True
        elif head in ("flaky", "count") and len(parts) == 2:
            key = parts[1]
            if head == "count":
                with lock:
                    n = counts.get(key, 0)
                self.answer(200, b"%d\n" % n)
                return
            with lock:
                counts[key] = counts.get(key, 0) + 1
                n = counts[key]
            if n <= int(query.get("fail", "0")):
                headers = []
                ra = query.get("retry_after")
                if ra and ra.startswith("date:"):
                    when = time.time() + float(ra[5:])
                    headers.append(("Retry-After", email.utils.formatdate(when, usegmt=True)))
                elif ra:
                    headers.append(("Retry-After", ra))
                self.answer(int(query.get("status", "503")), b"try later\n", headers)
            else:
                self.answer(200, b"ok after %d\n" % n)
        elif head == "redirect" and len(parts) == 2:
            n = int(parts[1])
            if n <= 0:
                self.answer(200, b"redirected\n")
            else:
                self.answer(302, b"", [("Location", "/redirect/%d" % (n - 1))])
        elif head == "redirect-to":
            self.answer(302, b"", [("Location", query.get("url", "/ok"))])
        elif head == "hooks":
            self.answer(200, b"ok\n")
        elif head == "slow" and len(parts) == 2:
            time.sleep(int(parts[1]) / 1000)
            self.answer(200, b"ok\n")
        else:
            self.answer(404, b"no such path\n")

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = handle_any


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    peer_listen.serve(Handler, sys.argv[1], sys.argv[2:], "http_peer.py", __doc__)


main()
