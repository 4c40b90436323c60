"""The inventory plugin end to end: real ansible-inventory and ansible-playbook runs against the emulator.

The emulator's control API is the independent truth: every expected host, variable and group is
computed here from its state, and its request log shows what the plugin sent.
"""

import json
import math
import os
import re
import subprocess
import sys
from collections import Counter

import pytest
import yaml
from harness import AKSK, IAM_USER, api_requests, inventory_environment, untrusted_values

ANSIBLE_INVENTORY = os.path.join(os.path.dirname(sys.executable), "ansible-inventory")
PLUGIN = "koophone.cloud.koophone"
BATCH_QUERY = "/v1/instances/batch-query"
# The batch-query result fields (reference Table 4-72): with hostvars: full every one becomes a
# koophone_* host variable; by default (hostvars: lean) only LEAN_FIELDS do (no status name).
FIELDS = [
    "instance_id",
    "instance_name",
    "region",
    "instance_sku",
    "frozen_status",
    "running_status",
    "login_status",
    "assign_status",
    "assign_user",
    "billing_mode",
    "project_id",
    "project_name",
    "phone_id",
    "member_name",
    "account_name",
    "region_name",
    "region_name_en",
    "backup_status",
    "backup_time",
    "restore_status",
    "restore_time",
]
LEAN_FIELDS = ["instance_id", "instance_name", "region", "running_status", "assign_status", "assign_user"]
STATUS_NAMES = ["running_status_name", "assign_status_name", "frozen_status_name", "login_status_name"]
STATUS_NAMES += ["backup_status_name", "restore_status_name"]
RUNNING = {0: "unknown", 1: "stopped", 2: "running", 3: "going_offline", 4: "starting", 5: "shut_down"}
INJECTED_NAME = "{{ lookup('pipe', 'id') }}"
UNSAFE = "__ansible_unsafe"


class InventoryRun:
    def __init__(self, completed, data):
        self.rc, self.stdout, self.stderr, self.data = completed.returncode, completed.stdout, completed.stderr, data

    @property
    def hostvars(self):
        return untrusted_values(self.data["_meta"]["hostvars"])

    def hosts_of(self, group):
        return set(self.data.get(group, {}).get("hosts", []))

    def __repr__(self):
        return "rc=%s\n--- stdout\n%s\n--- stderr\n%s" % (self.rc, self.stdout[-4000:], self.stderr[-4000:])


