"""koophone_instance against a fleet (conftest's Fleet behind the real client): every state in check mode,
applied and repeated; lost answers re-read and never repeated; the unpaid-order record; selection by
name prefix whatever the name filter does; prepare-progress; backups; forced reassignment."""

import json

import pytest

from ansible_collections.koophone.cloud.plugins.module_utils import _instances as kpi
from ansible_collections.koophone.cloud.plugins.module_utils import _operations as operations
from ansible_collections.koophone.cloud.plugins.module_utils import _orders as orders
from ansible_collections.koophone.cloud.plugins.module_utils._errors import KooPhoneError
from ansible_collections.koophone.cloud.plugins.modules import koophone_instance as module
from ansible_collections.koophone.cloud.plugins.modules import koophone_sku_info

# What koophone_instance changes: the operations the table marks not safe to repeat, but other modules'.
OTHER_MODULES = ("SyncInvokeInstance", "AsyncInvokeInstance", "ExecuteInstanceAuthToken", "InstallApp")
MUTATING = tuple(op.name for op in operations.OPERATIONS.values() if not op.repeatable and op.name not in OTHER_MODULES)
OFFER = dict(region="cn-north-4", sku_id="kp.pro", os="AOSP11", band_size=4.0)


def params(**overrides):
    """The options as AnsibleModule passes them: the module's defaults, then ``overrides``."""
    values = dict((name, spec.get("default")) for name, spec in module.argument_spec().items())
    values.update(overrides)
    return values


class Runs:
    """Runs koophone_instance against ``fleet``: ``run()`` returns the result, ``fails()`` what it failed with."""

    def __init__(self, fleet, client, make_kp):
        self.fleet, self.client, self.make_kp = fleet, client, make_kp
        self.kp = None

    def _kp(self, check_mode, options):
        self.kp = self.make_kp(self.client, params(**options), check_mode)
        return self.kp

    def run(self, check_mode=False, **options):
        kp = self._kp(check_mode, options)
        kpi.validate(kp.params)
        return module.run(kp)

    def fails(self, check_mode=False, **options):
        kp = self._kp(check_mode, options)
        with pytest.raises(SystemExit):
            kp.run(module.run, validate=kpi.validate)
        return kp.module.failed

    @property
    def warnings(self):
        return self.kp.module.warnings


@pytest.fixture
def runs(fleet, make_client, make_kp):
    return Runs(fleet, make_client(fleet), make_kp)


def mutations(fleet, *operations):
    return fleet.calls_to(*(operations or MUTATING))


def by_ids(*ids):
    return dict(name_prefix=None, instance_ids=list(ids))


def buying(count, prefix="shop", **overrides):
    return dict(dict(OFFER, state="present", name_prefix=prefix, count=count, auto_pay=True), **overrides)


# ---------------------------------------------------------------- every state: check mode, apply, repeat


def fleet_for(fleet, state):
    """A fleet where ``state`` needs a change on kp00001 and kp00002; returns the options and the change."""
    if state == "present":
        fleet.add(1, prefix="shop")
        return buying(3), "CreateInstance"
    fleet.add(1, 2)
    if state in ("unassigned", "prepared"):
        for item in fleet.instances.values():
            item.update(assign_status=1, assign_user="u1")
    if state == "prepared":
        fleet.progress.update(kp00001=2, kp00002=-1)  # data offline, a failed preparation
    options = dict(by_ids("kp00001", "kp00002"), state=state)
    if state in ("assigned", "prepared"):
        options["user_id"] = "u1"
    operation = {
        "absent": "DeleteInstance",
        "assigned": "ProvisionInstance",
        "unassigned": "CancelInstance",
        "prepared": "BatchPrepareInstances",
        "backed_up": "BatchBackupInstances",
    }[state]
    return options, operation


def reached(fleet, state):
    items = fleet.instances
    return {
        "present": len([i for i in items.values() if i["instance_name"].startswith("shop-")]) == 3,
        "absent": not items,
        "assigned": all(kpi.is_assigned_to(i, "u1") for i in items.values()),
        "unassigned": not any(kpi.is_assigned(i) for i in items.values()),
        "prepared": set(fleet.progress.values()) == {0},
        "backed_up": all(kpi.is_backed_up(i) for i in items.values()),
    }[state]


