# Copyright: (c) 2026, koophone.cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the koophone.cloud collection (capability layer; see docs/development.md): not a public API,
# it may change in any release. Do not import it from other collections or standalone plugins.
"""Reading, applying and waiting for koophone_instance.

- which instances a task targets and what they look like now (batch-query, read the way
  koophone_instance_info reads: one filtered request per id for a few ids, else the fleet once);
- applying a batch operation so that a chunk whose answer was lost is re-read before anything
  is sent again (or, for operations that are not repeatable, never sent again and reported as
  maybe changed);
- waiting: running status, async tasks, backups;
- choosing what to buy from the SKU catalogue, with errors that list what it offers.

All HTTP goes through the shared client; this file only decides what to read and when to stop.
"""

import re

from ansible_collections.koophone.cloud.plugins.module_utils import (
    _operations as operations,
)
from ansible_collections.koophone.cloud.plugins.module_utils import (
    _statuses as statuses,
)
from ansible_collections.koophone.cloud.plugins.module_utils import (
    _validation as validation,
)
from ansible_collections.koophone.cloud.plugins.module_utils._errors import InvalidOption, KooPhoneError

# Up to this many ids, one filtered batch-query per id beats reading the whole fleet
# (the trade-off koophone_instance_info makes too).
PER_ID_LOOKUP_LIMIT = 10
PAGE_SIZE = operations.LIST_INSTANCES_PAGE_SIZE[0]
RUNNING = 2
BACKUP_EXECUTING = 1
BACKUP_SUCCESSFUL = 2
BACKUP_FAILED = 3
# Jobs of reset/unassign/backup tasks: 0 not run and 1 running are unfinished; 2 success; -1 (or 3) failed.
UNFINISHED_JOB = (0, 1)
FAILED_JOB = (-1, 3)
TASK_UNKNOWN = "KOOPHONE.API.1323"
DEFAULT_NETWORK = "EIP"  # CreateInstance.json: network is optional and defaults to EIP


# -------------------------------------------------------------------- reading


def name_pattern(prefix):
    """Names the API gives created instances: ``<prefix>-NNNNN`` (reference §4.2.2 example)."""
    return re.compile("^%s-(\\d+)$" % re.escape(prefix))


def read_by_prefix(client, prefix, server_filter=True):
    """Every instance named ``<prefix>-<number>``, in number order.

    With ``server_filter``, batch-query's instance_name filter narrows the listing. The reference
    does not say whether that filter matches a substring or the whole name (the emulator matches
    substrings: ``kp`` also finds ``kp-old-00001``), so the names are checked here as well, and a
    listing that finds too few proves nothing: before anything is bought, ``state=present`` reads
    again with ``server_filter=False`` (every page of the fleet, names checked only here).
    """
    pattern = name_pattern(prefix)
    query = {"instance_name": prefix} if server_filter else {}
    numbered = []
    for item in client.list_all("ListInstances", query, PAGE_SIZE, key="instance_id"):
        match = pattern.match(item.get("instance_name") or "")
        if match:
            numbered.append((int(match.group(1)), item))
    numbered.sort(key=lambda pair: pair[0])
    return [item for _number, item in numbered]


def read_by_ids(client, ids):
    """{instance_id: batch-query item} for those of ``ids`` that exist."""
    ids = list(ids)
    if not ids:
        return {}
    if len(ids) <= PER_ID_LOOKUP_LIMIT:
        found = []
        outcomes = client.map_concurrently(
            lambda instance_id: client.list_all("ListInstances", {"instance_id": instance_id}, PAGE_SIZE), ids
        )
        for items, error in outcomes:
            if error is not None:
                raise error
            found.extend(items)
    else:
        found = client.list_all("ListInstances", {}, PAGE_SIZE, key="instance_id")
    wanted = set(ids)
    return dict((item["instance_id"], item) for item in found if item.get("instance_id") in wanted)


