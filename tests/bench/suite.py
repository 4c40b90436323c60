"""`make bench`: one table of the collection against its floors and the naive ways, and a chart.

For fleets of 100, 1,000 and 10,000 phones (and 50,000 for the inventory, koophone_instance_info
and koophone_command) behind the bundled emulator with 50 ms latency before every answer, it runs
whole ``ansible-inventory`` / ``ansible-playbook`` commands and prints, per operation and size:

- requests: the HTTP requests the emulator logged;
- wall: the whole command, start-up included (median of the repeats);
- own: what the collection adds: the inventory plugin's own parse time (its -vvv line), or for a
  playbook its wall time minus an empty play's measured in the same run;
- RSS: peak resident memory of the largest process of the command's tree (the controller, a
  worker or the module), from wait4;
- floor: the API round trips alone at ``concurrency`` 8, the modules' default (16 for the
  inventory, its own default; pages or chunks of 100; for jobs the
  emulator's job time too: --task-seconds 0.5, --boot-seconds 1.0), and own / floor;
- base: an empty play, or a static script inventory printing the same hosts, groups and variables
  (ansible-core's own cost for that content), and wall / base;
- naive: an ``ansible.builtin.uri`` loop (one request per page or per phone and step) and the
  module once per host (``--forks 10``): measured on a small sample twice (so start-up cancels
  out: per item = (T(b) - T(a)) / (b - a)) and extrapolated per item to the size (``~``), and
  their ratio to the collection's wall time.

Then the targets (met, or the distance), the per-phone cost from 1,000 to 50,000 phones, and a
chart of wall time against fleet size written to docs/bench.png (matplotlib, pinned in
tests/requirements/tools-2.19.txt). Figures only: nothing passes or fails, and no timing is
asserted anywhere. The machine's load average is printed: on a shared 2-core machine every
figure moves with it, the ratios much less.

Run:  .venv/bin/python tests/bench/suite.py [--quick] [--sizes 100,1000,10000,50000]
      [--repeats N] [--latency-ms 50] [--sample A,B] [--json PATH] [--chart PATH] [--replot JSON]
      make bench                 # the full run, ~20-25 minutes on a quiet 2-core machine
      make bench QUICK=1         # 100 and 1,000 phones, one run each, small samples (~3 minutes)
      make bench BENCH_SIZES=100,1000,10000
"""

import argparse
import json
import math
import os
import tempfile
import time

import _bench as bench  # first: it puts the emulator and the collection on sys.path

from koophone_emulator.launcher import start_emulator

COMMAND = "getprop ro.build.version.release"
TASK_SECONDS, BOOT_SECONDS = 0.5, 1.0  # the emulator's defaults: how long async jobs and a boot take
AT_50K = ("inventory cold", "inventory warm", "instance_info", "command async", "command sync")
FORKS = 10

EMPTY = """---
- name: An empty play
  hosts: localhost
  gather_facts: false
  tasks: []
"""

INFO = """---
- name: Every phone through koophone_instance_info
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Read the fleet
      koophone.cloud.koophone_instance_info:
      register: out
    - name: All of it
      ansible.builtin.assert:
        that: out.instances | length == expected
        quiet: true
"""

COMMAND_PLAY = (
    """---
- name: One command on every phone
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Run it
      koophone.cloud.koophone_command:
        instance_ids: "{{ ids }}"
        command: "%s"
        mode: "{{ mode }}"
      register: out
    - name: Every phone answered
      ansible.builtin.assert:
        that: out.results | length == ids | length and out.failed_instance_ids == []
        quiet: true
"""
    % COMMAND
)

APP = """---
- name: One app on every phone
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Install it
      koophone.cloud.koophone_app:
        instance_ids: "{{ ids }}"
        name: com.example.bench
        version: "{{ version }}"
        url: https://bucket.obs.cn-north-4.myhuaweicloud.com/bench.apk
        size_mb: 10
        md5: 0cc175b9c0f1b6a831c399e269772661
      register: out
    - name: Installed everywhere
      ansible.builtin.assert:
        that: out.changed_instance_ids | length == ids | length
        quiet: true
"""

REBOOT = """---
- name: Restart every phone and wait until it runs again
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Restart and wait
      koophone.cloud.koophone_instance:
        state: restarted
        instance_ids: "{{ ids }}"
        wait: true
"""

