"""One handler per KooPhone API operation, named by its API Explorer operationId.

A handler gets a ``Call`` (parsed body, query, path parameters, the state) and returns the
HTTP-200 answer body, or raises ApiError. It runs under the state lock, after authentication,
so it sees and changes the fleet atomically. Requests that fail validation change nothing: a
batch with one bad instance is refused whole, except where the reference reports results per
instance (sync-command, async-command jobs, app-install jobs).
"""

import calendar
import math
import re
import time

from . import catalog, shell
from . import validate as v
from .errors import ApiError, bad_param, message
from .state import GOING_OFFLINE, PAY_PER_USE, RUNNING, STARTING, STOPPED, YEARLY_MONTHLY, App, Order, utc_text

OK = {"error_code": "0", "error_msg": "ok"}
EXECUTE_MSG_LIMIT = 1024
TENANT_PACKAGE_LIMIT_MB = 1024 * 1024  # 62016: 1 TB of app packages per tenant
VIDEO_NETWORKS = ("WIFI", "MOBILE_NETWORK", "WIRED")
VIDEO_ENCODINGS = ("H264", "H265")
VIDEO_DEFINITIONS = ("definition_540P", "definition_720P", "definition_1080P")
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
# Install failure triggers: "error-<code>" anywhere in install_package_url (docs/emulator.md).
INSTALL_REQUEST_TRIGGERS = ("62005", "62006", "62015", "62016", "3008", "3009", "9999")
INSTALL_JOB_TRIGGERS = ("62010", "62017", "62019", "62020", "62021")
# The reference's command character set (§4.1.1/§4.1.2) plus the space its own examples use.
COMMAND_CHARSET = re.compile(r"[A-Za-z0-9 _./:-]*")
COMMAND_CHARSET_TEXT = "letters, digits, spaces, _ . / : -"
# The RM_ tasks of reset, unassign and backup: the reference documents tasks/{task_id} for commands and installs only.
INSTANCE_TASK_KINDS = ("reset", "unassign", "backup")


class Call:
    def __init__(self, state, body=None, query=None, path=None):
        self.state = state
        self.settings = state.settings
        self.body = body
        self.query = query or {}
        self.path = path or {}
        self.now = time.time()


def ok(data=None, msg="ok"):
    answer = {"error_code": "0", "error_msg": msg}
    if data is not None:
        answer["data"] = data
    return answer


def runnable(inst):
    return inst.running_status == RUNNING and inst.frozen_status == 0 and inst.data_loaded


def denied(settings, code="1001"):
    """1001 (no instance permission) or 1003 (tenant not whitelisted), with the permission_status HTTP status."""
    return ApiError(code, status=settings.permission_status)


def owned(call, ids):
    """Refuse the whole request with 1001 if it names another tenant's instance.

    The message is the reference's generic text: it does not say which id (or that any id exists).
    """
    for instance_id in ids:
        inst = call.state.get(instance_id)
        if inst is not None and inst.foreign:
            raise denied(call.settings)


def known(state, ids, code="1001"):
    """The instances for ``ids``; any unknown id refuses the whole request with ``code``."""
    instances = [state.get(instance_id) for instance_id in ids]
    if None in instances:
        raise denied(state.settings) if code == "1001" else ApiError(code)
    return instances


def page_window(settings, page_no, page_size):
    """(offset, served, echoed) of one page: at most page_cap items are served, whatever page_size asked.

    The service pages by the size it really serves, so page N starts at (N - 1) * served. page_size in
    the answer is the size asked for (page_size_echo requested, the trap) or the size served.
    """
    served = min(page_size, settings.page_cap)
    echoed = page_size if settings.page_size_echo == "requested" else served
    return (page_no - 1) * served, served, echoed


def not_frozen(instances):
    if any(inst.frozen_status for inst in instances):
        raise ApiError("2004")


def task_answer(task):
    return {
        "task_id": task.task_id,
        "cmd_jobs": [{"instance_id": j.instance_id, "job_id": j.job_id} for j in task.jobs],
    }


# ---------------------------------------------------------------------- commands (§4.1.1-4.1.3)


def command_text(body, settings):
    command = body.get("command")
    if not isinstance(command, str) or not command.strip():
        raise bad_param("command is required")
    if len(command.encode("utf-8")) > 1024:
        raise bad_param("command must be at most 1024 bytes")
    # The reference allows letters, digits and _ . / : - only; its own example "ls -l /system" adds a
    # space. command_charset strict (the default) enforces that set; any enforces only the byte limit.
    if settings.command_charset == "strict" and not COMMAND_CHARSET.fullmatch(command):
        raise bad_param("command may contain only %s" % COMMAND_CHARSET_TEXT)
    return command


