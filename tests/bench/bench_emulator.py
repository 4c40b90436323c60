"""Emulator capacity: can it serve the benchmarks without becoming the bottleneck?

Prints how long a page of 200 out of 10,000 phones takes to render, how long 10,000 phones take to
list over 16 connections at 50 ms latency (against the 4-round-trip floor), and how long 1,000
commands take in chunks of 100. Figures only; nothing here passes or fails.

Run: .venv/bin/python tests/bench/bench_emulator.py
"""

import concurrent.futures
import json
import time

# First: _bench puts the emulator and tests/emulator's emutools on sys.path.
import _bench  # noqa: F401  # pylint: disable=unused-import
from emutools import Api, serving

from koophone_emulator.operations import Call, list_instances


def page_rendering():
    with serving(instances=10000) as server:
        state = server.emulator.state
        started = time.perf_counter()
        for page_no in range(1, 51):
            answer = list_instances(Call(state, None, {"page_no": str(page_no), "page_size": "200"}))
            json.dumps(answer, ensure_ascii=False, separators=(",", ":"))
        print("render a page of 200 of 10,000 phones: %.2f ms" % ((time.perf_counter() - started) / 50 * 1000))

        server.emulator.settings.latency_ms = 50
        api = Api(server.url)
        started = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            pages = list(pool.map(lambda n: api.list_page(n, 200).data["result"], range(1, 51)))
        elapsed = time.perf_counter() - started
        ids = {item["instance_id"] for page in pages for item in page}
        print(
            "list 10,000 phones, 50 pages over 16 connections at 50 ms: %.2f s for %d phones "
            "(floor 0.20 s, %.1fx; serial 2.5 s)" % (elapsed, len(ids), elapsed / 0.2)
        )


def commands():
    with serving(instances=1000) as server:
        api = Api(server.url)
        ids = [inst.instance_id for inst in server.emulator.state.ordered()]
        chunks = [ids[start : start + 100] for start in range(0, 1000, 100)]
        started = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(10) as pool:
            answers = list(
                pool.map(
                    lambda chunk: api.post(
                        "/v1/instances/sync-command",
                        {"command": "getprop ro.build.version.release", "instance_ids": chunk},
                    ),
                    chunks,
                )
            )
        results = [r for answer in answers for r in answer.data["cmd_results"]]
        print("1,000 sync commands in 10 chunks: %.3f s, %d results" % (time.perf_counter() - started, len(results)))


if __name__ == "__main__":
    page_rendering()
    commands()