# ---------------------------------------------------------------- the naive ways

URI_PAGES = """---
- name: Every batch-query page with ansible.builtin.uri
  hosts: localhost
  gather_facts: false
  tasks:
    - name: One page per loop item
      ansible.builtin.uri:
        url: "{{ endpoint }}/v1/instances/batch-query?page_no={{ item }}&page_size=100"
        headers:
          X-Auth-Token: "{{ token }}"
          x-request-id: "naive-{{ item }}"
      loop: "{{ range(1, items + 1) | list }}"
"""

URI_COMMAND = (
    """---
- name: sync-command once per phone with ansible.builtin.uri
  hosts: localhost
  gather_facts: false
  tasks:
    - name: One phone per loop item
      ansible.builtin.uri:
        url: "{{ endpoint }}/v1/instances/sync-command"
        method: POST
        body_format: json
        body: {command: "%s", instance_ids: ["{{ item }}"]}
        headers: {X-Auth-Token: "{{ token }}", x-request-id: "naive-{{ item }}"}
      loop: "{{ ids }}"
"""
    % COMMAND
)

URI_APP = """---
- name: App list, then install, once per phone with ansible.builtin.uri
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Read each phone's apps
      ansible.builtin.uri:
        url: "{{ endpoint }}/v1/instances/{{ item }}/app-list?page_no=1&page_size=100&app_type=2"
        headers: {X-Auth-Token: "{{ token }}", x-request-id: "naive-list-{{ item }}"}
      loop: "{{ ids }}"
    - name: Install on each phone
      ansible.builtin.uri:
        url: "{{ endpoint }}/v1/instances/app/install"
        method: POST
        body_format: json
        body:
          instance_id_list: ["{{ item }}"]
          fast_install: "0"
          object_name: com.example.bench
          file_name: bench.apk
          object_version: "{{ version }}"
          object_size: "10"
          biz_type: apk
          content_type: application/octet-stream
          content_md5: 0cc175b9c0f1b6a831c399e269772661
          install_package_url: https://bucket.obs.cn-north-4.myhuaweicloud.com/bench.apk
        headers: {X-Auth-Token: "{{ token }}", x-request-id: "naive-install-{{ item }}-{{ version }}"}
      loop: "{{ ids }}"
"""

URI_REBOOT = """---
- name: Reboot, then read until running, once per phone with ansible.builtin.uri
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Reboot each phone
      ansible.builtin.uri:
        url: "{{ endpoint }}/v1/instances/reboot"
        method: POST
        body_format: json
        body: {instance_ids: ["{{ item }}"]}
        headers: {X-Auth-Token: "{{ token }}", x-request-id: "naive-reboot-{{ item }}"}
      loop: "{{ ids }}"
    - name: Read each phone until it runs
      ansible.builtin.uri:
        url: "{{ endpoint }}/v1/instances/batch-query?instance_id={{ item }}&page_no=1&page_size=1"
        headers: {X-Auth-Token: "{{ token }}", x-request-id: "naive-read-{{ item }}"}
      register: read
      until: read.json.data.result[0].running_status == 2
      retries: 60
      delay: 0.5
      loop: "{{ ids }}"
"""

PER_HOST = {
    "instance_info": """---
- name: koophone_instance_info once per host
  hosts: phones
  gather_facts: false
  tasks:
    - name: This host's phone
      koophone.cloud.koophone_instance_info:
        instance_ids: ["{{ koophone_instance_id }}"]
""",
    "command": """---
- name: koophone_command once per host
  hosts: phones
  gather_facts: false
  tasks:
    - name: This host's phone
      koophone.cloud.koophone_command:
        instance_ids: ["{{ koophone_instance_id }}"]
        command: "%s"
        mode: sync
"""
    % COMMAND,
    "app": """---
- name: koophone_app once per host
  hosts: phones
  gather_facts: false
  tasks:
    - name: This host's phone
      koophone.cloud.koophone_app:
        instance_ids: ["{{ koophone_instance_id }}"]
        name: com.example.bench
        version: "{{ version }}"
        url: https://bucket.obs.cn-north-4.myhuaweicloud.com/bench.apk
        size_mb: 10
        md5: 0cc175b9c0f1b6a831c399e269772661
""",
    "reboot": """---
- name: koophone_instance restarted once per host
  hosts: phones
  gather_facts: false
  tasks:
    - name: This host's phone
      koophone.cloud.koophone_instance:
        state: restarted
        instance_ids: ["{{ koophone_instance_id }}"]
""",
}


