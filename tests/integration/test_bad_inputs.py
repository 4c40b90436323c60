"""The bad-input catalogue: wrong inputs to every module and to the inventory plugin, one row each.

Each row (CASES: plugin, options, expected option name, expected rule, extra) must:

- fail (the task's registered result is failed; ansible-inventory exits non-zero),
- with a message that names the option (``option``) and states the rule (``rule``, a
  case-insensitive regular expression searched in the message without its "Invalid option"
  prefix, so a rule word cannot be matched by that prefix),
- a message shorter than 2,000 characters (a list of 5,001 ids must not be echoed back),
- with nothing changed, and no Python traceback in the result, stdout or stderr,
- having sent zero requests to the emulator (KooPhone API and IAM alike).

Rows hold the options exactly as a user writes them, on top of the module's valid BASE options.
``{hostport}`` in a string stands for the emulator's own ``127.0.0.1:PORT``: a scheme-less endpoint
that a lenient client could still reach, so the request log proves it did not. The ``extra`` column
sets the credentials in the environment (replacing the demo token every other row gets), more
environment, or ``unmasked``: the message must show its own words, not ``********`` (Ansible masks
a no_log option's value wherever it appears, so a message about ``url: https://`` must not spell
``https://``).

The module rows run in a few ansible-playbook processes (bad_inputs_module.yml, one start-up for
many cases), each against an emulator of its own; the playbook reads the emulator's log position
after every case, so each case's requests are counted on their own. Each inventory row is one
``ansible-inventory --list`` run against a fresh emulator. A control case per module runs its BASE
options alone: each is accepted and reaches the emulator, so a row fails because of its own wrong
input and nothing else.
"""

import json
import re
import subprocess

import pytest
from harness import AKSK, IAM_USER, TOKEN, api_requests, run_inventory, start_ansible_playbook

from koophone_emulator.launcher import start_emulator

TRACEBACK = "Traceback (most recent call last)"
MAX_MESSAGE = 2000
MASK = "********"
INVENTORY = "inventory"

SPEC = {"code_rate": 2000, "fps": 30}
SETTINGS = [
    {
        "network_type": network,
        "encoding_type": encoding,
        "definition_540p": SPEC,
        "definition_720p": SPEC,
        "definition_1080p": SPEC,
    }
    for network in ("WIFI", "MOBILE_NETWORK", "WIRED")
    for encoding in ("H264", "H265")
]
PHONES = ["zcvJLfq0", "mT6qZOpx"]  # replaced by real ids in the control test
APP = {
    "instance_ids": PHONES,
    "name": "com.example.catalogue",
    "version": "1.0",
    "url": "https://obs.example.com/apks/catalogue.apk",
    "size_mb": 10,
    "md5": "0123456789abcdef0123456789abcdef",
}
# Each module's valid options, which a row changes in one way (DROP removes an option).
BASE = {
    "koophone_instance": {"state": "restarted", "instance_ids": PHONES, "wait": False},
    "koophone_instance_info": {},
    "koophone_sku_info": {},
    "koophone_command": {"instance_ids": PHONES, "command": "getprop ro.build.version.release"},
    "koophone_task_info": {"task_ids": ["task-0001"]},
    "koophone_app": APP,
    "koophone_video": {"instance_ids": PHONES, "settings": SETTINGS, "record_file": "none"},
    "koophone_stream_session": {"instance_ids": PHONES, "state": "stopped"},
}
DROP = object()

NO_CREDENTIALS = {}
IAM_NO_DOMAIN = {k: v for k, v in IAM_USER.items() if k != "KOOPHONE_DOMAIN_NAME"}
IAM_NO_PROJECT = {k: v for k, v in IAM_USER.items() if k != "KOOPHONE_PROJECT_NAME"}
ONLY_PASSWORD = {"KOOPHONE_PASSWORD": IAM_USER["KOOPHONE_PASSWORD"]}
ONLY_SK = {"HUAWEICLOUD_SDK_SK": AKSK["KOOPHONE_SECRET_KEY"]}
ONLY_AK = {"KOOPHONE_ACCESS_KEY": AKSK["KOOPHONE_ACCESS_KEY"]}

