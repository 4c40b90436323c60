"""_instances: the options' limits, selecting instances by id or by name, what the listing shows,
choosing what to buy from the catalogue, create answers, and preparation progress."""

import pytest

from ansible_collections.koophone.cloud.plugins.module_utils import _instances as kpi
from ansible_collections.koophone.cloud.plugins.module_utils import _skus as skus
from ansible_collections.koophone.cloud.plugins.module_utils._errors import InvalidOption, KooPhoneError
from ansible_collections.koophone.cloud.plugins.modules import koophone_instance


def params(**overrides):
    """The module's options as AnsibleModule passes them: its defaults, then ``overrides``."""
    values = dict((name, spec.get("default")) for name, spec in koophone_instance.argument_spec().items())
    values.update(name_prefix="shop", count=3)
    values.update(overrides)
    return values


# ---------------------------------------------------------------- validation


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
        ("wait_timeout", dict(wait_timeout=86401)),
    ],
)
def test_bad_inputs_name_the_option(refused, option, overrides):
    error = refused(kpi.validate, params(**overrides))
    assert error.option == option and option in str(error)


def test_good_inputs_pass():
    kpi.validate(params(count=99999, period_type="year", period_num=3, os="AOSP14", band_size=4.0))
    kpi.validate(params(state="prepared", name_prefix=None, instance_ids=["a" * 32], user_id="u" * 32))


# ---------------------------------------------------------------- selecting


def names(items):
    return [item["instance_name"] for item in items]


@pytest.mark.parametrize("name_filter", ["part", "whole", "ignored"])
def test_read_by_prefix_keeps_only_numbered_names_in_number_order(fleet, make_client, name_filter):
    fleet.name_filter = name_filter
    fleet.add(2, 10, 1, prefix="shop")
    fleet.add_look_alikes("shop")
    items = kpi.read_by_prefix(make_client(fleet), "shop")
    assert names(items) == ["shop-00001", "shop-00002", "shop-00010"]
    assert fleet.listings() == [{}]  # the whole fleet: the filter's matching rule is not promised


def test_the_server_filter_is_used_only_when_asked_and_names_are_checked_either_way(fleet, make_client):
    fleet.add(1, 2, prefix="shop")
    fleet.add(1, prefix="myshop", instance_id="mys00001")
    assert names(kpi.read_by_prefix(make_client(fleet), "shop", server_filter=True)) == ["shop-00001", "shop-00002"]
    assert fleet.listings() == [{"instance_name": "shop"}]
    fleet.name_filter = "whole"  # a whole-name filter finds none of ours
    assert kpi.read_by_prefix(make_client(fleet), "shop", server_filter=True) == []


def test_a_prefix_with_regex_characters_matches_itself_only(fleet, make_client):
    fleet.add(1, prefix="a.b")
    fleet.add(2, prefix="axb", instance_id="axb00002")
    assert names(kpi.read_by_prefix(make_client(fleet), "a.b")) == ["a.b-00001"]


def test_targets_report_missing_ids_in_the_order_asked(fleet, make_client):
    fleet.add(1, 2, 3)
    targets = kpi.Targets(make_client(fleet), ["kp00003", "gone", "kp00001", "kp00003"])
    items, missing = targets.read()
    assert [item["instance_id"] for item in items] == ["kp00003", "kp00001"]
    assert missing == ["gone"]


def test_targets_by_prefix_read_a_few_again_by_id_and_many_from_the_fleet(fleet, make_client):
    fleet.add(*range(1, 16), prefix="shop")
    targets = kpi.Targets(make_client(fleet), name_prefix="shop")
    items, missing = targets.read()
    assert len(items) == 15 and missing == []
    fleet.calls.clear()
    ids = [item["instance_id"] for item in items]
    assert sorted(targets.read_ids(ids[:2])) == sorted(ids[:2])
    assert fleet.listings() == [{"instance_id": i} for i in ids[:2]]
    fleet.calls.clear()
    assert sorted(targets.read_ids(ids[:12])) == sorted(ids[:12])
    assert fleet.listings() == [{}]


def test_pending_names_the_ids_whose_listing_is_not_done_yet(fleet, make_client):
    fleet.add(1, 2, running_status=2)
    fleet.instances["kp00002"]["running_status"] = 4
    still_pending = kpi.Targets(make_client(fleet), fleet.ids()).pending(kpi.is_running)
    assert still_pending(fleet.ids() + ["gone"]) == ["kp00002", "gone"]


