"""koophone_command and koophone_task_info end to end: real ansible-playbook runs against the emulator.

The playbooks assert the module results; these tests check what the emulator's request log and
state prove: how many requests were sent, that every job maps to the right instance, that check
mode and bad options send nothing, and that no command is ever submitted twice to an instance.
"""

import collections
import glob
import json
import os
import random
import stat
import threading

import pytest
from harness import IAM_USER, api_requests

SUBMIT = "AsyncInvokeInstance"
# Faults after which the request may have been applied (lost) or provably was not but the client
# cannot know it (5xx, drop): none of them may be followed by another submission to those instances.
MAYBE_APPLIED = ("5xx", "drop", "lost")


def calls(emulator, operation):
    return [entry for entry in api_requests(emulator) if entry["operation"] == operation]


def fleet_ids(emulator, count, seed=7):
    emulator.reset(instances=count, seed=1)
    emulator.clear_log()
    ids = [item["instance_id"] for item in emulator.instances()]
    random.Random(seed).shuffle(ids)  # request order differs from the fleet's order
    return ids


def applied(entry):
    """The emulator ran this submission: it answered 200 / "0", or applied it and then dropped the answer."""
    return entry["status"] == 200 and entry["error_code"] == "0" and entry["fault"] in (None, "lost")


def test_sync_and_async_on_250_ids_map_every_result_to_its_instance(run_playbook, emulator):
    ids = fleet_ids(emulator, 250)
    run = run_playbook("command_fleet.yml", extra_vars={"ids": ids})

    syncs = calls(emulator, "SyncInvokeInstance")
    submits = calls(emulator, SUBMIT)
    assert len(submits) == 3  # 100 + 100 + 50, one request each
    assert len(syncs) == 4  # three chunks + the two-instance "ls -l /system"
    for sent in (syncs[:3], submits):
        assert sorted(len(entry["instance_ids"]) for entry in sent) == [50, 100, 100]
        assert sorted(i for entry in sent for i in entry["instance_ids"]) == sorted(ids)
    # Polls: one tasks/{task_id} per chunk per round, never more per round than there are chunks.
    polls = calls(emulator, "ExecuteJob")
    assert polls and len(polls) % 3 == 0 and len(polls) <= 3 * 4

    # Each result's job is, in the emulator's own books, that instance's job.
    result = run.result("async_run")
    job_instance = {}
    for task_id in result["task_ids"]:
        for job in emulator.task(task_id)["jobs"]:
            job_instance[job["job_id"]] = job["instance_id"]
    assert {entry["job_id"]: entry["instance_id"] for entry in result["results"]} == job_instance


def test_check_mode_sends_no_request(run_playbook, emulator):
    ids = fleet_ids(emulator, 20)
    run_playbook("command_check_mode.yml", extra_vars={"ids": ids})
    assert api_requests(emulator) == []


def test_bad_options_fail_naming_the_option_and_send_nothing(run_playbook, emulator):
    run_playbook("command_bad_options.yml")
    assert api_requests(emulator) == []


def test_good_unknown_and_stopped_instances_fail_per_instance(run_playbook, emulator):
    ids = fleet_ids(emulator, 120)
    stopped = ids[10:15]
    for instance_id in stopped:
        emulator.patch_instance(instance_id, running_status=1)
    unknown = ["NoSuch%02d" % n for n in range(5)]
    requested = ids[:50] + unknown[:2] + ids[50:] + unknown[2:]
    good = [instance_id for instance_id in ids if instance_id not in stopped]
    run_playbook(
        "command_mixed.yml", extra_vars={"ids": requested, "unknown": unknown, "stopped": stopped, "good": good}
    )
    # Two chunks (100 + 25) per run of the whole list, none refused whole: failures are per instance.
    submits = calls(emulator, SUBMIT)
    syncs = calls(emulator, "SyncInvokeInstance")
    assert sorted(len(entry["instance_ids"]) for entry in submits) == [2, 25, 25, 100, 100]
    assert sorted(len(entry["instance_ids"]) for entry in syncs) == [25, 100]
    assert all(entry["status"] == 200 and entry["error_code"] == "0" for entry in submits + syncs)


