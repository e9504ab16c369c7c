"""Figures that tests record (the reliability suite's), reported at the end of the session.

A test records figures with the `figures` fixture; the harness adds `secret_checks` (how
many tap runs of the session were checked for secrets, by log level and by how they ran).
They are printed in a `reliability figures` section at the end of the session and, when
`RELIABILITY_FIGURES=<path>` is set, written there as JSON (docs/RELIABILITY.md quotes
them). Under pytest-xdist each worker sends its figures to the controller, which reports
them all. The hooks are imported by `tests/conftest.py`: the xdist controller collects no
test, so it loads no conftest below tests/.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests import harness

_FIGURES = pytest.StashKey[dict[str, dict[str, Any]]]()
_RUNS = pytest.StashKey[dict[str, Counter[str]]]()
_WORKER_OUTPUT = "reliability_figures"


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_FIGURES] = {}
    runs: dict[str, Counter[str]] = {"by_level": Counter(), "by_mode": Counter()}
    config.stash[_RUNS] = runs


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> dict[str, Any]:
    """A dict of figures for this test, reported at the end of the session."""
    store = request.config.stash[_FIGURES]
    return store.setdefault(request.node.name, {})


def _runs_of_this_process() -> dict[str, Counter[str]]:
    return {"by_level": Counter(harness.SECRET_CHECKS), "by_mode": Counter(harness.RUN_MODES)}


def pytest_sessionfinish(session: pytest.Session) -> None:
    """On an xdist worker: hand this worker's figures to the controller."""
    config = session.config
    workeroutput = getattr(config, "workeroutput", None)
    if workeroutput is not None:
        runs = _runs_of_this_process()
        workeroutput[_WORKER_OUTPUT] = json.dumps(
            {"figures": config.stash[_FIGURES], "runs": {k: dict(v) for k, v in runs.items()}}
        )


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """On the xdist controller: take in a finished worker's figures."""
    sent = getattr(node, "workeroutput", {}).get(_WORKER_OUTPUT)
    if sent is None:
        return
    data = json.loads(sent)
    node.config.stash[_FIGURES].update(data["figures"])
    for name, counts in data["runs"].items():
        node.config.stash[_RUNS][name].update(counts)


def pytest_terminal_summary(
    terminalreporter: Any,
    exitstatus: int,
    config: pytest.Config,
) -> None:
    """The `reliability figures` section, and RELIABILITY_FIGURES's JSON file."""
    if hasattr(config, "workerinput"):
        return  # an xdist worker: the controller reports
    collected: dict[str, dict[str, Any]] = config.stash[_FIGURES]
    report = dict(collected)
    runs = config.stash[_RUNS]
    for name, counts in _runs_of_this_process().items():
        runs[name].update(counts)
    if not report:
        return
    report["secret_checks"] = {
        "runs_checked_by_level": dict(sorted(runs["by_level"].items())),
        "runs_by_mode": dict(sorted(runs["by_mode"].items())),
    }
    terminalreporter.section("reliability figures")
    sabotage = os.environ.get(harness.SABOTAGE_ENV)
    if sabotage:
        terminalreporter.write_line(f"SABOTAGED RUN: {harness.SABOTAGE_ENV}={sabotage}")
    for name in sorted(report):
        terminalreporter.write_line(f"{name}: {json.dumps(report[name], sort_keys=True)}")
    target = os.environ.get("RELIABILITY_FIGURES")
    if target:
        Path(target).write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
