"""Inventory plugin at 10,000 phones and 50 ms latency: cold and warm, against the round-trip floor.

Prints, for a fleet of 10,000 phones behind an emulator that waits 50 ms before every answer:

1. the shared client's read of the fleet alone (list_all, in-process) for several page sizes and
   concurrencies, sequential paging (concurrency 1) included: seconds, HTTP requests, and the
   ratios to the round-trip floor RTT x (1 + ceil((pages - 1) / c)) and to sequential paging;
2. ``ansible-inventory --list`` cold (no cache) and warm (jsonfile cache), several runs each: the
   plugin's own parse time (its -vvv line: "read" = the pages, with the per-phone preparation that
   overlaps them, "build" = adding the hosts to the inventory), the whole command's wall time, the
   HTTP requests, and where ansible-inventory spends the rest; then the same cold with
   ``hostvars: full`` (every field as a host variable), and static script inventories printing the
   same hosts, groups and variables (lean and full), ansible-core's own cost for that content;
3. ``--graph`` and ``--list --export`` (what AWX runs) wall times, from the cache;
4. the naive way: an ``ansible.builtin.uri`` loop with one batch-query page per item, measured on a
   few pages and extrapolated linearly to every page (marked ``~``: each item costs the same);
5. what ansible-core itself costs to hold 10,000 hosts (add_host/add_child, and the set_variable
   path the plugin avoids), in-process, as a floor for the build step;
6. a summary against the targets (cold <= 1.5x the floor, warm <= 0.2 s), medians and best runs.

Figures only; nothing here passes or fails. Timings on a shared 2-core machine are noisy: medians.

Run: .venv/bin/python tests/bench/bench_inventory.py [--instances N] [--latency-ms MS] [--repeats N]
     [--uri-sample PAGES]
"""

import argparse
import math
import os
import re
import statistics
import sys
import tempfile
import time

import _bench  # first: it puts the emulator and the collection on sys.path

from ansible_collections.koophone.cloud.plugins.module_utils._client import KooPhoneClient
from koophone_emulator.launcher import start_emulator

PAGE_SIZE = _bench.PAGE_SIZE  # the plugin's default

# ansible-inventory with timers around its stages (parse, per-host variables, JSON output). It wraps
# private CLI methods, which is fine for a measurement and nothing else.
STAGES = r"""
import sys, time
from ansible.cli import inventory as cli
def timed(name, function):
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            print("STAGE %s %.3f" % (name, time.perf_counter() - started), file=sys.stderr)
    return wrapper
cli.InventoryCLI._play_prereqs = timed("parse", cli.InventoryCLI._play_prereqs)
cli.InventoryCLI.json_inventory = timed("host_variables", cli.InventoryCLI.json_inventory)
cli.InventoryCLI.dump = staticmethod(timed("json_output", cli.InventoryCLI.dump))
sys.argv = ["ansible-inventory"] + sys.argv[1:]
cli.main()
"""

# The naive way: one uri task item per batch-query page.
URI_LOOP = """---
- name: Every batch-query page with ansible.builtin.uri
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Read one page per loop item
      ansible.builtin.uri:
        url: "{{ endpoint }}/v1/instances/batch-query?page_no={{ item }}&page_size=%(size)d&x-request-id=n{{ item }}"
        headers:
          X-Auth-Token: demo-token
          x-request-id: "naive{{ item }}"
      loop: "{{ range(1, pages + 1) | list }}"
"""


# The inventory plugin reads its pages 16 at a time by default (its own default; the modules' is 8).
LISTING_CONCURRENCY = 16


def floor_seconds(pages, concurrency, rtt):
    return rtt * (1 + math.ceil((pages - 1) / float(concurrency)))


def count_listing(emulator):
    return len(emulator.log(operation="ListInstances"))


def run_inventory(emulator, config_path, *args, stages=False):
    """One ansible-inventory run: dict of wall seconds, the plugin's figures, stage times and requests."""
    run = _bench.inventory_run(emulator, config_path, *args, program=[sys.executable, "-c", STAGES] if stages else None)
    if run.plugin is None:
        raise SystemExit("no plugin timing line in the -vvv output:\n%s" % run.output[-3000:])
    stage_times = dict(
        (name, float(seconds)) for name, seconds in re.findall(r"^STAGE (\S+) ([\d.]+)$", run.output, re.M)
    )
    return {
        "wall": run.wall,
        "hosts": run.hosts,
        "plugin": run.plugin,
        "read": run.read,
        "build": run.build,
        "stages": stage_times,
        "requests": run.requests["ListInstances"],
        "output": run.output_path,
    }


# -------------------------------------------------------------------- 1. the read alone


