"""The collection playbooks, run by their FQCN (ansible-playbook koophone.cloud.<name>) against the
emulator, and what they did to it: provision (the fleet role), command on inventory hosts,
app_rollout, health_check and the whole-workflow demo."""

import json
import math
import os
import re
import subprocess
import sys

import pytest
import yaml
from harness import INSTANCE_CHANGES, ansible_environment, api_requests

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
MUTATING = INSTANCE_CHANGES | {"SetVideo", "InstallApp", "SyncInvokeInstance", "AsyncInvokeInstance"}
FLEET = {
    "fleet_name_prefix": "shop",
    "fleet_count": 3,
    "fleet_region": "cn-north-4",
    "fleet_sku_id": "kp.professional.xlarge.32g.2",
    "fleet_users": ["1008600000000000001"],
    "fleet_video": {
        "defaults": {
            "definition_540p": {"code_rate": 2000, "fps": 30},
            "definition_720p": {"code_rate": 4000, "fps": 30},
            "definition_1080p": {"code_rate": 8000, "fps": 30},
        }
    },
    "fleet_apps": [
        {
            "name": "com.example.shop",
            "version": "2.4.1",
            "url": "https://obs.example.com/apks/shop-2.4.1.apk?Signature=secret-signature",
            "size_mb": 35.5,
            "md5": "9e107d9d372bb6826bd81d3542a419d6",
        }
    ],
    "fleet_commands": [
        {"command": "settings put global auto_time 1", "check": "settings get global auto_time", "expect": "1"}
    ],
}


