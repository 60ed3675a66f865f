#!/usr/bin/env python3
"""A scripted Grafana for the tests of `opsctl dashboards` in api mode (t975),
standard library only.  Grafana itself is not installable here; this peer
implements exactly the documented endpoints opsctl calls, with Grafana's
answers and status codes, and nothing else.

usage: grafana_peer.py PORTS_FILE LISTENER [--token T] [--folder UID:TITLE]...
                       [--seed FILE] [--reject-uid UID] [--stale-read-uid UID]
  LISTENER as http_peer.py (NAME, NAME:CERT:KEY); PORTS_FILE gets "NAME PORT".
  --token T          the service account token: any other Authorization is 401
  --folder UID:TITLE a folder that exists (GET /api/folders lists them)
  --seed FILE        dashboards present at start: a JSON list of
                     {"dashboard": {...}, "folderUid": "..."} (version 1)
  --reject-uid UID   POST of that uid answers 400 as Grafana does for a
                     dashboard it cannot save
  --stale-read-uid U GET of that uid after a save answers the previous version

Grafana's API (https://grafana.com/docs/grafana/latest/developers/http_api/dashboard/):
  GET  /api/folders                 [{"uid", "title", "id"}...]
  GET  /api/dashboards/uid/UID      200 {"dashboard", "meta": {"version", "folderUid", ...}}
                                    404 {"message": "Dashboard not found"}
  POST /api/dashboards/db           {"dashboard", "folderUid", "overwrite", "message"}
                                    200 {"id", "uid", "url", "status": "success", "version", "slug"}
                                    400 a dashboard without a title, an unknown folder
                                    412 without overwrite: "version-mismatch" when the
                                        dashboard changed since its version, "name-exists"
                                        when another uid has the title in the folder
                                    401 {"message": "Unauthorized"} without the token
Test-only, without a token: GET /_peer/state (every dashboard with its version,
folder and the messages saved with it), GET /_peer/requests (method, path and
whether the Authorization header was the token, for each request).
"""
import json
import re
import sys
import threading
import http.server

import peer_listen

lock = threading.Lock()
state = {"dashboards": {}, "next_id": 1, "requests": []}
opts = {"token": None, "folders": [], "reject": set(), "stale": set()}


def slug(title):
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def authorized(self):
        auth = self.headers.get("Authorization", "")
        ok = opts["token"] is not None and auth == "Bearer " + opts["token"]
        with lock:
            state["requests"].append({"method": self.command, "path": self.path,
                                      "authorized": ok})
        if not ok:
            self.answer(401, {"message": "Unauthorized"})
        return ok

    def do_GET(self):
        if self.path == "/_peer/state":
            with lock:
                return self.answer(200, state["dashboards"])
        if self.path == "/_peer/requests":
            with lock:
                return self.answer(200, state["requests"])
        if not self.authorized():
            return
        path = self.path.split("?")[0]
        if path == "/api/folders":
            return self.answer(200, [{"id": i + 1, "uid": u, "title": t}
                                     for i, (u, t) in enumerate(opts["folders"])])
        m = re.fullmatch(r"/api/dashboards/uid/([^/]+)", path)
        if m:
            with lock:
                e = state["dashboards"].get(m.group(1))
                if not e:
                    return self.answer(404, {"message": "Dashboard not found"})
                version = e["version"]
                if m.group(1) in opts["stale"] and version > 1:
                    version -= 1
                dash = dict(e["dashboard"], id=e["id"], version=version)
                return self.answer(200, {"dashboard": dash, "meta": {
                    "type": "db", "slug": slug(dash.get("title", "")), "version": version,
                    "folderUid": e["folderUid"], "url": "/d/%s/%s" % (m.group(1), slug(dash.get("title", "")))}})
        self.answer(404, {"message": "Not found"})

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n)
        if not self.authorized():
            return
        if self.path != "/api/dashboards/db":
            return self.answer(404, {"message": "Not found"})
        try:
            req = json.loads(raw)
        except ValueError:
            return self.answer(400, {"message": "bad request data"})
        dash = req.get("dashboard")
        folder = req.get("folderUid") or ""
        if not isinstance(dash, dict) or not dash.get("title"):
            return self.answer(400, {"message": "Dashboard title cannot be empty", "status": "empty-name"})
        if folder and folder not in [u for u, _ in opts["folders"]]:
            return self.answer(400, {"message": "folder not found", "status": "not-found"})
        uid = dash.get("uid")
        if uid in opts["reject"]:
            return self.answer(400, {"message": "Dashboard %s is invalid: panel plugin not found" % uid,
                                     "status": "invalid"})
        with lock:
            cur = state["dashboards"].get(uid)
            if dash.get("id") is not None and (not cur or cur["id"] != dash["id"]):
                return self.answer(404, {"message": "Dashboard not found", "status": "not-found"})
            if not req.get("overwrite"):
                if cur and dash.get("version") != cur["version"]:
                    return self.answer(412, {"message": "The dashboard has been changed by someone else",
                                             "status": "version-mismatch"})
                for u, e in state["dashboards"].items():
                    if u != uid and e["folderUid"] == folder and e["dashboard"].get("title") == dash["title"]:
                        return self.answer(412, {"message": "A dashboard with the same name in the folder already exists",
                                                 "status": "name-exists"})
            else:
                # overwrite: another uid of the same title in the folder is replaced
                for u in [u for u, e in state["dashboards"].items()
                          if u != uid and e["folderUid"] == folder and e["dashboard"].get("title") == dash["title"]]:
                    del state["dashboards"][u]
            if cur:
                ident, version, messages = cur["id"], cur["version"] + 1, cur["messages"]
            else:
                ident, version, messages = state["next_id"], 1, []
                state["next_id"] += 1
            saved = {k: v for k, v in dash.items() if k not in ("id", "version")}
            state["dashboards"][uid] = {"dashboard": saved, "id": ident, "version": version,
                                        "folderUid": folder, "messages": messages + [req.get("message", "")]}
        s = slug(dash["title"])
        self.answer(200, {"id": ident, "uid": uid, "url": "/d/%s/%s" % (uid, s),
                          "status": "success", "version": version, "slug": s})


def main():
    args = sys.argv[1:]
    if len(args) < 2:
        sys.exit(__doc__)
    ports, listeners, rest = args[0], [], args[1:]
    i = 0
    while i < len(rest):
        a = rest[i]
        if a == "--token":
            opts["token"] = rest[i + 1]
            i += 2
        elif a == "--folder":
            u, t = rest[i + 1].split(":", 1)
            opts["folders"].append((u, t))
            i += 2
        elif a == "--seed":
            for e in json.load(open(rest[i + 1])):
                d = e["dashboard"]
                state["dashboards"][d["uid"]] = {
                    "dashboard": {k: v for k, v in d.items() if k not in ("id", "version")},
                    "id": state["next_id"], "version": 1, "folderUid": e.get("folderUid", ""),
                    "messages": ["seeded"]}
                state["next_id"] += 1
            i += 2
        elif a == "--reject-uid":
            opts["reject"].add(rest[i + 1])
            i += 2
        elif a == "--stale-read-uid":
            opts["stale"].add(rest[i + 1])
            i += 2
        else:
            listeners.append(a)
            i += 1
    peer_listen.serve(Handler, ports, listeners, "grafana_peer.py", __doc__)


if __name__ == "__main__":
    main()
