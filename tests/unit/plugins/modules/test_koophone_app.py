"""koophone_app's decisions with a scripted service: validation, detection, chunking, lost answers, 62005, reports."""

import json

import fake_kp
import pytest
import yaml

from ansible_collections.koophone.cloud.plugins.module_utils import _apps as apps
from ansible_collections.koophone.cloud.plugins.module_utils._client import ChunkResult
from ansible_collections.koophone.cloud.plugins.module_utils._errors import InvalidOption, KooPhoneError
from ansible_collections.koophone.cloud.plugins.modules import koophone_app as module

PKG = "com.example.app"


class FakeService:
    """Installed apps per instance, and the operations koophone_app uses.

    ``install_faults``: what each InstallApp call does before (or instead of) answering:
    "lost" (applied, then the answer is lost), "5xx" (not applied, maybe_applied error),
    "lost-late" (applied, the answer lost, and each instance shows the app only from its second
    app-list read on, like an install that takes a while), "62005", None (normal).

    ``map_concurrently`` refuses to be nested (the real one would start a pool inside a pool), and
    ``poll`` reads up to POLL_ROUNDS times (time passing), so waiting is seen without sleeping.
    """

    POLL_ROUNDS = 5

    def __init__(self, installed=None, app_list=True, install_faults=(), command_faults=()):
        self.installed = dict((i, dict(pkgs)) for i, pkgs in (installed or {}).items())
        self.app_list = app_list
        self.install_faults = list(install_faults)
        self.command_faults = list(command_faults)
        self.calls = []
        self.late = {}  # instance_id -> (package, version, app-list reads left before it shows)
        self.tasks = {}
        self.polls = 0
        self.depth = 0

    # -- the client interface koophone_app uses

    def call(self, operation_name, path_params=None, query=None, body=None):
        self.calls.append((operation_name, body, path_params))
        return getattr(self, "op_" + operation_name)(body, path_params)

    def call_batched(self, operation_name, ids, make_body, chunk_size=None):
        results = []
        for start in range(0, len(ids), 100):
            chunk = list(ids[start : start + 100])
            try:
                results.append(ChunkResult(chunk, self.call(operation_name, body=make_body(chunk)), None))
            except KooPhoneError as error:
                results.append(ChunkResult(chunk, None, error))
        return results

    def list_all(self, operation_name, query=None, page_size=100, path_params=None, key=None):
        self.calls.append((operation_name, None, path_params))
        instance_id = path_params["instance_id"]
        if instance_id in self.late:
            package, version, reads = self.late[instance_id]
            if reads:
                self.late[instance_id] = (package, version, reads - 1)
            else:
                del self.late[instance_id]
                self.installed[instance_id][package] = version
        if not self.app_list:
            raise KooPhoneError("no such API", operation=operation_name, status=404, error_code="APIGW.0101")
        if instance_id not in self.installed:
            raise KooPhoneError("no permission", operation=operation_name, status=400, error_code="KOOPHONE.API.1001")
        return [{"app_pkg": p, "app_version": v} for p, v in sorted(self.installed[instance_id].items())]

    def map_concurrently(self, function, items):
        assert self.depth == 0, "map_concurrently inside map_concurrently: up to concurrency² requests in flight"
        self.depth += 1
        try:
            outcomes = []
            for item in items:
                try:
                    outcomes.append((function(item), None))
                except KooPhoneError as error:
                    outcomes.append((None, error))
            return outcomes
        finally:
            self.depth -= 1

    def poll(self, read, is_done, wait_timeout, interval=1.0, max_interval=5.0):
        self.polls += 1
        for _round in range(self.POLL_ROUNDS):
            value = read()
            if is_done(value):
                return True, value
        return False, value

    # -- operations

    def op_InstallApp(self, body, _path):
        fault = self.install_faults.pop(0) if self.install_faults else None
        ids = body["instance_id_list"]
        if fault == "5xx":
            raise KooPhoneError("bad gateway", operation="InstallApp", status=502, maybe_applied=True)
        if fault == "62005" or any(
            self.installed.get(i, {}).get(body["object_name"]) == body["object_version"] for i in ids
        ):
            raise KooPhoneError("exists", operation="InstallApp", status=400, error_code="KOOPHONE.API.62005")
        task_id = "ZGCA%04d" % len(self.tasks)
        jobs = [{"instance_id": i, "job_id": "%s-%s" % (task_id, i)} for i in ids]
        self.tasks[task_id] = jobs
        if fault == "lost-late":
            self.late.update((i, (body["object_name"], body["object_version"], 1)) for i in ids)
        else:
            for instance_id in ids:
                self.installed[instance_id][body["object_name"]] = body["object_version"]
        if fault in ("lost", "lost-late"):
            raise KooPhoneError("connection broke", operation="InstallApp", maybe_applied=True)
        return {"error_code": "0", "data": {"task_id": task_id, "cmd_jobs": jobs}}

    def op_ExecuteJob(self, _body, path):
        jobs = self.tasks[path["task_id"]]
        return {
            "error_code": "0",
            "data": {"jobs": [{"job_id": j["job_id"], "status": 2, "execute_msg": "Success"} for j in jobs]},
        }

    def op_SyncInvokeInstance(self, body, _path):
        fault = self.command_faults.pop(0) if self.command_faults else None
        command = body["command"]
        results = []
        for instance_id in body["instance_ids"]:
            results.append(dict(self.shell(instance_id, command), instance_id=instance_id))
        if fault == "lost":
            raise KooPhoneError("connection broke", operation="SyncInvokeInstance", maybe_applied=True)
        return {"error_code": "0", "data": {"cmd_results": results}}

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

    def sent(self, operation_name):
        return [body for name, body, _path in self.calls if name == operation_name]


