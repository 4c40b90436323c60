"""_records: JSON record files that carry a marker, are written atomically 0600, and are never written
over another file."""

import json
import os
import stat
import threading

import pytest

from ansible_collections.koophone.cloud.plugins.module_utils import _records as records
from ansible_collections.koophone.cloud.plugins.module_utils._records import JsonRecord, RecordError


def test_a_missing_record_is_none_and_an_empty_file_is_empty(tmp_path):
    record = JsonRecord(str(tmp_path / "r.json"), "things")
    assert not record.exists() and record.load() is None
    (tmp_path / "r.json").write_text("  \n")
    assert record.exists() and record.load() == {}


def test_a_saved_record_carries_the_marker_and_is_private(tmp_path):
    path = tmp_path / "r.json"
    record = JsonRecord(str(path), "things")
    record.save({"orders": [1]})
    assert json.loads(path.read_text()) == {"koophone.cloud": "things", "orders": [1]}
    assert record.load() == {"koophone.cloud": "things", "orders": [1]}
    assert stat.S_IMODE(os.stat(str(path)).st_mode) == 0o600
    record.save({"orders": []})
    assert record.load()["orders"] == [] and sorted(os.listdir(str(tmp_path))) == ["r.json"]  # no temp file left


@pytest.mark.parametrize(
    "text,words",
    [
        ("{not json", "is not JSON"),
        ('["a list"]', "is not a things record"),
        ('{"all": {"hosts": []}}', "is not a things record"),
        ('{"koophone.cloud": "other-things"}', "is not a things record"),
    ],
)
def test_a_file_that_is_not_our_record_is_refused_and_never_written_over(tmp_path, text, words):
    path = tmp_path / "r.json"
    path.write_text(text)
    record = JsonRecord(str(path), "things")
    with pytest.raises(RecordError, match=words):
        record.load()
    with pytest.raises(RecordError):
        record.save({"orders": []})
    assert path.read_text() == text


def test_a_record_without_the_marker_is_read_when_the_kind_knows_its_old_shape(tmp_path):
    path = tmp_path / "r.json"
    path.write_text('{"version": 1, "instances": {}}')
    legacy = JsonRecord(str(path), "things", legacy=lambda data: data.get("version") == 1)
    assert legacy.load() == {"version": 1, "instances": {}}
    with pytest.raises(RecordError):
        JsonRecord(str(path), "things").load()
    path.write_text('{"koophone.cloud": "other", "version": 1}')  # another kind's marker: never legacy
    with pytest.raises(RecordError):
        legacy.load()


def test_special_files_are_refused(tmp_path):
    fifo = str(tmp_path / "fifo")
    os.mkfifo(fifo)
    for path in (fifo, str(tmp_path)):
        record = JsonRecord(path, "things")
        with pytest.raises(RecordError, match="not a regular file"):
            record.load()
        with pytest.raises(RecordError, match="not a regular file"):
            record.save({})
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_a_link_to_a_special_file_or_to_nothing_is_refused(tmp_path):
    to_device = tmp_path / "null.json"
    to_device.symlink_to("/dev/null")
    with pytest.raises(RecordError, match="not a regular file"):
        JsonRecord(str(to_device), "things").save({})
    dangling = tmp_path / "dangling.json"
    dangling.symlink_to(tmp_path / "nowhere")
    with pytest.raises(RecordError, match="cannot be read"):
        JsonRecord(str(dangling), "things").load()


def test_a_record_in_a_missing_directory_cannot_be_written(tmp_path):
    record = JsonRecord(str(tmp_path / "missing" / "r.json"), "things")
    with pytest.raises(RecordError, match="directory"):
        record.save({})
    assert list(tmp_path.iterdir()) == []


def test_an_unreadable_record_says_so(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root reads any file")
    path = tmp_path / "r.json"
    path.write_text("{}")
    path.chmod(0)
    with pytest.raises(RecordError, match="cannot be read"):
        JsonRecord(str(path), "things").load()


def test_the_lock_serialises_read_change_save(tmp_path):
    record = JsonRecord(str(tmp_path / "r.json"), "counter")
    record.save({"n": 0})

    def bump():
        for _round in range(20):
            with record.locked():
                data = record.load()
                record.save({"n": data["n"] + 1})

    workers = [threading.Thread(target=bump) for _n in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert record.load()["n"] == 80


def test_default_paths_live_under_the_cache_home(tmp_path):
    assert records.default_path("x.json") == str(tmp_path / "cache" / "koophone.cloud" / "x.json")
