"""Response fuzzing (issue 13, item 3): whatever the service answers, the client ends in a correct
parse or a clean KooPhoneError, never in another exception (TypeError, AttributeError, KeyError,
ValueError, IndexError, OverflowError, RecursionError, MemoryError...), and never in an endless read.

The answers reach the client through its real HTTP path. requests' Session prepares and sends every
request to a transport adapter mounted where the client mounts its HTTPAdapter (``FuzzAdapter``),
which answers with a urllib3 response built from fuzzed bytes, so requests' own reading runs as it
does on the wire (Content-Encoding, charset, Content-Length, 204/304 without a body). A smaller set
goes over real sockets to the scripted server (tests/unit/stub_server.py).

Each answer starts from what the reference says the operation answers, built from the request (the
ids it sent, the page it asked for, the jobs of the task it names), with any of the values the
reference allows (statuses, outputs); then it is bent: fields replaced by random JSON or by values
that break trusting code (null, "", [], {}, 10**30, infinity, "inf"...), removed, retyped, nested in
``data.data``, wrapped in lists; or it is an error answer (KooPhone, IAM and gateway shapes, any
types), random JSON, or a transport failure (refused, reset, timeouts, TLS). The body is JSON,
truncated JSON, empty, HTML, bytes, 300 kB, BOM- or UTF-16-encoded, invalid UTF-8, gzip (or claimed
gzip), shorter than its Content-Length; the status any of 200/201/204/301/304/400/401/403/404/409/
429/500/502/503/504; the Content-Type right, wrong or absent; Retry-After and X-Subject-Token
anything a header can hold. How much of a conversation is broken is drawn per example (HOSTILITIES):
from one bad leaf in an otherwise sound conversation, which reaches the parsers at the end of long
flows, to everything broken everywhere.

test_fuzz_capabilities.py runs every module and the inventory plugin on the same service.

Bugs the fuzzing found are listed in KNOWN_BUGS, each reproduced by a test with the smallest answer
found (hypothesis' shrinking, then by hand), marked ``xfail(strict=True)`` while the entry is there.
The general properties steer clear of a listed bug's answers (STEERING), so that they keep guarding
everything else. Once plugins/ is fixed, delete the entry: its reproductions must then pass, and the
general properties feed that kind of answer again.

Every property runs a fixed number of examples, derandomized (the same examples on every run),
without the example database, and prints nothing.
"""

import contextlib
import copy
import gzip
import io
import json
import math
import os
import random
import threading
from unittest import mock
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir
from requests.adapters import HTTPAdapter
from urllib3 import HTTPResponse
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError

from ansible_collections.koophone.cloud.plugins.module_utils import _client as client_module
from ansible_collections.koophone.cloud.plugins.module_utils import _operations as operations
from ansible_collections.koophone.cloud.plugins.module_utils._client import KooPhoneClient
from ansible_collections.koophone.cloud.plugins.module_utils._errors import InvalidOption, KooPhoneError

from ...stub_server import StubServer

# Hypothesis keeps a cache of the constants it finds in the code under test; keep it in .build/ (ignored
# by git and by the collection build) rather than in a .hypothesis/ that the tarball would carry.
if not os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
    set_hypothesis_home_dir(
        os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..", ".build", "hypothesis")
    )

# -------------------------------------------------------------------- bugs found, and steering clear of them

# name -> what breaks, where. Delete an entry once plugins/ is fixed (see the module docstring).
KNOWN_BUGS = {}


def known_bug(name):
    """The xfail mark of the test that reproduces KNOWN_BUGS[name] (inert once the entry is deleted)."""
    return pytest.mark.xfail(name in KNOWN_BUGS, reason="KNOWN_BUGS[%r] in test_fuzz_responses.py" % name, strict=True)


def steer(request, answer, status):
    """(answer, status) to ``request`` without the shapes of the bugs still listed in KNOWN_BUGS (see STEERING)."""
    for name, repair in STEERING.items():
        if name in KNOWN_BUGS:
            answer, status = repair(request, answer, status)
    return answer, status


LISTINGS = ("ListInstances", "ListInstanceApp")


# bug name -> a function from (request, answer, status) to an (answer, status) without that bug's shape.
# Some bugs are better steered clear of where their values are drawn, by a ``"name" in KNOWN_BUGS``
# test there (as scalars, _retyped, nasty_values, body_kinds, retry_after_values and _safe_paging
# do for non_finite_numbers, deep_json, retry_after_date and huge_total_count, all fixed now). A
# service that ignores page_no is not drawn (listings end at LAST_PAGE): test_client.py covers it.
STEERING = {}


def fuzz_settings(examples):
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        print_blob=False,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )


# -------------------------------------------------------------------- JSON values

FIELD_NAMES = (
    "error_code",
    "error_msg",
    "data",
    "result",
    "instance_id",
    "instance_name",
    "status",
    "task_id",
    "job_id",
    "jobs",
    "cmd_jobs",
    "cmd_results",
    "execute_msg",
    "total_count",
    "page_no",
    "page_size",
    "running_status",
    "app_pkg",
    "app_version",
    "token",
    "expires_at",
    "message",
    "code",
)
KEYS = st.sampled_from(FIELD_NAMES) | st.text(max_size=6)
NUMERIC_TEXT = st.sampled_from(["0", "-1", "1", "2", " 3 ", "2.5", "1e3", "nan", "NaN", "0x10", "", "null", "None"])
NON_FINITE_TEXT = st.sampled_from(["inf", "-inf", "Infinity", "1e400", "-1e999"])
# A float JSON cannot spell (json.dumps would write Infinity, which requests' parser may refuse):
# these are written as 1e400 / -1e400, which every JSON parser reads as infinity.
_INF_MARK = "\x00fuzz-inf\x00"
_NINF_MARK = "\x00fuzz-ninf\x00"


def texts(max_size=12):
    return st.text(max_size=max_size) | NUMERIC_TEXT


def scalars():
    choices = [
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=False, allow_infinity=False),
        texts(),
    ]
    if "non_finite_numbers" not in KNOWN_BUGS:
        choices.append(st.sampled_from([float("inf"), float("-inf")]))
        choices.append(NON_FINITE_TEXT)
    return st.one_of(choices)


def json_values(max_leaves=8):
    return st.recursive(
        scalars(),
        lambda children: st.lists(children, max_size=4) | st.dictionaries(KEYS, children, max_size=4),
        max_leaves=max_leaves,
    )


def _marked(value):
    if isinstance(value, float) and math.isnan(value):
        return None
    if value == float("inf") and isinstance(value, float):
        return _INF_MARK
    if value == float("-inf") and isinstance(value, float):
        return _NINF_MARK
    if isinstance(value, dict):
        return dict((k, _marked(v)) for k, v in value.items())
    if isinstance(value, list):
        return [_marked(v) for v in value]
    return value


def dumps(value):
    """JSON text of ``value``, infinities spelt 1e400 (see _INF_MARK)."""
    text = json.dumps(_marked(value), ensure_ascii=False)
    for mark, literal in ((_INF_MARK, "1e400"), (_NINF_MARK, "-1e400")):
        text = text.replace(json.dumps(mark, ensure_ascii=False), literal)
    return text


