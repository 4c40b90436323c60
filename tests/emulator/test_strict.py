"""Strict readings of the reference (the defaults) and the lenient switch of each (docs/emulator.md)."""

import time

import pytest
from emutools import IAM_LOGIN, Api, serving, wait_for

from koophone_emulator.config import Settings, build_parser, settings_from_args

CREATE = {
    "os": "AOSP11",
    "instanceSkuId": "kp.professional.xlarge.32g.2",
    "bandSkuId": "kp.bandwidth",
    "regionId": "cn-north-4",
    "instanceNamePrefix": "kp",
    "bandSize": 4,
    "count": 2,
    "chargeParam": {"chargingMode": 1, "periodType": 2, "periodNum": 1, "isAutoPay": 1},
}
UNPAID = dict(CREATE, chargeParam={"chargingMode": 1, "periodType": 2, "periodNum": 1, "isAutoPay": 0})

# setting -> (default, a lenient value, its CLI flag and arguments)
STRICT_SETTINGS = {
    "command_charset": ("strict", "any", ["--command-charset", "any"]),
    "page_cap": (100, 200, ["--page-cap", "200"]),
    "page_size_echo": ("requested", "served", ["--page-size-echo", "served"]),
    "name_filter": ("exact", "substring", ["--name-filter", "substring"]),
    "permission_status": (401, 400, ["--permission-status", "400"]),
    "tenant_whitelisted": (True, False, ["--no-tenant-whitelist"]),
    "unpaid_orders": ("hidden", "listed", ["--unpaid-orders", "listed"]),
    "effect_delay": (1.0, 0.0, ["--effect-delay", "0"]),
    "instance_tasks": ("unknown", "known", ["--instance-tasks", "known"]),
    "status_codes": ("table", "function", ["--status-codes", "function"]),
    "backup_stops": (False, True, ["--backup-stops"]),
    "stop_idle_stream": ("error", "ok", ["--stop-idle-stream", "ok"]),
    "catalogue": ("reference", "mixed", ["--catalogue", "mixed"]),
    "require_project_id": (False, True, ["--require-project-id"]),
}


def listed_ids(api):
    return [item["instance_id"] for item in api.list_page(1, 200).data["result"]]


def listing(api, instance_id):
    found = api.list_page(1, 1, instance_id=instance_id).data["result"]
    return found[0] if found else None


def statuses(api, instance_ids):
    answer = api.post("/v1/instances/batch-query-status", {"instance_ids": instance_ids})
    return [item["status"] for item in answer.data["status_results"]]


@pytest.fixture
def big():
    with serving(instances=250) as server:
        yield Api(server.url), server.emulator.state


# ---------------------------------------------------------------------- every setting: CLI, control API, reset


def test_every_setting_has_its_default_cli_flag_and_control_key(api):
    config = api.control("GET", "config").body
    for name, (default, lenient, argv) in STRICT_SETTINGS.items():
        assert config[name] == default, name
        assert getattr(Settings(), name) == default, name
        assert getattr(settings_from_args(argv), name) == lenient, name
        assert getattr(settings_from_args([]), name) == default, name
    changed = api.control("POST", "config", {name: spec[1] for name, spec in STRICT_SETTINGS.items()}).body
    assert {name: changed[name] for name in STRICT_SETTINGS} == {n: s[1] for n, s in STRICT_SETTINGS.items()}
    api.control("POST", "reset", {"instances": 5})
    kept = api.control("GET", "config").body
    assert {name: kept[name] for name in STRICT_SETTINGS} == {n: s[1] for n, s in STRICT_SETTINGS.items()}


@pytest.mark.parametrize(
    "bad",
    [
        {"command_charset": "loose"},
        {"page_cap": 0},
        {"page_cap": 201},
        {"page_size_echo": "both"},
        {"name_filter": "regex"},
        {"permission_status": 403},
        {"tenant_whitelisted": "no"},
        {"unpaid_orders": "paid"},
        {"effect_delay": -1},
        {"instance_tasks": "maybe"},
        {"status_codes": "both"},
        {"backup_stops": 1},
        {"stop_idle_stream": "ignore"},
        {"catalogue": "eip"},
        {"require_project_id": "yes"},
    ],
)
def test_bad_setting_values_are_refused(api, bad):
    assert api.control("POST", "config", bad).status == 400


