"""koophone_command and koophone_task_info: option checks and what a run returns (the commands themselves
are tested in module_utils/test_commands.py)."""

import json

import pytest

from ansible_collections.koophone.cloud.plugins.module_utils import _commands as commands
from ansible_collections.koophone.cloud.plugins.module_utils._errors import InvalidOption
from ansible_collections.koophone.cloud.plugins.modules import koophone_command as module
from ansible_collections.koophone.cloud.plugins.modules import koophone_task_info


def params(**overrides):
    values = dict(
        instance_ids=["a1"],
        command="getprop",
        mode="async",
        wait=True,
        wait_timeout=300,
        fail_on_error=True,
        strip_empty_ends=True,
    )
    values.update(overrides)
    return values


def ids(count):
    return ["i%04d" % n for n in range(count)]


MISSING = ("CPS0005", "Phone not found.")
STOPPED = ("KOOPHONE.API.62010", "Not running.")


def sync_command(output, failing):
    """A sync-command handler: each phone in ``failing`` ({id: (error_code, error_msg)}) fails so, every other
    one answers ``output(id)``."""

    def sync(call):
        results = []
        for i in call.body["instance_ids"]:
            if i in failing:
                code, message = failing[i]
                results.append({"instance_id": i, "status": -1, "error_code": code, "error_msg": message})
            else:
                results.append({"instance_id": i, "status": 2, "execute_msg": output(i)})
        return {"error_code": "0", "data": {"cmd_results": results}}

    return sync


def answer_commands(service, failing=()):
    """sync-command runs everywhere but on ``failing`` (CPS0005); async-command answers one task per chunk."""
    sync = sync_command(lambda i: "out-%s" % i, dict.fromkeys(failing, MISSING))

    def submit(call):
        chunk = call.body["instance_ids"]
        jobs = [{"instance_id": i, "job_id": "job-" + i} for i in chunk]
        return {"error_code": "0", "data": {"task_id": "task" + chunk[0], "cmd_jobs": jobs}}

    service.on("SyncInvokeInstance", sync).on("AsyncInvokeInstance", submit)
    return service


# ---------------------------------------------------------------- validation


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
    "task_id", ["6837531fd3f54550927b930180a706bf", "ZGCAabc-_123", "FULFILL0001", "RM_0123", "something"]
)
def test_task_info_accepts_every_kind_of_task_id(task_id):
    koophone_task_info.validate({"task_ids": [task_id], "wait_timeout": 300})


# ---------------------------------------------------------------- the module


def test_check_mode_sends_nothing_and_reports_a_change(service, client, make_kp):
    result = module.run(make_kp(client, params(instance_ids=ids(3)), check_mode=True))
    assert service.calls == []
    assert result["changed"] is True
    assert {entry["status_name"] for entry in result["results"]} == {"would_run"}
    assert "nothing was sent" in result["msg"]


def test_an_empty_list_is_refused_before_any_request():
    with pytest.raises(InvalidOption, match="instance_ids.*empty"):
        module.validate(params(instance_ids=[]))


def test_the_module_fails_with_every_result_unless_told_to_tolerate_failures(service, client, make_kp):
    answer_commands(service, failing={"i0001"})
    with pytest.raises(SystemExit) as raised:
        module.run(make_kp(client, params(mode="sync", instance_ids=ids(3))))
    failed = raised.value.args[0]
    assert len(failed["results"]) == 3 and failed["failed_instance_ids"] == ["i0001"]
    assert "i0001: Phone not found. (CPS0005)" in failed["msg"]

    tolerated = module.run(make_kp(client, params(mode="sync", instance_ids=ids(3), fail_on_error=False)))
    assert tolerated["changed"] is True and tolerated["failed_instance_ids"] == ["i0001"]


def test_fire_and_forget_returns_the_task_ids_at_once(service, client, make_kp):
    answer_commands(service)
    result = module.run(make_kp(client, params(wait=False, instance_ids=ids(120))))
    assert service.operations() == ["AsyncInvokeInstance", "AsyncInvokeInstance"]
    assert result["task_ids"] == ["taski0000", "taski0100"]
    assert {entry["status_name"] for entry in result["results"]} == {"submitted"}
    assert result["changed"] is True and result["pending_instance_ids"] == []
    assert result["msg"] == "Submitted the command to 120 instances in 2 tasks."


