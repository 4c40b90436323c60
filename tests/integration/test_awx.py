"""AWX readiness: the collection as AWX and its execution environments use it.

- The credential type (extensions/awx/credential_type/) is checked against the rules AWX applies to
  custom credential types, and docs/awx.md shows exactly its files.
- AWX runs jobs and inventory updates through ansible-runner, with the credential's values injected
  as environment variables rendered from the injector templates. The tests render them the way AWX
  does (a sandboxed Jinja environment; fields left blank are absent, so their templates render as
  empty strings) and put them into the runner's env/envvars, nothing else: a job running the
  collection playbook koophone.cloud.command over the inventory plugin (with each of the three ways
  to sign in), an inventory update, and a sliced job whose slices together command each phone once.
  Nothing they leave behind (stdout, job events, the runner's artifacts) holds a secret.
- The awx.awx.credential_type example sends AWX the files as they are.
- ansible-builder: the EE definition (extensions/ee/) makes a build context that installs the
  collection, and the collection's Python requirements are found in the built tarball.
"""

import json
import math
import os
import pathlib
import re
import shutil
import subprocess
import sys

import ansible_runner
import pytest
import yaml
from harness import AKSK, IAM_USER, TOKEN, api_requests, untrusted_values
from jinja2.sandbox import ImmutableSandboxedEnvironment

REPO = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(sys.executable).parent
COLLECTIONS_ROOT = REPO / ".build" / "collections"
AWX = REPO / "extensions" / "awx"
CREDENTIAL_TYPE = AWX / "credential_type"
EE_DEFINITION = REPO / "extensions" / "ee" / "execution-environment.yml"
DOC = REPO / "docs" / "awx.md"
SECRETS = [AKSK["KOOPHONE_SECRET_KEY"], IAM_USER["KOOPHONE_PASSWORD"], TOKEN["KOOPHONE_AUTH_TOKEN"]]

# Every KOOPHONE_* variable the collection reads for a connection (DESIGN.md, the doc fragment).
CONNECTION_VARIABLES = {
    "endpoint": "KOOPHONE_ENDPOINT",
    "auth_token": "KOOPHONE_AUTH_TOKEN",
    "access_key": "KOOPHONE_ACCESS_KEY",
    "secret_key": "KOOPHONE_SECRET_KEY",
    "security_token": "KOOPHONE_SECURITY_TOKEN",
    "project_id": "KOOPHONE_PROJECT_ID",
    "username": "KOOPHONE_USERNAME",
    "password": "KOOPHONE_PASSWORD",
    "domain_name": "KOOPHONE_DOMAIN_NAME",
    "project_name": "KOOPHONE_PROJECT_NAME",
    "iam_endpoint": "KOOPHONE_IAM_ENDPOINT",
}

# What AWX adds to every inventory update's environment (awx/main/constants.py, STANDARD_INVENTORY_UPDATE_ENV).
AWX_INVENTORY_UPDATE_ENV = {
    "ANSIBLE_INVENTORY_UNPARSED_FAILED": "True",
    "ANSIBLE_INVENTORY_EXPORT": "True",
    "ANSIBLE_VERBOSE_TO_STDERR": "True",
}

# AWX job templates run playbooks from a project: a collection playbook is imported by name.
SITE = """---
- name: The collection's command playbook, by name
  ansible.builtin.import_playbook: koophone.cloud.command
"""


def credential_type():
    inputs = yaml.safe_load((CREDENTIAL_TYPE / "inputs.yml").read_text())
    injectors = yaml.safe_load((CREDENTIAL_TYPE / "injectors.yml").read_text())
    return inputs, injectors


def form_defaults():
    """What AWX's credential form prefills: each field's default."""
    inputs = credential_type()[0]
    return {field["id"]: field["default"] for field in inputs["fields"] if "default" in field}


def awx_injected_env(credential_inputs):
    """The environment AWX injects for a credential of our type (CredentialType.inject_credential).

    Fields left blank are not in the template namespace, so their templates render as ''. Booleans
    would always be there; the type has none.
    """
    inputs, injectors = credential_type()
    known = {field["id"] for field in inputs["fields"]}
    assert set(credential_inputs) <= known
    namespace = {name: value for name, value in credential_inputs.items() if value}
    sandbox = ImmutableSandboxedEnvironment()
    return {name: sandbox.from_string(template).render(**namespace) for name, template in injectors["env"].items()}


