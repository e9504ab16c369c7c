"""The reliability suite (issue 5): marker, fixtures, and the figures it reports.

Every test here is marked `reliability` (`pytest -m reliability` runs only these). Each test
records figures with the `figures` fixture; they are printed at the end of the session and,
when `RELIABILITY_FIGURES=<path>` is set, written there as JSON (docs/RELIABILITY.md quotes
them). `RELIABILITY_SABOTAGE=<name>` runs the tap with one deliberate bug (see
`sabotage/sitecustomize.py`) to show the suite goes red.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.harness import SABOTAGE_ENV, RelSim, Runner, make_relsim

HERE = Path(__file__).resolve().parent
_FIGURES = pytest.StashKey[dict[str, dict[str, Any]]]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "reliability: the reliability suite of issue 5 (faults, kills, moving data, bad input)",
    )
    config.stash[_FIGURES] = {}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.reliability)


def pytest_terminal_summary(
    terminalreporter: Any,
    exitstatus: int,
    config: pytest.Config,
) -> None:
    figures = config.stash.get(_FIGURES, {})
    if not figures:
        return
    terminalreporter.section("reliability figures")
    sabotage = os.environ.get(SABOTAGE_ENV)
    if sabotage:
        terminalreporter.write_line(f"SABOTAGED RUN: {SABOTAGE_ENV}={sabotage}")
    for name in sorted(figures):
        terminalreporter.write_line(f"{name}: {json.dumps(figures[name], sort_keys=True)}")
    target = os.environ.get("RELIABILITY_FIGURES")
    if target:
        Path(target).write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> dict[str, Any]:
    """A dict of figures for this test, reported at the end of the session."""
    store = request.config.stash[_FIGURES]
    return store.setdefault(request.node.name, {})


MakeRelSim = Callable[..., RelSim]


@pytest.fixture
def make_sim_r() -> Iterator[MakeRelSim]:
    """Start simulators with this suite's secrets; stop them after the test."""
    started: list[RelSim] = []

    def make(**overrides: Any) -> RelSim:
        sim = make_relsim(**overrides)
        started.append(sim)
        return sim

    yield make
    for sim in started:
        sim.stop()


@pytest.fixture
def runner_for(tmp_path: Path) -> Callable[[RelSim], Runner]:
    """A `Runner` bound to this test's tmp_path and a simulator."""

    def make(sim: RelSim) -> Runner:
        return Runner(tmp_path, sim)

    return make
