"""What the benchmarks share: paths, the environment, timed runs with peak RSS, floors, plays.

Not a benchmark itself (no ``bench_`` prefix). Everything here measures; nothing passes or fails.

The benchmarks run as scripts (``python tests/bench/<name>.py``: their own folder is first on
sys.path, so ``import _bench`` finds this file), not under pytest, so nothing has put the emulator
or the collection on sys.path for them. Importing this module does it, once for every benchmark:
the emulator (``koophone_emulator``), the collection (``ansible_collections.koophone.cloud``, through
a symlink tree in .build/collections) and the emulator tests' helpers (``emutools``).
"""

import collections
import contextlib
import json
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
COLLECTIONS_ROOT = os.path.join(REPO, ".build", "collections")
_LINK = os.path.join(COLLECTIONS_ROOT, "ansible_collections", "koophone", "cloud")
if not os.path.islink(_LINK) and not os.path.isdir(_LINK):
    os.makedirs(os.path.dirname(_LINK), exist_ok=True)
    os.symlink(REPO, _LINK)
# The one sys.path edit of the benchmarks (see the module docstring); in-process measurements import
# the collection's client, every benchmark the emulator's launcher, bench_emulator.py emutools.
for _path in (os.path.join(REPO, "tests", "emulator"), COLLECTIONS_ROOT, os.path.join(REPO, "emulator")):
    if _path not in sys.path:
        sys.path.insert(0, _path)

BIN = os.path.dirname(sys.executable)
TOKEN = "demo-token"
PAGE_SIZE = 100  # the plugin's and koophone_instance_info's default
CHUNK = 100  # ids per batch request
CONCURRENCY = 8  # the modules' default
LISTING_CONCURRENCY = 16  # the inventory plugin's default: it reads its pages 16 at a time
PLUGIN_LINE = re.compile(
    r"koophone\.cloud\.koophone: (\d+) phones read \((.*?)\), (\d+) hosts added; "
    r"([\d.]+) s \(read ([\d.]+) s, build ([\d.]+) s\)"
)


def environment(emulator, **extra):
    env = dict(os.environ)
    for name in list(env):
        if name.startswith(("KOOPHONE_", "HUAWEICLOUD_SDK_", "ANSIBLE_")):
            del env[name]
    env.update(
        ANSIBLE_COLLECTIONS_PATH=COLLECTIONS_ROOT,
        ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false",
        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
        ANSIBLE_LOCALHOST_WARNING="false",
        ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
        ANSIBLE_HOST_KEY_CHECKING="false",
        ANSIBLE_RETRY_FILES_ENABLED="false",
        ANSIBLE_NOCOLOR="1",
        KOOPHONE_ENDPOINT=emulator.url,
        KOOPHONE_IAM_ENDPOINT=emulator.url,
        KOOPHONE_AUTH_TOKEN=TOKEN,
    )
    env.update(extra)
    return env


class Run:
    """One measured process: wall seconds, CPU seconds (user + system, the whole tree), peak RSS (MB,
    the largest process of its tree), requests by operation."""

    def __init__(self, wall, cpu, rss_mb, rc, output, requests):
        self.wall, self.cpu, self.rss_mb, self.rc, self.output, self.requests = wall, cpu, rss_mb, rc, output, requests

    @property
    def request_count(self):
        return sum(self.requests.values())


TIME = "/usr/bin/time"  # GNU time: its own few MB, so the peak it reports is the command's