class Targets:
    """The instances a task names, by ``instance_ids`` or by ``name_prefix``."""

    def __init__(self, client, instance_ids=None, name_prefix=None):
        self.client = client
        self.instance_ids = validation.unique(instance_ids) if instance_ids is not None else None
        self.name_prefix = name_prefix

    def read(self):
        """(the items, in the order asked for; the ids asked for that do not exist)."""
        if self.instance_ids is None:
            return read_by_prefix(self.client, self.name_prefix), []
        found = read_by_ids(self.client, self.instance_ids)
        return [found[i] for i in self.instance_ids if i in found], [i for i in self.instance_ids if i not in found]

    def read_ids(self, ids):
        """{id: item} for some of the targets, read the cheaper way."""
        if self.instance_ids is None and len(ids) > PER_ID_LOOKUP_LIMIT:
            wanted = set(ids)
            items = read_by_prefix(self.client, self.name_prefix)
            return dict((item["instance_id"], item) for item in items if item["instance_id"] in wanted)
        return read_by_ids(self.client, ids)


def described(items):
    """Batch-query items with a readable ``<field>_name`` beside every status number."""
    return [statuses.with_status_names(item) for item in items]


def ids_of(items):
    return [item["instance_id"] for item in items]


# -------------------------------------------------------------------- status checks


def as_int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def is_running(item):
    return as_int(item.get("running_status")) == RUNNING


def is_assigned(item):
    return as_int(item.get("assign_status")) == 1


def is_assigned_to(item, user_id):
    return is_assigned(item) and ("%s" % (item.get("assign_user"),)) == user_id


def is_backed_up(item):
    """Backed up and released: the data is in OBS and the phone does not run (reference §4.3.3)."""
    return as_int(item.get("backup_status")) == BACKUP_SUCCESSFUL and not is_running(item)


def is_backing_up(item):
    return as_int(item.get("backup_status")) == BACKUP_EXECUTING


# -------------------------------------------------------------------- applying


class ChunkFailure:
    """A chunk the service refused, or whose answer was lost (``error.maybe_applied``)."""

    def __init__(self, ids, error):
        self.ids = ids
        self.error = error

    def to_dict(self):
        return dict(self.error.to_dict(), instance_ids=self.ids, msg=str(self.error))


class Outcome:
    """What a batch operation did, chunk by chunk.

    - ``answers``: the answers of the accepted chunks;
    - ``done``: ids the service accepted, or that a re-read after a lost answer shows changed;
    - ``maybe``: ids of chunks whose answer was lost and that were not sent again: they may or may
      not have been changed (a reboot probably happened), so they count as a change;
    - ``failures``: every chunk that failed in the end, refused or lost (``error.maybe_applied``).
    """

    def __init__(self):
        self.answers = []
        self.done = []
        self.maybe = []
        self.failures = []

    @property
    def changed(self):
        return bool(self.done or self.maybe)

    @property
    def failed_ids(self):
        return [i for failure in self.failures for i in failure.ids]

    def add(self, chunks):
        """Sort answered and refused chunks in; return the lost ones (ChunkFailure) for the caller to decide."""
        unsure = []
        for chunk in chunks:
            if not chunk.failed:
                self.answers.append(chunk.answer)
                self.done.extend(chunk.ids)
            elif chunk.error.maybe_applied:
                unsure.append(ChunkFailure(chunk.ids, chunk.error))
            else:
                self.failures.append(ChunkFailure(chunk.ids, chunk.error))
        return unsure

    def lost(self, unsure):
        """Lost chunks that are not sent again: failures that may have applied."""
        self.failures.extend(unsure)
        self.maybe.extend(i for failure in unsure for i in failure.ids)

    def in_order(self, ids):
        done, maybe = set(self.done), set(self.maybe)
        self.done = [i for i in validation.unique(ids) if i in done]
        self.maybe = [i for i in validation.unique(ids) if i in maybe and i not in done]
        return self


