"""Batch-query items for the inventory's tests (the plugin's and module_utils/_inventory.py's)."""


def phone(number, **fields):
    item = {
        "instance_id": "id%05d" % number,
        "instance_name": "kp-%05d" % number,
        "region": "cn-north-4",
        "instance_sku": "Professional edition | 4 vCPUs | 8 GB | 32 GB storage | Maximum resolution: 720p",
        "frozen_status": 0,
        "running_status": 2,
        "login_status": 0,
        "assign_status": 0,
        "assign_user": "",
        "billing_mode": "1",
        "backup_status": 0,
        "restore_status": 0,
    }
    item.update(fields)
    return item


# The host variables of the lean set (hostvars: lean, the default).
LEAN = {
    "koophone_instance_id",
    "koophone_instance_name",
    "koophone_region",
    "koophone_running_status",
    "koophone_assign_status",
    "koophone_assign_user",
}
