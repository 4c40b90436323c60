"""The inventory plugin's logic: selection, names, variables, groups, caching and trust, without a network."""

import ast
import json

import pytest
import yaml
from ansible.errors import AnsibleParserError
from ansible.inventory.data import InventoryData
from ansible.inventory.group import Group
from ansible.parsing.dataloader import DataLoader
from ansible.template import is_trusted_as_template, trust_as_template
from ansible.utils.plugin_docs import merge_fragment

from ansible_collections.koophone.cloud.plugins.doc_fragments.koophone import ModuleDocFragment
from ansible_collections.koophone.cloud.plugins.inventory import koophone as plugin_module
from ansible_collections.koophone.cloud.plugins.module_utils import _client as client_module
from ansible_collections.koophone.cloud.plugins.module_utils import _inventory as fleet
from ansible_collections.koophone.cloud.plugins.module_utils._client import KooPhoneClient
from ansible_collections.koophone.cloud.plugins.module_utils._errors import KooPhoneError

try:  # what ansible-core hands inventory plugins (2.19+): InventoryData behind a set_variable proxy
    from ansible._internal._datatag._tags import Origin
    from ansible.inventory.manager import _InventoryDataWrapper
except ImportError:  # pragma: no cover - another ansible-core layout: the plain InventoryData only
    _InventoryDataWrapper = None


from .items import LEAN, phone

# -------------------------------------------------------------------- the plugin


# What every plugin here is given besides its test's options (the fake client goes nowhere).
GIVEN = dict(endpoint="http://emulator.invalid", auth_token="token")


class FakeClient:
    made = []

    def __init__(self, params, items):
        self.params, self.items, self.request_count = params, items, 3
        FakeClient.made.append(self)

    def list_all(self, operation, query, page_size, key=None, on_page=None):
        """Hands the items over in pages of two, page 1 first and the rest in reverse, as a concurrent read may.

        An exception among the items is raised in place of the page it would start, after the pages before.
        """
        self.call = (operation, query, page_size, key)
        if isinstance(self.items, Exception):
            raise self.items
        pages = [list(self.items[start : start + 2]) for start in range(0, len(self.items), 2)]
        for page_no in [1] + list(range(len(pages), 1, -1)) if pages else []:
            page = pages[page_no - 1]
            if isinstance(page[0], Exception):
                raise page[0]
            on_page(page_no, page)
        return list(self.items)


class DictCache(dict):
    """The plugin only needs get() and item assignment from the cache adjudicator."""


def new_plugin(monkeypatch, items, options):
    """A plugin with ``options`` (every option's value: conftest's inventory_options) and a fake client."""
    plugin = plugin_module.InventoryModule()
    plugin._options = options
    plugin._redirected_names = [plugin.NAME]
    plugin._cache = DictCache()
    plugin.get_cache_key = lambda path: "key-" + path
    monkeypatch.setattr(plugin, "_read_config_data", lambda path: None)
    monkeypatch.setattr(plugin_module, "KooPhoneClient", lambda params: FakeClient(params, items))
    return plugin


@pytest.fixture(params=["auto", "never"])
def make_plugin(monkeypatch, request, inventory_options):
    """A plugin with these options and a fake client; every test runs with both ways of adding hosts.

    ``auto`` takes the fast path on this ansible-core (test_auto_takes_the_fast_path_on_this_ansible_core
    says so when it does not), ``never`` the public inventory API.
    """
    FakeClient.made = []
    given = dict(GIVEN, fast_path=request.param)
    return lambda items=(), **options: new_plugin(monkeypatch, items, inventory_options(**dict(given, **options)))


@pytest.fixture
def plugin_with(monkeypatch, inventory_options):
    """Like make_plugin, once: for tests that choose fast_path themselves."""
    FakeClient.made = []
    return lambda items=(), **options: new_plugin(monkeypatch, items, inventory_options(**dict(GIVEN, **options)))


def parse(plugin, path="fleet.koophone.yml", cache=True):
    inventory = InventoryData()
    plugin.parse(inventory, DataLoader(), path, cache=cache)
    return inventory


@pytest.mark.parametrize(
    "path,wanted",
    [("koophone.yml", True), ("prod.koophone.yaml", True), ("koophone.json", False), ("fleet.yml", False)],
)
def test_verify_file_wants_koophone_yaml_names(tmp_path, path, wanted):
    (tmp_path / path).write_text("plugin: koophone.cloud.koophone\n")
    assert plugin_module.InventoryModule().verify_file(str(tmp_path / path)) is wanted


