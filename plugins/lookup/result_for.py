# Copyright: (c) 2026, koophone.cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: result_for
author:
  - koophone.cloud maintainers (@koophone)
version_added: 0.1.0
short_description: One phone's entry of a fleet result, in constant time per inventory host
description:
  - Returns the entry of one instance (or of several) from the registered result of a fleet module, such as
    M(koophone.cloud.koophone_command) run once for every host of a play. Each inventory host then reads its own
    phone's result with C(lookup('koophone.cloud.result_for', koophone_instance_id, register='fleet_release')).
  - The cost per host does not depend on the size of the fleet. The lookup reads the registered variable as it is
    stored, by its name, and indexes its RV(koophone.cloud.koophone_command#module:results_by_instance_id). A
    template that indexes the result itself (C(fleet_release.results_by_instance_id[koophone_instance_id])) is C(O(N))
    per host on ansible-core 2.19 and later, because every container a template reaches is wrapped item by item;
    over a fleet that is C(O(N^2)) in all (see the collection's C(docs/commands.md), "Every host its own result").
  - A result without C(results_by_instance_id) (a list of entries with C(instance_id), or a dict holding one as
    C(results) or C(instances), as M(koophone.cloud.koophone_app) and M(koophone.cloud.koophone_instance_info)
    return) is searched entry by entry, in Python. That is linear per host, but with a small constant.
options:
  _terms:
    description:
      - The instance ids, usually V({{ koophone_instance_id }}).
    type: list
    elements: str
    required: true
  register:
    description:
      - The B(name) of the variable that holds the module's result, as given to C(register) (a string such as
        V(fleet_release), not the value itself).
    type: str
    required: true
  default:
    description:
      - Returned for an instance that has no entry in the result.
      - Without it, such an instance is an error that names it.
    type: raw
notes:
  - Why a lookup and not a filter. A filter receives its arguments as lazy containers, and reaching the entry of
    one phone wraps the whole index first, so a filter is C(O(N)) per host like a plain template. A lookup is given the
    variables as stored; it reads one entry of the index and nothing else.
  - "A variable that is itself a template (for example C(fleet: '{{ fleet_release }}') under C(vars)) is rendered
    first, which costs C(O(N)); name the registered variable directly."
seealso:
  - module: koophone.cloud.koophone_command
"""

EXAMPLES = r"""
# In a play over the phones (hosts with the hostvar koophone_instance_id, which the koophone.cloud.koophone
# inventory plugin sets): one command for every host of the play, then each host its own entry.
- name: Run getprop on all phones of the play in one call
  koophone.cloud.koophone_command:
    instance_ids: "{{ ansible_play_hosts | map('extract', hostvars, 'koophone_instance_id') | list }}"
    command: getprop ro.build.version.release
    fail_on_error: false
  run_once: true
  delegate_to: localhost
  register: fleet_release

- name: Give every host its own result
  ansible.builtin.set_fact:
    android_release: "{{ mine.stdout }}"
    android_release_failed: "{{ mine.failed }}"
  vars:
    mine: "{{ lookup('koophone.cloud.result_for', koophone_instance_id, register='fleet_release') }}"

- name: A phone that may not be in the result
  ansible.builtin.debug:
    msg: "{{ lookup('koophone.cloud.result_for', koophone_instance_id, register='fleet_release', default={}) }}"
"""

RETURN = r"""
_raw:
  description:
    - The entry of each instance, as the module returned it (for M(koophone.cloud.koophone_command), a dict with
      C(instance_id), C(stdout), C(stdout_lines), C(failed), C(status), C(status_name), C(error_code), C(error_msg),
      ...), or O(default) for an instance without one.
    - With one instance id, C(lookup) returns the entry itself; C(query) always returns a list.
  type: list
  elements: dict
"""

# Ansible plugins import after DOCUMENTATION/EXAMPLES/RETURN.
from collections.abc import Mapping  # noqa: E402

from ansible.errors import AnsibleLookupError  # noqa: E402
from ansible.plugins.lookup import LookupBase  # noqa: E402

INDEX = "results_by_instance_id"
LISTS = ("results", "instances")
_MISSING = object()


def entries_of(value, name):
    """``{instance_id: entry}`` for a registered result: its index when it has one (O(1)), else built from its
    list of entries."""
    if isinstance(value, Mapping):
        index = value.get(INDEX)
        if isinstance(index, Mapping):
            return index
        for key in LISTS:
            if isinstance(value.get(key), list):
                return _index(value[key])
        raise AnsibleLookupError(
            "%s has no %s, results or instances: is it the registered result of a koophone.cloud module?"
            % (name, INDEX)
        )
    if isinstance(value, list):
        return _index(value)
    raise AnsibleLookupError("%s is a %s, not a module result" % (name, type(value).__name__))


def _index(entries):
    return {entry.get("instance_id"): entry for entry in entries if isinstance(entry, (dict, Mapping))}


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        name = self.get_option("register")
        default = kwargs.get("default", _MISSING)
        variables = variables if variables is not None else {}
        if name not in variables:
            raise AnsibleLookupError(
                "There is no variable named %r: give register= the name used with register, as a string" % (name,)
            )
        value = variables[name]
        if isinstance(value, str):
            # A variable defined as a template of the result: render it (O(N), but correct).
            value = self._templar.template(value)
        index = entries_of(value, name)
        found = []
        for term in terms:
            entry = index.get("%s" % (term,), _MISSING)
            if entry is _MISSING:
                if default is _MISSING:
                    raise AnsibleLookupError(
                        "%s has no result for instance %s (it holds %d); give default= to allow that"
                        % (name, term, len(index))
                    )
                entry = default
            found.append(entry)
        return found