def test_task_info_waits_and_fails_naming_the_jobs_still_running(service, client, make_kp):
    service.on(
        "ExecuteJob",
        {"error_code": "0", "data": {"jobs": [{"job_id": "j1", "status": 1}, {"job_id": "j2", "status": 2}]}},
    )
    kp = make_kp(client, {"task_ids": ["ZGCA1"], "wait": True, "wait_timeout": 30})
    with pytest.raises(SystemExit):
        koophone_task_info.run(kp)
    failed = kp.module.failed
    assert failed["msg"].startswith("1 jobs had not finished when wait_timeout (30s) expired: j1 (task ZGCA1)")
    assert failed["done"] is False and failed["changed"] is False
    read_once = koophone_task_info.run(make_kp(client, {"task_ids": ["ZGCA1"], "wait": False, "wait_timeout": 30}))
    assert read_once["done"] is False and [job["status_name"] for job in read_once["jobs"]] == ["running", "succeeded"]


# ---------------------------------------------------------------- the summary a person reads


def zero():
    return dict.fromkeys(commands.OUTCOMES, 0)


def fleet_of(service, count, stopped=(), missing=(), names=True):
    """sync-command over ``count`` phones i0000...: ``stopped`` answer 62010, ``missing`` CPS0005; batch-query
    lists every phone but the missing ones, named kp-<id>."""

    failing = dict.fromkeys(stopped, STOPPED)
    failing.update(dict.fromkeys(missing, MISSING))  # a phone both missing and stopped is missing
    sync = sync_command(lambda i: i, failing)
    listed = [{"instance_id": i, "instance_name": "kp-" + i} for i in ids(count) if i not in missing]

    def list_instances(call):
        wanted = call.query.get("instance_id")
        items = [item for item in listed if wanted in (None, item["instance_id"])] if names else []
        page_no, size = int(call.query.get("page_no", 1)), int(call.query.get("page_size", 100))
        page = items[(page_no - 1) * size : page_no * size]
        return {
            "error_code": "0",
            "data": {"result": page, "page_no": page_no, "page_size": size, "total_count": len(items)},
        }

    service.on("SyncInvokeInstance", sync).on("ListInstances", list_instances)
    return service


def lookups(service):
    return [call.query.get("instance_id") for call in service.calls_to("ListInstances")]


def test_the_summary_counts_outcomes_and_groups_failures_by_reason_naming_phones(service, client, make_kp):
    stopped, missing = ["i0003", "i0007", "i0011"], ["i0020", "i0021"]
    fleet_of(service, 30, stopped=stopped, missing=missing)
    result = module.run(make_kp(client, params(mode="sync", instance_ids=ids(30), fail_on_error=False)))

    summary = result["summary"]
    assert summary["total"] == 30
    assert summary["counts"]["succeeded"] == 25 and summary["counts"]["failed"] == 5
    assert sum(summary["counts"].values()) == 30
    not_running, not_found = summary["failures"]
    assert not_running["reason"] == "Not running. (KOOPHONE.API.62010)" and not_running["count"] == 3
    assert not_running["error_code"] == "KOOPHONE.API.62010"
    assert not_running["instances"] == [{"instance_id": i, "instance_name": "kp-" + i} for i in stopped]
    # The service said these do not exist: no name to look up, ids only.
    assert not_found["instances"] == [{"instance_id": i, "instance_name": None} for i in missing]
    # One filtered batch-query per named phone that exists (three, so no listing of the whole fleet).
    assert sorted(lookups(service)) == stopped

    assert "kp-i0003 (i0003), kp-i0007 (i0007), kp-i0011 (i0011): Not running. (KOOPHONE.API.62010)" in result["msg"]
    assert "i0020, i0021: Phone not found. (CPS0005)" in result["msg"]
    lines = commands.render_summary(summary, elapsed=4.25)
    assert lines == [
        "30 phones in 4.2 s: 25 succeeded, 5 failed",
        "  3 x Not running. (KOOPHONE.API.62010): kp-i0003 (i0003), kp-i0007 (i0007), kp-i0011 (i0011)",
        "  2 x Phone not found. (CPS0005): i0020, i0021",
    ]


