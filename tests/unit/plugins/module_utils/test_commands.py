"""_commands: sync and async commands across a fleet, job -> instance mapping, polling, what happens to
chunks whose answer was lost (reported per instance, never sent again), and the task reader."""

import json

import pytest

from ansible_collections.koophone.cloud.plugins.module_utils import _commands as commands
from ansible_collections.koophone.cloud.plugins.module_utils import _tasks as tasks
from ansible_collections.koophone.cloud.plugins.module_utils._errors import KooPhoneError


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


def serve(service, sync=None, submit=None, task_answers=None):
    """sync-command answers ``sync(body)``; async-command ``submit(body)``; tasks/{task_id} gives the answers
    of ``task_answers[task_id]`` in turn (the last one again and again; an exception is raised)."""
    service.on("SyncInvokeInstance", lambda call: (sync or ok_sync)(call.body))
    service.on("AsyncInvokeInstance", lambda call: (submit or ok_async)(call.body))
    scripts = dict((task_id, list(answers)) for task_id, answers in (task_answers or {}).items())

    def read_task(call):
        answers = scripts[call.path_params["task_id"]]
        return answers.pop(0) if len(answers) > 1 else answers[0]

    service.on("ExecuteJob", read_task)
    return service


def submissions(service):
    return service.calls_to("SyncInvokeInstance", "AsyncInvokeInstance")


def task_reads(service, task_id=None):
    return [call for call in service.calls_to("ExecuteJob") if task_id in (None, call.path_params["task_id"])]


def lost(call, request_id="rid-1"):
    return KooPhoneError("connection broke", operation=call.operation, request_id=request_id, maybe_applied=True)


# ---------------------------------------------------------------- sync


def test_sync_maps_results_by_instance_not_position_and_keeps_request_order(service, client):
    wanted = ids(250)
    serve(service, sync=lambda body: ok_sync(body, failing={"i0007", "i0201"}))
    run = commands.CommandRun(wanted, asynchronous=False)
    commands.run_sync(client, run, "getprop")
    assert [call.body["instance_ids"] for call in submissions(service)] == [wanted[:100], wanted[100:200], wanted[200:]]
    assert [entry["instance_id"] for entry in run.results] == wanted
    assert run.entries["i0003"]["stdout"] == "out-i0003"  # trailing newline stripped
    assert run.entries["i0003"]["stdout_lines"] == ["out-i0003"]
    assert run.failed_ids == ["i0007", "i0201"]
    assert run.entries["i0007"]["error_code"] == "CPS0005"
    assert "job_id" not in run.entries["i0003"]
    assert run.changed


def test_sync_results_of_the_wrong_types_are_read_as_text_or_as_no_result(service, client):
    results = [
        {"instance_id": ["a"], "status": 2, "execute_msg": "not a's"},  # no id: a has no result
        {"instance_id": "b", "status": -1, "error_code": 7, "error_msg": ["no"], "execute_msg": 5},
    ]
    serve(service, sync=lambda body: {"error_code": "0", "data": {"cmd_results": results}})
    run = commands.CommandRun(["a", "b"], asynchronous=False)
    commands.run_sync(client, run, "getprop")
    assert run.entries["a"]["status_name"] == "unknown" and run.entries["a"]["failed"]
    assert (run.entries["b"]["error_code"], run.entries["b"]["error_msg"], run.entries["b"]["stdout"]) == (
        "7",
        '["no"]',
        "5",
    )
    assert '["no"] (7)' in commands.describe_failures(run)


def test_an_async_task_id_written_as_a_number_is_followed_by_its_digits(service, client):
    serve(
        service,
        submit=lambda body: {
            "error_code": "0",
            "data": {"task_id": 5, "cmd_jobs": [{"instance_id": "a", "job_id": 9}]},
        },
        task_answers={"5": [{"error_code": "0", "data": {"jobs": [{"job_id": 9, "status": 1}]}}]},
    )
    run = commands.CommandRun(["a"], asynchronous=True)
    commands.submit_async(client, run, "getprop")
    assert (run.entries["a"]["task_id"], run.entries["a"]["job_id"]) == ("5", "9")
    commands.wait_for_jobs(client, run, 0.5)
    assert run.pending == ["a"] and "(tasks 5)" in commands.describe_failures(run)
    assert [call.path_params["task_id"] for call in task_reads(service)][:1] == ["5"]


