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

import contextlib
import json
import os
import re
import stat
import threading
import time

from ansible_collections.koophone.cloud.plugins.module_utils import _operations as operations
from ansible_collections.koophone.cloud.plugins.module_utils import _statuses as statuses
from ansible_collections.koophone.cloud.plugins.module_utils import _tasks as tasks
from ansible_collections.koophone.cloud.plugins.module_utils import _validation as validation
from ansible_collections.koophone.cloud.plugins.module_utils._client import listed, payload
from ansible_collections.koophone.cloud.plugins.module_utils._errors import KooPhoneError

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
        self.pending_set = set()
        self.may_have_run = set()
        self.progress = Progress(None)  # the action plugin's progress file, when it gave one

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
        entry["error_code"] = validation.as_text(item.get("error_code")) or ""
        entry["error_msg"] = validation.as_text(item.get("error_msg")) or ""
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
        self.pending_set.add(instance_id)

    def _set_stdout(self, entry, output):
        text = validation.as_text(output) or ""
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


def command_body(command, progress=None):
    """The request body of one chunk. The client builds it right before it sends the chunk, so it also
    counts the chunks sent for the progress display."""

    def body(ids):
        if progress is not None:
            progress.chunk_sent()
        return {"command": command, "instance_ids": ids}

    return body