def test_names_are_read_only_when_something_failed(service, client, make_kp):
    fleet_of(service, 250)
    result = module.run(make_kp(client, params(mode="sync", instance_ids=ids(250))))
    assert lookups(service) == []
    assert result["summary"] == {"total": 250, "counts": dict(zero(), succeeded=250), "failures": []}
    assert result["results_by_instance_id"]["i0249"] == result["results"][249]
    assert list(result["results_by_instance_id"]) == ids(250)


def test_many_failed_phones_are_named_from_one_listing_and_the_lists_are_capped(service, client, make_kp):
    stopped = ids(300)[::2]  # 150 stopped phones
    fleet_of(service, 300, stopped=stopped)
    with pytest.raises(SystemExit) as raised:
        module.run(make_kp(client, params(mode="sync", instance_ids=ids(300))))
    failed = raised.value.args[0]
    # More than 10 to name: one listing of the fleet (3 pages) instead of one request per phone.
    assert lookups(service) == [None, None, None]
    (group,) = failed["summary"]["failures"]
    assert group["count"] == 150 and len(group["instances"]) == commands.MAX_NAMED
    assert group["instances"][0] == {"instance_id": "i0000", "instance_name": "kp-i0000"}
    assert "and 130 more: Not running." in failed["msg"]
    first, line = commands.render_summary(failed["summary"])
    assert first == "300 phones: 150 succeeded, 150 failed"
    assert line.startswith("  150 x Not running. (KOOPHONE.API.62010): kp-i0000 (i0000), kp-i0002 (i0002)")
    assert line.endswith("kp-i0018 (i0018) and 140 more")  # 10 named per reason on screen


def test_a_failed_name_lookup_leaves_the_ids_and_changes_nothing_else(service, client, make_kp):
    fleet_of(service, 5, stopped=["i0001"])
    service.on("ListInstances", {"error_code": "KOOPHONE.API.1001", "error_msg": "no permission"})
    result = module.run(make_kp(client, params(mode="sync", instance_ids=ids(5), fail_on_error=False)))
    assert result["failed_instance_ids"] == ["i0001"]
    assert result["summary"]["failures"][0]["instances"] == [{"instance_id": "i0001", "instance_name": None}]
    assert "i0001: Not running. (KOOPHONE.API.62010)" in result["msg"]


