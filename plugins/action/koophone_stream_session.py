# Copyright: (c) 2026, koophone.cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs koophone_stream_session; a result that holds device tokens is censored in Ansible's output.

A device token is a credential for a phone's stream. A module cannot hide its own result (Ansible
drops ``_ansible_no_log`` from module output), but an action plugin can: the result then shows as
"censored" on screen, in callbacks and in ``log_path`` at every verbosity, exactly as with
``no_log: true`` on the task, while ``register`` still receives every field.
"""

from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        result.update(self._execute_module(task_vars=task_vars))
        sessions = result.get("sessions")
        if isinstance(sessions, list) and any(isinstance(s, dict) and s.get("device_token") for s in sessions):
            result["_ansible_no_log"] = True
        return result
