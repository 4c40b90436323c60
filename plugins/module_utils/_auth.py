# Copyright: (c) 2026, koophone.cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the koophone.cloud collection (shared layer; see docs/development.md): not a public API,
# it may change in any release. Do not import it from other collections or standalone plugins.
"""The three ways to authenticate to KooPhone, chosen in this order: a given token, AK/SK
request signing, IAM password login (DESIGN.md: precedence)."""

import calendar
import contextlib
import hashlib
import json
import os
import tempfile
import threading
import time

from ansible_collections.koophone.cloud.plugins.module_utils import _signer as signer
from ansible_collections.koophone.cloud.plugins.module_utils._errors import InvalidOption, KooPhoneAuthError

# Renew a cached IAM token this long before it expires: the official SDK's 40 minutes, or a
# tenth of the token's lifetime when that is shorter (short-lived tokens in tests).
RENEW_MARGIN_SECONDS = 40 * 60
RENEW_MARGIN_FRACTION = 0.1


def choose_auth(params, iam_login):
    """Build the auth strategy from module/plugin options, or raise InvalidOption.

    ``iam_login(body)`` performs the IAM call and returns (token, expires_at, issued_at).
    """
    for option in HEADER_OPTIONS:
        _check_header_value(option, params.get(option))
    if params.get("auth_token"):
        return TokenAuth(params["auth_token"])

    access_key, secret_key = params.get("access_key"), params.get("secret_key")
    if access_key or secret_key:
        if not access_key:
            raise InvalidOption("access_key", "is required when secret_key is set")
        if not secret_key:
            raise InvalidOption("secret_key", "is required when access_key is set")
        # The reference's paths carry no project and it makes no X-Project-Id header mandatory: send
        # one only when the user names the project.
        return AkSkAuth(access_key, secret_key, params.get("project_id"), params.get("security_token"))

    if params.get("username") or params.get("password"):
        for option in ("username", "password", "domain_name"):
            if not params.get(option):
                raise InvalidOption(option, "is required for IAM password login")
        if not (params.get("project_name") or params.get("project_id")):
            raise InvalidOption(
                "project_name",
                "or project_id is required for IAM password login (KooPhone needs a project-scoped token)",
            )
        return IamPasswordAuth(params, iam_login)

    raise InvalidOption(
        "auth_token",
        "no credentials given: set auth_token, or access_key + secret_key, or "
        "username + password + domain_name + project_name (also KOOPHONE_* environment variables)",
    )


# Options that travel in a header: a CR, LF or other control
# character would split or break the header, so they are refused before any request.
HEADER_OPTIONS = ("auth_token", "access_key", "secret_key", "security_token", "project_id")


def _check_header_value(option, value):
    if value is None:
        return
    if any(ord(char) < 32 or ord(char) == 127 for char in "%s" % value):
        # Never quote the value: it may be a secret.
        raise InvalidOption(option, "contains a control character (such as a line break); remove it")


class TokenAuth:
    mode = "token"

    def __init__(self, token):
        self._token = token

    def headers(self, method, path, query, headers, body):
        headers = dict(headers)
        headers["X-Auth-Token"] = self._token
        return headers

    def renew(self, sent_headers=None):
        return False


class AkSkAuth:
    mode = "aksk"

    def __init__(self, access_key, secret_key, project_id=None, security_token=None):
        self._access_key = access_key
        self._secret_key = secret_key
        self._project_id = project_id
        self._security_token = security_token

    def headers(self, method, path, query, headers, body):
        headers = dict(headers)
        if self._project_id:
            headers["X-Project-Id"] = self._project_id
        if self._security_token:
            headers["X-Security-Token"] = self._security_token
        return signer.sign(method, path, query, headers, body, self._access_key, self._secret_key)

    def renew(self, sent_headers=None):
        # Never retry a refused signature: the gateway locks an access key after repeated failures.
        return False


