"""The control API under ``/_emulator/``: inspect and steer a running emulator.

No authentication and never faulted: tests and benchmarks use it to read the request log,
look at or change instances behind the API's back, change any setting (faults included), and
reseed the fleet. Answers are plain JSON; errors are ``{"error": "..."}`` with 400 or 404.
"""

import calendar
import json
import re
import time

from . import catalog
from .state import App

INT_FIELDS = {
    "running_status": range(0, 6),
    "assign_status": (0, 1),
    "frozen_status": (0, 1),
    "login_status": (0, 1),
    "backup_status": range(0, 5),
    "restore_status": range(0, 5),
}
TEXT_FIELDS = (
    "assign_user",
    "billing_mode",
    "instance_name",
    "backup_time",
    "restore_time",
    "pool_scene_tag",
    "pool_name",
    "phone_id",
    "member_name",
    "account_name",
    "project_id",
    "project_name",
)
BOOL_FIELDS = ("data_loaded", "streaming", "session", "foreign")


class ControlError(Exception):
    def __init__(self, status, message):
        self.status = status
        super().__init__(message)


def handle(emulator, req):
    """(status, answer) for one control request."""
    try:
        body = json.loads(req.body) if req.body else {}
        return 200, route(emulator, req, body)
    except ValueError as error:
        return 400, {"error": str(error)}
    except ControlError as error:
        return error.status, {"error": str(error)}


def route(emulator, req, body):
    state, method = emulator.state, req.method
    path = req.path.rstrip("/")
    if path == "/_emulator/health":
        return {"ok": True}
    if path == "/_emulator/log":
        if method == "DELETE":
            emulator.log.clear()
            return {"cleared": True}
        return emulator.log.since(int(req.query.get("since") or 0), req.query.get("operation"))
    if path == "/_emulator/config":
        if method == "POST":
            if not isinstance(body, dict):
                raise ValueError("the body must be an object of settings")
            with state.lock:
                emulator.settings.update(body)
                if "seed" in body:
                    emulator.faults.reseed(emulator.settings.seed)  # the next faults repeat per seed
        return emulator.settings.public()
    if path == "/_emulator/reset" and method == "POST":
        return reset(emulator, body)
    if path == "/_emulator/expire-tokens" and method == "POST":
        return {"expired": emulator.tokens.expire_all()}
    if path == "/_emulator/instances":
        with state.lock:
            state.tick()
            if method == "POST":
                return {"instances": [inst.full() for inst in add_instances(state, body)]}
            wanted = set(filter(None, req.query.get("ids", "").split(","))) or None
            return [inst.full() for inst in state.ordered() if wanted is None or inst.instance_id in wanted]
    match = re.fullmatch(r"/_emulator/instances/([^/]+)", path)
    if match:
        with state.lock:
            state.tick()
            inst = state.get(match.group(1))
            if inst is None:
                raise ControlError(404, "no instance %s" % match.group(1))
            if method == "PATCH":
                patch(state, inst, body)
            elif method == "DELETE":
                state.remove_instance(inst.instance_id)
                return {"deleted": inst.instance_id}
            return inst.full()
    if path == "/_emulator/orders" and method == "GET":
        with state.lock:
            state.tick()
            return [order.view() for order in state.orders.values()]
    match = re.fullmatch(r"/_emulator/orders/([^/]+)/pay", path)
    if match and method == "POST":
        with state.lock:
            state.tick()
            order = state.orders.get(match.group(1))
            if order is None:
                raise ControlError(404, "no order %s" % match.group(1))
            state.pay_order(order, time.time())
            return order.view()
    match = re.fullmatch(r"/_emulator/tasks/([^/]+)", path)
    if match:
        with state.lock:
            state.tick()
            task = state.tasks.get(match.group(1))
            if task is None:
                raise ControlError(404, "no task %s" % match.group(1))
            return task.view()
    raise ControlError(404, "no control endpoint %s %s" % (method, req.path))


def reset(emulator, body):
    settings = emulator.settings
    changes = {key: body[key] for key in ("instances", "seed", "mix") if body.get(key) is not None}
    with emulator.state.lock:
        settings.update(changes)
        emulator.state.reseed(settings.instances, settings.seed, settings.mix)
        emulator.faults.reseed(settings.seed)
        emulator.log.clear()
    return {"instances": settings.instances, "seed": settings.seed, "mix": settings.mix}


def add_instances(state, body):
    """POST /_emulator/instances: {"count": n, fields...} or {"instances": [{fields...}, ...]}."""
    specs = body.get("instances") if isinstance(body.get("instances"), list) else [body]
    created = []
    for spec in specs:
        if not isinstance(spec, dict):
            raise ValueError("each instance spec must be an object")
        spec = dict(spec)
        count = spec.pop("count", 1)
        prefix = spec.pop("name_prefix", "kp")
        region = spec.pop("region", "cn-north-4")
        sku = catalog.find_sku(region, spec.pop("sku_id", "kp.professional.xlarge.32g.2"))
        if sku is None:
            raise ValueError("that sku_id is not sold in region %s" % region)
        os_version = spec.pop("os", "AOSP11")
        network = spec.pop("network", catalog.networks(state.settings.catalogue)[0])
        if os_version not in catalog.OS_VERSIONS or network not in catalog.NETWORKS:
            raise ValueError("os must be AOSP11/AOSP14 and network EIP/ADN")
        first = state.next_number(prefix)
        for number in range(first, first + int(count)):
            inst = state.add_instance("%s-%05d" % (prefix, number), region, sku, os_version, network, time.time())
            patch(state, inst, spec)
            created.append(inst)
    return created


def patch(state, inst, fields):
    """Set instance fields directly: no API rules apply, that is the point."""
    if not isinstance(fields, dict):
        raise ValueError("the body must be an object of fields")
    for name, value in fields.items():
        if name in INT_FIELDS:
            if value not in INT_FIELDS[name] or isinstance(value, bool):
                raise ValueError("%s must be one of %s" % (name, list(INT_FIELDS[name])))
            if name == "running_status":
                inst.boot_token += 1  # cancel a pending boot: the value set here stays until changed
            if name == "assign_status":
                inst.unassign_pending = False  # the value set here wins over a pending unassign
            setattr(inst, name, value)
        elif name in TEXT_FIELDS:
            if value is not None and not isinstance(value, str):
                raise ValueError("%s must be a string" % name)
            setattr(inst, name, value)
        elif name in BOOL_FIELDS:
            if not isinstance(value, bool):
                raise ValueError("%s must be true or false" % name)
            setattr(inst, name, value)
        elif name == "create_time":
            inst.create_time = calendar.timegm(time.strptime(value, "%Y-%m-%d %H:%M:%S"))
        elif name == "settings":
            inst.settings.update({str(key): str(val) for key, val in dict(value).items()})
        elif name == "video_settings":
            inst.video_settings = value
        elif name == "apps":
            replace_apps(inst, value)
        else:
            raise ValueError("unknown or read-only instance field %r" % name)
    state._ordered = None  # a renamed instance keeps its place, but be safe


def replace_apps(inst, apps):
    if not isinstance(apps, list):
        raise ValueError("apps must be a list of {app_pkg, app_name, app_version, system}")
    inst.apps.clear()
    for entry in apps:
        package = entry.get("app_pkg") or entry.get("package")
        if not package:
            raise ValueError("every app needs app_pkg")
        inst.apps[package] = App(
            package,
            entry.get("app_name", package),
            str(entry.get("app_version", "1.0")),
            bool(entry.get("system", False)),
        )
