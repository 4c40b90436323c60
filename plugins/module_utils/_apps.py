# Copyright: (c) 2026, koophone.cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the koophone.cloud collection (capability layer; see docs/development.md): not a public API,
# it may change in any release. Do not import it from other collections or standalone plugins.
"""What koophone_app needs: find installed apps, install (app/install + task polling), uninstall.

Installed versions come from ``GET /v1/instances/{id}/app-list`` (ListInstanceApp, paged by 200),
or, where the service does not offer it, from two shell commands through sync-command:
``pm list packages NAME`` (is it there?) and ``dumpsys package NAME`` (which version? its
``versionName=`` line is found here, on the controller). Uninstalls are ``pm uninstall NAME``
through sync-command. The commands are sent with the shared client directly (one request per 100
instances); this file does not depend on koophone_command.

app/install and sync-command are not safe to repeat. An install request whose answer was lost (a
broken connection or a 5xx after it was sent) is never sent again within the run: the installed
apps are re-read (polled up to wait_timeout) and instances where the app did not show up are
reported as "may or may not have been accepted". The client itself re-sends only requests that
provably never reached the service (429, connection refused). An "already exists" answer (62005)
is a definite refusal that applied nothing: the instances are re-read, those found at the version
count as installed, and the install is sent once more to the rest of that request only.

Both go through the shared batched change (_changes): installs through ``Changes.apply`` (or
apply_batched) without a re-read, so lost chunks come back as maybe-applied failures that
``Installer.confirm_lost`` settles; uninstalls through apply_batched with a re-read, a judge of the
per-instance results and at most WRITE_ATTEMPTS sends.

Concurrency: every stage (sending the install chunks, re-reading, polling tasks) is one
``map_concurrently`` at a time, never one inside another, so at most ``concurrency`` requests
are in flight.
"""

import re
from urllib.parse import unquote, urlsplit

from ansible_collections.koophone.cloud.plugins.module_utils import _operations as operations
from ansible_collections.koophone.cloud.plugins.module_utils import _statuses as statuses
from ansible_collections.koophone.cloud.plugins.module_utils import _tasks as tasks
from ansible_collections.koophone.cloud.plugins.module_utils import _validation as validation
from ansible_collections.koophone.cloud.plugins.module_utils._changes import UNKNOWN, Outcome, apply_batched
from ansible_collections.koophone.cloud.plugins.module_utils._client import listed, payload
from ansible_collections.koophone.cloud.plugins.module_utils._errors import (
    InvalidOption,
    KooPhoneError,
    code_number,
    is_code,
)

# Android package names: dot-separated segments, each a letter followed by letters, digits or _.
# Checked before use, so the name is safe inside the shell commands below.
PACKAGE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$")
MAX_NAME_LENGTH = 100  # object_name, file_name and object_version (reference §4.4.1)
MAX_URL_LENGTH = 2000
MAX_MD5_LENGTH = 200
MAX_SIZE_MB = 2048  # 62015: "exceeds the limit of 2G"
BIZ_TYPE = "apk"  # the only package type the service installs
CONTENT_TYPE = "application/octet-stream"  # the only transfer the service offers (OBS download)

# An uninstall chunk is sent at most this often (first send + re-sends after re-reads that still
# find the package). Installs are never re-sent after a lost answer (see the module docstring).
WRITE_ATTEMPTS = 3
# How long an install whose answer was lost is re-read for (at most; wait_timeout may be shorter),
# as a lost create is: long enough for an accepted request to show, short of blocking a play.
MAX_SETTLE_SECONDS = 30
# Re-reading the installed apps while waiting for an install whose answer was lost: the interval
# grows from 1 s to this, so a long wait over a large chunk costs few requests.
LOST_ANSWER_MAX_INTERVAL = 10.0

