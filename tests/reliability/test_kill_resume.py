"""Scenario 2, kill and resume: chains of SIGKILLs at seeded random points, then a full resume.

After every run: a bookmarked partition has all its cases in the output so far; a run's
repeats belong to at most `max_parallel_tasks` partitions not bookmarked when it started;
no run emits a case twice. After each chain's last resume the output is every case.
"""

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
    kill_sim = make_sim(tasks=len(TASKS), cases=CASES, page_size=50, latency_ms=3)
    # A STATE after every task: the repeats a kill causes are bounded by the tasks in flight.
    config = login_config(
        kill_sim.url, TASKS, page_size=50, max_parallel_tasks=PARALLEL, state_interval_seconds=0
    )
    truth = {task: kill_sim.keys(task) for task in TASKS}
    everything = set().union(*truth.values())

    # A process of its own: its start-up time aims the kills by delay.
    reference = tap.run(config, log_level="DEBUG", in_subprocess=True)
    assert reference.exit_code == 0, reference.stderr[-3000:]
    assert set(reference.keys) == everything
    startup = reference.first_output or 0.0
    bytes_per_case = len(reference.stdout) / len(everything)
    seconds_per_case = (reference.duration - startup) / len(everything)

    rng = random.Random(SEED)  # noqa: S311 - reproducible kill points
    kills: list[dict[str, Any]] = []
    resume_repeats: list[int] = []
    all_repeats: list[int] = []
    chains = 0
    while sum(k["killed"] for k in kills) < KILLS and chains < 2 * KILLS // KILLS_PER_CHAIN:
        chains += 1
        ledger = Ledger(truth)
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
                stop = Stop(
                    signal.SIGKILL, after_bytes=rng.randrange(0, int(remaining * bytes_per_case))
                )
            else:
                limit = startup + remaining * seconds_per_case
                stop = Stop(signal.SIGKILL, after_seconds=rng.uniform(startup / 2, limit))
            killed = tap.run(config, state, log_level="DEBUG", stop=stop)
            ledger.absorb(killed, state)
            kills.append(
                {
                    "by": "bytes" if stop.after_bytes is not None else "delay",
                    "killed": killed.stopped,
                    "records": len(killed.keys),
                    "after_last_state": len(killed.records_after_last_state()),
                    "cut_line": bool(killed.partial_tail),
                }
            )
            if killed.stopped:
                landed += 1
                assert killed.exit_code == -signal.SIGKILL
            else:  # the run finished before the kill point: fine, and counted
                assert killed.exit_code == 0, killed.stderr[-3000:]
            state = killed.final_state or state
        resumed = tap.run(config, state, log_level="DEBUG")
        assert resumed.exit_code == 0, resumed.stderr[-3000:]
        ledger.absorb(resumed, state)
        resume_repeats.append(ledger.repeats[-1])
        all_repeats.extend(ledger.repeats)
        assert ledger.union == everything, f"lost: {sorted(everything - ledger.union)[:5]}"
        assert {task for task, _ in partition_bookmarks(resumed.final_state)} == set(TASKS)

    really_killed = [k for k in kills if k["killed"]]
    assert len(really_killed) >= KILLS, (
        f"only {len(really_killed)} of {len(kills)} runs were killed"
    )
    figures.update(
        kills_attempted=len(kills),
        kills_landed=len(really_killed),
        kills_by_bytes=sum(1 for k in really_killed if k["by"] == "bytes"),
        killed_before_any_record=sum(1 for k in really_killed if k["records"] == 0),
        killed_mid_partition=sum(1 for k in really_killed if k["after_last_state"]),
        killed_with_a_cut_last_line=sum(1 for k in really_killed if k["cut_line"]),
        repeats_per_completing_resume=resume_repeats,
        max_repeats_in_a_run=max(all_repeats),
        runs=tap.count,
    )
