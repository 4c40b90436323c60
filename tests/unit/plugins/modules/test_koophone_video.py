"""koophone_video: validation naming the field, the ergonomic form, the request shape, and the record."""

import json
import os
import stat

import fake_kp
import pytest

from ansible_collections.koophone.cloud.plugins.module_utils import _video as video
from ansible_collections.koophone.cloud.plugins.module_utils._client import ChunkResult
from ansible_collections.koophone.cloud.plugins.module_utils._errors import InvalidOption, KooPhoneError
from ansible_collections.koophone.cloud.plugins.modules import koophone_video as module

SPEC = {"code_rate": 2000, "fps": 30}
UHD = {"code_rate": 8000, "fps": 60}


def raw(**changes):
    """The six combinations; ``changes`` maps 'NETWORK/CODEC' to replacement fields."""
    entries = []
    for network, encoding in video.COMBINATIONS:
        entry = {
            "network_type": network,
            "encoding_type": encoding,
            "definition_540p": dict(SPEC),
            "definition_720p": dict(SPEC),
            "definition_1080p": dict(UHD),
        }
        entry.update(changes.get("%s/%s" % (network, encoding), {}))
        entries.append(entry)
    return entries


def defaults_form():
    return {"definition_540p": dict(SPEC), "definition_720p": dict(SPEC), "definition_1080p": dict(UHD)}


def expand(**params):
    base = {"settings": None, "defaults": None, "overrides": None}
    base.update(params)
    return video.expand(base)


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "settings,field,words",
    [
        (raw()[:5], "settings", "network_type=WIRED, encoding_type=H265"),
        (raw() + [raw()[1]], "settings[6]", "settings[1]"),
        (
            raw(**{"WIFI/H264": {"definition_540p": {"code_rate": 150, "fps": 30}}}),
            "settings[0].definition_540p.code_rate",
            "multiple of 100",
        ),
        (
            raw(**{"WIFI/H265": {"definition_720p": {"code_rate": 20000, "fps": 30}}}),
            "settings[1].definition_720p.code_rate",
            "10000",
        ),
        (
            raw(**{"WIRED/H264": {"definition_1080p": {"code_rate": 0, "fps": 30}}}),
            "settings[4].definition_1080p.code_rate",
            "100",
        ),
        (
            raw(**{"WIRED/H265": {"definition_1080p": {"code_rate": 1000, "fps": 45}}}),
            "settings[5].definition_1080p.fps",
            "30 or 60",
        ),
        (raw(**{"WIFI/H264": {"definition_1080p": None}}), "settings[0].definition_1080p", "required"),
        (
            raw(**{"WIFI/H264": {"definition_720p": {"code_rate": None, "fps": 30}}}),
            "settings[0].definition_720p.code_rate",
            "required",
        ),
        (raw(**{"WIFI/H264": {"network_type": "LTE"}}), "settings[0].network_type", "WIFI"),
        (raw(**{"WIFI/H264": {"encoding_type": None}}), "settings[0].encoding_type", "H264"),
        ([], "settings", "six"),
    ],
)
def test_bad_raw_settings_name_the_field(settings, field, words):
    with pytest.raises(InvalidOption) as caught:
        expand(settings=settings)
    assert caught.value.option == field
    assert words in str(caught.value)


@pytest.mark.parametrize(
    "defaults,overrides,field",
    [
        ({"definition_720p": SPEC, "definition_1080p": UHD}, None, "defaults.definition_540p"),
        (
            defaults_form(),
            [{"network_type": "WIFI", "definition_1080p": {"code_rate": 150, "fps": None}}],
            "overrides[0].definition_1080p.code_rate",
        ),
        (
            defaults_form(),
            [{"encoding_type": "H265", "definition_540p": {"code_rate": None, "fps": 24}}],
            "overrides[0].definition_540p.fps",
        ),
        (defaults_form(), [{"network_type": "WIFI"}], "overrides[0]"),
        (
            defaults_form(),
            [{"network_type": "WIFI", "definition_540p": {"code_rate": None, "fps": None}}],
            "overrides[0]",
        ),
    ],
)
def test_bad_ergonomic_settings_name_the_field(defaults, overrides, field):
    with pytest.raises(InvalidOption) as caught:
        expand(defaults=defaults, overrides=overrides)
    assert caught.value.option == field


