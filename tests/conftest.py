"""Fixtures: a simulator of the Centaur API on a free port, with this suite's credentials."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from centaur_sim import SimConfig, Simulator
from tests.tap_runner import API_KEY, API_PASSWORD, STATIC_TOKEN, USERNAME

MakeSim = Callable[..., Simulator]

#: Three tasks: several pages, one page, and an empty task.
DEFAULT_SIM = {"tasks": 3, "cases": (250, 120, 0), "page_size": 100, "retry_after": 0}


@pytest.fixture
def make_sim() -> Iterator[MakeSim]:
    """Start simulators with config overrides; stop them after the test."""
    started: list[Simulator] = []

    def make(**overrides: Any) -> Simulator:
        config = SimConfig(
            **{
                "api_key": API_KEY,
                "username": USERNAME,
                "api_password": API_PASSWORD,
                "static_token": STATIC_TOKEN,
                **DEFAULT_SIM,
                **overrides,
            }
        )
        sim = Simulator(config)
        sim.start()
        started.append(sim)
        return sim

    yield make
    for sim in started:
        sim.stop()


@pytest.fixture
def sim(make_sim: MakeSim) -> Simulator:
    """The default simulator: tasks 101 (250 cases), 102 (120) and 103 (none)."""
    return make_sim()