# The service's install errors (reference §4.4.1 and §6.2), as users should read them.
ERROR_TEXT = {
    "1001": "no permission for the instance, or it does not exist",
    "3008": "fast_install must be 0 or 1",
    "3009": "the instance was not found (query phoneId error)",
    "62005": "the package already exists on the instance at this version",
    "62006": "the package size must be a number",
    "62010": "the instance is abnormal or not running",
    "62015": "the package is larger than the 2 GB limit",
    "62016": "the tenant's uploaded packages exceed the total limit (1 TB)",
    "62017": "the download failed; check url",
    "62019": "the installation failed",
    "62020": "version conflict: the instance has another (usually newer) version; use force to replace it",
    "62021": "not enough space on the instance",
    "9999": "internal service error",
}

DUMPSYS_VERSION = re.compile(r"versionName=(\S*)")


# ---------------------------------------------------------------- validation


def check_package(option, name):
    if not name or len(name) > MAX_NAME_LENGTH or not PACKAGE_NAME.match(name):
        raise InvalidOption(
            option,
            "%r is not an Android package name (letters, digits and _ in dot-separated segments that start with a "
            "letter, at most %d characters)" % (name, MAX_NAME_LENGTH),
        )
    return name


def check_text(option, value, maximum):
    if value is None or not ("%s" % value).strip():
        raise InvalidOption(option, "must not be empty")
    if len(value) > maximum:
        raise InvalidOption(option, "is %d characters long; the API allows at most %d" % (len(value), maximum))
    return value


def check_url(option, url):
    # The url is no_log (a signed OBS link is a credential), and Ansible masks every occurrence of
    # its value in output: the messages below quote no part of it and avoid spelling out a scheme.
    check_text(option, url, MAX_URL_LENGTH)
    if any(char.isspace() or ord(char) < 32 or ord(char) == 127 for char in url):
        raise InvalidOption(option, "contains a space, a line break or another control character; percent-encode it")
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise InvalidOption(
            option, "must be a secure web link to the package, with a host (the service downloads it from OBS)"
        )
    return url


def check_file_name(option, name):
    """A file name (given, or the url's last path segment decoded): no folder, no control characters."""
    check_text(option, name, MAX_NAME_LENGTH)
    if "/" in name or any(ord(char) < 32 or ord(char) == 127 for char in name):
        raise InvalidOption(option, "must be a plain file name, without '/', line breaks or control characters")
    return name


def default_file_name(url):
    """The URL path's last segment, decoded: what the package file is called."""
    return unquote(urlsplit(url).path.rsplit("/", 1)[-1])


def check_size(option, size_mb):
    if size_mb is None or not 0 < size_mb <= MAX_SIZE_MB:
        raise InvalidOption(option, "is %s; it must be more than 0 and at most %d (MB)" % (size_mb, MAX_SIZE_MB))
    return size_mb


def size_text(size_mb):
    """object_size is typed String in both sources: send "120", or "120.5"."""
    return ("%.3f" % size_mb).rstrip("0").rstrip(".")


# ---------------------------------------------------------------- errors per instance


def failure(error_code, error_msg, what=None):
    """A per-instance failure: the service's code and message, and a sentence a user can act on."""
    error_code, error_msg = validation.as_text(error_code), validation.as_text(error_msg)
    explained = ERROR_TEXT.get(code_number(error_code))
    text = explained or error_msg or "failed"
    if explained and error_msg and error_msg.rstrip(".").lower() not in explained.lower():
        text = "%s (%s)" % (explained, error_msg)
    if error_code:
        text = "%s [%s]" % (text, error_code)
    return {"error_code": error_code, "error_msg": error_msg, "msg": "%s: %s" % (what, text) if what else text}


def failure_of(error, what=None):
    """A per-instance failure from a KooPhoneError of a whole request (operation, status and x-request-id kept)."""
    entry = failure(error.error_code, error.error_msg or error.message, what)
    details = ["operation=%s" % error.operation] if error.operation else []
    if error.status is not None:
        details.append("http_status=%s" % error.status)
    if error.request_id:
        details.append("x-request-id=%s" % error.request_id)
    if details:
        entry["msg"] += " (%s)" % ", ".join(details)
    return entry


def not_offered(error):
    """True when the service has no ListInstanceApp (the gateway answers 404 APIGW.0101)."""
    return error.status == 404 or (error.error_code or "").upper() == "APIGW.0101"


