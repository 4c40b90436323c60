# Copyright: (c) 2026, koophone.cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the koophone.cloud collection (capability layer; see docs/development.md): not a public API,
# it may change in any release. Do not import it from other collections or standalone plugins.
"""adb shell commands across a fleet: chunked submission, job -> instance mapping, polling.

sync-command and async-command are not safe to repeat (a second submission runs the command
again), so the shared client never re-sends them after a 5xx or a broken connection. Nothing
in the API can tell afterwards whether such a chunk was accepted: async-command's request has
no client-chosen handle (AsyncInvokeInstance.json's request is ``command`` + ``instance_ids``
only; ``task_id`` appears in the answer) and no operation lists tasks. So the instances of a
chunk whose answer was lost are reported as failed with "unknown whether the command ran", and
nothing is ever sent to them again.

Every requested instance gets exactly one result entry, in request order (duplicate ids once).
"""

import re

from ansible_collections.koophone.cloud.plugins.module_utils import _statuses as statuses
from ansible_collections.koophone.cloud.plugins.module_utils import _tasks as tasks
from ansible_collections.koophone.cloud.plugins.module_utils import _validation as validation
from ansible_collections.koophone.cloud.plugins.module_utils._client import listed, payload

SYNC_OPERATION = "SyncInvokeInstance"
ASYNC_OPERATION = "AsyncInvokeInstance"
FINISHED = tasks.FINISHED
FAILED = tasks.FAILED

# Names for outcomes the API has no number for; the API's numbers use statuses.JOB_STATUS.
UNKNOWN = "unknown"
REJECTED = "rejected"
SUBMITTED = "submitted"
WOULD_RUN = "would_run"


class CommandRun:
    """The results of one command on a list of instances, one entry per instance."""

    def __init__(self, instance_ids, asynchronous, strip_empty_ends=True):
        self.asynchronous = asynchronous
        self.strip_empty_ends = strip_empty_ends
        self.entries = dict(
            (instance_id, self._new_entry(instance_id)) for instance_id in validation.unique(instance_ids)
        )
        self.task_ids = []
        self.jobs = {}  # task_id -> {job_id: instance_id}
        self.pending = []  # instance ids still running when wait_timeout expired
        self.may_have_run = set()

    def _new_entry(self, instance_id):
        entry = {
            "instance_id": instance_id,
            "stdout": "",
            "stdout_lines": [],
            "failed": False,
            "status": None,
            "status_name": WOULD_RUN,
            "error_code": "",
            "error_msg": "",
        }
        if self.asynchronous:
            entry.update(job_id=None, task_id=None)
        return entry

    @property
    def instance_ids(self):
        return list(self.entries)

    # ------------------------------------------------------------ outcomes

    def record(self, instance_id, item):
        """A CmdResult (sync) or JobDetail (async) for one instance."""
        entry = self.entries[instance_id]
        status = validation.as_int(item.get("status"))
        output = item.get("execute_msg")
        entry["status"] = status
        entry["status_name"] = statuses.name_of(statuses.JOB_STATUS, status)
        entry["error_code"] = item.get("error_code") or ""
        entry["error_msg"] = item.get("error_msg") or ""
        self._set_stdout(entry, output)
        entry["failed"] = status in FAILED or status not in statuses.JOB_STATUS
        if status not in statuses.JOB_STATUS and not entry["error_msg"]:
            entry["error_msg"] = "The service reported an unknown status %r for this instance." % (item.get("status"),)
        # A failed command still ran (its output is returned); an unknown or stopped phone has none.
        if status == 2 or (status in FAILED and output is not None) or status in (0, 1):
            self.may_have_run.add(instance_id)

    def submitted(self, instance_id, task_id, job_id):
        entry = self.entries[instance_id]
        entry.update(task_id=task_id, job_id=job_id, status_name=SUBMITTED)
        self.may_have_run.add(instance_id)

    def request_failed(self, instance_ids, error):
        """The chunk holding these instances failed as a whole."""
        if error.maybe_applied:
            message = (
                "It is unknown whether the command ran on this instance: %s. It was not sent again, because "
                "commands are not safe to repeat; check the instance before running it again." % describe_error(error)
            )
            self.unknown(instance_ids, message, error)
            return
        for instance_id in instance_ids:
            entry = self.entries[instance_id]
            entry.update(
                failed=True,
                status_name=REJECTED,
                error_code=error.error_code or "",
                error_msg="The service refused the request; the command did not run: %s" % describe_error(error),
                request_id=error.request_id,
            )

    def unknown(self, instance_ids, message, error=None):
        for instance_id in instance_ids:
            entry = self.entries[instance_id]
            entry.update(failed=True, status_name=UNKNOWN, error_msg=message)
            if error is not None:
                entry.update(error_code=error.error_code or "", request_id=error.request_id)
            self.may_have_run.add(instance_id)

    def poll_failed(self, instance_id, error):
        entry = self.entries[instance_id]
        entry.update(
            failed=True,
            status_name=UNKNOWN,
            error_code=error.error_code or "",
            error_msg="The command was submitted (task %s, job %s) but its outcome could not be read: %s"
            % (entry["task_id"], entry["job_id"], describe_error(error)),
            request_id=error.request_id,
        )

    def timed_out(self, instance_id, wait_timeout):
        entry = self.entries[instance_id]
        entry["failed"] = True
        entry["error_msg"] = (
            "Still running when wait_timeout (%ss) expired; follow task %s with koophone.cloud.koophone_task_info."
            % (wait_timeout, entry["task_id"])
        )
        self.pending.append(instance_id)

    def _set_stdout(self, entry, output):
        text = "" if output is None else "%s" % (output,)
        if self.strip_empty_ends:
            text = text.rstrip("\r\n")
        entry["stdout"] = text
        entry["stdout_lines"] = text.splitlines()

    # ------------------------------------------------------------ summary

    @property
    def results(self):
        return list(self.entries.values())

    @property
    def failed_ids(self):
        return [entry["instance_id"] for entry in self.entries.values() if entry["failed"]]

    @property
    def changed(self):
        return bool(self.may_have_run)


