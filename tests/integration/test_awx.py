"""AWX readiness: the collection as AWX and its execution environments use it.

- AWX runs jobs and inventory updates through ansible-runner, with credentials injected as
  environment variables by a custom credential type (docs/awx.md): a job over the inventory plugin
  and an inventory update run here the same way, and nothing they leave behind (stdout, job events,
  the runner's artifacts) holds the secret key.
- ansible-builder finds the collection's Python requirements in the built tarball, so an execution
  environment that installs koophone.cloud gets ``requests`` without the user listing it.
"""

import json
import math
import os
import pathlib
import subprocess
import sys

import ansible_runner
import yaml
from harness import AKSK, api_requests, untrusted_values

REPO = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(sys.executable).parent
COLLECTIONS_ROOT = REPO / ".build" / "collections"
SECRET = AKSK["KOOPHONE_SECRET_KEY"]

# What a job template's playbook looks like: one task for every phone of the play, results per host.
SITE = """---
- name: Android version of every running phone
  hosts: koophone_status_running
  gather_facts: false
  tasks:
    - name: One command for all phones of the play
      koophone.cloud.koophone_command:
        instance_ids: "{{ ansible_play_hosts | map('extract', hostvars, 'koophone_instance_id') | list }}"
        command: getprop ro.build.version.release
        fail_on_error: false  # a phone that cannot answer is reported on its own host below
      run_once: true
      changed_when: false
      register: versions

    - name: Each phone's own answer
      ansible.builtin.set_fact:
        answer: "{{ versions.results | selectattr('instance_id', '==', koophone_instance_id) | list }}"

    - name: Every phone has exactly one answer, a version or the reason it has none
      ansible.builtin.assert:
        that:
          - answer | length == 1
          - answer[0].stdout is match('^[0-9]+$') if not answer[0].failed else answer[0].error_msg | length > 0
"""


def injected_environment(emulator, tmp_path):
    """What the KooPhone credential type of docs/awx.md injects for an AK/SK credential.

    AWX renders the injectors of the fields left blank as empty strings: they must count as unset.
    """
    blank = dict.fromkeys(
        ["KOOPHONE_USERNAME", "KOOPHONE_PASSWORD", "KOOPHONE_DOMAIN_NAME", "KOOPHONE_PROJECT_NAME"], ""
    )
    return dict(
        AKSK,
        **blank,
        KOOPHONE_ENDPOINT=emulator.url,
        KOOPHONE_TOKEN_CACHE_DIR=str(tmp_path / "tokens"),
        ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS_ROOT),
        ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false",
        ANSIBLE_NOCOLOR="1",
    )


def private_data_dir(emulator, tmp_path):
    """The directory AWX hands ansible-runner: env/envvars, inventory/, project/."""
    root = tmp_path / "runner"
    for sub in ("env", "inventory", "project"):
        (root / sub).mkdir(parents=True)
    (root / "env" / "envvars").write_text(yaml.safe_dump(injected_environment(emulator, tmp_path)))
    (root / "inventory" / "fleet.koophone.yml").write_text("plugin: koophone.cloud.koophone\n")
    (root / "project" / "site.yml").write_text(SITE)
    return root