def test_sync_keeps_empty_ends_when_asked(service, client):
    serve(service)
    run = commands.CommandRun(["a"], asynchronous=False, strip_empty_ends=False)
    commands.run_sync(client, run, "getprop")
    assert run.entries["a"]["stdout"] == "out-a\n" and run.entries["a"]["stdout_lines"] == ["out-a"]


def test_sync_result_missing_from_the_answer_is_a_failure(service, client):
    def answer(body):
        reply = ok_sync(body)
        reply["data"]["cmd_results"] = [r for r in reply["data"]["cmd_results"] if r["instance_id"] != "i0001"]
        return reply

    serve(service, sync=answer)
    run = commands.CommandRun(ids(3), asynchronous=False)
    commands.run_sync(client, run, "id")
    assert run.failed_ids == ["i0001"]
    assert run.entries["i0001"]["status_name"] == "unknown"


def test_a_sync_answer_given_before_the_command_finished_is_a_failure(service, client):
    serve(service, sync=lambda body: {"data": {"cmd_results": [{"instance_id": "a", "status": 1}]}})
    run = commands.CommandRun(["a"], asynchronous=False)
    commands.run_sync(client, run, "sleep 100")
    assert run.failed_ids == ["a"] and "use mode=async" in run.entries["a"]["error_msg"]


def test_an_unknown_status_is_a_failure_that_says_so(service, client):
    serve(service, sync=lambda body: {"data": {"cmd_results": [{"instance_id": "a", "status": 7}]}})
    run = commands.CommandRun(["a"], asynchronous=False)
    commands.run_sync(client, run, "id")
    assert run.failed_ids == ["a"] and "unknown status 7" in run.entries["a"]["error_msg"]
    assert not run.changed  # nothing says the command ran


def test_a_lost_chunk_is_reported_per_instance_and_never_resent(service, client):
    def answer(call):
        if call.body["instance_ids"][0] == "i0100":
            return lost(call)
        return ok_sync(call.body)

    serve(service)
    service.on("SyncInvokeInstance", answer)
    wanted = ids(300)
    run = commands.CommandRun(wanted, asynchronous=False)
    commands.run_sync(client, run, "getprop")
    assert len(submissions(service)) == 3
    assert run.failed_ids == wanted[100:200]
    entry = run.entries["i0150"]
    assert entry["status_name"] == "unknown" and entry["request_id"] == "rid-1"
    assert "unknown whether the command ran" in entry["error_msg"]
    assert "not sent again" in entry["error_msg"]
    message = commands.describe_failures(run)
    assert message.startswith("The command failed on 100 of 300 instances.")
    assert "i0100" in message and "and 80 more" in message


def test_one_cause_hitting_several_chunks_is_one_group_in_the_message(service, client):
    counter = iter(range(100))
    service.on("AsyncInvokeInstance", lambda call: lost(call, "rid-%d" % next(counter)))
    run = commands.CommandRun(ids(300), asynchronous=True)
    commands.submit_async(client, run, "id")
    assert {run.entries[i]["request_id"] for i in ("i0000", "i0100", "i0200")} == {"rid-0", "rid-1", "rid-2"}
    message = commands.describe_failures(run)
    assert message.count("unknown whether the command ran") == 1
    assert "rid-" not in message and "and 280 more" in message


def test_a_refused_chunk_says_the_command_did_not_run(service, client):
    service.on(
        "SyncInvokeInstance",
        {"error_code": "KOOPHONE.API.1000", "error_msg": "command is invalid"},
    )
    run = commands.CommandRun(ids(2), asynchronous=False)
    commands.run_sync(client, run, "rm -rf x")
    assert run.failed_ids == ids(2)
    assert {entry["status_name"] for entry in run.results} == {"rejected"}
    assert run.entries["i0000"]["error_code"] == "KOOPHONE.API.1000"
    assert "command is invalid" in run.entries["i0000"]["error_msg"]
    assert not run.changed


def test_duplicate_ids_run_once_and_get_one_result(service, client):
    serve(service)
    run = commands.CommandRun(["b", "a", "b", "c", "a"], asynchronous=False)
    commands.run_sync(client, run, "id")
    assert submissions(service)[0].body["instance_ids"] == ["b", "a", "c"]
    assert [entry["instance_id"] for entry in run.results] == ["b", "a", "c"]


# ---------------------------------------------------------------- async


