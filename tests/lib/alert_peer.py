#!/usr/bin/env python3
"""Slack's and PagerDuty's endpoints as the alert tests (t705, t710) meet
them, on loopback, standard library only.  It checks each request against
the services' documented format and answers as they do, so that a request
opsctl gets wrong fails the test instead of passing a lenient stub.

usage: alert_peer.py PORTS_FILE RECORDS WEBHOOK_PATH ROUTING_KEY LISTENER...
  LISTENER     NAME, NAME:CERT:KEY or NAME:CERT:KEY:CLIENT_CA (peer_listen.py)
  RECORDS      every request is appended to it as one JSON line: service,
               method, path, content_type, body (parsed JSON, else text),
               status and answer
  WEBHOOK_PATH the secret path of the one Slack webhook that exists
               (/services/T.../B.../...)
  ROUTING_KEY  the one PagerDuty routing key accepted (32 characters)

Paths:
  POST WEBHOOK_PATH      Slack incoming webhook: Content-Type application/json,
                         a JSON object with a non-empty string "text"
                         whose < and > arrive escaped as mrkdwn wants (Slack
                         would read them as link markup; refused here so that
                         unescaped text fails the test); 200 "ok", else 400
                         "invalid_payload" or "no_text"
  POST /services/...     any other webhook path: 404 "no_service"
  POST /v2/enqueue       PagerDuty Events API v2: routing_key, event_action
                         trigger|acknowledge|resolve, dedup_key (<= 255; needed
                         to resolve), for a trigger payload.summary (<= 1024
                         characters), payload.source, payload.severity
                         critical|error|warning|info, optional timestamp,
                         component, group, class, custom_details (an object);
                         202 {"status": "success", "message": "Event
                         processed", "dedup_key"}, else 400 {"status":
                         "invalid event", "message": "Event object is
                         invalid", "errors": [...]}
  /api/v2/alerts         an Alertmanager that loses every alert: POST 200,
                         GET [] (for the read-back test)
  POST /am-webhook       Alertmanager's webhook receiver: 200, recorded
  /stall/REST            records the request, then never answers (60 s)
  /status/N/REST         records the request and answers HTTP N with the
                         service's body for it
"""
import datetime
import http.server
import json
import sys
import threading
import time

import peer_listen

lock = threading.Lock()
RECORDS, WEBHOOK_PATH, ROUTING_KEY = sys.argv[2], sys.argv[3], sys.argv[4]
SEVERITIES = ("critical", "error", "warning", "info")
ACTIONS = ("trigger", "acknowledge", "resolve")


def record(entry):
    with lock:
        with open(RECORDS, "a") as f:
            f.write(json.dumps(entry) + "\n")


def slack_problem(ctype, body):
    """None, or Slack's word for what is wrong with the request."""
    if not ctype.startswith("application/json"):
        return "invalid_payload"
    try:
        doc = json.loads(body)
    except ValueError:
        return "invalid_payload"
    if not isinstance(doc, dict):
        return "invalid_payload"
    text = doc.get("text")
    if not isinstance(text, str) or not text.strip():
        return "no_text"
    # mrkdwn control characters must arrive escaped (api.slack.com/reference/surfaces/formatting).
    stripped = text.replace("&amp;", "").replace("&lt;", "").replace("&gt;", "")
    if "<" in stripped or ">" in stripped:
        return "invalid_payload"
    return None


def iso8601(s):
    try:
        datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))
        return True
    except ValueError:
        return False