class Run:
    def __init__(self, completed):
        self.rc, self.stdout, self.stderr = completed.returncode, completed.stdout, completed.stderr

    def recap(self):
        """{host: {ok, changed, failed, ...}} from the PLAY RECAP."""
        counts = {}
        for host, fields in re.findall(r"^(\S+)\s+:\s+(ok=.*)$", self.stdout, re.M):
            counts[host] = {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", fields)}
        return counts

    def __repr__(self):
        return "rc=%s\n--- stdout\n%s\n--- stderr\n%s" % (self.rc, self.stdout[-8000:], self.stderr[-3000:])


@pytest.fixture
def play(emulator, tmp_path):
    """ansible-playbook koophone.cloud.<name> against the emulator, the token in KOOPHONE_AUTH_TOKEN."""

    def run(name, extra_vars=None, args=(), expect_rc=0, env=None):
        # XDG_CACHE_HOME: the video record and other caches, this test's own.
        own_caches = dict({"XDG_CACHE_HOME": str(tmp_path / "cache")}, **(env or {}))
        environment = ansible_environment(emulator, tmp_path / "tokens", env=own_caches)
        command = [ANSIBLE_PLAYBOOK, "koophone.cloud." + name]
        if extra_vars:
            vars_file = tmp_path / ("%s-vars.json" % name)
            vars_file.write_text(json.dumps(extra_vars))
            command += ["-e", "@%s" % vars_file]
        completed = subprocess.run(
            command + list(args), env=environment, capture_output=True, text=True, timeout=900, check=False
        )
        outcome = Run(completed)
        assert outcome.rc == expect_rc, outcome
        return outcome

    return run


def read(path):
    with open(path) as handle:
        return handle.read()


def operations(emulator):
    return [entry["operation"] for entry in api_requests(emulator)]


def by_name(emulator, prefix):
    return sorted(
        (phone for phone in emulator.instances() if re.match(r"^%s-\d+$" % prefix, phone["instance_name"])),
        key=lambda phone: phone["instance_name"],
    )


def test_every_collection_playbook_is_documented_in_its_header_and_the_readme():
    readme = read(os.path.join(REPO, "README.md"))
    for name in ("demo", "provision", "command", "app_rollout", "health_check"):
        text = read(os.path.join(REPO, "playbooks", name + ".yml"))
        assert text.startswith("---\n# koophone.cloud.%s - " % name)
        assert re.search(r"^# Variables", text, re.M) or "Variables:" in text
        assert "| `koophone.cloud.%s` | playbook |" % name in readme


def test_provision_brings_a_fleet_to_its_state_and_then_changes_nothing(play, emulator):
    check = play("provision", FLEET, args=["--check"])
    assert not MUTATING & set(operations(emulator))
    assert "localhost" in check.recap()

    first = play("provision", FLEET)
    shop = by_name(emulator, "shop")
    assert [phone["instance_name"] for phone in shop] == ["shop-00001", "shop-00002", "shop-00003"]
    assert shop[0]["assign_user"] == "1008600000000000001" and shop[1]["assign_status"] == 0
    assert all(phone["video_settings"] for phone in shop)
    assert all(
        [app["app_version"] for app in phone["apps"] if app["app_pkg"] == "com.example.shop"] == ["2.4.1"]
        for phone in shop
    )
    assert {phone["settings"]["global/auto_time"] for phone in shop} == {"1"}
    assert first.recap()["localhost"]["changed"] > 0
    assert "secret-signature" not in first.stdout + first.stderr

    emulator.clear_log()
    second = play("provision", FLEET)
    assert second.recap()["localhost"]["changed"] == 0
    assert not MUTATING - {"SyncInvokeInstance", "AsyncInvokeInstance"} & set(operations(emulator))


def test_command_runs_once_for_all_inventory_hosts_and_gives_each_its_result(play, emulator, tmp_path):
    emulator.reset(instances=130, seed=4)
    inventory = tmp_path / "fleet.koophone.yml"
    inventory.write_text("plugin: koophone.cloud.koophone\n")
    emulator.clear_log()
    outcome = play("command", {"command": "getprop ro.build.version.release"}, args=["-i", str(inventory)])
    submits = [entry for entry in api_requests(emulator) if entry["operation"] == "AsyncInvokeInstance"]
    assert len(submits) == math.ceil(130 / 100)
    assert sorted(i for entry in submits for i in entry["instance_ids"]) == sorted(
        phone["instance_id"] for phone in emulator.instances()
    )
    recap = outcome.recap()
    assert len(recap) == 130 and all(counts["failed"] == 0 for counts in recap.values())
    assert "130 phones, 130 answered, 0 failed" in outcome.stdout

    # A stopped phone fails its own host, and only its own; target narrows the play.
    stopped = emulator.instances()[5]
    emulator.patch_instance(stopped["instance_id"], running_status=1)
    outcome = play("command", {"command": "getprop ro.product.model"}, args=["-i", str(inventory)], expect_rc=2)
    failed = {host for host, counts in outcome.recap().items() if counts["failed"]}
    assert failed == {stopped["instance_name"]}
    outcome = play(
        "command",
        {"command": "getprop ro.product.model", "target": "koophone_status_running"},
        args=["-i", str(inventory)],
    )
    assert len(outcome.recap()) == 129


def test_app_rollout_upgrades_in_batches_and_stops_on_a_failing_batch(play, emulator):
    emulator.reset(instances=20, seed=2)
    app = {
        "app_rollout_name": "com.example.shop",
        "app_rollout_version": "2.5.0",
        "app_rollout_url": "https://obs.example.com/apks/shop-2.5.0.apk",
        "app_rollout_size_mb": 36,
        "app_rollout_md5": "9e107d9d372bb6826bd81d3542a419d6",
        "app_rollout_batches": [2, "50%", "100%"],
    }
    play("app_rollout", app)
    installs = [entry for entry in api_requests(emulator) if entry["operation"] == "InstallApp"]
    assert [len(entry["instance_ids"]) for entry in installs] == [2, 10, 8]
    emulator.clear_log()
    again = play("app_rollout", app)
    assert again.recap()["localhost"]["changed"] == 0
    assert "InstallApp" not in operations(emulator)

    # 2.6.0 fails (version conflict) on the phones that already have a newer one.
    for phone in emulator.instances()[2:4]:
        emulator.patch_instance(
            phone["instance_id"],
            apps=[{"app_pkg": "com.example.shop", "app_name": "Shop", "app_version": "9.0.0", "system": False}],
        )
    emulator.clear_log()
    stopped = play("app_rollout", dict(app, app_rollout_version="2.6.0"), expect_rc=2)
    installs = [entry for entry in api_requests(emulator) if entry["operation"] == "InstallApp"]
    assert [len(entry["instance_ids"]) for entry in installs] == [2, 10]  # the third batch never went
    assert "stopped after batch 2 of 3" in stopped.stdout


def test_health_check_reports_then_fixes(play, emulator):
    emulator.reset(instances=40, seed=2, mix=True)
    emulator.configure(boot_seconds=0.2)
    try:
        emulator.clear_log()
        report = play("health_check")
        assert not MUTATING - {"SyncInvokeInstance", "AsyncInvokeInstance"} & set(operations(emulator))
        assert re.search(r"before: 40 phones, \d+ healthy", report.stdout)
        stopped = [
            phone["instance_id"]
            for phone in emulator.instances()
            if phone["running_status"] in (1, 5) and not phone["frozen_status"]
        ]
        assert stopped

        emulator.clear_log()
        play("health_check", {"fleet_health_stopped_action": "reset"})
        resets = [entry for entry in api_requests(emulator) if entry["operation"] == "BatchResetInstance"]
        assert sorted(i for entry in resets for i in entry["instance_ids"]) == sorted(stopped)
        emulator.clear_log()
        again = play("health_check", {"fleet_health_stopped_action": "reset"})
        assert again.recap()["localhost"]["changed"] == 0
        assert "BatchResetInstance" not in operations(emulator)
    finally:
        emulator.configure(boot_seconds=1.0)
        emulator.reset(instances=20, seed=1, mix=False)


def test_the_demo_runs_the_whole_workflow_on_the_emulator_and_only_reads_when_told(play, emulator):
    emulator.reset(instances=30, seed=1, mix=True)
    outcome = play("demo")
    for line in (
        "30 phones",
        "fleet demo: 4 phones, 4 were missing, bought now",
        "com.example.shop 2.5.0 on 4 phones",
        "before: 34 phones",
    ):
        assert line in outcome.stdout, line
    assert [len(phone["apps"]) for phone in by_name(emulator, "demo")]
    assert {
        tuple(app["app_version"] for app in phone["apps"] if app["app_pkg"] == "com.example.shop")
        for phone in by_name(emulator, "demo")
    } == {("2.5.0",)}

    emulator.reset(instances=30, seed=1, mix=True)
    emulator.clear_log()
    reading = play("demo", {"demo_buy": False})
    assert "the demo buys nothing here" in reading.stdout
    assert not MUTATING - {"SyncInvokeInstance", "AsyncInvokeInstance"} & set(operations(emulator))
    emulator.reset(instances=20, seed=1, mix=False)


def test_the_roles_declare_their_arguments_and_defaults():
    for role in ("fleet", "app_rollout", "fleet_health", "fleet_report"):
        base = os.path.join(REPO, "roles", role)
        specs = yaml.safe_load(read(os.path.join(base, "meta", "argument_specs.yml")))["argument_specs"]["main"]
        defaults = yaml.safe_load(read(os.path.join(base, "defaults", "main.yml"))) or {}
        assert os.path.isfile(os.path.join(base, "README.md"))
        for name, spec in specs["options"].items():
            assert name.startswith(role + "_"), name
            if spec.get("required"):
                assert name not in defaults, name
            else:
                assert name in defaults, name
                assert defaults[name] == spec.get("default"), name
        assert set(defaults) <= set(specs["options"])