# -------------------------------------------------------------------- what each operation answers

IAM_PATH = "/v3/auth/tokens"
ENDPOINT = "https://kp.fuzz.test"
IAM_ENDPOINT = "https://iam.fuzz.test"
TOKEN_HEADER = "X-Subject-Token"


class Request:
    """What the fuzzed service saw of one request."""

    def __init__(self, prepared):
        split = urlsplit(prepared.url)
        self.method = prepared.method
        self.path = split.path
        self.query = dict(parse_qsl(split.query))
        self.headers = prepared.headers
        try:
            self.body = json.loads(prepared.body) if prepared.body else None
        except ValueError:
            self.body = None
        self.operation = operation_of(self.method, self.path)
        op = operations.OPERATIONS.get(self.operation)
        self.ids = []
        if op is not None and op.ids_field and isinstance(self.body, dict):
            for entry in self.body.get(op.ids_field) or []:
                self.ids.append(entry.get("instance_id") if isinstance(entry, dict) else entry)
        if isinstance(self.body, dict) and isinstance(self.body.get("instance_id"), str):
            self.ids.append(self.body["instance_id"])


def operation_of(method, path):
    if path == IAM_PATH:
        return operations.IAM_LOGIN
    parts = path.split("/")
    for op in operations.OPERATIONS.values():
        pattern = op.path.split("/")
        matches = (p == q or (p.startswith("{") and p.endswith("}")) for p, q in zip(pattern, parts))
        if op.method == method and len(pattern) == len(parts) and all(matches):
            return op.name
    raise AssertionError("the client sent a request no operation has: %s %s" % (method, path))


def ok(data=None, msg="ok", **top):
    answer = {"error_code": "0", "error_msg": msg}
    if data is not None:
        answer["data"] = data
    answer.update(top)
    return answer


def phone(instance_id, number=1, **fields):
    item = {
        "instance_id": instance_id,
        "instance_name": "kp-%05d" % number,
        "region": "cn-north-4",
        "instance_sku": "kp.pro",
        "running_status": 2,
        "assign_status": 0,
        "assign_user": "",
        "backup_status": 0,
    }
    item.update(fields)
    return item


def jobs_of(ids, prefix="job"):
    return [{"instance_id": i, "job_id": "%s-%s" % (prefix, i)} for i in ids]


def catalogue():
    return {
        "bandInfo": {"cbcSkuId": "kp.bandwidth", "id": "62"},
        "skuSpecResponseList": [
            {
                "regionId": "cn-north-4",
                "skuResponses": [
                    {
                        "type": "PROFESSIONAL",
                        "cbcSkuId": "kp.pro",
                        "calcSpec": "4vCPUs | 8GB",
                        "bandSize": "4,8",
                        "chargeMode": 2,
                        "resourceSize": 120,
                        "poolInfo": {
                            "aosp": [
                                {"version": "AOSP11", "resPoolId": "p1", "id": "40", "network": "EIP", "enable": True},
                                {"version": "AOSP14", "resPoolId": "p2", "id": 41, "network": "ADN"},
                            ]
                        },
                    }
                ],
            }
        ],
    }


class Context:
    """What one example's service knows: the fleet batch-query lists, the apps app-list lists, and the
    jobs of the tasks it handed out (so tasks/{task_id} can answer about them)."""

    def __init__(self, fleet=(), apps=()):
        self.fleet = list(fleet)
        self.apps = list(apps)
        self.jobs = {}  # task_id -> job ids

    def task(self, task_id, ids, prefix="job"):
        jobs = jobs_of(ids, prefix)
        self.jobs.setdefault(task_id, []).extend(job["job_id"] for job in jobs)
        return {"task_id": task_id, "cmd_jobs": jobs}


def page(items, query, default_size):
    no = _small(query.get("page_no"), 1)
    size = _small(query.get("page_size"), default_size) or default_size
    return items[(no - 1) * size : no * size], no, size


def _small(value, default):
    try:
        return max(1, int(value))
    except (TypeError, ValueError):
        return default


class Picker:
    """Chooses among the values the reference allows (statuses, outputs...): the first one for variant 0
    (where hypothesis shrinks to), any for another variant (the same ones for the same variant)."""

    def __init__(self, variant):
        self.rng = random.Random(variant) if variant else None

    def __call__(self, *choices):
        return choices[0] if self.rng is None else self.rng.choice(choices)


# Success first (and most often); failed (-1 commands, 3 installs); running; not started.
JOB_STATUSES = (2, 2, 2, -1, 3, 1, 0)


def shell_output(command, context, pick):
    """What the phone's shell prints for the commands the collection sends (apps) or any other."""
    words = ("%s" % (command or "")).split()
    if words[:3] == ["pm", "list", "packages"] and len(words) > 3:
        listed = [app["app_pkg"] for app in context.apps if words[3] in "%s" % app.get("app_pkg")]
        return "\n".join("package:%s" % name for name in listed)
    if words[:2] == ["dumpsys", "package"] and len(words) > 2:
        versions = [app.get("app_version") for app in context.apps if app.get("app_pkg") == words[2]]
        return "    versionName=%s\n" % versions[0] if versions else ""
    if words[:2] == ["pm", "uninstall"]:
        return pick("Success", "Failure [DELETE_FAILED_INTERNAL_ERROR]")
    return pick("out", "", None, "line 1\r\nline 2\n")


def _iam_token(request, context, pick):
    return {
        "token": {
            "expires_at": pick("2099-01-01T00:00:00.000000Z", "2020-01-01T00:00:00Z", "2099-01-01 00:00:00"),
            "issued_at": pick("2026-01-01T00:00:00.000000Z", "2026-01-01T00:00:00Z"),
            "methods": ["password"],
            "project": {"id": "p1", "name": "cn-north-4"},
        }
    }


def _failure_fields(status, pick, codes, messages):
    if status == 2:
        return {"error_code": "", "error_msg": ""}
    return {"error_code": pick(*codes), "error_msg": pick(*messages)}


def _cmd_results(request, context, pick):
    command = request.body.get("command") if isinstance(request.body, dict) else None
    results = []
    for instance_id in request.ids:
        status = pick(*JOB_STATUSES)
        result = {"instance_id": instance_id, "status": status, "execute_msg": shell_output(command, context, pick)}
        result.update(_failure_fields(status, pick, ("CPS.0191", "CPS0005", ""), ("Run command failed.", "")))
        results.append(result)
    return ok({"cmd_results": results})


def _jobs(request, context, pick):
    jobs = []
    for job_id in context.jobs.get(request.path.rsplit("/", 1)[-1], []):
        status = pick(*JOB_STATUSES)
        job = {"job_id": job_id, "status": status, "execute_msg": pick("done", None, "")}
        job.update(_failure_fields(status, pick, ("CPS0005", "KOOPHONE.API.62019"), ("Phone not found.", "failed")))
        jobs.append(job)
    return ok({"jobs": jobs})