def apply_batched(client, operation_name, ids, make_body, reread=None, still_needed=None):
    """Call a batch operation over ``ids`` in chunks; return an Outcome.

    A chunk whose answer was lost is never simply sent again. With ``reread`` (ids -> {id: item})
    and ``still_needed`` (item or None -> bool), for operations whose effect the listing shows,
    its ids are read again and only those that still need the change are sent, once; the others
    count as done. Without them (reboot, reset, backup: not repeatable, or not visible in the
    listing), or when the re-read fails, the chunk is a failure that may have applied
    (``Outcome.maybe``) and is not sent again.
    """
    outcome = Outcome()
    unsure = outcome.add(client.call_batched(operation_name, ids, make_body))
    if unsure and reread is not None:
        unsure_ids = [i for failure in unsure for i in failure.ids]
        try:
            current = reread(unsure_ids)
        except KooPhoneError:
            # Nothing proves what the lost chunks did: report them as such, send nothing more.
            outcome.lost(unsure)
            return outcome.in_order(ids)
        remaining = [i for i in unsure_ids if still_needed(current.get(i))]
        outcome.done.extend(i for i in unsure_ids if i not in set(remaining))
        if remaining:
            outcome.lost(outcome.add(client.call_batched(operation_name, remaining, make_body)))
    else:
        outcome.lost(unsure)
    return outcome.in_order(ids)


def created_instance_ids(answer):
    """The instance ids a create answer names: ``data.instanceInfos[].instanceId`` (both sources).

    Read liberally: ``data.data`` nesting (as install answers) and snake_case names as well.
    """
    data = answer.get("data") if isinstance(answer, dict) else None
    if isinstance(data, dict) and isinstance(data.get("data"), dict) and "orderId" not in data:
        data = data["data"]
    if not isinstance(data, dict):
        return []
    infos = data.get("instanceInfos") or data.get("instance_infos") or []
    found = []
    for info in infos if isinstance(infos, list) else []:
        if isinstance(info, dict):
            instance_id = info.get("instanceId") or info.get("instance_id")
            if instance_id:
                found.append("%s" % (instance_id,))
    return found


def order_id(answer):
    """``data.orderId`` of a create answer (``data.data.orderId`` read too)."""
    data = answer.get("data") if isinstance(answer, dict) else None
    if isinstance(data, dict) and isinstance(data.get("data"), dict) and "orderId" not in data:
        data = data["data"]
    if isinstance(data, dict):
        return data.get("orderId") or data.get("order_id")
    return None


def task_ids(answers):
    """The task ids of reset/unassign/backup answers: ``data.task_id`` or nested ``data.data.task_id``."""
    found = []
    for answer in answers:
        data = answer.get("data")
        if isinstance(data, dict) and isinstance(data.get("data"), dict) and "task_id" not in data:
            data = data["data"]
        if isinstance(data, dict) and data.get("task_id"):
            found.append(data["task_id"])
    return found


# -------------------------------------------------------------------- waiting


def wait_until(client, pending, still_pending, wait_timeout):
    """Call ``still_pending(ids) -> ids`` until nothing is pending or ``wait_timeout`` passes.

    Only what is still pending is read again. Returns the ids still pending at the end.
    """
    current = {"pending": list(pending)}
    if not current["pending"]:
        return []

    def read():
        current["pending"] = still_pending(current["pending"])
        return current["pending"]

    _done, last = client.poll(read, lambda ids: not ids, wait_timeout)
    return last


def not_running(client, ids):
    """Those of ``ids`` whose live status (batch-query-status, 100 per request) is not running."""
    status_by_id = {}
    for chunk in client.call_batched("BatchShowInstance", ids, lambda chunk: {"instance_ids": chunk}):
        if chunk.failed:
            raise chunk.error
        for entry in (chunk.answer.get("data") or {}).get("status_results") or []:
            status_by_id[entry.get("instance_id")] = entry.get("status")
    return [i for i in ids if as_int(status_by_id.get(i)) != RUNNING]


class TaskWatcher:
    """Follows reset/unassign/backup tasks through ``GET /v1/instances/tasks/{task_id}``.

    The reference documents that endpoint for commands and app installs only; a service that
    does not know one of these task ids (KOOPHONE.API.1323) leaves it untracked instead of failing.
    """

    def __init__(self, client):
        self.client = client
        self.jobs = {}
        self.untracked = []

    def unfinished(self, task_ids):
        outcomes = self.client.map_concurrently(
            lambda task_id: self.client.call("ExecuteJob", path_params={"task_id": task_id}), list(task_ids)
        )
        pending = []
        for task_id, (answer, error) in zip(task_ids, outcomes):
            if error is not None:
                if error.error_code != TASK_UNKNOWN:
                    raise error
                self.untracked.append(task_id)
                continue
            jobs = (answer.get("data") or {}).get("jobs") or []
            self.jobs[task_id] = jobs
            if any(as_int(job.get("status")) in UNFINISHED_JOB for job in jobs):
                pending.append(task_id)
        return pending

    def failed_jobs(self):
        return [
            dict(job, task_id=task_id)
            for task_id, jobs in self.jobs.items()
            for job in jobs
            if as_int(job.get("status")) in FAILED_JOB
        ]


