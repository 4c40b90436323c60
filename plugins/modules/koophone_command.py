#!/usr/bin/python
# Copyright: (c) 2026, koophone.cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: koophone_command
short_description: Run an adb shell command on many KooPhone cloud phones at once
version_added: 0.1.0
description:
  - Runs one adb shell command on every instance in O(instance_ids) through the KooPhone command APIs
    (C(POST /v1/instances/async-command) or C(POST /v1/instances/sync-command)) and returns one result per
    instance.
  - Lists of any length are split into chunks of 100 instances (the API's limit); the chunks are sent concurrently
    (see O(concurrency)). One call for 1,000 phones sends 10 command requests, plus the polls in O(mode=async).
  - In O(mode=async) every job the service creates is mapped back to its instance, and the module polls
    C(GET /v1/instances/tasks/{task_id}) (one request per chunk per round, concurrently) until every job has
    finished or O(wait_timeout) passes.
  - A command is never sent twice to an instance. Commands are not safe to repeat, so when the answer to a chunk is
    lost (a broken connection or a server error), its instances are reported as failed with a message saying that it
    is unknown whether the command ran; they are not sent again.
  - An instance that does not exist, is not running, or whose command fails is a result with RV(results[].failed=true),
    never silently missing. The module fails when any instance failed, unless O(fail_on_error=false); all results are
    returned either way.
author:
  - koophone.cloud maintainers (@koophone)
options:
  instance_ids:
    description:
      - The instances to run the command on. Any number; each id is at most 32 characters.
      - An id given twice runs the command once and gets one result.
      - An empty list is refused before any request (it is almost always a selection that went wrong upstream).
    type: list
    elements: str
    required: true
  command:
    description:
      - The adb shell command, for example V(getprop ro.build.version.release). At most 1,024 bytes (UTF-8).
      - "The API reference says a command may contain only letters, digits and C(_ . / : -); its own examples also
        use spaces. A service that holds to that refuses pipes, C(;), C(&&), quotes, C(=), C(*) or redirections with
        C(KOOPHONE.API.1000). For commands that work on every service, keep to letters, digits, spaces and
        C(_ . / : -), and filter the output on the controller (for example
        C(dumpsys package com.example.app) with a C(regex_search) in Jinja instead of C(| grep versionName))."
      - "The module sends the command as given (non-empty, at most 1,024 bytes). When the service refuses it, every
        result carries the service's C(error_code) and its text in C(error_msg), and the task fails naming them."
    type: str
    required: true
  mode:
    description:
      - V(async) submits the command with async-command and follows its jobs through the task API. The HTTP requests
        are short whatever the command does, so a slow command cannot hit O(timeout), and a failed poll is simply
        repeated. This is the default because it works for every command.
      - V(sync) uses sync-command, which answers with the output once every instance in the chunk has run the command.
        It needs no polls, so it is a little quicker for short commands, but a chunk's request lasts as long as its
        slowest phone, and any command that outlives O(timeout) loses the whole chunk's output. O(wait) and
        O(wait_timeout) do not apply.
    type: str
    choices: [async, sync]
    default: async
  wait:
    description:
      - In O(mode=async), wait for every job to finish and return its output.
      - With V(false), return at once after submitting, with each instance's RV(results[].job_id) and the
        RV(task_ids), to follow later with M(koophone.cloud.koophone_task_info).
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait for the jobs after they were submitted (1 to 86400), in O(mode=async) with O(wait=true).
      - Instances whose job is still running then are failed results, named in the message and in
        RV(pending_instance_ids).
    type: int
    default: 300
  fail_on_error:
    description:
      - Fail the task when the command failed on any instance (or its outcome is unknown, or it was still running
        at O(wait_timeout)).
      - With V(false), the task succeeds and each instance's outcome is in RV(results[].failed); the message still
        names the failures.
    type: bool
    default: true
  strip_empty_ends:
    description:
      - Strip trailing newlines from each instance's RV(results[].stdout), as M(ansible.builtin.command) does.
    type: bool
    default: true
notes:
  - A lost answer cannot be recovered by asking the service afterwards. The async-command request carries no handle
    the client could choose, and no API lists tasks, so the module cannot learn whether a chunk whose answer was lost
    was accepted. Reporting those instances as failed, and never re-sending, is the only safe choice; see the
    collection's C(docs/commands.md).
  - Throttling (HTTP 429) and connections refused before anything was sent are retried, since the service applied
    nothing; polls of the task API are retried on any failure.
  - "Progress: the action plugin of the same name shows progress lines while the module runs (the chunks submitted,
    the jobs done, failed and pending) and a summary at the end (counts by outcome, the failed phones by name and id
    grouped by reason). With C(-v) it shows every change and always the summary; at the default verbosity a run
    shorter than 3 seconds stays quiet, a longer one shows a line at most every 5 seconds, and the summary is shown
    when progress was or something failed. This needs the module to run on the controller (C(delegate_to: localhost)
    or a local connection), as it does for phones; elsewhere, under O(ignore:async) or in check mode the task shows
    only its result. The progress file holds counts only (no id, command, output or credential), is 0600 in a
    private temporary directory, and is removed at the end."
  - Phone names in the message and RV(summary) are read only when something failed, for the failed phones the
    message names (at most 20 per reason). That is one filtered batch-query per phone for up to 10 phones, otherwise
    one listing of the fleet (its pages concurrently).
  - There is no exit status in the API. A command counts as failed when the service reports the job as failed
    (status V(-1)); its output is still returned in RV(results[].stdout).
