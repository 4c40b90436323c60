"""Issue 13, item 1: the whole workflow through faults, each fault alone and then all together.

playbooks/fault_workflow.yml retires 5 old phones, provisions 30 by name prefix and count (the order
paid), assigns three users a share each, applies a video profile, installs an app and runs a read-only
command on every phone; then ``ansible-inventory --list`` reads the fleet with the koophone inventory
plugin. The emulator injects the case's faults into every KooPhone operation (IAM logs in through the
emulator's own IAM, with the password, and is not faulted), with a fixed seed and one random stream per
operation (``fault_draws=per-operation``), so the Nth request of each operation meets the same fault
whatever number of polls a run's timing made: a case repeats.

Judged from the emulator's log (requests that took effect only: answered "0", or applied and their
answer lost) and its state, never from what the modules say about themselves:

- no duplicate: each phone is created once (the orders' names), assigned once, deleted once, gets the
  app installed once and the command submitted at most once per run (a 429 and an expired token's 401
  are provably not applied, the only answers after which a command is sent again); no reboot or reset is
  sent at all;
- the end state is the declared one: exactly the 30 phones, running, each with its user, the video
  profile and the app at its version; the old phones gone; the 20 other phones untouched;
- one result per instance in every module's results; the inventory lists exactly the fleet;
- the second run reports changed=0 and sends no change at all. The command (``getprop``) only reads, so
  the playbook says so with ``changed_when: false``, as any read-only command task should:
  ``koophone_command`` itself reports ``changed`` whenever it ran a command, since it cannot know what a
  shell command does.

What the reference makes unknowable, the test asserts instead of the declared state. A request that is
not safe to repeat (create, app install, command) and whose answer was a 5xx, a dropped connection or
lost, may or may not have been applied, and the client cannot find out for a command (no API lists
tasks) and can only wait and re-read for a create or an install. So:

- a command: that run's results say ``unknown`` for exactly the phones of that submission, with
  "unknown whether the command ran", and it is not sent again (the others succeed and print their id);
- a create or an install that the re-read does not show: that run fails on that task saying it may
  have been applied (``maybe_applied``), sends nothing more, and the next run converges; at most two
  such runs are accepted before the declared state, each justified by its fault in the log.

The IAM token is expired twice in every run of the ``token`` and ``all`` cases (``POST
/_emulator/expire-tokens`` while the app list is read, concurrently, and at the first task poll after
it): the client logs in once more per expiry and carries on; every 401 is followed by the same request
(same x-request-id) succeeding with the new token.
"""

import json
import re
import threading
import time

import pytest
from harness import IAM_USER, api_requests, calls, per_instance, run_inventory, start_ansible_playbook

