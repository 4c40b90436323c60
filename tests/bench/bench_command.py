"""koophone_command at fleet scale: one module call vs once per host vs a plain uri loop.

Runs the same command (``getprop ro.build.version.release``) on 100 and 1,000 emulator phones with
50 ms injected latency, as whole ``ansible-playbook`` runs, three ways:

1. ``one call``: koophone_command once for all phones (default mode async, waits for the jobs), and
   the same with ``mode: sync``;
2. ``per host``: a play over N inventory hosts (connection local, ``--forks``), koophone_command once
   per host with that host's id, in its quickest form (``mode: sync``: no job to wait for);
3. ``uri loop``: ``ansible.builtin.uri`` POSTing sync-command once per phone, in a loop.

For each it prints the HTTP requests the emulator logged (by operation), the wall time of the whole
``ansible-playbook`` run, and the ratios to the one-call way. The naive ways at 1,000 phones take
minutes (about 0.85 s per phone for the uri loop); unless ``--full`` is given they run on the first
``--sample`` phones and the 1,000-phone figures are extrapolated linearly (marked ``~``): their cost
is per phone, so the per-phone time measured on the sample holds.

First, the poller alone (in-process, 1,000 phones, async jobs that take 0.1 to 5 s: the emulator's
``task_seconds``): how long after the jobs' end the poller sees them, how many task reads it sends
and at what rate, next to when the previous fixed schedule (first read after 0.5 s, then 0.5 s
growing x1.5) would have read.

Figures only; nothing here passes or fails. A shared 2-core machine makes timings noisy.

Run: .venv/bin/python tests/bench/bench_command.py [--sizes 100,1000] [--latency-ms 50] [--forks 10]
     [--sample 100] [--full]
"""

import argparse
import tempfile
import time

import _bench as bench  # first: it puts the emulator and the collection on sys.path

from ansible_collections.koophone.cloud.plugins.module_utils import _tasks as tasks
from ansible_collections.koophone.cloud.plugins.module_utils._client import KooPhoneClient, payload
from koophone_emulator.launcher import start_emulator

COMMAND = "getprop ro.build.version.release"

ONE_CALL = """---
- name: One module call for every phone
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Run the command on all phones
      koophone.cloud.koophone_command:
        instance_ids: "{{ ids }}"
        command: "%(command)s"
        mode: "{{ mode }}"
      register: out

    - name: Every phone answered
      ansible.builtin.assert:
        that:
          - out.results | length == ids | length
          - out.failed_instance_ids == []
        quiet: true
""" % {"command": COMMAND}

PER_HOST = """---
- name: The module once per host
  hosts: phones
  gather_facts: false
  tasks:
    - name: Run the command on this host's phone
      koophone.cloud.koophone_command:
        instance_ids: ["{{ koophone_instance_id }}"]
        command: "%(command)s"
        mode: sync
      register: out

    - name: The phone answered
      ansible.builtin.assert:
        that:
          - not out.results[0].failed
        quiet: true
""" % {"command": COMMAND}

URI_LOOP = """---
- name: A plain uri loop, one sync-command per phone
  hosts: localhost
  gather_facts: false
  tasks:
    - name: POST sync-command for each phone
      ansible.builtin.uri:
        url: "{{ endpoint }}/v1/instances/sync-command"
        method: POST
        body_format: json
        body:
          command: "%(command)s"
          instance_ids: ["{{ item }}"]
        headers:
          X-Auth-Token: "{{ token }}"
          x-request-id: "bench-{{ item }}"
        return_content: true
      loop: "{{ ids }}"
      register: out

    - name: Every phone answered
      ansible.builtin.assert:
        that:
          - out.results | map(attribute='json') | map(attribute='error_code') | unique == ['0']
        quiet: true
""" % {"command": COMMAND}


def play(emulator, workdir, playbook_text, variables, inventory=None, forks=None):
    """Run one playbook; return (wall seconds, requests by operation)."""
    run = bench.playbook(emulator, workdir, playbook_text, variables, inventory=inventory, forks=forks)
    return run.wall, run.requests


class Row:
    def __init__(self, label, seconds, counts, measured_on, size):
        self.label = label
        self.measured_on = measured_on
        scale = float(size) / measured_on
        self.seconds = seconds if measured_on == size else seconds * scale
        self.requests = dict((op, int(round(n * scale))) for op, n in counts.items())
        self.extrapolated = measured_on != size

    def describe(self, baseline):
        mark = "~" if self.extrapolated else " "
        requests = ", ".join("%s %d" % (op, n) for op, n in sorted(self.requests.items()))
        ratio = self.seconds / baseline.seconds
        note = " (from %d phones)" % self.measured_on if self.extrapolated else ""
        return "  %-28s %s%8.1f s  x%-7.1f %6d requests: %s%s" % (
            self.label,
            mark,
            self.seconds,
            ratio,
            sum(self.requests.values()),
            requests,
            note,
        )


