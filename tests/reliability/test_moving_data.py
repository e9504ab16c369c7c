"""Scenario 3, moving data: 12 incremental runs while cases change, then a quiet run.

Seeded changes between runs (some in the bookmark's second) and during runs. After every run:
nothing changed before it is missed, nothing unchanged is re-read, no case goes back a
version; at the end the output's latest versions are the simulator's. Without a
labeling_state filter and with all six states (a case can move between partitions mid-run).
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import pytest

from centaur_sim.server import SimHandler
from centaur_sim.store import Case
from tap_centaur.schemas import CASE_RESULT_SCHEMA
from tests.harness import Run, Sim, as_emitted, login_config, partition_bookmarks

TASKS = (101, 102, 103)
STATES = ("Ready", "Active", "Labeled", "Gold Standard", "Canceled", "Flagged")
INCREMENTAL_RUNS = 12


class Versions:
    """Every version of every case the simulator has held, in the order it made them."""

    def __init__(self, sim: Sim, monkeypatch: pytest.MonkeyPatch) -> None:
        self.lock = threading.Lock()
        self.history: dict[int, list[dict[str, Any]]] = {}
        for record in sim.emitted():
            self.history[record["case_id"]] = [record]
        original = Case.replace
        #: Cases that moved to another labeling state while `watching`.
        self.moved: set[tuple[int, int]] = set()
        self.watching = False

        def replace(case: Case, record: dict[str, Any], updated_us: int) -> None:
            before = case.state if hasattr(case, "state") else None
            original(case, record, updated_us)
            with self.lock:
                if self.watching and before is not None and before != case.state:
                    self.moved.add((record["task_id"], case.case_id))
                emitted = as_emitted([json.loads(case.body)], CASE_RESULT_SCHEMA)
                self.history.setdefault(case.case_id, []).extend(emitted)

        monkeypatch.setattr(Case, "replace", replace)

    def index(self, record: dict[str, Any]) -> int:
        """The latest version number whose content equals `record` (AssertionError: none)."""
        with self.lock:
            versions = self.history.get(record["case_id"], [])
            for number in range(len(versions) - 1, -1, -1):
                if versions[number] == record:
                    return number
        raise AssertionError(f"case {record['case_id']}: the output holds a version never served")


class Changes:
    """Seeded changes to the simulator's data."""

    def __init__(self, sim: Sim, seed: int) -> None:
        self.sim = sim
        self.rng = random.Random(seed)  # noqa: S311 - reproducible changes
        self.counts = {"updates": 0, "adds": 0, "state_changes": 0, "same_second": 0}

    def random_case(self, task: int) -> int:
        cases = self.sim.truth_meta(task)
        return int(self.rng.choice(cases)["case_id"])

    def one(self, at: float | None = None) -> None:
        """One random change: an update, a new case or a labeling-state change."""
        task = self.rng.choice(TASKS)
        kind = self.rng.random()
        if kind < 0.5:
            self.sim.update_cases(task, case_ids=[self.random_case(task)], at=at)
            self.counts["updates"] += 1
        elif kind < 0.7:
            self.sim.add_cases(task, count=self.rng.randint(1, 3), at=at)
            self.counts["adds"] += 1
        else:
            state = self.rng.choice(STATES)
            self.sim.set_labeling_state(task, self.random_case(task), state, at=at)
            self.counts["state_changes"] += 1

    def between_runs(self, last_bookmarks: dict[int, float]) -> None:
        for _ in range(self.rng.randint(5, 25)):
            self.one()
        for task, epoch in last_bookmarks.items():
            # Same second as the bookmark: just after it, and 1 microsecond after it.
            self.sim.update_cases(
                task, case_ids=[self.random_case(task)], at=epoch + self.rng.uniform(0.05, 0.95)
            )
            self.sim.update_cases(task, case_ids=[self.random_case(task)], at=epoch + 1e-6)
            state = self.rng.choice(STATES)
            self.sim.set_labeling_state(
                task, self.random_case(task), state, at=epoch + self.rng.uniform(0.05, 0.95)
            )
            self.sim.add_cases(task, count=1, at=epoch + self.rng.uniform(0.05, 0.95))
            self.counts["same_second"] += 4


