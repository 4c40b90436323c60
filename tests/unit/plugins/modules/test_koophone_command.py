"""koophone_command and koophone_task_info: validation, job -> instance mapping, polling, and what
happens to chunks whose answer was lost (reported per instance, never sent again)."""

import json
import os
import sys

import pytest

from ansible_collections.koophone.cloud.plugins.module_utils import _client as client_module
from ansible_collections.koophone.cloud.plugins.module_utils import _commands as commands
from ansible_collections.koophone.cloud.plugins.module_utils._client import ChunkResult, KooPhoneClient
from ansible_collections.koophone.cloud.plugins.module_utils._errors import InvalidOption, KooPhoneError
from ansible_collections.koophone.cloud.plugins.modules import koophone_command as module
from ansible_collections.koophone.cloud.plugins.modules import koophone_task_info

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "module_utils"))
import fake_kp
from stub_server import DROP, StubServer  # noqa: E402  (the client tests' scripted HTTP server)

# ---------------------------------------------------------------- a scripted client


class FakeClient:
    """Answers command submissions with ``submit`` and task reads with ``tasks[task_id]`` (a list of
    successive answers, the last one repeating); records every call."""

    def __init__(self, submit=None, tasks=None):
        self.calls = []
        self.submit = submit or (lambda operation, body: ok_async(body))
        self.tasks = dict(tasks or {})
        self.polls = 0

    def call(self, operation_name, path_params=None, query=None, body=None):
        self.calls.append((operation_name, path_params, body))
        if operation_name == "ExecuteJob":
            answers = self.tasks[path_params["task_id"]]
            answer = answers.pop(0) if len(answers) > 1 else answers[0]
            if isinstance(answer, Exception):
                raise answer
            return answer
        return self.submit(operation_name, body)

    def call_batched(self, operation_name, ids, make_body, chunk_size=None):
        results = []
        for start in range(0, len(ids), 100):
            chunk = list(ids[start : start + 100])
            try:
                results.append(ChunkResult(chunk, self.call(operation_name, body=make_body(chunk)), None))
            except KooPhoneError as error:
                results.append(ChunkResult(chunk, None, error))
        return results

    def map_concurrently(self, function, items):
        outcomes = []
        for item in items:
            try:
                outcomes.append((function(item), None))
            except KooPhoneError as error:
                outcomes.append((None, error))
        return outcomes

    def poll(self, read, is_done, wait_timeout, interval=1.0, max_interval=5.0):
        # Up to 10 rounds without sleeping; "timeout" when still not done.
        for _round in range(10):
            self.polls += 1
            value = read()
            if is_done(value):
                return True, value
        return False, value

    def submissions(self, operation=None):
        return [call for call in self.calls if call[0] in ((operation,) if operation else commands_ops())]


def commands_ops():
    return ("SyncInvokeInstance", "AsyncInvokeInstance")


def ok_async(body, task_id=None):
    ids = body["instance_ids"]
    task_id = task_id or "task%s" % ids[0]
    # The service may list jobs in any order: reversed, so mapping by position would be wrong.
    jobs = [{"instance_id": i, "job_id": "job-" + i} for i in reversed(ids)]
    return {"error_code": "0", "data": {"task_id": task_id, "cmd_jobs": jobs}}


def ok_sync(body, failing=()):
    results = []
    for i in reversed(body["instance_ids"]):
        if i in failing:
            results.append({"instance_id": i, "status": -1, "error_code": "CPS0005", "error_msg": "Phone not found."})
        else:
            results.append(
                {"instance_id": i, "status": 2, "error_code": "", "error_msg": "", "execute_msg": "out-%s\n" % i}
            )
    return {"error_code": "0", "data": {"cmd_results": results}}


def jobs_answer(ids, status=2, **fields):
    jobs = []
    for i in ids:
        job = {"job_id": "job-" + i, "status": status, "error_code": "", "error_msg": "", "execute_msg": "out-" + i}
        job.update(fields)
        jobs.append(job)
    return {"error_code": "0", "data": {"jobs": jobs}}


def ids(count, prefix="i"):
    return ["%s%04d" % (prefix, n) for n in range(count)]


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch):
    monkeypatch.setattr(commands.time, "sleep", lambda seconds: None)
    monkeypatch.setattr(client_module.time, "sleep", lambda seconds: None)