def bench_size(emulator, workdir, all_ids, size, options):
    ids = all_ids[:size]
    naive_size = size if options.full else min(size, options.sample)
    rows = []
    seconds, counts = play(emulator, workdir, ONE_CALL, {"ids": ids, "mode": "async"})
    rows.append(Row("one call (async, default)", seconds, counts, size, size))
    seconds, counts = play(emulator, workdir, ONE_CALL, {"ids": ids, "mode": "sync"})
    rows.append(Row("one call (sync)", seconds, counts, size, size))
    inventory = bench.hosts_inventory(workdir, ids[:naive_size])
    seconds, counts = play(emulator, workdir, PER_HOST, {}, inventory=inventory, forks=options.forks)
    rows.append(Row("once per host (forks %d)" % options.forks, seconds, counts, naive_size, size))
    seconds, counts = play(emulator, workdir, URI_LOOP, {"ids": ids[:naive_size]})
    rows.append(Row("uri loop", seconds, counts, naive_size, size))
    return rows


class FixedSchedule:
    """The schedule the poller had before it adapted: first read after 0.5 s, then 0.5 s growing x1.5 to 5 s."""

    def __init__(self):
        self.interval = 0.5

    def start(self):
        return 0.5

    def next_delay(self, _value):
        delay, self.interval = self.interval, min(5.0, self.interval * 1.5)
        return delay


def bench_polling(emulator, ids, repeats=3):
    client = KooPhoneClient({"endpoint": emulator.url, "auth_token": bench.TOKEN, "concurrency": bench.CONCURRENCY})
    tasks_count = -(-len(ids) // 100)
    print("The poller alone: %d phones (%d tasks), async jobs of a given length, in-process" % (len(ids), tasks_count))
    print(
        "  %-6s %9s | %-36s | %-30s"
        % ("job s", "submit s", "adaptive: seen after s, reads, per s", "fixed (before): seen after s, reads")
    )

    def once(seconds, schedule):
        emulator.clear_log()
        started = time.time()
        chunks = client.call_batched(
            "AsyncInvokeInstance", ids, lambda chunk: {"command": COMMAND, "instance_ids": chunk}
        )
        submitted = time.time()
        poller = tasks.TaskPoller(client, [payload(chunk.answer, "cmd_jobs").get("task_id") for chunk in chunks])
        poller.wait(120, schedule=schedule)
        finished = time.time()
        reads = len(emulator.log(operation="ExecuteJob"))
        return submitted - started, finished - started - seconds, reads, reads / (finished - submitted)

    try:
        for seconds in (0.2, 0.7, 1.5, 3.0, 8.0):
            emulator.configure(task_seconds=seconds)
            adaptive = [once(seconds, None) for _run in range(repeats)]
            fixed = [once(seconds, FixedSchedule()) for _run in range(repeats)]
            print(
                "  %-6.1f %9.2f | %12.2f %10d %12.1f | %12.2f %10d"
                % (
                    seconds,
                    bench.median([run[0] for run in adaptive]),
                    bench.median([run[1] for run in adaptive]),
                    bench.median([run[2] for run in adaptive]),
                    bench.median([run[3] for run in adaptive]),
                    bench.median([run[1] for run in fixed]),
                    bench.median([run[2] for run in fixed]),
                )
            )
    finally:
        emulator.configure(task_seconds=0.5)
    print("  (seen after = the end of the wait minus the job's length, counted from the first submit: it includes")
    print("   the submit round trips and the last read round; per s = task reads per second while waiting)\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000")
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--forks", type=int, default=10)
    parser.add_argument("--sample", type=int, default=100, help="phones the naive ways run on when not --full")
    parser.add_argument("--full", action="store_true", help="run the naive ways on every phone (takes minutes)")
    parser.add_argument("--skip-polling", action="store_true", help="leave out the poller-alone section")
    options = parser.parse_args()
    sizes = [int(size) for size in options.sizes.split(",")]

    with start_emulator("--instances", max(sizes), "--quiet", latency_ms=options.latency_ms) as emulator:
        all_ids = [item["instance_id"] for item in emulator.instances()]
        print(
            "koophone_command: %r on N phones, %d ms latency per request, whole ansible-playbook runs"
            % (COMMAND, options.latency_ms)
        )
        print("(ratio = wall time / one call's; ~ = extrapolated per phone from a sample)\n")
        if not options.skip_polling:
            bench_polling(emulator, all_ids[:1000])
        with tempfile.TemporaryDirectory(prefix="bench-command-") as workdir:
            for size in sizes:
                rows = bench_size(emulator, workdir, all_ids, size, options)
                print("N = %d" % size)
                for row in rows:
                    print(row.describe(rows[0]))
                baseline, per_host = rows[0], rows[2]
                print(
                    "  one call vs once per host: %.1fx faster, %d vs %d submit requests (+ %d polls)\n"
                    % (
                        per_host.seconds / baseline.seconds,
                        baseline.requests.get("AsyncInvokeInstance", 0),
                        per_host.requests.get("SyncInvokeInstance", 0),
                        baseline.requests.get("ExecuteJob", 0),
                    )
                )


if __name__ == "__main__":
    main()
