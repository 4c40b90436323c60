"""Every KooPhone operation: its happy path, its shapes, its limits and its error codes."""

import pytest
from emutools import wait_for

SKU = "kp.professional.xlarge.32g.2"
CREATE = {
    "os": "AOSP11",
    "instanceSkuId": SKU,
    "bandSkuId": "kp.bandwidth",
    "regionId": "cn-north-4",
    "instanceNamePrefix": "kp",
    "bandSize": 4,
    "count": 2,
    "chargeParam": {"chargingMode": 1, "periodType": 2, "periodNum": 1, "isAutoPay": 1, "isAutoRenew": 0},
}


def spec(code_rate=6000, fps=30):
    return {
        name: {"code_rate": code_rate, "fps": fps}
        for name in ("definition_540P", "definition_720P", "definition_1080P")
    }


def video_settings(**overrides):
    settings = []
    for network in ("WIFI", "MOBILE_NETWORK", "WIRED"):
        for encoding in ("H264", "H265"):
            settings.append({"network_type": network, "encoding_type": encoding, "video_spec_groups": [spec()]})
    for setting in settings:
        setting.update(overrides)
    return settings


# ---------------------------------------------------------------------- ListInstances


def test_batch_query_lists_all_21_fields_with_paging_inside_data(api, ids):
    answer = api.list_page(1, 5)
    assert answer.status == 200
    data = answer.data
    assert (data["page_no"], data["page_size"], data["total_count"], data["error_code"]) == (1, 5, 20, "0")
    assert "error_code" not in answer.body  # ListInstances.json: everything inside data
    assert [item["instance_id"] for item in data["result"]] == ids[:5]
    item = data["result"][0]
    assert len(item) == 21
    assert item["instance_name"] == "kp-00001"
    assert item["running_status"] == 2 and item["assign_status"] == 0 and item["billing_mode"] == "1"
    assert item["project_id"] == "0a1b2c3d4e5f60718293a4b5c6d7e8f9" and item["project_name"] == "cn-north-4"
    assert len(item["instance_id"]) == 8 and item["instance_id"].isalnum()


def test_batch_query_pages_and_filters(api, ids, state):
    assert [i["instance_id"] for i in api.list_page(4, 6).data["result"]] == ids[18:]
    assert api.list_page(5, 6).data["result"] == []
    assert api.list_page(1, 200, instance_id=ids[3]).data["total_count"] == 1
    assert api.list_page(1, 200, instance_name="kp-0001").data["total_count"] == 0  # exact: whole names only
    assert api.list_page(1, 200, instance_name="kp-00012").data["total_count"] == 1
    state.settings.name_filter = "substring"
    assert api.list_page(1, 200, instance_name="kp-0001").data["total_count"] == 10  # kp-00010..kp-00019
    state.settings.name_filter = "exact"
    assert api.list_page(1, 200, pool_scene_tag="CLOUD_PHONE").data["total_count"] == 20
    assert api.list_page(1, 200, poolSceneTag="CLOUD_APP").data["total_count"] == 0
    desc = api.list_page(1, 3, order="desc", order_by="instance_name").data["result"]
    assert [i["instance_name"] for i in desc] == ["kp-00020", "kp-00019", "kp-00018"]
    first = state.get(ids[0]).create_time
    import time

    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(first))
    assert api.list_page(1, 200, query_end_time=stamp).data["total_count"] == 1


@pytest.mark.parametrize(
    "query, code",
    [
        ({"page_no": 1}, "KOOPHONE.API.1000"),
        ({"page_no": 0, "page_size": 10}, "KOOPHONE.API.1000"),
        ({"page_no": 1, "page_size": 201}, "KOOPHONE.API.1000"),
        ({"page_no": 1, "page_size": "x"}, "KOOPHONE.API.1000"),
        ({"page_no": 1, "page_size": 10, "instance_id": "x" * 33}, "KOOPHONE.API.1000"),
        ({"page_no": 1, "page_size": 10, "query_start_time": "2024/01/01"}, "KOOPHONE.API.5002"),
        (
            {
                "page_no": 1,
                "page_size": 10,
                "query_start_time": "2024-02-01 00:00:00",
                "query_end_time": "2024-01-01 00:00:00",
            },
            "KOOPHONE.API.5004",
        ),
        ({"page_no": 1, "page_size": 10, "pool_scene_tag": "OTHER"}, "KOOPHONE.API.1000"),
    ],
)
def test_batch_query_errors(api, query, code):
    answer = api.get("/v1/instances/batch-query", query)
    assert (answer.status, answer.code) == (400, code)