def test_parse_adds_every_phone_with_variables_groups_and_connection_settings(make_plugin):
    inventory = parse(make_plugin([phone(1), phone(2, running_status=1, assign_status=1, assign_user="u1")]))
    assert sorted(inventory.hosts) == ["kp-00001", "kp-00002"]
    host = inventory.get_host("kp-00002")
    assert host.vars["koophone_instance_id"] == "id00002"
    assert host.vars["koophone_running_status"] == 1
    assert "koophone_running_status_name" not in host.vars  # not lean: the group koophone_status_stopped says it
    groups = sorted(group.name for group in host.get_groups())
    assert groups == [
        "koophone",
        "koophone_assigned",
        "koophone_region_cn_north_4",
        "koophone_sku_professional_edition_4_vcpus_8_gb_32_gb_storage_maximum_resolution_720p",
        "koophone_status_stopped",
    ]
    connection = inventory.groups["koophone"].vars
    assert connection["ansible_connection"] == "local"
    assert connection["ansible_python_interpreter"] == "{{ ansible_playbook_python }}"
    # The interpreter template must be evaluated at run time; a value from the API never is.
    assert is_trusted_as_template(connection["ansible_python_interpreter"])
    assert not is_trusted_as_template(host.vars["koophone_instance_name"])


def test_hosts_keep_page_order_whatever_order_the_pages_arrive_in(make_plugin):
    inventory = parse(make_plugin([phone(number) for number in range(1, 8)]))
    expected = ["kp-%05d" % number for number in range(1, 8)]
    assert list(inventory.hosts) == expected
    assert [host.name for host in inventory.groups["koophone"].get_hosts()] == expected


def test_a_read_that_fails_half_way_adds_nothing(make_plugin):
    error = KooPhoneError("connection broke", operation="ListInstances")
    plugin = make_plugin([phone(1), phone(2), phone(3), phone(4), error, phone(6)])
    inventory = InventoryData()
    with pytest.raises(AnsibleParserError, match="connection broke"):
        plugin.parse(inventory, DataLoader(), "fleet.koophone.yml")
    assert inventory.hosts == {}
    assert set(inventory.groups) == {"all", "ungrouped"}


def test_a_phone_named_localhost_never_becomes_the_controller_and_a_known_host_takes_the_ordinary_path(
    make_plugin, tmp_path
):
    static, source = tmp_path / "static.ini", tmp_path / "fleet.koophone.yml"
    static.write_text("kp-00002\n")
    source.write_text("plugin: koophone.cloud.koophone\n")
    inventory = InventoryData()
    inventory.current_source = str(static)
    inventory.add_host("kp-00002")
    inventory.set_variable("kp-00002", "site", "lab")
    inventory.current_source = str(source)
    plugin = make_plugin([phone(1, instance_name="localhost"), phone(2), phone(3)])
    plugin.parse(inventory, DataLoader(), str(source))
    # Named by its id instead, with a warning: a phone called localhost would take over hosts: localhost.
    assert "localhost" not in inventory.hosts and inventory.localhost is None
    assert inventory.get_host("id00001").vars["koophone_instance_name"] == "localhost"
    known = inventory.get_host("kp-00002")
    assert known.vars["site"] == "lab" and known.vars["koophone_instance_id"] == "id00002"
    assert known.vars["inventory_file"] == str(static)  # the first source it came from
    # A host built by the plugin carries what add_host gave the localhost phone.
    for name in ("inventory_file", "inventory_dir"):
        assert inventory.get_host("kp-00003").vars[name] == inventory.get_host("id00001").vars[name]
    assert inventory.get_host("kp-00003").vars["inventory_dir"] == str(tmp_path)
    assert {host.name for host in inventory.groups["koophone"].get_hosts()} == {"id00001", "kp-00002", "kp-00003"}


@pytest.mark.parametrize("name", ["all", "ungrouped", "localhost", "127.0.0.1", "evil\x1b[31mred", "two\nlines"])
def test_reserved_and_invalid_names_give_the_phone_its_id_with_a_warning(make_plugin, name, monkeypatch):
    warnings = []
    monkeypatch.setattr(plugin_module.display, "warning", warnings.append)
    inventory = parse(make_plugin([phone(1, instance_name=name), phone(2)]))
    assert sorted(inventory.hosts) == ["id00001", "kp-00002"]
    assert len(warnings) == 1 and "id00001" in warnings[0]
    assert "\x1b" not in warnings[0]  # an ANSI escape is shown escaped, never sent to the terminal


def test_compose_entries_do_not_see_each_other(make_plugin):
    plugin = make_plugin(
        [phone(1)],
        compose={"first": trust_as_template("1"), "second": trust_as_template("first | default('unset')")},
    )
    assert parse(plugin).get_host("kp-00001").vars["second"] == "unset"


