# Copyright: (c) 2026, koophone.cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the koophone.cloud collection (shared layer; see docs/development.md): not a public API,
# it may change in any release. Do not import it from other collections or standalone plugins.
"""Every KooPhone API operation, declared once.

The client reads this table to decide how to call an operation: where its id list lives and
how big a chunk may be, whether a failed attempt may be repeated, and whether x-request-id
also travels in the query string. Names are the API Explorer operationIds.

Choices where the sources disagree (../shared/reference/API-EXPLORER-DIFF.md):
- chunk by the smaller limit: backup 50 (JSON) not 100, unassign 10 (JSON) not unlimited,
  assign/delete/prepare 100 (reference) where the JSON sets none;
- create is split by 1,500 instances (reference) although the JSON allows 2,000;
- batch-query pages of at most 100 by default; the JSON allows 200, the reference states none;
- x-request-id is sent as a header on every call, and also as a query parameter for
  batch-query, where both sources place it in the query.

``repeatable`` is false for operations that change something each time they run (a second
reboot reboots again, a second create pays twice, a second auth call issues a second device
token, and the caller would only ever see one of them). The client retries those only when the
request provably never reached the service.
"""

from collections import namedtuple

Operation = namedtuple(
    "Operation",
    ["name", "method", "path", "ids_field", "chunk_size", "repeatable", "request_id_in_query"],
)

IAM_LOGIN = "KeystoneCreateUserTokenByPassword"

_TABLE = [
    Operation("SyncInvokeInstance", "POST", "/v1/instances/sync-command", "instance_ids", 100, False, False),
    Operation("AsyncInvokeInstance", "POST", "/v1/instances/async-command", "instance_ids", 100, False, False),
    Operation("ExecuteJob", "GET", "/v1/instances/tasks/{task_id}", None, None, True, False),
    Operation("SetVideo", "PUT", "/v1/instances/video-setting", "instance_ids", 100, True, False),
    Operation("BatchShowInstance", "POST", "/v1/instances/batch-query-status", "instance_ids", 100, True, False),
    Operation("BatchResetInstance", "POST", "/v1/instances/batch-reset", "instance_ids", 100, False, False),
    Operation("ExecuteInstanceAuthToken", "POST", "/v1/instances/{instance_id}/auth", None, None, False, False),
    Operation("ProvisionInstance", "POST", "/v1/instances/assign", "user_instances", 100, False, False),
    Operation("CancelInstance", "POST", "/v1/instances/unassign", "user_instances", 10, False, False),
    Operation("ListInstances", "GET", "/v1/instances/batch-query", None, None, True, True),
    Operation("BatchRebootInstance", "POST", "/v1/instances/reboot", "instance_ids", 100, False, False),
    Operation("BatchShowSku", "GET", "/v1/instances/sku", None, None, True, False),
    Operation("CreateInstance", "POST", "/v1/instances/create", None, 1500, False, False),
    Operation("DeleteInstance", "POST", "/v1/instances/delete", "instanceIdList", 100, False, False),
    Operation("BatchPrepareInstances", "POST", "/v1/instances/prepare", "instance_ids", 100, False, False),
    Operation("ShowProgress", "POST", "/v1/instances/prepare-progress", None, None, True, False),
    Operation("BatchBackupInstances", "POST", "/v1/instances/backup", "instance_ids", 50, False, False),
    Operation("StopInstancesStreaming", "POST", "/v1/instances/streaming/stop", None, None, True, False),
    Operation("StopInstancesSession", "POST", "/v1/instances/session/release", None, None, True, False),
    Operation("InstallApp", "POST", "/v1/instances/app/install", "instance_id_list", 100, False, False),
    Operation("ListInstanceApp", "GET", "/v1/instances/{instance_id}/app-list", None, None, True, False),
]

OPERATIONS = dict((op.name, op) for op in _TABLE)

# Page sizes for the paged listings: (default, maximum). See the module docstring.
LIST_INSTANCES_PAGE_SIZE = (100, 200)
LIST_INSTANCE_APPS_PAGE_SIZE = (200, 200)


def get(name):
    return OPERATIONS[name]