def run_command(state, instance_id, command):
    """(status, error_code, error_msg, execute_msg) of one command on one phone, as CmdResult/JobDetail."""
    inst = state.get(instance_id)
    if inst is None:
        return -1, "CPS0005", "Phone not found.", None
    if not runnable(inst):
        return -1, "KOOPHONE.API.62010", message("62010"), None
    exit_status, output = shell.run(inst, command)
    output = output.encode("utf-8")[:EXECUTE_MSG_LIMIT].decode("utf-8", "ignore")
    if exit_status == 0:
        return 2, "", "", output
    return -1, "CPS.0191", "Run command failed.", output


def sync_invoke_instance(call):
    body = v.body_object(call.body)
    command = command_text(body, call.settings)
    ids = v.id_list(body, "instance_ids", 100)
    owned(call, ids)
    results = []
    for instance_id in ids:
        status, code, msg, output = run_command(call.state, instance_id, command)
        results.append(
            {"instance_id": instance_id, "status": status, "error_code": code, "error_msg": msg, "execute_msg": output}
        )
    return ok({"cmd_results": results})


def async_invoke_instance(call):
    body = v.body_object(call.body)
    command = command_text(body, call.settings)
    ids = v.id_list(body, "instance_ids", 100)
    owned(call, ids)
    state = call.state
    task = state.new_task(state.hex32(), "command", {"command": command})
    for instance_id in ids:
        # The command runs when the job completes, against the phone as it is then.
        state.add_job(task, state.hex32(), instance_id, lambda job: run_command(state, job.instance_id, command))
    return ok(task_answer(task))


def execute_job(call):
    task_id = call.path["task_id"]
    if len(task_id) > 64:
        raise bad_param("task_id must be at most 64 characters")
    task = call.state.tasks.get(task_id)
    if task is None:
        raise ApiError("1323")
    if task.kind in INSTANCE_TASK_KINDS and call.settings.instance_tasks == "unknown":
        raise ApiError("1323")  # documented for async commands and app installs only
    return ok({"jobs": [job.view(task.kind) for job in task.jobs]})


# ---------------------------------------------------------------------- instance management (§4.1.4-4.1.11)


def set_video(call):
    body = v.body_object(call.body)
    ids = v.id_list(body, "instance_ids", 100)
    settings = body.get("instance_settings")
    if not isinstance(settings, list) or not settings:
        raise bad_param("instance_settings must be a non-empty list")
    if len(settings) > 10:
        raise bad_param("instance_settings must have at most 10 items")
    combinations = {}
    for index, setting in enumerate(settings):
        where = "instance_settings[%d]" % index
        if not isinstance(setting, dict):
            raise bad_param("%s must be an object" % where)
        network, encoding = setting.get("network_type"), setting.get("encoding_type")
        if network not in VIDEO_NETWORKS:
            raise bad_param("%s.network_type must be one of %s" % (where, ", ".join(VIDEO_NETWORKS)))
        if encoding not in VIDEO_ENCODINGS:
            raise bad_param("%s.encoding_type must be one of %s" % (where, ", ".join(VIDEO_ENCODINGS)))
        groups = setting.get("video_spec_groups")
        if not isinstance(groups, list) or not groups or len(groups) > 3:
            raise bad_param("%s.video_spec_groups must have 1 to 3 items" % where)
        checked = [video_group(group, "%s.video_spec_groups[%d]" % (where, n)) for n, group in enumerate(groups)]
        combinations[(network, encoding)] = {
            "network_type": network,
            "encoding_type": encoding,
            "video_spec_groups": checked,
        }
    if len(combinations) < len(VIDEO_NETWORKS) * len(VIDEO_ENCODINGS):
        raise ApiError("1005")
    owned(call, ids)
    instances = known(call.state, ids)
    stored = [combinations[(network, encoding)] for network in VIDEO_NETWORKS for encoding in VIDEO_ENCODINGS]
    for inst in instances:
        inst.video_settings = stored
    return dict(OK)


def video_group(group, where):
    if not isinstance(group, dict):
        raise bad_param("%s must be an object" % where)
    checked = {}
    for definition in VIDEO_DEFINITIONS:
        spec = group.get(definition)
        if not isinstance(spec, dict):
            raise bad_param("%s.%s is required" % (where, definition))
        code_rate = v.integer(spec.get("code_rate"), "%s.%s.code_rate" % (where, definition), 100, 10000)
        if code_rate % 100:
            raise bad_param("%s.%s.code_rate must be a multiple of 100" % (where, definition))
        fps = v.integer(spec.get("fps"), "%s.%s.fps" % (where, definition), choices=(30, 60))
        checked[definition] = {"code_rate": code_rate, "fps": fps}
    return checked