def test_the_client_gets_the_common_options_and_the_server_side_filters(make_plugin):
    plugin = make_plugin(
        [phone(1)],
        instance_name="kp",
        pool_scene_tag="CLOUD_PHONE",
        pool_name="pool-a",
        query_start_time="2025-01-01 00:00:00",
        page_size=200,
        concurrency=16,
    )
    parse(plugin)
    (client,) = FakeClient.made
    assert client.params["concurrency"] == 16 and client.params["auth_token"] == "token"
    assert set(client.params) == set(plugin_module.CLIENT_OPTIONS)
    assert client.call == (
        "ListInstances",
        {
            "instance_name": "kp",
            "pool_scene_tag": "CLOUD_PHONE",
            "pool_name": "pool-a",
            "query_start_time": "2025-01-01 00:00:00",
        },
        200,
        "instance_id",
    )


def test_compose_groups_and_keyed_groups_see_the_koophone_variables(make_plugin):
    plugin = make_plugin(
        [phone(1), phone(2, frozen_status=1)],
        compose={"label": trust_as_template("koophone_instance_name ~ '@' ~ koophone_region")},
        groups={"frozen": trust_as_template("koophone_frozen_status == 1")},
        keyed_groups=[{"key": trust_as_template("koophone_billing_mode"), "prefix": "billing"}],
    )
    inventory = parse(plugin)
    assert inventory.get_host("kp-00001").vars["label"] == "kp-00001@cn-north-4"
    assert [host.name for host in inventory.groups["frozen"].get_hosts()] == ["kp-00002"]
    assert len(inventory.groups["billing_1"].get_hosts()) == 2


def test_a_name_that_looks_like_a_template_stays_literal_through_compose_and_hostnames(make_plugin):
    name = "{{ lookup('pipe', 'id') }}"
    plugin = make_plugin(
        [phone(1, instance_name=name)],
        hostnames=[trust_as_template("{{ koophone_instance_name }}")],
        compose={"label": trust_as_template("koophone_instance_name")},
    )
    inventory = parse(plugin)
    assert list(inventory.hosts) == [name]
    assert inventory.get_host(name).vars["label"] == name


def test_expression_filters_see_the_koophone_variables(make_plugin):
    phones = [phone(1), phone(2, frozen_status=1), phone(3, running_status=1), phone(4, instance_name="game-4")]
    plugin = make_plugin(
        phones,
        include_filters=[trust_as_template("koophone_running_status_name == 'running'"), {"instance_name": "game-*"}],
        exclude_filters=[trust_as_template("koophone_frozen_status_name == 'frozen'")],
    )
    assert sorted(parse(plugin).hosts) == ["game-4", "kp-00001"]


def test_a_failing_expression_does_not_match_and_warns_once(make_plugin, monkeypatch):
    warnings = []
    monkeypatch.setattr(plugin_module.display, "warning", warnings.append)
    plugin = make_plugin(
        [phone(1), phone(2), phone(3, tag="x")],
        exclude_filters=[trust_as_template("koophone_tag == 'x'")],  # undefined for phones 1 and 2
    )
    assert sorted(parse(plugin).hosts) == ["kp-00001", "kp-00002"]
    (warning,) = warnings
    assert "koophone_tag" in warning and "2 phone(s)" in warning and "id00001" in warning

    with pytest.raises(AnsibleParserError, match="exclude_filters entry .* failed for phone id00001"):
        parse(make_plugin([phone(1)], exclude_filters=[trust_as_template("koophone_tag == 'x'")], strict=True))


def test_an_expression_never_evaluates_api_values(make_plugin):
    name = "{{ lookup('pipe', 'id') }}"
    plugin = make_plugin(
        [phone(1, instance_name=name), phone(2)],
        include_filters=[trust_as_template("koophone_instance_name is search('lookup')")],
    )
    assert list(parse(plugin).hosts) == [name]


def test_connection_vars_can_be_replaced_or_dropped(make_plugin):
    inventory = parse(make_plugin([phone(1)], connection_vars={}))
    assert inventory.groups["koophone"].vars == {}
    inventory = parse(make_plugin([phone(1)], connection_vars={"ansible_connection": "ssh", "ansible_port": 2222}))
    assert inventory.groups["koophone"].vars == {"ansible_connection": "ssh", "ansible_port": 2222}


def test_collisions_warn_and_strict_fails(make_plugin, monkeypatch):
    warnings = []
    monkeypatch.setattr(plugin_module.display, "warning", warnings.append)
    twins = [phone(1, instance_name="twin"), phone(2, instance_name="twin")]
    inventory = parse(make_plugin(twins))
    assert sorted(inventory.hosts) == ["twin_id00001", "twin_id00002"]
    assert len(warnings) == 1 and "twin" in warnings[0]
    with pytest.raises(AnsibleParserError, match="strict"):
        parse(make_plugin(twins, strict=True))


