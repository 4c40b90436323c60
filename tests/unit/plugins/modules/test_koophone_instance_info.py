"""koophone_instance_info: option checks and what it returns, against the fleet."""

import pytest

from ansible_collections.koophone.cloud.plugins.modules import koophone_instance_info as module


def params(**overrides):
    values = dict(
        instance_ids=None,
        instance_name=None,
        pool_scene_tag=None,
        query_start_time=None,
        query_end_time=None,
        page_size=100,
        include_cloud_status=False,
    )
    values.update(overrides)
    return values


@pytest.mark.parametrize(
    "option,overrides",
    [
        ("instance_ids", dict(instance_ids=["x" * 33])),
        ("instance_name", dict(instance_name="n" * 129)),
        ("query_start_time", dict(query_start_time="2025-01-01")),
        ("query_end_time", dict(query_start_time="2025-02-01 00:00:00", query_end_time="2025-01-01 00:00:00")),
        ("page_size", dict(page_size=0)),
        ("page_size", dict(page_size=201)),
    ],
)
def test_bad_options_name_the_option(refused, option, overrides):
    assert refused(module.validate, params(**overrides)).option == option


def test_every_instance_with_status_names_and_the_filters_sent_to_the_service(fleet, make_client, make_kp):
    fleet.add(*range(1, 151))
    result = module.run(make_kp(make_client(fleet), params(instance_name="kp", pool_scene_tag="CLOUD_PHONE")))
    assert [item["instance_id"] for item in result["instances"]] == fleet.ids()
    assert result["instances"][0]["running_status_name"] == "running" and result["changed"] is False
    assert fleet.listings() == [{"instance_name": "kp", "pool_scene_tag": "CLOUD_PHONE"}] * 2
    assert "missing_instance_ids" not in result


def test_nothing_matching_is_an_empty_list(fleet, make_client, make_kp):
    assert module.run(make_kp(make_client(fleet), params(instance_name="none")))["instances"] == []


def test_ids_are_read_once_in_the_order_given_and_the_missing_ones_named(fleet, make_client, make_kp):
    fleet.add(1, 2, 3)
    result = module.run(make_kp(make_client(fleet), params(instance_ids=["kp00003", "gone", "kp00001", "kp00003"])))
    assert [item["instance_id"] for item in result["instances"]] == ["kp00003", "kp00001"]
    assert result["missing_instance_ids"] == ["gone"]
    assert len(fleet.calls_to("ListInstances")) == 3


def test_cloud_status_comes_from_batch_query_status(fleet, make_client, make_kp):
    fleet.add(1, 2)
    fleet.instances["kp00002"]["running_status"] = 1
    result = module.run(make_kp(make_client(fleet), params(include_cloud_status=True)))
    assert [(i["cloud_status"], i["cloud_status_name"]) for i in result["instances"]] == [
        (2, "running"),
        (1, "stopped"),
    ]
    assert fleet.bodies("BatchShowInstance") == [{"instance_ids": ["kp00001", "kp00002"]}]


def test_a_refused_status_read_fails(fleet, make_client, make_kp):
    fleet.add(1)
    fleet.on("BatchShowInstance", {"error_code": "KOOPHONE.API.1001", "error_msg": "no permission"})
    kp = make_kp(make_client(fleet), params(include_cloud_status=True))
    with pytest.raises(SystemExit):
        kp.run(module.run, validate=module.validate)
    assert kp.module.failed["error_code"] == "KOOPHONE.API.1001"