# -------------------------------------------------------------------- buying


def describe_offers(catalogue):
    """One line per region: its SKUs with type, spec, AOSP versions and bandwidth sizes."""
    regions = []
    for region in validation.unique(sku["region_id"] for sku in catalogue):
        offers = [
            "%s (%s, %s, %s, bandwidth %s Mbit/s)"
            % (
                sku["sku_id"],
                sku["sku_type"],
                sku["calc_spec"],
                "/".join(sku["os_versions"]) or "no enabled pool",
                "/".join("%s" % size for size in sku["band_sizes"]) or "?",
            )
            for sku in catalogue
            if sku["region_id"] == region
        ]
        regions.append("%s: %s" % (region, ", ".join(offers)))
    return "; ".join(regions) or "nothing (the catalogue is empty)"


def choose_offer(catalogue, catalogue_band_sku_id, params):
    """Check what ``params`` asks to buy against the catalogue.

    Returns (offer, band_sku_id, network); raises InvalidOption naming the option and listing
    what the catalogue offers instead.
    """
    region, sku_id = params["region"], params["sku_id"]
    if region not in set(sku["region_id"] for sku in catalogue):
        problem = "%r is not in the SKU catalogue" % region
        if not region:
            problem = "is required to create instances" + ("" if sku_id else " (and so is sku_id)")
        raise InvalidOption("region", "%s; the SKU catalogue offers %s" % (problem, describe_offers(catalogue)))
    in_region = [sku for sku in catalogue if sku["region_id"] == region]
    offer = next((sku for sku in in_region if sku["sku_id"] == sku_id), None)
    if offer is None:
        problem = "is required to create instances" if not sku_id else "%r is not sold in %s" % (sku_id, region)
        raise InvalidOption("sku_id", "%s; the SKU catalogue offers %s" % (problem, describe_offers(in_region)))

    os_version = params["os"]
    if os_version not in offer["os_versions"]:
        problem = "is required to create instances" if not os_version else "%r has no enabled pool" % os_version
        raise InvalidOption(
            "os", "%s; %s in %s offers %s" % (problem, sku_id, region, ", ".join(offer["os_versions"]) or "none")
        )

    network = params["network"] or DEFAULT_NETWORK
    pools = [p for p in offer["pools"] if p["enable"] and p["version"] == os_version]
    networks = validation.unique(p["network"] for p in pools if p["network"])
    # The API Explorer example omits a pool's network; only a catalogue that names networks can refuse one.
    if networks and network not in networks:
        raise InvalidOption(
            "network",
            "%s is not offered for %s %s in %s; it offers %s"
            % (network, sku_id, os_version, region, ", ".join(networks)),
        )

    band_size, sizes = params["band_size"], offer["band_sizes"]
    if band_size is None or (sizes and float(band_size) not in [float(size) for size in sizes]):
        problem = "is required to create instances" if band_size is None else "%s Mbit/s is not offered" % band_size
        offered = "/".join("%s" % size for size in sizes) or "no sizes listed"
        raise InvalidOption("band_size", "%s; %s in %s offers %s Mbit/s" % (problem, sku_id, region, offered))

    band_sku_id = params["band_sku_id"] or catalogue_band_sku_id
    if not band_sku_id:
        raise InvalidOption("band_sku_id", "is required: the SKU catalogue names no bandwidth SKU")
    if catalogue_band_sku_id and band_sku_id != catalogue_band_sku_id:
        raise InvalidOption(
            "band_sku_id",
            "%r is not the catalogue's bandwidth SKU; it offers %s" % (band_sku_id, catalogue_band_sku_id),
        )
    return offer, band_sku_id, network
