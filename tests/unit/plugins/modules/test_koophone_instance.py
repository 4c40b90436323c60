"""koophone_instance's decisions, with a scripted client: validation, the SKU catalogue checks,
creating only the shortfall (and never twice after a lost answer), re-reading lost chunks."""

import fake_kp
import pytest

from ansible_collections.koophone.cloud.plugins.module_utils import _instances as kpi
from ansible_collections.koophone.cloud.plugins.module_utils import _skus as skus
from ansible_collections.koophone.cloud.plugins.module_utils._client import ChunkResult
from ansible_collections.koophone.cloud.plugins.module_utils._errors import InvalidOption, KooPhoneError
from ansible_collections.koophone.cloud.plugins.modules import koophone_instance as module
from ansible_collections.koophone.cloud.plugins.modules import koophone_sku_info

# ---------------------------------------------------------------- a scripted client


class FakeClient:
    """Records calls; ``fleet`` is what batch-query lists; ``on_call`` decides each call's fate.

    Its instance_name filter matches substrings, as the emulator's does; with ``exact_name_filter``
    it matches whole names only (the reference does not say which the real service does).
    """

    def __init__(self, fleet=None, on_call=None, exact_name_filter=False):
        self.fleet = list(fleet or [])
        self.calls = []
        self.listings = []
        self.on_call = on_call or (lambda name, body: {"error_code": "0"})
        self.exact_name_filter = exact_name_filter

    def call(self, operation_name, path_params=None, query=None, body=None):
        self.calls.append((operation_name, body))
        return self.on_call(operation_name, body)

    def call_batched(self, operation_name, ids, make_body, chunk_size=None):
        size = chunk_size or {"CancelInstance": 10, "BatchBackupInstances": 50}.get(operation_name, 100)
        results = []
        for start in range(0, len(ids), size):
            chunk = list(ids[start : start + size])
            try:
                results.append(ChunkResult(chunk, self.call(operation_name, body=make_body(chunk)), None))
            except KooPhoneError as error:
                results.append(ChunkResult(chunk, None, error))
        return results

    def list_all(self, operation_name, query=None, page_size=100, path_params=None, key=None):
        self.listings.append(dict(query or {}))
        query = query or {}
        return [dict(item) for item in self.fleet if self.matches(query, item)]

    def matches(self, query, item):
        name = query.get("instance_name")
        if name is not None and (
            name != item["instance_name"] if self.exact_name_filter else name not in item["instance_name"]
        ):
            return False
        return query.get("instance_id", item["instance_id"]) == item["instance_id"]

    def map_concurrently(self, function, items):
        outcomes = []
        for item in items:
            try:
                outcomes.append((function(item), None))
            except KooPhoneError as error:
                outcomes.append((None, error))
        return outcomes

    @staticmethod
    def poll(read, is_done, wait_timeout, interval=1.0, max_interval=5.0):
        value = read()  # one reading is enough for these tests: no sleeping
        return is_done(value), value


def phone(number, prefix="kp", **fields):
    item = {
        "instance_id": "%s%05d" % (prefix[:3], number),
        "instance_name": "%s-%05d" % (prefix, number),
        "running_status": 2,
        "assign_status": 0,
        "assign_user": "",
        "backup_status": 0,
    }
    item.update(fields)
    return item


def lost(operation="CreateInstance"):
    return KooPhoneError("connection broke", operation=operation, maybe_applied=True)


# ---------------------------------------------------------------- validation


def params(**overrides):
    values = dict(
        state="present",
        instance_ids=None,
        name_prefix="shop",
        count=3,
        sku_id=None,
        band_sku_id=None,
        band_size=None,
        region=None,
        os=None,
        network=None,
        period_type="month",
        period_num=1,
        auto_pay=False,
        auto_renew=False,
        user_id=None,
        force=False,
        wait=True,
        wait_timeout=600,
    )
    values.update(overrides)
    return values


