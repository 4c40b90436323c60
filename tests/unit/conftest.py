"""What every unit test shares: one fake KooPhone service behind the real client, a fake clock, the
scripted HTTP server, a stateful fleet, and a KooPhoneModule around a fake AnsibleModule.

- ``FakeService``: answers each operation with a handler (or a list of answers in turn), can inject
  faults per call, and records every call as a ``Call(operation, path_params, query, body, repeatable)``.
  An answer is what ``call()`` returns once the transport is done: a fault is what is left after the
  client's own retries (which test_client.py tests over HTTP).
- ``FakeClient``: the real KooPhoneClient with only ``call()`` (the HTTP boundary) answered by a
  FakeService, so call_batched, list_all, read_instances, map_concurrently and poll run the real code,
  and answers go through the real answer check (an error_code other than "0" raises).
- ``clock`` (autouse): time.sleep in _client and _tasks moves a fake clock on instead of waiting.
- ``stub``: the scripted HTTP server (stub_server.py), for the client's own HTTP handling.
- ``Fleet`` (fixture ``fleet``): a FakeService that keeps cloud phones as batch-query lists them and
  answers the instance operations over them, with their effects shown after ``effect_delay`` seconds.
- ``AppService`` (fixture ``apps_on``): installed apps per phone, app/install, app-list and the shell.
- ``make_kp``: a KooPhoneModule (fake_kp.FakeKp) around a client and the module's options.
- ``inventory_options``: the inventory plugin's option values as ansible-core resolves them, for a plugin
  a test builds without a configuration file.

Tests take these as fixtures; none of them edits sys.path.
"""

import collections
import json
import threading
import time
import uuid

import pytest

from ansible_collections.koophone.cloud.plugins.module_utils import _client as client_module
from ansible_collections.koophone.cloud.plugins.module_utils import _operations as operations
from ansible_collections.koophone.cloud.plugins.module_utils import _tasks as tasks_module
from ansible_collections.koophone.cloud.plugins.module_utils._client import KooPhoneClient
from ansible_collections.koophone.cloud.plugins.module_utils._errors import InvalidOption, KooPhoneError

from .plugins.modules.fake_kp import FakeKp
from .stub_server import StubServer

# One call of an operation as the service sees it; ``repeatable``: whether the client may send it again.
Call = collections.namedtuple("Call", "operation path_params query body repeatable")

# Faults a FakeService can inject into one call of an operation (see FakeService.fault).
LOST = "lost"  # the service applied the request, then the answer was lost
UNANSWERED = "unanswered"  # the answer was lost and the request applied nothing (the client cannot tell)
ID_FIELDS = ("instance_ids", "instanceIdList", "instance_id_list", "user_instances")


def wire(value):
    """``value`` as it travels: JSON in, JSON out (tuples become lists, nothing shared with the caller)."""
    return None if value is None else json.loads(json.dumps(value))


def lost_answer(operation, message="connection broke"):
    return KooPhoneError(message, operation=operation, request_id="rid-lost", maybe_applied=True)


def in_turn(answers):
    """A handler that gives ``answers`` one per call, the last one again and again."""
    answers = list(answers)

    def answer(_call):
        return answers.pop(0) if len(answers) > 1 else answers[0]

    return answer