def test_wait_timeout_names_the_pending_instances(run_playbook, emulator):
    ids = fleet_ids(emulator, 30)
    emulator.configure(task_seconds=60)
    try:
        run_playbook("command_timeout.yml", extra_vars={"ids": ids})
    finally:
        emulator.configure(task_seconds=0.5)
    assert len(calls(emulator, SUBMIT)) == 1


def test_fire_and_forget_then_task_info(run_playbook, emulator):
    ids = fleet_ids(emulator, 150)
    run_playbook("command_fire_and_forget.yml", extra_vars={"ids": ids})
    assert len(calls(emulator, SUBMIT)) == 2


def test_the_whole_inventory_in_one_module_call(run_playbook, emulator, tmp_path):
    """A play over inventory hosts: one command for all, then each host reads its own phone's result
    (koophone.cloud.result_for); two hosts name phones that do not exist and fail on their own."""
    ids = fleet_ids(emulator, 25)
    phones = ids + ["NoSuch01", "NoSuch02"]
    lines = ["phones:", "  hosts:"]
    lines += [
        "    phone-%02d: {koophone_instance_id: %s}" % (number, instance_id)
        for number, instance_id in enumerate(phones)
    ]
    lines += ["  vars:", "    ansible_connection: local"]
    inventory = tmp_path / "phones.yml"
    inventory.write_text("\n".join(lines) + "\n")
    run_playbook("command_inventory.yml", args=["-i", str(inventory)])
    (submit,) = calls(emulator, SUBMIT)
    assert sorted(submit["instance_ids"]) == sorted(phones)
    per_host = json.loads((tmp_path / "per_host.json").read_text())
    expected = dict(("phone-%02d" % number, instance_id) for number, instance_id in enumerate(ids))
    expected.update({"phone-25": "", "phone-26": ""})
    assert per_host == expected


@pytest.mark.parametrize("seed", [3, 11])
def test_1000_instances_through_faults_one_result_each_never_submitted_twice(run_playbook, emulator, seed):
    ids = fleet_ids(emulator, 1000, seed=seed)
    emulator.configure(
        seed=seed,
        rate_5xx=0.05,
        rate_drop=0.05,
        rate_lost=0.05,
        rate_429=0.1,
        retry_after=0,
        # Whatever the random draws, the first submissions meet each kind of fault.
        script=[
            {"operation": SUBMIT, "fault": "429", "times": 2},
            {"operation": SUBMIT, "fault": "lost", "times": 1},
            {"operation": SUBMIT, "fault": "drop", "times": 1},
            {"operation": SUBMIT, "fault": "5xx", "times": 1},
        ],
    )
    try:
        run = run_playbook("command_faults.yml", extra_vars={"ids": ids})
    finally:
        emulator.configure(rate_5xx=0, rate_drop=0, rate_lost=0, rate_429=0, script=[])

    submits = calls(emulator, SUBMIT)
    assert {"429", "lost", "drop", "5xx"} <= {entry["fault"] for entry in submits}

    # The emulator applied at most one submission per instance ...
    applied_per_instance = collections.Counter(i for entry in submits if applied(entry) for i in entry["instance_ids"])
    assert max(applied_per_instance.values()) == 1
    # ... and only a throttled (429, provably not applied) submission was ever sent again.
    history = collections.defaultdict(list)
    for entry in submits:
        for instance_id in entry["instance_ids"]:
            history[instance_id].append(entry)
    assert set(history) == set(ids)
    for instance_id, entries in history.items():
        assert all(entry["status"] == 429 for entry in entries[:-1]), instance_id
    # At most 10 chunks, plus the throttled repeats.
    assert len([entry for entry in submits if entry["status"] != 429]) == 10

    # One result per instance; "unknown" exactly where the last submission's answer never arrived.
    results = run.result("faulty")["results"]
    assert [entry["instance_id"] for entry in results] == ids
    unknown = {entry["instance_id"] for entry in results if entry["status_name"] == "unknown"}
    unanswered = {i for i, entries in history.items() if entries[-1]["fault"] in MAYBE_APPLIED}
    assert unknown == unanswered and unknown
    for entry in results:
        if entry["instance_id"] in unknown:
            assert entry["failed"] and "unknown whether the command ran" in entry["error_msg"]
        else:
            assert not entry["failed"] and entry["stdout"] == entry["instance_id"]