# 5,001 ids, the last one too long; and 5,001 ids that all hold a '/'.
MANY_GOOD_ONE_LONG = ["kp%06d" % number for number in range(5000)] + ["x" * 33]
MANY_BAD = ["bad/%05d" % number for number in range(5001)]
MANY_ONE_EMPTY = ["kp%06d" % number for number in range(2500)] + [""] + ["kq%06d" % n for n in range(2500)]

ENDPOINT_RULE = r"https?://.*host|scheme"
CONTROL_RULE = r"control character|line break|newline"
FORBIDDEN_RULE = r"character|contain|letters"
REQUIRED_RULE = r"required|missing"
EMPTY_LIST_RULE = r"at least one|empty|missing|required"
DATE_RULE = r"not a (real|valid)|does not exist|impossible|out of range|no such|real date"
UNKNOWN_KEY_RULE = r"unknown|unsupported|not a (known|valid) option"

# plugin, options, expected option name, expected rule (regex), extra
CASES = [
    # ---------------------------------------------------------------- endpoints and iam_endpoint
    ("koophone_sku_info", {"endpoint": "{hostport}"}, "endpoint", ENDPOINT_RULE, {}),
    ("koophone_instance_info", {"endpoint": "ftp://{hostport}"}, "endpoint", ENDPOINT_RULE, {}),
    ("koophone_command", {"endpoint": ""}, "endpoint", r"empty", {}),
    ("koophone_task_info", {"endpoint": "http://"}, "endpoint", r"host", {}),
    ("koophone_video", {}, "endpoint", ENDPOINT_RULE, {"env": {"KOOPHONE_ENDPOINT": "{hostport}"}}),
    ("koophone_app", {"iam_endpoint": "{hostport}"}, "iam_endpoint", ENDPOINT_RULE, {"credentials": IAM_USER}),
    (
        "koophone_instance",
        {"iam_endpoint": "ftp://{hostport}"},
        "iam_endpoint",
        ENDPOINT_RULE,
        {"credentials": IAM_USER},
    ),
    ("koophone_stream_session", {"iam_endpoint": ""}, "iam_endpoint", r"empty", {"credentials": IAM_USER}),
    # ---------------------------------------------------------------- credentials: header values, missing, mixed
    ("koophone_stream_session", {"auth_token": "demo-token\r\nX-Injected: 1"}, "auth_token", CONTROL_RULE, {}),
    (
        "koophone_sku_info",
        {"security_token": "temporary\nX-Injected: 1"},
        "security_token",
        CONTROL_RULE,
        {"credentials": AKSK},
    ),
    ("koophone_instance_info", {"project_id": "0a1b2c3d\r"}, "project_id", CONTROL_RULE, {"credentials": AKSK}),
    ("koophone_instance_info", {}, "auth_token", r"credentials", {"credentials": NO_CREDENTIALS}),
    ("koophone_command", {}, "secret_key", REQUIRED_RULE, {"credentials": ONLY_AK}),
    ("koophone_video", {}, "access_key", REQUIRED_RULE, {"credentials": ONLY_SK}),
    ("koophone_app", {}, "domain_name", REQUIRED_RULE, {"credentials": IAM_NO_DOMAIN}),
    ("koophone_task_info", {}, "username", REQUIRED_RULE, {"credentials": ONLY_PASSWORD}),
    ("koophone_instance", {}, "project_name", REQUIRED_RULE, {"credentials": IAM_NO_PROJECT}),
    # ---------------------------------------------------------------- TLS and tuning
    ("koophone_instance", {"ca_path": "/nonexistent/koophone-ca.pem"}, "ca_path", r"does not exist|not found", {}),
    ("koophone_sku_info", {"timeout": 0}, "timeout", r"1 and 600", {}),
    ("koophone_sku_info", {"timeout": "soon"}, "timeout", r"\bint\b", {}),
    ("koophone_command", {"retries": 21}, "retries", r"0 and 20", {}),
    ("koophone_video", {"concurrency": 65}, "concurrency", r"1 and 64", {}),
    ("koophone_instance_info", {"validate_certs": "perhaps"}, "validate_certs", r"bool", {}),
    # ---------------------------------------------------------------- koophone_instance
    ("koophone_instance", {"state": "running"}, "state", r"must be one of", {}),
    (
        "koophone_instance",
        {"state": "present", "instance_ids": DROP, "name_prefix": "p" * 15, "count": 1},
        "name_prefix",
        r"14",
        {},
    ),
    (
        "koophone_instance",
        {"state": "present", "instance_ids": DROP, "name_prefix": "shop", "count": 100000},
        "count",
        r"between 1 and \d+",
        {},
    ),
    (
        "koophone_instance",
        {"state": "present", "instance_ids": DROP, "name_prefix": "shop", "count": "many"},
        "count",
        r"\bint\b",
        {},
    ),
    ("koophone_instance", {"name_prefix": "shop"}, "name_prefix", r"mutually exclusive", {}),
    ("koophone_instance", {"state": "assigned"}, "user_id", REQUIRED_RULE, {}),
    ("koophone_instance", {"state": "absent", "instance_ids": ["phone 01"]}, "instance_ids", FORBIDDEN_RULE, {}),
    ("koophone_instance", {"state": "absent", "instance_ids": MANY_ONE_EMPTY}, "instance_ids", r"empty", {}),
    ("koophone_instance", {"state": "absent", "instance_ids": []}, "instance_ids", EMPTY_LIST_RULE, {}),
    (
        "koophone_instance",
        {
            "state": "present",
            "instance_ids": DROP,
            "name_prefix": "shop",
            "count": 1,
            "period_type": "year",
            "period_num": 4,
        },
        "period_num",
        r"1 and 3",
        {},
    ),
    # ---------------------------------------------------------------- koophone_instance_info
    ("koophone_instance_info", {"instance_ids": MANY_GOOD_ONE_LONG}, "instance_ids", r"32", {}),
    ("koophone_instance_info", {"instance_ids": ["zcvJLfq0", "bad#id"]}, "instance_ids", FORBIDDEN_RULE, {}),
    ("koophone_instance_info", {"query_start_time": "2024-02-30 25:61:61"}, "query_start_time", DATE_RULE, {}),
    (
        "koophone_instance_info",
        {"query_start_time": "2024-02-01 00:00:00", "query_end_time": "2024-01-01 00:00:00"},
        "query_end_time",
        r"earlier",
        {},
    ),
    ("koophone_instance_info", {"page_size": 201}, "page_size", r"1 and 200", {}),
    ("koophone_instance_info", {"pool_scene_tag": "CLOUD_GAME"}, "pool_scene_tag", r"must be one of", {}),
    ("koophone_instance_info", {"instance_name": "n" * 129}, "instance_name", r"128", {}),
    # ---------------------------------------------------------------- koophone_sku_info
    ("koophone_sku_info", {"sku_type": "GOLD"}, "sku_type", r"must be one of", {}),
    ("koophone_sku_info", {"regions": ["cn-north-4"]}, "regions", r"unsupported", {}),
    # ---------------------------------------------------------------- koophone_command
    ("koophone_command", {"command": ""}, "command", r"must not be empty", {}),
    ("koophone_command", {"command": "x" * 1025}, "command", r"1024 bytes", {}),
    # 342 characters, 1,026 bytes: the limit is in bytes.
    ("koophone_command", {"command": "echo " + "\u4e2d" * 341}, "command", r"1024 bytes", {}),
    ("koophone_command", {"mode": "later"}, "mode", r"must be one of", {}),
    ("koophone_command", {"wait_timeout": 0}, "wait_timeout", r"between", {}),
    ("koophone_command", {"instance_ids": []}, "instance_ids", EMPTY_LIST_RULE, {}),
    ("koophone_command", {"instance_ids": {"zcvJLfq0": 1}}, "instance_ids", r"list", {}),
    ("koophone_command", {"instance_ids": MANY_BAD}, "instance_ids", FORBIDDEN_RULE, {}),
    # ---------------------------------------------------------------- koophone_task_info
    ("koophone_task_info", {"task_ids": ["../instances"]}, "task_ids", r"letters, digits", {}),
    ("koophone_task_info", {"task_ids": ["t" * 65]}, "task_ids", r"64", {}),
    ("koophone_task_info", {"task_ids": []}, "task_ids", EMPTY_LIST_RULE, {}),
    ("koophone_task_info", {"wait": "sometimes"}, "wait", r"bool", {}),
    # ---------------------------------------------------------------- koophone_app
    ("koophone_app", {"url": "https://obs.example.com/my apps/a.apk"}, "url", r"space", {}),
    ("koophone_app", {"url": "https://obs.example.com/a.apk\nb.apk"}, "url", CONTROL_RULE, {}),
    ("koophone_app", {"url": "http://obs.example.com/a.apk"}, "url", r"https|secure", {}),
    ("koophone_app", {"url": "https://"}, "url", r"host", {"unmasked": True}),
    ("koophone_app", {"file_name": "a\nb.apk"}, "file_name", CONTROL_RULE, {}),
    ("koophone_app", {"size_mb": 2049}, "size_mb", r"2048", {}),
    ("koophone_app", {"size_mb": "big"}, "size_mb", r"float", {}),
    ("koophone_app", {"name": "com.example;reboot"}, "name", r"package name", {}),
    ("koophone_app", {"url": DROP}, "url", REQUIRED_RULE, {}),
    ("koophone_app", {"instance_ids": ["tab\tid"]}, "instance_ids", FORBIDDEN_RULE, {}),
    # ---------------------------------------------------------------- koophone_video
    ("koophone_video", {"settings": SETTINGS[:5]}, "settings", r"six|WIRED.*H265", {}),
    (
        "koophone_video",
        {"settings": SETTINGS[:5] + [dict(SETTINGS[5], definition_540p={"code_rate": 150, "fps": 30})]},
        "code_rate",
        r"multiple of 100",
        {},
    ),
    (
        "koophone_video",
        {"settings": SETTINGS[:5] + [dict(SETTINGS[5], definition_1080p={"code_rate": 2000, "fps": 45})]},
        "fps",
        r"30.*60",
        {},
    ),
    ("koophone_video", {"defaults": {"definition_540p": SPEC}}, "settings", r"mutually exclusive", {}),
    ("koophone_video", {"settings": DROP}, "settings", r"one of the following is required", {}),
    ("koophone_video", {"instance_ids": ["id?x=1"]}, "instance_ids", FORBIDDEN_RULE, {}),
    # ---------------------------------------------------------------- koophone_stream_session
    ("koophone_stream_session", {"state": "paused"}, "state", r"must be one of", {}),
    ("koophone_stream_session", {"instance_ids": []}, "instance_ids", EMPTY_LIST_RULE, {}),
    (
        "koophone_stream_session",
        {"instance_ids": ["../../v1/x"], "state": "authorized"},
        "instance_ids",
        FORBIDDEN_RULE,
        {},
    ),
    ("koophone_stream_session", {"instance_ids": ["y" * 33]}, "instance_ids", r"32", {}),
    # ---------------------------------------------------------------- the inventory plugin
    (INVENTORY, {"region": ["cn-north-4"]}, "region", UNKNOWN_KEY_RULE, {}),
    (INVENTORY, {"include_filter": [{"region": "cn-north-4"}]}, "include_filter", UNKNOWN_KEY_RULE, {}),
    (INVENTORY, {"running_status": []}, "running_status", r"empty|at least one", {}),
    (INVENTORY, {"running_status": ["flying"]}, "running_status", r"not a known status", {}),
    (INVENTORY, {"query_start_time": "2024-02-30 25:61:61"}, "query_start_time", DATE_RULE, {}),
    (
        INVENTORY,
        {"include_filters": ["koophone_instance_name is match('game-'"]},
        "include_filters",
        r"jinja|syntax",
        {},
    ),
    (INVENTORY, {"include_filters": ["koophone_region | no_such_filter"]}, "include_filters", r"jinja|filter", {}),
    (INVENTORY, {"group_prefix": "kp-fleet "}, "group_prefix", r"letters, digits|character", {}),
    (INVENTORY, {"endpoint": "{hostport}"}, "endpoint", ENDPOINT_RULE, {}),
    (INVENTORY, {"endpoint": "ftp://{hostport}"}, "endpoint", ENDPOINT_RULE, {}),
    (INVENTORY, {"auth_token": "demo-token\nX-Injected: 1"}, "auth_token", CONTROL_RULE, {}),
    (INVENTORY, {"ca_path": "/nonexistent/koophone-ca.pem"}, "ca_path", r"does not exist|not found", {}),
    (INVENTORY, {"page_size": 500}, "page_size", r"1 and 200", {}),
    (INVENTORY, {}, "auth_token", r"credentials", {"credentials": NO_CREDENTIALS}),
    (INVENTORY, {}, "secret_key", REQUIRED_RULE, {"credentials": ONLY_AK}),
    (INVENTORY, {"default_groups": ["colour"]}, "default_groups", r"valid|must be one of|choices", {}),
    (INVENTORY, {"hostnames": ["instance_nmae"]}, "hostnames", r"neither a batch-query field", {}),
]


