"""_apps: option checks, answers and errors, detection of installed versions, installing (chunks, lost
answers, 62005) and uninstalling, against a scripted service (conftest's AppService)."""

import pytest

from ansible_collections.koophone.cloud.plugins.module_utils import _apps as apps
from ansible_collections.koophone.cloud.plugins.module_utils import _changes as changes
from ansible_collections.koophone.cloud.plugins.module_utils import _validation as validation
from ansible_collections.koophone.cloud.plugins.module_utils._errors import InvalidOption, KooPhoneError

PKG = "com.example.app"
INSTALL = dict(
    name=PKG,
    version="1.0",
    url="https://obs.example.com/apks/app-1.0.apk",
    size_mb=12.5,
    md5="d41d8cd98f00b204e9800998ecf8427e",
    fast_install=False,
)


def fleet_of(count, **installed):
    ids = ["id%05d" % n for n in range(count)]
    return ids, dict((i, dict(installed)) for i in ids)


@pytest.fixture
def connect(make_client, one_pool_at_a_time):
    return lambda service: one_pool_at_a_time(make_client(service))


def app_list_reads(service, instance_id=None):
    return [c for c in service.calls_to("ListInstanceApp") if instance_id in (None, c.path_params["instance_id"])]


# ---------------------------------------------------------------- option checks


@pytest.mark.parametrize(
    "check,args,option",
    [
        (apps.check_package, ("name", "com.example;reboot"), "name"),
        (apps.check_package, ("name", "1com.example"), "name"),
        (apps.check_package, ("name", "a" * 101), "name"),
        (apps.check_text, ("version", "", 100), "version"),
        (apps.check_text, ("version", "1" * 101, 100), "version"),
        (apps.check_url, ("url", "http://obs.example.com/a.apk"), "url"),
        (apps.check_url, ("url", "https:///a.apk"), "url"),
        (apps.check_size, ("size_mb", 0), "size_mb"),
        (apps.check_size, ("size_mb", 2048.5), "size_mb"),
    ],
)
def test_checks_name_the_option(check, args, option):
    with pytest.raises(InvalidOption) as caught:
        check(*args)
    assert caught.value.option == option


def test_good_values_pass():
    assert apps.check_package("name", "com.example.app_2") == "com.example.app_2"
    assert apps.check_size("size_mb", 2048) == 2048
    assert apps.check_url("url", INSTALL["url"]) == INSTALL["url"]


def test_the_request_body():
    url = "https://obs.example.com/apks/My%20App-1.0.apk?Signature=x"
    assert apps.default_file_name(url) == "My App-1.0.apk"
    body = apps.install_body(dict(INSTALL, url=url, size_mb=120.0, fast_install=True), "My App-1.0.apk", ["a", "b"])
    assert body["object_size"] == "120" and body["fast_install"] == "1"  # strings, as the schema says
    assert body["biz_type"] == "apk" and body["content_type"] == "application/octet-stream"
    assert body["file_name"] == "My App-1.0.apk" and body["instance_id_list"] == ["a", "b"]
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


def test_a_whole_request_failure_keeps_operation_status_and_request_id():
    error = KooPhoneError(
        "refused", operation="InstallApp", status=400, error_code="KOOPHONE.API.62015", request_id="rid-9"
    )
    entry = apps.failure_of(error, "app/install")
    assert "larger than the 2 GB limit" in entry["msg"]
    assert "operation=InstallApp" in entry["msg"] and "http_status=400" in entry["msg"] and "rid-9" in entry["msg"]


def test_job_view_names_the_install_status():
    assert apps.job_view({"status": 3, "execute_msg": "x"}) == {
        "job_status": 3,
        "job_status_name": "failed",
        "execute_msg": "x",
    }


# ---------------------------------------------------------------- detection