@pytest.mark.parametrize(
    "options,option",
    [
        ({"page_size": 201}, "page_size"),
        ({"retries": 21}, "retries"),
        ({"instance_name": "x" * 129}, "instance_name"),
        ({"query_start_time": "2025-02-01 00:00:00", "query_end_time": "2025-01-01 00:00:00"}, "query_end_time"),
        ({"connection_vars": "local"}, "connection_vars"),
        ({"exclude_filters": [{"colour": "red"}]}, "exclude_filters"),
    ],
)
def test_bad_options_fail_before_any_client_exists(make_plugin, options, option):
    with pytest.raises(AnsibleParserError, match="invalid option %s" % option):
        parse(make_plugin([phone(1)], **options))
    assert FakeClient.made == []


def test_api_errors_become_parser_errors_with_the_details(make_plugin):
    error = KooPhoneError("Authenticate Failed!", operation="ListInstances", status=401, request_id="abc")
    with pytest.raises(AnsibleParserError) as raised:
        parse(make_plugin(error))
    assert "ListInstances" in str(raised.value) and "x-request-id=abc" in str(raised.value)


# -------------------------------------------------------------------- the two ways hosts go in


@pytest.fixture
def vvv(monkeypatch):
    lines = []
    monkeypatch.setattr(plugin_module.display, "vvv", lambda message, *args, **kwargs: lines.append(message))
    return lines


def every_kind_of_phone():
    return [
        phone(1),
        phone(2, running_status=1, assign_status=1, assign_user="u1"),
        phone(3, region="cn-east-3", instance_sku="Basic | 2 vCPUs", running_status=5, frozen_status=1),
        phone(4, instance_name="twin"),
        phone(5, instance_name="twin"),
        phone(6, instance_name="koophone-6"),  # a dash: not a valid group name, fine for a host
        phone(7, instance_name="localhost"),  # a localhost alias: add_host makes it the inventory's localhost
        phone(8, instance_name="known"),  # a host another source added first
        phone(9, instance_name="{{ lookup('pipe', 'id') }}"),
        phone(10, instance_name="", new_field={"nested": [1, "2"]}),  # named by its id; a field the API added
        phone(11, assign_status=1, assign_user="Ünïcode user", billing_mode="0"),
    ]


HOST_BUILD_SCENARIOS = {
    "defaults": {},
    "every default group": {"default_groups": list(fleet.DEFAULT_GROUP_KINDS), "group_prefix": "kp_"},
    "constructed": {
        "compose": {"label": trust_as_template("koophone_instance_name ~ '@' ~ koophone_region")},
        "groups": {"frozen": trust_as_template("koophone_frozen_status == 1")},
        "keyed_groups": [{"key": trust_as_template("koophone_billing_mode"), "prefix": "billing"}],
    },
    "templated names, no groups, no connection vars": {
        "hostnames": [trust_as_template("{{ koophone_region }}-{{ koophone_instance_id }}")],
        "default_groups": [],
        "connection_vars": {},
    },
    "filters": {
        "include_filters": [{"assign_status": "assigned"}, trust_as_template("koophone_region == 'cn-east-3'")],
        "exclude_filters": [{"running_status": "shut_down"}],
    },
}


def inventory_with_a_known_host(tmp_path, plugin, wrapped):
    """An InventoryData where a static source added the host ``known`` first, as ansible-core hands it over."""
    for name in ("static.ini", "fleet.koophone.yml"):
        (tmp_path / name).write_text("")
    data = InventoryData()
    data.current_source = str(tmp_path / "static.ini")
    data.add_group("lab")
    data.add_host("known", group="lab")  # a host already in a group
    data.set_variable("known", "site", "lab")
    # One of the plugin's default groups, made by the other source inside a group of its own: the
    # phones put in it are in "lab" too.
    data.add_group("koophone_region_cn_east_3")
    data.add_child("lab", "koophone_region_cn_east_3")
    data.current_source = str(tmp_path / "fleet.koophone.yml")
    if not wrapped:
        return data, data
    return data, _InventoryDataWrapper(data, target_plugin=plugin, origin=Origin(description="unit test"))


def inventory_state(data):
    """Hosts in order with their variables (and whether each is trusted as a template) and groups; every group."""
    data.reconcile_inventory()  # as InventoryManager does after each source

    def values(variables):
        return dict((name, (value, is_trusted_as_template(value))) for name, value in variables.items())

    return {
        "hosts": [
            (name, values(host.vars), [group.name for group in host.groups]) for name, host in data.hosts.items()
        ],
        "groups": dict(
            (
                name,
                (
                    [host.name for host in group.hosts],
                    sorted(child.name for child in group.child_groups),
                    values(group.vars),
                ),
            )
            for name, group in data.groups.items()
        ),
        "localhost": data.localhost.name if data.localhost else None,
    }


WRAPPED = [False] + ([True] if _InventoryDataWrapper is not None else [])


