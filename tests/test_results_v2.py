"""Results v2: tasks that v1 does not serve, read with the same rules as v1 (issue 13)."""

from __future__ import annotations

from tap_centaur.schemas import CASE_RESULT_SCHEMA
from tap_centaur.schemas import CASE_RESULT_V2_SCHEMA as V2_SCHEMA
from tests.harness import as_emitted, login_config, partition_bookmarks

V1_AND_V2 = {"tasks": 3, "cases": (40, 60, 25), "page_size": 10, "unsupported_task_ids": (102,)}


def test_a_v2_task_is_read_incrementally_with_its_own_bookmark(make_sim, tap):
    """An explicit task that v1 answers 426 for is read through v2, saying so once."""
    sim = make_sim(**V1_AND_V2)
    config = login_config(sim.url, [101, 102, 103])
    first = tap.run(config)
    assert first.exit_code == 0, first.stderr
    assert first.records_of("task_results_v2") == as_emitted(sim.truth_v2(102), V2_SCHEMA)
    assert {task for task, _ in first.keys} == {101, 103}
    v2_bookmarks = partition_bookmarks(first.final_state, stream="task_results_v2")
    assert set(v2_bookmarks) == {(102, None)}
    assert (102, None) not in partition_bookmarks(first.final_state)
    notice = [line for line in first.stderr.splitlines() if "HTTP 426" in line]
    assert len(notice) == 1 and "task 102" in notice[0]
    assert "read through results v2 (stream task_results_v2) from now on" in notice[0]
    assert "task_ids" not in notice[0]  # nothing for the user to edit

    changed = set(sim.update_cases(102, count=4))
    second = tap.run(config, first.final_state)
    assert second.exit_code == 0, second.stderr
    assert {r["case_id"] for r in second.records_of("task_results_v2")} == changed
    assert second.records_of("task_results") == []


def test_v2_partitions_follow_labeling_state_like_v1(make_sim, tap):
    sim = make_sim(**V1_AND_V2)
    run = tap.run(login_config(sim.url, [102], labeling_state=["Labeled", "Ready"]))
    assert run.exit_code == 0, run.stderr
    expected = [c for c in sim.truth_v2(102) if c["labeling_state"] in ("Labeled", "Ready")]
    got = run.records_of("task_results_v2")
    assert sorted(r["case_id"] for r in got) == sorted(c["case_id"] for c in expected)
    assert set(partition_bookmarks(run.final_state, stream="task_results_v2")) == {
        (102, "Labeled"),
        (102, "Ready"),
    }


def test_case_ids_of_a_v2_task_go_through_v2_get(make_sim, tap):
    sim = make_sim(**V1_AND_V2)
    v1_case, v2_case = sim.truth(101)[3], sim.truth_v2(102)[5]
    config = login_config(
        sim.url,
        [103],
        case_ids=[
            {"task_id": 101, "case_id": v1_case["case_id"]},
            {"task_id": 102, "case_id": v2_case["case_id"]},
        ],
    )
    run = tap.run(config)
    assert run.exit_code == 0, run.stderr
    assert run.records_of("case_results") == as_emitted([v1_case], CASE_RESULT_SCHEMA)
    assert run.records_of("case_results_v2") == as_emitted([v2_case], V2_SCHEMA)
    v2_gets = sim.stats()["requests"]["/results/public/v2/get"]
    assert v2_gets == {"200": 1}


def test_a_v2_page_of_another_shape_fails_that_task_saying_what_v2_sent(make_sim, tap):
    sim = make_sim(**V1_AND_V2)
    sim.set_misbehaviour(102, "v2_shape")
    run = tap.run(login_config(sim.url, [101, 102, 103]))
    assert run.exit_code == 1
    line = run.error_lines[-1]
    assert "task 102 (results v2, first page): results v2 answered 200 but 'payload'" in line
    assert "(keys: 'results', 'next')" in line
    assert "Expected: a page like v1's" in line
    assert {task for task, _ in partition_bookmarks(run.final_state)} == {101, 103}


def test_a_v2_result_of_the_wrong_nested_type_fails_that_task(make_sim, tap):
    sim = make_sim(**V1_AND_V2)
    sim.set_misbehaviour(102, "wrong_nested_type")
    run = tap.run(login_config(sim.url, [101, 102]))
    assert run.exit_code == 1
    assert "has 'results[0].content_metadata' str 'x'" in run.error_lines[-1]
    assert set(partition_bookmarks(run.final_state)) == {(101, None)}


def test_a_task_only_v2_serves_fails_loudly_when_task_results_v2_is_not_selected(make_sim, tap):
    """Never skipped without a word: the task fails, naming the stream to select, every run."""
    sim = make_sim(**V1_AND_V2)
    config = login_config(sim.url, [101, 102, 103])
    v1_only = tap.catalog_selecting(config, ["task_results"])
    state = None
    for number in range(2):  # nothing in the state makes the next run pass over the task
        run = tap.run(config, state, args=["--catalog", str(v1_only)])
        assert run.exit_code == 1, run.stderr
        summary = run.error_lines[-1]
        assert "task 102" in summary and "task_results_v2" in summary, summary
        assert {task for task, _ in run.keys} == ({101, 103} if number == 0 else set())
        assert set(partition_bookmarks(run.final_state)) == {(101, None), (103, None)}
        assert partition_bookmarks(run.final_state, stream="task_results_v2") == {}
        state = run.final_state

    # A state from a run that read the task through v2, now with v2 deselected: still loud.
    both = tap.run(config)
    assert both.exit_code == 0, both.stderr
    run = tap.run(config, both.final_state, args=["--catalog", str(v1_only)])
    assert run.exit_code == 1, run.stderr
    assert "task 102" in run.error_lines[-1] and "task_results_v2" in run.error_lines[-1]


def test_a_case_of_a_v2_task_fails_loudly_when_case_results_v2_is_not_selected(make_sim, tap):
    sim = make_sim(**V1_AND_V2)
    v1_case, v2_case = sim.truth(101)[3], sim.truth_v2(102)[5]
    cases = [
        {"task_id": 101, "case_id": v1_case["case_id"]},
        {"task_id": 102, "case_id": v2_case["case_id"]},
    ]
    config = login_config(sim.url, [101], case_ids=cases)
    run = tap.run(config, args=["--catalog", str(tap.catalog_selecting(config, ["case_results"]))])
    assert run.exit_code == 1, run.stderr
    assert run.records_of("case_results") == as_emitted([v1_case], CASE_RESULT_SCHEMA)
    summary = run.error_lines[-1]
    assert f"task 102 (case_id={v2_case['case_id']})" in summary, summary
    assert "select it" in summary and "case_results_v2" in summary, summary