# ---------------------------------------------------------------- commands through sync-command


def run_command(client, ids, command, repeat_lost=False):
    """Run ``command`` on ``ids`` (one sync-command per 100); return ({id: CmdResult}, {id: failure}, lost_ids).

    ``lost_ids`` are the instances of chunks whose answer was lost: whether the command ran there is
    unknown. With ``repeat_lost`` (read-only commands) the client may send such chunks again itself,
    like any read, and what is still lost after its retries is a failure.
    """
    results, failures = {}, {}
    chunks = client.call_batched(
        "SyncInvokeInstance",
        list(ids),
        lambda chunk: {"command": command, "instance_ids": chunk},
        repeatable=True if repeat_lost else None,
    )
    lost = [i for chunk in chunks for i in _sort_results(chunk, command, results, failures)]
    if repeat_lost:
        for instance_id in lost:
            failures[instance_id] = failure(None, None, "the answer to sync-command %r was lost" % command)
        lost = []
    return results, failures, lost


def _sort_results(chunk, command, results, failures):
    """File one chunk's outcome into ``results`` and ``failures``; return its ids if its answer was lost."""
    if chunk.failed:
        if chunk.error.maybe_applied:
            return chunk.ids
        for instance_id in chunk.ids:
            failures[instance_id] = failure_of(chunk.error, "sync-command %r" % command)
        return []
    for entry in listed(chunk.answer, "cmd_results"):
        instance_id = validation.id_text(entry.get("instance_id"))
        if instance_id in chunk.ids:
            results[instance_id] = tasks.read_result(entry)
    for instance_id in chunk.ids:
        if instance_id not in results:
            failures[instance_id] = failure(None, None, "sync-command %r returned no result" % command)
    return []


def succeeded(entry):
    return validation.as_int(entry.get("status")) == 2


# ---------------------------------------------------------------- installed versions


class InstalledApps:
    """Reads which version of one package each instance has (None: not installed).

    ``source`` is ``app_list``, ``command`` or ``auto`` (app-list; commands where the service
    does not offer app-list, decided on the first read).
    """

    def __init__(self, client, package, source="auto"):
        self.client = client
        self.package = package
        self.source = source

    def read(self, ids):
        """({id: version or None}, {id: failure}) for ``ids``."""
        ids = list(ids)
        if not ids:
            return {}, {}
        if self.source == "command":
            return self._read_by_command(ids)
        versions, failures = {}, {}
        if self.source == "auto":
            # One instance first: its answer says whether the service offers app-list at all.
            first, ids = ids[0], ids[1:]
            try:
                versions[first] = self._app_list_version(first)
            except KooPhoneError as error:
                if not_offered(error):
                    self.source = "command"
                    return self._read_by_command([first] + ids)
                failures[first] = failure_of(error, "reading the installed apps")
            self.source = "app_list"
        for instance_id, (version, error) in zip(ids, self.client.map_concurrently(self._app_list_version, ids)):
            if error is None:
                versions[instance_id] = version
            else:
                failures[instance_id] = failure_of(error, "reading the installed apps")
        return versions, failures

    def _app_list_version(self, instance_id):
        apps = self.client.list_all(
            "ListInstanceApp",
            None,
            operations.LIST_INSTANCE_APPS_PAGE_SIZE[1],
            path_params={"instance_id": instance_id},
            key="app_pkg",
        )
        for app in apps:
            if app.get("app_pkg") == self.package:
                version = app.get("app_version")
                return "" if version is None else "%s" % version
        return None

    def _read_by_command(self, ids):
        listed, failures, _lost = run_command(self.client, ids, "pm list packages %s" % self.package, repeat_lost=True)
        versions, present = {}, []
        for instance_id in ids:
            entry = listed.get(instance_id)
            if entry is None:
                continue
            if not succeeded(entry):
                failures[instance_id] = failure(
                    entry.get("error_code"), entry.get("error_msg"), "pm list packages failed"
                )
                continue
            lines = [line.strip() for line in (entry.get("execute_msg") or "").splitlines()]
            if "package:%s" % self.package in lines:
                present.append(instance_id)
            else:
                versions[instance_id] = None
        if present:
            # No pipe to grep on the phone: the reference allows only letters, digits, spaces and _ . / : -
            # in a command (validation.PORTABLE_COMMAND), so the output is searched here.
            shown, failed, _lost = run_command(
                self.client, present, "dumpsys package %s" % self.package, repeat_lost=True
            )
            failures.update(failed)
            for instance_id in present:
                if instance_id in shown:
                    match = DUMPSYS_VERSION.search(shown[instance_id].get("execute_msg") or "")
                    versions[instance_id] = match.group(1) if match else ""
        return versions, failures

    def wait_for(self, ids, version, timeout):
        """Re-read ``ids`` until all have ``version`` or ``timeout`` passes; return the last reading.

        Each round re-reads only the instances not yet found at ``version``. With ``timeout`` <= 0
        the instances are read once.
        """
        versions, failures = {}, {}
        ids = list(ids)

        def missing():
            return [i for i in ids if versions.get(i) != version or i in failures]

        def read_missing():
            pending = missing()
            read_versions, read_failures = self.read(pending)
            for instance_id in pending:
                failures.pop(instance_id, None)
            versions.update(read_versions)
            failures.update(read_failures)
            return missing()

        if timeout <= 0:
            read_missing()
        else:
            self.client.poll(
                read_missing, lambda left: not left, timeout, interval=1.0, max_interval=LOST_ANSWER_MAX_INTERVAL
            )
        return versions, failures