def fleet(count, **installed):
    ids = ["id%05d" % n for n in range(count)]
    return ids, dict((i, dict(installed)) for i in ids)


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


def test_defaults_and_body():
    p = params(url="https://obs.example.com/apks/My%20App-1.0.apk?Signature=x", size_mb=120.0, fast_install=True)
    module.validate(p)
    assert module.file_name_of(p) == "My App-1.0.apk"
    body = apps.install_body(p, module.file_name_of(p), ["a", "b"])
    assert body["object_size"] == "120" and body["fast_install"] == "1"  # strings, as the schema says
    assert body["biz_type"] == "apk" and body["content_type"] == "application/octet-stream"
    assert apps.size_text(35.5) == "35.5"


# ---------------------------------------------------------------- answers and errors


def test_both_install_answer_shapes():
    jobs = [{"instance_id": "a", "job_id": "j1"}]
    flat = {"error_code": "0", "data": {"task_id": "ZGCA1", "cmd_jobs": jobs}}
    nested = {"error_code": "0", "data": {"data": {"task_id": "ZGCA1", "cmd_jobs": jobs}}}
    assert apps.task_of(flat) == apps.task_of(nested) == ("ZGCA1", {"a": "j1"})
    assert apps.task_of({"error_code": "0"}) == (None, {})


def test_failures_read_well():
    entry = apps.failure("KOOPHONE.API.62017", "Download failed, please check the install_package_url.", "task Z")
    assert entry["msg"].startswith("task Z: the download failed; check url")
    assert entry["msg"].endswith("[KOOPHONE.API.62017]")
    assert apps.failure("CPS0005", "Phone not found.")["msg"] == "Phone not found. [CPS0005]"
    assert apps.code_number("KOOPHONE.API.62005") == "62005" and apps.code_number("APIGW.0101") == "APIGW.0101"


# ---------------------------------------------------------------- detection


def test_app_list_detection():
    service = FakeService({"a": {PKG: "1.0"}, "b": {}, "c": {"other": "9"}})
    versions, failures = apps.InstalledApps(service, PKG).read(["a", "b", "c", "gone"])
    assert versions == {"a": "1.0", "b": None, "c": None}
    assert list(failures) == ["gone"] and "KOOPHONE.API.1001" in failures["gone"]["msg"]


def test_falls_back_to_commands_where_the_service_has_no_app_list():
    service = FakeService({"a": {PKG: "1.0"}, "b": {PKG + ".plugin": "2"}}, app_list=False)
    installed = apps.InstalledApps(service, PKG)
    versions, failures = installed.read(["a", "b", "gone"])
    assert installed.source == "command"
    assert versions == {"a": "1.0", "b": None} and list(failures) == ["gone"]
    commands = [body["command"] for body in service.sent("SyncInvokeInstance")]
    assert commands == ["pm list packages %s" % PKG, "dumpsys package %s | grep versionName" % PKG]
    assert service.sent("SyncInvokeInstance")[1]["instance_ids"] == ["a"]  # the version only where it is there
    # Decided once: the next read goes straight to the commands.
    installed.read(["a"])
    assert len([c for c in service.calls if c[0] == "ListInstanceApp"]) == 1