def _device_token(request, context, pick):
    signaling = {"signaling_url": "wss://signal.test", "ice_servers": [], "expired_time": None}
    resource = {"device_id": "dev-1", "kp_id": "kp1", "rtc": {"ice_signaling": signaling}}
    return ok({"device_token": "dt-1", "resource": resource, "streamingId": "stream-1"})


def _instances_page(request, context, pick):
    wanted = request.query.get("instance_id")
    items = [item for item in context.fleet if wanted is None or item.get("instance_id") == wanted]
    shown, no, size = page(items, request.query, 100)
    if pick.rng is not None:
        shown = [
            dict(
                item,
                running_status=pick(2, 1, 3, 4, 5, 0),
                assign_status=pick(item.get("assign_status"), 0, 1),
                backup_status=pick(0, 1, 2, 3),
            )
            for item in shown
        ]
    return {"data": {"result": shown, "page_no": no, "page_size": size, "total_count": len(items)}}


def _apps_page(request, context, pick):
    shown, no, size = page(context.apps, request.query, 200)
    return ok({"result": shown, "page_no": no, "page_size": size, "total_count": len(context.apps)})


def _order(request, context, pick):
    count = request.body.get("count", 1) if isinstance(request.body, dict) else 1
    count = count if isinstance(count, int) else 1
    infos = [{"instanceId": "new%05d" % n, "instanceName": "kp-%05d" % n} for n in range(1, min(count, 5) + 1)]
    return ok({"orderId": "CS2412261442DBN4E", "instanceInfos": infos}, msg="OK")


def _task_of(task_id, prefix="job", nested=False):
    def answer(request, context, pick):
        data = context.task(task_id, request.ids, prefix)
        return ok({"data": data} if nested else data)

    return answer


def _statuses(field, *statuses):
    def answer(request, context, pick):
        return ok({field: [{"instance_id": i, "status": pick(*statuses)} for i in request.ids]})

    return answer


# What each operation answers (from the reference's examples), by operation; others answer "OK".
TEMPLATES = {
    operations.IAM_LOGIN: _iam_token,
    "SyncInvokeInstance": _cmd_results,
    "AsyncInvokeInstance": _task_of("0123456789abcdef0123456789abcdef"),
    "ExecuteJob": _jobs,
    "BatchShowInstance": _statuses("status_results", 2, 0, 1, 3, 4, 5),
    "BatchResetInstance": _task_of("RM_reset", nested=True),  # data.data, as the reference shows it
    "ExecuteInstanceAuthToken": _device_token,
    "CancelInstance": _task_of("RM_unassign"),
    "ListInstances": _instances_page,
    "BatchShowSku": lambda request, context, pick: ok(catalogue()),
    "CreateInstance": _order,
    "DeleteInstance": lambda request, context, pick: {"data": None, "error_code": "0", "error_msg": "OK"},
    "BatchPrepareInstances": _statuses("status_list", 0, 1, 2, 3, 6, 9, 10),
    "ShowProgress": lambda request, context, pick: ok({"status": pick(0, 1, 2, 3, -1), "waitingCount": pick(0, 3)}),
    "BatchBackupInstances": _task_of("RM_backup"),
    "InstallApp": _task_of("ZGCA_install", prefix="install"),
    "ListInstanceApp": _apps_page,
}


def template(request, context, variant=0):
    """The answer the reference describes for ``request`` (before fuzzing); ``variant`` picks among the
    values it allows (see Picker)."""
    answer = TEMPLATES.get(request.operation)
    return answer(request, context, Picker(variant)) if answer else ok(msg="OK")


# -------------------------------------------------------------------- bending an answer


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, prefix + (key,))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _paths(child, prefix + (index,))


def _retyped(value, choice):
    """``value`` as another type (the ``choice``-th way that fits it)."""
    odd_numbers = [10**30, -(10**30), 2.5, True, None]
    if "non_finite_numbers" not in KNOWN_BUGS:
        odd_numbers += [float("inf"), float("-inf"), "inf", "1e400"]
    if isinstance(value, bool):
        options = ["true", int(value), [value]]
    elif isinstance(value, (int, float)):
        options = ["%s" % value, float(value), [value], {"value": value}, -value] + odd_numbers
    elif isinstance(value, str):
        options = [[value], {"value": value}, len(value), value.encode("utf-8").hex(), value * 3, 5, 0, True, None]
        with contextlib.suppress(ValueError):
            options.append(int(value))
    elif isinstance(value, list):
        options = [dict(("%d" % i, v) for i, v in enumerate(value)), len(value), "%s" % value, value[:1], [None]]
    elif isinstance(value, dict):
        options = [list(value.values()), list(value), "%s" % value, [value, value], None]
    else:
        options = ["null", 0, "", [], {}] + odd_numbers
    return options[choice % len(options)]


MUTATIONS = ("replace", "retype", "retype", "nasty", "nasty", "nasty", "delete", "null", "nest", "listify")
MUTATIONS += ("stringify", "empty", "duplicate")


def nasty_values():
    """Values that break code which trusts a field's type: a leaf of the answer becomes one of them."""
    values = [None, "", [], {}, [None], {"": None}, 0, -1, 2.5, 10**30, True, "0", "x" * 1000, "\x00", "null"]
    if "non_finite_numbers" not in KNOWN_BUGS:
        values += [float("inf"), float("-inf"), "inf", "1e400"]
    return values


@st.composite
def mutation(draw):
    """One change to make somewhere in an answer: (where, as a number taken modulo the answer's nodes; what;
    the value or choice it needs)."""
    kind = draw(st.sampled_from(MUTATIONS))
    where = draw(st.integers(0, 2**16))
    if kind == "replace":
        return where, kind, draw(json_values())
    return where, kind, draw(st.integers(0, 63)) if kind in ("retype", "nasty") else None


MUTATION_LISTS = st.lists(mutation(), max_size=3)


# How each mutation changes the value it hits (``extra``: what mutation() drew for it).
CHANGES = {
    "replace": lambda old, extra: copy.deepcopy(extra),
    "nasty": lambda old, extra: copy.deepcopy(nasty_values()[extra % len(nasty_values())]),
    "retype": _retyped,
    "null": lambda old, extra: None,
    "nest": lambda old, extra: {"data": old},
    "listify": lambda old, extra: [old],
    "stringify": lambda old, extra: dumps(old),
    "empty": lambda old, extra: type(old)() if isinstance(old, (dict, list, str)) else 0,
    "duplicate": lambda old, extra: old * 2 if isinstance(old, (list, str)) else old,
}


def _is_leaf(value):
    return not value or not isinstance(value, (dict, list))


def bend(answer, mutations):
    """``answer`` with ``mutations`` made, in turn (each node of the answer, the answer itself included, may be hit)."""
    answer = copy.deepcopy(answer)
    for where, kind, extra in mutations:
        paths = list(_paths(answer))
        if kind == "nasty":  # a leaf: a number, a text, null, an empty container
            paths = [path for path in paths if _is_leaf(_get(answer, path))] or paths
        path = paths[where % len(paths)]
        if kind != "delete":
            answer = _set(answer, path, CHANGES[kind](_get(answer, path), extra))
        elif path:
            del _get(answer, path[:-1])[path[-1]]
        else:
            answer = {}
    return answer


