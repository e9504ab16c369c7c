"""Scenario 7, clocks that disagree: incremental runs under clock skew miss no case.

Variants (in lockstep, sharing the waits): the API's `Date` in sync, ahead, behind; one answer
a year ahead; the case clock lagging; `lookback_seconds` 0. After every run nothing is missed
(except, as asserted, a lagging case clock without lookback), no bookmark is later than
either clock minus the lookback, and a skew warning names both times when they differ by
more than a minute. Re-reads are counted: the cost of the lookback.
"""

from __future__ import annotations

import random
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from tests.harness import LIST, Run, Sim, SimFactory, TapRunner, login_config, partition_bookmarks

TASKS = (101, 102, 103)
SIM = {"tasks": 3, "cases": (60, 40, 20), "page_size": 20}
YEAR = 365 * 86400
DEFAULT_LOOKBACK = 300
INCREMENTAL_RUNS = 3
SKEW_WARNING = re.compile(
    r"The API's clock \(Date: (?P<server>[^)]+)\) and this machine's clock \((?P<local>[^)]+)\)"
)


@dataclass(frozen=True)
class Clocks:
    """How the clocks of one variant disagree."""

    name: str
    #: The API's Date header minus the real time, seconds.
    date_offset: float = 0
    #: The clock that stamps case updates runs this many seconds behind the real time.
    case_clock_lag: float = 0
    #: `lookback_seconds` (None: the default).
    lookback: int | None = None
    #: The incremental run (1..) in which one answer, a task's first page, is a year ahead.
    future_answer_in_run: int | None = None

    @property
    def lookback_used(self) -> int:
        return DEFAULT_LOOKBACK if self.lookback is None else self.lookback

    @property
    def loses_lagging_cases(self) -> bool:
        """A lagging case clock without lookback: the cases it stamps late are missed."""
        return self.case_clock_lag > self.lookback_used

    def warnings_expected(self, run_number: int) -> int:
        return int(abs(self.date_offset) > 60 or run_number == self.future_answer_in_run)

    def skew_expected(self, run_number: int) -> float:
        return YEAR if run_number == self.future_answer_in_run else self.date_offset


VARIANTS = (
    Clocks("in sync"),
    Clocks("in sync, lookback 0", lookback=0),
    Clocks("Date 30 s ahead", date_offset=30),
    Clocks("Date 5 min ahead", date_offset=300),
    Clocks("Date a year ahead", date_offset=YEAR),
    Clocks("Date 2 min behind", date_offset=-120),
    Clocks("one answer a year ahead", future_answer_in_run=1),
    Clocks("case clock 30 s behind", case_clock_lag=30),
    Clocks("case clock 30 s behind, lookback 0", case_clock_lag=30, lookback=0),
)


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def changed_since(sim: Sim, state: dict[str, Any] | None) -> set[tuple[int, int]]:
    """Cases updated after their task's bookmark (every case of a task without one)."""
    marks = partition_bookmarks(state)
    changed = set()
    for row in sim.truth_meta():
        mark = marks.get((row["task_id"], None))
        if mark is None or row["updated_at"] > _epoch(mark):
            changed.add((row["task_id"], row["case_id"]))
    return changed


def skew_warnings(run: Run) -> list[tuple[datetime, datetime]]:
    """(API's time, this machine's time) of each clock-skew warning of a run."""
    return [
        (datetime.fromisoformat(m["server"]), datetime.fromisoformat(m["local"]))
        for m in SKEW_WARNING.finditer(run.stderr)
    ]