def runner_environment():
    """ansible-runner finds ansible-playbook on PATH, as in an execution environment; no KOOPHONE_* of ours."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("KOOPHONE_", "HUAWEICLOUD_SDK_"))}
    environment["PATH"] = "%s%s%s" % (BIN, os.pathsep, environment.get("PATH", ""))
    return environment


def assert_secret_absent(root):
    """What Ansible wrote (stdout, every job event, facts, fact caches) never holds the secret key.

    The two files left out are the runner's own input, not output: env/envvars is what AWX's
    credential store writes, and artifacts/<ident>/command is ansible-runner's record of the
    environment it was given.
    """
    inputs = {root / "env" / "envvars"} | set(root.glob("artifacts/*/command"))
    written = [path for path in root.rglob("*") if path.is_file() and path not in inputs]
    assert any(path.name == "stdout" for path in written)
    leaks = [str(path) for path in written if SECRET in path.read_text(errors="replace")]
    assert leaks == []


def test_a_job_template_run_through_ansible_runner(steady, tmp_path):
    emulator = steady
    emulator.reset(instances=150, seed=3, mix=True)
    running = [phone["instance_id"] for phone in emulator.instances() if phone["running_status"] == 2]
    emulator.clear_log()
    root = private_data_dir(emulator, tmp_path)

    completed = subprocess.run(
        [str(BIN / "ansible-runner"), "run", str(root), "-p", "site.yml", "--ident", "job-1"],
        env=runner_environment(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    artifacts = root / "artifacts" / "job-1"
    stdout = (artifacts / "stdout").read_text() if (artifacts / "stdout").exists() else completed.stdout
    assert completed.returncode == 0, stdout[-6000:] + completed.stderr[-3000:]
    assert (artifacts / "status").read_text() == "successful"
    # Every running phone was a host of the play, and the assert task passed on each of them.
    events = [json.loads(path.read_text()) for path in (artifacts / "job_events").glob("*.json")]
    passed = {
        event["event_data"]["host"]
        for event in events
        if event["event"] == "runner_on_ok"
        and event["event_data"].get("task").startswith("Every phone has exactly one answer")
    }
    assert len(passed) == len(running) > 100

    requests = api_requests(emulator)
    assert {entry["auth"] for entry in requests} == {"aksk"}
    submits = [entry for entry in requests if entry["operation"] == "AsyncInvokeInstance"]
    assert len(submits) == math.ceil(len(running) / 100.0)
    assert sorted(i for entry in submits for i in entry["instance_ids"]) == sorted(running)
    assert_secret_absent(root)


def test_an_inventory_update_as_awx_runs_it(steady, tmp_path):
    emulator = steady
    emulator.reset(instances=250, seed=5, mix=True)
    root = private_data_dir(emulator, tmp_path)
    saved = dict(os.environ)
    os.environ["PATH"] = runner_environment()["PATH"]
    try:
        # AWX's inventory update: ansible-inventory --list --export through ansible-runner.
        out, err = ansible_runner.get_inventory(
            action="list",
            inventories=[str(root / "inventory" / "fleet.koophone.yml")],
            response_format="json",
            export=True,
            envvars=injected_environment(emulator, tmp_path),
            private_data_dir=str(root),
            quiet=True,
        )
    finally:
        os.environ.clear()
        os.environ.update(saved)
    assert isinstance(out, dict), err
    hostvars = untrusted_values(out["_meta"]["hostvars"])
    phones = emulator.instances()
    assert len(hostvars) == len(phones) == 250
    by_id = {variables["koophone_instance_id"]: name for name, variables in hostvars.items()}
    assert sorted(by_id) == sorted(phone["instance_id"] for phone in phones)
    running = {by_id[phone["instance_id"]] for phone in phones if phone["running_status"] == 2}
    assert set(out["koophone_status_running"]["hosts"]) == running
    assert SECRET not in json.dumps(out) and SECRET not in (err or "")
    assert_secret_absent(root)


def test_an_execution_environment_gets_the_python_requirements(tmp_path):
    build = tmp_path / "build"
    installed = tmp_path / "installed"
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(installed), ANSIBLE_NOCOLOR="1")

    def run(*command):
        completed = subprocess.run(
            [str(arg) for arg in command], env=env, capture_output=True, text=True, timeout=300, check=False
        )
        assert completed.returncode == 0, completed.stdout + completed.stderr
        return completed.stdout

    run(BIN / "ansible-galaxy", "collection", "build", REPO, "--output-path", build)
    (tarball,) = build.glob("koophone-cloud-*.tar.gz")
    run(BIN / "ansible-galaxy", "collection", "install", tarball, "-p", installed)
    collection = installed / "ansible_collections" / "koophone" / "cloud"
    assert (collection / "plugins" / "inventory" / "koophone.py").is_file()
    # The emulator and the benchmarks are development tools: build_ignore keeps them out of the tarball.
    assert not (collection / "emulator").exists() and not (collection / "tests" / "bench").exists()

    # What ansible-builder does while building an EE: read every collection's dependencies.
    found = yaml.safe_load(run(BIN / "ansible-builder", "introspect", installed))
    requirements = [line.split("#")[0].strip() for line in found["python"]]
    pinned = [line.strip() for line in (REPO / "requirements.txt").read_text().splitlines() if line.strip()]
    assert requirements == [line for line in pinned if not line.startswith("#")]
    assert any(line.startswith("requests") for line in requirements)
