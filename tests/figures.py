"""Figures that tests record (the reliability suite's), reported at the end of the session.

A test records figures with the `figures` fixture. They are printed in a `reliability figures`
section at the end of the session and, when `RELIABILITY_FIGURES=<path>` is set, written there
as JSON (docs/RELIABILITY.md quotes them). Under pytest-xdist each worker sends its figures to
the controller, which reports them all. The hooks are imported by `tests/conftest.py`: the
xdist controller collects no test, so it loads no conftest below tests/.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.harness import SABOTAGE_ENV

_FIGURES = pytest.StashKey[dict[str, dict[str, Any]]]()
_WORKER_OUTPUT = "reliability_figures"


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_FIGURES] = {}


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> dict[str, Any]:
    """A dict of figures for this test, reported at the end of the session."""
    return request.config.stash[_FIGURES].setdefault(request.node.name, {})


def pytest_sessionfinish(session: pytest.Session) -> None:
    """On an xdist worker: hand this worker's figures to the controller."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput[_WORKER_OUTPUT] = json.dumps(session.config.stash[_FIGURES])


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """On the xdist controller: take in a finished worker's figures."""
    sent = getattr(node, "workeroutput", {}).get(_WORKER_OUTPUT)
    if sent is not None:
        node.config.stash[_FIGURES].update(json.loads(sent))


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """The `reliability figures` section, and RELIABILITY_FIGURES's JSON file."""
    report = config.stash[_FIGURES]
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
