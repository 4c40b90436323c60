"""koophone_instance's decisions, with a scripted client: validation, the SKU catalogue checks,
creating only the shortfall (and never twice after a lost answer), re-reading lost chunks."""

import pytest

from ansible_collections.koophone.cloud.plugins.module_utils import instances as kpi
from ansible_collections.koophone.cloud.plugins.module_utils import skus
from ansible_collections.koophone.cloud.plugins.module_utils.client import ChunkResult
from ansible_collections.koophone.cloud.plugins.module_utils.errors import InvalidOption, KooPhoneError
from ansible_collections.koophone.cloud.plugins.modules import koophone_instance as module
from ansible_collections.koophone.cloud.plugins.modules import koophone_sku_info

# ---------------------------------------------------------------- a scripted client


class FakeClient:
    """Records calls; ``fleet`` is what batch-query lists; ``on_call`` decides each call's fate."""

    def __init__(self, fleet=None, on_call=None):
        self.fleet = list(fleet or [])
        self.calls = []
        self.listings = []
        self.on_call = on_call or (lambda name, body: {"error_code": "0"})

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
        return [
            dict(item)
            for item in self.fleet
            if query.get("instance_name", "") in item["instance_name"]
            and query.get("instance_id", item["instance_id"]) == item["instance_id"]
        ]

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
    """Creates what it is asked for into the fleet; a scripted fault may hit a call."""

    def __init__(self, prefix="shop", existing=0, faults=None):
        self.prefix = prefix
        self.client = FakeClient([phone(n, prefix) for n in range(1, existing + 1)], self.answer)
        self.faults = list(faults or [])

    def answer(self, name, body):
        fault = self.faults.pop(0) if self.faults else None
        if fault == "refused":
            raise KooPhoneError("out of stock", operation=name, error_code="KOOPHONE.API.40010")
        if fault == "5xx":  # not applied, but the client cannot know
            raise lost(name)
        first = len(self.client.fleet) + 1
        self.client.fleet.extend(phone(n, self.prefix) for n in range(first, first + body["count"]))
        if fault == "lost":  # applied, answer lost
            raise lost(name)
        return {"error_code": "0", "data": {"orderId": "CS%d" % first}}

    def counts(self):
        return [body["count"] for name, body in self.client.calls if name == "CreateInstance"]


def create(service, count, wait_timeout=600):
    return module.create_shortfall(
        service.client, params(count=count, wait_timeout=wait_timeout), {"os": "AOSP11"}, len(service.client.fleet)
    )


def test_a_large_shortfall_is_split_into_calls_of_1500():
    service = CreatingService(existing=200)
    order_ids, error = create(service, 3400)
    assert error is None
    assert service.counts() == [1500, 1500, 200]
    assert len(order_ids) == 3 and len(service.client.fleet) == 3400


def test_a_lost_answer_is_re_read_and_never_created_twice():
    service = CreatingService(faults=["lost"])
    order_ids, error = create(service, 4)
    assert error is None
    assert service.counts() == [4]
    assert len(service.client.fleet) == 4
    assert order_ids == []  # the order id was in the lost answer


def test_a_lost_first_chunk_is_proven_before_the_second_is_ordered():
    service = CreatingService(faults=["lost"])
    _order_ids, error = create(service, 1600)
    assert error is None
    assert service.counts() == [1500, 100]
    assert len(service.client.fleet) == 1600


def test_an_unproven_create_stops_instead_of_ordering_again():
    service = CreatingService(faults=["5xx"])
    order_ids, error = create(service, 3, wait_timeout=1)
    assert service.counts() == [3]
    assert service.client.fleet == []
    assert error.maybe_applied and "nothing more was created" in str(error)
    assert order_ids == []


def test_a_refused_later_chunk_keeps_what_was_ordered():
    service = CreatingService(faults=[None, "refused"])
    order_ids, error = create(service, 2000)
    assert service.counts() == [1500, 500]
    assert error.error_code == "KOOPHONE.API.40010" and not error.maybe_applied
    assert order_ids == ["CS1"] and len(service.client.fleet) == 1500


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
    answers, failures = kpi.apply_batched(
        client,
        "CancelInstance",
        ids,
        lambda chunk: {"user_instances": [{"user_id": "u1", "instance_id": i} for i in chunk]},
        reread=lambda wanted: kpi.read_by_ids(client, wanted),
        still_needed=lambda item: item is not None and kpi.is_assigned_to(item, "u1"),
    )
    assert failures == []
    # The lost chunk is re-read: its applied half is left alone, the other half is sent once more.
    assert sent[3] == ids[15:20]
    assert [len(chunk) for chunk in sent] == [10, 10, 5, 5]
    assert kpi.task_ids(answers) == ["RM_1", "RM_3", "RM_4"]
    assert not [item for item in fleet if kpi.is_assigned(item)]


def test_without_a_re_read_a_lost_chunk_is_a_failure_that_may_have_applied():
    def lose_every_answer(name, body):
        raise lost(name)

    client = FakeClient(on_call=lose_every_answer)
    answers, failures = kpi.apply_batched(client, "BatchRebootInstance", ["a", "b"], lambda c: {"instance_ids": c})
    assert answers == [] and len(client.calls) == 1
    assert failures[0].ids == ["a", "b"] and failures[0].to_dict()["maybe_applied"] is True


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
