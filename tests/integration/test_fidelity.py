"""Issue 10, "Faithful to the real service": one test (at least) per point, against the emulator's strict
default readings and, where a point has a lenient reading, against that one too.

The emulator process is shared by the whole session: every setting a test changes goes through the
``settings`` fixture, which puts it back afterwards. Playbooks (playbooks/fidelity_*.yml) hold the
assertions on module results; the tests here check the emulator's request log and state.
"""

import re

import pytest
from harness import AKSK, IAM_USER, api_requests, applied, calls, per_instance, run_inventory

LOGIN = "KeystoneCreateUserTokenByPassword"
SHOP = re.compile(r"^shop-\d+$")


@pytest.fixture
def settings(emulator):
    """``settings(name=value, ...)`` changes emulator settings for this test only; all are restored after it."""
    saved = emulator.config()
    touched = set()

    def configure(**values):
        touched.update(values)
        emulator.configure(**values)

    yield configure
    restore = dict((name, saved[name]) for name in touched)
    restore["script"] = []
    emulator.configure(**restore)


def named(emulator, pattern):
    return [item for item in emulator.instances() if pattern.match(item["instance_name"])]


def ids_of(items):
    return [item["instance_id"] for item in items]


def assert_no_relogin(requests, after_seq):
    """No IAM login after the request ``after_seq``: a 401 about instances is not cured by a new token."""
    logins = [entry for entry in requests if entry["operation"] == LOGIN]
    assert len(logins) <= 1, logins
    assert all(entry["seq"] < after_seq for entry in logins), logins


# ------------------------------------------------------------------------- 1. paging


@pytest.mark.parametrize("page_size_echo", ["requested", "served"])
@pytest.mark.parametrize("page_cap", [100, 50])
def test_1_listings_hold_every_phone_whatever_page_size_is_echoed(
    run_playbook, emulator, settings, tmp_path, page_cap, page_size_echo
):
    settings(page_cap=page_cap, page_size_echo=page_size_echo)
    emulator.reset(instances=250, seed=3)
    emulator.clear_log()
    run_playbook("fidelity_paging.yml", extra_vars={"expected": 250})
    sent = api_requests(emulator)
    # Nothing bought on the listing: no create, not even the catalogue read that precedes one.
    assert calls(emulator, "CreateInstance", sent) == [] and calls(emulator, "BatchShowSku", sent) == []
    assert {entry["status"] for entry in calls(emulator, "ListInstances", sent)} == {200}
    assert len(emulator.instances()) == 250

    completed, data = run_inventory(emulator, tmp_path, {"page_size": 200})
    assert completed.returncode == 0, completed.stderr[-3000:]
    hostvars = data["_meta"]["hostvars"]
    assert sorted(hostvars) == sorted(item["instance_name"] for item in emulator.instances())
    assert sorted(variables["koophone_instance_id"] for variables in hostvars.values()) == sorted(
        ids_of(emulator.instances())
    )


# ------------------------------------------------------------------------- 2. name_prefix


@pytest.mark.parametrize("name_filter", ["exact", "substring"])
def test_2_name_prefix_selects_exactly_the_numbered_phones(run_playbook, emulator, settings, name_filter):
    settings(name_filter=name_filter)
    shop = emulator.add_instances(count=5, name_prefix="shop")
    decoys = emulator.add_instances(count=1, name_prefix="shop-old") + emulator.add_instances(
        count=1, name_prefix="shopfront"
    )
    just_shop = emulator.instances()[0]["instance_id"]
    emulator.patch_instance(just_shop, instance_name="shop")  # what a whole-name filter for "shop" finds
    emulator.clear_log()
    run_playbook("fidelity_prefix.yml", extra_vars={"expected": 5})
    sent = api_requests(emulator)
    deletes = [entry for entry in calls(emulator, "DeleteInstance", sent) if applied(entry)]
    assert per_instance(deletes) == dict((i, 1) for i in ids_of(shop))  # each shop phone once, nothing else
    reboots = [entry for entry in calls(emulator, "BatchRebootInstance", sent) if applied(entry)]
    assert per_instance(reboots) == dict((i, 1) for i in ids_of(shop))
    assert named(emulator, SHOP) == []
    left = set(ids_of(emulator.instances()))
    assert set(ids_of(decoys)) | {just_shop} <= left


# ------------------------------------------------------------------------- 3. command characters