def bent(answer):
    """Strategy: ``answer`` with up to three changes anywhere in it."""
    return MUTATION_LISTS.map(lambda mutations: bend(answer, mutations))


def _get(value, path):
    for key in path:
        value = value[key]
    return value


def _set(value, path, new):
    if not path:
        return new
    _get(value, path[:-1])[path[-1]] = new
    return value


ERROR_CODES = st.sampled_from(
    [
        "KOOPHONE.API.6001",
        "KOOPHONE.API.1001",
        "KOOPHONE.API.1003",
        "KOOPHONE.API.1323",
        "KOOPHONE.API.4001",
        "KPAPI.2209",
        "APIGW.0301",
        "APIGW.0101",
        "CPS0005",
        "62005",
        "0",
        "",
        "null",
        0,
        401,
        None,
    ]
)


def error_texts():
    if "error_msg_not_text" in KNOWN_BUGS:
        return texts()
    return texts() | json_values(max_leaves=3)


@st.composite
def error_answer(draw):
    code = draw(ERROR_CODES | json_values(max_leaves=2))
    message = draw(error_texts())
    shape = draw(st.sampled_from(["koophone", "info", "iam", "gateway", "in_data", "message"]))
    if shape == "iam":
        return {"error": {"code": code, "message": message, "title": draw(error_texts())}}
    if shape == "info":
        return {"error_code": code, "error_info": message}
    if shape == "gateway":
        return {"error_code": "APIGW.%04d" % draw(st.integers(0, 9999)), "error_msg": message, "request_id": "r"}
    if shape == "in_data":
        return {"data": {"error_code": code, "error_msg": message}}
    if shape == "message":
        return {"code": code, "message": message}
    return {"error_code": code, "error_msg": message}


# -------------------------------------------------------------------- bodies, statuses, headers, faults

STATUSES = (200,) * 8 + (201, 204, 301, 304, 400, 401, 403, 404, 409, 429, 500, 502, 503, 504)
CONTENT_TYPES = (
    "application/json",
    "application/json;charset=UTF-8",
    "application/json",
    "text/html",
    "text/plain; charset=ISO-8859-1",
    "application/json; charset=no-such-codec",
    "application/octet-stream",
    "",
    None,
)
BODY_KINDS = ("json",) * 10 + (
    "truncated",
    "truncated",
    "empty",
    "html",
    "text",
    "bytes",
    "huge",
    "bom",
    "utf16",
    "bad_utf8",
    "gzip",
    "bad_gzip",
    "short",
    "deep",
)
HUGE = 300000
# What a header can hold once http.client has read it: latin-1, no line breaks, no surrounding space.
HEADER_TEXT = st.text(st.characters(max_codepoint=255, exclude_characters="\r\n"), max_size=40).map(str.strip)
RETRY_AFTER = st.sampled_from(
    ["0", "1", "2.5", "-5", "1e9", "9" * 400, "inf", "nan", "soon", "Wed, 21 Oct 2015 07:28:00 GMT", ""]
)


def retry_after_values():
    if "retry_after_date" in KNOWN_BUGS:
        return RETRY_AFTER
    return (
        RETRY_AFTER | st.sampled_from(["Sat, 01 Jan 99999 00:00:00", "Sat, 01 Jan 99999999999 00:00:00"]) | HEADER_TEXT
    )


def _transport_faults():
    never_sent = {
        "refused": lambda: requests.exceptions.ConnectionError(
            MaxRetryError(None, "/", NewConnectionError(None, "Connection refused"))
        ),
        "connect_timeout": lambda: requests.exceptions.ConnectTimeout("connect timed out"),
        "tls": lambda: requests.exceptions.SSLError("certificate verify failed"),
    }
    reached = {
        "reset": lambda: requests.exceptions.ConnectionError(
            ProtocolError("Connection aborted.", ConnectionResetError(104, "Connection reset by peer"))
        ),
        "read_timeout": lambda: requests.exceptions.ReadTimeout("read timed out"),
        "chunked": lambda: requests.exceptions.ChunkedEncodingError("the chunked body broke"),
    }
    return never_sent, reached


NEVER_SENT_FAULTS, REACHED_FAULTS = _transport_faults()
FAULTS = dict(NEVER_SENT_FAULTS, **REACHED_FAULTS)


class Reply:
    """One fuzzed answer: an HTTP reply (status, headers, body), or a transport ``fault``."""

    def __init__(self, status=200, headers=None, body=b"", answer=None, kind="json", fault=None):
        self.status, self.headers, self.body = status, dict(headers or {}), body
        self.answer, self.kind, self.fault = answer, kind, fault

    def read(self, method="GET"):
        """The answer as requests reads this reply (a value that is not a dict as the client wraps it),
        or None when it holds no JSON."""
        if self.fault:
            return None
        response = HTTPAdapter().build_response(requests.Request(method, ENDPOINT).prepare(), self.raw(method))
        try:
            value = response.json()
        except (requests.exceptions.RequestException, ValueError, RecursionError):
            return None
        return value if isinstance(value, dict) else {"data": value}

    def raw(self, method):
        return HTTPResponse(
            body=io.BytesIO(self.body),
            headers=self.headers,
            status=self.status,
            reason="Fuzzed",
            preload_content=False,
            decode_content=True,
            request_method=method,
            enforce_content_length=True,
        )

    def __repr__(self):
        if self.fault:
            return "Reply(fault=%r)" % self.fault
        return "Reply(%s, %r, %r)" % (self.status, self.headers, self.body[:300])


def _cut(body, at):
    return body[: at % max(1, len(body))]


def _huge(text, answer, choices):
    if isinstance(answer, dict):
        key = "error_msg" if isinstance(answer.get("error_msg"), str) else "detail"
        return dumps(dict(answer, **{key: "E" * HUGE})).encode("utf-8"), {}
    return (text + " " * HUGE).encode("utf-8"), {}  # whitespace is valid JSON around any value


def _bad_utf8(text, answer, choices):
    body = text.encode("utf-8")
    cut = body.find(b'"') + 1
    return body[:cut] + b"\xff" + body[cut:], {}


def _short(text, answer, choices):
    body = text.encode("utf-8")
    return body, {"Content-Length": "%d" % (len(body) + 1 + choices["cut"] % 100)}


def _deep(text, answer, choices):
    depth = choices["depth"]
    return b"[" * depth + b"]" * (depth if choices["closed"] else 0), {}