seealso:
  - module: koophone.cloud.koophone_task_info
  - module: ansible.builtin.command
extends_documentation_fragment:
  - koophone.cloud.koophone
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.actiongroups
attributes:
  check_mode:
    support: full
    details:
      - Sends no request at all and reports that the command would run on every instance
        (RV(results[].status_name=would_run)).
  diff_mode:
    support: none
  platform:
    platforms: all
  action_group:
    support: full
    membership:
      - koophone.cloud.koophone
"""

EXAMPLES = r"""
- name: Read the Android release of three phones
  koophone.cloud.koophone_command:
    instance_ids: [5srn5hL8, a44uhlf7, efjy72gs]
    command: getprop ro.build.version.release
  register: release

- name: Show each phone's answer
  ansible.builtin.debug:
    msg: "{{ item.instance_id }}: {{ item.stdout }}"
  loop: "{{ release.results }}"
  loop_control:
    label: "{{ item.instance_id }}"

# The whole inventory in ONE module call. In a play over the phones (hosts with the hostvar
# koophone_instance_id, which the koophone.cloud.koophone inventory plugin sets), the command runs
# once, on the controller, for every host of the play; then each host picks its own result.
- name: Run getprop on all phones of the play in one call
  koophone.cloud.koophone_command:
    instance_ids: "{{ ansible_play_hosts | map('extract', hostvars, 'koophone_instance_id') | list }}"
    command: getprop ro.build.version.release
    fail_on_error: false
  run_once: true
  delegate_to: localhost
  register: fleet_release

# Each host reads its own entry in constant time, whatever the size of the fleet. Not
# fleet_release.results_by_instance_id[koophone_instance_id] in a per-host template: on
# ansible-core 2.19 that wraps the whole index for every host (O(N) each, O(N^2) in all).
- name: Give every host its own result
  ansible.builtin.set_fact:
    android_release: "{{ mine.stdout }}"
    android_release_failed: "{{ mine.failed }}"
  vars:
    mine: "{{ lookup('koophone.cloud.result_for', koophone_instance_id, register='fleet_release') }}"

- name: On the controller, one phone's result by its id
  ansible.builtin.debug:
    msg: "{{ fleet_release.results_by_instance_id['5srn5hL8'].stdout }}"
  run_once: true

- name: How many phones failed, and why
  ansible.builtin.debug:
    msg: "{{ fleet_release.summary.counts.failed }} failed: {{ reasons }}"
  vars:
    reasons: "{{ fleet_release.summary.failures | map(attribute='reason') | list }}"
  run_once: true

- name: Stop an app on a list of phones, waiting at most 10 minutes
  koophone.cloud.koophone_command:
    instance_ids: "{{ phone_ids }}"
    command: am force-stop com.example.shop
    mode: async
    wait: true
    wait_timeout: 600

- name: Fire and forget
  koophone.cloud.koophone_command:
    instance_ids: "{{ phone_ids }}"
    command: settings put global auto_time 1
    wait: false
  register: submitted

- name: Later, look the jobs up (and wait for them)
  koophone.cloud.koophone_task_info:
    task_ids: "{{ submitted.task_ids }}"
    wait: true
  register: jobs