class IamPasswordAuth:
    mode = "iam"

    def __init__(self, params, iam_login):
        self._params = params
        self._iam_login = iam_login
        self._lock = threading.Lock()
        self._token = None
        self._cache = TokenCache(params.get("token_cache_dir"), _cache_key(params))
        self.logins = 0

    def login_body(self):
        params = self._params
        project = {"id": params["project_id"]} if params.get("project_id") else {"name": params["project_name"]}
        # scope goes inside auth (reference §3.2); the §3.1 example that puts it outside is wrong.
        return {
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {
                        "user": {
                            "name": params["username"],
                            "password": params["password"],
                            "domain": {"name": params["domain_name"]},
                        }
                    },
                },
                "scope": {"project": project},
            }
        }

    def _current_token(self):
        with self._lock:
            if self._token is None or _needs_renewal(self._token):
                cached = self._cache.load()
                if cached and not _needs_renewal(cached):
                    self._token = cached
                else:
                    self._token = self._login()
            return self._token["token"]

    def _login(self):
        token, expires_at, issued_at = self._iam_login(self.login_body())
        self.logins += 1
        record = {"token": token, "expires_at": expires_at, "issued_at": issued_at}
        self._cache.store(record)
        return record

    def headers(self, method, path, query, headers, body):
        headers = dict(headers)
        headers["X-Auth-Token"] = self._current_token()
        return headers

    def renew(self, sent_headers=None):
        """Forget the token after a 401 so the next request logs in again.

        Only the token that ``sent_headers`` carried: when several requests in flight meet the expired
        token at once, the first renews it and the others repeat with the new one (one login, not one
        per request, and no new token thrown away).
        """
        used = (sent_headers or {}).get("X-Auth-Token")
        with self._lock:
            if used is None or self._token is None or self._token["token"] == used:
                self._token = None
                self._cache.clear()
        return True


def _needs_renewal(record, now=None):
    now = time.time() if now is None else now
    lifetime = max(0.0, record["expires_at"] - record.get("issued_at", record["expires_at"]))
    margin = min(RENEW_MARGIN_SECONDS, lifetime * RENEW_MARGIN_FRACTION) if lifetime else RENEW_MARGIN_SECONDS
    return record["expires_at"] - now <= margin


def _cache_key(params):
    identity = "|".join(
        "%s" % (params.get(name) or "",)
        for name in ("iam_endpoint", "domain_name", "username", "project_name", "project_id")
    )
    return hashlib.sha256(identity.encode("utf-8")).hexdigest()


def parse_iam_time(value, field="expires_at"):
    """'2019-02-13T06:52:13.855000Z' -> epoch seconds (UTC); ``field`` names it in errors."""
    if not value:
        raise KooPhoneAuthError("IAM answered without token.%s" % field, operation="IAM login")
    if not isinstance(value, str):
        raise KooPhoneAuthError("IAM answered a token.%s that is not text: %r" % (field, value), operation="IAM login")
    text = value.rstrip("Z").split(".")[0].replace(" ", "T")
    try:
        return float(calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%S")))
    except ValueError:
        raise KooPhoneAuthError("IAM answered an unreadable %s %r" % (field, value), operation="IAM login") from None


def default_cache_dir():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "koophone.cloud", "tokens")


class TokenCache:
    """IAM tokens on disk (0600, in a 0700 directory), so every task of a play reuses one login.

    Only the token and its times are stored, never the password. A cache that cannot be read or
    written is ignored: it saves logins, it is never a reason to fail.
    """

    def __init__(self, directory, key):
        self.disabled = directory in ("", "none", "off")
        self.directory = directory or default_cache_dir()
        self.path = os.path.join(self.directory, key + ".json")

    def load(self):
        if self.disabled:
            return None
        try:
            with open(self.path) as handle:
                record = json.load(handle)
            if isinstance(record.get("token"), str) and isinstance(record.get("expires_at"), (int, float)):
                return record
        except (OSError, ValueError, AttributeError):
            pass
        return None

    def store(self, record):
        if self.disabled:
            return
        try:
            if not os.path.isdir(self.directory):
                os.makedirs(self.directory, 0o700)
            handle, temp_path = tempfile.mkstemp(dir=self.directory, prefix=".token-")
            with os.fdopen(handle, "w") as stream:  # mkstemp creates the file 0600
                json.dump(record, stream)
            os.replace(temp_path, self.path)
        except OSError:
            pass

    def clear(self):
        if self.disabled:
            return
        with contextlib.suppress(OSError):
            os.remove(self.path)
