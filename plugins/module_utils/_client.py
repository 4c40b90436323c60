# Copyright: (c) 2026, koophone.cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the koophone.cloud collection (shared layer; see docs/development.md): not a public API,
# it may change in any release. Do not import it from other collections or standalone plugins.
"""The one HTTP client every koophone.cloud module and the inventory plugin use.

It owns HTTP (one keep-alive session), authentication, retries, response checking, batching
of id lists, paging and polling. Modules only decide what the desired state needs.
"""

import json
import os
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
    from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

    # Raised before a byte left: the request could not be built or the connection not made.
    NEVER_SENT = (
        requests.exceptions.ConnectTimeout,
        requests.exceptions.SSLError,
        requests.exceptions.InvalidURL,
        requests.exceptions.InvalidHeader,
        requests.exceptions.MissingSchema,
        requests.exceptions.InvalidSchema,
        requests.exceptions.URLRequired,
    )

    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - reported by the module through missing_required_lib
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = exc

from ansible_collections.koophone.cloud.plugins.module_utils import _errors as errors
from ansible_collections.koophone.cloud.plugins.module_utils import _operations as operations
from ansible_collections.koophone.cloud.plugins.module_utils import _options as options
from ansible_collections.koophone.cloud.plugins.module_utils import _validation as validation
from ansible_collections.koophone.cloud.plugins.module_utils._auth import choose_auth, parse_iam_time
from ansible_collections.koophone.cloud.plugins.module_utils._errors import (
    InvalidOption,
    KooPhoneAuthError,
    KooPhoneError,
    KooPhonePermissionError,
)
from ansible_collections.koophone.cloud.plugins.module_utils._signer import canonical_query

USER_AGENT = "koophone.cloud-ansible/0.1.0"
# The API Explorer's base URL ends in /v1, and every operation path starts with it.
API_BASE_PATH = "/v1"

# Backoff: full jitter over an exponential ceiling. Retry-After is honoured up to a cap so a
# misbehaving gateway cannot park a play for an hour. One call never retries for longer than
# MAX_RETRY_SECONDS in total.
BACKOFF_BASE_SECONDS = 0.25
BACKOFF_CAP_SECONDS = 10.0
RETRY_AFTER_CAP_SECONDS = 60.0
MAX_RETRY_SECONDS = 300.0
EXCERPT_CHARS = 200
# Up to this many ids, one filtered batch-query per id beats reading the whole fleet.
PER_ID_LOOKUP_LIMIT = 10


class Request:
    """One HTTP request as the client sends it (and may send again)."""

    __slots__ = (
        "operation",
        "method",
        "base",
        "path",
        "query",
        "headers",
        "body",
        "repeatable",
        "request_id",
        "signed",
    )

    def __init__(self, operation, method, base, path, query=(), headers=None, body=None, **flags):
        self.operation, self.method, self.base, self.path = operation, method, base, path
        self.query = list(query)
        self.headers = dict(headers or {})
        self.body = body
        self.repeatable = flags.get("repeatable", False)
        self.request_id = flags.get("request_id")
        self.signed = flags.get("signed", True)

    @property
    def url(self):
        return self.base + self.path + ("?" + canonical_query(self.query) if self.query else "")