def test_a_lost_read_command_is_sent_again():
    service = FakeService({"a": {PKG: "1.0"}}, command_faults=["lost"])
    versions, failures = apps.InstalledApps(service, PKG, "command").read(["a"])
    assert versions == {"a": "1.0"} and failures == {}


# ---------------------------------------------------------------- installing


def installer(service, **overrides):
    p = params(**overrides)
    return apps.Installer(service, apps.InstalledApps(service, PKG), p, "app.apk")


def test_250_instances_go_in_three_chunks():
    ids, installed = fleet(250)
    service = FakeService(installed)
    work = installer(service)
    work.install(ids)
    assert [len(body["instance_id_list"]) for body in service.sent("InstallApp")] == [100, 100, 50]
    assert len(work.submitted) == 250 and len(work.task_ids) == 3


def test_a_lost_answer_that_was_applied_is_not_sent_again():
    ids, installed = fleet(3)
    service = FakeService(installed, install_faults=["lost"])
    work = installer(service)
    work.install(ids)
    work.confirm_lost(600)
    assert len(service.sent("InstallApp")) == 1
    assert work.confirmed == dict((i, True) for i in ids) and work.failures == {}


def test_an_unanswered_request_is_never_sent_again_after_re_reading():
    # A 502 to app/install may or may not have been applied: re-read (poll), never send it again.
    ids, installed = fleet(3)
    service = FakeService(installed, install_faults=["5xx"])
    work = installer(service)
    work.install(ids)
    work.confirm_lost(600)
    assert len(service.sent("InstallApp")) == 1
    assert service.polls == 1  # polled the installed apps (wait_timeout), then gave up
    assert work.submitted == {} and work.confirmed == {} and sorted(work.failures) == ids
    problem = work.failures["id00000"]
    assert problem["maybe_applied"] is True
    assert "may or may not have been accepted" in problem["msg"] and "Re-run to retry" in problem["msg"]
    assert "not sent again" in problem["msg"]


def test_a_lost_install_that_shows_up_late_is_found_by_polling_not_by_sending_again():
    ids, installed = fleet(2)
    service = FakeService(installed, install_faults=["lost-late"])
    work = installer(service)
    work.install(ids)
    work.confirm_lost(600)
    assert len(service.sent("InstallApp")) == 1
    assert work.confirmed == {"id00000": True, "id00001": True} and work.failures == {}


def test_without_waiting_a_lost_answer_is_read_once():
    ids, installed = fleet(2)
    service = FakeService(installed, install_faults=["lost-late"])
    work = installer(service, wait=False)
    work.install(ids)
    work.confirm_lost(0)
    assert service.polls == 0 and len(service.sent("InstallApp")) == 1
    assert sorted(work.failures) == ids and "when read again" in work.failures["id00000"]["msg"]


def test_62005_for_an_app_someone_else_installed_is_not_our_change():
    ids, installed = fleet(2)
    installed["id00001"][PKG] = "1.0"  # installed behind our back, after our read
    service = FakeService(installed)
    work = installer(service)
    work.install(ids)
    assert work.confirmed == {"id00001": False}
    assert list(work.submitted) == ["id00000"]  # the rest of the chunk was sent again


def test_62005_that_re_reading_cannot_explain_fails_the_chunk():
    ids, installed = fleet(2)
    service = FakeService(installed, install_faults=["62005"])
    work = installer(service)
    work.install(ids)
    assert sorted(work.failures) == ids and len(service.sent("InstallApp")) == 1
    assert "already exists" in work.failures["id00000"]["msg"]


def test_reads_never_run_inside_the_install_chunks():
    # 250 instances, every chunk's answer lost: the re-reads run after the sends, one pool at a time.
    ids, installed = fleet(250)
    installed["id00201"][PKG] = "1.0"  # explains the 62005 of the third chunk
    service = FakeService(installed, install_faults=["lost", "5xx", "62005"])
    work = installer(service)
    work.install(ids)
    work.confirm_lost(600)
    assert sorted(work.confirmed) == ids[:100] + ["id00201"]
    assert [len(body["instance_id_list"]) for body in service.sent("InstallApp")] == [100, 100, 50, 49]
    assert sorted(i for i, f in work.failures.items() if f.get("maybe_applied")) == ids[100:200]


# ---------------------------------------------------------------- uninstalling


