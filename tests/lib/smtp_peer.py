"""A real SMTP server for the alert tests: Debian's python3-aiosmtpd on
loopback (run it with /usr/bin/python3, where the package lives).

usage: smtp_peer.py --dir DIR --ports FILE [--user U --password-file F]
                    LISTENER...

LISTENER is one of
  NAME:starttls:CERT:KEY   STARTTLS offered and required before AUTH and MAIL
  NAME:login:CERT:KEY      the same with AUTH LOGIN only (no PLAIN)
  NAME:smtps:CERT:KEY      TLS from the first byte (implicit TLS, port 465 style)
  NAME:plain               no TLS at all: no STARTTLS offered, AUTH refused
  NAME:stall               accepts the connection and never says a word
Each listens on 127.0.0.1 with a port of the kernel's choosing; FILE gets one
"NAME PORT" line each, written atomically once all listen.

With --user, AUTH PLAIN and LOGIN are offered (after TLS) and only that user
with the password in F (its first line) is accepted: "535 5.7.8
Authentication credentials invalid" otherwise.

Every message received is stored as DIR/mail-N.json: {"listener",
"mail_from", "rcpt_tos", "data", "tls", "auth_user"}.  DIR/NAME.log records
what each listener saw, one event a line ("connect", "EHLO name",
"STARTTLS", "AUTH PLAIN ok|refused", "MAIL FROM:<a>", "RCPT TO:<b> 250|550",
"DATA 250"), and as "C: VERB" every command the client sent (the
addresses of MAIL and RCPT, the mechanism of AUTH); never a credential.

Switches, read from DIR/control.json at each command, so that a test changes
them between runs without a restart:
  {"refuse_auth": "454 4.7.0 Temporary authentication failure",
   "refuse_rcpt": {"nobody@example.org": "550 5.1.1 <nobody@example.org>: user unknown"},
   "refuse_data": "554 5.6.0 message refused",
   "refuse_starttls": "454 4.7.0 TLS not available"}
"""
import argparse
import asyncio
import json
import logging
import os
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

ARGS = None
SEQ = [0]


