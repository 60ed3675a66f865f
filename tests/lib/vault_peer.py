#!/usr/bin/env python3
"""A scripted HashiCorp Vault KV version 2 peer for the tests of keys/vault
(t505), standard library only.  No Vault server can be installed here, so the
client is tested against the documented endpoints as this peer implements them.

usage: VAULT_PEER_TOKEN=TOKEN vault_peer.py PORTS_FILE LISTENER...
  TOKEN     the one token accepted in X-Vault-Token (from the environment,
            so that it is not on the peer's command line)
  LISTENER  NAME               plain HTTP
            NAME:CERT:KEY      TLS with that certificate and key (PEM)
Every listener binds 127.0.0.1 on a port of the kernel's choosing; when all
are listening, PORTS_FILE is written (atomically) with one "NAME PORT" line
each.  All listeners share one store and answer, for any MOUNT (one path
segment) and PATH:

  GET  /v1/MOUNT/data/PATH[?version=N]
                   200 {"data": {"data": {...}, "metadata": {"version": N,
                   "created_time", "deletion_time": "", "destroyed": false}}};
                   404 {"errors": []} when PATH has no such version
  POST /v1/MOUNT/data/PATH   (PUT too)
                   body {"options": {"cas": N}, "data": {...}}: a new version,
                   200 {"data": {"version": N, "created_time", ...}}.  With
                   options.cas, N must be the current version (0: PATH must
                   not exist) or the answer is Vault's 400
                   {"errors": ["check-and-set parameter did not match the
                   current version"]}; "data" missing: 400
  GET  /v1/MOUNT/metadata/PATH
                   200 {"data": {"current_version", "oldest_version",
                   "versions": {"N": {"created_time", ...}}}}; 404 when none
  X-Vault-Token missing or not TOKEN: 403 {"errors": ["permission denied"]}
  X-Vault-Namespace: recorded (the store is shared)

Test hooks (no token needed):
  GET  /_peer/state            the store, every version, and every request's
                               method, path, namespace and whether a token
                               came (never the token itself), as JSON
  POST /_peer/fail?status=S&n=N the next N data requests answer S (503: "Vault
                               is sealed")
"""
import datetime
import http.server
import json
import os
import sys
import threading
import urllib.parse

import peer_listen

lock = threading.Lock()
store = {}          # "MOUNT/PATH" -> list of {"data", "created_time"}
requests = []
failures = {"status": 0, "n": 0}
TOKEN = None
CAS_MISMATCH = "check-and-set parameter did not match the current version"


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, obj=None):
        body = b"" if obj is None else json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def handle_any(self):
        raw = self.read_body()
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        parts = [urllib.parse.unquote(p) for p in url.path.strip("/").split("/")]
        if parts[0] == "_peer":
            return self.peer_hook(parts, query)
        with lock:
            requests.append({"method": self.command, "path": url.path,
                             "namespace": self.headers.get("X-Vault-Namespace"),
                             "token_sent": bool(self.headers.get("X-Vault-Token"))})
        if self.headers.get("X-Vault-Token") != TOKEN:
            return self.answer(403, {"errors": ["permission denied"]})
        if len(parts) < 4 or parts[0] != "v1" or parts[2] not in ("data", "metadata"):
            return self.answer(404, {"errors": []})
        with lock:
            if failures["n"] > 0:
                failures["n"] -= 1
                status = failures["status"]
                return self.answer(status, {"errors": ["Vault is sealed" if status == 503
                                                       else "injected failure"]})
        key = parts[1] + "/" + "/".join(parts[3:])
        if parts[2] == "metadata":
            return self.metadata(key)
        if self.command == "GET":
            return self.read(key, query)
        if self.command in ("POST", "PUT"):
            return self.write(key, raw)
        return self.answer(405, {"errors": []})

    def read(self, key, query):
        with lock:
            versions = store.get(key, [])
            n = int(query.get("version") or 0) or len(versions)
            if n < 1 or n > len(versions):
                return self.answer(404, {"errors": []})
            v = versions[n - 1]
            self.answer(200, {"request_id": "peer", "lease_id": "", "renewable": False,
                              "lease_duration": 0,
                              "data": {"data": v["data"],
                                       "metadata": {"created_time": v["created_time"],
                                                    "custom_metadata": None,
                                                    "deletion_time": "", "destroyed": False,
                                                    "version": n}}})

    def write(self, key, raw):
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return self.answer(400, {"errors": ["error parsing JSON"]})
        data = body.get("data")
        if not isinstance(data, dict):
            return self.answer(400, {"errors": ["no data provided"]})
        cas = (body.get("options") or {}).get("cas")
        with lock:
            versions = store.setdefault(key, [])
            if cas is not None and int(cas) != len(versions):
                if not versions:
                    del store[key]
                return self.answer(400, {"errors": [CAS_MISMATCH]})
            created = now()
            versions.append({"data": data, "created_time": created})
            self.answer(200, {"request_id": "peer", "data": {
                "created_time": created, "custom_metadata": None, "deletion_time": "",
                "destroyed": False, "version": len(versions)}})

    def metadata(self, key):
        if self.command != "GET":
            return self.answer(405, {"errors": []})
        with lock:
            versions = store.get(key)
            if not versions:
                return self.answer(404, {"errors": []})
            self.answer(200, {"data": {
                "cas_required": False, "current_version": len(versions),
                "oldest_version": 1, "max_versions": 0,
                "created_time": versions[0]["created_time"],
                "updated_time": versions[-1]["created_time"],
                "versions": {str(i + 1): {"created_time": v["created_time"],
                                          "deletion_time": "", "destroyed": False}
                             for i, v in enumerate(versions)}}})

    def peer_hook(self, parts, query):
        if parts[1:] == ["state"]:
            with lock:
                return self.answer(200, {"store": store, "requests": requests})
        if parts[1:] == ["fail"]:
            with lock:
                failures["status"] = int(query.get("status", "503"))
                failures["n"] = int(query.get("n", "1"))
            return self.answer(200, {})
        return self.answer(404, {"errors": []})

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any


def main():
    global TOKEN
    TOKEN = os.environ.get("VAULT_PEER_TOKEN")
    if len(sys.argv) < 3 or not TOKEN:
        sys.exit(__doc__)
    peer_listen.serve(Handler, sys.argv[1], sys.argv[2:], "vault_peer.py", __doc__)


main()