# (body bytes, extra headers) of an answer, by body kind: from its JSON ``text``, the ``answer`` itself and
# the ``choices`` drawn with the recipe (where a truncated body ends, what a text or binary body says...).
ENCODINGS = {
    "json": lambda text, answer, choices: (text.encode("utf-8"), {}),
    "truncated": lambda text, answer, choices: (_cut(text.encode("utf-8"), choices["cut"]), {}),
    "empty": lambda text, answer, choices: (b"", {}),
    "html": lambda text, answer, choices: (b"<html><body><h1>502 Bad Gateway</h1></body></html>", {}),
    "text": lambda text, answer, choices: (choices["text"].encode("utf-8"), {}),
    "bytes": lambda text, answer, choices: (choices["bytes"], {}),
    "huge": _huge,
    "bom": lambda text, answer, choices: (b"\xef\xbb\xbf" + text.encode("utf-8"), {}),
    "utf16": lambda text, answer, choices: (text.encode("utf-16"), {}),
    "bad_utf8": _bad_utf8,
    "gzip": lambda text, answer, choices: (gzip.compress(text.encode("utf-8")), {"Content-Encoding": "gzip"}),
    "bad_gzip": lambda text, answer, choices: (text.encode("utf-8"), {"Content-Encoding": "gzip"}),
    "short": _short,
    "deep": _deep,
}


def encode(kind, answer, choices):
    """(body bytes, extra headers) of ``answer`` as a body of ``kind`` (see ENCODINGS)."""
    return ENCODINGS[kind](dumps(answer), answer, choices)


BODY_CHOICES = st.fixed_dictionaries(
    {
        "cut": st.integers(0, 2**16),
        "text": st.text(max_size=30),
        "bytes": st.binary(max_size=30),
        "depth": st.sampled_from([10, 1000, 100000]),
        "closed": st.booleans(),
    }
)


def body_kinds():
    kinds = BODY_KINDS
    if "deep_json" in KNOWN_BUGS:
        kinds = tuple(kind for kind in kinds if kind != "deep")
    return st.sampled_from(kinds)


# How often a reply is broken, per example: "clean" answers what the reference allows (any of its
# statuses and outputs), "shapes" bends one answer in two (always a 200 with a well-framed body),
# so that flows of several requests reach the parsers deep down; "mixed" breaks a reply now and
# then, "hostile" everything everywhere.
#
# "one_leaf" answers as "clean" does, except one reply (each has an even chance to be it, until one
# was), where one leaf (a number, a text, a
# null, an empty list or dict) becomes one of nasty_values(): one bad field in an otherwise sound
# conversation, which is how a service's changed field type meets the code that reads it.
HOSTILITIES = ("clean", "one_leaf", "one_leaf", "one_leaf", "shapes", "shapes", "mixed", "hostile")


class Recipe:
    """Everything random about one reply, drawn before the request it answers is known (so that replies
    can be drawn ahead, for requests sent from worker threads where hypothesis cannot draw)."""

    def __init__(self, fault=None, status=200, source="template", answer=None, mutations=(), kind="json"):
        self.fault, self.status, self.source, self.answer = fault, status, source, answer
        self.mutations, self.kind, self.variant = mutations, kind, 0
        self.choices, self.content_type, self.headers = {}, "application/json;charset=UTF-8", {}

    def __repr__(self):
        if self.fault:
            return "Recipe(fault=%r)" % self.fault
        fields = ["status=%r" % self.status, "source=%r" % self.source, "kind=%r" % self.kind]
        if self.source == "template":
            fields += ["variant=%r" % self.variant, "mutations=%r" % (self.mutations,)]
        else:
            fields.append("answer=%r" % (self.answer,))
        fields += ["content_type=%r" % self.content_type, "headers=%r" % self.headers]
        if self.choices:
            fields.append("choices=%r" % self.choices)
        return "Recipe(%s)" % ", ".join(fields)

    def reply(self, request, context):
        """The Reply this recipe makes for ``request``."""
        if self.fault:
            return Reply(fault=self.fault)
        if self.source == "template":
            answer = bend(template(request, context, self.variant), self.mutations)
        else:
            answer = copy.deepcopy(self.answer)
        answer, status = steer(request, answer, self.status)
        body, headers = encode(self.kind, answer, self.choices)
        if self.content_type is not None:
            headers["Content-Type"] = self.content_type
        headers.update(self.headers)
        if request.operation != operations.IAM_LOGIN:
            headers.pop(TOKEN_HEADER, None)
        return Reply(status, headers, body, answer, self.kind)


CALM = {"clean": 0, "one_leaf": 0, "shapes": 0, "mixed": 1, "hostile": 2}


@st.composite
def recipes(draw, hostility="hostile", faults=True):
    """One reply's Recipe; ``hostility`` (see HOSTILITIES) sets how much of it is broken."""
    calm = CALM[hostility]

    def now_and_then(one_in):
        return calm == 2 or (calm == 1 and draw(st.integers(0, one_in - 1)) == 0)

    if faults and calm and draw(st.integers(0, 11 if calm == 2 else 40)) == 0:
        return Recipe(fault=draw(st.sampled_from(sorted(FAULTS))))
    recipe = Recipe()
    if now_and_then(5):
        recipe.status = draw(st.sampled_from(STATUSES))
    if now_and_then(6):
        recipe.source = draw(st.sampled_from(("template",) * 6 + ("error", "error", "random")))
    _draw_answer(draw, recipe, hostility)
    if now_and_then(6):
        recipe.kind = draw(body_kinds())
        recipe.choices = draw(BODY_CHOICES)
    if now_and_then(6):
        recipe.content_type = draw(st.sampled_from(CONTENT_TYPES))
    _draw_headers(draw, recipe, calm)
    return recipe


def _draw_answer(draw, recipe, hostility):
    if recipe.source == "error":
        recipe.answer = draw(error_answer())
    elif recipe.source == "random":
        recipe.answer = draw(json_values())
    else:
        recipe.variant = draw(st.integers(0, 2**16))
        if hostility not in ("clean", "one_leaf") and (CALM[hostility] or draw(st.integers(0, 1)) == 0):
            recipe.mutations = draw(MUTATION_LISTS)


def _draw_headers(draw, recipe, calm):
    if recipe.status in (429, 503) or (calm and draw(st.integers(0, 9)) == 0):
        recipe.headers["Retry-After"] = draw(retry_after_values())
    if draw(st.integers(0, 3)) == 0:
        recipe.headers["x-request-id"] = draw(HEADER_TEXT)
    if not calm or draw(st.integers(0, 4)) > 0:  # sent with IAM logins only
        token = "token-1" if not calm else draw(st.sampled_from(["token-1", ""]) | HEADER_TEXT)
        recipe.headers[TOKEN_HEADER] = token


def replies(request, context, hostility="hostile", faults=True):
    """Strategy: one fuzzed Reply to ``request``."""
    return recipes(hostility, faults).map(lambda recipe: recipe.reply(request, context))


# -------------------------------------------------------------------- the fuzzed service behind requests


class Runaway(AssertionError):
    """More requests than any answer can justify: the client would go on for ever (or nearly)."""


BUDGET = 400  # requests one example may cost