class FakeService:
    """A scripted KooPhone service: one handler per operation, every call recorded.

    A handler gets the Call and returns the answer (a dict) or an exception to raise; it may raise a
    KooPhoneError itself. Handlers come from ``on()`` or from ``op_<OperationName>`` methods.
    """

    def __init__(self, **handlers):
        self.handlers = {}
        self.faults = {}
        self.calls = []
        self.lock = threading.RLock()
        for operation, handler in handlers.items():
            self.on(operation, handler)

    def on(self, operation, answer):
        """Answer ``operation`` with ``answer``: a handler, a list of answers in turn, or one fixed answer."""
        operations.get(operation)  # a misspelt operation fails the test here
        if isinstance(answer, list):
            answer = in_turn(answer)
        elif not callable(answer):
            answer = in_turn([answer])
        self.handlers[operation] = answer
        return self

    def fault(self, operation, *faults):
        """The next calls of ``operation`` meet these faults in turn: LOST, UNANSWERED, an exception to
        raise (nothing applied), or None (answered normally)."""
        self.faults.setdefault(operation, []).extend(faults)
        return self

    def handler(self, operation):
        handler = self.handlers.get(operation) or getattr(self, "op_" + operation, None)
        if handler is None:
            raise AssertionError("the fake service has no answer for %s" % operation)
        return handler

    def __call__(self, call):
        with self.lock:
            self.calls.append(call)
            queued = self.faults.get(call.operation)
            fault = queued.pop(0) if queued else None
            if isinstance(fault, Exception):
                raise fault
            if fault == UNANSWERED:
                raise lost_answer(call.operation)
            answer = self.handler(call.operation)(call)
            if isinstance(answer, Exception):
                raise answer
            if fault == LOST:
                raise lost_answer(call.operation)
            return wire(answer)

    # ------------------------------------------------------------ what was asked

    def calls_to(self, *operations_):
        return [call for call in self.calls if call.operation in operations_]

    def bodies(self, operation):
        return [call.body for call in self.calls_to(operation)]

    def operations(self):
        return [call.operation for call in self.calls]

    def ids_sent(self, operation):
        """Every instance id the calls of ``operation`` named, in order (an id sent twice is there twice)."""
        sent = []
        for body in self.bodies(operation):
            for field in ID_FIELDS:
                for entry in (body or {}).get(field) or []:
                    sent.append(entry["instance_id"] if isinstance(entry, dict) else entry)
        return sent


class FakeClient(KooPhoneClient):
    """The real KooPhoneClient; only ``call()`` is answered by ``service`` instead of HTTP."""

    ENDPOINT = "https://koophone.test"

    def __init__(self, service, **params):
        given = dict(endpoint=self.ENDPOINT, auth_token="token-under-test", concurrency=1)
        given.update(params)
        super().__init__(given)
        self.service = service

    def call(self, operation_name, path_params=None, query=None, body=None, repeatable=None):
        op = operations.get(operation_name)
        op.path.format(**(path_params or {}))  # every path parameter must be given
        self._count()
        query = dict((k, v) for k, v in (query or {}).items() if v is not None)
        repeatable = op.repeatable if repeatable is None else repeatable
        answer = self.service(Call(operation_name, dict(path_params or {}), query, wire(body), repeatable))
        answer = answer if isinstance(answer, dict) else {"data": answer}
        client_module._check_answer(operation_name, 200, answer, uuid.uuid4().hex)
        return answer


# -------------------------------------------------------------------- a fleet of cloud phones


def ok(data=None, msg="OK"):
    answer = {"error_code": "0", "error_msg": msg}
    if data is not None:
        answer["data"] = data
    return answer


def refusal(code, msg):
    """An answer the client turns into a KooPhoneError carrying ``code`` (nothing was applied)."""
    return {"error_code": code, "error_msg": msg}


def phone(number, prefix="kp", **fields):
    """A batch-query item named ``<prefix>-NNNNN``, running, unassigned, never backed up."""
    item = {
        "instance_id": "%s%05d" % (prefix[:3], number),
        "instance_name": "%s-%05d" % (prefix, number),
        "running_status": 2,
        "assign_status": 0,
        "assign_user": "",
        "backup_status": 0,
    }
    item.update(fields)
    return item