def test_a_lost_uninstall_is_re_read_not_repeated():
    service = FakeService({"a": {PKG: "1.0"}, "b": {PKG: "1.0"}}, command_faults=["lost"])
    removed, failures = apps.uninstall(service, apps.InstalledApps(service, PKG), ["a", "b"])
    assert removed == {"a": True, "b": True} and failures == {}
    assert len([b for b in service.sent("SyncInvokeInstance") if b["command"].startswith("pm uninstall")]) == 1


def test_a_refused_uninstall_is_a_failure():
    service = FakeService({"a": {}})
    removed, failures = apps.uninstall(service, apps.InstalledApps(service, PKG), ["a"])
    assert removed == {} and "DELETE_FAILED_INTERNAL_ERROR" in failures["a"]["msg"]


# ---------------------------------------------------------------- task watching


def test_the_watcher_reads_until_jobs_finish_and_drops_unknown_tasks():
    service = FakeService({})
    service.tasks["ZGCA1"] = [{"instance_id": "a", "job_id": "j1"}]

    def execute_job(_body, path):
        if path["task_id"] == "ZGCA2":
            raise KooPhoneError("no task", operation="ExecuteJob", status=400, error_code="KOOPHONE.API.1323")
        return {
            "error_code": "0",
            "data": {"jobs": [{"job_id": "j1", "status": 3, "error_code": "KOOPHONE.API.62021"}]},
        }

    service.op_ExecuteJob = execute_job
    watcher = apps.TaskWatcher(service, ["ZGCA1", "ZGCA2"])
    assert watcher.wait(10) == []
    assert list(watcher.gone) == ["ZGCA2"] and watcher.jobs["j1"]["status"] == 3
    assert apps.job_view(watcher.jobs["j1"])["job_status_name"] == "failed"


def _no_jobs(_body, _path):
    return {"error_code": "0", "data": {"jobs": []}}


def test_a_task_without_jobs_is_finished_at_once():
    service = FakeService({})
    service.op_ExecuteJob = _no_jobs
    watcher = apps.TaskWatcher(service, ["ZGCA1"])
    assert watcher.wait(600) == []
    assert len([c for c in service.calls if c[0] == "ExecuteJob"]) == 1


# ---------------------------------------------------------------- the module's reports


class FakeKp(fake_kp.FakeKp):
    def __init__(self, service, check_mode=False, **overrides):
        super().__init__(service, params(**overrides), check_mode)


def test_check_mode_reads_but_sends_nothing():
    service = FakeService({"a": {PKG: "0.9"}, "b": {PKG: "1.0"}})
    kp = FakeKp(service, check_mode=True, instance_ids=["a", "b"], force=True)
    result = module.run(kp)
    assert [e["action"] for e in result["results"]] == ["reinstall", "reinstall"]
    assert result["diff"] == {"before": {"a": "0.9", "b": "1.0"}, "after": {"a": "1.0", "b": "1.0"}}
    assert [c[0] for c in service.calls] == ["ListInstanceApp", "ListInstanceApp"]


def test_force_uninstalls_first_and_reports_a_reinstall():
    service = FakeService({"a": {PKG: "1.0"}, "b": {}})
    result = module.run(FakeKp(service, instance_ids=["a", "b"], force=True))
    assert [e["action"] for e in result["results"]] == ["reinstall", "install"]
    assert [e["job_status_name"] for e in result["results"]] == ["succeeded", "succeeded"]
    assert [b["instance_ids"] for b in service.sent("SyncInvokeInstance")] == [["a"]]
    assert service.sent("InstallApp")[0]["instance_id_list"] == ["a", "b"]


def test_a_failed_instance_fails_the_task_naming_it_and_keeps_the_others():
    service = FakeService({"a": {}, "b": {}})

    def execute_job(_body, path):
        jobs = service.tasks[path["task_id"]]
        failed = {"job_id": jobs[1]["job_id"], "status": 3, "error_code": "KOOPHONE.API.62021", "error_msg": "x"}
        return {"error_code": "0", "data": {"jobs": [{"job_id": jobs[0]["job_id"], "status": 2}, failed]}}

    service.op_ExecuteJob = execute_job
    kp = FakeKp(service, instance_ids=["a", "b"])
    with pytest.raises(fake_kp.ModuleExit):
        module.run(kp)
    result = kp.module.failed
    assert result["failed_instance_ids"] == ["b"] and result["changed_instance_ids"] == ["a"]
    assert "failed on 1 of 2 instance(s): b:" in result["msg"] and "not enough space" in result["msg"]
    assert result["results"][1]["version"] is None


