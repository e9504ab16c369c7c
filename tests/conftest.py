"""Fixtures: `make_sim` starts simulators, `sim` is the default one, `tap` runs the tap
(`tests.harness`); `figures` holds what tests record, printed at the end of the session and,
with `RELIABILITY_FIGURES=<path>`, written there as JSON (docs/RELIABILITY.md quotes them).
xdist workers send theirs to the controller, which loads this file only."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tap_centaur.output import SIGNALS
from tests.harness import SABOTAGE_ENV, THREE_TASKS, Sim, SimFactory, TapRunner

_FIGURES = pytest.StashKey[dict[str, dict[str, Any]]]()
_WORKER_OUTPUT = "reliability_figures"

#: The longest tests, collected first: pytest-xdist starts them at once, and the other tests
#: fill the workers around them.
LONGEST_FIRST = (
    "tests/reliability/test_kill_resume.py::test_sigkill_at_random_points",
    "tests/reliability/test_fault_soak.py::",
    "tests/reliability/test_signals_anywhere.py::test_a_signal_while_the_target",  # waits 5 s
    "tests/reliability/test_clocks.py::test_incremental_runs_under_clock_skew",  # mostly waits
    "tests/reliability/test_moving_data.py::test_incremental_runs",
    "tests/reliability/test_stalls.py::",  # waits for request_timeout
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:

    def rank(item: pytest.Item) -> int:
        starts = [item.nodeid.startswith(prefix) for prefix in LONGEST_FIRST]
        return starts.index(True) if True in starts else len(starts)

    items.sort(key=rank)


@pytest.fixture
def make_sim() -> Iterator[SimFactory]:
    factory = SimFactory()
    yield factory
    factory.stop_all()


@pytest.fixture
def sim(make_sim: SimFactory) -> Sim:
    return make_sim(**THREE_TASKS)


@pytest.fixture
def tap(tmp_path: Path, make_sim: SimFactory) -> TapRunner:
    return TapRunner(tmp_path, make_sim)


@pytest.fixture(autouse=True)
def _signal_handlers_restored() -> Iterator[None]:
    """A tap built in a test (`TapCentaur(config=...)`) installs its signal handlers."""
    saved = {sig: signal.getsignal(sig) for sig in SIGNALS}
    yield
    for sig, handler in saved.items():
        if handler is not None:
            signal.signal(sig, handler)


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> dict[str, Any]:
    return request.config.stash.setdefault(_FIGURES, {}).setdefault(request.node.name, {})


def pytest_sessionfinish(session: pytest.Session) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput[_WORKER_OUTPUT] = json.dumps(session.config.stash.get(_FIGURES, {}))


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    sent = getattr(node, "workeroutput", {}).get(_WORKER_OUTPUT)
    if sent is not None:
        node.config.stash.setdefault(_FIGURES, {}).update(json.loads(sent))


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    report = config.stash.get(_FIGURES, {})
    if hasattr(config, "workerinput") or not report:
        return  # an xdist worker (the controller reports), or nothing to report
    terminalreporter.section("reliability figures")
    sabotage = os.environ.get(SABOTAGE_ENV)
    if sabotage:
        terminalreporter.write_line(f"SABOTAGED RUN: {SABOTAGE_ENV}={sabotage}")
    for name in sorted(report):
        terminalreporter.write_line(f"{name}: {json.dumps(report[name], sort_keys=True)}")
    target = os.environ.get("RELIABILITY_FIGURES")
    if target:
        Path(target).write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
