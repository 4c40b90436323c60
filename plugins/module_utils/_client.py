# Copyright: (c) 2026, koophone.cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the koophone.cloud collection (shared layer; see docs/development.md): not a public API,
# it may change in any release. Do not import it from other collections or standalone plugins.
"""The one HTTP client every koophone.cloud module and the inventory plugin use.

It owns HTTP (one keep-alive session), authentication, retries, response checking, batching
of id lists, paging and polling. Modules only decide what the desired state needs.
"""

import json
import math
import random
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor, as_completed
from email.utils import mktime_tz, parsedate_tz
from urllib.parse import quote, urlsplit

try:
    import requests
    from requests.adapters import HTTPAdapter

    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - reported by the module through missing_required_lib
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = exc

from ansible_collections.koophone.cloud.plugins.module_utils import _operations as operations
from ansible_collections.koophone.cloud.plugins.module_utils._auth import choose_auth, parse_iam_time
from ansible_collections.koophone.cloud.plugins.module_utils._errors import KooPhoneAuthError, KooPhoneError
from ansible_collections.koophone.cloud.plugins.module_utils._signer import canonical_query

USER_AGENT = "koophone.cloud-ansible/0.1.0"
DEFAULT_ENDPOINT = "https://koophone.myhuaweicloud.com"
DEFAULT_IAM_ENDPOINT = "https://iam.myhuaweicloud.com"

# Backoff: full jitter over an exponential ceiling. Retry-After is honoured up to a cap so a
# misbehaving gateway cannot park a play for an hour. One call never retries for longer than
# MAX_RETRY_SECONDS in total.
BACKOFF_BASE_SECONDS = 0.25
BACKOFF_CAP_SECONDS = 10.0
RETRY_AFTER_CAP_SECONDS = 60.0
MAX_RETRY_SECONDS = 300.0
EXCERPT_CHARS = 200


