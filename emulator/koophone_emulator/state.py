"""The emulated tenant: its fleet of cloud phones, their apps and settings, and async tasks.

Time-driven changes (a phone finishing its boot, an async job completing) are queued as events
on a heap and applied by ``tick()`` under the one state lock: every request calls it first, and
the server's poll loop calls it between requests. So there are no timer threads, and what a
client sees depends only on the requests it made and the clock. All randomness comes from
generators seeded with ``--seed``.
"""

import heapq
import itertools
import random
import re
import string
import threading
import time
from collections import OrderedDict

from . import catalog

ID_ALPHABET = string.ascii_letters + string.digits
URLSAFE_ALPHABET = ID_ALPHABET + "-_"
MAX_TASKS = 200000
SEED_EPOCH = 1748736000  # 2025-06-01 00:00:00 UTC: seeded instances were created after this

# The batch-query result fields, in the reference's order (Table 4-72).
LISTING_FIELDS = (
    "instance_id",
    "instance_name",
    "region",
    "instance_sku",
    "frozen_status",
    "running_status",
    "login_status",
    "assign_status",
    "assign_user",
    "billing_mode",
    "project_id",
    "project_name",
    "phone_id",
    "member_name",
    "account_name",
    "region_name",
    "region_name_en",
    "backup_status",
    "backup_time",
    "restore_status",
    "restore_time",
)

RUNNING, STOPPED, GOING_OFFLINE, STARTING, SHUT_DOWN = 2, 1, 3, 4, 5
# billing_mode follows Huawei's CBC convention, which create's chargingMode also uses:
# "1" yearly/monthly (the only mode create offers), "0" pay-per-use (cannot be deleted: 5001).
YEARLY_MONTHLY, PAY_PER_USE = "1", "0"


def utc_text(timestamp):
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(timestamp))


class App:
    __slots__ = ("package", "label", "version", "system")

    def __init__(self, package, label, version, system):
        self.package, self.label, self.version, self.system = package, label, version, system

    def view(self):
        return {
            "app_name": self.label,
            "app_pkg": self.package,
            "app_version": self.version,
            "icon_url": catalog.icon_url(self.package),
        }


class Instance:
    """One cloud phone. Listing fields are attributes; the rest is what the emulator needs to behave."""

    def __init__(self, instance_id, name, region, sku, os_version, network, project, now):
        self.instance_id = instance_id
        self.instance_name = name
        self.region = region
        self.sku_id = sku.sku_id
        self.instance_sku = sku.description()
        self.os = os_version
        self.network = network
        self.band_size = float(sku.band_sizes.split(",")[0])
        self.frozen_status = 0
        self.running_status = RUNNING
        self.login_status = 0
        self.assign_status = 0
        self.assign_user = ""
        self.billing_mode = YEARLY_MONTHLY
        self.project_id, self.project_name, self.member_name, self.account_name = project
        self.phone_id = ""
        self.backup_status = 0
        self.backup_time = None
        self.restore_status = 0
        self.restore_time = None
        self.pool_scene_tag = "CLOUD_PHONE"
        self.pool_name = "pool-%s" % region
        self.create_time = now
        self.order_id = None
        self.device_id = ""
        self.apps = OrderedDict()
        self.settings = {}
        self.video_settings = None
        self.streaming = False
        self.session = False
        self.data_loaded = True  # False once a backup has moved the data to OBS and released the phone
        self.busy = None  # "backup" or "restore" while one runs
        self.prepare = None  # {"user_id", "start_at", "done_at"} while a prepare restore is queued/running
        self.boot_reason = "create"  # why it last booted: create, reboot or reset (prepare reports it)
        self.boot_token = 0  # bumped by every reboot/reset so a stale boot event cannot finish a newer one
        self.ready_at = None
        self.foreign = False  # another tenant's phone: exists, never listed, any request naming it gets 1001
        self.deleting = False  # deleted, going offline (3) until effect_delay has passed
        self.unassign_pending = False  # unassigned, but batch-query shows the old user until effect_delay passed
        for package, label, v11, v14 in catalog.SYSTEM_APPS:
            self.apps[package] = App(package, label, v11 if os_version == "AOSP11" else v14, True)

    @property
    def region_name(self):
        return catalog.REGIONS[self.region][0] if self.region in catalog.REGIONS else self.region

    @property
    def region_name_en(self):
        return catalog.REGIONS[self.region][1] if self.region in catalog.REGIONS else self.region

    def listing(self):
        return {name: getattr(self, name) for name in LISTING_FIELDS}

    def full(self):
        """Everything, for the control API."""
        view = self.listing()
        view.update(
            {
                "sku_id": self.sku_id,
                "os": self.os,
                "network": self.network,
                "band_size": self.band_size,
                "pool_scene_tag": self.pool_scene_tag,
                "pool_name": self.pool_name,
                "create_time": utc_text(self.create_time),
                "order_id": self.order_id,
                "device_id": self.device_id,
                "apps": [dict(app.view(), system=app.system) for app in self.apps.values()],
                "settings": dict(self.settings),
                "video_settings": self.video_settings,
                "streaming": self.streaming,
                "session": self.session,
                "data_loaded": self.data_loaded,
                "busy": self.busy,
                "prepare": dict(self.prepare) if self.prepare else None,
                "foreign": self.foreign,
                "deleting": self.deleting,
                "unassign_pending": self.unassign_pending,
            }
        )
        return view

    def third_party_apps(self):
        return [app for app in self.apps.values() if not app.system]