# ---------------------------------------------------------------- uninstall


def uninstall(client, installed, ids, record=None):
    """``pm uninstall`` where ``ids`` have the package; return ({id: True}, {id: failure}).

    Sent through the shared batched change (apply_batched): each answered chunk's per-instance
    results are judged; a chunk whose answer was lost is re-read: where the package is gone it
    counts as removed, where it is still there the uninstall is sent again (at most WRITE_ATTEMPTS
    sends), and after the last lost send it is read once more. ``record(outcome)`` (Changes.record)
    hears what was removed once that is settled.
    """
    command = "pm uninstall %s" % installed.package
    unreadable = {}

    def reread(lost):
        versions, failed = installed.read(lost)
        unreadable.update(failed)
        current = dict(versions)
        current.update((i, UNKNOWN) for i in failed)
        return current

    outcome = apply_batched(
        client,
        "SyncInvokeInstance",
        list(ids),
        lambda chunk: {"command": command, "instance_ids": chunk},
        reread=reread,
        still_needed=lambda version: version is not None,
        judge=lambda chunk: _judge_chunk(chunk, command, installed.package),
        resends=WRITE_ATTEMPTS - 1,
    )
    removed = dict((i, True) for i in outcome.done)
    failures = dict(outcome.refused)
    for failed in outcome.failures:
        if not failed.error.maybe_applied:
            entry = failure_of(failed.error, "sync-command %r" % command)
            failures.update((i, dict(entry, msg="uninstall: " + entry["msg"])) for i in failed.ids)
    failures.update((i, unreadable[i]) for i in outcome.maybe if i in unreadable)
    _settle_last(installed, [i for i in outcome.maybe if i not in unreadable], removed, failures)
    if record is not None:
        settled = Outcome()  # every lost uninstall is settled now: removed, or failed
        settled.done = [i for i in validation.unique(ids) if i in removed]
        record(settled)
    return removed, failures


def _settle_last(installed, lost, removed, failures):
    """The uninstalls whose last answer was lost too: read once more; removed, or still there (failed)."""
    versions, unreadable = installed.read(lost)
    failures.update(unreadable)
    for instance_id in lost:
        if instance_id in unreadable:
            continue
        if versions.get(instance_id) is None:
            removed[instance_id] = True
        else:
            failures[instance_id] = failure(None, None, "uninstall: the answers were lost %d times" % WRITE_ATTEMPTS)


def _judge_chunk(chunk, command, package):
    """{id: failure} of the instances an answered ``pm uninstall`` chunk did not remove the package from."""
    results, failures = {}, {}
    _sort_results(chunk, command, results, failures)
    failures = dict((i, dict(f, msg="uninstall: " + f["msg"])) for i, f in failures.items())
    _judge_uninstalls(results, package, {}, failures)
    return failures