def test_cli_refuses_out_of_range_values():
    for argv in (["--page-cap", "0"], ["--page-cap", "201"], ["--permission-status", "403"], ["--effect-delay", "-1"]):
        with pytest.raises(SystemExit):
            settings_from_args(argv)
    assert settings_from_args(["--permission-status", "400", "--page-cap", "7"]).page_cap == 7
    help_text = build_parser().format_help()
    for flag in ("--command-charset", "--no-tenant-whitelist", "--backup-stops", "--require-project-id"):
        assert flag in help_text


# ---------------------------------------------------------------------- 1. command character set


@pytest.mark.parametrize(
    "command",
    [
        "pm list packages | grep mm",
        "id; reboot",
        "true && id",
        "echo 'a b'",
        'echo "a"',
        "settings put global x=1",
        "ls *",
        "echo x > /sdcard/x",
        "echo $HOME",
        "echo `id`",
        "echo a\nid",
        "echo 你好",
    ],
)
def test_strict_command_charset_refuses_other_characters(api, ids, state, command):
    for path in ("/v1/instances/sync-command", "/v1/instances/async-command"):
        answer = api.post(path, {"command": command, "instance_ids": ids[:1]})
        assert (answer.status, answer.code) == (400, "KOOPHONE.API.1000"), command
        assert "command" in answer.body["error_msg"] and "_ . / : -" in answer.body["error_msg"]
    assert not state.tasks  # the async command made no task


def test_strict_command_charset_allows_the_reference_set(api, ids):
    for command in ("ls -l /system", "getprop ro.build.version.release", "pm list packages -3", "echo a_b.c/d:e-f"):
        answer = api.post("/v1/instances/sync-command", {"command": command, "instance_ids": ids[:1]})
        assert answer.code == "0" and answer.data["cmd_results"][0]["status"] == 2, command


def test_any_command_charset_runs_pipes(api, ids):
    api.control("POST", "config", {"command_charset": "any"})
    answer = api.post(
        "/v1/instances/sync-command", {"command": "getprop | grep serialno | wc -l", "instance_ids": ids[:1]}
    )
    assert answer.code == "0" and answer.data["cmd_results"][0]["execute_msg"].strip() == "1"
    task = api.post("/v1/instances/async-command", {"command": "id; echo 'x'", "instance_ids": ids[:1]})
    assert task.code == "0"


# ---------------------------------------------------------------------- 2. page cap and page_size echo


def test_batch_query_serves_at_most_page_cap_items(big):
    api, state = big
    every = [inst.instance_id for inst in state.ordered()]
    first = api.list_page(1, 200).data
    assert (first["page_no"], first["page_size"], first["total_count"]) == (1, 200, 250)  # echoes the request
    assert [item["instance_id"] for item in first["result"]] == every[:100]
    # Pages by the size really served: page 2 is items 100-199, page 3 the last 50.
    assert [item["instance_id"] for item in api.list_page(2, 200).data["result"]] == every[100:200]
    assert [item["instance_id"] for item in api.list_page(3, 200).data["result"]] == every[200:]
    assert api.list_page(4, 200).data["result"] == []
    small = api.list_page(3, 40).data  # under the cap: served as asked
    assert small["page_size"] == 40 and [i["instance_id"] for i in small["result"]] == every[80:120]
    assert api.list_page(1, 201).code == "KOOPHONE.API.1000"


def test_batch_query_page_size_echo_served_and_cap_setting(big):
    api, _state = big
    api.control("POST", "config", {"page_size_echo": "served"})
    data = api.list_page(1, 200).data
    assert (data["page_size"], len(data["result"]), data["total_count"]) == (100, 100, 250)
    assert api.list_page(3, 200).data["page_size"] == 100  # per page, not the length of the last one
    api.control("POST", "config", {"page_cap": 200})
    data = api.list_page(1, 200).data
    assert (data["page_size"], len(data["result"])) == (200, 200)
    api.control("POST", "config", {"page_cap": 30, "page_size_echo": "requested", "paging_fields": "top"})
    top = api.list_page(2, 50).body
    assert (top["page_size"], len(top["data"]["result"]), top["total_count"]) == (50, 30, 250)