def test_described_adds_status_names():
    (item,) = kpi.described([{"instance_id": "a", "running_status": 2, "assign_status": 1}])
    assert item["running_status_name"] == "running" and item["assign_status_name"] == "assigned"
    assert kpi.describe([{"instance_id": "a", "x": 1}, {"instance_id": "b", "x": 2}], "x") == "a (1), b (2)"


# ---------------------------------------------------------------- what the listing shows


@pytest.mark.parametrize(
    "fields,backed_up",
    [
        (dict(backup_status=2, running_status=1), True),
        (dict(backup_status=2, running_status=2), True),  # a backup need not stop the phone (reference §4.3.3)
        (dict(backup_status="2", running_status=2), True),
        (dict(backup_status=0, running_status=1), False),
        (dict(backup_status=1, running_status=2), False),
        (dict(backup_status=3, running_status=1), False),
    ],
)
def test_backed_up_means_the_last_backup_succeeded(phone, fields, backed_up):
    assert kpi.is_backed_up(phone(1, **fields)) is backed_up


@pytest.mark.parametrize(
    "backup_status,backing_up,finished", [(0, False, False), (1, True, False), (2, False, True), (3, False, True)]
)
def test_a_backup_is_running_or_finished(phone, backup_status, backing_up, finished):
    assert kpi.is_backing_up(phone(1, backup_status=backup_status)) is backing_up
    assert kpi.backup_finished(phone(1, backup_status=backup_status)) is finished


def test_a_deleted_instance_is_no_longer_listed(phone):
    assert kpi.is_gone(None) and kpi.backup_finished(None)
    assert not kpi.is_gone(phone(1, running_status=3))  # going offline is still listed


def test_assignment_compares_users_as_text(phone):
    item = phone(1, assign_status=1, assign_user=1123422)
    assert kpi.is_assigned_to(item, "1123422")
    assert not kpi.is_assigned_to(item, "1123423")
    assert not kpi.is_assigned_to(phone(1, assign_status=0, assign_user="x"), "x")
    assert kpi.is_unassigned(phone(1)) and not kpi.is_unassigned(item) and not kpi.is_unassigned(None)


def test_running_reads_numbers_sent_as_text(phone):
    assert kpi.is_running(phone(1, running_status="2")) and not kpi.is_running(phone(1, running_status=4))
    assert not kpi.is_running(None)


# ---------------------------------------------------------------- buying


def offer_params(**overrides):
    return params(**dict(dict(region="cn-north-4", sku_id="kp.pro", os="AOSP11", band_size=4.0), **overrides))


def choose(catalogue, **overrides):
    return kpi.choose_offer(skus.flatten(catalogue), skus.band_sku_id(catalogue), offer_params(**overrides))


def test_a_good_choice_returns_the_bandwidth_sku_and_the_one_network_the_pool_offers(catalogue):
    offer, band_sku_id, network = choose(catalogue)
    assert (offer["sku_id"], band_sku_id, network) == ("kp.pro", "kp.bandwidth", "EIP")


def test_no_network_is_chosen_where_the_pool_offers_several(catalogue):
    _offer, _band, network = choose(catalogue, os="AOSP14")  # AOSP14 has an ADN and an EIP pool
    assert network is None
    assert choose(catalogue, os="AOSP14", network="ADN")[2] == "ADN"


def test_no_network_is_chosen_where_the_pool_names_none(catalogue):
    for pool in catalogue["skuSpecResponseList"][0]["skuResponses"][0]["poolInfo"]["aosp"]:
        pool.pop("network")
    assert choose(catalogue)[2] is None
    assert choose(catalogue, network="ADN")[2] == "ADN"  # nothing to check it against: sent as given


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
def test_wrong_or_missing_choices_list_what_the_catalogue_offers(catalogue, option, overrides, listed):
    with pytest.raises(InvalidOption) as raised:
        choose(catalogue, **overrides)
    assert raised.value.option == option
    for text in listed:
        assert text in str(raised.value)
    if option != "region":
        assert "cn-north-7" not in str(raised.value)  # only the region asked for