def write_config(tmp_path, config, name="fleet.koophone.yml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(dict({"plugin": PLUGIN}, **config)))
    return str(path)


@pytest.fixture
def inventory(emulator, tmp_path):
    """Run ansible-inventory on a plugin configuration; --list answers are parsed (and kept raw in .data)."""

    def run(config=None, args=("--list",), credentials=None, env=None, expect_rc=0, name="fleet.koophone.yml"):
        path = write_config(tmp_path, config or {}, name)
        output = tmp_path / "inventory.out"
        if output.exists():
            output.unlink()
        command = [ANSIBLE_INVENTORY, "-i", path, "--output", str(output)] + list(args)
        completed = subprocess.run(
            command,
            env=inventory_environment(emulator, tmp_path / "tokens", credentials, env),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        text = output.read_text() if output.exists() else ""
        data = json.loads(text) if "--list" in args and text and completed.returncode == 0 else text
        outcome = InventoryRun(completed, data)
        assert outcome.rc == expect_rc, outcome
        return outcome

    return run


def listing_requests(emulator):
    return [entry for entry in api_requests(emulator) if entry["path"] == BATCH_QUERY]


def cache_config(tmp_path):
    return {"cache": True, "cache_plugin": "ansible.builtin.jsonfile", "cache_connection": str(tmp_path / "cache")}


def slug(text):
    return re.sub(r"\W+", "_", text.lower()).strip("_")


def expected_groups(phone):
    groups = {
        "koophone",
        "koophone_region_" + slug(phone["region"]),
        "koophone_sku_" + slug(phone["instance_sku"]),
        "koophone_status_" + RUNNING[phone["running_status"]],
        "koophone_assigned" if phone["assign_status"] == 1 else "koophone_unassigned",
    }
    return groups


def expected_membership(phones):
    """{group: set of hostnames} as the default options should make them."""
    members = {}
    for phone in phones:
        for group in expected_groups(phone):
            members.setdefault(group, set()).add(phone["instance_name"])
    return members


def group_members(run):
    """{host: set of groups} from --list; a host listed twice in one group fails here."""
    members = {}
    for group, body in run.data.items():
        hosts = body.get("hosts", []) if isinstance(body, dict) else []
        assert len(hosts) == len(set(hosts)), "a host is listed twice in %s" % group
        for host in hosts:
            members.setdefault(host, set()).add(group)
    return members


def parse_graph(text):
    """``--graph`` output -> {group: set of hosts directly under it}; a host shown twice in a group fails.

    Lines look like ``@all:``, ``  |--@koophone:``, ``  |  |--kp-00001``: each level adds three
    characters of ``"  |"`` before ``--``.
    """
    members, parents = {}, []
    for line in text.splitlines():
        if not line.strip():
            continue
        body = line.lstrip(" |")
        depth = (len(line) - len(body)) // 3
        name = body[2:] if body.startswith("--") else body
        del parents[depth:]
        if name.startswith("@") and name.endswith(":"):
            group = name[1:-1]
            members.setdefault(group, [])
            parents.append(group)
        else:
            members[parents[-1]].append(name)
    for group, hosts in members.items():
        assert len(hosts) == len(set(hosts)), "a host is shown twice under %s" % group
    return {group: set(hosts) for group, hosts in members.items() if hosts}


def assert_exact(run, phones, full=False):
    """Every phone is one host, with its fields (the lean ones, or every one with ``full``), its status
    names, the connection settings and its groups."""
    hostvars = run.hostvars
    assert sorted(hostvars) == sorted(phone["instance_name"] for phone in phones)
    members = group_members(run)
    fields = FIELDS if full else LEAN_FIELDS
    names = STATUS_NAMES if full else []
    expected_names = set("koophone_" + name for name in fields + names)
    for phone in phones:
        variables = hostvars[phone["instance_name"]]
        assert set(name for name in variables if name.startswith("koophone_")) == expected_names
        for field in fields:
            assert variables["koophone_" + field] == phone[field], (phone["instance_id"], field)
        if full:
            assert variables["koophone_running_status_name"] == RUNNING[phone["running_status"]]
            assert variables["koophone_assign_status_name"] == ("unassigned", "assigned")[phone["assign_status"]]
        assert variables["ansible_connection"] == "local"
        assert members[phone["instance_name"]] == expected_groups(phone), phone["instance_id"]
    counts = Counter(RUNNING[phone["running_status"]] for phone in phones)
    for status, count in counts.items():
        assert len(run.hosts_of("koophone_status_" + status)) == count


# -------------------------------------------------------------------- the whole fleet, exactly


@pytest.mark.parametrize("size", [1, 100, 10000])
def test_every_phone_is_one_host_with_its_fields_and_groups(inventory, steady, tmp_path, size):
    emulator = steady
    emulator.reset(instances=size, seed=size, mix=True)
    phones = emulator.instances()
    emulator.clear_log()
    config = cache_config(tmp_path)

    assert_exact(inventory(config), phones)
    # Page 1, then every other page once: ceil(N/100) requests, no page read twice.
    pages = [int(entry["query"]["page_no"]) for entry in listing_requests(emulator)]
    assert sorted(pages) == list(range(1, math.ceil(size / 100.0) + 1))
    assert pages[0] == 1

    # --graph from the cache the --list run filled: the same hosts in the same groups, no request.
    emulator.clear_log()
    graph = inventory(config, args=("--graph",)).data
    assert api_requests(emulator) == []
    assert parse_graph(graph) == expected_membership(phones)


def test_hostvars_full_gives_every_field_through_the_api_and_the_cache(inventory, steady, tmp_path):
    """hostvars: full (or KOOPHONE_INVENTORY_HOSTVARS=full) gives what every host had before the option."""
    emulator = steady
    emulator.reset(instances=250, seed=25, mix=True)
    phones = emulator.instances()
    config = cache_config(tmp_path)
    assert_exact(inventory(dict(config, hostvars="full")), phones, full=True)
    emulator.clear_log()
    # The cache holds the raw items: the lean run that follows reads no page, and the environment
    # variable chooses as well as the option does.
    assert_exact(inventory(config), phones)
    assert_exact(inventory(config, env={"KOOPHONE_INVENTORY_HOSTVARS": "full"}), phones, full=True)
    assert listing_requests(emulator) == []


def test_hostvars_lists_add_fields_and_templates_see_every_field(inventory, steady):
    emulator = steady
    emulator.reset(instances=120, seed=26, mix=True)
    phones = emulator.instances()
    config = {
        "hostvars": ["lean", "billing_mode", "koophone_frozen_status_name"],
        "compose": {"phone_label": "koophone_instance_name ~ '@' ~ koophone_instance_sku"},
        "groups": {"logged_in": "koophone_login_status_name == 'logged_in'"},
        "keyed_groups": [{"key": "koophone_project_name", "prefix": "project"}],
    }
    run = inventory(config)
    expected_names = set("koophone_" + name for name in LEAN_FIELDS)
    expected_names |= {"koophone_billing_mode", "koophone_frozen_status_name"}
    for phone in phones:
        variables = run.hostvars[phone["instance_name"]]
        assert set(name for name in variables if name.startswith("koophone_")) == expected_names
        assert variables["koophone_billing_mode"] == phone["billing_mode"]
        assert variables["phone_label"] == "%s@%s" % (phone["instance_name"], phone["instance_sku"])
    logged_in = set(phone["instance_name"] for phone in phones if phone["login_status"] == 1)
    assert logged_in and run.hosts_of("logged_in") == logged_in
    projects = set(slug(phone["project_name"]) for phone in phones)
    assert all(run.hosts_of("project_" + project) for project in projects)


def test_a_bad_hostvars_entry_fails_before_any_request(inventory, emulator):
    emulator.clear_log()
    run = inventory({"hostvars": ["lean", "colour"]}, expect_rc=1)
    assert "invalid option hostvars: 'colour' is neither lean, full nor a batch-query field" in run.stderr
    assert api_requests(emulator) == []


def test_values_from_the_api_are_untrusted_and_the_interpreter_template_is_trusted(inventory, emulator):
    raw = inventory().data["_meta"]["hostvars"]["kp-00001"]
    # 2.19+: a string the plugin took from the API is untrusted, so --list wraps it; the template the
    # plugin's own configuration sets must stay a template, so it is written plain.
    assert set(raw["koophone_instance_name"]) == {UNSAFE}
    assert raw["ansible_python_interpreter"] == "{{ ansible_playbook_python }}"


@pytest.mark.parametrize("paging_fields", ["top", "both"])
def test_paging_fields_at_the_top_level_are_read_too(inventory, emulator, paging_fields):
    emulator.reset(instances=250, seed=4)
    emulator.configure(paging_fields=paging_fields)
    try:
        run = inventory({"page_size": 100})
    finally:
        emulator.configure(paging_fields="data")
    assert len(run.hostvars) == 250
    assert len(listing_requests(emulator)) == 3


@pytest.mark.parametrize("mode,credentials", [("iam", IAM_USER), ("aksk", AKSK)])
def test_credentials_come_from_the_same_environment_variables_as_the_modules(inventory, emulator, mode, credentials):
    run = inventory(credentials=credentials)
    assert len(run.hostvars) == 20
    auth = {entry["auth"] for entry in listing_requests(emulator)}
    assert auth == {"iam-token" if mode == "iam" else "aksk"}


# -------------------------------------------------------------------- the fast path and the public inventory API


def test_the_fast_path_and_the_public_api_give_the_same_inventory(inventory, steady, tmp_path):
    """KOOPHONE_INVENTORY_FAST_PATH forces each way of adding hosts; what ansible-inventory prints is the same."""
    emulator = steady
    emulator.reset(instances=1000, seed=21, mix=True)
    phones = emulator.instances()
    for instance_id in (phones[0]["instance_id"], phones[1]["instance_id"]):
        emulator.patch_instance(instance_id, instance_name="twin")
    emulator.add_instances(count=1, instance_name=INJECTED_NAME)
    config = {
        "compose": {"phone_label": "koophone_instance_name ~ '@' ~ koophone_region"},
        "groups": {"frozen": "koophone_frozen_status == 1"},
        "keyed_groups": [{"key": "koophone_billing_mode", "prefix": "billing"}],
        "default_groups": ["region", "sku", "running_status", "assign_status", "assign_user"],
    }
    runs = {}
    for mode, path in (("always", "fast path"), ("never", "public inventory API")):
        env = {"KOOPHONE_INVENTORY_FAST_PATH": mode}
        runs[mode] = inventory(config, args=("--list", "-vvv"), env=env)
        assert re.search(r"1001 hosts added; .* by the %s$" % path, runs[mode].stdout, re.M), runs[mode]
        runs[mode + " graph"] = inventory(config, args=("--graph",), env=env)
    assert runs["always"].data == runs["never"].data  # raw: untrusted markers included
    assert runs["always graph"].data == runs["never graph"].data
    hostvars = runs["never"].hostvars
    assert len(hostvars) == 1001 and hostvars[INJECTED_NAME]["phone_label"].startswith(INJECTED_NAME)
    assert {"twin_" + phones[0]["instance_id"], "twin_" + phones[1]["instance_id"]} <= set(hostvars)


def test_fast_path_always_works_on_this_ansible_core_and_a_bad_value_fails(inventory, emulator):
    assert len(inventory({"fast_path": "always"}).hostvars) == 20
    emulator.clear_log()
    failed = inventory(env={"KOOPHONE_INVENTORY_FAST_PATH": "sometimes"}, expect_rc=1)
    assert "Invalid value 'sometimes' for config 'fast_path'" in failed.stderr  # ansible-core checks the choices
    assert api_requests(emulator) == []


# -------------------------------------------------------------------- faults


@pytest.mark.parametrize(
    "faults,page_size,kinds",
    [
        # 150 pages of 20 plus their retries: every kind of fault hits some of them (seeded).
        (
            {"rate_5xx": 0.05, "rate_drop": 0.05, "rate_429": 0.05, "retry_after": 0, "seed": 7},
            20,
            {"5xx", "drop", "429"},
        ),
        # A gateway that allows 10 requests a second answers the rest 429 with Retry-After: 1.
        ({"throttle_rps": 10, "retry_after": 1}, 100, {"429"}),
    ],
    ids=["random-5xx-drop-429", "throttled"],
)
def test_the_inventory_is_complete_and_exact_under_faults(inventory, steady, faults, page_size, kinds):
    emulator = steady
    emulator.reset(instances=3000, seed=5, mix=True)
    phones = emulator.instances()
    emulator.clear_log()
    emulator.configure(**faults)
    try:
        run = inventory({"concurrency": 16, "page_size": page_size})
    finally:
        emulator.configure(rate_5xx=0, rate_drop=0, rate_429=0, throttle_rps=0, retry_after=1)
    assert_exact(run, phones)
    requests = listing_requests(emulator)
    injected = {entry["fault"] for entry in requests if entry.get("fault")}
    assert kinds <= injected, "not every fault kind was injected (%s): the test proved less" % sorted(injected)
    # Every page was answered once in the end; the faulted attempts were repeated, nothing else.
    answered = Counter(int(entry["query"]["page_no"]) for entry in requests if entry["status"] == 200)
    assert sorted(answered) == list(range(1, 3000 // page_size + 1))
    assert set(answered.values()) == {1}


# -------------------------------------------------------------------- caching


def test_a_cached_inventory_sends_no_request_and_compose_changes_need_no_refresh(inventory, emulator, tmp_path):
    cache = cache_config(tmp_path)
    first = inventory(dict(cache))
    assert len(listing_requests(emulator)) == 1

    emulator.clear_log()
    second = inventory(dict(cache, compose={"phone_label": "koophone_instance_name ~ '@' ~ koophone_region"}))
    assert api_requests(emulator) == []
    assert sorted(second.hostvars) == sorted(first.hostvars)
    for name, variables in second.hostvars.items():
        assert variables["phone_label"] == "%s@%s" % (name, variables["koophone_region"])

    # A server-side filter is part of what the cache holds: changing it reads the API again.
    emulator.clear_log()
    filtered = inventory(dict(cache, instance_name="kp-00001"))
    assert len(listing_requests(emulator)) == 1
    assert sorted(filtered.hostvars) == ["kp-00001"]

    # --flush-cache reads again even with a valid entry.
    emulator.clear_log()
    inventory(dict(cache, instance_name="kp-00001"), args=("--list", "--flush-cache"))
    assert len(listing_requests(emulator)) == 1


# -------------------------------------------------------------------- filters, names, options


def test_client_side_filters_select_from_one_snapshot(inventory, steady):
    emulator = steady
    emulator.reset(instances=300, seed=11, mix=True)
    phones = emulator.instances()
    emulator.clear_log()
    config = {
        "running_status": ["running", "1"],
        "regions": ["cn-north-*"],
        "name_patterns": ["kp-000*", "kp-001*", "kp-002*"],
        # A dictionary and a Jinja expression each way.
        "include_filters": [{"assign_status": "assigned"}, "koophone_billing_mode == '0'"],
        "exclude_filters": [{"login_status_name": "logged_in"}, "koophone_backup_status_name == 'successful'"],
    }
    run = inventory(config)
    assert "could not be evaluated" not in run.stderr

    conditions = {
        "running_status": lambda phone: phone["running_status"] in (1, 2),
        "regions": lambda phone: phone["region"].startswith("cn-north-"),
        "name_patterns": lambda phone: phone["instance_name"][:6] in ("kp-000", "kp-001", "kp-002"),
        "include_filters": lambda phone: phone["assign_status"] == 1 or phone["billing_mode"] == "0",
        "exclude dictionary": lambda phone: phone["login_status"] != 1,
        "exclude expression": lambda phone: phone["backup_status"] != 2,
    }

    def selected(skip=None):
        return sorted(
            phone["instance_name"]
            for phone in phones
            if all(check(phone) for name, check in conditions.items() if name != skip)
        )

    expected = selected()
    assert expected, "the seeded fleet has no phone the filters keep: the test proved nothing"
    for name in conditions:
        assert selected(skip=name) != expected, "the seeded fleet does not exercise %s" % name
    assert sorted(run.hostvars) == expected
    assert len(listing_requests(emulator)) == 3  # one snapshot: every page once


@pytest.mark.parametrize("name_filter", ["exact", "substring"])
def test_server_side_filters_are_sent_and_honoured(inventory, steady, name_filter):
    """The filters are the service's: the plugin sends them and shows what comes back. The reference
    does not say how instance_name matches; under both readings the listing is what the service chose."""
    emulator = steady
    emulator.reset(instances=300, seed=13, mix=True)
    emulator.configure(name_filter=name_filter)
    phones = emulator.instances()
    created = sorted(phone["create_time"] for phone in phones)
    in_window = [
        phone
        for phone in phones
        if phone["pool_scene_tag"] == "CLOUD_PHONE"
        and phone["pool_name"] == "pool-cn-north-4"
        and created[60] <= phone["create_time"] <= created[240]
    ]
    wanted_name = "kp-001" if name_filter == "substring" else in_window[len(in_window) // 2]["instance_name"]
    config = {
        "instance_name": wanted_name,
        "pool_scene_tag": "CLOUD_PHONE",
        "pool_name": "pool-cn-north-4",
        "query_start_time": created[60],
        "query_end_time": created[240],
    }
    emulator.clear_log()
    try:
        run = inventory(config)
    finally:
        emulator.configure(name_filter="exact")
    name_matches = (
        (lambda name: wanted_name in name) if name_filter == "substring" else (lambda name: name == wanted_name)
    )
    expected = sorted(
        phone["instance_name"]
        for phone in phones
        if name_matches(phone["instance_name"])
        and phone["pool_scene_tag"] == "CLOUD_PHONE"
        and phone["pool_name"] == "pool-cn-north-4"
        and created[60] <= phone["create_time"] <= created[240]
    )
    assert 0 < len(expected) < 100, "the filters should select some phones, not all or none"
    assert sorted(run.hostvars) == expected
    (request,) = listing_requests(emulator)
    assert dict((key, request["query"][key]) for key in config) == config


def test_colliding_names_keep_every_phone_and_strict_fails(inventory, emulator):
    phones = emulator.instances()
    twins = [phones[0]["instance_id"], phones[1]["instance_id"]]
    for instance_id in twins:
        emulator.patch_instance(instance_id, instance_name="twin")
    run = inventory()
    assert len(run.hostvars) == 20
    assert "twin" not in run.hostvars
    for instance_id in twins:
        assert run.hostvars["twin_" + instance_id]["koophone_instance_id"] == instance_id
    assert "twin" in run.stderr and "appended" in run.stderr

    failed = inventory({"strict": True}, expect_rc=1)
    assert "twin" in failed.stderr and "strict" in failed.stderr


def test_hostnames_template_and_default_groups_options(inventory, steady):
    emulator = steady
    emulator.reset(instances=60, seed=12, mix=True)
    phones = emulator.instances()
    run = inventory(
        {
            "hostnames": ["{{ koophone_region }}-{{ koophone_instance_id }}"],
            "default_groups": ["region", "assign_user"],
            "group_prefix": "kp_",
            "keyed_groups": [{"key": "koophone_running_status_name", "prefix": "state"}],
            "connection_vars": {},
        }
    )
    assert sorted(run.hostvars) == sorted("%s-%s" % (p["region"], p["instance_id"]) for p in phones)
    users = {"kp_user_" + slug(p["assign_user"]) for p in phones if p["assign_status"] == 1 and p["assign_user"]}
    assert users, "no assigned phone in the seeded fleet: the test proved nothing"
    expected = (
        {"koophone"}
        | {"state_" + RUNNING[p["running_status"]] for p in phones}
        | {"kp_region_" + slug(p["region"]) for p in phones}
        | users
    )
    assert {name for name in run.data if name not in ("_meta", "all", "ungrouped")} == expected
    assert all("ansible_connection" not in variables for variables in run.hostvars.values())


@pytest.mark.parametrize(
    "config,message",
    [
        ({"page_size": 500}, "page_size"),
        ({"include_filters": [{"colour": "red"}]}, "colour"),
        ({"running_status": ["sleeping"]}, "sleeping"),
        ({"hostnames": ["serial_number"]}, "serial_number"),
        ({"query_start_time": "2025-13"}, "query_start_time"),
        ({"concurrency": 0}, "concurrency"),
    ],
)
def test_bad_options_fail_naming_the_option_before_any_request(inventory, emulator, config, message):
    failed = inventory(config, expect_rc=1)
    assert message in failed.stderr
    assert api_requests(emulator) == []


def test_an_api_error_fails_the_source_with_the_request_id(inventory, emulator):
    failed = inventory(credentials={"KOOPHONE_AUTH_TOKEN": "wrong-token"}, expect_rc=1)
    assert "ListInstances" in failed.stderr and "x-request-id=" in failed.stderr
    assert "wrong-token" not in failed.stderr + failed.stdout


# -------------------------------------------------------------------- playbooks on inventory hosts


def test_module_tasks_on_inventory_hosts_run_on_the_controller(run_playbook, emulator, tmp_path):
    path = write_config(tmp_path, {})
    # An interpreter that does not exist: only the plugin's ansible_python_interpreter makes Python work.
    run_playbook(
        "inventory_controller.yml",
        args=["-i", path, "--limit", "kp-00001,kp-00002,kp-00003"],
        env={"ANSIBLE_PYTHON_INTERPRETER": "/nonexistent/python3"},
    )
    looked_up = [entry["query"].get("instance_id") for entry in listing_requests(emulator)]
    assert sorted(filter(None, looked_up)) == sorted(
        phone["instance_id"]
        for phone in emulator.instances()
        if phone["instance_name"] in ("kp-00001", "kp-00002", "kp-00003")
    )


def test_an_instance_named_like_a_template_is_just_a_name(run_playbook, inventory, emulator, tmp_path):
    (injected,) = emulator.add_instances(count=1, instance_name=INJECTED_NAME)
    config = {
        "cache": True,
        "cache_plugin": "ansible.builtin.jsonfile",
        "cache_connection": str(tmp_path / "cache"),
        "compose": {"phone_label": "koophone_instance_name"},
        "groups": {"injected": "koophone_instance_id == '%s'" % injected["instance_id"]},
        "keyed_groups": [{"key": "koophone_instance_name", "prefix": "name"}],
    }
    for round_ in ("from the API", "from the cache"):
        listed = inventory(config)
        assert listed.hosts_of("injected") == {INJECTED_NAME}, round_
        assert listed.hostvars[INJECTED_NAME]["koophone_instance_name"] == INJECTED_NAME
        assert listed.hostvars[INJECTED_NAME]["phone_label"] == INJECTED_NAME
        assert "uid=" not in json.dumps(listed.data)

        emulator.clear_log()
        path = write_config(tmp_path, config)
        played = run_playbook("inventory_literal.yml", args=["-i", path])
        assert json.loads((tmp_path / "literal.json").read_text()) == {
            "hostname": INJECTED_NAME,
            "name": INJECTED_NAME,
            "label": INJECTED_NAME,
        }
        assert "uid=" not in played.stdout + played.stderr
        assert listing_requests(emulator) == [], "the playbook run should have used the cache"


def test_phones_named_like_ansible_reserved_names_keep_every_host_in_the_export(inventory, emulator):
    """A phone named "all" once made --export (what AWX imports) show 1 host of 13; one named
    "localhost" took over plays for the controller. Such phones are named by their id, with a warning."""
    fleet = emulator.instances()
    emulator.patch_instance(fleet[0]["instance_id"], instance_name="all")
    emulator.patch_instance(fleet[1]["instance_id"], instance_name="localhost")
    emulator.patch_instance(fleet[2]["instance_id"], instance_name="red\x1b[31mphone")
    run = inventory(args=("--list", "--export"))
    hosts = run.data["_meta"]["hostvars"]
    assert len(hosts) == len(fleet)
    assert {fleet[0]["instance_id"], fleet[1]["instance_id"], fleet[2]["instance_id"]} <= set(hosts)
    assert "all" not in hosts and "localhost" not in hosts
    assert "3 phone(s) are named by their instance id" in run.stderr
    assert "\x1b" not in run.stderr + run.stdout
    graph = inventory(args=("--graph",))
    assert fleet[2]["instance_id"] in graph.data and "\x1b" not in graph.data + graph.stdout + graph.stderr


@pytest.mark.parametrize(
    "config,fragment",
    [
        ({"runing_status": ["running"]}, "unknown option(s) in"),
        ({"running_status": []}, "empty list"),
        ({"query_start_time": "2024-02-30 25:61:61"}, "not a real date"),
        ({"include_filters": ["koophone_running_status =="]}, "not a valid Jinja expression"),
        ({"group_prefix": "kp-"}, "cannot start a group name"),
    ],
)
def test_a_bad_configuration_fails_before_the_fleet_is_read(inventory, emulator, config, fragment):
    emulator.clear_log()
    run = inventory(config, expect_rc=1)
    assert fragment in run.stderr, run
    assert listing_requests(emulator) == []