@pytest.mark.parametrize("detection", ["command", "auto"])
@pytest.mark.parametrize("command_charset", ["strict", "any"])
def test_3_app_detection_and_removal_by_commands_keep_to_the_reference_charset(
    run_playbook, emulator, settings, command_charset, detection
):
    settings(command_charset=command_charset, app_list=False)
    ids = ids_of(emulator.instances()[:3])
    run_playbook("fidelity_app_commands.yml", extra_vars={"ids": ids, "detection": detection})
    sent = api_requests(emulator)
    commands = calls(emulator, "SyncInvokeInstance", sent)
    # pm list packages (x4 runs), dumpsys on the repeat and before the removal, pm uninstall: none refused.
    assert len(commands) >= 6 and {entry["status"] for entry in commands} == {200}
    assert {entry["error_code"] for entry in commands} == {"0"}
    assert len(calls(emulator, "InstallApp", sent)) == 1
    for item in emulator.instances(ids):
        assert "com.example.fidelity" not in [app["app_pkg"] for app in item["apps"]]


@pytest.mark.parametrize("command_charset", ["strict", "any"])
def test_3_a_refused_user_command_reports_the_services_code_and_text(run_playbook, emulator, settings, command_charset):
    settings(command_charset=command_charset)
    ids = ids_of(emulator.instances()[:2])
    run_playbook("fidelity_command_charset.yml", extra_vars={"ids": ids, "charset": command_charset})
    sent = api_requests(emulator)
    for operation in ("SyncInvokeInstance", "AsyncInvokeInstance"):
        entries = calls(emulator, operation, sent)
        # Sent as given, once (a refusal is not retried; a command is not safe to repeat).
        assert len(entries) == 1
        if command_charset == "strict":
            assert (entries[0]["status"], entries[0]["error_code"]) == (400, "KOOPHONE.API.1000")
        else:
            assert entries[0]["status"] == 200


# ------------------------------------------------------------------------- 4. network


@pytest.mark.parametrize("catalogue", ["reference", "mixed"])
def test_4_create_without_network_buys_what_the_pool_offers(run_playbook, emulator, settings, catalogue):
    settings(catalogue=catalogue)
    run_playbook("fidelity_network.yml", extra_vars={"catalogue": catalogue})
    creates = calls(emulator, "CreateInstance")
    # reference: the one create with no network; the EIP one was refused before sending. mixed: both bought.
    assert [entry["status"] for entry in creates] == [200] * (1 if catalogue == "reference" else 2)
    assert all(entry["error_code"] == "0" and entry["order_id"] for entry in creates)
    nonet = named(emulator, re.compile(r"^nonet-\d+$"))
    assert len(nonet) == 2
    # The pool's network (ADN, the only one in the reference catalogue), or none sent (the service's default).
    assert {item["network"] for item in nonet} <= ({"ADN"} if catalogue == "reference" else {"ADN", "EIP"})
    assert len(named(emulator, re.compile(r"^eip-\d+$"))) == (0 if catalogue == "reference" else 1)


# ------------------------------------------------------------------------- 5. AK/SK without a project


def test_5_aksk_signing_works_without_a_project_id(run_playbook, emulator):
    credentials = dict((k, v) for k, v in AKSK.items() if k != "KOOPHONE_PROJECT_ID")
    run_playbook("fidelity_read_and_restart.yml", credentials=credentials)
    sent = api_requests(emulator)
    assert sent and {entry["auth"] for entry in sent} == {"aksk"}
    assert {entry["status"] for entry in sent} == {200}
    assert len(calls(emulator, "BatchRebootInstance", sent)) == 1


def test_5_aksk_where_the_service_requires_a_project_id(run_playbook, emulator, settings):
    settings(require_project_id=True)
    # With project_id: X-Project-Id is sent (and signed) and accepted.
    run_playbook("fidelity_read_and_restart.yml", credentials=AKSK)
    assert {entry["status"] for entry in api_requests(emulator)} == {200}
    emulator.clear_log()
    # Without: no header is sent, so this service answers 0005, once (it is no authentication failure).
    credentials = dict((k, v) for k, v in AKSK.items() if k != "KOOPHONE_PROJECT_ID")
    run_playbook("fidelity_aksk_required.yml", credentials=credentials)
    sent = api_requests(emulator)
    assert [(entry["operation"], entry["error_code"]) for entry in sent] == [("ListInstances", "KOOPHONE.API.0005")]