def naive_cost(label, run, small, large):
    """``run(n) -> seconds`` at n = small and large items: (seconds at small, per item)."""
    at_small, at_large = run(small), run(large)
    per_item = max(0.0, (at_large - at_small) / float(large - small))
    print(
        "  naive %-30s %3d items %6.1f s, %3d items %6.1f s -> %.3f s per item"
        % (label, small, at_small, large, at_large, per_item),
        flush=True,
    )
    return {"label": label, "small": small, "at_small": at_small, "per_item": per_item}


def naive_estimate(naive, items):
    if naive is None:
        return None
    return naive["at_small"] + naive["per_item"] * max(0, items - naive["small"])


# ---------------------------------------------------------------- measuring


class Suite:
    def __init__(self, emulator, workdir, options):
        self.emulator, self.workdir, self.options = emulator, workdir, options
        self.rtt = options.latency_ms / 1000.0
        self.rows = []  # dicts, see row()
        self.naive = {}

    def repeats(self, size):
        if self.options.repeats:
            return self.options.repeats
        return 3 if size <= 1000 else 2 if size <= 10000 else 1

    def row(self, operation, size, runs, floor=None, base=None, base_label=None, own=None, naive=(None, None), note=""):
        wall = bench.median(run.wall for run in runs)
        if own is None:
            own = wall - base if base is not None else None
        uri, per_host = naive
        entry = {
            "operation": operation,
            "phones": size,
            "runs": len(runs),
            "requests": int(bench.median(run.request_count for run in runs)),
            "wall": wall,
            "cpu": bench.median(run.cpu for run in runs),
            "own": own,
            "rss_mb": max(run.rss_mb for run in runs),
            "floor": floor,
            "base": base,
            "base_label": base_label,
            "naive_uri": naive_estimate(uri, self.items(operation, size)) if uri else None,
            "naive_host": naive_estimate(per_host, size) if per_host else None,
            "note": note,
        }
        self.rows.append(entry)
        print(
            "  %-26s %6d phones: wall %7.2f s%s, CPU %6.2f s, %5d requests, RSS %5.0f MB"
            % (
                operation,
                size,
                wall,
                "" if own is None else " (own %.2f s)" % own,
                entry["cpu"],
                entry["requests"],
                entry["rss_mb"],
            ),
            flush=True,
        )
        return entry

    @staticmethod
    def items(operation, size):
        """Loop items the naive uri way needs for ``size`` phones."""
        if operation.startswith("inventory") or operation == "instance_info":
            return int(math.ceil(size / float(bench.PAGE_SIZE)))
        if operation.startswith("app"):
            return 2 * size
        if operation.startswith("instance wait"):
            return 2 * size
        return size

    def play(self, text, variables=None, **kwargs):
        return bench.playbook(self.emulator, self.workdir, text, variables, **kwargs)

    def ids(self):
        return [item["instance_id"] for item in self.emulator.instances()]

    # ------------------------------------------------------------ the naive ways, once

    def measure_naive(self):
        small, large = self.options.sample
        # Hosts run FORKS at a time: the per-host samples are whole batches of FORKS hosts.
        hosts_small, hosts_large = FORKS, (2 if self.options.quick else 3) * FORKS
        print(
            "\n== the naive ways, on samples of %d and %d items (per host: %d and %d hosts) (%s)"
            % (small, large, hosts_small, hosts_large, bench.load()),
            flush=True,
        )
        self.emulator.reset(instances=max(2000, 100 * (large + 1), 3 * FORKS), seed=3, mix=False)
        ids = self.ids()
        versions = iter(range(1, 1000))

        def uri(text, extra=None, per_item_ids=True):
            def run(count):
                variables = {"ids": ids[:count]} if per_item_ids else {"items": count}
                variables.update(extra() if callable(extra) else extra or {})
                return self.play(text, variables).wall

            return run

        def per_host(text, extra=None):
            def run(count):
                inventory = bench.hosts_inventory(self.workdir, ids[:count])
                variables = extra() if callable(extra) else extra or {}
                return self.play(text, variables, inventory=inventory, forks=FORKS).wall

            return run

        def version():
            return {"version": "9.%d" % next(versions)}

        self.naive["pages"] = naive_cost(
            "uri: one page per item", uri(URI_PAGES, per_item_ids=False), 1, 1 + large // 2
        )
        self.naive["command uri"] = naive_cost("uri: sync-command per phone", uri(URI_COMMAND), small, large)
        self.naive["command host"] = naive_cost(
            "koophone_command per host", per_host(PER_HOST["command"]), hosts_small, hosts_large
        )
        self.naive["info host"] = naive_cost(
            "koophone_instance_info per host", per_host(PER_HOST["instance_info"]), hosts_small, hosts_large
        )
        self.naive["app uri"] = naive_cost("uri: app list + install per phone", uri(URI_APP, version), small, large)
        self.naive["app host"] = naive_cost(
            "koophone_app per host", per_host(PER_HOST["app"], version), hosts_small, hosts_large
        )
        self.naive["reboot uri"] = naive_cost("uri: reboot + read per phone", uri(URI_REBOOT), small, large)
        self.naive["reboot host"] = naive_cost(
            "koophone_instance restarted per host", per_host(PER_HOST["reboot"]), hosts_small, hosts_large
        )
        # The uri ways count loop items: two per phone for app (list + install) and reboot (reboot + read).
        for key in ("app uri", "reboot uri"):
            self.naive[key]["per_item"] /= 2.0
            self.naive[key]["small"] *= 2

    # ------------------------------------------------------------ one fleet size

    def empty(self, size):
        runs = [self.play(EMPTY) for _run in range(self.repeats(min(size, 1000)))]
        wall = bench.median(run.wall for run in runs)
        self.row("empty play", size, runs)
        return wall

    def inventory(self, size, repeats):
        emulator = self.emulator
        emulator.reset(instances=size, seed=1, mix=True)
        emulator.configure(boot_seconds=86400)  # the fleet holds still while it is read
        try:
            floor = bench.listing_floor(size, self.rtt, bench.LISTING_CONCURRENCY)
            naive = (self.naive.get("pages"), None)
            lean = bench.write_config(self.workdir, "lean.koophone.yml")
            cold = [bench.inventory_run(emulator, lean, "--list") for _run in range(repeats)]
            full_config = bench.write_config(self.workdir, "full.koophone.yml", hostvars="full")
            cache = os.path.join(self.workdir, "cache-%d" % size)
            cached = bench.write_config(
                self.workdir,
                "cached.koophone.yml",
                cache=True,
                cache_plugin="ansible.builtin.jsonfile",
                cache_connection=cache,
            )
            bench.inventory_run(emulator, cached, "--list")  # fills the cache
            warm = [bench.inventory_run(emulator, cached, "--list") for _run in range(repeats)]
            static = bench.static_inventory(cold[-1].output_path, self.workdir, "static-lean")
            static_runs = [bench.static_inventory_run(emulator, static, "--list") for _run in range(repeats)]
            static_wall = bench.median(run.wall for run in static_runs)
            self.row("inventory static (lean)", size, static_runs, note="ansible-core alone, same content")
            self.row(
                "inventory cold", size, cold, floor, static_wall, "static", bench.median(r.plugin for r in cold), naive
            )
            self.row(
                "inventory warm", size, warm, None, static_wall, "static", bench.median(r.plugin for r in warm), naive
            )
            if size <= 10000:
                full = [bench.inventory_run(emulator, full_config, "--list") for _run in range(max(1, repeats - 1))]
                static_full = bench.static_inventory(full[-1].output_path, self.workdir, "static-full")
                static_full_runs = [bench.static_inventory_run(emulator, static_full, "--list")]
                static_full_wall = bench.median(run.wall for run in static_full_runs)
                self.row("inventory static (full)", size, static_full_runs, note="ansible-core alone, same content")
                self.row(
                    "inventory cold, full",
                    size,
                    full,
                    floor,
                    static_full_wall,
                    "static",
                    bench.median(r.plugin for r in full),
                    naive,
                    note="hostvars: full",
                )
        finally:
            emulator.configure(boot_seconds=BOOT_SECONDS)

    def playbooks(self, size, repeats, empty):
        emulator = self.emulator
        emulator.reset(instances=size, seed=1, mix=False)
        ids = self.ids()
        rtt = self.rtt
        runs = [self.play(INFO, {"expected": size}) for _run in range(repeats)]
        self.row(
            "instance_info",
            size,
            runs,
            bench.listing_floor(size, rtt),
            empty,
            "empty play",
            naive=(self.naive.get("pages"), self.naive.get("info host")),
        )
        command_naive = (self.naive.get("command uri"), self.naive.get("command host"))
        runs = [self.play(COMMAND_PLAY, {"ids": ids, "mode": "async"}) for _run in range(repeats)]
        floor = 2 * bench.batch_floor(size, rtt) + TASK_SECONDS  # submit, the job, one read of each task
        self.row("command async", size, runs, floor, empty, "empty play", naive=command_naive)
        runs = [self.play(COMMAND_PLAY, {"ids": ids, "mode": "sync"}) for _run in range(repeats)]
        self.row("command sync", size, runs, bench.batch_floor(size, rtt), empty, "empty play", naive=command_naive)
        if size > 10000:
            return
        app_repeats = repeats if size <= 1000 else 1
        runs = [self.play(APP, {"ids": ids, "version": "1.%d" % number}) for number in range(app_repeats)]
        # Every phone's app list (the idempotency check), the install chunks, the job, one read of each task.
        floor = rtt * bench.waves(size) + 2 * bench.batch_floor(size, rtt) + TASK_SECONDS
        self.row(
            "app install",
            size,
            runs,
            floor,
            empty,
            "empty play",
            naive=(self.naive.get("app uri"), self.naive.get("app host")),
        )
        runs = [self.play(REBOOT, {"ids": ids}) for _run in range(repeats)]
        read = rtt * bench.waves(size) if size <= 10 else bench.listing_floor(size, rtt)
        floor = bench.batch_floor(size, rtt) + BOOT_SECONDS + read  # reboot, the boot, one read of the state
        self.row(
            "instance wait (reboot)",
            size,
            runs,
            floor,
            empty,
            "empty play",
            naive=(self.naive.get("reboot uri"), self.naive.get("reboot host")),
        )

    def size(self, size):
        repeats = self.repeats(size)
        print("\n== %d phones, %d run(s) each (%s)" % (size, repeats, bench.load()), flush=True)
        empty = self.empty(size)
        self.inventory(size, repeats)
        self.playbooks(size, repeats, empty)


