# Copyright: (c) 2026, koophone.cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the koophone.cloud collection (capability layer; see docs/development.md): not a public API,
# it may change in any release. Do not import it from other collections or standalone plugins.
"""What koophone_instance needs to know about instances, apart from sending changes.

- the options' limits, checked before any request;
- which instances a task targets (by id, or every ``<prefix>-NNNNN``) and what they look like now;
- how to tell that a change took effect, read from batch-query (never from batch-query-status,
  whose codes the reference defines twice, nor from tasks the service may not track);
- choosing what to buy from the SKU catalogue, with errors that list what it offers;
- reading preparation progress.

All HTTP goes through the shared client; this file only decides what to read and when to stop.
"""

import re

from ansible_collections.koophone.cloud.plugins.module_utils import _operations as operations
from ansible_collections.koophone.cloud.plugins.module_utils import _statuses as statuses
from ansible_collections.koophone.cloud.plugins.module_utils import _validation as validation
from ansible_collections.koophone.cloud.plugins.module_utils._client import PER_ID_LOOKUP_LIMIT, listed, payload
from ansible_collections.koophone.cloud.plugins.module_utils._errors import InvalidOption

STATES = ["present", "absent", "restarted", "reset", "assigned", "unassigned", "prepared", "backed_up"]
MAX_PREFIX = 14  # instanceNamePrefix, both sources
MAX_COUNT = 99999  # names carry a five-digit number (<prefix>-NNNNN)
MAX_SKU_FIELD = 64  # instanceSkuId, bandSkuId, regionId
PERIODS = {"month": (2, 9), "year": (3, 3)}  # periodType and the largest periodNum (3006, 3007)
MAX_WAIT_TIMEOUT = 86400
OS_FORMAT = re.compile(r"^AOSP\d+$")
PAGE_SIZE = operations.LIST_INSTANCES_PAGE_SIZE[0]

RUNNING = 2
GOING_OFFLINE = 3
BACKUP_EXECUTING = 1
BACKUP_SUCCESSFUL = 2
BACKUP_FAILED = 3

# prepare's per-instance status (§4.3.1): what waiting may fix, and what it cannot (not assigned to
# the user, offline, restore failed, maintenance): those fail at once, naming the phones.
PREPARE_BLOCKED = (2, 6, 9, 10)
# prepare-progress (§4.3.2): 0 normal (ready), 1 queuing, 2 restoring and offline, 3 backing up, -1 failed.
PROGRESS_READY = 0
PROGRESS_QUEUING = 1
PROGRESS_OFFLINE = 2
PROGRESS_BACKING_UP = 3
PROGRESS_FAILED = -1
# What prepare-progress shows for a phone that needs a prepare request: its data offline (restored by
# prepare), a failed preparation, or no reading at all.
NEEDS_PREPARE = (PROGRESS_OFFLINE, PROGRESS_FAILED, None)


def validate(params):
    """Every limit the reference states, before any request (InvalidOption names the option)."""
    state = params["state"]
    validation.check_ids("instance_ids", params["instance_ids"])
    if state == "present" and params["instance_ids"] is not None:
        raise InvalidOption("instance_ids", "is not used with state=present; name new instances with name_prefix")
    if params["instance_ids"] == []:
        # An empty list is almost always a selection that went wrong upstream: say so, do not guess.
        raise InvalidOption("instance_ids", "is empty; it must name at least one instance")
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


# -------------------------------------------------------------------- reading


def name_pattern(prefix):
    """Names the API gives created instances: ``<prefix>-NNNNN`` (reference §4.2.2 example)."""
    return re.compile("^%s-(\\d+)$" % re.escape(prefix))


def read_by_prefix(client, prefix, server_filter=False):
    """Every instance named ``<prefix>-<number>``, in number order.

    The reference does not say whether batch-query's ``instance_name`` filter matches part of a
    name or the whole name. A filter that matched whole names would find none of ``shop-00001``
    for ``shop``, so only ``state=present`` uses it, and only to prove that nothing is missing
    (``server_filter=True``; names are checked here either way). Everything else reads the fleet.
    """
    pattern = name_pattern(prefix)
    query = {"instance_name": prefix} if server_filter else {}
    numbered = []
    for item in client.list_all("ListInstances", query, PAGE_SIZE, key="instance_id"):
        match = pattern.match(validation.as_text(item.get("instance_name")) or "")
        if match:
            numbered.append((int(match.group(1)), item))
    numbered.sort(key=lambda pair: pair[0])
    return [item for _number, item in numbered]


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
        found = self.client.read_instances(self.instance_ids, PAGE_SIZE)
        return [found[i] for i in self.instance_ids if i in found], [i for i in self.instance_ids if i not in found]

    def read_ids(self, ids):
        """{id: item} for some of the targets, read the cheaper way."""
        if self.instance_ids is None and len(ids) > PER_ID_LOOKUP_LIMIT:
            wanted = set(ids)
            items = read_by_prefix(self.client, self.name_prefix)
            return dict((item["instance_id"], item) for item in items if item["instance_id"] in wanted)
        return self.client.read_instances(ids, PAGE_SIZE)

    def pending(self, done):
        """A ``still_pending(ids)`` for tasks.wait_for_state: the ids whose listed item is not ``done(item)``."""

        def still_pending(ids):
            current = self.read_ids(ids)
            return [i for i in ids if not done(current.get(i))]

        return still_pending


def described(items):
    """Batch-query items with a readable ``<field>_name`` beside every status number."""
    return [statuses.with_status_names(item) for item in items]