def test_a_catalogue_without_a_bandwidth_sku_needs_band_sku_id(catalogue):
    del catalogue["bandInfo"]
    with pytest.raises(InvalidOption) as raised:
        choose(catalogue)
    assert raised.value.option == "band_sku_id"
    assert choose(catalogue, band_sku_id="kp.mine")[1] == "kp.mine"


def test_an_empty_catalogue_says_so():
    with pytest.raises(InvalidOption) as raised:
        kpi.choose_offer([], None, offer_params())
    assert "nothing (the catalogue is empty)" in str(raised.value)


def test_create_body_sends_the_reference_field_names():
    body = kpi.create_body(offer_params(period_type="year", period_num=2, auto_pay=True, band_size=8.0), "kp.bw", "EIP")
    assert body == {
        "os": "AOSP11",
        "instanceSkuId": "kp.pro",
        "bandSkuId": "kp.bw",
        "regionId": "cn-north-4",
        "instanceNamePrefix": "shop",
        "bandSize": 8,
        "chargeParam": {"chargingMode": 1, "periodType": 3, "periodNum": 2, "isAutoPay": 1, "isAutoRenew": 0},
        "network": "EIP",
    }
    without = kpi.create_body(offer_params(band_size=4.5, auto_renew=True), "kp.bw", None)
    assert "network" not in without and without["bandSize"] == 4.5
    assert without["chargeParam"]["periodType"] == 2 and without["chargeParam"]["isAutoRenew"] == 1


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


# ---------------------------------------------------------------- preparing


@pytest.fixture
def assigned(fleet):
    fleet.add(1, 2, 3, assign_status=1, assign_user="u1")
    return fleet


def test_progress_reads_each_instance_and_names_what_is_neither_ready_nor_failed(assigned, make_client):
    assigned.progress.update(kp00002=1, kp00003=-1)
    progress = kpi.Progress(make_client(assigned), "u1", assigned.ids())
    assert progress.read(assigned.ids()) == ["kp00002"]
    assert assigned.bodies("ShowProgress") == [{"user_id": "u1", "instance_id": i} for i in assigned.ids()]
    assert progress.with_status(kpi.PROGRESS_READY) == ["kp00001"]
    assert progress.with_status(*kpi.NEEDS_PREPARE) == ["kp00003"]
    entry = progress.entries["kp00002"]
    assert entry["progress_status_name"] == "queuing" and entry["queue_position"] == entry["waiting_count"] == 3


def test_the_queue_position_is_the_first_reading_after_the_prepare(assigned, make_client):
    assigned.progress["kp00001"] = 1
    progress = kpi.Progress(make_client(assigned), "u1", ["kp00001"])
    progress.read(["kp00001"])
    assigned.progress["kp00001"] = 0
    progress.read(["kp00001"])
    assert progress.entries["kp00001"]["queue_position"] == 3 and progress.entries["kp00001"]["waiting_count"] == 0


def test_a_failed_reading_raises(assigned, make_client):
    assigned.fault("ShowProgress", KooPhoneError("down", operation="ShowProgress", status=503))
    with pytest.raises(KooPhoneError):
        kpi.Progress(make_client(assigned), "u1", assigned.ids()).read(assigned.ids())


def test_prepare_answers_are_recorded_and_the_blocked_ones_named(assigned, make_client):
    progress = kpi.Progress(make_client(assigned), "u1", assigned.ids())
    answers = [
        {"data": {"status_list": [{"instance_id": "kp00001", "status": 6}, {"instance_id": "other", "status": 9}]}},
        {"data": {"data": {"status_list": [{"instance_id": "kp00002", "status": "0"}]}}},
    ]
    progress.record_prepare(answers)
    assert [entry["instance_id"] for entry in progress.blocked()] == ["kp00001"]
    assert progress.entries["kp00001"]["prepare_status_name"] == "offline"
    assert progress.entries["kp00002"]["prepare_status"] == 0 and progress.entries["kp00003"]["prepare_status"] is None


def test_reread_returns_the_entries_after_reading_again(assigned, make_client):
    progress = kpi.Progress(make_client(assigned), "u1", assigned.ids())
    again = progress.reread(["kp00002"])
    assert list(again) == ["kp00002"] and again["kp00002"]["progress_status"] == 0
    assert len(assigned.calls_to("ShowProgress")) == 1