def batch_show_instance(call):
    body = v.body_object(call.body)
    ids = v.id_list(body, "instance_ids", 100)
    owned(call, ids)
    instances = known(call.state, ids)
    function = call.settings.status_codes == "function"
    return ok(
        {
            "status_results": [
                {"instance_id": i.instance_id, "status": i.running_status if function else table_status(i)}
                for i in instances
            ]
        }
    )


def table_status(inst):
    """batch-query-status in Table 4-34's meaning, derived from the phone's state.

    0 idle, 1 restoring, 2 data loaded, 3 streaming, 4 backing up, 5 backup exception,
    6 restoration exception (7, "data loaded" again, is never sent).
    """
    if inst.busy == "restore":
        return 1
    if inst.busy == "backup":
        return 4
    if inst.streaming:
        return 3
    if inst.backup_status == 3:
        return 5
    if inst.restore_status == 3:
        return 6
    if inst.data_loaded and inst.running_status == RUNNING:
        return 2
    return 0


def batch_reset_instance(call):
    body = v.body_object(call.body)
    state = call.state
    ids = v.id_list(body, "instance_ids", 100)
    owned(call, ids)
    instances = known(state, ids)
    not_frozen(instances)
    check_not_busy(instances)
    task = state.new_task("RM_" + state.hex32(), "reset")
    for inst in instances:
        # A reset wipes the phone back to its image: third-party apps, settings and video settings go.
        for app in inst.third_party_apps():
            del inst.apps[app.package]
        inst.video_settings = None
        inst.data_loaded = True
        inst.boot_reason = "reset"
        state.start_boot(inst, call.now)
        state.add_job(
            task, state.hex32(), inst.instance_id, lambda job: (2, "", "", None), seconds=call.settings.boot_seconds
        )
    return ok(task_answer(task))


def check_not_busy(instances):
    for inst in instances:
        if inst.busy == "backup":
            raise ApiError("2006")
        if inst.busy == "restore":
            raise ApiError("2005")


def execute_instance_auth_token(call):
    instance_id = v.identifier(call.path["instance_id"], "instance_id")
    owned(call, [instance_id])
    inst = known(call.state, [instance_id])[0]
    if not runnable(inst):
        raise ApiError("62010")
    state = call.state
    inst.streaming = inst.session = True
    inst.login_status = 1
    octets = [int(inst.device_id[i : i + 2], 16) for i in range(0, 8, 2)]
    return ok(
        {
            "streamingId": state.hex32()[:21],
            "device_token": state.hex32(),
            "resource": {
                "sdk": {
                    "internal": {
                        "address": "172.16.%d.%d" % (octets[0], octets[1]),
                        "aport": "10030",
                        "atype": "1",
                        "address_ipv6": None,
                    },
                    "external": {
                        "address": "121.36.%d.%d" % (octets[2], octets[3]),
                        "aport": 10030,
                        "atype": 1,
                        "address_ipv6": None,
                        "address_adn": None,
                    },
                },
                "rtc": {
                    "ice_signaling": {
                        "signaling_url": "http://100.93.%d.%d:18082" % (octets[1], octets[2]),
                        "expired_time": "3600",
                        "ice_servers": [],
                    }
                },
                "device_id": inst.device_id,
                "kp_id": inst.instance_id,
                "app_ip_synchronize_list": None,
                "fingerprint_id": 0,
                "ip_proxy": 0,
            },
        }
    )


def user_instances(body, max_items):
    pairs = body.get("user_instances")
    if not isinstance(pairs, list) or not pairs:
        raise bad_param("user_instances must be a non-empty list")
    if len(pairs) > max_items:
        raise bad_param("user_instances must have at most %d items" % max_items)
    checked = []
    for index, pair in enumerate(pairs):
        if not isinstance(pair, dict):
            raise bad_param("user_instances[%d] must be an object" % index)
        checked.append(
            (
                v.identifier(pair.get("user_id"), "user_instances[%d].user_id" % index),
                v.identifier(pair.get("instance_id"), "user_instances[%d].instance_id" % index),
            )
        )
    return checked


def provision_instance(call):
    pairs = user_instances(v.body_object(call.body), 100)
    ids = [instance_id for _user_id, instance_id in pairs]
    owned(call, ids)
    instances = known(call.state, ids)
    not_frozen(instances)
    for (user_id, _instance_id), inst in zip(pairs, instances):
        # An unassign that has not taken effect yet still binds the phone, to any user.
        if inst.unassign_pending or (inst.assign_status == 1 and inst.assign_user != user_id):
            raise ApiError("KPAPI.2209")
    for (user_id, _instance_id), inst in zip(pairs, instances):
        inst.assign_status, inst.assign_user = 1, user_id
    return dict(OK)


