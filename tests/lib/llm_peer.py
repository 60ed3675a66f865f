#!/usr/bin/env python3
"""A scripted LLM endpoint for the health llm tests (t725), standard library only.

usage: LLM_PEER_KEY=KEY llm_peer.py PORTS_FILE LISTENER...
  KEY       the only API key the OpenAI-style paths accept (Authorization: Bearer KEY),
            from the environment, as a real endpoint would keep it out of argv
  LISTENER  as tests/lib/peer_listen.py: NAME, NAME:CERT:KEY or NAME:CERT:KEY:CLIENT_CA

Paths are MODE/v1/models (OpenAI: data[].id, the key checked: 401 with
OpenAI's error body when it is missing or wrong) and MODE/api/tags (Ollama:
models[].name, no key), the base URL a test configures being
http://127.0.0.1:PORT/MODE/v1 or http://127.0.0.1:PORT/MODE.  MODE:

  ok          the model list
  fail        HTTP 500
  slow-MS     the model list after MS milliseconds
  flaky       HTTP 500 for the first of every three requests, then the list
  stall       reads the request, never answers (60 s)
  garbage     200 with a body that is not JSON

Every request is appended to PORTS_FILE.log as "METHOD PATH AUTH" where AUTH
is "bearer-ok", "bearer-wrong" or "none", never the key itself.
"""
import http.server
import json
import os
import sys
import threading
import time

import peer_listen

KEY = ""
lock = threading.Lock()
counts = {}
LOG = ""

OPENAI = {"object": "list", "data": [
    {"id": "gpt-4o-mini", "object": "model", "owned_by": "system"},
    {"id": "text-embedding-3-small", "object": "model", "owned_by": "system"},
]}
OLLAMA = {"models": [
    {"name": "llama3:latest", "model": "llama3:latest", "size": 4661224676},
    {"name": "nomic-embed-text:v1.5", "model": "nomic-embed-text:v1.5", "size": 274302450},
]}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body, ctype="application/json"):
        if not isinstance(body, bytes):
            body = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        auth = self.headers.get("Authorization")
        seen = "none" if auth is None else "bearer-ok" if auth == "Bearer " + KEY else "bearer-wrong"
        with lock:
            with open(LOG, "a") as f:
                f.write("%s %s %s\n" % (self.command, self.path, seen))
        parts = self.path.split("?")[0].strip("/").split("/", 1)
        mode, rest = parts[0], parts[1] if len(parts) == 2 else ""
        if rest not in ("v1/models", "api/tags"):
            self.answer(404, {"error": "no such path"})
            return
        if mode == "stall":
            time.sleep(60)
            self.close_connection = True
            return
        if mode.startswith("slow-"):
            time.sleep(int(mode[5:]) / 1000)
        elif mode == "fail":
            self.answer(500, {"error": {"message": "internal error", "type": "server_error"}})
            return
        elif mode == "flaky":
            with lock:
                counts[self.path] = counts.get(self.path, 0) + 1
                n = counts[self.path]
            if n % 3 == 1:
                self.answer(500, {"error": {"message": "overloaded", "type": "server_error"}})
                return
        elif mode == "garbage":
            self.answer(200, b"<html>hello</html>", "text/html")
            return
        elif mode != "ok":
            self.answer(404, {"error": "no such mode"})
            return
        if rest == "api/tags":
            self.answer(200, OLLAMA)
        elif seen != "bearer-ok":
            self.answer(401, {"error": {"message": "Incorrect API key provided",
                                        "type": "invalid_request_error", "code": "invalid_api_key"}})
        else:
            self.answer(200, OPENAI)


def main():
    global KEY, LOG
    KEY = os.environ.get("LLM_PEER_KEY", "")
    if len(sys.argv) < 3 or not KEY:
        sys.exit(__doc__)
    LOG = sys.argv[1] + ".log"
    peer_listen.serve(Handler, sys.argv[1], sys.argv[2:], "llm_peer.py", __doc__)


main()
