"""koophone_stream_session: the answer it extracts, per-instance failures, check mode, and no token in messages."""

import fake_kp
import pytest

from ansible_collections.koophone.cloud.plugins.module_utils._errors import InvalidOption, KooPhoneError
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


class FakeClient:
    def __init__(self, stopped=()):
        self.calls = []
        self.stopped = set(stopped)

    def call(self, operation_name, path_params=None, query=None, body=None):
        instance_id = (path_params or body)["instance_id"]
        self.calls.append((operation_name, instance_id))
        if instance_id in self.stopped:
            raise KooPhoneError(
                "The cloud instance is abnormal.", operation=operation_name, status=200, error_code="KOOPHONE.API.62010"
            )
        if operation_name == "ExecuteInstanceAuthToken":
            return auth_answer(instance_id)
        return {"error_code": "0", "error_msg": "OK"}

    def map_concurrently(self, function, items):
        outcomes = []
        for item in items:
            try:
                outcomes.append((function(item), None))
            except KooPhoneError as error:
                outcomes.append((None, error))
        return outcomes


class FakeKp(fake_kp.FakeKp):
    def __init__(self, client, ids, state="authorized", check_mode=False):
        super().__init__(client, {"instance_ids": ids, "state": state}, check_mode)


def test_the_session_fields_a_streaming_client_needs():
    entry = module.session_of("Q39YyZvl", auth_answer("Q39YyZvl"))
    assert entry["device_token"] == TOKEN
    assert entry["device_id"] == "7b0cd026df8d495b8a65d628d7bec433"
    assert entry["signaling_url"] == "http://100.93.2.248:18082"
    assert entry["streaming_id"] == "81f40c83ddea3ded91c387351e9"
    assert entry["ice_servers"] == [] and entry["resource"]["kp_id"] == "Q39YyZvl"
    # The reference's example has no streamingId: then there is none in the result either.
    assert "streaming_id" not in module.session_of("x", auth_answer("x", with_streaming_id=False))


def test_tokens_for_every_instance_under_sessions_not_results():
    result = module.run(FakeKp(FakeClient(), ["a", "b", "a"]))
    assert [e["instance_id"] for e in result["sessions"]] == ["a", "b"]
    assert "results" not in result  # ansible-core prints a module's "results" even under no_log
    assert result["changed"] and result["failed_instance_ids"] == []


def test_a_refused_instance_fails_the_task_by_name_without_the_tokens_in_the_message():
    kp = FakeKp(FakeClient(stopped=["b"]), ["a", "b"])
    with pytest.raises(fake_kp.ModuleExit):
        module.run(kp)
    failed = kp.module.failed
    assert failed["failed_instance_ids"] == ["b"]
    assert "failed on 1 of 2 instance(s): b:" in failed["msg"] and "KOOPHONE.API.62010" in failed["msg"]
    assert TOKEN not in failed["msg"]
    assert failed["sessions"][0]["device_token"] == TOKEN  # the other instance's session stands


def test_release_stops_the_stream_first():
    client = FakeClient()
    module.run(FakeKp(client, ["a"], state="released"))
    assert client.calls == [("StopInstancesStreaming", "a"), ("StopInstancesSession", "a")]


def test_check_mode_sends_nothing():
    client = FakeClient()
    result = module.run(FakeKp(client, ["a"], check_mode=True))
    assert client.calls == [] and result["changed"] and "device_token" not in result["sessions"][0]


def test_ids_are_checked():
    with pytest.raises(InvalidOption):
        module.validate({"instance_ids": ["x" * 33]})
    with pytest.raises(InvalidOption):
        module.validate({"instance_ids": []})