@dataclass
class Variant:
    """One variant's simulator, state and what it has emitted so far."""

    clocks: Clocks
    sim: Sim
    seed: int
    state: dict[str, Any] | None = None
    last_emitted: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    records: list[int] = field(default_factory=list)
    rereads: list[int] = field(default_factory=list)
    missed: set[tuple[int, int]] = field(default_factory=set)
    warnings: list[int] = field(default_factory=list)
    late_bookmarks: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)  # noqa: S311 - reproducible changes

    @property
    def config(self) -> dict[str, Any]:
        extra = {} if self.clocks.lookback is None else {"lookback_seconds": self.clocks.lookback}
        return login_config(self.sim.url, TASKS, page_size=20, **extra)

    def run(self, tap: TapRunner, number: int) -> None:
        """Run the tap once from the variant's state and check what a target relies on."""
        clocks = self.clocks
        if number == clocks.future_answer_in_run:
            self.sim.script_faults([{"kind": "future_date", "path": LIST, "task_id": 101}])
        # Every case whose version differs from the one last emitted (by update time or not).
        pending = {k for k, r in self.sim.truth_by_key().items() if self.last_emitted.get(k) != r}
        run = tap.run(self.config, self.state)
        finished = time.time()
        label = f"{clocks.name}, run {number}"
        assert run.exit_code == 0, f"{label}: {run.stderr[-3000:]}"

        missed = pending - set(run.keys)
        if not clocks.loses_lagging_cases:
            assert not missed, f"{label}: {len(missed)} changed cases missed: {sorted(missed)[:5]}"
        self.missed |= missed
        rereads = sum(1 for r in run.records if self.last_emitted.get(_key(r)) == r)
        self.rereads.append(rereads)
        self.records.append(len(run.records))
        self.last_emitted.update({_key(r): r for r in run.records})

        # Never later than either clock at the end of the run, minus the lookback (checked
        # at the end of the test: a case missed because of it says more).
        latest = finished + min(0.0, clocks.date_offset) - clocks.lookback_used
        marks = partition_bookmarks(run.final_state)
        assert set(marks) == {(task, None) for task in TASKS}, f"{label}: {marks}"
        self.late_bookmarks += [
            f"{label}: task {task} bookmarked at {mark}, later than "
            f"{datetime.fromtimestamp(latest, timezone.utc).isoformat()}"
            for (task, _), mark in marks.items()
            if _epoch(mark) > latest
        ]

        warnings = skew_warnings(run)
        assert len(warnings) == clocks.warnings_expected(number), f"{label}: {warnings}"
        for server, local in warnings:  # both times named, as they were
            skew = (server - local).total_seconds()
            assert abs(skew - clocks.skew_expected(number)) < 5, f"{label}: {server} vs {local}"
        self.warnings.append(len(warnings))
        self.state = run.final_state

    def change(self, after: float) -> None:
        """Updates 1-3 s after `after` and in the same second as each bookmark."""
        lag = self.clocks.case_clock_lag
        for _ in range(4):
            task = self.rng.choice(TASKS)
            self.sim.update_cases(
                task, case_ids=[self._case(task)], at=after + self.rng.uniform(1, 3) - lag
            )
        self.sim.add_cases(self.rng.choice(TASKS), count=2, at=after + self.rng.uniform(1, 3) - lag)
        for (task, _), mark in partition_bookmarks(self.state).items():
            epoch = _epoch(mark)
            for moment in (epoch + self.rng.uniform(0.05, 0.95), epoch + 1e-6):
                self.sim.update_cases(task, case_ids=[self._case(task)], at=moment)

    def _case(self, task: int) -> int:
        return int(self.rng.choice(self.sim.truth_meta(task))["case_id"])

    def figures(self) -> dict[str, Any]:
        return {
            "records_per_run": self.records,
            "rereads_per_run": self.rereads,
            "cases_missed": len(self.missed),
            "skew_warnings_per_run": self.warnings,
        }


def _key(record: dict[str, Any]) -> tuple[int, int]:
    return record["task_id"], record["case_id"]


def test_incremental_runs_under_clock_skew_miss_nothing(make_sim, tap, figures):
    variants = [
        Variant(clocks, make_sim(**SIM, date_offset_seconds=clocks.date_offset), seed=number)
        for number, clocks in enumerate(VARIANTS)
    ]
    for number in range(INCREMENTAL_RUNS + 1):
        for variant in variants:
            variant.run(tap, number)
        if number == INCREMENTAL_RUNS:
            break
        after = time.time()
        for variant in variants:
            variant.change(after)
        time.sleep(max(0.0, after + 3.05 - time.time()))  # every change is now in the past

    for variant in variants:
        assert not variant.late_bookmarks, variant.late_bookmarks[:3]
        if variant.clocks.loses_lagging_cases:
            # What the lookback is for: without it, a case clock that lags loses cases.
            assert variant.missed, f"{variant.clocks.name}: the lag was never felt"
        figures[variant.clocks.name] = variant.figures()
    in_sync = {v.clocks.name: v for v in variants}
    cost = sum(in_sync["in sync"].rereads) - sum(in_sync["in sync, lookback 0"].rereads)
    assert cost > 0, "the default lookback re-read nothing: it is not applied"
    figures["lookback_cost_in_rereads"] = cost