# ---------------------------------------------------------------- reporting


def number(value, digits=2, width=7):
    return ("%*.*f" % (width, digits, value)) if value is not None else "%*s" % (width, "-")


def ratio(numerator, denominator, width=6):
    if numerator is None or not denominator:
        return "%*s" % (width, "-")
    return "%*.2fx" % (width - 1, numerator / denominator)


def table(rows, naive):
    header = "%-26s %6s %8s %8s %7s %8s %7s %7s %7s %7s %7s %9s %9s %9s %9s" % (
        "operation",
        "phones",
        "requests",
        "wall s",
        "CPU s",
        "own s",
        "RSS MB",
        "floor s",
        "own/fl",
        "base s",
        "wall/bs",
        "~uri s",
        "uri/wall",
        "~host s",
        "host/wl",
    )
    lines = [header, "-" * len(header)]
    for row in rows:
        lines.append(
            "%-26s %6d %8d %8s %7s %8s %7.0f %7s %7s %7s %7s %9s %9s %9s %9s"
            % (
                row["operation"],
                row["phones"],
                row["requests"],
                number(row["wall"], 2, 8),
                number(row.get("cpu"), 2, 7),
                number(row["own"], 2, 8),
                row["rss_mb"],
                number(row["floor"], 2, 7),
                ratio(row["own"], row["floor"], 7),
                number(row["base"], 2, 7),
                ratio(row["wall"], row["base"], 7),
                number(row["naive_uri"], 1, 9),
                ratio(row["naive_uri"], row["wall"], 9),
                number(row["naive_host"], 1, 9),
                ratio(row["naive_host"], row["wall"], 9),
            )
        )
    lines.append("")
    lines.append(
        "CPU = user + system seconds of the whole process tree (moves less with the machine's load than wall); "
        "own = the plugin's parse time (inventory) or wall - empty play (playbooks);"
    )
    lines.append(
        "floor = API round trips at concurrency 8, inventory 16 (+ job 0.5 s / boot 1.0 s); base = empty play, "
        "or a static script inventory of the same"
    )
    lines.append(
        "content; ~ = the naive ways, extrapolated per item from two sample sizes (start-up cancelled out; below): "
        "uri = one ansible.builtin.uri loop item per page, or per phone and step; host = the module once per host, "
        "--forks %d." % FORKS
    )
    for key in sorted(naive):
        entry = naive[key]
        lines.append(
            "  naive %-40s %.3f s per item (%.1f s at %d items, measured)"
            % (entry["label"], entry["per_item"], entry["at_small"], entry["small"])
        )
    return "\n".join(lines)