# A SKU catalogue (BatchShowSku) with both spellings of SkuId, one pool per network and a disabled pool.
CATALOGUE = {
    "bandInfo": {"cbcSkuld": "kp.bandwidth"},  # the PDF's spelling must be read too
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
                    "poolInfo": {
                        "aosp": [
                            {"version": "AOSP11", "resPoolId": "p1", "id": "40", "network": "EIP", "enable": True},
                            {"version": "AOSP14", "resPoolId": "p2", "id": 41, "network": "ADN", "enable": True},
                            {"version": "AOSP14", "resPoolId": "p4", "id": 43, "network": "EIP", "enable": True},
                            {"version": "AOSP9", "resPoolId": "p3", "id": 42, "network": "EIP", "enable": False},
                        ]
                    },
                }
            ],
        },
        {"regionId": "cn-north-7", "skuResponses": [{"type": "ENTERPRISE", "cbcSkuld": "kp.ent", "bandSize": "8"}]},
    ],
}


class Fleet(FakeService):
    """Cloud phones as batch-query lists them, and the instance operations over them.

    - ``name_filter``: how batch-query's instance_name filter matches, which the reference does not say:
      "part" (a substring, as the emulator does), "whole" (whole names only) or "ignored".
    - ``page_cap``: the most items a page holds, whatever page_size asked for (the size asked is echoed).
    - ``effect_delay``: seconds of the fake clock before a change shows in batch-query (a deletion, an
      unassign, the end of a reboot, reset, backup or restore); 0: at once.
    - ``listed``: whether created instances are listed; False is an unpaid order (listed after ``pay()``).
    - ``tasks_known``: whether tasks/{task_id} knows the RM_ tasks of reset, unassign and backup (their jobs
      then succeed); by default it answers KOOPHONE.API.1323, which the reference allows.
    - ``progress``: prepare-progress status per instance (default 0, ready); ``prepare_answers``: the status
      prepare answers for an instance instead of preparing it; ``failing_backups``: ids whose backup fails.
    """

    def __init__(self, clock, name_filter="part", page_cap=None, effect_delay=0, listed=True, tasks_known=False):
        super().__init__()
        self.clock = clock
        self.name_filter, self.page_cap, self.effect_delay = name_filter, page_cap, effect_delay
        self.listed, self.tasks_known = listed, tasks_known
        self.instances = collections.OrderedDict()
        self.unlisted = collections.OrderedDict()
        self.unassigning = set()
        self.progress = {}
        self.prepare_answers = {}
        self.failing_backups = set()
        self.catalogue = json.loads(json.dumps(CATALOGUE))
        self.tasks = {}
        self._due = []

    def add(self, *numbers, **fields):
        """Instances ``<prefix>-NNNNN`` (``prefix`` among ``fields``, default "kp"); returns their items."""
        prefix = fields.pop("prefix", "kp")
        items = [phone(number, prefix, **fields) for number in numbers]
        for item in items:
            self.instances[item["instance_id"]] = item
        return items

    def ids(self):
        return list(self.instances)

    def add_look_alikes(self, prefix):
        """Names that start like ``<prefix>-NNNNN`` or contain the prefix, and are not such a name."""
        for name in ("my" + prefix, prefix + "-old", prefix + "ping"):
            self.add(1, prefix=name, instance_id="%s%05d" % (name[-3:], 1))

    def pay(self):
        """The unpaid orders are paid: their instances are listed from now on."""
        self.instances.update(self.unlisted)
        self.unlisted.clear()

    def listings(self):
        """The filters of every batch-query, without the paging fields."""
        return [
            dict((k, v) for k, v in call.query.items() if k not in ("page_no", "page_size"))
            for call in self.calls_to("ListInstances")
        ]

    def __call__(self, call):
        with self.lock:
            self._apply_due()
            return super().__call__(call)

    def later(self, effect):
        if self.effect_delay <= 0:
            effect()
        else:
            self._due.append((self.clock.now + self.effect_delay, effect))

    def _apply_due(self):
        due = [entry for entry in self._due if entry[0] <= self.clock.now]
        self._due = [entry for entry in self._due if entry[0] > self.clock.now]
        for _at, effect in due:
            effect()

    def _unknown(self, ids):
        unknown = [i for i in ids if i not in self.instances]
        return refusal("KOOPHONE.API.1001", "no permission for %s" % ", ".join(unknown)) if unknown else None

    def _task(self, ids):
        task_id = "RM_%04d" % (len(self.tasks) + 1)
        self.tasks[task_id] = list(ids)
        jobs = [{"instance_id": i, "job_id": "%s-%s" % (task_id, i)} for i in ids]
        return ok({"task_id": task_id, "cmd_jobs": jobs})

    def _boot(self, item):
        item["running_status"] = 4  # starting
        self.later(lambda: item.update(running_status=2))

    # ------------------------------------------------------------ reading

    def op_ListInstances(self, call):
        query = call.query
        items = [item for item in self.instances.values() if self._matches(query, item)]
        page_no, asked = int(query.get("page_no", 1)), int(query.get("page_size", 100))
        size = min(asked, self.page_cap) if self.page_cap else asked
        page = items[(page_no - 1) * size : page_no * size]
        return {"data": {"result": page, "page_no": page_no, "page_size": asked, "total_count": len(items)}}

    def _matches(self, query, item):
        if query.get("instance_id") not in (None, item["instance_id"]):
            return False
        name = query.get("instance_name")
        if name is None or self.name_filter == "ignored":
            return True
        return name == item["instance_name"] if self.name_filter == "whole" else name in item["instance_name"]

    def op_BatchShowSku(self, call):
        return ok(self.catalogue)

    def op_BatchShowInstance(self, call):
        ids = call.body["instance_ids"]
        results = [
            {"instance_id": i, "status": self.instances[i]["running_status"]} for i in ids if i in self.instances
        ]
        return ok({"status_results": results})

    def op_ExecuteJob(self, call):
        task_id = call.path_params["task_id"]
        if not self.tasks_known or task_id not in self.tasks:
            return refusal("KOOPHONE.API.1323", "task does not exist")
        jobs = [{"job_id": "%s-%s" % (task_id, i), "status": 2, "execute_msg": "OK"} for i in self.tasks[task_id]]
        return ok({"jobs": jobs})

    def op_ShowProgress(self, call):
        instance_id, user_id = call.body["instance_id"], call.body["user_id"]
        item = self.instances.get(instance_id)
        if item is None or item["assign_status"] != 1 or item["assign_user"] != user_id:
            return refusal("KOOPHONE.API.1001", "no permission")
        status = self.progress.get(instance_id, 0)
        return ok({"status": status, "waitingCount": 3 if status == 1 else 0})

    # ------------------------------------------------------------ changing

    def op_CreateInstance(self, call):
        body = call.body
        prefix = body["instanceNamePrefix"]
        taken = [
            int(item["instance_name"].rsplit("-", 1)[1])
            for item in list(self.instances.values()) + list(self.unlisted.values())
            if item["instance_name"].startswith(prefix + "-")
        ]
        first = max(taken or [0]) + 1
        new = [phone(number, prefix) for number in range(first, first + body["count"])]
        for item in new:
            (self.instances if self.listed else self.unlisted)[item["instance_id"]] = item
        infos = [{"instanceId": item["instance_id"], "instanceName": item["instance_name"]} for item in new]
        return ok({"orderId": "CS%d" % first, "instanceInfos": infos})

    def op_DeleteInstance(self, call):
        ids = call.body["instanceIdList"]
        refused = self._unknown(ids)
        if refused:
            return refused
        for instance_id in ids:
            self.instances[instance_id]["running_status"] = 3  # going offline
            self.later(lambda instance_id=instance_id: self.instances.pop(instance_id, None))
        return {"data": None, "error_code": "0", "error_msg": "OK"}

    def _restart(self, call, running_only):
        ids = call.body["instance_ids"]
        refused = self._unknown(ids)
        if refused is None and running_only and any(self.instances[i]["running_status"] != 2 for i in ids):
            refused = refusal("KOOPHONE.API.5005", "the instance is not running")
        if refused is None:
            for instance_id in ids:
                self._boot(self.instances[instance_id])
        return refused

    def op_BatchRebootInstance(self, call):
        return self._restart(call, running_only=True) or ok()

    def op_BatchResetInstance(self, call):
        return self._restart(call, running_only=False) or self._task(call.body["instance_ids"])

    def op_ProvisionInstance(self, call):
        pairs = call.body["user_instances"]
        refused = self._unknown([pair["instance_id"] for pair in pairs])
        if refused:
            return refused
        for pair in pairs:
            item = self.instances[pair["instance_id"]]
            if pair["instance_id"] in self.unassigning or (
                item["assign_status"] == 1 and item["assign_user"] != pair["user_id"]
            ):
                return refusal("KPAPI.2209", "the instance is assigned to another user")
        for pair in pairs:
            self.instances[pair["instance_id"]].update(assign_status=1, assign_user=pair["user_id"])
        return ok()

    def op_CancelInstance(self, call):
        pairs = call.body["user_instances"]
        assert len(pairs) <= 10, "CancelInstance takes 10 pairs at most"
        ids = [pair["instance_id"] for pair in pairs]
        refused = self._unknown(ids)
        if refused:
            return refused
        for pair in pairs:
            item = self.instances[pair["instance_id"]]
            if item["assign_status"] != 1 or item["assign_user"] != pair["user_id"]:
                return refusal("KOOPHONE.API.2210", "the instance is not assigned to this user")
        for pair in pairs:
            item = self.instances[pair["instance_id"]]
            self.unassigning.add(item["instance_id"])

            def unassigned(item=item):
                item.update(assign_status=0, assign_user="")
                self.unassigning.discard(item["instance_id"])

            self.later(unassigned)
        return self._task(ids)

    def op_BatchPrepareInstances(self, call):
        user_id, ids = call.body["user_id"], call.body["instance_ids"]
        refused = self._unknown(ids)
        if refused:
            return refused
        statuses = []
        for instance_id in ids:
            item = self.instances[instance_id]
            if instance_id in self.prepare_answers:
                status = self.prepare_answers[instance_id]
            elif item["assign_status"] != 1 or item["assign_user"] != user_id:
                status = 2  # to be assigned
            elif self.progress.get(instance_id, 0) in (2, -1):
                status = 1  # to be restored: queued, ready once restored
                self.progress[instance_id] = 1
                self.later(lambda instance_id=instance_id: self.progress.__setitem__(instance_id, 0))
            else:
                status = 0
            statuses.append({"instance_id": instance_id, "status": status})
        return ok({"status_list": statuses})

    def op_BatchBackupInstances(self, call):
        ids = call.body["instance_ids"]
        assert len(ids) <= 50, "BatchBackupInstances takes 50 instances at most"
        refused = self._unknown(ids)
        if refused:
            return refused
        for instance_id in ids:
            item = self.instances[instance_id]
            item["backup_status"] = 1  # executing; the phone keeps running
            done = 3 if instance_id in self.failing_backups else 2
            self.later(lambda item=item, done=done: item.update(backup_status=done))
        return self._task(ids)