def bench_read(emulator, instances, rtt, repeats):
    print("\n== 1. the client's read alone: list_all of %d phones, in-process, RTT %.0f ms" % (instances, rtt * 1000))
    print(
        "%-26s %9s %9s %9s %11s %12s"
        % ("page_size x concurrency", "seconds", "requests", "floor s", "vs floor", "vs serial")
    )
    sequential = None
    for page_size, concurrency, runs in (
        (100, 1, 1),
        (100, 8, repeats),
        (100, 16, repeats),
        (100, 32, repeats),
        (200, 16, repeats),
    ):
        client = KooPhoneClient({"endpoint": emulator.url, "auth_token": "demo-token", "concurrency": concurrency})
        times = []
        for _run in range(runs):
            emulator.clear_log()
            started = time.perf_counter()
            items = client.list_all("ListInstances", {}, page_size, key="instance_id")
            times.append(time.perf_counter() - started)
            assert len(items) == instances, len(items)
        seconds = statistics.median(times)
        pages = int(math.ceil(instances / float(page_size)))
        floor = floor_seconds(pages, concurrency, rtt)
        if concurrency == 1 and page_size == 100:
            sequential = seconds
        default = (page_size, concurrency) == (PAGE_SIZE, LISTING_CONCURRENCY)
        label = "%d x %d%s" % (page_size, concurrency, " (default)" if default else "")
        print(
            "%-26s %9.3f %9d %9.2f %10.2fx %11.1fx"
            % (label, seconds, count_listing(emulator), floor, seconds / floor, sequential / seconds)
        )
    return sequential


# -------------------------------------------------------------------- 2./3. ansible-inventory


def describe(label, run, floor=None):
    line = "%-32s plugin %6.3f s (read %5.3f, build %5.3f) | wall %5.2f s | %3d requests" % (
        label,
        run["plugin"],
        run["read"],
        run["build"],
        run["wall"],
        run["requests"],
    )
    if floor:
        line += " | plugin %.2fx floor" % (run["plugin"] / floor)
    print(line)
    if run["stages"]:
        print(
            "%-32s ansible-inventory itself: parse %.2f s, per-host variables %.2f s, JSON output %.2f s"
            % (
                "",
                run["stages"].get("parse", 0),
                run["stages"].get("host_variables", 0),
                run["stages"].get("json_output", 0),
            )
        )


def bench_ansible_inventory(emulator, instances, rtt, repeats, workdir):
    pages = int(math.ceil(instances / float(PAGE_SIZE)))
    floor = floor_seconds(pages, LISTING_CONCURRENCY, rtt)
    print(
        "\n== 2. ansible-inventory --list, %d phones (page_size %d, concurrency %d: %d pages, floor %.2f s)"
        % (instances, PAGE_SIZE, LISTING_CONCURRENCY, pages, floor)
    )
    plain = _bench.write_config(workdir, "plain.koophone.yml")
    cold = []
    for number in range(repeats):
        cold.append(run_inventory(emulator, plain, "--list", stages=number == 0))
        describe("cold, no cache (run %d)" % (number + 1), cold[-1], floor)

    cached = _bench.write_config(
        workdir,
        "cached.koophone.yml",
        cache=True,
        cache_plugin="ansible.builtin.jsonfile",
        cache_connection=os.path.join(workdir, "cache"),
    )
    full = _bench.write_config(workdir, "full.koophone.yml", hostvars="full")
    cold_full = []
    for number in range(repeats):
        cold_full.append(run_inventory(emulator, full, "--list", stages=number == 0))
        describe("cold, hostvars: full (run %d)" % (number + 1), cold_full[-1], floor)
    for label, runs in (("lean", cold), ("full", cold_full)):
        script = _bench.static_inventory(runs[-1]["output"], workdir, "static-" + label)
        walls = [_bench.static_inventory_run(emulator, script, "--list").wall for _run in range(repeats)]
        print(
            "%-32s wall %5.2f s (median of %d): the plugin's cold --list is %.2fx that"
            % (
                "static inventory, same (%s)" % label,
                statistics.median(walls),
                repeats,
                statistics.median(run["wall"] for run in runs) / statistics.median(walls),
            )
        )
    describe("cold, filling the cache", run_inventory(emulator, cached, "--list"), floor)
    warm = []
    for number in range(repeats):
        warm.append(run_inventory(emulator, cached, "--list", stages=number == 0))
        describe("warm, from the cache (run %d)" % (number + 1), warm[-1])

    print("\n== 3. other outputs (warm cache)")
    describe("--graph", run_inventory(emulator, cached, "--graph"))
    describe("--list --export (what AWX runs)", run_inventory(emulator, cached, "--list", "--export"))
    return cold, warm, floor


# -------------------------------------------------------------------- 5. ansible-core's own floor


