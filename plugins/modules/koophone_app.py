#!/usr/bin/python
# Copyright: (c) 2026, koophone.cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: koophone_app
short_description: Install and remove Android apps on KooPhone cloud phones
version_added: 0.1.0
description:
  - Makes sure an Android package is installed at a given version on a list of cloud phones (O(state=present)), or is
    not installed (O(state=absent)).
  - Idempotent. First it reads what each instance has installed, then it installs only where O(name) at O(version) is
    missing and uninstalls only where O(name) is present. A second run with the same options changes nothing and
    sends no install request.
  - What is installed is read from the app list of each instance (C(GET /v1/instances/{instance_id}/app-list), one
    request per 200 apps, concurrently; see O(concurrency)). Where the service does not offer the app list, the module
    asks the phones instead, through sync-command (C(pm list packages NAME), then C(dumpsys package NAME) where the
    package is there, its C(versionName=) line read on the controller); see O(detection).
  - Installs use C(POST /v1/instances/app/install), one request per 100 instances, concurrently. The service downloads
    the package from O(url) and installs it in a task; with O(wait=true) the module follows the task
    (C(GET /v1/instances/tasks/{task_id})) and reports the outcome on every instance.
  - Uninstalls run C(pm uninstall NAME) through sync-command (C(POST /v1/instances/sync-command)), one request per 100
    instances.
  - An install request is never sent twice to an instance within a run once it may have reached the service. When
    the service answers it with a server error, the module reads the installed apps back once, at once; when its
    answer is lost (the connection broke after it was sent), it re-reads them, with O(wait=true), for up to
    O(wait_timeout) seconds and at most 30 seconds, as a lost create is. Instances found at O(version) count as
    installed, the others are reported as failed with C(maybe_applied=true) and a message that the request may or
    may not have been accepted, and the task reports C(changed=true). Run the task again to retry; it finds the app
    where the lost request installed it. Only requests that provably never reached the service (HTTP 429, a refused
    connection) are sent again automatically.
  - An "already exists" answer (C(KOOPHONE.API.62005)) refuses the whole request and applies nothing. The module
    reads the installed apps of that request's instances; those found at O(version) count as installed (by someone
    else, so unchanged), and the install is sent once more to the others. A request refused because some of its
    instances are not the tenant's (C(KOOPHONE.API.1001)) applies nothing either; the instances the instance listing
    does not show are reported, and the request is sent once more to the others.
  - An uninstall whose answer is lost is checked against the installed apps; where the app is still there,
    C(pm uninstall) is sent again (at most three times in all).
  - Per-instance failures (a failed download, a version conflict, no space, an instance that is not running, ...)
    are reported in RV(results) with a readable message, the service's error code and message; the task then fails,
    naming the instances, while the results of the other instances stand.
author:
  - koophone.cloud maintainers (@koophone)