def _case_id(index_case):
    index, (plugin, _options, option, _rule, _extra) = index_case
    return "%02d-%s-%s" % (index + 1, plugin.replace("koophone_", ""), option)


def _with_emulator(value, emulator):
    """``{hostport}`` in any string of ``value`` -> the emulator's 127.0.0.1:PORT."""
    hostport = emulator.url.split("://", 1)[1]
    if isinstance(value, str):
        return value.replace("{hostport}", hostport)
    if isinstance(value, dict):
        return {key: _with_emulator(item, emulator) for key, item in value.items()}
    if isinstance(value, list):
        return [_with_emulator(item, emulator) for item in value]
    return value


def _module_args(plugin, options):
    args = dict(BASE[plugin])
    for name, value in options.items():
        if value is DROP:
            args.pop(name, None)
        else:
            args[name] = value
    return args


def _rule_text(message):
    """The message without the "Invalid option" words every module and the plugin put first."""
    return re.sub(r"invalid option", "", message, flags=re.IGNORECASE)


def _inventory_message(stderr):
    """What the koophone plugin said, out of ansible-inventory's stderr (which also holds the other
    inventory plugins' complaints about the same file: the ini plugin quotes its first line)."""
    block = re.search(
        r"with 'auto' plugin\.\s*<<< caused by >>>\s*(.*?)\nOrigin: <inventory plugin 'auto'", stderr, re.DOTALL
    )
    if block:
        return block.group(1).strip()
    line = re.search(r"Failed to parse \S* ?with '?auto'? plugin: (.*)", stderr)
    return line.group(1).strip() if line else ""