def test_batch_query_request_id_in_query_or_header(api):
    missing = api.get("/v1/instances/batch-query", {"page_no": 1, "page_size": 1}, request_id=None)
    assert (missing.status, missing.code) == (200, "KOOPHONE.API.0002")
    in_query = api.get(
        "/v1/instances/batch-query", {"page_no": 1, "page_size": 1, "x-request-id": "q1"}, request_id=None
    )
    assert in_query.code == "0"
    assert in_query.headers["x-request-id"] == "q1"


# ---------------------------------------------------------------------- status, reboot, reset


def test_batch_query_status(api, ids):
    answer = api.post("/v1/instances/batch-query-status", {"instance_ids": ids[:3]})
    assert answer.code == "0"
    assert answer.data["status_results"] == [{"instance_id": i, "status": 2} for i in ids[:3]]
    unknown = api.post("/v1/instances/batch-query-status", {"instance_ids": [ids[0], "nope1234"]})
    assert (unknown.status, unknown.code) == (401, "KOOPHONE.API.1001")  # §6.2: 401 (permission_status)


def test_reboot_goes_starting_then_running(api, ids, state):
    state.settings.status_codes = "function"  # batch-query-status as running_status (0-5)
    answer = api.post("/v1/instances/reboot", {"instance_ids": ids[:2]})
    assert answer.body == {"error_code": "0", "error_msg": "OK"}
    statuses = api.post("/v1/instances/batch-query-status", {"instance_ids": ids[:2]}).data["status_results"]
    assert {s["status"] for s in statuses} == {4}
    state.settings.status_codes = "table"  # Table 4-34: a booting phone is idle (0), not yet "data loaded"
    statuses = api.post("/v1/instances/batch-query-status", {"instance_ids": ids[:2]}).data["status_results"]
    assert {s["status"] for s in statuses} == {0}
    state.settings.status_codes = "function"
    again = api.post("/v1/instances/reboot", {"instance_ids": ids[:3]})
    assert (again.status, again.code) == (400, "KOOPHONE.API.5005")
    assert state.get(ids[2]).running_status == 2  # the refused batch changed nothing
    wait_for(
        lambda: (
            api.post("/v1/instances/batch-query-status", {"instance_ids": ids[:2]}).data["status_results"]
            == [{"instance_id": i, "status": 2} for i in ids[:2]]
        )
    )


def test_reset_returns_rm_task_and_wipes_third_party_apps(api, ids, state):
    from koophone_emulator.state import App

    state.get(ids[0]).apps["com.example.x"] = App("com.example.x", "X", "1.0", False)
    answer = api.post("/v1/instances/batch-reset", {"instance_ids": ids[:2]})
    assert answer.code == "0"
    assert answer.data["task_id"].startswith("RM_")
    assert [job["instance_id"] for job in answer.data["cmd_jobs"]] == ids[:2]
    assert state.get(ids[0]).running_status == 4
    assert "com.example.x" not in state.get(ids[0]).apps
    wait_for(lambda: state.get(ids[0]).running_status == 2)
    unknown = api.get("/v1/instances/tasks/" + answer.data["task_id"])  # documented for commands and installs only
    assert (unknown.status, unknown.code) == (400, "KOOPHONE.API.1323")
    state.settings.instance_tasks = "known"
    jobs = api.get("/v1/instances/tasks/" + answer.data["task_id"]).data["jobs"]
    assert {job["status"] for job in jobs} == {2}


def test_reset_limits_and_frozen(api, ids, state):
    too_many = api.post("/v1/instances/batch-reset", {"instance_ids": ["i%07d" % n for n in range(101)]})
    assert (too_many.status, too_many.code) == (400, "KOOPHONE.API.1000")
    state.get(ids[0]).frozen_status = 1
    frozen = api.post("/v1/instances/batch-reset", {"instance_ids": [ids[0]]})
    assert (frozen.status, frozen.code) == (200, "KOOPHONE.API.2004")


# ---------------------------------------------------------------------- commands


