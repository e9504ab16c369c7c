"""One task's failure stops only that task; a failure of the run stops the run early.

And at thousands of tasks the INFO log stays readable (issue 12).
"""

from __future__ import annotations

import logging

import pytest

from tests.harness import WRONG_PASSWORD, assert_one_clear_error, login_config, partition_bookmarks

SIX_TASKS = {"tasks": 6, "cases": (30, 20, 25, 40, 15, 10), "page_size": 10}
TASKS = list(range(101, 107))


def served(sim, tasks):
    return {(c["task_id"], c["case_id"]) for t in tasks for c in sim.truth(t)}


@pytest.mark.parametrize(
    ("fault", "misbehaviour", "reason"),
    [
        pytest.param(None, None, "task 999 not found or not visible to this API key", id="404"),
        pytest.param(
            {"kind": "503", "count": 2},
            None,
            "giving up after 2 attempts",
            id="retries",
        ),
        pytest.param(None, "wrong_types", "has 'case_id' str 'abc'", id="wrong-type"),
        pytest.param(None, "cursor_repeat", "instead of moving forward", id="cursor"),
    ],
)
def test_a_failing_task_fails_alone(make_sim, tap, fault, misbehaviour, reason):
    """Its bookmark stays; every other task is synced and bookmarked; exit 1, one summary; a
    run after a passing fault reads that task alone."""
    sim = make_sim(**SIX_TASKS)
    failing = 999 if fault is None and misbehaviour is None else 103
    if fault is not None:
        sim.script_faults([{**fault, "path": "/results/", "task_id": failing}])
    if misbehaviour is not None:
        sim.set_misbehaviour(failing, misbehaviour)
    tasks = [t if t != 103 else failing for t in TASKS]
    old = {
        "bookmarks": {
            "task_results": {
                "partitions": [
                    {
                        "context": {"task_id": failing},
                        "replication_key": "updated_after",
                        "replication_key_value": "2020-01-01T00:00:00+00:00",
                    }
                ]
            }
        }
    }
    config = login_config(sim.url, tasks, max_retries=1)
    run = tap.run(config, old)
    assert run.exit_code == 1
    assert len(run.error_lines) == 1
    summary = run.error_lines[0]
    assert "1 task failed, every other task was synced and bookmarked" in summary
    assert f"task {failing}" in summary
    assert reason in summary
    others = [t for t in tasks if t != failing]
    bookmarks = partition_bookmarks(run.final_state)
    assert {t for t, _ in bookmarks} == {*others, failing}
    assert bookmarks[(failing, None)] == "2020-01-01T00:00:00+00:00"  # where it was
    assert {k for k in run.keys if k[0] != failing} == served(sim, others)
    if fault is not None:
        assert "HTTP 503" in summary and "try again later" in summary
        resumed = tap.run(config, run.final_state)
        assert resumed.exit_code == 0, resumed.stderr[-3000:]
        assert sorted(resumed.keys) == sorted(served(sim, [failing]))
        assert set(partition_bookmarks(resumed.final_state)) == {(t, None) for t in tasks}


@pytest.mark.parametrize("threshold", [None, 5], ids=["default", "setting"])
def test_the_api_failing_for_several_tasks_in_a_row_stops_the_run_early(make_sim, tap, threshold):
    """Every results request fails: after 3 tasks in a row (the default of
    max_consecutive_task_failures) the run stops instead of grinding through the others."""
    sim = make_sim(tasks=20, cases=2)
    sim.script_faults([{"kind": "503", "count": 10**6, "path": "/results/"}])
    extra = {"max_consecutive_task_failures": threshold} if threshold else {}
    config = login_config(sim.url, sim.task_ids(), max_retries=0, max_parallel_tasks=1, **extra)
    run = tap.run(config)
    assert run.exit_code == 1
    last = run.error_lines[-1]
    assert f"the API failed for {threshold or 3} tasks in a row, so the run stops" in last
    assert "max_consecutive_task_failures" in last
    results = sim.stats()["requests"]["/results/public/v1/list"]
    assert sum(results.values()) == (threshold or 3)  # one attempt each, then nothing