options:
  instance_ids:
    description:
      - The instances to act on, each at most 32 characters. Any number; installs are sent 100 instances per request.
      - Duplicates are acted on once.
    type: list
    elements: str
    required: true
  name:
    description:
      - The Android package name of the app, for example V(com.tencent.mm) (C(object_name) in the API).
      - Dot-separated segments of letters, digits and underscores that each start with a letter; at most 100
        characters.
    type: str
    required: true
  version:
    description:
      - The version name the app must have (C(object_version), at most 100 characters), for example V(8.0.58).
      - Compared, as text, with the version the app list (or C(dumpsys package)) reports. Quote it in YAML, or
        C(1.10) becomes the number 1.1.
      - Required with O(state=present). Not used with O(state=absent), which removes any version.
    type: str
  url:
    description:
      - The HTTPS URL the service downloads the package from (C(install_package_url)), usually a signed OBS URL. At
        most 2,000 characters.
      - Required with O(state=present).
      - A signed URL carries credentials in its query (for example C(x-obs-security-token), C(Signature)), so the
        option is C(no_log). Its value is masked in the task's invocation at any verbosity, and the results never
        repeat it (O(file_name) is shown instead).
    type: str
  file_name:
    description:
      - The package's file name, suffix included (C(file_name)), at most 100 characters.
      - Defaults to the last segment of the path of O(url).
    type: str
  size_mb:
    description:
      - The package's size in MB (C(object_size)), more than 0 and at most 2,048 (the service refuses larger
        packages).
      - Required with O(state=present).
    type: float
  md5:
    description:
      - The MD5 checksum of the package (C(content_md5)), at most 200 characters. The service requires a non-empty
        value.
      - Required with O(state=present).
    type: str
  fast_install:
    description:
      - Use the service's quick installation mode (C(fast_install=1)) instead of the normal one (C(0)).
    type: bool
    default: false
  state:
    description:
      - V(present) installs O(name) at O(version) where it is missing or at another version.
      - V(absent) uninstalls O(name) (any version) where it is installed. System apps cannot be uninstalled; the
        phone's refusal is reported per instance.
    type: str
    choices: [present, absent]
    default: present
  force:
    description:
      - With O(state=present), install on every instance even where O(name) is already at O(version).
      - Where O(name) is installed (at any version), it is first uninstalled with C(pm uninstall), which deletes the
        app's data, because the service refuses to install a package that is already there (C(62005)) and to
        replace a newer version (C(62020)).
      - Not used with O(state=absent).
    type: bool
    default: false
  wait:
    description:
      - With O(state=present), wait for the install tasks to finish, up to O(wait_timeout) seconds, and report each
        instance's outcome. Instances still installing by then are reported as failed, with the task and job ids.
      - A task whose job list is empty counts as finished; its instances are then judged by what they have
        installed.
      - With V(false), the module returns once the service has accepted the installs; RV(results) then carry the
        task and job ids to follow with M(koophone.cloud.koophone_task_info).
      - Uninstalls are synchronous and need no waiting.
    type: bool
    default: true
  wait_timeout:
    description:
      - How long to wait for install tasks, in seconds (1 to 86,400).
      - The same time also bounds how long the installed apps are re-read after a lost install answer (with
        O(wait=true)); the install tasks and the re-reading share one deadline.
    type: int
    default: 600
  detection:
    description:
      - How the module finds what each instance has installed.
      - V(auto) reads the app list and falls back to V(command) when the service does not offer the app list
        (it answers 404).
      - V(app_list) reads C(GET /v1/instances/{instance_id}/app-list), one request per instance (and per 200 apps).
        It works whatever the instance's state.
      - V(command) runs C(pm list packages NAME) through sync-command, one request per 100 instances, and
        C(dumpsys package NAME) where the package is there (its C(versionName=) line is read on the controller,
        since the API allows no pipe in a command). Far fewer requests for large fleets, but the instances must be
        running.
    type: str
    choices: [auto, app_list, command]
    default: auto
extends_documentation_fragment:
  - koophone.cloud.koophone
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.actiongroups
attributes:
  check_mode:
    support: full
    details: Reads the installed apps and reports what would be installed or removed; sends no install, uninstall or
      other changing request.
  diff_mode:
    support: full
    details: Shows the version of O(name) before and after on each instance that changes (V(null) for not installed).
  platform:
    platforms: all
  action_group:
    support: full
    membership:
      - koophone.cloud.koophone
notes:
  - The API has no uninstall operation; uninstalling relies on the phones' C(pm uninstall) through sync-command.
  - For thousands of phones, O(detection=command) reads the installed apps with 1 request per 100 phones instead of
    1 per phone.
seealso:
  - module: koophone.cloud.koophone_command
  - module: koophone.cloud.koophone_task_info
