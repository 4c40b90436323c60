"""Fault injection: what each kind answers, and whether the request was applied."""

import concurrent.futures
import http.client
import time

import pytest
from emutools import IAM_LOGIN, Api, serving


def reboot(api, ids):
    return api.post("/v1/instances/reboot", {"instance_ids": ids})


def test_5xx_answers_9999_without_applying(api, emulator, ids, state):
    emulator.emulator.settings.rate_5xx = 1.0
    answer = reboot(api, ids[:1])
    assert answer.status in (500, 502, 503)
    assert answer.body == {"error_code": "KOOPHONE.API.9999", "error_msg": "unknown error."}
    assert state.get(ids[0]).running_status == 2
    record = emulator.emulator.log.since(0)[-1]
    assert (record["fault"], record["status"], record["operation"]) == ("5xx", answer.status, "BatchRebootInstance")


def test_drop_closes_without_applying(api, emulator, ids, state):
    emulator.emulator.settings.rate_drop = 1.0
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        reboot(api, ids[:1])
    assert state.get(ids[0]).running_status == 2
    record = emulator.emulator.log.since(0)[-1]
    assert (record["fault"], record["status"], record["instance_ids"]) == ("drop", None, ids[:1])


def test_lost_applies_then_closes(api, emulator, ids, state):
    emulator.emulator.settings.rate_lost = 1.0
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        reboot(api, ids[:1])
    assert state.get(ids[0]).running_status == 4  # applied: the phone is rebooting
    record = emulator.emulator.log.since(0)[-1]
    assert (record["fault"], record["status"], record["error_code"]) == ("lost", 200, "0")
    assert record["instance_ids"] == ids[:1]


def test_429_with_retry_after_without_applying(api, emulator, ids, state):
    emulator.emulator.settings.update({"rate_429": 1.0, "retry_after": 7})
    answer = reboot(api, ids[:1])
    assert answer.status == 429 and answer.headers["retry-after"] == "7"
    assert answer.code == "APIGW.0308" and answer.body["error_msg"].startswith("The throttling threshold")
    assert state.get(ids[0]).running_status == 2


def test_iam_and_control_are_not_faulted_unless_asked(api, emulator):
    settings = emulator.emulator.settings
    settings.rate_5xx = 1.0
    assert api.call("POST", "/v3/auth/tokens", body=IAM_LOGIN, token=False).status == 201
    assert api.control("GET", "config").status == 200
    settings.fault_operations = ["KeystoneCreateUserTokenByPassword"]
    assert api.call("POST", "/v3/auth/tokens", body=IAM_LOGIN, token=False).status in (500, 502, 503)
    assert api.list_page(1, 1).code == "0"  # no longer in scope


def test_faults_limited_to_operations(api, emulator, ids):
    emulator.emulator.settings.update({"rate_5xx": 1.0, "fault_operations": "BatchRebootInstance,CreateInstance"})
    assert api.list_page(1, 1).code == "0"
    assert reboot(api, ids[:1]).status >= 500


def test_fault_script_hits_exactly_the_next_matching_requests(api, emulator, state):
    api.control(
        "POST",
        "config",
        {
            "script": [
                {"operation": "CreateInstance", "fault": "lost", "times": 1},
                {"operation": "*", "fault": "5xx", "status": 502, "times": 2},
            ]
        },
    )
    body = {
        "os": "AOSP14",
        "instanceSkuId": "kp.professional.xlarge.32g.2",
        "bandSkuId": "kp.bandwidth",
        "regionId": "cn-north-7",
        "instanceNamePrefix": "lost",
        "bandSize": 8,
        "count": 3,
        "chargeParam": {"chargingMode": 1, "periodType": 2, "periodNum": 1},
    }
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        api.post("/v1/instances/create", body)
    # The lost create was applied: without isAutoPay its order is unpaid, so its 3 instances wait hidden.
    assert len(state.instances) == 20 and len(state.pending) == 3
    assert [order["count"] for order in api.control("GET", "orders").body] == [3]
    assert api.list_page(1, 1).status == 502
    assert api.post("/v1/instances/create", body).status == 502  # "*" matches any faultable operation
    answer = api.post("/v1/instances/create", body)
    assert answer.code == "0" and answer.data["instanceInfos"][0]["instanceName"] == "lost-00004"
    assert api.control("GET", "config").body["script"] == []
    faults = [record["fault"] for record in emulator.emulator.log.since(0)]
    assert faults == ["lost", "5xx", "5xx", None]


