"""What integration tests share: the emulator's demo credentials, log helpers, and how Ansible runs
against the emulator (its environment, ansible-inventory and ansible-playbook runs)."""

import json
import os
import subprocess
import sys

import yaml

# The emulator's documented demo credentials.
IAM_USER = {
    "KOOPHONE_USERNAME": "demo",
    "KOOPHONE_PASSWORD": "demo-password",
    "KOOPHONE_DOMAIN_NAME": "demo-domain",
    "KOOPHONE_PROJECT_NAME": "cn-north-4",
}
AKSK = {
    "KOOPHONE_ACCESS_KEY": "KOOPHONEDEMOAK00001",
    "KOOPHONE_SECRET_KEY": "koophone-demo-secret-key-000000000000000",
    "KOOPHONE_PROJECT_ID": "0a1b2c3d4e5f60718293a4b5c6d7e8f9",
}
TOKEN = {"KOOPHONE_AUTH_TOKEN": "demo-token"}
# The requests that change a cloud phone; each test adds the other changing operations it watches for.
INSTANCE_CHANGES = frozenset(
    {
        "CreateInstance",
        "DeleteInstance",
        "BatchRebootInstance",
        "BatchResetInstance",
        "ProvisionInstance",
        "CancelInstance",
    }
)


def api_requests(emulator):
    """The emulator's log without its own control calls."""
    return [entry for entry in emulator.log() if not entry["path"].startswith("/_emulator")]


def untrusted_values(value):
    """ansible-inventory on 2.19+ writes strings that came from the API as {"__ansible_unsafe": ...}."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {key: untrusted_values(item) for key, item in value.items()}
    if isinstance(value, list):
        return [untrusted_values(item) for item in value]
    return value


def calls(emulator, operation, requests=None):
    """The API requests of one operation (from ``requests``, or the emulator's whole log), oldest first."""
    return [
        entry for entry in (api_requests(emulator) if requests is None else requests) if entry["operation"] == operation
    ]


def applied(entry):
    """Whether a logged request took effect: answered 200, or applied and then its answer lost."""
    return entry["status"] == 200 or entry["fault"] == "lost"


def per_instance(entries):
    """{instance_id: how many of ``entries`` name it}."""
    counts = {}
    for entry in entries:
        for instance_id in entry["instance_ids"]:
            counts[instance_id] = counts.get(instance_id, 0) + 1
    return counts


def run_inventory(emulator, tmp_path, config, credentials=None, env=None, timeout=300):
    """``ansible-inventory -i <tmp>/fleet.koophone.yml --list`` against the emulator.

    Returns (completed process, parsed --list output or None when it failed).
    """
    path = tmp_path / "fleet.koophone.yml"
    path.write_text(yaml.safe_dump(dict({"plugin": "koophone.cloud.koophone"}, **config)))
    output = tmp_path / "inventory.out"
    if output.exists():
        output.unlink()
    environment = inventory_environment(emulator, tmp_path / "tokens", credentials, env)
    command = [
        os.path.join(os.path.dirname(sys.executable), "ansible-inventory"),
        "-i",
        str(path),
        "--output",
        str(output),
        "--list",
    ]
    completed = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=timeout, check=False)
    data = None
    if completed.returncode == 0 and output.exists():
        data = untrusted_values(json.loads(output.read_text()))
    return completed, data


def ansible_environment(emulator, token_dir, credentials=None, env=None):
    """The environment the integration tests run Ansible with: this checkout's collection, the emulator as
    endpoint and IAM, no KOOPHONE_*/HUAWEICLOUD_SDK_* variable of the caller's, then ``credentials``
    (the demo token when None) and ``env``."""
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    environment = {
        name: value for name, value in os.environ.items() if not name.startswith(("KOOPHONE_", "HUAWEICLOUD_SDK_"))
    }
    environment.update(
        {
            "ANSIBLE_COLLECTIONS_PATH": os.path.join(repo, ".build", "collections"),
            "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false",
            "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
            "ANSIBLE_LOCALHOST_WARNING": "false",
            "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_RETRY_FILES_ENABLED": "false",
            "KOOPHONE_ENDPOINT": emulator.url,
            "KOOPHONE_IAM_ENDPOINT": emulator.url,
            "KOOPHONE_TOKEN_CACHE_DIR": str(token_dir),
        }
    )
    environment.update(TOKEN if credentials is None else credentials)
    environment.update(env or {})
    return environment


def inventory_environment(emulator, token_dir, credentials=None, env=None):
    """ansible_environment for ansible-inventory: a source it cannot parse fails the run (rather than
    leaving an empty inventory); ``env`` last, as there."""
    must_parse = dict({"ANSIBLE_INVENTORY_UNPARSED_FAILED": "true"}, **(env or {}))
    return ansible_environment(emulator, token_dir, credentials, must_parse)


def start_ansible_playbook(emulator, workdir, playbook, credentials=None, extra_vars=None, args=(), env=None):
    """Start ansible-playbook tests/integration/playbooks/<playbook> against the emulator, outside any
    fixture (for a module-scoped one, or several runs at once); extra vars go through a file in
    ``workdir``, as run_playbook does. Returns the Popen; its output goes to ``workdir``/stdout and
    ``workdir``/stderr (files, not pipes: several runs at once never block on a full pipe).
    """
    playbooks = os.path.join(os.path.dirname(os.path.abspath(__file__)), "playbooks")
    variables = dict(output_dir=str(workdir), emulator_url=emulator.url, **(extra_vars or {}))
    vars_file = os.path.join(str(workdir), "extra_vars.json")
    with open(vars_file, "w") as handle:
        json.dump(variables, handle)
    command = [
        os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
        os.path.join(playbooks, playbook),
        "-e",
        "@%s" % vars_file,
    ] + list(args)
    with open(os.path.join(str(workdir), "stdout"), "w") as stdout, open(
        os.path.join(str(workdir), "stderr"), "w"
    ) as stderr:
        return subprocess.Popen(
            command,
            env=ansible_environment(emulator, os.path.join(str(workdir), "tokens"), credentials, env),
            stdout=stdout,
            stderr=stderr,
            stdin=subprocess.DEVNULL,
        )