# ------------------------------------------------------------------------- 6. 401 that is no token problem


@pytest.mark.parametrize("permission_status", [401, 400])
def test_6_no_permission_for_an_instance_is_reported_without_relogin(
    run_playbook, emulator, settings, permission_status
):
    settings(permission_status=permission_status)
    foreign = emulator.add_instances(count=1, foreign=True)[0]["instance_id"]
    emulator.clear_log()
    run_playbook("fidelity_permission.yml", credentials=IAM_USER, extra_vars={"foreign": foreign})
    sent = api_requests(emulator)
    commands = calls(emulator, "SyncInvokeInstance", sent)
    assert [(entry["status"], entry["error_code"]) for entry in commands] == [(permission_status, "KOOPHONE.API.1001")]
    assert_no_relogin(sent, commands[0]["seq"])
    # Nothing else but reads (the module may look the phone up to name it): no re-send in any form.
    assert {entry["operation"] for entry in sent} - {LOGIN, "SyncInvokeInstance"} <= {"ListInstances"}


@pytest.mark.parametrize("permission_status", [401, 400])
def test_6_a_tenant_not_whitelisted_is_reported_without_relogin(run_playbook, emulator, settings, permission_status):
    settings(permission_status=permission_status, tenant_whitelisted=False)
    run_playbook("fidelity_tenant.yml", credentials=IAM_USER)
    sent = api_requests(emulator)
    listings = calls(emulator, "ListInstances", sent)
    assert [(entry["status"], entry["error_code"]) for entry in listings] == [(permission_status, "KOOPHONE.API.1003")]
    assert_no_relogin(sent, listings[0]["seq"])


# ------------------------------------------------------------------------- 7. one poller; unknown tasks


@pytest.mark.parametrize("instance_tasks", ["unknown", "known"])
@pytest.mark.parametrize("effect_delay", [1.0, 0])
def test_7_forced_reassign_assigns_only_after_the_unassign_took_effect(
    run_playbook, emulator, settings, effect_delay, instance_tasks
):
    settings(effect_delay=effect_delay, instance_tasks=instance_tasks)
    ids = ids_of(emulator.instances()[:3])
    for instance_id in ids:
        emulator.patch_instance(instance_id, assign_status=1, assign_user="alice")
    emulator.clear_log()
    run_playbook("fidelity_reassign.yml", extra_vars={"ids": ids})
    sent = api_requests(emulator)
    cancels = calls(emulator, "CancelInstance", sent)
    assigns = calls(emulator, "ProvisionInstance", sent)
    assert [entry["status"] for entry in cancels] == [200]
    # Never refused for coming too early (KPAPI.2209), and sent once, after the unassign showed.
    assert [(entry["status"], entry["error_code"]) for entry in assigns] == [(200, "0")]
    assert assigns[0]["time"] - cancels[-1]["time"] >= effect_delay - 0.05
    # The listing that proved the unassign effective came between the two.
    between = [e for e in calls(emulator, "ListInstances", sent) if cancels[-1]["seq"] < e["seq"] < assigns[0]["seq"]]
    assert between and between[-1]["time"] - cancels[-1]["time"] >= effect_delay - 0.05
    assert {item["assign_user"] for item in emulator.instances(ids)} == {"bob"}


# ------------------------------------------------------------------------- 8. waits read running_status


@pytest.mark.parametrize("status_codes", ["table", "function"])
def test_8_restart_and_reset_wait_on_running_status(run_playbook, emulator, settings, status_codes):
    settings(status_codes=status_codes)
    ids = ids_of(emulator.instances()[:3])
    emulator.patch_instance(ids[0], backup_status=3)  # batch-query-status (Table 4-34): 5, backup failed
    emulator.clear_log()
    run_playbook("fidelity_reboot_wait.yml", extra_vars={"ids": ids})
    sent = api_requests(emulator)
    assert calls(emulator, "BatchShowInstance", sent) == []
    reboot = calls(emulator, "BatchRebootInstance", sent)
    reset = calls(emulator, "BatchResetInstance", sent)
    assert [entry["status"] for entry in reboot + reset] == [200, 200]
    # Each wait read the listing until the phones ran (boot_seconds 1 s: more than the one read before).
    after_reboot = [e for e in calls(emulator, "ListInstances", sent) if reboot[0]["seq"] < e["seq"] < reset[0]["seq"]]
    assert after_reboot and after_reboot[-1]["time"] - reboot[0]["time"] >= 0.95
    assert {item["running_status"] for item in emulator.instances(ids)} == {2}


