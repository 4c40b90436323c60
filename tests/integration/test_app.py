"""koophone_app end to end: idempotent installs in chunks, force, absent, failures, response shapes, lost answers."""

import pytest
from harness import api_requests

APP = "com.example.shop"


def _of(requests, operation):
    return [entry for entry in requests if entry["operation"] == operation]


def _running_ids(emulator, count):
    return [item["instance_id"] for item in emulator.instances()[:count]]


def _versions(emulator, ids, package):
    found = {}
    for item in emulator.instances(ids):
        apps = dict((app["app_pkg"], app["app_version"]) for app in item["apps"])
        found[item["instance_id"]] = apps.get(package)
    return found


def test_install_on_250_instances_in_three_chunks_then_the_repeat_sends_no_install(run_playbook, emulator):
    emulator.reset(instances=250, seed=5)
    emulator.clear_log()
    run_playbook("app_install.yml", extra_vars={"expected_count": 250})
    sent = api_requests(emulator)
    installs = _of(sent, "InstallApp")
    # Three requests in all: none in check mode, none on the repeat.
    assert sorted(len(entry["instance_ids"]) for entry in installs) == [50, 100, 100]
    every_id = [instance_id for entry in installs for instance_id in entry["instance_ids"]]
    fleet = [item["instance_id"] for item in emulator.instances()]
    assert sorted(every_id) == sorted(fleet)  # each instance in exactly one install request
    assert set(_versions(emulator, fleet, "com.example.rollout").values()) == {"3.1.0"}
    # Three runs read every instance's app list once each.
    assert len(_of(sent, "ListInstanceApp")) == 3 * 250


def test_force_reinstalls_and_absent_removes_idempotently(run_playbook, emulator):
    ids = _running_ids(emulator, 4)
    emulator.patch_instance(ids[0], apps=_apps_with(emulator, ids[0], "2.4.1"))
    emulator.patch_instance(ids[1], apps=_apps_with(emulator, ids[1], "2.3.0"))
    run_playbook("app_force_absent.yml", extra_vars={"ids": ids})
    sent = api_requests(emulator)
    installs = _of(sent, "InstallApp")
    # The plain run installs on ids[1:], force on ids[:2]; never on an instance already at 2.4.1 without force.
    assert [sorted(entry["instance_ids"]) for entry in installs] == [sorted(ids[1:]), sorted(ids[:2])]
    commands = _of(sent, "SyncInvokeInstance")
    # force: one uninstall (ids[:2]); absent: one uninstall of all four; check mode and the repeat: none.
    assert [sorted(entry["instance_ids"]) for entry in commands] == [sorted(ids[:2]), sorted(ids)]
    assert set(_versions(emulator, ids, APP).values()) == {None}


def _apps_with(emulator, instance_id, version):
    apps = [app for app in emulator.instance(instance_id)["apps"] if app["app_pkg"] != APP]
    return apps + [{"app_pkg": APP, "app_name": "Example Shop", "app_version": version, "system": False}]


def test_failures_are_per_instance_and_name_the_instances(run_playbook, emulator):
    ids = _running_ids(emulator, 3)
    stopped_id = emulator.instances()[5]["instance_id"]
    emulator.patch_instance(stopped_id, running_status=1)
    run_playbook("app_failures.yml", extra_vars={"ids": ids, "stopped_id": stopped_id})
    installs = _of(api_requests(emulator), "InstallApp")
    assert len(installs) == 3  # download failure, mixed, quota: each sent once, never repeated
    versions = _versions(emulator, ids + [stopped_id], "com.example.broken")
    assert versions == dict([(i, "1.0.0") for i in ids] + [(stopped_id, None)])


def test_bad_options_fail_naming_the_option_and_send_nothing(run_playbook, emulator):
    run_playbook("app_bad_options.yml")
    assert api_requests(emulator) == []


@pytest.mark.parametrize("shape", ["data", "nested"])
def test_both_install_response_shapes_are_read(run_playbook, emulator, shape):
    emulator.configure(install_response=shape)
    try:
        run_playbook("app_install_few.yml", extra_vars={"ids": _running_ids(emulator, 3)})
    finally:
        emulator.configure(install_response="data")
    assert len(_of(api_requests(emulator), "InstallApp")) == 1
    assert len(_of(api_requests(emulator), "ExecuteJob")) >= 1


def test_a_lost_install_answer_is_confirmed_by_re_reading_not_by_installing_again(run_playbook, emulator):
    ids = _running_ids(emulator, 3)
    emulator.configure(script=[{"operation": "InstallApp", "fault": "lost", "times": 1}])
    run_playbook("app_install_few.yml", extra_vars={"ids": ids, "expected_tasks": 0})
    sent = api_requests(emulator)
    installs = _of(sent, "InstallApp")
    assert [entry["fault"] for entry in installs] == ["lost"]  # applied once, never sent again
    lost = installs[0]["seq"]
    assert [entry for entry in _of(sent, "ListInstanceApp") if entry["seq"] > lost], "the lost answer was not re-read"
    assert set(_versions(emulator, ids, "com.example.few").values()) == {"1.0.0"}


def test_an_install_refused_with_a_server_error_is_not_sent_again_in_the_same_run(run_playbook, emulator):
    ids = _running_ids(emulator, 3)
    emulator.configure(script=[{"operation": "InstallApp", "fault": "5xx", "status": 502, "times": 1}])
    # The service said the request failed (502): the run reads the installed apps back once, at once
    # (wait_timeout 600 is not waited for), fails those instances without sending the install again,
    # and the playbook's second run installs.
    run_playbook("app_install_unanswered.yml", extra_vars={"ids": ids, "wait_timeout": 600})
    sent = api_requests(emulator)
    installs = _of(sent, "InstallApp")
    assert [entry["status"] for entry in installs] == [502, 200]  # one request per run, never twice in one
    assert [sorted(entry["instance_ids"]) for entry in installs] == [sorted(ids), sorted(ids)]
    first_502 = installs[0]["seq"]
    rereads = [entry for entry in _of(sent, "ListInstanceApp") if first_502 < entry["seq"] < installs[1]["seq"]]
    # One read-back per instance after the 502 (and the second run's own reads before its install).
    assert len(rereads) == 2 * len(ids), "after a 502 the module must read the apps back once, not poll"
    assert installs[1]["time"] - installs[0]["time"] < 30, "the 502 was waited for"
    assert set(_versions(emulator, ids, "com.example.few").values()) == {"1.0.0"}


def test_commands_detect_installed_apps_where_the_service_has_no_app_list(run_playbook, emulator):
    ids = _running_ids(emulator, 3)
    emulator.configure(app_list=False)
    try:
        run_playbook("app_install_few.yml", extra_vars={"ids": ids, "expected_detection": "command"})
    finally:
        emulator.configure(app_list=True)
    sent = api_requests(emulator)
    assert [entry["status"] for entry in _of(sent, "ListInstanceApp")] == [404, 404]  # probed once per run
    # Per run: pm list packages (1 request); the repeat also reads the version (dumpsys): 3 in all.
    assert len(_of(sent, "SyncInvokeInstance")) == 3
    assert len(_of(sent, "InstallApp")) == 1
