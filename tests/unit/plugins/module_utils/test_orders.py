"""_orders: the record of unpaid orders that keeps auto_pay=false from buying one shortfall twice."""

import json

import pytest

from ansible_collections.koophone.cloud.plugins.module_utils import _orders as orders
from ansible_collections.koophone.cloud.plugins.module_utils._errors import KooPhoneError

ENDPOINT = "https://koophone.test"


def order(order_id, ids, prefix="shop", endpoint=ENDPOINT, **fields):
    entry = {"endpoint": endpoint, "name_prefix": prefix, "order_id": order_id, "count": len(ids), "instance_ids": ids}
    entry.update(fields)
    return entry


def write(path, *entries):
    path.write_text(json.dumps({"koophone.cloud": orders.KIND, "orders": list(entries)}))


def read(path):
    return json.loads(path.read_text())["orders"]


@pytest.fixture
def record(tmp_path):
    return tmp_path / "unpaid-orders.json"


def test_no_record_refuses_and_says_how_to_declare_that_nothing_is_pending(record):
    with pytest.raises(KooPhoneError) as raised:
        orders.UnpaidOrders(str(record), ENDPOINT, "shop").outstanding([])
    message = str(raised.value)
    assert message.startswith("Not buying") and str(record) in message and "create it empty" in message
    assert not record.exists()


def test_an_empty_record_means_nothing_is_pending(record):
    record.write_text("")
    assert orders.UnpaidOrders(str(record), ENDPOINT, "shop").outstanding([]) == []
    assert record.read_text() == ""


def test_an_order_not_all_listed_is_outstanding_and_a_listed_one_is_paid_and_dropped(record):
    write(record, order("O1", ["a", "b"]), order("O2", ["c"]))
    outstanding = orders.UnpaidOrders(str(record), ENDPOINT, "shop").outstanding(["a", "b", "x"])
    assert [o["order_id"] for o in outstanding] == ["O2"]
    assert [o["order_id"] for o in read(record)] == ["O2"]


def test_without_pruning_the_record_is_left_as_it_is(record):
    write(record, order("O1", ["a"]))
    text = record.read_text()
    assert orders.UnpaidOrders(str(record), ENDPOINT, "shop").outstanding(["a"], prune=False) == []
    assert record.read_text() == text


def test_only_this_endpoint_and_prefix_count(record):
    write(
        record, order("O1", ["a"], prefix="other"), order("O2", ["b"], endpoint="http://emulator"), order("O3", ["c"])
    )
    outstanding = orders.UnpaidOrders(str(record), ENDPOINT, "shop").outstanding(["a", "b"])
    assert [o["order_id"] for o in outstanding] == ["O3"]
    assert [o["order_id"] for o in read(record)] == ["O1", "O2", "O3"]  # not ours: never dropped


def test_an_order_whose_answer_was_lost_stays_outstanding(record):
    write(record, order(None, [], answered=False))
    outstanding = orders.UnpaidOrders(str(record), ENDPOINT, "shop").outstanding(["a", "b"])
    assert len(outstanding) == 1 and outstanding[0]["answered"] is False


@pytest.mark.parametrize("text", ['{"all": {"hosts": []}}', "not json", '{"koophone.cloud": "video-settings"}'])
def test_a_record_that_is_not_ours_is_refused_and_never_overwritten(record, text):
    record.write_text(text)
    unpaid = orders.UnpaidOrders(str(record), ENDPOINT, "shop")
    with pytest.raises(KooPhoneError, match="the unpaid-order record cannot be used"):
        unpaid.outstanding([])
    assert "could not be recorded" in unpaid.add("O9", 1, ["z"], listed_before=0)
    assert record.read_text() == text


def test_an_order_placed_is_added_with_what_the_next_run_needs(record):
    record.write_text("")
    unpaid = orders.UnpaidOrders(str(record), ENDPOINT, "shop")
    assert unpaid.add("O1", 2, ["a", "b"], listed_before=0) is None
    assert unpaid.add(None, 3, [], listed_before=2, answered=False) is None
    first, lost = read(record)
    assert dict(
        (k, first[k]) for k in ("endpoint", "name_prefix", "order_id", "count", "instance_ids", "answered")
    ) == {
        "endpoint": ENDPOINT,
        "name_prefix": "shop",
        "order_id": "O1",
        "count": 2,
        "instance_ids": ["a", "b"],
        "answered": True,
    }
    assert first["placed_at"].endswith("Z") and lost["answered"] is False and lost["order_id"] is None


def test_the_default_record_is_under_the_cache_home(tmp_path):
    unpaid = orders.UnpaidOrders(None, ENDPOINT, "shop")
    assert unpaid.record.path == str(tmp_path / "cache" / "koophone.cloud" / "unpaid-orders.json")


def test_describe_names_each_order():
    text = orders.describe([order("O1", ["a", "b"], placed_at="T1"), order(None, [], placed_at="T2")])
    assert (
        text
        == "order O1 for 2 instance(s), placed T1, instances a, b; order (answer lost) for 0 instance(s), placed T2"
    )
