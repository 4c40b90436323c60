"""module_utils/_inventory.py: selection, host variables, default groups and host names, from batch-query items."""

import pytest

from ansible_collections.koophone.cloud.plugins.module_utils import _inventory as fleet
from ansible_collections.koophone.cloud.plugins.module_utils._errors import InvalidOption

from ..inventory.items import LEAN, phone

# -------------------------------------------------------------------- filters


@pytest.mark.parametrize("value,number", [("running", 2), ("RUNNING", 2), (2, 2), ("2", 2), ("shut_down", 5)])
def test_status_accepts_names_and_numbers(value, number):
    assert fleet.status_number("running_status", "running_status", value) == number


def test_unknown_status_names_the_option_and_the_choices():
    with pytest.raises(InvalidOption) as raised:
        fleet.status_number("running_status", "running_status", "sleeping")
    assert raised.value.option == "running_status"
    assert "sleeping" in str(raised.value) and "running (2)" in str(raised.value)


def test_a_filter_ands_its_fields_and_ors_each_fields_values():
    match = fleet.compile_filter(
        "include_filters", {"region": ["cn-north-*", "cn-east-3"], "running_status": "running"}
    )
    assert match(phone(1, region="cn-north-7"))
    assert match(phone(1, region="cn-east-3"))
    assert not match(phone(1, region="cn-southwest-2"))
    assert not match(phone(1, region="cn-north-7", running_status=1))


def test_status_fields_match_by_name_or_number_and_through_their_name_companion():
    by_name = fleet.compile_filter("f", {"running_status_name": ["stopped", "starting"]})
    by_number = fleet.compile_filter("f", {"running_status": [1, "4"]})
    for status, expected in ((1, True), (4, True), (2, False), ("1", True), (None, False)):
        assert by_name(phone(1, running_status=status)) is expected
        assert by_number(phone(1, running_status=status)) is expected


def test_non_string_fields_compare_as_text():
    match = fleet.compile_filter("f", {"billing_mode": 0})
    assert match(phone(1, billing_mode="0"))
    assert not match(phone(1, billing_mode="1"))
    assert fleet.compile_filter("f", {"assign_user": ""})(phone(1))


@pytest.mark.parametrize(
    "spec,fragment",
    [
        ({"colour": "red"}, "colour"),
        ({"region": []}, "empty list"),
        ({"running_status": "sleeping"}, "sleeping"),
        (["region", "cn-north-4"], "dictionary"),
    ],
)
def test_bad_filters_are_refused_naming_the_option(spec, fragment):
    with pytest.raises(InvalidOption) as raised:
        fleet.compile_filter("exclude_filters", spec)
    assert raised.value.option == "exclude_filters"
    assert fragment in str(raised.value)


def test_selection_needs_every_named_filter_any_include_and_no_exclude():
    keep = fleet.compile_selection(
        {"running_status": ("running_status", ["running"]), "regions": ("region", None)},
        [{"assign_status": "assigned"}, {"billing_mode": "0"}],
        [{"instance_name": "*-test"}],
    )
    assert keep(phone(1, assign_status=1))
    assert keep(phone(2, billing_mode="0"))
    assert not keep(phone(3))  # matches no include filter
    assert not keep(phone(4, assign_status=1, running_status=1))  # fails a named filter
    assert not keep(phone(5, assign_status=1, instance_name="kp-test"))  # excluded wins


def test_string_entries_are_expressions_compiled_by_the_caller():
    compiled = []

    def compile_expression(option, expression):
        compiled.append((option, expression))
        return lambda item: item["instance_name"].endswith(expression)

    keep = fleet.compile_selection({}, ["1", {"region": "cn-east-3"}], ["01"], compile_expression)
    assert compiled == [("include_filters", "1"), ("exclude_filters", "01")]
    assert keep(phone(11))  # include expression
    assert keep(phone(2, region="cn-east-3"))  # include dictionary
    assert not keep(phone(2))  # matches neither include
    assert not keep(phone(1))  # excluded by the expression


def test_dictionaries_are_tried_before_expressions():
    evaluated = []

    def compile_expression(option, expression):
        return lambda item: evaluated.append(item["instance_id"]) or True

    keep = fleet.compile_selection({}, ["anything", {"running_status": "running"}], [], compile_expression)
    assert keep(phone(1)) and keep(phone(2, running_status=1))
    assert evaluated == ["id00002"]  # phone 1 was settled by the dictionary


@pytest.mark.parametrize("spec,fragment", [("  ", "empty"), ("x == 1", "not supported"), (3, "dictionary")])
def test_expression_entries_need_text_and_a_compiler(spec, fragment):
    with pytest.raises(InvalidOption, match=fragment):
        fleet.compile_filter("include_filters", spec)