def cancel_instance(call):
    # CancelInstance.json allows 10 pairs per call (the reference sets no limit).
    pairs = user_instances(v.body_object(call.body), 10)
    state = call.state
    ids = [instance_id for _user_id, instance_id in pairs]
    owned(call, ids)
    instances = known(state, ids)
    for (user_id, _instance_id), inst in zip(pairs, instances):
        if inst.assign_status != 1 or inst.assign_user != user_id:
            raise ApiError("2210")
    task = state.new_task("RM_" + state.hex32(), "unassign")
    delay = call.settings.effect_delay
    for inst in instances:
        inst.login_status = 0
        inst.streaming = inst.session = False
        if delay <= 0:
            inst.assign_status, inst.assign_user, inst.unassign_pending = 0, "", False
        elif not inst.unassign_pending:  # a repeated unassign while one is pending changes nothing
            inst.unassign_pending = True
            state.schedule(call.now + delay, lambda _due, inst=inst: finish_unassign(inst))
        state.add_job(task, state.hex32(), inst.instance_id, lambda job: clear_user_data(state, job))
    return ok(task_answer(task))


def finish_unassign(inst):
    # effect_delay later: batch-query stops showing the user, and the phone can be assigned again.
    if inst.unassign_pending:
        inst.assign_status, inst.assign_user, inst.unassign_pending = 0, "", False


def clear_user_data(state, job):
    # "After the API is called, the cloud phone usage data of the user is cleared."
    inst = state.get(job.instance_id)
    if inst is not None and (inst.assign_status == 0 or inst.unassign_pending):
        for app in inst.third_party_apps():
            del inst.apps[app.package]
    return 2, "", "", None


def list_instances(call):
    query, state = call.query, call.state
    page_no = v.query_int(query, "page_no", 1)
    page_size = v.query_int(query, "page_size", 1, 200)  # ListInstances.json: maximum 200
    instance_id = text_param(query, "instance_id", 32)
    name = text_param(query, "instance_name", 128)
    scene = text_param(query, "pool_scene_tag", 32) or text_param(query, "poolSceneTag", 32)
    if scene is not None and scene not in ("CLOUD_APP", "CLOUD_PHONE"):
        raise bad_param("pool_scene_tag must be CLOUD_APP or CLOUD_PHONE")
    pool_name = text_param(query, "pool_name", 128)
    start, end = time_param(query, "query_start_time"), time_param(query, "query_end_time")
    if start is not None and end is not None and end < start:
        raise ApiError("5004")
    order = text_param(query, "order", 32)
    if order is not None and order not in ("asc", "desc"):
        raise bad_param("order must be asc or desc")
    order_by = text_param(query, "order_by", 32)
    if order_by is not None and order_by not in ORDERABLE:
        raise bad_param("order_by must be one of %s" % ", ".join(sorted(ORDERABLE)))

    # Another tenant's phones are never listed.
    items = [inst for inst in state.ordered() if not inst.foreign]
    exact = call.settings.name_filter == "exact"
    if instance_id or name or scene or pool_name or start is not None or end is not None:
        items = [
            inst
            for inst in items
            if (not instance_id or inst.instance_id == instance_id)
            and (not name or (inst.instance_name == name if exact else name in inst.instance_name))
            and (not scene or inst.pool_scene_tag == scene)
            and (not pool_name or inst.pool_name == pool_name)
            and (start is None or inst.create_time >= start)
            and (end is None or inst.create_time <= end)
        ]
    if order_by or order == "desc":
        key = order_by or "create_time"
        items = sorted(
            items, key=lambda inst: (getattr(inst, key) is None, getattr(inst, key)), reverse=order == "desc"
        )
    offset, served, echoed = page_window(call.settings, page_no, page_size)
    result = [inst.listing() for inst in items[offset : offset + served]]
    paging = {
        "page_no": page_no,
        "page_size": echoed,
        "total_count": len(items),
        "error_code": "0",
        "error_msg": "OK",
    }
    # ListInstances.json puts paging and error fields inside data; the reference's example at the top.
    where = call.settings.paging_fields
    data = dict(paging, result=result) if where in ("data", "both") else {"result": result}
    return dict(paging, data=data) if where in ("top", "both") else {"data": data}


ORDERABLE = {
    "instance_id",
    "instance_name",
    "region",
    "running_status",
    "assign_status",
    "create_time",
    "backup_time",
    "restore_time",
    "frozen_status",
    "login_status",
}


def text_param(query, field, max_len):
    value = query.get(field)
    if value is None or value == "":
        return None
    if len(value) > max_len:
        raise bad_param("%s must be at most %d characters" % (field, max_len))
    return value


def time_param(query, field):
    value = text_param(query, field, 32)
    if value is None:
        return None
    try:
        return calendar.timegm(time.strptime(value, TIME_FORMAT))
    except ValueError:
        raise ApiError("5002") from None


