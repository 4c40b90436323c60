"""The command line and the launcher: a real subprocess, as benchmarks and integration tests use it."""

import http.client
import json
import os
import signal
import subprocess
import sys
import time
from urllib.parse import urlsplit

import pytest
from emutools import IAM_LOGIN, REPO

from koophone_emulator.launcher import EmulatorError, start_emulator


def test_launcher_handle_controls_the_emulator():
    with start_emulator("--instances", "7", seed=3, latency_ms=1, paging_fields="top") as emu:
        assert emu.url.startswith("http://127.0.0.1:") and emu.port == int(emu.url.rsplit(":", 1)[1])
        assert "KooPhone emulator listening on %s" % emu.url in emu.output()
        config = emu.config()
        assert (config["instances"], config["seed"], config["latency_ms"], config["paging_fields"]) == (7, 3, 1, "top")
        instances = emu.instances()
        assert len(instances) == 7
        emu.patch_instance(instances[0]["instance_id"], running_status=1)
        assert emu.instance(instances[0]["instance_id"])["running_status"] == 1
        assert len(emu.add_instances(3, os="AOSP14")) == 3
        assert len(emu.instances()) == 10
        assert emu.configure(rate_5xx=0.5)["rate_5xx"] == 0.5
        emu.configure(rate_5xx=0)
        connection = http.client.HTTPConnection(urlsplit(emu.url).netloc)
        connection.request(
            "GET",
            "/v1/instances/batch-query?page_no=1&page_size=2",
            headers={"X-Auth-Token": "demo-token", "x-request-id": "r1"},
        )
        answer = json.loads(connection.getresponse().read())
        assert answer["total_count"] == 10
        log = emu.log()
        assert [r["operation"] for r in log] == ["ListInstances"]
        assert emu.log(since=log[-1]["seq"]) == []
        emu.clear_log()
        assert emu.log() == []
        assert emu.reset(instances=4, seed=9)["instances"] == 4
        assert emu.expire_tokens() == {"expired": 0}
        with pytest.raises(EmulatorError):
            emu.patch_instance("ghost001", running_status=1)
    assert emu.process.returncode == 0  # stopped cleanly by SIGTERM


def test_launcher_turns_options_into_flags():
    with start_emulator(
        "--instances", "3", effect_delay=0, tenant_whitelisted=False, backup_stops=True, catalogue="mixed"
    ) as emu:
        config = emu.config()
        assert (config["effect_delay"], config["tenant_whitelisted"], config["backup_stops"]) == (0, False, True)
        assert config["catalogue"] == "mixed" and config["app_list"] is True
        assert emu.orders() == []
        with pytest.raises(EmulatorError):
            emu.pay_order("nope")


def test_launcher_reports_startup_failure():
    with pytest.raises(EmulatorError) as failure:
        start_emulator("--paging-fields", "sideways")
    assert "invalid choice" in str(failure.value)


def test_cli_banner_ready_file_keepalive_and_sigint(tmp_path):
    ready = tmp_path / "ready.json"
    env = dict(os.environ, PYTHONPATH=os.path.join(REPO, "emulator"))
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "koophone_emulator",
            "--port",
            "0",
            "--ready-file",
            str(ready),
            "--instances",
            "3",
            "--quiet",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        banner = process.stdout.readline().strip()
        info = json.loads(ready.read_text())
        assert banner == "KooPhone emulator listening on %s" % info["url"]
        assert info["url"] == "http://127.0.0.1:%d" % info["port"]
        # HTTP/1.1 keep-alive: several requests over one connection, every answer with Content-Length.
        connection = http.client.HTTPConnection("127.0.0.1", info["port"])
        for _attempt in range(3):
            connection.request(
                "POST", "/v3/auth/tokens", body=json.dumps(IAM_LOGIN), headers={"Content-Type": "application/json"}
            )
            response = connection.getresponse()
            response.read()
            assert response.status == 201 and response.getheader("Content-Length")
            assert response.getheader("Connection") == "keep-alive"
        sock = connection.sock
        connection.request("GET", "/_emulator/health")
        assert json.loads(connection.getresponse().read()) == {"ok": True}
        assert connection.sock is sock
        process.send_signal(signal.SIGINT)
        assert process.wait(5) == 0
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        process.stdout.close()
        process.stderr.close()


def test_cli_help_lists_every_flag():
    env = dict(os.environ, PYTHONPATH=os.path.join(REPO, "emulator"))
    text = subprocess.run(
        [sys.executable, "-m", "koophone_emulator", "--help"], capture_output=True, text=True, env=env, check=True
    ).stdout
    for flag in (
        "--host",
        "--port",
        "--ready-file",
        "--instances",
        "--seed",
        "--mix",
        "--latency-ms",
        "--rate-5xx",
        "--rate-drop",
        "--rate-lost",
        "--rate-429",
        "--retry-after",
        "--token-ttl",
        "--task-seconds",
        "--boot-seconds",
        "--paging-fields",
        "--install-response",
        "--no-app-list",
        "--quiet",
        "--iam-user",
        "--iam-password",
        "--iam-domain",
        "--project-name",
        "--project-id",
        "--access-key",
        "--secret-key",
        "--security-token",
        "--static-token",
        "--capacity",
        "--throttle-rps",
        "--fault-operations",
        "--command-charset",
        "--page-cap",
        "--page-size-echo",
        "--name-filter",
        "--permission-status",
        "--no-tenant-whitelist",
        "--unpaid-orders",
        "--effect-delay",
        "--instance-tasks",
        "--status-codes",
        "--backup-stops",
        "--stop-idle-stream",
        "--catalogue",
        "--require-project-id",
    ):
        assert flag in text, flag


def test_requests_session_keeps_one_connection_under_latency():
    requests = pytest.importorskip("requests")
    with start_emulator("--instances", "50", "--quiet", latency_ms=20) as emu:
        session = requests.Session()
        started = time.monotonic()
        for page in range(1, 6):
            answer = session.get(
                emu.url + "/v1/instances/batch-query",
                params={"page_no": page, "page_size": 10},
                headers={"X-Auth-Token": "demo-token", "x-request-id": "r%d" % page},
            )
            assert answer.status_code == 200 and len(answer.json()["data"]["result"]) == 10
        # 5 x 20 ms latency; no 40 ms Nagle/delayed-ACK stall per request on the reused connection.
        assert time.monotonic() - started < 0.5
        assert len({record["peer"] for record in emu.log()}) == 1
