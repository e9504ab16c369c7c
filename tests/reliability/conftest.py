"""The reliability suite (issue 5): its marker.

Every test here is marked `reliability` (`pytest -m reliability` runs only these). Tests
record figures with the `figures` fixture (`tests/figures.py`), reported at the end of the
session. `RELIABILITY_SABOTAGE=<name>` runs the tap with one deliberate bug (see
`sabotage/sitecustomize.py`) to show the suite goes red.
"""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "reliability: the reliability suite of issue 5 (faults, kills, moving data, bad input)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.reliability)
