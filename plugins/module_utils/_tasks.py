# Copyright: (c) 2026, koophone.cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the koophone.cloud collection (shared layer; see docs/development.md): not a public API,
# it may change in any release. Do not import it from other collections or standalone plugins.
"""The one task poller: ``GET /v1/instances/tasks/{task_id}`` for every module.

Async commands, app installs and the clean-up tasks of reset, unassign and backup all answer a
task id. One rule decides what a task is:

- the service knows it: its ``jobs`` are read, and it is finished when every job is (2 success,
  3 or -1 failed; 0 not started and 1 running are unfinished; a task with no jobs has nothing
  left to do);
- the service does not know it (KOOPHONE.API.1323): the reference documents the endpoint for
  commands and app installs only, so a reset, unassign or backup task may be unknown there.
  Such a task is *unknown*, never "done": the caller waits for the state the task changes
  (``wait_for_state``), or reports the jobs it could not follow;
- reading it fails for another reason: the client already retried; after MAX_READ_FAILURES
  rounds in a row the task is *unreadable* and no longer polled.
"""

import time

from ansible_collections.koophone.cloud.plugins.module_utils import _errors as errors
from ansible_collections.koophone.cloud.plugins.module_utils import _validation as validation
from ansible_collections.koophone.cloud.plugins.module_utils._client import listed, payload

OPERATION = "ExecuteJob"
UNFINISHED = (0, 1)
SUCCEEDED = 2
FAILED = (3, -1)
FINISHED = (SUCCEEDED,) + FAILED
MAX_READ_FAILURES = 3

# When to read a task again (PollSchedule). How long jobs take is not promised anywhere: a getprop
# answers in well under a second, an app install in minutes. So the schedule starts short and
# learns from what the reads show:
# - the first read comes FIRST_DELAY after the submission, so a quick job is seen at once;
# - while nothing has finished, the interval grows with the time waited so far: (GROWTH - 1) x that
#   time, from MIN_INTERVAL up to MAX_INTERVAL. So work that takes D seconds is seen at most 30% of D
#   after it finished (at least MIN_INTERVAL, at most MAX_INTERVAL later), and a long wait costs few
#   requests (a logarithmic number, then one per MAX_INTERVAL);
# - once a read shows jobs finishing, the rest of a batch started together is expected soon after:
#   the time waited counts again from that first completion, so the poller reads soon, then backs
#   off again, and the last job is seen at most 30% of the spread of completion times after it ended;
# - a read round never takes more than half the time: the wait after a round is at least as long as
#   the round took. A round reads each unsettled task once, at most `concurrency` at a time, so the
#   poller sends at most 1 / MIN_INTERVAL requests per second per task (10) and at most
#   concurrency / (2 x round-trip time) in total (80 per second at the defaults and 50 ms), and far
#   fewer once the interval has grown (one read per task per MAX_INTERVAL). A 429 makes the client
#   wait for Retry-After within the round, which lengthens the round and so the wait after it.
FIRST_DELAY = 0.2
MIN_INTERVAL = 0.1
GROWTH = 1.3
MAX_INTERVAL = 5.0


