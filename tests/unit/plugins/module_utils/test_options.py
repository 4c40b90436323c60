"""The common options, declared once: the argument spec, both doc fragment variants and the client's defaults agree.

The doc fragment keeps static copies of what _options.doc_fragment renders (ansible-test's yamllint
accepts only string literals there): they must be exactly the same text. Beyond that, the fragment
strings are read as ansible-doc and the plugin loader read them (the YAML of the loaded
ModuleDocFragment), so a hand edit of either variant, of the argument spec or of the table that
makes them drift apart fails here.

After editing OPTIONS, rewrite the fragment's strings with
    KOOPHONE_WRITE_DOC_FRAGMENT=1 .venv/bin/python -m pytest -q tests/unit/plugins/module_utils/test_options.py
"""

import os
import re

import pytest
import yaml
from ansible.module_utils.basic import env_fallback

from ansible_collections.koophone.cloud.plugins.doc_fragments import koophone as fragment_module
from ansible_collections.koophone.cloud.plugins.doc_fragments.koophone import ModuleDocFragment
from ansible_collections.koophone.cloud.plugins.inventory import koophone as inventory_plugin
from ansible_collections.koophone.cloud.plugins.module_utils import _options as options
from ansible_collections.koophone.cloud.plugins.module_utils._errors import InvalidOption

SPEC = options.argument_spec()
MODULES = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)
PLUGINS = yaml.safe_load(ModuleDocFragment.PLUGINS)
MODULE_DOCS, PLUGIN_DOCS = MODULES["options"], PLUGINS["options"]
ENV_SENTENCE = re.compile(r"^If not set, the value of the environment variable (.+) is used\.$")
# The product contract (DESIGN.md): these options exist everywhere, and these are secrets.
CONTRACT = (
    "endpoint",
    "auth_token",
    "access_key",
    "secret_key",
    "security_token",
    "project_id",
    "username",
    "password",
    "domain_name",
    "project_name",
    "iam_endpoint",
    "validate_certs",
    "timeout",
    "retries",
    "concurrency",
)
SECRETS = {"auth_token", "secret_key", "security_token", "password"}


def env_names_in_sentence(description):
    """The E(...) names of the modules variant's last description line."""
    match = ENV_SENTENCE.match(description[-1])
    assert match, "the last description line should name the environment variables: %r" % description[-1]
    return re.findall(r"E\(([A-Z0-9_]+)\)", match.group(1))


FRAGMENT_STRINGS = {"DOCUMENTATION": "modules", "PLUGINS": "plugins"}


def write_fragment_strings(path):
    """Put what doc_fragment renders into the fragment file's two r\"\"\"...\"\"\" strings."""
    with open(path) as handle:
        text = handle.read()
    for attribute, variant in FRAGMENT_STRINGS.items():
        pattern = re.compile(r'^(    %s = r""")(.*?)(""")$' % attribute, re.M | re.S)
        text, count = pattern.subn(
            lambda match, v=variant: match.group(1) + options.doc_fragment(v) + match.group(3), text
        )
        assert count == 1, 'no single %s = r"""...""" block in %s' % (attribute, path)
    with open(path, "w") as handle:
        handle.write(text)


@pytest.mark.parametrize("attribute", sorted(FRAGMENT_STRINGS))
def test_the_doc_fragment_holds_exactly_what_the_table_renders(attribute):
    if os.environ.get("KOOPHONE_WRITE_DOC_FRAGMENT"):
        write_fragment_strings(fragment_module.__file__)
        with open(fragment_module.__file__) as handle:
            assert options.doc_fragment(FRAGMENT_STRINGS[attribute]) in handle.read()
        return
    assert getattr(ModuleDocFragment, attribute) == options.doc_fragment(FRAGMENT_STRINGS[attribute]), (
        "plugins/doc_fragments/koophone.py %s differs from _options.doc_fragment(%r); rewrite it with "
        "KOOPHONE_WRITE_DOC_FRAGMENT=1 .venv/bin/python -m pytest -q tests/unit/plugins/module_utils/test_options.py"
        % (attribute, FRAGMENT_STRINGS[attribute])
    )


def test_every_option_is_in_the_spec_and_both_variants_in_the_same_order():
    assert list(SPEC) == list(MODULE_DOCS) == list(PLUGIN_DOCS) == list(options.NAMES)
    assert set(CONTRACT) <= set(options.NAMES)
    assert len(set(options.NAMES)) == len(options.NAMES)


@pytest.mark.parametrize("name", options.NAMES)
def test_types_agree(name):
    assert SPEC[name]["type"] == MODULE_DOCS[name]["type"] == PLUGIN_DOCS[name]["type"]
    assert SPEC[name]["type"] in ("str", "path", "bool", "int")


@pytest.mark.parametrize("name", options.NAMES)
def test_defaults_agree(name):
    default = SPEC[name].get("default")
    plugin_default = options.PLUGIN_DEFAULTS.get(name, default)
    assert MODULE_DOCS[name].get("default") == default
    assert PLUGIN_DOCS[name].get("default") == plugin_default
    assert options.DEFAULTS.get(name) == default
    if default is not None:  # the YAML kept the type: 30 is an int, true a bool
        assert type(MODULE_DOCS[name]["default"]) is type(default) is type(PLUGIN_DOCS[name]["default"])