@pytest.mark.parametrize("state", ["present", "absent", "assigned", "unassigned", "prepared", "backed_up"])
def test_check_mode_sends_nothing_apply_changes_and_a_repeat_is_unchanged(fleet, runs, state):
    options, operation = fleet_for(fleet, state)
    check = runs.run(check_mode=True, **options)
    assert check["changed"] is True and mutations(fleet) == [] and not reached(fleet, state)

    applied = runs.run(**options)
    assert applied["changed"] is True
    assert [call.operation for call in mutations(fleet)] == [operation]
    assert reached(fleet, state)
    changed = ["sho00002", "sho00003"] if state == "present" else ["kp00001", "kp00002"]
    assert applied["changed_instance_ids"] == changed and applied["maybe_changed_instance_ids"] == []
    if state != "present":
        assert check["changed_instance_ids"] == changed

    repeated = runs.run(**options)
    assert repeated["changed"] is False and repeated["changed_instance_ids"] == []
    assert len(mutations(fleet)) == 1


@pytest.mark.parametrize("state,operation", [("restarted", "BatchRebootInstance"), ("reset", "BatchResetInstance")])
def test_restarting_and_resetting_are_actions_each_run_repeats(fleet, runs, state, operation):
    fleet.add(1, 2)
    check = runs.run(check_mode=True, state=state, **by_ids("kp00001", "kp00002"))
    assert check["changed"] is True and check["changed_instance_ids"] == ["kp00001", "kp00002"]
    assert mutations(fleet) == []
    for times in (1, 2):
        result = runs.run(state=state, **by_ids("kp00001", "kp00002"))
        assert result["changed"] is True and len(mutations(fleet, operation)) == times
        assert [item["running_status_name"] for item in result["instances"]] == ["running", "running"]
    if state == "reset":
        assert result["task_ids"] == ["RM_0002"]


def test_a_failed_reset_job_is_named_by_its_instance_although_the_task_query_does_not_say(fleet, runs):
    """tasks/{task_id} answers JobDetail as the reference documents it: job_id, status, error_code,
    error_msg, execute_msg; no instance_id. The reset's own answer (cmd_jobs) says whose job it is."""
    fleet.add(1, 2)

    def jobs(call):
        ids = fleet.tasks[call.path_params["task_id"]]
        failed = {"status": -1, "error_code": "CPS0005", "error_msg": "reset failed", "execute_msg": None}
        done = {"status": 2, "error_code": "", "error_msg": "", "execute_msg": "OK"}
        return {
            "error_code": "0",
            "data": {"jobs": [dict(failed if i == "kp00002" else done, job_id="RM_0001-%s" % i) for i in ids]},
        }

    fleet.on("ExecuteJob", jobs)
    failed = runs.fails(state="reset", **by_ids("kp00001", "kp00002"))
    assert (
        "Jobs failed: instance kp00002 (job RM_0001-kp00002 of task RM_0001): reset failed [CPS0005]" in failed["msg"]
    )
    assert [(job["instance_id"], job["job_id"]) for job in failed["failed_jobs"]] == [("kp00002", "RM_0001-kp00002")]
    assert failed["changed"] is True and failed["task_ids"] == ["RM_0001"]


def test_restarting_waits_until_the_phones_run_again(fleet, runs, clock):
    fleet.add(1)
    fleet.effect_delay = 20
    start = clock.now
    result = runs.run(state="restarted", **by_ids("kp00001"))
    assert clock.now - start >= 20 and result["instances"][0]["running_status"] == 2
    fleet.effect_delay = 10**6
    failed = runs.fails(state="restarted", wait_timeout=30, **by_ids("kp00001"))
    assert "1 instance(s) are not running again after wait_timeout=30s: kp00001" in failed["msg"]
    assert failed["pending_instance_ids"] == ["kp00001"] and failed["changed"] is True


def test_only_running_phones_are_restarted_and_nothing_is_sent_otherwise(fleet, runs):
    fleet.add(1)
    fleet.add(2, running_status=1)
    failed = runs.fails(state="restarted", **by_ids("kp00001", "kp00002"))
    assert mutations(fleet) == [] and failed["changed"] is False
    assert "Not running: kp00002 (stopped)" in failed["msg"]


def test_an_id_that_does_not_exist_fails_before_any_change_except_for_absent(fleet, runs):
    fleet.add(1)
    failed = runs.fails(state="restarted", **by_ids("kp00001", "gone1"))
    assert failed["option"] == "instance_ids" and failed["msg"].startswith("Invalid option instance_ids: ")
    assert "batch-query does not list" in failed["msg"] and failed["msg"].endswith(": gone1")
    assert mutations(fleet) == []
    result = runs.run(state="absent", **by_ids("kp00001", "gone1"))
    assert result["missing_instance_ids"] == ["gone1"] and fleet.ids_sent("DeleteInstance") == ["kp00001"]
    assert result["instances"] == [] and result["diff"]["before"]["instances"] == {"kp00001": "kp-00001"}


