"""Scenario 3, moving data: after each of 12 incremental runs while cases change (between and
during runs; all states or six partitions), nothing changed is missed, nothing unchanged re-read,
no case goes back a version; at the end the output's versions are the simulator's."""

from __future__ import annotations

import contextlib
import json
import random
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

import pytest

from centaur_sim.server import SimHandler
from centaur_sim.store import Case
from tap_centaur.schemas import CASE_RESULT_SCHEMA
from tests.harness import Sim, as_emitted, login_config, partition_bookmarks
from tests.reliability import TASKS, bookmark_of, changed_since, random_case, same_second_updates

STATES = ("Ready", "Active", "Labeled", "Gold Standard", "Canceled", "Flagged")
INCREMENTAL_RUNS = 12


class Versions:
    """Every version of every case the simulator has held, in order; while `watching`, the
    cases that moved to another labeling state."""

    def __init__(self, sim: Sim, monkeypatch: pytest.MonkeyPatch) -> None:
        self.lock = threading.Lock()
        self.history = {record["case_id"]: [record] for record in sim.emitted()}
        self.moved: set[tuple[int, int]] = set()
        self.watching = False
        original = Case.replace

        def replace(case: Case, record: dict[str, Any], updated_us: int) -> None:
            before = getattr(case, "state", None)
            original(case, record, updated_us)
            with self.lock:
                if self.watching and before not in (None, case.state):
                    self.moved.add((record["task_id"], case.case_id))
                emitted = as_emitted([json.loads(case.body)], CASE_RESULT_SCHEMA)
                self.history.setdefault(case.case_id, []).extend(emitted)

        monkeypatch.setattr(Case, "replace", replace)

    def index(self, record: dict[str, Any]) -> int:
        """The latest version number whose content equals `record`."""
        with self.lock:
            versions = self.history.get(record["case_id"], [])
            for number in reversed(range(len(versions))):
                if versions[number] == record:
                    return number
        raise AssertionError(f"case {record['case_id']}: the output holds a version never served")