class Job:
    __slots__ = ("job_id", "instance_id", "created", "started_at", "done_at", "result")

    def __init__(self, job_id, instance_id, created, started_at, done_at):
        self.job_id, self.instance_id = job_id, instance_id
        self.created, self.started_at, self.done_at = created, started_at, done_at
        self.result = None  # (status, error_code, error_msg, execute_msg) once finished

    def view(self, kind):
        if self.result is not None:
            status, code, msg, output = self.result
        else:
            # App installs report 0 (not run) then 1 (running); the others only 1 (ExecuteJob.json).
            status = 0 if kind == "install" and time.time() < self.started_at else 1
            code, msg, output = "", "", None
        return {"job_id": self.job_id, "status": status, "error_code": code, "error_msg": msg, "execute_msg": output}


class Task:
    __slots__ = ("task_id", "kind", "created", "jobs", "detail")

    def __init__(self, task_id, kind, created, detail=None):
        self.task_id, self.kind, self.created, self.jobs, self.detail = task_id, kind, created, [], detail

    def view(self):
        return {
            "task_id": self.task_id,
            "kind": self.kind,
            "created": utc_text(self.created),
            "jobs": [dict(job.view(self.kind), instance_id=job.instance_id) for job in self.jobs],
        }


class Order:
    """One create order. Unpaid, its instances wait in ``pending`` (hidden) until it is paid."""

    __slots__ = ("order_id", "instances", "paid", "count", "name_prefix", "created", "pending")

    def __init__(self, order_id, instances, paid, count, name_prefix, created, pending):
        self.order_id, self.instances, self.paid, self.count = order_id, instances, paid, count
        self.name_prefix, self.created, self.pending = name_prefix, created, pending

    def view(self):
        return {
            "order_id": self.order_id,
            "instance_ids": [inst.instance_id for inst in self.instances],
            "instance_names": [inst.instance_name for inst in self.instances],
            "paid": self.paid,
            "count": self.count,
            "name_prefix": self.name_prefix,
            "created": utc_text(self.created),
            "listed": not self.pending,
        }


