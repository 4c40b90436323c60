"""koophone_app: the option checks, and what a run reports, against a scripted service (conftest's
AppService); detection, installing and uninstalling themselves are tested in module_utils/test_apps.py."""

import json

import pytest
import yaml

from ansible_collections.koophone.cloud.plugins.module_utils._errors import InvalidOption
from ansible_collections.koophone.cloud.plugins.modules import koophone_app as module

PKG = "com.example.app"


def params(**overrides):
    base = dict(
        instance_ids=["id00000"],
        name=PKG,
        version="1.0",
        url="https://obs.example.com/apks/app-1.0.apk",
        file_name=None,
        size_mb=12.5,
        md5="d41d8cd98f00b204e9800998ecf8427e",
        fast_install=False,
        state="present",
        force=False,
        wait=True,
        wait_timeout=600,
        detection="auto",
    )
    base.update(overrides)
    return base


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "option,overrides",
    [
        ("instance_ids", {"instance_ids": []}),
        ("instance_ids", {"instance_ids": ["x" * 33]}),
        ("name", {"name": "com.example;reboot"}),
        ("name", {"name": "1com.example"}),
        ("name", {"name": "a" * 101}),
        ("version", {"version": ""}),
        ("version", {"version": "1" * 101}),
        ("url", {"url": "http://obs.example.com/a.apk"}),
        ("url", {"url": "https:///a.apk"}),
        ("url", {"url": "https://obs.example.com/" + "a" * 2000}),
        ("file_name", {"url": "https://obs.example.com/apks/"}),
        ("file_name", {"file_name": "f" * 101}),
        ("size_mb", {"size_mb": 0}),
        ("size_mb", {"size_mb": 2048.5}),
        ("md5", {"md5": " "}),
        ("md5", {"md5": "m" * 201}),
        ("wait_timeout", {"wait_timeout": 0}),
    ],
)
def test_bad_options_name_the_option(option, overrides):
    with pytest.raises(InvalidOption) as caught:
        module.validate(params(**overrides))
    assert caught.value.option == option


def test_absent_needs_only_ids_and_name():
    module.validate(params(state="absent", version=None, url=None, size_mb=None, md5=None))


def test_the_file_name_defaults_to_the_url_s_last_segment():
    p = params(url="https://obs.example.com/apks/My%20App-1.0.apk?Signature=x", size_mb=120.0, fast_install=True)
    module.validate(p)
    assert module.file_name_of(p) == "My App-1.0.apk"
    assert module.file_name_of(params(file_name="given.apk")) == "given.apk"


# ---------------------------------------------------------------- the module's reports


@pytest.fixture
def kp_for(make_client, one_pool_at_a_time, make_kp):
    """``kp_for(service, check_mode=False, **options)``: the module's view of a run against ``service``."""

    def make(service, check_mode=False, **overrides):
        return make_kp(one_pool_at_a_time(make_client(service)), params(**overrides), check_mode)

    return make


def fails(kp, function=module.run):
    """What ``function(kp)`` failed the task with."""
    with pytest.raises(SystemExit):
        function(kp)
    return kp.module.failed


def test_check_mode_reads_but_sends_nothing(apps_on, kp_for):
    service = apps_on({"a": {PKG: "0.9"}, "b": {PKG: "1.0"}})
    kp = kp_for(service, check_mode=True, instance_ids=["a", "b"], force=True)
    result = module.run(kp)
    assert [e["action"] for e in result["results"]] == ["reinstall", "reinstall"]
    assert result["diff"] == {"before": {"a": "0.9", "b": "1.0"}, "after": {"a": "1.0", "b": "1.0"}}
    assert service.operations() == ["ListInstanceApp", "ListInstanceApp"]


def test_force_uninstalls_first_and_reports_a_reinstall(apps_on, kp_for):
    service = apps_on({"a": {PKG: "1.0"}, "b": {}})
    result = module.run(kp_for(service, instance_ids=["a", "b"], force=True))
    assert [e["action"] for e in result["results"]] == ["reinstall", "install"]
    assert [e["job_status_name"] for e in result["results"]] == ["succeeded", "succeeded"]
    assert [b["instance_ids"] for b in service.bodies("SyncInvokeInstance")] == [["a"]]
    assert service.bodies("InstallApp")[0]["instance_id_list"] == ["a", "b"]


