#!/usr/bin/python
# Copyright: (c) 2026, koophone.cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: koophone_instance_info
short_description: List KooPhone cloud phone instances
version_added: 0.1.0
description:
  - Reads every page of the KooPhone batch-query API (C(GET /v1/instances/batch-query)) and returns the
    instances that match the filters.
  - Page 1 is read first; the remaining pages are read concurrently (see O(concurrency)).
  - Optionally adds each instance's live cloud status from batch-query-status
    (C(POST /v1/instances/batch-query-status)).
author:
  - koophone.cloud maintainers (@koophone)
options:
  instance_ids:
    description:
      - Only return these instances. Ids that do not exist are listed in RV(missing_instance_ids), not an error.
      - Up to 10 ids are looked up one filtered request each (concurrently); longer lists read the whole fleet once
        and filter it, which costs fewer requests.
      - Each id is at most 32 characters.
    type: list
    elements: str
  instance_name:
    description:
      - Only return instances with this name (server-side filter C(instance_name), at most 128 characters).
    type: str
  pool_scene_tag:
    description:
      - Only return instances of this resource pool scenario (server-side filter).
    type: str
    choices: [CLOUD_APP, CLOUD_PHONE]
  query_start_time:
    description:
      - Only return instances created at or after this UTC time, formatted C(YYYY-MM-DD HH:MM:SS).
    type: str
  query_end_time:
    description:
      - Only return instances created at or before this UTC time, formatted C(YYYY-MM-DD HH:MM:SS).
      - Must not be earlier than O(query_start_time).
    type: str
  page_size:
    description:
      - Instances per page (1 to 200). The API Explorer allows 200, the reference states no maximum; 100 is the
        safe default. If the service serves smaller pages, the module pages by what it serves.
    type: int
    default: 100
  include_cloud_status:
    description:
      - Also read each returned instance's live status from batch-query-status (one request per 100 instances)
        and add it as C(cloud_status) and C(cloud_status_name).
    type: bool
    default: false
extends_documentation_fragment:
  - koophone.cloud.koophone
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.actiongroups
attributes:
  check_mode:
    support: full
    details: Reads only; runs normally in check mode.
  diff_mode:
    support: N/A
  platform:
    platforms: all
  action_group:
    support: full
    membership:
      - koophone.cloud.koophone
"""

EXAMPLES = r"""
- name: List the whole fleet
  koophone.cloud.koophone_instance_info:
  register: fleet

- name: Show how many phones are running
  ansible.builtin.debug:
    msg: "{{ fleet.instances | selectattr('running_status_name', '==', 'running') | list | length }} running"

- name: Look up two phones, with their live status
  koophone.cloud.koophone_instance_info:
    instance_ids: [5srn5hL8, a44uhlf7]
    include_cloud_status: true
  register: two

- name: Phones created in August 2023 in cloud phone pools
  koophone.cloud.koophone_instance_info:
    pool_scene_tag: CLOUD_PHONE
    query_start_time: "2023-08-01 00:00:00"
    query_end_time: "2023-08-31 23:59:59"

- name: Use the emulator with a token, options shared through module_defaults
  module_defaults:
    group/koophone.cloud.koophone:
      endpoint: http://127.0.0.1:8780
      auth_token: demo-token
  block:
    - name: List instances named kp-00001
      koophone.cloud.koophone_instance_info:
        instance_name: kp-00001
"""

RETURN = r"""
instances:
  description:
    - The matching instances, keyed by the batch-query field names, in the order the API lists them; V([]) when
      nothing matches.
    - Every status number also gets a readable C(<field>_name) companion.
  returned: always
  type: list
  elements: dict
  contains:
    instance_id:
      description: Instance id.
      type: str
      sample: 5srn5hL8
    instance_name:
      description: Instance name.
      type: str
      sample: kp-00001
    region:
      description: Region id.
      type: str
      sample: cn-north-4
    instance_sku:
      description: Instance specification description.
      type: str
    frozen_status:
      description: 0 normal, 1 frozen.
      type: int
    frozen_status_name:
      description: V(normal) or V(frozen).
      type: str
    running_status:
      description: 0 unknown, 1 stopped, 2 running, 3 going offline, 4 starting, 5 shut down.
      type: int
      sample: 2
    running_status_name:
      description: V(unknown), V(stopped), V(running), V(going_offline), V(starting) or V(shut_down).
      type: str
      sample: running
    login_status:
      description: 0 not logged in, 1 logged in.
      type: int
    login_status_name:
      description: V(logged_out) or V(logged_in).
      type: str
    assign_status:
      description: 0 unassigned, 1 assigned.
      type: int
    assign_status_name:
      description: V(unassigned) or V(assigned).
      type: str
    assign_user:
      description: User the phone is assigned to.
      type: str
    billing_mode:
      description: Billing mode.
      type: str
    project_id:
      description: Tenant project id.
      type: str
    project_name:
      description: Tenant project name.
      type: str
    phone_id:
      description: Phone id.
      type: str
    member_name:
      description: User name.
      type: str
    account_name:
      description: Account name.
      type: str
    region_name:
      description: Region name.
      type: str
    region_name_en:
      description: English region name.
      type: str
    backup_status:
      description: 0 preparing, 1 executing, 2 successful, 3 failed, 4 other.
      type: int
    backup_status_name:
      description: V(preparing), V(executing), V(successful), V(failed) or V(other).
      type: str
    backup_time:
      description: Time of the backup status.
      type: str
    restore_status:
      description: 0 preparing, 1 executing, 2 successful, 3 failed, 4 other.
      type: int
    restore_status_name:
      description: V(preparing), V(executing), V(successful), V(failed) or V(other).
      type: str
    restore_time:
      description: Time of the restore status.
      type: str
    cloud_status:
      description: Live status from batch-query-status (same numbers as RV(instances[].running_status)).
      type: int
      returned: when O(include_cloud_status=true)
    cloud_status_name:
      description: Readable name of RV(instances[].cloud_status).
      type: str
      returned: when O(include_cloud_status=true)