@pytest.mark.parametrize("wrapped", WRAPPED, ids=lambda wrapped: "proxy" if wrapped else "plain")
@pytest.mark.parametrize("scenario", sorted(HOST_BUILD_SCENARIOS))
def test_the_fast_path_and_the_public_api_build_the_same_inventory(plugin_with, tmp_path, vvv, scenario, wrapped):
    states = {}
    for mode in ("always", "never"):
        plugin = plugin_with(every_kind_of_phone(), fast_path=mode, **HOST_BUILD_SCENARIOS[scenario])
        data, inventory = inventory_with_a_known_host(tmp_path, plugin, wrapped)
        plugin.parse(inventory, DataLoader(), str(tmp_path / "fleet.koophone.yml"))
        states[mode] = inventory_state(data)
    assert ["fast path" in line for line in vvv if "hosts added" in line] == [True, False]
    assert states["always"] == states["never"]
    hosts = dict((name, variables) for name, variables, groups in states["never"]["hosts"])
    if scenario in ("defaults", "constructed"):  # the other source's group around a default group counts
        groups = dict((name, groups) for name, variables, groups in states["always"]["hosts"])
        assert "lab" in groups["kp-00003"] and "lab" not in groups["kp-00001"]
        assert groups["known"][:2] == ["lab", "koophone"]
    assert hosts["known"]["site"] == ("lab", False) and hosts["known"]["inventory_file"][0].endswith("static.ini")
    if scenario == "filters":
        assert sorted(hosts) == ["known", "kp-00002", "kp-00011"]
    elif scenario.startswith("templated names"):  # phone 8 is not called "known" then: one host more
        assert len(hosts) == len(every_kind_of_phone()) + 1
    else:
        assert len(hosts) == len(every_kind_of_phone())
        assert hosts["known"]["koophone_instance_id"] == ("id00008", False)


@pytest.mark.parametrize("mode", ["always", "never"])
def test_a_phone_named_like_a_group_is_a_host_with_its_variables_and_groups(plugin_with, tmp_path, mode):
    """Both paths keep the host apart from the group of the same name (ansible-core warns about the pair).

    The one difference: through the public API, add_host itself sets inventory_file and
    inventory_dir with InventoryData.set_variable, which finds the group first, so the group gets
    them and the host does not; the fast path gives them to the host. Hence not in the test above.
    """
    plugin = plugin_with([phone(1, instance_name="koophone"), phone(2)], fast_path=mode)
    data, inventory = inventory_with_a_known_host(tmp_path, plugin, wrapped=False)
    plugin.parse(inventory, DataLoader(), str(tmp_path / "fleet.koophone.yml"))
    host, group = data.hosts["koophone"], data.groups["koophone"]
    assert host.vars["koophone_instance_id"] == "id00001"
    assert not any(name.startswith("koophone_") for name in group.vars)
    assert [member.name for member in group.hosts] == ["koophone", "kp-00002"]
    assert sorted(member.name for member in host.groups) == sorted(
        member.name for member in data.hosts["kp-00002"].groups
    )
    if mode == "always":
        assert host.vars["inventory_file"] == str(tmp_path / "fleet.koophone.yml")
        assert "inventory_file" not in group.vars


def test_auto_takes_the_fast_path_on_this_ansible_core(plugin_with, vvv):
    assert plugin_module.fast_path_problem(InventoryData()) is None
    parse(plugin_with([phone(1)], fast_path="auto"))
    (line,) = [line for line in vvv if "hosts added" in line]
    assert line.endswith("by the fast path")
    parse(plugin_with([phone(1)], fast_path="never"))
    assert vvv[-1].endswith("by the public inventory API")


@pytest.mark.skipif(_InventoryDataWrapper is None, reason="this ansible-core has no inventory proxy")
def test_the_check_passes_through_the_proxy_ansible_core_hands_plugins():
    proxy = _InventoryDataWrapper(
        InventoryData(), target_plugin=plugin_module.InventoryModule(), origin=Origin(description="unit test")
    )
    assert plugin_module.fast_path_problem(proxy) is None


class OverridingAddHost(InventoryData):
    def add_host(self, host, group=None, port=None):
        return super().add_host(host, group, port)


class HostsInAnotherMapping(InventoryData):
    def __init__(self):
        super().__init__()
        self.hosts = type("Hosts", (dict,), {})()


@pytest.mark.parametrize(
    "inventory,problem",
    [
        (object(), "the inventory is a object, not an InventoryData"),
        (OverridingAddHost(), "OverridingAddHost overrides add_host"),
        (HostsInAnotherMapping(), "InventoryData.hosts or .groups is not a dict"),
    ],
)
def test_the_check_refuses_an_inventory_it_does_not_know(inventory, problem):
    assert plugin_module.fast_path_problem(inventory) == problem