@pytest.mark.parametrize(
    "option,overrides",
    [
        ("name_prefix", dict(name_prefix="p" * 15)),
        ("name_prefix", dict(name_prefix="  ")),
        ("count", dict(count=0)),
        ("count", dict(count=100000)),
        ("period_num", dict(period_type="month", period_num=10)),
        ("period_num", dict(period_type="year", period_num=4)),
        ("period_num", dict(period_num=0)),
        ("os", dict(os="Android11")),
        ("band_size", dict(band_size=-4.0)),
        ("band_size", dict(band_size=0.0)),
        ("user_id", dict(state="assigned", name_prefix=None, instance_ids=["a"], user_id="u" * 33)),
        ("instance_ids", dict(state="absent", name_prefix=None, instance_ids=["x" * 33])),
        ("instance_ids", dict(state="absent", name_prefix=None, instance_ids=["ok", ""])),
        ("instance_ids", dict(instance_ids=["a"])),
        ("sku_id", dict(sku_id="s" * 65)),
        ("region", dict(region="r" * 65)),
        ("band_sku_id", dict(band_sku_id="b" * 65)),
        ("wait_timeout", dict(wait_timeout=0)),
    ],
)
def test_bad_inputs_name_the_option(option, overrides):
    with pytest.raises(InvalidOption) as raised:
        module.validate(params(**overrides))
    assert raised.value.option == option
    assert option in str(raised.value)


def test_good_inputs_pass():
    module.validate(params(count=99999, period_type="year", period_num=3, os="AOSP14", band_size=4.0))
    module.validate(params(state="prepared", name_prefix=None, instance_ids=["a" * 32], user_id="u" * 32))


# ---------------------------------------------------------------- the SKU catalogue

CATALOGUE = {
    "bandInfo": {"cbcSkuld": "kp.bandwidth"},  # the PDF's spelling must be read too
    "skuSpecResponseList": [
        {
            "regionId": "cn-north-4",
            "skuResponses": [
                {
                    "type": "PROFESSIONAL",
                    "cbcSkuId": "kp.pro",
                    "calcSpec": "4vCPUs | 8GB",
                    "bandSize": "4,8",
                    "chargeMode": 2,
                    "poolInfo": {
                        "aosp": [
                            {"version": "AOSP11", "resPoolId": "p1", "id": "40", "network": "EIP", "enable": True},
                            {"version": "AOSP14", "resPoolId": "p2", "id": 41, "network": "ADN", "enable": True},
                            {"version": "AOSP9", "resPoolId": "p3", "id": 42, "network": "EIP", "enable": False},
                        ]
                    },
                }
            ],
        },
        {"regionId": "cn-north-7", "skuResponses": [{"type": "ENTERPRISE", "cbcSkuld": "kp.ent", "bandSize": "8"}]},
    ],
}


def offer_params(**overrides):
    return params(**dict(dict(region="cn-north-4", sku_id="kp.pro", os="AOSP11", band_size=4.0), **overrides))


def choose(**overrides):
    catalogue = skus.flatten(CATALOGUE)
    return kpi.choose_offer(catalogue, skus.band_sku_id(CATALOGUE), offer_params(**overrides))


def test_flatten_reads_both_spellings_and_only_enabled_versions():
    flat = skus.flatten(CATALOGUE)
    assert [(s["region_id"], s["sku_id"]) for s in flat] == [("cn-north-4", "kp.pro"), ("cn-north-7", "kp.ent")]
    assert flat[0]["os_versions"] == ["AOSP11", "AOSP14"]
    assert flat[0]["band_sizes"] == [4, 8]
    assert flat[0]["pools"][0]["id"] == "40" and flat[0]["pools"][1]["id"] == "41"
    assert skus.band_sku_id(CATALOGUE) == "kp.bandwidth"


def test_sku_info_module_still_uses_the_shared_flatten():
    assert koophone_sku_info.read_catalogue is skus.read_catalogue


