"""The reliability suite of issue 5 (see docs/RELIABILITY.md) and what its scenarios share."""

from __future__ import annotations

import json
import random
from datetime import datetime
from typing import Any

from tests.harness import LIST, Run, Sim, assert_one_clear_error, partition_bookmarks

TASKS = (101, 102, 103)
SIM = {"tasks": 3, "cases": (60, 40, 20), "page_size": 20}


def assert_refused(runs: dict[str, Run], *fragments: str) -> None:
    """Each run (by log level): exit 2, no output, one ERROR line holding `fragments`, no
    traceback below DEBUG."""
    for level, run in runs.items():
        assert run.exit_code == 2, f"{level}: exit {run.exit_code}\n{run.stderr[-2000:]}"
        assert run.stdout == "", f"{level}: output before the input was checked"
        assert len(run.error_lines) == 1, f"{level}: {run.error_lines}"
        assert_one_clear_error(run, *fragments, traceback_allowed=level == "DEBUG")
        assert "Unexpected error" not in run.stderr


def answer(status: int, body: object = None, **where: Any) -> dict[str, Any]:
    """A scripted answer, `status` with `body` (JSON unless a str), on task 102's results pages
    99 times unless `where` says otherwise."""
    text = body if body is None or isinstance(body, str) else json.dumps(body)
    where = {"count": 99, "path": LIST, "task_id": 102, **where}
    return {"kind": "answer", "status": status, "body": text, **where}


def epoch(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def bookmark_of(marks: dict[tuple[int, str | None], str], row: dict[str, Any]) -> str | None:
    """The bookmark of the partition that holds a case (`truth_meta` row), if any."""
    return marks.get((row["task_id"], None)) or marks.get((row["task_id"], row["labeling_state"]))


def changed_since(sim: Sim, state: dict[str, Any] | None) -> set[tuple[int, int]]:
    """Cases updated after their partition's bookmark (every case of an unbookmarked one)."""
    marks = partition_bookmarks(state)
    return {
        (row["task_id"], row["case_id"])
        for row in sim.truth_meta()
        if (mark := bookmark_of(marks, row)) is None or row["updated_at"] > epoch(mark)
    }


def random_case(sim: Sim, rng: random.Random, task: int) -> int:
    return int(rng.choice(sim.truth_meta(task))["case_id"])


def same_second_updates(
    sim: Sim, state: dict[str, Any] | None, rng: random.Random
) -> dict[int, float]:
    """Update a case of each task in its latest bookmark's second, just after it and 1 µs after
    it; return those bookmarks' times."""
    latest: dict[int, float] = {}
    for (task, _), mark in partition_bookmarks(state).items():
        latest[task] = max(latest.get(task, 0.0), epoch(mark))
    for task, moment in latest.items():
        for at in (moment + rng.uniform(0.05, 0.95), moment + 1e-6):
            sim.update_cases(task, case_ids=[random_case(sim, rng, task)], at=at)
    return latest