class DuringRun:
    """Changes made while the tap runs: from the request path, and from a timer thread."""

    def __init__(self, sim: Sim, changes: Changes, monkeypatch: pytest.MonkeyPatch) -> None:
        self.sim = sim
        self.changes = changes
        self.active = False
        self.calls: dict[int, int] = {}
        self.made = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        original = sim.store.select

        def select(task: Any, *args: Any) -> Any:
            found = original(task, *args)
            if self.active:
                task_id = task.info.task_id
                self.calls[task_id] = self.calls.get(task_id, 0) + 1
                if self.calls[task_id] == 1:
                    sim.update_cases(task_id, case_ids=[self.changes.random_case(task_id)])
                    self.made += 1
                elif self.calls[task_id] == 3:
                    sim.update_cases(task_id, case_ids=[task.cases[0].case_id])
                    self.made += 1
            return found

        monkeypatch.setattr(sim.store, "select", select)

    def __enter__(self) -> DuringRun:
        self.active = True
        self.calls = {}
        self._stop.clear()
        self._thread = threading.Thread(target=self._tick, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.active = False

    def _tick(self) -> None:
        while not self._stop.wait(0.02):
            self.changes.one()
            self.made += 1


def _epoch(bookmark: str) -> float:
    return datetime.fromisoformat(bookmark).timestamp()


def _task_bookmarks(state: dict[str, Any] | None) -> dict[int, float]:
    """The latest bookmark of each task (a task has one per labeling state)."""
    found: dict[int, float] = {}
    for (task, _), value in partition_bookmarks(state).items():
        found[task] = max(found.get(task, _epoch(value)), _epoch(value))
    return found


def _changed_since(sim: Sim, state: dict[str, Any] | None) -> set[tuple[int, int]]:
    """Cases updated after their partition's bookmark (all cases of unbookmarked ones)."""
    marks = partition_bookmarks(state)
    changed = set()
    for row in sim.truth_meta():
        mark = marks.get((row["task_id"], None)) or marks.get(
            (row["task_id"], row["labeling_state"])
        )
        if mark is None or row["updated_at"] > _epoch(mark):
            changed.add((row["task_id"], row["case_id"]))
    return changed


@pytest.mark.parametrize("labeling_state", [None, list(STATES)], ids=["all", "six-states"])
def test_incremental_runs_on_moving_data_miss_nothing(
    make_sim, tap, figures, monkeypatch, labeling_state
):
    sim = make_sim(tasks=3, cases=(400, 250, 150), page_size=25, latency_ms=5)
    versions = Versions(sim, monkeypatch)
    changes = Changes(sim, seed=31337)
    during = DuringRun(sim, changes, monkeypatch)
    extra = {"labeling_state": labeling_state} if labeling_state else {}
    config = login_config(sim.url, TASKS, page_size=25, **extra)

    latest: dict[tuple[int, int], int] = {}
    output: list[dict[str, Any]] = []
    state: dict[str, Any] | None = None
    emitted_per_run: list[int] = []
    for number in range(INCREMENTAL_RUNS + 2):  # a full sync, 12 incremental runs, a quiet one
        quiet = number == INCREMENTAL_RUNS + 1
        if number and not quiet:
            changes.between_runs(_task_bookmarks(state))
        pending = _changed_since(sim, state)
        versions.moved.clear()
        versions.watching = not quiet and labeling_state is not None
        if quiet:
            run = tap.run(config, state, log_level="DEBUG")
        else:
            with during:
                run = tap.run(config, state, log_level="DEBUG")
        versions.watching = False
        # A case that moved to another state during the run may have left its partition
        # before that partition was read, and joined one already read: the next run has it.
        _check_run(run, sim, state, pending - versions.moved, versions, latest)
        output.extend(run.records)
        emitted_per_run.append(len(run.records))
        state = run.final_state

    truth = sim.truth_by_key()
    final = {(r["task_id"], r["case_id"]): r for r in output}
    missing = truth.keys() - final.keys()
    assert not missing, f"{len(missing)} cases never emitted, e.g. {sorted(missing)[:5]}"
    stale = [key for key, record in final.items() if record != truth[key]]
    assert not stale, f"{len(stale)} cases end on an old version: {_explain(sim, state, stale)}"
    figures.update(
        changes_between_runs=changes.counts,
        changes_during_runs=during.made,
        records_per_run=emitted_per_run,
        cases_at_end=len(truth),
    )


def _explain(sim: Sim, state: dict[str, Any] | None, keys: Iterable[tuple[int, int]]) -> str:
    """Update time, labeling state and partition bookmark of a few cases."""
    meta = {(row["task_id"], row["case_id"]): row for row in sim.truth_meta()}
    marks = partition_bookmarks(state)
    shown = []
    for key in sorted(keys)[:5]:
        row = meta[key]
        mark = marks.get((key[0], None)) or marks.get((key[0], row["labeling_state"]))
        shown.append(
            f"{key} updated {row['updated_at_iso']} ({row['labeling_state']}), bookmark {mark}"
        )
    return "; ".join(shown)


def _check_run(  # noqa: PLR0917
    run: Run,
    sim: Sim,
    state: dict[str, Any] | None,
    pending: set[tuple[int, int]],
    versions: Versions,
    latest: dict[tuple[int, int], int],
) -> None:
    assert run.exit_code == 0, run.stderr[-3000:]
    emitted = set(run.keys)
    missed = pending - emitted
    assert not missed, f"{len(missed)} changed cases not emitted: {_explain(sim, state, missed)}"
    # Incremental: only cases updated after their bookmark (checked with their update time now,
    # which is never earlier than when they were emitted).
    extra = emitted - _changed_since(sim, state)
    assert not extra, f"{len(extra)} unchanged cases were re-read, e.g. {sorted(extra)[:5]}"
    for record in run.records:
        key = (record["task_id"], record["case_id"])
        number = versions.index(record)
        assert number >= latest.get(key, -1), f"case {key} went back from version {latest[key]}"
        latest[key] = number


def test_records_are_written_when_the_state_does_not_change(make_sim, tap, monkeypatch):
    sim = make_sim(tasks=2, cases=(120, 80), page_size=50)
    config = login_config(sim.url, (101, 102), page_size=50)
    # As with `select: [task_results.*]` in meltano.yml: task_results is the last stream.
    catalog = tap.catalog_selecting(config, ["task_results"])
    first = tap.run(config, log_level="DEBUG", args=("--catalog", str(catalog)))
    assert first.exit_code == 0, first.stderr[-3000:]
    changed = {(101, case) for case in sim.update_cases(101, count=7, rng_seed=1)}
    changed |= {(102, case) for case in sim.update_cases(102, count=3, rng_seed=2)}
    # Without a Date header the tap keeps each bookmark where it was: the state does not change.
    monkeypatch.setattr(SimHandler, "date_time_string", lambda self, timestamp=None: "no date")
    second = tap.run(config, first.final_state, log_level="DEBUG", args=("--catalog", str(catalog)))
    assert second.exit_code == 0, second.stderr[-3000:]
    assert "no usable Date header" in second.stderr
    assert partition_bookmarks(second.final_state or first.final_state) == partition_bookmarks(
        first.final_state
    )
    assert changed <= set(second.keys), f"{len(changed - set(second.keys))} updated cases lost"


def test_a_case_moving_between_states_during_a_run_never_goes_back_a_version(
    make_sim, tap, monkeypatch
):
    sim = make_sim(tasks=1, cases=300, page_size=10, latency_ms=15)
    rows = sim.truth_meta(101)
    long_ago = min(row["updated_at"] for row in rows)
    for row in rows[:-1]:
        sim.set_labeling_state(101, row["case_id"], "Ready", at=long_ago)
    moving = rows[-1]["case_id"]  # the last case by sequence id: read last in "Ready"
    sim.set_labeling_state(101, moving, "Labeled", at=long_ago)
    versions = Versions(sim, monkeypatch)
    original = sim.store.select
    served, moved = threading.Event(), threading.Event()

    def select(task: Any, after: Any, state: Any, *rest: Any) -> Any:
        if served.is_set() and not moved.is_set():
            # Served as "Labeled" (version 0); now it moves to "Ready" (version 1), whose
            # partition is being paged through and has yet to reach it.
            sim.set_labeling_state(101, moving, "Ready")
            moved.set()
        found = original(task, after, state, *rest)
        if state == "Labeled" and any(case.case_id == moving for case in found[0]):
            served.set()
        return found

    monkeypatch.setattr(sim.store, "select", select)
    config = login_config(sim.url, [101], page_size=10, labeling_state=["Ready", "Labeled"])
    run = tap.run(config, log_level="DEBUG")
    assert run.exit_code == 0, run.stderr[-3000:]
    # A tap that reads "Labeled" only after "Ready" never sees the move within the run.
    emitted = [versions.index(r) for r in run.records if r["case_id"] == moving]
    assert emitted == sorted(emitted), f"case {moving} emitted as versions {emitted}, in that order"
