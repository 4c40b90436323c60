# Copyright: (c) 2026, koophone.cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the koophone.cloud collection (shared layer; see docs/development.md): not a public API,
# it may change in any release. Do not import it from other collections or standalone plugins.
"""Small JSON files the collection keeps on the controller, and never anything else.

A record carries a marker (``{"koophone.cloud": KIND, ...}``) so a path that names some other
file is refused, not overwritten; special files (devices, pipes, sockets) are refused too; writes
replace the file atomically (0600) under a lock, so concurrent plays see a whole record, old or
new. A missing file is reported as missing: what that means is the caller's decision.
"""

import contextlib
import json
import os
import stat
import tempfile

try:
    import fcntl

    HAS_FCNTL = True
except ImportError:  # pragma: no cover - not on Windows controllers, which Ansible does not support anyway
    HAS_FCNTL = False

MARKER = "koophone.cloud"


class RecordError(Exception):
    """The record cannot be used: its path names something else, or it cannot be read or written."""


def default_path(name):
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "koophone.cloud", name)


class JsonRecord:
    def __init__(self, path, kind, legacy=None):
        self.path = path
        self.kind = kind
        self.legacy = legacy  # data -> bool: a record of this kind written before records had the marker

    def exists(self):
        return os.path.lexists(self.path)

    def load(self):
        """The record's data, {} for an empty file, None when there is no file."""
        if not self.exists():
            return None
        self._check_regular()
        try:
            with open(self.path) as handle:
                text = handle.read()
        except OSError as error:
            raise RecordError("%s cannot be read: %s" % (self.path, error.strerror or error)) from None
        if not text.strip():
            return {}
        try:
            data = json.loads(text)
        except ValueError:
            raise RecordError(
                "%s is not JSON, so it is not a %s record of koophone.cloud" % (self.path, self.kind)
            ) from None
        if not isinstance(data, dict):
            raise RecordError("%s is not a %s record of koophone.cloud; it was left as it is" % (self.path, self.kind))
        if data.get(MARKER) != self.kind and not (MARKER not in data and self.legacy and self.legacy(data)):
            raise RecordError("%s is not a %s record of koophone.cloud; it was left as it is" % (self.path, self.kind))
        return data

    def save(self, data):
        """Replace the record with ``data`` (which load() then returns, marker included)."""
        directory = os.path.dirname(self.path) or "."
        if not os.path.isdir(directory):
            raise RecordError("the directory of %s does not exist" % self.path)
        if self.exists():
            self.load()  # refuses a file that is not ours, or not a regular file
        handle, temp_path = tempfile.mkstemp(dir=directory, prefix=".%s-" % os.path.basename(self.path))
        try:
            with os.fdopen(handle, "w") as stream:  # mkstemp creates the file 0600
                json.dump(dict(data, **{MARKER: self.kind}), stream, sort_keys=True, indent=1)
            os.replace(temp_path, self.path)
        except OSError as error:
            with contextlib.suppress(OSError):
                os.remove(temp_path)
            raise RecordError("%s cannot be written: %s" % (self.path, error.strerror or error)) from None

    @contextlib.contextmanager
    def locked(self):
        """Hold an exclusive lock on ``<path>.lock`` (read, change, save in one go)."""
        if not HAS_FCNTL or not os.path.isdir(os.path.dirname(self.path) or "."):
            yield
            return
        with open(self.path + ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _check_regular(self):
        try:
            mode = os.stat(self.path).st_mode  # through a symlink: what it points to must be a regular file
        except OSError as error:
            raise RecordError("%s cannot be read: %s" % (self.path, error.strerror or error)) from None
        if not stat.S_ISREG(mode):
            raise RecordError("%s is not a regular file; a record is never written over it" % self.path)
