"""_statuses: readable names beside the API's status numbers."""

import pytest

from ansible_collections.koophone.cloud.plugins.module_utils import _statuses as statuses


@pytest.mark.parametrize(
    "table,value,name",
    [
        (statuses.RUNNING_STATUS, 2, "running"),
        (statuses.RUNNING_STATUS, "4", "starting"),
        (statuses.RUNNING_STATUS, 9, "unknown"),
        (statuses.RUNNING_STATUS, None, "unknown"),
        (statuses.RUNNING_STATUS, "x", "unknown"),
        (statuses.JOB_STATUS, -1, "failed"),
        (statuses.JOB_STATUS, 3, "failed"),
        (statuses.PREPARE_STATUS, 6, "offline"),
        (statuses.PREPARE_STATUS, 10, "maintaining"),
        (statuses.PREPARE_PROGRESS_STATUS, -1, "failed"),
        (statuses.PREPARE_PROGRESS_STATUS, 1, "queuing"),
        (statuses.BACKUP_STATUS, 2, "successful"),
    ],
)
def test_name_of(table, value, name):
    assert statuses.name_of(table, value) == name


def test_every_status_field_gets_a_name_beside_its_number_and_the_item_is_not_changed():
    item = {
        "instance_id": "a",
        "running_status": 2,
        "assign_status": "1",
        "frozen_status": 0,
        "login_status": 1,
        "backup_status": 3,
        "restore_status": 2,
    }
    described = statuses.with_status_names(item)
    assert described == dict(
        item,
        running_status_name="running",
        assign_status_name="assigned",
        frozen_status_name="normal",
        login_status_name="logged_in",
        backup_status_name="failed",
        restore_status_name="successful",
    )
    assert "running_status_name" not in item
    assert statuses.with_status_names({"instance_id": "b"}) == {"instance_id": "b"}


def test_cloud_status_uses_the_running_status_numbers():
    assert statuses.CLOUD_STATUS is statuses.RUNNING_STATUS