# ------------------------------------------------------------------------- 9. release an idle phone


@pytest.mark.parametrize("stop_idle_stream", ["error", "ok"])
def test_9_release_succeeds_on_a_phone_that_is_not_streaming(run_playbook, emulator, settings, stop_idle_stream):
    settings(stop_idle_stream=stop_idle_stream)
    ids = ids_of(emulator.instances()[:2])
    for instance_id in ids:
        emulator.patch_instance(instance_id, streaming=False, session=True, login_status=1)
    emulator.clear_log()
    run_playbook("fidelity_release.yml", extra_vars={"ids": ids, "stop_idle_stream": stop_idle_stream})
    sent = api_requests(emulator)
    stops = calls(emulator, "StopInstancesStreaming", sent)
    releases = calls(emulator, "StopInstancesSession", sent)
    # One stop per phone (refused or not, never repeated), then one release each.
    assert per_instance(stops) == dict((i, 1) for i in ids)
    expected = (400, "KOOPHONE.API.1000") if stop_idle_stream == "error" else (200, "0")
    assert {(entry["status"], entry["error_code"]) for entry in stops} == {expected}
    assert per_instance(releases) == dict((i, 1) for i in ids)
    assert {entry["status"] for entry in releases} == {200}
    for item in emulator.instances(ids):
        assert item["session"] is False and item["login_status"] == 0


# ------------------------------------------------------------------------- 10. device tokens are not repeatable


def test_10_a_lost_device_token_answer_is_not_sent_again(run_playbook, emulator, settings):
    settings(script=[{"operation": "ExecuteInstanceAuthToken", "fault": "lost", "times": 1}])
    ids = ids_of(emulator.instances()[:2])
    run = run_playbook("fidelity_auth_lost.yml", extra_vars={"ids": ids})
    auths = calls(emulator, "ExecuteInstanceAuthToken")
    assert per_instance(auths) == dict((i, 1) for i in ids)  # one token request per phone, the lost one too
    lost = [entry for entry in auths if entry["fault"] == "lost"]
    assert len(lost) == 1
    assert run.result("auth_lost")["failed_instance_ids"] == lost[0]["instance_ids"]


# ------------------------------------------------------------------------- 11. unpaid orders


@pytest.mark.parametrize("unpaid_orders", ["hidden", "listed"])
def test_11_an_unpaid_shortfall_is_bought_once(run_playbook, emulator, settings, tmp_path, unpaid_orders):
    settings(unpaid_orders=unpaid_orders)
    record = tmp_path / "orders" / "unpaid-orders.json"
    record.parent.mkdir()
    record.write_text("")  # declares that no unpaid order is pending
    no_record = tmp_path / "orders" / "missing.json"
    variables = {"record": str(record), "no_record": str(no_record), "unpaid_orders": unpaid_orders}
    run_playbook("fidelity_unpaid.yml", extra_vars=variables)
    creates = calls(emulator, "CreateInstance")
    # One create over two runs of one shortfall; the run without a record sent none (and created no record).
    assert len(creates) == 1 and creates[0]["status"] == 200 and creates[0]["count"] == 2
    assert not no_record.exists()
    orders = emulator.orders()
    assert len(orders) == 1 and orders[0]["paid"] is False and orders[0]["name_prefix"] == "unpaid"

    emulator.pay_order(orders[0]["order_id"])
    emulator.clear_log()
    run_playbook("fidelity_unpaid_paid.yml", extra_vars=variables)
    assert calls(emulator, "CreateInstance") == []
    assert len(named(emulator, re.compile(r"^unpaid-\d+$"))) == 2


# ------------------------------------------------------------------------- 12. endpoint with /v1