def test_async_maps_every_job_to_its_instance_and_polls_each_task_once_per_round(service, client):
    wanted = ids(250)
    chunks = [wanted[:100], wanted[100:200], wanted[200:]]
    scripts = {}
    for chunk in chunks:
        # Round 1: still running; round 2: done. Jobs listed in another order than submitted.
        scripts["task" + chunk[0]] = [jobs_answer(chunk, status=1), jobs_answer(list(reversed(chunk)))]
    scripts["task" + chunks[2][0]][1]["data"]["jobs"][0].update(status=-1, error_code="CPS.0191", execute_msg="boom")
    serve(service, task_answers=scripts)
    run = commands.CommandRun(wanted, asynchronous=True)
    commands.submit_async(client, run, "getprop")
    commands.wait_for_jobs(client, run, 300)

    assert len(service.calls_to("AsyncInvokeInstance")) == 3
    assert len(task_reads(service)) == 6  # 3 tasks x 2 rounds
    assert run.task_ids == ["task" + chunk[0] for chunk in chunks]
    for instance_id in wanted:
        entry = run.entries[instance_id]
        assert entry["job_id"] == "job-" + instance_id
        assert entry["stdout"] in ("out-" + instance_id, "boom")
    last = chunks[2][-1]  # first in the reversed listing
    assert run.failed_ids == [last]
    assert run.entries[last]["stdout"] == "boom" and run.entries[last]["status_name"] == "failed"
    assert [entry["instance_id"] for entry in run.results] == wanted


def test_async_answer_nested_in_data_data_is_read(service, client):
    serve(service, submit=lambda body: {"error_code": "0", "data": {"data": ok_async(body)["data"]}})
    run = commands.CommandRun(ids(2), asynchronous=True)
    commands.submit_async(client, run, "id")
    assert run.task_ids == ["taski0000"] and run.entries["i0001"]["job_id"] == "job-i0001"


def test_wait_timeout_names_the_pending_instances_in_request_order(service, client):
    wanted = ids(150)
    serve(
        service,
        task_answers={"taski0000": [jobs_answer(wanted[:100], status=1)], "taski0100": [jobs_answer(wanted[100:])]},
    )
    run = commands.CommandRun(wanted, asynchronous=True)
    commands.submit_async(client, run, "sleep 100")
    commands.wait_for_jobs(client, run, 7)
    assert run.pending == wanted[:100]
    assert run.failed_ids == wanted[:100]
    assert "wait_timeout (7s)" in run.entries["i0000"]["error_msg"]
    message = commands.describe_failures(run)
    assert message.startswith("100 of 150 instances were still running when wait_timeout expired: i0000, i0001")
    assert "(tasks taski0000)" in message
    # The finished task is not polled again once done; the running one is, until wait_timeout.
    assert len(task_reads(service, "taski0100")) == 1
    assert len(task_reads(service, "taski0000")) > 2


def followed(service, client, task_answer):
    """Submit to three instances (one task) and wait for it, its reads answered ``task_answer``."""
    serve(service, task_answers={"taski0000": [task_answer]})
    run = commands.CommandRun(ids(3), asynchronous=True)
    commands.submit_async(client, run, "id")
    commands.wait_for_jobs(client, run, 300)
    return run


def test_a_task_that_cannot_be_read_is_given_up_after_repeated_failures(service, client):
    run = followed(service, client, KooPhoneError("busy", operation="ExecuteJob", status=503, error_code="9999"))
    assert len(task_reads(service)) == tasks.MAX_READ_FAILURES
    assert run.failed_ids == ids(3) and not run.pending
    assert "outcome could not be read" in run.entries["i0000"]["error_msg"]
    assert run.changed  # submitted: it may have run


def test_a_task_the_service_does_not_know_is_unknown_at_once_not_done(service, client):
    run = followed(service, client, KooPhoneError("gone", operation="ExecuteJob", error_code="KOOPHONE.API.1323"))
    assert len(task_reads(service)) == 1
    assert run.failed_ids == ids(3) and not run.pending
    assert "KOOPHONE.API.1323" in run.entries["i0000"]["error_code"]


def test_a_lost_async_submission_is_never_resent_and_other_chunks_are_followed(service, client):
    wanted = ids(200)
    serve(service, task_answers={"taski0100": [jobs_answer(wanted[100:])]})
    service.fault("AsyncInvokeInstance", "unanswered")
    run = commands.CommandRun(wanted, asynchronous=True)
    commands.submit_async(client, run, "id")
    commands.wait_for_jobs(client, run, 300)
    assert len(submissions(service)) == 2
    assert run.failed_ids == wanted[:100]
    assert run.entries["i0000"]["job_id"] is None and run.entries["i0000"]["status_name"] == "unknown"
    assert run.entries["i0150"]["status_name"] == "succeeded"


