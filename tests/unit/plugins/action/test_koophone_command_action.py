"""The koophone_command action plugin: when progress lines are shown (Pacer), the private progress file and
the thread that reads it (ProgressWatcher), and the module's environment (the file's path, never a stray value)."""

import os
import stat
import time
import types

import pytest

from ansible_collections.koophone.cloud.plugins.action import koophone_command as action
from ansible_collections.koophone.cloud.plugins.module_utils import _commands as commands


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def snapshot(phase="waiting", sent=10, **counts):
    return {"phase": phase, "elapsed": 0.0, "phones": 1000, "chunks": 10, "sent": sent, "counts": counts}


def pacer(verbosity):
    clock, shown = FakeClock(), []
    return action.Pacer(shown.append, verbosity, clock), clock, shown


def test_with_v_every_change_is_shown_and_an_unchanged_state_only_as_a_heartbeat():
    paced, clock, shown = pacer(1)
    paced.tick()  # nothing offered yet
    paced.offer(snapshot("started", sent=3))
    paced.tick()
    paced.offer(snapshot("started", sent=8))
    paced.tick()
    paced.tick()  # the same again: not repeated
    clock.now += 10
    paced.offer(snapshot(running=1000))
    paced.tick()
    clock.now += 5
    paced.offer(snapshot(running=1000))  # a poll round that changed nothing
    paced.tick()
    clock.now += action.HEARTBEAT
    paced.tick()
    assert [(s["phase"], s["sent"], s["counts"]) for s in shown] == [
        ("started", 3, {}),
        ("started", 8, {}),
        ("waiting", 10, {"running": 1000}),
        ("waiting", 10, {"running": 1000}),  # the heartbeat
    ]
    assert paced.shown == 4


def test_at_the_default_verbosity_a_short_run_shows_nothing_and_a_long_one_a_line_every_few_seconds():
    paced, clock, shown = pacer(0)
    paced.offer(snapshot("started", sent=10))
    paced.tick()
    clock.now += action.QUIET_SECONDS - 0.5
    paced.offer(snapshot(running=1000))
    paced.tick()
    assert shown == []  # a run that ends now was silent
    clock.now += 0.5
    paced.tick()
    assert len(shown) == 1
    for _second in range(4):  # a change every second: shown at most every DEFAULT_EVERY seconds
        clock.now += 1
        paced.offer(snapshot(running=900 - len(shown), succeeded=100 + len(shown)))
        paced.tick()
    assert len(shown) == 1
    clock.now += 1
    paced.offer(snapshot(running=800, succeeded=200))
    paced.tick()
    assert len(shown) == 2 and shown[-1]["counts"] == {"running": 800, "succeeded": 200}
    clock.now += action.DEFAULT_EVERY  # nothing changed: no line until the heartbeat
    paced.tick()
    assert len(shown) == 2
    clock.now += action.HEARTBEAT
    paced.tick()
    assert len(shown) == 3


@pytest.mark.parametrize("verbosity", [0, 1])
def test_the_final_snapshot_is_left_to_the_summary(verbosity):
    paced, clock, shown = pacer(verbosity)
    clock.now += 60
    paced.offer(snapshot("done", succeeded=1000))
    paced.tick()
    assert shown == []


def test_the_watcher_keeps_its_file_private_shows_what_the_module_writes_and_cleans_up(monkeypatch):
    monkeypatch.setattr(action, "POLL_SECONDS", 0.01)
    shown = []
    watcher = action.ProgressWatcher(shown.append, verbosity=1)
    assert stat.S_IMODE(os.stat(watcher.directory).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(watcher.path).st_mode) == 0o600
    assert os.path.getsize(watcher.path) == 0
    watcher.start()
    # What the module does: open the file the environment names, append snapshots.
    progress = commands.Progress(watcher.path)
    assert progress.enabled
    run = commands.CommandRun(["a", "b"], asynchronous=True)
    progress.start(run, 1)
    deadline = time.time() + 5
    while not shown and time.time() < deadline:
        time.sleep(0.01)
    progress.report(run, commands.DONE, force=True)
    progress.close()
    watcher.stop()
    assert shown and shown[0]["phase"] == "started" and shown[0]["phones"] == 2
    assert not os.path.exists(watcher.directory)


def fake_action(environment, progress_path=None):
    plugin = action.ActionModule.__new__(action.ActionModule)
    plugin._task = types.SimpleNamespace(environment=environment)
    plugin._templar = types.SimpleNamespace(template=lambda value: value)
    shell = types.SimpleNamespace(env_prefix=lambda **env: " ".join("%s=%s" % item for item in sorted(env.items())))
    plugin._connection = types.SimpleNamespace(_shell=shell)
    if progress_path is not None:
        plugin._progress_path = progress_path
    return plugin


def test_the_module_environment_names_the_progress_file_and_keeps_the_tasks_own():
    raw = {}
    prefix = fake_action([{"LANG": "C"}], "/tmp/koophone-progress-x/progress.jsonl")._compute_environment_string(raw)
    assert raw == {"LANG": "C", commands.PROGRESS_ENV: "/tmp/koophone-progress-x/progress.jsonl"}
    assert prefix == "LANG=C _KOOPHONE_PROGRESS_FILE=/tmp/koophone-progress-x/progress.jsonl"


def test_without_a_progress_file_the_variable_is_empty_so_a_stray_value_is_never_used(monkeypatch):
    monkeypatch.setenv(commands.PROGRESS_ENV, "/somewhere/else")
    raw = {}
    fake_action(None)._compute_environment_string(raw)
    assert raw == {commands.PROGRESS_ENV: ""}


def test_two_snapshots_that_read_the_same_are_one_line():
    clock, shown = FakeClock(), []
    paced = action.Pacer(shown.append, 1, clock, key=lambda s: commands.describe_progress(s, True, 0.0))
    paced.offer(snapshot("answered", submitted=1000))
    paced.tick()
    paced.offer(snapshot(running=1000))  # running, not submitted: still "0 done, 1000 pending"
    paced.tick()
    paced.offer(snapshot(running=600, succeeded=400))
    paced.tick()
    assert [s["counts"] for s in shown] == [{"submitted": 1000}, {"running": 600, "succeeded": 400}]