def test_absent_waits_until_the_phones_are_no_longer_listed(fleet, runs, clock):
    fleet.add(1, 2)
    fleet.effect_delay = 15
    start = clock.now
    result = runs.run(state="absent", **by_ids("kp00001", "kp00002"))
    assert clock.now - start >= 15 and fleet.instances == {} and result["changed"] is True


# ---------------------------------------------------------------- lost answers: re-read, never repeated


@pytest.mark.parametrize("state,operation", [("restarted", "BatchRebootInstance"), ("reset", "BatchResetInstance")])
@pytest.mark.parametrize("fault", ["lost", "unanswered"])
def test_lost_action_answers_are_a_change_that_may_have_happened(fleet, runs, state, operation, fault):
    fleet.add(1, 2)
    fleet.fault(operation, fault)
    failed = runs.fails(state=state, **by_ids("kp00001", "kp00002"))
    assert len(mutations(fleet, operation)) == 1
    assert failed["changed"] is True
    assert failed["changed_instance_ids"] == []
    assert failed["maybe_changed_instance_ids"] == ["kp00001", "kp00002"]
    assert failed["failed_chunks"][0]["maybe_applied"] is True


def test_a_lost_backup_answer_is_never_sent_again(fleet, runs):
    # backup_status 0 "preparing" is also what a phone that was never backed up shows: a re-read
    # cannot tell a queued backup from none, so the chunk must not be sent twice.
    fleet.add(*range(1, 61))
    fleet.fault("BatchBackupInstances", "lost", "lost")
    failed = runs.fails(state="backed_up", **by_ids(*fleet.ids()))
    assert [len(body["instance_ids"]) for body in fleet.bodies("BatchBackupInstances")] == [50, 10]
    assert failed["changed"] is True
    assert failed["maybe_changed_instance_ids"] == fleet.ids()
    assert all(chunk["maybe_applied"] for chunk in failed["failed_chunks"])


def test_an_accepted_and_a_lost_backup_chunk(fleet, runs):
    fleet.add(*range(1, 61))
    ids = fleet.ids()
    fleet.fault("BatchBackupInstances", None, "unanswered")
    failed = runs.fails(state="backed_up", **by_ids(*ids))
    assert failed["changed_instance_ids"] == ids[:50] and failed["maybe_changed_instance_ids"] == ids[50:]
    assert failed["task_ids"] == ["RM_0001"] and failed["changed"] is True


def test_a_large_shortfall_is_split_into_calls_of_1500(fleet, runs):
    fleet.add(*range(1, 201), prefix="shop")
    result = runs.run(**buying(3400))
    assert [body["count"] for body in fleet.bodies("CreateInstance")] == [1500, 1500, 200]
    assert len(result["order_ids"]) == 3 and len(fleet.instances) == 3400
    assert len(result["created_instance_ids"]) == 3200 and result["changed"] is True


def test_a_lost_create_answer_is_re_read_and_never_created_twice(fleet, runs):
    fleet.fault("CreateInstance", "lost")
    result = runs.run(**buying(4))
    assert [body["count"] for body in fleet.bodies("CreateInstance")] == [4]
    assert len(fleet.instances) == 4
    assert result["order_ids"] == []  # the order id was in the lost answer
    assert result["changed"] is True and len(result["created_instance_ids"]) == 4


def test_a_lost_first_chunk_is_proven_before_the_second_is_ordered(fleet, runs):
    fleet.fault("CreateInstance", "lost")
    runs.run(**buying(1600))
    assert [body["count"] for body in fleet.bodies("CreateInstance")] == [1500, 100]
    assert len(fleet.instances) == 1600


def test_an_unproven_create_stops_instead_of_ordering_again(fleet, runs, clock):
    fleet.fault("CreateInstance", "unanswered")
    start = clock.now
    failed = runs.fails(**buying(3, wait_timeout=600))
    assert [body["count"] for body in fleet.bodies("CreateInstance")] == [3]
    assert fleet.instances == {}
    assert 30 <= clock.now - start < 40  # re-read for at most 30 seconds
    assert failed["maybe_applied"] is True and "nothing more was created" in failed["msg"]
    assert failed["order_ids"] == [] and failed["created_instance_ids"] == []
    assert failed["changed"] is True  # the order may have been placed


def test_a_refused_later_chunk_keeps_what_was_ordered(fleet, runs):
    fleet.fault("CreateInstance", None, KooPhoneError("out of stock", operation="CreateInstance", error_code="40010"))
    failed = runs.fails(**buying(2000))
    assert [body["count"] for body in fleet.bodies("CreateInstance")] == [1500, 500]
    assert failed["error_code"] == "40010" and failed["maybe_applied"] is False
    assert failed["order_ids"] == ["CS1"] and len(fleet.instances) == 1500
    assert failed["changed"] is True and len(failed["created_instance_ids"]) == 1500


