"""STATE follows state_interval_seconds alone, whatever the number of records read.

The SDK writes a STATE every `STATE_MSG_FREQUENCY` (10,000) records of a stream: each would
repeat every partition's bookmark, so a run over thousands of tasks of thousands of cases
would write STATE in proportion to records times tasks.
"""

from __future__ import annotations

from tests.harness import login_config, partition_bookmarks


def test_no_state_while_reading_more_than_ten_thousand_records(make_sim, tap):
    sim = make_sim(tasks=2, cases=(6_000, 6_000))
    config = login_config(sim.url, [101, 102], page_size=1000, state_interval_seconds=3600)
    run = tap.run(config)
    assert run.exit_code == 0, run.stderr
    results = [
        i
        for i, m in enumerate(run.messages)
        if m["type"] == "RECORD" and m["stream"] == "task_results"
    ]
    states = [i for i, m in enumerate(run.messages) if m["type"] == "STATE"]
    assert len(results) == 12_000
    assert [i for i in states if results[0] < i < results[-1]] == []
    assert any(i > results[-1] for i in states)


def test_a_finished_task_is_saved_within_the_interval_while_a_long_task_runs(make_sim, tap):
    """The bound a killed run relies on: a finished task's bookmark waits at most about
    `state_interval_seconds` for a STATE, not for the next task to finish.

    Task 101 has one page; task 102 has 40 pages of 20 ms each (at least 0.8 s, whatever the
    machine's speed), read at the same time, with an interval of 0.3 s.
    """
    sim = make_sim(tasks=2, cases=(5, 400), page_size=10, latency_ms=20)
    config = login_config(sim.url, [101, 102], page_size=10, state_interval_seconds=0.3)
    run = tap.run(config)
    assert run.exit_code == 0, run.stderr
    saved = next(
        i
        for i, m in enumerate(run.messages)
        if m["type"] == "STATE" and (101, None) in partition_bookmarks(m["value"])
    )
    later = [
        m
        for m in run.messages[saved:]
        if m["type"] == "RECORD" and m["stream"] == "task_results" and m["record"]["task_id"] == 102
    ]
    assert len(later) >= 10, f"task 101 was saved only {len(later)} records before the end"
    assert (102, None) not in partition_bookmarks(run.messages[saved]["value"])
