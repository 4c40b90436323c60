#!/usr/bin/python
# Copyright: (c) 2026, koophone.cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: koophone_instance
short_description: Create, delete, restart, reset, assign, prepare and back up KooPhone cloud phones
version_added: 0.1.0
description:
  - Manages the lifecycle of KooPhone cloud phone instances, idempotently where the API allows it.
  - O(state=present) makes sure at least O(count) instances named C(<name_prefix>-NNNNN) exist and buys only the
    shortfall (C(POST /v1/instances/create), one call per 1,500 instances).
  - O(state=absent) unsubscribes instances (C(POST /v1/instances/delete)).
  - O(state=restarted) and O(state=reset) reboot or reset instances (C(POST /v1/instances/reboot),
    C(POST /v1/instances/batch-reset)). These are actions and always report a change.
  - O(state=assigned) and O(state=unassigned) bind instances to an end user or release them
    (C(POST /v1/instances/assign), C(POST /v1/instances/unassign)), judged by the batch-query fields
    C(assign_status) and C(assign_user).
  - O(state=prepared) prepares instances for streaming (C(POST /v1/instances/prepare)) and follows each one's
    preparation progress (C(POST /v1/instances/prepare-progress)).
  - O(state=backed_up) backs instances up to OBS and releases them (C(POST /v1/instances/backup)).
  - State is read with batch-query (C(GET /v1/instances/batch-query)), as M(koophone.cloud.koophone_instance_info)
    reads it. Id lists are split into chunks by the API's limits (100 ids; 50 for backup; 10 for unassign) that run
    concurrently (see O(concurrency)).
  - Creating, rebooting, resetting and backing up are never repeated blindly. When the answer to a create is lost
    (a broken connection or a server error after the request was sent), the module reads the instances again
    before it decides anything; it never creates the same instances twice. A reboot, reset or backup whose answer
    was lost is not sent again; its instances are reported in RV(maybe_changed_instance_ids).
author:
  - koophone.cloud maintainers (@koophone)
