"""Scenario 2, kill and resume: chains of SIGKILLs at seeded random points, then a resume.

After every run: a bookmarked partition has all its cases in the output so far; a run's repeats
lie in at most `max_parallel_tasks` partitions unbookmarked at its start; no run emits a case
twice. After each chain's resume the output is every case."""

from __future__ import annotations

import random
import signal
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from tests.harness import Run, Stop, login_config, partition_bookmarks

TASKS = (101, 102, 103, 104)
CASES = (600, 350, 0, 450)
KILLS = 12
KILLS_PER_CHAIN = 3
SEED = 5151
PARALLEL = 2


@dataclass
class Ledger:
    """Everything emitted so far in one chain of runs."""

    truth: dict[int, set[tuple[int, int]]]
    union: set[tuple[int, int]] = field(default_factory=set)
    repeats: list[int] = field(default_factory=list)

    def absorb(self, run: Run, started_from: dict[str, Any] | None) -> None:
        """Check one run against what was emitted before it, then add its output."""
        counts = Counter(run.keys)
        twice = [key for key, n in counts.items() if n > 1]
        assert not twice, f"one run emitted cases twice: {twice[:5]}"
        repeated = set(counts) & self.union
        tasks = {task for task, _ in repeated}
        assert len(tasks) <= PARALLEL, f"repeats span more partitions than run at once: {tasks}"
        done_before = {task for task, _ in partition_bookmarks(started_from)}
        assert not tasks & done_before, f"a bookmarked partition was re-read: {tasks}"
        self.repeats.append(len(repeated))
        self.union |= set(counts)
        for state in run.states:
            for task, _ in partition_bookmarks(state):
                lost = self.truth[task] - self.union
                assert not lost, f"task {task} bookmarked with {len(lost)} cases never emitted"


def test_sigkill_at_random_points_then_resume_loses_nothing(make_sim, tap, figures):
    sim = make_sim(tasks=len(TASKS), cases=CASES, page_size=50, latency_ms=3)
    # A STATE after every task: the repeats a kill causes are bounded by the tasks in flight.
    settings = {"page_size": 50, "max_parallel_tasks": PARALLEL, "state_interval_seconds": 0}
    config = login_config(sim.url, TASKS, **settings)
    truth, everything = {task: sim.keys(task) for task in TASKS}, sim.keys()

    # A process of its own: its start-up time aims the kills by delay.
    reference = tap.run(config, log_level="DEBUG", in_subprocess=True)
    assert reference.exit_code == 0 and set(reference.keys) == everything, reference.stderr[-3000:]
    startup = reference.first_output or 0.0
    bytes_per_case = len(reference.stdout) / len(everything)
    seconds_per_case = (reference.duration - startup) / len(everything)

    rng = random.Random(SEED)  # noqa: S311 - reproducible kill points
    kills: Counter[str] = Counter()
    ledgers: list[Ledger] = []
    while kills["landed"] < KILLS and len(ledgers) < 2 * KILLS // KILLS_PER_CHAIN:
        ledger = Ledger(truth)
        ledgers.append(ledger)
        state: dict[str, Any] | None = None
        landed = attempts = 0
        while landed < KILLS_PER_CHAIN and attempts < 2 * KILLS_PER_CHAIN:
            attempts += 1
            # Aim inside what this run still has to emit (resumed runs emit less).
            done = {task for task, _ in partition_bookmarks(state)}
            remaining = sum(len(truth[task]) for task in TASKS if task not in done)
            if not remaining:
                break
            if rng.random() < 0.6:
                stop = Stop(after_bytes=rng.randrange(0, int(remaining * bytes_per_case)))
            else:
                limit = startup + remaining * seconds_per_case
                stop = Stop(after_seconds=rng.uniform(startup / 2, limit))
            killed = tap.run(config, state, log_level="DEBUG", stop=stop)
            ledger.absorb(killed, state)
            kills["attempted"] += 1
            if killed.stopped:
                landed += 1
                assert killed.exit_code == -signal.SIGKILL
                kills.update(
                    landed=1,
                    by_bytes=stop.after_bytes is not None,
                    before_any_record=not killed.keys,
                    mid_partition=bool(killed.records_after_last_state()),
                    with_a_cut_last_line=bool(killed.partial_tail),
                )
            else:  # the run finished before the kill point: fine, and counted
                assert killed.exit_code == 0, killed.stderr[-3000:]
            state = killed.final_state or state
        resumed = tap.run(config, state, log_level="DEBUG")
        assert resumed.exit_code == 0, resumed.stderr[-3000:]
        ledger.absorb(resumed, state)
        assert ledger.union == everything, f"lost: {sorted(everything - ledger.union)[:5]}"
        assert {task for task, _ in partition_bookmarks(resumed.final_state)} == set(TASKS)

    assert kills["landed"] >= KILLS, f"only {kills['landed']} of {kills['attempted']} runs killed"
    figures.update(
        kills=dict(kills),
        repeats_per_completing_resume=[ledger.repeats[-1] for ledger in ledgers],
        max_repeats_in_a_run=max(max(ledger.repeats) for ledger in ledgers),
        runs=tap.count,
    )