def test_absent_with_nothing_installed_sends_nothing():
    service = FakeService({"a": {}})
    result = module.run(FakeKp(service, instance_ids=["a", "a"], state="absent"))
    assert result["changed"] is False and len(result["results"]) == 1
    assert service.sent("SyncInvokeInstance") == []


def test_without_waiting_the_results_carry_the_task_and_job():
    service = FakeService({"a": {PKG: "0.9"}})
    result = module.run(FakeKp(service, instance_ids=["a"], wait=False))
    entry = result["results"][0]
    assert entry["changed"] and entry["task_id"] == result["task_ids"][0] and entry["job_id"]
    assert entry["version"] == "0.9" and "job_status" not in entry  # not followed: still the version before
    assert [c[0] for c in service.calls].count("ExecuteJob") == 0


def test_an_unanswered_install_fails_those_instances_as_changed_and_maybe_applied():
    service = FakeService({"a": {}, "b": {}}, install_faults=["5xx"])
    kp = FakeKp(service, instance_ids=["a", "b"])
    with pytest.raises(fake_kp.ModuleExit):
        module.run(kp)
    result = kp.module.failed
    assert len(service.sent("InstallApp")) == 1
    assert result["changed"] is True and result["failed_instance_ids"] == ["a", "b"]
    assert [e["changed"] for e in result["results"]] == [True, True]
    assert [e["maybe_applied"] for e in result["results"]] == [True, True]
    assert "may or may not have been accepted" in result["msg"] and "Re-run" in result["msg"]
    assert kp.result["changed"] is True  # recorded when the answer was lost


def test_instances_without_a_job_in_a_finished_task_are_judged_by_what_is_installed():
    service = FakeService({"a": {}, "b": {}})
    service.op_ExecuteJob = _no_jobs
    original = service.op_InstallApp

    def install_only_a(body, path):
        answer = original(body, path)
        del service.installed["b"][PKG]  # the service installed only a
        return answer

    service.op_InstallApp = install_only_a
    kp = FakeKp(service, instance_ids=["a", "b"])
    with pytest.raises(fake_kp.ModuleExit):
        module.run(kp)
    result = kp.module.failed
    assert result["failed_instance_ids"] == ["b"] and result["changed_instance_ids"] == ["a"]
    assert result["results"][0]["version"] == "1.0"
    assert "finished without a job for this instance" in result["results"][1]["msg"]
    assert "still installing" not in result["msg"]


def test_a_later_error_still_reports_the_accepted_install_and_its_task():
    service = FakeService({"a": {}, "b": {}})

    def broken(_body, _path):
        raise RuntimeError("the task answer could not be read")

    service.op_ExecuteJob = broken
    kp = FakeKp(service, instance_ids=["a", "b"])
    with pytest.raises(fake_kp.ModuleExit):
        kp.run(module.run)
    result = kp.module.failed
    assert "Unexpected error" in result["msg"]
    assert result["changed"] is True and result["task_ids"] == ["ZGCA0000"]
    assert result["changed_instance_ids"] == ["a", "b"]


def test_a_later_error_still_reports_the_accepted_uninstall():
    service = FakeService({"a": {PKG: "1.0"}, "b": {PKG: "1.0"}})
    original = service.op_SyncInvokeInstance

    def uninstall_then_break(body, path):
        answer = original(body, path)
        if body["command"].startswith("pm uninstall"):
            service.op_SyncInvokeInstance = None  # the next command breaks the module
        return answer

    service.op_SyncInvokeInstance = uninstall_then_break
    service.op_InstallApp = None
    kp = FakeKp(service, instance_ids=["a", "b"], force=True)
    with pytest.raises(fake_kp.ModuleExit):
        kp.run(module.run)
    result = kp.module.failed
    assert "Unexpected error" in result["msg"]
    assert result["changed"] is True and result["changed_instance_ids"] == ["a", "b"]


def test_url_is_no_log_and_never_echoed():
    assert module.argument_spec()["url"]["no_log"] is True
    signed = "https://obs.example.com/apks/app-1.0.apk?x-obs-security-token=SECRET&Signature=SIG"
    service = FakeService({"a": {}}, install_faults=["5xx"])
    kp = FakeKp(service, instance_ids=["a"], url=signed)
    with pytest.raises(fake_kp.ModuleExit):
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
