"""koophone_video end to end: raw and ergonomic forms, the record that makes a second run unchanged, validation."""

import json
import os

from harness import api_requests

# What video_apply.yml applies last (its "wired" override), as the emulator stores it.
HD, FHD, UHD = {"code_rate": 2000, "fps": 30}, {"code_rate": 4000, "fps": 30}, {"code_rate": 8000, "fps": 60}
H265_720, MOBILE_1080 = {"code_rate": 3000, "fps": 30}, {"code_rate": 4000, "fps": 30}
WIRED_1080 = {"code_rate": 10000, "fps": 60}


def _expected_last():
    stored = []
    for network in ("WIFI", "MOBILE_NETWORK", "WIRED"):
        for encoding in ("H264", "H265"):
            p720 = H265_720 if encoding == "H265" else FHD
            p1080 = {"MOBILE_NETWORK": MOBILE_1080, "WIRED": WIRED_1080}.get(network, UHD)
            group = {"definition_540P": HD, "definition_720P": p720, "definition_1080P": p1080}
            stored.append({"network_type": network, "encoding_type": encoding, "video_spec_groups": [group]})
    return stored


def test_settings_apply_and_the_second_run_sends_nothing(run_playbook, emulator, tmp_path):
    emulator.reset(instances=120, seed=3)
    emulator.clear_log()
    ids = [item["instance_id"] for item in emulator.instances()]
    run_playbook("video_apply.yml", extra_vars={"ids": ids})
    sets = [entry for entry in api_requests(emulator) if entry["operation"] == "SetVideo"]
    # Two chunks (100 + 20) for each of: apply, the change, force. Nothing in check mode, on the
    # repeat or for the same settings in the other form.
    assert sorted(len(entry["instance_ids"]) for entry in sets) == [20, 20, 20, 100, 100, 100]
    assert all(entry["status"] == 200 for entry in sets)
    expected = _expected_last()
    for item in emulator.instances([ids[0], ids[-1]]):
        assert item["video_settings"] == expected
    with open(os.path.join(str(tmp_path), "video-record.json")) as handle:
        record = json.load(handle)
    assert len(record["instances"]) == 120 and len(record["settings"]) == 1  # superseded settings are dropped
    assert oct(os.stat(os.path.join(str(tmp_path), "video-record.json")).st_mode & 0o777) == "0o600"


def test_invalid_settings_fail_naming_the_field_and_send_nothing(run_playbook, emulator):
    run_playbook("video_invalid.yml")
    assert api_requests(emulator) == []


def test_a_failed_chunk_names_its_instances_and_is_not_recorded(run_playbook, emulator):
    emulator.reset(instances=150, seed=3)
    ids = [item["instance_id"] for item in emulator.instances()]
    ids[120] = "GONE0001"  # the second chunk holds an instance that is not the tenant's: refused whole (1001)
    emulator.clear_log()
    good = ids[:120] + ids[121:]
    run_playbook("video_partial.yml", extra_vars={"ids": ids, "good": good, "bad": ["GONE0001"]})
    sets = [entry for entry in api_requests(emulator) if entry["operation"] == "SetVideo"]
    # First run: two chunks, the second refused (1001, with HTTP 401, or 400 under the lenient reading;
    # no IAM re-login), then sent once more without the foreign id. Second run: only the foreign id is
    # sent again, and refused again.
    # The first two chunks run concurrently, in either order.
    refused = emulator.config()["permission_status"]  # 401 (strict reading) or 400 (lenient)
    assert sorted((len(e["instance_ids"]), e["status"]) for e in sets[:2]) == [(50, refused), (100, 200)]
    assert [(len(e["instance_ids"]), e["status"]) for e in sets[2:]] == [(49, 200), (1, refused)]
    assert not [entry for entry in api_requests(emulator) if entry["operation"] == "KeystoneCreateUserTokenByPassword"]