def test_a_bookmark_later_than_both_clocks_is_not_trusted(make_sim: SimFactory, tap, figures):
    sim = make_sim(**SIM, date_offset_seconds=30)
    first = tap.run(login_config(sim.url, TASKS, page_size=20))
    assert first.exit_code == 0, first.stderr[-3000:]
    # start_date: the median case's update time, in whole seconds (half the cases are after).
    updates = sorted(row["updated_at"] for row in sim.truth_meta())
    start_date = datetime.fromtimestamp(int(updates[len(updates) // 2]), timezone.utc)
    for task in TASKS:
        sim.update_cases(task, count=3, rng_seed=task)
    just_beyond = datetime.now(timezone.utc) + timedelta(seconds=30 + 90)  # the API's clock + 90 s
    future = {101: "2099-01-01T00:00:00+00:00", 102: just_beyond.replace(microsecond=0).isoformat()}
    state = first.final_state
    assert state is not None
    for partition in state["bookmarks"]["task_results"]["partitions"]:
        partition["replication_key_value"] = future.get(
            partition["context"]["task_id"], partition["replication_key_value"]
        )

    for label, extra in (("full", {}), ("start_date", {"start_date": start_date.isoformat()})):
        pending = {key for key in changed_since(sim, state) if key[0] == 103}
        run = tap.run(login_config(sim.url, TASKS, page_size=20, **extra), state)
        assert run.exit_code == 0, run.stderr[-3000:]
        since = start_date.timestamp() if extra else float("-inf")
        for task, mark in future.items():
            lines = [
                line for line in run.stderr.splitlines() if f"task {task}: the bookmark" in line
            ]
            assert len(lines) == 1, f"{label}: task {task}: {lines}"
            assert mark in lines[0] and "later than both" in lines[0], lines[0]
            assert f"again from {start_date.isoformat() if extra else 'the start'}" in lines[0]
            expected = {
                (task, row["case_id"]) for row in sim.truth_meta(task) if row["updated_at"] > since
            }
            emitted = {key for key in run.keys if key[0] == task}
            assert emitted == expected, f"{label}: task {task}: {len(expected - emitted)} skipped"
            new_mark = partition_bookmarks(run.final_state)[(task, None)]
            assert _epoch(new_mark) <= time.time(), f"{label}: task {task} bookmarked at {new_mark}"
        # Task 103's bookmark was a real one: only its changed cases are read.
        assert {key for key in run.keys if key[0] == 103} == pending, label
        figures[label] = sum(1 for key in run.keys if key[0] in future)


def test_a_slow_body_does_not_move_the_local_clocks_bookmark_past_the_request(make_sim, tap):
    """This machine's clock bookmarks from when the answer's headers came, not its last byte.

    The API's `Date` is 2 min ahead (this machine's clock decides); the only page takes ~3.5 s
    to arrive; a case updated 1.5 s after the start must be read by the next run.
    """
    sim = make_sim(
        tasks=1, cases=(1,), page_size=20, stall_byte_seconds=0.008, date_offset_seconds=120
    )
    sim.script_faults([{"kind": "stall", "path": LIST, "task_id": 101}])
    config = login_config(sim.url, [101], lookback_seconds=0, request_timeout=60)
    started = time.time()
    first = tap.run(config)
    assert first.exit_code == 0, first.stderr[-3000:]
    assert time.time() - started >= 3, "the body did not take long: the test tests nothing"
    changed = set(sim.update_cases(101, at=started + 1.5))
    second = tap.run(config, first.final_state)
    assert second.exit_code == 0, second.stderr[-3000:]
    assert {case for _, case in second.keys} == changed, partition_bookmarks(first.final_state)
