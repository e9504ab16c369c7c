"""Scenario 7, clocks that disagree: incremental runs of each variant (in lockstep, sharing the
waits) miss no case unless a lagging case clock outruns the lookback; no bookmark is later than
either clock minus the lookback; a skew over a minute is one warning naming both times."""

from __future__ import annotations

import random
import re
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from tests.harness import LIST, Sim, login_config, partition_bookmarks
from tests.reliability import SIM, TASKS, changed_since, epoch, random_case, same_second_updates

YEAR = 365 * 86400
INCREMENTAL_RUNS = 3
SKEW_WARNING = re.compile(
    r"The API's clock \(Date: (?P<server>[^)]+)\) and this machine's clock \((?P<local>[^)]+)\)"
)
VARIANTS: dict[str, dict[str, Any]] = {
    "in sync": {},
    "in sync, lookback 0": {"lookback": 0},
    "Date 30 s ahead": {"date_offset": 30},
    "Date 5 min ahead": {"date_offset": 300},
    "Date a year ahead": {"date_offset": YEAR},
    "Date 2 min behind": {"date_offset": -120},
    "one answer a year ahead": {"future_answer_in_run": 1},
    "case clock 30 s behind": {"case_clock_lag": 30},
    "case clock 30 s behind, lookback 0": {"case_clock_lag": 30, "lookback": 0},
}


@dataclass
class Variant:
    """The API's Date minus the real time (s); how far the clock stamping case updates lags;
    lookback_seconds (None: the default, 300 s); the incremental run in which task 101's first
    answer is a year ahead. Then its simulator and what its runs found."""

    name: str
    date_offset: float = 0
    case_clock_lag: float = 0
    lookback: int | None = None
    future_answer_in_run: int | None = None
    sim: Sim = field(init=False)
    rng: random.Random = field(init=False)
    state: dict[str, Any] | None = None
    last_emitted: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    missed: set[tuple[int, int]] = field(default_factory=set)
    late_bookmarks: list[str] = field(default_factory=list)
    figures: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))

    @property
    def lookback_used(self) -> int:
        return 300 if self.lookback is None else self.lookback

    @property
    def loses_lagging_cases(self) -> bool:
        """A case clock lagging more than the lookback: the cases it stamps late are missed."""
        return self.case_clock_lag > self.lookback_used

    def run(self, tap, number: int) -> None:
        """Run the tap once from the variant's state and check what a target relies on."""
        future = number == self.future_answer_in_run
        if future:
            self.sim.script_faults([{"kind": "future_date", "path": LIST, "task_id": 101}])
        # Every case whose version differs from the one last emitted (by update time or not).
        pending = {k for k, r in self.sim.truth_by_key().items() if self.last_emitted.get(k) != r}
        extra = {} if self.lookback is None else {"lookback_seconds": self.lookback}
        run = tap.run(login_config(self.sim.url, TASKS, page_size=20, **extra), self.state)
        finished, label = time.time(), f"{self.name}, run {number}"
        assert run.exit_code == 0, f"{label}: {run.stderr[-3000:]}"

        missed = pending - set(run.keys)
        assert not missed or self.loses_lagging_cases, f"{label}: missed {sorted(missed)[:5]}"
        self.missed |= missed
        emitted = list(zip(run.keys, run.records, strict=True))
        rereads = sum(self.last_emitted.get(key) == record for key, record in emitted)
        self.figures["rereads_per_run"].append(rereads)
        self.figures["records_per_run"].append(len(run.records))
        self.last_emitted.update(emitted)

        # Never later than either clock at the end of the run, minus the lookback (checked
        # at the end of the test: a case missed because of it says more).
        latest = finished + min(0.0, self.date_offset) - self.lookback_used
        marks = partition_bookmarks(run.final_state)
        assert set(marks) == {(task, None) for task in TASKS}, f"{label}: {marks}"
        self.late_bookmarks += [
            f"{label}: task {task} bookmarked at {mark}, after {latest:.3f}"
            for (task, _), mark in marks.items()
            if epoch(mark) > latest
        ]

        skews = [
            (datetime.fromisoformat(m["server"]) - datetime.fromisoformat(m["local"]))
            for m in SKEW_WARNING.finditer(run.stderr)
        ]
        assert len(skews) == int(abs(self.date_offset) > 60 or future), f"{label}: {skews}"
        for skew in skews:  # both times named, as they were
            expected = YEAR if future else self.date_offset
            assert abs(skew.total_seconds() - expected) < 5, f"{label}: skew {skew}"
        self.figures["skew_warnings_per_run"].append(len(skews))
        self.state = run.final_state

    def change(self, after: float) -> None:
        """Updates 1-3 s after `after` (on the lagging case clock) and in each bookmark's second."""
        for task in (*(self.rng.choice(TASKS) for _ in range(4)), None):
            at = after + self.rng.uniform(1, 3) - self.case_clock_lag
            if task is None:
                self.sim.add_cases(self.rng.choice(TASKS), count=2, at=at)
            else:
                self.sim.update_cases(task, case_ids=[random_case(self.sim, self.rng, task)], at=at)
        same_second_updates(self.sim, self.state, self.rng)