def find(rows, operation, size):
    for row in rows:
        if row["operation"] == operation and row["phones"] == size:
            return row
    return None


def targets(rows):
    lines = [
        "",
        "== targets (medians of this run; the machine's load moves the absolute figures, CPU seconds much less)",
    ]

    def line(met, text):
        lines.append("  [%s] %s" % ("met" if met else "NOT MET", text))

    def over(value, limit, unit="s"):
        return "" if value <= limit else ", %.2f %s over" % (value - limit, unit)

    cold, warm = find(rows, "inventory cold", 10000), find(rows, "inventory warm", 10000)
    if cold:
        line(
            cold["wall"] <= 3.0,
            "ansible-inventory --list, 10,000 phones cold: %.2f s wall, %.2f s CPU (target <= 3 s%s)"
            % (cold["wall"], cold["cpu"], over(cold["wall"], 3.0)),
        )
        line(
            cold["own"] <= 1.5 * cold["floor"],
            "plugin's own time cold: %.2f s = %.2fx the round-trip floor of %.2f s (target <= 1.5x)"
            % (cold["own"], cold["own"] / cold["floor"], cold["floor"]),
        )
        line(
            cold["wall"] <= cold["base"],
            "never slower than a static inventory of the same content: %.2f s vs %.2f s (%.2fx; CPU %.2f s vs %.2f s)"
            % (
                cold["wall"],
                cold["base"],
                cold["wall"] / cold["base"],
                cold["cpu"],
                (find(rows, "inventory static (lean)", 10000) or {}).get("cpu") or 0.0,
            ),
        )
    if warm:
        line(warm["own"] <= 0.2, "plugin's own time warm: %.3f s (target <= 0.2 s)" % warm["own"])
    empty = find(rows, "empty play", 1000)
    for mode in ("async", "sync"):
        row = find(rows, "command " + mode, 1000)
        if row:
            cpu = " (CPU %.2f s over the empty play's)" % (row["cpu"] - empty["cpu"]) if empty else ""
            line(
                row["own"] <= 1.5,
                "koophone_command %s, 1,000 phones: %.2f s over an empty play%s (target <= 1.5 s%s)"
                % (mode, row["own"], cpu, over(row["own"], 1.5)),
            )
    return "\n".join(lines)


