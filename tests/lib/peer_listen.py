"""Loopback listeners for the tests' scripted HTTP peers (http_peer.py,
vault_peer.py), standard library only.

serve(handler, ports_file, specs, prog) listens on 127.0.0.1 with a port of
the kernel's choosing for each spec, NAME (plain HTTP), NAME:CERT:KEY (TLS)
or NAME:CERT:KEY:CLIENT_CA (TLS that requires a client certificate), writes
PORTS_FILE atomically with one "NAME PORT" line each once all listen, and
serves until killed.
"""
import http.server
import os
import socketserver
import ssl
import sys
import threading


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, handler, context):
        self.context = context
        super().__init__(("127.0.0.1", 0), handler)

    def finish_request(self, request, client_address):
        # The handshake in the connection's own thread: a client that
        # refuses our certificate must not hold up the others.
        if self.context:
            try:
                request = self.context.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                return
        super().finish_request(request, client_address)

    def handle_error(self, request, client_address):
        pass    # clients that give up mid-answer are what the tests are about


def serve(handler, ports_file, specs, prog, usage):
    servers = []
    for spec in specs:
        fields = spec.split(":")
        context = None
        if len(fields) in (3, 4):
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(fields[1], fields[2])
            if len(fields) == 4:
                context.verify_mode = ssl.CERT_REQUIRED
                context.load_verify_locations(fields[3])
        elif len(fields) != 1:
            sys.exit("%s: bad listener '%s'\n%s" % (prog, spec, usage))
        servers.append((fields[0], Server(handler, context)))
    with open(ports_file + ".tmp", "w") as f:
        for name, server in servers:
            f.write("%s %d\n" % (name, server.server_address[1]))
    os.rename(ports_file + ".tmp", ports_file)
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for _, s in servers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
