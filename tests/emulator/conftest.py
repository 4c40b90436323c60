"""Fixtures for the emulator tests: a fresh in-process emulator per test (helpers in emutools.py)."""

import os
import sys

import pytest

EMULATOR_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "emulator")
if EMULATOR_DIR not in sys.path:
    sys.path.insert(0, EMULATOR_DIR)

from emutools import Api, make_server  # noqa: E402


@pytest.fixture
def emulator():
    server = make_server()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def api(emulator):
    return Api(emulator.url)


@pytest.fixture
def state(emulator):
    return emulator.emulator.state


@pytest.fixture
def ids(state):
    return [inst.instance_id for inst in state.ordered()]
