"""The reliability suite's marker and fixture (its sabotages: `sabotage/sitecustomize.py`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness import SimFactory
from tests.harness.in_process import wait_for_tap_threads

HERE = Path(__file__).resolve().parent


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "reliability: the suite of issue 5 (faults, kills, bad input)"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in item.path.resolve().parents:
            item.add_marker(pytest.mark.reliability)


@pytest.fixture
def no_tap_thread_outlives_the_test(make_sim: SimFactory) -> Iterator[None]:
    """No thread of a run (a retry in the background, a worker) outlives its test."""
    yield
    make_sim.stop_all()
    wait_for_tap_threads()
