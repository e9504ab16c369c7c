"""Parallel fetching changes nothing in the output, keeps finished bookmarks, leaves no thread."""

from __future__ import annotations

import threading

import pytest

from tap_centaur.errors import PaginationError
from tap_centaur.retry import RetryPolicy
from tap_centaur.tap import TapCentaur
from tests.tap_runner import login_config, partition_bookmarks, run_tap

SIX_TASKS = {"tasks": 6, "cases": (130, 0, 260, 45, 301, 99), "page_size": 40}


def fetch_threads():
    return [t for t in threading.enumerate() if t.name.startswith("tap-centaur-fetch")]


def test_output_is_identical_for_any_parallelism(make_sim, tmp_path):
    sim = make_sim(**SIX_TASKS)
    task_ids = list(range(101, 107))
    runs = {
        p: run_tap(tmp_path, login_config(sim.url, task_ids, max_parallel_tasks=p))
        for p in (1, 3, 8)
    }
    sequences = {
        p: [(m["type"], m.get("record")) for m in run.messages if m["type"] != "STATE"]
        for p, run in runs.items()
    }
    assert sequences[1] == sequences[3] == sequences[8]
    assert len(runs[1].keys) == 835
    for run in runs.values():
        assert run.exit_code == 0, run.stderr
        assert set(partition_bookmarks(run.final_state)) == {(t, None) for t in task_ids}
        # One STATE per finished partition, each after that partition's last record.
        assert len(run.states) == len(runs[1].states)


def test_a_failing_partition_is_the_runs_error_and_earlier_bookmarks_are_kept(make_sim, tmp_path):
    sim = make_sim(**SIX_TASKS)
    sim.set_misbehaviour(104, "cursor_repeat")
    run = run_tap(tmp_path, login_config(sim.url, list(range(101, 107)), max_parallel_tasks=6))
    assert run.exit_code == 1
    assert "task 104" in [line for line in run.stderr.splitlines() if "| ERROR" in line][-1]
    assert set(partition_bookmarks(run.final_state)) == {(101, None), (102, None), (103, None)}
    emitted_tasks = {task for task, _ in run.keys}
    assert emitted_tasks <= {101, 102, 103, 104}


def test_no_fetch_thread_survives_a_sync_or_a_failure(make_sim, capsys):
    sim = make_sim(**SIX_TASKS)
    config = login_config(sim.url, list(range(101, 107)), max_parallel_tasks=4)
    TapCentaur(config=config).sync_all()
    assert fetch_threads() == []
    sim.set_misbehaviour(103, "cursor_cycle")
    with pytest.raises(PaginationError):
        TapCentaur(config=config).sync_all()
    assert fetch_threads() == []
    capsys.readouterr()


def test_a_429_pauses_every_worker_sharing_the_policy(monkeypatch):
    now = [100.0]
    slept: list[float] = []
    monkeypatch.setattr("tap_centaur.retry.time.monotonic", lambda: now[0])
    monkeypatch.setattr("tap_centaur.retry.time.sleep", slept.append)
    policy = RetryPolicy(max_retries=3, backoff_factor=0.01, request_timeout=5)

    class RateLimited(Exception):
        retry_after = 7.0

    waits = policy._waits()
    next(waits)
    assert waits.send(RateLimited()) == 7.0
    # Another worker, about to send its next request, waits out the same pause.
    policy._wait_for_shared_pause()
    assert slept == [7.0]
    now[0] += 7.0
    policy._wait_for_shared_pause()
    assert slept == [7.0]


def test_prefetch_buffer_stays_within_its_budget_and_never_deadlocks():
    from tap_centaur.prefetch import PartitionPrefetcher

    seen: list[int] = []
    holder: dict[str, PartitionPrefetcher[list[int]]] = {}

    def fetch(index):
        for page in range(6):
            seen.append(holder["p"]._buffered_records)
            yield [index * 100 + page] * 10  # 10 records a page

    for budget in (1, 25, 1000):
        seen.clear()
        prefetcher = PartitionPrefetcher(
            fetch, 5, parallelism=5, ahead_records=budget, current_pages=2
        )
        holder["p"] = prefetcher
        prefetcher.start()
        pages = [page for index in range(5) for page in prefetcher.pages(index)]
        prefetcher.close()
        assert [page[0] for page in pages] == [i * 100 + p for i in range(5) for p in range(6)]
        # Ahead-budget + the current partition's 2 pages + one page in flight per worker.
        assert max(seen) <= max(budget, 10) + 2 * 10 + 5 * 10
