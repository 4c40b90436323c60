"""The foundation end to end: auth modes, faults, validation and secrets, through real ansible-playbook runs."""

import glob
import json
import os

import pytest
from harness import AKSK, IAM_USER, TOKEN, api_requests


def _paths(requests):
    return [entry["path"] for entry in requests]


@pytest.mark.parametrize(
    "mode,credentials,expected_auth",
    [
        ("token", TOKEN, "token"),
        ("iam", IAM_USER, "iam-token"),
        ("aksk", AKSK, "aksk"),
    ],
)
def test_each_auth_mode_works(run_playbook, emulator, mode, credentials, expected_auth):
    run_playbook("auth.yml", credentials=credentials, extra_vars={"expected_count": 20})
    sent = api_requests(emulator)
    koophone_calls = [entry for entry in sent if entry["path"].startswith("/v1/")]
    assert {entry["auth"] for entry in koophone_calls} == {expected_auth}
    assert all(entry["status"] == 200 for entry in koophone_calls)
    iam_calls = _paths(sent).count("/v3/auth/tokens")
    # One IAM login for the whole play: the second task reuses the cached token.
    assert iam_calls == (1 if mode == "iam" else 0)


def test_cached_iam_token_survives_across_plays_and_is_renewed_after_expiry(run_playbook, emulator):
    run_playbook("auth.yml", credentials=IAM_USER, extra_vars={"expected_count": 20})
    run_playbook("auth.yml", credentials=IAM_USER, extra_vars={"expected_count": 20})
    assert _paths(api_requests(emulator)).count("/v3/auth/tokens") == 1

    emulator.expire_tokens()
    emulator.clear_log()
    run_playbook("auth.yml", credentials=IAM_USER, extra_vars={"expected_count": 20})
    sent = api_requests(emulator)
    refused = [entry for entry in sent if entry["status"] == 401]
    assert len(refused) == 1 and refused[0]["error_code"] == "KOOPHONE.API.6001"
    assert _paths(sent).count("/v3/auth/tokens") == 1


@pytest.mark.parametrize("round_", [1, 2, 3])
def test_listing_1000_instances_through_faults_is_exact(run_playbook, emulator, round_):
    emulator.reset(instances=1000, seed=round_)
    emulator.configure(rate_5xx=0.1, rate_drop=0.1, rate_429=0.1, retry_after=0, seed=round_)
    emulator.clear_log()
    try:
        run_playbook("faults.yml", extra_vars={"expected_count": 1000})
    finally:
        emulator.configure(rate_5xx=0, rate_drop=0, rate_429=0)
    faults = [entry.get("fault") for entry in api_requests(emulator) if entry.get("fault")]
    assert faults, "the emulator injected no fault: the test proved nothing"


def test_bad_options_fail_naming_the_option_and_send_nothing(run_playbook, emulator):
    run_playbook("bad_options.yml")
    assert api_requests(emulator) == []


def test_no_secret_appears_at_vvvv(run_playbook, emulator, tmp_path):
    secrets = {
        "iam_password": "demo-password",
        "secret_key": AKSK["KOOPHONE_SECRET_KEY"],
        "auth_token": "demo-token",
        "wrong_password": "not-the-password-1234",
    }
    run = run_playbook("secrets.yml", credentials={}, extra_vars=secrets, args=["-vvvv"])
    output = run.stdout + run.stderr
    assert "IAM password login" in output  # the run really happened at this verbosity
    for name, value in secrets.items():
        assert value not in output, "%s leaked into the -vvvv output" % name
    (cache_file,) = glob.glob(os.path.join(str(tmp_path), "tokens", "*.json"))
    with open(cache_file) as handle:
        issued_token = json.load(handle)["token"]
    assert issued_token not in output


def test_instance_info_filters(run_playbook, emulator):
    run_playbook("instance_info.yml")
    sent = api_requests(emulator)
    lookups = [entry for entry in sent if entry["query"].get("instance_id")]
    assert len(lookups) == 3  # two ids and a missing one: one filtered request each
    assert _paths(sent).count("/v1/instances/batch-query-status") == 1


def test_instance_info_reads_paging_fields_at_the_top_level(run_playbook, emulator):
    emulator.configure(paging_fields="top")
    try:
        run_playbook("instance_info.yml")
    finally:
        emulator.configure(paging_fields="data")


def test_sku_info(run_playbook, emulator):
    run_playbook("sku_info.yml")
    assert {entry["query"].get("type") for entry in api_requests(emulator)} == {"0"}