def describe_error(error):
    """The error without its x-request-id (that goes in ``request_id``), so one cause reads the same
    for every chunk it hit and the message can group them."""
    return error.describe(request_id=False, operation=False)


# -------------------------------------------------------------------- running


def command_body(command):
    return lambda ids: {"command": command, "instance_ids": ids}


def run_sync(client, run, command):
    """sync-command, 100 instances per request, the chunks concurrently."""
    for chunk in client.call_batched(SYNC_OPERATION, run.instance_ids, command_body(command)):
        if chunk.failed:
            run.request_failed(chunk.ids, chunk.error)
            continue
        answered = set()
        wanted = set(chunk.ids)
        for item in listed(chunk.answer, "cmd_results"):
            instance_id = item.get("instance_id")
            if instance_id in wanted and instance_id not in answered:
                run.record(instance_id, item)
                answered.add(instance_id)
                if validation.as_int(item.get("status")) in (0, 1):
                    run.entries[instance_id].update(
                        failed=True, error_msg="sync-command answered before the command finished; use mode=async."
                    )
        missing = [instance_id for instance_id in chunk.ids if instance_id not in answered]
        run.unknown(
            missing,
            "The service answered without a result for this instance; it is unknown whether the "
            "command ran. It was not sent again.",
        )


def submit_async(client, run, command):
    """async-command, 100 instances per request, the chunks concurrently; map every job to its instance."""
    for chunk in client.call_batched(ASYNC_OPERATION, run.instance_ids, command_body(command)):
        if chunk.failed:
            run.request_failed(chunk.ids, chunk.error)
            continue
        data = payload(chunk.answer, "cmd_jobs")
        task_id = data.get("task_id")
        jobs = {}
        for job in listed(chunk.answer, "cmd_jobs"):
            instance_id, job_id = job.get("instance_id"), job.get("job_id")
            if instance_id in chunk.ids and job_id and instance_id not in jobs.values():
                jobs[job_id] = instance_id
                run.submitted(instance_id, task_id, job_id)
        missing = [instance_id for instance_id in chunk.ids if instance_id not in jobs.values()]
        run.unknown(
            missing,
            "The service accepted the request but listed no job for this instance; it is unknown "
            "whether the command runs there. It was not sent again.",
        )
        if task_id:
            run.task_ids.append(task_id)
            run.jobs[task_id] = jobs
        else:
            run.unknown(list(jobs.values()), "The service answered without a task_id, so the job cannot be followed.")


def wait_for_jobs(client, run, wait_timeout):
    """Poll every chunk's task until all its jobs finish or ``wait_timeout`` seconds pass.

    Each reading is recorded as it arrives; a task the service does not know, or cannot read
    MAX_READ_FAILURES rounds in a row, has its unfinished jobs reported with the error.
    """
    if not any(run.jobs.values()):
        return

    def record(task):
        jobs = run.jobs[task.task_id]
        for job in task.jobs:
            if job.get("job_id") in jobs:
                run.record(jobs[job["job_id"]], job)

    poller = tasks.TaskPoller(client, [task_id for task_id, jobs in run.jobs.items() if jobs], on_read=record)
    poller.wait(wait_timeout)
    for task in poller.tasks.values():
        unfinished = [run.jobs[task.task_id][job_id] for job_id in run.jobs[task.task_id]]
        unfinished = [i for i in unfinished if run.entries[i]["status"] not in FINISHED]
        for instance_id in unfinished:
            if task.unknown or task.unreadable:
                run.poll_failed(instance_id, task.error)
            else:
                run.timed_out(instance_id, wait_timeout)
    # Request order, not task order.
    order = run.instance_ids
    run.pending.sort(key=order.index)