@pytest.mark.parametrize("suffix", ["/v1", "/v1/"])
def test_12_an_endpoint_given_with_v1_is_normalised(run_playbook, emulator, tmp_path, suffix):
    run_playbook("fidelity_read_and_restart.yml", env={"KOOPHONE_ENDPOINT": emulator.url + suffix})
    sent = api_requests(emulator)
    assert sent and {entry["status"] for entry in sent} == {200}
    assert all(entry["path"].startswith("/v1/instances/") for entry in sent)
    assert not [entry for entry in sent if entry["path"].startswith("/v1/v1")]
    emulator.clear_log()
    completed, data = run_inventory(emulator, tmp_path, {}, env={"KOOPHONE_ENDPOINT": emulator.url + suffix})
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert len(data["_meta"]["hostvars"]) == 20
    assert {entry["path"] for entry in api_requests(emulator)} == {"/v1/instances/batch-query"}


# ------------------------------------------------------------------------- 13. backups


@pytest.mark.parametrize("backup_stops", [False, True], ids=["backup-keeps-running", "backup-releases"])
def test_13_a_backup_is_followed_to_its_end_and_never_sent_twice(run_playbook, emulator, settings, backup_stops):
    task_seconds = 5  # long enough for the second run to find the backup executing
    settings(backup_stops=backup_stops, task_seconds=task_seconds)
    ids = ids_of(emulator.instances()[:2])
    emulator.clear_log()
    run_playbook("fidelity_backup.yml", extra_vars={"ids": ids})
    sent = api_requests(emulator)
    backups = calls(emulator, "BatchBackupInstances", sent)
    assert len(backups) == 1 and backups[0]["status"] == 200 and sorted(backups[0]["instance_ids"]) == sorted(ids)
    # The second run read the phones while the backup was still executing (the first run, wait=false, had
    # ended at once), and sent none: the in-progress backup was followed, not repeated.
    started = backups[0]["time"]
    during = [
        e for e in calls(emulator, "ListInstances", sent) if started + 0.8 < e["time"] < started + task_seconds - 0.3
    ]
    assert during, "no listing while the backup ran: the in-progress case was not exercised"
    for item in emulator.instances(ids):
        assert item["backup_status"] == 2
        # The reference does not say a backup stops the phone; the emulator's two readings:
        assert (item["running_status"] == 2 and item["data_loaded"]) is (not backup_stops)


# ------------------------------------------------------------------------- 14. prepared


@pytest.mark.parametrize("offline", ["released-by-backup", "running-data-offline"])
def test_14_prepare_restores_a_phone_whose_data_is_offline(run_playbook, emulator, settings, offline):
    settings(backup_stops=True)
    fleet = emulator.instances()
    ids, ready_id = ids_of(fleet[:2]), fleet[2]["instance_id"]
    for instance_id in ids + [ready_id]:
        emulator.patch_instance(instance_id, assign_status=1, assign_user="carol")
    if offline == "released-by-backup":
        run_playbook("fidelity_backup.yml", extra_vars={"ids": ids})
        assert {(item["running_status"], item["data_loaded"]) for item in emulator.instances(ids)} == {(1, False)}
    else:
        # Backed up and still running, its data offline: "running" is not "ready".
        for instance_id in ids:
            emulator.patch_instance(instance_id, backup_status=2, data_loaded=False)
    emulator.clear_log()
    run_playbook("fidelity_prepare.yml", extra_vars={"ids": ids, "ready_id": ready_id, "user": "carol"})
    prepares = calls(emulator, "BatchPrepareInstances")
    # One prepare, for the offline phones only; the repeat sent none.
    assert len(prepares) == 1 and sorted(prepares[0]["instance_ids"]) == sorted(ids)
    assert prepares[0]["status"] == 200
    for item in emulator.instances(ids + [ready_id]):
        assert item["data_loaded"] and item["running_status"] == 2


def test_14_prepare_fails_fast_on_a_phone_the_service_cannot_prepare(run_playbook, emulator):
    stopped_id = emulator.instances()[0]["instance_id"]
    emulator.patch_instance(stopped_id, assign_status=1, assign_user="carol", running_status=1)
    emulator.clear_log()
    run_playbook("fidelity_prepare_offline.yml", extra_vars={"stopped_id": stopped_id, "user": "carol"})
    sent = api_requests(emulator)
    prepares = calls(emulator, "BatchPrepareInstances", sent)
    assert len(prepares) == 1 and prepares[0]["instance_ids"] == [stopped_id]
    # Failed on prepare's answer: no polling until wait_timeout (300 s).
    assert len(calls(emulator, "ShowProgress", sent)) <= 2
    assert sent[-1]["time"] - sent[0]["time"] < 10
    assert emulator.instance(stopped_id)["running_status"] == 1