def test_instance_ids_are_checked():
    with pytest.raises(InvalidOption) as caught:
        module.validate({"instance_ids": ["x" * 33], "settings": raw(), "defaults": None, "overrides": None})
    assert caught.value.option == "instance_ids"


# ---------------------------------------------------------------- expansion and shapes


def test_overrides_apply_in_order_to_the_matching_combinations():
    combos = expand(
        defaults=defaults_form(),
        overrides=[
            {"network_type": "MOBILE_NETWORK", "definition_1080p": {"code_rate": 4000, "fps": None}},
            {"encoding_type": "H265", "definition_1080p": {"code_rate": None, "fps": 30}},
            {"network_type": "MOBILE_NETWORK", "encoding_type": "H265", "definition_540p": {"code_rate": 500}},
        ],
    )
    assert combos[("WIFI", "H264")]["definition_1080p"] == UHD
    assert combos[("MOBILE_NETWORK", "H264")]["definition_1080p"] == {"code_rate": 4000, "fps": 60}
    assert combos[("WIRED", "H265")]["definition_1080p"] == {"code_rate": 8000, "fps": 30}
    assert combos[("MOBILE_NETWORK", "H265")]["definition_1080p"] == {"code_rate": 4000, "fps": 30}
    assert combos[("MOBILE_NETWORK", "H265")]["definition_540p"] == {"code_rate": 500, "fps": 30}
    assert combos[("MOBILE_NETWORK", "H264")]["definition_540p"] == SPEC


def test_both_forms_of_the_same_settings_have_one_fingerprint_whatever_the_order():
    shuffled = list(reversed(raw()))
    assert video.fingerprint(expand(settings=shuffled)) == video.fingerprint(expand(defaults=defaults_form()))
    changed = raw(**{"WIRED/H264": {"definition_540p": {"code_rate": 2100, "fps": 30}}})
    assert video.fingerprint(expand(settings=changed)) != video.fingerprint(expand(settings=raw()))


def test_the_request_has_all_six_combinations_with_the_api_spelling():
    body = video.api_settings(expand(settings=raw()))
    assert [(s["network_type"], s["encoding_type"]) for s in body] == list(video.COMBINATIONS)
    assert body[0]["video_spec_groups"] == [{"definition_540P": SPEC, "definition_720P": SPEC, "definition_1080P": UHD}]


def test_summary_lines():
    lines = video.summary(video.as_list(expand(settings=raw())))
    assert lines["WIRED/H265"] == "540p 2000 kbit/s 30 fps, 720p 2000 kbit/s 30 fps, 1080p 8000 kbit/s 60 fps"


# ---------------------------------------------------------------- the record


def test_record_round_trip_is_private_and_per_endpoint(tmp_path):
    path = str(tmp_path / "sub" / "record.json")
    combos = expand(settings=raw())
    first = video.Record(path, "http://127.0.0.1:1/")
    first.store(["a", "b"], video.fingerprint(combos), video.as_list(combos))
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    found = video.Record(path, "http://127.0.0.1:1").lookup(["a", "b", "c"])
    assert sorted(found) == ["a", "b"] and found["a"][0] == video.fingerprint(combos)
    assert found["a"][1] == video.as_list(combos)
    assert video.Record(path, "https://koophone.example.com").lookup(["a"]) == {}


def test_reading_the_record_writes_nothing(tmp_path):
    # Check mode only reads the record: no directory, lock file or record may appear.
    path = tmp_path / "missing-dir" / "record.json"
    assert video.Record(str(path), "http://127.0.0.1:1").lookup(["a"]) == {}
    assert list(tmp_path.iterdir()) == []


def test_superseded_settings_are_dropped(tmp_path):
    path = str(tmp_path / "record.json")
    record = video.Record(path, "e")
    old, new = (
        expand(settings=raw()),
        expand(settings=raw(**{"WIFI/H264": {"definition_540p": {"code_rate": 100, "fps": 30}}})),
    )
    record.store(["a"], video.fingerprint(old), video.as_list(old))
    record.store(["a"], video.fingerprint(new), video.as_list(new))
    with open(path) as handle:
        assert list(json.load(handle)["settings"]) == [video.fingerprint(new)]


