"""Per-host use of a fleet result: one koophone_command for 5,000 inventory hosts, then each host its own entry.

A play over N inventory hosts (a static inventory file, each host with ``koophone_instance_id``) runs
koophone_command once (``run_once``, ``delegate_to: localhost``) on the emulator's N phones, then gives
every host its own result in a ``set_fact``, several ways, side by side in the same ``ansible-playbook``
run (a callback plugin times each task):

(b) a trivial per-host ``set_fact`` (the host's own id): the floor, what any per-host task costs;
(a) the documented pattern: ``lookup('koophone.cloud.result_for', koophone_instance_id,
    register='fleet_release')``, which reads one entry of ``results_by_instance_id`` as stored;
(c) indexing the registered result in a template, ``fleet_release.results_by_instance_id[...]``: on
    ansible-core 2.19 every container a template reaches is wrapped item by item, so this is O(N) per
    host even though it is a dict lookup.

They run in the order b, a, c, a, b and each way's figure is the mean of its runs: the two (b) and the
two (a) runs are placed symmetrically in time, so a load that drifts during the run (a shared machine)
weighs on both alike. The ratio a/b is the figure the target (<= 2) is about.

Then the old documented pattern, a dict built per host from the results
(``dict(results | map(attribute='instance_id') | zip(results))``), on a smaller play (``--old-size``
hosts) next to (b) and (a), and its cost at N hosts, extrapolated (marked ``~``): each host's extra
cost at the small size, times the growth of that per-host cost from the small result to an N-phone
result measured in-process (about N / old-size: it is linear per host), times N hosts.

Last, the per-host templating cost alone, in-process (no fork, no strategy: what each way adds to a
host's CPU time), for results of 500, 5,000 and 50,000 phones: constant for (a), linear for (c) and
the old pattern.

Figures only; nothing here passes or fails. A shared 2-core machine makes timings noisy.

Run: .venv/bin/python tests/bench/bench_fanout.py [--hosts 5000] [--old-size 500] [--forks 5]
     [--skip-index] [--skip-old]
"""

import argparse
import json
import os
import subprocess
import tempfile
import time

import _bench as bench  # first: it puts the emulator and the collection on sys.path

from koophone_emulator.launcher import start_emulator

# The floor and each way, as task names the timer reports under.
FLEET = "koophone_command, run_once"
TRIVIAL = "(b) trivial set_fact"
LOOKUP = "(a) documented: lookup result_for"
INDEXED = "(c) template: results_by_instance_id[id]"
OLD = "old: dict(results|map|zip) per host"
CHECK = "check every host's fact"

FLEET_TASK = """
    - name: "%(name)s"
      koophone.cloud.koophone_command:
        instance_ids: "{{ ansible_play_hosts | map('extract', hostvars, 'koophone_instance_id') | list }}"
        command: getprop ro.serialno
        fail_on_error: false
      run_once: true
      delegate_to: localhost
      register: fleet_release
""" % {"name": FLEET}

TRIVIAL_TASK = """
    - name: "%s"
      ansible.builtin.set_fact:
        trivial_serial: "{{ koophone_instance_id }}"
        trivial_failed: false
"""

LOOKUP_TASK = (
    """
    - name: "%s"
      ansible.builtin.set_fact:
        phone_serial: "{{ mine.stdout }}"
        phone_failed: "{{ mine.failed }}"
      vars:
        mine: "{{ lookup('koophone.cloud.result_for', koophone_instance_id, register='fleet_release') }}"
"""
    % LOOKUP
)

INDEXED_TASK = (
    """
    - name: "%s"
      ansible.builtin.set_fact:
        indexed_serial: "{{ mine.stdout }}"
        indexed_failed: "{{ mine.failed }}"
      vars:
        mine: "{{ fleet_release.results_by_instance_id[koophone_instance_id] }}"
"""
    % INDEXED
)

OLD_TASK = (
    """
    - name: "%s"
      ansible.builtin.set_fact:
        old_serial: "{{ mine.stdout }}"
        old_failed: "{{ mine.failed }}"
      vars:
        by_id: "{{ dict(fleet_release.results | map(attribute='instance_id') | zip(fleet_release.results)) }}"
        mine: "{{ by_id[koophone_instance_id] }}"
"""
    % OLD
)

CHECK_TASK = """
    - name: "%(name)s"
      ansible.builtin.assert:
        that:
          - fleet_release.failed_instance_ids == []
          - ansible_play_hosts | map('extract', hostvars, '%(fact)s') | list == ids
      vars:
        ids: "{{ ansible_play_hosts | map('extract', hostvars, 'koophone_instance_id') | list }}"
      run_once: true
"""