def test_app_list_is_capped_too(api, ids):
    apps = [{"app_pkg": "com.example.app%03d" % n, "app_version": "1.0"} for n in range(150)]
    api.control("PATCH", "instances/" + ids[0], {"apps": apps})
    path = "/v1/instances/%s/app-list" % ids[0]
    first = api.get(path, {"page_no": 1, "page_size": 200}).data
    assert (first["page_size"], first["total_count"], len(first["result"])) == (200, 150, 100)
    second = api.get(path, {"page_no": 2, "page_size": 200}).data["result"]
    assert [app["app_pkg"] for app in second] == ["com.example.app%03d" % n for n in range(100, 150)]
    api.control("POST", "config", {"page_size_echo": "served"})
    assert api.get(path, {"page_no": 1, "page_size": 200}).data["page_size"] == 100
    api.control("POST", "config", {"page_cap": 200})
    assert len(api.get(path, {"page_no": 1, "page_size": 200}).data["result"]) == 150


# ---------------------------------------------------------------------- 3. instance_name filter


def test_name_filter_exact_by_default_substring_on_request(api, ids):
    assert [i["instance_id"] for i in api.list_page(1, 100, instance_name="kp-00003").data["result"]] == [ids[2]]
    assert api.list_page(1, 100, instance_name="kp-0000").data["total_count"] == 0
    assert api.list_page(1, 100, instance_name="kp").data["total_count"] == 0
    api.control("POST", "config", {"name_filter": "substring"})
    assert api.list_page(1, 100, instance_name="kp-0000").data["total_count"] == 9
    assert api.list_page(1, 100, instance_name="kp").data["total_count"] == 20


# ---------------------------------------------------------------------- 4. permission errors, foreign instances


def foreign_requests(own, foreign):
    """(method, path, body or query) of every operation that names instances, naming ``own`` and ``foreign``."""
    video = [
        {
            "network_type": n,
            "encoding_type": e,
            "video_spec_groups": [
                {d: {"code_rate": 1000, "fps": 30} for d in ("definition_540P", "definition_720P", "definition_1080P")}
            ],
        }
        for n in ("WIFI", "MOBILE_NETWORK", "WIRED")
        for e in ("H264", "H265")
    ]
    install = {
        "instance_id_list": [own, foreign],
        "object_name": "com.example.shop",
        "file_name": "shop.apk",
        "object_version": "1.0",
        "object_size": 10,
        "biz_type": "apk",
        "content_type": "application/octet-stream",
        "content_md5": "x",
        "install_package_url": "https://obs.example.com/shop.apk",
    }
    pairs = [{"user_id": "u1", "instance_id": own}, {"user_id": "u1", "instance_id": foreign}]
    return [
        ("POST", "/v1/instances/sync-command", {"command": "id", "instance_ids": [own, foreign]}),
        ("POST", "/v1/instances/async-command", {"command": "id", "instance_ids": [own, foreign]}),
        ("POST", "/v1/instances/batch-query-status", {"instance_ids": [own, foreign]}),
        ("POST", "/v1/instances/reboot", {"instance_ids": [own, foreign]}),
        ("POST", "/v1/instances/batch-reset", {"instance_ids": [own, foreign]}),
        ("POST", "/v1/instances/delete", {"instanceIdList": [own, foreign]}),
        ("POST", "/v1/instances/assign", {"user_instances": pairs}),
        ("POST", "/v1/instances/unassign", {"user_instances": pairs}),
        ("POST", "/v1/instances/prepare", {"user_id": "u1", "instance_ids": [own, foreign]}),
        ("POST", "/v1/instances/backup", {"instance_ids": [own, foreign]}),
        ("PUT", "/v1/instances/video-setting", {"instance_ids": [own, foreign], "instance_settings": video}),
        ("POST", "/v1/instances/app/install", install),
        ("POST", "/v1/instances/%s/auth" % foreign, None),
        ("POST", "/v1/instances/streaming/stop", {"instance_id": foreign}),
        ("POST", "/v1/instances/session/release", {"instance_id": foreign}),
        ("POST", "/v1/instances/prepare-progress", {"user_id": "u1", "instance_id": foreign}),
        ("GET", "/v1/instances/%s/app-list" % foreign, {"page_no": 1, "page_size": 10}),
    ]


