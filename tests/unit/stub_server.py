"""A scripted HTTP server for the client's HTTP handling (the ``stub`` fixture of conftest.py).

Each request takes the next answer of ``script`` (then ``default``): ``(status, headers, payload)``,
a callable given the recorded request that returns one, ``DROP`` (the connection is cut without
an answer) or ``CUT`` (it is cut halfway through the answer's body). Every request is recorded in
``requests`` (method, path, query, headers, body).
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

DROP = "drop"
CUT = "cut"  # the answer's headers and half its body are sent, then the connection is cut


class StubServer:
    DROP = DROP
    CUT = CUT

    def __init__(self):
        self.script = []
        self.default = (200, {}, {"error_code": "0", "error_msg": "ok", "data": {}})
        self.requests = []
        self._lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                split = urlsplit(self.path)
                with stub._lock:
                    stub.requests.append(
                        {
                            "method": self.command,
                            "path": split.path,
                            "query": dict(parse_qsl(split.query)),
                            "headers": dict(self.headers),
                            "body": json.loads(body) if body else None,
                        }
                    )
                    answer = stub.script.pop(0) if stub.script else stub.default
                if callable(answer):
                    answer = answer(stub.requests[-1])
                if answer == DROP:
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                if answer == CUT:
                    data = json.dumps(stub.default[2]).encode()
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data[: len(data) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                status, headers, payload = answer
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self._thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