def test_no_filters_means_no_predicate_to_call():
    assert (
        fleet.compile_selection({"regions": ("region", None), "name_patterns": ("instance_name", None)}, [], None)
        is None
    )


def test_an_empty_list_of_values_is_refused_not_ignored():
    # running_status: [] would otherwise select every phone, which is not what anyone writes it for.
    with pytest.raises(InvalidOption, match="running_status.*empty list"):
        fleet.compile_selection({"running_status": ("running_status", [])}, [], None)


# -------------------------------------------------------------------- variables and groups


def test_host_variables_are_prefixed_fields_plus_status_names():
    variables = fleet.HostVarsBuilder()(phone(7, running_status=4, assign_status=1, new_field="x", **{"odd-name": 1}))
    assert variables["koophone_instance_id"] == "id00007"
    assert variables["koophone_running_status"] == 4
    assert variables["koophone_running_status_name"] == "starting"
    assert variables["koophone_assign_status_name"] == "assigned"
    assert variables["koophone_frozen_status_name"] == "normal"
    assert variables["koophone_new_field"] == "x"  # a field the API adds later is kept too
    assert variables["koophone_odd_name"] == 1
    assert "koophone_login_status_name" in variables and "koophone_phone_id_name" not in variables


def test_host_variables_carry_the_extras_and_survive_odd_status_values():
    build = fleet.HostVarsBuilder({"inventory_file": "/x/fleet.koophone.yml"})
    odd = build(phone(1, running_status=[2], assign_status="1", frozen_status=None))
    assert odd["inventory_file"] == "/x/fleet.koophone.yml"
    assert odd["koophone_running_status_name"] == "unknown"  # a list where a number belongs
    assert odd["koophone_assign_status_name"] == "assigned"  # a number sent as text
    assert odd["koophone_frozen_status_name"] == "unknown"
    # The names worked out for one combination are not shared with another.
    assert build(phone(2))["koophone_running_status_name"] == "running"
    assert "koophone_login_status_name" not in build({"instance_id": "x", "running_status": 2})


def test_slug_keeps_words_and_collapses_the_rest():
    assert fleet.slug("cn-north-4") == "cn_north_4"
    assert fleet.slug("Professional edition | 8 vCPUs | 16 GB") == "professional_edition_8_vcpus_16_gb"
    assert fleet.slug("专业版 | 8 核") == "专业版_8_核"
    assert fleet.slug("--") == ""


def test_default_groups():
    groups_of = fleet.DefaultGroups(fleet.DEFAULT_GROUP_KINDS, "koophone_")
    assert groups_of(phone(1, assign_status=1, assign_user="1008600", running_status=5)) == (
        "koophone_region_cn_north_4",
        "koophone_sku_professional_edition_4_vcpus_8_gb_32_gb_storage_maximum_resolution_720p",
        "koophone_status_shut_down",
        "koophone_assigned",
        "koophone_user_1008600",
    )
    # assign_user only for assigned phones; a value that slugs to nothing makes no group.
    assert fleet.DefaultGroups(["assign_user", "region"], "kp_")(phone(2, assign_user="x", region="--")) == ()
    assert fleet.DefaultGroups([], "kp_")(phone(3)) == ()


def test_default_groups_survive_unhashable_values():
    groups_of = fleet.DefaultGroups(["region", "running_status"], "g_")
    assert groups_of(phone(1, region=["cn-north-4"])) == ("g_region_cn_north_4", "g_status_running")


def test_default_groups_are_worked_out_once_per_combination():
    groups_of = fleet.DefaultGroups(["region", "running_status"], "g_")
    assert groups_of(phone(1)) is groups_of(phone(2))
    assert groups_of(phone(3, region="cn-north-7")) == ("g_region_cn_north_7", "g_status_running")


# -------------------------------------------------------------------- host names


def hostnames_of(pairs):
    return [name for name, item in pairs]


def no_render(template, item):
    raise AssertionError("no template expected")


def test_hostname_preferences_and_the_instance_id_as_last_resort():
    items = [phone(1), phone(2, instance_name=""), phone(3, instance_name=None, phone_id="null")]
    pairs, collisions = fleet.assign_hostnames(items, ["instance_name", "koophone_phone_id"], no_render)
    assert hostnames_of(pairs) == ["kp-00001", "id00002", "id00003"]
    assert collisions == {}


def test_template_preferences_use_the_renderer_and_fall_through_when_empty():
    def render(template, item):
        return None if item["instance_id"] == "id00002" else "%s/%s" % (template, item["instance_id"])

    pairs, collisions = fleet.assign_hostnames([phone(1), phone(2)], ["{{ x }}", "instance_id"], render)
    assert hostnames_of(pairs) == ["{{ x }}/id00001", "id00002"]
    assert collisions == {}


