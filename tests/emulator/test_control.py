"""The /_emulator control API, the fleet seeding, and the shape switches it controls."""

from emutools import serving


def test_log_since_filter_and_clear(api, ids):
    api.list_page(1, 1)
    api.post("/v1/instances/reboot", {"instance_ids": ids[:2]}, request_id="rid-42")
    records = api.control("GET", "log").body
    assert [r["seq"] for r in records] == [1, 2]
    reboot = records[1]
    assert reboot["operation"] == "BatchRebootInstance" and reboot["method"] == "POST"
    assert reboot["path"] == "/v1/instances/reboot" and reboot["request_id"] == "rid-42"
    assert reboot["auth"] == "token" and reboot["instance_ids"] == ids[:2]
    assert (reboot["status"], reboot["error_code"], reboot["fault"]) == (200, "0", None)
    assert records[0]["query"] == {"page_no": "1", "page_size": "1"}
    assert [r["seq"] for r in api.control("GET", "log", query={"since": 1}).body] == [2]
    assert len(api.control("GET", "log", query={"operation": "ListInstances"}).body) == 1
    api.control("DELETE", "log")
    assert api.control("GET", "log").body == []
    api.list_page(1, 1)
    assert [r["seq"] for r in api.control("GET", "log").body] == [3]  # numbering continues


def test_instances_patch_add_delete(api, ids):
    everything = api.control("GET", "instances").body
    assert len(everything) == 20
    first = everything[0]
    assert first["instance_id"] == ids[0] and first["os"] in ("AOSP11", "AOSP14")
    assert {"apps", "settings", "video_settings", "sku_id", "create_time"} <= set(first)
    patched = api.control(
        "PATCH",
        "instances/" + ids[0],
        {"running_status": 1, "assign_status": 1, "assign_user": "u7", "billing_mode": "0"},
    ).body
    assert (patched["running_status"], patched["assign_user"], patched["billing_mode"]) == (1, "u7", "0")
    # Table 4-34 (the default): a stopped phone is idle, 0; the function text's codes copy running_status.
    assert (
        api.post("/v1/instances/batch-query-status", {"instance_ids": ids[:1]}).data["status_results"][0]["status"] == 0
    )
    api.control("POST", "config", {"status_codes": "function"})
    assert (
        api.post("/v1/instances/batch-query-status", {"instance_ids": ids[:1]}).data["status_results"][0]["status"] == 1
    )
    assert api.control("PATCH", "instances/" + ids[0], {"running_status": 9}).status == 400
    assert api.control("PATCH", "instances/" + ids[0], {"nonsense": 1}).status == 400
    assert api.control("GET", "instances/ghost001").status == 404
    added = api.control(
        "POST",
        "instances",
        {"count": 2, "name_prefix": "extra", "os": "AOSP14", "assign_status": 1, "assign_user": "u8"},
    ).body["instances"]
    assert [i["instance_name"] for i in added] == ["extra-00001", "extra-00002"]
    assert added[0]["assign_user"] == "u8" and added[0]["running_status"] == 2
    assert api.list_page(1, 100).data["total_count"] == 22
    assert api.control("GET", "instances", query={"ids": added[0]["instance_id"]}).body[0]["os"] == "AOSP14"
    assert api.control("DELETE", "instances/" + added[1]["instance_id"]).status == 200
    assert api.list_page(1, 100).data["total_count"] == 21
    apps = api.control("PATCH", "instances/" + ids[1], {"apps": [{"app_pkg": "com.a", "app_version": "2.0"}]}).body
    assert apps["apps"] == [
        {
            "app_name": "com.a",
            "app_pkg": "com.a",
            "app_version": "2.0",
            "icon_url": apps["apps"][0]["icon_url"],
            "system": False,
        }
    ]


def test_task_view(api, ids):
    task_id = api.post("/v1/instances/async-command", {"command": "id", "instance_ids": ids[:1]}).data["task_id"]
    task = api.control("GET", "tasks/" + task_id).body
    assert task["kind"] == "command" and task["jobs"][0]["instance_id"] == ids[0]
    assert api.control("GET", "tasks/none").status == 404


def test_config_roundtrip(api):
    config = api.control("GET", "config").body
    assert config["paging_fields"] == "data" and config["access_key"] == "KOOPHONEDEMOAK00001"
    updated = api.control("POST", "config", {"latency-ms": 5, "paging_fields": "top", "task_seconds": 0.1}).body
    assert (updated["latency_ms"], updated["paging_fields"], updated["task_seconds"]) == (5, "top", 0.1)
    for bad in ({"paging_fields": "side"}, {"rate_5xx": 2}, {"port": 1}, {"unknown": 1}, {"app_list": "no"}):
        assert api.control("POST", "config", bad).status == 400, bad


def test_paging_fields_switch(api):
    api.control("POST", "config", {"paging_fields": "top"})
    top = api.list_page(2, 5).body
    assert (top["page_no"], top["page_size"], top["total_count"], top["error_code"]) == (2, 5, 20, "0")
    assert set(top["data"]) == {"result"} and len(top["data"]["result"]) == 5
    api.control("POST", "config", {"paging_fields": "both"})
    both = api.list_page(1, 5).body
    assert both["total_count"] == both["data"]["total_count"] == 20 and both["error_code"] == "0"


def test_reset_reseeds_deterministically(api):
    first = api.control("POST", "reset", {"instances": 5, "seed": 3}).body
    assert first == {"instances": 5, "seed": 3, "mix": False}
    ids_a = [i["instance_id"] for i in api.control("GET", "instances").body]
    api.post("/v1/instances/reboot", {"instance_ids": ids_a[:1]})
    api.control("POST", "reset", {"instances": 5, "seed": 3})
    ids_b = [i["instance_id"] for i in api.control("GET", "instances").body]
    assert ids_a == ids_b and api.control("GET", "log").body == []
    assert api.control("GET", "instances").body[0]["running_status"] == 2
    api.control("POST", "reset", {"seed": 4})
    assert [i["instance_id"] for i in api.control("GET", "instances").body] != ids_a


def test_mix_fleet_is_realistic_and_deterministic():
    def fleet():
        with serving(instances=300, mix=True, seed=5, boot_seconds=60) as server:
            return [i.full() for i in server.emulator.state.ordered()]

    instances = fleet()
    assert instances == fleet()
    statuses = {i["running_status"] for i in instances}
    assert {1, 2, 4, 5} <= statuses
    assert any(i["assign_status"] == 1 and i["assign_user"] for i in instances)
    assert any(i["billing_mode"] == "0" for i in instances) and any(i["frozen_status"] for i in instances)
    assert any(not i["data_loaded"] for i in instances)
    assert any(any(not app["system"] for app in i["apps"]) for i in instances)
    assert {i["region"] for i in instances} == {"cn-north-4", "cn-north-7", "cn-southwest-2"}
