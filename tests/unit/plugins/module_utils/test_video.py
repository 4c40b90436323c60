"""_video: validation naming the field, the ergonomic form, the request shape, and the record of what was applied."""

import json
import os
import stat

import pytest

from ansible_collections.koophone.cloud.plugins.module_utils import _video as video
from ansible_collections.koophone.cloud.plugins.module_utils._errors import InvalidOption

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


def applied(record, ids, combos):
    record.store(ids, video.fingerprint(combos), video.as_list(combos))


def test_record_round_trip_is_private_and_per_endpoint(tmp_path):
    path = str(tmp_path / "record.json")
    combos = expand(settings=raw())
    applied(video.Record(path, "http://127.0.0.1:1/"), ["a", "b"], combos)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    found = video.Record(path, "http://127.0.0.1:1").lookup(["a", "b", "c"])
    assert sorted(found) == ["a", "b"] and found["a"][0] == video.fingerprint(combos)
    assert found["a"][1] == video.as_list(combos)
    assert video.Record(path, "https://koophone.example.com").lookup(["a"]) == {}
    with open(path) as handle:
        assert json.load(handle)["koophone.cloud"] == video.RECORD_KIND  # the marker that makes it ours


def test_the_default_record_lives_in_its_own_directory_under_the_cache(tmp_path):
    record = video.Record(None, "e")  # XDG_CACHE_HOME is the test's own (conftest)
    applied(record, ["a"], expand(settings=raw()))
    assert record.path == str(tmp_path / "cache" / "koophone.cloud" / "video-settings.json")
    assert stat.S_IMODE(os.stat(os.path.dirname(record.path)).st_mode) == 0o700
    assert sorted(video.Record(None, "e").lookup(["a"])) == ["a"] and record.warnings == []


def test_a_given_record_path_whose_directory_is_missing_is_a_warning_not_a_directory(tmp_path):
    record = video.Record(str(tmp_path / "missing-dir" / "record.json"), "e")
    applied(record, ["a"], expand(settings=raw()))
    assert list(tmp_path.iterdir()) == []
    assert "was not updated" in record.warnings[0] and "next run will send them again" in record.warnings[0]


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
    applied(record, ["a"], old)
    applied(record, ["a"], new)
    with open(path) as handle:
        assert list(json.load(handle)["settings"]) == [video.fingerprint(new)]


def test_an_unreadable_record_is_ignored_with_a_warning(tmp_path):
    path = tmp_path / "record.json"
    path.write_text("{not json")
    record = video.Record(str(path), "e")
    assert record.lookup(["a"]) == {}
    assert "was not used" in record.warnings[0] and "not JSON" in record.warnings[0]


def test_a_file_that_is_not_a_video_record_is_never_written_over(tmp_path):
    path = tmp_path / "inventory.json"
    path.write_text('{"all": {"hosts": ["web1"]}}')
    record = video.Record(str(path), "e")
    assert record.lookup(["a"]) == {}
    applied(record, ["a"], expand(settings=raw()))
    assert path.read_text() == '{"all": {"hosts": ["web1"]}}'
    assert "not a video-settings record" in record.warnings[-1] and "was not updated" in record.warnings[-1]


def test_a_record_written_before_records_had_the_marker_is_still_read(tmp_path):
    combos = expand(settings=raw())
    print_ = video.fingerprint(combos)
    path = tmp_path / "record.json"
    legacy = {"version": 1, "instances": {"e a": {"fingerprint": print_}}, "settings": {print_: []}}
    path.write_text(json.dumps(legacy))
    assert video.Record(str(path), "e").lookup(["a"]) == {"a": (print_, [])}


def test_no_record(tmp_path):
    record = video.Record("none", "e")
    applied(record, ["a"], expand(settings=raw()))
    assert record.lookup(["a"]) == {} and not os.path.exists("none")