def _judge_uninstalls(results, package, removed, failures):
    """File ``pm uninstall`` results; return the ids removed now."""
    done_now = []
    for instance_id, entry in results.items():
        output = (entry.get("execute_msg") or "").strip()
        if succeeded(entry) and "Failure" not in output:
            removed[instance_id] = True
            done_now.append(instance_id)
        else:
            failures[instance_id] = failure(
                entry.get("error_code"), output or entry.get("error_msg"), "pm uninstall %s failed" % package
            )
    return done_now


# ---------------------------------------------------------------- install


def install_body(params, file_name, ids):
    return {
        "fast_install": "1" if params["fast_install"] else "0",
        "object_name": params["name"],
        "file_name": file_name,
        "object_version": params["version"],
        "object_size": size_text(params["size_mb"]),
        "biz_type": BIZ_TYPE,
        "content_type": CONTENT_TYPE,
        "content_md5": params["md5"],
        "install_package_url": params["url"],
        "instance_id_list": ids,
    }


def task_of(answer):
    """(task_id, {instance_id: job_id}) from ``data.{task_id,cmd_jobs}`` or the reference's ``data.data.{...}``."""
    jobs = dict(
        (validation.id_text(job.get("instance_id")), validation.id_text(job.get("job_id")))
        for job in listed(answer, "cmd_jobs")
        if validation.id_text(job.get("instance_id"))
    )
    return validation.id_text(payload(answer, "task_id").get("task_id")), jobs


def lost_answer(error, what, timeout):
    """The failure of an instance whose install request may have been applied but did not show up."""
    entry = failure_of(error, "app/install")
    if error.status is not None:
        reason = "the service answered with an error: %s" % entry["msg"]
    else:
        reason = ("its answer was lost: %s" if error.maybe_applied else "%s") % entry["msg"]
    waited = "after waiting %ss" % timeout if timeout > 0 else "when read again"
    entry["msg"] = (
        "the install request may or may not have been accepted (%s), and %s was not installed %s; the request "
        "was not sent again, so that nothing is installed twice. Re-run to retry (the next run finds the app if "
        "the request installed it meanwhile)" % (reason, what, waited)
    )
    entry["maybe_applied"] = True
    return entry