def test_a_lost_assign_is_re_read_and_sent_again_only_where_it_did_not_apply(fleet, runs):
    fleet.add(1, 2, 3)
    assign = fleet.op_ProvisionInstance

    def first_applies_to_one_then_is_lost(call):
        if len(fleet.calls_to("ProvisionInstance")) == 1:
            assign(call._replace(body={"user_instances": call.body["user_instances"][:1]}))
            return KooPhoneError("connection broke", operation=call.operation, maybe_applied=True)
        return assign(call)

    fleet.on("ProvisionInstance", first_applies_to_one_then_is_lost)
    result = runs.run(state="assigned", user_id="u1", **by_ids(*fleet.ids()))
    assert fleet.ids_sent("ProvisionInstance") == ["kp00001", "kp00002", "kp00003", "kp00002", "kp00003"]
    assert result["changed_instance_ids"] == fleet.ids() and result["maybe_changed_instance_ids"] == []


def test_a_lost_delete_is_given_time_to_show_before_anything_is_sent_again(fleet, runs):
    fleet.add(1)
    fleet.effect_delay = 10
    fleet.fault("DeleteInstance", "lost")
    result = runs.run(state="absent", **by_ids("kp00001"))
    assert len(mutations(fleet)) == 1 and fleet.instances == {}
    assert result["changed_instance_ids"] == ["kp00001"]


def test_a_lost_unassign_that_did_not_apply_is_sent_once_more(fleet, runs):
    fleet.add(1, assign_status=1, assign_user="u1")
    fleet.fault("CancelInstance", "unanswered")
    result = runs.run(state="unassigned", **by_ids("kp00001"))
    assert len(mutations(fleet, "CancelInstance")) == 2 and not kpi.is_assigned(fleet.instances["kp00001"])
    assert result["changed_instance_ids"] == ["kp00001"]


# ---------------------------------------------------------------- what was done survives a later failure


def break_reads_after_a_change(fleet):
    """Every change is answered; once one was, every read fails (a 503 on a repeatable read)."""
    changed = []
    for operation in MUTATING:
        original = fleet.handler(operation)
        fleet.on(operation, lambda call, original=original: changed.append(call.operation) or original(call))
    for operation in ("ListInstances", "BatchShowSku", "ShowProgress"):
        original = fleet.handler(operation)

        def read(call, original=original):
            if changed:
                return KooPhoneError("read failed", operation=call.operation, status=503)
            return original(call)

        fleet.on(operation, read)


@pytest.mark.parametrize(
    "state,fields,extra,expected",
    [
        ("present", {}, dict(OFFER, count=3, auto_pay=True), dict(order_ids=["CS3"], created_instance_ids=["kp00003"])),
        ("restarted", {}, {}, {}),
        ("reset", {}, {}, dict(task_ids=["RM_0001"])),
        ("assigned", {}, dict(user_id="u1"), {}),
        ("unassigned", dict(assign_status=1, assign_user="u1"), {}, dict(task_ids=["RM_0001"])),
        ("prepared", dict(assign_status=1, assign_user="u1"), dict(user_id="u1"), {}),
        ("backed_up", {}, {}, dict(task_ids=["RM_0001"])),
    ],
)
def test_a_read_error_after_a_change_still_reports_what_was_done(fleet, runs, state, fields, extra, expected):
    fleet.add(1, 2, **fields)
    fleet.progress.update(kp00001=2, kp00002=2)
    break_reads_after_a_change(fleet)
    targeting = dict(name_prefix="kp") if state == "present" else by_ids("kp00001")
    failed = runs.fails(**dict(extra, state=state, **targeting))
    assert "read failed" in failed["msg"]
    assert len(mutations(fleet)) == 1
    assert failed["changed"] is True
    assert failed["changed_instance_ids"] == (["kp00003"] if state == "present" else ["kp00001"])
    for key, value in expected.items():
        assert failed[key] == value


@pytest.mark.parametrize(
    "state,operation,fields,extra",
    [
        ("assigned", "ProvisionInstance", {}, dict(user_id="u1")),
        ("unassigned", "CancelInstance", dict(assign_status=1, assign_user="u1"), {}),
        ("prepared", "BatchPrepareInstances", dict(assign_status=1, assign_user="u1"), {"user_id": "u1"}),
        ("restarted", "BatchRebootInstance", {}, {}),
        ("reset", "BatchResetInstance", {}, {}),
        ("backed_up", "BatchBackupInstances", {}, {}),
        ("absent", "DeleteInstance", {}, {}),
    ],
)
def test_every_chunk_refused_is_no_change(fleet, runs, state, operation, fields, extra):
    fleet.add(1, 2, **fields)
    fleet.progress.update(kp00001=2, kp00002=2)
    fleet.on(operation, {"error_code": "KOOPHONE.API.5005", "error_msg": "refused"})
    failed = runs.fails(**dict(extra, state=state, **by_ids("kp00001", "kp00002")))
    assert len(mutations(fleet)) == 1
    assert failed["changed"] is False
    assert failed["changed_instance_ids"] == [] and failed["maybe_changed_instance_ids"] == []
    assert failed["failed_chunks"][0]["maybe_applied"] is False
    assert "(instances kp00001, kp00002)" in failed["msg"]