def test_14_a_prepared_phone_is_sent_nothing(run_playbook, emulator):
    fleet = emulator.instances()
    ids, ready_id = ids_of(fleet[:1]), fleet[1]["instance_id"]
    for instance_id in ids + [ready_id]:
        emulator.patch_instance(instance_id, assign_status=1, assign_user="carol")
    emulator.patch_instance(ids[0], data_loaded=False)
    run_playbook("fidelity_prepare.yml", extra_vars={"ids": ids, "ready_id": ready_id, "user": "carol"})
    prepares = calls(emulator, "BatchPrepareInstances")
    assert [entry["instance_ids"] for entry in prepares] == [ids]  # ready_id never, and nothing on the repeat


# ------------------------------------------------------------------------- 15. a foreign id in a chunk


@pytest.mark.parametrize("permission_status", [401, 400])
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_15_a_foreign_id_fails_alone_and_the_rest_of_its_chunk_is_done_once(
    run_playbook, emulator, settings, mode, permission_status
):
    settings(permission_status=permission_status)
    emulator.reset(instances=99, seed=7)
    own = ids_of(emulator.instances())
    foreign = emulator.add_instances(count=1, foreign=True)[0]["instance_id"]
    ids = own[:40] + [foreign] + own[40:]
    emulator.clear_log()
    run_playbook(
        "fidelity_foreign_chunk.yml",
        credentials=IAM_USER,
        extra_vars={"ids": ids, "foreign": foreign, "mode": mode},
    )
    sent = api_requests(emulator)
    operation = "SyncInvokeInstance" if mode == "sync" else "AsyncInvokeInstance"
    commands = calls(emulator, operation, sent)
    # The chunk of 100, refused whole (applied nothing), then the 99 once more without the foreign id.
    assert [(entry["status"], len(entry["instance_ids"])) for entry in commands] == [
        (permission_status, 100),
        (200, 99),
    ]
    assert commands[0]["error_code"] == "KOOPHONE.API.1001"
    assert per_instance([entry for entry in commands if applied(entry)]) == dict((i, 1) for i in own)
    assert_no_relogin(sent, commands[0]["seq"])


# ------------------------------------------------------------------------- faults


@pytest.mark.slow
def test_faults_absent_by_prefix_deletes_every_phone_at_most_once(run_playbook, emulator, settings):
    shop = ids_of(emulator.add_instances(count=300, name_prefix="shop"))
    emulator.clear_log()
    settings(rate_5xx=0.05, rate_drop=0.05, rate_lost=0.02, rate_429=0.05, retry_after=1)
    try:
        run_playbook("fidelity_faults_absent.yml", extra_vars={"expected": 300})
    finally:
        settings(rate_5xx=0, rate_drop=0, rate_lost=0, rate_429=0)
    sent = api_requests(emulator)
    deletes = calls(emulator, "DeleteInstance", sent)
    assert {entry["fault"] for entry in sent} > {None}, "no fault was injected"
    # Count only the deletes that took effect (200, or applied and the answer lost): one per phone, no more.
    counts = per_instance([entry for entry in deletes if applied(entry)])
    assert counts == dict((i, 1) for i in shop), sorted(i for i, n in counts.items() if n != 1)
    assert named(emulator, SHOP) == []
    assert len(emulator.instances()) == 20


def test_faults_a_delete_unanswered_twice_is_re_read_and_sent_until_it_took_effect(run_playbook, emulator, settings):
    """A 5xx, then a dropped connection on the re-send: the listing still shows the phones, so the
    delete is sent a third time; each phone is deleted once and the repeat changes nothing."""
    shop = ids_of(emulator.add_instances(count=50, name_prefix="shop"))
    emulator.clear_log()
    settings(
        script=[
            {"operation": "DeleteInstance", "fault": "5xx", "times": 1},
            {"operation": "DeleteInstance", "fault": "drop", "times": 1},
        ]
    )
    run_playbook("fidelity_faults_absent.yml", extra_vars={"expected": 50})
    deletes = calls(emulator, "DeleteInstance")
    assert [entry["fault"] for entry in deletes][:2] == ["5xx", "drop"] and len(deletes) == 3
    assert per_instance([entry for entry in deletes if applied(entry)]) == dict((i, 1) for i in shop)
    assert named(emulator, SHOP) == []