# ---------------------------------------------------------------- validation


def params(**overrides):
    values = dict(instance_ids=["a1"], command="getprop", mode="async", wait=True, wait_timeout=300, fail_on_error=True)
    values.update(overrides)
    return values


@pytest.mark.parametrize(
    "option,overrides,fragment",
    [
        ("command", dict(command=""), "must not be empty"),
        ("command", dict(command="   "), "must not be empty"),
        ("command", dict(command="x" * 1025), "1025 bytes"),
        # 342 three-byte characters: 342 characters but 1,026 bytes.
        ("command", dict(command="\u20ac" * 342), "1026 bytes"),
        ("instance_ids", dict(instance_ids=["ok", "x" * 33]), "at most 32"),
        ("instance_ids", dict(instance_ids=["ok", ""]), "empty id"),
        ("wait_timeout", dict(wait_timeout=0), "between 1 and 86400"),
    ],
)
def test_bad_inputs_name_the_option_and_the_limit(option, overrides, fragment):
    with pytest.raises(InvalidOption) as raised:
        module.validate(params(**overrides))
    assert raised.value.option == option
    assert fragment in str(raised.value)


def test_what_the_reference_examples_send_is_accepted():
    # The reference restricts the characters, yet its own example is "ls -l /system".
    module.validate(params(command="ls -l /system", instance_ids=["a44uhlf7", "x" * 32]))
    module.validate(params(command="x" * 1024))


@pytest.mark.parametrize("task_id", ["", "a/b", "x" * 65, "has space"])
def test_task_info_refuses_what_cannot_be_a_task_id(task_id):
    with pytest.raises(InvalidOption) as raised:
        koophone_task_info.validate({"task_ids": [task_id], "wait_timeout": 300})
    assert raised.value.option == "task_ids"


@pytest.mark.parametrize(
    "task_id,kind",
    [
        ("6837531fd3f54550927b930180a706bf", "command"),
        ("ZGCAabc-_123", "app_install"),
        ("FULFILL0001", "app_install"),
        ("RM_0123", "instance_task"),
        ("something", "other"),
    ],
)
def test_task_types(task_id, kind):
    koophone_task_info.validate({"task_ids": [task_id], "wait_timeout": 300})
    assert commands.task_type(task_id) == kind


# ---------------------------------------------------------------- sync


def test_sync_maps_results_by_instance_not_position_and_keeps_request_order():
    wanted = ids(250)
    client = FakeClient(submit=lambda op, body: ok_sync(body, failing={"i0007", "i0201"}))
    run = commands.CommandRun(wanted, asynchronous=False)
    commands.run_sync(client, run, "getprop")
    assert [call[2]["instance_ids"] for call in client.submissions()] == [wanted[:100], wanted[100:200], wanted[200:]]
    assert [entry["instance_id"] for entry in run.results] == wanted
    assert run.entries["i0003"]["stdout"] == "out-i0003"  # trailing newline stripped
    assert run.entries["i0003"]["stdout_lines"] == ["out-i0003"]
    assert run.failed_ids == ["i0007", "i0201"]
    assert run.entries["i0007"]["error_code"] == "CPS0005"
    assert "job_id" not in run.entries["i0003"]
    assert run.changed


def test_sync_result_missing_from_the_answer_is_a_failure():
    def answer(op, body):
        reply = ok_sync(body)
        reply["data"]["cmd_results"] = [r for r in reply["data"]["cmd_results"] if r["instance_id"] != "i0001"]
        return reply

    run = commands.CommandRun(ids(3), asynchronous=False)
    commands.run_sync(FakeClient(submit=answer), run, "id")
    assert run.failed_ids == ["i0001"]
    assert run.entries["i0001"]["status_name"] == "unknown"


def test_a_lost_chunk_is_reported_per_instance_and_never_resent():
    def answer(op, body):
        if body["instance_ids"][0] == "i0100":
            raise KooPhoneError("connection broke", operation=op, request_id="rid-1", maybe_applied=True)
        return ok_sync(body)

    wanted = ids(300)
    client = FakeClient(submit=answer)
    run = commands.CommandRun(wanted, asynchronous=False)
    commands.run_sync(client, run, "getprop")
    assert len(client.submissions()) == 3
    assert run.failed_ids == wanted[100:200]
    entry = run.entries["i0150"]
    assert entry["status_name"] == "unknown" and entry["request_id"] == "rid-1"
    assert "unknown whether the command ran" in entry["error_msg"]
    assert "not sent again" in entry["error_msg"]
    message = commands.describe_failures(run)
    assert message.startswith("The command failed on 100 of 300 instances.")
    assert "i0100" in message and "and 80 more" in message