# -------------------------------------------------------------------- installed apps


class AppService(FakeService):
    """Installed apps per instance ({id: {package: version}}), and the operations koophone_app uses.

    ``install_faults``: what each InstallApp call meets in turn: "lost" (applied, then the answer is
    lost), "5xx" (not applied, yet the answer may have been: maybe_applied), "lost-late" (applied, the
    answer lost, and each instance shows the app only from its second app-list read on, like an install
    that takes a while), "dropped" (the connection broke, nothing applied), "62005" (refused: already
    there), None (normal). ``command_faults``: "lost"
    (the sync-command ran, its answer was lost) or None. With ``app_list=False`` the gateway has no
    ListInstanceApp (404 APIGW.0101), so the installed apps are read with shell commands.
    """

    def __init__(self, installed=None, app_list=True, install_faults=(), command_faults=()):
        super().__init__()
        self.installed = dict((i, dict(pkgs)) for i, pkgs in (installed or {}).items())
        self.app_list = app_list
        self.install_faults = list(install_faults)
        self.command_faults = list(command_faults)
        self.late = {}  # instance_id -> (package, version, app-list reads left before it shows)
        self.tasks = {}

    def op_ListInstanceApp(self, call):
        instance_id = call.path_params["instance_id"]
        if instance_id in self.late:
            package, version, reads = self.late[instance_id]
            if reads:
                self.late[instance_id] = (package, version, reads - 1)
            else:
                del self.late[instance_id]
                self.installed[instance_id][package] = version
        if not self.app_list:
            raise KooPhoneError("no such API", operation=call.operation, status=404, error_code="APIGW.0101")
        if instance_id not in self.installed:
            return refusal("KOOPHONE.API.1001", "no permission")
        apps = [{"app_pkg": p, "app_version": v} for p, v in sorted(self.installed[instance_id].items())]
        return ok({"result": apps, "page_no": 1, "page_size": 200, "total_count": len(apps)})

    def op_InstallApp(self, call):
        body = call.body
        fault = self.install_faults.pop(0) if self.install_faults else None
        ids = body["instance_id_list"]
        if fault == "5xx":
            raise KooPhoneError("bad gateway", operation="InstallApp", status=502, maybe_applied=True)
        if fault == "dropped":
            raise lost_answer("InstallApp")
        if fault == "62005" or any(
            self.installed.get(i, {}).get(body["object_name"]) == body["object_version"] for i in ids
        ):
            return refusal("KOOPHONE.API.62005", "exists")
        task_id = "ZGCA%04d" % len(self.tasks)
        jobs = [{"instance_id": i, "job_id": "%s-%s" % (task_id, i)} for i in ids]
        self.tasks[task_id] = jobs
        if fault == "lost-late":
            self.late.update((i, (body["object_name"], body["object_version"], 1)) for i in ids)
        else:
            for instance_id in ids:
                self.installed[instance_id][body["object_name"]] = body["object_version"]
        if fault in ("lost", "lost-late"):
            raise lost_answer("InstallApp")
        return ok({"task_id": task_id, "cmd_jobs": jobs})

    def op_ExecuteJob(self, call):
        jobs = self.tasks[call.path_params["task_id"]]
        return ok({"jobs": [{"job_id": j["job_id"], "status": 2, "execute_msg": "Success"} for j in jobs]})

    def op_SyncInvokeInstance(self, call):
        fault = self.command_faults.pop(0) if self.command_faults else None
        results = [dict(self.shell(i, call.body["command"]), instance_id=i) for i in call.body["instance_ids"]]
        if fault == "lost":
            raise lost_answer("SyncInvokeInstance")
        return ok({"cmd_results": results})

    def shell(self, instance_id, command):
        pkgs = self.installed.get(instance_id)
        if pkgs is None:
            return {"status": -1, "error_code": "CPS0005", "error_msg": "Phone not found.", "execute_msg": None}
        words = command.split()
        if words[:3] == ["pm", "list", "packages"]:
            lines = ["package:%s" % p for p in sorted(pkgs) if words[3] in p]
            return {"status": 2, "execute_msg": "\n".join(lines)}
        if words[:2] == ["dumpsys", "package"]:
            version = pkgs.get(words[2])
            if version is None:
                return {"status": -1, "error_code": "CPS.0191", "execute_msg": ""}
            return {"status": 2, "execute_msg": "    versionName=%s" % version}
        if words[:2] == ["pm", "uninstall"]:
            if pkgs.pop(words[2], None) is None:
                return {"status": -1, "error_code": "CPS.0191", "execute_msg": "Failure [DELETE_FAILED_INTERNAL_ERROR]"}
            return {"status": 2, "execute_msg": "Success"}
        raise AssertionError(command)