missing_instance_ids:
  description: Ids given in O(instance_ids) that the service does not list.
  returned: when O(instance_ids) is set
  type: list
  elements: str
  sample: []
"""

from ansible_collections.koophone.cloud.plugins.module_utils import (
    _operations as operations,
)
from ansible_collections.koophone.cloud.plugins.module_utils import (
    _statuses as statuses,
)
from ansible_collections.koophone.cloud.plugins.module_utils import (
    _validation as validation,
)
from ansible_collections.koophone.cloud.plugins.module_utils._client import listed
from ansible_collections.koophone.cloud.plugins.module_utils._errors import InvalidOption
from ansible_collections.koophone.cloud.plugins.module_utils._module import KooPhoneModule


def validate(params):
    validation.check_ids("instance_ids", params["instance_ids"])
    validation.check_length("instance_name", params["instance_name"], 128)
    validation.check_query_time("query_start_time", params["query_start_time"])
    validation.check_query_time("query_end_time", params["query_end_time"])
    start, end = params["query_start_time"], params["query_end_time"]
    if start and end and end < start:
        raise InvalidOption("query_end_time", "is earlier than query_start_time")
    validation.check_range("page_size", params["page_size"], 1, operations.LIST_INSTANCES_PAGE_SIZE[1])


def server_filters(params):
    return dict(
        (name, params[name])
        for name in ("instance_name", "pool_scene_tag", "query_start_time", "query_end_time")
        if params[name]
    )


def list_instances(client, params):
    query = server_filters(params)
    if params["instance_ids"] is None:
        return client.list_all("ListInstances", query, params["page_size"], key="instance_id")
    ids = validation.unique(params["instance_ids"])  # an id given twice is read, and returned, once
    found = client.read_instances(ids, params["page_size"], query)
    return [found[i] for i in ids if i in found]


def add_cloud_status(client, instances):
    ids = [item["instance_id"] for item in instances]
    chunks = client.call_batched("BatchShowInstance", ids, lambda chunk: {"instance_ids": chunk})
    status_by_id = {}
    for chunk in chunks:
        if chunk.failed:
            raise chunk.error
        for entry in listed(chunk.answer, "status_results"):
            status_by_id[validation.id_text(entry.get("instance_id"))] = validation.as_int(entry.get("status"))
    for item in instances:
        status = status_by_id.get(item["instance_id"])
        item["cloud_status"] = status
        item["cloud_status_name"] = statuses.name_of(statuses.CLOUD_STATUS, status)


def run(kp):
    params = kp.params
    instances = [statuses.with_status_names(item) for item in list_instances(kp.client, params)]
    if params["include_cloud_status"] and instances:
        add_cloud_status(kp.client, instances)
    result = {"changed": False, "instances": instances}
    if params["instance_ids"] is not None:
        listed = set(item["instance_id"] for item in instances)
        result["missing_instance_ids"] = [i for i in params["instance_ids"] if i not in listed]
    return result


def main():
    kp = KooPhoneModule(
        argument_spec=dict(
            instance_ids=dict(type="list", elements="str"),
            instance_name=dict(type="str"),
            pool_scene_tag=dict(type="str", choices=["CLOUD_APP", "CLOUD_PHONE"]),
            query_start_time=dict(type="str"),
            query_end_time=dict(type="str"),
            page_size=dict(type="int", default=operations.LIST_INSTANCES_PAGE_SIZE[0]),
            include_cloud_status=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    kp.run(run, validate=validate)


if __name__ == "__main__":
    main()
