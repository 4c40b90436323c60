"""No secret leaks: every module and the inventory plugin, at -vvvv, directly and under ansible-runner.

The emulator is configured with distinctive credentials (its demo ones are short words that could
appear anywhere): an IAM password, a secret key, a security token that AK/SK requests must carry,
and a static auth token. secrets_modules.yml uses each of them with every module, plus wrong ones,
a token with a line break and an app URL carrying a signature; it keeps the device tokens it was
handed in a no_log file. Then none of these values, nor the IAM tokens the emulator issued, may
appear in stdout, stderr, the ANSIBLE_LOG_PATH file, any job event or other runner artifact, the
registered results written out, the inventory's output or its cache. The IAM token cache is a 0700
directory of 0600 files that hold a token and its times, never the password or the secret key.

Every search is for the whole value and for a distinctive part of it (a value is sometimes cut,
wrapped or quoted with escapes), and the tests prove they searched real output: the run happened at
-vvvv, each secret was used (the emulator's log shows each kind of authentication), and the
device tokens were really issued.
"""

import glob
import json
import os
import stat
import subprocess
import sys

import pytest
import yaml
from harness import AKSK, IAM_USER, ansible_environment, api_requests, inventory_environment

BIN = os.path.dirname(sys.executable)
PLAYBOOKS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "playbooks")

PASSWORD = "Pw-9c41e7d2-iam-password-secret"
SECRET_KEY = "Sk-5b8e0f3a9d17-koophone-secret-access-key"
SECURITY_TOKEN = "St-2f6a8c1e4b90-temporary-security-token"
AUTH_TOKEN = "Tk-7d3b5e9a1c28-static-auth-token"
APP_SIGNATURE = "Sig-4e1a7c9b3d52-obs-url-signature"
APP_URL = "https://obs.example.com/apks/secrets.apk?AccessKeyId=OBSAK0001&Expires=1900000000&Signature=" + APP_SIGNATURE
WRONG = {
    "wrong_password": "Wp-8a2c4e6f1b37-not-the-password",
    "wrong_secret_key": "Ws-1d9f3b7e5a24-not-the-secret-key",
    "wrong_auth_token": "Wt-6c0e2a4d8f13-not-a-token",
    # The part before the line break is what must not show.
    "crlf_auth_token": "Wc-3e5a7c9b1d46-token-with-crlf\r\nX-Injected: 1",
}
SECRETS = dict(
    password=PASSWORD,
    secret_key=SECRET_KEY,
    security_token=SECURITY_TOKEN,
    auth_token=AUTH_TOKEN,
    app_url=APP_URL,
    app_signature=APP_SIGNATURE,
    wrong_password=WRONG["wrong_password"],
    wrong_secret_key=WRONG["wrong_secret_key"],
    wrong_auth_token=WRONG["wrong_auth_token"],
    crlf_auth_token=WRONG["crlf_auth_token"].split("\r", maxsplit=1)[0],
)
DEMO = {
    "iam_password": IAM_USER["KOOPHONE_PASSWORD"],
    "secret_key": AKSK["KOOPHONE_SECRET_KEY"],
    "security_token": "",
    "static_token": "demo-token",
}
# How IAM login is configured in the environment of every run (the AWX way); the password is ours.
IAM_ENV = dict(IAM_USER, KOOPHONE_PASSWORD=PASSWORD)
EVIDENCE_OF_VVVV = "ESTABLISH LOCAL CONNECTION"


@pytest.fixture
def distinctive(emulator):
    """The emulator with the distinctive credentials; its demo ones back afterwards, whatever happens."""
    emulator.configure(
        iam_password=PASSWORD, secret_key=SECRET_KEY, security_token=SECURITY_TOKEN, static_token=AUTH_TOKEN
    )
    try:
        yield emulator
    finally:
        emulator.configure(**DEMO)


def fragments(value):
    """The value and distinctive parts of it: a leak may be cut, wrapped or escaped."""
    parts = {value}
    if len(value) >= 24:
        parts.update({value[:16], value[-16:]})
    return parts


