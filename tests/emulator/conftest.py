"""Fixtures for the emulator tests: a fresh in-process emulator per test (helpers in emutools.py)."""

import pytest
from emutools import Api, serving


@pytest.fixture
def emulator():
    with serving() as server:
        yield server


@pytest.fixture
def api(emulator):
    return Api(emulator.url)


@pytest.fixture
def state(emulator):
    return emulator.emulator.state


@pytest.fixture
def ids(state):
    return [inst.instance_id for inst in state.ordered()]