PLAYBOOK = "fault_workflow.yml"
COUNT = 30
OLD = 5
USERS = ["fault-user-1", "fault-user-2", "fault-user-3"]
APP, VERSION = "com.example.faults", "1.4.2"
LOGIN = "KeystoneCreateUserTokenByPassword"
SUBMIT = "AsyncInvokeInstance"
MAYBE_APPLIED = ("5xx", "drop", "lost")
# Where the run's IAM token is expired: while the app lists are read (concurrently), then at the first
# task poll after that (app install or command).
EXPIRE_AT = ("ListInstanceApp", "ExecuteJob")
RECAP = re.compile(r"^localhost\s*:\s*ok=\d+\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)

FAULTS_OFF = dict(rate_5xx=0, rate_drop=0, rate_lost=0, rate_429=0, retry_after=1, rate_spike=0, spike_ms=200)
ALL = dict(rate_5xx=0.05, rate_drop=0.05, rate_lost=0.02, rate_429=0.05, retry_after=1, rate_spike=0.1, spike_ms=200)
# (case, seed, faults, expire the token, what the first request of these operations meets). The rates hit
# reads and polls anywhere; each seed was picked so that the requests that are not safe to repeat meet
# the case's fault too (asserted, so the suite proves it went down those paths): with per-operation
# draws that depends on nothing but the seed.
CASES = [
    # Create unanswered: the run stops (not proven); an assign re-read and re-sent; commands unknown.
    pytest.param(
        "5xx",
        8522,
        dict(rate_5xx=0.05),
        False,
        {"CreateInstance": "5xx", "ProvisionInstance": "5xx", SUBMIT: "5xx"},
        id="5xx",
    ),
    # Delete re-read and re-sent; install unanswered (the run stops); commands unknown.
    pytest.param(
        "drop",
        412,
        dict(rate_drop=0.05),
        False,
        {"DeleteInstance": "drop", "InstallApp": "drop", SUBMIT: "drop"},
        id="drop",
        marks=pytest.mark.slow,  # ~60 s: the dropped delete and install are each re-read for wait_timeout
    ),
    # Applied, answer lost: the order and the install are found by re-reading; commands unknown.
    pytest.param(
        "lost",
        183937,
        dict(rate_lost=0.02),
        False,
        {"CreateInstance": "lost", "InstallApp": "lost", SUBMIT: "lost"},
        id="lost",
    ),
    # Throttled: create, install and command sent again after Retry-After.
    pytest.param(
        "429",
        10905,
        dict(rate_429=0.05, retry_after=1),
        False,
        {"CreateInstance": "429", "InstallApp": "429", SUBMIT: "429"},
        id="429",
    ),
    pytest.param(
        "spike",
        17570,
        dict(rate_spike=0.1, spike_ms=200),
        False,
        {"CreateInstance": "spike", "SetVideo": "spike", "InstallApp": "spike", SUBMIT: "spike"},
        id="spike",
    ),
    pytest.param("token", 7, {}, True, {}, id="token"),
    # Everything at once, and the token expired twice per run.
    pytest.param(
        "all",
        13005,
        ALL,
        True,
        {"CreateInstance": "lost", "ProvisionInstance": "lost", "InstallApp": "5xx", SUBMIT: "drop"},
        id="all",
        marks=pytest.mark.slow,
    ),
]


@pytest.fixture
def faults(emulator):
    """``faults(seed, **rates)``: this test's faults; every setting is put back afterwards."""
    saved = emulator.config()

    def configure(seed, **rates):
        emulator.configure(fault_draws="per-operation", **dict(FAULTS_OFF, **rates))
        emulator.configure(seed=seed)  # reseeds the fault generators: the case repeats

    yield configure
    emulator.configure(script=[], **dict((name, saved[name]) for name in list(FAULTS_OFF) + ["fault_draws", "seed"]))


def applied(entry):
    """The request took effect: answered "0", or applied and its answer lost."""
    return entry["fault"] == "lost" or (entry["status"] == 200 and entry["error_code"] == "0")


class Expirer(threading.Thread):
    """Expires every IAM token when the log first shows each operation of ``EXPIRE_AT``, in turn."""

    def __init__(self, emulator, since):
        super().__init__(daemon=True)
        self.emulator, self.since = emulator, since
        self.expired_at = []  # the last log seq when each expiry happened
        self.done = threading.Event()

    def run(self):
        waiting = list(EXPIRE_AT)
        while waiting and not self.done.is_set():
            entries = self.emulator.log(since=self.since)
            for entry in entries:
                self.since = entry["seq"]
                if entry["operation"] == waiting[0]:
                    self.emulator.expire_tokens()
                    self.expired_at.append(self.since)
                    waiting.pop(0)
                    break
            time.sleep(0.05)


class Workflow:
    """One ansible-playbook run of the workflow: its rc, recap, saved results and log records."""

    def __init__(self, emulator, tmp_path, number, expire):
        self.workdir = tmp_path / ("run%d" % number)
        self.workdir.mkdir()
        first = emulator.log()[-1:] or [{"seq": 0}]
        self.since = first[0]["seq"]
        expirer = Expirer(emulator, self.since) if expire else None
        if expirer:
            expirer.start()
        started = time.monotonic()
        process = start_ansible_playbook(
            emulator,
            self.workdir,
            PLAYBOOK,
            credentials=IAM_USER,
            extra_vars={"count": COUNT, "video_record": str(tmp_path / "video-record.json")},
        )
        self.rc = process.wait(timeout=900)
        self.seconds = time.monotonic() - started
        if expirer:
            expirer.done.set()
            expirer.join()
        self.expired_at = expirer.expired_at if expirer else []
        self.stdout = (self.workdir / "stdout").read_text()
        self.stderr = (self.workdir / "stderr").read_text()
        self.requests = [entry for entry in api_requests(emulator) if entry["seq"] > self.since]
        # Kept next to the run's output for whoever reads a failure: what the emulator saw, in order.
        (self.workdir / "requests.json").write_text(json.dumps(self.requests, indent=0))
        self.results = json.loads((self.workdir / "workflow.json").read_text())
        failure = self.workdir / "failure.json"
        self.failure = json.loads(failure.read_text()) if failure.exists() else None
        recap = RECAP.findall(self.stdout)
        assert len(recap) == 1, self
        self.changed, unreachable, failed = (int(n) for n in recap[0])
        assert unreachable == 0 and (failed == 0) == (self.rc == 0), self
        assert "Traceback" not in self.stdout + self.stderr, self

    def __repr__(self):
        return "rc=%s in %.1fs\n--- stdout\n%s\n--- stderr\n%s" % (
            self.rc,
            self.seconds,
            self.stdout[-8000:],
            self.stderr[-3000:],
        )


def by_name(emulator, prefix):
    return sorted(
        (item for item in emulator.instances() if item["instance_name"].startswith(prefix + "-")),
        key=lambda item: item["instance_name"],
    )


# ------------------------------------------------------------------------- what one run must show


def check_commands(run, fleet_ids):
    """One result per phone; ``unknown`` exactly where the phone's one submission met a fault after which it
    may have run; never submitted again after such a fault."""
    result = run.results["command"]
    entries = result["results"]
    assert [entry["instance_id"] for entry in entries] == fleet_ids
    history = {}
    for entry in calls(None, SUBMIT, run.requests):
        for instance_id in entry["instance_ids"]:
            history.setdefault(instance_id, []).append(entry)
    assert set(history) == set(fleet_ids)
    for instance_id, submissions in history.items():
        # Only a 429 or an expired token's 401 (provably not applied) is ever followed by another submission.
        assert all(entry["status"] in (401, 429) for entry in submissions[:-1]), (instance_id, submissions)
    unknown = {entry["instance_id"] for entry in entries if entry["status_name"] == "unknown"}
    unanswered = {i for i, submissions in history.items() if submissions[-1]["fault"] in MAYBE_APPLIED}
    assert unknown == unanswered, (unknown, unanswered)
    for entry in entries:
        if entry["instance_id"] in unknown:
            assert entry["failed"] and "unknown whether the command ran" in entry["error_msg"], entry
        else:
            assert not entry["failed"] and entry["stdout"] == entry["instance_id"], entry
    assert result["changed"] is False  # changed_when: false, the playbook's word for a read-only command
    return unknown


def check_results(run, fleet_ids):
    """A run that got through: one result per instance in every module's results."""
    results = run.results
    assert sorted(item["instance_id"] for item in results["provisioned"]["instances"]) == sorted(fleet_ids)
    assert len(results["assigned"]["results"]) == len(USERS)
    for index, entry in enumerate(results["assigned"]["results"]):
        assert sorted(item["instance_id"] for item in entry["instances"]) == sorted(fleet_ids[index :: len(USERS)])
        assert not entry.get("failed"), entry
    for name in ("video", "app"):
        entries = results[name]["results"]
        assert sorted(entry["instance_id"] for entry in entries) == sorted(fleet_ids), name
        assert results[name]["failed_instance_ids"] == [], (name, results[name]["failed_instance_ids"])
    return check_commands(run, fleet_ids)


def justified_failure(run):
    """A run that stopped: only on a create or an install that may have been applied, as the log shows."""
    assert run.failure is not None, run
    task, result = run.failure["task"], run.failure["result"]
    operation = {
        "Provision the fleet by name prefix and count, the order paid": "CreateInstance",
        "Install the app": "InstallApp",
    }.get(task)
    assert operation is not None, run
    sent = calls(None, operation, run.requests)
    # A lost answer is re-read until its effect shows; only a 5xx or a drop (not applied here) can stop a run.
    assert sent and sent[-1]["fault"] in ("5xx", "drop") and not any(applied(entry) for entry in sent), sent
    if operation == "CreateInstance":
        assert result["maybe_applied"] and "nothing more was created" in result["msg"], result
        assert result["created_instance_ids"] == [], result
    else:
        maybe = [entry for entry in result["results"] if entry.get("maybe_applied")]
        assert maybe and all(entry["failed"] for entry in maybe), result
        assert {entry["instance_id"] for entry in maybe} <= set(sent[-1]["instance_ids"]), result
    return operation


def check_logins(run, expire):
    """One IAM login per run, and one more per expiry that a later request met; a 401 is repeated once."""
    logins = calls(None, LOGIN, run.requests)
    assert all(entry["status"] == 201 for entry in logins), logins
    expiries = [
        seq
        for seq in run.expired_at
        if any(entry["seq"] > seq and entry["auth"] == "iam-token" for entry in run.requests)
    ]
    assert len(logins) == 1 + len(expiries), (
        run.expired_at,
        [(e["seq"], e["operation"], e["status"], e["request_id"]) for e in run.requests if e["status"] in (201, 401)],
    )
    refused = [entry for entry in run.requests if entry["status"] == 401]
    assert all(entry["error_code"] == "KOOPHONE.API.6001" for entry in refused), refused
    if expire:
        assert refused, "no request met an expired token"
    for entry in refused:
        again = [later for later in run.requests if later["request_id"] == entry["request_id"]]
        assert again[-1]["seq"] > entry["seq"] and again[-1]["status"] != 401, again
    return len(expiries)


def check_retry_after(requests, retry_after):
    """After a 429, the same request (same x-request-id) is sent again no sooner than Retry-After."""
    for entry in requests:
        if entry["status"] == 429:
            later = [r for r in requests if r["request_id"] == entry["request_id"] and r["seq"] > entry["seq"]]
            assert later, entry
            assert later[0]["time"] - entry["time"] >= retry_after - 0.05, (entry, later[0])


def check_inventory(emulator, tmp_path):
    """``ansible-inventory --list`` (the koophone plugin, through the same faults) lists exactly the fleet."""
    started = time.monotonic()
    completed, inventory = run_inventory(emulator, tmp_path, {}, credentials=IAM_USER)
    assert inventory is not None, completed.stderr
    hostvars = inventory["_meta"]["hostvars"]
    listed = dict((name, hostvars[name]["koophone_instance_id"]) for name in hostvars)
    assert listed == dict((item["instance_name"], item["instance_id"]) for item in emulator.instances())
    assert len([name for name in listed if name.startswith("fault-")]) == COUNT
    return time.monotonic() - started


def check_faults_met(requests, rates, first):
    """The faults were there: each kind the case asked for, and on the first request of each operation of
    ``first`` the kind its seed promises."""
    met = {entry["fault"] for entry in requests} | ({"spike"} if any(entry["spike"] for entry in requests) else set())
    wanted = {"rate_5xx": "5xx", "rate_drop": "drop", "rate_lost": "lost", "rate_429": "429", "rate_spike": "spike"}
    assert {wanted[name] for name in rates if name in wanted} <= met, met
    for operation, kind in first.items():
        entry = calls(None, operation, requests)[0]
        assert entry["spike"] if kind == "spike" else entry["fault"] == kind, (operation, kind, entry)
    return sorted(met - {None})


def check_second_run(second):
    """Nothing to do: every task unchanged (the read-only command by changed_when) and no change sent."""
    assert second.changed == 0, second
    for name in ("retired", "provisioned", "video", "app"):
        assert second.results[name]["changed"] is False, (name, second.results[name])
    assert [entry["changed"] for entry in second.results["assigned"]["results"]] == [False] * len(USERS)
    assert second.results["command"]["changed"] is False
    for operation in ("CreateInstance", "DeleteInstance", "ProvisionInstance", "SetVideo", "InstallApp"):
        assert calls(None, operation, second.requests) == [], operation


def check_no_duplicates(emulator, requests, old, fleet_ids, command_runs):
    """From the log, applied requests only: each change made once per phone, no reboot or reset at all."""
    names = [name for order in emulator.orders() for name in order["instance_names"]]
    assert sorted(names) == ["fault-%05d" % n for n in range(1, COUNT + 1)], emulator.orders()
    assert sum(entry["count"] for entry in calls(None, "CreateInstance", requests) if applied(entry)) == COUNT
    for operation, expected in (
        ("DeleteInstance", dict((i, 1) for i in old)),
        ("ProvisionInstance", dict((i, 1) for i in fleet_ids)),
        ("InstallApp", dict((i, 1) for i in fleet_ids)),
        ("BatchRebootInstance", {}),
        ("BatchResetInstance", {}),
    ):
        counts = per_instance([entry for entry in calls(None, operation, requests) if applied(entry)])
        assert counts == expected, (operation, sorted(i for i in set(counts) | set(expected) if counts.get(i) != 1))
    for run in command_runs:
        counts = per_instance([entry for entry in calls(None, SUBMIT, run.requests) if applied(entry)])
        assert set(counts) <= set(fleet_ids) and set(counts.values()) <= {1}, counts


def check_declared_state(emulator, fleet, others, requests):
    """The 30 phones running with their user, the app and the profile; the old ones gone; the rest untouched."""
    assert [item["instance_name"] for item in fleet] == ["fault-%05d" % n for n in range(1, COUNT + 1)]
    assert by_name(emulator, "old") == []
    for index, item in enumerate(fleet):
        assert item["running_status"] == 2 and item["assign_status"] == 1, item
        assert item["assign_user"] == USERS[index % len(USERS)], item
        apps = dict((app["app_pkg"], app["app_version"]) for app in item["apps"])
        assert apps.get(APP) == VERSION, item["apps"]
        combinations = dict(
            ("%s/%s" % (e["network_type"], e["encoding_type"]), e) for e in item["video_settings"] or []
        )
        assert len(combinations) == 6, item["video_settings"]
        for combination, entry in combinations.items():
            fhd = 4000 if combination.startswith("MOBILE_NETWORK/") else 8000
            assert entry["video_spec_groups"] == [
                {
                    "definition_540P": {"code_rate": 2000, "fps": 30},
                    "definition_720P": {"code_rate": 4000, "fps": 30},
                    "definition_1080P": {"code_rate": fhd, "fps": 30},
                }
            ], entry
    now = dict((item["instance_id"], item) for item in emulator.instances() if item["instance_id"] in others)
    for instance_id, before in others.items():
        for field in ("assign_status", "assign_user", "apps", "video_settings", "running_status"):
            assert now[instance_id][field] == before[field], (instance_id, field)
    mutating = ("CreateInstance", "DeleteInstance", "ProvisionInstance", "SetVideo", "InstallApp", SUBMIT)
    touched = {i for entry in requests if entry["operation"] in mutating for i in entry["instance_ids"]}
    assert not touched & set(others), touched & set(others)


# ------------------------------------------------------------------------- the suite


@pytest.mark.parametrize("case, seed, rates, expire, first", CASES)
def test_the_whole_workflow_through_faults(emulator, faults, tmp_path, case, seed, rates, expire, first):
    old = [item["instance_id"] for item in emulator.add_instances(count=OLD, name_prefix="old")]
    others = dict((item["instance_id"], item) for item in emulator.instances() if item["instance_id"] not in old)
    emulator.clear_log()
    faults(seed, **rates)

    # Until the declared state: only a run stopped by what it cannot know may need another.
    runs = []
    while True:
        run = Workflow(emulator, tmp_path, len(runs) + 1, expire)
        runs.append(run)
        check_logins(run, expire)
        if run.rc == 0:
            break
        justified_failure(run)
        assert len(runs) < 3, run
    fleet = by_name(emulator, "fault")
    fleet_ids = [item["instance_id"] for item in fleet]
    unknown = check_results(runs[-1], fleet_ids)
    inventory_seconds = check_inventory(emulator, tmp_path)

    second = Workflow(emulator, tmp_path, len(runs) + 1, expire)
    check_logins(second, expire)
    assert second.rc == 0, second
    check_results(second, fleet_ids)
    check_second_run(second)
    check_inventory(emulator, tmp_path)

    requests = api_requests(emulator)
    met = check_faults_met(requests, rates, first)
    check_no_duplicates(emulator, requests, old, fleet_ids, [runs[-1], second])
    check_retry_after(requests, rates.get("retry_after", 1))
    check_declared_state(emulator, by_name(emulator, "fault"), others, requests)
    print(
        "\n%s: runs %s, second run %.1fs, inventory %.1fs, unknown commands %d; faults met %s"
        % (
            case,
            ", ".join("%.1fs rc=%d" % (run.seconds, run.rc) for run in runs),
            second.seconds,
            inventory_seconds,
            len(unknown),
            met,
        )
    )