def ids_of(items):
    return [item["instance_id"] for item in items]


def describe(items, field):
    return validation.some("%s (%s)" % (item["instance_id"], item.get(field)) for item in items)


# -------------------------------------------------------------------- what the listing shows


def number(item, field):
    return validation.as_int(item.get(field)) if item is not None else None


def is_running(item):
    return number(item, "running_status") == RUNNING


def is_gone(item):
    """Deleted: no longer listed. Going offline (3) is on its way out."""
    return item is None


def is_assigned(item):
    return number(item, "assign_status") == 1


def is_assigned_to(item, user_id):
    return is_assigned(item) and ("%s" % (item.get("assign_user"),)) == user_id


def is_unassigned(item):
    return item is not None and not is_assigned(item)


def is_backed_up(item):
    """The last backup succeeded (reference §4.3.3 says nothing of stopping the phone for it)."""
    return number(item, "backup_status") == BACKUP_SUCCESSFUL


def is_backing_up(item):
    return number(item, "backup_status") == BACKUP_EXECUTING


def backup_finished(item):
    return item is None or number(item, "backup_status") in (BACKUP_SUCCESSFUL, BACKUP_FAILED)


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

    Returns (offer, band_sku_id, network); network is None when the user gave none and the pool
    offers several (the service then picks its default). Raises InvalidOption naming the option
    and listing what the catalogue offers instead.
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
    network = choose_network(offer, os_version, params["network"], region)

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


def choose_network(offer, os_version, wanted, region):
    """The network to send: the user's (checked against the pools), else the one the pools offer.

    The reference states no default (the API Explorer says EIP, yet the reference's own catalogue
    offers ADN pools only), so with no ``network`` and a choice, none is sent.
    """
    pools = [p for p in offer["pools"] if p["enable"] and p["version"] == os_version]
    networks = validation.unique(p["network"] for p in pools if p["network"])
    if wanted is None:
        return networks[0] if len(networks) == 1 else None
    # The API Explorer example omits a pool's network; only a catalogue that names networks can refuse one.
    if networks and wanted not in networks:
        raise InvalidOption(
            "network",
            "%s is not offered for %s %s in %s; it offers %s"
            % (wanted, offer["sku_id"], os_version, region, ", ".join(networks)),
        )
    return wanted


def create_body(params, band_sku_id, network):
    band_size = params["band_size"]
    period_type, _longest = PERIODS[params["period_type"]]
    body = {
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
    }
    if network is not None:
        body["network"] = network
    return body


def created_instance_ids(answer):
    """The instance ids a create answer names: ``data.instanceInfos[].instanceId`` (both sources).

    Read liberally: ``data.data`` nesting (as install answers) and snake_case names as well.
    """
    data = payload(answer, "orderId")
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
    data = payload(answer, "orderId")
    return data.get("orderId") or data.get("order_id")


# -------------------------------------------------------------------- preparing


def progress_entry(instance_id, prepare_status=None):
    return {
        "instance_id": instance_id,
        "prepare_status": prepare_status,
        "prepare_status_name": None
        if prepare_status is None
        else statuses.name_of(statuses.PREPARE_STATUS, prepare_status),
        "progress_status": None,
        "progress_status_name": None,
        "queue_position": 0,
        "waiting_count": 0,
    }


class Progress:
    """prepare-progress for each instance (one request per instance: the operation takes one)."""

    def __init__(self, client, user_id, ids):
        self.client = client
        self.user_id = user_id
        self.entries = dict((i, progress_entry(i)) for i in ids)
        self._first_reading = set()

    def read(self, ids):
        """Read ``ids`` once; return those neither ready nor failed."""
        outcomes = self.client.map_concurrently(
            lambda i: self.client.call("ShowProgress", body={"user_id": self.user_id, "instance_id": i}), ids
        )
        pending = []
        for instance_id, (answer, error) in zip(ids, outcomes):
            if error is not None:
                raise error
            data = payload(answer, "status")
            status = validation.as_int(data.get("status"))
            entry = self.entries[instance_id]
            entry.update(
                progress_status=status,
                progress_status_name=statuses.name_of(statuses.PREPARE_PROGRESS_STATUS, status),
                waiting_count=validation.as_int(data.get("waitingCount")) or 0,
            )
            if instance_id not in self._first_reading:
                self._first_reading.add(instance_id)
                entry["queue_position"] = entry["waiting_count"]
            if status not in (PROGRESS_READY, PROGRESS_FAILED):
                pending.append(instance_id)
        return pending

    def reread(self, ids):
        """{id: entry} after reading ``ids`` again (for a prepare whose answer was lost)."""
        self.read(ids)
        return dict((i, self.entries[i]) for i in ids)

    def with_status(self, *wanted):
        return [i for i, entry in self.entries.items() if entry["progress_status"] in wanted]

    def record_prepare(self, answers):
        """prepare's per-instance answer (``status_list``) into the entries."""
        for answer in answers:
            for item in listed(answer, "status_list"):
                entry = self.entries.get(validation.id_text(item.get("instance_id")))
                if entry is not None:
                    # The queue position is what the first reading after the prepare says.
                    self._first_reading.discard(entry["instance_id"])
                    status = validation.as_int(item.get("status"))
                    entry.update(
                        prepare_status=status, prepare_status_name=statuses.name_of(statuses.PREPARE_STATUS, status)
                    )

    def blocked(self):
        return [e for e in self.entries.values() if e["prepare_status"] in PREPARE_BLOCKED]