@pytest.fixture
def foreign(api, ids):
    added = api.control("POST", "instances", {"count": 1, "name_prefix": "other", "foreign": True}).body
    foreign_id = added["instances"][0]["instance_id"]
    api.control("PATCH", "instances/" + foreign_id, {"assign_status": 1, "assign_user": "u1", "streaming": True})
    api.control("PATCH", "instances/" + ids[0], {"assign_status": 1, "assign_user": "u1", "streaming": True})
    return foreign_id


def test_foreign_instances_are_not_listed(api, ids, foreign):
    assert api.control("GET", "instances/" + foreign).body["foreign"] is True
    assert foreign not in listed_ids(api) and api.list_page(1, 100).data["total_count"] == 20
    assert api.list_page(1, 100, instance_id=foreign).data["total_count"] == 0
    api.control("PATCH", "instances/" + ids[1], {"foreign": True})
    assert ids[1] not in listed_ids(api) and api.list_page(1, 100).data["total_count"] == 19
    api.control("PATCH", "instances/" + ids[1], {"foreign": False})
    assert ids[1] in listed_ids(api)


def test_any_request_naming_a_foreign_instance_is_refused_whole_with_1001(api, ids, state, foreign):
    before = api.control("GET", "instances/" + ids[0]).body
    for method, path, payload in foreign_requests(ids[0], foreign):
        answer = api.get(path, payload) if method == "GET" else api.call(method, path, body=payload)
        assert (answer.status, answer.code) == (401, "KOOPHONE.API.1001"), path
        assert answer.body["error_msg"] == (
            "no instance permission, Check whether the instance ID passed in by the request is correct."
        )
        assert foreign not in answer.body["error_msg"]
    assert not state.tasks  # no job of any kind
    after = api.control("GET", "instances/" + ids[0]).body
    assert after == before  # nothing applied to the caller's own instance either
    assert state.get(foreign).running_status == 2


def test_permission_status_400(api, ids, foreign):
    api.control("POST", "config", {"permission_status": 400})
    answer = api.post("/v1/instances/reboot", {"instance_ids": [ids[0], foreign]})
    assert (answer.status, answer.code) == (400, "KOOPHONE.API.1001")
    unknown = api.post("/v1/instances/batch-query-status", {"instance_ids": ["ghost001"]})
    assert (unknown.status, unknown.code) == (400, "KOOPHONE.API.1001")
    not_mine = api.post("/v1/instances/prepare-progress", {"user_id": "u9", "instance_id": ids[0]})
    assert (not_mine.status, not_mine.code) == (400, "KOOPHONE.API.1001")


def test_unknown_instance_1001_uses_401_too(api, ids):
    for answer in (
        api.post("/v1/instances/reboot", {"instance_ids": ["ghost001"]}),
        api.post("/v1/instances/prepare-progress", {"user_id": "u9", "instance_id": ids[0]}),
    ):
        assert (answer.status, answer.code) == (401, "KOOPHONE.API.1001")


def test_tenant_not_whitelisted_answers_1003_everywhere():
    with serving() as server:
        api = Api(server.url)
        token = api.call("POST", "/v3/auth/tokens", body=IAM_LOGIN, token=False).headers["x-subject-token"]
        api.control("POST", "config", {"tenant_whitelisted": False})
        message = "tenant have no auth to use the API, please contact us to add you to the whitelist."
        for answer in (
            api.list_page(1, 1),
            api.get("/v1/instances/sku", {"type": "0"}),
            api.post("/v1/instances/create", CREATE),
            Api(server.url, token=token).list_page(1, 1),
        ):
            assert (answer.status, answer.body) == (401, {"error_code": "KOOPHONE.API.1003", "error_msg": message})
        assert len(server.emulator.state.instances) == 20
        api.control("POST", "config", {"permission_status": 400})
        assert (api.list_page(1, 1).status, api.list_page(1, 1).code) == (400, "KOOPHONE.API.1003")
        api.control("POST", "expire-tokens", {})
        expired = Api(server.url, token=token).list_page(1, 1)
        assert (expired.status, expired.code) == (401, "KOOPHONE.API.6001")  # expiry still answered first
        api.control("POST", "config", {"tenant_whitelisted": True})
        assert api.list_page(1, 1).code == "0"


# ---------------------------------------------------------------------- 5. unpaid orders