# ---------------------------------------------------------------- buying: the catalogue and the unpaid-order record


def test_create_sends_the_catalogue_s_choice_with_the_reference_field_names(fleet, runs):
    runs.run(**buying(1, period_type="year", period_num=2, band_size=8.0))
    assert fleet.operations()[:3] == ["ListInstances", "ListInstances", "BatchShowSku"]
    assert fleet.bodies("CreateInstance") == [
        {
            "os": "AOSP11",
            "instanceSkuId": "kp.pro",
            "bandSkuId": "kp.bandwidth",
            "regionId": "cn-north-4",
            "instanceNamePrefix": "shop",
            "bandSize": 8,
            "chargeParam": {"chargingMode": 1, "periodType": 3, "periodNum": 2, "isAutoPay": 1, "isAutoRenew": 0},
            "network": "EIP",
            "count": 1,
        }
    ]


def test_wrong_offer_options_fail_naming_the_option_before_buying(fleet, runs):
    failed = runs.fails(**buying(1, os="AOSP9"))
    assert failed["option"] == "os" and "AOSP11, AOSP14" in failed["msg"] and mutations(fleet) == []


def test_the_sku_info_module_uses_the_shared_catalogue_reader():
    assert koophone_sku_info.read_catalogue is module.skus.read_catalogue


def test_a_paid_order_not_listed_yet_is_reported_changed_with_its_ids(fleet, runs):
    fleet.listed = False  # the order is paid, the listing is slow
    result = runs.run(**buying(2))
    assert [body["count"] for body in fleet.bodies("CreateInstance")] == [2]
    assert result["changed"] is True
    assert result["order_ids"] == ["CS1"]
    assert result["created_instance_ids"] == ["sho00001", "sho00002"] == result["changed_instance_ids"]
    assert result["instances"] == []
    assert "not listed yet" in runs.warnings[0]
    # Nothing unlisted is waited for (an unpaid order would only time out).
    assert fleet.listings() == [{"instance_name": "shop"}, {}, {}]


@pytest.fixture
def record(tmp_path):
    return tmp_path / "unpaid-orders.json"


def unpaid(record, count, **overrides):
    return buying(count, auto_pay=False, order_record=str(record), **overrides)


def recorded(record):
    return json.loads(record.read_text())["orders"]


def test_without_an_order_record_nothing_is_bought_with_auto_pay_false(fleet, runs, record):
    failed = runs.fails(**unpaid(record, 2))
    assert failed["msg"].startswith("Not buying") and str(record) in failed["msg"]
    assert mutations(fleet) == [] and failed["changed"] is False and not record.exists()


def test_an_unpaid_order_is_never_bought_twice(fleet, runs, record):
    record.write_text("")  # declares that no unpaid order is pending
    fleet.listed = False  # unpaid: not listed until paid
    first = runs.run(**unpaid(record, 2))
    assert first["changed"] is True and first["order_ids"] == ["CS1"]
    (entry,) = recorded(record)
    assert (entry["order_id"], entry["instance_ids"], entry["count"]) == ("CS1", ["sho00001", "sho00002"], 2)
    assert entry["endpoint"] == runs.client.endpoint and entry["name_prefix"] == "shop"

    again = runs.fails(**unpaid(record, 2))  # the shortfall is still there: the order is not paid yet
    assert len(mutations(fleet)) == 1 and again["changed"] is False
    assert "an unpaid order may already cover this shortfall" in again["msg"] and "order CS1" in again["msg"]
    assert [o["order_id"] for o in again["unpaid_orders"]] == ["CS1"]

    fleet.pay()
    fleet.listed = True
    assert runs.run(**unpaid(record, 2))["changed"] is False
    more = runs.run(**unpaid(record, 3))  # the paid order is dropped, the new one recorded
    assert [body["count"] for body in fleet.bodies("CreateInstance")] == [2, 1]
    assert more["created_instance_ids"] == ["sho00003"]
    assert [o["order_id"] for o in recorded(record)] == ["CS3"]