def test_jobs_missing_from_the_submission_answer_are_failures(service, client):
    def answer(body):
        reply = ok_async(body)
        reply["data"]["cmd_jobs"] = reply["data"]["cmd_jobs"][1:]  # drops the last instance's job
        return reply

    serve(service, submit=answer)
    run = commands.CommandRun(ids(3), asynchronous=True)
    commands.submit_async(client, run, "id")
    assert run.failed_ids == ["i0002"]


def test_an_answer_without_a_task_id_cannot_be_followed(service, client):
    serve(service, submit=lambda body: {"error_code": "0", "data": {"cmd_jobs": ok_async(body)["data"]["cmd_jobs"]}})
    run = commands.CommandRun(ids(2), asynchronous=True)
    commands.submit_async(client, run, "id")
    assert run.failed_ids == ids(2) and run.task_ids == []
    assert "without a task_id" in run.entries["i0000"]["error_msg"]


# ---------------------------------------------------------------- the task API on its own


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
    assert commands.task_type(task_id) == kind


def test_task_reader_reads_jobs_with_names_and_reports_unknown_tasks(service, client):
    serve(
        service,
        task_answers={
            "ZGCAone": [
                {"error_code": "0", "data": {"jobs": [{"job_id": "j1", "status": 0}, {"job_id": "j2", "status": 3}]}}
            ],
            "abc": [
                KooPhoneError("no task", status=400, error_code="KOOPHONE.API.1323", error_msg="task does not exist")
            ],
        },
    )
    reader = commands.TaskReader(client, ["ZGCAone", "abc"])
    assert reader.read() is False
    assert [task.task_id for task in reader.poller.unsettled()] == ["ZGCAone"]
    summaries = reader.summaries()
    assert summaries[0]["found"] is True and summaries[0]["done"] is False and summaries[0]["failed_count"] == 1
    assert summaries[1]["found"] is False and summaries[1]["error_code"] == "KOOPHONE.API.1323"
    assert [job["status_name"] for job in reader.jobs()] == ["not_started", "failed"]
    assert [job["job_id"] for job in reader.pending_jobs()] == ["j1"]


def test_task_reader_other_errors_fail(service, client):
    serve(service, task_answers={"abc": [KooPhoneError("denied", status=403, error_code="KOOPHONE.API.6002")]})
    with pytest.raises(KooPhoneError):
        commands.TaskReader(client, ["abc"]).read()


# ---------------------------------------------------------------- with the real client over HTTP


def async_answer(request):
    return (200, {}, ok_async(request["body"], task_id="0" * 32))


@pytest.mark.parametrize("fault", ["drop", "503"])
def test_over_http_a_maybe_applied_submission_is_sent_exactly_once(stub, http_client, fault):
    stub.script = [
        stub.DROP if fault == "drop" else (503, {}, {"error_code": "KOOPHONE.API.9999", "error_msg": "unknown error."})
    ]
    run = commands.CommandRun(ids(3), asynchronous=True)
    commands.submit_async(http_client(), run, "id")
    assert [request["path"] for request in stub.requests] == ["/v1/instances/async-command"]
    assert run.failed_ids == ids(3)
    assert {entry["status_name"] for entry in run.results} == {"unknown"}


def test_over_http_throttling_is_retried_because_nothing_was_applied(stub, http_client):
    stub.script = [(429, {"Retry-After": "0"}, {"error_code": "APIGW.0308", "error_msg": "throttled"}), async_answer]
    run = commands.CommandRun(ids(2), asynchronous=True)
    commands.submit_async(http_client(), run, "id")
    assert len(stub.requests) == 2
    assert stub.requests[1]["body"] == {"command": "id", "instance_ids": ids(2)}
    assert run.failed_ids == [] and run.task_ids == ["0" * 32]


def test_over_http_a_failing_poll_is_repeated(stub, http_client):
    stub.script = [
        async_answer,
        stub.DROP,  # the poll's connection breaks: polls are safe to repeat
        (200, {}, jobs_answer(ids(2))),
    ]
    run = commands.CommandRun(ids(2), asynchronous=True)
    client = http_client()
    commands.submit_async(client, run, "id")
    commands.wait_for_jobs(client, run, 30)
    assert [request["path"] for request in stub.requests] == ["/v1/instances/async-command"] + [
        "/v1/instances/tasks/" + "0" * 32
    ] * 2
    assert run.failed_ids == [] and run.entries["i0001"]["stdout"] == "out-i0001"
    assert json.dumps(run.results)  # plain JSON for Ansible