def _case_environment(extra, emulator):
    """What a module case runs with: its credentials (the demo token unless the row says), then its env."""
    environment = dict(TOKEN if extra.get("credentials") is None else extra["credentials"])
    environment.update(_with_emulator(extra.get("env", {}), emulator))
    return environment


class Outcomes:
    """The module cases' results, and the API requests each case sent, from the runs of all shards."""

    def __init__(self):
        self.results, self.requests, self.unattributed, self.runs = {}, {}, [], []

    def add(self, completed, results, log):
        """One shard: its ansible-playbook run, its results, and its emulator's log."""
        self.runs.append(completed)
        self.results.update(results)
        marks = sorted((entry["log_mark"], key) for key, entry in results.items())
        sent = [entry for entry in log if not entry["path"].startswith("/_emulator")]
        # A case's requests were logged after the previous case's mark and before its own.
        previous = 0
        for mark, key in marks:
            self.requests[key] = [entry for entry in sent if previous < entry["seq"] <= mark]
            previous = mark
        self.unattributed.extend(entry for entry in sent if entry["seq"] > previous)

    @property
    def output(self):
        return "".join(run.stdout + run.stderr for run in self.runs)

    def __repr__(self):
        return "\n".join(
            "rc=%s\n--- stdout\n%s\n--- stderr\n%s" % (run.returncode, run.stdout[-4000:], run.stderr[-2000:])
            for run in self.runs
        )