def test_sync_command_reports_per_instance(api, ids, state):
    state.get(ids[1]).running_status = 1
    answer = api.post(
        "/v1/instances/sync-command", {"command": "getprop ro.serialno", "instance_ids": [ids[0], ids[1], "ghost001"]}
    )
    assert answer.code == "0"
    ok, stopped, ghost = answer.data["cmd_results"]
    assert ok == {"instance_id": ids[0], "status": 2, "error_code": "", "error_msg": "", "execute_msg": ids[0]}
    assert (stopped["status"], stopped["error_code"]) == (-1, "KOOPHONE.API.62010")
    assert (ghost["status"], ghost["error_code"], ghost["execute_msg"]) == (-1, "CPS0005", None)
    failed = api.post("/v1/instances/sync-command", {"command": "ls /nowhere", "instance_ids": [ids[0]]})
    result = failed.data["cmd_results"][0]
    assert (result["status"], result["error_code"]) == (-1, "CPS.0191")
    assert result["execute_msg"] == "ls: /nowhere: No such file or directory"


@pytest.mark.parametrize(
    "body",
    [
        {"command": "x" * 1025, "instance_ids": ["a"]},
        {"command": "", "instance_ids": ["a"]},
        {"command": "id", "instance_ids": []},
        {"command": "id", "instance_ids": ["x" * 33]},
        {"command": "id", "instance_ids": ["i%d" % n for n in range(101)]},
        {"instance_ids": ["a"]},
    ],
)
def test_command_limits(api, body):
    for path in ("/v1/instances/sync-command", "/v1/instances/async-command"):
        answer = api.post(path, body)
        assert (answer.status, answer.code) == (400, "KOOPHONE.API.1000")


def test_command_limit_is_bytes_not_characters(api, ids, state):
    too_long = api.post("/v1/instances/sync-command", {"command": "echo " + "a" * 1020, "instance_ids": [ids[0]]})
    assert too_long.code == "KOOPHONE.API.1000" and "1024 bytes" in too_long.body["error_msg"]
    assert (
        api.post("/v1/instances/sync-command", {"command": "echo " + "a" * 1019, "instance_ids": ids[:1]}).code == "0"
    )
    state.settings.command_charset = "any"  # "é" is outside the strict character set
    answer = api.post("/v1/instances/sync-command", {"command": "echo " + "é" * 510, "instance_ids": [ids[0]]})
    assert answer.code == "KOOPHONE.API.1000"  # 5 + 1020 bytes
    fits = api.post("/v1/instances/sync-command", {"command": "echo " + "é" * 509, "instance_ids": [ids[0]]})
    assert fits.code == "0"


def test_async_command_task_progresses(api, ids, state):
    answer = api.post(
        "/v1/instances/async-command", {"command": "settings put global foo bar", "instance_ids": [ids[0], "ghost001"]}
    )
    task_id = answer.data["task_id"]
    assert len(task_id) == 32 and int(task_id, 16) >= 0
    jobs = {job["instance_id"]: job["job_id"] for job in answer.data["cmd_jobs"]}
    assert set(jobs) == {ids[0], "ghost001"}
    running = api.get("/v1/instances/tasks/" + task_id).data["jobs"]
    assert {job["status"] for job in running} == {1}
    assert "global/foo" not in state.get(ids[0]).settings  # applied when the job runs, not before

    def finished():
        jobs_now = api.get("/v1/instances/tasks/" + task_id).data["jobs"]
        return jobs_now if all(job["status"] != 1 for job in jobs_now) else None

    done = {job["job_id"]: job for job in wait_for(finished)}
    assert done[jobs[ids[0]]]["status"] == 2
    assert (done[jobs["ghost001"]]["status"], done[jobs["ghost001"]]["error_msg"]) == (-1, "Phone not found.")
    assert state.get(ids[0]).settings["global/foo"] == "bar"


def test_unknown_task(api):
    answer = api.get("/v1/instances/tasks/0123456789abcdef0123456789abcdef")
    assert (answer.status, answer.code) == (400, "KOOPHONE.API.1323")


# ---------------------------------------------------------------------- video


def test_video_setting_stored(api, ids, state):
    answer = api.put("/v1/instances/video-setting", {"instance_ids": ids[:2], "instance_settings": video_settings()})
    assert answer.body == {"error_code": "0", "error_msg": "ok"}
    stored = state.get(ids[1]).video_settings
    assert len(stored) == 6 and stored[0]["video_spec_groups"][0]["definition_720P"] == {"code_rate": 6000, "fps": 30}


