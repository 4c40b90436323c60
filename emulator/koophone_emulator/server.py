"""The HTTP side: a threading HTTP/1.1 server with keep-alive, and the Emulator that it serves.

Every answer carries Content-Length and goes out in a single write with TCP_NODELAY, so a
keep-alive client (requests, urllib3) never waits on Nagle/delayed-ACK between header and body.
One thread per connection; latency sleeps happen outside the state lock, so concurrent clients
see parallel latency, as they would against the real service.
"""

import contextlib
import json
import os
import socket
import threading
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote

from . import __version__, control
from .faults import Faults
from .gateway import CLOSE, Gateway
from .iam import Tokens
from .operations import OPERATION_NAMES
from .requestlog import RequestLog
from .state import State

MAX_BODY = 16 * 1024 * 1024
REASONS = {
    200: "OK",
    201: "Created",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Request Entity Too Large",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class Emulator:
    """Everything one running emulator holds."""

    def __init__(self, settings):
        self.settings = settings
        self.state = State(settings)
        self.tokens = Tokens(settings)
        self.faults = Faults(settings, OPERATION_NAMES)
        self.log = RequestLog()
        self.gateway = Gateway(self)


class Request:
    __slots__ = ("method", "raw_path", "path", "raw_query", "query", "headers", "body", "peer")

    def __init__(self, method, target, headers, body, peer=""):
        self.method, self.peer = method, peer
        self.raw_path, _separator, self.raw_query = target.partition("?")
        self.path = unquote(self.raw_path)
        self.query = dict(parse_qsl(self.raw_query, keep_blank_values=True))
        self.headers = headers
        self.body = body


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "KooPhoneEmulator/" + __version__
    timeout = 120  # an idle keep-alive connection is closed after this, so threads do not pile up

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self):
        self.dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET

    def dispatch(self):
        body = self.read_body()
        if body is None:
            return
        # Header names are case-insensitive: keep the first value of each, under its lower-case name.
        headers = {}
        for name, value in self.headers.items():
            headers.setdefault(name.lower(), value)
        req = Request(self.command, self.path, headers, body, "%s:%s" % self.client_address[:2])
        emulator = self.server.emulator
        if req.path.startswith("/_emulator/") or req.path == "/_emulator":
            status, answer = control.handle(emulator, req)
            self.send(status, answer, {})
            return
        response = emulator.gateway.handle(req)
        if response is CLOSE:
            # No answer at all: the client sees the connection close (drop and lost faults).
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.send(response.status, response.body, response.headers)

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self.read_chunked()
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY:
            self.close_connection = True
            self.send(413 if length > 0 else 400, {"error_code": "APIGW.0201", "error_msg": "Bad Content-Length"}, {})
            return None
        return self.rfile.read(length) if length else b""

    def read_chunked(self):
        chunks = []
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline()

    def send(self, status, answer, headers):
        payload = b"" if answer is None else json.dumps(answer, ensure_ascii=False, separators=(",", ":")).encode()
        lines = [
            "HTTP/1.1 %d %s" % (status, REASONS.get(status, "Unknown")),
            "Server: " + self.server_version,
            "Date: " + formatdate(usegmt=True),
            "Content-Type: application/json;charset=UTF-8",
            "Content-Length: %d" % len(payload),
            "Connection: " + ("close" if self.close_connection else "keep-alive"),
        ]
        lines.extend("%s: %s" % item for item in headers.items())
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")
        self.wfile.write(head + (b"" if self.command == "HEAD" else payload))

    def log_message(self, format, *args):
        pass  # the gateway writes one line per API request (unless --quiet)


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, settings):
        self.emulator = Emulator(settings)
        super().__init__((settings.host, settings.port), Handler)

    def service_actions(self):
        # Called by serve_forever() between polls: apply due events even when no request arrives,
        # so the control API and in-process readers see boots and jobs finish on time.
        state = self.emulator.state
        if state.events and state.events[0][0] <= time.time():
            with state.lock:
                state.tick()

    @property
    def url(self):
        host, port = self.server_address[:2]
        return "http://%s:%d" % (host if ":" not in host else "[%s]" % host, port)


def start_in_thread(settings):
    """Serve from a daemon thread (used by the tests); call ``server.shutdown()`` to stop."""
    server = EmulatorServer(settings)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    return server


def announce(server, ready_file):
    if ready_file:
        # Written atomically and before the banner: whoever sees either can rely on both.
        temporary = ready_file + ".tmp"
        with open(temporary, "w") as handle:
            json.dump(
                {"url": server.url, "port": server.server_address[1], "pid": os.getpid(), "started": time.time()},
                handle,
            )
        os.replace(temporary, ready_file)
    print("KooPhone emulator listening on %s" % server.url, flush=True)