class KooPhoneClient:
    def __init__(self, params):
        self.endpoint = base_url("endpoint", params.get("endpoint"), options.DEFAULTS["endpoint"])
        self.iam_endpoint = base_url("iam_endpoint", params.get("iam_endpoint"), options.DEFAULTS["iam_endpoint"])
        self.timeout = float(_given(params, "timeout"))
        self.retries = int(_given(params, "retries"))
        self.concurrency = max(1, int(_given(params, "concurrency")))
        ca_path = params.get("ca_path")
        if ca_path and not os.path.isfile(ca_path) and not os.path.isdir(ca_path):
            raise InvalidOption("ca_path", "%s does not exist (give a CA bundle file or a directory of CAs)" % ca_path)
        self.verify = ca_path or (params.get("validate_certs") is not False)
        self.auth = choose_auth(dict(params, iam_endpoint=self.iam_endpoint), self._iam_login)
        self.request_count = 0
        self._count_lock = threading.Lock()
        self._session = requests.Session()
        # One pooled connection per concurrent worker (plus IAM), reused across calls.
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=self.concurrency + 2, max_retries=0)
        self._session.mount("https://", adapter)
        self._session.mount("http://", adapter)

    # ---------------------------------------------------------------- single calls

    def call(self, operation_name, path_params=None, query=None, body=None, repeatable=None):
        """Call one operation and return its JSON answer; raise KooPhoneError unless error_code is "0".

        ``repeatable=True`` marks this one request as safe to send again whatever the operation: a
        command that only reads (``pm list packages``) may be retried after a lost answer.
        """
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
        request = Request(
            op.name,
            op.method,
            self.endpoint,
            path,
            query,
            headers,
            payload,
            repeatable=op.repeatable if repeatable is None else repeatable,
            request_id=request_id,
        )
        response = self._send(request)
        answer = _parse_json(op.name, response, request_id)
        _check_answer(op.name, response.status_code, answer, request_id)
        return answer

    def _iam_login(self, body):
        """POST /v3/auth/tokens; return (token, expires_at, issued_at) as epoch seconds."""
        request = Request(
            operations.IAM_LOGIN,
            "POST",
            self.iam_endpoint,
            "/v3/auth/tokens",
            headers={"Content-Type": "application/json;charset=UTF-8"},
            body=_encode_body(body),
            repeatable=True,
            signed=False,
        )
        response = self._send(request)
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
        token_info = answer.get("token")
        if not isinstance(token_info, dict):
            raise KooPhoneAuthError(
                "IAM answered without a token object (token is %s)" % validation.kind_of(token_info),
                operation=operations.IAM_LOGIN,
                status=response.status_code,
            )
        expires_at = parse_iam_time(token_info.get("expires_at"))
        issued = token_info.get("issued_at")
        return token, expires_at, parse_iam_time(issued, "issued_at") if issued else time.time()

    def _send(self, request):
        """Send with retries. Returns the final requests.Response that is not a retryable failure."""
        headers = dict(request.headers, Host=urlsplit(request.base).netloc, Accept="application/json")
        headers["User-Agent"] = USER_AGENT
        deadline = time.time() + MAX_RETRY_SECONDS
        renewed = False
        attempt = 0
        while True:
            sent_headers = headers
            if request.signed:
                sent_headers = self.auth.headers(request.method, request.path, request.query, headers, request.body)
            try:
                self._count()
                response = self._session.request(
                    request.method,
                    request.url,
                    data=request.body,
                    headers=sent_headers,
                    timeout=self.timeout,
                    verify=self.verify,
                    allow_redirects=False,
                )
            except requests.exceptions.RequestException as exc:
                reached = may_have_reached_service(exc)
                if _transient(exc) and (request.repeatable or not reached) and self._may_retry(attempt, deadline):
                    self._sleep(attempt, None)
                    attempt += 1
                    continue
                raise KooPhoneError(
                    "Request failed: %s" % _describe_connection_error(exc),
                    operation=request.operation,
                    request_id=request.request_id,
                    maybe_applied=reached,
                ) from None

            status = response.status_code
            renew = status == 401 and request.signed and not renewed and _token_problem(response)
            if renew and self.auth.renew(sent_headers):
                renewed = True  # an expired IAM token: log in once more and repeat; the 401 applied nothing
                continue
            if (status == 429 or (status >= 500 and request.repeatable)) and self._may_retry(attempt, deadline):
                self._sleep(attempt, response.headers.get("Retry-After"))
                attempt += 1
                continue
            if status >= 500 and not request.repeatable:
                answer = _parse_json(request.operation, response, request.request_id, strict=False)
                code, message = _error_fields(answer)
                raise KooPhoneError(
                    "The service failed while handling a request that is not safe to repeat; it may or may "
                    "not have been applied: %s" % (message or "HTTP %s" % status),
                    operation=request.operation,
                    status=status,
                    error_code=code,
                    error_msg=message,
                    request_id=request.request_id,
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

    def call_batched(self, operation_name, ids, make_body, chunk_size=None, repeatable=None):
        """Split ``ids`` by the operation's limit and call it once per chunk, concurrently.

        Returns a list of ChunkResult in id order. A chunk refused with KOOPHONE.API.1001 because
        some of its ids are not this tenant's applied nothing: the ids the listing does not show are
        reported on their own, and the rest of the chunk is sent once more without them.
        """
        op = operations.get(operation_name)
        size = chunk_size or op.chunk_size or len(ids) or 1
        chunks = [list(ids[start : start + size]) for start in range(0, len(ids), size)]
        outcomes = self.map_concurrently(
            lambda chunk: self.call(operation_name, body=make_body(chunk), repeatable=repeatable), chunks
        )
        results = [ChunkResult(chunk, answer, error) for chunk, (answer, error) in zip(chunks, outcomes)]
        if op.ids_field and any(_refused_for_foreign_ids(result) for result in results):
            results = self._without_foreign_ids(operation_name, results, make_body, repeatable)
        return results

    def _without_foreign_ids(self, operation_name, results, make_body, repeatable=None):
        refused = [i for result in results if _refused_for_foreign_ids(result) for i in result.ids]
        try:
            owned = self.read_instances(refused)
        except KooPhoneError:
            return results  # nothing proves which ids are foreign: report the refusals as they came
        split = []
        for result in results:
            foreign = [i for i in result.ids if i not in owned] if _refused_for_foreign_ids(result) else []
            rest = [i for i in result.ids if i in owned]
            if not foreign or not rest:
                split.append(ChunkResult(result.ids, result.answer, _name_foreign(result.error, foreign)))
                continue
            split.append(ChunkResult(foreign, None, _name_foreign(result.error, foreign)))
            try:
                split.append(
                    ChunkResult(rest, self.call(operation_name, body=make_body(rest), repeatable=repeatable), None)
                )
            except KooPhoneError as error:
                split.append(ChunkResult(rest, None, error))
        return split

    def read_instances(self, ids, page_size=None, query=None):
        """{instance_id: batch-query item} for those of ``ids`` that the tenant has (are listed).

        A few ids are looked up one filtered request each; more, and the whole fleet is read once.
        ``query`` adds batch-query's other filters.
        """
        ids = list(dict.fromkeys(ids))
        if not ids:
            return {}
        query = dict(query or {})
        page_size = page_size or operations.LIST_INSTANCES_PAGE_SIZE[0]
        if len(ids) <= PER_ID_LOOKUP_LIMIT:
            found = []
            lookups = self.map_concurrently(
                lambda instance_id: self.list_all(
                    "ListInstances", dict(query, instance_id=instance_id), page_size, key="instance_id"
                ),
                ids,
            )
            for items, error in lookups:
                if error is not None:
                    raise error
                found.extend(items)
        else:
            found = self.list_all("ListInstances", query, page_size, key="instance_id")
        wanted = set(ids)
        return dict((item["instance_id"], item) for item in found if item.get("instance_id") in wanted)

    def list_all(self, operation_name, query=None, page_size=100, path_params=None, key=None, on_page=None):
        """Every item of a paged listing: page 1 first, then the other pages concurrently.

        The paging fields are read inside ``data`` or at the top level (the sources disagree). The
        pages after the first are asked for by the number of items page 1 really held: a service
        may serve fewer than asked and still echo the size asked for. A listing is complete only
        when the items received reach ``total_count``; one that does not (the fleet changed while it
        was read, or the service pages in a way the counts cannot explain) is read once more, and
        then raises rather than return fewer. With ``key``, an item seen on two pages is kept once.

        With ``on_page`` (the inventory plugin uses it), each page is also handed to
        ``on_page(page_no, items)`` in the calling thread as soon as it arrives: page 1 first, the
        others in arrival order, items already handed over left out when ``key`` is given. The
        caller can then work while later pages are still in flight, and put the pages back in
        order by number. If a page fails, or the listing is incomplete, the error is raised once
        every page has finished (no second reading), and what ``on_page`` received is incomplete.
        """
        reader = _PagedListing(self, operation_name, dict(query or {}), page_size, path_params, key, on_page)
        items, problem = reader.read()
        if problem is not None and on_page is None:
            items, problem = _PagedListing(self, operation_name, reader.query, page_size, path_params, key).read()
        if problem is not None:
            raise KooPhoneError(
                "The listing is incomplete: %s. Nothing was decided on it; run again, and if this persists "
                "tell the service's support what this message says" % problem,
                operation=operation_name,
            )
        return items

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
    def poll(read, is_done, wait_timeout, interval=1.0, max_interval=5.0, schedule=None):
        """Call ``read()`` until ``is_done(value)`` or ``wait_timeout`` seconds pass; return (done, last_value).

        The collection's one polling loop. With a ``schedule`` (_tasks.PollSchedule: it starts
        short, backs off while nothing changes and holds the pace while things finish), the wait
        after each read is ``schedule.next_delay(value)``; without one it starts at ``interval``
        and grows x1.5 up to ``max_interval``, so long waits cost few requests.
        """
        deadline = time.time() + wait_timeout
        while True:
            value = read()
            if is_done(value):
                return True, value
            remaining = deadline - time.time()
            if remaining <= 0:
                return False, value
            if schedule is not None:
                delay = schedule.next_delay(value)
            else:
                delay, interval = interval, min(max_interval, interval * 1.5)
            time.sleep(min(max(0.0, delay), remaining))


class _PagedListing:
    """One complete reading of a paged listing (see KooPhoneClient.list_all)."""

    def __init__(self, client, operation_name, query, page_size, path_params, key, on_page=None):
        self.client, self.operation_name, self.query = client, operation_name, query
        self.page_size, self.path_params, self.key = page_size, path_params, key
        self.handed_over = _Handover(on_page, key)
        self.on_page = on_page
        self.totals = set()

    def fetch(self, page_no, size):
        query = dict(self.query, page_no=page_no, page_size=size)
        answer = self.client.call(self.operation_name, path_params=self.path_params, query=query)
        _check_items(self.operation_name, answer, page_no, self.key)
        total = _paging_field(answer, "total_count")
        if total is not None:
            self.totals.add(total)
        return answer

    def read(self):
        """(items, None) when complete, (items read, what is wrong) when not."""
        first = self.fetch(1, self.page_size)
        items = _page_items(first)
        self.handed_over(1, items)
        total = _paging_field(first, "total_count")
        served = len(items)
        size = min(self.page_size, served) or self.page_size
        next_page = 2
        if total is not None and total > served and served:
            pages = -(-total // size)
            if total > MAX_LISTED_ITEMS or pages > MAX_PAGES:
                return self._unique(items), (
                    "its total_count %d would take %d pages of %d; no fleet is that large (a listing is read up to "
                    "%d items in at most %d pages), so no further page was asked for"
                    % (total, pages, size, MAX_LISTED_ITEMS, MAX_PAGES)
                )
            items.extend(self._pages(list(range(2, pages + 1)), size))
            next_page = pages + 1
        problem = None
        if served and len(items) >= (next_page - 1) * size and (total is None or len(self._unique(items)) < total):
            problem = self._read_on(items, next_page, size, total)
        items = self._unique(items)
        if problem is not None or total is None:
            return items, problem
        if len(self.totals) > 1:
            return items, "total_count changed from page to page (%s)" % ", ".join(str(n) for n in sorted(self.totals))
        if len(items) < total:
            return items, "%d items received of total_count %d" % (len(items), total)
        return items, None

    def _read_on(self, items, next_page, size, total):
        """No total_count, or fewer items than it says although every page was full: read on, one page
        at a time, until a page comes back short. Returns what is wrong, or None.

        A service that ignores page_no serves the same full page for ever: a page that repeats the
        one before it, or (with ``key``) brings no item not seen yet, ends the reading as a problem.
        """
        seen = set(item[self.key] for item in items) if self.key is not None else None
        while True:
            if next_page > MAX_PAGES:
                return "it still had full pages after %d pages; no fleet is that large" % MAX_PAGES
            page = _page_items(self.fetch(next_page, size))
            before = items[-len(page) :] if page else []
            if (seen is None and page and page == before) or (
                seen is not None and page and all(item[self.key] in seen for item in page)
            ):
                return (
                    "page %d repeats items already read (the service seems to ignore page_no), so the listing has "
                    "no end to read to" % next_page
                )
            self.handed_over(next_page, page)
            items.extend(page)
            if seen is not None:
                seen.update(item[self.key] for item in page)
            if len(page) < size or (total is not None and len(self._unique(items)) >= total):
                return None
            next_page += 1

    def _pages(self, pages, size):
        def fetch(page_no):
            return self.fetch(page_no, size)

        if self.on_page is None:
            outcomes = self.client.map_concurrently(fetch, pages)
        else:
            outcomes = self.client._map_as_completed(
                fetch, pages, lambda page_no, answer: self.handed_over(page_no, _page_items(answer))
            )
        items = []
        for answer, error in outcomes:
            if error is not None:
                raise error
            items.extend(_page_items(answer))
        return items

    def _unique(self, items):
        if self.key is None:
            return items
        seen, unique = set(), []
        for item in items:
            if item.get(self.key) not in seen:
                seen.add(item.get(self.key))
                unique.append(item)
        return unique


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

# A listing is read up to this many items, in at most this many pages: ten times the largest fleet
# the collection is built for (DESIGN.md: 50,000 phones; a name prefix numbers at most 99,999), and
# that many items in pages of 100 (the batch-query default). A total_count past either is refused
# before any further page is asked for: a broken gateway claiming 10**18 items must not cost a
# billion requests. docs/readings.md #16.
MAX_LISTED_ITEMS = 1000000
MAX_PAGES = 10000


def _encode_body(body):
    if body is None:
        return None
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _parse_json(operation_name, response, request_id, strict=True):
    try:
        answer = response.json()
    except (ValueError, RecursionError):  # RecursionError: JSON nested deeper than Python's stack
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
        return _text(iam.get("code")), validation.as_text(iam.get("message") or iam.get("title"))
    code = answer.get("error_code")
    message = answer.get("error_msg") or answer.get("error_info") or answer.get("message")
    data = answer.get("data")
    if code is None and isinstance(data, dict):  # batch-query puts them inside data
        code = data.get("error_code")
        message = message or data.get("error_msg")
    return _text(code), validation.as_text(message)


def _check_answer(operation_name, status, answer, request_id):
    code, message = _error_fields(answer)
    # The ListInstances schema has no top-level error_code and shows data.error_code "null": a 2xx
    # answer that carries data but no error_code at all counts as success.
    success = 200 <= status < 300
    no_code = code in (None, "", "null") and success and "data" in answer
    if (code == "0" and success) or no_code:
        return
    text = message or "The service reported an error"
    if code == "0":
        # error_code "0" says success, the status says otherwise: the status wins (a redirect the
        # client does not follow, a 4xx, or a 429/5xx that was still there once the retries were spent).
        text = "The service answered HTTP %s%s although its error_code says success" % (
            status,
            " (a redirect, which the client does not follow)" if 300 <= status < 400 else "",
        )
        if status == 429 or status >= 500:
            text += ", and still did after every retry"
    kind = errors.error_kind(code)
    if kind == errors.PERMISSION:
        error_class = KooPhonePermissionError
    elif status in (401, 403) or kind == errors.TOKEN_INVALID:
        error_class = KooPhoneAuthError
    else:
        error_class = KooPhoneError
    raise error_class(
        text,
        operation=operation_name,
        status=status,
        error_code=code,
        error_msg=message,
        request_id=request_id,
    )


def _token_problem(response):
    """Whether a 401 says the token expired or is invalid (a new login cures it), by its error code.

    KOOPHONE.API.1001 and 1003 come as 401 too; they are about the instances or the tenant.
    """
    try:
        answer = response.json()
    except (ValueError, RecursionError):
        return True  # a bare 401 from a gateway: the credentials, not the instances
    code, _message = _error_fields(answer if isinstance(answer, dict) else {})
    return code in (None, "") or errors.error_kind(code) == errors.TOKEN_INVALID


def _refused_for_foreign_ids(result):
    return result.failed and len(result.ids) > 1 and errors.is_code(result.error, "1001")


def _name_foreign(error, foreign):
    if not foreign:
        return error
    return KooPhonePermissionError(
        "The service refused instance(s) %s: no permission for them (batch-query does not list them: not in "
        "this tenant, or a wrong id)" % ", ".join(foreign),
        operation=error.operation,
        status=error.status,
        error_code=error.error_code,
        error_msg=error.error_msg,
        request_id=error.request_id,
    )


def payload(answer, key):
    """``data`` of an answer, also where the sources nest it as ``data.data`` (install, reset, create):
    the inner dict is used when the outer one lacks ``key``."""
    data = answer.get("data") if isinstance(answer, dict) else None
    if isinstance(data, dict) and key not in data and isinstance(data.get("data"), dict):
        data = data["data"]
    return data if isinstance(data, dict) else {}


def listed(answer, key):
    """The dicts of the list ``data.<key>`` (or ``data.data.<key>``); [] when it is missing or not a list."""
    items = payload(answer, key).get(key)
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


def _text(value):
    return None if value is None else "%s" % (value,)


def _answer_request_id(response, request_id):
    return response.headers.get("x-request-id") or request_id


def _page_items(answer):
    data = answer.get("data")
    items = data.get("result") if isinstance(data, dict) else data
    return items if isinstance(items, list) else []


def _check_items(operation_name, answer, page_no, key=None):
    """Refuse a page whose items cannot be read: one that is not an object, or (with ``key``) one
    without a text ``key``. A listing that dropped such an item would decide on a fleet it did not
    see (count too few phones and buy more, leave a phone out of the inventory); see docs/readings.md
    #17."""
    for index, item in enumerate(_page_items(answer)):
        if not isinstance(item, dict):
            problem = "is %s, not an object" % validation.kind_of(item)
        elif key is not None and not (isinstance(item.get(key), str) and item[key]):
            value = item.get(key)
            kind = validation.kind_of(value)
            problem = "has no %s" % key if value in (None, "") else "has %s %s, not an id" % (kind, key)
        else:
            continue
        raise KooPhoneError(
            "The service answered a listing that cannot be read: page %d, item %d (data.result[%d]) %s. Nothing "
            "was decided on it" % (page_no, index + 1, index, problem),
            operation=operation_name,
        )


def _paging_field(answer, name):
    data = answer.get("data")
    value = data.get(name) if isinstance(data, dict) and data.get(name) is not None else answer.get(name)
    return validation.as_int(value)


def _retry_after_seconds(value):
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        parsed = parsedate_tz(value)
        return max(0.0, mktime_tz(parsed) - time.time()) if parsed else None
    except (ValueError, OverflowError, TypeError, IndexError):  # a date no clock can hold: no hint
        return None


def may_have_reached_service(exc):
    """Whether a request that failed with ``exc`` may have been delivered (and so applied).

    Decided from the exception's type, never its text: only a connection that was never made
    (refused, no route, no DNS answer, a connect timeout, a failed TLS handshake) or a request that
    could not even be built proves nothing was sent.
    """
    if isinstance(exc, NEVER_SENT):
        return False
    if isinstance(exc, requests.exceptions.ConnectionError):
        reason = exc.args[0] if exc.args else None
        reason = getattr(reason, "reason", reason)  # urllib3's MaxRetryError wraps the cause
        return not isinstance(reason, (NewConnectionError, ConnectTimeoutError))
    return True


def _transient(exc):
    """Worth another try: the network, not the request (a malformed URL or header stays malformed)."""
    if isinstance(exc, requests.exceptions.SSLError):
        return False  # a certificate that fails verification fails again
    return isinstance(
        exc,
        (requests.exceptions.ConnectionError, requests.exceptions.Timeout, requests.exceptions.ChunkedEncodingError),
    )


def _describe_connection_error(exc):
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS verification failed (set ca_path, or validate_certs=false for a test endpoint): %s" % exc
    if isinstance(exc, requests.exceptions.Timeout):
        return "timed out"
    if not _transient(exc):
        return "the request could not be sent: %s" % exc
    if not may_have_reached_service(exc):
        return "could not connect to the endpoint"
    return "the connection broke before an answer arrived"


def base_url(option, value, default):
    """``endpoint``/``iam_endpoint`` checked and normalised: scheme and host, no trailing ``/`` or ``/v1``.

    The API Explorer writes the base URL with ``/v1``; the operation paths carry it already, so a
    pasted ``https://host/v1`` is accepted as ``https://host``.
    """
    if value is None:
        value = default
    text = ("%s" % value).strip()
    if not text:
        raise InvalidOption(option, "must not be empty (leave it unset for %s)" % default)
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidOption(
            option, "must be an http:// or https:// URL with a host, such as %s; got %r" % (default, text)
        )
    if parts.query or parts.fragment:
        raise InvalidOption(option, "must not carry a query or fragment; got %r" % text)
    path = parts.path.rstrip("/")
    if path.endswith(API_BASE_PATH):
        path = path[: -len(API_BASE_PATH)]
    return "%s://%s%s" % (parts.scheme, parts.netloc, path)


def _given(params, option):
    value = params.get(option)
    return options.DEFAULTS[option] if value is None else value