def test_check_mode_reads_the_record_and_writes_nothing(fleet, runs, record):
    fleet.add(1, prefix="shop")
    record.write_text(json.dumps({"koophone.cloud": orders.KIND, "orders": []}))
    paid = orders.UnpaidOrders(str(record), runs.client.endpoint, "shop")
    paid.add("CS1", 1, ["sho00001"], listed_before=0)
    text = record.read_text()
    check = runs.run(check_mode=True, **unpaid(record, 2))
    assert check["changed"] is True and check["to_create"] == 1 and mutations(fleet) == []
    assert record.read_text() == text


def test_a_record_that_is_not_an_order_record_is_refused_and_never_overwritten(fleet, runs, record):
    record.write_text('{"all": {"hosts": ["web1"]}}')
    failed = runs.fails(**unpaid(record, 2))
    assert "the unpaid-order record cannot be used" in failed["msg"] and mutations(fleet) == []
    assert record.read_text() == '{"all": {"hosts": ["web1"]}}'


def test_a_lost_unpaid_order_is_recorded_as_such(fleet, runs, record):
    record.write_text("")
    fleet.listed = False
    fleet.fault("CreateInstance", "lost")
    failed = runs.fails(**unpaid(record, 2))
    assert failed["changed"] is True and failed["maybe_applied"] is True
    (entry,) = recorded(record)
    assert (entry["order_id"], entry["answered"], entry["count"], entry["instance_ids"]) == (None, False, 2, [])
    again = runs.fails(**unpaid(record, 2))
    assert len(mutations(fleet)) == 1 and "order (answer lost) for 2 instance(s)" in again["msg"]


def test_a_lost_unpaid_order_once_paid_no_longer_blocks_buying(fleet, runs, record):
    record.write_text("")
    fleet.listed = False
    fleet.fault("CreateInstance", "lost")
    runs.fails(**unpaid(record, 2))  # the order was placed; its answer was lost
    fleet.pay()  # paid in the console, as the message says: its instances are listed now
    fleet.listed = True
    assert runs.run(**unpaid(record, 2))["changed"] is False
    result = runs.run(**unpaid(record, 3))
    assert [body["count"] for body in fleet.bodies("CreateInstance")] == [2, 1]
    assert result["created_instance_ids"] == ["sho00003"]


# ---------------------------------------------------------------- selecting by name prefix


def test_an_exact_match_name_filter_never_buys_twice(fleet, runs):
    fleet.name_filter = "whole"
    fleet.add(1, 2, 3, prefix="shop")
    # The filter finds none of shop-00001..3; the unfiltered fleet proves nothing is missing.
    result = runs.run(**buying(3))
    assert result["changed"] is False and result["to_create"] == 0 and len(result["instances"]) == 3
    assert fleet.listings() == [{"instance_name": "shop"}, {}]

    check = runs.run(check_mode=True, **buying(5))
    assert check["changed"] is True and check["to_create"] == 2 and mutations(fleet) == []
    assert check["diff"]["after"]["count"] == 5

    result = runs.run(**buying(5))
    assert [body["count"] for body in fleet.bodies("CreateInstance")] == [2]
    assert result["changed"] is True and len(result["created_instance_ids"]) == 2
    assert [item["instance_name"] for item in result["instances"]] == ["shop-%05d" % n for n in range(1, 6)]

    for _run in range(2):
        assert runs.run(**buying(5))["changed"] is False
    assert len(mutations(fleet)) == 1 and len(fleet.instances) == 5


def test_enough_instances_in_the_filtered_listing_need_no_fleet_read(fleet, runs):
    fleet.add(1, 2, 3, prefix="shop")
    result = runs.run(**buying(3))
    assert result["changed"] is False and fleet.listings() == [{"instance_name": "shop"}]
    assert result["diff"]["before"] == result["diff"]["after"]


@pytest.mark.parametrize("name_filter", ["part", "whole", "ignored"])
def test_a_prefix_selects_every_prefix_nnnnn_whatever_the_name_filter_does(fleet, runs, name_filter):
    fleet.name_filter = name_filter
    fleet.add(3, 1, 12, prefix="shop")
    fleet.add_look_alikes("shop")
    result = runs.run(state="restarted", name_prefix="shop")
    assert fleet.ids_sent("BatchRebootInstance") == ["sho00001", "sho00003", "sho00012"]
    assert result["matched_instance_count"] == 3
    assert [item["instance_name"] for item in result["instances"]] == ["shop-00001", "shop-00003", "shop-00012"]


def test_a_prefix_that_matches_nothing_changes_nothing(fleet, runs):
    fleet.add(1)
    result = runs.run(state="absent", name_prefix="shop")
    assert result["changed"] is False and result["matched_instance_count"] == 0 and mutations(fleet) == []