def test_one_cause_hitting_several_chunks_is_one_group_in_the_message():
    counter = iter(range(100))

    def answer(op, body):
        raise KooPhoneError("connection broke", operation=op, request_id="rid-%d" % next(counter), maybe_applied=True)

    run = commands.CommandRun(ids(300), asynchronous=True)
    commands.submit_async(FakeClient(submit=answer), run, "id")
    assert {run.entries[i]["request_id"] for i in ("i0000", "i0100", "i0200")} == {"rid-0", "rid-1", "rid-2"}
    message = commands.describe_failures(run)
    assert message.count("unknown whether the command ran") == 1
    assert "rid-" not in message and "and 280 more" in message


def test_a_refused_chunk_says_the_command_did_not_run():
    def answer(op, body):
        raise KooPhoneError(
            "bad command", operation=op, status=400, error_code="KOOPHONE.API.1000", error_msg="command is invalid"
        )

    run = commands.CommandRun(ids(2), asynchronous=False)
    commands.run_sync(FakeClient(submit=answer), run, "rm -rf x")
    assert run.failed_ids == ids(2)
    assert {entry["status_name"] for entry in run.results} == {"rejected"}
    assert run.entries["i0000"]["error_code"] == "KOOPHONE.API.1000"
    assert "command is invalid" in run.entries["i0000"]["error_msg"]
    assert not run.changed


def test_duplicate_ids_run_once_and_get_one_result():
    client = FakeClient(submit=lambda op, body: ok_sync(body))
    run = commands.CommandRun(["b", "a", "b", "c", "a"], asynchronous=False)
    commands.run_sync(client, run, "id")
    assert client.submissions()[0][2]["instance_ids"] == ["b", "a", "c"]
    assert [entry["instance_id"] for entry in run.results] == ["b", "a", "c"]


# ---------------------------------------------------------------- async


def test_async_maps_every_job_to_its_instance_and_polls_each_task_once_per_round():
    wanted = ids(250)
    chunks = [wanted[:100], wanted[100:200], wanted[200:]]
    tasks = {}
    for chunk in chunks:
        # Round 1: still running; round 2: done. Jobs listed in another order than submitted.
        tasks["task" + chunk[0]] = [jobs_answer(chunk, status=1), jobs_answer(list(reversed(chunk)))]
    tasks["task" + chunks[2][0]][1]["data"]["jobs"][0].update(status=-1, error_code="CPS.0191", execute_msg="boom")
    client = FakeClient(tasks=tasks)
    run = commands.CommandRun(wanted, asynchronous=True)
    commands.submit_async(client, run, "getprop")
    commands.wait_for_jobs(client, run, 300)

    assert len(client.submissions("AsyncInvokeInstance")) == 3
    polls = [call for call in client.calls if call[0] == "ExecuteJob"]
    assert len(polls) == 6  # 3 tasks x 2 rounds
    assert run.task_ids == ["task" + chunk[0] for chunk in chunks]
    for instance_id in wanted:
        entry = run.entries[instance_id]
        assert entry["job_id"] == "job-" + instance_id
        assert entry["stdout"] in ("out-" + instance_id, "boom")
    last = chunks[2][-1]  # first in the reversed listing
    assert run.failed_ids == [last]
    assert run.entries[last]["stdout"] == "boom" and run.entries[last]["status_name"] == "failed"
    assert [entry["instance_id"] for entry in run.results] == wanted


def test_async_answer_nested_in_data_data_is_read():
    def answer(op, body):
        return {"error_code": "0", "data": {"data": ok_async(body)["data"]}}

    run = commands.CommandRun(ids(2), asynchronous=True)
    commands.submit_async(FakeClient(submit=answer), run, "id")
    assert run.task_ids == ["taski0000"] and run.entries["i0001"]["job_id"] == "job-i0001"