class KooPhoneClient:
    def __init__(self, params):
        self.endpoint = (params.get("endpoint") or DEFAULT_ENDPOINT).rstrip("/")
        self.iam_endpoint = (params.get("iam_endpoint") or DEFAULT_IAM_ENDPOINT).rstrip("/")
        self.timeout = float(params.get("timeout") or 30)
        self.retries = int(params["retries"]) if params.get("retries") is not None else 6
        self.concurrency = max(1, int(params.get("concurrency") or 8))
        self.verify = params.get("ca_path") or (params.get("validate_certs") is not False)
        self.auth = choose_auth(dict(params, iam_endpoint=self.iam_endpoint), self._iam_login)
        self.request_count = 0
        self._count_lock = threading.Lock()
        self._session = requests.Session()
        # One pooled connection per concurrent worker (plus IAM), reused across calls.
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=self.concurrency + 2, max_retries=0)
        self._session.mount("https://", adapter)
        self._session.mount("http://", adapter)

    # ---------------------------------------------------------------- single calls

    def call(self, operation_name, path_params=None, query=None, body=None):
        """Call one operation and return its JSON answer; raise KooPhoneError unless error_code is "0"."""
        op = operations.get(operation_name)
        path = op.path.format(**dict((k, quote("%s" % v, safe="")) for k, v in (path_params or {}).items()))
        request_id = uuid.uuid4().hex
        query = [(k, v) for k, v in (query or {}).items() if v is not None]
        if op.request_id_in_query:
            query.append(("x-request-id", request_id))
        payload = _encode_body(body)
        headers = {"x-request-id": request_id}
        if payload is not None:
            headers["Content-Type"] = "application/json;charset=UTF-8"

        response = self._send(
            op.name, op.method, self.endpoint, path, query, headers, payload, op.repeatable, request_id, signed=True
        )
        answer = _parse_json(op.name, response, request_id)
        _check_answer(op.name, response.status_code, answer, request_id)
        return answer

    def _iam_login(self, body):
        """POST /v3/auth/tokens; return (token, expires_at, issued_at) as epoch seconds."""
        response = self._send(
            operations.IAM_LOGIN,
            "POST",
            self.iam_endpoint,
            "/v3/auth/tokens",
            [],
            {"Content-Type": "application/json;charset=UTF-8"},
            _encode_body(body),
            repeatable=True,
            request_id=None,
            signed=False,
        )
        answer = _parse_json(operations.IAM_LOGIN, response, None)
        token = response.headers.get("X-Subject-Token")
        if response.status_code not in (200, 201) or not token:
            code, message = _error_fields(answer)
            raise KooPhoneAuthError(
                "IAM password login failed: %s" % (message or "no X-Subject-Token returned"),
                operation=operations.IAM_LOGIN,
                status=response.status_code,
                error_code=code,
                error_msg=message,
            )
        token_info = answer.get("token") or {}
        expires_at = parse_iam_time(token_info.get("expires_at"))
        issued = token_info.get("issued_at")
        return token, expires_at, parse_iam_time(issued) if issued else time.time()

    def _send(self, operation_name, method, base, path, query, headers, payload, repeatable, request_id, signed):
        """Send with retries. Returns the final requests.Response that is not a retryable failure."""
        url = base + path + ("?" + canonical_query(query) if query else "")
        headers = dict(headers, Host=urlsplit(base).netloc, Accept="application/json")
        headers["User-Agent"] = USER_AGENT
        deadline = time.time() + MAX_RETRY_SECONDS
        renewed = False
        attempt = 0
        while True:
            sent_headers = self.auth.headers(method, path, query, headers, payload) if signed else headers
            try:
                self._count()
                response = self._session.request(
                    method,
                    url,
                    data=payload,
                    headers=sent_headers,
                    timeout=self.timeout,
                    verify=self.verify,
                    allow_redirects=False,
                )
            except requests.exceptions.RequestException as exc:
                never_sent = _never_reached_service(exc)
                if (repeatable or never_sent) and self._may_retry(attempt, deadline):
                    self._sleep(attempt, None)
                    attempt += 1
                    continue
                raise KooPhoneError(
                    "Request failed: %s" % _describe_connection_error(exc),
                    operation=operation_name,
                    request_id=request_id,
                    maybe_applied=not never_sent,
                ) from None

            status = response.status_code
            if status == 401 and signed and not renewed and self.auth.renew():
                renewed = True  # an expired IAM token: log in once more and repeat; the 401 applied nothing
                continue
            if (status == 429 or (status >= 500 and repeatable)) and self._may_retry(attempt, deadline):
                self._sleep(attempt, response.headers.get("Retry-After"))
                attempt += 1
                continue
            if status >= 500 and not repeatable:
                answer = _parse_json(operation_name, response, request_id, strict=False)
                code, message = _error_fields(answer)
                raise KooPhoneError(
                    "The service failed while handling a request that is not safe to repeat; it may or may "
                    "not have been applied: %s" % (message or "HTTP %s" % status),
                    operation=operation_name,
                    status=status,
                    error_code=code,
                    error_msg=message,
                    request_id=request_id,
                    maybe_applied=True,
                )
            return response

    def _may_retry(self, attempt, deadline):
        return attempt < self.retries and time.time() < deadline

    def _sleep(self, attempt, retry_after):
        delay = random.uniform(0, min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * (2**attempt)))
        wait = _retry_after_seconds(retry_after)
        if wait is not None:
            delay = min(wait, RETRY_AFTER_CAP_SECONDS) + random.uniform(0, BACKOFF_BASE_SECONDS)
        time.sleep(delay)

    def _count(self):
        with self._count_lock:
            self.request_count += 1

    # ---------------------------------------------------------------- many calls

    def map_concurrently(self, function, items):
        """Apply ``function`` to every item with at most ``concurrency`` in flight; keep order.

        Each result is (value, None) or (None, KooPhoneError): one failure never hides the others.
        """

        def guarded(item):
            try:
                return function(item), None
            except KooPhoneError as exc:
                return None, exc

        if len(items) <= 1 or self.concurrency == 1:
            return [guarded(item) for item in items]
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(items))) as pool:
            return list(pool.map(guarded, items))

    def call_batched(self, operation_name, ids, make_body, chunk_size=None):
        """Split ``ids`` by the operation's limit and call it once per chunk, concurrently.

        Returns a list of ChunkResult in id order.
        """
        op = operations.get(operation_name)
        size = chunk_size or op.chunk_size or len(ids) or 1
        chunks = [list(ids[start : start + size]) for start in range(0, len(ids), size)]
        outcomes = self.map_concurrently(lambda chunk: self.call(operation_name, body=make_body(chunk)), chunks)
        return [ChunkResult(chunk, answer, error) for chunk, (answer, error) in zip(chunks, outcomes)]

    def list_all(self, operation_name, query=None, page_size=100, path_params=None, key=None, on_page=None):
        """Every item of a paged listing: page 1 first, then the other pages concurrently.

        The paging fields are read inside ``data`` or at the top level (the sources disagree).
        With ``key``, an item seen on two pages (the fleet changed between reads) is kept once.

        With ``on_page`` (the inventory plugin uses it), each page is also handed to
        ``on_page(page_no, items)`` in the calling thread as soon as it arrives: page 1 first, the
        others in arrival order, items already handed over left out when ``key`` is given. The
        caller can then work while later pages are still in flight, and put the pages back in
        order by number. If a page fails, the error is raised once every page has finished, and
        what ``on_page`` received is incomplete.
        """
        query = dict(query or {})

        def fetch(page_no):
            page_query = dict(query, page_no=page_no, page_size=page_size)
            return self.call(operation_name, path_params=path_params, query=page_query)

        handed_over = _Handover(on_page, key)
        first = fetch(1)
        items = list(_page_items(first))
        handed_over(1, items)
        total = _paging_field(first, "total_count")
        served = _paging_field(first, "page_size") or page_size
        # The service may serve smaller pages than asked for; page by what it really serves.
        page_size = min(page_size, served)
        if total is not None and total > len(items):
            pages = list(range(2, int(math.ceil(float(total) / page_size)) + 1))
            if on_page is None:
                outcomes = self.map_concurrently(fetch, pages)
            else:
                outcomes = self._map_as_completed(
                    fetch, pages, lambda page_no, answer: handed_over(page_no, _page_items(answer))
                )
            for answer, error in outcomes:
                if error is not None:
                    raise error
                items.extend(_page_items(answer))
        if key is None:
            return items
        seen, unique = set(), []
        for item in items:
            if item.get(key) not in seen:
                seen.add(item.get(key))
                unique.append(item)
        return unique

    def _map_as_completed(self, function, items, on_result):
        """Like map_concurrently, and also ``on_result(item, value)`` in this thread as each call succeeds."""
        outcomes = [None] * len(items)

        def guarded(item):
            try:
                return function(item), None
            except KooPhoneError as exc:
                return None, exc

        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(items))) as pool:
            futures = dict((pool.submit(guarded, item), index) for index, item in enumerate(items))
            try:
                for future in as_completed(futures):
                    index = futures[future]
                    outcome = outcomes[index] = future.result()
                    if outcome[1] is None:
                        on_result(items[index], outcome[0])
            except BaseException:
                # on_result gave up (or Ctrl-C): send no more requests, let those in flight end.
                for future in futures:
                    future.cancel()
                raise
        return outcomes

    # ---------------------------------------------------------------- waiting

    @staticmethod
    def poll(read, is_done, wait_timeout, interval=1.0, max_interval=5.0):
        """Call ``read()`` until ``is_done(value)`` or ``wait_timeout`` seconds pass.

        Returns (done, last_value). The interval grows gently so long waits cost few requests.
        """
        deadline = time.time() + wait_timeout
        while True:
            value = read()
            if is_done(value):
                return True, value
            remaining = deadline - time.time()
            if remaining <= 0:
                return False, value
            time.sleep(min(interval, remaining))
            interval = min(max_interval, interval * 1.5)