def leaks(text, secrets):
    """Names of the secrets of which ``text`` holds the value or a distinctive part."""
    return sorted(name for name, value in secrets.items() if any(part in text for part in fragments(value)))


def play_variables(emulator):
    running = [phone["instance_id"] for phone in emulator.instances() if phone["running_status"] == 2]
    stopped = running[2]
    emulator.patch_instance(stopped, running_status=1)
    return dict(
        WRONG,
        kp_username=IAM_USER["KOOPHONE_USERNAME"],
        kp_password=PASSWORD,
        kp_domain_name=IAM_USER["KOOPHONE_DOMAIN_NAME"],
        kp_project_name=IAM_USER["KOOPHONE_PROJECT_NAME"],
        kp_access_key=AKSK["KOOPHONE_ACCESS_KEY"],
        kp_secret_key=SECRET_KEY,
        kp_security_token=SECURITY_TOKEN,
        kp_project_id=AKSK["KOOPHONE_PROJECT_ID"],
        kp_auth_token=AUTH_TOKEN,
        kp_app_url=APP_URL,
        phones=running[:2],
        stopped_phone=stopped,
    )


def device_tokens(output_dir):
    with open(os.path.join(str(output_dir), "sessions.json")) as handle:
        sessions = json.load(handle)
    tokens = [
        entry["device_token"]
        for result in sessions.values()
        for entry in result.get("sessions", [])
        if entry.get("device_token")
    ]
    assert len(tokens) == 3, sessions  # two phones, then one of two
    return {"device_token_%d" % number: token for number, token in enumerate(tokens)}


def issued_tokens(token_dir):
    """The IAM tokens in the cache, after checking its modes and that it holds nothing else."""
    assert stat.S_IMODE(os.stat(token_dir).st_mode) == 0o700
    files = glob.glob(os.path.join(str(token_dir), "*"))
    assert files, "no IAM token was cached"
    tokens = {}
    for number, path in enumerate(sorted(files)):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, path
        with open(path) as handle:
            text = handle.read()
        assert leaks(text, {"password": PASSWORD, "secret_key": SECRET_KEY, "security_token": SECURITY_TOKEN}) == []
        record = json.loads(text)
        assert set(record) <= {"token", "expires_at", "issued_at"}, record
        tokens["issued_token_%d" % number] = record["token"]
    return tokens


def assert_every_secret_was_used(emulator):
    requests = api_requests(emulator)
    kinds = {entry["auth"] for entry in requests if entry["path"].startswith("/v1/") and entry["status"] == 200}
    assert {"token", "aksk", "iam-token"} <= kinds, kinds
    logins = [entry for entry in requests if entry["path"] == "/v3/auth/tokens"]
    # The option login, the environment login (then cached), the wrong password.
    assert [entry["status"] for entry in logins].count(201) + [entry["status"] for entry in logins].count(200) >= 2
    assert any(entry["status"] == 401 for entry in logins)


def test_no_secret_leaks_from_any_module_at_vvvv(run_playbook, distinctive, tmp_path):
    emulator = distinctive
    log_path = tmp_path / "ansible.log"
    run = run_playbook(
        "secrets_modules.yml",
        credentials=IAM_ENV,
        extra_vars=play_variables(emulator),
        args=["-vvvv"],
        env={"ANSIBLE_LOG_PATH": str(log_path)},
    )
    assert EVIDENCE_OF_VVVV in run.stdout
    assert_every_secret_was_used(emulator)
    secrets = dict(SECRETS, **device_tokens(tmp_path))
    secrets.update(issued_tokens(tmp_path / "tokens"))
    log = log_path.read_text()
    assert "Device tokens" in log
    with open(tmp_path / "results.json") as handle:
        results = handle.read()
    assert "skus_by_password_env" in results
    found = {
        "stdout": leaks(run.stdout, secrets),
        "stderr": leaks(run.stderr, secrets),
        "log": leaks(log, secrets),
        "results.json": leaks(results, secrets),
    }
    assert found == {"stdout": [], "stderr": [], "log": [], "results.json": []}