def test_a_good_choice_returns_the_bandwidth_sku_and_default_network():
    offer, band_sku_id, network = choose()
    assert (offer["sku_id"], band_sku_id, network) == ("kp.pro", "kp.bandwidth", "EIP")


@pytest.mark.parametrize(
    "option,overrides,listed",
    [
        ("region", dict(region=None, sku_id=None), ["cn-north-4: kp.pro", "cn-north-7: kp.ent", "sku_id"]),
        ("region", dict(region="mars-1"), ["'mars-1'", "cn-north-4: kp.pro", "cn-north-7: kp.ent"]),
        ("sku_id", dict(sku_id=None), ["cn-north-4: kp.pro"]),
        ("sku_id", dict(sku_id="kp.ent"), ["not sold in cn-north-4", "kp.pro"]),
        ("os", dict(os=None), ["AOSP11, AOSP14"]),
        ("os", dict(os="AOSP9"), ["AOSP11, AOSP14"]),  # a disabled pool is not on offer
        ("network", dict(network="ADN"), ["offers EIP"]),
        ("band_size", dict(band_size=None), ["4/8"]),
        ("band_size", dict(band_size=6.0), ["4/8"]),
        ("band_sku_id", dict(band_sku_id="kp.other"), ["kp.bandwidth"]),
    ],
)
def test_wrong_or_missing_choices_list_what_the_catalogue_offers(option, overrides, listed):
    with pytest.raises(InvalidOption) as raised:
        choose(**overrides)
    assert raised.value.option == option
    for text in listed:
        assert text in str(raised.value)
    if option != "region":
        assert "cn-north-7" not in str(raised.value)  # only the region asked for


def test_create_body_sends_the_reference_field_names():
    client = FakeClient(on_call=lambda name, body: {"error_code": "0", "data": CATALOGUE})
    body = module.create_body(client, offer_params(period_type="year", period_num=2, auto_pay=True, band_size=8.0))
    assert client.calls == [("BatchShowSku", None)]
    assert body == {
        "os": "AOSP11",
        "instanceSkuId": "kp.pro",
        "bandSkuId": "kp.bandwidth",
        "regionId": "cn-north-4",
        "instanceNamePrefix": "shop",
        "bandSize": 8,
        "chargeParam": {"chargingMode": 1, "periodType": 3, "periodNum": 2, "isAutoPay": 1, "isAutoRenew": 0},
        "network": "EIP",
    }


# ---------------------------------------------------------------- creating only the shortfall


class CreatingService:
    """Creates what it is asked for into the fleet; a scripted fault may hit a call.

    With ``listed=False`` the new instances are not listed (an unpaid order, a slow listing).
    """

    def __init__(self, prefix="shop", existing=0, faults=None, listed=True, exact_name_filter=False):
        self.prefix = prefix
        self.client = FakeClient(
            [phone(n, prefix) for n in range(1, existing + 1)], self.answer, exact_name_filter=exact_name_filter
        )
        self.faults = list(faults or [])
        self.listed = listed
        self.unlisted = []

    def answer(self, name, body):
        if name == "BatchShowSku":
            return {"error_code": "0", "data": CATALOGUE}
        if name == "BatchShowInstance":  # new instances run at once
            results = [{"instance_id": i, "status": 2} for i in body["instance_ids"]]
            return {"error_code": "0", "data": {"status_results": results}}
        fault = self.faults.pop(0) if self.faults else None
        if fault == "refused":
            raise KooPhoneError("out of stock", operation=name, error_code="KOOPHONE.API.40010")
        if fault == "5xx":  # not applied, but the client cannot know
            raise lost(name)
        first = len(self.client.fleet) + len(self.unlisted) + 1
        new = [phone(n, self.prefix) for n in range(first, first + body["count"])]
        (self.client.fleet if self.listed else self.unlisted).extend(new)
        if fault == "lost":  # applied, answer lost
            raise lost(name)
        infos = [{"instanceId": item["instance_id"], "instanceName": item["instance_name"]} for item in new]
        return {"error_code": "0", "error_msg": "OK", "data": {"orderId": "CS%d" % first, "instanceInfos": infos}}

    def counts(self):
        return [body["count"] for name, body in self.client.calls if name == "CreateInstance"]