def test_only_the_inventory_reads_more_pages_at_once_by_default():
    # A listing is read-only and one burst per run (docs/inventory.md); every other default is shared.
    assert options.PLUGIN_DEFAULTS == {"concurrency": 16}
    assert PLUGIN_DOCS["concurrency"]["default"] == 16 and MODULE_DOCS["concurrency"]["default"] == 8
    assert "16 at a time" in " ".join(PLUGIN_DOCS["concurrency"]["description"])
    assert "16 at a time" not in " ".join(MODULE_DOCS["concurrency"]["description"])


def test_the_client_defaults_are_the_documented_ones():
    documented = dict((name, spec["default"]) for name, spec in SPEC.items() if "default" in spec)
    assert documented == options.DEFAULTS
    assert options.DEFAULTS["endpoint"] == "https://koophone.myhuaweicloud.com"
    assert options.DEFAULTS["iam_endpoint"] == "https://iam.myhuaweicloud.com"
    assert options.DEFAULTS["validate_certs"] is True
    assert (options.DEFAULTS["timeout"], options.DEFAULTS["retries"], options.DEFAULTS["concurrency"]) == (30, 6, 8)


@pytest.mark.parametrize("name", options.NAMES)
def test_environment_variables_agree(name):
    function, names = SPEC[name]["fallback"]
    assert function is env_fallback
    assert [entry["name"] for entry in PLUGIN_DOCS[name]["env"]] == names
    assert env_names_in_sentence(MODULE_DOCS[name]["description"]) == names
    assert "env" not in MODULE_DOCS[name]
    # The KooPhone name first; AWX refuses to inject variables whose names start with ANSIBLE_.
    assert names[0] == "KOOPHONE_" + name.upper()
    assert all(env.startswith(("KOOPHONE_", "HUAWEICLOUD_SDK_")) for env in names)


def test_secrets_are_no_log_and_nothing_else_is():
    assert set(name for name, spec in SPEC.items() if spec["no_log"]) == SECRETS
    # Set explicitly to False: a name with "key" in it would otherwise draw a no_log warning.
    assert SPEC["access_key"]["no_log"] is False
    assert not any("default" in SPEC[name] for name in SECRETS)


@pytest.mark.parametrize("name", options.NAMES)
def test_both_variants_describe_each_option_alike(name):
    plugin_description = PLUGIN_DOCS[name]["description"]
    assert plugin_description and all(isinstance(line, str) and line.strip() for line in plugin_description)
    table = dict((option["name"], option) for option in options.OPTIONS)[name]
    common = list(table["description"])
    plugin_only = list(table.get("plugins", {}).get("description", ()))
    assert MODULE_DOCS[name]["description"] == common + [options.env_sentence(SPEC[name]["fallback"][1])]
    assert not any(ENV_SENTENCE.match(line) for line in plugin_description)
    assert plugin_description == common + plugin_only


def test_the_ranges_are_the_ones_documented():
    assert options.LIMITS == {"timeout": (1, 600), "retries": (0, 20), "concurrency": (1, 64)}
    for name, (low, high) in options.LIMITS.items():
        assert SPEC[name]["type"] == "int"
        assert low <= options.DEFAULTS[name] <= high
        assert "(%d to %d)" % (low, high) in PLUGIN_DOCS[name]["description"][0]


def test_stale_credential_texts_are_gone():
    assert "Optional with AK/SK signing" in PLUGIN_DOCS["project_id"]["description"][0]
    assert "project_id" not in " ".join(PLUGIN_DOCS["access_key"]["description"])
    assert "O(access_key), O(secret_key), O(project_id)" not in " ".join(MODULES["notes"])


def test_notes_and_requirements_only_in_the_modules_variant():
    assert set(MODULES) == {"options", "notes", "requirements"}
    assert set(PLUGINS) == {"options"}  # the inventory plugin states its own
    assert MODULES["requirements"] == ["requests"]
    assert MODULES["notes"] == list(options.MODULE_NOTES)


def test_an_unknown_variant_is_refused():
    with pytest.raises(ValueError, match="modules, plugins"):
        options.doc_fragment("module")


def test_the_argument_spec_is_a_fresh_copy_each_time():
    spec = options.argument_spec()
    spec["retries"]["default"] = 99
    spec["extra"] = {}
    assert options.argument_spec() == SPEC and SPEC["retries"]["default"] == 6


def test_the_inventory_plugin_passes_exactly_the_common_options_to_the_client():
    assert inventory_plugin.CLIENT_OPTIONS == options.NAMES
    own = yaml.safe_load(inventory_plugin.DOCUMENTATION)
    assert "koophone.cloud.koophone.PLUGINS" in own["extends_documentation_fragment"]
    assert not set(own["options"]) & set(options.NAMES), "the plugin must not redefine a common option"


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"timeout": None, "retries": None, "concurrency": None},
        {"timeout": 1, "retries": 0, "concurrency": 1},
        {"timeout": 600, "retries": 20, "concurrency": 64},
        {"endpoint": "unchecked here", "retries": 6},
    ],
)
def test_tuning_within_range_passes(params):
    options.check_tuning(params)


@pytest.mark.parametrize(
    "name,value,bounds",
    [
        ("timeout", 0, "1 and 600"),
        ("timeout", 601, "1 and 600"),
        ("retries", -1, "0 and 20"),
        ("retries", 21, "0 and 20"),
    ]
    + [("concurrency", 0, "1 and 64"), ("concurrency", 65, "1 and 64")],
)
def test_tuning_out_of_range_names_the_option_and_the_range(name, value, bounds):
    with pytest.raises(InvalidOption) as raised:
        options.check_tuning({name: value})
    assert raised.value.option == name
    assert str(raised.value) == "%s: is %s; it must be between %s" % (name, value, bounds)