class ProgressFiles:
    """Watches a private TMPDIR while a playbook runs: the progress directories and files the action plugin
    creates there, their modes and everything ever written to them."""

    def __init__(self, root):
        self.root = root
        self.seen = {}  # path -> (directory mode, file mode, last content)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self):
        while not self.stopping.wait(0.05):
            for directory in self.root.glob("koophone-progress-*"):
                for path in directory.glob("*"):
                    try:
                        modes = (stat.S_IMODE(directory.stat().st_mode), stat.S_IMODE(path.stat().st_mode))
                        content = path.read_text()
                    except OSError:
                        continue  # removed meanwhile
                    self.seen[str(path)] = modes + (content,)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc_info):
        self.stopping.set()
        self.thread.join()


def test_a_long_command_shows_progress_at_v_then_a_summary_by_name_and_keeps_secrets(run_playbook, emulator, tmp_path):
    ids = fleet_ids(emulator, 300)
    stopped = ids[40:46]
    for instance_id in stopped:
        emulator.patch_instance(instance_id, running_status=1)
    unknown = ["NoSuch01", "NoSuch02"]
    names = dict((item["instance_id"], item["instance_name"]) for item in emulator.instances())
    private = tmp_path / "private-tmp"
    private.mkdir()
    emulator.configure(task_seconds=2.5)
    try:
        with ProgressFiles(private) as files:
            run = run_playbook(
                "command_progress.yml",
                credentials=IAM_USER,
                extra_vars={"ids": ids + unknown, "stopped": stopped, "unknown": unknown},
                args=["-v"],
                env={"TMPDIR": str(private)},
            )
    finally:
        emulator.configure(task_seconds=0.5)
    lines = run.stdout.splitlines()
    progress = [line for line in lines if line.startswith("koophone_command [localhost]: 302 phones: ")]
    # While it ran (before the task's own line): the chunks submitted and the jobs pending.
    assert any("4 of 4 chunks submitted; jobs: 0 done, 302 pending (" in line for line in progress), run
    task_line = next(n for n, line in enumerate(lines) if line.startswith("changed: [localhost]"))
    assert lines.index(progress[0]) < task_line
    # At the end: counts by outcome, then the failed phones by name and id, grouped by reason.
    (first,) = [n for n, line in enumerate(lines) if line.startswith("koophone_command [localhost]: 302 phones in ")]
    assert first < task_line
    assert lines[first].endswith(": 294 succeeded, 8 failed"), run
    grouped = lines[first + 1 : first + 3]
    stopped_line = next(line for line in grouped if "(KOOPHONE.API.62010)" in line)
    assert stopped_line.startswith("  6 x ")
    for instance_id in stopped:
        assert "%s (%s)" % (names[instance_id], instance_id) in stopped_line
    assert any(line == "  2 x Phone not found. (CPS0005): NoSuch01, NoSuch02" for line in grouped), run
    summary = run.result("summary")
    assert summary["counts"]["succeeded"] == 294 and summary["counts"]["failed"] == 8

    # The progress file: 0600 in a 0700 directory, counts only, removed afterwards.
    assert files.seen, "no progress file was seen while the command ran"
    for directory_mode, file_mode, content in files.seen.values():
        assert (directory_mode, file_mode) == (0o700, 0o600)
        for line in content.splitlines():
            assert set(json.loads(line)) == {"phase", "elapsed", "phones", "chunks", "sent", "counts"}
    assert list(private.iterdir()) == []
    text = run.stdout + run.stderr + "".join(content for _d, _f, content in files.seen.values())
    assert IAM_USER["KOOPHONE_PASSWORD"] not in text
    (cache_file,) = glob.glob(os.path.join(str(tmp_path), "tokens", "*.json"))
    with open(cache_file) as handle:
        assert json.load(handle)["token"] not in text