class Installer:
    """Sends app/install in chunks of 100 (concurrently) and records, per instance, what happened.

    The chunks go through the shared batched change: ``changes.apply`` (Changes: check mode, and
    what was accepted or may have been recorded in the module's result) when ``changes`` is given,
    else apply_batched; never with a re-read, since an install is not repeated after a lost answer.

    ``submitted``: {id: (task_id, job_id or None)}; ``confirmed``: instances found installed after a
    lost answer or a 62005, {id: True} when this run's lost request installed it, False when someone
    else did; ``lost``: {id: error} of requests whose answer was lost, until ``confirm_lost``
    settles them; ``failures``: {id: failure}.

    ``record(task_id, chunk)`` is called as soon as a chunk's answer is read, when the service
    accepted it, ``record(None, chunk)`` when it may have (the answer was lost).
    """

    def __init__(self, client, installed, params, file_name, record=None, changes=None):
        self.client = client
        self.installed = installed
        self.params = params
        self.file_name = file_name
        self.record = record
        self.changes = changes
        self.submitted, self.confirmed, self.lost, self.failures = {}, {}, {}, {}
        self.task_ids = []

    def install(self, ids):
        """Send the install to ``ids``; a chunk refused with 62005 is re-read and sent once more to the rest."""
        refusals = self._send(list(ids))
        if not refusals:
            return
        # 62005 refused the whole request and applied nothing: re-read, then send to the rest once more.
        pending = [i for _error, chunk in refusals for i in chunk]
        versions, unreadable = self.installed.read(pending)
        self.failures.update(unreadable)
        version = self.params["version"]
        found = set(i for i in pending if i not in unreadable and versions.get(i) == version)
        self.confirmed.update((i, False) for i in pending if i in found)  # someone else installed it meanwhile
        resend = []
        for error, chunk in refusals:
            rest = [i for i in chunk if i not in found and i not in unreadable]
            if not any(i in found for i in chunk):
                # Re-reading does not explain the refusal; the same request would be refused again.
                self.failures.update((i, failure_of(error, "app/install")) for i in rest)
            else:
                resend.extend(rest)
        for error, chunk in self._send(resend):
            self.failures.update((i, failure_of(error, "app/install (sent again after a 62005)")) for i in chunk)

    def _send(self, ids):
        """One request per chunk of ``ids``, concurrently; return [(error, chunk)] of chunks refused with 62005."""
        if not ids:
            return []

        def body(chunk):
            return install_body(self.params, self.file_name, chunk)

        if self.changes is not None:
            outcome = self.changes.apply("InstallApp", ids, body, judge=self._accepted)
        else:
            outcome = apply_batched(self.client, "InstallApp", ids, body, judge=self._accepted)
        refusals = []
        for failed in outcome.failures:
            if failed.error.maybe_applied:
                self.lost.update((i, failed.error) for i in failed.ids)
                if self.record is not None:
                    self.record(None, failed.ids)
            elif is_code(failed.error, "62005"):
                refusals.append((failed.error, failed.ids))
            else:
                self.failures.update((i, failure_of(failed.error, "app/install")) for i in failed.ids)
        return refusals

    def _accepted(self, chunk):
        """Read one accepted chunk's task (the judge of apply_batched: nothing in it counts as refused)."""
        task_id, jobs = task_of(chunk.answer)
        if self.record is not None:
            self.record(task_id, chunk.ids)
        if not task_id:
            # Accepted, but there is no task to follow: settled by re-reading, like a lost answer.
            missing = KooPhoneError("app/install answered without a task_id", operation="InstallApp")
            self.lost.update((i, missing) for i in chunk.ids)
            return {}
        self.submitted.update((i, (task_id, jobs.get(i))) for i in chunk.ids)
        if task_id not in self.task_ids:
            self.task_ids.append(task_id)
        return {}

    def confirm_lost(self, timeout):
        """Settle the instances of requests that may have been applied; never send the install again.

        A request the service answered with a server error is read back once, at once: the service
        said it failed, so the instances are reported now, not waited for. One whose answer was lost
        (the connection broke) may still be working: it is re-read for up to ``timeout`` seconds, at
        most MAX_SETTLE_SECONDS, as a lost create is. Found at the version: installed by this run's
        request (and, with ``changes``, recorded as changed, no longer maybe). Otherwise a failure that
        says it may or may not have been accepted (``maybe_applied``).
        """
        if not self.lost:
            return
        answered = [i for i, error in self.lost.items() if error.status is not None]
        silent = [i for i in self.lost if i not in set(answered)]
        version = self.params["version"]
        versions, unreadable = self.installed.wait_for(silent, version, min(timeout, MAX_SETTLE_SECONDS))
        read_versions, read_unreadable = self.installed.wait_for(answered, version, 0)
        versions.update(read_versions)
        unreadable.update(read_unreadable)
        what = "%s %s" % (self.params["name"], version)
        for instance_id in answered + silent:
            error = self.lost.pop(instance_id)
            if instance_id not in unreadable and versions.get(instance_id) == version:
                self.confirmed[instance_id] = True
                continue
            waited = min(timeout, MAX_SETTLE_SECONDS) if instance_id in silent else 0
            entry = lost_answer(error, what, waited)
            if instance_id in unreadable:
                entry["msg"] += "; reading the installed apps failed too: %s" % unreadable[instance_id]["msg"]
            self.failures[instance_id] = entry
        if self.changes is not None:
            self.changes.confirm([i for i in answered + silent if self.confirmed.get(i)])


# ---------------------------------------------------------------- install tasks


def job_view(job):
    """The job fields a result shows, with the install status name."""
    status = tasks.job_status(job)
    return {
        "job_status": status,
        "job_status_name": statuses.name_of(statuses.JOB_STATUS, status),
        "execute_msg": job.get("execute_msg"),
    }