# Times every task: the seconds from its start to the next task's start (the last: to the end).
TIMER = """
import json, os, time
from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bench_timer"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self.marks = []

    def v2_playbook_on_task_start(self, task, is_conditional):
        self.marks.append((task.get_name(), time.perf_counter()))

    def v2_playbook_on_stats(self, stats):
        self.marks.append((None, time.perf_counter()))
        spans = [(name, self.marks[n + 1][1] - started) for n, (name, started) in enumerate(self.marks[:-1])]
        with open(os.environ["BENCH_TIMER_FILE"], "w") as handle:
            json.dump(spans, handle)
"""


def playbook(tasks):
    return "---\n- name: Per-host use of one fleet result\n  hosts: phones\n  gather_facts: false\n  tasks:" + "".join(
        tasks
    )


def write_inventory(workdir, ids):
    return bench.hosts_inventory(workdir, ids, name="phones-%d.yml" % len(ids))


def play(emulator, workdir, text, inventory, forks):
    """Run one playbook (the timer callback on: workdir/callback_plugins); return ({task name: [seconds, ...]},
    wall seconds)."""
    timer_file = os.path.join(workdir, "timer.json")
    timer = dict(ANSIBLE_CALLBACKS_ENABLED="bench_timer", BENCH_TIMER_FILE=timer_file)
    wall = bench.playbook(emulator, workdir, text, inventory=inventory, forks=forks, env=timer).wall
    with open(timer_file) as handle:
        spans = json.load(handle)
    timings = {}
    for name, seconds in spans:
        timings.setdefault(name, []).append(seconds)
    return timings, wall


def row(label, hosts, seconds, floor=None, mark=" ", note=""):
    per_host = "%8.2f" % (seconds * 1000.0 / hosts) if hosts > 1 else "%8s" % "-"
    ratio = "x%.2f" % (seconds / floor) if floor else ""
    return ("  %-42s %6d %s%9.1f s %s ms  %-6s %s" % (label, hosts, mark, seconds, per_host, ratio, note)).rstrip()


# -------------------------------------------------------------------- in-process templating cost


