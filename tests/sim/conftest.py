"""The simulators come from the suite's `make_sim` and `sim` fixtures (tests/conftest.py)."""

import pytest

from centaur_sim import Simulator
from tests.sim.helpers import Client


@pytest.fixture
def client(sim: Simulator) -> Client:
    return Client(sim)