def test_unpaid_order_is_hidden_until_paid(api, ids, state):
    answer = api.post("/v1/instances/create", UNPAID)
    assert answer.code == "0"
    order_id = answer.data["orderId"]
    infos = answer.data["instanceInfos"]
    assert [info["instanceName"] for info in infos] == ["kp-00021", "kp-00022"]
    new_ids = [info["instanceId"] for info in infos]
    assert not set(new_ids) & set(listed_ids(api)) and api.list_page(1, 100).data["total_count"] == 20
    assert api.list_page(1, 100, instance_id=new_ids[0]).data["total_count"] == 0
    unusable = api.post("/v1/instances/reboot", {"instance_ids": new_ids})
    assert unusable.code == "KOOPHONE.API.1001"
    assert api.control("GET", "instances/" + new_ids[0]).status == 404
    orders = api.control("GET", "orders").body
    assert orders == [
        {
            "order_id": order_id,
            "instance_ids": new_ids,
            "instance_names": ["kp-00021", "kp-00022"],
            "paid": False,
            "count": 2,
            "name_prefix": "kp",
            "created": orders[0]["created"],
            "listed": False,
        }
    ]
    # Names continue over the hidden instances: a later, paid order does not reuse kp-00021.
    paid = api.post("/v1/instances/create", dict(CREATE, count=1))
    assert paid.data["instanceInfos"][0]["instanceName"] == "kp-00023"
    assert paid.data["instanceInfos"][0]["instanceId"] in listed_ids(api)
    assert api.control("GET", "orders").body[1]["paid"] is True

    view = api.control("POST", "orders/%s/pay" % order_id).body
    assert view["paid"] is True and view["listed"] is True
    assert listing(api, new_ids[0])["running_status"] == 4  # booting, as a new phone does
    wait_for(lambda: listing(api, new_ids[1])["running_status"] == 2)
    assert api.list_page(1, 100).data["total_count"] == 23
    assert api.control("POST", "orders/nope/pay").status == 404


def test_create_without_is_auto_pay_is_unpaid(api, state):
    body = dict(CREATE, chargeParam={"chargingMode": 1, "periodType": 2, "periodNum": 1})
    answer = api.post("/v1/instances/create", body)
    assert answer.code == "0" and len(state.pending) == 2
    assert api.control("GET", "orders").body[0]["paid"] is False


def test_unpaid_orders_listed(api, state):
    api.control("POST", "config", {"unpaid_orders": "listed"})
    answer = api.post("/v1/instances/create", UNPAID)
    new_ids = [info["instanceId"] for info in answer.data["instanceInfos"]]
    assert set(new_ids) <= set(listed_ids(api))
    assert listing(api, new_ids[0])["running_status"] == 4
    wait_for(lambda: listing(api, new_ids[0])["running_status"] == 2)
    order = api.control("GET", "orders").body[0]
    assert (order["paid"], order["listed"]) == (False, True)
    assert api.control("POST", "orders/%s/pay" % order["order_id"]).body["paid"] is True
    assert listing(api, new_ids[0])["running_status"] == 2  # paying a listed order changes nothing else


def test_create_log_records_count_and_order_id(api):
    answer = api.post("/v1/instances/create", dict(CREATE, count=3))
    refused = api.post("/v1/instances/create", dict(CREATE, count=0))
    assert refused.code == "KOOPHONE.API.1000"
    records = api.control("GET", "log", query={"operation": "CreateInstance"}).body
    assert [(r["count"], r["order_id"]) for r in records] == [(3, answer.data["orderId"]), (0, None)]
    assert records[0]["instance_ids"] == []


# ---------------------------------------------------------------------- 6. delete and unassign take effect later


def test_delete_takes_effect_after_effect_delay(api, ids, state):
    api.control("POST", "config", {"effect_delay": 0.5})
    assert api.post("/v1/instances/delete", {"instanceIdList": ids[:2]}).code == "0"
    assert listing(api, ids[0])["running_status"] == 3  # going offline, still listed
    assert api.list_page(1, 100).data["total_count"] == 20
    again = api.post("/v1/instances/delete", {"instanceIdList": [ids[0]]})
    assert again.body == {"data": None, "error_code": "0", "error_msg": "OK"}  # a no-op
    wait_for(lambda: api.list_page(1, 100).data["total_count"] == 18)
    assert state.get(ids[0]) is None and state.get(ids[1]) is None
    gone = api.post("/v1/instances/delete", {"instanceIdList": [ids[0]]})
    assert gone.code == "KOOPHONE.API.1012"
    records = api.control("GET", "log", query={"operation": "DeleteInstance"}).body
    per_instance = [r["instance_ids"].count(ids[0]) for r in records]
    assert sum(per_instance) == 3 and [r["error_code"] for r in records] == ["0", "0", "KOOPHONE.API.1012"]


