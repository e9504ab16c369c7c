"""Fixtures: simulators of the Centaur API with this suite's credentials, and tap runs.

`make_sim(**overrides)` starts simulators (see `tests.harness.SimFactory`), `sim` is the
default one, and `tap` runs the tap against them (`tests.harness.TapRunner`). `figures`
and the hooks that report them come from `tests.figures`.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tap_centaur.signals import SIGNALS
from tests.figures import (  # noqa: F401 - the figures' hooks and fixture
    figures,
    pytest_configure,
    pytest_sessionfinish,
    pytest_terminal_summary,
    pytest_testnodedown,
)
from tests.harness import THREE_TASKS, Sim, SimFactory, TapRunner

#: The longest tests (20, 13, 10, 2-4, 6 and 6 s alone), collected first: pytest-xdist then starts
#: them at once, and the other tests fill the workers around them.
LONGEST_FIRST = (
    "tests/reliability/test_kill_resume.py::test_sigkill_at_random_points",
    "tests/reliability/test_clocks.py::test_incremental_runs_under_clock_skew",  # mostly waits
    "tests/test_task_failures.py::test_an_info_log_over_two_thousand",
    "tests/reliability/test_stalls.py::",  # waits for request_timeout
    "tests/reliability/test_fault_soak.py::",
    "tests/reliability/test_moving_data.py::test_incremental_runs",
    "tests/reliability/test_signals_anywhere.py::test_a_signal_while_the_target",  # waits 5 s
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Put the longest tests first, the others in their order (the same on every worker)."""

    def rank(item: pytest.Item) -> int:
        starts = [item.nodeid.startswith(prefix) for prefix in LONGEST_FIRST]
        return starts.index(True) if True in starts else len(starts)

    items.sort(key=rank)


@pytest.fixture
def make_sim() -> Iterator[SimFactory]:
    """Start simulators with config overrides; stop them after the test."""
    factory = SimFactory()
    yield factory
    factory.stop_all()


@pytest.fixture
def sim(make_sim: SimFactory) -> Sim:
    """The default simulator: tasks 101 (250 cases), 102 (120) and 103 (none)."""
    return make_sim(**THREE_TASKS)


@pytest.fixture
def tap(tmp_path: Path, make_sim: SimFactory) -> TapRunner:
    """Runs the tap in folders under tmp_path, checked against the test's simulators' secrets."""
    return TapRunner(tmp_path, make_sim)


@pytest.fixture(autouse=True)
def _signal_handlers_restored() -> Iterator[None]:
    """A tap built in a test (`TapCentaur(config=...)`) installs its signal handlers."""
    saved = {sig: signal.getsignal(sig) for sig in SIGNALS}
    yield
    for sig, handler in saved.items():
        if handler is not None:
            signal.signal(sig, handler)