class PollSchedule:
    """How long to wait after each read: adapts to how fast things finish (see FIRST_DELAY).

    ``progress(value)`` turns what a read returned into a number that grows as work finishes (for
    the task poller: finished jobs plus settled tasks). The schedule is pure arithmetic over
    ``clock()`` (``time.time`` when none is given), so tests drive it with a fake clock.
    """

    def __init__(
        self,
        progress,
        first_delay=FIRST_DELAY,
        minimum=MIN_INTERVAL,
        growth=GROWTH,
        maximum=MAX_INTERVAL,
        clock=None,
    ):
        self.progress = progress
        self.first_delay = first_delay
        self.minimum, self.growth, self.maximum = minimum, growth, maximum
        self.clock = clock  # None: time.time, looked up at each call (tests replace the module's time)
        self.started = None  # when the wait started (start())
        self.read_started = None  # when the read that is ending now started
        self.last = None  # progress at the last read
        self.completions = []  # seconds after start() at which reads showed work finishing

    def now(self):
        return time.time() if self.clock is None else self.clock()

    def start(self):
        """The submission is done: return the wait before the first read."""
        self.started = self.now()
        self.read_started = self.started + self.first_delay
        return self.first_delay

    def next_delay(self, value):
        """A read returned ``value`` (unfinished work remains): return the seconds to wait before the next."""
        now = self.now()
        if self.started is None:  # start() was not called: the first read came at once
            self.start()
            self.read_started = self.started
        progress = self.progress(value)
        age = now - self.started
        if self.last is not None and progress > self.last:
            self.completions.append(age)
        self.last = progress
        # The time waited counts from the first completion once there is one: the rest is expected
        # soon after it. Backing off in proportion to that time means work is seen at most
        # (GROWTH - 1) x its own duration (or its completions' spread) after it finished.
        waited = age - self.completions[0] if self.completions else age
        interval = min(self.maximum, max(self.minimum, (self.growth - 1) * waited))
        # Never read more than half the time: a round that took long is followed by as long a pause.
        delay = min(self.maximum, max(interval, now - self.read_started))
        self.read_started = now + delay
        return delay


def job_status(job):
    return validation.as_int(job.get("status")) if isinstance(job, dict) else None


class Task:
    """What the poller knows of one task."""

    def __init__(self, task_id):
        self.task_id = task_id
        self.found = None  # True once read; False when the service does not know it (1323)
        self.jobs = []
        self.error = None  # the error that made it unknown, or the last failed read
        self.read_failures = 0

    @property
    def unknown(self):
        return self.found is False

    @property
    def unreadable(self):
        return self.read_failures >= MAX_READ_FAILURES

    @property
    def finished(self):
        return self.found is True and all(job_status(job) in FINISHED for job in self.jobs)

    @property
    def settled(self):
        """Nothing more to learn by polling: finished, unknown or unreadable."""
        return self.finished or self.unknown or self.unreadable


class TaskPoller:
    """Polls a set of tasks until each is settled or a deadline passes.

    ``on_read(task)`` is called in the calling thread after each successful read of a task, so a
    module can record job outcomes as they arrive (what it has seen survives a later failure).
    """

    def __init__(self, client, task_ids, on_read=None):
        self.client = client
        # Task ids come from answers: one written as a number is polled by its digits; a list or an
        # object is no id, and there is nothing to poll.
        task_ids = dict.fromkeys(validation.id_text(task_id) for task_id in task_ids)
        self.tasks = dict((task_id, Task(task_id)) for task_id in task_ids if task_id)
        self.on_read = on_read

    def unsettled(self):
        return [task for task in self.tasks.values() if not task.settled]

    def progress(self, _unsettled=None):
        """How far the tasks are: settled tasks plus finished jobs (grows as work finishes)."""
        done = 0
        for task in self.tasks.values():
            if task.settled:
                done += 1
            done += sum(1 for job in task.jobs if job_status(job) in FINISHED)
        return done

    def read_round(self):
        """Read every unsettled task once (concurrently); return those still unsettled."""
        pending = self.unsettled()
        outcomes = self.client.map_concurrently(
            lambda task: self.client.call(OPERATION, path_params={"task_id": task.task_id}), pending
        )
        for task, (answer, error) in zip(pending, outcomes):
            if error is None:
                jobs = [read_result(job) for job in listed(answer, "jobs")]
                task.found, task.jobs, task.error, task.read_failures = True, jobs, None, 0
                if self.on_read is not None:
                    self.on_read(task)
            elif errors.is_code(error, "1323"):
                task.found, task.error = False, error
            else:
                task.error = error
                task.read_failures += 1
        return self.unsettled()

    def wait(self, timeout, first_delay=FIRST_DELAY, schedule=None):
        """Poll until every task is settled or ``timeout`` seconds pass; True when all settled.

        With ``timeout`` <= 0 the tasks are read once. The reads follow a PollSchedule (see
        FIRST_DELAY and what follows it), through the client's one polling loop.
        """
        if not self.tasks:
            return True
        deadline = time.time() + max(0.0, timeout)
        if schedule is None:
            schedule = PollSchedule(self.progress, first_delay=first_delay)
        first = schedule.start()
        if timeout > 0 and first:
            time.sleep(min(first, timeout))
        done, _last = self.client.poll(
            self.read_round,
            lambda pending: not pending,
            max(0.0, deadline - time.time()),
            schedule=schedule,
        )
        return done

    def jobs(self):
        return [(task, job) for task in self.tasks.values() for job in task.jobs]

    def failed_jobs(self, started=None):
        """The failed jobs, each with its ``task_id``, and its ``instance_id`` when it is known.

        The reference's JobDetail names no instance: ``started`` (job_instances() of the answers that
        started the tasks) tells which instance a job is.
        """
        failed = []
        for task, job in self.jobs():
            if job_status(job) not in FAILED:
                continue
            entry = dict(job, task_id=task.task_id)
            instance_id = _instance_of(started, task.task_id, entry.get("job_id")) or entry.get("instance_id")
            entry.pop("instance_id", None)
            if instance_id:
                entry["instance_id"] = instance_id
            failed.append(entry)
        return failed

    def unknown_tasks(self):
        return [task for task in self.tasks.values() if task.unknown]

    def unreadable_tasks(self):
        return [task for task in self.tasks.values() if task.unreadable and not task.unknown]