# The module cases run in this many ansible-playbook processes at once, each against an emulator of
# its own (so that each log tells its cases apart): a module run is mostly Python start-up.
SHARDS = 3


def _shard_cases(emulator, shard):
    """The module cases and control cases of one shard, for its emulator."""
    phones = [phone["instance_id"] for phone in emulator.instances()[:2]]
    cases = []
    for index, (plugin, options, _option, _rule, extra) in enumerate(CASES):
        if plugin != INVENTORY and index % SHARDS == shard:
            cases.append(
                dict(
                    key=_case_id((index, CASES[index])),
                    module=plugin,
                    args=_with_emulator(_module_args(plugin, options), emulator),
                    environment=_case_environment(extra, emulator),
                )
            )
    for number, plugin in enumerate(sorted(BASE)):
        if number % SHARDS == shard:
            args = dict(BASE[plugin], **({"instance_ids": phones} if "instance_ids" in BASE[plugin] else {}))
            cases.append(dict(key="control-" + plugin, module=plugin, args=args, environment=dict(TOKEN)))
    return cases


@pytest.fixture(scope="module")
def module_outcomes(emulator_process, tmp_path_factory):
    """Every module case, then the control cases, in SHARDS concurrent ansible-playbook runs.

    Within a run the cases go one after the other, and each case's requests are told apart by the
    emulator's log position, which the playbook reads after every case (through the emulator's
    control API, whose own calls api_requests leaves out).
    """
    emulators = [emulator_process] + [start_emulator("--instances", "20", "--quiet") for _shard in range(SHARDS - 1)]
    try:
        runs = []
        for shard, emulator in enumerate(emulators):
            emulator.reset(instances=20, seed=1, mix=False)
            emulator.clear_log()
            workdir = tmp_path_factory.mktemp("bad_inputs_%d" % shard)
            cases = _shard_cases(emulator, shard)
            process = start_ansible_playbook(
                emulator, workdir, "bad_inputs_module.yml", credentials={}, extra_vars={"cases": cases}
            )
            runs.append((emulator, workdir, cases, process))
        outcomes = Outcomes()
        for emulator, workdir, cases, process in runs:
            process.wait(timeout=1800)
            completed = subprocess.CompletedProcess(
                process.args, process.returncode, (workdir / "stdout").read_text(), (workdir / "stderr").read_text()
            )
            outcome_file = workdir / "outcomes.json"
            results = json.loads(outcome_file.read_text()) if outcome_file.exists() else {}
            outcomes.add(completed, results, emulator.log())
            assert completed.returncode == 0 and len(results) == len(cases), outcomes
    finally:
        for emulator in emulators[1:]:
            emulator.stop()
    emulator_process.reset(instances=20, seed=1, mix=False)
    emulator_process.clear_log()
    return outcomes


