"""koophone_stream_session end to end: tokens, stop and release, and no token in a -vvvv run's output."""

import json
import os
import re

import pytest
from harness import api_requests


def _setup(emulator):
    fleet = emulator.instances()
    ids = [fleet[0]["instance_id"], fleet[1]["instance_id"]]
    stopped_id = fleet[2]["instance_id"]
    emulator.patch_instance(stopped_id, running_status=1)
    return ids, stopped_id


def test_tokens_stop_and_release(run_playbook, emulator):
    ids, stopped_id = _setup(emulator)
    run_playbook("stream_session.yml", extra_vars={"ids": ids, "stopped_id": stopped_id})
    operations = [entry["operation"] for entry in api_requests(emulator) if entry["operation"] != "ListInstances"]
    # Check mode sent nothing; 2 tokens, then 2 more attempts (one refused), 2 stops, 2 x (stop + release).
    assert operations.count("ExecuteInstanceAuthToken") == 4
    assert operations.count("StopInstancesStreaming") == 4
    assert operations.count("StopInstancesSession") == 2
    for item in emulator.instances(ids):
        assert item["streaming"] is False and item["session"] is False


@pytest.mark.parametrize("task_no_log", [True, False], ids=["no_log", "without-no_log"])
def test_the_device_token_does_not_appear_at_vvvv(run_playbook, emulator, tmp_path, task_no_log):
    ids, stopped_id = _setup(emulator)
    log_path = os.path.join(str(tmp_path), "ansible.log")
    run = run_playbook(
        "stream_session.yml",
        extra_vars={"ids": ids, "stopped_id": stopped_id, "task_no_log": task_no_log},
        args=["-vvvv"],
        env={"ANSIBLE_LOG_PATH": log_path},
    )
    with open(os.path.join(str(tmp_path), "tokens.json")) as handle:
        tokens = json.load(handle)
    assert len(tokens) == 2 and all(re.match("^[0-9a-f]{32}$", token) for token in tokens)
    with open(log_path) as handle:
        logged = handle.read()
    output = run.stdout + run.stderr
    assert "ESTABLISH LOCAL CONNECTION" in output  # the run really was at -vvvv
    assert "censored" in output and "censored" in logged
    for token in tokens:
        assert token not in output, "a device_token leaked into the -vvvv output"
        assert token not in logged, "a device_token leaked into the Ansible log"
