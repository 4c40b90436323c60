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
from ansible_collections.koophone.cloud.plugins.module_utils._client import listed

OPERATION = "ExecuteJob"
UNFINISHED = (0, 1)
SUCCEEDED = 2
FAILED = (3, -1)
FINISHED = (SUCCEEDED,) + FAILED
MAX_READ_FAILURES = 3

# Jobs rarely finish at once: the first read waits FIRST_DELAY, then the interval grows by
# GROWTH up to MAX_INTERVAL, so a short task is seen soon and a long one costs few requests
# (one tasks/{task_id} per task per round, the tasks of a round read concurrently).
FIRST_DELAY = 0.5
INTERVAL = 0.5
GROWTH = 1.5
MAX_INTERVAL = 5.0


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
        self.tasks = dict((task_id, Task(task_id)) for task_id in dict.fromkeys(task_ids) if task_id)
        self.on_read = on_read

    def unsettled(self):
        return [task for task in self.tasks.values() if not task.settled]

    def read_round(self):
        """Read every unsettled task once (concurrently); return those still unsettled."""
        pending = self.unsettled()
        outcomes = self.client.map_concurrently(
            lambda task: self.client.call(OPERATION, path_params={"task_id": task.task_id}), pending
        )
        for task, (answer, error) in zip(pending, outcomes):
            if error is None:
                task.found, task.jobs, task.error, task.read_failures = True, listed(answer, "jobs"), None, 0
                if self.on_read is not None:
                    self.on_read(task)
            elif errors.is_code(error, "1323"):
                task.found, task.error = False, error
            else:
                task.error = error
                task.read_failures += 1
        return self.unsettled()

    def wait(self, timeout, first_delay=FIRST_DELAY):
        """Poll until every task is settled or ``timeout`` seconds pass; True when all settled.

        With ``timeout`` <= 0 the tasks are read once.
        """
        if not self.tasks:
            return True
        deadline = time.time() + max(0.0, timeout)
        if timeout > 0 and first_delay:
            time.sleep(min(first_delay, timeout))
        done, _last = self.client.poll(
            self.read_round, lambda pending: not pending, max(0.0, deadline - time.time()), INTERVAL, MAX_INTERVAL
        )
        return done

    def jobs(self):
        return [(task, job) for task in self.tasks.values() for job in task.jobs]

    def failed_jobs(self):
        return [dict(job, task_id=task.task_id) for task, job in self.jobs() if job_status(job) in FAILED]

    def unknown_tasks(self):
        return [task for task in self.tasks.values() if task.unknown]

    def unreadable_tasks(self):
        return [task for task in self.tasks.values() if task.unreadable and not task.unknown]


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
    _done, last = client.poll(read, lambda pending: not pending, timeout)
    return last