def test_a_failed_instance_fails_the_task_naming_it_and_keeps_the_others(apps_on, kp_for):
    service = apps_on({"a": {}, "b": {}})

    def execute_job(call):
        jobs = service.tasks[call.path_params["task_id"]]
        failed = {"job_id": jobs[1]["job_id"], "status": 3, "error_code": "KOOPHONE.API.62021", "error_msg": "x"}
        return {"error_code": "0", "data": {"jobs": [{"job_id": jobs[0]["job_id"], "status": 2}, failed]}}

    service.on("ExecuteJob", execute_job)
    kp = kp_for(service, instance_ids=["a", "b"])
    result = fails(kp)
    assert result["failed_instance_ids"] == ["b"] and result["changed_instance_ids"] == ["a"]
    assert "failed on 1 of 2 instance(s): b:" in result["msg"] and "not enough space" in result["msg"]
    assert result["results"][1]["version"] is None


def test_absent_with_nothing_installed_sends_nothing(apps_on, kp_for):
    service = apps_on({"a": {}})
    result = module.run(kp_for(service, instance_ids=["a", "a"], state="absent"))
    assert result["changed"] is False and len(result["results"]) == 1
    assert service.bodies("SyncInvokeInstance") == []


def test_without_waiting_the_results_carry_the_task_and_job(apps_on, kp_for):
    service = apps_on({"a": {PKG: "0.9"}})
    result = module.run(kp_for(service, instance_ids=["a"], wait=False))
    entry = result["results"][0]
    assert entry["changed"] and entry["task_id"] == result["task_ids"][0] and entry["job_id"]
    assert entry["version"] == "0.9" and "job_status" not in entry  # not followed: still the version before
    assert service.operations().count("ExecuteJob") == 0


def test_an_unanswered_install_fails_those_instances_as_changed_and_maybe_applied(apps_on, kp_for):
    service = apps_on({"a": {}, "b": {}}, install_faults=["5xx"])
    kp = kp_for(service, instance_ids=["a", "b"])
    result = fails(kp)
    assert len(service.bodies("InstallApp")) == 1
    assert result["changed"] is True and result["failed_instance_ids"] == ["a", "b"]
    assert [e["changed"] for e in result["results"]] == [True, True]
    assert [e["maybe_applied"] for e in result["results"]] == [True, True]
    assert "may or may not have been accepted" in result["msg"] and "Re-run" in result["msg"]
    assert kp.result["changed"] is True  # recorded when the answer was lost


def test_instances_without_a_job_in_a_finished_task_are_judged_by_what_is_installed(apps_on, kp_for):
    service = apps_on({"a": {}, "b": {}})
    service.on("ExecuteJob", {"error_code": "0", "data": {"jobs": []}})
    original = service.op_InstallApp

    def install_only_a(call):
        answer = original(call)
        del service.installed["b"][PKG]  # the service installed only a
        return answer

    service.on("InstallApp", install_only_a)
    kp = kp_for(service, instance_ids=["a", "b"])
    result = fails(kp)
    assert result["failed_instance_ids"] == ["b"] and result["changed_instance_ids"] == ["a"]
    assert result["results"][0]["version"] == "1.0"
    assert "finished without a job for this instance" in result["results"][1]["msg"]
    assert "still installing" not in result["msg"]


def test_a_later_error_still_reports_the_accepted_install_and_its_task(apps_on, kp_for):
    service = apps_on({"a": {}, "b": {}})

    def broken(_call):
        raise RuntimeError("the task answer could not be read")

    service.on("ExecuteJob", broken)
    kp = kp_for(service, instance_ids=["a", "b"])
    result = fails(kp, lambda kp: kp.run(module.run))
    assert "Unexpected error" in result["msg"]
    assert result["changed"] is True and result["task_ids"] == ["ZGCA0000"]
    assert result["changed_instance_ids"] == ["a", "b"]


def test_a_later_error_still_reports_the_accepted_uninstall(apps_on, kp_for):
    service = apps_on({"a": {PKG: "1.0"}, "b": {PKG: "1.0"}})
    original = service.op_SyncInvokeInstance

    def broken(_call):
        raise RuntimeError("broken")

    def uninstall_then_break(call):
        answer = original(call)
        if call.body["command"].startswith("pm uninstall"):
            service.on("SyncInvokeInstance", broken)  # the next command breaks the module
        return answer

    service.on("SyncInvokeInstance", uninstall_then_break)
    service.on("InstallApp", broken)
    kp = kp_for(service, instance_ids=["a", "b"], force=True)
    result = fails(kp, lambda kp: kp.run(module.run))
    assert "Unexpected error" in result["msg"]
    assert result["changed"] is True and result["changed_instance_ids"] == ["a", "b"]


