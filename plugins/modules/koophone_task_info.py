#!/usr/bin/python
# Copyright: (c) 2026, koophone.cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: koophone_task_info
short_description: Look up KooPhone async tasks and their jobs
version_added: 0.1.0
description:
  - Reads C(GET /v1/instances/tasks/{task_id}) for each task in O(task_ids) (concurrently) and returns the jobs with
    their states.
  - Serves async command tasks (32 hexadecimal characters, from M(koophone.cloud.koophone_command) with
    O(koophone.cloud.koophone_command#module:wait=false)) and app install tasks (prefix C(ZGCA) or C(FULFILL)); reset,
    unassign and backup tasks (prefix C(RM_)) are looked up the same way.
  - Commands report jobs as V(1) running, V(2) succeeded, V(-1) failed; app installs as V(0) not started, V(1) running,
    V(2) succeeded, V(3) failed. Every job gets a readable RV(jobs[].status_name) for both.
  - With O(wait=true), polls until every job has finished or O(wait_timeout) passes.
author:
  - koophone.cloud maintainers (@koophone)
options:
  task_ids:
    description:
      - The tasks to look up. Each is at most 64 characters of letters, digits, C(_), C(.) and C(-).
      - A task the service does not know (C(KOOPHONE.API.1323)) is returned with RV(tasks[].found=false); it is not an
        error.
    type: list
    elements: str
    required: true
    aliases: [task_id]
  wait:
    description:
      - Wait until every job of every task has finished (succeeded or failed).
      - The task fails if jobs are still unfinished after O(wait_timeout), naming them.
    type: bool
    default: false
  wait_timeout:
    description:
      - Seconds to wait with O(wait=true) (1 to 86400).
    type: int
    default: 300
notes:
  - The task API does not say which instance a job belongs to. M(koophone.cloud.koophone_command) returns each
    instance's C(job_id); join on it (see the examples).
seealso:
  - module: koophone.cloud.koophone_command
extends_documentation_fragment:
  - koophone.cloud.koophone
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.actiongroups
attributes:
  check_mode:
    support: full
    details: Reads only; runs normally in check mode.
  diff_mode:
    support: N/A
  platform:
    platforms: all
  action_group:
    support: full
    membership:
      - koophone.cloud.koophone
"""

EXAMPLES = r"""
- name: Submit a command without waiting
  koophone.cloud.koophone_command:
    instance_ids: "{{ phone_ids }}"
    command: pm list packages -3
    wait: false
  register: submitted

- name: Wait for its jobs
  koophone.cloud.koophone_task_info:
    task_ids: "{{ submitted.task_ids }}"
    wait: true
    wait_timeout: 600
  register: tasks

- name: Each phone's output, mapped back through the job ids
  ansible.builtin.debug:
    msg: "{{ item.instance_id }}: {{ output_by_job[item.job_id] | default('no job') }}"
  loop: "{{ submitted.results }}"
  loop_control:
    label: "{{ item.instance_id }}"
  vars:
    output_by_job: "{{ tasks.jobs | items2dict(key_name='job_id', value_name='execute_msg') }}"

- name: Look at an app install task once
  koophone.cloud.koophone_task_info:
    task_id: ZGCA8f3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d
  register: install

- name: Did every install succeed?
  ansible.builtin.debug:
    msg: "{{ install.tasks[0].succeeded_count == install.tasks[0].job_count }}"
"""

RETURN = r"""
tasks:
  description: One entry per task in O(task_ids), in that order.
  returned: always
  type: list
  elements: dict
  contains:
    task_id:
      description: The task.
      type: str
      sample: 6837531fd3f54550927b930180a706bf
    task_type:
      description:
        - What the id looks like, V(command) (32 hexadecimal characters), V(app_install) (C(ZGCA) or C(FULFILL)
          prefix), V(instance_task) (C(RM_) prefix) or V(other).
      type: str
      sample: command
    found:
      description: Whether the service knows the task.
      type: bool
      sample: true
    done:
      description: Whether every job of the task has finished (succeeded or failed).
      type: bool
      sample: true
    job_count:
      description: How many jobs the task has.
      type: int
      sample: 2
    succeeded_count:
      description: How many jobs succeeded.
      type: int
      sample: 1
    failed_count:
      description: How many jobs failed.
      type: int
      sample: 1
    error_code:
      description: The service's error code when the task was not found.
      type: str
      returned: when RV(tasks[].found=false)
      sample: KOOPHONE.API.1323
    error_msg:
      description: The service's error message when the task was not found.
      type: str
      returned: when RV(tasks[].found=false)
jobs:
  description: Every job of every found task, task by task, in the order the service lists them.
  returned: always
  type: list
  elements: dict
  contains:
    task_id:
      description: The task the job belongs to.
      type: str
    job_id:
      description: The job; M(koophone.cloud.koophone_command) returns it per instance.
      type: str
      sample: 1564567b8bab40f34711234cb80d0123
    instance_id:
      description: The job's instance, when the service names it (the reference's answer does not).
      type: str
      returned: when the service includes it
    status:
      description: V(0) not started, V(1) running, V(2) succeeded, V(3) or V(-1) failed.
      type: int
      sample: 2
    status_name:
      description:
        - V(not_started), V(running), V(succeeded), V(failed), or V(unknown) for a number the API does not define.
      type: str
      sample: succeeded
    error_code:
      description: The job's error code; empty on success.
      type: str
      sample: ""
    error_msg:
      description: The job's error message; empty on success.
      type: str
      sample: ""
    execute_msg:
      description: What the command printed, or the install's message; V(null) when there is none.
      type: str
      sample: "11"
done:
  description: Whether every found task has finished.
  returned: always
  type: bool
  sample: true
"""

from ansible_collections.koophone.cloud.plugins.module_utils import _commands as commands
from ansible_collections.koophone.cloud.plugins.module_utils import _validation as validation
from ansible_collections.koophone.cloud.plugins.module_utils._errors import InvalidOption
from ansible_collections.koophone.cloud.plugins.module_utils._module import KooPhoneModule

WAIT_TIMEOUT_RANGE = (1, 86400)
MAX_NAMED = 20


def validate(params):
    if not params["task_ids"]:
        raise InvalidOption("task_ids", "must name at least one task")
    for task_id in params["task_ids"]:
        if not commands.TASK_ID.match(task_id or ""):
            raise InvalidOption(
                "task_ids",
                "%r is not a task id: at most 64 characters of letters, digits, '_', '.' and '-'" % (task_id,),
            )
    validation.check_range("wait_timeout", params["wait_timeout"], *WAIT_TIMEOUT_RANGE)


def describe_pending(jobs, wait_timeout):
    named = validation.some(
        (
            "%s (task %s%s)"
            % (job["job_id"], job["task_id"], ", instance %s" % job["instance_id"] if "instance_id" in job else "")
            for job in jobs
        ),
        MAX_NAMED,
    )
    return "%d jobs had not finished when wait_timeout (%ss) expired: %s." % (len(jobs), wait_timeout, named)


def run(kp):
    params = kp.params
    reader = commands.TaskReader(kp.client, params["task_ids"])
    finished = reader.read(params["wait_timeout"] if params["wait"] else 0)
    result = {
        "changed": False,
        "tasks": reader.summaries(),
        "jobs": reader.jobs(),
        "done": bool(reader.found) and all(task.finished for task in reader.found),
    }
    if params["wait"] and not finished:
        kp.fail(msg=describe_pending(reader.pending_jobs(), params["wait_timeout"]), **result)
    return result


def main():
    kp = KooPhoneModule(
        argument_spec=dict(
            task_ids=dict(type="list", elements="str", required=True, aliases=["task_id"]),
            wait=dict(type="bool", default=False),
            wait_timeout=dict(type="int", default=300),
        ),
        supports_check_mode=True,
    )
    kp.run(run, validate=validate)


if __name__ == "__main__":
    main()