def _check_message(message, option, rule, extra, output):
    assert message, "no message: %s" % output[-3000:]
    assert option in message, "the message does not name %s: %s" % (option, message[:MAX_MESSAGE])
    assert re.search(rule, _rule_text(message), re.IGNORECASE | re.DOTALL), "the message does not say %r: %s" % (
        rule,
        message[:MAX_MESSAGE],
    )
    assert len(message) < MAX_MESSAGE, "a %d-character message: %s..." % (len(message), message[:500])
    if extra.get("unmasked"):
        assert MASK not in message, "the message masks its own words: %s" % message


def _check_nothing_sent(sent):
    assert sent == [], "%d requests were sent: %s" % (
        len(sent),
        ["%s %s %s" % (entry["method"], entry["path"], entry["status"]) for entry in sent[:5]],
    )


MODULE_CASES = [pair for pair in enumerate(CASES) if pair[1][0] != INVENTORY]
INVENTORY_CASES = [pair for pair in enumerate(CASES) if pair[1][0] == INVENTORY]


@pytest.mark.parametrize("index_case", MODULE_CASES, ids=_case_id)
def test_a_wrong_module_input_fails_naming_the_option_and_rule_before_any_request(index_case, module_outcomes):
    plugin, _options, option, rule, extra = index_case[1]
    key = _case_id(index_case)
    outcome = module_outcomes.results[key]["outcome"]
    message = outcome.get("msg") or ""
    assert outcome.get("failed") is True, "the module accepted it: %s" % json.dumps(outcome)[:3000]
    assert outcome.get("changed") is not True, "a refused input reported a change: %s" % message[:MAX_MESSAGE]
    assert not message.startswith("Unexpected error"), message[:MAX_MESSAGE]
    assert TRACEBACK not in json.dumps(outcome), json.dumps(outcome)[:3000]
    _check_message(message, option, rule, extra, json.dumps(outcome))
    _check_nothing_sent(module_outcomes.requests[key])