@pytest.mark.parametrize(
    "settings, code",
    [
        (video_settings()[:5], "KOOPHONE.API.1005"),
        (video_settings(video_spec_groups=[spec(code_rate=150)]), "KOOPHONE.API.1000"),
        (video_settings(video_spec_groups=[spec(code_rate=10100)]), "KOOPHONE.API.1000"),
        (video_settings(video_spec_groups=[spec(code_rate=0)]), "KOOPHONE.API.1000"),
        (video_settings(video_spec_groups=[spec(fps=25)]), "KOOPHONE.API.1000"),
        (video_settings(video_spec_groups=[spec()] * 4), "KOOPHONE.API.1000"),
        (video_settings() + video_settings(), "KOOPHONE.API.1000"),  # 12 > 10 settings
        ([dict(s, network_type="5G") for s in video_settings()], "KOOPHONE.API.1000"),
    ],
)
def test_video_setting_validation(api, ids, settings, code):
    answer = api.put("/v1/instances/video-setting", {"instance_ids": ids[:1], "instance_settings": settings})
    assert (answer.status, answer.code) == (400, code)


# ---------------------------------------------------------------------- auth (device token), streaming, session


def test_device_token(api, ids, state):
    answer = api.post("/v1/instances/%s/auth" % ids[0], request_id=None)
    assert answer.code == "0"
    data = answer.data
    assert len(data["device_token"]) == 32 and data["streamingId"]
    assert data["resource"]["kp_id"] == ids[0]
    assert data["resource"]["rtc"]["ice_signaling"]["signaling_url"].startswith("http://")
    assert state.get(ids[0]).streaming and state.get(ids[0]).login_status == 1
    assert api.post("/v1/instances/ghost001/auth").code == "KOOPHONE.API.1001"
    state.get(ids[1]).running_status = 1
    assert api.post("/v1/instances/%s/auth" % ids[1]).code == "KOOPHONE.API.62010"


def test_stop_streaming_and_release_session(api, ids, state):
    api.post("/v1/instances/%s/auth" % ids[0])
    stop = api.post("/v1/instances/streaming/stop", {"instance_id": ids[0]})
    assert stop.body == {"error_code": "0", "error_msg": "OK"}
    assert not state.get(ids[0]).streaming and state.get(ids[0]).session
    release = api.post("/v1/instances/session/release", {"instance_id": ids[0]})
    assert release.code == "0" and not state.get(ids[0]).session and state.get(ids[0]).login_status == 0
    for path in ("/v1/instances/streaming/stop", "/v1/instances/session/release"):
        assert api.post(path, {"instance_id": ids[0]}, request_id=None).code == "KOOPHONE.API.0002"
        assert api.post(path, {"instance_id": "x" * 33}).code == "KOOPHONE.API.1000"
        assert api.post(path, {"instance_id": "ghost001"}).code == "KOOPHONE.API.1001"


# ---------------------------------------------------------------------- assign / unassign


def test_assign_and_unassign(api, ids, state):
    pairs = [{"user_id": "u1", "instance_id": ids[0]}, {"user_id": "u2", "instance_id": ids[1]}]
    assert api.post("/v1/instances/assign", {"user_instances": pairs}).body == {"error_code": "0", "error_msg": "ok"}
    assert (state.get(ids[0]).assign_status, state.get(ids[0]).assign_user) == (1, "u1")
    assert api.post("/v1/instances/assign", {"user_instances": pairs[:1]}).code == "0"  # same user: no change
    taken = api.post("/v1/instances/assign", {"user_instances": [{"user_id": "u9", "instance_id": ids[0]}]})
    assert (taken.status, taken.code) == (400, "KPAPI.2209")
    wrong = api.post("/v1/instances/unassign", {"user_instances": [{"user_id": "u9", "instance_id": ids[0]}]})
    assert (wrong.status, wrong.code) == (400, "KOOPHONE.API.2210")
    # The reference's example sends user_id as a number; accepted.
    state.get(ids[2]).assign_status, state.get(ids[2]).assign_user = 1, "1123422"
    answer = api.post(
        "/v1/instances/unassign", {"user_instances": pairs + [{"user_id": 1123422, "instance_id": ids[2]}]}
    )
    assert answer.code == "0" and answer.data["task_id"].startswith("RM_")
    assert len(answer.data["cmd_jobs"]) == 3
    # effect_delay (1 s by default): the unassign shows in batch-query only later.
    assert all(state.get(i).assign_status == 1 and state.get(i).unassign_pending for i in ids[:3])
    state.settings.effect_delay = 0
    pairs = [{"user_id": "u3", "instance_id": ids[3]}]
    assert api.post("/v1/instances/assign", {"user_instances": pairs}).code == "0"
    assert api.post("/v1/instances/unassign", {"user_instances": pairs}).code == "0"
    assert (state.get(ids[3]).assign_status, state.get(ids[3]).assign_user) == (0, "")  # at once
    wait_for(lambda: all(state.get(i).assign_status == 0 and state.get(i).assign_user == "" for i in ids[:3]))