class FuzzService:
    """Answers every request the client sends with a fuzzed Reply.

    ``draw`` is hypothesis' data.draw; ``hostility`` one of HOSTILITIES (drawn when not given). With
    ``ahead``, that many recipes are drawn at once and used in turn (hypothesis draws in the thread
    that runs the test only; the inventory plugin reads pages in a worker thread). ``served`` keeps
    (Request, Reply) in order. Listings end: pages past LAST_PAGE are empty, and paging counts past
    SAFE_COUNT are steered (see _safe_paging), so that an example never asks for more than its BUDGET.
    """

    LAST_PAGE = 6

    def __init__(self, draw, context=None, hostility=None, budget=BUDGET, ahead=0):
        self.draw = draw
        self.context = context or Context()
        self.hostility = hostility or draw(st.sampled_from(HOSTILITIES))
        self.budget = budget
        self.served = []
        self.ahead = [draw(recipes(self.hostility)) for _number in range(ahead)]
        self._lock = threading.Lock()
        self.bent = self.hostility != "one_leaf"  # one_leaf: whether the bad leaf was served yet
        if self.ahead and not self.bent:  # no drawing later: the bad leaf goes into one of these now
            index = draw(st.integers(0, ahead - 1))
            self.ahead[index] = self._with_bad_leaf(self.ahead[index])
            self.bent = True

    def __call__(self, prepared):
        with self._lock:
            return self._answer(prepared)

    def _with_bad_leaf(self, recipe):
        recipe = copy.copy(recipe)
        recipe.mutations = [(self.draw(st.integers(0, 2**16)), "nasty", self.draw(st.integers(0, 63)))]
        return recipe

    def _answer(self, prepared):
        if len(self.served) >= self.budget:
            raise Runaway("%d requests, the last %s" % (len(self.served), prepared.url))
        request = Request(prepared)
        if self.ahead:
            # Drawn ahead, for requests from worker threads; the last one answers whatever comes after.
            recipe = self.ahead.pop(0) if len(self.ahead) > 1 else self.ahead[0]
        else:
            recipe = self.draw(recipes(self.hostility))
        if not self.bent and not recipe.fault and self.draw(st.booleans()):
            self.bent = True
            recipe = self._with_bad_leaf(recipe)
        reply = recipe.reply(request, self.context)
        if request.operation in LISTINGS:
            reply = _ended(reply, request, self.LAST_PAGE)
        self.served.append((request, reply))
        if reply.fault:
            raise FAULTS[reply.fault]()
        return reply

    def replies_to(self, operation):
        return [reply for request, reply in self.served if request.operation == operation]


SAFE_COUNT = 120


def _ended(reply, request, last_page):
    """A listing ``reply`` whose paging counts cannot make an example run away (and past the last page, empty)."""
    if reply.fault:
        return reply
    answer = _safe_paging(copy.deepcopy(reply.answer)) if isinstance(reply.answer, dict) else reply.answer
    if _small(request.query.get("page_no"), 1) > last_page:
        answer = {"data": {"result": []}, "error_code": "0"}
    if answer == reply.answer:
        return reply
    headers = dict((k, v) for k, v in reply.headers.items() if k not in ("Content-Encoding", "Content-Length"))
    return Reply(reply.status, headers, dumps(answer).encode("utf-8"), answer, "json")


def _safe_paging(answer):
    for holder in (answer, answer.get("data")):
        if isinstance(holder, dict) and "total_count" in holder:
            value = holder["total_count"]
            try:
                number = int(value)
            except (TypeError, ValueError, OverflowError):
                continue
            if number > SAFE_COUNT:
                holder["total_count"] = HUGE_COUNT if "huge_total_count" not in KNOWN_BUGS else SAFE_COUNT
    return answer


HUGE_COUNT = 10**18  # what a broken gateway may claim; far past anything a listing can read


class FuzzAdapter(HTTPAdapter):
    """The transport under requests: every request goes to ``service``, answered as urllib3 would.

    Header values are encoded as http.client encodes them (latin-1), so a value the wire cannot carry
    fails as it would there.
    """

    service = None

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        for name, value in request.headers.items():
            _latin1(name)
            _latin1(value)
        return self.build_response(request, FuzzAdapter.service(request).raw(request.method))


def _latin1(value):
    return value if isinstance(value, bytes) else value.encode("latin-1")


class serving:  # noqa: N801 - reads as a context: with serving(service): ...
    """Every KooPhoneClient made inside sends its requests to ``service``."""

    def __init__(self, service):
        self.service = service
        self.patch = mock.patch.object(client_module, "HTTPAdapter", FuzzAdapter)

    def __enter__(self):
        FuzzAdapter.service = self.service
        self.patch.__enter__()
        return self.service

    def __exit__(self, *exc):
        FuzzAdapter.service = None
        return self.patch.__exit__(*exc)


AUTHS = {
    "token": {"auth_token": "token-under-test"},
    "aksk": {"access_key": "AK-under-test", "secret_key": "SK-under-test", "project_id": "p1"},
    "iam": {
        "username": "user",
        "password": "secret-under-test",
        "domain_name": "domain",
        "project_name": "cn-north-4",
        "token_cache_dir": "off",
    },
}


def make_client(auth="token", retries=1, **params):
    """The real client (built inside ``serving``), one request at a time: the draws stay in order."""
    given_params = dict(AUTHS[auth], endpoint=ENDPOINT, iam_endpoint=IAM_ENDPOINT, retries=retries, concurrency=1)
    given_params.update(params)
    return KooPhoneClient(given_params)


class ScriptedService:
    """Answers each operation with fixed replies in turn, the last one again and again (the reproductions).

    ``by_operation``: operation name -> a Reply (or answer), a list of them, or a function of the Request.
    """

    def __init__(self, budget=BUDGET, **by_operation):
        self.by_operation = dict((name, list(v) if isinstance(v, list) else [v]) for name, v in by_operation.items())
        self.budget = budget
        self.served = []

    def __call__(self, prepared):
        if len(self.served) >= self.budget:
            raise Runaway("%d requests, the last %s" % (len(self.served), prepared.url))
        request = Request(prepared)
        queue = self.by_operation[request.operation]
        reply = queue.pop(0) if len(queue) > 1 else queue[0]
        reply = reply(request) if callable(reply) else reply
        reply = reply if isinstance(reply, Reply) else answered(reply)
        self.served.append((request, reply))
        if reply.fault:
            raise FAULTS[reply.fault]()
        return reply


def answered(answer, status=200, headers=None, body=None):
    """A Reply carrying ``answer`` as JSON (or ``body`` as it is)."""
    all_headers = {"Content-Type": "application/json;charset=UTF-8"}
    all_headers.update(headers or {})
    return Reply(status, all_headers, dumps(answer).encode("utf-8") if body is None else body, answer)


def attempt(action):
    """What ``action`` returned, or the KooPhoneError/InvalidOption it raised. Anything else propagates."""
    try:
        return action()
    except (KooPhoneError, InvalidOption) as error:
        return error


# -------------------------------------------------------------------- what a correct outcome is


def check_clean_error(error, *operation_names):
    """A KooPhoneError a module can report: its operation, and text that formats."""
    if isinstance(error, InvalidOption):
        assert isinstance(str(error), str)
        return
    assert isinstance(error, KooPhoneError), error
    if operation_names:
        assert error.operation in operation_names + (operations.IAM_LOGIN, "IAM login"), error.operation
    assert isinstance(error.message, str), error.message
    assert isinstance(str(error), str)
    assert isinstance(error.describe(request_id=False, operation=False), str)
    json.dumps(error.to_dict())  # what fail_json serialises