def test_app_list_detection(apps_on, connect):
    service = apps_on({"a": {PKG: "1.0"}, "b": {}, "c": {"other": "9"}})
    versions, failures = apps.InstalledApps(connect(service), PKG).read(["a", "b", "c", "gone"])
    assert versions == {"a": "1.0", "b": None, "c": None}
    assert list(failures) == ["gone"] and "KOOPHONE.API.1001" in failures["gone"]["msg"]
    assert [call.query["page_size"] for call in app_list_reads(service)] == [200] * 4


def test_falls_back_to_commands_where_the_service_has_no_app_list(apps_on, connect):
    service = apps_on({"a": {PKG: "1.0"}, "b": {PKG + ".plugin": "2"}}, app_list=False)
    installed = apps.InstalledApps(connect(service), PKG)
    versions, failures = installed.read(["a", "b", "gone"])
    assert installed.source == "command"
    assert versions == {"a": "1.0", "b": None} and list(failures) == ["gone"]
    commands = [body["command"] for body in service.bodies("SyncInvokeInstance")]
    assert commands == ["pm list packages %s" % PKG, "dumpsys package %s" % PKG]
    # Within the reference's command characters: letters, digits, space and _ . / : -
    assert all(validation.PORTABLE_COMMAND.match(command) for command in commands)
    assert service.bodies("SyncInvokeInstance")[1]["instance_ids"] == ["a"]  # the version only where it is there
    # Decided once: the next read goes straight to the commands.
    installed.read(["a"])
    assert len(app_list_reads(service)) == 1


def test_the_read_commands_may_be_sent_again_by_the_client_and_a_lost_one_is_a_failure(apps_on, connect):
    service = apps_on({"a": {PKG: "1.0"}, "b": {PKG: "1.0"}})
    assert apps.InstalledApps(connect(service), PKG, "command").read(["a"]) == ({"a": "1.0"}, {})
    assert [call.repeatable for call in service.calls_to("SyncInvokeInstance")] == [True, True]
    service.command_faults = ["lost"]  # lost even after the client's retries
    versions, failures = apps.InstalledApps(connect(service), PKG, "command").read(["b"])
    assert versions == {} and "the answer to sync-command 'pm list packages %s' was lost" % PKG in failures["b"]["msg"]
    assert len(service.calls_to("SyncInvokeInstance")) == 3  # not sent again by the module itself


# ---------------------------------------------------------------- installing


def installer(service, connect):
    client = connect(service)
    return apps.Installer(client, apps.InstalledApps(client, PKG), INSTALL, "app.apk")


def install(apps_on, connect, count, *faults):
    """``count`` instances without the app; the install requests meet ``faults`` in turn."""
    ids, installed = fleet_of(count)
    service = apps_on(installed, install_faults=list(faults))
    work = installer(service, connect)
    work.install(ids)
    return ids, service, work


def test_250_instances_go_in_three_chunks(apps_on, connect):
    ids, service, work = install(apps_on, connect, 250)
    assert [len(body["instance_id_list"]) for body in service.bodies("InstallApp")] == [100, 100, 50]
    assert len(work.submitted) == 250 and len(work.task_ids) == 3


def test_a_lost_answer_that_was_applied_is_not_sent_again(apps_on, connect):
    ids, service, work = install(apps_on, connect, 3, "lost")
    work.confirm_lost(600)
    assert len(service.bodies("InstallApp")) == 1
    assert work.confirmed == dict((i, True) for i in ids) and work.failures == {}


def test_a_server_error_is_read_back_once_at_once_and_never_sent_again(apps_on, connect, clock):
    # A 502 to app/install may or may not have been applied; the service said it failed: read once, report.
    ids, service, work = install(apps_on, connect, 3, "5xx")
    work.confirm_lost(600)
    assert len(service.bodies("InstallApp")) == 1
    assert clock.slept == [] and [len(app_list_reads(service, i)) for i in ids] == [1, 1, 1]
    assert work.submitted == {} and work.confirmed == {} and sorted(work.failures) == ids
    problem = work.failures["id00000"]
    assert problem["maybe_applied"] is True
    assert "may or may not have been accepted" in problem["msg"] and "Re-run to retry" in problem["msg"]
    assert "not sent again" in problem["msg"]