# ---------------------------------------------------------------- prepared


def assigned_to(fleet, user_id, *numbers, **fields):
    return fleet.add(*numbers, assign_status=1, assign_user=user_id, **fields)


def test_prepared_decides_from_prepare_progress_not_from_the_running_status(fleet, runs):
    assigned_to(fleet, "u1", 1, 2, 3, 4, 5)
    fleet.instances["kp00001"]["running_status"] = 1  # stopped, yet its progress says ready
    fleet.progress.update(kp00002=2, kp00003=-1, kp00004=1, kp00005=3)
    fleet.effect_delay = 5
    fleet.later(lambda: fleet.progress.update(kp00004=0, kp00005=0))  # the queue and the backup end
    result = runs.run(state="prepared", user_id="u1", **by_ids(*fleet.ids()))
    assert fleet.ids_sent("BatchPrepareInstances") == ["kp00002", "kp00003"]  # queuing and backing up: followed
    assert result["changed_instance_ids"] == ["kp00002", "kp00003"]
    assert set(fleet.progress.values()) == {0}
    entries = dict((entry["instance_id"], entry) for entry in result["prepare_results"])
    assert entries["kp00002"]["prepare_status_name"] == "to_be_restored"
    assert entries["kp00004"]["queue_position"] == 3 and entries["kp00001"]["prepare_status"] is None


@pytest.mark.parametrize(
    "status,name", [(6, "offline"), (2, "to_be_assigned"), (9, "restore_after_expiry_failed"), (10, "maintaining")]
)
def test_prepared_fails_at_once_naming_the_phones_prepare_cannot_help(fleet, runs, clock, status, name):
    assigned_to(fleet, "u1", 1, 2)
    fleet.progress.update(kp00001=2, kp00002=2)
    fleet.prepare_answers["kp00002"] = status
    fleet.effect_delay = 600
    start = clock.now
    failed = runs.fails(state="prepared", user_id="u1", **by_ids("kp00001", "kp00002"))
    assert failed["msg"] == "The service cannot prepare kp00002 (%s)" % name
    assert clock.now == start and len(fleet.calls_to("ShowProgress")) == 2  # no waiting
    assert failed["changed_instance_ids"] == ["kp00001"] and failed["changed"] is True


def test_prepared_needs_the_phones_assigned_to_the_user(fleet, runs):
    assigned_to(fleet, "u1", 1)
    assigned_to(fleet, "u2", 2)
    fleet.add(3)
    failed = runs.fails(state="prepared", user_id="u1", **by_ids(*fleet.ids()))
    assert "Not assigned to it: kp00002 (u2), kp00003 ()" in failed["msg"]
    assert fleet.calls_to("ShowProgress", *MUTATING) == []


def test_prepared_waits_until_ready_and_fails_naming_what_is_not(fleet, runs, clock):
    assigned_to(fleet, "u1", 1)
    fleet.progress["kp00001"] = 2
    fleet.effect_delay = 10**6
    failed = runs.fails(state="prepared", user_id="u1", wait_timeout=60, **by_ids("kp00001"))
    assert "1 instance(s) are not ready after wait_timeout=60s: kp00001" in failed["msg"]
    assert failed["pending_instance_ids"] == ["kp00001"] and failed["changed"] is True
    assert len(mutations(fleet)) == 1


def test_a_preparation_that_fails_is_reported(fleet, runs):
    assigned_to(fleet, "u1", 1)
    fleet.progress["kp00001"] = 2
    fleet.on("BatchPrepareInstances", lambda call: fleet.progress.update(kp00001=-1) or {"error_code": "0"})
    failed = runs.fails(state="prepared", user_id="u1", **by_ids("kp00001"))
    assert failed["msg"] == "Preparing failed for kp00001 (failed)"


# ---------------------------------------------------------------- backed_up


def test_a_running_backup_is_followed_never_sent_again_and_a_successful_one_is_left_alone(fleet, runs, clock):
    fleet.add(1, backup_status=0)
    fleet.add(2, backup_status=1)
    fleet.add(3, backup_status=2)
    fleet.add(4, backup_status=3)  # the last backup failed: back it up again
    fleet.effect_delay = 30
    fleet.later(lambda: fleet.instances["kp00002"].update(backup_status=2))
    start = clock.now
    result = runs.run(state="backed_up", **by_ids(*fleet.ids()))
    assert fleet.ids_sent("BatchBackupInstances") == ["kp00001", "kp00004"]
    assert clock.now - start >= 30
    assert result["changed_instance_ids"] == ["kp00001", "kp00004"]
    assert [item["backup_status_name"] for item in result["instances"]] == ["successful"] * 4
    assert [item["running_status"] for item in result["instances"]] == [2] * 4  # the phones kept running
    assert runs.run(state="backed_up", **by_ids(*fleet.ids()))["changed"] is False
    assert len(mutations(fleet)) == 1