def test_the_check_refuses_trusted_plain_strings_and_survives_surprises(monkeypatch):
    monkeypatch.setattr(plugin_module, "is_trusted_as_template", lambda value: True)
    assert plugin_module.fast_path_problem(InventoryData()) == "a plain string is trusted as a template"
    monkeypatch.undo()

    def gone(*args, **kwargs):
        raise AttributeError("no such thing")

    monkeypatch.setattr(plugin_module, "Host", gone)
    assert plugin_module.fast_path_problem(InventoryData()) == "checking it failed: AttributeError: no such thing"


def test_when_a_group_keeps_more_on_add_host_the_check_sees_it(monkeypatch):
    """The fast path fills new groups in one go, not with Group.add_host: a future Group.add_host that
    keeps more state (a count, an index) would be missed, so the check compares the groups too."""
    original = Group.add_host

    def counting(self, host):
        self.host_count = getattr(self, "host_count", 0) + 1
        return original(self, host)

    monkeypatch.setattr(Group, "add_host", counting)
    problem = plugin_module.fast_path_problem(InventoryData())
    assert problem.startswith("add_host does more than the fast path does") and "host_count" in problem


def test_when_add_host_does_more_auto_falls_back_and_always_fails(plugin_with, monkeypatch, vvv):
    """A future add_host that keeps more state than the fast path writes: the check sees it."""
    original = InventoryData.add_host

    def doing_more(self, host, group=None, port=None):
        name = original(self, host, group, port)
        self.hosts[name].vars.setdefault("inventory_extra", "kept")
        return name

    monkeypatch.setattr(InventoryData, "add_host", doing_more)
    assert plugin_module.fast_path_problem(InventoryData()).startswith("add_host does more than the fast path does")

    inventory = parse(plugin_with([phone(1), phone(2)], fast_path="auto"))
    assert [host.vars["inventory_extra"] for host in inventory.hosts.values()] == ["kept", "kept"]
    assert any("using the public inventory API, not the fast path: add_host does more" in line for line in vvv)
    assert vvv[-1].endswith("by the public inventory API")

    FakeClient.made = []
    with pytest.raises(AnsibleParserError, match="invalid option fast_path: is always, but this ansible-core does not"):
        parse(plugin_with([phone(1)], fast_path="always"))
    assert FakeClient.made == []  # refused before any request


def test_the_plugin_imports_no_module_layer():
    with open(plugin_module.__file__) as handle:
        tree = ast.parse(handle.read())
    package = "ansible_collections.koophone.cloud.plugins.module_utils"
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == package:
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(package + "."):
            imported.add(node.module[len(package) + 1 :])
        elif isinstance(node, ast.Import):
            imported.update(alias.name[len(package) + 1 :] for alias in node.names if alias.name.startswith(package))
    assert imported and imported <= {"_client", "_errors", "_validation", "_operations", "_options", "_inventory"}


# -------------------------------------------------------------------- caching


def test_the_cache_holds_the_raw_items_and_serves_the_next_run(make_plugin):
    first = make_plugin([phone(1), phone(2)], cache=True)
    parse(first)
    (record,) = first._cache.values()
    assert plugin_module._unpack(record["items"]) == [phone(1), phone(2)]

    second = make_plugin([], cache=True, compose={"x": trust_as_template("1 + 1")})
    second._cache = first._cache
    inventory = parse(second)
    assert len(FakeClient.made) == 1  # no client for the second run
    assert sorted(inventory.hosts) == ["kp-00001", "kp-00002"]
    assert inventory.get_host("kp-00001").vars["x"] == 2


@pytest.mark.parametrize(
    "change",
    [
        {"instance_name": "kp"},
        {"pool_name": "pool-b"},
        {"endpoint": "http://other.invalid"},
        {"project_id": "p2"},
        {"auth_token": "another-tenants-token"},
    ],
)
def test_a_cache_entry_for_another_query_or_tenant_is_a_miss(make_plugin, change):
    first = make_plugin([phone(1)], cache=True)
    parse(first)
    second = make_plugin([phone(2)], cache=True, **change)
    second._cache = first._cache
    assert list(parse(second).hosts) == ["kp-00002"]
    assert len(FakeClient.made) == 2


@pytest.mark.parametrize("packed", ["not base64!", "aGVsbG8=", plugin_module._pack({"a": 1})[:-4]])
def test_a_damaged_packed_entry_is_a_miss(make_plugin, packed):
    plugin = make_plugin([phone(1)], cache=True)
    fingerprint = plugin._fingerprint()
    record = {"format": plugin_module.CACHE_FORMAT, "fingerprint": fingerprint, "items": packed}
    assert plugin_module._cached_items({"k": record}, "k", fingerprint) is None