def test_assign_limits(api, ids):
    eleven = [{"user_id": "u", "instance_id": ids[n]} for n in range(11)]
    assert api.post("/v1/instances/unassign", {"user_instances": eleven}).code == "KOOPHONE.API.1000"
    long_user = [{"user_id": "u" * 33, "instance_id": ids[0]}]
    assert api.post("/v1/instances/assign", {"user_instances": long_user}).code == "KOOPHONE.API.1000"
    ghost = [{"user_id": "u", "instance_id": "ghost001"}]
    assert api.post("/v1/instances/assign", {"user_instances": ghost}).code == "KOOPHONE.API.1001"
    many = [{"user_id": "u", "instance_id": "i%d" % n} for n in range(101)]
    assert api.post("/v1/instances/assign", {"user_instances": many}).code == "KOOPHONE.API.1000"


# ---------------------------------------------------------------------- sku, create, delete


def test_sku(api):
    answer = api.get("/v1/instances/sku", {"type": "0"}, request_id=None)
    assert answer.code == "0"
    data = answer.data
    assert data["bandInfo"]["cbcSkuId"] == "kp.bandwidth"
    regions = {entry["regionId"]: entry["skuResponses"] for entry in data["skuSpecResponseList"]}
    assert len(regions) == 3
    sku = regions["cn-north-4"][0]
    assert sku["cbcSkuId"] == SKU and sku["bandSize"] == "4,8" and isinstance(sku["resourceSize"], str)
    # The reference catalogue (default): ADN pools only, as in the reference's example.
    assert {(p["version"], p["network"]) for p in sku["poolInfo"]["aosp"]} == {("AOSP11", "ADN"), ("AOSP14", "ADN")}
    api.control("POST", "config", {"catalogue": "mixed"})
    mixed = api.get("/v1/instances/sku", {"type": "0"}).data["skuSpecResponseList"]
    sku = {entry["regionId"]: entry["skuResponses"] for entry in mixed}["cn-north-4"][0]
    assert {(p["version"], p["network"]) for p in sku["poolInfo"]["aosp"]} == {
        ("AOSP11", "EIP"),
        ("AOSP11", "ADN"),
        ("AOSP14", "EIP"),
        ("AOSP14", "ADN"),
    }
    assert {s["type"] for skus in regions.values() for s in skus} == {"PROFESSIONAL", "ENTERPRISE"}
    assert api.get("/v1/instances/sku").code == "KOOPHONE.API.1000"
    assert api.get("/v1/instances/sku", {"type": "1"}).code == "KOOPHONE.API.1000"


def test_create_continues_numbering_and_boots(api, state):
    answer = api.post("/v1/instances/create", CREATE, request_id=None)
    assert answer.code == "0" and answer.body["error_msg"] == "OK"
    infos = answer.data["instanceInfos"]
    assert [info["instanceName"] for info in infos] == ["kp-00021", "kp-00022"]
    assert answer.data["orderId"].startswith("CS")
    inst = state.get(infos[0]["instanceId"])
    assert inst.running_status == 4 and inst.billing_mode == "1" and inst.os == "AOSP11"
    wait_for(lambda: inst.running_status == 2)
    other = api.post("/v1/instances/create", dict(CREATE, instanceNamePrefix="web", count=1))
    assert other.data["instanceInfos"][0]["instanceName"] == "web-00001"