def runner_private_data_dir(emulator, tmp_path, variables, log_path):
    """What AWX hands ansible-runner: the credential in env/envvars, extra vars, the project, an inventory."""
    root = tmp_path / "runner"
    for sub in ("env", "inventory", "project"):
        (root / sub).mkdir(parents=True)
    environment = dict(
        IAM_ENV,
        KOOPHONE_ENDPOINT=emulator.url,
        KOOPHONE_IAM_ENDPOINT=emulator.url,
        KOOPHONE_TOKEN_CACHE_DIR=str(tmp_path / "tokens"),
        ANSIBLE_COLLECTIONS_PATH=ansible_environment(emulator, tmp_path)["ANSIBLE_COLLECTIONS_PATH"],
        ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false",
        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
        ANSIBLE_LOCALHOST_WARNING="false",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_LOG_PATH=str(log_path),
    )
    (root / "env" / "envvars").write_text(yaml.safe_dump(environment))
    (root / "env" / "extravars").write_text(json.dumps(variables))
    # The inventory plugin runs too (IAM login from the same environment), at the same verbosity.
    (root / "inventory" / "fleet.koophone.yml").write_text("plugin: koophone.cloud.koophone\n")
    with open(os.path.join(PLAYBOOKS, "secrets_modules.yml")) as source:
        (root / "project" / "secrets_modules.yml").write_text(source.read())
    return root