def _answered_chunks(client, run, operation, command):
    """Send ``command`` in chunks of the operation's size, concurrently; yield the chunks answered.

    A refused chunk, or one whose answer was lost, is recorded on ``run`` as it arrives.
    """
    size = operations.get(operation).chunk_size or len(run.entries) or 1
    run.progress.start(run, -(-len(run.entries) // size))
    for chunk in client.call_batched(operation, run.instance_ids, command_body(command, run.progress)):
        if chunk.failed:
            run.request_failed(chunk.ids, chunk.error)
        else:
            yield chunk


def run_sync(client, run, command):
    """sync-command, 100 instances per request, the chunks concurrently."""
    for chunk in _answered_chunks(client, run, SYNC_OPERATION, command):
        answered = set()
        wanted = set(chunk.ids)
        for item in listed(chunk.answer, "cmd_results"):
            instance_id = validation.id_text(item.get("instance_id"))
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
    run.progress.report(run, ANSWERED, force=True)


def submit_async(client, run, command):
    """async-command, 100 instances per request, the chunks concurrently; map every job to its instance."""
    for chunk in _answered_chunks(client, run, ASYNC_OPERATION, command):
        data = payload(chunk.answer, "cmd_jobs")
        task_id = validation.id_text(data.get("task_id"))
        jobs = {}
        for job in listed(chunk.answer, "cmd_jobs"):
            instance_id, job_id = validation.id_text(job.get("instance_id")), validation.id_text(job.get("job_id"))
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
    run.progress.report(run, ANSWERED, force=True)


class _ReportingPoller(tasks.TaskPoller):
    """The shared poller, with a progress snapshot after each round of reads."""

    def __init__(self, client, task_ids, on_read, after_round):
        super().__init__(client, task_ids, on_read=on_read)
        self.after_round = after_round

    def read_round(self):
        unsettled = super().read_round()
        self.after_round()
        return unsettled


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
            if job.get("job_id") in jobs:  # the poller read job_id as text (tasks.read_result)
                run.record(jobs[job["job_id"]], job)

    poller = _ReportingPoller(
        client,
        [task_id for task_id, jobs in run.jobs.items() if jobs],
        on_read=record,
        after_round=lambda: run.progress.report(run, WAITING, force=True),
    )
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
    position = dict((instance_id, index) for index, instance_id in enumerate(run.entries))
    run.pending.sort(key=position.__getitem__)


# -------------------------------------------------------------------- outcomes and messages

MAX_NAMED = 20

# What became of the command on one instance, for counts and the summary. While the module runs,
# QUEUED (not sent yet) and RUNNING are what the progress lines count down.
SUCCEEDED = "succeeded"
FAILED_ON_PHONE = "failed"
TIMED_OUT = "timed_out"
RUNNING = "running"
QUEUED = "queued"
OUTCOMES = (SUCCEEDED, FAILED_ON_PHONE, TIMED_OUT, UNKNOWN, REJECTED, RUNNING, SUBMITTED, WOULD_RUN)
TIMED_OUT_REASON = "Still running when wait_timeout expired"
NOT_FOUND = ("CPS0005",)  # the service does not know the phone: it has no name to read


def outcome(run, entry):
    """The outcome name of one result entry (one of OUTCOMES)."""
    name = entry["status_name"]
    if name in (UNKNOWN, REJECTED, SUBMITTED, WOULD_RUN):
        return name
    if entry["instance_id"] in run.pending_set:
        return TIMED_OUT
    if entry["failed"]:
        return FAILED_ON_PHONE
    if entry["status"] == tasks.SUCCEEDED:
        return SUCCEEDED
    return RUNNING


def count_outcomes(run):
    """{outcome: count} for every outcome in OUTCOMES (zeros included)."""
    counts = dict.fromkeys(OUTCOMES, 0)
    for entry in run.entries.values():
        counts[outcome(run, entry)] += 1
    return counts


def failure_groups(run):
    """[(reason, [instance ids])]: the failed instances grouped by reason, in request order; the
    instances still running at wait_timeout last, as one group."""
    by_reason = {}
    for entry in run.entries.values():
        if entry["failed"] and entry["instance_id"] not in run.pending_set:
            by_reason.setdefault(_reason(entry), []).append(entry["instance_id"])
    groups = list(by_reason.items())
    if run.pending:
        groups.append((TIMED_OUT_REASON, list(run.pending)))
    return groups


def ids_to_name(run):
    """The failed instances a message names (at most MAX_NAMED per reason, validation.NAMED reasons),
    without those the service said do not exist: they have no name to look up."""
    wanted = []
    for _reason_text, ids in failure_groups(run)[: validation.NAMED]:
        wanted.extend(i for i in ids[:MAX_NAMED] if run.entries[i]["error_code"] not in NOT_FOUND)
    return wanted


def resolve_names(client, run):
    """{instance_id: instance_name} for the failed instances the summary names; {} when none failed.

    Only when something failed: the names are read with the shared client's ``read_instances``
    (one filtered batch-query per id for up to 10 ids, else one concurrent listing of the fleet).
    Names are a courtesy: when the lookup fails, the summary names ids only.
    """
    wanted = ids_to_name(run)
    if not wanted:
        return {}
    try:
        found = client.read_instances(wanted)
    except KooPhoneError:
        return {}
    names = dict((i, validation.as_text(item.get("instance_name"))) for i, item in found.items())
    return dict((i, name) for i, name in names.items() if name)


def label(instance_id, names=None):
    """``name (id)`` when the name is known, else the id."""
    name = (names or {}).get(instance_id)
    return "%s (%s)" % (name, instance_id) if name else instance_id


def describe_failures(run, names=None):
    """Sentences naming the failed instances (``name (id)`` when ``names`` has them), grouped by reason,
    and those still running."""
    total = len(run.entries)
    groups = [(reason, ids) for reason, ids in failure_groups(run) if not (run.pending and reason == TIMED_OUT_REASON)]
    parts = []
    if groups:
        failed = sum(len(ids) for _reason_text, ids in groups)
        named = validation.some(
            ("%s: %s" % (_some(ids, names), reason) for reason, ids in groups), validation.NAMED, "; "
        )
        parts.append("The command failed on %d of %d instances. %s." % (failed, total, named))
    if run.pending:
        tasks_ = ", ".join(validation.unique(run.entries[instance_id]["task_id"] for instance_id in run.pending))
        parts.append(
            "%d of %d instances were still running when wait_timeout expired: %s (tasks %s)."
            % (len(run.pending), total, _some(run.pending, names), tasks_)
        )
    return " ".join(parts)


def summarize(run, names=None):
    """The RV(summary) return value: counts by outcome and the failures grouped by reason, capped."""
    failures = []
    for reason, ids in failure_groups(run):
        first = run.entries[ids[0]]
        failures.append(
            {
                "reason": reason,
                "error_code": "" if reason == TIMED_OUT_REASON else first["error_code"],
                "count": len(ids),
                "instances": [{"instance_id": i, "instance_name": (names or {}).get(i)} for i in ids[:MAX_NAMED]],
            }
        )
    return {"total": len(run.entries), "counts": count_outcomes(run), "failures": failures}


def _reason(entry):
    if entry["status_name"] in (UNKNOWN, REJECTED):
        return entry["error_msg"]
    reason = entry["error_msg"] or entry["status_name"]
    return "%s (%s)" % (reason, entry["error_code"]) if entry["error_code"] else reason


def _some(ids, names=None, limit=MAX_NAMED):
    return validation.some([label(i, names) for i in ids], limit)


# -------------------------------------------------------------------- what a person reads

# How the counts read, in this order; outcomes with a zero count are left out.
OUTCOME_WORDS = (
    (SUCCEEDED, "succeeded"),
    (FAILED_ON_PHONE, "failed"),
    (TIMED_OUT, "still running at wait_timeout"),
    (UNKNOWN, "unknown whether it ran"),
    (REJECTED, "refused (did not run)"),
    (RUNNING, "running"),
    (SUBMITTED, "submitted"),
    (WOULD_RUN, "would run"),
)
SUMMARY_NAMED = 10  # phones named per reason in the summary lines (the rest are counted)


def _item_label(item):
    return label(item["instance_id"], {item["instance_id"]: item.get("instance_name")})


def describe_counts(counts, words=OUTCOME_WORDS):
    parts = ["%d %s" % (counts[key], word) for key, word in words if counts.get(key)]
    return ", ".join(parts) or "nothing to do"


def render_summary(summary, elapsed=None):
    """The lines that end a run on screen: counts by outcome, then one line per reason naming the
    phones (``name (id)``), capped at SUMMARY_NAMED per reason and validation.NAMED reasons."""
    took = " in %.1f s" % elapsed if elapsed is not None else ""
    lines = ["%d phones%s: %s" % (summary["total"], took, describe_counts(summary["counts"]))]
    groups = summary.get("failures") or []
    for group in groups[: validation.NAMED]:
        shown = [_item_label(item) for item in group["instances"]]
        more = group["count"] - min(len(shown), SUMMARY_NAMED)
        named = ", ".join(shown[:SUMMARY_NAMED]) + (" and %d more" % more if more else "")
        lines.append("  %d x %s: %s" % (group["count"], group["reason"], named))
    if len(groups) > validation.NAMED:
        rest = groups[validation.NAMED :]
        lines.append("  and %d more phones for %d other reasons" % (sum(g["count"] for g in rest), len(rest)))
    return lines


# -------------------------------------------------------------------- progress while it runs

PROGRESS_ENV = "_KOOPHONE_PROGRESS_FILE"
STARTED = "started"
ANSWERED = "answered"
WAITING = "waiting"
DONE = "done"


def open_progress_file(path):
    """A write-only descriptor on the action plugin's progress file, or None.

    The file must already exist, be a regular file owned by this user and readable by nobody else
    (the action plugin creates it 0600 in a private directory): a module that runs on another host,
    under become, or with a stray environment variable, writes nothing.
    """
    if not path:
        return None
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        os.close(fd)
        return None
    return fd


class Progress:
    """Progress snapshots of one run for the koophone_command action plugin, one JSON line each.

    A snapshot holds the phase, the seconds since the start, the phone and chunk counts and the counts
    by outcome: never an id, the command, an output or a credential. Without a progress file every call
    does nothing (and costs nothing). Writes are throttled to one per INTERVAL unless forced.
    """

    INTERVAL = 0.25

    def __init__(self, path, clock=time.monotonic):
        self.fd = open_progress_file(path)
        self.clock = clock
        self.started = clock()
        self.last = None
        self.lock = threading.Lock()
        self.chunks = 0
        self.sent = 0
        self.run = None

    @property
    def enabled(self):
        return self.fd is not None

    def start(self, run, chunks):
        self.run, self.chunks = run, chunks
        self.report(run, STARTED, force=True)

    def chunk_sent(self):
        """Called in the client's threads as each chunk's request is built."""
        if self.fd is None:
            return
        with self.lock:
            self.sent += 1
            last = self.sent == self.chunks
        self.report(self.run, STARTED, force=last)  # the last chunk always shows

    def report(self, run, phase, force=False):
        if self.fd is None or run is None:
            return
        with self.lock:
            now = self.clock()
            if not force and self.last is not None and now - self.last < self.INTERVAL:
                return
            self.last = now
            snapshot = {
                "phase": phase,
                "elapsed": round(now - self.started, 2),
                "phones": len(run.entries),
                "chunks": self.chunks,
                "sent": min(self.sent, self.chunks),
                "counts": count_outcomes(run),
            }
            try:
                os.write(self.fd, (json.dumps(snapshot, sort_keys=True) + "\n").encode("utf-8"))
            except OSError:
                self.close()

    def close(self):
        if self.fd is not None:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = None


def read_progress(data):
    """The snapshots in ``data`` (bytes read from a progress file so far) and the unfinished tail."""
    lines = data.split(b"\n")
    snapshots = []
    for line in lines[:-1]:
        try:
            snapshot = json.loads(line.decode("utf-8"))
        except ValueError:
            continue
        if isinstance(snapshot, dict):
            snapshots.append(snapshot)
    return snapshots, lines[-1]


def describe_progress(snapshot, asynchronous=True, elapsed=None):
    """One progress line for a snapshot, e.g. ``1000 phones: 10 of 10 chunks submitted; jobs: 415 done
    (412 succeeded, 3 failed), 585 pending (2.1 s)``: ``elapsed`` seconds (the task's, as the caller
    measures them), else the module's own time of the snapshot."""
    counts = dict.fromkeys(OUTCOMES, 0)
    counts.update(snapshot.get("counts") or {})
    chunks, sent = snapshot.get("chunks", 0), snapshot.get("sent", 0)
    text = "%d phones: " % snapshot.get("phones", 0)
    if snapshot.get("phase") == STARTED:
        text += "%d of %d chunks %s" % (sent, chunks, "submitted" if asynchronous else "sent")
    elif asynchronous:
        done = sum(counts[key] for key, _word in OUTCOME_WORDS[:5])
        details = describe_counts(counts, OUTCOME_WORDS[:5])
        text += "%d of %d chunks submitted; jobs: %d done%s, %d pending" % (
            chunks,
            chunks,
            done,
            " (%s)" % details if done else "",
            counts[RUNNING] + counts[SUBMITTED],
        )
    else:
        text += "%d of %d chunks answered: %s" % (chunks, chunks, describe_counts(counts))
    return "%s (%.1f s)" % (text, snapshot.get("elapsed") or 0.0 if elapsed is None else elapsed)


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
        "job_id": validation.id_text(job.get("job_id")),
        "status": status,
        "status_name": statuses.name_of(statuses.JOB_STATUS, status),
        "error_code": validation.as_text(job.get("error_code")) or "",
        "error_msg": validation.as_text(job.get("error_msg")) or "",
        "execute_msg": validation.as_text(job.get("execute_msg")),
    }
    if validation.id_text(job.get("instance_id")):  # not in the reference's JobDetail, but kept if sent
        described["instance_id"] = validation.id_text(job["instance_id"])
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