def batch_reboot_instance(call):
    body = v.body_object(call.body)
    ids = v.id_list(body, "instance_ids", 100)
    owned(call, ids)
    instances = known(call.state, ids)
    not_frozen(instances)
    if any(inst.running_status != RUNNING for inst in instances):
        raise ApiError("5005")
    for inst in instances:
        inst.boot_reason = "reboot"
        call.state.start_boot(inst, call.now)
    return ok(msg="OK")


# ---------------------------------------------------------------------- subscription (§4.2)


def batch_show_sku(call):
    if call.query.get("type") != "0":
        raise bad_param("type must be 0 (general cloud phone SKUs)")
    return ok(catalog.sku_answer(call.settings.catalogue), msg="return sku messages success")


def create_instance(call):
    body = v.body_object(call.body)
    state, settings = call.state, call.settings
    os_version = body.get("os")
    if os_version in (None, ""):
        raise ApiError("3003")
    if os_version not in catalog.OS_VERSIONS:
        raise bad_param("os must be one of %s" % ", ".join(catalog.OS_VERSIONS))
    sku_id = v.text(body, "instanceSkuId", 64)
    band_sku_id = v.text(body, "bandSkuId", 64)
    region = v.text(body, "regionId", 64)
    prefix = v.text(body, "instanceNamePrefix", 14)
    if "bandSize" not in body:
        raise bad_param("bandSize is required")
    band_size = v.number(body["bandSize"], "bandSize")
    count = v.integer(body.get("count"), "count", 1, 2000)  # CreateInstance.json: 2000 (the reference: 1500)
    network = body.get("network")  # optional: the chosen pool's network when left out
    if network not in (None, "") and network not in catalog.NETWORKS:
        raise bad_param("network must be EIP or ADN")
    if body.get("nodeGroupId") not in (None, ""):
        v.identifier(body["nodeGroupId"], "nodeGroupId")  # a string; its JSON example sends a number
    charge = body.get("chargeParam")
    if not isinstance(charge, dict):
        raise bad_param("chargeParam is required")
    v.integer(charge.get("chargingMode"), "chargeParam.chargingMode", choices=(1,))
    period_type = v.integer(charge.get("periodType"), "chargeParam.periodType", choices=(2, 3))
    period_num = v.integer(charge.get("periodNum"), "chargeParam.periodNum")
    for flag in ("isAutoPay", "isAutoRenew"):
        if charge.get(flag) is not None:
            v.integer(charge[flag], "chargeParam." + flag, choices=(0, 1))
    # "Automatic payment is disabled by default": without isAutoPay 1 the order waits to be paid.
    auto_pay = charge.get("isAutoPay") is not None and int(charge["isAutoPay"]) == 1
    if period_type == 2 and not 1 <= period_num <= 9:
        raise ApiError("3006")
    if period_type == 3 and not 1 <= period_num <= 3:  # the JSON and error 3007 say 1-3 (the table says 10)
        raise ApiError("3007")
    if band_sku_id != catalog.BAND_SKU_ID:
        raise ApiError("3001")
    sku = catalog.find_sku(region, sku_id)
    offered = (
        [p for p in catalog.pools(region, sku_id, settings.catalogue) if p["version"] == os_version] if sku else []
    )
    if network in (None, "") and offered:
        network = offered[0]["network"]
    if not any(p["network"] == network for p in offered):
        raise ApiError("3002")  # no pool of that SKU, region, AOSP version and network
    if not sku.allows_band(band_size):
        raise bad_param("bandSize must be one of %s for %s" % (sku.band_sizes, sku_id))
    if len(state.instances) + len(state.pending) + count > settings.capacity:
        raise ApiError("40010")

    first = state.next_number(prefix)
    listed = auto_pay or settings.unpaid_orders == "listed"
    order_id = "CS%s%s" % (
        time.strftime("%y%m%d%H%M", time.gmtime(call.now)),
        "".join(state.rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _position in range(5)),
    )
    created = []
    for number in range(first, first + count):
        inst = state.add_instance(
            "%s-%05d" % (prefix, number), region, sku, os_version, network, call.now, register=listed
        )
        inst.band_size = float(band_size)
        inst.billing_mode = YEARLY_MONTHLY  # chargingMode 1 is the only mode create offers
        inst.order_id = order_id
        inst.boot_reason = "create"
        if listed:
            state.start_boot(inst, call.now)
        created.append(inst)
    # Unpaid with unpaid_orders hidden: the instances exist only in the order until it is paid
    # (POST /_emulator/orders/{order_id}/pay); with listed they are listed and boot at once.
    state.orders[order_id] = Order(order_id, created, auto_pay, count, prefix, call.now, pending=not listed)
    infos = [{"instanceId": inst.instance_id, "instanceName": inst.instance_name} for inst in created]
    return ok({"orderId": order_id, "instanceInfos": infos}, msg="OK")