def bench_core_floor(instances):
    from ansible._internal._datatag._tags import Origin
    from ansible.inventory.data import InventoryData
    from ansible.inventory.manager import _InventoryDataWrapper
    from ansible.plugins.inventory import BaseInventoryPlugin

    def fresh():
        data = InventoryData()
        data.current_source = "/tmp/fleet.koophone.yml"
        return _InventoryDataWrapper(data, target_plugin=BaseInventoryPlugin(), origin=Origin(description="bench"))

    names = ["kp-%05d" % number for number in range(1, instances + 1)]
    print("\n== 5. ansible-core's own cost for %d hosts (in-process, the same wrapper plugins get)" % instances)
    inventory = fresh()
    groups = [inventory.add_group(name) for name in ("koophone", "region", "sku", "status", "assign")]
    started = time.perf_counter()
    for name in names:
        inventory.add_host(name, group=groups[0])
        for group in groups[1:]:
            inventory.add_child(group, name)
    print("add_host + 4 add_child per host (the public API's cost): %.3f s" % (time.perf_counter() - started))
    inventory = fresh()
    group_objects = [inventory.groups[inventory.add_group(name)] for name in ("koophone", "a", "b", "c", "d")]
    hosts = [inventory.get_host(inventory.add_host(name)) for name in names]
    started = time.perf_counter()
    for host in hosts:
        for group in group_objects:
            group.add_host(host)
    print(
        "Group.add_host x 5 per host alone (what the build step did before it filled new groups in one go): %.3f s"
        % (time.perf_counter() - started)
    )
    started = time.perf_counter()
    for name in names:
        for index in range(30):
            inventory.set_variable(name, "koophone_field_%d" % index, "value")
    print("30 set_variable calls per host (the path the plugin avoids): %.3f s" % (time.perf_counter() - started))


# -------------------------------------------------------------------- 4. the naive way


def run_uri_loop(emulator, workdir, pages):
    """The play runs on the implicit localhost, with no inventory; the endpoint comes as a variable."""
    text = URI_LOOP % {"size": PAGE_SIZE}
    run = _bench.playbook(emulator, workdir, text, {"pages": pages}, name="uri_loop.yml")
    return run.wall, run.requests["ListInstances"]


def bench_naive(emulator, instances, sample, workdir):
    pages = int(math.ceil(instances / float(PAGE_SIZE)))
    print("\n== 4. the naive way: an ansible.builtin.uri loop, one batch-query page per item (%d pages)" % pages)
    one, one_requests = run_uri_loop(emulator, workdir, 1)
    more, more_requests = run_uri_loop(emulator, workdir, 1 + sample)
    per_page = (more - one) / sample
    estimate = one + per_page * (pages - 1)
    print(
        "measured: 1 page %.2f s (%d request), %d pages %.2f s (%d requests)"
        % (one, one_requests, 1 + sample, more, more_requests)
    )
    print(
        "~ every page: %.1f s (%.2f s per loop item, extrapolated linearly to %d pages)" % (estimate, per_page, pages)
    )
    return estimate


# -------------------------------------------------------------------- 6. summary


def summarize(cold, warm, floor, sequential, naive):
    cold_plugin = statistics.median(run["plugin"] for run in cold)
    warm_plugin = statistics.median(run["plugin"] for run in warm)
    print("\n== 6. summary (medians; best run in brackets: the machine is shared and noisy)")
    print(
        "cold: plugin %.3f s [%.3f] = %.2fx [%.2fx] the floor of %.2f s (target <= 1.5x); %.1fx faster than "
        "sequential paging (%.2f s for the read alone); whole ansible-inventory --list %.2f s"
        % (
            cold_plugin,
            min(run["plugin"] for run in cold),
            cold_plugin / floor,
            min(run["plugin"] for run in cold) / floor,
            floor,
            sequential / cold_plugin,
            sequential,
            statistics.median(run["wall"] for run in cold),
        )
    )
    print(
        "warm: plugin %.3f s [%.3f] (target <= 0.2 s), 0 requests; whole ansible-inventory --list %.2f s"
        % (warm_plugin, min(run["plugin"] for run in warm), statistics.median(run["wall"] for run in warm))
    )
    print("naive uri loop: ~%.0f s, ~%.0fx the plugin's cold time" % (naive, naive / cold_plugin))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=10000)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--uri-sample", type=int, default=10, help="pages the uri loop reads beyond the first")
    options = parser.parse_args()
    rtt = options.latency_ms / 1000.0
    print(
        "KooPhone inventory benchmark: %d phones, %d ms latency, %d CPUs"
        % (options.instances, options.latency_ms, os.cpu_count())
    )
    with start_emulator(
        "--instances", options.instances, "--quiet", latency_ms=options.latency_ms, mix=True, timeout=60
    ) as emulator:
        emulator.configure(boot_seconds=86400)  # the fleet holds still while it is measured
        with tempfile.TemporaryDirectory(prefix="koophone-bench-") as workdir:
            sequential = bench_read(emulator, options.instances, rtt, options.repeats)
            cold, warm, floor = bench_ansible_inventory(emulator, options.instances, rtt, options.repeats, workdir)
            naive = bench_naive(emulator, options.instances, options.uri_sample, workdir)
    bench_core_floor(options.instances)
    summarize(cold, warm, floor, sequential, naive)


if __name__ == "__main__":
    main()