class State:
    def __init__(self, settings):
        self.settings = settings
        self.lock = threading.RLock()
        self.reseed(settings.instances, settings.seed, settings.mix)

    # ------------------------------------------------------------------ seeding

    def reseed(self, count, seed, mix):
        with self.lock:
            self.rng = random.Random("fleet-%s" % seed)
            self.instances = OrderedDict()
            self.tasks = OrderedDict()
            self.orders = OrderedDict()  # order_id -> Order, every create order
            self.pending = {}  # instance_id -> Instance of unpaid, hidden orders (not in self.instances)
            self.events = []
            self.event_counter = itertools.count()
            self._ordered = None
            self.uploaded_mb = 0.0  # app package volume, for the 1 TB tenant limit (62016)
            self.prepare_queue_tail = 0.0
            now = time.time()
            offerings = catalog.region_skus()
            offered = catalog.networks(self.settings.catalogue)
            for number in range(1, count + 1):
                region, sku = offerings[self.rng.randrange(len(offerings))]
                os_version = self.rng.choice(catalog.OS_VERSIONS)
                network = "ADN" if self.rng.random() < 0.2 else "EIP"  # drawn in both catalogues: same ids
                if network not in offered:
                    network = offered[0]
                created = SEED_EPOCH + number * 600 + self.rng.randrange(600)
                inst = self.add_instance("kp-%05d" % number, region, sku, os_version, network, created)
                if mix:
                    self._mix(inst, now)

    def _mix(self, inst, now):
        """Give a seeded phone a realistic state: some stopped, booting, assigned, backed up, frozen."""
        rng = self.rng
        roll = rng.random()
        if roll < 0.10:
            inst.running_status = STOPPED
        elif roll < 0.17:
            self.start_boot(inst, now)
        elif roll < 0.22:
            inst.running_status = SHUT_DOWN
        if rng.random() < 0.4:
            inst.assign_status = 1
            inst.assign_user = "10086000%011d" % rng.randrange(10**11)
            if inst.running_status == RUNNING and rng.random() < 0.5:
                inst.login_status = 1
        if rng.random() < 0.1:
            inst.billing_mode = PAY_PER_USE
        if rng.random() < 0.02:
            inst.frozen_status = 1
        if rng.random() < 0.25:
            inst.backup_status = 2
            inst.backup_time = utc_text(inst.create_time + 86400 + rng.randrange(86400 * 30))
            if rng.random() < 0.2 and inst.running_status == STOPPED:
                inst.data_loaded = False  # backed up to OBS, physical phone released
            else:
                inst.restore_status = 2
                inst.restore_time = utc_text(inst.create_time + 86400 * 31 + rng.randrange(86400 * 30))
        if rng.random() < 0.05:
            inst.pool_scene_tag = "CLOUD_APP"
        for package, label, version in catalog.THIRD_PARTY_APPS:
            if rng.random() < 0.3:
                inst.apps[package] = App(package, label, version, False)

    def add_instance(self, name, region, sku, os_version, network, created, register=True):
        """A new instance; ``register=False`` keeps it out of the fleet (an unpaid order's, see pay_order)."""
        settings = self.settings
        project = (settings.project_id, settings.project_name, settings.iam_user, settings.iam_domain)
        inst = Instance(self.new_instance_id(), name, region, sku, os_version, network, project, created)
        inst.phone_id = "1600087199%09d" % self.rng.randrange(10**9)
        inst.device_id = self.hex32()
        inst.settings = {
            "global/airplane_mode_on": "0",
            "global/adb_enabled": "1",
            "system/screen_brightness": "128",
            "system/screen_off_timeout": "60000",
            "secure/android_id": self.hex32()[:16],
        }
        if register:
            self.instances[inst.instance_id] = inst
            self._ordered = None
        else:
            self.pending[inst.instance_id] = inst
        return inst

    def next_number(self, prefix):
        """The next NNNNN for ``prefix-NNNNN``: after every name of this tenant, unpaid orders included."""
        pattern = re.compile(re.escape(prefix) + r"-(\d+)$")
        candidates = [inst for inst in self.instances.values() if not inst.foreign]
        candidates.extend(self.pending.values())
        numbers = [int(m.group(1)) for m in (pattern.match(inst.instance_name) for inst in candidates) if m]
        return max(numbers, default=0) + 1

    def pay_order(self, order, now):
        """Mark an order paid; its hidden instances join the fleet and boot as a new phone does."""
        order.paid = True
        if order.pending:
            order.pending = False
            for inst in order.instances:
                self.pending.pop(inst.instance_id, None)
                self.instances[inst.instance_id] = inst
                inst.boot_reason = "create"
                self.start_boot(inst, now)
            self._ordered = None

    def remove_instance(self, instance_id):
        self.instances.pop(instance_id, None)
        self._ordered = None

    # ------------------------------------------------------------------ ids

    def new_instance_id(self):
        while True:
            candidate = "".join(self.rng.choice(ID_ALPHABET) for _position in range(8))
            if candidate not in self.instances and candidate not in self.pending:
                return candidate

    def hex32(self):
        return "%032x" % self.rng.getrandbits(128)

    def urlsafe(self, length):
        return "".join(self.rng.choice(URLSAFE_ALPHABET) for _position in range(length))

    # ------------------------------------------------------------------ queries

    def ordered(self):
        """All instances in creation order; rebuilt only after the fleet changes."""
        if self._ordered is None:
            self._ordered = list(self.instances.values())
        return self._ordered

    def get(self, instance_id):
        return self.instances.get(instance_id)

    # ------------------------------------------------------------------ time

    def schedule(self, due, action):
        heapq.heappush(self.events, (due, next(self.event_counter), action))

    def tick(self, now=None):
        """Apply every event that is due. Called under the lock at the start of each request."""
        now = time.time() if now is None else now
        while self.events and self.events[0][0] <= now:
            due, _sequence, action = heapq.heappop(self.events)
            action(due)

    def start_boot(self, inst, now):
        """starting (4) now, running (2) after --boot-seconds, unless a newer boot supersedes this one."""
        inst.boot_token += 1
        token = inst.boot_token
        inst.running_status = STARTING
        inst.login_status = 0
        inst.streaming = inst.session = False
        inst.ready_at = now + self.settings.boot_seconds

        def booted(_due):
            if inst.boot_token == token and inst.running_status == STARTING and not inst.deleting:
                inst.running_status = RUNNING
                inst.ready_at = None

        self.schedule(inst.ready_at, booted)

    # ------------------------------------------------------------------ tasks

    def new_task(self, task_id, kind, detail=None):
        task = Task(task_id, kind, time.time(), detail)
        self.tasks[task_id] = task
        while len(self.tasks) > MAX_TASKS:
            self.tasks.popitem(last=False)
        return task

    def add_job(self, task, job_id, instance_id, finish, seconds=None):
        """Queue one job; ``finish(job)`` runs when it is due and returns its result tuple."""
        now = time.time()
        seconds = self.settings.task_seconds if seconds is None else seconds
        job = Job(job_id, instance_id, now, now + seconds * 0.2, now + seconds)
        task.jobs.append(job)

        def done(_due):
            job.result = finish(job)

        self.schedule(job.done_at, done)
        return job