def test_an_unreadable_record_is_ignored_with_a_warning(tmp_path):
    path = tmp_path / "record.json"
    path.write_text("{not json")
    record = video.Record(str(path), "e")
    assert record.lookup(["a"]) == {}
    assert "unreadable" in record.warnings[0]


def test_no_record(tmp_path):
    record = video.Record("none", "e")
    record.store(["a"], "f", [])
    assert record.lookup(["a"]) == {} and not os.path.exists("none")


# ---------------------------------------------------------------- the module run


class FakeClient:
    endpoint = "http://emulator"

    def __init__(self, refuse=()):
        self.sent = []
        self.refuse = set(refuse)

    def call_batched(self, operation_name, ids, make_body, chunk_size=None):
        results = []
        for start in range(0, len(ids), 100):
            chunk = list(ids[start : start + 100])
            self.sent.append((operation_name, make_body(chunk)))
            if self.refuse & set(chunk):
                error = KooPhoneError(
                    "no permission", operation=operation_name, status=400, error_code="KOOPHONE.API.1001"
                )
                results.append(ChunkResult(chunk, None, error))
            else:
                results.append(ChunkResult(chunk, {"error_code": "0"}, None))
        return results


class FakeKp(fake_kp.FakeKp):
    def __init__(self, client, ids, record_file, check_mode=False, force=False):
        super().__init__(client, {"instance_ids": ids, "record_file": record_file, "force": force}, check_mode)


def test_second_run_sends_nothing_and_force_sends_again(tmp_path):
    path = str(tmp_path / "record.json")
    ids = ["id%03d" % n for n in range(150)]
    combos = expand(settings=raw())
    client = FakeClient()
    check = module.run_with(combos)(FakeKp(client, ids, path, check_mode=True))
    assert check["changed"] and client.sent == [] and not os.path.exists(path)
    first = module.run_with(combos)(FakeKp(client, ids, path))
    assert first["changed_instance_ids"] == ids and len(client.sent) == 2
    assert client.sent[0][1]["instance_settings"] == video.api_settings(combos)
    second = module.run_with(combos)(FakeKp(client, ids, path))
    assert not second["changed"] and second["unchanged_instance_ids"] == ids and len(client.sent) == 2
    forced = module.run_with(combos)(FakeKp(client, ids, path, force=True))
    assert forced["changed"] and len(client.sent) == 4
    assert forced["diff"]["before"]["settings"] == forced["diff"]["after"]["settings"]
    assert forced["diff"]["after"]["instance_ids"] == ids


def test_the_diff_groups_instances_by_their_recorded_settings():
    old = video.as_list(expand(settings=raw()))
    known = {"a": ("f1", old), "b": ("f1", old)}
    new = video.as_list(expand(settings=raw(**{"WIFI/H264": {"definition_540p": {"code_rate": 100, "fps": 30}}})))
    shared = module.diff_of(["a", "b"], known, new)
    assert shared["before"] == {"instance_ids": ["a", "b"], "settings": video.summary(old)}
    assert shared["after"] == {"instance_ids": ["a", "b"], "settings": video.summary(new)}
    mixed = module.diff_of(["a", "c"], known, new)
    assert mixed["before"]["settings"] is None
    assert mixed["before"]["recorded"] == [
        {"instance_ids": ["a"], "settings": video.summary(old)},
        {"instance_ids": ["c"], "settings": None},
    ]


def test_a_refused_chunk_fails_naming_its_instances_and_is_not_recorded(tmp_path):
    path = str(tmp_path / "record.json")
    ids = ["id%03d" % n for n in range(150)]
    combos = expand(settings=raw())
    kp = FakeKp(FakeClient(refuse=["id120"]), ids, path)
    with pytest.raises(fake_kp.ModuleExit):
        module.run_with(combos)(kp)
    assert kp.module.failed["failed_instance_ids"] == ids[100:]
    assert "failed on 50 of 150" in kp.module.failed["msg"] and "KOOPHONE.API.1001" in kp.module.failed["msg"]
    assert sorted(video.Record(path, FakeClient.endpoint).lookup(ids)) == ids[:100]
