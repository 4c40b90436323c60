"""The layering docs/development.md promises, read from the imports of every file."""

import ast
import os

import pytest

PLUGINS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..", "plugins")
MODULE_UTILS = os.path.join(PLUGINS, "module_utils")
PACKAGE = "ansible_collections.koophone.cloud.plugins.module_utils"
SHARED = {
    "_operations",
    "_options",
    "_client",
    "_auth",
    "_signer",
    "_errors",
    "_tasks",
    "_changes",
    "_records",
    "_validation",
    "_statuses",
    "_module",
}
CAPABILITY = {"_instances", "_orders", "_commands", "_apps", "_video", "_skus", "_inventory"}
PRIVATE_HEADER = "# Private to the koophone.cloud collection"


def module_utils_files():
    return sorted(name[:-3] for name in os.listdir(MODULE_UTILS) if name.endswith(".py"))


def imports(path):
    """(module_utils names imported, other modules imported) by the file at ``path``."""
    with open(path) as handle:
        tree = ast.parse(handle.read())
    ours, others = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == PACKAGE:
                ours.update(alias.name for alias in node.names)
            elif node.module.startswith(PACKAGE + "."):
                ours.add(node.module[len(PACKAGE) + 1 :])
            else:
                others.update("%s.%s" % (node.module, alias.name) for alias in node.names)
        elif isinstance(node, ast.Import):
            others.update(alias.name for alias in node.names)
    return ours, others


def test_every_module_util_is_private_and_in_a_layer():
    names = module_utils_files()
    assert names and all(name.startswith("_") for name in names)
    assert set(names) == SHARED | CAPABILITY
    for name in names:
        with open(os.path.join(MODULE_UTILS, name + ".py")) as handle:
            head = handle.read(400)
        layer = "shared layer" if name in SHARED else "capability layer"
        assert PRIVATE_HEADER in head and layer in head, name


@pytest.mark.parametrize("name", sorted(SHARED))
def test_the_shared_layer_imports_no_capability(name):
    ours, _others = imports(os.path.join(MODULE_UTILS, name + ".py"))
    assert not ours & CAPABILITY


@pytest.mark.parametrize("name", sorted(SHARED | CAPABILITY))
def test_only_the_module_base_imports_ansible_module(name):
    _ours, others = imports(os.path.join(MODULE_UTILS, name + ".py"))
    if name != "_module":
        assert "ansible.module_utils.basic.AnsibleModule" not in others


def test_the_inventory_plugin_imports_no_module_layer():
    ours, _others = imports(os.path.join(PLUGINS, "inventory", "koophone.py"))
    assert ours and not ours & (CAPABILITY - {"_inventory"})
    assert "_module" not in ours


@pytest.mark.parametrize("name", [name for name in module_utils_files() if name != "__init__"])
def test_every_module_utils_file_has_its_unit_test_file(name):
    # Tests mirror the code: module_utils/_x.py is tested in tests/unit/plugins/module_utils/test_x.py.
    here = os.path.dirname(os.path.abspath(__file__))
    assert os.path.isfile(os.path.join(here, "test_%s.py" % name.lstrip("_")))