class _Handover:
    """Hands each page's items to list_all's ``on_page``; with ``key``, each item once."""

    def __init__(self, on_page, key):
        self.on_page, self.key, self.seen = on_page, key, set()

    def __call__(self, page_no, items):
        if self.on_page is None:
            return
        if self.key is not None:
            fresh = []
            for item in items:
                if item.get(self.key) not in self.seen:
                    self.seen.add(item.get(self.key))
                    fresh.append(item)
            items = fresh
        self.on_page(page_no, list(items))


class ChunkResult:
    def __init__(self, ids, answer, error):
        self.ids = ids
        self.answer = answer
        self.error = error

    @property
    def failed(self):
        return self.error is not None


# -------------------------------------------------------------------- answer handling


def _encode_body(body):
    if body is None:
        return None
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _parse_json(operation_name, response, request_id, strict=True):
    try:
        answer = response.json()
    except ValueError:
        if not strict:
            return {}
        excerpt = (response.text or "")[:EXCERPT_CHARS].strip() or "(empty body)"
        raise KooPhoneError(
            "The service answered with a body that is not JSON: %s" % excerpt,
            operation=operation_name,
            status=response.status_code,
            request_id=_answer_request_id(response, request_id),
        ) from None
    return answer if isinstance(answer, dict) else {"data": answer}