def test_delete_during_boot_stays_going_offline(api, ids, state):
    api.control("POST", "config", {"effect_delay": 0.6})
    api.post("/v1/instances/reboot", {"instance_ids": ids[:1]})
    api.post("/v1/instances/delete", {"instanceIdList": ids[:1]})
    time.sleep(0.3)  # past boot_seconds
    assert listing(api, ids[0])["running_status"] == 3


def test_default_effect_delay_is_one_second(api, ids):
    api.post("/v1/instances/delete", {"instanceIdList": ids[:1]})
    time.sleep(0.5)
    assert listing(api, ids[0]) is not None
    wait_for(lambda: listing(api, ids[0]) is None, timeout=3)


def test_unassign_takes_effect_after_effect_delay(api, ids, state):
    api.control("POST", "config", {"effect_delay": 0.5})
    pairs = [{"user_id": "u1", "instance_id": ids[0]}]
    api.post("/v1/instances/assign", {"user_instances": pairs})
    assert api.post("/v1/instances/unassign", {"user_instances": pairs}).code == "0"
    item = listing(api, ids[0])
    assert (item["assign_status"], item["assign_user"]) == (1, "u1")
    # Reassigning before the unassign took effect: refused as "already assigned", to anyone.
    for user in ("u2", "u1"):
        early = api.post("/v1/instances/assign", {"user_instances": [{"user_id": user, "instance_id": ids[0]}]})
        assert (early.status, early.code) == (400, "KPAPI.2209")
    assert api.post("/v1/instances/unassign", {"user_instances": pairs}).code == "0"  # repeated: a no-op
    wait_for(lambda: listing(api, ids[0])["assign_status"] == 0)
    assert listing(api, ids[0])["assign_user"] == ""
    later = api.post("/v1/instances/assign", {"user_instances": [{"user_id": "u2", "instance_id": ids[0]}]})
    assert later.code == "0" and listing(api, ids[0])["assign_user"] == "u2"


def test_unassign_clears_user_data_even_before_it_shows(api, ids, state):
    api.control("POST", "config", {"effect_delay": 5})
    apps = [{"app_pkg": "com.example.shop", "app_version": "1.0"}]
    api.control("PATCH", "instances/" + ids[0], {"assign_status": 1, "assign_user": "u1", "apps": apps})
    api.post("/v1/instances/unassign", {"user_instances": [{"user_id": "u1", "instance_id": ids[0]}]})
    wait_for(lambda: "com.example.shop" not in state.get(ids[0]).apps)  # task_seconds 0.2 < effect_delay 5
    assert state.get(ids[0]).assign_status == 1


def finished_jobs(api, task_id):
    jobs = api.get("/v1/instances/tasks/" + task_id).data["jobs"]
    return jobs if {job["status"] for job in jobs} == {2} else None


# ---------------------------------------------------------------------- 7. RM_ tasks unknown to tasks/{task_id}


def test_instance_tasks_unknown_by_default(api, ids):
    api.control("PATCH", "instances/" + ids[0], {"assign_status": 1, "assign_user": "u1"})
    tasks = [
        api.post("/v1/instances/backup", {"instance_ids": ids[1:2]}).data["task_id"],
        api.post("/v1/instances/unassign", {"user_instances": [{"user_id": "u1", "instance_id": ids[0]}]}).data[
            "task_id"
        ],
        api.post("/v1/instances/batch-reset", {"instance_ids": ids[2:3]}).data["task_id"],
    ]
    assert all(task_id.startswith("RM_") for task_id in tasks)
    for task_id in tasks:
        answer = api.get("/v1/instances/tasks/" + task_id)
        assert (answer.status, answer.code) == (400, "KOOPHONE.API.1323")
        assert api.control("GET", "tasks/" + task_id).status == 200  # the control API still shows them
    command = api.post("/v1/instances/async-command", {"command": "id", "instance_ids": ids[3:4]}).data["task_id"]
    assert api.get("/v1/instances/tasks/" + command).code == "0"
    api.control("POST", "config", {"instance_tasks": "known"})
    for task_id in tasks:
        jobs = wait_for(lambda task_id=task_id: finished_jobs(api, task_id))
        assert len(jobs) == 1