def control():
    try:
        with open(os.path.join(ARGS.dir, "control.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def note(listener, line):
    with open(os.path.join(ARGS.dir, listener + ".log"), "a") as f:
        f.write(line + "\n")


class Handler:
    def __init__(self, listener, implicit_tls):
        self.listener = listener
        self.implicit_tls = implicit_tls

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        note(self.listener, "EHLO %s%s" % (hostname, " (TLS)" if self.tls(server) else ""))
        session.host_name = hostname
        return responses

    async def handle_MAIL(self, server, session, envelope, address, options):
        note(self.listener, "MAIL FROM:<%s>%s" % (address, " (TLS)" if self.tls(server) else ""))
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, options):
        refusal = control().get("refuse_rcpt", {}).get(address)
        note(self.listener, "RCPT TO:<%s> %s" % (address, (refusal or "250")[:3]))
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        refusal = control().get("refuse_data")
        if refusal:
            note(self.listener, "DATA %s" % refusal[:3])
            return refusal
        SEQ[0] += 1
        record = {
            "listener": self.listener,
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "data": envelope.content.decode("utf-8", "replace"),
            "tls": self.tls(server),
            "auth_user": session.auth_data.login.decode() if session.auth_data else None,
        }
        path = os.path.join(ARGS.dir, "mail-%d.json" % SEQ[0])
        with open(path + ".tmp", "w") as f:
            json.dump(record, f)
        os.rename(path + ".tmp", path)
        note(self.listener, "DATA 250")
        return "250 2.0.0 Ok: queued as peer-%d" % SEQ[0]

    def tls(self, server):
        return self.implicit_tls or server._tls_protocol is not None


def authenticator(listener):
    def check(server, session, envelope, mechanism, auth_data):
        refusal = control().get("refuse_auth")
        good = (ARGS.user is not None and isinstance(auth_data, LoginPassword)
                and auth_data.login == ARGS.user.encode()
                and auth_data.password == ARGS.password.encode())
        if refusal:
            note(listener, "AUTH %s refused (%s)" % (mechanism, refusal[:3]))
            return AuthResult(success=False, handled=False, message=refusal)
        note(listener, "AUTH %s %s" % (mechanism, "ok" if good else "refused"))
        if good:
            return AuthResult(success=True, auth_data=auth_data)
        return AuthResult(success=False, handled=False)
    return check


class Peer(SMTP):
    def __init__(self, listener, *args, **kwargs):
        self.listener = listener
        super().__init__(*args, **kwargs)

    def connection_made(self, transport):
        first = getattr(self, "_original_transport", None) is None and self.transport is None
        if first:
            note(self.listener, "connect")
        super().connection_made(transport)
        if first:
            self._watch_commands()

    def _watch_commands(self):
        """Every command line the client sent, as "C: ...", before any check
        of the server's own (a MAIL sent before STARTTLS is recorded even
        though the server refuses it).  Only verbs, and the addresses of MAIL
        and RCPT: never an AUTH argument, nor AUTH LOGIN's answers."""
        reader = self._reader
        readuntil = reader.readuntil

        async def watched(*args):
            line = await readuntil(*args)
            if args:    # the message data (readuntil(b"\r\n")), not a command
                return line
            words = line.decode("ascii", "replace").strip().split(" ", 1)
            verb = words[0].upper()
            if verb in ("MAIL", "RCPT"):
                note(self.listener, "C: " + line.decode("ascii", "replace").strip())
            elif verb in ("EHLO", "HELO", "STARTTLS", "DATA", "QUIT", "RSET", "NOOP"):
                note(self.listener, "C: " + verb)
            elif verb == "AUTH":
                note(self.listener, "C: AUTH " + (words[1].split(" ")[0] if len(words) > 1 else ""))
            return line
        # aiosmtpd reads commands with readuntil(), AUTH LOGIN's answers with
        # readline(): those are never seen here.
        reader.readuntil = watched

    async def smtp_STARTTLS(self, arg):
        refusal = control().get("refuse_starttls")
        note(self.listener, "STARTTLS" + (" refused" if refusal else ""))
        if refusal:
            return await self.push(refusal)
        return await super().smtp_STARTTLS(arg)


def server_context(cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx


async def main():
    servers = []
    loop = asyncio.get_running_loop()
    for spec in ARGS.listeners:
        fields = spec.split(":")
        name, mode = fields[0], fields[1] if len(fields) > 1 else ""
        if mode in ("starttls", "login", "smtps") and len(fields) == 4:
            ctx = server_context(fields[2], fields[3])
        elif mode in ("plain", "stall") and len(fields) == 2:
            ctx = None
        else:
            sys.exit("smtp_peer: bad listener '%s'" % spec)
        implicit = mode == "smtps"
        open(os.path.join(ARGS.dir, name + ".log"), "a").close()

        def factory(name=name, mode=mode, ctx=ctx, implicit=implicit):
            kw = dict(hostname="peer.test", timeout=30,
                      authenticator=authenticator(name) if ARGS.user is not None else None,
                      auth_require_tls=not implicit)
            if mode in ("starttls", "login"):
                kw.update(tls_context=ctx, require_starttls=True)
            if mode == "login":
                kw["auth_exclude_mechanism"] = ["PLAIN"]
            return Peer(name, Handler(name, implicit), **kw)

        if mode == "stall":
            def factory(name=name):
                note(name, "connect")
                return asyncio.Protocol()
        server = await loop.create_server(factory, "127.0.0.1", 0,
                                          ssl=ctx if implicit else None)
        servers.append((name, server))
    with open(ARGS.ports + ".tmp", "w") as f:
        for name, server in servers:
            f.write("%s %d\n" % (name, server.sockets[0].getsockname()[1]))
    os.rename(ARGS.ports + ".tmp", ARGS.ports)
    await asyncio.Event().wait()


if __name__ == "__main__":
    p = argparse.ArgumentParser(prog="smtp_peer.py")
    p.add_argument("--dir", required=True)
    p.add_argument("--ports", required=True)
    p.add_argument("--user")
    p.add_argument("--password-file")
    p.add_argument("listeners", nargs="+")
    ARGS = p.parse_args()
    # aiosmtpd logs a traceback for every handshake a test makes fail on purpose.
    logging.getLogger("mail.log").setLevel(logging.CRITICAL)
    ARGS.password = None
    if ARGS.user is not None:
        if not ARGS.password_file:
            sys.exit("smtp_peer: --user needs --password-file")
        with open(ARGS.password_file) as f:
            ARGS.password = f.readline().rstrip("\r\n")
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