options:
  state:
    description:
      - V(present) makes sure at least O(count) instances named C(<name_prefix>-NNNNN) exist. Existing instances
        with that prefix count, whatever their status; extra ones are left alone.
      - V(absent) deletes O(instance_ids), or every instance named C(<name_prefix>-NNNNN). Instances that are
        already gone are not an error. Pay-per-use instances cannot be deleted; the API's error is reported.
      - V(restarted) reboots the instances. All of them must be running (the API refuses the whole request
        otherwise), so the module checks that before sending anything.
      - V(reset) resets the instances to their image (third-party apps and settings are wiped).
      - V(assigned) assigns the instances to O(user_id). An instance assigned to a different user is not reassigned
        unless O(force=true), because reassigning first unassigns it, which wipes that user's data.
      - V(unassigned) releases the instances from their users. With O(user_id), an instance assigned to a
        different user fails the task unless O(force=true). Unassigning wipes the user's data on the phone.
      - V(prepared) prepares instances assigned to O(user_id) for streaming. Running instances are ready already;
        the others are prepared (a backed-up instance is restored) and, with O(wait=true), followed until ready.
      - V(backed_up) backs the instances up to OBS, which releases (stops) them until they are prepared again. An
        instance whose last backup succeeded and that has not run since is backed up already.
    type: str
    choices: [present, absent, restarted, reset, assigned, unassigned, prepared, backed_up]
    default: present
  instance_ids:
    description:
      - The instances to act on, for every O(state) except V(present). Each id is at most 32 characters.
      - Mutually exclusive with O(name_prefix).
      - For states other than V(absent), an id that does not exist fails the task before any change is made.
    type: list
    elements: str
  name_prefix:
    description:
      - With O(state=present), the prefix of the names the API gives new instances (C(<name_prefix>-00001), ...).
        At most 14 characters.
      - With the other states, acts on every instance named C(<name_prefix>-<number>) instead of O(instance_ids).
    type: str
  count:
    description:
      - With O(state=present), how many instances named C(<name_prefix>-NNNNN) must exist at least (1 to 99,999,
        as the names carry five digits). Only the shortfall is created, 1,500 per API call at most.
    type: int
  sku_id:
    description:
      - SKU (C(instanceSkuId)) of new instances, as M(koophone.cloud.koophone_sku_info) lists them. At most 64
        characters.
      - Needed only when instances must be created. When it is missing or not sold in O(region), the error lists what
        the SKU catalogue offers there.
    type: str
  band_sku_id:
    description:
      - Bandwidth SKU (C(bandSkuId)) of new instances. At most 64 characters.
      - Defaults to the bandwidth SKU the SKU catalogue names (C(bandInfo.cbcSkuId)).
    type: str
  band_size:
    description:
      - Bandwidth of new instances in Mbit/s; must be one of the sizes the SKU offers (for example V(4) or V(8)).
      - Needed only when instances must be created; must be greater than 0.
    type: float
  region:
    description:
      - Region (C(regionId)) of new instances, for example V(cn-north-4). At most 64 characters.
      - Needed only when instances must be created. When it is missing or unknown, the error lists what the SKU
        catalogue offers.
    type: str
  os:
    description:
      - AOSP image of new instances, for example V(AOSP11) or V(AOSP14).
      - Needed only when instances must be created. It must be an enabled pool version of the SKU in O(region);
        the error lists the versions on offer. The sources disagree on the versions (the reference names AOSP9 and
        AOSP11, the API Explorer AOSP11 and AOSP14), so the SKU catalogue decides.
    type: str
  network:
    description:
      - Network line of new instances. The API's default is V(EIP).
    type: str
    choices: [EIP, ADN]
  period_type:
    description:
      - Subscription period unit of new instances (yearly/monthly billing is the only mode the API offers).
    type: str
    choices: [month, year]
    default: month
  period_num:
    description:
      - Number of subscription periods of new instances.
      - 1 to 9 months, or 1 to 3 years. The reference's table allows 10 years, but its error code 3007 and the API
        Explorer say 3.
    type: int
    default: 1
  auto_pay:
    description:
      - Pay the order for new instances automatically from the account balance.
      - If V(false), the order waits for manual payment in the console. Until it is paid the new instances may not be
        listed, and a second run would then order again.
    type: bool
    default: false
  auto_renew:
    description:
      - Renew the subscription of new instances automatically.
    type: bool
    default: false
  user_id:
    description:
      - End user id (at most 32 characters). Required with O(state=assigned) and O(state=prepared).
      - With O(state=unassigned), only instances assigned to this user are expected (see O(force)); without it,
        every targeted instance is released from whichever user it has.
    type: str
  force:
    description:
      - With O(state=assigned), reassign instances that are assigned to a different user (they are unassigned first,
        which wipes that user's data).
      - With O(state=unassigned) and O(user_id), also release instances assigned to a different user.
    type: bool
    default: false
  wait:
    description:
      - Wait until the change is complete, up to O(wait_timeout) seconds, and fail naming the instances that are not
        done by then.
      - V(present), V(restarted), V(reset) wait until the instances run; V(unassigned) until the clean-up tasks end;
        V(prepared) until preparation progress reports ready; V(backed_up) until C(backup_status) is successful.
      - V(absent) does not wait; the API applies deletions when it accepts them.
      - Reassigning with O(force=true) always waits for the unassign clean-up before assigning, so the new user never
        sees the previous user's data.
    type: bool
    default: true
  wait_timeout:
    description:
      - How long to wait, in seconds (1 to 86,400).
      - Also bounds how long a lost create answer is re-checked (at most 30 seconds) before the module gives up
        deciding whether the order was placed.
    type: int
    default: 600
extends_documentation_fragment:
  - koophone.cloud.koophone
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.actiongroups
attributes:
  check_mode:
    support: full
    details: Reads the instances (and, when instances would be created, the SKU catalogue) and reports what would
      change; sends no request that changes anything.
  diff_mode:
    support: partial
    details: Shows before and after for O(state=present), O(state=absent), O(state=assigned) and O(state=unassigned).
  platform:
    platforms: all
  action_group:
    support: full
    membership:
      - koophone.cloud.koophone
notes:
  - Options are checked against every limit the API reference states before any request is sent.
  - A task that fails part-way, also in a read or a wait after a change, reports what it did change
    (C(changed), RV(changed_instance_ids), RV(created_instance_ids), RV(order_ids), RV(task_ids)), what may have
    changed (RV(maybe_changed_instance_ids)) and the chunks that failed (RV(failed_chunks)). C(changed) is true
    only when the service accepted a change or may have applied one.
  - With O(state=present), instances are counted with batch-query's C(instance_name) filter and the names checked
    on the client. The API reference does not say whether that filter matches part of a name or the whole name. A
    filtered listing that finds enough proves nothing is missing; when it finds too few, the whole fleet is read
    (every page, no filter) and counted by name before anything is bought, so a whole-name filter can never make
    a run buy again. Buying and the listings after it read the whole fleet too.
seealso:
  - module: koophone.cloud.koophone_instance_info
  - module: koophone.cloud.koophone_sku_info
"""

EXAMPLES = r"""
- name: Make sure 10 phones named shop-NNNNN exist
  koophone.cloud.koophone_instance:
    name_prefix: shop
    count: 10
    region: cn-north-4
    sku_id: kp.professional.xlarge.32g.2
    os: AOSP11
    band_size: 4
    period_type: month
    period_num: 1
    auto_pay: true
  register: shop

- name: Hand the first phone to an end user
  koophone.cloud.koophone_instance:
    state: assigned
    instance_ids: ["{{ shop.instances[0].instance_id }}"]
    user_id: "1008600000104285462"

- name: Prepare it for streaming and wait until it is ready
  koophone.cloud.koophone_instance:
    state: prepared
    instance_ids: ["{{ shop.instances[0].instance_id }}"]
    user_id: "1008600000104285462"
  register: prepared

- name: Restart every shop phone and wait until they run again
  koophone.cloud.koophone_instance:
    state: restarted
    name_prefix: shop

- name: Back two phones up (this releases them until they are prepared again)
  koophone.cloud.koophone_instance:
    state: backed_up
    instance_ids: [5srn5hL8, a44uhlf7]

- name: Give a phone to another user, wiping the previous user's data
  koophone.cloud.koophone_instance:
    state: assigned
    instance_ids: [5srn5hL8]
    user_id: "1008600000104285999"
    force: true

- name: Delete every shop phone
  koophone.cloud.koophone_instance:
    state: absent
    name_prefix: shop
"""

RETURN = r"""
instances:
  description:
    - The batch-query view of every targeted instance after the change, keyed by the batch-query field names
      (see M(koophone.cloud.koophone_instance_info) for every field); in check mode, as they are now.
    - Every status number keeps its raw value and gets a readable C(<field>_name) companion.
    - With O(state=present), every instance named C(<name_prefix>-NNNNN), in number order.
    - With O(state=absent), V([]) once the deletion is accepted.
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
      sample: shop-00001
    region:
      description: Region id.
      type: str
      sample: cn-north-4
    running_status:
      description: 0 unknown, 1 stopped, 2 running, 3 going offline, 4 starting, 5 shut down.
      type: int
      sample: 2
    running_status_name:
      description: V(unknown), V(stopped), V(running), V(going_offline), V(starting) or V(shut_down).
      type: str
      sample: running
    assign_status:
      description: 0 unassigned, 1 assigned.
      type: int
    assign_status_name:
      description: V(unassigned) or V(assigned).
      type: str
    assign_user:
      description: User the instance is assigned to.
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
    frozen_status:
      description: 0 normal, 1 frozen.
      type: int
    frozen_status_name:
      description: V(normal) or V(frozen).
      type: str
    login_status:
      description: 0 not logged in, 1 logged in.
      type: int
    login_status_name:
      description: V(logged_out) or V(logged_in).
      type: str
    billing_mode:
      description: Billing mode (C(1) yearly/monthly, C(0) pay-per-use).
      type: str
changed_instance_ids:
  description:
    - Ids of the instances this task changed (in check mode, would change) - deleted, rebooted, reset, assigned,
      unassigned, prepared or backed up. With O(state=present), the created ones (none in check mode; see
      RV(to_create)).
    - Outside check mode, only instances whose change the service accepted (or, after a lost answer, that a re-read
      shows changed). It is recorded as each answer arrives, so a task that fails later still reports it.
  returned: always
  type: list
  elements: str
  sample: [5srn5hL8]
maybe_changed_instance_ids:
  description:
    - Instances whose request got no answer (a broken connection or a server error after it was sent) and that were
      not sent again, because the operation is not safe to repeat (reboot, reset, backup) or a second try was lost
      too. They may or may not have been changed, so they make C(changed) true; the task fails listing their chunks
      in RV(failed_chunks) with C(maybe_applied=true).
    - Check their state (M(koophone.cloud.koophone_instance_info)) before acting on them again.
  returned: when O(state) is not V(present)
  type: list
  elements: str
  sample: []
created_instance_ids:
  description:
    - Ids of the instances created by this task, as the create answers name them (C(data.instanceInfos)) and as
      the listing after the create shows them.
    - Ids of an order that is not listed yet (not paid, with O(auto_pay=false)) are included, and a warning names
      them.
  returned: when O(state=present)
  type: list
  elements: str
  sample: [11J6QVu5]
order_ids:
  description: Order ids of the create calls this task made (one per 1,500 instances).
  returned: when O(state=present)
  type: list
  elements: str
  sample: [CS2412261442DBN4E]
to_create:
  description: How many instances were missing (and were created, or would be in check mode).
  returned: when O(state=present)
  type: int
  sample: 2
missing_instance_ids:
  description: Ids given in O(instance_ids) that do not exist (already deleted).
  returned: when O(state=absent) and O(instance_ids) is set
  type: list
  elements: str
  sample: []
task_ids:
  description: Ids of the asynchronous tasks the API started (reset, unassign and backup).
  returned: when O(state) is V(reset), V(assigned), V(unassigned) or V(backed_up)
  type: list
  elements: str
  sample: [RM_6837531fd3f54550927b930180a706bf]
prepare_results:
  description: One entry per instance that was prepared, with its preparation status and progress.
  returned: when O(state=prepared)
  type: list
  elements: dict
  contains:
    instance_id:
      description: Instance id.
      type: str
    prepare_status:
      description: Status the prepare call answered (0 ready, 1 to be restored, 2 to be assigned, 3 backing up,
        4 resetting, 5 restarting, 6 offline, 7 replacing, 8 restoring after expiry, 9 restore after expiry failed,
        10 maintaining).
      type: int
    prepare_status_name:
      description: Readable name of RV(prepare_results[].prepare_status), for example V(to_be_restored).
      type: str
    progress_status:
      description: Last preparation progress (0 ready, 1 queuing, 2 restoring or offline, 3 backing up, -1 failed).
      type: int
    progress_status_name:
      description: V(ready), V(queuing), V(restoring_or_offline), V(backing_up) or V(failed).
      type: str
    queue_position:
      description: The queue position (C(waitingCount)) the first progress reading reported; 0 when not queued.
      type: int
    waiting_count:
      description: The queue position the last progress reading reported.
      type: int
maybe_applied:
  description:
    - On failure, whether the request that failed may have been applied (its answer was lost). With
      O(state=present) and a lost create answer, the order may have been placed; C(changed) is then true.
  returned: on failure of a request
  type: bool
  sample: true
failed_chunks:
  description:
    - The requests that failed, one per chunk, with the instances each concerns; the other chunks' results stand.
    - C(maybe_applied) is true when the answer was lost and the request may have taken effect.
  returned: on failure of a batch operation
  type: list
  elements: dict
  contains:
    instance_ids:
      description: The instances of the chunk.
      type: list
      elements: str
    operation:
      description: API operation.
      type: str
    status:
      description: HTTP status.
      type: int
    error_code:
      description: The API's error code.
      type: str
    error_msg:
      description: The API's error message.
      type: str
    request_id:
      description: The x-request-id of the request.
      type: str
    maybe_applied:
      description: Whether the request may have been applied.
      type: bool
    msg:
      description: The whole error as one line.
      type: str
pending_instance_ids:
  description: The instances that had not reached the awaited state when O(wait_timeout) ran out.
  returned: when waiting timed out
  type: list
  elements: str
failed_jobs:
  description: The unassign clean-up jobs that failed, as the task query reports them.
  returned: when a clean-up job failed
  type: list
  elements: dict
  contains:
    task_id:
      description: Task the job belongs to.
      type: str
    job_id:
      description: Job id.
      type: str
    status:
      description: Job status (-1 failed).
      type: int
    error_code:
      description: The job's error code.
      type: str
    error_msg:
      description: The job's error message.
      type: str
"""

import re

from ansible_collections.koophone.cloud.plugins.module_utils import _instances as kpi
from ansible_collections.koophone.cloud.plugins.module_utils import (
    _operations as operations,
)
from ansible_collections.koophone.cloud.plugins.module_utils import (
    _skus as skus,
)
from ansible_collections.koophone.cloud.plugins.module_utils import (
    _statuses as statuses,
)
from ansible_collections.koophone.cloud.plugins.module_utils import (
    _validation as validation,
)
from ansible_collections.koophone.cloud.plugins.module_utils._errors import InvalidOption, KooPhoneError
from ansible_collections.koophone.cloud.plugins.module_utils._module import KooPhoneModule

STATES = ["present", "absent", "restarted", "reset", "assigned", "unassigned", "prepared", "backed_up"]
MAX_PREFIX = 14  # instanceNamePrefix, both sources
MAX_COUNT = 99999  # names carry a five-digit number (<prefix>-NNNNN)
MAX_SKU_FIELD = 64  # instanceSkuId, bandSkuId, regionId
PERIODS = {"month": (2, 9), "year": (3, 3)}  # periodType and the largest periodNum (3006, 3007)
MAX_WAIT_TIMEOUT = 86400
# After a lost create answer, how long to keep re-reading for the order's instances to appear.
MAX_SETTLE_SECONDS = 30
OS_FORMAT = re.compile(r"^AOSP\d+$")
# prepare statuses that waiting cannot fix: not assigned to the user, restore failed, maintenance.
PREPARE_BLOCKED = (2, 9, 10)
PROGRESS_READY = 0
PROGRESS_FAILED = -1


# -------------------------------------------------------------------- validation (before any request)


def validate(params):
    state = params["state"]
    validation.check_ids("instance_ids", params["instance_ids"])
    if state == "present" and params["instance_ids"] is not None:
        raise InvalidOption("instance_ids", "is not used with state=present; name new instances with name_prefix")
    prefix = params["name_prefix"]
    if prefix is not None and not prefix.strip():
        raise InvalidOption("name_prefix", "must not be empty")
    validation.check_length("name_prefix", prefix, MAX_PREFIX)
    validation.check_range("count", params["count"], 1, MAX_COUNT)
    for option in ("sku_id", "band_sku_id", "region"):
        validation.check_length(option, params[option], MAX_SKU_FIELD)
    if params["os"] is not None and not OS_FORMAT.match(params["os"]):
        raise InvalidOption("os", "must be an AOSP version such as AOSP11 or AOSP14, got %r" % params["os"])
    if params["band_size"] is not None and not params["band_size"] > 0:
        raise InvalidOption("band_size", "is %s; it must be greater than 0 (Mbit/s)" % params["band_size"])
    _period_type, longest = PERIODS[params["period_type"]]
    validation.check_range("period_num", params["period_num"], 1, longest)
    if params["user_id"] is not None:
        validation.check_ids("user_id", [params["user_id"]])
    validation.check_range("wait_timeout", params["wait_timeout"], 1, MAX_WAIT_TIMEOUT)


# -------------------------------------------------------------------- shared pieces


def targets_of(kp):
    return kpi.Targets(kp.client, kp.params["instance_ids"], kp.params["name_prefix"])


def read_existing(kp, targets):
    """The targeted instances; an id that does not exist fails the task before anything changes."""
    items, missing = targets.read()
    if missing:
        raise InvalidOption("instance_ids", "these instances do not exist: %s" % ", ".join(missing))
    return items


def fail(kp, msg, result, failures=()):
    details = [failure.to_dict() for failure in failures]
    if details:
        result = dict(result, failed_chunks=details)
        msg = "%s: %s" % (
            msg,
            "; ".join("%s (instances %s)" % (d["msg"], ", ".join(d["instance_ids"])) for d in details),
        )
    kp.fail(msg=msg, **result)


def start_changing(kp, result):
    """The result of a run that sends changes: ``kp.result`` itself, reporting nothing done yet.

    From here on it holds only what the service accepted (or may have applied), recorded as soon
    as each answer arrives, so an error in any later read or wait still reports ``changed`` and
    what was done (KooPhoneModule merges ``kp.result`` into every failure).
    """
    kp.result.update(result, changed=False, changed_instance_ids=[])
    if "maybe_changed_instance_ids" in result:
        kp.result["maybe_changed_instance_ids"] = []
    return kp.result


def record_outcome(result, outcome):
    """Add a batch operation's outcome (kpi.Outcome) to what the run has changed so far."""
    done = validation.unique(result["changed_instance_ids"] + outcome.done)
    maybe = [i for i in validation.unique(result["maybe_changed_instance_ids"] + outcome.maybe) if i not in done]
    result.update(changed=bool(result["changed"] or done or maybe), changed_instance_ids=done)
    result["maybe_changed_instance_ids"] = maybe
    if "task_ids" in result:
        result["task_ids"].extend(kpi.task_ids(outcome.answers))


def failed_count(outcome, ids):
    return "%d of %d" % (len(set(outcome.failed_ids)), len(ids))


def describe(items, field):
    return ", ".join("%s (%s)" % (item["instance_id"], item.get(field)) for item in items)


def wait_running(kp, ids):
    """Ids still not running after waiting (when wait is on)."""
    if not kp.params["wait"]:
        return []
    client = kp.client
    return kpi.wait_until(client, ids, lambda pending: kpi.not_running(client, pending), kp.params["wait_timeout"])


def fail_if_pending(kp, pending, what, result):
    if pending:
        fail(
            kp,
            "%d instance(s) %s after wait_timeout=%ss: %s"
            % (len(pending), what, kp.params["wait_timeout"], ", ".join(pending)),
            dict(result, pending_instance_ids=pending),
        )


# -------------------------------------------------------------------- present


def ensure_present(kp):
    params, client = kp.params, kp.client
    prefix, count = params["name_prefix"], params["count"]
    # The filtered listing is cheap and enough to prove nothing is missing (its names are checked
    # on the client). It cannot prove a shortfall: if the service's instance_name filter matched
    # whole names only, it would find none of ours and every run would buy `count` more. So a
    # shortfall is confirmed from the unfiltered fleet before anything is bought or reported.
    before = kpi.read_by_prefix(client, prefix)
    if len(before) < count:
        before = kpi.read_by_prefix(client, prefix, server_filter=False)
    shortfall = max(count - len(before), 0)
    result = {"changed": shortfall > 0, "to_create": shortfall, "created_instance_ids": [], "order_ids": []}
    result["changed_instance_ids"] = []
    if not shortfall:
        return dict(result, instances=kpi.described(before), diff=present_diff(prefix, before, before))

    body = create_body(client, params)  # reads the SKU catalogue: wrong options fail here, listing the offers
    if kp.check_mode:
        return dict(result, instances=kpi.described(before), diff=present_diff(prefix, before, None, shortfall))

    result = start_changing(kp, result)
    error = create_shortfall(kp, body, len(before))
    # Read the whole fleet, not the filtered listing: the filter is what the count could not trust.
    after = kpi.read_by_prefix(client, prefix, server_filter=False)
    known = set(kpi.ids_of(before))
    listed = kpi.ids_of(after)
    created = validation.unique([i for i in listed if i not in known] + result["created_instance_ids"])
    result.update(created_instance_ids=created, changed_instance_ids=created)
    result["changed"] = bool(result["changed"] or created)
    result["instances"] = kpi.described(after)
    if error is not None:
        fail(kp, str(error), dict(result, **error.to_dict()))
    unlisted = [i for i in created if i not in set(listed)]
    if unlisted:
        kp.module.warn(
            "%d created instance(s) are not listed yet (an unpaid order is listed once it is paid): %s. Until they "
            "are listed, another run with the same count would order again." % (len(unlisted), ", ".join(unlisted))
        )
    waited = [i for i in created if i in set(listed)]
    pending = wait_running(kp, waited)
    if kp.params["wait"] and waited:
        result["instances"] = kpi.described(kpi.read_by_prefix(client, prefix, server_filter=False))
    fail_if_pending(kp, pending, "are not running", result)
    return dict(result, diff=present_diff(prefix, before, after))


def create_body(client, params):
    catalogue, band_sku_id = skus.read_catalogue(client)
    _offer, band_sku_id, network = kpi.choose_offer(catalogue, band_sku_id, params)
    band_size = params["band_size"]
    period_type, _longest = PERIODS[params["period_type"]]
    return {
        "os": params["os"],
        "instanceSkuId": params["sku_id"],
        "bandSkuId": band_sku_id,
        "regionId": params["region"],
        "instanceNamePrefix": params["name_prefix"],
        # bandSize is a double; the examples send 4, so whole numbers go as integers.
        "bandSize": int(band_size) if float(band_size).is_integer() else band_size,
        "chargeParam": {
            "chargingMode": 1,  # yearly/monthly, the only mode create offers
            "periodType": period_type,
            "periodNum": params["period_num"],
            "isAutoPay": 1 if params["auto_pay"] else 0,
            "isAutoRenew": 1 if params["auto_renew"] else 0,
        },
        "network": network,
    }


def create_shortfall(kp, body, have):
    """Create until ``count`` instances exist, at most 1,500 per call. Returns the error that stopped it, or None.

    Each order is recorded in ``kp.result`` as soon as its answer arrives (order id, the instance
    ids the answer names, changed), and so is a create whose answer was lost: it may have been
    placed, so it counts as a change. Calls run one after another: after a lost answer the next
    decision needs the re-read count.
    """
    client, params, result = kp.client, kp.params, kp.result
    count, prefix = params["count"], params["name_prefix"]
    chunk_size = operations.get("CreateInstance").chunk_size
    while have < count:
        size = min(count - have, chunk_size)
        try:
            answer = client.call("CreateInstance", body=dict(body, count=size))
        except KooPhoneError as error:
            if not error.maybe_applied:
                return error
            result["changed"] = True  # the order may have been placed (and paid)
            # Re-read before deciding anything: continue only when the listing proves all of it
            # arrived, otherwise stop rather than risk paying twice.
            try:
                seen = settle(client, prefix, have + size, min(params["wait_timeout"], MAX_SETTLE_SECONDS))
            except KooPhoneError as read_error:
                return lost_order_error(error, size, None, read_error)
            if seen < have + size:
                return lost_order_error(error, size, seen - have)
            have = seen
            continue
        order = kpi.order_id(answer)
        if order:
            result["order_ids"].append(order)
        created = kpi.created_instance_ids(answer)
        result["created_instance_ids"].extend(created)
        result["changed_instance_ids"].extend(created)
        result["changed"] = True  # error_code "0": the order is placed
        # Trust the order's size, not the listing: unpaid orders may not be listed yet.
        have += size
    return None


def settle(client, prefix, expected, timeout):
    """How many ``<prefix>-NNNNN`` instances the whole fleet lists, re-reading until ``expected`` or ``timeout``."""
    _done, seen = client.poll(
        lambda: len(kpi.read_by_prefix(client, prefix, server_filter=False)), lambda n: n >= expected, timeout
    )
    return seen


def lost_order_error(error, size, arrived, read_error=None):
    if read_error is None:
        listed = "the instances listed since show %d of them" % max(arrived, 0)
    else:
        listed = "the instances could not be read again (%s)" % read_error.message
    return KooPhoneError(
        "A create request for %d instance(s) got no usable answer, so it may or may not have been applied, and %s. "
        "The order may still be processing, so nothing more was created. Check the orders in the console, then run "
        "the task again: it re-reads the instances first and creates only what is missing. Cause: %s"
        % (size, listed, error.message),
        operation=error.operation,
        status=error.status,
        error_code=error.error_code,
        error_msg=error.error_msg,
        request_id=error.request_id,
        maybe_applied=True,
    )


def present_diff(prefix, before, after, to_create=0):
    def view(items, extra=0):
        names = [item.get("instance_name") for item in items]
        if extra:
            names.append("(%d more to be created)" % extra)
        return {"name_prefix": prefix, "count": len(items) + extra, "instance_names": names}

    return {"before": view(before), "after": view(after if after is not None else before, to_create)}


# -------------------------------------------------------------------- absent


def ensure_absent(kp):
    targets = targets_of(kp)
    items, missing = targets.read()
    ids = kpi.ids_of(items)
    result = {"changed": bool(ids), "changed_instance_ids": ids, "maybe_changed_instance_ids": []}
    result["diff"] = {"before": {"instances": listing_names(items)}, "after": {"instances": {}}}
    if kp.params["instance_ids"] is not None:
        result["missing_instance_ids"] = missing
    if kp.check_mode or not ids:
        return dict(result, instances=kpi.described(items) if kp.check_mode else [])

    result = start_changing(kp, result)
    outcome = kpi.apply_batched(
        kp.client,
        "DeleteInstance",
        ids,
        lambda chunk: {"instanceIdList": chunk},
        reread=targets.read_ids,
        still_needed=lambda item: item is not None,  # still listed: delete it
    )
    record_outcome(result, outcome)
    if outcome.failures:
        deleted = set(outcome.done)
        remaining = [item for item in items if item["instance_id"] not in deleted]
        fail(
            kp,
            "Deleting %s instance(s) failed" % failed_count(outcome, ids),
            dict(result, instances=kpi.described(remaining)),
            outcome.failures,
        )
    return dict(result, instances=[])


def listing_names(items):
    return dict((item["instance_id"], item.get("instance_name")) for item in items)


# -------------------------------------------------------------------- restarted / reset


def ensure_rebooted(kp, operation_name):
    targets = targets_of(kp)
    items = read_existing(kp, targets)
    if operation_name == "BatchRebootInstance":
        # The API refuses a reboot chunk whole when one of its instances is not running (5005).
        idle = [statuses.with_status_names(item) for item in items if not kpi.is_running(item)]
        if idle:
            fail(
                kp,
                "Only running instances can be restarted, and the API refuses a whole request for one that is not; "
                "nothing was sent. Not running: %s" % describe(idle, "running_status_name"),
                {"changed": False, "instances": kpi.described(items)},
            )
    ids = kpi.ids_of(items)
    result = {"changed": bool(ids), "changed_instance_ids": ids, "maybe_changed_instance_ids": []}
    if operation_name == "BatchResetInstance":
        result["task_ids"] = []
    if kp.check_mode or not ids:
        return dict(result, instances=kpi.described(items))

    result = start_changing(kp, result)
    # Actions are not repeated after a lost answer: a second reboot would reboot again. Such a
    # chunk probably rebooted its phones, so it counts as changed (maybe_changed_instance_ids).
    outcome = kpi.apply_batched(kp.client, operation_name, ids, lambda chunk: {"instance_ids": chunk})
    record_outcome(result, outcome)
    if outcome.failures:
        fail(
            kp, "%s failed for %s instance(s)" % (operation_name, failed_count(outcome, ids)), result, outcome.failures
        )
    pending = wait_running(kp, outcome.done)
    result["instances"] = kpi.described(targets.read()[0])
    fail_if_pending(kp, pending, "are not running again", result)
    return result


# -------------------------------------------------------------------- assigned / unassigned


def ensure_assigned(kp):
    params = kp.params
    user_id = params["user_id"]
    targets = targets_of(kp)
    items = read_existing(kp, targets)
    others = [item for item in items if kpi.is_assigned(item) and not kpi.is_assigned_to(item, user_id)]
    if others and not params["force"]:
        fail(
            kp,
            "%d instance(s) are assigned to another user: %s. Assigning them to %s would unassign them first, which "
            "wipes that user's data; nothing was changed. Set force=true to reassign them"
            % (len(others), describe(others, "assign_user"), user_id),
            {"changed": False, "instances": kpi.described(items)},
        )
    change = [item for item in items if not kpi.is_assigned_to(item, user_id)]
    ids = kpi.ids_of(change)
    after = dict((item["instance_id"], user_id) for item in items)
    result = {"changed": bool(ids), "changed_instance_ids": ids, "maybe_changed_instance_ids": [], "task_ids": []}
    result["diff"] = assign_diff(items, after)
    if kp.check_mode or not ids:
        return dict(result, instances=kpi.described(items))

    result = start_changing(kp, result)
    if others:
        unassign(kp, targets, others, result)
        # Always wait here: assigning before the clean-up ends could show the new user the old user's data.
        watch_tasks(kp, result, always=True)
    outcome = kpi.apply_batched(
        kp.client,
        "ProvisionInstance",
        ids,
        lambda chunk: {"user_instances": [{"user_id": user_id, "instance_id": i} for i in chunk]},
        reread=targets.read_ids,
        still_needed=lambda item: item is not None and not kpi.is_assigned_to(item, user_id),
    )
    record_outcome(result, outcome)
    result["instances"] = kpi.described(targets.read()[0])
    if outcome.failures:
        fail(kp, "Assigning %s instance(s) failed" % failed_count(outcome, ids), result, outcome.failures)
    return result


def ensure_unassigned(kp):
    params = kp.params
    user_id = params["user_id"]
    targets = targets_of(kp)
    items = read_existing(kp, targets)
    assigned = [item for item in items if kpi.is_assigned(item)]
    others = [item for item in assigned if user_id is not None and not kpi.is_assigned_to(item, user_id)]
    if others and not params["force"]:
        fail(
            kp,
            "%d instance(s) are assigned to another user than %s: %s. Unassigning wipes that user's data; nothing "
            "was changed. Set force=true to unassign them anyway"
            % (len(others), user_id, describe(others, "assign_user")),
            {"changed": False, "instances": kpi.described(items)},
        )
    ids = kpi.ids_of(assigned)
    after = dict((item["instance_id"], None) for item in items)
    result = {"changed": bool(ids), "changed_instance_ids": ids, "maybe_changed_instance_ids": [], "task_ids": []}
    result["diff"] = assign_diff(items, after)
    if kp.check_mode or not ids:
        return dict(result, instances=kpi.described(items))

    result = start_changing(kp, result)
    unassign(kp, targets, assigned, result)
    watch_tasks(kp, result)
    result["instances"] = kpi.described(targets.read()[0])
    return result


def unassign(kp, targets, items, result):
    """Unassign each item from the user it has now (10 pairs per call); fail the task on any refusal."""
    users = dict((item["instance_id"], "%s" % (item.get("assign_user"),)) for item in items)
    outcome = kpi.apply_batched(
        kp.client,
        "CancelInstance",
        list(users),
        lambda chunk: {"user_instances": [{"user_id": users[i], "instance_id": i} for i in chunk]},
        reread=targets.read_ids,
        still_needed=lambda item: item is not None and kpi.is_assigned_to(item, users[item["instance_id"]]),
    )
    record_outcome(result, outcome)
    if outcome.failures:
        result["instances"] = kpi.described(targets.read()[0])
        fail(kp, "Unassigning %s instance(s) failed" % failed_count(outcome, users), result, outcome.failures)


def watch_tasks(kp, result, always=False):
    """Wait for the unassign clean-up tasks; fail naming the ones still running or failed."""
    if not (always or kp.params["wait"]) or not result["task_ids"]:
        return
    watcher = kpi.TaskWatcher(kp.client)
    pending = kpi.wait_until(kp.client, result["task_ids"], watcher.unfinished, kp.params["wait_timeout"])
    broken = watcher.failed_jobs()
    if pending:
        fail(
            kp,
            "Clean-up tasks still running after wait_timeout=%ss: %s" % (kp.params["wait_timeout"], ", ".join(pending)),
            result,
        )
    if broken:
        fail(kp, "Clean-up jobs failed: %s" % describe(broken, "error_msg"), dict(result, failed_jobs=broken))


def assign_diff(items, after):
    before = dict((item["instance_id"], item.get("assign_user") if kpi.is_assigned(item) else None) for item in items)
    return {"before": {"assign_user": before}, "after": {"assign_user": after}}


# -------------------------------------------------------------------- prepared


def ensure_prepared(kp):
    params, client = kp.params, kp.client
    user_id = params["user_id"]
    targets = targets_of(kp)
    items = read_existing(kp, targets)
    strangers = [item for item in items if not kpi.is_assigned_to(item, user_id)]
    if strangers:
        fail(
            kp,
            "Preparing needs the instances assigned to user_id %s (use state=assigned first); nothing was sent. "
            "Not assigned to it: %s" % (user_id, describe(strangers, "assign_user")),
            {"changed": False, "instances": kpi.described(items)},
        )
    # A running instance assigned to the user is ready; only the others need preparing.
    pending = [item for item in items if not kpi.is_running(item)]
    ids = kpi.ids_of(pending)
    result = {"changed": bool(ids), "changed_instance_ids": ids, "maybe_changed_instance_ids": []}
    result["prepare_results"] = []
    if kp.check_mode or not ids:
        return dict(result, instances=kpi.described(items))

    result = start_changing(kp, result)
    outcome = kpi.apply_batched(
        client,
        "BatchPrepareInstances",
        ids,
        lambda chunk: {"user_id": user_id, "instance_ids": chunk},
        reread=targets.read_ids,
        still_needed=lambda item: item is not None and not kpi.is_running(item),
    )
    record_outcome(result, outcome)
    progress = prepare_entries(outcome.answers, ids, set(outcome.failed_ids))
    # The entries are updated in place while progress is followed: kp.result shows the latest reading.
    result["prepare_results"] = [progress[i] for i in ids if i in progress]
    if outcome.failures:
        fail(kp, "Preparing %s instance(s) failed" % failed_count(outcome, ids), result, outcome.failures)
    follow_progress(kp, user_id, progress)
    result["instances"] = kpi.described(targets.read()[0])
    check_prepared(kp, result)
    return result


def prepare_entries(answers, ids, refused):
    entries = {}
    for answer in answers:
        for entry in (answer.get("data") or {}).get("status_list") or []:
            status = kpi.as_int(entry.get("status"))
            entries[entry.get("instance_id")] = {
                "instance_id": entry.get("instance_id"),
                "prepare_status": status,
                "prepare_status_name": statuses.name_of(statuses.PREPARE_STATUS, status),
                "progress_status": None,
                "progress_status_name": None,
                "queue_position": 0,
                "waiting_count": 0,
            }
    # An instance resent after a lost answer may be missing from the first answers; it is followed anyway.
    for instance_id in ids:
        if instance_id not in entries and instance_id not in refused:
            entries[instance_id] = {
                "instance_id": instance_id,
                "prepare_status": None,
                "prepare_status_name": None,
                "progress_status": None,
                "progress_status_name": None,
                "queue_position": 0,
                "waiting_count": 0,
            }
    return entries


def follow_progress(kp, user_id, progress):
    """Read prepare-progress per instance until each is ready or failed (once only when wait is off)."""
    client = kp.client
    first_reading = set()

    def still_preparing(ids):
        outcomes = client.map_concurrently(
            lambda i: client.call("ShowProgress", body={"user_id": user_id, "instance_id": i}), ids
        )
        pending = []
        for instance_id, (answer, error) in zip(ids, outcomes):
            if error is not None:
                raise error
            data = answer.get("data") or {}
            status = kpi.as_int(data.get("status"))
            entry = progress[instance_id]
            entry.update(
                progress_status=status,
                progress_status_name=statuses.name_of(statuses.PREPARE_PROGRESS_STATUS, status),
                waiting_count=kpi.as_int(data.get("waitingCount")) or 0,
            )
            if instance_id not in first_reading:
                first_reading.add(instance_id)
                entry["queue_position"] = entry["waiting_count"]
            if status not in (PROGRESS_READY, PROGRESS_FAILED):
                pending.append(instance_id)
        return pending

    followed = [i for i, entry in progress.items() if entry["prepare_status"] not in PREPARE_BLOCKED]
    if kp.params["wait"]:
        kpi.wait_until(client, followed, still_preparing, kp.params["wait_timeout"])
    elif followed:
        still_preparing(followed)


def check_prepared(kp, result):
    entries = result["prepare_results"]
    blocked = [e for e in entries if e["prepare_status"] in PREPARE_BLOCKED]
    broken = [e for e in entries if e["progress_status"] == PROGRESS_FAILED]
    if blocked or broken:
        fail(
            kp,
            "Preparing failed for %s" % describe(blocked + broken, "prepare_status_name"),
            result,
        )
    if kp.params["wait"]:
        unready = [e["instance_id"] for e in entries if e["progress_status"] != PROGRESS_READY]
        fail_if_pending(kp, unready, "are not ready", result)


# -------------------------------------------------------------------- backed_up


def ensure_backed_up(kp):
    client = kp.client
    targets = targets_of(kp)
    items = read_existing(kp, targets)
    running_backups = [item for item in items if kpi.is_backing_up(item)]
    todo = [item for item in items if not kpi.is_backed_up(item) and not kpi.is_backing_up(item)]
    ids = kpi.ids_of(todo)
    result = {"changed": bool(ids), "changed_instance_ids": ids, "maybe_changed_instance_ids": [], "task_ids": []}
    if kp.check_mode or not (ids or running_backups):
        return dict(result, instances=kpi.described(items))

    result = start_changing(kp, result)
    if ids:
        # Backup is not repeatable, and a re-read cannot tell a backup that never started from one that
        # is queued (backup_status 0 "preparing" is also what a never-backed-up instance shows), so a
        # chunk whose answer was lost is never sent again: its instances may have been backed up.
        outcome = kpi.apply_batched(client, "BatchBackupInstances", ids, lambda chunk: {"instance_ids": chunk})
        record_outcome(result, outcome)
        if outcome.failures:
            fail(kp, "Backing up %s instance(s) failed" % failed_count(outcome, ids), result, outcome.failures)

    followed = kpi.ids_of(running_backups) + result["changed_instance_ids"]
    pending = []
    if kp.params["wait"]:
        pending = kpi.wait_until(client, followed, lambda p: backups_running(targets, p), kp.params["wait_timeout"])
    after = targets.read()[0]
    result["instances"] = kpi.described(after)
    fail_if_pending(kp, pending, "have not finished their backup", result)
    broken = [item for item in after if item["instance_id"] in followed and kpi.as_int(item.get("backup_status")) == 3]
    if broken:
        fail(kp, "Backup failed for %s" % ", ".join(kpi.ids_of(broken)), result)
    return result


def backups_running(targets, ids):
    """Those of ``ids`` still listed whose backup has neither succeeded (and released them) nor failed."""
    current = targets.read_ids(ids)
    return [i for i in ids if i in current and not backup_finished(current[i])]


def backup_finished(item):
    return kpi.is_backed_up(item) or kpi.as_int(item.get("backup_status")) == kpi.BACKUP_FAILED


# -------------------------------------------------------------------- entry point

HANDLERS = {
    "present": ensure_present,
    "absent": ensure_absent,
    "restarted": lambda kp: ensure_rebooted(kp, "BatchRebootInstance"),
    "reset": lambda kp: ensure_rebooted(kp, "BatchResetInstance"),
    "assigned": ensure_assigned,
    "unassigned": ensure_unassigned,
    "prepared": ensure_prepared,
    "backed_up": ensure_backed_up,
}


def run(kp):
    return HANDLERS[kp.params["state"]](kp)


def argument_spec():
    return dict(
        state=dict(type="str", default="present", choices=STATES),
        instance_ids=dict(type="list", elements="str"),
        name_prefix=dict(type="str"),
        count=dict(type="int"),
        sku_id=dict(type="str"),
        band_sku_id=dict(type="str"),
        band_size=dict(type="float"),
        region=dict(type="str"),
        os=dict(type="str"),
        network=dict(type="str", choices=["EIP", "ADN"]),
        period_type=dict(type="str", default="month", choices=["month", "year"]),
        period_num=dict(type="int", default=1),
        auto_pay=dict(type="bool", default=False),
        auto_renew=dict(type="bool", default=False),
        user_id=dict(type="str"),
        force=dict(type="bool", default=False),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=600),
    )


def main():
    targeted = [("state", state, ("instance_ids", "name_prefix"), True) for state in STATES if state != "present"]
    kp = KooPhoneModule(
        argument_spec=argument_spec(),
        supports_check_mode=True,
        mutually_exclusive=[("instance_ids", "name_prefix")],
        required_if=[
            ("state", "present", ("name_prefix", "count")),
            ("state", "assigned", ("user_id",)),
            ("state", "prepared", ("user_id",)),
        ]
        + targeted,
    )
    kp.run(run, validate=validate)


if __name__ == "__main__":
    main()
