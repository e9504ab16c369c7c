"""One task's failure stops only that task; a failure of the run stops the run early; at
thousands of tasks the INFO log stays readable (issue 12)."""

from __future__ import annotations

import time

import pytest

from tap_centaur.engine import Partition, ResultsSync
from tests.harness import (
    LIST,
    LOGIN,
    WRONG_PASSWORD,
    assert_one_clear_error,
    login_config,
    partition_bookmarks,
)

SIX_TASKS = {"tasks": 6, "cases": (30, 20, 25, 40, 15, 10), "page_size": 10}
TASKS = list(range(101, 107))
OLD = "2020-01-01T00:00:00+00:00"


@pytest.mark.parametrize(
    ("fault", "reasons"),
    [
        pytest.param(None, ["task 999 not found"], id="404"),
        pytest.param("503", ["giving up after 2 attempts", "HTTP 503"], id="retries"),
    ],
)
def test_a_failing_task_fails_alone(make_sim, tap, fault, reasons):
    """One worker: every other task is synced and bookmarked, the failing task's bookmark stays;
    exit 1, one ERROR line; a run after a passing fault reads that task alone (bad pages:
    reliability/test_bad_responses.py)."""
    sim = make_sim(**SIX_TASKS)
    failing = 103 if fault else 999
    if fault:
        sim.script_faults([{"kind": fault, "count": 2, "path": "/results/", "task_id": failing}])
    tasks = [t if t != 103 else failing for t in TASKS]
    old = {"context": {"task_id": failing}, "replication_key_value": OLD}
    config = login_config(sim.url, tasks, max_retries=1, max_parallel_tasks=1)
    run = tap.run(config, {"bookmarks": {"task_results": {"partitions": [old]}}})
    synced = "1 task failed, every other task was synced and bookmarked"
    assert_one_clear_error(run, synced, f"task {failing}", *reasons)
    assert (run.exit_code, len(run.error_lines)) == (1, 1)
    others = [t for t in tasks if t != failing]
    bookmarks = partition_bookmarks(run.final_state)
    assert {t for t, _ in bookmarks} == {*others, failing}
    assert bookmarks[(failing, None)] == OLD  # where it was
    assert {k for k in run.keys if k[0] != failing} == set().union(*map(sim.keys, others))
    if fault:
        resumed = tap.run(config, run.final_state)
        assert resumed.exit_code == 0, resumed.stderr[-3000:]
        assert sorted(resumed.keys) == sorted(sim.keys(failing))
        assert set(partition_bookmarks(resumed.final_state)) == {(t, None) for t in tasks}


def test_the_api_failing_for_several_tasks_in_a_row_stops_the_run_early(make_sim, tap):
    """After max_consecutive_task_failures failed tasks in a row (default 3: the next test)."""
    sim = make_sim(tasks=20, cases=2)
    sim.script_faults([{"kind": "503", "count": 10**6, "path": "/results/"}])
    one_by_one = {"max_retries": 0, "max_parallel_tasks": 1}
    run = tap.run(login_config(sim.url, None, **one_by_one, max_consecutive_task_failures=5))
    last = assert_one_clear_error(run, "the API failed for 5 tasks in a row, so the run stops")
    assert "max_consecutive_task_failures" in last
    assert sum(sim.stats()["requests"][LIST].values()) == 5  # one attempt each, none after


def test_a_task_that_succeeds_resets_the_count_and_the_last_line_names_every_failure(
    make_sim, tap, monkeypatch
):
    """999 fails alone, 102 fails, 103 succeeds, then 104-106 fail in a row: the run stops at
    106, its one ERROR line naming the four tasks that failed before, even when the worker
    reached 106 before the SDK's thread took 104's failure."""
    take_failure = ResultsSync._fail

    def take_late(sync: ResultsSync, partition: Partition, error: BaseException) -> None:
        if partition.context["task_id"] == 104:
            deadline = time.monotonic() + 30
            while not sync._streak.tripped and time.monotonic() < deadline:
                time.sleep(0.01)
        take_failure(sync, partition, error)

    monkeypatch.setattr(ResultsSync, "_fail", take_late)
    sim = make_sim(**SIX_TASKS)
    sim.script_faults(
        [{"kind": "503", "count": 10**6, "path": LIST, "task_id": t} for t in (102, 104, 105, 106)]
    )
    config = login_config(sim.url, [999, *TASKS], max_retries=0, max_parallel_tasks=1)
    run = tap.run(config)
    last = assert_one_clear_error(run, "the API failed for 3 tasks in a row, so the run stops")
    assert "Before the run stopped, 4 tasks failed" in last  # 106's reason is the cause's
    assert "task 999 not found" in last
    assert last.count("task 106 (first page): giving up") == 1
    assert {t for t, _ in partition_bookmarks(run.final_state)} == {101, 103}


@pytest.mark.parametrize(
    ("password", "login_fault", "error"),
    [
        (WRONG_PASSWORD, None, "login: the API rejected the credentials (HTTP 401"),
        (None, {"kind": "503", "count": 1000, "path": LOGIN}, "login: giving up after 3 attempts"),
    ],
    ids=["rejected", "failing"],
)
def test_a_login_failure_stops_the_run_once_before_any_results_request(
    make_sim, tap, password, login_fault, error
):
    """Not one task's failure: with only `task_results` selected, the first login happens in
    the results workers; counted as a task failure, each task would pay a login's retries."""
    sim = make_sim(**SIX_TASKS)
    config = login_config(sim.url, TASKS, max_retries=2, max_consecutive_task_failures=100)
    catalog = tap.catalog_selecting(config, ["task_results"])
    sim.script_faults([login_fault] if login_fault else [])
    config["api_password"] = password or config["api_password"]
    run = tap.run(config, args=["--catalog", str(catalog)], extra_secrets=[WRONG_PASSWORD])
    assert run.exit_code == 1
    assert assert_one_clear_error(run).split("| ")[-1].startswith(error)
    assert sum(sim.stats()["requests"][LOGIN].values()) <= 3 * 4  # one login's tries per worker
    assert LIST not in sim.stats()["requests"]
    assert "failed; the other tasks go on" not in run.stderr
    assert not run.keys


def test_an_info_log_over_a_thousand_unchanged_tasks_stays_short(make_sim, tap):
    """A few dozen lines: one line per interval across tasks, not lines per task."""
    sim = make_sim(tasks=1000, cases=1)
    config = login_config(sim.url, None, max_parallel_tasks=8)
    bookmark = {"replication_key_value": "2025-06-01T00:00:00+00:00"}
    partitions = [{"context": {"task_id": t}, **bookmark} for t in sim.task_ids()]
    run = tap.run(config, {"bookmarks": {"task_results": {"partitions": partitions}}})
    assert run.exit_code == 0, run.stderr[-2000:]
    assert run.keys == []
    info = [line for line in run.stderr.splitlines() if "| INFO" in line]
    assert len(info) < 100, "\n".join(info[:50])
    assert any("Found 1,000 tasks in 500 projects." in line for line in info)
    assert not any("101, 102, 103" in line for line in info)  # the ids are at DEBUG