def test_colliding_names_all_get_their_id_whatever_the_order():
    items = [phone(1, instance_name="twin"), phone(2), phone(3, instance_name="twin")]
    pairs, collisions = fleet.assign_hostnames(items, ["instance_name"], no_render)
    assert hostnames_of(pairs) == ["twin_id00001", "kp-00002", "twin_id00003"]
    assert collisions == {"twin": ["id00001", "id00003"]}
    reversed_pairs, reversed_collisions = fleet.assign_hostnames(list(reversed(items)), ["instance_name"], no_render)
    assert sorted(reversed_pairs, key=lambda pair: pair[0]) == sorted(pairs, key=lambda pair: pair[0])
    assert reversed_collisions == {"twin": ["id00003", "id00001"]}


def test_a_renamed_phone_never_takes_another_phones_name():
    items = [phone(1, instance_name="a"), phone(2, instance_name="a"), phone(3, instance_name="a_id00001")]
    names = hostnames_of(fleet.assign_hostnames(items, ["instance_name"], no_render)[0])
    assert len(set(names)) == 3 and "a_id00001" in names and "a_id00002" in names


def test_strict_collisions_raise_naming_the_phones():
    items = [phone(1, instance_name="twin"), phone(2, instance_name="twin")]
    with pytest.raises(fleet.HostnameCollision) as raised:
        fleet.assign_hostnames(items, ["instance_name"], no_render, strict=True)
    assert "'twin' (id00001, id00002)" in str(raised.value)


def test_collision_descriptions_are_bounded():
    text = fleet.describe_collisions({"n%02d" % i: ["a", "b"] for i in range(12)})
    assert text.startswith("12 hostname(s)") and text.endswith("and 7 more")


@pytest.mark.parametrize("entry", ["serial", "", 3])
def test_hostname_entries_must_be_fields_or_templates(entry):
    with pytest.raises(InvalidOption):
        fleet.check_hostnames("hostnames", ["instance_name", entry])


def test_hostname_entries_accept_fields_prefixed_or_not_and_templates():
    fleet.check_hostnames("hostnames", ["instance_name", "koophone_instance_id", "{{ koophone_region }}-x"])


# -------------------------------------------------------------------- hostvars: which fields are set as host variables


@pytest.mark.parametrize(
    "entries,fields",
    [
        (None, fleet.LEAN_HOSTVARS),
        (["lean"], fleet.LEAN_HOSTVARS),
        ("lean", fleet.LEAN_HOSTVARS),
        (["full"], None),
        (["lean", "full"], None),
        ([], ("instance_id",)),
        (["region"], ("instance_id", "region")),
        (["koophone_billing_mode", "lean", "billing_mode"], ("instance_id", "billing_mode") + fleet.LEAN_HOSTVARS[1:]),
        (["frozen_status_name"], ("instance_id", "frozen_status_name")),
    ],
)
def test_hostvars_entries_add_up_and_the_instance_id_is_always_there(entries, fields):
    assert fleet.hostvar_fields("hostvars", entries) == fields


@pytest.mark.parametrize("entries", [["lean", "colour"], ["running_state"], [None], {"lean": True}, 7])
def test_a_hostvars_entry_that_is_no_field_is_refused_naming_the_option(entries):
    with pytest.raises(InvalidOption, match="hostvars") as raised:
        fleet.hostvar_fields("hostvars", entries)
    if isinstance(entries, list):
        assert "lean, full" in str(raised.value)


def test_the_lean_builder_sets_only_the_chosen_fields_and_status_names_plus_the_extras():
    item = phone(3, running_status=1, assign_status=1, assign_user="u1", new_field="x")
    lean = fleet.HostVarsBuilder({"inventory_file": "/x/fleet.koophone.yml"}, fleet.LEAN_HOSTVARS)(item)
    assert set(lean) == LEAN | {"inventory_file"}
    assert lean["koophone_running_status"] == 1 and lean["koophone_assign_user"] == "u1"
    named = fleet.HostVarsBuilder(None, fleet.hostvar_fields("hostvars", ["lean", "running_status_name"]))(item)
    assert set(named) == LEAN | {"koophone_running_status_name"} and named["koophone_running_status_name"] == "stopped"
    only = fleet.HostVarsBuilder(None, ("instance_id", "frozen_status_name"))(item)
    assert only == {"koophone_instance_id": "id00003", "koophone_frozen_status_name": "normal"}
    # A chosen field the phone does not have is left out, as with every field.
    assert "koophone_backup_time" not in fleet.HostVarsBuilder(None, ("instance_id", "backup_time"))(item)
    full = fleet.HostVarsBuilder()(item)
    assert set(full) > LEAN and "koophone_new_field" in full and "koophone_frozen_status_name" in full