def test_wait_timeout_names_the_pending_instances_in_request_order():
    wanted = ids(150)
    tasks = {
        "taski0000": [jobs_answer(wanted[:100], status=1)],
        "taski0100": [jobs_answer(wanted[100:])],
    }
    client = FakeClient(tasks=tasks)
    run = commands.CommandRun(wanted, asynchronous=True)
    commands.submit_async(client, run, "sleep 100")
    commands.wait_for_jobs(client, run, 7)
    assert run.pending == wanted[:100]
    assert run.failed_ids == wanted[:100]
    assert "wait_timeout (7s)" in run.entries["i0000"]["error_msg"]
    message = commands.describe_failures(run)
    assert message.startswith("100 of 150 instances were still running when wait_timeout expired: i0000, i0001")
    assert "(tasks taski0000)" in message
    # The finished task is not polled again once done: 1 read, against 10 for the running one.
    assert sum(1 for call in client.calls if call[1] == {"task_id": "taski0100"}) == 1


def test_a_task_that_cannot_be_read_is_given_up_after_repeated_failures():
    error = KooPhoneError("gone", operation="ExecuteJob", status=400, error_code="KOOPHONE.API.1323")
    client = FakeClient(tasks={"taski0000": [error]})
    run = commands.CommandRun(ids(3), asynchronous=True)
    commands.submit_async(client, run, "id")
    commands.wait_for_jobs(client, run, 300)
    assert client.polls == commands.MAX_POLL_FAILURES
    assert run.failed_ids == ids(3) and not run.pending
    assert "outcome could not be read" in run.entries["i0000"]["error_msg"]
    assert run.changed  # submitted: it may have run


def test_a_lost_async_submission_is_never_resent_and_other_chunks_are_followed():
    def answer(op, body):
        if body["instance_ids"][0] == "i0000":
            raise KooPhoneError("connection broke", operation=op, maybe_applied=True)
        return ok_async(body)

    wanted = ids(200)
    client = FakeClient(submit=answer, tasks={"taski0100": [jobs_answer(wanted[100:])]})
    run = commands.CommandRun(wanted, asynchronous=True)
    commands.submit_async(client, run, "id")
    commands.wait_for_jobs(client, run, 300)
    assert len(client.submissions()) == 2
    assert run.failed_ids == wanted[:100]
    assert run.entries["i0000"]["job_id"] is None and run.entries["i0000"]["status_name"] == "unknown"
    assert run.entries["i0150"]["status_name"] == "succeeded"


def test_jobs_missing_from_the_submission_answer_are_failures():
    def answer(op, body):
        reply = ok_async(body)
        reply["data"]["cmd_jobs"] = reply["data"]["cmd_jobs"][1:]  # drops the last instance's job
        return reply

    run = commands.CommandRun(ids(3), asynchronous=True)
    commands.submit_async(FakeClient(submit=answer), run, "id")
    assert run.failed_ids == ["i0002"]


# ---------------------------------------------------------------- the module


class FakeKp(fake_kp.FakeKp):
    def __init__(self, client, check_mode=False, **overrides):
        super().__init__(client, dict(params(**overrides), strip_empty_ends=True), check_mode)


def test_check_mode_sends_nothing_and_reports_a_change():
    client = FakeClient()
    result = module.run_module(FakeKp(client, check_mode=True, instance_ids=ids(3)))
    assert client.calls == []
    assert result["changed"] is True
    assert {entry["status_name"] for entry in result["results"]} == {"would_run"}
    assert "nothing was sent" in result["msg"]


def test_an_empty_list_sends_nothing_and_changes_nothing():
    client = FakeClient()
    result = module.run_module(FakeKp(client, instance_ids=[]))
    assert client.calls == [] and result["changed"] is False and result["results"] == []


def test_the_module_fails_with_every_result_unless_told_to_tolerate_failures():
    def answer(op, body):
        return ok_sync(body, failing={"i0001"})

    with pytest.raises(SystemExit) as raised:
        module.run_module(FakeKp(FakeClient(submit=answer), mode="sync", instance_ids=ids(3)))
    failed = raised.value.args[0]
    assert len(failed["results"]) == 3 and failed["failed_instance_ids"] == ["i0001"]
    assert "i0001: Phone not found. (CPS0005)" in failed["msg"]

    tolerated = module.run_module(
        FakeKp(FakeClient(submit=answer), mode="sync", instance_ids=ids(3), fail_on_error=False)
    )
    assert tolerated["changed"] is True and tolerated["failed_instance_ids"] == ["i0001"]


