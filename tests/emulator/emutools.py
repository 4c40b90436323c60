"""Helpers for the emulator tests: a tiny stdlib HTTP client, an in-process emulator, polling."""

import contextlib
import http.client
import json
import os
import time
from urllib.parse import urlencode, urlsplit

# koophone_emulator is on sys.path already: tests/conftest.py puts it there for pytest, tests/bench/_bench.py
# for the benchmarks that use these helpers.
from koophone_emulator.config import Settings
from koophone_emulator.server import start_in_thread

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

IAM_LOGIN = {
    "auth": {
        "identity": {
            "methods": ["password"],
            "password": {"user": {"name": "demo", "password": "demo-password", "domain": {"name": "demo-domain"}}},
        },
        "scope": {"project": {"name": "cn-north-4"}},
    }
}


class Result:
    def __init__(self, status, body, headers):
        self.status, self.body, self.headers = status, body, headers

    @property
    def code(self):
        """error_code wherever the answer put it (top level, or inside data for batch-query)."""
        if isinstance(self.body, dict):
            if "error_code" in self.body:
                return self.body["error_code"]
            if isinstance(self.body.get("data"), dict):
                return self.body["data"].get("error_code")
        return None

    @property
    def data(self):
        return self.body.get("data")

    def __repr__(self):
        return "Result(%s, %s)" % (self.status, self.body)


class Api:
    """Calls the emulator like a client would: X-Auth-Token and x-request-id by default."""

    def __init__(self, url, token="demo-token"):  # noqa: S107 (the emulator's documented demo token)
        self.url = url
        self.netloc = urlsplit(url).netloc
        self.token = token

    def call(self, method, path, body=None, query=None, headers=None, token=True, request_id="req-1", raw=None):
        sent = {"Content-Type": "application/json"}
        if token and self.token:
            sent["X-Auth-Token"] = self.token
        if request_id:
            sent["x-request-id"] = request_id
        sent.update(headers or {})
        target = path + ("?" + urlencode(query) if query else "")
        payload = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        connection = http.client.HTTPConnection(self.netloc, timeout=10)
        try:
            connection.request(method, target, body=payload, headers=sent)
            response = connection.getresponse()
            data = response.read()
            answer = json.loads(data) if data else None
            return Result(response.status, answer, {k.lower(): v for k, v in response.getheaders()})
        finally:
            connection.close()

    def get(self, path, query=None, **kwargs):
        return self.call("GET", path, query=query, **kwargs)

    def post(self, path, body=None, **kwargs):
        return self.call("POST", path, body=body, **kwargs)

    def put(self, path, body=None, **kwargs):
        return self.call("PUT", path, body=body, **kwargs)

    def control(self, method, path, body=None, query=None):
        return self.call(method, "/_emulator/" + path, body=body, query=query, token=False, request_id=None)

    def list_page(self, page_no=1, page_size=100, **filters):
        return self.get("/v1/instances/batch-query", dict(filters, page_no=page_no, page_size=page_size))


def wait_for(predicate, timeout=5.0, interval=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met within %.1fs" % timeout)


def make_server(**overrides):
    values = dict(port=0, quiet=True, instances=20, task_seconds=0.2, boot_seconds=0.2)
    values.update(overrides)
    return start_in_thread(Settings(**values))


@contextlib.contextmanager
def serving(**overrides):
    """``with serving(**settings) as server``: make_server's emulator, shut down and closed after the block."""
    server = make_server(**overrides)
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


AK = "KOOPHONEDEMOAK00001"
SK = "koophone-demo-secret-key-000000000000000"
PROJECT_ID = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"


def sign(method, netloc, path, query, headers, body, ak=AK, sk=SK, date=None):
    """A minimal SDK-HMAC-SHA256 signer (for tests that run without huaweicloudsdkcore).

    Returns (target, headers) to send. Written from the algorithm, not from the emulator's verifier.
    """
    import hashlib
    import hmac
    from urllib.parse import quote

    headers = dict(headers, Host=netloc)
    headers["X-Sdk-Date"] = date or time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    encoded = sorted((quote(str(k), safe="~"), quote(str(v), safe="~")) for k, v in query)
    canonical_query = "&".join("%s=%s" % pair for pair in encoded)
    names = sorted(name.lower() for name in headers)
    lowered = {name.lower(): str(value).strip() for name, value in headers.items()}
    canonical_uri = "/".join(quote(segment, safe="~") for segment in path.split("/"))
    canonical_uri += "" if canonical_uri.endswith("/") else "/"
    canonical = "\n".join(
        [
            method,
            canonical_uri,
            canonical_query,
            "".join("%s:%s\n" % (n, lowered[n]) for n in names),
            ";".join(names),
            hashlib.sha256(body or b"").hexdigest(),
        ]
    )
    to_sign = "SDK-HMAC-SHA256\n%s\n%s" % (headers["X-Sdk-Date"], hashlib.sha256(canonical.encode()).hexdigest())
    signature = hmac.new(sk.encode(), to_sign.encode(), hashlib.sha256).hexdigest()
    headers["Authorization"] = "SDK-HMAC-SHA256 Access=%s, SignedHeaders=%s, Signature=%s" % (
        ak,
        ";".join(names),
        signature,
    )
    return path + ("?" + canonical_query if canonical_query else ""), headers


def send_signed(url, method, path, query=(), body=None, headers=None, project_id=PROJECT_ID, **sign_options):
    """Sign with ``sign`` and send; returns a Result."""
    netloc = urlsplit(url).netloc
    payload = json.dumps(body).encode() if body is not None else b""
    sent = {"Content-Type": "application/json", "x-request-id": "signed-1"}
    if project_id:
        sent["X-Project-Id"] = project_id
    sent.update(headers or {})
    target, sent = sign(method, netloc, path, list(query), sent, payload, **sign_options)
    connection = http.client.HTTPConnection(netloc, timeout=10)
    try:
        connection.request(method, target, body=payload or None, headers=sent)
        response = connection.getresponse()
        data = response.read()
        return Result(
            response.status, json.loads(data) if data else None, {k.lower(): v for k, v in response.getheaders()}
        )
    finally:
        connection.close()