class Clock:
    """Stands in for the time module in _client and _tasks: sleep() moves time() on at once."""

    def __init__(self):
        self.now = time.time()
        self.slept = []
        self._lock = threading.Lock()

    def time(self):
        return self.now

    def sleep(self, seconds):
        with self._lock:
            self.slept.append(seconds)
            self.now += max(0.0, seconds)

    def __getattr__(self, name):
        return getattr(time, name)


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    fake = Clock()
    monkeypatch.setattr(client_module, "time", fake)
    monkeypatch.setattr(tasks_module, "time", fake)
    return fake


@pytest.fixture(autouse=True)
def private_cache(monkeypatch, tmp_path):
    """Token cache, video record and unpaid-order record default under $XDG_CACHE_HOME: never the real one."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


@pytest.fixture
def service():
    return FakeService()


@pytest.fixture
def make_client():
    """``make_client(service, **params)``: a FakeClient (options as the module would pass them)."""

    def make(service=None, **params):
        return FakeClient(service if service is not None else FakeService(), **params)

    return make


@pytest.fixture
def client(service, make_client):
    return make_client(service)


@pytest.fixture
def fleet(clock):
    return Fleet(clock)


@pytest.fixture
def refused():
    """``refused(check, *args)``: the InvalidOption that ``check(*args)`` raises (none fails the test)."""

    def check_refuses(check, *args):
        with pytest.raises(InvalidOption) as raised:
            check(*args)
        return raised.value

    return check_refuses


@pytest.fixture
def one_pool_at_a_time():
    """``one_pool_at_a_time(client)``: the client, whose map_concurrently now fails the test when it runs
    inside another one (a pool inside a pool puts up to concurrency² requests in flight)."""

    def guard(client):
        real, depth = client.map_concurrently, []

        def map_concurrently(function, items):
            assert not depth, "map_concurrently inside map_concurrently: up to concurrency² requests in flight"
            depth.append(True)
            try:
                return real(function, items)
            finally:
                depth.pop()

        client.map_concurrently = map_concurrently
        return client

    return guard


@pytest.fixture
def apps_on():
    """``apps_on(installed, **knobs)``: an AppService (see there)."""
    return AppService


@pytest.fixture(name="phone")
def phone_fixture():
    """``phone(number, prefix="kp", **fields)``: a batch-query item (see the fleet)."""
    return phone


@pytest.fixture
def catalogue():
    """A copy of the SKU catalogue the fleet serves (BatchShowSku's ``data``)."""
    return json.loads(json.dumps(CATALOGUE))


@pytest.fixture
def stub():
    server = StubServer()
    yield server
    server.stop()


@pytest.fixture
def http_client(stub):
    """``http_client(**params)``: the real client, over HTTP, against the scripted server."""

    def make(**params):
        params.setdefault("auth_token", "token-under-test")
        params.setdefault("retries", 3)
        return KooPhoneClient(dict(params, endpoint=stub.url, iam_endpoint=stub.url))

    return make


@pytest.fixture
def make_kp():
    """``make_kp(client, params, check_mode=False, module=None)``: the KooPhoneModule a module's run gets."""
    return FakeKp


def inventory_options(**given):
    """The inventory plugin's option values with nothing set, as ansible-core resolves them (the plugin's
    documentation merged with the common fragment, by ansible-core's own merge), without constructed
    groups or variables and without a cache; then ``given``."""
    import yaml
    from ansible.utils.plugin_docs import merge_fragment

    from ansible_collections.koophone.cloud.plugins.doc_fragments.koophone import ModuleDocFragment
    from ansible_collections.koophone.cloud.plugins.inventory import koophone as plugin_module

    options = yaml.safe_load(plugin_module.DOCUMENTATION)["options"]
    merge_fragment(options, yaml.safe_load(ModuleDocFragment.PLUGINS)["options"])
    values = dict((name, spec.get("default")) for name, spec in options.items())
    values.update(
        strict=False,
        compose={},
        groups={},
        keyed_groups=[],
        leading_separator=True,
        use_extra_vars=False,
        cache=False,
    )
    values.update(given)
    return values


@pytest.fixture(name="inventory_options", scope="session")  # session: a pure function, fine under hypothesis
def inventory_options_fixture():
    """``inventory_options(**given)``: the inventory plugin's option values (see there)."""
    return inventory_options
