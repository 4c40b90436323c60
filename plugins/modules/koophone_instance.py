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
  - O(state=prepared) reads each instance's preparation progress (C(POST /v1/instances/prepare-progress)), prepares
    those that need it for streaming (C(POST /v1/instances/prepare)) and follows them until ready.
  - O(state=backed_up) backs instances up (C(POST /v1/instances/backup)) and follows C(backup_status) to the end.
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
      - V(prepared) prepares instances assigned to O(user_id) for streaming. Readiness is what prepare-progress
        reports (status 0), not the running status; a running phone may have its data offline after a backup.
        Instances whose progress is offline (2) or failed (-1) are prepared; queuing (1) or backing up (3) ones are
        followed without a second request. Where prepare answers that it cannot prepare an instance (2 not assigned,
        6 offline, 9 restore failed, 10 maintaining), the task fails at once naming them.
      - V(backed_up) backs the instances up. An instance whose C(backup_status) is successful (2) is backed up
        already, and one whose backup is executing (1) is followed, never sent a second backup. The reference does
        not say that a backup stops the phone, so the end of a backup is read from C(backup_status) alone.
    type: str
    choices: [present, absent, restarted, reset, assigned, unassigned, prepared, backed_up]
    default: present
  instance_ids:
    description:
      - The instances to act on, for every O(state) except V(present). Each id is at most 32 characters, without
        whitespace, control characters, C(/), C(?), C(#), C(%) or a backslash. An empty list is refused.
      - Mutually exclusive with O(name_prefix).
      - For states other than V(absent), an id that does not exist fails the task before any change is made.
    type: list
    elements: str
  name_prefix:
    description:
      - With O(state=present), the prefix of the names the API gives new instances (C(<name_prefix>-00001), ...).
        At most 14 characters.
      - With the other states, acts on every instance named C(<name_prefix>-<number>) instead of O(instance_ids).
        Those are found by reading the whole fleet and matching the names on the controller, whatever batch-query's
        C(instance_name) filter matches (the reference does not say); RV(matched_instance_count) says how many.
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
      - Network line of new instances, checked against the networks the SKU's pool for O(os) offers.
      - When not set, the network the pool offers is sent when it offers one; when it offers several (or names none),
        no network is sent and the service chooses. The reference states no default, and its example catalogue
        offers ADN pools only.
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
      - If V(false), the order waits for manual payment in the console, and its instances may not be listed until it
        is paid. So that a later run never buys the same shortfall again, the module keeps the unpaid orders it places
        in O(order_record) and buys nothing while one for O(name_prefix) is not listed yet. Without that record it
        cannot know what earlier runs ordered, and refuses to buy (see O(order_record)).
    type: bool
    default: false
  auto_renew:
    description:
      - Renew the subscription of new instances automatically.
    type: bool
    default: false
  order_record:
    description:
      - With O(auto_pay=false), the file (JSON, mode 0600) where the module keeps the unpaid orders it placed.
      - Defaults to C($XDG_CACHE_HOME/koophone.cloud/unpaid-orders.json), or
        C(~/.cache/koophone.cloud/unpaid-orders.json).
      - The file must exist before the module buys with O(auto_pay=false). A missing record means the module cannot
        know whether an earlier run (another controller, or an AWX job, which starts in a fresh container) left an
        unpaid order for the same shortfall, so it refuses to buy rather than guess. Create the file empty to declare
        that no unpaid order is pending; in AWX, point it at storage that outlives the job, or use O(auto_pay=true).
      - A file that is not such a record, or not a regular file, is refused and never written over.
      - If not set, the value of the environment variable E(KOOPHONE_ORDER_RECORD) is used.
    type: path
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
      - What is waited for is read from batch-query (C(running_status), C(assign_status), C(backup_status), the
        instance no longer listed) and prepare-progress, never from batch-query-status, whose codes the reference
        defines two ways. Tasks the answers name (reset, unassign, backup) are followed too where the service knows
        them; it may not (C(tasks/{task_id}) is documented for commands and app installs only).
      - V(present), V(restarted), V(reset) wait until the instances run; V(absent) until they are no longer listed;
        V(unassigned) until they show unassigned and the clean-up tasks end; V(prepared) until preparation progress
        reports ready; V(backed_up) until C(backup_status) is successful or failed.
      - Reassigning with O(force=true) always waits until the unassign took effect before assigning, so the new user
        never sees the previous user's data.
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
matched_instance_count:
  description: With O(name_prefix), how many instances named C(<name_prefix>-NNNNN) the fleet listed when the task
    started.
  returned: when O(name_prefix) is set
  type: int
  sample: 10
unpaid_orders:
  description: The unpaid orders of the record that stopped a purchase (O(auto_pay=false)).
  returned: when an unpaid order for the prefix is outstanding
  type: list
  elements: dict
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
  description: The reset or unassign clean-up jobs that failed, as the task query reports them.
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
    instance_id:
      description:
        - The instance the job ran on, from the answer that started the task (the task query does not name it).
        - Absent when that answer did not say.
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

from ansible.module_utils.basic import env_fallback

from ansible_collections.koophone.cloud.plugins.module_utils import _instances as kpi
from ansible_collections.koophone.cloud.plugins.module_utils import _operations as operations
from ansible_collections.koophone.cloud.plugins.module_utils import _orders as orders
from ansible_collections.koophone.cloud.plugins.module_utils import _skus as skus
from ansible_collections.koophone.cloud.plugins.module_utils import _tasks as tasks
from ansible_collections.koophone.cloud.plugins.module_utils import _validation as validation
from ansible_collections.koophone.cloud.plugins.module_utils._changes import Changes, fail
from ansible_collections.koophone.cloud.plugins.module_utils._errors import InvalidOption, KooPhoneError
from ansible_collections.koophone.cloud.plugins.module_utils._module import KooPhoneModule

# After a lost answer, how long to keep re-reading for its effect (the order's instances, a deletion).
MAX_SETTLE_SECONDS = 30


def select(kp, missing_ok=False):
    """(targets, items); an id that does not exist fails the task before anything changes."""
    targets = kpi.Targets(kp.client, kp.params["instance_ids"], kp.params["name_prefix"])
    items, missing = targets.read()
    if missing and not missing_ok:
        raise InvalidOption(
            "instance_ids",
            "batch-query does not list %d of these instances: %s" % (len(missing), validation.some(missing)),
        )
    if kp.params["name_prefix"] is not None:
        kp.result["matched_instance_count"] = len(items)
    return targets, items, missing


def settle_time(kp):
    return min(kp.params["wait_timeout"], MAX_SETTLE_SECONDS)


def wait_for(kp, ids, pending, what, always=False):
    """Wait (with wait=true, or ``always``) until ``pending(ids)`` is empty; fail naming what is left."""
    if not ids or not (always or kp.params["wait"]):
        return
    left = tasks.wait_for_state(kp.client, ids, pending, kp.params["wait_timeout"])
    if left:
        fail(
            kp,
            "%d instance(s) %s after wait_timeout=%ss: %s"
            % (len(left), what, kp.params["wait_timeout"], validation.some(left)),
            pending_instance_ids=left,
        )


def follow_tasks(kp, answers, always=False):
    """Wait for the tasks the changes answered; fail naming jobs that failed. Unknown tasks are left to
    the state waits (their effect is read from the listing).

    ``answers`` are the answers that started the tasks: their ``cmd_jobs`` say which instance each job
    is (the task query's JobDetail does not).
    """
    if not kp.result.get("task_ids") or not (always or kp.params["wait"]):
        return
    poller = tasks.TaskPoller(kp.client, kp.result["task_ids"])
    if not poller.wait(kp.params["wait_timeout"]):
        fail(
            kp,
            "Tasks still running after wait_timeout=%ss: %s"
            % (kp.params["wait_timeout"], validation.some(t.task_id for t in poller.unsettled())),
        )
    broken = poller.failed_jobs(tasks.job_instances(answers))
    if broken:
        fail(kp, "Jobs failed: %s" % tasks.describe_jobs(broken), failed_jobs=broken)


def finish(kp, targets):
    kp.result["instances"] = kpi.described(targets.read()[0])
    return kp.result


# -------------------------------------------------------------------- present


def ensure_present(kp):
    params, client = kp.params, kp.client
    prefix, count = params["name_prefix"], params["count"]
    # The filtered listing is cheap and enough to prove nothing is missing; it cannot prove a
    # shortfall (a whole-name filter finds none of ours), so that is confirmed from the whole fleet.
    before = kpi.read_by_prefix(client, prefix, server_filter=True)
    if len(before) < count:
        before = kpi.read_by_prefix(client, prefix)
    shortfall = max(count - len(before), 0)
    Changes(kp, to_create=shortfall, created_instance_ids=[], order_ids=[])
    kp.result.update(matched_instance_count=len(before), instances=kpi.described(before))
    kp.result["diff"] = present_diff(prefix, before, before, shortfall if kp.check_mode else 0)
    if not shortfall:
        return kp.result
    catalogue, band_sku_id = skus.read_catalogue(client)  # wrong options fail here, listing the offers
    _offer, band_sku_id, network = kpi.choose_offer(catalogue, band_sku_id, params)
    unpaid = unpaid_orders(kp, before)
    if kp.check_mode:
        kp.result["changed"] = True
        return kp.result
    error = create_shortfall(kp, kpi.create_body(params, band_sku_id, network), len(before), unpaid)
    report_created(kp, before, error)
    return kp.result


def unpaid_orders(kp, before):
    """With auto_pay=false, the record of unpaid orders; fails when one may already cover the shortfall."""
    if kp.params["auto_pay"]:
        return None
    unpaid = orders.UnpaidOrders(kp.params["order_record"], kp.client.endpoint, kp.params["name_prefix"])
    pending = unpaid.outstanding(kpi.ids_of(before), prune=not kp.check_mode)
    if pending:
        fail(
            kp,
            "Not buying: an unpaid order may already cover this shortfall (an unpaid order is listed only once it is "
            "paid): %s. Pay or cancel it in the console, then run again" % orders.describe(pending),
            unpaid_orders=pending,
        )
    return unpaid


def report_created(kp, before, error):
    """After buying: what was created (listed, or named by the answers), then wait until it runs."""
    client, prefix = kp.client, kp.params["name_prefix"]
    after = kpi.read_by_prefix(client, prefix)
    listed = kpi.ids_of(after)
    known = set(kpi.ids_of(before))
    created = validation.unique([i for i in listed if i not in known] + kp.result["created_instance_ids"])
    kp.result.update(created_instance_ids=created, changed_instance_ids=created, instances=kpi.described(after))
    kp.result["changed"] = bool(kp.result["changed"] or created)
    kp.result["diff"] = present_diff(prefix, before, after)
    if error is not None:
        fail(kp, str(error), **error.to_dict())
    unlisted = [i for i in created if i not in set(listed)]
    if unlisted:
        kp.module.warn(
            "%d created instance(s) are not listed yet (an unpaid order is listed once it is paid): %s"
            % (len(unlisted), validation.some(unlisted))
        )
    waited = [i for i in created if i in set(listed)]
    wait_for(kp, waited, kpi.Targets(client, waited).pending(kpi.is_running), "are not running")
    if kp.params["wait"] and waited:
        kp.result["instances"] = kpi.described(kpi.read_by_prefix(client, prefix))


def create_shortfall(kp, body, have, unpaid):
    """Create until ``count`` instances exist, at most 1,500 per call. Returns the error that stopped it, or None.

    Each order is recorded as soon as its answer arrives, and so is a create whose answer was lost: it
    may have been placed, so it counts as a change. After a lost answer the next decision needs the
    re-read count, so calls run one after another.
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
            if unpaid is not None:
                unpaid.add(None, size, [], listed_before=have, answered=False)
            try:
                seen = settle(client, prefix, have + size, settle_time(kp))
            except KooPhoneError as read_error:
                return lost_order_error(error, size, None, read_error)
            if seen < have + size:
                return lost_order_error(error, size, seen - have)
            have = seen
            continue
        order, created = kpi.order_id(answer), kpi.created_instance_ids(answer)
        if order:
            result["order_ids"].append(order)
        result["created_instance_ids"].extend(created)
        result["changed_instance_ids"].extend(created)
        result["changed"] = True  # error_code "0": the order is placed
        if unpaid is not None:
            problem = unpaid.add(order, size, created, listed_before=have)
            if problem:
                kp.module.warn(problem)
        have += size  # the order's size, not the listing: unpaid orders may not be listed yet
    return None


def settle(client, prefix, expected, timeout):
    """How many ``<prefix>-NNNNN`` instances the fleet lists, re-reading until ``expected`` or ``timeout``."""
    _done, seen = client.poll(lambda: len(kpi.read_by_prefix(client, prefix)), lambda n: n >= expected, timeout)
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

    return {"before": view(before), "after": view(after, to_create)}


# -------------------------------------------------------------------- absent


def ensure_absent(kp):
    targets, items, missing = select(kp, missing_ok=True)
    ids = kpi.ids_of(items)
    changes = Changes(kp, instances=kpi.described(items))
    kp.result["diff"] = {"before": {"instances": listing_names(items)}, "after": {"instances": {}}}
    if kp.params["instance_ids"] is not None:
        kp.result["missing_instance_ids"] = missing
    outcome = changes.apply(
        "DeleteInstance",
        ids,
        lambda chunk: {"instanceIdList": chunk},
        # A deletion may take a while to show: after a lost answer, give it time before sending again.
        reread=targets.read_ids,
        settle=settler(kp, targets, kpi.is_gone),
        still_needed=lambda item: item is not None,
    )
    changes.fail_on(outcome, "Deleting", len(ids))
    if kp.check_mode:
        return kp.result
    wait_for(kp, outcome.done, targets.pending(kpi.is_gone), "are still listed")
    kp.result["instances"] = []
    return kp.result


def settler(kp, targets, done):
    """After a lost answer: wait until the listing shows ``done(item)`` for each id, or the settle time passes."""
    return lambda ids: tasks.wait_for_state(kp.client, ids, targets.pending(done), settle_time(kp))


def listing_names(items):
    return dict((item["instance_id"], item.get("instance_name")) for item in items)


# -------------------------------------------------------------------- restarted / reset


def ensure_rebooted(kp, operation_name):
    targets, items, _missing = select(kp)
    if operation_name == "BatchRebootInstance":
        # The API refuses a reboot chunk whole when one of its instances is not running (5005).
        idle = [item for item in kpi.described(items) if not kpi.is_running(item)]
        if idle:
            fail(
                kp,
                "Only running instances can be restarted, and the API refuses a whole request for one that is "
                "not; nothing was sent. Not running: %s" % kpi.describe(idle, "running_status_name"),
                instances=kpi.described(items),
            )
    ids = kpi.ids_of(items)
    changes = Changes(kp, with_tasks=operation_name == "BatchResetInstance", instances=kpi.described(items))
    # Not repeatable and not visible in the listing: a chunk whose answer was lost is not sent again
    # (a second reboot would reboot again); it probably rebooted, so it is maybe_changed.
    outcome = changes.apply(operation_name, ids, lambda chunk: {"instance_ids": chunk})
    changes.fail_on(outcome, operation_name, len(ids))
    if kp.check_mode:
        return kp.result
    follow_tasks(kp, outcome.answers)
    wait_for(kp, outcome.done, targets.pending(kpi.is_running), "are not running again")
    return finish(kp, targets)


# -------------------------------------------------------------------- assigned / unassigned


def ensure_assigned(kp):
    user_id = kp.params["user_id"]
    targets, items, _missing = select(kp)
    others = [item for item in items if kpi.is_assigned(item) and not kpi.is_assigned_to(item, user_id)]
    if others and not kp.params["force"]:
        fail(
            kp,
            "%d instance(s) are assigned to another user: %s. Assigning them to %s would unassign them first, "
            "which wipes that user's data; nothing was changed. Set force=true to reassign them"
            % (len(others), kpi.describe(others, "assign_user"), user_id),
            instances=kpi.described(items),
        )
    ids = kpi.ids_of(item for item in items if not kpi.is_assigned_to(item, user_id))
    changes = Changes(kp, with_tasks=True, instances=kpi.described(items))
    if kp.check_mode:
        changes.would_change(kpi.ids_of(others))
    kp.result["diff"] = assign_diff(items, dict((item["instance_id"], user_id) for item in items))
    if others and not kp.check_mode:
        unassigned = unassign(kp, changes, targets, others)
        # Always wait: assigning before the unassign took effect could show the old user's data.
        follow_tasks(kp, unassigned.answers, always=True)
        wait_for(kp, kpi.ids_of(others), targets.pending(kpi.is_unassigned), "are still assigned", always=True)
    outcome = changes.apply(
        "ProvisionInstance",
        ids,
        lambda chunk: {"user_instances": [{"user_id": user_id, "instance_id": i} for i in chunk]},
        reread=targets.read_ids,
        still_needed=lambda item: item is not None and not kpi.is_assigned_to(item, user_id),
    )
    changes.fail_on(outcome, "Assigning", len(ids))
    return kp.result if kp.check_mode else finish(kp, targets)


def ensure_unassigned(kp):
    user_id = kp.params["user_id"]
    targets, items, _missing = select(kp)
    assigned = [item for item in items if kpi.is_assigned(item)]
    others = [item for item in assigned if user_id is not None and not kpi.is_assigned_to(item, user_id)]
    if others and not kp.params["force"]:
        fail(
            kp,
            "%d instance(s) are assigned to another user than %s: %s. Unassigning wipes that user's data; "
            "nothing was changed. Set force=true to unassign them anyway"
            % (len(others), user_id, kpi.describe(others, "assign_user")),
            instances=kpi.described(items),
        )
    changes = Changes(kp, with_tasks=True, instances=kpi.described(items))
    kp.result["diff"] = assign_diff(items, dict((item["instance_id"], None) for item in items))
    unassigned = unassign(kp, changes, targets, assigned)
    if kp.check_mode:
        return kp.result
    follow_tasks(kp, unassigned.answers)
    wait_for(kp, kpi.ids_of(assigned), targets.pending(kpi.is_unassigned), "are still assigned")
    return finish(kp, targets)


def unassign(kp, changes, targets, items):
    """Unassign each item from the user it has now (10 pairs per call); fail the task on any refusal."""
    users = dict((item["instance_id"], "%s" % (item.get("assign_user"),)) for item in items)
    outcome = changes.apply(
        "CancelInstance",
        list(users),
        lambda chunk: {"user_instances": [{"user_id": users[i], "instance_id": i} for i in chunk]},
        # An unassign may take a while to show: after a lost answer, give it time before sending again.
        reread=targets.read_ids,
        settle=settler(kp, targets, kpi.is_unassigned),
        still_needed=lambda item: item is not None and kpi.is_assigned_to(item, users[item["instance_id"]]),
    )
    changes.fail_on(outcome, "Unassigning", len(users))
    return outcome


def assign_diff(items, after):
    before = dict((item["instance_id"], item.get("assign_user") if kpi.is_assigned(item) else None) for item in items)
    return {"before": {"assign_user": before}, "after": {"assign_user": after}}


# -------------------------------------------------------------------- prepared


def ensure_prepared(kp):
    user_id = kp.params["user_id"]
    targets, items, _missing = select(kp)
    strangers = [item for item in items if not kpi.is_assigned_to(item, user_id)]
    if strangers:
        fail(
            kp,
            "Preparing needs the instances assigned to user_id %s (use state=assigned first); nothing was sent. "
            "Not assigned to it: %s" % (user_id, kpi.describe(strangers, "assign_user")),
            instances=kpi.described(items),
        )
    # Readiness is what prepare-progress says, not "running": a running phone may have its data offline.
    progress = kpi.Progress(kp.client, user_id, kpi.ids_of(items))
    progress.read(kpi.ids_of(items))
    needed = progress.with_status(*kpi.NEEDS_PREPARE)
    changes = Changes(kp, instances=kpi.described(items))
    kp.result["prepare_results"] = list(progress.entries.values())
    outcome = changes.apply(
        "BatchPrepareInstances",
        needed,
        lambda chunk: {"user_id": user_id, "instance_ids": chunk},
        reread=progress.reread,
        still_needed=lambda entry: entry is None or entry["progress_status"] in kpi.NEEDS_PREPARE,
    )
    progress.record_prepare(outcome.answers)
    blocked = progress.blocked()
    if blocked:
        kp.result["changed_instance_ids"] = [
            i for i in kp.result["changed_instance_ids"] if i not in kpi.ids_of(blocked)
        ]
        kp.result["changed"] = bool(kp.result["changed_instance_ids"] or kp.result["maybe_changed_instance_ids"])
        fail(kp, "The service cannot prepare %s" % kpi.describe(blocked, "prepare_status_name"))
    changes.fail_on(outcome, "Preparing", len(needed))
    if kp.check_mode:
        return kp.result
    followed = [i for i in kpi.ids_of(items) if i not in progress.with_status(kpi.PROGRESS_READY)]
    left = tasks.wait_for_state(
        kp.client, followed, progress.read, kp.params["wait_timeout"] if kp.params["wait"] else 0
    )
    broken = [progress.entries[i] for i in progress.with_status(kpi.PROGRESS_FAILED)]
    if broken:
        fail(kp, "Preparing failed for %s" % kpi.describe(broken, "progress_status_name"))
    if kp.params["wait"] and left:
        fail(
            kp,
            "%d instance(s) are not ready after wait_timeout=%ss: %s"
            % (len(left), kp.params["wait_timeout"], validation.some(left)),
            pending_instance_ids=left,
        )
    return finish(kp, targets)


# -------------------------------------------------------------------- backed_up


def ensure_backed_up(kp):
    targets, items, _missing = select(kp)
    running_backups = [item for item in items if kpi.is_backing_up(item)]
    ids = kpi.ids_of(item for item in items if not kpi.is_backed_up(item) and not kpi.is_backing_up(item))
    changes = Changes(kp, with_tasks=True, instances=kpi.described(items))
    # Not repeatable, and a re-read cannot tell a backup that never started from a queued one
    # (backup_status 0 "preparing" is also what a never-backed-up phone shows): a chunk whose answer
    # was lost is never sent again; its instances may have been backed up.
    outcome = changes.apply("BatchBackupInstances", ids, lambda chunk: {"instance_ids": chunk})
    changes.fail_on(outcome, "Backing up", len(ids))
    if kp.check_mode:
        return kp.result
    followed = kpi.ids_of(running_backups) + outcome.done
    # The backup's end shows in backup_status (the phone may keep running throughout).
    wait_for(kp, followed, targets.pending(kpi.backup_finished), "have not finished their backup")
    after = finish(kp, targets)["instances"]
    broken = [
        item
        for item in after
        if item["instance_id"] in followed and kpi.number(item, "backup_status") == kpi.BACKUP_FAILED
    ]
    if broken:
        fail(kp, "Backup failed for %s" % validation.some(kpi.ids_of(broken)))
    return kp.result


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
        state=dict(type="str", default="present", choices=kpi.STATES),
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
        order_record=dict(type="path", fallback=(env_fallback, ["KOOPHONE_ORDER_RECORD"])),
        user_id=dict(type="str"),
        force=dict(type="bool", default=False),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=600),
    )


def main():
    targeted = [("state", state, ("instance_ids", "name_prefix"), True) for state in kpi.STATES if state != "present"]
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
    kp.run(run, validate=kpi.validate)


if __name__ == "__main__":
    main()
