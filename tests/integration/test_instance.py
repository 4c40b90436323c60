"""koophone_instance end to end: each state through check mode -> apply -> repeat, faults on create,
and what the emulator's log and state prove (nothing sent in check mode, nothing created twice)."""

import re

import pytest
from harness import INSTANCE_CHANGES, api_requests

MUTATING = INSTANCE_CHANGES | {"BatchPrepareInstances", "BatchBackupInstances"}


def calls(emulator, operation):
    return [entry for entry in api_requests(emulator) if entry["operation"] == operation]


def named(emulator, prefix):
    """The emulator's instances named <prefix>-NNNNN."""
    pattern = re.compile("^%s-\\d+$" % re.escape(prefix))
    return [item for item in emulator.instances() if pattern.match(item["instance_name"])]


def test_present_creates_only_the_shortfall(run_playbook, emulator):
    run_playbook("instance_present.yml", args=["--diff"])
    creates = calls(emulator, "CreateInstance")
    # Two creates in all (count 3, then 2 more): check mode, the repeats and the wrong SKU sent none.
    assert len(creates) == 2 and all(entry["status"] == 200 for entry in creates)
    shop = named(emulator, "shop")
    assert sorted(item["instance_name"] for item in shop) == ["shop-%05d" % n for n in range(1, 6)]
    by_order = {}
    for item in shop:
        by_order.setdefault(item["order_id"], []).append(item["instance_name"])
    assert sorted(len(names) for names in by_order.values()) == [2, 3]
    assert {(item["sku_id"], item["os"], item["band_size"]) for item in shop} == {
        ("kp.professional.xlarge.32g.2", "AOSP11", 4.0)
    }
    assert not named(emulator, "other")


@pytest.mark.parametrize("count", [4, 1600])
def test_a_lost_create_answer_never_creates_twice(run_playbook, emulator, count):
    # The emulator applies the first create, then drops the connection without answering.
    emulator.configure(script=[{"operation": "CreateInstance", "fault": "lost", "times": 1}])
    run_playbook("instance_present_faults.yml", extra_vars={"prefix": "lost", "count": count, "expect": "exact"})
    creates = calls(emulator, "CreateInstance")
    assert creates[0]["fault"] == "lost"
    # 4 fit one call; 1,600 take a lost 1,500 (proven by re-reading) and then the remaining 100.
    assert len(creates) == (1 if count <= 1500 else 2)
    lost = named(emulator, "lost")
    assert len(lost) == count
    assert {(item["sku_id"], item["os"], item["network"]) for item in lost} == {
        ("kp.professional.2xlarge.128g.2", "AOSP14", "ADN")
    }

    emulator.clear_log()
    run_playbook("instance_present_faults.yml", extra_vars={"prefix": "lost", "count": count, "expect": "unchanged"})
    assert calls(emulator, "CreateInstance") == []
    assert len(named(emulator, "lost")) == count


def test_an_unproven_create_stops_and_the_next_run_creates_once(run_playbook, emulator):
    # A 503 after the request was sent: the client cannot know whether the order was placed.
    emulator.configure(script=[{"operation": "CreateInstance", "fault": "5xx", "times": 1}])
    run_playbook("instance_present_faults.yml", extra_vars={"prefix": "fivexx", "count": 2, "expect": "unproven"})
    assert len(calls(emulator, "CreateInstance")) == 1
    assert named(emulator, "fivexx") == []

    emulator.clear_log()
    run_playbook("instance_present_faults.yml", extra_vars={"prefix": "fivexx", "count": 2, "expect": "exact"})
    assert len(calls(emulator, "CreateInstance")) == 1
    assert len(named(emulator, "fivexx")) == 2


def test_restart_and_reset(run_playbook, emulator):
    stopped = emulator.instances()[5]["instance_id"]
    emulator.patch_instance(stopped, running_status=1)
    run_playbook("instance_actions.yml")
    reboots = calls(emulator, "BatchRebootInstance")
    resets = calls(emulator, "BatchResetInstance")
    # One reboot and two resets: the refused restart and both check-mode runs sent nothing.
    assert len(reboots) == 1 and len(resets) == 2
    assert stopped not in reboots[0]["instance_ids"]
    assert len(reboots[0]["instance_ids"]) == 3


def test_assign_is_idempotent_and_never_takes_another_users_phone(run_playbook, emulator):
    run_playbook("instance_assign.yml", args=["--diff"])
    assigns = calls(emulator, "ProvisionInstance")
    assert len(assigns) == 1 and len(assigns[0]["instance_ids"]) == 12
    # Reassigning alice's phones to bob without force sent no unassign (which would wipe her data).
    assert calls(emulator, "CancelInstance") == []
    assert {item["assign_user"] for item in emulator.instances()[:12]} == {"alice"}