"""

EXAMPLES = r"""
- name: Roll WeChat 8.0.58 out to the fleet
  koophone.cloud.koophone_app:
    instance_ids: "{{ fleet.instances | map(attribute='instance_id') | list }}"
    name: com.tencent.mm
    version: 8.0.58
    url: "https://my-bucket.obs.cn-north-4.myhuaweicloud.com/apks/com.tencent.mm-8.0.58.apk"
    size_mb: 120
    md5: 0cc175b9c0f1b6a831c399e269772661
  register: rollout
  # The task fails when any instance fails; keep going to show which ones.
  ignore_errors: true

- name: Show the instances where the install failed
  ansible.builtin.debug:
    msg: "{{ rollout.results | selectattr('failed') | map(attribute='msg') | list }}"
  when: rollout is failed

- name: Reinstall it on two phones (uninstalls first; the app's data is lost)
  koophone.cloud.koophone_app:
    instance_ids: [5srn5hL8, a44uhlf7]
    name: com.tencent.mm
    version: 8.0.58
    url: "https://my-bucket.obs.cn-north-4.myhuaweicloud.com/apks/com.tencent.mm-8.0.58.apk"
    size_mb: 120
    md5: 0cc175b9c0f1b6a831c399e269772661
    force: true

- name: Submit an install without waiting; follow the tasks later
  koophone.cloud.koophone_app:
    instance_ids: "{{ ids }}"
    name: com.example.shop
    version: 2.4.1
    url: "https://my-bucket.obs.cn-north-4.myhuaweicloud.com/apks/shop.apk"
    file_name: shop-2.4.1.apk
    size_mb: 35.5
    md5: 9e107d9d372bb6826bd81d3542a419d6
    fast_install: true
    wait: false
  register: submitted

- name: Remove the app everywhere
  koophone.cloud.koophone_app:
    instance_ids: "{{ ids }}"
    name: com.example.shop
    state: absent
"""

RETURN = r"""
results:
  description: One entry per instance, in the order of O(instance_ids).
  returned: always
  type: list
  elements: dict
  contains:
    instance_id:
      description: The instance.
      type: str
      sample: 5srn5hL8
    action:
      description:
        - What the module did (or, in check mode, would do) on the instance.
        - V(none), V(install), V(reinstall) (uninstall then install, with O(force=true)) or V(uninstall).
      type: str
      sample: install
    changed:
      description: Whether the instance was changed (in check mode, would be).
      type: bool
    failed:
      description: Whether something failed on this instance; see RV(results[].msg).
      type: bool
    version_before:
      description: The version of O(name) the instance had before, V(null) when not installed.
      type: str
      sample: 8.0.57
    version:
      description:
        - The version of O(name) the instance has now as far as the module knows, V(null) when not installed.
        - After an install that was submitted but not waited for, still the version before.
      type: str
      sample: 8.0.58
    task_id:
      description: The install task (a C(ZGCA...) id).
      type: str
      returned: when an install was submitted
      sample: ZGCAorI8ocwK7U7_t0AfH26P-DjwDw8Yknf4
    job_id:
      description: The instance's job in the install task.
      type: str
      returned: when an install was submitted
    job_status:
      description: The job's last status (0 not run, 1 running, 2 success, 3 or -1 failed).
      type: int
      returned: when an install task was followed
      sample: 2
    job_status_name:
      description: V(not_started), V(running), V(succeeded) or V(failed).
      type: str
      returned: when an install task was followed
      sample: succeeded
    execute_msg:
      description: What the job reported, for example V(Success).
      type: str
      returned: when an install task was followed
    error_code:
      description: The service's error code for this instance, for example V(KOOPHONE.API.62017).
      type: str
      returned: when the instance failed
    error_msg:
      description: The service's error message for this instance.
      type: str
      returned: when the instance failed
    msg:
      description: What went wrong on this instance, in words.
      type: str
      returned: when the instance failed
      sample: "the download failed; check url (Download failed, please check the install_package_url.)
        [KOOPHONE.API.62017]"
    maybe_applied:
      description:
        - V(true) when the install request's answer was lost and the app did not show up afterwards. The request may
          or may not have been accepted; it was not sent again. The entry then has RV(results[].changed=true) and
          RV(results[].failed=true). Run the task again to retry.
      type: bool
      returned: when an install answer was lost and the app was not found afterwards
changed_instance_ids:
  description: The instances that were changed (in check mode, would be).
  returned: always
  type: list
  elements: str
maybe_changed_instance_ids:
  description:
    - The instances whose install request may or may not have been accepted (its answer was lost, the service
      answered it with a server error, or it was accepted without a task to follow) and where O(name) at O(version)
      did not show up when the installed apps were read again. The request was not sent again.
    - Each is also in RV(changed_instance_ids) and RV(failed_instance_ids), and its entry in RV(results) has
      RV(results[].maybe_applied=true). Run the task again to retry.
  returned: always
  type: list
  elements: str
  sample: []
failed_instance_ids:
  description: The instances where something failed.
  returned: always
  type: list
  elements: str
task_ids:
  description: The install tasks the module submitted.
  returned: always
  type: list
  elements: str
detection:
  description: How the installed apps were read, V(app_list) or V(command).
  returned: always
  type: str
  sample: app_list
"""

import time

from ansible_collections.koophone.cloud.plugins.module_utils import _apps as apps
from ansible_collections.koophone.cloud.plugins.module_utils import _tasks as tasks
from ansible_collections.koophone.cloud.plugins.module_utils import _validation as validation
from ansible_collections.koophone.cloud.plugins.module_utils._changes import Changes
from ansible_collections.koophone.cloud.plugins.module_utils._errors import InvalidOption
from ansible_collections.koophone.cloud.plugins.module_utils._module import KooPhoneModule, name_failures

MAX_WAIT_TIMEOUT = 86400


def validate(params):
    validation.check_ids("instance_ids", params["instance_ids"])
    if not params["instance_ids"]:
        raise InvalidOption("instance_ids", "must name at least one instance")
    apps.check_package("name", params["name"])
    validation.check_range("wait_timeout", params["wait_timeout"], 1, MAX_WAIT_TIMEOUT)
    if params["state"] != "present":
        return
    apps.check_text("version", params["version"], apps.MAX_NAME_LENGTH)
    apps.check_url("url", params["url"])
    if params["file_name"] is None and not apps.default_file_name(params["url"]):
        raise InvalidOption("file_name", "cannot be taken from url, whose path has no file name; set file_name")
    apps.check_file_name("file_name", file_name_of(params))
    apps.check_size("size_mb", params["size_mb"])
    apps.check_text("md5", params["md5"], apps.MAX_MD5_LENGTH)


def file_name_of(params):
    return params["file_name"] if params["file_name"] is not None else apps.default_file_name(params["url"])


class Report:
    """The per-instance results, filled in as the module goes."""

    def __init__(self, ids, before, read_failures):
        self.entries = {}
        for instance_id in ids:
            version = before.get(instance_id)
            self.entries[instance_id] = {
                "instance_id": instance_id,
                "action": "none",
                "changed": False,
                "failed": False,
                "version_before": version,
                "version": version,
            }
        for instance_id, problem in read_failures.items():
            self.fail(instance_id, problem)
        self.order = list(ids)

    def plan(self, instance_id, action):
        self.entries[instance_id].update(action=action, changed=True)

    def done(self, instance_id, version):
        self.entries[instance_id]["version"] = version

    def fail(self, instance_id, problem):
        # A change that happened before the failure (a reinstall's uninstall) keeps changed=true.
        self.entries[instance_id].update(problem, failed=True)
        if self.entries[instance_id]["action"] == "install":
            self.entries[instance_id]["changed"] = False

    def uncertain(self, instance_id, problem):
        """The install may have been applied (its answer was lost): failed, and changed as far as anyone knows."""
        self.entries[instance_id].update(problem, failed=True, changed=True)

    def unchanged(self, instance_id):
        self.entries[instance_id].update(action="none", changed=False)

    def results(self):
        return [self.entries[i] for i in self.order]

    def ids(self, field):
        return [i for i in self.order if self.entries[i].get(field)]

    def diff(self):
        moved = [self.entries[i] for i in self.order if self.entries[i]["changed"]]
        return {
            "before": dict((e["instance_id"], e["version_before"]) for e in moved),
            "after": dict((e["instance_id"], e["version"]) for e in moved),
        }


def finish(kp, report, installed, task_ids=()):
    result = {
        "changed": bool(report.ids("changed")),
        "results": report.results(),
        "changed_instance_ids": report.ids("changed"),
        "failed_instance_ids": report.ids("failed"),
        "maybe_changed_instance_ids": report.ids("maybe_applied"),
        "task_ids": list(task_ids),
        "detection": installed.source,
    }
    if kp.module._diff:
        result["diff"] = report.diff()
    failed = result["failed_instance_ids"]
    if failed:
        params = kp.params
        what = (
            "Installing %s %s" % (params["name"], params["version"])
            if params["state"] == "present"
            else ("Removing %s" % params["name"])
        )
        named = name_failures([(i, report.entries[i].get("msg")) for i in failed])
        kp.fail(
            msg="%s failed on %d of %d instance(s): %s" % (what, len(failed), len(report.order), named),
            **result,
        )
    return result


def ensure_present(kp, ids, installed):
    params, client = kp.params, kp.client
    version = params["version"]
    changes = Changes(kp, with_tasks=True)
    before, read_failures = installed.read(ids)
    report = Report(ids, before, read_failures)
    readable = [i for i in ids if i not in read_failures]
    targets = readable if params["force"] else [i for i in readable if before.get(i) != version]
    for instance_id in targets:
        report.plan(instance_id, "reinstall" if before.get(instance_id) is not None and params["force"] else "install")
    if kp.check_mode:
        changes.would_change(targets)
        for instance_id in targets:
            report.done(instance_id, version)
        return finish(kp, report, installed)

    if params["force"]:
        targets = remove_before_reinstall(client, installed, report, targets, changes.record)
    # One deadline for the install tasks and for re-reading after lost answers.
    deadline = time.time() + params["wait_timeout"]
    installer = apps.Installer(client, installed, params, file_name_of(params), changes=changes)
    installer.install(targets)
    for instance_id, (task_id, job_id) in installer.submitted.items():
        report.entries[instance_id].update(task_id=task_id, job_id=job_id)
    if params["wait"] and installer.submitted:
        follow_installs(client, installed, report, installer, params, deadline)
    # Lost answers: re-read (polling while waiting is wanted); never sent again.
    installer.confirm_lost(max(0.0, deadline - time.time()) if params["wait"] else 0)
    report_installer(report, installer, version)
    return finish(kp, report, installed, installer.task_ids)


def report_installer(report, installer, version):
    """What the installer could not settle by its tasks: failures, maybe-applied, found installed."""
    for instance_id, problem in installer.failures.items():
        if problem.get("maybe_applied"):
            report.uncertain(instance_id, problem)
        else:
            report.fail(instance_id, problem)
    for instance_id, ours in installer.confirmed.items():
        report.done(instance_id, version)
        if not ours and report.entries[instance_id]["action"] == "install":
            report.unchanged(instance_id)  # someone else installed it meanwhile


def remove_before_reinstall(client, installed, report, targets, record=None):
    """force: uninstall where the package is there; return the instances ready for the install."""
    present = [i for i in targets if report.entries[i]["version_before"] is not None]
    removed, failures = apps.uninstall(client, installed, present, record=record)
    for instance_id in removed:
        report.done(instance_id, None)
    for instance_id, problem in failures.items():
        report.fail(instance_id, problem)
        report.entries[instance_id]["changed"] = False
    return [i for i in targets if i not in failures]


def follow_installs(client, installed, report, installer, params, deadline):
    poller = tasks.TaskPoller(client, installer.task_ids)
    poller.wait(max(0.0, deadline - time.time()))
    jobs = dict((job.get("job_id"), job) for _task, job in poller.jobs())
    unmapped = {}
    for instance_id, (task_id, job_id) in installer.submitted.items():
        task = poller.tasks.get(task_id)
        job = jobs.get(job_id) if job_id else None
        if task is None or task.unknown or (job is None and task.finished):
            # No job to read: judge by what is installed.
            unmapped[instance_id] = (
                "the service does not know install task %s" % task_id
                if task is not None and task.unknown
                else "install task %s finished without a job for this instance" % task_id
            )
        elif job is None or tasks.job_status(job) not in tasks.FINISHED:
            reason = " (last error reading it: %s)" % task.error if task.error else ""
            problem = apps.failure(
                None,
                None,
                "still installing after wait_timeout=%ss in task %s%s" % (params["wait_timeout"], task_id, reason),
            )
            report.fail(instance_id, dict(problem, **(apps.job_view(job) if job else {})))
        elif tasks.job_status(job) == tasks.SUCCEEDED:
            report.entries[instance_id].update(apps.job_view(job))
            report.done(instance_id, params["version"])
        else:
            problem = apps.failure(job.get("error_code"), job.get("error_msg"), "install task %s" % task_id)
            report.fail(instance_id, dict(problem, **apps.job_view(job)))
    if unmapped:
        versions, failures = installed.read(list(unmapped))
        for instance_id, why in unmapped.items():
            if versions.get(instance_id) == params["version"]:
                report.done(instance_id, params["version"])
            else:
                report.fail(
                    instance_id,
                    failures.get(instance_id)
                    or apps.failure(
                        None, None, "%s, and %s %s is not installed" % (why, params["name"], params["version"])
                    ),
                )


def ensure_absent(kp, ids, installed):
    changes = Changes(kp, with_tasks=True)
    before, read_failures = installed.read(ids)
    report = Report(ids, before, read_failures)
    targets = [i for i in ids if i not in read_failures and before.get(i) is not None]
    for instance_id in targets:
        report.plan(instance_id, "uninstall")
        report.done(instance_id, None)
    if kp.check_mode:
        changes.would_change(targets)
    if kp.check_mode or not targets:
        return finish(kp, report, installed)
    _removed, failures = apps.uninstall(kp.client, installed, targets, record=changes.record)
    for instance_id, problem in failures.items():
        report.done(instance_id, report.entries[instance_id]["version_before"])
        report.fail(instance_id, problem)
        report.entries[instance_id]["changed"] = False
    return finish(kp, report, installed)


def run(kp):
    ids = validation.unique(kp.params["instance_ids"])
    installed = apps.InstalledApps(kp.client, kp.params["name"], kp.params["detection"])
    if kp.params["state"] == "absent":
        return ensure_absent(kp, ids, installed)
    return ensure_present(kp, ids, installed)


def argument_spec():
    return dict(
        instance_ids=dict(type="list", elements="str", required=True),
        name=dict(type="str", required=True),
        version=dict(type="str"),
        # A signed OBS URL carries credentials in its query string.
        url=dict(type="str", no_log=True),
        file_name=dict(type="str"),
        size_mb=dict(type="float"),
        md5=dict(type="str"),
        fast_install=dict(type="bool", default=False),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        force=dict(type="bool", default=False),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=600),
        detection=dict(type="str", default="auto", choices=["auto", "app_list", "command"]),
    )


def main():
    kp = KooPhoneModule(
        argument_spec=argument_spec(),
        supports_check_mode=True,
        required_if=[("state", "present", ("version", "url", "size_mb", "md5"))],
    )
    kp.run(run, validate=validate)


if __name__ == "__main__":
    main()
