"""Integration tests: real ansible-playbook runs against the bundled emulator.

Each test gets a freshly reset emulator fleet and an empty request log, so it can prove what was
(and was not) sent. Playbooks hold the assertions about module results; the tests check the
emulator's log and state.
"""

import json
import os
import shlex
import subprocess
import sys

import pytest
from harness import ansible_environment

from koophone_emulator.launcher import start_emulator  # tests/conftest.py put emulator/ on sys.path

PLAYBOOKS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "playbooks")
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")


# Extra emulator flags for the whole run, e.g. every lenient reading at once (docs/development.md):
# KOOPHONE_TEST_EMULATOR_ARGS="--command-charset any --name-filter substring ..." make integration
EXTRA_EMULATOR_ARGS = shlex.split(os.environ.get("KOOPHONE_TEST_EMULATOR_ARGS", ""))


@pytest.fixture(scope="session")
def emulator_process():
    handle = start_emulator("--instances", "20", "--quiet", *EXTRA_EMULATOR_ARGS)
    yield handle
    handle.stop()


@pytest.fixture
def emulator(emulator_process):
    emulator_process.reset(instances=20, seed=1)
    emulator_process.clear_log()
    return emulator_process


class PlaybookRun:
    def __init__(self, completed, output_dir):
        self.rc = completed.returncode
        self.stdout = completed.stdout
        self.stderr = completed.stderr
        self.output_dir = output_dir

    def result(self, name):
        with open(os.path.join(self.output_dir, name + ".json")) as handle:
            return json.load(handle)

    def __repr__(self):
        return "rc=%s\n--- stdout\n%s\n--- stderr\n%s" % (self.rc, self.stdout[-6000:], self.stderr[-3000:])


@pytest.fixture
def run_playbook(emulator, tmp_path):
    """Run a playbook from tests/integration/playbooks against the emulator; return PlaybookRun."""

    def run(playbook, credentials=None, extra_vars=None, args=(), env=None, expect_rc=0):
        environment = ansible_environment(emulator, tmp_path / "tokens", credentials, env)
        variables = dict(output_dir=str(tmp_path), emulator_url=emulator.url, **(extra_vars or {}))
        # A vars file, not the command line: ansible-playbook -vvvv echoes its own argv.
        vars_file = tmp_path / "extra_vars.json"
        vars_file.write_text(json.dumps(variables))
        command = [ANSIBLE_PLAYBOOK, os.path.join(PLAYBOOKS, playbook), "-e", "@%s" % vars_file] + list(args)
        completed = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=600, check=False)
        outcome = PlaybookRun(completed, str(tmp_path))
        assert outcome.rc == expect_rc, outcome
        return outcome

    return run


@pytest.fixture
def steady(emulator):
    """For mixed fleets that must hold still while a test compares: starting phones stay starting.

    The emulator process is shared by the whole session and remembers ``mix``: put the plain fleet back.
    """
    emulator.configure(boot_seconds=3600)
    yield emulator
    emulator.configure(boot_seconds=1.0)
    emulator.reset(instances=20, seed=1, mix=False)