def test_the_summary_names_at_most_ten_reasons_and_counts_the_rest():
    run = commands.CommandRun(ids(24), asynchronous=False)
    for number, instance_id in enumerate(ids(24)):
        run.record(instance_id, {"status": -1, "error_code": "E%02d" % (number // 2), "error_msg": "broken"})
    summary = commands.summarize(run)
    assert [group["count"] for group in summary["failures"]] == [2] * 12
    lines = commands.render_summary(summary)
    assert lines[0] == "24 phones: 24 failed"
    assert len(lines) == 1 + 10 + 1
    assert lines[-1] == "  and 4 more phones for 2 other reasons"


def test_phones_still_running_at_wait_timeout_are_their_own_outcome(service, client, make_kp):
    answer_commands(service)
    service.on(
        "ExecuteJob",
        lambda call: {
            "error_code": "0",
            "data": {
                "jobs": [{"job_id": "job-i%04d" % n, "status": 1 if n < 3 else 2, "execute_msg": "x"} for n in range(5)]
            },
        },
    )
    service.on(
        "ListInstances", {"error_code": "0", "data": {"result": [], "page_no": 1, "page_size": 100, "total_count": 0}}
    )
    kp = make_kp(client, params(instance_ids=ids(5), wait_timeout=5, fail_on_error=False))
    result = module.run(kp)
    assert result["pending_instance_ids"] == ids(3)
    counts = result["summary"]["counts"]
    assert counts["timed_out"] == 3 and counts["succeeded"] == 2
    (group,) = result["summary"]["failures"]
    assert group["reason"] == commands.TIMED_OUT_REASON and group["count"] == 3 and group["error_code"] == ""
    assert commands.render_summary(result["summary"])[0] == "5 phones: 2 succeeded, 3 still running at wait_timeout"
    assert result["msg"].startswith("3 of 5 instances were still running when wait_timeout expired")


# ---------------------------------------------------------------- progress while it runs


def private_file(tmp_path, mode=0o600):
    path = tmp_path / "progress.jsonl"
    path.write_bytes(b"")
    path.chmod(mode)
    return path


def snapshots(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_the_module_writes_progress_snapshots_with_counts_only(service, client, make_kp, tmp_path, monkeypatch):
    path = private_file(tmp_path)
    monkeypatch.setenv(commands.PROGRESS_ENV, str(path))
    answer_commands(service, failing={"i0007"})
    reads = {"n": 0}

    def read_task(call):
        reads["n"] += 1
        task_id = call.path_params["task_id"]
        first = int(task_id[len("taski") :])
        jobs = [
            {"job_id": "job-i%04d" % n, "status": 2 if reads["n"] > 3 else 1, "execute_msg": "secret-output-%d" % n}
            for n in range(first, min(first + 100, 250))
        ]
        return {"error_code": "0", "data": {"jobs": jobs}}

    service.on("ExecuteJob", read_task)
    result = module.run(make_kp(client, params(instance_ids=ids(250), command="getprop ro.serialno")))
    assert result["summary"]["counts"]["succeeded"] == 250

    written = snapshots(path)
    phases = [snapshot["phase"] for snapshot in written]
    assert phases[0] == "started" and phases[-1] == "done"
    assert "answered" in phases and "waiting" in phases
    assert all(snapshot["phones"] == 250 and snapshot["chunks"] == 3 for snapshot in written)
    assert written[-1]["sent"] == 3 and written[-1]["counts"]["succeeded"] == 250
    waiting = [snapshot for snapshot in written if snapshot["phase"] == "waiting"]
    assert waiting[0]["counts"]["running"] == 250 and waiting[-1]["counts"]["succeeded"] == 250
    text = path.read_text()
    for secret in ("token-under-test", "getprop", "i0001", "secret-output", "job-", "task"):
        assert secret not in text
    assert set(written[0]) == {"phase", "elapsed", "phones", "chunks", "sent", "counts"}


@pytest.mark.parametrize("how", ["group-readable", "absent", "directory", "empty"])
def test_a_progress_file_that_is_not_private_is_never_written(service, client, make_kp, tmp_path, monkeypatch, how):
    target = {
        "group-readable": lambda: private_file(tmp_path, 0o640),
        "absent": lambda: tmp_path / "nothing-here",
        "directory": lambda: tmp_path,
        "empty": lambda: "",
    }[how]()
    monkeypatch.setenv(commands.PROGRESS_ENV, str(target))
    answer_commands(service)
    result = module.run(make_kp(client, params(mode="sync", instance_ids=ids(3))))
    assert result["failed_instance_ids"] == []
    if how == "group-readable":
        assert target.read_bytes() == b""
    if how == "absent":
        assert not target.exists()


def test_progress_lines_read_as_a_person_expects():
    counts = dict(zero(), succeeded=412, failed=3, running=585)
    snapshot = {"phase": "waiting", "elapsed": 2.14, "phones": 1000, "chunks": 10, "sent": 10, "counts": counts}
    assert commands.describe_progress(snapshot) == (
        "1000 phones: 10 of 10 chunks submitted; jobs: 415 done (412 succeeded, 3 failed), 585 pending (2.1 s)"
    )
    started = dict(snapshot, phase="started", sent=4, counts=dict(zero(), would_run=1000))
    assert commands.describe_progress(started) == "1000 phones: 4 of 10 chunks submitted (2.1 s)"
    assert commands.describe_progress(started, asynchronous=False) == "1000 phones: 4 of 10 chunks sent (2.1 s)"
    nothing_yet = dict(snapshot, phase="answered", counts=dict(zero(), submitted=1000))
    assert commands.describe_progress(nothing_yet) == (
        "1000 phones: 10 of 10 chunks submitted; jobs: 0 done, 1000 pending (2.1 s)"
    )
    synced = dict(snapshot, phase="answered", counts=dict(zero(), succeeded=998, failed=2))
    assert commands.describe_progress(synced, asynchronous=False) == (
        "1000 phones: 10 of 10 chunks answered: 998 succeeded, 2 failed (2.1 s)"
    )


def test_read_progress_keeps_an_unfinished_line_for_later():
    found, tail = commands.read_progress(b'{"phase": "started"}\nnot json\n{"phase": "wai')
    assert found == [{"phase": "started"}] and tail == b'{"phase": "wai'
    found, tail = commands.read_progress(tail + b'ting"}\n')
    assert found == [{"phase": "waiting"}] and tail == b""