def pagerduty_problems(ctype, body):
    """The errors PagerDuty would list for this event ([] when it is valid)."""
    if not ctype.startswith("application/json"):
        return ["Content-Type must be application/json"]
    try:
        ev = json.loads(body)
    except ValueError:
        return ["Event is not valid JSON"]
    if not isinstance(ev, dict):
        return ["Event must be a JSON object"]
    errors = []
    if ev.get("routing_key") != ROUTING_KEY:
        errors.append("Invalid routing key")
    action = ev.get("event_action")
    if action not in ACTIONS:
        errors.append("'event_action' must be one of trigger, acknowledge, resolve")
    dedup = ev.get("dedup_key")
    if dedup is not None and (not isinstance(dedup, str) or not dedup or len(dedup) > 255):
        errors.append("'dedup_key' must be a string of 1 to 255 characters")
    if action in ("acknowledge", "resolve") and dedup is None:
        errors.append("'dedup_key' is required to %s" % action)
    if action == "trigger":
        p = ev.get("payload")
        if not isinstance(p, dict):
            return errors + ["'payload' is missing or not an object"]
        s = p.get("summary")
        if not isinstance(s, str) or not s:
            errors.append("'payload.summary' is missing or blank")
        elif len(s) > 1024:
            errors.append("'payload.summary' is longer than 1024 characters")
        if not isinstance(p.get("source"), str) or not p.get("source"):
            errors.append("'payload.source' is missing or blank")
        if p.get("severity") not in SEVERITIES:
            errors.append("'payload.severity' must be one of critical, error, warning, info")
        if "timestamp" in p and not (isinstance(p["timestamp"], str) and iso8601(p["timestamp"])):
            errors.append("'payload.timestamp' is not an ISO 8601 date")
        for k in ("component", "group", "class"):
            if k in p and not isinstance(p[k], str):
                errors.append("'payload.%s' must be a string" % k)
        if "custom_details" in p and not isinstance(p["custom_details"], dict):
            errors.append("'payload.custom_details' must be an object")
    return errors


def pd_refusal(errors):
    return {"status": "invalid event", "message": "Event object is invalid", "errors": errors}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body, ctype="text/plain"):
        if not isinstance(body, bytes):
            body = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        text = raw.decode("utf-8", "replace")
        ctype = self.headers.get("Content-Type", "")
        path = self.path
        mode = None
        parts = path.split("/")
        if len(parts) > 2 and parts[1] == "stall":
            mode, path = "stall", "/" + "/".join(parts[2:])
        elif len(parts) > 3 and parts[1] == "status" and parts[2].isdigit():
            mode, path = int(parts[2]), "/" + "/".join(parts[3:])
        service = ("pagerduty" if path.startswith("/v2/enqueue") else
                   "slack" if path.startswith("/services/") else
                   "alertmanager" if path.startswith("/api/v2/alerts") else
                   "am-webhook" if path.startswith("/am-webhook") else "other")
        try:
            body = json.loads(text) if text else None
        except ValueError:
            body = text
        entry = {"service": service, "method": self.command, "path": self.path,
                 "content_type": ctype, "body": body, "time": time.time()}
        if mode == "stall":
            entry["status"] = "stalled"
            record(entry)
            time.sleep(60)
            self.close_connection = True
            return
        if isinstance(mode, int):
            status, out = mode, {
                "slack": {400: "invalid_payload", 403: "invalid_token", 404: "no_service",
                          410: "channel_is_archived"}.get(mode, "internal_error"),
                "pagerduty": json.dumps(pd_refusal(["forced by the test"]))
                if mode == 400 else json.dumps({"status": "error", "message": "try later"}),
            }.get(service, "status %d" % mode)
        elif service == "slack" and self.command == "POST":
            if path != WEBHOOK_PATH:
                status, out = 404, "no_service"
            else:
                problem = slack_problem(ctype, text)
                status, out = (400, problem) if problem else (200, "ok")
        elif service == "pagerduty" and self.command == "POST":
            errors = pagerduty_problems(ctype, text)
            if errors:
                status, out = 400, json.dumps(pd_refusal(errors))
            else:
                status, out = 202, json.dumps({"status": "success", "message": "Event processed",
                                               "dedup_key": body.get("dedup_key") or "generated"})
        elif service == "alertmanager":
            status, out = 200, ("[]" if self.command == "GET" else "")
        elif service == "am-webhook":
            status, out = 200, ""
        else:
            status, out = 404, "no such path"
        entry["status"] = status
        entry["answer"] = out
        record(entry)
        is_json = isinstance(out, str) and out[:1] in ("{", "[")
        self.answer(status, out, "application/json" if is_json else "text/plain")

    do_GET = do_POST = do_PUT = handle_any


def main():
    if len(sys.argv) < 6:
        sys.exit(__doc__)
    peer_listen.serve(Handler, sys.argv[1], sys.argv[5:], "alert_peer.py", __doc__)


main()