class Changes:
    """Seeded changes: between runs (some in each bookmark's second) and, within `during()`,
    from a timer thread and from the request path (at each task's first and third page)."""

    def __init__(self, sim: Sim, monkeypatch: pytest.MonkeyPatch) -> None:
        self.sim = sim
        self.rng = random.Random(31337)  # noqa: S311 - reproducible changes
        self.counts: Counter[str] = Counter()
        self.pages: Counter[int] | None = None
        original = sim.store.select

        def select(task: Any, *args: Any) -> Any:
            found = original(task, *args)
            if self.pages is not None:
                task_id = task.info.task_id
                self.pages[task_id] += 1
                if self.pages[task_id] in (1, 3):  # a case of page 1 once page 1 is behind
                    case = self.case(task_id) if self.pages[task_id] == 1 else task.cases[0].case_id
                    sim.update_cases(task_id, case_ids=[case])
                    self.counts["during runs"] += 1
            return found

        monkeypatch.setattr(sim.store, "select", select)

    def _tick(self, stop: threading.Event) -> None:
        while not stop.wait(0.02):
            self.one()

    def case(self, task: int) -> int:
        return random_case(self.sim, self.rng, task)

    def one(self) -> None:
        """An update, a new case or a labeling-state change."""
        task, kind, sim = self.rng.choice(TASKS), self.rng.random(), self.sim
        if kind < 0.5:
            sim.update_cases(task, case_ids=[self.case(task)])
        elif kind < 0.7:
            sim.add_cases(task, count=self.rng.randint(1, 3))
        else:
            sim.set_labeling_state(task, self.case(task), self.rng.choice(STATES))
        self.counts["random"] += 1

    def between_runs(self, state: dict[str, Any] | None) -> None:
        for _ in range(self.rng.randint(5, 25)):
            self.one()
        for task, moment in same_second_updates(self.sim, state, self.rng).items():
            at = moment + self.rng.uniform(0.05, 0.95)
            self.sim.set_labeling_state(task, self.case(task), self.rng.choice(STATES), at)
            self.sim.add_cases(task, count=1, at=at)
            self.counts["in a bookmark's second"] += 4

    @contextlib.contextmanager
    def during(self) -> Iterator[None]:
        stop, self.pages = threading.Event(), Counter()
        thread = threading.Thread(target=self._tick, args=(stop,), daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()
            self.pages = None


def _explain(sim: Sim, state: dict[str, Any] | None, keys: Iterable[tuple[int, int]]) -> str:
    """Update time, labeling state and partition bookmark of a few cases."""
    meta = {(row["task_id"], row["case_id"]): row for row in sim.truth_meta()}
    marks = partition_bookmarks(state)
    return "; ".join(
        f"{key} updated {meta[key]['updated_at_iso']} ({meta[key]['labeling_state']}), "
        f"bookmark {bookmark_of(marks, meta[key])}"
        for key in sorted(keys)[:5]
    )


@pytest.mark.parametrize("labeling_state", [None, list(STATES)], ids=["all", "six-states"])
def test_incremental_runs_on_moving_data_miss_nothing(
    make_sim, tap, figures, monkeypatch, labeling_state
):
    sim = make_sim(tasks=3, cases=(400, 250, 150), page_size=25, latency_ms=5)
    versions, changes = Versions(sim, monkeypatch), Changes(sim, monkeypatch)
    extra = {"labeling_state": labeling_state} if labeling_state else {}
    config = login_config(sim.url, TASKS, page_size=25, **extra)
    latest: dict[tuple[int, int], int] = {}
    final: dict[tuple[int, int], dict[str, Any]] = {}
    state: dict[str, Any] | None = None
    per_run = []
    for number in range(INCREMENTAL_RUNS + 2):  # a full sync, 12 incremental runs, a quiet one
        quiet = number == INCREMENTAL_RUNS + 1
        if number and not quiet:
            changes.between_runs(state)
        pending = changed_since(sim, state)
        versions.moved.clear()
        versions.watching = not quiet and labeling_state is not None
        with contextlib.nullcontext() if quiet else changes.during():
            run = tap.run(config, state, log_level="DEBUG")
        versions.watching = False
        assert run.exit_code == 0, run.stderr[-3000:]
        # A case that moved to another state during the run may have left its partition
        # before that partition was read, and joined one already read: the next run has it.
        missed = pending - versions.moved - set(run.keys)
        assert not missed, (
            f"{len(missed)} changed cases not emitted: {_explain(sim, state, missed)}"
        )
        # Only cases updated after their bookmark (by their update time now, never earlier).
        reread = set(run.keys) - changed_since(sim, state)
        assert not reread, f"{len(reread)} unchanged cases re-read, e.g. {sorted(reread)[:5]}"
        for record in run.records:
            key, version = (record["task_id"], record["case_id"]), versions.index(record)
            assert version >= latest.get(key, -1), (
                f"case {key} went back from version {latest[key]}"
            )
            latest[key], final[key] = version, record
        per_run.append(len(run.records))
        state = run.final_state

    truth = sim.truth_by_key()
    stale = [key for key in truth if final.get(key) != truth[key]]
    assert not stale, f"{len(stale)} cases missing or old: {_explain(sim, state, stale)}"
    figures.update(changes=dict(changes.counts), records_per_run=per_run, cases=len(truth))


def test_records_are_written_when_the_state_does_not_change(make_sim, tap, monkeypatch):
    sim = make_sim(tasks=2, cases=(120, 80), page_size=50)
    config = login_config(sim.url, (101, 102), page_size=50)
    # As with `select: [task_results.*]` in meltano.yml: task_results is the last stream.
    args = ("--catalog", str(tap.catalog_selecting(config, ["task_results"])))
    first = tap.run(config, log_level="DEBUG", args=args)
    assert first.exit_code == 0, first.stderr[-3000:]
    changed = {(101, case) for case in sim.update_cases(101, count=7, rng_seed=1)}
    changed |= {(102, case) for case in sim.update_cases(102, count=3, rng_seed=2)}
    # Without a Date header the tap keeps each bookmark where it was: the state does not change.
    monkeypatch.setattr(SimHandler, "date_time_string", lambda self, timestamp=None: "no date")
    second = tap.run(config, first.final_state, log_level="DEBUG", args=args)
    assert second.exit_code == 0, second.stderr[-3000:]
    assert "no usable Date header" in second.stderr
    marks = partition_bookmarks(first.final_state)
    assert partition_bookmarks(second.final_state or first.final_state) == marks
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