def scaling(rows):
    """Per phone at each size, and the marginal cost per phone between sizes (what linear growth is about:
    a fixed start-up spread over more phones makes the plain per-phone figure fall)."""
    lines = [
        "",
        "== from 1,000 to 50,000 phones: per phone (wall; own), marginal per phone between sizes, peak RSS",
    ]
    for operation in AT_50K:
        sized = sorted(
            (row for row in rows if row["operation"] == operation and row["phones"] >= 1000),
            key=lambda item: item["phones"],
        )
        if len(sized) < 2:
            continue
        parts = [
            "%d: %.3f ms (%.3f ms own), %.0f MB"
            % (row["phones"], 1000 * row["wall"] / row["phones"], 1000 * row["own"] / row["phones"], row["rss_mb"])
            for row in sized
        ]
        lines.append("  %-16s %s" % (operation, "; ".join(parts)))
        marginal = [
            (a["phones"], b["phones"], 1000 * (b["wall"] - a["wall"]) / (b["phones"] - a["phones"]))
            for a, b in zip(sized, sized[1:])
        ]
        text = ", ".join("%d->%d: %.3f ms" % item for item in marginal)
        if len(marginal) > 1 and marginal[0][2] > 0:
            text += " (last / first: %.2fx; 1.00x = linear)" % (marginal[-1][2] / marginal[0][2])
        lines.append("  %-16s marginal wall per phone %s" % ("", text))
    return "\n".join(lines)


