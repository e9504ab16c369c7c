"""Figures that tests record (`figures` fixture), printed at the end of the session and, with
`RELIABILITY_FIGURES=<path>`, written there as JSON (docs/RELIABILITY.md quotes them). xdist
workers send theirs to the controller, which loads only `tests/conftest.py` (it imports these).
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
    return request.config.stash[_FIGURES].setdefault(request.node.name, {})


def pytest_sessionfinish(session: pytest.Session) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput[_WORKER_OUTPUT] = json.dumps(session.config.stash[_FIGURES])


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    sent = getattr(node, "workeroutput", {}).get(_WORKER_OUTPUT)
    if sent is not None:
        node.config.stash[_FIGURES].update(json.loads(sent))


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
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