def create(service, count, wait_timeout=600):
    """create_shortfall as ensure_present runs it; returns (what kp.result recorded, the error or None)."""
    kp = fake_kp.FakeKp(service.client, params(count=count, wait_timeout=wait_timeout))
    module.start_changing(kp, {"created_instance_ids": [], "order_ids": []})
    error = module.create_shortfall(kp, {"os": "AOSP11"}, len(service.client.fleet))
    return kp.result, error


def test_a_large_shortfall_is_split_into_calls_of_1500():
    service = CreatingService(existing=200)
    done, error = create(service, 3400)
    assert error is None
    assert service.counts() == [1500, 1500, 200]
    assert len(done["order_ids"]) == 3 and len(service.client.fleet) == 3400
    assert len(done["created_instance_ids"]) == 3200 and done["changed"] is True


def test_a_lost_answer_is_re_read_and_never_created_twice():
    service = CreatingService(faults=["lost"])
    done, error = create(service, 4)
    assert error is None
    assert service.counts() == [4]
    assert len(service.client.fleet) == 4
    assert done["order_ids"] == []  # the order id was in the lost answer
    assert done["changed"] is True


def test_a_lost_first_chunk_is_proven_before_the_second_is_ordered():
    service = CreatingService(faults=["lost"])
    _done, error = create(service, 1600)
    assert error is None
    assert service.counts() == [1500, 100]
    assert len(service.client.fleet) == 1600


def test_an_unproven_create_stops_instead_of_ordering_again():
    service = CreatingService(faults=["5xx"])
    done, error = create(service, 3, wait_timeout=1)
    assert service.counts() == [3]
    assert service.client.fleet == []
    assert error.maybe_applied and "nothing more was created" in str(error)
    assert done["order_ids"] == []
    assert done["changed"] is True  # the order may have been placed


def test_a_refused_later_chunk_keeps_what_was_ordered():
    service = CreatingService(faults=[None, "refused"])
    done, error = create(service, 2000)
    assert service.counts() == [1500, 500]
    assert error.error_code == "KOOPHONE.API.40010" and not error.maybe_applied
    assert done["order_ids"] == ["CS1"] and len(service.client.fleet) == 1500
    assert done["changed"] is True and len(done["created_instance_ids"]) == 1500


@pytest.mark.parametrize(
    "answer,ids,order",
    [
        ({"data": {"orderId": "O1", "instanceInfos": [{"instanceId": "a", "instanceName": "x-00001"}]}}, ["a"], "O1"),
        ({"data": {"data": {"orderId": "O2", "instanceInfos": [{"instanceId": "b"}]}}}, ["b"], "O2"),
        ({"data": {"orderId": "O3", "instance_infos": [{"instance_id": "c"}, {}]}}, ["c"], "O3"),
        ({"data": {"orderId": "O4"}}, [], "O4"),
        ({"error_code": "0"}, [], None),
    ],
)
def test_create_answers_are_read_in_every_shape(answer, ids, order):
    assert kpi.created_instance_ids(answer) == ids
    assert kpi.order_id(answer) == order


# ---------------------------------------------------------------- reading


def test_read_by_prefix_keeps_only_numbered_names_in_number_order():
    fleet = [phone(2, "shop"), phone(1, "shop-old"), phone(10, "shop"), phone(1, "myshop"), phone(1, "shop")]
    items = kpi.read_by_prefix(FakeClient(fleet), "shop")
    assert [item["instance_name"] for item in items] == ["shop-00001", "shop-00002", "shop-00010"]