def measure(command, env, emulator=None, workdir=None, check=True):
    """Run ``command``: wall time, CPU time of its whole tree, and the peak RSS of its largest process.

    The peak comes from wait4 (Linux folds every waited-for descendant into it). A child forked from
    this process starts with this process's memory, which would put a floor under every figure,
    so the command runs under GNU time, which forks it from its own few megabytes and reports the
    child's peak (without GNU time: wait4 here, a figure that may be this process's size).
    """
    if emulator is not None:
        emulator.clear_log()
    directory = workdir or tempfile.gettempdir()
    log_path = os.path.join(directory, "bench-run.log")
    rss_path = os.path.join(directory, "bench-run.rss")
    wrapped = [TIME, "-q", "-f", "%M %U %S", "-o", rss_path] + list(command) if os.access(TIME, os.X_OK) else command
    with open(log_path, "w") as log:
        started = time.perf_counter()
        process = subprocess.Popen(wrapped, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        _pid, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
    with open(log_path, errors="replace") as log:
        output = log.read()
    rc = os.waitstatus_to_exitcode(status)
    if check and rc != 0:
        raise SystemExit("command failed (rc %d): %s\n%s" % (rc, " ".join(command[:4]), output[-4000:]))
    rss_mb, cpu = usage.ru_maxrss / 1024.0, usage.ru_utime + usage.ru_stime
    if wrapped is not command:
        with open(rss_path) as handle:
            figures = handle.read().split()[-3:]  # the last line: "%M %U %S"
        with contextlib.suppress(IndexError, ValueError):  # no figures: keep wait4's
            rss_mb, cpu = int(figures[0]) / 1024.0, float(figures[1]) + float(figures[2])
    requests = collections.Counter()
    if emulator is not None:
        requests.update(entry["operation"] for entry in emulator.log() if entry["operation"])
    return Run(wall, cpu, rss_mb, rc, output, requests)


def playbook(emulator, workdir, text, variables=None, inventory=None, forks=None, env=None, name="play.yml"):
    path = os.path.join(workdir, name)
    with open(path, "w") as handle:
        handle.write(text)
    vars_file = os.path.join(workdir, "vars.json")
    with open(vars_file, "w") as handle:
        json.dump(dict(variables or {}, endpoint=emulator.url, token=TOKEN), handle)
    command = [os.path.join(BIN, "ansible-playbook"), path, "-e", "@" + vars_file]
    if inventory:
        command += ["-i", inventory]
    if forks:
        command += ["--forks", str(forks)]
    return measure(command, environment(emulator, **(env or {})), emulator, workdir)


def inventory_run(emulator, config_path, *args, env=None, program=None):
    """``ansible-inventory -i CONFIG ARGS -vvv``: the Run, plus the plugin's own figures from its -vvv line.

    ``program``: the command to run in place of ansible-inventory (a list, e.g. a wrapper that times its stages).
    """
    output = config_path + ".out"
    command = list(program or [os.path.join(BIN, "ansible-inventory")])
    command += ["-i", config_path, "--output", output, "-vvv"] + list(args)
    run = measure(
        command,
        environment(emulator, ANSIBLE_INVENTORY_UNPARSED_FAILED="true", **(env or {})),
        emulator,
        os.path.dirname(config_path),
    )
    match = PLUGIN_LINE.search(run.output)
    run.plugin = float(match.group(4)) if match else None
    run.hosts = int(match.group(3)) if match else None
    run.read = float(match.group(5)) if match else None
    run.build = float(match.group(6)) if match else None
    run.output_path = output
    return run


def write_config(directory, name, **options):
    path = os.path.join(directory, name)
    with open(path, "w") as handle:
        handle.write("plugin: koophone.cloud.koophone\n")
        for key, value in options.items():
            handle.write("%s: %s\n" % (key, json.dumps(value)))
    return path


def plain(value):
    """--list output without the 2.19+ untrusted-string markers ({"__ansible_unsafe": "x"} -> "x")."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return dict((key, plain(item)) for key, item in value.items())
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def static_inventory(listing_path, directory, name):
    """An executable script inventory that prints what ``ansible-inventory --list`` printed: the same
    hosts, groups and (flattened) variables, from no API at all."""
    with open(listing_path) as handle:
        data = plain(json.load(handle))
    data["_meta"].pop("profile", None)
    json_path = os.path.join(directory, name + ".json")
    with open(json_path, "w") as handle:
        json.dump(data, handle)
    script = os.path.join(directory, name + ".py")
    with open(script, "w") as handle:
        handle.write(
            "#!%s\nimport sys\nif '--host' in sys.argv:\n    print('{}')\nelse:\n"
            "    sys.stdout.write(open(%r).read())\n" % (sys.executable, json_path)
        )
    os.chmod(script, 0o700)  # a script inventory must be executable; only by us
    return script


def static_inventory_run(emulator, script, *args):
    command = [os.path.join(BIN, "ansible-inventory"), "-i", script, "--output", script + ".out"] + list(args)
    return measure(command, environment(emulator, ANSIBLE_INVENTORY_UNPARSED_FAILED="true"), None)


def hosts_inventory(directory, ids, name="phones.yml"):
    """A static inventory of one host per phone id, running on the controller (for per-host plays)."""
    path = os.path.join(directory, name)
    with open(path, "w") as handle:
        handle.write("phones:\n  hosts:\n")
        for number, instance_id in enumerate(ids):
            handle.write("    phone-%05d: {koophone_instance_id: %s}\n" % (number, instance_id))
        handle.write("  vars:\n    ansible_connection: local\n")
        handle.write("    ansible_python_interpreter: %s\n" % sys.executable)
    return path


def median(values):
    values = [value for value in values if value is not None]
    return statistics.median(values) if values else None


def waves(count, concurrency=CONCURRENCY):
    """Round trips needed for ``count`` requests, ``concurrency`` at a time."""
    return int(math.ceil(count / float(concurrency))) if count else 0


def listing_floor(phones, rtt, concurrency=CONCURRENCY):
    """Page 1, then the other pages ``concurrency`` at a time."""
    pages = max(1, int(math.ceil(phones / float(PAGE_SIZE))))
    return rtt * (1 + waves(pages - 1, concurrency))


def batch_floor(phones, rtt, concurrency=CONCURRENCY):
    return rtt * waves(int(math.ceil(phones / float(CHUNK))), concurrency)


def load():
    return "load %.1f/%.1f/%.1f" % os.getloadavg()