def _error_fields(answer):
    """(error_code, error_msg) from any of the shapes KooPhone, IAM and the gateway use."""
    if not isinstance(answer, dict):
        return None, None
    iam = answer.get("error")
    if isinstance(iam, dict):  # IAM: {"error": {"code": 401, "message": ...}}
        return _text(iam.get("code")), iam.get("message") or iam.get("title")
    code = answer.get("error_code")
    message = answer.get("error_msg") or answer.get("error_info") or answer.get("message")
    data = answer.get("data")
    if code is None and isinstance(data, dict):  # batch-query puts them inside data
        code = data.get("error_code")
        message = message or data.get("error_msg")
    return _text(code), message


def _check_answer(operation_name, status, answer, request_id):
    code, message = _error_fields(answer)
    # The ListInstances schema has no top-level error_code and shows data.error_code "null": a 2xx
    # answer that carries data but no error_code at all counts as success.
    no_code = code in (None, "", "null") and 200 <= status < 300 and "data" in answer
    if code == "0" or no_code:
        return
    error_class = KooPhoneAuthError if status in (401, 403) else KooPhoneError
    raise error_class(
        message or "The service reported an error",
        operation=operation_name,
        status=status,
        error_code=code,
        error_msg=message,
        request_id=request_id,
    )


def _text(value):
    return None if value is None else "%s" % (value,)


def _answer_request_id(response, request_id):
    return response.headers.get("x-request-id") or request_id


def _page_items(answer):
    data = answer.get("data")
    items = data.get("result") if isinstance(data, dict) else data
    return items if isinstance(items, list) else []


def _paging_field(answer, name):
    data = answer.get("data")
    value = data.get(name) if isinstance(data, dict) and data.get(name) is not None else answer.get(name)
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _retry_after_seconds(value):
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = parsedate_tz(value)
        return max(0.0, mktime_tz(parsed) - time.time()) if parsed else None


def _never_reached_service(exc):
    """True only when the request provably was not delivered: refused or timed out connecting."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if isinstance(exc, requests.exceptions.ConnectionError):
        reason = repr(exc)
        return "NewConnectionError" in reason or "Connection refused" in reason or "NameResolutionError" in reason
    return False


def _describe_connection_error(exc):
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS verification failed (set ca_path, or validate_certs=false for a test endpoint): %s" % exc
    if isinstance(exc, requests.exceptions.Timeout):
        return "timed out"
    if _never_reached_service(exc):
        return "could not connect to the endpoint"
    return "the connection broke before an answer arrived"