def credentials(emulator, mode):
    """The inputs of a KooPhone credential for one way to sign in, as saved from AWX's form."""
    values = dict(form_defaults(), endpoint=emulator.url)
    if mode == "auth_token":
        values["auth_token"] = TOKEN["KOOPHONE_AUTH_TOKEN"]
    elif mode == "aksk":
        values.update(
            access_key=AKSK["KOOPHONE_ACCESS_KEY"],
            secret_key=AKSK["KOOPHONE_SECRET_KEY"],
            project_id=AKSK["KOOPHONE_PROJECT_ID"],
        )
    elif mode == "iam":
        values.update(
            username=IAM_USER["KOOPHONE_USERNAME"],
            password=IAM_USER["KOOPHONE_PASSWORD"],
            domain_name=IAM_USER["KOOPHONE_DOMAIN_NAME"],
            project_name=IAM_USER["KOOPHONE_PROJECT_NAME"],
            iam_endpoint=emulator.url,
        )
    return values


def runner_envvars(injected, tmp_path):
    """env/envvars of a job: the credential's variables plus what AWX's EE settings would give."""
    return dict(
        injected,
        # The EE's home is thrown away after each job; here it is the test's own directory.
        HOME=str(tmp_path / "home"),
        ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS_ROOT),
        ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false",
        ANSIBLE_NOCOLOR="1",
    )


def private_data_dir(tmp_path, injected, name="runner", extravars=None, inventory=None):
    """The directory AWX hands ansible-runner: env/envvars, env/extravars, inventory/, project/."""
    root = tmp_path / name
    for sub in ("env", "inventory", "project"):
        (root / sub).mkdir(parents=True)
    (tmp_path / "home").mkdir(exist_ok=True)
    (root / "env" / "envvars").write_text(yaml.safe_dump(runner_envvars(injected, tmp_path)))
    if extravars:
        (root / "env" / "extravars").write_text(yaml.safe_dump(extravars))
    if inventory is None:
        (root / "inventory" / "fleet.koophone.yml").write_text("plugin: koophone.cloud.koophone\n")
    else:
        # What AWX writes for a job: an inventory script that prints the job's (sliced) inventory.
        script = root / "inventory" / "hosts"
        script.write_text("#!%s\nprint(%r)\n" % (sys.executable, json.dumps(inventory)))
        script.chmod(0o700)
    (root / "project" / "site.yml").write_text(SITE)
    return root


