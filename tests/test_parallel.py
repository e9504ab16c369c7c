"""Parallel fetching changes nothing in the output, keeps finished bookmarks, leaves no thread."""

from __future__ import annotations

import json
import re
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from singer_sdk import RESTStream

from tap_centaur.errors import TapCentaurError, TaskFailuresError
from tap_centaur.retry import RetryPolicy
from tap_centaur.tap import TapCentaur
from tests.harness import (
    assert_one_clear_error,
    login_config,
    partition_bookmarks,
    premature_bookmarks,
)

SIX_TASKS = {"tasks": 6, "cases": (130, 0, 260, 45, 301, 99), "page_size": 40}


def fetch_threads():
    return [t for t in threading.enumerate() if t.name.startswith("tap-centaur-fetch")]


def by_task(records):
    return sorted(records, key=lambda record: record["task_id"])  # a stable sort


def without_times(state):
    return re.sub(r'"replication_key_value": "[^"]+"', "T", json.dumps(state))


def test_output_is_the_same_for_any_parallelism(make_sim, tap):
    """Tasks may interleave; each task's records, the final STATE and their order may not."""
    sim = make_sim(**SIX_TASKS)
    task_ids = list(range(101, 107))
    runs = {p: tap.run(login_config(sim.url, task_ids, max_parallel_tasks=p)) for p in (1, 3, 8)}
    assert len(runs[1].keys) == 835
    # Parallelism 1 emits the tasks one after another, in the configured order.
    assert [task for task, _ in runs[1].keys] == sorted(task for task, _ in runs[1].keys)
    expected = {task: sim.keys(task) for task in task_ids}
    for p, run in runs.items():
        assert run.exit_code == 0, run.stderr
        assert run.messages[0]["type"] == "SCHEMA"
        assert by_task(run.records) == by_task(runs[1].records), p  # each task's in order
        # The same STATE, up to the bookmarks' times (each run takes its own).
        assert without_times(run.final_state) == without_times(runs[1].final_state), p
        assert list(partition_bookmarks(run.final_state)) == [(t, None) for t in task_ids]
        # One STATE per finished partition, each after that partition's last record.
        assert len(run.states) == len(runs[1].states)
        assert premature_bookmarks(run, expected) == [], p


def test_a_failure_of_the_run_lets_the_tasks_in_progress_finish(make_sim, tap):
    """Six workers: every task has started when task 104's answer is a 403 country refusal
    (a failure of the whole run), so each finishes and keeps its bookmark; the run fails
    with that error, and no task starts after it."""
    sim = make_sim(**SIX_TASKS)
    sim.script_faults([{"kind": "403", "count": 1, "path": "/results/", "task_id": 104}])
    task_ids = list(range(101, 107))
    run = tap.run(login_config(sim.url, task_ids, max_parallel_tasks=6))
    assert_one_clear_error(run, "task 104", "HTTP 403")
    assert "Stopping the run: no further task starts; those in progress finish" in run.stderr
    bookmarked = {task for task, _ in partition_bookmarks(run.final_state)}
    assert 104 not in bookmarked
    started = {task for task, _ in run.keys} | {102}  # 102 has no case to show it started
    # A task that emitted records was started, and a started task is finished and bookmarked.
    assert started - {104} <= bookmarked
    assert premature_bookmarks(run, {task: sim.keys(task) for task in task_ids}) == []


def test_no_fetch_thread_survives_a_sync_or_a_failure(make_sim, capsys, monkeypatch):
    """Nor does any thread run the SDK's page loop, which mutates its stream (sync costs)."""
    monkeypatch.setattr(RESTStream, "request_records", lambda *_: pytest.fail("SDK page loop"))
    sim = make_sim(**SIX_TASKS)
    config = login_config(sim.url, list(range(101, 107)), max_parallel_tasks=4)
    TapCentaur(config=config).sync_all()
    assert fetch_threads() == []
    sim.set_misbehaviour(103, "cursor_cycle")
    with pytest.raises(TaskFailuresError, match="task 103"):
        TapCentaur(config=config).sync_all()
    assert fetch_threads() == []
    capsys.readouterr()


def test_each_tap_has_its_own_http_sessions_one_per_thread(sim):
    """Sessions kept per thread for the whole process would give a tap run after another one
    in the same thread (as tests run taps in-process) the first one's open connections."""
    config = login_config(sim.url, [101])
    first, second = TapCentaur(config=config), TapCentaur(config=config)
    session = first.client.sessions.session
    assert first.client.sessions.session is session
    assert second.client.sessions.session is not session
    with ThreadPoolExecutor(max_workers=1) as other_thread:
        assert other_thread.submit(lambda: first.client.sessions.session).result() is not session


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


def test_a_run_that_fails_before_its_results_stops_the_workers_started_early(make_sim, capsys):
    """The results workers start with the run's first stream; when a later stream fails the
    run (here the projects list, refused), they stop too: no thread, no request, goes on."""
    sim = make_sim(tasks=4, cases=(3000, 3000, 3000, 3000), page_size=10, spike_seconds=2)
    # The projects list first times out (0.5 s: the workers are busy by then), then is refused.
    sim.script_faults(
        [{"kind": kind, "count": 1, "path": "/projects/"} for kind in ("timeout", "403")]
    )
    config = login_config(sim.url, [101, 102, 103, 104], max_parallel_tasks=2, request_timeout=0.5)
    with pytest.raises(TapCentaurError, match="HTTP 403"):
        TapCentaur(config=config).sync_all()
    assert fetch_threads() == []
    served = sim.stats()["total_requests"]
    threading.Event().wait(0.2)
    assert sim.stats()["total_requests"] == served
    capsys.readouterr()


def test_a_failed_run_exits_without_waiting_for_the_task_list_it_started_early(make_sim, tap):
    """The early start's thread is a daemon: while it waits for the task list (10 s here), the
    run refused on the projects list exits at once, its ERROR line the last word."""
    sim = make_sim(tasks=2, cases=(30, 20), spike_seconds=20)
    faults = (("timeout", "/tasks/"), ("403", "/projects/"))
    sim.script_faults([{"kind": kind, "count": 1, "path": path} for kind, path in faults])
    run = tap.run(login_config(sim.url, None, request_timeout=10), in_subprocess=True)
    assert run.exit_code == 1
    last = [line for line in run.stderr.splitlines() if "| WARNING " in line or "| ERROR " in line]
    assert "HTTP 403" in last[-1], last[-1]