def delete_instance(call):
    body = v.body_object(call.body)
    ids = v.id_list(body, "instanceIdList", 100)
    state = call.state
    owned(call, ids)
    instances = known(state, ids, code="1012")
    if any(inst.billing_mode == PAY_PER_USE for inst in instances):
        raise ApiError("5001")
    delay = call.settings.effect_delay
    for inst in instances:
        if inst.deleting:
            continue  # already going offline: accepted, nothing repeated (the request log still shows it)
        if delay <= 0:
            state.remove_instance(inst.instance_id)
            continue
        # The unsubscription takes effect effect_delay later; until then the phone is listed going offline.
        inst.deleting = True
        inst.boot_token += 1  # a pending boot must not bring it back to running
        inst.running_status, inst.login_status = GOING_OFFLINE, 0
        inst.streaming = inst.session = False
        state.schedule(call.now + delay, lambda _due, inst=inst: finish_delete(state, inst))
    return {"data": None, "error_code": "0", "error_msg": "OK"}


def finish_delete(state, inst):
    if state.get(inst.instance_id) is inst:
        state.remove_instance(inst.instance_id)


# ---------------------------------------------------------------------- usage (§4.3)


PREPARE_STATUS = {
    "ready": 0,
    "to_restore": 1,
    "to_assign": 2,
    "backing_up": 3,
    "resetting": 4,
    "restarting": 5,
    "offline": 6,
    "maintaining": 10,
}


def batch_prepare_instances(call):
    body = v.body_object(call.body)
    user_id = v.identifier(body.get("user_id"), "user_id")
    state = call.state
    ids = v.id_list(body, "instance_ids", 100)
    owned(call, ids)
    instances = known(state, ids, code="4001")
    statuses = []
    for inst in instances:
        statuses.append({"instance_id": inst.instance_id, "status": prepare_status(state, inst, user_id, call.now)})
    return ok({"status_list": statuses})


def prepare_status(state, inst, user_id, now):
    if inst.frozen_status:
        return PREPARE_STATUS["maintaining"]
    if inst.assign_status != 1 or inst.assign_user != user_id:
        return PREPARE_STATUS["to_assign"]
    if inst.busy == "backup":
        return PREPARE_STATUS["backing_up"]
    if inst.busy == "restore":
        return PREPARE_STATUS["to_restore"]
    if not inst.data_loaded:
        start_restore(state, inst, user_id, now)
        return PREPARE_STATUS["to_restore"]
    if inst.running_status == STARTING:
        return PREPARE_STATUS["resetting" if inst.boot_reason == "reset" else "restarting"]
    if inst.running_status != RUNNING:
        return PREPARE_STATUS["offline"]
    return PREPARE_STATUS["ready"]


def start_restore(state, inst, user_id, now):
    """Queue a restore from OBS: restores start one every task_seconds/4 and take task_seconds each."""
    seconds = state.settings.task_seconds
    step = seconds / 4
    start_at = max(now, state.prepare_queue_tail)
    state.prepare_queue_tail = start_at + step
    inst.busy = "restore"
    inst.restore_status = 0
    inst.prepare = {"user_id": user_id, "start_at": start_at, "done_at": start_at + seconds, "step": step}

    def started(due):
        if inst.busy == "restore":
            inst.restore_status, inst.restore_time = 1, utc_text(due)

    def restored(due):
        if inst.busy == "restore" and not inst.deleting:
            inst.busy, inst.prepare, inst.data_loaded = None, None, True
            inst.restore_status, inst.restore_time = 2, utc_text(due)
            inst.running_status = RUNNING

    state.schedule(start_at, started)
    state.schedule(start_at + seconds, restored)


def show_progress(call):
    body = v.body_object(call.body)
    user_id = v.identifier(body.get("user_id"), "user_id")
    instance_id = v.identifier(body.get("instance_id"), "instance_id")
    owned(call, [instance_id])
    inst = known(call.state, [instance_id], code="4001")[0]
    if inst.assign_status != 1 or inst.assign_user != user_id:
        raise denied(call.settings)
    status, waiting = 0, 0
    if inst.frozen_status:
        status = -1
    elif inst.busy == "backup":
        status = 3
    elif inst.prepare is not None:
        if call.now < inst.prepare["start_at"]:
            status = 1
            waiting = max(1, math.ceil((inst.prepare["start_at"] - call.now) / max(inst.prepare["step"], 1e-6)))
        else:
            status = 2
    elif not inst.data_loaded or inst.running_status != RUNNING:
        status = 2  # restoring or offline
    return ok({"status": status, "waitingCount": waiting}, msg="OK")