def test_few_ids_are_looked_up_one_by_one_many_read_the_fleet_once():
    fleet = [phone(n) for n in range(1, 31)]
    client = FakeClient(fleet)
    ids = [item["instance_id"] for item in fleet]
    assert sorted(kpi.read_by_ids(client, ids[:3] + ["missing"])) == sorted(ids[:3])
    assert len(client.listings) == 4
    client.listings = []
    assert sorted(kpi.read_by_ids(client, ids[:12])) == sorted(ids[:12])
    assert client.listings == [{}]


def test_targets_report_missing_ids_in_the_order_asked():
    fleet = [phone(n) for n in range(1, 4)]
    targets = kpi.Targets(FakeClient(fleet), ["kp00003", "gone", "kp00001", "kp00003"])
    items, missing = targets.read()
    assert [item["instance_id"] for item in items] == ["kp00003", "kp00001"]
    assert missing == ["gone"]


# ---------------------------------------------------------------- applying chunks


def test_a_lost_chunk_is_re_read_and_only_what_still_needs_it_is_sent_again():
    fleet = [phone(n) for n in range(1, 26)]
    ids = [item["instance_id"] for item in fleet]
    sent = []

    def answer(name, body):
        pairs = body["user_instances"]
        sent.append([pair["instance_id"] for pair in pairs])
        if len(sent) == 2:
            pairs = pairs[:5]  # the second chunk: only half of it applied, and its answer was lost
        for pair in pairs:
            item = next(i for i in fleet if i["instance_id"] == pair["instance_id"])
            item["assign_status"] = 0
        if len(sent) == 2:
            raise lost(name)
        return {"error_code": "0", "data": {"task_id": "RM_%d" % len(sent)}}

    client = FakeClient(fleet, answer)
    for item in fleet:
        item.update(assign_status=1, assign_user="u1")
    outcome = kpi.apply_batched(
        client,
        "CancelInstance",
        ids,
        lambda chunk: {"user_instances": [{"user_id": "u1", "instance_id": i} for i in chunk]},
        reread=lambda wanted: kpi.read_by_ids(client, wanted),
        still_needed=lambda item: item is not None and kpi.is_assigned_to(item, "u1"),
    )
    assert outcome.failures == [] and outcome.maybe == []
    # The lost chunk is re-read: its applied half is left alone, the other half is sent once more.
    assert sent[3] == ids[15:20]
    assert [len(chunk) for chunk in sent] == [10, 10, 5, 5]
    assert kpi.task_ids(outcome.answers) == ["RM_1", "RM_3", "RM_4"]
    assert outcome.done == ids
    assert not [item for item in fleet if kpi.is_assigned(item)]


def test_without_a_re_read_a_lost_chunk_is_a_failure_that_may_have_applied():
    def lose_every_answer(name, body):
        raise lost(name)

    client = FakeClient(on_call=lose_every_answer)
    outcome = kpi.apply_batched(client, "BatchRebootInstance", ["a", "b"], lambda c: {"instance_ids": c})
    assert outcome.answers == [] and len(client.calls) == 1
    assert outcome.failures[0].ids == ["a", "b"] and outcome.failures[0].to_dict()["maybe_applied"] is True
    assert outcome.done == [] and outcome.maybe == ["a", "b"] and outcome.changed


def test_a_failed_re_read_leaves_the_lost_chunk_unsent_and_maybe_changed():
    def answer(name, body):
        if name == "DeleteInstance":
            raise lost(name)
        return {"error_code": "0"}

    def broken_reread(ids):
        raise KooPhoneError("read failed", operation="ListInstances", status=503)

    client = FakeClient(on_call=answer)
    outcome = kpi.apply_batched(
        client, "DeleteInstance", ["a"], lambda c: {"instanceIdList": c}, broken_reread, lambda i: i is not None
    )
    assert len(client.calls) == 1 and outcome.maybe == ["a"] and outcome.failures[0].error.maybe_applied


def test_task_ids_read_both_shapes():
    answers = [{"data": {"task_id": "RM_1"}}, {"data": {"data": {"task_id": "RM_2"}}}, {"data": None}]
    assert kpi.task_ids(answers) == ["RM_1", "RM_2"]