def test_a_task_that_succeeds_resets_the_count(make_sim, tap):
    sim = make_sim(**SIX_TASKS)
    for task in (101, 102, 104, 105):  # 103 succeeds between them
        sim.script_faults([{"kind": "503", "count": 10**6, "path": "/results/", "task_id": task}])
    run = tap.run(login_config(sim.url, TASKS, max_retries=0, max_parallel_tasks=1))
    assert run.exit_code == 1
    assert "4 tasks failed" in run.error_lines[-1]  # never 3 in a row: every task was tried
    assert {t for t, _ in partition_bookmarks(run.final_state)} == {103, 106}


def test_a_run_that_stops_names_the_tasks_that_failed_before_in_its_last_line(make_sim, tap):
    """Task 999 fails alone; three in a row later stop the run: the one ERROR line says both."""
    sim = make_sim(**SIX_TASKS)
    for task in (102, 103, 104):
        sim.script_faults([{"kind": "503", "count": 10**6, "path": "/results/", "task_id": task}])
    config = login_config(sim.url, [999, *TASKS], max_retries=0, max_parallel_tasks=1)
    run = tap.run(config)
    assert run.exit_code == 1
    last = run.error_lines[-1]
    assert "the API failed for 3 tasks in a row, so the run stops" in last
    assert "Before the run stopped, 3 tasks failed" in last  # 104's reason is the cause's
    assert "task 999 not found" in last
    assert last.count("task 104 (first page): giving up") == 1
    assert "Traceback" not in run.stderr
    assert {t for t, _ in partition_bookmarks(run.final_state)} >= {101}


def test_a_rejected_login_stops_before_any_results_request(make_sim, tap):
    sim = make_sim(**SIX_TASKS)
    config = login_config(sim.url, TASKS, api_password=WRONG_PASSWORD)
    run = tap.run(config, extra_secrets=[WRONG_PASSWORD])
    assert run.exit_code == 1
    assert_one_clear_error(run, "login: the API rejected the credentials (HTTP 401")
    assert "/results/public/v1/list" not in sim.stats()["requests"]
    assert not run.keys


def test_a_login_that_fails_on_every_retry_stops_the_run_once(make_sim, tap):
    """Not one task's failure: the run stops after one login's retries, naming the login.

    With `task_ids` set and only `task_results` selected, the first login happens in the
    results workers; counted as a task failure, each task would pay a login's retries in turn.
    """
    sim = make_sim(**SIX_TASKS)
    sim.script_faults([{"kind": "503", "count": 1000, "path": "/auth/public/v1/login"}])
    config = login_config(sim.url, TASKS, max_retries=2, max_consecutive_task_failures=100)
    catalog = tap.catalog_selecting(
        login_config(make_sim(**SIX_TASKS).url, TASKS), ["task_results"]
    )
    run = tap.run(config, args=["--catalog", str(catalog)])
    assert run.exit_code == 1, run.stderr
    assert run.error_lines[-1].split("| ")[-1].startswith("login: giving up after 3 attempts")
    logins = sim.stats()["requests"]["/auth/public/v1/login"]
    assert sum(logins.values()) <= 3 * 4, logins  # one login's attempts per worker at most
    assert "failed; the other tasks go on" not in run.stderr
    assert not run.keys


def test_an_info_log_over_two_thousand_unchanged_tasks_stays_short(make_sim, tap):
    """A few hundred lines at most: one line per interval across tasks, not lines per task."""
    sim = make_sim(tasks=2000, cases=1)
    discovery = login_config(sim.url, [], max_parallel_tasks=8)
    del discovery["task_ids"]
    first = tap.run(discovery)
    assert first.exit_code == 0, first.stderr[-2000:]
    second = tap.run(discovery, first.final_state)
    assert second.exit_code == 0, second.stderr[-2000:]
    assert second.keys == []
    lines = second.stderr.splitlines()
    info = [line for line in lines if f"| {logging.getLevelName(logging.INFO)}" in line]
    assert len(info) < 200, "\n".join(info[:50])
    assert any("Found 2,000 tasks in 1,000 projects." in line for line in info)
    assert not any("101, 102, 103" in line for line in info)  # the ids are at DEBUG