@pytest.mark.parametrize("index_case", INVENTORY_CASES, ids=_case_id)
def test_a_wrong_inventory_input_fails_naming_the_option_and_rule_before_any_request(index_case, emulator, tmp_path):
    _plugin, options, option, rule, extra = index_case[1]
    completed, data = run_inventory(
        emulator,
        tmp_path,
        _with_emulator(options, emulator),
        credentials=extra.get("credentials"),
        env=_with_emulator(extra.get("env", {}), emulator),
        timeout=120,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode != 0, "ansible-inventory accepted it: %s" % output[-3000:]
    assert data is None
    assert TRACEBACK not in output, output[-3000:]
    _check_message(_inventory_message(completed.stderr), option, rule, extra, output)
    _check_nothing_sent(api_requests(emulator))


def test_the_module_cases_printed_no_traceback_and_sent_nothing_unaccounted(module_outcomes):
    output = module_outcomes.output
    assert TRACEBACK not in output, output[output.index(TRACEBACK) - 2000 :][:4000]
    assert module_outcomes.unattributed == []


def test_the_catalogue_covers_every_module_and_the_inventory_plugin():
    plugins = {case[0] for case in CASES}
    assert plugins == set(BASE) | {INVENTORY}
    assert len(CASES) >= 40
    assert len({_case_id(pair) for pair in enumerate(CASES)}) == len(CASES)


@pytest.mark.parametrize("plugin", sorted(BASE))
def test_the_base_options_are_accepted(plugin, module_outcomes):
    """Without a row's change, each module's options pass validation and reach the emulator."""
    key = "control-" + plugin
    message = module_outcomes.results[key]["outcome"].get("msg") or ""
    assert not message.lower().startswith(("invalid option", "unsupported parameters", "argument ")), message
    assert "value of" not in message and "mutually exclusive" not in message, message
    assert module_outcomes.requests[key], "%s sent nothing with its base options: %s" % (plugin, message)