def test_a_failed_backup_fails_the_task_naming_it(fleet, runs):
    fleet.add(1, 2)
    fleet.failing_backups.add("kp00002")
    failed = runs.fails(state="backed_up", **by_ids("kp00001", "kp00002"))
    assert failed["msg"] == "Backup failed for kp00002" and failed["changed_instance_ids"] == ["kp00001", "kp00002"]


def test_without_waiting_a_backup_is_only_sent(fleet, runs):
    fleet.add(1)
    fleet.effect_delay = 600
    result = runs.run(state="backed_up", wait=False, **by_ids("kp00001"))
    assert result["changed"] is True and result["instances"][0]["backup_status"] == 1
    assert fleet.operations().count("ListInstances") == 2  # the selection and the final reading


# ---------------------------------------------------------------- assigned / unassigned


def test_an_instance_of_another_user_is_not_reassigned_without_force(fleet, runs):
    assigned_to(fleet, "u2", 1)
    failed = runs.fails(state="assigned", user_id="u1", **by_ids("kp00001"))
    assert "assigned to another user: kp00001 (u2)" in failed["msg"] and "force=true" in failed["msg"]
    assert mutations(fleet) == [] and failed["changed"] is False


@pytest.mark.parametrize("tasks_known", [False, True])
def test_a_forced_reassignment_waits_until_the_listing_shows_unassigned(fleet, runs, clock, tasks_known):
    assigned_to(fleet, "u2", 1)
    fleet.add(2)
    fleet.tasks_known = tasks_known
    fleet.effect_delay = 20  # the unassign shows 20 seconds later; until then assign is refused
    start = clock.now
    result = runs.run(state="assigned", user_id="u1", force=True, wait=False, **by_ids("kp00001", "kp00002"))
    sent = fleet.operations()
    unassigned_at, assigned_at = sent.index("CancelInstance"), sent.index("ProvisionInstance")
    assert fleet.ids_sent("CancelInstance") == ["kp00001"]
    assert fleet.ids_sent("ProvisionInstance") == ["kp00001", "kp00002"]  # once, after the wait
    assert "ListInstances" in sent[unassigned_at:assigned_at] and clock.now - start >= 20
    # The unassign's task is read (the service may not know it: then the listing alone decides).
    assert sent[unassigned_at + 1] == "ExecuteJob"
    assert result["changed_instance_ids"] == ["kp00001", "kp00002"]
    assert result["diff"] == {
        "before": {"assign_user": {"kp00001": "u2", "kp00002": None}},
        "after": {"assign_user": {"kp00001": "u1", "kp00002": "u1"}},
    }
    assert all(kpi.is_assigned_to(item, "u1") for item in fleet.instances.values())


def test_check_mode_of_a_forced_reassignment_sends_nothing(fleet, runs):
    assigned_to(fleet, "u2", 1)
    check = runs.run(check_mode=True, state="assigned", user_id="u1", force=True, **by_ids("kp00001"))
    assert check["changed"] is True and check["changed_instance_ids"] == ["kp00001"] and mutations(fleet) == []


def test_unassigned_with_a_user_refuses_another_user_s_phones_unless_forced(fleet, runs):
    assigned_to(fleet, "u1", 1)
    assigned_to(fleet, "u2", 2)
    failed = runs.fails(state="unassigned", user_id="u1", **by_ids("kp00001", "kp00002"))
    assert "kp00002 (u2)" in failed["msg"] and mutations(fleet) == []
    result = runs.run(state="unassigned", user_id="u1", force=True, **by_ids("kp00001", "kp00002"))
    assert [body["user_instances"] for body in fleet.bodies("CancelInstance")] == [
        [{"user_id": "u1", "instance_id": "kp00001"}, {"user_id": "u2", "instance_id": "kp00002"}]
    ]
    assert result["changed_instance_ids"] == ["kp00001", "kp00002"]


def test_unassigning_waits_until_the_listing_shows_it(fleet, runs, clock):
    assigned_to(fleet, "u1", *range(1, 13))
    fleet.effect_delay = 10
    start = clock.now
    result = runs.run(state="unassigned", **by_ids(*fleet.ids()))
    assert [len(body["user_instances"]) for body in fleet.bodies("CancelInstance")] == [10, 2]
    assert clock.now - start >= 10 and result["task_ids"] == ["RM_0001", "RM_0002"]
    assert [item["assign_status_name"] for item in result["instances"]] == ["unassigned"] * 12
