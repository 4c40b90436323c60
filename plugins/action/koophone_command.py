# Copyright: (c) 2026, koophone.cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs koophone_command and shows its progress while it runs, then a summary a person can read.

A module cannot print while it runs: Ansible shows its result when it has ended. The phones are not
SSH hosts, so koophone_command runs on the controller (``delegate_to: localhost``, or a local
connection), on the same filesystem as this plugin. This plugin therefore:

1. creates an empty progress file, 0600, in a private temporary directory (0700), and names it to the
   module in an environment variable (``_KOOPHONE_PROGRESS_FILE``); the module appends a JSON line per
   snapshot (phase, elapsed seconds, phone and chunk counts, counts by outcome: never an id, a
   command, an output or a credential);
2. runs the module as the ``normal`` action plugin does (``_execute_module``), while a thread reads
   the new lines every POLL_SECONDS and displays them, paced by ``Pacer``;
3. removes the directory, then displays the module's ``summary`` (counts by outcome, failed phones by
   name and id grouped by reason).

When the module runs elsewhere (another connection, ``async``, check mode) the variable is empty, the
module writes nothing, and the task behaves as with the plain module. The module itself also refuses a
file that is not a regular 0600 file of its own user, so a stray value writes nowhere.

What is shown when is decided by ``Pacer``; docs/commands.md ("Progress and the summary") argues it.
"""

import os
import shutil
import tempfile
import threading
import time

from ansible.plugins.action import ActionBase
from ansible.utils.display import Display
from ansible.utils.vars import merge_hash

from ansible_collections.koophone.cloud.plugins.module_utils import _commands as commands

display = Display()

POLL_SECONDS = 0.2
# At the default verbosity: nothing for a run shorter than QUIET_SECONDS (it looks like any task),
# then a line at most every DEFAULT_EVERY seconds, and one at least every HEARTBEAT seconds.
QUIET_SECONDS = 3.0
DEFAULT_EVERY = 5.0
# With -v: every change (a chunk sent, a poll round that moved), and a line at least every HEARTBEAT.
HEARTBEAT = 30.0


class Pacer:
    """Decides which progress snapshots are displayed (``show(snapshot)``).

    - verbosity >= 1: each snapshot that changed something (phase, chunks sent, counts), at most one
      per POLL_SECONDS (the reader's tick), and an unchanged one every HEARTBEAT seconds;
    - verbosity 0: nothing during the first QUIET_SECONDS, then at most one line per DEFAULT_EVERY
      seconds when something changed, or every HEARTBEAT seconds when nothing did.

    The final snapshot (phase ``done``) is never shown: the summary that follows says the same.
    """

    def __init__(self, show, verbosity, clock=time.monotonic, key=None):
        self.show = show
        self.key = key or _key  # what makes two snapshots "the same" on screen
        self.verbose = verbosity >= 1
        self.clock = clock
        self.started = clock()
        self.latest = None
        self.last_key = None
        self.last_shown = None
        self.shown = 0

    def offer(self, snapshot):
        if snapshot.get("phase") != commands.DONE:
            self.latest = snapshot

    def tick(self):
        if self.latest is None:
            return
        now = self.clock()
        key = self.key(self.latest)
        changed = key != self.last_key
        since = None if self.last_shown is None else now - self.last_shown
        if self.verbose:
            due = changed or since >= HEARTBEAT
        else:
            due = now - self.started >= QUIET_SECONDS and (
                since is None or (changed and since >= DEFAULT_EVERY) or since >= HEARTBEAT
            )
        if due:
            self.show(self.latest)
            self.last_key, self.last_shown = key, now
            self.shown += 1


def _key(snapshot):
    counts = snapshot.get("counts") or {}
    return (snapshot.get("phase"), snapshot.get("sent"), tuple(sorted(counts.items())))


class ProgressWatcher:
    """The private progress file and the thread that displays what the module writes to it."""

    def __init__(self, show, verbosity, clock=time.monotonic, key=None):
        self.directory = tempfile.mkdtemp(prefix="koophone-progress-")  # 0700
        self.path = os.path.join(self.directory, "progress.jsonl")
        os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        self.pacer = Pacer(show, verbosity, clock, key)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._watch, name="koophone-progress", daemon=True)

    def start(self):
        self.thread.start()
        return self

    def _watch(self):
        try:
            with open(self.path, "rb") as handle:
                tail = b""
                while True:
                    stopping = self.stopping.wait(POLL_SECONDS)
                    snapshots, tail = commands.read_progress(tail + handle.read())
                    for snapshot in snapshots:
                        self.pacer.offer(snapshot)
                    if stopping:
                        return
                    self.pacer.tick()
        except Exception as error:  # pylint: disable=broad-except
            # Progress is a courtesy: it never fails the task.
            display.vvv("koophone_command: no progress display: %s" % (error,))

    def stop(self):
        self.stopping.set()
        self.thread.join(timeout=5)
        shutil.rmtree(self.directory, ignore_errors=True)


class ActionModule(ActionBase):
    _supports_check_mode = True
    _supports_async = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp  # tmp no longer has any effect
        wrap_async = self._task.async_val and not self._connection.has_native_async
        asynchronous = self._task.args.get("mode", "async") == "async"
        host = self._host_label(task_vars or {})
        started = time.monotonic()

        def show(snapshot):
            line = commands.describe_progress(snapshot, asynchronous, elapsed=time.monotonic() - started)
            display.display("koophone_command [%s]: %s" % (host, line))

        watcher = None
        if getattr(self._connection, "transport", None) == "local" and not wrap_async and not self._task.check_mode:
            # Two snapshots that read the same (say, submitted and then running: both "pending") are one line.
            watcher = ProgressWatcher(
                show, display.verbosity, key=lambda snapshot: commands.describe_progress(snapshot, asynchronous, 0.0)
            )
        self._progress_path = watcher.path if watcher else ""
        try:
            if watcher is not None:
                watcher.start()
            result = merge_hash(result, self._execute_module(task_vars=task_vars, wrap_async=wrap_async))
        finally:
            if watcher is not None:
                watcher.stop()
        if not wrap_async:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        self._show_summary(result, host, time.monotonic() - started, watcher)
        return result

    def _compute_environment_string(self, raw_environment_out=None):
        """The task's environment, plus the progress file's path for the module (empty when there is
        none, so that a value in the controller's own environment is never used)."""
        environment = {}
        super()._compute_environment_string(environment)
        environment[commands.PROGRESS_ENV] = getattr(self, "_progress_path", "")
        if isinstance(raw_environment_out, dict):
            raw_environment_out.clear()
            raw_environment_out.update(environment)
        return self._connection._shell.env_prefix(**environment)

    def _host_label(self, task_vars):
        host = task_vars.get("inventory_hostname") or "localhost"
        delegated = self._task.delegate_to
        return "%s -> %s" % (host, delegated) if delegated and delegated != host else host

    def _show_summary(self, result, host, elapsed, watcher):
        """The summary at the end: with -v always; at the default verbosity when progress was shown or
        something failed (a short run that went well stays one ``ok``/``changed`` line)."""
        summary = result.get("summary")
        if not isinstance(summary, dict) or self._task.check_mode or "counts" not in summary:
            return
        shown = watcher is not None and watcher.pacer.shown > 0
        if not (display.verbosity >= 1 or shown or result.get("failed_instance_ids")):
            return
        lines = commands.render_summary(summary, elapsed)
        display.display("\n".join(["koophone_command [%s]: %s" % (host, lines[0])] + lines[1:]))