def templating_costs(sizes):
    """Milliseconds per host that each way's template costs, in-process, for results of ``sizes`` phones."""
    from ansible.parsing.dataloader import DataLoader
    from ansible.plugins.loader import init_plugin_loader
    from ansible.template import Templar, trust_as_template

    init_plugin_loader([bench.COLLECTIONS_ROOT])
    ways = [
        ("(b) trivial", "{{ koophone_instance_id }}", lambda size: 200),
        (
            LOOKUP,
            "{{ lookup('koophone.cloud.result_for', koophone_instance_id, register='fleet_release').stdout }}",
            lambda size: 200,
        ),
        (
            INDEXED,
            "{{ fleet_release.results_by_instance_id[koophone_instance_id].stdout }}",
            lambda size: max(3, 100000 // size),
        ),
        (
            OLD,
            "{{ dict(fleet_release.results | map(attribute='instance_id') | zip(fleet_release.results))"
            "[koophone_instance_id].stdout }}",
            lambda size: 10 if size <= 500 else 3,
        ),
    ]
    table = {}
    for size in sizes:
        entries = [
            {
                "instance_id": "id%06d" % n,
                "stdout": "id%06d" % n,
                "stdout_lines": ["id%06d" % n],
                "failed": False,
                "status": 2,
                "status_name": "succeeded",
                "error_code": "",
                "error_msg": "",
                "job_id": "job%06d" % n,
                "task_id": "task%04d" % (n // 100),
            }
            for n in range(size)
        ]
        result = {"results": entries, "results_by_instance_id": dict((e["instance_id"], e) for e in entries)}
        templar = Templar(loader=DataLoader(), variables={})
        for label, expression, count in ways:
            if label == OLD and size > 5000:
                table[(label, size)] = None  # minutes per host
                continue
            template = trust_as_template(expression)

            def render(n, template=template, size=size, templar=templar, result=result):  # pylint: disable=dangerous-default-value
                instance_id = "id%06d" % ((n * 7919) % size)
                templar.available_variables = {"fleet_release": result, "koophone_instance_id": instance_id}
                assert templar.template(template) == instance_id

            render(1)  # compile the template, load the plugin
            repeats = count(size)
            started = time.perf_counter()
            for n in range(repeats):
                render(n)
            table[(label, size)] = (time.perf_counter() - started) * 1000.0 / repeats
    return ways, table


def mean(values):
    return sum(values) / float(len(values))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=5000)
    parser.add_argument("--old-size", type=int, default=500, help="play size the old per-host dict pattern runs on")
    parser.add_argument("--forks", type=int, default=5, help="ansible-playbook --forks (5 is Ansible's default)")
    parser.add_argument("--skip-index", action="store_true", help="leave out (c)")
    parser.add_argument("--skip-old", action="store_true", help="leave out the old pattern")
    options = parser.parse_args()
    hosts, old_size = options.hosts, (None if options.skip_old else options.old_size)
    version = subprocess.run(
        [os.path.join(bench.BIN, "ansible"), "--version"], capture_output=True, text=True, check=False
    ).stdout.splitlines()[0]
    sizes = sorted({500, 5000, 50000, hosts} | ({old_size} if old_size else set()))
    ways, costs = templating_costs(sizes)

    print(
        "Per-host use of one fleet result: %d inventory hosts, %s, --forks %d, %d CPUs"
        % (hosts, version, options.forks, os.cpu_count() or 0)
    )
    print("(whole ansible-playbook runs, each task timed by a callback; ratios against (b) of the same play)\n")
    with start_emulator("--instances", max([hosts, old_size or 0]), "--quiet") as emulator:
        all_ids = [item["instance_id"] for item in emulator.instances()]
        with tempfile.TemporaryDirectory(prefix="bench-fanout-") as workdir:
            os.makedirs(os.path.join(workdir, "callback_plugins"))
            with open(os.path.join(workdir, "callback_plugins", "bench_timer.py"), "w") as handle:
                handle.write(TIMER)

            middle = [] if options.skip_index else [INDEXED_TASK]
            tasks = [FLEET_TASK, TRIVIAL_TASK % TRIVIAL, LOOKUP_TASK] + middle + [LOOKUP_TASK, TRIVIAL_TASK % TRIVIAL]
            tasks.append(CHECK_TASK % {"name": CHECK, "fact": "phone_serial"})
            inventory = write_inventory(workdir, all_ids[:hosts])
            timings, wall = play(emulator, workdir, playbook(tasks), inventory, options.forks)
            floor = mean(timings[TRIVIAL])
            print(
                "N = %d hosts (ansible-playbook wall time %.1f s; run order b, a, %sa, b)"
                % (hosts, wall, "" if options.skip_index else "c, ")
            )
            print("  %-42s %6s %11s %11s  %s" % ("task", "hosts", "seconds", "per host", "vs (b)  runs"))
            print(row(FLEET + " (%d phones)" % hosts, 1, timings[FLEET][0]))
            for name in (TRIVIAL, LOOKUP, INDEXED):
                if name in timings:
                    runs = timings[name]
                    note = "" if len(runs) == 1 else "mean of %s s" % " and ".join("%.1f" % t for t in runs)
                    print(row(name, hosts, mean(runs), floor, note=note))
            print(row(CHECK + " (run_once)", 1, timings[CHECK][0]))
            print(
                "  => documented pattern (a) / trivial set_fact (b): %.2f (target <= 2)\n"
                % (mean(timings[LOOKUP]) / floor)
            )

            if old_size:
                inventory = write_inventory(workdir, all_ids[:old_size])
                tasks = [FLEET_TASK, TRIVIAL_TASK % TRIVIAL, OLD_TASK, LOOKUP_TASK]
                tasks.append(CHECK_TASK % {"name": CHECK, "fact": "old_serial"})
                small, _wall = play(emulator, workdir, playbook(tasks), inventory, options.forks)
                small_floor = small[TRIVIAL][0]
                print("N = %d hosts, the old pattern" % old_size)
                print(row(TRIVIAL, old_size, small_floor, small_floor))
                print(row(OLD, old_size, small[OLD][0], small_floor))
                print(row(LOOKUP, old_size, small[LOOKUP][0], small_floor))
                extra_per_host = max(small[OLD][0] - small_floor, 0.0) / old_size
                growth = costs[(OLD, hosts)] / costs[(OLD, old_size)] if costs.get((OLD, hosts)) else None
                if growth is None:  # too large to measure in-process: linear per host
                    growth = float(hosts) / old_size
                estimate = floor + extra_per_host * growth * hosts
                print(row(OLD, hosts, estimate, floor, mark="~"))
                print(
                    "  => %.1f ms per host above (b) at %d hosts, x%.1f per host for a %d-phone result"
                    " (in-process, below),\n     over %d hosts: ~%.0f s (~%.0f min), %.0fx the documented pattern\n"
                    % (
                        extra_per_host * 1000,
                        old_size,
                        growth,
                        hosts,
                        hosts,
                        estimate,
                        estimate / 60.0,
                        estimate / mean(timings[LOOKUP]),
                    )
                )

    print("Per-host templating cost alone, in-process (ms of CPU per host), by the size of the result:")
    print("  %-42s %s" % ("way", "".join("%15s" % ("%d phones" % size) for size in sizes)))
    for label, _expression, _count in ways:
        cells = "".join(
            "%15s" % ("-" if costs[(label, size)] is None else "%.3f" % costs[(label, size)]) for size in sizes
        )
        print("  %-42s %s" % (label, cells))
    print("  (-: not measured, it would take minutes per host)")


if __name__ == "__main__":
    main()