def test_force_reassigns_only_after_the_previous_users_data_is_wiped(run_playbook, emulator):
    fleet = emulator.instances()[:12]
    for item in fleet:
        emulator.patch_instance(item["instance_id"], assign_status=1, assign_user="alice")
    alice_app = {"app_pkg": "com.alice.notes", "app_name": "Notes", "app_version": "1.0", "system": False}
    emulator.patch_instance(fleet[0]["instance_id"], apps=[alice_app])
    run_playbook("instance_assign_force.yml", args=["--diff"])
    cancels = calls(emulator, "CancelInstance")
    # 12 pairs in chunks of 10; the check mode and the repeat sent none.
    assert sorted(len(entry["instance_ids"]) for entry in cancels) == [2, 10]  # chunks run concurrently
    assert len(calls(emulator, "ProvisionInstance")) == 1
    # The clean-up of alice's data runs as the unassign task's jobs. bob was assigned only after they
    # ended, so her app is gone; assigning earlier would have left it on bob's phone.
    first = emulator.instance(fleet[0]["instance_id"])
    assert first["assign_user"] == "bob"
    assert "com.alice.notes" not in [app["app_pkg"] for app in first["apps"]]


def test_unassign_in_chunks_of_10_is_idempotent(run_playbook, emulator):
    fleet = emulator.instances()[:12]
    for item in fleet:
        emulator.patch_instance(item["instance_id"], assign_status=1, assign_user="bob")
    run_playbook("instance_unassign.yml", args=["--diff"])
    cancels = calls(emulator, "CancelInstance")
    assert sorted(len(entry["instance_ids"]) for entry in cancels) == [2, 10]  # chunks run concurrently
    assert {emulator.instance(item["instance_id"])["assign_status"] for item in fleet} == {0}


@pytest.mark.parametrize("backup_stops", [False, True], ids=["backup-keeps-running", "backup-releases"])
@pytest.mark.parametrize("instance_tasks", ["unknown", "known"])
def test_backup_in_chunks_of_50_then_prepare_through_the_restore_queue(
    run_playbook, emulator, backup_stops, instance_tasks
):
    emulator.configure(backup_stops=backup_stops, instance_tasks=instance_tasks)
    emulator.add_instances(count=55, name_prefix="bk")
    try:
        run_playbook("instance_backup_prepare.yml", extra_vars={"backup_stops": backup_stops})
    finally:
        emulator.configure(backup_stops=False, instance_tasks="unknown")
    backups = calls(emulator, "BatchBackupInstances")
    assert sorted(len(entry["instance_ids"]) for entry in backups) == [5, 50]  # never a second backup
    prepares = calls(emulator, "BatchPrepareInstances")
    if backup_stops:
        assert len(prepares) == 1 and len(prepares[0]["instance_ids"]) == 3
        prepared = emulator.instances(prepares[0]["instance_ids"])
        assert all(item["data_loaded"] and item["running_status"] == 2 for item in prepared)
    else:
        assert prepares == []  # prepare-progress said ready: nothing to send
    assert len(calls(emulator, "ShowProgress")) >= 3
    assert sum(1 for item in named(emulator, "bk") if item["backup_status"] == 2) == 55


def test_absent_deletes_once_and_reports_pay_per_use(run_playbook, emulator):
    fleet = emulator.instances()
    emulator.patch_instance(fleet[6]["instance_id"], billing_mode="0")
    emulator.add_instances(count=3, name_prefix="tmp")
    emulator.add_instances(count=1, name_prefix="tmp-old")  # matches the name filter, not the prefix
    emulator.clear_log()
    run_playbook("instance_absent.yml", args=["--diff"])
    deletes = calls(emulator, "DeleteInstance")
    assert [entry["status"] for entry in deletes] == [200, 400, 200]
    remaining = {item["instance_id"] for item in emulator.instances()}
    assert fleet[0]["instance_id"] not in remaining and fleet[1]["instance_id"] not in remaining
    assert fleet[6]["instance_id"] in remaining
    assert named(emulator, "tmp") == []
    assert len(named(emulator, "tmp-old")) == 1


def test_bad_options_fail_naming_the_option_and_send_nothing(run_playbook, emulator):
    run_playbook("instance_bad_options.yml")
    assert api_requests(emulator) == []


def test_check_mode_runs_send_no_mutating_request(run_playbook, emulator):
    added = emulator.add_instances(count=2, name_prefix="cm")
    emulator.patch_instance(added[1]["instance_id"], assign_status=1, assign_user="erin", running_status=1)
    emulator.clear_log()
    run_playbook("instance_check_mode.yml")
    sent = {entry["operation"] for entry in api_requests(emulator)}
    assert sent and not sent & MUTATING


def test_lost_reboot_and_backup_answers_are_never_sent_again(run_playbook, emulator):
    # The emulator applies each request, then drops the connection without answering.
    emulator.configure(
        script=[
            {"operation": "BatchRebootInstance", "fault": "lost", "times": 1},
            {"operation": "BatchBackupInstances", "fault": "lost", "times": 1},
        ]
    )
    run_playbook("instance_lost_actions.yml")
    assert len(calls(emulator, "BatchRebootInstance")) == 1
    # Never sent again. (The emulator shows backup_status 1 at once; the unit tests cover a lost backup that
    # left backup_status 0, which a re-read cannot tell from a phone never backed up.)
    assert len(calls(emulator, "BatchBackupInstances")) == 1
