"""STATE follows state_interval_seconds alone, whatever the number of records read.

The SDK writes a STATE every `STATE_MSG_FREQUENCY` (10,000) records of a stream: each would
repeat every partition's bookmark, so a run over thousands of tasks of thousands of cases
would write STATE in proportion to records times tasks.
"""

from __future__ import annotations

from tests.harness import login_config


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