@pytest.mark.parametrize("wait_timeout,waited", [(600, apps.MAX_SETTLE_SECONDS), (10, 10)])
def test_a_broken_connection_is_re_read_for_at_most_the_settle_time(apps_on, connect, clock, wait_timeout, waited):
    ids, service, work = install(apps_on, connect, 2, "dropped")
    start = clock.now
    work.confirm_lost(wait_timeout)
    assert waited <= clock.now - start < waited + apps.LOST_ANSWER_MAX_INTERVAL
    assert len(service.bodies("InstallApp")) == 1 and all(len(app_list_reads(service, i)) > 2 for i in ids)
    assert sorted(work.failures) == ids and "after waiting %ss" % waited in work.failures["id00000"]["msg"]


def test_a_lost_install_that_shows_up_late_is_found_by_polling_not_by_sending_again(apps_on, connect):
    ids, service, work = install(apps_on, connect, 2, "lost-late")
    work.confirm_lost(600)
    assert len(service.bodies("InstallApp")) == 1
    assert work.confirmed == {"id00000": True, "id00001": True} and work.failures == {}


def test_without_waiting_a_lost_answer_is_read_once(apps_on, connect, clock):
    ids, service, work = install(apps_on, connect, 2, "lost-late")
    work.confirm_lost(0)
    assert clock.slept == [] and len(service.bodies("InstallApp")) == 1
    assert [len(app_list_reads(service, i)) for i in ids] == [1, 1]
    assert sorted(work.failures) == ids and "when read again" in work.failures["id00000"]["msg"]


def test_62005_for_an_app_someone_else_installed_is_not_our_change(apps_on, connect):
    ids, installed = fleet_of(2)
    installed["id00001"][PKG] = "1.0"  # installed behind our back, after our read
    service = apps_on(installed)
    work = installer(service, connect)
    work.install(ids)
    assert work.confirmed == {"id00001": False}
    assert list(work.submitted) == ["id00000"]  # the rest of the chunk was sent again


def test_62005_that_re_reading_cannot_explain_fails_the_chunk(apps_on, connect):
    ids, service, work = install(apps_on, connect, 2, "62005")
    assert sorted(work.failures) == ids and len(service.bodies("InstallApp")) == 1
    assert "already exists" in work.failures["id00000"]["msg"]


def test_reads_never_run_inside_the_install_chunks(apps_on, connect):
    # 250 instances, every chunk's answer lost or refused: the re-reads run after the sends, one pool at a time.
    ids, installed = fleet_of(250)
    installed["id00201"][PKG] = "1.0"  # explains the 62005 of the third chunk
    service = apps_on(installed, install_faults=["lost", "5xx", "62005"])
    work = installer(service, connect)
    work.install(ids)
    work.confirm_lost(600)
    assert sorted(work.confirmed) == ids[:100] + ["id00201"]
    assert [len(body["instance_id_list"]) for body in service.bodies("InstallApp")] == [100, 100, 50, 49]
    assert sorted(i for i, f in work.failures.items() if f.get("maybe_applied")) == ids[100:200]


def test_an_accepted_request_without_a_task_id_is_settled_by_re_reading(apps_on, connect):
    ids, installed = fleet_of(2)
    service = apps_on(installed)
    original = service.op_InstallApp
    service.on("InstallApp", lambda call: dict(original(call), data={}))  # applied; no task to follow
    work = installer(service, connect)
    work.install(ids)
    assert work.submitted == {} and sorted(work.lost) == ids
    work.confirm_lost(0)
    assert work.confirmed == dict((i, True) for i in ids)


def test_record_hears_of_every_chunk_as_it_is_accepted_or_lost(apps_on, make_client):
    ids, installed = fleet_of(150)
    service = apps_on(installed, install_faults=[None, "5xx"])
    heard = []
    client = make_client(service)
    work = apps.Installer(
        client, apps.InstalledApps(client, PKG), INSTALL, "app.apk", record=lambda t, c: heard.append((t, c))
    )
    work.install(ids)
    assert heard == [("ZGCA0000", ids[:100]), (None, ids[100:])]