def success_code(answer):
    code, _message = client_module._error_fields(answer)
    return code == "0" or (code in (None, "", "null") and "data" in answer)


def check_call(operation, outcome, service, auth):
    """call()'s outcome: an answer that says success (the last reply's JSON), or a clean error; and a
    request that is not safe to repeat was sent again only after a reply that proves it applied nothing."""
    replies = [reply for request, reply in service.served if request.operation == operation]
    if isinstance(outcome, Exception):
        check_clean_error(outcome, operation)
    else:
        assert isinstance(outcome, dict)
        last = replies[-1]
        assert not last.fault and 200 <= last.status < 300, last
        assert success_code(outcome), outcome
        assert outcome == last.read(operations.get(operation).method)
    if not operations.get(operation).repeatable:
        for reply in replies[:-1]:
            assert applied_nothing(reply, auth), "a request that is not safe to repeat was sent again after %r" % reply


def applied_nothing(reply, auth):
    if reply.fault:
        return reply.fault in NEVER_SENT_FAULTS
    return reply.status == 429 or (reply.status == 401 and auth == "iam")


def request_args(operation):
    """path_params and body for one call of ``operation``, as the modules send them."""
    op = operations.get(operation)
    path_params = dict((name, "id%d" % n) for n, name in enumerate(_path_names(op.path)))
    if op.method == "GET":
        query = {"page_no": 1, "page_size": 100} if operation in ("ListInstances", "ListInstanceApp") else {}
        return {"path_params": path_params, "query": query}
    ids = ["ph001", "ph002", "ph003"]
    if op.ids_field == "user_instances":
        body = {"user_instances": [{"user_id": "u1", "instance_id": i} for i in ids]}
    elif op.ids_field:
        body = {op.ids_field: ids}
    elif operation == "CreateInstance":
        body = {"instanceNamePrefix": "kp", "count": 3}
    else:
        body = {"instance_id": "ph001", "user_id": "u1"}
    return {"path_params": path_params, "body": body}


def _path_names(path):
    return [part[1:-1] for part in path.split("/") if part.startswith("{")]


def fleet_of(count):
    return [phone("ph%03d" % n, n) for n in range(1, count + 1)]


# -------------------------------------------------------------------- every operation, and IAM login


@pytest.mark.parametrize("operation", sorted(operations.OPERATIONS))
@fuzz_settings(100)
@given(data=st.data(), auth=st.sampled_from(["token"] * 3 + ["aksk", "iam"]), retries=st.integers(0, 2))
def test_every_operation_ends_in_its_answer_or_a_clean_error(operation, data, auth, retries):
    service = FuzzService(data.draw, Context(fleet_of(3)))
    with serving(service):
        client = make_client(auth, retries)
        outcome = attempt(lambda: client.call(operation, **request_args(operation)))
    check_call(operation, outcome, service, auth)


def check_login(outcome, service):
    if isinstance(outcome, Exception):
        check_clean_error(outcome, operations.IAM_LOGIN)
        return
    token, expires_at, issued_at = outcome
    last = service.served[-1][1]
    assert 200 <= last.status < 300 and token == last.headers.get(TOKEN_HEADER) and token
    assert isinstance(expires_at, float) and isinstance(issued_at, float)


@fuzz_settings(200)
@given(data=st.data(), retries=st.integers(0, 2))
def test_iam_login_ends_in_a_token_or_a_clean_error(data, retries):
    service = FuzzService(data.draw)
    with serving(service):
        client = make_client("iam", retries)
        outcome = attempt(lambda: client._iam_login(client.auth.login_body()))
    check_login(outcome, service)


@fuzz_settings(200)
@given(data=st.data())
def test_paged_listings_end_in_every_item_or_a_clean_error(data):
    """list_all over fuzzed pages (both listings, with and without a key): the items it returns are
    the items the pages held, each once by key; or a clean error."""
    operation = data.draw(st.sampled_from(["ListInstances", "ListInstanceApp"]))
    key = data.draw(st.sampled_from([None, "instance_id" if operation == "ListInstances" else "app_pkg"]))
    page_size = data.draw(st.sampled_from([1, 2, 100]))
    fleet = fleet_of(data.draw(st.integers(0, 7)))
    apps = [{"app_pkg": "com.app%d" % n, "app_version": "1.%d" % n} for n in range(data.draw(st.integers(0, 5)))]
    service = FuzzService(data.draw, Context(fleet, apps))
    path_params = {"instance_id": "ph001"} if operation == "ListInstanceApp" else None
    with serving(service):
        client = make_client()
        outcome = attempt(lambda: client.list_all(operation, {}, page_size, path_params=path_params, key=key))
    if isinstance(outcome, Exception):
        check_clean_error(outcome, operation)
        return
    assert isinstance(outcome, list)
    served = [item for reply in service.replies_to(operation) for item in client_module._page_items(reply.read() or {})]
    for item in outcome:
        assert item in served
    if key is not None:
        keys = [item.get(key) for item in outcome]
        assert len(keys) == len(set(map(repr, keys)))


@fuzz_settings(150)
@given(data=st.data(), count=st.integers(0, 12))
def test_read_instances_ends_in_the_listed_items_or_a_clean_error(data, count):
    """read_instances (one filtered listing per id up to 10 ids, else the whole fleet)."""
    ids = ["ph%03d" % n for n in range(1, count + 1)]
    service = FuzzService(data.draw, Context(fleet_of(count + 2)))
    with serving(service):
        client = make_client()
        outcome = attempt(lambda: client.read_instances(ids))
    if isinstance(outcome, Exception):
        check_clean_error(outcome, "ListInstances")
        return
    assert isinstance(outcome, dict) and set(outcome) <= set(ids)
    for instance_id, item in outcome.items():
        assert isinstance(item, dict) and item.get("instance_id") == instance_id


@fuzz_settings(100)
@given(data=st.data(), count=st.integers(1, 25))
def test_batched_calls_report_each_chunk_cleanly(data, count):
    """call_batched (chunks of 10 here), including the re-read of a chunk refused for a foreign id."""
    ids = ["ph%03d" % n for n in range(1, count + 1)]
    service = FuzzService(data.draw, Context(fleet_of(count)))
    with serving(service):
        client = make_client()
        outcome = attempt(
            lambda: client.call_batched("CancelInstance", ids, lambda chunk: {"user_instances": chunk}, chunk_size=10)
        )
    if isinstance(outcome, Exception):
        check_clean_error(outcome, "CancelInstance", "ListInstances")
        return
    assert sorted(i for chunk in outcome for i in chunk.ids) == sorted(ids)
    for chunk in outcome:
        if chunk.failed:
            check_clean_error(chunk.error, "CancelInstance", "ListInstances")
        else:
            assert isinstance(chunk.answer, dict) and success_code(chunk.answer)


# -------------------------------------------------------------------- over real sockets


@pytest.fixture(scope="module")
def socket_stub():
    server = StubServer()
    yield server
    server.stop()