def test_tasks_the_service_does_not_know_are_left_untracked():
    def answer(name, body):
        raise KooPhoneError("task not found", operation=name, error_code="KOOPHONE.API.1323")

    watcher = kpi.TaskWatcher(FakeClient(on_call=answer))
    assert watcher.unfinished(["RM_1"]) == []
    assert watcher.untracked == ["RM_1"]


def test_unfinished_and_failed_jobs():
    jobs = {
        "RM_1": [{"job_id": "a", "status": 1}, {"job_id": "b", "status": 2}],
        "RM_2": [{"job_id": "c", "status": -1, "error_msg": "broken"}],
    }
    client = FakeClient()
    client.call = lambda name, path_params=None, **kw: {
        "error_code": "0",
        "data": {"jobs": jobs[path_params["task_id"]]},
    }
    watcher = kpi.TaskWatcher(client)
    assert watcher.unfinished(["RM_1", "RM_2"]) == ["RM_1"]
    assert [job["job_id"] for job in watcher.failed_jobs()] == ["c"]


# ---------------------------------------------------------------- status judgements


@pytest.mark.parametrize(
    "fields,backed_up",
    [
        (dict(backup_status=2, running_status=1), True),
        (dict(backup_status=2, running_status=2), False),  # restored since: back it up again
        (dict(backup_status=0, running_status=1), False),
        (dict(backup_status=3, running_status=1), False),
    ],
)
def test_backed_up_means_successful_and_released(fields, backed_up):
    assert kpi.is_backed_up(phone(1, **fields)) is backed_up


def test_assignment_compares_users_as_text():
    item = phone(1, assign_status=1, assign_user=1123422)
    assert kpi.is_assigned_to(item, "1123422")
    assert not kpi.is_assigned_to(item, "1123423")
    assert not kpi.is_assigned_to(phone(1, assign_status=0, assign_user="x"), "x")


# ---------------------------------------------------------------- what a run reports (KooPhoneModule + fake client)

MUTATING = {
    "CreateInstance",
    "DeleteInstance",
    "BatchRebootInstance",
    "BatchResetInstance",
    "ProvisionInstance",
    "CancelInstance",
    "BatchPrepareInstances",
    "BatchBackupInstances",
}


def kp_for(client, check_mode=False, **overrides):
    return fake_kp.FakeKp(client, params(**overrides), check_mode=check_mode)


def failed_run(kp):
    """Run the module as kp.run does (errors become fail_json); return what it failed with."""
    with pytest.raises(fake_kp.ModuleExit):
        kp.run(module.run)
    return kp.module.failed


def mutations(client, name=None):
    return [body for op, body in client.calls if op in MUTATING and (name is None or op == name)]


# Finding: a paid order whose instances are not listed yet was reported as no change.


def test_a_paid_order_not_listed_yet_is_reported_changed_with_its_ids():
    service = CreatingService(listed=False)
    kp = kp_for(service.client, **offer_params(count=2, wait=True))
    result = module.run(kp)
    assert service.counts() == [2]
    assert result["changed"] is True
    assert result["order_ids"] == ["CS1"]
    assert result["created_instance_ids"] == ["sho00001", "sho00002"] == result["changed_instance_ids"]
    assert result["instances"] == []
    assert "not listed yet" in kp.module.warnings[0]
    # Nothing unlisted is waited for (an unpaid order would only time out).
    assert not [op for op, _body in service.client.calls if op == "BatchShowInstance"]


def test_an_unproven_create_reports_changed_on_failure():
    service = CreatingService(faults=["5xx"])
    result = failed_run(kp_for(service.client, **offer_params(count=2, wait_timeout=1)))
    assert result["changed"] is True and result["maybe_applied"] is True
    assert result["created_instance_ids"] == [] and "nothing more was created" in result["msg"]


# Finding: a read error after an accepted change lost `changed` and what was done.