def chart(rows, path, title):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(9, 5.6), dpi=100)
    axes.set_prop_cycle(color=plt.get_cmap("tab10").colors)
    styles = [
        ("inventory cold", "inventory --list, cold", "-", "o"),
        ("inventory warm", "inventory --list, warm cache", "-", "s"),
        ("inventory cold, full", "inventory --list, cold, hostvars: full", ":", "o"),
        ("inventory static (lean)", "static inventory, same content", "--", "."),
        ("instance_info", "koophone_instance_info", "-", "^"),
        ("command async", "koophone_command async", "-", "D"),
        ("command sync", "koophone_command sync", "-", "d"),
        ("app install", "koophone_app install", "-", "v"),
        ("instance wait (reboot)", "koophone_instance restarted + wait", "-", "P"),
        ("empty play", "empty play", "--", "."),
    ]
    for operation, label, line, marker in styles:
        points = sorted((row["phones"], row["wall"]) for row in rows if row["operation"] == operation)
        if points:
            axes.plot([p[0] for p in points], [p[1] for p in points], line, marker=marker, label=label)
    for operation, key, label, line in (
        ("command sync", "naive_uri", "naive: uri loop, sync-command per phone (~)", ":"),
        ("command sync", "naive_host", "naive: koophone_command once per host, forks 10 (~)", "-."),
        ("inventory cold", "naive_uri", "naive: uri loop, one page per item (~)", "--"),
    ):
        points = sorted((row["phones"], row[key]) for row in rows if row["operation"] == operation and row[key])
        if points:
            axes.plot([p[0] for p in points], [p[1] for p in points], line, color="black", marker="x", label=label)
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("phones")
    axes.set_ylabel("wall time of the whole command, s")
    axes.set_title(title, fontsize=10)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=7, loc="upper left")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def report(data, chart_path):
    rows = data["rows"]
    print("\n== koophone.cloud benchmark: %s" % data["header"])
    print(table(rows, data["naive"]))
    print(targets(rows))
    print(scaling(rows))
    if chart_path:
        chart(rows, chart_path, "koophone.cloud against the emulator, %s" % data["header"].split(", load")[0])
        print("\nchart: %s" % os.path.relpath(chart_path, bench.REPO))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 and 1,000 phones, one run each, small samples")
    parser.add_argument("--sizes", default=os.environ.get("BENCH_SIZES") or None)
    parser.add_argument("--repeats", type=int, default=None, help="runs per figure (default 3, 2 at 10,000, 1 above)")
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--sample", default=None, help="the naive ways' two sample sizes, e.g. 10,40")
    parser.add_argument("--json", default=os.path.join(bench.REPO, ".build", "bench", "results.json"))
    parser.add_argument("--chart", default=os.path.join(bench.REPO, "docs", "bench.png"))
    parser.add_argument("--no-chart", action="store_true")
    parser.add_argument("--replot", metavar="JSON", help="print the table and draw the chart from a saved run")
    options = parser.parse_args()
    chart_path = None if options.no_chart else options.chart
    if options.replot:
        with open(options.replot) as handle:
            report(json.load(handle), chart_path)
        return
    sizes = options.sizes or ("100,1000" if options.quick else "100,1000,10000,50000")
    sizes = [int(size) for size in sizes.split(",")]
    options.sample = [int(n) for n in (options.sample or ("3,9" if options.quick else "10,30")).split(",")]
    if options.quick and options.repeats is None:
        options.repeats = 1
    started = time.time()
    header = "%d ms latency, %d CPUs, %s at the start" % (options.latency_ms, os.cpu_count(), bench.load())
    print("koophone.cloud benchmark: %s; sizes %s" % (header, ", ".join(map(str, sizes))), flush=True)
    with start_emulator(
        "--instances", max(sizes + [2000]), "--quiet", latency_ms=options.latency_ms, timeout=120
    ) as emulator, tempfile.TemporaryDirectory(prefix="koophone-bench-") as workdir:
        suite = Suite(emulator, workdir, options)
        suite.measure_naive()
        for size in sizes:
            suite.size(size)
    header += ", %s at the end, %.0f minutes" % (bench.load(), (time.time() - started) / 60)
    data = {"header": header, "rows": suite.rows, "naive": suite.naive, "sample": options.sample}
    os.makedirs(os.path.dirname(options.json), exist_ok=True)
    with open(options.json, "w") as handle:
        json.dump(data, handle, indent=1)
    report(data, chart_path)
    print("results: %s" % os.path.relpath(options.json, bench.REPO))


if __name__ == "__main__":
    main()
