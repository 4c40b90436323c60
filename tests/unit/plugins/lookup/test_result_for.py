"""The result_for lookup: each host's entry of a registered fleet result, by the variable's name."""

import pytest
import yaml
from ansible import constants
from ansible.errors import AnsibleLookupError
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

from ansible_collections.koophone.cloud.plugins.lookup import result_for


class CountingDict(dict):
    """A dict that counts how many of its entries were read."""

    reads = 0

    def get(self, key, default=None):
        CountingDict.reads += 1
        return super().get(key, default)

    def __getitem__(self, key):
        CountingDict.reads += 1
        return super().__getitem__(key)


NAME = "koophone.cloud.result_for"
# What Ansible's plugin loader does when it loads the lookup: its documented options become its configuration.
constants.config.initialize_plugin_configuration_definitions(
    "lookup", NAME, yaml.safe_load(result_for.DOCUMENTATION)["options"]
)


def lookup(terms, variables, **options):
    plugin = result_for.LookupModule(loader=DataLoader(), templar=Templar(loader=DataLoader(), variables=variables))
    plugin._load_name = NAME
    return plugin.run(terms, variables=variables, **options)


def entries(count):
    return [{"instance_id": "i%04d" % n, "stdout": "out-%d" % n, "failed": n % 2 == 1} for n in range(count)]


def registered(count):
    results = entries(count)
    return {"changed": True, "results": results, "results_by_instance_id": dict((e["instance_id"], e) for e in results)}


def test_each_host_reads_its_own_entry_from_the_index_whatever_the_size_of_the_fleet():
    for size in (10, 10000):
        result = registered(size)
        result["results_by_instance_id"] = CountingDict(result["results_by_instance_id"])
        CountingDict.reads = 0
        found = lookup(["i0007"], {"fleet_release": result, "koophone_instance_id": "i0007"}, register="fleet_release")
        assert found == [{"instance_id": "i0007", "stdout": "out-7", "failed": True}]
        assert CountingDict.reads == 1  # one entry read, not the fleet


@pytest.mark.parametrize(
    "value",
    [
        {"results": entries(5)},  # koophone_app's results
        {"instances": entries(5)},  # koophone_instance_info's instances
        entries(5),  # a plain list, say a variable set from .results
    ],
)
def test_results_without_the_index_are_searched(value):
    assert lookup(["i0003", "i0001"], {"fleet": value}, register="fleet") == [entries(5)[3], entries(5)[1]]


def test_a_phone_without_an_entry_is_an_error_naming_it_unless_a_default_is_given():
    variables = {"fleet_release": registered(3)}
    with pytest.raises(AnsibleLookupError, match="fleet_release has no result for instance NoSuch01 .it holds 3."):
        lookup(["NoSuch01"], variables, register="fleet_release")
    assert lookup(["NoSuch01", "i0000"], variables, register="fleet_release", default={}) == [{}, entries(3)[0]]
    assert lookup(["NoSuch01"], variables, register="fleet_release", default=None) == [None]


def test_register_takes_the_name_of_the_variable():
    with pytest.raises(AnsibleLookupError, match="no variable named 'fleet_relase'"):
        lookup(["i0000"], {"fleet_release": registered(1)}, register="fleet_relase")
    with pytest.raises(AnsibleLookupError, match="not a module result"):
        lookup(["i0000"], {"fleet_release": 42}, register="fleet_release")
    with pytest.raises(AnsibleLookupError, match="has no results_by_instance_id, results or instances"):
        lookup(["i0000"], {"fleet_release": {"msg": "hello"}}, register="fleet_release")
