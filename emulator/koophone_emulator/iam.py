"""IAM password login (``POST /v3/auth/tokens``) and the tokens it issues.

Like real IAM, a ``scope`` outside ``auth`` is not looked at: such a request gets an unscoped
token, which KooPhone operations then refuse with 403 KOOPHONE.API.6002 (the reference's first
example makes exactly that mistake; its §3.2 is right).
"""

import base64
import hashlib
import secrets
import threading
import time

ISO = "%Y-%m-%dT%H:%M:%S"


class IamError(Exception):
    def __init__(self, status, message):
        self.status = status
        self.message = message
        super().__init__(message)

    def body(self):
        title = {400: "Bad Request", 401: "Unauthorized"}.get(self.status, "Error")
        return {"error": {"code": self.status, "message": self.message, "title": title}}


class TokenRecord:
    __slots__ = ("expires_at", "project")

    def __init__(self, expires_at, project):
        self.expires_at = expires_at
        self.project = project  # None for an unscoped (or domain-scoped) token


class Tokens:
    def __init__(self, settings):
        self.settings = settings
        self.lock = threading.Lock()
        self.issued = {}

    def login(self, body):
        """Check a password login body; return (token, answer body) or raise IamError."""
        settings = self.settings
        try:
            identity = body["auth"]["identity"]
            if "password" not in identity["methods"]:
                raise IamError(400, "The request you have made requires authentication: unsupported methods.")
            user = identity["password"]["user"]
            name, password, domain = user["name"], user["password"], user["domain"]["name"]
            scope = body["auth"].get("scope")
        except IamError:
            raise
        except (KeyError, TypeError):
            raise IamError(400, "Invalid input for field 'auth': the request body is malformed.") from None
        if not all(isinstance(value, str) for value in (name, password, domain)):
            raise IamError(400, "Invalid input for field 'auth': user name, password and domain must be strings.")
        if (name, password, domain) != (settings.iam_user, settings.iam_password, settings.iam_domain):
            raise IamError(401, "The username or password is wrong.")
        project = None
        if isinstance(scope, dict) and "project" in scope:
            wanted = scope["project"]
            if not isinstance(wanted, dict) or not (wanted.get("id") or wanted.get("name")):
                raise IamError(400, "Invalid input for field 'scope': a project needs an id or a name.")
            if wanted.get("id") not in (None, settings.project_id) or wanted.get("name") not in (
                None,
                settings.project_name,
            ):
                raise IamError(400, "Invalid input for field 'scope': the project does not exist.")
            project = {
                "id": settings.project_id,
                "name": settings.project_name,
                "domain": {"id": _stable_id(settings.iam_domain), "name": settings.iam_domain},
            }
        issued = time.time()
        expires = issued + settings.token_ttl
        # Real tokens are long PKI blobs starting "MII"; clients must treat them as opaque.
        token = "MII" + base64.urlsafe_b64encode(secrets.token_bytes(480)).decode("ascii").rstrip("=")
        with self.lock:
            self.issued[token] = TokenRecord(expires, project)
        answer = {
            "expires_at": _iso(expires),
            "issued_at": _iso(issued),
            "methods": ["password"],
            "user": {
                "id": _stable_id(settings.iam_user),
                "name": settings.iam_user,
                "domain": {"id": _stable_id(settings.iam_domain), "name": settings.iam_domain},
                "password_expires_at": "",
            },
            "roles": [{"id": "0", "name": "op_service"}],
            "catalog": [],
        }
        if project is not None:
            answer["project"] = project
        return token, {"token": answer}

    def check(self, token):
        """'token' (static), 'iam-token', or raise: 'unknown', 'expired', 'unscoped'."""
        if token == self.settings.static_token and token:
            return "token"
        with self.lock:
            record = self.issued.get(token)
        if record is None:
            raise LookupError("unknown")
        if record.expires_at <= time.time():
            raise LookupError("expired")
        if record.project is None or record.project["id"] != self.settings.project_id:
            raise LookupError("unscoped")
        return "iam-token"

    def expire_all(self):
        now = time.time()
        with self.lock:
            for record in self.issued.values():
                record.expires_at = min(record.expires_at, now - 1)
            return len(self.issued)


def _iso(timestamp):
    return "%s.%06dZ" % (time.strftime(ISO, time.gmtime(timestamp)), int((timestamp % 1) * 1e6))


def _stable_id(name):
    return hashlib.sha256(name.encode("utf-8")).hexdigest()[:32]