def test_packing_round_trips_every_json_value():
    items = [phone(1, assign_user="专业版", backup_time=None), {"instance_id": "x", "nested": [1, {"a": True}]}]
    assert plugin_module._unpack(plugin_module._pack(items)) == items


def test_the_cache_never_holds_the_token(make_plugin):
    plugin = make_plugin([phone(1)], cache=True, auth_token="s3cr3t-token")
    parse(plugin)
    assert "s3cr3t-token" not in json.dumps(dict(plugin._cache))


def test_a_refresh_reads_the_api_and_updates_the_cache(make_plugin):
    first = make_plugin([phone(1)], cache=True)
    parse(first)
    second = make_plugin([phone(2)], cache=True)
    second._cache = first._cache
    assert list(parse(second, cache=False).hosts) == ["kp-00002"]
    (record,) = second._cache.values()
    assert plugin_module._unpack(record["items"]) == [phone(2)]


@pytest.mark.parametrize(
    "record",
    [
        None,
        "garbage",
        {"format": 99},
        {"format": plugin_module.CACHE_FORMAT, "fingerprint": "x", "items": "{"},
        {"format": 1, "fingerprint": "x", "items": "[]"},  # an older plugin's entry
    ],
)
def test_an_unusable_cache_entry_is_a_miss(make_plugin, record):
    plugin = make_plugin([phone(1)], cache=True)
    if isinstance(record, dict) and record.get("fingerprint") == "x":
        record = dict(record, fingerprint=plugin._fingerprint())
    plugin._cache["key-fleet.koophone.yml"] = record
    assert list(parse(plugin).hosts) == ["kp-00001"]
    assert len(FakeClient.made) == 1


def test_without_cache_nothing_is_stored(make_plugin):
    plugin = make_plugin([phone(1)])
    parse(plugin)
    assert dict(plugin._cache) == {}


# -------------------------------------------------------------------- the shared client's on_page (used by the plugin)


@pytest.fixture
def emulator_url():
    from koophone_emulator.config import Settings
    from koophone_emulator.server import start_in_thread

    server = start_in_thread(Settings(port=0, quiet=True, instances=1050, latency_ms=5))
    yield server.url
    server.shutdown()
    server.server_close()


def listing_client(url, **params):
    return KooPhoneClient(dict(dict(endpoint=url, auth_token="demo-token", concurrency=4), **params))


def test_on_page_gets_every_page_once_page_one_first(emulator_url):
    handed = []
    client = listing_client(emulator_url)
    items = client.list_all(
        "ListInstances", {}, 100, key="instance_id", on_page=lambda n, page: handed.append((n, page))
    )
    assert handed[0][0] == 1
    assert sorted(number for number, page in handed) == list(range(1, 12))
    by_page = [item for number, page in sorted(handed, key=lambda pair: pair[0]) for item in page]
    assert by_page == items  # the return value is unchanged: page order
    assert len({item["instance_id"] for item in items}) == 1050
    assert client.request_count == 11


def test_on_page_leaves_out_items_it_already_handed_over():
    handed = []
    handover = client_module._Handover(lambda number, page: handed.append((number, page)), "instance_id")
    handover(1, [{"instance_id": "a"}, {"instance_id": "b"}])
    handover(3, [{"instance_id": "b"}, {"instance_id": "c"}])
    assert handed == [(1, [{"instance_id": "a"}, {"instance_id": "b"}]), (3, [{"instance_id": "c"}])]


def test_a_failed_page_still_raises_with_on_page(emulator_url, monkeypatch):
    client = listing_client(emulator_url, retries=0)
    call = client.call

    def failing(operation, path_params=None, query=None, body=None):
        if query["page_no"] == 5:
            raise KooPhoneError("page 5 broke", operation=operation)
        return call(operation, path_params=path_params, query=query, body=body)

    monkeypatch.setattr(client, "call", failing)
    handed = []
    with pytest.raises(KooPhoneError, match="page 5 broke"):
        client.list_all("ListInstances", {}, 100, on_page=lambda number, page: handed.append(number))
    assert 5 not in handed and len(handed) == 10


def test_when_on_page_gives_up_no_further_page_is_requested(emulator_url):
    client = listing_client(emulator_url, concurrency=2)

    def give_up(number, page):
        if number != 1:
            raise RuntimeError("enough")

    with pytest.raises(RuntimeError, match="enough"):
        client.list_all("ListInstances", {}, 100, on_page=give_up)
    assert client.request_count <= 1 + 2 + 2  # page 1, the pages in flight, at most one more each


# -------------------------------------------------------------------- hostvars: which fields are set as host variables