def test_url_is_no_log_and_never_echoed(apps_on, kp_for):
    assert module.argument_spec()["url"]["no_log"] is True
    signed = "https://obs.example.com/apks/app-1.0.apk?x-obs-security-token=SECRET&Signature=SIG"
    service = apps_on({"a": {}}, install_faults=["5xx"])
    kp = kp_for(service, instance_ids=["a"], url=signed)
    with pytest.raises(SystemExit):
        kp.run(module.run, validate=module.validate)
    dumped = json.dumps(kp.module.failed)
    assert "SECRET" not in dumped and "SIG" not in dumped


def test_the_examples_run_as_written():
    tasks = yaml.safe_load(module.EXAMPLES)
    registered = dict((task["register"], task) for task in tasks if "register" in task)
    for task in tasks:
        when = task.get("when", "")
        if when.endswith(" is failed"):
            # Without ignore_errors the host stops at the failed task and the check never runs.
            assert registered[when.split()[0]].get("ignore_errors") is True, task["name"]


# ---------------------------------------------------------------- what may have changed


def test_an_unanswered_install_is_maybe_changed_and_a_lost_one_that_shows_up_is_changed(apps_on, kp_for):
    service = apps_on({"a": {}, "b": {}, "c": {}}, install_faults=["5xx"])
    result = fails(kp_for(service, instance_ids=["a", "b"]))
    assert result["maybe_changed_instance_ids"] == ["a", "b"] and result["changed_instance_ids"] == ["a", "b"]
    service.install_faults = ["lost"]
    kp = kp_for(service, instance_ids=["c"])
    result = module.run(kp)
    assert result["changed_instance_ids"] == ["c"] and result["maybe_changed_instance_ids"] == []
    assert kp.result["changed_instance_ids"] == ["c"] and kp.result["maybe_changed_instance_ids"] == []


def test_nothing_sent_is_no_change(apps_on, kp_for):
    service = apps_on({"a": {PKG: "1.0"}})
    kp = kp_for(service, instance_ids=["a"])
    result = module.run(kp)
    assert result["changed"] is False and result["changed_instance_ids"] == [] and result["task_ids"] == []
    assert result["maybe_changed_instance_ids"] == [] and kp.result["changed"] is False
    assert service.bodies("InstallApp") == []


def test_check_mode_records_what_would_change(apps_on, kp_for):
    service = apps_on({"a": {PKG: "1.0"}, "b": {}})
    kp = kp_for(service, check_mode=True, instance_ids=["a", "b"])
    result = module.run(kp)
    assert result["changed_instance_ids"] == ["b"] and kp.result["changed_instance_ids"] == ["b"]
    assert result["changed"] is True and service.bodies("InstallApp") == []
    kp = kp_for(service, check_mode=True, instance_ids=["a", "b"], state="absent")
    assert module.run(kp)["changed_instance_ids"] == ["a"] and kp.result["changed_instance_ids"] == ["a"]
    assert service.bodies("SyncInvokeInstance") == []


def test_a_later_error_still_reports_the_install_whose_answer_was_lost_as_maybe_changed(apps_on, kp_for):
    service = apps_on({"a": {}}, install_faults=["dropped"])
    original = service.op_ListInstanceApp

    def read_once_then_break(call):
        if service.bodies("InstallApp"):
            raise RuntimeError("the re-read broke")
        return original(call)

    service.on("ListInstanceApp", read_once_then_break)
    kp = kp_for(service, instance_ids=["a"])
    result = fails(kp, lambda kp: kp.run(module.run))
    assert "Unexpected error" in result["msg"]
    assert result["changed"] is True and result["maybe_changed_instance_ids"] == ["a"]
    assert result["changed_instance_ids"] == [] and result["task_ids"] == []


def test_an_uninstall_the_phone_refuses_is_not_recorded_as_changed(apps_on, kp_for):
    service = apps_on({"a": {PKG: "1.0"}, "b": {PKG: "1.0"}})
    original = service.shell

    def system_app_on_b(instance_id, command):
        if instance_id == "b" and command.startswith("pm uninstall"):
            return {"status": 2, "execute_msg": "Failure [DELETE_FAILED_INTERNAL_ERROR]"}
        return original(instance_id, command)

    service.shell = system_app_on_b
    kp = kp_for(service, instance_ids=["a", "b"], state="absent")
    result = fails(kp)
    assert result["changed_instance_ids"] == ["a"] and result["failed_instance_ids"] == ["b"]
    assert kp.result["changed_instance_ids"] == ["a"] and kp.result["maybe_changed_instance_ids"] == []
    assert "DELETE_FAILED_INTERNAL_ERROR" in result["results"][1]["msg"]