def batch_backup_instances(call):
    body = v.body_object(call.body)
    state = call.state
    ids = v.id_list(body, "instance_ids", 50)  # BatchBackupInstances.json: 50 (reference: 100)
    owned(call, ids)
    instances = known(state, ids)
    not_frozen(instances)
    check_not_busy(instances)
    stops = call.settings.backup_stops
    task = state.new_task("RM_" + state.hex32(), "backup")
    for inst in instances:
        if not inst.data_loaded:
            # Already backed up and released: nothing to do, the job simply succeeds.
            state.add_job(task, state.hex32(), inst.instance_id, lambda job: (2, "", "", None))
            continue
        inst.busy, inst.backup_status, inst.backup_time = "backup", 1, utc_text(call.now)
        state.add_job(task, state.hex32(), inst.instance_id, lambda job: finish_backup(state, job, stops))
    return ok(task_answer(task))


def finish_backup(state, job, stops):
    inst = state.get(job.instance_id)
    if inst is None:
        return -1, "CPS0005", "Phone not found.", None
    inst.busy = None
    inst.backup_status, inst.backup_time = 2, utc_text(job.done_at)
    if stops:
        # backup_stops: "release physical instances" read literally, the phone stops until prepared again.
        inst.data_loaded = False
        inst.running_status, inst.login_status = STOPPED, 0
        inst.streaming = inst.session = False
    return 2, "", "", None


def stop_instances_streaming(call):
    inst = single_instance(call)
    # "This API takes effect on instances in streaming": stop_idle_stream error refuses the others.
    if not inst.streaming and call.settings.stop_idle_stream == "error":
        raise bad_param("the instance is not streaming")
    inst.streaming = False
    return ok(msg="OK")


def stop_instances_session(call):
    inst = single_instance(call)
    inst.streaming = inst.session = False
    inst.login_status = 0
    return ok(msg="OK")


def single_instance(call):
    body = v.body_object(call.body)
    instance_id = v.identifier(body.get("instance_id"), "instance_id")
    owned(call, [instance_id])
    return known(call.state, [instance_id])[0]


# ---------------------------------------------------------------------- apps (§4.4, ListInstanceApp.json)


def install_app(call):
    body = v.body_object(call.body)
    state, settings = call.state, call.settings
    ids = v.id_list(body, "instance_id_list", 100)
    fast = body.get("fast_install")
    if fast is not None and str(fast) not in ("0", "1"):
        raise ApiError("3008")
    package = v.text(body, "object_name", 100)
    file_name = v.text(body, "file_name", 100)
    version = v.text(body, "object_version", 100)
    biz_type = v.text(body, "biz_type", 64)
    v.text(body, "content_type", 64)
    v.text(body, "content_md5", 200)  # any non-empty value (InstallApp.json: "不為空即可")
    url = v.text(body, "install_package_url", 2000)
    if body.get("object_size") in (None, ""):
        raise bad_param("object_size is required")
    try:
        size_mb = float(body["object_size"])
    except (TypeError, ValueError):
        raise ApiError("62006") from None
    if isinstance(body["object_size"], bool) or not math.isfinite(size_mb) or size_mb < 0:
        raise ApiError("62006")
    if biz_type.lower() != "apk":
        raise bad_param("biz_type must be apk")
    if not url.startswith("https://"):
        raise bad_param("install_package_url must be an https:// URL")
    owned(call, ids)
    for code in INSTALL_REQUEST_TRIGGERS:
        if "error-" + code in url:
            raise ApiError(code)
    if size_mb > 2048:
        raise ApiError("62015")
    if any(state.get(instance_id) is None for instance_id in ids):
        raise ApiError("3009")
    for instance_id in ids:
        app = state.get(instance_id).apps.get(package)
        if app is not None and app.version == version:
            raise ApiError("62005")
    if state.uploaded_mb + size_mb > TENANT_PACKAGE_LIMIT_MB:
        raise ApiError("62016")
    state.uploaded_mb += size_mb
    label = file_name.rsplit(".", 1)[0] or package
    task = state.new_task("ZGCA" + state.urlsafe(32), "install", {"package": package, "version": version})
    for instance_id in ids:
        state.add_job(
            task, state.urlsafe(32), instance_id, lambda job: finish_install(state, job, package, label, version, url)
        )
    data = task_answer(task)
    # InstallApp.json answers data.{task_id, cmd_jobs}; the reference nests it as data.data.
    return ok({"data": data} if settings.install_response == "nested" else data, msg="OK")


