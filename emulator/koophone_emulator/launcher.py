"""Start an emulator as a subprocess and steer it: the helper tests and benchmarks import.

    import sys; sys.path.insert(0, "<repo>/emulator")
    from koophone_emulator.launcher import start_emulator

    with start_emulator("--instances", "100", latency_ms=50) as emu:
        emu.url                      # http://127.0.0.1:PORT: endpoint and iam_endpoint
        emu.configure(rate_5xx=0.1)  # any setting, at runtime
        emu.log(since=0)             # request records

Only the standard library is used. The emulator's output goes to a temporary file (never a
pipe nobody reads, which would block it once full); ``output()`` returns it.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

from .config import Settings

PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class EmulatorError(RuntimeError):
    pass


class EmulatorHandle:
    def __init__(self, process, url, port, workdir):
        self.process, self.url, self.port, self._workdir = process, url, port, workdir

    # ------------------------------------------------------------------ control API

    def _call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode("utf-8")
        headers = {"Content-Type": "application/json"}
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)  # noqa: S310
        try:
            # Only ever the emulator's own http:// URL, never a user-supplied scheme.
            with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
                return json.loads(answer.read() or b"null")
        except urllib.error.HTTPError as error:
            raise EmulatorError("%s %s: HTTP %s %s" % (method, path, error.code, error.read().decode())) from None

    def log(self, since=0, operation=None):
        query = "?since=%d" % since + ("&operation=%s" % operation if operation else "")
        return self._call("GET", "/_emulator/log" + query)

    def clear_log(self):
        return self._call("DELETE", "/_emulator/log")

    def config(self):
        return self._call("GET", "/_emulator/config")

    def configure(self, **settings):
        return self._call("POST", "/_emulator/config", settings)

    def reset(self, instances=None, seed=None, mix=None):
        return self._call("POST", "/_emulator/reset", {"instances": instances, "seed": seed, "mix": mix})

    def instances(self, ids=None):
        return self._call("GET", "/_emulator/instances" + ("?ids=" + ",".join(ids) if ids else ""))

    def instance(self, instance_id):
        return self._call("GET", "/_emulator/instances/" + instance_id)

    def patch_instance(self, instance_id, **fields):
        return self._call("PATCH", "/_emulator/instances/" + instance_id, fields)

    def add_instances(self, count=1, **fields):
        """Add ``count`` instances with the given fields; or pass instances=[{...}, ...]."""
        body = {"instances": fields["instances"]} if "instances" in fields else dict(fields, count=count)
        return self._call("POST", "/_emulator/instances", body)["instances"]

    def task(self, task_id):
        return self._call("GET", "/_emulator/tasks/" + task_id)

    def orders(self):
        return self._call("GET", "/_emulator/orders")

    def pay_order(self, order_id):
        return self._call("POST", "/_emulator/orders/%s/pay" % order_id, {})

    def expire_tokens(self):
        return self._call("POST", "/_emulator/expire-tokens", {})

    # ------------------------------------------------------------------ process

    def output(self):
        try:
            with open(os.path.join(self._workdir, "output.log"), encoding="utf-8", errors="replace") as handle:
                return handle.read()
        except OSError:
            return ""

    def stop(self, timeout=5.0):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self._workdir, ignore_errors=True)
        return self.process.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.stop()


def start_emulator(*args, timeout=10.0, python=None, env=None, **options):
    """Start ``python -m koophone_emulator --port 0 --ready-file ...`` plus ``args`` and ``options``.

    ``options`` become flags: ``latency_ms=50`` -> ``--latency-ms 50``, ``mix=True`` -> ``--mix``,
    ``effect_delay=0`` -> ``--effect-delay 0``, ``tenant_whitelisted=False`` -> ``--no-tenant-whitelist``.
    Waits until the emulator listens (at most ``timeout`` seconds) and returns an EmulatorHandle;
    raises EmulatorError with the emulator's output if it does not come up.
    """
    workdir = tempfile.mkdtemp(prefix="koophone-emulator-")
    ready_file = os.path.join(workdir, "ready.json")
    command = [python or sys.executable, "-m", "koophone_emulator", "--port", "0", "--ready-file", ready_file]
    command.extend(str(arg) for arg in args)
    flags = {name: spec.metadata["flag"] or "" for name, spec in Settings.__dataclass_fields__.items()}
    for name, value in options.items():
        flag = "--" + name.replace("_", "-")
        if flags.get(name, "").startswith("--no-"):
            if value is False:
                command.append(flags[name])  # app_list=False -> --no-app-list
        elif value is True:
            command.append(flag)
        elif value is not False and value is not None:  # 0 is a value (effect_delay=0), not "off"
            command.extend([flag, ",".join(value) if isinstance(value, (list, tuple)) else str(value)])
    environment = dict(os.environ if env is None else env)
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [PACKAGE_PARENT, environment.get("PYTHONPATH")]))
    with open(os.path.join(workdir, "output.log"), "wb") as output:
        # The command is our own interpreter and module with the caller's flags: no shell involved.
        process = subprocess.Popen(  # noqa: S603
            command, stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=environment
        )
    handle = EmulatorHandle(process, None, None, workdir)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(ready_file):
            with open(ready_file) as ready:
                info = json.load(ready)
            handle.url, handle.port = info["url"], info["port"]
            return handle
        if process.poll() is not None:
            break
        time.sleep(0.02)
    text = handle.output()
    handle.stop()
    raise EmulatorError("the KooPhone emulator did not start (exit %s): %s" % (process.poll(), text.strip()))