def runner_environment():
    """ansible-runner finds ansible-playbook on PATH, as in an execution environment; no KOOPHONE_* of ours."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("KOOPHONE_", "HUAWEICLOUD_SDK_"))}
    environment["PATH"] = "%s%s%s" % (BIN, os.pathsep, environment.get("PATH", ""))
    return environment


def run_job(root, ident):
    completed = subprocess.run(
        [str(BIN / "ansible-runner"), "run", str(root), "-p", "site.yml", "--ident", ident],
        env=runner_environment(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    artifacts = root / "artifacts" / ident
    stdout = (artifacts / "stdout").read_text() if (artifacts / "stdout").exists() else completed.stdout
    assert completed.returncode == 0, stdout[-6000:] + completed.stderr[-3000:]
    assert (artifacts / "status").read_text() == "successful"
    return [json.loads(path.read_text()) for path in (artifacts / "job_events").glob("*.json")], stdout


def assert_secrets_absent(root):
    """What Ansible wrote (stdout, every job event, facts, fact caches) never holds a secret.

    The two files left out are the runner's own input, not output: env/envvars is what AWX's
    credential store writes, and artifacts/<ident>/command is ansible-runner's record of the
    environment it was given.
    """
    inputs = {root / "env" / "envvars"} | set(root.glob("artifacts/*/command"))
    written = [path for path in root.rglob("*") if path.is_file() and path not in inputs]
    assert any(path.name == "stdout" for path in written)
    leaks = [str(path) for path in written for secret in SECRETS if secret in path.read_text(errors="replace")]
    assert leaks == []


def update_inventory(root, injected, tmp_path, expect_ok=True):
    """AWX's inventory update: ansible-inventory --list --export through ansible-runner, with the
    settings AWX adds to every inventory update (a source that cannot be parsed fails it)."""
    saved = dict(os.environ)
    os.environ["PATH"] = runner_environment()["PATH"]
    try:
        out, err = ansible_runner.get_inventory(
            action="list",
            inventories=[str(root / "inventory" / "fleet.koophone.yml")],
            response_format="json",
            export=True,
            envvars=dict(runner_envvars(injected, tmp_path), **AWX_INVENTORY_UPDATE_ENV),
            private_data_dir=str(root),
            quiet=True,
        )
    finally:
        os.environ.clear()
        os.environ.update(saved)
    assert isinstance(out, dict) == expect_ok, err
    return out, err


# ---------------------------------------------------------------------------- the credential type


def test_the_credential_type_follows_awx_rules_and_injects_only_koophone_variables():
    inputs, injectors = credential_type()
    assert set(inputs) <= {"fields", "required", "dependencies"}
    assert set(injectors) == {"env"}  # no extra_vars (they would show in job output) and no files
    ids = [field["id"] for field in inputs["fields"]]
    assert len(ids) == len(set(ids))
    labels = [field["label"] for field in inputs["fields"]]
    assert len(labels) == len(set(labels))
    for field in inputs["fields"]:
        assert set(field) <= {"id", "label", "type", "secret", "default", "help_text", "multiline", "choices", "format"}
        assert field["type"] == "string"
        assert re.match(r"^[a-z_]+$", field["id"])
    assert set(inputs["required"]) <= set(ids)
    # Secrets are encrypted by AWX and shown as $encrypted$.
    assert {field["id"] for field in inputs["fields"] if field.get("secret")} == {
        "auth_token",
        "secret_key",
        "security_token",
        "password",
    }
    # Exactly one KOOPHONE_* variable per field, the one the collection reads; AWX refuses ANSIBLE_* names.
    assert injectors["env"] == {variable: "{{ %s }}" % field for field, variable in CONNECTION_VARIABLES.items()}
    assert sorted(ids) == sorted(CONNECTION_VARIABLES)
    for name in injectors["env"]:
        assert re.match(r"^KOOPHONE_[A-Z_]+$", name) and not name.startswith("ANSIBLE_")


def test_blank_fields_are_injected_empty_as_awx_renders_them():
    env = awx_injected_env({"endpoint": "https://example.invalid", "access_key": "AK", "secret_key": "SK"})
    assert env["KOOPHONE_ACCESS_KEY"] == "AK" and env["KOOPHONE_SECRET_KEY"] == "SK"
    assert env["KOOPHONE_AUTH_TOKEN"] == "" and env["KOOPHONE_PASSWORD"] == "" and env["KOOPHONE_IAM_ENDPOINT"] == ""


def fenced_blocks(text):
    """{path: body} of every fenced block that docs/awx.md marks with <!-- file: PATH -->."""
    pattern = re.compile(r"<!-- file: (\S+) -->\n```[a-z]*\n(.*?)```\n", re.S)
    return dict(pattern.findall(text))


def test_docs_awx_shows_exactly_the_files():
    blocks = fenced_blocks(DOC.read_text())
    files = {
        "extensions/awx/credential_type/inputs.yml",
        "extensions/awx/credential_type/injectors.yml",
        "extensions/awx/credential_type.yml",
        "extensions/ee/execution-environment.yml",
    }
    assert set(blocks) == files
    for path, body in blocks.items():
        assert body == (REPO / path).read_text(), path


def test_the_awx_awx_example_sends_the_files_untemplated(tmp_path):
    """awx.awx is not installed here: a stand-in module records what the task would send to AWX."""
    stub = tmp_path / "collections" / "ansible_collections" / "awx" / "awx"
    (stub / "plugins" / "modules").mkdir(parents=True)
    (stub / "meta").mkdir()
    (stub / "meta" / "runtime.yml").write_text("requires_ansible: '>=2.15'\n")
    (stub / "plugins" / "modules" / "credential_type.py").write_text(
        "import json, os\n"
        "from ansible.module_utils.basic import AnsibleModule\n"
        "module = AnsibleModule(argument_spec=dict(name=dict(), description=dict(), kind=dict(),\n"
        "    inputs=dict(type='dict'), injectors=dict(type='dict'), state=dict()))\n"
        "with open(os.environ['RECORD'], 'w') as record:\n"
        "    json.dump(module.params, record)\n"
        "module.exit_json(changed=True)\n"
    )
    record = tmp_path / "record.json"
    completed = subprocess.run(
        [str(BIN / "ansible-playbook"), str(AWX / "credential_type.yml")],
        env=dict(
            runner_environment(),
            RECORD=str(record),
            ANSIBLE_COLLECTIONS_PATH="%s:%s" % (tmp_path / "collections", COLLECTIONS_ROOT),
            ANSIBLE_PYTHON_INTERPRETER=sys.executable,
            ANSIBLE_LOCALHOST_WARNING="false",
            ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
        ),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    sent = json.loads(record.read_text())
    inputs, injectors = credential_type()
    assert sent["inputs"] == inputs and sent["injectors"] == injectors
    assert sent["name"] == "KooPhone" and sent["kind"] == "cloud" and sent["state"] == "present"


# ---------------------------------------------------------------------------- jobs and inventory updates


@pytest.mark.parametrize("mode", ["auth_token", "aksk", "iam"])
def test_a_job_template_runs_the_collection_playbook_with_the_injected_credential(steady, tmp_path, mode):
    emulator = steady
    emulator.reset(instances=150, seed=3, mix=True)
    phones = emulator.instances()
    running = sorted(phone["instance_id"] for phone in phones if phone["running_status"] == 2)
    frozen = [phone for phone in phones if phone["running_status"] == 2 and phone["frozen_status"] == 1]
    emulator.clear_log()
    injected = awx_injected_env(credentials(emulator, mode))
    # A frozen phone cannot run commands: its host reports the error instead of failing the job.
    extravars = {
        "command": "getprop ro.build.version.release",
        "target": "koophone_status_running",
        "command_fail_hosts": False,
    }
    root = private_data_dir(tmp_path, injected, extravars=extravars)

    events, stdout = run_job(root, "job-1")

    # Every running phone was a host of the play and got its own answer.
    answered = {
        event["event_data"]["host"]
        for event in events
        if event["event"] == "runner_on_ok" and event["event_data"].get("task") == "Show each phone's answer"
    }
    assert len(answered) == len(running) > 100
    requests = api_requests(emulator)
    expected_auth = {"auth_token": {"token"}, "aksk": {"aksk"}, "iam": {"iam-token", "none"}}[mode]
    assert {entry["auth"] for entry in requests} <= expected_auth
    if mode == "iam":
        assert [entry for entry in requests if entry["operation"] == "KeystoneCreateUserTokenByPassword"]
    submits = [entry for entry in requests if entry["operation"] == "AsyncInvokeInstance"]
    assert len(submits) == math.ceil(len(running) / 100.0)
    assert sorted(i for entry in submits for i in entry["instance_ids"]) == running
    assert (
        frozen
        and "%d phones, %d answered, %d failed" % (len(running), len(running) - len(frozen), len(frozen)) in stdout
    )
    assert_secrets_absent(root)


def test_temporary_aksk_credentials_with_a_security_token(steady, tmp_path):
    emulator = steady
    emulator.configure(security_token="temporary-session-token")
    try:
        values = dict(credentials(emulator, "aksk"), security_token="temporary-session-token")
        root = private_data_dir(tmp_path, awx_injected_env(values))
        out = update_inventory(root, awx_injected_env(values), tmp_path)[0]
        assert len(out["_meta"]["hostvars"]) == len(emulator.instances())
        # Without it, the gateway refuses the temporary key: the token really was sent.
        bare = awx_injected_env(credentials(emulator, "aksk"))
        err = update_inventory(private_data_dir(tmp_path, bare, name="bare"), bare, tmp_path, expect_ok=False)[1]
        assert "APIGW.0301" in err
    finally:
        emulator.configure(security_token="")


def test_an_inventory_update_as_awx_runs_it(steady, tmp_path):
    emulator = steady
    emulator.reset(instances=250, seed=5, mix=True)
    injected = awx_injected_env(credentials(emulator, "aksk"))
    root = private_data_dir(tmp_path, injected)
    out, err = update_inventory(root, injected, tmp_path)
    hostvars = untrusted_values(out["_meta"]["hostvars"])
    phones = emulator.instances()
    assert len(hostvars) == len(phones) == 250
    by_id = {variables["koophone_instance_id"]: name for name, variables in hostvars.items()}
    assert sorted(by_id) == sorted(phone["instance_id"] for phone in phones)
    running = {by_id[phone["instance_id"]] for phone in phones if phone["running_status"] == 2}
    assert set(out["koophone_status_running"]["hosts"]) == running
    assert all(secret not in json.dumps(out) and secret not in (err or "") for secret in SECRETS)
    assert {entry["auth"] for entry in api_requests(emulator)} == {"aksk"}
    assert_secrets_absent(root)


def sliced(inventory, number, count):
    """Slice ``number`` of ``count`` of an exported inventory, as AWX makes a sliced job's inventory:
    every count-th host in name order, the groups and their variables kept, pared down to those hosts."""
    hosts = sorted(inventory["_meta"]["hostvars"])[number - 1 :: count]
    keep = set(hosts)
    result = {"_meta": {"hostvars": {host: inventory["_meta"]["hostvars"][host] for host in hosts}}}
    for group, body in inventory.items():
        if group == "_meta":
            continue
        result[group] = dict(body)
        if "hosts" in body:
            result[group]["hosts"] = [host for host in body["hosts"] if host in keep]
    return result


def test_a_sliced_job_runs_each_phone_once(steady, tmp_path):
    emulator = steady
    emulator.reset(instances=250, seed=7, mix=True)
    running = sorted(phone["instance_id"] for phone in emulator.instances() if phone["running_status"] == 2)
    injected = awx_injected_env(credentials(emulator, "auth_token"))
    inventory = update_inventory(private_data_dir(tmp_path, injected, name="update"), injected, tmp_path)[0]
    emulator.clear_log()
    extravars = {
        "command": "getprop ro.build.version.release",
        "target": "koophone_status_running",
        "command_fail_hosts": False,
    }

    slice_hosts = []
    for number in (1, 2, 3):
        part = sliced(inventory, number, 3)
        slice_hosts.append(set(part["_meta"]["hostvars"]))
        root = private_data_dir(tmp_path, injected, name="slice-%d" % number, extravars=extravars, inventory=part)
        run_job(root, "slice-%d" % number)
    assert set.union(*slice_hosts) == set(inventory["_meta"]["hostvars"])
    assert sum(len(hosts) for hosts in slice_hosts) == len(inventory["_meta"]["hostvars"])

    submits = [entry for entry in api_requests(emulator) if entry["operation"] == "AsyncInvokeInstance"]
    commanded = sorted(i for entry in submits for i in entry["instance_ids"])
    assert commanded == running  # every running phone once, none twice
    assert len(submits) == 3  # one request per slice (each under 100 phones)


# ---------------------------------------------------------------------------- execution environments


def build_tarball(build, env):
    completed = subprocess.run(
        [str(BIN / "ansible-galaxy"), "collection", "build", str(REPO), "--output-path", str(build)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    (tarball,) = build.glob("koophone-cloud-*.tar.gz")
    return tarball


def test_the_ee_definition_makes_a_context_that_installs_the_collection(tmp_path):
    """ansible-builder create on extensions/ee/execution-environment.yml (version 3), in a copy of
    the layout it expects (the tarball at .build/ee/koophone-cloud.tar.gz), then the image build's
    galaxy step replayed on the context: it installs koophone.cloud with its requirements file."""
    layout = tmp_path / "repo"
    (layout / "extensions" / "ee").mkdir(parents=True)
    (layout / ".build" / "ee").mkdir(parents=True)
    shutil.copy(EE_DEFINITION, layout / "extensions" / "ee")
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_COLLECTIONS_PATH=str(tmp_path / "installed"))
    shutil.copy(build_tarball(tmp_path / "build", env), layout / ".build" / "ee" / "koophone-cloud.tar.gz")
    definition = yaml.safe_load(EE_DEFINITION.read_text())
    assert definition["version"] == 3

    context = tmp_path / "context"
    completed = subprocess.run(
        [str(BIN / "ansible-builder"), "create", "-f", str(layout / "extensions" / "ee" / "execution-environment.yml"),
         "-c", str(context)],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert completed.returncode == 0 and "warning" not in completed.stdout.lower(), completed.stdout + completed.stderr
    containerfile = next(path for path in (context / "Containerfile", context / "Dockerfile") if path.exists())
    assert "ansible-galaxy collection install" in containerfile.read_text()
    assert (context / "_build" / "collections" / "koophone-cloud.tar.gz").is_file()

    completed = subprocess.run(
        [str(BIN / "ansible-galaxy"), "collection", "install", "-r", "requirements.yml",
         "--collections-path", str(tmp_path / "installed")],
        cwd=context / "_build", env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout + completed.stderr
    installed = tmp_path / "installed" / "ansible_collections" / "koophone" / "cloud"
    assert (installed / "meta" / "execution-environment.yml").is_file()
    assert (installed / "requirements.txt").is_file()


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

    tarball = build_tarball(build, env)
    run(BIN / "ansible-galaxy", "collection", "install", tarball, "-p", installed)
    collection = installed / "ansible_collections" / "koophone" / "cloud"
    assert (collection / "plugins" / "inventory" / "koophone.py").is_file()
    # The benchmarks and tests are development tools: build_ignore keeps them out of the tarball.
    assert not (collection / "tests").exists() and not (collection / "extensions").exists()

    # What ansible-builder does while building an EE: read every collection's dependencies.
    found = yaml.safe_load(run(BIN / "ansible-builder", "introspect", installed))
    requirements = [line.split("#")[0].strip() for line in found["python"]]
    pinned = [line.strip() for line in (REPO / "requirements.txt").read_text().splitlines() if line.strip()]
    assert requirements == [line for line in pinned if not line.startswith("#")]
    assert any(line.startswith("requests") for line in requirements)