class BreaksAfterChange(FakeClient):
    """Answers every change; once one was accepted, every read fails (a 503 on a repeatable read)."""

    def __init__(self, fleet):
        super().__init__(fleet, self.answer)
        self.changed = False

    def answer(self, name, body):
        if name in MUTATING:
            self.changed = True
            if name == "CreateInstance":
                return {"error_code": "0", "data": {"orderId": "O1", "instanceInfos": [{"instanceId": "new00001"}]}}
            if name == "BatchPrepareInstances":
                entries = [{"instance_id": i, "status": 1} for i in body["instance_ids"]]
                return {"error_code": "0", "data": {"status_list": entries}}
            return {"error_code": "0", "data": {"task_id": "RM_1"}}
        self.read(name)
        if name == "BatchShowSku":
            return {"error_code": "0", "data": CATALOGUE}
        return {"error_code": "0", "data": {}}

    def read(self, name):
        if self.changed:
            raise KooPhoneError("read failed", operation=name, status=503)

    def list_all(self, operation_name, query=None, page_size=100, path_params=None, key=None):
        self.read(operation_name)
        return super().list_all(operation_name, query, page_size, path_params, key)


@pytest.mark.parametrize(
    "state,fields,extra,expected",
    [
        ("present", {}, offer_params(count=3), dict(order_ids=["O1"], created_instance_ids=["new00001"])),
        ("restarted", {}, {}, {}),
        ("reset", {}, {}, dict(task_ids=["RM_1"])),
        ("assigned", {}, dict(user_id="u1"), {}),
        ("unassigned", dict(assign_status=1, assign_user="u1"), {}, dict(task_ids=["RM_1"])),
        ("prepared", dict(assign_status=1, assign_user="u1", running_status=1), dict(user_id="u1"), {}),
        ("backed_up", {}, {}, dict(task_ids=["RM_1"])),
    ],
)
def test_a_read_error_after_a_change_still_reports_what_was_done(state, fields, extra, expected):
    fleet = [phone(n, **fields) for n in (1, 2)]
    client = BreaksAfterChange(fleet)
    targeting = dict(name_prefix="kp") if state == "present" else dict(name_prefix=None, instance_ids=["kp00001"])
    result = failed_run(kp_for(client, **dict(extra, state=state, **targeting)))
    assert "read failed" in result["msg"]
    assert len(mutations(client)) == 1
    assert result["changed"] is True
    changed = ["new00001"] if state == "present" else ["kp00001"]
    assert result["changed_instance_ids"] == changed
    for key, value in expected.items():
        assert result[key] == value


# Findings: lost reboot/reset/backup answers count as a change, and a backup is never sent twice.


def lose(operation):
    def answer(name, body):
        if name == operation:
            raise lost(name)  # nothing applied; the module cannot know
        return {"error_code": "0", "data": {}}

    return answer


@pytest.mark.parametrize("state,operation", [("restarted", "BatchRebootInstance"), ("reset", "BatchResetInstance")])
def test_lost_action_answers_are_a_change_that_may_have_happened(state, operation):
    client = FakeClient([phone(n) for n in (1, 2)], lose(operation))
    result = failed_run(kp_for(client, state=state, name_prefix=None, instance_ids=["kp00001", "kp00002"]))
    assert len(mutations(client, operation)) == 1
    assert result["changed"] is True
    assert result["changed_instance_ids"] == []
    assert result["maybe_changed_instance_ids"] == ["kp00001", "kp00002"]
    assert result["failed_chunks"][0]["maybe_applied"] is True


def test_a_lost_backup_answer_is_never_sent_again():
    # backup_status 0 "preparing" is also what a phone that was never backed up shows: a re-read
    # cannot tell a queued backup from none, so the chunk must not be sent twice.
    fleet = [phone(n) for n in range(1, 61)]
    client = FakeClient(fleet, lose("BatchBackupInstances"))
    ids = [item["instance_id"] for item in fleet]
    result = failed_run(kp_for(client, state="backed_up", name_prefix=None, instance_ids=ids))
    assert [len(body["instance_ids"]) for body in mutations(client)] == [50, 10]
    assert result["changed"] is True
    assert result["maybe_changed_instance_ids"] == ids
    assert all(chunk["maybe_applied"] for chunk in result["failed_chunks"])