# ---------------------------------------------------------------- uninstalling


def test_an_uninstall_is_never_marked_repeatable_and_the_reads_after_it_are(apps_on, connect):
    service = apps_on({"a": {PKG: "1.0"}}, command_faults=["lost"])
    client = connect(service)
    apps.uninstall(client, apps.InstalledApps(client, PKG, "command"), ["a"])
    flags = [(call.body["command"].split()[1], call.repeatable) for call in service.calls_to("SyncInvokeInstance")]
    assert flags == [("uninstall", False), ("list", True)]


def test_a_lost_uninstall_is_re_read_not_repeated(apps_on, connect):
    service = apps_on({"a": {PKG: "1.0"}, "b": {PKG: "1.0"}}, command_faults=["lost"])
    client = connect(service)
    removed, failures = apps.uninstall(client, apps.InstalledApps(client, PKG), ["a", "b"])
    assert removed == {"a": True, "b": True} and failures == {}
    assert len([b for b in service.bodies("SyncInvokeInstance") if b["command"].startswith("pm uninstall")]) == 1


def test_a_refused_uninstall_is_a_failure(apps_on, connect):
    service = apps_on({"a": {}})
    client = connect(service)
    removed, failures = apps.uninstall(client, apps.InstalledApps(client, PKG), ["a"])
    assert removed == {} and "DELETE_FAILED_INTERNAL_ERROR" in failures["a"]["msg"]


def test_a_per_instance_error_that_is_not_text_is_explained_as_text():
    entry = apps.failure("KOOPHONE.API.62019", {"reason": "disk"}, "pm list packages failed")
    assert entry["error_msg"] == '{"reason": "disk"}'
    assert entry["msg"] == 'pm list packages failed: the installation failed ({"reason": "disk"}) [KOOPHONE.API.62019]'
    assert apps.failure(62019, None)["error_code"] == "62019"


def test_a_task_answer_with_ids_that_are_not_text_keeps_only_real_ids():
    answer = {
        "data": {"task_id": 5, "cmd_jobs": [{"instance_id": ["a"], "job_id": "j1"}, {"instance_id": "b", "job_id": 2}]}
    }
    assert apps.task_of(answer) == ("5", {"b": "2"})


def uninstalls(service):
    return [b for b in service.bodies("SyncInvokeInstance") if b["command"].startswith("pm uninstall")]


def test_an_uninstall_lost_at_every_send_is_sent_three_times_and_read_after_each(apps_on, connect):
    service = apps_on({"a": {PKG: "1.0"}})
    service.fault("SyncInvokeInstance", *["unanswered"] * apps.WRITE_ATTEMPTS)  # never ran
    client = connect(service)
    heard = []
    removed, failures = apps.uninstall(client, apps.InstalledApps(client, PKG), ["a"], record=heard.append)
    assert len(uninstalls(service)) == apps.WRITE_ATTEMPTS and len(app_list_reads(service)) == apps.WRITE_ATTEMPTS
    assert removed == {} and failures["a"]["msg"].startswith("uninstall: the answers were lost 3 times")
    assert "maybe_applied" not in failures["a"]  # the last read shows the app still there
    assert [(outcome.done, outcome.maybe) for outcome in heard] == [([], [])]


def test_an_uninstall_whose_last_lost_send_applied_is_found_removed_by_the_last_read(apps_on, connect):
    service = apps_on({"a": {PKG: "1.0"}, "b": {PKG: "1.0"}})
    service.fault("SyncInvokeInstance", "unanswered", "unanswered", "lost")  # the third send ran
    client = connect(service)
    heard = []
    removed, failures = apps.uninstall(client, apps.InstalledApps(client, PKG), ["b", "a"], record=heard.append)
    assert removed == {"a": True, "b": True} and failures == {}
    assert len(uninstalls(service)) == apps.WRITE_ATTEMPTS
    assert [outcome.done for outcome in heard] == [["b", "a"]]


