"""koophone_video: the option checks, and what a run sends and returns (the settings and the record
themselves are tested in module_utils/test_video.py)."""

import os

import pytest

from ansible_collections.koophone.cloud.plugins.module_utils import _video as video
from ansible_collections.koophone.cloud.plugins.module_utils._errors import InvalidOption
from ansible_collections.koophone.cloud.plugins.modules import koophone_video as module

DEFAULTS = {
    "definition_540p": {"code_rate": 2000, "fps": 30},
    "definition_720p": {"code_rate": 2000, "fps": 30},
    "definition_1080p": {"code_rate": 8000, "fps": 60},
}
SLOWER = [{"network_type": "MOBILE_NETWORK", "definition_1080p": {"code_rate": 4000, "fps": None}}]


def params(ids, record_file, force=False, overrides=None):
    return {
        "instance_ids": ids,
        "record_file": record_file,
        "force": force,
        "settings": None,
        "defaults": DEFAULTS,
        "overrides": overrides,
    }


@pytest.fixture
def phones(fleet):
    """150 listed phones id00000..id00149 whose video settings the service accepts (SetVideo)."""
    fleet.add(*range(150), prefix="id")
    fleet.on("SetVideo", {"error_code": "0", "error_msg": "OK"})
    return fleet.ids()


def test_instance_ids_are_checked():
    with pytest.raises(InvalidOption) as caught:
        module.validate(dict(params(["x" * 33], None)))
    assert caught.value.option == "instance_ids"
    with pytest.raises(InvalidOption) as caught:
        module.validate(dict(params([], None)))
    assert caught.value.option == "instance_ids"


def test_validate_returns_the_six_combinations():
    assert sorted(module.validate(params(["a"], None))) == sorted(video.COMBINATIONS)


def test_second_run_sends_nothing_and_force_sends_again(tmp_path, fleet, phones, make_client, make_kp):
    path = str(tmp_path / "record.json")
    client = make_client(fleet)
    combos = video.expand(params(phones, path))
    check = module.run(make_kp(client, params(phones, path), check_mode=True))
    assert check["changed"] and fleet.calls == [] and not os.path.exists(path)
    first = module.run(make_kp(client, params(phones, path)))
    assert first["changed_instance_ids"] == phones and len(fleet.calls_to("SetVideo")) == 2
    assert fleet.bodies("SetVideo")[0]["instance_settings"] == video.api_settings(combos)
    second = module.run(make_kp(client, params(phones, path)))
    assert not second["changed"] and second["unchanged_instance_ids"] == phones and len(fleet.calls) == 2
    forced = module.run(make_kp(client, params(phones, path, force=True)))
    assert forced["changed"] and len(fleet.calls) == 4
    assert forced["diff"]["before"]["settings"] == forced["diff"]["after"]["settings"]
    assert forced["diff"]["after"]["instance_ids"] == phones
    other = module.run(make_kp(client, params(phones, path, overrides=SLOWER)))
    assert other["changed_instance_ids"] == phones and len(fleet.calls) == 6


def test_the_diff_groups_instances_by_their_recorded_settings():
    old = video.as_list(video.expand(params(["a"], None)))
    known = {"a": ("f1", old), "b": ("f1", old)}
    new = video.as_list(video.expand(params(["a"], None, overrides=SLOWER)))
    shared = module.diff_of(["a", "b"], known, new)
    assert shared["before"] == {"instance_ids": ["a", "b"], "settings": video.summary(old)}
    assert shared["after"] == {"instance_ids": ["a", "b"], "settings": video.summary(new)}
    mixed = module.diff_of(["a", "c"], known, new)
    assert mixed["before"]["settings"] is None
    assert mixed["before"]["recorded"] == [
        {"instance_ids": ["a"], "settings": video.summary(old)},
        {"instance_ids": ["c"], "settings": None},
    ]


def refuse_requests_naming(fleet, instance_id):
    """SetVideo is refused (1001) for every request that names ``instance_id``."""

    def set_video(call):
        if instance_id in call.body["instance_ids"]:
            return {"error_code": "KOOPHONE.API.1001", "error_msg": "no permission"}
        return {"error_code": "0"}

    fleet.on("SetVideo", set_video)


def test_a_refused_chunk_fails_naming_its_instances_and_is_not_recorded(tmp_path, fleet, phones, make_client, make_kp):
    path = str(tmp_path / "record.json")
    refuse_requests_naming(fleet, "id00120")  # listed: the listing does not explain the refusal
    kp = make_kp(make_client(fleet), params(phones, path))
    with pytest.raises(SystemExit):
        module.run(kp)
    assert kp.module.failed["failed_instance_ids"] == phones[100:]
    assert "failed on 50 of 150" in kp.module.failed["msg"] and "KOOPHONE.API.1001" in kp.module.failed["msg"]
    assert sorted(video.Record(path, make_client(fleet).endpoint).lookup(phones)) == phones[:100]


def test_a_foreign_id_fails_alone_and_the_rest_of_its_chunk_is_applied(tmp_path, fleet, phones, make_client, make_kp):
    path = str(tmp_path / "record.json")
    refuse_requests_naming(fleet, "stranger")  # not listed: a foreign id
    kp = make_kp(make_client(fleet), params(phones[:5] + ["stranger"], path))
    with pytest.raises(SystemExit):
        module.run(kp)
    failed = kp.module.failed
    assert failed["failed_instance_ids"] == ["stranger"] and failed["changed_instance_ids"] == phones[:5]
    assert "stranger" in failed["results"][5]["msg"]
    assert sorted(video.Record(path, make_client(fleet).endpoint).lookup(phones[:5] + ["stranger"])) == phones[:5]