@fuzz_settings(40)
@given(data=st.data())
def test_answers_over_real_sockets_end_cleanly(socket_stub, data):
    """The scripted HTTP server answers (http.client reads the bytes, urllib3 the framing); some
    connections are cut before any answer. The replies are drawn before the call: the server
    answers from its own thread."""
    operation = data.draw(st.sampled_from(sorted(operations.OPERATIONS)))
    args = request_args(operation)
    op = operations.get(operation)
    url = socket_stub.url + op.path.format(**args["path_params"])
    prepared = requests.Request(op.method, url, params=args.get("query"), json=args.get("body")).prepare()
    request = Request(prepared)
    script, served = [], []
    for _attempt in range(3):
        if data.draw(st.integers(0, 9)) == 0:
            script.append(StubServer.DROP)
            served.append(Reply(fault="reset"))
            continue
        reply = data.draw(replies(request, Context(fleet_of(2)), faults=False))
        headers = dict((k, v) for k, v in reply.headers.items() if k not in ("Content-Length", "Content-Encoding"))
        body = dumps(reply.answer).encode("utf-8") if reply.kind == "gzip" else reply.body
        script.append((reply.status, headers, body))
        served.append(reply)
    socket_stub.script = list(script)
    socket_stub.default = script[-1]
    client = KooPhoneClient(dict(AUTHS["token"], endpoint=socket_stub.url, retries=1, concurrency=1, timeout=5))
    outcome = attempt(lambda: client.call(operation, **args))
    if isinstance(outcome, Exception):
        check_clean_error(outcome, operation)
    else:
        assert isinstance(outcome, dict) and success_code(outcome)


# -------------------------------------------------------------------- the bugs found, reproduced
#
# Each test is the smallest answer the fuzzing found for one KNOWN_BUGS entry (xfail while listed).


def scripted(action, auth="token", retries=0, budget=BUDGET, **by_operation):
    """``action(client)`` against a ScriptedService; its outcome, checked as the properties check it."""
    service = ScriptedService(budget=budget, **by_operation)
    with serving(service):
        client = make_client(auth, retries)
        outcome = attempt(lambda: action(client))
    if isinstance(outcome, Exception):
        check_clean_error(outcome)
    return outcome


def login(client):
    return client._iam_login(client.auth.login_body())


def listing(*items, **paging):
    data = {"result": list(items), "total_count": len(items)}
    data.update(paging)
    return {"data": data}


@known_bug("error_msg_not_text")
@pytest.mark.parametrize(
    "operation,status,answer",
    [
        ("SetVideo", 400, {"error_code": "KOOPHONE.API.1000", "error_msg": 5}),
        ("BatchRebootInstance", 200, {"error_code": "KOOPHONE.API.5005", "error_msg": ["not running"]}),
        ("SyncInvokeInstance", 500, {"error_code": "KOOPHONE.API.9999", "error_msg": {"reason": "internal"}}),
    ],
)
def test_an_error_message_that_is_not_text_still_formats(operation, status, answer):
    scripted(lambda client: client.call(operation, **request_args(operation)), **{operation: answered(answer, status)})


@known_bug("error_msg_not_text")
def test_an_iam_error_message_that_is_not_text_still_formats():
    scripted(
        login, auth="iam", KeystoneCreateUserTokenByPassword=answered({"error": {"code": 401, "message": [1]}}, 401)
    )


@known_bug("non_2xx_success")
@pytest.mark.parametrize("status", [301, 404, 429, 503])
def test_error_code_0_with_an_error_status_is_not_a_success(status):
    outcome = scripted(
        lambda client: client.call("BatchShowSku"),
        BatchShowSku=answered({"error_code": "0", "error_msg": "ok"}, status),
    )
    assert isinstance(outcome, KooPhoneError)


@known_bug("iam_token_not_a_dict")
@pytest.mark.parametrize(
    "answer",
    [
        {"token": [1]},
        {"token": "token"},
        {"token": {"expires_at": 5}},
        {"token": {"expires_at": "2099-01-01T00:00:00.000000Z", "issued_at": 5}},
    ],
)
def test_an_iam_answer_of_the_wrong_shape_is_a_clean_error(answer):
    reply = answered(answer, 201, {TOKEN_HEADER: "token-1"})
    scripted(login, auth="iam", KeystoneCreateUserTokenByPassword=reply)


@known_bug("deep_json")
def test_a_deeply_nested_body_is_a_clean_error():
    scripted(lambda client: client.call("BatchShowSku"), BatchShowSku=answered(None, body=b"[" * 100000))


@known_bug("retry_after_date")
@pytest.mark.parametrize("retry_after", ["Sat, 01 Jan 99999 00:00:00", "Sat, 01 Jan 99999999999 00:00:00"])
def test_a_retry_after_date_out_of_range_is_waited_out_or_ignored(retry_after):
    replies_ = [answered({"error_code": "APIGW.0308"}, 429, {"Retry-After": retry_after}), answered(ok(catalogue()))]
    scripted(lambda client: client.call("BatchShowSku"), retries=1, BatchShowSku=replies_)


@known_bug("huge_total_count")
@pytest.mark.parametrize("total", [10**18, 10**30])
def test_a_total_count_past_any_fleet_is_a_clean_error(total):
    scripted(
        lambda client: client.list_all("ListInstances", {}, 100, key="instance_id"),
        ListInstances=[listing(phone("ph001"), total_count=total), listing()],
    )


@known_bug("endless_pages")
def test_a_service_that_ignores_page_no_is_not_read_for_ever():
    """The same full page every time, no total_count: the reading must end (an error, or the items once)."""
    scripted(
        lambda client: client.list_all("ListInstances", {}, 1, key="instance_id"),
        budget=50,
        ListInstances={"data": {"result": [phone("ph001")]}},
    )


@known_bug("listed_items_not_dicts")
@pytest.mark.parametrize("read", ["read_instances", "list_all"])
def test_a_listed_item_that_is_not_a_dict_is_skipped_or_a_clean_error(read):
    def action(client):
        if read == "read_instances":
            return client.read_instances(["ph001"])
        return client.list_all("ListInstances", {}, 100, key="instance_id")

    scripted(action, ListInstances=[listing(None), listing()])


@known_bug("unhashable_ids")
@pytest.mark.parametrize("read", ["read_instances", "list_all", "app_list"])
def test_a_listed_id_that_is_a_list_is_skipped_or_a_clean_error(read):
    def action(client):
        if read == "read_instances":
            return client.read_instances(["ph001"])
        if read == "app_list":
            return client.list_all("ListInstanceApp", None, 200, path_params={"instance_id": "ph001"}, key="app_pkg")
        return client.list_all("ListInstances", {}, 100, key="instance_id")

    scripted(
        action,
        ListInstances=[listing({"instance_id": ["ph001"]}), listing()],
        ListInstanceApp=[dict(listing({"app_pkg": ["com.example"]}), error_code="0"), listing()],
    )


@known_bug("non_finite_numbers")
def test_a_total_count_of_infinity_is_a_clean_error():
    body = b'{"data": {"result": [{"instance_id": "ph001"}], "total_count": 1e400}}'
    scripted(lambda client: client.list_all("ListInstances", {}, 100), ListInstances=answered(None, body=body))