def test_the_listing_reads_16_pages_at_once_by_default_and_honours_the_common_variable():
    # The plugin's own documentation does not redefine the common option; the fragment's plugins
    # variant carries the inventory's default, and ansible-core's merge gives the plugin that.
    assert "concurrency" not in yaml.safe_load(plugin_module.DOCUMENTATION)["options"]
    options = yaml.safe_load(plugin_module.DOCUMENTATION)["options"]
    merge_fragment(options, yaml.safe_load(ModuleDocFragment.PLUGINS)["options"])  # ansible-core's own merge
    spec = options["concurrency"]
    assert spec["default"] == 16 and spec["type"] == "int"
    assert spec["env"] == [{"name": "KOOPHONE_CONCURRENCY"}]


def test_without_concurrency_set_the_client_reads_16_pages_at_once(make_plugin):
    parse(make_plugin([phone(1)]))
    (client,) = FakeClient.made
    assert client.params["concurrency"] == 16


def test_the_documented_default_is_lean_and_names_the_lean_variables():
    spec = yaml.safe_load(plugin_module.DOCUMENTATION)["options"]["hostvars"]
    assert spec["default"] == ["lean"] and spec["type"] == "list"
    assert spec["env"] == [{"name": "KOOPHONE_INVENTORY_HOSTVARS"}]
    described = " ".join(spec["description"])
    for name in LEAN:
        assert "C(%s)" % name in described, name


def test_by_default_hosts_get_the_lean_variables_only(make_plugin):
    inventory = parse(make_plugin([phone(1), phone(2, assign_status=1, assign_user="u2")]))
    for host in inventory.hosts.values():
        assert set(host.vars) - set(plugin_module.SOURCE_VARS) == LEAN
    assert inventory.get_host("kp-00002").vars["koophone_assign_user"] == "u2"


def test_hostvars_full_sets_every_field_as_before(make_plugin):
    item = phone(1, phone_id="p1", new_field="x")
    host = parse(make_plugin([item], hostvars=["full"])).get_host("kp-00001")
    assert set(host.vars) - set(plugin_module.SOURCE_VARS) == set(fleet.HostVarsBuilder()(item))
    assert host.vars["koophone_phone_id"] == "p1" and host.vars["koophone_new_field"] == "x"


def test_templates_see_every_field_whatever_hostvars_sets(make_plugin):
    """compose, groups, keyed_groups, hostname templates and Jinja filters read fields lean leaves unset."""
    plugin = make_plugin(
        [phone(1), phone(2, frozen_status=1), phone(3, billing_mode="0"), phone(4, login_status=1)],
        hostvars=[],
        hostnames=[trust_as_template("{{ koophone_billing_mode }}-{{ koophone_instance_name }}")],
        compose={"sku": trust_as_template("koophone_instance_sku"), "koophone_phone": trust_as_template("'yes'")},
        groups={"frozen": trust_as_template("koophone_frozen_status_name == 'frozen'")},
        keyed_groups=[{"key": trust_as_template("koophone_billing_mode"), "prefix": "billing"}],
        exclude_filters=[trust_as_template("koophone_login_status_name == 'logged_in'")],
    )
    inventory = parse(plugin)
    assert sorted(inventory.hosts) == ["0-kp-00003", "1-kp-00001", "1-kp-00002"]
    host = inventory.get_host("1-kp-00001")
    assert host.vars["sku"].startswith("Professional edition") and host.vars["koophone_phone"] == "yes"
    assert "koophone_instance_sku" not in host.vars and "koophone_billing_mode" not in host.vars
    assert set(host.vars) - set(plugin_module.SOURCE_VARS) == {"koophone_instance_id", "sku", "koophone_phone"}
    assert [h.name for h in inventory.groups["frozen"].get_hosts()] == ["1-kp-00002"]
    assert sorted(h.name for h in inventory.groups["billing_1"].get_hosts()) == ["1-kp-00001", "1-kp-00002"]


def test_a_compose_entry_can_bring_back_one_field_under_its_own_name(make_plugin):
    plugin = make_plugin(
        [phone(1, billing_mode="0")], compose={"koophone_billing_mode": trust_as_template("koophone_billing_mode")}
    )
    assert parse(plugin).get_host("kp-00001").vars["koophone_billing_mode"] == "0"


def test_a_bad_hostvars_entry_fails_before_any_client_exists(make_plugin):
    with pytest.raises(AnsibleParserError, match="invalid option hostvars: 'colour' is neither lean, full"):
        parse(make_plugin([phone(1)], hostvars=["lean", "colour"]))
    assert FakeClient.made == []


def test_the_cache_serves_another_hostvars_choice_without_a_request(make_plugin):
    plugin = make_plugin([phone(1, billing_mode="0")], cache=True)
    parse(plugin)
    assert len(FakeClient.made) == 1
    plugin._options["hostvars"] = ["full"]
    inventory = parse(plugin)
    assert len(FakeClient.made) == 1  # the raw items were cached, not the hosts
    assert inventory.get_host("kp-00001").vars["koophone_billing_mode"] == "0"