- name: Phones whose job failed
  ansible.builtin.debug:
    msg: "{{ submitted.results | selectattr('job_id', 'in', failed_jobs) | map(attribute='instance_id') | list }}"
  vars:
    failed_jobs: "{{ jobs.jobs | selectattr('status_name', '==', 'failed') | map(attribute='job_id') | list }}"

- name: A short command with sync-command
  koophone.cloud.koophone_command:
    instance_ids: "{{ phone_ids }}"
    command: pm list packages -3
    mode: sync
"""

RETURN = r"""
results:
  description:
    - One entry per requested instance, in the order of O(instance_ids) (an id given twice appears once).
  returned: always
  type: list
  elements: dict
  contains:
    instance_id:
      description: The instance.
      type: str
      sample: 5srn5hL8
    stdout:
      description:
        - What the command printed (the API's C(execute_msg), at most 1,024 bytes), also when it failed.
        - Empty when the command did not run or has not finished.
      type: str
      sample: "11"
    stdout_lines:
      description: RV(results[].stdout) split into lines.
      type: list
      elements: str
      sample: ["11"]
    failed:
      description:
        - Whether the command failed on this instance, did not run (unknown or stopped instance, refused request),
          may or may not have run (lost answer), or was still running at O(wait_timeout).
      type: bool
      sample: false
    status:
      description:
        - The API's status number for this instance, V(1) running, V(2) succeeded, V(-1) failed; V(null) when the
          API gave none (see RV(results[].status_name)).
      type: int
      sample: 2
    status_name:
      description:
        - V(succeeded), V(failed) or V(running) from the API's status.
        - V(submitted) when O(wait=false) (or the job was never read).
        - V(unknown) when the answer was lost and it is unknown whether the command ran; it was not sent again.
        - V(rejected) when the service refused the request; the command did not run.
        - V(would_run) in check mode.
      type: str
      sample: succeeded
    error_code:
      description:
        - The service's error code for this instance (for example V(CPS0005), V(KOOPHONE.API.62010)); empty on success.
      type: str
      sample: ""
    error_msg:
      description: The service's error message, or what the module knows about the failure; empty on success.
      type: str
      sample: ""
    job_id:
      description: The async job of this instance; V(null) when none was created.
      type: str
      returned: when O(mode=async)
      sample: 1564567b8bab40f34711234cb80d0123
    task_id:
      description: The task (one per chunk of up to 100 instances) the job belongs to.
      type: str
      returned: when O(mode=async)
      sample: 6837531fd3f54550927b930180a706bf
    request_id:
      description: The C(x-request-id) of the failed request, for the service's support.
      type: str
      returned: when the request for this instance's chunk failed
results_by_instance_id:
  description:
    - The same entries as RV(results), keyed by instance id.
    - For each inventory host of a play to read its own entry, use the lookup P(koophone.cloud.result_for#lookup)
      (constant time per host); indexing this dict in a per-host template costs time in proportion to the fleet on
      ansible-core 2.19 and later.
  returned: always
  type: dict
  sample: {"5srn5hL8": {"instance_id": "5srn5hL8", "stdout": "11", "failed": false, "status": 2}}
summary:
  description:
    - What happened, counted and grouped, for people and for C(when:) conditions. The action plugin displays it at the
      end of the task (see the notes).
  returned: always
  type: dict
  contains:
    total:
      description: The number of instances (an id given twice counts once).
      type: int
      sample: 1000
    counts:
      description:
        - The instances by outcome, every key always present. V(succeeded); V(failed) (the command failed, or the
          phone refused it, for example not running or not found); V(timed_out) (still running at O(wait_timeout));
          V(unknown) (it is unknown whether it ran); V(rejected) (the request was refused; it did not run);
          V(running); V(submitted) (O(wait=false)); V(would_run) (check mode).
      type: dict
      sample: {"succeeded": 968, "failed": 32, "timed_out": 0, "unknown": 0, "rejected": 0, "running": 0,
               "submitted": 0, "would_run": 0}
    failures:
      description:
        - The failed instances grouped by reason, in request order, the instances still running at O(wait_timeout)
          last.
      type: list
      elements: dict
      contains:
        reason:
          description: The service's message and code, or what the module knows.
          type: str
          sample: The cloud instance is abnormal. (KOOPHONE.API.62010)
        error_code:
          description: The service's error code of the group (empty when it gave none).
          type: str
          sample: KOOPHONE.API.62010
        count:
          description: How many instances failed for this reason.
          type: int
          sample: 25
        instances:
          description:
            - The first 20 of them, with their names.
            - C(instance_name) is read from the service only when something failed, for the phones named here (see the
              notes), and is V(null) for a phone the service does not know or when it could not be read.
          type: list
          elements: dict
          sample: [{"instance_id": "LzMR1X9V", "instance_name": "kp-00030"}]
task_ids:
  description:
    - The async tasks created, one per chunk of up to 100 instances.
    - Follow them with M(koophone.cloud.koophone_task_info).
  returned: when O(mode=async)
  type: list
  elements: str
  sample: [6837531fd3f54550927b930180a706bf]
failed_instance_ids:
  description: The instances whose RV(results[].failed) is true, in request order.
  returned: always
  type: list
  elements: str
  sample: []
pending_instance_ids:
  description: The instances whose job was still running when O(wait_timeout) expired.
  returned: when O(mode=async)
  type: list
  elements: str
  sample: []
msg:
  description: What happened, naming the failed and pending instances (C(name (id)) when the name is known).
  returned: always
  type: str
  sample: Ran the command on 3 instances.
"""

import os

from ansible_collections.koophone.cloud.plugins.module_utils import _commands as commands
from ansible_collections.koophone.cloud.plugins.module_utils import _validation as validation
from ansible_collections.koophone.cloud.plugins.module_utils._errors import InvalidOption
from ansible_collections.koophone.cloud.plugins.module_utils._module import KooPhoneModule

WAIT_TIMEOUT_RANGE = (1, 86400)


def validate(params):
    validation.check_ids("instance_ids", params["instance_ids"])
    if not params["instance_ids"]:
        # An empty list is almost always a selection that went wrong upstream: say so, do not guess.
        raise InvalidOption("instance_ids", "is empty; it must name at least one instance")
    validation.check_command("command", params["command"])
    validation.check_range("wait_timeout", params["wait_timeout"], *WAIT_TIMEOUT_RANGE)


def execute(kp, run):
    params = kp.params
    asynchronous = params["mode"] == "async"
    if kp.check_mode or not run.entries:
        return
    if not asynchronous:
        commands.run_sync(kp.client, run, params["command"])
        return
    commands.submit_async(kp.client, run, params["command"])
    if params["wait"]:
        commands.wait_for_jobs(kp.client, run, params["wait_timeout"])


def summary(kp, run, names):
    count = len(run.entries)
    if kp.check_mode:
        return "Check mode: the command would run on %d instances; nothing was sent." % count
    failures = commands.describe_failures(run, names)
    if failures:
        return failures
    if kp.params["mode"] == "async" and not kp.params["wait"]:
        return "Submitted the command to %d instances in %d tasks." % (count, len(run.task_ids))
    return "Ran the command on %d instances." % count


def run(kp):
    params = kp.params
    asynchronous = params["mode"] == "async"
    run = commands.CommandRun(params["instance_ids"], asynchronous, params["strip_empty_ends"])
    # The action plugin of the same name displays these progress snapshots while the module runs.
    run.progress = commands.Progress(os.environ.get(commands.PROGRESS_ENV))
    try:
        execute(kp, run)
        # Names only for the failed phones the message names, and only when something failed.
        names = commands.resolve_names(kp.client, run) if run.failed_ids and not kp.check_mode else {}
        run.progress.report(run, commands.DONE, force=True)
    finally:
        run.progress.close()
    results = run.results
    result = {
        "changed": bool(run.entries) and (kp.check_mode or run.changed),
        "results": results,
        "results_by_instance_id": dict((entry["instance_id"], entry) for entry in results),
        "failed_instance_ids": run.failed_ids,
        "summary": commands.summarize(run, names),
        "msg": summary(kp, run, names),
    }
    if asynchronous:
        result.update(task_ids=run.task_ids, pending_instance_ids=run.pending)
    if run.failed_ids and params["fail_on_error"]:
        kp.fail(**result)
    return result


def main():
    kp = KooPhoneModule(
        argument_spec=dict(
            instance_ids=dict(type="list", elements="str", required=True),
            command=dict(type="str", required=True),
            mode=dict(type="str", choices=["async", "sync"], default="async"),
            wait=dict(type="bool", default=True),
            wait_timeout=dict(type="int", default=300),
            fail_on_error=dict(type="bool", default=True),
            strip_empty_ends=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    kp.run(run, validate=validate)


if __name__ == "__main__":
    main()