def test_incremental_runs_under_clock_skew_miss_nothing(make_sim, tap, figures):
    variants = [Variant(name, **spec) for name, spec in VARIANTS.items()]
    for variant in variants:
        variant.sim = make_sim(**SIM, date_offset_seconds=variant.date_offset)
        variant.rng = random.Random(variant.name)  # noqa: S311 - reproducible changes
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
        # What the lookback is for: without it, a case clock that lags loses cases.
        assert bool(variant.missed) == variant.loses_lagging_cases, variant.name
        figures[variant.name] = {**variant.figures, "cases_missed": len(variant.missed)}
    rereads = {v.name: sum(v.figures["rereads_per_run"]) for v in variants}
    cost = rereads["in sync"] - rereads["in sync, lookback 0"]
    assert cost > 0, "the default lookback re-read nothing: it is not applied"
    figures["lookback_cost_in_rereads"] = cost


def test_a_bookmark_later_than_both_clocks_is_not_trusted(make_sim, tap, figures):
    sim = make_sim(**SIM, date_offset_seconds=30)
    first = tap.run(login_config(sim.url, TASKS, page_size=20))
    assert first.exit_code == 0 and first.final_state, first.stderr[-3000:]
    # start_date: the median case's update time, in whole seconds (half the cases are after).
    updates = sorted(row["updated_at"] for row in sim.truth_meta())
    start_date = datetime.fromtimestamp(int(updates[len(updates) // 2]), timezone.utc)
    for task in TASKS:
        sim.update_cases(task, count=3, rng_seed=task)
    just_beyond = datetime.now(timezone.utc) + timedelta(seconds=30 + 90)  # the API's clock + 90 s
    future = {101: "2099-01-01T00:00:00+00:00", 102: just_beyond.replace(microsecond=0).isoformat()}
    state = first.final_state
    for partition in state["bookmarks"]["task_results"]["partitions"]:
        task = partition["context"]["task_id"]
        partition["replication_key_value"] = future.get(task, partition["replication_key_value"])

    for label, extra in (("full", {}), ("start_date", {"start_date": start_date.isoformat()})):
        pending = {key for key in changed_since(sim, state) if key[0] == 103}
        run = tap.run(login_config(sim.url, TASKS, page_size=20, **extra), state)
        assert run.exit_code == 0, run.stderr[-3000:]
        since = start_date.timestamp() if extra else float("-inf")
        again = f"again from {start_date.isoformat() if extra else 'the start'}"
        for task, mark in future.items():
            lines = [
                line for line in run.stderr.splitlines() if f"task {task}: the bookmark" in line
            ]
            assert len(lines) == 1 and mark in lines[0] and again in lines[0], f"{label}: {lines}"
            assert "later than both" in lines[0], lines[0]
            expected = {
                (task, r["case_id"]) for r in sim.truth_meta(task) if r["updated_at"] > since
            }
            assert {key for key in run.keys if key[0] == task} == expected, f"{label}: task {task}"
            new_mark = partition_bookmarks(run.final_state)[(task, None)]
            assert epoch(new_mark) <= time.time(), f"{label}: task {task} bookmarked at {new_mark}"
        # Task 103's bookmark was a real one: only its changed cases are read.
        assert {key for key in run.keys if key[0] == 103} == pending, label
        figures[label] = sum(1 for key in run.keys if key[0] in future)


def test_a_slow_body_does_not_move_the_local_clocks_bookmark_past_the_request(make_sim, tap):
    """This machine's clock (the API's `Date` is 2 min ahead) bookmarks from when the answer's
    headers came, not its last byte: the only page takes ~3.5 s; a case updated 1.5 s after the
    start must be read by the next run."""
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