@pytest.mark.parametrize(
    "change, code",
    [
        ({"os": None}, "KOOPHONE.API.3003"),
        ({"os": "AOSP9"}, "KOOPHONE.API.1000"),
        ({"bandSkuId": "kp.other"}, "KOOPHONE.API.3001"),
        ({"instanceSkuId": "kp.nope"}, "KOOPHONE.API.3002"),
        ({"regionId": "cn-nowhere-1"}, "KOOPHONE.API.3002"),
        ({"regionId": "cn-southwest-2", "instanceSkuId": "kp.enterprise.2xlarge.64g.2"}, "KOOPHONE.API.3002"),
        ({"instanceNamePrefix": "x" * 15}, "KOOPHONE.API.1000"),
        ({"count": 2001}, "KOOPHONE.API.1000"),
        ({"count": 0}, "KOOPHONE.API.1000"),
        ({"bandSize": 5}, "KOOPHONE.API.1000"),
        ({"network": "VPN"}, "KOOPHONE.API.1000"),
        ({"chargeParam": {"chargingMode": 0, "periodType": 2, "periodNum": 1}}, "KOOPHONE.API.1000"),
        ({"chargeParam": {"chargingMode": 1, "periodType": 2, "periodNum": 10}}, "KOOPHONE.API.3006"),
        ({"chargeParam": {"chargingMode": 1, "periodType": 3, "periodNum": 4}}, "KOOPHONE.API.3007"),
        ({"chargeParam": {"chargingMode": 1, "periodType": 4, "periodNum": 1}}, "KOOPHONE.API.1000"),
        ({"chargeParam": {"chargingMode": 1, "periodType": 2, "periodNum": 1, "isAutoPay": 2}}, "KOOPHONE.API.1000"),
    ],
)
def test_create_errors(api, state, change, code):
    body = dict(CREATE, **change)
    body = {key: value for key, value in body.items() if value is not None}
    answer = api.post("/v1/instances/create", body)
    assert answer.code == code
    assert len(state.instances) == 20


def test_create_years_and_2000_limit_and_capacity(api, state):
    assert (
        api.post(
            "/v1/instances/create",
            dict(CREATE, count=1, chargeParam={"chargingMode": 1, "periodType": 3, "periodNum": 3}),
        ).code
        == "0"
    )
    state.settings.capacity = 25
    assert api.post("/v1/instances/create", dict(CREATE, count=5)).code == "KOOPHONE.API.40010"
    assert api.post("/v1/instances/create", dict(CREATE, count=4)).code == "0"


def test_delete(api, ids, state):
    state.get(ids[1]).billing_mode = "0"
    on_demand = api.post("/v1/instances/delete", {"instanceIdList": [ids[0], ids[1]]})
    assert (on_demand.status, on_demand.code) == (400, "KOOPHONE.API.5001")
    unknown = api.post("/v1/instances/delete", {"instanceIdList": [ids[0], "ghost001"]})
    assert (unknown.status, unknown.code) == (200, "KOOPHONE.API.1012")
    assert state.get(ids[0]) is not None
    state.settings.effect_delay = 0  # at once (the delayed default is tested in test_strict.py)
    answer = api.post("/v1/instances/delete", {"instanceIdList": [ids[0]]}, request_id=None)
    assert answer.body == {"data": None, "error_code": "0", "error_msg": "OK"}
    assert state.get(ids[0]) is None and api.list_page(1, 100).data["total_count"] == 19
    assert api.post("/v1/instances/delete", {"instanceIdList": ["i%d" % n for n in range(101)]}).code == (
        "KOOPHONE.API.1000"
    )


# ---------------------------------------------------------------------- prepare, progress, backup


def test_backup_then_prepare_restores_through_the_queue(api, ids, state):
    state.settings.backup_stops = True  # a finished backup releases the phone (the default keeps it running)
    users = [{"user_id": "u1", "instance_id": i} for i in ids[:3]]
    api.post("/v1/instances/assign", {"user_instances": users})
    backup = api.post("/v1/instances/backup", {"instance_ids": ids[:3]})
    assert backup.code == "0" and backup.data["task_id"].startswith("RM_")
    assert state.get(ids[0]).backup_status == 1
    busy = api.post("/v1/instances/backup", {"instance_ids": ids[:1]})
    assert busy.code == "KOOPHONE.API.2006"
    assert api.post("/v1/instances/prepare-progress", {"user_id": "u1", "instance_id": ids[0]}).data == {
        "status": 3,
        "waitingCount": 0,
    }
    wait_for(lambda: state.get(ids[2]).backup_status == 2)
    item = [i for i in api.list_page(1, 100).data["result"] if i["instance_id"] == ids[0]][0]
    assert item["backup_status"] == 2 and item["backup_time"] and item["running_status"] == 1

    state.settings.task_seconds = 0.4
    prepared = api.post("/v1/instances/prepare", {"user_id": "u1", "instance_ids": ids[:3] + [ids[5]]})
    assert prepared.code == "0"
    statuses = {s["instance_id"]: s["status"] for s in prepared.data["status_list"]}
    assert statuses == {ids[0]: 1, ids[1]: 1, ids[2]: 1, ids[5]: 2}  # to be restored / to be assigned
    progress = api.post("/v1/instances/prepare-progress", {"user_id": "u1", "instance_id": ids[2]}).data
    assert progress["status"] == 1 and progress["waitingCount"] >= 1  # queued behind two others
    wait_for(lambda: state.get(ids[2]).data_loaded, timeout=5)
    done = api.post("/v1/instances/prepare-progress", {"user_id": "u1", "instance_id": ids[2]})
    assert done.body == {"error_code": "0", "error_msg": "OK", "data": {"status": 0, "waitingCount": 0}}
    assert state.get(ids[2]).restore_status == 2 and state.get(ids[2]).running_status == 2
    again = api.post("/v1/instances/prepare", {"user_id": "u1", "instance_ids": ids[:1]})
    assert again.data["status_list"] == [{"instance_id": ids[0], "status": 0}]