def test_script_expire_answers_6001_once(api):
    api.control("POST", "config", {"script": [{"operation": "ListInstances", "fault": "expire"}]})
    assert api.list_page(1, 1).code == "KOOPHONE.API.6001"
    assert api.list_page(1, 1).code == "0"


def test_bad_script_is_refused(api):
    answer = api.control("POST", "config", {"script": [{"operation": "X", "fault": "explode"}]})
    assert answer.status == 400 and "fault" in answer.body["error"]


def test_random_faults_are_deterministic_per_seed():
    def sequence():
        with serving(rate_5xx=0.3, rate_429=0.2, seed=7) as server:
            api = Api(server.url)
            return [api.list_page(1, 1).status for _attempt in range(30)]

    first = sequence()
    assert first == sequence()
    assert {200, 429} <= set(first) and set(first) - {200, 429}


def test_latency_overlaps_across_connections():
    with serving(latency_ms=300) as server:
        api = Api(server.url)
        started = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda n: api.list_page(n, 1), range(1, 9)))
        elapsed = time.monotonic() - started
        assert all(answer.code == "0" for answer in answers)
        # Eight requests in parallel cost about one latency; in series they would cost 2.4 s.
        assert 0.3 <= elapsed < 1.6, elapsed
        assert api.control("GET", "health").body == {"ok": True}


def test_throttle_rps_token_bucket(api, emulator):
    emulator.emulator.settings.throttle_rps = 5
    statuses = [api.list_page(1, 1).status for _attempt in range(15)]
    assert statuses[:5] == [200] * 5 and 429 in statuses
    time.sleep(0.5)
    assert api.list_page(1, 1).status == 200


def test_latency_spikes_delay_the_logged_share_by_spike_ms():
    with serving(rate_spike=0.3, spike_ms=400, seed=5) as server:
        api = Api(server.url)
        timings = []
        for _attempt in range(30):
            started = time.monotonic()
            assert api.list_page(1, 1).code == "0"
            timings.append(time.monotonic() - started)
        # The control API is never delayed nor logged as spiked.
        assert api.control("GET", "health").body == {"ok": True}
        spikes = [record["spike"] for record in server.emulator.log.since(0) if record["path"] != "/_emulator/health"]
        assert len(spikes) == 30 and 3 <= sum(spikes) <= 20, spikes
        for spiked, elapsed in zip(spikes, timings):
            assert (elapsed >= 0.4) if spiked else (elapsed < 0.3), (spiked, elapsed)


def test_spikes_are_drawn_apart_from_faults():
    """Turning spikes on moves no fault: the same seed fails the same requests with and without them."""

    def statuses(**extra):
        with serving(rate_5xx=0.3, seed=7, **extra) as server:
            api = Api(server.url)
            return [api.list_page(1, 1).status for _attempt in range(20)]

    assert statuses() == statuses(rate_spike=0.5, spike_ms=1)


def test_per_operation_draws_ignore_the_other_operations():
    """With fault_draws=per-operation, the Nth request of an operation meets the same fault however many
    requests of other operations came between (a run whose poll count varies stays reproducible)."""

    def install_statuses(polls):
        with serving(rate_5xx=0.3, rate_spike=0.3, spike_ms=1, seed=11, fault_draws="per-operation") as server:
            api = Api(server.url)
            ids = [inst.instance_id for inst in server.emulator.state.ordered()]
            seen = []
            for attempt in range(12):
                for _poll in range(polls[attempt % len(polls)]):
                    api.list_page(1, 1)
                seen.append(reboot(api, ids[:1]).status)
            spikes = [r["spike"] for r in server.emulator.log.since(0) if r["operation"] == "BatchRebootInstance"]
            return seen, spikes

    first = install_statuses([0])
    assert first == install_statuses([3, 0, 1])
    assert {200} < set(first[0]) and True in first[1]


def test_bad_spike_and_draw_settings_are_refused(api):
    for change in ({"rate_spike": 1.5}, {"spike_ms": -1}, {"fault_draws": "random"}):
        answer = api.control("POST", "config", change)
        assert answer.status == 400, change