def read_result(job):
    """A JobDetail (tasks/{task_id}) or CmdResult (sync-command) with its ids and texts as text (the
    reference types them String), so that every caller can key by id and print the messages: see
    _validation.id_text and as_text."""
    job = dict(job)
    for field in ("job_id", "instance_id"):
        if field in job:
            job[field] = validation.id_text(job[field])
    for field in ("error_code", "error_msg", "execute_msg"):
        if field in job:
            job[field] = validation.as_text(job[field])
    return job


def job_instances(answers):
    """{task_id: {job_id: instance_id}} from the answers that started tasks (``data.task_id`` and
    ``data.cmd_jobs[]``, also nested in ``data.data``): how a job is known to be an instance's."""
    started = {}
    for answer in answers:
        task_id = validation.id_text(payload(answer, "task_id").get("task_id"))
        if task_id is None:
            continue
        jobs = started.setdefault(task_id, {})
        for job in listed(answer, "cmd_jobs"):
            instance_id = validation.id_text(job.get("instance_id"))
            if instance_id:
                jobs[validation.id_text(job.get("job_id"))] = instance_id
    return started


def _instance_of(started, task_id, job_id):
    """The instance of ``job_id`` in ``task_id``; or the task's one instance, when it was started for one."""
    jobs = (started or {}).get(task_id) or {}
    if job_id is not None and job_id in jobs:
        return jobs[job_id]
    instances = set(jobs.values())
    return instances.pop() if len(instances) == 1 else None


def describe_jobs(jobs):
    """Failed jobs for a message: ``instance ph001 (job j1 of task RM_1): reset failed [E]``, capped."""

    def one(job):
        where = "job %s of task %s" % (job.get("job_id") or "(no job_id)", job["task_id"])
        if job.get("instance_id"):
            where = "instance %s (%s)" % (job["instance_id"], where)
        reason = job.get("error_msg") or "failed"
        if job.get("error_code"):
            reason = "%s [%s]" % (reason, job["error_code"])
        return "%s: %s" % (where, reason)

    return validation.some((one(job) for job in jobs), separator="; ")


def wait_for_state(client, ids, still_pending, timeout):
    """Call ``still_pending(ids) -> ids`` until none is pending or ``timeout`` passes; return the rest.

    How a task the service does not track is followed: by reading the state it changes (the
    assignment cleared, the instance gone, the backup done). Only what is still pending is read
    again. With ``timeout`` <= 0 the state is read once.
    """
    current = {"pending": list(ids)}
    if not current["pending"]:
        return []

    def read():
        current["pending"] = still_pending(current["pending"])
        return current["pending"]

    if timeout <= 0:
        return read()
    # The first read comes at once (the state may already be there); then the same adaptive schedule
    # as tasks: progress is every id that stopped pending.
    schedule = PollSchedule(lambda pending: -len(pending), first_delay=0.0)
    schedule.start()
    _done, last = client.poll(read, lambda pending: not pending, timeout, schedule=schedule)
    return last