def test_a_lost_uninstall_that_cannot_be_read_again_is_not_sent_again(apps_on, connect):
    service = apps_on({"a": {PKG: "1.0"}, "b": {PKG: "1.0"}})
    service.fault("SyncInvokeInstance", "unanswered")
    original = service.op_ListInstanceApp

    def a_unreadable(call):
        if call.path_params["instance_id"] == "a":
            return {"error_code": "KOOPHONE.API.9999", "error_msg": "internal"}
        return original(call)

    service.on("ListInstanceApp", a_unreadable)
    client = connect(service)
    removed, failures = apps.uninstall(client, apps.InstalledApps(client, PKG, "app_list"), ["a", "b"])
    assert [body["instance_ids"] for body in uninstalls(service)] == [["a", "b"], ["b"]]
    assert removed == {"b": True} and list(failures) == ["a"]
    assert failures["a"]["msg"].startswith("reading the installed apps: internal service error")
    assert len(app_list_reads(service, "a")) == 1  # read once, as before


def test_record_hears_only_the_instances_an_answered_uninstall_removed(apps_on, connect):
    service = apps_on({"a": {PKG: "1.0"}, "b": {}})
    client = connect(service)
    heard = []
    removed, failures = apps.uninstall(client, apps.InstalledApps(client, PKG), ["a", "b"], record=heard.append)
    assert removed == {"a": True} and "pm uninstall %s failed" % PKG in failures["b"]["msg"]
    assert [(outcome.done, outcome.maybe, outcome.answers) for outcome in heard] == [(["a"], [], [])]


def test_an_uninstall_chunk_refused_or_without_results_fails_its_instances(apps_on, connect):
    service = apps_on({"a": {PKG: "1.0"}})
    service.on("SyncInvokeInstance", [{"error_code": "KOOPHONE.API.9999", "error_msg": "x"}, {"error_code": "0"}])
    client = connect(service)
    installed = apps.InstalledApps(client, PKG)
    _removed, failures = apps.uninstall(client, installed, ["a"])
    assert failures["a"]["msg"].startswith("uninstall: sync-command 'pm uninstall %s': internal" % PKG)
    removed, failures = apps.uninstall(client, installed, ["a"])
    assert removed == {} and "sync-command 'pm uninstall %s' returned no result" % PKG in failures["a"]["msg"]


def test_with_changes_the_installs_are_recorded_as_they_are_answered_and_confirmed(apps_on, make_client, make_kp):
    ids, installed = fleet_of(250)
    service = apps_on(installed, install_faults=[None, "5xx", "lost"])
    client = make_client(service)
    kp = make_kp(client, {})
    change = changes.Changes(kp, with_tasks=True)
    work = apps.Installer(client, apps.InstalledApps(client, PKG), INSTALL, "app.apk", changes=change)
    work.install(ids)
    assert kp.result["changed"] is True and kp.result["task_ids"] == ["ZGCA0000"]
    assert kp.result["changed_instance_ids"] == ids[:100] and kp.result["maybe_changed_instance_ids"] == ids[100:]
    work.confirm_lost(0)  # the 5xx applied nothing, the lost chunk did
    assert kp.result["changed_instance_ids"] == ids[:100] + ids[200:]
    assert kp.result["maybe_changed_instance_ids"] == ids[100:200]
    assert sorted(work.failures) == ids[100:200] and len(service.bodies("InstallApp")) == 3


def test_with_changes_in_check_mode_nothing_is_installed(apps_on, make_client, make_kp):
    service = apps_on({"a": {}})
    client = make_client(service)
    kp = make_kp(client, {}, check_mode=True)
    work = apps.Installer(client, apps.InstalledApps(client, PKG), INSTALL, "app.apk", changes=changes.Changes(kp))
    work.install(["a"])
    assert service.bodies("InstallApp") == [] and kp.result["changed_instance_ids"] == ["a"]