def test_fire_and_forget_returns_the_task_ids_at_once():
    client = FakeClient()
    result = module.run_module(FakeKp(client, wait=False, instance_ids=ids(120)))
    assert [call[0] for call in client.calls] == ["AsyncInvokeInstance", "AsyncInvokeInstance"]
    assert result["task_ids"] == ["taski0000", "taski0100"]
    assert {entry["status_name"] for entry in result["results"]} == {"submitted"}
    assert result["changed"] is True and result["pending_instance_ids"] == []


def test_task_info_reads_jobs_with_names_and_reports_unknown_tasks():
    tasks = {
        "ZGCAone": [
            {"error_code": "0", "data": {"jobs": [{"job_id": "j1", "status": 0}, {"job_id": "j2", "status": 3}]}}
        ],
        "abc": [KooPhoneError("no task", status=400, error_code="KOOPHONE.API.1323", error_msg="task does not exist")],
    }
    reader = commands.TaskReader(FakeClient(tasks=tasks), ["ZGCAone", "abc"])
    assert reader.read_round() == ["ZGCAone"]
    summaries = reader.summaries()
    assert summaries[0]["found"] is True and summaries[0]["done"] is False and summaries[0]["failed_count"] == 1
    assert summaries[1]["found"] is False and summaries[1]["error_code"] == "KOOPHONE.API.1323"
    assert [job["status_name"] for job in reader.jobs()] == ["not_started", "failed"]


def test_task_info_other_errors_fail():
    tasks = {"abc": [KooPhoneError("denied", status=403, error_code="KOOPHONE.API.6002")]}
    with pytest.raises(KooPhoneError):
        commands.TaskReader(FakeClient(tasks=tasks), ["abc"]).read_round()


# ---------------------------------------------------------------- with the real client over HTTP


@pytest.fixture
def stub():
    server = StubServer()
    yield server
    server.stop()


def real_client(stub):
    return KooPhoneClient(dict(auth_token="t", retries=3, endpoint=stub.url, iam_endpoint=stub.url))


def async_answer(request):
    return (200, {}, ok_async(request["body"], task_id="0" * 32))


@pytest.mark.parametrize("fault", [DROP, (503, {}, {"error_code": "KOOPHONE.API.9999", "error_msg": "unknown error."})])
def test_over_http_a_maybe_applied_submission_is_sent_exactly_once(stub, fault):
    stub.script = [fault]
    run = commands.CommandRun(ids(3), asynchronous=True)
    commands.submit_async(real_client(stub), run, "id")
    assert [request["path"] for request in stub.requests] == ["/v1/instances/async-command"]
    assert run.failed_ids == ids(3)
    assert {entry["status_name"] for entry in run.results} == {"unknown"}


def test_over_http_throttling_is_retried_because_nothing_was_applied(stub):
    stub.script = [(429, {"Retry-After": "0"}, {"error_code": "APIGW.0308", "error_msg": "throttled"}), async_answer]
    run = commands.CommandRun(ids(2), asynchronous=True)
    commands.submit_async(real_client(stub), run, "id")
    assert len(stub.requests) == 2
    assert stub.requests[1]["body"] == {"command": "id", "instance_ids": ids(2)}
    assert run.failed_ids == [] and run.task_ids == ["0" * 32]


def test_over_http_a_failing_poll_is_repeated(stub):
    stub.script = [
        async_answer,
        DROP,  # the poll's connection breaks: polls are safe to repeat
        (200, {}, jobs_answer(ids(2))),
    ]
    run = commands.CommandRun(ids(2), asynchronous=True)
    client = real_client(stub)
    commands.submit_async(client, run, "id")
    commands.wait_for_jobs(client, run, 30)
    assert [request["path"] for request in stub.requests] == ["/v1/instances/async-command"] + [
        "/v1/instances/tasks/" + "0" * 32
    ] * 2
    assert run.failed_ids == [] and run.entries["i0001"]["stdout"] == "out-i0001"
    assert json.dumps(run.results)  # plain JSON for Ansible