def test_prepare_and_backup_errors(api, ids):
    assert api.post("/v1/instances/prepare", {"user_id": "u1", "instance_ids": ["ghost001"]}).code == (
        "KOOPHONE.API.4001"
    )
    assert api.post("/v1/instances/prepare", {"instance_ids": ids[:1]}).code == "KOOPHONE.API.1000"
    assert api.post("/v1/instances/prepare-progress", {"user_id": "u1", "instance_id": "ghost001"}).code == (
        "KOOPHONE.API.4001"
    )
    assert api.post("/v1/instances/prepare-progress", {"user_id": "u1", "instance_id": ids[0]}).code == (
        "KOOPHONE.API.1001"
    )
    fifty_one = api.post("/v1/instances/backup", {"instance_ids": ["i%d" % n for n in range(51)]})
    assert fifty_one.code == "KOOPHONE.API.1000"  # BatchBackupInstances.json: 50
    assert api.post("/v1/instances/backup", {"instance_ids": ids[:1]}, request_id=None).code == "KOOPHONE.API.0002"


# ---------------------------------------------------------------------- apps


INSTALL = {
    "fast_install": "0",
    "object_name": "com.tencent.mm",
    "file_name": "wechat.apk",
    "object_version": "8.0.58",
    "object_size": "120",
    "biz_type": "apk",
    "content_type": "application/octet-stream",
    "content_md5": "fghfg",
    "install_package_url": "https://obs.example.com/wechat.apk",
}


def install_and_wait(api, instance_ids, **changes):
    answer = api.post(
        "/v1/instances/app/install", dict(INSTALL, instance_id_list=instance_ids, **changes), request_id=None
    )
    assert answer.code == "0", answer
    task_id = answer.data["task_id"]

    def finished():
        jobs = api.get("/v1/instances/tasks/" + task_id).data["jobs"]
        return jobs if all(job["status"] in (2, 3) for job in jobs) else None

    return answer, wait_for(finished)


def test_install_app_task_states_and_app_list(api, ids):
    answer = api.post("/v1/instances/app/install", dict(INSTALL, instance_id_list=ids[:2]))
    assert answer.data["task_id"].startswith("ZGCA") and len(answer.data["cmd_jobs"]) == 2
    first = api.get("/v1/instances/tasks/" + answer.data["task_id"]).data["jobs"]
    assert {job["status"] for job in first} <= {0, 1}
    seen = set()

    def finished():
        jobs = api.get("/v1/instances/tasks/" + answer.data["task_id"]).data["jobs"]
        seen.update(job["status"] for job in jobs)
        return jobs if all(job["status"] == 2 for job in jobs) else None

    jobs = wait_for(finished, interval=0.01)
    assert 1 in seen and jobs[0]["execute_msg"] == "Success"
    apps = api.get("/v1/instances/%s/app-list" % ids[0], {"page_no": 1, "page_size": 200, "app_type": 2})
    assert apps.code == "0"
    assert apps.data["result"] == [
        {
            "app_name": "wechat",
            "app_pkg": "com.tencent.mm",
            "app_version": "8.0.58",
            "icon_url": apps.data["result"][0]["icon_url"],
        }
    ]
    again = api.post("/v1/instances/app/install", dict(INSTALL, instance_id_list=ids[:1]))
    assert (again.status, again.code) == (400, "KOOPHONE.API.62005")
    shell = api.post(
        "/v1/instances/sync-command", {"command": "dumpsys package com.tencent.mm", "instance_ids": ids[:1]}
    )
    lines = [line.strip() for line in shell.data["cmd_results"][0]["execute_msg"].splitlines()]
    assert "versionName=8.0.58" in lines


def test_install_nested_response_switch(api, ids, state):
    state.settings.install_response = "nested"
    answer = api.post("/v1/instances/app/install", dict(INSTALL, instance_id_list=ids[:1]))
    assert answer.data["data"]["task_id"].startswith("ZGCA")