# -------------------------------------------------------------------- messages

MAX_NAMED = 20


def describe_failures(run):
    """Sentences naming the failed instances, grouped by reason, and those still running."""
    total = len(run.entries)
    by_reason = {}
    for entry in run.results:
        if entry["failed"] and entry["instance_id"] not in run.pending:
            by_reason.setdefault(_reason(entry), []).append(entry["instance_id"])
    parts = []
    if by_reason:
        failed = sum(len(ids) for ids in by_reason.values())
        groups = validation.some(
            ("%s: %s" % (_some(ids), reason) for reason, ids in by_reason.items()), validation.NAMED, "; "
        )
        parts.append("The command failed on %d of %d instances. %s." % (failed, total, groups))
    if run.pending:
        tasks = ", ".join(validation.unique(run.entries[instance_id]["task_id"] for instance_id in run.pending))
        parts.append(
            "%d of %d instances were still running when wait_timeout expired: %s (tasks %s)."
            % (len(run.pending), total, _some(run.pending), tasks)
        )
    return " ".join(parts)


def _reason(entry):
    if entry["status_name"] in (UNKNOWN, REJECTED):
        return entry["error_msg"]
    reason = entry["error_msg"] or entry["status_name"]
    return "%s (%s)" % (reason, entry["error_code"]) if entry["error_code"] else reason


def _some(ids):
    return validation.some(ids, MAX_NAMED)


# -------------------------------------------------------------------- the task API on its own

# The reference: app-install task ids start with ZGCA or FULFILL, async commands' are 32 hex
# characters; reset, unassign and backup answer RM_ ids. Anything else is looked up as given.
TASK_ID = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
HEX32 = re.compile(r"^[0-9a-fA-F]{32}$")


def task_type(task_id):
    if task_id.startswith(("ZGCA", "FULFILL")):
        return "app_install"
    if task_id.startswith("RM_"):
        return "instance_task"
    if HEX32.match(task_id):
        return "command"
    return "other"


def describe_job(task_id, job):
    status = validation.as_int(job.get("status"))
    described = {
        "task_id": task_id,
        "job_id": job.get("job_id"),
        "status": status,
        "status_name": statuses.name_of(statuses.JOB_STATUS, status),
        "error_code": job.get("error_code") or "",
        "error_msg": job.get("error_msg") or "",
        "execute_msg": job.get("execute_msg"),
    }
    if job.get("instance_id"):  # not in the reference's JobDetail, but kept if the service sends it
        described["instance_id"] = job["instance_id"]
    return described


class TaskReader:
    """koophone_task_info's view of tasks/{task_id}: an unknown task is reported, not raised."""

    def __init__(self, client, task_ids):
        self.poller = tasks.TaskPoller(client, validation.unique(task_ids))

    def read(self, wait_timeout=0):
        """Read (and with ``wait_timeout`` > 0 wait for) the tasks; True when every known task finished.

        A task that could not be read raises its error: a wrong answer is no answer.
        """
        if wait_timeout > 0:
            self.poller.wait(wait_timeout)
        else:
            self.poller.read_round()
        for task in self.poller.tasks.values():
            if task.error is not None and not task.unknown:
                raise task.error
        return not self.poller.unsettled()

    @property
    def found(self):
        return [task for task in self.poller.tasks.values() if task.found]

    def pending_jobs(self):
        return [job for job in self.jobs() if job["status"] not in FINISHED]

    def summaries(self):
        described = []
        for task in self.poller.tasks.values():
            jobs = [describe_job(task.task_id, job) for job in task.jobs]
            summary = {"task_id": task.task_id, "task_type": task_type(task.task_id), "found": task.found}
            summary["done"] = task.finished
            if task.unknown:
                summary.update(error_code=task.error.error_code, error_msg=task.error.error_msg or task.error.message)
            summary["job_count"] = len(jobs)
            summary["succeeded_count"] = sum(1 for job in jobs if job["status"] == 2)
            summary["failed_count"] = sum(1 for job in jobs if job["status"] in FAILED)
            described.append(summary)
        return described

    def jobs(self):
        return [describe_job(task.task_id, job) for task in self.poller.tasks.values() for job in task.jobs]