def test_no_secret_leaks_under_ansible_runner_at_vvvv(distinctive, tmp_path):
    emulator = distinctive
    output_dir = tmp_path / "output"  # outside the private data dir: sessions.json holds the device tokens
    output_dir.mkdir()
    log_path = tmp_path / "ansible.log"
    variables = dict(play_variables(emulator), output_dir=str(output_dir), emulator_url=emulator.url)
    root = runner_private_data_dir(emulator, tmp_path, variables, log_path)
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("KOOPHONE_", "HUAWEICLOUD_SDK_"))}
    environment["PATH"] = BIN + os.pathsep + environment.get("PATH", "")
    completed = subprocess.run(
        [os.path.join(BIN, "ansible-runner"), "run", str(root), "-p", "secrets_modules.yml", "--ident", "job", "-vvvv"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    artifacts = root / "artifacts" / "job"
    stdout = (artifacts / "stdout").read_text() if (artifacts / "stdout").exists() else ""
    assert completed.returncode == 0, stdout[-6000:] + completed.stdout[-3000:] + completed.stderr[-3000:]
    assert (artifacts / "status").read_text() == "successful"
    assert EVIDENCE_OF_VVVV in stdout
    events = list((artifacts / "job_events").glob("*.json"))
    assert len(events) > 20
    assert_every_secret_was_used(emulator)
    secrets = dict(SECRETS, **device_tokens(output_dir))
    secrets.update(issued_tokens(tmp_path / "tokens"))

    # The runner's inputs hold secrets by design: what AWX's credential store and the job's extra
    # vars wrote, and artifacts/<ident>/command, the runner's record of the environment it was given.
    inputs = {root / "env" / "envvars", root / "env" / "extravars"} | set(root.glob("artifacts/*/command"))
    written = [path for path in root.rglob("*") if path.is_file() and path not in inputs]
    found = {str(path.relative_to(root)): leaks(path.read_text(errors="replace"), secrets) for path in written}
    found["ansible-runner stdout"] = leaks(completed.stdout, secrets)
    found["ansible-runner stderr"] = leaks(completed.stderr, secrets)
    found["ANSIBLE_LOG_PATH"] = leaks(log_path.read_text(), secrets)
    found["results.json"] = leaks((output_dir / "results.json").read_text(), secrets)
    assert {name: names for name, names in found.items() if names} == {}


def run_inventory_vvvv(emulator, tmp_path, config, credentials, name="fleet.koophone.yml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(dict({"plugin": "koophone.cloud.koophone"}, **config)))
    log_path = tmp_path / ("%s.log" % name)
    listing = tmp_path / ("%s.list.json" % name)
    environment = inventory_environment(emulator, tmp_path / "tokens", credentials, {"ANSIBLE_LOG_PATH": str(log_path)})
    completed = subprocess.run(
        [os.path.join(BIN, "ansible-inventory"), "-i", str(path), "--list", "--output", str(listing), "-vvvv"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return (
        completed,
        log_path.read_text() if log_path.exists() else "",
        listing.read_text() if listing.exists() else "",
    )


INVENTORY_SETUPS = [
    # name, configuration file, credentials in the environment, expected auth kind, the run succeeds
    (
        "aksk-in-the-file",
        {
            "access_key": AKSK["KOOPHONE_ACCESS_KEY"],
            "secret_key": SECRET_KEY,
            "security_token": SECURITY_TOKEN,
            "cache": True,
            "cache_plugin": "ansible.builtin.jsonfile",
        },
        {},
        "aksk",
        True,
    ),
    ("token-in-the-file", {"auth_token": AUTH_TOKEN}, {}, "token", True),
    ("password-from-the-environment", {}, IAM_ENV, "iam-token", True),
    (
        "aksk-from-the-environment",
        {},
        {
            "HUAWEICLOUD_SDK_AK": AKSK["KOOPHONE_ACCESS_KEY"],
            "HUAWEICLOUD_SDK_SK": SECRET_KEY,
            "KOOPHONE_SECURITY_TOKEN": SECURITY_TOKEN,
        },
        "aksk",
        True,
    ),
    ("wrong-password", {}, dict(IAM_ENV, KOOPHONE_PASSWORD=WRONG["wrong_password"]), None, False),
    (
        "wrong-secret-key",
        {"access_key": AKSK["KOOPHONE_ACCESS_KEY"], "secret_key": WRONG["wrong_secret_key"]},
        {"KOOPHONE_SECURITY_TOKEN": SECURITY_TOKEN},
        None,
        False,
    ),
    ("token-with-a-line-break", {"auth_token": WRONG["crlf_auth_token"]}, {}, None, False),
]


@pytest.mark.parametrize("setup", INVENTORY_SETUPS, ids=[setup[0] for setup in INVENTORY_SETUPS])
def test_no_secret_leaks_from_the_inventory_plugin_at_vvvv(setup, distinctive, tmp_path):
    emulator = distinctive
    name, config, credentials, auth, succeeds = setup
    if config.get("cache"):
        config = dict(config, cache_connection=str(tmp_path / "inventory-cache"))
    completed, log, listing = run_inventory_vvvv(emulator, tmp_path, config, credentials)
    output = completed.stdout + completed.stderr
    assert "koophone" in log  # the log file was written, at this verbosity
    if succeeds:
        assert completed.returncode == 0, output[-4000:]
        assert len(json.loads(listing)["_meta"]["hostvars"]) == len(emulator.instances())
        assert {entry["auth"] for entry in api_requests(emulator) if entry["path"].startswith("/v1/")} == {auth}
    else:
        assert completed.returncode != 0, output[-4000:]
    secrets = dict(SECRETS)
    if os.path.isdir(tmp_path / "tokens"):
        secrets.update(issued_tokens(tmp_path / "tokens"))
    found = {"stdout": leaks(completed.stdout, secrets), "stderr": leaks(completed.stderr, secrets)}
    found["log"] = leaks(log, secrets)
    found["--list"] = leaks(listing, secrets)
    for path in glob.glob(str(tmp_path / "inventory-cache" / "*")):
        with open(path, errors="replace") as handle:
            found[os.path.basename(path)] = leaks(handle.read(), secrets)
    if config.get("cache"):
        assert glob.glob(str(tmp_path / "inventory-cache" / "*")), "the inventory cache was not written"
    assert {where: names for where, names in found.items() if names} == {}, name