def test_an_accepted_and_a_lost_backup_chunk():
    fleet = [phone(n) for n in range(1, 61)]
    ids = [item["instance_id"] for item in fleet]

    def answer(name, body):
        if name == "BatchBackupInstances":
            if len(body["instance_ids"]) == 10:
                raise lost(name)
            return {"error_code": "0", "data": {"task_id": "RM_1"}}
        return {"error_code": "0", "data": {}}

    result = failed_run(kp_for(FakeClient(fleet, answer), state="backed_up", name_prefix=None, instance_ids=ids))
    assert result["changed_instance_ids"] == ids[:50] and result["maybe_changed_instance_ids"] == ids[50:]
    assert result["task_ids"] == ["RM_1"] and result["changed"] is True


# Finding: `changed` stayed true when every chunk was refused.


def refuse(operation):
    def answer(name, body):
        if name == operation:
            raise KooPhoneError("refused", operation=name, error_code="KOOPHONE.API.5005")
        return {"error_code": "0", "data": {}}

    return answer


@pytest.mark.parametrize(
    "state,operation,fields,extra",
    [
        ("assigned", "ProvisionInstance", {}, dict(user_id="u1")),
        ("unassigned", "CancelInstance", dict(assign_status=1, assign_user="u1"), {}),
        (
            "prepared",
            "BatchPrepareInstances",
            dict(assign_status=1, assign_user="u1", running_status=1),
            {"user_id": "u1"},
        ),
        ("restarted", "BatchRebootInstance", {}, {}),
        ("backed_up", "BatchBackupInstances", {}, {}),
        ("absent", "DeleteInstance", {}, {}),
    ],
)
def test_every_chunk_refused_is_no_change(state, operation, fields, extra):
    client = FakeClient([phone(n, **fields) for n in (1, 2)], refuse(operation))
    kp = kp_for(client, **dict(extra, state=state, name_prefix=None, instance_ids=["kp00001", "kp00002"]))
    result = failed_run(kp)
    assert len(mutations(client)) == 1
    assert result["changed"] is False
    assert result["changed_instance_ids"] == [] and result["maybe_changed_instance_ids"] == []
    assert result["failed_chunks"][0]["maybe_applied"] is False


# Finding: a service whose instance_name filter matches whole names only must not make every run buy.


def test_an_exact_match_name_filter_never_buys_twice():
    service = CreatingService(existing=3, exact_name_filter=True)
    client = service.client
    # The filter finds none of shop-00001..3; the unfiltered fleet proves nothing is missing.
    result = module.run(kp_for(client, **offer_params(count=3)))
    assert result["changed"] is False and result["to_create"] == 0 and len(result["instances"]) == 3
    assert client.listings == [{"instance_name": "shop"}, {}]

    check = module.run(kp_for(client, check_mode=True, **offer_params(count=5)))
    assert check["changed"] is True and check["to_create"] == 2 and service.counts() == []
    assert check["diff"]["after"]["count"] == 5

    result = module.run(kp_for(client, **offer_params(count=5)))
    assert service.counts() == [2]
    assert result["changed"] is True and len(result["created_instance_ids"]) == 2
    assert [item["instance_name"] for item in result["instances"]] == ["shop-%05d" % n for n in range(1, 6)]

    for _run in range(2):
        result = module.run(kp_for(client, **offer_params(count=5)))
        assert result["changed"] is False
    assert service.counts() == [2] and len(client.fleet) == 5


def test_enough_instances_in_the_filtered_listing_need_no_fleet_read():
    service = CreatingService(existing=3)
    result = module.run(kp_for(service.client, **offer_params(count=3)))
    assert result["changed"] is False and service.client.listings == [{"instance_name": "shop"}]