# ---------------------------------------------------------------------- 8. batch-query-status codes


def test_status_codes_table_4_34(api, ids, state):
    api.control("PATCH", "instances/" + ids[1], {"running_status": 1})
    api.control("PATCH", "instances/" + ids[2], {"streaming": True})
    api.control("PATCH", "instances/" + ids[3], {"backup_status": 3})
    api.control("PATCH", "instances/" + ids[4], {"restore_status": 3})
    api.control("PATCH", "instances/" + ids[5], {"running_status": 1, "data_loaded": False})
    assert statuses(api, ids[:6]) == [2, 0, 3, 5, 6, 0]
    api.post("/v1/instances/backup", {"instance_ids": ids[6:7]})
    api.control("PATCH", "instances/" + ids[5], {"assign_status": 1, "assign_user": "u1"})
    api.post("/v1/instances/prepare", {"user_id": "u1", "instance_ids": ids[5:6]})  # queues a restore
    assert statuses(api, ids[5:7]) == [1, 4]
    api.post("/v1/instances/reboot", {"instance_ids": ids[7:8]})
    assert statuses(api, ids[7:8]) == [0]  # starting: not yet data loaded and running
    api.control("POST", "config", {"status_codes": "function"})
    assert statuses(api, ids[:8]) == [2, 1, 2, 2, 2, 1, 2, 4]  # running_status, 0-5


# ---------------------------------------------------------------------- 9. backup keeps the phone running


def test_backup_keeps_the_phone_running(api, ids, state):
    api.control("PATCH", "instances/" + ids[0], {"assign_status": 1, "assign_user": "u1"})
    assert listing(api, ids[0])["backup_status"] == 0
    answer = api.post("/v1/instances/backup", {"instance_ids": ids[:1]})
    assert answer.code == "0"
    item = listing(api, ids[0])
    assert (item["backup_status"], item["running_status"]) == (1, 2) and item["backup_time"]
    busy = api.post("/v1/instances/backup", {"instance_ids": ids[:1]})
    assert (busy.status, busy.code) == (200, "KOOPHONE.API.2006")
    during = api.post("/v1/instances/sync-command", {"command": "id", "instance_ids": ids[:1]})
    assert during.data["cmd_results"][0]["status"] == 2  # still running and usable
    wait_for(lambda: listing(api, ids[0])["backup_status"] == 2)
    item = listing(api, ids[0])
    assert item["running_status"] == 2 and item["backup_time"]
    assert state.get(ids[0]).data_loaded
    assert api.post("/v1/instances/prepare", {"user_id": "u1", "instance_ids": ids[:1]}).data["status_list"] == [
        {"instance_id": ids[0], "status": 0}
    ]


def test_backup_stops_releases_the_phone(api, ids, state):
    api.control("POST", "config", {"backup_stops": True})
    api.post("/v1/instances/backup", {"instance_ids": ids[:1]})
    wait_for(lambda: listing(api, ids[0])["backup_status"] == 2)
    assert listing(api, ids[0])["running_status"] == 1 and not state.get(ids[0]).data_loaded


# ---------------------------------------------------------------------- 10. prepare / prepare-progress readiness


def progress(api, instance_id, user="u1"):
    return api.post("/v1/instances/prepare-progress", {"user_id": user, "instance_id": instance_id}).data


def prepare(api, instance_ids, user="u1"):
    answer = api.post("/v1/instances/prepare", {"user_id": user, "instance_ids": instance_ids})
    return [item["status"] for item in answer.data["status_list"]]


