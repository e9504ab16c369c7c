"""Fixtures: `make_sim` starts simulators, `sim` is the default one, `tap` runs the tap
(`tests.harness`); `figures` and its hooks come from `tests.figures`."""

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
    """The default simulator: tasks 101 (250 cases), 102 (120) and 103 (none)."""
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
