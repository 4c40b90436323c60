"""_operations: the one table of the API's operations and the rules the client reads from it."""

import string

import pytest

from ansible_collections.koophone.cloud.plugins.module_utils import _operations as operations

NOT_SAFE_TO_REPEAT = {
    "SyncInvokeInstance",
    "AsyncInvokeInstance",
    "BatchResetInstance",
    "ExecuteInstanceAuthToken",
    "ProvisionInstance",
    "CancelInstance",
    "BatchRebootInstance",
    "CreateInstance",
    "DeleteInstance",
    "BatchPrepareInstances",
    "BatchBackupInstances",
    "InstallApp",
}


def test_all_21_operations_once():
    assert len(operations.OPERATIONS) == 21 == len(operations._TABLE)
    assert operations.get("ListInstances").path == "/v1/instances/batch-query"
    with pytest.raises(KeyError):
        operations.get("ListInstance")


def test_every_path_is_under_v1_instances_and_every_method_is_http():
    for op in operations.OPERATIONS.values():
        assert op.path.startswith("/v1/instances/"), op.name
        assert op.method in ("GET", "POST", "PUT"), op.name


def test_path_parameters():
    params = dict(
        (op.name, [field for _text, field, _spec, _conv in string.Formatter().parse(op.path) if field])
        for op in operations.OPERATIONS.values()
    )
    assert dict((name, fields) for name, fields in params.items() if fields) == {
        "ExecuteJob": ["task_id"],
        "ExecuteInstanceAuthToken": ["instance_id"],
        "ListInstanceApp": ["instance_id"],
    }


def test_what_is_not_safe_to_repeat():
    assert set(op.name for op in operations.OPERATIONS.values() if not op.repeatable) == NOT_SAFE_TO_REPEAT


@pytest.mark.parametrize(
    "name,field,size",
    [
        ("BatchBackupInstances", "instance_ids", 50),  # the smaller limit where the sources differ
        ("CancelInstance", "user_instances", 10),
        ("ProvisionInstance", "user_instances", 100),
        ("DeleteInstance", "instanceIdList", 100),
        ("BatchPrepareInstances", "instance_ids", 100),
        ("InstallApp", "instance_id_list", 100),
        ("SyncInvokeInstance", "instance_ids", 100),
        ("SetVideo", "instance_ids", 100),
        ("CreateInstance", None, 1500),  # a count, split by 1,500 instances per call
    ],
)
def test_id_lists_and_chunk_limits(name, field, size):
    op = operations.get(name)
    assert (op.ids_field, op.chunk_size) == (field, size)


def test_only_batch_query_also_sends_the_request_id_in_the_query():
    assert [op.name for op in operations.OPERATIONS.values() if op.request_id_in_query] == ["ListInstances"]


def test_page_sizes():
    assert operations.LIST_INSTANCES_PAGE_SIZE == (100, 200)
    assert operations.LIST_INSTANCE_APPS_PAGE_SIZE == (200, 200)