def test_prepare_readiness(api, ids, state):
    for instance_id in ids[:3]:
        api.control("PATCH", "instances/" + instance_id, {"assign_status": 1, "assign_user": "u1"})
    # Running, data loaded, assigned to the user: ready in both.
    assert progress(api, ids[0]) == {"status": 0, "waitingCount": 0}
    assert prepare(api, ids[:1]) == [0]
    # Stopped: prepare-progress 2 (restoring or offline), prepare 6 (offline) and it stays stopped.
    api.control("PATCH", "instances/" + ids[1], {"running_status": 1})
    assert progress(api, ids[1])["status"] == 2
    assert prepare(api, ids[1:2]) == [6]
    time.sleep(0.3)
    assert state.get(ids[1]).running_status == 1
    # Data offline after a releasing backup: prepare-progress 2 before prepare is called.
    api.control("POST", "config", {"backup_stops": True})
    api.post("/v1/instances/backup", {"instance_ids": ids[2:3]})
    assert progress(api, ids[2])["status"] == 3
    wait_for(lambda: not state.get(ids[2]).data_loaded)
    assert progress(api, ids[2])["status"] == 2
    assert prepare(api, ids[2:3]) == [1]  # to be restored: queued
    wait_for(lambda: progress(api, ids[2])["status"] == 0)


# ---------------------------------------------------------------------- 11. streaming/stop on an idle phone


def test_stop_idle_stream(api, ids, state):
    idle = api.post("/v1/instances/streaming/stop", {"instance_id": ids[0]})
    assert (idle.status, idle.code) == (400, "KOOPHONE.API.1000")
    assert "not streaming" in idle.body["error_msg"]
    api.post("/v1/instances/%s/auth" % ids[0])
    assert api.post("/v1/instances/streaming/stop", {"instance_id": ids[0]}).code == "0"
    assert api.post("/v1/instances/streaming/stop", {"instance_id": ids[0]}).code == "KOOPHONE.API.1000"
    for _attempt in range(2):  # session/release stays idempotent
        assert api.post("/v1/instances/session/release", {"instance_id": ids[0]}).code == "0"
    api.control("POST", "config", {"stop_idle_stream": "ok"})
    for _attempt in range(2):
        assert api.post("/v1/instances/streaming/stop", {"instance_id": ids[1]}).body == {
            "error_code": "0",
            "error_msg": "OK",
        }


# ---------------------------------------------------------------------- 12. SKU catalogue


def test_reference_catalogue_offers_adn_only(api, state):
    assert {inst.network for inst in state.ordered()} == {"ADN"}
    eip = api.post("/v1/instances/create", dict(CREATE, network="EIP"))
    assert (eip.status, eip.code) == (200, "KOOPHONE.API.3002")
    assert api.post("/v1/instances/create", dict(CREATE, network="VPN")).code == "KOOPHONE.API.1000"
    adn = api.post("/v1/instances/create", dict(CREATE, network="ADN", count=1))
    assert state.get(adn.data["instanceInfos"][0]["instanceId"]).network == "ADN"
    default = api.post("/v1/instances/create", dict(CREATE, count=1))  # no network: the pool's
    assert default.code == "0" and state.get(default.data["instanceInfos"][0]["instanceId"]).network == "ADN"
    assert api.control("POST", "instances", {}).body["instances"][0]["network"] == "ADN"


def test_mixed_catalogue_offers_eip_and_adn():
    with serving(catalogue="mixed") as server, serving() as reference:
        api, state = Api(server.url), server.emulator.state
        assert [i.instance_id for i in state.ordered()] == [i.instance_id for i in reference.emulator.state.ordered()]
        with serving(catalogue="mixed", instances=200) as seeded:
            assert {inst.network for inst in seeded.emulator.state.ordered()} == {"EIP", "ADN"}
        eip = api.post("/v1/instances/create", dict(CREATE, network="EIP", count=1))
        assert eip.code == "0" and state.get(eip.data["instanceInfos"][0]["instanceId"]).network == "EIP"
        default = api.post("/v1/instances/create", dict(CREATE, count=1))
        assert state.get(default.data["instanceInfos"][0]["instanceId"]).network == "EIP"


# ---------------------------------------------------------------------- 14. every device token is new


def test_each_auth_call_issues_a_new_device_token(api, ids):
    first = api.post("/v1/instances/%s/auth" % ids[0]).data
    second = api.post("/v1/instances/%s/auth" % ids[0]).data
    assert first["device_token"] != second["device_token"]
    assert first["streamingId"] != second["streamingId"]
    records = api.control("GET", "log", query={"operation": "ExecuteInstanceAuthToken"}).body
    assert [(r["instance_ids"], r["error_code"]) for r in records] == [([ids[0]], "0"), ([ids[0]], "0")]
