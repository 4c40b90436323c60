# Copyright: (c) 2026, koophone.cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the koophone.cloud collection (shared layer; see docs/development.md): not a public API,
# it may change in any release. Do not import it from other collections or standalone plugins.
"""Readable names for the API's status numbers (batch-query fields, reference §4.1.10).

Results keep the raw number and add ``<field>_name`` beside it, so playbooks can test either.
"""

RUNNING_STATUS = {0: "unknown", 1: "stopped", 2: "running", 3: "going_offline", 4: "starting", 5: "shut_down"}
ASSIGN_STATUS = {0: "unassigned", 1: "assigned"}
FROZEN_STATUS = {0: "normal", 1: "frozen"}
LOGIN_STATUS = {0: "logged_out", 1: "logged_in"}
BACKUP_STATUS = {0: "preparing", 1: "executing", 2: "successful", 3: "failed", 4: "other"}
RESTORE_STATUS = BACKUP_STATUS
# batch-query-status: the function text's 0-5 enum, which the API Explorer confirms (DIFF, contradiction 1).
CLOUD_STATUS = RUNNING_STATUS
# prepare (§4.3.1 InstanceStatus) and prepare-progress (§4.3.2); both sources agree.
PREPARE_STATUS = {
    0: "ready",
    1: "to_be_restored",
    2: "to_be_assigned",
    3: "backing_up",
    4: "resetting",
    5: "restarting",
    6: "offline",
    7: "replacing",
    8: "restoring_after_expiry",
    9: "restore_after_expiry_failed",
    10: "maintaining",
}
PREPARE_PROGRESS_STATUS = {0: "ready", 1: "queuing", 2: "restoring_or_offline", 3: "backing_up", -1: "failed"}
# tasks/{task_id} jobs (ExecuteJob.json): commands use 1/2/-1, app installs 0-3 (DIFF, contradiction 14).
# sync-command's CmdResult uses the command numbers too.
JOB_STATUS = {0: "not_started", 1: "running", 2: "succeeded", 3: "failed", -1: "failed"}

INSTANCE_FIELDS = {
    "running_status": RUNNING_STATUS,
    "assign_status": ASSIGN_STATUS,
    "frozen_status": FROZEN_STATUS,
    "login_status": LOGIN_STATUS,
    "backup_status": BACKUP_STATUS,
    "restore_status": RESTORE_STATUS,
}


def name_of(table, value):
    try:
        return table.get(int(value), "unknown")
    except (TypeError, ValueError, OverflowError):  # OverflowError: infinity (1e400 in the JSON)
        return "unknown"


def with_status_names(instance):
    """A copy of a batch-query item with ``<field>_name`` added for every status number it has."""
    described = dict(instance)
    for field, table in INSTANCE_FIELDS.items():
        if field in instance:
            described[field + "_name"] = name_of(table, instance[field])
    return described
