# Copyright: (c) 2026, koophone.cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the koophone.cloud collection (shared layer; see docs/development.md): not a public API,
# it may change in any release. Do not import it from other collections or standalone plugins.
"""KooPhoneModule: an AnsibleModule with the common options (declared in _options.py), and the
glue that turns client errors into ``fail_json`` (never a traceback)."""

import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.koophone.cloud.plugins.module_utils import _options as options
from ansible_collections.koophone.cloud.plugins.module_utils._client import (
    HAS_REQUESTS,
    REQUESTS_IMPORT_ERROR,
    KooPhoneClient,
)
from ansible_collections.koophone.cloud.plugins.module_utils._errors import InvalidOption, KooPhoneError

# A failure message names this many instances with their reasons; the rest are counted.
NAMED_IN_MESSAGE = 10


def name_failures(reasons):
    """``"id: reason; ... and N more"`` for a failure message, from (instance_id, reason) pairs."""
    named = "; ".join("%s: %s" % pair for pair in reasons[:NAMED_IN_MESSAGE])
    more = " and %d more" % (len(reasons) - NAMED_IN_MESSAGE) if len(reasons) > NAMED_IN_MESSAGE else ""
    return named + more


class KooPhoneModule:
    """An AnsibleModule with the common options, a lazily built client and error handling.

    A module builds one, then calls ``run(function, validate)``: its own option checks run
    before the client exists, so bad input never sends a request; ``function`` receives this
    object and returns the result dict.

    ``result`` holds what the module has done so far. A module records each change there as soon
    as the service accepted it (``kp.result.update(changed=True, ...)``), so that an error in a
    later step still reports ``changed`` and what was done, instead of hiding a paid order or a
    reboot behind a failure that says nothing changed.
    """

    def __init__(self, argument_spec, **kwargs):
        spec = options.argument_spec()
        spec.update(argument_spec)
        self.module = AnsibleModule(argument_spec=spec, **kwargs)
        self.params = self.module.params
        self.check_mode = self.module.check_mode
        self._client = None
        self.result = {"changed": False}
        if not HAS_REQUESTS:
            self.module.fail_json(msg=missing_required_lib("requests"), exception=repr(REQUESTS_IMPORT_ERROR))

    @property
    def client(self):
        if self._client is None:
            self._client = KooPhoneClient(self.params)
        return self._client

    def fail_invalid(self, error):
        self.module.fail_json(msg="Invalid option %s" % error, option=error.option)

    def fail(self, **result):
        """fail_json with what was done so far, then ``result`` (which needs ``msg``)."""
        self.module.fail_json(**self._hide_results(dict(self.result, **result)))

    def exit(self, **result):
        self.module.exit_json(**self._hide_results(dict(self.result, **result)))

    def _hide_results(self, result):
        # A diff is part of the result only when asked for (--diff, or diff: true on the task).
        if not self.module._diff:
            result.pop("diff", None)
        # Under no_log, Ansible censors a task's result but still prints each entry of a ``results``
        # list (it takes them for loop items); each entry has to carry the marker itself.
        if self.module.no_log and isinstance(result.get("results"), list):
            result["results"] = [dict(entry, _ansible_no_log=True) for entry in result["results"]]
        return result

    def run(self, function, validate=None):
        """Validate the options (``validate(params)`` raises InvalidOption), then run ``function``."""
        try:
            if validate is not None:
                validate(self.params)
            options.check_tuning(self.params)
            # Build the client (and so check the credentials) before any work starts.
            self.client  # noqa: B018  pylint: disable=pointless-statement
            result = function(self)
        except InvalidOption as error:
            self.fail_invalid(error)
        except KooPhoneError as error:
            self.fail(msg=str(error), **error.to_dict())
        except Exception as error:  # pylint: disable=broad-except
            # Never a bare traceback: say what broke, keep the trace for -vvv.
            self.fail(msg="Unexpected error: %s" % (error,), exception=traceback.format_exc())
        self.exit(**result)