def finish_install(state, job, package, label, version, url):
    inst = state.get(job.instance_id)
    if inst is None:
        return 3, "KOOPHONE.API.3009", message("3009"), "Failure [phone not found]"
    if not runnable(inst):
        return 3, "KOOPHONE.API.62010", message("62010"), "Failure [instance not running]"
    for code in INSTALL_JOB_TRIGGERS:
        if "error-" + code in url:
            return 3, "KOOPHONE.API." + code, message(code), "Failure [%s]" % message(code).rstrip(".")
    current = inst.apps.get(package)
    if current is not None and catalog.version_code(current.version) > catalog.version_code(version):
        return 3, "KOOPHONE.API.62020", message("62020"), "Failure [INSTALL_FAILED_VERSION_DOWNGRADE]"
    system = current.system if current is not None else False
    inst.apps[package] = App(package, current.label if current and system else label, version, system)
    return 2, "", "", "Success"


def list_instance_app(call):
    instance_id = v.identifier(call.path["instance_id"], "instance_id")
    query = call.query
    page_no = v.query_int(query, "page_no", 1)
    page_size = v.query_int(query, "page_size", 1, 200)
    app_type = v.query_int(query, "app_type", 1, 2, required=False)
    owned(call, [instance_id])
    inst = known(call.state, [instance_id])[0]
    apps = list(inst.apps.values())
    if app_type is not None:
        apps = [app for app in apps if app.system == (app_type == 1)]
    offset, served, echoed = page_window(call.settings, page_no, page_size)
    return ok(
        {
            "page_no": page_no,
            "page_size": echoed,
            "total_count": len(apps),
            "result": [app.view() for app in apps[offset : offset + served]],
        },
        msg="OK",
    )


# ---------------------------------------------------------------------- the route table

# (operationId, method, path, handler, x-request-id mandatory). Mandatory where the reference says
# so (§4.1.1-4.1.6, 4.1.8-4.1.11, 4.3.3-4.3.5) and for ListInstanceApp (its JSON requires it).
ROUTES = [
    ("SyncInvokeInstance", "POST", "/v1/instances/sync-command", sync_invoke_instance, True),
    ("AsyncInvokeInstance", "POST", "/v1/instances/async-command", async_invoke_instance, True),
    ("ExecuteJob", "GET", "/v1/instances/tasks/{task_id}", execute_job, True),
    ("SetVideo", "PUT", "/v1/instances/video-setting", set_video, True),
    ("BatchShowInstance", "POST", "/v1/instances/batch-query-status", batch_show_instance, True),
    ("BatchResetInstance", "POST", "/v1/instances/batch-reset", batch_reset_instance, True),
    ("ExecuteInstanceAuthToken", "POST", "/v1/instances/{instance_id}/auth", execute_instance_auth_token, False),
    ("ProvisionInstance", "POST", "/v1/instances/assign", provision_instance, True),
    ("CancelInstance", "POST", "/v1/instances/unassign", cancel_instance, True),
    ("ListInstances", "GET", "/v1/instances/batch-query", list_instances, True),
    ("BatchRebootInstance", "POST", "/v1/instances/reboot", batch_reboot_instance, True),
    ("BatchShowSku", "GET", "/v1/instances/sku", batch_show_sku, False),
    ("CreateInstance", "POST", "/v1/instances/create", create_instance, False),
    ("DeleteInstance", "POST", "/v1/instances/delete", delete_instance, False),
    ("BatchPrepareInstances", "POST", "/v1/instances/prepare", batch_prepare_instances, False),
    ("ShowProgress", "POST", "/v1/instances/prepare-progress", show_progress, False),
    ("BatchBackupInstances", "POST", "/v1/instances/backup", batch_backup_instances, True),
    ("StopInstancesStreaming", "POST", "/v1/instances/streaming/stop", stop_instances_streaming, True),
    ("StopInstancesSession", "POST", "/v1/instances/session/release", stop_instances_session, True),
    ("InstallApp", "POST", "/v1/instances/app/install", install_app, False),
    ("ListInstanceApp", "GET", "/v1/instances/{instance_id}/app-list", list_instance_app, True),
]

OPERATION_NAMES = [route[0] for route in ROUTES]


class Route:
    __slots__ = ("operation", "method", "pattern", "handler", "needs_request_id")

    def __init__(self, operation, method, path, handler, needs_request_id):
        self.operation, self.method, self.handler, self.needs_request_id = operation, method, handler, needs_request_id
        self.pattern = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path) + "$")


_ROUTES = [Route(*route) for route in ROUTES]
# Fixed paths win over templated ones (".../{instance_id}/auth" must not swallow "streaming/stop").
_ROUTES.sort(key=lambda route: "(?P<" in route.pattern.pattern)


def find_route(method, path):
    """(route, path parameters) for a request, or (None, None). A trailing slash is ignored."""
    if len(path) > 1 and path.endswith("/"):
        path = path[:-1]
    for route in _ROUTES:
        match = route.pattern.match(path)
        if match and route.method == method:
            return route, match.groupdict()
    return None, None