@pytest.mark.parametrize(
    "change, code",
    [
        ({"fast_install": "2"}, "KOOPHONE.API.3008"),
        ({"object_size": "big"}, "KOOPHONE.API.62006"),
        ({"object_size": 2049}, "KOOPHONE.API.62015"),
        ({"install_package_url": "http://obs.example.com/a.apk"}, "KOOPHONE.API.1000"),
        ({"install_package_url": "https://x/error-62016/a.apk"}, "KOOPHONE.API.62016"),
        ({"biz_type": "ipa"}, "KOOPHONE.API.1000"),
        ({"content_md5": ""}, "KOOPHONE.API.1000"),
        ({"object_name": "x" * 101}, "KOOPHONE.API.1000"),
        ({"instance_id_list": ["ghost001"]}, "KOOPHONE.API.3009"),
    ],
)
def test_install_request_errors(api, ids, change, code):
    answer = api.post("/v1/instances/app/install", dict(dict(INSTALL, instance_id_list=ids[:1]), **change))
    assert answer.code == code


def test_install_job_failures(api, ids, state):
    _task_id, jobs = install_and_wait(api, ids[:1], install_package_url="https://obs.example.com/error-62017/a.apk")
    assert (jobs[0]["status"], jobs[0]["error_code"]) == (3, "KOOPHONE.API.62017")
    state.get(ids[1]).running_status = 1
    _task_id, jobs = install_and_wait(api, ids[1:2])
    assert (jobs[0]["status"], jobs[0]["error_code"]) == (3, "KOOPHONE.API.62010")
    install_and_wait(api, ids[2:3], object_version="9.0.0")
    _task_id, jobs = install_and_wait(api, ids[2:3])
    assert (jobs[0]["status"], jobs[0]["error_code"]) == (3, "KOOPHONE.API.62020")  # a downgrade


def test_app_list_paging_and_errors(api, ids, state):
    system = api.get("/v1/instances/%s/app-list" % ids[0], {"page_no": 1, "page_size": 4, "app_type": 1})
    assert system.data["total_count"] == 9 and len(system.data["result"]) == 4
    assert (
        api.get("/v1/instances/%s/app-list" % ids[0], {"page_no": 3, "page_size": 4}).data["result"][0]["app_pkg"]
        == "com.iotouch.change"
    )
    missing_id = api.get("/v1/instances/%s/app-list" % ids[0], {"page_no": 1, "page_size": 4}, request_id=None)
    assert missing_id.code == "KOOPHONE.API.0002"
    assert api.get("/v1/instances/%s/app-list" % ids[0], {"page_no": 1, "page_size": 201}).code == "KOOPHONE.API.1000"
    assert api.get("/v1/instances/%s/app-list" % ids[0], {"page_no": 1, "page_size": 2, "app_type": 3}).code == (
        "KOOPHONE.API.1000"
    )
    assert api.get("/v1/instances/ghost001/app-list", {"page_no": 1, "page_size": 2}).code == "KOOPHONE.API.1001"
    state.settings.app_list = False
    gone = api.get("/v1/instances/%s/app-list" % ids[0], {"page_no": 1, "page_size": 2})
    assert (gone.status, gone.code) == (404, "APIGW.0101")


# ---------------------------------------------------------------------- common rules


def test_missing_request_id_where_mandatory_and_invalid(api, ids):
    answer = api.post("/v1/instances/batch-query-status", {"instance_ids": ids[:1]}, request_id=None)
    assert (answer.status, answer.code) == (200, "KOOPHONE.API.0002")
    invalid = api.post("/v1/instances/batch-query-status", {"instance_ids": ids[:1]}, request_id="x" * 129)
    assert (invalid.status, invalid.code) == (400, "KOOPHONE.API.0003")
    # Optional where the reference does not require it.
    assert api.post("/v1/instances/prepare", {"user_id": "u", "instance_ids": ids[:1]}, request_id=None).code == "0"


def test_bad_json_unknown_path_and_trailing_slash(api, ids):
    broken = api.call("POST", "/v1/instances/reboot", raw=b"{not json")
    assert (broken.status, broken.code) == (400, "KOOPHONE.API.1000")
    unknown = api.get("/v1/instances/nothing-here")
    assert (unknown.status, unknown.code) == (404, "APIGW.0101")
    assert api.get("/v1/instances/sku/", {"type": "0"}).code == "0"
    assert api.get("/v1/instances/sync-command").code == "APIGW.0101"  # wrong method
