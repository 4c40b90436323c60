"""A KooPhoneModule around a fake client and a fake AnsibleModule, for the modules' run functions
(tests get it as conftest's ``make_kp`` fixture).

Its ``fail``/``exit`` are KooPhoneModule's own, so the tests see what a module really returns
(what was done so far, results hidden under no_log); only AnsibleModule and the client are fake.
"""

from ansible_collections.koophone.cloud.plugins.module_utils._module import KooPhoneModule


class ModuleExit(SystemExit):
    """fail_json was called; ``args[0]`` is the result."""


class FakeModule:
    def __init__(self, diff=True, no_log=False):
        self._diff = diff
        self.no_log = no_log
        self.failed = None
        self.warnings = []

    def fail_json(self, **result):
        self.failed = result
        raise ModuleExit(result)

    def exit_json(self, **result):
        raise AssertionError("the run functions return their result; KooPhoneModule.run exits")

    def warn(self, text):
        self.warnings.append(text)


class FakeKp(KooPhoneModule):
    def __init__(self, client, params, check_mode=False, module=None):  # pylint: disable=super-init-not-called
        # AnsibleModule is not built here: the options are given as they would be after its checks.
        self._client = client
        self.params = params
        self.check_mode = check_mode
        self.module = module or FakeModule()
        self.result = {"changed": False}
