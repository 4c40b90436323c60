"""koophone_stream_session: the answer it extracts, per-instance failures, check mode, and no token in messages."""

import pytest

from ansible_collections.koophone.cloud.plugins.module_utils._errors import InvalidOption
from ansible_collections.koophone.cloud.plugins.modules import koophone_stream_session as module

TOKEN = "dee5081f40c83ddea3ded91c387351e9"


def auth_answer(instance_id, with_streaming_id=True):
    data = {
        "device_token": TOKEN,
        "resource": {
            "sdk": {"external": {"address": "10.83.71.187", "aport": 10030, "atype": 1}},
            "rtc": {
                "ice_signaling": {"signaling_url": "http://100.93.2.248:18082", "expired_time": None, "ice_servers": []}
            },
            "device_id": "7b0cd026df8d495b8a65d628d7bec433",
            "kp_id": instance_id,
        },
    }
    if with_streaming_id:
        data["streamingId"] = "81f40c83ddea3ded91c387351e9"
    return {"error_code": "0", "error_msg": "ok", "data": data}


def stream_service(service, stopped=()):
    """Every streaming operation answers, except for ``stopped`` phones (62010: the instance is abnormal)."""

    def answer(call):
        instance_id = (call.path_params or call.body)["instance_id"]
        if instance_id in stopped:
            return {"error_code": "KOOPHONE.API.62010", "error_msg": "The cloud instance is abnormal."}
        if call.operation == "ExecuteInstanceAuthToken":
            return auth_answer(instance_id)
        return {"error_code": "0", "error_msg": "OK"}

    for operation in ("ExecuteInstanceAuthToken", "StopInstancesStreaming", "StopInstancesSession"):
        service.on(operation, answer)
    return service


def sent(service):
    return [(call.operation, (call.path_params or call.body)["instance_id"]) for call in service.calls]


def params(ids, state="authorized"):
    return {"instance_ids": ids, "state": state}


def test_the_session_fields_a_streaming_client_needs():
    entry = module.session_of("Q39YyZvl", auth_answer("Q39YyZvl"))
    assert entry["device_token"] == TOKEN
    assert entry["device_id"] == "7b0cd026df8d495b8a65d628d7bec433"
    assert entry["signaling_url"] == "http://100.93.2.248:18082"
    assert entry["streaming_id"] == "81f40c83ddea3ded91c387351e9"
    assert entry["ice_servers"] == [] and entry["resource"]["kp_id"] == "Q39YyZvl"
    # The reference's example has no streamingId: then there is none in the result either.
    assert "streaming_id" not in module.session_of("x", auth_answer("x", with_streaming_id=False))


def test_tokens_for_every_instance_under_sessions_not_results(service, client, make_kp):
    stream_service(service)
    result = module.run(make_kp(client, params(["a", "b", "a"])))
    assert [e["instance_id"] for e in result["sessions"]] == ["a", "b"]
    assert "results" not in result  # ansible-core prints a module's "results" even under no_log
    assert result["changed"] and result["failed_instance_ids"] == []


def test_a_refused_instance_fails_the_task_by_name_without_the_tokens_in_the_message(service, client, make_kp):
    stream_service(service, stopped=["b"])
    kp = make_kp(client, params(["a", "b"]))
    with pytest.raises(SystemExit):
        module.run(kp)
    failed = kp.module.failed
    assert failed["failed_instance_ids"] == ["b"]
    assert "failed on 1 of 2 instance(s): b:" in failed["msg"] and "KOOPHONE.API.62010" in failed["msg"]
    assert TOKEN not in failed["msg"]
    assert failed["sessions"][0]["device_token"] == TOKEN  # the other instance's session stands


def test_release_stops_the_stream_first(service, client, make_kp):
    stream_service(service)
    module.run(make_kp(client, params(["a"], state="released")))
    assert sent(service) == [("StopInstancesStreaming", "a"), ("StopInstancesSession", "a")]


def test_release_goes_on_when_nothing_was_streaming_and_says_so(service, client, make_kp):
    stream_service(service)
    service.on("StopInstancesStreaming", {"error_code": "KOOPHONE.API.62010", "error_msg": "not streaming"})
    result = module.run(make_kp(client, params(["a"], state="released")))
    assert sent(service) == [("StopInstancesStreaming", "a"), ("StopInstancesSession", "a")]
    assert result["failed_instance_ids"] == [] and "not streaming" in result["sessions"][0]["stop_error"]


def test_release_does_not_go_on_after_a_refusal_of_the_credentials(service, client, make_kp):
    stream_service(service)
    service.on("StopInstancesStreaming", {"error_code": "KOOPHONE.API.1001", "error_msg": "no permission"})
    kp = make_kp(client, params(["a"], state="released"))
    with pytest.raises(SystemExit):
        module.run(kp)
    assert sent(service) == [("StopInstancesStreaming", "a")]
    assert kp.module.failed["failed_instance_ids"] == ["a"]


def test_check_mode_sends_nothing(service, client, make_kp):
    result = module.run(make_kp(client, params(["a"]), check_mode=True))
    assert service.calls == [] and result["changed"] and "device_token" not in result["sessions"][0]


def test_ids_are_checked():
    with pytest.raises(InvalidOption):
        module.validate({"instance_ids": ["x" * 33]})
    with pytest.raises(InvalidOption):
        module.validate({"instance_ids": []})
